/*
 * Fuzzes the rule-file parser (rule_set_parse, lib/rulelang_*.c) with the
 * input as the text of a .rules file. A set that loads is dumped as the
 * golden tests and `rulesd -n` print it, and evaluated against a few
 * screenings that touch every input a rule can read (fever, symptoms,
 * travel from a risk area, earlier fevers, the household's level); an
 * error must name a place in the text and format as one line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rulelang.h"
#include "validate.h"

#define DAY(t) ((int32_t)validate_local_day(t))

/* Once, before the first input: quiet logs, and what the inputs share. */
FUZZ_INITIALIZE((void)0)

/*
 * Runs the set against screenings that between them reach every input,
 * filled as assess.c fills them, within what validate_record lets through.
 */
static void
s_evaluate(const struct rule_set *rs)
{
	static struct risk_area areas[] = {
		{ "42", 18281, INT32_MAX },             /* 湖北省 from 2020-01-20 */
		{ "4201", 18281, 18300 },
	};
	static const struct risk_registry reg = { areas, 2 };
	static const int64_t fevers[] = {
		FUZZ_NOW - 86400, FUZZ_NOW - 3 * 86400, FUZZ_NOW - 20 * 86400, SCREENED_AT_MIN_S,
	};
	struct rule_input in[3];
	uint16_t fired[RULES_MAX];
	size_t n;

	memset(in, 0, sizeof(in));
	for (int i = 0; i < 3; i++) {
		in[i].screened_at = FUZZ_NOW - 600;
		in[i].screened_day = DAY(in[i].screened_at);
		in[i].arrived_day = RISK_NO_DAY;
		in[i].origin_region = "";
		in[i].risk = &reg;
	}
	/* a fever with cough, back from Wuhan five days ago, fevers before */
	in[0].has_temperature = true;
	in[0].temperature_tenths = 385;
	in[0].symptoms = 1u << 1 | 1u << 2;
	in[0].channel = 2;
	in[0].origin_region = "420100";
	in[0].arrived_day = in[0].screened_day - 5;
	in[0].fevers = fevers;
	in[0].nfevers = 3;
	/* nothing found, a confirmed contact, the household at high */
	in[1].contact = 1;
	in[1].level = 2;
	in[1].household_level = 3;
	in[1].under_observation = true;
	/* the extremes validation lets through: the earliest time, the last date */
	in[2].has_temperature = true;
	in[2].temperature_tenths = TEMPERATURE_MAX_TENTHS;
	in[2].symptoms = 0xFEu;                 /* every symptom, 1 to 7 */
	in[2].origin_region = "4";
	in[2].arrived_day = 2932896;            /* 9999-12-31 */
	in[2].screened_at = SCREENED_AT_MIN_S;
	in[2].screened_day = DAY(SCREENED_AT_MIN_S);
	in[2].fevers = &fevers[3];
	in[2].nfevers = 1;
	in[2].level = 3;
	in[2].household_level = 3;
	for (int i = 0; i < 3; i++) {
		n = rule_set_evaluate(rs, &in[i], fired, RULES_MAX);
		FUZZ_CHECK(n <= rule_set_count(rs));
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK(fired[k] < rule_set_count(rs) && (k == 0 || fired[k] > fired[k - 1]));
	}
}

/* Each input, from libFuzzer; everything it allocates is freed before it returns. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_error err;
	struct rule_set *rs;
	char line[1024], *dump = NULL;
	size_t dumplen = 0;
	FILE *out;

	memset(&err, 0, sizeof(err));
	rs = rule_set_parse("fuzz.rules", (const char *)data, size, &err);
	if (rs == NULL) {
		FUZZ_CHECK(err.message[0] != '\0' && err.line >= 0 && err.col >= 0);
		rule_error_format(&err, line, sizeof(line));
		FUZZ_CHECK(strchr(line, '\n') == NULL);
		return 0;
	}
	FUZZ_CHECK(rule_set_count(rs) >= 1 && rule_set_count(rs) <= RULES_MAX);
	for (size_t i = 0; i < rule_set_count(rs); i++) {
		const struct rule *r = rule_set_rule(rs, i);

		FUZZ_CHECK(rule_set_find(rs, r->id) == (int)i);
		FUZZ_CHECK(r->reason != NULL && strlen(r->action ? r->action : "") <= RULE_ACTION_MAX);
	}
	out = open_memstream(&dump, &dumplen);
	FUZZ_CHECK(out != NULL);
	rule_set_dump(rs, out);
	fclose(out);
	free(dump);
	FUZZ_CHECK(rule_set_source(rs) != NULL);
	s_evaluate(rs);
	rule_set_free(&rs);
	FUZZ_CHECK(rs == NULL);
	return 0;
}
