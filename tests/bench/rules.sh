#!/bin/bash
# The rules benchmark (make bench-rules): on a throwaway cluster with a
# synthetic city, measures in one run on the same machine
#   1. live: ingestd and rulesd running, fieldsim devices pushing records
#      unpaced; ingestd's acknowledged rate, and rulesd's end-to-end rate
#      from the first record stored to its watermark reaching the last one
#      (every effect committed), with how far behind it was at the last ack;
#   2. eval: the evaluation rate of the rule set over the stored screenings
#      on one core, with no database in the way (build/tests/rulebench):
#      the rules alone, and the rules with the person and household state;
#   3. backlog: rulesd's effects and watermark reset, rulesd started again
#      and timed through the whole table (its catch-up path): its own
#      ceiling on this machine;
#   4. rulesd's peak resident memory.
# Each live phase starts from the same state (empty screenings and effects,
# a checkpoint behind it), each backlog from the same table with the
# effects emptied. Durability is never weakened (synchronous_commit stays
# on). A bench is not a test: it asserts nothing, it reports, and exits
# non-zero only when it could not measure. The last line is the RESULT line.
#
# Environment (defaults in brackets):
#   BENCH_PERSONS [200000]   persons in the synthetic city
#   BENCH_RECORDS [200000]   records pushed in each live phase; the eval and
#                            backlog phases work over what was stored
#   BENCH_DEVICES [200]      simulated field apps
#   BENCH_BATCH [50]         records per batch
#   BENCH_INFLIGHT [2]       batches outstanding per device
#   BENCH_RULES [deploy/rules]  the rule file or folder, for rulesd and rulebench
#   BENCH_EVAL_S [2]         least CPU seconds of each of rulebench's two loops
#   BENCH_ROUNDS [3]         live and backlog runs, alternated; medians
#   BENCH_MAX_S [40]         the push stops generating after this and waits
#                            for what is in flight (its rate stays
#                            acknowledged / elapsed); bounds the run when
#                            ingestd is slow
#   BENCH_DRAIN_S [60]       longest wait for rulesd's watermark to reach the
#                            last record, after a push and in a backlog run;
#                            a rate cut short is of what was evaluated by then
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
RULES=$(cd "$ROOT" && realpath "${BENCH_RULES:-deploy/rules}")
EVAL_S=${BENCH_EVAL_S:-2}
ROUNDS=${BENCH_ROUNDS:-3}
MAX_S=${BENCH_MAX_S:-40}
DRAIN_S=${BENCH_DRAIN_S:-60}
# A reply later than this is resent (Lazy Pirate) and the resends would load
# the server further: the bench measures, so it waits long, and retries once.
TIMEOUT_MS=120000
# Only valid records: every record acknowledged is stored, and evaluated.
MIX=(--invalid 0 --resends 0)
T0=$EPOCHREALTIME


# The Unix time (with fractions) of a daemon log line's UTC stamp.
log_time() { date -u -d "${1%% *}" +%s.%N; }

# rulesd's watermark, the last screening id and how many screenings lie
# beyond the watermark, as "WATERMARK LAST BEHIND".
progress() {
	sql "SELECT w.last_id, coalesce(max(s.id), 0), count(s.id) FILTER (WHERE s.id > w.last_id)
	     FROM consumer_offsets w LEFT JOIN screenings s ON true
	     WHERE w.consumer = 'rulesd' GROUP BY w.last_id" | tr '|' ' '
}

# Empties rulesd's effects and rewinds its watermark; with "all", the
# screenings too. Then hint bits, visibility map and statistics are settled
# (the rows ingest's foreign-key checks locked included) and a checkpoint
# taken, so that each phase starts from the same state.
reset_tables() {
	tables="assessments, alerts, person_states, household_states"
	[ "${1:-}" = all ] && tables="screenings, $tables"
	sql "SET client_min_messages = warning; BEGIN; TRUNCATE $tables CASCADE;
	     UPDATE consumer_offsets SET last_id = 0 WHERE consumer = 'rulesd'; COMMIT" >/dev/null &&
		sql "VACUUM ANALYZE" >/dev/null &&
		sql "CHECKPOINT" >/dev/null || die "cannot empty rulesd's tables"
}

# What rulesd wrote, as "ASSESSMENTS RISK_ALERTS PERSON_STATES".
effects() {
	sql "SELECT (SELECT count(*) FROM assessments), (SELECT count(*) FROM alerts WHERE kind = 'risk'),
	            (SELECT count(*) FROM person_states)" | tr '|' ' '
}

