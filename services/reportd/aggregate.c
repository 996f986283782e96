/*
 * Incremental aggregates (docs/aggregates.md). One transaction counts a
 * batch of assessed screenings (persons and households once per day, and
 * each household's coverage window), the alerts and the registrations
 * committed since their watermarks, adds the changes to daily_aggregates
 * for each grid and every area above it, and moves the three watermarks.
 * After COMMIT the same changes reach today's table in memory.
 *
 * Catch-up reads only screenings rulesd has already assessed (at or below
 * rulesd's watermark). Alerts and households are read after their own
 * watermarks at every commit, and from the tick when no screening comes.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "grow.h"
#include "log.h"
#include "pgarray.h"
#include "reportd.h"

/* The local day of a timestamp column, as a number of days since 1970-01-01 ($off minutes). */
#define LOCAL_DAY(col, off) "floor((extract(epoch FROM " col ") + " off "::bigint * 60) / 86400)::int"

#define SIDE_LIMIT 10000        /* alerts, or households, counted in one transaction */

static const char SQL_AFTER[] =
	"SELECT s.id, " LOCAL_DAY("s.screened_at", "$3") ", s.grid_code, "
	"       coalesce(s.temperature >= 37.3, false), s.person_id, coalesce(s.household_id, 0) "
	"FROM screenings s "
	"WHERE s.id > $1::bigint "
	"  AND s.id <= (SELECT last_id FROM consumer_offsets WHERE consumer = 'rulesd') "
	"ORDER BY s.id LIMIT $2::int";

/*
 * Of the batch's first screenings of a person on a day, those with no
 * earlier one that day. The earlier ones are looked up for each screening
 * (a correlated subquery in the select list, kept there by OFFSET 0): as an
 * anti-join the planner could hash the whole table when its statistics lag
 * behind a table growing fast, as on the first day.
 */
static const char SQL_FIRST_OF_DAY[] =
	"SELECT d, g FROM ("
	"  SELECT b.d, b.g, EXISTS (SELECT 1 FROM screenings s WHERE s.person_id = b.p AND s.id < b.i "
	"    AND " LOCAL_DAY("s.screened_at", "($5::int4[])[1]") " = b.d) AS seen "
	"  FROM unnest($1::int8[], $2::int4[], $3::text[], $4::int8[]) AS b(p, d, g, i) OFFSET 0) x "
	"WHERE NOT seen";

/*
 * The batch's households: their grid, whether registered, and the days they
 * were screened before the batch (ids below $2) near the batch's days.
 */
static const char SQL_HOUSEHOLDS[] =
	"SELECT h.id, h.grid_code, h.kind = 'registered', "
	"  coalesce((SELECT array_agg(DISTINCT " LOCAL_DAY("s.screened_at", "($3::int4[])[1]") ") "
	"            FROM screenings s WHERE s.household_id = h.id AND s.id < ($2::int8[])[1] "
	"              AND " LOCAL_DAY("s.screened_at", "($3::int4[])[1]") " "
	"                  BETWEEN ($3::int4[])[2] AND ($3::int4[])[3]), '{}') "
	"FROM households h WHERE h.id = ANY($1::int8[]) ORDER BY h.id";

/* Alerts after the watermark; whether each was raised under an observation. */
static const char SQL_ALERTS[] =
	"SELECT id, " LOCAL_DAY("raised_at", "$3") ", kind, level, grid_code, coalesce(person_id, 0), "
	"       coalesce(observe_until > raised_at, false) "
	"FROM alerts WHERE id > $1::bigint ORDER BY id LIMIT $2::int";

/*
 * Each person's latest alert up to the watermark that says whether they are
 * observed. Each person's alerts are read through their own index (an
 * aggregate, not ORDER BY id LIMIT 1, which the planner may answer by
 * walking the primary key back from the watermark).
 */
