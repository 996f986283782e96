/*
 * The persisted half of rulesd's state: households (for the coverage gaps
 * and the household levels) and the persons the rules have something to
 * say about. Read into memory at start, a page at a time; written back by
 * the transaction that changed them, households of a batch in one
 * statement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "pgarray.h"
#include "log.h"
#include "rulesd.h"
#include "state_row.h"

#define STATE_PAGE 50000
#define STR(x) #x
#define XSTR(x) STR(x)

/*
 * A page of households with their states, each state looked up by its key
 * (LIMIT 1 keeps the lookup per household: as a join, the planner could
 * hash every state when the statistics lag behind a table filling fast).
 */
static const char SQL_HOUSEHOLDS[] =
	"SELECT h.id, h.grid_code, h.kind = 'registered', extract(epoch FROM h.created_at)::bigint, "
	"       coalesce(extract(epoch FROM hs.last_screened_at)::bigint, 0), "
	"       coalesce(extract(epoch FROM hs.gap_alerted_at)::bigint, 0) "
	"FROM households h LEFT JOIN LATERAL ("
	"  SELECT last_screened_at, gap_alerted_at FROM household_states "
	"  WHERE household_id = h.id LIMIT 1) hs ON true "
	"WHERE h.id > $1::bigint ORDER BY h.id LIMIT " XSTR(STATE_PAGE);

static const char SQL_PERSONS[] =
	"SELECT " PERSON_STATE_COLUMNS " FROM person_states "
	"WHERE person_id > $1::bigint AND (level <> 'normal' OR follow_up_due IS NOT NULL "
	"      OR observe_until IS NOT NULL OR cardinality(fevers) > 0) "
	"ORDER BY person_id LIMIT " XSTR(STATE_PAGE);

/* A timestamp column that travels as Unix seconds; 0 is NULL. */
#define TS(col) "to_timestamp(nullif(" col ", 0))"

/* Every person state the transaction changed, one array per column. */
static const char SQL_PERSIST_PERSONS[] =
	"INSERT INTO person_states (person_id, household_id, level, since, last_screening, rule_id, "
	"  action, observe_from, observe_until, follow_up_due, follow_up_hours, overdue_alerted, "
	"  last_screened_at, fevers, grid_code) "
	"SELECT p, nullif(h, 0), l, " TS("si") ", ls, nullif(ri, ''), nullif(ac, ''), "
	"  " TS("o_from") ", " TS("o_until") ", " TS("due") ", fh, oa = 't', " TS("la") ", "
	"  ARRAY(SELECT to_timestamp(f) FROM unnest(fv::bigint[]) f), nullif(g, '') "
	"FROM unnest($1::int8[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::text[], "
	"  $7::text[], $8::int8[], $9::int8[], $10::int8[], $11::int4[], $12::text[], $13::int8[], "
	"  $14::text[], $15::text[]) "
	"  AS t (p, h, l, si, ls, ri, ac, o_from, o_until, due, fh, oa, la, fv, g) "
	"ON CONFLICT (person_id) DO UPDATE SET household_id = EXCLUDED.household_id, "
	"  level = EXCLUDED.level, since = EXCLUDED.since, last_screening = EXCLUDED.last_screening, "
	"  rule_id = EXCLUDED.rule_id, action = EXCLUDED.action, observe_from = EXCLUDED.observe_from, "
	"  observe_until = EXCLUDED.observe_until, follow_up_due = EXCLUDED.follow_up_due, "
	"  follow_up_hours = EXCLUDED.follow_up_hours, overdue_alerted = EXCLUDED.overdue_alerted, "
	"  last_screened_at = EXCLUDED.last_screened_at, fevers = EXCLUDED.fevers, "
	"  grid_code = EXCLUDED.grid_code, "
	"  released_at = CASE WHEN EXCLUDED.level = 'normal' AND person_states.level <> 'normal' "
	"                     THEN now() ELSE person_states.released_at END";
#define PERSON_COLUMNS 15

