#!/usr/bin/env bash
# lab.sh - run real reverse proxies on loopback in front of `wshold serve`, to
# point wshold at by hand or from scenarios.example.toml.
#
#   scripts/lab.sh list                    the cases, their ports and what they show
#   scripts/lab.sh up CASE [--port P] [--upstream HOST:PORT] [--timeout SECONDS]
#                          [--set NAME=VALUE]... [--admin-port P]
#   scripts/lab.sh reload CASE             reload the proxy as an operator would
#   scripts/lab.sh status                  what is up, with URLs and log paths
#   scripts/lab.sh down [CASE]             stop CASE (no CASE: everything lab.sh started)
#
# Each case is a config template in scripts/lab/ (internal/labtest starts the
# same files in Go tests). `up` renders it into ${TMPDIR:-/tmp}/wshold-lab/CASE/,
# starts the proxy in the foreground as a background child of its own session
# (no system service is touched), waits until it accepts connections and
# prints the URL to test. Unless --upstream is given, the backend is
# `wshold serve` built from this checkout, on 127.0.0.1:18001, shared by all
# cases and stopped with the last of them. --timeout sets a case's TIMEOUT;
# --set any other placeholder the template has (e.g. --set CONNS=64 for
# nginx-tinyconns). `down` stops exactly the processes `up` recorded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TEMPLATES=$ROOT/scripts/lab
LABROOT=${TMPDIR:-/tmp}/wshold-lab
BACKEND_DIR=$LABROOT/backend
BACKEND_ADDR=127.0.0.1:18001
# The lab's certificates (labcert: a CA of its own, a loopback server
# certificate), made once and shared by every TLS case and the wss backend.
TLS_DIR=$LABROOT/tls
TLS_BACKEND_DIR=$LABROOT/backend-tls
TLS_BACKEND_ADDR=127.0.0.1:18002
# nginx, haproxy and apache2 live in /usr/sbin, often not on a user's PATH.
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH:/usr/sbin:/sbin:/usr/local/sbin

START_WAIT=20 # seconds until a proxy or the backend must accept connections
STOP_WAIT=15  # seconds after SIGTERM before SIGKILL

die() {
	echo "lab.sh: $*" >&2
	exit 1
}
warn() { echo "lab.sh: warning: $*" >&2; }

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# Every template in scripts/lab/ is a case, named by its first line
# ("# wshold lab: CASE - ..."); its file name says which proxy runs it.
# default_port CASE: the port `up` uses without --port (scenarios.example.toml
# relies on these); a case not listed needs --port.
default_port() {
	case $1 in
	nginx-broken) echo 18081 ;;
	nginx-fix-literal) echo 18082 ;;
	nginx-timeout) echo 18083 ;;
	nginx-default) echo 18084 ;;
	nginx-86400) echo 18085 ;;
	nginx-fix-map) echo 18086 ;;
	nginx-shutdown) echo 18087 ;;
	nginx-tinyconns) echo 18088 ;;
	nginx-scale) echo 18089 ;;
	nginx-scale-tls) echo 18445 ;;
	nginx-tls) echo 18443 ;;
	nginx-tls-reencrypt) echo 18444 ;;
	haproxy-tls) echo 18184 ;;
	caddy-tls) echo 18281 ;;
	haproxy-notunnel) echo 18181 ;;
	haproxy-tunnel) echo 18182 ;;
	haproxy-client-server) echo 18183 ;;
	caddy) echo 18280 ;;
	apache-timeout) echo 18381 ;;
	apache-max) echo 18382 ;;
	apache-noupgrade) echo 18384 ;;
	varnish-broken) echo 18481 ;;
	varnish-pipe) echo 18482 ;;
	varnish-default) echo 18484 ;;
	lighttpd-broken) echo 18581 ;;
	lighttpd-timeout) echo 18583 ;;
	lighttpd-default) echo 18584 ;;
	esac
}

