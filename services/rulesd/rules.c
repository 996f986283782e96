/*
 * The rules of the 2020 guidance, evaluated against one screening and the
 * risk-area registry. Pure functions: the same screening and registry give
 * the same verdict, which is what replay and the tests rely on.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rulesd.h"
#include "validate.h"

#define OBSERVATION_WINDOW_DAYS 14
#define RESPIRATORY_SYMPTOMS                                              \
	((1u << GRIDWALL__V1__SYMPTOM__COUGH) |                           \
	 (1u << GRIDWALL__V1__SYMPTOM__FATIGUE) |                         \
	 (1u << GRIDWALL__V1__SYMPTOM__SHORTNESS_OF_BREATH) |             \
	 (1u << GRIDWALL__V1__SYMPTOM__DIARRHOEA) |                       \
	 (1u << GRIDWALL__V1__SYMPTOM__CONJUNCTIVAL_CONGESTION))

static const struct rule_hit RULE_CLOSE_CONTACT = {
	"close_contact", "close contact of a confirmed case",
	"centralized observation for 14 days", GRIDWALL__V1__RISK_LEVEL__HIGH,
};
static const struct rule_hit RULE_FEVER_FROM_RISK_AREA = {
	"fever_from_risk_area", "temperature of 37.3 C or more after arriving from a risk area within 14 days",
	"refer to a fever clinic", GRIDWALL__V1__RISK_LEVEL__HIGH,
};
static const struct rule_hit RULE_SYMPTOMS_FROM_RISK_AREA = {
	"symptoms_from_risk_area", "respiratory symptoms after arriving from a risk area within 14 days",
	"refer to a fever clinic", GRIDWALL__V1__RISK_LEVEL__HIGH,
};
static const struct rule_hit RULE_RISK_AREA_ARRIVAL = {
	"risk_area_arrival", "arrived from a risk area within 14 days",
	"home observation for 14 days", GRIDWALL__V1__RISK_LEVEL__KEY_PERSON,
};
static const struct rule_hit RULE_FEVER = {
	"fever", "temperature of 37.3 C or more",
	"recheck temperature within 24 hours", GRIDWALL__V1__RISK_LEVEL__ATTENTION,
};

/*
 * Arrived from a risk area within 14 days: the origin's code starts with a
 * risk area's code, the arrival falls in the days it was one, and the
 * screening is at most 14 days after the arrival. A declared risk origin
 * with no arrival date counts: the guidance errs on the side of observing.
 */
bool
rules_arrived_from_risk_area(const struct risk_registry *risk, const struct screening *s)
{
	int32_t screened = validate_local_day(s->screened_at);

	if (s->origin_region[0] == '\0')
		return false;
	if (s->arrived_day != NO_DAY && screened - s->arrived_day > OBSERVATION_WINDOW_DAYS)
		return false;
	for (size_t i = 0; i < risk->n; i++) {
		const struct risk_area *a = &risk->areas[i];
		int32_t day = s->arrived_day != NO_DAY ? s->arrived_day : screened;

		if (strncmp(s->origin_region, a->region, strlen(a->region)) == 0 &&
		    day >= a->from_day && day <= a->to_day)
			return true;
	}
	return false;
}

/* Records a rule that fired, raising the verdict's level if higher. */
static void
s_hit(struct verdict *v, const struct rule_hit *rule)
{
	if (v->nhits < RULE_HITS_MAX)
		v->hits[v->nhits++] = *rule;
	if (rule->level > v->level) {
		v->level = rule->level;
		v->action = rule->action;
	}
}

void
rules_evaluate(const struct risk_registry *risk, const struct screening *s, struct verdict *v)
{
	bool fever = s->has_temperature && s->temperature_tenths >= FEVER_TENTHS;
	bool from_risk = rules_arrived_from_risk_area(risk, s);

	memset(v, 0, sizeof(*v));
	v->level = GRIDWALL__V1__RISK_LEVEL__NORMAL;
	if (s->contact == GRIDWALL__V1__CONTACT__CONFIRMED_CASE)
		s_hit(v, &RULE_CLOSE_CONTACT);
	if (from_risk && fever)
		s_hit(v, &RULE_FEVER_FROM_RISK_AREA);
	if (from_risk && (s->symptoms & RESPIRATORY_SYMPTOMS))
		s_hit(v, &RULE_SYMPTOMS_FROM_RISK_AREA);
	if (from_risk && !fever && !(s->symptoms & RESPIRATORY_SYMPTOMS))
		s_hit(v, &RULE_RISK_AREA_ARRIVAL);
	if (fever && !from_risk)
		s_hit(v, &RULE_FEVER);
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
