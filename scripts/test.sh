#!/usr/bin/env bash
# test.sh - the project's test command: formatting, go vet, staticcheck, a
# lint of the shell scripts (shellcheck), the whole test suite with the race
# detector, then every fuzz target briefly.
# Every step runs even when an earlier one failed, so that one run shows all
# the problems; the exit status is non-zero if any step failed.
#
#   scripts/test.sh                 everything
#   FUZZTIME=1m scripts/test.sh     fuzz each target longer (default 15s; 0 skips fuzzing)
#
# The integration tests start real nginx, HAProxy, Caddy and Apache
# (internal/labtest); they fail, not skip, when one is missing: .ci/run
# installs them, and so does `apt-get install -y nginx-light haproxy caddy apache2`.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH
command -v go >/dev/null || {
	echo "test.sh: go not found; install Go 1.26 into /usr/local/go (or put it on PATH)" >&2
	exit 2
}
PATH=$(go env GOPATH)/bin:$PATH

FUZZTIME=${FUZZTIME:-15s}
# Pinned, so that a new staticcheck release cannot fail an unchanged tree.
STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2

LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wshold-test.XXXXXX")
trap 'rm -rf "$LOG_DIR"' EXIT

RESULTS=()
FAILED=0

# step NAME CMD...: run CMD, show its output, record the outcome and time.
step() {
	local name=$1 start rc
	shift
	echo
	echo "==> $name"
	start=$SECONDS
	"$@"
	rc=$?
	if ((rc == 0)); then
		RESULTS+=("ok    $name ($((SECONDS - start))s)")
	else
		RESULTS+=("FAIL  $name ($((SECONDS - start))s, exit $rc)")
		FAILED=$((FAILED + 1))
	fi
	return 0
}

go_files() {
	find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -not -path './vendor/*' -print0
}

check_gofmt() {
	local out
	out=$(go_files | xargs -0 -r gofmt -l)
	if [[ -n $out ]]; then
		echo "not gofmt-ed (run gofmt -w on them):"
		echo "$out"
		return 1
	fi
	echo "all files gofmt-ed"
}

run_staticcheck() {
	if ! command -v staticcheck >/dev/null; then
		echo "installing staticcheck $STATICCHECK_VERSION"
		go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" || {
			echo "could not install staticcheck; check that the Go module proxy is reachable"
			return 1
		}
	fi
	staticcheck ./...
}

# The scripts are part of the product (lab.sh, tune-host.sh, the k8s helpers);
# a linter finds their quoting and word-splitting bugs.
run_shellcheck() {
	if ! command -v shellcheck >/dev/null; then
		echo "shellcheck not found; install it: apt-get install -y shellcheck (.ci/run does)"
		return 1
	fi
	local files=()
	mapfile -t files < <(find scripts .ci -type f \( -name '*.sh' -o -path .ci/run \) | sort)
	shellcheck --severity=warning "${files[@]}" && echo "${#files[@]} scripts clean"
}

run_tests() {
	go test -race -count=1 -timeout 25m ./... 2>&1 | tee "$LOG_DIR/test.log"
	local rc=${PIPESTATUS[0]}
	if ((rc != 0)); then
		echo
		echo "failed tests and packages:"
		grep -E '^(--- FAIL|FAIL|panic:)' "$LOG_DIR/test.log" | sed 's/^/  /'
	fi
	return "$rc"
}

# fuzz_targets prints "DIR NAME" for every func FuzzXxx(f *testing.F) in a
# test file, found by grep so that new targets are picked up by themselves.
fuzz_targets() {
	grep -rEo --include='*_test.go' --exclude-dir=.git --exclude-dir=testdata \
		'^func Fuzz[A-Za-z0-9_]*\(' . 2>/dev/null |
		sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#\1 \2#' | sort -u
}

main() {
	step "gofmt" check_gofmt
	step "go vet" go vet ./...
	step "staticcheck" run_staticcheck
	step "shellcheck" run_shellcheck
	step "go test -race" run_tests

	if [[ $FUZZTIME == 0 ]]; then
		echo
		echo "==> fuzzing skipped (FUZZTIME=0)"
	else
		local dir name found=0
		while read -r dir name; do
			[[ -n $name ]] || continue
			found=1
			step "fuzz $name ($dir, $FUZZTIME)" go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$dir"
		done < <(fuzz_targets)
		((found)) || {
			echo
			echo "==> no fuzz targets found"
		}
	fi

	echo
	echo "==> summary"
	printf '  %s\n' "${RESULTS[@]}"
	if ((FAILED > 0)); then
		echo "test.sh: FAILED: $FAILED of ${#RESULTS[@]} steps failed"
		exit 1
	fi
	echo "test.sh: all ${#RESULTS[@]} steps succeeded"
}

main
