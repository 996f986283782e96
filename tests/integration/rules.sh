#!/bin/bash
# rulesd's rules as data and its state over time, on a real PostgreSQL:
# the default rules through the whole pipeline (household of a high-risk
# person, a second fever, no alert for a repeat), the clock (release after
# the observation, an overdue follow-up, a coverage gap), rule files checked
# with -n and reloaded on SIGHUP (a bad one refused while the old rules keep
# running), and rulesd killed with SIGKILL mid-batch: every record evaluated
# exactly once, compared with an uninterrupted run.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"

RULES=$GRIDWALL_VAR/rules
mkdir -p "$RULES"
cp "$ROOT/deploy/rules/"*.rules "$RULES/"
RULES_EXTRA="lifecycle_interval_ms = 200
coverage_gap_days = 3
follow_up_grace_hours = 6
batch_max = 50"
write_config
INGEST="tcp://127.0.0.1:$((BASE + 1))"

NOW=$(date -u +%s)
H=3600
D=86400
day() { date -u -d "@$(($1 + 28800))" +%F; }   # the local (UTC+8) day of a time
N=440605001001001   # Nanhai grid: households 1 (registered) and 2 (floating)
S=440606001001001   # Shunde grid: household 3 (registered)
uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
# record UUID AT GRID HOUSEHOLD ID NAME TEMPERATURE [EXTRA JSON]
record() {
	printf '{"client_uuid":"%s","channel":"door_to_door","screened_at":%s,"grid_code":"%s","household_code":"%s","id_type":"resident_id","id_number":"%s","name":"%s","temperature":%s%s}\n' \
		"$(uuid "$1")" "$2" "$3" "$4" "$5" "$6" "$7" "${8:-}"
}
push() {
	"$BUILD/gridctl" push --endpoint "$INGEST" "$1" >"$1.out" 2>&1
}
alerts() {
	sql "SELECT count(*) FROM alerts WHERE $1"
}
watermark() { sql "SELECT last_id FROM consumer_offsets WHERE consumer = 'rulesd'"; }
max_id() { sql "SELECT coalesce(max(id), 0) FROM screenings"; }

# Households 1 (registered) and 2 (floating) were registered ten days ago,
# and so were 40 households of Shunde never screened: one tick of the clock
# raises 41 gaps in one transaction.
sql "UPDATE households SET created_at = now() - interval '10 days' WHERE id IN (1, 2)" >/dev/null
sql "INSERT INTO households (code, grid_code, kind, created_at) SELECT '$S-9' || lpad(g::text, 4, '0'), '$S', 'registered', now() - interval '10 days' FROM generate_series(1, 40) g" >/dev/null

echo "# rulesd -n checks the rule files"
"$BUILD/gridwall-rulesd" -n -c "$CONF" >"$GRIDWALL_VAR/check.out" 2>&1
check "-n accepts the default rules" 0 $?
check "-n lists the rules it would run" 1 \
	"$(grep -c 'rules, fit to run:.* close_contact .*household_of_high_risk' "$GRIDWALL_VAR/check.out")"
mkdir -p "$GRIDWALL_VAR/bad"
printf 'rule broken\n    level high\n    reason "x"\n    action "y"\n    when temprature >= 37.3\n' \
	>"$GRIDWALL_VAR/bad/broken.rules"
"$BUILD/gridwall-rulesd" -n -c "$CONF" -s "rules=$GRIDWALL_VAR/bad" >"$GRIDWALL_VAR/check.out" 2>&1
check "-n refuses a bad rule file" 1 $?
check "-n names the file, line and column" 1 "$(grep -c 'broken.rules:5:10:' "$GRIDWALL_VAR/check.out")"

echo "# the default rules through the pipeline"
start_daemon ingestd
start_daemon rulesd
wait_for "rulesd records the rules it runs" 1 sql "SELECT count(*) FROM rule_sets"
AT15=$((NOW - 15 * D - H))
AT40=$((NOW - 40 * H))
{
	# 李秀英 arrived from Wuhan 15 days ago: key person, observation already over.
	record 1 "$AT15" "$N" "$N-00001" 440605199001010022 李秀英 36.6 \
		",\"origin_region\":\"420100\",\"arrived_on\":\"$(day "$AT15")\""
	# 梁淑芬, close contact 40 hours ago: high, not screened since.
	record 2 "$AT40" "$S" "$S-00001" 440606196507070041 梁淑芬 36.7 ',"contact":"confirmed"'
} >"$GRIDWALL_VAR/a.jsonl"
push "$GRIDWALL_VAR/a.jsonl"
wait_for "both screenings evaluated" "$(max_id)" watermark
check "a risk alert for the key person" 1 "$(alerts "kind = 'risk' AND person_id = 2 AND level = 'key'")"
check "a risk alert for the close contact" 1 "$(alerts "kind = 'risk' AND person_id = 4 AND level = 'high'")"

echo "# the clock"
wait_for "released once the observation ended without fever" 1 \
	alerts "kind = 'released' AND person_id = 2 AND level = 'normal' AND previous_level = 'key'"
