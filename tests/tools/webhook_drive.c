/*
 * webhook_drive: drives reportd's webhooks (services/reportd/webhook.c)
 * without reportd, for tests/integration/webhook.sh. Reads the hooks file,
 * posts the events asked for, runs the loop until every delivery is
 * delivered or given up, or until the deadline, then prints the counters
 * as key=value lines (and elapsed_ms, the time the loop ran), frees the
 * webhooks with whatever is still in flight, and checks that no libuv
 * handle is left.
 *
 *   webhook_drive [-d DEADLINE_MS] HOOKS GRID:COUNT...
 *
 * Events are posted taking the GRID:COUNT arguments in turn, one event
 * each, until each has posted COUNT. Event n (from 1) is an alert in the
 * shape `gridctl alerts --json` prints, with alert_id n and the grid; odd
 * ones go as "alert" events, even ones as "state" events. Exits 2 (with
 * the error on stderr) when the hooks file is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "webhook.h"

#define DRIVE_MAX_GRIDS 16
#define DRIVE_CHECK_MS 10
#define DRIVE_DEADLINE_MS 30000

/* One GRID:COUNT argument. */
struct grid_arg {
	char grid[32];
	long count;
};

/* The run. */
struct drive {
	uv_loop_t *loop;
	struct webhooks *w;
	uv_timer_t check;
	uv_timer_t deadline;
	uint64_t started;
	bool finished;
};

/* Prints the counters and the time run, frees the webhooks, closes the timers. */
static void
s_finish(struct drive *dr)
{
	struct webhook_stats st;

	if (dr->finished)
		return;
	dr->finished = true;
	webhooks_stats(dr->w, &st);
	printf("delivered=%llu\nfailed=%llu\ngiven_up=%llu\ndropped=%llu\nqueued=%zu\n"
	       "in_flight=%zu\nhooks=%zu\nelapsed_ms=%llu\n",
	       (unsigned long long)st.delivered, (unsigned long long)st.failed,
	       (unsigned long long)st.given_up, (unsigned long long)st.dropped, st.queued,
	       st.in_flight, st.hooks, (unsigned long long)(uv_now(dr->loop) - dr->started));
	fflush(stdout);
	webhooks_free(&dr->w);
	uv_close((uv_handle_t *)&dr->check, NULL);
	uv_close((uv_handle_t *)&dr->deadline, NULL);
}

/* Every few milliseconds: done once nothing is queued any more. */
static void
s_check_cb(uv_timer_t *t)
{
	struct drive *dr = t->data;
	struct webhook_stats st;

	webhooks_stats(dr->w, &st);
	if (st.queued == 0)
		s_finish(dr);
}

/* The deadline: done, whatever is still queued. */
static void
s_deadline_cb(uv_timer_t *t)
{
	s_finish(t->data);
}

/* Reads GRID:COUNT; false if malformed. */
static bool
s_grid_arg(const char *arg, struct grid_arg *g)
{
	const char *colon = strchr(arg, ':');
	char *end;

	if (colon == NULL || colon == arg || (size_t)(colon - arg) >= sizeof(g->grid))
		return false;
	memcpy(g->grid, arg, (size_t)(colon - arg));
	g->grid[colon - arg] = '\0';
	g->count = strtol(colon + 1, &end, 10);
	return *end == '\0' && g->count >= 0;
}

/* Posts the events, taking the grids in turn. */
static void
s_post_all(struct webhooks *w, struct grid_arg *grids, int ngrids)
{
	long posted[DRIVE_MAX_GRIDS] = { 0 }, id = 0;
	bool more = true;

	while (more) {
		more = false;
		for (int i = 0; i < ngrids; i++) {
			char json[1024];

			if (posted[i] >= grids[i].count)
				continue;
			posted[i]++;
			id++;
			snprintf(json, sizeof(json),
			         "{\"alert_id\":%ld,\"kind\":\"risk\",\"level\":\"high\","
			         "\"rule_ids\":[\"fever\"],\"reasons\":[\"体温 38.5℃\"],"
			         "\"grid_code\":\"%s\",\"person_name\":\"测试者\","
			         "\"phone\":\"13912345678\",\"state\":\"open\"}", id, grids[i].grid);
			webhooks_post(w, grids[i].grid, id % 2 ? "alert" : "state", json);
			more = more || posted[i] < grids[i].count;
		}
	}
}

int
main(int argc, char **argv)
{
	struct drive dr = { 0 };
	struct grid_arg grids[DRIVE_MAX_GRIDS];
	long deadline = DRIVE_DEADLINE_MS;
	char err[1024];
	int opt, ngrids = 0, rc;

	log_init("webhook_drive");
	while ((opt = getopt(argc, argv, "d:")) != -1) {
		if (opt != 'd' || (deadline = atol(optarg)) <= 0)
			goto usage;
	}
	if (argc - optind < 1 || argc - optind - 1 > DRIVE_MAX_GRIDS)
		goto usage;
	for (int i = optind + 1; i < argc; i++)
		if (!s_grid_arg(argv[i], &grids[ngrids++]))
			goto usage;
	dr.loop = uv_default_loop();
	dr.w = webhooks_new(dr.loop, argv[optind], err, sizeof(err));
	if (dr.w == NULL) {
		fprintf(stderr, "webhook_drive: %s\n", err);
		return 2;
	}
	dr.started = uv_now(dr.loop);
	s_post_all(dr.w, grids, ngrids);
	uv_timer_init(dr.loop, &dr.check);
	uv_timer_init(dr.loop, &dr.deadline);
	dr.check.data = &dr;
	dr.deadline.data = &dr;
	uv_timer_start(&dr.check, s_check_cb, DRIVE_CHECK_MS, DRIVE_CHECK_MS);
	uv_timer_start(&dr.deadline, s_deadline_cb, (uint64_t)deadline, 0);
	uv_run(dr.loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(dr.loop);
	if (rc != 0) {
		fprintf(stderr, "webhook_drive: uv_loop_close: %s: a handle was left open\n",
		        uv_strerror(rc));
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: webhook_drive [-d DEADLINE_MS] HOOKS GRID:COUNT...\n");
	return 2;
}
