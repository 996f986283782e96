/* Reading a person's state back from person_states (state_row.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "state_row.h"

/* Column col of row i as a number. */
static int64_t
s_int(const PGresult *res, int i, int col)
{
	return strtoll(PQgetvalue(res, i, col), NULL, 10);
}

/* Fills the fevers of a state from "t1,t2,...", newest first. */
static void
s_fevers(struct person_state *p, const char *list)
{
	char *end;

	p->nfevers = 0;
	while (*list != '\0' && p->nfevers < RULE_FEVERS_MAX) {
		p->fevers[p->nfevers++] = strtoll(list, &end, 10);
		list = *end == ',' ? end + 1 : end;
	}
}

void
person_state_from_row(const PGresult *res, int i, struct person_state *p)
{
	int level = codec_level_parse(PQgetvalue(res, i, 2));

	memset(p, 0, sizeof(*p));
	p->person_id = s_int(res, i, 0);
	p->household_id = s_int(res, i, 1);
	p->level = (uint8_t)(level > 0 ? level : 0);
	p->since = s_int(res, i, 3);
	p->observe_from = s_int(res, i, 4);
	p->observe_until = s_int(res, i, 5);
	p->follow_up_due = s_int(res, i, 6);
	p->follow_up_hours = (int32_t)s_int(res, i, 7);
	p->overdue_alerted = PQgetvalue(res, i, 8)[0] == 't';
	p->last_screening_id = s_int(res, i, 9);
	p->last_screened_at = s_int(res, i, 10);
	snprintf(p->rule_id, sizeof(p->rule_id), "%s", PQgetvalue(res, i, 11));
	snprintf(p->action, sizeof(p->action), "%s", PQgetvalue(res, i, 12));
	s_fevers(p, PQgetvalue(res, i, 13));
	snprintf(p->grid_code, sizeof(p->grid_code), "%s", PQgetvalue(res, i, 14));
}
