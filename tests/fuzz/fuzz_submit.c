/*
 * Fuzzes what ingestd does with a device's ZeroMQ frame: the SubmitRequest
 * unpacked with its record limit (codec_unpack_submit), each record checked
 * as group.c checks it (validate_submitted, every other record as a device
 * bound to Nanhai), the SubmitReply packed, and for a valid record what
 * follows: its RecordEvent packed for rulesd, and read there into a
 * screening that the default rules (deploy/rules/default.rules, with a rule
 * for each built-in they leave out) assess; its JSON form; its area path.
 * Every message a refusal carries must be UTF-8 text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assess.h"
#include "codec.h"
#include "fuzz.h"
#include "record_json.h"
#include "rulelang.h"
#include "screening.h"
#include "validate.h"

/* The built-ins deploy/rules/default.rules does not use. */
static const char extra_rules[] =
	"\nrule fuzz_extra\n"
	"    level attention\n"
	"    reason \"the rest of the language\"\n"
	"    action \"none\"\n"
	"    when (days_since_arrival <= 3 and region_in(\"4201\", \"440605\")) or\n"
	"         (channel == checkpoint and under_observation and level >= key_person) or\n"
	"         (temperature < 35 and contact != no_contact and origin_region == \"42\")\n";

static struct rule_set *rules;
static struct risk_area risk_areas[] = {
	{ "42", 18281, INT32_MAX },     /* 湖北省 from 2020-01-20 */
	{ "4201", 18281, 18300 },
};
static const struct risk_registry risk = { risk_areas, 2 };

/*
 * deploy/rules/default.rules, found from the program (BUILD/fuzz/fuzz_submit)
 * or else from the working folder, and the extra rule.
 */
static struct rule_set *
s_load_rules(void)
{
	char exe[4096], path[4200], *slash, *text;
	struct rule_error err;
	struct rule_set *rs;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len;
	FILE *f;

	FUZZ_CHECK(n > 0);
	exe[n] = '\0';
	for (int up = 0; up < 3 && (slash = strrchr(exe, '/')) != NULL; up++)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/deploy/rules/default.rules", exe);
	f = fopen(path, "rb");
	if (f == NULL) {                /* a build folder elsewhere: run from the tree */
		snprintf(path, sizeof(path), "deploy/rules/default.rules");
		f = fopen(path, "rb");
	}
	if (f == NULL) {
		fprintf(stderr, "fuzz_submit: cannot read %s\n", path);
		abort();
	}
	text = calloc(1, 65536 + sizeof(extra_rules));
	FUZZ_CHECK(text != NULL);
	len = fread(text, 1, 65536, f);
	fclose(f);
	memcpy(text + len, extra_rules, sizeof(extra_rules));
	rs = rule_set_parse(path, text, len + sizeof(extra_rules) - 1, &err);
	if (rs == NULL) {
		fprintf(stderr, "fuzz_submit: %s:%d:%d: %s\n", err.file, err.line, err.col, err.message);
		abort();
	}
	free(text);
	return rs;
}

/* Once, before the first input: quiet logs, and what the inputs share. */
FUZZ_INITIALIZE(fuzz_areas(); rules = s_load_rules())

/*
 * What comes after a record is found valid: the event for rulesd and its
 * assessment there (three persons in one household share the records),
 * the JSON form, the area path.
 */
