/*
 * The rule language's public face: reading rule files and folders into a
 * rule set, the set's lifetime and accessors, error formatting, and the
 * table of built-in names every other part reads (docs/rules.md). The
 * lexer, parser, evaluator and dump live in rulelang_*.c beside it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gridwall/v1/gridwall.pb-c.h"
#include "rulelang_int.h"

/*
 * Every name a rule can use that is not a let. The enum values are the
 * protobuf ones, so a compiled constant compares directly with the input.
 */
const struct rl_builtin rl_builtins[] = {
	/* fields of the screening and the person's state */
	{ "temperature", RL_BI_FIELD, RL_T_NUMBER, RL_TEMPERATURE, 0 },
	{ "days_since_arrival", RL_BI_FIELD, RL_T_NUMBER, RL_DAYS_SINCE_ARRIVAL, 0 },
	{ "channel", RL_BI_FIELD, RL_T_CHANNEL, RL_CHANNEL, 0 },
	{ "contact", RL_BI_FIELD, RL_T_CONTACT, RL_CONTACT, 0 },
	{ "origin_region", RL_BI_FIELD, RL_T_STRING, RL_ORIGIN, 0 },
	{ "level", RL_BI_FIELD, RL_T_LEVEL, RL_LEVEL, 0 },
	{ "household_level", RL_BI_FIELD, RL_T_LEVEL, RL_HOUSEHOLD_LEVEL, 0 },
	{ "under_observation", RL_BI_FIELD, RL_T_BOOL, RL_UNDER_OBSERVATION, 0 },
	/* functions */
	{ "any_symptom", RL_BI_FUNC, RL_T_BOOL, RL_ANY_SYMPTOM, 0 },
	{ "from_risk_area", RL_BI_FUNC, RL_T_BOOL, RL_FROM_RISK_AREA, 0 },
	{ "region_in", RL_BI_FUNC, RL_T_BOOL, RL_REGION_IN, 0 },
	{ "fevers_in_last", RL_BI_FUNC, RL_T_NUMBER, RL_FEVERS_IN_LAST, 0 },
	/* constants */
	{ "true", RL_BI_CONST, RL_T_BOOL, RL_CONST, 1 },
	{ "false", RL_BI_CONST, RL_T_BOOL, RL_CONST, 0 },
	{ "normal", RL_BI_CONST, RL_T_LEVEL, RL_CONST, GRIDWALL__V1__RISK_LEVEL__NORMAL },
	{ "attention", RL_BI_CONST, RL_T_LEVEL, RL_CONST, GRIDWALL__V1__RISK_LEVEL__ATTENTION },
	{ "key_person", RL_BI_CONST, RL_T_LEVEL, RL_CONST, GRIDWALL__V1__RISK_LEVEL__KEY_PERSON },
	{ "high", RL_BI_CONST, RL_T_LEVEL, RL_CONST, GRIDWALL__V1__RISK_LEVEL__HIGH },
	{ "no_contact", RL_BI_CONST, RL_T_CONTACT, RL_CONST, GRIDWALL__V1__CONTACT__NO_CONTACT },
	{ "confirmed_case", RL_BI_CONST, RL_T_CONTACT, RL_CONST, GRIDWALL__V1__CONTACT__CONFIRMED_CASE },
	{ "suspected_case", RL_BI_CONST, RL_T_CONTACT, RL_CONST, GRIDWALL__V1__CONTACT__SUSPECTED_CASE },
	{ "door_to_door", RL_BI_CONST, RL_T_CHANNEL, RL_CONST, GRIDWALL__V1__CHANNEL__DOOR_TO_DOOR },
	{ "checkpoint", RL_BI_CONST, RL_T_CHANNEL, RL_CONST, GRIDWALL__V1__CHANNEL__CHECKPOINT },
	{ "building_captain", RL_BI_CONST, RL_T_CHANNEL, RL_CONST, GRIDWALL__V1__CHANNEL__BUILDING_CAPTAIN },
	{ "self_declaration", RL_BI_CONST, RL_T_CHANNEL, RL_CONST, GRIDWALL__V1__CHANNEL__SELF_DECLARATION },
	{ "enterprise", RL_BI_CONST, RL_T_CHANNEL, RL_CONST, GRIDWALL__V1__CHANNEL__ENTERPRISE },
	{ "follow_up", RL_BI_CONST, RL_T_CHANNEL, RL_CONST, GRIDWALL__V1__CHANNEL__FOLLOW_UP },
	{ "cough", RL_BI_CONST, RL_T_SYMPTOM, RL_CONST, GRIDWALL__V1__SYMPTOM__COUGH },
	{ "fatigue", RL_BI_CONST, RL_T_SYMPTOM, RL_CONST, GRIDWALL__V1__SYMPTOM__FATIGUE },
	{ "shortness_of_breath", RL_BI_CONST, RL_T_SYMPTOM, RL_CONST,
	  GRIDWALL__V1__SYMPTOM__SHORTNESS_OF_BREATH },
	{ "diarrhoea", RL_BI_CONST, RL_T_SYMPTOM, RL_CONST, GRIDWALL__V1__SYMPTOM__DIARRHOEA },
	{ "conjunctival_congestion", RL_BI_CONST, RL_T_SYMPTOM, RL_CONST,
	  GRIDWALL__V1__SYMPTOM__CONJUNCTIVAL_CONGESTION },
	{ "sore_throat", RL_BI_CONST, RL_T_SYMPTOM, RL_CONST, GRIDWALL__V1__SYMPTOM__SORE_THROAT },
	{ "other_symptom", RL_BI_CONST, RL_T_SYMPTOM, RL_CONST, GRIDWALL__V1__SYMPTOM__OTHER_SYMPTOM },
};
const size_t rl_nbuiltins = sizeof(rl_builtins) / sizeof(rl_builtins[0]);

