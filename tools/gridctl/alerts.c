/*
 * gridctl alerts: what the command office watches. Lists the latest alerts
 * of an area from PostgreSQL (the system of record), oldest first, then with
 * --follow prints the alerts rulesd publishes as they come. The subscription
 * is opened before the listing so that nothing raised in between is missed;
 * an alert that arrives live after it was listed is shown once. Staff see a
 * masked identity number only.
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
#include "gridctl.h"
#include "idcard.h"
#include "record_json.h"

#define ALERTS_DEFAULT_LIMIT 20
#define ALERTS_ROLE          "gridwall_office"

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
 * and 15 digits), so each lookup is a primary-key probe.
 */
static const char s_list_sql[] =
	"SELECT a.id, a.screening_id, a.person_id, a.level, a.previous_level,"
	"       array_to_json(a.rule_ids)::text, array_to_json(a.reasons)::text,"
	"       a.action, a.grid_code,"
	"       (SELECT string_agg(ar.name, ' / ' ORDER BY length(ar.code))"
	"          FROM areas ar"
	"         WHERE ar.code IN (left(a.grid_code, 4), left(a.grid_code, 6),"
	"                           left(a.grid_code, 9), left(a.grid_code, 12),"
	"                           a.grid_code)),"
	"       p.name, p.id_number, p.phone,"
	"       floor(extract(epoch FROM a.raised_at))::bigint"
	"  FROM alerts a JOIN persons p ON p.id = a.person_id"
	" WHERE a.grid_code LIKE $1 || '%'"
	" ORDER BY a.raised_at DESC, a.id DESC"
	" LIMIT $2";

enum {
	COL_ID, COL_SCREENING, COL_PERSON, COL_LEVEL, COL_PREVIOUS, COL_RULES,
	COL_REASONS, COL_ACTION, COL_GRID, COL_PATH, COL_NAME, COL_ID_NUMBER,
	COL_PHONE, COL_RAISED,
};

/* One database row as a RiskAlert, and what its fields point into. */
struct alerts_row {
	Gridwall__V1__RiskAlert alert;
	json_t *rules;
	json_t *reasons;
	char masked[IDCARD_LEN + 1];
};

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
	int c, idx = 0;
	bool ok = true;

	opterr = 0;
	optind = 1;
	while (ok && (c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		switch (c) {
		case 'a':
			opt->area = optarg;
			ok = gridctl_area_ok(optarg);
			break;
		case 'f':
			opt->follow = true;
			break;
		case 'd':
			opt->conninfo = optarg;
			break;
		case 'e':
			opt->endpoint = optarg;
			break;
		case 'l':
			ok = gridctl_parse_long(optarg, 1, 100000, &opt->limit);
			break;
		case 'j':
			opt->json = true;
			break;
		case 'h':
			return gridctl_usage("alerts", stdout, GRIDCTL_EXIT_OK);
		default:
			gridctl_err("alerts", "unknown option or missing value: %s",
			            argv[optind - 1]);
			return gridctl_usage("alerts", stderr, GRIDCTL_EXIT_USAGE);
		}
	}
	if (!ok)
		gridctl_err("alerts", "bad value for --%s: %s", longopts[idx].name, optarg);
	else if (optind < argc)
		gridctl_err("alerts", "unexpected argument: %s", argv[optind]);
	else
		return -1;
	return gridctl_usage("alerts", stderr, GRIDCTL_EXIT_USAGE);
}

/* True if a connection string sets the user itself. */
static bool
s_names_user(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	bool named = false;

	if (opts == NULL)
		return false;    /* PQconnectdbParams will say what is wrong */
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "user") == 0 && o->val != NULL && o->val[0] != '\0')
			named = true;
	PQconninfoFree(opts);
	return named;
}

/* Length of libpq's last error without its trailing newline, for "%.*s". */
static int
s_pq_error_len(const PGconn *conn)
{
	const char *msg = PQerrorMessage(conn);
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return n > 1000 ? 1000 : (int)n;
}

