#!/usr/bin/env bash
# End-to-end proof of scripts/k8s on a real, single-node Kubernetes control
# plane that this script brings up on loopback and takes down again:
#
#   sudo scripts/k8s/e2e.sh        (as root; Debian 12; run by hand, not by test.sh)
#
# What it does:
#  1. Installs containerd, runc, containernetworking-plugins and
#     busybox-static from Debian when missing, and takes etcd from the
#     etcd-server package (unpacked, not installed: its postinst would start
#     a system etcd).
#  2. Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubelet
#     and kubectl from k8s.io/kubernetes in a module of its own under $CACHE
#     (once: later runs reuse the binaries), the wshold image from scratch
#     (the static binary, as the Dockerfile's final stage), the pause image
#     from the kubernetes module's build/pause/linux/pause.c, and an image
#     of Debian's busybox for collect.sh's reader pod.
#  3. Starts etcd, the API server, the controller manager, the scheduler,
#     containerd and the kubelet as its own processes, with their state and
#     config under one directory of its own, listening on 127.0.0.1 only
#     (ports PORT_BASE+1 ..+80), and imports the images into that containerd.
#  4. Applies rbac.yaml and, as the user it binds (with only what it
#     grants), checks job.yaml as written with a server-side dry run, runs
#     launch.sh with SHARDS shards against a `wshold serve` on 127.0.0.1
#     (the Job's pods use the host network to reach it; see job_for_e2e),
#     waits for the Job, and runs collect.sh. A probe pod checks the
#     network sysctl in the pod network; then the same test runs as one
#     process against the same server.
#  5. Compares the two (counts, handshake histogram count, which
#     expectations pass, the Job's run id), measures how far apart the
#     shards started, prints a summary, and tears everything down by PID
#     and its own directories. Exit 0 only if every check held.
#
# Environment:
#   SHARDS (4)  CONNS (2000)  RATE (400)  HOLD (10s)   the test, totals for the Job
#   START_IN (20)       seconds from launch to the shards' common start
#   PORT_BASE (19700)   ports PORT_BASE+1 .. PORT_BASE+80 on 127.0.0.1
#   CACHE (/var/cache/wshold-k8s)  built Kubernetes binaries, Go caches, etcd
#   K8S_VERSION (1.34.4)           k8s.io/kubernetes release to build
#   KEEP_STATE=1        keep the state directory (logs, results) after teardown
#   RUNC (runc)         the OCI runtime containerd runs (e.g. a wrapper that logs)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shards=${SHARDS:-4}
conns=${CONNS:-2000}
rate=${RATE:-400}
hold=${HOLD:-10s}
start_in=${START_IN:-20}
port_base=${PORT_BASE:-19700}
cache=${CACHE:-/var/cache/wshold-k8s}
kver=${K8S_VERSION:-1.34.4}

say() { printf 'e2e: %s\n' "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || { say "run as root: it starts a kubelet and containerd"; exit 2; }
for v in "$shards" "$conns" "$rate" "$start_in" "$port_base"; do
	case $v in '' | *[!0-9]* | 0) say "SHARDS, CONNS, RATE, START_IN, PORT_BASE want whole numbers above 0 (got '$v')"; exit 2 ;; esac
done
for c in go gcc openssl jq tar sha256sum unshare ip mount umount findmnt apt-get dpkg-deb; do
	command -v "$c" >/dev/null || { say "needs $c in PATH"; exit 2; }
done

p_etcd=$((port_base + 1)) p_peer=$((port_base + 2)) p_api=$((port_base + 10))
p_kcm=$((port_base + 20)) p_sched=$((port_base + 30)) p_kubelet=$((port_base + 50))
p_kubelet_health=$((port_base + 51)) p_stream=$((port_base + 60)) p_serve=$((port_base + 80))
target=ws://127.0.0.1:$p_serve/ws

