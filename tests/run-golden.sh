#!/bin/sh
# Golden tests of the rule language: each tests/golden/rules/NAME.expected
# holds what `rulecheck NAME.rules` (or `rulecheck NAME` for a folder of
# rule files) must print, run from that folder so the names in it are
# short: the dump on stdout with exit status 0, or one error line
# "file:line:col: message" (or "file: message") on stderr with status 1.
# A difference is shown as a diff. GOLDEN_UPDATE=1 rewrites the expected
# files from what rulecheck prints now (review the diff before keeping it).
# Writes "PASSED FAILED" to $GRIDWALL_RESULTS when set.
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/tests/golden/rules
passed=0
failed=0

finish() {
	echo "golden rules: $passed passed, $failed failed"
	[ -n "$GRIDWALL_RESULTS" ] && echo "$passed $failed" >"$GRIDWALL_RESULTS"
	[ "$failed" -eq 0 ]
	exit
}

if [ ! -x "$BUILD/tests/rulecheck" ]; then
	echo "not ok - $BUILD/tests/rulecheck is not built"
	failed=1
	finish
fi
BIN=$(cd "$BUILD/tests" && pwd)/rulecheck
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'rm -rf "$TMP"; exit 1' INT TERM

# A rule file or folder without its expected output is a test nobody checks.
for t in "$DIR"/*.rules "$DIR"/*/; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .rules)
	if [ ! -f "$DIR/$name.expected" ] && [ "${GOLDEN_UPDATE:-0}" != 1 ]; then
		echo "not ok - $name: no $name.expected"
		failed=$((failed + 1))
	elif [ ! -f "$DIR/$name.expected" ]; then
		: >"$DIR/$name.expected"
	fi
done

for expected in "$DIR"/*.expected; do
	[ -f "$expected" ] || continue
	name=$(basename "$expected" .expected)
	if [ -d "$DIR/$name" ]; then
		target=$name
	else
		target=$name.rules
	fi
	(cd "$DIR" && "$BIN" "$target") >"$TMP/out" 2>"$TMP/err"
	rc=$?
	# one line shaped like an error: the load must fail with it
	if [ "$(wc -l <"$expected")" -eq 1 ] &&
	    grep -Eq '^[^ #]+(:[0-9]+:[0-9]+)?: ' "$expected"; then
		want_rc=1 actual=$TMP/err other=$TMP/out
	else
		want_rc=0 actual=$TMP/out other=$TMP/err
	fi
	if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
		if [ "$rc" -eq 0 ]; then cp "$TMP/out" "$expected"; else cp "$TMP/err" "$expected"; fi
		echo "ok - $name: updated"
		passed=$((passed + 1))
		continue
	fi
	if [ "$rc" -eq "$want_rc" ] && [ ! -s "$other" ] && cmp -s "$expected" "$actual"; then
		echo "ok - $name"
		passed=$((passed + 1))
		continue
	fi
	echo "not ok - $name (exit status $rc, expected $want_rc)"
	diff -u "$expected" "$actual" | sed 's/^/# /'
	if [ -s "$other" ]; then
		echo "# and also printed:"
		sed 's/^/#   /' "$other"
	fi
	failed=$((failed + 1))
done
finish