static const char SQL_OBSERVED_BEFORE[] =
	"SELECT b.p, a.grid, a.observed FROM unnest($1::int8[]) AS b(p) CROSS JOIN LATERAL ("
	"  SELECT (array_agg(grid_code ORDER BY id DESC))[1] AS grid, "
	"         (array_agg(kind <> 'released' AND coalesce(observe_until > raised_at, false) "
	"                    ORDER BY id DESC))[1] AS observed "
	"  FROM alerts WHERE person_id = b.p AND id <= ($2::int8[])[1] "
	"    AND kind IN ('risk', 'follow_up_overdue', 'released')) a "
	"WHERE a.grid IS NOT NULL";

/* Registrations after the watermark, counted per day and grid. */
static const char SQL_REGISTERED[] =
	"SELECT " LOCAL_DAY("created_at", "$3") ", grid_code, "
	"       count(*) FILTER (WHERE kind = 'registered'), max(id), count(*) "
	"FROM (SELECT id, created_at, grid_code, kind FROM households WHERE id > $1::bigint "
	"      ORDER BY id LIMIT $2::int) h GROUP BY 1, 2";

static const char SQL_UPSERT[] =
	"INSERT INTO daily_aggregates (day, area_code, screenings, persons_screened, "
	"  households_screened, fevers, new_alerts, released, registered_change, covered_change, "
	"  observed_change, high_open_change) "
	"SELECT date '1970-01-01' + d, c, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9 "
	"FROM unnest($1::int4[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], "
	"            $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[]) "
	"     AS u(d, c, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9) "
	"ON CONFLICT (day, area_code) DO UPDATE SET "
	"  screenings = daily_aggregates.screenings + EXCLUDED.screenings, "
	"  persons_screened = daily_aggregates.persons_screened + EXCLUDED.persons_screened, "
	"  households_screened = daily_aggregates.households_screened + EXCLUDED.households_screened, "
	"  fevers = daily_aggregates.fevers + EXCLUDED.fevers, "
	"  new_alerts = daily_aggregates.new_alerts + EXCLUDED.new_alerts, "
	"  released = daily_aggregates.released + EXCLUDED.released, "
	"  registered_change = daily_aggregates.registered_change + EXCLUDED.registered_change, "
	"  covered_change = daily_aggregates.covered_change + EXCLUDED.covered_change, "
	"  observed_change = daily_aggregates.observed_change + EXCLUDED.observed_change, "
	"  high_open_change = daily_aggregates.high_open_change + EXCLUDED.high_open_change, "
	"  updated_at = now()";

static const char SQL_WATERMARKS[] =
	"UPDATE consumer_offsets SET updated_at = now(), last_id = CASE consumer "
	"  WHEN 'reportd' THEN $1::bigint WHEN 'reportd.alerts' THEN $2::bigint "
	"  ELSE $3::bigint END "
	"WHERE consumer IN ('reportd', 'reportd.alerts', 'reportd.households')";

/* Every day up to $1: each area's counts of the day and the running sums of the level changes. */
static const char SQL_DAYS[] =
	"SELECT area_code, day - date '1970-01-01', screenings, persons_screened, households_screened, "
	"  fevers, new_alerts, released, "
	"  sum(registered_change) OVER w, sum(covered_change) OVER w, "
	"  sum(observed_change) OVER w, sum(high_open_change) OVER w "
	"FROM daily_aggregates WHERE day <= date '1970-01-01' + $1::int "
	"WINDOW w AS (PARTITION BY area_code ORDER BY day) ORDER BY area_code, day";

/* The offset moves the day boundary to local midnight. */
int32_t
report_day(int64_t t, long utc_offset_min)
{
	return (int32_t)civil_day_of(t + (int64_t)utc_offset_min * 60);
}

static const struct reportd_config *
s_config(const struct reportd *r)
{
	return r->daemon->config;
}

bool
batch_add(struct reportd *r, const struct counted *c)
{
	if (!grow((void **)&r->batch, &r->cap_batch, r->nbatch + 1, sizeof(*r->batch), 256))
		return false;
	r->batch[r->nbatch++] = *c;
	return true;
}

/* A parameter's text. */
static const char *
s_num(char *buf, size_t len, long long v)
{
	snprintf(buf, len, "%lld", v);
	return buf;
}

