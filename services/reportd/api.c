/*
 * reportd's HTTP API: aggregates as JSON, health and metrics. Every query
 * is constant SQL with parameters; area scoping is by code prefix.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "area.h"
#include "grow.h"
#include "dashboard.h"
#include "log.h"
#include "metrics.h"
#include "office.h"
#include "reportd.h"
#include "validate.h"

static const char SQL_AGGREGATES[] =
	"SELECT to_char(d.day, 'YYYY-MM-DD'), d.area_code, a.name, a.level, "
	"       d.screened, d.fevers, d.key_persons, d.high_risk "
	"FROM daily_aggregates d JOIN areas a ON a.code = d.area_code "
	"WHERE d.area_code LIKE $1 || '%' "
	"  AND (CASE WHEN $2 = '' THEN d.area_code = $1 ELSE a.level = $2 END) "
	"  AND ($3 = '' OR d.day >= $3::date) AND ($4 = '' OR d.day <= $4::date) "
	"ORDER BY d.day, d.area_code LIMIT 10000";

/* The areas under a root, down to a level: each with its parent, for a client to build the tree. */
static const char SQL_AREAS[] =
	"SELECT code, coalesce(parent, ''), level, name FROM areas "
	"WHERE code LIKE $1 || '%' AND length(code) <= $2::int ORDER BY code LIMIT 100000";

#define AGGREGATE_COLUMNS 8
static const char *const aggregate_names[AGGREGATE_COLUMNS] = {
	"day", "area", "name", "level", "screened", "fevers", "key_persons", "high_risk",
};

/* Reads an optional query parameter into buf; "" when absent (or too long to be valid). */
static void
s_param(const struct http_request *req, const char *key, char *buf, size_t len)
{
	if (http_query_param(req->query, key, buf, len) < 0)
		buf[0] = '\0';
}

/* Checks the parameters of /v1/aggregates; false with a 400 in resp. */
static bool
s_check_aggregate_params(const char *area, const char *level, const char *from, const char *to,
                         struct http_response *resp)
{
	int day;

	if (area_level_of_code(area) == AREA_INVALID) {
		http_respond_error(resp, 400, "area must be an area code (4 to 15 digits)");
		return false;
	}
	if (*level && area_level_parse(level) == AREA_INVALID) {
		http_respond_error(resp, 400, "level must be city, district, town, community or grid");
		return false;
	}
	if ((*from && !validate_date(from, &day)) || (*to && !validate_date(to, &day))) {
		http_respond_error(resp, 400, "from and to must be dates YYYY-MM-DD");
		return false;
	}
	return true;
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

/* One row of /v1/aggregates as its columns' text, from the table or from memory. */
struct agg_row {
	const char *col[AGGREGATE_COLUMNS];
	char day[11];
	char count[4][24];
};

/* The rows as CSV (RFC 4180, a header line first). */
static void
s_rows_csv(const struct agg_row *rows, size_t n, struct http_response *resp)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);

	if (f == NULL) {
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	for (int c = 0; c < AGGREGATE_COLUMNS; c++)
		s_csv_field(f, aggregate_names[c], c == AGGREGATE_COLUMNS - 1);
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < AGGREGATE_COLUMNS; c++)
			s_csv_field(f, rows[i].col[c], c == AGGREGATE_COLUMNS - 1);
	if (fclose(f) != 0) {
		free(body);
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	http_respond_body(resp, 200, "text/csv; charset=utf-8", body, len);
}

/* The rows as the JSON array of /v1/aggregates. */
static json_t *
s_rows_json(const struct agg_row *rows, size_t n)
{
	json_t *list = json_array();

	for (size_t i = 0; i < n; i++) {
		const char *const *c = rows[i].col;

		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}",
		        "day", c[0], "area", c[1], "name", c[2], "level", c[3],
		        "screened", (json_int_t)strtoll(c[4], NULL, 10),
		        "fevers", (json_int_t)strtoll(c[5], NULL, 10),
		        "key_persons", (json_int_t)strtoll(c[6], NULL, 10),
		        "high_risk", (json_int_t)strtoll(c[7], NULL, 10)));
	}
	return list;
}

/* Answers with the rows, as CSV or JSON; params are area, level, from, to. */
static void
s_respond_rows(const struct http_request *req, const char *const *params, const struct agg_row *rows,
               size_t n, struct http_response *resp)
{
	if (s_wants_csv(req))
		s_rows_csv(rows, n, resp);
	else
		http_respond_json(resp, 200, json_pack("{s:s, s:s, s:s, s:s, s:o}", "area", params[0],
		                                       "level", params[1], "from", params[2], "to",
		                                       params[3], "rows", s_rows_json(rows, n)));
}

