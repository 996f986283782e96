/*
 * The CSV files of gridctl import: the spreadsheets communities send, saved
 * as CSV (UTF-8, optional BOM, RFC 4180 quoting, CRLF or LF), one screening
 * a row under a row of column names in English or Chinese (docs/import.md).
 * The file is read twice with libcsv: first to check it whole (names,
 * quoting) and count its rows, so that a file in the wrong shape sends
 * nothing; then to turn each row into the JSON form of a record, handed to
 * the caller (import.c gives it to the sender). Spreadsheet habits are
 * translated here (男/女, 2020/2/5 10:00 in China's time, 37.5℃, 咳嗽、乏力);
 * whether a value is right stays record_from_json's and ingestd's call. A
 * row without a client_uuid gets a UUIDv5 of its content, so that a file
 * imported twice is stored once. No socket here: the fuzzer reads CSV
 * through this file too (tests/fuzz/fuzz_csv.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>
#include <jansson.h>
#include <uuid/uuid.h>

#include "gridctl.h"
#include "record_json.h"

#define IMPORT_CHUNK       65536
#define IMPORT_LOCAL_TZ    "+08:00"    /* China Standard Time, no daylight saving */
#define IMPORT_VALUE_MAX   64          /* longest enum or number worth translating */
#define IMPORT_BAD_ROW     "BAD_ROW"   /* a value in a column without a name */

/* The namespace of the client_uuid derived from a row (docs/import.md). */
#define IMPORT_UUID_NAMESPACE "51f9d6e2-c089-4615-9425-7b013d86d2de"

/* How a column's text becomes its JSON value. */
enum s_kind {
	S_TEXT,         /* verbatim */
	S_ENUM,         /* a contract name, or a Chinese one from the column's list */
	S_TIME,         /* RFC 3339, local "YYYY-MM-DD HH:MM[:SS]", or Unix seconds */
	S_DATE,         /* YYYY-MM-DD, also as YYYY/M/D or YYYY年M月D日 */
	S_TEMPERATURE,  /* degrees Celsius, "℃" allowed */
	S_SYMPTOMS,     /* names separated by ; ； 、 , or ， */
};

/* A Chinese value and the contract's name for it. */
struct s_alias {
	const char *from;
	const char *to;
};

/* One documented column: its JSON field and the Chinese headers naming it. */
struct s_column {
	const char *field;
	enum s_kind kind;
	const char *headers[3];
	const struct s_alias *values;
};

static const struct s_alias s_channels[] = {
	{ "入户", "door_to_door" }, { "卡口", "checkpoint" },
	{ "楼长", "building_captain" }, { "自主申报", "self_declaration" },
	{ "企业", "enterprise" }, { "随访", "follow_up" }, { NULL, NULL },
};

static const struct s_alias s_id_types[] = {
	{ "居民身份证", "resident_id" }, { "身份证", "resident_id" },
	{ "护照", "passport" }, { "其他", "other" }, { "无", "none" }, { NULL, NULL },
};

static const struct s_alias s_sexes[] = {
	{ "男", "male" }, { "女", "female" }, { NULL, NULL },
};

static const struct s_alias s_contacts[] = {
	{ "无", "none" }, { "确诊", "confirmed" }, { "疑似", "suspected" }, { NULL, NULL },
};

static const struct s_alias s_symptoms[] = {
	{ "咳嗽", "cough" }, { "乏力", "fatigue" }, { "气促", "shortness_of_breath" },
	{ "呼吸困难", "shortness_of_breath" }, { "腹泻", "diarrhoea" },
	{ "结膜充血", "conjunctival_congestion" }, { "咽痛", "sore_throat" },
	{ "其他", "other" }, { NULL, NULL },
};

