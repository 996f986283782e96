/*
 * The config table: defaults, the file's sections, command-line overrides,
 * bounds and types, line numbers in errors, and the keys a reload may not
 * change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

struct test_config {
	char *name;
	long count;
	double ratio;
	bool enabled;
	char *shared;
};

static const struct config_key shared_keys[] = {
	{ "shared", CONFIG_STRING, "s-default", 0, 0, false, offsetof(struct test_config, shared), "shared" },
	CONFIG_END,
};

static const struct config_key own_keys[] = {
	{ "name", CONFIG_STRING, "gridwall", 0, 0, true, offsetof(struct test_config, name), "a name" },
	{ "count", CONFIG_INT, "10", 1, 100, true, offsetof(struct test_config, count), "a count" },
	{ "ratio", CONFIG_DOUBLE, "0.5", 0, 1, false, offsetof(struct test_config, ratio), "a ratio" },
	{ "enabled", CONFIG_BOOL, "false", 0, 0, true, offsetof(struct test_config, enabled), "a flag" },
	CONFIG_END,
};

static const struct config_schema schema = {
	"testd", shared_keys, own_keys, sizeof(struct test_config),
};

/* Writes text to a new temporary file and returns its path (static buffer per call site). */
static void
s_write(char *path, const char *text)
{
	int fd;

	strcpy(path, "/tmp/gridwall-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
test_defaults(void **state)
{
	char err[256];
	struct test_config *c = config_load(&schema, NULL, NULL, 0, err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->name, "gridwall");
	assert_int_equal(c->count, 10);
	assert_true(c->ratio == 0.5);
	assert_false(c->enabled);
	assert_string_equal(c->shared, "s-default");
	config_free(&schema, c);
}

static void
test_file_and_overrides(void **state)
{
	char path[64], err[256];
	char *overrides[] = { "count=42" };
	struct test_config *c;

	(void)state;
	s_write(path, "[gridwall]\nshared = from-file\n\n[testd]\nname = 佛山\ncount = 7\n"
	              "enabled = yes\n\n[otherd]\nunknown_here = ignored\n");
	c = config_load(&schema, path, overrides, 1, err, sizeof(err));
	unlink(path);
	assert_non_null(c);
	assert_string_equal(c->shared, "from-file");
	assert_string_equal(c->name, "佛山");
	assert_int_equal(c->count, 42);
	assert_true(c->enabled);
	config_free(&schema, c);
}

static void
test_errors_name_line_and_key(void **state)
{
	char path[64], err[256];
	char *bad_override[] = { "nope=1" };
	char *bad_number[] = { "count=12x" };
	char *too_big[] = { "count=101" };
	char *no_equals[] = { "count" };

	(void)state;
	s_write(path, "[testd]\nname = a\ncolour = blue\n");
	assert_null(config_load(&schema, path, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, ":3: unknown key \"colour\" in [testd]"));
	unlink(path);
	s_write(path, "[testd]\nenabled = maybe\n");
	assert_null(config_load(&schema, path, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, ":2: enabled: \"maybe\" is not true or false"));
	unlink(path);
	assert_null(config_load(&schema, "/nonexistent/gridwall.conf", NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read"));
	assert_null(config_load(&schema, NULL, bad_override, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown key \"nope\""));
	assert_null(config_load(&schema, NULL, bad_number, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "not a whole number"));
	assert_null(config_load(&schema, NULL, too_big, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "out of bounds"));
	assert_null(config_load(&schema, NULL, no_equals, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "expected key=value"));
}

static void
test_reload_keeps_fixed_keys(void **state)
{
	char err[256];
	char *changes[] = { "ratio=0.9", "count=50", "shared=new" };
	struct test_config *old = config_load(&schema, NULL, NULL, 0, err, sizeof(err));
	struct test_config *fresh = config_load(&schema, NULL, changes, 3, err, sizeof(err));

	(void)state;
	config_keep_fixed(&schema, fresh, old);
	assert_true(fresh->ratio == 0.5);                 /* fixed: kept */
	assert_string_equal(fresh->shared, "s-default");  /* fixed: kept */
	assert_int_equal(fresh->count, 50);               /* reloadable: taken */
	config_free(&schema, old);
	config_free(&schema, fresh);
}

static void
test_print_is_a_valid_file(void **state)
{
	char path[64], err[256];
	char *overrides[] = { "count=33", "name=x y" };
	struct test_config *c = config_load(&schema, NULL, overrides, 2, err, sizeof(err));
	struct test_config *again;
	FILE *f;

	(void)state;
	strcpy(path, "/tmp/gridwall-config-XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	config_print(&schema, c, f);
	fclose(f);
	again = config_load(&schema, path, NULL, 0, err, sizeof(err));
	unlink(path);
	assert_non_null(again);
	assert_int_equal(again->count, 33);
	assert_string_equal(again->name, "x y");
	config_free(&schema, c);
	config_free(&schema, again);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_and_overrides),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_reload_keeps_fixed_keys),
		cmocka_unit_test(test_print_is_a_valid_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
