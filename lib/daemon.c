/*
 * The daemon skeleton: command line, config, logging, signals, the libuv
 * loop with its ZeroMQ bus, and the database connection, written once for
 * every gridwall daemon. Signals arrive through libuv, so their handlers run
 * on the loop like everything else and never interrupt work.
 */
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "defaults.h"
#include "log.h"

#define SHARED(field) offsetof(struct daemon_config, field)

const struct config_key daemon_shared_keys[] = {
	{ "log_level", CONFIG_STRING, "info", 0, 0, true, SHARED(log_level),
	  "debug, info, warn or error" },
	{ "database", CONFIG_STRING, DEFAULT_DATABASE, 0, 0, false, SHARED(database),
	  "libpq connection string of the gridwall database, without user" },
	{ "db_user", CONFIG_STRING, "", 0, 0, false, SHARED(db_user),
	  "database role of this daemon (default: its own gridwall_* role)" },
	{ "ingest_endpoint", CONFIG_STRING, DEFAULT_INGEST_ENDPOINT, 0, 0, false,
	  SHARED(ingest_endpoint), "ZeroMQ ROUTER where field apps submit records" },
	{ "events_endpoint", CONFIG_STRING, DEFAULT_EVENTS_ENDPOINT, 0, 0, false,
	  SHARED(events_endpoint), "ingestd PUSH of record events to rulesd" },
	{ "alerts_endpoint", CONFIG_STRING, DEFAULT_ALERTS_ENDPOINT, 0, 0, false,
	  SHARED(alerts_endpoint), "rulesd PUB of risk alerts, topic = grid code" },
	{ "assessed_endpoint", CONFIG_STRING, DEFAULT_ASSESSED_ENDPOINT, 0, 0, false,
	  SHARED(assessed_endpoint), "rulesd PUSH of assessed record events to reportd" },
	{ "feed_endpoint", CONFIG_STRING, DEFAULT_FEED_ENDPOINT, 0, 0, false,
	  SHARED(feed_endpoint), "reportd PUB of aggregate snapshots, topic = area code" },
	{ "db_retry_max_ms", CONFIG_INT, "5000", 100, 600000, true, SHARED(db_retry_max_ms),
	  "longest wait between database reconnect attempts (ms)" },
	CONFIG_END,
};

/* Prints how to call a daemon. */
static void
s_usage(const char *prog, FILE *out)
{
	fprintf(out,
	        "usage: %s [-n] [-c FILE] [-s KEY=VALUE]...\n"
	        "  -c FILE       config file (INI: [gridwall] and the daemon's section)\n"
	        "  -s KEY=VALUE  set a config key, over the file (repeatable)\n"
	        "  -n            check the config (and what it names: rulesd's rules), print it and exit\n"
	        "  -h            this help\n", prog);
}

/* Applies the settings that take effect at once: the log level. */
static bool
s_apply_logging(const struct daemon_config *cfg)
{
	enum log_level level;

	if (!log_level_parse(cfg->log_level, &level)) {
		log_error("log_level: \"%s\" is not debug, info, warn or error", cfg->log_level);
		return false;
	}
	log_set_level(level);
	return true;
}

/* SIGHUP: build a fresh config; swap it in only when it is valid. */
static void
s_reload(struct daemon *d)
{
	char err[512];
	void *fresh, *old;

	fresh = config_load(&d->schema, d->config_path, d->overrides, d->noverrides, err, sizeof(err));
	if (fresh == NULL) {
		log_error("config file %s has errors, not reloading: %s",
		          d->config_path ? d->config_path : "(none)", err);
		return;
	}
	config_keep_fixed(&d->schema, fresh, d->config);
	if (!s_apply_logging(fresh)) {
		config_free(&d->schema, fresh);
		return;
	}
	old = d->config;
	d->config = fresh;
	log_info("configuration reloaded");
	if (d->ops->reload != NULL)
		d->ops->reload(d, old);
	config_free(&d->schema, old);
}

