/*
 * gridctl rules verify: does what rulesd stored equal a replay from
 * scratch? Every screening up to rulesd's watermark is run again, in id
 * order, through the rules rulesd loaded last, from no state at all; then
 *   - the assessments must be exactly those of the screenings a rule fired
 *     on, at the same level (each screening evaluated once, none skipped);
 *   - the risk alerts exactly those of the screenings that raised one (none
 *     twice, none missing);
 *   - every person's state exactly the replayed one.
 * It reads in one REPEATABLE READ transaction, so the watermark and the
 * rows agree. What time alone changes (a release at the end of an
 * observation, an overdue follow-up) is not replayed: persons the clock
 * moved are reported as differing (docs/operations.md says when to use it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "assess.h"
#include "codec.h"
#include "grow.h"
#include "gridctl.h"
#include "risk.h"
#include "rulelang.h"
#include "screening.h"
#include "state_row.h"

#define VERIFY_CMD "rules verify"
#define VERIFY_PAGE 10000
#define VERIFY_SHOWN 20              /* differences printed of each kind, at most */
#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)

static const char s_watermark_sql[] =
	"SELECT last_id FROM consumer_offsets WHERE consumer = 'rulesd'";
static const char s_page_sql[] =
	"SELECT " SCREENING_COLUMNS " FROM screenings s"
	" WHERE s.id > $1::bigint AND s.id <= $2::bigint ORDER BY s.id LIMIT " S_XSTR(VERIFY_PAGE);
static const char s_assessments_sql[] =
	"SELECT screening_id, level FROM assessments WHERE screening_id <= $1::bigint ORDER BY 1";
static const char s_alerts_sql[] =
	"SELECT screening_id FROM alerts WHERE kind = 'risk' AND screening_id <= $1::bigint ORDER BY 1";
static const char s_states_sql[] =
	"SELECT " PERSON_STATE_COLUMNS " FROM person_states ORDER BY person_id";

/* A screening the replay says was assessed (a rule fired), or raised an alert. */
struct verdict {
	int64_t id;
	int level;
};

struct verify {
	const char *conninfo;
	PGconn *conn;
	char watermark[24];
	struct rule_set *rules;
	char rules_name[300];
	struct risk_registry risk;
	struct assess state;
	struct verdict *assessed, *alerted;
	size_t nassessed, cap_assessed, nalerted, cap_alerted;
	long screenings, differences;
};

/* Adds a verdict to a list, in id order as the replay goes. */
static void
s_keep(struct verdict **v, size_t *n, size_t *cap, int64_t id, int level)
{
	if (!grow((void **)v, cap, *n + 1, sizeof(**v), 1024))
		gridctl_oom(VERIFY_CMD);
	(*v)[*n].id = id;
	(*v)[(*n)++].level = level;
}

