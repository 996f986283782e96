/*
 * What the rules make of a person over time. A screening is evaluated
 * against the rule set and the state before it; the state then moves on:
 * level, observation period, follow-up due, recent fevers, and the levels
 * of the household. Time alone moves it too (assess_tick): an observation
 * that ends without fever releases the person, a follow-up screening not
 * done in time is overdue, a registered household not screened for days is
 * a coverage gap.
 *
 * Everything here is in memory and pure: rulesd persists the states a
 * transaction touched and rolls them back if it fails; a replay runs the
 * same code over stored screenings without touching anything.
 *
 * Only persons the rules have had something to say about (a level, an
 * observation, a fever, a follow-up) have a state; a person screened
 * normal once and never again costs nothing.
 */
#ifndef GRIDWALL_ASSESS_H
#define GRIDWALL_ASSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "area.h"
#include "idmap.h"
#include "risk.h"
#include "rulelang.h"
#include "screening.h"

#define ASSESS_HITS_MAX 32
#define ASSESS_LEVELS 4              /* Gridwall__V1__RiskLevel NORMAL..HIGH */

struct person_state {
	int64_t person_id;
	int64_t household_id;            /* 0 when none */
	char grid_code[AREA_CODE_MAX];   /* of the latest screening: where alerts go */
	int64_t since;                   /* when the level was reached */
	int64_t observe_from;            /* 0 when not under observation */
	int64_t observe_until;
	int64_t follow_up_due;           /* 0 when none is due */
	int64_t last_screening_id;
	int64_t last_screened_at;
	int64_t fevers[RULE_FEVERS_MAX]; /* the latest fevers, newest first */
	uint32_t txn;                    /* the transaction that last journaled it */
	int32_t follow_up_hours;         /* how often while under observation */
	char rule_id[RULE_ID_MAX];       /* the rule the level and action came with */
	char action[RULE_ACTION_MAX + 1];
	uint8_t level;
	uint8_t nfevers;
	bool overdue_alerted;
};

struct household_state {
	int64_t household_id;
	int64_t created_at;
	int64_t last_screened_at;        /* 0: never */
	int64_t gap_alerted_at;          /* 0: never */
	char grid_code[AREA_CODE_MAX];
	uint32_t members_at[ASSESS_LEVELS];  /* members with a state, by level */
	uint32_t txn;
	bool registered;                 /* only registered households can be missed */
};

/* A state as it was before the transaction changed it. */
struct assess_undo {
	bool household;
	uint32_t slot;
	union {
		struct person_state person;
		struct household_state household;
	} old;
};

struct assess {
	struct person_state *persons;
	size_t npersons, cap_persons;
	struct household_state *households;
	size_t nhouseholds, cap_households;
	struct idmap person_ix, household_ix;
	struct assess_undo *undo;        /* what the transaction changed, first change each */
	size_t nundo, cap_undo;
	uint32_t txn;
	int64_t max_household_id;        /* the highest household id known */
};

/* The outcome of one screening. */
struct assessment {
	uint16_t fired[ASSESS_HITS_MAX]; /* indexes of the rules that fired, in file order */
	size_t nfired;
	int level;                       /* highest level among them, NORMAL if none */
	const struct rule *top;          /* the first rule at that level: its action */
	int previous_level;              /* the person's level before */
	int new_level;                   /* and after */
	bool alert;                      /* the level rose, or a new action is needed */
	bool released;                   /* back to normal: no rule, no fever, no observation */
};

enum assess_event_kind {
	ASSESS_RELEASED,                 /* observation over without fever: back to normal */
	ASSESS_FOLLOW_UP_OVERDUE,        /* no follow-up screening in time */
	ASSESS_COVERAGE_GAP,             /* registered household not screened for days */
};

/* Something time alone changed, for rulesd to write and announce. */
struct assess_event {
	enum assess_event_kind kind;
	const struct person_state *person;       /* RELEASED, FOLLOW_UP_OVERDUE */
	const struct household_state *household; /* COVERAGE_GAP */
	int level;
	int previous_level;
};

struct assess_clock {
	int64_t now;                     /* Unix seconds */
	int64_t follow_up_grace_s;       /* a follow-up is overdue this long after it was due */
	int64_t coverage_gap_s;          /* a household not screened this long is a gap */
};

/* Returns false to stop the tick (the caller rolls back). */
typedef bool (*assess_event_fn)(void *arg, const struct assess_event *ev);

void assess_init(struct assess *a);
void assess_free(struct assess *a);

/* Loading persisted states at start; false when memory is short. */
bool assess_load_household(struct assess *a, const struct household_state *h);
bool assess_load_person(struct assess *a, const struct person_state *p);

/* A transaction: begin, change states, then commit or roll back. */
void assess_begin(struct assess *a);
void assess_commit(struct assess *a);
void assess_rollback(struct assess *a);
/* The states the transaction changed, to persist: i < a->nundo. */
const struct person_state *assess_changed_person(const struct assess *a, size_t i);
const struct household_state *assess_changed_household(const struct assess *a, size_t i);

/* The state of a person or NULL; of a household or NULL. */
const struct person_state *assess_person(const struct assess *a, int64_t person_id);
const struct household_state *assess_household(const struct assess *a, int64_t household_id);

/* What the rules see of a screening and of the person's state before it (st may be NULL). */
void assess_rule_input(const struct assess *a, const struct risk_registry *risk,
                       const struct screening *s, const struct person_state *st,
                       struct rule_input *in);

/*
 * Evaluates one screening and moves the person's state on (within the
 * transaction). False only when memory is short.
 */
bool assess_screening(struct assess *a, const struct rule_set *rs, const struct risk_registry *risk,
                      const struct screening *s, struct assessment *out);

/* Applies what time alone changes at c->now, calling fn for each event. False if fn stopped it. */
bool assess_tick(struct assess *a, const struct assess_clock *c, assess_event_fn fn, void *arg);

#endif
