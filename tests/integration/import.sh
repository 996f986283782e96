#!/bin/bash
# gridctl import on a real PostgreSQL: a community's spreadsheet saved as
# CSV (Chinese column names, a BOM, CRLF, quoted commas, quotes and line
# breaks, valid rows and one of each kind of invalid row, a repeated row)
# is imported with exact per-row outcomes and line numbers, the rows are
# checked in the tables, the same file is imported again (all duplicates
# with the same server ids, nothing stored twice) with a CSV report, and
# files in the wrong shape are refused with nothing sent.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
write_config

CSV=$ROOT/tests/integration/import-fixture.csv
E=tcp://127.0.0.1:$((BASE + 1))
DAY=2020-02-05       # the fixture's screening day, local time

# import OUT ERR ARGS...: runs gridctl import; STATUS gets its exit status.
import() {
	out=$1 err=$2
	shift 2
	"$BUILD/gridctl" import --endpoint "$E" "$@" >"$out" 2>"$err"
	STATUS=$?
}
outcomes() { jq -r '[.line, .outcome, (.code // "-"), (.field // "-")] | join(" ")' "$1" | tr '\n' ';'; }
uuid_of() { jq -r "select(.line == $2) | .client_uuid" "$1"; }
screenings() { sql "SELECT count(*) FROM screenings"; }

check "the fixture starts with a UTF-8 BOM" "efbbbf" "$(head -c 3 "$CSV" | od -An -tx1 | tr -d ' \n')"
check "the fixture's rows end in CRLF (one line break inside quotes is LF)" "22 23" \
	"$(grep -c $'\r$' "$CSV") $(wc -l <"$CSV")"

echo "# starting the three daemons"
start_daemon ingestd
start_daemon rulesd
start_daemon reportd
wait_for "reportd answers /healthz" "ok" \
	sh -c "curl -s http://127.0.0.1:$HTTP_PORT/healthz | jq -r .status"

echo "# importing the fixture"
import "$GRIDWALL_VAR/import1.jsonl" "$GRIDWALL_VAR/import1.err" "$CSV"
check "gridctl import exits 0" 0 "$STATUS"
check "one result per data row, by the line it starts on, each as expected" \
	"2 accepted - -;3 accepted - -;5 accepted - -;6 accepted - -;7 rejected BAD_ID_CHECKSUM id_number;8 rejected UNKNOWN_GRID grid_code;9 rejected TEMPERATURE_OUT_OF_RANGE temperature;10 rejected BAD_TYPE temperature;11 rejected BAD_TYPE sex;12 rejected BAD_TYPE symptoms;13 rejected BAD_TYPE screened_at;14 rejected MISSING_FIELD name;15 rejected BAD_PHONE phone;16 rejected BAD_DATE arrived_on;17 rejected BAD_UUID client_uuid;18 rejected BAD_TYPE channel;19 duplicate - -;20 rejected BAD_ROW -;22 accepted - -;23 accepted - -;" \
	"$(outcomes "$GRIDWALL_VAR/import1.jsonl")"
check "the summary counts the rows" "gridctl import: rows=20 accepted=6 duplicate=1 rejected=13" \
	"$(cat "$GRIDWALL_VAR/import1.err")"
check "the repeated row is a duplicate of the first, with its server id" \
	"$(jq -r 'select(.line == 2) | .server_id' "$GRIDWALL_VAR/import1.jsonl")" \
	"$(jq -r 'select(.line == 19) | .server_id' "$GRIDWALL_VAR/import1.jsonl")"
check "server ids are the stored ids" \
	"$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM screenings")" \
	"$(jq -r 'select(.outcome == "accepted") | .server_id' "$GRIDWALL_VAR/import1.jsonl" | sort -n | paste -sd,)"
check "6 screenings stored" 6 "$(screenings)"
check "a row without 记录编号 gets a UUIDv5, stored as its client_uuid" "yes 1" \
	"$(uuid_of "$GRIDWALL_VAR/import1.jsonl" 2 | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' && echo yes) $(sql "SELECT count(*) FROM screenings WHERE client_uuid = '$(uuid_of "$GRIDWALL_VAR/import1.jsonl" 2)'")"
check "a given 记录编号 is kept" "00000000-0000-4000-8000-000000000101" \
	"$(sql "SELECT client_uuid FROM screenings WHERE id = $(jq -r 'select(.line == 5) | .server_id' "$GRIDWALL_VAR/import1.jsonl")")"