static void s_differ(struct verify *v, long *shown, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Counts a difference, printing the first VERIFY_SHOWN of a kind. */
static void
s_differ(struct verify *v, long *shown, const char *fmt, ...)
{
	va_list ap;

	v->differences++;
	if ((*shown)++ < VERIFY_SHOWN) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
}

/* Replays every screening up to the watermark; false (reported) on failure. */
static bool
s_replay(struct verify *v)
{
	char after[24] = "0";
	const char *params[2] = { after, v->watermark };
	struct screening s;
	struct assessment out;

	for (;;) {
		PGresult *res = history_query(v->conn, VERIFY_CMD, "reading screenings", s_page_sql, 2, params);
		int n;

		if (res == NULL)
			return false;
		n = PQntuples(res);
		assess_begin(&v->state);
		for (int i = 0; i < n; i++) {
			screening_from_row(res, i, &s);
			if (!assess_screening(&v->state, v->rules, &v->risk, &s, &out))
				gridctl_oom(VERIFY_CMD);
			if (out.nfired > 0)
				s_keep(&v->assessed, &v->nassessed, &v->cap_assessed, s.id, out.level);
			if (out.alert)
				s_keep(&v->alerted, &v->nalerted, &v->cap_alerted, s.id, out.new_level);
		}
		assess_commit(&v->state);
		v->screenings += n;
		if (n > 0)
			snprintf(after, sizeof(after), "%lld", (long long)s.id);
		PQclear(res);
		if (n < VERIFY_PAGE)
			return true;
	}
}

/*
 * Merges a sorted table column (ids, and levels when with_level) with the
 * replay's list; each id on one side only, or with another level, differs.
 */
static bool
s_compare_list(struct verify *v, const char *what, const char *sql, const struct verdict *list,
               size_t n, bool with_level)
{
	const char *params[1] = { v->watermark };
	PGresult *res = history_query(v->conn, VERIFY_CMD, what, sql, 1, params);
	long shown = 0;
	size_t i = 0;
	int row = 0;

	if (res == NULL)
		return false;
	while (i < n || row < PQntuples(res)) {
		int64_t stored = row < PQntuples(res) ? gridctl_col_int(res, row, 0) : INT64_MAX;
		int64_t replayed = i < n ? list[i].id : INT64_MAX;

		if (stored < replayed) {
			s_differ(v, &shown, "%s: screening %lld stored, not replayed", what, (long long)stored);
			row++;
		} else if (replayed < stored) {
			s_differ(v, &shown, "%s: screening %lld replayed, not stored", what, (long long)replayed);
			i++;
		} else {
			const char *level = with_level ? PQgetvalue(res, row, 1) : "";

			if (with_level && codec_level_parse(level) != list[i].level)
				s_differ(v, &shown, "%s: screening %lld at level %s, replayed %s", what,
				         (long long)stored, level, codec_level_name(list[i].level));
			i++;
			row++;
		}
	}
	PQclear(res);
	return true;
}

/* The first field where a stored state and the replayed one differ, or NULL. */
static const char *
s_state_diff(const struct person_state *a, const struct person_state *b)
{
	if (a->level != b->level)
		return "level";
	if (a->household_id != b->household_id)
		return "household";
	if (a->since != b->since)
		return "since";
	if (a->observe_from != b->observe_from || a->observe_until != b->observe_until)
		return "observation";
	if (a->follow_up_due != b->follow_up_due || a->follow_up_hours != b->follow_up_hours)
		return "follow-up";
	if (a->last_screening_id != b->last_screening_id || a->last_screened_at != b->last_screened_at)
		return "last screening";
	if (strcmp(a->rule_id, b->rule_id) != 0 || strcmp(a->action, b->action) != 0)
		return "rule and action";
	if (a->nfevers != b->nfevers || memcmp(a->fevers, b->fevers, a->nfevers * sizeof(*a->fevers)) != 0)
		return "fevers";
	if (strcmp(a->grid_code, b->grid_code) != 0)
		return "grid";
	return NULL;
}

/* Compares every stored person state with the replayed one, and counts both. */
static bool
s_compare_states(struct verify *v)
{
	PGresult *res = history_query(v->conn, VERIFY_CMD, "reading person_states", s_states_sql, 0, NULL);
	long shown = 0;
	size_t matched = 0;

	if (res == NULL)
		return false;
	for (int i = 0; i < PQntuples(res); i++) {
		struct person_state stored;
		const struct person_state *replayed;
		const char *field;

		person_state_from_row(res, i, &stored);
		replayed = assess_person(&v->state, stored.person_id);
		if (replayed == NULL) {
			s_differ(v, &shown, "person %lld: a state stored, none replayed",
			         (long long)stored.person_id);
			continue;
		}
		matched++;
		if ((field = s_state_diff(&stored, replayed)) != NULL)
			s_differ(v, &shown, "person %lld: %s differs", (long long)stored.person_id, field);
	}
	if (matched < v->state.npersons) {
		v->differences += (long)(v->state.npersons - matched);
		printf("persons: %zu replayed states not stored\n", v->state.npersons - matched);
	}
	printf("verified %d stored person states against %zu replayed\n", PQntuples(res),
	       v->state.npersons);
	PQclear(res);
	return true;
}

/* Connects, reads the watermark and the rules, replays and compares; the exit status. */
static int
s_run(struct verify *v)
{
	PGresult *res;

	v->conn = gridctl_connect(VERIFY_CMD, v->conninfo, GRIDCTL_RULES_ROLE);
	if (v->conn == NULL)
		return GRIDCTL_EXIT_FAIL;
	res = history_query(v->conn, VERIFY_CMD, "starting a read-only transaction",
	                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
	if (res == NULL)
		return GRIDCTL_EXIT_FAIL;
	PQclear(res);
	res = history_query(v->conn, VERIFY_CMD, "reading rulesd's watermark", s_watermark_sql, 0, NULL);
	if (res == NULL)
		return GRIDCTL_EXIT_FAIL;
	snprintf(v->watermark, sizeof(v->watermark), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "0");
	PQclear(res);
	v->rules = history_live_rules(v->conn, VERIFY_CMD, v->rules_name, sizeof(v->rules_name));
	if (v->rules == NULL || !history_risk(v->conn, VERIFY_CMD, &v->risk) || !s_replay(v))
		return GRIDCTL_EXIT_FAIL;
	printf("replayed %ld screenings up to rulesd's watermark %s with the %s\n", v->screenings,
	       v->watermark, v->rules_name);
	if (!s_compare_list(v, "assessments", s_assessments_sql, v->assessed, v->nassessed, true) ||
	    !s_compare_list(v, "risk alerts", s_alerts_sql, v->alerted, v->nalerted, false) ||
	    !s_compare_states(v))
		return GRIDCTL_EXIT_FAIL;
	printf("assessments %zu, risk alerts %zu, differences %ld\n", v->nassessed, v->nalerted,
	       v->differences);
	return v->differences == 0 ? GRIDCTL_EXIT_OK : GRIDCTL_EXIT_FAIL;
}

/* Takes one option. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	if (code != 'd')
		return false;
	((struct verify *)p)->conninfo = arg;
	return true;
}

int
gridctl_rules_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify v;
	int rc;

	memset(&v, 0, sizeof(v));
	v.conninfo = DEFAULT_DATABASE;
	if ((rc = gridctl_options(VERIFY_CMD, argc, argv, longopts, s_set_opt, &v, NULL)) >= 0)
		return rc;
	assess_init(&v.state);
	rc = s_run(&v);
	fflush(stdout);
	assess_free(&v.state);
	rule_set_free(&v.rules);
	risk_registry_free(&v.risk);
	free(v.assessed);
	free(v.alerted);
	if (v.conn != NULL)
		PQfinish(v.conn);
	return rc;
}
