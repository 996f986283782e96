/*
 * rulebench: how fast the rules are on one core, with the database out of
 * the way. Loads the risk areas, up to LIMIT stored screenings (in id
 * order) and the rule set into memory, then times on the calling thread:
 *   a. the rules alone: rule_set_evaluate over every screening, each with
 *      an empty state (the input built as lib/assess.c builds it);
 *   b. the rules and the state: assess_begin, assess_screening over every
 *      screening in id order, assess_commit, each pass into a fresh
 *      struct assess (its allocations and index inserts included);
 * each repeated for at least SECONDS of the thread's CPU time. Rates are
 * records per CPU second (CLOCK_THREAD_CPUTIME_ID). How many screenings
 * fired a rule is printed as a sanity check: a set that fires nothing is
 * fast for the wrong reason. The last line sums up; tests/bench/rules.sh
 * reads it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assess.h"
#include "db.h"
#include "gridwall/v1/gridwall.pb-c.h"
#include "rulelang.h"
#include "screening.h"
#include "validate.h"

#define RULEBENCH_LIMIT 200000
#define RULEBENCH_SECONDS 2.0

/* The same query as lib/risk.c's, over plain libpq. */
static const char SQL_RISK_AREAS[] =
	"SELECT region_code, valid_from - date '1970-01-01', "
	"       coalesce(valid_to - date '1970-01-01', 2147483647) FROM risk_areas";

static const char SQL_SCREENINGS[] =
	"SELECT " SCREENING_COLUMNS " FROM screenings s ORDER BY s.id LIMIT $1::bigint";

/* What one timed loop did: passes, records, CPU seconds, and what fired in its first pass. */
struct run {
	unsigned passes;
	uint64_t records;
	double cpu_s;
	size_t fired;          /* screenings that fired at least one rule */
	size_t rule_hits;      /* rules fired, all screenings together */
	size_t alerts;         /* (b) assessments that raise an alert */
	size_t persons;        /* (b) states left after a pass */
	size_t households;
};

/* CPU seconds used by the calling thread. */
static double
s_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loads the registry of risk areas; false (printed) on failure. */
static bool
s_load_risk(PGconn *conn, struct risk_registry *reg)
{
	PGresult *res = PQexec(conn, SQL_RISK_AREAS);
	int n;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "rulebench: reading risk_areas: %s", PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	n = PQntuples(res);
	reg->areas = calloc(n > 0 ? (size_t)n : 1, sizeof(*reg->areas));
	if (reg->areas == NULL) {
		PQclear(res);
		return false;
	}
	for (int i = 0; i < n; i++) {
		struct risk_area *a = &reg->areas[i];

		snprintf(a->region, sizeof(a->region), "%s", PQgetvalue(res, i, 0));
		a->from_day = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
		a->to_day = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
	}
	reg->n = (size_t)n;
	PQclear(res);
	return true;
}

