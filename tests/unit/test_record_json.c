/*
 * Unit tests of lib/record_json.c: the JSON form of screening records,
 * record results and alerts. A record must survive JSON -> proto -> JSON
 * unchanged, every conversion error must name its code and field, and
 * times with offsets must land on the right UTC second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record_json.h"

/* 2020-02-05T10:00:00Z */
#define T_0205_10Z INT64_C(1580896800)

static const char *const full_record =
	"{\"client_uuid\":\"6f1c1f0e-9a52-4c1e-9d0b-2f6a3c1b7e01\","
	"\"device_id\":\"dev-17\",\"worker_id\":\"w-0042\",\"team_id\":\"t-3\","
	"\"channel\":\"door_to_door\",\"screened_at\":\"2020-02-05T10:00:00Z\","
	"\"grid_code\":\"440605001001001\",\"household_code\":\"HH-9\","
	"\"id_type\":\"resident_id\",\"id_number\":\"44060519800101123X\","
	"\"name\":\"\xe9\x99\xb3\xe5\xa4\xa7\xe6\x96\x87\",\"phone\":\"13800138000\","
	"\"sex\":\"male\",\"birth_date\":\"1980-01-01\",\"temperature\":37.3,"
	"\"symptoms\":[\"cough\",\"fatigue\"],\"origin_region\":\"420100\","
	"\"departed_on\":\"2020-01-20\",\"arrived_on\":\"2020-01-22\","
	"\"contact\":\"confirmed\",\"note\":\"back from Wuhan\"}";

/* Parses JSON text for a test; fails the test on bad text. */
static json_t *
s_load(const char *text)
{
	json_error_t jerr;
	json_t *obj = json_loads(text, JSON_DECODE_ANY, &jerr);

	assert_non_null(obj);
	return obj;
}

/* Converts JSON text and expects failure with code and field. */
static void
s_expect_error(const char *text, const char *code, const char *field)
{
	Gridwall__V1__ScreeningRecord rec;
	struct validation_error err;
	json_t *obj = s_load(text);

	assert_false(record_from_json(obj, &rec, &err));
	assert_string_equal(err.code, code);
	if (field == NULL)
		assert_null(err.field);
	else
		assert_string_equal(err.field, field);
	assert_true(err.message[0] != '\0');
	assert_null(rec.symptoms);
	record_json_release(&rec);
	json_decref(obj);
}

/* Converts JSON text that must be accepted; the caller releases both. */
static json_t *
s_convert(const char *text, Gridwall__V1__ScreeningRecord *rec)
{
	struct validation_error err;
	json_t *obj = s_load(text);

	if (!record_from_json(obj, rec, &err))
		fail_msg("record_from_json: %s %s: %s", err.code,
		         err.field ? err.field : "-", err.message);
	return obj;
}

/* Every field goes JSON -> proto -> JSON and comes back equal. */
static void
test_round_trip(void **state)
{
	Gridwall__V1__ScreeningRecord rec;
	json_t *in, *out;

	(void)state;
	in = s_convert(full_record, &rec);
	assert_string_equal(rec.client_uuid, "6f1c1f0e-9a52-4c1e-9d0b-2f6a3c1b7e01");
	assert_true(rec.has_channel);
	assert_int_equal(rec.channel, GRIDWALL__V1__CHANNEL__DOOR_TO_DOOR);
	assert_true(rec.has_screened_at);
	assert_int_equal(rec.screened_at, T_0205_10Z);
	assert_int_equal(rec.id_type, GRIDWALL__V1__ID_TYPE__RESIDENT_ID);
	assert_int_equal(rec.sex, GRIDWALL__V1__SEX__MALE);
	assert_int_equal(rec.temperature_tenths, 373);
	assert_int_equal(rec.n_symptoms, 2);
	assert_int_equal(rec.symptoms[0], GRIDWALL__V1__SYMPTOM__COUGH);
	assert_int_equal(rec.symptoms[1], GRIDWALL__V1__SYMPTOM__FATIGUE);
	assert_true(rec.has_contact);
	assert_int_equal(rec.contact, GRIDWALL__V1__CONTACT__CONFIRMED_CASE);
	out = record_to_json(&rec);
	assert_non_null(out);
	if (!json_equal(in, out)) {
		char *a = json_dumps(in, JSON_SORT_KEYS), *b = json_dumps(out, JSON_SORT_KEYS);

		fail_msg("round trip differs:\n%s\n%s", a, b);
	}
	json_decref(out);
	record_json_release(&rec);
	json_decref(in);
}

