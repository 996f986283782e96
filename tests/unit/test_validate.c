/*
 * Unit tests of lib/validate.c. Each test starts from one valid record and
 * breaks exactly one thing, then checks the code and the field reported,
 * so a check that is missing, misnamed or out of order fails here. The
 * clock is fixed at 2020-02-05 10:00 UTC (18:00 in Foshan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

#define NOW ((time_t)1580896800)          /* 2020-02-05 10:00:00 UTC */
#define DAY 86400

struct fixture {
	Gridwall__V1__ScreeningRecord rec;
	Gridwall__V1__Symptom symptoms[4];
	struct area_tree *areas;
};

/* A tree with one chain down to grid 440605001002003. */
static struct area_tree *
s_areas(void)
{
	struct area_tree *t = area_tree_new();

	assert_non_null(t);
	assert_int_equal(area_tree_add(t, "4406", AREA_CITY, "佛山市"), 0);
	assert_int_equal(area_tree_add(t, "440605", AREA_DISTRICT, "南海区"), 0);
	assert_int_equal(area_tree_add(t, "440605001", AREA_TOWN, "桂城街道"), 0);
	assert_int_equal(area_tree_add(t, "440605001002", AREA_COMMUNITY,
	    "翠颐社区"), 0);
	assert_int_equal(area_tree_add(t, "440605001002003", AREA_GRID,
	    "第三网格"), 0);
	return t;
}

/* A record with every field set to a valid value. */
static int
s_setup(void **state)
{
	static struct fixture f;
	Gridwall__V1__ScreeningRecord init = GRIDWALL__V1__SCREENING_RECORD__INIT;
	Gridwall__V1__ScreeningRecord *r = &f.rec;

	*r = init;
	r->client_uuid = "3f2b8c1e-9a4d-4f6b-8e2a-1c5d7e9f0a3b";
	r->device_id = "android-7f3e21";
	r->worker_id = "w-0757-00123";
	r->team_id = "nanhai-guicheng-07";
	r->has_channel = 1;
	r->channel = GRIDWALL__V1__CHANNEL__DOOR_TO_DOOR;
	r->has_screened_at = 1;
	r->screened_at = NOW - 3600;
	r->grid_code = "440605001002003";
	r->household_code = "440605001002003-0101";
	r->has_id_type = 1;
	r->id_type = GRIDWALL__V1__ID_TYPE__RESIDENT_ID;
	r->id_number = "440605199001011236";
	r->name = "陈大文";
	r->phone = "13800138000";
	r->has_sex = 1;
	r->sex = GRIDWALL__V1__SEX__MALE;
	r->birth_date = "1990-01-01";
	r->has_temperature_tenths = 1;
	r->temperature_tenths = 365;
	f.symptoms[0] = GRIDWALL__V1__SYMPTOM__COUGH;
	f.symptoms[1] = GRIDWALL__V1__SYMPTOM__SORE_THROAT;
	r->n_symptoms = 2;
	r->symptoms = f.symptoms;
	r->origin_region = "420100";
	r->departed_on = "2020-01-20";
	r->arrived_on = "2020-01-21";
	r->has_contact = 1;
	r->contact = GRIDWALL__V1__CONTACT__NO_CONTACT;
	r->note = "回乡过年。\n无发热,\t无咳嗽\r\n";
	f.areas = s_areas();
	*state = &f;
	return 0;
}

/* Frees the tree of s_setup. */
static int
s_teardown(void **state)
{
	struct fixture *f = *state;

	area_tree_destroy(&f->areas);
	return 0;
}

/* Asserts the record passes. */
static void
s_pass(const struct fixture *f)
{
	struct validation_error err;

	if (!validate_record(&f->rec, f->areas, NOW, &err))
		fail_msg("unexpected %s on %s: %s", err.code, err.field,
		    err.message);
}

