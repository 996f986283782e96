/*
 * The aggregate feed: AggregateSnapshot messages on a PUB socket with the
 * area code as topic. On every tick today's table is published again if it
 * changed, and each area whose published figures differ from what the
 * feed last carried goes out; every area of the day goes out again on a
 * slower period, so a new subscriber has the whole picture within that
 * period. Each update takes the next seq and is kept in `fed`, from which
 * clone.c answers a subscriber that wants the picture at once.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "codec.h"
#include "log.h"
#include "reportd.h"

/* A snapshot's day as its text, in the one calendar of civil.c. */
void
report_day_text(int32_t day, char *buf)
{
	civil_format(day, buf);
}

/* Sets figure m of a snapshot, unless it is withheld. */
static void
s_set(Gridwall__V1__AggregateSnapshot *s, const struct figures *f, enum measure m)
{
	protobuf_c_boolean *has[MEASURES] = {
		&s->has_screenings, &s->has_persons_screened, &s->has_households_screened, &s->has_fevers,
		&s->has_new_alerts, &s->has_released, &s->has_households_registered,
		&s->has_households_not_reached, &s->has_key_persons, &s->has_high_risk,
	};
	int64_t *value[MEASURES] = {
		&s->screenings, &s->persons_screened, &s->households_screened, &s->fevers,
		&s->new_alerts, &s->released, &s->households_registered, &s->households_not_reached,
		&s->key_persons, &s->high_risk,
	};

	*has[m] = !figures_withheld(f, m);
	*value[m] = *has[m] ? f->v[m] : 0;
}

void
report_snapshot(Gridwall__V1__AggregateSnapshot *s, const struct area *area, char *day,
                const struct figures *f, int64_t now)
{
	gridwall__v1__aggregate_snapshot__init(s);
	s->area_code = (char *)area->code;
	s->area_name = area->name;
	s->day = day;
	s->has_seq = s->has_generated_at = true;
	s->seq = f->seq;
	s->generated_at = now;
	for (int m = 0; m < MEASURES; m++)
		s_set(s, f, (enum measure)m);
}

/* Publishes row i of today as the next update, and keeps it for the snapshots. */
static void
s_publish(struct reportd *r, size_t i)
{
	Gridwall__V1__AggregateSnapshot snap;
	const struct area *area = r->today->areas[i];
	char day[CIVIL_TEXT_LEN + 1];
	const void *data[2];
	size_t lens[2];
	uint8_t *buf;

	/* kept even if the send fails below: the seq is spent, and a snapshot must cover it */
	r->fed[i] = r->today->pub[i];
	r->fed[i].seq = ++r->seq;
	report_day_text(r->today->day, day);
	report_snapshot(&snap, area, day, &r->fed[i], time(NULL));
	buf = codec_pack(&snap.base, &lens[1]);
	if (buf == NULL)
		return;
	data[0] = area->code;
	lens[0] = strlen(area->code);
	data[1] = buf;
	if (bus_send(r->feed, data, lens, 2) == 0)
		r->snapshots_published++;
	free(buf);
}

/* Whether the published figures of row i differ from what the feed carried. */
static bool
s_changed(const struct reportd *r, size_t i)
{
	const struct figures *a = &r->today->pub[i], *b = &r->fed[i];

	return a->withheld != b->withheld || memcmp(a->v, b->v, sizeof(a->v)) != 0;
}

/* Counts what the last sweep left, one transaction per turn of the loop. */
static void
s_sweep(uv_timer_t *t)
{
	struct reportd *r = t->data;

	if (aggregate_sweep(r))
		uv_timer_start(&r->sweep_timer, s_sweep, 0, 0);
}

void
feed_publish(struct reportd *r, bool all)
{
	if (!r->current_loaded || aggregate_day(r, r->current_day) == NULL)
		return;
	for (size_t i = 0; i < r->today->n; i++)
		if (all || s_changed(r, i))
			s_publish(r, i);
}

/* Every snapshot_interval_ms: the changed areas, and now and then every area of the day. */
static void
s_tick(uv_timer_t *t)
{
	struct reportd *r = t->data;
	const struct reportd_config *cfg = r->daemon->config;
	uint64_t now = uv_now(t->loop);
	bool all = now - r->last_full_ms >= (uint64_t)cfg->full_snapshot_interval_ms;

	clone_refresh(r);
	if (!uv_is_active((uv_handle_t *)&r->sweep_timer))
		s_sweep(&r->sweep_timer);
	if (all)
		r->last_full_ms = now;
	feed_publish(r, all);
}

/* Starts the tick. */
void
feed_start(struct reportd *r)
{
	const struct reportd_config *cfg = r->daemon->config;

	uv_timer_init(r->daemon->loop, &r->snapshot_timer);
	uv_timer_init(r->daemon->loop, &r->sweep_timer);
	r->snapshot_timer.data = r->sweep_timer.data = r;
	uv_timer_start(&r->snapshot_timer, s_tick, (uint64_t)cfg->snapshot_interval_ms,
	               (uint64_t)cfg->snapshot_interval_ms);
}

/* Stops the tick. */
void
feed_stop(struct reportd *r)
{
	uv_close((uv_handle_t *)&r->snapshot_timer, NULL);
	uv_close((uv_handle_t *)&r->sweep_timer, NULL);
}
