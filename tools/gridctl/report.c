/*
 * gridctl report rebuild: recomputes the rows of daily_aggregates of some
 * local days from the system of record (docs/aggregates.md, "Rebuild"):
 * the screenings, alerts and households up to reportd's three watermarks,
 * and the alerts' audit, counted with the day offset and coverage window
 * reportd recorded in report_settings. It replaces each day's rows, or
 * with --check only lists where the table and the rebuild differ.
 *
 * The whole run is one transaction that first locks daily_aggregates in
 * EXCLUSIVE mode: reportd's writers wait (each writes its rows and moves
 * its watermark in one transaction, so the watermarks read after the lock
 * match the table), while readers of the table go on. Each day is computed
 * by one statement; its rows are compared with the table's here, so that
 * a rebuild computes each day once: the table's rows are read, deleted,
 * and the rebuilt ones inserted with RETURNING.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "civil.h"
#include "gridctl.h"

#define REPORT_CMD "report rebuild"
#define GRIDCTL_REPORT_ROLE "gridwall_report"
#define REBUILD_MAX_DAYS 366

/* The figures of a row of daily_aggregates, in the order every statement here uses. */
enum {
	FIG_SCREENINGS, FIG_PERSONS, FIG_HOUSEHOLDS, FIG_FEVERS, FIG_NEW_ALERTS, FIG_RELEASED,
	FIG_REGISTERED, FIG_COVERED, FIG_OBSERVED, FIG_HIGH_OPEN, NFIGURES,
};

static const char *const s_figures[NFIGURES] = {
	"screenings", "persons_screened", "households_screened", "fevers", "new_alerts",
	"released", "registered_change", "covered_change", "observed_change", "high_open_change",
};

#define S_FIGURE_COLUMNS \
	"screenings, persons_screened, households_screened, fevers, new_alerts, released," \
	" registered_change, covered_change, observed_change, high_open_change"

/*
 * The local day of a timestamptz, $5 the offset in minutes: exactly the
 * expression reportd counts with, so that both cut days at the same instant.
 */
#define S_LOCAL_DAY(ts) \
	"(date '1970-01-01' + floor((extract(epoch FROM " ts ") + $5::int * 60) / 86400)::int)"

/*
 * A cheap superset of the instants whose local day lies in first..last
 * (SQL dates): a day of margin on each side, whatever the offset. Rows are
 * kept by S_LOCAL_DAY alone; this only spares computing it for every row of
 * a table, and is what an index on the column would be searched by.
 */
#define S_AROUND(ts, first, last) \
	"(" ts " >= to_timestamp(((" first ") - date '1970-01-01' - 1)::bigint * 86400 - $5::int * 60)" \
	" AND " ts " < to_timestamp(((" last ") - date '1970-01-01' + 2)::bigint * 86400 - $5::int * 60))"

/* An alert puts its person under observation: its observation runs past its raising. */
#define S_OBSERVING(a) \
	"(" a ".kind <> 'released' AND " a ".observe_until IS NOT NULL" \
	" AND " a ".observe_until > " a ".raised_at)"

/*
 * The rows of one local day, rebuilt: $1 the day, $2 $3 $4 reportd's
 * watermarks of screenings, alerts and households, $5 the day offset in
 * minutes, $6 coverage_days. Each branch of c gives, per record, a grid,
 * the figure it counts in (the FIG_ numbers) and by how much; g sums them
 * per grid, f rolls those up to every area above the grid that the tree
 * holds and keeps the sums that are not 0; the last SELECT turns them into
 * one row per area, with the figures in S_FIGURE_COLUMNS order. An area
 * whose figures are all 0 has no row.
 *
 *   s    screenings up to the watermark of the day and the coverage_days
 *        before it (coverage looks that far back);
 *   ad   alerts up to the watermark raised on the day;
 *   obs  the alerts that start or end an observation, of the persons with
 *        one on the day, each with the same person's one before it.
 *
 * Coverage: a household screened on day d is covered on d .. d+N-1 (N =
 * coverage_days). It starts being covered on D when screened on D and on
 * none of D-N .. D-1, and stops on D when screened on D-N and on none of
 * D-N+1 .. D.
 */
