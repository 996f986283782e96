/*
 * The expression parser and type checker of the rule language: recursive
 * descent over or, and, not, comparisons and values, building the compiled
 * tree as it goes. Every expression is typed the moment it is parsed, so a
 * type error is reported where it is written and nothing untyped reaches
 * the evaluator. Function arguments are folded to constants here (a
 * symptom mask, a window in days or seconds, a list of region prefixes),
 * so the evaluator never looks at a name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rulelang_int.h"

#define ARGS_MAX 64                  /* arguments of one call */

/* The built-in or let of this file (defined so far) whose name is nearest to t, or NULL. */
static const char *
s_suggest_name(const struct rl_parser *p, const struct rl_token *t)
{
	const char *best = NULL;
	size_t dist = SIZE_MAX;

	for (size_t i = 0; i < rl_nbuiltins; i++)
		rl_consider(t, rl_builtins[i].name, &best, &dist);
	for (size_t i = 0; i < p->rs->nlets; i++)
		if (p->rs->lets[i].file == p->file_index)
			rl_consider(t, p->rs->lets[i].name, &best, &dist);
	return best;
}

/* Adds a node, bounding how deep evaluation goes below it; its index, or -1 (error at t). */
int32_t
rl_node_add(struct rl_parser *p, const struct rl_token *t, const struct rl_node *n)
{
	struct rule_set *rs = p->rs;
	unsigned depth = 0;

	if (rs->nnodes >= INT32_MAX)
		return rl_fail(p, t, "too many operations in one set");
	if (rs->nnodes == rs->capnodes) {
		size_t want = rs->capnodes ? rs->capnodes * 2 : 64;
		struct rl_node *nodes = realloc(rs->nodes, want * sizeof(*nodes));
		uint16_t *depths;

		if (nodes == NULL)
			return rl_fail(p, t, "out of memory");
		rs->nodes = nodes;
		if ((depths = realloc(rs->depth, want * sizeof(*depths))) == NULL)
			return rl_fail(p, t, "out of memory");
		rs->depth = depths;
		rs->capnodes = want;
	}
	if (n->op == RL_NOT || n->op == RL_AND || n->op == RL_OR || n->op == RL_CMP ||
	    n->op == RL_STR_CMP || n->op == RL_LET) {
		depth = rs->depth[n->a];
		if (n->op != RL_NOT && n->op != RL_LET && rs->depth[n->b] > depth)
			depth = rs->depth[n->b];
		if (++depth > RL_DEPTH_MAX)
			return rl_fail(p, t, "condition too deep (over %d steps, counting through lets)",
			               RL_DEPTH_MAX);
	}
	rs->nodes[rs->nnodes] = *n;
	rs->depth[rs->nnodes] = (uint16_t)depth;
	return (int32_t)rs->nnodes++;
}

/* Follows lets down to the node that gives the value. */
static const struct rl_node *
s_resolve(const struct rule_set *rs, int32_t i)
{
	while (rs->nodes[i].op == RL_LET)
		i = rs->nodes[i].a;
	return &rs->nodes[i];
}

/* The type of node i. */
static enum rl_type
s_type(const struct rl_parser *p, int32_t i)
{
	return (enum rl_type)p->rs->nodes[i].type;
}

/* Explains a name that is neither a let so far nor a built-in; returns -1. */
static int
s_unknown_name(struct rl_parser *p, const struct rl_token *t)
{
	const struct rl_lexed *lx = p->lx;
	const char *hint;

	if (t->kw != RL_KW_NONE)
		return rl_fail(p, t, "expected an expression, got '%.*s'", (int)t->len, t->text);
	if (p->defining != NULL && p->defining->len == t->len &&
	    memcmp(p->defining->text, t->text, t->len) == 0)
		return rl_fail(p, t, "'%.*s' is used in its own let", (int)t->len, t->text);
	for (size_t i = 0; i + 1 < lx->n; i++)
		if (lx->toks[i].kw == RL_KW_LET && lx->toks[i + 1].kind == RL_TK_NAME &&
		    lx->toks[i + 1].len == t->len && memcmp(lx->toks[i + 1].text, t->text, t->len) == 0)
			return rl_fail(p, t, "'%.*s' is used before it is defined (let on line %d)",
			               (int)t->len, t->text, lx->toks[i].line);
	for (size_t i = 0; i < p->rs->nlets; i++)
		if (strlen(p->rs->lets[i].name) == t->len &&
		    memcmp(p->rs->lets[i].name, t->text, t->len) == 0)
			return rl_fail(p, t, "unknown name '%.*s' (the let in %s belongs to that file)",
			               (int)t->len, t->text, p->rs->files[p->rs->lets[i].file]);
	hint = s_suggest_name(p, t);
	if (hint != NULL)
		return rl_fail(p, t, "unknown name '%.*s' (did you mean '%s'?)", (int)t->len, t->text,
		               hint);
	return rl_fail(p, t, "unknown name '%.*s'", (int)t->len, t->text);
}

