/*
 * The Clone pattern of the aggregate feed (the zguide, chapter 5). A
 * subscriber that joins late, or whose reportd restarted, subscribes to the
 * feed first, then asks this ROUTER for a snapshot of its area, and then
 * applies only the feed updates whose seq is above the snapshot's.
 *
 * The current local day is answered from `current`: every cell of the day
 * as last published, seeded from daily_aggregates when reportd or the day
 * starts. Any other day is read from daily_aggregates. All of it runs on
 * the loop, between ticks, so no update can slip between the cells of a
 * reply and its seq.
 *
 * A reply is one multipart message: the request's envelope, then frames of
 * at most CLONE_CHUNK_CELLS snapshots each (about 100 kB), so that no frame
 * nears a client's max_message_bytes. ZeroMQ queues and delivers a
 * multipart message whole, so a client never sees half a snapshot, and the
 * high-water mark counts the reply once.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "codec.h"
#include "grow.h"
#include "log.h"
#include "reportd.h"

#define STATUS_OK           GRIDWALL__V1__SNAPSHOT_REPLY__STATUS__OK
#define STATUS_RETRY_LATER  GRIDWALL__V1__SNAPSHOT_REPLY__STATUS__RETRY_LATER
#define STATUS_BAD_REQUEST  GRIDWALL__V1__SNAPSHOT_REPLY__STATUS__BAD_REQUEST
#define STATUS_UNKNOWN_AREA GRIDWALL__V1__SNAPSHOT_REPLY__STATUS__UNKNOWN_AREA
#define STATUS_TOO_LARGE    GRIDWALL__V1__SNAPSHOT_REPLY__STATUS__TOO_LARGE

/* A day's cells under a prefix; $3 NULL reads them all. The prefix is digits only. */
static const char SQL_CELLS[] =
	"SELECT day - date '1970-01-01', area_code, screened, fevers, key_persons, high_risk "
	"FROM daily_aggregates WHERE day = date '1970-01-01' + $1::int AND area_code LIKE $2 || '%' "
	"LIMIT $3::int";

/* What a request asks for, once checked. */
struct ask {
	char prefix[AREA_CODE_MAX];
	int32_t day;
};

/* The cells of one reply, copied out, and the seq they stand at. */
struct answer {
	struct cell *cells;
	size_t n, cap;
	int32_t day;
	uint64_t seq;
};

/* The routing envelope's length: identity, plus the empty delimiter of REQ-style clients. */
static int
s_envelope(struct bus_msg *msg)
{
	if (msg->nframes >= 3 && bus_frame_size(msg, 1) == 0)
		return 2;
	return 1;
}

/* True when s is at most a grid code's worth of digits ("" included). */
static bool
s_digits(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return s[n] == '\0' && n < AREA_CODE_MAX;
}

/* Checks a decoded request into ask; a status other than OK, with why, refuses it. */
static int
s_check(struct reportd *r, const Gridwall__V1__SnapshotRequest *req, struct ask *ask,
        char *why, size_t len)
{
	const struct reportd_config *cfg = r->daemon->config;
	const char *prefix = req->area_prefix != NULL ? req->area_prefix : "";
	int64_t day;

	if (!s_digits(prefix)) {
		snprintf(why, len, "area_prefix must be at most 15 digits");
		return STATUS_BAD_REQUEST;
	}
	if (req->day != NULL && !civil_parse(req->day, &day)) {
		snprintf(why, len, "day must be a date YYYY-MM-DD");
		return STATUS_BAD_REQUEST;
	}
	/* a digit prefix is a prefix; one of an area code's lengths must name an area */
	if (r->areas != NULL && area_level_of_code(prefix) != AREA_INVALID &&
	    area_find(r->areas, prefix) == NULL) {
		snprintf(why, len, "no area %s", prefix);
		return STATUS_UNKNOWN_AREA;
	}
	snprintf(ask->prefix, sizeof(ask->prefix), "%s", prefix);
	ask->day = req->day != NULL ? (int32_t)day : report_day(time(NULL), cfg->day_utc_offset_min);
	return STATUS_OK;
}