static const char *const type_names[] = {
	"bool", "number", "duration", "level", "contact", "channel", "symptom", "string",
};
static const char *const cmp_names[] = { "==", "!=", "<", "<=", ">", ">=" };

/* Looks a name up among the built-ins (a short table: a linear scan at compile time). */
const struct rl_builtin *
rl_builtin_find(const char *name, size_t len)
{
	for (size_t i = 0; i < rl_nbuiltins; i++)
		if (strlen(rl_builtins[i].name) == len && memcmp(rl_builtins[i].name, name, len) == 0)
			return &rl_builtins[i];
	return NULL;
}

/* The spelling of a constant, for the dump. */
const char *
rl_const_name(enum rl_type type, int64_t value)
{
	for (size_t i = 0; i < rl_nbuiltins; i++)
		if (rl_builtins[i].kind == RL_BI_CONST && rl_builtins[i].type == type &&
		    rl_builtins[i].value == value)
			return rl_builtins[i].name;
	return NULL;
}

/* The spelling of a field or a function, for the dump. */
const char *
rl_op_name(enum rl_op op)
{
	for (size_t i = 0; i < rl_nbuiltins; i++)
		if (rl_builtins[i].kind != RL_BI_CONST && rl_builtins[i].op == op)
			return rl_builtins[i].name;
	return "?";
}

/* The name of a type, for messages. */
const char *
rl_type_name(enum rl_type type)
{
	return (size_t)type < sizeof(type_names) / sizeof(type_names[0]) ? type_names[type] : "?";
}

/* The spelling of a comparison operator. */
const char *
rl_cmp_name(enum rl_cmp cmp)
{
	return (size_t)cmp < sizeof(cmp_names) / sizeof(cmp_names[0]) ? cmp_names[cmp] : "?";
}

/* Fills *err with a position and a formatted message, truncated to fit. */
void
rl_error(struct rule_error *err, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->file, sizeof(err->file), "%s", file);
	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* "file:line:col: message", or "file: message" for an error of the whole file (line 0). */
void
rule_error_format(const struct rule_error *err, char *buf, size_t len)
{
	if (err->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", err->file, err->line, err->col, err->message);
	else
		snprintf(buf, len, "%s: %s", err->file, err->message);
}

/* An empty set, filled by rl_parse_file. */
struct rule_set *
rl_set_new(void)
{
	return calloc(1, sizeof(struct rule_set));
}

/* Frees the set and all it owns, and NULLs the caller's pointer; takes NULL. */
void
rule_set_free(struct rule_set **rs_p)
{
	struct rule_set *rs;

	if (rs_p == NULL || *rs_p == NULL)
		return;
	rs = *rs_p;
	for (size_t i = 0; i < rs->nowned; i++)
		free(rs->owned[i]);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->owned);
	free(rs->files);
	free(rs->source);
	free(rs->rules);
	free(rs->whens);
	free(rs->nodes);
	free(rs->depth);
	free(rs->lets);
	free(rs->prefixes);
	free(rs->items);
	free(rs);
	*rs_p = NULL;
}

/* Fails a set that parsed but holds no rule: it would flag nobody, which is never meant. */
static bool
s_check_not_empty(const struct rule_set *rs, const char *name, struct rule_error *err)
{
	if (rs->nrules > 0)
		return true;
	rl_error(err, name, 0, 0, "no rules");
	return false;
}

/* One text as a whole set: parsed, checked, and refused when it holds no rule. */
struct rule_set *
rule_set_parse(const char *name, const char *text, size_t len, struct rule_error *err)
{
	struct rule_set *rs = rl_set_new();

	if (rs == NULL) {
		rl_error(err, name, 0, 0, "out of memory");
		return NULL;
	}
	if (!rl_parse_file(rs, name, text, len, err) || !s_check_not_empty(rs, name, err))
		rule_set_free(&rs);
	return rs;
}

