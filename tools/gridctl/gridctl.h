/*
 * gridctl, the operators' and command office's tool: one binary with one
 * subcommand per job (push, alerts, ...). main.c holds the table of
 * subcommands and their usage; each subcommand lives in its own file and
 * is called with argv[0] set to its name.
 */
#ifndef GRIDCTL_H
#define GRIDCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "civil.h"
#include "defaults.h"

/* Exit statuses every subcommand shares. */
#define GRIDCTL_EXIT_OK    0
#define GRIDCTL_EXIT_FAIL  1   /* the job could not be done (server, database, file) */
#define GRIDCTL_EXIT_USAGE 2   /* bad command line */

struct gridctl_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;      /* options and operands, one line */
	const char *help;          /* what it does and what each option means */
};

/* The subcommands. */
int gridctl_push(int argc, char **argv);
int gridctl_import(int argc, char **argv);
int gridctl_alerts(int argc, char **argv);
int gridctl_feed(int argc, char **argv);
int gridctl_keygen(int argc, char **argv);
int gridctl_followups(int argc, char **argv);
int gridctl_rules(int argc, char **argv);
int gridctl_rules_verify(int argc, char **argv);
int gridctl_token(int argc, char **argv);
int gridctl_report(int argc, char **argv);

/* history.c: what replays share. A query whose failure is reported (NULL then). */
struct rule_set;
struct risk_registry;
PGresult *history_query(PGconn *conn, const char *cmd, const char *what, const char *sql, int n,
                        const char *const *params);
/* The rule set rulesd loaded last (rule_sets), named into name; NULL (reported) on failure. */
struct rule_set *history_live_rules(PGconn *conn, const char *cmd, char *name, size_t len);
/* The risk-area registry as rulesd reads it; false (reported) on failure. */
bool history_risk(PGconn *conn, const char *cmd, struct risk_registry *risk);

/* sub.c: following a PUB socket. fn returns nonzero to stop following. */
typedef int (*sub_fn)(void *arg, const void *payload, size_t len);
/* A SUB socket subscribed to topic, with stop signals caught; NULL (reported) on failure. */
void *sub_open(void *zctx, const char *cmd, const char *endpoint, const char *topic);
/* Hands each [topic][payload] message to fn until SIGINT/SIGTERM; 0, or -1 on a socket error. */
int sub_follow(void *sock, const char *cmd, sub_fn fn, void *arg);

/*
 * sender.c: what push and import share. Records go to ingestd in
 * SubmitRequest batches over a DEALER socket (Lazy Pirate: on silence the
 * socket is replaced and the same batch resent), optionally as a Curve
 * client; every input line gets exactly one result, delivered in input
 * order whether it was answered by the server or here.
 */
struct sender_opts {
	const char *cmd;           /* subcommand, for messages */
	const char *endpoint;
	long batch;                /* records per request, at most */
	long timeout_ms;           /* wait this long for a reply before resending */
	long retries;              /* resends of a batch before giving up */
	const char *server_key;    /* ingestd's Curve public key (Z85), or NULL */
	const char *key_file;      /* this device's key pair; set with server_key */
};

/* What has happened so far, for summaries and progress. */
struct sender_stats {
	long sent;                 /* records put in a request (counted once) */
	long answered;             /* results delivered, the server's and local ones */
	long accepted;
	long duplicate;
	long rejected;
};

/*
 * Receives each result, in input order, as the JSON object push prints:
 * {"line":N,"index":I,"outcome":"accepted","server_id":12,...}; "index" is
 * absent for a line answered locally. The object is only lent.
 */
typedef void (*sender_result_fn)(void *arg, const json_t *result);
/*
 * Called as records are sent and answered (and every 100 ms while a reply
 * is awaited), and with NULL just before the sender writes on stderr.
 */
typedef void (*sender_progress_fn)(void *arg, const struct sender_stats *stats);

