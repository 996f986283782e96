#!/bin/bash
# Security on a live pipeline (docs/security.md):
#  - each daemon's database role can do its job and nothing else: every
#    grant of every role as a whole, then real statements as each role, the
#    ones its program runs (allowed) and the ones it must never run (refused
#    with 42501 insufficient_privilege, or reaching no row where row-level
#    security keeps a watermark to its owner);
#  - hostile text (SQL, HTML and script, quotes and backslashes, Chinese,
#    emoji and a right-to-left override) sent through the real ingestd by
#    gridctl push and by the HTTP intake is stored byte for byte, control
#    characters are refused with the field named, and every output stays
#    intact: the office API's JSON, the Server-Sent Events (one JSON line
#    per event, whatever the text holds), gridctl's text (no terminal
#    control sequence gets through), the CSV figures (RFC 4180 quoting), and
#    the dashboard (no HTML built from data; a real Chromium shows the text
#    and runs none of it);
#  - staff tokens on the live pipeline beyond tests/integration/office.sh
#    (which has a token's area on the list, the actions and the stream, a
#    made-up token, a viewer's ack and a revoked token on the list): expired
#    and revoked tokens on the stream, also on a stream already open,
#    malformed Authorization headers, a viewer's and another district's
#    other actions, areas around the token's own;
#  - CurveZMQ beyond tests/integration/curve.sh: a device that has the wrong
#    server key gets no answer, and a server key file others may read is
#    refused at start.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
REPORT_EXTRA="suppress_below = 1"
write_config
URL=http://127.0.0.1:$HTTP_PORT
IURL=http://127.0.0.1:$INGEST_HTTP_PORT
EP=tcp://127.0.0.1:$((BASE + 1))

# hex TEXT: its bytes in hex, for byte-exact comparisons.
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# dbhex SQL: the hex of the text a query answers (one row, one column).
dbhex() { sql "SELECT encode(convert_to(($1), 'UTF8'), 'hex')"; }

# Hostile area names from the registry (reference data, loaded by the
# operator): a town whose name needs CSV quoting, a community whose name
# holds a line break and what would be the next SSE event, a grid whose
# name holds a terminal's escape, a C1 CSI and a right-to-left override.
ESC=$'\x1b' CSI=$'\xc2\x9b' RLO=$'\xe2\x80\xae'
TOWN='Town, "quoted" <b>bold</b>'
COMMUNITY=$'社区<script>alert(1)</script>\r\nevent: alert\r\ndata: {"x":1}\r\n'
GRID="第9网格${ESC}[31m red ${CSI}2J ${RLO}txt.exe"
H=440605002001001
sql "INSERT INTO areas (code, parent, level, name) VALUES
  ('440605002', '440605', 'town', convert_from(decode('$(hex "$TOWN")', 'hex'), 'UTF8')),
  ('440605002001', '440605002', 'community', convert_from(decode('$(hex "$COMMUNITY")', 'hex'), 'UTF8')),
  ('$H', '440605002001', 'grid', convert_from(decode('$(hex "$GRID")', 'hex'), 'UTF8'))" >/dev/null
PATH_TEXT="佛山市 / 南海区 / $TOWN / $COMMUNITY / $GRID"

start_daemon ingestd
start_daemon rulesd
start_daemon reportd
wait_for "reportd answers /healthz" ok sh -c "curl -s $URL/healthz | jq -r .status"
wait_for "ingestd answers /healthz" ok sh -c "curl -s $IURL/healthz | jq -r .status"

###########################################################################
echo "# database roles: every grant, as a whole"
# grants ROLE: the role's privileges on the tables and sequences of public,
# "table:PRIV,PRIV" and "table(col,col):PRIV", sorted.
grants() {
	sql "SELECT string_agg(g, ' ' ORDER BY g) FROM (
	  SELECT c.relname || ':' || string_agg(a.privilege_type, ',' ORDER BY a.privilege_type) AS g
	    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
	   WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = '$1'::regrole
	   GROUP BY c.relname
	  UNION ALL
	  SELECT c.relname || '(' || string_agg(t.attname, ',' ORDER BY t.attname) || '):' || a.privilege_type
	    FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid CROSS JOIN LATERAL aclexplode(t.attacl) a
	   WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = '$1'::regrole
	   GROUP BY c.relname, a.privilege_type) x"
}
check "gridwall_ingest: the registry; screenings, persons, households and their review lists, inserted" \
	"areas:SELECT households:INSERT,SELECT households_id_seq:USAGE person_duplicates:INSERT,SELECT person_reviews:INSERT,SELECT person_reviews_id_seq:USAGE persons:INSERT,SELECT persons_id_seq:USAGE risk_areas:SELECT screenings:INSERT,SELECT screenings_id_seq:USAGE" \
	"$(grants gridwall_ingest)"
check "gridwall_rules: reads screenings; inserts assessments and alerts, keeps states, moves its watermark" \
	"alerts:INSERT,SELECT alerts_id_seq:USAGE areas:SELECT assessments:INSERT,SELECT consumer_offsets(last_id,updated_at):UPDATE consumer_offsets:SELECT household_states:INSERT,SELECT,UPDATE households:SELECT person_states:INSERT,SELECT,UPDATE persons:SELECT risk_areas:SELECT rule_sets:INSERT,SELECT rule_sets_id_seq:USAGE screenings:SELECT team_grids:SELECT" \
	"$(grants gridwall_rules)"
check "gridwall_report: reads to count and to serve the office; writes aggregates, an alert's state, the audit" \
	"alert_audit:INSERT,SELECT alert_audit_id_seq:USAGE alerts(assigned_team,outcome,state,updated_at):UPDATE alerts:SELECT areas:SELECT assessments:SELECT consumer_offsets(consumer,last_id):SELECT consumer_offsets(last_id,updated_at):UPDATE daily_aggregates:DELETE,INSERT,SELECT,UPDATE household_states:SELECT households:SELECT persons:SELECT report_settings:SELECT,UPDATE screenings:SELECT staff_tokens:SELECT" \
	"$(grants gridwall_report)"
check "gridwall_office: reads only (alerts, the persons they name, follow-up lists)" \
	"alert_audit:SELECT alerts:SELECT areas:SELECT households:SELECT person_duplicates:SELECT person_reviews:SELECT person_states:SELECT persons:SELECT rule_sets:SELECT team_grids:SELECT" \
	"$(grants gridwall_office)"
check "gridwall_analyst: reads only (what a replay needs)" \
	"areas:SELECT households:SELECT persons:SELECT risk_areas:SELECT rule_sets:SELECT screenings:SELECT" \
	"$(grants gridwall_analyst)"
check "gridwall_admin: staff tokens only (issue, list, revoke)" \
	"areas:SELECT staff_tokens(revoked_at):UPDATE staff_tokens:INSERT,SELECT staff_tokens_id_seq:USAGE" \
	"$(grants gridwall_admin)"
check "nothing granted to PUBLIC on a table, a sequence or a column" 0 \
	"$(sql "SELECT (SELECT count(*) FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
	         WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = 0)
	      + (SELECT count(*) FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid
	         CROSS JOIN LATERAL aclexplode(t.attacl) a
	         WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = 0)")"
