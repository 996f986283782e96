#!/bin/bash
# The aggregate feed's Clone pattern on a real PostgreSQL: ingestd, rulesd
# and reportd on a throwaway cluster, with the full snapshot period far
# beyond the suite's length, so that only a snapshot from reportd's ROUTER
# can give a late subscriber today's totals. Checked: a late subscriber
# prints the current totals at once, then exactly the updates after the
# snapshot (no gap, no duplicate: seq strictly increasing and, for the
# whole city, consecutive); malformed requests get an error reply and
# reportd stays up; an area of 50,000 cells comes whole; after reportd
# restarts, new and old subscribers get a consistent snapshot.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
write_config
# [reportd] is the config's last section: no full snapshot while the suite runs.
echo "full_snapshot_interval_ms = 600000" >>"$CONF"

FEED_EP="tcp://127.0.0.1:$((BASE + 5))"
SNAP_EP="ipc://$GRIDWALL_VAR/snapshot.ipc"
NOW=$(date -u +%s)
DAY=$(date -u -d "@$((NOW + 28800))" +%F)          # reportd's local (UTC+8) today
N=440605001001001   # a Nanhai grid
S=440606001001001   # a Shunde grid

uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
# rec NUMBER GRID ID_NUMBER NAME TEMPERATURE: one record line, screened now.
rec() {
	printf '{"client_uuid":"%s","channel":"door_to_door","screened_at":%s,"grid_code":"%s","id_type":"resident_id","id_number":"%s","name":"%s","temperature":%s}\n' \
		"$(uuid "$1")" "$NOW" "$2" "$3" "$4" "$5"
}
# push FILE: sends a file of records to ingestd.
push() {
	"$BUILD/gridctl" push --endpoint "tcp://127.0.0.1:$((BASE + 1))" "$1" >/dev/null 2>>"$GRIDWALL_VAR/push.err"
}
# table PREFIX: today's rows under PREFIX, "code:screened fevers key high" by code.
table() {
	sql "SELECT coalesce(string_agg(area_code || ':' || screened || ' ' || fevers || ' ' || key_persons || ' ' || high_risk, ',' ORDER BY area_code COLLATE \"C\"), '') FROM daily_aggregates WHERE day = '$DAY' AND area_code LIKE '$1%'"
}
# state FILE: what a subscriber knows after applying FILE's lines in order, as table prints it.
state() {
	jq -rs --arg day "$DAY" 'map(select(.day == $day)) | group_by(.area)
		| map(last | "\(.area):\(.screened) \(.fevers) \(.key_persons) \(.high_risk)") | join(",")' "$1"
}
# snap_seq FILE.err [N]: the seq of the Nth snapshot (default the first) gridctl announced.
snap_seq() { sed -n 's/.* areas at seq \([0-9]*\)$/\1/p' "$1" | sed -n "${2:-1}p"; }
# ms: a clock in milliseconds.
ms() { echo $(($(date +%s%N) / 1000000)); }
# city_screened: today's screenings counted for the whole city.
city_screened() { sql "SELECT coalesce(max(screened), 0) FROM daily_aggregates WHERE day = '$DAY' AND area_code = '4406'"; }

echo "# starting the three daemons"
start_daemon ingestd
start_daemon rulesd
start_daemon reportd
wait_for "reportd answers /healthz" "ok" \
	sh -c "curl -s http://127.0.0.1:$HTTP_PORT/healthz | jq -r .status"

echo "# totals exist before any subscriber"
{
	rec 1 $N 440605198503120016 陈志强 36.5
	rec 2 $N 44060519781120003X 黄伟 38.2
	rec 3 $N 440605199505050060 吴丽娟 36.6
	rec 4 $S 440606196507070041 梁淑芬 36.7
	rec 5 $S 440606200102140055 何俊杰 37.9
} >"$GRIDWALL_VAR/first.jsonl"
push "$GRIDWALL_VAR/first.jsonl"
wait_for "the first 5 screenings are counted" 5 city_screened
sleep 0.6      # a tick (200 ms) publishes them: the snapshot holds what was published
check "the table has Nanhai's 4 areas" 4 "$(sql "SELECT count(*) FROM daily_aggregates WHERE day = '$DAY' AND area_code LIKE '440605%'")"

