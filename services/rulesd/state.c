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
#include "log.h"
#include "rulesd.h"

#define STATE_PAGE 50000
#define STR(x) #x
#define XSTR(x) STR(x)

static const char SQL_HOUSEHOLDS[] =
	"SELECT h.id, h.grid_code, h.kind = 'registered', extract(epoch FROM h.created_at)::bigint, "
	"       coalesce(extract(epoch FROM hs.last_screened_at)::bigint, 0), "
	"       coalesce(extract(epoch FROM hs.gap_alerted_at)::bigint, 0) "
	"FROM households h LEFT JOIN household_states hs ON hs.household_id = h.id "
	"WHERE h.id > $1::bigint ORDER BY h.id LIMIT " XSTR(STATE_PAGE);

/* Epoch seconds of a timestamptz column, 0 for NULL. */
#define EPOCH(col) "coalesce(extract(epoch FROM " col ")::bigint, 0)"

static const char SQL_PERSONS[] =
	"SELECT person_id, coalesce(household_id, 0), level, " EPOCH("since") ", "
	"       " EPOCH("observe_from") ", " EPOCH("observe_until") ", " EPOCH("follow_up_due") ", "
	"       follow_up_hours, overdue_alerted, last_screening, " EPOCH("last_screened_at") ", "
	"       coalesce(rule_id, ''), coalesce(action, ''), "
	"       array_to_string(ARRAY(SELECT extract(epoch FROM f)::bigint FROM unnest(fevers) f "
	"                             ORDER BY 1 DESC), ','), coalesce(grid_code, '') "
	"FROM person_states "
	"WHERE person_id > $1::bigint AND (level <> 'normal' OR follow_up_due IS NOT NULL "
	"      OR observe_until IS NOT NULL OR cardinality(fevers) > 0) "
	"ORDER BY person_id LIMIT " XSTR(STATE_PAGE);

/* Timestamps go in as Unix seconds; 0 is NULL. */
#define TS(n) "to_timestamp(nullif($" #n "::bigint, 0))"

static const char SQL_PERSIST_PERSON[] =
	"INSERT INTO person_states (person_id, household_id, level, since, last_screening, rule_id, "
	"  action, observe_from, observe_until, follow_up_due, follow_up_hours, overdue_alerted, "
	"  last_screened_at, fevers, grid_code) "
	"VALUES ($1::bigint, nullif($2::bigint, 0), $3, " TS(4) ", $5::bigint, nullif($6, ''), "
	"  nullif($7, ''), " TS(8) ", " TS(9) ", " TS(10) ", $11::int, $12::bool, " TS(13) ", "
	"  ARRAY(SELECT to_timestamp(f) FROM unnest($14::bigint[]) f), nullif($15, '')) "
	"ON CONFLICT (person_id) DO UPDATE SET household_id = EXCLUDED.household_id, "
	"  level = EXCLUDED.level, since = EXCLUDED.since, last_screening = EXCLUDED.last_screening, "
	"  rule_id = EXCLUDED.rule_id, action = EXCLUDED.action, observe_from = EXCLUDED.observe_from, "
	"  observe_until = EXCLUDED.observe_until, follow_up_due = EXCLUDED.follow_up_due, "
	"  follow_up_hours = EXCLUDED.follow_up_hours, overdue_alerted = EXCLUDED.overdue_alerted, "
	"  last_screened_at = EXCLUDED.last_screened_at, fevers = EXCLUDED.fevers, "
	"  grid_code = EXCLUDED.grid_code, "
	"  released_at = CASE WHEN EXCLUDED.level = 'normal' AND person_states.level <> 'normal' "
	"                     THEN now() ELSE person_states.released_at END";

static const char SQL_PERSIST_HOUSEHOLDS[] =
	"INSERT INTO household_states (household_id, last_screened_at, gap_alerted_at) "
	"SELECT h, to_timestamp(nullif(l, 0)), to_timestamp(nullif(g, 0)) "
	"FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t (h, l, g) "
	"ON CONFLICT (household_id) DO UPDATE SET last_screened_at = EXCLUDED.last_screened_at, "
	"  gap_alerted_at = EXCLUDED.gap_alerted_at";

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

/* Fills the fevers of a state from "t1,t2,...", newest first. */
static void
s_fevers(struct person_state *p, const char *list)
{
	char *end;

	p->nfevers = 0;
	while (*list != '\0' && p->nfevers < RULE_FEVERS_MAX) {
		p->fevers[p->nfevers++] = strtoll(list, &end, 10);
		list = *end == ',' ? end + 1 : end;
	}
}

