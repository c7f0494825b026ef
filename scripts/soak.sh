#!/usr/bin/env bash
# soak.sh - does the harness itself grow over a long hold? Holds --conns
# idle connections (default 15000) for --hold (default 1h) against a
# `wshold serve` process on loopback, writing a checkpoint of the result
# every --checkpoint-interval (10s, as a real run does), and prints the
# harness's RSS at the hold's start and at its end, each taken after a GC
# (resources.hold_start_rss_bytes and hold_end_rss_bytes of the result).
#
#   scripts/soak.sh [--conns 15000] [--rate 1000] [--hold 1h] [--port 18190]
#                   [--checkpoint-interval 10s] [--max-growth 5]
#
# Exit status: 0 the end's RSS is within --max-growth percent of the
# start's; 1 it grew more (or the run failed); 2 bad usage or no result.
# A benchmark, not a test: it takes the hold's length, and its figure is
# printed, not asserted by the test suite.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH

CONNS=15000 RATE=1000 HOLD=1h PORT=18190 CP=10s MAXGROWTH=5
die() {
	echo "soak.sh: $*" >&2
	exit 2
}
while (($#)); do
	case $1 in
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
		exit 0
		;;
	--conns) CONNS=${2:?--conns needs N} && shift 2 ;;
	--rate) RATE=${2:?--rate needs connections per second} && shift 2 ;;
	--hold) HOLD=${2:?--hold needs a duration} && shift 2 ;;
	--port) PORT=${2:?--port needs a port} && shift 2 ;;
	--checkpoint-interval) CP=${2:?--checkpoint-interval needs a duration} && shift 2 ;;
	--max-growth) MAXGROWTH=${2:?--max-growth needs a percentage} && shift 2 ;;
	*) die "unknown argument '$1'; see --help" ;;
	esac
done
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "--conns '$CONNS': want a whole number"
[[ $PORT =~ ^[1-9][0-9]*$ ]] || die "--port '$PORT': want a port number"
[[ $MAXGROWTH =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--max-growth '$MAXGROWTH': want a percentage"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/wshold-soak-XXXXXX")
SERVE_PID=""
stop_serve() {
	[[ -n $SERVE_PID ]] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
	SERVE_PID=""
}
trap 'stop_serve' EXIT
trap 'stop_serve; exit 130' INT TERM

accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

echo "soak.sh: building into $DIR" >&2
(cd "$ROOT" && go build -o "$DIR/wshold" ./cmd/wshold) || die "go build failed"

accepts "$PORT" && die "127.0.0.1:$PORT is in use; choose another with --port"
"$DIR/wshold" serve --listen "127.0.0.1:$PORT" </dev/null >>"$DIR/serve.log" 2>&1 &
SERVE_PID=$!
for ((i = 0; i < 100; i++)); do
	accepts "$PORT" && break
	sleep 0.1
done
accepts "$PORT" || die "wshold serve did not come up on 127.0.0.1:$PORT; see $DIR/serve.log"

echo "soak.sh: $CONNS connections at ${RATE}/s, hold $HOLD, a checkpoint every $CP; progress in $DIR/progress.log" >&2
code=0
"$DIR/wshold" run -c "$CONNS" -r "$RATE" --hold "$HOLD" --procs 1 --progress-interval 60s \
	--checkpoint-interval "$CP" -o "$DIR/soak.json" --format markdown "ws://127.0.0.1:$PORT/" \
	>"$DIR/report.md" 2>"$DIR/progress.log" || code=$?
stop_serve
[[ -s $DIR/soak.json ]] || die "no result was written (wshold run exited $code); see $DIR/progress.log"

# The figures, read with the harness's own JSON reader rather than a
# regular expression.
read -r start end held < <("$DIR/wshold" report "$DIR/soak.json" --format json |
	python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["resources"]; print(s.get("hold_start_rss_bytes",0), s.get("hold_end_rss_bytes",0), r["counts"]["held"])')
((start > 0 && end > 0)) || die "the result has no hold RSS figures (did the hold start?); see $DIR/soak.json"
growth=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%+.2f", 100 * (e - s) / s }')
echo
echo "soak: $CONNS connections held $HOLD against wshold serve on loopback, a checkpoint every $CP"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg); wshold run exited $code; $held held at the end"
echo "RSS at the hold's start: $((start / 1024)) KiB; at its end: $((end / 1024)) KiB; change $growth% (limit ±$MAXGROWTH%)"
echo "Raw figures: $DIR"
awk -v g="$growth" -v m="$MAXGROWTH" 'BEGIN { exit (g <= m) ? 0 : 1 }'