# --- everything this run creates lives under $state, or is listed here ----
state=$(mktemp -d "${TMPDIR:-/tmp}/wshold-k8s-e2e.XXXXXX")
# Pods run as 65532 and need to reach the results volume under $state.
chmod 755 "$state"
mkdir -p "$state/pids" "$state/logs" "$state/bin"
bridge=wshk8s$((port_base % 1000))
cgroup_ctrls=(cpu cpuacct cpuset memory pids hugetlb devices freezer blkio systemd unified)
# Directories outside $state that kubelet and containerd create on their own
# (hard-coded there): remembered so that teardown removes only what this
# run made.
precreated=()
for d in /var/log/containers /run/containerd /var/lib/cni; do
	[ -e "$d" ] && precreated+=("$d")
done
for c in "${cgroup_ctrls[@]}"; do
	[ -e "/sys/fs/cgroup/$c/kubepods" ] && precreated+=("/sys/fs/cgroup/$c/kubepods")
done
existed() {
	local d
	for d in "${precreated[@]}"; do [ "$d" = "$1" ] && return 0; done
	return 1
}

k() { "$cache/k8s-v$kver/kubectl" --kubeconfig "$state/pki/admin.kubeconfig" "$@"; }

# start NAME CMD... runs CMD in the background, logging to logs/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$state/logs/$name.log" 2>&1 &
	echo $! >"$state/pids/$name"
}

# stop NAME: SIGTERM, up to 15 s, then SIGKILL; only the PID it started.
stop() {
	local f=$state/pids/$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 150; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$f"
}

# until_ok SECONDS WHAT CMD...: polls CMD every half second.
until_ok() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 2; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	die "$what: not after ${secs}s (logs in $state/logs)"
}

