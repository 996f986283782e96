/*
 * The rule files rulesd runs. They are loaded and checked whole before
 * anything else happens: at start a bad file stops rulesd, on SIGHUP it is
 * refused and the rules already running stay. Every set loaded is recorded
 * in rule_sets, so that a replay can compare a candidate with the rules
 * that were live.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "rulesd.h"

static const char SQL_RECORD[] =
	"INSERT INTO rule_sets (path, rules, source) VALUES ($1, $2::int, $3)";

/* Loads the set at path; NULL with the error logged. */
static struct rule_set *
s_load(const char *path)
{
	struct rule_error err;
	struct rule_set *rs = rule_set_load(path, &err);
	char msg[600];

	if (rs == NULL) {
		rule_error_format(&err, msg, sizeof(msg));
		log_error("rules %s: %s", path, msg);
	}
	return rs;
}

void
ruleset_record(struct rulesd *r)
{
	const struct rulesd_config *cfg = r->daemon->config;
	char count[16];
	const char *params[3] = { cfg->rules, count, NULL };

	if (r->rules == NULL || r->rules_recorded || db_conn(r->daemon->db) == NULL)
		return;
	params[2] = rule_set_source(r->rules);
	snprintf(count, sizeof(count), "%zu", rule_set_count(r->rules));
	if (db_command(r->daemon->db, "record the rules", SQL_RECORD, 3, params))
		r->rules_recorded = true;
	else
		log_warn("the rules in use were not recorded in rule_sets; trying again when connected");
}

bool
ruleset_reload(struct rulesd *r)
{
	const struct rulesd_config *cfg = r->daemon->config;
	struct rule_set *rs = s_load(cfg->rules);

	if (rs == NULL) {
		if (r->rules != NULL)
			log_warn("the rules already running stay (%zu rules)", rule_set_count(r->rules));
		return false;
	}
	rule_set_free(&r->rules);
	r->rules = rs;
	log_info("rules %s: %zu rules loaded", cfg->rules, rule_set_count(rs));
	r->rules_recorded = false;
	ruleset_record(r);
	return true;
}

int
ruleset_check(const void *config)
{
	const struct rulesd_config *cfg = config;
	struct rule_set *rs = s_load(cfg->rules);

	if (rs == NULL)
		return 1;
	printf("# rules %s: %zu rules, fit to run:", cfg->rules, rule_set_count(rs));
	for (size_t i = 0; i < rule_set_count(rs); i++)
		printf(" %s", rule_set_rule(rs, i)->id);
	printf("\n");
	rule_set_free(&rs);
	return 0;
}
