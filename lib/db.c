/*
 * One libpq connection per daemon with reconnect and exponential backoff.
 * Statements run synchronously; whoever finds the connection broken drops
 * it here, and a timer brings it back, calling the daemon's up callback so
 * it can catch up from its watermark.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

#define DB_RETRY_MIN_MS 100
#define DB_MAX_PARAMS 64

struct db {
	uv_loop_t *loop;
	char *conninfo;
	char *user;
	long retry_max_ms;
	long retry_ms;
	PGconn *conn;
	uv_timer_t timer;
	db_up_fn up;
	void *arg;
	unsigned long reconnects;
	bool ever_up;
	char sqlstate[6];
};

/* Silences libpq's notices (e.g. "relation already exists, skipping"). */
static void
s_notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("postgres: %s", message);
}

PGconn *
db_connect_once(const char *conninfo, const char *user)
{
	/* Keywords apply in order: the user given here overrides the conninfo's. */
	const char *keys[4] = { "dbname", "connect_timeout", NULL, NULL };
	const char *vals[4] = { conninfo, "5", NULL, NULL };
	PGconn *conn;

	if (user != NULL) {
		keys[2] = "user";
		vals[2] = user;
	}
	conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		char *msg = PQerrorMessage(conn);
		size_t n = strlen(msg);

		while (n > 0 && msg[n - 1] == '\n')
			msg[--n] = '\0';
		log_warn("database unavailable: %s", msg);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, s_notice, NULL);
	return conn;
}

struct db *
db_new(uv_loop_t *loop, const char *conninfo, const char *user, long retry_max_ms,
       db_up_fn up, void *arg)
{
	struct db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	db->loop = loop;
	db->conninfo = strdup(conninfo);
	db->user = user && *user ? strdup(user) : NULL;
	db->retry_max_ms = retry_max_ms > DB_RETRY_MIN_MS ? retry_max_ms : DB_RETRY_MIN_MS;
	db->retry_ms = DB_RETRY_MIN_MS;
	db->up = up;
	db->arg = arg;
	uv_timer_init(loop, &db->timer);
	db->timer.data = db;
	return db;
}

static void s_retry_cb(uv_timer_t *t);

/* Tries to connect; on failure schedules the next try with doubled delay. */
static void
s_try_connect(struct db *db)
{
	db->conn = db_connect_once(db->conninfo, db->user);
	if (db->conn == NULL) {
		log_warn("database: retrying in %ld ms", db->retry_ms);
		uv_timer_start(&db->timer, s_retry_cb, (uint64_t)db->retry_ms, 0);
		db->retry_ms *= 2;
		if (db->retry_ms > db->retry_max_ms)
			db->retry_ms = db->retry_max_ms;
		return;
	}
	if (db->ever_up)
		db->reconnects++;
	db->ever_up = true;
	db->retry_ms = DB_RETRY_MIN_MS;
	log_info("database connected%s", db->reconnects ? " again" : "");
	if (db->up != NULL)
		db->up(db->arg);
}

static void
s_retry_cb(uv_timer_t *t)
{
	s_try_connect(t->data);
}

void
db_start(struct db *db)
{
	s_try_connect(db);
}

PGconn *
db_conn(struct db *db)
{
	return db->conn;
}

unsigned long
db_reconnects(const struct db *db)
{
	return db->reconnects;
}

/* Drops a broken connection and schedules a reconnect. */
static void
s_lost(struct db *db)
{
	log_warn("database connection lost; reconnecting");
	PQfinish(db->conn);
	db->conn = NULL;
	if (!uv_is_closing((uv_handle_t *)&db->timer))
		uv_timer_start(&db->timer, s_retry_cb, (uint64_t)db->retry_ms, 0);
}

/* Keeps a result of the expected status; otherwise logs, notes the SQLSTATE, drops a broken connection. */
static PGresult *
s_checked(struct db *db, PGresult *res, ExecStatusType expect, const char *what)
{
	if (res != NULL && PQresultStatus(res) == expect)
		return res;
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s",
	         res && PQresultErrorField(res, PG_DIAG_SQLSTATE) ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "");
	log_error("%s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
	PQclear(res);
	if (PQstatus(db->conn) == CONNECTION_BAD)
		s_lost(db);
	return NULL;
}

PGresult *
db_query(struct db *db, const char *what, ExecStatusType expect,
         const char *sql, int nparams, const char *const *params)
{
	if (db->conn == NULL)
		return NULL;
	return s_checked(db, PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0),
	                 expect, what);
}

