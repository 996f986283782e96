#!/bin/bash
# gridctl rules replay on a real PostgreSQL with no daemon: a known history
# of screenings is written with SQL on top of the fixture city, then
# replayed through the default rules (the live ones, from a file and from
# rule_sets) and a candidate with the fever threshold raised to 37.5 C.
# Checked exactly: the persons by highest level under each set and the
# difference, the persons flagged differently by district, the list, the
# local-day bounds, --area, --limit, --json, that nothing is written, and
# the errors: a candidate that does not parse (FILE:LINE:COL, exit 2), no
# live rules (exit 1), bad options (exit 2).
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"

N=440605001001001   # Nanhai grid 1: households 1 and 2
S=440606001001001   # Shunde grid 1: household 3
DEFAULT=$ROOT/deploy/rules/default.rules
CAND=$GRIDWALL_VAR/candidate.rules
sed 's/^let fever = temperature >= 37.3$/let fever = temperature >= 37.5/' "$DEFAULT" >"$CAND"
check "the candidate differs from the default set in the fever threshold only" \
	"< let fever = temperature >= 37.3
---
> let fever = temperature >= 37.5" "$(diff "$DEFAULT" "$CAND" | sed 1d)"

# The history, in id order (times are local, UTC+8):
#   10  02-02 23:30  6 吴丽娟  N hh2  37.4                      the day before: not replayed
#   11  02-03 00:10  1 陈志强  N hh1  37.4                      live attention (fever), candidate nothing
#   12  02-03 09:00  2 李秀英  N hh1  36.6 from 420100 (02-01)  key under both (risk_area_arrival)
#   13  02-03 09:10  3 黄伟    N hh2  37.6 from 420100 (02-01)  high under both (fever_from_risk_area)
#   14  02-03 10:00  4 梁淑芬  S hh3  37.3                      live attention (fever), candidate nothing
#   15  02-03 10:05  5 何俊杰  S hh3  37.4 from 420100 (02-02)  live high (fever_from_risk_area), candidate key (risk_area_arrival)
#   16  02-04 10:00  4 梁淑芬  S hh3  36.5                      live key (household_of_high_risk: 5 is high), candidate nothing
#   17  02-05 23:50  6 吴丽娟  N hh2  37.5                      key under both (household_of_high_risk: 3 is high)
#   18  02-06 00:30  2 李秀英  N hh1  38.5                      the day after: not replayed; attention under both
sql "
INSERT INTO screenings (id, client_uuid, channel, screened_at, grid_code, household_id, person_id,
                        temperature, origin_region, arrived_on) VALUES
  (10, '00000000-0000-4000-8000-000000000010', 'door_to_door', '2020-02-02 23:30+08', '$N', 2, 6, 37.4, NULL, NULL),
  (11, '00000000-0000-4000-8000-000000000011', 'door_to_door', '2020-02-03 00:10+08', '$N', 1, 1, 37.4, NULL, NULL),
  (12, '00000000-0000-4000-8000-000000000012', 'door_to_door', '2020-02-03 09:00+08', '$N', 1, 2, 36.6, '420100', '2020-02-01'),
  (13, '00000000-0000-4000-8000-000000000013', 'checkpoint', '2020-02-03 09:10+08', '$N', 2, 3, 37.6, '420100', '2020-02-01'),
  (14, '00000000-0000-4000-8000-000000000014', 'door_to_door', '2020-02-03 10:00+08', '$S', 3, 4, 37.3, NULL, NULL),
  (15, '00000000-0000-4000-8000-000000000015', 'door_to_door', '2020-02-03 10:05+08', '$S', 3, 5, 37.4, '420100', '2020-02-02'),
  (16, '00000000-0000-4000-8000-000000000016', 'door_to_door', '2020-02-04 10:00+08', '$S', 3, 4, 36.5, NULL, NULL),
  (17, '00000000-0000-4000-8000-000000000017', 'door_to_door', '2020-02-05 23:50+08', '$N', 2, 6, 37.5, NULL, NULL),
  (18, '00000000-0000-4000-8000-000000000018', 'door_to_door', '2020-02-06 00:30+08', '$N', 1, 2, 38.5, NULL, NULL);
SELECT setval('screenings_id_seq', 18);
" >/dev/null
# Tables a replay must leave alone, as they are now.
footprint() { sql "SELECT (SELECT count(*) FROM assessments) || ' ' || (SELECT count(*) FROM person_states) || ' ' || (SELECT count(*) FROM alerts) || ' ' || (SELECT count(*) FROM household_states) || ' ' || (SELECT coalesce(sum(last_id), 0) FROM consumer_offsets)"; }
BEFORE=$(footprint)

