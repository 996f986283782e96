#!/bin/bash
# gridctl followups and the alert kinds of gridctl alerts, on a real
# PostgreSQL with no daemon: person states, teams and alerts are written
# with SQL on top of the fixture city, as rulesd would have left them, and
# the exact lists are checked: who is due tomorrow (the default day) and on
# other days, the grouping by grid with the teams, the order by household
# then name, the OVERDUE mark, the area filter and the JSON form; then a
# coverage gap (an alert with no person), a release and an overdue
# follow-up as gridctl alerts prints them beside an unchanged risk alert.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"

NOW=$(date -u +%s)
L=28800                                   # local time is UTC+8
TOMORROW=$(date -u -d "@$((NOW + L + 86400))" +%F)
DAY2=$(date -u -d "@$((NOW + L + 2 * 86400))" +%F)
T0=$(date -u -d "$TOMORROW 00:00" +%s)
T0=$((T0 - L))                            # tomorrow 00:00 local, in Unix seconds
N=440605001001001   # Nanhai grid 1
N2=440605001001002  # Nanhai grid 2, added here
S=440606001001001   # Shunde grid 1

# local_date T, local_minute T, local_rfc3339 T: what gridctl prints for a Unix time.
local_date() { date -u -d "@$(($1 + L))" +%F; }
local_minute() { date -u -d "@$(($1 + L))" '+%F %H:%M'; }
local_rfc3339() { date -u -d "@$(($1 + L))" '+%FT%T+08:00'; }

# The states, relative to now and to tomorrow's start:
#   1 陈志强  N  hh1  key        observed until T0+5d, due 3 h ago: OVERDUE
#   2 李秀英  N  hh1  attention  due tomorrow 10:00
#   3 黄伟    N  hh2  high       observed until T0+3d, due the day after tomorrow
#   6 吴丽娟  N  hh2  normal     released: nothing due
#   4 梁淑芬  S  hh3  key        observation ended yesterday, due the day after tomorrow 02:00
#   5 何俊杰  S  hh3  attention  due tomorrow 20:00
#   7 张小红  N2 hh4  key        no identity document, observed until T0+10d, due tomorrow 08:00
#   8 王强    -  -    attention  no household (in N by their alert), due tomorrow 12:00
DUE1=$((NOW - 3 * 3600))
DUE2=$((T0 + 10 * 3600))
DUE3=$((T0 + 2 * 86400 + 9 * 3600))
DUE4=$((T0 + 86400 + 2 * 3600))
DUE5=$((T0 + 20 * 3600))
DUE7=$((T0 + 8 * 3600))
DUE8=$((T0 + 12 * 3600))
UNTIL1=$((T0 + 5 * 86400 + 3600))
UNTIL3=$((T0 + 3 * 86400 + 3600))
UNTIL7=$((T0 + 10 * 86400 + 3600))
OBS="home observation for 14 days"
CLINIC="refer to a fever clinic"
RECHECK="recheck temperature within 24 hours"

sql "
INSERT INTO areas (code, parent, level, name) VALUES
  ('$N2', '440605001001', 'grid', '第2网格');
INSERT INTO households (id, code, grid_code, kind) VALUES
  (4, '$N2-00001', '$N2', 'registered');
INSERT INTO persons (id, id_type, id_number, name, phone, household_id) VALUES
  (7, 'none', NULL, '张小红', '13800000007', 4),
  (8, 'resident_id', '440605198808080085', '王强', NULL, NULL);
INSERT INTO screenings (id, client_uuid, channel, screened_at, grid_code, household_id, person_id, temperature)
SELECT p.id, ('00000000-0000-4000-8000-' || lpad(p.id::text, 12, '0'))::uuid, 'door_to_door',
       to_timestamp($NOW - 86400), coalesce(h.grid_code, '$N'), p.household_id, p.id, 36.5
  FROM persons p LEFT JOIN households h ON h.id = p.household_id;
