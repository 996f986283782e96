#!/usr/bin/env bash
# deploy/pg.sh — a private, embedded PostgreSQL 15 cluster for gridwall, and
# the schema migrations of deploy/sql (which also work on any external server).
#
#   deploy/pg.sh start              initdb on first use, start, create database
#                                   gridwall, apply migrations (idempotent)
#   deploy/pg.sh stop [immediate]   fast (or immediate) shutdown; no-op if stopped
#   deploy/pg.sh status             exit 0 if running, 3 if not
#   deploy/pg.sh migrate [CONNINFO] apply pending deploy/sql/NNN_name.sql files
#   deploy/pg.sh psql [ARGS]        psql on database gridwall as the superuser
#   deploy/pg.sh conninfo           libpq string for the daemons (no user=)
#   deploy/pg.sh destroy            stop and delete the cluster's data
#
# Environment:
#   GRIDWALL_VAR         state folder (default: the repo's var/)
#   GRIDWALL_PGPORT      TCP port on 127.0.0.1 (default 55432)
#   GRIDWALL_PGBIN       PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#   GRIDWALL_PG_TIMEOUT  seconds to wait for start/stop (default 60)
#
# Layout: $GRIDWALL_VAR/pg/data (data dir), $GRIDWALL_VAR/pg/run (unix socket),
#         $GRIDWALL_VAR/log/postgresql.log (server log).
#
# PostgreSQL refuses to run as root: when this script runs as root, the server
# and its tools run as the `postgres` system user, which is given ownership of
# pg/ and search permission on every folder above it. Otherwise everything runs
# as the invoking user. All client connections go over TCP to 127.0.0.1.
#
# Exit status: 0 ok, 1 error, 2 usage error, 3 not running (status).

set -euo pipefail
umask 022

PROG=pg.sh
PG_MAJOR=15
DB_NAME=gridwall
SUPERUSER=postgres          # the cluster's superuser (initdb --username)
SERVICE_USER=postgres       # the system user the server runs as under root

say()  { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die()  { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
	printf 'usage: deploy/pg.sh COMMAND [ARGS]\n' >&2
	sed -n '5,12s/^#  \{0,1\}//p' "$script" >&2
	exit 2
}

# ---------------------------------------------------------------------------
# Paths and settings

script=$(readlink -f -- "${BASH_SOURCE[0]}" 2>/dev/null || printf '%s' "${BASH_SOURCE[0]}")
DEPLOY_DIR=$(cd -- "$(dirname -- "$script")" && pwd -P)
SQL_DIR=$DEPLOY_DIR/sql

PORT=${GRIDWALL_PGPORT:-55432}
case $PORT in
	'' | *[!0-9]*) die "GRIDWALL_PGPORT must be a port number, not '$PORT'" ;;
esac
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
	die "GRIDWALL_PGPORT must be between 1 and 65535, not $PORT"
fi

TIMEOUT=${GRIDWALL_PG_TIMEOUT:-60}
case $TIMEOUT in
	'' | *[!0-9]*) die "GRIDWALL_PG_TIMEOUT must be a number of seconds, not '$TIMEOUT'" ;;
esac

if [ -n "${GRIDWALL_PGBIN:-}" ]; then
	PGBIN=$GRIDWALL_PGBIN
