/*
 * Unit tests of reportd's webhooks (services/reportd/webhook.c): the
 * backoff, the hooks file (good files in every allowed shape, each kind of
 * bad line with its file:line message, reloads that fail and keep the old
 * hooks, reloads that drop the queues of the URLs they remove), which URLs an event is queued for, event names, a full queue;
 * then deliveries for real, to a lib/http.h server on the same libuv loop:
 * retried after a 500, in order, with the headers; and freeing with a
 * request in flight. Every test ends with uv_loop_close() returning 0: no
 * handle left behind. The URLs of the tests that do not deliver point at
 * port 1 of loopback, where nothing listens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "http.h"
#include "log.h"
#include "webhook.h"

#define MAX_SEEN 32
#define RUN_DEADLINE_MS 10000

/* One loop and the hooks file of a test. */
struct fx {
	uv_loop_t loop;
	char path[64];
	char path2[64];
	struct webhooks *w;
	uv_timer_t check;            /* while s_run_until_done runs */
};

/* What the test server saw, and how it answers. */
struct server {
	struct http_server *http;
	int port;
	int fail_first;              /* 500 to that many requests, then 200 */
	bool hang;                   /* answer nothing */
	int requests;
	long ids[MAX_SEEN];
	char events[MAX_SEEN][16];
	char types[MAX_SEEN][32];
	struct http_deferred *held[MAX_SEEN];
	int nheld;
};

/* Writes text to a new temporary file, its name into path. */
static void
s_write(char *path, size_t len, const char *text)
{
	int fd;
	const char *dir = getenv("TMPDIR");

	snprintf(path, len, "%s/test_webhook.XXXXXX", dir != NULL && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* A loop, quiet logs. */
static int
s_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || uv_loop_init(&fx->loop) != 0)
		return -1;
	log_set_level(LOG_LEVEL_ERROR);
	*state = fx;
	return 0;
}

/* Frees the webhooks if a test left them, runs the loop dry, and checks nothing is left. */
static int
s_teardown(void **state)
{
	struct fx *fx = *state;
	int rc;

	webhooks_free(&fx->w);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&fx->loop);
	if (fx->path[0])
		unlink(fx->path);
	if (fx->path2[0])
		unlink(fx->path2);
	free(fx);
	assert_int_equal(rc, 0);
	return 0;
}

/* New webhooks from text; fails the test on an error. */
static struct webhooks *
s_new(struct fx *fx, const char *text)
{
	char err[512] = "";

	s_write(fx->path, sizeof(fx->path), text);
	fx->w = webhooks_new(&fx->loop, fx->path, err, sizeof(err));
	if (fx->w == NULL)
		fail_msg("webhooks_new: %s", err);
	return fx->w;
}

/* The error webhooks_new gives for text, with the file's name replaced by "F". */
static const char *
s_error(struct fx *fx, const char *text)
{
	static char out[600];
	char err[512] = "";
	size_t n;

	s_write(fx->path, sizeof(fx->path), text);
	fx->w = webhooks_new(&fx->loop, fx->path, err, sizeof(err));
	if (fx->w != NULL)
		fail_msg("accepted: %s", text);
	n = strlen(fx->path);
	assert_memory_equal(err, fx->path, n);
	snprintf(out, sizeof(out), "F%s", err + n);
	unlink(fx->path);
	fx->path[0] = '\0';
	return out;
}

/* The counters now. */
static struct webhook_stats
s_stats(struct webhooks *w)
{
	struct webhook_stats st;

	webhooks_stats(w, &st);
	return st;
}

static void
test_backoff(void **state)
{
	(void)state;
	assert_int_equal(webhooks_backoff_ms(1000, 60000, 1), 1000);
	assert_int_equal(webhooks_backoff_ms(1000, 60000, 2), 2000);
	assert_int_equal(webhooks_backoff_ms(1000, 60000, 3), 4000);
	assert_int_equal(webhooks_backoff_ms(1000, 60000, 6), 32000);
	assert_int_equal(webhooks_backoff_ms(1000, 60000, 7), 60000);
	assert_int_equal(webhooks_backoff_ms(1000, 60000, 8), 60000);
	assert_int_equal(webhooks_backoff_ms(1000, 60000, 1000), 60000);
	assert_int_equal(webhooks_backoff_ms(100, 60000, 3), 400);
	assert_int_equal(webhooks_backoff_ms(5000, 3000, 1), 3000);
	assert_int_equal(webhooks_backoff_ms(3600000, 3600000, 99), 3600000);
}

