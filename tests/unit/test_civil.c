/*
 * Unit tests of lib/civil.c. The expected day numbers come from outside
 * the code under test (the Unix epoch, well-known timestamps, and a plain
 * day-by-day walk of the calendar), so a wrong era constant, a wrong leap
 * rule or truncating division fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "civil.h"

/* Known dates against day numbers worked out apart from the code. */
static void
test_known_days(void **state)
{
	(void)state;
	assert_int_equal(civil_days_from_date(1970, 1, 1), 0);
	assert_int_equal(civil_days_from_date(1969, 12, 31), -1);
	assert_int_equal(civil_days_from_date(2000, 3, 1), 11017);
	/* 1580896800 (2020-02-05 10:00 UTC) / 86400 = 18297. */
	assert_int_equal(civil_days_from_date(2020, 2, 5), 18297);
	/* 0001-01-01 is 719162 days before the epoch (Python's ordinal). */
	assert_int_equal(civil_days_from_date(1, 1, 1), -719162);
	assert_int_equal(civil_days_from_date(9999, 12, 31), 2932896);
}

/*
 * Walks every day from 1600-01-01 to 2400-12-31 with a plain counter and
 * the month lengths, checking both directions at each step.
 */
static void
test_round_trip_1600_2400(void **state)
{
	int64_t day = civil_days_from_date(1600, 1, 1), y;
	int m, d;

	(void)state;
	for (int64_t year = 1600; year <= 2400; year++) {
		for (int month = 1; month <= 12; month++) {
			int last = civil_days_in_month(year, month);

			for (int dom = 1; dom <= last; dom++) {
				assert_int_equal(civil_days_from_date(year,
				    month, dom), day);
				civil_date_from_days(day, &y, &m, &d);
				assert_int_equal(y, year);
				assert_int_equal(m, month);
				assert_int_equal(d, dom);
				day++;
			}
		}
	}
	/* 801 years, 201 of them divisible by 4, six of those not leap. */
	assert_int_equal(day - civil_days_from_date(1600, 1, 1),
	    801 * 365 + 195);
	assert_int_equal(day, civil_days_from_date(2401, 1, 1));
}

/* The leap rule: every 4th year, not every 100th, but every 400th. */
static void
test_leap_years(void **state)
{
	(void)state;
	assert_false(civil_is_leap(1900));
	assert_true(civil_is_leap(2000));
	assert_true(civil_is_leap(2020));
	assert_false(civil_is_leap(2019));
	assert_false(civil_is_leap(2100));
	assert_true(civil_is_leap(1600));
	assert_true(civil_is_leap(0));
	assert_true(civil_is_leap(-4));
	assert_false(civil_is_leap(-100));
	assert_int_equal(civil_days_in_month(1900, 2), 28);
	assert_int_equal(civil_days_in_month(2000, 2), 29);
	assert_int_equal(civil_days_in_month(2020, 2), 29);
	assert_int_equal(civil_days_in_month(2021, 2), 28);
	assert_int_equal(civil_days_in_month(2021, 4), 30);
	assert_int_equal(civil_days_in_month(2021, 12), 31);
	assert_int_equal(civil_days_in_month(2021, 0), 0);
	assert_int_equal(civil_days_in_month(2021, 13), 0);
}

/* February 29 exists only in leap years, and is followed by March 1. */
static void
test_feb_29(void **state)
{
	int64_t y;
	int m, d;

	(void)state;
	assert_true(civil_is_date(2020, 2, 29));
	assert_true(civil_is_date(2000, 2, 29));
	assert_false(civil_is_date(1900, 2, 29));
	assert_false(civil_is_date(2019, 2, 29));
	assert_false(civil_is_date(2020, 2, 30));
	assert_false(civil_is_date(2020, 4, 31));
	assert_false(civil_is_date(2020, 1, 0));
	assert_false(civil_is_date(2020, 0, 1));
	assert_int_equal(civil_days_from_date(2020, 3, 1) -
	    civil_days_from_date(2020, 2, 28), 2);
	assert_int_equal(civil_days_from_date(1900, 3, 1) -
	    civil_days_from_date(1900, 2, 28), 1);
	civil_date_from_days(civil_days_from_date(2020, 2, 28) + 1, &y, &m, &d);
	assert_int_equal(y, 2020);
	assert_int_equal(m, 2);
	assert_int_equal(d, 29);
}

