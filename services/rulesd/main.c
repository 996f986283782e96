/*
 * gridwall-rulesd: the rule engine. Live record events from ingestd are
 * batched and evaluated against the rule files and the persons' states;
 * whenever an event is missing (lost on the fast path, or rulesd was down)
 * rulesd catches up from the screenings table from its watermark, so every
 * stored record is evaluated exactly once. SIGHUP reloads the rule files
 * whole, or keeps the running ones if the new ones are wrong.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "defaults.h"
#include "log.h"
#include "registry.h"
#include "rulesd.h"

#define OWN(field) offsetof(struct rulesd_config, field)

static const struct config_key rulesd_keys[] = {
	{ "rules", CONFIG_STRING, DEFAULT_RULES_PATH, 0, 0, true, OWN(rules),
	  "the rule file, or a folder of *.rules files read as one set (docs/rules.md)" },
	{ "batch_max", CONFIG_INT, "1000", 1, 100000, true, OWN(batch_max),
	  "most screenings evaluated in one transaction" },
	{ "flush_delay_ms", CONFIG_INT, "5", 0, 10000, true, OWN(flush_delay_ms),
	  "how long live events wait to be batched before evaluation" },
	{ "catch_up_interval_ms", CONFIG_INT, "2000", 10, 600000, true, OWN(catch_up_interval_ms),
	  "how often the table is checked for records whose event was lost" },
	{ "alerts_hwm", CONFIG_INT, "100000", 100, 10000000, false, OWN(alerts_hwm),
	  "alerts queued per subscriber before new ones are dropped" },
	{ "lifecycle_interval_ms", CONFIG_INT, "60000", 10, 3600000, true, OWN(lifecycle_interval_ms),
	  "how often observations, follow-ups and coverage are checked against the clock" },
	{ "follow_up_grace_hours", CONFIG_INT, "6", 0, 720, true, OWN(follow_up_grace_hours),
	  "how long after it was due a follow-up screening is overdue" },
	{ "coverage_gap_days", CONFIG_INT, "3", 0, 365, true, OWN(coverage_gap_days),
	  "a registered household not screened for this many days is a coverage gap (0: never)" },
	CONFIG_END,
};

static const struct rulesd_config *
s_config(struct rulesd *r)
{
	return r->daemon->config;
}

/* Forwards one assessed screening to reportd; reportd catches up if it is dropped. */
static void
s_forward(struct rulesd *r, const struct screening *s, Gridwall__V1__RiskLevel level)
{
	Gridwall__V1__ScreeningRecord rec = GRIDWALL__V1__SCREENING_RECORD__INIT;
	Gridwall__V1__RecordEvent ev = GRIDWALL__V1__RECORD_EVENT__INIT;
	char grid[AREA_CODE_MAX];
	const void *data[1];
	size_t len;
	uint8_t *buf;

	snprintf(grid, sizeof(grid), "%s", s->grid_code);
	rec.grid_code = grid;
	rec.has_screened_at = true;
	rec.screened_at = s->screened_at;
	rec.has_temperature_tenths = s->has_temperature;
	rec.temperature_tenths = s->temperature_tenths;
	ev.server_id = s->id;
	ev.record = &rec;
	ev.has_person_id = true;
	ev.person_id = s->person_id;
	ev.has_household_id = s->household_id > 0;
	ev.household_id = s->household_id;
	ev.has_level = true;
	ev.level = level;
	buf = codec_pack(&ev.base, &len);
	if (buf == NULL)
		return;
	data[0] = buf;
	bus_send(r->assessed, data, &len, 1);
	free(buf);
}

/* consumer: reads stored screenings after the watermark into the batch. */
static int
s_fetch(void *arg, int64_t after, long limit, int64_t *last)
{
	return screening_fetch_after(arg, after, limit, last);
}

/* consumer: adds one live screening to the batch. */
static void
s_add(void *arg, const void *item)
{
	batch_append(arg, item);
}

/* consumer: commits the batch; on success tells the command office and reportd. */
static int
s_commit(void *arg, int64_t last)
{
	struct rulesd *r = arg;

	if (effects_commit(r, last) != 0) {
		r->nbatch = 0;
		return -1;
	}
	if (r->nraised > 0)
		log_debug("evaluated %zu, raised %zu alerts (watermark %lld)", r->nbatch, r->nraised,
		         (long long)last);
	alert_publish_all(r);
	for (size_t i = 0; i < r->nbatch; i++)
		s_forward(r, &r->batch[i], r->levels[i]);
	r->nbatch = 0;
	return 0;
}

static void
s_discard(void *arg)
{
	((struct rulesd *)arg)->nbatch = 0;
}

static const struct consumer_ops rulesd_consumer = { s_fetch, s_add, s_commit, s_discard };

/* One live event from ingestd, offered to the consumer. */
static void
s_on_event(void *arg, struct bus_socket *sock, struct bus_msg *msg)
{
	struct rulesd *r = arg;
	Gridwall__V1__RecordEvent *ev;
	struct screening s;

	(void)sock;
	if (msg->nframes != 1 || r->daemon->draining)
		return;
	ev = gridwall__v1__record_event__unpack(NULL, bus_frame_size(msg, 0), bus_frame_data(msg, 0));
	if (ev == NULL) {
		log_warn("undecodable record event of %zu bytes dropped", bus_frame_size(msg, 0));
		return;
	}
	if (screening_from_event(ev, &s))
		consumer_offer(&r->consumer, &s);
	gridwall__v1__record_event__free_unpacked(ev, NULL);
}

