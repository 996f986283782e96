/*
 * The lexer of the rule language: turns a rule file into tokens, all at
 * once, so the parser can look ahead and search for a later let. Lines and
 * columns count from 1; a column counts characters, not bytes, so that a
 * Chinese reason string does not push the columns after it off. The first
 * thing the lexer cannot read ends the tokens with an RL_TK_ERROR token;
 * the parser reports it only if it gets that far, so the first error in
 * the file is the one reported.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rulelang_int.h"

/* Where the lexer is in the text. */
struct lexer {
	const char *p;
	const char *end;
	int line;
	int col;
	struct rl_lexed *out;
};

static const struct {
	const char *word;
	enum rl_kw kw;
} keywords[] = {
	{ "let", RL_KW_LET },         { "rule", RL_KW_RULE },
	{ "and", RL_KW_AND },         { "or", RL_KW_OR },
	{ "not", RL_KW_NOT },         { "level", RL_KW_LEVEL },
	{ "reason", RL_KW_REASON },   { "action", RL_KW_ACTION },
	{ "when", RL_KW_WHEN },       { "observe", RL_KW_OBSERVE },
	{ "follow_up", RL_KW_FOLLOW_UP },
	{ "hours", RL_KW_HOURS },     { "hour", RL_KW_HOURS },
	{ "days", RL_KW_DAYS },       { "day", RL_KW_DAYS },
};

/* The keyword a name is, or RL_KW_NONE. */
static enum rl_kw
s_keyword(const char *text, size_t len)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].word) == len && memcmp(keywords[i].word, text, len) == 0)
			return keywords[i].kw;
	return RL_KW_NONE;
}

/* Bytes in the valid UTF-8 sequence at p (1 to 4), or 0 if it is not one. */
static size_t
s_utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Moves past n bytes that hold no newline, counting characters into the column. */
static void
s_advance(struct lexer *lx, size_t n)
{
	for (size_t i = 0; i < n; i++, lx->p++)
		if (((unsigned char)*lx->p & 0xc0) != 0x80)
			lx->col++;
}

/* Appends a token; false on OOM. */
static bool
s_push(struct lexer *lx, const struct rl_token *t)
{
	struct rl_lexed *out = lx->out;

	if (out->n % 256 == 0) {
		struct rl_token *grown = realloc(out->toks, (out->n + 256) * sizeof(*grown));

		if (grown == NULL)
			return false;
		out->toks = grown;
	}
	out->toks[out->n++] = *t;
	return true;
}

/* Ends the tokens with an error at line:col; false on OOM. */
static bool __attribute__((format(printf, 4, 5)))
s_fail(struct lexer *lx, int line, int col, const char *fmt, ...)
{
	struct rl_token t = { .kind = RL_TK_ERROR, .line = line, .col = col, .text = lx->p };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lx->out->error, sizeof(lx->out->error), fmt, ap);
	va_end(ap);
	return s_push(lx, &t);
}

/* Is c an ASCII letter, digit or underscore, as names and numbers are made of. */
static bool
s_is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Copies the token text at p (len bytes) into buf for a message, cut short at a character. */
static void
s_quote(char *buf, size_t size, const char *p, size_t len)
{
	size_t n = len;

	if (n > 40) {
		n = 40;
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
	}
	snprintf(buf, size, "%.*s%s", (int)n, p, n < len ? "..." : "");
}

/* Lexes a name; 1 done, 0 error token pushed, -1 OOM. */
static int
s_name(struct lexer *lx, struct rl_token *t)
{
	const char *start = lx->p;
	char text[64];
	size_t len = 0;
	bool upper = false;

	while (start + len < lx->end && s_is_word(start[len])) {
		upper |= start[len] >= 'A' && start[len] <= 'Z';
		len++;
	}
	if (upper) {
		s_quote(text, sizeof(text), start, len);
		return s_fail(lx, t->line, t->col, "names are lower case: '%s'", text) ? 0 : -1;
	}
	t->kind = RL_TK_NAME;
	t->len = len;
	t->kw = s_keyword(start, len);
	s_advance(lx, len);
	return s_push(lx, t) ? 1 : -1;
}