echo "# a late subscriber without a snapshot sees nothing: no full snapshot comes"
timeout 1.5 "$BUILD/gridctl" feed --no-snapshot --area 440605 --json --endpoint "$FEED_EP" \
	>"$GRIDWALL_VAR/nosnap.jsonl" 2>/dev/null
check "--no-snapshot: nothing published in 1.5 s" "" "$(cat "$GRIDWALL_VAR/nosnap.jsonl")"

echo "# a late subscriber with the snapshot has the totals at once"
t0=$(ms)
timeout 10 "$BUILD/gridctl" feed --area 440605 --json --count 4 --endpoint "$FEED_EP" \
	--snapshot-endpoint "$SNAP_EP" >"$GRIDWALL_VAR/late1.jsonl" 2>"$GRIDWALL_VAR/late1.err"
rc=$?
t1=$(ms)
check "gridctl feed --count 4 exits 0" 0 "$rc"
check "it printed the 4 areas of Nanhai, each once, all from the snapshot" "4 4 4" \
	"$(jq -s '[length, (map(.area) | unique | length), (map(select(.snapshot == true)) | length)] | map(tostring) | join(" ")' -r "$GRIDWALL_VAR/late1.jsonl")"
check "the snapshot's totals are the table's" "$(table 440605)" "$(state "$GRIDWALL_VAR/late1.jsonl")"
check "the snapshot came within 2 s (the full period is 600 s)" yes "$([ $((t1 - t0)) -lt 2000 ] && echo yes || echo "no: $((t1 - t0)) ms")"
check "gridctl named the snapshot's day, size and seq" yes \
	"$(grep -q "snapshot of \"440605\" on $DAY: 4 areas at seq [0-9]" "$GRIDWALL_VAR/late1.err" && echo yes)"
check "no cell of the snapshot is newer than the snapshot's seq" "" \
	"$(jq -r --argjson s "$(snap_seq "$GRIDWALL_VAR/late1.err")" 'select(.seq > $s) | .area' "$GRIDWALL_VAR/late1.jsonl")"

echo "# late subscribers follow the updates after their snapshot"
# (gridctl itself in the background, not a function's subshell: $! must be its pid)
"$BUILD/gridctl" feed --area 440605 --json --endpoint "$FEED_EP" --snapshot-endpoint "$SNAP_EP" \
	>"$GRIDWALL_VAR/nanhai.jsonl" 2>"$GRIDWALL_VAR/nanhai.err" &
FEED_PID=$!
# The whole city: every update published matches, so its seqs must follow one another.
"$BUILD/gridctl" feed --area 4406 --json --endpoint "$FEED_EP" --snapshot-endpoint "$SNAP_EP" \
	>"$GRIDWALL_VAR/city.jsonl" 2>"$GRIDWALL_VAR/city.err" &
FOLLOW_PID=$!
wait_for "the Nanhai subscriber has its snapshot" 4 \
	sh -c "jq -s 'map(select(.snapshot == true)) | length' '$GRIDWALL_VAR/nanhai.jsonl'"
wait_for "the city subscriber has its snapshot" 9 \
	sh -c "jq -s 'map(select(.snapshot == true)) | length' '$GRIDWALL_VAR/city.jsonl'"
# Three pushes a few ticks apart: several updates of the same areas.
for k in 1 2 3; do
	{
		rec $((10 * k + 1)) $N 440605198503120016 陈志强 36.$k
		rec $((10 * k + 2)) $N 440605199001010022 李秀英 38.$k
		rec $((10 * k + 3)) $S 440606200102140055 何俊杰 36.$k
	} >"$GRIDWALL_VAR/more$k.jsonl"
	push "$GRIDWALL_VAR/more$k.jsonl"
	sleep 0.3