/* Applies the reloadable limits to the consumer. */
static void
s_apply_limits(struct rulesd *r)
{
	const struct rulesd_config *cfg = s_config(r);
	struct consumer_limits limits = { cfg->batch_max, cfg->flush_delay_ms, cfg->catch_up_interval_ms };

	consumer_set_limits(&r->consumer, &limits);
}

static const char SQL_WATERMARK[] =
	"SELECT last_id FROM consumer_offsets WHERE consumer = 'rulesd'";

/* Prepares the statements, reads the registries, the states and the watermark; true when all are done. */
static bool
s_load_state(struct rulesd *r, int64_t *watermark)
{
	PGresult *res = db_query(r->daemon->db, "read watermark", PGRES_TUPLES_OK, SQL_WATERMARK, 0, NULL);
	struct area_tree *areas;

	if (res == NULL || !effects_prepare(r)) {
		PQclear(res);
		return false;
	}
	*watermark = PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (!risk_registry_load(r->daemon->db, &r->risk))
		return false;
	areas = registry_load_areas(r->daemon->db);
	if (areas == NULL)
		return false;
	area_tree_destroy(&r->areas);
	r->areas = areas;
	if (!state_load(r))
		return false;
	log_info("watermark %lld", (long long)*watermark);
	return true;
}

/* The database is (back): reload state and catch up before live events. */
static void
s_db_up(struct daemon *d)
{
	struct rulesd *r = d->ctx;
	int64_t watermark;

	ruleset_record(r);
	if (s_load_state(r, &watermark))
		consumer_start(&r->consumer, watermark);
}

static int
s_start(struct daemon *d)
{
	struct rulesd *r = d->ctx;
	const struct rulesd_config *cfg = d->config;

	r->daemon = d;
	if (!ruleset_reload(r))
		return -1;
	lifecycle_start(r);
	consumer_init(&r->consumer, d->loop, sizeof(struct screening), &rulesd_consumer, r);
	s_apply_limits(r);
	r->events = bus_socket_new(d->bus, ZMQ_PULL, "events", 0);
	r->alerts = bus_socket_new(d->bus, ZMQ_PUB, "alerts", 0);
	r->assessed = bus_socket_new(d->bus, ZMQ_PUSH, "assessed", 0);
	if (r->events == NULL || r->alerts == NULL || r->assessed == NULL)
		return -1;
	bus_set_int(r->alerts, ZMQ_SNDHWM, (int)cfg->alerts_hwm);
	bus_set_int(r->assessed, ZMQ_SNDHWM, 100000);
	if (bus_connect(r->events, cfg->shared.events_endpoint) != 0 ||
	    bus_bind(r->alerts, cfg->shared.alerts_endpoint) != 0 ||
	    bus_bind(r->assessed, cfg->shared.assessed_endpoint) != 0)
		return -1;
	return bus_socket_watch(r->events, s_on_event, r);
}

/* SIGHUP: the rule files, the risk areas and the limits may have changed. */
static void
s_reload(struct daemon *d, const void *old)
{
	struct rulesd *r = d->ctx;
	const struct rulesd_config *cfg = d->config;

	(void)old;
	s_apply_limits(r);
	uv_timer_set_repeat(&r->lifecycle_timer, (uint64_t)cfg->lifecycle_interval_ms);
	ruleset_reload(r);
	if (r->consumer.ready && !risk_registry_load(d->db, &r->risk))
		log_warn("risk areas not reloaded; the old ones stay");
}

/* Evaluates what is pending, then stops. */
static void
s_drain(struct daemon *d)
{
	struct rulesd *r = d->ctx;

	consumer_flush(&r->consumer);
	daemon_stop(d);
}

static void
s_stop(struct daemon *d)
{
	struct rulesd *r = d->ctx;

	log_info("evaluated=%llu alerts=%llu released=%llu overdue=%llu coverage_gaps=%llu "
	         "watermark=%lld", (unsigned long long)r->consumer.applied,
	         (unsigned long long)r->alerts_raised, (unsigned long long)r->released,
	         (unsigned long long)r->overdue, (unsigned long long)r->coverage_gaps,
	         (long long)r->consumer.watermark);
	lifecycle_stop(r);
	if (r->daemon != NULL)
		consumer_close(&r->consumer);
	bus_socket_close(&r->events);
	bus_socket_close(&r->alerts);
	bus_socket_close(&r->assessed);
	area_tree_destroy(&r->areas);
	risk_registry_free(&r->risk);
	rule_set_free(&r->rules);
	assess_free(&r->state);
	for (size_t i = 0; i < sizeof(r->cols) / sizeof(r->cols[0]); i++)
		pgarray_free(&r->cols[i]);
	for (size_t i = 0; i < sizeof(r->assessments) / sizeof(r->assessments[0]); i++)
		pgarray_free(&r->assessments[i]);
	free(r->batch);
	free(r->levels);
	free(r->raised);
}

static const struct daemon_ops rulesd_ops = {
	.name = "rulesd",
	.db_role = "gridwall_rules",
	.keys = rulesd_keys,
	.config_size = sizeof(struct rulesd_config),
	.start = s_start,
	.reload = s_reload,
	.drain = s_drain,
	.stop = s_stop,
	.db_up = s_db_up,
	.check = ruleset_check,
};

int
main(int argc, char **argv)
{
	struct rulesd r = { 0 };

	return daemon_main(argc, argv, &rulesd_ops, &r);
}
