/*
 * The one calendar of gridwall: proleptic Gregorian dates as day numbers
 * (Howard Hinnant's days_from_civil and civil_from_days), the day of a Unix
 * time, and strict YYYY-MM-DD text. Validation, the JSON form of records,
 * reportd's days and fieldsim all count days here, so a birth date, a
 * screening day and a travel date always agree on what a day is.
 */
#include <string.h>

#include "civil.h"

#define DAYS_0000_TO_1970 719468        /* 0000-03-01 to 1970-01-01 */
#define DAYS_PER_ERA 146097             /* 400 years */
#define YEAR_MIN_TEXT 0
#define YEAR_MAX_TEXT 9999

/* Floor division of a by b (b > 0), right for negative a too. */
static int64_t
s_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b < 0)
		q--;
	return q;
}

/* Reads n ASCII digits at s as a number; -1 if one of them is not a digit. */
static int
s_number(const char *s, int n)
{
	int v = 0;

	/* A NUL is not a digit, so this never reads past the end. */
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Writes v (0 <= v < 10^n) as exactly n decimal digits. */
static void
s_put_number(char *out, int v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* The Gregorian rule; C's % keeps the sign, which == 0 does not mind. */
bool
civil_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* February is the only month whose length depends on the year. */
int
civil_days_in_month(int64_t y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};

	if (m < 1 || m > 12)
		return 0;
	return m == 2 && civil_is_leap(y) ? 29 : days[m - 1];
}

/* A month outside 1 to 12 has 0 days, so no day of it is real. */
bool
civil_is_date(int64_t y, int m, int d)
{
	return d >= 1 && d <= civil_days_in_month(y, m);
}

/* Counts from 0000-03-01 so that a leap day is the last day of its year. */
int64_t
civil_days_from_date(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = s_floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * DAYS_PER_ERA + doe - DAYS_0000_TO_1970;
}

/* The same count from 0000-03-01, read back into a year, month and day. */
void
civil_date_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z, era, doe, yoe, doy, mp;

	z = days + DAYS_0000_TO_1970;
	era = s_floor_div(z, DAYS_PER_ERA);
	doe = z - era * DAYS_PER_ERA;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Floor, not C's truncation: -1 s is 1969-12-31, day -1. */
int64_t
civil_day_of(int64_t unix_seconds)
{
	return s_floor_div(unix_seconds, CIVIL_DAY_SECONDS);
}

/* Clamped, so that out always holds ten characters of a real date. */
void
civil_format(int64_t days, char out[CIVIL_TEXT_LEN + 1])
{
	int64_t first = civil_days_from_date(YEAR_MIN_TEXT, 1, 1);
	int64_t last = civil_days_from_date(YEAR_MAX_TEXT, 12, 31);
	int64_t y;
	int m, d;

	if (days < first)
		days = first;
	else if (days > last)
		days = last;
	civil_date_from_days(days, &y, &m, &d);
	s_put_number(out, (int)y, 4);
	out[4] = '-';
	s_put_number(out + 5, m, 2);
	out[7] = '-';
	s_put_number(out + 8, d, 2);
	out[CIVIL_TEXT_LEN] = '\0';
}

/* Digits and dashes first, then whether the numbers make a real date. */
bool
civil_parse(const char *s, int64_t *days)
{
	int y, m, d;

	if (s == NULL || strnlen(s, CIVIL_TEXT_LEN + 1) != CIVIL_TEXT_LEN ||
	    s[4] != '-' || s[7] != '-')
		return false;
	y = s_number(s, 4);
	m = s_number(s + 5, 2);
	d = s_number(s + 8, 2);
	if (y < 1 || !civil_is_date(y, m, d))
		return false;
	if (days != NULL)
		*days = civil_days_from_date(y, m, d);
	return true;
}
