/*
 * gridctl followups: the daily follow-up list of an area. Who a grid's
 * team must visit on a local day: the persons whose follow-up screening is
 * due by the end of that day (including those already overdue), and the
 * persons under observation on that day, as rulesd last wrote them to
 * person_states. Grouped by grid, with the teams team_grids assigns to it;
 * a grid with several teams lists its persons once and names all its teams
 * (persons are not split between teams). Within a grid, by household code,
 * then name. Staff see a masked identity number only.
 *
 * A person's grid is the one rulesd recorded with their state; failing
 * that their household's, or the grid of their latest alert (the office
 * may not read screenings).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "civil.h"
#include "codec.h"
#include "gridctl.h"
#include "idcard.h"

struct followups_opts {
	const char *area;
	const char *conninfo;
	int64_t day;               /* local day, days since 1970-01-01 */
	bool json;
};

/*
 * The persons to visit: $1 area prefix, $2 and $3 the Unix times the day
 * starts and ends (exclusive). A released person has no follow-up due and
 * no observation, so "not released" is the level or a due follow-up.
 */
static const char s_list_sql[] =
	"SELECT g.grid_code,"
	"       (SELECT ar.name FROM areas ar WHERE ar.code = g.grid_code),"
	"       (SELECT string_agg(ar.name, ' / ' ORDER BY length(ar.code))"
	"          FROM areas ar"
	"         WHERE ar.code IN (left(g.grid_code, 4), left(g.grid_code, 6),"
	"                           left(g.grid_code, 9), left(g.grid_code, 12),"
	"                           g.grid_code)),"
	"       (SELECT array_to_json(array_agg(t.team_id ORDER BY t.team_id))::text"
	"          FROM team_grids t WHERE t.grid_code = g.grid_code),"
	"       ps.person_id, p.name, p.id_number, p.phone, h.code, ps.level, ps.action,"
	"       ps.rule_id,"
	"       floor(extract(epoch FROM ps.observe_until))::bigint,"
	"       floor(extract(epoch FROM ps.follow_up_due))::bigint"
	"  FROM person_states ps"
	"  JOIN persons p ON p.id = ps.person_id"
	"  LEFT JOIN households h ON h.id = coalesce(ps.household_id, p.household_id)"
	"  CROSS JOIN LATERAL (SELECT coalesce(ps.grid_code, h.grid_code,"
	"         (SELECT a.grid_code FROM alerts a WHERE a.person_id = ps.person_id"
	"           ORDER BY a.raised_at DESC, a.id DESC LIMIT 1)) AS grid_code) g"
	" WHERE g.grid_code LIKE $1 || '%'"
	"   AND (ps.level <> 'normal' OR ps.follow_up_due IS NOT NULL)"
	"   AND (ps.follow_up_due < to_timestamp($3)"
	"        OR (ps.observe_from < to_timestamp($3) AND ps.observe_until > to_timestamp($2)))"
	" ORDER BY g.grid_code, h.code NULLS LAST, p.name, ps.person_id";

enum {
	COL_GRID, COL_GRID_NAME, COL_PATH, COL_TEAMS, COL_PERSON, COL_NAME, COL_ID_NUMBER,
	COL_PHONE, COL_HOUSEHOLD, COL_LEVEL, COL_ACTION, COL_RULE, COL_OBSERVE_UNTIL,
	COL_FOLLOW_UP_DUE,
};

/* Counts for the summary line, per grid and in all. */
struct followups_count {
	long persons;
	long overdue;
};

/* Takes one option of followups. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	struct followups_opts *opt = p;

	switch (code) {
	case 'a':
		opt->area = arg;
		return gridctl_area_ok(arg) && arg[0] != '\0';
	case 'D':
		return civil_parse(arg, &opt->day);
	case 'd':
		opt->conninfo = arg;
		return true;
	case 'j':
		opt->json = true;
		return true;
	}
	return false;
}

/* Reads the options; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct followups_opts *opt)
{
	static const struct option longopts[] = {
		{ "area", required_argument, NULL, 'a' },
		{ "day", required_argument, NULL, 'D' },
		{ "database", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int rc = gridctl_options("followups", argc, argv, longopts, s_set_opt, opt, NULL);

	if (rc >= 0 || opt->area != NULL)
		return rc;
	gridctl_err("followups", "--area is required");
	return gridctl_usage("followups", stderr, GRIDCTL_EXIT_USAGE);
}

/* A level column by its name, NORMAL for anything unknown. */
static int
s_col_level(const PGresult *res, int row)
{
	int v = codec_level_parse(gridctl_col(res, row, COL_LEVEL));

	return v < 0 ? GRIDWALL__V1__RISK_LEVEL__NORMAL : v;
}

/* True when the row's follow-up was due before now. */
static bool
s_overdue(const PGresult *res, int row, int64_t now)
{
	return !PQgetisnull(res, row, COL_FOLLOW_UP_DUE) &&
	       gridctl_col_int(res, row, COL_FOLLOW_UP_DUE) < now;
}