/* Decodes and checks the request of msg; a status other than OK, with why, refuses it. */
static int
s_parse(struct reportd *r, struct bus_msg *msg, int envelope, struct ask *ask, char *why, size_t len)
{
	Gridwall__V1__SnapshotRequest *req;
	int status;

	if (msg->truncated || msg->nframes != envelope + 1) {
		snprintf(why, len, "expected [empty frame][SnapshotRequest], got %s%d frames",
		         msg->truncated ? "over " : "", msg->nframes);
		return STATUS_BAD_REQUEST;
	}
	req = gridwall__v1__snapshot_request__unpack(NULL, bus_frame_size(msg, envelope),
	                                             bus_frame_data(msg, envelope));
	if (req == NULL) {
		snprintf(why, len, "cannot decode SnapshotRequest (%zu bytes)", bus_frame_size(msg, envelope));
		return STATUS_BAD_REQUEST;
	}
	status = s_check(r, req, ask, why, len);
	gridwall__v1__snapshot_request__free_unpacked(req, NULL);
	return status;
}

/* Adds a copy of c to the answer; false when memory is short. */
static bool
s_answer_add(struct answer *a, const struct cell *c)
{
	if (!grow((void **)&a->cells, &a->cap, a->n + 1, sizeof(*a->cells), 256))
		return false;
	a->cells[a->n++] = *c;
	return true;
}

/* The cells of the asked day under the prefix, from `current`. */
static int
s_from_current(struct reportd *r, const struct ask *ask, struct answer *a, char *why, size_t len)
{
	size_t plen = strlen(ask->prefix);

	for (size_t i = 0; i < r->current.cap; i++) {
		const struct cell *c = &r->current.cells[i];

		if (!r->current.used[i] || c->day != ask->day || strncmp(c->code, ask->prefix, plen) != 0)
			continue;
		if (a->n == CLONE_MAX_CELLS) {
			snprintf(why, len, "more than %d areas under \"%s\": ask for narrower prefixes",
			         CLONE_MAX_CELLS, ask->prefix);
			return STATUS_TOO_LARGE;
		}
		if (!s_answer_add(a, c)) {
			snprintf(why, len, "out of memory");
			return STATUS_RETRY_LATER;
		}
	}
	return STATUS_OK;
}

/* A cell from row i of a SQL_CELLS result, standing at seq. */
static struct cell
s_row_cell(PGresult *res, int i, uint64_t seq)
{
	struct cell c = { 0 };

	c.day = (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10);
	snprintf(c.code, sizeof(c.code), "%s", PQgetvalue(res, i, 1));
	c.screened = strtoll(PQgetvalue(res, i, 2), NULL, 10);
	c.fevers = strtoll(PQgetvalue(res, i, 3), NULL, 10);
	c.key_persons = strtoll(PQgetvalue(res, i, 4), NULL, 10);
	c.high_risk = strtoll(PQgetvalue(res, i, 5), NULL, 10);
	c.seq = seq;
	return c;
}

/* Reads a day's cells under prefix, at most limit (0: all); NULL (logged) when the database cannot. */
static PGresult *
s_query_cells(struct reportd *r, int32_t day, const char *prefix, long limit)
{
	char d[16], l[24];
	const char *params[3] = { d, prefix, limit > 0 ? l : NULL };

	if (db_conn(r->daemon->db) == NULL)
		return NULL;
	snprintf(d, sizeof(d), "%d", day);
	snprintf(l, sizeof(l), "%ld", limit);
	return db_query(r->daemon->db, "read aggregates for a snapshot", PGRES_TUPLES_OK, SQL_CELLS,
	                3, params);
}

/*
 * The cells of the asked day under the prefix, from daily_aggregates: a day
 * other than the current one, or the current one before it was loaded. The
 * table may be ahead of the feed (committed, not yet published), never
 * behind, and totals only grow: still a snapshot at a.seq.
 */
static int
s_from_table(struct reportd *r, const struct ask *ask, struct answer *a, char *why, size_t len)
{
	PGresult *res = s_query_cells(r, ask->day, ask->prefix, CLONE_MAX_CELLS + 1L);
	int status = STATUS_OK;

	if (res == NULL) {
		snprintf(why, len, "database unavailable");
		return STATUS_RETRY_LATER;
	}
	if (PQntuples(res) > CLONE_MAX_CELLS) {
		snprintf(why, len, "more than %d areas under \"%s\": ask for narrower prefixes",
		         CLONE_MAX_CELLS, ask->prefix);
		status = STATUS_TOO_LARGE;
	}
	for (int i = 0; status == STATUS_OK && i < PQntuples(res); i++) {
		struct cell c = s_row_cell(res, i, a->seq);

		if (!s_answer_add(a, &c)) {
			snprintf(why, len, "out of memory");
			status = STATUS_RETRY_LATER;
		}
	}
	PQclear(res);
	return status;
}

