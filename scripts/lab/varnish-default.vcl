# wshold lab: varnish-default - return (pipe) for upgrades, default pipe_timeout (60): idle drop at 60 s
#
# Varnish cannot proxy a WebSocket as HTTP: vcl_recv must pipe the upgrade
# (return (pipe)) and vcl_pipe must copy Upgrade and Connection to the
# backend request, which Varnish otherwise replaces with "Connection:
# close". A piped connection is a byte tunnel: nothing in the 101 names
# Varnish (it is the backend's own answer), so tell wshold with --proxy
# varnish. The tunnel dies after Varnish's default pipe_timeout, 60 s
# (include/tbl/params.h), without a byte in either direction: a FIN, no
# close frame.
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

sub vcl_recv {
    if (req.http.upgrade ~ "(?i)websocket") {
        return (pipe);
    }
}

sub vcl_pipe {
    if (req.http.upgrade) {
        set bereq.http.upgrade = req.http.upgrade;
        set bereq.http.connection = req.http.connection;
    }
}