#define S_REBUILD_SQL \
	"WITH s AS MATERIALIZED (" \
	"  SELECT s.id, s.grid_code, s.person_id, s.household_id," \
	"         coalesce(s.temperature >= 37.3, false) AS fever," \
	"         " S_LOCAL_DAY("s.screened_at") " AS day" \
	"    FROM screenings s" \
	"   WHERE s.id <= $2::bigint AND " S_AROUND("s.screened_at", "$1::date - $6::int", "$1::date") \
	"     AND " S_LOCAL_DAY("s.screened_at") " BETWEEN $1::date - $6::int AND $1::date)," \
	" ad AS MATERIALIZED (" \
	"  SELECT a.id, a.kind, a.level, a.grid_code, a.person_id" \
	"    FROM alerts a" \
	"   WHERE a.id <= $3::bigint AND " S_AROUND("a.raised_at", "$1::date", "$1::date") \
	"     AND " S_LOCAL_DAY("a.raised_at") " = $1::date)," \
	" obs AS (" \
	"  SELECT a.id, a.grid_code, " S_OBSERVING("a") " AS observing," \
	"         lag(a.grid_code) OVER w AS prev_grid, lag(" S_OBSERVING("a") ") OVER w AS prev_observing" \
	"    FROM alerts a" \
	"   WHERE a.id <= $3::bigint AND a.kind IN ('risk', 'follow_up_overdue', 'released')" \
	"     AND a.person_id IN (SELECT ad.person_id FROM ad" \
	"                          WHERE ad.kind IN ('risk', 'follow_up_overdue', 'released'))" \
	"  WINDOW w AS (PARTITION BY a.person_id ORDER BY a.id))," \
	" c (grid_code, fig, n) AS (" \
	"  SELECT s.grid_code, 0, 1 FROM s WHERE s.day = $1::date" \
	"  UNION ALL" \
	"  (SELECT DISTINCT ON (s.person_id) s.grid_code, 1, 1 FROM s WHERE s.day = $1::date" \
	"    ORDER BY s.person_id, s.id)" \
	"  UNION ALL" \
	"  SELECT h.grid_code, 2, 1 FROM households h" \
	"   WHERE h.id IN (SELECT s.household_id FROM s WHERE s.day = $1::date)" \
	"  UNION ALL" \
	"  SELECT s.grid_code, 3, 1 FROM s WHERE s.day = $1::date AND s.fever" \
	"  UNION ALL" \
	"  SELECT ad.grid_code, 4, 1 FROM ad WHERE ad.kind = 'risk'" \
	"  UNION ALL" \
	"  SELECT ad.grid_code, 5, 1 FROM ad WHERE ad.kind = 'released'" \
	"  UNION ALL" \
	"  SELECT h.grid_code, 6, 1 FROM households h" \
	"   WHERE h.id <= $4::bigint AND h.kind = 'registered'" \
	"     AND " S_AROUND("h.created_at", "$1::date", "$1::date") \
	"     AND " S_LOCAL_DAY("h.created_at") " = $1::date" \
	"  UNION ALL" \
	"  SELECT h.grid_code, 7, x.change" \
	"    FROM (SELECT s.household_id," \
	"                 (bool_or(s.day = $1::date) AND NOT bool_or(s.day < $1::date))::int" \
	"               - (bool_or(s.day = $1::date - $6::int)" \
	"                  AND NOT bool_or(s.day > $1::date - $6::int))::int AS change" \
	"            FROM s WHERE s.household_id IS NOT NULL GROUP BY s.household_id) x" \
	"    JOIN households h ON h.id = x.household_id" \
	"   WHERE h.kind = 'registered' AND x.change <> 0" \
	"  UNION ALL" \
	"  SELECT obs.grid_code, 8, 1 FROM obs" \
	"   WHERE obs.observing AND obs.id IN (SELECT ad.id FROM ad)" \
	"  UNION ALL" \
	"  SELECT obs.prev_grid, 8, -1 FROM obs" \
	"   WHERE obs.prev_observing AND obs.id IN (SELECT ad.id FROM ad)" \
	"  UNION ALL" \
	"  SELECT ad.grid_code, 9, 1 FROM ad WHERE ad.kind = 'risk' AND ad.level = 'high'" \
	"  UNION ALL" \
	"  SELECT a.grid_code, 9, -1 FROM alert_audit au JOIN alerts a ON a.id = au.alert_id" \
	"   WHERE au.action = 'resolve' AND " S_AROUND("au.at", "$1::date", "$1::date") \
	"     AND " S_LOCAL_DAY("au.at") " = $1::date" \
	"     AND a.kind = 'risk' AND a.level = 'high')," \
	" g AS (SELECT c.grid_code, c.fig, sum(c.n) AS n FROM c GROUP BY c.grid_code, c.fig)," \
	" f AS (" \
	"  SELECT ar.code, g.fig, sum(g.n) AS n" \
	"    FROM g CROSS JOIN unnest(ARRAY[4, 6, 9, 12, 15]) AS len" \
	"    JOIN areas ar ON ar.code = left(g.grid_code, len)" \
	"   WHERE length(g.grid_code) IN (4, 6, 9, 12, 15) AND len <= length(g.grid_code)" \
	"   GROUP BY ar.code, g.fig HAVING sum(g.n) <> 0)" \
	"SELECT f.code," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 0), 0)::bigint AS screenings," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 1), 0)::bigint AS persons_screened," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 2), 0)::bigint AS households_screened," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 3), 0)::bigint AS fevers," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 4), 0)::bigint AS new_alerts," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 5), 0)::bigint AS released," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 6), 0)::bigint AS registered_change," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 7), 0)::bigint AS covered_change," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 8), 0)::bigint AS observed_change," \
	"       coalesce(sum(f.n) FILTER (WHERE f.fig = 9), 0)::bigint AS high_open_change" \
	"  FROM f GROUP BY f.code ORDER BY f.code"