/* Asserts the record fails with this code and field; returns the error. */
static struct validation_error
s_fail(const struct fixture *f, const char *code, const char *field)
{
	struct validation_error err;

	memset(&err, 0, sizeof(err));
	assert_false(validate_record(&f->rec, f->areas, NOW, &err));
	assert_non_null(err.code);
	assert_non_null(err.field);
	if (strcmp(err.code, code) != 0 || strcmp(err.field, field) != 0)
		fail_msg("want %s on %s, got %s on %s: %s", code, field,
		    err.code, err.field, err.message);
	/* The message is for a person: there, and printable. */
	assert_true(strlen(err.message) > 0);
	assert_true(validate_text(err.message));
	return err;
}

/* The fixture record, and one with only the required fields, pass. */
static void
test_valid(void **state)
{
	struct fixture *f = *state;
	Gridwall__V1__ScreeningRecord init = GRIDWALL__V1__SCREENING_RECORD__INIT;
	Gridwall__V1__ScreeningRecord *r = &f->rec;
	struct validation_error err;

	s_pass(f);
	assert_true(validate_record(r, f->areas, NOW, NULL));
	assert_true(validate_record(r, NULL, NOW, &err));

	*r = init;
	r->client_uuid = "3F2B8C1E-9A4D-4F6B-8E2A-1C5D7E9F0A3B";
	r->has_channel = 1;
	r->channel = GRIDWALL__V1__CHANNEL__SELF_DECLARATION;
	r->has_screened_at = 1;
	r->screened_at = NOW;
	r->grid_code = "440605001002003";
	r->name = "Li Lei";
	s_pass(f);
	/* Empty optional strings count as absent. */
	r->phone = "";
	r->birth_date = "";
	r->origin_region = "";
	r->note = "";
	s_pass(f);
}

/* A NULL record is refused; err may be NULL. */
static void
test_null_record(void **state)
{
	struct validation_error err;

	(void)state;
	assert_false(validate_record(NULL, NULL, NOW, &err));
	assert_string_equal(err.code, VERR_MISSING_FIELD);
	assert_false(validate_record(NULL, NULL, NOW, NULL));
}

/* client_uuid: required, and in 8-4-4-4-12 form. */
static void
test_client_uuid(void **state)
{
	static const char *const bad[] = {
		"3f2b8c1e9a4d4f6b8e2a1c5d7e9f0a3b",
		"3f2b8c1e-9a4d-4f6b-8e2a-1c5d7e9f0a3",
		"3f2b8c1e-9a4d-4f6b-8e2a-1c5d7e9f0a3bb",
		"3f2b8c1e-9a4d-4f6b-8e2a-1c5d7e9f0a3g",
		"{3f2b8c1e-9a4d-4f6b-8e2a-1c5d7e9f0a3}",
		"3f2b8c1e-9a4d-4f6b8-e2a-1c5d7e9f0a3b",
		"3f2b8c1e 9a4d 4f6b 8e2a 1c5d7e9f0a3b",
		"record-1",
	};
	struct fixture *f = *state;

	f->rec.client_uuid = NULL;
	s_fail(f, VERR_MISSING_FIELD, "client_uuid");
	f->rec.client_uuid = "";
	s_fail(f, VERR_MISSING_FIELD, "client_uuid");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->rec.client_uuid = (char *)bad[i];
		s_fail(f, VERR_BAD_UUID, "client_uuid");
		assert_false(validate_uuid(bad[i]));
	}
	assert_true(validate_uuid("00000000-0000-0000-0000-000000000000"));
	assert_true(validate_uuid("3F2B8C1E-9a4d-4f6b-8E2A-1c5d7e9f0a3b"));
	assert_false(validate_uuid(NULL));
	assert_false(validate_uuid(""));
}

