/*
 * The HTTP/1.1 server every daemon's API and metrics endpoint runs on: a
 * libuv listener, one struct per connection with its own http_parser, and
 * one handler per request, which answers at once or defers its answer. A
 * connection answers one request at a time: while a response is being
 * written the parser is paused and reading stops, so pipelined requests
 * are answered in order and a client that does not read cannot make us
 * buffer without bound. While a response is deferred the parser waits too,
 * but reading goes on into the one read buffer, until it is full, so that
 * a client who leaves is noticed. A deferred token points to its
 * connection and the connection back to it; whichever goes first (the
 * answer, or the connection closing or timing out) cuts the link, so a
 * token never reaches freed memory and outlives the server. Every limit is
 * checked before the bytes are stored: header bytes (431), body bytes,
 * from Content-Length when it is given (413), syntax (400); after such an
 * answer the connection is shut down and drained briefly so the client
 * reads the answer rather than a reset. Every connection owns two handles
 * (socket and idle timer) and is freed when both close callbacks have run;
 * the server is freed when its listener and every connection are gone.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <uv.h>

#include "http.h"
#include "log.h"

#define DEFAULT_MAX_HEADER_BYTES  (16 * 1024)
#define DEFAULT_MAX_BODY_BYTES    (1024 * 1024)
#define DEFAULT_IDLE_TIMEOUT_MS   30000
#define DEFAULT_MAX_CONNECTIONS   1024
#define DEFAULT_DEFERRED_TIMEOUT_MS 30000

/* Bytes read from a socket at once. */
#define READ_CHUNK                (64 * 1024)
/* How long a closing connection is drained after an answer with close. */
#define LINGER_MS                 2000
#define LISTEN_BACKLOG            511

/* A growing byte buffer, always NUL-terminated past len once allocated. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};

/* Where in conn->hdr a header's name and value start. */
struct hdr_off {
	size_t name;
	size_t value;               /* SIZE_MAX until a value begins */
};

enum hdr_last {
	HDR_NONE,
	HDR_FIELD,
	HDR_VALUE,
};

struct http_conn {
	struct http_server *server;
	struct http_conn *prev;
	struct http_conn *next;
	uv_tcp_t tcp;
	uv_timer_t timer;
	int open_handles;           /* handles whose close_cb has yet to run */
	bool timer_inited;
	bool closing;               /* uv_close called */
	bool reading;
	bool writing;               /* a response is in flight */
	bool lingering;             /* answered with close; draining input */
	bool close_after;           /* close once the response is written */
	bool in_handler;            /* the handler is answering a request */
	bool handler_deferred;      /* the handler called http_defer */
	struct http_deferred *deferred; /* the answer awaited, or NULL */
	struct http_stream *stream;     /* the connection is a stream's, or NULL */

	http_parser parser;
	/* Input read but not yet parsed (while a response is written or deferred). */
	char *rbuf;
	size_t roff;
	size_t rlen;

	/* The request being parsed. */
	struct buf url;
	struct buf hdr;             /* name\0value\0name\0value\0... */
	struct hdr_off hoff[HTTP_MAX_HEADERS];
	int nheaders;
	enum hdr_last last;
	size_t head_bytes;          /* URL plus header names and values */
	struct buf body;
	int error_status;           /* set by a callback that refused input */
	bool keep_alive;
	bool upgrade;

	/* The response being written. */
	uv_write_t wreq;
	uv_shutdown_t sreq;
	char *out_head;
	char *out_body;
};

/* A deferred response; conn is NULL once the connection cannot take it. */
struct http_deferred {
	struct http_conn *conn;
	bool last;                  /* answer with "Connection: close" */
	bool head_only;             /* an answer to HEAD: no body bytes */
};

/*
 * A response written in pieces; conn is NULL once the client has gone. It
 * is freed when its owner has ended it and no piece is still on its way.
 */
struct http_stream {
	struct http_conn *conn;
	size_t queued;              /* bytes handed to libuv and not yet written */
	unsigned pending;           /* pieces handed to libuv and not yet done */
	bool ended;                 /* http_stream_end was called */
};

/* One piece of a stream on its way out. */
struct stream_write {
	uv_write_t req;
	struct http_stream *stream;
	size_t len;
	char data[];
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	struct http_limits limits;
	http_handler_fn handler;
	void *arg;
	int port;
	struct http_conn *conns;
	unsigned nconns;            /* including connections still closing */
	bool closing;
	bool listener_closed;
	void (*done)(void *arg);
	void *done_arg;
};

static int s_on_message_begin(http_parser *parser);
static int s_on_url(http_parser *parser, const char *at, size_t len);
static int s_on_header_field(http_parser *parser, const char *at, size_t len);
static int s_on_header_value(http_parser *parser, const char *at, size_t len);
static int s_on_headers_complete(http_parser *parser);
static int s_on_body(http_parser *parser, const char *at, size_t len);
static int s_on_message_complete(http_parser *parser);
static void s_conn_close(struct http_conn *conn);
static void s_conn_feed(struct http_conn *conn);
static void s_conn_respond(struct http_conn *conn, struct http_response *resp,
                           bool last, bool head_only);
static void s_timer_arm(struct http_conn *conn, unsigned ms);