/* The wire form packs and unpacks to the same JSON too. */
static void
test_round_trip_wire(void **state)
{
	Gridwall__V1__ScreeningRecord rec, *back;
	uint8_t buf[1024];
	size_t len;
	json_t *in, *out;

	(void)state;
	in = s_convert(full_record, &rec);
	len = gridwall__v1__screening_record__get_packed_size(&rec);
	assert_true(len <= sizeof(buf));
	gridwall__v1__screening_record__pack(&rec, buf);
	back = gridwall__v1__screening_record__unpack(NULL, len, buf);
	assert_non_null(back);
	out = record_to_json(back);
	assert_true(json_equal(in, out));
	json_decref(out);
	gridwall__v1__screening_record__free_unpacked(back, NULL);
	record_json_release(&rec);
	json_decref(in);
}

/* Degrees Celsius become tenths, rounded; integers are accepted. */
static void
test_temperature(void **state)
{
	static const struct { const char *text; int tenths; } cases[] = {
		{ "{\"temperature\":37.3}", 373 },
		{ "{\"temperature\":37}", 370 },
		{ "{\"temperature\":36.54}", 365 },
		{ "{\"temperature\":36.56}", 366 },
		{ "{\"temperature\":38.96}", 390 },
		{ "{\"temperature\":0}", 0 },
	};
	Gridwall__V1__ScreeningRecord rec;
	json_t *obj, *out;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		obj = s_convert(cases[i].text, &rec);
		assert_true(rec.has_temperature_tenths);
		assert_int_equal(rec.temperature_tenths, cases[i].tenths);
		json_decref(obj);
	}
	rec.temperature_tenths = 373;
	out = record_to_json(&rec);
	assert_true(json_is_real(json_object_get(out, "temperature")));
	assert_true(json_real_value(json_object_get(out, "temperature")) == 37.3);
	json_decref(out);
}

/* null means absent: no has_ flag, no pointer, and not written back. */
static void
test_null_is_absent(void **state)
{
	Gridwall__V1__ScreeningRecord rec;
	json_t *obj, *out;

	(void)state;
	obj = s_convert("{\"temperature\":null,\"name\":null,\"channel\":null,"
	                "\"screened_at\":null,\"symptoms\":null,\"grid_code\":\"4406\"}", &rec);
	assert_false(rec.has_temperature_tenths);
	assert_false(rec.has_channel);
	assert_false(rec.has_screened_at);
	assert_null(rec.name);
	assert_int_equal(rec.n_symptoms, 0);
	assert_string_equal(rec.grid_code, "4406");
	out = record_to_json(&rec);
	assert_int_equal(json_object_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(out, "grid_code")), "4406");
	json_decref(out);
	json_decref(obj);
}

/* An empty object is an empty record, and writes back as {}. */
static void
test_empty(void **state)
{
	Gridwall__V1__ScreeningRecord rec;
	json_t *obj, *out;

	(void)state;
	obj = s_convert("{\"symptoms\":[]}", &rec);
	assert_int_equal(rec.n_symptoms, 0);
	out = record_to_json(&rec);
	assert_int_equal(json_object_size(out), 0);
	json_decref(out);
	json_decref(obj);
}

