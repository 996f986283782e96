/*
 * The one daemon skeleton. A daemon's main fills a daemon_ops table and
 * calls daemon_main, which parses the command line and config, sets up
 * logging, the libuv loop, signals, the ZeroMQ context and the database
 * connection, then calls the ops. The daemon's own file is only its job.
 *
 * Signals: SIGHUP reloads the config (then ops->reload); the first SIGTERM
 * or SIGINT calls ops->drain, which finishes work in progress and calls
 * daemon_stop; a second one stops at once.
 */
#ifndef GRIDWALL_DAEMON_H
#define GRIDWALL_DAEMON_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "db.h"
#include "bus.h"

/* The keys every daemon shares, first member of each daemon's config struct. */
struct daemon_config {
	char *log_level;
	char *database;           /* libpq conninfo without user */
	char *db_user;            /* the daemon's own role */
	char *ingest_endpoint;
	char *events_endpoint;
	char *alerts_endpoint;
	char *assessed_endpoint;
	char *feed_endpoint;
	long db_retry_max_ms;
};

/* The shared rows of every daemon's config table. */
extern const struct config_key daemon_shared_keys[];

struct daemon;

struct daemon_ops {
	const char *name;                     /* "ingestd": section and log ident */
	const char *db_role;                  /* default database role, e.g. "gridwall_ingest" */
	const struct config_key *keys;        /* the daemon's own keys, CONFIG_END-terminated */
	size_t config_size;                   /* sizeof its config struct */
	/* After loop, bus and db are set up; nonzero aborts start. */
	int (*start)(struct daemon *d);
	/* After a new config was swapped in; old is still readable here. */
	void (*reload)(struct daemon *d, const void *old_config);
	/* Stop taking work, finish what is in flight, then call daemon_stop. */
	void (*drain)(struct daemon *d);
	/* Close the daemon's handles and sockets; the loop then ends. */
	void (*stop)(struct daemon *d);
	/* The database came (back) up: catch up, resume. May be NULL. */
	void (*db_up)(struct daemon *d);
	/* -n: checks what the config names beyond itself (rule files...); 0 if fit. May be NULL. */
	int (*check)(const void *config);
};

struct daemon {
	const struct daemon_ops *ops;
	struct config_schema schema;
	void *config;                         /* starts with struct daemon_config */
	char *config_path;
	char **overrides;
	int noverrides;
	uv_loop_t *loop;
	struct bus *bus;
	struct db *db;
	void *ctx;                            /* the daemon's own state */
	bool draining;
	bool stopping;
	uv_signal_t sig_term, sig_int, sig_hup;
};

/* Runs a daemon to completion; returns the process exit status. */
int daemon_main(int argc, char **argv, const struct daemon_ops *ops, void *ctx);

/* Called by the daemon when drained (or to stop at once): closes everything. */
void daemon_stop(struct daemon *d);

#endif