static const http_parser_settings parser_settings = {
	.on_message_begin = s_on_message_begin,
	.on_url = s_on_url,
	.on_header_field = s_on_header_field,
	.on_header_value = s_on_header_value,
	.on_headers_complete = s_on_headers_complete,
	.on_body = s_on_body,
	.on_message_complete = s_on_message_complete,
};

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Appends n bytes to b, keeping a NUL after them; -1 when out of memory. */
static int
s_buf_append(struct buf *b, const char *data, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Makes sure b can take n more bytes without reallocating. */
static int
s_buf_reserve(struct buf *b, size_t n)
{
	char *p;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	if ((p = realloc(b->p, b->len + n + 1)) == NULL)
		return -1;
	b->p = p;
	b->cap = b->len + n + 1;
	b->p[b->len] = '\0';
	return 0;
}

/* Frees what b holds and empties it. */
static void
s_buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Forgets the request being parsed, releasing its buffers. */
static void
s_request_reset(struct http_conn *conn)
{
	s_buf_free(&conn->url);
	s_buf_free(&conn->hdr);
	s_buf_free(&conn->body);
	conn->nheaders = 0;
	conn->last = HDR_NONE;
	conn->head_bytes = 0;
	conn->error_status = 0;
	conn->keep_alive = false;
	conn->upgrade = false;
}

/* Counts n more head bytes; false (and 431) once over the limit. */
static bool
s_head_room(struct http_conn *conn, size_t n)
{
	if (n > conn->server->limits.max_header_bytes - conn->head_bytes) {
		conn->error_status = 431;
		return false;
	}
	conn->head_bytes += n;
	return true;
}

/* Ends the header name or value being collected, if any. */
static int
s_header_terminate(struct http_conn *conn)
{
	if (conn->last == HDR_NONE)
		return 0;
	conn->last = HDR_NONE;
	if (s_buf_append(&conn->hdr, "", 1) < 0) {
		conn->error_status = 500;
		return -1;
	}
	return 0;
}

/* A request starts: whatever the last one left is already gone. */
static int
s_on_message_begin(http_parser *parser)
{
	struct http_conn *conn = parser->data;

	s_request_reset(conn);
	return 0;
}

/* Collects the request target, which may come in pieces. */
static int
s_on_url(http_parser *parser, const char *at, size_t len)
{
	struct http_conn *conn = parser->data;

	if (!s_head_room(conn, len))
		return -1;
	if (s_buf_append(&conn->url, at, len) < 0) {
		conn->error_status = 500;
		return -1;
	}
	return 0;
}

/* Collects a header name; a name after a value starts a new header. */
static int
s_on_header_field(http_parser *parser, const char *at, size_t len)
{
	struct http_conn *conn = parser->data;

	if (!s_head_room(conn, len))
		return -1;
	if (conn->last != HDR_FIELD) {
		if (s_header_terminate(conn) < 0)
			return -1;
		if (conn->nheaders == HTTP_MAX_HEADERS) {
			conn->error_status = 431;
			return -1;
		}
		conn->hoff[conn->nheaders].name = conn->hdr.len;
		conn->hoff[conn->nheaders].value = SIZE_MAX;
		conn->nheaders++;
		conn->last = HDR_FIELD;
	}
	if (s_buf_append(&conn->hdr, at, len) < 0) {
		conn->error_status = 500;
		return -1;
	}
	return 0;
}

/* Whether [s, s + n) is an RFC 7230 token, as a header name must be. */
static bool
s_is_token(const char *s, size_t n)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	unsigned char c;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c != '\0' && strchr(extra, c) != NULL)))
			return false;
	}
	return true;
}

/* Collects a header value (possibly empty, possibly in pieces). */
static int
s_on_header_value(http_parser *parser, const char *at, size_t len)
{
	struct http_conn *conn = parser->data;

	if (!s_head_room(conn, len))
		return -1;
	if (conn->last != HDR_VALUE) {
		/* The name is whole now; this parser lets spaces into it. */
		if (conn->last != HDR_FIELD || conn->nheaders == 0 ||
		    !s_is_token(conn->hdr.p + conn->hoff[conn->nheaders - 1].name,
		                conn->hdr.len - conn->hoff[conn->nheaders - 1].name)) {
			conn->error_status = 400;
			return -1;
		}
		if (s_header_terminate(conn) < 0)
			return -1;
		conn->hoff[conn->nheaders - 1].value = conn->hdr.len;
		conn->last = HDR_VALUE;
	}
	if (s_buf_append(&conn->hdr, at, len) < 0) {
		conn->error_status = 500;
		return -1;
	}
	return 0;
}

/* The value of a header collected so far, or NULL. */
static const char *
s_conn_header(const struct http_conn *conn, const char *name)
{
	for (int i = 0; i < conn->nheaders; i++) {
		if (conn->hoff[i].value == SIZE_MAX)
			continue;
		if (strcasecmp(conn->hdr.p + conn->hoff[i].name, name) == 0)
			return conn->hdr.p + conn->hoff[i].value;
	}
	return NULL;
}

/* Frees a "100 Continue" write. */
static void
s_on_continue_written(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

/*
 * Refuses a body declared too large before reading it, and tells a client
 * that waits for "100 Continue" to go on.
 */
static int
s_on_headers_complete(http_parser *parser)
{
	struct http_conn *conn = parser->data;
	const char *expect;
	bool chunked = (parser->flags & F_CHUNKED) != 0;
	bool has_length = !chunked && parser->content_length != ULLONG_MAX;
	uv_write_t *req;
	uv_buf_t b;

	if (s_header_terminate(conn) < 0)
		return -1;
	if (has_length) {
		if (parser->content_length > conn->server->limits.max_body_bytes) {
			conn->error_status = 413;
			return -1;
		}
		if (s_buf_reserve(&conn->body, (size_t)parser->content_length) < 0) {
			conn->error_status = 500;
			return -1;
		}
	}
	expect = s_conn_header(conn, "Expect");
	/* (A buffer parsed by http_parse_requests has no socket to write to.) */
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    uv_is_writable((uv_stream_t *)&conn->tcp) &&
	    parser->http_major == 1 && parser->http_minor >= 1 &&
	    (chunked || (has_length && parser->content_length > 0))) {
		if ((req = malloc(sizeof(*req))) != NULL) {
			b = uv_buf_init((char *)continue_line, sizeof(continue_line) - 1);
			if (uv_write(req, (uv_stream_t *)&conn->tcp, &b, 1,
			    s_on_continue_written) < 0)
				free(req);
		}
	}
	return 0;
}