/* Every column a file may have, in the order the derived client_uuid reads them. */
static const struct s_column s_columns[] = {
	{ "client_uuid", S_TEXT, { "记录编号" }, NULL },
	{ "channel", S_ENUM, { "筛查方式", "渠道" }, s_channels },
	{ "screened_at", S_TIME, { "筛查时间" }, NULL },
	{ "grid_code", S_TEXT, { "网格编码" }, NULL },
	{ "household_code", S_TEXT, { "户编码", "户号" }, NULL },
	{ "id_type", S_ENUM, { "证件类型" }, s_id_types },
	{ "id_number", S_TEXT, { "身份证号", "证件号码" }, NULL },
	{ "name", S_TEXT, { "姓名" }, NULL },
	{ "phone", S_TEXT, { "联系电话", "手机号" }, NULL },
	{ "sex", S_ENUM, { "性别" }, s_sexes },
	{ "birth_date", S_DATE, { "出生日期" }, NULL },
	{ "temperature", S_TEMPERATURE, { "体温" }, NULL },
	{ "symptoms", S_SYMPTOMS, { "症状" }, s_symptoms },
	{ "origin_region", S_TEXT, { "来源地区", "来源地" }, NULL },
	{ "departed_on", S_DATE, { "离开日期" }, NULL },
	{ "arrived_on", S_DATE, { "抵达日期", "到达日期" }, NULL },
	{ "contact", S_ENUM, { "接触史" }, s_contacts },
	{ "note", S_TEXT, { "备注" }, NULL },
	{ "device_id", S_TEXT, { "设备" }, NULL },
	{ "worker_id", S_TEXT, { "工作人员" }, NULL },
	{ "team_id", S_TEXT, { "小组" }, NULL },
};

#define S_NCOLUMNS (sizeof(s_columns) / sizeof(s_columns[0]))

/* A cell as libcsv gave it (unquoted ones trimmed of spaces and tabs). */
struct s_cell {
	const char *s;
	size_t len;
};

/* Called with each row and the line it starts on; nonzero stops the reading. */
typedef int (*s_row_fn)(void *arg, long line, const struct s_cell *cells, size_t n);

/* libcsv fed so that each row is known by the line it starts on. */
struct s_reader {
	struct csv_parser p;
	long line;               /* the line of the next byte */
	bool prev_cr;            /* the last byte was a CR (of a CRLF, maybe) */
	bool in_row;             /* a row has begun and not ended */
	long row_line;           /* where the current row began */
	char *buf;               /* the current row's cells, each NUL-terminated */
	size_t len, cap;
	size_t *offs;            /* where each cell starts in buf */
	size_t *lens;
	struct s_cell *cells;
	size_t n, cap_cells;
	s_row_fn fn;
	void *arg;
	int rc;                  /* the row function's nonzero status */
};

/* A file being imported: its columns, then where the second pass sends rows. */
struct import_csv {
	const char *path;
	const struct s_column **cols;   /* per column of the file; NULL: no name */
	size_t ncols;
	bool header_seen;
	long rows;                      /* data rows, counted by the first pass */
	uuid_t ns;
	import_record_fn record;
	import_reject_fn reject;
	void *arg;
};

/* Whether s[0..len) is UTF-8 text (jansson checks it for us). */
static bool
s_utf8(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);

	json_decref(j);
	return j != NULL;
}

/* Space or tab, the only white space a cell is trimmed of. */
static bool
s_blank_char(char c)
{
	return c == ' ' || c == '\t';
}

/* The cell without the spaces and tabs around it. */
static struct s_cell
s_trim(struct s_cell c)
{
	while (c.len > 0 && s_blank_char(c.s[0])) {
		c.s++;
		c.len--;
	}
	while (c.len > 0 && s_blank_char(c.s[c.len - 1]))
		c.len--;
	return c;
}

/* Whether the cell is exactly the text t. */
static bool
s_is(struct s_cell c, const char *t)
{
	return c.len == strlen(t) && memcmp(c.s, t, c.len) == 0;
}

/* Whether every cell of a row is empty (a spreadsheet's blank row). */
static bool
s_row_empty(const struct s_cell *cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s_trim(cells[i]).len > 0)
			return false;
	return true;
}

