/*
 * webhook_sink: a receiver of webhooks for tests, on lib/http.h. Appends
 * the body of every POST it receives to FILE as one line (flushed at once,
 * so a test can read it while the sink runs), then answers 500 to the
 * first FAIL_FIRST requests and 200 to the others; with "hang" it answers
 * nothing, ever (the request is deferred and forgotten), as a receiver
 * that accepts and stalls. A request without "Content-Type:
 * application/json" and "X-Gridwall-Event: alert|state" is answered 400
 * and counted as bad. On SIGTERM it prints
 * "requests=N alert=N state=N bad=N" and exits 0.
 *
 *   webhook_sink PORT FILE [FAIL_FIRST [hang]]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "grow.h"
#include "http.h"
#include "log.h"

#define SINK_DEFER_MS (24u * 3600 * 1000)     /* a hung answer outlives any test */

/* The sink's state. */
struct sink {
	uv_loop_t *loop;
	struct http_server *server;
	uv_signal_t term;
	FILE *out;
	long fail_first;
	bool hang;
	long requests;
	long alerts;
	long states;
	long bad;
	struct http_deferred **held;     /* the hung requests' tokens */
	size_t nheld;
	size_t cap;
};

/* Whether the request carries the headers a webhook must have; counts its event. */
static bool
s_headers_ok(struct sink *s, const struct http_request *req)
{
	const char *type = http_header(req, "Content-Type");
	const char *event = http_header(req, "X-Gridwall-Event");

	if (type == NULL || strcasecmp(type, "application/json") != 0 || event == NULL)
		return false;
	if (strcmp(event, "alert") == 0)
		s->alerts++;
	else if (strcmp(event, "state") == 0)
		s->states++;
	else
		return false;
	return true;
}

/* Every request: written down, then answered as the arguments say. */
static void
s_handle(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct sink *s = arg;
	struct http_deferred *d;

	if (strcmp(req->method, "POST") != 0) {
		http_respond_error(resp, 405, "POST only");
		return;
	}
	s->requests++;
	if (!s_headers_ok(s, req)) {
		s->bad++;
		fprintf(stderr, "webhook_sink: request %ld lacks Content-Type: application/json or "
		        "X-Gridwall-Event: alert|state\n", s->requests);
		http_respond_error(resp, 400, "bad headers");
		return;
	}
	fprintf(s->out, "%s\n", req->body);
	fflush(s->out);
	if (s->hang) {
		if (grow((void **)&s->held, &s->cap, s->nheld + 1, sizeof(*s->held), 16) &&
		    (d = http_defer(req)) != NULL) {
			s->held[s->nheld++] = d;
			return;
		}
		http_respond_error(resp, 503, "cannot hang");
		return;
	}
	if (s->requests <= s->fail_first)
		http_respond_error(resp, 500, "failing on purpose");
	else
		http_respond_body(resp, 200, "application/json", strdup("{}"), 2);
}

/* SIGTERM: the summary, then everything closes and the loop ends. */
static void
s_on_term(uv_signal_t *sig, int signum)
{
	struct sink *s = sig->data;

	(void)signum;
	printf("requests=%ld alert=%ld state=%ld bad=%ld\n", s->requests, s->alerts, s->states,
	       s->bad);
	fflush(stdout);
	http_server_close(s->server, NULL, NULL);
	for (size_t i = 0; i < s->nheld; i++)
		http_deferred_respond(s->held[i], NULL);
	s->nheld = 0;
	uv_close((uv_handle_t *)&s->term, NULL);
}

int
main(int argc, char **argv)
{
	struct sink s = { 0 };
	struct http_limits limits = { .deferred_timeout_ms = SINK_DEFER_MS };
	int port;

	if (argc < 3 || argc > 5 || (argc == 5 && strcmp(argv[4], "hang") != 0)) {
		fprintf(stderr, "usage: webhook_sink PORT FILE [FAIL_FIRST [hang]]\n");
		return 2;
	}
	log_init("webhook_sink");
	signal(SIGPIPE, SIG_IGN);
	port = atoi(argv[1]);
	s.fail_first = argc >= 4 ? atol(argv[3]) : 0;
	s.hang = argc == 5;
	s.out = fopen(argv[2], "a");
	if (s.out == NULL) {
		perror(argv[2]);
		return 2;
	}
	s.loop = uv_default_loop();
	s.server = http_server_new(s.loop, "127.0.0.1", port, &limits, s_handle, &s);
	if (s.server == NULL) {
		fprintf(stderr, "webhook_sink: cannot listen on 127.0.0.1:%d\n", port);
		return 2;
	}
	uv_signal_init(s.loop, &s.term);
	s.term.data = &s;
	uv_signal_start(&s.term, s_on_term, SIGTERM);
	uv_run(s.loop, UV_RUN_DEFAULT);
	uv_loop_close(s.loop);
	fclose(s.out);
	free(s.held);
	return 0;
}