done
wait_for "all 14 screenings are counted" 14 city_screened
wait_for "the Nanhai subscriber reached the table's totals" "$(table 440605)" state "$GRIDWALL_VAR/nanhai.jsonl"
wait_for "the city subscriber reached the table's totals" "$(table 4406)" state "$GRIDWALL_VAR/city.jsonl"
NS=$(snap_seq "$GRIDWALL_VAR/nanhai.err")
CS=$(snap_seq "$GRIDWALL_VAR/city.err")
check "the Nanhai subscriber printed updates after its snapshot" yes \
	"$([ "$(jq -s 'map(select(.snapshot != true)) | length' "$GRIDWALL_VAR/nanhai.jsonl")" -gt 0 ] && echo yes)"
check "every Nanhai update is after the snapshot's seq" "" \
	"$(jq -r --argjson s "$NS" 'select(.snapshot != true and .seq <= $s) | .seq' "$GRIDWALL_VAR/nanhai.jsonl")"
check "Nanhai updates: seq strictly increasing (no duplicate)" "" \
	"$(jq -r 'select(.snapshot != true) | .seq' "$GRIDWALL_VAR/nanhai.jsonl" | awk 'NR > 1 && $1 <= prev { print "not increasing at " NR } { prev = $1 }')"
check "the Nanhai subscriber saw only Nanhai" "" \
	"$(jq -r 'select(.area | startswith("440605") | not) | .area' "$GRIDWALL_VAR/nanhai.jsonl")"
check "city updates: exactly the seqs after the snapshot's, consecutive (no gap, no duplicate)" "" \
	"$(jq -r 'select(.snapshot != true) | .seq' "$GRIDWALL_VAR/city.jsonl" | awk -v s="$CS" '$1 != s + NR { print "seq " $1 " where " s + NR " was due"; exit }')"
check "the city's updates go on from the snapshot's seq" "$((CS + 1))" \
	"$(jq -r 'select(.snapshot != true) | .seq' "$GRIDWALL_VAR/city.jsonl" | head -n 1)"

echo "# a prefix that is not an area code, an unknown area, an unreachable ROUTER"
timeout 10 "$BUILD/gridctl" feed --area 44060 --json --count 8 --endpoint "$FEED_EP" \
	--snapshot-endpoint "$SNAP_EP" >"$GRIDWALL_VAR/prefix.jsonl" 2>/dev/null
check "prefix 44060 (no area code, a prefix of two districts) gets both districts" "$(table 44060)" \
	"$(state "$GRIDWALL_VAR/prefix.jsonl")"
timeout 10 "$BUILD/gridctl" feed --area 440699 --count 1 --endpoint "$FEED_EP" \
	--snapshot-endpoint "$SNAP_EP" >/dev/null 2>"$GRIDWALL_VAR/unknown.err"
check "an unknown area: gridctl feed exits 1" 1 $?
check "... saying why" yes "$(grep -q 'refused the snapshot of "440699": UNKNOWN_AREA: no area 440699' "$GRIDWALL_VAR/unknown.err" && echo yes)"
timeout 5 "$BUILD/gridctl" feed --area 440605 --count 1 --endpoint "$FEED_EP" --timeout-ms 300 --retries 1 \
	--snapshot-endpoint "ipc://$GRIDWALL_VAR/nobody.ipc" >/dev/null 2>"$GRIDWALL_VAR/nobody.err"
check "a silent ROUTER: asked twice, then a clear error, then the feed alone" yes \
	"$(grep -q 'retry 1 of 1' "$GRIDWALL_VAR/nobody.err" && grep -q "no snapshot from reportd at ipc://$GRIDWALL_VAR/nobody.ipc after 2 tries of 300 ms" "$GRIDWALL_VAR/nobody.err" && echo yes)"