stop_ingestd() {
	stop_daemon ingestd
	[ "$STATUS" = 0 ] || say "warning: ingestd exited with status $STATUS"
}

# Starts rulesd and waits until it has loaded its state and read its
# watermark: from then on it evaluates. READY_AT gets the time of that log
# line, START_S how long the start took.
start_rulesd() {
	: >"$GRIDWALL_VAR/log/rulesd.log"
	launched=$EPOCHREALTIME
	start_daemon rulesd
	for _ in $(seq 600); do
		line=$(grep -m 1 " rulesd info: watermark " "$GRIDWALL_VAR/log/rulesd.log")
		if [ -n "$line" ]; then
			READY_AT=$(log_time "$line")
			START_S=$(since "$READY_AT" "$launched")
			return 0
		fi
		kill -0 "$PID_rulesd" 2>/dev/null || die "rulesd exited at start"
		sleep 0.05
	done
	die "rulesd did not load its state in 30 s"
}

# Stops rulesd, keeping its peak resident memory (VmHWM, kB) in PEAK_KB.
stop_rulesd() {
	kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID_rulesd/status" 2>/dev/null)
	[ "${kb:-0}" -gt "${PEAK_KB:-0}" ] && PEAK_KB=$kb
	stop_daemon rulesd
	[ "$STATUS" = 0 ] || say "warning: rulesd exited with status $STATUS"
}

# wait_watermark LAST: polls rulesd's watermark every 50 ms until it reaches
# LAST, for at most DRAIN_S seconds. DONE_AT gets the time it was seen
# there (or of the last poll), BEHIND the screenings still beyond it.
wait_watermark() {
	deadline=$(awk -v t="$EPOCHREALTIME" -v d="$DRAIN_S" 'BEGIN { printf "%.6f", t + d }')
	while :; do
		read -r wm _ BEHIND <<<"$(progress)"
		DONE_AT=$EPOCHREALTIME
		[ "${wm:-0}" -ge "$1" ] && return 0
		kill -0 "$PID_rulesd" 2>/dev/null || die "rulesd exited while evaluating"
		if awk -v t="$DONE_AT" -v d="$deadline" 'BEGIN { exit !(t >= d) }'; then
			say "warning: rulesd's watermark is $wm, $BEHIND screenings short of $1 after ${DRAIN_S} s"
			return 1
		fi
		sleep 0.05
	done
}

bench_city

