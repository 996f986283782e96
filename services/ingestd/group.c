/*
 * Group commit. Requests are validated as they arrive and gathered; the
 * gathered group is committed in one transaction when the loop has read
 * everything that arrived meanwhile (a uv_check handle runs right after
 * the loop's I/O), or as soon as it holds group_max_records. One device
 * pushing one record is answered after one short commit; a thousand devices
 * share each commit. Answers go out in arrival order, after the COMMIT.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ingestd.h"
#include "log.h"
#include "record_json.h"

/* Stable rejection codes counted one by one in /metrics; anything else counts as "other". */
static const char *const counted_codes[] = {
	VERR_MISSING_FIELD, VERR_BAD_UUID, VERR_BAD_ENUM, VERR_FIELD_TOO_LONG, VERR_BAD_TEXT,
	VERR_BAD_ID_FORMAT, VERR_BAD_ID_CHECKSUM, VERR_BAD_ID_BIRTH_DATE, VERR_BAD_PHONE,
	VERR_BAD_DATE, VERR_UNKNOWN_GRID, VERR_NOT_A_GRID, VERR_BAD_REGION,
	VERR_TEMPERATURE_OUT_OF_RANGE, VERR_SCREENED_AT_IN_FUTURE, VERR_SCREENED_AT_TOO_EARLY,
	VERR_ARRIVED_AFTER_SCREENING,
	VERR_DEPARTED_AFTER_ARRIVAL, "BAD_JSON", "BAD_TYPE", "UNKNOWN_FIELD", "STORE_FAILED",
	VERR_WRONG_DISTRICT, "other",
};
#define NCODES (sizeof(counted_codes) / sizeof(counted_codes[0]))
#define SLOW_STORE_MS 100.0     /* a group stored slower than this is logged */

/* The codes /metrics lists, in a fixed order. */
const char *const *
ingest_counted_codes(size_t *n)
{
	*n = NCODES;
	return counted_codes;
}

void
stats_count_rejected(struct ingest_stats *stats, const char *code)
{
	size_t i;

	for (i = 0; i + 1 < NCODES; i++)
		if (strcmp(counted_codes[i], code) == 0)
			break;
	stats->rejected_by_code[i]++;
	stats->rejected++;
}

struct submission *
submission_new(size_t n, enum origin origin)
{
	struct submission *sub = calloc(1, sizeof(*sub));
	size_t m = n ? n : 1;

	if (sub == NULL)
		return NULL;
	sub->origin = origin;
	sub->n = n;
	sub->recs = calloc(m, sizeof(*sub->recs));
	sub->verr = calloc(m, sizeof(*sub->verr));
	sub->st = calloc(m, sizeof(*sub->st));
	sub->arrived_ns = uv_hrtime();
	if (sub->recs == NULL || sub->verr == NULL || sub->st == NULL) {
		submission_free(sub);
		return NULL;
	}
	return sub;
}

void
submission_free(struct submission *sub)
{
	if (sub == NULL)
		return;
	if (sub->json_recs != NULL)
		for (size_t i = 0; i < sub->n; i++)
			record_json_release(&sub->json_recs[i]);
	free(sub->json_recs);
	json_decref(sub->json);
	if (sub->request != NULL)
		gridwall__v1__submit_request__free_unpacked(sub->request, NULL);
	for (int i = 0; i < sub->nenvelope; i++)
		zmq_msg_close(&sub->envelope[i]);
	free(sub->recs);
	free(sub->verr);
	free(sub->st);
	free(sub);
}

/* Validates every record not already refused by its channel (JSON decoding). */
static void
s_validate(struct ingestd *in, struct submission *sub)
{
	time_t now = time(NULL);

	sub->nvalid = 0;
	for (size_t i = 0; i < sub->n; i++) {
		if (sub->verr[i].code != NULL)
			continue;
		if (validate_submitted(sub->recs[i], in->areas, now, sub->district, sub->device,
		                       &sub->verr[i])) {
			sub->verr[i].code = NULL;
			sub->nvalid++;
		}
	}
}

