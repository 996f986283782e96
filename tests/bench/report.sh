#!/bin/bash
# The report benchmark (make bench-report): on a throwaway cluster with a
# synthetic city and a day of its screenings, measures in one run on the
# same machine
#   1. the latency (p50, p99) and rate of GET /v1/aggregates (an area's
#      towns for the day) and GET /v1/coverage (an area's towns) under wrk
#      on loopback, beside GET /healthz, the server's floor, as baseline;
#   2. how long a new screening pushed through ingestd takes to show in the
#      aggregates reportd serves (through rulesd, reportd and its commit);
#   3. how fast reportd counts a backlog (the day's last BENCH_BACKLOG
#      screenings, left after its watermark when it starts), beside the
#      rate COPY wrote the day at, as baseline; and whether its live count
#      then equals `gridctl report rebuild --check` at the city's scale.
# The day is loaded with COPY; rulesd's and reportd's watermarks are then
# set past it (screenings, alerts and households; reportd's screenings
# watermark BENCH_BACKLOG short of the end), and the days' rows of
# daily_aggregates are computed by `gridctl report rebuild` (what reportd
# would have counted, docs/aggregates.md), so the daemons start on a full
# day without replaying it. reportd withholds nothing (suppress_below
# = 1): the visibility probe reads a grid's exact screenings. Durability is
# never weakened. A bench is not a test: it asserts nothing and exits
# non-zero only when it could not measure. The last line is the RESULT line.
#
# Environment (defaults in brackets):
#   BENCH_PERSONS [8000000]     persons in the synthetic city
#   BENCH_SCREENINGS [PERSONS]  screenings of the day (everyone once by default)
#   BENCH_AREA [440605]         the area queried (Nanhai)
#   BENCH_WRK_S [20]            seconds of each wrk run
#   BENCH_CONNECTIONS [16]      wrk connections (2 threads)
#   BENCH_VISIBLE [20]          screenings pushed one by one for the visibility figure
#   BENCH_BACKLOG [400000]      screenings reportd counts live when it starts
set -u
BUILD=${1:-build}
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "$ROOT" && cd "$BUILD" && pwd)

PERSONS=${BENCH_PERSONS:-8000000}
SCREENINGS=${BENCH_SCREENINGS:-$PERSONS}
AREA=${BENCH_AREA:-440605}
WRK_S=${BENCH_WRK_S:-20}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
VISIBLE=${BENCH_VISIBLE:-20}
BACKLOG=${BENCH_BACKLOG:-400000}
# Must match fieldsim's COPYOUT_COLUMNS (tools/fieldsim/fieldsim.h).
COLUMNS="client_uuid, device_id, worker_id, team_id, channel, screened_at, grid_code, household_id, person_id, temperature, symptoms, origin_region, departed_on, arrived_on, contact, note"
T0=$EPOCHREALTIME

# The local day of a timestamp column, as reportd counts it (its day_utc_offset_min).
local_day() {
	echo "(date '1970-01-01' + floor((extract(epoch FROM $1) + (SELECT day_utc_offset_min FROM report_settings) * 60) / 86400)::int)"
}
# Every consumer past what is loaded: rulesd past the screenings, reportd
# BACKLOG short of them, reportd's other two past the alerts and the households.
SQL_WATERMARKS="
UPDATE consumer_offsets SET last_id = CASE consumer
  WHEN 'reportd.alerts' THEN (SELECT coalesce(max(id), 0) FROM alerts)
  WHEN 'reportd.households' THEN (SELECT coalesce(max(id), 0) FROM households)
  WHEN 'reportd' THEN greatest((SELECT coalesce(max(id), 0) FROM screenings) - $BACKLOG, 0)
  ELSE (SELECT coalesce(max(id), 0) FROM screenings) END, updated_at = now()"
SQL_REPORT_WM="SELECT last_id FROM consumer_offsets WHERE consumer = 'reportd'"
# The first local day anything was registered or screened.
SQL_FIRST_DAY="SELECT least((SELECT min($(local_day created_at)) FROM households),
                             (SELECT min($(local_day screened_at)) FROM screenings))"

command -v wrk >/dev/null || die "wrk is missing: apt-get install wrk (deploy/deps.sh installs it)"