case_name() { # case_name FILE: the CASE of its first line
	local line
	read -r line <"$1" || true
	[[ $line =~ ^"# wshold lab: "([^ ]+)" - " ]] && echo "${BASH_REMATCH[1]}"
	return 0
}

kind_of() { # kind_of TEMPLATE-FILE-NAME
	case $1 in
	nginx-*) echo nginx ;;
	haproxy-*) echo haproxy ;;
	apache-*) echo apache ;;
	lighttpd-*) echo lighttpd ;;
	varnish-*) echo varnish ;;
	nghttpx-*) echo nghttpx ;;
	h2o-*) echo h2o ;;
	Caddyfile*) echo caddy ;;
	esac
}

# case_info CASE: sets TEMPLATE, KIND and DEFAULT_PORT (maybe empty), or fails.
case_info() {
	local f
	for f in "$TEMPLATES"/*; do
		[[ $f != *.md && $(case_name "$f") == "$1" ]] || continue
		TEMPLATE=$(basename "$f")
		KIND=$(kind_of "$TEMPLATE")
		DEFAULT_PORT=$(default_port "$1")
		[[ -n $KIND ]] || die "$TEMPLATE: cannot tell the proxy from the name; name it nginx-*, haproxy-*, apache-*, lighttpd-*, varnish-*, nghttpx-*, h2o-* or Caddyfile*"
		return 0
	done
	return 1
}

# kind_info KIND: sets BIN_NAME, PKG, LOG (the file the proxy logs to,
# relative to its directory) and READY (a line it logs once fully up, ready
# for signals; the same line marks each reload taken). nginx is told by its
# pid file and its workers instead, whatever a template's log level.
kind_info() {
	case $1 in
	nginx) BIN_NAME=nginx PKG=nginx-light LOG=error.log READY="" ;;
	haproxy) BIN_NAME=haproxy PKG=haproxy LOG=output.log READY="Loading success." ;;
	caddy) BIN_NAME=caddy PKG=caddy LOG=output.log READY="serving initial configuration" ;;
	apache) BIN_NAME=apache2 PKG=apache2 LOG=error.log READY="resuming normal operations" ;;
	lighttpd) BIN_NAME=lighttpd PKG=lighttpd LOG=error.log READY="server started" ;;
	varnish) BIN_NAME=varnishd PKG=varnish LOG=output.log READY="Child starts" ;;
	nghttpx) BIN_NAME=nghttpx PKG=nghttp2-proxy LOG=error.log READY="spawned" ;;
	h2o) BIN_NAME=h2o PKG=h2o LOG=error.log READY="is ready to serve requests" ;;
	esac
}

# describe TEMPLATE: what the case shows, from the template's first comment
# paragraph ("# wshold lab: CASE - ..."), cut to fit one line of the list.
describe() {
	local text
	text=$(sed -n '1,/^#$/{/^#$/d;s/^# \{0,1\}//;p}' "$TEMPLATES/$1" | tr '\n' ' ' |
		sed -e 's/^wshold lab: [^ ]* - //' -e 's/ *$//')
	if ((${#text} > 72)); then
		text="${text:0:69}"
		text="${text% *}..."
	fi
	printf '%s' "$text"
}

find_bin() {
	command -v "$1" 2>/dev/null || die "$1 not found; install it: apt-get install -y $2"
}

accepts() { # accepts HOST:PORT - something listens there
	(exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}

# is_ready KIND DIR PID: the proxy is up and will take a reload signal.
# nginx writes its pid file once its signal handlers are in place.
is_ready() {
	if [[ $1 == nginx ]]; then
		[[ $(cat "$2/nginx.pid" 2>/dev/null) == "$3" ]]
	else
		grep -qF -- "$READY" "$2/$LOG" 2>/dev/null
	fi
}

# generation KIND DIR PID: words that change with each reload taken: the
# nginx master's worker pids (a reload starts new workers), else one word
# per READY line logged.
generation() {
	if [[ $1 == nginx ]]; then
		child_pids "$3"
	else
		seq 1 "$(grep -cF -- "$READY" "$2/$LOG" || true)" | tr '\n' ' '
	fi
}

wait_accepts() { # wait_accepts HOST:PORT PID [KIND DIR]
	local i
	for ((i = 0; i < START_WAIT * 10; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		if [[ -z ${3:-} ]] || is_ready "$3" "$4" "$2"; then
			accepts "$1" && return 0
		fi
		sleep 0.1
	done
	return 1
}

# check_port PORT: refuse a port in use; a port inside the ephemeral range can
# be taken at any moment by an outgoing connection (or its TIME_WAIT), so
# reserve it when we may, else say so.
check_port() {
	local port=$1 lo hi reserved current
	if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
		die "port '$port' is not a TCP port number"
	fi
	accepts "127.0.0.1:$port" && die "127.0.0.1:$port is already in use; pick another with --port, or see 'lab.sh status'"
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	((port < lo || port > hi)) && return 0
	reserved=/proc/sys/net/ipv4/ip_local_reserved_ports
	current=$(cat "$reserved" 2>/dev/null || true)
	if [[ -w $reserved ]] && echo "${current:+$current,}$port" >"$reserved" 2>/dev/null; then
		echo "lab.sh: port $port is inside ip_local_port_range ($lo-$hi); reserved it in $reserved (undo by removing it from that list)"
	else
		warn "port $port is inside ip_local_port_range ($lo-$hi), so an outgoing connection may hold it; as root, add it to /proc/sys/net/ipv4/ip_local_reserved_ports, or use --port outside the range"
	fi
}

sed_escape() { printf '%s' "$1" | sed -e 's/[\\#&]/\\&/g'; }

# render TEMPLATE OUT NAME=VALUE...: the same {{NAME}} / {{NAME:default}}
# syntax as internal/labtest's Render.
render() {
	local tmpl=$1 out=$2 kv args=()
	shift 2
	for kv in "$@"; do
		args+=(-e "s#\\{\\{${kv%%=*}(:[^{}]*)?\\}\\}#$(sed_escape "${kv#*=}")#g")
	done
	sed -E "${args[@]}" -e 's#\{\{[A-Z][A-Z0-9_]*:([^{}]*)\}\}#\1#g' "$tmpl" >"$out"
	if grep -qE '\{\{[A-Z][A-Z0-9_]*\}\}' "$out"; then
		die "$tmpl needs $(grep -oE '\{\{[A-Z][A-Z0-9_]*\}\}' "$out" | sort -u | tr '\n' ' ')which lab.sh did not fill"
	fi
}

# pid_is_ours PID DIR: the process is alive and its command line names a
# file in DIR, so a recycled PID is never signalled.
pid_is_ours() {
	[[ -n $1 && -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2/"
}

group_alive() { # group_alive PGID - a live (non-zombie) process is in it
	local stat line rest state
	for stat in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$stat" || continue
		# pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		rest=${line##*) }
		state=${rest%% *}
		rest=${rest#* }
		rest=${rest#* }
		[[ $state != Z && ${rest%% *} == "$1" ]] && return 0
	done
	return 1
}

child_pids() { # child_pids PID - its live children
	local stat line rest state
	for stat in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$stat" || continue
		rest=${line##*) }
		state=${rest%% *}
		rest=${rest#* }
		[[ $state != Z && ${rest%% *} == "$1" ]] && printf '%s ' "${line%% *}"
	done
	return 0
}

# stop_pid NAME DIR: SIGTERM the leader recorded in DIR/pid; SIGKILL its
# process group (setsid made the leader its own group) if it has not exited
# within STOP_WAIT; then kill what is left of the group (nginx workers,
# Apache children). A group ID is only signalled while the leader or a member
# still holds it, so never one that a new process has reused.
stop_pid() {
	local name=$1 dir=$2 pid i
	pid=$(cat "$dir/pid" 2>/dev/null || true)
	if pid_is_ours "$pid" "$dir"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < STOP_WAIT * 10; i++)); do
			pid_is_ours "$pid" "$dir" || break
			sleep 0.1
		done
		if pid_is_ours "$pid" "$dir"; then
			warn "$name (pid $pid) did not exit within ${STOP_WAIT}s of SIGTERM; killing its process group"
			kill -KILL -- "-$pid" 2>/dev/null || true
			for ((i = 0; i < 50; i++)); do
				pid_is_ours "$pid" "$dir" || break
				sleep 0.1
			done
		fi
	fi
	for ((i = 0; i < 50; i++)); do
		if [[ -z $pid ]] || ! group_alive "$pid"; then break; fi
		kill -KILL -- "-$pid" 2>/dev/null || true
		sleep 0.1
	done
	rm -f "$dir/pid"
}

ensure_backend() {
	local pid
	mkdir -p "$BACKEND_DIR"
	pid=$(cat "$BACKEND_DIR/pid" 2>/dev/null || true)
	if pid_is_ours "$pid" "$BACKEND_DIR"; then
		return 0
	fi
	command -v go >/dev/null || die "go not found; install Go (/usr/local/go/bin) or pass --upstream HOST:PORT"
	echo "lab.sh: building wshold into $BACKEND_DIR/wshold"
	(cd "$ROOT" && go build -o "$BACKEND_DIR/wshold" ./cmd/wshold) || die "go build ./cmd/wshold failed; fix the build or pass --upstream HOST:PORT"
	accepts "$BACKEND_ADDR" && die "$BACKEND_ADDR is in use by something lab.sh did not start; stop it or pass --upstream HOST:PORT"
	check_port "${BACKEND_ADDR##*:}"
	setsid "$BACKEND_DIR/wshold" serve --listen "$BACKEND_ADDR" </dev/null >"$BACKEND_DIR/serve.log" 2>&1 &
	echo $! >"$BACKEND_DIR/pid"
	if ! wait_accepts "$BACKEND_ADDR" "$!"; then
		tail -n 20 "$BACKEND_DIR/serve.log" >&2 || true
		stop_pid "wshold serve" "$BACKEND_DIR"
		die "wshold serve did not come up on $BACKEND_ADDR within ${START_WAIT}s (log above: $BACKEND_DIR/serve.log)"
	fi
	echo "lab.sh: backend: wshold serve on $BACKEND_ADDR (log $BACKEND_DIR/serve.log)"
}

# ensure_certs: the lab CA and its loopback certificate in TLS_DIR.
ensure_certs() {
	[[ -s $TLS_DIR/cert.pem && -s $TLS_DIR/key.pem && -s $TLS_DIR/ca.pem ]] && return 0
	command -v go >/dev/null || die "go not found; install Go (/usr/local/go/bin) to make the lab's certificates"
	mkdir -p "$TLS_DIR"
	(cd "$ROOT" && go run ./internal/labcert/labcert "$TLS_DIR") || die "making the lab's certificates in $TLS_DIR failed"
	chmod 755 "$TLS_DIR"
	echo "lab.sh: lab CA and certificate for 127.0.0.1, ::1 and localhost in $TLS_DIR (--ca $TLS_DIR/ca.pem)"
}

# ensure_tls_backend: `wshold serve` speaking wss:// on TLS_BACKEND_ADDR,
# with the lab certificate, for the cases whose proxy re-encrypts
# ("# backend: wss" in the template).
ensure_tls_backend() {
	local pid
	ensure_backend # builds wshold
	ensure_certs
	mkdir -p "$TLS_BACKEND_DIR"
	pid=$(cat "$TLS_BACKEND_DIR/pid" 2>/dev/null || true)
	pid_is_ours "$pid" "$TLS_BACKEND_DIR" && return 0
	accepts "$TLS_BACKEND_ADDR" && die "$TLS_BACKEND_ADDR is in use by something lab.sh did not start; stop it or pass --upstream HOST:PORT"
	check_port "${TLS_BACKEND_ADDR##*:}"
	cp "$BACKEND_DIR/wshold" "$TLS_BACKEND_DIR/wshold"
	setsid "$TLS_BACKEND_DIR/wshold" serve --listen "$TLS_BACKEND_ADDR" --tls-cert "$TLS_DIR/cert.pem" --tls-key "$TLS_DIR/key.pem" \
		</dev/null >"$TLS_BACKEND_DIR/serve.log" 2>&1 &
	echo $! >"$TLS_BACKEND_DIR/pid"
	if ! wait_accepts "$TLS_BACKEND_ADDR" "$!"; then
		tail -n 20 "$TLS_BACKEND_DIR/serve.log" >&2 || true
		stop_pid "wshold serve (wss)" "$TLS_BACKEND_DIR"
		die "wshold serve --tls-cert did not come up on $TLS_BACKEND_ADDR within ${START_WAIT}s (log above: $TLS_BACKEND_DIR/serve.log)"
	fi
	echo "lab.sh: wss backend: wshold serve --tls-cert on $TLS_BACKEND_ADDR (log $TLS_BACKEND_DIR/serve.log)"
}

cmd_up() {
	local name=${1:-} port="" upstream="" timeout="" admin_port=18299 dir bin conf pid kv sets=()
	[[ -n $name ]] || die "up needs a case; see 'lab.sh list'"
	shift
	case_info "$name" || die "unknown case '$name'; see 'lab.sh list'"
	while (($#)); do
		case $1 in
		--port) port=${2:?--port needs a number} && shift 2 ;;
		--upstream) upstream=${2:?--upstream needs HOST:PORT} && shift 2 ;;
		--timeout) timeout=${2:?--timeout needs whole seconds} && shift 2 ;;
		--admin-port) admin_port=${2:?--admin-port needs a number} && shift 2 ;;
		--set) sets+=("${2:?--set needs NAME=VALUE}") && shift 2 ;;
		*) die "up: unknown argument '$1'; see 'lab.sh --help'" ;;
		esac
	done
	port=${port:-$DEFAULT_PORT}
	[[ -n $port ]] || die "case $name has no default port; pass --port P (outside ip_local_port_range)"
	if [[ -n $timeout ]]; then
		[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout '$timeout': want whole seconds above zero, without a unit"
		grep -q '{{TIMEOUT' "$TEMPLATES/$TEMPLATE" || die "--timeout: case $name has no timeout to set"
	fi
	[[ -z $upstream || $upstream == *:* ]] || die "--upstream '$upstream': want HOST:PORT"
	for kv in "${sets[@]}"; do
		[[ $kv =~ ^([A-Z][A-Z0-9_]*)=([^{}]*)$ ]] || die "--set '$kv': want NAME=VALUE, NAME in capitals, no braces in VALUE"
		case ${BASH_REMATCH[1]} in
		PREFIX | LISTEN | HOST | PORT | ADMIN | UPSTREAM | UPSTREAM_HOST | UPSTREAM_PORT | TLS_DIR) die "--set ${BASH_REMATCH[1]}: chosen by lab.sh (use --port, --upstream or --admin-port)" ;;
		esac
		grep -q "{{${BASH_REMATCH[1]}[:}]" "$TEMPLATES/$TEMPLATE" ||
			die "--set ${BASH_REMATCH[1]}: $TEMPLATE has no such placeholder; it takes: $(grep -oE '\{\{[A-Z][A-Z0-9_]*' "$TEMPLATES/$TEMPLATE" | sed 's/{{//' | sort -u | tr '\n' ' ')"
	done
	kind_info "$KIND"
	bin=$(find_bin "$BIN_NAME" "$PKG")
	dir=$LABROOT/$name
	if pid_is_ours "$(cat "$dir/pid" 2>/dev/null || true)" "$dir"; then
		die "$name is already up ($(cat "$dir/url")); 'lab.sh down $name' first"
	fi
	check_port "$port"
	[[ $KIND != caddy ]] || check_port "$admin_port"

	rm -rf "$dir"
	mkdir -p "$dir"
	# Started as root, nginx and Apache workers run as an unprivileged user
	# that must reach the temp paths inside.
	chmod 755 "$LABROOT" "$dir"
	if [[ -z $upstream ]] && grep -q '^# backend: wss$' "$TEMPLATES/$TEMPLATE"; then
		ensure_tls_backend
		upstream=$TLS_BACKEND_ADDR
		touch "$dir/uses-backend" "$dir/uses-tls-backend"
	elif [[ -z $upstream ]]; then
		ensure_backend
		upstream=$BACKEND_ADDR
		touch "$dir/uses-backend"
	fi
	conf=$dir/$TEMPLATE
	local vars=("PREFIX=$dir" "LISTEN=127.0.0.1:$port" "HOST=127.0.0.1" "PORT=$port"
		"UPSTREAM=$upstream" "UPSTREAM_HOST=${upstream%:*}" "UPSTREAM_PORT=${upstream##*:}" "ADMIN=127.0.0.1:$admin_port")
	[[ -z $timeout ]] || vars+=("TIMEOUT=$timeout")
	if grep -q '{{TLS_DIR' "$TEMPLATES/$TEMPLATE"; then
		ensure_certs
		vars+=("TLS_DIR=$TLS_DIR")
	fi
	vars+=("${sets[@]}")
	render "$TEMPLATES/$TEMPLATE" "$conf" "${vars[@]}"
	local url=ws://127.0.0.1:$port/ws
	# A TLS listener, as labtest tells it: nginx "listen ... ssl", HAProxy
	# "bind ... ssl", a Caddy site "https://...".
	if grep -qE '^[[:space:]]*((listen|bind)[[:space:]][^;#]*[[:space:]]ssl([[:space:];]|$)|https://)' "$conf"; then
		url=wss://127.0.0.1:$port/ws
	fi

	case $KIND in
	nginx) setsid "$bin" -p "$dir/" -e "$dir/error.log" -c "$conf" </dev/null >"$dir/output.log" 2>&1 & ;;
	haproxy) setsid "$bin" -W -db -f "$conf" </dev/null >"$dir/output.log" 2>&1 & ;;
	caddy) XDG_CONFIG_HOME=$dir XDG_DATA_HOME=$dir setsid "$bin" run --config "$conf" --adapter caddyfile </dev/null >"$dir/output.log" 2>&1 & ;;
	apache) setsid "$bin" -f "$conf" -DFOREGROUND </dev/null >"$dir/output.log" 2>&1 & ;;
	lighttpd) setsid "$bin" -D -f "$conf" </dev/null >"$dir/output.log" 2>&1 & ;;
	varnish)
		# varnishd takes its listen address and parameters (pipe_timeout)
		# on the command line: the template's "# varnishd-params:" line.
		local params
		read -r -a params < <(sed -n 's/^# varnishd-params://p' "$conf")
		setsid "$bin" -F -j none -n "$dir/varnishd" -f "$conf" -T none -s malloc,32m "${params[@]}" </dev/null >"$dir/output.log" 2>&1 &
		;;
	nghttpx) setsid "$bin" --conf="$conf" </dev/null >"$dir/output.log" 2>&1 & ;;
	h2o) setsid "$bin" -c "$conf" </dev/null >"$dir/output.log" 2>&1 & ;;
	esac
	pid=$!
	echo "$pid" >"$dir/pid"
	echo "$KIND" >"$dir/kind"
	echo "127.0.0.1:$admin_port" >"$dir/admin"
	echo "$url" >"$dir/url"
	if ! wait_accepts "127.0.0.1:$port" "$pid" "$KIND" "$dir"; then
		tail -n 20 "$dir/$LOG" "$dir/output.log" >&2 2>/dev/null || true
		stop_pid "$name" "$dir"
		rm -f "$dir/uses-backend" "$dir/uses-tls-backend"
		stop_backend_if_unused
		die "$name did not come up on 127.0.0.1:$port within ${START_WAIT}s (logs above, in $dir)"
	fi
	echo "lab.sh: $name up: $KIND pid $pid, config $conf, log $dir/$LOG"
	[[ $url != wss://* ]] || echo "lab.sh: its certificate is signed by the lab CA: wshold run --ca $TLS_DIR/ca.pem $url"
	echo "$url"
}

stop_backend_if_unused() {
	local d tls_used=0
	for d in "$LABROOT"/*/; do
		if [[ -e $d/uses-tls-backend ]] && pid_is_ours "$(cat "$d/pid" 2>/dev/null || true)" "${d%/}"; then
			tls_used=1
		fi
	done
	if ((!tls_used)) && [[ -e $TLS_BACKEND_DIR/pid ]]; then
		stop_pid "wshold serve (wss)" "$TLS_BACKEND_DIR"
		echo "lab.sh: wss backend stopped"
	fi
	for d in "$LABROOT"/*/; do
		[[ -e $d/uses-backend ]] && pid_is_ours "$(cat "$d/pid" 2>/dev/null || true)" "${d%/}" && return 0
	done
	if [[ -e $BACKEND_DIR/pid ]]; then
		stop_pid "wshold serve" "$BACKEND_DIR"
		echo "lab.sh: backend stopped"
	fi
}

cmd_down() {
	local name d
	if (($# == 0)); then
		for d in "$LABROOT"/*/; do
			name=$(basename "$d")
			[[ $name != backend && $name != backend-tls && -e $d/pid ]] || continue
			stop_pid "$name" "${d%/}"
			rm -f "$d/uses-backend" "$d/uses-tls-backend"
			echo "lab.sh: $name stopped"
		done
		stop_backend_if_unused
		return 0
	fi
	for name in "$@"; do
		case_info "$name" || die "unknown case '$name'; see 'lab.sh list'"
		d=$LABROOT/$name
		if [[ -e $d/pid ]]; then
			stop_pid "$name" "$d"
			echo "lab.sh: $name stopped"
		else
			echo "lab.sh: $name was not up"
		fi
		rm -f "$d/uses-backend" "$d/uses-tls-backend"
	done
	stop_backend_if_unused
}