/* Lexes a number: digits, then at most two decimals; 1 done, 0 error token pushed, -1 OOM. */
static int
s_number(struct lexer *lx, struct rl_token *t)
{
	const char *p = lx->p, *word = lx->p;
	int64_t whole = 0, frac = 0;
	size_t len = 0, ndec = 0;
	char text[64];
	bool big = false;

	while (word + len < lx->end && (s_is_word(word[len]) || word[len] == '.'))
		len++;
	s_quote(text, sizeof(text), word, len);
	if (*word == '.')
		return s_fail(lx, t->line, t->col, "bad number '%s': write 0%s", text, text) ? 0 : -1;
	for (; p < word + len && *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > RL_NUMBER_MAX) {
			big = true;
			whole = RL_NUMBER_MAX;
		}
	}
	if (p < word + len && *p == '.') {
		for (p++; p < word + len && *p >= '0' && *p <= '9'; p++, ndec++)
			if (ndec < 2)
				frac = frac * 10 + (*p - '0');
		if (ndec == 0 || p < word + len)
			return s_fail(lx, t->line, t->col, "bad number '%s'", text) ? 0 : -1;
		if (ndec > 2)
			return s_fail(lx, t->line, t->col,
			              "bad number '%s': at most two decimals", text) ? 0 : -1;
		if (ndec == 1)
			frac *= 10;
	}
	if (p < word + len || p == word)
		return s_fail(lx, t->line, t->col, "bad number '%s'", text) ? 0 : -1;
	if (big)
		return s_fail(lx, t->line, t->col, "bad number '%s': too large", text) ? 0 : -1;
	t->kind = RL_TK_NUMBER;
	t->len = len;
	t->num = whole * RL_SCALE + frac;
	t->whole = ndec == 0;
	s_advance(lx, len);
	return s_push(lx, t) ? 1 : -1;
}

/* Lexes a double-quoted string on one line; 1 done, 0 error token pushed, -1 OOM. */
static int
s_string(struct lexer *lx, struct rl_token *t)
{
	const char *start = lx->p;
	char esc[8];

	s_advance(lx, 1);
	for (;;) {
		size_t n;

		if (lx->p >= lx->end || *lx->p == '\n' || *lx->p == '\r')
			return s_fail(lx, t->line, t->col, "unterminated string") ? 0 : -1;
		if (*lx->p == '"')
			break;
		if (*lx->p == '\\') {
			if (lx->p + 1 < lx->end && (lx->p[1] == '"' || lx->p[1] == '\\')) {
				s_advance(lx, 2);
				continue;
			}
			n = lx->p + 1 < lx->end && lx->p[1] != '\n'
			        ? s_utf8_len((const unsigned char *)lx->p + 1,
			                     (const unsigned char *)lx->end)
			        : 0;
			snprintf(esc, sizeof(esc), "\\%.*s", (int)n, lx->p + 1);
			return s_fail(lx, lx->line, lx->col,
			              "unknown escape '%s' in string (only \\\" and \\\\)", esc) ? 0 : -1;
		}
		if ((unsigned char)*lx->p < 0x20 && *lx->p != '\t')
			return s_fail(lx, lx->line, lx->col, "control character in string") ? 0 : -1;
		n = s_utf8_len((const unsigned char *)lx->p, (const unsigned char *)lx->end);
		if (n == 0)
			return s_fail(lx, lx->line, lx->col, "invalid UTF-8 in string") ? 0 : -1;
		s_advance(lx, n);
	}
	s_advance(lx, 1);
	t->kind = RL_TK_STRING;
	t->len = (size_t)(lx->p - start);
	return s_push(lx, t) ? 1 : -1;
}

