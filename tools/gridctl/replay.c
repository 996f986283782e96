/*
 * gridctl rules replay: what if the candidate rules had been live? The
 * stored screenings of some local days are run, in id order as rulesd ran
 * them, through two person-state machines (lib/assess.h) that both start
 * empty: one with the live rules, one with the candidate. For each person
 * the highest level reached under each set is kept with the rules that
 * gave it, and the two are compared.
 *
 * Nothing is written and nothing of rulesd's state is read: the replay
 * runs in one read-only transaction, so all its pages see one snapshot.
 * Screenings are read in pages by id (keyset), so memory grows with the
 * persons flagged, not with the screenings read. Time alone moves nothing
 * here: releases at the end of an observation and overdue follow-ups are
 * not replayed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "assess.h"
#include "civil.h"
#include "codec.h"
#include "gridctl.h"
#include "idcard.h"
#include "idmap.h"
#include "risk.h"
#include "rulelang.h"
#include "screening.h"

#define REPLAY_CMD "rules replay"
#define REPLAY_PAGE 10000                 /* screenings read at a time */
#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)
#define REPLAY_DEFAULT_LIMIT 100
#define REPLAY_LOOKUP_BATCH 1000          /* persons asked for at a time */
#define REPLAY_DISTRICT_LEN 6             /* a district is a 6-digit code prefix */
#define REPLAY_NAME_MAX 300

enum { LIVE, CANDIDATE, NSETS };

struct replay_opts {
	const char *rules;
	const char *live;
	const char *area;
	const char *conninfo;
	int64_t from;                     /* local days, both included */
	int64_t to;
	const char *from_text;
	const char *to_text;
	bool json;
	long limit;                       /* persons listed, 0: all */
};

/* One rule set and the states it gives. */
struct replay_set {
	struct rule_set *rules;
	char name[REPLAY_NAME_MAX];       /* a path, or "live rules (loaded ...)" */
	struct assess state;
	long at_level[ASSESS_LEVELS];     /* persons by highest level */
};

/* A person flagged under either set: the highest level under each, and why. */
struct replay_person {
	int64_t person_id;
	char grid[AREA_CODE_MAX];         /* where first flagged */
	uint8_t level[NSETS];
	uint64_t rules[NSETS][RULES_MAX / 64];  /* the rules at that level, by index */
};

/* What the persons listed show besides the ids: from persons. */
struct replay_info {
	int64_t person_id;
	char *name;
	char *id_number;
};

/* Persons flagged differently in one district. */
struct replay_district {
	char code[REPLAY_DISTRICT_LEN + 1];
	char *name;
	long persons;
	long raised;                      /* higher under the candidate */
	long lowered;                     /* lower under the candidate */
	long other_rules;                 /* same level, other rules */
};

struct replay {
	struct replay_opts opt;
	PGconn *conn;
	struct risk_registry risk;
	struct replay_set sets[NSETS];
	struct replay_person *persons;
	size_t npersons, cap_persons;
	struct idmap person_ix;
	long screenings;
	/* the outcome */
	uint32_t *diff;                   /* slots of the persons flagged differently, by person id */
	size_t ndiff;
	struct replay_district *districts;
	size_t ndistricts;
	struct replay_info *info;         /* of the first nlisted of diff */
	size_t nlisted;
};

/* $1 after this id, $2 and $3 the Unix times the days start and end (exclusive), $4 area prefix. */
static const char s_page_sql[] =
	"SELECT " SCREENING_COLUMNS
	"  FROM screenings s"
	" WHERE s.id > $1::bigint"
	"   AND s.screened_at >= to_timestamp($2) AND s.screened_at < to_timestamp($3)"
	"   AND s.grid_code LIKE $4 || '%'"
	" ORDER BY s.id LIMIT " S_XSTR(REPLAY_PAGE);

/* What the list shows of the persons flagged differently. */
static const char s_persons_sql[] =
	"SELECT id, name, id_number FROM persons WHERE id = ANY($1::bigint[])";

/* The names of the districts. */
static const char s_districts_sql[] =
	"SELECT code, name FROM areas WHERE code = ANY($1::text[])";