/* The day of a Unix time is floored, also before 1970. */
static void
test_day_of(void **state)
{
	(void)state;
	assert_int_equal(civil_day_of(0), 0);
	assert_int_equal(civil_day_of(86399), 0);
	assert_int_equal(civil_day_of(86400), 1);
	assert_int_equal(civil_day_of(-1), -1);
	assert_int_equal(civil_day_of(-86399), -1);
	assert_int_equal(civil_day_of(-86400), -1);
	assert_int_equal(civil_day_of(-86401), -2);
	assert_int_equal(civil_day_of(1580896800), 18297);
	/* 1900-01-01 00:00:00 UTC is -2208988800. */
	assert_int_equal(civil_day_of(-2208988800LL),
	    civil_days_from_date(1900, 1, 1));
	assert_int_equal(civil_day_of(-2208988800LL - 1),
	    civil_days_from_date(1899, 12, 31));
	assert_int_equal(civil_day_of(INT64_MIN), INT64_MIN / 86400 - 1);
}

/* Formatting and parsing give each other back, over the whole text range. */
static void
test_format_parse_round_trip(void **state)
{
	int64_t first = civil_days_from_date(1, 1, 1);
	int64_t last = civil_days_from_date(9999, 12, 31);
	int64_t back;
	char text[CIVIL_TEXT_LEN + 1];

	(void)state;
	civil_format(18297, text);
	assert_string_equal(text, "2020-02-05");
	civil_format(-1, text);
	assert_string_equal(text, "1969-12-31");
	civil_format(civil_days_from_date(987, 6, 5), text);
	assert_string_equal(text, "0987-06-05");
	for (int64_t day = first; day <= last; day += 17) {
		civil_format(day, text);
		assert_int_equal(strlen(text), CIVIL_TEXT_LEN);
		assert_true(civil_parse(text, &back));
		assert_int_equal(back, day);
	}
	civil_format(last, text);
	assert_string_equal(text, "9999-12-31");
	assert_true(civil_parse(text, &back));
	assert_int_equal(back, last);
	civil_format(first, text);
	assert_string_equal(text, "0001-01-01");
	/* Out of the four-digit years: the nearest end, still a real date. */
	civil_format(last + 1, text);
	assert_string_equal(text, "9999-12-31");
	civil_format(INT64_MIN / 2, text);
	assert_string_equal(text, "0000-01-01");
}

/* Strict YYYY-MM-DD: anything else, or a day that does not exist, fails. */
static void
test_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"2020-2-5", "2020-02-5", "2020-2-05", "2020-02-30",
		"2019-02-29", "1900-02-29", "2020-13-01", "2020-00-10",
		"2020-01-00", "2020-04-31", "20200205", "2020/02/05",
		"2020-02-05x", "2020-02-05 ", "2020-02-05T00:00:00Z",
		" 2020-02-05", "+020-02-05", "-020-02-05", "0000-01-01",
		"2020-0a-05", "2020-02-0\xef", "", "2020-02-0",
	};
	int64_t days = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (civil_parse(bad[i], &days))
			fail_msg("civil_parse accepted \"%s\"", bad[i]);
		assert_int_equal(days, 42);
	}
	assert_false(civil_parse(NULL, &days));
	assert_true(civil_parse("2020-02-29", NULL));
	assert_true(civil_parse("2000-02-29", &days));
	assert_int_equal(days, civil_days_from_date(2000, 2, 29));
	assert_true(civil_parse("0001-01-01", &days));
	assert_int_equal(days, -719162);
}

/* Runs the civil tests; the exit status is the number that failed. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_days),
		cmocka_unit_test(test_round_trip_1600_2400),
		cmocka_unit_test(test_leap_years),
		cmocka_unit_test(test_feb_29),
		cmocka_unit_test(test_day_of),
		cmocka_unit_test(test_format_parse_round_trip),
		cmocka_unit_test(test_parse_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
