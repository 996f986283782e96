/*
 * reportd's HTTP API: the routes, the area tree, health and metrics. Every
 * query is constant SQL with parameters; area scoping is by code prefix.
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

/* The areas under a root, down to a level: each with its parent, for a client to build the tree. */
static const char SQL_AREAS[] =
	"SELECT code, coalesce(parent, ''), level, name FROM areas "
	"WHERE code LIKE $1 || '%' AND length(code) <= $2::int ORDER BY code LIMIT 100000";

void
api_param(const struct http_request *req, const char *key, char *buf, size_t len)
{
	if (http_query_param(req->query, key, buf, len) < 0)
		buf[0] = '\0';
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

	api_param(req, "area", area, sizeof(area));
	api_param(req, "depth", depth, sizeof(depth));
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
	metrics_gauge(f, "gridwall_report_alerts_watermark", "Last alert id counted.",
	              (double)r->alerts_watermark);
	metrics_gauge(f, "gridwall_report_households_watermark", "Last household id counted as registered.",
	              (double)r->households_watermark);
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
	if (figures_route(r, req, resp))
		return;
	if (strcmp(req->method, "GET") != 0) {
		http_respond_error(resp, 405, "only GET is served here");
		return;
	}
	if (strcmp(req->path, "/v1/areas") == 0)
		s_areas(r, req, resp);
	else if (strcmp(req->path, "/healthz") == 0)
		s_health(r, resp);
	else if (strcmp(req->path, "/metrics") == 0)
		s_metrics(r, resp);
	else
		http_respond_error(resp, 404, "no such resource");
}