/* Takes one option of REPLAY_CMD. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	struct replay_opts *opt = p;

	switch (code) {
	case 'r':
		opt->rules = arg;
		return true;
	case 'f':
		opt->from_text = arg;
		return civil_parse(arg, &opt->from);
	case 't':
		opt->to_text = arg;
		return civil_parse(arg, &opt->to);
	case 'L':
		opt->live = arg;
		return true;
	case 'a':
		opt->area = arg;
		return gridctl_area_ok(arg);
	case 'd':
		opt->conninfo = arg;
		return true;
	case 'j':
		opt->json = true;
		return true;
	case 'l':
		return gridctl_parse_long(arg, 0, 1000000000, &opt->limit);
	}
	return false;
}

/* Reads the options after "replay"; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct replay_opts *opt)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "live", required_argument, NULL, 'L' },
		{ "area", required_argument, NULL, 'a' },
		{ "database", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int rc = gridctl_options(REPLAY_CMD, argc, argv, longopts, s_set_opt, opt, NULL);

	if (rc >= 0)
		return rc;
	if (opt->rules == NULL || opt->from_text == NULL || opt->to_text == NULL)
		gridctl_err(REPLAY_CMD, "--rules, --from and --to are required");
	else if (opt->from > opt->to)
		gridctl_err(REPLAY_CMD, "--from %s is after --to %s", opt->from_text, opt->to_text);
	else
		return -1;
	return gridctl_usage(REPLAY_CMD, stderr, GRIDCTL_EXIT_USAGE);
}

/* Loads a rule file or folder the command line names; the exit status. */
static int
s_load_file(struct replay_set *set, const char *what, const char *path)
{
	struct rule_error err;
	char msg[sizeof(err.file) + sizeof(err.message) + 32];

	set->rules = rule_set_load(path, &err);
	if (set->rules == NULL) {
		rule_error_format(&err, msg, sizeof(msg));
		gridctl_err(REPLAY_CMD, "%s rules: %s", what, msg);
		return GRIDCTL_EXIT_USAGE;
	}
	snprintf(set->name, sizeof(set->name), "%s", path);
	return GRIDCTL_EXIT_OK;
}

/* Runs a query with text parameters; the result, or NULL (reported). */
static PGresult *
s_query(struct replay *r, const char *what, const char *sql, int n, const char *const *params)
{
	return history_query(r->conn, REPLAY_CMD, what, sql, n, params);
}

/* The entry of a person, created unflagged if new. */
static struct replay_person *
s_person(struct replay *r, const struct screening *s)
{
	uint32_t slot = idmap_get(&r->person_ix, s->person_id);
	struct replay_person *p;

	if (slot != IDMAP_NONE)
		return &r->persons[slot];
	if (r->npersons == r->cap_persons) {
		size_t cap = r->cap_persons ? r->cap_persons * 2 : 1024;
		void *grown = realloc(r->persons, cap * sizeof(*r->persons));

		if (grown == NULL)
			gridctl_oom(REPLAY_CMD);
		r->persons = grown;
		r->cap_persons = cap;
	}
	slot = (uint32_t)r->npersons;
	if (!idmap_put(&r->person_ix, s->person_id, slot))
		gridctl_oom(REPLAY_CMD);
	p = &r->persons[r->npersons++];
	memset(p, 0, sizeof(*p));
	p->person_id = s->person_id;
	memcpy(p->grid, s->grid_code, sizeof(p->grid));
	return p;
}

/* Notes a person's new highest level under one set, with the rules at that level. */
static void
s_note(struct replay *r, int k, const struct screening *s, const struct assessment *out)
{
	uint32_t slot = idmap_get(&r->person_ix, s->person_id);
	const struct rule_set *rules = r->sets[k].rules;
	struct replay_person *p;

	if (out->new_level <= GRIDWALL__V1__RISK_LEVEL__NORMAL)
		return;
	if (slot != IDMAP_NONE && r->persons[slot].level[k] >= out->new_level)
		return;
	p = s_person(r, s);
	p->level[k] = (uint8_t)out->new_level;
	memset(p->rules[k], 0, sizeof(p->rules[k]));
	for (size_t i = 0; i < out->nfired; i++) {
		unsigned ix = out->fired[i];

		if (ix < RULES_MAX && rule_set_rule(rules, ix)->level == out->new_level)
			p->rules[k][ix / 64] |= UINT64_C(1) << (ix % 64);
	}
}

