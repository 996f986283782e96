/*
 * Unit tests of the rule language (lib/rulelang*.c). First the default
 * rule set of deploy/rules/default.rules against screenings built to sit
 * on each edge of the 2020 guidance (37.2 against 37.3, day 14 against day
 * 15, inside and outside a risk area, before it was listed), asserting
 * exactly which rules fire. Then every operator, field and function on its
 * own, and the API around a set: errors as values, folders, limits, the
 * dump read back. The golden tests (tests/golden/rules) cover the error
 * messages one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "gridwall/v1/gridwall.pb-c.h"
#include "rulelang.h"

#define DAY 86400
#define HOUR 3600
#define D_2020_01_19 18280           /* days since 1970-01-01 */
#define D_2020_01_20 18281           /* Hubei listed as a risk area from this day */
#define D_2020_02_05 18297           /* the day of the screenings below */
#define SYMPTOM(s) (1u << GRIDWALL__V1__SYMPTOM__##s)

/* The registry of the tests: Hubei ("42") a risk area from 2020-01-20, open-ended. */
static struct risk_area test_areas[] = { { "42", D_2020_01_20, INT32_MAX } };
static const struct risk_registry test_registry = { test_areas, 1 };

/* The path of a file of the repository, found from the working folder or from this binary. */
static void
s_repo_path(char *buf, size_t size, const char *rel)
{
	static const char self[] = "tests/unit/test_rulelang.c";
	const char *file = __FILE__;
	size_t flen = strlen(file), slen = strlen(self);
	char exe[1024];
	ssize_t n;

	snprintf(buf, size, "%s", rel);
	if (access(buf, R_OK) == 0)
		return;
	if (flen >= slen && strcmp(file + flen - slen, self) == 0) {
		snprintf(buf, size, "%.*s%s", (int)(flen - slen), file, rel);
		if (access(buf, R_OK) == 0)
			return;
	}
	/* ROOT/BUILD/tests/test_rulelang */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(exe, '/');

			if (slash != NULL)
				*slash = '\0';
		}
		snprintf(buf, size, "%s/%s", exe, rel);
	}
}

/* Loads the default rule set once for the tests of the group. */
static int
s_setup_default(void **state)
{
	char path[1200];
	struct rule_error err;
	struct rule_set *rs;

	s_repo_path(path, sizeof(path), "deploy/rules/default.rules");
	rs = rule_set_load(path, &err);
	if (rs == NULL) {
		char msg[600];

		rule_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	*state = rs;
	return 0;
}

/* Frees the set of s_setup_default. */
static int
s_teardown_default(void **state)
{
	struct rule_set *rs = *state;

	rule_set_free(&rs);
	return 0;
}

/* A well person screened at the door on 2020-02-05 at 10:00: 36.5 C, no symptom, no travel. */
static void
s_input(struct rule_input *in)
{
	memset(in, 0, sizeof(*in));
	in->has_temperature = true;
	in->temperature_tenths = 365;
	in->channel = GRIDWALL__V1__CHANNEL__DOOR_TO_DOOR;
	in->contact = GRIDWALL__V1__CONTACT__NO_CONTACT;
	in->origin_region = "";
	in->arrived_day = RISK_NO_DAY;
	in->screened_day = D_2020_02_05;
	in->screened_at = (int64_t)D_2020_02_05 * DAY + 10 * HOUR;
	in->level = GRIDWALL__V1__RISK_LEVEL__NORMAL;
	in->household_level = GRIDWALL__V1__RISK_LEVEL__NORMAL;
	in->risk = &test_registry;
}

/* The same person, arrived from Wuhan (4201) days before the screening. */
static void
s_from_wuhan(struct rule_input *in, int days)
{
	s_input(in);
	in->origin_region = "420100";
	in->arrived_day = D_2020_02_05 - days;
}

/* The ids of the rules that fire, space-separated, in file order. */
static const char *
s_fired(const struct rule_set *rs, const struct rule_input *in)
{
	static char buf[1024];
	uint16_t fired[RULES_MAX];
	size_t n = rule_set_evaluate(rs, in, fired, RULES_MAX);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(buf, " ");
		strcat(buf, rule_set_rule(rs, fired[i])->id);
	}
	return buf;
}

/* The default set holds the rules of the guidance with their levels and periods. */
static void
test_default_rules(void **state)
{
	const struct rule_set *rs = *state;
	static const struct {
		const char *id;
		int level, observe, follow_up;
	} want[] = {
		{ "close_contact", GRIDWALL__V1__RISK_LEVEL__HIGH, 14, 24 },
		{ "fever_from_risk_area", GRIDWALL__V1__RISK_LEVEL__HIGH, 14, 24 },
		{ "symptoms_from_risk_area", GRIDWALL__V1__RISK_LEVEL__HIGH, 14, 24 },
		{ "risk_area_arrival", GRIDWALL__V1__RISK_LEVEL__KEY_PERSON, 14, 24 },
		{ "fever", GRIDWALL__V1__RISK_LEVEL__ATTENTION, 0, 24 },
		{ "repeated_fever", GRIDWALL__V1__RISK_LEVEL__HIGH, 14, 24 },
		{ "household_of_high_risk", GRIDWALL__V1__RISK_LEVEL__KEY_PERSON, 14, 24 },
	};

	assert_int_equal(rule_set_count(rs), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct rule *r = rule_set_rule(rs, i);

		assert_string_equal(r->id, want[i].id);
		assert_int_equal(r->level, want[i].level);
		assert_int_equal(r->observe_days, want[i].observe);
		assert_int_equal(r->follow_up_hours, want[i].follow_up);
		assert_int_equal(rule_set_find(rs, want[i].id), (int)i);
	}
	assert_string_equal(rule_set_rule(rs, 0)->reason, "close contact of a confirmed case");
	assert_string_equal(rule_set_rule(rs, 0)->action, "centralized observation for 14 days");
	assert_string_equal(rule_set_rule(rs, 4)->reason, "temperature of 37.3 C or more");
	assert_string_equal(rule_set_rule(rs, 4)->action, "recheck temperature within 24 hours");
}

