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
#include "codec.h"
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
	long suppress_below;
	long coverage_days;
};

/* One assessed screening, as reportd counts it. The id comes first (consumer.h). */
struct counted {
	int64_t id;
	int32_t day;                  /* local day since 1970-01-01 */
	char grid[AREA_CODE_MAX];
	bool fever;
	int64_t person_id;
	int64_t household_id;         /* 0 when none */
};

/*
 * The figures of an area and a day (docs/aggregates.md), in the order of
 * their columns in daily_aggregates. The first ones are what happened that
 * day; from MEASURE_REGISTERED on they stand at the day's end, and the
 * table keeps their change per day. In published figures the slot of
 * MEASURE_COVERED holds the households NOT reached (registered - covered).
 */
enum measure {
	MEASURE_SCREENINGS,
	MEASURE_PERSONS,
	MEASURE_HOUSEHOLDS,
	MEASURE_FEVERS,
	MEASURE_NEW_ALERTS,
	MEASURE_RELEASED,
	MEASURE_REGISTERED,
	MEASURE_COVERED,
	MEASURE_OBSERVED,
	MEASURE_HIGH_OPEN,
	MEASURES
};
#define MEASURE_FIRST_LEVEL MEASURE_REGISTERED
#define MEASURE_NOT_REACHED MEASURE_COVERED

/* daily_aggregates' column of each measure, and each published figure's name. */
extern const char *const measure_column[MEASURES];
extern const char *const figure_name[MEASURES];

/* Counts of one area on one day: changes of a batch, keyed by (day, code). */
struct cell {
	int32_t day;
	char code[AREA_CODE_MAX];
	int64_t v[MEASURES];
};

/* A small open-addressing map of cells keyed by (day, code). */
struct cell_map {
	struct cell *cells;
	bool *used;
	size_t cap, n;
};

bool cell_map_add(struct cell_map *m, const struct cell *delta);
void cell_map_clear(struct cell_map *m);
void cell_map_free(struct cell_map *m);
/* Adds one to measure m of grid and of every area above it that the tree holds. */
bool cell_map_count(struct cell_map *m, const struct area_tree *areas, int32_t day,
                    const char *grid, enum measure measure, int64_t n);

/* An area's figures as published: withheld ones have their bit set. */
struct figures {
	int64_t v[MEASURES];
	uint32_t withheld;            /* bit m: figure m is withheld */
	uint64_t seq;                 /* on the feed: the update that last published it */
};

/*
 * One day of every area of the tree, by code (daytab.c). rows hold the
 * counts as the table sums them; pub the figures as published, once
 * daytab_publish has run on them.
 */
struct day_table {
	int32_t day;
	size_t n;
	const struct area **areas;    /* by code */
	int32_t *parent;              /* row of the parent, -1 for a root */
	int64_t (*rows)[MEASURES];
	struct figures *pub;
	bool dirty;                   /* rows changed since pub was worked out */
};

struct day_table *daytab_new(const struct area_tree *areas, int32_t day);
void daytab_free(struct day_table **t);
/* The row of code, or -1. */
long daytab_find(const struct day_table *t, const char *code);
/* Works out pub from rows: households not reached, then small counts withheld below k. */
bool daytab_publish(struct day_table *t, int64_t k);
/* Whether the figure m of a published row is withheld. */
bool figures_withheld(const struct figures *f, enum measure m);
/*
 * A household screened on day whose earlier screening days are days[0..n)
 * (sorted), each covering `window` days from its own: sets [*from, *to) to
 * the days the new one adds to its coverage; false when it adds none.
 */
bool coverage_added(const int32_t *days, size_t n, int32_t day, int32_t window, int32_t *from,
                    int32_t *to);

