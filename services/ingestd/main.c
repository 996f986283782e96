/*
 * gridwall-ingestd: the intake of screening records. A ZeroMQ ROUTER for
 * field apps and an HTTP endpoint for web forms feed one group commit
 * (group.c); store.c writes each group in one transaction; every record is
 * answered after COMMIT and stored records are PUSHed to rulesd.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "curve.h"
#include "defaults.h"
#include "ingestd.h"
#include "log.h"
#include "registry.h"

#define OWN(field) offsetof(struct ingest_config, field)
/* The ZAP domain of the device intake: the handler answers for it only. */
#define ZAP_DOMAIN "gridwall-devices"

static const struct config_key ingest_keys[] = {
	{ "max_batch_records", CONFIG_INT, "1000", 1, 100000, true, OWN(max_batch_records),
	  "most records in one request; a larger one is refused whole" },
	{ "max_message_bytes", CONFIG_INT, "4194304", 1024, 268435456, false, OWN(max_message_bytes),
	  "largest ZeroMQ frame accepted from a device (ZMQ_MAXMSGSIZE)" },
	{ "events_hwm", CONFIG_INT, "100000", 100, 10000000, false, OWN(events_hwm),
	  "record events queued for rulesd before new ones are dropped (rulesd catches up from the table)" },
	{ "retry_after_ms", CONFIG_INT, "1000", 10, 60000, true, OWN(retry_after_ms),
	  "how long a device is told to wait when the database is unavailable or ingestd is full" },
	{ "group_max_records", CONFIG_INT, "4000", 1, 1000000, true, OWN(group_max_records),
	  "a group is committed as soon as it holds this many records" },
	{ "max_inflight_records", CONFIG_INT, "50000", 1, 10000000, true, OWN(max_inflight_records),
	  "records accepted for storing and not yet answered; beyond, requests are told to retry later" },
	{ "http_listen", CONFIG_STRING, DEFAULT_INGEST_HTTP_LISTEN, 0, 0, false, OWN(http_listen),
	  "address:port of POST /v1/screenings, /healthz and /metrics (empty: no HTTP)" },
	{ "http_max_body_bytes", CONFIG_INT, "4194304", 1024, 268435456, false, OWN(http_max_body_bytes),
	  "largest HTTP request body; beyond, 413" },
	{ "http_idle_timeout_ms", CONFIG_INT, "30000", 100, 3600000, false, OWN(http_idle_timeout_ms),
	  "an HTTP connection idle or sending this slowly is closed" },
	{ "http_max_connections", CONFIG_INT, "1024", 1, 100000, false, OWN(http_max_connections),
	  "HTTP connections open at once; beyond, new ones are closed" },
	{ "security", CONFIG_STRING, "none", 0, 0, false, OWN(security),
	  "none, or curve: devices authenticate with CurveZMQ keys from curve_devices_dir" },
	{ "curve_server_key_file", CONFIG_STRING, "", 0, 0, false, OWN(curve_server_key_file),
	  "the server's key pair (gridctl keygen --server), with security = curve" },
	{ "curve_devices_dir", CONFIG_STRING, "", 0, 0, true, OWN(curve_devices_dir),
	  "the allowlist: one NAME.pub per device; SIGHUP re-reads it (revocation)" },
	CONFIG_END,
};

/* Starts the HTTP intake when configured. */
static int
s_start_http(struct ingestd *in, const struct ingest_config *cfg)
{
	struct http_limits limits = { 0 };
	char host[64];
	int port;

	if (cfg->http_listen[0] == '\0')
		return 0;
	if (!http_split_listen(cfg->http_listen, host, sizeof(host), &port)) {
		log_error("http_listen: \"%s\" is not host:port", cfg->http_listen);
		return -1;
	}
	limits.max_body_bytes = (size_t)cfg->http_max_body_bytes;
	limits.idle_timeout_ms = (unsigned)cfg->http_idle_timeout_ms;
	limits.max_connections = (unsigned)cfg->http_max_connections;
	in->http = http_server_new(in->daemon->loop, host, port, &limits, intake_http_request, in);
	if (in->http == NULL)
		return -1;
	log_info("HTTP intake on http://%s:%d/v1/screenings", host, http_server_port(in->http));
	return 0;
}