/* Reads a whole rule file into a new buffer; NULL with *err set when it cannot. */
static char *
s_read_file(const char *path, size_t *len, struct rule_error *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf;

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		rl_error(err, path, 0, 0, "cannot read: %s", strerror(errno));
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > RL_FILE_MAX) {
		if (S_ISREG(st.st_mode))
			rl_error(err, path, 0, 0, "larger than %d bytes", RL_FILE_MAX);
		else
			rl_error(err, path, 0, 0, "not a regular file");
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rl_error(err, path, 0, 0, "out of memory");
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		rl_error(err, path, 0, 0, "cannot read: %s", ferror(f) ? strerror(errno) : "short read");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

/* Reads and parses one file into rs. */
static bool
s_load_file(struct rule_set *rs, const char *path, struct rule_error *err)
{
	size_t len;
	char *text = s_read_file(path, &len, err);
	bool ok;

	if (text == NULL)
		return false;
	ok = rl_parse_file(rs, path, text, len, err);
	free(text);
	return ok;
}

/* Orders file names bytewise, so the order does not depend on the locale. */
static int
s_compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is name a rule file of a folder: ends in .rules, not hidden (editors' temporary files). */
static bool
s_is_rule_file(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 6 && strcmp(name + len - 6, ".rules") == 0;
}

/* The *.rules names of a folder, sorted; NULL with *err set on failure. */
static char **
s_list_folder(const char *path, size_t *n, struct rule_error *err)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t cap = 0;

	*n = 0;
	if (dir == NULL) {
		rl_error(err, path, 0, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!s_is_rule_file(de->d_name))
			continue;
		if (*n == cap) {
			char **grown = realloc(names, (cap + 16) * sizeof(*names));

			if (grown == NULL)
				goto oom;
			names = grown;
			cap += 16;
		}
		if ((names[*n] = strdup(de->d_name)) == NULL)
			goto oom;
		(*n)++;
	}
	closedir(dir);
	if (*n == 0) {
		rl_error(err, path, 0, 0, "no .rules files in the folder");
		free(names);
		return NULL;
	}
	qsort(names, *n, sizeof(*names), s_compare_names);
	return names;
oom:
	rl_error(err, path, 0, 0, "out of memory");
	for (size_t i = 0; i < *n; i++)
		free(names[i]);
	free(names);
	closedir(dir);
	return NULL;
}

/* Parses every rule file of a folder, in name order, into rs. */
static bool
s_load_folder(struct rule_set *rs, const char *path, struct rule_error *err)
{
	size_t n, plen = strlen(path);
	char **names = s_list_folder(path, &n, err);
	bool ok = names != NULL;

	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	for (size_t i = 0; ok && i < n; i++) {
		char file[1024];

		if ((size_t)snprintf(file, sizeof(file), "%.*s/%s", (int)plen, path, names[i]) >=
		    sizeof(file)) {
			rl_error(err, names[i], 0, 0, "path too long");
			ok = false;
		} else {
			ok = s_load_file(rs, file, err);
		}
	}
	for (size_t i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	return ok;
}

/* A file or a folder of *.rules files as one set. */
struct rule_set *
rule_set_load(const char *path, struct rule_error *err)
{
	struct rule_set *rs;
	struct stat st;
	bool ok;

	if (stat(path, &st) != 0) {
		rl_error(err, path, 0, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	if ((rs = rl_set_new()) == NULL) {
		rl_error(err, path, 0, 0, "out of memory");
		return NULL;
	}
	ok = S_ISDIR(st.st_mode) ? s_load_folder(rs, path, err) : s_load_file(rs, path, err);
	if (!ok || !s_check_not_empty(rs, path, err))
		rule_set_free(&rs);
	return rs;
}

/* The text of the files the set was built from; "" for NULL. */
const char *
rule_set_source(const struct rule_set *rs)
{
	return rs != NULL && rs->source != NULL ? rs->source : "";
}

/* How many rules the set holds; 0 for NULL. */
size_t
rule_set_count(const struct rule_set *rs)
{
	return rs != NULL ? rs->nrules : 0;
}

/* Rule i, or NULL out of range. */
const struct rule *
rule_set_rule(const struct rule_set *rs, size_t i)
{
	return rs != NULL && i < rs->nrules ? &rs->rules[i] : NULL;
}

/* The index of rule id, by a linear scan (for tools and tests, not the hot path). */
int
rule_set_find(const struct rule_set *rs, const char *id)
{
	for (size_t i = 0; rs != NULL && id != NULL && i < rs->nrules; i++)
		if (strcmp(rs->rules[i].id, id) == 0)
			return (int)i;
	return -1;
}
