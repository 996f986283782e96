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
#include <stdio.h>

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
int gridctl_alerts(int argc, char **argv);
int gridctl_feed(int argc, char **argv);

/* sub.c: following a PUB socket. fn returns nonzero to stop following. */
typedef int (*sub_fn)(void *arg, const void *payload, size_t len);
/* A SUB socket subscribed to topic, with stop signals caught; NULL (reported) on failure. */
void *sub_open(void *zctx, const char *cmd, const char *endpoint, const char *topic);
/* Hands each [topic][payload] message to fn until SIGINT/SIGTERM; 0, or -1 on a socket error. */
int sub_follow(void *sock, const char *cmd, sub_fn fn, void *arg);

/*
 * Prints the usage of subcommand name to f (to stdout for --help, stderr
 * for a mistake) and returns status, so that callers can return it.
 */
int gridctl_usage(const char *name, FILE *f, int status);

/* Parses a whole decimal number within [min, max]; false otherwise. */
bool gridctl_parse_long(const char *s, long min, long max, long *out);

/* Prints "gridctl CMD: message" on stderr. */
void gridctl_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