/* The sending options both commands take, for their getopt_long tables. */
enum {
	SENDER_OPT_ENDPOINT = 0x100,
	SENDER_OPT_BATCH,
	SENDER_OPT_TIMEOUT,
	SENDER_OPT_RETRIES,
	SENDER_OPT_SERVER_KEY,
	SENDER_OPT_KEY_FILE,
};
#define SENDER_LONGOPTS \
	{ "endpoint", required_argument, NULL, SENDER_OPT_ENDPOINT }, \
	{ "batch", required_argument, NULL, SENDER_OPT_BATCH }, \
	{ "timeout-ms", required_argument, NULL, SENDER_OPT_TIMEOUT }, \
	{ "retries", required_argument, NULL, SENDER_OPT_RETRIES }, \
	{ "server-key", required_argument, NULL, SENDER_OPT_SERVER_KEY }, \
	{ "key-file", required_argument, NULL, SENDER_OPT_KEY_FILE }

/* Their usage, for the command table. */
#define SENDER_SYNOPSIS \
	"[--endpoint E] [--batch N] [--timeout-ms T] [--retries R]" \
	" [--server-key Z85 --key-file FILE]"
#define SENDER_HELP \
	"  --endpoint E        ingestd's ROUTER (default " DEFAULT_INGEST_ENDPOINT ")\n" \
	"  --batch N           records per request, at most (default 500)\n" \
	"  --timeout-ms T      wait this long for a reply before resending (default 5000)\n" \
	"  --retries R         resend a batch this many times before giving up (default 3)\n" \
	"  --server-key Z85    ingestd's Curve public key: talk to it as a Curve client\n" \
	"  --key-file FILE     this device's key pair (gridctl keygen); with --server-key\n"

/* The defaults of the sending options. */
void sender_opts_init(struct sender_opts *opt, const char *cmd);
/* Takes option c of SENDER_LONGOPTS: 1 if taken, 0 on a bad value, -1 if c is not one. */
int sender_getopt(struct sender_opts *opt, int c, const char *arg);
/* Checks the options together (the Curve pair); false with a message. */
bool sender_opts_check(const struct sender_opts *opt);

struct sender;
/* A sender with its socket connected; NULL (reported) when it cannot be. */
struct sender *sender_new(const struct sender_opts *opt, sender_result_fn on_result,
                          sender_progress_fn on_progress, void *arg);
/* Frees the sender, dropping what was never answered; accepts NULL. */
void sender_destroy(struct sender **sp);
/*
 * Queues the record obj (a reference is taken over) from input line
 * line, or answers it at once when it is not a record; sends a batch when
 * one is full. -1 once the server cannot be reached.
 */
int sender_add(struct sender *s, long line, json_t *obj);
/* Answers input line line here, with a rejection; in order like the others. */
int sender_reject(struct sender *s, long line, const char *code, const char *field,
                  const char *message, const char *client_uuid);
/* Sends what is queued and delivers every result; -1 if the server cannot be reached. */
int sender_flush(struct sender *s);
/* Delivers the results known so far and drops the records not yet sent. */
void sender_abandon(struct sender *s);
/* The counts so far. */
const struct sender_stats *sender_stats(const struct sender *s);
/* Writes a result as one compact JSON line to f and flushes it. */
void sender_print_json(const char *cmd, FILE *f, const json_t *result);
/* Gives up on memory exhaustion: a command-line tool has nothing to save. */
void gridctl_oom(const char *cmd) __attribute__((noreturn));

/*
 * import_csv.c: a CSV file as import reads it (docs/import.md), without
 * sending anything. A first pass checks the file whole (names, quoting) and
 * counts its data rows; a second turns each row into the JSON form of a
 * record, or refuses the row. What is wrong with the file is reported
 * (gridctl_err) and answered with an exit status.
 */
