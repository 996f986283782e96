#!/bin/bash
# reportd's aggregates (docs/aggregates.md) on a real PostgreSQL with the
# three daemons: records over many local days (today, then a backlog of
# 1 to 20 days ago pushed after today's), a person screened twice on a day
# in two grids and another twice in one grid, fevers, registered households
# whose coverage starts, runs on across a gap of exactly coverage_days,
# lapses and starts again, key persons of 20 days ago whom rulesd's clock
# releases, one still observed, and two close contacts of whom the command
# office resolves one. Once reportd has caught up, `gridctl report rebuild
# --check` must find the table equal to a rebuild from the tables on every
# day touched, and a few figures are checked against what the records
# imply; a row edited by hand is found, named and repaired (today's with
# the word to send reportd SIGHUP); the rebuild runs while records are
# still arriving; GET /v1/aggregates answers the figures by their new
# names. The rebuild counts from the tables (tools/gridctl/report.c) and
# reportd as records arrive: two ways that must come to the same rows.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
RULES_EXTRA="lifecycle_interval_ms = 200"
REPORT_EXTRA="suppress_below = 1"
write_config
URL=http://127.0.0.1:$HTTP_PORT
INGEST="tcp://127.0.0.1:$((BASE + 1))"

L=28800                                       # local time is UTC+8 (day_utc_offset_min 480)
NOW=$(date -u +%s)
T0=$(((NOW + L) / 86400 * 86400 - L))         # today 00:00 local, in Unix seconds
day_of() { date -u -d "@$(($1 + L))" +%F; }   # the local day of a Unix time
ago() { echo $((T0 - $1 * 86400 + 12 * 3600)); }   # local noon K days ago (K < 0: ahead)
day() { day_of "$(ago "$1")"; }               # the local day K days ago
TODAY=$(day 0)
N=440605001001001    # Nanhai grid 1: households 1 (registered), 2 (floating), 4 (registered)
N2=440605001001002   # Nanhai grid 2, added here
S=440606001001001    # Shunde grid 1: households 3 and 5 (registered)

# idnum 17DIGITS: a resident id with its check character (GB 11643).
idnum() {
	local s=$1 w=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) c=10X98765432 sum=0 i
	for i in $(seq 0 16); do
		sum=$((sum + ${s:$i:1} * ${w[$i]}))
	done
	echo "$s${c:$((sum % 11)):1}"
}
uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
# record UUID AT GRID HOUSEHOLD_CODE|"" ID NAME TEMPERATURE [EXTRA JSON]: one JSON line.
record() {
	local hh=
	[ -n "$4" ] && hh=",\"household_code\":\"$4\""
	printf '{"client_uuid":"%s","channel":"door_to_door","screened_at":%s,"grid_code":"%s"%s,"id_type":"resident_id","id_number":"%s","name":"%s","temperature":%s%s}\n' \
		"$(uuid "$1")" "$2" "$3" "$hh" "$5" "$6" "$7" "${8:-}"
}
# push FILE: sends it; prints how many records were accepted.
push() {
	"$BUILD/gridctl" push --endpoint "$INGEST" "$1" 2>/dev/null | grep -c '"outcome":"accepted"'
}
max_id() { sql "SELECT coalesce(max(id), 0) FROM $1"; }
offset() { sql "SELECT last_id FROM consumer_offsets WHERE consumer = '$1'"; }
# caught_up: rulesd has assessed every screening and reportd has counted
# every screening, alert and household ("yes"), or what is still missing.
caught_up() {
	local s a h
	s=$(max_id screenings) a=$(max_id alerts) h=$(max_id households)
	if [ "$(offset rulesd)" = "$s" ] && [ "$(offset reportd)" = "$s" ] &&
		[ "$(offset reportd.alerts)" = "$a" ] && [ "$(offset reportd.households)" = "$h" ]; then
		echo yes
	else
		echo "behind: screenings $s alerts $a households $h; offsets $(sql "SELECT string_agg(consumer || '=' || last_id, ' ' ORDER BY consumer) FROM consumer_offsets")"
	fi
}
# figures DAY AREA: the ten columns of a row of daily_aggregates, space-separated ("" if none).
figures() {
	sql "SELECT concat_ws(' ', screenings, persons_screened, households_screened, fevers, new_alerts,
	            released, registered_change, covered_change, observed_change, high_open_change)
	       FROM daily_aggregates WHERE day = '$1' AND area_code = '$2'"
}
# figure DAY AREA COLUMN: one of them, 0 when the row is absent.
figure() {
	sql "SELECT coalesce((SELECT $3 FROM daily_aggregates WHERE day = '$1' AND area_code = '$2'), 0)"
}
# rebuild ARGS...: gridctl report rebuild; STATUS, and its output in out and err.
rebuild() {
	"$BUILD/gridctl" report rebuild --conninfo "$DB" "$@" >"$GRIDWALL_VAR/out" 2>"$GRIDWALL_VAR/err"
	STATUS=$?
}

