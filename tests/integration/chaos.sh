#!/bin/bash
# The chaos test: the whole pipeline on a throwaway cluster under load from
# simulated field apps (fieldsim's devices, which resend a batch on silence
# with a new socket, the Lazy Pirate way, and a device posting over HTTP),
# while at random intervals a daemon is killed (SIGKILL) and restarted,
# PostgreSQL is stopped in immediate mode and started again, or a daemon is
# paused (SIGSTOP) long enough for its queues to fill. Then, from the
# devices' own logs of what they were told:
#   - every record acknowledged is stored, once, under the id it was given;
#   - every stored record was evaluated once, no alert is raised twice, and
#     every person's state equals a replay from scratch (gridctl rules verify);
#   - the aggregates equal a recount (gridctl report rebuild --check).
# `make test` runs it for CHAOS_SECONDS (20); `make chaos` for 300 on a
# bigger city. CHAOS_SEED makes a run's faults repeatable.
set -u
. "$(dirname "$0")/../lib.sh"
BUILD=$(cd "$ROOT" && cd "${1:-build}" && pwd)
trap cleanup EXIT
DURATION=${CHAOS_SECONDS:-20}
PERSONS=${CHAOS_PERSONS:-20000}
RATE=${CHAOS_RATE:-300}
HTTP_RECORDS=${CHAOS_HTTP_RECORDS:-200}
SEED=${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
echo "# chaos for $DURATION s, $PERSONS persons, $RATE records/s, seed $SEED"

pick_ports
start_cluster
mkdir -p "$GRIDWALL_VAR/log"
write_config
ADMIN_DB="$DB user=postgres"
"$BUILD/fieldsim" city --persons "$PERSONS" --database "$ADMIN_DB" \
	>"$GRIDWALL_VAR/city.out" 2>"$GRIDWALL_VAR/city.err"
check "a city of $PERSONS persons" 0 $?

DAEMONS="ingestd rulesd reportd"
for d in $DAEMONS; do
	start_daemon "$d"
done
KILLS=0 PAUSES=0 PG_RESTARTS=0

# The HTTP device: one record per request, the same body again until it is
# answered; what it was told goes to its log like the fieldsim devices'.
sql "SELECT json_strip_nulls(json_build_object(
        'client_uuid', gen_random_uuid(), 'channel', 'self_declaration',
        'screened_at', extract(epoch FROM now())::bigint - 60,
        'grid_code', h.grid_code, 'household_code', h.code, 'id_type', 'resident_id',
        'id_number', p.id_number, 'name', p.name,
        'temperature', CASE WHEN random() < 0.1 THEN 38.4 ELSE 36.6 END,
        'origin_region', CASE WHEN random() < 0.1 THEN '420100' END,
        'arrived_on', CASE WHEN random() < 0.1 THEN current_date - 3 END))
     FROM persons p JOIN households h ON h.id = p.household_id
     ORDER BY random() LIMIT $HTTP_RECORDS" >"$GRIDWALL_VAR/http.jsonl"
http_device() {
	local line out
	while read -r line; do
		for _ in $(seq 600); do
			out=$(curl -s --max-time 3 -X POST --data-binary "$line" \
				"http://127.0.0.1:$INGEST_HTTP_PORT/v1/screenings" 2>/dev/null)
			if jq -e '.results[0].outcome' <<<"$out" >/dev/null 2>&1; then
				jq -r '.results[0] | select(.outcome != "rejected")
				       | "\(.client_uuid) \(.server_id) \(.outcome)"' <<<"$out"
				break
			fi
			sleep 0.2
		done
		sleep 0.05
	done <"$GRIDWALL_VAR/http.jsonl" >"$GRIDWALL_VAR/acked.http"
}
http_device &
HTTP_PID=$!
"$BUILD/fieldsim" day --endpoint "tcp://127.0.0.1:$((BASE + 1))" --database "$ADMIN_DB" \
	--rate "$RATE" --duration "$DURATION" --devices 8 --batch 20 --timeout-ms 1000 \
	--retries 1000 --resends 20 --seed "$SEED" --quiet --acked "$GRIDWALL_VAR/acked.zmq" \
	>"$GRIDWALL_VAR/fieldsim.out" 2>"$GRIDWALL_VAR/fieldsim.err" &
FIELDSIM_PID=$!
EXTRA_PIDS="$HTTP_PID $FIELDSIM_PID"

# The faults, until the devices stop generating.
pick() { local a=($1); echo "${a[$((RANDOM % ${#a[@]}))]}"; }
END=$((SECONDS + DURATION))
while [ "$SECONDS" -lt "$END" ]; do
	sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
	d=$(pick "$DAEMONS")
	pid_var=PID_$d
	case $((RANDOM % 5)) in
	0 | 1)
		echo "# kill -9 $d"
		kill -KILL "${!pid_var}" 2>/dev/null
		wait "${!pid_var}" 2>/dev/null
		sleep "0.$((RANDOM % 10))"
		start_daemon "$d"
		KILLS=$((KILLS + 1));;
	2)
		echo "# SIGSTOP $d"
		kill -STOP "${!pid_var}"
		sleep "$((2 + RANDOM % 3))"
		kill -CONT "${!pid_var}"
		PAUSES=$((PAUSES + 1));;
	3)
		echo "# PostgreSQL stopped (immediate)"
		"$ROOT/deploy/pg.sh" stop immediate >/dev/null 2>&1
		sleep "$((1 + RANDOM % 2))"
		"$ROOT/deploy/pg.sh" start >/dev/null 2>&1
		PG_RESTARTS=$((PG_RESTARTS + 1));;
	esac