/* Collects body bytes, refusing them past the limit. */
static int
s_on_body(http_parser *parser, const char *at, size_t len)
{
	struct http_conn *conn = parser->data;

	if (len > conn->server->limits.max_body_bytes - conn->body.len) {
		conn->error_status = 413;
		return -1;
	}
	if (s_buf_append(&conn->body, at, len) < 0) {
		conn->error_status = 500;
		return -1;
	}
	return 0;
}

/* A request is whole: pause so it is answered before the next is parsed. */
static int
s_on_message_complete(http_parser *parser)
{
	struct http_conn *conn = parser->data;

	if (s_header_terminate(conn) < 0)   /* trailers of a chunked body */
		return -1;
	conn->keep_alive = http_should_keep_alive(parser) != 0;
	conn->upgrade = parser->upgrade != 0;
	http_parser_pause(parser, 1);
	return 0;
}

/* The reason phrase for a status. */
static const char *
s_reason(int status)
{
	const char *s = http_status_str((enum http_status)status);

	return (s == NULL || s[0] == '<') ? "Unknown" : s;
}

/*
 * Hands out the free end of the connection's read buffer (allocated while
 * reading only); input kept during a deferral moves to the front first.
 */
static void
s_on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *b)
{
	struct http_conn *conn = handle->data;

	(void)suggested;
	if (conn->rlen == 0)
		conn->roff = 0;
	if (conn->rbuf == NULL)
		conn->rbuf = malloc(READ_CHUNK);
	if (conn->rbuf == NULL) {
		*b = uv_buf_init(NULL, 0);
		return;
	}
	if (conn->roff > 0) {
		memmove(conn->rbuf, conn->rbuf + conn->roff, conn->rlen);
		conn->roff = 0;
	}
	*b = uv_buf_init(conn->rbuf + conn->rlen, (unsigned)(READ_CHUNK - conn->rlen));
}

static void s_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b);

/* Starts or stops reading from the socket. */
static void
s_conn_reading(struct http_conn *conn, bool on)
{
	int r;

	if (conn->closing || conn->reading == on)
		return;
	if (on) {
		r = uv_read_start((uv_stream_t *)&conn->tcp, s_on_alloc, s_on_read);
		if (r < 0) {
			log_debug("http: cannot read from a connection: %s",
			          uv_strerror(r));
			s_conn_close(conn);
			return;
		}
	} else {
		uv_read_stop((uv_stream_t *)&conn->tcp);
	}
	conn->reading = on;
}

/* Cuts the link between a connection and its deferred token, if any. */
static struct http_deferred *
s_conn_detach(struct http_conn *conn)
{
	struct http_deferred *d = conn->deferred;

	if (d != NULL) {
		d->conn = NULL;
		conn->deferred = NULL;
	}
	return d;
}

/*
 * The deferred answer took too long: answers 503 in its place, leaving the
 * token to be released by its late http_deferred_respond().
 */
static void
s_conn_expire(struct http_conn *conn)
{
	struct http_response resp = { 0 };
	struct http_deferred *d = s_conn_detach(conn);

	log_warn("http: no deferred response within %u ms; answering 503",
	         conn->server->limits.deferred_timeout_ms);
	http_respond_error(&resp, 503, "timed out");
	resp.extra_headers = "Retry-After: 1\r\n";
	/* A client that will not read the answer is idle like any other. */
	s_timer_arm(conn, conn->server->limits.idle_timeout_ms);
	s_conn_respond(conn, &resp, d->last, d->head_only);
}

/*
 * Closes a connection that has been idle or slow for too long, or answers
 * for a deferred response that has not come in time.
 */
static void
s_on_timeout(uv_timer_t *timer)
{
	struct http_conn *conn = timer->data;

	if (conn->deferred != NULL) {
		s_conn_expire(conn);
		return;
	}
	if (!conn->lingering)
		log_debug("http: closing an idle connection");
	s_conn_close(conn);
}

/* Restarts the connection's timer from now. */
static void
s_timer_arm(struct http_conn *conn, unsigned ms)
{
	if (conn->closing || !conn->timer_inited)
		return;
	uv_timer_start(&conn->timer, s_on_timeout, ms, 0);
}

/* A half-close finished; the drain or the timer ends the connection. */
static void
s_on_shutdown(uv_shutdown_t *req, int status)
{
	struct http_conn *conn = req->data;

	if (status < 0)
		s_conn_close(conn);
}

/*
 * After an answer with "Connection: close", sends FIN and discards what
 * the client still sends for a moment, so that closing does not reset the
 * connection before the client has read the answer.
 */
static void
s_conn_linger(struct http_conn *conn)
{
	unsigned ms = conn->server->limits.idle_timeout_ms;

	if (conn->closing)
		return;
	conn->lingering = true;
	conn->rlen = 0;
	conn->sreq.data = conn;
	if (uv_shutdown(&conn->sreq, (uv_stream_t *)&conn->tcp, s_on_shutdown) < 0) {
		s_conn_close(conn);
		return;
	}
	s_timer_arm(conn, ms < LINGER_MS ? ms : LINGER_MS);
	s_conn_reading(conn, true);
}

