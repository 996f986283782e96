/*
 * gridctl alerts: what the command office watches. Lists the latest alerts
 * of an area from PostgreSQL (the system of record), oldest first, then with
 * --follow prints the alerts rulesd publishes as they come. The subscription
 * is opened before the listing so that nothing raised in between is missed;
 * an alert that arrives live after it was listed is shown once. Staff see a
 * masked identity number only.
 *
 * Alerts are of four kinds (deploy/sql/005_rule_state.sql): a risk alert
 * comes from a screening; a release, an overdue follow-up and a coverage
 * gap come from rulesd's clock, and a coverage gap names a household and
 * no person. A risk alert prints as it always has; the others carry their
 * kind beside the level. The observation end and the follow-up due are
 * carried by live alerts only: the alerts table does not keep them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <zmq.h>

#include "codec.h"
#include "defaults.h"
#include "alert_row.h"
#include "gridctl.h"
#include "idcard.h"
#include "record_json.h"

#define ALERTS_DEFAULT_LIMIT 20

struct alerts_opts {
	const char *area;
	bool follow;
	const char *conninfo;
	const char *endpoint;
	long limit;
	bool json;
};

/* Ids of the alerts listed from the database, sorted, to skip their live copies. */
struct alerts_seen {
	int64_t *ids;
	size_t n;
};

/*
 * The latest alerts of an area prefix, newest first (printed in reverse).
 * The area path is read by the code prefixes a grid code has (4, 6, 9, 12
 * and 15 digits), so each lookup is a primary-key probe. A coverage gap
 * has no person, and only some alerts name a household: both are joined
 * when there is one.
 */
/* The latest alerts under an area code prefix, newest first. */
static const char s_list_sql[] =
	ALERT_ROW_SELECT
	" WHERE a.grid_code LIKE $1 || '%'"
	" ORDER BY a.raised_at DESC, a.id DESC"
	" LIMIT $2";

/* Takes one option of alerts. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	struct alerts_opts *opt = p;

	switch (code) {
	case 'a':
		opt->area = arg;
		return gridctl_area_ok(arg);
	case 'f':
		opt->follow = true;
		return true;
	case 'd':
		opt->conninfo = arg;
		return true;
	case 'e':
		opt->endpoint = arg;
		return true;
	case 'l':
		return gridctl_parse_long(arg, 1, 100000, &opt->limit);
	case 'j':
		opt->json = true;
		return true;
	}
	return false;
}

/* Reads the options; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct alerts_opts *opt)
{
	static const struct option longopts[] = {
		{ "area", required_argument, NULL, 'a' },
		{ "follow", no_argument, NULL, 'f' },
		{ "database", required_argument, NULL, 'd' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	return gridctl_options("alerts", argc, argv, longopts, s_set_opt, opt, NULL);
}

/* Starts a column: two spaces, then the text. */
static void
s_put_col(const char *s)
{
	fputs("  ", stdout);
	gridctl_put_clean(stdout, s);
}

/* A time (Unix seconds) in the machine's local time, or "-" when absent. */
static void
s_format_time(bool has, int64_t at, char *buf, size_t size)
{
	time_t t = (time_t)at;
	struct tm tm;

	if (!has || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "-");
}

/* What the text form prints beside the level for a kind; NULL for a risk alert. */
static const char *
s_kind_label(Gridwall__V1__AlertKind kind)
{
	switch (kind) {
	case GRIDWALL__V1__ALERT_KIND__ALERT_RELEASED:
		return "RELEASED";
	case GRIDWALL__V1__ALERT_KIND__ALERT_FOLLOW_UP_OVERDUE:
		return "FOLLOW-UP OVERDUE";
	case GRIDWALL__V1__ALERT_KIND__ALERT_COVERAGE_GAP:
		return "COVERAGE GAP";
	default:
		return NULL;
	}
}

/* The person's columns: name, masked id, phone and the rule ids. */
static void
s_put_person(const Gridwall__V1__RiskAlert *a)
{
	s_put_col(a->person_name);
	s_put_col(a->id_masked);
	s_put_col(a->phone);
	fputs("  ", stdout);
	for (size_t i = 0; i < a->n_rule_ids; i++) {
		if (i > 0)
			putchar(',');
		gridctl_put_clean(stdout, a->rule_ids[i]);
	}
	if (a->n_rule_ids == 0)
		putchar('-');
}

/*
 * One alert as a line of text for a person. A risk alert: time, level,
 * grid, area path, person, rules, action. The other kinds add their kind
 * after the level and, when the alert carries them, the observation end
 * and the follow-up due at the end; a coverage gap names its household in
 * place of a person. An alert the office has handled ends with its state
 * (and team): "[acknowledged]", "[assigned team-3]".
 */
static void
s_print_human(const Gridwall__V1__RiskAlert *a)
{
	const char *kind = s_kind_label(a->kind);
	char when[32], level[16];

	s_format_time(a->has_raised_at, a->raised_at, when, sizeof(when));
	gridctl_level_label(a->level, level, sizeof(level));
	printf("%s  %-9s", when, level);
	if (kind != NULL)
		printf("  %s", kind);
	s_put_col(a->grid_code);
	s_put_col(a->area_path);
	if (a->kind == GRIDWALL__V1__ALERT_KIND__ALERT_COVERAGE_GAP) {
		fputs("  household ", stdout);
		gridctl_put_clean(stdout, a->household_code);
	} else {
		s_put_person(a);
	}
	s_put_col(a->action);
	if (kind != NULL && a->has_observe_until) {
		s_format_time(true, a->observe_until, when, sizeof(when));
		printf("  until %s", when);
	}
	if (kind != NULL && a->has_follow_up_due) {
		s_format_time(true, a->follow_up_due, when, sizeof(when));
		printf("  due %s", when);
	}
	if (a->state != NULL && strcmp(a->state, "open") != 0) {
		printf("  [");
		gridctl_put_clean(stdout, a->state);
		if (a->assigned_team != NULL) {
			putchar(' ');
			gridctl_put_clean(stdout, a->assigned_team);
		}
		putchar(']');
	}
	putchar('\n');
}

