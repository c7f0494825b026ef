#!/usr/bin/env bash
# vs-tcpkali.sh - CPU per connection of wshold and tcpkali on the same path,
# measured in one run, turn about, and printed as one Markdown table.
#
#   scripts/vs-tcpkali.sh [--conns N] [--rates 2000,10000] [--reps 3] [--hold S]
#                         [--path nginx|netns]
#
# --path nginx (the default) is the path the peer benchmarks used: the client
# on loopback -> a real nginx (scripts/lab.sh nginx-default, 2 workers) ->
# `wshold serve`. --path netns (root only) puts `wshold serve` alone in a
# network namespace that the script creates, behind a veth pair
# (10.213.0.0/24, removed at the end): a second path, with neither nginx
# nor loopback, to check that the comparison hangs on neither.
# Each run opens --conns connections at the rate from two source addresses
# (as tcpkali needs past half a port range), holds them
# --hold seconds and ends: wshold with its close handshakes, tcpkali at its
# -T. CPU is user + system time of the client process as the kernel counted
# it (bash's `time`), start-up and teardown included, divided by the
# connections. Runs alternate between the tools, each after TIME_WAIT sockets
# from the last one have drained, so both see the same machine.
#
# tcpkali is not packaged by Debian and is not installed by this project:
# put a tcpkali binary (1.2.0 was measured) on PATH or in $TCPKALI.
#
# On loopback the client's connect(), write() and close() also run the
# receiving side's TCP work in the kernel, so both clients pay much of the
# proxy's per-connection kernel cost: the user/system split in the table
# shows how much of each figure is the kernel's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH

CONNS=10000 RATES=2000,10000 REPS=3 HOLD=3 VIA=nginx
die() {
	echo "vs-tcpkali.sh: $*" >&2
	exit 2
}
while (($#)); do
	case $1 in
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
		exit 0
		;;
	--conns) CONNS=${2:?--conns needs N} && shift 2 ;;
	--rates) RATES=${2:?--rates needs R[,R...]} && shift 2 ;;
	--reps) REPS=${2:?--reps needs a count} && shift 2 ;;
	--hold) HOLD=${2:?--hold needs seconds} && shift 2 ;;
	--path) VIA=${2:?--path needs nginx or netns} && shift 2 ;;
	*) die "unknown argument '$1'; see --help" ;;
	esac