/* Each conversion error has its code and names the field. */
static void
test_errors(void **state)
{
	(void)state;
	s_expect_error("[1,2]", VERR_BAD_JSON, NULL);
	s_expect_error("\"text\"", VERR_BAD_JSON, NULL);
	s_expect_error("42", VERR_BAD_JSON, NULL);
	s_expect_error("{\"name\":\"a\",\"colour\":\"red\"}", VERR_UNKNOWN_FIELD, "colour");
	s_expect_error("{\"temperature_tenths\":373}", VERR_UNKNOWN_FIELD, "temperature_tenths");
	s_expect_error("{\"colour\":null}", VERR_UNKNOWN_FIELD, "colour");
	s_expect_error("{\"name\":5}", VERR_BAD_TYPE, "name");
	s_expect_error("{\"name\":[\"a\"]}", VERR_BAD_TYPE, "name");
	s_expect_error("{\"note\":true}", VERR_BAD_TYPE, "note");
	s_expect_error("{\"channel\":\"boat\"}", VERR_BAD_TYPE, "channel");
	s_expect_error("{\"channel\":1}", VERR_BAD_TYPE, "channel");
	s_expect_error("{\"channel\":\"DOOR_TO_DOOR\"}", VERR_BAD_TYPE, "channel");
	s_expect_error("{\"id_type\":\"id_card\"}", VERR_BAD_TYPE, "id_type");
	s_expect_error("{\"sex\":\"m\"}", VERR_BAD_TYPE, "sex");
	s_expect_error("{\"contact\":true}", VERR_BAD_TYPE, "contact");
	s_expect_error("{\"temperature\":\"37.3\"}", VERR_BAD_TYPE, "temperature");
	s_expect_error("{\"temperature\":1e300}", VERR_TEMPERATURE_OUT_OF_RANGE, "temperature");
	s_expect_error("{\"symptoms\":\"cough\"}", VERR_BAD_TYPE, "symptoms");
	s_expect_error("{\"symptoms\":[\"cough\",\"sneezing\"]}", VERR_BAD_TYPE, "symptoms");
	s_expect_error("{\"symptoms\":[\"cough\",3]}", VERR_BAD_TYPE, "symptoms");
	s_expect_error("{\"screened_at\":1580896800.5}", VERR_BAD_TYPE, "screened_at");
	s_expect_error("{\"screened_at\":true}", VERR_BAD_TYPE, "screened_at");
}

/* screened_at text that is not RFC 3339 is refused, not guessed at. */
static void
test_bad_times(void **state)
{
	static const char *const bad[] = {
		"yesterday", "2020-02-30T10:00:00Z", "2020-02-05T10:00:00",
		"2020-02-05T24:00:00Z", "2020-02-05T10:60:00Z", "2019-02-29T10:00:00Z",
		"2020-02-05T10:00:00+0800", "2020-02-05T10:00:00+24:00",
		"2020-02-05T10:00:00Zjunk", "2020-2-5T10:00:00Z", "2020-02-05T10:00:00.Z",
		"", "+2020-02-05T10:00:00Z",
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"screened_at\":\"%s\"}", bad[i]);
		s_expect_error(text, VERR_BAD_TYPE, "screened_at");
	}
}

/* A string holding NUL cannot reach the C fields unnoticed. */
static void
test_nul_in_string(void **state)
{
	Gridwall__V1__ScreeningRecord rec;
	struct validation_error err;
	json_t *obj = json_object();

	(void)state;
	json_object_set_new(obj, "name", json_stringn("a\0b", 3));
	assert_false(record_from_json(obj, &rec, &err));
	assert_string_equal(err.code, VERR_BAD_TEXT);
	assert_string_equal(err.field, "name");
	json_decref(obj);
}

/* Converts a screened_at value and returns the Unix seconds. */
static int64_t
s_screened_at(const char *value)
{
	Gridwall__V1__ScreeningRecord rec;
	char text[128];
	json_t *obj;
	int64_t t;

	snprintf(text, sizeof(text), "{\"screened_at\":%s}", value);
	obj = s_convert(text, &rec);
	assert_true(rec.has_screened_at);
	t = rec.screened_at;
	json_decref(obj);
	return t;
}

