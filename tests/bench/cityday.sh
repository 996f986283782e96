#!/bin/bash
# The city-day benchmark (make bench-cityday, part of make bench): a whole
# city screened in one day, end to end, on this machine, with every
# guarantee on (acks after COMMIT, synchronous_commit on). In one run:
#   1. the limit: plain COPY of the day's records into screenings, in one
#      transaction;
#   2. the city-day: fieldsim's devices push every person once through
#      ingestd as fast as it acknowledges, rulesd evaluates, reportd counts;
#      the acknowledged rate, the rate to the last record evaluated and
#      counted, and the total time;
#   3. push-to-ack and push-to-alert latency at a fixed offered rate
#      (push-to-alert: from the screening's arrival in ingestd, its
#      received_at, to the alert reaching a subscriber of rulesd's PUB):
#      a window just after a checkpoint, then the steady window after it;
#   4. the peak resident memory of each daemon and of PostgreSQL (its
#      processes' proportional set sizes added up).
# A bench is not a test: it asserts nothing and exits non-zero only when it
# could not measure. The last line is the RESULT line.
#
# Environment (defaults in brackets):
#   BENCH_PERSONS [8000000]   persons in the city; every one is screened once
#   BENCH_DEVICES [200]       simulated field apps
#   BENCH_BATCH [50]          records per batch
#   BENCH_INFLIGHT [2]        batches outstanding per device
#   BENCH_RATE [5000]         offered rate of the latency phase, records/s
#   BENCH_LATENCY_S [20]      length of the latency phase
#   BENCH_STATEMENTS [0]      1: PostgreSQL's time per statement after each phase
set -u
BUILD=${1:-build}
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "$ROOT" && cd "$BUILD" && pwd)

PERSONS=${BENCH_PERSONS:-8000000}
DEVICES=${BENCH_DEVICES:-200}
BATCH=${BENCH_BATCH:-50}
INFLIGHT=${BENCH_INFLIGHT:-2}
RATE=${BENCH_RATE:-5000}
LATENCY_S=${BENCH_LATENCY_S:-20}
TIMEOUT_MS=120000
COLUMNS="client_uuid, device_id, worker_id, team_id, channel, screened_at, grid_code, household_id, person_id, temperature, symptoms, origin_region, departed_on, arrived_on, contact, note"
MIX=(--invalid 0 --resends 0)
T0=$EPOCHREALTIME

# Peak resident memory (kB) seen of each daemon and of PostgreSQL's processes together (PSS).
PEAK_ingestd=0 PEAK_rulesd=0 PEAK_reportd=0 PEAK_pg=0
sample_memory() {
	local d kb pg
	for d in ingestd rulesd reportd; do
		pid_var=PID_$d
		[ -n "${!pid_var:-}" ] || continue
		kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/${!pid_var}/status" 2>/dev/null)
		peak_var=PEAK_$d
		[ "${kb:-0}" -gt "${!peak_var}" ] && eval "PEAK_$d=$kb"
	done
	# proportional set size: the shared buffers counted once, not once per process
	pg=$(for p in $(pgrep -x postgres); do cat "/proc/$p/smaps_rollup" 2>/dev/null; done |
		awk '$1 == "Pss:" { s += $2 } END { print s + 0 }')
	[ "$pg" -gt "$PEAK_pg" ] && PEAK_pg=$pg
}
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
watermark() { sql "SELECT last_id FROM consumer_offsets WHERE consumer = '$1'"; }

bench_city
bench_statements_on
bench_pg_settings
sql "VACUUM ANALYZE" >/dev/null || die "VACUUM failed"

# 1. The limit.
COPY_FILE=$GRIDWALL_VAR/records.copy
"$BUILD/fieldsim" day --database "$ADMIN_DB" --copy-out "$COPY_FILE" --count "$PERSONS" \
	--devices "$DEVICES" "${MIX[@]}" >"$GRIDWALL_VAR/copyout.out" 2>"$GRIDWALL_VAR/copyout.err" ||
	die "fieldsim day --copy-out failed"
ROWS=$(wc -l <"$COPY_FILE")
sql "CHECKPOINT" >/dev/null
say "COPY of $ROWS rows in one transaction"
t=$EPOCHREALTIME
psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_DB" -c "COPY screenings ($COLUMNS) FROM STDIN" \
	<"$COPY_FILE" || die "COPY failed"
COPY_S=$(since "$EPOCHREALTIME" "$t")
COPY_RPS=$(ratio "$ROWS" "$COPY_S")
rm -f "$COPY_FILE"
say "COPY: $ROWS rows in $COPY_S s = $COPY_RPS rows/s"
sql "SET client_min_messages = warning; TRUNCATE screenings CASCADE" >/dev/null
sql "CHECKPOINT" >/dev/null

