/*
 * A screening as the rules see it, built from a live RecordEvent or read
 * back from the screenings table. Both paths must give the same struct:
 * rulesd evaluates live events and catches up from the table, and a replay
 * reads the table; all must reach the same verdicts.
 */
#ifndef GRIDWALL_SCREENING_H
#define GRIDWALL_SCREENING_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "area.h"
#include "gridwall/v1/gridwall.pb-c.h"

struct screening {
	int64_t id;
	int64_t person_id;
	int64_t household_id;         /* 0 when none */
	int64_t screened_at;          /* Unix seconds */
	int64_t received_at;
	char grid_code[AREA_CODE_MAX];
	bool has_temperature;
	int temperature_tenths;
	unsigned symptoms;            /* bit (1 << Symptom) per symptom */
	int channel;                  /* Gridwall__V1__Channel */
	char origin_region[16];
	int32_t arrived_day;          /* days since 1970-01-01, or RISK_NO_DAY */
	int contact;                  /* Gridwall__V1__Contact */
};

/*
 * The select list that screening_from_row reads, over "screenings s":
 * SELECT SCREENING_COLUMNS FROM screenings s WHERE ...
 */
#define SCREENING_COLUMNS \
	"s.id, s.person_id, coalesce(s.household_id, 0), extract(epoch FROM s.screened_at)::bigint, " \
	"extract(epoch FROM s.received_at)::bigint, s.grid_code, (s.temperature * 10)::int, " \
	"array_to_string(s.symptoms, ','), s.channel, coalesce(s.origin_region, ''), " \
	"s.arrived_on - date '1970-01-01', s.contact"

/* Builds a screening from an event; false when the event lacks its record or grid. */
bool screening_from_event(const Gridwall__V1__RecordEvent *ev, struct screening *s);
/* Builds a screening from row i of a result selecting SCREENING_COLUMNS. */
void screening_from_row(const PGresult *res, int i, struct screening *s);

#endif