/* Comments, blank lines, CRLF, tabs, trailing comments, settings, https. */
static void
test_good_file(void **state)
{
	struct fx *fx = *state;
	struct webhook_stats st;

	s_new(fx, "# bots of the command office\r\n"
	          "\r\n"
	          "   # an indented comment\n"
	          "attempts 3\n"
	          "backoff_ms 10\n"
	          "backoff_max_ms 100\n"
	          "timeout_ms 1000\n"
	          "max_queued 50\n"
	          "440605\thttps://bots.example.org/nanhai\r\n"
	          "  4406   http://127.0.0.1:1/city    # the whole city\n"
	          "440605001001001 http://[::1]:1/grid\n"
	          "\t\n"
	          "440606001001 HTTP://127.0.0.1:1/shunde");    /* no final newline */
	st = s_stats(fx->w);
	assert_int_equal(st.hooks, 4);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.delivered + st.failed + st.given_up + st.dropped, 0);
}

/* An empty file, and no file at all, are no hooks. */
static void
test_no_hooks(void **state)
{
	struct fx *fx = *state;
	char err[64];

	s_new(fx, "# nothing yet\n");
	assert_int_equal(s_stats(fx->w).hooks, 0);
	webhooks_post(fx->w, "440605001001001", "alert", "{}");
	assert_int_equal(s_stats(fx->w).queued, 0);
	webhooks_free(&fx->w);
	assert_null(fx->w);
	fx->w = webhooks_new(&fx->loop, NULL, err, sizeof(err));
	assert_non_null(fx->w);
	webhooks_post(fx->w, "440605001001001", "alert", "{}");
	assert_int_equal(s_stats(fx->w).queued, 0);
	webhooks_free(NULL);
}

static void
test_bad_lines(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(s_error(fx, "4406 https://a.example.org/\n440605 ftp://a.example.org/"),
	                    "F:2: the URL must be http:// or https:// with a host (at most 2048 bytes)");
	assert_string_equal(s_error(fx, "4406 a.example.org/hook"),
	                    "F:1: the URL must be http:// or https:// with a host (at most 2048 bytes)");
	assert_string_equal(s_error(fx, "4406 https:///path"),
	                    "F:1: the URL must be http:// or https:// with a host (at most 2048 bytes)");
	assert_string_equal(s_error(fx, "\n\n44060 https://a.example.org/"),
	                    "F:3: \"44060\" is not an area code (4, 6, 9, 12 or 15 digits)");
	assert_string_equal(s_error(fx, "4406x https://a.example.org/"),
	                    "F:1: \"4406x\" is not an area code (4, 6, 9, 12 or 15 digits)");
	assert_string_equal(s_error(fx, "# c\n4406\n"), "F:2: a URL must follow the area code");
	assert_string_equal(s_error(fx, "4406 https://a.example.org/ x"),
	                    "F:1: unexpected \"x\" after two words (a comment starts with '#')");
	assert_string_equal(s_error(fx, "https://a.example.org/ 4406"),
	                    "F:1: expected \"AREA_CODE URL\" or a setting (attempts, backoff_ms, "
	                    "backoff_max_ms, timeout_ms, max_queued), not \"https://a.example.org/\"");
	assert_string_equal(s_error(fx, "attempts"), "F:1: attempts must be a whole number from 1 to 100");
	assert_string_equal(s_error(fx, "attempts 101"), "F:1: attempts must be a whole number from 1 to 100");
	assert_string_equal(s_error(fx, "attempts -1"), "F:1: attempts must be a whole number from 1 to 100");
	assert_string_equal(s_error(fx, "attempts 3x"), "F:1: attempts must be a whole number from 1 to 100");
	assert_string_equal(s_error(fx, "max_queued 0"),
	                    "F:1: max_queued must be a whole number from 1 to 1000000");
	assert_string_equal(s_error(fx, "timeout_ms 99999999999999999999"),
	                    "F:1: timeout_ms must be a whole number from 1 to 600000");
	assert_string_equal(s_error(fx, "backoff_ms 10\nbackoff_ms 20"), "F:2: backoff_ms is set twice");
}

