/*
 * Exactly-once effects: the assessments, person states and alerts derived
 * from a batch of screenings are written together with rulesd's watermark
 * in one transaction. A crash before COMMIT repeats nothing; after it, the
 * watermark says the batch is done. Alerts are raised only when a person's
 * level rises, so a repeated screening raises nothing.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "idcard.h"
#include "log.h"
#include "rulesd.h"

static const char SQL_ASSESSMENT[] =
	"INSERT INTO assessments (screening_id, person_id, level, rule_ids, reasons, action) "
	"VALUES ($1::bigint, $2::bigint, $3, "
	"        ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), "
	"        ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6) "
	"ON CONFLICT (screening_id) DO NOTHING";

static const char SQL_STATE[] =
	"SELECT level FROM person_states WHERE person_id = $1::bigint";

static const char SQL_SET_STATE[] =
	"INSERT INTO person_states (person_id, level, since, last_screening) "
	"VALUES ($1::bigint, $2, to_timestamp($3::bigint), $4::bigint) "
	"ON CONFLICT (person_id) DO UPDATE SET level = EXCLUDED.level, since = EXCLUDED.since, "
	"  last_screening = EXCLUDED.last_screening";

static const char SQL_ALERT[] =
	"INSERT INTO alerts (screening_id, person_id, grid_code, level, previous_level, rule_ids, reasons, action) "
	"VALUES ($1::bigint, $2::bigint, $3, $4, $5, "
	"        ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), "
	"        ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8) "
	"RETURNING id, extract(epoch FROM raised_at)::bigint";

static const char SQL_PERSON[] =
	"SELECT name, coalesce(id_number, ''), coalesce(phone, '') FROM persons WHERE id = $1::bigint";

static const char SQL_WATERMARK[] =
	"UPDATE consumer_offsets SET last_id = $1::bigint, updated_at = now() WHERE consumer = 'rulesd'";

/* The ids and reasons of a verdict as two JSON arrays (malloc'ed text). */
static void
s_hits_json(const struct verdict *v, char **ids, char **reasons)
{
	json_t *a = json_array(), *b = json_array();

	for (int i = 0; i < v->nhits; i++) {
		json_array_append_new(a, json_string(v->hits[i].id));
		json_array_append_new(b, json_string(v->hits[i].reason));
	}
	*ids = json_dumps(a, JSON_COMPACT);
	*reasons = json_dumps(b, JSON_COMPACT);
	json_decref(a);
	json_decref(b);
}

/* The person's current level, NORMAL if none; -1 on failure. */
static int
s_current_level(struct rulesd *r, const char *person)
{
	const char *params[1] = { person };
	PGresult *res = db_query(r->daemon->db, "read person state", PGRES_TUPLES_OK, SQL_STATE, 1, params);
	int level = GRIDWALL__V1__RISK_LEVEL__NORMAL;

	if (res == NULL)
		return -1;
	if (PQntuples(res) > 0)
		level = codec_level_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	return level < 0 ? GRIDWALL__V1__RISK_LEVEL__NORMAL : level;
}

