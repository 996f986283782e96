/*
 * Small-count suppression (rules in suppress.h, reasons in docs/privacy.md).
 *
 * How. The cells are indexed by code (sorted, binary search for parents),
 * checked (unique codes, parents present, no cycle, counts >= 0, parent =
 * sum of children), and each parent's children are grouped and sorted by
 * (count, code). Rule 1 marks the primary cells and every relation (a
 * parent and its children) keeps a count of its withheld cells. Then the
 * relations are visited top down (by depth, then code) and each with
 * exactly one withheld cell is repaired: one more of its cells is withheld,
 * its first published non-zero child in (count, code) order, else the
 * parent. A withheld child also sits in its own relation, one level down,
 * whose count goes up there before that relation is visited; hence top
 * down: a complement chosen above often already pairs a small cell below,
 * where visiting the lower relation first would have withheld one more.
 * Passes repeat until one repairs nothing (only the parent fallback, which
 * acts one level up, could make a second pass repair anything). Neither
 * the input order nor anything but codes and counts decides the result.
 *
 * Termination. A relation's count of withheld cells never goes down: cells
 * are only ever withheld, never published again. A relation is repaired only
 * while its count is exactly 1, and the repair makes it 2, so each relation
 * is repaired at most once. Every pass but the last repairs at least one,
 * so there are at most (relations + 1) passes, and on a valid table two:
 * O(n) after the O(n log n) sorts. The last pass found every relation's
 * count other than 1 and changed none: that is the fixed point, no
 * relation has exactly one withheld cell.
 * The repair always finds a cell: the relation has one withheld cell; if it
 * is a child, the parent is published; if it is the parent, its children
 * are all published and not all zero (a withheld cell is never zero: see
 * below, and the parent is their sum). Nor is the parent fallback ever
 * needed on a valid table: it would take a withheld child c that is the
 * only non-zero child of a published parent p, so c = p, non-zero and
 * published, hence >= k: not primary. Nor can c have been chosen in p's
 * relation, which then held no other withheld cell to complement (p is
 * published, the other children are zeros). So c was itself withheld as a
 * fallback parent, in its own relation, earlier: the first fallback ever
 * has no earlier one to follow. The code keeps the fallback (and the
 * passes after the first) because the rule promises it, not because a
 * valid table can reach it.
 *
 * What it achieves. No cell from 1 to k-1 is published, no withheld cell
 * is zero (primaries are not, complements are chosen non-zero), and no
 * relation has exactly one withheld cell. On a tree that means no withheld
 * count is a linear combination of the published counts of the table.
 * Sketch: take relations as nodes and withheld cells as edges (a cell with
 * a parent and children joins two relations; a leaf or a root is a loose
 * end of one); this is a forest. A combination sum(l_R * R) leaves a
 * joining cell the coefficient l_A - l_B and a loose end +-l_A. To isolate
 * cell x, l must be constant on each piece of the forest left when x is
 * cut away, and 0 on every piece with another loose end. But a piece of m
 * relations, each holding >= 2 withheld cells, has >= 2m cell ends, of
 * which its m - 1 inner edges give 2m - 2 and x one: it has another loose
 * end. So both sides of x have l = 0, and x's coefficient is 0. (The unit
 * tests check this by linear algebra on a few hundred random trees.)
 *
 * What it does NOT protect against (keep docs/privacy.md in step):
 *  - bounds: everyone knows a count is >= 0 and, since zero is always
 *    published, that a withheld count is >= 1. A town of 12 with
 *    communities 1, 1 and 10 publishes 12 and 10; the two withheld cells
 *    add up to 2 and are each >= 1, so both are 1. Across levels, the
 *    least a withheld cell can hold (the published part of its children
 *    plus 1 per withheld child) can pin values the same way. It takes a
 *    withheld total close to the least its cells can hold. A rule such as
 *    "a relation's withheld total must itself be 0 or >= k, and more than
 *    one per withheld cell" would close the single-relation case;
 *    suppress_apply does not apply it (docs/privacy.md names the limit).
 *  - differencing: each call sees one measure on one day. Two days (or a
 *    cumulative total next to the daily ones), two snapshots of the same
 *    day as counts grow, two measures where one is a part of another (or a
 *    measure published elsewhere, e.g. by the staff views): subtracting
 *    published numbers across them can yield a withheld count, and a
 *    complement chosen differently from one snapshot to the next can
 *    reveal what the first snapshot withheld.
 *  - outside knowledge: someone who knows 2 of a grid's 3 fevers knows the
 *    third; suppression only stops the table alone from telling.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

#define S_NONE     ((size_t)-1)   /* no parent */
#define S_UNKNOWN  ((size_t)-1)   /* depth not yet known */
#define S_VISITING ((size_t)-2)   /* depth being worked out: on the current path */