done

echo "# the devices finish what they were sending"
wait "$FIELDSIM_PID"
check "fieldsim's devices finished" 0 $?
wait "$HTTP_PID"
for d in $DAEMONS; do
	pid_var=PID_$d
	kill -0 "${!pid_var}" 2>/dev/null || start_daemon "$d"
done
caught_up() {
	sql "SELECT (SELECT last_id FROM consumer_offsets WHERE consumer = 'rulesd') >= m.s
	        AND (SELECT last_id FROM consumer_offsets WHERE consumer = 'reportd') >= m.s
	        AND (SELECT last_id FROM consumer_offsets WHERE consumer = 'reportd.alerts') >= m.a
	        AND (SELECT last_id FROM consumer_offsets WHERE consumer = 'reportd.households') >= m.h
	     FROM (SELECT (SELECT coalesce(max(id), 0) FROM screenings) s,
	                  (SELECT coalesce(max(id), 0) FROM alerts) a,
	                  (SELECT coalesce(max(id), 0) FROM households) h) m"
}
for _ in $(seq 600); do
	[ "$(caught_up)" = t ] && break
	sleep 0.2
done
check "rulesd and reportd caught up with everything stored" t "$(caught_up)"

echo "# what the devices were told, against the tables"
cat "$GRIDWALL_VAR/acked.zmq" "$GRIDWALL_VAR/acked.http" | tr ' ' '\t' >"$GRIDWALL_VAR/acked.tsv"
sql "CREATE TABLE chaos_acked (client_uuid uuid, server_id bigint, outcome text)" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_DB" -c "\\copy chaos_acked FROM '$GRIDWALL_VAR/acked.tsv'"
ACKED=$(sql "SELECT count(DISTINCT client_uuid) FROM chaos_acked")
STORED=$(sql "SELECT count(*) FROM screenings")
check "the devices were told of records (accepted or duplicate)" yes "$([ "$ACKED" -gt 0 ] && echo yes)"
check "every acknowledged record is stored" 0 \
	"$(sql "SELECT count(*) FROM chaos_acked a WHERE NOT EXISTS (SELECT 1 FROM screenings s WHERE s.client_uuid = a.client_uuid)")"
check "... under the id it was given" 0 \
	"$(sql "SELECT count(*) FROM chaos_acked a JOIN screenings s USING (client_uuid) WHERE s.id <> a.server_id")"
check "no record is stored twice" "$STORED" "$(sql "SELECT count(DISTINCT client_uuid) FROM screenings")"

echo "# every stored record evaluated once, no alert twice, states as a replay"
"$BUILD/gridctl" rules verify --database "$DB" >"$GRIDWALL_VAR/verify.out" 2>&1
VERIFY=$?
sed 's/^/#   /' "$GRIDWALL_VAR/verify.out" | head -30
check "gridctl rules verify finds no difference" 0 "$VERIFY"
check "no screening raised two alerts" 0 \
	"$(sql "SELECT count(*) FROM (SELECT screening_id FROM alerts WHERE screening_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d")"

echo "# the aggregates equal a recount"
FROM=$(date -u -d "@$(($(date -u +%s) - 86400))" +%F)
TO=$(date -u -d "@$(($(date -u +%s) + 5 * 86400))" +%F)
"$BUILD/gridctl" report rebuild --check --from "$FROM" --to "$TO" --conninfo "$DB" \
	>"$GRIDWALL_VAR/rebuild.out" 2>&1
REBUILD=$?
grep -v ': equal' "$GRIDWALL_VAR/rebuild.out" | head -20 | sed 's/^/#   /'
check "gridctl report rebuild --check finds the table equal" 0 "$REBUILD"

EVALUATED=$(sql "SELECT last_id FROM consumer_offsets WHERE consumer = 'rulesd'")
ALERTS=$(sql "SELECT count(*) FROM alerts")
for d in $DAEMONS; do
	stop_daemon "$d"
	check "$d stops cleanly after the chaos" 0 "$STATUS"
done
echo "# chaos: ${DURATION} s, seed $SEED: acked $ACKED (zmq $(wc -l <"$GRIDWALL_VAR/acked.zmq"), http $(wc -l <"$GRIDWALL_VAR/acked.http")), stored $STORED, evaluated up to $EVALUATED, alerts $ALERTS, kills $KILLS (restarted $KILLS), pauses $PAUSES, PostgreSQL restarts $PG_RESTARTS, failed checks $FAILED"
