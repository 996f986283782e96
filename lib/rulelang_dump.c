/*
 * The dump of a compiled rule set: what the parser understood, in the rule
 * language itself, so a person can read it and the golden tests can compare
 * it byte for byte. Operations below the top of a condition are put in
 * parentheses, which shows the precedence the parser applied; numbers,
 * durations and lists come out in one canonical spelling, and function
 * arguments as the compiler folded them (from_risk_area(48 hours) is
 * from_risk_area(2 days)).
 */
#include <inttypes.h>
#include <stdio.h>

#include "rulelang_int.h"

/* Prints a number kept in hundredths with as few decimals as it needs. */
static void
s_number(FILE *out, int64_t v)
{
	int64_t whole = v / RL_SCALE, frac = v % RL_SCALE;

	if (frac == 0)
		fprintf(out, "%" PRId64, whole);
	else if (frac % 10 == 0)
		fprintf(out, "%" PRId64 ".%" PRId64, whole, frac / 10);
	else
		fprintf(out, "%" PRId64 ".%02" PRId64, whole, frac);
}

/* Prints a count of hours or days. */
static void
s_duration(FILE *out, int64_t count, enum rl_unit unit)
{
	fprintf(out, "%" PRId64 " %s%s", count, unit == RL_UNIT_HOURS ? "hour" : "day",
	        count == 1 ? "" : "s");
}

/* Prints a string in double quotes, escaping what the lexer unescapes. */
static void
s_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* Prints a constant by its type. */
static void
s_const(FILE *out, const struct rl_node *n)
{
	const char *name;

	switch ((enum rl_type)n->type) {
	case RL_T_NUMBER:
		s_number(out, n->imm);
		break;
	case RL_T_DURATION:
		s_duration(out, n->imm, (enum rl_unit)n->unit);
		break;
	default:
		name = rl_const_name((enum rl_type)n->type, n->imm);
		fputs(name != NULL ? name : "?", out);
		break;
	}
}

/* Prints a call with its folded arguments. */
static void
s_call(FILE *out, const struct rule_set *rs, const struct rl_node *n)
{
	const char *sep = "";

	fprintf(out, "%s(", rl_op_name((enum rl_op)n->op));
	switch ((enum rl_op)n->op) {
	case RL_ANY_SYMPTOM:
		for (int64_t s = 0; s < 32; s++) {
			if (n->imm & ((int64_t)1 << s)) {
				fprintf(out, "%s%s", sep, rl_const_name(RL_T_SYMPTOM, s));
				sep = ", ";
			}
		}
		break;
	case RL_FROM_RISK_AREA:
		s_duration(out, n->imm, RL_UNIT_DAYS);
		break;
	case RL_FEVERS_IN_LAST:
		s_duration(out, n->b, (enum rl_unit)n->unit);
		break;
	case RL_REGION_IN:
		for (int32_t i = 0; i < n->b; i++) {
			fputs(sep, out);
			s_string(out, rs->prefixes[n->a + i].code);
			sep = ", ";
		}
		break;
	default:
		break;
	}
	fputc(')', out);
}

static void s_expr(FILE *out, const struct rule_set *rs, int32_t i, int parent);

/* How many operands a chain of one operator (and, or) has, from node i down. */
static size_t
s_chain_length(const struct rule_set *rs, int32_t i, uint8_t op)
{
	const struct rl_node *n = &rs->nodes[i];

	return n->op == op ? s_chain_length(rs, n->a, op) + s_chain_length(rs, n->b, op) : 1;
}

/* Prints the operands of a chain of op from node i, sep between them. */
static void
s_chain(FILE *out, const struct rule_set *rs, int32_t i, uint8_t op, const char *sep)
{
	const struct rl_node *n = &rs->nodes[i];

	if (n->op != op) {
		s_expr(out, rs, i, op);
		return;
	}
	s_chain(out, rs, n->a, op, sep);
	fputs(sep, out);
	s_chain(out, rs, n->b, op, sep);
}

