/*
 * Unit tests of lib/assess.c: how screenings and time move a person's and a
 * household's state, with a small rule set written here so that each test
 * reads on its own. Times are in whole days and hours from a fixed start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "assess.h"

#define T0 ((int64_t)1580896800)          /* 2020-02-05 10:00:00 UTC */
#define HOUR 3600
#define DAY 86400

static const char RULES[] =
	"let fever = temperature >= 37.3\n"
	"rule close_contact\n"
	"    level high\n"
	"    reason \"close contact\"\n"
	"    action \"centralized observation\"\n"
	"    observe 14 days\n"
	"    follow_up 24 hours\n"
	"    when contact == confirmed_case\n"
	"rule fever_from_risk\n"
	"    level high\n"
	"    reason \"fever after a risk area\"\n"
	"    action \"fever clinic\"\n"
	"    observe 14 days\n"
	"    follow_up 24 hours\n"
	"    when fever and from_risk_area(14 days)\n"
	"rule single_fever\n"
	"    level attention\n"
	"    reason \"fever\"\n"
	"    action \"recheck\"\n"
	"    follow_up 24 hours\n"
	"    when fever and not from_risk_area(14 days)\n"
	"rule household_of_high_risk\n"
	"    level key_person\n"
	"    reason \"lives with a high-risk person\"\n"
	"    action \"home observation\"\n"
	"    observe 14 days\n"
	"    when household_level == high\n";

struct fixture {
	struct rule_set *rules;
	struct risk_registry risk;
	struct risk_area areas[1];
	struct assess a;
	int events[3];                        /* by enum assess_event_kind */
};

static int
s_setup(void **state)
{
	static struct fixture f;
	struct rule_error err;

	memset(&f, 0, sizeof(f));
	f.rules = rule_set_parse("test.rules", RULES, strlen(RULES), &err);
	if (f.rules == NULL)
		print_error("test.rules:%d:%d: %s\n", err.line, err.col, err.message);
	assert_non_null(f.rules);
	snprintf(f.areas[0].region, sizeof(f.areas[0].region), "42");
	f.areas[0].from_day = 18281;          /* 2020-01-20 */
	f.areas[0].to_day = INT32_MAX;
	f.risk.areas = f.areas;
	f.risk.n = 1;
	assess_init(&f.a);
	*state = &f;
	return 0;
}

static int
s_teardown(void **state)
{
	struct fixture *f = *state;

	rule_set_free(&f->rules);
	assess_free(&f->a);
	return 0;
}

/* A screening of person p in household h at time at, temperature in tenths. */
static struct screening
s_screening(int64_t id, int64_t p, int64_t h, int64_t at, int tenths)
{
	struct screening s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	s.person_id = p;
	s.household_id = h;
	s.screened_at = at;
	s.has_temperature = true;
	s.temperature_tenths = tenths;
	s.arrived_day = RISK_NO_DAY;
	snprintf(s.grid_code, sizeof(s.grid_code), "440605001001001");
	return s;
}

/* Assesses one screening in its own committed transaction. */
static struct assessment
s_assess(struct fixture *f, const struct screening *s)
{
	struct assessment as;

	assess_begin(&f->a);
	assert_true(assess_screening(&f->a, f->rules, &f->risk, s, &as));
	assess_commit(&f->a);
	return as;
}

static bool
s_count_event(void *arg, const struct assess_event *ev)
{
	struct fixture *f = arg;

	f->events[ev->kind]++;
	return true;
}

/* One committed tick at now. */
static void
s_tick(struct fixture *f, int64_t now)
{
	struct assess_clock c = { now, 6 * HOUR, 3 * DAY };

	assess_begin(&f->a);
	assert_true(assess_tick(&f->a, &c, s_count_event, f));
	assess_commit(&f->a);
}

static void
test_normal_screening_keeps_no_state(void **state)
{
	struct fixture *f = *state;
	struct screening s = s_screening(1, 10, 0, T0, 365);
	struct assessment as = s_assess(f, &s);

	assert_int_equal(as.nfired, 0);
	assert_false(as.alert);
	assert_null(assess_person(&f->a, 10));
}

static void
test_rise_alerts_repeat_does_not(void **state)
{
	struct fixture *f = *state;
	struct screening s = s_screening(1, 10, 0, T0, 365);
	struct assessment as;

	s.contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	as = s_assess(f, &s);
	assert_true(as.alert);
	assert_int_equal(as.new_level, GRIDWALL__V1__RISK_LEVEL__HIGH);
	assert_string_equal(as.top->id, "close_contact");
	s.id = 2;
	s.screened_at += HOUR;
	as = s_assess(f, &s);
	assert_int_equal(as.nfired, 1);
	assert_false(as.alert);
	assert_int_equal(assess_person(&f->a, 10)->observe_until, T0 + HOUR + 14 * DAY);
}