# The registry: a second Nanhai grid; households 1 to 3 registered 25 days
# ago, and two more registered households 30 days ago.
sql "
INSERT INTO areas (code, parent, level, name) VALUES ('$N2', '440605001001', 'grid', '第2网格');
UPDATE households SET created_at = to_timestamp($(ago 25));
INSERT INTO households (code, grid_code, kind, created_at) VALUES
  ('$N-00004', '$N', 'registered', to_timestamp($(ago 30))),
  ('$S-00005', '$S', 'registered', to_timestamp($(ago 30)));
" >/dev/null

# Settings other than reportd's, for reportd to replace with its own.
sql "UPDATE report_settings SET day_utc_offset_min = 0, coverage_days = 7" >/dev/null

start_daemon ingestd
start_daemon rulesd
start_daemon reportd
wait_for "reportd answers /healthz" "ok" sh -c "curl -s $URL/healthz | jq -r .status"
wait_for "reportd records the settings it counts with, for a rebuild" "480 3" \
	sql "SELECT day_utc_offset_min || ' ' || coverage_days FROM report_settings"

echo "# today's records, then a backlog"
P7=$(idnum 44060519920202007) P8=$(idnum 44060619930303008)
K1=$(idnum 42010219800101011) K2=$(idnum 42010219810101012) K3=$(idnum 42010219820101013)
H1=$(idnum 44060619700707017) H2=$(idnum 44060619710707018)
RISK_OLD=",\"origin_region\":\"420100\",\"arrived_on\":\"$(day 21)\""
RISK_NEW=",\"origin_region\":\"420100\",\"arrived_on\":\"$(day 2)\""
CONTACT=',"contact":"confirmed"'
# Today's times are just after local midnight: on today's day whatever the
# hour (a few minutes ahead of the clock at worst, which ingestd accepts).
AT=$((T0 + 60))
{
	# 陈志强 (household 1) first in N2, then in Shunde: one person, in N2.
	record 1 $((AT + 1)) "$N2" "" 440605198503120016 陈志强 36.5
	record 2 $((AT + 2)) "$S" "" 440605198503120016 陈志强 36.6
	record 3 $((AT + 3)) "$N" "$N-00001" 440605199001010022 李秀英 36.4
	# 黄伟 twice in N: a fever (attention), then not.
	record 4 $((AT + 4)) "$N" "$N-00002" 44060519781120003X 黄伟 37.9
	record 5 $((AT + 5)) "$N" "$N-00002" 44060519781120003X 黄伟 37.0
	record 6 $((AT + 6)) "$N" "$N-00004" "$P7" 赵敏 36.5
	record 7 $((AT + 7)) "$S" "$S-00001" 440606196507070041 梁淑芬 36.8
	# Arrived from Wuhan two days ago: a key person, observed for 14 days.
	record 8 $((AT + 8)) "$N" "" "$K3" 孙丽 36.6 "$RISK_NEW"
	# Two close contacts: high risk.
	record 9 $((AT + 9)) "$S" "" "$H1" 周强 36.7 "$CONTACT"
	record 10 $((AT + 10)) "$S" "" "$H2" 吴刚 36.7 "$CONTACT"
} >"$GRIDWALL_VAR/today.jsonl"
check "today's 10 records are accepted" 10 "$(push "$GRIDWALL_VAR/today.jsonl")"
wait_for "rulesd assessed them" "$(max_id screenings)" offset rulesd
{
	# Arrived from Wuhan 21 days ago, screened 20 days ago: key persons
	# whose observation is over; the clock releases them.
	record 11 "$(ago 20)" "$N" "" "$K1" 钱进 36.5 "$RISK_OLD"
	record 12 "$(ago 20)" "$S" "" "$K2" 孙涛 36.5 "$RISK_OLD"
	# Household 4: screened 10 and 7 days ago (3 days apart: covered
	# without a gap), lapsed 4 days ago, covered again from today.
	record 13 "$(ago 10)" "$N" "$N-00004" "$P7" 赵敏 36.5
	record 14 "$(ago 7)" "$N" "$N-00004" "$P7" 赵敏 36.6
	# Household 5: screened 5 and 4 days ago, lapsed yesterday.
	record 15 "$(ago 5)" "$S" "$S-00005" "$P8" 郑华 36.5
	record 16 "$(ago 4)" "$S" "$S-00005" "$P8" 郑华 36.4
	# 吴丽娟 (floating household 2): a fever yesterday.
	record 17 "$(ago 1)" "$N" "" 440605199505050060 吴丽娟 38.2
} >"$GRIDWALL_VAR/backlog.jsonl"
check "the backlog's 7 records are accepted" 7 "$(push "$GRIDWALL_VAR/backlog.jsonl")"
wait_for "the clock releases the two key persons of 20 days ago" 2 \
	sql "SELECT count(*) FROM alerts WHERE kind = 'released'"
