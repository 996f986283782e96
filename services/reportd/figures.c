/*
 * The public figures over HTTP, answered from the published day tables
 * (daytab.c): today's kept current by every commit, earlier days read once
 * and kept. Counts only, no personal data; withheld figures are null in
 * JSON and empty in CSV (docs/privacy.md).
 *
 *   GET /v1/aggregates?area=&level=&from=&to=   a row per day and area
 *   GET /v1/coverage?area=                      the households not reached, per child area
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "dashboard.h"
#include "log.h"
#include "validate.h"

#define FIGURES_DAYS_MAX 366       /* days in one /v1/aggregates answer */
#define FIGURES_ROWS_MAX 200000    /* rows in one answer */

/* What /v1/aggregates was asked. */
struct ask {
	char area[AREA_CODE_MAX + 8];
	char level[16];
	int32_t from, to;
	enum area_level want;           /* the level of the rows; the area's own when none is named */
};

/* A figure, or null when withheld. */
static json_t *
s_figure(const struct figures *f, enum measure m)
{
	return figures_withheld(f, m) ? json_null() : json_integer(f->v[m]);
}

/* The coverage of a published row: null when a count it needs is withheld, or nothing is registered. */
static json_t *
s_coverage_ratio(const struct figures *f)
{
	if (figures_withheld(f, MEASURE_REGISTERED) || figures_withheld(f, MEASURE_NOT_REACHED) ||
	    f->v[MEASURE_REGISTERED] <= 0)
		return json_null();
	return json_real(1.0 - (double)f->v[MEASURE_NOT_REACHED] / (double)f->v[MEASURE_REGISTERED]);
}

/* Row i of a published day as a JSON object: the area, then every figure. */
static json_t *
s_row(const struct day_table *t, size_t i)
{
	const struct area *a = t->areas[i];
	char day[CIVIL_TEXT_LEN + 1];
	json_t *row;

	report_day_text(t->day, day);
	row = json_pack("{s:s, s:s, s:s, s:s}", "day", day, "area", a->code, "name", a->name,
	                "level", area_level_name(a->level));
	for (int m = 0; m < MEASURES; m++)
		json_object_set_new(row, figure_name[m], s_figure(&t->pub[i], (enum measure)m));
	json_object_set_new(row, "coverage", s_coverage_ratio(&t->pub[i]));
	return row;
}

/* Appends one CSV field, quoted when it holds a comma, a quote or a line break. */
static void
s_csv_field(FILE *f, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
	} else {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	}
	fputs(last ? "\r\n" : ",", f);
}

/* One JSON value as a CSV field: text as is, numbers as numbers, null empty. */
static void
s_csv_value(FILE *f, const json_t *v, bool last)
{
	char buf[32] = "";

	if (json_is_string(v)) {
		s_csv_field(f, json_string_value(v), last);
		return;
	}
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%.4f", json_real_value(v));
	s_csv_field(f, buf, last);
}