static void
s_signal_cb(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	if (signum == SIGHUP) {
		s_reload(d);
		return;
	}
	if (d->draining) {
		log_info("second stop signal: stopping now");
		daemon_stop(d);
		return;
	}
	log_info("stop signal: draining");
	d->draining = true;
	if (d->ops->drain != NULL)
		d->ops->drain(d);
	else
		daemon_stop(d);
}

/* Watches one signal on the loop. */
static void
s_watch_signal(struct daemon *d, uv_signal_t *h, int signum)
{
	uv_signal_init(d->loop, h);
	h->data = d;
	uv_signal_start(h, s_signal_cb, signum);
}

void
daemon_stop(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	if (d->ops->stop != NULL)
		d->ops->stop(d);
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
	uv_close((uv_handle_t *)&d->sig_hup, NULL);
	db_close(&d->db);
	bus_close(d->bus);
}

static void
s_db_up(void *arg)
{
	struct daemon *d = arg;

	if (d->ops->db_up != NULL && !d->stopping)
		d->ops->db_up(d);
}

/* Parses the command line; returns -1 on a usage error, 1 for -n, 0 to run. */
static int
s_parse_args(struct daemon *d, int argc, char **argv)
{
	int check_only = 0;
	int c;

	d->overrides = calloc((size_t)argc, sizeof(char *));
	while ((c = getopt(argc, argv, "c:s:nh")) != -1) {
		switch (c) {
		case 'c':
			d->config_path = optarg;
			break;
		case 's':
			d->overrides[d->noverrides++] = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'h':
			s_usage(argv[0], stdout);
			exit(0);
		default:
			s_usage(argv[0], stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", argv[0], argv[optind]);
		return -1;
	}
	return check_only;
}

/* Sets up loop, signals, bus and database, then starts the daemon's job. */
static int
s_run(struct daemon *d)
{
	const struct daemon_config *cfg = d->config;
	const char *user = *cfg->db_user ? cfg->db_user : d->ops->db_role;
	uv_loop_t loop;

	uv_loop_init(&loop);
	d->loop = &loop;
	s_watch_signal(d, &d->sig_term, SIGTERM);
	s_watch_signal(d, &d->sig_int, SIGINT);
	s_watch_signal(d, &d->sig_hup, SIGHUP);
	d->bus = bus_new(&loop);
	d->db = db_new(&loop, cfg->database, user, cfg->db_retry_max_ms, s_db_up, d);
	if (d->bus == NULL || d->db == NULL || d->ops->start(d) != 0) {
		log_error("cannot start");
		daemon_stop(d);
		uv_run(&loop, UV_RUN_DEFAULT);
		bus_destroy(&d->bus);
		uv_loop_close(&loop);
		return 1;
	}
	log_info("started");
	db_start(d->db);
	uv_run(&loop, UV_RUN_DEFAULT);
	bus_destroy(&d->bus);
	if (uv_loop_close(&loop) != 0)
		log_warn("loop closed with handles still open");
	log_info("stopped");
	return 0;
}

int
daemon_main(int argc, char **argv, const struct daemon_ops *ops, void *ctx)
{
	struct daemon d = { .ops = ops, .ctx = ctx };
	char err[512];
	int rc;

	d.schema = (struct config_schema){ ops->name, daemon_shared_keys, ops->keys, ops->config_size };
	log_init(ops->name);
	/* A peer that hangs up mid-write is an error to handle, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	rc = s_parse_args(&d, argc, argv);
	if (rc < 0) {
		free(d.overrides);
		return 2;
	}
	d.config = config_load(&d.schema, d.config_path, d.overrides, d.noverrides, err, sizeof(err));
	if (d.config == NULL) {
		fprintf(stderr, "%s: %s\n", ops->name, err);
		free(d.overrides);
		return 1;
	}
	if (rc == 1) {
		config_print(&d.schema, d.config, stdout);
		rc = ops->check != NULL ? ops->check(d.config) : 0;
	} else if (!s_apply_logging(d.config)) {
		rc = 1;
	} else {
		rc = s_run(&d);
	}
	config_free(&d.schema, d.config);
	free(d.overrides);
	return rc;
}