/* Frees what the finished write held; keeps reading or ends the connection. */
static void
s_on_write(uv_write_t *req, int status)
{
	struct http_conn *conn = req->data;

	free(conn->out_head);
	free(conn->out_body);
	conn->out_head = NULL;
	conn->out_body = NULL;
	conn->writing = false;
	if (conn->closing)
		return;
	if (status < 0) {
		log_debug("http: write failed: %s", uv_strerror(status));
		s_conn_close(conn);
		return;
	}
	if (conn->server->closing) {
		s_conn_close(conn);
		return;
	}
	if (conn->close_after) {
		s_conn_linger(conn);
		return;
	}
	s_timer_arm(conn, conn->server->limits.idle_timeout_ms);
	s_conn_feed(conn);
	/* A deferral begun by the feed has set reading as it needs. */
	if (!conn->closing && !conn->writing && conn->deferred == NULL) {
		if (conn->rlen == 0) {
			free(conn->rbuf);
			conn->rbuf = NULL;
		}
		s_conn_reading(conn, true);
	}
}

/*
 * Writes resp (taking its body) with the status line and headers, then
 * keeps or closes the connection. Reading stops until the write is done.
 */
static void
s_conn_respond(struct http_conn *conn, struct http_response *resp, bool last,
               bool head_only)
{
	const char *type = resp->content_type ? resp->content_type : "application/json";
	const char *extra = resp->extra_headers ? resp->extra_headers : "";
	const char *extra_end = "";
	size_t extra_len = strlen(extra);
	size_t body_len = resp->body != NULL ? resp->body_len : 0;
	int status = resp->status;
	uv_buf_t bufs[2];
	unsigned nbufs = 1;
	int r;

	if (status < 200 || status > 599) {
		log_warn("http: handler answered status %d; sending 500", status);
		http_respond_error(resp, 500, "internal error");
		status = resp->status;
		type = resp->content_type;
		body_len = resp->body != NULL ? resp->body_len : 0;
	}
	if (extra_len > 0 && (extra_len < 2 || strcmp(extra + extra_len - 2, "\r\n") != 0))
		extra_end = "\r\n";
	if (asprintf(&conn->out_head,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: %s\r\n"
	    "%s%s\r\n",
	    status, s_reason(status), type, body_len,
	    last ? "close" : "keep-alive", extra, extra_end) < 0) {
		conn->out_head = NULL;
		free(resp->body);
		log_error("http: out of memory writing a response");
		s_conn_close(conn);
		return;
	}
	conn->out_body = resp->body;
	resp->body = NULL;
	bufs[0] = uv_buf_init(conn->out_head, (unsigned)strlen(conn->out_head));
	if (body_len > 0 && !head_only) {
		bufs[1].base = conn->out_body;
		bufs[1].len = body_len;
		nbufs = 2;
	}
	conn->close_after = last;
	s_conn_reading(conn, false);
	conn->wreq.data = conn;
	r = uv_write(&conn->wreq, (uv_stream_t *)&conn->tcp, bufs, nbufs, s_on_write);
	if (r < 0) {
		log_debug("http: cannot write a response: %s", uv_strerror(r));
		free(conn->out_head);
		free(conn->out_body);
		conn->out_head = conn->out_body = NULL;
		s_conn_close(conn);
		return;
	}
	conn->writing = true;
}

/* Answers a request the server refused itself, then closes. */
static void
s_conn_fail(struct http_conn *conn, int status)
{
	struct http_response resp = { 0 };
	const char *msg;

	switch (status) {
	case 413:
		msg = "request body too large";
		break;
	case 431:
		msg = "request header fields too large";
		break;
	case 500:
		msg = "internal error";
		break;
	default:
		status = 400;
		msg = "bad request";
		break;
	}
	log_debug("http: refusing a request: %d %s", status, msg);
	s_request_reset(conn);
	conn->rlen = 0;
	http_respond_error(&resp, status, msg);
	s_conn_respond(conn, &resp, true, false);
}

/* Whether the request just parsed is a HEAD, answered without a body. */
static bool
s_request_head_only(const struct http_conn *conn)
{
	return conn->parser.method == HTTP_HEAD;
}

/* Whether the request just parsed is the connection's last. */
static bool
s_request_last(const struct http_conn *conn)
{
	return !conn->keep_alive || conn->upgrade;
}

/*
 * The handler deferred its answer: waits for it, reading on (to notice a
 * client who leaves) while the read buffer has room.
 */
static void
s_conn_await(struct http_conn *conn)
{
	if (conn->deferred == NULL)         /* answered inside the handler */
		return;
	if (conn->server->closing) {        /* the handler closed the server */
		s_conn_close(conn);
		return;
	}
	s_timer_arm(conn, conn->server->limits.deferred_timeout_ms);
	s_conn_reading(conn, conn->rlen < READ_CHUNK);
}

/*
 * Fills req with the request just parsed, pointing into the connection's
 * buffers; the URL is cut in place at '#' and '?'.
 */
