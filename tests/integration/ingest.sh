#!/bin/bash
# ingestd on its own terms: every error code over HTTP/JSON with its field,
# the HTTP intake's statuses (400 with the position, 413, 503 with
# Retry-After, keep-alive), duplicates across a restart, person and
# household matching, and PostgreSQL stopped mid-stream while simulated
# devices keep resending: every record stored exactly once.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
INGEST_EXTRA="max_batch_records = 30
max_inflight_records = 25
max_message_bytes = 65536
http_max_body_bytes = 65536"
write_config
start_daemon ingestd
URL=http://127.0.0.1:$INGEST_HTTP_PORT
wait_for "ingestd answers /healthz" ok sh -c "curl -s $URL/healthz | jq -r .status"

NOW=$(date -u +%s)
AT=$((NOW - 600))
TODAY=$(date -u -d "@$((AT + 28800))" +%F)
TOMORROW=$(date -u -d "@$((AT + 28800 + 86400))" +%F)
N=440605001001001
uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
# rec N FIELDS: a valid record with FIELDS (JSON members) added or overriding.
rec() {
	jq -cn --arg u "$(uuid "$1")" --argjson at "$AT" --arg g "$N" --argjson extra "$2" \
		'{client_uuid: $u, channel: "door_to_door", screened_at: $at, grid_code: $g,
		  id_type: "resident_id", id_number: "440605198503120016", name: "陈志强",
		  temperature: 36.6} + $extra'
}
post() { curl -s -X POST -H 'Content-Type: application/json' --data-binary @"$1" "$URL/v1/screenings"; }

echo "# every error code, with its field"
{
	rec 101 '{"client_uuid": null}'
	rec 102 '{"client_uuid": "not-a-uuid"}'
	rec 103 '{"channel": null}'
	rec 104 '{"screened_at": null}'
	rec 105 '{"grid_code": null}'
	rec 106 '{"name": null}'
	rec 107 '{"name": "名字太长名字太长名字太长名字太长名字太长名字太长名字太长名字太长"}'
	rec 108 '{"name": "bell\u0007"}'
	rec 109 '{"id_number": "44060519850312001"}'
	rec 110 '{"id_number": "440605198503120017"}'
	rec 111 '{"id_number": "440605199002300013"}'
	rec 112 '{"phone": "12345"}'
	rec 113 '{"birth_date": "1985-02-30"}'
	rec 114 '{"grid_code": "440699999999999"}'
	rec 115 '{"grid_code": "440605001001"}'
	rec 116 '{"origin_region": "42X"}'
	rec 117 '{"temperature": 33.9}'
	rec 118 "{\"screened_at\": $((NOW + 86400))}"
	rec 119 "{\"origin_region\": \"420100\", \"arrived_on\": \"$TOMORROW\"}"
	rec 120 "{\"origin_region\": \"420100\", \"arrived_on\": \"$TODAY\", \"departed_on\": \"$TOMORROW\"}"
	rec 121 '{"colour": "blue"}'
	rec 122 '{"temperature": "hot"}'
	rec 123 '{"channel": "teleport"}'
	rec 124 '{"id_type": "resident_id", "id_number": null}'
	rec 125 '{}'
} | jq -cs . >"$GRIDWALL_VAR/errors.json"
post "$GRIDWALL_VAR/errors.json" >"$GRIDWALL_VAR/errors.out"
check "each bad record rejected with its code and field, its valid neighbour stored" \
	"MISSING_FIELD:client_uuid BAD_UUID:client_uuid MISSING_FIELD:channel MISSING_FIELD:screened_at MISSING_FIELD:grid_code MISSING_FIELD:name FIELD_TOO_LONG:name BAD_TEXT:name BAD_ID_FORMAT:id_number BAD_ID_CHECKSUM:id_number BAD_ID_BIRTH_DATE:id_number BAD_PHONE:phone BAD_DATE:birth_date UNKNOWN_GRID:grid_code NOT_A_GRID:grid_code BAD_REGION:origin_region TEMPERATURE_OUT_OF_RANGE:temperature SCREENED_AT_IN_FUTURE:screened_at ARRIVED_AFTER_SCREENING:arrived_on DEPARTED_AFTER_ARRIVAL:departed_on UNKNOWN_FIELD:colour BAD_TYPE:temperature BAD_TYPE:channel MISSING_FIELD:id_number accepted:-" \
	"$(jq -r '[.results[] | (.code // .outcome) + ":" + (.field // "-")] | join(" ")' "$GRIDWALL_VAR/errors.out")"
check "every message names the problem" 0 \
	"$(jq '[.results[] | select(.outcome == "rejected" and ((.message // "") | length) < 10)] | length' "$GRIDWALL_VAR/errors.out")"
check "totals in the answer" "1 0 24" "$(jq -r '"\(.accepted) \(.duplicate) \(.rejected)"' "$GRIDWALL_VAR/errors.out")"
check "only the valid record is stored" 1 "$(sql "SELECT count(*) FROM screenings")"