/* Reads the arguments of a call after its '('; how many, or -1. */
static int
s_args(struct rl_parser *p, int32_t *args, const struct rl_token **at)
{
	const struct rl_token *open = rl_next(p);
	int n = 0;
	char what[64];

	if (rl_peek(p)->kind == RL_TK_RPAREN) {
		rl_next(p);
		return 0;
	}
	for (;;) {
		if (n == ARGS_MAX)
			return rl_fail(p, rl_peek(p), "too many arguments (at most %d)", ARGS_MAX);
		at[n] = rl_peek(p);
		if ((args[n] = rl_expr(p)) < 0)
			return -1;
		n++;
		if (rl_peek(p)->kind == RL_TK_COMMA) {
			rl_next(p);
			continue;
		}
		if (rl_peek(p)->kind == RL_TK_RPAREN) {
			rl_next(p);
			return n;
		}
		return rl_fail(p, rl_peek(p), "expected ',' or ')' to close the '(' of line %d, got %s",
		               open->line,
		               rl_token_describe(rl_peek(p), what, sizeof(what)));
	}
}

/* A duration argument as hours or days, in days when days is set; -1 with the error at t. */
static int64_t
s_duration_arg(struct rl_parser *p, const char *fn, const struct rl_token *t, int32_t arg,
               bool days)
{
	const struct rl_node *n = s_resolve(p->rs, arg);

	if (n->type != RL_T_DURATION)
		return rl_fail(p, t, "%s takes a duration such as 14 days, not a %s", fn,
		               rl_type_name((enum rl_type)n->type));
	if (!days)
		return n->unit == RL_UNIT_DAYS ? n->imm * 86400 : n->imm * 3600;
	if (n->unit == RL_UNIT_DAYS)
		return n->imm;
	if (n->imm % 24 != 0)
		return rl_fail(p, t, "%s counts whole days: %lld hours is not a whole number of days",
		               fn, (long long)n->imm);
	return n->imm / 24;
}

/* Checks a call's arguments and folds them into the call's node; its index or -1. */
static int32_t
s_call(struct rl_parser *p, const struct rl_token *name, const struct rl_builtin *fn)
{
	int32_t args[ARGS_MAX];
	const struct rl_token *at[ARGS_MAX];
	struct rl_node call = { .op = fn->op, .type = fn->type };
	int n = s_args(p, args, at);

	if (n < 0)
		return -1;
	switch (fn->op) {
	case RL_ANY_SYMPTOM:
		if (n == 0)
			return rl_fail(p, name, "any_symptom takes one or more symptoms, "
			               "e.g. any_symptom(cough)");
		for (int i = 0; i < n; i++) {
			const struct rl_node *a = s_resolve(p->rs, args[i]);

			if (a->type != RL_T_SYMPTOM)
				return rl_fail(p, at[i], "any_symptom takes symptoms, not a %s",
				               rl_type_name((enum rl_type)a->type));
			call.imm |= (int64_t)1 << a->imm;
		}
		break;
	case RL_FROM_RISK_AREA:
	case RL_FEVERS_IN_LAST:
		if (n != 1)
			return rl_fail(p, name, "%s takes one duration, e.g. %s(14 days)", fn->name,
			               fn->name);
		call.imm = s_duration_arg(p, fn->name, at[0], args[0], fn->op == RL_FROM_RISK_AREA);
		if (call.imm < 0)
			return -1;
		call.unit = s_resolve(p->rs, args[0])->unit;
		call.b = (int32_t)s_resolve(p->rs, args[0])->imm;
		break;
	case RL_REGION_IN:
		if (n == 0)
			return rl_fail(p, name, "region_in takes one or more region codes, "
			               "e.g. region_in(\"42\")");
		call.a = (int32_t)p->rs->nprefixes;
		call.b = n;
		for (int i = 0; i < n; i++) {
			const struct rl_node *a = s_resolve(p->rs, args[i]);
			struct rl_prefix *prefixes;
			size_t len;

			if (a->op != RL_STR_CONST)
				return rl_fail(p, at[i],
				               "region_in takes region codes in quotes, e.g. \"4201\"");
			len = strlen(a->str);
			if (len == 0 || len > RL_REGION_MAX || strspn(a->str, "0123456789") != len)
				return rl_fail(p, at[i], "a region code is 1 to %d digits, not \"%s\"",
				               RL_REGION_MAX, a->str);
			prefixes = rl_room(p->rs->prefixes, p->rs->nprefixes, &p->rs->capprefixes,
			                   sizeof(*prefixes));
			if (prefixes == NULL)
				return rl_fail(p, at[i], "out of memory");
			p->rs->prefixes = prefixes;
			p->rs->prefixes[p->rs->nprefixes++] = (struct rl_prefix){ a->str, len };
		}
		break;
	default:
		return rl_fail(p, name, "'%s' is not a function", fn->name);
	}
	return rl_node_add(p, name, &call);
}