static void
s_request_fill(struct http_conn *conn, struct http_request *req)
{
	char *url, *p;

	memset(req, 0, sizeof(*req));
	req->method = http_method_str((enum http_method)conn->parser.method);
	url = conn->url.p != NULL ? conn->url.p : (char *)"";
	if (conn->url.p != NULL) {
		if ((p = strchr(url, '#')) != NULL)
			*p = '\0';
		if ((p = strchr(url, '?')) != NULL)
			*p++ = '\0';
	} else {
		p = NULL;
	}
	req->path = url;
	req->query = p != NULL ? p : "";
	req->body = conn->body.p != NULL ? conn->body.p : "";
	req->body_len = conn->body.len;
	for (int i = 0; i < conn->nheaders; i++) {
		req->headers[i].name = conn->hdr.p + conn->hoff[i].name;
		req->headers[i].value = conn->hoff[i].value != SIZE_MAX ?
		    conn->hdr.p + conn->hoff[i].value : "";
	}
	req->nheaders = conn->nheaders;
	req->conn = conn;
}

/* Hands a complete request to the handler and writes its response. */
static void
s_conn_dispatch(struct http_conn *conn)
{
	struct http_server *server = conn->server;
	struct http_request req;
	struct http_response resp = { .status = 200 };
	bool head_only;
	bool last;

	s_request_fill(conn, &req);
	head_only = s_request_head_only(conn);
	last = s_request_last(conn);

	conn->in_handler = true;
	server->handler(server->arg, &req, &resp);
	conn->in_handler = false;

	s_request_reset(conn);
	if (conn->stream != NULL) {         /* the stream has written its own head */
		free(resp.body);
		return;
	}
	if (conn->handler_deferred) {       /* resp is not the answer */
		conn->handler_deferred = false;
		free(resp.body);
		if (!conn->closing)
			s_conn_await(conn);
		return;
	}
	if (conn->closing) {
		free(resp.body);
		return;
	}
	s_conn_respond(conn, &resp, last || server->closing, head_only);
}

/* The status a parser error is answered with: what a callback set, else 431 or 400. */
static int
s_error_status(const struct http_conn *conn, enum http_errno err)
{
	int status = conn->error_status;

	if (status == 0)
		status = err == HPE_HEADER_OVERFLOW ? 431 : 400;
	if (status == 400)
		log_debug("http: malformed request: %s", http_errno_description(err));
	return status;
}

/*
 * Parses buffered input until it runs out or a response is in flight;
 * answers each complete request, and refuses bad input.
 */
static void
s_conn_feed(struct http_conn *conn)
{
	enum http_errno err;
	size_t n;

	while (!conn->closing && !conn->writing && !conn->lingering &&
	    conn->deferred == NULL && conn->rlen > 0) {
		n = http_parser_execute(&conn->parser, &parser_settings,
		                        conn->rbuf + conn->roff, conn->rlen);
		if (n > conn->rlen)
			n = conn->rlen;
		conn->roff += n;
		conn->rlen -= n;
		err = HTTP_PARSER_ERRNO(&conn->parser);
		if (err == HPE_PAUSED) {
			http_parser_pause(&conn->parser, 0);
			s_conn_dispatch(conn);
			continue;
		}
		if (err != HPE_OK) {
			s_conn_fail(conn, s_error_status(conn, err));
			return;
		}
		if (n == 0) {       /* cannot happen without an error; be safe */
			s_conn_fail(conn, 400);
			return;
		}
	}
}

/* Takes in what the client sent, or ends the connection on EOF or error. */
static void
s_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
	struct http_conn *conn = stream->data;

	(void)b;
	if (nread < 0) {
		if (nread != UV_EOF && !conn->lingering)
			log_debug("http: read failed: %s", uv_strerror((int)nread));
		s_conn_close(conn);
		return;
	}
	if (nread > 0 && conn->stream != NULL) {
		conn->rlen = 0;             /* a stream's client has nothing more to ask */
		return;
	}
	if (nread > 0 && !conn->lingering) {
		conn->rlen += (size_t)nread;        /* s_on_alloc put it at the end */
		if (conn->deferred != NULL) {
			/* Parsed once the answer is out; the buffer bounds it. */
			if (conn->rlen == READ_CHUNK)
				s_conn_reading(conn, false);
			return;
		}
		s_timer_arm(conn, conn->server->limits.idle_timeout_ms);
		s_conn_feed(conn);
	}
	if (conn->rlen == 0) {
		free(conn->rbuf);
		conn->rbuf = NULL;
	}
}

/* Frees the server once its listener and every connection have closed. */
static void
s_server_maybe_free(struct http_server *server)
{
	void (*done)(void *);
	void *arg;

	if (!server->closing || !server->listener_closed || server->conns != NULL)
		return;
	done = server->done;
	arg = server->done_arg;
	free(server);
	if (done != NULL)
		done(arg);
}

/* One of a connection's handles closed; the last one frees it. */
static void
s_on_conn_closed(uv_handle_t *handle)
{
	struct http_conn *conn = handle->data;
	struct http_server *server = conn->server;

	if (--conn->open_handles > 0)
		return;
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		server->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	server->nconns--;
	s_request_reset(conn);
	free(conn->rbuf);
	free(conn->out_head);
	free(conn->out_body);
	free(conn);
	s_server_maybe_free(server);
}

/*
 * Starts closing a connection's handles; safe to call more than once. A
 * deferred token loses its connection now, while the memory is still there.
 */
static void
s_conn_close(struct http_conn *conn)
{
	if (conn->closing)
		return;
	s_conn_detach(conn);
	if (conn->stream != NULL) {
		conn->stream->conn = NULL;
		conn->stream = NULL;
	}
	conn->closing = true;
	conn->reading = false;
	uv_close((uv_handle_t *)&conn->tcp, s_on_conn_closed);
	if (conn->timer_inited)
		uv_close((uv_handle_t *)&conn->timer, s_on_conn_closed);
}

