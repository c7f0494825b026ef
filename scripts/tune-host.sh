#!/usr/bin/env bash
# tune-host.sh - show the host limits that cap how many WebSockets wshold can
# hold through a proxy on this machine, and what to change for N of them.
#
#   scripts/tune-host.sh [-c N]            print (N defaults to 10000)
#   scripts/tune-host.sh [-c N] --apply    also change the kernel settings (root)
#
# It assumes the load client, the proxy and the backend all run here, as in
# the lab (scripts/lab.sh): N client sockets, 2N in the proxy, N in the
# backend, and 2N TCP connections over loopback. --apply only raises values
# (never lowers one) and does not persist across a reboot; the open-files
# limit of processes cannot be changed from here, so it prints how.
set -euo pipefail

N=10000
APPLY=0
while (($#)); do
	case $1 in
	-c | --conns) N=${2:?-c needs a number} && shift 2 ;;
	--apply) APPLY=1 && shift ;;
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*)
		echo "tune-host.sh: unknown argument '$1'; see --help" >&2
		exit 2
		;;
	esac
done
[[ $N =~ ^[1-9][0-9]*$ ]] || {
	echo "tune-host.sh: -c '$N': want a connection count" >&2
	exit 2
}

SYS=/proc/sys
get() { cat "$SYS/$1" 2>/dev/null || echo "n/a"; }
ceil_div() { echo $((($1 + $2 - 1) / $2)); }
max() { if (($1 > $2)); then echo "$1"; else echo "$2"; fi; }

soft=$(ulimit -Sn)
hard=$(ulimit -Hn)
[[ $hard == unlimited ]] && hard=$(get fs/nr_open)
read -r port_lo port_hi <"$SYS/net/ipv4/ip_local_port_range"
ports=$((port_hi - port_lo + 1))
reserved=$(get net/ipv4/ip_local_reserved_ports)
conntrack=$(get net/netfilter/nf_conntrack_max)

# What N needs. A process holds at most (hard limit - 100) sockets; the 100
# leave room for logs, the epoll fd and the like.
per_proc=$((hard > 100 ? hard - 100 : 1))
client_procs=$(ceil_div "$N" "$per_proc")
nginx_workers=$(ceil_div $((2 * N)) "$per_proc")
# Source addresses: at most 45% of the port range each (past half, connect()
# slows down sharply: the kernel tries the even ports first) and, when more
# than one is needed, a multiple of the client processes, because wshold
# --procs deals them out round-robin: 2 addresses over 3 processes put two
# shares on one address.
source_ips=$(ceil_div "$N" $((ports * 45 / 100)))
if ((source_ips > 1)); then
	source_ips=$(($(ceil_div "$source_ips" "$client_procs") * client_procs))
fi
want_file_max=$((4 * N + 10000))
want_conntrack=$((2 * N + N / 2))
want_backlog=4096

printf 'Limits that matter for %d WebSockets held through a proxy on this host\n\n' "$N"
# row NAME NOW WANT [NOTE]: WANT is a number ("-" when there is none to
# compare); the mark says whether NOW is enough.
row() {
	local mark=ok
	if [[ $3 != - && $2 =~ ^[0-9]+$ ]] && (($2 < $3)); then mark=RAISE; fi
	[[ $3 == - ]] && mark=""
	printf '  %-5s %-42s %-14s %-9s %s\n' "$mark" "$1" "$2" "$3" "${4:-}"
}
printf '  %-5s %-42s %-14s %-9s %s\n' "" SETTING NOW WANT NOTE
row "open files per process, soft (ulimit -Sn)" "$soft" "$((N + 100 < hard ? N + 100 : hard))" "raise up to the hard limit: ulimit -n $hard"
row "open files per process, hard (ulimit -Hn)" "$hard" "$((N + 100))" "for one client process; or wshold --procs $client_procs"
row "fs.nr_open (ceiling for hard limits)" "$(get fs/nr_open)" "$((N + 100))"
row "fs.file-max (whole system)" "$(get fs/file-max)" "$want_file_max" "client N + proxy 2N + backend N"
row "net.ipv4.ip_local_port_range" "$port_lo-$port_hi" - "$ports ports per source IP and destination"
row "net.ipv4.ip_local_reserved_ports" "${reserved:-none}" - "listen ports inside the range (lab: 18000-18399)"
row "net.core.somaxconn (accept backlog)" "$(get net/core/somaxconn)" "$want_backlog" "bursts while connections ramp up"
row "net.ipv4.tcp_max_syn_backlog" "$(get net/ipv4/tcp_max_syn_backlog)" "$want_backlog"
row "net.ipv4.tcp_tw_reuse" "$(get net/ipv4/tcp_tw_reuse)" 1 "1, or 2 = loopback only (enough for the lab)"
if [[ $conntrack != n/a ]]; then
	row "net.netfilter.nf_conntrack_max" "$conntrack" "$want_conntrack" "2 tracked connections per WebSocket"
