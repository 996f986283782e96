/*
 * Live alerts for the command office: GET /v1/alerts/stream answers with
 * Server-Sent Events that stay open. reportd subscribes to rulesd's alert
 * feed; each new alert is sent as an "alert" event to every stream whose
 * token's area covers the alert's grid, and each change an office makes
 * (acknowledged, assigned, resolved) as a "state" event. A comment line
 * every heartbeat keeps proxies from closing a quiet stream and finds the
 * clients that have gone. The same events go to the configured webhooks
 * (webhook.c), which queue and retry them without ever blocking the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "grow.h"
#include "log.h"
#include "record_json.h"
#include "stream.h"

#define HEARTBEAT_MS 15000
#define RETRY_MS 2000
#define TOKEN_CHECK_MS 1000

/* Which of the streams' tokens are still good: neither revoked nor expired. */
static const char SQL_TOKENS_GOOD[] =
	"SELECT id FROM staff_tokens WHERE id = ANY($1::bigint[]) "
	"AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())";

/* Ends the streams whose client has gone, keeping the others in order. */
static void
s_sweep(struct stream_hub *hub)
{
	size_t kept = 0;

	for (size_t i = 0; i < hub->n; i++) {
		if (http_stream_alive(hub->clients[i].stream))
			hub->clients[kept++] = hub->clients[i];
		else
			http_stream_end(hub->clients[i].stream);
	}
	hub->n = kept;
}

/* The streams' token ids as a PostgreSQL array literal ("{1,2}"), or NULL. */
static char *
s_token_ids(const struct stream_hub *hub)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < hub->n; i++)
		fprintf(f, "%s%lld", i ? "," : "{", (long long)hub->clients[i].token_id);
	fputc('}', f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Whether the token id is among the rows of res. */
static bool
s_token_listed(const PGresult *res, int64_t id)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (strtoll(PQgetvalue(res, i, 0), NULL, 10) == id)
			return true;
	return false;
}

/*
 * Ends the streams whose token was revoked or has expired since they were
 * opened. Checked every heartbeat, and before an event once the last check
 * is TOKEN_CHECK_MS old, so a revoked token is sent nothing a second after
 * its revocation. While the database is away the streams go on.
 */
static void
s_check_tokens(struct stream_hub *hub, bool now)
{
	uint64_t t = uv_now(hub->loop);
	const char *params[1];
	size_t kept = 0;
	PGresult *res;
	char *ids;

	if (hub->n == 0 || hub->db == NULL || (!now && t - hub->tokens_checked_ms < TOKEN_CHECK_MS))
		return;
	hub->tokens_checked_ms = t;
	if ((ids = s_token_ids(hub)) == NULL)
		return;
	params[0] = ids;
	res = db_query(hub->db, "check stream tokens", PGRES_TUPLES_OK, SQL_TOKENS_GOOD, 1, params);
	free(ids);
	if (res == NULL)
		return;
	for (size_t i = 0; i < hub->n; i++) {
		if (s_token_listed(res, hub->clients[i].token_id)) {
			hub->clients[kept++] = hub->clients[i];
		} else {
			log_info("alert stream of token %lld ended: revoked or expired",
			         (long long)hub->clients[i].token_id);
			http_stream_end(hub->clients[i].stream);
		}
	}
	hub->n = kept;
	PQclear(res);
}

/* Sends one event to every stream whose area covers grid (and whose token is still good). */
static void
s_broadcast(struct stream_hub *hub, const char *grid, const char *event, json_t *doc)
{
	char *data = json_dumps(doc, JSON_COMPACT);
	char *text = NULL;
	int len;

	if (data == NULL)
		return;
	s_check_tokens(hub, false);
	if (hub->hooks != NULL)
		webhooks_post(hub->hooks, grid, event, data);
	len = asprintf(&text, "event: %s\ndata: %s\n\n", event, data);
	free(data);
	if (len < 0)
		return;
	for (size_t i = 0; i < hub->n; i++) {
		const struct stream_client *c = &hub->clients[i];

		if (strncmp(grid, c->area, strlen(c->area)) == 0 &&
		    http_stream_write(c->stream, text, (size_t)len))
			hub->events_sent++;
	}
	free(text);
	s_sweep(hub);
}