# wrk_run LABEL URL: one wrk run; P50, P99 (ms) and RPS of it.
wrk_run() {
	wrk -t2 -c"$CONNECTIONS" -d"${WRK_S}s" --latency "$2" >"$GRIDWALL_VAR/wrk-$1.out" 2>&1 ||
		die "wrk failed on $2"
	grep -q 'Non-2xx' "$GRIDWALL_VAR/wrk-$1.out" && die "$2 answered errors under load"
	P50=$(s_wrk_ms 50% "$GRIDWALL_VAR/wrk-$1.out")
	P99=$(s_wrk_ms 99% "$GRIDWALL_VAR/wrk-$1.out")
	RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$GRIDWALL_VAR/wrk-$1.out")
	say "$1: p50 $P50 ms, p99 $P99 ms, $RPS requests/s ($2)"
}

# s_wrk_ms PERCENTILE FILE: a latency line of wrk's distribution, in ms.
s_wrk_ms() {
	awk -v p="$1" '$1 == p {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		printf "%.2f", (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v) }' "$2"
}

# The screenings of an area today, as reportd serves them ("null" when withheld, "" when not answered).
screened_now() {
	curl -s "http://127.0.0.1:$HTTP_PORT/v1/aggregates?area=$1&from=$DAY&to=$DAY" |
		jq -r '.rows[0].screenings'
}

# visible_once N: pushes one screening of a person of the city; its time to
# show in the aggregates, in ms, appended to VISIBLE_MS.
visible_once() {
	local row grid id name hh before t0 t1
	row=$(sql "SELECT h.grid_code || ' ' || p.id_number || ' ' || p.name || ' ' || h.code FROM persons p JOIN households h ON h.id = p.household_id WHERE p.id >= $((1 + RANDOM * 97 % PERSONS)) ORDER BY p.id LIMIT 1")
	read -r grid id name hh <<<"$row"
	before=$(screened_now "$grid")
	[[ $before =~ ^[0-9]+$ ]] || die "reportd serves no screenings for grid $grid: '$before'"
	printf '{"client_uuid":"%s","channel":"door_to_door","screened_at":%s,"grid_code":"%s","household_code":"%s","id_type":"resident_id","id_number":"%s","name":"%s","temperature":36.6}\n' \
		"$(cat /proc/sys/kernel/random/uuid)" "$(date -u +%s)" "$grid" "$hh" "$id" "$name" >"$GRIDWALL_VAR/one.jsonl"
	t0=$EPOCHREALTIME
	"$BUILD/gridctl" push --endpoint "$ENDPOINT" "$GRIDWALL_VAR/one.jsonl" >/dev/null 2>&1 ||
		die "gridctl push failed"
	for _ in $(seq 500); do
		[ "$(screened_now "$grid")" -gt "$before" ] 2>/dev/null && break
		sleep 0.005
	done
	t1=$EPOCHREALTIME
	VISIBLE_MS="$VISIBLE_MS $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"
}

REPORT_EXTRA="suppress_below = 1"
bench_city
DAY=$(date -u -d "@$(($(date -u +%s) + 28800))" +%F)
say "writing $SCREENINGS screenings of today"
"$BUILD/fieldsim" day --database "$ADMIN_DB" --copy-out "$GRIDWALL_VAR/day.copy" \
	--count "$SCREENINGS" --invalid 0 --resends 0 \
	>"$GRIDWALL_VAR/copyout.out" 2>"$GRIDWALL_VAR/copyout.err" || die "fieldsim day --copy-out failed"
t=$EPOCHREALTIME
psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_DB" -c "COPY screenings ($COLUMNS) FROM STDIN" \
	<"$GRIDWALL_VAR/day.copy" || die "COPY failed"
rm -f "$GRIDWALL_VAR/day.copy"
COPY_S=$(since "$EPOCHREALTIME" "$t")
COPY_RPS=$(awk -v n="$SCREENINGS" -v s="$COPY_S" 'BEGIN { printf "%.0f", n / s }')
say "COPY in $COPY_S s; aggregating the day"
t=$EPOCHREALTIME
sql "$SQL_WATERMARKS" >/dev/null || die "setting the watermarks failed"
FIRST_DAY=$(sql "$SQL_FIRST_DAY")
"$BUILD/gridctl" report rebuild --conninfo "$DB" --from "$FIRST_DAY" --to "$DAY" \
	>"$GRIDWALL_VAR/rebuild.out" 2>"$GRIDWALL_VAR/rebuild.err" || die "gridctl report rebuild failed"
sql "VACUUM ANALYZE" >/dev/null
CELLS=$(sql "SELECT count(*) FROM daily_aggregates")
AREAS=$(sql "SELECT count(*) FROM areas")
say "$CELLS rows of daily_aggregates ($FIRST_DAY to $DAY) in $(since "$EPOCHREALTIME" "$t") s; $AREAS areas"

