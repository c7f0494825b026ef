#!/usr/bin/env bash
# deps.sh - the one pinned list of what the tests need, and its installer.
#
#   scripts/deps.sh           install whatever is missing: as root, everything;
#                             as another user, the Go tools, and print the one
#                             command that installs the rest (exit 1)
#   scripts/deps.sh --check   only say what is missing (exit 1 if anything is)
#   scripts/deps.sh --list    print the list: "apt NAME", "npm NAME@VERSION",
#                             "go MODULE@VERSION", one a line
#
# scripts/test.sh (the project's test command) runs it first, and .ci/run is
# scripts/test.sh, so a fresh Debian or Ubuntu machine needs only Go and this
# checkout. Nothing is started: the proxies are run by the tests on loopback,
# never as system services, so the packages are kept from starting theirs on
# port 80 while they install (policy-rc.d).
set -euo pipefail

# Debian packages.
APT=(
	# The real proxies of the integration tests and the lab (internal/labtest,
	# scripts/lab.sh).
	nginx-light haproxy caddy apache2 lighttpd varnish
	# Proxies wshold has no defaults for, to check its verdicts on them.
	nghttp2-proxy h2o
	# The HTML report is loaded and screenshotted in a real browser, with the
	# font its plots are measured in (Liberation Sans, Arial's metrics).
	chromium fonts-liberation2
	# test.sh lints the shell scripts.
	shellcheck
	# cgo, which the race detector needs.
	gcc libc6-dev
	# TLS to the package registries, and wss tests' system trust store.
	ca-certificates
	# Python's websockets, a server and client nobody here wrote.
	python3-websockets
	# OpenSSL's s_server, a TLS peer nobody here wrote, for the tests of
	# wshold's own record protection (internal/tlsrecord).
	openssl
)

# npm packages, pinned so that a release cannot change a test: Node's ws as a
# backend and wscat as a client (the interop tests), under one prefix, never
# in the checkout. The tests read WSHOLD_NODE_PREFIX too.
NODE_PREFIX=${WSHOLD_NODE_PREFIX:-/opt/wshold-node}
NPM=(ws@8.23.0 wscat@6.1.0)

# Go tools, installed with `go install` into GOPATH/bin (no root needed).
# staticcheck v0.8.2 is staticcheck 2026.2.2.
GO_TOOLS=(honnef.co/go/tools/cmd/staticcheck@v0.8.2)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH:/usr/sbin:/sbin
if command -v go >/dev/null; then
	PATH=$(go env GOPATH)/bin:$PATH
fi

say() { echo "deps.sh: $*" >&2; }

# words prints its arguments, empty ones left out, separated by one space.
words() {
	local out=() w
	for w in "$@"; do [[ -n $w ]] && out+=("$w"); done
	echo "${out[*]}"
}

apt_missing() {
	local p
	for p in "${APT[@]}"; do
		# "ii" is installed; "rc" (removed, config kept) and absent are not.
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] || echo "$p"
	done
}

# npm_missing lists the pinned npm packages not installed at their version,
# and "nodejs" when there is no node and npm to install them with.
npm_missing() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		echo nodejs
		printf '%s\n' "${NPM[@]}"
		return
	fi
	local spec name want got
	for spec in "${NPM[@]}"; do
		name=${spec%@*} want=${spec##*@}
		got=$(node -p 'require(process.argv[1]).version' "$NODE_PREFIX/node_modules/$name/package.json" 2>/dev/null || true)
		[[ $got == "$want" ]] || echo "$spec"
	done
}

