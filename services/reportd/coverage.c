/*
 * Screening coverage: GET /v1/coverage?area=CODE&days=N. For each area one
 * level below CODE (for a grid: the grid itself), the registered households
 * under it, how many of them were screened within the last N days (default
 * 3; household_states.last_screened_at, which rulesd keeps) and the ratio.
 * Counts only, no personal data: public like the aggregates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "area.h"
#include "dashboard.h"
#include "log.h"

#define COVERAGE_DAYS_DEFAULT 3
#define COVERAGE_DAYS_MAX 365

/*
 * One pass over the area's registered households, grouped by the code
 * prefix of the child they fall under; children without households are
 * listed with zeros. This scans every household of the area on each
 * request: fine for a district, a later change keeps per-grid counts.
 */
static const char SQL_COVERAGE[] =
	"WITH n AS ("
	"  SELECT left(h.grid_code, $2::int) AS code, count(*) AS registered,"
	"         count(*) FILTER (WHERE s.last_screened_at >= now() - make_interval(days => $3::int))"
	"           AS screened"
	"    FROM households h LEFT JOIN household_states s ON s.household_id = h.id"
	"   WHERE h.kind = 'registered' AND h.grid_code LIKE $1 || '%'"
	"   GROUP BY 1) "
	"SELECT c.code, c.name, c.level, coalesce(n.registered, 0), coalesce(n.screened, 0) "
	"  FROM areas c LEFT JOIN n ON n.code = c.code "
	" WHERE c.code LIKE $1 || '%' AND length(c.code) = $2::int "
	" ORDER BY c.code LIMIT 10000";

/* The code length of the areas one level below level (a grid's own). */
static int
s_child_len(enum area_level level)
{
	static const int len[AREA_LEVELS] = { 6, 9, 12, 15, 15 };

	return len[level];
}

/* One result row as {code, name, level, registered, screened, coverage}. */
static json_t *
s_row(PGresult *res, int i)
{
	json_int_t registered = strtoll(PQgetvalue(res, i, 3), NULL, 10);
	json_int_t screened = strtoll(PQgetvalue(res, i, 4), NULL, 10);

	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "code", PQgetvalue(res, i, 0),
	                 "name", PQgetvalue(res, i, 1), "level", PQgetvalue(res, i, 2),
	                 "registered", registered, "screened", screened, "coverage",
	                 registered > 0 ? json_real((double)screened / (double)registered) : json_null());
}

/* GET /v1/coverage?area=&days= */
static void
s_coverage(struct reportd *r, const struct http_request *req, struct http_response *resp)
{
	char area[AREA_CODE_MAX + 8] = "", days[16] = "", len[8];
	const char *params[3] = { area, len, days };
	enum area_level level;
	long d = COVERAGE_DAYS_DEFAULT;
	char *end = NULL;
	PGresult *res;
	json_t *rows;

	if (http_query_param(req->query, "area", area, sizeof(area)) < 0)
		area[0] = '\0';
	if (http_query_param(req->query, "days", days, sizeof(days)) > 0) {
		d = strtol(days, &end, 10);
		if (*end != '\0')
			d = -1;
	}
	if (!*area)
		snprintf(area, sizeof(area), "4406");
	level = area_level_of_code(area);
	if (level == AREA_INVALID || d < 1 || d > COVERAGE_DAYS_MAX) {
		http_respond_error(resp, 400, "area must be an area code, days 1 to 365");
		return;
	}
	snprintf(days, sizeof(days), "%ld", d);
	snprintf(len, sizeof(len), "%d", s_child_len(level));
	res = db_query(r->daemon->db, "query coverage", PGRES_TUPLES_OK, SQL_COVERAGE, 3, params);
	if (res == NULL) {
		http_respond_db_down(resp);
		return;
	}
	rows = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(rows, s_row(res, i));
	PQclear(res);
	http_respond_json(resp, 200, json_pack("{s:s, s:I, s:o}", "area", area, "days", (json_int_t)d,
	                                       "rows", rows));
}

bool
coverage_route(struct reportd *r, const struct http_request *req, struct http_response *resp)
{
	if (strcmp(req->path, "/v1/coverage") != 0)
		return false;
	if (strcmp(req->method, "GET") != 0)
		http_respond_error(resp, 405, "GET only");
	else
		s_coverage(r, req, resp);
	return true;
}
