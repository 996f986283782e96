#!/bin/bash
# reportd's webhooks (services/reportd/webhook.c, docs/webhooks.md) through
# tests/tools/webhook_drive, which posts events the way reportd will, and
# receivers made of tests/tools/webhook_sink. No PostgreSQL, no daemon.
# Checked: each hook gets the events of its area only, once per URL, in
# order, with its event header; 500s are retried with doubling backoff and
# order is kept across the retries; a receiver that is down is given up
# after the attempts, logged with the alert id, the host and the hooks
# line, never the body or the URL's path; a receiver that hangs neither
# blocks the other URLs nor the driver's end, and the attempt's timeout
# makes it a failed attempt; no more than 16 requests are in flight; a full
# queue drops the oldest; a bad hooks file is refused naming file:line, and
# one that everyone may read is used with a warning.
set -u
. "$(dirname "$0")/../lib.sh"
BUILD=$(cd "$ROOT" && cd "${1:-build}" && pwd)
pick_ports
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gridwall-webhook.XXXXXX")
# libcurl honours proxy variables: the receivers are on loopback.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

NANHAI=$BASE
CITY=$((BASE + 1))
FAIL=$((BASE + 2))
DOWN=$((BASE + 3))           # nothing listens there
HANG=$((BASE + 4))
GOOD=$((BASE + 5))
CAP=$((BASE + 6))
SLOW=$((BASE + 7))
N=440605001001001            # a Nanhai grid
S=440606001001001            # a Shunde grid
SINKS=""