/* A missing file is named, with the reason. */
static void
test_missing_file(void **state)
{
	struct fx *fx = *state;
	char err[256];

	assert_null(webhooks_new(&fx->loop, "/nonexistent/hooks", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/hooks: cannot open the hooks file: No such file or directory");
}

/* An event goes to every URL whose hook's area covers its grid, once per URL. */
static void
test_routing(void **state)
{
	struct fx *fx = *state;
	struct webhook_stats st;

	s_new(fx, "440605 http://127.0.0.1:1/nanhai\n"
	          "4406 http://127.0.0.1:1/city\n"
	          "440606001 http://127.0.0.1:1/daliang\n"
	          "440605001 http://127.0.0.1:1/city\n");
	webhooks_post(fx->w, "440605001001001", "alert", "{\"alert_id\":1}");
	assert_int_equal(s_stats(fx->w).queued, 2);          /* nanhai, city once */
	webhooks_post(fx->w, "440606001001001", "state", "{\"alert_id\":1}");
	assert_int_equal(s_stats(fx->w).queued, 4);          /* city, daliang */
	webhooks_post(fx->w, "440607001001001", "alert", "{}");
	assert_int_equal(s_stats(fx->w).queued, 5);          /* city */
	webhooks_post(fx->w, "4407", "alert", "{}");
	webhooks_post(fx->w, "44", "alert", "{}");           /* shorter than every area */
	st = s_stats(fx->w);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.in_flight, 3);                   /* one per URL */
	assert_int_equal(st.dropped, 0);
}

/* Event names go into a header: anything but [a-z_]{1,31} is refused. */
static void
test_event_names(void **state)
{
	struct fx *fx = *state;

	s_new(fx, "4406 http://127.0.0.1:1/city\n");
	webhooks_post(fx->w, "440605001001001", "alert\r\nX-Evil: 1", "{}");
	webhooks_post(fx->w, "440605001001001", "", "{}");
	webhooks_post(fx->w, "440605001001001", "Alert", "{}");
	webhooks_post(fx->w, "440605001001001", NULL, "{}");
	webhooks_post(fx->w, "440605001001001", "abcdefghijklmnopqrstuvwxyzabcdef", "{}");
	webhooks_post(fx->w, NULL, "alert", "{}");
	webhooks_post(fx->w, "440605001001001", "alert", NULL);
	webhooks_post(NULL, "440605001001001", "alert", "{}");
	assert_int_equal(s_stats(fx->w).queued, 0);
	webhooks_post(fx->w, "440605001001001", "state_change", "{}");
	assert_int_equal(s_stats(fx->w).queued, 1);
}

/* Beyond max_queued the oldest not in flight go. */
static void
test_full_queue(void **state)
{
	struct fx *fx = *state;
	struct webhook_stats st;

	s_new(fx, "max_queued 3\n4406 http://127.0.0.1:1/a\n440605 http://127.0.0.1:1/b\n");
	for (int i = 0; i < 4; i++)
		webhooks_post(fx->w, "440605001001001", "alert", "{}");
	st = s_stats(fx->w);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.in_flight, 2);
	assert_int_equal(st.dropped, 5);
	/* What is in flight stays: then the newest, queued alone, is the oldest to go. */
	webhooks_free(&fx->w);
	unlink(fx->path);
	s_new(fx, "max_queued 1\n440605 http://127.0.0.1:1/a\n440606 http://127.0.0.1:1/b\n");
	webhooks_post(fx->w, "440605001001001", "alert", "{}");
	webhooks_post(fx->w, "440606001001001", "alert", "{}");
	st = s_stats(fx->w);
	assert_int_equal(st.queued, 1);
	assert_int_equal(st.in_flight, 1);
	assert_int_equal(st.dropped, 1);
}

