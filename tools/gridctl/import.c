/*
 * gridctl import: a community's CSV file (import_csv.c reads it, in two
 * passes, docs/import.md) sent to ingestd row by row through the sender
 * shared with push, each row answered in order: JSON lines on stdout or a
 * CSV report, with a progress bar on a terminal.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <csv.h>
#include <jansson.h>

#include "gridctl.h"

#define IMPORT_DRAW_MS     100         /* the progress bar's quickest redraw */
#define IMPORT_BAR_WIDTH   24

struct import_opts {
	struct sender_opts send;
	const char *path;
	const char *report;      /* CSV report file, or NULL for JSON lines on stdout */
};

struct import_ctx {
	struct import_opts opt;
	struct import_csv *csv;         /* the file, checked by the first pass */
	long rows;                      /* data rows, counted by the first pass */
	struct sender *sender;
	FILE *report;
	bool bar;                       /* a progress bar on stderr */
	bool bar_shown;                 /* the bar is on the current line of stderr */
	bool out_tty;                   /* JSON lines go to the same terminal */
	double started;
	double drawn;
};

/* Seconds of the monotonic clock. */
static double
s_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A row's record, to the sender. */
static int
s_add(void *arg, long line, json_t *record)
{
	struct import_ctx *imp = arg;

	return sender_add(imp->sender, line, record);
}

/* A row refused here, answered in order with the others. */
static int
s_reject_row(void *arg, long line, const char *code, const char *field, const char *message)
{
	struct import_ctx *imp = arg;

	return sender_reject(imp->sender, line, code, field, message, NULL);
}

/* Writes one CSV cell, quoted only when it has to be. */
static void
s_report_cell(FILE *f, const char *s, bool last)
{
	if (s != NULL && s[strcspn(s, ",\"\r\n")] != '\0')
		csv_fwrite(f, s, strlen(s));
	else if (s != NULL)
		fputs(s, f);
	fputs(last ? "\r\n" : ",", f);
}

/* The string member key of a result, or NULL. */
static const char *
s_result_str(const json_t *result, const char *key)
{
	return json_string_value(json_object_get(result, key));
}

/* Takes the progress bar off the line, so that other text can be written. */
static void
s_bar_clear(struct import_ctx *imp)
{
	if (imp->bar_shown)
		fputs("\r\033[K", stderr);
	imp->bar_shown = false;
}

/* Writes each result: a JSON line on stdout, or a row of the CSV report. */
static void
s_on_result(void *arg, const json_t *result)
{
	struct import_ctx *imp = arg;
	const json_t *id;
	char num[32];

	if (imp->report == NULL) {
		if (imp->out_tty)
			s_bar_clear(imp);
		sender_print_json("import", stdout, result);
		return;
	}
	fprintf(imp->report, "%lld,", (long long)json_integer_value(json_object_get(result, "line")));
	s_report_cell(imp->report, s_result_str(result, "outcome"), false);
	id = json_object_get(result, "server_id");
	snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(id));
	s_report_cell(imp->report, id != NULL ? num : NULL, false);
	s_report_cell(imp->report, s_result_str(result, "code"), false);
	s_report_cell(imp->report, s_result_str(result, "field"), false);
	s_report_cell(imp->report, s_result_str(result, "message"), true);
}

