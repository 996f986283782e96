/*
 * The HTTP intake, for the self-declaration page and mini-programs:
 * POST /v1/screenings with a JSON array of records or NDJSON (one record a
 * line), answered after COMMIT with one result per record, exactly as on
 * ZeroMQ. Also GET /healthz and GET /metrics. Malformed JSON is a 400 that
 * says where; too many records a 413; the database away a 503 with
 * Retry-After (from the group, so answers stay in order).
 */
#include <stdlib.h>
#include <string.h>

#include "ingestd.h"
#include "log.h"
#include "record_json.h"

/* Builds the submission of a parsed body: one record per element. */
static struct submission *
s_submission(json_t *doc, json_t *errors)
{
	size_t n = json_array_size(doc);
	struct submission *sub = submission_new(n, ORIGIN_HTTP);

	if (sub == NULL)
		return NULL;
	sub->json = doc;
	sub->json_recs = calloc(n ? n : 1, sizeof(*sub->json_recs));
	if (sub->json_recs == NULL) {
		submission_free(sub);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		sub->recs[i] = &sub->json_recs[i];
		if (record_from_body(doc, errors, i, &sub->json_recs[i], &sub->verr[i]))
			sub->verr[i].code = NULL;
	}
	return sub;
}

/* POST /v1/screenings */
static void
s_screenings(struct ingestd *in, const struct http_request *req, struct http_response *resp)
{
	const struct ingest_config *cfg = in->daemon->config;
	json_t *errors = NULL, *doc;
	struct submission *sub;
	char msg[256];

	doc = record_json_parse_body(req->body, req->body_len, &errors, msg, sizeof(msg));
	if (doc == NULL) {
		http_respond_error(resp, 400, msg);
		goto out;
	}
	if (json_array_size(doc) > (size_t)cfg->max_batch_records) {
		snprintf(msg, sizeof(msg), "%zu records is over the limit of %ld per request",
		         json_array_size(doc), cfg->max_batch_records);
		http_respond_error(resp, 413, msg);
		json_decref(doc);
		goto out;
	}
	sub = s_submission(doc, errors);
	if (sub == NULL) {
		json_decref(doc);
		http_respond_error(resp, 503, "out of memory");
		goto out;
	}
	sub->http = http_defer(req);
	if (sub->http == NULL) {
		submission_free(sub);
		http_respond_error(resp, 503, "cannot defer the answer");
		goto out;
	}
	group_submit(in, sub);
out:
	json_decref(errors);
}

/* GET /healthz */
static void
s_health(struct ingestd *in, struct http_response *resp)
{
	bool up = db_conn(in->daemon->db) != NULL && in->areas != NULL;

	http_respond_json(resp, up ? 200 : 503,
	       json_pack("{s:s, s:s, s:I}", "status", up ? "ok" : "degraded", "database", up ? "up" : "down",
	                 "inflight", (json_int_t)in->inflight));
}

/* GET /metrics, in the Prometheus text format. */
static void
s_metrics(struct ingestd *in, struct http_response *resp)
{
	const struct ingest_stats *st = &in->stats;
	const char *const *codes;
	size_t ncodes;
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);

	if (f == NULL) {
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	metrics_counter(f, "gridwall_ingest_accepted_total", "Records stored.", st->accepted);
	metrics_counter(f, "gridwall_ingest_duplicate_total", "Records answered duplicate.", st->duplicate);
	metrics_family(f, "gridwall_ingest_rejected_total", "counter", "Records rejected, by code.");
	codes = ingest_counted_codes(&ncodes);
	for (size_t i = 0; i < ncodes; i++)
		metrics_labelled(f, "gridwall_ingest_rejected_total", "code", codes[i], st->rejected_by_code[i]);
	metrics_family(f, "gridwall_ingest_requests_total", "counter", "Requests received, by channel.");
	metrics_labelled(f, "gridwall_ingest_requests_total", "channel", "zmq", st->requests_zmq);
	metrics_labelled(f, "gridwall_ingest_requests_total", "channel", "http", st->requests_http);
	metrics_counter(f, "gridwall_ingest_batches_total", "Groups committed.", st->groups);
	metrics_counter(f, "gridwall_ingest_retry_later_total", "Requests answered retry later.", st->retry_later);
	metrics_counter(f, "gridwall_ingest_bad_requests_total", "Requests refused whole.", st->bad_requests);
	metrics_counter(f, "gridwall_ingest_group_fallbacks_total",
	                "Groups stored record by record after a data error.", st->fallbacks);
	metrics_counter(f, "gridwall_ingest_plans_prepared_total",
	                "Times the group statements were prepared (each connection, then as the tables grow).",
	                st->plans_prepared);
	metrics_counter(f, "gridwall_ingest_events_dropped_total",
	                "Record events not queued for rulesd (it catches up).", st->events_dropped);
	metrics_gauge(f, "gridwall_ingest_inflight_records", "Records accepted for storing, not yet answered.",
	              (double)in->inflight);
	metrics_counter(f, "gridwall_db_reconnects_total", "Database reconnections.",
	                db_reconnects(in->daemon->db));
	if (in->zap != NULL) {
		metrics_counter(f, "gridwall_ingest_handshakes_admitted_total",
		                "Device handshakes admitted (security = curve).", zap_admitted(in->zap));
		metrics_counter(f, "gridwall_ingest_handshakes_refused_total",
		                "Device handshakes refused: unlisted or revoked keys.", zap_refused(in->zap));
		metrics_gauge(f, "gridwall_ingest_devices_listed", "Devices in the allowlist.",
		              (double)zap_device_count(in->zap));
	}
	metrics_histogram(f, "gridwall_ingest_batch_records", "Valid records per committed group.",
	                  &st->group_size);
	metrics_histogram(f, "gridwall_ingest_commit_ms", "Time to store and commit a group.", &st->commit_ms);
	metrics_histogram(f, "gridwall_ingest_ack_ms", "Time from a request's arrival to its answer.",
	                  &st->ack_ms);
	fclose(f);
	http_respond_body(resp, 200, METRICS_CONTENT_TYPE, body, len);
}

void
intake_http_request(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct ingestd *in = arg;
	bool post = strcmp(req->method, "POST") == 0, get = strcmp(req->method, "GET") == 0;

	if (strcmp(req->path, "/v1/screenings") == 0 && post) {
		in->stats.requests_http++;
		s_screenings(in, req, resp);
	} else if (strcmp(req->path, "/healthz") == 0 && get) {
		s_health(in, resp);
	} else if (strcmp(req->path, "/metrics") == 0 && get) {
		s_metrics(in, resp);
	} else if (strcmp(req->path, "/v1/screenings") == 0 || strcmp(req->path, "/healthz") == 0 ||
	           strcmp(req->path, "/metrics") == 0) {
		http_respond_error(resp, 405, "method not allowed");
	} else {
		http_respond_error(resp, 404, "no such resource");
	}
}
