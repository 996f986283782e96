/*
 * Screenings as the rules see them, built from a live RecordEvent or read
 * back from the screenings table when catching up. Both paths must give the
 * same struct: the tests compare a live run with a catch-up.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "rulesd.h"
#include "validate.h"

static const char SQL_AFTER[] =
	"SELECT id, person_id, extract(epoch FROM screened_at)::bigint, "
	"       extract(epoch FROM received_at)::bigint, grid_code, "
	"       (temperature * 10)::int, array_to_string(symptoms, ','), "
	"       coalesce(origin_region, ''), arrived_on - date '1970-01-01', contact "
	"FROM screenings WHERE id > $1::bigint ORDER BY id LIMIT $2::int";

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
	s->screened_at = r->screened_at;
	s->received_at = ev->received_at;
	snprintf(s->grid_code, sizeof(s->grid_code), "%s", r->grid_code);
	s->has_temperature = r->has_temperature_tenths;
	s->temperature_tenths = r->temperature_tenths;
	for (size_t i = 0; i < r->n_symptoms; i++)
		if (r->symptoms[i] > 0 && r->symptoms[i] < 32)
			s->symptoms |= 1u << r->symptoms[i];
	snprintf(s->origin_region, sizeof(s->origin_region), "%s", r->origin_region ? r->origin_region : "");
	s->arrived_day = r->arrived_on && validate_date(r->arrived_on, &day) ? day : NO_DAY;
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

/* Builds a screening from row i of the SQL_AFTER result. */
static void
s_from_row(PGresult *res, int i, struct screening *s)
{
	memset(s, 0, sizeof(*s));
	s->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	s->person_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	s->screened_at = strtoll(PQgetvalue(res, i, 2), NULL, 10);
	s->received_at = strtoll(PQgetvalue(res, i, 3), NULL, 10);
	snprintf(s->grid_code, sizeof(s->grid_code), "%s", PQgetvalue(res, i, 4));
	s->has_temperature = !PQgetisnull(res, i, 5);
	s->temperature_tenths = s->has_temperature ? atoi(PQgetvalue(res, i, 5)) : 0;
	s->symptoms = s_symptom_bits(PQgetvalue(res, i, 6));
	snprintf(s->origin_region, sizeof(s->origin_region), "%s", PQgetvalue(res, i, 7));
	s->arrived_day = PQgetisnull(res, i, 8) ? NO_DAY : atoi(PQgetvalue(res, i, 8));
	s->contact = codec_contact_parse(PQgetvalue(res, i, 9));
	if (s->contact < 0)
		s->contact = 0;
}

bool
batch_append(struct rulesd *r, const struct screening *s)
{
	if (r->nbatch == r->cap_batch) {
		size_t cap = r->cap_batch ? r->cap_batch * 2 : 256;
		struct screening *b = realloc(r->batch, cap * sizeof(*b));
		Gridwall__V1__RiskLevel *l;

		if (b == NULL)
			return false;
		r->batch = b;
		l = realloc(r->levels, cap * sizeof(*l));
		if (l == NULL)
			return false;
		r->levels = l;
		r->cap_batch = cap;
	}
	r->batch[r->nbatch++] = *s;
	return true;
}

int
screening_fetch_after(struct rulesd *r, int64_t after, long limit, int64_t *last)
{
	char a[24], l[24];
	const char *params[2] = { a, l };
	PGresult *res;
	struct screening s;
	int n;

	snprintf(a, sizeof(a), "%lld", (long long)after);
	snprintf(l, sizeof(l), "%ld", limit);
	res = db_query(r->daemon->db, "read screenings", PGRES_TUPLES_OK, SQL_AFTER, 2, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		s_from_row(res, i, &s);
		if (!batch_append(r, &s)) {
			PQclear(res);
			return -1;
		}
		*last = s.id;
	}
	PQclear(res);
	return n;
}
