/*
 * The sending half of gridctl push and gridctl import: records go to
 * ingestd in SubmitRequest batches and every input line gets one result,
 * delivered in input order. The exchange is ZeroMQ's Lazy Pirate over a
 * DEALER socket: [empty][SubmitRequest] out, [empty][SubmitReply] back;
 * with no reply in time the socket is thrown away (so a late reply cannot
 * be taken for the next one) and the same batch is sent again, which is
 * safe because ingestd answers a re-sent client_uuid "duplicate". Lines
 * answered here (not a record, too large) wait in the same window as the
 * records sent before them, so that the order holds. With a server key the
 * socket is a Curve client (lib/curve.h), set up again on every reopen.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zmq.h>

#include "codec.h"
#include "curve.h"
#include "defaults.h"
#include "gridctl.h"
#include "record_json.h"

#define SENDER_DEFAULT_BATCH          500
#define SENDER_DEFAULT_TIMEOUT_MS     5000
#define SENDER_DEFAULT_RETRIES        3
#define SENDER_DEFAULT_RETRY_AFTER_MS 1000
#define SENDER_MAX_RETRY_AFTER_MS     60000   /* a busy server cannot park us for longer */
#define SENDER_RECORD_OVERHEAD        16      /* a record's tag and length in the request */
#define SENDER_REQUEST_BYTES          (DEFAULT_MAX_MESSAGE_BYTES - 1024)
#define SENDER_TICK_MS                100     /* progress while a reply is awaited */

#define OUTCOME_ACCEPTED  GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED
#define OUTCOME_DUPLICATE GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE
#define OUTCOME_REJECTED  GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED

/* One input line waiting for its answer. */
struct sender_entry {
	long line;
	json_t *obj;                          /* holds the strings of rec */
	Gridwall__V1__ScreeningRecord rec;
	size_t bytes;                         /* packed size of rec */
	json_t *result;                       /* the output line, once known */
	int outcome;
};

struct sender {
	struct sender_opts opt;
	sender_result_fn on_result;
	sender_progress_fn on_progress;
	void *arg;
	void *zctx;
	void *sock;                  /* NULL after a timeout, until the resend */
	struct sender_entry *win;    /* lines taken and not yet delivered, in order */
	size_t n_win;
	size_t cap_win;
	size_t n_pending;            /* entries of win still to be sent */
	size_t pending_bytes;
	struct sender_stats stats;
};

/* Gives up on memory exhaustion: a command-line tool has nothing to save. */
void
gridctl_oom(const char *cmd)
{
	gridctl_err(cmd, "out of memory");
	exit(GRIDCTL_EXIT_FAIL);
}

/* The defaults of the sending options. */
void
sender_opts_init(struct sender_opts *opt, const char *cmd)
{
	memset(opt, 0, sizeof(*opt));
	opt->cmd = cmd;
	opt->endpoint = DEFAULT_INGEST_ENDPOINT;
	opt->batch = SENDER_DEFAULT_BATCH;
	opt->timeout_ms = SENDER_DEFAULT_TIMEOUT_MS;
	opt->retries = SENDER_DEFAULT_RETRIES;
}

/* Takes one of SENDER_LONGOPTS. */
int
sender_getopt(struct sender_opts *opt, int c, const char *arg)
{
	switch (c) {
	case SENDER_OPT_ENDPOINT:
		opt->endpoint = arg;
		return 1;
	case SENDER_OPT_BATCH:
		return gridctl_parse_long(arg, 1, 100000, &opt->batch);
	case SENDER_OPT_TIMEOUT:
		return gridctl_parse_long(arg, 1, 86400000, &opt->timeout_ms);
	case SENDER_OPT_RETRIES:
		return gridctl_parse_long(arg, 0, 1000, &opt->retries);
	case SENDER_OPT_SERVER_KEY:
		opt->server_key = arg;
		return *arg != '\0';
	case SENDER_OPT_KEY_FILE:
		opt->key_file = arg;
		return *arg != '\0';
	default:
		return -1;
	}
}

/* A Curve client needs both the server's key and its own. */
bool
sender_opts_check(const struct sender_opts *opt)
{
	if ((opt->server_key == NULL) != (opt->key_file == NULL)) {
		gridctl_err(opt->cmd, "--server-key and --key-file go together");
		return false;
	}
	return true;
}