/* 37.2 C is no fever; 37.3 C is, exactly (no floating-point edge). */
static void
test_default_fever_threshold(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_input in;

	s_input(&in);
	assert_string_equal(s_fired(rs, &in), "");
	in.temperature_tenths = 372;
	assert_string_equal(s_fired(rs, &in), "");
	in.temperature_tenths = 373;
	assert_string_equal(s_fired(rs, &in), "fever");
	in.temperature_tenths = 395;
	assert_string_equal(s_fired(rs, &in), "fever");
}

/* Day 14 after the arrival still counts, day 15 does not. */
static void
test_default_window(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_input in;

	s_from_wuhan(&in, 14);
	assert_string_equal(s_fired(rs, &in), "risk_area_arrival");
	s_from_wuhan(&in, 15);
	assert_string_equal(s_fired(rs, &in), "");
	in.temperature_tenths = 380;
	assert_string_equal(s_fired(rs, &in), "fever");
	s_from_wuhan(&in, 0);
	in.temperature_tenths = 380;
	assert_string_equal(s_fired(rs, &in), "fever_from_risk_area");
}

/* An origin under a risk area's code counts; one outside it does not. */
static void
test_default_origin(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_input in;

	s_from_wuhan(&in, 3);
	in.origin_region = "4201";
	assert_string_equal(s_fired(rs, &in), "risk_area_arrival");
	in.origin_region = "4401";
	assert_string_equal(s_fired(rs, &in), "");
	in.origin_region = "";
	assert_string_equal(s_fired(rs, &in), "");
	in.origin_region = NULL;      /* treated as none */
	assert_string_equal(s_fired(rs, &in), "");
}

/* Arriving before the area was listed is no arrival from a risk area. */
static void
test_default_before_listed(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_input in;

	s_input(&in);
	in.origin_region = "420100";
	in.arrived_day = D_2020_01_19;
	in.screened_day = D_2020_01_19 + 6;
	in.screened_at = (int64_t)in.screened_day * DAY;
	assert_string_equal(s_fired(rs, &in), "");
	in.arrived_day = D_2020_01_20;
	assert_string_equal(s_fired(rs, &in), "risk_area_arrival");
}

/* A risk origin without an arrival date counts as a recent arrival. */
static void
test_default_unknown_arrival(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_input in;

	s_input(&in);
	in.origin_region = "420100";
	assert_string_equal(s_fired(rs, &in), "risk_area_arrival");
	in.temperature_tenths = 376;
	assert_string_equal(s_fired(rs, &in), "fever_from_risk_area");
	in.symptoms = SYMPTOM(COUGH);
	assert_string_equal(s_fired(rs, &in), "fever_from_risk_area symptoms_from_risk_area");
}

/* A close contact of a confirmed case is high; of a suspected case, by itself, nothing. */
static void
test_default_close_contact(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_input in;

	s_input(&in);
	in.contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	assert_string_equal(s_fired(rs, &in), "close_contact");
	in.contact = GRIDWALL__V1__CONTACT__SUSPECTED_CASE;
	assert_string_equal(s_fired(rs, &in), "");
	s_from_wuhan(&in, 2);
	in.contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	assert_string_equal(s_fired(rs, &in), "close_contact risk_area_arrival");
}

/* Each respiratory symptom after a risk area fires; a sore throat is not one of them. */
static void
test_default_symptoms(void **state)
{
	const struct rule_set *rs = *state;
	static const unsigned respiratory[] = {
		SYMPTOM(COUGH), SYMPTOM(FATIGUE), SYMPTOM(SHORTNESS_OF_BREATH), SYMPTOM(DIARRHOEA),
		SYMPTOM(CONJUNCTIVAL_CONGESTION),
	};
	struct rule_input in;

	for (size_t i = 0; i < sizeof(respiratory) / sizeof(respiratory[0]); i++) {
		s_from_wuhan(&in, 5);
		in.symptoms = respiratory[i];
		assert_string_equal(s_fired(rs, &in), "symptoms_from_risk_area");
		in.symptoms |= SYMPTOM(SORE_THROAT);
		assert_string_equal(s_fired(rs, &in), "symptoms_from_risk_area");
		s_input(&in);
		in.symptoms = respiratory[i];
		assert_string_equal(s_fired(rs, &in), "");
	}
	s_from_wuhan(&in, 5);
	in.symptoms = SYMPTOM(SORE_THROAT);
	assert_string_equal(s_fired(rs, &in), "risk_area_arrival");
	in.symptoms = SYMPTOM(OTHER_SYMPTOM);
	assert_string_equal(s_fired(rs, &in), "risk_area_arrival");
}

