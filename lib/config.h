/*
 * The config table. Every key a daemon reads is one row: name, type,
 * default, bounds, whether a reload may change it, and where it lands in the
 * daemon's config struct. Values come from the defaults, then the INI file
 * (section [gridwall] for keys every daemon shares, then the daemon's own
 * section), then -s key=value on the command line.
 */
#ifndef GRIDWALL_CONFIG_H
#define GRIDWALL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum config_type {
	CONFIG_STRING,   /* char *, malloc'ed */
	CONFIG_INT,      /* long */
	CONFIG_DOUBLE,   /* double */
	CONFIG_BOOL,     /* bool: true/false, yes/no, on/off, 1/0 */
};

struct config_key {
	const char *name;
	enum config_type type;
	const char *def;        /* default, as text as in the file */
	double min, max;        /* bounds for INT and DOUBLE; ignored when min == max */
	bool reloadable;        /* may SIGHUP change it? */
	size_t offset;          /* offsetof in the config struct */
	const char *help;
};

#define CONFIG_END { NULL, CONFIG_STRING, NULL, 0, 0, false, 0, NULL }

/* A daemon's keys: the shared ones and its own, and its section name. */
struct config_schema {
	const char *section;                  /* "ingestd" */
	const struct config_key *shared;      /* keys of [gridwall] */
	const struct config_key *own;         /* keys of [section] */
	size_t size;                          /* sizeof the config struct */
};

/*
 * Builds a new config: defaults, then path (may be NULL), then overrides
 * ("key=value" strings). Returns NULL with a message in err (naming the
 * file and line, or the key) on any unknown key, bad value or out-of-bounds
 * number.
 */
void *config_load(const struct config_schema *schema, const char *path,
                  char *const *overrides, int noverrides, char *err, size_t errlen);

/* Frees a config made by config_load, strings included; accepts NULL. */
void config_free(const struct config_schema *schema, void *cfg);

/*
 * Keeps old values for keys that may not change on reload, warning for each
 * that the new file changed; the rest of fresh is taken as is.
 */
void config_keep_fixed(const struct config_schema *schema, void *fresh, const void *old);

/* Prints the effective config as an INI file, with each key's help. */
void config_print(const struct config_schema *schema, const void *cfg, FILE *out);

#endif
