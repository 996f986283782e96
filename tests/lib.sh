# Shared helpers of the shell test suites: checks that count, a throwaway
# PostgreSQL cluster, daemons started on private ports, and polling.
# Sourced, not run. Each suite writes "PASSED FAILED" to $GRIDWALL_RESULTS.

PASSED=0
FAILED=0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# A suite stopped by a signal (a timeout, Ctrl-C) has failed, whatever it counted.
trap 'FAILED=$((FAILED + 1)); echo "not ok - interrupted by a signal"; exit 1' INT TERM

# suite_begin BUILD: what every integration suite starts with: the build
# folder made absolute, cleanup on exit, private ports, a throwaway cluster
# with the small test city of tests/integration/fixture.sql.
suite_begin() {
	BUILD=$(cd "$ROOT" && cd "$1" && pwd)
	trap cleanup EXIT
	pick_ports
	start_cluster
	sql "$(cat "$ROOT/tests/integration/fixture.sql")" >/dev/null
}

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		PASSED=$((PASSED + 1))
		echo "ok - $1"
	else
		FAILED=$((FAILED + 1))
		echo "not ok - $1"
		echo "#   expected: $2"
		echo "#   actual:   $3"
	fi
}

# wait_for NAME EXPECTED COMMAND...: polls COMMAND (up to 15 s) until it prints EXPECTED, then checks.
wait_for() {
	name=$1 expected=$2
	shift 2
	i=0
	while [ $i -lt 150 ]; do
		got=$("$@" 2>/dev/null)
		[ "$got" = "$expected" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	check "$name" "$expected" "$got"
}

# port_taken PORT: something listens on it on loopback.
port_taken() {
	(: </dev/tcp/127.0.0.1/"$1") 2>/dev/null
}

# Picks a block of 8 ports nobody listens on, for this run's daemons and
# cluster, below the kernel's ephemeral range (32768 and up) so that no
# outgoing connection can be holding one of them.
pick_ports() {
	while :; do
		BASE=$((10000 + (RANDOM % 2800) * 8))
		taken=0
		for p in $(seq "$BASE" $((BASE + 7))); do
			port_taken "$p" && taken=1
		done
		[ "$taken" = 0 ] && break
	done
	PGPORT=$((BASE + 7))
	HTTP_PORT=$((BASE + 6))
	INGEST_HTTP_PORT=$BASE
}

# Starts a throwaway cluster under a temporary folder and loads the schema.
start_cluster() {
	GRIDWALL_VAR=$(mktemp -d "${TMPDIR:-/tmp}/gridwall-test.XXXXXX")
	export GRIDWALL_VAR
	export GRIDWALL_PGPORT=$PGPORT
	"$ROOT/deploy/pg.sh" start >"$GRIDWALL_VAR/pg-start.log" 2>&1 || {
		cat "$GRIDWALL_VAR/pg-start.log"
		echo "Bail out! cannot start PostgreSQL"
		exit 1
	}
	DB="dbname=gridwall host=127.0.0.1 port=$PGPORT"
}

# sql QUERY: one value, as the superuser.
sql() {
	psql -X -q -t -A -v ON_ERROR_STOP=1 "$DB user=postgres" -c "$1"
}

# Writes the config every daemon of the run reads.
write_config() {
	CONF=$GRIDWALL_VAR/gridwall.conf
	cat >"$CONF" <<CONF
[gridwall]
log_level = info
database = $DB
ingest_endpoint = tcp://127.0.0.1:$((BASE + 1))
events_endpoint = tcp://127.0.0.1:$((BASE + 2))
alerts_endpoint = tcp://127.0.0.1:$((BASE + 3))
assessed_endpoint = tcp://127.0.0.1:$((BASE + 4))
feed_endpoint = tcp://127.0.0.1:$((BASE + 5))

[ingestd]
http_listen = 127.0.0.1:$INGEST_HTTP_PORT
${INGEST_EXTRA:-}

[rulesd]
rules = ${RULES:-$ROOT/deploy/rules}
${RULES_EXTRA:-}

[reportd]
http_listen = 127.0.0.1:$HTTP_PORT
snapshot_endpoint = ipc://$GRIDWALL_VAR/snapshot.ipc
snapshot_interval_ms = 200
dashboard_dir = $ROOT/web/dashboard
${REPORT_EXTRA:-}
CONF
}

# start_daemon NAME: runs gridwall-NAME in the background, its log under the var folder.
start_daemon() {
	mkdir -p "$GRIDWALL_VAR/log"
	"$BUILD/gridwall-$1" -c "$CONF" >>"$GRIDWALL_VAR/log/$1.log" 2>&1 &
	eval "PID_$1=$!"
}

# stop_daemon NAME: SIGTERM and wait; sets STATUS to its exit status.
stop_daemon() {
	pid=$(eval echo "\${PID_$1:-}")
	STATUS=none
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	STATUS=$?
	eval "PID_$1="
}

# Stops whatever the suite started; keeps the logs when something failed.
cleanup() {
	for d in ingestd rulesd reportd; do
		pid=$(eval echo "\${PID_$d:-}")
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${FOLLOW_PID:-}" "${FEED_PID:-}" "${PUSH_PID:-}" "${SINK:-}" "${SSE:-}" ${EXTRA_PIDS:-}; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
	done
	if [ -n "${GRIDWALL_VAR:-}" ]; then
		"$ROOT/deploy/pg.sh" destroy >/dev/null 2>&1
		if [ "$FAILED" -gt 0 ]; then
			for f in "$GRIDWALL_VAR"/log/*.log; do
				echo "# --- $f"
				tail -n 40 "$f" | sed 's/^/# /'
			done
		fi
		rm -rf "$GRIDWALL_VAR"
	fi
	[ -n "${GRIDWALL_RESULTS:-}" ] && echo "$PASSED $FAILED" >"$GRIDWALL_RESULTS"
	echo "$(basename "$0" .sh): $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] || exit 1
}

# browser_checks OUTPUT STATUS: counts a browser test's TAP lines (in
# OUTPUT, from `node tests/browser/X.test.mjs`, which exited with STATUS)
# as checks, and checks that it ran to its end.
browser_checks() {
	while IFS= read -r line; do
		case $line in
		"ok - "*) check "browser: ${line#ok - }" ok ok ;;
		"not ok - "*) check "browser: ${line#not ok - }" ok "not ok" ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$1"
	check "the browser test ran to its end" "0 1" "$2 $(grep -c '^# done$' "$1")"
}