echo "# the HTTP intake"
printf '[{"client_uuid": "x",\n  "channel": door}]' >"$GRIDWALL_VAR/malformed.json"
check "malformed JSON is a 400 that says where" "400 line 2" \
	"$(curl -s -o "$GRIDWALL_VAR/m.out" -w '%{http_code}' -X POST --data-binary @"$GRIDWALL_VAR/malformed.json" "$URL/v1/screenings") $(jq -r .error "$GRIDWALL_VAR/m.out" | grep -o 'line 2')"
{ for i in $(seq 201 231); do rec "$i" '{}'; done; } | jq -cs . >"$GRIDWALL_VAR/many.json"
check "31 records over a limit of 30 is a 413" 413 \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$GRIDWALL_VAR/many.json" "$URL/v1/screenings")"
head -c 70000 /dev/zero | tr '\0' ' ' >"$GRIDWALL_VAR/big.json"
check "a body over 64 KiB is a 413" 413 \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$GRIDWALL_VAR/big.json" "$URL/v1/screenings")"
{ rec 301 '{}'; echo 'not json at all'; echo; rec 302 '{"id_number": "440605199001010022", "name": "李秀英"}'; } >"$GRIDWALL_VAR/nd.json"
check "NDJSON: one result per line, a bad line rejected alone" "accepted BAD_JSON accepted" \
	"$(post "$GRIDWALL_VAR/nd.json" | jq -r '[.results[] | .code // .outcome] | join(" ")')"
check "keep-alive: two requests on one connection" 1 \
	"$(curl -sv "$URL/healthz" "$URL/healthz" 2>&1 | grep -c 'Re-using existing connection')"
check "unknown path is a 404, wrong method a 405" "404 405" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope") $(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/screenings")"

echo "# metrics"
curl -s "$URL/metrics" >"$GRIDWALL_VAR/metrics.txt"
check "rejections counted by code" 1 \
	"$(grep -c '^gridwall_ingest_rejected_total{code="BAD_ID_CHECKSUM"} 1$' "$GRIDWALL_VAR/metrics.txt")"
check "accepted counter" "gridwall_ingest_accepted_total 3" \
	"$(grep '^gridwall_ingest_accepted_total' "$GRIDWALL_VAR/metrics.txt")"
check "commit latency histogram" 1 "$(grep -c '^gridwall_ingest_commit_ms_count' "$GRIDWALL_VAR/metrics.txt")"

echo "# hostile frames on the device socket"
ZMQ_URL=tcp://127.0.0.1:$((BASE + 1))
printf '\022\377\377\377\377\017\001' >"$GRIDWALL_VAR/garbage.bin"
check "an undecodable frame is refused with a reason" "BAD_REQUEST cannot decode SubmitRequest (7 bytes)" \
	"$("$BUILD/tests/zsend" "$ZMQ_URL" - "$GRIDWALL_VAR/garbage.bin")"
check "a message of the wrong shape is refused" "BAD_REQUEST expected [empty frame][SubmitRequest], got 4 frames" \
	"$("$BUILD/tests/zsend" "$ZMQ_URL" - "$GRIDWALL_VAR/garbage.bin" "$GRIDWALL_VAR/garbage.bin")"
head -c 100000 /dev/urandom >"$GRIDWALL_VAR/huge.bin"
check "a frame over max_message_bytes is dropped by ZeroMQ, unanswered" "no reply" \
	"$("$BUILD/tests/zsend" "$ZMQ_URL" - "$GRIDWALL_VAR/huge.bin")"
{ for i in $(seq 601 631); do rec "$i" '{}'; done; } >"$GRIDWALL_VAR/many.jsonl"
check "a batch over max_batch_records is refused whole, every record told why" "31 BAD_REQUEST" \
	"$("$BUILD/gridctl" push --endpoint "$ZMQ_URL" --batch 40 "$GRIDWALL_VAR/many.jsonl" 2>/dev/null | jq -r .code | sort | uniq -c | awk '{print $1, $2}')"
check "ingestd still serves after all that" ok "$(curl -s "$URL/healthz" | jq -r .status)"
{ for i in $(seq 701 728); do rec "$i" '{}'; done; } | jq -cs . >"$GRIDWALL_VAR/inflight.json"
check "more records than max_inflight_records: 503 with Retry-After, nothing stored" "503 1 0" \
	"$(curl -s -D "$GRIDWALL_VAR/h.txt" -o /dev/null -w '%{http_code}' -X POST --data-binary @"$GRIDWALL_VAR/inflight.json" "$URL/v1/screenings") $(grep -ci '^retry-after: 1' "$GRIDWALL_VAR/h.txt") $(sql "SELECT count(*) FROM screenings WHERE client_uuid = '$(uuid 701)'")"
check "bad requests counted" "gridwall_ingest_bad_requests_total 3" \
	"$(curl -s "$URL/metrics" | grep '^gridwall_ingest_bad_requests_total')"
# The rest runs with the default in-flight limit (ingestd restarts below).
INGEST_EXTRA="max_batch_records = 30
max_message_bytes = 65536
http_max_body_bytes = 65536"
write_config

