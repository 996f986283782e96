/*
 * gridctl push: sends screening records, one JSON object a line, to
 * ingestd and prints the fate of every line, in input order, as one JSON
 * object a line. A line that is not JSON is answered here and never sent;
 * everything else (batching, Lazy Pirate resends, Curve, keeping the
 * order) is the sender's (sender.c), which gridctl import shares.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gridctl.h"
#include "record_json.h"

struct push_opts {
	struct sender_opts send;
	const char *path;
};

/* Takes one option of push: the sender's. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	struct push_opts *opt = p;

	return sender_getopt(&opt->send, code, arg) == 1;
}

/* Reads the options; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct push_opts *opt)
{
	static const struct option longopts[] = {
		SENDER_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int first, rc = gridctl_options("push", argc, argv, longopts, s_set_opt, opt, &first);

	if (rc >= 0)
		return rc;
	if (argc - first != 1)
		gridctl_err("push", "expected one FILE (or - for standard input)");
	else if (sender_opts_check(&opt->send)) {
		opt->path = argv[first];
		return -1;
	}
	return gridctl_usage("push", stderr, GRIDCTL_EXIT_USAGE);
}

/* True for a line of nothing but white space (a NUL byte is not). */
static bool
s_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* Prints each result as it is delivered. */
static void
s_print(void *arg, const json_t *result)
{
	(void)arg;
	sender_print_json("push", stdout, result);
}

/* Hands one input line to the sender: as a record, or rejected as not JSON. */
static int
s_push_line(struct sender *s, char *text, size_t len, long line)
{
	json_error_t jerr;
	char msg[sizeof(jerr.text) + 32];
	json_t *obj;

	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj != NULL)
		return sender_add(s, line, obj);
	record_json_utf8_cut(jerr.text);        /* else no result could carry it: "out of memory" */
	snprintf(msg, sizeof(msg), "not JSON: %s (column %d)", jerr.text, jerr.column);
	return sender_reject(s, line, VERR_BAD_JSON, NULL, msg, NULL);
}

/* Reads every line of in and pushes it; -1 once the server is unreachable. */
static int
s_push_stream(struct sender *s, FILE *in, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long line_no = 0;
	int rc = 0;

	while (rc == 0 && (n = getline(&line, &cap, in)) != -1) {
		line_no++;
		if (s_blank(line, (size_t)n))
			continue;
		rc = s_push_line(s, line, (size_t)n, line_no);
	}
	free(line);
	if (rc == 0 && ferror(in)) {
		gridctl_err("push", "reading %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		rc = sender_flush(s);
	sender_abandon(s);
	return rc;
}

/* gridctl push: reads FILE (or standard input), pushes it, prints the summary. */
int
gridctl_push(int argc, char **argv)
{
	struct push_opts opt;
	const struct sender_stats *st;
	struct sender *s;
	FILE *in;
	int rc;

	memset(&opt, 0, sizeof(opt));
	sender_opts_init(&opt.send, "push");
	if ((rc = s_parse_opts(argc, argv, &opt)) >= 0)
		return rc;
	in = strcmp(opt.path, "-") == 0 ? stdin : fopen(opt.path, "r");
	if (in == NULL) {
		gridctl_err("push", "cannot open %s: %s", opt.path, strerror(errno));
		return GRIDCTL_EXIT_FAIL;
	}
	s = sender_new(&opt.send, s_print, NULL, NULL);
	if (s == NULL) {
		rc = GRIDCTL_EXIT_USAGE;     /* a malformed endpoint or key */
	} else {
		rc = s_push_stream(s, in, opt.path) == 0 ? GRIDCTL_EXIT_OK : GRIDCTL_EXIT_FAIL;
		st = sender_stats(s);
		fprintf(stderr, "gridctl push: accepted=%ld duplicate=%ld rejected=%ld\n",
		        st->accepted, st->duplicate, st->rejected);
	}
	sender_destroy(&s);
	if (in != stdin)
		fclose(in);
	return rc;
}