/* A person state from row i of SQL_PERSONS. */
static void
s_person_row(const PGresult *res, int i, struct person_state *p)
{
	int level = codec_level_parse(PQgetvalue(res, i, 2));

	memset(p, 0, sizeof(*p));
	p->person_id = s_int(res, i, 0);
	p->household_id = s_int(res, i, 1);
	p->level = (uint8_t)(level > 0 ? level : 0);
	p->since = s_int(res, i, 3);
	p->observe_from = s_int(res, i, 4);
	p->observe_until = s_int(res, i, 5);
	p->follow_up_due = s_int(res, i, 6);
	p->follow_up_hours = (int32_t)s_int(res, i, 7);
	p->overdue_alerted = PQgetvalue(res, i, 8)[0] == 't';
	p->last_screening_id = s_int(res, i, 9);
	p->last_screened_at = s_int(res, i, 10);
	snprintf(p->rule_id, sizeof(p->rule_id), "%s", PQgetvalue(res, i, 11));
	snprintf(p->action, sizeof(p->action), "%s", PQgetvalue(res, i, 12));
	s_fevers(p, PQgetvalue(res, i, 13));
	snprintf(p->grid_code, sizeof(p->grid_code), "%s", PQgetvalue(res, i, 14));
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

			s_person_row(res, i, &p);
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

/* Writes one person's state. */
static bool
s_persist_person(struct rulesd *r, const struct person_state *p)
{
	char v[12][24], fevers[RULE_FEVERS_MAX * 22 + 3];
	const char *params[15] = {
		v[0], v[1], codec_level_name((Gridwall__V1__RiskLevel)p->level), v[2], v[3], p->rule_id,
		p->action, v[4], v[5], v[6], v[7], p->overdue_alerted ? "true" : "false", v[8], fevers,
		p->grid_code,
	};
	const int64_t nums[9] = { p->person_id, p->household_id, p->since, p->last_screening_id,
		                  p->observe_from, p->observe_until, p->follow_up_due,
		                  p->follow_up_hours, p->last_screened_at };
	size_t used = 0;

	for (int i = 0; i < 9; i++)
		snprintf(v[i], sizeof(v[i]), "%lld", (long long)nums[i]);
	used += (size_t)snprintf(fevers, sizeof(fevers), "{");
	for (size_t i = 0; i < p->nfevers; i++)
		used += (size_t)snprintf(fevers + used, sizeof(fevers) - used, "%s%lld", i ? "," : "",
		                         (long long)p->fevers[i]);
	snprintf(fevers + used, sizeof(fevers) - used, "}");
	return db_command(r->daemon->db, "write person state", SQL_PERSIST_PERSON, 15, params);
}

/* A growing text array literal: "{1,2,3}". */
struct id_list {
	char *buf;
	size_t len, cap;
};

/* Makes room for need more bytes; false when memory is short. */
static bool
s_list_room(struct id_list *l, size_t need)
{
	size_t cap = l->cap ? l->cap : 4096;
	char *p;

	while (cap - l->len < need)
		cap *= 2;
	if (cap == l->cap)
		return true;
	p = realloc(l->buf, cap);
	if (p == NULL)
		return false;
	l->buf = p;
	l->cap = cap;
	return true;
}

/* Appends a number to the list; false when memory is short. */
static bool
s_list_add(struct id_list *l, int64_t v)
{
	if (!s_list_room(l, 24))
		return false;
	l->len += (size_t)snprintf(l->buf + l->len, l->cap - l->len, "%s%lld",
	                           l->len == 0 ? "{" : ",", (long long)v);
	return true;
}

/* Closes a list of at least one number; false when memory is short. */
static bool
s_list_end(struct id_list *l)
{
	if (!s_list_room(l, 2))
		return false;
	l->buf[l->len++] = '}';
	l->buf[l->len] = '\0';
	return true;
}

/* Whether a household's persisted columns changed (not only its member counts). */
static bool
s_household_changed(const struct assess_undo *u, const struct household_state *h)
{
	return u->old.household.last_screened_at != h->last_screened_at ||
	       u->old.household.gap_alerted_at != h->gap_alerted_at;
}

/* Writes the households the transaction changed, in one statement. */
static bool
s_persist_households(struct rulesd *r)
{
	struct id_list ids = { 0 }, last = { 0 }, gap = { 0 };
	const char *params[3];
	bool ok = true;
	size_t n = 0;

	for (size_t i = 0; ok && i < r->state.nundo; i++) {
		const struct household_state *h = assess_changed_household(&r->state, i);

		if (h == NULL || !s_household_changed(&r->state.undo[i], h))
			continue;
		ok = s_list_add(&ids, h->household_id) && s_list_add(&last, h->last_screened_at) &&
		     s_list_add(&gap, h->gap_alerted_at);
		n++;
	}
	if (ok && n > 0) {
		ok = s_list_end(&ids) && s_list_end(&last) && s_list_end(&gap);
		params[0] = ids.buf;
		params[1] = last.buf;
		params[2] = gap.buf;
		ok = ok && db_command(r->daemon->db, "write household states", SQL_PERSIST_HOUSEHOLDS,
		                      3, params);
	}
	free(ids.buf);
	free(last.buf);
	free(gap.buf);
	return ok;
}

bool
state_persist(struct rulesd *r)
{
	for (size_t i = 0; i < r->state.nundo; i++) {
		const struct person_state *p = assess_changed_person(&r->state, i);

		if (p != NULL && !s_persist_person(r, p))
			return false;
	}
	return s_persist_households(r);
}
