/* Person and household states, and how screenings and time move them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess.h"
#include "grow.h"
#include "gridwall/v1/gridwall.pb-c.h"
#include "validate.h"

#define DAY_S 86400
#define HOUR_S 3600

void
assess_init(struct assess *a)
{
	memset(a, 0, sizeof(*a));
	idmap_init(&a->person_ix);
	idmap_init(&a->household_ix);
}

void
assess_free(struct assess *a)
{
	free(a->persons);
	free(a->households);
	free(a->undo);
	idmap_free(&a->person_ix);
	idmap_free(&a->household_ix);
	assess_init(a);
}

/* ---- the journal ---- */

void
assess_begin(struct assess *a)
{
	a->txn++;
	a->nundo = 0;
}

void
assess_commit(struct assess *a)
{
	a->nundo = 0;
}

void
assess_rollback(struct assess *a)
{
	while (a->nundo > 0) {
		const struct assess_undo *u = &a->undo[--a->nundo];

		if (u->household)
			a->households[u->slot] = u->old.household;
		else
			a->persons[u->slot] = u->old.person;
	}
}

const struct person_state *
assess_changed_person(const struct assess *a, size_t i)
{
	return a->undo[i].household ? NULL : &a->persons[a->undo[i].slot];
}

const struct household_state *
assess_changed_household(const struct assess *a, size_t i)
{
	return a->undo[i].household ? &a->households[a->undo[i].slot] : NULL;
}

/* Notes a person's state before its first change in this transaction. */
static bool
s_journal_person(struct assess *a, uint32_t slot)
{
	struct assess_undo *u;

	if (a->persons[slot].txn == a->txn)
		return true;
	if (!grow((void **)&a->undo, &a->cap_undo, a->nundo + 1, sizeof(*a->undo), 1024))
		return false;
	u = &a->undo[a->nundo++];
	u->household = false;
	u->slot = slot;
	u->old.person = a->persons[slot];
	a->persons[slot].txn = a->txn;
	return true;
}

/* Notes a household's state before its first change in this transaction. */
static bool
s_journal_household(struct assess *a, uint32_t slot)
{
	struct assess_undo *u;

	if (a->households[slot].txn == a->txn)
		return true;
	if (!grow((void **)&a->undo, &a->cap_undo, a->nundo + 1, sizeof(*a->undo), 1024))
		return false;
	u = &a->undo[a->nundo++];
	u->household = true;
	u->slot = slot;
	u->old.household = a->households[slot];
	a->households[slot].txn = a->txn;
	return true;
}

/* ---- finding and creating states ---- */

const struct person_state *
assess_person(const struct assess *a, int64_t person_id)
{
	uint32_t slot = idmap_get(&a->person_ix, person_id);

	return slot == IDMAP_NONE ? NULL : &a->persons[slot];
}

const struct household_state *
assess_household(const struct assess *a, int64_t household_id)
{
	uint32_t slot = household_id > 0 ? idmap_get(&a->household_ix, household_id) : IDMAP_NONE;

	return slot == IDMAP_NONE ? NULL : &a->households[slot];
}

/* The slot of a household, created (not registered) if unknown; IDMAP_NONE when memory is short. */
static uint32_t
s_household_slot(struct assess *a, int64_t household_id)
{
	uint32_t slot = idmap_get(&a->household_ix, household_id);

	if (slot != IDMAP_NONE)
		return slot;
	if (!grow((void **)&a->households, &a->cap_households, a->nhouseholds + 1,
	          sizeof(*a->households), 1024))
		return IDMAP_NONE;
	slot = (uint32_t)a->nhouseholds;
	memset(&a->households[slot], 0, sizeof(a->households[slot]));
	a->households[slot].household_id = household_id;
	if (!idmap_put(&a->household_ix, household_id, slot))
		return IDMAP_NONE;
	a->nhouseholds++;
	if (household_id > a->max_household_id)
		a->max_household_id = household_id;
	return slot;
}

/* The slot of a person, created blank if unknown; IDMAP_NONE when memory is short. */
static uint32_t
s_person_slot(struct assess *a, int64_t person_id)
{
	uint32_t slot = idmap_get(&a->person_ix, person_id);

	if (slot != IDMAP_NONE)
		return slot;
	if (!grow((void **)&a->persons, &a->cap_persons, a->npersons + 1, sizeof(*a->persons), 1024))
		return IDMAP_NONE;
	slot = (uint32_t)a->npersons;
	memset(&a->persons[slot], 0, sizeof(a->persons[slot]));
	a->persons[slot].person_id = person_id;
	if (!idmap_put(&a->person_ix, person_id, slot))
		return IDMAP_NONE;
	a->npersons++;
	return slot;
}

