#!/bin/sh
# Runs the libFuzzer targets of a fuzz build (make fuzz-build makes them in
# build-fuzz/fuzz/), one after the other, each for FUZZ_SECONDS (60 unless
# set): first every input of its seed corpus (tests/fuzz/corpus/NAME) and
# every kept reproducer (tests/fuzz/regress/NAME), then fuzzing. Prints per
# target the executions and the coverage reached (cov: edges, ft: features,
# from libFuzzer's last status line and final stats). Fails when a target
# crashes, leaks, times out (5 s an input) or runs out of memory (2 GB);
# the input that did it is left in BUILD/fuzz-artifacts/NAME/.
#
#   tests/fuzz/run.sh [--short] [--build] [BUILD] [NAME...]
#
# A plain run (make fuzz) keeps the corpus it grows in BUILD/fuzz-corpus/NAME
# for the next run. --short (make test) fuzzes from a temporary copy and
# FUZZ_SECONDS defaults to 10; --build first builds the targets (make FUZZ=1
# fuzz-build), and skips them all, passing, when clang cannot build a
# fuzzer. Writes "PASSED FAILED" to $GRIDWALL_RESULTS when set.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHORT=0
BUILD_FIRST=0
while [ $# -gt 0 ]; do
	case $1 in
	--short) SHORT=1 ;;
	--build) BUILD_FIRST=1 ;;
	*) break ;;
	esac
	shift
done
BUILD=${1:-build-fuzz}
[ $# -gt 0 ] && shift
NAMES=$*
if [ "$SHORT" = 1 ]; then
	SECONDS_EACH=${FUZZ_SECONDS:-10}
else
	SECONDS_EACH=${FUZZ_SECONDS:-60}
fi
passed=0
failed=0

finish() {
	echo "fuzz: $passed passed, $failed failed"
	[ -n "$GRIDWALL_RESULTS" ] && echo "$passed $failed" >"$GRIDWALL_RESULTS"
	[ "$failed" -eq 0 ]
	exit
}

FUZZ_CC=${FUZZ_CC:-$(command -v clang-14 || command -v clang || echo clang)}
if [ "$BUILD_FIRST" = 1 ]; then
	probe=$(mktemp -d)
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\n%s\n' \
		'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
		>"$probe/probe.c"
	if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$probe/probe" "$probe/probe.c" \
	    >/dev/null 2>&1; then
		rm -rf "$probe"
		echo "ok - fuzz targets skipped: $FUZZ_CC cannot build a fuzzer" \
		     "(deploy/deps.sh installs clang-14 and libfuzzer-14-dev)"
		finish
	fi
	rm -rf "$probe"
	mkdir -p "$ROOT/$BUILD"
	if ! make -C "$ROOT" --no-print-directory FUZZ=1 FUZZ_CC="$FUZZ_CC" fuzz-build >"$ROOT/$BUILD/build.log" 2>&1; then
		echo "not ok - building the fuzz targets failed:"
		tail -n 30 "$ROOT/$BUILD/build.log" | sed 's/^/# /'
		failed=1
		finish
	fi
fi

cd "$ROOT" || exit 1
if [ -z "$NAMES" ]; then
	for bin in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$bin" ] && NAMES="$NAMES ${bin##*/fuzz_}"
	done
fi
if [ -z "$NAMES" ]; then
	echo "not ok - no fuzz targets in $BUILD/fuzz (make fuzz-build)"
	failed=1
	finish
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'rm -rf "$TMP"; exit 1' INT TERM

for name in $NAMES; do
	bin=$BUILD/fuzz/fuzz_$name
	if [ ! -x "$bin" ]; then
		echo "not ok - $name: $bin is not built"
		failed=$((failed + 1))
		continue
	fi
	if [ "$SHORT" = 1 ]; then
		corpus=$TMP/corpus-$name
	else
		corpus=$BUILD/fuzz-corpus/$name
	fi
	artifacts=$BUILD/fuzz-artifacts/$name
	mkdir -p "$corpus" "$artifacts" "tests/fuzz/regress/$name"
	log=$TMP/$name.log
	# The first folder takes what the run finds; the others are only read.
	started=$(date +%s)
	"$bin" -max_total_time="$SECONDS_EACH" -timeout=5 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$corpus" "tests/fuzz/corpus/$name" "tests/fuzz/regress/$name" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - started))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
	summary="$name: ${execs:-?} executions (${rate:-?}/s) in ${took}s, cov: ${cov:-?} ft: ${ft:-?}, corpus ${corp:-?}"
	if [ "$rc" -eq 0 ]; then
		echo "ok - $summary"
		passed=$((passed + 1))
	else
		echo "not ok - $summary: exit status $rc"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*check failed|artifact_prefix|Test unit written|ALARM|.*-timeout)' \
			"$log" | head -n 20 | sed 's/^/# /'
		echo "# the whole log: $artifacts/last.log; replay: $bin $artifacts/<file>"
		cp "$log" "$artifacts/last.log"
		failed=$((failed + 1))
	fi
done
finish