/* Draws the progress bar: [#####.....]  45%  2250/5000 rows answered, 2500 sent, 830 rows/s. */
static void
s_bar_draw(struct import_ctx *imp, const struct sender_stats *st)
{
	char bar[IMPORT_BAR_WIDTH + 1];
	double elapsed = imp->drawn - imp->started;
	long pct = imp->rows > 0 ? st->answered * 100 / imp->rows : 100;
	int fill = (int)(pct * IMPORT_BAR_WIDTH / 100);

	for (int i = 0; i < IMPORT_BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[IMPORT_BAR_WIDTH] = '\0';
	fprintf(stderr, "\r\033[K[%s] %3ld%%  %ld/%ld rows answered, %ld sent, %.0f rows/s",
	        bar, pct, st->answered, imp->rows, st->sent,
	        elapsed > 0.001 ? st->answered / elapsed : 0.0);
	fflush(stderr);
	imp->bar_shown = true;
}

/* The sender's progress: a redraw at most every IMPORT_DRAW_MS, or room for a message. */
static void
s_on_progress(void *arg, const struct sender_stats *st)
{
	struct import_ctx *imp = arg;
	double now;

	if (!imp->bar)
		return;
	if (st == NULL) {
		s_bar_clear(imp);
		return;
	}
	now = s_clock();
	if (imp->bar_shown && (now - imp->drawn) * 1000 < IMPORT_DRAW_MS)
		return;
	imp->drawn = now;
	s_bar_draw(imp, st);
}

/* Takes one option of import: --report, or the sender's. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	struct import_opts *opt = p;

	if (code == 'R') {
		opt->report = arg;
		return *arg != '\0';
	}
	return sender_getopt(&opt->send, code, arg) == 1;
}

/* Reads the options; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct import_opts *opt)
{
	static const struct option longopts[] = {
		SENDER_LONGOPTS,
		{ "report", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int first, rc = gridctl_options("import", argc, argv, longopts, s_set_opt, opt, &first);

	if (rc >= 0)
		return rc;
	if (argc - first != 1)
		gridctl_err("import", "expected one FILE.csv");
	else if (strcmp(argv[first], "-") == 0)
		gridctl_err("import", "the file is read twice: give its name, not -");
	else if (sender_opts_check(&opt->send)) {
		opt->path = argv[first];
		return -1;
	}
	return gridctl_usage("import", stderr, GRIDCTL_EXIT_USAGE);
}

/* Opens the CSV report and writes its header; a BOM makes spreadsheets read it as UTF-8. */
static int
s_report_open(struct import_ctx *imp)
{
	imp->report = fopen(imp->opt.report, "w");
	if (imp->report == NULL) {
		gridctl_err("import", "cannot write %s: %s", imp->opt.report, strerror(errno));
		return -1;
	}
	fputs("\xEF\xBB\xBF" "line,outcome,server_id,code,field,message\r\n", imp->report);
	return 0;
}

/* Closes the report; -1 (reported) if anything could not be written. */
static int
s_report_close(struct import_ctx *imp)
{
	int bad;

	if (imp->report == NULL)
		return 0;
	bad = ferror(imp->report);
	if (fclose(imp->report) != 0 || bad) {
		gridctl_err("import", "writing %s failed", imp->opt.report);
		imp->report = NULL;
		return -1;
	}
	imp->report = NULL;
	return 0;
}

/* Checks the file, then sends it; the exit status. */
static int
s_run(struct import_ctx *imp, FILE *in)
{
	const struct sender_stats *st;
	int rc;

	imp->csv = import_csv_check(in, imp->opt.path, &rc);
	if (imp->csv == NULL)
		return rc;
	imp->rows = import_csv_rows(imp->csv);
	imp->sender = sender_new(&imp->opt.send, s_on_result, s_on_progress, imp);
	if (imp->sender == NULL)
		return GRIDCTL_EXIT_USAGE;     /* a malformed endpoint or key */
	if (imp->opt.report != NULL && s_report_open(imp) != 0)
		return GRIDCTL_EXIT_FAIL;
	imp->started = s_clock();
	rc = import_csv_read(imp->csv, in, s_add, s_reject_row, imp);
	if (rc == GRIDCTL_EXIT_OK)
		rc = sender_flush(imp->sender) == 0 ? GRIDCTL_EXIT_OK : GRIDCTL_EXIT_FAIL;
	sender_abandon(imp->sender);
	st = sender_stats(imp->sender);
	if (imp->bar) {
		imp->drawn = s_clock();
		s_bar_draw(imp, st);
		fputc('\n', stderr);
		imp->bar_shown = false;
	}
	if (s_report_close(imp) != 0 && rc == GRIDCTL_EXIT_OK)
		rc = GRIDCTL_EXIT_FAIL;
	fprintf(stderr, "gridctl import: rows=%ld accepted=%ld duplicate=%ld rejected=%ld",
	        imp->rows, st->accepted, st->duplicate, st->rejected);
	if (st->answered < imp->rows)
		fprintf(stderr, " unanswered=%ld", imp->rows - st->answered);
	fputc('\n', stderr);
	return rc;
}

/* gridctl import: FILE.csv to ingestd, one result per row. */
int
gridctl_import(int argc, char **argv)
{
	struct import_ctx imp;
	FILE *in;
	int rc;

	memset(&imp, 0, sizeof(imp));
	sender_opts_init(&imp.opt.send, "import");
	if ((rc = s_parse_opts(argc, argv, &imp.opt)) >= 0)
		return rc;
	in = fopen(imp.opt.path, "rb");
	if (in == NULL) {
		gridctl_err("import", "cannot open %s: %s", imp.opt.path, strerror(errno));
		return GRIDCTL_EXIT_FAIL;
	}
	imp.bar = isatty(STDERR_FILENO);
	imp.out_tty = imp.opt.report == NULL && isatty(STDOUT_FILENO);
	rc = s_run(&imp, in);
	if (imp.report != NULL)
		fclose(imp.report);
	sender_destroy(&imp.sender);
	import_csv_destroy(&imp.csv);
	fclose(in);
	return rc;
}
