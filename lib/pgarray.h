/*
 * Building one-dimensional array parameters in PostgreSQL's binary format:
 * a header (dimensions, null flag, element type, length, lower bound) and
 * each element length-prefixed. Values travel as their own bytes, so
 * nothing is ever escaped or quoted; a whole column of a batch is one
 * parameter.
 */
#ifndef GRIDWALL_PGARRAY_H
#define GRIDWALL_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGARRAY_INT8 20u       /* element type OIDs */
#define PGARRAY_INT4 23u
#define PGARRAY_TEXT 25u

struct pgarray {
	uint8_t *buf;
	size_t len, cap;
	uint32_t elemtype;
	uint32_t count;
	bool has_null;
	bool failed;           /* out of memory: the array is unusable */
};

/* Starts an empty array of elemtype, reusing the buffer's memory. */
void pgarray_begin(struct pgarray *a, uint32_t elemtype);
/* Appends a text element; NULL is an SQL NULL. */
void pgarray_text(struct pgarray *a, const char *s);
/* Appends an int4 element. */
void pgarray_int4(struct pgarray *a, int32_t v);
/* Appends an int8 element. */
void pgarray_int8(struct pgarray *a, int64_t v);
/* Completes the header; false if memory ran out. */
bool pgarray_end(struct pgarray *a);
void pgarray_free(struct pgarray *a);
/* The n arrays as the values and lengths of binary statement parameters. */
void pgarray_params(const struct pgarray *cols, int n, const char **values, int *lengths);

#endif
