/* The id-to-slot map: linear probing, grown at half full. */
#include <stdlib.h>

#include "idmap.h"

void
idmap_init(struct idmap *m)
{
	m->keys = NULL;
	m->slots = NULL;
	m->cap = m->n = 0;
}

void
idmap_free(struct idmap *m)
{
	free(m->keys);
	free(m->slots);
	idmap_init(m);
}

/* Where id is, or the empty place where it would go. */
static size_t
s_probe(const int64_t *keys, size_t cap, int64_t id)
{
	size_t mask = cap - 1;
	size_t i = (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> 17) & mask;

	while (keys[i] != 0 && keys[i] != id)
		i = (i + 1) & mask;
	return i;
}

uint32_t
idmap_get(const struct idmap *m, int64_t id)
{
	size_t i;

	if (m->cap == 0)
		return IDMAP_NONE;
	i = s_probe(m->keys, m->cap, id);
	return m->keys[i] == id ? m->slots[i] : IDMAP_NONE;
}

/* Doubles the table (or makes the first one); false when memory is short. */
static bool
s_grow(struct idmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	int64_t *keys = calloc(cap, sizeof(*keys));
	uint32_t *slots = malloc(cap * sizeof(*slots));

	if (keys == NULL || slots == NULL) {
		free(keys);
		free(slots);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] != 0) {
			size_t j = s_probe(keys, cap, m->keys[i]);

			keys[j] = m->keys[i];
			slots[j] = m->slots[i];
		}
	}
	free(m->keys);
	free(m->slots);
	m->keys = keys;
	m->slots = slots;
	m->cap = cap;
	return true;
}

bool
idmap_put(struct idmap *m, int64_t id, uint32_t slot)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && !s_grow(m))
		return false;
	i = s_probe(m->keys, m->cap, id);
	if (m->keys[i] == 0) {
		m->keys[i] = id;
		m->n++;
	}
	m->slots[i] = slot;
	return true;
}