/* Lexes an operator or punctuation; 1 done, 0 error token pushed, -1 OOM. */
static int
s_punct(struct lexer *lx, struct rl_token *t)
{
	char c = *lx->p, next = lx->p + 1 < lx->end ? lx->p[1] : '\0';
	size_t len = 1;
	char text[16];

	switch (c) {
	case '(': t->kind = RL_TK_LPAREN; break;
	case ')': t->kind = RL_TK_RPAREN; break;
	case ',': t->kind = RL_TK_COMMA; break;
	case '=':
		t->kind = next == '=' ? RL_TK_EQ : RL_TK_ASSIGN;
		len = next == '=' ? 2 : 1;
		break;
	case '!':
		if (next != '=')
			return s_fail(lx, t->line, t->col,
			              "unexpected '!' (use 'not' to negate, '!=' for unequal)") ? 0 : -1;
		t->kind = RL_TK_NE;
		len = 2;
		break;
	case '<':
		t->kind = next == '=' ? RL_TK_LE : RL_TK_LT;
		len = next == '=' ? 2 : 1;
		break;
	case '>':
		t->kind = next == '=' ? RL_TK_GE : RL_TK_GT;
		len = next == '=' ? 2 : 1;
		break;
	default:
		len = s_utf8_len((const unsigned char *)lx->p, (const unsigned char *)lx->end);
		if (len == 0)
			snprintf(text, sizeof(text), "byte 0x%02x", (unsigned char)c);
		else if ((unsigned char)c < 0x20 || c == 0x7f)
			snprintf(text, sizeof(text), "U+%04X", (unsigned)c);
		else
			snprintf(text, sizeof(text), "'%.*s'", (int)len, lx->p);
		return s_fail(lx, t->line, t->col, "unexpected character %s", text) ? 0 : -1;
	}
	t->len = len;
	s_advance(lx, len);
	return s_push(lx, t) ? 1 : -1;
}

/* Turns the whole text into tokens, ending with end of file or the first lexing error. */
bool
rl_lex(const char *text, size_t len, struct rl_lexed *out)
{
	struct lexer lx = { text, text + len, 1, 1, out };
	struct rl_token t;
	int rc = 1;

	memset(out, 0, sizeof(*out));
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		lx.p += 3;        /* a byte order mark, as some editors write */
	while (rc == 1) {
		char c;

		if (lx.p >= lx.end) {
			t = (struct rl_token){ .kind = RL_TK_EOF, .line = lx.line, .col = lx.col,
			                       .text = lx.p };
			return s_push(&lx, &t);
		}
		c = *lx.p;
		if (c == '\n') {
			lx.p++;
			lx.line++;
			lx.col = 1;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			s_advance(&lx, 1);
			continue;
		}
		if (c == '#') {
			while (lx.p < lx.end && *lx.p != '\n')
				lx.p++;
			continue;
		}
		t = (struct rl_token){ .line = lx.line, .col = lx.col, .text = lx.p };
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
			rc = s_name(&lx, &t);
		else if ((c >= '0' && c <= '9') ||
		         (c == '.' && lx.p + 1 < lx.end && lx.p[1] >= '0' && lx.p[1] <= '9'))
			rc = s_number(&lx, &t);
		else if (c == '"')
			rc = s_string(&lx, &t);
		else
			rc = s_punct(&lx, &t);
	}
	return rc == 0;
}

/* Frees the tokens (the text they point into is the caller's). */
void
rl_lexed_free(struct rl_lexed *lx)
{
	free(lx->toks);
	lx->toks = NULL;
	lx->n = 0;
}

/* The value of a string token: the quotes dropped, \" and \\ unescaped. */
char *
rl_string_value(const struct rl_token *t)
{
	char *s = malloc(t->len), *q = s;

	if (s == NULL)
		return NULL;
	for (size_t i = 1; i + 1 < t->len; i++) {
		if (t->text[i] == '\\')
			i++;
		*q++ = t->text[i];
	}
	*q = '\0';
	return s;
}

/* Names a token for an error message, shortened when long. */
const char *
rl_token_describe(const struct rl_token *t, char *buf, size_t len)
{
	char text[64];

	switch (t->kind) {
	case RL_TK_EOF:
		snprintf(buf, len, "end of file");
		break;
	case RL_TK_STRING:
		s_quote(text, sizeof(text), t->text, t->len);
		snprintf(buf, len, "string %s", text);
		break;
	default:
		s_quote(text, sizeof(text), t->text, t->len);
		snprintf(buf, len, "'%s'", text);
		break;
	}
	return buf;
}
