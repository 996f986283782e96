/*
 * The wire contract: every message packs and unpacks to the same values,
 * "temperature not measured" survives the trip as absent, and every enum
 * name parses back to its value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"

/* A record with every field set. */
static void
s_full_record(Gridwall__V1__ScreeningRecord *r, Gridwall__V1__Symptom *symptoms)
{
	gridwall__v1__screening_record__init(r);
	r->client_uuid = "6f1c2a4e-3b7d-4c1a-9e2f-0a1b2c3d4e5f";
	r->device_id = "dev-440605001-03";
	r->worker_id = "w-17";
	r->team_id = "t-3";
	r->has_channel = true;
	r->channel = GRIDWALL__V1__CHANNEL__CHECKPOINT;
	r->has_screened_at = true;
	r->screened_at = 1580896800;
	r->grid_code = "440605001001001";
	r->household_code = "440605001001001-00001";
	r->has_id_type = true;
	r->id_type = GRIDWALL__V1__ID_TYPE__RESIDENT_ID;
	r->id_number = "11010519491231002X";
	r->name = "黄伟";
	r->phone = "13800000003";
	r->has_sex = true;
	r->sex = GRIDWALL__V1__SEX__MALE;
	r->birth_date = "1949-12-31";
	r->has_temperature_tenths = true;
	r->temperature_tenths = 381;
	symptoms[0] = GRIDWALL__V1__SYMPTOM__COUGH;
	symptoms[1] = GRIDWALL__V1__SYMPTOM__FATIGUE;
	r->n_symptoms = 2;
	r->symptoms = symptoms;
	r->origin_region = "420100";
	r->departed_on = "2020-02-01";
	r->arrived_on = "2020-02-02";
	r->has_contact = true;
	r->contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
	r->note = "第二次复查";
}

static void
test_submit_request_round_trip(void **state)
{
	Gridwall__V1__ScreeningRecord rec, *recs[1] = { &rec };
	Gridwall__V1__Symptom symptoms[2];
	Gridwall__V1__SubmitRequest req = GRIDWALL__V1__SUBMIT_REQUEST__INIT;
	Gridwall__V1__SubmitRequest *back;
	Gridwall__V1__ScreeningRecord *r;
	uint8_t *buf;
	size_t len;

	(void)state;
	s_full_record(&rec, symptoms);
	req.device_id = "dev-1";
	req.n_records = 1;
	req.records = recs;
	buf = codec_pack(&req.base, &len);
	assert_non_null(buf);
	back = gridwall__v1__submit_request__unpack(NULL, len, buf);
	assert_non_null(back);
	assert_int_equal(back->n_records, 1);
	r = back->records[0];
	assert_string_equal(r->client_uuid, rec.client_uuid);
	assert_string_equal(r->name, "黄伟");
	assert_true(r->has_temperature_tenths);
	assert_int_equal(r->temperature_tenths, 381);
	assert_int_equal(r->n_symptoms, 2);
	assert_int_equal(r->symptoms[1], GRIDWALL__V1__SYMPTOM__FATIGUE);
	assert_int_equal(r->contact, GRIDWALL__V1__CONTACT__CONFIRMED_CASE);
	assert_int_equal(r->screened_at, 1580896800);
	assert_string_equal(r->note, "第二次复查");
	gridwall__v1__submit_request__free_unpacked(back, NULL);
	free(buf);
}

static void
test_unmeasured_temperature_differs_from_zero(void **state)
{
	Gridwall__V1__ScreeningRecord rec = GRIDWALL__V1__SCREENING_RECORD__INIT;
	Gridwall__V1__ScreeningRecord *back;
	uint8_t *buf;
	size_t len;

	(void)state;
	rec.client_uuid = "x";
	buf = codec_pack(&rec.base, &len);
	back = gridwall__v1__screening_record__unpack(NULL, len, buf);
	assert_false(back->has_temperature_tenths);
	gridwall__v1__screening_record__free_unpacked(back, NULL);
	free(buf);
	rec.has_temperature_tenths = true;
	rec.temperature_tenths = 0;
	buf = codec_pack(&rec.base, &len);
	back = gridwall__v1__screening_record__unpack(NULL, len, buf);
	assert_true(back->has_temperature_tenths);
	assert_int_equal(back->temperature_tenths, 0);
	gridwall__v1__screening_record__free_unpacked(back, NULL);
	free(buf);
}

static void
test_reply_and_alert_round_trip(void **state)
{
	Gridwall__V1__RecordResult res = GRIDWALL__V1__RECORD_RESULT__INIT, *results[1] = { &res };
	Gridwall__V1__SubmitReply reply = GRIDWALL__V1__SUBMIT_REPLY__INIT, *rback;
	Gridwall__V1__RiskAlert alert = GRIDWALL__V1__RISK_ALERT__INIT, *aback;
	char *ids[1] = { "close_contact" };
	uint8_t *buf;
	size_t len;

	(void)state;
	res.index = 3;
	res.outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED;
	res.code = "BAD_ID_CHECKSUM";
	res.field = "id_number";
	reply.status = GRIDWALL__V1__SUBMIT_REPLY__STATUS__OK;
	reply.n_results = 1;
	reply.results = results;
	buf = codec_pack(&reply.base, &len);
	rback = gridwall__v1__submit_reply__unpack(NULL, len, buf);
	assert_int_equal(rback->results[0]->index, 3);
	assert_string_equal(rback->results[0]->code, "BAD_ID_CHECKSUM");
	assert_false(rback->results[0]->has_server_id);
	gridwall__v1__submit_reply__free_unpacked(rback, NULL);
	free(buf);

	alert.alert_id = 7;
	alert.screening_id = 11;
	alert.person_id = 5;
	alert.level = GRIDWALL__V1__RISK_LEVEL__HIGH;
	alert.n_rule_ids = 1;
	alert.rule_ids = ids;
	alert.area_path = "佛山市 / 南海区";
	buf = codec_pack(&alert.base, &len);
	aback = gridwall__v1__risk_alert__unpack(NULL, len, buf);
	assert_int_equal(aback->level, GRIDWALL__V1__RISK_LEVEL__HIGH);
	assert_string_equal(aback->rule_ids[0], "close_contact");
	assert_string_equal(aback->area_path, "佛山市 / 南海区");
	gridwall__v1__risk_alert__free_unpacked(aback, NULL);
	free(buf);
}

