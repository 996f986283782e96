/*
 * gridctl push: sends screening records, one JSON object a line, to
 * ingestd in SubmitRequest batches and prints the fate of every line. A line
 * that is not a record is answered here and never sent. The exchange is
 * ZeroMQ's Lazy Pirate over a DEALER socket: [empty][SubmitRequest] out,
 * [empty][SubmitReply] back; with no reply in time the socket is thrown
 * away (so a late reply cannot be taken for the next one) and the same
 * batch is sent again, which is safe because ingestd answers a re-sent
 * client_uuid "duplicate". Output keeps input order: lines wait in a window
 * until the batch they belong to is answered.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zmq.h>

#include "codec.h"
#include "defaults.h"
#include "gridctl.h"
#include "record_json.h"

#define PUSH_DEFAULT_BATCH          500
#define PUSH_DEFAULT_TIMEOUT_MS     5000
#define PUSH_DEFAULT_RETRIES        3
#define PUSH_DEFAULT_RETRY_AFTER_MS 1000
#define PUSH_MAX_RETRY_AFTER_MS     60000   /* a busy server cannot park us for longer */
#define PUSH_RECORD_OVERHEAD        16      /* a record's tag and length in the request */
#define PUSH_REQUEST_BYTES          (DEFAULT_MAX_MESSAGE_BYTES - 1024)

#define OUTCOME_ACCEPTED  GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED
#define OUTCOME_DUPLICATE GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE
#define OUTCOME_REJECTED  GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED

struct push_opts {
	const char *endpoint;
	long batch;
	long timeout_ms;
	long retries;
	const char *path;
};

/* One input line waiting for its answer. */
struct push_entry {
	long line;
	json_t *obj;                          /* holds the strings of rec */
	Gridwall__V1__ScreeningRecord rec;
	size_t bytes;                         /* packed size of rec */
	json_t *result;                       /* the output line, once known */
	int outcome;
};

struct push_ctx {
	struct push_opts opt;
	void *zctx;
	void *sock;                /* NULL after a timeout, until the resend */
	struct push_entry *win;    /* lines read and not yet printed, in order */
	size_t n_win;
	size_t cap_win;
	size_t n_pending;          /* entries of win still to be sent */
	size_t pending_bytes;
	long accepted;
	long duplicate;
	long rejected;
};

/* Gives up on memory exhaustion: a command-line tool has nothing to save. */
static void
s_oom(void)
{
	gridctl_err("push", "out of memory");
	exit(GRIDCTL_EXIT_FAIL);
}

/* Reads the options; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct push_opts *opt)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "batch", required_argument, NULL, 'b' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx = 0;
	bool ok = true;

	opterr = 0;
	optind = 1;
	while (ok && (c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		switch (c) {
		case 'e':
			opt->endpoint = optarg;
			break;
		case 'b':
			ok = gridctl_parse_long(optarg, 1, 100000, &opt->batch);
			break;
		case 't':
			ok = gridctl_parse_long(optarg, 1, 86400000, &opt->timeout_ms);
			break;
		case 'r':
			ok = gridctl_parse_long(optarg, 0, 1000, &opt->retries);
			break;
		case 'h':
			return gridctl_usage("push", stdout, GRIDCTL_EXIT_OK);
		default:
			gridctl_err("push", "unknown option or missing value: %s",
			            argv[optind - 1]);
			return gridctl_usage("push", stderr, GRIDCTL_EXIT_USAGE);
		}
	}
	if (!ok)
		gridctl_err("push", "bad value for --%s: %s", longopts[idx].name, optarg);
	else if (argc - optind != 1)
		gridctl_err("push", "expected one FILE (or - for standard input)");
	else {
		opt->path = argv[optind];
		return -1;
	}
	return gridctl_usage("push", stderr, GRIDCTL_EXIT_USAGE);
}

/* True for a line of nothing but white space (a NUL byte is not). */
static bool
s_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* {"line":N, ...res} as one output line; takes res. */
static json_t *
s_result_line(long line, json_t *res)
{
	json_t *out = json_object();

	if (out == NULL || res == NULL ||
	    json_object_set_new(out, "line", json_integer(line)) != 0 ||
	    json_object_update(out, res) != 0)
		s_oom();
	json_decref(res);
	return out;
}

/* The output line of a record answered here, not by the server. */
static json_t *
s_local_result(long line, const char *code, const char *field,
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
		s_oom();
	json_object_del(j, "index");    /* it never had a place in a request */
	return s_result_line(line, j);
}

/* Echoes the client_uuid of a refused object when it has a usable one. */
static const char *
s_uuid_of(json_t *obj)
{
	json_t *u = json_object_get(obj, "client_uuid");

	return json_is_string(u) ? json_string_value(u) : NULL;
}