/* A bad reload keeps the old hooks; a good one replaces them, and what is queued stays. */
static void
test_reload(void **state)
{
	struct fx *fx = *state;
	char err[512];

	s_new(fx, "440605 http://127.0.0.1:1/nanhai\n");
	webhooks_post(fx->w, "440605001001001", "alert", "{}");
	webhooks_post(fx->w, "440605001001001", "alert", "{}");
	assert_int_equal(s_stats(fx->w).queued, 2);

	s_write(fx->path2, sizeof(fx->path2), "4406 http://127.0.0.1:1/city\n4406 gopher://x/\n");
	assert_false(webhooks_reload(fx->w, fx->path2, err, sizeof(err)));
	assert_true(strncmp(err, fx->path2, strlen(fx->path2)) == 0);
	assert_string_equal(err + strlen(fx->path2),
	                    ":2: the URL must be http:// or https:// with a host (at most 2048 bytes)");
	assert_int_equal(s_stats(fx->w).hooks, 1);
	webhooks_post(fx->w, "440606001001001", "alert", "{}");   /* Shunde: still no hook */
	assert_int_equal(s_stats(fx->w).queued, 2);

	assert_false(webhooks_reload(fx->w, "/nonexistent/hooks", err, sizeof(err)));
	assert_int_equal(s_stats(fx->w).hooks, 1);

	unlink(fx->path2);
	s_write(fx->path2, sizeof(fx->path2), "4406 http://127.0.0.1:1/city\n440606 http://127.0.0.1:1/shunde\n");
	assert_true(webhooks_reload(fx->w, fx->path2, err, sizeof(err)));
	assert_int_equal(s_stats(fx->w).hooks, 2);
	assert_int_equal(s_stats(fx->w).queued, 0);              /* Nanhai's URL is gone... */
	assert_int_equal(s_stats(fx->w).in_flight, 0);
	assert_int_equal(s_stats(fx->w).dropped, 2);             /* ...and its two with it */
	webhooks_post(fx->w, "440606001001001", "alert", "{}");
	assert_int_equal(s_stats(fx->w).queued, 2);
	webhooks_post(fx->w, "440605001001001", "alert", "{}");
	assert_int_equal(s_stats(fx->w).queued, 3);              /* city only now */
	assert_int_equal(s_stats(fx->w).in_flight, 2);

	/* A URL kept keeps its queue, with its place in the file updated. */
	unlink(fx->path2);
	s_write(fx->path2, sizeof(fx->path2), "# moved\n440606 http://127.0.0.1:1/shunde\n");
	assert_true(webhooks_reload(fx->w, fx->path2, err, sizeof(err)));
	assert_int_equal(s_stats(fx->w).queued, 1);
	assert_int_equal(s_stats(fx->w).dropped, 4);
}

/* The test server: writes down what it got, answers as told. */
static void
s_handle(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct server *s = arg;
	int n = s->requests++;
	json_t *doc = json_loads(req->body, 0, NULL);
	const char *v;

	if (n < MAX_SEEN) {
		s->ids[n] = (long)json_integer_value(json_object_get(doc, "alert_id"));
		v = http_header(req, "X-Gridwall-Event");
		snprintf(s->events[n], sizeof(s->events[n]), "%s", v ? v : "");
		v = http_header(req, "Content-Type");
		snprintf(s->types[n], sizeof(s->types[n]), "%s", v ? v : "");
	}
	json_decref(doc);
	if (s->hang && s->nheld < MAX_SEEN && (s->held[s->nheld] = http_defer(req)) != NULL) {
		s->nheld++;
		return;
	}
	if (n < s->fail_first)
		http_respond_error(resp, 500, "not now");
	else
		http_respond_body(resp, 200, "text/plain", strdup("ok"), 2);
}

/* A check while the loop runs: stops it once nothing is queued. */
static void
s_idle_check(uv_timer_t *t)
{
	struct fx *fx = t->data;

	if (s_stats(fx->w).queued == 0)
		uv_stop(t->loop);
}

/* Runs the loop until nothing is queued (or the deadline). */
static void
s_run_until_done(struct fx *fx)
{
	uint64_t until = uv_now(&fx->loop) + RUN_DEADLINE_MS;

	uv_timer_init(&fx->loop, &fx->check);
	fx->check.data = fx;
	uv_timer_start(&fx->check, s_idle_check, 5, 5);
	while (s_stats(fx->w).queued > 0 && uv_now(&fx->loop) < until)
		uv_run(&fx->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&fx->check, NULL);
}

