/*
 * Alerts for the command office. Each is raised while its transaction
 * evaluates (a screening's assessment, or a tick of the clock), kept in
 * memory as a RiskAlert, and written with the transaction's others in one
 * statement just before COMMIT; after COMMIT they are published with their
 * grid code as the topic. A transaction that fails publishes nothing.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "grow.h"
#include "idcard.h"
#include "log.h"
#include "rulesd.h"

/*
 * Writes the transaction's alerts in one statement, their columns as
 * arrays, and returns for each one, in the order given, its id and what its
 * message needs of the registry. Ids are drawn in that order, so alerts
 * keep the order they were raised in.
 */
static const char SQL_ALERTS[] =
	"WITH d AS ("
	"  SELECT nextval('alerts_id_seq') AS id, u.* "
	"  FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::text[], $6::text[], "
	"              $7::text[], $8::text[], $9::text[], $10::text[], $11::int8[]) WITH ORDINALITY "
	"    AS u (kind, sid, pid, hid, grid, level, previous, ids, rs, action, observe, n)"
	"), a AS ("
	"  INSERT INTO alerts (id, kind, screening_id, person_id, household_id, grid_code, level, "
	"    previous_level, rule_ids, reasons, action, observe_until) "
	"  SELECT id, kind, nullif(sid, 0), nullif(pid, 0), nullif(hid, 0), grid, level, previous, "
	"         ARRAY(SELECT jsonb_array_elements_text(ids::jsonb)), "
	"         ARRAY(SELECT jsonb_array_elements_text(rs::jsonb)), action, "
	"         to_timestamp(nullif(observe, 0)) "
	"  FROM d ORDER BY n) "
	"SELECT d.id, extract(epoch FROM now())::bigint, coalesce(p.name, ''), "
	"       coalesce(p.id_number, ''), coalesce(p.phone, ''), coalesce(h.code, '') "
	"FROM d LEFT JOIN persons p ON p.id = nullif(d.pid, 0) "
	"       LEFT JOIN households h ON h.id = nullif(d.hid, 0) "
	"ORDER BY d.n";
#define ALERT_COLUMNS 11
#define STMT_ALERTS "rulesd_alerts"

/* What the office is asked to do about an alert that no rule wrote. */
static const char ACTION_RELEASED[] = "observation over without fever: released";
static const char ACTION_OVERDUE[] = "follow-up screening overdue: visit today";
static const char ACTION_GAP[] = "household not screened: visit it";

/* The alert as the database and the subscribers see it, before its row exists. */
struct alert_draft {
	Gridwall__V1__AlertKind kind;
	int64_t screening_id;
	int64_t person_id;
	int64_t household_id;
	const char *grid_code;
	int level;
	int previous_level;
	const char *rule_ids[ASSESS_HITS_MAX];
	const char *reasons[ASSESS_HITS_MAX];
	size_t nrules;
	const char *action;
	const struct person_state *person;   /* for its observation and follow-up, or NULL */
};

static const char *const kind_names[] = {
	[GRIDWALL__V1__ALERT_KIND__ALERT_RISK] = "risk",
	[GRIDWALL__V1__ALERT_KIND__ALERT_RELEASED] = "released",
	[GRIDWALL__V1__ALERT_KIND__ALERT_FOLLOW_UP_OVERDUE] = "follow_up_overdue",
	[GRIDWALL__V1__ALERT_KIND__ALERT_COVERAGE_GAP] = "coverage_gap",
};

/* A new slot in the list of alerts raised by this transaction. */
static struct raised *
s_new_raised(struct rulesd *r)
{
	if (!grow((void **)&r->raised, &r->cap_raised, r->nraised + 1, sizeof(*r->raised), 16))
		return NULL;
	return memset(&r->raised[r->nraised++], 0, sizeof(struct raised));
}

/* A JSON array of n strings (malloc'ed text). */
static char *
s_json_strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	char *text;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