cmd_reload() {
	local name=${1:-} dir pid before i word
	[[ -n $name ]] || die "reload needs a case; see 'lab.sh status'"
	case_info "$name" || die "unknown case '$name'; see 'lab.sh list'"
	dir=$LABROOT/$name
	pid=$(cat "$dir/pid" 2>/dev/null || true)
	pid_is_ours "$pid" "$dir" || die "$name is not up; 'lab.sh up $name' first"
	kind_info "$KIND"
	before=" $(generation "$KIND" "$dir" "$pid") "
	case $KIND in
	nginx) kill -HUP "$pid" ;;
	apache) kill -USR1 "$pid" ;; # graceful: old children finish their connections
	haproxy) kill -USR2 "$pid" ;;
	lighttpd) kill -USR1 "$pid" ;; # graceful restart
	varnish) die "the lab runs varnishd without a management port, so it cannot load a new VCL: 'lab.sh down $name' and up again" ;;
	nghttpx) kill -HUP "$pid" ;; # a new worker; the old one keeps its tunnels
	h2o) die "the lab runs h2o without -m master, which has no graceful reload (SIGHUP ends it): 'lab.sh down $name' and up again" ;;
	caddy)
		if ! XDG_CONFIG_HOME=$dir XDG_DATA_HOME=$dir "$(find_bin caddy caddy)" reload --config "$dir/$TEMPLATE" \
			--adapter caddyfile --address "$(cat "$dir/admin")" --force >>"$dir/reload.log" 2>&1; then
			tail -n 20 "$dir/reload.log" >&2
			die "caddy reload failed (above; $dir/reload.log)"
		fi
		echo "lab.sh: $name reloaded"
		return 0
		;;
	esac
	for ((i = 0; i < 150; i++)); do
		for word in $(generation "$KIND" "$dir" "$pid"); do
			if [[ $before != *" $word "* ]]; then
				echo "lab.sh: $name reloaded"
				return 0
			fi
		done
		# HAProxy's master loses a SIGUSR2 that comes early in its life; ask
		# again each second until it reloads.
		if [[ $KIND == haproxy ]] && ((i % 10 == 9)); then kill -USR2 "$pid"; fi
		sleep 0.1
	done
	die "$name did not take the reload within 15s (a config error?); see $dir/$LOG"
}

