/*
 * Mainland resident identity numbers (GB 11643-1999): 6-digit address code,
 * 8-digit birth date, 3-digit sequence (odd for men), and a check digit
 * computed with ISO 7064 MOD 11-2 ('X' stands for 10).
 */
#ifndef GRIDWALL_IDCARD_H
#define GRIDWALL_IDCARD_H

#include <stdbool.h>

#define IDCARD_LEN 18

enum idcard_status {
	IDCARD_OK,
	IDCARD_BAD_LENGTH,      /* not exactly 18 characters */
	IDCARD_BAD_CHAR,        /* not 17 digits followed by a digit or 'X' */
	IDCARD_BAD_BIRTH_DATE,  /* not a calendar date, before 1900 or after today */
	IDCARD_BAD_CHECKSUM,    /* check digit does not match */
};

/*
 * Checks an identity number; today is YYYYMMDD as an integer (e.g.
 * 20200205) so that tests and replays control the clock. A lowercase 'x'
 * is refused: field apps must normalise.
 */
enum idcard_status idcard_check(const char *id, int today);

/* The check digit ('0'..'9' or 'X') for the first 17 digits of an id. */
char idcard_check_digit(const char *first17);

/* Birth date of a well-formed id as YYYYMMDD, or 0 if malformed. */
int idcard_birth_date(const char *id);

/* 1 for male, 2 for female (odd/even sequence), 0 if malformed. */
int idcard_sex(const char *id);

/*
 * Masks an id for display to staff: the address code and the last four
 * characters stay, the eight birth-date digits are starred
 * ("440605********123X"). out must hold IDCARD_LEN + 1 bytes; a short or
 * odd input is masked whole.
 */
void idcard_mask(const char *id, char *out);

#endif
