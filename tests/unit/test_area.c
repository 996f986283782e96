/*
 * Unit tests of lib/area.c: levels and codes, the hash table at the size of
 * a real city (Foshan has 5,924 governance grids), ancestors, and the path
 * string that goes into alerts, including its truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "area.h"

/* A small tree with one chain from the city down to a grid. */
static int
s_setup_foshan(void **state)
{
	struct area_tree *tree = area_tree_new();

	if (tree == NULL)
		return -1;
	if (area_tree_add(tree, "4406", AREA_CITY, "佛山市") != 0 ||
	    area_tree_add(tree, "440605", AREA_DISTRICT, "南海区") != 0 ||
	    area_tree_add(tree, "440604", AREA_DISTRICT, "禅城区") != 0 ||
	    area_tree_add(tree, "440605001", AREA_TOWN, "桂城街道") != 0 ||
	    area_tree_add(tree, "440605001002", AREA_COMMUNITY, "翠颐社区") != 0 ||
	    area_tree_add(tree, "440605001002003", AREA_GRID, "第三网格") != 0) {
		area_tree_destroy(&tree);
		return -1;
	}
	*state = tree;
	return 0;
}

/* Frees the tree of s_setup_foshan. */
static int
s_teardown(void **state)
{
	struct area_tree *tree = *state;

	area_tree_destroy(&tree);
	assert_null(tree);
	return 0;
}

/* A new tree is empty; destroy takes NULL and a pointer to NULL. */
static void
test_new_destroy(void **state)
{
	struct area_tree *tree = area_tree_new();

	(void)state;
	assert_non_null(tree);
	assert_int_equal(area_tree_count(tree), 0);
	assert_null(area_find(tree, "4406"));
	area_tree_destroy(&tree);
	assert_null(tree);
	area_tree_destroy(&tree);
	area_tree_destroy(NULL);
	assert_int_equal(area_tree_count(NULL), 0);
	assert_null(area_find(NULL, "4406"));
}

/* Each area is found by its code, with its level and a copy of its name. */
static void
test_add_find(void **state)
{
	struct area_tree *tree = *state;
	const struct area *a;
	char name[32];

	assert_int_equal(area_tree_count(tree), 6);
	a = area_find(tree, "440605001");
	assert_non_null(a);
	assert_string_equal(a->code, "440605001");
	assert_string_equal(a->name, "桂城街道");
	assert_int_equal(a->level, AREA_TOWN);
	a = area_find(tree, "440605001002003");
	assert_non_null(a);
	assert_int_equal(a->level, AREA_GRID);
	assert_null(area_find(tree, "440606"));
	assert_null(area_find(tree, "44060"));
	assert_null(area_find(tree, ""));
	assert_null(area_find(tree, NULL));
	assert_null(area_find(tree, "4406050010020031234567890"));

	/* The name is copied: the caller's buffer may change afterwards. */
	snprintf(name, sizeof(name), "%s", "顺德区");
	assert_int_equal(area_tree_add(tree, "440606", AREA_DISTRICT, name), 0);
	memset(name, 'x', sizeof(name) - 1);
	assert_string_equal(area_find(tree, "440606")->name, "顺德区");
	assert_int_equal(area_tree_count(tree), 7);
}

/* Adding a code again renames the area and does not count it twice. */
static void
test_add_again_renames(void **state)
{
	struct area_tree *tree = *state;

	assert_int_equal(area_tree_add(tree, "440604", AREA_DISTRICT, "禪城區"), 0);
	assert_int_equal(area_tree_count(tree), 6);
	assert_string_equal(area_find(tree, "440604")->name, "禪城區");
}

/* Codes that do not fit their level, and bad arguments, are refused. */
static void
test_add_refuses(void **state)
{
	struct area_tree *tree = *state;

	assert_int_equal(area_tree_add(tree, "440607", AREA_TOWN, "三水"), -1);
	assert_int_equal(area_tree_add(tree, "440607", AREA_CITY, "三水"), -1);
	assert_int_equal(area_tree_add(tree, "440607001", AREA_DISTRICT, "x"), -1);
	assert_int_equal(area_tree_add(tree, "44060A", AREA_DISTRICT, "x"), -1);
	assert_int_equal(area_tree_add(tree, "44060 ", AREA_DISTRICT, "x"), -1);
	assert_int_equal(area_tree_add(tree, "-44060", AREA_DISTRICT, "x"), -1);
	assert_int_equal(area_tree_add(tree, "4406050010020031", AREA_GRID, "x"), -1);
	assert_int_equal(area_tree_add(tree, "44060500100200", AREA_GRID, "x"), -1);
	assert_int_equal(area_tree_add(tree, "", AREA_CITY, "x"), -1);
	assert_int_equal(area_tree_add(tree, "440607", AREA_INVALID, "x"), -1);
	assert_int_equal(area_tree_add(tree, "440607", (enum area_level)7, "x"), -1);
	assert_int_equal(area_tree_add(tree, NULL, AREA_DISTRICT, "x"), -1);
	assert_int_equal(area_tree_add(tree, "440607", AREA_DISTRICT, NULL), -1);
	assert_int_equal(area_tree_add(NULL, "440607", AREA_DISTRICT, "x"), -1);
	assert_int_equal(area_tree_count(tree), 6);
	assert_null(area_find(tree, "440607"));
}