# 2. The city-day, every person once, through the whole pipeline.
start_ingestd
start_daemon rulesd
start_daemon reportd
sleep 2
bench_statements_reset
bench_waits_start
bench_cpu_start
say "city-day: $PERSONS records from $DEVICES devices, batch $BATCH, $INFLIGHT in flight, unpaced"
t=$EPOCHREALTIME
"$BUILD/fieldsim" day --database "$ADMIN_DB" --endpoint "$ENDPOINT" --devices "$DEVICES" \
	--batch "$BATCH" --inflight "$INFLIGHT" --timeout-ms "$TIMEOUT_MS" --retries 1 "${MIX[@]}" \
	--rate 0 --count "$PERSONS" --quiet >"$GRIDWALL_VAR/cityday.out" 2>"$GRIDWALL_VAR/cityday.err" &
SIM_PID=$!
while kill -0 "$SIM_PID" 2>/dev/null; do
	sample_memory
	sleep 1
done
wait "$SIM_PID" || say "warning: fieldsim day exited with status $?"
SIM_PID=
ACK_S=$(since "$EPOCHREALTIME" "$t")
LINE=$(tail -n 1 "$GRIDWALL_VAR/cityday.out")
ACKED=$(($(field accepted "$LINE") + $(field duplicate "$LINE")))
LAST=$(sql "SELECT max(id) FROM screenings")
say "acknowledged $ACKED in $ACK_S s; waiting for rulesd and reportd"
while [ "$(watermark rulesd)" -lt "$LAST" ] || [ "$(watermark reportd)" -lt "$LAST" ]; do
	sample_memory
	kill -0 "$PID_rulesd" "$PID_reportd" 2>/dev/null || die "rulesd or reportd exited"
	sleep 0.5
done
CITY_S=$(since "$EPOCHREALTIME" "$t")
E2E_ACK_RPS=$(ratio "$ACKED" "$ACK_S")
E2E_RPS=$(ratio "$ACKED" "$CITY_S")
ALERTS=$(sql "SELECT count(*) FROM alerts")
say "city-day: evaluated and counted in $CITY_S s = $E2E_RPS records/s; $ALERTS alerts"
bench_cpu_report "the city-day" "$CITY_S" >&2
bench_statements_report >&2
bench_waits_report >&2

# 3. Latency at a fixed offered rate, with a subscriber timing each alert's
# arrival: a window just after a checkpoint (the first change to each page
# after one writes the whole page to the WAL), then the steady window after
# it, whose figures are the targets'.
stamp() { while read -r line; do echo "$EPOCHREALTIME $line"; done; }
"$BUILD/gridctl" alerts --follow --json --limit 1 --database "$DB" \
	--endpoint "tcp://127.0.0.1:$((BASE + 3))" 2>/dev/null > >(stamp >"$GRIDWALL_VAR/alerts.timed") &
FOLLOW_PID=$!
sleep 1
sql "CREATE TABLE bench_arrivals (screening_id bigint, arrived double precision)" >/dev/null