/* qsort: cells by code. */
static int
s_by_code(const void *x, const void *y)
{
	return strcmp(((const struct cell *)x)->code, ((const struct cell *)y)->code);
}

/* Queues one frame of a reply; false when ZeroMQ would not take it. */
static bool
s_send_frame(struct reportd *r, const void *data, size_t len, bool more)
{
	int flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0);

	return zmq_send(bus_socket_zmq(r->snapshot), data, len, flags) >= 0;
}

/* Fills snaps[] from the cells [from, from + n) of the answer, whose day is day. */
static void
s_fill_chunk(struct reportd *r, struct answer *a, size_t from, size_t n, char *day,
             Gridwall__V1__AggregateSnapshot *snaps, Gridwall__V1__AggregateSnapshot **ptrs)
{
	int64_t now = time(NULL);

	for (size_t i = 0; i < n; i++) {
		struct cell *c = &a->cells[from + i];
		const struct area *area = r->areas ? area_find(r->areas, c->code) : NULL;
		Gridwall__V1__AggregateSnapshot *s = &snaps[i];

		gridwall__v1__aggregate_snapshot__init(s);
		s->area_code = c->code;
		s->day = day;
		s->area_name = area != NULL ? area->name : NULL;
		s->has_seq = s->has_screened = s->has_fevers = true;
		s->has_key_persons = s->has_high_risk = s->has_generated_at = true;
		s->seq = c->seq;
		s->screened = c->screened;
		s->fevers = c->fevers;
		s->key_persons = c->key_persons;
		s->high_risk = c->high_risk;
		s->generated_at = now;
		ptrs[i] = s;
	}
}

/*
 * Sends the reply to msg's sender: its envelope, then the answer's cells in
 * frames of CLONE_CHUNK_CELLS (one frame when there are none, or for a
 * refusal). Once the envelope is queued the message must be finished: a
 * frame that cannot be packed goes out empty, which the client finds
 * short of `total` and asks again.
 */
static void
s_reply(struct reportd *r, struct bus_msg *msg, int envelope, int status, const char *error,
        struct answer *a)
{
	Gridwall__V1__SnapshotReply reply = GRIDWALL__V1__SNAPSHOT_REPLY__INIT;
	size_t nframes = a->n > 0 ? (a->n + CLONE_CHUNK_CELLS - 1) / CLONE_CHUNK_CELLS : 1;
	Gridwall__V1__AggregateSnapshot *snaps = calloc(CLONE_CHUNK_CELLS, sizeof(*snaps));
	Gridwall__V1__AggregateSnapshot **ptrs = calloc(CLONE_CHUNK_CELLS, sizeof(*ptrs));
	char day[CIVIL_TEXT_LEN + 1];

	if (snaps == NULL || ptrs == NULL) {
		/* no answer at all: the client's Lazy Pirate asks again */
		log_error("out of memory: snapshot request dropped");
		goto out;
	}
	report_day_text(a->day, day);
	reply.has_status = reply.has_seq = reply.has_total = true;
	reply.status = status;
	reply.error = (char *)error;
	reply.seq = a->seq;
	reply.total = (uint32_t)a->n;
	reply.day = status == STATUS_OK ? day : NULL;
	for (int i = 0; i < envelope; i++) {
		if (!s_send_frame(r, bus_frame_data(msg, i), bus_frame_size(msg, i), true)) {
			r->snapshot_undelivered++;
			log_warn("snapshot reply not sent: %s", zmq_strerror(zmq_errno()));
			goto out;
		}
	}
	for (size_t k = 0; k < nframes; k++) {
		size_t from = k * CLONE_CHUNK_CELLS;
		size_t n = a->n - from < CLONE_CHUNK_CELLS ? a->n - from : CLONE_CHUNK_CELLS;
		size_t len = 0;
		uint8_t *buf;

		s_fill_chunk(r, a, from, n, day, snaps, ptrs);
		reply.snapshots = ptrs;
		reply.n_snapshots = n;
		buf = codec_pack(&reply.base, &len);
		if (buf == NULL)
			log_error("out of memory: snapshot reply frame sent empty");
		s_send_frame(r, buf != NULL ? buf : (const void *)"", buf != NULL ? len : 0, k + 1 < nframes);
		free(buf);
	}
out:
	free(snaps);
	free(ptrs);
}

