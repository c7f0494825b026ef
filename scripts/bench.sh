#!/usr/bin/env bash
# bench.sh - what holding idle WebSockets costs wshold, next to the usual Go
# client (a goroutine per connection, internal/bench/baseline), measured in
# one run on this machine and printed as one Markdown table with ratios.
#
#   scripts/bench.sh [--sizes 5000,15000] [--rate 2000] [--hold 20s] [--port 18190]
#   scripts/bench.sh --wss [--sizes 5000,15000] [--rate 1000] [--hold 20s] [--port 18190]
#
# For each size, each client in turn opens that many connections at --rate
# per second to a fresh `wshold serve` process on loopback (a separate
# process, so only the client's own cost is counted), holds them idle for
# --hold and closes them. Figures: connections upgraded, upgrades per second
# reached, handshake p50/p99 (from each attempt's intended start), RSS
# growth per held connection (after a GC at the hold's start), peak RSS,
# CPU seconds (user + system) for ramp and close, and during the idle hold.
# --rate 0 opens as fast as each client goes (wshold: 256 handshakes in
# flight; the baseline: all at once).
#
# --wss measures what TLS costs instead: at each size, through one real
# nginx (scripts/lab.sh: nginx-scale for ws://, nginx-scale-tls terminating
# TLS for wss://, 2 workers each, both in front of one `wshold serve`),
# wshold over ws://, over wss:// with full TLS handshakes, over wss:// with
# --tls-resume, and the baseline over wss:// (a goroutine and a tls.Conn per
# connection), one after the other. Each is set against the ws:// run of the
# same size, RSS as measured and CPU as a ratio (other work on the machine
# weighs on every run alike), with the handshake's phases (TCP connect,
# TLS, upgrade) and the TLS handshake's share of the client's CPU per
# connection. The default rate is 1000/s there: two cores carry nginx's and
# the client's handshakes.
#
# The machine, the date and the load average are printed above the table:
# figures from a shared or busy machine are not comparable with a quiet one.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH

SIZES=5000,15000 RATE="" HOLD=20s PORT=18190 WSS=0
die() {
	echo "bench.sh: $*" >&2
	exit 2
}
while (($#)); do
	case $1 in
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
		exit 0
		;;
	--sizes) SIZES=${2:?--sizes needs N[,N...]} && shift 2 ;;
	--rate) RATE=${2:?--rate needs connections per second} && shift 2 ;;
	--hold) HOLD=${2:?--hold needs a duration} && shift 2 ;;
	--port) PORT=${2:?--port needs a port} && shift 2 ;;
	--wss) WSS=1 && shift ;;
	*) die "unknown argument '$1'; see --help" ;;
	esac
done
if [[ -z $RATE ]]; then
	RATE=2000
	((!WSS)) || RATE=1000
