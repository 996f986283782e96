/*
 * Webhooks for the command office's messaging bots (docs/webhooks.md): the
 * alerts and state changes of an area are POSTed as JSON to the URLs of a
 * hooks file, through a libcurl multi handle driven by the daemon's libuv
 * loop. A delivery that fails is retried with backoff; nothing here blocks
 * the loop, and a full queue drops its oldest deliveries.
 */
#ifndef GRIDWALL_REPORTD_WEBHOOK_H
#define GRIDWALL_REPORTD_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define WEBHOOK_ATTEMPTS        8        /* attempts of one delivery, then it is given up */
#define WEBHOOK_BACKOFF_MS      1000     /* wait before the first retry, doubled after each */
#define WEBHOOK_BACKOFF_MAX_MS  60000    /* the longest wait between two attempts */
#define WEBHOOK_TIMEOUT_MS      5000     /* one attempt, connection included */
#define WEBHOOK_MAX_QUEUED      10000    /* deliveries waiting or in flight, in all */
#define WEBHOOK_MAX_IN_FLIGHT   16       /* requests at once, in all; one per URL */

struct webhooks;

/* Counters for /metrics; the first four only grow. */
struct webhook_stats {
	uint64_t delivered;              /* deliveries answered 2xx */
	uint64_t failed;                 /* attempts that failed (status, connection, timeout) */
	uint64_t given_up;               /* deliveries abandoned after the last attempt */
	uint64_t dropped;                /* deliveries dropped unsent from a full queue */
	size_t queued;                   /* deliveries waiting or in flight now */
	size_t in_flight;                /* requests in flight now */
	size_t hooks;                    /* lines "AREA_CODE URL" of the hooks file */
};

/*
 * Reads the hooks file (lines "AREA_CODE URL", the settings lines of
 * docs/webhooks.md such as "attempts 3", '#' comments, blank lines; a bad
 * line is an error naming file:line) and sets up the libcurl multi handle
 * on the loop. path NULL starts with no hooks. NULL with err set on failure.
 */
struct webhooks *webhooks_new(uv_loop_t *loop, const char *path, char *err, size_t errlen);

/*
 * Replaces the hooks and settings from the file (SIGHUP). What is queued
 * for a URL still in the file stays queued; what is queued or in flight
 * for a URL no longer in it is dropped (and counted). On error keeps the
 * old ones and returns false with err set.
 */
bool webhooks_reload(struct webhooks *w, const char *path, char *err, size_t errlen);

/*
 * Queues the event for every URL with a hook whose area is a prefix of grid
 * (once per URL): POST body = json text (copied), Content-Type
 * application/json, header "X-Gridwall-Event: EVENT" (EVENT "alert" or
 * "state": lower-case letters and '_' only). Never blocks; beyond
 * max_queued deliveries the oldest not in flight are dropped and counted.
 */
void webhooks_post(struct webhooks *w, const char *grid, const char *event, const char *json);

/* The counters, for /metrics. */
void webhooks_stats(const struct webhooks *w, struct webhook_stats *out);

/*
 * Cancels what is in flight, drops what is queued, and frees everything
 * once libuv has closed the handles (the loop must run on for that, as
 * after http_server_close). Sets *w to NULL; NULL is allowed.
 */
void webhooks_free(struct webhooks **w);

/* The wait before the retry that follows the failures-th failed attempt (1, 2, ...). */
unsigned webhooks_backoff_ms(unsigned first_ms, unsigned max_ms, unsigned failures);

#endif