/* Whether a cell belongs in the answer: under area, and area itself or of the level. */
static bool
s_cell_asked(const struct cell *c, const char *area, const char *level)
{
	if (strncmp(c->code, area, strlen(area)) != 0)
		return false;
	if (*level == '\0')
		return strcmp(c->code, area) == 0;
	return area_level_of_code(c->code) == area_level_parse(level);
}

/* A cell of today as a row; the row's own buffers are pointed at by s_point. */
static void
s_cell_row(struct reportd *r, const struct cell *c, struct agg_row *row)
{
	const struct area *a = r->areas ? area_find(r->areas, c->code) : NULL;
	const int64_t counts[4] = { c->screened, c->fevers, c->key_persons, c->high_risk };

	report_day_text(c->day, row->day);
	row->col[1] = c->code;
	row->col[2] = a != NULL ? a->name : "";
	row->col[3] = area_level_name(area_level_of_code(c->code));
	for (int i = 0; i < 4; i++)
		snprintf(row->count[i], sizeof(row->count[i]), "%lld", (long long)counts[i]);
}

/* Points a row built from memory at its own buffers (once the array has stopped moving). */
static void
s_point(struct agg_row *row)
{
	row->col[0] = row->day;
	for (int i = 0; i < 4; i++)
		row->col[4 + i] = row->count[i];
}

/* Rows by area code, as the table gives them. */
static int
s_by_area(const void *x, const void *y)
{
	return strcmp(((const struct agg_row *)x)->col[1], ((const struct agg_row *)y)->col[1]);
}

/*
 * Today's figures, answered from memory: every commit of reportd updates
 * them, so they are what the table holds, without a query per request.
 */
static void
s_aggregates_today(struct reportd *r, const struct http_request *req, const char *const *params,
                   struct http_response *resp)
{
	struct agg_row *rows = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < r->today.cap; i++) {
		const struct cell *c = &r->today.cells[i];

		if (!r->today.used[i] || !s_cell_asked(c, params[0], params[1]))
			continue;
		if (!grow((void **)&rows, &cap, n + 1, sizeof(*rows), 64)) {
			free(rows);
			http_respond_error(resp, 500, "out of memory");
			return;
		}
		s_cell_row(r, c, &rows[n++]);
	}
	if (n > 1)                           /* by code: the other columns are pointed at after */
		qsort(rows, n, sizeof(*rows), s_by_area);
	for (size_t i = 0; i < n; i++)
		s_point(&rows[i]);
	s_respond_rows(req, params, rows, n, resp);
	free(rows);
}

/* Whether the request asks for today only, and today is whole in memory. */
static bool
s_today_only(const struct reportd *r, const char *from, const char *to)
{
	int day;

	return r->current_loaded && *from && strcmp(from, to) == 0 && validate_date(from, &day) &&
	       day == r->current_day;
}

/* GET /v1/aggregates?area=&level=&from=&to= */
static void
s_aggregates(struct reportd *r, const struct http_request *req, struct http_response *resp)
{
	char area[AREA_CODE_MAX + 8], level[16], from[16], to[16];
	const char *params[4] = { area, level, from, to };
	struct agg_row *rows;
	PGresult *res;
	size_t n;

	s_param(req, "area", area, sizeof(area));
	s_param(req, "level", level, sizeof(level));
	s_param(req, "from", from, sizeof(from));
	s_param(req, "to", to, sizeof(to));
	if (!*area)
		snprintf(area, sizeof(area), "4406");
	if (!s_check_aggregate_params(area, level, from, to, resp))
		return;
	if (s_today_only(r, from, to)) {
		s_aggregates_today(r, req, params, resp);
		return;
	}
	res = db_query(r->daemon->db, "query aggregates", PGRES_TUPLES_OK, SQL_AGGREGATES, 4, params);
	if (res == NULL) {
		http_respond_db_down(resp);
		return;
	}
	n = (size_t)PQntuples(res);
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (rows == NULL) {
		PQclear(res);
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < AGGREGATE_COLUMNS; c++)
			rows[i].col[c] = PQgetvalue(res, (int)i, c);
	s_respond_rows(req, params, rows, n, resp);
	free(rows);
	PQclear(res);
}