ROLES="'gridwall_ingest','gridwall_rules','gridwall_report','gridwall_office','gridwall_analyst','gridwall_admin'"
check "six roles that log in and hold no power beyond their grants (superuser, createrole, createdb, replication, bypassrls)" \
	"6 0" "$(sql "SELECT count(*) || ' ' || count(*) FILTER (WHERE rolsuper OR rolcreaterole OR rolcreatedb
	                                       OR rolreplication OR rolbypassrls OR NOT rolcanlogin)
	            FROM pg_roles WHERE rolname IN ($ROLES)")"
check "no role is a member of another, nor of a predefined role (pg_read_all_data...)" 0 \
	"$(sql "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname IN ($ROLES)")"
check "row-level security keeps each watermark to its owner" "true 3" \
	"$(sql "SELECT relrowsecurity || ' ' || (SELECT count(*) FROM pg_policy WHERE polrelid = c.oid)
	        FROM pg_class c WHERE oid = 'consumer_offsets'::regclass")"

###########################################################################
echo "# database roles: statements, as each role"
# as_role ROLE SQL: runs SQL as ROLE in a transaction that is rolled back;
# prints "ok", or the error as "SQLSTATE: message".
as_role() {
	out=$(psql -X -q -t -A -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$DB user=$1" \
		-c 'BEGIN' -c "$2" -c 'ROLLBACK' 2>&1 >/dev/null)
	if [ $? = 0 ]; then echo ok; else printf '%s\n' "$out" | sed -n '1s/^ERROR:  //p'; fi
}
# value_as ROLE SQL: what a query answers as ROLE (rolled back too).
value_as() {
	psql -X -q -t -A -v ON_ERROR_STOP=1 "$DB user=$1" -c 'BEGIN' -c "$2" -c 'ROLLBACK' 2>&1
}
may() { check "$1 may: $2" ok "$(as_role "$1" "$2")"; }
# may_not ROLE SQL WHAT: refused, "permission denied for WHAT" (e.g. "table alerts").
may_not() { check "$1 may not: $2" "42501: permission denied for $3" "$(as_role "$1" "$2")"; }

# Rows for the statements to work on: a screening (an alert) and a token.
AT=$(($(date -u +%s) - 600))
N=440605001001001
S=440606001001001
uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
cat >"$GRIDWALL_VAR/seed.jsonl" <<JSON
{"client_uuid":"$(uuid 1)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_number":"44060519781120003X","name":"黄伟","temperature":37.9}
{"client_uuid":"$(uuid 2)","channel":"door_to_door","screened_at":$AT,"grid_code":"$S","id_number":"440606196507070041","name":"梁淑芬","temperature":36.7,"contact":"confirmed"}
JSON
"$BUILD/gridctl" push --endpoint "$EP" "$GRIDWALL_VAR/seed.jsonl" >/dev/null 2>&1
wait_for "the seed records raised an alert in Nanhai and one in Shunde" 2 sql "SELECT count(*) FROM alerts"
issue() { "$BUILD/gridctl" token issue --database "$DB" "$@" 2>>"$GRIDWALL_VAR/token.err"; }
NANHAI=$(issue --area 440605 --name 王芳 --role staff)
A1=$(sql "SELECT id FROM alerts WHERE grid_code = '$N'")

# ingestd: finds persons and households, stores a screening.
may gridwall_ingest "SELECT code, level, name FROM areas"
may gridwall_ingest "INSERT INTO households (code, grid_code, kind) VALUES ('sec-h', '$N', 'floating') RETURNING id"
may gridwall_ingest "INSERT INTO persons (id_type, name, new_resident) VALUES ('none', 'x', true) RETURNING id"
may gridwall_ingest "INSERT INTO screenings (client_uuid, channel, screened_at, grid_code, person_id) VALUES ('$(uuid 999)', 'door_to_door', now(), '$N', 1) RETURNING id"
may gridwall_ingest "INSERT INTO person_reviews (screening_id, person_id, field, registry_value, record_value) VALUES (1, 1, 'name', 'a', 'b')"
may_not gridwall_ingest "SELECT * FROM alerts" "table alerts"
may_not gridwall_ingest "SELECT * FROM person_states" "table person_states"
may_not gridwall_ingest "SELECT token_hash FROM staff_tokens" "table staff_tokens"
may_not gridwall_ingest "SELECT * FROM assessments" "table assessments"
may_not gridwall_ingest "SELECT * FROM consumer_offsets" "table consumer_offsets"
may_not gridwall_ingest "UPDATE consumer_offsets SET last_id = 0 WHERE consumer = 'rulesd'" "table consumer_offsets"
may_not gridwall_ingest "UPDATE screenings SET note = 'x' WHERE id = 1" "table screenings"
may_not gridwall_ingest "DELETE FROM screenings WHERE id = 1" "table screenings"
may_not gridwall_ingest "UPDATE persons SET name = 'x' WHERE id = 1" "table persons"
may_not gridwall_ingest "TRUNCATE screenings" "table screenings"
may_not gridwall_ingest "INSERT INTO alerts (screening_id, person_id, grid_code, level, rule_ids, reasons) VALUES (1, 1, '$N', 'high', '{}', '{}')" "table alerts"
may_not gridwall_ingest "SELECT nextval('alerts_id_seq')" "sequence alerts_id_seq"
may_not gridwall_ingest "CREATE TABLE public.x (a int)" "schema public"
check "gridwall_ingest may not: SET ROLE gridwall_report" '42501: permission denied to set role "gridwall_report"' \
	"$(as_role gridwall_ingest "SET ROLE gridwall_report")"

# rulesd: reads screenings, writes what it concludes, moves its watermark.
may gridwall_rules "SELECT s.id, p.name FROM screenings s JOIN persons p ON p.id = s.person_id"
may gridwall_rules "INSERT INTO assessments (screening_id, person_id, level, rule_ids, reasons) VALUES (2, 4, 'high', '{}', '{}') ON CONFLICT (screening_id) DO NOTHING"
may gridwall_rules "INSERT INTO alerts (kind, screening_id, person_id, grid_code, level, rule_ids, reasons) VALUES ('risk', NULL, 1, '$N', 'high', '{}', '{}') RETURNING id, raised_at"
may gridwall_rules "INSERT INTO rule_sets (path, rules, source) VALUES ('x', 0, '')"
may gridwall_rules "UPDATE consumer_offsets SET last_id = last_id, updated_at = now() WHERE consumer = 'rulesd'"
check "gridwall_rules moves its own watermark: 1 row" 1 \
	"$(value_as gridwall_rules "WITH u AS (UPDATE consumer_offsets SET last_id = last_id WHERE consumer = 'rulesd' RETURNING 1) SELECT count(*) FROM u")"
check "gridwall_rules may not move reportd's watermarks: no row" 0 \
	"$(value_as gridwall_rules "WITH u AS (UPDATE consumer_offsets SET last_id = 0 WHERE consumer LIKE 'reportd%' RETURNING 1) SELECT count(*) FROM u")"
may_not gridwall_rules "UPDATE consumer_offsets SET consumer = 'reportd.x' WHERE consumer = 'rulesd'" "table consumer_offsets"
may_not gridwall_rules "UPDATE alerts SET state = 'resolved' WHERE id = $A1" "table alerts"
may_not gridwall_rules "DELETE FROM alerts WHERE id = $A1" "table alerts"
may_not gridwall_rules "UPDATE assessments SET level = 'normal'" "table assessments"
may_not gridwall_rules "INSERT INTO screenings (client_uuid, channel, screened_at, grid_code, person_id) VALUES ('$(uuid 998)', 'door_to_door', now(), '$N', 1)" "table screenings"
may_not gridwall_rules "UPDATE persons SET name = 'x' WHERE id = 1" "table persons"
may_not gridwall_rules "SELECT token_hash FROM staff_tokens" "table staff_tokens"
may_not gridwall_rules "INSERT INTO staff_tokens (token_hash, area_code, role, name) VALUES ('x', '4406', 'staff', 'x')" "table staff_tokens"
may_not gridwall_rules "INSERT INTO daily_aggregates (day, area_code) VALUES (current_date, '4406')" "table daily_aggregates"
may_not gridwall_rules "UPDATE daily_aggregates SET screenings = 0" "table daily_aggregates"
may_not gridwall_rules "SELECT * FROM alert_audit" "table alert_audit"

# reportd: counts, serves the office (its token check, an action and its audit).
may gridwall_report "SELECT s.id, a.level FROM screenings s LEFT JOIN assessments a ON a.screening_id = s.id"
may gridwall_report "SELECT id, area_code, role, name FROM staff_tokens WHERE token_hash = 'x' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
may gridwall_report "UPDATE alerts SET state = 'acknowledged', assigned_team = NULL, outcome = NULL, updated_at = now() WHERE id = $A1"
may gridwall_report "INSERT INTO alert_audit (alert_id, action, from_state, to_state, token_id, actor) SELECT $A1, 'ack', 'open', 'acknowledged', id, name FROM staff_tokens LIMIT 1"
may gridwall_report "INSERT INTO daily_aggregates (day, area_code) VALUES (current_date - 400, '4406') ON CONFLICT (day, area_code) DO UPDATE SET screenings = daily_aggregates.screenings + 1"
may gridwall_report "DELETE FROM daily_aggregates WHERE day = current_date - 400"
may gridwall_report "UPDATE report_settings SET coverage_days = coverage_days"
check "gridwall_report moves its three watermarks" 3 \
	"$(value_as gridwall_report "WITH u AS (UPDATE consumer_offsets SET last_id = last_id, updated_at = now() WHERE consumer IN ('reportd', 'reportd.alerts', 'reportd.households') RETURNING 1) SELECT count(*) FROM u")"
check "gridwall_report reads rulesd's watermark (it counts only what rulesd assessed)" 1 \
	"$(value_as gridwall_report "SELECT count(*) FROM consumer_offsets WHERE consumer = 'rulesd'")"
check "gridwall_report may not move rulesd's watermark: no row" 0 \
	"$(value_as gridwall_report "WITH u AS (UPDATE consumer_offsets SET last_id = 0 WHERE consumer = 'rulesd' RETURNING 1) SELECT count(*) FROM u")"
may_not gridwall_report "INSERT INTO screenings (client_uuid, channel, screened_at, grid_code, person_id) VALUES ('$(uuid 997)', 'door_to_door', now(), '$N', 1)" "table screenings"
may_not gridwall_report "UPDATE screenings SET temperature = 36.5 WHERE id = 1" "table screenings"
may_not gridwall_report "INSERT INTO persons (id_type, name) VALUES ('none', 'x')" "table persons"
may_not gridwall_report "UPDATE persons SET phone = NULL WHERE id = 1" "table persons"
may_not gridwall_report "DELETE FROM alerts WHERE id = $A1" "table alerts"
may_not gridwall_report "UPDATE alerts SET level = 'normal' WHERE id = $A1" "table alerts"
may_not gridwall_report "UPDATE alert_audit SET actor = 'x'" "table alert_audit"
may_not gridwall_report "DELETE FROM alert_audit" "table alert_audit"
may_not gridwall_report "INSERT INTO staff_tokens (token_hash, area_code, role, name) VALUES ('x', '4406', 'staff', 'x')" "table staff_tokens"
may_not gridwall_report "UPDATE staff_tokens SET revoked_at = NULL" "table staff_tokens"
may_not gridwall_report "SELECT * FROM person_states" "table person_states"
may_not gridwall_report "SELECT * FROM risk_areas" "table risk_areas"
may_not gridwall_report "UPDATE consumer_offsets SET consumer = 'x' WHERE consumer = 'reportd'" "table consumer_offsets"

# the command office (gridctl alerts, gridctl followups): reads.
may gridwall_office "SELECT a.id, p.name, h.code FROM alerts a LEFT JOIN persons p ON p.id = a.person_id LEFT JOIN households h ON h.id = a.household_id"
may gridwall_office "SELECT ps.person_id, t.team_id FROM person_states ps LEFT JOIN team_grids t ON t.grid_code = ps.grid_code"
may_not gridwall_office "SELECT * FROM screenings" "table screenings"
may_not gridwall_office "SELECT token_hash FROM staff_tokens" "table staff_tokens"
may_not gridwall_office "UPDATE alerts SET state = 'resolved' WHERE id = $A1" "table alerts"
may_not gridwall_office "INSERT INTO alert_audit (alert_id, action, from_state, to_state, token_id, actor) VALUES ($A1, 'ack', 'open', 'acknowledged', 1, 'x')" "table alert_audit"
may_not gridwall_office "INSERT INTO screenings (client_uuid, channel, screened_at, grid_code, person_id) VALUES ('$(uuid 996)', 'door_to_door', now(), '$N', 1)" "table screenings"
may_not gridwall_office "UPDATE persons SET name = 'x' WHERE id = 1" "table persons"
may_not gridwall_office "UPDATE person_states SET level = 'normal'" "table person_states"

# analysts (gridctl rules replay): read screenings and the registry, write nothing.
may gridwall_analyst "SELECT s.id, p.name, p.id_number FROM screenings s JOIN persons p ON p.id = s.person_id"
may gridwall_analyst "SELECT source FROM rule_sets ORDER BY id DESC LIMIT 1"
check "gridwall_analyst may write no table (INSERT, UPDATE, DELETE, TRUNCATE on any table or column)" 0 \
	"$(sql "SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
	        AND (has_table_privilege('gridwall_analyst', c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE')
	             OR has_any_column_privilege('gridwall_analyst', c.oid, 'INSERT,UPDATE'))")"
may_not gridwall_analyst "INSERT INTO screenings (client_uuid, channel, screened_at, grid_code, person_id) VALUES ('$(uuid 995)', 'door_to_door', now(), '$N', 1)" "table screenings"
may_not gridwall_analyst "INSERT INTO rule_sets (path, rules, source) VALUES ('x', 0, '')" "table rule_sets"
may_not gridwall_analyst "UPDATE persons SET name = 'x' WHERE id = 1" "table persons"
may_not gridwall_analyst "SELECT token_hash FROM staff_tokens" "table staff_tokens"
may_not gridwall_analyst "SELECT * FROM alerts" "table alerts"

# administrators (gridctl token): issue, list, revoke; nothing else.
may gridwall_admin "INSERT INTO staff_tokens (token_hash, area_code, role, name) SELECT 'h', code, 'viewer', 'x' FROM areas WHERE code = '440605' RETURNING id"
may gridwall_admin "UPDATE staff_tokens SET revoked_at = now() WHERE revoked_at IS NULL"
may_not gridwall_admin "UPDATE staff_tokens SET area_code = '4406'" "table staff_tokens"
may_not gridwall_admin "UPDATE staff_tokens SET role = 'staff', name = 'someone else'" "table staff_tokens"
may_not gridwall_admin "DELETE FROM staff_tokens" "table staff_tokens"
may_not gridwall_admin "SELECT * FROM alerts" "table alerts"
may_not gridwall_admin "SELECT name FROM persons" "table persons"
may_not gridwall_admin "SELECT * FROM alert_audit" "table alert_audit"
check "what the roles tried was rolled back: no token revoked, the alert open, watermarks as they were" \
	"0 open" "$(sql "SELECT (SELECT count(*) FROM staff_tokens WHERE revoked_at IS NOT NULL) || ' ' ||
	                        (SELECT state FROM alerts WHERE id = $A1)")"

###########################################################################
echo "# hostile text through ingestd: stored byte for byte, or refused with the field named"
# The live stream is open before anything hostile is sent: every event must reach it whole.
CITY=$(issue --area 4406 --name 市指挥部 --role viewer)
curl -sN -H "Authorization: Bearer $CITY" "$URL/v1/alerts/stream" >"$GRIDWALL_VAR/city.sse" 2>/dev/null &
SSE=$!
wait_for "the city's stream opens" 1 grep -c '^retry: ' "$GRIDWALL_VAR/city.sse"

SQLI_NAME="Robert'); DROP TABLE screenings;--"
SQLI_HH="H-1' OR '1'='1"
SQLI_WORKER="w'; DELETE FROM persons; --"
SQLI_NOTE=$'\'; DROP TABLE screenings; --\r\n"; TRUNCATE alerts; --'
HTML_NAME='<script>alert(1)</script>'
HTML_HH='<img src=x onerror=alert(1)>'
HTML_TEAM='"><svg/onload=alert(1)>'
HTML_DEVICE='javascript:alert(1)//'
HTML_NOTE='<iframe srcdoc="<script>parent.alert(1)</script>"></iframe>'
QUOTE_NAME='O'\''Brien "Bob" \ \\ \n %s%n $(id) `id`'
QUOTE_ID='P"1'\''2\3'
QUOTE_HH='a\b"c'\''d'
QUOTE_NOTE=$'tab\there, CRLF\r\nLF\nbackslash \\ quote " apostrophe \''
UNI_NAME="陈小明😷${RLO}gnp.exe"
UNI_HH="家-①"
PDF=$'\xe2\x80\xac' ZWJ=$'\xe2\x80\x8d' ACUTE=$'\xcc\x81'
UNI_NOTE="emoji 😷, 中文, ${RLO}abc${PDF}, a family 👨${ZWJ}👩${ZWJ}👧, e and a combining acute: e${ACUTE}"
UNI_LONG="一二三四五六七八九十一二三四五六七八九十一"      # 21 characters, 63 bytes: fits
HTTP_NAME='<img src=x onerror=alert(document.domain)>'
HTTP_NOTE="1; DROP TABLE persons; SELECT '<b>"
# rec N GRID KEY VALUE...: one record as a JSON line, a fever (so an alert)
# of door to door, with the pairs as text fields (jq escapes them as JSON
# must); a pair may replace the channel.
rec() {
	n=$1 g=$2
	shift 2
	args=(--arg client_uuid "$(uuid "$n")" --arg grid_code "$g")
	while [ $# -gt 1 ]; do
		args+=(--arg "$1" "$2")
		shift 2
	done
	jq -cn "${args[@]}" --argjson screened_at "$AT" \
		'{channel: "door_to_door", temperature: 38.5} + $ARGS.named'
}
{
	rec 11 "$N" name "$SQLI_NAME" id_type none phone 13900000011 household_code "$SQLI_HH" \
		worker_id "$SQLI_WORKER" note "$SQLI_NOTE"
	rec 12 "$N" name $'a\x01b' id_type none
	rec 13 "$H" name "$HTML_NAME" id_type none household_code "$HTML_HH" team_id "$HTML_TEAM" \
		device_id "$HTML_DEVICE" note "$HTML_NOTE"
	rec 14 "$N" name "${ESC}[31mred${ESC}[0m" id_type none
	rec 15 "$N" name "$QUOTE_NAME" id_type passport id_number "$QUOTE_ID" household_code "$QUOTE_HH" \
		note "$QUOTE_NOTE"
	rec 16 "$N" name $'two\r\nlines' id_type none
	rec 17 "$H" name "$UNI_NAME" id_type none household_code "$UNI_HH" note "$UNI_NOTE"
	rec 18 "$N" name x id_type none household_code $'H\n1'
	rec 19 "$N" name x id_type none worker_id $'w\x7f'
	rec 20 "$N" name x id_type none note "ok${ESC}[2J"
	rec 21 "$N" name x id_type none note $'a lone\rCR'
	rec 22 "$N" name "${CSI}2J" id_type none
	rec 23 "$N" name "$(printf 'x%.0s' $(seq 65))" id_type none
	rec 24 "$N" name "$UNI_LONG" id_type none
	rec 25 "$N" name "${UNI_LONG}二" id_type none
	printf '{"client_uuid":"%s","channel":"door_to_door","screened_at":%d,"grid_code":"%s","id_type":"none","name":"a\\u0000b"}\n' \
		"$(uuid 26)" "$AT" "$N"
	rec 27 "$N" name x id_type none channel '<script>'
	rec 28 "$N" name x id_type none channel "$(printf 'a%.0s' $(seq 63))中"
	rec 29 "$N" name x id_type none '<img src=x>' 1
} >"$GRIDWALL_VAR/hostile.jsonl"
"$BUILD/gridctl" push --endpoint "$EP" "$GRIDWALL_VAR/hostile.jsonl" >"$GRIDWALL_VAR/push.out" 2>"$GRIDWALL_VAR/push.err"
check "gridctl push: one answer per line" 19 "$(jq -s length "$GRIDWALL_VAR/push.out")"
# answer LINE: "outcome code field: message" of a line's answer.
answer() { jq -r "select(.line == $1) | \"\(.outcome) \(.code // \"-\") \(.field // \"-\"): \(.message // \"\")\"" "$GRIDWALL_VAR/push.out"; }
check "SQL in name, household, worker id and note: accepted" "accepted - -: " "$(answer 1)"
check "HTML and script in name, household, team, device and note: accepted" "accepted - -: " "$(answer 3)"
check "quotes, backslashes, printf and shell syntax: accepted" "accepted - -: " "$(answer 5)"
check "Chinese, emoji, a right-to-left override, a family emoji, a combining accent: accepted" "accepted - -: " "$(answer 7)"
check "a name of 21 Chinese characters (63 bytes): accepted" "accepted - -: " "$(answer 14)"
check "U+0001 in a name: refused, naming the field" "rejected BAD_TEXT name: name contains a control character" "$(answer 2)"
check "an ANSI colour escape in a name: refused" "rejected BAD_TEXT name: name contains a control character" "$(answer 4)"
check "CR LF in a name: refused" "rejected BAD_TEXT name: name contains a control character" "$(answer 6)"
check "a line feed in a household code: refused" "rejected BAD_TEXT household_code: household_code contains a control character" "$(answer 8)"
check "DEL in a worker id: refused" "rejected BAD_TEXT worker_id: worker_id contains a control character" "$(answer 9)"
check "an escape in a note (which may hold tabs and line breaks): refused" "rejected BAD_TEXT note: note contains a control character" "$(answer 10)"
check "a lone CR in a note: refused" "rejected BAD_TEXT note: note contains a control character" "$(answer 11)"
check "a C1 control (U+009B, CSI) in a name: refused" "rejected BAD_TEXT name: name contains a control character" "$(answer 12)"
check "a name of 65 bytes: refused" "rejected FIELD_TOO_LONG name: name is 65 bytes long, at most 64 allowed" "$(answer 13)"
check "a name of 22 Chinese characters (66 bytes): refused" "rejected FIELD_TOO_LONG name: name is 66 bytes long, at most 64 allowed" "$(answer 15)"
check "NUL in a name: refused as not JSON, alone" "rejected BAD_JSON -" "$(answer 16 | cut -d: -f1)"
check "an enum value of HTML: refused, the value quoted (JSON-escaped)" \
	'rejected BAD_TYPE channel: channel: unknown name "<script>"' "$(answer 17)"
check "an enum value cut at 64 bytes in a Chinese character: refused, cut before it (valid UTF-8)" \
	"rejected BAD_TYPE channel: channel: unknown name \"$(printf 'a%.0s' $(seq 63))\"" "$(answer 18)"
check "a key of HTML: refused as an unknown field" 'rejected UNKNOWN_FIELD <img src=x>: unknown field "<img src=x>"' "$(answer 19)"

echo "# the HTTP intake"
{
	echo "["
	rec 31 "$H" name "$HTTP_NAME" id_type none note "$HTTP_NOTE"
	echo ","
	rec 32 "$N" name "${ESC}]0;owned${ESC}\\" id_type none
	echo ","
	rec 33 "$N" name x id_type none channel "$(printf 'a%.0s' $(seq 63))中"
	echo "]"
} >"$GRIDWALL_VAR/http.json"
curl -s -o "$GRIDWALL_VAR/http.out" -w '%{http_code} %{content_type}' -X POST -H 'Content-Type: application/json' \
	--data-binary @"$GRIDWALL_VAR/http.json" "$IURL/v1/screenings" >"$GRIDWALL_VAR/http.code"
check "POST /v1/screenings: 200, JSON" "200 application/json" "$(cat "$GRIDWALL_VAR/http.code")"
check "one result per record, in order, each refusal with its field" \
	"0:accepted:-:- 1:rejected:BAD_TEXT:name 2:rejected:BAD_TYPE:channel" \
	"$(jq -r '[.results[] | "\(.index):\(.outcome):\(.code // "-"):\(.field // "-")"] | join(" ")' "$GRIDWALL_VAR/http.out")"
{
	rec 34 "$N" name ndjson-ok id_type none
	printf '{"client_uuid":"%s","name":"\xff\xfe"}\n' "$(uuid 35)"
	rec 36 "$N" name "$HTML_HH" id_type none phone 13900000036
} >"$GRIDWALL_VAR/http.ndjson"
curl -s -o "$GRIDWALL_VAR/ndjson.out" -X POST --data-binary @"$GRIDWALL_VAR/http.ndjson" "$IURL/v1/screenings"
check "NDJSON with a line that is not UTF-8: that line alone refused, its neighbours stored" \
	"0:accepted:- 1:rejected:BAD_JSON 2:accepted:-" \
	"$(jq -r '[.results[] | "\(.index):\(.outcome):\(.code // "-")"] | join(" ")' "$GRIDWALL_VAR/ndjson.out")"

echo "# stored byte for byte"
S_JOIN="screenings s JOIN persons p ON p.id = s.person_id LEFT JOIN households h ON h.id = s.household_id"
# stored N EXPR TEXT WHAT: EXPR of record N's row is TEXT, byte for byte.
stored() {
	check "stored verbatim: $4" "$(hex "$3")" \
		"$(dbhex "SELECT $2 FROM $S_JOIN WHERE s.client_uuid = '$(uuid "$1")'")"
}
stored 11 p.name "$SQLI_NAME" "the name holding SQL"
stored 11 h.code "$SQLI_HH" "the household code holding SQL (a new floating household)"
stored 11 s.worker_id "$SQLI_WORKER" "the worker id holding SQL"
stored 11 s.note "$SQLI_NOTE" "the note holding SQL and CR LF"
stored 13 p.name "$HTML_NAME" "the name holding a script element"
stored 13 h.code "$HTML_HH" "the household code holding an img onerror"
stored 13 s.team_id "$HTML_TEAM" "the team id holding an svg onload"
stored 13 s.device_id "$HTML_DEVICE" "the device id holding a javascript: URL"
stored 13 s.note "$HTML_NOTE" "the note holding an iframe"
stored 15 p.name "$QUOTE_NAME" "the name holding quotes, backslashes, %s%n, \$(id)"
stored 15 p.id_number "$QUOTE_ID" "the passport number holding quotes and a backslash"
stored 15 h.code "$QUOTE_HH" "the household code holding quotes and a backslash"
stored 15 s.note "$QUOTE_NOTE" "the note holding a tab, CR LF, LF, a backslash and quotes"
stored 17 p.name "$UNI_NAME" "the name holding Chinese, an emoji and a right-to-left override"
stored 17 h.code "$UNI_HH" "the household code holding Chinese and a circled digit"
stored 17 s.note "$UNI_NOTE" "the note holding emoji, bidi controls, a ZWJ sequence, a combining accent"
stored 24 p.name "$UNI_LONG" "the name of 63 bytes of Chinese"
stored 31 p.name "$HTTP_NAME" "the name sent over HTTP"
stored 31 s.note "$HTTP_NOTE" "the note sent over HTTP"
stored 36 p.name "$HTML_HH" "the name sent as NDJSON (an img onerror)"
check "nothing of the refused records stored" 0 \
	"$(sql "SELECT count(*) FROM screenings WHERE client_uuid IN ('$(uuid 12)', '$(uuid 14)', '$(uuid 16)',
	        '$(uuid 18)', '$(uuid 19)', '$(uuid 20)', '$(uuid 21)', '$(uuid 22)', '$(uuid 23)', '$(uuid 25)',
	        '$(uuid 26)', '$(uuid 27)', '$(uuid 28)', '$(uuid 29)', '$(uuid 32)', '$(uuid 33)', '$(uuid 35)')")"
check "the tables are whole: 10 screenings (2 seed, 5 pushed, 3 over HTTP), 14 persons (6 + 8 new), 2 registered households" \
	"10 14 2" "$(sql "SELECT (SELECT count(*) FROM screenings) || ' ' || (SELECT count(*) FROM persons) || ' ' ||
	                        (SELECT count(*) FROM households WHERE kind = 'registered')")"
wait_for "every accepted fever raised its alert: 2 seed + 8" 10 sql "SELECT count(*) FROM alerts"

###########################################################################
echo "# the office API: JSON that gives back every byte"
# hexin: the hex of standard input.
hexin() { od -An -tx1 -v | tr -d ' \n'; }
curl -s -D "$GRIDWALL_VAR/alerts.head" -o "$GRIDWALL_VAR/alerts.json" -H "Authorization: Bearer $CITY" \
	"$URL/v1/alerts?limit=1000"
check "GET /v1/alerts: every alert, as application/json" "application/json 10" \
	"$(sed -n 's/^Content-Type: \([^;]*\).*/\1/ip' "$GRIDWALL_VAR/alerts.head" | tr -d '\r') $(jq '.alerts | length' "$GRIDWALL_VAR/alerts.json")"
# api_name NAME WHAT: exactly one alert names this person, byte for byte.
api_name() {
	check "the API gives the name byte for byte: $2" 1 \
		"$(jq --arg n "$1" '[.alerts[] | select(.person_name == $n)] | length' "$GRIDWALL_VAR/alerts.json")"
}
api_name "$SQLI_NAME" "SQL"
api_name "$HTML_NAME" "a script element"
api_name "$QUOTE_NAME" "quotes and backslashes"
api_name "$UNI_NAME" "Chinese, an emoji, a right-to-left override"
api_name "$UNI_LONG" "63 bytes of Chinese"
api_name "$HTTP_NAME" "an img onerror sent over HTTP"
api_name "$HTML_HH" "an img onerror sent as NDJSON"
check "and the household codes" "true true true true" \
	"$(jq -r --arg a "$SQLI_NAME" --arg ah "$SQLI_HH" --arg b "$HTML_NAME" --arg bh "$HTML_HH" \
		--arg c "$QUOTE_NAME" --arg ch "$QUOTE_HH" --arg d "$UNI_NAME" --arg dh "$UNI_HH" '
		def hh($n): [.alerts[] | select(.person_name == $n) | .household_code][0];
		[hh($a) == $ah, hh($b) == $bh, hh($c) == $ch, hh($d) == $dh] | map(tostring) | join(" ")' \
		"$GRIDWALL_VAR/alerts.json")"
check "the hostile grid's alerts carry its area path, CR LF and escapes included, byte for byte" "3 $(hex "$PATH_TEXT")" \
	"$(jq --arg g "$H" '[.alerts[] | select(.grid_code == $g)] | length' "$GRIDWALL_VAR/alerts.json") $(jq -j --arg g "$H" '[.alerts[] | select(.grid_code == $g)][0].area_path' "$GRIDWALL_VAR/alerts.json" | hexin)"
check "a passport number is masked whole: none of its quotes shown" '*******' \
	"$(jq -r --arg n "$QUOTE_NAME" '.alerts[] | select(.person_name == $n) | .id_masked' "$GRIDWALL_VAR/alerts.json")"

echo "# the office's own text: a team's name"
SQLI_ALERT=$(sql "SELECT a.id FROM alerts a JOIN persons p ON p.id = a.person_id WHERE p.id_type = 'none' AND p.phone = '13900000011'")
post() { curl -s -o "$GRIDWALL_VAR/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" \
	-H 'Content-Type: application/json' --data-binary "$3" "$URL/v1/alerts/$2"; }
check "a team holding CR LF and what would be the next SSE event: 400" \
	'400 assign needs {"team": "..."} (1 to 64 bytes of text, no control characters)' \
	"$(post "$NANHAI" "$SQLI_ALERT/assign" '{"team":"t\r\n\r\nevent: alert\r\ndata: {}"}') $(jq -r .error "$GRIDWALL_VAR/body")"
check "a team holding an escape: 400" 400 "$(post "$NANHAI" "$SQLI_ALERT/assign" '{"team":"\u001b[2Jt"}')"
check "nothing was assigned or audited" "open 0" \
	"$(sql "SELECT state || ' ' || (SELECT count(*) FROM alert_audit) FROM alerts WHERE id = $SQLI_ALERT")"
TEAM='<img src=x onerror=alert(1)> "队" \'
check "a team holding HTML, a quote and a backslash: 200, stored as sent" "200 $(hex "$TEAM")" \
	"$(post "$NANHAI" "$SQLI_ALERT/assign" "$(jq -cn --arg t "$TEAM" '{team: $t}')") $(dbhex "SELECT assigned_team FROM alerts WHERE id = $SQLI_ALERT")"

echo "# the live stream: one JSON line per event, whatever the text holds"
wait_for "8 new alerts and a state change reached the city's stream" "8 1" \
	sh -c "echo \$(grep -c '^event: alert\$' '$GRIDWALL_VAR/city.sse') \$(grep -c '^event: state\$' '$GRIDWALL_VAR/city.sse')"
F=$GRIDWALL_VAR/city.sse
check "no CR anywhere in the stream" 0 "$(LC_ALL=C tr -cd '\r' <"$F" | wc -c)"
check "every line is one of the protocol's: retry, comment, event, data holding a JSON object, blank" 0 \
	"$(LC_ALL=C grep -cvE '^(|retry: [0-9]+|: .*|event: [a-z]+|data: \{.*\})$' "$F")"
check "each event is an event line, one data line, a blank line" "0 9" \
	"$(awk '/^event: /{ n++; if ((getline d) <= 0 || d !~ /^data: /) bad++; else if ((getline b) <= 0 || b != "") bad++ }
	        END { print bad + 0, n + 0 }' "$F")"
check "every data line is one JSON object" "object object object object object object object object object" \
	"$(sed -n 's/^data: //p' "$F" | jq -r type | paste -sd' ')"
sed -n 's/^data: //p' "$F" | jq -s . >"$GRIDWALL_VAR/events.json"
check "the names arrive byte for byte" "1 1 1 1 1 1 1" \
	"$(for n in "$SQLI_NAME" "$HTML_NAME" "$QUOTE_NAME" "$UNI_NAME" "$UNI_LONG" "$HTTP_NAME" "$HTML_HH"; do
		jq --arg n "$n" '[.[] | select(.person_name == $n and .state == "open")] | length' "$GRIDWALL_VAR/events.json"
	done | paste -sd' ')"
check "the area path with its CR LF arrives byte for byte" "3" \
	"$(jq --arg p "$PATH_TEXT" '[.[] | select(.area_path == $p)] | length' "$GRIDWALL_VAR/events.json")"
check "the team arrives byte for byte on the state event" 1 \
	"$(jq --arg t "$TEAM" '[.[] | select(.state == "assigned" and .assigned_team == $t)] | length' "$GRIDWALL_VAR/events.json")"

echo "# gridctl: text for a terminal"
# controls FILE: escapes, CRs, C1 controls and bidi overrides in it.
controls() {
	echo "$(LC_ALL=C tr -cd '\033' <"$1" | wc -c) $(LC_ALL=C tr -cd '\r' <"$1" | wc -c)" \
		"$(LC_ALL=C grep -c $'\xc2[\x80-\x9f]' "$1") $(grep -cF "$RLO" "$1")"
}
"$BUILD/gridctl" alerts --area 4406 --limit 100 --database "$DB" >"$GRIDWALL_VAR/alerts.txt" 2>&1
check "gridctl alerts: one line per alert" 10 "$(wc -l <"$GRIDWALL_VAR/alerts.txt")"
check "no escape, CR, C1 control (U+009B is CSI) or bidi override reaches the terminal" "0 0 0 0" \
	"$(controls "$GRIDWALL_VAR/alerts.txt")"
check "SQL, HTML, quotes and the team shown as they are" "1 1 1 1" \
	"$(for s in "$SQLI_NAME" "$HTML_NAME" "$QUOTE_NAME" "[assigned $TEAM]"; do grep -cF -- "  $s" "$GRIDWALL_VAR/alerts.txt"; done | paste -sd' ')"
CLEAN_PATH='佛山市 / 南海区 / Town, "quoted" <b>bold</b> / 社区<script>alert(1)</script>??event: alert??data: {"x":1}?? / 第9网格?[31m red ?2J ?txt.exe'
check "the hostile grid's path, each control shown as ?" 3 "$(grep -cF -- "$CLEAN_PATH" "$GRIDWALL_VAR/alerts.txt")"
check "the name with a right-to-left override, the override shown as ?" 1 \
	"$(grep -cF '陈小明😷?gnp.exe' "$GRIDWALL_VAR/alerts.txt")"
timeout 10 "$BUILD/gridctl" feed --area 440605002 --count 3 --endpoint "tcp://127.0.0.1:$((BASE + 5))" \
	--snapshot-endpoint "ipc://$GRIDWALL_VAR/snapshot.ipc" >"$GRIDWALL_VAR/feed.txt" 2>"$GRIDWALL_VAR/feed.err"
check "gridctl feed: the hostile town, community and grid, a line each, nothing for the terminal to act on" \
	"0 3 0 0 0 0" "$? $(wc -l <"$GRIDWALL_VAR/feed.txt") $(controls "$GRIDWALL_VAR/feed.txt")"

echo "# figures: CSV and JSON"
# csv_name FILE CODE: fields per row as one set, then the hex of CODE's name, as an RFC 4180 reader reads it.
csv_name() {
	python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
widths = sorted({len(r) for r in rows})
name = [r[2] for r in rows[1:] if r[1] == sys.argv[2]]
print(",".join(map(str, widths)), name[0].encode().hex() if len(name) == 1 else "missing")' "$1" "$2"
}
curl -s -o "$GRIDWALL_VAR/towns.csv" "$URL/v1/aggregates.csv?area=440605&level=town"
check "a town whose name holds a comma and quotes: quoted, read back whole" "15 $(hex "$TOWN")" \
	"$(csv_name "$GRIDWALL_VAR/towns.csv" 440605002)"
curl -s -o "$GRIDWALL_VAR/communities.csv" "$URL/v1/aggregates.csv?area=440605002&level=community"
check "a community whose name holds CR LF: quoted, the rows intact" "15 $(hex "$COMMUNITY")" \
	"$(csv_name "$GRIDWALL_VAR/communities.csv" 440605002001)"
check "GET /v1/aggregates (JSON) gives the grid's name byte for byte" "$(hex "$GRID")" \
	"$(curl -s "$URL/v1/aggregates?area=$H" | jq -j '.rows[0].name' | hexin)"

echo "# the dashboard"
check "no HTML built from text in its script (innerHTML, outerHTML, insertAdjacentHTML, document.write, eval)" 0 \
	"$(cat "$ROOT"/web/dashboard/*.js | grep -cE 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|srcdoc|javascript:')"
check "no inline script or handler in its page" 0 \
	"$(grep -ciE '<script>|<script [^>]*>[^<]|[[:space:]]on[a-z]+=' "$ROOT/web/dashboard/index.html")"
curl -s -D "$GRIDWALL_VAR/page.head" -o /dev/null "$URL/"
check "its Content-Security-Policy runs only its own script: default-src 'self', nothing unsafe" "1 0" \
	"$(grep -ci "^Content-Security-Policy: default-src 'self'" "$GRIDWALL_VAR/page.head") $(grep -ci 'unsafe' "$GRIDWALL_VAR/page.head")"
echo "# the dashboard in headless Chromium (tests/browser/security.test.mjs)"
if [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	npm ci --prefix "$ROOT/tests/browser" --no-audit --no-fund >"$GRIDWALL_VAR/npm.log" 2>&1 ||
		sed 's/^/# /' "$GRIDWALL_VAR/npm.log"
fi
LIVE_NAME='<img src=x onerror=alert(2)>live'
rec 41 "$N" name "$LIVE_NAME" id_type none phone 13900000041 >"$GRIDWALL_VAR/live.jsonl"
cat >"$GRIDWALL_VAR/push.sh" <<SH
exec "$BUILD/gridctl" push --endpoint "$EP" "$GRIDWALL_VAR/live.jsonl"
SH
jq -n --arg p "$PATH_TEXT" --arg rtl "$UNI_NAME" --arg town "$TOWN" --arg live "$LIVE_NAME" \
	--arg a "$SQLI_NAME" --arg b "$HTML_NAME" --arg c "$QUOTE_NAME" --arg d "$UNI_NAME" --arg e "$HTTP_NAME" \
	--arg f "$HTML_HH" --argjson n "$(sql "SELECT count(*) FROM alerts WHERE grid_code LIKE '440605%'")" \
	'{alerts: $n, names: [$a, $b, $c, $d, $e, $f], path: $p, pathAlerts: 3, rtl: $rtl, town: $town, live: $live}' \
	>"$GRIDWALL_VAR/expect.json"
timeout 120 node "$ROOT/tests/browser/security.test.mjs" "$URL" "$NANHAI" "$GRIDWALL_VAR/expect.json" \
	"$GRIDWALL_VAR/push.sh" >"$GRIDWALL_VAR/browser.out" 2>&1
browser_checks "$GRIDWALL_VAR/browser.out" $?
kill "$SSE" 2>/dev/null
wait "$SSE" 2>/dev/null

###########################################################################
echo "# staff tokens on the live pipeline (the rest is in tests/integration/office.sh)"
code() { curl -s -o "$GRIDWALL_VAR/body" -w '%{http_code}' "$@"; }
auth() { echo "Authorization: Bearer $1"; }
token_id() { sql "SELECT id FROM staff_tokens WHERE name = '$1'"; }
EXPIRED=$(issue --area 440605 --name 已过期 --role staff --days 1)
sql "UPDATE staff_tokens SET expires_at = now() - interval '1 second' WHERE name = '已过期'" >/dev/null
REVOKED=$(issue --area 440605 --name 已撤销 --role staff)
"$BUILD/gridctl" token revoke --id "$(token_id 已撤销)" --database "$DB" >/dev/null
for t in expired revoked; do
	tok=$EXPIRED
	[ $t = revoked ] && tok=$REVOKED
	check "a $t token: 401 on the list, the stream and an action, saying why" \
		"401 401 401 unknown, expired or revoked token" \
		"$(code -H "$(auth "$tok")" "$URL/v1/alerts") $(code -H "$(auth "$tok")" "$URL/v1/alerts/stream") $(post "$tok" "$A1/ack" '{}') $(jq -r .error "$GRIDWALL_VAR/body")"
done
check "and nothing acknowledged" open "$(sql "SELECT state FROM alerts WHERE id = $A1")"

echo "# malformed Authorization"
check "an answer 401 names the scheme: WWW-Authenticate: Bearer" 1 \
	"$(curl -s -D - -o /dev/null -H 'Authorization: Bearer' "$URL/v1/alerts" | grep -c '^WWW-Authenticate: Bearer')"
# bad WHAT HEADER: 401 on the list and on the stream with that header.
bad() { check "$1: 401" "401 401" "$(code -H "$2" "$URL/v1/alerts") $(code -H "$2" "$URL/v1/alerts/stream")"; }
bad "the scheme alone" "Authorization: Bearer"
bad "the token without a scheme" "Authorization: $NANHAI"
bad "Basic with the token as a password" "Authorization: Basic $(printf 'x:%s' "$NANHAI" | base64 -w0)"
bad "the token one digit short" "Authorization: Bearer ${NANHAI%?}"
bad "the token one digit long" "Authorization: Bearer ${NANHAI}0"
bad "the token in capitals" "Authorization: Bearer $(printf '%s' "$NANHAI" | tr a-z A-Z)"
bad "the hash the database keeps, in place of the token" \
	"Authorization: Bearer gw_$(sql "SELECT token_hash FROM staff_tokens WHERE name = '王芳'")"
bad "SQL in place of the token" "Authorization: Bearer gw_' OR '1'='1"
check "the token in the query string, or a cookie, is no token: 401" "401 401" \
	"$(code "$URL/v1/alerts?access_token=$NANHAI") $(code -b "token=$NANHAI" "$URL/v1/alerts")"

echo "# viewers and other districts"
VIEWER=$(issue --area 440605 --name 只读 --role viewer)
S1=$(sql "SELECT id FROM alerts WHERE grid_code = '$S'")
check "a viewer reads the list: 200" 200 "$(code -H "$(auth "$VIEWER")" "$URL/v1/alerts")"
check "a viewer may not assign or resolve: 403 (ack: office.sh)" "403 403" \
	"$(post "$VIEWER" "$A1/assign" '{"team":"x"}') $(post "$VIEWER" "$A1/resolve" '{"outcome":"cleared"}')"
check "a Nanhai staff token may not assign or resolve a Shunde alert: 403 (ack: office.sh)" "403 403" \
	"$(post "$NANHAI" "$S1/assign" '{"team":"x"}') $(post "$NANHAI" "$S1/resolve" '{"outcome":"cleared"}')"
check "the alerts are as they were, and no audit row was written for what was refused" "open open 1" \
	"$(sql "SELECT (SELECT state FROM alerts WHERE id = $A1) || ' ' || (SELECT state FROM alerts WHERE id = $S1)
	        || ' ' || (SELECT count(*) FROM alert_audit)")"
check "a Nanhai token may not ask for the city, or for a prefix wider than Nanhai: 403" "403 403 403 403" \
	"$(for a in 4406 44060; do
		echo "$(code -H "$(auth "$NANHAI")" "$URL/v1/alerts?area=$a")"
		echo "$(code -H "$(auth "$NANHAI")" "$URL/v1/alerts/stream?area=$a")"
	done | paste -sd' ')"
check "nor give an area that is not digits: 400" 400 \
	"$(code -H "$(auth "$NANHAI")" "$URL/v1/alerts?area=440605%25")"

echo "# a stream whose token is revoked, or expires, while it is open"
LATER=$(issue --area 440605 --name 稍后撤销 --role viewer)
SOON=$(issue --area 440605 --name 即将过期 --role viewer)
for who in later soon control; do
	tok=$NANHAI
	[ $who = later ] && tok=$LATER
	[ $who = soon ] && tok=$SOON
	curl -sN -H "$(auth "$tok")" "$URL/v1/alerts/stream" >"$GRIDWALL_VAR/$who.sse" 2>/dev/null &
	eval "PID_$who=$!"
done
for who in later soon control; do
	wait_for "the $who stream opens" 1 grep -c '^retry: ' "$GRIDWALL_VAR/$who.sse"
done
sql "UPDATE staff_tokens SET expires_at = now() + interval '1 second' WHERE name = '即将过期'" >/dev/null
"$BUILD/gridctl" token revoke --id "$(token_id 稍后撤销)" --database "$DB" >/dev/null
# Past the expiry, and then past reportd's second between two checks of the
# streams' tokens: whatever check comes before the next event sees both.
sleep 2.2
rec 42 "$N" name 撤销之后 id_type none phone 13900000042 >"$GRIDWALL_VAR/after.jsonl"
"$BUILD/gridctl" push --endpoint "$EP" "$GRIDWALL_VAR/after.jsonl" >/dev/null 2>&1
wait_for "a valid token's stream gets the next alert" 1 grep -c 撤销之后 "$GRIDWALL_VAR/control.sse"
# gone PID: whether the process has ended.
gone() { kill -0 "$1" 2>/dev/null && echo running || echo ended; }
wait_for "the revoked token's stream is ended by reportd" ended gone "$PID_later"
wait_for "the expired token's stream is ended by reportd" ended gone "$PID_soon"
check "neither was sent the alert" "0 0" \
	"$(grep -c 撤销之后 "$GRIDWALL_VAR/later.sse") $(grep -c 撤销之后 "$GRIDWALL_VAR/soon.sse")"
check "reportd logs why" 2 "$(grep -c 'alert stream of token [0-9]* ended: revoked or expired' "$GRIDWALL_VAR/log/reportd.log")"
check "the valid stream goes on" running "$(gone "$PID_control")"
kill "$PID_control" "$PID_later" "$PID_soon" 2>/dev/null
wait "$PID_control" "$PID_later" "$PID_soon" 2>/dev/null

###########################################################################
echo "# CurveZMQ (the rest is in tests/integration/curve.sh)"
stop_daemon ingestd
KEYS=$GRIDWALL_VAR/keys
DEVICES=$GRIDWALL_VAR/devices
mkdir -p "$KEYS" "$DEVICES" "$GRIDWALL_VAR/other"
"$BUILD/gridctl" keygen --server --name ingest --out "$KEYS" >/dev/null
"$BUILD/gridctl" keygen --server --name impostor --out "$GRIDWALL_VAR/other" >/dev/null
"$BUILD/gridctl" keygen --name dev-nanhai --district 440605 --out "$KEYS" >/dev/null
cp "$KEYS/dev-nanhai.pub" "$DEVICES/"
INGEST_EXTRA="security = curve
curve_server_key_file = $KEYS/ingest.key
curve_devices_dir = $DEVICES"
write_config
chmod 644 "$KEYS/ingest.key"
timeout 10 "$BUILD/gridwall-ingestd" -c "$CONF" >"$GRIDWALL_VAR/ingestd-644.log" 2>&1
rc=$?
check "a server key file others may read: ingestd refuses to start (exit 1), naming it" "1 1" \
	"$rc $(grep -c "ingest.key: secret key file may be read by others (mode 0644); chmod 600 it" "$GRIDWALL_VAR/ingestd-644.log")"
chmod 600 "$KEYS/ingest.key"
start_daemon ingestd
wait_for "ingestd with Curve answers /healthz" ok sh -c "curl -s $IURL/healthz | jq -r .status"
SERVER_KEY=$(sed -n 's/^public_key *= *//p' "$KEYS/ingest.pub")
IMPOSTOR_KEY=$(sed -n 's/^public_key *= *//p' "$GRIDWALL_VAR/other/impostor.pub")
rec 51 "$N" name 错误的服务器 id_type none >"$GRIDWALL_VAR/curve1.jsonl"
rec 52 "$N" name 正确的服务器 id_type none >"$GRIDWALL_VAR/curve2.jsonl"
"$BUILD/gridctl" push --endpoint "$EP" --server-key "$IMPOSTOR_KEY" --key-file "$KEYS/dev-nanhai.key" \
	--timeout-ms 1500 --retries 0 "$GRIDWALL_VAR/curve1.jsonl" >/dev/null 2>&1
check "a listed device that has the wrong server key gets no answer" 1 $?
"$BUILD/gridctl" push --endpoint "$EP" --server-key "$SERVER_KEY" --key-file "$KEYS/dev-nanhai.key" \
	--timeout-ms 3000 --retries 0 "$GRIDWALL_VAR/curve2.jsonl" >"$GRIDWALL_VAR/curve2.out" 2>/dev/null
check "with the right one it is answered" accepted "$(jq -r .outcome "$GRIDWALL_VAR/curve2.out")"
check "nothing of the first stored" "0 1" \
	"$(sql "SELECT count(*) FILTER (WHERE client_uuid = '$(uuid 51)') || ' ' || count(*) FILTER (WHERE client_uuid = '$(uuid 52)') FROM screenings")"

stop_daemon reportd
check "reportd stops cleanly" 0 "$STATUS"
stop_daemon rulesd
check "rulesd stops cleanly" 0 "$STATUS"
stop_daemon ingestd
check "ingestd stops cleanly" 0 "$STATUS"