/* --check: the rebuilt rows, nothing written. */
static const char s_rebuilt_sql[] = S_REBUILD_SQL;

/* A rebuild: the rebuilt rows replace the day's (deleted just before), and come back. */
static const char s_insert_sql[] =
	"INSERT INTO daily_aggregates (day, area_code, " S_FIGURE_COLUMNS ")"
	" SELECT $1::date, r.* FROM (" S_REBUILD_SQL ") r"
	" RETURNING area_code, " S_FIGURE_COLUMNS;

/* The rows the table holds for a day ($1). */
static const char s_table_sql[] =
	"SELECT area_code, " S_FIGURE_COLUMNS " FROM daily_aggregates WHERE day = $1::date";

/* The day's rows go before the rebuilt ones come in. */
static const char s_delete_sql[] =
	"DELETE FROM daily_aggregates WHERE day = $1::date";

/* reportd's writers wait until the run ends; readers of the table do not. */
static const char s_lock_sql[] =
	"LOCK TABLE daily_aggregates IN EXCLUSIVE MODE";

/* What reportd has counted so far, and how: read after the lock. */
static const char s_basis_sql[] =
	"SELECT (SELECT last_id FROM consumer_offsets WHERE consumer = 'reportd'),"
	"       (SELECT last_id FROM consumer_offsets WHERE consumer = 'reportd.alerts'),"
	"       (SELECT last_id FROM consumer_offsets WHERE consumer = 'reportd.households'),"
	"       (SELECT day_utc_offset_min FROM report_settings),"
	"       (SELECT coverage_days FROM report_settings)";

struct rebuild_opts {
	const char *conninfo;
	const char *day_text;      /* --day, or NULL */
	const char *from_text;     /* --from, or NULL */
	const char *to_text;       /* --to, or NULL */
	int64_t day, from, to;     /* local days since 1970-01-01 */
	bool check;
};

/*
 * The statements' parameters $2 to $6 as text: the three watermarks, the
 * day offset and the coverage window, as read under the lock.
 */
struct rebuild_basis {
	char value[5][24];
	long offset_min;
};

/* One area's figures on a day; the code is lent by a PGresult. */
struct agg_row {
	const char *code;
	int64_t fig[NFIGURES];
};

/* The rows of a day, by area code. */
struct agg_rows {
	struct agg_row *row;
	size_t n;
};

