/*
 * Tests for lib/http.c: a real server on 127.0.0.1 port 0, its libuv loop
 * running in a second thread, talked to over blocking sockets with receive
 * timeouts (a bug fails a test instead of hanging it). The loop thread is
 * stopped through a uv_async_t that closes the server; every test ends by
 * checking that the done callback ran and uv_loop_close() returns 0, i.e.
 * no handle was left behind. The pure helpers (query parameters, header
 * lookup, error bodies) are tested directly. Deferred responses are given
 * from uv timers, as a group commit would, or on demand from the test
 * thread through a second uv_async_t that acts on the loop thread.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <uv.h>

#include "http.h"
#include "log.h"

#define HELD_SLOTS 4

/* What the test thread asks the loop thread to do with a held token. */
enum act {
	ACT_PROBE,                  /* only see whether it is alive */
	ACT_RESPOND,                /* answer it with 200 "late" */
};

/* One running server and what its handler saw. */
struct fx {
	uv_loop_t loop;
	uv_async_t stop;
	uv_async_t act;
	pthread_t thread;
	struct http_server *server;
	int port;
	bool stopped;
	bool closing;               /* http_server_close called (loop thread) */
	bool done_called;           /* read after the thread is joined */

	pthread_mutex_t mu;         /* guards what follows */
	int calls;
	char method[16];
	char path[256];
	char query[256];
	char *body;
	size_t body_len;
	bool body_terminated;
	char x_test[256];
	int nheaders;
	/* Deferred responses. */
	pthread_cond_t acted;
	struct http_deferred *held[HELD_SLOTS];
	enum act act_kind;
	int act_slot;
	int acts;                   /* acts done */
	bool act_alive;             /* the token was alive when acted on */
	int later_fired;            /* timers that answered */
	int later_dead;             /* ...whose token was no longer alive */
	int later_after_done;       /* ...after the server was freed */
	bool second_defer_null;     /* http_defer twice: the second failed */
};

/* A deferred answer given when a timer fires, as a group commit would. */
struct later {
	uv_timer_t timer;           /* first: the handle's address is ours */
	struct fx *fx;
	struct http_deferred *d;
	char v[64];
};

/* A blocking client connection with bytes read but not yet consumed. */
struct client {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
};

/* One response as the client read it. */
struct response {
	int status;
	char head[8192];
	char *body;
	size_t body_len;
};

/* Copies s into a fixed buffer, truncating. */
static void
s_copy(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s != NULL ? s : "(null)");
}

