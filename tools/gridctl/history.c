/*
 * What the tools that replay history share (rules replay, rules verify):
 * queries that report their failure, the rule set rulesd loaded last, and
 * the risk-area registry as rulesd reads it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "gridctl.h"
#include "risk.h"
#include "rulelang.h"

/* The risk-area registry, as lib/risk.c reads it for rulesd. */
static const char s_risk_sql[] =
	"SELECT region_code, valid_from - date '1970-01-01',"
	"       coalesce(valid_to - date '1970-01-01', 2147483647) FROM risk_areas";

/* The set rulesd loaded last. */
static const char s_live_sql[] =
	"SELECT floor(extract(epoch FROM loaded_at))::bigint, source"
	"  FROM rule_sets ORDER BY id DESC LIMIT 1";

PGresult *
history_query(PGconn *conn, const char *cmd, const char *what, const char *sql, int n,
              const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	const char *state;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	gridctl_err(cmd, "%s: %.*s", what, gridctl_pq_error_len(conn), PQerrorMessage(conn));
	if (state != NULL && strcmp(state, "42501") == 0)
		gridctl_err(cmd, "%s reads tables this user may not: connect as a user allowed to "
		            "(--database '... user=NAME')", cmd);
	PQclear(res);
	return NULL;
}

struct rule_set *
history_live_rules(PGconn *conn, const char *cmd, char *name, size_t len)
{
	PGresult *res = history_query(conn, cmd, "reading the live rules (rule_sets)", s_live_sql, 0, NULL);
	struct rule_error err;
	struct rule_set *rules;
	char when[32], msg[sizeof(err.file) + sizeof(err.message) + 32];

	if (res == NULL)
		return NULL;
	if (PQntuples(res) == 0) {
		gridctl_err(cmd, "no live rules: rule_sets is empty (rulesd has not loaded any yet)");
		PQclear(res);
		return NULL;
	}
	gridctl_local_minute(gridctl_col_int(res, 0, 0), when, sizeof(when));
	snprintf(name, len, "live rules (loaded %s)", when);
	rules = rule_set_parse(name, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1), &err);
	PQclear(res);
	if (rules == NULL) {
		rule_error_format(&err, msg, sizeof(msg));
		gridctl_err(cmd, "the stored live rules do not parse: %s", msg);
	}
	return rules;
}

bool
history_risk(PGconn *conn, const char *cmd, struct risk_registry *risk)
{
	PGresult *res = history_query(conn, cmd, "reading the risk areas", s_risk_sql, 0, NULL);
	int n;

	if (res == NULL)
		return false;
	n = PQntuples(res);
	risk->areas = calloc(n > 0 ? (size_t)n : 1, sizeof(*risk->areas));
	if (risk->areas == NULL) {
		PQclear(res);
		gridctl_oom(cmd);
	}
	for (int i = 0; i < n; i++) {
		struct risk_area *a = &risk->areas[i];

		snprintf(a->region, sizeof(a->region), "%s", PQgetvalue(res, i, 0));
		a->from_day = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
		a->to_day = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
	}
	risk->n = (size_t)n;
	PQclear(res);
	return true;
}