/* channel: required, known and not CHANNEL_UNSPECIFIED. */
static void
test_channel(void **state)
{
	struct fixture *f = *state;

	for (int c = 1; c <= 6; c++) {
		f->rec.channel = (Gridwall__V1__Channel)c;
		s_pass(f);
	}
	f->rec.channel = GRIDWALL__V1__CHANNEL__CHANNEL_UNSPECIFIED;
	s_fail(f, VERR_BAD_ENUM, "channel");
	f->rec.channel = (Gridwall__V1__Channel)7;
	s_fail(f, VERR_BAD_ENUM, "channel");
	f->rec.channel = (Gridwall__V1__Channel)-1;
	s_fail(f, VERR_BAD_ENUM, "channel");
	f->rec.channel = GRIDWALL__V1__CHANNEL__CHECKPOINT;
	f->rec.has_channel = 0;
	s_fail(f, VERR_MISSING_FIELD, "channel");
}

/* screened_at: required, at most ten minutes ahead of the server, not before the year 1. */
static void
test_screened_at(void **state)
{
	struct fixture *f = *state;
	struct validation_error err;

	f->rec.arrived_on = NULL;
	f->rec.screened_at = NOW + SCREENED_AT_MAX_AHEAD_S;
	s_pass(f);
	f->rec.screened_at = NOW + SCREENED_AT_MAX_AHEAD_S + 1;
	err = s_fail(f, VERR_SCREENED_AT_IN_FUTURE, "screened_at");
	assert_non_null(strstr(err.message, "601"));
	f->rec.screened_at = INT64_MAX;
	s_fail(f, VERR_SCREENED_AT_IN_FUTURE, "screened_at");
	/* Old records from a device that was offline are fine. */
	f->rec.screened_at = NOW - 3 * DAY;
	s_pass(f);
	/* Back to the year 1, which the database and the rules can still count from. */
	f->rec.screened_at = SCREENED_AT_MIN_S;
	s_pass(f);
	f->rec.screened_at = SCREENED_AT_MIN_S - 1;
	s_fail(f, VERR_SCREENED_AT_TOO_EARLY, "screened_at");
	f->rec.screened_at = INT64_MIN;
	s_fail(f, VERR_SCREENED_AT_TOO_EARLY, "screened_at");
	f->rec.has_screened_at = 0;
	s_fail(f, VERR_MISSING_FIELD, "screened_at");
}

/* grid_code: required, in the tree, and a grid. */
static void
test_grid_code(void **state)
{
	struct fixture *f = *state;
	struct validation_error err;

	f->rec.grid_code = "440605001002004";
	s_fail(f, VERR_UNKNOWN_GRID, "grid_code");
	f->rec.grid_code = "44060500100200";
	s_fail(f, VERR_UNKNOWN_GRID, "grid_code");
	f->rec.grid_code = "440605001";
	err = s_fail(f, VERR_NOT_A_GRID, "grid_code");
	assert_non_null(strstr(err.message, "town"));
	f->rec.grid_code = "440605001002";
	s_fail(f, VERR_NOT_A_GRID, "grid_code");

	/* Without a tree, any well-formed grid code passes. */
	area_tree_destroy(&f->areas);
	f->rec.grid_code = "440605001002004";
	s_pass(f);
	f->rec.grid_code = "440605001";
	s_fail(f, VERR_NOT_A_GRID, "grid_code");

	f->rec.grid_code = NULL;
	s_fail(f, VERR_MISSING_FIELD, "grid_code");
	f->rec.grid_code = "";
	s_fail(f, VERR_MISSING_FIELD, "grid_code");
}

/* name: required. */
static void
test_name(void **state)
{
	struct fixture *f = *state;

	f->rec.name = NULL;
	s_fail(f, VERR_MISSING_FIELD, "name");
	f->rec.name = "";
	s_fail(f, VERR_MISSING_FIELD, "name");
}