/* Accepts a connection, or closes it at once when over the limit. */
static void
s_on_connection(uv_stream_t *listener, int status)
{
	struct http_server *server = listener->data;
	struct http_conn *conn;
	int r;

	if (status < 0) {
		log_warn("http: accept failed: %s", uv_strerror(status));
		return;
	}
	if (server->closing)
		return;
	if ((conn = calloc(1, sizeof(*conn))) == NULL) {
		log_error("http: out of memory accepting a connection");
		return;
	}
	conn->server = server;
	if ((r = uv_tcp_init(server->loop, &conn->tcp)) < 0) {
		log_error("http: cannot make a connection handle: %s", uv_strerror(r));
		free(conn);
		return;
	}
	conn->tcp.data = conn;
	conn->open_handles = 1;
	conn->next = server->conns;
	if (server->conns != NULL)
		server->conns->prev = conn;
	server->conns = conn;
	server->nconns++;

	if ((r = uv_accept(listener, (uv_stream_t *)&conn->tcp)) < 0) {
		log_warn("http: accept failed: %s", uv_strerror(r));
		s_conn_close(conn);
		return;
	}
	if (server->nconns > server->limits.max_connections) {
		log_warn("http: %u connections open; refusing another",
		         server->limits.max_connections);
		s_conn_close(conn);
		return;
	}
	if ((r = uv_timer_init(server->loop, &conn->timer)) < 0) {
		log_error("http: cannot make a timer: %s", uv_strerror(r));
		s_conn_close(conn);
		return;
	}
	conn->timer.data = conn;
	conn->timer_inited = true;
	conn->open_handles = 2;
	uv_tcp_nodelay(&conn->tcp, 1);
	http_parser_init(&conn->parser, HTTP_REQUEST);
	conn->parser.data = conn;
	s_timer_arm(conn, server->limits.idle_timeout_ms);
	s_conn_reading(conn, true);
}

/* The listener closed; the server may be freed now. */
static void
s_on_listener_closed(uv_handle_t *handle)
{
	struct http_server *server = handle->data;

	server->listener_closed = true;
	s_server_maybe_free(server);
}

/* Fills in the defaults for absent or zero limits. */
static void
s_limits(struct http_limits *out, const struct http_limits *in)
{
	out->max_header_bytes = in && in->max_header_bytes ?
	    in->max_header_bytes : DEFAULT_MAX_HEADER_BYTES;
	out->max_body_bytes = in && in->max_body_bytes ?
	    in->max_body_bytes : DEFAULT_MAX_BODY_BYTES;
	out->idle_timeout_ms = in && in->idle_timeout_ms ?
	    in->idle_timeout_ms : DEFAULT_IDLE_TIMEOUT_MS;
	out->max_connections = in && in->max_connections ?
	    in->max_connections : DEFAULT_MAX_CONNECTIONS;
	out->deferred_timeout_ms = in && in->deferred_timeout_ms ?
	    in->deferred_timeout_ms : DEFAULT_DEFERRED_TIMEOUT_MS;
	/* The body is copied NUL-terminated and its length reported as size_t. */
	if (out->max_body_bytes > SIZE_MAX / 2)
		out->max_body_bytes = SIZE_MAX / 2;
}

/* Binds and listens; the server is answered through the loop from now on. */
struct http_server *
http_server_new(uv_loop_t *loop, const char *host, int port,
                const struct http_limits *limits,
                http_handler_fn handler, void *arg)
{
	struct http_server *server;
	struct sockaddr_storage ss;
	int namelen = sizeof(ss);
	int r;

	if (loop == NULL || host == NULL || handler == NULL) {
		log_error("http: server needs a loop, a host and a handler");
		return NULL;
	}
	if (port < 0 || port > 65535) {
		log_error("http: port %d out of range", port);
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
		log_error("http: cannot listen on \"%s\": not an IP address", host);
		return NULL;
	}
	if ((server = calloc(1, sizeof(*server))) == NULL) {
		log_error("http: out of memory");
		return NULL;
	}
	server->loop = loop;
	server->handler = handler;
	server->arg = arg;
	s_limits(&server->limits, limits);
	if ((r = uv_tcp_init(loop, &server->listener)) < 0) {
		log_error("http: cannot make a listener: %s", uv_strerror(r));
		free(server);
		return NULL;
	}
	server->listener.data = server;
	if ((r = uv_tcp_bind(&server->listener, (const struct sockaddr *)&ss, 0)) < 0 ||
	    (r = uv_listen((uv_stream_t *)&server->listener, LISTEN_BACKLOG,
	                   s_on_connection)) < 0 ||
	    (r = uv_tcp_getsockname(&server->listener, (struct sockaddr *)&ss,
	                            &namelen)) < 0) {
		log_error("http: cannot listen on %s port %d: %s", host, port,
		          uv_strerror(r));
		/* The handle is freed with the server once the loop closes it. */
		server->closing = true;
		uv_close((uv_handle_t *)&server->listener, s_on_listener_closed);
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		server->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		server->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	log_info("http: listening on %s port %d", host, server->port);
	return server;
}

/* The port bound, -1 for no server. */
int
http_server_port(const struct http_server *server)
{
	return server != NULL ? server->port : -1;
}

/* Begins an orderly close; done runs when the last handle has closed. */
void
http_server_close(struct http_server *server, void (*done)(void *arg), void *arg)
{
	struct http_conn *conn;

	if (server == NULL || server->closing)
		return;
	server->closing = true;
	server->done = done;
	server->done_arg = arg;
	uv_close((uv_handle_t *)&server->listener, s_on_listener_closed);
	/* A handler closing the server still gets its answer written. */
	for (conn = server->conns; conn != NULL; conn = conn->next)
		if (!conn->in_handler)
			s_conn_close(conn);
}

/* Takes over the answer to the request being handled. */
struct http_deferred *
http_defer(const struct http_request *req)
{
	struct http_conn *conn;
	struct http_deferred *d;

	if (req == NULL || (conn = req->conn) == NULL || !conn->in_handler ||
	    conn->handler_deferred || conn->closing || conn->server->closing)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_error("http: out of memory deferring a response");
		return NULL;
	}
	d->conn = conn;
	d->last = s_request_last(conn);
	d->head_only = s_request_head_only(conn);
	conn->deferred = d;
	conn->handler_deferred = true;
	return d;
}

