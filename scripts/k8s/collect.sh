#!/usr/bin/env bash
# Copies the shard results of the wshold Job from its volume and merges
# them into one result.
#
#   scripts/k8s/collect.sh [OUT_DIR]      (default ./wshold-results)
#
# Writes OUT_DIR/shard-I.json for each shard and OUT_DIR/all.json, then
# prints the merged report. The wshold image has no shell or tar, so a
# small reader pod mounts the volume to copy from; it is deleted after.
#
# Environment:
#   SHARDS     number of shards to expect, default: the Job's completions
#   NAMESPACE  default: kubectl's current namespace
#   PVC        the results volume, default wshold-results
#   WSHOLD     the wshold binary to merge with, default wshold in PATH
#   READER_IMAGE  an image with sleep and cat for the reader pod, default
#              busybox:1.36 (set it where nodes pull from a mirror only)
set -euo pipefail

out=${1:-wshold-results}
kubectl=${KUBECTL:-kubectl}
wshold=${WSHOLD:-wshold}
pvc=${PVC:-wshold-results}
reader="wshold-results-reader"
reader_image=${READER_IMAGE:-busybox:1.36}
ns=()
[ -n "${NAMESPACE:-}" ] && ns=(--namespace "$NAMESPACE")
k() { "$kubectl" "${ns[@]}" "$@"; }

shards=${SHARDS:-$(k get job wshold -o 'jsonpath={.spec.completions}')}
case $shards in
'' | *[!0-9]* | 0) echo "collect.sh: cannot tell the shard count (got '$shards'); set SHARDS=N" >&2; exit 2 ;;
esac

cleanup() { k delete pod "$reader" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $reader
  labels: {app.kubernetes.io/name: wshold-results-reader}
spec:
  restartPolicy: Never
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: reader
      image: $reader_image
      command: [sleep, "3600"]
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
      volumeMounts: [{name: results, mountPath: /results, readOnly: true}]
  volumes:
    - name: results
      persistentVolumeClaim: {claimName: $pvc, readOnly: true}
YAML
k wait --for=condition=Ready "pod/$reader" --timeout=180s >/dev/null

mkdir -p "$out"
files=()
missing=()
for ((i = 0; i < shards; i++)); do
	f=$out/shard-$i.json
	if k exec "$reader" -- cat "/results/shard-$i.json" >"$f.part" 2>/dev/null && [ -s "$f.part" ]; then
		mv "$f.part" "$f"
		files+=("$f")
	else
		rm -f "$f.part"
		missing+=("$i")
	fi
done
echo "collect.sh: copied ${#files[@]} of $shards shard results into $out" >&2
if [ ${#missing[@]} -gt 0 ]; then
	echo "collect.sh: no result from shard(s) ${missing[*]}: see kubectl logs -l batch.kubernetes.io/job-completion-index=I,job-name=wshold" >&2
	[ ${#files[@]} -gt 0 ] || exit 1
	echo "collect.sh: merging the shards that finished; the merged counts cover only them" >&2
fi
"$wshold" merge -o "$out/all.json" "${files[@]}"
"$wshold" report "$out/all.json"