/* A fever 48 hours after an earlier one is a repeated fever; 49 hours after is not. */
static void
test_default_repeated_fever(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_input in;
	int64_t fevers[2];

	s_input(&in);
	in.temperature_tenths = 381;
	in.fevers = fevers;
	in.nfevers = 1;
	fevers[0] = in.screened_at - 48 * HOUR;
	assert_string_equal(s_fired(rs, &in), "fever repeated_fever");
	fevers[0] = in.screened_at - 49 * HOUR;
	assert_string_equal(s_fired(rs, &in), "fever");
	fevers[1] = in.screened_at - 2 * HOUR;
	in.nfevers = 2;
	assert_string_equal(s_fired(rs, &in), "fever repeated_fever");
	in.temperature_tenths = 369;      /* no fever now: earlier ones alone fire nothing */
	assert_string_equal(s_fired(rs, &in), "");
}

/* A household member at high risk makes the others key persons; a key person does not. */
static void
test_default_household(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_input in;

	s_input(&in);
	in.household_level = GRIDWALL__V1__RISK_LEVEL__HIGH;
	assert_string_equal(s_fired(rs, &in), "household_of_high_risk");
	in.household_level = GRIDWALL__V1__RISK_LEVEL__KEY_PERSON;
	assert_string_equal(s_fired(rs, &in), "");
}

/* Without a temperature there is no fever, and "no fever" holds. */
static void
test_default_missing_temperature(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_input in;
	int64_t fever = 0;

	s_input(&in);
	in.has_temperature = false;
	in.temperature_tenths = 400;      /* ignored */
	in.fevers = &fever;
	in.nfevers = 1;
	fever = in.screened_at - HOUR;
	assert_string_equal(s_fired(rs, &in), "");
	s_from_wuhan(&in, 1);
	in.has_temperature = false;
	assert_string_equal(s_fired(rs, &in), "risk_area_arrival");
}

/* Parses one rule "r" with condition cond; fails the test on an error. */
static struct rule_set *
s_parse_when(const char *lets, const char *cond)
{
	char text[2048], msg[600];
	struct rule_error err;
	struct rule_set *rs;

	snprintf(text, sizeof(text), "%s\nrule r level high reason \"r\" action \"a\" when %s\n",
	         lets, cond);
	rs = rule_set_parse("test.rules", text, strlen(text), &err);
	if (rs == NULL) {
		rule_error_format(&err, msg, sizeof(msg));
		fail_msg("%s: %s", cond, msg);
	}
	return rs;
}

/* Whether condition cond (after lets) holds for in. */
static bool
s_holds_with(const char *lets, const char *cond, const struct rule_input *in)
{
	struct rule_set *rs = s_parse_when(lets, cond);
	uint16_t fired[1];
	size_t n = rule_set_evaluate(rs, in, fired, 1);

	rule_set_free(&rs);
	return n == 1;
}

/* Whether condition cond holds for in. */
static bool
s_holds(const char *cond, const struct rule_input *in)
{
	return s_holds_with("", cond, in);
}

/* The first error of text, formatted. */
static const char *
s_error_of(const char *text)
{
	static char msg[600];
	struct rule_error err;
	struct rule_set *rs = rule_set_parse("t.rules", text, strlen(text), &err);

	if (rs != NULL) {
		rule_set_free(&rs);
		return "(no error)";
	}
	rule_error_format(&err, msg, sizeof(msg));
	return msg;
}

/* Every comparison of numbers, exactly at and around 37.3, and decimals to two places. */
static void
test_numbers(void **state)
{
	struct rule_input in;

	(void)state;
	s_input(&in);
	in.temperature_tenths = 373;
	assert_true(s_holds("temperature == 37.3", &in));
	assert_true(s_holds("temperature == 37.30", &in));
	assert_false(s_holds("temperature != 37.3", &in));
	assert_true(s_holds("temperature != 37.2", &in));
	assert_false(s_holds("temperature < 37.3", &in));
	assert_true(s_holds("temperature < 37.31", &in));
	assert_true(s_holds("temperature <= 37.3", &in));
	assert_false(s_holds("temperature > 37.3", &in));
	assert_true(s_holds("temperature > 37.29", &in));
	assert_true(s_holds("temperature >= 37.3", &in));
	assert_true(s_holds("temperature > 37.25", &in));
	assert_true(s_holds("37.3 <= temperature", &in));
	assert_true(s_holds("0.5 < 1", &in));
	assert_true(s_holds("14 == 14.00", &in));
	assert_true(s_holds("1000000 > 999999.99", &in));
}