/* Moves a member's count in a household from one level to another (or in or out: level -1). */
static bool
s_count_member(struct assess *a, int64_t household_id, int from, int to)
{
	uint32_t slot;
	struct household_state *h;

	if (household_id <= 0 || from == to)
		return true;
	slot = s_household_slot(a, household_id);
	if (slot == IDMAP_NONE || !s_journal_household(a, slot))
		return false;
	h = &a->households[slot];
	if (from >= 0 && h->members_at[from] > 0)
		h->members_at[from]--;
	if (to >= 0)
		h->members_at[to]++;
	return true;
}

bool
assess_load_household(struct assess *a, const struct household_state *h)
{
	uint32_t slot = s_household_slot(a, h->household_id);
	uint32_t members[ASSESS_LEVELS];

	if (slot == IDMAP_NONE)
		return false;
	memcpy(members, a->households[slot].members_at, sizeof(members));
	a->households[slot] = *h;
	memcpy(a->households[slot].members_at, members, sizeof(members));
	a->households[slot].txn = 0;
	return true;
}

bool
assess_load_person(struct assess *a, const struct person_state *p)
{
	uint32_t slot = s_person_slot(a, p->person_id);
	uint32_t hslot;

	if (slot == IDMAP_NONE)
		return false;
	a->persons[slot] = *p;
	a->persons[slot].txn = 0;
	if (p->household_id <= 0)
		return true;
	hslot = s_household_slot(a, p->household_id);
	if (hslot == IDMAP_NONE)
		return false;
	a->households[hslot].members_at[p->level < ASSESS_LEVELS ? p->level : 0]++;
	return true;
}

/* ---- one screening ---- */

/* The highest level among the other members of the household. */
static int
s_household_level(const struct assess *a, int64_t household_id, const struct person_state *self)
{
	const struct household_state *h = assess_household(a, household_id);

	if (h == NULL)
		return GRIDWALL__V1__RISK_LEVEL__NORMAL;
	for (int level = ASSESS_LEVELS - 1; level > 0; level--) {
		uint32_t n = h->members_at[level];

		if (self != NULL && self->household_id == household_id && self->level == level)
			n--;
		if (n > 0)
			return level;
	}
	return GRIDWALL__V1__RISK_LEVEL__NORMAL;
}

void
assess_rule_input(const struct assess *a, const struct risk_registry *risk,
                  const struct screening *s, const struct person_state *st, struct rule_input *in)
{
	memset(in, 0, sizeof(*in));
	in->has_temperature = s->has_temperature;
	in->temperature_tenths = s->temperature_tenths;
	in->symptoms = s->symptoms;
	in->channel = s->channel;
	in->contact = s->contact;
	in->origin_region = s->origin_region;
	in->arrived_day = s->arrived_day;
	in->screened_day = validate_local_day(s->screened_at);
	in->screened_at = s->screened_at;
	in->level = st ? st->level : GRIDWALL__V1__RISK_LEVEL__NORMAL;
	in->household_level = s_household_level(a, s->household_id, st);
	in->under_observation = st && st->observe_until > s->screened_at;
	in->fevers = st ? st->fevers : NULL;
	in->nfevers = st ? st->nfevers : 0;
	in->risk = risk;
}

/* The highest level of the rules that fired, and the first rule at it. */
static void
s_verdict(const struct rule_set *rs, struct assessment *out)
{
	out->level = GRIDWALL__V1__RISK_LEVEL__NORMAL;
	out->top = NULL;
	for (size_t i = 0; i < out->nfired; i++) {
		const struct rule *r = rule_set_rule(rs, out->fired[i]);

		if (r->level > out->level) {
			out->level = r->level;
			out->top = r;
		}
	}
}

/* Keeps a fever, newest first, dropping the oldest when full. */
static void
s_push_fever(struct person_state *st, int64_t at)
{
	size_t n = st->nfevers, at_ix = 0;

	/* newest first, by time: a backlog's older fever goes in its place, as a reload reads them */
	while (at_ix < n && st->fevers[at_ix] >= at)
		at_ix++;
	if (at_ix == RULE_FEVERS_MAX)
		return;                     /* older than every fever kept */
	if (n == RULE_FEVERS_MAX)
		n--;                        /* the oldest goes */
	memmove(&st->fevers[at_ix + 1], &st->fevers[at_ix], (n - at_ix) * sizeof(st->fevers[0]));
	st->fevers[at_ix] = at;
	st->nfevers = (uint8_t)(n + 1);
}