echo "# malformed requests get an error reply; reportd stays up"
Z=$BUILD/tests/zsend
printf '\377\377\377' >"$GRIDWALL_VAR/garbage.bin"
printf '\012\00344x' >"$GRIDWALL_VAR/badprefix.bin"                 # area_prefix "44x"
printf '\022\0122020-13-01' >"$GRIDWALL_VAR/badday.bin"            # day "2020-13-01"
printf '\012\006440699' >"$GRIDWALL_VAR/unknown.bin"               # area_prefix "440699"
head -c 2048 /dev/zero >"$GRIDWALL_VAR/big.bin"
check "an undecodable request" "BAD_REQUEST cannot decode SnapshotRequest (3 bytes)" \
	"$("$Z" "$SNAP_EP" - "$GRIDWALL_VAR/garbage.bin")"
check "a prefix that is not digits" "BAD_REQUEST area_prefix must be at most 15 digits" \
	"$("$Z" "$SNAP_EP" - "$GRIDWALL_VAR/badprefix.bin")"
check "a day that is not a date" "BAD_REQUEST day must be a date YYYY-MM-DD" \
	"$("$Z" "$SNAP_EP" - "$GRIDWALL_VAR/badday.bin")"
check "too many frames" "BAD_REQUEST expected [empty frame][SnapshotRequest], got 4 frames" \
	"$("$Z" "$SNAP_EP" - "$GRIDWALL_VAR/badprefix.bin" "$GRIDWALL_VAR/badday.bin")"
check "an area code that names no area (status 3, UNKNOWN_AREA)" "? no area 440699" \
	"$("$Z" "$SNAP_EP" - "$GRIDWALL_VAR/unknown.bin")"
check "a request over 1 KiB: ZeroMQ drops the peer, no reply" "no reply" \
	"$("$Z" "$SNAP_EP" - "$GRIDWALL_VAR/big.bin")"
check "reportd is still running" yes "$(kill -0 "$PID_reportd" 2>/dev/null && echo yes)"
timeout 10 "$BUILD/gridctl" feed --area 440606 --json --count 4 --endpoint "$FEED_EP" \
	--snapshot-endpoint "$SNAP_EP" >"$GRIDWALL_VAR/after.jsonl" 2>/dev/null
check "and still answers a good request" "$(table 440606)" "$(state "$GRIDWALL_VAR/after.jsonl")"

echo "# an area of 50,000 cells, then reportd restarted"
sql "INSERT INTO areas (code, parent, level, name) VALUES ('440607', '4406', 'district', '测试区');
     INSERT INTO areas SELECT '440607' || lpad(t::text, 3, '0'), '440607', 'town', '镇' || t
       FROM generate_series(1, 50) t;
     INSERT INTO areas SELECT '440607' || lpad(t::text, 3, '0') || lpad(c::text, 3, '0'),
            '440607' || lpad(t::text, 3, '0'), 'community', '社区' || c
       FROM generate_series(1, 50) t, generate_series(1, 10) c;
     INSERT INTO areas SELECT '440607' || lpad(t::text, 3, '0') || lpad(c::text, 3, '0') || lpad(g::text, 3, '0'),
            '440607' || lpad(t::text, 3, '0') || lpad(c::text, 3, '0'), 'grid', '第' || g || '网格'
       FROM generate_series(1, 50) t, generate_series(1, 10) c, generate_series(1, 100) g;
     INSERT INTO daily_aggregates (day, area_code, screened, fevers, key_persons, high_risk)
       SELECT '$DAY', code, length(code), 1, 0, 0 FROM areas WHERE code LIKE '440607%';" >/dev/null
check "50,551 cells under 440607 in the table" 50551 \
	"$(sql "SELECT count(*) FROM daily_aggregates WHERE day = '$DAY' AND area_code LIKE '440607%'")"
