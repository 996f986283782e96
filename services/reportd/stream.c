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

/* Sends one event to every stream whose area covers grid. */
static void
s_broadcast(struct stream_hub *hub, const char *grid, const char *event, json_t *doc)
{
	char *data = json_dumps(doc, JSON_COMPACT);
	char *text = NULL;
	int len;

	if (data == NULL)
		return;
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

	for (size_t i = 0; i < hub->n; i++)
		http_stream_write(hub->clients[i].stream, ping, sizeof(ping) - 1);
	s_sweep(hub);
}

int
stream_start(struct stream_hub *hub, uv_loop_t *loop, struct bus *bus, const char *alerts_endpoint)
{
	struct webhooks *hooks = hub->hooks;

	memset(hub, 0, sizeof(*hub));
	hub->hooks = hooks;
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
stream_open(struct stream_hub *hub, const struct http_request *req, const char *area)
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
