/*
 * Unit tests of lib/idcard.c against published and hand-computed resident
 * id numbers. The check digits below were worked out apart from the code
 * under test (by hand with the GB 11643 weights for the first three, sums
 * shown), so a broken weight table or modulus fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "idcard.h"

#define TODAY 20200205

/* Builds an id with this birth date and a correct check digit. */
static void
s_make_id(const char *birth8, char out[IDCARD_LEN + 1])
{
	memcpy(out, "440605", 6);
	memcpy(out + 6, birth8, 8);
	memcpy(out + 14, "123", 3);
	out[17] = idcard_check_digit(out);
	out[18] = '\0';
}

/* The published GB 11643 example and an 1880 birth with a valid check digit. */
static void
test_check_digit_published(void **state)
{
	(void)state;
	/*
	 * 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4
	 * +2*2 = 167; 167 mod 11 = 2 -> 'X'.
	 */
	assert_int_equal(idcard_check_digit("11010519491231002"), 'X');
	/* ... = 195; 195 mod 11 = 8 -> '4'. */
	assert_int_equal(idcard_check_digit("44052418800101001"), '4');
	/* ... = 215; 215 mod 11 = 6 -> '6'. */
	assert_int_equal(idcard_check_digit("44060519900101123"), '6');
	assert_int_equal(idcard_check_digit("44060520000229002"), '5');
	assert_int_equal(idcard_check_digit("44060519850615234"), '7');
	/* Extra characters after the 17 are ignored. */
	assert_int_equal(idcard_check_digit("11010519491231002X"), 'X');
}

/* Non-digits and short input give no check digit rather than a wrong one. */
static void
test_check_digit_malformed(void **state)
{
	(void)state;
	assert_int_equal(idcard_check_digit(NULL), '\0');
	assert_int_equal(idcard_check_digit("1101051949123100"), '\0');
	assert_int_equal(idcard_check_digit("1101051949123100A"), '\0');
	assert_int_equal(idcard_check_digit(""), '\0');
}

/* Well-formed ids with the right check digit pass. */
static void
test_check_valid(void **state)
{
	(void)state;
	assert_int_equal(idcard_check("11010519491231002X", TODAY), IDCARD_OK);
	assert_int_equal(idcard_check("440605199001011236", TODAY), IDCARD_OK);
	assert_int_equal(idcard_check("440605198506152347", TODAY), IDCARD_OK);
	assert_int_equal(idcard_check("440605199003071515", TODAY), IDCARD_OK);
}

/* A valid check digit does not save a birth year before 1900. */
static void
test_check_before_1900(void **state)
{
	char id[IDCARD_LEN + 1];

	(void)state;
	assert_int_equal(idcard_check("440524188001010014", TODAY),
	    IDCARD_BAD_BIRTH_DATE);
	/* 1900-01-01 itself is allowed. */
	s_make_id("19000101", id);
	assert_int_equal(idcard_check(id, TODAY), IDCARD_OK);
}

/* Every wrong check digit is caught, and so is a swap of two digits. */
static void
test_check_checksum(void **state)
{
	const char *digits = "0123456789X";
	char id[] = "440605199001011236";

	(void)state;
	for (const char *d = digits; *d; d++) {
		id[17] = *d;
		assert_int_equal(idcard_check(id, TODAY),
		    *d == '6' ? IDCARD_OK : IDCARD_BAD_CHECKSUM);
	}
	/* 11010519491231002X with the sequence 002 -> 020. */
	assert_int_equal(idcard_check("11010519491231020X", TODAY),
	    IDCARD_BAD_CHECKSUM);
	assert_int_equal(idcard_check("110105194912310021", TODAY),
	    IDCARD_BAD_CHECKSUM);
}

/* Anything but 18 characters is a length error, checked first. */
static void
test_check_length(void **state)
{
	(void)state;
	assert_int_equal(idcard_check(NULL, TODAY), IDCARD_BAD_LENGTH);
	assert_int_equal(idcard_check("", TODAY), IDCARD_BAD_LENGTH);
	assert_int_equal(idcard_check("11010519491231002", TODAY),
	    IDCARD_BAD_LENGTH);
	assert_int_equal(idcard_check("11010519491231002X0", TODAY),
	    IDCARD_BAD_LENGTH);
	/* A 15-digit first-generation number is not accepted. */
	assert_int_equal(idcard_check("110105491231002", TODAY),
	    IDCARD_BAD_LENGTH);
	/* Length comes before characters. */
	assert_int_equal(idcard_check("1101051949123100a", TODAY),
	    IDCARD_BAD_LENGTH);
}

/* Letters, spaces and a lowercase x are refused as characters. */
static void
test_check_chars(void **state)
{
	(void)state;
	assert_int_equal(idcard_check("11010519491231002x", TODAY),
	    IDCARD_BAD_CHAR);
	assert_int_equal(idcard_check("1101051949123100X2", TODAY),
	    IDCARD_BAD_CHAR);
	assert_int_equal(idcard_check("X10105194912310022", TODAY),
	    IDCARD_BAD_CHAR);
	assert_int_equal(idcard_check("110105 94912310022", TODAY),
	    IDCARD_BAD_CHAR);
	assert_int_equal(idcard_check("11010519491231002-", TODAY),
	    IDCARD_BAD_CHAR);
	/* Characters come before the birth date: 1949-13-31 with a letter. */
	assert_int_equal(idcard_check("1101051949133100ab", TODAY),
	    IDCARD_BAD_CHAR);
}