# latency_window NAME SEED: one window; sets OFFERED, P50_ACK, P99_ACK, NALERT, P50_ALERT, P99_ALERT.
latency_window() {
	local first last line
	first=$(sql "SELECT coalesce(max(id), 0) FROM screenings")
	bench_statements_reset
	bench_waits_start
	bench_cpu_start
	say "latency, $1: $RATE records/s offered for $LATENCY_S s, one record per batch"
	"$BUILD/fieldsim" day --database "$ADMIN_DB" --endpoint "$ENDPOINT" --devices "$DEVICES" \
		--rate "$RATE" --duration "$LATENCY_S" --count $((RATE * LATENCY_S * 2)) --batch 1 \
		--inflight 4 --linger-ms 50 --timeout-ms "$TIMEOUT_MS" --retries 1 "${MIX[@]}" \
		--arrivals 100 --seed "$2" --quiet >"$GRIDWALL_VAR/latency-$2.out" 2>"$GRIDWALL_VAR/latency-$2.err" ||
		say "warning: the latency phase's fieldsim exited with status $?"
	sample_memory
	bench_cpu_report "the latency window $1" "$LATENCY_S" >&2
	sleep 2
	last=$(sql "SELECT coalesce(max(id), 0) FROM screenings")
	bench_statements_report >&2
	bench_waits_report >&2
	line=$(tail -n 1 "$GRIDWALL_VAR/latency-$2.out")
	OFFERED=$(ratio "$(field sent "$line")" "$LATENCY_S")
	P50_ACK=$(field p50_ack_ms "$line")
	P99_ACK=$(field p99_ack_ms "$line")
	# push-to-alert of each alert of a window's screening: arrival - received_at
	# (one jq over every line: the stamp, then the alert's JSON)
	jq -R -r --argjson first "$first" --argjson last "$last" '
		(index(" ")) as $sp | (.[$sp + 1:] | fromjson) as $a
		| select($a.kind == "risk" and ($a.screening_id // 0) > $first and $a.screening_id <= $last)
		| "\($a.screening_id)\t\(.[:$sp])"' "$GRIDWALL_VAR/alerts.timed" >"$GRIDWALL_VAR/arrivals.tsv"
	sql "TRUNCATE bench_arrivals" >/dev/null
	psql -X -q "$ADMIN_DB" -c "\\copy bench_arrivals FROM '$GRIDWALL_VAR/arrivals.tsv'" >/dev/null
	read -r NALERT P50_ALERT P99_ALERT <<<"$(sql "SELECT count(*) || ' ' ||
		coalesce(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1), 0) || ' ' ||
		coalesce(round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), 0)
		FROM (SELECT (b.arrived - extract(epoch FROM s.received_at)) * 1000 AS ms
		        FROM bench_arrivals b JOIN screenings s ON s.id = b.screening_id) x")"
	say "latency, $1: $OFFERED records/s achieved; push-to-ack p50 $P50_ACK ms, p99 $P99_ACK ms; push-to-alert p50 $P50_ALERT ms, p99 $P99_ALERT ms over $NALERT alerts"
}

sql "CHECKPOINT" >/dev/null
latency_window "after a checkpoint" 8
CKPT_LINE="push-to-ack p50 $P50_ACK ms, p99 $P99_ACK ms; push-to-alert p50 $P50_ALERT ms, p99 $P99_ALERT ms at $OFFERED/s"
CKPT_P99_ALERT=$P99_ALERT
latency_window "steady" 7
kill "$FOLLOW_PID" 2>/dev/null
wait "$FOLLOW_PID" 2>/dev/null
FOLLOW_PID=
for d in reportd rulesd ingestd; do
	sample_memory
	stop_daemon "$d"
done
RATIO=$(ratio "$E2E_RPS" "$COPY_RPS" %.3f)
RSS_MB=$(mb $((PEAK_ingestd + PEAK_rulesd + PEAK_reportd)))
CITY_OK=$(awk -v s="$CITY_S" 'BEGIN { print (s < 240) }')
ALERT_OK=$(awk -v p="$P99_ALERT" -v o="$OFFERED" -v r="$RATE" 'BEGIN { print (p < 50 && o >= 0.95 * r) }')

echo
echo "city-day benchmark: $(nproc) cores, $PERSONS persons, $DEVICES devices, batch $BATCH, $INFLIGHT in flight per device"
printf '  %-20s %s\n' \
	"COPY limit" "copy_rps = $COPY_RPS ($ROWS rows in $COPY_S s, one transaction)" \
	"acknowledged" "$E2E_ACK_RPS records/s ($ACKED in $ACK_S s)" \
	"evaluated, counted" "e2e_rps = $E2E_RPS records/s: the city-day in $CITY_S s (target < 240 s: $(verdict "$CITY_OK"))" \
	"ratio" "$RATIO of COPY (target >= 0.5)" \
	"push-to-ack" "p50 $P50_ACK ms, p99 $P99_ACK ms at $RATE/s offered, $OFFERED/s achieved" \
	"push-to-alert" "p50 $P50_ALERT ms, p99 $P99_ALERT ms over $NALERT alerts (target p99 < 50 ms: $(verdict "$ALERT_OK"))" \
	"after a checkpoint" "$CKPT_LINE (the window before, right after CHECKPOINT)" \
	"peak RSS" "ingestd $(mb "$PEAK_ingestd") MB, rulesd $(mb "$PEAK_rulesd") MB, reportd $(mb "$PEAK_reportd") MB, PostgreSQL $(mb "$PEAK_pg") MB (all its processes, shared memory counted once)" \
	"alerts" "$ALERTS in the city-day" \
	"whole run" "$(since) s"
echo
echo "RESULT e2e_rps=$E2E_RPS copy_rps=$COPY_RPS ratio=$RATIO city_day_s=$CITY_S p99_ack_ms=$P99_ACK p99_alert_ms=$P99_ALERT rss_mb=$RSS_MB"
