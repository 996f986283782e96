#!/bin/bash
# `make run`: the whole system on the embedded PostgreSQL under var/. Starts
# the cluster (migrating it), loads the demo city when the database is empty,
# starts the three daemons, plays a day of field apps in the background and
# shows the city's alerts as they arrive. Ctrl-C stops everything it started.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$ROOT" && cd "$BUILD" && pwd)
export GRIDWALL_VAR=${GRIDWALL_VAR:-$ROOT/var}
export GRIDWALL_PGPORT=${GRIDWALL_PGPORT:-55432}
PERSONS=${GRIDWALL_PERSONS:-20000}
RATE=${GRIDWALL_RATE:-40}
HTTP=${GRIDWALL_HTTP:-127.0.0.1:8080}
LOG=$GRIDWALL_VAR/log
CONF=$GRIDWALL_VAR/gridwall.conf
PIDS=()
STOPPING=0

# Stops what this script started, daemons first (they drain), then the cluster.
stop_all() {
	[ "$STOPPING" = 1 ] && return
	STOPPING=1
	trap '' INT TERM
	echo
	echo "gridwall: stopping"
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	"$ROOT/deploy/pg.sh" stop
	echo "gridwall: stopped; logs are in $LOG"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

mkdir -p "$LOG"
"$ROOT/deploy/pg.sh" start || exit 1
DB=$("$ROOT/deploy/pg.sh" conninfo)
ADMIN_DB="$DB user=postgres"   # fieldsim loads the registry and reads persons

if [ "$("$ROOT/deploy/pg.sh" psql -X -q -t -A -c 'SELECT count(*) FROM areas')" = 0 ]; then
	echo "gridwall: loading the demo city ($PERSONS persons)"
	"$BUILD/fieldsim" city --persons "$PERSONS" --database "$ADMIN_DB" || exit 1
fi

sed -e "s|^database = .*|database = $DB|" -e "s|^http_listen = .*|http_listen = $HTTP|" \
	-e "s|^rules = .*|rules = $ROOT/deploy/rules|" \
	-e "s|^dashboard_dir = .*|dashboard_dir = $ROOT/web/dashboard|" \
	"$ROOT/deploy/gridwall.conf.example" >"$CONF"

for d in ingestd rulesd reportd; do
	"$BUILD/gridwall-$d" -c "$CONF" >>"$LOG/$d.log" 2>&1 &
	PIDS+=($!)
done

for _ in $(seq 50); do
	curl -sf "http://$HTTP/healthz" >/dev/null 2>&1 && break
	sleep 0.2
done

"$BUILD/fieldsim" day --database "$ADMIN_DB" --rate "$RATE" --quiet >>"$LOG/fieldsim.log" 2>&1 &
PIDS+=($!)

cat <<BANNER

gridwall is running.
  dashboard            http://$HTTP/   sign in with a staff token, printed once by:
                       $BUILD/gridctl token issue --area 4406 --name NAME --database "$DB"
  field apps push to   tcp://127.0.0.1:7701 (a demo day is playing: $LOG/fieldsim.log)
  aggregates (JSON)    curl 'http://$HTTP/v1/aggregates?area=4406&level=district'
  health, metrics      curl http://$HTTP/healthz    curl http://$HTTP/metrics
  alerts of Nanhai     $BUILD/gridctl alerts --area 440605 --follow
  database             $ROOT/deploy/pg.sh psql
  daemon logs          $LOG/
Alerts for the whole city follow as they are raised. Ctrl-C stops everything.

BANNER

"$BUILD/gridctl" alerts --area 4406 --follow --database "$DB" &
PIDS+=($!)
wait "${PIDS[-1]}"