/* Marks every one of nparams parameters as binary; false if there are too many. */
static bool
s_binary_formats(int *formats, int nparams)
{
	if (nparams > DB_MAX_PARAMS)
		return false;
	for (int i = 0; i < nparams; i++)
		formats[i] = 1;
	return true;
}

PGresult *
db_query_binary(struct db *db, const char *what, ExecStatusType expect, const char *sql,
                int nparams, const char *const *values, const int *lengths)
{
	int formats[DB_MAX_PARAMS];

	if (db->conn == NULL || !s_binary_formats(formats, nparams))
		return NULL;
	return s_checked(db, PQexecParams(db->conn, sql, nparams, NULL, values, lengths, formats, 0),
	                 expect, what);
}

bool
db_prepare(struct db *db, const char *what, const char *name, const char *sql)
{
	PGresult *res;

	if (db->conn == NULL)
		return false;
	res = s_checked(db, PQprepare(db->conn, name, sql, 0, NULL), PGRES_COMMAND_OK, what);
	PQclear(res);
	return res != NULL;
}

PGresult *
db_execute_binary(struct db *db, const char *what, ExecStatusType expect, const char *name,
                  int nparams, const char *const *values, const int *lengths)
{
	int formats[DB_MAX_PARAMS];

	if (db->conn == NULL || !s_binary_formats(formats, nparams))
		return NULL;
	return s_checked(db, PQexecPrepared(db->conn, name, nparams, values, lengths, formats, 0),
	                 expect, what);
}