/* Offsets are applied; integers are Unix seconds; output is always UTC. */
static void
test_screened_at(void **state)
{
	Gridwall__V1__ScreeningRecord rec = GRIDWALL__V1__SCREENING_RECORD__INIT;
	json_t *out;

	(void)state;
	assert_int_equal(s_screened_at("\"2020-02-05T10:00:00Z\""), T_0205_10Z);
	assert_int_equal(s_screened_at("\"2020-02-05T18:00:00+08:00\""), T_0205_10Z);
	assert_int_equal(s_screened_at("\"2020-02-06T02:00:00+16:00\""), T_0205_10Z);
	assert_int_equal(s_screened_at("\"2020-02-05T04:30:00-05:30\""), T_0205_10Z);
	assert_int_equal(s_screened_at("\"2020-02-05t10:00:00z\""), T_0205_10Z);
	assert_int_equal(s_screened_at("\"2020-02-05 10:00:00Z\""), T_0205_10Z);
	assert_int_equal(s_screened_at("\"2020-02-05T10:00:00.999Z\""), T_0205_10Z);
	assert_int_equal(s_screened_at("\"2020-02-05T10:00:00+00:00\""), T_0205_10Z);
	assert_int_equal(s_screened_at("\"2020-02-05T10:00:00-00:00\""), T_0205_10Z);
	assert_int_equal(s_screened_at("\"2000-02-29T23:59:59Z\""), 951868799);
	assert_int_equal(s_screened_at("\"1970-01-01T08:00:00+08:00\""), 0);
	assert_int_equal(s_screened_at("\"1969-12-31T23:59:59Z\""), -1);
	assert_int_equal(s_screened_at("1580896800"), T_0205_10Z);
	rec.has_screened_at = 1;
	rec.screened_at = T_0205_10Z + 8 * 3600;
	out = record_to_json(&rec);
	assert_string_equal(json_string_value(json_object_get(out, "screened_at")),
	                    "2020-02-05T18:00:00Z");
	json_decref(out);
}

/* Results carry the outcome by name and leave absent fields out. */
static void
test_result_to_json(void **state)
{
	Gridwall__V1__RecordResult res = GRIDWALL__V1__RECORD_RESULT__INIT;
	json_t *out, *want;

	(void)state;
	res.index = 3;
	res.outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED;
	res.has_server_id = 1;
	res.server_id = 12;
	res.client_uuid = "6f1c1f0e-9a52-4c1e-9d0b-2f6a3c1b7e01";
	out = record_result_to_json(&res);
	want = s_load("{\"index\":3,\"outcome\":\"accepted\",\"server_id\":12,"
	              "\"client_uuid\":\"6f1c1f0e-9a52-4c1e-9d0b-2f6a3c1b7e01\"}");
	assert_true(json_equal(out, want));
	json_decref(out);
	json_decref(want);

	res.outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE;
	out = record_result_to_json(&res);
	assert_string_equal(json_string_value(json_object_get(out, "outcome")), "duplicate");
	json_decref(out);

	res = (Gridwall__V1__RecordResult)GRIDWALL__V1__RECORD_RESULT__INIT;
	res.index = 0;
	res.outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED;
	res.code = "BAD_ID_CHECKSUM";
	res.field = "id_number";
	res.message = "check digit does not match";
	out = record_result_to_json(&res);
	want = s_load("{\"index\":0,\"outcome\":\"rejected\",\"code\":\"BAD_ID_CHECKSUM\","
	              "\"field\":\"id_number\",\"message\":\"check digit does not match\"}");
	assert_true(json_equal(out, want));
	json_decref(out);
	json_decref(want);
}

/* Alerts show every field, levels and kind by name and raised_at as UTC text. */
static void
test_alert_to_json(void **state)
{
	Gridwall__V1__RiskAlert a = GRIDWALL__V1__RISK_ALERT__INIT;
	char *rules[] = { "fever", "hubei_14d" };
	char *reasons[] = { "temperature 38.1", "arrived from 420100 on 2020-01-22" };
	json_t *out, *want;

	(void)state;
	a.alert_id = 7;
	a.has_screening_id = 1;
	a.screening_id = 1001;
	a.has_person_id = 1;
	a.person_id = 55;
	a.level = GRIDWALL__V1__RISK_LEVEL__HIGH;
	a.n_rule_ids = 2;
	a.rule_ids = rules;
	a.n_reasons = 2;
	a.reasons = reasons;
	a.action = "fever clinic";
	a.grid_code = "440605001001001";
	a.area_path = "A / B";
	a.person_name = "Chan";
	a.id_masked = "440605********123X";
	a.phone = "13800138000";
	a.has_raised_at = 1;
	a.raised_at = T_0205_10Z;
	a.has_previous_level = 1;
	a.previous_level = GRIDWALL__V1__RISK_LEVEL__KEY_PERSON;
	out = risk_alert_to_json(&a);
	want = s_load("{\"alert_id\":7,\"kind\":\"risk\",\"screening_id\":1001,\"person_id\":55,"
	              "\"level\":\"high\",\"rule_ids\":[\"fever\",\"hubei_14d\"],"
	              "\"reasons\":[\"temperature 38.1\",\"arrived from 420100 on 2020-01-22\"],"
	              "\"action\":\"fever clinic\",\"grid_code\":\"440605001001001\","
	              "\"area_path\":\"A / B\",\"person_name\":\"Chan\","
	              "\"id_masked\":\"440605********123X\",\"phone\":\"13800138000\","
	              "\"raised_at\":\"2020-02-05T10:00:00Z\",\"previous_level\":\"key\"}");
	assert_true(json_equal(out, want));
	json_decref(out);
	json_decref(want);

	a = (Gridwall__V1__RiskAlert)GRIDWALL__V1__RISK_ALERT__INIT;
	a.level = GRIDWALL__V1__RISK_LEVEL__ATTENTION;
	out = risk_alert_to_json(&a);
	want = s_load("{\"alert_id\":0,\"kind\":\"risk\","
	              "\"level\":\"attention\",\"rule_ids\":[],\"reasons\":[]}");
	assert_true(json_equal(out, want));
	json_decref(out);
	json_decref(want);
}

