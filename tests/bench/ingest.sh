#!/bin/bash
# The ingest benchmark (make bench-ingest): on a throwaway cluster with a
# synthetic city, measures in one run on the same machine
#   1. the COPY baseline: the rate at which plain COPY loads the records
#      fieldsim would send into screenings, in one transaction (the
#      durable-ingest limit of this machine);
#   2. the acknowledged rate: fieldsim devices pushing the same kind of
#      records to ingestd as fast as it acknowledges them;
#   3. push-to-ack latency (p50, p99) at a fixed offered rate;
#   4. ingestd's peak resident memory.
# Each ingest phase starts from the state the COPY started from (empty
# screenings, a checkpoint behind it). Durability is never weakened
# (synchronous_commit stays on). A bench is not a test: it asserts nothing,
# it reports, and exits non-zero only when it could not measure. The last
# line is the RESULT line.
#
# Environment (defaults in brackets):
#   BENCH_PERSONS [200000]   persons in the synthetic city
#   BENCH_RECORDS [200000]   records for the COPY baseline and the ingest run
#   BENCH_DEVICES [200]      simulated field apps
#   BENCH_BATCH [50]         records per batch
#   BENCH_INFLIGHT [2]       batches outstanding per device
#   BENCH_RATE [5000]        offered rate of the latency phase, records/s
#   BENCH_ROUNDS [3]         COPY and throughput runs, alternated; medians
#   BENCH_LATENCY_BATCH [1]  records per batch in the latency phase: a field
#                            app pushes each record as it is screened (with
#                            batches of 50 filling at 25 records/s per device,
#                            all devices would send in lock-step bursts and
#                            the figure would measure the generator)
#   BENCH_LATENCY_S [20]     length of the latency phase
#   BENCH_MAX_S [40]         the throughput phase stops generating after this
#                            and waits for what is in flight (its rate stays
#                            acknowledged / elapsed); bounds the run when
#                            ingestd is slow
set -u
BUILD=${1:-build}
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "$ROOT" && cd "$BUILD" && pwd)

PERSONS=${BENCH_PERSONS:-200000}
RECORDS=${BENCH_RECORDS:-200000}
DEVICES=${BENCH_DEVICES:-200}
BATCH=${BENCH_BATCH:-50}
INFLIGHT=${BENCH_INFLIGHT:-2}
RATE=${BENCH_RATE:-5000}
LATENCY_BATCH=${BENCH_LATENCY_BATCH:-1}
LATENCY_S=${BENCH_LATENCY_S:-20}
MAX_S=${BENCH_MAX_S:-40}
ROUNDS=${BENCH_ROUNDS:-3}
# A reply later than this is resent (Lazy Pirate) and the resends would load
# the server further: the bench measures, so it waits long, and retries once.
TIMEOUT_MS=120000
# Must match fieldsim's COPYOUT_COLUMNS (tools/fieldsim/fieldsim.h).
COLUMNS="client_uuid, device_id, worker_id, team_id, channel, screened_at, grid_code, household_id, person_id, temperature, symptoms, origin_region, departed_on, arrived_on, contact, note"
# Only valid records: the baseline stores every one, so must ingest.
MIX=(--invalid 0 --resends 0)
T0=$EPOCHREALTIME

# Empties screenings and checkpoints, so each phase starts from the same state.
reset_table() {
	sql "SET client_min_messages = warning; TRUNCATE screenings CASCADE" >/dev/null &&
		sql "CHECKPOINT" >/dev/null || die "cannot empty screenings"
}

# Stops ingestd, keeping its peak resident memory (VmHWM, kB) in PEAK_KB.
stop_ingestd() {
	kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID_ingestd/status" 2>/dev/null)
	[ "${kb:-0}" -gt "${PEAK_KB:-0}" ] && PEAK_KB=$kb
	stop_daemon ingestd
	[ "$STATUS" = 0 ] || say "warning: ingestd exited with status $STATUS"
}

