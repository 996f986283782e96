/*
 * The database connection of a daemon: one libpq connection, opened at
 * start and reopened with exponential backoff whenever it is lost. Queries
 * are synchronous on the loop; a daemon asks db_conn() and, when it is
 * NULL, answers "retry later" rather than waiting.
 */
#ifndef GRIDWALL_DB_H
#define GRIDWALL_DB_H

#include <stdbool.h>
#include <libpq-fe.h>
#include <uv.h>

struct db;

typedef void (*db_up_fn)(void *arg);

/*
 * conninfo is a libpq connection string; user, if not NULL, overrides its
 * user. up is called each time a connection is (re)established.
 */
struct db *db_new(uv_loop_t *loop, const char *conninfo, const char *user,
                  long retry_max_ms, db_up_fn up, void *arg);
/* Connects now, or schedules retries with backoff. */
void db_start(struct db *db);
/* The live connection, or NULL while down. */
PGconn *db_conn(struct db *db);
/* Reconnects done since start. */
unsigned long db_reconnects(const struct db *db);

/*
 * Runs a statement with text parameters. Returns the result if its status
 * is expect, else logs what failed (naming `what`), clears it, drops the
 * connection if it is broken and returns NULL. The caller clears a result.
 */
PGresult *db_query(struct db *db, const char *what, ExecStatusType expect,
                   const char *sql, int nparams, const char *const *params);
/*
 * Runs a statement whose parameters are in binary format (lengths given),
 * e.g. arrays built with pgarray; like db_query otherwise.
 */
PGresult *db_query_binary(struct db *db, const char *what, ExecStatusType expect, const char *sql,
                          int nparams, const char *const *values, const int *lengths);

/* Prepares a statement under a name, on the current connection; true on success. */
bool db_prepare(struct db *db, const char *what, const char *name, const char *sql);
/* Runs a prepared statement with binary parameters; like db_query_binary otherwise. */
PGresult *db_execute_binary(struct db *db, const char *what, ExecStatusType expect, const char *name,
                            int nparams, const char *const *values, const int *lengths);

/*
 * Runs several statements without parameters in one round trip (the simple
 * query protocol), e.g. "BEGIN; SELECT ..."; true if every one succeeded.
 */
bool db_script(struct db *db, const char *what, const char *sql);
/* A statement with no result rows (BEGIN, COMMIT, UPDATE...); true on success. */
bool db_command(struct db *db, const char *what, const char *sql, int nparams,
                const char *const *params);
/*
 * A transaction sent in one round trip (libpq's pipeline mode): BEGIN, the
 * statements added, COMMIT. Nothing is sent before db_batch_commit, which
 * sends them all, then reads every result in order. When one fails the
 * server skips the rest, the failure is logged naming its statement, and
 * the transaction is rolled back. A statement's result is kept in *out
 * (when out is not NULL) only if the whole transaction committed; the
 * caller clears it.
 */
#define DB_BATCH_MAX 12

struct db_batch {
	int n;
	bool failed;                      /* a statement could not even be queued */
	struct {
		const char *what;
		ExecStatusType expect;
		PGresult **out;
	} step[DB_BATCH_MAX];
};

/* Starts a transaction to be sent whole; false if the connection is down. */
bool db_batch_begin(struct db *db, struct db_batch *b);
/* Adds a statement with binary parameters (lengths given) or, when lengths is NULL, text ones. */
void db_batch_add(struct db *db, struct db_batch *b, const char *what, ExecStatusType expect,
                  const char *sql, int nparams, const char *const *values, const int *lengths,
                  PGresult **out);
/* Adds a prepared statement; its parameters as in db_batch_add. */
void db_batch_add_prepared(struct db *db, struct db_batch *b, const char *what,
                           ExecStatusType expect, const char *name, int nparams,
                           const char *const *values, const int *lengths, PGresult **out);
/* Sends the statements and COMMIT, and reads the results; true once committed. */
bool db_batch_commit(struct db *db, struct db_batch *b);

/* SQLSTATE of the last failed statement ("" if none or no server answer). */
const char *db_last_sqlstate(const struct db *db);
/* ROLLBACK if the connection is alive; never fails loudly. */
void db_rollback(struct db *db);

/* Closes the connection and the retry timer; frees once the timer is closed. */
void db_close(struct db **db_p);

/* Opens a one-off blocking connection for tools (user may be NULL). Logs and returns NULL on failure. */
PGconn *db_connect_once(const char *conninfo, const char *user);

#endif