LAST_ID=$(sql "SELECT max(id) FROM screenings")
start_ingestd
start_daemon rulesd
t=$EPOCHREALTIME
start_daemon reportd
for _ in $(seq 300); do
	[ "$(curl -s "http://127.0.0.1:$HTTP_PORT/healthz" | jq -r .status 2>/dev/null)" = ok ] && break
	sleep 0.1
done
BASE_URL=http://127.0.0.1:$HTTP_PORT

# 3 (first, so that it is not measured under wrk). The backlog, counted live.
for _ in $(seq 36000); do
	[ "$(sql "$SQL_REPORT_WM")" -ge "$LAST_ID" ] && break
	sleep 0.05
done
[ "$(sql "$SQL_REPORT_WM")" -ge "$LAST_ID" ] || die "reportd did not count its backlog in 30 minutes"
BACKLOG_S=$(since "$EPOCHREALTIME" "$t")
BACKLOG_RPS=$(awk -v n="$BACKLOG" -v s="$BACKLOG_S" 'BEGIN { printf "%.0f", n / s }')
say "reportd counted $BACKLOG screenings in $BACKLOG_S s ($BACKLOG_RPS/s, from its start)"

# 1. Reads under load, after one warm-up request each.
curl -s "$BASE_URL/v1/aggregates?area=$AREA&level=town&from=$DAY&to=$DAY" >/dev/null
curl -s "$BASE_URL/v1/coverage?area=$AREA" >/dev/null
wrk_run healthz "$BASE_URL/healthz"
H_P50=$P50 H_P99=$P99 H_RPS=$RPS
wrk_run aggregates "$BASE_URL/v1/aggregates?area=$AREA&level=town&from=$DAY&to=$DAY"
A_P50=$P50 A_P99=$P99 A_RPS=$RPS
wrk_run coverage "$BASE_URL/v1/coverage?area=$AREA"
C_P50=$P50 C_P99=$P99 C_RPS=$RPS

# 2. A new screening, end to end, VISIBLE times.
VISIBLE_MS=
for _ in $(seq "$VISIBLE"); do
	visible_once
done
VIS_MEDIAN=$(median "$VISIBLE_MS")
VIS_MAX=$(tr ' ' '\n' <<<"$VISIBLE_MS" | sed '/^$/d' | sort -n | tail -n 1)

stop_daemon reportd
stop_daemon rulesd
stop_daemon ingestd
if "$BUILD/gridctl" report rebuild --conninfo "$DB" --day "$DAY" --check >"$GRIDWALL_VAR/check.out" 2>&1; then
	EQUAL=yes
else
	EQUAL="NO (see $GRIDWALL_VAR/check.out)"
fi
AGG_OK=$(awk -v p="$A_P99" 'BEGIN { print (p < 10) }')
VIS_OK=$(awk -v v="$VIS_MEDIAN" 'BEGIN { print (v < 1000) }')

echo
echo "report benchmark: $(nproc) cores, $PERSONS persons, $SCREENINGS screenings today, $CELLS aggregate rows, $AREAS areas, wrk -t2 -c$CONNECTIONS for ${WRK_S} s"
printf '  %-18s %s\n' \
	"healthz (floor)" "p50 $H_P50 ms, p99 $H_P99 ms, $H_RPS requests/s" \
	"aggregates" "p50 $A_P50 ms, p99 $A_P99 ms, $A_RPS requests/s; p99 $(ratio "$A_P99" "$H_P99" %.1f) x the floor (target p99 < 10 ms: $(verdict "$AGG_OK"))" \
	"coverage" "p50 $C_P50 ms, p99 $C_P99 ms, $C_RPS requests/s; p99 $(ratio "$C_P99" "$H_P99" %.1f) x the floor" \
	"visible" "median $VIS_MEDIAN ms, max $VIS_MAX ms over $VISIBLE screenings pushed one by one (target < 1000 ms: $(verdict "$VIS_OK"))" \
	"backlog" "$BACKLOG_RPS screenings/s counted live ($BACKLOG in $BACKLOG_S s); $(ratio "$BACKLOG_RPS" "$COPY_RPS" %.2f) x COPY's $COPY_RPS rows/s" \
	"rebuild = live" "$EQUAL (gridctl report rebuild --day $DAY --check, $PERSONS persons)" \
	"whole run" "$(since) s"
echo
echo "RESULT agg_p99_ms=$A_P99 agg_rps=$A_RPS visible_ms=$VIS_MEDIAN coverage_p99_ms=$C_P99 floor_p99_ms=$H_P99 backlog_rps=$BACKLOG_RPS"