/* Starts a column: two spaces, then the text. */
static void
s_put_col(const char *s)
{
	fputs("  ", stdout);
	gridctl_put_clean(stdout, s);
}

/* The header of a grid: code, name, area path and its teams. */
static void
s_print_grid(const PGresult *res, int row)
{
	json_t *teams = json_loads(gridctl_col(res, row, COL_TEAMS) ? gridctl_col(res, row, COL_TEAMS)
	                                                            : "[]", 0, NULL);
	json_t *team;
	size_t i;

	fputs("grid ", stdout);
	gridctl_put_clean(stdout, gridctl_col(res, row, COL_GRID));
	fputc(' ', stdout);
	gridctl_put_clean(stdout, gridctl_col(res, row, COL_GRID_NAME));
	s_put_col(gridctl_col(res, row, COL_PATH));
	if (json_array_size(teams) == 0)
		fputs("  no team assigned", stdout);
	else
		fputs(json_array_size(teams) == 1 ? "  team " : "  teams ", stdout);
	json_array_foreach(teams, i, team) {
		if (i > 0)
			fputs(", ", stdout);
		gridctl_put_clean(stdout, json_string_value(team));
	}
	fputc('\n', stdout);
	json_decref(teams);
}

/* One person as a line of text, indented under their grid. */
static void
s_print_person(const PGresult *res, int row, int64_t now)
{
	const char *id_number = gridctl_col(res, row, COL_ID_NUMBER);
	char masked[IDCARD_LEN + 1] = "", level[16], date[CIVIL_TEXT_LEN + 1], due[32];

	if (id_number != NULL)
		idcard_mask(id_number, masked);
	gridctl_level_label(s_col_level(res, row), level, sizeof(level));
	s_put_col(gridctl_col(res, row, COL_NAME));
	s_put_col(masked);
	s_put_col(gridctl_col(res, row, COL_PHONE));
	s_put_col(gridctl_col(res, row, COL_HOUSEHOLD));
	s_put_col(level);
	s_put_col(gridctl_col(res, row, COL_ACTION));
	if (PQgetisnull(res, row, COL_OBSERVE_UNTIL)) {
		fputs("  until -", stdout);
	} else {
		gridctl_local_date(gridctl_col_int(res, row, COL_OBSERVE_UNTIL), date);
		printf("  until %s", date);
	}
	if (PQgetisnull(res, row, COL_FOLLOW_UP_DUE)) {
		fputs("  due -", stdout);
	} else {
		gridctl_local_minute(gridctl_col_int(res, row, COL_FOLLOW_UP_DUE), due, sizeof(due));
		printf("  due %s", due);
	}
	if (s_overdue(res, row, now))
		fputs("  OVERDUE", stdout);
	fputc('\n', stdout);
}

/* Sets key to a text column unless it is NULL; nonzero when memory is short. */
static int
s_put_text(json_t *obj, const char *key, const char *s)
{
	return s == NULL ? 0 : json_object_set_new(obj, key, json_string(s));
}

/* Sets key to a JSON column (an array), [] when NULL; nonzero when it cannot be. */
static int
s_put_array(json_t *obj, const char *key, const char *text)
{
	json_t *v = json_loads(text ? text : "[]", 0, NULL);

	return v == NULL ? -1 : json_object_set_new(obj, key, v);
}