/* Loads up to limit stored screenings in id order; NULL (printed) on failure. */
static struct screening *
s_load_screenings(PGconn *conn, long limit, size_t *count)
{
	char l[24];
	const char *params[1] = { l };
	struct screening *v;
	PGresult *res;
	int n;

	snprintf(l, sizeof(l), "%ld", limit);
	res = PQexecParams(conn, SQL_SCREENINGS, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "rulebench: reading screenings: %s", PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	n = PQntuples(res);
	v = calloc(n > 0 ? (size_t)n : 1, sizeof(*v));
	if (v == NULL) {
		PQclear(res);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		screening_from_row(res, i, &v[i]);
	PQclear(res);
	*count = (size_t)n;
	return v;
}

/* a. The rules alone, until min_s of CPU have passed. */
static void
s_time_rules(const struct rule_set *rs, const struct risk_registry *risk,
             const struct screening *v, size_t n, double min_s, struct run *out)
{
	uint16_t fired[RULES_MAX];
	struct rule_input in;
	struct assess empty;
	double t0 = s_cpu_now();

	memset(out, 0, sizeof(*out));
	assess_init(&empty);
	do {
		size_t hits = 0, any = 0;

		for (size_t i = 0; i < n; i++) {
			size_t k;

			assess_rule_input(&empty, risk, &v[i], NULL, &in);
			k = rule_set_evaluate(rs, &in, fired, RULES_MAX);
			hits += k;
			any += k > 0;
		}
		if (out->passes++ == 0) {
			out->fired = any;
			out->rule_hits = hits;
		}
		out->records += n;
		out->cpu_s = s_cpu_now() - t0;
	} while (out->cpu_s < min_s);
}

/* b. The rules and the state, a fresh state each pass, until min_s of CPU have passed. */
static bool
s_time_assess(const struct rule_set *rs, const struct risk_registry *risk,
              const struct screening *v, size_t n, double min_s, struct run *out)
{
	struct assessment as;
	struct assess a;

	memset(out, 0, sizeof(*out));
	do {
		size_t hits = 0, any = 0, alerts = 0;
		double t0 = s_cpu_now();

		assess_init(&a);
		assess_begin(&a);
		for (size_t i = 0; i < n; i++) {
			if (!assess_screening(&a, rs, risk, &v[i], &as)) {
				fprintf(stderr, "rulebench: out of memory at screening %" PRId64 "\n", v[i].id);
				assess_free(&a);
				return false;
			}
			hits += as.nfired;
			any += as.nfired > 0;
			alerts += as.alert;
		}
		assess_commit(&a);
		out->cpu_s += s_cpu_now() - t0;
		if (out->passes++ == 0) {
			out->fired = any;
			out->rule_hits = hits;
			out->alerts = alerts;
			out->persons = a.npersons;
			out->households = a.nhouseholds;
		}
		out->records += n;
		assess_free(&a);     /* not timed: rulesd never frees its state */
	} while (out->cpu_s < min_s);
	return true;
}

/* Records per CPU second. */
static double
s_rate(const struct run *r)
{
	return r->cpu_s > 0 ? (double)r->records / r->cpu_s : 0;
}

int
main(int argc, char **argv)
{
	struct risk_registry risk = { NULL, 0 };
	long limit = argc > 3 ? strtol(argv[3], NULL, 10) : RULEBENCH_LIMIT;
	double min_s = argc > 4 ? strtod(argv[4], NULL) : RULEBENCH_SECONDS;
	struct run a, b;
	struct rule_error err;
	struct rule_set *rs;
	struct screening *v;
	size_t n = 0;
	char msg[600];
	PGconn *conn;

	if (argc < 3 || argc > 5 || limit <= 0 || min_s < 0) {
		fprintf(stderr, "usage: rulebench CONNINFO RULES [LIMIT [SECONDS]]\n"
		                "  LIMIT    stored screenings to load, lowest ids first (default %d)\n"
		                "  SECONDS  least CPU time of each timed loop (default %.0f)\n",
		        RULEBENCH_LIMIT, RULEBENCH_SECONDS);
		return 2;
	}
	rs = rule_set_load(argv[2], &err);
	if (rs == NULL) {
		rule_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "rulebench: %s\n", msg);
		return 1;
	}
	conn = db_connect_once(argv[1], NULL);
	if (conn == NULL)
		return 1;
	if (!s_load_risk(conn, &risk) || (v = s_load_screenings(conn, limit, &n)) == NULL) {
		PQfinish(conn);
		return 1;
	}
	PQfinish(conn);
	if (n == 0) {
		fprintf(stderr, "rulebench: no stored screening to evaluate\n");
		return 1;
	}
	fprintf(stderr, "rulebench: %zu screenings (ids %" PRId64 "..%" PRId64 "), %zu rules, "
	        "%zu risk areas\n", n, v[0].id, v[n - 1].id, rule_set_count(rs), risk.n);

	s_time_rules(rs, &risk, v, n, min_s, &a);
	fprintf(stderr, "rulebench: rules only: %.0f records/s (%u passes, %.2f s CPU); "
	        "%zu of %zu screenings fired a rule, %zu rules fired\n",
	        s_rate(&a), a.passes, a.cpu_s, a.fired, n, a.rule_hits);
	if (!s_time_assess(rs, &risk, v, n, min_s, &b))
		return 1;
	fprintf(stderr, "rulebench: rules and state: %.0f records/s (%u passes, %.2f s CPU); "
	        "%zu of %zu screenings fired a rule, %zu rules fired, %zu alerts, "
	        "%zu person states, %zu households\n",
	        s_rate(&b), b.passes, b.cpu_s, b.fired, n, b.rule_hits, b.alerts, b.persons,
	        b.households);

	printf("rulebench: screenings=%zu rules=%zu risk_areas=%zu "
	       "rules_rps=%.0f rules_passes=%u rules_cpu_s=%.2f rules_fired=%zu "
	       "assess_rps=%.0f assess_passes=%u assess_cpu_s=%.2f assess_fired=%zu alerts=%zu "
	       "persons=%zu households=%zu\n",
	       n, rule_set_count(rs), risk.n, s_rate(&a), a.passes, a.cpu_s, a.fired, s_rate(&b),
	       b.passes, b.cpu_s, b.fired, b.alerts, b.persons, b.households);
	free(v);
	risk_registry_free(&risk);
	rule_set_free(&rs);
	return fflush(stdout) == 0 ? 0 : 2;
}
