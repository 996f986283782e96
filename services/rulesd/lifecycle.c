/*
 * rulesd's clock. Every lifecycle_interval_ms it lets time move the states
 * on (lib/assess.c: assess_tick): observations that ended without fever
 * release their persons, follow-ups not done in time are overdue, and
 * registered households not screened for coverage_gap_days are gaps. The
 * changes and their alerts are one transaction, like a batch's. The clock
 * waits while rulesd is catching up: a screening not yet read could still
 * show the fever that keeps someone under observation.
 */
#include <time.h>

#include "log.h"
#include "rulesd.h"

#define HOUR_S 3600
#define DAY_S 86400
#define SLOW_TICK_MS 50.0       /* a tick slower than this is logged: it holds up alerts */

/* assess_tick: raises the alert of one event. */
static bool
s_event(void *arg, const struct assess_event *ev)
{
	return alert_event(arg, ev);
}

int
lifecycle_tick(struct rulesd *r, int64_t now)
{
	const struct rulesd_config *cfg = r->daemon->config;
	struct assess_clock clock = { now, cfg->follow_up_grace_hours * HOUR_S,
	                              cfg->coverage_gap_days * DAY_S };

	r->nraised = 0;
	if (!state_load_new_households(r))
		return -1;
	assess_begin(&r->state);
	if (!assess_tick(&r->state, &clock, s_event, r) || !effects_write(r, 0, 0)) {
		assess_rollback(&r->state);
		r->nraised = 0;
		return -1;
	}
	assess_commit(&r->state);
	if (r->nraised > 0)
		log_info("clock: %zu alerts", r->nraised);
	alert_publish_all(r);
	return 0;
}

/* The timer: one tick when rulesd is up to date. */
static void
s_timer_cb(uv_timer_t *t)
{
	struct rulesd *r = t->data;
	uint64_t start = uv_hrtime();
	double ms;

	if (!r->state_loaded || !r->consumer.ready || r->consumer.catching_up || r->daemon->draining)
		return;
	if (lifecycle_tick(r, (int64_t)time(NULL)) != 0)
		log_warn("clock tick failed; trying again at the next");
	ms = (double)(uv_hrtime() - start) / 1e6;
	if (ms >= SLOW_TICK_MS)
		log_info("slow clock tick: %.0f ms over %zu households and %zu persons", ms,
		         r->state.nhouseholds, r->state.npersons);
}

void
lifecycle_start(struct rulesd *r)
{
	const struct rulesd_config *cfg = r->daemon->config;

	uv_timer_init(r->daemon->loop, &r->lifecycle_timer);
	r->lifecycle_timer.data = r;
	uv_timer_start(&r->lifecycle_timer, s_timer_cb, (uint64_t)cfg->lifecycle_interval_ms,
	               (uint64_t)cfg->lifecycle_interval_ms);
}

void
lifecycle_stop(struct rulesd *r)
{
	if (r->lifecycle_timer.data != NULL)
		uv_close((uv_handle_t *)&r->lifecycle_timer, NULL);
}