wait_for "reportd has counted every screening, alert and household" yes caught_up

# Every local day a record touched: screened, registered, raised, and the
# ends of coverage windows (3 days after the last screening).
DAYS="$(day 30) $(day 25) $(day 20) $(day 10) $(day 7) $(day 5) $(day 4) $(day 1) $TODAY $(day -3)"

echo "# the table equals the rebuild"
for d in $DAYS; do
	rebuild --day "$d" --check
	check "--check $d: equal" "0 $d: equal" "$STATUS $(cut -d' ' -f1-2 "$GRIDWALL_VAR/out")"
done
rebuild --from "$(day 31)" --to "$(day -4)" --check
check "--check over 36 days: each day equal" "0 36" "$STATUS $(grep -c ': equal (' "$GRIDWALL_VAR/out")"

echo "# figures of the day"
check "N today: 5 screenings, 4 persons (黄伟 once), 3 households (1 by its own grid), 1 fever" \
	"5 4 3 1" "$(figures "$TODAY" "$N" | cut -d' ' -f1-4)"
check "N2 today: 陈志强 once, his household counted in its own grid" "1 1 0" \
	"$(figures "$TODAY" "$N2" | cut -d' ' -f1-3)"
check "S today: 陈志强's second screening counts, he does not" "4 3 1" \
	"$(figures "$TODAY" "$S" | cut -d' ' -f1-3)"
check "the town: 陈志强 once in all of it" "6 5" \
	"$(figures "$TODAY" 440605001 | cut -d' ' -f1-2)"
check "the city: each person once, each household once" "10 8 4 1" \
	"$(figures "$TODAY" 4406 | cut -d' ' -f1-4)"
check "new alerts today, by grid (fevers, key persons, backlog key persons, contacts)" "4 0 3" \
	"$(figure "$TODAY" "$N" new_alerts) $(figure "$TODAY" "$N2" new_alerts) $(figure "$TODAY" "$S" new_alerts)"
check "released today: one in N, one in S" "1 1" \
	"$(figure "$TODAY" "$N" released) $(figure "$TODAY" "$S" released)"
check "the backlog counts on its own days" "1 1 1 1" \
	"$(figure "$(day 20)" "$N" screenings) $(figure "$(day 10)" "$N" persons_screened) $(figure "$(day 5)" "$S" households_screened) $(figure "$(day 1)" "$N" fevers)"
check "registered households on the days they were registered (not the floating one)" "1 1 1 2" \
	"$(figure "$(day 30)" "$N" registered_change) $(figure "$(day 30)" "$S" registered_change) $(figure "$(day 25)" 440605 registered_change) $(figure "$(day 25)" 4406 registered_change)"
check "household 4: covered from 10 days ago, no gap at 7, lapsed at 4" "1 0 -1" \
	"$(figure "$(day 10)" "$N" covered_change) $(figure "$(day 7)" "$N" covered_change) $(figure "$(day 4)" "$N" covered_change)"