/* libcsv's end of field: appends the cell to the current row. */
static void
s_on_field(void *data, size_t len, void *arg)
{
	struct s_reader *r = arg;
	void *grown;

	if (r->rc != 0)
		return;
	if (r->n == r->cap_cells) {
		r->cap_cells = r->cap_cells ? r->cap_cells * 2 : 32;
		if ((grown = reallocarray(r->offs, r->cap_cells, sizeof(*r->offs))) == NULL)
			gridctl_oom("import");
		r->offs = grown;
		if ((grown = reallocarray(r->lens, r->cap_cells, sizeof(*r->lens))) == NULL)
			gridctl_oom("import");
		r->lens = grown;
		if ((grown = reallocarray(r->cells, r->cap_cells, sizeof(*r->cells))) == NULL)
			gridctl_oom("import");
		r->cells = grown;
	}
	if (r->cap - r->len < len + 1) {
		r->cap = (r->len + len + 1) * 2;
		if ((grown = realloc(r->buf, r->cap)) == NULL)
			gridctl_oom("import");
		r->buf = grown;
	}
	if (len > 0)
		memcpy(r->buf + r->len, data, len);
	r->buf[r->len + len] = '\0';
	r->offs[r->n] = r->len;
	r->lens[r->n] = len;
	r->len += len + 1;
	r->n++;
}

/* libcsv's end of row: hands the row over and starts the next. */
static void
s_on_row(int c, void *arg)
{
	struct s_reader *r = arg;

	(void)c;
	if (r->rc == 0) {
		for (size_t i = 0; i < r->n; i++) {
			r->cells[i].s = r->buf + r->offs[i];
			r->cells[i].len = r->lens[i];
		}
		r->rc = r->fn(r->arg, r->row_line, r->cells, r->n);
	}
	r->n = 0;
	r->len = 0;
	r->in_row = false;
}

/* Whether a piece of one line has anything that starts a row. */
static bool
s_starts_row(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!s_blank_char(s[i]) && s[i] != '\r' && s[i] != '\n')
			return true;
	return false;
}

/*
 * Feeds data to libcsv one line at a time (a piece ends just after a CR or
 * LF), so that a row, which can only end at a line break, is known to
 * start on the line of the first piece with content after the last row
 * ended. CRLF, LF and a lone CR each count as one line break, inside
 * quotes too, as a text editor counts them. Returns false on a CSV error.
 */
static bool
s_feed(struct s_reader *r, const char *data, size_t len)
{
	size_t piece;
	char last;

	while (len > 0 && r->rc == 0) {
		for (piece = 0; piece < len && data[piece] != '\r' && data[piece] != '\n'; piece++)
			continue;
		if (piece < len)
			piece++;
		if (!r->in_row && s_starts_row(data, piece)) {
			r->in_row = true;
			r->row_line = r->line;
		}
		if (csv_parse(&r->p, data, piece, s_on_field, s_on_row, r) != piece)
			return false;
		last = data[piece - 1];
		if (last == '\r' || (last == '\n' && !(piece == 1 && r->prev_cr)))
			r->line++;
		r->prev_cr = last == '\r';
		data += piece;
		len -= piece;
	}
	return true;
}

/* The message for a CSV error at the current position. */
static void
s_csv_error(struct s_reader *r, const char *path)
{
	if (csv_error(&r->p) == CSV_EPARSE)
		gridctl_err("import", "%s: line %ld: bad quoting: a value with a quote must be "
		            "quoted whole, with its quotes doubled (\"say \"\"hi\"\"\"); "
		            "nothing was sent", path, r->line);
	else
		gridctl_err("import", "%s: line %ld: %s", path, r->line,
		            csv_strerror(csv_error(&r->p)));
}

/*
 * Reads the CSV file f from its start and calls fn with each row. Returns
 * GRIDCTL_EXIT_OK, FAIL when f cannot be read, USAGE when it is not CSV,
 * or fn's nonzero status.
 */
