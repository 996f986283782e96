/* Screenings as the rules see them, from events and from table rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "risk.h"
#include "screening.h"
#include "validate.h"

bool
screening_from_event(const Gridwall__V1__RecordEvent *ev, struct screening *s)
{
	const Gridwall__V1__ScreeningRecord *r = ev->record;
	int day;

	memset(s, 0, sizeof(*s));
	if (r == NULL || r->grid_code == NULL)
		return false;
	s->id = ev->server_id;
	s->person_id = ev->person_id;
	s->household_id = ev->has_household_id ? ev->household_id : 0;
	s->screened_at = r->screened_at;
	s->received_at = ev->received_at;
	snprintf(s->grid_code, sizeof(s->grid_code), "%s", r->grid_code);
	s->has_temperature = r->has_temperature_tenths;
	s->temperature_tenths = r->temperature_tenths;
	for (size_t i = 0; i < r->n_symptoms; i++)
		if (r->symptoms[i] > 0 && r->symptoms[i] < 32)
			s->symptoms |= 1u << r->symptoms[i];
	s->channel = r->has_channel ? (int)r->channel : 0;
	snprintf(s->origin_region, sizeof(s->origin_region), "%s", r->origin_region ? r->origin_region : "");
	s->arrived_day = r->arrived_on && validate_date(r->arrived_on, &day) ? day : RISK_NO_DAY;
	s->contact = r->has_contact ? (int)r->contact : 0;
	return true;
}

/* Sets symptom bits from "cough,fatigue". */
static unsigned
s_symptom_bits(const char *list)
{
	char buf[256];
	unsigned bits = 0;
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		int v = codec_symptom_parse(t);

		if (v > 0 && v < 32)
			bits |= 1u << v;
	}
	return bits;
}

/* A parsed enum value, or 0 (its unspecified value) for an unknown name. */
static int
s_enum_or_zero(int parsed)
{
	return parsed < 0 ? 0 : parsed;
}

void
screening_from_row(const PGresult *res, int i, struct screening *s)
{
	memset(s, 0, sizeof(*s));
	s->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	s->person_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	s->household_id = strtoll(PQgetvalue(res, i, 2), NULL, 10);
	s->screened_at = strtoll(PQgetvalue(res, i, 3), NULL, 10);
	s->received_at = strtoll(PQgetvalue(res, i, 4), NULL, 10);
	snprintf(s->grid_code, sizeof(s->grid_code), "%s", PQgetvalue(res, i, 5));
	s->has_temperature = !PQgetisnull(res, i, 6);
	s->temperature_tenths = s->has_temperature ? atoi(PQgetvalue(res, i, 6)) : 0;
	s->symptoms = s_symptom_bits(PQgetvalue(res, i, 7));
	s->channel = s_enum_or_zero(codec_channel_parse(PQgetvalue(res, i, 8)));
	snprintf(s->origin_region, sizeof(s->origin_region), "%s", PQgetvalue(res, i, 9));
	s->arrived_day = PQgetisnull(res, i, 10) ? RISK_NO_DAY : atoi(PQgetvalue(res, i, 10));
	s->contact = s_enum_or_zero(codec_contact_parse(PQgetvalue(res, i, 11)));
}