# 1. Live: ingestd and rulesd together, records pushed unpaced from empty
# tables. Appends to INGEST_RATES, RULESD_RATES, LAGS.
live_round() {
	reset_tables all
	start_ingestd
	start_rulesd
	say "live $1/$ROUNDS: $RECORDS records from $DEVICES devices, batch $BATCH, $INFLIGHT in flight, unpaced (at most ${MAX_S} s); rulesd ready in $START_S s"
	child_cpu
	cpu0=$CPU
	launched=$EPOCHREALTIME
	"$BUILD/fieldsim" day --database "$ADMIN_DB" --endpoint "$ENDPOINT" \
		--devices "$DEVICES" --batch "$BATCH" --inflight "$INFLIGHT" \
		--timeout-ms "$TIMEOUT_MS" --retries 1 "${MIX[@]}" \
		--rate 0 --count "$RECORDS" --duration "$MAX_S" --quiet \
		>"$GRIDWALL_VAR/live.out" 2>"$GRIDWALL_VAR/live.err" &
	SIM_PID=$!
	first=
	wait -n -p first "$SIM_PID" "$PID_ingestd" "$PID_rulesd"
	rc=$?
	acked_at=$EPOCHREALTIME
	if [ "$first" != "$SIM_PID" ]; then
		if [ "$first" = "$PID_ingestd" ]; then who=ingestd PID_ingestd=; else who=rulesd PID_rulesd=; fi
		kill -TERM "$SIM_PID"
		sleep 0.5
		kill -TERM "$SIM_PID" 2>/dev/null
		wait "$SIM_PID"
		die "$who exited (status $rc) during the live phase"
	fi
	SIM_PID=
	# rulesd's position the moment the last reply came, before anything else.
	read -r wm_at_ack LAST_ID lag_n <<<"$(progress)"
	child_cpu
	SIM_CPU=$(awk -v a="$cpu0" -v b="$CPU" 'BEGIN { printf "%.1f", b - a }')
	LIVE_LINE=$(tail -n 1 "$GRIDWALL_VAR/live.out")
	[ "$rc" -eq 0 ] || say "warning: fieldsim day (live) exited with status $rc"
	[ -n "$(field accepted "$LIVE_LINE")" ] || die "fieldsim day (live) printed no result"
	acked=$(($(field accepted "$LIVE_LINE") + $(field duplicate "$LIVE_LINE")))
	push_s=$(field elapsed_s "$LIVE_LINE")
	irate=$(ratio "$acked" "$push_s")
	# fieldsim's clock runs from its first send to its last reply, and it
	# exits right after that reply: the first record was stored after
	# acked_at - push_s. (It reads its roster before its clock starts.)
	first_send=$(awk -v a="$acked_at" -v s="$push_s" 'BEGIN { printf "%.6f", a - s }')
	STORED=$(sql "SELECT count(*) FROM screenings")
	[ "$STORED" -gt 0 ] || die "nothing was stored"
	say "live $1/$ROUNDS: ingest: $acked acknowledged in $push_s s = $irate records/s ($STORED stored; fieldsim's first send $(since "$first_send" "$launched") s after its start)"
	say "live $1/$ROUNDS: at the last ack rulesd's watermark was $wm_at_ack, $lag_n screenings behind the last id $LAST_ID"
	wait_watermark "$LAST_ID"
	evaluated=$((STORED - BEHIND))
	live_s=$(awk -v a="$first_send" -v b="$DONE_AT" 'BEGIN { printf "%.3f", b - a }')
	lag_s=$(awk -v a="$acked_at" -v b="$DONE_AT" 'BEGIN { printf "%.2f", b - a }')
	rrate=$(ratio "$evaluated" "$live_s")
	say "live $1/$ROUNDS: rulesd: $evaluated evaluated in $live_s s = $rrate records/s (its watermark reached the last id $lag_s s after the last ack)"
	read -r LIVE_EFFECTS <<<"$(effects)"
	stop_rulesd
	stop_ingestd
	INGEST_RATES="$INGEST_RATES $irate"
	RULESD_RATES="$RULESD_RATES $rrate"
	LAGS="$LAGS ${lag_n}/${lag_s}s"
}

# 2. Eval: the rules on one core over what was stored, daemons stopped.
eval_phase() {
	say "eval: rulebench over $STORED stored screenings, at least ${EVAL_S} s of CPU per loop"
	"$BUILD/tests/rulebench" "$ADMIN_DB" "$RULES" "$STORED" "$EVAL_S" \
		>"$GRIDWALL_VAR/rulebench.out" 2>"$GRIDWALL_VAR/rulebench.err" || die "rulebench failed"
	sed 's/^rulebench: //' "$GRIDWALL_VAR/rulebench.err" | while read -r l; do say "eval: $l"; done
	EVAL_LINE=$(tail -n 1 "$GRIDWALL_VAR/rulebench.out")
	[ -n "$(field assess_rps "$EVAL_LINE")" ] || die "rulebench printed no result"
}

# 3. Backlog: rulesd alone through the whole table, from empty effects.
# Timed from the moment it has read its state and watermark (it then reads
# the table in chunks of batch_max) until the watermark is the last id.
# Appends to BACKLOG_RATES.
backlog_round() {
	reset_tables
	start_rulesd
	wait_watermark "$LAST_ID"
	n=$((STORED - BEHIND))
	secs=$(awk -v a="$READY_AT" -v b="$DONE_AT" 'BEGIN { printf "%.3f", b - a }')
	brate=$(ratio "$n" "$secs")
	say "backlog $1/$ROUNDS: rulesd evaluated $n in $secs s = $brate records/s (its start took $START_S s more)"
	read -r BACKLOG_EFFECTS <<<"$(effects)"
	stop_rulesd
	BACKLOG_RATES="$BACKLOG_RATES $brate"
	BACKLOG_START_S=$START_S
}

# Live and backlog alternated BENCH_ROUNDS times: the machine is shared and
# noisy, so each rate is the median of its rounds. The eval runs once, in
# the first round, between them.
INGEST_RATES=
RULESD_RATES=
BACKLOG_RATES=
LAGS=
for round in $(seq "$ROUNDS"); do
	live_round "$round"
	[ "$round" = 1 ] && eval_phase
	backlog_round "$round"