/* Prints one alert in the chosen form. */
static void
s_print_alert(const Gridwall__V1__RiskAlert *a, bool as_json)
{
	json_t *j;
	char *text;

	if (!as_json) {
		s_print_human(a);
	} else {
		j = risk_alert_to_json(a);
		text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (text == NULL)
			gridctl_err("alerts", "alert %lld: out of memory", (long long)a->alert_id);
		else
			printf("%s\n", text);
		free(text);
		json_decref(j);
	}
	fflush(stdout);
}

/* Orders alert ids for the seen set. */
static int
s_cmp_id(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

/* Prints the rows oldest first and remembers their ids. */
static void
s_print_rows(const PGresult *res, bool as_json, struct alerts_seen *seen)
{
	struct alert_row r;
	int n = PQntuples(res);

	seen->ids = calloc(n > 0 ? (size_t)n : 1, sizeof(*seen->ids));
	for (int row = n - 1; row >= 0; row--) {
		alert_row_load(&r, res, row);
		s_print_alert(&r.alert, as_json);
		if (seen->ids != NULL)
			seen->ids[seen->n++] = r.alert.alert_id;
		alert_row_free(&r);
	}
	if (seen->ids != NULL)
		qsort(seen->ids, seen->n, sizeof(*seen->ids), s_cmp_id);
}

/* Lists the stored alerts; -1 if the database could not be asked. */
static int
s_list(const struct alerts_opts *opt, struct alerts_seen *seen)
{
	const char *params[2];
	char limit[24];
	PGresult *res;
	PGconn *conn;
	int rc = 0;

	conn = gridctl_connect("alerts", opt->conninfo, GRIDCTL_OFFICE_ROLE);
	if (conn == NULL)
		return -1;
	snprintf(limit, sizeof(limit), "%ld", opt->limit);
	params[0] = opt->area;
	params[1] = limit;
	res = PQexecParams(conn, s_list_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		s_print_rows(res, opt->json, seen);
	} else {
		gridctl_err("alerts", "listing alerts: %.*s", gridctl_pq_error_len(conn),
		            PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(res);
	PQfinish(conn);
	return rc;
}

/* True if an alert was already printed from the database. */
static bool
s_seen(const struct alerts_seen *seen, int64_t id)
{
	return seen->n > 0 &&
	       bsearch(&id, seen->ids, seen->n, sizeof(*seen->ids), s_cmp_id) != NULL;
}

/* What the follow loop needs to print a live alert. */
struct alerts_live {
	const struct alerts_opts *opt;
	const struct alerts_seen *seen;
};

/* sub_follow: one live alert, printed unless it was listed already. */
static int
s_on_live(void *arg, const void *payload, size_t len)
{
	struct alerts_live *live = arg;
	Gridwall__V1__RiskAlert *alert = gridwall__v1__risk_alert__unpack(NULL, len, payload);

	if (alert == NULL) {
		gridctl_err("alerts", "undecodable RiskAlert of %zu bytes, skipped", len);
		return 0;
	}
	if (!s_seen(live->seen, alert->alert_id))
		s_print_alert(alert, live->opt->json);
	gridwall__v1__risk_alert__free_unpacked(alert, NULL);
	return 0;
}

/* Subscribes, lists, then follows; the exit status. */
static int
s_run_follow(const struct alerts_opts *opt, struct alerts_seen *seen)
{
	void *zctx = zmq_ctx_new();
	void *sock = zctx ? sub_open(zctx, "alerts", opt->endpoint, opt->area) : NULL;
	struct alerts_live live = { opt, seen };
	int rc = GRIDCTL_EXIT_FAIL;

	if (sock != NULL) {
		if (s_list(opt, seen) != 0)
			gridctl_err("alerts", "warning: no stored alerts shown; "
			            "following live alerts only");
		rc = sub_follow(sock, "alerts", s_on_live, &live) == 0 ? GRIDCTL_EXIT_OK : GRIDCTL_EXIT_FAIL;
		zmq_close(sock);
	}
	if (zctx != NULL)
		zmq_ctx_term(zctx);
	return rc;
}

/* gridctl alerts: the listing, and with --follow the live alerts. */
int
gridctl_alerts(int argc, char **argv)
{
	struct alerts_opts opt = {
		.area = "",
		.conninfo = DEFAULT_DATABASE,
		.endpoint = DEFAULT_ALERTS_ENDPOINT,
		.limit = ALERTS_DEFAULT_LIMIT,
	};
	struct alerts_seen seen = { NULL, 0 };
	int rc;

	if ((rc = s_parse_opts(argc, argv, &opt)) >= 0)
		return rc;
	if (opt.follow)
		rc = s_run_follow(&opt, &seen);
	else
		rc = s_list(&opt, &seen) == 0 ? GRIDCTL_EXIT_OK : GRIDCTL_EXIT_FAIL;
	free(seen.ids);
	return rc;
}