/* consumer: reads assessed screenings after the watermark. */
static int
s_fetch(void *arg, int64_t after, long limit, int64_t *last)
{
	struct reportd *r = arg;
	char a[24], l[24], off[24];
	const char *params[3] = { s_num(a, sizeof(a), after), s_num(l, sizeof(l), limit),
	                          s_num(off, sizeof(off), s_config(r)->day_utc_offset_min) };
	PGresult *res;
	int n;

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
		c.person_id = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		c.household_id = strtoll(PQgetvalue(res, i, 5), NULL, 10);
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

/* Adds n to measure m of grid (and the areas above it) on day. */
static bool
s_count(struct reportd *r, int32_t day, const char *grid, enum measure m, int64_t n)
{
	return n == 0 || cell_map_count(&r->deltas, r->areas, day, grid, m, n);
}

/* Completes n column arrays and runs sql over them; the result, or NULL (logged). */
static PGresult *
s_run_columns(struct reportd *r, const char *what, ExecStatusType expect, const char *sql,
              struct pgarray *c, int n)
{
	const char *values[12];
	int lengths[12];
	PGresult *res = NULL;
	bool ok = true;

	for (int i = 0; i < n; i++)
		ok &= pgarray_end(&c[i]);
	if (ok) {
		pgarray_params(c, n, values, lengths);
		res = db_query_binary(r->daemon->db, what, expect, sql, n, values, lengths);
	} else
		log_error("%s: out of memory", what);
	for (int i = 0; i < n; i++)
		pgarray_free(&c[i]);
	return res;
}

/* ---- screenings ---- */

/* Orders (key, day, id) triples: a key's first entry of a day comes first. */
static int
s_cmp_key_day(int64_t ka, int32_t da, int64_t ia, int64_t kb, int32_t db, int64_t ib)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (da != db)
		return da < db ? -1 : 1;
	return (ia > ib) - (ia < ib);
}

/* qsort: batch entries by person, then day and id. */
static int
s_by_person(const void *x, const void *y)
{
	const struct counted *a = x, *b = y;

	return s_cmp_key_day(a->person_id, a->day, a->id, b->person_id, b->day, b->id);
}

/* qsort: batch entries by household, then day and id. */
static int
s_by_household(const void *x, const void *y)
{
	const struct counted *a = x, *b = y;

	return s_cmp_key_day(a->household_id, a->day, a->id, b->household_id, b->day, b->id);
}

/* Screenings and fevers of each grid and day. */
static bool
s_count_screenings(struct reportd *r, const struct counted *batch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s_count(r, batch[i].day, batch[i].grid, MEASURE_SCREENINGS, 1) ||
		    !s_count(r, batch[i].day, batch[i].grid, MEASURE_FEVERS, batch[i].fever))
			return false;
	return true;
}

/* Persons screened: each person's first screening of a day, unless an earlier one was counted. */
static bool
s_count_persons(struct reportd *r, struct counted *sorted, size_t n)
{
	struct pgarray c[5] = { { 0 } };
	PGresult *res;
	bool ok = true;

	qsort(sorted, n, sizeof(*sorted), s_by_person);
	pgarray_begin(&c[0], PGARRAY_INT8);
	pgarray_begin(&c[1], PGARRAY_INT4);
	pgarray_begin(&c[2], PGARRAY_TEXT);
	pgarray_begin(&c[3], PGARRAY_INT8);
	pgarray_begin(&c[4], PGARRAY_INT4);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && sorted[i].person_id == sorted[i - 1].person_id &&
		    sorted[i].day == sorted[i - 1].day)
			continue;
		pgarray_int8(&c[0], sorted[i].person_id);
		pgarray_int4(&c[1], sorted[i].day);
		pgarray_text(&c[2], sorted[i].grid);
		pgarray_int8(&c[3], sorted[i].id);
	}
	pgarray_int4(&c[4], (int32_t)s_config(r)->day_utc_offset_min);
	res = s_run_columns(r, "count persons", PGRES_TUPLES_OK, SQL_FIRST_OF_DAY, c, 5);
	if (res == NULL)
		return false;
	for (int i = 0; ok && i < PQntuples(res); i++)
		ok = s_count(r, (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10), PQgetvalue(res, i, 1),
		             MEASURE_PERSONS, 1);
	PQclear(res);
	return ok;
}