static void
test_new_action_at_same_level_alerts(void **state)
{
	struct fixture *f = *state;
	struct screening s = s_screening(1, 10, 0, T0, 365);
	struct assessment as;

	s.contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	s_assess(f, &s);
	s = s_screening(2, 10, 0, T0 + DAY, 380);
	snprintf(s.origin_region, sizeof(s.origin_region), "420100");
	as = s_assess(f, &s);
	assert_true(as.alert);
	assert_int_equal(as.previous_level, GRIDWALL__V1__RISK_LEVEL__HIGH);
	assert_string_equal(assess_person(&f->a, 10)->action, "fever clinic");
}

static void
test_single_fever_released_by_normal_recheck(void **state)
{
	struct fixture *f = *state;
	struct screening s = s_screening(1, 10, 0, T0, 375);
	struct assessment as = s_assess(f, &s);

	assert_int_equal(as.new_level, GRIDWALL__V1__RISK_LEVEL__ATTENTION);
	assert_int_equal(assess_person(&f->a, 10)->follow_up_due, T0 + 24 * HOUR);
	s = s_screening(2, 10, 0, T0 + 20 * HOUR, 366);
	as = s_assess(f, &s);
	assert_true(as.released);
	assert_false(as.alert);
	assert_int_equal(as.new_level, GRIDWALL__V1__RISK_LEVEL__NORMAL);
	assert_int_equal(assess_person(&f->a, 10)->follow_up_due, 0);
}

/*
 * A backlog's fever older than the ones kept goes in its place in time:
 * newest first, as rulesd reads them back after a restart (the chaos test
 * found the two orders differ).
 */
static void
test_fevers_kept_in_time_order(void **state)
{
	struct fixture *f = *state;
	const int64_t at[] = { T0, T0 + 2 * HOUR, T0 + HOUR };
	const struct person_state *st;

	for (int i = 0; i < 3; i++) {
		struct screening s = s_screening(i + 1, 10, 0, at[i], 380);

		s_assess(f, &s);
	}
	st = assess_person(&f->a, 10);
	assert_int_equal(st->nfevers, 3);
	assert_int_equal(st->fevers[0], T0 + 2 * HOUR);
	assert_int_equal(st->fevers[1], T0 + HOUR);
	assert_int_equal(st->fevers[2], T0);
}

static void
test_household_level_excludes_self(void **state)
{
	struct fixture *f = *state;
	struct screening s = s_screening(1, 10, 5, T0, 365);
	struct assessment as;

	s.contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	s_assess(f, &s);
	/* The high-risk person's own next screening: no household rule. */
	s.id = 2;
	s.contact = 0;
	as = s_assess(f, &s);
	assert_int_equal(as.nfired, 0);
	/* Another member of household 5: key person. */
	s = s_screening(3, 11, 5, T0 + HOUR, 365);
	as = s_assess(f, &s);
	assert_true(as.alert);
	assert_int_equal(as.new_level, GRIDWALL__V1__RISK_LEVEL__KEY_PERSON);
	assert_int_equal(assess_household(&f->a, 5)->members_at[GRIDWALL__V1__RISK_LEVEL__HIGH], 1);
	assert_int_equal(assess_household(&f->a, 5)->members_at[GRIDWALL__V1__RISK_LEVEL__KEY_PERSON], 1);
}

static void
test_rollback_restores_states(void **state)
{
	struct fixture *f = *state;
	struct screening s = s_screening(1, 10, 5, T0, 365);
	struct assessment as;

	s.contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	assess_begin(&f->a);
	assert_true(assess_screening(&f->a, f->rules, &f->risk, &s, &as));
	assert_int_equal(assess_person(&f->a, 10)->level, GRIDWALL__V1__RISK_LEVEL__HIGH);
	assert_true(f->a.nundo >= 2);
	assess_rollback(&f->a);
	assert_int_equal(assess_person(&f->a, 10)->level, GRIDWALL__V1__RISK_LEVEL__NORMAL);
	assert_int_equal(assess_household(&f->a, 5)->members_at[GRIDWALL__V1__RISK_LEVEL__HIGH], 0);
	assert_int_equal(assess_household(&f->a, 5)->last_screened_at, 0);
}