/* With no temperature and no arrival date, every comparison of them is false. */
static void
test_unknown_numbers(void **state)
{
	static const char *const conds[] = {
		"temperature == 37.3", "temperature != 37.3", "temperature < 37.3",
		"temperature <= 37.3", "temperature > 37.3", "temperature >= 37.3",
		"temperature == temperature", "days_since_arrival == 0", "days_since_arrival != 0",
		"days_since_arrival < 100", "days_since_arrival >= 0",
	};
	struct rule_input in;

	(void)state;
	s_input(&in);
	in.has_temperature = false;
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
		assert_false(s_holds(conds[i], &in));
	assert_true(s_holds("not (temperature >= 37.3)", &in));
	assert_true(s_holds("not temperature < 37.3", &in));
	in.has_temperature = true;
	in.arrived_day = D_2020_02_05 - 3;
	assert_true(s_holds("days_since_arrival == 3", &in));
	assert_true(s_holds("days_since_arrival < 3.5", &in));
	assert_false(s_holds("days_since_arrival > 3", &in));
}

/* Levels are ordered; contacts and channels compare for equality. */
static void
test_enums(void **state)
{
	struct rule_input in;

	(void)state;
	s_input(&in);
	in.level = GRIDWALL__V1__RISK_LEVEL__KEY_PERSON;
	in.household_level = GRIDWALL__V1__RISK_LEVEL__ATTENTION;
	assert_true(s_holds("level == key_person", &in));
	assert_true(s_holds("level >= key_person", &in));
	assert_true(s_holds("level > attention", &in));
	assert_false(s_holds("level >= high", &in));
	assert_true(s_holds("level < high", &in));
	assert_true(s_holds("level != normal", &in));
	assert_true(s_holds("household_level < level", &in));
	assert_true(s_holds("normal < attention and attention < key_person and key_person < high", &in));
	assert_true(s_holds("contact == no_contact", &in));
	assert_false(s_holds("contact != no_contact", &in));
	in.contact = GRIDWALL__V1__CONTACT__SUSPECTED_CASE;
	assert_true(s_holds("contact == suspected_case", &in));
	assert_true(s_holds("contact != confirmed_case", &in));
	assert_true(s_holds("channel == door_to_door", &in));
	in.channel = GRIDWALL__V1__CHANNEL__FOLLOW_UP;
	assert_true(s_holds("channel == follow_up", &in));
	assert_true(s_holds("follow_up == channel", &in));
	assert_true(s_holds("channel != checkpoint", &in));
}

/* The constants are the protobuf values, for every enum. */
static void
test_enum_values(void **state)
{
	static const struct {
		const char *name;
		int value;
	} channels[] = {
		{ "door_to_door", GRIDWALL__V1__CHANNEL__DOOR_TO_DOOR },
		{ "checkpoint", GRIDWALL__V1__CHANNEL__CHECKPOINT },
		{ "building_captain", GRIDWALL__V1__CHANNEL__BUILDING_CAPTAIN },
		{ "self_declaration", GRIDWALL__V1__CHANNEL__SELF_DECLARATION },
		{ "enterprise", GRIDWALL__V1__CHANNEL__ENTERPRISE },
		{ "follow_up", GRIDWALL__V1__CHANNEL__FOLLOW_UP },
	}, symptoms[] = {
		{ "cough", GRIDWALL__V1__SYMPTOM__COUGH },
		{ "fatigue", GRIDWALL__V1__SYMPTOM__FATIGUE },
		{ "shortness_of_breath", GRIDWALL__V1__SYMPTOM__SHORTNESS_OF_BREATH },
		{ "diarrhoea", GRIDWALL__V1__SYMPTOM__DIARRHOEA },
		{ "conjunctival_congestion", GRIDWALL__V1__SYMPTOM__CONJUNCTIVAL_CONGESTION },
		{ "sore_throat", GRIDWALL__V1__SYMPTOM__SORE_THROAT },
		{ "other_symptom", GRIDWALL__V1__SYMPTOM__OTHER_SYMPTOM },
	}, contacts[] = {
		{ "no_contact", GRIDWALL__V1__CONTACT__NO_CONTACT },
		{ "confirmed_case", GRIDWALL__V1__CONTACT__CONFIRMED_CASE },
		{ "suspected_case", GRIDWALL__V1__CONTACT__SUSPECTED_CASE },
	}, levels[] = {
		{ "normal", GRIDWALL__V1__RISK_LEVEL__NORMAL },
		{ "attention", GRIDWALL__V1__RISK_LEVEL__ATTENTION },
		{ "key_person", GRIDWALL__V1__RISK_LEVEL__KEY_PERSON },
		{ "high", GRIDWALL__V1__RISK_LEVEL__HIGH },
	};
	struct rule_input in;
	char cond[128];

	(void)state;
	s_input(&in);
	for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
		in.channel = channels[i].value;
		snprintf(cond, sizeof(cond), "channel == %s", channels[i].name);
		assert_true(s_holds(cond, &in));
		in.channel = channels[i].value % 6 + 1;
		assert_false(s_holds(cond, &in));
	}
	for (size_t i = 0; i < sizeof(symptoms) / sizeof(symptoms[0]); i++) {
		snprintf(cond, sizeof(cond), "any_symptom(%s)", symptoms[i].name);
		in.symptoms = 1u << symptoms[i].value;
		assert_true(s_holds(cond, &in));
		in.symptoms = ~(1u << symptoms[i].value);
		assert_false(s_holds(cond, &in));
	}
	for (size_t i = 0; i < sizeof(contacts) / sizeof(contacts[0]); i++) {
		in.contact = contacts[i].value;
		snprintf(cond, sizeof(cond), "contact == %s", contacts[i].name);
		assert_true(s_holds(cond, &in));
	}
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		in.level = in.household_level = levels[i].value;
		snprintf(cond, sizeof(cond), "level == %s and household_level == %s", levels[i].name,
		         levels[i].name);
		assert_true(s_holds(cond, &in));
	}
}

