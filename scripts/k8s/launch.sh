#!/usr/bin/env bash
# Starts the wshold Indexed Job with N shards that all begin their ramp at
# the same wall-clock moment.
#
#   SHARDS=8 START_IN=120 scripts/k8s/launch.sh
#
# Environment:
#   SHARDS     number of pods (= completions = parallelism), default 4
#   START_IN   seconds from now to the common start, default 90: long
#              enough to schedule every pod and pull the image
#   NAMESPACE  default: kubectl's current namespace
#   JOB        the manifest, default job.yaml next to this script
#   DRY_RUN=1  print the manifest instead of applying it
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
shards=${SHARDS:-4}
start_in=${START_IN:-90}
job=${JOB:-$here/job.yaml}
kubectl=${KUBECTL:-kubectl}

case $shards in
'' | *[!0-9]* | 0) echo "launch.sh: SHARDS=$shards: want a whole number of pods, at least 1" >&2; exit 2 ;;
esac
case $start_in in
'' | *[!0-9]*) echo "launch.sh: START_IN=$start_in: want whole seconds, e.g. 90" >&2; exit 2 ;;
esac
[ -r "$job" ] || { echo "launch.sh: cannot read the manifest $job (set JOB=...)" >&2; exit 2; }

start_at=$(date -u -d "@$(($(date +%s) + start_in))" +%Y-%m-%dT%H:%M:%SZ)

# Only these lines change; job.yaml documents them.
manifest=$(sed \
	-e "s/^\(  completions:\) [0-9]*\$/\1 $shards/" \
	-e "s/^\(  parallelism:\) [0-9]*\$/\1 $shards/" \
	-e "s/{name: SHARDS, value: \"[0-9]*\"}/{name: SHARDS, value: \"$shards\"}/" \
	-e "s/{name: START_AT, value: \"[^\"]*\"}/{name: START_AT, value: \"$start_at\"}/" \
	"$job")

if [ "${DRY_RUN:-}" = 1 ]; then
	printf '%s\n' "$manifest"
	exit 0
fi
ns=()
[ -n "${NAMESPACE:-}" ] && ns=(--namespace "$NAMESPACE")
printf '%s\n' "$manifest" | "$kubectl" "${ns[@]}" apply -f -
echo "launch.sh: $shards shards start their ramp at $start_at; when the Job is done: scripts/k8s/collect.sh" >&2
