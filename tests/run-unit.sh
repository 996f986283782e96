#!/bin/sh
# Runs every cmocka unit test binary of a build folder and counts the tests
# that passed and failed from cmocka's own summary lines. With VALGRIND=1
# each binary runs under valgrind, and any error it reports fails that binary.
# Writes "PASSED FAILED" to $GRIDWALL_RESULTS when set.
BUILD=${1:-build}
passed=0
failed=0
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if [ "${VALGRIND:-0}" = 1 ]; then
		out=$(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 "$t" 2>&1)
	else
		out=$("$t" 2>&1)
	fi
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1     # crashed, or valgrind found an error
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -eq 0 ]; then
		echo "ok - $name: $p tests"
	else
		echo "not ok - $name: $f failed"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
done
echo "unit: $passed passed, $failed failed"
[ -n "$GRIDWALL_RESULTS" ] && echo "$passed $failed" >"$GRIDWALL_RESULTS"
[ "$failed" -eq 0 ]
