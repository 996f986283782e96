/*
 * The area tree: city, district, town, community and grid codes that nest by
 * prefix (4, 6, 9, 12 and 15 digits). Loaded from the areas table once and
 * kept in memory: validation, alert topics and aggregates all ask it.
 */
#ifndef GRIDWALL_AREA_H
#define GRIDWALL_AREA_H

#include <stdbool.h>
#include <stddef.h>

#define AREA_CODE_MAX 16   /* 15 digits and the NUL */
#define AREA_LEVELS 5

enum area_level {
	AREA_CITY,
	AREA_DISTRICT,
	AREA_TOWN,
	AREA_COMMUNITY,
	AREA_GRID,
	AREA_INVALID = -1,
};

struct area {
	char code[AREA_CODE_MAX];
	char *name;
	enum area_level level;
};

struct area_tree;

struct area_tree *area_tree_new(void);
void area_tree_destroy(struct area_tree **tree_p);

/* Adds an area; returns 0, or -1 if the code is malformed for the level. */
int area_tree_add(struct area_tree *tree, const char *code, enum area_level level,
                  const char *name);
const struct area *area_find(const struct area_tree *tree, const char *code);
size_t area_tree_count(const struct area_tree *tree);

/*
 * Fills out[] (room for area_tree_count entries) with every area, by code;
 * returns how many. The pointers live as long as the tree.
 */
size_t area_tree_list(const struct area_tree *tree, const struct area **out);
/* The code length of an area of the level (4, 6, 9, 12, 15). */
size_t area_code_len(enum area_level level);

/* The level implied by a code's length, or AREA_INVALID. */
enum area_level area_level_of_code(const char *code);
enum area_level area_level_parse(const char *name);
const char *area_level_name(enum area_level level);

/*
 * Fills out[] with the codes of the area and each ancestor, city first
 * (e.g. 4406, 440605, 440605001, ...). Returns how many, 0 if malformed.
 */
size_t area_ancestors(const char *code, char out[AREA_LEVELS][AREA_CODE_MAX]);

/* Writes "佛山市 / 南海区 / 桂城街道 / ..." for a code into buf. */
void area_path(const struct area_tree *tree, const char *code, char *buf, size_t len);

#endif