check "the released person is back to normal" "normal true" \
	"$(sql "SELECT level || ' ' || (released_at IS NOT NULL) FROM person_states WHERE person_id = 2")"
wait_for "an overdue follow-up for the close contact" 1 \
	alerts "kind = 'follow_up_overdue' AND person_id = 4 AND level = 'high'"
wait_for "a coverage gap for the registered household screened 15 days ago" 1 \
	alerts "kind = 'coverage_gap' AND household_id = 1 AND grid_code = '$N'"
sleep 1
check "each clock alert raised once, however many ticks" "1 1 41" \
	"$(sql "SELECT count(*) FILTER (WHERE kind = 'released') || ' ' || count(*) FILTER (WHERE kind = 'follow_up_overdue') || ' ' || count(*) FILTER (WHERE kind = 'coverage_gap') FROM alerts")"
check "rulesd published the 41 alerts of one tick and runs on" 0 "$(kill -0 "$PID_rulesd"; echo $?)"
check "no gap for a household registered since, none for a floating one" 0 \
	"$(alerts "kind = 'coverage_gap' AND household_id IN (2, 3)")"

echo "# the office sees alerts with their state"
sql "UPDATE alerts SET state = 'assigned', assigned_team = 'team-3' WHERE kind = 'coverage_gap' AND household_id = 1" >/dev/null
"$BUILD/gridctl" alerts --area 440605 --database "$DB" >"$GRIDWALL_VAR/alerts.txt" 2>&1
check "gridctl alerts shows the coverage gap, its household and its state" 1 \
	"$(grep -c "COVERAGE GAP.*household $N-00001.*\[assigned team-3\]" "$GRIDWALL_VAR/alerts.txt")"
check "and the release, with no state shown while open" 1 \
	"$(grep 'RELEASED' "$GRIDWALL_VAR/alerts.txt" | grep -vc '\[')"
"$BUILD/gridctl" alerts --area 440605 --json --database "$DB" >"$GRIDWALL_VAR/alerts.json" 2>&1
check "as JSON: kind, state and team" "coverage_gap assigned team-3" \
	"$(jq -r 'select(.kind == "coverage_gap") | "\(.kind) \(.state) \(.assigned_team)"' "$GRIDWALL_VAR/alerts.json")"

echo "# household, repeated fever, repeats"
AT=$((NOW - 600))
{
	# 何俊杰 lives with 梁淑芬 (high): key person.
	record 3 "$AT" "$S" "$S-00001" 440606200102140055 何俊杰 36.5
	# A fever the next minute: attention by itself, below key: no alert.
	record 4 $((AT + 60)) "$S" "$S-00001" 440606200102140055 何俊杰 37.5
	# The first screening again (another uuid): no alert.
	record 5 $((AT + 120)) "$S" "$S-00001" 440606200102140055 何俊杰 36.5
	# A second fever within 48 hours: high.
	record 8 $((AT + 180)) "$S" "$S-00001" 440606200102140055 何俊杰 37.8
	# 梁淑芬's follow-up screening, overdue until now.
	record 9 $((AT + 200)) "$S" "$S-00001" 440606196507070041 梁淑芬 36.6
} >"$GRIDWALL_VAR/b.jsonl"
push "$GRIDWALL_VAR/b.jsonl"
wait_for "evaluated" "$(max_id)" watermark
alert_of() {
	sql "SELECT a.level || ' ' || array_to_string(a.rule_ids, ',') FROM alerts a JOIN screenings s ON s.id = a.screening_id WHERE s.client_uuid = '$(uuid "$1")'"
}
check "the household member of a high-risk person is a key person" \
	"key household_of_high_risk" "$(alert_of 3)"
check "a fever below the level already reached raises nothing" "" "$(alert_of 4)"
check "the repeat raises nothing" "" "$(alert_of 5)"
check "the repeat is assessed like the first" "key household_of_high_risk" \
	"$(sql "SELECT a.level || ' ' || array_to_string(a.rule_ids, ',') FROM assessments a JOIN screenings s ON s.id = a.screening_id WHERE s.client_uuid = '$(uuid 5)'")"
check "a second fever within 48 hours is high" "high fever,repeated_fever,household_of_high_risk" \
	"$(alert_of 8)"
check "the follow-up screening ends the overdue one and sets the next, a day later" "false true" \
	"$(sql "SELECT overdue_alerted || ' ' || (follow_up_due = to_timestamp($((AT + 200 + 24 * H)))) FROM person_states WHERE person_id = 4")"

echo "# SIGHUP: a bad rule file is refused, the old rules keep running"
cp "$GRIDWALL_VAR/bad/broken.rules" "$RULES/"
kill -HUP "$PID_rulesd"
wait_for "the reload is refused with file, line and column" 1 \
	sh -c "grep -c 'broken.rules:5:10:' '$GRIDWALL_VAR/log/rulesd.log'"