done
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "--conns '$CONNS': want a whole number"
[[ $RATES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--rates '$RATES': want R[,R...]"
[[ $REPS =~ ^[1-9][0-9]?$ ]] || die "--reps '$REPS': want 1-99"
[[ $HOLD =~ ^[1-9][0-9]*$ ]] || die "--hold '$HOLD': want whole seconds"
[[ $VIA == nginx || $VIA == netns ]] || die "--path '$VIA': want nginx or netns"
((EUID == 0)) || [[ $VIA == nginx ]] || die "--path netns creates a network namespace: run it as root"
TCPKALI=${TCPKALI:-$(command -v tcpkali || true)}
[[ -n $TCPKALI && -x $TCPKALI ]] || die "no tcpkali on PATH (or in \$TCPKALI); it is not a Debian package: build it from its public source and try again"
ulimit -n 20000 2>/dev/null || die "cannot raise the open-files limit to 20000 (tcpkali needs a descriptor per connection)"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/wshold-vs-tcpkali-XXXXXX")
# Interface names are at most 15 characters.
NS=wshold-vs-$$ VETH=wshvs$$ SERVE_PID=
cleanup() {
	if [[ $VIA == nginx ]]; then
		"$ROOT/scripts/lab.sh" down nginx-default >/dev/null 2>&1 || true
	else
		[[ -z $SERVE_PID ]] || { kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null; } || true
		ip netns del "$NS" 2>/dev/null || true
		ip link del "$VETH" 2>/dev/null || true
	fi
}
trap cleanup EXIT
(cd "$ROOT" && go build -o "$DIR/wshold" ./cmd/wshold) || die "go build failed"
if [[ $VIA == nginx ]]; then
	"$ROOT/scripts/lab.sh" down nginx-default >/dev/null 2>&1 || true
	URL=$("$ROOT/scripts/lab.sh" up nginx-default | tail -1)
	SRC=(127.0.0.1 127.0.0.2) DESCRIBED="through nginx on loopback"
else
	ip netns add "$NS" || die "cannot create network namespace $NS"
	ip link add "$VETH" type veth peer name "$VETH-ns" netns "$NS" || die "cannot create a veth pair"
	if ! { ip addr add 10.213.0.1/24 dev "$VETH" && ip addr add 10.213.0.3/24 dev "$VETH" && ip link set "$VETH" up &&
		ip -n "$NS" addr add 10.213.0.2/24 dev "$VETH-ns" && ip -n "$NS" link set "$VETH-ns" up; }; then
		die "cannot address the veth pair"
	fi
	ip netns exec "$NS" "$DIR/wshold" serve --listen 10.213.0.2:9000 2>"$DIR/serve.log" &
	SERVE_PID=$!
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$DIR/serve.log" && break
		sleep 0.1
	done
	grep -q 'listening on' "$DIR/serve.log" || die "wshold serve did not start in $NS: $(cat "$DIR/serve.log")"
	URL=ws://10.213.0.2:9000/
	SRC=(10.213.0.1 10.213.0.3) DESCRIBED="to wshold serve in a network namespace over veth"
fi
HOSTPORT=${URL#ws://}
HOSTPORT=${HOSTPORT%/}

# drain waits (at most 90 s) until fewer than 2000 TIME_WAIT sockets are
# left: a port range full of them slows every connect().
drain() {
	local i
	for ((i = 0; i < 90; i++)); do
		(($(ss -tan state time-wait | wc -l) < 2000)) && return 0
		sleep 1
	done
}

# cpu CMD...: runs CMD, output to $DIR/out, and sets USER_S and SYS_S.
cpu() {
	local t
	t=$({ TIMEFORMAT='%U %S' && time "$@" >"$DIR/out" 2>&1; } 2>&1) || true
	read -r USER_S SYS_S <<<"$t"
}

per_conn() { awk -v u="$1" -v s="$2" -v n="$3" 'BEGIN { printf "%.0f", (u + s) / n * 1e6 }'; }
json_num() { grep -o "\"$1\": *[0-9.]*" "$2" | head -1 | sed 's/.*: *//'; }

ROWS=()
IFS=, read -r -a RS <<<"$RATES"
for r in "${RS[@]}"; do
	for ((rep = 1; rep <= REPS; rep++)); do
		drain
		T=$(awk -v n="$CONNS" -v r="$r" -v h="$HOLD" 'BEGIN { printf "%.1fs", n / r + h }')
		echo "vs-tcpkali.sh: rate $r, run $rep/$REPS: tcpkali" >&2
		cpu "$TCPKALI" --ws --connect-timeout 10s --latency-first-byte --latency-percentiles 50,99 \
			--source-ip "${SRC[0]}" --source-ip "${SRC[1]}" -c "$CONNS" --connect-rate "$r" -T "$T" "$HOSTPORT"
		up=$(grep -o 'Ramped up to [0-9]*' "$DIR/out" | grep -o '[0-9]*$' || echo "?")
		lat=$(sed -n 's/.*First byte latency at percentiles: \([0-9.]*\)\/\([0-9.]*\) ms.*/\1 | \2/p' "$DIR/out" | tail -1)
		ROWS+=("| $r | tcpkali | $up | $(per_conn "$USER_S" "$SYS_S" "$CONNS") | $USER_S + $SYS_S | ${lat:-? | ?} |")
		echo "${ROWS[-1]}" >&2

		drain
		echo "vs-tcpkali.sh: rate $r, run $rep/$REPS: wshold" >&2
		cpu "$DIR/wshold" run "$URL" -c "$CONNS" -r "$r" --hold "${HOLD}s" --source-ip "${SRC[0]},${SRC[1]}" \
			--procs 1 -q -o "$DIR/wshold.json"
		up=$(json_num upgraded "$DIR/wshold.json")
		ROWS+=("| $r | wshold | ${up:-?} | $(per_conn "$USER_S" "$SYS_S" "$CONNS") | $USER_S + $SYS_S | $(json_num p50_ms "$DIR/wshold.json") | $(json_num p99_ms "$DIR/wshold.json") |")
		echo "${ROWS[-1]}" >&2
	done
done

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo
echo "wshold vs tcpkali ($("$TCPKALI" --version 2>&1 | head -1)): $CONNS idle WebSockets $DESCRIBED, held ${HOLD} s"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs ($model); Linux $(uname -r); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| rate /s | client | upgraded | CPU µs per connection | user + system s | handshake p50 ms | p99 ms |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
echo
echo "tcpkali's latency is its first-byte latency (connect to the first byte of the 101), wshold's the handshake from each attempt's slot in the schedule."