/* Runs one screening through both sets; false when memory is short. */
static bool
s_replay_one(struct replay *r, const struct screening *s)
{
	struct assessment out;

	for (int k = 0; k < NSETS; k++) {
		struct replay_set *set = &r->sets[k];

		if (!assess_screening(&set->state, set->rules, &r->risk, s, &out))
			return false;
		s_note(r, k, s, &out);
	}
	return true;
}

/* Reads and replays the screenings page by page; false (reported) on failure. */
static bool
s_replay_all(struct replay *r)
{
	char after[24] = "0", start[24], end[24];
	const char *params[4] = { after, start, end, r->opt.area };
	struct screening s;

	snprintf(start, sizeof(start), "%lld", (long long)gridctl_local_day_start(r->opt.from));
	snprintf(end, sizeof(end), "%lld", (long long)gridctl_local_day_start(r->opt.to + 1));
	for (;;) {
		PGresult *res = s_query(r, "reading screenings", s_page_sql, 4, params);
		int n;

		if (res == NULL)
			return false;
		n = PQntuples(res);
		for (int k = 0; k < NSETS; k++)
			assess_begin(&r->sets[k].state);
		for (int i = 0; i < n; i++) {
			screening_from_row(res, i, &s);
			if (!s_replay_one(r, &s)) {
				PQclear(res);
				gridctl_oom(REPLAY_CMD);
			}
		}
		for (int k = 0; k < NSETS; k++)
			assess_commit(&r->sets[k].state);
		r->screenings += n;
		if (n > 0)
			snprintf(after, sizeof(after), "%lld", (long long)s.id);
		PQclear(res);
		if (n < REPLAY_PAGE)
			return true;
	}
}

/* ---- comparing ---- */

/* Orders rule ids. */
static int
s_cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The ids of a person's rules under one set, sorted; how many. */
static size_t
s_rule_ids(const struct replay *r, const struct replay_person *p, int k,
           const char *ids[RULES_MAX])
{
	size_t n = 0;

	for (size_t ix = 0; ix < RULES_MAX && ix < rule_set_count(r->sets[k].rules); ix++)
		if (p->rules[k][ix / 64] & (UINT64_C(1) << (ix % 64)))
			ids[n++] = rule_set_rule(r->sets[k].rules, ix)->id;
	qsort(ids, n, sizeof(ids[0]), s_cmp_str);
	return n;
}

/* True when the two sets flag a person differently: level, or the rules that gave it. */
static bool
s_differs(const struct replay *r, const struct replay_person *p)
{
	const char *a[RULES_MAX], *b[RULES_MAX];
	size_t na, nb;

	if (p->level[LIVE] != p->level[CANDIDATE])
		return true;
	na = s_rule_ids(r, p, LIVE, a);
	nb = s_rule_ids(r, p, CANDIDATE, b);
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return true;
	return false;
}

/* Orders the slots of the persons flagged differently by person id (qsort_r). */
static int
s_cmp_slot(const void *x, const void *y, void *arg)
{
	const struct replay *r = arg;
	int64_t a = r->persons[*(const uint32_t *)x].person_id;
	int64_t b = r->persons[*(const uint32_t *)y].person_id;

	return (a > b) - (a < b);
}

/* The district entry of a grid code, added if new. */
static struct replay_district *
s_district(struct replay *r, const char *grid)
{
	struct replay_district *d;
	void *grown;

	for (size_t i = 0; i < r->ndistricts; i++)
		if (strncmp(r->districts[i].code, grid, REPLAY_DISTRICT_LEN) == 0)
			return &r->districts[i];
	grown = realloc(r->districts, (r->ndistricts + 1) * sizeof(*r->districts));
	if (grown == NULL)
		gridctl_oom(REPLAY_CMD);
	r->districts = grown;
	d = &r->districts[r->ndistricts++];
	memset(d, 0, sizeof(*d));
	snprintf(d->code, sizeof(d->code), "%.*s", REPLAY_DISTRICT_LEN, grid);
	return d;
}

/* Orders districts by code. */
static int
s_cmp_district(const void *x, const void *y)
{
	return strcmp(((const struct replay_district *)x)->code,
	              ((const struct replay_district *)y)->code);
}

