#!/bin/bash
# Devices authenticate with CurveZMQ: a listed device is admitted and may
# submit only for its own district; an unlisted key and a client without
# Curve are refused; a key removed from the allowlist is refused after
# SIGHUP; a bad allowlist is refused on reload while the old one keeps
# working.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
KEYS=$GRIDWALL_VAR/keys
DEVICES=$GRIDWALL_VAR/devices
mkdir -p "$KEYS" "$DEVICES"
"$BUILD/gridctl" keygen --server --name ingest --out "$KEYS" >/dev/null
"$BUILD/gridctl" keygen --name dev-nanhai --district 440605 --out "$KEYS" >/dev/null
"$BUILD/gridctl" keygen --name dev-rogue --district 440605 --out "$KEYS" >/dev/null
check "keygen wrote a private secret half" 600 "$(stat -c %a "$KEYS/dev-nanhai.key")"
cp "$KEYS/dev-nanhai.pub" "$DEVICES/"
SERVER_KEY=$(sed -n 's/^public_key *= *//p' "$KEYS/ingest.pub")
INGEST_EXTRA="security = curve
curve_server_key_file = $KEYS/ingest.key
curve_devices_dir = $DEVICES"
write_config
start_daemon ingestd
wait_for "ingestd answers /healthz" ok sh -c "curl -s http://127.0.0.1:$INGEST_HTTP_PORT/healthz | jq -r .status"

AT=$(( $(date -u +%s) - 600 ))
uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
line() {
	printf '{"client_uuid":"%s","channel":"door_to_door","screened_at":%d,"grid_code":"%s","id_number":"%s","name":"%s","temperature":36.5}\n' \
		"$(uuid "$1")" "$AT" "$2" "$3" "$4"
}
# push KEYFILE FILE: gridctl push as that device (no Curve when KEYFILE is "-").
push() {
	if [ "$1" = - ]; then
		set -- --timeout-ms 1500 --retries 0 "$2"
	else
		set -- --server-key "$SERVER_KEY" --key-file "$1" --timeout-ms 1500 --retries 0 "$2"
	fi
	"$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" "$@" 2>/dev/null
}
{
	line 1 440605001001001 440605198503120016 陈志强
	line 2 440606001001001 440606196507070041 梁淑芬
} >"$GRIDWALL_VAR/mixed.jsonl"

check "a listed device is admitted; a record outside its district is refused alone" \
	"accepted WRONG_DISTRICT:grid_code" \
	"$(push "$KEYS/dev-nanhai.key" "$GRIDWALL_VAR/mixed.jsonl" | jq -r '.code // .outcome' | paste -sd' ' | sed 's/WRONG_DISTRICT/WRONG_DISTRICT:grid_code/')"
line 3 440605001001001 440605199001010022 李秀英 >"$GRIDWALL_VAR/one.jsonl"
push "$KEYS/dev-rogue.key" "$GRIDWALL_VAR/one.jsonl" >/dev/null
check "an unlisted device key gets no answer" 1 $?
push - "$GRIDWALL_VAR/one.jsonl" >/dev/null
check "a client without Curve gets no answer" 1 $?
check "nothing from them was stored" 1 "$(sql "SELECT count(*) FROM screenings")"

echo "# a bad allowlist is refused on reload; the old one stays"
echo "public_key = tooshort" >"$DEVICES/broken.pub"
kill -HUP "$PID_ingestd"
sleep 0.3
check "the reload was refused, naming the file" 1 \
	"$(grep -c 'device allowlist not reloaded.*broken.pub' "$GRIDWALL_VAR/log/ingestd.log")"
check "the listed device still gets in" accepted \
	"$(push "$KEYS/dev-nanhai.key" "$GRIDWALL_VAR/one.jsonl" | jq -r .outcome)"
rm "$DEVICES/broken.pub"

echo "# revocation"
rm "$DEVICES/dev-nanhai.pub"
kill -HUP "$PID_ingestd"
sleep 0.3
line 4 440605001001001 44060519781120003X 黄伟 >"$GRIDWALL_VAR/two.jsonl"
push "$KEYS/dev-nanhai.key" "$GRIDWALL_VAR/two.jsonl" >/dev/null
check "a removed key is refused after SIGHUP" 1 $?
check "still only the two admitted records stored" 2 "$(sql "SELECT count(*) FROM screenings")"
curl -s "http://127.0.0.1:$INGEST_HTTP_PORT/metrics" >"$GRIDWALL_VAR/metrics.txt"
check "refused handshakes counted (the unlisted and the revoked key)" yes \
	"$([ "$(sed -n 's/^gridwall_ingest_handshakes_refused_total //p' "$GRIDWALL_VAR/metrics.txt")" -ge 2 ] && echo yes)"
stop_daemon ingestd
check "ingestd stops cleanly" 0 "$STATUS"
