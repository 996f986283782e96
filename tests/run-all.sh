#!/bin/sh
# The whole test suite: unit tests (cmocka), the unit tests again under
# valgrind, the golden tests of the rule language, a short run of the fuzz
# targets, then the integration suites against a real PostgreSQL and the
# real daemons. Ends with the total as "N passed, N failed".
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RESULTS=$(mktemp)
total_passed=0
total_failed=0

# run_suite NAME COMMAND...: runs one suite and adds up its counts.
run_suite() {
	name=$1
	shift
	echo "== $name"
	: >"$RESULTS"
	GRIDWALL_RESULTS=$RESULTS "$@"
	rc=$?
	read -r p f <"$RESULTS" 2>/dev/null
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc"
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
}

run_suite unit "$ROOT/tests/run-unit.sh" "$BUILD"
# valgrind cannot run AddressSanitizer binaries: the SAN=1 build skips it.
if [ "${SAN:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1; then
	run_suite "unit under valgrind" env VALGRIND=1 "$ROOT/tests/run-unit.sh" "$BUILD"
fi
run_suite "golden rules" "$ROOT/tests/run-golden.sh" "$BUILD"
# The fuzz targets briefly (build-fuzz/, whatever BUILD is): every seed and
# kept reproducer, then 10 s of fuzzing each; skipped without clang.
run_suite "fuzz (short)" env FUZZ_SECONDS="${FUZZ_SHORT_SECONDS:-10}" \
	"$ROOT/tests/fuzz/run.sh" --short --build build-fuzz
for suite in "$ROOT"/tests/integration/*.sh; do
	run_suite "integration $(basename "$suite" .sh)" bash "$suite" "$BUILD"
done
rm -f "$RESULTS"
echo
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