/* Counts by level, finds the persons flagged differently and counts them by district. */
static void
s_compare(struct replay *r)
{
	r->diff = calloc(r->npersons ? r->npersons : 1, sizeof(*r->diff));
	if (r->diff == NULL)
		gridctl_oom(REPLAY_CMD);
	for (size_t i = 0; i < r->npersons; i++) {
		const struct replay_person *p = &r->persons[i];
		struct replay_district *d;

		for (int k = 0; k < NSETS; k++)
			r->sets[k].at_level[p->level[k] < ASSESS_LEVELS ? p->level[k] : 0]++;
		if (!s_differs(r, p))
			continue;
		r->diff[r->ndiff++] = (uint32_t)i;
		d = s_district(r, p->grid);
		d->persons++;
		if (p->level[CANDIDATE] > p->level[LIVE])
			d->raised++;
		else if (p->level[CANDIDATE] < p->level[LIVE])
			d->lowered++;
		else
			d->other_rules++;
	}
	qsort_r(r->diff, r->ndiff, sizeof(*r->diff), s_cmp_slot, r);
	if (r->ndistricts > 0)
		qsort(r->districts, r->ndistricts, sizeof(*r->districts), s_cmp_district);
}

/* ---- names ---- */

/* Appends text to a growing buffer; exits when memory is short. */
static void
s_append(char **buf, size_t *len, size_t *cap, const char *text)
{
	size_t n = strlen(text);

	if (*len + n + 1 > *cap) {
		size_t ncap = (*len + n + 1) * 2;
		char *grown = realloc(*buf, ncap);

		if (grown == NULL)
			gridctl_oom(REPLAY_CMD);
		*buf = grown;
		*cap = ncap;
	}
	memcpy(*buf + *len, text, n + 1);
	*len += n;
}

/* A strdup that exits when memory is short; NULL stays NULL. */
static char *
s_dup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		gridctl_oom(REPLAY_CMD);
	return d;
}

/* Reads the names and id numbers of persons [first, first + n) of the list; false on failure. */
static bool
s_lookup_persons(struct replay *r, size_t first, size_t n)
{
	char *arr = NULL, num[24];
	size_t len = 0, cap = 0;
	const char *params[1];
	PGresult *res;

	s_append(&arr, &len, &cap, "{");
	for (size_t i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%s%lld", i ? "," : "",
		         (long long)r->persons[r->diff[first + i]].person_id);
		s_append(&arr, &len, &cap, num);
	}
	s_append(&arr, &len, &cap, "}");
	params[0] = arr;
	res = s_query(r, "reading the persons flagged differently", s_persons_sql, 1, params);
	free(arr);
	if (res == NULL)
		return false;
	for (int row = 0; row < PQntuples(res); row++) {
		int64_t id = gridctl_col_int(res, row, 0);

		for (size_t i = first; i < first + n; i++) {
			if (r->info[i].person_id != id)
				continue;
			r->info[i].name = s_dup(gridctl_col(res, row, 1));
			r->info[i].id_number = s_dup(gridctl_col(res, row, 2));
		}
	}
	PQclear(res);
	return true;
}

/* Reads the names of the districts; false on failure. */
static bool
s_lookup_districts(struct replay *r)
{
	char *arr = NULL;
	size_t len = 0, cap = 0;
	const char *params[1];
	PGresult *res;

	s_append(&arr, &len, &cap, "{");
	for (size_t i = 0; i < r->ndistricts; i++) {
		if (i > 0)
			s_append(&arr, &len, &cap, ",");
		s_append(&arr, &len, &cap, r->districts[i].code);
	}
	s_append(&arr, &len, &cap, "}");
	params[0] = arr;
	res = s_query(r, "reading the district names", s_districts_sql, 1, params);
	free(arr);
	if (res == NULL)
		return false;
	for (int row = 0; row < PQntuples(res); row++)
		for (size_t i = 0; i < r->ndistricts; i++)
			if (strcmp(r->districts[i].code, PQgetvalue(res, row, 0)) == 0)
				r->districts[i].name = s_dup(PQgetvalue(res, row, 1));
	PQclear(res);
	return true;
}