/* A new slot in the list of alerts raised by this batch. */
static struct raised *
s_new_raised(struct rulesd *r)
{
	if (r->nraised == r->cap_raised) {
		size_t cap = r->cap_raised ? r->cap_raised * 2 : 16;
		struct raised *p = realloc(r->raised, cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		r->raised = p;
		r->cap_raised = cap;
	}
	return memset(&r->raised[r->nraised++], 0, sizeof(struct raised));
}

/* Fills the person part of an alert from the registry. */
static bool
s_alert_person(struct rulesd *r, struct raised *ra, const char *person)
{
	const char *params[1] = { person };
	PGresult *res = db_query(r->daemon->db, "read person", PGRES_TUPLES_OK, SQL_PERSON, 1, params);

	if (res == NULL)
		return false;
	if (PQntuples(res) > 0) {
		snprintf(ra->name, sizeof(ra->name), "%s", PQgetvalue(res, 0, 0));
		idcard_mask(PQgetvalue(res, 0, 1), ra->id_masked);
		snprintf(ra->phone, sizeof(ra->phone), "%s", PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return true;
}

/* Builds the RiskAlert message of a raised alert; strings live in ra. */
static void
s_alert_message(struct rulesd *r, struct raised *ra, const struct screening *s,
                const struct verdict *v, int previous, PGresult *res)
{
	Gridwall__V1__RiskAlert *a = &ra->alert;

	gridwall__v1__risk_alert__init(a);
	a->alert_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	a->has_raised_at = true;
	a->raised_at = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	a->screening_id = s->id;
	a->person_id = s->person_id;
	a->level = v->level;
	a->has_previous_level = true;
	a->previous_level = (Gridwall__V1__RiskLevel)previous;
	for (int i = 0; i < v->nhits; i++) {
		ra->rule_ids[i] = (char *)v->hits[i].id;
		ra->reasons[i] = (char *)v->hits[i].reason;
	}
	a->n_rule_ids = a->n_reasons = (size_t)v->nhits;
	a->rule_ids = ra->rule_ids;
	a->reasons = ra->reasons;
	snprintf(ra->action, sizeof(ra->action), "%s", v->action ? v->action : "");
	snprintf(ra->grid, sizeof(ra->grid), "%s", s->grid_code);
	area_path(r->areas, s->grid_code, ra->path, sizeof(ra->path));
	a->action = ra->action;
	a->grid_code = ra->grid;
	a->area_path = ra->path;
	a->person_name = ra->name;
	a->id_masked = ra->id_masked;
	a->phone = ra->phone;
}

/* Raises an alert for a rise in level; false on a database failure. */
static bool
s_raise(struct rulesd *r, const struct screening *s, const struct verdict *v, int previous,
        const char *ids, const char *reasons)
{
	char sid[24], pid[24];
	const char *params[8] = { sid, pid, s->grid_code, codec_level_name(v->level),
	                          codec_level_name((Gridwall__V1__RiskLevel)previous), ids, reasons,
	                          v->action };
	struct raised *ra;
	PGresult *res;

	snprintf(sid, sizeof(sid), "%lld", (long long)s->id);
	snprintf(pid, sizeof(pid), "%lld", (long long)s->person_id);
	res = db_query(r->daemon->db, "insert alert", PGRES_TUPLES_OK, SQL_ALERT, 8, params);
	if (res == NULL)
		return false;
	ra = s_new_raised(r);
	if (ra == NULL || !s_alert_person(r, ra, pid)) {
		PQclear(res);
		return false;
	}
	s_alert_message(r, ra, s, v, previous, res);
	PQclear(res);
	return true;
}

/* Writes what one flagged screening changes: assessment, state, maybe an alert. */
static bool
s_flagged(struct rulesd *r, const struct screening *s, const struct verdict *v)
{
	char sid[24], pid[24], at[24];
	char *ids = NULL, *reasons = NULL;
	const char *assess[6] = { sid, pid, codec_level_name(v->level), NULL, NULL, v->action };
	const char *state[4] = { pid, codec_level_name(v->level), at, sid };
	bool ok = false;
	int current;

	snprintf(sid, sizeof(sid), "%lld", (long long)s->id);
	snprintf(pid, sizeof(pid), "%lld", (long long)s->person_id);
	snprintf(at, sizeof(at), "%lld", (long long)s->screened_at);
	s_hits_json(v, &ids, &reasons);
	assess[3] = ids;
	assess[4] = reasons;
	if (!db_command(r->daemon->db, "insert assessment", SQL_ASSESSMENT, 6, assess))
		goto out;
	current = s_current_level(r, pid);
	if (current < 0)
		goto out;
	ok = true;
	if ((int)v->level <= current)
		goto out;
	ok = db_command(r->daemon->db, "set person state", SQL_SET_STATE, 4, state) &&
	     s_raise(r, s, v, current, ids, reasons);
out:
	free(ids);
	free(reasons);
	return ok;
}

int
effects_commit(struct rulesd *r, int64_t last)
{
	struct verdict v;
	char wm[24];
	const char *params[1] = { wm };

	r->nraised = 0;
	if (!db_command(r->daemon->db, "begin", "BEGIN", 0, NULL))
		return -1;
	for (size_t i = 0; i < r->nbatch; i++) {
		rules_evaluate(&r->risk, &r->batch[i], &v);
		r->levels[i] = v.level;
		if (v.level > GRIDWALL__V1__RISK_LEVEL__NORMAL && !s_flagged(r, &r->batch[i], &v))
			goto fail;
	}
	snprintf(wm, sizeof(wm), "%lld", (long long)last);
	if (!db_command(r->daemon->db, "advance watermark", SQL_WATERMARK, 1, params) ||
	    !db_command(r->daemon->db, "commit", "COMMIT", 0, NULL))
		goto fail;
	r->alerts_raised += r->nraised;
	return 0;
fail:
	db_rollback(r->daemon->db);
	r->nraised = 0;
	return -1;
}