/* The rows as CSV (RFC 4180, a header line first, the columns of s_row). */
static void
s_respond_csv(json_t *rows, struct http_response *resp)
{
	const char *head[4] = { "day", "area", "name", "level" };
	char *body = NULL;
	size_t len = 0, i;
	json_t *row;
	FILE *f = open_memstream(&body, &len);

	if (f == NULL) {
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	for (int c = 0; c < 4; c++)
		s_csv_field(f, head[c], false);
	for (int m = 0; m < MEASURES; m++)
		s_csv_field(f, figure_name[m], false);
	s_csv_field(f, "coverage", true);
	json_array_foreach(rows, i, row) {
		for (int c = 0; c < 4; c++)
			s_csv_value(f, json_object_get(row, head[c]), false);
		for (int m = 0; m < MEASURES; m++)
			s_csv_value(f, json_object_get(row, figure_name[m]), false);
		s_csv_value(f, json_object_get(row, "coverage"), true);
	}
	if (fclose(f) != 0) {
		free(body);
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	http_respond_body(resp, 200, "text/csv; charset=utf-8", body, len);
}

/* Whether the client asked for CSV: a path ending in .csv, or Accept: text/csv. */
static bool
s_wants_csv(const struct http_request *req)
{
	const char *accept = http_header(req, "Accept");
	size_t n = strlen(req->path);

	return (n > 4 && strcmp(req->path + n - 4, ".csv") == 0) ||
	       (accept != NULL && strstr(accept, "text/csv") != NULL);
}

/* Reads and checks the parameters of /v1/aggregates; false with a 400 in resp. */
static bool
s_ask(struct reportd *r, const struct http_request *req, struct ask *ask, struct http_response *resp)
{
	char from[16], to[16];
	int f = r->current_day, t = r->current_day;

	api_param(req, "area", ask->area, sizeof(ask->area));
	api_param(req, "level", ask->level, sizeof(ask->level));
	api_param(req, "from", from, sizeof(from));
	api_param(req, "to", to, sizeof(to));
	if (!*ask->area)
		snprintf(ask->area, sizeof(ask->area), "4406");
	ask->want = *ask->level ? area_level_parse(ask->level) : area_level_of_code(ask->area);
	if (area_level_of_code(ask->area) == AREA_INVALID || ask->want == AREA_INVALID) {
		http_respond_error(resp, 400, "area must be an area code (4 to 15 digits), level city, "
		                   "district, town, community or grid");
		return false;
	}
	if ((*from && !validate_date(from, &f)) || (*to && !validate_date(to, &t))) {
		http_respond_error(resp, 400, "from and to must be dates YYYY-MM-DD");
		return false;
	}
	if (!*to)
		t = r->current_day;
	if (!*from)
		f = t;
	if (f > t) {
		http_respond_error(resp, 400, "from must not be after to");
		return false;
	}
	/* days to come have nothing yet: the answer stops at today */
	ask->from = f;
	ask->to = t > r->current_day ? r->current_day : t;
	if ((long)ask->to - ask->from >= FIGURES_DAYS_MAX) {
		http_respond_error(resp, 400, "at most 366 days in one request");
		return false;
	}
	return true;
}

/* Whether row i of t is asked for: under the area, at the level asked. */
static bool
s_asked(const struct day_table *t, size_t i, const struct ask *ask)
{
	const struct area *a = t->areas[i];

	return a->level == ask->want && strncmp(a->code, ask->area, strlen(ask->area)) == 0;
}

/* GET /v1/aggregates?area=&level=&from=&to= */
static void
s_aggregates(struct reportd *r, const struct http_request *req, struct http_response *resp)
{
	char from[CIVIL_TEXT_LEN + 1], to[CIVIL_TEXT_LEN + 1];
	struct ask ask = { 0 };
	json_t *rows;

	if (!s_ask(r, req, &ask, resp))
		return;
	rows = json_array();
	for (int32_t d = ask.from; d <= ask.to; d++) {
		const struct day_table *t = aggregate_day(r, d);

		if (t == NULL) {
			json_decref(rows);
			http_respond_db_down(resp);
			return;
		}
		for (size_t i = 0; i < t->n && json_array_size(rows) <= FIGURES_ROWS_MAX; i++)
			if (s_asked(t, i, &ask))
				json_array_append_new(rows, s_row(t, i));
	}
	if (json_array_size(rows) > FIGURES_ROWS_MAX) {
		json_decref(rows);
		http_respond_error(resp, 400, "more than 200000 rows: ask for fewer days or a higher level");
		return;
	}
	if (s_wants_csv(req)) {
		s_respond_csv(rows, resp);
		json_decref(rows);
		return;
	}
	report_day_text(ask.from, from);
	report_day_text(ask.to, to);
	http_respond_json(resp, 200, json_pack("{s:s, s:s, s:s, s:s, s:o}", "area", ask.area, "level",
	                                       area_level_name(ask.want), "from", from, "to", to,
	                                       "rows", rows));
}

/* GET /v1/coverage?area=: for each area one level below (a grid: itself), today's coverage. */
static void
s_coverage(struct reportd *r, const struct http_request *req, struct http_response *resp)
{
	const struct reportd_config *cfg = r->daemon->config;
	char area[AREA_CODE_MAX + 8];
	enum area_level level, want;
	const struct day_table *t;
	json_t *rows;

	api_param(req, "area", area, sizeof(area));
	if (!*area)
		snprintf(area, sizeof(area), "4406");
	level = area_level_of_code(area);
	if (level == AREA_INVALID) {
		http_respond_error(resp, 400, "area must be an area code (4 to 15 digits)");
		return;
	}
	want = level == AREA_GRID ? AREA_GRID : level + 1;
	if ((t = aggregate_day(r, r->current_day)) == NULL) {
		http_respond_db_down(resp);
		return;
	}
	rows = json_array();
	for (size_t i = 0; i < t->n; i++) {
		const struct figures *f = &t->pub[i];

		if (t->areas[i]->level != want || strncmp(t->areas[i]->code, area, strlen(area)) != 0)
			continue;
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}",
		        "code", t->areas[i]->code, "name", t->areas[i]->name,
		        "level", area_level_name(want),
		        "households_registered", s_figure(f, MEASURE_REGISTERED),
		        "households_not_reached", s_figure(f, MEASURE_NOT_REACHED),
		        "coverage", s_coverage_ratio(f)));
	}
	http_respond_json(resp, 200, json_pack("{s:s, s:I, s:o}", "area", area, "days",
	                                       (json_int_t)cfg->coverage_days, "rows", rows));
}

bool
figures_route(struct reportd *r, const struct http_request *req, struct http_response *resp)
{
	bool aggregates = strcmp(req->path, "/v1/aggregates") == 0 ||
	                  strcmp(req->path, "/v1/aggregates.csv") == 0;

	if (!aggregates && strcmp(req->path, "/v1/coverage") != 0)
		return false;
	if (strcmp(req->method, "GET") != 0)
		http_respond_error(resp, 405, "GET only");
	else if (aggregates)
		s_aggregates(r, req, resp);
	else
		s_coverage(r, req, resp);
	return true;
}
