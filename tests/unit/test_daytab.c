/*
 * Unit tests of reportd's day tables (services/reportd/daytab.c): every
 * area of the tree in code order with its parent, the households not
 * reached worked out from registered and covered, small figures withheld
 * with their complements, and the coverage window a new screening adds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "reportd.h"

/* A town of two communities, one grid each, under one district and the city. */
static int
s_setup(void **state)
{
	struct area_tree *tree = area_tree_new();

	if (tree == NULL)
		return -1;
	if (area_tree_add(tree, "4406", AREA_CITY, "佛山市") != 0 ||
	    area_tree_add(tree, "440605", AREA_DISTRICT, "南海区") != 0 ||
	    area_tree_add(tree, "440605001", AREA_TOWN, "桂城街道") != 0 ||
	    area_tree_add(tree, "440605001001", AREA_COMMUNITY, "翠颐社区") != 0 ||
	    area_tree_add(tree, "440605001002", AREA_COMMUNITY, "夏北社区") != 0 ||
	    area_tree_add(tree, "440605001001001", AREA_GRID, "第1网格") != 0 ||
	    area_tree_add(tree, "440605001002001", AREA_GRID, "第1网格") != 0) {
		area_tree_destroy(&tree);
		return -1;
	}
	*state = tree;
	return 0;
}

static int
s_teardown(void **state)
{
	struct area_tree *tree = *state;

	area_tree_destroy(&tree);
	return 0;
}

/* Adds v to measure m of code and of every area above it. */
static void
s_add(struct day_table *t, const char *code, enum measure m, int64_t v)
{
	for (size_t len = strlen(code); len >= 4; len = len == 6 ? 4 : len - 3) {
		char prefix[AREA_CODE_MAX];
		long row;

		memcpy(prefix, code, len);
		prefix[len] = '\0';
		row = daytab_find(t, prefix);
		assert_true(row >= 0);
		t->rows[row][m] += v;
		if (len == 4)
			break;
	}
}

static void
test_rows_by_code(void **state)
{
	struct day_table *t = daytab_new(*state, 20000);

	assert_non_null(t);
	assert_int_equal(t->n, 7);
	for (size_t i = 1; i < t->n; i++)
		assert_true(strcmp(t->areas[i - 1]->code, t->areas[i]->code) < 0);
	assert_int_equal(t->parent[daytab_find(t, "4406")], -1);
	assert_int_equal(t->parent[daytab_find(t, "440605001002001")], daytab_find(t, "440605001002"));
	assert_int_equal(daytab_find(t, "440606"), -1);
	daytab_free(&t);
	assert_null(t);
}

static void
test_not_reached_and_suppression(void **state)
{
	struct day_table *t = daytab_new(*state, 20000);
	const struct figures *g1, *g2, *town;

	assert_non_null(t);
	s_add(t, "440605001001001", MEASURE_REGISTERED, 40);
	s_add(t, "440605001001001", MEASURE_COVERED, 38);
	s_add(t, "440605001002001", MEASURE_REGISTERED, 30);
	s_add(t, "440605001002001", MEASURE_COVERED, 20);
	s_add(t, "440605001001001", MEASURE_FEVERS, 12);
	assert_true(daytab_publish(t, 5));
	assert_false(t->dirty);
	g1 = &t->pub[daytab_find(t, "440605001001001")];
	g2 = &t->pub[daytab_find(t, "440605001002001")];
	town = &t->pub[daytab_find(t, "440605001")];
	/* not reached: 2 and 10; the 2 is withheld, so is its complement in each relation */
	assert_int_equal(g2->v[MEASURE_NOT_REACHED], 10);
	assert_true(figures_withheld(g1, MEASURE_NOT_REACHED));
	assert_true(figures_withheld(g2, MEASURE_NOT_REACHED));
	assert_false(figures_withheld(town, MEASURE_NOT_REACHED));
	assert_int_equal(town->v[MEASURE_NOT_REACHED], 12);
	assert_int_equal(town->v[MEASURE_REGISTERED], 70);
	/* 12 fevers and zeros: all published */
	assert_false(figures_withheld(g1, MEASURE_FEVERS));
	assert_false(figures_withheld(g2, MEASURE_FEVERS));
	assert_int_equal(g2->v[MEASURE_FEVERS], 0);
	/* k = 1: nothing withheld */
	assert_true(daytab_publish(t, 1));
	for (size_t i = 0; i < t->n; i++)
		assert_int_equal(t->pub[i].withheld, 0);
	daytab_free(&t);
}

/* A broken table (a parent that is not the sum of its children) publishes none of that figure. */
static void
test_broken_table_withheld(void **state)
{
	struct day_table *t = daytab_new(*state, 20000);

	assert_non_null(t);
	t->rows[daytab_find(t, "440605001001001")][MEASURE_SCREENINGS] = 50;
	assert_true(daytab_publish(t, 5));
	for (size_t i = 0; i < t->n; i++)
		assert_true(figures_withheld(&t->pub[i], MEASURE_SCREENINGS));
	assert_false(figures_withheld(&t->pub[0], MEASURE_FEVERS));
	daytab_free(&t);
}

static void
test_coverage_added(void **state)
{
	const int32_t days[] = { 10, 20 };
	int32_t from, to;

	(void)state;
	/* the first screening covers its window */
	assert_true(coverage_added(NULL, 0, 5, 3, &from, &to));
	assert_int_equal(from, 5);
	assert_int_equal(to, 8);
	/* the day after one: it adds the day its window reaches beyond */
	assert_true(coverage_added(days, 2, 11, 3, &from, &to));
	assert_int_equal(from, 13);
	assert_int_equal(to, 14);
	/* long after: a window of its own */
	assert_true(coverage_added(days, 2, 15, 3, &from, &to));
	assert_int_equal(from, 15);
	assert_int_equal(to, 18);
	/* a late one just before the next: cut at the next */
	assert_true(coverage_added(days, 2, 19, 3, &from, &to));
	assert_int_equal(from, 19);
	assert_int_equal(to, 20);
	/* a day already screened adds nothing */
	assert_false(coverage_added(days, 2, 10, 3, &from, &to));
	assert_false(coverage_added(days, 2, 20, 3, &from, &to));
	/* nor does one whose window the next screening starts at once and the last one covers */
	assert_false(coverage_added((const int32_t[]){ 10, 12 }, 2, 11, 3, &from, &to));
	/* before every other one */
	assert_true(coverage_added(days, 2, 8, 3, &from, &to));
	assert_int_equal(from, 8);
	assert_int_equal(to, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows_by_code, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_not_reached_and_suppression, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_broken_table_withheld, s_setup, s_teardown),
		cmocka_unit_test(test_coverage_added),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