static void
test_garbage_does_not_decode(void **state)
{
	const uint8_t garbage[] = { 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };

	(void)state;
	assert_null(gridwall__v1__submit_request__unpack(NULL, sizeof(garbage), garbage));
}

static void
test_enum_names_round_trip(void **state)
{
	(void)state;
	for (int v = 1; v <= 6; v++)
		assert_int_equal(codec_channel_parse(codec_channel_name(v)), v);
	for (int v = 0; v <= 3; v++) {
		assert_int_equal(codec_id_type_parse(codec_id_type_name(v)), v);
		assert_int_equal(codec_level_parse(codec_level_name(v)), v);
	}
	for (int v = 1; v <= 7; v++)
		assert_int_equal(codec_symptom_parse(codec_symptom_name(v)), v);
	for (int v = 0; v <= 2; v++)
		assert_int_equal(codec_contact_parse(codec_contact_name(v)), v);
	assert_string_equal(codec_level_name(GRIDWALL__V1__RISK_LEVEL__KEY_PERSON), "key");
	assert_null(codec_channel_name(0));
	assert_null(codec_channel_name(99));
	assert_int_equal(codec_channel_parse("teleport"), -1);
	assert_int_equal(codec_channel_parse(NULL), -1);
}

/*
 * ingestd's unpacking: the record limit, and fields the contract does not
 * have dropped, so that the record packs again into bytes that decode (a
 * field number 0 in two bytes, 0x80 0x00, is one protobuf-c accepts and
 * then packs as 0x00, which it refuses).
 */
static void
test_unpack_submit(void **state)
{
	Gridwall__V1__SubmitRequest req = GRIDWALL__V1__SUBMIT_REQUEST__INIT, *sr;
	Gridwall__V1__ScreeningRecord rec, *recs[2] = { &rec, &rec };
	Gridwall__V1__RecordEvent ev = GRIDWALL__V1__RECORD_EVENT__INIT, *back;
	Gridwall__V1__Symptom symptoms[2];
	uint8_t *buf, *bad, *packed;
	char why[160];
	size_t len, plen;

	(void)state;
	s_full_record(&rec, symptoms);
	req.n_records = 2;
	req.records = recs;
	buf = codec_pack(&req.base, &len);
	assert_non_null(buf);
	assert_null(codec_unpack_submit(buf, len, 1, why, sizeof(why)));
	assert_string_equal(why, "batch of 2 records is over the limit of 1");
	assert_null(codec_unpack_submit((const uint8_t *)"\xff\xff", 2, 1000, why, sizeof(why)));
	assert_string_equal(why, "cannot decode SubmitRequest (2 bytes)");

	/* One short record with "field 0 = 2" after it: the record's length grows by 3. */
	gridwall__v1__screening_record__init(&rec);
	rec.client_uuid = "6f1c2a4e-3b7d-4c1a-9e2f-0a1b2c3d4e5f";
	req.n_records = 1;
	free(buf);
	buf = codec_pack(&req.base, &len);
	assert_true(len > 4 && buf[0] == 0x12 && buf[1] < 0x80 - 3 && (size_t)buf[1] + 2 == len);
	bad = malloc(len + 3);
	assert_non_null(bad);
	memcpy(bad, buf, len);
	memcpy(bad + len, "\x80\x00\x02", 3);
	bad[1] = (uint8_t)(buf[1] + 3);
	sr = codec_unpack_submit(bad, len + 3, 1000, why, sizeof(why));
	assert_non_null(sr);
	assert_int_equal(sr->n_records, 1);
	assert_int_equal(sr->records[0]->base.n_unknown_fields, 0);
	ev.server_id = 1;
	ev.record = sr->records[0];
	packed = codec_pack(&ev.base, &plen);
	back = gridwall__v1__record_event__unpack(NULL, plen, packed);
	assert_non_null(back);
	assert_string_equal(back->record->client_uuid, rec.client_uuid);
	gridwall__v1__record_event__free_unpacked(back, NULL);
	gridwall__v1__submit_request__free_unpacked(sr, NULL);
	free(packed);
	free(bad);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_request_round_trip),
		cmocka_unit_test(test_unmeasured_temperature_differs_from_zero),
		cmocka_unit_test(test_reply_and_alert_round_trip),
		cmocka_unit_test(test_garbage_does_not_decode),
		cmocka_unit_test(test_enum_names_round_trip),
		cmocka_unit_test(test_unpack_submit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
