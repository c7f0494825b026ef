package proxyconf

import (
	"path/filepath"
	"regexp"
	"strings"
)

// A configuration's kind is the one whose grammar its lines follow, not
// the first whose keyword appears somewhere: hitch.conf has lines starting
// "frontend =" and "backend =", which are no HAProxy sections (a section
// keyword is followed by a name, not by "="), and a JavaScript proxy has a
// line "server.on('upgrade', … => {", which is no nginx block. Each kind
// says which of the file's statements fit its grammar and which line
// anchors it (a section, a block, a version line); a kind is taken when
// enough of the file fits it and it is anchored, or when the file's name
// says so and enough of it fits. Otherwise the kind is unknown ("").

// minFit is the share of statements that must fit a kind's grammar:
// configurations carry lines of modules a short list does not know
// (nginx map entries, HAProxy's rarer keywords), so not all of them.
const minFit = 0.6

// grammar judges a file as one kind.
type grammar struct {
	kind string
	// names are fragments of a file name that say the kind.
	names []string
	// judge returns how many statements the text has, how many fit the
	// kind, and whether a line anchors it.
	judge func(text string) (statements, fit int, anchored bool)
}

var grammars = []grammar{
	{"varnish", []string{".vcl", "varnish"}, judgeVarnish},
	{"ats", []string{"records.config", "remap.config", "trafficserver"}, judgeATS},
	{"nginx", []string{"nginx"}, judgeNginx},
	{"haproxy", []string{"haproxy"}, judgeHAProxy},
	{"apache", []string{"httpd", "apache"}, judgeApache},
	{"lighttpd", []string{"lighttpd"}, judgeLighttpd},
	{"caddy", []string{"caddy"}, judgeCaddy},
	{"nghttpx", []string{"nghttpx"}, judgeNghttpx},
	{"h2o", []string{"h2o"}, judgeH2O},
}

// kindOf tells the product a configuration is for, "" when its lines
// follow no known grammar.
func kindOf(name, text string) string {
	n := strings.ToLower(filepath.Base(name))
	best, bestFit := "", 0.0
	for _, g := range grammars {
		statements, fit, anchored := g.judge(text)
		if statements == 0 {
			continue
		}
		share := float64(fit) / float64(statements)
		named := false
		for _, frag := range g.names {
			if strings.Contains(n, frag) {
				named = true
			}
		}
		if share < minFit || !(anchored || named) {
			continue
		}
		if named {
			// The name and the grammar agree: no other reading beats
			// that.
			return g.kind
		}
		if share > bestFit {
			best, bestFit = g.kind, share
		}
	}
	return best
}

// statementLines are the text's lines without '#' comments and blanks.
func statementLines(text string) []string { return lines(text) }

// jsLike reports a line written in a programming language rather than a
// configuration: JavaScript, Python, Go and the like.
var jsLike = regexp.MustCompile(`=>|\brequire\(|\bfunction\b|^\s*(const|let|var|import|export|def|func|package|class)\s|console\.|\)\s*;?\s*$|\);`)

// nginx: statements end with ';', blocks open with '{' and close with '}';
// a statement starts with a directive (lower case, underscores). Anchored
// by a context block (http, server, location, upstream, events, stream) or
// proxy_pass.
var (
	nginxBlock     = regexp.MustCompile(`^(http|server|location|upstream|events|stream|map|types|if|limit_except|geo|split_clients)\b`)
	nginxDirective = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	nginxKnown     = regexp.MustCompile(`^(proxy_|ssl_|gzip|fastcgi_|uwsgi_|scgi_|grpc_|client_|keepalive|limit_|log_|access_log|error_log|open_file_cache|add_header|add_trailer|sub_filter|more_|lua_|content_by_lua|rewrite_by_lua|access_by_lua|set_real_ip_from|real_ip_|listen|server_name|server_tokens|root|alias|index|include|default_type|sendfile|tcp_|types_hash|worker_|pid|daemon|user|events|http|server|location|upstream|return|rewrite|try_files|resolver|charset|expires|allow|deny|auth_|satisfy|internal|error_page|set|if|map|split_clients|geo|types|stream|send_timeout|reset_timedout_connection|large_client_header_buffers|underscores_in_headers|ignore_invalid_headers|variables_hash|server_names_hash|load_module|env|thread_pool|aio|directio|output_buffers|postpone_output|multi_accept|accept_mutex|use|autoindex|ssi|stub_status|hash|least_conn|ip_hash|zone|random|sticky|max_|http2|quic|absolute_redirect|port_in_redirect|merge_slashes|msie_|etag|if_modified_since|chunked_transfer_encoding|lingering_|reuseport)`)
)

