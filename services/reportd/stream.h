/* reportd's live alert streams (stream.c): Server-Sent Events per token area. */
#ifndef GRIDWALL_REPORTD_STREAM_H
#define GRIDWALL_REPORTD_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "area.h"
#include "bus.h"
#include "db.h"
#include "http.h"
#include "webhook.h"

struct stream_client {
	struct http_stream *stream;
	char area[AREA_CODE_MAX];        /* the events it may see: a code prefix */
	int64_t token_id;                /* the staff token it was opened with */
};

struct stream_hub {
	struct bus_socket *alerts;       /* SUB to rulesd's alert feed */
	uv_timer_t heartbeat;
	bool started;
	struct stream_client *clients;
	size_t n, cap;
	uint64_t events_sent;
	struct webhooks *hooks;          /* the same events to the office's bots, or NULL */
	uv_loop_t *loop;
	struct db *db;                   /* where the streams' tokens are checked again */
	uint64_t tokens_checked_ms;      /* loop time of the last check */
};

/* Subscribes to the alert feed and starts the heartbeat; -1 on failure. */
int stream_start(struct stream_hub *hub, uv_loop_t *loop, struct bus *bus, const char *alerts_endpoint,
                 struct db *db);
/*
 * Answers req with a stream of the events of area, for the staff token
 * token_id; false if it cannot (resp is then to fill). The stream ends once
 * its token is revoked or expires.
 */
bool stream_open(struct stream_hub *hub, const struct http_request *req, const char *area,
                 int64_t token_id);
/* Tells the streams covering grid that an office changed an alert (the alert as JSON). */
void stream_state_changed(struct stream_hub *hub, const char *grid, json_t *alert);
/* Ends every stream and closes the subscription. */
void stream_stop(struct stream_hub *hub);

#endif
