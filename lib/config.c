/*
 * The config table: parsing an INI file (inih) and command-line overrides
 * into a daemon's config struct, checked against each key's type and
 * bounds. A fresh struct is built on every load, so a reload that fails
 * leaves the running config untouched.
 */
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"

struct load_state {
	const struct config_schema *schema;
	void *cfg;
	char *err;
	size_t errlen;
};

/* The row of name among the shared keys, or NULL. */
static const struct config_key *
s_find(const struct config_key *keys, const char *name)
{
	for (; keys != NULL && keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

/* The row for name in a section, or NULL; NULL section means either. */
static const struct config_key *
s_lookup(const struct config_schema *schema, const char *section, const char *name)
{
	if (section == NULL)
		return s_find(schema->own, name) ? s_find(schema->own, name)
		                                 : s_find(schema->shared, name);
	if (strcmp(section, "gridwall") == 0)
		return s_find(schema->shared, name);
	if (strcmp(section, schema->section) == 0)
		return s_find(schema->own, name);
	return NULL;
}

/* Parses a boolean word; returns -1 if it is none. */
static int
s_parse_bool(const char *value)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0)
			return 1;
		if (strcasecmp(value, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Checks a number against the key's bounds. */
static bool
s_in_bounds(const struct config_key *key, double v)
{
	return key->min == key->max || (v >= key->min && v <= key->max);
}

/* Stores value into cfg for key; false with err set if it does not fit. */
static bool
s_set(const struct config_key *key, void *cfg, const char *value, char *err, size_t errlen)
{
	char *field = (char *)cfg + key->offset;
	char *end;
	double d;
	long l;
	int b;

	switch (key->type) {
	case CONFIG_STRING:
		free(*(char **)field);
		*(char **)field = strdup(value);
		return true;
	case CONFIG_INT:
		errno = 0;
		l = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0') {
			snprintf(err, errlen, "%s: \"%s\" is not a whole number", key->name, value);
			return false;
		}
		if (!s_in_bounds(key, (double)l)) {
			snprintf(err, errlen, "%s: %ld is out of bounds [%.0f, %.0f]",
			         key->name, l, key->min, key->max);
			return false;
		}
		*(long *)field = l;
		return true;
	case CONFIG_DOUBLE:
		errno = 0;
		d = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' || !isfinite(d)) {
			snprintf(err, errlen, "%s: \"%s\" is not a number", key->name, value);
			return false;
		}
		if (!s_in_bounds(key, d)) {
			snprintf(err, errlen, "%s: %g is out of bounds [%g, %g]",
			         key->name, d, key->min, key->max);
			return false;
		}
		*(double *)field = d;
		return true;
	case CONFIG_BOOL:
		b = s_parse_bool(value);
		if (b < 0) {
			snprintf(err, errlen, "%s: \"%s\" is not true or false", key->name, value);
			return false;
		}
		*(bool *)field = b;
		return true;
	}
	return false;
}

/* Applies the defaults of one table. */
static bool
s_defaults(const struct config_key *keys, void *cfg, char *err, size_t errlen)
{
	for (; keys != NULL && keys->name != NULL; keys++)
		if (!s_set(keys, cfg, keys->def, err, errlen))
			return false;
	return true;
}

/* inih callback: one key = value line of the file. */
static int
s_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	const struct config_key *key;

	if (strcmp(section, "gridwall") != 0 && strcmp(section, st->schema->section) != 0)
		return 1;       /* another daemon's section */
	key = s_lookup(st->schema, section, name);
	if (key == NULL) {
		snprintf(st->err, st->errlen, "unknown key \"%s\" in [%s]", name, section);
		return 0;
	}
	return s_set(key, st->cfg, value, st->err, st->errlen);
}

/* Applies one "key=value" override. */
static bool
s_override(const struct config_schema *schema, void *cfg, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	const struct config_key *key;
	char name[128];

	if (eq == NULL || (size_t)(eq - kv) >= sizeof(name)) {
		snprintf(err, errlen, "-s %s: expected key=value", kv);
		return false;
	}
	memcpy(name, kv, (size_t)(eq - kv));
	name[eq - kv] = '\0';
	key = s_lookup(schema, NULL, name);
	if (key == NULL) {
		snprintf(err, errlen, "-s %s: unknown key \"%s\"", kv, name);
		return false;
	}
	return s_set(key, cfg, eq + 1, err, errlen);
}

