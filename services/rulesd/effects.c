/*
 * Exactly-once effects: the assessments, alerts and states derived from a
 * batch of screenings are written together with rulesd's watermark in one
 * transaction. A crash before COMMIT repeats nothing; after it, the
 * watermark says the batch is done. The states in memory move with the
 * transaction: rolled back with it, kept with its COMMIT.
 *
 * A batch the database refuses for its data is evaluated again one
 * screening per transaction, and a screening that fails alone is logged
 * and skipped: one bad record never stops the others.
 *
 * Only what changes something is written: an assessment for a screening
 * that fired a rule, the states it moved, an alert when a level rose or a
 * new action is needed. A normal screening of a person with no state
 * writes nothing but its share of the watermark.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "rulesd.h"

/* The batch's assessments, one array per column; rule ids and reasons as JSON arrays. */
static const char SQL_ASSESSMENTS[] =
	"INSERT INTO assessments (screening_id, person_id, level, rule_ids, reasons, action) "
	"SELECT s, p, l, ARRAY(SELECT jsonb_array_elements_text(ids::jsonb)), "
	"       ARRAY(SELECT jsonb_array_elements_text(rs::jsonb)), a "
	"FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[]) "
	"  AS t (s, p, l, ids, rs, a) "
	"ON CONFLICT (screening_id) DO NOTHING";
#define ASSESSMENT_COLUMNS 6
#define STMT_ASSESSMENTS "rulesd_assessments"

static const char SQL_WATERMARK[] =
	"UPDATE consumer_offsets SET last_id = $1::bigint, updated_at = now() WHERE consumer = 'rulesd'";

/* The ids and reasons of the fired rules as two JSON arrays (malloc'ed text). */
static void
s_hits_json(const struct rule_set *rs, const struct assessment *as, char **ids, char **reasons)
{
	json_t *a = json_array(), *b = json_array();

	for (size_t i = 0; i < as->nfired; i++) {
		const struct rule *rule = rule_set_rule(rs, as->fired[i]);

		json_array_append_new(a, json_string(rule->id));
		json_array_append_new(b, json_string(rule->reason));
	}
	*ids = json_dumps(a, JSON_COMPACT);
	*reasons = json_dumps(b, JSON_COMPACT);
	json_decref(a);
	json_decref(b);
}

/* Starts the batch's assessment columns. */
static void
s_begin_assessments(struct rulesd *r)
{
	static const uint32_t types[ASSESSMENT_COLUMNS] = { PGARRAY_INT8, PGARRAY_INT8, PGARRAY_TEXT,
		                                            PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT };

	for (int i = 0; i < ASSESSMENT_COLUMNS; i++)
		pgarray_begin(&r->assessments[i], types[i]);
}

/* Adds why the rules flagged a screening to the batch's assessments; false when memory is short. */
static bool
s_add_assessment(struct rulesd *r, const struct screening *s, const struct assessment *as)
{
	char *ids = NULL, *reasons = NULL;

	s_hits_json(r->rules, as, &ids, &reasons);
	if (ids == NULL || reasons == NULL) {
		free(ids);
		free(reasons);
		return false;
	}
	pgarray_int8(&r->assessments[0], s->id);
	pgarray_int8(&r->assessments[1], s->person_id);
	pgarray_text(&r->assessments[2], codec_level_name((Gridwall__V1__RiskLevel)as->level));
	pgarray_text(&r->assessments[3], ids);
	pgarray_text(&r->assessments[4], reasons);
	pgarray_text(&r->assessments[5], as->top ? as->top->action : NULL);
	free(ids);
	free(reasons);
	return true;
}

void
effects_add_columns(struct rulesd *r, struct db_batch *b, const char *what, ExecStatusType expect,
                    const char *name, struct pgarray *cols, int n, PGresult **res)
{
	const char *values[EFFECTS_COLUMNS_MAX];
	int lengths[EFFECTS_COLUMNS_MAX];
	bool ok = n <= EFFECTS_COLUMNS_MAX;

	for (int i = 0; ok && i < n; i++)
		ok &= pgarray_end(&cols[i]);
	if (!ok) {
		log_error("%s: out of memory", what);
		b->failed = true;
		return;
	}
	pgarray_params(cols, n, values, lengths);
	db_batch_add_prepared(r->daemon->db, b, what, expect, name, n, values, lengths, res);
}

