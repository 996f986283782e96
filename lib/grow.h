/* Growing arrays: one way to make room, doubling, for every list in gridwall. */
#ifndef GRIDWALL_GROW_H
#define GRIDWALL_GROW_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Makes *array (of *cap elements of size bytes) hold at least need
 * elements, doubling from first; false when memory is short (the array
 * is then untouched).
 */
bool grow(void **array, size_t *cap, size_t need, size_t size, size_t first);

#endif
