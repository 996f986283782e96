/*
 * PostgreSQL's binary array format (array_recv), the writer side: int32
 * dimensions, int32 flags (has nulls), element type OID, then per dimension
 * int32 length and lower bound, then the elements, each an int32 length
 * (-1 for NULL) and its bytes. All integers big-endian. An empty array is
 * the 12-byte header with no dimension.
 */
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"

#define PGARRAY_HEADER 20      /* ndim, flags, elemtype, length, lower bound */

/* Makes room for n more bytes. */
static bool
s_reserve(struct pgarray *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->failed)
		return false;
	if (a->len + n <= a->cap)
		return true;
	cap = a->cap ? a->cap : 4096;
	while (cap < a->len + n)
		cap *= 2;
	p = realloc(a->buf, cap);
	if (p == NULL) {
		a->failed = true;
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

/* Writes a big-endian 32-bit integer at p. */
static void
s_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Appends one element: its length (UINT32_MAX for NULL) and bytes. */
static void
s_element(struct pgarray *a, const void *data, uint32_t n, bool null)
{
	if (!s_reserve(a, 4 + (null ? 0 : n)))
		return;
	s_be32(a->buf + a->len, null ? UINT32_MAX : n);
	a->len += 4;
	if (!null) {
		memcpy(a->buf + a->len, data, n);
		a->len += n;
	}
	a->has_null |= null;
	a->count++;
}

void
pgarray_begin(struct pgarray *a, uint32_t elemtype)
{
	a->len = 0;
	a->count = 0;
	a->has_null = false;
	a->failed = false;
	a->elemtype = elemtype;
	if (s_reserve(a, PGARRAY_HEADER))
		a->len = PGARRAY_HEADER;
}

void
pgarray_text(struct pgarray *a, const char *s)
{
	s_element(a, s, s ? (uint32_t)strlen(s) : 0, s == NULL);
}

void
pgarray_int4(struct pgarray *a, int32_t v)
{
	uint8_t b[4];

	s_be32(b, (uint32_t)v);
	s_element(a, b, 4, false);
}

void
pgarray_int8(struct pgarray *a, int64_t v)
{
	uint8_t b[8];

	s_be32(b, (uint32_t)((uint64_t)v >> 32));
	s_be32(b + 4, (uint32_t)v);
	s_element(a, b, 8, false);
}

bool
pgarray_end(struct pgarray *a)
{
	if (a->failed)
		return false;
	s_be32(a->buf, a->count ? 1 : 0);
	s_be32(a->buf + 4, a->has_null ? 1 : 0);
	s_be32(a->buf + 8, a->elemtype);
	if (a->count == 0) {
		a->len = 12;
		return true;
	}
	s_be32(a->buf + 12, a->count);
	s_be32(a->buf + 16, 1);
	return true;
}

void
pgarray_params(const struct pgarray *cols, int n, const char **values, int *lengths)
{
	for (int i = 0; i < n; i++) {
		values[i] = (const char *)cols[i].buf;
		lengths[i] = (int)cols[i].len;
	}
}

void
pgarray_free(struct pgarray *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}