/* Strings compare for equality; bools too, with true and false. */
static void
test_strings_and_bools(void **state)
{
	struct rule_input in;

	(void)state;
	s_input(&in);
	assert_true(s_holds("origin_region == \"\"", &in));
	in.origin_region = "420100";
	assert_true(s_holds("origin_region == \"420100\"", &in));
	assert_true(s_holds("\"420100\" == origin_region", &in));
	assert_false(s_holds("origin_region == \"4201\"", &in));
	assert_true(s_holds("origin_region != \"4201\"", &in));
	assert_true(s_holds("\"a\\\"b\" == \"a\\\"b\"", &in));
	assert_true(s_holds("\"武汉\" != \"湖北\"", &in));
	assert_false(s_holds("under_observation", &in));
	assert_true(s_holds("not under_observation", &in));
	assert_true(s_holds("under_observation == false", &in));
	in.under_observation = true;
	assert_true(s_holds("under_observation", &in));
	assert_true(s_holds("under_observation != false", &in));
	assert_true(s_holds("(temperature >= 37.3) == false", &in));
	assert_true(s_holds("true", &in));
	assert_false(s_holds("false", &in));
}

/* or is looser than and, and looser than not, and not than a comparison. */
static void
test_precedence(void **state)
{
	struct rule_input in;

	(void)state;
	s_input(&in);
	assert_true(s_holds("true or false and false", &in));       /* true or (false and false) */
	assert_false(s_holds("(true or false) and false", &in));
	assert_true(s_holds("not false and true", &in));            /* (not false) and true */
	assert_false(s_holds("not (false or true)", &in));
	assert_true(s_holds("not true or true", &in));              /* (not true) or true */
	assert_true(s_holds("not not true", &in));
	assert_true(s_holds("not temperature > 40 and temperature < 37", &in));
	assert_false(s_holds("false and false or false", &in));
	assert_true(s_holds("false and false or true", &in));       /* (false and false) or true */
	assert_true(s_holds("false or true and true", &in));
	assert_false(s_holds("false or true and false", &in));
}

/* The functions: symptoms, risk areas, region prefixes, earlier fevers. */
static void
test_functions(void **state)
{
	struct rule_input in;
	int64_t fevers[6];

	(void)state;
	s_input(&in);
	assert_false(s_holds("any_symptom(cough, fatigue)", &in));
	in.symptoms = SYMPTOM(FATIGUE) | SYMPTOM(SORE_THROAT);
	assert_true(s_holds("any_symptom(cough, fatigue)", &in));
	assert_false(s_holds("any_symptom(cough, diarrhoea)", &in));
	assert_true(s_holds("any_symptom(cough, cough, sore_throat)", &in));

	s_from_wuhan(&in, 2);
	assert_true(s_holds("from_risk_area(2 days)", &in));
	assert_true(s_holds("from_risk_area(48 hours)", &in));
	assert_false(s_holds("from_risk_area(1 day)", &in));
	assert_false(s_holds("from_risk_area(24 hours)", &in));
	in.risk = NULL;
	assert_false(s_holds("from_risk_area(14 days)", &in));

	in.origin_region = "420100";
	assert_true(s_holds("region_in(\"42\")", &in));
	assert_true(s_holds("region_in(\"44\", \"4201\")", &in));
	assert_false(s_holds("region_in(\"44\", \"4202\")", &in));
	assert_false(s_holds("region_in(\"4201001\")", &in));
	in.origin_region = "";
	assert_false(s_holds("region_in(\"4\")", &in));

	/* [screened_at - 1 day, screened_at): the start counts, the end does not */
	s_input(&in);
	fevers[0] = in.screened_at - HOUR;
	fevers[1] = in.screened_at - 23 * HOUR;
	fevers[2] = in.screened_at - 24 * HOUR;
	fevers[3] = in.screened_at - 24 * HOUR - 1;
	fevers[4] = in.screened_at;
	fevers[5] = in.screened_at + 60;
	in.fevers = fevers;
	in.nfevers = 6;
	assert_true(s_holds("fevers_in_last(1 day) == 3", &in));
	assert_true(s_holds("fevers_in_last(24 hours) == 3", &in));
	assert_true(s_holds("fevers_in_last(2 hours) == 1", &in));
	assert_true(s_holds("fevers_in_last(2 days) == 4", &in));
	in.nfevers = 0;
	assert_true(s_holds("fevers_in_last(14 days) == 0", &in));
}

