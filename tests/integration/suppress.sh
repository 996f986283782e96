#!/bin/bash
# Small-count suppression in reportd's public output, on crafted data: a
# town of three communities of three grids each, with today's counts
# written straight into daily_aggregates before reportd starts. Over HTTP
# (every level), on the Clone snapshot of the feed and on /v1/coverage:
# no published figure from 1 to k-1, and no relation (an area and its
# children) with exactly one withheld figure, so none can be derived by
# subtraction. Then k = 1 (SIGHUP) publishes every count.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
REPORT_EXTRA="suppress_below = 5" write_config
URL=http://127.0.0.1:$HTTP_PORT
DAY=$(date -u -d "@$(($(date -u +%s) + 28800))" +%F)   # reportd's local day (UTC+8)

# Nine grids under 桂城街道 (440605001): communities 001 (the fixture's), 002, 003.
sql "INSERT INTO areas (code, parent, level, name)
     SELECT '440605001' || c, '440605001', 'community', '社区' || c FROM unnest(ARRAY['002', '003']) c;
     INSERT INTO areas (code, parent, level, name)
     SELECT '440605001' || c || g, '440605001' || c, 'grid', '网格' || g
       FROM unnest(ARRAY['001', '002', '003']) c, unnest(ARRAY['001', '002', '003']) g
      WHERE c || g <> '001001'" >/dev/null

# grid suffix: screenings fevers registered_change covered_change. Fevers are
# a 1 (withheld) beside 7 and 0; a community of 2+2+9 (two small ones pair);
# a 3 alone among zeros (its community 3 withheld, so the town's relation
# needs a complement). Households: a grid of 3 registered, 2 not reached.
cat >"$GRIDWALL_VAR/grids" <<'ROWS'
001001 20 1 30 30
001002 15 7 12 10
001003 9 0 8 8
002001 10 2 13 11
002002 11 2 20 20
002003 40 9 25 25
003001 6 3 10 10
003002 0 0 0 0
003003 8 0 9 9
ROWS
while read -r g s f reg cov; do
	sql "INSERT INTO daily_aggregates (day, area_code, screenings, fevers, registered_change, covered_change)
	     VALUES ('$DAY', '440605001$g', $s, $f, $reg, $cov)" >/dev/null
done <"$GRIDWALL_VAR/grids"
# and every area above the grids, as reportd would have summed them
for len in 12 9 6 4; do
	sql "INSERT INTO daily_aggregates (day, area_code, screenings, fevers, registered_change, covered_change)
	     SELECT day, left(area_code, $len), sum(screenings), sum(fevers), sum(registered_change), sum(covered_change)
	       FROM daily_aggregates WHERE day = '$DAY' AND length(area_code) = 15 GROUP BY 1, 2
	     ON CONFLICT DO NOTHING" >/dev/null
done

# the fixture's households and alerts are not part of this table: counted already
sql "UPDATE consumer_offsets SET last_id = (SELECT coalesce(max(id), 0) FROM households) WHERE consumer = 'reportd.households';
     UPDATE consumer_offsets SET last_id = (SELECT coalesce(max(id), 0) FROM alerts) WHERE consumer = 'reportd.alerts'" >/dev/null

start_daemon reportd
wait_for "reportd answers /healthz" "ok" sh -c "curl -s $URL/healthz | jq -r .status"

# every row of today at every level, as one JSON array
rows() {
	for level in city district town community grid; do
		curl -s "$URL/v1/aggregates?area=4406&level=$level"
	done | jq -s '[.[].rows[]]'
}
rows >"$GRIDWALL_VAR/rows.json"
FIGURES='["screenings","persons_screened","households_screened","fevers","new_alerts","released","households_registered","households_not_reached","key_persons","high_risk"]'

# small FILE: every published figure from 1 to 4, as "area:figure=value"
small() {
	jq -r --argjson f "$FIGURES" '.[] as $r | $f[] as $k | select($r[$k] != null and $r[$k] >= 1 and $r[$k] <= 4)
	       | "\($r.area):\($k)=\($r[$k])"' "$1" | paste -sd ' '
}
# lonely FILE: every relation (an area and its children) with exactly one withheld figure
lonely() {
	jq -r --argjson f "$FIGURES" '
	  (map({key: .area, value: .}) | from_entries) as $by
	  | .[] as $p | $f[] as $k
	  | [.[] | select((.area | length) > ($p.area | length) and (.area | startswith($p.area))
	                  and ([4, 6, 9, 12, 15] | map(select(. > ($p.area | length))) | min) == (.area | length))] as $kids
	  | select($kids | length > 0)
	  | select(([$p] + $kids | map(select(.[$k] == null)) | length) == 1)
	  | "\($p.area):\($k)"' "$1" | paste -sd ' '
}
value() { jq -r --arg a "$2" --arg k "$3" '.[] | select(.area == $a) | .[$k] | tostring' "$1"; }