/* One SnapshotRequest from the ROUTER: answered at once, from memory or the table. */
static void
s_on_request(void *arg, struct bus_socket *sock, struct bus_msg *msg)
{
	struct reportd *r = arg;
	int envelope = s_envelope(msg);
	struct answer a = { .day = r->current_day, .seq = r->seq };
	struct ask ask;
	char why[160] = "";
	int status;

	(void)sock;
	r->snapshot_requests++;
	status = s_parse(r, msg, envelope, &ask, why, sizeof(why));
	if (status == STATUS_OK) {
		a.day = ask.day;
		if (ask.day == r->current_day && r->current_loaded)
			status = s_from_current(r, &ask, &a, why, sizeof(why));
		else
			status = s_from_table(r, &ask, &a, why, sizeof(why));
	}
	if (status != STATUS_OK) {
		r->snapshot_refused++;
		a.n = 0;
		log_warn("snapshot request refused: %s", why);
		s_reply(r, msg, envelope, status, why, &a);
	} else {
		if (a.n > 1)         /* an empty answer has no array at all */
			qsort(a.cells, a.n, sizeof(*a.cells), s_by_code);
		log_debug("snapshot of \"%s\": %zu areas at seq %llu", ask.prefix, a.n,
		          (unsigned long long)a.seq);
		s_reply(r, msg, envelope, STATUS_OK, NULL, &a);
	}
	free(a.cells);
}

/* Reads the whole of day into `current` and `today`; false (logged) when the database cannot. */
static bool
s_load(struct reportd *r, int32_t day)
{
	PGresult *res = s_query_cells(r, day, "", 0);

	if (res == NULL)
		return false;
	cell_map_clear(&r->current);
	cell_map_clear(&r->today);
	for (int i = 0; i < PQntuples(res); i++) {
		struct cell c = s_row_cell(res, i, r->seq);

		cell_map_put(&r->current, &c);
		cell_map_put(&r->today, &c);
	}
	log_info("snapshots: %d areas of the day loaded at seq %llu", PQntuples(res),
	         (unsigned long long)r->seq);
	PQclear(res);
	return true;
}

/* A new local day empties `current`; a day not yet read whole is read when the database is up. */
void
clone_refresh(struct reportd *r)
{
	const struct reportd_config *cfg = r->daemon->config;
	int32_t today = report_day(time(NULL), cfg->day_utc_offset_min);

	if (r->current_day != today) {
		/* a new day (or the first): nothing of it is known until it is read */
		cell_map_clear(&r->current);
		cell_map_clear(&r->today);
		r->current_day = today;
		r->current_loaded = false;
	}
	if (!r->current_loaded && db_conn(r->daemon->db) != NULL)
		r->current_loaded = s_load(r, today);
}

/* `current` holds the current day only; other days' updates are answered from the table. */
void
clone_published(struct reportd *r, const struct cell *c)
{
	if (c->day == r->current_day)
		cell_map_put(&r->current, c);
}

/* Binds the snapshot ROUTER and starts answering requests. */
int
clone_start(struct reportd *r)
{
	const struct reportd_config *cfg = r->daemon->config;

	r->snapshot = bus_socket_new(r->daemon->bus, ZMQ_ROUTER, "snapshot", 0);
	if (r->snapshot == NULL)
		return -1;
	/* a reply that cannot be queued is an error to count, not a silent drop */
	bus_set_int(r->snapshot, ZMQ_ROUTER_MANDATORY, 1);
	bus_set_int(r->snapshot, ZMQ_SNDHWM, CLONE_SNDHWM);
	/* a request is a few bytes: a peer sending more is disconnected by ZeroMQ */
	bus_set_int64(r->snapshot, ZMQ_MAXMSGSIZE, CLONE_MAX_REQUEST);
	if (bus_bind(r->snapshot, cfg->snapshot_endpoint) != 0)
		return -1;
	return bus_socket_watch(r->snapshot, s_on_request, r);
}

/* Closes the ROUTER and forgets the day. */
void
clone_stop(struct reportd *r)
{
	bus_socket_close(&r->snapshot);
	cell_map_free(&r->current);
	cell_map_free(&r->today);
}
