#!/bin/bash
# The command office on reportd's HTTP API, on a real PostgreSQL: staff
# tokens scoped to an area (a Nanhai token sees Nanhai only and gets 403 on
# a Shunde alert), acknowledging, assigning and resolving alerts raised by
# the real pipeline, the state rules (409), and an audit row for each action.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
# ingestd's HTTP intake is not used here: its port takes the Nanhai office's bot.
SINK_PORT=$BASE
INGEST_EXTRA="http_listen ="
printf '440605 http://127.0.0.1:%s/nanhai\n' "$SINK_PORT" >"$GRIDWALL_VAR/hooks"
REPORT_EXTRA="webhooks = $GRIDWALL_VAR/hooks"
write_config
URL=http://127.0.0.1:$HTTP_PORT
"$BUILD/tests/webhook_sink" "$SINK_PORT" "$GRIDWALL_VAR/bot.lines" 1 >"$GRIDWALL_VAR/sink.out" 2>&1 &
SINK=$!

AT=$(($(date -u +%s) - 600))
N=440605001001001
S=440606001001001
uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
cat >"$GRIDWALL_VAR/records.jsonl" <<JSON
{"client_uuid":"$(uuid 1)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"44060519781120003X","name":"黄伟","temperature":37.9}
{"client_uuid":"$(uuid 2)","channel":"door_to_door","screened_at":$AT,"grid_code":"$S","id_type":"resident_id","id_number":"440606196507070041","name":"梁淑芬","temperature":36.7,"contact":"confirmed"}
JSON

start_daemon ingestd
start_daemon rulesd
start_daemon reportd
wait_for "reportd answers /healthz" "ok" sh -c "curl -s $URL/healthz | jq -r .status"
"$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" "$GRIDWALL_VAR/records.jsonl" >/dev/null 2>&1
wait_for "an alert in Nanhai and one in Shunde" 2 sql "SELECT count(*) FROM alerts"
NANHAI_ALERT=$(sql "SELECT id FROM alerts WHERE grid_code = '$N'")
SHUNDE_ALERT=$(sql "SELECT id FROM alerts WHERE grid_code = '$S'")

echo "# tokens"
issue() { "$BUILD/gridctl" token issue --database "$DB" "$@" 2>"$GRIDWALL_VAR/token.err"; }
NANHAI=$(issue --area 440605 --name 王芳 --role staff)
check "a token is issued and printed once" yes "$([[ $NANHAI =~ ^gw_[0-9a-f]{64}$ ]] && echo yes)"
VIEWER=$(issue --area 440605 --name 李明 --role viewer)
CITY=$(issue --area 4406 --name 市指挥部)
check "only the hash is stored" 0 "$(sql "SELECT count(*) FROM staff_tokens WHERE token_hash = '$NANHAI'")"
issue --area 449999 --name x >/dev/null
check "no token for an area that does not exist" 1 "$?"
check "gridctl token list shows the tokens, never the tokens themselves" "3 0" \
	"$("$BUILD/gridctl" token list --area 4406 --database "$DB" | wc -l) $("$BUILD/gridctl" token list --database "$DB" | grep -c gw_)"

code() { curl -s -o "$GRIDWALL_VAR/body" -w '%{http_code}' "$@"; }
auth() { echo "Authorization: Bearer $1"; }

echo "# reading alerts"
check "no token: 401" 401 "$(code "$URL/v1/alerts")"
check "a made-up token: 401" 401 "$(code -H "$(auth gw_$(printf '0%.0s' $(seq 64)))" "$URL/v1/alerts")"
check "the Nanhai token sees Nanhai's alert only" "$NANHAI_ALERT" \
	"$(curl -s -H "$(auth "$NANHAI")" "$URL/v1/alerts" | jq -r '[.alerts[].alert_id] | join(",")')"
check "with the person's name and masked id" "黄伟 440605********003X" \
	"$(curl -s -H "$(auth "$NANHAI")" "$URL/v1/alerts" | jq -r '.alerts[0] | "\(.person_name) \(.id_masked)"')"
check "the Nanhai token may not list Shunde: 403" 403 \
	"$(code -H "$(auth "$NANHAI")" "$URL/v1/alerts?area=440606")"
check "the city token sees both" 2 \
	"$(curl -s -H "$(auth "$CITY")" "$URL/v1/alerts" | jq '.alerts | length')"
check "a bad state filter: 400" 400 "$(code -H "$(auth "$CITY")" "$URL/v1/alerts?state=lost")"

echo "# acting on alerts"
post() { code -X POST -H "$(auth "$1")" -H 'Content-Type: application/json' --data "${3:-}" "$URL/v1/alerts/$2"; }
check "the Nanhai token on a Shunde alert: 403" 403 "$(post "$NANHAI" "$SHUNDE_ALERT/ack")"
check "a viewer may not act: 403" 403 "$(post "$VIEWER" "$NANHAI_ALERT/ack")"
check "acknowledge: 200" 200 "$(post "$NANHAI" "$NANHAI_ALERT/ack")"
check "the answer is the alert, acknowledged" acknowledged "$(jq -r .state "$GRIDWALL_VAR/body")"
check "acknowledge twice: 409" 409 "$(post "$NANHAI" "$NANHAI_ALERT/ack")"
check "assign without a team: 400" 400 "$(post "$NANHAI" "$NANHAI_ALERT/assign" '{}')"
check "assign to a team: 200" 200 "$(post "$NANHAI" "$NANHAI_ALERT/assign" '{"team":"三人小组-3"}')"
check "assigned to it" "assigned 三人小组-3" "$(jq -r '"\(.state) \(.assigned_team)"' "$GRIDWALL_VAR/body")"
check "resolve with an unknown outcome: 400" 400 \
	"$(post "$NANHAI" "$NANHAI_ALERT/resolve" '{"outcome":"vanished"}')"
check "resolve: sent to a fever clinic" 200 \
	"$(post "$NANHAI" "$NANHAI_ALERT/resolve" '{"outcome":"fever_clinic"}')"
check "resolved with its outcome" "resolved fever_clinic" "$(jq -r '"\(.state) \(.outcome)"' "$GRIDWALL_VAR/body")"
check "nothing leaves resolved: 409" 409 "$(post "$NANHAI" "$NANHAI_ALERT/assign" '{"team":"x"}')"
check "no such alert: 404" 404 "$(post "$CITY" "999999/ack")"
check "no such action: 404" 404 "$(post "$CITY" "$NANHAI_ALERT/delete")"
check "the Shunde alert is untouched" open "$(sql "SELECT state FROM alerts WHERE id = $SHUNDE_ALERT")"
check "an audit row for each action: who, what, from, to" \
	"ack:open:acknowledged:王芳|assign:acknowledged:assigned:王芳|resolve:assigned:resolved:王芳" \
	"$(sql "SELECT string_agg(action || ':' || from_state || ':' || to_state || ':' || actor, '|' ORDER BY id) FROM alert_audit WHERE alert_id = $NANHAI_ALERT")"
check "no audit row for what was refused" 3 "$(sql "SELECT count(*) FROM alert_audit")"
"$BUILD/gridctl" alerts --area 440605 --database "$DB" >"$GRIDWALL_VAR/alerts.txt" 2>&1
check "gridctl alerts shows the resolved state and team" 1 \
	"$(grep -c '\[resolved 三人小组-3\]' "$GRIDWALL_VAR/alerts.txt")"

echo "# live: Server-Sent Events"
check "a stream needs a token: 401" 401 "$(code "$URL/v1/alerts/stream")"
check "the Nanhai token may not stream Shunde: 403" 403 \
	"$(code -H "$(auth "$NANHAI")" "$URL/v1/alerts/stream?area=440606")"
curl -sN -H "$(auth "$NANHAI")" "$URL/v1/alerts/stream" >"$GRIDWALL_VAR/nanhai.sse" 2>/dev/null &
SSE=$!
wait_for "the stream opens with a retry hint" 1 grep -c '^retry: ' "$GRIDWALL_VAR/nanhai.sse"
cat >"$GRIDWALL_VAR/more.jsonl" <<JSON
{"client_uuid":"$(uuid 3)","channel":"door_to_door","screened_at":$AT,"grid_code":"$N","id_type":"resident_id","id_number":"440605198503120016","name":"陈志强","temperature":37.6}
{"client_uuid":"$(uuid 4)","channel":"door_to_door","screened_at":$AT,"grid_code":"$S","id_type":"resident_id","id_number":"440606200102140055","name":"何俊杰","temperature":37.7}
JSON
"$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" "$GRIDWALL_VAR/more.jsonl" >/dev/null 2>&1
wait_for "the new Nanhai alert arrives on the stream" "陈志强" \
	sh -c "grep '^data: ' '$GRIDWALL_VAR/nanhai.sse' | sed 's/^data: //' | jq -r 'select(.kind == \"risk\") | .person_name' | tail -n 1"
NEW=$(sql "SELECT a.id FROM alerts a JOIN persons p ON p.id = a.person_id WHERE p.name = '陈志强'")
post "$NANHAI" "$NEW/ack" >/dev/null
wait_for "its acknowledgement follows as a state event" "acknowledged" \
	sh -c "grep -A1 '^event: state' '$GRIDWALL_VAR/nanhai.sse' | grep '^data: ' | sed 's/^data: //' | jq -r 'select(.alert_id == $NEW) | .state'"
sleep 0.5
check "nothing of Shunde on the Nanhai stream" 0 \
	"$(grep '^data: ' "$GRIDWALL_VAR/nanhai.sse" | sed 's/^data: //' | jq -r .grid_code | grep -vc "^$N")"
kill "$SSE" 2>/dev/null
wait "$SSE" 2>/dev/null

echo "# webhooks: the Nanhai office's bot"
wait_for "the bot got Nanhai's new alert, after one refused attempt" "陈志强" \
	sh -c "jq -r 'select(.kind == \"risk\") | .person_name' '$GRIDWALL_VAR/bot.lines' | tail -n 1"
wait_for "and the acknowledgement" "acknowledged" \
	sh -c "jq -r 'select(.alert_id == $NEW) | .state' '$GRIDWALL_VAR/bot.lines' | tail -n 1"
check "nothing of Shunde went to Nanhai's bot" 0 \
	"$(jq -r .grid_code "$GRIDWALL_VAR/bot.lines" | grep -vc "^$N")"
check "the refused attempt was retried, as /metrics counts" "1" \
	"$(curl -s "$URL/metrics" | sed -n 's/^gridwall_webhook_failed_total //p')"

echo "# revoking"
ID=$(sql "SELECT id FROM staff_tokens WHERE name = '王芳'")
"$BUILD/gridctl" token revoke --id "$ID" --database "$DB" >/dev/null
check "a revoked token: 401" 401 "$(code -H "$(auth "$NANHAI")" "$URL/v1/alerts")"

stop_daemon reportd
check "reportd stops cleanly" 0 "$STATUS"
kill "$SINK" 2>/dev/null
wait "$SINK" 2>/dev/null
stop_daemon rulesd
stop_daemon ingestd