teardown() {
	local rc=$? pid d c m
	trap - EXIT INT TERM
	set +e
	say "tearing down"
	if [ -f "$state/pids/kube-apiserver" ] && [ -f "$state/pids/kubelet" ]; then
		# Let the kubelet stop the pods, so that their sandboxes' networks
		# and mounts are undone the normal way.
		k delete jobs --all --wait=false >/dev/null 2>&1
		k delete pods --all --grace-period=1 --wait=false >/dev/null 2>&1
		for ((i = 0; i < 60; i++)); do
			[ -z "$(k get pods -o name 2>/dev/null)" ] && break
			sleep 1
		done
	fi
	stop wshold-serve
	stop kubelet
	stop kube-scheduler
	stop kube-controller-manager
	stop kube-apiserver
	stop etcd
	stop containerd
	# A container shim outlives containerd; each names this run's state
	# directory on its command line.
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		if tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "$state/containerd"; then
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	sleep 0.5
	# Mounts under $state, deepest first.
	findmnt -rn -o TARGET | grep -F "$state/" | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	mountpoint -q "$state/kubelet" && { umount "$state/kubelet" || umount -l "$state/kubelet"; }
	ip link del "$bridge" 2>/dev/null
	for c in "${cgroup_ctrls[@]}"; do
		d=/sys/fs/cgroup/$c/kubepods
		[ -d "$d" ] && ! existed "$d" && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# The kubelet's log symlinks point into $state.
	for m in /var/log/containers/*; do
		[ -L "$m" ] && case $(readlink "$m") in "$state"/*) rm -f "$m" ;; esac
	done
	existed /var/log/containers || rmdir /var/log/containers 2>/dev/null
	existed /run/containerd || rm -rf /run/containerd
	existed /var/lib/cni || rm -rf /var/lib/cni
	if [ "${KEEP_STATE:-}" = 1 ] || [ "$rc" != 0 ]; then
		say "kept $state (logs/, results/); remove it with rm -rf $state"
	elif findmnt -rn -o TARGET | grep -qF "$state"; then
		say "left $state: something is still mounted under it"
	else
		rm -rf --one-file-system "$state"
	fi
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# --- 1. packages ----------------------------------------------------------
missing=()
for p in containerd runc containernetworking-plugins busybox-static; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]} (none of them starts a service here)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$state/logs/apt.log" 2>&1 ||
		{ apt-get update >>"$state/logs/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$state/logs/apt.log" 2>&1; } ||
		die "apt-get install ${missing[*]} failed: $state/logs/apt.log"
fi
etcd=$(command -v etcd || true)
if [ -z "$etcd" ]; then
	etcd=$cache/etcd-server/usr/bin/etcd
	if [ ! -x "$etcd" ]; then
		say "unpacking etcd from the etcd-server package into $cache/etcd-server"
		mkdir -p "$cache/debs"
		(cd "$cache/debs" && apt-get download etcd-server >"$state/logs/apt.log" 2>&1) ||
			die "apt-get download etcd-server failed: $state/logs/apt.log"
		debs=("$cache"/debs/etcd-server_*.deb)
		dpkg-deb -x "${debs[-1]}" "$cache/etcd-server"
	fi
fi

# --- 2. builds ------------------------------------------------------------
kbin=$cache/k8s-v$kver
kmod=$cache/gomod/k8s.io/kubernetes@v$kver
if [ ! -f "$kbin/.complete" ]; then
	say "building Kubernetes v$kver (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl) into $kbin; the first time takes an hour or more at nice 19"
	mkdir -p "$cache/src"
	(
		cd "$cache/src"
		# Caches of its own: several GB that no other build shares.
		export GOMODCACHE=$cache/gomod GOCACHE=$cache/gocache
		GOFLAGS=-mod=mod go mod download k8s.io/kubernetes@"v$kver"
		# k8s.io/kubernetes points its k8s.io/* dependencies at its own
		# staging/ tree, which its module lacks: a module that uses it
		# replaces each with the matching v0.x release.
		{
			printf 'module wshold.local/k8sbuild\n\ngo 1.24.0\n\ngodebug default=go1.24\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$kver"
			sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 v0.'"${kver#1.}"'#p' "$kmod/go.mod"
			printf ')\n'
		} >go.mod
		printf 'package k8sbuild\n' >doc.go
		ld="-s -w"
		for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			ld="$ld -X $p.gitVersion=v$kver -X $p.gitMajor=${kver%%.*} -X $p.gitMinor=$(echo "$kver" | cut -d. -f2) -X $p.gitTreeState=clean"
		done
		rm -rf "$kbin.tmp" && mkdir -p "$kbin.tmp"
		GOFLAGS="-mod=mod -p=2" nice -n 19 go build -ldflags "$ld" -o "$kbin.tmp/" \
			k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
			k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl
	) >"$state/logs/k8s-build.log" 2>&1 || die "building Kubernetes failed: $state/logs/k8s-build.log"
	touch "$kbin.tmp/.complete"
	rm -rf "$kbin" && mv "$kbin.tmp" "$kbin"
fi
say "Kubernetes binaries v$kver from $kbin"

rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo dev)
say "building wshold $rev (static, as the Dockerfile does) and the pause binary"
(cd "$repo" && CGO_ENABLED=0 GOOS=linux nice -n 19 go build -trimpath -ldflags="-s -w -X main.version=$rev" \
	-o "$state/bin/wshold" ./cmd/wshold) || die "building wshold failed"
wshold=$state/bin/wshold
nice -n 19 gcc -Os -Wall -Werror -static -DVERSION="v3.10-wshold-e2e" -o "$state/bin/pause" "$kmod/build/pause/linux/pause.c" ||
	die "building pause failed"

# oci_image NAME ROOTFS USER ENTRYPOINT_JSON OUT: a one-layer OCI image
# archive with NAME as its reference, for `ctr images import`.
oci_image() {
	local name=$1 rootfs=$2 user=$3 entry=$4 out=$5 d layer cfg digest size
	d=$(mktemp -d "$state/oci.XXXXXX")
	mkdir -p "$d/blobs/sha256"
	tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -C "$rootfs" -cf "$d/layer.tar" .
	layer=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
	mv "$d/layer.tar" "$d/blobs/sha256/$layer"
	jq -cn --arg u "$user" --argjson e "$entry" --arg l "sha256:$layer" \
		'{architecture: "amd64", os: "linux", config: {User: $u, Entrypoint: $e, Env: ["PATH=/usr/local/bin:/bin"]},
		  rootfs: {type: "layers", diff_ids: [$l]}}' >"$d/cfg"
	cfg=$(sha256sum "$d/cfg" | cut -d' ' -f1)
	jq -cn --arg c "sha256:$cfg" --argjson cs "$(stat -c %s "$d/cfg")" --arg l "sha256:$layer" --argjson ls "$(stat -c %s "$d/blobs/sha256/$layer")" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' >"$d/man"
	mv "$d/cfg" "$d/blobs/sha256/$cfg"
	digest=$(sha256sum "$d/man" | cut -d' ' -f1)
	size=$(stat -c %s "$d/man")
	mv "$d/man" "$d/blobs/sha256/$digest"
	jq -cn --arg n "$name" --arg d "sha256:$digest" --argjson s "$size" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
		  platform: {architecture: "amd64", os: "linux"},
		  annotations: {"io.containerd.image.name": $n, "org.opencontainers.image.ref.name": ($n | sub(".*:"; ""))}}]}' >"$d/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$out" oci-layout index.json blobs
	rm -rf "$d"
}
img_wshold=localhost/wshold-e2e/wshold:$rev
img_pause=localhost/wshold-e2e/pause:3.10
img_reader=localhost/wshold-e2e/busybox:debian
mkdir -p "$state/rootfs/wshold/usr/local/bin" "$state/rootfs/wshold/tmp" "$state/rootfs/pause" "$state/rootfs/busybox/bin"
cp "$wshold" "$state/rootfs/wshold/usr/local/bin/wshold"
chmod 1777 "$state/rootfs/wshold/tmp"
cp "$state/bin/pause" "$state/rootfs/pause/pause"
cp /bin/busybox "$state/rootfs/busybox/bin/busybox"
for a in sh cat ls sleep; do ln -s busybox "$state/rootfs/busybox/bin/$a"; done
oci_image "$img_wshold" "$state/rootfs/wshold" 65532:65532 '["/usr/local/bin/wshold"]' "$state/wshold.oci.tar"
oci_image "$img_pause" "$state/rootfs/pause" 65535:65535 '["/pause"]' "$state/pause.oci.tar"
oci_image "$img_reader" "$state/rootfs/busybox" 65532:65532 '["/bin/sh"]' "$state/busybox.oci.tar"

# --- 3. the control plane ---------------------------------------------------
say "certificates and configuration in $state"
pki=$state/pki
mkdir -p "$pki"
(
	cd "$pki"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=wshold-e2e-ca
	cert() { # NAME SUBJECT EXTENSIONS
		openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
		printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n%s\n' "$3" >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out "$1.crt" -extfile "$1.ext"
	}
	cert apiserver /CN=kube-apiserver "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes.default.svc"
	# One client identity for every component and the admin: a cluster
	# of one node on loopback, torn down after the run.
	cert admin "/O=system:masters/CN=wshold-e2e-admin" "extendedKeyUsage=clientAuth"
	openssl genrsa -out sa.key 2048
	openssl rsa -in sa.key -pubout -out sa.pub
	# launch.sh and collect.sh run as the user rbac.yaml binds, with
	# only what it grants.
	cert operator /CN=wshold-operator "extendedKeyUsage=clientAuth"
	for u in admin operator; do
		cat >"$u.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: "https://127.0.0.1:$p_api", certificate-authority: "$pki/ca.crt"}
users:
- name: $u
  user: {client-certificate: "$pki/$u.crt", client-key: "$pki/$u.key"}
contexts:
- name: e2e
  context: {cluster: e2e, user: $u, namespace: default}
current-context: e2e
EOF
	done
) >"$state/logs/pki.log" 2>&1 || die "openssl: $state/logs/pki.log"

say "starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler on 127.0.0.1:$p_etcd,$p_api,$p_kcm,$p_sched"
start etcd "$etcd" --name e2e --data-dir "$state/etcd" \
	--listen-client-urls "http://127.0.0.1:$p_etcd" --advertise-client-urls "http://127.0.0.1:$p_etcd" \
	--listen-peer-urls "http://127.0.0.1:$p_peer" --initial-advertise-peer-urls "http://127.0.0.1:$p_peer" \
	--initial-cluster "e2e=http://127.0.0.1:$p_peer"
start kube-apiserver "$kbin/kube-apiserver" \
	--etcd-servers "http://127.0.0.1:$p_etcd" --bind-address 127.0.0.1 --secure-port "$p_api" \
	--advertise-address 127.0.0.1 --endpoint-reconciler-type none --cert-dir "$state/apiserver" \
	--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
	--client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC \
	--service-account-issuer "https://127.0.0.1:$p_api" --service-account-key-file "$pki/sa.pub" \
	--service-account-signing-key-file "$pki/sa.key" --service-cluster-ip-range 10.96.0.0/24 \
	--kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
	--kubelet-preferred-address-types Hostname --profiling=false
until_ok 90 "the API server ready" k get --raw /readyz
start kube-controller-manager "$kbin/kube-controller-manager" \
	--kubeconfig "$pki/admin.kubeconfig" --bind-address 127.0.0.1 --secure-port "$p_kcm" \
	--leader-elect=false --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
	--use-service-account-credentials=false --profiling=false
start kube-scheduler "$kbin/kube-scheduler" \
	--kubeconfig "$pki/admin.kubeconfig" --bind-address 127.0.0.1 --secure-port "$p_sched" \
	--leader-elect=false --profiling=false

say "starting containerd and the kubelet (port $p_kubelet, node localhost)"
mkdir -p "$state/containerd" "$state/cni/net.d" "$state/kubelet" "$state/pod-logs"
cat >"$state/containerd/config.toml" <<EOF
version = 2
root = "$state/containerd/root"
state = "$state/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$state/containerd/containerd.sock"
[ttrpc]
  address = "$state/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$state/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$img_pause"
  stream_server_address = "127.0.0.1"
  stream_server_port = "$p_stream"
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  # Root here lacks CAP_SYS_RESOURCE, so runc cannot lower a sandbox's
  # oom_score_adj to -998 ("failed to update /proc/self/oom_score_adj:
  # Permission denied"): keep it no lower than containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "${RUNC:-runc}"
        Root = "$state/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
EOF
# A pod network of its own: a bridge with no address on the host and no
# route out. Only collect.sh's reader pod uses it (see job_for_e2e).
cat >"$state/cni/net.d/10-wshold-e2e.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "wshold-e2e", "plugins": [{"type": "bridge", "bridge": "$bridge",
  "isGateway": false, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.97.0/24"}]], "dataDir": "$state/cni/ipam"}}]}
EOF
start containerd containerd --config "$state/containerd/config.toml"
ctr() { command ctr --address "$state/containerd/containerd.sock" --namespace k8s.io "$@"; }
until_ok 30 "containerd answering" ctr version
for t in wshold pause busybox; do
	ctr images import "$state/$t.oci.tar" >>"$state/logs/ctr-import.log" 2>&1 || die "ctr images import $t: $state/logs/ctr-import.log"
done
ctr images ls -q | grep -q "^$img_wshold\$" || die "the wshold image is not in containerd after import: $(ctr images ls -q)"

cat >"$state/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $p_kubelet
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $p_kubelet_health
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: "unix://$state/containerd/containerd.sock"
cgroupDriver: cgroupfs
# This machine's cgroups are v1 (hybrid).
failCgroupV1: false
failSwapOn: false
# Never change the machine's kernel settings; see run_kubelet.
protectKernelDefaults: true
makeIPTablesUtilChains: false
podLogsDir: "$state/pod-logs"
volumePluginDir: "$state/kubelet/volume-plugins"
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
# The kubelet wants kernel.panic=10, kernel.panic_on_oops=1 and
# vm.overcommit_memory=1 and sets them for the whole machine unless told to
# protect the kernel's defaults, when it refuses to start if they differ.
# This machine is shared: the kubelet runs in a mount namespace of its own
# where those files read as it wants, and changes nothing. Its root
# directory is a shared mount, so the volumes it mounts there reach
# containerd.
mkdir -p "$state/sysctl"
sysctl_binds=""
for kv in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
	kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
	f=${kv%=*} v=${kv#*=}
	if [ "$(cat "/proc/sys/$f")" != "$v" ]; then
		echo "$v" >"$state/sysctl/${f//\//.}"
		sysctl_binds="$sysctl_binds mount --bind -o ro $state/sysctl/${f//\//.} /proc/sys/$f &&"
	fi
done
mount --bind "$state/kubelet" "$state/kubelet"
mount --make-shared "$state/kubelet"
start kubelet unshare --mount --propagation unchanged -- /bin/sh -c "$sysctl_binds exec \"\$0\" \"\$@\"" \
	"$kbin/kubelet" --config "$state/kubelet/config.yaml" --kubeconfig "$pki/admin.kubeconfig" \
	--root-dir "$state/kubelet" --cert-dir "$state/kubelet/pki" --hostname-override localhost
until_ok 120 "node localhost Ready" k wait --for=condition=Ready node/localhost --timeout=2s
until_ok 60 "the default ServiceAccount" k get serviceaccount default
say "control plane up: $(k get node localhost -o jsonpath='{.status.nodeInfo.kubeletVersion} on {.status.nodeInfo.containerRuntimeVersion}')"

# --- 4. the test ------------------------------------------------------------
# launch.sh and collect.sh find this kubectl and run as wshold-operator.
export KUBECONFIG=$pki/operator.kubeconfig PATH=$kbin:$PATH
mkdir -p "$state/results"
chown 65532:65532 "$state/results"
# No volume provisioner here: a hostPath volume the PVC of job.yaml binds to
# (it asks for no class, and there is no default class).
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: wshold-e2e-results}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: "$state/results", type: Directory}
EOF

k apply -f "$here/rbac.yaml" >/dev/null || die "the API server rejects scripts/k8s/rbac.yaml"
say "job.yaml as written, checked by the API server as wshold-operator (server-side dry run)"
kubectl apply --dry-run=server -f "$here/job.yaml" >&2 || die "the API server rejects scripts/k8s/job.yaml"

# job_for_e2e writes job.yaml with what a user edits (image, TARGET, -c,
# -r, --hold) set for this run, and two changes this cluster needs: the
# pods use the host network, since the target listens on the host's
# loopback only (this machine's tests may send traffic to no other
# address); that forbids the network sysctl, which the probe pod below
# checks instead. And a CPU request the 2-core node can give SHARDS pods.
job_for_e2e() {
	sed -e "s#^\(          image:\) .*#\1 $img_wshold#" \
		-e "s#{name: TARGET, value: \"[^\"]*\"}#{name: TARGET, value: \"$target\"}#" \
		-e "s#^\(            - --conns=\)[0-9]*\$#\1$conns#" \
		-e "s#^\(            - --rate=\)[0-9]*\$#\1$rate#" \
		-e "s#^\(            - --hold=\)[0-9a-z]*\$#\1$hold#" \
		-e "s#^\(              cpu:\) \"1\"\$#\1 100m#" \
		-e "s#^\(      restartPolicy: Never\)\$#\1\n      hostNetwork: true#" \
		-e '/^        sysctls:$/,/^            value: "1024 65535"$/d' \
		"$here/job.yaml"
}
job_for_e2e >"$state/job.yaml"
for want in "image: $img_wshold" "value: \"$target\"" "--conns=$conns" "--rate=$rate" "--hold=$hold" "cpu: 100m" "hostNetwork: true"; do
	grep -qF -- "$want" "$state/job.yaml" || die "job.yaml changed shape: could not set '$want' in it (see job_for_e2e)"
done
! grep -q sysctls "$state/job.yaml" || die "job.yaml changed shape: could not drop its sysctls (see job_for_e2e)"

start wshold-serve "$wshold" serve --listen "127.0.0.1:$p_serve"
until_ok 10 "wshold serve on 127.0.0.1:$p_serve" "$wshold" check "$target"

hold_s=${hold%s}
case $hold_s in *m) hold_s=$((${hold_s%m} * 60)) ;; esac
case $hold_s in '' | *[!0-9]*) say "HOLD=$hold: write whole seconds or minutes, e.g. 10s or 2m"; exit 2 ;; esac
budget=$((start_in + conns / rate + hold_s + 120))

say "launch.sh: $shards shards, $conns connections at $rate/s held ${hold_s}s, start in ${start_in}s"
SHARDS=$shards START_IN=$start_in JOB=$state/job.yaml "$here/launch.sh"
# pod_nofile prints the open-files limit a running shard got from the
# runtime (what bounds its connections; see README, Sizing).
pod_nofile() {
	local pid
	for pid in $(ctr tasks ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING" {print $2}'); do
		if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- ' --shard='; then
			awk '/^Max open files/ {print $4 " soft, " $5 " hard"}' "/proc/$pid/limits"
			return
		fi
	done
}
job_state="" nofile=""
for ((i = 0; i < budget; i++)); do
	[ -n "$nofile" ] || nofile=$(pod_nofile)
	job_state=$(k get job wshold -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
	case " $job_state " in *" Complete "* | *" Failed "*) break ;; esac
	sleep 1
done
k get pods -l job-name=wshold -o wide >&2
case " $job_state " in
*" Complete "*) say "Job complete" ;;
*) k describe job wshold >"$state/logs/job.txt" 2>&1
   for p in $(k get pods -l job-name=wshold -o name); do k logs "$p" >"$state/logs/${p#pod/}.log" 2>&1 || true; done
   die "the Job did not complete in ${budget}s (conditions: '${job_state:-none}'); see $state/logs/job.txt and the pods' logs there" ;;
esac
k get pods -l job-name=wshold -o json >"$state/pods.json"
start_at=$(k get job wshold -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="START_AT")].value}')
job_uid=$(k get job wshold -o jsonpath='{.metadata.uid}')
for p in $(k get pods -l job-name=wshold -o name); do k logs "$p" >"$state/logs/${p#pod/}.log" 2>&1 || true; done

say "probe: a pod in the pod network with job.yaml's securityContext and its sysctl"
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: wshold-sysctl-probe}
spec:
  restartPolicy: Never
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile: {type: RuntimeDefault}
    sysctls: [{name: net.ipv4.ip_local_port_range, value: "1024 65535"}]
  containers:
    - name: wshold
      image: $img_wshold
      # No URL: the built-in target in the same process, on the pod's own
      # loopback.
      args: [run, -c, "100", -r, "1000", --hold, 1s, --progress, never]
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL]}
EOF
pod_ended() { case $(k get pod "$1" -o jsonpath='{.status.phase}') in Succeeded | Failed) return 0 ;; esac; return 1; }
until_ok 90 "the probe pod finished" pod_ended wshold-sysctl-probe
probe_phase=$(k get pod wshold-sysctl-probe -o jsonpath='{.status.phase}')
k logs wshold-sysctl-probe >"$state/logs/probe.log" 2>&1
[ "$probe_phase" = Succeeded ] || die "the sysctl probe pod ended $probe_phase: $state/logs/probe.log, k describe pod wshold-sysctl-probe"
k delete pod wshold-sysctl-probe --wait=false >/dev/null

say "collect.sh"
collect_rc=0
SHARDS=$shards WSHOLD=$wshold READER_IMAGE=$img_reader "$here/collect.sh" "$state/collected" >"$state/collect.out" 2>&1 || collect_rc=$?
cat "$state/collect.out" >&2
[ -s "$state/collected/all.json" ] || die "collect.sh wrote no merged result (exit $collect_rc)"

say "the same test as one process"
single_rc=0
"$wshold" run -c "$conns" -r "$rate" --hold "$hold" --progress never -o "$state/single.json" "$target" >"$state/single.out" 2>&1 || single_rc=$?
[ -s "$state/single.json" ] || die "the single run wrote no result (exit $single_rc): $state/single.out"

# --- 5. compare -------------------------------------------------------------
merged=$state/collected/all.json single=$state/single.json
checks=0 failed=0
check() { # WHAT CONDITION-COMMAND...
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then say "  ok   $what"; else say "  FAIL $what"; failed=$((failed + 1)); fi
}
same() { [ "$(jq -cS "$1" "$merged")" = "$(jq -cS "$1" "$single")" ]; }
ms() { date -d "$1" +%s%3N; }
spread_ms() { # prints max-min of RFC 3339 times on stdin, in ms
	local t lo="" hi=""
	while read -r t; do
		t=$(ms "$t")
		{ [ -z "$lo" ] || [ "$t" -lt "$lo" ]; } && lo=$t
		{ [ -z "$hi" ] || [ "$t" -gt "$hi" ]; } && hi=$t
	done
	echo $((hi - lo))
}
pods_done=$(jq '[.items[] | select(.status.phase == "Succeeded")] | length' "$state/pods.json")
pod_skew=$(jq -r '.items[].status.containerStatuses[0].state.terminated.startedAt' "$state/pods.json" | spread_ms)
ramp_skew=$(for f in "$state"/collected/shard-*.json; do jq -r .start "$f"; done | spread_ms)
shard_names=$(for f in "$state"/collected/shard-*.json; do jq -r .shard "$f"; done | sort | tr '\n' ' ')
# How late each shard's ramp began after START_AT.
offsets=$(for f in "$state"/collected/shard-*.json; do
	printf '%s +%d ms, ' "$(jq -r .shard "$f")" $(($(ms "$(jq -r .start "$f")") - $(ms "$start_at")))
done)
say "checks:"
check "$shards pods succeeded (got $pods_done)" [ "$pods_done" = "$shards" ]
check "merged result combines $shards shards (got $(jq .shards "$merged"): $shard_names)" [ "$(jq .shards "$merged")" = "$shards" ]
check "the shards share the Job's run id (got $(jq -r .run_id "$merged"))" [ "$(jq -r .run_id "$merged")" = "job-$job_uid" ]
check "ramps started within 1 s of each other (spread ${ramp_skew} ms)" [ "$ramp_skew" -lt 1000 ]
check "counts equal: merged $(jq -c .counts "$merged") single $(jq -c .counts "$single")" same .counts
check "handshake histogram counts equal: merged $(jq .handshake.count "$merged") single $(jq .handshake.count "$single")" same .handshake.count
check "the same expectations pass: merged $(jq -c '[.expectations[] | "\(.want)=\(.pass)"]' "$merged") single $(jq -c '[.expectations[] | "\(.want)=\(.pass)"]' "$single")" \
	same '[.expectations[] | {want, pass}] | sort'
check "verdicts equal: merged $(jq -r .verdict "$merged") single $(jq -r .verdict "$single")" same .verdict

kv=$(k get node localhost -o jsonpath='{.status.nodeInfo.kubeletVersion} on {.status.nodeInfo.containerRuntimeVersion}')
cat <<EOF

wshold Kubernetes e2e ($rev): Kubernetes $kv, one node on loopback
  test:      $conns connections at $rate/s, held $hold, against wshold serve on 127.0.0.1:$p_serve
  Job:       $shards shards (Indexed Job via launch.sh, START_IN=${start_in}s), $pods_done succeeded;
             open files in a shard's container: ${nofile:-not seen}
  start:     pods' containers started within $((pod_skew / 1000)) s of each other (1 s resolution);
             ramps within $ramp_skew ms of each other; after START_AT $start_at: ${offsets%, }
  merged:    $(jq -r '"\(.counts.attempted) attempted, \(.counts.upgraded) upgraded, \(.counts.failed) failed, \(.counts.held) held, \(.counts.dropped) dropped; handshake p50 \(.handshake.p50_ms) ms, p99 \(.handshake.p99_ms) ms; \(.verdict)"' "$merged")
  single:    $(jq -r '"\(.counts.attempted) attempted, \(.counts.upgraded) upgraded, \(.counts.failed) failed, \(.counts.held) held, \(.counts.dropped) dropped; handshake p50 \(.handshake.p50_ms) ms, p99 \(.handshake.p99_ms) ms; \(.verdict)"' "$single")
  checks:    $((checks - failed)) of $checks held
EOF
[ "$failed" = 0 ] || die "$failed of $checks checks failed"
say "PASS"
