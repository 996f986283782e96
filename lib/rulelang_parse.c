/*
 * The parser of the rule language, file level: lets, rules and their
 * clauses, and the tools the expression parser (rulelang_expr.c) shares:
 * reading tokens, reporting the first error, growing the set's arrays,
 * suggesting a near name. Each file is lexed whole, then read by recursive
 * descent straight into the set's compiled form; the first error stops it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridwall/v1/gridwall.pb-c.h"
#include "rulelang_int.h"

/* A clause of a rule, indexing the line it was first seen on. */
enum clause { C_LEVEL, C_REASON, C_ACTION, C_WHEN, C_OBSERVE, C_FOLLOW_UP, C_COUNT };

static const char *const clause_names[C_COUNT] = {
	"level", "reason", "action", "when", "observe", "follow_up",
};

/* The token about to be read. */
const struct rl_token *
rl_peek(const struct rl_parser *p)
{
	return &p->lx->toks[p->pos];
}

/* Reads a token; the last one (end of file or a lexing error) is never passed. */
const struct rl_token *
rl_next(struct rl_parser *p)
{
	const struct rl_token *t = &p->lx->toks[p->pos];

	if (p->pos + 1 < p->lx->n)
		p->pos++;
	return t;
}

/*
 * Reports an error at t and returns -1. At a token the lexer could not
 * read, the lexer's own message is what is wrong there, whatever the
 * parser expected.
 */