/* Sets the level, keeping the household's counts. */
static bool
s_set_level(struct assess *a, struct person_state *st, int level, int64_t at)
{
	if (!s_count_member(a, st->household_id, st->level, level))
		return false;
	st->level = (uint8_t)level;
	st->since = at;
	return true;
}

/* Follows a person who moved to another household. */
static bool
s_move_household(struct assess *a, struct person_state *st, int64_t household_id)
{
	if (household_id <= 0 || household_id == st->household_id)
		return true;
	if (!s_count_member(a, st->household_id, st->level, -1) ||
	    !s_count_member(a, household_id, -1, st->level))
		return false;
	st->household_id = household_id;
	return true;
}

/* Starts or extends the observation the fired rules ask for; remembers the follow-up pace. */
static void
s_observe(const struct rule_set *rs, const struct assessment *out, struct person_state *st,
          int64_t at)
{
	for (size_t i = 0; i < out->nfired; i++) {
		const struct rule *r = rule_set_rule(rs, out->fired[i]);
		int64_t until = at + (int64_t)r->observe_days * DAY_S;

		if (r->observe_days <= 0)
			continue;
		if (st->observe_until <= at)
			st->observe_from = at;
		if (until > st->observe_until)
			st->observe_until = until;
		if (r->follow_up_hours > st->follow_up_hours)
			st->follow_up_hours = r->follow_up_hours;
	}
}

/* When the next follow-up screening is due after this one, 0 if none. */
static int64_t
s_follow_up_due(const struct rule_set *rs, const struct assessment *out,
                const struct person_state *st, int64_t at)
{
	int hours = st->observe_until > at ? st->follow_up_hours : 0;

	for (size_t i = 0; i < out->nfired; i++) {
		const struct rule *r = rule_set_rule(rs, out->fired[i]);

		if (r->follow_up_hours > hours)
			hours = r->follow_up_hours;
	}
	return hours > 0 ? at + (int64_t)hours * HOUR_S : 0;
}

/* Notes the rule the level and action now come from. */
static void
s_set_reason(struct person_state *st, const struct rule *top)
{
	snprintf(st->rule_id, sizeof(st->rule_id), "%s", top ? top->id : "");
	snprintf(st->action, sizeof(st->action), "%s", top ? top->action : "");
}

/* Moves the level: up with the rules, a new action at the same level, or back to normal. */
static bool
s_move_level(struct assess *a, struct person_state *st, struct assessment *out, bool fever,
             int64_t at)
{
	if (out->level > st->level) {
		out->alert = true;
		s_set_reason(st, out->top);
		return s_set_level(a, st, out->level, at);
	}
	if (out->level == st->level && out->top != NULL && strcmp(out->top->action, st->action) != 0) {
		out->alert = true;
		s_set_reason(st, out->top);
		return true;
	}
	if (out->nfired == 0 && !fever && st->observe_until <= at &&
	    st->level > GRIDWALL__V1__RISK_LEVEL__NORMAL) {
		out->released = true;
		s_set_reason(st, NULL);
		return s_set_level(a, st, GRIDWALL__V1__RISK_LEVEL__NORMAL, at);
	}
	return true;
}

/* Notes the household's screening; its state is written once a day at most. */
static bool
s_household_screened(struct assess *a, int64_t household_id, int64_t at, const char *grid)
{
	uint32_t slot;
	struct household_state *h;

	if (household_id <= 0)
		return true;
	slot = s_household_slot(a, household_id);
	if (slot == IDMAP_NONE)
		return false;
	h = &a->households[slot];
	if (at <= h->last_screened_at)
		return true;
	if (h->last_screened_at / DAY_S != at / DAY_S && !s_journal_household(a, slot))
		return false;
	h->last_screened_at = at;
	if (h->grid_code[0] == '\0')
		memcpy(h->grid_code, grid, sizeof(h->grid_code));
	return true;
}