/* Answers a whole submission with one status and frees it. */
static void
s_answer_status(struct ingestd *in, struct submission *sub, Gridwall__V1__SubmitReply__Status status,
                const char *error)
{
	Gridwall__V1__SubmitReply reply = GRIDWALL__V1__SUBMIT_REPLY__INIT;

	reply.status = status;
	reply.error = (char *)error;
	if (status == GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER) {
		reply.has_retry_after_ms = true;
		reply.retry_after_ms = (uint32_t)((const struct ingest_config *)in->daemon->config)->retry_after_ms;
		in->stats.retry_later++;
	} else if (status == GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST) {
		in->stats.bad_requests++;
	}
	if (sub->origin == ORIGIN_ZMQ)
		reply_zmq(in, sub, &reply);
	else
		reply_http(in, sub, &reply);
	submission_free(sub);
}

/* Appends a submission to the group; the check handle commits it this turn. */
static void
s_enqueue(struct ingestd *in, struct submission *sub)
{
	if (in->tail != NULL)
		in->tail->next = sub;
	else
		in->head = sub;
	in->tail = sub;
}

void
group_refuse(struct ingestd *in, struct submission *sub, Gridwall__V1__SubmitReply__Status status,
             const char *error)
{
	sub->status = status;
	snprintf(sub->error, sizeof(sub->error), "%s", error);
	sub->nvalid = 0;
	s_enqueue(in, sub);
}

void
group_submit(struct ingestd *in, struct submission *sub)
{
	const struct ingest_config *cfg = in->daemon->config;
	const Gridwall__V1__SubmitReply__Status retry = GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER;

	if (in->daemon->draining) {
		group_refuse(in, sub, retry, "ingestd is stopping");
		return;
	}
	if (db_conn(in->daemon->db) == NULL || in->areas == NULL) {
		group_refuse(in, sub, retry, "database unavailable");
		return;
	}
	s_validate(in, sub);
	if (in->inflight + sub->nvalid > (size_t)cfg->max_inflight_records) {
		group_refuse(in, sub, retry, "too many records in flight");
		return;
	}
	in->inflight += sub->nvalid;
	in->group_records += sub->nvalid;
	s_enqueue(in, sub);
	if (in->group_records >= (size_t)cfg->group_max_records)
		group_flush(in);
}

/* Fills one result from validation or from the store. */
static void
s_result(Gridwall__V1__RecordResult *res, size_t i, const struct submission *sub)
{
	const struct validation_error *verr = &sub->verr[i];
	const struct stored *st = &sub->st[i];

	res->index = (uint32_t)i;
	res->client_uuid = sub->recs[i]->client_uuid;
	if (verr->code != NULL) {
		res->outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED;
		res->code = (char *)verr->code;
		res->field = (char *)verr->field;
		res->message = (char *)verr->message;
		return;
	}
	res->outcome = st->outcome;
	if (st->outcome == GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED) {
		res->code = (char *)st->code;
		res->message = (char *)st->message;
		return;
	}
	res->has_server_id = true;
	res->server_id = st->server_id;
}

/* Counts one result. */
static void
s_count(struct ingestd *in, const Gridwall__V1__RecordResult *res)
{
	if (res->outcome == GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED)
		in->stats.accepted++;
	else if (res->outcome == GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE)
		in->stats.duplicate++;
	else
		stats_count_rejected(&in->stats, res->code ? res->code : "other");
}

/* PUSHes one stored record to rulesd; dropped at the high-water mark (rulesd catches up). */
static void
s_announce(struct ingestd *in, Gridwall__V1__ScreeningRecord *rec, const struct stored *st)
{
	Gridwall__V1__RecordEvent ev = GRIDWALL__V1__RECORD_EVENT__INIT;
	const void *data[1];
	size_t len;
	uint8_t *buf;

	ev.server_id = st->server_id;
	ev.record = rec;
	ev.has_person_id = true;
	ev.person_id = st->person_id;
	ev.has_household_id = st->household_id > 0;
	ev.household_id = st->household_id;
	ev.has_received_at = true;
	ev.received_at = st->received_at;
	buf = codec_pack(&ev.base, &len);
	if (buf == NULL)
		return;
	data[0] = buf;
	if (bus_send(in->events, data, &len, 1) != 0)
		in->stats.events_dropped++;
	free(buf);
}