/* With security = curve: the allowlist's ZAP handler, and the intake as a Curve server. */
static int
s_start_curve(struct ingestd *in, const struct ingest_config *cfg)
{
	char err[256];

	if (strcmp(cfg->security, "none") == 0)
		return 0;
	if (strcmp(cfg->security, "curve") != 0) {
		log_error("security: \"%s\" is not none or curve", cfg->security);
		return -1;
	}
	in->zap = zap_handler_new(in->daemon->bus, cfg->curve_devices_dir, ZAP_DOMAIN, err, sizeof(err));
	if (in->zap == NULL ||
	    curve_server_setup(bus_socket_zmq(in->router), cfg->curve_server_key_file, ZAP_DOMAIN,
	                       err, sizeof(err)) != 0) {
		log_error("security = curve: %s", err);
		return -1;
	}
	log_info("devices authenticate with CurveZMQ: %zu listed in %s", zap_device_count(in->zap),
	         cfg->curve_devices_dir);
	return 0;
}

/* The database is (back): load the area tree, make the group statements ready. */
static void
s_db_up(struct daemon *d)
{
	struct ingestd *in = d->ctx;
	struct area_tree *areas;

	areas = registry_load_areas(d->db);
	if (areas != NULL) {
		area_tree_destroy(&in->areas);
		in->areas = areas;
	}
	store_ready(in);
}

static int
s_start(struct daemon *d)
{
	struct ingestd *in = d->ctx;
	const struct ingest_config *cfg = d->config;

	in->daemon = d;
	group_init(in);
	in->router = bus_socket_new(d->bus, ZMQ_ROUTER, "intake", 1000);
	in->events = bus_socket_new(d->bus, ZMQ_PUSH, "events", 0);
	if (in->router == NULL || in->events == NULL)
		return -1;
	bus_set_int64(in->router, ZMQ_MAXMSGSIZE, cfg->max_message_bytes);
	bus_set_int(in->events, ZMQ_SNDHWM, (int)cfg->events_hwm);
	if (s_start_curve(in, cfg) != 0 ||
	    bus_bind(in->router, cfg->shared.ingest_endpoint) != 0 ||
	    bus_bind(in->events, cfg->shared.events_endpoint) != 0 ||
	    s_start_http(in, cfg) != 0)
		return -1;
	return bus_socket_watch(in->router, intake_zmq_message, in);
}

/*
 * Reloads the device allowlist (a removed key is refused from then on) and
 * the area tree (new grids become valid without a restart).
 */
static void
s_reload(struct daemon *d, const void *old)
{
	struct ingestd *in = d->ctx;
	const struct ingest_config *cfg = d->config;
	struct area_tree *fresh;
	char err[256];

	(void)old;
	if (in->zap != NULL && zap_handler_reload(in->zap, cfg->curve_devices_dir, err, sizeof(err)) != 0)
		log_error("device allowlist not reloaded, the old one stays: %s", err);
	else if (in->zap != NULL)
		log_info("device allowlist reloaded: %zu devices", zap_device_count(in->zap));
	fresh = registry_load_areas(d->db);
	if (fresh == NULL) {
		log_warn("areas not reloaded; the old ones stay");
		return;
	}
	area_tree_destroy(&in->areas);
	in->areas = fresh;
}

/* Commits and answers what is gathered, then stops. */
static void
s_drain(struct daemon *d)
{
	group_flush(d->ctx);
	daemon_stop(d);
}

static void
s_stop(struct daemon *d)
{
	struct ingestd *in = d->ctx;
	const struct ingest_stats *st = &in->stats;

	log_info("accepted=%llu duplicate=%llu rejected=%llu groups=%llu retry_later=%llu "
	         "bad_requests=%llu events_dropped=%llu fallbacks=%llu",
	         (unsigned long long)st->accepted, (unsigned long long)st->duplicate,
	         (unsigned long long)st->rejected, (unsigned long long)st->groups,
	         (unsigned long long)st->retry_later, (unsigned long long)st->bad_requests,
	         (unsigned long long)st->events_dropped, (unsigned long long)st->fallbacks);
	if (in->daemon != NULL)
		group_close(in);
	if (in->http != NULL)
		http_server_close(in->http, NULL, NULL);
	in->http = NULL;
	bus_socket_close(&in->router);
	bus_socket_close(&in->events);
	zap_handler_close(&in->zap);
	area_tree_destroy(&in->areas);
}

static const struct daemon_ops ingest_ops = {
	.name = "ingestd",
	.db_role = "gridwall_ingest",
	.keys = ingest_keys,
	.config_size = sizeof(struct ingest_config),
	.start = s_start,
	.reload = s_reload,
	.drain = s_drain,
	.stop = s_stop,
	.db_up = s_db_up,
};

int
main(int argc, char **argv)
{
	struct ingestd in = { 0 };

	return daemon_main(argc, argv, &ingest_ops, &in);
}