/* One person as a JSON object, with their grid; NULL when memory is short. */
static json_t *
s_person_json(const PGresult *res, int row, const char *day, int64_t now)
{
	const char *id_number = gridctl_col(res, row, COL_ID_NUMBER);
	const char *level = codec_level_name((Gridwall__V1__RiskLevel)s_col_level(res, row));
	char masked[IDCARD_LEN + 1], date[CIVIL_TEXT_LEN + 1], due[40];
	json_t *obj = json_object();
	int bad = 0;

	if (obj == NULL)
		return NULL;
	bad |= json_object_set_new(obj, "day", json_string(day));
	bad |= s_put_text(obj, "grid_code", gridctl_col(res, row, COL_GRID));
	bad |= s_put_text(obj, "grid_name", gridctl_col(res, row, COL_GRID_NAME));
	bad |= s_put_text(obj, "area_path", gridctl_col(res, row, COL_PATH));
	bad |= s_put_array(obj, "teams", gridctl_col(res, row, COL_TEAMS));
	bad |= json_object_set_new(obj, "person_id",
	                           json_integer((json_int_t)gridctl_col_int(res, row, COL_PERSON)));
	bad |= s_put_text(obj, "name", gridctl_col(res, row, COL_NAME));
	if (id_number != NULL) {
		idcard_mask(id_number, masked);
		bad |= s_put_text(obj, "id_masked", masked);
	}
	bad |= s_put_text(obj, "phone", gridctl_col(res, row, COL_PHONE));
	bad |= s_put_text(obj, "household_code", gridctl_col(res, row, COL_HOUSEHOLD));
	bad |= s_put_text(obj, "level", level ? level : "normal");
	bad |= s_put_text(obj, "action", gridctl_col(res, row, COL_ACTION));
	bad |= s_put_text(obj, "rule_id", gridctl_col(res, row, COL_RULE));
	if (!PQgetisnull(res, row, COL_OBSERVE_UNTIL)) {
		gridctl_local_date(gridctl_col_int(res, row, COL_OBSERVE_UNTIL), date);
		bad |= s_put_text(obj, "observe_until", date);
	}
	if (!PQgetisnull(res, row, COL_FOLLOW_UP_DUE)) {
		gridctl_local_rfc3339(gridctl_col_int(res, row, COL_FOLLOW_UP_DUE), due, sizeof(due));
		bad |= s_put_text(obj, "follow_up_due", due);
	}
	bad |= json_object_set_new(obj, "overdue", json_boolean(s_overdue(res, row, now)));
	if (bad) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* Prints every person as one JSON line; false when memory is short. */
static bool
s_print_json(const PGresult *res, const char *day, int64_t now)
{
	for (int row = 0; row < PQntuples(res); row++) {
		json_t *obj = s_person_json(res, row, day, now);
		char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

		json_decref(obj);
		if (text == NULL) {
			gridctl_err("followups", "person %lld: out of memory",
			            (long long)gridctl_col_int(res, row, COL_PERSON));
			return false;
		}
		printf("%s\n", text);
		free(text);
	}
	return true;
}

/* The count of one grid in the summary line. */
static void
s_put_count(const char *grid, const struct followups_count *n)
{
	gridctl_put_clean(stdout, grid);
	printf(": %ld", n->persons);
	if (n->overdue > 0)
		printf(" (%ld overdue)", n->overdue);
	fputs("; ", stdout);
}

/*
 * The list as text: a title, each grid's header and persons, then one
 * summary line with the count of each grid and the totals.
 */
static void
s_print_text(const PGresult *res, const struct followups_opts *opt, const char *day, int64_t now)
{
	struct followups_count grid = { 0, 0 }, total = { 0, 0 };
	const char *prev = NULL;
	long grids = 0;
	char asof[32];

	gridctl_local_minute(now, asof, sizeof(asof));
	printf("follow-ups for %s in area %s (as of %s)\n", day, opt->area, asof);
	for (int row = 0; row < PQntuples(res); row++) {
		const char *code = gridctl_col(res, row, COL_GRID);

		if (prev == NULL || strcmp(prev, code) != 0) {
			prev = code;
			grids++;
			s_print_grid(res, row);
		}
		s_print_person(res, row, now);
	}
	if (PQntuples(res) == 0)
		puts("nobody to visit");
	fputs("summary: ", stdout);
	prev = NULL;
	for (int row = 0; row < PQntuples(res); row++) {
		const char *code = gridctl_col(res, row, COL_GRID);

		if (prev != NULL && strcmp(prev, code) != 0) {
			s_put_count(prev, &grid);
			grid.persons = grid.overdue = 0;
		}
		prev = code;
		grid.persons++;
		grid.overdue += s_overdue(res, row, now);
	}
	if (prev != NULL)
		s_put_count(prev, &grid);
	for (int row = 0; row < PQntuples(res); row++)
		total.overdue += s_overdue(res, row, now);
	total.persons = PQntuples(res);
	printf("total %ld %s in %ld %s, %ld overdue\n", total.persons,
	       total.persons == 1 ? "person" : "persons", grids, grids == 1 ? "grid" : "grids",
	       total.overdue);
}

/* gridctl followups: the persons to visit on a day, by grid. */
int
gridctl_followups(int argc, char **argv)
{
	int64_t now = (int64_t)time(NULL);
	struct followups_opts opt = {
		.conninfo = DEFAULT_DATABASE,
		.day = gridctl_local_day(now) + 1,
	};
	char start[24], end[24], day[CIVIL_TEXT_LEN + 1];
	const char *params[3];
	PGresult *res;
	PGconn *conn;
	int rc;

	if ((rc = s_parse_opts(argc, argv, &opt)) >= 0)
		return rc;
	conn = gridctl_connect("followups", opt.conninfo, GRIDCTL_OFFICE_ROLE);
	if (conn == NULL)
		return GRIDCTL_EXIT_FAIL;
	civil_format(opt.day, day);
	snprintf(start, sizeof(start), "%lld", (long long)gridctl_local_day_start(opt.day));
	snprintf(end, sizeof(end), "%lld", (long long)gridctl_local_day_start(opt.day + 1));
	params[0] = opt.area;
	params[1] = start;
	params[2] = end;
	res = PQexecParams(conn, s_list_sql, 3, NULL, params, NULL, NULL, 0);
	rc = GRIDCTL_EXIT_OK;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gridctl_err("followups", "listing the follow-ups of %s for %s: %.*s", opt.area, day,
		            gridctl_pq_error_len(conn), PQerrorMessage(conn));
		rc = GRIDCTL_EXIT_FAIL;
	} else if (opt.json) {
		if (!s_print_json(res, day, now))
			rc = GRIDCTL_EXIT_FAIL;
	} else {
		s_print_text(res, &opt, day, now);
	}
	fflush(stdout);
	PQclear(res);
	PQfinish(conn);
	return rc;
}