/* Levels from code lengths, and level names both ways. */
static void
test_levels(void **state)
{
	static const char *const names[AREA_LEVELS] = {
		"city", "district", "town", "community", "grid",
	};

	(void)state;
	assert_int_equal(area_level_of_code("4406"), AREA_CITY);
	assert_int_equal(area_level_of_code("440605"), AREA_DISTRICT);
	assert_int_equal(area_level_of_code("440605001"), AREA_TOWN);
	assert_int_equal(area_level_of_code("440605001002"), AREA_COMMUNITY);
	assert_int_equal(area_level_of_code("440605001002003"), AREA_GRID);
	assert_int_equal(area_level_of_code("44"), AREA_INVALID);
	assert_int_equal(area_level_of_code("44060"), AREA_INVALID);
	assert_int_equal(area_level_of_code("4406050010"), AREA_INVALID);
	assert_int_equal(area_level_of_code("4406050010020031"), AREA_INVALID);
	assert_int_equal(area_level_of_code("44060500100200x"), AREA_INVALID);
	assert_int_equal(area_level_of_code(""), AREA_INVALID);
	assert_int_equal(area_level_of_code(NULL), AREA_INVALID);

	for (int l = AREA_CITY; l <= AREA_GRID; l++) {
		assert_string_equal(area_level_name((enum area_level)l), names[l]);
		assert_int_equal(area_level_parse(names[l]), l);
	}
	assert_null(area_level_name(AREA_INVALID));
	assert_null(area_level_name((enum area_level)AREA_LEVELS));
	assert_int_equal(area_level_parse("Grid"), AREA_INVALID);
	assert_int_equal(area_level_parse("village"), AREA_INVALID);
	assert_int_equal(area_level_parse(""), AREA_INVALID);
	assert_int_equal(area_level_parse(NULL), AREA_INVALID);
}

/* A grid has five ancestors counting itself; a district two. */
static void
test_ancestors(void **state)
{
	char out[AREA_LEVELS][AREA_CODE_MAX];

	(void)state;
	assert_int_equal(area_ancestors("440605001002003", out), 5);
	assert_string_equal(out[0], "4406");
	assert_string_equal(out[1], "440605");
	assert_string_equal(out[2], "440605001");
	assert_string_equal(out[3], "440605001002");
	assert_string_equal(out[4], "440605001002003");

	assert_int_equal(area_ancestors("440606", out), 2);
	assert_string_equal(out[0], "4406");
	assert_string_equal(out[1], "440606");
	assert_int_equal(area_ancestors("4406", out), 1);
	assert_string_equal(out[0], "4406");

	assert_int_equal(area_ancestors("44060500100200", out), 0);
	assert_int_equal(area_ancestors("44060500100200a", out), 0);
	assert_int_equal(area_ancestors("", out), 0);
	assert_int_equal(area_ancestors(NULL, out), 0);
}

/* The whole chain of names, city first. */
static void
test_path_full(void **state)
{
	struct area_tree *tree = *state;
	char buf[256];

	area_path(tree, "440605001002003", buf, sizeof(buf));
	assert_string_equal(buf,
	    "佛山市 / 南海区 / 桂城街道 / 翠颐社区 / 第三网格");
	area_path(tree, "440605001", buf, sizeof(buf));
	assert_string_equal(buf, "佛山市 / 南海区 / 桂城街道");
	area_path(tree, "4406", buf, sizeof(buf));
	assert_string_equal(buf, "佛山市");
}

