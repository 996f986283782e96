/*
 * Alerts for the command office. Each is written in the transaction of
 * what raised it (a screening's assessment, or a tick of the clock) and
 * kept in memory as a RiskAlert until COMMIT, then published with its grid
 * code as the topic. A transaction that fails publishes nothing.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "grow.h"
#include "idcard.h"
#include "log.h"
#include "rulesd.h"

/* Writes an alert and returns what its message needs of the registry. */
static const char SQL_ALERT[] =
	"WITH a AS ("
	"  INSERT INTO alerts (kind, screening_id, person_id, household_id, grid_code, level, "
	"    previous_level, rule_ids, reasons, action, observe_until) "
	"  VALUES ($1, nullif($2::bigint, 0), nullif($3::bigint, 0), nullif($4::bigint, 0), $5, $6, $7, "
	"          ARRAY(SELECT jsonb_array_elements_text($8::jsonb)), "
	"          ARRAY(SELECT jsonb_array_elements_text($9::jsonb)), $10, "
	"          to_timestamp(nullif($11::bigint, 0))) "
	"  RETURNING id, raised_at, person_id, household_id) "
	"SELECT a.id, extract(epoch FROM a.raised_at)::bigint, coalesce(p.name, ''), "
	"       coalesce(p.id_number, ''), coalesce(p.phone, ''), coalesce(h.code, '') "
	"FROM a LEFT JOIN persons p ON p.id = a.person_id LEFT JOIN households h ON h.id = a.household_id";

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

/* Builds the RiskAlert of a written alert; its strings are copied into ra (see s_wire). */
static void
s_message(struct rulesd *r, struct raised *ra, const struct alert_draft *d, PGresult *res)
{
	Gridwall__V1__RiskAlert *a = &ra->alert;

	gridwall__v1__risk_alert__init(a);
	a->alert_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	a->has_raised_at = true;
	a->raised_at = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
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
	snprintf(ra->name, sizeof(ra->name), "%s", PQgetvalue(res, 0, 2));
	idcard_mask(PQgetvalue(res, 0, 3), ra->id_masked);
	snprintf(ra->phone, sizeof(ra->phone), "%s", PQgetvalue(res, 0, 4));
	snprintf(ra->household, sizeof(ra->household), "%s", PQgetvalue(res, 0, 5));
	snprintf(ra->action, sizeof(ra->action), "%s", d->action ? d->action : "");
	snprintf(ra->grid, sizeof(ra->grid), "%s", d->grid_code);
	area_path(r->areas, d->grid_code, ra->path, sizeof(ra->path));
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

/* Writes an alert and keeps its message for publishing; false on a database failure. */
static bool
s_write(struct rulesd *r, const struct alert_draft *d)
{
	char v[4][24];
	char *ids = s_json_strings(d->rule_ids, d->nrules);
	char *reasons = s_json_strings(d->reasons, d->nrules);
	const char *params[11] = {
		kind_names[d->kind], v[0], v[1], v[2], d->grid_code,
		codec_level_name((Gridwall__V1__RiskLevel)d->level),
		codec_level_name((Gridwall__V1__RiskLevel)d->previous_level), ids, reasons, d->action,
		v[3],
	};
	struct raised *ra = NULL;
	PGresult *res = NULL;
	bool ok = false;

	snprintf(v[0], sizeof(v[0]), "%lld", (long long)d->screening_id);
	snprintf(v[1], sizeof(v[1]), "%lld", (long long)d->person_id);
	snprintf(v[2], sizeof(v[2]), "%lld", (long long)d->household_id);
	snprintf(v[3], sizeof(v[3]), "%lld", d->person != NULL ? (long long)d->person->observe_until : 0LL);
	if (ids == NULL || reasons == NULL)
		goto out;
	res = db_query(r->daemon->db, "insert alert", PGRES_TUPLES_OK, SQL_ALERT, 11, params);
	if (res == NULL || (ra = s_new_raised(r)) == NULL)
		goto out;
	s_message(r, ra, d, res);
	ok = true;
out:
	PQclear(res);
	free(ids);
	free(reasons);
	return ok;
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
	return s_write(r, &d);
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
	return s_write(r, &d);
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