/*
 * Prints expression i inside an operation parent (-1 at the top). Every
 * operation below the top goes in parentheses, except an and inside an
 * and and an or inside an or, where grouping does not change the meaning.
 */
static void
s_expr(FILE *out, const struct rule_set *rs, int32_t i, int parent)
{
	const struct rl_node *n = &rs->nodes[i];
	bool parens = parent >= 0 && !((n->op == RL_AND || n->op == RL_OR) && n->op == parent);
	char sep[16];

	switch ((enum rl_op)n->op) {
	case RL_CONST:
		s_const(out, n);
		return;
	case RL_STR_CONST:
		s_string(out, n->str);
		return;
	case RL_LET:
		fputs(rs->lets[n->imm].name, out);
		return;
	case RL_ANY_SYMPTOM:
	case RL_FROM_RISK_AREA:
	case RL_REGION_IN:
	case RL_FEVERS_IN_LAST:
		s_call(out, rs, n);
		return;
	case RL_NOT:
		fputs(parens ? "(not " : "not ", out);
		s_expr(out, rs, n->a, n->op);
		fputs(parens ? ")" : "", out);
		return;
	case RL_AND:
	case RL_OR:
		/* a long condition at the top gets one operand a line */
		snprintf(sep, sizeof(sep), "%s%s ",
		         parent < 0 && s_chain_length(rs, i, n->op) > 3 ? "\n        " : " ",
		         n->op == RL_AND ? "and" : "or");
		fputs(parens ? "(" : "", out);
		s_chain(out, rs, i, n->op, sep);
		fputs(parens ? ")" : "", out);
		return;
	case RL_CMP:
	case RL_STR_CMP:
		fputs(parens ? "(" : "", out);
		s_expr(out, rs, n->a, n->op);
		fprintf(out, " %s ", rl_cmp_name((enum rl_cmp)n->cmp));
		s_expr(out, rs, n->b, n->op);
		fputs(parens ? ")" : "", out);
		return;
	default:
		fputs(rl_op_name((enum rl_op)n->op), out);   /* a field */
		return;
	}
}

/* Prints one rule with its clauses in the documented order. */
static void
s_rule(FILE *out, const struct rule_set *rs, size_t i)
{
	const struct rule *r = &rs->rules[i];

	fprintf(out, "rule %s  # line %d\n", r->id, r->line);
	fprintf(out, "    level %s\n", rl_const_name(RL_T_LEVEL, r->level));
	fputs("    reason ", out);
	s_string(out, r->reason);
	fputs("\n    action ", out);
	s_string(out, r->action);
	fputc('\n', out);
	if (r->observe_days > 0) {
		fputs("    observe ", out);
		s_duration(out, r->observe_days, RL_UNIT_DAYS);
		fputc('\n', out);
	}
	if (r->follow_up_hours > 0) {
		fputs("    follow_up ", out);
		s_duration(out, r->follow_up_hours, RL_UNIT_HOURS);
		fputc('\n', out);
	}
	fputs("    when ", out);
	s_expr(out, rs, rs->whens[i], -1);
	fputc('\n', out);
}

/* Prints the lets and rules in the order the files define them, a header before each file. */
void
rule_set_dump(const struct rule_set *rs, FILE *out)
{
	int file = -1;
	bool after_rule = false;

	if (rs == NULL)
		return;
	fprintf(out, "# %zu rules, %zu lets\n", rs->nrules, rs->nlets);
	for (size_t k = 0; k < rs->nitems; k++) {
		const struct rl_item *it = &rs->items[k];

		if (it->file != file) {
			file = it->file;
			fprintf(out, "\n# file %s\n", rs->files[file]);
			after_rule = false;
		}
		if (it->is_let) {
			const struct rl_let *let = &rs->lets[it->index];

			if (after_rule)
				fputc('\n', out);
			fprintf(out, "let %s = ", let->name);
			s_expr(out, rs, rs->nodes[let->node].a, -1);
			fprintf(out, "  # line %d\n", let->line);
			after_rule = false;
		} else {
			fputc('\n', out);
			s_rule(out, rs, it->index);
			after_rule = true;
		}
	}
}
