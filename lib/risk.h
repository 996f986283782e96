/*
 * The risk-area registry: region-code prefixes and the days each was a
 * risk area. "Arrived from a risk area" means the origin's code starts
 * with a listed code and the arrival falls in the days it was listed.
 */
#ifndef GRIDWALL_RISK_H
#define GRIDWALL_RISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* A day that is not known (no arrival date), in days since 1970-01-01. */
#define RISK_NO_DAY INT32_MIN

struct risk_area {
	char region[16];
	int32_t from_day;              /* days since 1970-01-01 */
	int32_t to_day;                /* INT32_MAX while still a risk area */
};

struct risk_registry {
	struct risk_area *areas;
	size_t n;
};

/*
 * Whether origin (a region code, "" if none) was under a risk area on
 * arrived_day, and the arrival is at most window_days before screened_day.
 * An unknown arrival day counts as the screening day: a declared risk
 * origin without a date is observed rather than ignored.
 */
bool risk_arrived_from(const struct risk_registry *reg, const char *origin, int32_t arrived_day,
                       int32_t screened_day, int window_days);
/* Loads the registry from risk_areas; false (logged) on failure, leaving *reg untouched. */
bool risk_registry_load(struct db *db, struct risk_registry *reg);
void risk_registry_free(struct risk_registry *reg);

#endif
