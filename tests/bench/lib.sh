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
	for pid in "${PID_ingestd:-}" "${PID_rulesd:-}" "${PID_reportd:-}" "${SIM_PID:-}" "${FOLLOW_PID:-}"; do
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "${GRIDWALL_VAR:-}" ]; then
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
