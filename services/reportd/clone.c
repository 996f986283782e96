/*
 * The Clone pattern of the aggregate feed (the zguide, chapter 5). A
 * subscriber that joins late, or whose reportd restarted, subscribes to the
 * feed first, then asks this ROUTER for a snapshot of its area, and then
 * applies only the feed updates whose seq is above the snapshot's.
 *
 * The current local day is answered from `fed`: every area of the day as
 * the feed last published it (a day read whole when reportd or the day
 * starts; areas not yet published stand at zero). Any other day is
 * answered from its published day table. All of it runs on the loop,
 * between ticks, so no update can slip between the cells of a reply and
 * its seq.
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

/* What a request asks for, once checked. */
struct ask {
	char prefix[AREA_CODE_MAX];
	int32_t day;
};

/* One area of a reply. */
struct answer_cell {
	const struct area *area;
	struct figures f;
};

/* The cells of one reply, copied out, and the seq they stand at. */
struct answer {
	struct answer_cell *cells;
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

/*
 * The areas of a day table under the prefix, each with figures: today's as
 * the feed last carried them (so that they stand at a->seq), another day's
 * as published from the table. The table may be ahead of the feed
 * (committed, not yet published), never behind: still a snapshot at a->seq.
 */
static int
s_collect(const struct day_table *t, const struct figures *figures, bool fed,
          const struct ask *ask, struct answer *a, char *why, size_t len)
{
	size_t plen = strlen(ask->prefix);

	for (size_t i = 0; i < t->n; i++) {
		if (strncmp(t->areas[i]->code, ask->prefix, plen) != 0)
			continue;
		if (a->n == CLONE_MAX_CELLS) {
			snprintf(why, len, "more than %d areas under \"%s\": ask for narrower prefixes",
			         CLONE_MAX_CELLS, ask->prefix);
			return STATUS_TOO_LARGE;
		}
		if (!grow((void **)&a->cells, &a->cap, a->n + 1, sizeof(*a->cells), 256)) {
			snprintf(why, len, "out of memory");
			return STATUS_RETRY_LATER;
		}
		a->cells[a->n].area = t->areas[i];
		a->cells[a->n].f = figures[i];
		if (!fed)
			a->cells[a->n].f.seq = a->seq;
		a->n++;
	}
	return STATUS_OK;
}

/* The cells of the asked day under the prefix. */
static int
s_answer(struct reportd *r, const struct ask *ask, struct answer *a, char *why, size_t len)
{
	const struct day_table *t;

	if (ask->day == r->current_day && r->current_loaded)
		return s_collect(r->today, r->fed, true, ask, a, why, len);
	t = aggregate_day(r, ask->day);
	if (t == NULL && ask->day > r->current_day)
		return STATUS_OK;       /* a day to come: nothing yet */
	if (t == NULL) {
		snprintf(why, len, "database unavailable");
		return STATUS_RETRY_LATER;
	}
	return s_collect(t, t->pub, false, ask, a, why, len);
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
s_fill_chunk(struct answer *a, size_t from, size_t n, char *day,
             Gridwall__V1__AggregateSnapshot *snaps, Gridwall__V1__AggregateSnapshot **ptrs)
{
	int64_t now = time(NULL);

	for (size_t i = 0; i < n; i++) {
		report_snapshot(&snaps[i], a->cells[from + i].area, day, &a->cells[from + i].f, now);
		ptrs[i] = &snaps[i];
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

		s_fill_chunk(a, from, n, day, snaps, ptrs);
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
		status = s_answer(r, &ask, &a, why, sizeof(why));
	}
	if (status != STATUS_OK) {
		r->snapshot_refused++;
		a.n = 0;
		log_warn("snapshot request refused: %s", why);
		s_reply(r, msg, envelope, status, why, &a);
	} else {
		log_debug("snapshot of \"%s\": %zu areas at seq %llu", ask.prefix, a.n,
		          (unsigned long long)a.seq);
		s_reply(r, msg, envelope, STATUS_OK, NULL, &a);
	}
	free(a.cells);
}

/* Reads the whole of day into `today`; false (logged) when the database cannot. */
static bool
s_load(struct reportd *r, int32_t day)
{
	struct day_table *t;

	if (!aggregate_load(r, day, day, &t))
		return false;
	free(r->fed);
	r->fed = calloc(t->n ? t->n : 1, sizeof(*r->fed));
	if (r->fed == NULL) {
		daytab_free(&t);
		log_error("out of memory loading day %d", day);
		return false;
	}
	daytab_free(&r->today);
	r->today = t;
	log_info("aggregates: %zu areas of the day loaded at seq %llu", t->n, (unsigned long long)r->seq);
	return true;
}

void
clone_refresh(struct reportd *r)
{
	const struct reportd_config *cfg = r->daemon->config;
	int32_t today = report_day(time(NULL), cfg->day_utc_offset_min);

	if (r->current_day != today) {
		/* a new day (or the first): nothing of it is known until it is read */
		r->current_day = today;
		r->current_loaded = false;
	}
	if (!r->current_loaded && db_conn(r->daemon->db) != NULL) {
		r->current_loaded = s_load(r, today);
		/* at once: a snapshot must not find the day loaded and not yet published */
		feed_publish(r, false);
	}
}

void
clone_forget(struct reportd *r)
{
	r->current_loaded = false;
	for (int i = 0; i < DAYTAB_CACHE; i++)
		daytab_free(&r->history[i]);
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
	clone_forget(r);
	daytab_free(&r->today);
	free(r->fed);
	r->fed = NULL;
}
