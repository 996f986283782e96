/* Stored alerts as RiskAlert messages. */
#include <stdlib.h>
#include <string.h>

#include "alert_row.h"
#include "codec.h"

enum {
	COL_ID, COL_SCREENING, COL_PERSON, COL_LEVEL, COL_PREVIOUS, COL_RULES,
	COL_REASONS, COL_ACTION, COL_GRID, COL_PATH, COL_NAME, COL_ID_NUMBER,
	COL_PHONE, COL_RAISED, COL_KIND, COL_HOUSEHOLD, COL_HOUSEHOLD_CODE, COL_STATE,
	COL_ASSIGNED_TEAM, COL_OUTCOME,
};

/* A column's text, NULL when NULL; it lives as long as the result. */
static char *
s_col(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* A bigint column, 0 when NULL. */
static int64_t
s_int(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
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

/* A level column by its name, NORMAL for anything unknown. */
static Gridwall__V1__RiskLevel
s_col_level(const PGresult *res, int row, int col)
{
	int v = codec_level_parse(s_col(res, row, col));

	return v < 0 ? GRIDWALL__V1__RISK_LEVEL__NORMAL : (Gridwall__V1__RiskLevel)v;
}

/* An alert kind by its SQL name (deploy/sql/005_rule_state.sql); risk for anything unknown. */
static Gridwall__V1__AlertKind
s_kind_parse(const char *name)
{
	static const struct {
		const char *name;
		Gridwall__V1__AlertKind kind;
	} kinds[] = {
		{ "released", GRIDWALL__V1__ALERT_KIND__ALERT_RELEASED },
		{ "follow_up_overdue", GRIDWALL__V1__ALERT_KIND__ALERT_FOLLOW_UP_OVERDUE },
		{ "coverage_gap", GRIDWALL__V1__ALERT_KIND__ALERT_COVERAGE_GAP },
	};

	for (size_t i = 0; name != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return kinds[i].kind;
	return GRIDWALL__V1__ALERT_KIND__ALERT_RISK;
}

void
alert_row_load(struct alert_row *r, const PGresult *res, int row)
{
	Gridwall__V1__RiskAlert *a = &r->alert;
	const char *id_number = s_col(res, row, COL_ID_NUMBER);
	const char *rules = s_col(res, row, COL_RULES);
	const char *reasons = s_col(res, row, COL_REASONS);

	gridwall__v1__risk_alert__init(a);
	a->alert_id = s_int(res, row, COL_ID);
	a->has_kind = 1;
	a->kind = s_kind_parse(s_col(res, row, COL_KIND));
	a->has_screening_id = !PQgetisnull(res, row, COL_SCREENING);
	a->screening_id = s_int(res, row, COL_SCREENING);
	a->has_person_id = !PQgetisnull(res, row, COL_PERSON);
	a->person_id = s_int(res, row, COL_PERSON);
	a->has_household_id = !PQgetisnull(res, row, COL_HOUSEHOLD);
	a->household_id = s_int(res, row, COL_HOUSEHOLD);
	a->household_code = s_col(res, row, COL_HOUSEHOLD_CODE);
	a->state = s_col(res, row, COL_STATE);
	a->assigned_team = s_col(res, row, COL_ASSIGNED_TEAM);
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
	a->raised_at = s_int(res, row, COL_RAISED);
	a->outcome = s_col(res, row, COL_OUTCOME);
}

void
alert_row_free(struct alert_row *r)
{
	free(r->alert.rule_ids);
	free(r->alert.reasons);
	json_decref(r->rules);
	json_decref(r->reasons);
}