fi

echo
echo "For $N connections:"
if ((N + 100 > hard)); then
	echo "  - The hard open-files limit ($hard) is below $((N + 100)): run wshold with --procs $client_procs (it shards"
	echo "    itself), or raise the hard limit where the process starts: 'ulimit -Hn $((N + 100))' as root,"
	echo "    LimitNOFILE= in a systemd unit, 'docker run --ulimit nofile=$((N + 100))', or /etc/security/limits.d/."
elif ((soft < N + 100)); then
	echo "  - Raise the soft open-files limit in the shell that runs wshold: ulimit -n $hard"
fi
if ((nginx_workers > 1)); then
	echo "  - nginx needs 2 sockets per WebSocket: at least $nginx_workers workers (worker_processes), listen ... reuseport,"
	echo "    worker_connections >= $(ceil_div $((2 * N)) "$nginx_workers") + a few, worker_rlimit_nofile $hard."
fi
if ((source_ips > 1)); then
	echo "  - $N connections need $source_ips source addresses toward one proxy address: give wshold run"
	echo "    --source-ip 127.0.0.1-127.0.0.$source_ips (on loopback). The proxy's $N connections to"
	echo "    its backend need the same (several backend addresses, or nginx proxy_bind), or a wider"
	echo "    ip_local_port_range (then reserve the listen ports inside it)."
fi
if ((port_lo <= 18399 && port_hi >= 18000)); then
	echo "  - The lab's ports 18000-18399 lie inside ip_local_port_range: reserve them"
	echo "    (net.ipv4.ip_local_reserved_ports=18000-18399), or outgoing connections may take them."
fi

((APPLY)) || {
	echo
	echo "Nothing changed. Run with --apply as root to raise the kernel settings above."
	exit 0
}

[[ $(id -u) == 0 ]] || {
	echo "tune-host.sh: --apply needs root" >&2
	exit 1
}

# raise KEY VALUE: write VALUE to /proc/sys/KEY if it is higher than now.
raise() {
	local key=$1 want=$2 now
	now=$(get "$key")
	[[ $now == n/a ]] && return 0
	if ((want > now)); then
		if echo "$want" >"$SYS/$key" 2>/dev/null; then
			echo "  set ${key//\//.} = $want (was $now)"
		else
			echo "  could not set ${key//\//.} (read-only here, e.g. in a container)" >&2
		fi
	fi
}

echo
echo "Applying (until reboot):"
raise fs/nr_open $((2 * N + 100))
raise fs/file-max "$want_file_max"
raise net/core/somaxconn "$want_backlog"
raise net/ipv4/tcp_max_syn_backlog "$want_backlog"
raise net/ipv4/tcp_tw_reuse 1
[[ $conntrack == n/a ]] || raise net/netfilter/nf_conntrack_max "$want_conntrack"
if ((port_lo <= 18399 && port_hi >= 18000)) && [[ $reserved != *18000-18399* ]]; then
	if echo "${reserved:+$reserved,}18000-18399" >"$SYS/net/ipv4/ip_local_reserved_ports" 2>/dev/null; then
		echo "  reserved the lab's ports 18000-18399 (net.ipv4.ip_local_reserved_ports)"
	else
		echo "  could not reserve ports 18000-18399 (read-only here)" >&2
	fi
fi
echo "Open-files limits and source addresses are not changed by --apply; see above."