/* Lets name values of any type, may build on each other, and give the same value when reused. */
static void
test_lets(void **state)
{
	static const char lets[] =
		"let fever = temperature >= 37.3\n"
		"let window = 14 days\n"
		"let wuhan = \"4201\"\n"
		"let limit = 37.3\n"
		"let from_risk = from_risk_area(window)\n"
		"let feverish_traveller = fever and from_risk\n"
		"let watched = level\n";
	struct rule_input in;

	(void)state;
	s_from_wuhan(&in, 3);
	in.temperature_tenths = 380;
	in.level = GRIDWALL__V1__RISK_LEVEL__ATTENTION;
	assert_true(s_holds_with(lets, "feverish_traveller and fever and from_risk", &in));
	assert_true(s_holds_with(lets, "region_in(wuhan) and temperature >= limit", &in));
	assert_true(s_holds_with(lets, "watched == attention", &in));
	assert_false(s_holds_with(lets, "not feverish_traveller or not from_risk", &in));
	in.temperature_tenths = 370;
	assert_false(s_holds_with(lets, "feverish_traveller", &in));
	assert_true(s_holds_with(lets, "from_risk and not fever", &in));
}

/* A set evaluated twice in a row, and with several rules sharing a cached let, stays consistent. */
static void
test_let_cache_per_input(void **state)
{
	static const char text[] =
		"let from_risk = from_risk_area(14 days)\n"
		"rule a level high reason \"r\" action \"a\" when from_risk\n"
		"rule b level high reason \"r\" action \"a\" when not from_risk\n"
		"rule c level high reason \"r\" action \"a\" when from_risk and true\n";
	struct rule_error err;
	struct rule_set *rs = rule_set_parse("cache.rules", text, strlen(text), &err);
	struct rule_input in;

	(void)state;
	assert_non_null(rs);
	s_from_wuhan(&in, 3);
	assert_string_equal(s_fired(rs, &in), "a c");
	s_input(&in);
	assert_string_equal(s_fired(rs, &in), "b");
	s_from_wuhan(&in, 3);
	assert_string_equal(s_fired(rs, &in), "a c");
	rule_set_free(&rs);
}

/* Clauses in any order; follow_up in days counts as hours; observe and follow_up are optional. */
static void
test_clauses(void **state)
{
	static const char text[] =
		"rule a when true action \"act\" follow_up 2 days level attention reason \"why\"\n"
		"rule b level key_person reason \"r\" action \"a\" observe 7 days when true\n"
		"rule c level high reason \"r\" action \"a\" when channel == follow_up follow_up 1 hour\n";
	struct rule_error err;
	struct rule_set *rs = rule_set_parse("clauses.rules", text, strlen(text), &err);
	const struct rule *r;

	(void)state;
	assert_non_null(rs);
	assert_int_equal(rule_set_count(rs), 3);
	r = rule_set_rule(rs, 0);
	assert_string_equal(r->id, "a");
	assert_int_equal(r->level, GRIDWALL__V1__RISK_LEVEL__ATTENTION);
	assert_string_equal(r->reason, "why");
	assert_string_equal(r->action, "act");
	assert_int_equal(r->follow_up_hours, 48);
	assert_int_equal(r->observe_days, 0);
	assert_string_equal(r->file, "clauses.rules");
	assert_int_equal(r->line, 1);
	r = rule_set_rule(rs, 1);
	assert_int_equal(r->level, GRIDWALL__V1__RISK_LEVEL__KEY_PERSON);
	assert_int_equal(r->observe_days, 7);
	assert_int_equal(r->follow_up_hours, 0);
	assert_int_equal(r->line, 2);
	r = rule_set_rule(rs, 2);
	assert_int_equal(r->level, GRIDWALL__V1__RISK_LEVEL__HIGH);
	assert_int_equal(r->follow_up_hours, 1);
	assert_null(rule_set_rule(rs, 3));
	assert_int_equal(rule_set_find(rs, "c"), 2);
	assert_int_equal(rule_set_find(rs, "d"), -1);
	rule_set_free(&rs);
}

/* A Chinese reason comes out byte for byte; columns after it count characters. */
static void
test_chinese(void **state)
{
	static const char text[] =
		"rule fever level attention\n"
		"    reason \"体温37.3℃及以上\" action \"24小时内复测体温\"\n"
		"    when temperature >= 37.3\n";
	static const char bad[] = "rule x level high reason \"发热\" action \"a\" when y\n";
	struct rule_error err;
	struct rule_set *rs = rule_set_parse("zh.rules", text, strlen(text), &err);

	(void)state;
	assert_non_null(rs);
	assert_string_equal(rule_set_rule(rs, 0)->reason, "体温37.3℃及以上");
	assert_string_equal(rule_set_rule(rs, 0)->action, "24小时内复测体温");
	rule_set_free(&rs);
	assert_string_equal(s_error_of(bad), "t.rules:1:47: unknown name 'y'");
}

