/*
 * Civil dates as a count of days since 1970-01-01, in the proleptic
 * Gregorian calendar (Howard Hinnant's algorithms). Birth dates, the
 * screening day and travel dates are all handled this way, without the
 * time zone of the machine getting a say.
 */
#include <stdio.h>
#include <string.h>

#include "fieldsim.h"

/* Days since 1970-01-01 of a civil date. */
int32_t
date_from_ymd(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The civil date of a day number. */
void
date_to_ymd(int32_t days, int *y, int *m, int *d)
{
	int z = days + 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp + (mp < 10 ? 3 : -9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Writes v as exactly width decimal digits (v >= 0). */
static void
s_digits(char *out, int v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Writes a day number as YYYY-MM-DD. */
void
date_format(int32_t days, char out[11])
{
	int y, m, d;

	date_to_ymd(days, &y, &m, &d);
	s_digits(out, y < 0 ? 0 : y % 10000, 4);
	out[4] = '-';
	s_digits(out + 5, m, 2);
	out[7] = '-';
	s_digits(out + 8, d, 2);
	out[10] = '\0';
}

/* Reads YYYY-MM-DD, refusing dates that do not exist. */
bool
date_parse(const char *s, int32_t *days)
{
	int y, m, d, n = 0;
	int y2, m2, d2;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10 || s[4] != '-' || s[7] != '-')
		return false;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	*days = date_from_ymd(y, m, d);
	date_to_ymd(*days, &y2, &m2, &d2);
	return y2 == y && m2 == m && d2 == d;
}
