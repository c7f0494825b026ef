# wshold lab: varnish-broken - no pipe rule: Varnish forwards a plain GET, the backend refuses (400)
#
# Varnish's built-in VCL handles an upgrade request as an ordinary GET:
# it replaces Connection with "close" and drops Upgrade, so the backend
# answers 400, which Varnish relays with "Via: 1.1 varnish (Varnish/7.1)".
#
# A template: scripts/lab.sh and internal/labtest fill in the double-brace
# placeholders (see scripts/lab/README.md) and run varnishd in the
# foreground with the parameters of the line below (varnishd -F -j none
# -n DIR/varnishd -f FILE -T none -s malloc,32m PARAMS).
# varnishd-params: -a {{LISTEN}}
vcl 4.1;

backend default {
    .host = "{{UPSTREAM}}";
}
