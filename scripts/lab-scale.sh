#!/usr/bin/env bash
# lab-scale.sh - hold N WebSockets through a real nginx on this machine, in
# one command, and print wshold's report.
#
#   scripts/lab-scale.sh N [--wss] [--rate R] [--hold DUR] [--port P] [--apply] [-- WSHOLD-RUN-FLAGS...]
#
# It sizes everything for N proxied connections and says how:
#   - nginx from scripts/lab/nginx-scale.conf with ceil(1.1 N / 9500) workers
#     (each tunnel costs a worker 2 connections and 2 descriptors; a worker
#     may open 20000) sharing the port with reuseport;
#   - ceil(1.15 N / 11000) `wshold serve` backends, each on its own port, so
#     nginx's connections to each draw on their own ephemeral port range,
#     and use less than half of it;
#   - the client, `wshold run --procs 0` (worker processes chosen from the
#     open-files limit), spread over enough source addresses
#     (--source-ip 127.0.0.1-127.0.0.K) that no (source, nginx) pair uses
#     more than 45% of net.ipv4.ip_local_port_range: past half, the
#     kernel's connect() slows down sharply (it tries even ports first).
# With --wss the clients speak wss:// and nginx terminates TLS
# (scripts/lab/nginx-scale-tls.conf, a lab CA and certificate made for the
# run: wshold is given --ca), the backends stay plain; add
# -- --tls-resume to resume sessions as browsers do.
# Before starting it checks the host (ports, listen backlog, open files) and
# prints what does not fit and the sysctl that fixes it; --apply (as root)
# applies those settings. It stops exactly the processes it started, also
# on Ctrl-C, and exits with wshold's exit status (0: all N upgraded, none
# failed, none dropped).
#
# Defaults: --rate 2000 (connections per second), --hold 15s, --port 18090.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH:/usr/sbin:/sbin:/usr/local/sbin

PER_WORKER=9500   # tunnels per nginx worker (2 descriptors each, 20000 per worker)
PER_BACKEND=11000 # connections per serve process: under half the port range nginx draws on
START_WAIT=20     # seconds for nginx and the backends to accept connections
STOP_WAIT=15      # seconds after SIGTERM before SIGKILL

die() {
	echo "lab-scale.sh: $*" >&2
	exit 2
}
say() { echo "lab-scale.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
ceil_div() { echo $((($1 + $2 - 1) / $2)); }

N="" RATE=2000 HOLD=15s PORT=18090 APPLY=0 WSS=0 EXTRA=()
while (($#)); do
	case $1 in
	-h | --help) usage && exit 0 ;;
	--rate) RATE=${2:?--rate needs connections per second} && shift 2 ;;
	--hold) HOLD=${2:?--hold needs a duration such as 15s} && shift 2 ;;
	--port) PORT=${2:?--port needs a port number} && shift 2 ;;
	--apply) APPLY=1 && shift ;;
	--wss) WSS=1 && shift ;;
	--) shift && EXTRA=("$@") && break ;;
	*)
		[[ -z $N && $1 =~ ^[1-9][0-9]*$ ]] || die "unexpected '$1'; see --help"
		N=$1 && shift
		;;
	esac
done
[[ -n $N ]] || {
	usage >&2
	exit 2
}
if ! [[ $PORT =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT + 64 > 65535)); then
	die "--port '$PORT' is not a usable port"
fi
[[ $RATE =~ ^[0-9]+$ ]] || die "--rate '$RATE': want whole connections per second"

