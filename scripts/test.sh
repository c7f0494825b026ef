#!/usr/bin/env bash
# test.sh - the project's test command: first what the tests need
# (scripts/deps.sh: installs what is missing when run as root), then
# formatting, go vet, staticcheck, a lint of the shell scripts (shellcheck),
# the whole test suite with the race detector, then every fuzz target briefly.
# Every step runs even when an earlier one failed, so that one run shows all
# the problems; the exit status is non-zero if any step failed.
#
#   scripts/test.sh                 everything
#   FUZZTIME=1m scripts/test.sh     fuzz each target longer (default 15s; 0 skips fuzzing)
#
# The integration tests start real nginx, HAProxy, Caddy, Apache, lighttpd
# and Varnish (internal/labtest) and fail, never skip, when one is missing.
# Run as another user with something missing, test.sh prints the one command
# that installs it and stops after the quick steps, before shellcheck, the
# test suite and fuzzing.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH
command -v go >/dev/null || {
	echo "test.sh: go not found; install Go 1.26 into /usr/local/go (or put it on PATH)" >&2
	exit 2
}
PATH=$(go env GOPATH)/bin:$PATH
go version

FUZZTIME=${FUZZTIME:-15s}

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

# run_fuzz fuzzes one target for $FUZZTIME. Go 1.26's fuzz coordinator
# may fail a target with a bare "context deadline exceeded" when the
# -fuzztime deadline races a starved worker (golang/go#75804, fixed in Go
# 1.27): no input failed, none was written. That one signature, and only
# it, is run once more; a real find prints "Failing input written to" and
# fails at once.
run_fuzz() {
	local dir=$1 name=$2 out rc try
	for try in 1 2; do
		out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$dir" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		((rc == 0)) && return 0
		if ((try == 1)) && grep -qx '    context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written to' <<<"$out"; then
			echo "test.sh: $name stopped on Go's fuzz-deadline race (golang/go#75804), no input failed; once more"
			continue
		fi
		return "$rc"
	done
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

# staticcheck is installed, at its pinned version, by scripts/deps.sh.
run_staticcheck() {
	staticcheck ./...
}

# The scripts are part of the product (lab.sh, tune-host.sh, the k8s helpers);
# a linter finds their quoting and word-splitting bugs.
run_shellcheck() {
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

summary() {
	echo
	echo "==> summary"
	printf '  %s\n' "${RESULTS[@]}"
}

main() {
	step "dependencies (scripts/deps.sh)" scripts/deps.sh
	local deps_ok=$((FAILED == 0))
	step "gofmt" check_gofmt
	step "go vet" go vet ./...
	step "staticcheck" run_staticcheck
	if ((!deps_ok)); then
		summary
		echo "test.sh: stopped before shellcheck, the test suite and fuzzing: they need what scripts/deps.sh"
		echo "lists as missing above; install it with the command it printed, then run test.sh again"
		exit 1
	fi
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
			step "fuzz $name ($dir, $FUZZTIME)" run_fuzz "$dir" "$name"
		done < <(fuzz_targets)
		((found)) || {
			echo
			echo "==> no fuzz targets found"
		}
	fi

	summary
	if ((FAILED > 0)); then
		echo "test.sh: FAILED: $FAILED of ${#RESULTS[@]} steps failed"
		exit 1
	fi
	echo "test.sh: all ${#RESULTS[@]} steps succeeded"
}

main