static const char SQL_PERSIST_HOUSEHOLDS[] =
	"INSERT INTO household_states (household_id, last_screened_at, gap_alerted_at) "
	"SELECT h, " TS("l") ", " TS("g") " FROM unnest($1::int8[], $2::int8[], $3::int8[]) AS t (h, l, g) "
	"ON CONFLICT (household_id) DO UPDATE SET last_screened_at = EXCLUDED.last_screened_at, "
	"  gap_alerted_at = EXCLUDED.gap_alerted_at";
#define HOUSEHOLD_COLUMNS 3
#define STMT_PERSONS "rulesd_person_states"
#define STMT_HOUSEHOLDS "rulesd_household_states"

/* Column i of a row as a number. */
static int64_t
s_int(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Reads one page of rows after id; its row count, -1 on failure. */
static int
s_page(struct rulesd *r, const char *what, const char *sql, int64_t after, PGresult **res)
{
	char a[24];
	const char *params[1] = { a };

	snprintf(a, sizeof(a), "%lld", (long long)after);
	*res = db_query(r->daemon->db, what, PGRES_TUPLES_OK, sql, 1, params);
	return *res == NULL ? -1 : PQntuples(*res);
}

/* Loads the households with an id above after; false on failure. */
static bool
s_load_households(struct rulesd *r, int64_t after, size_t *count)
{
	PGresult *res;
	int n;

	do {
		n = s_page(r, "read households", SQL_HOUSEHOLDS, after, &res);
		for (int i = 0; i < n; i++) {
			struct household_state h = { 0 };

			h.household_id = after = s_int(res, i, 0);
			snprintf(h.grid_code, sizeof(h.grid_code), "%s", PQgetvalue(res, i, 1));
			h.registered = PQgetvalue(res, i, 2)[0] == 't';
			h.created_at = s_int(res, i, 3);
			h.last_screened_at = s_int(res, i, 4);
			h.gap_alerted_at = s_int(res, i, 5);
			if (!assess_load_household(&r->state, &h)) {
				PQclear(res);
				return false;
			}
		}
		PQclear(res);
		*count += n > 0 ? (size_t)n : 0;
	} while (n == STATE_PAGE);
	return n >= 0;
}

/* Loads every person state that still matters; false on failure. */
static bool
s_load_persons(struct rulesd *r, size_t *count)
{
	int64_t after = 0;
	PGresult *res;
	int n;

	do {
		n = s_page(r, "read person states", SQL_PERSONS, after, &res);
		for (int i = 0; i < n; i++) {
			struct person_state p;

			person_state_from_row(res, i, &p);
			after = p.person_id;
			if (!assess_load_person(&r->state, &p)) {
				PQclear(res);
				return false;
			}
		}
		PQclear(res);
		*count += n > 0 ? (size_t)n : 0;
	} while (n == STATE_PAGE);
	return n >= 0;
}

bool
state_load(struct rulesd *r)
{
	size_t households = 0, persons = 0;

	assess_free(&r->state);
	assess_init(&r->state);
	r->state_loaded = false;
	if (!s_load_households(r, 0, &households) || !s_load_persons(r, &persons)) {
		log_error("state not loaded; retrying when the database is back");
		return false;
	}
	r->state_loaded = true;
	log_info("state loaded: %zu households, %zu persons followed", households, persons);
	return true;
}

bool
state_load_new_households(struct rulesd *r)
{
	size_t added = 0;

	if (!s_load_households(r, r->state.max_household_id, &added))
		return false;
	if (added > 0)
		log_info("%zu new households", added);
	return true;
}

/* The recent fevers as an array literal, "{t1,t2}". */
static void
s_fevers_literal(const struct person_state *p, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "{");

	for (size_t i = 0; i < p->nfevers && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? "," : "",
		                         (long long)p->fevers[i]);
	if (used < len)
		snprintf(buf + used, len - used, "}");
}