# --- the plan ---------------------------------------------------------------
read -r PORT_LO PORT_HI </proc/sys/net/ipv4/ip_local_port_range
PORTS=$((PORT_HI - PORT_LO + 1))
NOFILE=$(ulimit -Hn)
[[ $NOFILE == unlimited ]] && NOFILE=1048576
WORKERS=$(ceil_div $((N * 11 / 10)) $PER_WORKER)
((WORKERS >= 2)) || WORKERS=2
BACKENDS=$(ceil_div $((N * 115 / 100)) $PER_BACKEND)
PROCS=$(ceil_div "$N" $((NOFILE - 512)))
# Source addresses: each carries at most 45% of the port range (connect()
# tries the even half of the range first and slows down sharply once it is
# taken), dealt evenly over the client's worker processes.
SOURCES=$(ceil_div "$N" $((PORTS * 45 / 100)))
SOURCES=$(($(ceil_div "$SOURCES" "$PROCS") * PROCS))
((SOURCES <= 254)) || die "$N connections need $SOURCES source addresses of 127.0.0.0/24 at $PORTS ports each; widen net.ipv4.ip_local_port_range"
BACKEND_PORTS=()
for ((i = 1; i <= BACKENDS; i++)); do BACKEND_PORTS+=($((PORT + i))); done

echo "lab-scale.sh: plan for $N WebSockets through nginx on 127.0.0.1:$PORT$( ((WSS)) && echo ', wss:// (nginx terminates TLS)')"
echo "  nginx:    $WORKERS workers (about $(ceil_div "$N" "$WORKERS") tunnels, $((2 * $(ceil_div "$N" "$WORKERS"))) descriptors each), reuseport"
echo "  backends: $BACKENDS x wshold serve on ports ${BACKEND_PORTS[0]}-${BACKEND_PORTS[-1]} (about $(ceil_div "$N" "$BACKENDS") connections each)"
echo "  client:   wshold run --procs 0 ($PROCS processes expected under the open-files limit $NOFILE), --source-ip 127.0.0.1-127.0.0.$SOURCES"
echo "            ($(ceil_div "$N" "$SOURCES") connections per source address; the port range has $PORTS)"

# --- the host ---------------------------------------------------------------
FIXES=()
need_sysctl() { # need_sysctl KEY WANT-MIN CURRENT WHY
	if (($3 < $2)); then
		say "needs $1 >= $2 (now $3): $4"
		FIXES+=("$1=$2")
	fi
}
need_sysctl net.core.somaxconn 4096 "$(cat /proc/sys/net/core/somaxconn)" \
	"nginx and the backends queue a ramp of thousands of connections per second"
need_sysctl net.ipv4.tcp_max_syn_backlog 4096 "$(cat /proc/sys/net/ipv4/tcp_max_syn_backlog)" \
	"half-open connections of the ramp wait there"
need_sysctl fs.file-max $((4 * N + 65536)) "$(cat /proc/sys/fs/file-max)" \
	"every connection is 4 descriptors on this host (client, nginx twice, backend)"
if ((NOFILE < 20000)); then
	say "the open-files hard limit is $NOFILE; nginx's workers and this plan assume 20000: raise it (ulimit -Hn as root, or LimitNOFILE=)"