/* Adds the batch's assessments, in one statement, to the transaction. */
static void
s_write_assessments(struct rulesd *r, struct db_batch *b)
{
	if (r->assessments[0].count > 0)
		effects_add_columns(r, b, "write assessments", PGRES_COMMAND_OK, STMT_ASSESSMENTS,
		                    r->assessments, ASSESSMENT_COLUMNS, NULL);
}

bool
effects_prepare(struct rulesd *r)
{
	return db_script(r->daemon->db, "forget prepared statements", "DEALLOCATE ALL") &&
	       db_prepare(r->daemon->db, "prepare the assessments statement", STMT_ASSESSMENTS,
	                  SQL_ASSESSMENTS) &&
	       alert_prepare(r) && state_prepare(r);
}

/* Evaluates one screening and notes what it changed, for effects_write. */
static bool
s_screening(struct rulesd *r, size_t i)
{
	const struct screening *s = &r->batch[i];
	struct assessment as;

	if (!assess_screening(&r->state, r->rules, &r->risk, s, &as)) {
		log_error("out of memory assessing screening %lld", (long long)s->id);
		return false;
	}
	r->levels[i] = (Gridwall__V1__RiskLevel)as.new_level;
	return (as.nfired == 0 || s_add_assessment(r, s, &as)) && (!as.alert || alert_risk(r, s, &as));
}

bool
effects_write(struct rulesd *r, size_t from, int64_t last)
{
	char wm[24];
	const char *params[1] = { wm };
	struct db_batch b;
	PGresult *alerts = NULL;

	if (!db_batch_begin(r->daemon->db, &b))
		return false;
	s_write_assessments(r, &b);
	alert_write(r, &b, from, &alerts);
	state_persist(r, &b);
	if (last > 0) {
		snprintf(wm, sizeof(wm), "%lld", (long long)last);
		db_batch_add(r->daemon->db, &b, "advance watermark", PGRES_COMMAND_OK, SQL_WATERMARK, 1,
		             params, NULL, NULL);
	}
	if (!db_batch_commit(r->daemon->db, &b))
		return false;
	alert_written(r, from, alerts);
	PQclear(alerts);
	return true;
}

/* Evaluates batch[from, to) in one transaction up to watermark last; 0 once committed. */
static int
s_commit_range(struct rulesd *r, size_t from, size_t to, int64_t last)
{
	size_t raised = r->nraised;

	assess_begin(&r->state);
	s_begin_assessments(r);
	for (size_t i = from; i < to; i++)
		if (!s_screening(r, i))
			goto fail;
	if (!effects_write(r, raised, last))
		goto fail;
	assess_commit(&r->state);
	return 0;
fail:
	assess_rollback(&r->state);
	r->nraised = raised;
	return -1;
}

/* Whether the last failure was the database refusing the data, not the connection. */
static bool
s_data_error(struct rulesd *r)
{
	const char *state = db_last_sqlstate(r->daemon->db);

	return db_conn(r->daemon->db) != NULL && state[0] != '\0' && strncmp(state, "08", 2) != 0 &&
	       strncmp(state, "57", 2) != 0;
}

/* Moves the watermark past a screening that cannot be evaluated; 0 once committed. */
static int
s_skip(struct rulesd *r, const struct screening *s)
{
	log_error("screening %lld (person %lld) cannot be evaluated (SQLSTATE %s); skipped",
	          (long long)s->id, (long long)s->person_id, db_last_sqlstate(r->daemon->db));
	assess_begin(&r->state);
	s_begin_assessments(r);
	return effects_write(r, r->nraised, s->id) ? 0 : -1;
}

/*
 * A batch the database refused for its data, again one screening per
 * transaction: one bad record is skipped alone, the others take effect.
 */
static int
s_commit_each(struct rulesd *r)
{
	log_warn("batch of %zu refused for its data; evaluating it one by one", r->nbatch);
	for (size_t i = 0; i < r->nbatch; i++) {
		if (s_commit_range(r, i, i + 1, r->batch[i].id) == 0)
			continue;
		if (!s_data_error(r) || s_skip(r, &r->batch[i]) != 0)
			return -1;
	}
	return 0;
}

int
effects_commit(struct rulesd *r, int64_t last)
{
	r->nraised = 0;
	if (!r->state_loaded || r->rules == NULL)
		return -1;
	if (s_commit_range(r, 0, r->nbatch, last) == 0)
		return 0;
	if (!s_data_error(r))
		return -1;
	return r->nbatch == 1 ? s_skip(r, &r->batch[0]) : s_commit_each(r);
}