INSERT INTO person_states (person_id, level, since, last_screening, household_id, rule_id, action,
                           observe_from, observe_until, follow_up_due, released_at) VALUES
  (1, 'key', to_timestamp($NOW - 2 * 86400), 1, 1, 'risk_area_arrival', '$OBS',
   to_timestamp($NOW - 2 * 86400), to_timestamp($UNTIL1), to_timestamp($DUE1), NULL),
  (2, 'attention', to_timestamp($NOW - 86400), 2, 1, 'fever', '$RECHECK',
   NULL, NULL, to_timestamp($DUE2), NULL),
  (3, 'high', to_timestamp($NOW - 86400), 3, 2, 'fever_from_risk_area', '$CLINIC',
   to_timestamp($NOW - 86400), to_timestamp($UNTIL3), to_timestamp($DUE3), NULL),
  (6, 'normal', to_timestamp($NOW - 86400), 6, 2, NULL, NULL,
   NULL, NULL, NULL, to_timestamp($NOW - 3600)),
  (4, 'key', to_timestamp($NOW - 15 * 86400), 4, 3, 'household_of_high_risk', '$OBS',
   to_timestamp($NOW - 15 * 86400), to_timestamp($NOW - 86400), to_timestamp($DUE4), NULL),
  (5, 'attention', to_timestamp($NOW - 86400), 5, 3, 'fever', '$RECHECK',
   NULL, NULL, to_timestamp($DUE5), NULL),
  (7, 'key', to_timestamp($NOW - 86400), 7, 4, 'risk_area_arrival', '$OBS',
   to_timestamp($NOW - 86400), to_timestamp($UNTIL7), to_timestamp($DUE7), NULL),
  (8, 'attention', to_timestamp($NOW - 86400), 8, NULL, 'fever', '$RECHECK',
   NULL, NULL, to_timestamp($DUE8), NULL);
INSERT INTO alerts (screening_id, person_id, grid_code, level, rule_ids, reasons, action, raised_at)
VALUES (8, 8, '$N', 'attention', '{fever}', '{\"temperature of 37.3 C or more\"}', '$RECHECK',
        '2020-02-04 10:00:00+00');
INSERT INTO team_grids (team_id, grid_code) VALUES
  ('team-b', '$N'), ('team-a', '$N'), ('team-c', '$N2');
" >/dev/null

# followups ARGS...: runs gridctl followups on the test cluster; STATUS gets its exit status.
followups() {
	"$BUILD/gridctl" followups --database "$DB" "$@" >"$GRIDWALL_VAR/out" 2>"$GRIDWALL_VAR/err"
	STATUS=$?
}

echo "# tomorrow, the whole city"
followups --area 4406
check "gridctl followups exits 0" 0 "$STATUS"
check "the title names tomorrow (the default day) and the area" \
	"follow-ups for $TOMORROW in area 4406" "$(head -n 1 "$GRIDWALL_VAR/out" | sed 's/ (as of .*)$//')"
check "the title says when the list was made, local time" "yes" \
	"$(head -n 1 "$GRIDWALL_VAR/out" | grep -Eq '\(as of [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}\)$' && echo yes)"
EXPECTED="grid $N 第1网格  佛山市 / 南海区 / 桂城街道 / 翠颐社区 / 第1网格  teams team-a, team-b
  李秀英  440605********0022  13800000002  $N-00001  ATTENTION  $RECHECK  until -  due $(local_minute $DUE2)
  陈志强  440605********0016  13800000001  $N-00001  KEY  $OBS  until $(local_date $UNTIL1)  due $(local_minute $DUE1)  OVERDUE
  黄伟  440605********003X  13800000003  $N-00002  HIGH  $CLINIC  until $(local_date $UNTIL3)  due $(local_minute $DUE3)
  王强  440605********0085  -  -  ATTENTION  $RECHECK  until -  due $(local_minute $DUE8)
grid $N2 第2网格  佛山市 / 南海区 / 桂城街道 / 翠颐社区 / 第2网格  team team-c
  张小红  -  13800000007  $N2-00001  KEY  $OBS  until $(local_date $UNTIL7)  due $(local_minute $DUE7)
grid $S 第1网格  佛山市 / 顺德区 / 大良街道 / 新滘社区 / 第1网格  no team assigned
  何俊杰  440606********0055  13800000005  $S-00001  ATTENTION  $RECHECK  until -  due $(local_minute $DUE5)
summary: $N: 4 (1 overdue); $N2: 1; $S: 1; total 6 persons in 3 grids, 1 overdue"
check "grouped by grid with its teams, by household then name, the overdue marked" \
	"$EXPECTED" "$(tail -n +2 "$GRIDWALL_VAR/out")"
check "nothing on stderr" "" "$(cat "$GRIDWALL_VAR/err")"
check "the released person and the one due later are not listed" "" \
	"$(grep -E '吴丽娟|梁淑芬' "$GRIDWALL_VAR/out")"