/* Feb 29 only on leap years; months and days inside the calendar. */
static void
test_check_birth_calendar(void **state)
{
	static const struct {
		const char *birth;
		enum idcard_status want;
	} cases[] = {
		{ "20000229", IDCARD_OK },              /* divisible by 400 */
		{ "19960229", IDCARD_OK },
		{ "19000229", IDCARD_BAD_BIRTH_DATE },  /* divisible by 100 */
		{ "20190229", IDCARD_BAD_BIRTH_DATE },
		{ "20200229", IDCARD_BAD_BIRTH_DATE },  /* leap, but after today */
		{ "19990228", IDCARD_OK },
		{ "19990230", IDCARD_BAD_BIRTH_DATE },
		{ "19990431", IDCARD_BAD_BIRTH_DATE },
		{ "19990531", IDCARD_OK },
		{ "19991301", IDCARD_BAD_BIRTH_DATE },
		{ "19990001", IDCARD_BAD_BIRTH_DATE },
		{ "19990100", IDCARD_BAD_BIRTH_DATE },
		{ "18991231", IDCARD_BAD_BIRTH_DATE },
	};
	char id[IDCARD_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s_make_id(cases[i].birth, id);
		assert_int_equal(idcard_check(id, TODAY), cases[i].want);
	}
	/* A leap day that was refused as future is fine a month later. */
	s_make_id("20200229", id);
	assert_int_equal(idcard_check(id, 20200301), IDCARD_OK);
}

/* Born today passes; born tomorrow does not. */
static void
test_check_birth_future(void **state)
{
	char id[IDCARD_LEN + 1];

	(void)state;
	s_make_id("20200205", id);
	assert_int_equal(idcard_check(id, TODAY), IDCARD_OK);
	s_make_id("20200206", id);
	assert_int_equal(idcard_check(id, TODAY), IDCARD_BAD_BIRTH_DATE);
	s_make_id("20210101", id);
	assert_int_equal(idcard_check(id, TODAY), IDCARD_BAD_BIRTH_DATE);
}

/* The birth date is read from any well-formed id, even a mistyped one. */
static void
test_birth_date(void **state)
{
	(void)state;
	assert_int_equal(idcard_birth_date("11010519491231002X"), 19491231);
	assert_int_equal(idcard_birth_date("440524188001010014"), 18800101);
	/* Wrong check digit: still readable. */
	assert_int_equal(idcard_birth_date("110105194912310021"), 19491231);
	assert_int_equal(idcard_birth_date("110105194902300021"), 0);
	assert_int_equal(idcard_birth_date("11010519491231002x"), 0);
	assert_int_equal(idcard_birth_date("1101051949123100"), 0);
	assert_int_equal(idcard_birth_date(NULL), 0);
}

/* Odd sequence for men, even for women. */
static void
test_sex(void **state)
{
	(void)state;
	assert_int_equal(idcard_sex("11010519491231002X"), 2);
	assert_int_equal(idcard_sex("440605199001011236"), 1);
	assert_int_equal(idcard_sex("440605198506152347"), 2);
	assert_int_equal(idcard_sex("440605199003071515"), 1);
	assert_int_equal(idcard_sex("4406051990030715"), 0);
	assert_int_equal(idcard_sex("44060519900307151x"), 0);
	assert_int_equal(idcard_sex(NULL), 0);
}

/* Address code and last four kept; anything odd starred whole. */
static void
test_mask(void **state)
{
	char out[IDCARD_LEN + 1];

	(void)state;
	idcard_mask("440605199001011236", out);
	assert_string_equal(out, "440605********1236");
	idcard_mask("11010519491231002X", out);
	assert_string_equal(out, "110105********002X");
	/* Short, long, lowercase or foreign: nothing of it shown. */
	idcard_mask("E12345678", out);
	assert_string_equal(out, "*********");
	idcard_mask("11010519491231002x", out);
	assert_string_equal(out, "******************");
	idcard_mask("11010519491231002X99999", out);
	assert_string_equal(out, "******************");
	idcard_mask("", out);
	assert_string_equal(out, "");
	idcard_mask(NULL, out);
	assert_string_equal(out, "");
}

/* Runs the idcard tests; the exit status is the number that failed. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_digit_published),
		cmocka_unit_test(test_check_digit_malformed),
		cmocka_unit_test(test_check_valid),
		cmocka_unit_test(test_check_before_1900),
		cmocka_unit_test(test_check_checksum),
		cmocka_unit_test(test_check_length),
		cmocka_unit_test(test_check_chars),
		cmocka_unit_test(test_check_birth_calendar),
		cmocka_unit_test(test_check_birth_future),
		cmocka_unit_test(test_birth_date),
		cmocka_unit_test(test_sex),
		cmocka_unit_test(test_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