/* id_type known; id_number required unless ID_NONE. */
static void
test_id_type_and_number(void **state)
{
	struct fixture *f = *state;
	Gridwall__V1__ScreeningRecord *r = &f->rec;

	r->id_type = (Gridwall__V1__IdType)4;
	s_fail(f, VERR_BAD_ENUM, "id_type");
	r->id_type = GRIDWALL__V1__ID_TYPE__PASSPORT;
	r->id_number = "E12345678";
	s_pass(f);
	r->id_number = NULL;
	s_fail(f, VERR_MISSING_FIELD, "id_number");
	r->id_type = GRIDWALL__V1__ID_TYPE__OTHER_DOCUMENT;
	s_fail(f, VERR_MISSING_FIELD, "id_number");
	r->id_type = GRIDWALL__V1__ID_TYPE__RESIDENT_ID;
	s_fail(f, VERR_MISSING_FIELD, "id_number");
	r->id_number = "";
	s_fail(f, VERR_MISSING_FIELD, "id_number");
	r->id_type = GRIDWALL__V1__ID_TYPE__ID_NONE;
	s_pass(f);
	/* Absent id_type means ID_NONE. */
	r->has_id_type = 0;
	r->id_type = GRIDWALL__V1__ID_TYPE__RESIDENT_ID;
	r->id_number = NULL;
	s_pass(f);
}

/* A resident id goes through idcard_check with today from now. */
static void
test_resident_id(void **state)
{
	struct fixture *f = *state;
	Gridwall__V1__ScreeningRecord *r = &f->rec;
	struct validation_error err;

	r->id_number = "44060519900101123";
	s_fail(f, VERR_BAD_ID_FORMAT, "id_number");
	r->id_number = "4406051990010112366";
	s_fail(f, VERR_BAD_ID_FORMAT, "id_number");
	r->id_number = "11010519491231002x";
	err = s_fail(f, VERR_BAD_ID_FORMAT, "id_number");
	assert_non_null(strstr(err.message, "uppercase"));
	r->id_number = "44060519900101123O";
	s_fail(f, VERR_BAD_ID_FORMAT, "id_number");
	/* 1990-02-30, with its right check digit. */
	r->id_number = "440605199002301235";
	s_fail(f, VERR_BAD_ID_BIRTH_DATE, "id_number");
	/* 440524188001010014 has a valid check digit but was born in 1880. */
	r->id_number = "440524188001010014";
	s_fail(f, VERR_BAD_ID_BIRTH_DATE, "id_number");
	/* Born today (UTC) passes, born tomorrow does not. */
	r->id_number = "440605202002051234";
	s_pass(f);
	r->id_number = "44060520200206123X";
	s_fail(f, VERR_BAD_ID_BIRTH_DATE, "id_number");
	r->id_number = "440605199001011235";
	err = s_fail(f, VERR_BAD_ID_CHECKSUM, "id_number");
	assert_string_equal(err.message,
	    "id_number 440605199001011235: check digit should be 6");
	r->id_number = "11010519491231002X";
	s_pass(f);
	/* A passport is not held to the resident id format. */
	r->id_type = GRIDWALL__V1__ID_TYPE__PASSPORT;
	r->id_number = "440605199001011235";
	s_pass(f);
}

/* Mobiles and landlines, with and without the dash. */
static void
test_phone(void **state)
{
	static const char *const good[] = {
		"13800138000", "19912345678", "14700000000",
		"0757-83281234", "075783281234", "0757-8328123",
		"07578328123", "010-12345678", "01012345678", "020-8765432",
	};
	static const char *const bad[] = {
		"12800138000", "10800138000", "1380013800", "138001380001",
		"2380013800", "0757-832812345", "0757-832812", "07-83281234",
		"00757-83281234", "0075-83281234", "00783281234",
		"0757 83281234", "+8613800138000",
		"0757--83281234", "0757-8328-1234", "07578328", "0757832812345",
		"-075783281234", "0757-", "0", "1", "1380013800a",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(validate_phone(good[i]));
		f->rec.phone = (char *)good[i];
		s_pass(f);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (validate_phone(bad[i]))
			fail_msg("phone %s accepted", bad[i]);
		f->rec.phone = (char *)bad[i];
		s_fail(f, VERR_BAD_PHONE, "phone");
	}
	assert_false(validate_phone(NULL));
	assert_false(validate_phone(""));
	f->rec.phone = NULL;
	s_pass(f);
}