check "household 5: covered from 5 days ago, lapsed yesterday" "1 0 -1" \
	"$(figure "$(day 5)" "$S" covered_change) $(figure "$(day 4)" "$S" covered_change) $(figure "$(day 1)" "$S" covered_change)"
check "covered from today: households 1 and 4 in N, 3 in S; ending in 3 days" "2 1 -2 -1" \
	"$(figure "$TODAY" "$N" covered_change) $(figure "$TODAY" "$S" covered_change) $(figure "$(day -3)" "$N" covered_change) $(figure "$(day -3)" "$S" covered_change)"
check "observed: the new key person in N, the two contacts in S, none of the released" "1 2" \
	"$(figure "$TODAY" "$N" observed_change) $(figure "$TODAY" "$S" observed_change)"
check "high risk open in S: two contacts" 2 "$(figure "$TODAY" "$S" high_open_change)"

echo "# the command office resolves one contact"
TOKEN=$("$BUILD/gridctl" token issue --database "$DB" --area 4406 --name 指挥部 --role staff 2>/dev/null)
H1_ALERT=$(sql "SELECT a.id FROM alerts a JOIN screenings s ON s.id = a.screening_id WHERE s.client_uuid = '$(uuid 9)'")
check "resolve: 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data '{"outcome":"observation_centre"}' "$URL/v1/alerts/$H1_ALERT/resolve")"
wait_for "the resolution takes one off high risk open in S, at once" 1 \
	figure "$TODAY" "$S" high_open_change
check "and off the city" 1 "$(figure "$TODAY" 4406 high_open_change)"
rebuild --day "$TODAY" --check
check "--check after the resolution: equal" "0 $TODAY: equal" "$STATUS $(cut -d' ' -f1-2 "$GRIDWALL_VAR/out")"

echo "# a row edited by hand"
D10=$(day 10)
sql "UPDATE daily_aggregates SET persons_screened = persons_screened + 7 WHERE day = '$D10' AND area_code = '$N'" >/dev/null
rebuild --from "$(day 11)" --to "$(day 9)" --check
check "--check exits 1" 1 "$STATUS"
check "and names the day, area and figure, with both values" \
	"$D10 $N persons_screened table=8 rebuilt=1" "$(grep "^$D10 " "$GRIDWALL_VAR/out")"
check "the days around it are equal, the day itself differs in one area" \
	"$(day 11): equal|$D10: 1 area differs|$(day 9): equal" \
	"$(sed -n 's/^\([0-9-]*: \(equal\|1 area differs\)\).*/\1/p' "$GRIDWALL_VAR/out" | paste -sd'|')"
check "--check changed nothing" 8 "$(figure "$D10" "$N" persons_screened)"
rebuild --day "$D10"
check "the rebuild says what it did" "0 $D10: 5 areas rebuilt, 1 row differed from the table" \
	"$STATUS $(cat "$GRIDWALL_VAR/out")"
check "a past day rebuilt: no word about reloading today" "" "$(cat "$GRIDWALL_VAR/err")"
check "the row is repaired" 1 "$(figure "$D10" "$N" persons_screened)"
rebuild --day "$D10" --check
check "--check exits 0 again" "0 $D10: equal" "$STATUS $(cut -d' ' -f1-2 "$GRIDWALL_VAR/out")"
sql "INSERT INTO daily_aggregates (day, area_code) VALUES ('$(day 15)', '$N')" >/dev/null
rebuild --day "$(day 15)" --check
check "a row of zeros equals no row" "0 $(day 15): equal (0 areas)" "$STATUS $(cat "$GRIDWALL_VAR/out")"

echo "# a rebuild while records arrive"
for part in 0 1 2 3; do
	for i in $(seq 1 10); do
		record $((100 + part * 10 + i)) $((AT + 100 + part * 10 + i)) "$N" "$N-00001" \
			440605199001010022 李秀英 36.$i
	done >"$GRIDWALL_VAR/more$part.jsonl"
done
# Four pushes a little apart, so that rebuilds run between and during them.
(
	for part in 0 1 2 3; do
		"$BUILD/gridctl" push --endpoint "$INGEST" --batch 2 "$GRIDWALL_VAR/more$part.jsonl" >/dev/null 2>&1
		sleep 0.3
	done
) &
PUSH_PID=$!
rebuilt=0
while kill -0 "$PUSH_PID" 2>/dev/null; do
	rebuild --day "$TODAY"
	[ "$STATUS" = 0 ] && rebuilt=$((rebuilt + 1))