elif [ -x "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ]; then
	PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
elif command -v pg_config >/dev/null 2>&1; then
	PGBIN=$(pg_config --bindir)
else
	die "PostgreSQL $PG_MAJOR not found: install it (deploy/deps.sh) or set GRIDWALL_PGBIN"
fi
for tool in initdb pg_ctl postgres psql pg_isready; do
	[ -x "$PGBIN/$tool" ] || die "$PGBIN/$tool not found or not executable (GRIDWALL_PGBIN?)"
done

IS_ROOT=false
[ "$(id -u)" -eq 0 ] && IS_ROOT=true

# The state folders are resolved lazily (var_init): `conninfo` and
# `migrate CONNINFO` must work without creating anything.
VAR='' PG_DIR='' DATA_DIR='' RUN_DIR='' LOG_DIR='' LOG_FILE=''

var_init() {
	local var=${GRIDWALL_VAR:-$DEPLOY_DIR/../var}
	mkdir -p -- "$var" || die "cannot create GRIDWALL_VAR folder $var"
	VAR=$(cd -- "$var" && pwd -P) || die "cannot enter GRIDWALL_VAR folder $var"
	PG_DIR=$VAR/pg
	DATA_DIR=$PG_DIR/data
	RUN_DIR=$PG_DIR/run
	LOG_DIR=$VAR/log
	LOG_FILE=$LOG_DIR/postgresql.log
}

# A cluster made by another user (e.g. by root, so owned by postgres) is
# invisible to us: say so instead of "no cluster".
require_access() {
	local path
	for path in "$PG_DIR" "$DATA_DIR"; do
		if [ -e "$path" ] && ! $IS_ROOT && { [ ! -r "$path" ] || [ ! -x "$path" ]; }; then
			die "$path belongs to '$(stat -c %U -- "$path")', not to you ($(id -un)); run this as that user, or as root if it is $SERVICE_USER"
		fi
	done
}

# ---------------------------------------------------------------------------
# Running things as the server's user

# Runs a command as the user that owns the cluster: postgres under root, the
# invoking user otherwise. The working directory is / so that the postgres
# user is never left in a folder it cannot read (e.g. /root/...). fd 9 holds
# our lock and must not leak into the long-lived postmaster.
as_pg() {
	if $IS_ROOT; then
		if command -v runuser >/dev/null 2>&1; then
			(cd / && runuser -u "$SERVICE_USER" -- "$@") 9>&-
		else
			# `--` keeps su from reading the command's options as its own.
			# shellcheck disable=SC2016  # $@ is for the inner shell
			(cd / && su -s /bin/sh -c 'exec "$@"' -- "$SERVICE_USER" sh "$@") 9>&-
		fi
	else
		"$@" 9>&-
	fi
}

# The superuser connection string of the embedded cluster (TCP, trust).
embedded_conninfo() {
	printf 'dbname=%s host=127.0.0.1 port=%s user=%s' "${1:-$DB_NAME}" "$(server_port)" "$SUPERUSER"
}

# psql on the embedded cluster as the superuser, without ~/.psqlrc.
pg_psql() {
	local db=$1
	shift
	"$PGBIN/psql" -X -v ON_ERROR_STOP=1 -d "$(embedded_conninfo "$db")" "$@"
}

# Serialises start/stop/destroy of one cluster (parallel test runs). The lock
# file stays outside pg/ so that destroy never deletes a held lock.
take_lock() {
	command -v flock >/dev/null 2>&1 || return 0
	exec 9>>"$VAR/.pg.lock" || die "cannot open lock file $VAR/.pg.lock"
	if ! flock -w "$TIMEOUT" 9; then
		die "another deploy/pg.sh is busy with $PG_DIR (waited ${TIMEOUT}s for $VAR/.pg.lock)"
	fi
}

# ---------------------------------------------------------------------------
# Root: hand pg/ to the postgres user and let it reach it

require_service_user() {
	id -u "$SERVICE_USER" >/dev/null 2>&1 ||
		die "running as root, but there is no '$SERVICE_USER' system user to run PostgreSQL as (install postgresql-$PG_MAJOR)"
	# Without this, a broken runuser/su would look like "cannot traverse".
	as_pg true || die "cannot run commands as the $SERVICE_USER user (runuser/su failed)"
}

# CI clones as root under /root (mode 700), which postgres cannot enter. Grant
# search permission (x) only, on exactly the folders that lack it, top down.
open_path_for_service_user() {
	local target=$1 dir='' part rest
	rest=${target#/}
	while :; do
		part=${rest%%/*}
		dir=$dir/$part
		if ! as_pg test -x "$dir"; then
			if command -v setfacl >/dev/null 2>&1; then
				setfacl -m "u:$SERVICE_USER:x" "$dir" ||
					die "cannot grant $SERVICE_USER search permission on $dir (setfacl failed)"
				say "opened $dir to the $SERVICE_USER user (ACL u:$SERVICE_USER:x, search only): PostgreSQL runs as $SERVICE_USER and must reach $target"
			else
				chmod o+x "$dir" ||
					die "cannot grant search permission on $dir (chmod o+x failed)"
				say "opened $dir with chmod o+x (setfacl is missing; install the acl package to open it to $SERVICE_USER only): PostgreSQL runs as $SERVICE_USER and must reach $target"
			fi
			as_pg test -x "$dir" ||
				die "$SERVICE_USER still cannot traverse $dir after granting it search permission"
		fi
		[ "$rest" = "${rest#*/}" ] && break
		rest=${rest#*/}
	done
}

# Creates pg/, pg/run and the log file, owned by the server's user.
prepare_dirs() {
	mkdir -p -- "$PG_DIR" "$RUN_DIR" "$LOG_DIR"
	touch -- "$LOG_FILE"
	chmod 700 -- "$PG_DIR" "$RUN_DIR"
	chmod 600 -- "$LOG_FILE"    # statements in it may name persons
	if $IS_ROOT; then
		require_service_user
		chown "$SERVICE_USER:" -- "$PG_DIR" "$RUN_DIR" "$LOG_FILE"
		if [ -d "$DATA_DIR" ]; then chown "$SERVICE_USER:" -- "$DATA_DIR"; fi
		open_path_for_service_user "$LOG_DIR"
		open_path_for_service_user "$PG_DIR"
	fi
}

# ---------------------------------------------------------------------------
# Cluster state

is_initialised() { [ -f "$DATA_DIR/PG_VERSION" ]; }

# pg_ctl status: 0 running, 3 not running, 4 no usable data directory.
# A postmaster that died but is not yet reaped (a zombie: e.g. PID 1 of a
# container adopted it) still passes pg_ctl's kill(pid, 0): not running.
is_running() {
	is_initialised || return 1
	as_pg "$PGBIN/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1 || return 1
	! is_zombie "$(server_pid)"
}

is_zombie() {
	local stat
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" = Z ]
}

# postgres refuses to start while the pid in postmaster.pid exists, even as a
# zombie; the stale file is its interlock, so wait instead of deleting it.
wait_for_reaped_postmaster() {
	local pid deadline=$((SECONDS + TIMEOUT))
	pid=$(server_pid)
	is_zombie "$pid" || return 0
	say "the previous postmaster (pid $pid) died and is not reaped yet; waiting for it"
	while is_zombie "$pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			die "pid $pid (the dead postmaster) is still a zombie after ${TIMEOUT}s: its parent does not reap it (a container without an init?); PostgreSQL will not start while it exists"
		fi
		sleep 0.2
	done
}

# The port of the running server (line 4 of postmaster.pid), else ours.
server_port() {
	local p=''
	if [ -n "$DATA_DIR" ] && [ -r "$DATA_DIR/postmaster.pid" ] && is_running; then
		p=$(sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null || true)
	fi
	case $p in
		'' | *[!0-9]*) printf '%s' "$PORT" ;;
		*) printf '%s' "$p" ;;
	esac
}

server_pid() { sed -n 1p "$DATA_DIR/postmaster.pid" 2>/dev/null || true; }

log_tail() {
	if [ -s "$LOG_FILE" ]; then
		printf '%s: last lines of %s:\n' "$PROG" "$LOG_FILE" >&2
		tail -n 30 -- "$LOG_FILE" | sed 's/^/    /' >&2
	fi
}

# Refuses a data dir made by another user or another PostgreSQL major.
check_cluster() {
	local owner want version
	owner=$(stat -c %U -- "$DATA_DIR")
	if $IS_ROOT; then want=$SERVICE_USER; else want=$(id -un); fi
	if [ "$owner" != "$want" ]; then
		die "$DATA_DIR belongs to '$owner' but the server would run as '$want'; run this script as $owner (or as root if it is $SERVICE_USER), or destroy the cluster"
	fi
	version=$(cat -- "$DATA_DIR/PG_VERSION")
	if [ "$version" != "$PG_MAJOR" ]; then
		die "$DATA_DIR is a PostgreSQL $version cluster, but these binaries are $PG_MAJOR ($PGBIN); destroy it or set GRIDWALL_PGBIN"
	fi
}

# ---------------------------------------------------------------------------
# Configuration

# Settings for a small (2-core) test or demo machine. Durability settings
# (fsync, synchronous_commit, full_page_writes, wal_sync_method) are left at
# their safe defaults on purpose: ingestd acknowledges only after COMMIT.
write_gridwall_conf() {
	local dir=$1 conf=$1/gridwall.conf sockets
	sockets=${RUN_DIR//\'/\'\'}
	# A unix socket path is limited to 107 bytes; every client of this
	# cluster uses TCP, so a too-deep folder just means no unix socket.
	# ($RUN_DIR/.s.PGSQL.$PORT must fit in 107 bytes.)
	if [ "${#RUN_DIR}" -gt $((97 - ${#PORT})) ]; then
		if [ -z "${SOCKET_WARNED:-}" ]; then
			warn "$RUN_DIR is too long a path for a unix socket; the server will listen on TCP 127.0.0.1:$PORT only"
			SOCKET_WARNED=1
		fi
		sockets=''
	fi
	cat >"$conf.tmp" <<-EOF
		# Written by deploy/pg.sh on every start: do not edit, it is
		# overwritten. Local changes: ALTER SYSTEM (postgresql.auto.conf).

		listen_addresses = '127.0.0.1'
		port = $PORT
		unix_socket_directories = '$sockets'
		unix_socket_permissions = 0700

		max_connections = 100
		superuser_reserved_connections = 3

		# Memory: the machine runs the three daemons and the tests too. A
		# city's hot pages (the persons and screenings indexes) are more
		# than 256MB; 1GB keeps them in PostgreSQL's own cache.
		shared_buffers = 1GB
		effective_cache_size = 4GB
		work_mem = 8MB
		maintenance_work_mem = 64MB

		# Two cores: at most one parallel helper per query.
		max_worker_processes = 4
		max_parallel_workers = 2
		max_parallel_workers_per_gather = 1
		max_parallel_maintenance_workers = 1
		autovacuum_max_workers = 2

		# Short OLTP statements: JIT compilation costs more than it saves.
		jit = off
		random_page_cost = 1.1

		# WAL: rare, spread checkpoints; durability defaults kept (see
		# above). After a checkpoint the first change to each page writes
		# the whole page to the WAL, and a screening changes several pages
		# at random (its indexes, the person and household its foreign keys
		# lock): checkpoints every 1GB of WAL multiplied the WAL and made
		# commits stall (docs/performance.md, the city-day benchmark).
		wal_compression = lz4
		max_wal_size = 8GB
		checkpoint_timeout = 30min

		# Logging to $LOG_FILE (pg_ctl -l).
		log_line_prefix = '%m [%p] %q%u@%d '
		log_checkpoints = on
		log_lock_waits = on
		log_temp_files = 0
		log_min_duration_statement = 1000
		# Bind parameters are personal data (names, id numbers): keep them
		# out of the log.
		log_parameter_max_length = 0
	EOF
	mv -f -- "$conf.tmp" "$conf"
	if $IS_ROOT; then chown "$SERVICE_USER:" -- "$conf"; fi
	chmod 600 -- "$conf"
}

write_pg_hba() {
	local hba=$1/pg_hba.conf
	cat >"$hba" <<-'EOF'
		# Written by deploy/pg.sh at initdb.
		#
		# TRUST, NO PASSWORDS: this is the single-user embedded demo and test
		# cluster. It listens on 127.0.0.1 only, but any local user can connect
		# as any role, the superuser included. Never use this for real data:
		# docs/security.md covers production (scram-sha-256 passwords or
		# certificates, one role per daemon, TLS).
		#
		# TYPE  DATABASE  USER  ADDRESS        METHOD
		local   all       all                  trust
		host    all       all   127.0.0.1/32   trust
	EOF
	if $IS_ROOT; then chown "$SERVICE_USER:" -- "$hba"; fi
	chmod 600 -- "$hba"
}

# initdb into a scratch folder, configure it, then rename it into place: a
# crash half-way never leaves a data dir that looks initialised.
init_cluster() {
	local tmp=$PG_DIR/data.initdb locale=C locales
	locales=$(locale -a 2>/dev/null || true)
	if grep -Eqi '^c\.utf-?8$' <<<"$locales"; then
		locale=C.UTF-8
	else
		warn "locale C.UTF-8 is missing, using C (encoding stays UTF8)"
	fi
	if [ -e "$DATA_DIR" ] && ! rmdir -- "$DATA_DIR" 2>/dev/null; then
		die "$DATA_DIR exists but holds no cluster (no PG_VERSION); move it away or run: $0 destroy"
	fi
	rm -rf -- "$tmp"
	mkdir -m 700 -- "$tmp"
	if $IS_ROOT; then chown "$SERVICE_USER:" -- "$tmp"; fi

	say "initdb: creating a new cluster in $DATA_DIR (locale $locale)"
	if ! as_pg "$PGBIN/initdb" --pgdata="$tmp" --username="$SUPERUSER" --auth=trust \
		--encoding=UTF8 --locale="$locale" --data-checksums >"$PG_DIR/initdb.log" 2>&1; then
		sed 's/^/    /' "$PG_DIR/initdb.log" >&2
		rm -rf -- "$tmp"
		die "initdb failed (output above, also in $PG_DIR/initdb.log)"
	fi
	rm -f -- "$PG_DIR/initdb.log"

	printf "\n# gridwall settings (deploy/pg.sh)\ninclude 'gridwall.conf'\n" >>"$tmp/postgresql.conf"
	write_gridwall_conf "$tmp"
	write_pg_hba "$tmp"
	mv -- "$tmp" "$DATA_DIR"
}

# ---------------------------------------------------------------------------
# Commands

cmd_start() {
	[ $# -eq 0 ] || usage
	var_init
	require_access
	take_lock
	prepare_dirs
	if is_initialised; then check_cluster; fi

	if is_running; then
		local running_port
		running_port=$(server_port)
		say "already running (pid $(server_pid), port $running_port, data $DATA_DIR)"
		if [ "$running_port" != "$PORT" ]; then
			warn "the server listens on port $running_port, not GRIDWALL_PGPORT=$PORT; stop and start it to change port"
		fi
	else
		# Someone else on our port would answer our clients: refuse early.
		local rc=0
		"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" -d postgres -t 2 || rc=$?
		if [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; then
			die "another server already listens on 127.0.0.1:$PORT; set GRIDWALL_PGPORT to a free port"
		fi

		if ! is_initialised; then
			init_cluster
			check_cluster
		fi
		wait_for_reaped_postmaster
		write_gridwall_conf "$DATA_DIR"
		say "starting PostgreSQL on 127.0.0.1:$PORT (data $DATA_DIR, log $LOG_FILE)"
		if ! as_pg "$PGBIN/pg_ctl" start -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$TIMEOUT" -s; then
			log_tail
			die "PostgreSQL did not start (pg_ctl says why above; log: $LOG_FILE; start timeout ${TIMEOUT}s)"
		fi
	fi

	# pg_ctl -w trusts postmaster.pid; also make sure clients get in.
	local deadline=$((SECONDS + TIMEOUT))
	until "$PGBIN/pg_isready" -q -d "$(embedded_conninfo postgres)" -t 2; do
		if ! is_running; then
			log_tail
			die "PostgreSQL exited while starting (log: $LOG_FILE)"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			log_tail
			die "PostgreSQL does not accept connections on 127.0.0.1:$(server_port) after ${TIMEOUT}s (log: $LOG_FILE)"
		fi
		sleep 1
	done
	say "running (pid $(server_pid), port $(server_port))"

	local exists
	exists=$(pg_psql postgres -qAt -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") ||
		die "cannot query the server on 127.0.0.1:$(server_port)"
	if [ "$exists" != 1 ]; then
		pg_psql postgres -q -c "CREATE DATABASE $DB_NAME" ||
			die "cannot create database $DB_NAME"
		say "created database $DB_NAME"
	fi

	migrate "$(embedded_conninfo)"
}

cmd_stop() {
	local mode=fast
	case $# in
		0) ;;
		1) case $1 in
			fast | immediate) mode=$1 ;;
			*) usage ;;
		   esac ;;
		*) usage ;;
	esac
	var_init
	require_access
	take_lock
	if ! is_running; then
		say "not running (data $DATA_DIR)"
		return 0
	fi
	say "stopping PostgreSQL (pid $(server_pid), $mode shutdown)"
	if ! as_pg "$PGBIN/pg_ctl" stop -D "$DATA_DIR" -m "$mode" -w -t "$TIMEOUT" -s; then
		log_tail
		die "PostgreSQL did not stop within ${TIMEOUT}s (try: $0 stop immediate)"
	fi
	say "stopped"
}

cmd_status() {
	[ $# -eq 0 ] || usage
	var_init
	require_access
	if ! is_initialised; then
		say "not running: no cluster in $DATA_DIR (port $PORT)"
		return 3
	fi
	if is_running; then
		say "running: pid $(server_pid), 127.0.0.1:$(server_port), data $DATA_DIR"
		return 0
	fi
	say "not running: port $PORT, data $DATA_DIR"
	return 3
}

cmd_destroy() {
	[ $# -eq 0 ] || usage
	var_init
	require_access
	take_lock
	if is_running; then
		say "stopping PostgreSQL (pid $(server_pid), immediate shutdown: the data is about to go)"
		as_pg "$PGBIN/pg_ctl" stop -D "$DATA_DIR" -m immediate -w -t "$TIMEOUT" -s ||
			die "cannot stop PostgreSQL; not deleting $DATA_DIR"
	fi
	if [ -e "$PG_DIR" ]; then
		rm -rf -- "$PG_DIR"
		say "deleted $PG_DIR (the server log $LOG_FILE is kept)"
	else
		say "nothing to delete: no $PG_DIR"
	fi
}

cmd_psql() {
	var_init
	require_access
	is_running || die "the embedded cluster is not running; start it with: $0 start"
	exec "$PGBIN/psql" -d "$(embedded_conninfo)" "$@"
}

cmd_conninfo() {
	[ $# -eq 0 ] || usage
	# The port of a running server wins over GRIDWALL_PGPORT (if it exists).
	if [ -n "${GRIDWALL_VAR:-}" ] || [ -d "$DEPLOY_DIR/../var" ]; then
		var_init
	fi
	printf 'dbname=%s host=127.0.0.1 port=%s\n' "$DB_NAME" "$(server_port)"
}

cmd_migrate() {
	local conn
	case $# in
		0)
			var_init
			require_access
			is_running || die "the embedded cluster is not running; start it with: $0 start"
			conn=$(embedded_conninfo)
			;;
		1) conn=$1 ;;
		*) usage ;;
	esac
	migrate "$conn"
}

# ---------------------------------------------------------------------------
# Migrations

# Applies, in numeric order, each deploy/sql/NNN_name.sql not yet recorded in
# schema_migrations: one psql run per file, in one transaction with its row.
# The row is inserted first, so a concurrent run of the same migration waits
# on its primary key and then fails without doing anything.
migrate() {
	local conn=$1 f base version name applied pending=() count=0 last errors
	local -A known=() seen=()
	local psql=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$conn")

	[ -d "$SQL_DIR" ] || die "no migrations folder $SQL_DIR"
	errors=$(mktemp "${TMPDIR:-/tmp}/gridwall-migrate.XXXXXX") || die "cannot create a temporary file"
	# shellcheck disable=SC2064  # expand $errors now
	trap "rm -f -- '$errors'" EXIT

	# Collect NNN_name.sql files, sorted by number, refusing duplicates.
	for f in "$SQL_DIR"/*.sql; do
		[ -e "$f" ] || continue
		base=${f##*/}
		if [[ ! $base =~ ^([0-9]+)_([A-Za-z0-9_.-]+)\.sql$ ]]; then
			warn "ignoring $base: migration files are named NNN_name.sql (name: letters, digits, _ . -)"
			continue
		fi
		version=$((10#${BASH_REMATCH[1]}))
		if [ -n "${seen[$version]:-}" ]; then
			die "two migrations have version $version: ${seen[$version]} and $base"
		fi
		seen[$version]=$base
	done

	"${psql[@]}" -c "SET client_min_messages = warning" -c "
		CREATE TABLE IF NOT EXISTS schema_migrations (
			version    int PRIMARY KEY,
			name       text,
			applied_at timestamptz DEFAULT now()
		)" || die "cannot create or reach table schema_migrations (connection: $conn)"

	applied=$("${psql[@]}" -At -c "SELECT version FROM schema_migrations ORDER BY version") ||
		die "cannot read schema_migrations (connection: $conn)"
	for version in $applied; do
		known[$version]=1
		if [ -z "${seen[$version]:-}" ]; then
			warn "the database has migration $version, which is not in $SQL_DIR (older code than the database?)"
		fi
	done

	while read -r version; do
		if [ -n "$version" ] && [ -z "${known[$version]:-}" ]; then
			pending+=("$version")
		fi
	done < <(printf '%s\n' "${!seen[@]}" | sort -n)

	for version in "${pending[@]}"; do
		base=${seen[$version]}
		f=$SQL_DIR/$base
		name=${base#*_}
		name=${name%.sql}
		# A COMMIT inside the file would end our transaction early.
		if grep -Eiq '^[[:space:]]*(BEGIN|COMMIT|ROLLBACK|START[[:space:]]+TRANSACTION)[[:space:]]*;' "$f"; then
			die "$base controls its own transaction (BEGIN/COMMIT); remove that: each migration already runs in one transaction"
		fi
		# version and name are validated above: safe to inline in SQL.
		# Query results are dropped (-o); messages are shown unless the
		# failure is only that a concurrent run got there first.
		if ! "${psql[@]}" --single-transaction -o /dev/null \
			-c "INSERT INTO schema_migrations (version, name) VALUES ($version, '$name')" \
			-f "$f" 2>"$errors"; then
			if [ "$("${psql[@]}" -At -c "SELECT 1 FROM schema_migrations WHERE version = $version" 2>/dev/null)" = 1 ]; then
				say "skipped $base: another run applied it meanwhile"
				continue
			fi
			cat -- "$errors" >&2
			die "migration $base failed and was rolled back (nothing of it was applied); $count applied before it"
		fi
		cat -- "$errors" >&2
		say "applied $base"
		count=$((count + 1))
	done

	last=$("${psql[@]}" -At -c "SELECT coalesce(max(version), 0) FROM schema_migrations") || last='?'
	if [ "$count" -eq 0 ]; then
		say "migrations: up to date (version $last)"
	else
		say "migrations: $count applied, now at version $last"
	fi
}

# ---------------------------------------------------------------------------

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	status) cmd_status "$@" ;;
	migrate) cmd_migrate "$@" ;;
	psql) cmd_psql "$@" ;;
	conninfo) cmd_conninfo "$@" ;;
	destroy) cmd_destroy "$@" ;;
	'' | -h | --help | help) usage ;;
	*) printf '%s: unknown command: %s\n' "$PROG" "$command" >&2; usage ;;
esac