/* Appends one person's state as a row of the column arrays. */
static void
s_person_columns(struct pgarray *c, const struct person_state *p)
{
	char fevers[RULE_FEVERS_MAX * 22 + 3];

	s_fevers_literal(p, fevers, sizeof(fevers));
	pgarray_int8(&c[0], p->person_id);
	pgarray_int8(&c[1], p->household_id);
	pgarray_text(&c[2], codec_level_name((Gridwall__V1__RiskLevel)p->level));
	pgarray_int8(&c[3], p->since);
	pgarray_int8(&c[4], p->last_screening_id);
	pgarray_text(&c[5], p->rule_id);
	pgarray_text(&c[6], p->action);
	pgarray_int8(&c[7], p->observe_from);
	pgarray_int8(&c[8], p->observe_until);
	pgarray_int8(&c[9], p->follow_up_due);
	pgarray_int4(&c[10], p->follow_up_hours);
	pgarray_text(&c[11], p->overdue_alerted ? "t" : "f");
	pgarray_int8(&c[12], p->last_screened_at);
	pgarray_text(&c[13], fevers);
	pgarray_text(&c[14], p->grid_code);
}

/* Starts n column arrays, of the types given. */
static void
s_begin_columns(struct pgarray *c, const uint32_t *types, int n)
{
	for (int i = 0; i < n; i++)
		pgarray_begin(&c[i], types[i]);
}

/* Adds the person states the transaction changed, in one statement. */
static void
s_persist_persons(struct rulesd *r, struct db_batch *b)
{
	static const uint32_t types[PERSON_COLUMNS] = {
		PGARRAY_INT8, PGARRAY_INT8, PGARRAY_TEXT, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_TEXT,
		PGARRAY_TEXT, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT4, PGARRAY_TEXT,
		PGARRAY_INT8, PGARRAY_TEXT, PGARRAY_TEXT,
	};
	size_t n = 0;

	s_begin_columns(r->cols, types, PERSON_COLUMNS);
	for (size_t i = 0; i < r->state.nundo; i++) {
		const struct person_state *p = assess_changed_person(&r->state, i);

		if (p != NULL) {
			s_person_columns(r->cols, p);
			n++;
		}
	}
	if (n > 0)
		effects_add_columns(r, b, "write person states", PGRES_COMMAND_OK, STMT_PERSONS, r->cols,
		                    PERSON_COLUMNS, NULL);
}

/* Whether a household's persisted columns changed (not only its member counts). */
static bool
s_household_changed(const struct assess_undo *u, const struct household_state *h)
{
	return u->old.household.last_screened_at != h->last_screened_at ||
	       u->old.household.gap_alerted_at != h->gap_alerted_at;
}

/* Adds the households the transaction changed, in one statement. */
static void
s_persist_households(struct rulesd *r, struct db_batch *b)
{
	static const uint32_t types[HOUSEHOLD_COLUMNS] = { PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8 };
	size_t n = 0;

	s_begin_columns(r->cols, types, HOUSEHOLD_COLUMNS);
	for (size_t i = 0; i < r->state.nundo; i++) {
		const struct household_state *h = assess_changed_household(&r->state, i);

		if (h == NULL || !s_household_changed(&r->state.undo[i], h))
			continue;
		pgarray_int8(&r->cols[0], h->household_id);
		pgarray_int8(&r->cols[1], h->last_screened_at);
		pgarray_int8(&r->cols[2], h->gap_alerted_at);
		n++;
	}
	if (n > 0)
		effects_add_columns(r, b, "write household states", PGRES_COMMAND_OK, STMT_HOUSEHOLDS,
		                    r->cols, HOUSEHOLD_COLUMNS, NULL);
}

bool
state_prepare(struct rulesd *r)
{
	return db_prepare(r->daemon->db, "prepare the person states statement", STMT_PERSONS,
	                  SQL_PERSIST_PERSONS) &&
	       db_prepare(r->daemon->db, "prepare the household states statement", STMT_HOUSEHOLDS,
	                  SQL_PERSIST_HOUSEHOLDS);
}

void
state_persist(struct rulesd *r, struct db_batch *b)
{
	s_persist_persons(r, b);
	s_persist_households(r, b);
}
