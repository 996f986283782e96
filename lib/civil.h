/*
 * Civil dates in the proleptic Gregorian calendar, as a count of days
 * since 1970-01-01 (negative before it), and their YYYY-MM-DD text. The
 * machine's time zone never gets a say: a caller that wants a local day
 * adds its offset to the Unix time before asking for the day.
 */
#ifndef GRIDWALL_CIVIL_H
#define GRIDWALL_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

#define CIVIL_DAY_SECONDS 86400
#define CIVIL_TEXT_LEN 10               /* YYYY-MM-DD, without the NUL */

/* True for a leap year (every 4th, but not every 100th unless every 400th). */
bool civil_is_leap(int64_t y);
/* Days in month m (1 to 12) of year y; 0 for a month outside 1 to 12. */
int civil_days_in_month(int64_t y, int m);
/* True if y-m-d names a real day: month 1 to 12, day 1 to its last day. */
bool civil_is_date(int64_t y, int m, int d);
/* Days since 1970-01-01 of a real date (see civil_is_date). */
int64_t civil_days_from_date(int64_t y, int m, int d);
/* The date of a day number, the inverse of civil_days_from_date. */
void civil_date_from_days(int64_t days, int64_t *y, int *m, int *d);
/* The day of a Unix time: floor division, so right before 1970 too. */
int64_t civil_day_of(int64_t unix_seconds);
/*
 * Writes a day as YYYY-MM-DD and a NUL into out; days outside the years
 * 0000 to 9999 are written as the nearest end of that range.
 */
void civil_format(int64_t days, char out[CIVIL_TEXT_LEN + 1]);
/*
 * Parses exactly YYYY-MM-DD, years 0001 to 9999, a real date and nothing
 * after it; false otherwise (s may be NULL). days may be NULL to only check.
 */
bool civil_parse(const char *s, int64_t *days);

#endif