/* Sends a deferred answer if its client still waits; frees the token. */
void
http_deferred_respond(struct http_deferred *d, struct http_response *resp)
{
	struct http_response fallback = { 0 };
	struct http_conn *conn;

	if (d == NULL || (conn = d->conn) == NULL) {
		if (resp != NULL) {
			free(resp->body);
			resp->body = NULL;
		}
		free(d);
		return;
	}
	s_conn_detach(conn);
	if (resp == NULL) {
		http_respond_error(&fallback, 500, "internal error");
		resp = &fallback;
	}
	/* The wait is over; writing the answer is bounded as for any other. */
	s_timer_arm(conn, conn->server->limits.idle_timeout_ms);
	s_conn_respond(conn, resp, d->last || conn->server->closing, d->head_only);
	free(d);
}

/* Whether a deferred answer still has a connection to go to. */
bool
http_deferred_alive(const struct http_deferred *d)
{
	return d != NULL && d->conn != NULL;
}

/*
 * A connection without a socket or a loop: the same parser, callbacks and
 * limits, fed from a buffer, each request handed over as s_conn_dispatch
 * would, its answer dropped.
 */
int
http_parse_requests(const char *data, size_t len, size_t piece,
                    const struct http_limits *limits, http_handler_fn handler, void *arg)
{
	struct http_server server;
	struct http_conn *conn;
	struct http_request req;
	struct http_response resp;
	enum http_errno err;
	size_t n, chunk;
	int status = 0;

	memset(&server, 0, sizeof(server));
	s_limits(&server.limits, limits);
	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		return 500;
	conn->server = &server;
	http_parser_init(&conn->parser, HTTP_REQUEST);
	conn->parser.data = conn;
	while (len > 0) {
		chunk = piece > 0 && piece < len ? piece : len;
		n = http_parser_execute(&conn->parser, &parser_settings, data, chunk);
		if (n > chunk)
			n = chunk;
		data += n;
		len -= n;
		err = HTTP_PARSER_ERRNO(&conn->parser);
		if (err == HPE_PAUSED) {
			http_parser_pause(&conn->parser, 0);
			s_request_fill(conn, &req);
			req.conn = NULL;        /* nothing to defer or stream on */
			memset(&resp, 0, sizeof(resp));
			resp.status = 200;
			handler(arg, &req, &resp);
			free(resp.body);
			s_request_reset(conn);
			continue;
		}
		if (err != HPE_OK) {
			status = s_error_status(conn, err);
			break;
		}
		if (n == 0) {
			status = 400;
			break;
		}
	}
	s_request_reset(conn);
	free(conn);
	return status;
}