/* A cell's place in the tree and its relation (the cell as a parent). */
struct s_node {
	size_t parent;          /* index, or S_NONE */
	size_t first, nkids;    /* its children: kids[first .. first + nkids) */
	size_t depth;           /* 0 for a root */
	size_t nwithheld;       /* withheld cells of its relation (itself and children) */
};

/* What the sorts order: a cell by code, by parent then count, or by depth. */
struct s_ref {
	const char *code;
	size_t index;
	size_t group;           /* parent index, or depth */
	int64_t count;
};

/* The working state of one call. */
struct s_table {
	struct suppress_cell *cells;
	size_t n;
	struct s_node *nodes;
	struct s_ref *refs;     /* sorted by code once the index is built */
	struct s_ref *tmp;      /* for the other sorts */
	size_t *kids;           /* children grouped by parent, each group by (count, code) */
	size_t *order;          /* relations by (depth, code); first the path stack of s_depths */
	size_t nrelations;
	char *err;
	size_t errlen;
};

static bool s_fail(struct s_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes a message into the caller's err, if any; returns false. */
static bool
s_fail(struct s_table *t, const char *fmt, ...)
{
	va_list ap;

	if (t->err != NULL && t->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(t->err, t->errlen, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* Orders refs by code. */
static int
s_cmp_code(const void *a, const void *b)
{
	return strcmp(((const struct s_ref *)a)->code, ((const struct s_ref *)b)->code);
}

/* Orders children by parent, then count, then code. */
static int
s_cmp_kid(const void *a, const void *b)
{
	const struct s_ref *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->count != y->count)
		return x->count < y->count ? -1 : 1;
	return strcmp(x->code, y->code);
}

/* Orders relations top down: by depth, then by code. */
static int
s_cmp_relation(const void *a, const void *b)
{
	const struct s_ref *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return strcmp(x->code, y->code);
}

/* Allocates the working arrays; false when memory is short. */
static bool
s_alloc(struct s_table *t)
{
	t->nodes = calloc(t->n, sizeof(*t->nodes));
	t->refs = calloc(t->n, sizeof(*t->refs));
	t->tmp = calloc(t->n, sizeof(*t->tmp));
	t->kids = calloc(t->n, sizeof(*t->kids));
	t->order = calloc(t->n, sizeof(*t->order));
	if (t->nodes && t->refs && t->tmp && t->kids && t->order)
		return true;
	return s_fail(t, "out of memory for a table of %zu cells", t->n);
}

/* Frees what s_alloc allocated (any of it may be NULL). */
static void
s_free(struct s_table *t)
{
	free(t->nodes);
	free(t->refs);
	free(t->tmp);
	free(t->kids);
	free(t->order);
}

/* Sorts the cells by code, refusing a missing code, a repeated one or a negative count. */
static bool
s_index(struct s_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->cells[i].code == NULL)
			return s_fail(t, "a cell has no code");
		if (t->cells[i].count < 0)
			return s_fail(t, "area %s has a negative count", t->cells[i].code);
		t->refs[i] = (struct s_ref){ t->cells[i].code, i, 0, 0 };
	}
	qsort(t->refs, t->n, sizeof(*t->refs), s_cmp_code);
	for (size_t i = 1; i < t->n; i++)
		if (strcmp(t->refs[i - 1].code, t->refs[i].code) == 0)
			return s_fail(t, "area %s is in the table twice", t->refs[i].code);
	return true;
}

/* The index of the cell with this code, or S_NONE. */
static size_t
s_find(const struct s_table *t, const char *code)
{
	struct s_ref key = { code, 0, 0, 0 };
	const struct s_ref *r = bsearch(&key, t->refs, t->n, sizeof(*t->refs), s_cmp_code);

	return r != NULL ? r->index : S_NONE;
}

/* Links every cell to its parent, which must be in the table and not the cell itself. */
static bool
s_parents(struct s_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const char *p = t->cells[i].parent;

		t->nodes[i].parent = S_NONE;
		t->nodes[i].depth = S_UNKNOWN;
		if (p == NULL)
			continue;
		t->nodes[i].parent = s_find(t, p);
		if (t->nodes[i].parent == S_NONE)
			return s_fail(t, "parent %s of area %s is not in the table", p, t->cells[i].code);
		if (t->nodes[i].parent == i)
			return s_fail(t, "area %s is its own parent", p);
	}
	return true;
}

/*
 * Works out every cell's depth, walking up from each cell to a root or to
 * a cell whose depth is known and numbering the path on the way back, so
 * each cell is walked once. Meeting the current path again is a cycle.
 */
static bool
s_depths(struct s_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		size_t len = 0, at = i, d;

		while (at != S_NONE && t->nodes[at].depth == S_UNKNOWN) {
			t->nodes[at].depth = S_VISITING;
			t->order[len++] = at;
			at = t->nodes[at].parent;
		}
		if (at != S_NONE && t->nodes[at].depth == S_VISITING)
			return s_fail(t, "area %s is its own ancestor", t->cells[at].code);
		d = at == S_NONE ? 0 : t->nodes[at].depth + 1;
		while (len > 0)
			t->nodes[t->order[--len]].depth = d++;
	}
	return true;
}