/* GET /v1/areas?area=&depth=: the tree under an area (default the city), depth levels down (default 1). */
static void
s_areas(struct reportd *r, const struct http_request *req, struct http_response *resp)
{
	static const int code_len[] = { 4, 6, 9, 12, 15 };
	char area[AREA_CODE_MAX + 8], depth[8], maxlen[8];
	const char *params[2] = { area, maxlen };
	enum area_level level;
	long d = 1;
	PGresult *res;
	json_t *rows;

	s_param(req, "area", area, sizeof(area));
	s_param(req, "depth", depth, sizeof(depth));
	if (!*area)
		snprintf(area, sizeof(area), "4406");
	if (*depth)
		d = strtol(depth, NULL, 10);
	level = area_level_of_code(area);
	if (level == AREA_INVALID || d < 0 || d > 4) {
		http_respond_error(resp, 400, "area must be an area code, depth 0 to 4");
		return;
	}
	snprintf(maxlen, sizeof(maxlen), "%d", code_len[(int)level + d > 4 ? 4 : (int)level + d]);
	res = db_query(r->daemon->db, "query areas", PGRES_TUPLES_OK, SQL_AREAS, 2, params);
	if (res == NULL) {
		http_respond_db_down(resp);
		return;
	}
	rows = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s}", "code", PQgetvalue(res, i, 0),
		                                      "parent", PQgetvalue(res, i, 1), "level",
		                                      PQgetvalue(res, i, 2), "name", PQgetvalue(res, i, 3)));
	PQclear(res);
	http_respond_json(resp, 200, json_pack("{s:s, s:o}", "area", area, "areas", rows));
}

/* The command office's figures: snapshot requests, live streams, webhooks. */
static void
s_office_metrics(struct reportd *r, FILE *f)
{
	struct webhook_stats w = { 0 };

	if (r->hub.hooks != NULL)
		webhooks_stats(r->hub.hooks, &w);
	metrics_counter(f, "gridwall_report_snapshot_requests_total", "Clone snapshot requests answered.",
	                r->snapshot_requests);
	metrics_counter(f, "gridwall_report_snapshot_refused_total", "Clone snapshot requests refused.",
	                r->snapshot_refused);
	metrics_gauge(f, "gridwall_report_streams", "Open alert streams (Server-Sent Events).",
	              (double)r->hub.n);
	metrics_counter(f, "gridwall_report_stream_events_total", "Events written to alert streams.",
	                r->hub.events_sent);
	metrics_counter(f, "gridwall_webhook_delivered_total", "Webhook deliveries answered 2xx.",
	                w.delivered);
	metrics_counter(f, "gridwall_webhook_failed_total", "Webhook attempts that failed (retried).",
	                w.failed);
	metrics_counter(f, "gridwall_webhook_given_up_total", "Webhook deliveries given up.", w.given_up);
	metrics_counter(f, "gridwall_webhook_dropped_total", "Webhook deliveries dropped (queue full).",
	                w.dropped);
	metrics_gauge(f, "gridwall_webhook_queued", "Webhook deliveries waiting.", (double)w.queued);
}

/* GET /healthz */
static void
s_health(struct reportd *r, struct http_response *resp)
{
	bool up = db_conn(r->daemon->db) != NULL;

	http_respond_json(resp, up ? 200 : 503,
	       json_pack("{s:s, s:s, s:I}", "status", up ? "ok" : "degraded",
	                 "database", up ? "up" : "down",
	                 "watermark", (json_int_t)r->consumer.watermark));
}

/* GET /metrics in the Prometheus text format. */
static void
s_metrics(struct reportd *r, struct http_response *resp)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);

	if (f == NULL) {
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	metrics_counter(f, "gridwall_report_applied_total", "Screenings counted into the aggregates.",
	                r->consumer.applied);
	metrics_gauge(f, "gridwall_report_watermark", "Last screening id counted.",
	              (double)r->consumer.watermark);
	metrics_counter(f, "gridwall_report_snapshots_total", "Aggregate snapshots published.",
	                r->snapshots_published);
	metrics_counter(f, "gridwall_report_http_requests_total", "HTTP requests served.", r->http_requests);
	metrics_counter(f, "gridwall_db_reconnects_total", "Database reconnections.",
	                db_reconnects(r->daemon->db));
	s_office_metrics(r, f);
	fclose(f);
	http_respond_body(resp, 200, METRICS_CONTENT_TYPE, body, len);
}

void
api_handle(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct reportd *r = arg;

	r->http_requests++;
	if (office_route(r, req, resp))
		return;
	if (dashboard_route(r, req, resp))
		return;
	if (coverage_route(r, req, resp))
		return;
	if (strcmp(req->method, "GET") != 0) {
		http_respond_error(resp, 405, "only GET is served here");
		return;
	}
	if (strcmp(req->path, "/v1/aggregates") == 0 || strcmp(req->path, "/v1/aggregates.csv") == 0)
		s_aggregates(r, req, resp);
	else if (strcmp(req->path, "/v1/areas") == 0)
		s_areas(r, req, resp);
	else if (strcmp(req->path, "/healthz") == 0)
		s_health(r, resp);
	else if (strcmp(req->path, "/metrics") == 0)
		s_metrics(r, resp);
	else
		http_respond_error(resp, 404, "no such resource");
}