void *
config_load(const struct config_schema *schema, const char *path,
            char *const *overrides, int noverrides, char *err, size_t errlen)
{
	struct load_state st = { schema, NULL, err, errlen };
	char why[256] = "";
	int line;

	st.cfg = calloc(1, schema->size);
	if (st.cfg == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!s_defaults(schema->shared, st.cfg, err, errlen) ||
	    !s_defaults(schema->own, st.cfg, err, errlen))
		goto fail;
	if (path != NULL) {
		st.err = why;
		st.errlen = sizeof(why);
		line = ini_parse(path, s_ini_line, &st);
		if (line < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (line > 0) {
			snprintf(err, errlen, "%s:%d: %s", path, line,
			         why[0] ? why : "syntax error");
			goto fail;
		}
	}
	for (int i = 0; i < noverrides; i++)
		if (!s_override(schema, st.cfg, overrides[i], err, errlen))
			goto fail;
	return st.cfg;
fail:
	config_free(schema, st.cfg);
	return NULL;
}

/* Frees the strings of one table's keys. */
static void
s_free_strings(const struct config_key *keys, void *cfg)
{
	for (; keys != NULL && keys->name != NULL; keys++)
		if (keys->type == CONFIG_STRING)
			free(*(char **)((char *)cfg + keys->offset));
}

void
config_free(const struct config_schema *schema, void *cfg)
{
	if (cfg == NULL)
		return;
	s_free_strings(schema->shared, cfg);
	s_free_strings(schema->own, cfg);
	free(cfg);
}

/* Whether one key has the same value in both configs. */
static bool
s_same(const struct config_key *key, const void *a, const void *b)
{
	const char *fa = (const char *)a + key->offset;
	const char *fb = (const char *)b + key->offset;

	switch (key->type) {
	case CONFIG_STRING:
		return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
	case CONFIG_INT:
		return *(const long *)fa == *(const long *)fb;
	case CONFIG_DOUBLE:
		return *(const double *)fa == *(const double *)fb;
	case CONFIG_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	}
	return true;
}

/* Restores the old value of every fixed key of one table that changed. */
static void
s_keep_fixed(const struct config_key *keys, void *fresh, const void *old)
{
	for (; keys != NULL && keys->name != NULL; keys++) {
		char *f = (char *)fresh + keys->offset;
		const char *o = (const char *)old + keys->offset;

		if (keys->reloadable || s_same(keys, fresh, old))
			continue;
		log_warn("config key %s cannot change on reload; restart to apply it", keys->name);
		if (keys->type == CONFIG_STRING) {
			free(*(char **)f);
			*(char **)f = strdup(*(char *const *)o);
		} else {
			memcpy(f, o, keys->type == CONFIG_INT ? sizeof(long)
			             : keys->type == CONFIG_DOUBLE ? sizeof(double) : sizeof(bool));
		}
	}
}

void
config_keep_fixed(const struct config_schema *schema, void *fresh, const void *old)
{
	s_keep_fixed(schema->shared, fresh, old);
	s_keep_fixed(schema->own, fresh, old);
}

/* Prints one table's keys and values. */
static void
s_print_keys(const struct config_key *keys, const void *cfg, FILE *out)
{
	for (; keys != NULL && keys->name != NULL; keys++) {
		const char *f = (const char *)cfg + keys->offset;

		fprintf(out, "# %s%s\n", keys->help, keys->reloadable ? "" : " (restart to change)");
		switch (keys->type) {
		case CONFIG_STRING:
			fprintf(out, "%s = %s\n", keys->name, *(char *const *)f);
			break;
		case CONFIG_INT:
			fprintf(out, "%s = %ld\n", keys->name, *(const long *)f);
			break;
		case CONFIG_DOUBLE:
			fprintf(out, "%s = %g\n", keys->name, *(const double *)f);
			break;
		case CONFIG_BOOL:
			fprintf(out, "%s = %s\n", keys->name, *(const bool *)f ? "true" : "false");
			break;
		}
	}
}

void
config_print(const struct config_schema *schema, const void *cfg, FILE *out)
{
	fprintf(out, "[gridwall]\n");
	s_print_keys(schema->shared, cfg, out);
	fprintf(out, "\n[%s]\n", schema->section);
	s_print_keys(schema->own, cfg, out);
}