/* A household of the batch: its grid, and the days it was screened near the batch's. */
struct household {
	int64_t id;
	char grid[AREA_CODE_MAX];
	bool registered;
	int32_t *days;               /* sorted */
	size_t ndays, cap;
};

static int
s_day_cmp(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;

	return (a > b) - (a < b);
}

/* Parses "{1,2,3}" into the household's days, sorted. */
static bool
s_parse_days(struct household *h, const char *text)
{
	for (const char *p = text; *p; ) {
		char *end;
		long d;

		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		d = strtol(p, &end, 10);
		if (!grow((void **)&h->days, &h->cap, h->ndays + 1, sizeof(*h->days), 8))
			return false;
		h->days[h->ndays++] = (int32_t)d;
		p = end;
	}
	if (h->ndays > 1)
		qsort(h->days, h->ndays, sizeof(*h->days), s_day_cmp);
	return true;
}

/* A new day of the household: the days it adds to its coverage count, +1 from and -1 after. */
static bool
s_cover(struct reportd *r, struct household *h, int32_t day)
{
	int32_t from, to;
	bool adds = coverage_added(h->days, h->ndays, day, (int32_t)s_config(r)->coverage_days, &from, &to);
	size_t at = 0;

	while (at < h->ndays && h->days[at] < day)
		at++;
	if (!grow((void **)&h->days, &h->cap, h->ndays + 1, sizeof(*h->days), 8))
		return false;
	memmove(&h->days[at + 1], &h->days[at], (h->ndays - at) * sizeof(*h->days));
	h->days[at] = day;
	h->ndays++;
	if (!h->registered || !adds)
		return true;
	return s_count(r, from, h->grid, MEASURE_COVERED, 1) && s_count(r, to, h->grid, MEASURE_COVERED, -1);
}

/* qsort/bsearch: households by id. */
static int
s_household_cmp(const void *x, const void *y)
{
	int64_t a = ((const struct household *)x)->id, b = ((const struct household *)y)->id;

	return a < b ? -1 : a > b;
}

/* Frees what s_read_households read. */
static void
s_free_households(struct household *hs, size_t n)
{
	for (size_t i = 0; hs != NULL && i < n; i++)
		free(hs[i].days);
	free(hs);
}

/* Reads the batch's households (sorted batch, first of each (household, day) only). */
static struct household *
s_read_households(struct reportd *r, const struct counted *sorted, size_t n, size_t *count)
{
	int32_t lo = INT32_MAX, hi = INT32_MIN, cover = (int32_t)s_config(r)->coverage_days;
	int64_t first = INT64_MAX;
	struct pgarray c[3] = { { 0 } };
	struct household *hs;
	PGresult *res;

	pgarray_begin(&c[0], PGARRAY_INT8);
	pgarray_begin(&c[1], PGARRAY_INT8);
	pgarray_begin(&c[2], PGARRAY_INT4);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || sorted[i].household_id != sorted[i - 1].household_id)
			pgarray_int8(&c[0], sorted[i].household_id);
		lo = sorted[i].day < lo ? sorted[i].day : lo;
		hi = sorted[i].day > hi ? sorted[i].day : hi;
		first = sorted[i].id < first ? sorted[i].id : first;
	}
	pgarray_int8(&c[1], first);
	pgarray_int4(&c[2], (int32_t)s_config(r)->day_utc_offset_min);
	pgarray_int4(&c[2], lo - cover);
	pgarray_int4(&c[2], hi + cover);
	res = s_run_columns(r, "read households", PGRES_TUPLES_OK, SQL_HOUSEHOLDS, c, 3);
	if (res == NULL)
		return NULL;
	*count = (size_t)PQntuples(res);
	hs = calloc(*count ? *count : 1, sizeof(*hs));
	for (size_t i = 0; hs != NULL && i < *count; i++) {
		hs[i].id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		snprintf(hs[i].grid, sizeof(hs[i].grid), "%s", PQgetvalue(res, (int)i, 1));
		hs[i].registered = PQgetvalue(res, (int)i, 2)[0] == 't';
		if (!s_parse_days(&hs[i], PQgetvalue(res, (int)i, 3))) {
			s_free_households(hs, *count);
			hs = NULL;
		}
	}
	PQclear(res);
	return hs;
}