/* Tells the progress display, if any, how far we are. */
static void
s_progress(struct sender *s)
{
	if (s->on_progress != NULL)
		s->on_progress(s->arg, &s->stats);
}

/* gridctl_err, after the progress display has made room for it. */
static void __attribute__((format(printf, 2, 3)))
s_warn(struct sender *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (s->on_progress != NULL)
		s->on_progress(s->arg, NULL);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gridctl_err(s->opt.cmd, "%s", msg);
}

/* {"line":N, ...res} as one output line; takes res. */
static json_t *
s_result_line(struct sender *s, long line, json_t *res)
{
	json_t *out = json_object();

	if (out == NULL || res == NULL ||
	    json_object_set_new(out, "line", json_integer(line)) != 0 ||
	    json_object_update(out, res) != 0)
		gridctl_oom(s->opt.cmd);
	json_decref(res);
	return out;
}

/* The output line of a record answered here, not by the server. */
static json_t *
s_local_result(struct sender *s, long line, const char *code, const char *field,
               const char *message, const char *client_uuid)
{
	Gridwall__V1__RecordResult res = GRIDWALL__V1__RECORD_RESULT__INIT;
	json_t *j;

	res.outcome = OUTCOME_REJECTED;
	res.code = (char *)code;
	res.field = (char *)field;
	res.message = (char *)message;
	res.client_uuid = (char *)client_uuid;
	j = record_result_to_json(&res);
	if (j == NULL)
		gridctl_oom(s->opt.cmd);
	json_object_del(j, "index");    /* it never had a place in a request */
	return s_result_line(s, line, j);
}

/* Echoes the client_uuid of a refused object when it has a usable one. */
static const char *
s_uuid_of(json_t *obj)
{
	json_t *u = json_object_get(obj, "client_uuid");

	return json_is_string(u) ? json_string_value(u) : NULL;
}

/* Delivers an entry's result and counts its outcome. */
static void
s_emit(struct sender *s, const struct sender_entry *e)
{
	if (e->outcome == OUTCOME_ACCEPTED)
		s->stats.accepted++;
	else if (e->outcome == OUTCOME_DUPLICATE)
		s->stats.duplicate++;
	else
		s->stats.rejected++;
	s->stats.answered++;
	s->on_result(s->arg, e->result);
}

/* Releases what an entry holds. */
static void
s_entry_free(struct sender_entry *e)
{
	if (e->obj != NULL)
		record_json_release(&e->rec);
	json_decref(e->obj);
	json_decref(e->result);
	e->obj = NULL;
	e->result = NULL;
}

/* Delivers the answered entries of the window in order and empties it. */
static void
s_deliver_window(struct sender *s)
{
	for (size_t i = 0; i < s->n_win; i++) {
		if (s->win[i].result != NULL)
			s_emit(s, &s->win[i]);
		s_entry_free(&s->win[i]);
	}
	s->n_win = 0;
	s->n_pending = 0;
	s->pending_bytes = 0;
	s_progress(s);
}

/* Appends an entry to the window. */
static void
s_window_add(struct sender *s, const struct sender_entry *e)
{
	struct sender_entry *grown;

	if (s->n_win == s->cap_win) {
		s->cap_win = s->cap_win ? s->cap_win * 2 : 64;
		grown = reallocarray(s->win, s->cap_win, sizeof(*grown));
		if (grown == NULL)
			gridctl_oom(s->opt.cmd);
		s->win = grown;
	}
	s->win[s->n_win++] = *e;
	if (e->result == NULL) {
		s->n_pending++;
		s->pending_bytes += e->bytes;
	}
}

/* Milliseconds of the monotonic clock. */
static int64_t
s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps for ms milliseconds, signals notwithstanding. */
static void
s_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

/* Drops the socket at once, with whatever it still queues. */
static void
s_close(struct sender *s)
{
	if (s->sock != NULL)
		zmq_close(s->sock);
	s->sock = NULL;
}

/* Makes the new socket a Curve client when a server key was given. */
static int
s_curve(struct sender *s)
{
	char err[256];

	if (s->opt.server_key == NULL)
		return 0;
	if (curve_client_setup(s->sock, s->opt.server_key, s->opt.key_file,
	                       err, sizeof(err)) == 0)
		return 0;
	s_warn(s, "%s", err);
	return -1;
}

