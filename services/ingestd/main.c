/*
 * gridwall-ingestd: the intake of screening records. A field app sends a
 * SubmitRequest on the ROUTER socket; each record is validated, the valid
 * ones are committed in one transaction, every record gets its own result,
 * and only then is the reply sent and the stored records PUSHed to rulesd.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "defaults.h"
#include "ingestd.h"
#include "log.h"
#include "registry.h"
#include "validate.h"

#define OWN(field) offsetof(struct ingest_config, field)

static const struct config_key ingest_keys[] = {
	{ "max_batch_records", CONFIG_INT, "1000", 1, 100000, true, OWN(max_batch_records),
	  "most records in one SubmitRequest; a larger batch is refused whole" },
	{ "max_message_bytes", CONFIG_INT, "4194304", 1024, 268435456, false, OWN(max_message_bytes),
	  "largest frame accepted from a device (ZMQ_MAXMSGSIZE)" },
	{ "events_hwm", CONFIG_INT, "100000", 100, 10000000, false, OWN(events_hwm),
	  "record events queued for rulesd before new ones are dropped (rulesd catches up from the table)" },
	{ "retry_after_ms", CONFIG_INT, "1000", 10, 60000, true, OWN(retry_after_ms),
	  "how long a device is told to wait when the database is unavailable" },
	CONFIG_END,
};

static const struct ingest_config *
s_config(struct ingestd *in)
{
	return in->daemon->config;
}

/* Sends a reply on the envelope the request came with. */
static void
s_reply(struct ingestd *in, struct bus_msg *req, int envelope, const Gridwall__V1__SubmitReply *reply)
{
	const void *data[BUS_MAX_FRAMES];
	size_t lens[BUS_MAX_FRAMES];
	size_t len;
	uint8_t *buf = codec_pack(&reply->base, &len);

	if (buf == NULL)
		return;
	for (int i = 0; i < envelope; i++) {
		data[i] = bus_frame_data(req, i);
		lens[i] = bus_frame_size(req, i);
	}
	data[envelope] = buf;
	lens[envelope] = len;
	if (bus_send(in->router, data, lens, envelope + 1) != 0)
		log_warn("reply not sent: %s", zmq_strerror(zmq_errno()));
	free(buf);
}

/* Answers a whole request with one status (BAD_REQUEST, RETRY_LATER). */
static void
s_reply_status(struct ingestd *in, struct bus_msg *req, int envelope,
               Gridwall__V1__SubmitReply__Status status, const char *error)
{
	Gridwall__V1__SubmitReply reply = GRIDWALL__V1__SUBMIT_REPLY__INIT;

	reply.status = status;
	reply.error = (char *)error;
	if (status == GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER) {
		reply.has_retry_after_ms = true;
		reply.retry_after_ms = (uint32_t)s_config(in)->retry_after_ms;
		in->stats.retry_later++;
	} else {
		in->stats.bad_requests++;
	}
	s_reply(in, req, envelope, &reply);
}

/* PUSHes one stored record to rulesd; dropped at the high-water mark. */
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