stop_daemon reportd
check "reportd stops cleanly" 0 "$STATUS"
check "reportd counted the requests and the refusals" yes \
	"$(grep -Eq 'snapshot_requests=[0-9]+ refused=6 undelivered=0' "$GRIDWALL_VAR/log/reportd.log" && echo yes)"
start_daemon reportd
wait_for "reportd answers /healthz again" "ok" \
	sh -c "curl -s http://127.0.0.1:$HTTP_PORT/healthz | jq -r .status"
t0=$(ms)
timeout 30 "$BUILD/gridctl" feed --area 440607 --json --count 50551 --endpoint "$FEED_EP" \
	--snapshot-endpoint "$SNAP_EP" >"$GRIDWALL_VAR/big.jsonl" 2>"$GRIDWALL_VAR/big.err"
rc=$?
t1=$(ms)
check "the 50,551 cells: gridctl feed exits 0" 0 "$rc"
check "... each once, all from one snapshot" "50551 50551 50551" \
	"$(jq -s '[length, (map(.area) | unique | length), (map(select(.snapshot == true)) | length)] | map(tostring) | join(" ")' -r "$GRIDWALL_VAR/big.jsonl")"
check "... with the table's totals" \
	"$(sql "SELECT sum(screened) || ' ' || sum(fevers) FROM daily_aggregates WHERE day = '$DAY' AND area_code LIKE '440607%'")" \
	"$(jq -rs '"\(map(.screened) | add) \(map(.fevers) | add)"' "$GRIDWALL_VAR/big.jsonl")"
echo "# 50,551 cells in $((t1 - t0)) ms"
check "... in less than 10 s" yes "$([ $((t1 - t0)) -lt 10000 ] && echo yes || echo "no: $((t1 - t0)) ms")"
timeout 10 "$BUILD/gridctl" feed --area 440605 --json --count 4 --endpoint "$FEED_EP" \
	--snapshot-endpoint "$SNAP_EP" >"$GRIDWALL_VAR/new.jsonl" 2>/dev/null
check "after the restart a new subscriber gets Nanhai's totals" "$(table 440605)" "$(state "$GRIDWALL_VAR/new.jsonl")"
wait_for "the city subscriber took a new snapshot on reconnecting" 1 \
	grep -c 'reconnected to the feed: taking a new snapshot' "$GRIDWALL_VAR/city.err"
wait_for "... of the whole city, 50,000 cells included" 2 \
	sh -c "grep -c 'snapshot of \"4406\" on $DAY: [0-9]* areas at seq' '$GRIDWALL_VAR/city.err'"
check "... whose size is the table's" "$(sql "SELECT count(*) FROM daily_aggregates WHERE day = '$DAY' AND area_code LIKE '4406%'")" \
	"$(sed -n 's/.*on [0-9-]*: \([0-9]*\) areas at seq.*/\1/p' "$GRIDWALL_VAR/city.err" | sed -n 2p)"
{
	rec 41 $N 440605198503120016 陈志强 37.6
	rec 42 $S 440606196507070041 梁淑芬 36.4
} >"$GRIDWALL_VAR/last.jsonl"
push "$GRIDWALL_VAR/last.jsonl"
wait_for "all 16 screenings are counted" 16 city_screened
wait_for "the old Nanhai subscriber follows the new reportd to the table's totals" "$(table 440605)" \
	state "$GRIDWALL_VAR/nanhai.jsonl"
wait_for "so does the city subscriber" "$(table 4406)" state "$GRIDWALL_VAR/city.jsonl"

echo "# stop"
kill "$FEED_PID" 2>/dev/null
wait "$FEED_PID" 2>/dev/null
check "gridctl feed stops cleanly on SIGTERM" 0 $?
FEED_PID=
kill "$FOLLOW_PID" 2>/dev/null
wait "$FOLLOW_PID" 2>/dev/null
check "the city subscriber too" 0 $?
FOLLOW_PID=
stop_daemon reportd
check "reportd stops cleanly" 0 "$STATUS"
stop_daemon rulesd
stop_daemon ingestd