/* sex: any known value, including unknown-sex. */
static void
test_sex(void **state)
{
	struct fixture *f = *state;

	f->rec.sex = GRIDWALL__V1__SEX__SEX_UNKNOWN;
	s_pass(f);
	f->rec.sex = GRIDWALL__V1__SEX__FEMALE;
	s_pass(f);
	f->rec.sex = (Gridwall__V1__Sex)3;
	s_fail(f, VERR_BAD_ENUM, "sex");
	f->rec.has_sex = 0;
	s_pass(f);
}

/* birth_date: a calendar date in YYYY-MM-DD. */
static void
test_birth_date(void **state)
{
	struct fixture *f = *state;

	f->rec.birth_date = "2000-02-29";
	s_pass(f);
	f->rec.birth_date = "1990-02-30";
	s_fail(f, VERR_BAD_DATE, "birth_date");
	f->rec.birth_date = "1990-1-01";
	s_fail(f, VERR_BAD_DATE, "birth_date");
	f->rec.birth_date = "19900101";
	s_fail(f, VERR_BAD_DATE, "birth_date");
}

/* temperature: 34.0 to 43.0 C inclusive; absent is not measured. */
static void
test_temperature(void **state)
{
	struct fixture *f = *state;
	struct validation_error err;

	f->rec.temperature_tenths = 340;
	s_pass(f);
	f->rec.temperature_tenths = 430;
	s_pass(f);
	f->rec.temperature_tenths = 339;
	err = s_fail(f, VERR_TEMPERATURE_OUT_OF_RANGE, "temperature");
	assert_non_null(strstr(err.message, "339"));
	f->rec.temperature_tenths = 431;
	s_fail(f, VERR_TEMPERATURE_OUT_OF_RANGE, "temperature");
	f->rec.temperature_tenths = 0;
	s_fail(f, VERR_TEMPERATURE_OUT_OF_RANGE, "temperature");
	f->rec.temperature_tenths = -365;
	s_fail(f, VERR_TEMPERATURE_OUT_OF_RANGE, "temperature");
	f->rec.has_temperature_tenths = 0;
	s_pass(f);
}

/* symptoms: each one known, none unspecified. */
static void
test_symptoms(void **state)
{
	struct fixture *f = *state;

	for (int s = 1; s <= 7; s++) {
		f->symptoms[1] = (Gridwall__V1__Symptom)s;
		s_pass(f);
	}
	f->symptoms[1] = GRIDWALL__V1__SYMPTOM__SYMPTOM_UNSPECIFIED;
	s_fail(f, VERR_BAD_ENUM, "symptoms");
	f->symptoms[1] = (Gridwall__V1__Symptom)8;
	s_fail(f, VERR_BAD_ENUM, "symptoms");
	f->rec.n_symptoms = 1;
	s_pass(f);
	f->rec.n_symptoms = 0;
	s_pass(f);
}

/* contact: a known value. */
static void
test_contact(void **state)
{
	struct fixture *f = *state;

	f->rec.contact = GRIDWALL__V1__CONTACT__SUSPECTED_CASE;
	s_pass(f);
	f->rec.contact = (Gridwall__V1__Contact)3;
	s_fail(f, VERR_BAD_ENUM, "contact");
	f->rec.has_contact = 0;
	s_pass(f);
}

/* origin_region: 2 to 12 digits. */
static void
test_origin_region(void **state)
{
	static const char *const good[] = { "42", "4201", "420100", "420100000000" };
	static const char *const bad[] = { "4", "4201000000001", "42a100", "42 0100", "-42" };
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f->rec.origin_region = (char *)good[i];
		s_pass(f);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->rec.origin_region = (char *)bad[i];
		s_fail(f, VERR_BAD_REGION, "origin_region");
	}
}