record 6 "$AT" "$N" "$N-00001" 440605198503120016 陈志强 37.6 >"$GRIDWALL_VAR/c.jsonl"
push "$GRIDWALL_VAR/c.jsonl"
wait_for "evaluated" "$(max_id)" watermark
check "the old rules still flag a fever" "attention" \
	"$(sql "SELECT a.level FROM alerts a JOIN screenings s ON s.id = a.screening_id WHERE s.client_uuid = '$(uuid 6)'")"
rm "$RULES/broken.rules"
sed -i 's/temperature >= 37.3/temperature >= 38.0/' "$RULES/default.rules"
kill -HUP "$PID_rulesd"
wait_for "the fixed rules are loaded and recorded" 2 sql "SELECT count(*) FROM rule_sets"
record 7 "$AT" "$N" "$N-00002" 44060519781120003X 黄伟 37.6 >"$GRIDWALL_VAR/d.jsonl"
push "$GRIDWALL_VAR/d.jsonl"
wait_for "evaluated" "$(max_id)" watermark
check "the new rules do not flag 37.6" 0 \
	"$(sql "SELECT count(*) FROM assessments a JOIN screenings s ON s.id = a.screening_id WHERE s.client_uuid = '$(uuid 7)'")"
stop_daemon rulesd
check "rulesd stops cleanly" 0 "$STATUS"
cp "$ROOT/deploy/rules/default.rules" "$RULES/default.rules"

echo "# SIGKILL mid-batch, then an uninterrupted run: the same effects"
# From an empty history, and without the clock, so both runs see the same.
sql "SET client_min_messages = warning; TRUNCATE screenings, household_states CASCADE; UPDATE consumer_offsets SET last_id = 0 WHERE consumer = 'rulesd'" >/dev/null
RULES_EXTRA="lifecycle_interval_ms = 3600000
batch_max = 50"
write_config
: >"$GRIDWALL_VAR/many.jsonl"
PEOPLE=(440605198503120016:陈志强:$N:$N-00001 440605199001010022:李秀英:$N:$N-00001
	44060519781120003X:黄伟:$N:$N-00002 440606196507070041:梁淑芬:$S:$S-00001
	440606200102140055:何俊杰:$S:$S-00001 440605199505050060:吴丽娟:$N:$N-00002)
TEMPS=(36.5 36.6 37.4 36.8 38.2 36.4 36.9 37.3 36.7)
for i in $(seq 1 3000); do
	IFS=: read -r id name grid hh <<<"${PEOPLE[$((i % 6))]}"
	extra=
	[ $((i % 97)) = 0 ] && extra=",\"origin_region\":\"420100\",\"arrived_on\":\"$(day $((NOW - 2 * D)))\""
	[ $((i % 211)) = 0 ] && extra=",\"contact\":\"confirmed\""
	record $((1000 + i)) $((NOW - 2 * D + i * 40)) "$grid" "$hh" "$id" "$name" \
		"${TEMPS[$((i % 9))]}" "$extra" >>"$GRIDWALL_VAR/many.jsonl"
done
push "$GRIDWALL_VAR/many.jsonl"
check "3000 records stored" 3000 "$(sql "SELECT count(*) FROM screenings")"
LAST=$(max_id)
start_daemon rulesd
for _ in $(seq 100); do
	[ "$(watermark)" -gt $((LAST - 2500)) ] && break
	sleep 0.02
done
kill -KILL "$PID_rulesd"
wait "$PID_rulesd" 2>/dev/null
PID_rulesd=
KILLED_AT=$(watermark)
check "killed part way" yes "$([ "$KILLED_AT" -lt "$LAST" ] && echo yes)"
start_daemon rulesd
wait_for "the restarted rulesd catches up to the last record" "$LAST" watermark
stop_daemon rulesd
check "rulesd stops cleanly after catching up" 0 "$STATUS"
snapshot() {
	sql "SELECT count(*) || ' assessments ' || count(DISTINCT screening_id) FROM assessments" &&
	sql "SELECT kind || ':' || coalesce(screening_id::text, '-') || ':' || coalesce(person_id::text, '-') || ':' || level || ':' || previous_level FROM alerts WHERE kind = 'risk' ORDER BY 1" | md5sum &&
	sql "SELECT person_id || ':' || level || ':' || coalesce(rule_id, '') || ':' || coalesce(extract(epoch FROM observe_until)::bigint, 0) || ':' || last_screening || ':' || cardinality(fevers) FROM person_states ORDER BY person_id" | md5sum
}
AFTER_KILL=$(snapshot)
sql "TRUNCATE assessments, alerts, person_states, household_states; UPDATE consumer_offsets SET last_id = 0 WHERE consumer = 'rulesd'" >/dev/null
start_daemon rulesd
wait_for "an uninterrupted rulesd evaluates everything again" "$LAST" watermark
stop_daemon rulesd
check "every record evaluated exactly once: the same assessments, risk alerts and states" \
	"$(snapshot)" "$AFTER_KILL"
check "no screening assessed twice" 0 \
	"$(sql "SELECT count(*) - count(DISTINCT screening_id) FROM assessments")"

stop_daemon ingestd
check "ingestd stops cleanly" 0 "$STATUS"