/* Turns one input line into an entry: a record to send or a rejection. */
static void
s_parse_line(char *text, size_t len, long line, struct push_entry *e)
{
	struct validation_error err;
	json_error_t jerr;
	char msg[sizeof(err.message)];

	memset(e, 0, sizeof(*e));
	e->line = line;
	e->outcome = OUTCOME_REJECTED;
	e->obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (e->obj == NULL) {
		snprintf(msg, sizeof(msg), "not JSON: %s (column %d)", jerr.text, jerr.column);
		e->result = s_local_result(line, VERR_BAD_JSON, NULL, msg, NULL);
		return;
	}
	if (!record_from_json(e->obj, &e->rec, &err)) {
		e->result = s_local_result(line, err.code, err.field, err.message,
		                           s_uuid_of(e->obj));
	} else {
		e->bytes = gridwall__v1__screening_record__get_packed_size(&e->rec) +
		           PUSH_RECORD_OVERHEAD;
		if (e->bytes <= PUSH_REQUEST_BYTES)
			return;
		record_json_release(&e->rec);
		e->result = s_local_result(line, VERR_FIELD_TOO_LONG, NULL,
		                           "record is larger than a request may be",
		                           s_uuid_of(e->obj));
	}
	json_decref(e->obj);
	e->obj = NULL;
}

/* Prints an entry's output line and counts its outcome. */
static void
s_emit(struct push_ctx *ctx, const struct push_entry *e)
{
	char *text = json_dumps(e->result, JSON_COMPACT);

	if (text == NULL)
		s_oom();
	printf("%s\n", text);
	free(text);
	if (e->outcome == OUTCOME_ACCEPTED)
		ctx->accepted++;
	else if (e->outcome == OUTCOME_DUPLICATE)
		ctx->duplicate++;
	else
		ctx->rejected++;
}

/* Releases what an entry holds. */
static void
s_entry_free(struct push_entry *e)
{
	if (e->obj != NULL)
		record_json_release(&e->rec);
	json_decref(e->obj);
	json_decref(e->result);
	e->obj = NULL;
	e->result = NULL;
}

/* Prints the answered entries of the window in order and empties it. */
static void
s_print_window(struct push_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_win; i++) {
		if (ctx->win[i].result != NULL)
			s_emit(ctx, &ctx->win[i]);
		s_entry_free(&ctx->win[i]);
	}
	ctx->n_win = 0;
	ctx->n_pending = 0;
	ctx->pending_bytes = 0;
	fflush(stdout);
}

