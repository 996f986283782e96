/*
 * A day table: every area of the tree on one local day, by code, with its
 * counts as daily_aggregates sums them and, once published, its figures as
 * the public sees them: the households not reached in place of those
 * covered, and every figure of 1 to k-1 withheld with its complements
 * (lib/suppress.h), figure by figure over the whole tree, so that any
 * query, feed update or snapshot of that day withholds the same cells.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reportd.h"
#include "suppress.h"

const char *const measure_column[MEASURES] = {
	"screenings", "persons_screened", "households_screened", "fevers", "new_alerts", "released",
	"registered_change", "covered_change", "observed_change", "high_open_change",
};

const char *const figure_name[MEASURES] = {
	"screenings", "persons_screened", "households_screened", "fevers", "new_alerts", "released",
	"households_registered", "households_not_reached", "key_persons", "high_risk",
};

/* The code of the area's parent: its first 4, 6, 9 or 12 digits; "" for the city. */
static void
s_parent_code(const struct area *a, char *buf)
{
	size_t len = a->level > AREA_CITY ? area_code_len(a->level - 1) : 0;

	memcpy(buf, a->code, len);
	buf[len] = '\0';
}

struct day_table *
daytab_new(const struct area_tree *areas, int32_t day)
{
	size_t cap = area_tree_count(areas);
	struct day_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->day = day;
	t->areas = calloc(cap ? cap : 1, sizeof(*t->areas));
	t->parent = calloc(cap ? cap : 1, sizeof(*t->parent));
	t->rows = calloc(cap ? cap : 1, sizeof(*t->rows));
	t->pub = calloc(cap ? cap : 1, sizeof(*t->pub));
	if (t->areas == NULL || t->parent == NULL || t->rows == NULL || t->pub == NULL) {
		daytab_free(&t);
		return NULL;
	}
	t->n = area_tree_list(areas, t->areas);
	for (size_t i = 0; i < t->n; i++) {
		char parent[AREA_CODE_MAX];

		s_parent_code(t->areas[i], parent);
		t->parent[i] = (int32_t)daytab_find(t, parent);
	}
	t->dirty = true;
	return t;
}

void
daytab_free(struct day_table **tp)
{
	struct day_table *t = *tp;

	if (t == NULL)
		return;
	free(t->areas);
	free(t->parent);
	free(t->rows);
	free(t->pub);
	free(t);
	*tp = NULL;
}

long
daytab_find(const struct day_table *t, const char *code)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->areas[mid]->code, code);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

bool
figures_withheld(const struct figures *f, enum measure m)
{
	return (f->withheld >> m) & 1u;
}

/* Suppresses figure m over the table; a table that breaks the rules is withheld whole (logged). */
static bool
s_suppress(struct day_table *t, enum measure m, int64_t k, struct suppress_cell *cells)
{
	char err[160];
	bool ok;

	for (size_t i = 0; i < t->n; i++)
		cells[i] = (struct suppress_cell){ t->areas[i]->code,
		                                   t->parent[i] >= 0 ? t->areas[t->parent[i]]->code : NULL,
		                                   t->pub[i].v[m], false };
	ok = suppress_apply(cells, t->n, k, err, sizeof(err));
	if (!ok)
		log_warn("%s of day %d withheld whole: %s", figure_name[m], t->day, err);
	for (size_t i = 0; i < t->n; i++)
		if (cells[i].withheld)
			t->pub[i].withheld |= 1u << m;
	return ok;
}

bool
daytab_publish(struct day_table *t, int64_t k)
{
	struct suppress_cell *cells = calloc(t->n ? t->n : 1, sizeof(*cells));

	if (cells == NULL) {
		log_error("out of memory publishing day %d", t->day);
		return false;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct figures *f = &t->pub[i];

		memcpy(f->v, t->rows[i], sizeof(f->v));
		f->v[MEASURE_NOT_REACHED] = t->rows[i][MEASURE_REGISTERED] - t->rows[i][MEASURE_COVERED];
		f->withheld = 0;
	}
	for (int m = 0; m < MEASURES; m++)
		s_suppress(t, (enum measure)m, k, cells);
	free(cells);
	t->dirty = false;
	return true;
}

bool
coverage_added(const int32_t *days, size_t n, int32_t day, int32_t window, int32_t *from,
               int32_t *to)
{
	size_t at = 0;

	while (at < n && days[at] < day)
		at++;
	/* [day, day + window) less what the screening before and the one after cover */
	*from = day;
	*to = day + window;
	if (at > 0 && days[at - 1] + window > *from)
		*from = days[at - 1] + window;
	if (at < n && days[at] < *to)
		*to = days[at];
	return *from < *to;
}
