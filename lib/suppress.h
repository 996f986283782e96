/*
 * Small-count suppression for public aggregate output (see docs/privacy.md).
 *
 * The input is one table: the cells of ONE measure (screened, fevers, ...)
 * on ONE day, one cell per area, each with its parent's code and a count.
 * The table must be closed under the hierarchy: every parent named is in
 * it, and a parent's count is the sum of its children's counts whenever it
 * has children in the table. reportd's aggregates are, as long as every
 * area counted is in its area tree: each screening is added to its grid
 * and to every area above it. The output is a flag per cell: withheld, or
 * published.
 *
 *   Rule 1 (primary): a count from 1 to k-1 is withheld. Zero is published:
 *   it is not a small count of persons.
 *   Rule 2 (complementary): every parent with children in the table forms
 *   the relation parent = sum(children). While some relation holds exactly
 *   one withheld cell, that cell could be worked out from the others, so one
 *   more cell of that relation is withheld: its smallest published non-zero
 *   child (ties: lowest code), or the parent if no child can be. Relations
 *   are repaired top down, to a fixed point.
 *
 * Afterwards no count from 1 to k-1 is published, no zero is withheld, and
 * no withheld count is a linear combination of the table's published ones.
 * Bounds can still give one away (a total of 12 = 1 + 1 + 10 with 12 and
 * 10 published: withheld counts are at least 1, so both are 1), and so can
 * differences across days, snapshots and measures: see lib/suppress.c and
 * docs/privacy.md before relying on more.
 *
 * Cells may come in any order; the result does not depend on it. The flags
 * are the only thing written. No global state; O(n log n).
 */
#ifndef GRIDWALL_SUPPRESS_H
#define GRIDWALL_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* k when nothing configures it (the key suppress_below). */
#define SUPPRESS_BELOW_DEFAULT 5

/* One area's count of the measure; withheld is the answer. */
struct suppress_cell {
	const char *code;       /* the area's code, unique in the table */
	const char *parent;     /* the parent's code, NULL for a root */
	int64_t count;          /* >= 0 */
	bool withheld;          /* out: true when the count must not be published */
};

/*
 * Decides which of the n cells are withheld for threshold k: counts from 1
 * to k-1 and their complements (k <= 1 withholds nothing). Returns true, or
 * false with a message in err (when err is not NULL) when the table breaks
 * the rules above (a code missing or repeated, a parent not in the table, a
 * cycle, a negative count, a parent that is not the sum of its children) or
 * memory is short. On false EVERY cell is marked withheld, so that a caller
 * who publishes what is not withheld publishes nothing.
 */
bool suppress_apply(struct suppress_cell *cells, size_t n, int64_t k, char *err, size_t errlen);

#endif
