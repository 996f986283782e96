/*
 * The aggregate feed: AggregateSnapshot messages on a PUB socket with the
 * area code as topic. Areas whose totals changed are published on every
 * tick; every area of the current day is published again on a slower
 * period, so a new subscriber has the whole picture within that period.
 * Each update takes the next seq and is kept in `current`, from which
 * clone.c answers a subscriber that wants the picture at once.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "codec.h"
#include "log.h"
#include "reportd.h"

static const char SQL_DAY[] =
	"SELECT day - date '1970-01-01', area_code, screened, fevers, key_persons, high_risk "
	"FROM daily_aggregates WHERE day = date '1970-01-01' + $1::int";

/* A snapshot's day as its text, in the one calendar of civil.c. */
void
report_day_text(int32_t day, char *buf)
{
	civil_format(day, buf);
}

/* Publishes one cell's totals as the next update, and keeps them for the snapshots. */
static void
s_publish(struct reportd *r, const struct cell *c)
{
	Gridwall__V1__AggregateSnapshot snap = GRIDWALL__V1__AGGREGATE_SNAPSHOT__INIT;
	const struct area *area = r->areas ? area_find(r->areas, c->code) : NULL;
	struct cell kept = *c;
	char day[11], code[AREA_CODE_MAX];
	const void *data[2];
	size_t lens[2];
	uint8_t *buf;

	/* Kept even if the send fails below: the seq is spent, and a snapshot must cover it. */
	kept.seq = ++r->seq;
	clone_published(r, &kept);
	report_day_text(c->day, day);
	snprintf(code, sizeof(code), "%s", c->code);
	snap.area_code = code;
	snap.day = day;
	snap.area_name = area != NULL ? area->name : NULL;
	snap.has_seq = snap.has_screened = snap.has_fevers = true;
	snap.has_key_persons = snap.has_high_risk = snap.has_generated_at = true;
	snap.seq = kept.seq;
	snap.screened = c->screened;
	snap.fevers = c->fevers;
	snap.key_persons = c->key_persons;
	snap.high_risk = c->high_risk;
	snap.generated_at = time(NULL);
	buf = codec_pack(&snap.base, &lens[1]);
	if (buf == NULL)
		return;
	data[0] = code;
	lens[0] = strlen(code);
	data[1] = buf;
	if (bus_send(r->feed, data, lens, 2) == 0)
		r->snapshots_published++;
	free(buf);
}

/* Publishes every area's totals for the current local day. */
static void
s_publish_day(struct reportd *r)
{
	const struct reportd_config *cfg = r->daemon->config;
	char day[16];
	const char *params[1] = { day };
	PGresult *res;

	snprintf(day, sizeof(day), "%d", report_day(time(NULL), cfg->day_utc_offset_min));
	res = db_query(r->daemon->db, "read today's aggregates", PGRES_TUPLES_OK, SQL_DAY, 1, params);
	if (res == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		struct cell c = { 0 };

		c.day = (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(c.code, sizeof(c.code), "%s", PQgetvalue(res, i, 1));
		c.screened = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		c.fevers = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		c.key_persons = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		c.high_risk = strtoll(PQgetvalue(res, i, 5), NULL, 10);
		s_publish(r, &c);
	}
	PQclear(res);
}

/* Every snapshot_interval_ms: the changed areas, and now and then every area of the day. */
static void
s_tick(uv_timer_t *t)
{
	struct reportd *r = t->data;
	const struct reportd_config *cfg = r->daemon->config;
	uint64_t now = uv_now(t->loop);

	clone_refresh(r);
	for (size_t i = 0; i < r->changed.cap; i++)
		if (r->changed.used[i])
			s_publish(r, &r->changed.cells[i]);
	cell_map_clear(&r->changed);
	if (r->areas != NULL && now - r->last_full_ms >= (uint64_t)cfg->full_snapshot_interval_ms) {
		r->last_full_ms = now;
		s_publish_day(r);
	}
}

/* Starts the tick. */
void
feed_start(struct reportd *r)
{
	const struct reportd_config *cfg = r->daemon->config;

	uv_timer_init(r->daemon->loop, &r->snapshot_timer);
	r->snapshot_timer.data = r;
	uv_timer_start(&r->snapshot_timer, s_tick, (uint64_t)cfg->snapshot_interval_ms,
	               (uint64_t)cfg->snapshot_interval_ms);
}

/* Stops the tick. */
void
feed_stop(struct reportd *r)
{
	uv_close((uv_handle_t *)&r->snapshot_timer, NULL);
}