/* Fills one result from validation or from the store. */
static void
s_result(Gridwall__V1__RecordResult *res, size_t i, const Gridwall__V1__ScreeningRecord *rec,
         const struct validation_error *verr, const struct stored *st)
{
	res->index = (uint32_t)i;
	res->client_uuid = rec->client_uuid;
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

/* Counts outcomes for the log and metrics. */
static void
s_count(struct ingestd *in, const Gridwall__V1__RecordResult *res)
{
	switch (res->outcome) {
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED:
		in->stats.accepted++;
		break;
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE:
		in->stats.duplicate++;
		break;
	default:
		in->stats.rejected++;
		break;
	}
}

/* A document number without its type is a resident id: the common case in the field. */
static void
s_normalise(Gridwall__V1__ScreeningRecord *rec)
{
	if (!rec->has_id_type && rec->id_number != NULL && *rec->id_number != '\0') {
		rec->has_id_type = true;
		rec->id_type = GRIDWALL__V1__ID_TYPE__RESIDENT_ID;
	}
}

/* Validates, stores and answers a decoded request. */
static void
s_submit(struct ingestd *in, struct bus_msg *req, int envelope, Gridwall__V1__SubmitRequest *sr)
{
	size_t n = sr->n_records;
	struct validation_error *verr = calloc(n ? n : 1, sizeof(*verr));
	struct stored *st = calloc(n ? n : 1, sizeof(*st));
	bool *valid = calloc(n ? n : 1, sizeof(*valid));
	Gridwall__V1__RecordResult *res = calloc(n ? n : 1, sizeof(*res));
	Gridwall__V1__RecordResult **resp = calloc(n ? n : 1, sizeof(*resp));
	Gridwall__V1__SubmitReply reply = GRIDWALL__V1__SUBMIT_REPLY__INIT;
	time_t now = time(NULL);

	if (!verr || !st || !valid || !res || !resp) {
		s_reply_status(in, req, envelope, GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		s_normalise(sr->records[i]);
		valid[i] = validate_record(sr->records[i], in->areas, now, &verr[i]);
		if (valid[i])
			verr[i].code = NULL;
	}
	if (store_batch(in->daemon->db, sr->records, valid, n, st) != 0) {
		s_reply_status(in, req, envelope, GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER,
		               "database unavailable");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		gridwall__v1__record_result__init(&res[i]);
		s_result(&res[i], i, sr->records[i], &verr[i], &st[i]);
		s_count(in, &res[i]);
		resp[i] = &res[i];
	}
	reply.status = GRIDWALL__V1__SUBMIT_REPLY__STATUS__OK;
	reply.n_results = n;
	reply.results = resp;
	s_reply(in, req, envelope, &reply);
	in->stats.batches++;
	for (size_t i = 0; i < n; i++)
		if (res[i].outcome == GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED)
			s_announce(in, sr->records[i], &st[i]);
out:
	free(verr);
	free(st);
	free(valid);
	free(res);
	free(resp);
}

/* The routing envelope's length: identity, plus the empty delimiter of REQ-style clients. */
static int
s_envelope(struct bus_msg *msg)
{
	if (msg->nframes >= 3 && bus_frame_size(msg, 1) == 0)
		return 2;
	return 1;
}

/* One message on the ROUTER: check, decode, and hand to s_submit. */
static void
s_on_request(void *arg, struct bus_socket *sock, struct bus_msg *msg)
{
	struct ingestd *in = arg;
	int envelope = s_envelope(msg);
	Gridwall__V1__SubmitRequest *sr;
	char why[128];

	(void)sock;
	if (msg->nframes != envelope + 1 || msg->truncated) {
		log_warn("request with %d frames refused", msg->nframes);
		s_reply_status(in, msg, envelope, GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST,
		               "expected [empty frame][SubmitRequest]");
		return;
	}
	if (in->daemon->draining) {
		s_reply_status(in, msg, envelope, GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER,
		               "ingestd is stopping");
		return;
	}
	sr = gridwall__v1__submit_request__unpack(NULL, bus_frame_size(msg, envelope),
	                                          bus_frame_data(msg, envelope));
	if (sr == NULL) {
		log_warn("undecodable SubmitRequest of %zu bytes refused", bus_frame_size(msg, envelope));
		s_reply_status(in, msg, envelope, GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST,
		               "cannot decode SubmitRequest");
		return;
	}
	if (sr->n_records > (size_t)s_config(in)->max_batch_records) {
		snprintf(why, sizeof(why), "batch of %zu records is over the limit of %ld",
		         sr->n_records, s_config(in)->max_batch_records);
		log_warn("%s", why);
		s_reply_status(in, msg, envelope, GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST, why);
	} else if (in->areas == NULL && (in->areas = registry_load_areas(in->daemon->db)) == NULL) {
		s_reply_status(in, msg, envelope, GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER,
		               "database unavailable");
	} else {
		s_submit(in, msg, envelope, sr);
	}
	gridwall__v1__submit_request__free_unpacked(sr, NULL);
}

/* Loads the area tree once the database is reachable. */
static void
s_db_up(struct daemon *d)
{
	struct ingestd *in = d->ctx;

	if (in->areas == NULL)
		in->areas = registry_load_areas(d->db);
}

static int
s_start(struct daemon *d)
{
	struct ingestd *in = d->ctx;
	const struct ingest_config *cfg = d->config;

	in->daemon = d;
	in->router = bus_socket_new(d->bus, ZMQ_ROUTER, "intake", 1000);
	in->events = bus_socket_new(d->bus, ZMQ_PUSH, "events", 0);
	if (in->router == NULL || in->events == NULL)
		return -1;
	bus_set_int64(in->router, ZMQ_MAXMSGSIZE, cfg->max_message_bytes);
	bus_set_int(in->events, ZMQ_SNDHWM, (int)cfg->events_hwm);
	if (bus_bind(in->router, cfg->shared.ingest_endpoint) != 0 ||
	    bus_bind(in->events, cfg->shared.events_endpoint) != 0)
		return -1;
	return bus_socket_watch(in->router, s_on_request, in);
}

/* Reloads the area tree: new grids become valid without a restart. */
static void
s_reload(struct daemon *d, const void *old)
{
	struct ingestd *in = d->ctx;
	struct area_tree *fresh = registry_load_areas(d->db);

	(void)old;
	if (fresh == NULL)
		return;
	area_tree_destroy(&in->areas);
	in->areas = fresh;
}

/* Requests are answered synchronously, so nothing is in flight: stop. */
static void
s_drain(struct daemon *d)
{
	daemon_stop(d);
}

static void
s_stop(struct daemon *d)
{
	struct ingestd *in = d->ctx;

	log_info("accepted=%llu duplicate=%llu rejected=%llu batches=%llu retry_later=%llu "
	         "bad_requests=%llu events_dropped=%llu",
	         (unsigned long long)in->stats.accepted, (unsigned long long)in->stats.duplicate,
	         (unsigned long long)in->stats.rejected, (unsigned long long)in->stats.batches,
	         (unsigned long long)in->stats.retry_later, (unsigned long long)in->stats.bad_requests,
	         (unsigned long long)in->stats.events_dropped);
	bus_socket_close(&in->router);
	bus_socket_close(&in->events);
	area_tree_destroy(&in->areas);
}

static const struct daemon_ops ingest_ops = {
	.name = "ingestd",
	.db_role = "gridwall_ingest",
	.keys = ingest_keys,
	.config_size = sizeof(struct ingest_config),
	.start = s_start,
	.reload = s_reload,
	.drain = s_drain,
	.stop = s_stop,
	.db_up = s_db_up,
};

int
main(int argc, char **argv)
{
	struct ingestd in = { 0 };

	return daemon_main(argc, argv, &ingest_ops, &in);
}
