#!/bin/bash
# The whole pipeline on a real PostgreSQL: ingestd, rulesd and reportd on a
# throwaway cluster, a known set of records pushed with gridctl, and exact
# outcomes checked: per-record replies, rows, alerts for exactly the right
# persons (live on ZeroMQ and in the table), aggregates over HTTP, catch-up
# after rulesd was down, and clean stops.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
# small counts are not withheld here: tests/integration/aggregates.sh checks that
REPORT_EXTRA="suppress_below = 1" write_config

NOW=$(date -u +%s)
AT=$((NOW - 3600))
DAY=$(date -u -d "@$((AT + 28800))" +%F)          # the local (UTC+8) day reportd counts in
ARRIVED_3=$(date -u -d "@$((AT - 3 * 86400))" +%F)
ARRIVED_1=$(date -u -d "@$((AT - 1 * 86400))" +%F)
ARRIVED_20=$(date -u -d "@$((AT - 20 * 86400))" +%F)
N=440605001001001   # a Nanhai grid
S=440606001001001   # a Shunde grid

uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }

# Fifteen lines: normal, key person, high (fever from Hubei), high (close
# contact), a fever in the household of that close contact (key person by
# the household), too long ago (but living with the fever from Hubei: key
# person by the household), four invalid, a duplicate in the batch, a repeat
# of a key person, a line of garbage, a new resident from Wuhan with a
# cough, and a normal arrival from a place that is no risk area.
cat >"$GRIDWALL_VAR/records.jsonl" <<JSON
{"client_uuid":"$(uuid 1)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","household_code":"$N-00001","id_type":"resident_id","id_number":"440605198503120016","name":"陈志强","phone":"13800000001","temperature":36.5}
{"client_uuid":"$(uuid 2)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","household_code":"$N-00001","id_type":"resident_id","id_number":"440605199001010022","name":"李秀英","temperature":36.6,"origin_region":"420100","arrived_on":"$ARRIVED_3"}
{"client_uuid":"$(uuid 3)","channel":"checkpoint","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"44060519781120003X","name":"黄伟","temperature":38.1,"origin_region":"420100","arrived_on":"$ARRIVED_3"}
{"client_uuid":"$(uuid 4)","channel":"door_to_door","screened_at":$AT,"grid_code":"$S","id_type":"resident_id","id_number":"440606196507070041","name":"梁淑芬","temperature":36.7,"contact":"confirmed"}
{"client_uuid":"$(uuid 5)","channel":"building_captain","screened_at":$AT,"grid_code":"$S","id_type":"resident_id","id_number":"440606200102140055","name":"何俊杰","temperature":37.5}
{"client_uuid":"$(uuid 6)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"440605199505050060","name":"吴丽娟","temperature":36.4,"origin_region":"420100","arrived_on":"$ARRIVED_20"}
{"client_uuid":"$(uuid 7)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"440605198503120110","name":"错号","temperature":36.5}
{"client_uuid":"$(uuid 8)","channel":"door_to_door","screened_at":$AT,"grid_code":"440699999999999","id_type":"resident_id","id_number":"440605198503120016","name":"陈志强","temperature":36.5}
{"client_uuid":"$(uuid 9)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"440605198503120016","name":"陈志强","temperature":45.0}
{"client_uuid":"$(uuid 1)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","household_code":"$N-00001","id_type":"resident_id","id_number":"440605198503120016","name":"陈志强","phone":"13800000001","temperature":36.5}
{"client_uuid":"$(uuid 11)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"440605198503120016","temperature":36.5}
{"client_uuid":"$(uuid 12)","channel":"follow_up","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"440605199001010022","name":"李秀英","temperature":36.8,"origin_region":"420100","arrived_on":"$ARRIVED_3"}
this is not json
{"client_uuid":"$(uuid 14)","channel":"self_declaration","screened_at":$AT,"grid_code":"$N","household_code":"$N-00099","id_type":"resident_id","id_number":"420106198808080073","name":"周敏","phone":"13900000014","temperature":36.9,"symptoms":["cough"],"origin_region":"420106","arrived_on":"$ARRIVED_1"}
{"client_uuid":"$(uuid 15)","channel":"enterprise","screened_at":$AT,"grid_code":"$S","id_type":"resident_id","id_number":"440606199209090099","name":"罗家明","temperature":36.4,"origin_region":"440300","arrived_on":"$ARRIVED_3"}
JSON

echo "# starting the three daemons"
start_daemon ingestd
start_daemon rulesd
start_daemon reportd
wait_for "reportd answers /healthz" "ok" \
	sh -c "curl -s http://127.0.0.1:$HTTP_PORT/healthz | jq -r .status"

# A Nanhai office subscribes before anything is pushed.
"$BUILD/gridctl" alerts --area 440605 --follow --json --database "$DB" \
	--endpoint "tcp://127.0.0.1:$((BASE + 3))" >"$GRIDWALL_VAR/nanhai.jsonl" 2>"$GRIDWALL_VAR/follow.err" &
FOLLOW_PID=$!
# And a city body follows Nanhai's aggregate feed.
"$BUILD/gridctl" feed --area 440605 --json --endpoint "tcp://127.0.0.1:$((BASE + 5))" --snapshot-endpoint "ipc://$GRIDWALL_VAR/snapshot.ipc" \
	>"$GRIDWALL_VAR/feed.jsonl" 2>"$GRIDWALL_VAR/feed.err" &
FEED_PID=$!
sleep 0.5

echo "# pushing 15 lines"
"$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" --batch 100 \
	"$GRIDWALL_VAR/records.jsonl" >"$GRIDWALL_VAR/push1.jsonl" 2>"$GRIDWALL_VAR/push1.err"
check "gridctl push exits 0" 0 $?
outcomes() { jq -r '[.line, .outcome, (.code // "-"), (.field // "-")] | join(" ")' "$1" | tr '\n' ';'; }
check "one result per line, each as expected" \
	"1 accepted - -;2 accepted - -;3 accepted - -;4 accepted - -;5 accepted - -;6 accepted - -;7 rejected BAD_ID_CHECKSUM id_number;8 rejected UNKNOWN_GRID grid_code;9 rejected TEMPERATURE_OUT_OF_RANGE temperature;10 duplicate - -;11 rejected MISSING_FIELD name;12 accepted - -;13 rejected BAD_JSON -;14 accepted - -;15 accepted - -;" \
	"$(outcomes "$GRIDWALL_VAR/push1.jsonl")"
check "the in-batch duplicate names the original server id" \
	"$(jq -r 'select(.line == 1) | .server_id' "$GRIDWALL_VAR/push1.jsonl")" \
	"$(jq -r 'select(.line == 10) | .server_id' "$GRIDWALL_VAR/push1.jsonl")"
check "server ids are the stored ids" \
	"$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM screenings")" \
	"$(jq -r 'select(.outcome == "accepted") | .server_id' "$GRIDWALL_VAR/push1.jsonl" | sort -n | paste -sd,)"
check "9 screenings stored" 9 "$(sql "SELECT count(*) FROM screenings")"
check "the new resident got a file, flagged new" "周敏 true" \
	"$(sql "SELECT name || ' ' || new_resident FROM persons WHERE id_number = '420106198808080073'")"
check "the unknown household was created as floating in its grid" "floating $N" \
	"$(sql "SELECT kind || ' ' || grid_code FROM households WHERE code = '$N-00099'")"
check "temperature stored to the tenth, absent ones NULL" "38.1" \
	"$(sql "SELECT temperature FROM screenings WHERE client_uuid = '$(uuid 3)'")"

echo "# alerts"
alerts() { sql "SELECT string_agg(p.name || ':' || a.level || ':' || array_to_string(a.rule_ids, '+'), ',' ORDER BY p.name) FROM alerts a JOIN persons p ON p.id = a.person_id"; }
wait_for "alerts for exactly the right persons and levels" \
	"何俊杰:key:fever+household_of_high_risk,吴丽娟:key:household_of_high_risk,周敏:high:symptoms_from_risk_area,李秀英:key:risk_area_arrival,梁淑芬:high:close_contact,黄伟:high:fever_from_risk_area" alerts
check "the repeated key person raised no second alert" 1 \
	"$(sql "SELECT count(*) FROM alerts a JOIN persons p ON p.id = a.person_id WHERE p.name = '李秀英'")"
check "assessments only for flagged screenings (7 of 9)" 7 "$(sql "SELECT count(*) FROM assessments")"
check "rulesd watermark at the last screening" "$(sql "SELECT max(id) FROM screenings")" \
	"$(sql "SELECT last_id FROM consumer_offsets WHERE consumer = 'rulesd'")"
wait_for "the Nanhai subscriber received Nanhai's 4 alerts live, no Shunde one" \
	"吴丽娟:key,周敏:high,李秀英:key,黄伟:high" \
	sh -c "jq -r '.person_name + \":\" + .level' '$GRIDWALL_VAR/nanhai.jsonl' | sort | paste -sd,"
check "live alerts carry the masked id and the area path" "440605********003X 佛山市 / 南海区 / 桂城街道 / 翠颐社区 / 第1网格" \
	"$(jq -r 'select(.person_name == "黄伟") | .id_masked + " " + .area_path' "$GRIDWALL_VAR/nanhai.jsonl")"

echo "# aggregates"
agg() { curl -s "http://127.0.0.1:$HTTP_PORT/v1/aggregates?area=$1&from=$DAY&to=$DAY" |
	jq -r '.rows[0] | [.screenings, .fevers, .persons_screened, .new_alerts, .high_risk, .key_persons] | map(tostring) | join(" ")'; }
# screenings, fevers, persons screened (李秀英 twice: once), new alerts, high risk open, under observation
wait_for "city aggregates: screenings fevers persons alerts high observed" "9 2 8 6 3 6" agg 4406
check "Nanhai aggregates" "6 1 5 4 2 4" "$(agg 440605)"
check "Shunde aggregates" "3 1 3 2 1 2" "$(agg 440606)"
check "every grid of the tree by level, with or without counts" \
	"$(sql "SELECT count(*) FROM areas WHERE level = 'grid'")" \
	"$(curl -s "http://127.0.0.1:$HTTP_PORT/v1/aggregates?area=4406&level=grid" | jq '.rows | length')"
curl -s "http://127.0.0.1:$HTTP_PORT/v1/aggregates.csv?area=4406&level=district&from=$DAY&to=$DAY" \
	>"$GRIDWALL_VAR/agg.csv"
# the JSON rows as CSV lines would be, without the coverage ratio (formatted apart)
json_lines() {
	curl -s "http://127.0.0.1:$HTTP_PORT/v1/aggregates?area=4406&level=district&from=$DAY&to=$DAY" |
	jq -r '.rows[] | [.day, .area, .name, .level, .screenings, .persons_screened, .households_screened,
	       .fevers, .new_alerts, .released, .households_registered, .households_not_reached,
	       .key_persons, .high_risk] | map(tostring) | join(",")' | paste -sd '|'
}
check "aggregates as CSV: a header, then the JSON's lines, one per district" \
	"day,area,name,level,screenings,persons_screened,households_screened,fevers,new_alerts,released,households_registered,households_not_reached,key_persons,high_risk|$(json_lines)" \
	"$(tr -d '\r' <"$GRIDWALL_VAR/agg.csv" | cut -d, -f1-14 | paste -sd '|')"
check "Nanhai's line in CSV" "$DAY,440605,南海区,district,6,5" \
	"$(grep 440605 "$GRIDWALL_VAR/agg.csv" | cut -d, -f1-6)"
check "CSV also by Accept: text/csv" "$(cat "$GRIDWALL_VAR/agg.csv")" \
	"$(curl -s -H 'Accept: text/csv' "http://127.0.0.1:$HTTP_PORT/v1/aggregates?area=4406&level=district&from=$DAY&to=$DAY")"
TOMORROW=$(date -u -d "$DAY + 1 day" +%F)
for level in "" district town grid; do
	check "today's ${level:-city} figures from memory equal the table's" \
		"$(curl -s "http://127.0.0.1:$HTTP_PORT/v1/aggregates?area=4406&level=$level&from=$DAY&to=$TOMORROW" | jq -c .rows)" \
		"$(curl -s "http://127.0.0.1:$HTTP_PORT/v1/aggregates?area=4406&level=$level&from=$DAY&to=$DAY" | jq -c .rows)"
done
check "the area tree: the city's districts, with names and parent" "440605:南海区:4406 440606:顺德区:4406" \
	"$(curl -s "http://127.0.0.1:$HTTP_PORT/v1/areas?area=4406&depth=1" | jq -r '[.areas[] | select(.level == "district") | "\(.code):\(.name):\(.parent)"] | join(" ")')"
check "the whole tree under Nanhai down to its grids" 4 \
	"$(curl -s "http://127.0.0.1:$HTTP_PORT/v1/areas?area=440605&depth=3" | jq '.areas | length')"
wait_for "the feed published Nanhai's new totals" "6 1 5 4 2 4" \
	sh -c "jq -r 'select(.area == \"440605\" and .day == \"$DAY\") | [.screenings, .fevers, .persons_screened, .new_alerts, .high_risk, .key_persons] | map(tostring) | join(\" \")' '$GRIDWALL_VAR/feed.jsonl' | tail -n 1"
check "the feed carried only areas inside Nanhai" "" \
	"$(jq -r 'select(.area | startswith("440605") | not) | .area' "$GRIDWALL_VAR/feed.jsonl")"
check "feed updates' sequence numbers only grow" "" \
	"$(jq -r 'select(.snapshot != true) | .seq' "$GRIDWALL_VAR/feed.jsonl" | awk 'NR > 1 && $1 <= prev { print "out of order at " NR } { prev = $1 }')"
check "a bad area is a 400" 400 \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/v1/aggregates?area=x")"

echo "# resending the same file"
"$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" \
	"$GRIDWALL_VAR/records.jsonl" >"$GRIDWALL_VAR/push2.jsonl" 2>/dev/null
check "every accepted record is now a duplicate with its original id" \
	"$(jq -r 'select(.outcome == "accepted") | "\(.line):\(.server_id)"' "$GRIDWALL_VAR/push1.jsonl" | paste -sd,)" \
	"$(jq -r 'select(.outcome == "duplicate" and .line != 10) | "\(.line):\(.server_id)"' "$GRIDWALL_VAR/push2.jsonl" | paste -sd,)"
check "still 9 screenings" 9 "$(sql "SELECT count(*) FROM screenings")"

echo "# rulesd down: records wait in the table, then are caught up"
stop_daemon rulesd
check "rulesd stops cleanly on SIGTERM" 0 "$STATUS"
cat >"$GRIDWALL_VAR/late.jsonl" <<JSON
{"client_uuid":"$(uuid 21)","channel":"door_to_door","screened_at":$AT,"grid_code":"$S","id_type":"resident_id","id_number":"440605197003030087","name":"郭建华","temperature":36.6,"origin_region":"4201","arrived_on":"$ARRIVED_1"}
{"client_uuid":"$(uuid 22)","channel":"door_to_door","screened_at":$AT,"grid_code":"$S","id_type":"resident_id","id_number":"440606199209090099","name":"罗家明","temperature":36.5}
JSON
"$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" "$GRIDWALL_VAR/late.jsonl" >/dev/null 2>&1
check "records stored while rulesd is down" 11 "$(sql "SELECT count(*) FROM screenings")"
sleep 0.3
check "no alert without rulesd" 6 "$(sql "SELECT count(*) FROM alerts")"
start_daemon rulesd
wait_for "rulesd caught up: the late key person is flagged" "key" \
	sql "SELECT a.level FROM alerts a JOIN persons p ON p.id = a.person_id WHERE p.name = '郭建华'"
wait_for "reportd caught up: 11 screenings, 郭建华 observed, 罗家明 once" "11 2 9 7 3 7" agg 4406
check "every screening evaluated exactly once (assessments = flagged ones)" 8 \
	"$(sql "SELECT count(*) FROM assessments")"

echo "# PostgreSQL stopped under load: nothing acknowledged until it is back"
"$ROOT/deploy/pg.sh" stop immediate >/dev/null
cat >"$GRIDWALL_VAR/outage.jsonl" <<JSON
{"client_uuid":"$(uuid 31)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"440605198503120016","name":"陈志强","temperature":37.8}
JSON
"$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" "$GRIDWALL_VAR/outage.jsonl" \
	>"$GRIDWALL_VAR/outage.out" 2>"$GRIDWALL_VAR/outage.err" &
PUSH_PID=$!
sleep 1.5
check "no answer while the database is down" "" "$(cat "$GRIDWALL_VAR/outage.out")"
"$ROOT/deploy/pg.sh" start >/dev/null
wait "$PUSH_PID"
check "the record is accepted once the database is back" accepted \
	"$(jq -r .outcome "$GRIDWALL_VAR/outage.out")"
check "the device was told to retry later while the database was down" yes \
	"$(grep -q 'server busy (database unavailable)' "$GRIDWALL_VAR/outage.err" && echo yes)"
check "ingestd reconnected" 1 "$(grep -c 'database connected again' "$GRIDWALL_VAR/log/ingestd.log")"
wait_for "rulesd reconnected and evaluated it: the fever raised an attention alert" "attention" \
	sql "SELECT a.level FROM alerts a JOIN screenings s ON s.id = a.screening_id WHERE s.client_uuid = '$(uuid 31)'"
wait_for "reportd reconnected and counted it" "12 3 9 8 3 7" agg 4406

echo "# reload and stop"
kill -HUP "$PID_ingestd" "$PID_rulesd" "$PID_reportd"
sleep 0.3
check "daemons survive SIGHUP" 3 "$(kill -0 "$PID_ingestd" "$PID_rulesd" "$PID_reportd" 2>/dev/null && echo 3)"
stop_daemon reportd
check "reportd stops cleanly" 0 "$STATUS"
stop_daemon rulesd
check "rulesd stops cleanly" 0 "$STATUS"
stop_daemon ingestd
check "ingestd stops cleanly" 0 "$STATUS"
kill "$FOLLOW_PID" 2>/dev/null
wait "$FOLLOW_PID" 2>/dev/null
check "gridctl alerts --follow stops cleanly on SIGTERM" 0 $?
FOLLOW_PID=
kill "$FEED_PID" 2>/dev/null
wait "$FEED_PID" 2>/dev/null
check "gridctl feed stops cleanly on SIGTERM" 0 $?
FEED_PID=