# Stops the receivers; keeps their logs and the driver's when something failed.
webhook_cleanup() {
	for name in $SINKS; do
		pid=$(eval echo "\${SINK_$name:-}")
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	if [ "$FAILED" -gt 0 ]; then
		for f in "$WORK"/*.log "$WORK"/*.err; do
			[ -s "$f" ] || continue
			echo "# --- $f"
			tail -n 40 "$f" | sed 's/^/# /'
		done
	fi
	rm -rf "$WORK"
	[ -n "${GRIDWALL_RESULTS:-}" ] && echo "$PASSED $FAILED" >"$GRIDWALL_RESULTS"
	echo "$(basename "$0" .sh): $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] || exit 1
}
trap webhook_cleanup EXIT

# start_sink NAME PORT [FAIL_FIRST [hang]]: a receiver writing bodies to $WORK/NAME.lines.
start_sink() {
	name=$1 port=$2
	shift 2
	: >"$WORK/$name.lines"
	"$BUILD/tests/webhook_sink" "$port" "$WORK/$name.lines" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.err" &
	eval "SINK_$name=$!"
	SINKS="$SINKS $name"
	i=0
	while ! port_taken "$port" && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

# stop_sink NAME: SIGTERM; its summary ("requests=N alert=N state=N bad=N") is in $WORK/NAME.out.
stop_sink() {
	pid=$(eval echo "\${SINK_$1:-}")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	eval "SINK_$1="
}

# drive NAME HOOKS_TEXT ARGS...: writes $WORK/NAME.hooks (mode $HOOKS_MODE, 600 unless
# set), runs the driver on it;
# counters in $WORK/NAME.stats, its log in $WORK/NAME.log, exit status in STATUS,
# its run in DRIVE_MS (milliseconds, wall clock).
drive() {
	name=$1
	printf '%s\n' "$2" >"$WORK/$name.hooks"
	chmod "${HOOKS_MODE:-600}" "$WORK/$name.hooks"
	shift 2
	t0=$(date +%s%N)
	# shellcheck disable=SC2086   # GRIDS is a list of GRID:COUNT words
	timeout 60 "$BUILD/tests/webhook_drive" "$@" "$WORK/$name.hooks" ${GRIDS:-} \
		>"$WORK/$name.stats" 2>"$WORK/$name.log"
	STATUS=$?
	DRIVE_MS=$((($(date +%s%N) - t0) / 1000000))
}

# stat NAME KEY...: the driver's counters, space-separated.
stat() {
	name=$1
	shift
	out=""
	for key in "$@"; do
		out="$out $key=$(sed -n "s/^$key=//p" "$WORK/$name.stats")"
	done
	echo "${out# }"
}

# ids NAME: the alert ids a receiver got, in order.
ids() { jq -r .alert_id "$WORK/$1.lines" | paste -sd' '; }

echo "# routing, once per URL, order, event headers"
start_sink nanhai "$NANHAI"
start_sink city "$CITY"
GRIDS="$N:50 $S:50" drive route "# Nanhai's bot and the city's
440605 http://127.0.0.1:$NANHAI/nanhai

4406   http://127.0.0.1:$CITY/city   # the whole city
440605001 http://127.0.0.1:$CITY/city"
stop_sink nanhai
stop_sink city
check "the driver exits 0" 0 "$STATUS"
check "all delivered, nothing failed" "delivered=150 failed=0 given_up=0 dropped=0 queued=0 hooks=3" \
	"$(stat route delivered failed given_up dropped queued hooks)"
check "the Nanhai hook gets Nanhai's events only, in order" "$(seq 1 2 99 | paste -sd' ')" "$(ids nanhai)"
check "the city hook gets both districts' events, once each, in order" \
	"$(seq 1 100 | paste -sd' ')" "$(ids city)"
check "each body is the JSON as posted" "$N $S" \
	"$(jq -r .grid_code "$WORK/city.lines" | head -n 2 | paste -sd' ')"
check "the Nanhai receiver saw alert events only (odd ids), headers right" \
	"requests=50 alert=50 state=0 bad=0" "$(cat "$WORK/nanhai.out")"
check "the city receiver saw alert and state events, headers right" \
	"requests=100 alert=50 state=50 bad=0" "$(cat "$WORK/city.out")"

echo "# retries after 500 with backoff"
start_sink fail "$FAIL" 3
GRIDS="$N:3" drive retry "backoff_ms 100
440605001001001 http://127.0.0.1:$FAIL/hook"
stop_sink fail
check "the driver exits 0" 0 "$STATUS"
check "all delivered after 3 failed attempts" "delivered=3 failed=3 given_up=0 queued=0" \
	"$(stat retry delivered failed given_up queued)"
check "the first event is retried until taken, the others wait their turn" "1 1 1 1 2 3" "$(ids fail)"
check "the waits double: 100, 200, 400 ms" "100 200 400" \
	"$(grep -o 'retrying in [0-9]* ms' "$WORK/retry.log" | awk '{print $3}' | paste -sd' ')"
elapsed=$(sed -n 's/^elapsed_ms=//p' "$WORK/retry.stats")
check "the run took the backoff's 700 ms and not much more (${elapsed} ms)" yes \
	"$([ "${elapsed:-0}" -ge 700 ] && [ "${elapsed:-0}" -lt 3000 ] && echo yes)"
check "a failed attempt is logged with the host, the hooks line and the status" 3 \
	"$(grep -c "attempt [123] of 8 to 127.0.0.1:$FAIL (hooks line 2) failed: HTTP 500" "$WORK/retry.log")"

echo "# a receiver that is down"
GRIDS="$N:2" drive down "attempts 3
backoff_ms 50
4406 http://127.0.0.1:$DOWN/bot/SECRETKEY?key=SECRET2"
check "the driver exits 0" 0 "$STATUS"
check "both given up after 3 attempts each" "delivered=0 failed=6 given_up=2 queued=0" \
	"$(stat down delivered failed given_up queued)"
check "giving up is logged with the event, the alert id, the host and the hooks line" 2 \
	"$(grep -Ec "gave up on the (alert event of alert 1|state event of alert 2) to 127.0.0.1:$DOWN \(hooks line 3\) after 3 attempts; last: Couldn't connect to server" "$WORK/down.log")"
check "the URL's path and query are not logged" 0 "$(grep -c SECRET "$WORK/down.log")"

echo "# a receiver that accepts and never answers"
start_sink hang "$HANG" 0 hang
start_sink good "$GOOD"
GRIDS="$N:20" drive hang "440605 http://127.0.0.1:$HANG/hang
440605 http://127.0.0.1:$GOOD/good" -d 1500
stop_sink good
check "the driver exits 0, at its deadline" 0 "$STATUS"
check "the other URL gets everything meanwhile" "$(seq 1 20 | paste -sd' ')" "$(ids good)"
check "the hung URL has its first request in flight, the rest waiting" \
	"delivered=20 failed=0 given_up=0 queued=20 in_flight=1" \
	"$(stat hang delivered failed given_up queued in_flight)"
check "the hung URL got the first event only: one in flight per URL" 1 "$(ids hang)"
check "the driver ends at its deadline (1500 ms) with a request in flight (${DRIVE_MS} ms)" yes \
	"$([ "$DRIVE_MS" -ge 1500 ] && [ "$DRIVE_MS" -lt 4000 ] && echo yes)"

echo "# the attempt's timeout"
start_sink slow "$SLOW" 0 hang
GRIDS="$N:1" drive timeout "timeout_ms 300
attempts 2
backoff_ms 50
4406 http://127.0.0.1:$SLOW/slow"
stop_sink slow
check "an unanswered attempt times out and fails; given up after 2" \
	"delivered=0 failed=2 given_up=1 queued=0" "$(stat timeout delivered failed given_up queued)"
check "the timeout is the reason given" 1 \
	"$(grep -c 'after 2 attempts; last: Timeout was reached' "$WORK/timeout.log")"
check "the receiver saw both attempts" "requests=2 alert=2 state=0 bad=0" "$(cat "$WORK/slow.out")"

echo "# at most 16 requests in flight"
start_sink cap "$CAP" 0 hang
hooks=""
for i in $(seq 1 20); do hooks="$hooks
4406 http://127.0.0.1:$CAP/hook$i"; done
GRIDS="$N:1" drive cap "$hooks" -d 1000
check "20 URLs, 16 in flight, all 20 queued" "hooks=20 queued=20 in_flight=16" \
	"$(stat cap hooks queued in_flight)"
check "the receiver got 16 requests" 16 "$(wc -l <"$WORK/cap.lines")"
stop_sink cap
stop_sink hang

echo "# a full queue drops the oldest"
start_sink drop "$GOOD"
GRIDS="$N:10" drive drop "max_queued 5
4406 http://127.0.0.1:$GOOD/hook"
stop_sink drop
check "5 dropped, 5 delivered" "delivered=5 dropped=5 queued=0" "$(stat drop delivered dropped queued)"
check "the first (in flight) and the newest 4 arrive" "1 7 8 9 10" "$(ids drop)"
check "the drop is logged once" 1 "$(grep -c 'queue full (5 deliveries): dropping the oldest' "$WORK/drop.log")"

echo "# bad hooks files"
bad() {
	GRIDS="" drive "$1" "$2"
	echo "$STATUS $(sed -n 's/^webhook_drive: //p' "$WORK/$1.log")"
}
check "an ftp URL" "2 $WORK/bad1.hooks:3: the URL must be http:// or https:// with a host (at most 2048 bytes)" \
	"$(bad bad1 "# ok
4406 https://bots.example.org/a
440605 ftp://bots.example.org/b")"
check "a URL without a host" "2 $WORK/bad2.hooks:1: the URL must be http:// or https:// with a host (at most 2048 bytes)" \
	"$(bad bad2 "4406 https://")"
check "a malformed area code" "2 $WORK/bad3.hooks:2: \"44060\" is not an area code (4, 6, 9, 12 or 15 digits)" \
	"$(bad bad3 "
44060 https://bots.example.org/a")"
check "an area code without its URL" "2 $WORK/bad4.hooks:1: a URL must follow the area code" \
	"$(bad bad4 "4406")"
check "a third word" "2 $WORK/bad5.hooks:1: unexpected \"https://b.example.org/\" after two words (a comment starts with '#')" \
	"$(bad bad5 "4406 https://a.example.org/ https://b.example.org/")"
check "an unknown setting" "2 $WORK/bad6.hooks:2: expected \"AREA_CODE URL\" or a setting (attempts, backoff_ms, backoff_max_ms, timeout_ms, max_queued), not \"retries\"" \
	"$(bad bad6 "attempts 3
retries 3")"
check "a setting out of range" "2 $WORK/bad7.hooks:1: attempts must be a whole number from 1 to 100" \
	"$(bad bad7 "attempts 0")"
check "a setting set twice" "2 $WORK/bad8.hooks:2: timeout_ms is set twice" \
	"$(bad bad8 "timeout_ms 1000
timeout_ms 2000")"
out=$(timeout 10 "$BUILD/tests/webhook_drive" "$WORK/nothere.hooks" 2>&1 >/dev/null)
check "a missing file" "2 webhook_drive: $WORK/nothere.hooks: cannot open the hooks file: No such file or directory" \
	"$? $out"

echo "# the hooks file's mode"
check "a file only its owner reads: no warning" 0 "$(grep -c 'readable by everyone' "$WORK/route.log")"
HOOKS_MODE=644 GRIDS="$N:0" drive mode "4406 https://bots.example.org/hook"
check "a file everyone may read: used, with a warning" "0 1" \
	"$STATUS $(grep -c "$WORK/mode.hooks is readable by everyone, and a hook's URL often holds a bot's key: chmod o-r it" "$WORK/mode.log")"

check "no driver log holds a body's personal data" "" \
	"$(grep -l -e '测试者' -e 13912345678 "$WORK"/*.log)"