bool
assess_screening(struct assess *a, const struct rule_set *rs, const struct risk_registry *risk,
                 const struct screening *s, struct assessment *out)
{
	const struct person_state *cur = assess_person(a, s->person_id);
	bool fever = s->has_temperature && s->temperature_tenths >= FEVER_TENTHS;
	struct rule_input in;
	struct person_state *st;
	uint32_t slot;

	memset(out, 0, sizeof(*out));
	assess_rule_input(a, risk, s, cur, &in);
	out->nfired = rule_set_evaluate(rs, &in, out->fired, ASSESS_HITS_MAX);
	s_verdict(rs, out);
	out->previous_level = out->new_level = cur ? cur->level : GRIDWALL__V1__RISK_LEVEL__NORMAL;
	if (!s_household_screened(a, s->household_id, s->screened_at, s->grid_code))
		return false;
	if (cur == NULL && out->nfired == 0 && !fever)
		return true;
	slot = s_person_slot(a, s->person_id);
	if (slot == IDMAP_NONE || !s_journal_person(a, slot))
		return false;
	st = &a->persons[slot];
	if (st->since == 0)
		st->since = s->screened_at;
	if (!s_move_household(a, st, s->household_id))
		return false;
	st->last_screening_id = s->id;
	st->last_screened_at = s->screened_at;
	memcpy(st->grid_code, s->grid_code, sizeof(st->grid_code));
	st->overdue_alerted = false;
	if (fever)
		s_push_fever(st, s->screened_at);
	s_observe(rs, out, st, s->screened_at);
	if (!s_move_level(a, st, out, fever, s->screened_at))
		return false;
	st->follow_up_due = s_follow_up_due(rs, out, st, s->screened_at);
	out->new_level = st->level;
	return true;
}

/* ---- time ---- */

/* Ends an observation that is over: released without fever, else extended past the last one. */
static bool
s_tick_observation(struct assess *a, uint32_t slot, const struct assess_clock *c,
                   assess_event_fn fn, void *arg)
{
	struct person_state *st = &a->persons[slot];
	struct assess_event ev = { ASSESS_RELEASED, st, NULL, GRIDWALL__V1__RISK_LEVEL__NORMAL, st->level };
	int64_t last_fever = st->nfevers > 0 ? st->fevers[0] : 0;

	if (st->observe_until == 0 || c->now < st->observe_until)
		return true;
	if (!s_journal_person(a, slot))
		return false;
	if (last_fever >= st->observe_from) {
		st->observe_until = last_fever + (st->observe_until - st->observe_from);
		st->observe_from = last_fever + 1;
		return true;
	}
	st->observe_from = st->observe_until = 0;
	st->follow_up_due = 0;
	st->follow_up_hours = 0;
	st->overdue_alerted = false;
	s_set_reason(st, NULL);
	if (!s_set_level(a, st, GRIDWALL__V1__RISK_LEVEL__NORMAL, c->now))
		return false;
	return fn(arg, &ev);
}

/* Raises a follow-up that is overdue, once. */
static bool
s_tick_follow_up(struct assess *a, uint32_t slot, const struct assess_clock *c,
                 assess_event_fn fn, void *arg)
{
	struct person_state *st = &a->persons[slot];
	struct assess_event ev = { ASSESS_FOLLOW_UP_OVERDUE, st, NULL, st->level, st->level };

	if (st->follow_up_due == 0 || st->overdue_alerted ||
	    c->now < st->follow_up_due + c->follow_up_grace_s)
		return true;
	if (!s_journal_person(a, slot))
		return false;
	st->overdue_alerted = true;
	return fn(arg, &ev);
}

/* Raises a registered household not screened for the gap period, once per gap. */
static bool
s_tick_household(struct assess *a, uint32_t slot, const struct assess_clock *c,
                 assess_event_fn fn, void *arg)
{
	struct household_state *h = &a->households[slot];
	struct assess_event ev = { ASSESS_COVERAGE_GAP, NULL, h, GRIDWALL__V1__RISK_LEVEL__NORMAL,
	                           GRIDWALL__V1__RISK_LEVEL__NORMAL };
	int64_t since = h->last_screened_at > h->created_at ? h->last_screened_at : h->created_at;

	if (!h->registered || c->coverage_gap_s <= 0 || c->now - since < c->coverage_gap_s ||
	    h->gap_alerted_at >= since)
		return true;
	if (!s_journal_household(a, slot))
		return false;
	h->gap_alerted_at = c->now;
	return fn(arg, &ev);
}

bool
assess_tick(struct assess *a, const struct assess_clock *c, assess_event_fn fn, void *arg)
{
	for (uint32_t i = 0; i < a->npersons; i++)
		if (!s_tick_observation(a, i, c, fn, arg) || !s_tick_follow_up(a, i, c, fn, arg))
			return false;
	for (uint32_t i = 0; i < a->nhouseholds; i++)
		if (!s_tick_household(a, i, c, fn, arg))
			return false;
	return true;
}