/* Errors are values: the position and message apart, and formatted as file:line:col. */
static void
test_errors(void **state)
{
	struct rule_error err;
	char msg[600];
	const char *text = "rule r level high reason \"r\" action \"a\"\n  when temprature > 37\n";

	(void)state;
	assert_null(rule_set_parse("bad.rules", text, strlen(text), &err));
	assert_string_equal(err.file, "bad.rules");
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 8);
	assert_string_equal(err.message, "unknown name 'temprature' (did you mean 'temperature'?)");
	rule_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg,
	    "bad.rules:2:8: unknown name 'temprature' (did you mean 'temperature'?)");
	rule_error_format(&err, msg, 6);
	assert_string_equal(msg, "bad.r");
	assert_string_equal(s_error_of(""), "t.rules: no rules");
	assert_string_equal(s_error_of("# only a comment\nlet a = true\n"), "t.rules: no rules");
	/* a lexing error after a parse error is not the first */
	assert_string_equal(s_error_of("rule r level bad @"),
	    "t.rules:1:14: a rule's level is attention, key_person or high, not 'bad'");
	assert_string_equal(s_error_of("rule r level high reason \"r\" action \"a\" when true @"),
	    "t.rules:1:51: unexpected character '@'");
	/* a NUL byte is no end of the text */
	assert_null(rule_set_parse("nul.rules", "rule r\0", 7, &err));
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 7);
	assert_string_equal(err.message, "unexpected character U+0000");
	rule_error_format(&err, msg, sizeof(msg));
	assert_null(rule_set_load("/nonexistent/gridwall.rules", &err));
	rule_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "/nonexistent/gridwall.rules: cannot read: No such file or directory");
}

/* Limits hold without crashing: nesting, chains through lets, the number of rules. */
static void
test_limits(void **state)
{
	size_t size = 64 * 1024;
	char *text = malloc(size), *p;
	struct rule_error err;
	struct rule_set *rs;

	(void)state;
	assert_non_null(text);
	/* 70 parentheses deep */
	p = text + sprintf(text, "rule r level high reason \"r\" action \"a\" when ");
	for (int i = 0; i < 70; i++)
		*p++ = '(';
	p += sprintf(p, "true");
	for (int i = 0; i < 70; i++)
		*p++ = ')';
	*p = '\0';
	assert_null(rule_set_parse("deep.rules", text, strlen(text), &err));
	assert_string_equal(err.message, "parentheses nested too deeply (over 64)");
	/* 250 lets each negating the one before: too deep to evaluate safely */
	p = text + sprintf(text, "let a0 = true\n");
	for (int i = 1; i < 250; i++)
		p += sprintf(p, "let a%d = not a%d\n", i, i - 1);
	sprintf(p, "rule r level high reason \"r\" action \"a\" when a249\n");
	assert_null(rule_set_parse("chain.rules", text, strlen(text), &err));
	assert_non_null(strstr(err.message, "condition too deep"));
	/* 60 such lets are fine, and evaluate right */
	p = text + sprintf(text, "let a0 = true\n");
	for (int i = 1; i < 60; i++)
		p += sprintf(p, "let a%d = not a%d\n", i, i - 1);
	sprintf(p, "rule r level high reason \"r\" action \"a\" when a58\n");
	rs = rule_set_parse("chain.rules", text, strlen(text), &err);
	assert_non_null(rs);
	{
		struct rule_input in;
		uint16_t fired[1];

		s_input(&in);
		assert_int_equal(rule_set_evaluate(rs, &in, fired, 1), 1);   /* 58 nots of true */
	}
	rule_set_free(&rs);
	/* RULES_MAX rules, then one more */
	p = text;
	for (int i = 0; i <= RULES_MAX; i++)
		p += sprintf(p, "rule r%d level high reason \"r\" action \"a\" when true\n", i);
	assert_null(rule_set_parse("many.rules", text, strlen(text), &err));
	assert_int_equal(err.line, RULES_MAX + 1);
	assert_string_equal(err.message, "too many rules (at most 256)");
	rs = rule_set_parse("many.rules", text, (size_t)(strstr(text, "rule r256") - text), &err);
	assert_non_null(rs);
	assert_int_equal(rule_set_count(rs), RULES_MAX);
	{
		struct rule_input in;
		uint16_t fired[RULES_MAX];

		s_input(&in);
		assert_int_equal(rule_set_evaluate(rs, &in, fired, RULES_MAX), RULES_MAX);
		assert_int_equal(fired[RULES_MAX - 1], RULES_MAX - 1);
		assert_int_equal(rule_set_evaluate(rs, &in, fired, 3), 3);   /* no room: stops */
		assert_int_equal(fired[2], 2);
		assert_int_equal(rule_set_evaluate(rs, &in, fired, 0), 0);
	}
	rule_set_free(&rs);
	free(text);
}

/* NULL is an empty set to the accessors, and free takes NULL and a pointer to NULL. */
static void
test_null(void **state)
{
	struct rule_set *rs = NULL;
	struct rule_input in;
	uint16_t fired[4];

	(void)state;
	s_input(&in);
	assert_int_equal(rule_set_count(NULL), 0);
	assert_null(rule_set_rule(NULL, 0));
	assert_int_equal(rule_set_find(NULL, "x"), -1);
	assert_int_equal(rule_set_evaluate(NULL, &in, fired, 4), 0);
	assert_string_equal(rule_set_source(NULL), "");
	rule_set_free(&rs);
	rule_set_free(NULL);
}