done
wait "$PUSH_PID"
PUSH_PID=
rebuild --day "$TODAY"
check "rebuilds of today while records arrive succeed" "0 yes" "$STATUS $([ "$rebuilt" -ge 1 ] && echo yes)"
wait_for "reportd has counted the 40 more" yes caught_up
rebuild --from "$(day 31)" --to "$(day -4)" --check
check "afterwards every day is still equal" "0 36" "$STATUS $(grep -c ': equal (' "$GRIDWALL_VAR/out")"
check "李秀英 is one person however often she is screened" "45 4" \
	"$(figure "$TODAY" "$N" screenings) $(figure "$TODAY" "$N" persons_screened)"
rebuild --from "$(day 31)" --to "$(day -4)"
check "a rebuild of a healthy table changes no row" "0 36 0" \
	"$STATUS $(grep -c 'areas\? rebuilt' "$GRIDWALL_VAR/out") $(grep -vc ' 0 rows differed' "$GRIDWALL_VAR/out")"

echo "# today's rows repaired, and reportd told"
sql "UPDATE daily_aggregates SET screenings = screenings + 100 WHERE day = '$TODAY' AND area_code = '$N'" >/dev/null
rebuild --day "$TODAY"
check "a rebuild that changed today's rows says to send reportd SIGHUP" "0 1" \
	"$STATUS $(grep -c 'send reportd SIGHUP' "$GRIDWALL_VAR/err")"
kill -HUP "$PID_reportd"

echo "# usage"
rebuild --day 2026-02-30 --check
check "a day that is no date: 2, named" "2 gridctl report rebuild: bad value for --day: 2026-02-30" \
	"$STATUS $(head -n 1 "$GRIDWALL_VAR/err")"
rebuild --from "$TODAY" --to "$(day 1)"
check "--from after --to: 2" "2 yes" "$STATUS $(grep -q 'is after --to' "$GRIDWALL_VAR/err" && echo yes)"
rebuild --from "$(day 366)" --to "$TODAY" --check
check "more than 366 days: 2" "2 yes" "$STATUS $(grep -q 'at most 366' "$GRIDWALL_VAR/err" && echo yes)"
rebuild --from "$(day 365)" --to "$TODAY" --check
check "366 days: allowed" 0 "$STATUS"
rebuild --check
check "no day: 2" 2 "$STATUS"

echo "# GET /v1/aggregates: the figures by name"
FIGS='screenings persons_screened households_screened fevers new_alerts released households_registered households_not_reached key_persons high_risk coverage'
row() {
	curl -s "$URL/v1/aggregates?area=$1&from=$TODAY&to=$TODAY" |
		jq -r --arg a "$1" --arg d "$TODAY" --arg f "$FIGS" \
			'.rows[] | select(.area == $a and .day == $d) | [($f | split(" "))[] as $k | .[$k]
			 | if type == "number" then (. * 1000 | round / 1000 | tostring) else tostring end] | join(" ")'
}
check "a row carries every figure, none of the old names" "true false" \
	"$(curl -s "$URL/v1/aggregates?area=$N&from=$TODAY&to=$TODAY" | jq -r --arg f "$FIGS" \
		'.rows[0] | "\(($f | split(" ")) - keys == []) \(has("screened"))"')"
wait_for "N today: 45 screenings, 4 persons, 3 households, 1 fever, 4 alerts, 1 released; 2 registered, all reached; 1 key person, no high risk" \
	"45 4 3 1 4 1 2 0 1 0 1" row "$N"
check "S today: 2 registered, 1 not reached (coverage 0.5); 2 key persons; 1 high risk left open" \
	"4 3 1 0 3 1 2 1 2 1 0.5" "$(row "$S")"
check "N2 today: 陈志强, whose household is in N" "1 1 0 0 0 0 0 0 0 0" "$(row "$N2" | cut -d' ' -f1-10)"

stop_daemon reportd
check "reportd stops cleanly" 0 "$STATUS"
stop_daemon rulesd
stop_daemon ingestd
