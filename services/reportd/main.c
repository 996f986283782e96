/*
 * gridwall-reportd: aggregates for city bodies. It counts every assessed
 * screening, alert and registration into per-area, per-day figures
 * (catching up from the tables when an event is missing), publishes them
 * on the feed, answers late subscribers' snapshot requests, serves them
 * over HTTP, and serves the command office.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "defaults.h"
#include "log.h"
#include "registry.h"
#include "reportd.h"

#define OWN(field) offsetof(struct reportd_config, field)

static const struct config_key reportd_keys[] = {
	{ "http_listen", CONFIG_STRING, DEFAULT_HTTP_LISTEN, 0, 0, false, OWN(http_listen),
	  "address:port of the HTTP API" },
	{ "batch_max", CONFIG_INT, "1000", 1, 100000, true, OWN(batch_max),
	  "most screenings counted in one transaction" },
	{ "flush_delay_ms", CONFIG_INT, "250", 0, 10000, true, OWN(flush_delay_ms),
	  "how long live events wait to be batched" },
	{ "catch_up_interval_ms", CONFIG_INT, "2000", 10, 600000, true, OWN(catch_up_interval_ms),
	  "how often the tables are checked for screenings whose event was lost" },
	{ "snapshot_interval_ms", CONFIG_INT, "1000", 50, 600000, false, OWN(snapshot_interval_ms),
	  "how often changed areas are published on the feed" },
	{ "full_snapshot_interval_ms", CONFIG_INT, "30000", 1000, 3600000, true,
	  OWN(full_snapshot_interval_ms), "how often every area of the day is published again" },
	{ "day_utc_offset_min", CONFIG_INT, "480", -720, 840, false, OWN(day_utc_offset_min),
	  "offset of the local day from UTC in minutes (480: China Standard Time)" },
	{ "webhooks", CONFIG_STRING, "", 0, 0, true, OWN(webhooks),
	  "a file of lines \"AREA URL\": alerts of that area are POSTed there (docs/webhooks.md); empty: none" },
	{ "dashboard_dir", CONFIG_STRING, "/usr/share/gridwall/dashboard", 0, 0, true,
	  OWN(dashboard_dir), "folder of the web dashboard served at / (docs/dashboard.md); empty: none" },
	{ "suppress_below", CONFIG_INT, "5", 0, 1000, true, OWN(suppress_below),
	  "k: public figures from 1 to k-1 are withheld, with their complements (docs/privacy.md)" },
	{ "coverage_days", CONFIG_INT, "3", 1, 365, false, OWN(coverage_days),
	  "a household screened within this many days counts as reached (docs/aggregates.md)" },
	{ "snapshot_endpoint", CONFIG_STRING, DEFAULT_SNAPSHOT_ENDPOINT, 0, 0, false,
	  OWN(snapshot_endpoint),
	  "ZeroMQ ROUTER where feed subscribers ask for their area's current totals (Clone pattern)" },
	CONFIG_END,
};

/* One assessed record event from rulesd, offered to the consumer. */
static void
s_on_assessed(void *arg, struct bus_socket *sock, struct bus_msg *msg)
{
	struct reportd *r = arg;
	const struct reportd_config *cfg = r->daemon->config;
	Gridwall__V1__RecordEvent *ev;
	struct counted c = { 0 };

	(void)sock;
	if (msg->nframes != 1 || r->daemon->draining)
		return;
	ev = gridwall__v1__record_event__unpack(NULL, bus_frame_size(msg, 0), bus_frame_data(msg, 0));
	if (ev == NULL) {
		log_warn("undecodable assessed event of %zu bytes dropped", bus_frame_size(msg, 0));
		return;
	}
	if (ev->record != NULL && ev->record->grid_code != NULL && ev->has_level && ev->has_person_id) {
		c.id = ev->server_id;
		c.person_id = ev->person_id;
		c.household_id = ev->has_household_id ? ev->household_id : 0;
		c.day = report_day(ev->record->screened_at, cfg->day_utc_offset_min);
		snprintf(c.grid, sizeof(c.grid), "%s", ev->record->grid_code);
		c.fever = ev->record->has_temperature_tenths && ev->record->temperature_tenths >= 373;
		consumer_offer(&r->consumer, &c);
	}
	gridwall__v1__record_event__free_unpacked(ev, NULL);
}