bool
db_script(struct db *db, const char *what, const char *sql)
{
	PGresult *res;
	bool ok = true;

	if (db->conn == NULL)
		return false;
	if (!PQsendQuery(db->conn, sql)) {
		s_checked(db, NULL, PGRES_COMMAND_OK, what);
		return false;
	}
	while ((res = PQgetResult(db->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (ok && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			s_checked(db, res, PGRES_COMMAND_OK, what);
			ok = false;
		} else {
			PQclear(res);
		}
	}
	return ok;
}

bool
db_command(struct db *db, const char *what, const char *sql, int nparams,
           const char *const *params)
{
	PGresult *res = db_query(db, what, PGRES_COMMAND_OK, sql, nparams, params);

	PQclear(res);
	return res != NULL;
}

/* Notes a statement of the batch, sent by send; marks the batch failed if it could not be. */
static void
s_batch_note(struct db *db, struct db_batch *b, int sent, const char *what, ExecStatusType expect,
             PGresult **out)
{
	if (!sent) {
		log_error("%s: %s", what, PQerrorMessage(db->conn));
		b->failed = true;
		return;
	}
	b->step[b->n].what = what;
	b->step[b->n].expect = expect;
	b->step[b->n].out = out;
	b->n++;
}

/* Whether one more statement (and the COMMIT after it) fits the batch. */
static bool
s_batch_room(struct db *db, struct db_batch *b, const char *what)
{
	if (b->failed || db->conn == NULL)
		return false;
	if (b->n + 1 < DB_BATCH_MAX)
		return true;
	log_error("%s: more than %d statements in one transaction", what, DB_BATCH_MAX - 1);
	b->failed = true;
	return false;
}

bool
db_batch_begin(struct db *db, struct db_batch *b)
{
	memset(b, 0, sizeof(*b));
	if (db->conn == NULL)
		return false;
	if (!PQenterPipelineMode(db->conn)) {
		log_error("begin: %s", PQerrorMessage(db->conn));
		return false;
	}
	db_batch_add(db, b, "begin", PGRES_COMMAND_OK, "BEGIN", 0, NULL, NULL, NULL);
	return true;
}

/* Queues sql (name NULL) or the prepared statement name; text parameters when lengths is NULL. */
static void
s_batch_add(struct db *db, struct db_batch *b, const char *what, ExecStatusType expect,
            const char *sql, const char *name, int nparams, const char *const *values,
            const int *lengths, PGresult **out)
{
	int formats[DB_MAX_PARAMS];
	const int *fmt = lengths != NULL ? formats : NULL;

	if (!s_batch_room(db, b, what))
		return;
	if (lengths != NULL && !s_binary_formats(formats, nparams)) {
		s_batch_note(db, b, 0, what, expect, out);
		return;
	}
	s_batch_note(db, b,
	             name != NULL ? PQsendQueryPrepared(db->conn, name, nparams, values, lengths, fmt, 0)
	                          : PQsendQueryParams(db->conn, sql, nparams, NULL, values, lengths, fmt, 0),
	             what, expect, out);
}

void
db_batch_add(struct db *db, struct db_batch *b, const char *what, ExecStatusType expect,
             const char *sql, int nparams, const char *const *values, const int *lengths,
             PGresult **out)
{
	s_batch_add(db, b, what, expect, sql, NULL, nparams, values, lengths, out);
}

void
db_batch_add_prepared(struct db *db, struct db_batch *b, const char *what, ExecStatusType expect,
                      const char *name, int nparams, const char *const *values, const int *lengths,
                      PGresult **out)
{
	s_batch_add(db, b, what, expect, NULL, name, nparams, values, lengths, out);
}

/* The next result of the pipeline, with the NULL that ends it consumed. */
static PGresult *
s_batch_result(PGconn *conn)
{
	PGresult *res = PQgetResult(conn), *extra;

	if (res != NULL && PQresultStatus(res) != PGRES_PIPELINE_SYNC)
		while ((extra = PQgetResult(conn)) != NULL)
			PQclear(extra);
	return res;
}

/* Reads the result of every statement; true if each had its expected status. */
static bool
s_batch_read(struct db *db, struct db_batch *b)
{
	bool ok = true;

	for (int i = 0; i < b->n && db->conn != NULL; i++) {
		PGresult *res = s_batch_result(db->conn);

		if (ok && res != NULL && PQresultStatus(res) == b->step[i].expect) {
			if (b->step[i].out != NULL)
				*b->step[i].out = res;
			else
				PQclear(res);
			continue;
		}
		if (ok)
			s_checked(db, res, b->step[i].expect, b->step[i].what);
		else
			PQclear(res);
		ok = false;
	}
	return ok && db->conn != NULL;
}

/* Clears the results kept by a batch that did not commit. */
static void
s_batch_clear(struct db_batch *b)
{
	for (int i = 0; i < b->n; i++)
		if (b->step[i].out != NULL) {
			PQclear(*b->step[i].out);
			*b->step[i].out = NULL;
		}
}

/* Reads the pipeline's end and leaves pipeline mode; false if the connection cannot go on. */
static bool
s_batch_end(struct db *db)
{
	PGresult *res;

	if (db->conn == NULL)
		return false;
	res = s_batch_result(db->conn);
	if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC || !PQexitPipelineMode(db->conn)) {
		log_error("end of transaction: %s", PQerrorMessage(db->conn));
		PQclear(res);
		s_lost(db);
		return false;
	}
	PQclear(res);
	return true;
}

bool
db_batch_commit(struct db *db, struct db_batch *b)
{
	bool failed = b->failed, ok;

	for (int i = 0; i < b->n; i++)
		if (b->step[i].out != NULL)
			*b->step[i].out = NULL;
	if (db->conn == NULL)
		return false;
	/* s_batch_room kept a place for it */
	s_batch_note(db, b, PQsendQueryParams(db->conn, failed ? "ROLLBACK" : "COMMIT", 0, NULL, NULL,
	                                      NULL, NULL, 0),
	             failed ? "rollback" : "commit", PGRES_COMMAND_OK, NULL);
	if (!PQpipelineSync(db->conn)) {
		log_error("commit: %s", PQerrorMessage(db->conn));
		s_lost(db);
		return false;
	}
	ok = s_batch_read(db, b) && !failed;
	if (!s_batch_end(db) || !ok) {
		s_batch_clear(b);
		db_rollback(db);
		return false;
	}
	return true;
}

const char *
db_last_sqlstate(const struct db *db)
{
	return db->sqlstate;
}

void
db_rollback(struct db *db)
{
	PGresult *res;

	if (db->conn == NULL)
		return;
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
	if (PQstatus(db->conn) == CONNECTION_BAD)
		s_lost(db);
}

static void
s_timer_closed(uv_handle_t *h)
{
	struct db *db = h->data;

	free(db->conninfo);
	free(db->user);
	free(db);
}

void
db_close(struct db **db_p)
{
	struct db *db = *db_p;

	if (db == NULL)
		return;
	*db_p = NULL;
	PQfinish(db->conn);
	db->conn = NULL;
	uv_close((uv_handle_t *)&db->timer, s_timer_closed);
}
