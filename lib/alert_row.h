/*
 * Stored alerts read back as RiskAlert messages, one query shape for every
 * reader (gridctl alerts, reportd's office API), so that an alert looks
 * the same on the feed, in the table and over HTTP.
 */
#ifndef GRIDWALL_ALERT_ROW_H
#define GRIDWALL_ALERT_ROW_H

#include <jansson.h>
#include <libpq-fe.h>

#include "gridwall/v1/gridwall.pb-c.h"
#include "idcard.h"

/*
 * SELECT list and FROM clause over "alerts a"; append WHERE and ORDER BY.
 * A coverage gap has no person, and only some alerts name a household:
 * both are joined when there is one.
 */
#define ALERT_ROW_SELECT \
	"SELECT a.id, a.screening_id, a.person_id, a.level, a.previous_level," \
	"       array_to_json(a.rule_ids)::text, array_to_json(a.reasons)::text," \
	"       a.action, a.grid_code," \
	"       (SELECT string_agg(ar.name, ' / ' ORDER BY length(ar.code))" \
	"          FROM areas ar" \
	"         WHERE ar.code IN (left(a.grid_code, 4), left(a.grid_code, 6)," \
	"                           left(a.grid_code, 9), left(a.grid_code, 12)," \
	"                           a.grid_code))," \
	"       p.name, p.id_number, p.phone," \
	"       floor(extract(epoch FROM a.raised_at))::bigint," \
	"       a.kind, a.household_id, h.code, a.state, a.assigned_team, a.outcome" \
	"  FROM alerts a" \
	"  LEFT JOIN persons p ON p.id = a.person_id" \
	"  LEFT JOIN households h ON h.id = a.household_id"

/* One row as a RiskAlert, and what its fields point into (with the result). */
struct alert_row {
	Gridwall__V1__RiskAlert alert;
	json_t *rules;
	json_t *reasons;
	char masked[IDCARD_LEN + 1];
};

/* Builds the alert of row i of a result selecting ALERT_ROW_SELECT. */
void alert_row_load(struct alert_row *r, const PGresult *res, int row);
/* Frees what alert_row_load allocated. */
void alert_row_free(struct alert_row *r);

#endif