echo "# what was stored"
person() { sql "SELECT name FROM persons WHERE id_number = '$1'"; }
check "a name with quotes is stored verbatim" '欧阳"小明"' "$(person 420106199001010036)"
check "a name with a comma is stored verbatim" '何, 小美' "$(person 440606199203030028)"
check "a person without a document, by name" '王 "阿婆" female' \
	"$(sql "SELECT name || ' ' || sex FROM persons WHERE id_type = 'none'")"
row3=$(uuid_of "$GRIDWALL_VAR/import1.jsonl" 3)
check "temperature with ℃ and symptoms split on 、 and ；" "37.8 {cough,fatigue,sore_throat}" \
	"$(sql "SELECT temperature || ' ' || symptoms::text FROM screenings WHERE client_uuid = '$row3'")"
check "a note with a comma and a line break is stored verbatim" t \
	"$(sql "SELECT note = E'从武汉返回,自行隔离\\n楼长已登记' FROM screenings WHERE client_uuid = '$row3'")"
check "dates written 1990/1/1, 2020/1/20 and 2020年2月1日" "1990-01-01 2020-01-20 2020-02-01" \
	"$(sql "SELECT p.birth_date || ' ' || s.departed_on || ' ' || s.arrived_on FROM screenings s JOIN persons p ON p.id = s.person_id WHERE s.client_uuid = '$row3'")"
check "Chinese values translated: 卡口, 男, 无" "checkpoint male none" \
	"$(sql "SELECT s.channel || ' ' || p.sex || ' ' || s.contact FROM screenings s JOIN persons p ON p.id = s.person_id WHERE s.client_uuid = '$row3'")"
check "Chinese values translated: 自主申报, 女, 疑似, 气促" "self_declaration female suspected {shortness_of_breath}" \
	"$(sql "SELECT s.channel || ' ' || p.sex || ' ' || s.contact || ' ' || s.symptoms::text FROM screenings s JOIN persons p ON p.id = s.person_id WHERE p.id_number = '440606199203030028'")"
check "screening times: local (UTC+8) with and without seconds, RFC 3339, Unix seconds" \
	"1580868000,1580869800,1580871600,1580871600,1580875230,1580889600" \
	"$(sql "SELECT string_agg(extract(epoch FROM screened_at)::bigint::text, ',' ORDER BY id) FROM screenings")"
agg() { curl -s "http://127.0.0.1:$HTTP_PORT/v1/aggregates?area=4406&from=$DAY&to=$DAY" | jq -r '.rows[0].screenings'; }
wait_for "the imported screenings reached reportd, counted on their day" 6 agg

echo "# the same file again, with a CSV report"
import "$GRIDWALL_VAR/import2.out" "$GRIDWALL_VAR/import2.err" --report "$GRIDWALL_VAR/report.csv" "$CSV"
check "the second import exits 0" 0 "$STATUS"
check "with --report nothing is printed on stdout" "" "$(cat "$GRIDWALL_VAR/import2.out")"
check "the report starts with a BOM and its column names, CRLF" \
	$'\xef\xbb\xbfline,outcome,server_id,code,field,message\r' "$(head -n 1 "$GRIDWALL_VAR/report.csv")"
check "one report row per data row" 20 "$(tail -n +2 "$GRIDWALL_VAR/report.csv" | wc -l)"
check "every accepted row is now a duplicate with its original id" \
	"$(jq -r 'select(.outcome == "accepted" or .outcome == "duplicate") | "\(.line):duplicate:\(.server_id)"' "$GRIDWALL_VAR/import1.jsonl" | paste -sd,)" \
	"$(tail -n +2 "$GRIDWALL_VAR/report.csv" | tr -d '\r' | awk -F, '$2 != "rejected" { print $1 ":" $2 ":" $3 }' | paste -sd,)"
