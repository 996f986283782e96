/*
 * A person's state as person_states stores it, read back into the struct
 * lib/assess.h works on: one SELECT list and one parser for every reader
 * (rulesd at start, gridctl rules verify).
 */
#ifndef GRIDWALL_STATE_ROW_H
#define GRIDWALL_STATE_ROW_H

#include <libpq-fe.h>

#include "assess.h"

/* Epoch seconds of a timestamptz column, 0 for NULL. */
#define STATE_ROW_EPOCH(col) "coalesce(extract(epoch FROM " col ")::bigint, 0)"

/* The SELECT list over person_states that person_state_from_row reads. */
#define PERSON_STATE_COLUMNS \
	"person_id, coalesce(household_id, 0), level, " STATE_ROW_EPOCH("since") ", " \
	STATE_ROW_EPOCH("observe_from") ", " STATE_ROW_EPOCH("observe_until") ", " \
	STATE_ROW_EPOCH("follow_up_due") ", follow_up_hours, overdue_alerted, last_screening, " \
	STATE_ROW_EPOCH("last_screened_at") ", coalesce(rule_id, ''), coalesce(action, ''), " \
	"array_to_string(ARRAY(SELECT extract(epoch FROM f)::bigint FROM unnest(fevers) f " \
	"ORDER BY 1 DESC), ','), coalesce(grid_code, '')"

/* The state in row i of a result of PERSON_STATE_COLUMNS. */
void person_state_from_row(const PGresult *res, int i, struct person_state *p);

#endif