/* A name in an expression: a let, a field, a constant or a call. */
static int32_t
s_name(struct rl_parser *p)
{
	const struct rl_token *t = rl_next(p);
	const struct rl_let *let = rl_find_let(p, t);
	const struct rl_builtin *b;
	bool call = rl_peek(p)->kind == RL_TK_LPAREN;
	struct rl_node n;

	if (let != NULL) {
		if (call)
			return rl_fail(p, t, "'%s' is a let, not a function", let->name);
		return let->node;
	}
	if ((b = rl_builtin_find(t->text, t->len)) == NULL)
		return s_unknown_name(p, t);
	if (b->kind == RL_BI_FUNC) {
		if (!call)
			return rl_fail(p, t, "'%s' is a function: call it as %s(...)", b->name, b->name);
		return s_call(p, t, b);
	}
	if (call)
		return rl_fail(p, t, "'%s' is not a function", b->name);
	n = (struct rl_node){ .op = b->op, .type = b->type, .imm = b->value };
	return rl_node_add(p, t, &n);
}

/* A number, or a duration when hours or days follow it. */
static int32_t
s_number(struct rl_parser *p)
{
	const struct rl_token *t = rl_next(p), *unit = rl_peek(p);
	struct rl_node n = { .op = RL_CONST, .type = RL_T_NUMBER, .imm = t->num };

	if (unit->kw == RL_KW_HOURS || unit->kw == RL_KW_DAYS) {
		rl_next(p);
		if (!t->whole)
			return rl_fail(p, t, "a duration is a whole number of hours or days, not %.*s",
			               (int)t->len, t->text);
		if (t->num / RL_SCALE > RL_DURATION_MAX)
			return rl_fail(p, t, "duration too long (at most %d hours or days)",
			               RL_DURATION_MAX);
		n.type = RL_T_DURATION;
		n.imm = t->num / RL_SCALE;
		n.unit = unit->kw == RL_KW_HOURS ? RL_UNIT_HOURS : RL_UNIT_DAYS;
	}
	return rl_node_add(p, t, &n);
}

/* A string constant. */
static int32_t
s_string(struct rl_parser *p)
{
	const struct rl_token *t = rl_next(p);
	char *s = rl_own(p->rs, rl_string_value(t));
	struct rl_node n;

	if (s == NULL)
		return rl_fail(p, t, "out of memory");
	if (strlen(s) > RL_TEXT_MAX)
		return rl_fail(p, t, "string longer than %d bytes", RL_TEXT_MAX);
	n = (struct rl_node){ .op = RL_STR_CONST, .type = RL_T_STRING, .str = s };
	return rl_node_add(p, t, &n);
}

/* A value: a number, duration, string, name, call, or an expression in parentheses. */
static int32_t
s_primary(struct rl_parser *p)
{
	const struct rl_token *t = rl_peek(p);
	int32_t e;
	char what[64];

	switch (t->kind) {
	case RL_TK_NUMBER:
		return s_number(p);
	case RL_TK_STRING:
		return s_string(p);
	case RL_TK_NAME:
		return s_name(p);
	case RL_TK_LPAREN:
		if (++p->nest > RL_NEST_MAX)
			return rl_fail(p, t, "parentheses nested too deeply (over %d)", RL_NEST_MAX);
		rl_next(p);
		if ((e = rl_expr(p)) < 0)
			return -1;
		if (rl_peek(p)->kind != RL_TK_RPAREN)
			return rl_fail(p, rl_peek(p), "expected ')' to close the '(' at %d:%d, got %s",
			               t->line, t->col,
			               rl_token_describe(rl_peek(p), what, sizeof(what)));
		rl_next(p);
		p->nest--;
		return e;
	default:
		return rl_fail(p, t, "expected an expression, got %s",
		               rl_token_describe(t, what, sizeof(what)));
	}
}