/* Builds the RiskAlert of an alert drafted; its strings are copied into ra (see s_wire). */
static void
s_message(struct rulesd *r, struct raised *ra, const struct alert_draft *d)
{
	Gridwall__V1__RiskAlert *a = &ra->alert;

	gridwall__v1__risk_alert__init(a);
	a->has_raised_at = true;
	a->has_kind = true;
	a->kind = d->kind;
	a->has_screening_id = d->screening_id > 0;
	a->screening_id = d->screening_id;
	a->has_person_id = d->person_id > 0;
	a->person_id = d->person_id;
	a->has_household_id = d->household_id > 0;
	a->household_id = d->household_id;
	a->level = (Gridwall__V1__RiskLevel)d->level;
	a->has_previous_level = true;
	a->previous_level = (Gridwall__V1__RiskLevel)d->previous_level;
	for (size_t i = 0; i < d->nrules; i++) {
		ra->rule_ids[i] = (char *)d->rule_ids[i];
		ra->reasons[i] = (char *)d->reasons[i];
	}
	a->n_rule_ids = a->n_reasons = d->nrules;
	if (d->person != NULL) {
		a->has_observe_until = d->person->observe_until > 0;
		a->observe_until = d->person->observe_until;
		a->has_follow_up_due = d->person->follow_up_due > 0;
		a->follow_up_due = d->person->follow_up_due;
	}
	ra->has_action = d->action != NULL;
	snprintf(ra->action, sizeof(ra->action), "%s", d->action ? d->action : "");
	snprintf(ra->grid, sizeof(ra->grid), "%s", d->grid_code);
	area_path(r->areas, d->grid_code, ra->path, sizeof(ra->path));
}

/* Fills in what the database gave a written alert: row i of SQL_ALERTS. */
static void
s_written(struct raised *ra, const PGresult *res, int i)
{
	ra->alert.alert_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	ra->alert.raised_at = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	snprintf(ra->name, sizeof(ra->name), "%s", PQgetvalue(res, i, 2));
	idcard_mask(PQgetvalue(res, i, 3), ra->id_masked);
	snprintf(ra->phone, sizeof(ra->phone), "%s", PQgetvalue(res, i, 4));
	snprintf(ra->household, sizeof(ra->household), "%s", PQgetvalue(res, i, 5));
}

/*
 * Points the message's strings at the entry's own buffers. Done just
 * before packing: the list of entries grows by realloc, which moves them.
 */
static void
s_wire(struct raised *ra)
{
	Gridwall__V1__RiskAlert *a = &ra->alert;

	a->rule_ids = ra->rule_ids;
	a->reasons = ra->reasons;
	a->action = ra->action;
	a->grid_code = ra->grid;
	a->area_path = ra->path;
	a->person_name = ra->name;
	a->id_masked = ra->id_masked;
	a->phone = ra->phone;
	a->household_code = ra->household;
	a->state = (char *)"open";
}

/* Keeps an alert to be written with the transaction's others; false when memory is short. */
static bool
s_draft(struct rulesd *r, const struct alert_draft *d)
{
	struct raised *ra = s_new_raised(r);

	if (ra == NULL) {
		log_error("out of memory raising an alert of grid %s", d->grid_code);
		return false;
	}
	s_message(r, ra, d);
	return true;
}

/* Adds an alert's row to the columns of SQL_ALERTS; false when memory is short. */
static bool
s_add_columns(struct pgarray *c, const struct raised *ra)
{
	const Gridwall__V1__RiskAlert *a = &ra->alert;
	char *ids = s_json_strings((const char *const *)ra->rule_ids, a->n_rule_ids);
	char *reasons = s_json_strings((const char *const *)ra->reasons, a->n_reasons);
	bool ok = ids != NULL && reasons != NULL;

	pgarray_text(&c[0], kind_names[a->kind]);
	pgarray_int8(&c[1], a->screening_id);
	pgarray_int8(&c[2], a->person_id);
	pgarray_int8(&c[3], a->household_id);
	pgarray_text(&c[4], ra->grid);
	pgarray_text(&c[5], codec_level_name(a->level));
	pgarray_text(&c[6], codec_level_name(a->previous_level));
	pgarray_text(&c[7], ids);
	pgarray_text(&c[8], reasons);
	pgarray_text(&c[9], ra->has_action ? ra->action : NULL);
	pgarray_int8(&c[10], a->observe_until);
	free(ids);
	free(reasons);
	return ok;
}

void
alert_write(struct rulesd *r, struct db_batch *b, size_t from, PGresult **res)
{
	static const uint32_t types[ALERT_COLUMNS] = {
		PGARRAY_TEXT, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_INT8, PGARRAY_TEXT, PGARRAY_TEXT,
		PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_INT8,
	};
	bool ok = true;

	if (from >= r->nraised)
		return;
	for (int i = 0; i < ALERT_COLUMNS; i++)
		pgarray_begin(&r->cols[i], types[i]);
	for (size_t i = from; i < r->nraised; i++)
		ok &= s_add_columns(r->cols, &r->raised[i]);
	if (!ok) {
		log_error("write alerts: out of memory");
		b->failed = true;
		return;
	}
	effects_add_columns(r, b, "write alerts", PGRES_TUPLES_OK, STMT_ALERTS, r->cols, ALERT_COLUMNS,
	                    res);
}