int
rl_fail(struct rl_parser *p, const struct rl_token *t, const char *fmt, ...)
{
	va_list ap;

	if (t->kind == RL_TK_ERROR) {
		rl_error(p->err, p->file, t->line, t->col, "%s", p->lx->error);
		return -1;
	}
	rl_error(p->err, p->file, t->line, t->col, "%s", "");
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* arr, or arr moved to make room for element n of size bytes (capacity *cap); NULL on OOM. */
void *
rl_room(void *arr, size_t n, size_t *cap, size_t size)
{
	size_t want = *cap ? *cap * 2 : 16;
	void *grown;

	if (n < *cap)
		return arr;
	if ((grown = realloc(arr, want * size)) != NULL)
		*cap = want;
	return grown;
}

/* Hands a string to the set, which frees it; NULL (and s freed) on OOM. */
char *
rl_own(struct rule_set *rs, char *s)
{
	char **owned = s == NULL ? NULL : rl_room(rs->owned, rs->nowned, &rs->capowned, sizeof(*owned));

	if (owned == NULL) {
		free(s);
		return NULL;
	}
	rs->owned = owned;
	rs->owned[rs->nowned++] = s;
	return s;
}

/* The edit distance of a and b, or a large number when either is too long to matter. */
static size_t
s_distance(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t row[RULE_ID_MAX + 1];

	if (alen > RULE_ID_MAX || blen > RULE_ID_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= blen; j++)
		row[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[blen];
}

/* Keeps candidate in *best if it is nearer to name than what *best holds. */
void
rl_consider(const struct rl_token *name, const char *candidate, const char **best, size_t *dist)
{
	size_t d = s_distance(name->text, name->len, candidate, strlen(candidate));

	/* one typo in a short name, two in a longer one */
	if (d < *dist && d <= (name->len <= 4 ? 1u : 2u) && d < name->len) {
		*best = candidate;
		*dist = d;
	}
}

/* The let of this file called t, or NULL. */
const struct rl_let *
rl_find_let(const struct rl_parser *p, const struct rl_token *t)
{
	for (size_t i = 0; i < p->rs->nlets; i++) {
		const struct rl_let *let = &p->rs->lets[i];

		if (let->file == p->file_index && strlen(let->name) == t->len &&
		    memcmp(let->name, t->text, t->len) == 0)
			return let;
	}
	return NULL;
}

/* Checks the name of a new let or rule; what is "let name" or "rule id". */
static int
s_check_name(struct rl_parser *p, const struct rl_token *t, const char *what)
{
	char desc[64];

	if (t->kind != RL_TK_NAME)
		return rl_fail(p, t, "expected a %s, got %s", what,
		               rl_token_describe(t, desc, sizeof(desc)));
	if (t->kw != RL_KW_NONE)
		return rl_fail(p, t, "'%.*s' is a keyword, not a %s", (int)t->len, t->text, what);
	if (rl_builtin_find(t->text, t->len) != NULL)
		return rl_fail(p, t, "'%.*s' is a built-in name; choose another %s", (int)t->len,
		               t->text, what);
	if (t->len >= RULE_ID_MAX)
		return rl_fail(p, t, "%s longer than %d characters", what, RULE_ID_MAX - 1);
	return 0;
}

/* Records a let or a rule in file order, for the dump. */
static int
s_item(struct rl_parser *p, const struct rl_token *t, bool is_let, size_t index)
{
	struct rule_set *rs = p->rs;
	struct rl_item *items = rl_room(rs->items, rs->nitems, &rs->capitems, sizeof(*items));

	if (items == NULL)
		return rl_fail(p, t, "out of memory");
	rs->items = items;
	rs->items[rs->nitems++] = (struct rl_item){ is_let, p->file_index, (uint32_t)index };
	return 0;
}

/* Is node n worth caching: it computes something, rather than reading a field or a constant. */
static bool
s_worth_caching(const struct rl_node *n)
{
	return n->op == RL_ANY_SYMPTOM || n->op == RL_FROM_RISK_AREA || n->op == RL_REGION_IN ||
	       n->op == RL_FEVERS_IN_LAST || n->op == RL_NOT || n->op == RL_AND ||
	       n->op == RL_OR || n->op == RL_CMP || n->op == RL_STR_CMP;
}

/* let NAME = EXPR */
static int
s_let(struct rl_parser *p)
{
	struct rule_set *rs = p->rs;
	const struct rl_token *kw = rl_next(p), *name = rl_next(p);
	const struct rl_let *old;
	struct rl_node n = { .op = RL_LET, .b = -1 };
	struct rl_let let = { .file = p->file_index, .line = kw->line }, *lets;
	char what[64];
	int32_t body, node;

	if (s_check_name(p, name, "let name") < 0)
		return -1;
	if ((old = rl_find_let(p, name)) != NULL)
		return rl_fail(p, name, "duplicate let '%s' (first on line %d)", old->name, old->line);
	if (rs->nlets >= RL_LETS_MAX)
		return rl_fail(p, name, "too many lets (at most %d)", RL_LETS_MAX);
	if (rl_peek(p)->kind != RL_TK_ASSIGN)
		return rl_fail(p, rl_peek(p), "expected '=' after 'let %.*s', got %s", (int)name->len,
		               name->text, rl_token_describe(rl_peek(p), what, sizeof(what)));
	rl_next(p);
	p->defining = name;
	body = rl_expr(p);
	p->defining = NULL;
	if (body < 0)
		return -1;
	n.a = body;
	n.type = rs->nodes[body].type;
	n.imm = (int64_t)rs->nlets;
	if (s_worth_caching(&rs->nodes[body]))
		n.b = (int32_t)rs->ncache++;
	if ((node = rl_node_add(p, name, &n)) < 0)
		return -1;
	memcpy(let.name, name->text, name->len);
	let.node = node;
	if ((lets = rl_room(rs->lets, rs->nlets, &rs->caplets, sizeof(*lets))) == NULL)
		return rl_fail(p, name, "out of memory");
	rs->lets = lets;
	rs->lets[rs->nlets] = let;
	return s_item(p, name, true, rs->nlets++);
}

/* The clause a token starts, or C_COUNT. */
static enum clause
s_clause_of(const struct rl_token *t)
{
	switch (t->kw) {
	case RL_KW_LEVEL: return C_LEVEL;
	case RL_KW_REASON: return C_REASON;
	case RL_KW_ACTION: return C_ACTION;
	case RL_KW_WHEN: return C_WHEN;
	case RL_KW_OBSERVE: return C_OBSERVE;
	case RL_KW_FOLLOW_UP: return C_FOLLOW_UP;
	default: return C_COUNT;
	}
}

/* level attention | key_person | high */
static int
s_clause_level(struct rl_parser *p, struct rule *r)
{
	const struct rl_token *t = rl_next(p);
	const struct rl_builtin *b = t->kind == RL_TK_NAME ? rl_builtin_find(t->text, t->len) : NULL;
	char what[64];

	if (b == NULL || b->kind != RL_BI_CONST || b->type != RL_T_LEVEL ||
	    b->value == GRIDWALL__V1__RISK_LEVEL__NORMAL)
		return rl_fail(p, t, "a rule's level is attention, key_person or high, not %s",
		               rl_token_describe(t, what, sizeof(what)));
	r->level = b->value;
	return 0;
}

/* reason "..." and action "...": text for people, not empty, at most max bytes. */
static int
s_clause_text(struct rl_parser *p, const char *clause, size_t max, const char **out)
{
	const struct rl_token *t = rl_next(p);
	char what[64], *s;

	if (t->kind != RL_TK_STRING)
		return rl_fail(p, t, "expected the %s in double quotes, got %s", clause,
		               rl_token_describe(t, what, sizeof(what)));
	if ((s = rl_own(p->rs, rl_string_value(t))) == NULL)
		return rl_fail(p, t, "out of memory");
	if (s[0] == '\0')
		return rl_fail(p, t, "empty %s", clause);
	if (strlen(s) > max)
		return rl_fail(p, t, "%s longer than %zu bytes", clause, max);
	*out = s;
	return 0;
}

/* observe N days, follow_up N hours or N days: a whole count of at least 1; the hours or days. */
static int
s_clause_period(struct rl_parser *p, enum clause c, int *out)
{
	const struct rl_token *t = rl_next(p), *unit = rl_peek(p);
	const char *example = c == C_OBSERVE ? "observe 14 days" : "follow_up 24 hours";
	bool days_only = c == C_OBSERVE;

	if (t->kind != RL_TK_NUMBER || !t->whole || t->num < RL_SCALE ||
	    (unit->kw != RL_KW_DAYS && (days_only || unit->kw != RL_KW_HOURS)))
		return rl_fail(p, t->kind == RL_TK_NUMBER && t->whole && t->num >= RL_SCALE ? unit : t,
		               "%s takes a whole number of %s, e.g. %s", clause_names[c],
		               days_only ? "days" : "hours or days", example);
	rl_next(p);
	if (t->num / RL_SCALE > RL_DURATION_MAX)
		return rl_fail(p, t, "duration too long (at most %d hours or days)", RL_DURATION_MAX);
	*out = (int)(t->num / RL_SCALE);
	if (c == C_FOLLOW_UP && unit->kw == RL_KW_DAYS)
		*out *= 24;
	return 0;
}

/* One clause of r, after its keyword. */
static int
s_clause(struct rl_parser *p, enum clause c, struct rule *r, int32_t *when)
{
	const struct rl_token *at;

	switch (c) {
	case C_LEVEL:
		return s_clause_level(p, r);
	case C_REASON:
		return s_clause_text(p, "reason", RL_TEXT_MAX, &r->reason);
	case C_ACTION:
		return s_clause_text(p, "action", RULE_ACTION_MAX, &r->action);
	case C_WHEN:
		at = rl_peek(p);
		if ((*when = rl_expr(p)) < 0)
			return -1;
		if (p->rs->nodes[*when].type != RL_T_BOOL)
			return rl_fail(p, at, "'when' needs a condition (a bool), not a %s",
			               rl_type_name((enum rl_type)p->rs->nodes[*when].type));
		return 0;
	case C_OBSERVE:
		return s_clause_period(p, c, &r->observe_days);
	case C_FOLLOW_UP:
		return s_clause_period(p, c, &r->follow_up_hours);
	default:
		return -1;
	}
}

/* After the clauses of a rule: what ends it must be the next rule, a let or the end. */
static int
s_rule_end(struct rl_parser *p)
{
	const struct rl_token *t = rl_peek(p);
	const char *best = NULL;
	size_t dist = SIZE_MAX;
	char what[64];

	if (t->kind == RL_TK_EOF || t->kw == RL_KW_RULE || t->kw == RL_KW_LET)
		return 0;
	if (t->kind == RL_TK_NAME)
		for (int c = 0; c < C_COUNT; c++)
			rl_consider(t, clause_names[c], &best, &dist);
	if (best != NULL)
		return rl_fail(p, t, "unknown clause '%.*s' (did you mean '%s'?)", (int)t->len, t->text,
		               best);
	return rl_fail(p, t, "expected a clause (level, reason, action, when, observe, follow_up), "
	               "'rule' or 'let', got %s", rl_token_describe(t, what, sizeof(what)));
}

/* rule ID, then its clauses in any order, each at most once. */
static int
s_rule(struct rl_parser *p)
{
	struct rule_set *rs = p->rs;
	const struct rl_token *kw = rl_next(p), *id = rl_next(p);
	int seen[C_COUNT] = { 0 };
	struct rule r = { .line = kw->line };
	int32_t when = -1;
	int found;
	enum clause c;

	if (s_check_name(p, id, "rule id") < 0)
		return -1;
	memcpy(r.id, id->text, id->len);
	if ((found = rule_set_find(rs, r.id)) >= 0)
		return rl_fail(p, id, "duplicate rule id '%s' (first defined at %s:%d)", r.id,
		               rs->rules[found].file, rs->rules[found].line);
	if (rs->nrules >= RULES_MAX)
		return rl_fail(p, id, "too many rules (at most %d)", RULES_MAX);
	while ((c = s_clause_of(rl_peek(p))) != C_COUNT) {
		const struct rl_token *t = rl_next(p);

		if (seen[c])
			return rl_fail(p, t, "duplicate clause '%s' in rule '%s' (first on line %d)",
			               clause_names[c], r.id, seen[c]);
		seen[c] = t->line;
		if (s_clause(p, c, &r, &when) < 0)
			return -1;
	}
	if (s_rule_end(p) < 0)
		return -1;
	for (c = C_LEVEL; c <= C_WHEN; c++)
		if (!seen[c])
			return rl_fail(p, id, "rule '%s' has no '%s' clause", r.id, clause_names[c]);
	snprintf(r.file, sizeof(r.file), "%s", p->file);
	if (rs->nrules == rs->caprules) {
		size_t want = rs->caprules ? rs->caprules * 2 : 16;
		struct rule *rules = realloc(rs->rules, want * sizeof(*rules));
		int32_t *whens;

		if (rules == NULL)
			return rl_fail(p, id, "out of memory");
		rs->rules = rules;
		if ((whens = realloc(rs->whens, want * sizeof(*whens))) == NULL)
			return rl_fail(p, id, "out of memory");
		rs->whens = whens;
		rs->caprules = want;
	}
	rs->rules[rs->nrules] = r;
	rs->whens[rs->nrules] = when;
	return s_item(p, id, false, rs->nrules++);
}

/* Appends a file's text to the set's source, after a line naming it; false on OOM. */
static bool
s_keep_source(struct rule_set *rs, const char *name, const char *text, size_t len)
{
	static const char head[] = "# file: ";
	bool newline = len > 0 && text[len - 1] != '\n';
	size_t need = rs->nsource + sizeof(head) + strlen(name) + 1 + len + newline + 1;
	char *s = rs->source;

	if (need > rs->capsource) {
		size_t want = rs->capsource ? rs->capsource : 4096;

		while (want < need)
			want *= 2;
		if ((s = realloc(rs->source, want)) == NULL)
			return false;
		rs->source = s;
		rs->capsource = want;
	}
	s += rs->nsource;
	s += sprintf(s, "%s%s\n", head, name);
	memcpy(s, text, len);
	s += len;
	if (newline)
		*s++ = '\n';
	*s = '\0';
	rs->nsource = (size_t)(s - rs->source);
	return true;
}

/* Lexes and parses one file into rs: lets and rules until the end, or the first error. */
bool
rl_parse_file(struct rule_set *rs, const char *name, const char *text, size_t len,
              struct rule_error *err)
{
	struct rl_lexed lx;
	struct rl_parser p = { .rs = rs, .file = name, .lx = &lx, .err = err };
	char *copy = strdup(name);
	char **files = copy == NULL ? NULL : rl_room(rs->files, rs->nfiles, &rs->capfiles, sizeof(*files));
	int rc = 0;

	if (files == NULL) {
		free(copy);
		rl_error(err, name, 0, 0, "out of memory");
		return false;
	}
	rs->files = files;
	p.file_index = (int)rs->nfiles;
	rs->files[rs->nfiles++] = copy;
	if (!s_keep_source(rs, name, text, len)) {
		rl_error(err, name, 0, 0, "out of memory");
		return false;
	}
	if (!rl_lex(text, len, &lx)) {
		rl_lexed_free(&lx);
		rl_error(err, name, 0, 0, "out of memory");
		return false;
	}
	while (rc == 0 && rl_peek(&p)->kind != RL_TK_EOF) {
		const struct rl_token *t = rl_peek(&p);
		char what[64];

		if (t->kw == RL_KW_LET)
			rc = s_let(&p);
		else if (t->kw == RL_KW_RULE)
			rc = s_rule(&p);
		else
			rc = rl_fail(&p, t, "expected 'rule' or 'let', got %s",
			             rl_token_describe(t, what, sizeof(what)));
	}
	rl_lexed_free(&lx);
	return rc == 0;
}
