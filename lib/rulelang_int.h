/*
 * Inside the rule language (lib/rulelang*.c): the tokens the lexer hands
 * the parser, the built-in names, and the compiled form a rule set keeps.
 * The compiled form is a typed expression tree in one flat array of nodes
 * (children are indexes), built once by the parser and only read by the
 * evaluator and the dump. Not for use outside lib/rulelang*.c.
 */
#ifndef GRIDWALL_RULELANG_INT_H
#define GRIDWALL_RULELANG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rulelang.h"

#define RL_LETS_MAX 256              /* lets in one set: each may take a cache slot */
#define RL_NEST_MAX 64               /* parentheses and nots inside one another */
#define RL_DEPTH_MAX 200             /* nodes on the longest path of a condition, through lets */
#define RL_FILE_MAX (1024 * 1024)    /* bytes in one rule file */
#define RL_TEXT_MAX 500              /* bytes in a reason or an action */
#define RL_NUMBER_MAX 1000000        /* largest number literal */
#define RL_DURATION_MAX 10000        /* largest count of hours or days */
#define RL_REGION_MAX 15             /* characters in a region code of region_in */
#define RL_SCALE 100                 /* numbers are fixed point in hundredths */
#define RL_UNKNOWN INT64_MIN         /* a number that is not known: comparisons are false */

/* What a token is. */
enum rl_tok {
	RL_TK_EOF,
	RL_TK_ERROR,                 /* the lexer stopped here; message in rl_lexed */
	RL_TK_NAME,
	RL_TK_NUMBER,
	RL_TK_STRING,
	RL_TK_LPAREN,
	RL_TK_RPAREN,
	RL_TK_COMMA,
	RL_TK_ASSIGN,
	RL_TK_EQ,
	RL_TK_NE,
	RL_TK_LT,
	RL_TK_LE,
	RL_TK_GT,
	RL_TK_GE,
};

/* The words with a meaning of their own; which ones bind depends on where they stand. */
enum rl_kw {
	RL_KW_NONE,
	RL_KW_LET,
	RL_KW_RULE,
	RL_KW_AND,
	RL_KW_OR,
	RL_KW_NOT,
	RL_KW_LEVEL,                 /* also the field level */
	RL_KW_REASON,
	RL_KW_ACTION,
	RL_KW_WHEN,
	RL_KW_OBSERVE,
	RL_KW_FOLLOW_UP,             /* also the channel follow_up */
	RL_KW_HOURS,
	RL_KW_DAYS,
};

/* One token: where it starts, its text as written, and for a number its value. */
struct rl_token {
	enum rl_tok kind;
	enum rl_kw kw;               /* names only */
	int line;
	int col;
	const char *text;            /* into the source; a string token includes its quotes */
	size_t len;
	int64_t num;                 /* numbers: value in hundredths */
	bool whole;                  /* numbers: written without decimals */
};

/* A lexed file: tokens up to and including RL_TK_EOF or RL_TK_ERROR. */
struct rl_lexed {
	struct rl_token *toks;
	size_t n;
	char error[256];             /* why the lexer stopped, for RL_TK_ERROR */
};

/* Lexes text; false only when out of memory. Lexing errors become an RL_TK_ERROR token. */
bool rl_lex(const char *text, size_t len, struct rl_lexed *out);
void rl_lexed_free(struct rl_lexed *lx);
/* Decodes a string token (quotes and escapes) into a new NUL-terminated string; NULL on OOM. */
char *rl_string_value(const struct rl_token *t);
/* "'name'", "'37.3'", "end of file": how an error message names a token; returns buf. */
const char *rl_token_describe(const struct rl_token *t, char *buf, size_t len);

/* The types of values. */
enum rl_type {
	RL_T_BOOL,
	RL_T_NUMBER,
	RL_T_DURATION,
	RL_T_LEVEL,
	RL_T_CONTACT,
	RL_T_CHANNEL,
	RL_T_SYMPTOM,
	RL_T_STRING,
};

/* What a node does. */
enum rl_op {
	RL_CONST,                    /* imm: bool, number, enum value, or duration count (unit) */
	RL_STR_CONST,                /* str */
	RL_TEMPERATURE,              /* number */
	RL_DAYS_SINCE_ARRIVAL,       /* number */
	RL_CHANNEL,
	RL_CONTACT,
	RL_LEVEL,
	RL_HOUSEHOLD_LEVEL,
	RL_UNDER_OBSERVATION,
	RL_ORIGIN,                   /* string */
	RL_ANY_SYMPTOM,              /* imm: mask of symptoms */
	RL_FROM_RISK_AREA,           /* imm: window in days */
	RL_REGION_IN,                /* a: first prefix, b: how many */
	RL_FEVERS_IN_LAST,           /* imm: window in seconds; unit and b: as written, for the dump */
	RL_NOT,                      /* a */
	RL_AND,                      /* a, b */
	RL_OR,                       /* a, b */
	RL_CMP,                      /* cmp, a, b: numbers, enums or bools */
	RL_STR_CMP,                  /* cmp (== or !=), a, b: strings */
	RL_LET,                      /* a: body, b: cache slot or -1, imm: index of the let */
};