struct import_csv;
/* Takes one row's record (the reference with it); nonzero stops the reading. */
typedef int (*import_record_fn)(void *arg, long line, json_t *record);
/* Answers one row here, with a rejection; nonzero stops the reading. */
typedef int (*import_reject_fn)(void *arg, long line, const char *code, const char *field,
                                const char *message);
/* The first pass over f; NULL with *status set (reported) when nothing may be sent. */
struct import_csv *import_csv_check(FILE *f, const char *path, int *status);
/* The data rows the first pass counted. */
long import_csv_rows(const struct import_csv *csv);
/* The second pass over f: each row to record or reject, in order; the exit status. */
int import_csv_read(struct import_csv *csv, FILE *f, import_record_fn record,
                    import_reject_fn reject, void *arg);
/* Frees what the passes kept; accepts NULL. */
void import_csv_destroy(struct import_csv **csv_p);

/*
 * office.c: what the command office's subcommands share. They connect as
 * this role unless the connection string names a user; local times are
 * UTC+8 (LOCAL_UTC_OFFSET_S) whatever the machine's zone.
 */
#define GRIDCTL_OFFICE_ROLE "gridwall_office"
/* What a replay connects as: it reads every screening, which the office may not. */
#define GRIDCTL_ANALYST_ROLE "gridwall_analyst"
/* What rules verify connects as: it reads rulesd's state, which is rulesd's to read. */
#define GRIDCTL_RULES_ROLE "gridwall_rules"
/* A blocking connection as role unless conninfo names a user; NULL (reported). */
PGconn *gridctl_connect(const char *cmd, const char *conninfo, const char *role);
/* Length of libpq's last error without its trailing newline, for "%.*s". */
int gridctl_pq_error_len(const PGconn *conn);
/* A text column, or NULL when SQL NULL. */
char *gridctl_col(const PGresult *res, int row, int col);
/* A bigint column, 0 when NULL. */
int64_t gridctl_col_int(const PGresult *res, int row, int col);
/* Writes stored text with control characters as '?', and "-" for NULL or "". */
void gridctl_put_clean(FILE *f, const char *s);
/* A level's name in capitals ("KEY"), "?" for an unknown value. */
void gridctl_level_label(int level, char *buf, size_t size);
/* The local day of a Unix time, and the Unix time a local day starts at. */
int64_t gridctl_local_day(int64_t t);
int64_t gridctl_local_day_start(int64_t day);
/* "YYYY-MM-DD" of the local day of a Unix time. */
void gridctl_local_date(int64_t t, char out[CIVIL_TEXT_LEN + 1]);
/* "YYYY-MM-DD HH:MM", local. */
void gridctl_local_minute(int64_t t, char *buf, size_t size);
/* "YYYY-MM-DDTHH:MM:SS+08:00", local. */
void gridctl_local_rfc3339(int64_t t, char *buf, size_t size);

/*
 * Prints the usage of subcommand name to f (to stdout for --help, stderr
 * for a mistake) and returns status, so that callers can return it.
 */
int gridctl_usage(const char *name, FILE *f, int status);

/* True for an area code prefix (--area): digits only, at most a grid code long. */
bool gridctl_area_ok(const char *s);

/* Parses a whole decimal number within [min, max]; false otherwise. */
bool gridctl_parse_long(const char *s, long min, long max, long *out);

/* Takes one option (its getopt code and argument) into opts; false if the value is bad. */
typedef bool (*gridctl_option_fn)(int code, const char *arg, void *opts);
/*
 * The option loop every subcommand shares: getopt_long over longopts
 * (which must hold {"help", no_argument, NULL, 'h'}), handing each option
 * to set. With first_arg NULL no argument may follow the options; else
 * *first_arg is the index of the first one, for the caller to check.
 * Returns -1 when the options are all taken, else the exit status after
 * printing help, or the error and usage.
 */
int gridctl_options(const char *cmd, int argc, char **argv, const struct option *longopts,
                    gridctl_option_fn set, void *opts, int *first_arg);

/* Prints "gridctl CMD: message" on stderr. */
void gridctl_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