static void
test_observation_ends_released(void **state)
{
	struct fixture *f = *state;
	struct screening s = s_screening(1, 10, 5, T0, 365);

	s.contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	s_assess(f, &s);
	s_tick(f, T0 + 14 * DAY - 1);
	assert_int_equal(f->events[ASSESS_RELEASED], 0);
	s_tick(f, T0 + 14 * DAY);
	assert_int_equal(f->events[ASSESS_RELEASED], 1);
	assert_int_equal(assess_person(&f->a, 10)->level, GRIDWALL__V1__RISK_LEVEL__NORMAL);
	assert_int_equal(assess_person(&f->a, 10)->observe_until, 0);
	assert_int_equal(assess_household(&f->a, 5)->members_at[GRIDWALL__V1__RISK_LEVEL__HIGH], 0);
	s_tick(f, T0 + 15 * DAY);
	assert_int_equal(f->events[ASSESS_RELEASED], 1);
}

static void
test_fever_during_observation_extends_it(void **state)
{
	struct fixture *f = *state;
	struct screening s = s_screening(1, 10, 0, T0, 365);

	s.contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	s_assess(f, &s);
	s = s_screening(2, 10, 0, T0 + 10 * DAY, 376);
	s_assess(f, &s);
	s_tick(f, T0 + 14 * DAY);
	assert_int_equal(f->events[ASSESS_RELEASED], 0);
	assert_int_equal(assess_person(&f->a, 10)->observe_until, T0 + 24 * DAY);
	s_tick(f, T0 + 24 * DAY);
	assert_int_equal(f->events[ASSESS_RELEASED], 1);
}

static void
test_follow_up_overdue_once(void **state)
{
	struct fixture *f = *state;
	struct screening s = s_screening(1, 10, 0, T0, 365);

	s.contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	s_assess(f, &s);
	s_tick(f, T0 + 30 * HOUR - 1);
	assert_int_equal(f->events[ASSESS_FOLLOW_UP_OVERDUE], 0);
	s_tick(f, T0 + 30 * HOUR);
	s_tick(f, T0 + 31 * HOUR);
	assert_int_equal(f->events[ASSESS_FOLLOW_UP_OVERDUE], 1);
	/* The follow-up comes: due again a day later, and overdue again after that. */
	s = s_screening(2, 10, 0, T0 + 32 * HOUR, 365);
	s_assess(f, &s);
	assert_false(assess_person(&f->a, 10)->overdue_alerted);
	assert_int_equal(assess_person(&f->a, 10)->follow_up_due, T0 + 56 * HOUR);
	s_tick(f, T0 + 62 * HOUR);
	assert_int_equal(f->events[ASSESS_FOLLOW_UP_OVERDUE], 2);
}

static void
test_coverage_gap_once_per_gap(void **state)
{
	struct fixture *f = *state;
	struct household_state h = { .household_id = 7, .created_at = T0, .registered = true };
	struct household_state floating = { .household_id = 8, .created_at = T0 };
	struct screening s;

	snprintf(h.grid_code, sizeof(h.grid_code), "440605001001001");
	assert_true(assess_load_household(&f->a, &h));
	assert_true(assess_load_household(&f->a, &floating));
	s_tick(f, T0 + 3 * DAY - 1);
	assert_int_equal(f->events[ASSESS_COVERAGE_GAP], 0);
	s_tick(f, T0 + 3 * DAY);
	s_tick(f, T0 + 4 * DAY);
	assert_int_equal(f->events[ASSESS_COVERAGE_GAP], 1);
	s = s_screening(1, 10, 7, T0 + 5 * DAY, 365);
	s_assess(f, &s);
	s_tick(f, T0 + 8 * DAY - 1);
	assert_int_equal(f->events[ASSESS_COVERAGE_GAP], 1);
	s_tick(f, T0 + 8 * DAY);
	assert_int_equal(f->events[ASSESS_COVERAGE_GAP], 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_normal_screening_keeps_no_state, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_rise_alerts_repeat_does_not, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_new_action_at_same_level_alerts, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_single_fever_released_by_normal_recheck, s_setup,
		                                s_teardown),
		cmocka_unit_test_setup_teardown(test_household_level_excludes_self, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_restores_states, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_observation_ends_released, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_fever_during_observation_extends_it, s_setup,
		                                s_teardown),
		cmocka_unit_test_setup_teardown(test_follow_up_overdue_once, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_coverage_gap_once_per_gap, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_fevers_kept_in_time_order, s_setup, s_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