# go_tool_missing lists the Go tools not on PATH at their version (a tool's
# -version output names its module version, as "(0.8.2)").
go_tools_missing() {
	local spec bin want
	for spec in "${GO_TOOLS[@]}"; do
		bin=${spec%@*} bin=${bin##*/} want=${spec##*@v}
		[[ $("$bin" -version 2>/dev/null) == *"($want)"* ]] || echo "$spec"
	done
}

install_go_tools() {
	local spec
	command -v go >/dev/null || {
		say "go not found: install Go 1.26 into /usr/local/go first"
		return 1
	}
	for spec in "$@"; do
		say "go install $spec"
		go install "$spec" || {
			say "could not install $spec; check that the Go module proxy is reachable"
			return 1
		}
	done
}

# apt_get waits for a dpkg lock held by another apt run rather than fail.
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@" </dev/null; }

install_apt() {
	export DEBIAN_FRONTEND=noninteractive
	# The usual policy-rc.d keeps the packages from starting their service;
	# one the machine already has is left alone.
	local made_policy=
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		made_policy=1
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	say "apt-get install $*"
	local rc=0
	apt_get update && apt_get install -y --no-install-recommends "$@" || rc=$?
	if [[ -n $made_policy ]]; then
		rm -f /usr/sbin/policy-rc.d
		trap - EXIT
	fi
	return "$rc"
}

install_npm() {
	say "npm install --prefix $NODE_PREFIX $*"
	npm install --no-audit --no-fund --save-exact --prefix "$NODE_PREFIX" "$@" </dev/null
}

main() {
	local mode=${1:-install}
	case $mode in
	--list)
		printf 'apt %s\n' "${APT[@]}"
		printf 'npm %s\n' "${NPM[@]}"
		printf 'go %s\n' "${GO_TOOLS[@]}"
		return 0
		;;
	--check | install) ;;
	-h | --help)
		sed -n '2,/^set /p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
		return 0
		;;
	*)
		say "unknown argument $mode (want --check, --list or none)"
		return 2
		;;
	esac

	local apt npm gotools
	mapfile -t apt < <(apt_missing)
	mapfile -t npm < <(npm_missing)
	mapfile -t gotools < <(go_tools_missing)
	if ((${#apt[@]} + ${#npm[@]} + ${#gotools[@]} == 0)); then
		say "everything the tests need is installed (${#APT[@]} Debian packages, ${#NPM[@]} npm packages in $NODE_PREFIX, ${#GO_TOOLS[@]} Go tool)"
		return 0
	fi
	if [[ $mode == --check ]]; then
		say "missing: $(words "${apt[@]}" "${npm[@]}" "${gotools[@]}")"
		return 1
	fi

	# Go tools go into the user's own GOPATH: no root needed.
	if ((${#gotools[@]})); then
		install_go_tools "${gotools[@]}" || return 1
	fi
	local system=("${apt[@]}")
	# Node and npm come from Debian only when npm is missing: installing
	# Debian's nodejs over a vendor build of Node would conflict.
	if [[ " ${npm[*]} " == *" nodejs "* ]]; then
		system+=(nodejs npm)
		mapfile -t npm < <(printf '%s\n' "${npm[@]}" | grep -vx nodejs)
	fi
	if ((${#system[@]} + ${#npm[@]} == 0)); then
		return 0
	fi
	if ((EUID != 0)); then
		say "missing: $(words "${system[@]}" "${npm[@]}")"
		say "install them with this one command (as root; it installs only what is missing and starts no service):"
		# sudo drops the environment: a prefix of one's own goes along.
		echo "  sudo ${WSHOLD_NODE_PREFIX:+WSHOLD_NODE_PREFIX=$WSHOLD_NODE_PREFIX }$ROOT/scripts/deps.sh" >&2
		return 1
	fi
	if ((${#system[@]})); then
		install_apt "${system[@]}" || {
			say "apt-get failed (see above); the package lists or the network may be the problem"
			return 1
		}
	fi
	# Node may have just come with the Debian packages: ask again.
	mapfile -t npm < <(npm_missing)
	if ((${#npm[@]})); then
		install_npm "${npm[@]}" || {
			say "npm install failed (see above)"
			return 1
		}
	fi
	# Check again: an install that "succeeded" without providing the package
	# would otherwise surface as a failing test much later.
	mapfile -t apt < <(apt_missing)
	mapfile -t npm < <(npm_missing)
	if ((${#apt[@]} + ${#npm[@]})); then
		say "still missing after installing: $(words "${apt[@]}" "${npm[@]}")"
		return 1
	fi
	say "installed what was missing; everything the tests need is here"
}

main "$@"