/* A copy of n bytes. */
static char *
s_memdup(const void *p, size_t n)
{
	char *d = malloc(n + 1);

	assert_non_null(d);
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

/* The server closed; the loop can end now. */
static void
s_on_done(void *arg)
{
	struct fx *fx = arg;

	fx->done_called = true;
}

/* Frees a handle that is the first member of its allocation. */
static void
s_free_handle(uv_handle_t *handle)
{
	free(handle);
}

/* The timer of a deferred answer fired: answers, then goes. */
static void
s_on_later(uv_timer_t *timer)
{
	struct later *l = timer->data;
	struct fx *fx = l->fx;
	struct http_response resp = {
		.status = 202,
		.content_type = "text/plain",
		.extra_headers = "X-Deferred: yes\r\n",
	};

	pthread_mutex_lock(&fx->mu);
	fx->later_fired++;
	if (!http_deferred_alive(l->d))
		fx->later_dead++;
	if (fx->done_called)
		fx->later_after_done++;
	pthread_mutex_unlock(&fx->mu);
	if (asprintf(&resp.body, "later:%s", l->v) < 0)
		resp.body = NULL;
	resp.body_len = resp.body ? strlen(resp.body) : 0;
	http_deferred_respond(l->d, &resp);
	uv_close((uv_handle_t *)timer, s_free_handle);
}

/* /defer?ms=N&v=X: answers "later:X" from a timer N ms from now. */
static void
s_defer_later(struct fx *fx, const struct http_request *req,
              struct http_response *resp)
{
	struct later *l = calloc(1, sizeof(*l));
	char ms[16];

	if (l == NULL || (l->d = http_defer(req)) == NULL) {
		free(l);
		http_respond_error(resp, 500, "cannot defer");
		return;
	}
	l->fx = fx;
	if (http_query_param(req->query, "v", l->v, sizeof(l->v)) < 0)
		s_copy(l->v, sizeof(l->v), "-");
	if (http_query_param(req->query, "ms", ms, sizeof(ms)) < 0)
		s_copy(ms, sizeof(ms), "0");
	uv_timer_init(&fx->loop, &l->timer);
	l->timer.data = l;
	uv_timer_start(&l->timer, s_on_later, strtoul(ms, NULL, 10), 0);
	/* Ignored now that the answer is deferred, but freed. */
	resp->status = 299;
	resp->body = strdup("not this");
	resp->body_len = 8;
}

/* /defer-now: defers, then answers at once from inside the handler. */
static void
s_defer_now(struct fx *fx, const struct http_request *req,
            struct http_response *resp)
{
	struct http_deferred *d = http_defer(req);
	struct http_response now = { .status = 200 };
	bool again_null = http_defer(req) == NULL;

	pthread_mutex_lock(&fx->mu);
	fx->second_defer_null = again_null;
	pthread_mutex_unlock(&fx->mu);
	now.body = strdup("now");
	now.body_len = 3;
	http_deferred_respond(d, &now);
	resp->body = strdup("not this");
	resp->body_len = 8;
}

/* /hold?slot=N: defers and keeps the token for the test thread. */
static void
s_defer_hold(struct fx *fx, const struct http_request *req,
             struct http_response *resp)
{
	char slot[8];
	int i;

	if (http_query_param(req->query, "slot", slot, sizeof(slot)) < 0 ||
	    (i = atoi(slot)) < 0 || i >= HELD_SLOTS) {
		http_respond_error(resp, 400, "bad slot");
		return;
	}
	pthread_mutex_lock(&fx->mu);
	if (fx->held[i] == NULL)
		fx->held[i] = http_defer(req);
	pthread_mutex_unlock(&fx->mu);
	resp->body = strdup("not this");
	resp->body_len = 8;
}

/* The routes the tests talk to; records what each request carried. */
static void
s_handler(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct fx *fx = arg;
	char a[128], b[128];

	pthread_mutex_lock(&fx->mu);
	fx->calls++;
	s_copy(fx->method, sizeof(fx->method), req->method);
	s_copy(fx->path, sizeof(fx->path), req->path);
	s_copy(fx->query, sizeof(fx->query), req->query);
	free(fx->body);
	fx->body = s_memdup(req->body, req->body_len);
	fx->body_len = req->body_len;
	fx->body_terminated = req->body[req->body_len] == '\0';
	s_copy(fx->x_test, sizeof(fx->x_test), http_header(req, "x-test"));
	fx->nheaders = req->nheaders;
	pthread_mutex_unlock(&fx->mu);

	if (strcmp(req->path, "/hello") == 0) {
		resp->body = strdup("{\"hello\":\"world\"}");
		resp->body_len = strlen(resp->body);
	} else if (strcmp(req->path, "/q") == 0) {
		if (http_query_param(req->query, "name", a, sizeof(a)) < 0)
			s_copy(a, sizeof(a), "-");
		if (http_query_param(req->query, "city", b, sizeof(b)) < 0)
			s_copy(b, sizeof(b), "-");
		resp->content_type = "text/plain; charset=utf-8";
		if (asprintf(&resp->body, "%s|%s", a, b) < 0)
			resp->body = NULL;
		resp->body_len = resp->body ? strlen(resp->body) : 0;
	} else if (strcmp(req->path, "/echo") == 0) {
		resp->status = 201;
		resp->content_type = "application/octet-stream";
		resp->extra_headers = "X-Echo: yes\r\n";
		resp->body = s_memdup(req->body, req->body_len);
		resp->body_len = req->body_len;
	} else if (strcmp(req->path, "/seq") == 0) {
		if (http_query_param(req->query, "n", a, sizeof(a)) < 0)
			s_copy(a, sizeof(a), "?");
		if (asprintf(&resp->body, "seq=%s", a) < 0)
			resp->body = NULL;
		resp->body_len = resp->body ? strlen(resp->body) : 0;
		resp->extra_headers = "Retry-After: 2";     /* no CRLF: added */
	} else if (strcmp(req->path, "/shutdown") == 0) {
		fx->closing = true;
		http_server_close(fx->server, s_on_done, fx);
		resp->body = strdup("bye");
		resp->body_len = 3;
	} else if (strcmp(req->path, "/defer") == 0) {
		s_defer_later(fx, req, resp);
	} else if (strcmp(req->path, "/defer-now") == 0) {
		s_defer_now(fx, req, resp);
	} else if (strcmp(req->path, "/hold") == 0) {
		s_defer_hold(fx, req, resp);
	} else if (strcmp(req->path, "/hold-shutdown") == 0) {
		s_defer_hold(fx, req, resp);
		fx->closing = true;
		http_server_close(fx->server, s_on_done, fx);
	} else if (strcmp(req->path, "/bad-status") == 0) {
		resp->status = 42;
		resp->body = strdup("ignored");
		resp->body_len = 7;
	} else {
		http_respond_error(resp, 404, "not found");
	}
}

/* Runs the loop until every handle is closed. */
static void *
s_loop_thread(void *arg)
{
	struct fx *fx = arg;

	uv_run(&fx->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* On the loop thread: closes the server and the async handle. */
static void
s_on_stop(uv_async_t *async)
{
	struct fx *fx = async->data;

	if (!fx->closing) {
		fx->closing = true;
		http_server_close(fx->server, s_on_done, fx);
	}
	uv_close((uv_handle_t *)async, NULL);
	uv_close((uv_handle_t *)&fx->act, NULL);
}

/* On the loop thread: does to a held token what the test thread asked. */
static void
s_on_act(uv_async_t *async)
{
	struct fx *fx = async->data;
	struct http_response resp = { .status = 200 };
	struct http_deferred *d;

	pthread_mutex_lock(&fx->mu);
	d = fx->held[fx->act_slot];
	fx->act_alive = http_deferred_alive(d);
	if (fx->act_kind == ACT_RESPOND) {
		resp.body = strdup("late");
		resp.body_len = 4;
		http_deferred_respond(d, &resp);
		fx->held[fx->act_slot] = NULL;
	}
	fx->acts++;
	pthread_cond_signal(&fx->acted);
	pthread_mutex_unlock(&fx->mu);
}

/* Starts a server with limits (NULL for the defaults) in a loop thread. */
static int
s_start(void **state, const struct http_limits *limits)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	pthread_mutex_init(&fx->mu, NULL);
	pthread_cond_init(&fx->acted, NULL);
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	fx->server = http_server_new(&fx->loop, "127.0.0.1", 0, limits, s_handler, fx);
	assert_non_null(fx->server);
	fx->port = http_server_port(fx->server);
	assert_true(fx->port > 0 && fx->port < 65536);
	assert_int_equal(uv_async_init(&fx->loop, &fx->stop, s_on_stop), 0);
	fx->stop.data = fx;
	assert_int_equal(uv_async_init(&fx->loop, &fx->act, s_on_act), 0);
	fx->act.data = fx;
	assert_int_equal(pthread_create(&fx->thread, NULL, s_loop_thread, fx), 0);
	*state = fx;
	return 0;
}

/* Stops the loop thread and checks that nothing was left open. */
static void
s_stop(struct fx *fx)
{
	if (fx->stopped)
		return;
	fx->stopped = true;
	assert_int_equal(uv_async_send(&fx->stop), 0);
	assert_int_equal(pthread_join(fx->thread, NULL), 0);
	assert_true(fx->done_called);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
}

/* The default limits. */
static int
s_setup_default(void **state)
{
	return s_start(state, NULL);
}

/* Small header and body limits. */
static int
s_setup_small(void **state)
{
	struct http_limits limits = {
		.max_header_bytes = 1024,
		.max_body_bytes = 1024,
	};

	return s_start(state, &limits);
}

/* A short idle timeout. */
static int
s_setup_idle(void **state)
{
	struct http_limits limits = { .idle_timeout_ms = 300 };

	return s_start(state, &limits);
}

/* Short idle and deferral timeouts. */
static int
s_setup_deferred_timeout(void **state)
{
	struct http_limits limits = {
		.idle_timeout_ms = 300,
		.deferred_timeout_ms = 1000,
	};

	return s_start(state, &limits);
}

/* One connection at most. */
static int
s_setup_one_conn(void **state)
{
	struct http_limits limits = { .max_connections = 1 };

	return s_start(state, &limits);
}

/* Stops the server and frees the fixture. */
static int
s_teardown(void **state)
{
	struct fx *fx = *state;

	s_stop(fx);
	/* Tokens a failed test left: released as the daemon would. */
	for (int i = 0; i < HELD_SLOTS; i++)
		http_deferred_respond(fx->held[i], NULL);
	pthread_cond_destroy(&fx->acted);
	pthread_mutex_destroy(&fx->mu);
	free(fx->body);
	free(fx);
	return 0;
}

/* How many times the handler ran. */
static int
s_calls(struct fx *fx)
{
	int n;

	pthread_mutex_lock(&fx->mu);
	n = fx->calls;
	pthread_mutex_unlock(&fx->mu);
	return n;
}

/* Waits (5 s at most) until the handler has run n times. */
static void
s_wait_calls(struct fx *fx, int n)
{
	for (int i = 0; i < 500 && s_calls(fx) < n; i++)
		usleep(10 * 1000);
	assert_int_equal(s_calls(fx), n);
}

/* Has the loop thread act on held token slot; whether it was alive. */
static bool
s_act(struct fx *fx, enum act kind, int slot)
{
	struct timespec until;
	bool alive;
	int n, r = 0;

	pthread_mutex_lock(&fx->mu);
	n = fx->acts;
	fx->act_kind = kind;
	fx->act_slot = slot;
	pthread_mutex_unlock(&fx->mu);
	assert_int_equal(uv_async_send(&fx->act), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&fx->mu);
	while (fx->acts == n && r == 0)
		r = pthread_cond_timedwait(&fx->acted, &fx->mu, &until);
	alive = fx->act_alive;
	n = fx->acts - n;
	pthread_mutex_unlock(&fx->mu);
	assert_int_equal(n, 1);
	return alive;
}

/* Milliseconds on a monotonic clock. */
static long
s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Connects to the server, with timeouts so that no test can hang. */
static struct client *
s_connect(int port)
{
	struct client *c = calloc(1, sizeof(*c));
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 5 };
	int one = 1;

	assert_non_null(c);
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return c;
}

/* Closes a client connection. */
static void
s_disconnect(struct client *c)
{
	close(c->fd);
	free(c->buf);
	free(c);
}

/* Sends all of n bytes. */
static void
s_send(struct client *c, const void *data, size_t n)
{
	const char *p = data;
	ssize_t k;

	while (n > 0) {
		k = send(c->fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		assert_true(k > 0);
		p += k;
		n -= (size_t)k;
	}
}

/* Sends a string. */
static void
s_send_str(struct client *c, const char *s)
{
	s_send(c, s, strlen(s));
}

/* Reads more bytes into the client buffer; returns recv's result. */
static ssize_t
s_fill(struct client *c)
{
	ssize_t k;

	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 131072;
		c->buf = realloc(c->buf, c->cap);
		assert_non_null(c->buf);
	}
	do
		k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	while (k < 0 && errno == EINTR);
	if (k > 0)
		c->len += (size_t)k;
	return k;
}

/* Drops n bytes from the front of the client buffer. */
static void
s_consume(struct client *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Reads exactly n bytes and checks they are expect. */
static void
s_expect_bytes(struct client *c, const char *expect)
{
	size_t n = strlen(expect);

	while (c->len < n)
		assert_true(s_fill(c) > 0);
	assert_memory_equal(c->buf, expect, n);
	s_consume(c, n);
}

/* The value of a response header (case-insensitive), or NULL. */
static const char *
s_resp_header(const struct response *r, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *line = strstr(r->head, "\r\n");
	const char *end;

	while (line != NULL && line[2] != '\0') {
		line += 2;
		end = strstr(line, "\r\n");
		if (end == NULL)
			break;
		if ((size_t)(end - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
		    line[nlen] == ':') {
			const char *v = line + nlen + 1;

			while (*v == ' ')
				v++;
			snprintf(out, size, "%.*s", (int)(end - v), v);
			return out;
		}
		line = end;
	}
	return NULL;
}

/* Reads one whole response; head_only for an answer to HEAD. */
static void
s_read_response_opt(struct client *c, struct response *r, bool head_only)
{
	char *end;
	char value[64];
	size_t hlen, clen;

	memset(r, 0, sizeof(*r));
	for (;;) {
		end = c->len >= 4 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
		if (end != NULL)
			break;
		assert_true(s_fill(c) > 0);
	}
	hlen = (size_t)(end - c->buf) + 4;
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, c->buf, hlen);
	r->head[hlen] = '\0';
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	assert_non_null(s_resp_header(r, "Content-Length", value, sizeof(value)));
	clen = head_only ? 0 : strtoul(value, NULL, 10);
	while (c->len < hlen + clen)
		assert_true(s_fill(c) > 0);
	r->body = s_memdup(c->buf + hlen, clen);
	r->body_len = clen;
	s_consume(c, hlen + clen);
}

/* Reads one whole response. */
static void
s_read_response(struct client *c, struct response *r)
{
	s_read_response_opt(c, r, false);
}

/* Frees a response's body. */
static void
s_response_free(struct response *r)
{
	free(r->body);
	r->body = NULL;
}

/* Checks a response header's value. */
static void
s_assert_header(const struct response *r, const char *name, const char *expect)
{
	char value[256];

	assert_non_null(s_resp_header(r, name, value, sizeof(value)));
	assert_string_equal(value, expect);
}

/* Checks that the server closed the connection cleanly (FIN, not reset). */
static void
s_assert_eof(struct client *c)
{
	assert_int_equal(c->len, 0);
	assert_int_equal(s_fill(c), 0);
}

/*
 * Checks that the server closed the connection: FIN, or a reset when it
 * closed at once with our bytes unread (as on shutdown it may).
 */
static void
s_assert_closed(struct client *c)
{
	ssize_t k = s_fill(c);

	assert_true(k == 0 || (k < 0 && errno == ECONNRESET));
}

/* One request, one response, on a connection of its own. */
static void
s_roundtrip(int port, const char *request, struct response *r)
{
	struct client *c = s_connect(port);

	s_send_str(c, request);
	s_read_response(c, r);
	s_disconnect(c);
}

/* Query parameters: decoding, matching, absence and room. */
static void
test_query_param(void **state)
{
	char buf[32];
	char tiny[4];

	(void)state;
	assert_int_equal(http_query_param("a=1&b=x%20y", "a", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "1");
	assert_int_equal(http_query_param("a=1&b=x%20y", "b", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "x y");
	assert_int_equal(http_query_param("q=a+b%2Bc", "q", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "a b+c");
	/* UTF-8 percent-encoded: 佛山 */
	assert_int_equal(http_query_param("city=%E4%BD%9B%E5%B1%B1", "city", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "\xe4\xbd\x9b\xe5\xb1\xb1");
	/* Absent keys, prefixes and suffixes of keys. */
	assert_int_equal(http_query_param("a=1&b=2", "c", buf, sizeof(buf)), -1);
	assert_int_equal(http_query_param("ab=1", "a", buf, sizeof(buf)), -1);
	assert_int_equal(http_query_param("a=1", "ab", buf, sizeof(buf)), -1);
	assert_int_equal(http_query_param("", "a", buf, sizeof(buf)), -1);
	/* The first occurrence wins; empty pieces are skipped. */
	assert_int_equal(http_query_param("&&a=first&a=second", "a", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "first");
	/* A key without '=' or with an empty value is present and empty. */
	assert_int_equal(http_query_param("flag&x=1", "flag", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(http_query_param("x=&y=2", "x", buf, sizeof(buf)), 0);
	/* Encoded keys match their decoded form. */
	assert_int_equal(http_query_param("area%20code=4406", "area code", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "4406");
	/* Broken escapes stand for themselves. */
	assert_int_equal(http_query_param("p=100%&q=%zz%4", "p", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "100%");
	assert_int_equal(http_query_param("p=100%&q=%zz%4", "q", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "%zz%4");
	/* '=' inside a value is kept. */
	assert_int_equal(http_query_param("t=a=b", "t", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "a=b");
	/* Fits exactly with its NUL; one byte more does not. */
	assert_int_equal(http_query_param("k=abc", "k", tiny, sizeof(tiny)), 3);
	assert_string_equal(tiny, "abc");
	assert_int_equal(http_query_param("k=abcd", "k", tiny, sizeof(tiny)), -1);
	assert_int_equal(http_query_param("k=%41%42%43", "k", tiny, sizeof(tiny)), 3);
	assert_string_equal(tiny, "ABC");
	assert_int_equal(http_query_param("k=", "k", tiny, 1), 0);
	assert_int_equal(http_query_param("k=a", "k", tiny, 1), -1);
	/* Nonsense arguments. */
	assert_int_equal(http_query_param(NULL, "k", buf, sizeof(buf)), -1);
	assert_int_equal(http_query_param("k=1", NULL, buf, sizeof(buf)), -1);
	assert_int_equal(http_query_param("k=1", "k", NULL, 8), -1);
	assert_int_equal(http_query_param("k=1", "k", buf, 0), -1);
}

/* Header lookup ignores case and matches whole names. */
static void
test_header_lookup(void **state)
{
	struct http_request req = {
		.method = "GET", .path = "/", .query = "", .body = "",
		.headers = {
			{ "Host", "localhost" },
			{ "Content-Type", "text/plain" },
			{ "X-Empty", "" },
		},
		.nheaders = 3,
	};

	(void)state;
	assert_string_equal(http_header(&req, "host"), "localhost");
	assert_string_equal(http_header(&req, "CONTENT-TYPE"), "text/plain");
	assert_string_equal(http_header(&req, "x-empty"), "");
	assert_null(http_header(&req, "Content"));
	assert_null(http_header(&req, "Accept"));
	assert_null(http_header(&req, NULL));
	assert_null(http_header(NULL, "Host"));
}

/* Error bodies are valid JSON whatever the message. */
static void
test_respond_error(void **state)
{
	struct http_response resp = { 0 };

	(void)state;
	http_respond_error(&resp, 400, "bad \"id\" \\ here\n\t\x01");
	assert_int_equal(resp.status, 400);
	assert_string_equal(resp.content_type, "application/json");
	assert_string_equal(resp.body,
	    "{\"error\":\"bad \\\"id\\\" \\\\ here\\n\\t\\u0001\"}");
	assert_int_equal(resp.body_len, strlen(resp.body));
	/* A body already there is replaced, not leaked (ASan/valgrind see it). */
	http_respond_error(&resp, 404, "未找到 not found");
	assert_int_equal(resp.status, 404);
	assert_string_equal(resp.body, "{\"error\":\"未找到 not found\"}");
	/* Bytes that are not UTF-8 do not make the body invalid JSON. */
	http_respond_error(&resp, 422, "x\xff\xc3(\xed\xa0\x80y");
	assert_string_equal(resp.body,
	    "{\"error\":\"x\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffdy\"}");
	http_respond_error(&resp, 500, NULL);
	assert_string_equal(resp.body, "{\"error\":\"\"}");
	assert_int_equal(resp.body_len, 12);
	free(resp.body);
	http_respond_error(NULL, 500, "nothing to fill");
}

/* A GET reaches the handler with path, query and headers split out. */
static void
test_get_query_params(void **state)
{
	struct fx *fx = *state;
	struct response r;

	s_roundtrip(fx->port,
	    "GET /q?name=Li%20Wei&city=%E4%BD%9B%E5%B1%B1+Nanhai HTTP/1.1\r\n"
	    "Host: localhost\r\nX-Test: hello there\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17), 0);
	s_assert_header(&r, "Content-Type", "text/plain; charset=utf-8");
	s_assert_header(&r, "Connection", "keep-alive");
	assert_string_equal(r.body, "Li Wei|佛山 Nanhai");
	assert_int_equal(r.body_len, strlen("Li Wei|佛山 Nanhai"));
	s_response_free(&r);

	pthread_mutex_lock(&fx->mu);
	assert_string_equal(fx->method, "GET");
	assert_string_equal(fx->path, "/q");
	assert_string_equal(fx->query, "name=Li%20Wei&city=%E4%BD%9B%E5%B1%B1+Nanhai");
	assert_string_equal(fx->x_test, "hello there");
	assert_int_equal(fx->nheaders, 2);
	assert_int_equal(fx->body_len, 0);
	assert_true(fx->body_terminated);
	pthread_mutex_unlock(&fx->mu);

	/* No query at all: "" and the parameters are absent. */
	s_roundtrip(fx->port, "GET /q HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_string_equal(r.body, "-|-");
	s_response_free(&r);
	pthread_mutex_lock(&fx->mu);
	assert_string_equal(fx->path, "/q");
	assert_string_equal(fx->query, "");
	assert_string_equal(fx->x_test, "(null)");
	pthread_mutex_unlock(&fx->mu);
}

/* The bytes on the wire are exactly the handler's answer. */
static void
test_status_and_body_exact(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);

	s_send_str(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	s_expect_bytes(c,
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 17\r\n"
	    "Connection: keep-alive\r\n"
	    "\r\n"
	    "{\"hello\":\"world\"}");
	/* The handler's status, content type and extra headers. */
	s_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
	s_expect_bytes(c,
	    "HTTP/1.1 201 Created\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: 3\r\n"
	    "Connection: keep-alive\r\n"
	    "X-Echo: yes\r\n"
	    "\r\n"
	    "abc");
	/* Extra headers without a final CRLF get one. */
	s_send_str(c, "GET /seq?n=7 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_expect_bytes(c,
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 5\r\n"
	    "Connection: keep-alive\r\n"
	    "Retry-After: 2\r\n"
	    "\r\n"
	    "seq=7");
	s_disconnect(c);
}

/* A 404 from the handler arrives as its JSON error. */
static void
test_not_found(void **state)
{
	struct fx *fx = *state;
	struct response r;

	s_roundtrip(fx->port, "GET /nowhere?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	assert_int_equal(strncmp(r.head, "HTTP/1.1 404 Not Found\r\n", 24), 0);
	s_assert_header(&r, "Content-Type", "application/json");
	s_assert_header(&r, "Content-Length", "21");
	assert_string_equal(r.body, "{\"error\":\"not found\"}");
	s_response_free(&r);
}

/* A status no client could read becomes a 500. */
static void
test_bad_handler_status(void **state)
{
	struct fx *fx = *state;
	struct response r;

	s_roundtrip(fx->port, "GET /bad-status HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.body, "{\"error\":\"internal error\"}");
	s_response_free(&r);
}

/* POST bodies, plain and chunked, reach the handler byte for byte. */
static void
test_post_body(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;
	char body[3000];
	char head[128];

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)(i * 7 + 1);
	body[10] = '\0';
	body[11] = '\r';
	body[12] = '\n';
	snprintf(head, sizeof(head),
	    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", sizeof(body));
	s_send_str(c, head);
	s_send(c, body, sizeof(body));
	s_read_response(c, &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.body_len, sizeof(body));
	assert_memory_equal(r.body, body, sizeof(body));
	s_response_free(&r);
	pthread_mutex_lock(&fx->mu);
	assert_string_equal(fx->method, "POST");
	assert_int_equal(fx->body_len, sizeof(body));
	assert_memory_equal(fx->body, body, sizeof(body));
	assert_true(fx->body_terminated);
	pthread_mutex_unlock(&fx->mu);

	/* A chunked body, with a trailer, is delivered whole. */
	s_send_str(c,
	    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n"
	    "6\r\n world\r\n"
	    "0\r\nX-Trailer: t\r\n\r\n");
	s_read_response(c, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "hello world");
	s_response_free(&r);
	pthread_mutex_lock(&fx->mu);
	assert_int_equal(fx->body_len, 11);
	assert_true(fx->body_terminated);
	pthread_mutex_unlock(&fx->mu);
	s_disconnect(c);
}

/* A body of many writes arrives whole. */
static void
test_large_response(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;
	size_t n = 900 * 1024;
	char *body = malloc(n);
	char head[128];

	assert_non_null(body);
	for (size_t i = 0; i < n; i++)
		body[i] = (char)(i % 251);
	snprintf(head, sizeof(head),
	    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
	s_send_str(c, head);
	s_send(c, body, n);
	s_read_response(c, &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.body_len, n);
	assert_memory_equal(r.body, body, n);
	s_response_free(&r);
	free(body);
	s_disconnect(c);
}

/* HTTP/1.1 keeps the connection until asked to close. */
static void
test_keep_alive(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;

	s_send_str(c, "GET /seq?n=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	s_assert_header(&r, "Connection", "keep-alive");
	assert_string_equal(r.body, "seq=1");
	s_response_free(&r);
	s_send_str(c, "GET /seq?n=2 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	s_assert_header(&r, "Connection", "keep-alive");
	assert_string_equal(r.body, "seq=2");
	s_response_free(&r);
	/* Connection: close is honoured, and the connection really ends. */
	s_send_str(c, "GET /seq?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	s_read_response(c, &r);
	s_assert_header(&r, "Connection", "close");
	assert_string_equal(r.body, "seq=3");
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);
	assert_int_equal(s_calls(fx), 3);
}

/* HTTP/1.0 closes unless it asks for keep-alive. */
static void
test_http10(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;

	/* HTTP/1.0 closes by default... */
	s_send_str(c, "GET /seq?n=1 HTTP/1.0\r\n\r\n");
	s_read_response(c, &r);
	s_assert_header(&r, "Connection", "close");
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);

	/* ...and keeps the connection when asked to. */
	c = s_connect(fx->port);
	s_send_str(c, "GET /seq?n=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	s_read_response(c, &r);
	s_assert_header(&r, "Connection", "keep-alive");
	assert_string_equal(r.body, "seq=2");
	s_response_free(&r);
	s_send_str(c, "GET /seq?n=3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	s_read_response(c, &r);
	assert_string_equal(r.body, "seq=3");
	s_response_free(&r);
	s_disconnect(c);
}

/* HEAD gets the headers of GET and no body. */
static void
test_head(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;

	s_send_str(c, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response_opt(c, &r, true);
	assert_int_equal(r.status, 200);
	s_assert_header(&r, "Content-Length", "17");
	s_response_free(&r);
	/* No body bytes were sent: the next response starts right here. */
	s_send_str(c, "GET /seq?n=9 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	assert_string_equal(r.body, "seq=9");
	s_response_free(&r);
	s_disconnect(c);
}

/* Requests sent back to back are answered in order. */
static void
test_pipelined(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;
	char *all = NULL;
	size_t len = 0;
	FILE *f;
	char expect[32];

	s_send_str(c,
	    "GET /seq?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\ntwo!"
	    "GET /seq?n=3 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	assert_string_equal(r.body, "seq=1");
	s_response_free(&r);
	s_read_response(c, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "two!");
	s_response_free(&r);
	s_read_response(c, &r);
	assert_string_equal(r.body, "seq=3");
	s_response_free(&r);

	/* Many at once, more than one read's worth, the last one closing. */
	f = open_memstream(&all, &len);
	assert_non_null(f);
	for (int i = 0; i < 300; i++)
		fprintf(f, "GET /seq?n=%d HTTP/1.1\r\nHost: x\r\nX-Pad: %0200d\r\n%s\r\n",
		        i, 0, i == 299 ? "Connection: close\r\n" : "");
	fclose(f);
	assert_true(len > 64 * 1024);
	s_send(c, all, len);
	free(all);
	for (int i = 0; i < 300; i++) {
		s_read_response(c, &r);
		snprintf(expect, sizeof(expect), "seq=%d", i);
		assert_string_equal(r.body, expect);
		s_assert_header(&r, "Connection", i == 299 ? "close" : "keep-alive");
		s_response_free(&r);
	}
	s_assert_eof(c);
	s_disconnect(c);
}

/* A request trickling in byte by byte parses the same. */
static void
test_fragmented(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;
	const char *req =
	    "POST /echo?x=1 HTTP/1.1\r\nHost: localhost\r\nX-Test: split value\r\n"
	    "Content-Length: 5\r\n\r\nsplit";

	for (const char *p = req; *p != '\0'; p++)
		s_send(c, p, 1);
	s_read_response(c, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "split");
	s_response_free(&r);
	pthread_mutex_lock(&fx->mu);
	assert_string_equal(fx->path, "/echo");
	assert_string_equal(fx->query, "x=1");
	assert_string_equal(fx->x_test, "split value");
	assert_int_equal(fx->nheaders, 3);
	pthread_mutex_unlock(&fx->mu);
	s_disconnect(c);
}

/* A client waiting for "100 Continue" gets it. */
static void
test_expect_continue(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;

	s_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
	    "Content-Length: 4\r\n\r\n");
	s_expect_bytes(c, "HTTP/1.1 100 Continue\r\n\r\n");
	s_send_str(c, "body");
	s_read_response(c, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "body");
	s_response_free(&r);
	s_disconnect(c);
}

/* Bodies over the limit get 413 without reaching the handler. */
static void
test_body_too_large(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;
	char body[4096];

	/* Declared too large: refused before the body is read. */
	memset(body, 'b', sizeof(body));
	s_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n");
	s_send(c, body, sizeof(body));
	s_read_response(c, &r);
	assert_int_equal(r.status, 413);
	s_assert_header(&r, "Connection", "close");
	assert_string_equal(r.body, "{\"error\":\"request body too large\"}");
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);

	/* No "100 Continue" for a body that will be refused. */
	c = s_connect(fx->port);
	s_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
	    "Content-Length: 1000000\r\n\r\n");
	s_read_response(c, &r);
	assert_int_equal(r.status, 413);
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);

	/* Chunked: refused once the chunks pass the limit. */
	c = s_connect(fx->port);
	s_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3; i++) {
		s_send_str(c, "200\r\n");
		s_send(c, body, 512);
		s_send_str(c, "\r\n");
	}
	s_send_str(c, "0\r\n\r\n");
	s_read_response(c, &r);
	assert_int_equal(r.status, 413);
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);

	/* Exactly at the limit is fine. */
	c = s_connect(fx->port);
	s_send_str(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n");
	s_send(c, body, 1024);
	s_read_response(c, &r);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.body_len, 1024);
	s_response_free(&r);
	s_disconnect(c);

	assert_int_equal(s_calls(fx), 1);
}

/* Heads over the limit get 431 without reaching the handler. */
static void
test_headers_too_large(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;
	char pad[2001];
	char *req = NULL;
	size_t len = 0;
	FILE *f;

	memset(pad, 'h', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	s_send_str(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	s_send_str(c, pad);
	s_send_str(c, "\r\n\r\n");
	s_read_response(c, &r);
	assert_int_equal(r.status, 431);
	s_assert_header(&r, "Connection", "close");
	assert_string_equal(r.body, "{\"error\":\"request header fields too large\"}");
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);

	/* A long URL counts too. */
	c = s_connect(fx->port);
	s_send_str(c, "GET /");
	s_send_str(c, pad);
	s_send_str(c, " HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	assert_int_equal(r.status, 431);
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);

	/* So does the number of headers. */
	f = open_memstream(&req, &len);
	assert_non_null(f);
	fputs("GET / HTTP/1.1\r\n", f);
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		fprintf(f, "X-%d: %d\r\n", i, i);
	fputs("\r\n", f);
	fclose(f);
	c = s_connect(fx->port);
	s_send(c, req, len);
	free(req);
	s_read_response(c, &r);
	assert_int_equal(r.status, 431);
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);

	assert_int_equal(s_calls(fx), 0);
}

/* Malformed requests get 400 and the connection closes. */
static void
test_garbage(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[] = {
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
		"GET /a b HTTP/1.1\r\n\r\n",
		"GET / HTTP/9.9x\r\n\r\n",
		"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	};
	struct response r;
	struct client *c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = s_connect(fx->port);
		s_send_str(c, bad[i]);
		s_read_response(c, &r);
		assert_int_equal(r.status, 400);
		s_assert_header(&r, "Connection", "close");
		assert_string_equal(r.body, "{\"error\":\"bad request\"}");
		s_response_free(&r);
		s_assert_eof(c);
		s_disconnect(c);
	}
	/* A good request after garbage on the same connection is not read. */
	c = s_connect(fx->port);
	s_send_str(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n\x01\x02\x03\r\n\r\n"
	    "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	assert_int_equal(r.status, 200);
	s_response_free(&r);
	s_read_response(c, &r);
	assert_int_equal(r.status, 400);
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);

	assert_int_equal(s_calls(fx), 1);
}

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t
s_rand(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* Mangled requests never stop the server or leave a connection hanging. */
static void
test_mutated_input(void **state)
{
	struct fx *fx = *state;
	static const char *const seeds[] = {
		"GET /q?name=a%20b&city=x HTTP/1.1\r\nHost: x\r\nX-Test: t\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
		"GET /seq?n=2 HTTP/1.1\r\n\r\n",
		"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n",
	};
	static const char alphabet[] = "\r\n :%?&=+\x00\x7f\xff" "0123456789aZ-";
	uint32_t seed = 20200125;
	struct response r;
	struct client *c;
	char buf[512];
	size_t len;
	ssize_t k;

	for (int round = 0; round < 400; round++) {
		const char *base = seeds[s_rand(&seed) % 4];

		len = strlen(base);
		memcpy(buf, base, len);
		for (int m = (int)(s_rand(&seed) % 6); m >= 0; m--) {
			size_t at = s_rand(&seed) % len;
			char ch = alphabet[s_rand(&seed) % (sizeof(alphabet) - 1)];

			switch (s_rand(&seed) % 3) {
			case 0:                          /* replace */
				buf[at] = ch;
				break;
			case 1:                          /* insert */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = ch;
					len++;
				}
				break;
			default:                         /* cut short */
				len = at + 1;
				break;
			}
		}
		c = s_connect(fx->port);
		s_send(c, buf, len);
		shutdown(c->fd, SHUT_WR);
		/* Whatever came back, the server must end the connection. */
		while ((k = s_fill(c)) > 0)
			c->len = 0;
		assert_int_equal(k, 0);
		s_disconnect(c);
	}
	/* And it still answers. */
	s_roundtrip(fx->port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	s_response_free(&r);
}

/* Idle and slow connections are closed; busy ones are not. */
static void
test_idle_timeout(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct client *partial;
	struct response r;

	/* Silent, and half a request: both are closed. */
	partial = s_connect(fx->port);
	s_send_str(partial, "GET /hello HTTP/1.1\r\nHo");
	s_assert_eof(c);
	s_assert_eof(partial);
	s_disconnect(c);
	s_disconnect(partial);
	/* Activity keeps a connection open past the timeout. */
	c = s_connect(fx->port);
	for (int i = 0; i < 4; i++) {
		usleep(100 * 1000);
		s_send_str(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
		s_read_response(c, &r);
		assert_int_equal(r.status, 200);
		s_response_free(&r);
	}
	s_assert_eof(c);
	s_disconnect(c);
}

/* A connection over the limit is closed at once. */
static void
test_max_connections(void **state)
{
	struct fx *fx = *state;
	struct client *a = s_connect(fx->port);
	struct client *b;
	struct response r;

	/* a is surely accepted once it is answered. */
	s_send_str(a, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(a, &r);
	assert_int_equal(r.status, 200);
	s_response_free(&r);
	/* b sends nothing: data unread at close would turn FIN into RST. */
	b = s_connect(fx->port);
	s_assert_eof(b);
	s_disconnect(b);
	s_send_str(a, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(a, &r);
	assert_int_equal(r.status, 200);
	s_response_free(&r);
	s_disconnect(a);
	assert_int_equal(s_calls(fx), 2);
}

/* Closing the server ends open connections and frees everything. */
static void
test_close_with_open_connections(void **state)
{
	struct fx *fx = *state;
	struct client *idle = s_connect(fx->port);
	struct client *partial = s_connect(fx->port);
	struct response r;

	s_send_str(idle, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(idle, &r);
	s_response_free(&r);
	/* Answered once, so surely accepted; then half a request. */
	s_send_str(partial, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(partial, &r);
	s_response_free(&r);
	s_send_str(partial, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
	s_stop(fx);
	s_assert_eof(idle);
	s_assert_closed(partial);
	s_disconnect(idle);
	s_disconnect(partial);
}

/* A handler may close the server and still be answered. */
static void
test_close_from_handler(void **state)
{
	struct fx *fx = *state;
	struct client *other = s_connect(fx->port);
	struct client *c = s_connect(fx->port);
	struct response r;

	s_send_str(other, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(other, &r);
	s_response_free(&r);
	/* The request that closes the server is still answered. */
	s_send_str(c, "GET /shutdown HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	assert_int_equal(r.status, 200);
	s_assert_header(&r, "Connection", "close");
	assert_string_equal(r.body, "bye");
	s_response_free(&r);
	s_assert_eof(c);
	s_assert_eof(other);
	s_disconnect(c);
	s_disconnect(other);
}

/* A deferred answer given from a timer arrives exactly, in its place. */
static void
test_defer_timer(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct http_request fake = { .method = "GET", .path = "/", .query = "", .body = "" };
	struct http_response resp = { .status = 200 };
	struct response r;

	s_send_str(c, "GET /defer?ms=50&v=abc HTTP/1.1\r\nHost: x\r\n\r\n");
	s_expect_bytes(c,
	    "HTTP/1.1 202 Accepted\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 9\r\n"
	    "Connection: keep-alive\r\n"
	    "X-Deferred: yes\r\n"
	    "\r\n"
	    "later:abc");
	/* HEAD: the deferred answer has no body bytes either. */
	s_send_str(c, "HEAD /defer?ms=10&v=h HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response_opt(c, &r, true);
	assert_int_equal(r.status, 202);
	s_assert_header(&r, "Content-Length", "7");
	s_response_free(&r);
	s_send_str(c, "GET /seq?n=5 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	assert_string_equal(r.body, "seq=5");
	s_response_free(&r);
	/* Answered from inside the handler; a second deferral is refused. */
	s_send_str(c, "GET /defer-now HTTP/1.1\r\nHost: x\r\n\r\n");
	s_expect_bytes(c,
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 3\r\n"
	    "Connection: keep-alive\r\n"
	    "\r\n"
	    "now");
	/* A request asking to close is closed after its deferred answer. */
	s_send_str(c, "GET /defer?ms=20&v=bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	s_read_response(c, &r);
	assert_int_equal(r.status, 202);
	s_assert_header(&r, "Connection", "close");
	assert_string_equal(r.body, "later:bye");
	s_response_free(&r);
	s_assert_eof(c);
	s_disconnect(c);

	pthread_mutex_lock(&fx->mu);
	assert_true(fx->second_defer_null);
	assert_int_equal(fx->later_fired, 3);
	assert_int_equal(fx->later_dead, 0);
	pthread_mutex_unlock(&fx->mu);
	assert_int_equal(s_calls(fx), 5);

	/* Requests not from the server cannot be deferred; NULL is harmless. */
	assert_null(http_defer(&fake));
	assert_null(http_defer(NULL));
	assert_false(http_deferred_alive(NULL));
	resp.body = strdup("freed");
	resp.body_len = 5;
	http_deferred_respond(NULL, &resp);
	assert_null(resp.body);
	http_deferred_respond(NULL, NULL);
}

/* Requests pipelined behind a deferred one wait, and answers keep order. */
static void
test_defer_pipelined(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;
	char *all = NULL;
	size_t len = 0;
	FILE *f;
	char expect[32];

	s_send_str(c,
	    "GET /defer?ms=1000&v=1 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /seq?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /defer?ms=10&v=3 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /seq?n=4 HTTP/1.1\r\nHost: x\r\n\r\n");
	/* The second is not even parsed while the first waits. */
	usleep(200 * 1000);
	assert_true(s_calls(fx) <= 1);
	s_read_response(c, &r);
	assert_int_equal(r.status, 202);
	assert_string_equal(r.body, "later:1");
	s_response_free(&r);
	s_read_response(c, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "seq=2");
	s_response_free(&r);
	s_read_response(c, &r);
	assert_string_equal(r.body, "later:3");
	s_response_free(&r);
	s_read_response(c, &r);
	assert_string_equal(r.body, "seq=4");
	s_response_free(&r);

	/* More behind it than the read buffer holds, the last one closing. */
	f = open_memstream(&all, &len);
	assert_non_null(f);
	fputs("GET /defer?ms=300&v=first HTTP/1.1\r\nHost: x\r\n\r\n", f);
	for (int i = 0; i < 300; i++)
		fprintf(f, "GET /seq?n=%d HTTP/1.1\r\nHost: x\r\nX-Pad: %0200d\r\n%s\r\n",
		        i, 0, i == 299 ? "Connection: close\r\n" : "");
	fclose(f);
	assert_true(len > 64 * 1024);
	s_send(c, all, len);
	free(all);
	s_read_response(c, &r);
	assert_string_equal(r.body, "later:first");
	s_assert_header(&r, "Connection", "keep-alive");
	s_response_free(&r);
	for (int i = 0; i < 300; i++) {
		s_read_response(c, &r);
		snprintf(expect, sizeof(expect), "seq=%d", i);
		assert_string_equal(r.body, expect);
		s_response_free(&r);
	}
	s_assert_eof(c);
	s_disconnect(c);
	assert_int_equal(s_calls(fx), 305);
}

/* A client that leaves before its deferred answer: the answer is dropped. */
static void
test_defer_client_gone(void **state)
{
	struct fx *fx = *state;
	struct client *a = s_connect(fx->port);
	struct client *b = s_connect(fx->port);
	struct response r;
	bool alive = true;

	s_send_str(a, "GET /hold?slot=0 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_wait_calls(fx, 1);
	/* b has a request pipelined behind its deferred one. */
	s_send_str(b, "POST /hold?slot=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
	    "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	s_wait_calls(fx, 2);
	assert_true(s_act(fx, ACT_PROBE, 0));
	assert_true(s_act(fx, ACT_PROBE, 1));
	s_disconnect(a);
	s_disconnect(b);
	for (int i = 0; i < 500 && alive; i++) {
		usleep(10 * 1000);
		alive = s_act(fx, ACT_PROBE, 0) || s_act(fx, ACT_PROBE, 1);
	}
	assert_false(alive);
	/* Answering now only frees (valgrind and ASan watch). */
	assert_false(s_act(fx, ACT_RESPOND, 0));
	assert_false(s_act(fx, ACT_RESPOND, 1));
	assert_int_equal(s_calls(fx), 2);
	s_roundtrip(fx->port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	s_response_free(&r);
}

/* No answer within deferred_timeout_ms: the server answers 503 itself. */
static void
test_defer_timeout(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);
	struct response r;
	long t0 = s_now_ms();

	/* Longer than the idle timeout, which must not close it. */
	s_send_str(c, "GET /hold?slot=0 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	assert_true(s_now_ms() - t0 >= 950);
	assert_int_equal(r.status, 503);
	assert_int_equal(strncmp(r.head, "HTTP/1.1 503 Service Unavailable\r\n", 34), 0);
	s_assert_header(&r, "Retry-After", "1");
	s_assert_header(&r, "Connection", "keep-alive");
	assert_string_equal(r.body, "{\"error\":\"timed out\"}");
	s_response_free(&r);
	/* The connection goes on, in order, behind another that times out. */
	s_send_str(c, "GET /hold?slot=1 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /seq?n=2 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_read_response(c, &r);
	assert_int_equal(r.status, 503);
	s_response_free(&r);
	s_read_response(c, &r);
	assert_string_equal(r.body, "seq=2");
	s_response_free(&r);
	/* The late answers are dropped: nothing more arrives before EOF. */
	assert_false(s_act(fx, ACT_RESPOND, 0));
	assert_false(s_act(fx, ACT_RESPOND, 1));
	s_assert_eof(c);
	s_disconnect(c);
	assert_int_equal(s_calls(fx), 3);
}

/* Closing the server leaves outstanding tokens valid, and dead. */
static void
test_defer_server_close(void **state)
{
	struct fx *fx = *state;
	struct client *a = s_connect(fx->port);
	struct client *b = s_connect(fx->port);
	struct http_response resp = { .status = 200 };

	s_send_str(a, "GET /hold?slot=0 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_send_str(b, "GET /defer?ms=500&v=x HTTP/1.1\r\nHost: x\r\n\r\n");
	s_wait_calls(fx, 2);
	/* The loop ends once the timer has answered into the void. */
	s_stop(fx);
	s_assert_closed(a);
	s_assert_closed(b);
	s_disconnect(a);
	s_disconnect(b);
	assert_int_equal(fx->later_fired, 1);
	assert_int_equal(fx->later_dead, 1);
	assert_int_equal(fx->later_after_done, 1);
	/* The server and its loop are gone; the token is still ours. */
	assert_non_null(fx->held[0]);
	assert_false(http_deferred_alive(fx->held[0]));
	resp.body = strdup("late");
	resp.body_len = 4;
	http_deferred_respond(fx->held[0], &resp);
	fx->held[0] = NULL;
	assert_null(resp.body);
}

/* A handler that defers, then closes the server: the client is let go. */
static void
test_defer_close_from_handler(void **state)
{
	struct fx *fx = *state;
	struct client *c = s_connect(fx->port);

	s_send_str(c, "GET /hold-shutdown?slot=2 HTTP/1.1\r\nHost: x\r\n\r\n");
	s_assert_eof(c);
	s_disconnect(c);
	s_stop(fx);
	assert_non_null(fx->held[2]);
	assert_false(http_deferred_alive(fx->held[2]));
	http_deferred_respond(fx->held[2], NULL);
	fx->held[2] = NULL;
}

/* Bad arguments and taken ports fail cleanly, leaving no handle. */
/* What the handler of http_parse_requests saw. */
struct seen {
	int n;
	char paths[4][32];
	char queries[4][32];
	char bodies[4][32];
	char hosts[4][32];
};

/* Keeps what each request held, as a handler may only while it runs. */
static void
s_seen_handler(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct seen *seen = arg;
	const char *host = http_header(req, "host");

	assert_null(req->conn);
	assert_null(http_defer(req));
	if (seen->n < 4) {
		snprintf(seen->paths[seen->n], 32, "%s %s", req->method, req->path);
		snprintf(seen->queries[seen->n], 32, "%s", req->query);
		snprintf(seen->bodies[seen->n], 32, "%s", req->body);
		snprintf(seen->hosts[seen->n], 32, "%s", host ? host : "-");
	}
	seen->n++;
	http_respond_error(resp, 404, "dropped");
}

/* The server's parser fed from a buffer, whole or a byte a time: the same requests, in order. */
static void
test_parse_requests(void **state)
{
	static const char two[] =
	    "GET /a?x=1#f HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	    "GET /c HTTP/1.1\r\n";                 /* incomplete: left for a later read */

	(void)state;
	for (size_t piece = 0; piece < 3; piece++) {
		struct seen seen;

		memset(&seen, 0, sizeof(seen));
		assert_int_equal(http_parse_requests(two, sizeof(two) - 1, piece, NULL, s_seen_handler,
		                                     &seen), 0);
		assert_int_equal(seen.n, 2);
		assert_string_equal(seen.paths[0], "GET /a");
		assert_string_equal(seen.queries[0], "x=1");
		assert_string_equal(seen.hosts[0], "h");
		assert_string_equal(seen.paths[1], "POST /b");
		assert_string_equal(seen.bodies[1], "abc");
		assert_string_equal(seen.hosts[1], "-");
	}
}

/* The refusals a connection answers itself, from the same limits. */
static void
test_parse_requests_refused(void **state)
{
	const struct http_limits small = { .max_header_bytes = 64, .max_body_bytes = 8 };
	static const char big_head[] =
	    "GET / HTTP/1.1\r\nX-Long: 0123456789012345678901234567890123456789012345678901234567890\r\n\r\n";
	static const char big_body[] = "POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789";
	static const char bad_name[] = "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n";
	struct seen seen;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(http_parse_requests(big_head, sizeof(big_head) - 1, 0, &small,
	                                     s_seen_handler, &seen), 431);
	assert_int_equal(http_parse_requests(big_body, sizeof(big_body) - 1, 5, &small,
	                                     s_seen_handler, &seen), 413);
	assert_int_equal(http_parse_requests(bad_name, sizeof(bad_name) - 1, 0, &small,
	                                     s_seen_handler, &seen), 400);
	assert_int_equal(http_parse_requests("\x01\x02", 2, 0, NULL, s_seen_handler, &seen), 400);
	assert_int_equal(seen.n, 0);
}

static void
test_new_failures(void **state)
{
	uv_loop_t loop;
	struct http_server *s1, *s2;
	struct fx fx = { 0 };

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_null(http_server_new(&loop, "not-an-address", 0, NULL, s_handler, &fx));
	assert_null(http_server_new(&loop, "127.0.0.1", 70000, NULL, s_handler, &fx));
	assert_null(http_server_new(&loop, "127.0.0.1", 0, NULL, NULL, &fx));
	assert_null(http_server_new(NULL, "127.0.0.1", 0, NULL, s_handler, &fx));
	s1 = http_server_new(&loop, "127.0.0.1", 0, NULL, s_handler, &fx);
	assert_non_null(s1);
	/* The port is taken: the half-made listener is closed by the loop. */
	s2 = http_server_new(&loop, "127.0.0.1", http_server_port(s1), NULL, s_handler, &fx);
	assert_null(s2);
	assert_int_equal(http_server_port(NULL), -1);
	http_server_close(s1, s_on_done, &fx);
	http_server_close(s1, s_on_done, &fx);      /* twice is harmless */
	http_server_close(NULL, s_on_done, &fx);
	assert_false(fx.done_called);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_true(fx.done_called);
	assert_int_equal(uv_loop_close(&loop), 0);

	/* IPv6 loopback, where the host has it. */
	assert_int_equal(uv_loop_init(&loop), 0);
	fx.done_called = false;
	s1 = http_server_new(&loop, "::1", 0, NULL, s_handler, &fx);
	if (s1 != NULL) {
		assert_true(http_server_port(s1) > 0);
		http_server_close(s1, s_on_done, &fx);
		assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
		assert_true(fx.done_called);
	} else {
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* Runs the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_param),
		cmocka_unit_test(test_header_lookup),
		cmocka_unit_test(test_respond_error),
		cmocka_unit_test(test_new_failures),
		cmocka_unit_test(test_parse_requests),
		cmocka_unit_test(test_parse_requests_refused),
		cmocka_unit_test_setup_teardown(test_get_query_params, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_status_and_body_exact, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_not_found, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_bad_handler_status, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_post_body, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_large_response, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_http10, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_head, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_fragmented, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_expect_continue, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_body_too_large, s_setup_small, s_teardown),
		cmocka_unit_test_setup_teardown(test_headers_too_large, s_setup_small, s_teardown),
		cmocka_unit_test_setup_teardown(test_garbage, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_mutated_input, s_setup_small, s_teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, s_setup_idle, s_teardown),
		cmocka_unit_test_setup_teardown(test_max_connections, s_setup_one_conn, s_teardown),
		cmocka_unit_test_setup_teardown(test_close_with_open_connections, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_close_from_handler, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_defer_timer, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_defer_pipelined, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_defer_client_gone, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_defer_timeout, s_setup_deferred_timeout, s_teardown),
		cmocka_unit_test_setup_teardown(test_defer_server_close, s_setup_default, s_teardown),
		cmocka_unit_test_setup_teardown(test_defer_close_from_handler, s_setup_default, s_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