/* Looks a header up by name, ignoring case. */
const char *
http_header(const struct http_request *req, const char *name)
{
	if (req == NULL || name == NULL)
		return NULL;
	for (int i = 0; i < req->nheaders && i < HTTP_MAX_HEADERS; i++)
		if (req->headers[i].name != NULL &&
		    strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* The value of a hex digit, or -1. */
static int
s_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes one byte of a query component at *p (before end) and advances;
 * a '%' not followed by two hex digits stands for itself.
 */
static char
s_decode_next(const char **p, const char *end)
{
	const char *s = *p;
	int hi, lo;

	if (*s == '+') {
		*p = s + 1;
		return ' ';
	}
	if (*s == '%' && end - s >= 3 && (hi = s_hex(s[1])) >= 0 &&
	    (lo = s_hex(s[2])) >= 0) {
		*p = s + 3;
		return (char)(hi << 4 | lo);
	}
	*p = s + 1;
	return *s;
}

/* Whether the encoded component [s, end) decodes to key. */
static bool
s_key_equals(const char *s, const char *end, const char *key)
{
	while (s < end) {
		if (*key == '\0' || s_decode_next(&s, end) != *key)
			return false;
		key++;
	}
	return *key == '\0';
}

/* Finds key in a query string and decodes its value into buf. */
int
http_query_param(const char *query, const char *key, char *buf, size_t len)
{
	const char *p, *end, *eq, *v;
	size_t n;

	if (query == NULL || key == NULL || buf == NULL || len == 0)
		return -1;
	for (p = query; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = p + strcspn(p, "&");
		if (end == p)
			continue;
		eq = memchr(p, '=', (size_t)(end - p));
		if (!s_key_equals(p, eq != NULL ? eq : end, key))
			continue;
		v = eq != NULL ? eq + 1 : end;
		for (n = 0; v < end; n++) {
			if (n + 1 >= len || n >= INT_MAX)
				return -1;
			buf[n] = s_decode_next(&v, end);
		}
		buf[n] = '\0';
		return (int)n;
	}
	return -1;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), or 0. */
static size_t
s_utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * message as a JSON string body, quotes excluded: escapes what JSON
 * requires and replaces bytes that are not UTF-8 with U+FFFD.
 */
static char *
s_json_escape(const char *message, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)message;
	size_t n = strlen(message), o = 0, k;
	char *out;

	if (n > (SIZE_MAX - 1) / 6 || (out = malloc(n * 6 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i += k) {
		k = s_utf8_len(s + i, n - i);
		if (k == 0) {
			memcpy(out + o, "\\ufffd", 6);
			o += 6;
			k = 1;
		} else if (k > 1) {
			memcpy(out + o, s + i, k);
			o += k;
		} else if (s[i] == '"' || s[i] == '\\') {
			out[o++] = '\\';
			out[o++] = (char)s[i];
		} else if (s[i] == '\n') {
			memcpy(out + o, "\\n", 2);
			o += 2;
		} else if (s[i] == '\r') {
			memcpy(out + o, "\\r", 2);
			o += 2;
		} else if (s[i] == '\t') {
			memcpy(out + o, "\\t", 2);
			o += 2;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			o += (size_t)sprintf(out + o, "\\u%04x", s[i]);
		} else {
			out[o++] = (char)s[i];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Replaces resp with a JSON error body and status. */
void
http_respond_error(struct http_response *resp, int status, const char *message)
{
	static const char pre[] = "{\"error\":\"", post[] = "\"}";
	char *esc, *body = NULL;
	size_t esclen = 0;

	if (resp == NULL)
		return;
	free(resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = NULL;
	resp->body_len = 0;
	if ((esc = s_json_escape(message != NULL ? message : "", &esclen)) == NULL ||
	    (body = malloc(sizeof(pre) - 1 + esclen + sizeof(post))) == NULL) {
		free(esc);
		log_error("http: out of memory writing an error body");
		return;
	}
	memcpy(body, pre, sizeof(pre) - 1);
	memcpy(body + sizeof(pre) - 1, esc, esclen);
	memcpy(body + sizeof(pre) - 1 + esclen, post, sizeof(post));
	free(esc);
	resp->body = body;
	resp->body_len = sizeof(pre) - 1 + esclen + sizeof(post) - 1;
}

void
http_respond_db_down(struct http_response *resp)
{
	http_respond_error(resp, 503, "database unavailable");
	resp->extra_headers = "Retry-After: 2\r\n";
}

bool
http_split_listen(const char *listen, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	long p;

	if (colon == NULL || (size_t)(colon - listen) >= hostlen)
		return false;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535)
		return false;
	*port = (int)p;
	return true;
}

void
http_respond_body(struct http_response *resp, int status, const char *content_type,
                  char *body, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = content_type;
	resp->body = body;
	resp->body_len = len;
}

void
http_respond_json(struct http_response *resp, int status, json_t *doc)
{
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	if (body == NULL) {
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	http_respond_body(resp, status, "application/json", body, strlen(body));
}

/* ---- streams ---- */

/* A piece was written (or dropped with its connection): frees it. */
static void
s_on_stream_write(uv_write_t *req, int status)
{
	struct stream_write *w = (struct stream_write *)req;
	struct http_stream *s = w->stream;

	s->queued -= w->len;
	s->pending--;
	if (status < 0 && s->conn != NULL)
		s_conn_close(s->conn);
	free(w);
	if (s->ended && s->pending == 0)
		free(s);
}

/* Queues bytes on the stream's connection; false if it is gone or too far behind. */
static bool
s_stream_queue(struct http_stream *s, const char *data, size_t len)
{
	struct stream_write *w;
	uv_buf_t buf;

	if (s->conn == NULL || s->conn->closing)
		return false;
	if (s->queued + len > HTTP_STREAM_MAX_QUEUED) {
		log_warn("http: a stream's client reads too slowly; closing it");
		s_conn_close(s->conn);
		return false;
	}
	if ((w = malloc(sizeof(*w) + len)) == NULL)
		return false;
	w->stream = s;
	w->len = len;
	memcpy(w->data, data, len);
	buf = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&s->conn->tcp, &buf, 1, s_on_stream_write) < 0) {
		free(w);
		s_conn_close(s->conn);
		return false;
	}
	s->queued += len;
	s->pending++;
	return true;
}

struct http_stream *
http_stream_begin(const struct http_request *req, const char *content_type)
{
	struct http_conn *conn = req->conn;
	struct http_stream *s;
	char head[256];
	int n;

	if (conn == NULL || !conn->in_handler || conn->handler_deferred || conn->stream != NULL ||
	    conn->closing || conn->server->closing || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	n = snprintf(head, sizeof(head),
	             "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n"
	             "Connection: close\r\nX-Accel-Buffering: no\r\n\r\n", content_type);
	s->conn = conn;
	conn->stream = s;
	if (n < 0 || (size_t)n >= sizeof(head) || !s_stream_queue(s, head, (size_t)n)) {
		http_stream_end(s);
		return NULL;
	}
	/* The client may stay silent for hours: the stream's owner sends heartbeats. */
	uv_timer_stop(&conn->timer);
	s_conn_reading(conn, true);
	return s;
}

bool
http_stream_write(struct http_stream *s, const char *data, size_t len)
{
	return s_stream_queue(s, data, len);
}

bool
http_stream_alive(const struct http_stream *s)
{
	return s->conn != NULL && !s->conn->closing;
}

void
http_stream_end(struct http_stream *s)
{
	if (s == NULL)
		return;
	s->ended = true;
	if (s->conn != NULL) {
		s->conn->stream = NULL;
		s_conn_close(s->conn);
		s->conn = NULL;
	}
	if (s->pending == 0)
		free(s);
}
