/*
 * reportd: keeps per-area, per-day counts from the assessed record events
 * (effects and watermark in one transaction), publishes them as
 * AggregateSnapshot messages, and serves them over HTTP.
 */
#ifndef GRIDWALL_REPORTD_H
#define GRIDWALL_REPORTD_H

#include <stdbool.h>
#include <stdint.h>

#include "area.h"
#include "consumer.h"
#include "daemon.h"
#include "http.h"

struct reportd_config {
	struct daemon_config shared;
	char *http_listen;
	long batch_max;
	long flush_delay_ms;
	long catch_up_interval_ms;
	long snapshot_interval_ms;
	long full_snapshot_interval_ms;
	long day_utc_offset_min;
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
	struct area_tree *areas;
	struct consumer consumer;
	struct counted *batch;
	size_t nbatch, cap_batch;
	struct cell_map deltas;           /* of the batch being committed */
	struct cell_map changed;          /* totals changed since the last snapshot tick */
	uv_timer_t snapshot_timer;
	uint64_t seq;
	uint64_t snapshots_published;
	uint64_t last_full_ms;
	uint64_t http_requests;
};

/* aggregate.c: the consumer's table reads and commits. */
extern const struct consumer_ops reportd_consumer;
/* The local day of a Unix time. */
int32_t report_day(int64_t t, long utc_offset_min);
bool batch_add(struct reportd *r, const struct counted *c);

/* feed.c: snapshots on ZeroMQ. */
void feed_start(struct reportd *r);
void feed_stop(struct reportd *r);

/* api.c: the HTTP API. */
void api_handle(void *arg, const struct http_request *req, struct http_response *resp);

/* Formats day (since 1970-01-01) as YYYY-MM-DD into buf[11]. */
void report_day_text(int32_t day, char *buf);

#endif
