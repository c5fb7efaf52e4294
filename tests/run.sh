#!/usr/bin/env bash
# tests/run.sh -- the test runner behind `make check`.
#
# Runs, each in its own process under a timeout:
#   - every unit test program build/tests/test_* (plain) and build/tests/asan/test_*
#     (AddressSanitizer + UBSan);
#   - every script tests/*/t_*.sh (migration, index, cc, fuzz ... tests).
# A test passes on exit 0, is skipped on exit 77 (it must print why), and fails
# otherwise; a failure shows the tail of its output. The last line is
# "N passed, N failed, N skipped". TESTS=pattern runs only matching tests.
# Tests listed in tests/known-failing are skipped with their stated reason.
set -u
cd "$(dirname "$0")/.."
export HOP_ROOT=$PWD
export PATH=$PWD/bin:$PATH
LOG=build/test-logs
mkdir -p "$LOG"
pass=0 fail=0 skip=0
failed=()
filter=${TESTS:-}

# tests/known-failing: "name  reason" lines for tests that fail today because
# the feature they test is not finished. They are reported as skipped with
# the reason, never hidden; KNOWN_FAILING=run runs them anyway.
known_reason() {
	[ "${KNOWN_FAILING:-}" = run ] && return 1
	awk -v n="$1" '$1 == n { $1 = ""; sub(/^ +/, ""); print; found = 1 } END { exit !found }' \
		tests/known-failing 2>/dev/null
}

run_one() { # name timeout cmd...
	local name=$1 to=$2 why
	shift 2
	[ -n "$filter" ] && [[ $name != *$filter* ]] && return
	if why=$(known_reason "$name"); then
		skip=$((skip + 1)); printf 'SKIP %-50s (known failure: %s)\n' "$name" "$why"
		return
	fi
	local log="$LOG/${name//\//_}.log" start=$SECONDS sidf="$LOG/.session"
	# each test runs in a session of its own; whatever it leaves running
	# (an origin of a failed migration, a server) is killed when it ends
	rm -f "$sidf"
	timeout -k 5 "$to" setsid -w bash -c 'echo $$ >"$0"; exec "$@"' "$sidf" "$@" >"$log" 2>&1
	local rc=$?
	[ -s "$sidf" ] && pkill -9 -s "$(cat "$sidf")" 2>/dev/null
	local dt=$((SECONDS - start))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); printf 'PASS %-50s %3ss\n' "$name" "$dt"
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1)); printf 'SKIP %-50s (%s)\n' "$name" "$(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); failed+=("$name")
		[ $rc -eq 124 ] && echo "(timed out after ${to}s)" >>"$log"
		printf 'FAIL %-50s %3ss (exit %d)\n' "$name" "$dt" "$rc"
		tail -n 15 "$log" | sed 's/^/    | /'
	fi
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in build/tests/test_*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" 120 "$t"
done
for t in build/tests/asan/test_*; do
	[ -x "$t" ] && run_one "asan/$(basename "$t")" 300 "$t"
done
for t in tests/*/t_*.sh; do
	[ -f "$t" ] || continue
	to=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$t" | head -n 1)
	run_one "${t#tests/}" "${to:-300}" bash "$t"
done

[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