/* Starts the test server on a free port of loopback. */
static void
s_server_start(struct fx *fx, struct server *s)
{
	s->http = http_server_new(&fx->loop, "127.0.0.1", 0, NULL, s_handle, s);
	assert_non_null(s->http);
	s->port = http_server_port(s->http);
}

/* A 500, retried after the backoff; order and headers kept. */
static void
test_deliver(void **state)
{
	struct fx *fx = *state;
	struct server s = { .fail_first = 1 };
	struct webhook_stats st;
	char hooks[256];

	s_server_start(fx, &s);
	snprintf(hooks, sizeof(hooks), "backoff_ms 20\n4406 http://127.0.0.1:%d/hook\n", s.port);
	s_new(fx, hooks);
	webhooks_post(fx->w, "440605001001001", "alert", "{\"alert_id\":1,\"person_name\":\"x\"}");
	webhooks_post(fx->w, "440606001001001", "state", "{\"alert_id\":2}");
	webhooks_post(fx->w, "440605001001001", "alert", "{\"alert_id\":3}");
	s_run_until_done(fx);
	st = s_stats(fx->w);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.given_up, 0);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(s.requests, 4);
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[1], 1);
	assert_int_equal(s.ids[2], 2);
	assert_int_equal(s.ids[3], 3);
	assert_string_equal(s.events[0], "alert");
	assert_string_equal(s.events[2], "state");
	assert_string_equal(s.types[3], "application/json");
	webhooks_free(&fx->w);
	http_server_close(s.http, NULL, NULL);
}

/* Given up after the attempts, then the next delivery goes. */
static void
test_give_up(void **state)
{
	struct fx *fx = *state;
	struct server s = { .fail_first = 3 };
	struct webhook_stats st;
	char hooks[256];

	s_server_start(fx, &s);
	snprintf(hooks, sizeof(hooks), "attempts 3\nbackoff_ms 5\n4406 http://127.0.0.1:%d/\n", s.port);
	s_new(fx, hooks);
	webhooks_post(fx->w, "440605001001001", "alert", "{\"alert_id\":7}");
	webhooks_post(fx->w, "440605001001001", "alert", "{\"alert_id\":8}");
	s_run_until_done(fx);
	st = s_stats(fx->w);
	assert_int_equal(st.given_up, 1);
	assert_int_equal(st.failed, 3);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(s.requests, 4);
	assert_int_equal(s.ids[3], 8);
	webhooks_free(&fx->w);
	http_server_close(s.http, NULL, NULL);
}

/* Freeing with requests in flight cancels them; the loop ends with nothing left. */
static void
test_free_in_flight(void **state)
{
	struct fx *fx = *state;
	struct server s = { .hang = true };
	char hooks[256];
	uint64_t until;

	s_server_start(fx, &s);
	snprintf(hooks, sizeof(hooks), "4406 http://127.0.0.1:%d/a\n4406 http://127.0.0.1:%d/b\n",
	         s.port, s.port);
	s_new(fx, hooks);
	webhooks_post(fx->w, "440605001001001", "alert", "{\"alert_id\":1}");
	webhooks_post(fx->w, "440605001001001", "alert", "{\"alert_id\":2}");
	until = uv_now(&fx->loop) + RUN_DEADLINE_MS;
	while (s.requests < 2 && uv_now(&fx->loop) < until)
		uv_run(&fx->loop, UV_RUN_ONCE);
	assert_int_equal(s.requests, 2);
	assert_int_equal(s_stats(fx->w).in_flight, 2);
	assert_int_equal(s_stats(fx->w).queued, 4);
	webhooks_free(&fx->w);
	http_server_close(s.http, NULL, NULL);
	for (int i = 0; i < s.nheld; i++)
		http_deferred_respond(s.held[i], NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test_setup_teardown(test_good_file, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_no_hooks, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_routing, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_event_names, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_full_queue, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_reload, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_deliver, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_give_up, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_free_in_flight, s_setup, s_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