/* Checks that an alert's JSON equals the expected text. */
static void
s_expect_alert(const Gridwall__V1__RiskAlert *a, const char *expected)
{
	json_t *out = risk_alert_to_json(a);
	json_t *want = s_load(expected);
	char *got = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	if (!json_equal(out, want))
		fail_msg("alert %lld: got %s", (long long)a->alert_id, got ? got : "NULL");
	free(got);
	json_decref(out);
	json_decref(want);
}

/*
 * The kinds of alerts: a release and an overdue follow-up name a person
 * and carry their times, a coverage gap names a household and no person,
 * and a kind this build does not know is shown as its number.
 */
static void
test_alert_kinds(void **state)
{
	Gridwall__V1__RiskAlert a = GRIDWALL__V1__RISK_ALERT__INIT;

	(void)state;
	a.alert_id = 8;
	a.has_kind = 1;
	a.kind = GRIDWALL__V1__ALERT_KIND__ALERT_RELEASED;
	a.has_person_id = 1;
	a.person_id = 55;
	a.level = GRIDWALL__V1__RISK_LEVEL__NORMAL;
	a.has_previous_level = 1;
	a.previous_level = GRIDWALL__V1__RISK_LEVEL__KEY_PERSON;
	a.grid_code = "440605001001001";
	a.has_household_id = 1;
	a.household_id = 9;
	a.household_code = "440605001001001-00009";
	a.person_name = "Chan";
	a.has_raised_at = 1;
	a.raised_at = T_0205_10Z;
	a.has_observe_until = 1;
	a.observe_until = T_0205_10Z - 3600;
	s_expect_alert(&a, "{\"alert_id\":8,\"kind\":\"released\",\"person_id\":55,"
	               "\"level\":\"normal\",\"previous_level\":\"key\",\"rule_ids\":[],"
	               "\"reasons\":[],\"grid_code\":\"440605001001001\",\"household_id\":9,"
	               "\"household_code\":\"440605001001001-00009\",\"person_name\":\"Chan\","
	               "\"raised_at\":\"2020-02-05T10:00:00Z\","
	               "\"observe_until\":\"2020-02-05T09:00:00Z\"}");

	a.kind = GRIDWALL__V1__ALERT_KIND__ALERT_FOLLOW_UP_OVERDUE;
	a.level = GRIDWALL__V1__RISK_LEVEL__KEY_PERSON;
	a.has_observe_until = 0;
	a.has_follow_up_due = 1;
	a.follow_up_due = T_0205_10Z - 7200;
	s_expect_alert(&a, "{\"alert_id\":8,\"kind\":\"follow_up_overdue\",\"person_id\":55,"
	               "\"level\":\"key\",\"previous_level\":\"key\",\"rule_ids\":[],"
	               "\"reasons\":[],\"grid_code\":\"440605001001001\",\"household_id\":9,"
	               "\"household_code\":\"440605001001001-00009\",\"person_name\":\"Chan\","
	               "\"raised_at\":\"2020-02-05T10:00:00Z\","
	               "\"follow_up_due\":\"2020-02-05T08:00:00Z\"}");

	a.kind = GRIDWALL__V1__ALERT_KIND__ALERT_COVERAGE_GAP;
	a.level = GRIDWALL__V1__RISK_LEVEL__NORMAL;
	a.has_previous_level = 0;
	a.has_person_id = 0;
	a.person_name = NULL;
	a.has_follow_up_due = 0;
	s_expect_alert(&a, "{\"alert_id\":8,\"kind\":\"coverage_gap\",\"level\":\"normal\","
	               "\"rule_ids\":[],\"reasons\":[],\"grid_code\":\"440605001001001\","
	               "\"household_id\":9,\"household_code\":\"440605001001001-00009\","
	               "\"raised_at\":\"2020-02-05T10:00:00Z\"}");

	a.kind = (Gridwall__V1__AlertKind)9;
	a.has_household_id = 0;
	a.household_code = NULL;
	a.grid_code = NULL;
	a.has_raised_at = 0;
	s_expect_alert(&a, "{\"alert_id\":8,\"kind\":9,\"level\":\"normal\","
	               "\"rule_ids\":[],\"reasons\":[]}");
}

