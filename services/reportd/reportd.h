/*
 * reportd: keeps per-area, per-day counts from the assessed record events
 * (effects and watermark in one transaction), publishes them as
 * AggregateSnapshot messages, answers snapshot requests for late
 * subscribers (the Clone pattern), and serves them over HTTP.
 */
#ifndef GRIDWALL_REPORTD_H
#define GRIDWALL_REPORTD_H

#include <stdbool.h>
#include <stdint.h>

#include "area.h"
#include "consumer.h"
#include "daemon.h"
#include "http.h"
#include "stream.h"

struct reportd_config {
	struct daemon_config shared;
	char *http_listen;
	long batch_max;
	long flush_delay_ms;
	long catch_up_interval_ms;
	long snapshot_interval_ms;
	long full_snapshot_interval_ms;
	long day_utc_offset_min;
	char *snapshot_endpoint;
	char *webhooks;
	char *dashboard_dir;
};

/* One assessed screening, as reportd counts it. The id comes first (consumer.h). */
struct counted {
	int64_t id;
	int32_t day;                  /* local day since 1970-01-01 */
	char grid[AREA_CODE_MAX];
	bool fever;
	int level;                    /* Gridwall__V1__RiskLevel */
};

/* Counts of one area on one day. */
struct cell {
	int32_t day;
	char code[AREA_CODE_MAX];
	int64_t screened, fevers, key_persons, high_risk;
	uint64_t seq;                 /* in `current`: the feed update that last set it */
};

/* A small open-addressing map of cells keyed by (day, code). */
struct cell_map {
	struct cell *cells;
	bool *used;
	size_t cap, n;
};

bool cell_map_add(struct cell_map *m, const struct cell *delta);
void cell_map_put(struct cell_map *m, const struct cell *value);
void cell_map_clear(struct cell_map *m);
void cell_map_free(struct cell_map *m);

struct reportd {
	struct daemon *daemon;
	struct bus_socket *assessed;      /* PULL from rulesd */
	struct bus_socket *feed;          /* PUB of snapshots */
	struct http_server *http;
	struct stream_hub hub;            /* live alert streams of the command office */
	struct area_tree *areas;
	struct consumer consumer;
	struct counted *batch;
	size_t nbatch, cap_batch;
	struct cell_map deltas;           /* of the batch being committed */
	struct cell_map changed;          /* totals changed since the last snapshot tick */
	uv_timer_t snapshot_timer;
	uint64_t seq;                     /* of the last update published on the feed */
	uint64_t snapshots_published;
	uint64_t last_full_ms;
	uint64_t http_requests;
	/* clone.c: the snapshot ROUTER and the state it answers from. */
	struct bus_socket *snapshot;      /* ROUTER of SnapshotRequests */
	struct cell_map current;          /* the current day's totals as published (or loaded) */
	struct cell_map today;            /* and as committed: HTTP answers the current day from it */
	int32_t current_day;              /* the local day `current` holds */
	bool current_loaded;              /* `current` holds the whole day, read from the table */
	uint64_t snapshot_requests;       /* SnapshotRequests received */
	uint64_t snapshot_refused;        /* of which answered with an error */
	uint64_t snapshot_undelivered;    /* replies ZeroMQ could not queue (peer gone, high-water mark) */
};

/* aggregate.c: the consumer's table reads and commits. */
extern const struct consumer_ops reportd_consumer;
/* The local day of a Unix time. */
int32_t report_day(int64_t t, long utc_offset_min);
bool batch_add(struct reportd *r, const struct counted *c);

/* feed.c: snapshots on ZeroMQ. */
void feed_start(struct reportd *r);
void feed_stop(struct reportd *r);

/*
 * clone.c: the Clone pattern (docs/protocol.md). A ROUTER answers each
 * SnapshotRequest with the cells of a day under an area prefix and the seq
 * of the last feed update, from `current` for the current day and from
 * daily_aggregates for any other.
 */
#define CLONE_CHUNK_CELLS    1000     /* snapshots per reply frame */
#define CLONE_MAX_CELLS      200000   /* cells in one reply, at most (TOO_LARGE beyond) */
#define CLONE_MAX_REQUEST    1024     /* bytes of a request frame (ZMQ_MAXMSGSIZE) */
#define CLONE_SNDHWM         16       /* replies queued per peer (ZMQ_SNDHWM) */
/* Binds the ROUTER and starts answering; -1 (logged) on failure. */
int clone_start(struct reportd *r);
/* Closes the ROUTER and frees `current`; safe when clone_start never ran. */
void clone_stop(struct reportd *r);
/* Database up, or from the tick: (re)loads `current` when it is not the whole of today. */
void clone_refresh(struct reportd *r);
/* A cell was published with seq c->seq: `current` follows it. */
void clone_published(struct reportd *r, const struct cell *c);

/* api.c: the HTTP API. */
void api_handle(void *arg, const struct http_request *req, struct http_response *resp);

/* Formats day (since 1970-01-01) as YYYY-MM-DD into buf[11]. */
void report_day_text(int32_t day, char *buf);

#endif