/* departed_on and arrived_on: calendar dates, in order. */
static void
test_travel_dates(void **state)
{
	struct fixture *f = *state;

	f->rec.departed_on = "2020-01-32";
	s_fail(f, VERR_BAD_DATE, "departed_on");
	f->rec.departed_on = "2020-01-20";
	f->rec.arrived_on = "2020-1-21";
	s_fail(f, VERR_BAD_DATE, "arrived_on");
	f->rec.arrived_on = "2020-01-21";
	f->rec.departed_on = "2020-01-22";
	s_fail(f, VERR_DEPARTED_AFTER_ARRIVAL, "departed_on");
	f->rec.departed_on = "2020-01-21";
	s_pass(f);
	/* Either one alone is fine. */
	f->rec.departed_on = NULL;
	s_pass(f);
	f->rec.departed_on = "2020-01-22";
	f->rec.arrived_on = NULL;
	s_pass(f);
}

/* Arrival on the screening day passes, the next day does not. */
static void
test_arrived_after_screening(void **state)
{
	struct fixture *f = *state;

	f->rec.screened_at = NOW;
	f->rec.arrived_on = "2020-02-05";
	s_pass(f);
	f->rec.arrived_on = "2020-02-06";
	s_fail(f, VERR_ARRIVED_AFTER_SCREENING, "arrived_on");
	/* Checked before the departure order. */
	f->rec.departed_on = "2020-02-07";
	s_fail(f, VERR_ARRIVED_AFTER_SCREENING, "arrived_on");
	f->rec.departed_on = "2020-02-01";

	/*
	 * The screening day is the local (UTC+8) day: 2020-02-04 17:00 UTC
	 * is 2020-02-05 01:00 in Foshan, so arriving on the 5th is fine.
	 */
	f->rec.screened_at = NOW - 17 * 3600;
	f->rec.arrived_on = "2020-02-05";
	s_pass(f);
	f->rec.arrived_on = "2020-02-06";
	s_fail(f, VERR_ARRIVED_AFTER_SCREENING, "arrived_on");
	/* 2020-02-04 15:59:59 UTC is 23:59:59 on the 4th in Foshan. */
	f->rec.screened_at = NOW - 18 * 3600 - 1;
	f->rec.arrived_on = "2020-02-04";
	s_pass(f);
	f->rec.arrived_on = "2020-02-05";
	s_fail(f, VERR_ARRIVED_AFTER_SCREENING, "arrived_on");
}

/* Which string field is at which name, for the text checks. */
struct text_field {
	const char *name;
	char **slot;
};

/* Every string field of the record, in the order the checks visit them. */
static size_t
s_text_fields(Gridwall__V1__ScreeningRecord *r, struct text_field out[16])
{
	size_t n = 0;

	out[n++] = (struct text_field){ "client_uuid", &r->client_uuid };
	out[n++] = (struct text_field){ "grid_code", &r->grid_code };
	out[n++] = (struct text_field){ "name", &r->name };
	out[n++] = (struct text_field){ "id_number", &r->id_number };
	out[n++] = (struct text_field){ "phone", &r->phone };
	out[n++] = (struct text_field){ "birth_date", &r->birth_date };
	out[n++] = (struct text_field){ "origin_region", &r->origin_region };
	out[n++] = (struct text_field){ "departed_on", &r->departed_on };
	out[n++] = (struct text_field){ "arrived_on", &r->arrived_on };
	out[n++] = (struct text_field){ "device_id", &r->device_id };
	out[n++] = (struct text_field){ "worker_id", &r->worker_id };
	out[n++] = (struct text_field){ "team_id", &r->team_id };
	out[n++] = (struct text_field){ "household_code", &r->household_code };
	out[n++] = (struct text_field){ "note", &r->note };
	return n;
}