echo "# duplicates across a restart"
{ rec 401 '{}'; rec 402 '{"id_number": "44060519781120003X", "name": "黄伟"}'; } | jq -cs . >"$GRIDWALL_VAR/two.json"
post "$GRIDWALL_VAR/two.json" | jq -r '[.results[].server_id] | join(",")' >"$GRIDWALL_VAR/two.ids"
stop_daemon ingestd
check "ingestd stops cleanly" 0 "$STATUS"
start_daemon ingestd
wait_for "ingestd is back" ok sh -c "curl -s $URL/healthz | jq -r .status"
check "after a restart the same records are duplicates with their original ids" \
	"duplicate,duplicate $(cat "$GRIDWALL_VAR/two.ids")" \
	"$(post "$GRIDWALL_VAR/two.json" | jq -r '([.results[].outcome] | join(",")) + " " + ([.results[].server_id] | join(","))')"

echo "# persons and households"
{
	rec 501 '{"id_number": "440605196006060113", "name": "新来的", "birth_date": "1960-06-06"}'
	rec 502 '{"id_number": "440605199001010022", "name": "李秀英改", "birth_date": "1990-01-02"}'
	rec 503 '{"id_type": "none", "id_number": null, "name": "小明", "phone": "13900000001", "household_code": "440605001001001-00001"}'
	rec 504 '{"id_type": "none", "id_number": null, "name": "小明", "phone": "13900000001", "household_code": "440605001001001-00001"}'
	rec 505 '{"id_type": "none", "id_number": null, "name": "小明", "phone": "13900000001", "household_code": "440605001001001-00002"}'
	rec 506 '{"household_code": "440606001001001-00001"}'
} | jq -cs . >"$GRIDWALL_VAR/persons.json"
check "all six accepted" 6 "$(post "$GRIDWALL_VAR/persons.json" | jq .accepted)"
check "an unknown document opens a file flagged as a new resident" "新来的 true 1960-06-06" \
	"$(sql "SELECT name || ' ' || new_resident || ' ' || birth_date FROM persons WHERE id_number = '440605196006060113'")"
check "a name and birth date that disagree with the registry are stored and flagged for review" \
	"birth_date:1990-01-01:1990-01-02 name:李秀英:李秀英改" \
	"$(sql "SELECT string_agg(field || ':' || registry_value || ':' || record_value, ' ' ORDER BY field) FROM person_reviews r JOIN screenings s ON s.id = r.screening_id WHERE s.client_uuid = '$(uuid 502)'")"
check "the registry itself is not changed by a record" 李秀英 \
	"$(sql "SELECT name FROM persons WHERE id_number = '440605199001010022'")"
check "without a document: same name, phone and household is the same person" 1 \
	"$(sql "SELECT count(DISTINCT person_id) FROM screenings WHERE client_uuid IN ('$(uuid 503)', '$(uuid 504)')")"
check "the same name and phone in another household is a new person, noted as a possible duplicate" \
	"same name and phone" \
	"$(sql "SELECT d.reason FROM person_duplicates d JOIN screenings s ON s.person_id = d.person_id WHERE s.client_uuid = '$(uuid 505)'")"
check "a household of another grid is created as floating in the record's grid" "floating $N" \
	"$(sql "SELECT h.kind || ' ' || h.grid_code FROM screenings s JOIN households h ON h.id = s.household_id WHERE s.client_uuid = '$(uuid 506)'")"

echo "# PostgreSQL stopped mid-stream while devices keep resending"
BEFORE=$(sql "SELECT count(*) FROM screenings")
"$BUILD/fieldsim" day --database "$DB user=postgres" --endpoint "tcp://127.0.0.1:$((BASE + 1))" \
	--count 3000 --rate 1000 --devices 20 --batch 20 --invalid 0 --resends 0 --quiet \
	>"$GRIDWALL_VAR/fieldsim.out" 2>"$GRIDWALL_VAR/fieldsim.err" &
SIM=$!
sleep 1
"$ROOT/deploy/pg.sh" stop immediate >/dev/null
sleep 2
"$ROOT/deploy/pg.sh" start >/dev/null
wait "$SIM"
SIM_STATUS=$?
[ "$SIM_STATUS" = 0 ] || sed 's/^/# fieldsim: /' "$GRIDWALL_VAR/fieldsim.err" | tail -n 20
check "every device batch was answered in the end" 0 "$SIM_STATUS"
check "every record stored exactly once" 3000 "$(( $(sql "SELECT count(*) FROM screenings") - BEFORE ))"
check "ingestd told devices to retry while the database was away" yes \
	"$([ "$(curl -s "$URL/metrics" | sed -n 's/^gridwall_ingest_retry_later_total //p')" -gt 0 ] && echo yes)"
check "no uuid stored twice" 0 "$(sql "SELECT count(*) - count(DISTINCT client_uuid) FROM screenings")"
# Once at start, again after 1,024 records stored, again on the new connection.
check "the group statements were prepared again as the table grew and after the reconnect" yes \
	"$([ "$(curl -s "$URL/metrics" | sed -n 's/^gridwall_ingest_plans_prepared_total //p')" -ge 3 ] && echo yes)"
stop_daemon ingestd
check "ingestd stops cleanly" 0 "$STATUS"