# replay ARGS...: runs the replay as a user that may read screenings; STATUS gets its exit status.
RDB="$DB user=gridwall_rules"
replay() {
	"$BUILD/gridctl" rules replay --database "$RDB" "$@" >"$GRIDWALL_VAR/out" 2>"$GRIDWALL_VAR/err"
	STATUS=$?
}

echo "# live rules from a file"
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-03 --to 2020-02-05
check "gridctl rules replay exits 0" 0 "$STATUS"
check "nothing on stderr" "" "$(cat "$GRIDWALL_VAR/err")"
check "the whole report" \
	"replay 2020-02-03 to 2020-02-05, area all: 7 screenings
live:      $DEFAULT
candidate: $CAND
persons by highest level:
  level        live  candidate  difference
  high            2          1          -1
  key             3          3          +0
  attention       1          0          -1
  flagged         6          4          -2
flagged differently by district:
  440605  南海区  1 (raised 0, lowered 1, other rules 0)
  440606  顺德区  2 (raised 0, lowered 2, other rules 0)
persons flagged differently: 3
  1  陈志强  440605********0016  $N  live ATTENTION fever  candidate NORMAL -
  4  梁淑芬  440606********0041  $S  live KEY household_of_high_risk  candidate NORMAL -
  5  何俊杰  440606********0055  $S  live HIGH fever_from_risk_area  candidate KEY risk_area_arrival" \
	"$(cat "$GRIDWALL_VAR/out")"
check "nothing was written" "$BEFORE" "$(footprint)"

echo "# local days"
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-02 --to 2020-02-06
check "the day before and the day after count when asked for (UTC+8 days)" \
	"replay 2020-02-02 to 2020-02-06, area all: 9 screenings" "$(head -n 1 "$GRIDWALL_VAR/out")"
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-06 --to 2020-02-06
check "one day: a fever of 38.5 is attention under both" \
	"replay 2020-02-06 to 2020-02-06, area all: 1 screenings|  attention       1          1          +0|persons flagged differently: 0" \
	"$(sed -n '1p;8p;$p' "$GRIDWALL_VAR/out" | paste -sd'|')"
replay --rules "$CAND" --live "$DEFAULT" --from 2021-01-01 --to 2021-01-31
check "days with no screening: an empty report" \
	"replay 2021-01-01 to 2021-01-31, area all: 0 screenings|  flagged         0          0          +0|  none|persons flagged differently: 0" \
	"$(sed -n '1p;9p;11p;12p' "$GRIDWALL_VAR/out" | paste -sd'|')"

echo "# --area and --limit"
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-03 --to 2020-02-05 --area 440606
check "--area 440606: Shunde's screenings only" \
	"replay 2020-02-03 to 2020-02-05, area 440606: 3 screenings
live:      $DEFAULT
candidate: $CAND
persons by highest level:
  level        live  candidate  difference
  high            1          0          -1
  key             1          1          +0
  attention       0          0          +0
  flagged         2          1          -1
flagged differently by district:
  440606  顺德区  2 (raised 0, lowered 2, other rules 0)
persons flagged differently: 2
  4  梁淑芬  440606********0041  $S  live KEY household_of_high_risk  candidate NORMAL -
  5  何俊杰  440606********0055  $S  live HIGH fever_from_risk_area  candidate KEY risk_area_arrival" \
	"$(cat "$GRIDWALL_VAR/out")"
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-03 --to 2020-02-05 --limit 1
check "--limit 1: the count stays, one person listed" \
	"persons flagged differently: 3 (first 1 listed)|  1  陈志强  440605********0016  $N  live ATTENTION fever  candidate NORMAL -" \
	"$(tail -n 2 "$GRIDWALL_VAR/out" | paste -sd'|')"
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-03 --to 2020-02-05 --limit 0
check "--limit 0: everyone" 3 "$(grep -c '  live [A-Z]' "$GRIDWALL_VAR/out")"
replay --rules "$DEFAULT" --live "$DEFAULT" --from 2020-02-02 --to 2020-02-06
check "a set against itself: nobody flagged differently" \
	"  flagged         6          6          +0|persons flagged differently: 0" \
	"$(sed -n '9p;$p' "$GRIDWALL_VAR/out" | paste -sd'|')"

echo "# pages"
# 20,000 normal screenings on 02-07, then one fever: three pages of 10,000, the last of one.
sql "
INSERT INTO screenings (client_uuid, channel, screened_at, grid_code, household_id, person_id, temperature)
SELECT ('00000000-0000-4000-8001-' || lpad(i::text, 12, '0'))::uuid, 'door_to_door',
       timestamptz '2020-02-07 08:00+08' + i * interval '1 second', '$N', 1, 1 + i % 2, 36.5
  FROM generate_series(1, 20000) i;
