/*
 * The watermark consumer shared by rulesd and reportd. It never trusts the
 * fast path: a live item is applied only when its id follows the watermark
 * directly, and anything else sends it back to the table. Because ingestd
 * commits screenings in id order, "everything after the watermark" read
 * from the table is complete up to the newest id seen.
 */
#include <stdlib.h>
#include <string.h>

#include "consumer.h"
#include "log.h"

#define SLOW_COMMIT_MS 100.0    /* a batch committed slower than this is logged */

static void s_catch_up_cb(uv_timer_t *t);
static void s_flush_cb(uv_timer_t *t);

void
consumer_init(struct consumer *c, uv_loop_t *loop, size_t item_size,
              const struct consumer_ops *ops, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->arg = arg;
	c->item_size = item_size;
	c->limits = (struct consumer_limits){ 1000, 5, 2000 };
	uv_timer_init(loop, &c->flush_timer);
	uv_timer_init(loop, &c->catch_up_timer);
	c->flush_timer.data = c->catch_up_timer.data = c;
}

void
consumer_set_limits(struct consumer *c, const struct consumer_limits *limits)
{
	c->limits = *limits;
}

/* The id of pending item i. */
static int64_t
s_id(const struct consumer *c, size_t i)
{
	int64_t id;

	memcpy(&id, c->pending + i * c->item_size, sizeof(id));
	return id;
}

/* Commits the batch up to last; advances the watermark on success. A slow commit is logged. */
static bool
s_commit(struct consumer *c, int64_t last)
{
	uint64_t start = uv_hrtime();
	int rc = c->ops->commit(c->arg, last);
	double ms = (double)(uv_hrtime() - start) / 1e6;

	if (ms >= SLOW_COMMIT_MS)
		log_info("slow batch: up to id %lld committed in %.0f ms", (long long)last, ms);
	if (rc != 0) {
		log_warn("batch up to id %lld not committed; will read it again from the table",
		         (long long)last);
		return false;
	}
	c->watermark = last;
	return true;
}

/* Reads and applies one chunk from the table; reschedules itself. */
static void
s_catch_up_step(struct consumer *c)
{
	int64_t last = c->watermark;
	int n;

	if (!c->ready || c->closed)
		return;
	n = c->ops->fetch(c->arg, c->watermark, c->limits.batch_max, &last);
	if (n > 0 && !s_commit(c, last))
		n = -1;
	if (n < 0)
		c->ops->discard(c->arg);
	if (n > 0)
		c->applied += (uint64_t)n;
	c->catching_up = n == c->limits.batch_max;
	uv_timer_start(&c->catch_up_timer, s_catch_up_cb,
	               c->catching_up ? 0 : (uint64_t)c->limits.catch_up_interval_ms, 0);
}

static void
s_catch_up_cb(uv_timer_t *t)
{
	s_catch_up_step(t->data);
}

void
consumer_start(struct consumer *c, int64_t watermark)
{
	c->watermark = watermark;
	c->npending = 0;
	c->ready = true;
	c->catching_up = true;
	s_catch_up_step(c);
}

void
consumer_flush(struct consumer *c)
{
	int64_t next = c->watermark;
	size_t added = 0;
	bool gap = false;

	uv_timer_stop(&c->flush_timer);
	for (size_t i = 0; i < c->npending; i++) {
		int64_t id = s_id(c, i);

		if (id <= next)
			continue;
		if (id != next + 1) {
			gap = true;
			break;
		}
		c->ops->add(c->arg, c->pending + i * c->item_size);
		next = id;
		added++;
	}
	c->npending = 0;
	if (added > 0) {
		if (s_commit(c, next))
			c->applied += added;
		else
			c->ops->discard(c->arg);
	}
	if (gap)
		s_catch_up_step(c);
}

static void
s_flush_cb(uv_timer_t *t)
{
	consumer_flush(t->data);
}

/* Makes room for one more pending item; false when memory is short. */
static bool
s_reserve(struct consumer *c)
{
	size_t cap;
	char *p;

	if (c->npending < c->cap)
		return true;
	cap = c->cap ? c->cap * 2 : 256;
	p = realloc(c->pending, cap * c->item_size);
	if (p == NULL)
		return false;
	c->pending = p;
	c->cap = cap;
	return true;
}

void
consumer_offer(struct consumer *c, const void *item)
{
	int64_t id;

	memcpy(&id, item, sizeof(id));
	if (!c->ready || c->catching_up || c->closed || id <= c->watermark)
		return;     /* the table has it: catch-up will read it */
	if (!s_reserve(c))
		return;
	memcpy(c->pending + c->npending * c->item_size, item, c->item_size);
	c->npending++;
	if (c->npending >= (size_t)c->limits.batch_max)
		consumer_flush(c);
	else if (!uv_is_active((uv_handle_t *)&c->flush_timer))
		uv_timer_start(&c->flush_timer, s_flush_cb, (uint64_t)c->limits.flush_delay_ms, 0);
}

void
consumer_close(struct consumer *c)
{
	if (c->closed)
		return;
	c->closed = true;
	uv_close((uv_handle_t *)&c->flush_timer, NULL);
	uv_close((uv_handle_t *)&c->catch_up_timer, NULL);
	free(c->pending);
	c->pending = NULL;
}