/* What a day came to. */
struct day_outcome {
	int64_t day;
	long areas;                /* rows rebuilt */
	long differing;            /* areas where the table and the rebuild differ */
};

/* Takes one option of REPORT_CMD. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	struct rebuild_opts *opt = p;

	switch (code) {
	case 'D':
		opt->day_text = arg;
		return civil_parse(arg, &opt->day);
	case 'f':
		opt->from_text = arg;
		return civil_parse(arg, &opt->from);
	case 't':
		opt->to_text = arg;
		return civil_parse(arg, &opt->to);
	case 'c':
		opt->check = true;
		return true;
	case 'd':
		opt->conninfo = arg;
		return true;
	}
	return false;
}

/* Reads the options after "rebuild"; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct rebuild_opts *opt)
{
	static const struct option longopts[] = {
		{ "day", required_argument, NULL, 'D' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "check", no_argument, NULL, 'c' },
		{ "conninfo", required_argument, NULL, 'd' },
		{ "database", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int rc = gridctl_options(REPORT_CMD, argc, argv, longopts, s_set_opt, opt, NULL);
	bool range = opt->from_text != NULL || opt->to_text != NULL;

	if (rc >= 0)
		return rc;
	if (opt->day_text != NULL && range)
		gridctl_err(REPORT_CMD, "--day or --from and --to, not both");
	else if (opt->day_text == NULL && !range)
		gridctl_err(REPORT_CMD, "which days? --day, or --from and --to");
	else if (range && (opt->from_text == NULL || opt->to_text == NULL))
		gridctl_err(REPORT_CMD, "--from and --to go together");
	else if (range && opt->from > opt->to)
		gridctl_err(REPORT_CMD, "--from %s is after --to %s", opt->from_text, opt->to_text);
	else if (range && opt->to - opt->from >= REBUILD_MAX_DAYS)
		gridctl_err(REPORT_CMD, "%s to %s is %lld days; at most %d at a time",
		            opt->from_text, opt->to_text, (long long)(opt->to - opt->from + 1),
		            REBUILD_MAX_DAYS);
	else {
		if (opt->day_text != NULL)
			opt->from = opt->to = opt->day;
		return -1;
	}
	return gridctl_usage(REPORT_CMD, stderr, GRIDCTL_EXIT_USAGE);
}

/* Runs a statement; its result, or NULL (reported, saying what was being done). */
static PGresult *
s_exec(PGconn *conn, const char *what, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	gridctl_err(REPORT_CMD, "%s: %.*s", what, gridctl_pq_error_len(conn), PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

/* Runs a statement whose result is not needed; false (reported) on failure. */
static bool
s_command(PGconn *conn, const char *what, const char *sql)
{
	PGresult *res = s_exec(conn, what, sql, 0, NULL);

	PQclear(res);
	return res != NULL;
}

/*
 * Starts the run's transaction: takes the lock, then reads the watermarks
 * and settings, which reportd cannot move while the lock is held.
 */
static bool
s_begin(PGconn *conn, struct rebuild_basis *basis)
{
	static const char *const names[5] = {
		"watermark 'reportd' in consumer_offsets",
		"watermark 'reportd.alerts' in consumer_offsets",
		"watermark 'reportd.households' in consumer_offsets",
		"report_settings", "report_settings",
	};
	PGresult *res;

	if (!s_command(conn, "begin", "BEGIN") ||
	    !s_command(conn, "locking daily_aggregates", s_lock_sql) ||
	    (res = s_exec(conn, "reading reportd's watermarks and settings", s_basis_sql, 0, NULL)) == NULL)
		return false;
	for (int i = 0; i < 5; i++) {
		if (PQgetisnull(res, 0, i)) {
			gridctl_err(REPORT_CMD, "no %s (is deploy/sql/008_aggregates.sql applied?)",
			            names[i]);
			PQclear(res);
			return false;
		}
		snprintf(basis->value[i], sizeof(basis->value[i]), "%s", PQgetvalue(res, 0, i));
	}
	basis->offset_min = strtol(basis->value[3], NULL, 10);
	PQclear(res);
	return true;
}

/* Orders rows by area code. */
static int
s_row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct agg_row *)a)->code, ((const struct agg_row *)b)->code);
}