/* Applies the reloadable limits to the consumer. */
static void
s_apply_limits(struct reportd *r)
{
	const struct reportd_config *cfg = r->daemon->config;
	struct consumer_limits limits = { cfg->batch_max, cfg->flush_delay_ms, cfg->catch_up_interval_ms };

	consumer_set_limits(&r->consumer, &limits);
}

static const char SQL_WATERMARKS[] =
	"SELECT consumer, last_id FROM consumer_offsets "
	"WHERE consumer IN ('reportd', 'reportd.alerts', 'reportd.households')";

/* Records how reportd counts, for a rebuild; warns when it changed. */
static const char SQL_SETTINGS[] =
	"WITH old AS (SELECT day_utc_offset_min, coverage_days FROM report_settings) "
	"UPDATE report_settings SET day_utc_offset_min = $1::int, coverage_days = $2::int "
	"FROM old RETURNING old.day_utc_offset_min, old.coverage_days";

/* Writes the settings the figures are counted with; false (logged) on failure. */
static bool
s_record_settings(struct reportd *r)
{
	const struct reportd_config *cfg = r->daemon->config;
	char off[24], days[24];
	const char *params[2] = { off, days };
	PGresult *res;

	snprintf(off, sizeof(off), "%ld", cfg->day_utc_offset_min);
	snprintf(days, sizeof(days), "%ld", cfg->coverage_days);
	res = db_query(r->daemon->db, "record settings", PGRES_TUPLES_OK, SQL_SETTINGS, 2, params);
	if (res == NULL)
		return false;
	if (PQntuples(res) > 0 && (strtol(PQgetvalue(res, 0, 0), NULL, 10) != cfg->day_utc_offset_min ||
	                           strtol(PQgetvalue(res, 0, 1), NULL, 10) != cfg->coverage_days))
		log_warn("day_utc_offset_min or coverage_days changed (was %s, %s): figures already "
		         "counted keep the old ones until `gridctl report rebuild` (docs/aggregates.md)",
		         PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	return true;
}

/* Reads the three watermarks; false (logged) on failure. */
static bool
s_read_watermarks(struct reportd *r, int64_t *screenings)
{
	PGresult *res = db_query(r->daemon->db, "read watermarks", PGRES_TUPLES_OK, SQL_WATERMARKS, 0,
	                         NULL);

	if (res == NULL)
		return false;
	*screenings = r->alerts_watermark = r->households_watermark = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		int64_t v = strtoll(PQgetvalue(res, i, 1), NULL, 10);

		if (strcmp(name, "reportd") == 0)
			*screenings = v;
		else if (strcmp(name, "reportd.alerts") == 0)
			r->alerts_watermark = v;
		else
			r->households_watermark = v;
	}
	PQclear(res);
	return true;
}

/* The database is (back): reload the areas and the watermarks, catch up. */
static void
s_db_up(struct daemon *d)
{
	struct reportd *r = d->ctx;
	struct area_tree *areas = registry_load_areas(d->db);
	int64_t screenings;

	if (areas == NULL)
		return;
	area_tree_destroy(&r->areas);
	r->areas = areas;
	clone_forget(r);
	if (!s_record_settings(r) || !s_read_watermarks(r, &screenings))
		return;
	clone_refresh(r);
	consumer_start(&r->consumer, screenings);
	log_info("watermarks: screenings %lld, alerts %lld, households %lld", (long long)screenings,
	         (long long)r->alerts_watermark, (long long)r->households_watermark);
}