/* Each string field refuses bad UTF-8 and control characters by name. */
static void
test_bad_text_each_field(void **state)
{
	static const char *const bad[] = {
		"ab\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe4\xb8", "\xf4\x90\x80\x80",
		"a\x01", "a\x7f", "\xc2\x85", "a\x1b[31m", "a\rb",
	};
	struct fixture *f = *state;
	struct text_field fields[16];
	size_t n = s_text_fields(&f->rec, fields);

	for (size_t i = 0; i < n; i++) {
		char *saved = *fields[i].slot;

		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			*fields[i].slot = (char *)bad[j];
			s_fail(f, VERR_BAD_TEXT, fields[i].name);
		}
		/* Tab and newline only in the note. */
		*fields[i].slot = "a\tb";
		if (strcmp(fields[i].name, "note") == 0)
			s_pass(f);
		else
			s_fail(f, VERR_BAD_TEXT, fields[i].name);
		*fields[i].slot = "a\nb";
		if (strcmp(fields[i].name, "note") == 0)
			s_pass(f);
		else
			s_fail(f, VERR_BAD_TEXT, fields[i].name);
		*fields[i].slot = saved;
		s_pass(f);
	}
}

/* Each string field has its byte limit, checked before its format. */
static void
test_too_long_each_field(void **state)
{
	struct fixture *f = *state;
	struct text_field fields[16];
	size_t n = s_text_fields(&f->rec, fields);
	char long_text[NOTE_MAX_BYTES + 2];

	memset(long_text, '7', TEXT_FIELD_MAX_BYTES + 1);
	long_text[TEXT_FIELD_MAX_BYTES + 1] = '\0';
	for (size_t i = 0; i < n; i++) {
		char *saved = *fields[i].slot;

		if (strcmp(fields[i].name, "note") == 0)
			continue;
		*fields[i].slot = long_text;
		s_fail(f, VERR_FIELD_TOO_LONG, fields[i].name);
		*fields[i].slot = saved;
	}

	/* The note: 500 bytes pass, 501 do not. */
	memset(long_text, 'n', NOTE_MAX_BYTES);
	long_text[NOTE_MAX_BYTES] = '\0';
	f->rec.note = long_text;
	s_pass(f);
	long_text[NOTE_MAX_BYTES] = 'n';
	long_text[NOTE_MAX_BYTES + 1] = '\0';
	s_fail(f, VERR_FIELD_TOO_LONG, "note");
}

/* 64 bytes of Chinese in a name pass, 65 do not. */
static void
test_name_length_bytes(void **state)
{
	struct fixture *f = *state;
	char name[TEXT_FIELD_MAX_BYTES + 2] = "";

	/* 21 three-byte characters and one ASCII letter: 64 bytes. */
	for (int i = 0; i < 21; i++)
		strcat(name, "陈");
	strcat(name, "a");
	assert_int_equal(strlen(name), TEXT_FIELD_MAX_BYTES);
	f->rec.name = name;
	s_pass(f);
	strcat(name, "b");
	s_fail(f, VERR_FIELD_TOO_LONG, "name");
}

/* With several defects, the first in the documented order is reported. */
static void
test_first_problem_wins(void **state)
{
	struct fixture *f = *state;
	Gridwall__V1__ScreeningRecord *r = &f->rec;

	r->note = "\x01";
	r->contact = (Gridwall__V1__Contact)9;
	r->temperature_tenths = 500;
	s_fail(f, VERR_TEMPERATURE_OUT_OF_RANGE, "temperature");
	r->phone = "123";
	s_fail(f, VERR_BAD_PHONE, "phone");
	r->id_number = "440605199001011235";
	s_fail(f, VERR_BAD_ID_CHECKSUM, "id_number");
	r->name = NULL;
	s_fail(f, VERR_MISSING_FIELD, "name");
	r->grid_code = "440605001";
	s_fail(f, VERR_NOT_A_GRID, "grid_code");
	r->screened_at = NOW + 3600;
	s_fail(f, VERR_SCREENED_AT_IN_FUTURE, "screened_at");
	r->has_channel = 0;
	s_fail(f, VERR_MISSING_FIELD, "channel");
	r->client_uuid = "nope";
	s_fail(f, VERR_BAD_UUID, "client_uuid");
}

