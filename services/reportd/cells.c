/*
 * The map of (day, area) cells behind a transaction's changes. Open addressing with linear probing; it
 * holds at most a few thousand cells, so it is cleared rather than shrunk.
 */
#include <stdlib.h>
#include <string.h>

#include "reportd.h"

/* FNV-1a over the day and the code. */
static size_t
s_hash(int32_t day, const char *code)
{
	uint64_t h = 1469598103934665603ULL ^ (uint32_t)day;

	for (; *code; code++)
		h = (h ^ (unsigned char)*code) * 1099511628211ULL;
	return (size_t)h;
}

/* The slot of (day, code): its cell, or the empty slot where it would go. */
static size_t
s_slot(const struct cell_map *m, int32_t day, const char *code)
{
	size_t i = s_hash(day, code) & (m->cap - 1);

	while (m->used[i] && (m->cells[i].day != day || strcmp(m->cells[i].code, code) != 0))
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Doubles the table, rehashing every cell. */
static bool
s_grow(struct cell_map *m)
{
	struct cell_map bigger = { 0 };

	bigger.cap = m->cap ? m->cap * 2 : 64;
	bigger.cells = calloc(bigger.cap, sizeof(*bigger.cells));
	bigger.used = calloc(bigger.cap, sizeof(*bigger.used));
	if (bigger.cells == NULL || bigger.used == NULL) {
		cell_map_free(&bigger);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->used[i]) {
			size_t j = s_slot(&bigger, m->cells[i].day, m->cells[i].code);

			bigger.cells[j] = m->cells[i];
			bigger.used[j] = true;
			bigger.n++;
		}
	}
	cell_map_free(m);
	*m = bigger;
	return true;
}

/* The cell for (day, code), created empty when new; NULL when memory is short. */
static struct cell *
s_get(struct cell_map *m, int32_t day, const char *code)
{
	size_t i;

	if ((m->n + 1) * 10 > m->cap * 7 && !s_grow(m))
		return NULL;
	i = s_slot(m, day, code);
	if (!m->used[i]) {
		memset(&m->cells[i], 0, sizeof(m->cells[i]));
		m->cells[i].day = day;
		snprintf(m->cells[i].code, sizeof(m->cells[i].code), "%s", code);
		m->used[i] = true;
		m->n++;
	}
	return &m->cells[i];
}

bool
cell_map_add(struct cell_map *m, const struct cell *delta)
{
	struct cell *c = s_get(m, delta->day, delta->code);

	if (c == NULL)
		return false;
	for (int k = 0; k < MEASURES; k++)
		c->v[k] += delta->v[k];
	return true;
}

bool
cell_map_count(struct cell_map *m, const struct area_tree *areas, int32_t day, const char *grid,
               enum measure measure, int64_t n)
{
	char codes[AREA_LEVELS][AREA_CODE_MAX];
	size_t levels = area_ancestors(grid, codes);

	for (size_t k = 0; k < levels; k++) {
		struct cell *c;

		/* an area missing from the tree would break the foreign key: skip it */
		if (area_find(areas, codes[k]) == NULL)
			continue;
		c = s_get(m, day, codes[k]);
		if (c == NULL)
			return false;
		c->v[measure] += n;
	}
	return true;
}

void
cell_map_clear(struct cell_map *m)
{
	if (m->used != NULL)
		memset(m->used, 0, m->cap * sizeof(*m->used));
	m->n = 0;
}

void
cell_map_free(struct cell_map *m)
{
	free(m->cells);
	free(m->used);
	memset(m, 0, sizeof(*m));
}