/* A new DEALER connected to ingestd; -1 with a message on failure. */
static int
s_open(struct sender *s)
{
	int linger = 0, sndtimeo = (int)s->opt.timeout_ms;
	int64_t maxmsg = DEFAULT_MAX_MESSAGE_BYTES;

	s->sock = zmq_socket(s->zctx, ZMQ_DEALER);
	if (s->sock == NULL) {
		s_warn(s, "zmq_socket: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (s_curve(s) != 0) {
		s_close(s);
		return -1;
	}
	if (zmq_connect(s->sock, s->opt.endpoint) != 0) {
		s_warn(s, "cannot connect to %s: %s", s->opt.endpoint,
		       zmq_strerror(zmq_errno()));
		s_close(s);
		return -1;
	}
	return 0;
}

/* Decodes the frame after the empty delimiter, with the checks first. */
static Gridwall__V1__SubmitReply *
s_decode_reply(zmq_msg_t *part)
{
	size_t size = zmq_msg_size(part);
	Gridwall__V1__SubmitReply *reply;

	if (size > DEFAULT_MAX_MESSAGE_BYTES)
		return NULL;
	reply = gridwall__v1__submit_reply__unpack(NULL, size, zmq_msg_data(part));
	if (reply != NULL && reply->status > GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST) {
		gridwall__v1__submit_reply__free_unpacked(reply, NULL);
		return NULL;
	}
	return reply;
}

/* Receives one whole message [empty][SubmitReply]; NULL if malformed. */
static Gridwall__V1__SubmitReply *
s_recv_reply(struct sender *s)
{
	Gridwall__V1__SubmitReply *reply = NULL;
	zmq_msg_t part;
	int nparts = 0, more;
	bool shape = true;

	do {
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, s->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&part);
			shape = false;
			break;
		}
		nparts++;
		if (nparts == 1 && zmq_msg_size(&part) != 0)
			shape = false;
		if (nparts == 2 && shape)
			reply = s_decode_reply(&part);
		more = zmq_msg_more(&part);
		zmq_msg_close(&part);
	} while (more);
	if (shape && nparts == 2 && reply != NULL)
		return reply;
	if (reply != NULL)
		gridwall__v1__submit_reply__free_unpacked(reply, NULL);
	s_warn(s, "reply of %d frames is not [empty][SubmitReply], ignored", nparts);
	return NULL;
}