/* Whether the household was screened on day (its days are sorted). */
static bool
s_has_day(const struct household *h, int32_t day)
{
	for (size_t i = 0; i < h->ndays && h->days[i] <= day; i++)
		if (h->days[i] == day)
			return true;
	return false;
}

/* Counts each household's new days of the batch (by day: the windows need it) and their coverage. */
static bool
s_count_household_days(struct reportd *r, const struct counted *sorted, size_t n,
                       struct household *hs, size_t nhs)
{
	bool ok = true;

	for (size_t k = 0; ok && k < n; k++) {
		struct household key = { .id = sorted[k].household_id };
		struct household *h = bsearch(&key, hs, nhs, sizeof(*hs), s_household_cmp);

		if (h == NULL || s_has_day(h, sorted[k].day))
			continue;
		ok = s_count(r, sorted[k].day, h->grid, MEASURE_HOUSEHOLDS, 1) && s_cover(r, h, sorted[k].day);
	}
	return ok;
}

/* Households screened: each household's first screening of a day, and its coverage window. */
static bool
s_count_households(struct reportd *r, struct counted *sorted, size_t n)
{
	struct household *hs;
	size_t m = 0, nhs = 0;
	bool ok;

	qsort(sorted, n, sizeof(*sorted), s_by_household);
	for (size_t i = 0; i < n; i++) {
		if (sorted[i].household_id <= 0 ||
		    (m > 0 && sorted[i].household_id == sorted[m - 1].household_id &&
		     sorted[i].day == sorted[m - 1].day))
			continue;
		sorted[m++] = sorted[i];
	}
	if (m == 0)
		return true;
	hs = s_read_households(r, sorted, m, &nhs);
	if (hs == NULL)
		return false;
	ok = s_count_household_days(r, sorted, m, hs, nhs);
	s_free_households(hs, nhs);
	return ok;
}

/* ---- alerts ---- */

/* A person of the alerts being counted: whether they are observed, and in which grid. */
struct observed {
	int64_t person_id;
	bool observing;
	char grid[AREA_CODE_MAX];
};

static int
s_observed_cmp(const void *x, const void *y)
{
	int64_t a = ((const struct observed *)x)->person_id, b = ((const struct observed *)y)->person_id;

	return a < b ? -1 : a > b;
}

/* Whether an alert of this kind says whether its person is observed. */
static bool
s_observes(const char *kind)
{
	return strcmp(kind, "risk") == 0 || strcmp(kind, "follow_up_overdue") == 0 ||
	       strcmp(kind, "released") == 0;
}

/* The persons the alerts name, as their alerts before them left them (sorted); NULL on failure. */
static struct observed *
s_read_observed(struct reportd *r, PGresult *alerts, size_t *count)
{
	struct observed *v = calloc((size_t)PQntuples(alerts) + 1, sizeof(*v));
	struct pgarray c[2] = { { 0 } };
	PGresult *res;
	size_t n = 0;

	if (v == NULL)
		return NULL;
	for (int i = 0; i < PQntuples(alerts); i++)
		if (strtoll(PQgetvalue(alerts, i, 5), NULL, 10) > 0 && s_observes(PQgetvalue(alerts, i, 2)))
			v[n++].person_id = strtoll(PQgetvalue(alerts, i, 5), NULL, 10);
	qsort(v, n, sizeof(*v), s_observed_cmp);
	*count = 0;
	pgarray_begin(&c[0], PGARRAY_INT8);
	pgarray_begin(&c[1], PGARRAY_INT8);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || v[i].person_id != v[i - 1].person_id) {
			v[(*count)++] = v[i];
			pgarray_int8(&c[0], v[i].person_id);
		}
	pgarray_int8(&c[1], r->alerts_watermark);
	res = s_run_columns(r, "read observations", PGRES_TUPLES_OK, SQL_OBSERVED_BEFORE, c, 2);
	if (res == NULL) {
		free(v);
		return NULL;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct observed key = { .person_id = strtoll(PQgetvalue(res, i, 0), NULL, 10) };
		struct observed *o = bsearch(&key, v, *count, sizeof(*v), s_observed_cmp);

		if (o != NULL) {
			snprintf(o->grid, sizeof(o->grid), "%s", PQgetvalue(res, i, 1));
			o->observing = PQgetvalue(res, i, 2)[0] == 't';
		}
	}
	PQclear(res);
	return v;
}

