/*
 * The rule language of rulesd (docs/rules.md): rule files are parsed and
 * type-checked once into a rule set, then evaluated against one screening
 * and the state before it, many thousands of times a second. A rule set is
 * immutable once loaded; a reload builds a new one and swaps it in whole.
 */
#ifndef GRIDWALL_RULELANG_H
#define GRIDWALL_RULELANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "risk.h"

#define RULE_ID_MAX 64
#define RULES_MAX 256            /* rules in one set */
#define RULE_FEVERS_MAX 8        /* earlier fevers rulesd keeps for a rule to see */
#define RULE_ACTION_MAX 127      /* bytes in an action: rulesd keeps it with the person */

/* Where a rule file is wrong: file, line and column (both from 1), and what. */
struct rule_error {
	char file[256];
	int line;
	int col;
	char message[256];
};

/* One rule as written: what it says when its condition holds. */
struct rule {
	char id[RULE_ID_MAX];
	int level;                   /* Gridwall__V1__RiskLevel: ATTENTION, KEY_PERSON or HIGH */
	const char *reason;          /* for people: why */
	const char *action;          /* for people: what to do */
	int observe_days;            /* observation period it starts, 0 if none */
	int follow_up_hours;         /* a follow-up screening is due this long after, 0 if none */
	char file[256];              /* where it was defined */
	int line;
};

/* What a rule can look at: one screening, the person's state before it, the registry. */
struct rule_input {
	/* the record */
	bool has_temperature;
	int temperature_tenths;      /* 373 is 37.3 C */
	unsigned symptoms;           /* bit (1u << Gridwall__V1__Symptom) per symptom */
	int channel;                 /* Gridwall__V1__Channel */
	int contact;                 /* Gridwall__V1__Contact */
	const char *origin_region;   /* "" when none */
	int32_t arrived_day;         /* days since 1970-01-01, RISK_NO_DAY when unknown */
	int32_t screened_day;        /* local day of the screening, days since 1970-01-01 */
	int64_t screened_at;         /* Unix seconds */
	/* the person's state before this screening */
	int level;                   /* Gridwall__V1__RiskLevel, NORMAL when none */
	int household_level;         /* highest level of the other members of the household */
	bool under_observation;
	const int64_t *fevers;       /* times (Unix seconds) of earlier fevers, any order */
	size_t nfevers;
	/* the risk-area registry */
	const struct risk_registry *risk;
};

struct rule_set;

/*
 * Parses and checks rule text; name is what errors call the file. NULL on
 * an error, described in *err (the first one found); a text with no rule
 * is an error too.
 */
struct rule_set *rule_set_parse(const char *name, const char *text, size_t len,
                                 struct rule_error *err);
/*
 * Loads path: a .rules file, or a folder whose *.rules files are read in
 * name order as one set (rule ids unique across them). NULL with *err set
 * on an error, including a file that cannot be read or a set with no rule.
 */
struct rule_set *rule_set_load(const char *path, struct rule_error *err);
void rule_set_free(struct rule_set **rs_p);

size_t rule_set_count(const struct rule_set *rs);
const struct rule *rule_set_rule(const struct rule_set *rs, size_t i);
/* The index of the rule with this id, or -1. */
int rule_set_find(const struct rule_set *rs, const char *id);

/*
 * Evaluates every rule against in. Writes the indexes of the rules whose
 * condition holds, in file order, to fired (room for max); returns how
 * many fired. Pure: no allocation, no I/O. Evaluation stops once fired is
 * full, so the count is at most max (RULES_MAX is always room enough).
 */
size_t rule_set_evaluate(const struct rule_set *rs, const struct rule_input *in, uint16_t *fired,
                         size_t max);

/*
 * The text the set was built from: each file as read, after a line
 * "# file: NAME", in load order. rulesd records it, so that a replay can
 * compare a candidate with the rules that were live.
 */
const char *rule_set_source(const struct rule_set *rs);

/* Prints the compiled set in a stable text form (the golden tests compare it). */
void rule_set_dump(const struct rule_set *rs, FILE *out);
/* Formats an error as "file:line:col: message". */
void rule_error_format(const struct rule_error *err, char *buf, size_t len);

#endif
