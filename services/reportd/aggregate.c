/*
 * Incremental aggregates. Each assessed screening adds one to "screened"
 * (and maybe fevers, key persons, high risk) of its grid and of every area
 * above it on its local day. A batch's sums are upserted together with
 * reportd's watermark in one transaction; catch-up reads only screenings
 * rulesd has already assessed (at or below rulesd's watermark).
 */
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "codec.h"
#include "grow.h"
#include "log.h"
#include "reportd.h"
#include "validate.h"

static const char SQL_AFTER[] =
	"SELECT s.id, floor((extract(epoch FROM s.screened_at) + $3::bigint * 60) / 86400)::int, "
	"       s.grid_code, coalesce(s.temperature >= 37.3, false), coalesce(a.level, 'normal') "
	"FROM screenings s LEFT JOIN assessments a ON a.screening_id = s.id "
	"WHERE s.id > $1::bigint "
	"  AND s.id <= (SELECT last_id FROM consumer_offsets WHERE consumer = 'rulesd') "
	"ORDER BY s.id LIMIT $2::int";

static const char SQL_UPSERT[] =
	"INSERT INTO daily_aggregates (day, area_code, screened, fevers, key_persons, high_risk) "
	"VALUES (date '1970-01-01' + $1::int, $2, $3::bigint, $4::bigint, $5::bigint, $6::bigint) "
	"ON CONFLICT (day, area_code) DO UPDATE SET "
	"  screened = daily_aggregates.screened + EXCLUDED.screened, "
	"  fevers = daily_aggregates.fevers + EXCLUDED.fevers, "
	"  key_persons = daily_aggregates.key_persons + EXCLUDED.key_persons, "
	"  high_risk = daily_aggregates.high_risk + EXCLUDED.high_risk, "
	"  updated_at = now() "
	"RETURNING screened, fevers, key_persons, high_risk";

static const char SQL_WATERMARK[] =
	"UPDATE consumer_offsets SET last_id = $1::bigint, updated_at = now() WHERE consumer = 'reportd'";

/* The offset moves the day boundary to local midnight. */
int32_t
report_day(int64_t t, long utc_offset_min)
{
	return (int32_t)civil_day_of(t + (int64_t)utc_offset_min * 60);
}

bool
batch_add(struct reportd *r, const struct counted *c)
{
	if (!grow((void **)&r->batch, &r->cap_batch, r->nbatch + 1, sizeof(*r->batch), 256))
		return false;
	r->batch[r->nbatch++] = *c;
	return true;
}

/* consumer: reads assessed screenings after the watermark. */
static int
s_fetch(void *arg, int64_t after, long limit, int64_t *last)
{
	struct reportd *r = arg;
	const struct reportd_config *cfg = r->daemon->config;
	char a[24], l[24], off[24];
	const char *params[3] = { a, l, off };
	PGresult *res;
	int n;

	snprintf(a, sizeof(a), "%lld", (long long)after);
	snprintf(l, sizeof(l), "%ld", limit);
	snprintf(off, sizeof(off), "%ld", cfg->day_utc_offset_min);
	res = db_query(r->daemon->db, "read assessed screenings", PGRES_TUPLES_OK, SQL_AFTER, 3, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct counted c = { 0 };

		c.id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		c.day = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
		snprintf(c.grid, sizeof(c.grid), "%s", PQgetvalue(res, i, 2));
		c.fever = PQgetvalue(res, i, 3)[0] == 't';
		c.level = codec_level_parse(PQgetvalue(res, i, 4));
		if (!batch_add(r, &c)) {
			PQclear(res);
			return -1;
		}
		*last = c.id;
	}
	PQclear(res);
	return n;
}

static void
s_add(void *arg, const void *item)
{
	batch_add(arg, item);
}

/* Sums the batch into per-(day, area) deltas, for every level above each grid. */
static bool
s_sum(struct reportd *r)
{
	char codes[AREA_LEVELS][AREA_CODE_MAX];

	cell_map_clear(&r->deltas);
	for (size_t i = 0; i < r->nbatch; i++) {
		const struct counted *c = &r->batch[i];
		size_t n = area_ancestors(c->grid, codes);

		for (size_t k = 0; k < n; k++) {
			struct cell d = { .day = c->day, .screened = 1, .fevers = c->fever,
			                  .key_persons = c->level == GRIDWALL__V1__RISK_LEVEL__KEY_PERSON,
			                  .high_risk = c->level == GRIDWALL__V1__RISK_LEVEL__HIGH };

			/* an area missing from the tree would break the foreign key: skip it */
			if (area_find(r->areas, codes[k]) == NULL)
				continue;
			memcpy(d.code, codes[k], AREA_CODE_MAX);
			if (!cell_map_add(&r->deltas, &d))
				return false;
		}
	}
	return true;
}

/* Upserts one delta, which then holds the new totals. */
static bool
s_upsert(struct reportd *r, struct cell *d)
{
	char day[16], s[24], f[24], k[24], h[24];
	const char *params[6] = { day, d->code, s, f, k, h };
	PGresult *res;

	snprintf(day, sizeof(day), "%d", d->day);
	snprintf(s, sizeof(s), "%lld", (long long)d->screened);
	snprintf(f, sizeof(f), "%lld", (long long)d->fevers);
	snprintf(k, sizeof(k), "%lld", (long long)d->key_persons);
	snprintf(h, sizeof(h), "%lld", (long long)d->high_risk);
	res = db_query(r->daemon->db, "upsert aggregate", PGRES_TUPLES_OK, SQL_UPSERT, 6, params);
	if (res == NULL)
		return false;
	d->screened = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	d->fevers = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	d->key_persons = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	d->high_risk = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	PQclear(res);
	return true;
}

/* consumer: commits the batch's sums with the watermark. */
static int
s_commit(void *arg, int64_t last)
{
	struct reportd *r = arg;
	char wm[24];
	const char *params[1] = { wm };

	snprintf(wm, sizeof(wm), "%lld", (long long)last);
	if (!s_sum(r) || !db_command(r->daemon->db, "begin", "BEGIN", 0, NULL)) {
		r->nbatch = 0;
		return -1;
	}
	for (size_t i = 0; i < r->deltas.cap; i++)
		if (r->deltas.used[i] && !s_upsert(r, &r->deltas.cells[i]))
			goto fail;
	if (!db_command(r->daemon->db, "advance watermark", SQL_WATERMARK, 1, params) ||
	    !db_command(r->daemon->db, "commit", "COMMIT", 0, NULL))
		goto fail;
	for (size_t i = 0; i < r->deltas.cap; i++) {
		if (!r->deltas.used[i])
			continue;
		cell_map_put(&r->changed, &r->deltas.cells[i]);
		if (r->deltas.cells[i].day == r->current_day)
			cell_map_put(&r->today, &r->deltas.cells[i]);
	}
	r->nbatch = 0;
	return 0;
fail:
	db_rollback(r->daemon->db);
	r->nbatch = 0;
	return -1;
}

static void
s_discard(void *arg)
{
	((struct reportd *)arg)->nbatch = 0;
}

const struct consumer_ops reportd_consumer = { s_fetch, s_add, s_commit, s_discard };