#define DAYTAB_CACHE 32               /* earlier days kept in memory */

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
	struct cell_map deltas;           /* of the transaction being committed */
	int64_t alerts_watermark;         /* the alerts counted */
	int64_t households_watermark;     /* the households counted as registered */
	struct day_table *today;          /* the current local day, as committed */
	struct day_table *history[DAYTAB_CACHE];  /* earlier days, as read (api.c) */
	uv_timer_t snapshot_timer;
	uv_timer_t sweep_timer;           /* a sweep that left more goes on at once, a transaction a turn */
	uint64_t seq;                     /* of the last update published on the feed */
	uint64_t snapshots_published;
	uint64_t last_full_ms;
	uint64_t http_requests;
	/* clone.c: the snapshot ROUTER and the state it answers from. */
	struct bus_socket *snapshot;      /* ROUTER of SnapshotRequests */
	struct figures *fed;              /* today's figures as last put on the feed, by row */
	int32_t current_day;              /* the local day `today` holds */
	bool current_loaded;              /* `today` holds the whole day, read from the table */
	uint64_t snapshot_requests;       /* SnapshotRequests received */
	uint64_t snapshot_refused;        /* of which answered with an error */
	uint64_t snapshot_undelivered;    /* replies ZeroMQ could not queue (peer gone, high-water mark) */
};

/* aggregate.c: the consumer's table reads and commits. */
extern const struct consumer_ops reportd_consumer;
/* The local day of a Unix time. */
int32_t report_day(int64_t t, long utc_offset_min);
bool batch_add(struct reportd *r, const struct counted *c);
/* Counts new alerts and registrations, when no screening did (from the tick); true if more wait. */
bool aggregate_sweep(struct reportd *r);
/* In an open transaction: adds r->deltas to daily_aggregates; false (logged) on failure. */
bool aggregate_write(struct reportd *r);
/* After COMMIT: the deltas reach today's table and the days read before. */
void aggregate_committed(struct reportd *r);
/* Reads days [from, to] (to <= today) into tables[to - from + 1]; false (logged) on failure. */
bool aggregate_load(struct reportd *r, int32_t from, int32_t to, struct day_table **tables);
/* A published day: today's, or an earlier one from the cache or the table; NULL when unavailable. */
struct day_table *aggregate_day(struct reportd *r, int32_t day);

/* feed.c: snapshots on ZeroMQ. Fills s with an area's figures; withheld ones are left absent. */
void report_snapshot(Gridwall__V1__AggregateSnapshot *s, const struct area *area, char *day,
                     const struct figures *f, int64_t now);
void feed_start(struct reportd *r);
void feed_stop(struct reportd *r);
/* Publishes today's areas whose figures changed since the feed carried them (all: every area). */
void feed_publish(struct reportd *r, bool all);
/*
 * Updates queued per subscriber (ZMQ_SNDHWM of the feed). Every area of the
 * day goes out at once now and then (a city has some 7,000): ZeroMQ's
 * default of 1,000 would drop most of them for every subscriber.
 */
#define FEED_SNDHWM 250000

/*
 * clone.c: the Clone pattern (docs/protocol.md). A ROUTER answers each
 * SnapshotRequest with the cells of a day under an area prefix and the seq
 * of the last feed update, from `fed` for the current day and from the
 * published day tables for any other.
 */
#define CLONE_CHUNK_CELLS    1000     /* snapshots per reply frame */
#define CLONE_MAX_CELLS      200000   /* cells in one reply, at most (TOO_LARGE beyond) */
#define CLONE_MAX_REQUEST    1024     /* bytes of a request frame (ZMQ_MAXMSGSIZE) */
#define CLONE_SNDHWM         16       /* replies queued per peer (ZMQ_SNDHWM) */
/* Binds the ROUTER and starts answering; -1 (logged) on failure. */
int clone_start(struct reportd *r);
/* Closes the ROUTER and frees the days in memory; safe when clone_start never ran. */
void clone_stop(struct reportd *r);
/* Database up, or from the tick: (re)loads today when it is not the whole of today. */
void clone_refresh(struct reportd *r);
/* Forgets every day in memory: today is read again at the next tick (SIGHUP, areas reloaded). */
void clone_forget(struct reportd *r);

/* api.c: the HTTP API. */
void api_handle(void *arg, const struct http_request *req, struct http_response *resp);
/* Reads an optional query parameter into buf; "" when absent (or too long to be valid). */
void api_param(const struct http_request *req, const char *key, char *buf, size_t len);

/* Formats day (since 1970-01-01) as YYYY-MM-DD into buf[11]. */
void report_day_text(int32_t day, char *buf);

#endif
