/*
 * PostgreSQL binary COPY, the writer side. Integers are big-endian; a text
 * field is its length and its bytes; -1 as a length is NULL.
 */
#include <stdlib.h>
#include <string.h>

#include "pgcopy.h"

static const uint8_t PGCOPY_SIGNATURE[11] = { 'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0 };

/* Makes room for n more bytes. */
static bool
s_reserve(struct pgcopy *c, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (c->failed)
		return false;
	if (c->len + n <= c->cap)
		return true;
	cap = c->cap ? c->cap : 65536;
	while (cap < c->len + n)
		cap *= 2;
	p = realloc(c->buf, cap);
	if (p == NULL) {
		c->failed = true;
		return false;
	}
	c->buf = p;
	c->cap = cap;
	return true;
}

/* Appends raw bytes. */
static void
s_put(struct pgcopy *c, const void *data, size_t n)
{
	if (!s_reserve(c, n))
		return;
	memcpy(c->buf + c->len, data, n);
	c->len += n;
}

/* Appends a big-endian 32-bit integer. */
static void
s_put32(struct pgcopy *c, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	s_put(c, b, 4);
}

/* Appends a big-endian 16-bit integer. */
static void
s_put16(struct pgcopy *c, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	s_put(c, b, 2);
}

void
pgcopy_begin(struct pgcopy *c)
{
	c->len = 0;
	c->failed = false;
	s_put(c, PGCOPY_SIGNATURE, sizeof(PGCOPY_SIGNATURE));
	s_put32(c, 0);      /* flags: no OIDs */
	s_put32(c, 0);      /* header extension length */
}

void
pgcopy_row(struct pgcopy *c, int16_t nfields)
{
	s_put16(c, (uint16_t)nfields);
}

void
pgcopy_text(struct pgcopy *c, const char *s)
{
	size_t n;

	if (s == NULL) {
		s_put32(c, UINT32_MAX);
		return;
	}
	n = strlen(s);
	s_put32(c, (uint32_t)n);
	s_put(c, s, n);
}

void
pgcopy_int4(struct pgcopy *c, int32_t v)
{
	s_put32(c, 4);
	s_put32(c, (uint32_t)v);
}

bool
pgcopy_end(struct pgcopy *c)
{
	s_put16(c, UINT16_MAX);
	return !c->failed;
}

void
pgcopy_free(struct pgcopy *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}