/* Reads what the listed persons and the districts show; false on failure. */
static bool
s_lookup(struct replay *r)
{
	r->nlisted = r->opt.limit > 0 && (size_t)r->opt.limit < r->ndiff ? (size_t)r->opt.limit
	                                                                 : r->ndiff;
	r->info = calloc(r->nlisted ? r->nlisted : 1, sizeof(*r->info));
	if (r->info == NULL)
		gridctl_oom(REPLAY_CMD);
	for (size_t i = 0; i < r->nlisted; i++)
		r->info[i].person_id = r->persons[r->diff[i]].person_id;
	for (size_t first = 0; first < r->nlisted; first += REPLAY_LOOKUP_BATCH) {
		size_t n = r->nlisted - first;

		if (!s_lookup_persons(r, first, n < REPLAY_LOOKUP_BATCH ? n : REPLAY_LOOKUP_BATCH))
			return false;
	}
	return r->ndistricts == 0 || s_lookup_districts(r);
}

/* ---- printing ---- */

/* The lower-case name of a level. */
static const char *
s_level_name(int level)
{
	const char *name = codec_level_name((Gridwall__V1__RiskLevel)level);

	return name ? name : "?";
}

/* Persons flagged at any level under one set. */
static long
s_flagged(const struct replay_set *set)
{
	long n = 0;

	for (int level = 1; level < ASSESS_LEVELS; level++)
		n += set->at_level[level];
	return n;
}

/* The area the replay covered, for people. */
static const char *
s_area_text(const struct replay *r)
{
	return r->opt.area[0] != '\0' ? r->opt.area : "all";
}

/* One set's level and rules of a person as text: "KEY risk_area_arrival". */
static void
s_put_verdict(const struct replay *r, const struct replay_person *p, int k)
{
	const char *ids[RULES_MAX];
	size_t n = s_rule_ids(r, p, k, ids);
	char level[16];

	gridctl_level_label(p->level[k], level, sizeof(level));
	printf("%s ", level);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			putchar(',');
		gridctl_put_clean(stdout, ids[i]);
	}
	if (n == 0)
		putchar('-');
}

/* The report as text. */
static void
s_print_text(const struct replay *r)
{
	static const char *const labels[ASSESS_LEVELS] = { NULL, "attention", "key", "high" };
	char from[CIVIL_TEXT_LEN + 1], to[CIVIL_TEXT_LEN + 1];
	char masked[IDCARD_LEN + 1];

	civil_format(r->opt.from, from);
	civil_format(r->opt.to, to);
	printf("replay %s to %s, area %s: %ld screenings\n", from, to, s_area_text(r), r->screenings);
	fputs("live:      ", stdout);
	gridctl_put_clean(stdout, r->sets[LIVE].name);
	fputs("\ncandidate: ", stdout);
	gridctl_put_clean(stdout, r->sets[CANDIDATE].name);
	puts("\npersons by highest level:");
	printf("  %-10s %6s %10s %11s\n", "level", "live", "candidate", "difference");
	for (int level = ASSESS_LEVELS - 1; level > 0; level--)
		printf("  %-10s %6ld %10ld %+11ld\n", labels[level], r->sets[LIVE].at_level[level],
		       r->sets[CANDIDATE].at_level[level],
		       r->sets[CANDIDATE].at_level[level] - r->sets[LIVE].at_level[level]);
	printf("  %-10s %6ld %10ld %+11ld\n", "flagged", s_flagged(&r->sets[LIVE]),
	       s_flagged(&r->sets[CANDIDATE]), s_flagged(&r->sets[CANDIDATE]) - s_flagged(&r->sets[LIVE]));
	printf("flagged differently by district:\n");
	for (size_t i = 0; i < r->ndistricts; i++) {
		const struct replay_district *d = &r->districts[i];

		printf("  %s  ", d->code);
		gridctl_put_clean(stdout, d->name);
		printf("  %ld (raised %ld, lowered %ld, other rules %ld)\n", d->persons, d->raised,
		       d->lowered, d->other_rules);
	}
	if (r->ndistricts == 0)
		puts("  none");
	printf("persons flagged differently: %zu", r->ndiff);
	if (r->nlisted < r->ndiff)
		printf(" (first %zu listed)", r->nlisted);
	putchar('\n');
	for (size_t i = 0; i < r->nlisted; i++) {
		const struct replay_person *p = &r->persons[r->diff[i]];

		masked[0] = '\0';
		if (r->info[i].id_number != NULL)
			idcard_mask(r->info[i].id_number, masked);
		printf("  %lld  ", (long long)p->person_id);
		gridctl_put_clean(stdout, r->info[i].name);
		fputs("  ", stdout);
		gridctl_put_clean(stdout, masked);
		fputs("  ", stdout);
		gridctl_put_clean(stdout, p->grid);
		fputs("  live ", stdout);
		s_put_verdict(r, p, LIVE);
		fputs("  candidate ", stdout);
		s_put_verdict(r, p, CANDIDATE);
		putchar('\n');
	}
}