fi
[[ $SIZES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--sizes '$SIZES': want N[,N...]"
[[ $RATE =~ ^[0-9]+$ ]] || die "--rate '$RATE': want whole connections per second"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/wshold-bench-XXXXXX")
SERVE_PID=""
LAB_UP=0
stop_serve() {
	if ((LAB_UP)); then
		TMPDIR=$DIR "$ROOT/scripts/lab.sh" down >&2 || true
		LAB_UP=0
	fi
	[[ -n $SERVE_PID ]] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
	SERVE_PID=""
}
trap 'stop_serve' EXIT
trap 'stop_serve; exit 130' INT TERM

accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_serve() {
	accepts "$PORT" && die "127.0.0.1:$PORT is in use; choose another with --port"
	"$DIR/wshold" serve --listen "127.0.0.1:$PORT" </dev/null >>"$DIR/serve.log" 2>&1 &
	SERVE_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		accepts "$PORT" && return 0
		sleep 0.1
	done
	die "wshold serve did not come up on 127.0.0.1:$PORT; see $DIR/serve.log"
}

echo "bench.sh: building into $DIR" >&2
(cd "$ROOT" && go build -o "$DIR/wshold" ./cmd/wshold &&
	go build -o "$DIR/baseline" ./internal/bench/baseline &&
	go build -o "$DIR/benchtable" ./internal/bench/benchtable) || die "go build failed"

machine() {
	local model
	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs ($model), $(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; Linux $(uname -r); $(go version | cut -d' ' -f3)"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
FILES=()

if ((WSS)); then
	# One backend, and nginx in front of it twice: plain and terminating TLS.
	start_serve
	LAB_UP=1
	lab_up() { # lab_up CASE PORT: the case's URL (lab.sh's last line)
		TMPDIR=$DIR "$ROOT/scripts/lab.sh" up "$1" --port "$2" --upstream "127.0.0.1:$PORT" --set WORKERS=2 | tail -n 1
	}
	WS_URL=$(lab_up nginx-scale $((PORT + 1))) || die "nginx (nginx-scale) did not come up"
	WSS_URL=$(lab_up nginx-scale-tls $((PORT + 2))) || die "nginx (nginx-scale-tls) did not come up"
	CA=$DIR/wshold-lab/tls/ca.pem
	IFS=, read -r -a NS <<<"$SIZES"
	for n in "${NS[@]}"; do
		for mode in ws wss resumed; do
			echo "bench.sh: $n connections at ${RATE}/s through nginx, hold $HOLD: wshold $mode" >&2
			args=(run -c "$n" -r "$RATE" --hold "$HOLD" --procs 1 -q -o "$DIR/$mode-$n.json")
			case $mode in
			ws) args+=("$WS_URL") ;;
			wss) args+=(--ca "$CA" "$WSS_URL") ;;
			resumed) args+=(--ca "$CA" --tls-resume "$WSS_URL") ;;
			esac
			"$DIR/wshold" "${args[@]}" || echo "bench.sh: wshold run exited $? (see the table's failed + dropped)" >&2
		done
		echo "bench.sh: $n connections at ${RATE}/s through nginx, hold $HOLD: baseline wss" >&2
		"$DIR/baseline" -url "$WSS_URL" -ca "$CA" -c "$n" -r "$RATE" -hold "$HOLD" >"$DIR/baseline-wss-$n.json"
		FILES+=("$DIR/ws-$n.json" "$DIR/wss-$n.json" "$DIR/resumed-$n.json" "$DIR/baseline-wss-$n.json")
	done
	stop_serve
	echo
	echo "wshold over ws:// and wss:// through nginx (nginx-scale and nginx-scale-tls, 2 workers each) in front of wshold serve, on loopback"
	machine
	echo "load average before/after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg); rate ${RATE}/s, hold $HOLD; client, nginx and server share the machine"
	echo
	"$DIR/benchtable" -tls "${FILES[@]}"
	echo "Raw figures: $DIR"
	exit 0
fi

URL="ws://127.0.0.1:$PORT/"
IFS=, read -r -a NS <<<"$SIZES"
for n in "${NS[@]}"; do
	echo "bench.sh: $n connections at ${RATE}/s, hold $HOLD: wshold" >&2
	start_serve
	# -r 0 means "as fast as it goes" for both clients.
	"$DIR/wshold" run -c "$n" -r "$RATE" --hold "$HOLD" --procs 1 -q -o "$DIR/wshold-$n.json" "$URL" ||
		echo "bench.sh: wshold run exited $? (see the table's failed + dropped)" >&2
	stop_serve
	echo "bench.sh: $n connections at ${RATE}/s, hold $HOLD: baseline" >&2
	start_serve
	"$DIR/baseline" -url "$URL" -c "$n" -r "$RATE" -hold "$HOLD" >"$DIR/baseline-$n.json"
	stop_serve
	FILES+=("$DIR/wshold-$n.json" "$DIR/baseline-$n.json")
done

echo
echo "wshold vs goroutine-per-connection Go client (gobwas/ws + wsutil), idle WebSockets against wshold serve on loopback"
machine
echo "load average before/after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg); rate ${RATE}/s, hold $HOLD; client and server share the machine"
echo
"$DIR/benchtable" "${FILES[@]}"
echo
echo "Raw figures: $DIR"