check "rejected rows keep their code and field in the report" \
	"$(jq -r 'select(.outcome == "rejected") | "\(.line) \(.code) \(.field // "")"' "$GRIDWALL_VAR/import1.jsonl" | paste -sd,)" \
	"$(tail -n +2 "$GRIDWALL_VAR/report.csv" | awk -F, '$2 == "rejected" { print $1 " " $4 " " $5 }' | paste -sd,)"
check "a message with quotes is quoted as RFC 4180 says" \
	'11,rejected,,BAD_TYPE,sex,"sex: unknown name ""未知"""' \
	"$(grep '^11,' "$GRIDWALL_VAR/report.csv" | tr -d '\r')"
check "still 6 screenings: nothing stored twice" 6 "$(screenings)"
check "the summary says so" "gridctl import: rows=20 accepted=0 duplicate=7 rejected=13" \
	"$(cat "$GRIDWALL_VAR/import2.err")"

echo "# the same row with English names, in another order: the same uuid"
cat >"$GRIDWALL_VAR/english.csv" <<CSV
name,id_number,grid_code,screened_at,channel,household_code,phone,sex,birth_date,temperature,contact,id_type
陈志强,440605198503120016,440605001001001,2020-02-05 10:00,door_to_door,440605001001001-00001,13800000001,male,1985-03-12,36.5,none,resident_id
CSV
import "$GRIDWALL_VAR/english.jsonl" "$GRIDWALL_VAR/english.err" "$GRIDWALL_VAR/english.csv"
check "it is a duplicate of the Chinese file's row 2" \
	"duplicate $(jq -r 'select(.line == 2) | "\(.server_id) \(.client_uuid)"' "$GRIDWALL_VAR/import1.jsonl")" \
	"$(jq -r '"\(.outcome) \(.server_id) \(.client_uuid)"' "$GRIDWALL_VAR/english.jsonl")"

echo "# progress on a terminal only"
check "no progress bar when stderr is not a terminal" "" \
	"$(grep -c 'rows/s' "$GRIDWALL_VAR/import1.err" | grep -v '^0$')"
script -qec "'$BUILD/gridctl' import --endpoint '$E' --report '$GRIDWALL_VAR/tty.csv' '$CSV'" /dev/null \
	>"$GRIDWALL_VAR/tty.out" 2>&1
check "a progress bar on a terminal, ending at 100%" 1 \
	"$(grep -c '100%  20/20 rows answered' "$GRIDWALL_VAR/tty.out")"

echo "# files in the wrong shape: refused, nothing sent"
printf '姓名,网格编码,体重\r\n张三,440605001001001,60\r\n' >"$GRIDWALL_VAR/unknown.csv"
import /dev/null "$GRIDWALL_VAR/unknown.err" "$GRIDWALL_VAR/unknown.csv"
check "an unknown column: exit 2, named" "2 yes" \
	"$STATUS $(grep -q 'unknown column "体重" (column 3 of line 1)' "$GRIDWALL_VAR/unknown.err" && echo yes)"
printf 'name,grid_code,id_number,channel,screened_at\n陈志强,440605001001001,440605198503120016,入户,1580868000\n"bad"quote,440605001001001,,入户,1580868000\n' \
	>"$GRIDWALL_VAR/quote.csv"
import /dev/null "$GRIDWALL_VAR/quote.err" "$GRIDWALL_VAR/quote.csv"
check "bad quoting on line 3: exit 2, the line named" "2 yes" \
	"$STATUS $(grep -q 'line 3: bad quoting' "$GRIDWALL_VAR/quote.err" && echo yes)"
printf '\xd0\xd5\xc3\xfb,grid_code\n' >"$GRIDWALL_VAR/gbk.csv"
import /dev/null "$GRIDWALL_VAR/gbk.err" "$GRIDWALL_VAR/gbk.csv"
check "names that are not UTF-8 (GBK): exit 2" "2 yes" \
	"$STATUS $(grep -q 'not UTF-8' "$GRIDWALL_VAR/gbk.err" && echo yes)"
import /dev/null "$GRIDWALL_VAR/pair.err" --server-key "$(printf 'x%.0s' $(seq 40))" "$CSV"
check "--server-key without --key-file is a usage error" 2 "$STATUS"
import /dev/null "$GRIDWALL_VAR/curve.err" --server-key "$(printf 'x%.0s' $(seq 40))" \
	--key-file "$GRIDWALL_VAR/missing.key" "$CSV"
check "a Curve key file that cannot be read: exit 2" 2 "$STATUS"
check "still 6 screenings" 6 "$(screenings)"

echo "# stop"
stop_daemon reportd
s1=$STATUS
stop_daemon rulesd
s2=$STATUS
stop_daemon ingestd
check "the daemons stop cleanly after the imports" "0 0 0" "$s1 $s2 $STATUS"