enum rl_cmp { RL_EQ, RL_NE, RL_LT, RL_LE, RL_GT, RL_GE };
enum rl_unit { RL_UNIT_NONE, RL_UNIT_HOURS, RL_UNIT_DAYS };

/* One node of the compiled tree. */
struct rl_node {
	uint8_t op;                  /* enum rl_op */
	uint8_t type;                /* enum rl_type of its value */
	uint8_t cmp;                 /* enum rl_cmp */
	uint8_t unit;                /* enum rl_unit of a duration as written */
	int32_t a;
	int32_t b;
	int64_t imm;
	const char *str;
};

/* A region-code prefix of region_in. */
struct rl_prefix {
	const char *code;
	size_t len;
};

/* A named expression, per file. */
struct rl_let {
	char name[RULE_ID_MAX];
	int file;                    /* index into rule_set.files */
	int line;
	int32_t node;                /* its RL_LET node */
};

/* A let or a rule, in the order the files define them (for the dump). */
struct rl_item {
	bool is_let;
	int file;                    /* index into rule_set.files */
	uint32_t index;
};

struct rule_set {
	struct rule *rules;
	int32_t *whens;              /* the condition node of each rule */
	size_t nrules;
	size_t caprules;
	struct rl_node *nodes;
	uint16_t *depth;             /* longest path below each node, to bound evaluation */
	size_t nnodes;
	size_t capnodes;
	struct rl_let *lets;
	size_t nlets;
	size_t caplets;
	size_t ncache;               /* cache slots the evaluator needs */
	struct rl_prefix *prefixes;
	size_t nprefixes;
	size_t capprefixes;
	struct rl_item *items;
	size_t nitems;
	size_t capitems;
	char **files;                /* names of the files, in load order */
	size_t nfiles;
	size_t capfiles;
	char *source;                /* the files as read, each after "# file: NAME" */
	size_t nsource;
	size_t capsource;
	char **owned;                /* every string the set allocated */
	size_t nowned;
	size_t capowned;
};

/* What a built-in name is. */
enum rl_builtin_kind { RL_BI_FIELD, RL_BI_CONST, RL_BI_FUNC };

struct rl_builtin {
	const char *name;
	uint8_t kind;                /* enum rl_builtin_kind */
	uint8_t type;                /* enum rl_type: of the value, or a function's result */
	uint8_t op;                  /* enum rl_op of a field or a function */
	int value;                   /* a constant's value */
};

extern const struct rl_builtin rl_builtins[];
extern const size_t rl_nbuiltins;

/* The built-in called name (len bytes), or NULL. */
const struct rl_builtin *rl_builtin_find(const char *name, size_t len);
/* The name of a constant of type type with value, or NULL. */
const char *rl_const_name(enum rl_type type, int64_t value);
/* The name of a field's or function's op. */
const char *rl_op_name(enum rl_op op);
/* "bool", "number", ... */
const char *rl_type_name(enum rl_type type);
/* "==", "<", ... */
const char *rl_cmp_name(enum rl_cmp cmp);

/* Where the parser is in one file of a set (rulelang_parse.c, rulelang_expr.c). */
struct rl_parser {
	struct rule_set *rs;
	const char *file;            /* the file's name in errors */
	int file_index;
	const struct rl_lexed *lx;
	size_t pos;                  /* the next token */
	struct rule_error *err;
	int nest;                    /* parentheses and nots we are inside */
	const struct rl_token *defining;   /* the name of the let being parsed, or NULL */
};

/* The token about to be read. */
const struct rl_token *rl_peek(const struct rl_parser *p);
/* Reads a token; the last one (end of file or a lexing error) is never passed. */
const struct rl_token *rl_next(struct rl_parser *p);
/* Reports an error at t and returns -1; at a lexing error, the lexer's message. */
int rl_fail(struct rl_parser *p, const struct rl_token *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* arr, or arr moved to make room for element n of size bytes (capacity *cap); NULL on OOM. */
void *rl_room(void *arr, size_t n, size_t *cap, size_t size);
/* Hands a string to the set, which frees it; NULL (and s freed) on OOM. */
char *rl_own(struct rule_set *rs, char *s);
/* Keeps candidate in *best if it is a likely typo of name and nearer than *best (*dist). */
void rl_consider(const struct rl_token *name, const char *candidate, const char **best,
                 size_t *dist);
/* The let of the parser's file called t, or NULL. */
const struct rl_let *rl_find_let(const struct rl_parser *p, const struct rl_token *t);
/* Adds node n to the set's tree; its index, or -1 with the error at t (rulelang_expr.c). */
int32_t rl_node_add(struct rl_parser *p, const struct rl_token *t, const struct rl_node *n);
/* An expression, typed; its node, or -1 with the error reported (rulelang_expr.c). */
int32_t rl_expr(struct rl_parser *p);

/* Parses one file into rs (several files make one set); false with *err set on the first error. */
bool rl_parse_file(struct rule_set *rs, const char *name, const char *text, size_t len,
                   struct rule_error *err);
/* An empty set; NULL on OOM. */
struct rule_set *rl_set_new(void);
/* Fills *err; the message is printf-formatted. */
void rl_error(struct rule_error *err, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