/* Opens the sockets (assessed events in, feed and snapshots out) and the HTTP API. */
static int
s_start(struct daemon *d)
{
	struct reportd *r = d->ctx;
	const struct reportd_config *cfg = d->config;
	char host[64], err[512];
	int port;

	r->daemon = d;
	consumer_init(&r->consumer, d->loop, sizeof(struct counted), &reportd_consumer, r);
	s_apply_limits(r);
	feed_start(r);
	r->assessed = bus_socket_new(d->bus, ZMQ_PULL, "assessed", 0);
	r->feed = bus_socket_new(d->bus, ZMQ_PUB, "feed", 0);
	if (r->assessed == NULL || r->feed == NULL)
		return -1;
	bus_set_int(r->feed, ZMQ_SNDHWM, FEED_SNDHWM);
	if (bus_connect(r->assessed, cfg->shared.assessed_endpoint) != 0 ||
	    bus_bind(r->feed, cfg->shared.feed_endpoint) != 0 || clone_start(r) != 0)
		return -1;
	if (!http_split_listen(cfg->http_listen, host, sizeof(host), &port)) {
		log_error("http_listen: \"%s\" is not host:port", cfg->http_listen);
		return -1;
	}
	r->http = http_server_new(d->loop, host, port, NULL, api_handle, r);
	if (r->http == NULL)
		return -1;
	log_info("HTTP API on http://%s:%d/v1/aggregates", host, http_server_port(r->http));
	r->hub.hooks = webhooks_new(d->loop, *cfg->webhooks ? cfg->webhooks : NULL, err, sizeof(err));
	if (r->hub.hooks == NULL) {
		log_error("webhooks: %s", err);
		return -1;
	}
	if (stream_start(&r->hub, d->loop, d->bus, cfg->shared.alerts_endpoint, d->db) != 0)
		return -1;
	return bus_socket_watch(r->assessed, s_on_assessed, r);
}

/* SIGHUP: the consumer's limits may have changed. */
static void
s_reload(struct daemon *d, const void *old)
{
	struct reportd *r = d->ctx;
	const struct reportd_config *cfg = d->config;
	char err[512];

	(void)old;
	s_apply_limits(r);
	/* today is read again: a rebuild may have changed it, suppress_below may have */
	clone_forget(r);
	clone_refresh(r);
	if (r->hub.hooks != NULL &&
	    !webhooks_reload(r->hub.hooks, *cfg->webhooks ? cfg->webhooks : NULL, err, sizeof(err)))
		log_error("webhooks not reloaded, the old ones stay: %s", err);
}

/* Counts what is pending, then stops. */
static void
s_drain(struct daemon *d)
{
	struct reportd *r = d->ctx;

	consumer_flush(&r->consumer);
	daemon_stop(d);
}

/* Closes everything reportd opened. */
static void
s_stop(struct daemon *d)
{
	struct reportd *r = d->ctx;

	log_info("counted=%llu watermark=%lld snapshots=%llu snapshot_requests=%llu refused=%llu "
	         "undelivered=%llu", (unsigned long long)r->consumer.applied,
	         (long long)r->consumer.watermark, (unsigned long long)r->snapshots_published,
	         (unsigned long long)r->snapshot_requests, (unsigned long long)r->snapshot_refused,
	         (unsigned long long)r->snapshot_undelivered);
	if (r->daemon != NULL) {
		consumer_close(&r->consumer);
		stream_stop(&r->hub);
		webhooks_free(&r->hub.hooks);
		feed_stop(r);
	}
	if (r->http != NULL)
		http_server_close(r->http, NULL, NULL);
	r->http = NULL;
	bus_socket_close(&r->assessed);
	bus_socket_close(&r->feed);
	clone_stop(r);
	area_tree_destroy(&r->areas);
	cell_map_free(&r->deltas);
	free(r->batch);
}

static const struct daemon_ops reportd_ops = {
	.name = "reportd",
	.db_role = "gridwall_report",
	.keys = reportd_keys,
	.config_size = sizeof(struct reportd_config),
	.start = s_start,
	.reload = s_reload,
	.drain = s_drain,
	.stop = s_stop,
	.db_up = s_db_up,
};

int
main(int argc, char **argv)
{
	struct reportd r = { 0 };

	return daemon_main(argc, argv, &reportd_ops, &r);
}