static int
s_read(FILE *f, const char *path, s_row_fn fn, void *arg)
{
	static const char bom[] = "\xEF\xBB\xBF";
	struct s_reader r;
	char *chunk;
	size_t n, skip;
	bool first = true, ok = true;
	int rc;

	memset(&r, 0, sizeof(r));
	r.line = 1;
	r.fn = fn;
	r.arg = arg;
	chunk = malloc(IMPORT_CHUNK);
	if (chunk == NULL || csv_init(&r.p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		gridctl_oom("import");
	if (fseek(f, 0, SEEK_SET) != 0) {
		gridctl_err("import", "%s: cannot read it from the start: %s", path, strerror(errno));
		r.rc = GRIDCTL_EXIT_FAIL;
	}
	while (ok && r.rc == 0 && (n = fread(chunk, 1, IMPORT_CHUNK, f)) > 0) {
		skip = first && n >= 3 && memcmp(chunk, bom, 3) == 0 ? 3 : 0;
		first = false;
		ok = s_feed(&r, chunk + skip, n - skip);
	}
	if (ok && r.rc == 0 && ferror(f)) {
		gridctl_err("import", "reading %s: %s", path, strerror(errno));
		r.rc = GRIDCTL_EXIT_FAIL;
	}
	if (ok && r.rc == 0 && csv_fini(&r.p, s_on_field, s_on_row, &r) != 0) {
		gridctl_err("import", "%s: line %ld: a quoted value is never closed; "
		            "nothing was sent", path, r.row_line);
		r.rc = GRIDCTL_EXIT_USAGE;
	}
	if (!ok) {
		s_csv_error(&r, path);
		r.rc = GRIDCTL_EXIT_USAGE;
	}
	rc = r.rc;
	csv_free(&r.p);
	free(r.buf);
	free(r.offs);
	free(r.lens);
	free(r.cells);
	free(chunk);
	return rc;
}

/* The documented column a header names, or NULL. */
static const struct s_column *
s_column_named(struct s_cell h)
{
	for (size_t i = 0; i < S_NCOLUMNS; i++) {
		if (h.len == strlen(s_columns[i].field) &&
		    strncasecmp(h.s, s_columns[i].field, h.len) == 0)
			return &s_columns[i];
		for (size_t j = 0; j < 3 && s_columns[i].headers[j] != NULL; j++)
			if (s_is(h, s_columns[i].headers[j]))
				return &s_columns[i];
	}
	return NULL;
}

/* Maps the first row's names to columns; exit status 2 (reported) on a bad one. */
static int
s_map_headers(struct import_csv *imp, const struct s_cell *cells, size_t n)
{
	const char *path = imp->path;
	struct s_cell h;

	imp->cols = calloc(n, sizeof(*imp->cols));
	if (imp->cols == NULL)
		gridctl_oom("import");
	imp->ncols = n;
	for (size_t i = 0; i < n; i++) {
		h = s_trim(cells[i]);
		if (!s_utf8(h.s, h.len)) {
			gridctl_err("import", "%s: line 1 is not UTF-8 text: save the spreadsheet "
			            "as \"CSV UTF-8\", or convert it (iconv -f GBK -t UTF-8)", path);
			return GRIDCTL_EXIT_USAGE;
		}
		if (h.len == 0)
			continue;       /* no name: its cells must stay empty */
		imp->cols[i] = s_column_named(h);
		if (imp->cols[i] == NULL) {
			gridctl_err("import", "%s: unknown column \"%.*s\" (column %zu of line 1); "
			            "docs/import.md lists the columns", path, (int)h.len, h.s, i + 1);
			return GRIDCTL_EXIT_USAGE;
		}
		for (size_t j = 0; j < i; j++) {
			if (imp->cols[j] == imp->cols[i]) {
				gridctl_err("import", "%s: column %zu \"%.*s\" repeats column %zu: "
				            "both are %s", path, i + 1, (int)h.len, h.s, j + 1,
				            imp->cols[i]->field);
				return GRIDCTL_EXIT_USAGE;
			}
		}
	}
	return GRIDCTL_EXIT_OK;
}

/* The first pass: the names, the quoting, and how many rows there are. */
static int
s_check_row(void *arg, long line, const struct s_cell *cells, size_t n)
{
	struct import_csv *imp = arg;

	(void)line;
	if (s_row_empty(cells, n))
		return 0;       /* blank rows, above the names too */
	if (!imp->header_seen) {
		imp->header_seen = true;
		return s_map_headers(imp, cells, n);
	}
	imp->rows++;
	return 0;
}

/* The contract's name for a value: the Chinese one translated, else lower-cased. */
static json_t *
s_enum_value(struct s_cell c, const struct s_alias *values)
{
	char low[IMPORT_VALUE_MAX];

	for (size_t i = 0; values != NULL && values[i].from != NULL; i++)
		if (s_is(c, values[i].from))
			return json_string(values[i].to);
	if (c.len >= sizeof(low))
		return json_stringn(c.s, c.len);
	for (size_t i = 0; i < c.len; i++)
		low[i] = (c.s[i] >= 'A' && c.s[i] <= 'Z') ? (char)(c.s[i] - 'A' + 'a') : c.s[i];
	return json_stringn(low, c.len);
}

/* Reads 1 to max decimal digits at *p (not past end); moves *p past them. */
static bool
s_num(const char **p, const char *end, int max, int *out)
{
	int v = 0, k = 0;

	while (*p < end && k < max && **p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	*out = v;
	return k > 0 && (*p == end || **p < '0' || **p > '9');
}

/* Consumes one of the separators at *p, each a string; false if none is there. */
static bool
s_sep(const char **p, const char *end, const char *const *seps)
{
	size_t len;

	for (size_t i = 0; seps[i] != NULL; i++) {
		len = strlen(seps[i]);
		if ((size_t)(end - *p) >= len && memcmp(*p, seps[i], len) == 0) {
			*p += len;
			return true;
		}
	}
	return false;
}

/* A date as spreadsheets write it: 2020-02-05, 2020/2/5, 2020.2.5 or 2020年2月5日. */
static bool
s_ymd(const char **p, const char *end, int *y, int *m, int *d)
{
	static const char *const after_y[] = { "-", "/", ".", "年", NULL };
	static const char *const after_m[] = { "-", "/", ".", "月", NULL };
	static const char *const after_d[] = { "日", NULL };
	const char *start = *p;

	if (!s_num(p, end, 4, y) || *p - start != 4 || !s_sep(p, end, after_y) ||
	    !s_num(p, end, 2, m) || !s_sep(p, end, after_m) || !s_num(p, end, 2, d))
		return false;
	s_sep(p, end, after_d);
	return true;
}

/* A date cell as YYYY-MM-DD when it is one in any of the accepted forms. */
static json_t *
s_date_value(struct s_cell c)
{
	const char *p = c.s, *end = c.s + c.len;
	char buf[16];
	int y, m, d;

	if (s_ymd(&p, end, &y, &m, &d) && p == end) {
		snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
		return json_string(buf);
	}
	return json_stringn(c.s, c.len);
}

/*
 * screened_at: Unix seconds as a number; a date and time without a zone
 * (2020-02-05 10:00, 2020/2/5 10:00:30) as RFC 3339 in China's time;
 * anything else as it is, for record_from_json to take (RFC 3339 with a
 * zone) or refuse.
 */
static json_t *
s_time_value(struct s_cell c)
{
	static const char *const tsep[] = { "T", " ", NULL };
	static const char *const colon[] = { ":", NULL };
	const char *p = c.s, *end = c.s + c.len;
	char buf[48];
	int y, mo, d, h, mi, sec = 0;
	long long t;

	if (c.len > 0 && c.len <= 12 && strspn(c.s, "0123456789") >= c.len) {
		t = strtoll(c.s, NULL, 10);
		return json_integer((json_int_t)t);
	}
	if (s_ymd(&p, end, &y, &mo, &d) && s_sep(&p, end, tsep)) {
		while (p < end && *p == ' ')
			p++;
		if (s_num(&p, end, 2, &h) && s_sep(&p, end, colon) && s_num(&p, end, 2, &mi) &&
		    (p == end || (s_sep(&p, end, colon) && s_num(&p, end, 2, &sec))) && p == end) {
			snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d" IMPORT_LOCAL_TZ,
			         y, mo, d, h, mi, sec);
			return json_string(buf);
		}
	}
	return json_stringn(c.s, c.len);
}

/* Degrees Celsius as a number (37.5, 37.5℃, 37.5°C); otherwise the text, which record_from_json refuses. */
static json_t *
s_temperature_value(struct s_cell c)
{
	static const char *const units[] = { "℃", "°C", "°", NULL };
	char num[IMPORT_VALUE_MAX];
	struct s_cell v = c;
	size_t len;
	int dots = 0, digits = 0;

	for (size_t i = 0; units[i] != NULL; i++) {
		len = strlen(units[i]);
		if (v.len > len && memcmp(v.s + v.len - len, units[i], len) == 0) {
			v.len -= len;
			break;
		}
	}
	v = s_trim(v);
	for (size_t i = 0; i < v.len; i++) {
		if (v.s[i] == '.')
			dots++;
		else if (v.s[i] >= '0' && v.s[i] <= '9')
			digits++;
		else
			return json_stringn(c.s, c.len);
	}
	if (digits == 0 || dots > 1 || v.len >= sizeof(num))
		return json_stringn(c.s, c.len);
	memcpy(num, v.s, v.len);
	num[v.len] = '\0';
	return json_real(strtod(num, NULL));
}

/* The length of the symptom separator at s, or 0. */
static size_t
s_symptom_sep(const char *s, size_t left)
{
	static const char *const seps[] = { ";", ",", "；", "，", "、", NULL };
	size_t len;

	for (size_t i = 0; seps[i] != NULL; i++) {
		len = strlen(seps[i]);
		if (left >= len && memcmp(s, seps[i], len) == 0)
			return len;
	}
	return 0;
}

/* Symptoms as an array of names; "无" or "none" alone means none (NULL). */
static json_t *
s_symptoms_value(struct s_cell c)
{
	json_t *arr;
	struct s_cell item;
	size_t i = 0, start = 0, sep;

	if (s_is(c, "无") || s_is(c, "none"))
		return NULL;
	if ((arr = json_array()) == NULL)
		gridctl_oom("import");
	while (start <= c.len) {
		sep = i < c.len ? s_symptom_sep(c.s + i, c.len - i) : 0;
		if (i < c.len && sep == 0) {
			i++;
			continue;
		}
		item.s = c.s + start;
		item.len = i - start;
		item = s_trim(item);
		if (item.len > 0 && json_array_append_new(arr, s_enum_value(item, s_symptoms)) != 0)
			gridctl_oom("import");
		if (i >= c.len)
			break;
		i += sep;
		start = i;
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* The JSON value of a non-empty cell of column col; NULL for "none". */
static json_t *
s_value(const struct s_column *col, struct s_cell raw)
{
	struct s_cell c = col->kind == S_TEXT ? raw : s_trim(raw);

	switch (col->kind) {
	case S_TEXT:
		return json_stringn(c.s, c.len);
	case S_ENUM:
		return s_enum_value(c, col->values);
	case S_TIME:
		return s_time_value(c);
	case S_DATE:
		return s_date_value(c);
	case S_TEMPERATURE:
		return s_temperature_value(c);
	case S_SYMPTOMS:
		return s_symptoms_value(c);
	}
	return NULL;
}

/* Writes a value as the derived client_uuid reads it. */
static void
s_name_value(FILE *f, const json_t *v)
{
	size_t i;
	json_t *item;

	if (json_is_string(v))
		fwrite(json_string_value(v), 1, json_string_length(v), f);
	else if (json_is_integer(v))
		fprintf(f, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		fprintf(f, "%.1f", json_real_value(v));
	else if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			if (i > 0)
				fputc(';', f);
			s_name_value(f, item);
		}
	}
}

/*
 * Sets client_uuid to the UUIDv5 (SHA-1, RFC 4122) of the row's content in
 * the import namespace: "field=value\n" for each present field in table
 * order, values as they go into the record. The same row, whatever the
 * language or order of the columns, gets the same uuid.
 */
static void
s_derive_uuid(struct import_csv *imp, json_t *obj)
{
	char *name = NULL, text[UUID_STR_LEN];
	size_t len = 0;
	FILE *f = open_memstream(&name, &len);
	json_t *v;
	uuid_t u;

	if (f == NULL)
		gridctl_oom("import");
	for (size_t i = 0; i < S_NCOLUMNS; i++) {
		v = json_object_get(obj, s_columns[i].field);
		if (v == NULL || strcmp(s_columns[i].field, "client_uuid") == 0)
			continue;
		fprintf(f, "%s=", s_columns[i].field);
		s_name_value(f, v);
		fputc('\n', f);
	}
	if (fclose(f) != 0 || name == NULL)
		gridctl_oom("import");
	uuid_generate_sha1(u, imp->ns, name, len);
	uuid_unparse_lower(u, text);
	free(name);
	if (json_object_set_new(obj, "client_uuid", json_string(text)) != 0)
		gridctl_oom("import");
}

/* Rejects a row here, with a message made from fmt. */
static int __attribute__((format(printf, 5, 6)))
s_reject(struct import_csv *imp, long line, const char *code, const char *field,
         const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return imp->reject(imp->arg, line, code, field, msg);
}

/* The second pass: each data row becomes a record for the caller. */
static int
s_import_row(void *arg, long line, const struct s_cell *cells, size_t n)
{
	struct import_csv *imp = arg;
	const struct s_column *col;
	json_t *obj, *v;

	if (s_row_empty(cells, n))
		return 0;
	if (!imp->header_seen) {
		imp->header_seen = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		col = i < imp->ncols ? imp->cols[i] : NULL;
		if (col == NULL && s_trim(cells[i]).len > 0)
			return s_reject(imp, line, IMPORT_BAD_ROW, NULL, "column %zu has a value "
			                "but no name in line 1", i + 1) ? GRIDCTL_EXIT_FAIL : 0;
		if (col != NULL && memchr(cells[i].s, '\0', cells[i].len) != NULL)
			return s_reject(imp, line, VERR_BAD_TEXT, col->field, "%s contains a NUL "
			                "character", col->field) ? GRIDCTL_EXIT_FAIL : 0;
		if (col != NULL && !s_utf8(cells[i].s, cells[i].len))
			return s_reject(imp, line, VERR_BAD_TEXT, col->field, "%s is not UTF-8 "
			                "text (save the file as CSV UTF-8)", col->field)
			       ? GRIDCTL_EXIT_FAIL : 0;
	}
	if ((obj = json_object()) == NULL)
		gridctl_oom("import");
	for (size_t i = 0; i < n && i < imp->ncols; i++) {
		col = imp->cols[i];
		if (col == NULL || s_trim(cells[i]).len == 0)
			continue;       /* an empty cell is an absent field */
		if ((v = s_value(col, cells[i])) != NULL &&
		    json_object_set_new(obj, col->field, v) != 0)
			gridctl_oom("import");
	}
	if (json_object_get(obj, "client_uuid") == NULL)
		s_derive_uuid(imp, obj);
	return imp->record(imp->arg, line, obj) != 0 ? GRIDCTL_EXIT_FAIL : 0;
}

struct import_csv *
import_csv_check(FILE *f, const char *path, int *status)
{
	struct import_csv *imp = calloc(1, sizeof(*imp));

	if (imp == NULL)
		gridctl_oom("import");
	imp->path = path;
	if (uuid_parse(IMPORT_UUID_NAMESPACE, imp->ns) != 0)
		abort();
	*status = s_read(f, path, s_check_row, imp);
	if (*status == GRIDCTL_EXIT_OK && !imp->header_seen) {
		gridctl_err("import", "%s is empty: its first row must name the columns", path);
		*status = GRIDCTL_EXIT_USAGE;
	}
	if (*status != GRIDCTL_EXIT_OK)
		import_csv_destroy(&imp);
	return imp;
}

long
import_csv_rows(const struct import_csv *imp)
{
	return imp->rows;
}

int
import_csv_read(struct import_csv *imp, FILE *f, import_record_fn record, import_reject_fn reject,
                void *arg)
{
	imp->record = record;
	imp->reject = reject;
	imp->arg = arg;
	imp->header_seen = false;
	return s_read(f, imp->path, s_import_row, imp);
}

void
import_csv_destroy(struct import_csv **imp_p)
{
	if (imp_p == NULL || *imp_p == NULL)
		return;
	free((*imp_p)->cols);
	free(*imp_p);
	*imp_p = NULL;
}