/* Counts alert i of res: new, released, high risk open, and the observation it starts or ends. */
static bool
s_count_alert(struct reportd *r, PGresult *res, int i, struct observed *persons, size_t npersons)
{
	int32_t day = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
	const char *kind = PQgetvalue(res, i, 2), *grid = PQgetvalue(res, i, 4);
	bool risk = strcmp(kind, "risk") == 0;
	struct observed key = { .person_id = strtoll(PQgetvalue(res, i, 5), NULL, 10) };
	struct observed *o;
	bool observing;

	if (!s_count(r, day, grid, MEASURE_NEW_ALERTS, risk) ||
	    !s_count(r, day, grid, MEASURE_RELEASED, strcmp(kind, "released") == 0) ||
	    !s_count(r, day, grid, MEASURE_HIGH_OPEN, risk && strcmp(PQgetvalue(res, i, 3), "high") == 0))
		return false;
	if (key.person_id <= 0 || !s_observes(kind))
		return true;
	o = bsearch(&key, persons, npersons, sizeof(*persons), s_observed_cmp);
	if (o == NULL)
		return true;
	observing = strcmp(kind, "released") != 0 && PQgetvalue(res, i, 6)[0] == 't';
	if ((o->observing && !s_count(r, day, o->grid, MEASURE_OBSERVED, -1)) ||
	    (observing && !s_count(r, day, grid, MEASURE_OBSERVED, 1)))
		return false;
	o->observing = observing;
	snprintf(o->grid, sizeof(o->grid), "%s", grid);
	return true;
}

/* Counts the alerts after the watermark (SIDE_LIMIT at most); -1 on failure, else how many. */
static int
s_count_alerts(struct reportd *r)
{
	char a[24], l[24], off[24];
	const char *params[3] = { s_num(a, sizeof(a), r->alerts_watermark),
	                          s_num(l, sizeof(l), SIDE_LIMIT),
	                          s_num(off, sizeof(off), s_config(r)->day_utc_offset_min) };
	PGresult *res = db_query(r->daemon->db, "read alerts", PGRES_TUPLES_OK, SQL_ALERTS, 3, params);
	struct observed *persons = NULL;
	size_t npersons = 0;
	int n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	if (n > 0 && (persons = s_read_observed(r, res, &npersons)) == NULL)
		n = -1;
	for (int i = 0; n > 0 && i < PQntuples(res); i++)
		if (!s_count_alert(r, res, i, persons, npersons))
			n = -1;
	if (n > 0)
		r->alerts_watermark = strtoll(PQgetvalue(res, n - 1, 0), NULL, 10);
	free(persons);
	PQclear(res);
	return n;
}

/* Counts the households registered after the watermark (SIDE_LIMIT at most); -1 on failure. */
static int
s_count_registered(struct reportd *r)
{
	char a[24], l[24], off[24];
	const char *params[3] = { s_num(a, sizeof(a), r->households_watermark),
	                          s_num(l, sizeof(l), SIDE_LIMIT),
	                          s_num(off, sizeof(off), s_config(r)->day_utc_offset_min) };
	PGresult *res = db_query(r->daemon->db, "read households", PGRES_TUPLES_OK, SQL_REGISTERED, 3,
	                         params);
	int n = 0;

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t last = strtoll(PQgetvalue(res, i, 3), NULL, 10);

		if (!s_count(r, (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10), PQgetvalue(res, i, 1),
		             MEASURE_REGISTERED, strtoll(PQgetvalue(res, i, 2), NULL, 10))) {
			PQclear(res);
			return -1;
		}
		if (last > r->households_watermark)
			r->households_watermark = last;
		n += (int)strtol(PQgetvalue(res, i, 4), NULL, 10);
	}
	PQclear(res);
	return n;
}

