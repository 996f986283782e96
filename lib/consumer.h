/*
 * A watermark consumer: the pattern every downstream daemon follows
 * (DESIGN.md invariants 1 and 3). Live items from ZeroMQ are batched and
 * applied only while they follow the watermark without a gap; a gap, a
 * start, a reconnect or a periodic check makes it read the table after the
 * watermark instead, in chunks, until it is caught up. The daemon supplies
 * how to read the table and how to commit a batch with the watermark.
 */
#ifndef GRIDWALL_CONSUMER_H
#define GRIDWALL_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct consumer_ops {
	/* Adds up to limit stored items after id `after` to the batch; sets *last to the last id; -1 on failure. */
	int (*fetch)(void *arg, int64_t after, long limit, int64_t *last);
	/* Adds one live item (as given to consumer_offer) to the batch. */
	void (*add)(void *arg, const void *item);
	/* Commits the batch with watermark `last`, publishes, empties the batch. 0 on success. */
	int (*commit)(void *arg, int64_t last);
	/* Empties the batch without committing. */
	void (*discard)(void *arg);
};

struct consumer_limits {
	long batch_max;             /* most items per transaction */
	long flush_delay_ms;        /* how long live items wait to be batched */
	long catch_up_interval_ms;  /* how often the table is checked for lost items */
};

struct consumer {
	const struct consumer_ops *ops;
	void *arg;
	struct consumer_limits limits;
	size_t item_size;
	char *pending;              /* live items: each item_size bytes, id first */
	size_t npending, cap;
	int64_t watermark;
	bool ready;                 /* watermark known: may apply items */
	bool catching_up;           /* reading the table: live items are dropped */
	bool closed;
	uv_timer_t flush_timer;
	uv_timer_t catch_up_timer;
	uint64_t applied;
};

/* Items are structs whose first member is their int64_t id. */
void consumer_init(struct consumer *c, uv_loop_t *loop, size_t item_size,
                   const struct consumer_ops *ops, void *arg);
void consumer_set_limits(struct consumer *c, const struct consumer_limits *limits);
/* The watermark is known (start or reconnect): catch up, then take live items. */
void consumer_start(struct consumer *c, int64_t watermark);
/* Offers a live item; ignored while not ready, catching up, or at/below the watermark. */
void consumer_offer(struct consumer *c, const void *item);
/* Applies pending live items now (used when draining). */
void consumer_flush(struct consumer *c);
/* Closes the timers and frees the queue; the struct may be freed after the loop ran. */
void consumer_close(struct consumer *c);

#endif