# day LABEL ARGS...: runs fieldsim day against ingestd; its result line in
# LINE. Should ingestd die meanwhile, fieldsim is stopped at once.
day() {
	label=$1
	shift
	child_cpu
	cpu0=$CPU
	"$BUILD/fieldsim" day --database "$ADMIN_DB" --endpoint "$ENDPOINT" \
		--devices "$DEVICES" --batch "$BATCH" --inflight "$INFLIGHT" \
		--timeout-ms "$TIMEOUT_MS" --retries 1 "${MIX[@]}" "$@" \
		>"$GRIDWALL_VAR/$label.out" 2>"$GRIDWALL_VAR/$label.err" &
	SIM_PID=$!
	first=
	wait -n -p first "$SIM_PID" "$PID_ingestd"
	rc=$?
	if [ "$first" != "$SIM_PID" ]; then
		PID_ingestd=
		kill -TERM "$SIM_PID"
		sleep 0.5
		kill -TERM "$SIM_PID" 2>/dev/null
		wait "$SIM_PID"
		die "ingestd exited (status $rc) during the $label phase"
	fi
	SIM_PID=
	# The load generator shares the cores: say how much it took.
	child_cpu
	SIM_CPU=$(awk -v a="$cpu0" -v b="$CPU" 'BEGIN { printf "%.1f", b - a }')
	LINE=$(tail -n 1 "$GRIDWALL_VAR/$label.out")
	[ "$rc" -eq 0 ] || say "warning: fieldsim day ($label) exited with status $rc"
	[ -n "$(field accepted "$LINE")" ] || die "fieldsim day ($label) printed no result"
}

bench_city
# Hint bits, visibility map and statistics settled once, for every phase alike.
sql "VACUUM ANALYZE" >/dev/null || die "VACUUM failed"

# 1. The COPY baseline and 2. throughput, alternated BENCH_ROUNDS times:
# the machine is shared and noisy, so each figure is the median of its
# rounds, and the ratio is of the medians.
COPY_FILE=$GRIDWALL_VAR/records.copy
"$BUILD/fieldsim" day --database "$ADMIN_DB" --copy-out "$COPY_FILE" \
	--count "$RECORDS" --devices "$DEVICES" "${MIX[@]}" \
	>"$GRIDWALL_VAR/copyout.out" 2>"$GRIDWALL_VAR/copyout.err" || die "fieldsim day --copy-out failed"
ROWS=$(wc -l <"$COPY_FILE")
[ "$ROWS" -gt 0 ] || die "no rows to COPY"

