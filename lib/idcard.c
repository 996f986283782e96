/*
 * Mainland resident identity numbers (GB 11643-1999). The person's file is
 * keyed by this number, so a typo must be caught at the door: the check
 * digit (ISO 7064 MOD 11-2) catches every single wrong digit and most
 * swaps, and the birth date must be a real day between 1900 and today.
 * Also the helpers that read the birth date and sex out of a number and
 * mask it for display to staff.
 */
#include <stdbool.h>
#include <string.h>

#include "civil.h"
#include "idcard.h"

/* Weight of each of the first 17 digits: 2^(17-i) mod 11. */
static const int idcard_weights[IDCARD_LEN - 1] = {
	7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2,
};

/* Check digit for each value of the weighted sum mod 11. */
static const char idcard_check_chars[] = "10X98765432";

#define IDCARD_BIRTH_OFFSET 6     /* YYYYMMDD follows the address code */
#define IDCARD_SEQ_LAST 16        /* last digit of the sequence: odd = male */
#define IDCARD_MASK_KEEP_HEAD 6   /* the address code */
#define IDCARD_MASK_KEEP_TAIL 4   /* sequence and check digit */

/* True for an ASCII decimal digit, whatever the locale. */
static bool
s_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* True if the id is exactly 18 characters (without reading past them). */
static bool
s_has_length(const char *id)
{
	return id != NULL && strnlen(id, IDCARD_LEN + 1) == IDCARD_LEN;
}

/* True if an 18-character id is 17 digits and a digit or an uppercase 'X'. */
static bool
s_has_chars(const char *id)
{
	for (int i = 0; i < IDCARD_LEN - 1; i++)
		if (!s_is_digit(id[i]))
			return false;
	return s_is_digit(id[IDCARD_LEN - 1]) || id[IDCARD_LEN - 1] == 'X';
}

/* True if YYYYMMDD (year 1 and later) names a real calendar day. */
static bool
s_is_calendar_date(int yyyymmdd)
{
	int year = yyyymmdd / 10000;

	return year >= 1 &&
	    civil_is_date(year, yyyymmdd / 100 % 100, yyyymmdd % 100);
}

/* The eight birth-date digits of a well-formed id as an integer. */
static int
s_birth_digits(const char *id)
{
	int v = 0;

	for (int i = IDCARD_BIRTH_OFFSET; i < IDCARD_BIRTH_OFFSET + 8; i++)
		v = v * 10 + (id[i] - '0');
	return v;
}

/* Checks length, characters, birth date and check digit, in that order. */
enum idcard_status
idcard_check(const char *id, int today)
{
	int birth;

	if (!s_has_length(id))
		return IDCARD_BAD_LENGTH;
	if (!s_has_chars(id))
		return IDCARD_BAD_CHAR;
	birth = s_birth_digits(id);
	if (!s_is_calendar_date(birth) || birth / 10000 < 1900 || birth > today)
		return IDCARD_BAD_BIRTH_DATE;
	if (idcard_check_digit(id) != id[IDCARD_LEN - 1])
		return IDCARD_BAD_CHECKSUM;
	return IDCARD_OK;
}

/* Computes the MOD 11-2 check digit; '\0' if first17 is not 17 digits. */
char
idcard_check_digit(const char *first17)
{
	int sum = 0;

	if (first17 == NULL)
		return '\0';
	for (int i = 0; i < IDCARD_LEN - 1; i++) {
		if (!s_is_digit(first17[i]))
			return '\0';
		sum += (first17[i] - '0') * idcard_weights[i];
	}
	return idcard_check_chars[sum % 11];
}

/* Reads the birth date; the check digit and today's date are not asked. */
int
idcard_birth_date(const char *id)
{
	int birth;

	if (!s_has_length(id) || !s_has_chars(id))
		return 0;
	birth = s_birth_digits(id);
	return s_is_calendar_date(birth) ? birth : 0;
}

/* Reads the sex from the parity of the sequence number. */
int
idcard_sex(const char *id)
{
	if (!s_has_length(id) || !s_has_chars(id))
		return 0;
	return (id[IDCARD_SEQ_LAST] - '0') % 2 == 1 ? 1 : 2;
}

/* Stars the birth date of an id, or every character of anything else. */
void
idcard_mask(const char *id, char *out)
{
	size_t n;

	if (out == NULL)
		return;
	if (id == NULL) {
		out[0] = '\0';
		return;
	}
	if (s_has_length(id) && s_has_chars(id)) {
		memcpy(out, id, IDCARD_LEN + 1);
		memset(out + IDCARD_MASK_KEEP_HEAD, '*',
		    IDCARD_LEN - IDCARD_MASK_KEEP_HEAD - IDCARD_MASK_KEEP_TAIL);
		return;
	}
	/* Not an id we can read: hide all of it, and never overflow out. */
	n = strnlen(id, IDCARD_LEN);
	memset(out, '*', n);
	out[n] = '\0';
}