/* validate_date: strict form, real days, days since 1970. */
static void
test_validate_date(void **state)
{
	static const char *const bad[] = {
		"2019-02-29", "1900-02-29", "2020-13-01", "2020-00-10",
		"2020-01-00", "2020-04-31", "2020-1-1", "2020/01/01",
		" 2020-01-01", "2020-01-01 ", "20200101", "0000-01-01",
		"2020-01-0a", "+020-01-01", "2020-01-01T00:00", "",
	};
	int days = 12345;

	(void)state;
	assert_true(validate_date("1970-01-01", &days));
	assert_int_equal(days, 0);
	assert_true(validate_date("1969-12-31", &days));
	assert_int_equal(days, -1);
	assert_true(validate_date("2020-02-05", &days));
	assert_int_equal(days, 18297);    /* 1580896800 / 86400 */
	assert_true(validate_date("2000-03-01", &days));
	assert_int_equal(days, 11017);
	assert_true(validate_date("2020-02-29", &days));
	assert_int_equal(days, 18321);
	assert_true(validate_date("2000-02-29", NULL));
	assert_true(validate_date("9999-12-31", NULL));
	assert_true(validate_date("0001-01-01", NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		days = 12345;
		if (validate_date(bad[i], &days))
			fail_msg("date %s accepted", bad[i]);
		assert_int_equal(days, 12345);
	}
	assert_false(validate_date(NULL, &days));
}

/* validate_text: UTF-8 without controls, tab allowed as the header says. */
static void
test_validate_text(void **state)
{
	(void)state;
	assert_true(validate_text(""));
	assert_true(validate_text("佛山市 南海区 桂城街道"));
	assert_true(validate_text("a\tb"));
	assert_true(validate_text("\xf0\x9f\x98\x80"));           /* U+1F600 */
	assert_true(validate_text("\xf4\x8f\xbf\xbf"));           /* U+10FFFF */
	assert_true(validate_text("\xc2\xa0"));                   /* U+00A0 */
	assert_true(validate_text("\xef\xbf\xbd"));               /* U+FFFD */
	assert_false(validate_text("a\nb"));
	assert_false(validate_text("a\r\nb"));
	assert_false(validate_text("\x7f"));
	assert_false(validate_text("\xc2\x9f"));                  /* C1 */
	assert_false(validate_text("\xc1\xbf"));                  /* overlong */
	assert_false(validate_text("\xe0\x9f\xbf"));              /* overlong */
	assert_false(validate_text("\xf0\x8f\xbf\xbf"));          /* overlong */
	assert_false(validate_text("\xed\xbf\xbf"));              /* surrogate */
	assert_false(validate_text("\xf5\x80\x80\x80"));
	assert_false(validate_text("\x80"));
	assert_false(validate_text("\xe4\xb8"));                  /* cut short */
	assert_false(validate_text("\xe4\xb8" "a"));
	assert_false(validate_text(NULL));
}

/* Runs the validate tests; the exit status is the number that failed. */
int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
	const struct CMUnitTest tests[] = {
		T(test_valid),
		cmocka_unit_test(test_null_record),
		T(test_client_uuid),
		T(test_channel),
		T(test_screened_at),
		T(test_grid_code),
		T(test_name),
		T(test_id_type_and_number),
		T(test_resident_id),
		T(test_phone),
		T(test_sex),
		T(test_birth_date),
		T(test_temperature),
		T(test_symptoms),
		T(test_contact),
		T(test_origin_region),
		T(test_travel_dates),
		T(test_arrived_after_screening),
		T(test_bad_text_each_field),
		T(test_too_long_each_field),
		T(test_name_length_bytes),
		T(test_first_problem_wins),
		cmocka_unit_test(test_validate_date),
		cmocka_unit_test(test_validate_text),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