void
stream_state_changed(struct stream_hub *hub, const char *grid, json_t *alert)
{
	s_broadcast(hub, grid, "state", alert);
}

/* One alert from rulesd: [grid][RiskAlert]. */
static void
s_on_alert(void *arg, struct bus_socket *sock, struct bus_msg *msg)
{
	struct stream_hub *hub = arg;
	Gridwall__V1__RiskAlert *a;
	json_t *doc;

	(void)sock;
	if (msg->nframes != 2)
		return;
	a = gridwall__v1__risk_alert__unpack(NULL, bus_frame_size(msg, 1), bus_frame_data(msg, 1));
	if (a == NULL || a->grid_code == NULL) {
		log_warn("undecodable alert of %zu bytes dropped", bus_frame_size(msg, 1));
		if (a != NULL)
			gridwall__v1__risk_alert__free_unpacked(a, NULL);
		return;
	}
	doc = risk_alert_to_json(a);
	if (doc != NULL)
		s_broadcast(hub, a->grid_code, "alert", doc);
	json_decref(doc);
	gridwall__v1__risk_alert__free_unpacked(a, NULL);
}

/* Every heartbeat: a comment to every stream; the gone ones are ended. */
static void
s_heartbeat_cb(uv_timer_t *t)
{
	struct stream_hub *hub = t->data;
	static const char ping[] = ": ping\n\n";

	s_check_tokens(hub, true);
	for (size_t i = 0; i < hub->n; i++)
		http_stream_write(hub->clients[i].stream, ping, sizeof(ping) - 1);
	s_sweep(hub);
}

int
stream_start(struct stream_hub *hub, uv_loop_t *loop, struct bus *bus, const char *alerts_endpoint,
             struct db *db)
{
	struct webhooks *hooks = hub->hooks;

	memset(hub, 0, sizeof(*hub));
	hub->hooks = hooks;
	hub->loop = loop;
	hub->db = db;
	hub->alerts = bus_socket_new(bus, ZMQ_SUB, "alerts", 0);
	if (hub->alerts == NULL ||
	    zmq_setsockopt(bus_socket_zmq(hub->alerts), ZMQ_SUBSCRIBE, "", 0) != 0 ||
	    bus_connect(hub->alerts, alerts_endpoint) != 0 ||
	    bus_socket_watch(hub->alerts, s_on_alert, hub) != 0)
		return -1;
	uv_timer_init(loop, &hub->heartbeat);
	hub->heartbeat.data = hub;
	uv_timer_start(&hub->heartbeat, s_heartbeat_cb, HEARTBEAT_MS, HEARTBEAT_MS);
	hub->started = true;
	return 0;
}

bool
stream_open(struct stream_hub *hub, const struct http_request *req, const char *area,
            int64_t token_id)
{
	struct http_stream *s;
	char hello[64];
	int n;

	if (!grow((void **)&hub->clients, &hub->cap, hub->n + 1, sizeof(*hub->clients), 16) ||
	    (s = http_stream_begin(req, "text/event-stream; charset=utf-8")) == NULL)
		return false;
	n = snprintf(hello, sizeof(hello), "retry: %d\n: connected\n\n", RETRY_MS);
	http_stream_write(s, hello, (size_t)n);
	hub->clients[hub->n].stream = s;
	snprintf(hub->clients[hub->n].area, sizeof(hub->clients[hub->n].area), "%s", area);
	hub->clients[hub->n].token_id = token_id;
	hub->n++;
	return true;
}

void
stream_stop(struct stream_hub *hub)
{
	for (size_t i = 0; i < hub->n; i++)
		http_stream_end(hub->clients[i].stream);
	free(hub->clients);
	hub->clients = NULL;
	hub->n = hub->cap = 0;
	bus_socket_close(&hub->alerts);
	if (hub->started)
		uv_close((uv_handle_t *)&hub->heartbeat, NULL);
	hub->started = false;
}