func judgeNginx(text string) (statements, fit int, anchored bool) {
	for _, l := range statementLines(text) {
		if jsLike.MatchString(l) {
			statements++
			continue
		}
		for _, st := range strings.FieldsFunc(l, func(r rune) bool { return r == ';' || r == '{' || r == '}' }) {
			f := strings.Fields(st)
			if len(f) == 0 {
				continue
			}
			statements++
			if nginxDirective.MatchString(f[0]) && nginxKnown.MatchString(f[0]) && (len(f) < 2 || f[1] != "=") ||
				f[0] == "location" || f[0] == "if" {
				fit++
			}
			if (nginxBlock.MatchString(f[0]) && strings.Contains(l, "{")) || f[0] == "proxy_pass" && len(f) == 2 {
				anchored = true
			}
		}
	}
	return statements, fit, anchored
}

// HAProxy: section lines (global, defaults [name], frontend/backend/listen
// NAME, …) and indented keywords. A section keyword followed by "=" is
// another format's key.
var (
	haproxySection = regexp.MustCompile(`^(global|defaults|frontend|backend|listen|peers|resolvers|userlist|cache|program|ring|mailers|http-errors)(\s+[A-Za-z0-9_.:@-]+)?(\s+\S.*)?$`)
	haproxyKnown   = regexp.MustCompile(`^(bind|mode|server|servers?|timeout|option|no|default_backend|use_backend|use-server|balance|acl|http-request|http-response|http-after-response|tcp-request|tcp-response|log|log-format|maxconn|fullconn|daemon|user|group|uid|gid|stats|errorfile|errorloc|retries|retry-on|redirect|compression|cookie|default-server|chroot|pidfile|nbthread|nbproc|cpu-map|ssl-|tune\.|hash-type|capture|monitor-uri|http-check|tcp-check|unique-id-|description|id|disabled|enabled|filter|email-alert|external-check|force-persist|ignore-persist|persist|rate-limit|server-template|source|stick|stick-table|unix-bind|master-worker|expose-fd|lua-|set-var|insecure-|node|nameserver|hold|resolve_retries|peer|table|userlist|password|h1-|h2-|quic-|http-reuse|dynamic-cookie-key|declare|load-server-state-from-file|server-state-)`)
	haproxyKeyEq   = regexp.MustCompile(`^\S+\s*=`)
)

func judgeHAProxy(text string) (statements, fit int, anchored bool) {
	for _, l := range statementLines(text) {
		statements++
		if haproxyKeyEq.MatchString(l) {
			continue
		}
		f := strings.Fields(l)
		switch {
		case haproxySection.MatchString(l) && (len(f) > 1 || f[0] == "global" || f[0] == "defaults"):
			fit++
			anchored = true
		case haproxyKnown.MatchString(f[0]):
			fit++
		}
	}
	return statements, fit, anchored
}

// Apache: directives in CamelCase and <Section …> … </Section>.
var (
	apacheSection   = regexp.MustCompile(`^</?[A-Za-z]+(\s[^>]*)?>$`)
	apacheDirective = regexp.MustCompile(`^[A-Z][A-Za-z0-9]+(\s|$)`)
	apacheAnchor    = regexp.MustCompile(`^(<VirtualHost|<Location|<Proxy|<IfModule|ProxyPass\s|LoadModule\s|ServerRoot\s|Listen\s|DocumentRoot\s|ServerName\s|RewriteEngine\s)`)
)

func judgeApache(text string) (statements, fit int, anchored bool) {
	for _, l := range statementLines(text) {
		statements++
		if apacheSection.MatchString(l) || apacheDirective.MatchString(l) {
			fit++
		}
		if apacheAnchor.MatchString(l) {
			anchored = true
		}
	}
	return statements, fit, anchored
}

