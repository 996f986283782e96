/*
 * Fuzzes the JSON intake: a POST /v1/screenings body as ingestd's HTTP
 * intake takes it (record_json_parse_body: a JSON array, or NDJSON), each
 * element turned into a record (record_from_body) and checked as group.c
 * checks it (validate_submitted), then the answer as reply.c writes it:
 * one JSON result per record, which must always be writable, in order.
 * Also runs each record back through record_to_json and record_from_json.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "record_json.h"
#include "validate.h"

/* Once, before the first input: quiet logs, and what the inputs share. */
FUZZ_INITIALIZE(fuzz_areas())

/* A record's JSON form read back: the same fields, and valid still. */
static void
s_round_trip(const Gridwall__V1__ScreeningRecord *rec)
{
	Gridwall__V1__ScreeningRecord back;
	struct validation_error err;
	json_t *j = record_to_json(rec);

	FUZZ_CHECK(j != NULL);
	FUZZ_CHECK(record_from_json(j, &back, &err));
	FUZZ_CHECK(validate_record(&back, fuzz_areas(), FUZZ_NOW, &err));
	FUZZ_CHECK(back.screened_at == rec->screened_at && back.n_symptoms == rec->n_symptoms);
	record_json_release(&back);
	json_decref(j);
}

/* Each input, from libFuzzer; everything it allocates is freed before it returns. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_text(data, size);
	json_t *errors = NULL, *doc, *results, *answer;
	Gridwall__V1__ScreeningRecord rec;
	Gridwall__V1__RecordResult res;
	struct validation_error verr;
	char why[256], *text;
	size_t n;

	why[0] = '\0';
	doc = record_json_parse_body(body, size, &errors, why, sizeof(why));
	if (doc == NULL) {
		FUZZ_CHECK(errors == NULL && why[0] != '\0');
		free(body);
		return 0;
	}
	FUZZ_CHECK(json_is_array(doc));
	n = json_array_size(doc);
	/* Each element its own answer: a reason per NDJSON line, in step with the records. */
	FUZZ_CHECK(errors == NULL || json_array_size(errors) == n);
	if (n > FUZZ_MAX_BATCH)
		n = 0;          /* ingestd answers 413 */
	results = json_array();
	FUZZ_CHECK(results != NULL);
	for (size_t i = 0; i < n; i++) {
		gridwall__v1__record_result__init(&res);
		res.index = (uint32_t)i;
		if (record_from_body(doc, errors, i, &rec, &verr) &&
		    validate_submitted(&rec, fuzz_areas(), FUZZ_NOW, "", "", &verr)) {
			res.outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED;
			res.has_server_id = true;
			res.server_id = (int64_t)i + 1;
			s_round_trip(&rec);
		} else {
			FUZZ_CHECK(verr.code != NULL);
			res.outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED;
			res.code = (char *)verr.code;
			res.field = (char *)verr.field;
			res.message = verr.message;
		}
		res.client_uuid = rec.client_uuid;
		/* reply.c appends each result; one that cannot be written would shift the rest. */
		FUZZ_CHECK(json_array_append_new(results, record_result_to_json(&res)) == 0);
		record_json_release(&rec);
	}
	answer = json_pack("{s:o}", "results", results);
	FUZZ_CHECK(answer != NULL);
	text = json_dumps(answer, JSON_COMPACT);
	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(answer);
	json_decref(errors);
	json_decref(doc);
	free(body);
	return 0;
}