fi
if ((${#FIXES[@]})); then
	if ((APPLY)); then
		((EUID == 0)) || die "--apply needs root"
		for f in "${FIXES[@]}"; do sysctl -w "$f"; done
	else
		die "the host does not fit the plan (above); apply with: sysctl -w ${FIXES[*]}  (or rerun with --apply, as root)"
	fi
fi

NGINX=$(command -v nginx) || die "nginx not found; install it: apt-get install -y nginx-light"
command -v go >/dev/null || die "go not found; it builds wshold from this checkout"

# --- start ------------------------------------------------------------------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/wshold-lab-scale-XXXXXX")
chmod 755 "$RUN" # nginx workers, started as root, run as an unprivileged user
STARTED=() # process group leaders started here, each its own session

accepts() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

wait_accepts() { # wait_accepts HOST:PORT PID
	local i
	for ((i = 0; i < START_WAIT * 10; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		accepts "$1" && return 0
		sleep 0.1
	done
	return 1
}

stop_all() {
	local pid i alive
	trap - EXIT INT TERM
	((${#STARTED[@]})) || return 0
	for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for ((i = 0; i < STOP_WAIT * 10; i++)); do
		alive=0
		for pid in "${STARTED[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		((alive)) || break
		sleep 0.1
	done
	# What is left, and whatever each leader started (nginx workers), goes.
	for pid in "${STARTED[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
	STARTED=()
	say "stopped nginx and the backends; logs in $RUN"
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

for p in "$PORT" "${BACKEND_PORTS[@]}"; do
	accepts "127.0.0.1:$p" && die "127.0.0.1:$p is in use; pick another base with --port"
	if ((p >= PORT_LO && p <= PORT_HI)); then
		say "warning: port $p is inside ip_local_port_range ($PORT_LO-$PORT_HI); an outgoing connection may take it first"
	fi
done

say "building wshold into $RUN/wshold"
(cd "$ROOT" && go build -o "$RUN/wshold" ./cmd/wshold) || die "go build ./cmd/wshold failed"
TEMPLATE=nginx-scale.conf SCHEME=ws TLS_ARGS=()
if ((WSS)); then
	TEMPLATE=nginx-scale-tls.conf SCHEME=wss TLS_ARGS=(--ca "$RUN/tls/ca.pem")
	(cd "$ROOT" && go run ./internal/labcert/labcert "$RUN/tls") || die "making the lab certificate failed"
	chmod 755 "$RUN/tls"
fi

for p in "${BACKEND_PORTS[@]}"; do
	setsid "$RUN/wshold" serve --listen "127.0.0.1:$p" </dev/null >"$RUN/serve-$p.log" 2>&1 &
	STARTED+=($!)
	wait_accepts "127.0.0.1:$p" $! || die "wshold serve on 127.0.0.1:$p did not come up; see $RUN/serve-$p.log"
done

MORE=""
for p in "${BACKEND_PORTS[@]:1}"; do MORE+="server 127.0.0.1:$p max_fails=0; "; done
CONF=$RUN/$TEMPLATE
sed -E -e "s#\{\{PREFIX\}\}#$RUN#g" -e "s#\{\{LISTEN\}\}#127.0.0.1:$PORT#g" \
	-e "s#\{\{WORKERS(:[^{}]*)?\}\}#$WORKERS#g" -e "s#\{\{UPSTREAM\}\}#127.0.0.1:${BACKEND_PORTS[0]}#g" \
	-e "s#\{\{TLS_DIR\}\}#$RUN/tls#g" \
	-e "s#\{\{MORE_SERVERS(:[^{}]*)?\}\}#$MORE#g" "$ROOT/scripts/lab/$TEMPLATE" >"$CONF"
! grep -qE '\{\{[A-Z_]+' "$CONF" || die "unfilled placeholders in $CONF"
setsid "$NGINX" -p "$RUN/" -e "$RUN/error.log" -c "$CONF" </dev/null >"$RUN/nginx.out" 2>&1 &
STARTED+=($!)
wait_accepts "127.0.0.1:$PORT" $! || {
	tail -n 20 "$RUN/error.log" "$RUN/nginx.out" >&2 || true
	die "nginx did not come up on 127.0.0.1:$PORT (logs above)"
}
say "nginx (pid ${STARTED[-1]}, $WORKERS workers) and $BACKENDS backends up; config $CONF"

# --- run --------------------------------------------------------------------
set +e
"$RUN/wshold" run --procs 0 -c "$N" -r "$RATE" --hold "$HOLD" \
	--source-ip "127.0.0.1-127.0.0.$SOURCES" --proxy-config "$CONF" "${TLS_ARGS[@]}" \
	-o "$RUN/result.json" "${EXTRA[@]}" "$SCHEME://127.0.0.1:$PORT/ws"
status=$?
set -e
say "result: $RUN/result.json (wshold exit status $status)"
if grep -q "worker_connections are not enough\|Too many open files" "$RUN/error.log" 2>/dev/null; then
	say "nginx ran out of connections or descriptors:"
	grep -m3 "worker_connections are not enough\|Too many open files" "$RUN/error.log" >&2
fi
stop_all
exit $status