/* The rows of a result (area code, then the figures), sorted by code; false when memory is short. */
static bool
s_rows(const PGresult *res, struct agg_rows *out)
{
	size_t n = (size_t)PQntuples(res);

	out->n = 0;
	out->row = calloc(n > 0 ? n : 1, sizeof(*out->row));
	if (out->row == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		out->row[i].code = PQgetvalue(res, (int)i, 0);
		for (int k = 0; k < NFIGURES; k++)
			out->row[i].fig[k] = gridctl_col_int(res, (int)i, k + 1);
	}
	out->n = n;
	qsort(out->row, n, sizeof(*out->row), s_row_cmp);
	return true;
}

/* True if an area's two rows differ; a missing row counts as all zeros. */
static bool
s_differs(const struct agg_row *table, const struct agg_row *rebuilt)
{
	for (int k = 0; k < NFIGURES; k++)
		if ((table ? table->fig[k] : 0) != (rebuilt ? rebuilt->fig[k] : 0))
			return true;
	return false;
}

/* Prints each figure of an area where the table and the rebuild differ. */
static void
s_print_diff(const char *day, const char *code, const struct agg_row *table,
             const struct agg_row *rebuilt)
{
	for (int k = 0; k < NFIGURES; k++) {
		long long t = table ? (long long)table->fig[k] : 0;
		long long r = rebuilt ? (long long)rebuilt->fig[k] : 0;

		if (t != r)
			printf("%s %s %s table=%lld rebuilt=%lld\n", day, code, s_figures[k], t, r);
	}
}

/*
 * Walks the two sorted lists together, as a full outer join on the area
 * code, and counts the areas that differ; each difference is printed when
 * print is set.
 */
static long
s_compare(const char *day, const struct agg_rows *table, const struct agg_rows *rebuilt, bool print)
{
	size_t i = 0, j = 0;
	long differing = 0;

	while (i < table->n || j < rebuilt->n) {
		const struct agg_row *t = i < table->n ? &table->row[i] : NULL;
		const struct agg_row *r = j < rebuilt->n ? &rebuilt->row[j] : NULL;
		int cmp = t == NULL ? 1 : r == NULL ? -1 : strcmp(t->code, r->code);

		if (cmp < 0)
			r = NULL;
		else if (cmp > 0)
			t = NULL;
		i += t != NULL;
		j += r != NULL;
		if (!s_differs(t, r))
			continue;
		differing++;
		if (print)
			s_print_diff(day, t ? t->code : r->code, t, r);
	}
	return differing;
}

/*
 * Rebuilds one day, or compares it with --check, inside the run's
 * transaction: reads the table's rows, then either computes the rebuilt
 * rows or deletes the day's and inserts the rebuilt ones, and compares.
 */
static bool
s_day(PGconn *conn, const struct rebuild_opts *opt, const struct rebuild_basis *basis,
      struct day_outcome *out)
{
	char day[CIVIL_TEXT_LEN + 1];
	const char *params[6] = { day, basis->value[0], basis->value[1], basis->value[2],
	                          basis->value[3], basis->value[4] };
	PGresult *table = NULL, *rebuilt = NULL, *deleted;
	struct agg_rows trows = { NULL, 0 }, rrows = { NULL, 0 };
	bool ok = false;

	civil_format(out->day, day);
	table = s_exec(conn, "reading the table", s_table_sql, 1, params);
	if (table == NULL)
		goto out;
	if (opt->check) {
		rebuilt = s_exec(conn, "rebuilding", s_rebuilt_sql, 6, params);
	} else if ((deleted = s_exec(conn, "deleting the day's rows", s_delete_sql, 1, params)) != NULL) {
		PQclear(deleted);
		rebuilt = s_exec(conn, "inserting the rebuilt rows", s_insert_sql, 6, params);
	}
	if (rebuilt == NULL)
		goto out;
	if (!s_rows(table, &trows) || !s_rows(rebuilt, &rrows))
		gridctl_oom(REPORT_CMD);
	out->areas = (long)rrows.n;
	out->differing = s_compare(day, &trows, &rrows, opt->check);
	ok = true;
out:
	free(trows.row);
	free(rrows.row);
	PQclear(table);
	PQclear(rebuilt);
	return ok;
}