/* {"level":"key","rule_ids":[...]} of a person under one set. */
static json_t *
s_verdict_json(const struct replay *r, const struct replay_person *p, int k)
{
	const char *ids[RULES_MAX];
	size_t n = s_rule_ids(r, p, k, ids);
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++)
		if (json_array_append_new(arr, json_string(ids[i])) != 0)
			gridctl_oom(REPLAY_CMD);
	return json_pack("{s:s, s:o}", "level", s_level_name(p->level[k]), "rule_ids", arr);
}

/* {"attention":N,"key":N,"high":N,"flagged":N}: one set's counts, or with minus the difference. */
static json_t *
s_levels_json(const struct replay_set *set, const struct replay_set *minus)
{
	long n[ASSESS_LEVELS + 1];

	for (int level = 1; level < ASSESS_LEVELS; level++)
		n[level] = set->at_level[level] - (minus ? minus->at_level[level] : 0);
	n[ASSESS_LEVELS] = s_flagged(set) - (minus ? s_flagged(minus) : 0);
	return json_pack("{s:I, s:I, s:I, s:I}", "attention", (json_int_t)n[1], "key", (json_int_t)n[2],
	                 "high", (json_int_t)n[3], "flagged", (json_int_t)n[ASSESS_LEVELS]);
}

/* The report as one JSON object; NULL when memory is short. */
static json_t *
s_report_json(const struct replay *r)
{
	char from[CIVIL_TEXT_LEN + 1], to[CIVIL_TEXT_LEN + 1], masked[IDCARD_LEN + 1];
	json_t *districts = json_array(), *persons = json_array();

	if (districts == NULL || persons == NULL)
		gridctl_oom(REPLAY_CMD);
	civil_format(r->opt.from, from);
	civil_format(r->opt.to, to);
	for (size_t i = 0; i < r->ndistricts; i++) {
		const struct replay_district *d = &r->districts[i];

		if (json_array_append_new(districts,
		        json_pack("{s:s, s:s?, s:I, s:I, s:I, s:I}", "code", d->code, "name", d->name,
		                  "persons", (json_int_t)d->persons, "raised", (json_int_t)d->raised,
		                  "lowered", (json_int_t)d->lowered,
		                  "other_rules", (json_int_t)d->other_rules)) != 0)
			gridctl_oom(REPLAY_CMD);
	}
	for (size_t i = 0; i < r->nlisted; i++) {
		const struct replay_person *p = &r->persons[r->diff[i]];

		masked[0] = '\0';
		if (r->info[i].id_number != NULL)
			idcard_mask(r->info[i].id_number, masked);
		if (json_array_append_new(persons,
		        json_pack("{s:I, s:s?, s:s?, s:s, s:o, s:o}", "person_id", (json_int_t)p->person_id,
		                  "name", r->info[i].name, "id_masked", masked[0] ? masked : NULL,
		                  "grid_code", p->grid, "live", s_verdict_json(r, p, LIVE),
		                  "candidate", s_verdict_json(r, p, CANDIDATE))) != 0)
			gridctl_oom(REPLAY_CMD);
	}
	return json_pack("{s:s, s:s, s:s?, s:I, s:{s:s, s:I}, s:{s:s, s:I},"
	                 " s:{s:o, s:o, s:o}, s:o, s:I, s:o}",
	                 "from", from, "to", to, "area", r->opt.area[0] ? r->opt.area : NULL,
	                 "screenings", (json_int_t)r->screenings,
	                 "live", "name", r->sets[LIVE].name,
	                 "rules", (json_int_t)rule_set_count(r->sets[LIVE].rules),
	                 "candidate", "name", r->sets[CANDIDATE].name,
	                 "rules", (json_int_t)rule_set_count(r->sets[CANDIDATE].rules),
	                 "levels", "live", s_levels_json(&r->sets[LIVE], NULL),
	                 "candidate", s_levels_json(&r->sets[CANDIDATE], NULL),
	                 "difference", s_levels_json(&r->sets[CANDIDATE], &r->sets[LIVE]),
	                 "districts", districts,
	                 "flagged_differently", (json_int_t)r->ndiff,
	                 "persons", persons);
}