done
INGEST_RPS=$(median "$INGEST_RATES")
RULESD_RPS=$(median "$RULESD_RATES")
BACKLOG_RPS=$(median "$BACKLOG_RATES")
RULES_RPS=$(field rules_rps "$EVAL_LINE")
EVAL_RPS=$(field assess_rps "$EVAL_LINE")
say "medians of $ROUNDS rounds: ingest $INGEST_RPS (of$INGEST_RATES), rulesd live $RULESD_RPS (of$RULESD_RATES), backlog $BACKLOG_RPS (of$BACKLOG_RATES) records/s"

RSS_MB=$(awk -v k="${PEAK_KB:-0}" 'BEGIN { printf "%.1f", k / 1024 }')
EVAL_OK=$(awk -v r="$EVAL_RPS" 'BEGIN { print (r >= 200000) }')
NEVER_OK=$(awk -v b="$BACKLOG_RPS" -v i="$INGEST_RPS" 'BEGIN { print (b >= i) }')
LIVE_RATIO=$(ratio "$RULESD_RPS" "$INGEST_RPS" %.2f)
if awk -v r="$LIVE_RATIO" 'BEGIN { exit !(r >= 0.9) }'; then
	LIVE_VERDICT="rulesd kept up with ingest: it was not the bottleneck"
else
	LIVE_VERDICT="rulesd fell behind ingest: it was the bottleneck of the pipeline"
fi
# rulebench's second loop and each backlog run evaluate the same screenings
# in the same order from an empty state: their counts must agree.
read -r b_assess b_alerts b_states <<<"$BACKLOG_EFFECTS"
e_fired=$(field assess_fired "$EVAL_LINE")
e_alerts=$(field alerts "$EVAL_LINE")
e_persons=$(field persons "$EVAL_LINE")
if [ "$b_assess $b_alerts $b_states" = "$e_fired $e_alerts $e_persons" ]; then
	AGREE="as rulebench counted"
else
	AGREE="rulebench counted $e_fired, $e_alerts, $e_persons: they DIFFER"
fi
read -r l_assess l_alerts l_states <<<"$LIVE_EFFECTS"

echo
echo "rules benchmark: $(nproc) cores, $PERSONS persons, $STORED screenings, $DEVICES devices, batch $BATCH, $INFLIGHT in flight per device, rules ${RULES#"$ROOT"/} ($(field rules "$EVAL_LINE") rules)"
printf '  %-18s %s\n' \
	"rules only" "rules_rps = $RULES_RPS per CPU second, one core, empty state ($(field rules_passes "$EVAL_LINE") passes in $(field rules_cpu_s "$EVAL_LINE") s)" \
	"" "$(field rules_fired "$EVAL_LINE") of $STORED screenings fired a rule" \
	"rules and state" "eval_rps = $EVAL_RPS per CPU second, one core ($(field assess_passes "$EVAL_LINE") passes in $(field assess_cpu_s "$EVAL_LINE") s)" \
	"" "$e_fired fired a rule, $e_alerts alerts, $e_persons person states (target >= 200000: $(verdict "$EVAL_OK"))" \
	"ingest, live" "ingest_rps = $INGEST_RPS (median of$INGEST_RATES; rulesd running)" \
	"rulesd, live" "rulesd_rps = $RULESD_RPS (median of$RULESD_RATES; first record stored to watermark at the last id)" \
	"" "behind at the last ack (screenings/seconds to catch up):$LAGS" \
	"" "$LIVE_VERDICT ($LIVE_RATIO of ingest_rps)" \
	"rulesd, backlog" "backlog_rps = $BACKLOG_RPS (median of$BACKLOG_RATES; the table from its watermark, its ${BACKLOG_START_S} s start not counted)" \
	"" "rulesd never the bottleneck (backlog_rps >= ingest_rps): $(verdict "$NEVER_OK")" \
	"effects" "live: $l_assess assessments, $l_alerts risk alerts, $l_states person states" \
	"" "backlog: $b_assess, $b_alerts, $b_states ($AGREE)" \
	"rulesd peak RSS" "$RSS_MB MB (VmHWM over every run)" \
	"fieldsim CPU" "$SIM_CPU s in the last live phase (it shares the cores)" \
	"last live phase" "$(sed 's/^fieldsim: //' <<<"$LIVE_LINE")" \
	"whole run" "$(since) s"
echo
echo "RESULT eval_rps=$EVAL_RPS rulesd_rps=$RULESD_RPS ingest_rps=$INGEST_RPS backlog_rps=$BACKLOG_RPS rss_mb=$RSS_MB"