INSERT INTO screenings (client_uuid, channel, screened_at, grid_code, household_id, person_id, temperature)
VALUES ('00000000-0000-4000-8002-000000000001', 'door_to_door', '2020-02-07 20:00+08', '$N', 2, 6, 37.4);
" >/dev/null
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-07 --to 2020-02-07
check "every page is read, the last one too" \
	"replay 2020-02-07 to 2020-02-07, area all: 20001 screenings|  6  吴丽娟  440605********0060  $N  live ATTENTION fever  candidate NORMAL -" \
	"$(sed -n '1p;$p' "$GRIDWALL_VAR/out" | paste -sd'|')"

echo "# --json"
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-03 --to 2020-02-05 --json
check "--json: one object" 1 "$(jq -s length "$GRIDWALL_VAR/out")"
check "--json: the header" \
	"{\"from\":\"2020-02-03\",\"to\":\"2020-02-05\",\"screenings\":7,\"live\":{\"name\":\"$DEFAULT\",\"rules\":7},\"candidate\":{\"name\":\"$CAND\",\"rules\":7},\"flagged_differently\":3}" \
	"$(jq -c '{from, to, screenings, live, candidate, flagged_differently}' "$GRIDWALL_VAR/out")"
check "--json: area null without --area" "true null" "$(jq -c 'has("area"), .area' "$GRIDWALL_VAR/out" | paste -sd' ')"
check "--json: levels" \
	'{"live":{"attention":1,"key":3,"high":2,"flagged":6},"candidate":{"attention":0,"key":3,"high":1,"flagged":4},"difference":{"attention":-1,"key":0,"high":-1,"flagged":-2}}' \
	"$(jq -c .levels "$GRIDWALL_VAR/out")"
check "--json: districts" \
	'[{"code":"440605","name":"南海区","persons":1,"raised":0,"lowered":1,"other_rules":0},{"code":"440606","name":"顺德区","persons":2,"raised":0,"lowered":2,"other_rules":0}]' \
	"$(jq -c .districts "$GRIDWALL_VAR/out")"
check "--json: persons" \
	"[{\"person_id\":1,\"name\":\"陈志强\",\"id_masked\":\"440605********0016\",\"grid_code\":\"$N\",\"live\":{\"level\":\"attention\",\"rule_ids\":[\"fever\"]},\"candidate\":{\"level\":\"normal\",\"rule_ids\":[]}},{\"person_id\":4,\"name\":\"梁淑芬\",\"id_masked\":\"440606********0041\",\"grid_code\":\"$S\",\"live\":{\"level\":\"key\",\"rule_ids\":[\"household_of_high_risk\"]},\"candidate\":{\"level\":\"normal\",\"rule_ids\":[]}},{\"person_id\":5,\"name\":\"何俊杰\",\"id_masked\":\"440606********0055\",\"grid_code\":\"$S\",\"live\":{\"level\":\"high\",\"rule_ids\":[\"fever_from_risk_area\"]},\"candidate\":{\"level\":\"key\",\"rule_ids\":[\"risk_area_arrival\"]}}]" \
	"$(jq -c .persons "$GRIDWALL_VAR/out")"
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-03 --to 2020-02-05 --json --area 440606 --limit 1
check "--json --area --limit: the area, one person, the full count" "\"440606\" 1 2" \
	"$(jq -r '[(.area | tojson), (.persons | length), .flagged_differently] | map(tostring) | join(" ")' "$GRIDWALL_VAR/out")"

echo "# live rules from rule_sets"
replay --rules "$CAND" --from 2020-02-03 --to 2020-02-05
check "no --live and rule_sets empty: exit 1, saying so" "1 yes" \
	"$STATUS $(grep -q 'no live rules: rule_sets is empty' "$GRIDWALL_VAR/err" && echo yes)"
sql "INSERT INTO rule_sets (loaded_at, path, rules, source) VALUES
  ('2020-02-01 02:00+00', '/etc/gridwall/rules', 1, 'rule old level attention reason \"r\" action \"a\" when temperature >= 39'),
  ('2020-02-05 02:00+00', '$DEFAULT', 7, \$src\$$(cat "$DEFAULT")\$src\$)" >/dev/null
replay --rules "$CAND" --from 2020-02-03 --to 2020-02-05
check "the newest rule_sets row is the live set, named by when it was loaded (local time)" \
	"0 live:      live rules (loaded 2020-02-05 10:00)" "$STATUS $(sed -n 2p "$GRIDWALL_VAR/out")"