echo "# the day after tomorrow"
followups --area 4406 --day "$DAY2"
check "--day: the day after tomorrow adds the follow-up due then" \
	"follow-ups for $DAY2 in area 4406" "$(head -n 1 "$GRIDWALL_VAR/out" | sed 's/ (as of .*)$//')"
check "--day: Shunde now has the key person whose observation ended" \
	"  梁淑芬  440606********0041  13800000004  $S-00001  KEY  $OBS  until $(local_date $((NOW - 86400)))  due $(local_minute $DUE4)" \
	"$(grep 梁淑芬 "$GRIDWALL_VAR/out")"
check "--day: the summary counts 7" \
	"summary: $N: 4 (1 overdue); $N2: 1; $S: 2; total 7 persons in 3 grids, 1 overdue" \
	"$(tail -n 1 "$GRIDWALL_VAR/out")"
followups --area 4406 --day 2020-01-01
check "a day before every follow-up: nobody" "nobody to visit
summary: total 0 persons in 0 grids, 0 overdue" "$(tail -n +2 "$GRIDWALL_VAR/out")"
check "an empty list exits 0" 0 "$STATUS"

echo "# area filter"
followups --area 440606
check "--area 440606: only Shunde" \
	"grid $S 第1网格  佛山市 / 顺德区 / 大良街道 / 新滘社区 / 第1网格  no team assigned
  何俊杰  440606********0055  13800000005  $S-00001  ATTENTION  $RECHECK  until -  due $(local_minute $DUE5)
summary: $S: 1; total 1 person in 1 grid, 0 overdue" "$(tail -n +2 "$GRIDWALL_VAR/out")"
followups --area "$N2"
check "--area a grid: only that grid" "张小红 summary: $N2: 1; total 1 person in 1 grid, 0 overdue" \
	"$(sed -n 3p "$GRIDWALL_VAR/out" | awk '{print $1}') $(tail -n 1 "$GRIDWALL_VAR/out")"
followups --area 440607
check "an area with nobody" "nobody to visit" "$(sed -n 2p "$GRIDWALL_VAR/out")"

echo "# JSON"
followups --area 4406 --json
check "--json: one object per person, in list order" "李秀英,陈志强,黄伟,王强,张小红,何俊杰" \
	"$(jq -r .name "$GRIDWALL_VAR/out" | paste -sd,)"
check "--json: the overdue key person in full" \
	"{\"day\":\"$TOMORROW\",\"grid_code\":\"$N\",\"grid_name\":\"第1网格\",\"area_path\":\"佛山市 / 南海区 / 桂城街道 / 翠颐社区 / 第1网格\",\"teams\":[\"team-a\",\"team-b\"],\"person_id\":1,\"name\":\"陈志强\",\"id_masked\":\"440605********0016\",\"phone\":\"13800000001\",\"household_code\":\"$N-00001\",\"level\":\"key\",\"action\":\"$OBS\",\"rule_id\":\"risk_area_arrival\",\"observe_until\":\"$(local_date $UNTIL1)\",\"follow_up_due\":\"$(local_rfc3339 $DUE1)\",\"overdue\":true}" \
	"$(jq -c 'select(.person_id == 1)' "$GRIDWALL_VAR/out")"
check "--json: absent fields are left out (no id document, no observation, no household)" \
	"false false false false [] false" \
	"$(jq -r 'select(.person_id == 7) | has("id_masked")' "$GRIDWALL_VAR/out") $(jq -r 'select(.person_id == 2) | has("observe_until")' "$GRIDWALL_VAR/out") $(jq -r 'select(.person_id == 8) | [has("household_code"), has("phone")] | map(tostring) | join(" ")' "$GRIDWALL_VAR/out") $(jq -c 'select(.person_id == 5) | .teams' "$GRIDWALL_VAR/out") $(jq -r 'select(.person_id == 5) | .overdue' "$GRIDWALL_VAR/out")"

echo "# usage"
followups
check "--area is required" 2 "$STATUS"
followups --area 4406 --day 2020-02-30
check "a day that is no date is a usage error" "2 gridctl followups: bad value for --day: 2020-02-30" \
	"$STATUS $(head -n 1 "$GRIDWALL_VAR/err")"
