/*
 * rulesd: evaluates the rules (a rule file, docs/rules.md) against each
 * stored screening and the person's state, writes the assessment, the new
 * person and household states, any alert and its watermark in one
 * transaction, then publishes the alerts (topic = grid code) and forwards
 * the assessed record to reportd. A clock releases persons whose
 * observation ended, and raises overdue follow-ups and coverage gaps.
 */
#ifndef GRIDWALL_RULESD_H
#define GRIDWALL_RULESD_H

#include <stdbool.h>
#include <stdint.h>

#include "area.h"
#include "assess.h"
#include "consumer.h"
#include "daemon.h"
#include "gridwall/v1/gridwall.pb-c.h"
#include "pgarray.h"
#include "risk.h"
#include "rulelang.h"
#include "screening.h"

struct rulesd_config {
	struct daemon_config shared;
	char *rules;
	long batch_max;
	long flush_delay_ms;
	long catch_up_interval_ms;
	long alerts_hwm;
	long lifecycle_interval_ms;
	long follow_up_grace_hours;
	long coverage_gap_days;
};

#define EFFECTS_COLUMNS_MAX 16    /* columns of one set-based statement */

/* An alert written by the current transaction, published after COMMIT. */
struct raised {
	Gridwall__V1__RiskAlert alert;
	char *rule_ids[ASSESS_HITS_MAX];
	char *reasons[ASSESS_HITS_MAX];
	char name[128];
	char id_masked[24];
	char phone[32];
	char path[512];
	char grid[AREA_CODE_MAX];
	char household[72];
	char action[RULE_ACTION_MAX + 1];
	bool has_action;                  /* action is NULL in the database when false */
};

struct rulesd {
	struct daemon *daemon;
	struct bus_socket *events;        /* PULL from ingestd */
	struct bus_socket *alerts;        /* PUB to the command office */
	struct bus_socket *assessed;      /* PUSH to reportd */
	struct area_tree *areas;
	struct risk_registry risk;
	struct rule_set *rules;           /* swapped whole on reload */
	bool rules_recorded;              /* in rule_sets */
	struct assess state;              /* persons and households, in memory */
	bool state_loaded;
	struct consumer consumer;         /* live events, catch-up, watermark */
	uv_timer_t lifecycle_timer;
	/* the batch being committed */
	struct screening *batch;
	Gridwall__V1__RiskLevel *levels;
	size_t nbatch, cap_batch, cap_levels;
	struct raised *raised;
	size_t nraised, cap_raised;
	struct pgarray cols[EFFECTS_COLUMNS_MAX]; /* the rows of one set-based statement */
	struct pgarray assessments[6];    /* the batch's assessments, one array per column */
	uint64_t alerts_raised, released, overdue, coverage_gaps;
};

/* ruleset.c: the rule files. */
/* Loads the rules the config names and records them in rule_sets; false (logged) keeps the old ones. */
bool ruleset_reload(struct rulesd *r);
/* Records the running set in rule_sets unless done; retried when the database is back. */
void ruleset_record(struct rulesd *r);
/* -n: loads the rule files and says what is wrong with them; 0 if they are fit. */
int ruleset_check(const void *config);

/* state.c: the persisted states, read back at start. */
/* Loads households and person states into r->state; false (logged) on failure. */
bool state_load(struct rulesd *r);
/* Adds the households registered since the last load; false on failure. */
bool state_load_new_households(struct rulesd *r);
/* Prepares the statements that write the states, on this connection; false (logged) on failure. */
bool state_prepare(struct rulesd *r);
/* Adds the writes of every state the transaction changed to it. */
void state_persist(struct rulesd *r, struct db_batch *b);

/* alerts.c: writing alerts and publishing them after COMMIT. */
/* Raises a risk alert for a screening's assessment; false when memory is short. */
bool alert_risk(struct rulesd *r, const struct screening *s, const struct assessment *as);
/* Raises an alert for something time changed; false when memory is short. */
bool alert_event(struct rulesd *r, const struct assess_event *ev);
/* Adds the alerts raised since entry `from`, in one statement, to the transaction; its result goes to *res. */
void alert_write(struct rulesd *r, struct db_batch *b, size_t from, PGresult **res);
/* Prepares the statement that writes alerts, on this connection; false (logged) on failure. */
bool alert_prepare(struct rulesd *r);
/* Gives the alerts raised since entry `from` the ids and registry fields of that result. */
void alert_written(struct rulesd *r, size_t from, const PGresult *res);
/* Publishes the alerts of the committed transaction, with the grid code as topic. */
void alert_publish_all(struct rulesd *r);

/* effects.c: one transaction per batch of screenings, with watermark last. */
int effects_commit(struct rulesd *r, int64_t last);
/*
 * Writes, in one transaction sent whole, the assessments, the alerts raised
 * since entry `from`, the states changed, and watermark last (none when 0);
 * true once committed.
 */
bool effects_write(struct rulesd *r, size_t from, int64_t last);
/*
 * Prepares the statements of effects_write once per connection: parsed and
 * planned anew, they cost more than the writes of a small batch.
 */
bool effects_prepare(struct rulesd *r);
/*
 * Completes n column arrays and adds the prepared statement `name` over
 * them to the transaction (its result to *res when res is not NULL).
 */
void effects_add_columns(struct rulesd *r, struct db_batch *b, const char *what,
                         ExecStatusType expect, const char *name, struct pgarray *cols, int n,
                         PGresult **res);

/* lifecycle.c: the clock. */
void lifecycle_start(struct rulesd *r);
void lifecycle_stop(struct rulesd *r);
/* Runs one tick now (also on the timer); 0 when committed. */
int lifecycle_tick(struct rulesd *r, int64_t now);

/* screening.c: the batch. */
/* Fetches up to limit stored screenings after id into r->batch; *last gets the last id. -1 on failure. */
int screening_fetch_after(struct rulesd *r, int64_t after, long limit, int64_t *last);
/* Appends a screening to the batch being built. */
bool batch_append(struct rulesd *r, const struct screening *s);

#endif