/* Appends an entry to the window. */
static void
s_window_add(struct push_ctx *ctx, const struct push_entry *e)
{
	struct push_entry *grown;

	if (ctx->n_win == ctx->cap_win) {
		ctx->cap_win = ctx->cap_win ? ctx->cap_win * 2 : 64;
		grown = reallocarray(ctx->win, ctx->cap_win, sizeof(*grown));
		if (grown == NULL)
			s_oom();
		ctx->win = grown;
	}
	ctx->win[ctx->n_win++] = *e;
	if (e->result == NULL) {
		ctx->n_pending++;
		ctx->pending_bytes += e->bytes;
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
s_close(struct push_ctx *ctx)
{
	if (ctx->sock != NULL)
		zmq_close(ctx->sock);
	ctx->sock = NULL;
}

/* A new DEALER connected to ingestd; -1 with a message on failure. */
static int
s_open(struct push_ctx *ctx)
{
	int linger = 0, sndtimeo = (int)ctx->opt.timeout_ms;
	int64_t maxmsg = DEFAULT_MAX_MESSAGE_BYTES;

	ctx->sock = zmq_socket(ctx->zctx, ZMQ_DEALER);
	if (ctx->sock == NULL) {
		gridctl_err("push", "zmq_socket: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	zmq_setsockopt(ctx->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(ctx->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	zmq_setsockopt(ctx->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (zmq_connect(ctx->sock, ctx->opt.endpoint) != 0) {
		gridctl_err("push", "cannot connect to %s: %s", ctx->opt.endpoint,
		            zmq_strerror(zmq_errno()));
		s_close(ctx);
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
s_recv_reply(void *sock)
{
	Gridwall__V1__SubmitReply *reply = NULL;
	zmq_msg_t part;
	int nparts = 0, more;
	bool shape = true;

	do {
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
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
	gridctl_err("push", "reply of %d frames is not [empty][SubmitReply], ignored", nparts);
	return NULL;
}

/* Sends [empty][request]. */
static int
s_send_request(void *sock, const uint8_t *buf, size_t len)
{
	if (zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(sock, buf, len, 0) < 0) {
		gridctl_err("push", "send: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

/* One try: send, then wait up to the timeout for a reply. */
static Gridwall__V1__SubmitReply *
s_attempt(struct push_ctx *ctx, const uint8_t *buf, size_t len)
{
	int64_t deadline = s_now_ms() + ctx->opt.timeout_ms, left;
	zmq_pollitem_t item = { NULL, 0, ZMQ_POLLIN, 0 };
	int rc;

	if (ctx->sock == NULL && s_open(ctx) != 0)
		return NULL;
	if (s_send_request(ctx->sock, buf, len) != 0)
		return NULL;
	item.socket = ctx->sock;
	while ((left = deadline - s_now_ms()) > 0) {
		rc = zmq_poll(&item, 1, (long)left);
		if (rc < 0 && zmq_errno() != EINTR) {
			gridctl_err("push", "poll: %s", zmq_strerror(zmq_errno()));
			return NULL;
		}
		if (rc > 0)
			return s_recv_reply(ctx->sock);
	}
	return NULL;
}

/* Lazy Pirate: tries, and on silence reopens and resends, up to --retries times. */
static Gridwall__V1__SubmitReply *
s_exchange(struct push_ctx *ctx, const uint8_t *buf, size_t len)
{
	Gridwall__V1__SubmitReply *reply;

	for (long attempt = 0; attempt <= ctx->opt.retries; attempt++) {
		if (attempt > 0)
			gridctl_err("push", "no reply from %s within %ld ms, "
			            "resending (retry %ld of %ld)", ctx->opt.endpoint,
			            ctx->opt.timeout_ms, attempt, ctx->opt.retries);
		reply = s_attempt(ctx, buf, len);
		if (reply != NULL)
			return reply;
		/* A fresh socket forgets the lost request and any late reply to it. */
		s_close(ctx);
	}
	gridctl_err("push", "no reply from %s after %ld attempts, giving up",
	            ctx->opt.endpoint, ctx->opt.retries + 1);
	return NULL;
}

/* Answers every record of the batch with the same rejection. */
static void
s_reject_all(struct push_entry **sent, size_t n, const char *code, const char *message)
{
	for (size_t i = 0; i < n; i++) {
		sent[i]->result = s_local_result(sent[i]->line, code, NULL, message,
		                                 sent[i]->rec.client_uuid);
		sent[i]->outcome = OUTCOME_REJECTED;
	}
}

/* Gives each sent record its result from an OK reply. */
static void
s_apply_results(struct push_entry **sent, size_t n, const Gridwall__V1__SubmitReply *reply)
{
	const Gridwall__V1__RecordResult *r;
	size_t ignored = 0;

	for (size_t i = 0; i < reply->n_results; i++) {
		r = reply->results[i];
		if (r->index >= n || sent[r->index]->result != NULL) {
			ignored++;
			continue;
		}
		sent[r->index]->result = s_result_line(sent[r->index]->line,
		                                       record_result_to_json(r));
		sent[r->index]->outcome = (int)r->outcome;
	}
	if (ignored > 0)
		gridctl_err("push", "%zu results with a bad or repeated index ignored", ignored);
	for (size_t i = 0; i < n; i++)
		if (sent[i]->result == NULL)
			s_reject_all(&sent[i], 1, "NO_RESULT",
			             "the server sent no result for this record");
}

/* How long a RETRY_LATER reply asks us to wait. */
static long
s_retry_after(const Gridwall__V1__SubmitReply *reply)
{
	long ms = reply->has_retry_after_ms ? (long)reply->retry_after_ms
	                                    : PUSH_DEFAULT_RETRY_AFTER_MS;

	return ms > PUSH_MAX_RETRY_AFTER_MS ? PUSH_MAX_RETRY_AFTER_MS : ms;
}

/* Sends one packed batch until it is answered; fills the entries' results. */
static int
s_send_packed(struct push_ctx *ctx, struct push_entry **sent, size_t n,
              const uint8_t *buf, size_t len)
{
	Gridwall__V1__SubmitReply *reply;
	long wait;

	for (;;) {
		reply = s_exchange(ctx, buf, len);
		if (reply == NULL)
			return -1;
		if (reply->status != GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER)
			break;
		wait = s_retry_after(reply);
		gridctl_err("push", "server busy (%s), resending in %ld ms",
		            reply->error ? reply->error : "retry later", wait);
		gridwall__v1__submit_reply__free_unpacked(reply, NULL);
		s_sleep_ms(wait);
	}
	if (reply->status == GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST) {
		gridctl_err("push", "batch of lines %ld-%ld refused: %s", sent[0]->line,
		            sent[n - 1]->line, reply->error ? reply->error : "bad request");
		s_reject_all(sent, n, "BAD_REQUEST", reply->error ? reply->error : "bad request");
	} else
		s_apply_results(sent, n, reply);
	gridwall__v1__submit_reply__free_unpacked(reply, NULL);
	return 0;
}

/* Builds the SubmitRequest of the pending entries, sends it, records the answers. */
static int
s_send_batch(struct push_ctx *ctx)
{
	Gridwall__V1__SubmitRequest req = GRIDWALL__V1__SUBMIT_REQUEST__INIT;
	struct push_entry **sent;
	size_t n = 0, len;
	uint8_t *buf;
	int rc;

	sent = calloc(ctx->n_pending, sizeof(*sent));
	req.records = calloc(ctx->n_pending, sizeof(*req.records));
	if (sent == NULL || req.records == NULL)
		s_oom();
	for (size_t i = 0; i < ctx->n_win; i++) {
		if (ctx->win[i].result != NULL)
			continue;
		sent[n] = &ctx->win[i];
		req.records[n++] = &ctx->win[i].rec;
	}
	req.n_records = n;
	buf = codec_pack(&req.base, &len);
	if (buf == NULL)
		s_oom();
	rc = s_send_packed(ctx, sent, n, buf, len);
	if (rc != 0)
		gridctl_err("push", "%zu records from line %ld on were not sent", n, sent[0]->line);
	free(buf);
	free(req.records);
	free(sent);
	return rc;
}

/* Sends what is pending and prints the window; -1 if the server is unreachable. */
static int
s_flush(struct push_ctx *ctx)
{
	int rc = 0;

	if (ctx->n_pending > 0)
		rc = s_send_batch(ctx);
	s_print_window(ctx);
	return rc;
}

/* Takes one parsed line: answers it now, or queues it, flushing when a batch is full. */
static int
s_take(struct push_ctx *ctx, struct push_entry *e)
{
	if (e->result == NULL && ctx->n_pending > 0 &&
	    ctx->pending_bytes + e->bytes > PUSH_REQUEST_BYTES && s_flush(ctx) != 0) {
		s_entry_free(e);
		return -1;
	}
	if (e->result != NULL && ctx->n_win == 0) {
		s_emit(ctx, e);
		s_entry_free(e);
		fflush(stdout);
		return 0;
	}
	s_window_add(ctx, e);
	if (ctx->n_pending >= (size_t)ctx->opt.batch)
		return s_flush(ctx);
	return 0;
}

/* Reads every line of in and pushes it; -1 once the server is unreachable. */
static int
s_push_stream(struct push_ctx *ctx, FILE *in)
{
	struct push_entry e;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long line_no = 0;
	int rc = 0;

	while (rc == 0 && (n = getline(&line, &cap, in)) != -1) {
		line_no++;
		if (s_blank(line, (size_t)n))
			continue;
		s_parse_line(line, (size_t)n, line_no, &e);
		rc = s_take(ctx, &e);
	}
	free(line);
	if (rc == 0 && ferror(in)) {
		gridctl_err("push", "reading %s: %s", ctx->opt.path, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		rc = s_flush(ctx);
	s_print_window(ctx);
	return rc;
}

/* gridctl push: reads FILE (or standard input), pushes it, prints the summary. */
int
gridctl_push(int argc, char **argv)
{
	struct push_ctx ctx = { 0 };
	FILE *in;
	int rc;

	ctx.opt.endpoint = DEFAULT_INGEST_ENDPOINT;
	ctx.opt.batch = PUSH_DEFAULT_BATCH;
	ctx.opt.timeout_ms = PUSH_DEFAULT_TIMEOUT_MS;
	ctx.opt.retries = PUSH_DEFAULT_RETRIES;
	if ((rc = s_parse_opts(argc, argv, &ctx.opt)) >= 0)
		return rc;
	in = strcmp(ctx.opt.path, "-") == 0 ? stdin : fopen(ctx.opt.path, "r");
	if (in == NULL) {
		gridctl_err("push", "cannot open %s: %s", ctx.opt.path, strerror(errno));
		return GRIDCTL_EXIT_FAIL;
	}
	ctx.zctx = zmq_ctx_new();
	if (ctx.zctx == NULL || s_open(&ctx) != 0) {
		rc = GRIDCTL_EXIT_USAGE;     /* a malformed endpoint */
	} else {
		rc = s_push_stream(&ctx, in) == 0 ? GRIDCTL_EXIT_OK : GRIDCTL_EXIT_FAIL;
		fprintf(stderr, "gridctl push: accepted=%ld duplicate=%ld rejected=%ld\n",
		        ctx.accepted, ctx.duplicate, ctx.rejected);
	}
	s_close(&ctx);
	if (ctx.zctx != NULL)
		zmq_ctx_term(ctx.zctx);
	free(ctx.win);
	if (in != stdin)
		fclose(in);
	return rc;
}
