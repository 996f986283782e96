/*
 * Building PostgreSQL's binary COPY format in memory: a header, one tuple
 * per row with each field length-prefixed, and a trailer. Values travel as
 * their own bytes, so nothing is ever escaped or quoted.
 */
#ifndef GRIDWALL_PGCOPY_H
#define GRIDWALL_PGCOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pgcopy {
	uint8_t *buf;
	size_t len, cap;
	bool failed;          /* out of memory: the whole buffer is unusable */
};

/* Starts a new buffer with the binary COPY header (reusing its memory). */
void pgcopy_begin(struct pgcopy *c);
/* Starts a tuple of nfields fields. */
void pgcopy_row(struct pgcopy *c, int16_t nfields);
/* A text (or any textual-input) field; NULL is SQL NULL. */
void pgcopy_text(struct pgcopy *c, const char *s);
/* An int4 field. */
void pgcopy_int4(struct pgcopy *c, int32_t v);
/* Appends the trailer; false if memory ran out anywhere. */
bool pgcopy_end(struct pgcopy *c);
void pgcopy_free(struct pgcopy *c);

#endif