replay --rules "$CAND" --live "$DEFAULT" --from 2020-02-03 --to 2020-02-05
sed -n '4,$p' "$GRIDWALL_VAR/out" >"$GRIDWALL_VAR/from-file"
replay --rules "$CAND" --from 2020-02-03 --to 2020-02-05
check "the stored set gives the same report as the file" "$(cat "$GRIDWALL_VAR/from-file")" \
	"$(sed -n '4,$p' "$GRIDWALL_VAR/out")"
sql "INSERT INTO rule_sets (loaded_at, path, rules, source) VALUES
  ('2020-02-05 03:00+00', '/x', 1, 'rule broken level attention when')" >/dev/null
replay --rules "$CAND" --from 2020-02-03 --to 2020-02-05
check "a stored set that does not parse: exit 1, named by when it was loaded" "1 yes" \
	"$STATUS $(grep -q '^gridctl rules replay: the stored live rules do not parse: live rules (loaded 2020-02-05 11:00):1:' "$GRIDWALL_VAR/err" && echo yes)"
check "still nothing written" "$BEFORE" "$(footprint)"

echo "# errors"
printf 'rule broken\n    level attention\n    when temprature >= 37.5\n' >"$GRIDWALL_VAR/bad.rules"
replay --rules "$GRIDWALL_VAR/bad.rules" --live "$DEFAULT" --from 2020-02-03 --to 2020-02-05
check "a candidate that does not parse: exit 2" 2 "$STATUS"
check "its error names the file, line and column" "yes" \
	"$(grep -Eq "^gridctl rules replay: candidate rules: $GRIDWALL_VAR/bad.rules:3:10: .+" "$GRIDWALL_VAR/err" && echo yes)"
check "nothing on stdout then" "" "$(cat "$GRIDWALL_VAR/out")"
replay --rules "$CAND" --live "$GRIDWALL_VAR/bad.rules" --from 2020-02-03 --to 2020-02-05
check "a --live file that does not parse: exit 2, named as live" "2 yes" \
	"$STATUS $(grep -Eq "^gridctl rules replay: live rules: $GRIDWALL_VAR/bad.rules:3:10: " "$GRIDWALL_VAR/err" && echo yes)"
replay --rules "$CAND" --from 2020-02-05 --to 2020-02-03
check "--from after --to is a usage error" "2 gridctl rules replay: --from 2020-02-05 is after --to 2020-02-03" \
	"$STATUS $(head -n 1 "$GRIDWALL_VAR/err")"
replay --rules "$CAND" --from 2020-02-03
check "--to is required" 2 "$STATUS"
replay --rules "$CAND" --from 2020-02-03 --to 2020-02-05 --limit -1
check "a negative --limit is a usage error" 2 "$STATUS"
"$BUILD/gridctl" rules >/dev/null 2>"$GRIDWALL_VAR/err"
check "gridctl rules alone is a usage error" 2 "$?"
"$BUILD/gridctl" rules check --rules "$CAND" >/dev/null 2>"$GRIDWALL_VAR/err"
check "gridctl rules with anything but replay or verify is a usage error" "2 gridctl rules: unknown command \"check\" (replay or verify)" \
	"$? $(head -n 1 "$GRIDWALL_VAR/err")"
"$BUILD/gridctl" rules replay --help >"$GRIDWALL_VAR/out" 2>&1
check "--help says time-driven changes are not replayed" "0 yes" \
	"$? $(tr '\n' ' ' <"$GRIDWALL_VAR/out" | grep -q 'follow-up) are not replayed' && echo yes)"

echo "# who may replay"
"$BUILD/gridctl" rules replay --database "$DB" --rules "$CAND" --live "$DEFAULT" \
	--from 2020-02-03 --to 2020-02-05 >"$GRIDWALL_VAR/out" 2>"$GRIDWALL_VAR/err"
check "by default as gridwall_analyst: the same report" "0 3" \
	"$? $(grep -c '  live [A-Z]' "$GRIDWALL_VAR/out")"
"$BUILD/gridctl" rules replay --database "$DB user=gridwall_office" --rules "$CAND" \
	--live "$DEFAULT" --from 2020-02-03 --to 2020-02-05 >"$GRIDWALL_VAR/out" 2>"$GRIDWALL_VAR/err"
check "the command office may not read screenings: exit 1 with a hint" "1 yes" \
	"$? $(grep -q 'connect as a user allowed to' "$GRIDWALL_VAR/err" && echo yes)"