/* Connects as gridwall_office unless the conninfo names a user; NULL on failure. */
static PGconn *
s_connect(const char *conninfo)
{
	const char *keys[4], *vals[4];
	int n = 0;
	PGconn *conn;

	keys[n] = "dbname";
	vals[n++] = conninfo;
	keys[n] = "fallback_application_name";
	vals[n++] = "gridctl";
	if (!s_names_user(conninfo)) {
		keys[n] = "user";
		vals[n++] = ALERTS_ROLE;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return conn;
	if (conn == NULL)
		gridctl_err("alerts", "cannot connect to the database: out of memory");
	else
		gridctl_err("alerts", "cannot connect to the database: %.*s",
		            s_pq_error_len(conn), PQerrorMessage(conn));
	PQfinish(conn);
	return NULL;
}

/* Copies the strings of a JSON array into a new char * array pointing into it. */
static char **
s_strings(json_t *arr, size_t *n)
{
	char **out;
	json_t *item;
	size_t i;

	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return NULL;
	out = calloc(json_array_size(arr), sizeof(*out));
	if (out == NULL)
		return NULL;
	json_array_foreach(arr, i, item)
		out[i] = (char *)(json_is_string(item) ? json_string_value(item) : "");
	*n = json_array_size(arr);
	return out;
}

/* A text column, or NULL when SQL NULL. */
static char *
s_col(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* A bigint column, 0 when NULL. */
static int64_t
s_col_int(const PGresult *res, int row, int col)
{
	const char *s = s_col(res, row, col);

	return s ? strtoll(s, NULL, 10) : 0;
}

/* A level column by its name, NORMAL for anything unknown. */
static Gridwall__V1__RiskLevel
s_col_level(const PGresult *res, int row, int col)
{
	int v = codec_level_parse(s_col(res, row, col));

	return v < 0 ? GRIDWALL__V1__RISK_LEVEL__NORMAL : (Gridwall__V1__RiskLevel)v;
}

/* Builds the alert of one row; its strings point into res and the row. */
static void
s_row_load(struct alerts_row *r, const PGresult *res, int row)
{
	Gridwall__V1__RiskAlert *a = &r->alert;
	const char *id_number = s_col(res, row, COL_ID_NUMBER);
	const char *rules = s_col(res, row, COL_RULES);
	const char *reasons = s_col(res, row, COL_REASONS);

	gridwall__v1__risk_alert__init(a);
	a->alert_id = s_col_int(res, row, COL_ID);
	a->screening_id = s_col_int(res, row, COL_SCREENING);
	a->person_id = s_col_int(res, row, COL_PERSON);
	a->level = s_col_level(res, row, COL_LEVEL);
	a->has_previous_level = 1;
	a->previous_level = s_col_level(res, row, COL_PREVIOUS);
	r->rules = json_loads(rules ? rules : "[]", 0, NULL);
	r->reasons = json_loads(reasons ? reasons : "[]", 0, NULL);
	a->rule_ids = s_strings(r->rules, &a->n_rule_ids);
	a->reasons = s_strings(r->reasons, &a->n_reasons);
	a->action = s_col(res, row, COL_ACTION);
	a->grid_code = s_col(res, row, COL_GRID);
	a->area_path = s_col(res, row, COL_PATH);
	a->person_name = s_col(res, row, COL_NAME);
	if (id_number != NULL) {
		idcard_mask(id_number, r->masked);
		a->id_masked = r->masked;
	}
	a->phone = s_col(res, row, COL_PHONE);
	a->has_raised_at = !PQgetisnull(res, row, COL_RAISED);
	a->raised_at = s_col_int(res, row, COL_RAISED);
}

/* Frees what s_row_load allocated. */
static void
s_row_free(struct alerts_row *r)
{
	free(r->alert.rule_ids);
	free(r->alert.reasons);
	json_decref(r->rules);
	json_decref(r->reasons);
}

/* Writes text with control characters replaced, so that no field can drive the terminal. */
static void
s_put_clean(const char *s)
{
	if (s == NULL || *s == '\0') {
		fputs("-", stdout);
		return;
	}
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* Starts a column: two spaces, then the text. */
static void
s_put_col(const char *s)
{
	fputs("  ", stdout);
	s_put_clean(s);
}

/* The raised time in local time, or "-". */
static void
s_format_time(const Gridwall__V1__RiskAlert *a, char *buf, size_t size)
{
	time_t t = (time_t)a->raised_at;
	struct tm tm;

	if (!a->has_raised_at || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "-");
}

/* One alert as a line of text for a person. */
static void
s_print_human(const Gridwall__V1__RiskAlert *a)
{
	const char *name = codec_level_name(a->level);
	char when[32], level[16];
	size_t i;

	s_format_time(a, when, sizeof(when));
	for (i = 0; name != NULL && name[i] != '\0' && i < sizeof(level) - 1; i++)
		level[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
	level[i] = '\0';
	printf("%s  %-9s", when, name ? level : "?");
	s_put_col(a->grid_code);
	s_put_col(a->area_path);
	s_put_col(a->person_name);
	s_put_col(a->id_masked);
	s_put_col(a->phone);
	fputs("  ", stdout);
	for (i = 0; i < a->n_rule_ids; i++) {
		if (i > 0)
			putchar(',');
		s_put_clean(a->rule_ids[i]);
	}
	if (a->n_rule_ids == 0)
		putchar('-');
	s_put_col(a->action);
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
	struct alerts_row r;
	int n = PQntuples(res);

	seen->ids = calloc(n > 0 ? (size_t)n : 1, sizeof(*seen->ids));
	for (int row = n - 1; row >= 0; row--) {
		s_row_load(&r, res, row);
		s_print_alert(&r.alert, as_json);
		if (seen->ids != NULL)
			seen->ids[seen->n++] = r.alert.alert_id;
		s_row_free(&r);
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

	conn = s_connect(opt->conninfo);
	if (conn == NULL)
		return -1;
	snprintf(limit, sizeof(limit), "%ld", opt->limit);
	params[0] = opt->area;
	params[1] = limit;
	res = PQexecParams(conn, s_list_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		s_print_rows(res, opt->json, seen);
	} else {
		gridctl_err("alerts", "listing alerts: %.*s", s_pq_error_len(conn),
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
