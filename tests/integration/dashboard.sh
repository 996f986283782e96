#!/bin/bash
# The web dashboard served by reportd: its files (and nothing else from the
# disk), GET /v1/coverage, and the page itself in a real headless Chromium
# (tests/browser/dashboard.test.mjs, playwright-core): a staff token signs
# in, alerts are listed and arrive live, acknowledging, assigning and
# resolving, the coverage drill-down, the trend charts; then, once reportd
# withholds small counts (a reload to suppress_below = 5), withheld figures
# shown as withheld, never as 0. Until then suppress_below = 1: exact counts.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
INGEST_EXTRA="http_listen ="
REPORT_EXTRA="suppress_below = 1"
write_config
URL=http://127.0.0.1:$HTTP_PORT

AT=$(($(date -u +%s) - 600))
N=440605001001001
S=440606001001001
uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
cat >"$GRIDWALL_VAR/records.jsonl" <<JSON
{"client_uuid":"$(uuid 1)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"44060519781120003X","name":"黄伟","temperature":37.9}
{"client_uuid":"$(uuid 2)","channel":"door_to_door","screened_at":$AT,"grid_code":"$S","id_type":"resident_id","id_number":"440606196507070041","name":"梁淑芬","temperature":36.7,"contact":"confirmed"}
JSON
cat >"$GRIDWALL_VAR/more.jsonl" <<JSON
{"client_uuid":"$(uuid 3)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"440605198503120016","name":"陈志强","temperature":37.6}
JSON

start_daemon ingestd
start_daemon rulesd
start_daemon reportd
wait_for "reportd answers /healthz" "ok" sh -c "curl -s $URL/healthz | jq -r .status"
"$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" "$GRIDWALL_VAR/records.jsonl" >/dev/null 2>&1
wait_for "an alert in Nanhai and one in Shunde" 2 sql "SELECT count(*) FROM alerts"
TOKEN=$("$BUILD/gridctl" token issue --database "$DB" --area 440605 --name 王芳 --role staff 2>/dev/null)
check "a Nanhai staff token" yes "$([[ $TOKEN =~ ^gw_[0-9a-f]{64}$ ]] && echo yes)"

code() { curl -s --path-as-is -o "$GRIDWALL_VAR/body" -w '%{http_code} %{content_type}' "$@"; }

echo "# the dashboard's files"
check "GET / is the page, as UTF-8 HTML" "200 text/html; charset=utf-8" "$(code "$URL/")"
check "with the UTF-8 meta charset" 1 "$(grep -c '<meta charset="utf-8">' "$GRIDWALL_VAR/body")"
check "its script" "200 text/javascript; charset=utf-8" "$(code "$URL/dashboard/app.js")"
check "its style sheet" "200 text/css; charset=utf-8" "$(code "$URL/dashboard/style.css")"
check "nothing from another site: no http(s) URL in its files" 0 \
	"$(cat "$ROOT"/web/dashboard/* | grep -v 'www.w3.org/2000/svg' | grep -c 'https\?://')"
check "a missing file: 404" 404 "$(code "$URL/dashboard/nope.js" | cut -d' ' -f1)"
check "no way out of the folder: 404" "404 404 404" \
	"$(code "$URL/dashboard/../../deploy/gridwall.conf.example" | cut -d' ' -f1) $(code "$URL/dashboard/%2e%2e/x.js" | cut -d' ' -f1) $(code "$URL/dashboard/.hidden.js" | cut -d' ' -f1)"
check "only lower-case names of [a-z0-9._-/]: 404" 404 "$(code "$URL/dashboard/App.js" | cut -d' ' -f1)"
check "an unknown type: 404" 404 "$(code "$URL/dashboard/index.htm" | cut -d' ' -f1)"
check "POST /: 405" 405 "$(code -X POST "$URL/" | cut -d' ' -f1)"

echo "# coverage"
cov() { curl -s "$URL/v1/coverage?$1" | jq -c "$2"; }
# Each row of the city's districts: code, name, level, registered, not reached, coverage in percent.
COV_ROWS='[.rows[] | [.code, .name, .level, .households_registered, .households_not_reached,
	(if .coverage == null then null else .coverage * 100 | round end)]]'
