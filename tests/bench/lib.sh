# Shared helpers of the benchmarks (tests/bench/*.sh): messages, timing,
# cleanup, result fields, medians, and starting ingestd. Sourced after
# tests/lib.sh, with T0 set to the start of the run.

say() { echo "bench: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Seconds since T0, or between two $EPOCHREALTIME stamps.
since() { awk -v a="${2:-$T0}" -v b="${1:-$EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }

# Stops what the bench started and deletes the cluster; keeps nothing.
bench_cleanup() {
	rc=$?
	for pid in "${PID_ingestd:-}" "${PID_rulesd:-}" "${PID_reportd:-}" "${SIM_PID:-}" "${FOLLOW_PID:-}" "${WAITS_PID:-}"; do
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "${GRIDWALL_VAR:-}" ]; then
		# BENCH_LOGS=DIR keeps the run's logs (the daemons', PostgreSQL's, fieldsim's)
		if [ -n "${BENCH_LOGS:-}" ]; then
			mkdir -p "$BENCH_LOGS" && cp -r "$GRIDWALL_VAR"/log "$GRIDWALL_VAR"/*.out "$GRIDWALL_VAR"/*.err \
				"$BENCH_LOGS"/ 2>/dev/null
		fi
		if [ "$rc" -ne 0 ]; then
			for f in "$GRIDWALL_VAR"/log/*.log "$GRIDWALL_VAR"/*.err; do
				[ -s "$f" ] || continue
				echo "# --- $f" >&2
				tail -n 20 "$f" | sed 's/^/# /' >&2
			done
		fi
		"$ROOT/deploy/pg.sh" destroy >/dev/null 2>&1
		rm -rf "$GRIDWALL_VAR"
	fi
	# On success the RESULT line stays the last one printed.
	[ "$rc" -eq 0 ] || say "failed after $(since) s"
	exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# CPU seconds (user + system) of the children reaped so far, into CPU. `times`
# must run in this shell (a subshell has no children yet), so not in $(...).
child_cpu() {
	times >"$GRIDWALL_VAR/times"
	CPU=$(tail -n 1 "$GRIDWALL_VAR/times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] } printf "%.2f", t }')
}

# field NAME LINE: the value of NAME=value in a result line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# The median of a list of numbers.
median() {
	tr ' ' '\n' <<<"$*" | sed '/^$/d' | sort -n |
		awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)) }'
}

# ratio N D [FORMAT]: N / D, 0 when D is not positive; rounded unless FORMAT says.
ratio() { awk -v n="$1" -v d="$2" -v f="${3:-%.0f}" 'BEGIN { printf f, (d > 0 ? n / d : 0) }'; }

# verdict 1|0: how a summary says whether a target was met.
verdict() { [ "$1" = 1 ] && echo "met" || echo "NOT met"; }

# Starts ingestd and waits until it has its database connection.
start_ingestd() {
	: >"$GRIDWALL_VAR/log/ingestd.log"
	start_daemon ingestd
	for _ in $(seq 150); do
		grep -q "database connected" "$GRIDWALL_VAR/log/ingestd.log" && return 0
		kill -0 "$PID_ingestd" 2>/dev/null || die "ingestd exited at start"
		sleep 0.1
	done
	die "ingestd did not connect to the database in 15 s"
}

# Starts a throwaway cluster with the run's config and loads a city of
# PERSONS persons into it; sets ADMIN_DB and ENDPOINT (ingestd's socket).
bench_city() {
	pick_ports
	say "starting a throwaway PostgreSQL on port $PGPORT"
	start_cluster
	mkdir -p "$GRIDWALL_VAR/log"
	write_config
	ADMIN_DB="$DB user=postgres"
	ENDPOINT=tcp://127.0.0.1:$((BASE + 1))
	say "loading a city of $PERSONS persons"
	t=$EPOCHREALTIME
	"$BUILD/fieldsim" city --persons "$PERSONS" --skip-fk-checks --database "$ADMIN_DB" \
		>"$GRIDWALL_VAR/city.out" 2>"$GRIDWALL_VAR/city.err" || die "fieldsim city failed"
	say "city loaded in $(since "$EPOCHREALTIME" "$t") s"
}

# BENCH_STATEMENTS=1: where PostgreSQL's time goes, per statement. Loads
# pg_stat_statements (a restart of the throwaway cluster, before any daemon
# starts) and empties its counts; bench_statements_report prints the
# statements that took the most execution time since, per database role,
# nested ones too (top = f: the foreign-key checks, run for each row).
bench_statements_on() {
	[ "${BENCH_STATEMENTS:-0}" = 1 ] || return 0
	sql "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'${BENCH_EXPLAIN_MS:+, 'auto_explain'}" >/dev/null &&
		"$ROOT/deploy/pg.sh" stop >/dev/null 2>&1 &&
		"$ROOT/deploy/pg.sh" start >/dev/null 2>&1 &&
		sql "ALTER SYSTEM SET pg_stat_statements.track = 'all'" >/dev/null &&
		{ [ -z "${BENCH_EXPLAIN_MS:-}" ] ||
			sql "ALTER SYSTEM SET auto_explain.log_min_duration = ${BENCH_EXPLAIN_MS}" >/dev/null; } &&
		sql "SELECT pg_reload_conf()" >/dev/null &&
		sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null ||
		die "cannot load pg_stat_statements"
}
bench_statements_reset() {
	[ "${BENCH_STATEMENTS:-0}" = 1 ] || return 0
	sql "SELECT pg_stat_statements_reset(), pg_stat_reset_shared('wal')" >/dev/null
}
bench_statements_report() {
	[ "${BENCH_STATEMENTS:-0}" = 1 ] || return 0
	echo
	echo "PostgreSQL's execution time per statement (pg_stat_statements, top 15):"
	psql -X -q -P pager=off "$ADMIN_DB" -c "
		SELECT r.rolname AS role, s.toplevel AS top, s.calls, round(s.total_exec_time) AS total_ms,
		       round((s.total_exec_time / s.calls)::numeric, 3) AS mean_ms, s.rows,
		       round((1000 * s.total_exec_time / nullif(s.rows, 0))::numeric, 1) AS us_per_row,
		       left(regexp_replace(s.query, '\\s+', ' ', 'g'), 70) AS statement
		  FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
		 WHERE s.query NOT LIKE '%bench_waits%' AND s.query NOT LIKE 'SELECT pg_sleep%'
		 ORDER BY s.total_exec_time DESC LIMIT 15"
	psql -X -q -P pager=off "$ADMIN_DB" -c "
		SELECT wal_records, wal_fpi AS full_page_images, pg_size_pretty(wal_bytes) AS wal,
		       wal_sync AS syncs, round(wal_sync_time) AS sync_ms FROM pg_stat_wal"
}

# With BENCH_STATEMENTS=1, also what each daemon's backend was doing: its
# state and wait event from pg_stat_activity, sampled 10 times a second
# until bench_waits_report, which prints the shares per role.
bench_waits_start() {
	[ "${BENCH_STATEMENTS:-0}" = 1 ] || return 0
	sql "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS bench_waits (role text, what text);
		TRUNCATE bench_waits" >/dev/null
	psql -X -q "$ADMIN_DB" >/dev/null 2>&1 <<-SQL &
		SELECT 'INSERT INTO bench_waits SELECT usename, CASE WHEN state = ''active'' THEN coalesce(wait_event_type || '':'' || wait_event, ''running'') ELSE state END FROM pg_stat_activity WHERE usename LIKE ''gridwall%''', 'SELECT pg_sleep(0.1)' FROM generate_series(1, 100000) \gexec
	SQL
	WAITS_PID=$!
}
bench_waits_report() {
	[ "${BENCH_STATEMENTS:-0}" = 1 ] || return 0
	kill "$WAITS_PID" 2>/dev/null
	wait "$WAITS_PID" 2>/dev/null
	echo
	echo "What each daemon's backend was doing (pg_stat_activity, 10 samples/s; shares of its samples):"
	psql -X -q -P pager=off "$ADMIN_DB" -c "
		SELECT * FROM (
		  SELECT role, what, round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY role), 1) AS pct
		    FROM bench_waits GROUP BY role, what) w
		 WHERE pct >= 1 ORDER BY role, pct DESC"
}

# Where the CPU went in a phase: CPU seconds of each daemon, of its
# PostgreSQL backend (by role), of PostgreSQL's other processes, and of the
# load generator, from /proc. bench_cpu_start before the phase,
# bench_cpu_report NAME SECONDS after it (wall seconds of the phase).
cpu_snapshot() {
	local -A role=()
	local pid name line comm rest ticks
	while read -r pid name; do
		role[$pid]=$name
	done < <(psql -X -q -t -A -F ' ' "$ADMIN_DB" -c \
		"SELECT pid, usename FROM pg_stat_activity WHERE usename LIKE 'gridwall%'" 2>/dev/null)
	for stat in /proc/[0-9]*/stat; do
		{ read -r line <"$stat"; } 2>/dev/null || continue
		pid=${line%% *}
		comm=${line#*(}
		comm=${comm%%)*}
		rest=${line##*) }
		set -- $rest
		ticks=$((${12} + ${13}))
		case "$comm" in
		postgres) name=${role[$pid]:+backend of ${role[$pid]#gridwall_}}; name=${name:-postgres, other} ;;
		gridwall-*) name=${comm#gridwall-} ;;
		fieldsim) name=fieldsim ;;
		*) continue ;;
		esac
		echo "$pid $ticks $name"
	done
}
bench_cpu_start() {
	cpu_snapshot >"$GRIDWALL_VAR/cpu.start"
	child_cpu
	CPU_CHILDREN_START=$CPU
}
bench_cpu_report() {
	local hz
	hz=$(getconf CLK_TCK)
	cpu_snapshot >"$GRIDWALL_VAR/cpu.end"
	child_cpu
	echo
	echo "CPU of $1 (seconds, and share of the $2 s on $(nproc) cores):"
	awk -v hz="$hz" -v wall="$2" -v cores="$(nproc)" -v kids="$(awk -v a="$CPU" -v b="$CPU_CHILDREN_START" 'BEGIN { print a - b }')" '
		FNR == NR { start[$1] = $2; next }
		{ name = $3; for (i = 4; i <= NF; i++) name = name " " $i
		  cpu[name] += ($2 - (($1 in start) ? start[$1] : 0)) / hz }
		END {
			cpu["fieldsim and bench tools (exited)"] = kids
			for (n in cpu) { total += cpu[n]; printf "  %-34s %7.1f s  %5.1f%%\n", n, cpu[n], 100 * cpu[n] / (wall * cores) }
			printf "  %-34s %7.1f s  %5.1f%%\n", "all", total, 100 * total / (wall * cores)
		}' "$GRIDWALL_VAR/cpu.start" "$GRIDWALL_VAR/cpu.end" | sort -k1,1 -s
}

# BENCH_PG="name=value ...": PostgreSQL settings for the run (ALTER SYSTEM,
# then a restart), to explore; the reference figures use deploy/pg.sh's.
bench_pg_settings() {
	local kv
	[ -n "${BENCH_PG:-}" ] || return 0
	for kv in $BENCH_PG; do
		sql "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'" >/dev/null || die "cannot set $kv"
	done
	"$ROOT/deploy/pg.sh" stop >/dev/null 2>&1 && "$ROOT/deploy/pg.sh" start >/dev/null 2>&1 ||
		die "cannot restart PostgreSQL with $BENCH_PG"
	say "PostgreSQL settings: $BENCH_PG"
}