/* Answers one committed submission record by record, then announces what it stored. */
static void
s_answer(struct ingestd *in, struct submission *sub, uint64_t now)
{
	Gridwall__V1__SubmitReply reply = GRIDWALL__V1__SUBMIT_REPLY__INIT;
	Gridwall__V1__RecordResult *res = calloc(sub->n ? sub->n : 1, sizeof(*res));
	Gridwall__V1__RecordResult **ptrs = calloc(sub->n ? sub->n : 1, sizeof(*ptrs));

	if (res == NULL || ptrs == NULL) {
		free(res);
		free(ptrs);
		s_answer_status(in, sub, GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER, "out of memory");
		return;
	}
	for (size_t i = 0; i < sub->n; i++) {
		gridwall__v1__record_result__init(&res[i]);
		s_result(&res[i], i, sub);
		s_count(in, &res[i]);
		ptrs[i] = &res[i];
	}
	reply.status = GRIDWALL__V1__SUBMIT_REPLY__STATUS__OK;
	reply.n_results = sub->n;
	reply.results = ptrs;
	if (sub->origin == ORIGIN_ZMQ)
		reply_zmq(in, sub, &reply);
	else
		reply_http(in, sub, &reply);
	histogram_observe(&in->stats.ack_ms, (double)(now - sub->arrived_ns) / 1e6);
	for (size_t i = 0; i < sub->n; i++)
		if (res[i].outcome == GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED)
			s_announce(in, sub->recs[i], &sub->st[i]);
	free(res);
	free(ptrs);
	submission_free(sub);
}

/* Counts a group's store time; one that took long is logged, to be matched with the database's log. */
static void
s_observe_store(struct ingestd *in, double ms)
{
	histogram_observe(&in->stats.commit_ms, ms);
	if (ms >= SLOW_STORE_MS)
		log_info("slow group: %zu records stored in %.0f ms", in->group_records, ms);
}

void
group_flush(struct ingestd *in)
{
	struct submission *head = in->head, *next;
	uint64_t start = uv_hrtime(), now;
	int rc = 0;

	if (head == NULL)
		return;
	in->head = in->tail = NULL;
	if (in->group_records > 0) {
		rc = store_group(in, head);
		s_observe_store(in, (double)(uv_hrtime() - start) / 1e6);
		histogram_observe(&in->stats.group_size, (double)in->group_records);
		in->stats.groups++;
	}
	in->inflight -= in->group_records;
	in->group_records = 0;
	now = uv_hrtime();
	for (struct submission *sub = head; sub != NULL; sub = next) {
		next = sub->next;
		if (sub->status != GRIDWALL__V1__SUBMIT_REPLY__STATUS__OK)
			s_answer_status(in, sub, sub->status, sub->error);
		else if (rc == 0)
			s_answer(in, sub, now);
		else
			s_answer_status(in, sub, GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER,
			                "database unavailable");
	}
}

/* After the loop's I/O: everything read this turn is one group. */
static void
s_check_cb(uv_check_t *h)
{
	group_flush(h->data);
}

static const double group_bounds[] = { 1, 10, 50, 100, 500, 1000, 2000, 5000, 10000 };
static const double ms_bounds[] = { 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 5000 };

void
group_init(struct ingestd *in)
{
	histogram_init(&in->stats.group_size, group_bounds, sizeof(group_bounds) / sizeof(group_bounds[0]));
	histogram_init(&in->stats.commit_ms, ms_bounds, sizeof(ms_bounds) / sizeof(ms_bounds[0]));
	histogram_init(&in->stats.ack_ms, ms_bounds, sizeof(ms_bounds) / sizeof(ms_bounds[0]));
	uv_check_init(in->daemon->loop, &in->flush_check);
	in->flush_check.data = in;
	uv_check_start(&in->flush_check, s_check_cb);
}

void
group_close(struct ingestd *in)
{
	group_flush(in);
	uv_close((uv_handle_t *)&in->flush_check, NULL);
	for (int i = 0; i < INCOMING_COLUMNS; i++)
		pgarray_free(&in->cols[i]);
	free(in->seen);
	in->seen = NULL;
}