wait_for "the city's districts: Nanhai's registered household not reached, Shunde's reached" \
	'[["440605","南海区","district",1,1,0],["440606","顺德区","district",1,0,100]]' \
	cov area=4406 "$COV_ROWS"
check "days is reportd's coverage_days (3)" 3 "$(cov area=4406 .days)"
check "the days parameter is ignored" "$(cov area=4406 "$COV_ROWS")" "$(cov 'area=4406&days=0' "$COV_ROWS")"
check "a grid: the grid itself" '["440605001001001"]' "$(cov area=440605001001001 '[.rows[].code]')"
check "a town: its communities" '["440605001001"]' "$(cov area=440605001 '[.rows[].code]')"
check "the figures are today's of GET /v1/aggregates" \
	"$(curl -s "$URL/v1/aggregates?area=4406&level=district" | jq -c '[.rows[] | [.area, .households_registered, .households_not_reached, .coverage]]')" \
	"$(cov area=4406 '[.rows[] | [.code, .households_registered, .households_not_reached, .coverage]]')"
check "a bad area: 400" "400 400" \
	"$(code "$URL/v1/coverage?area=44" | cut -d' ' -f1) $(code "$URL/v1/coverage?area=4406x" | cut -d' ' -f1)"

echo "# the page in headless Chromium"
if [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
	npm ci --prefix "$ROOT/tests/browser" --no-audit --no-fund >"$GRIDWALL_VAR/npm.log" 2>&1 ||
		sed 's/^/# /' "$GRIDWALL_VAR/npm.log"
fi
# What the page test runs: the push that raises 陈志强's alert, and the reload
# after which reportd withholds small counts (it returns once reportd does).
cat >"$GRIDWALL_VAR/push.sh" <<SH
exec "$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" "$GRIDWALL_VAR/more.jsonl"
SH
cat >"$GRIDWALL_VAR/withhold.sh" <<SH
sed -i 's/^suppress_below = 1\$/suppress_below = 5/' "$CONF" && kill -HUP $PID_reportd || exit 1
for i in \$(seq 50); do
	[ "\$(curl -sf '$URL/v1/coverage?area=440605' | jq -c '.rows[0].households_registered')" = null ] && exit 0
	sleep 0.1
done
exit 1
SH
timeout 120 node "$ROOT/tests/browser/dashboard.test.mjs" "$URL" "$TOKEN" \
	"$GRIDWALL_VAR/push.sh" "$GRIDWALL_VAR/withhold.sh" >"$GRIDWALL_VAR/browser.out" 2>&1
browser_checks "$GRIDWALL_VAR/browser.out" $?
check "the acknowledgement from the page is audited, by the token's name" "ack:王芳" \
	"$(sql "SELECT a.action || ':' || a.actor FROM alert_audit a JOIN alerts l ON l.id = a.alert_id JOIN persons p ON p.id = l.person_id WHERE p.name = '陈志强'")"
check "the team typed in the page, stored as UTF-8" "三人小组-3 fever_clinic" \
	"$(sql "SELECT assigned_team || ' ' || outcome FROM alerts WHERE grid_code = '$N' AND state = 'resolved'")"
check "withheld over HTTP as on the page: null, never 0 (each district: 1 registered, withheld; 0 not reached, published)" \
	'[["440605",null,0,null],["440606",null,0,null]]' \
	"$(cov area=4406 '[.rows[] | [.code, .households_registered, .households_not_reached, .coverage]]')"

stop_daemon reportd
check "reportd stops cleanly" 0 "$STATUS"
stop_daemon rulesd
stop_daemon ingestd
