#!/bin/bash
# One bad record hurts only itself, when the database is what refuses it.
# Test triggers refuse, for a data error (SQLSTATE 22023), a screening with
# the note "refuse" and an alert for a screening with the note "refuse
# alert". ingestd sends a group's transaction in one round trip; refused, it
# stores the group again record by record, and only that record is rejected
# (STORE_FAILED). rulesd sends a batch's effects in one round trip; refused,
# it evaluates the batch one screening at a time, and only that screening is
# skipped: the others get their alerts, the watermark passes them all.
set -u
. "$(dirname "$0")/../lib.sh"
suite_begin "${1:-build}"
RULES_EXTRA="flush_delay_ms = 200"
write_config
INGEST="tcp://127.0.0.1:$((BASE + 1))"

sql "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.note = 'refuse' THEN
		RAISE EXCEPTION 'refused by the test' USING ERRCODE = '22023';
	END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER test_refuse BEFORE INSERT ON screenings FOR EACH ROW EXECUTE FUNCTION test_refuse();
CREATE FUNCTION test_refuse_alert() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF (SELECT note FROM screenings WHERE id = NEW.screening_id) = 'refuse alert' THEN
		RAISE EXCEPTION 'alert refused by the test' USING ERRCODE = '22023';
	END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER test_refuse_alert BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION test_refuse_alert();" >/dev/null

start_daemon ingestd
start_daemon rulesd
URL=http://127.0.0.1:$INGEST_HTTP_PORT
wait_for "ingestd answers /healthz" ok sh -c "curl -s $URL/healthz | jq -r .status"

AT=$(($(date -u +%s) - 600))
N=440605001001001
S=440606001001001
uuid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
# record UUID GRID HOUSEHOLD ID NAME [EXTRA JSON]: a close contact of a confirmed case
record() {
	printf '{"client_uuid":"%s","channel":"door_to_door","screened_at":%s,"grid_code":"%s","household_code":"%s","id_type":"resident_id","id_number":"%s","name":"%s","temperature":36.6,"contact":"confirmed"%s}\n' \
		"$(uuid "$1")" "$AT" "$2" "$3" "$4" "$5" "${6:-}"
}
# outcome N FILE: the outcome and code gridctl push printed for line N
outcome() { sed -n "$1p" "$2" | jq -r '[.outcome, (.code // "")] | join(" ")'; }
fallbacks() { curl -s "$URL/metrics" | awk '$1 == "gridwall_ingest_group_fallbacks_total" { print $2 }'; }
watermark() { sql "SELECT last_id FROM consumer_offsets WHERE consumer = 'rulesd'"; }
max_id() { sql "SELECT coalesce(max(id), 0) FROM screenings"; }

echo "# ingestd: the database refuses one record of a group"
{
	record 1 "$N" "$N-00001" 440605199001010022 李秀英
	record 2 "$N" "$N-00001" 440605198503120016 陈志强 ',"note":"refuse"'
	record 3 "$S" "$S-00001" 440606196507070041 梁淑芬
} >"$GRIDWALL_VAR/a.jsonl"
"$BUILD/gridctl" push --endpoint "$INGEST" "$GRIDWALL_VAR/a.jsonl" >"$GRIDWALL_VAR/a.out" 2>"$GRIDWALL_VAR/a.err"
grep '^{' "$GRIDWALL_VAR/a.out" >"$GRIDWALL_VAR/a.lines"
check "the first record is accepted" "accepted " "$(outcome 1 "$GRIDWALL_VAR/a.lines")"
check "the refused record alone is rejected" "rejected STORE_FAILED" "$(outcome 2 "$GRIDWALL_VAR/a.lines")"
check "the third record is accepted" "accepted " "$(outcome 3 "$GRIDWALL_VAR/a.lines")"
check "two screenings stored" 2 "$(sql "SELECT count(*) FROM screenings")"
check "the refused one is not stored" 0 "$(sql "SELECT count(*) FROM screenings WHERE client_uuid = '$(uuid 2)'")"
check "the group was stored again record by record once" 1 "$(fallbacks)"
wait_for "rulesd evaluated both" "$(max_id)" watermark
check "both close contacts alerted" 2 "$(sql "SELECT count(*) FROM alerts WHERE kind = 'risk'")"

echo "# rulesd: the database refuses one alert of a batch"
{
	record 4 "$N" "$N-00001" 440605197001010015 王建国
	record 5 "$N" "$N-00001" 440605199003030035 张丽 ',"note":"refuse alert"'
	record 6 "$S" "$S-00001" 440606198002020021 刘洋
} >"$GRIDWALL_VAR/b.jsonl"
"$BUILD/gridctl" push --endpoint "$INGEST" "$GRIDWALL_VAR/b.jsonl" >"$GRIDWALL_VAR/b.out" 2>"$GRIDWALL_VAR/b.err"
check "all three stored" 5 "$(sql "SELECT count(*) FROM screenings")"
REFUSED=$(sql "SELECT id FROM screenings WHERE client_uuid = '$(uuid 5)'")
wait_for "the watermark passes every screening" "$(max_id)" watermark
check "the other two screenings are assessed" 2 \
	"$(sql "SELECT count(*) FROM assessments WHERE screening_id > $REFUSED - 2 AND screening_id <> $REFUSED")"
check "no assessment for the skipped screening" 0 "$(sql "SELECT count(*) FROM assessments WHERE screening_id = $REFUSED")"
check "no alert for the skipped screening" 0 "$(sql "SELECT count(*) FROM alerts WHERE screening_id = $REFUSED")"
check "four alerts in all" 4 "$(sql "SELECT count(*) FROM alerts WHERE kind = 'risk'")"
check "rulesd logs the screening it skipped" 1 \
	"$(grep -c "screening $REFUSED (person [0-9]*) cannot be evaluated (SQLSTATE 22023); skipped" "$GRIDWALL_VAR/log/rulesd.log")"

stop_daemon rulesd
check "rulesd stops cleanly" 0 "$STATUS"
stop_daemon ingestd
check "ingestd stops cleanly" 0 "$STATUS"