// lighttpd: dotted keys assigned with =, += or :=, $HTTP["…"] conditionals,
// include lines, and the inside of ( … ) lists over several lines.
var (
	lighttpdAssign = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+\s*(\+?=|:=)`)
	lighttpdAnchor = regexp.MustCompile(`^(server|proxy|mimetype|accesslog|dir-listing|ssl|url|setenv|alias|index-file|static-file|deflate|auth|fastcgi|cgi|var)\.[a-z0-9_-]+\s*(\+?=|:=)`)
	lighttpdOther  = regexp.MustCompile(`^(\$[A-Z_]+\[|else\b|include\b|include_shell\b|[()}"]|\{)`)
)

func judgeLighttpd(text string) (statements, fit int, anchored bool) {
	for _, l := range statementLines(text) {
		statements++
		switch {
		case lighttpdAssign.MatchString(l):
			fit++
			anchored = anchored || lighttpdAnchor.MatchString(l)
		case lighttpdOther.MatchString(l):
			fit++
		}
	}
	return statements, fit, anchored
}

// VCL 4 files must begin with "vcl 4.0;" or "vcl 4.1;"; a varnishd
// parameter file or unit (named so) sets -p pipe_timeout=….
var (
	vclRE    = regexp.MustCompile(`(?m)^\s*vcl\s+4\.[01]\s*;`)
	vparamRE = regexp.MustCompile(`(^|\s)-p\s*[a-z_]+=|varnishd`)
)

func judgeVarnish(text string) (statements, fit int, anchored bool) {
	if vclRE.MatchString(text) {
		return 1, 1, true
	}
	if vparamRE.MatchString(text) {
		// Not anchored: only a file named for Varnish is read so.
		return 1, 1, false
	}
	return 0, 0, false
}

// Caddyfile: site blocks and directives without ';', anchored by
// reverse_proxy.
var caddyLine = regexp.MustCompile(`^([a-z_][a-z0-9_]*(\s|$)|@[A-Za-z0-9_-]+|[{}]|[a-z0-9.*:-]*(:\d+|\.[a-z]{2,})[^;]*\{|https?://\S+\s*\{|:\d+\s*\{)`)

func judgeCaddy(text string) (statements, fit int, anchored bool) {
	for _, l := range statementLines(text) {
		statements++
		if strings.HasSuffix(l, ";") || strings.Contains(l, " = ") || jsLike.MatchString(l) {
			continue
		}
		if caddyLine.MatchString(l) {
			fit++
		}
		if strings.HasPrefix(l, "reverse_proxy") {
			anchored = true
		}
	}
	return statements, fit, anchored
}

// nghttpx: one option per line, "name=value", anchored by a frontend= or
// backend= whose value is nghttpx's "HOST,PORT".
var (
	nghttpxLine   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*=\S`)
	nghttpxAnchor = regexp.MustCompile(`^(frontend|backend)=[^,\s]+,\d+`)
)

func judgeNghttpx(text string) (statements, fit int, anchored bool) {
	for _, l := range statementLines(text) {
		statements++
		if nghttpxLine.MatchString(l) {
			fit++
		}
		if nghttpxAnchor.MatchString(l) {
			anchored = true
		}
	}
	return statements, fit, anchored
}

// h2o: YAML, anchored by a proxy.reverse.url key.
var h2oLine = regexp.MustCompile(`^(- |[A-Za-z0-9_."/*-]+:(\s|$))`)

func judgeH2O(text string) (statements, fit int, anchored bool) {
	for _, l := range statementLines(text) {
		statements++
		if h2oLine.MatchString(l) {
			fit++
		}
		if strings.HasPrefix(l, "proxy.reverse.url:") {
			anchored = true
		}
	}
	return statements, fit, anchored
}

// Apache Traffic Server: records.config lines "CONFIG proxy.… TYPE value",
// or remap.config rules "map FROM TO".
var (
	atsRecord = regexp.MustCompile(`^(CONFIG|LOCAL)\s+proxy\.[a-z0-9_.]+\s+(INT|STRING|FLOAT|COUNTER)\s`)
	atsRemap  = regexp.MustCompile(`^(map|regex_map|reverse_map|redirect|regex_redirect|map_with_referer|map_with_recv_port|\.include|\.definefilter|\.activatefilter|\.deactivatefilter)\s+\S+`)
)

func judgeATS(text string) (statements, fit int, anchored bool) {
	for _, l := range statementLines(text) {
		statements++
		switch {
		case atsRecord.MatchString(l):
			fit++
			anchored = true
		case atsRemap.MatchString(l):
			fit++
			if f := strings.Fields(l); len(f) >= 3 && strings.Contains(f[1], "://") && strings.Contains(f[2], "://") {
				anchored = true
			}
		}
	}
	return statements, fit, anchored
}