/* The comparison a token is, or -1. */
static int
s_cmp_of(const struct rl_token *t)
{
	switch (t->kind) {
	case RL_TK_EQ: return RL_EQ;
	case RL_TK_NE: return RL_NE;
	case RL_TK_LT: return RL_LT;
	case RL_TK_LE: return RL_LE;
	case RL_TK_GT: return RL_GT;
	case RL_TK_GE: return RL_GE;
	default: return -1;
	}
}

/* A value, or two compared: numbers and levels in order, the others for equality only. */
static int32_t
s_comparison(struct rl_parser *p)
{
	int32_t left = s_primary(p), right;
	const struct rl_token *op;
	struct rl_node node;
	enum rl_type lt, rt;
	int cmp;

	if (left < 0 || (cmp = s_cmp_of(rl_peek(p))) < 0)
		return left;
	op = rl_next(p);
	if ((right = s_primary(p)) < 0)
		return -1;
	lt = s_type(p, left);
	rt = s_type(p, right);
	if (lt != rt || lt == RL_T_DURATION || lt == RL_T_SYMPTOM)
		return rl_fail(p, op, "cannot compare %s with %s", rl_type_name(lt), rl_type_name(rt));
	if (cmp != RL_EQ && cmp != RL_NE && lt != RL_T_NUMBER && lt != RL_T_LEVEL)
		return rl_fail(p, op, "cannot order %s values: only == and != apply",
		               rl_type_name(lt));
	if (s_cmp_of(rl_peek(p)) >= 0)
		return rl_fail(p, rl_peek(p), "comparisons do not chain: join them with 'and'");
	node = (struct rl_node){ .op = lt == RL_T_STRING ? RL_STR_CMP : RL_CMP, .type = RL_T_BOOL,
	                         .cmp = (uint8_t)cmp, .a = left, .b = right };
	return rl_node_add(p, op, &node);
}

/* Fails unless node e, written at t, is a bool; word is the operator that needs it. */
static int
s_want_bool(struct rl_parser *p, const struct rl_token *t, int32_t e, const char *word)
{
	if (s_type(p, e) == RL_T_BOOL)
		return 0;
	return rl_fail(p, t, "'%s' needs a bool, not a %s", word, rl_type_name(s_type(p, e)));
}

/* 'not' binds looser than a comparison: not temperature >= 37.3 negates the comparison. */
static int32_t
s_not(struct rl_parser *p)
{
	const struct rl_token *t = rl_peek(p), *at;
	struct rl_node n;
	int32_t e;

	if (t->kw != RL_KW_NOT)
		return s_comparison(p);
	if (++p->nest > RL_NEST_MAX)
		return rl_fail(p, t, "'not' nested too deeply (over %d)", RL_NEST_MAX);
	rl_next(p);
	at = rl_peek(p);
	if ((e = s_not(p)) < 0 || s_want_bool(p, at, e, "not") < 0)
		return -1;
	p->nest--;
	n = (struct rl_node){ .op = RL_NOT, .type = RL_T_BOOL, .a = e };
	return rl_node_add(p, t, &n);
}

/* Operands joined by 'and', or by 'or' (one level of the precedence each). */
static int32_t
s_chain(struct rl_parser *p, enum rl_kw kw)
{
	const char *word = kw == RL_KW_AND ? "and" : "or";
	const struct rl_token *at = rl_peek(p), *op;
	int32_t left = kw == RL_KW_AND ? s_not(p) : s_chain(p, RL_KW_AND), right;
	struct rl_node node;

	while (left >= 0 && rl_peek(p)->kw == kw) {
		op = rl_next(p);
		if (s_want_bool(p, at, left, word) < 0)
			return -1;
		at = rl_peek(p);
		right = kw == RL_KW_AND ? s_not(p) : s_chain(p, RL_KW_AND);
		if (right < 0 || s_want_bool(p, at, right, word) < 0)
			return -1;
		node = (struct rl_node){ .op = kw == RL_KW_AND ? RL_AND : RL_OR, .type = RL_T_BOOL,
		                         .a = left, .b = right };
		left = rl_node_add(p, op, &node);
	}
	return left;
}

/* An expression: the lowest precedence is 'or'. */
int32_t
rl_expr(struct rl_parser *p)
{
	return s_chain(p, RL_KW_OR);
}
