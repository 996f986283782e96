/* The risk-area registry, loaded from risk_areas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "risk.h"

bool
risk_arrived_from(const struct risk_registry *reg, const char *origin, int32_t arrived_day,
                  int32_t screened_day, int window_days)
{
	int32_t day = arrived_day != RISK_NO_DAY ? arrived_day : screened_day;

	if (origin == NULL || origin[0] == '\0' || screened_day - day > window_days)
		return false;
	for (size_t i = 0; i < reg->n; i++) {
		const struct risk_area *a = &reg->areas[i];

		if (strncmp(origin, a->region, strlen(a->region)) == 0 && day >= a->from_day &&
		    day <= a->to_day)
			return true;
	}
	return false;
}

static const char SQL_RISK_AREAS[] =
	"SELECT region_code, valid_from - date '1970-01-01', "
	"       coalesce(valid_to - date '1970-01-01', 2147483647) FROM risk_areas";

bool
risk_registry_load(struct db *db, struct risk_registry *reg)
{
	PGresult *res = db_query(db, "load risk areas", PGRES_TUPLES_OK, SQL_RISK_AREAS, 0, NULL);
	struct risk_area *areas;
	int n;

	if (res == NULL)
		return false;
	n = PQntuples(res);
	areas = calloc(n ? (size_t)n : 1, sizeof(*areas));
	if (areas == NULL) {
		PQclear(res);
		return false;
	}
	for (int i = 0; i < n; i++) {
		snprintf(areas[i].region, sizeof(areas[i].region), "%s", PQgetvalue(res, i, 0));
		areas[i].from_day = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
		areas[i].to_day = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
	}
	PQclear(res);
	risk_registry_free(reg);
	reg->areas = areas;
	reg->n = (size_t)n;
	log_info("loaded %d risk areas", n);
	return true;
}

void
risk_registry_free(struct risk_registry *reg)
{
	free(reg->areas);
	reg->areas = NULL;
	reg->n = 0;
}