/* ---- the transaction ---- */

bool
aggregate_write(struct reportd *r)
{
	static const uint32_t types[2 + MEASURES] = {
		PGARRAY_INT4, PGARRAY_TEXT, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8,
		PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8,
	};
	struct pgarray c[2 + MEASURES] = { { 0 } };
	PGresult *res;

	if (r->deltas.n == 0)
		return true;
	for (int i = 0; i < 2 + MEASURES; i++)
		pgarray_begin(&c[i], types[i]);
	for (size_t i = 0; i < r->deltas.cap; i++) {
		const struct cell *d = &r->deltas.cells[i];

		if (!r->deltas.used[i])
			continue;
		pgarray_int4(&c[0], d->day);
		pgarray_text(&c[1], d->code);
		for (int m = 0; m < MEASURES; m++)
			pgarray_int8(&c[2 + m], d->v[m]);
	}
	res = s_run_columns(r, "add to aggregates", PGRES_COMMAND_OK, SQL_UPSERT, c, 2 + MEASURES);
	PQclear(res);
	return res != NULL;
}

/* Writes the three watermarks. */
static bool
s_watermarks(struct reportd *r, int64_t screenings)
{
	char s[24], a[24], h[24];
	const char *params[3] = { s_num(s, sizeof(s), screenings),
	                          s_num(a, sizeof(a), r->alerts_watermark),
	                          s_num(h, sizeof(h), r->households_watermark) };

	return db_command(r->daemon->db, "advance watermarks", SQL_WATERMARKS, 3, params);
}

/*
 * One transaction: the batch's screenings (up to watermark last), then the
 * alerts and registrations after theirs. *side is how many of those were
 * read. 0 on success; on failure the watermarks in memory are put back.
 */
static int
s_transaction(struct reportd *r, int64_t last, int *side)
{
	int64_t alerts = r->alerts_watermark, households = r->households_watermark;
	int na = 0, nh = 0;
	bool ok;

	cell_map_clear(&r->deltas);
	ok = db_command(r->daemon->db, "begin", "BEGIN", 0, NULL) &&
	     s_count_screenings(r, r->batch, r->nbatch);
	ok = ok && (r->nbatch == 0 || s_count_persons(r, r->batch, r->nbatch));
	ok = ok && (r->nbatch == 0 || s_count_households(r, r->batch, r->nbatch));
	ok = ok && (na = s_count_alerts(r)) >= 0 && (nh = s_count_registered(r)) >= 0;
	ok = ok && aggregate_write(r) && s_watermarks(r, last) &&
	     db_command(r->daemon->db, "commit", "COMMIT", 0, NULL);
	r->nbatch = 0;
	if (!ok) {
		db_rollback(r->daemon->db);
		r->alerts_watermark = alerts;
		r->households_watermark = households;
		return -1;
	}
	aggregate_committed(r);
	*side = na + nh;
	return 0;
}

/* consumer: commits the batch with the watermark. */
static int
s_commit(void *arg, int64_t last)
{
	int side;

	return s_transaction(arg, last, &side);
}

static void
s_discard(void *arg)
{
	((struct reportd *)arg)->nbatch = 0;
}

const struct consumer_ops reportd_consumer = { s_fetch, s_add, s_commit, s_discard };

bool
aggregate_sweep(struct reportd *r)
{
	int side = 0;

	if (!r->consumer.ready || r->consumer.catching_up || r->areas == NULL ||
	    db_conn(r->daemon->db) == NULL || r->daemon->draining)
		return false;
	r->nbatch = 0;
	/* a full read may have left more */
	return s_transaction(r, r->consumer.watermark, &side) == 0 && side >= SIDE_LIMIT;
}

/* ---- days in memory ---- */

/* Drops the earlier days a change of day `from` made stale. */
static void
s_forget_from(struct reportd *r, int32_t from)
{
	for (int i = 0; i < DAYTAB_CACHE; i++)
		if (r->history[i] != NULL && r->history[i]->day >= from)
			daytab_free(&r->history[i]);
}