/* Sends [empty][request]. */
static int
s_send_request(struct sender *s, const uint8_t *buf, size_t len)
{
	if (zmq_send(s->sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(s->sock, buf, len, 0) < 0) {
		s_warn(s, "send: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

/*
 * One try: send, then wait up to the timeout for a reply. With a progress
 * display the wait is cut into ticks, so that the display stays alive.
 */
static Gridwall__V1__SubmitReply *
s_attempt(struct sender *s, const uint8_t *buf, size_t len)
{
	int64_t deadline = s_now_ms() + s->opt.timeout_ms, left;
	zmq_pollitem_t item = { NULL, 0, ZMQ_POLLIN, 0 };
	int rc;

	if (s->sock == NULL && s_open(s) != 0)
		return NULL;
	if (s_send_request(s, buf, len) != 0)
		return NULL;
	item.socket = s->sock;
	while ((left = deadline - s_now_ms()) > 0) {
		if (s->on_progress != NULL && left > SENDER_TICK_MS)
			left = SENDER_TICK_MS;
		rc = zmq_poll(&item, 1, (long)left);
		if (rc < 0 && zmq_errno() != EINTR) {
			s_warn(s, "poll: %s", zmq_strerror(zmq_errno()));
			return NULL;
		}
		if (rc > 0)
			return s_recv_reply(s);
		s_progress(s);
	}
	return NULL;
}

/* Lazy Pirate: tries, and on silence reopens and resends, up to --retries times. */
static Gridwall__V1__SubmitReply *
s_exchange(struct sender *s, const uint8_t *buf, size_t len)
{
	Gridwall__V1__SubmitReply *reply;

	for (long attempt = 0; attempt <= s->opt.retries; attempt++) {
		if (attempt > 0)
			s_warn(s, "no reply from %s within %ld ms, resending (retry %ld of %ld)",
			       s->opt.endpoint, s->opt.timeout_ms, attempt, s->opt.retries);
		reply = s_attempt(s, buf, len);
		if (reply != NULL)
			return reply;
		/* A fresh socket forgets the lost request and any late reply to it. */
		s_close(s);
	}
	s_warn(s, "no reply from %s after %ld attempts, giving up",
	       s->opt.endpoint, s->opt.retries + 1);
	return NULL;
}

/* Answers every record of the batch with the same rejection. */
static void
s_reject_all(struct sender *s, struct sender_entry **sent, size_t n,
             const char *code, const char *message)
{
	for (size_t i = 0; i < n; i++) {
		sent[i]->result = s_local_result(s, sent[i]->line, code, NULL, message,
		                                 sent[i]->rec.client_uuid);
		sent[i]->outcome = OUTCOME_REJECTED;
	}
}

/* Gives each sent record its result from an OK reply. */
static void
s_apply_results(struct sender *s, struct sender_entry **sent, size_t n,
                const Gridwall__V1__SubmitReply *reply)
{
	const Gridwall__V1__RecordResult *r;
	size_t ignored = 0;

	for (size_t i = 0; i < reply->n_results; i++) {
		r = reply->results[i];
		if (r->index >= n || sent[r->index]->result != NULL) {
			ignored++;
			continue;
		}
		sent[r->index]->result = s_result_line(s, sent[r->index]->line,
		                                       record_result_to_json(r));
		sent[r->index]->outcome = (int)r->outcome;
	}
	if (ignored > 0)
		s_warn(s, "%zu results with a bad or repeated index ignored", ignored);
	for (size_t i = 0; i < n; i++)
		if (sent[i]->result == NULL)
			s_reject_all(s, &sent[i], 1, "NO_RESULT",
			             "the server sent no result for this record");
}

/* How long a RETRY_LATER reply asks us to wait. */
static long
s_retry_after(const Gridwall__V1__SubmitReply *reply)
{
	long ms = reply->has_retry_after_ms ? (long)reply->retry_after_ms
	                                    : SENDER_DEFAULT_RETRY_AFTER_MS;

	return ms > SENDER_MAX_RETRY_AFTER_MS ? SENDER_MAX_RETRY_AFTER_MS : ms;
}

/* Sends one packed batch until it is answered; fills the entries' results. */
static int
s_send_packed(struct sender *s, struct sender_entry **sent, size_t n,
              const uint8_t *buf, size_t len)
{
	Gridwall__V1__SubmitReply *reply;
	long wait;

	for (;;) {
		reply = s_exchange(s, buf, len);
		if (reply == NULL)
			return -1;
		if (reply->status != GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER)
			break;
		wait = s_retry_after(reply);
		s_warn(s, "server busy (%s), resending in %ld ms",
		       reply->error ? reply->error : "retry later", wait);
		gridwall__v1__submit_reply__free_unpacked(reply, NULL);
		s_sleep_ms(wait);
	}
	if (reply->status == GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST) {
		s_warn(s, "batch of lines %ld-%ld refused: %s", sent[0]->line,
		       sent[n - 1]->line, reply->error ? reply->error : "bad request");
		s_reject_all(s, sent, n, "BAD_REQUEST", reply->error ? reply->error : "bad request");
	} else
		s_apply_results(s, sent, n, reply);
	gridwall__v1__submit_reply__free_unpacked(reply, NULL);
	return 0;
}

/* Builds the SubmitRequest of the pending entries, sends it, records the answers. */
static int
s_send_batch(struct sender *s)
{
	Gridwall__V1__SubmitRequest req = GRIDWALL__V1__SUBMIT_REQUEST__INIT;
	struct sender_entry **sent;
	size_t n = 0, len;
	uint8_t *buf;
	int rc;

	sent = calloc(s->n_pending, sizeof(*sent));
	req.records = calloc(s->n_pending, sizeof(*req.records));
	if (sent == NULL || req.records == NULL)
		gridctl_oom(s->opt.cmd);
	for (size_t i = 0; i < s->n_win; i++) {
		if (s->win[i].result != NULL)
			continue;
		sent[n] = &s->win[i];
		req.records[n++] = &s->win[i].rec;
	}
	req.n_records = n;
	buf = codec_pack(&req.base, &len);
	if (buf == NULL)
		gridctl_oom(s->opt.cmd);
	s->stats.sent += (long)n;
	s_progress(s);
	rc = s_send_packed(s, sent, n, buf, len);
	if (rc != 0)
		s_warn(s, "%zu records from line %ld on were not sent", n, sent[0]->line);
	free(buf);
	free(req.records);
	free(sent);
	return rc;
}

/* Sends what is pending and delivers the window; -1 if the server is unreachable. */
int
sender_flush(struct sender *s)
{
	int rc = 0;

	if (s->n_pending > 0)
		rc = s_send_batch(s);
	s_deliver_window(s);
	return rc;
}

/* Takes one entry: answers it now, or queues it, flushing when a batch is full. */
static int
s_take(struct sender *s, struct sender_entry *e)
{
	if (e->result == NULL && s->n_pending > 0 &&
	    s->pending_bytes + e->bytes > SENDER_REQUEST_BYTES && sender_flush(s) != 0) {
		s_entry_free(e);
		return -1;
	}
	if (e->result != NULL && s->n_win == 0) {
		s_emit(s, e);
		s_entry_free(e);
		return 0;
	}
	s_window_add(s, e);
	if (s->n_pending >= (size_t)s->opt.batch)
		return sender_flush(s);
	return 0;
}

/* Converts obj into a record to send, or into its rejection. */
int
sender_add(struct sender *s, long line, json_t *obj)
{
	struct sender_entry e;
	struct validation_error err;

	memset(&e, 0, sizeof(e));
	e.line = line;
	e.outcome = OUTCOME_REJECTED;
	e.obj = obj;
	if (!record_from_json(e.obj, &e.rec, &err)) {
		e.result = s_local_result(s, line, err.code, err.field, err.message,
		                          s_uuid_of(e.obj));
	} else {
		e.bytes = gridwall__v1__screening_record__get_packed_size(&e.rec) +
		          SENDER_RECORD_OVERHEAD;
		if (e.bytes <= SENDER_REQUEST_BYTES)
			return s_take(s, &e);
		record_json_release(&e.rec);
		e.result = s_local_result(s, line, VERR_FIELD_TOO_LONG, NULL,
		                          "record is larger than a request may be",
		                          s_uuid_of(e.obj));
	}
	json_decref(e.obj);
	e.obj = NULL;
	return s_take(s, &e);
}

/* A line answered here, in its place among the others. */
int
sender_reject(struct sender *s, long line, const char *code, const char *field,
              const char *message, const char *client_uuid)
{
	struct sender_entry e;

	memset(&e, 0, sizeof(e));
	e.line = line;
	e.outcome = OUTCOME_REJECTED;
	e.result = s_local_result(s, line, code, field, message, client_uuid);
	return s_take(s, &e);
}

/* Delivers what is answered; the records never sent get no result. */
void
sender_abandon(struct sender *s)
{
	s_deliver_window(s);
}

/* The counts so far. */
const struct sender_stats *
sender_stats(const struct sender *s)
{
	return &s->stats;
}

/* One compact JSON line, flushed so that a reader sees each batch as it is answered. */
void
sender_print_json(const char *cmd, FILE *f, const json_t *result)
{
	char *text = json_dumps(result, JSON_COMPACT);

	if (text == NULL)
		gridctl_oom(cmd);
	fprintf(f, "%s\n", text);
	free(text);
	fflush(f);
}

/* A sender with a connected socket, or NULL with the reason on stderr. */
struct sender *
sender_new(const struct sender_opts *opt, sender_result_fn on_result,
           sender_progress_fn on_progress, void *arg)
{
	struct sender *s = calloc(1, sizeof(*s));

	if (s == NULL)
		gridctl_oom(opt->cmd);
	s->opt = *opt;
	s->on_result = on_result;
	s->on_progress = on_progress;
	s->arg = arg;
	s->zctx = zmq_ctx_new();
	if (s->zctx == NULL || s_open(s) != 0) {
		sender_destroy(&s);
		return NULL;
	}
	return s;
}

/* Frees the sender and whatever it still held. */
void
sender_destroy(struct sender **sp)
{
	struct sender *s = *sp;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_win; i++)
		s_entry_free(&s->win[i]);
	s_close(s);
	if (s->zctx != NULL)
		zmq_ctx_term(s->zctx);
	free(s->win);
	free(s);
	*sp = NULL;
}