followups --area 44x
check "a bad area is a usage error" 2 "$STATUS"
"$BUILD/gridctl" followups --help >"$GRIDWALL_VAR/out" 2>&1
check "--help says teams are not split" "yes" \
	"$(grep -q 'persons are not split between teams' "$GRIDWALL_VAR/out" && echo yes)"
"$BUILD/gridctl" followups --area 4406 --database "dbname=gridwall host=127.0.0.1 port=$PGPORT user=nobody_here" \
	>/dev/null 2>"$GRIDWALL_VAR/err"
check "a database that refuses us exits 1, with the reason" "1 yes" \
	"$? $(grep -q 'cannot connect to the database' "$GRIDWALL_VAR/err" && echo yes)"

echo "# alert kinds in gridctl alerts"
RAISED="2020-02-05 10:00:00+00"      # 18:00 in UTC+8
sql "
INSERT INTO alerts (kind, screening_id, person_id, household_id, grid_code, level, previous_level,
                    rule_ids, reasons, action, raised_at) VALUES
  ('risk', 1, 1, 1, '$N', 'key', 'normal', '{risk_area_arrival}',
   '{\"arrived from a risk area within 14 days\"}', '$OBS', '$RAISED'),
  ('released', NULL, 6, 2, '$N', 'normal', 'key', '{}', '{}', NULL, '$RAISED'),
  ('follow_up_overdue', NULL, 1, 1, '$N', 'key', 'key', '{risk_area_arrival}',
   '{\"arrived from a risk area within 14 days\"}', '$OBS', '$RAISED'),
  ('coverage_gap', NULL, NULL, 3, '$S', 'normal', 'normal', '{}', '{}',
   'screen the household', '$RAISED');
" >/dev/null
# alerts ARGS...: lists the stored alerts in UTC+8 whatever the machine's zone.
alerts() { TZ=CST-8 "$BUILD/gridctl" alerts --database "$DB" "$@" 2>"$GRIDWALL_VAR/err"; }
check "gridctl alerts prints each kind beside the level; a risk alert as before" \
	"2020-02-05 18:00:00  KEY        $N  佛山市 / 南海区 / 桂城街道 / 翠颐社区 / 第1网格  陈志强  440605********0016  13800000001  risk_area_arrival  $OBS
2020-02-05 18:00:00  NORMAL     RELEASED  $N  佛山市 / 南海区 / 桂城街道 / 翠颐社区 / 第1网格  吴丽娟  440605********0060  13800000006  -  -
2020-02-05 18:00:00  KEY        FOLLOW-UP OVERDUE  $N  佛山市 / 南海区 / 桂城街道 / 翠颐社区 / 第1网格  陈志强  440605********0016  13800000001  risk_area_arrival  $OBS
2020-02-05 18:00:00  NORMAL     COVERAGE GAP  $S  佛山市 / 顺德区 / 大良街道 / 新滘社区 / 第1网格  household $S-00001  screen the household" \
	"$(alerts --limit 4)"
check "nothing on stderr" "" "$(cat "$GRIDWALL_VAR/err")"
check "--area 440606 lists only the coverage gap, which has no person" \
	"2020-02-05 18:00:00  NORMAL     COVERAGE GAP  $S  佛山市 / 顺德区 / 大良街道 / 新滘社区 / 第1网格  household $S-00001  screen the household" \
	"$(alerts --area 440606)"
check "--json: a coverage gap names its household and no person" \
	"{\"kind\":\"coverage_gap\",\"level\":\"normal\",\"household_id\":3,\"household_code\":\"$S-00001\",\"grid_code\":\"$S\",\"person\":false,\"screening\":false,\"raised_at\":\"2020-02-05T10:00:00Z\"}" \
	"$(alerts --area 440606 --json | jq -c 'select(.kind == "coverage_gap") | {kind, level, household_id, household_code, grid_code, person: (has("person_id") or has("person_name") or has("id_masked")), screening: has("screening_id"), raised_at}')"
check "--json: each kind by its lower-case name; only the risk alert names a screening" \
	"risk:1 released:- follow_up_overdue:- coverage_gap:-" \
	"$(alerts --area 4406 --limit 4 --json | jq -r '.kind + ":" + (.screening_id // "-" | tostring)' | paste -sd' ')"
check "--json: a release names the person and their household" "6 吴丽娟 $N-00002 key" \
	"$(alerts --json --limit 4 | jq -r 'select(.kind == "released") | [.person_id, .person_name, .household_code, .previous_level] | map(tostring) | join(" ")')"
