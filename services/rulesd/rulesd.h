/*
 * rulesd: evaluates the rules against each stored screening, writes the
 * assessment, the person's new state, any alert and its watermark in one
 * transaction, then publishes the alerts (topic = grid code) and forwards
 * the assessed record to reportd.
 */
#ifndef GRIDWALL_RULESD_H
#define GRIDWALL_RULESD_H

#include <stdbool.h>
#include <stdint.h>

#include "area.h"
#include "consumer.h"
#include "daemon.h"
#include "gridwall/v1/gridwall.pb-c.h"

#define RULE_HITS_MAX 8
#define NO_DAY INT32_MIN

/* What the rules look at of one screening, from an event or a table row. */
struct screening {
	int64_t id;
	int64_t person_id;
	int64_t screened_at;          /* Unix seconds */
	int64_t received_at;
	char grid_code[AREA_CODE_MAX];
	bool has_temperature;
	int temperature_tenths;
	unsigned symptoms;            /* bit (1 << Symptom) per symptom */
	char origin_region[16];
	int32_t arrived_day;          /* days since 1970-01-01, or NO_DAY */
	int contact;                  /* Gridwall__V1__Contact */
};

/* A risk area: region-code prefix and the days it was one. */
struct risk_area {
	char region[16];
	int32_t from_day;
	int32_t to_day;               /* INT32_MAX while still a risk area */
};

struct risk_registry {
	struct risk_area *areas;
	size_t n;
};

struct rule_hit {
	const char *id;
	const char *reason;
	const char *action;
	Gridwall__V1__RiskLevel level;
};

struct verdict {
	Gridwall__V1__RiskLevel level;
	const char *action;           /* of the highest-level rule that fired */
	struct rule_hit hits[RULE_HITS_MAX];
	int nhits;
};

/* rules.c: evaluation, pure. */
void rules_evaluate(const struct risk_registry *risk, const struct screening *s, struct verdict *v);
bool rules_arrived_from_risk_area(const struct risk_registry *risk, const struct screening *s);
/* Loads the risk-area registry; false (logged) on failure, leaving *reg untouched. */
bool risk_registry_load(struct db *db, struct risk_registry *reg);
void risk_registry_free(struct risk_registry *reg);

struct rulesd_config {
	struct daemon_config shared;
	long batch_max;
	long flush_delay_ms;
	long catch_up_interval_ms;
	long alerts_hwm;
};

/* An alert raised in the current batch, published after COMMIT. */
struct raised {
	Gridwall__V1__RiskAlert alert;
	char *rule_ids[RULE_HITS_MAX];
	char *reasons[RULE_HITS_MAX];
	char name[128];
	char id_masked[24];
	char phone[32];
	char path[512];
	char grid[AREA_CODE_MAX];
	char action[128];
};

struct rulesd {
	struct daemon *daemon;
	struct bus_socket *events;        /* PULL from ingestd */
	struct bus_socket *alerts;        /* PUB to the command office */
	struct bus_socket *assessed;      /* PUSH to reportd */
	struct area_tree *areas;
	struct risk_registry risk;
	struct consumer consumer;         /* live events, catch-up, watermark */
	/* the batch being committed */
	struct screening *batch;
	Gridwall__V1__RiskLevel *levels;
	size_t nbatch, cap_batch;
	struct raised *raised;
	size_t nraised, cap_raised;
	uint64_t alerts_raised;
};

/* effects.c: one transaction per batch of screenings, with watermark last. */
int effects_commit(struct rulesd *r, int64_t last);

/* screening.c: building screenings from events and rows. */
bool screening_from_event(const Gridwall__V1__RecordEvent *ev, struct screening *s);
/* Fetches up to limit stored screenings after id into r->batch; *last gets the last id. -1 on failure. */
int screening_fetch_after(struct rulesd *r, int64_t after, long limit, int64_t *last);
/* Appends a screening to the batch being built. */
bool batch_append(struct rulesd *r, const struct screening *s);

#endif