check "every area of the tree answered" "$(sql "SELECT count(*) FROM areas")" "$(jq length "$GRIDWALL_VAR/rows.json")"
check "no published figure from 1 to 4" "" "$(small "$GRIDWALL_VAR/rows.json")"
check "no relation with exactly one withheld figure" "" "$(lonely "$GRIDWALL_VAR/rows.json")"
check "a fever of 1 is withheld" null "$(value "$GRIDWALL_VAR/rows.json" 440605001001001 fevers)"
# the town's relation (24 = 8 + 13 + 3, the 3 withheld) is repaired first, top down: it
# withholds the community of 8, which pairs the 1 in its own relation: the 7 stays
check "... and its community's relation is paired from above: the 7 and the 0 published" "7 0" \
	"$(value "$GRIDWALL_VAR/rows.json" 440605001001002 fevers) $(value "$GRIDWALL_VAR/rows.json" 440605001001003 fevers)"
check "two small grids pair up; the 9 beside them is published" "null null 9" \
	"$(for g in 001 002 003; do value "$GRIDWALL_VAR/rows.json" 440605001002$g fevers; done | paste -sd ' ')"
check "a withheld community (3) takes a complement at the town level (8, not 13)" "null null 13" \
	"$(for c in 003 001 002; do value "$GRIDWALL_VAR/rows.json" 440605001$c fevers; done | paste -sd ' ')"
check "zeros are published" "0 0" \
	"$(value "$GRIDWALL_VAR/rows.json" 440605001003002 fevers) $(value "$GRIDWALL_VAR/rows.json" 440606 fevers)"
check "large counts are published, the town's total too" "119 24" \
	"$(value "$GRIDWALL_VAR/rows.json" 440605001 screenings) $(value "$GRIDWALL_VAR/rows.json" 440605001 fevers)"
check "a grid with 2 households not reached: withheld, and its coverage with it" "13 null null" \
	"$(value "$GRIDWALL_VAR/rows.json" 440605001002001 households_registered) $(value "$GRIDWALL_VAR/rows.json" 440605001002001 households_not_reached) $(value "$GRIDWALL_VAR/rows.json" 440605001002001 coverage)"
check "CSV leaves withheld figures empty (screenings 20, fevers withheld)" "20," \
	"$(curl -s "$URL/v1/aggregates.csv?area=440605001001001" | tail -n 1 | tr -d '\r' | cut -d, -f5,8)"

echo "# the Clone snapshot and /v1/coverage withhold the same"
"$BUILD/gridctl" feed --area 4406 --json --count "$(sql "SELECT count(*) FROM areas")" \
	--endpoint "tcp://127.0.0.1:$((BASE + 5))" --snapshot-endpoint "ipc://$GRIDWALL_VAR/snapshot.ipc" \
	>"$GRIDWALL_VAR/feed.jsonl" 2>"$GRIDWALL_VAR/feed.err"
check "gridctl feed read the snapshot" 0 $?
jq -s . "$GRIDWALL_VAR/feed.jsonl" >"$GRIDWALL_VAR/snap.json"
check "the snapshot publishes what HTTP does" \
	"$(jq -c --argjson f "$FIGURES" 'map([.area] + [.[$f[]]]) | sort' "$GRIDWALL_VAR/rows.json")" \
	"$(jq -c --argjson f "$FIGURES" 'map([.area] + [.[$f[]]]) | sort' "$GRIDWALL_VAR/snap.json")"
check "no small figure in the snapshot" "" "$(small "$GRIDWALL_VAR/snap.json")"
check "coverage: the same withheld households" "null null" \
	"$(curl -s "$URL/v1/coverage?area=440605001002" | jq -r '.rows[] | select(.code == "440605001002001") | "\(.households_not_reached) \(.coverage)"')"
check "coverage: a published grid, all 30 reached" "30 0 1" \
	"$(curl -s "$URL/v1/coverage?area=440605001001" | jq -r '.rows[] | select(.code == "440605001001001") | "\(.households_registered) \(.households_not_reached) \(.coverage)"')"

echo "# k = 1 publishes every count (a test bench setting, never public)"
sed -i 's/^suppress_below = 5/suppress_below = 1/' "$CONF"
kill -HUP "$PID_reportd"
wait_for "after SIGHUP the fever of 1 is published" 1 \
	sh -c "curl -s '$URL/v1/aggregates?area=440605001001001' | jq -r '.rows[0].fevers'"
check "and the 2 households not reached" 2 \
	"$(curl -s "$URL/v1/aggregates?area=440605001002001" | jq -r '.rows[0].households_not_reached')"

stop_daemon reportd
check "reportd stops cleanly" 0 "$STATUS"