/* One day's line: equal, or how many areas differ (--check), or what was rebuilt. */
static void
s_print_outcome(const struct rebuild_opts *opt, const struct day_outcome *o)
{
	char day[CIVIL_TEXT_LEN + 1];

	civil_format(o->day, day);
	if (opt->check && o->differing == 0)
		printf("%s: equal (%ld %s)\n", day, o->areas, o->areas == 1 ? "area" : "areas");
	else if (opt->check)
		printf("%s: %ld %s differ%s (%ld %s in the rebuild)\n", day, o->differing,
		       o->differing == 1 ? "area" : "areas", o->differing == 1 ? "s" : "",
		       o->areas, o->areas == 1 ? "area" : "areas");
	else
		printf("%s: %ld %s rebuilt, %ld %s differed from the table\n", day, o->areas,
		       o->areas == 1 ? "area" : "areas", o->differing, o->differing == 1 ? "row" : "rows");
}

/*
 * The run: one transaction over every day. A check prints as it goes and
 * rolls back; a rebuild prints once it has committed, so that no line
 * claims a day that was not.
 */
static int
s_run(PGconn *conn, const struct rebuild_opts *opt)
{
	size_t ndays = (size_t)(opt->to - opt->from + 1);
	struct day_outcome *days = calloc(ndays, sizeof(*days));
	struct rebuild_basis basis;
	int64_t today;
	long differing = 0;
	bool today_changed = false;

	if (days == NULL)
		gridctl_oom(REPORT_CMD);
	if (!s_begin(conn, &basis))
		goto fail;
	today = civil_day_of((int64_t)time(NULL) + (int64_t)basis.offset_min * 60);
	for (size_t i = 0; i < ndays; i++) {
		days[i].day = opt->from + (int64_t)i;
		if (!s_day(conn, opt, &basis, &days[i]))
			goto fail;
		if (opt->check)
			s_print_outcome(opt, &days[i]);
		differing += days[i].differing;
		today_changed |= days[i].day == today && days[i].differing > 0;
	}
	if (!s_command(conn, opt->check ? "rollback" : "commit", opt->check ? "ROLLBACK" : "COMMIT"))
		goto fail;
	for (size_t i = 0; i < ndays && !opt->check; i++)
		s_print_outcome(opt, &days[i]);
	fflush(stdout);
	if (today_changed && !opt->check)
		gridctl_err(REPORT_CMD, "today's rows changed: send reportd SIGHUP to reload them");
	free(days);
	return opt->check && differing > 0 ? GRIDCTL_EXIT_FAIL : GRIDCTL_EXIT_OK;
fail:
	if (!opt->check)
		gridctl_err(REPORT_CMD, "rolled back: no day was rebuilt");
	free(days);
	return GRIDCTL_EXIT_FAIL;
}

/* gridctl report rebuild. */
static int
s_rebuild(int argc, char **argv)
{
	struct rebuild_opts opt = { .conninfo = DEFAULT_DATABASE };
	PGconn *conn;
	int rc;

	if ((rc = s_parse_opts(argc, argv, &opt)) >= 0)
		return rc;
	conn = gridctl_connect(REPORT_CMD, opt.conninfo, GRIDCTL_REPORT_ROLE);
	if (conn == NULL)
		return GRIDCTL_EXIT_FAIL;
	rc = s_run(conn, &opt);
	PQfinish(conn);
	return rc;
}

/* gridctl report: the aggregate tools; rebuild is the only one. */
int
gridctl_report(int argc, char **argv)
{
	if (argc < 2) {
		gridctl_err("report", "missing command: rebuild");
		return gridctl_usage("report", stderr, GRIDCTL_EXIT_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return gridctl_usage("report", stdout, GRIDCTL_EXIT_OK);
	if (strcmp(argv[1], "rebuild") != 0) {
		gridctl_err("report", "unknown command \"%s\" (only rebuild)", argv[1]);
		return gridctl_usage("report", stderr, GRIDCTL_EXIT_USAGE);
	}
	return s_rebuild(argc - 1, argv + 1);
}