static void
s_after_valid(struct assess *a, Gridwall__V1__ScreeningRecord *rec, size_t i)
{
	Gridwall__V1__RecordEvent ev = GRIDWALL__V1__RECORD_EVENT__INIT, *back;
	struct assessment out;
	struct screening scr;
	char path[512];
	size_t len;
	uint8_t *buf;
	json_t *j;

	ev.server_id = (int64_t)i + 1;
	ev.record = rec;
	ev.has_person_id = true;
	ev.person_id = (int64_t)(i % 3) + 1;
	ev.has_household_id = true;
	ev.household_id = 1;
	ev.has_received_at = true;
	ev.received_at = FUZZ_NOW;
	buf = codec_pack(&ev.base, &len);
	FUZZ_CHECK(buf != NULL);
	back = gridwall__v1__record_event__unpack(NULL, len, buf);
	FUZZ_CHECK(back != NULL);
	free(buf);
	FUZZ_CHECK(screening_from_event(back, &scr));
	assess_begin(a);
	FUZZ_CHECK(assess_screening(a, rules, &risk, &scr, &out));
	assess_commit(a);
	FUZZ_CHECK(out.nfired <= rule_set_count(rules));
	gridwall__v1__record_event__free_unpacked(back, NULL);
	j = record_to_json(rec);
	FUZZ_CHECK(j != NULL);
	json_decref(j);
	area_path(fuzz_areas(), rec->grid_code, path, sizeof(path));
	FUZZ_CHECK(fuzz_utf8(path));
}

/* An event of assess_tick, as rulesd would write it. */
static bool
s_event(void *arg, const struct assess_event *ev)
{
	(void)arg;
	FUZZ_CHECK(ev->level >= 0 && ev->level < ASSESS_LEVELS);
	return true;
}

/* Each input, from libFuzzer; everything it allocates is freed before it returns. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Gridwall__V1__SubmitReply reply = GRIDWALL__V1__SUBMIT_REPLY__INIT;
	Gridwall__V1__SubmitRequest *sr;
	Gridwall__V1__RecordResult *res, **ptrs;
	struct validation_error *verr;
	struct assess a;
	struct assess_clock clock = { FUZZ_NOW + 30 * 86400, 6 * 3600, 3 * 86400 };
	char why[160];
	size_t len;
	uint8_t *buf;

	why[0] = '\0';
	sr = codec_unpack_submit(data, size, FUZZ_MAX_BATCH, why, sizeof(why));
	if (sr == NULL) {
		FUZZ_CHECK(why[0] != '\0' && fuzz_utf8(why));
		return 0;
	}
	res = calloc(sr->n_records + 1, sizeof(*res));
	ptrs = calloc(sr->n_records + 1, sizeof(*ptrs));
	verr = calloc(sr->n_records + 1, sizeof(*verr));
	FUZZ_CHECK(res != NULL && ptrs != NULL && verr != NULL);
	assess_init(&a);
	for (size_t i = 0; i < sr->n_records; i++) {
		Gridwall__V1__ScreeningRecord *rec = sr->records[i];
		const char *district = i % 2 ? "440605" : "";

		gridwall__v1__record_result__init(&res[i]);
		ptrs[i] = &res[i];
		res[i].index = (uint32_t)i;
		res[i].client_uuid = rec->client_uuid;
		if (validate_submitted(rec, fuzz_areas(), FUZZ_NOW, district, "dev-nanhai", &verr[i])) {
			FUZZ_CHECK(verr[i].code == NULL);
			res[i].outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED;
			s_after_valid(&a, rec, i);
			continue;
		}
		FUZZ_CHECK(verr[i].code != NULL && verr[i].field != NULL);
		FUZZ_CHECK(strlen(verr[i].message) < sizeof(verr[i].message));
		FUZZ_CHECK(fuzz_utf8(verr[i].message));
		res[i].outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED;
		res[i].code = (char *)verr[i].code;
		res[i].field = (char *)verr[i].field;
		res[i].message = verr[i].message;
	}
	/* Time alone moves the states on: releases, overdue follow-ups. */
	assess_begin(&a);
	FUZZ_CHECK(assess_tick(&a, &clock, s_event, NULL));
	assess_commit(&a);
	assess_free(&a);
	reply.status = GRIDWALL__V1__SUBMIT_REPLY__STATUS__OK;
	reply.n_results = sr->n_records;
	reply.results = ptrs;
	buf = codec_pack(&reply.base, &len);
	FUZZ_CHECK(buf != NULL);
	free(buf);
	free(res);
	free(ptrs);
	free(verr);
	gridwall__v1__submit_request__free_unpacked(sr, NULL);
	return 0;
}