/* Prints the report in the chosen form; false when memory is short. */
static bool
s_print(const struct replay *r)
{
	json_t *j;
	char *text;

	if (!r->opt.json) {
		s_print_text(r);
		return true;
	}
	j = s_report_json(r);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL) {
		gridctl_err(REPLAY_CMD, "out of memory writing the report");
		return false;
	}
	printf("%s\n", text);
	free(text);
	return true;
}

/* ---- the command ---- */

/* Frees everything a replay holds. */
static void
s_free(struct replay *r)
{
	for (int k = 0; k < NSETS; k++) {
		rule_set_free(&r->sets[k].rules);
		assess_free(&r->sets[k].state);
	}
	for (size_t i = 0; i < r->nlisted; i++) {
		free(r->info[i].name);
		free(r->info[i].id_number);
	}
	for (size_t i = 0; i < r->ndistricts; i++)
		free(r->districts[i].name);
	free(r->info);
	free(r->districts);
	free(r->diff);
	free(r->persons);
	idmap_free(&r->person_ix);
	risk_registry_free(&r->risk);
	if (r->conn != NULL)
		PQfinish(r->conn);
}

/* Loads both sets and the registry, replays, compares and prints; the exit status. */
static int
s_run(struct replay *r)
{
	int rc = s_load_file(&r->sets[CANDIDATE], "candidate", r->opt.rules);
	PGresult *res;

	if (rc == GRIDCTL_EXIT_OK && r->opt.live != NULL)
		rc = s_load_file(&r->sets[LIVE], "live", r->opt.live);
	if (rc != GRIDCTL_EXIT_OK)
		return rc;
	r->conn = gridctl_connect(REPLAY_CMD, r->opt.conninfo, GRIDCTL_ANALYST_ROLE);
	if (r->conn == NULL)
		return GRIDCTL_EXIT_FAIL;
	res = s_query(r, "starting a read-only transaction",
	              "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
	if (res == NULL)
		return GRIDCTL_EXIT_FAIL;
	PQclear(res);
	if (r->opt.live == NULL) {
		r->sets[LIVE].rules = history_live_rules(r->conn, REPLAY_CMD, r->sets[LIVE].name,
		                                         sizeof(r->sets[LIVE].name));
		if (r->sets[LIVE].rules == NULL)
			return GRIDCTL_EXIT_FAIL;
	}
	if (!history_risk(r->conn, REPLAY_CMD, &r->risk) || !s_replay_all(r))
		return GRIDCTL_EXIT_FAIL;
	s_compare(r);
	if (!s_lookup(r) || !s_print(r))
		return GRIDCTL_EXIT_FAIL;
	fflush(stdout);
	return GRIDCTL_EXIT_OK;
}

/* gridctl rules replay. */
static int
s_replay(int argc, char **argv)
{
	struct replay r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.opt.area = "";
	r.opt.conninfo = DEFAULT_DATABASE;
	r.opt.limit = REPLAY_DEFAULT_LIMIT;
	if ((rc = s_parse_opts(argc, argv, &r.opt)) >= 0)
		return rc;
	idmap_init(&r.person_ix);
	for (int k = 0; k < NSETS; k++)
		assess_init(&r.sets[k].state);
	rc = s_run(&r);
	s_free(&r);
	return rc;
}

/* gridctl rules: the rule tools, replay and verify. */
int
gridctl_rules(int argc, char **argv)
{
	if (argc < 2) {
		gridctl_err("rules", "missing command: replay or verify");
		return gridctl_usage("rules", stderr, GRIDCTL_EXIT_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return gridctl_usage("rules", stdout, GRIDCTL_EXIT_OK);
	if (strcmp(argv[1], "replay") == 0)
		return s_replay(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return gridctl_rules_verify(argc - 1, argv + 1);
	gridctl_err("rules", "unknown command \"%s\" (replay or verify)", argv[1]);
	return gridctl_usage("rules", stderr, GRIDCTL_EXIT_USAGE);
}