bool
alert_prepare(struct rulesd *r)
{
	return db_prepare(r->daemon->db, "prepare the alerts statement", STMT_ALERTS, SQL_ALERTS);
}

void
alert_written(struct rulesd *r, size_t from, const PGresult *res)
{
	size_t n = res != NULL ? (size_t)PQntuples(res) : 0;

	if (from < r->nraised && n != r->nraised - from)
		log_error("write alerts: %zu rows returned for %zu alerts", n, r->nraised - from);
	for (size_t i = from; i < r->nraised && i - from < n; i++)
		s_written(&r->raised[i], res, (int)(i - from));
}

bool
alert_risk(struct rulesd *r, const struct screening *s, const struct assessment *as)
{
	struct alert_draft d = {
		.kind = GRIDWALL__V1__ALERT_KIND__ALERT_RISK,
		.screening_id = s->id,
		.person_id = s->person_id,
		.household_id = s->household_id,
		.grid_code = s->grid_code,
		.level = as->new_level,
		.previous_level = as->previous_level,
		.action = as->top ? as->top->action : NULL,
		.person = assess_person(&r->state, s->person_id),
	};

	for (size_t i = 0; i < as->nfired; i++) {
		const struct rule *rule = rule_set_rule(r->rules, as->fired[i]);

		d.rule_ids[d.nrules] = rule->id;
		d.reasons[d.nrules++] = rule->reason;
	}
	return s_draft(r, &d);
}

bool
alert_event(struct rulesd *r, const struct assess_event *ev)
{
	struct alert_draft d = { .level = ev->level, .previous_level = ev->previous_level };

	if (ev->kind == ASSESS_COVERAGE_GAP) {
		d.kind = GRIDWALL__V1__ALERT_KIND__ALERT_COVERAGE_GAP;
		d.household_id = ev->household->household_id;
		d.grid_code = ev->household->grid_code;
		d.action = ACTION_GAP;
	} else {
		d.kind = ev->kind == ASSESS_RELEASED ? GRIDWALL__V1__ALERT_KIND__ALERT_RELEASED
		                                     : GRIDWALL__V1__ALERT_KIND__ALERT_FOLLOW_UP_OVERDUE;
		d.person_id = ev->person->person_id;
		d.household_id = ev->person->household_id;
		d.grid_code = ev->person->grid_code;
		d.action = ev->kind == ASSESS_RELEASED ? ACTION_RELEASED : ACTION_OVERDUE;
		d.person = ev->person;
	}
	if (d.grid_code[0] == '\0') {
		log_warn("no grid known for an alert of person %lld; not raised", (long long)d.person_id);
		return true;
	}
	return s_draft(r, &d);
}

/* Publishes one alert with its grid code as topic. */
static void
s_publish(struct rulesd *r, struct raised *ra)
{
	size_t lens[2];
	const void *data[2];
	uint8_t *buf;

	s_wire(ra);
	buf = codec_pack(&ra->alert.base, &lens[1]);

	if (buf == NULL)
		return;
	data[0] = ra->grid;
	lens[0] = strlen(ra->grid);
	data[1] = buf;
	if (bus_send(r->alerts, data, lens, 2) != 0)
		log_warn("alert %lld not published: %s", (long long)ra->alert.alert_id,
		         zmq_strerror(zmq_errno()));
	free(buf);
}

/* Counts a committed alert by kind, for the log line at stop. */
static void
s_count(struct rulesd *r, const Gridwall__V1__RiskAlert *a)
{
	r->alerts_raised++;
	if (a->kind == GRIDWALL__V1__ALERT_KIND__ALERT_RELEASED)
		r->released++;
	else if (a->kind == GRIDWALL__V1__ALERT_KIND__ALERT_FOLLOW_UP_OVERDUE)
		r->overdue++;
	else if (a->kind == GRIDWALL__V1__ALERT_KIND__ALERT_COVERAGE_GAP)
		r->coverage_gaps++;
}

void
alert_publish_all(struct rulesd *r)
{
	for (size_t i = 0; i < r->nraised; i++) {
		s_publish(r, &r->raised[i]);
		s_count(r, &r->raised[i].alert);
	}
	r->nraised = 0;
}
