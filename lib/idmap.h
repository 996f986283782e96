/*
 * A map from a database id (a positive int64) to a slot number, by open
 * addressing: rulesd finds the state of a person or household among
 * millions in a few nanoseconds. Nothing is ever removed.
 */
#ifndef GRIDWALL_IDMAP_H
#define GRIDWALL_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDMAP_NONE UINT32_MAX

struct idmap {
	int64_t *keys;                 /* 0: empty */
	uint32_t *slots;
	size_t cap;                    /* a power of two */
	size_t n;
};

void idmap_init(struct idmap *m);
void idmap_free(struct idmap *m);
/* The slot of id, or IDMAP_NONE. */
uint32_t idmap_get(const struct idmap *m, int64_t id);
/* Maps id (> 0) to slot; false when memory is short. */
bool idmap_put(struct idmap *m, int64_t id, uint32_t slot);

#endif