void
aggregate_committed(struct reportd *r)
{
	struct day_table *t = r->today;
	int32_t earliest = INT32_MAX;

	for (size_t i = 0; i < r->deltas.cap; i++) {
		const struct cell *d = &r->deltas.cells[i];
		long row;

		if (!r->deltas.used[i])
			continue;
		earliest = d->day < earliest ? d->day : earliest;
		if (t == NULL || !r->current_loaded || d->day > t->day || (row = daytab_find(t, d->code)) < 0)
			continue;
		for (int m = d->day == t->day ? 0 : MEASURE_FIRST_LEVEL; m < MEASURES; m++)
			t->rows[row][m] += d->v[m];
		t->dirty = true;
	}
	s_forget_from(r, earliest);
	cell_map_clear(&r->deltas);
}

/* Puts row i of a SQL_DAYS result into the tables of [from, to] it stands for. */
static void
s_spread(PGresult *res, int i, int32_t from, int32_t to, struct day_table **tables)
{
	const char *code = PQgetvalue(res, i, 0);
	int32_t day = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10), until = to;
	long row = daytab_find(tables[0], code);
	int64_t v[MEASURES];

	if (row < 0)
		return;
	/* the levels stand until the area's next row */
	if (i + 1 < PQntuples(res) && strcmp(PQgetvalue(res, i + 1, 0), code) == 0)
		until = (int32_t)strtol(PQgetvalue(res, i + 1, 1), NULL, 10) - 1;
	for (int m = 0; m < MEASURES; m++)
		v[m] = strtoll(PQgetvalue(res, i, 2 + m), NULL, 10);
	if (day >= from && day <= to)
		memcpy(tables[day - from]->rows[row], v, MEASURE_FIRST_LEVEL * sizeof(*v));
	for (int32_t d = day > from ? day : from; d <= until && d <= to; d++)
		for (int m = MEASURE_FIRST_LEVEL; m < MEASURES; m++)
			tables[d - from]->rows[row][m] = v[m];
}

bool
aggregate_load(struct reportd *r, int32_t from, int32_t to, struct day_table **tables)
{
	char t[16];
	const char *params[1] = { s_num(t, sizeof(t), to) };
	PGresult *res;

	for (int32_t d = from; d <= to; d++)
		tables[d - from] = NULL;
	if (db_conn(r->daemon->db) == NULL || r->areas == NULL)
		return false;
	for (int32_t d = from; d <= to; d++)
		if ((tables[d - from] = daytab_new(r->areas, d)) == NULL)
			goto fail;
	res = db_query(r->daemon->db, "read aggregates", PGRES_TUPLES_OK, SQL_DAYS, 1, params);
	if (res == NULL)
		goto fail;
	for (int i = 0; i < PQntuples(res); i++)
		s_spread(res, i, from, to, tables);
	PQclear(res);
	return true;
fail:
	for (int32_t d = from; d <= to; d++)
		daytab_free(&tables[d - from]);
	return false;
}

/* Publishes t if it changed since; t. */
static struct day_table *
s_published(struct reportd *r, struct day_table *t)
{
	if (t != NULL && t->dirty)
		daytab_publish(t, s_config(r)->suppress_below);
	return t;
}

struct day_table *
aggregate_day(struct reportd *r, int32_t day)
{
	int free_slot = -1;

	if (day == r->current_day)
		return r->current_loaded ? s_published(r, r->today) : NULL;
	if (day > r->current_day)
		return NULL;
	for (int i = 0; i < DAYTAB_CACHE; i++) {
		if (r->history[i] != NULL && r->history[i]->day == day)
			return s_published(r, r->history[i]);
		if (r->history[i] == NULL && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0) {
		/* full: the slot of the oldest day goes */
		free_slot = 0;
		for (int i = 1; i < DAYTAB_CACHE; i++)
			if (r->history[i]->day < r->history[free_slot]->day)
				free_slot = i;
		daytab_free(&r->history[free_slot]);
	}
	if (!aggregate_load(r, day, day, &r->history[free_slot]))
		return NULL;
	return s_published(r, r->history[free_slot]);
}