/* Missing ancestors are skipped; with none at all the code stands in. */
static void
test_path_missing(void **state)
{
	struct area_tree *tree = *state;
	char buf[256];

	/* Town 440605002 and its community are not in the tree. */
	area_path(tree, "440605002001004", buf, sizeof(buf));
	assert_string_equal(buf, "佛山市 / 南海区");
	/* Another city altogether. */
	area_path(tree, "420100", buf, sizeof(buf));
	assert_string_equal(buf, "420100");
	area_path(NULL, "440605001002003", buf, sizeof(buf));
	assert_string_equal(buf, "440605001002003");
	/* A malformed code is shown as it is. */
	area_path(tree, "44060", buf, sizeof(buf));
	assert_string_equal(buf, "44060");
	area_path(tree, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

/* A short buffer gets a NUL-terminated prefix cut between characters. */
static void
test_path_truncated(void **state)
{
	struct area_tree *tree = *state;
	/* "佛山市" is 9 bytes, " / " 3, "南海区" 9. */
	const char *full = "佛山市 / 南海区 / 桂城街道 / 翠颐社区 / 第三网格";
	char buf[128];

	assert_true(strlen(full) + 2 < sizeof(buf));
	for (size_t len = 1; len < strlen(full) + 2; len++) {
		memset(buf, '#', sizeof(buf));
		area_path(tree, "440605001002003", buf, len);
		assert_true(strlen(buf) < len);
		assert_int_equal(buf[len], '#');    /* nothing past len */
		/* Always a prefix of the full path... */
		assert_memory_equal(buf, full, strlen(buf));
		/* ...ending on a character boundary... */
		assert_true(((unsigned char)full[strlen(buf)] & 0xC0) != 0x80);
		/* ...and never on a dangling separator. */
		if (strlen(buf) >= 2)
			assert_false(strcmp(buf + strlen(buf) - 2, " /") == 0);
		if (strlen(buf) >= 1)
			assert_true(buf[strlen(buf) - 1] != ' ');
	}
	area_path(tree, "440605001002003", buf, 1);
	assert_string_equal(buf, "");
	area_path(tree, "440605001002003", buf, 9);
	assert_string_equal(buf, "佛山");
	area_path(tree, "440605001002003", buf, 10);
	assert_string_equal(buf, "佛山市");
	area_path(tree, "440605001002003", buf, 13);
	assert_string_equal(buf, "佛山市");
	area_path(tree, "440605001002003", buf, 15);
	assert_string_equal(buf, "佛山市");
	area_path(tree, "440605001002003", buf, 16);
	assert_string_equal(buf, "佛山市 / 南");
	/* len 0 writes nothing at all. */
	buf[0] = '#';
	area_path(tree, "440605001002003", buf, 0);
	assert_int_equal(buf[0], '#');
}

/* Fills code with the 15-digit grid code number i of a synthetic city. */
static void
s_grid_code(unsigned i, char code[AREA_CODE_MAX])
{
	snprintf(code, AREA_CODE_MAX, "4406%02u%03u%03u%03u", 4 + i % 5,
	    i / 5 % 1000, i % 7 * 100 + i % 97, 3u);
}

/* A city's worth of grids: all found, none lost as the table grows. */
static void
test_many(void **state)
{
	enum { N = 12000 };
	struct area_tree *tree = area_tree_new();
	const struct area *first = NULL;
	char code[AREA_CODE_MAX], name[32];

	(void)state;
	assert_non_null(tree);
	for (unsigned i = 0; i < N; i++) {
		snprintf(code, sizeof(code), "440%012u", i);
		snprintf(name, sizeof(name), "网格%u", i);
		assert_int_equal(area_tree_add(tree, code, AREA_GRID, name), 0);
		if (i == 0)
			first = area_find(tree, code);
	}
	assert_int_equal(area_tree_count(tree), N);
	/* Pointers handed out earlier survive the table growing. */
	assert_ptr_equal(area_find(tree, "440000000000000"), first);
	assert_string_equal(first->name, "网格0");
	for (unsigned i = 0; i < N; i++) {
		const struct area *a;

		snprintf(code, sizeof(code), "440%012u", i);
		snprintf(name, sizeof(name), "网格%u", i);
		a = area_find(tree, code);
		assert_non_null(a);
		assert_string_equal(a->code, code);
		assert_string_equal(a->name, name);
	}
	for (unsigned i = N; i < 2 * N; i++) {
		snprintf(code, sizeof(code), "440%012u", i);
		assert_null(area_find(tree, code));
	}
	/* Codes that differ only in their middle digits stay apart. */
	for (unsigned i = 0; i < 2000; i++) {
		s_grid_code(i, code);
		assert_int_equal(area_tree_add(tree, code, AREA_GRID, "g"), 0);
	}
	for (unsigned i = 0; i < 2000; i++) {
		s_grid_code(i, code);
		assert_non_null(area_find(tree, code));
	}
	area_tree_destroy(&tree);
	assert_null(tree);
}

/* Runs the area tests; the exit status is the number that failed. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_destroy),
		cmocka_unit_test_setup_teardown(test_add_find, s_setup_foshan,
		    s_teardown),
		cmocka_unit_test_setup_teardown(test_add_again_renames,
		    s_setup_foshan, s_teardown),
		cmocka_unit_test_setup_teardown(test_add_refuses, s_setup_foshan,
		    s_teardown),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_ancestors),
		cmocka_unit_test_setup_teardown(test_path_full, s_setup_foshan,
		    s_teardown),
		cmocka_unit_test_setup_teardown(test_path_missing,
		    s_setup_foshan, s_teardown),
		cmocka_unit_test_setup_teardown(test_path_truncated,
		    s_setup_foshan, s_teardown),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