cmd_status() {
	local d name pid state any=0
	printf '%-22s %-5s %-8s %-28s %s\n' CASE STATE PID URL LOG
	for d in "$LABROOT"/*/; do
		[[ -e $d/pid ]] || continue
		any=1
		name=$(basename "$d")
		pid=$(cat "$d/pid")
		if pid_is_ours "$pid" "${d%/}"; then state=up; else state=dead; fi
		if [[ $name == backend ]]; then
			printf '%-22s %-5s %-8s %-28s %s\n' backend "$state" "$pid" "$BACKEND_ADDR" "${d}serve.log"
		elif [[ $name == backend-tls ]]; then
			printf '%-22s %-5s %-8s %-28s %s\n' backend-tls "$state" "$pid" "$TLS_BACKEND_ADDR" "${d}serve.log"
		else
			case_info "$name" && kind_info "$KIND"
			printf '%-22s %-5s %-8s %-28s %s\n' "$name" "$state" "$pid" "$(cat "$d/url")" "$d$LOG"
		fi
	done
	((any)) || echo "(nothing up; 'lab.sh up CASE')"
}

cmd_list() {
	local f name kind order
	printf '%-22s %-7s %-6s %s\n' CASE PROXY PORT "WHAT IT SHOWS"
	for f in "$TEMPLATES"/*; do
		[[ $f != *.md ]] || continue
		name=$(case_name "$f")
		[[ -n $name ]] || {
			warn "$(basename "$f"): first line is not '# wshold lab: CASE - what it shows'; skipped"
			continue
		}
		kind=$(kind_of "$(basename "$f")")
		case $kind in nginx) order=1 ;; haproxy) order=2 ;; caddy) order=3 ;; *) order=4 ;; esac
		printf '%s\t%s\t%-22s %-7s %-6s %s\n' "$order" "$(default_port "$name" || true)" \
			"$name" "$kind" "$(default_port "$name" || true)" "$(describe "$(basename "$f")")"
	done | sort -t$'\t' -k1,1n -k2,2n | cut -f3-
	echo
	echo "Backend: wshold serve on $BACKEND_ADDR unless --upstream is given (for a '# backend: wss' case,"
	echo "wshold serve --tls-cert on $TLS_BACKEND_ADDR). TLS cases use the lab CA in $TLS_DIR (--ca $TLS_DIR/ca.pem)."
	echo "Caddy's admin API: 127.0.0.1:18299."
	echo "Templates: $TEMPLATES. Run directory: $LABROOT."
}

main() {
	local cmd=${1:-}
	(($#)) && shift
	case $cmd in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	reload) cmd_reload "$@" ;;
	status) cmd_status ;;
	list) cmd_list ;;
	-h | --help | help) usage ;;
	"")
		usage >&2
		exit 2
		;;
	*) die "unknown command '$cmd'; use up, down, reload, status or list" ;;
	esac
}

main "$@"
