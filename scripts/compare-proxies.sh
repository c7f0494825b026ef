#!/usr/bin/env bash
# compare-proxies.sh - run one scenario through each lab proxy and print one
# `wshold compare` table: which proxy cuts idle WebSockets, when and how.
#
#   scripts/compare-proxies.sh [-c CONNS] [--hold DUR] [--timeout SECONDS] [--out DIR] [CASE...]
#
# CASEs are scripts/lab.sh cases (see 'scripts/lab.sh list'); by default
# nginx-timeout haproxy-notunnel haproxy-tunnel caddy apache-timeout. A case
# whose config has an idle timeout gets --timeout seconds (default 4), so the
# columns differ by proxy, not by setting. Each case is started with
# 'scripts/lab.sh up', measured with 'wshold run -c CONNS --hold DUR'
# (default 200 connections, 8s), and stopped with 'scripts/lab.sh down'
# before the next one starts; an interrupted script stops the case it
# started. The results stay in --out DIR (default: a new temporary
# directory), one CASE.json each, for 'wshold report' or a later compare.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB=$ROOT/scripts/lab.sh
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH

conns=200 hold=8s timeout=4 out="" cases=()
die() {
	echo "compare-proxies.sh: $*" >&2
	exit 2
}
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

while (($#)); do
	case $1 in
	-c | --conns) conns=${2:?$1 needs a number} && shift 2 ;;
	--hold) hold=${2:?--hold needs a duration, e.g. 8s} && shift 2 ;;
	--timeout) timeout=${2:?--timeout needs whole seconds} && shift 2 ;;
	--out) out=${2:?--out needs a directory} && shift 2 ;;
	-h | --help)
		usage
		exit 0
		;;
	-*) die "unknown option '$1'; see --help" ;;
	*) cases+=("$1") && shift ;;
	esac
done
((${#cases[@]})) || cases=(nginx-timeout haproxy-notunnel haproxy-tunnel caddy apache-timeout)
[[ $conns =~ ^[1-9][0-9]*$ ]] || die "-c '$conns': want a number of connections above zero"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout '$timeout': want whole seconds above zero, without a unit"

# template CASE: the config template of a lab case, found by its first line
# ("# wshold lab: CASE - ...").
template() {
	grep -l -- "^# wshold lab: $1 " "$ROOT"/scripts/lab/* 2>/dev/null | head -n 1
}

for c in "${cases[@]}"; do
	[[ -n $(template "$c") ]] || die "unknown case '$c'; see 'scripts/lab.sh list'"
done

if [[ -z $out ]]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/wshold-compare.XXXXXX")
fi
mkdir -p "$out"
wshold=${WSHOLD:-$out/wshold}
if [[ -z ${WSHOLD:-} ]]; then
	(cd "$ROOT" && go build -o "$wshold" ./cmd/wshold) || die "go build ./cmd/wshold failed; fix the build or set WSHOLD to a wshold binary"
fi

current=""
stop_current() {
	if [[ -n $current ]]; then
		"$LAB" down "$current" >&2 || true
		current=""
	fi
}
trap stop_current EXIT
trap 'stop_current; exit 130' INT TERM

files=()
for c in "${cases[@]}"; do
	args=(up "$c")
	grep -q '{{TIMEOUT' "$(template "$c")" && args+=(--timeout "$timeout")
	echo "compare-proxies.sh: $c: starting" >&2
	current=$c
	url=$("$LAB" "${args[@]}" | tail -n 1) || die "$c did not start (see the lab.sh output above)"
	[[ $url == ws://* ]] || die "$c: lab.sh printed '$url' where a ws:// URL was expected"
	echo "compare-proxies.sh: $c: wshold run -c $conns --hold $hold $url" >&2
	rc=0
	# lab.sh renders the config here; its fingerprint goes into the result.
	conf=${TMPDIR:-/tmp}/wshold-lab/$c/$(basename "$(template "$c")")
	pc=()
	[[ -f $conf ]] && pc=(--proxy-config "$conf")
	"$wshold" run --name "$c" -c "$conns" --hold "$hold" --progress never -q "${pc[@]}" -o "$out/$c.json" "$url" || rc=$?
	# 1 is a run whose expectations failed (connections dropped): that is
	# a result to compare. 2 is a run that could not start.
	((rc <= 1)) || die "$c: wshold run exited $rc"
	files+=("$out/$c.json")
	stop_current
done

"$wshold" compare --names "$(
	IFS=,
	echo "${cases[*]}"
)" "${files[@]}"
echo >&2
echo "compare-proxies.sh: results in $out" >&2
