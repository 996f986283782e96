/*
 * The area tree in memory: every city, district, town, community and grid
 * keyed by its code in an open-addressing hash table (linear probing, power
 * of two size, grown at 3/4 load). The hierarchy needs no pointers because
 * codes nest by prefix: the ancestors of a code are its first 4, 6, 9 and
 * 12 digits. Each area is allocated on its own, so a pointer returned by
 * area_find stays valid while the table grows; all of them live until
 * area_tree_destroy.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "area.h"

#define AREA_TABLE_MIN 64   /* initial slots; always a power of two */

struct area_tree {
	struct area **slots;   /* NULL for an empty slot */
	size_t cap;            /* number of slots, a power of two */
	size_t count;          /* areas stored */
};

/* Code length of each level, indexed by enum area_level. */
static const size_t code_len[AREA_LEVELS] = { 4, 6, 9, 12, 15 };

static const char *const area_level_names[AREA_LEVELS] = {
	"city", "district", "town", "community", "grid",
};

static const char area_path_sep[] = " / ";

/* FNV-1a over the code: short digit strings spread well enough. */
static size_t
s_hash(const char *code)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)code; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* The slot that holds code, or the empty slot where it would go. */
static size_t
s_probe(struct area **slots, size_t cap, const char *code)
{
	size_t i = s_hash(code) & (cap - 1);

	while (slots[i] != NULL && strcmp(slots[i]->code, code) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Doubles the table and rehashes every area into it; -1 on OOM. */
static int
s_grow(struct area_tree *tree)
{
	size_t cap = tree->cap * 2;
	struct area **slots;

	if (cap < tree->cap || cap > SIZE_MAX / sizeof(*slots))
		return -1;
	slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < tree->cap; i++) {
		struct area *a = tree->slots[i];

		if (a != NULL)
			slots[s_probe(slots, cap, a->code)] = a;
	}
	free(tree->slots);
	tree->slots = slots;
	tree->cap = cap;
	return 0;
}

/* True if the first len characters of code are all ASCII digits. */
static bool
s_all_digits(const char *code, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

/* An empty tree, ready for area_tree_add; NULL on OOM. */
struct area_tree *
area_tree_new(void)
{
	struct area_tree *tree = calloc(1, sizeof(*tree));

	if (tree == NULL)
		return NULL;
	tree->slots = calloc(AREA_TABLE_MIN, sizeof(*tree->slots));
	if (tree->slots == NULL) {
		free(tree);
		return NULL;
	}
	tree->cap = AREA_TABLE_MIN;
	return tree;
}

/* Frees the tree and every area in it, and NULLs the caller's pointer. */
void
area_tree_destroy(struct area_tree **tree_p)
{
	struct area_tree *tree;

	if (tree_p == NULL || *tree_p == NULL)
		return;
	tree = *tree_p;
	for (size_t i = 0; i < tree->cap; i++) {
		if (tree->slots[i] != NULL) {
			free(tree->slots[i]->name);
			free(tree->slots[i]);
		}
	}
	free(tree->slots);
	free(tree);
	*tree_p = NULL;
}

/* Adds an area, or renames it if its code is already there. */
int
area_tree_add(struct area_tree *tree, const char *code, enum area_level level,
    const char *name)
{
	struct area *a;
	char *copy;
	size_t i;

	if (tree == NULL || code == NULL || name == NULL)
		return -1;
	if (level < AREA_CITY || level > AREA_GRID ||
	    area_level_of_code(code) != level)
		return -1;
	copy = strdup(name);
	if (copy == NULL)
		return -1;

	i = s_probe(tree->slots, tree->cap, code);
	if (tree->slots[i] != NULL) {
		free(tree->slots[i]->name);
		tree->slots[i]->name = copy;
		return 0;
	}
	/* Grow first, so the load stays at most 3/4 after this insert. */
	if ((tree->count + 1) * 4 > tree->cap * 3) {
		if (s_grow(tree) == -1) {
			free(copy);
			return -1;
		}
		i = s_probe(tree->slots, tree->cap, code);
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		free(copy);
		return -1;
	}
	memcpy(a->code, code, strlen(code) + 1);
	a->name = copy;
	a->level = level;
	tree->slots[i] = a;
	tree->count++;
	return 0;
}

/* The area with exactly this code, or NULL. */
const struct area *
area_find(const struct area_tree *tree, const char *code)
{
	size_t i;

	if (tree == NULL || code == NULL ||
	    strnlen(code, AREA_CODE_MAX) >= AREA_CODE_MAX)
		return NULL;
	i = s_probe(tree->slots, tree->cap, code);
	return tree->slots[i];
}

/* How many areas the tree holds. */
size_t
area_tree_count(const struct area_tree *tree)
{
	return tree == NULL ? 0 : tree->count;
}

/* qsort: areas by code. */
static int
s_by_code(const void *a, const void *b)
{
	return strcmp((*(const struct area *const *)a)->code, (*(const struct area *const *)b)->code);
}

size_t
area_tree_list(const struct area_tree *tree, const struct area **out)
{
	size_t n = 0;

	if (tree == NULL)
		return 0;
	for (size_t i = 0; i < tree->cap; i++)
		if (tree->slots[i] != NULL)
			out[n++] = tree->slots[i];
	qsort(out, n, sizeof(*out), s_by_code);
	return n;
}

size_t
area_code_len(enum area_level level)
{
	return level >= AREA_CITY && level <= AREA_GRID ? code_len[level] : 0;
}

/* Maps 4, 6, 9, 12 and 15 digits to city .. grid. */
enum area_level
area_level_of_code(const char *code)
{
	size_t len;

	if (code == NULL)
		return AREA_INVALID;
	len = strnlen(code, AREA_CODE_MAX);
	if (!s_all_digits(code, len))
		return AREA_INVALID;
	for (int l = AREA_CITY; l <= AREA_GRID; l++)
		if (code_len[l] == len)
			return (enum area_level)l;
	return AREA_INVALID;
}

/* Parses a level name as the areas table spells it. */
enum area_level
area_level_parse(const char *name)
{
	if (name == NULL)
		return AREA_INVALID;
	for (int l = AREA_CITY; l <= AREA_GRID; l++)
		if (strcmp(name, area_level_names[l]) == 0)
			return (enum area_level)l;
	return AREA_INVALID;
}

/* The name of a level as the areas table spells it; NULL if invalid. */
const char *
area_level_name(enum area_level level)
{
	if (level < AREA_CITY || level > AREA_GRID)
		return NULL;
	return area_level_names[level];
}

/* Writes the code's prefixes for each level down to its own, city first. */
size_t
area_ancestors(const char *code, char out[AREA_LEVELS][AREA_CODE_MAX])
{
	enum area_level level = area_level_of_code(code);
	size_t n;

	if (level == AREA_INVALID || out == NULL)
		return 0;
	n = (size_t)level + 1;
	for (size_t i = 0; i < n; i++) {
		memcpy(out[i], code, code_len[i]);
		out[i][code_len[i]] = '\0';
	}
	return n;
}

/*
 * Appends s at buf[*used]; if it does not fit, appends what does, cut at a
 * UTF-8 character boundary, and returns false so the caller stops there.
 */
static bool
s_append(char *buf, size_t len, size_t *used, const char *s)
{
	size_t room = len - 1 - *used;
	size_t n = strlen(s);
	bool whole = true;

	if (n > room) {
		n = room;
		/* Back off to the start of the character that did not fit. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		whole = false;
	}
	memcpy(buf + *used, s, n);
	*used += n;
	buf[*used] = '\0';
	return whole;
}

/* Names of the existing ancestors joined by " / ", else the code itself. */
void
area_path(const struct area_tree *tree, const char *code, char *buf, size_t len)
{
	char codes[AREA_LEVELS][AREA_CODE_MAX];
	size_t n, used = 0, mark, named;
	bool any = false;

	if (buf == NULL || len == 0)
		return;
	buf[0] = '\0';
	if (code == NULL)
		return;
	n = area_ancestors(code, codes);
	for (size_t i = 0; i < n; i++) {
		const struct area *a = area_find(tree, codes[i]);

		if (a == NULL)
			continue;
		mark = used;
		if (any && !s_append(buf, len, &used, area_path_sep)) {
			buf[mark] = '\0';
			return;
		}
		named = used;
		if (!s_append(buf, len, &used, a->name)) {
			/* A separator with nothing after it only adds noise. */
			if (used == named)
				buf[mark] = '\0';
			return;
		}
		any = true;
	}
	if (!any)
		(void)s_append(buf, len, &used, code);
}