/* Groups the children under their parents, each group by (count, code). */
static void
s_children(struct s_table *t)
{
	size_t m = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->nodes[i].parent != S_NONE)
			t->tmp[m++] = (struct s_ref){ t->cells[i].code, i, t->nodes[i].parent,
			                              t->cells[i].count };
	qsort(t->tmp, m, sizeof(*t->tmp), s_cmp_kid);
	for (size_t j = 0; j < m; j++) {
		struct s_node *p = &t->nodes[t->tmp[j].group];

		t->kids[j] = t->tmp[j].index;
		if (p->nkids++ == 0)
			p->first = j;
	}
}

/* Checks that every parent's count is the sum of its children's. */
static bool
s_sums(struct s_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct s_node *p = &t->nodes[i];
		int64_t sum = 0;

		if (p->nkids == 0)
			continue;
		for (size_t j = p->first; j < p->first + p->nkids; j++) {
			int64_t c = t->cells[t->kids[j]].count;

			if (sum > INT64_MAX - c)
				return s_fail(t, "the children of area %s overflow their sum",
				              t->cells[i].code);
			sum += c;
		}
		if (sum != t->cells[i].count)
			return s_fail(t, "area %s is not the sum of its children", t->cells[i].code);
	}
	return true;
}

/* Withholds cell i, counting it in its parent's relation and in its own. */
static void
s_withhold(struct s_table *t, size_t i)
{
	t->cells[i].withheld = true;
	if (t->nodes[i].parent != S_NONE)
		t->nodes[t->nodes[i].parent].nwithheld++;
	if (t->nodes[i].nkids > 0)
		t->nodes[i].nwithheld++;
}

/*
 * The cell to withhold in the relation of p, which holds exactly one: its
 * first published non-zero child in (count, code) order; else p when
 * published; else its first published child (a zero: only on a table whose
 * sums are wrong, which s_sums refuses; kept so a repair always withholds).
 */
static size_t
s_complement(const struct s_table *t, size_t p)
{
	const struct s_node *node = &t->nodes[p];
	size_t zero = S_NONE;

	for (size_t j = node->first; j < node->first + node->nkids; j++) {
		size_t c = t->kids[j];

		if (t->cells[c].withheld)
			continue;
		if (t->cells[c].count > 0)
			return c;
		if (zero == S_NONE)
			zero = c;
	}
	return t->cells[p].withheld ? zero : p;
}

/* Rule 1: the primary cells, and each relation's count of withheld cells. */
static void
s_primary(struct s_table *t, int64_t k)
{
	for (size_t i = 0; i < t->n; i++)
		t->cells[i].withheld = t->cells[i].count > 0 && t->cells[i].count < k;
	for (size_t i = 0; i < t->n; i++) {
		struct s_node *node = &t->nodes[i];

		if (node->nkids == 0)
			continue;
		node->nwithheld = t->cells[i].withheld;
		for (size_t j = node->first; j < node->first + node->nkids; j++)
			node->nwithheld += t->cells[t->kids[j]].withheld;
	}
}

/* Lists the relations top down: by depth, then by code. */
static void
s_relations(struct s_table *t)
{
	size_t m = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->nodes[i].nkids > 0)
			t->tmp[m++] = (struct s_ref){ t->cells[i].code, i, t->nodes[i].depth, 0 };
	qsort(t->tmp, m, sizeof(*t->tmp), s_cmp_relation);
	for (size_t j = 0; j < m; j++)
		t->order[j] = t->tmp[j].index;
	t->nrelations = m;
}

/* Rule 2: passes top down, repairing, until no relation has exactly one withheld cell. */
static void
s_complementary(struct s_table *t)
{
	bool repaired;

	do {
		repaired = false;
		for (size_t j = 0; j < t->nrelations; j++) {
			size_t p = t->order[j], c;

			if (t->nodes[p].nwithheld != 1)
				continue;
			c = s_complement(t, p);
			if (c != S_NONE) {
				s_withhold(t, c);
				repaired = true;
			}
		}
	} while (repaired);
}

/* Checks the table, then suppresses; on any failure withholds every cell. */
bool
suppress_apply(struct suppress_cell *cells, size_t n, int64_t k, char *err, size_t errlen)
{
	struct s_table t = { .cells = cells, .n = n, .err = err, .errlen = errlen };
	bool ok;

	if (n == 0)
		return true;
	if (cells == NULL)
		return s_fail(&t, "no cells");
	ok = s_alloc(&t) && s_index(&t) && s_parents(&t) && s_depths(&t);
	if (ok) {
		s_children(&t);
		ok = s_sums(&t);
	}
	if (ok) {
		s_primary(&t, k);
		s_relations(&t);
		s_complementary(&t);
	} else
		for (size_t i = 0; i < n; i++)
			cells[i].withheld = true;
	s_free(&t);
	return ok;
}