# One COPY of the file in one transaction; appends its rate to COPY_RATES.
copy_round() {
	sql "CHECKPOINT" >/dev/null
	say "COPY of $ROWS rows ($(du -h "$COPY_FILE" | cut -f1)) in one transaction"
	t=$EPOCHREALTIME
	psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_DB" \
		-c "COPY screenings ($COLUMNS) FROM STDIN" <"$COPY_FILE" || die "COPY failed"
	t1=$EPOCHREALTIME
	COPY_S=$(since "$t1" "$t")
	secs=$(awk -v a="$t" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
	COPIED=$(sql "SELECT count(*) FROM screenings")
	[ "$COPIED" = "$ROWS" ] || die "COPY stored $COPIED rows of $ROWS"
	rate=$(awk -v n="$ROWS" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
	COPY_RATES="$COPY_RATES $rate"
	say "COPY: $ROWS rows in $COPY_S s = $rate rows/s"
	reset_table
}

# One unpaced ingest run; appends its rate to INGEST_RATES.
ingest_round() {
	start_ingestd
	say "ingest: $RECORDS records from $DEVICES devices, batch $BATCH, $INFLIGHT in flight, unpaced (at most ${MAX_S} s)"
	day throughput --rate 0 --count "$RECORDS" --duration "$MAX_S" --quiet
	TPUT_LINE=$LINE
	TPUT_CPU=$SIM_CPU
	stop_ingestd
	ACKED=$(($(field accepted "$TPUT_LINE") + $(field duplicate "$TPUT_LINE")))
	TPUT_S=$(field elapsed_s "$TPUT_LINE")
	rate=$(awk -v n="$ACKED" -v s="$TPUT_S" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
	INGEST_RATES="$INGEST_RATES $rate"
	STORED=$(sql "SELECT count(*) FROM screenings")
	say "ingest: $ACKED acknowledged in $TPUT_S s = $rate records/s ($STORED rows stored)"
	reset_table
}

COPY_RATES=
INGEST_RATES=
for _ in $(seq "$ROUNDS"); do
	copy_round
	ingest_round
done
COPY_RPS=$(median "$COPY_RATES")
INGEST_RPS=$(median "$INGEST_RATES")
say "medians of $ROUNDS rounds: COPY $COPY_RPS rows/s (of$COPY_RATES), ingest $INGEST_RPS records/s (of$INGEST_RATES)"

# 3. Latency at a fixed offered rate.
start_ingestd
say "latency: $RATE records/s offered for $LATENCY_S s, batches of $LATENCY_BATCH"
day latency --rate "$RATE" --duration "$LATENCY_S" --count $((RATE * LATENCY_S * 2)) \
	--batch "$LATENCY_BATCH" --inflight 4 --linger-ms 50 --quiet
LAT_LINE=$LINE
LAT_CPU=$SIM_CPU
stop_ingestd
OFFERED=$(awk -v n="$(field sent "$LAT_LINE")" -v s="$LATENCY_S" 'BEGIN { printf "%.0f", n / s }')
P50=$(field p50_ack_ms "$LAT_LINE")
P99=$(field p99_ack_ms "$LAT_LINE")
PMAX=$(field max_ack_ms "$LAT_LINE")
say "latency: offered $OFFERED records/s achieved; p50 $P50 ms, p99 $P99 ms, max $PMAX ms"

RATIO=$(awk -v a="$INGEST_RPS" -v b="$COPY_RPS" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
RSS_MB=$(awk -v k="${PEAK_KB:-0}" 'BEGIN { printf "%.1f", k / 1024 }')
RATIO_OK=$(awk -v r="$RATIO" 'BEGIN { print (r >= 0.6) }')
P99_OK=$(awk -v p="$P99" -v o="$OFFERED" -v r="$RATE" 'BEGIN { print (p < 20 && o >= 0.95 * r) }')

echo
echo "ingest benchmark: $(nproc) cores, $PERSONS persons, $DEVICES devices, batch $BATCH, $INFLIGHT in flight per device"
printf '  %-18s %s\n' \
	"COPY baseline" "copy_rps = $COPY_RPS (median of$COPY_RATES; $ROWS rows in one transaction)" \
	"ingest, unpaced" "ingest_rps = $INGEST_RPS (median of$INGEST_RATES)" \
	"ratio" "$RATIO of COPY (target >= 0.6: $(verdict "$RATIO_OK"))" \
	"push-to-ack" "p50 $P50 ms, p99 $P99 ms, max $PMAX ms at $RATE/s offered, $OFFERED/s achieved" \
	"" "(target p99 < 20 ms at the full rate: $(verdict "$P99_OK"))" \
	"ingestd peak RSS" "$RSS_MB MB (VmHWM over both ingest phases)" \
	"fieldsim CPU" "$TPUT_CPU s in the unpaced phase, $LAT_CPU s in the paced one (it shares the cores)" \
	"throughput phase" "$(sed 's/^fieldsim: //' <<<"$TPUT_LINE")" \
	"latency phase" "$(sed 's/^fieldsim: //' <<<"$LAT_LINE")" \
	"whole run" "$(since) s"
echo
echo "RESULT ingest_rps=$INGEST_RPS copy_rps=$COPY_RPS ratio=$RATIO p99_ack_ms=$P99 rss_mb=$RSS_MB"