/* Writes text to dir/name. */
static void
s_write(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Removes dir/name. */
static void
s_remove(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* A folder is its *.rules files in name order; lets stay in their file; ids are unique across. */
static void
test_folder(void **state)
{
	char dir[64], msg[600], source[1024];
	struct rule_error err;
	struct rule_set *rs;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/gridwall-rules-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_null(rule_set_load(dir, &err));
	assert_string_equal(err.message, "no .rules files in the folder");
	s_write(dir, "20-local.rules", "let hot = temperature >= 38\n"
	                               "rule hot level high reason \"r\" action \"a\" when hot\n");
	s_write(dir, "10-base.rules", "let hot = temperature >= 37.3\n"
	                              "rule warm level attention reason \"r\" action \"a\" when hot");
	s_write(dir, "notes.txt", "not a rule file");
	s_write(dir, ".#10-base.rules", "an editor's lock file");
	rs = rule_set_load(dir, &err);
	assert_non_null(rs);
	assert_int_equal(rule_set_count(rs), 2);
	assert_string_equal(rule_set_rule(rs, 0)->id, "warm");
	assert_string_equal(rule_set_rule(rs, 1)->id, "hot");
	snprintf(msg, sizeof(msg), "%s/20-local.rules", dir);
	assert_string_equal(rule_set_rule(rs, 1)->file, msg);
	snprintf(source, sizeof(source),
	         "# file: %s/10-base.rules\n"
	         "let hot = temperature >= 37.3\n"
	         "rule warm level attention reason \"r\" action \"a\" when hot\n"
	         "# file: %s/20-local.rules\n"
	         "let hot = temperature >= 38\n"
	         "rule hot level high reason \"r\" action \"a\" when hot\n", dir, dir);
	assert_string_equal(rule_set_source(rs), source);
	{
		struct rule_input in;

		s_input(&in);
		in.temperature_tenths = 375;
		assert_string_equal(s_fired(rs, &in), "warm");
		in.temperature_tenths = 380;
		assert_string_equal(s_fired(rs, &in), "warm hot");
	}
	rule_set_free(&rs);

	s_write(dir, "30-more.rules", "rule extra level high reason \"r\" action \"a\" when hot\n");
	assert_null(rule_set_load(dir, &err));
	rule_error_format(&err, msg, sizeof(msg));
	assert_non_null(strstr(msg, "/30-more.rules:1:50: unknown name 'hot' (the let in "));
	s_write(dir, "30-more.rules", "rule warm level high reason \"r\" action \"a\" when true\n");
	assert_null(rule_set_load(dir, &err));
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 6);
	assert_non_null(strstr(err.message, "duplicate rule id 'warm' (first defined at "));
	assert_non_null(strstr(err.message, "/10-base.rules:2)"));
	s_remove(dir, "30-more.rules");
	s_remove(dir, "20-local.rules");
	s_remove(dir, "10-base.rules");
	s_remove(dir, "notes.txt");
	s_remove(dir, ".#10-base.rules");
	assert_int_equal(rmdir(dir), 0);
}

/* Drops the "  # line N" and "# file" comments of a dump, which depend on where it came from. */
static void
s_strip_places(char *dump)
{
	char *in = dump, *out = dump;

	while (*in) {
		char *eol = strchr(in, '\n'), *mark;
		size_t len = eol ? (size_t)(eol - in) + 1 : strlen(in), next = len;

		if (strncmp(in, "# file ", 7) != 0) {
			memmove(out, in, len);
			mark = memmem(out, len, "  # line ", 9);
			if (mark != NULL) {
				*mark = '\n';
				len = (size_t)(mark - out) + 1;
			}
			out += len;
		}
		in += next;
	}
	*out = '\0';
}

/* The dump is rule language: read back, it gives the same set. */
static void
test_dump_reads_back(void **state)
{
	const struct rule_set *rs = *state;
	struct rule_set *again;
	struct rule_error err;
	char *first = NULL, *second = NULL;
	size_t len1, len2;
	FILE *f;

	f = open_memstream(&first, &len1);
	assert_non_null(f);
	rule_set_dump(rs, f);
	assert_int_equal(fclose(f), 0);
	again = rule_set_parse("dump.rules", first, len1, &err);
	assert_non_null(again);
	f = open_memstream(&second, &len2);
	assert_non_null(f);
	rule_set_dump(again, f);
	assert_int_equal(fclose(f), 0);
	s_strip_places(first);
	s_strip_places(second);
	assert_string_equal(first, second);
	assert_non_null(strstr(first, "when from_risk and (not fever) and (not respiratory)\n"));
	free(first);
	free(second);
	rule_set_free(&again);
}

/* Runs the rule language tests; the exit status is the number that failed. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_rules),
		cmocka_unit_test(test_default_fever_threshold),
		cmocka_unit_test(test_default_window),
		cmocka_unit_test(test_default_origin),
		cmocka_unit_test(test_default_before_listed),
		cmocka_unit_test(test_default_unknown_arrival),
		cmocka_unit_test(test_default_close_contact),
		cmocka_unit_test(test_default_symptoms),
		cmocka_unit_test(test_default_repeated_fever),
		cmocka_unit_test(test_default_household),
		cmocka_unit_test(test_default_missing_temperature),
		cmocka_unit_test(test_dump_reads_back),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_unknown_numbers),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_enum_values),
		cmocka_unit_test(test_strings_and_bools),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_lets),
		cmocka_unit_test(test_let_cache_per_input),
		cmocka_unit_test(test_clauses),
		cmocka_unit_test(test_chinese),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_folder),
	};

	/* the group's state is the default set; the tests of the language itself ignore it */
	return cmocka_run_group_tests(tests, s_setup_default, s_teardown_default);
}