/* Runs every test of this file. */
/* Request bodies as the HTTP intake takes them: an array, or NDJSON with a reason per bad line. */
static void
test_parse_body(void **state)
{
	static const char array[] = " \r\n[{}, {\"name\": \"b\"}]";
	static const char ndjson[] = "{\"name\": \"a\"}\n \t\r\n{\"name\": \n\n[1]\n";
	static const char half[] = "\"\\自\"\n{\"name\": \"valid\"}\n[\n";
	Gridwall__V1__ScreeningRecord rec;
	struct validation_error err;
	json_t *doc, *errors;
	char why[256];

	(void)state;
	doc = record_json_parse_body(array, sizeof(array) - 1, &errors, why, sizeof(why));
	assert_non_null(doc);
	assert_null(errors);
	assert_int_equal(json_array_size(doc), 2);
	assert_true(record_from_body(doc, errors, 1, &rec, &err));
	assert_string_equal(rec.name, "b");
	json_decref(doc);

	assert_null(record_json_parse_body("[1,", 3, &errors, why, sizeof(why)));
	assert_non_null(strstr(why, "malformed JSON at line 1"));
	assert_null(record_json_parse_body(" [ ]x", 5, &errors, why, sizeof(why)));
	assert_null(errors);

	doc = record_json_parse_body(ndjson, sizeof(ndjson) - 1, &errors, why, sizeof(why));
	assert_non_null(doc);
	assert_non_null(errors);
	assert_int_equal(json_array_size(doc), 3);          /* blank lines skipped */
	assert_int_equal(json_array_size(errors), 3);
	assert_true(record_from_body(doc, errors, 0, &rec, &err));
	assert_string_equal(rec.name, "a");
	assert_false(record_from_body(doc, errors, 1, &rec, &err));
	assert_string_equal(err.code, VERR_BAD_JSON);
	assert_non_null(strstr(err.message, "line 3 is not JSON"));
	assert_false(record_from_body(doc, errors, 2, &rec, &err));
	assert_string_equal(err.code, VERR_BAD_JSON);        /* JSON, not an object */
	json_decref(errors);
	json_decref(doc);

	/*
	 * jansson quotes half of 自 in its reason for line 1: the reason is cut
	 * to UTF-8, and the valid line 2 keeps its place (it once took line 3's).
	 */
	doc = record_json_parse_body(half, sizeof(half) - 1, &errors, why, sizeof(why));
	assert_int_equal(json_array_size(doc), 3);
	assert_int_equal(json_array_size(errors), 3);
	assert_false(record_from_body(doc, errors, 0, &rec, &err));
	assert_non_null(strstr(err.message, "line 1 is not JSON: invalid escape"));
	assert_true(validate_text(err.message));
	assert_true(record_from_body(doc, errors, 1, &rec, &err));
	assert_string_equal(rec.name, "valid");
	assert_false(record_from_body(doc, errors, 2, &rec, &err));
	assert_non_null(strstr(err.message, "line 3 is not JSON"));
	json_decref(errors);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_wire),
		cmocka_unit_test(test_temperature),
		cmocka_unit_test(test_null_is_absent),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bad_times),
		cmocka_unit_test(test_nul_in_string),
		cmocka_unit_test(test_screened_at),
		cmocka_unit_test(test_result_to_json),
		cmocka_unit_test(test_alert_to_json),
		cmocka_unit_test(test_alert_kinds),
		cmocka_unit_test(test_parse_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
