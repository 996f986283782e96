/*
 * The evaluator of the rule language: walks the compiled tree of each
 * rule's condition against one input. No allocation, no name lookups, no
 * string compares except the region prefixes and an explicit string ==.
 * A let that computes something is computed at most once per input: the
 * first rule that needs it stores its value in a cache slot on the stack,
 * and the rules after it read the slot (the default set asks for
 * from_risk_area(14 days) in four rules and scans the registry once).
 */
#include <string.h>

#include "rulelang_int.h"

/* One evaluation: the input, the values derived from it up front, and the let cache. */
struct eval {
	const struct rule_set *rs;
	const struct rl_node *nodes;
	const struct rule_input *in;
	const char *origin;          /* never NULL */
	int64_t temperature;         /* hundredths, or RL_UNKNOWN */
	int64_t days_since_arrival;  /* hundredths, or RL_UNKNOWN */
	uint64_t done[RL_LETS_MAX / 64];   /* which cache slots hold a value */
	int64_t cache[RL_LETS_MAX];
};

static int64_t s_value(struct eval *ev, int32_t i);

/* The string node i gives: a constant, the origin, or a let of either. */
static const char *
s_string(const struct eval *ev, int32_t i)
{
	const struct rl_node *n = &ev->nodes[i];

	while (n->op == RL_LET)
		n = &ev->nodes[n->a];
	return n->op == RL_ORIGIN ? ev->origin : n->str;
}

/* Does origin start with one of the count prefixes from first. */
static bool
s_region_in(const struct eval *ev, int32_t first, int32_t count)
{
	const struct rl_prefix *p = &ev->rs->prefixes[first];

	for (int32_t i = 0; i < count; i++)
		if (strncmp(ev->origin, p[i].code, p[i].len) == 0)
			return true;
	return false;
}

/* How many earlier fevers lie in [screened_at - seconds, screened_at), in hundredths. */
static int64_t
s_fevers_in_last(const struct rule_input *in, int64_t seconds)
{
	int64_t count = 0;

	for (size_t i = 0; i < in->nfevers; i++)
		count += in->fevers[i] >= in->screened_at - seconds && in->fevers[i] < in->screened_at;
	return count * RL_SCALE;
}

/* A comparison of two values; false when either is an unknown number. */
static bool
s_compare(enum rl_cmp cmp, int64_t x, int64_t y)
{
	if (x == RL_UNKNOWN || y == RL_UNKNOWN)
		return false;
	switch (cmp) {
	case RL_EQ: return x == y;
	case RL_NE: return x != y;
	case RL_LT: return x < y;
	case RL_LE: return x <= y;
	case RL_GT: return x > y;
	case RL_GE: return x >= y;
	}
	return false;
}

/* A let's value, from its cache slot once computed. */
static int64_t
s_let(struct eval *ev, const struct rl_node *n)
{
	uint64_t bit, *word;

	if (n->b < 0)
		return s_value(ev, n->a);
	bit = (uint64_t)1 << (n->b % 64);
	word = &ev->done[n->b / 64];
	if (!(*word & bit)) {
		ev->cache[n->b] = s_value(ev, n->a);
		*word |= bit;
	}
	return ev->cache[n->b];
}

/*
 * The value of node i: a bool as 0 or 1, a number in hundredths (or
 * RL_UNKNOWN), an enum as its protobuf value.
 */
static int64_t
s_value(struct eval *ev, int32_t i)
{
	const struct rl_node *n = &ev->nodes[i];
	const struct rule_input *in = ev->in;

	switch ((enum rl_op)n->op) {
	case RL_CONST: return n->imm;
	case RL_TEMPERATURE: return ev->temperature;
	case RL_DAYS_SINCE_ARRIVAL: return ev->days_since_arrival;
	case RL_CHANNEL: return in->channel;
	case RL_CONTACT: return in->contact;
	case RL_LEVEL: return in->level;
	case RL_HOUSEHOLD_LEVEL: return in->household_level;
	case RL_UNDER_OBSERVATION: return in->under_observation;
	case RL_ANY_SYMPTOM: return (in->symptoms & (unsigned)n->imm) != 0;
	case RL_FROM_RISK_AREA:
		return in->risk != NULL && risk_arrived_from(in->risk, ev->origin, in->arrived_day,
		                                             in->screened_day, (int)n->imm);
	case RL_REGION_IN: return s_region_in(ev, n->a, n->b);
	case RL_FEVERS_IN_LAST: return s_fevers_in_last(in, n->imm);
	case RL_NOT: return !s_value(ev, n->a);
	case RL_AND: return s_value(ev, n->a) && s_value(ev, n->b);
	case RL_OR: return s_value(ev, n->a) || s_value(ev, n->b);
	case RL_CMP: return s_compare((enum rl_cmp)n->cmp, s_value(ev, n->a), s_value(ev, n->b));
	case RL_STR_CMP:
		return (strcmp(s_string(ev, n->a), s_string(ev, n->b)) == 0) == (n->cmp == RL_EQ);
	case RL_LET: return s_let(ev, n);
	case RL_STR_CONST:
	case RL_ORIGIN:
		break;           /* strings are read by s_string; the checker lets none through here */
	}
	return 0;
}

/* Runs every rule's condition in file order; stops when fired is full. */
size_t
rule_set_evaluate(const struct rule_set *rs, const struct rule_input *in, uint16_t *fired,
                  size_t max)
{
	struct eval ev;
	size_t n = 0;

	if (rs == NULL || in == NULL)
		return 0;
	ev.rs = rs;
	ev.nodes = rs->nodes;
	ev.in = in;
	ev.origin = in->origin_region != NULL ? in->origin_region : "";
	ev.temperature = in->has_temperature ? (int64_t)in->temperature_tenths * (RL_SCALE / 10)
	                                     : RL_UNKNOWN;
	ev.days_since_arrival = in->arrived_day != RISK_NO_DAY
	                            ? ((int64_t)in->screened_day - in->arrived_day) * RL_SCALE
	                            : RL_UNKNOWN;
	memset(ev.done, 0, (rs->ncache + 63) / 64 * sizeof(ev.done[0]));
	for (size_t i = 0; i < rs->nrules && n < max; i++)
		if (s_value(&ev, rs->whens[i]))
			fired[n++] = (uint16_t)i;
	return n;
}
