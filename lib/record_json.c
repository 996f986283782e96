/*
 * The JSON form of screening records, record results and risk alerts. A
 * table names each record field once (its JSON key, its kind and where it
 * lives in the protobuf-c struct), so the reader and the writer cannot
 * drift apart. The reader only checks keys and JSON types; whether a value
 * makes sense is validate_record's job. Times are RFC 3339 text in UTC on
 * output; on input any RFC 3339 offset, or integer Unix seconds.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "codec.h"
#include "record_json.h"

typedef Gridwall__V1__ScreeningRecord record_t;

/* The generated enums are int-sized, so the table may store them as ints. */
_Static_assert(sizeof(Gridwall__V1__Channel) == sizeof(int), "enum size");

enum s_kind {
	S_STRING,       /* char *, NULL when absent */
	S_ENUM,         /* has_ flag and an int-sized enum, by lower-case name */
	S_TIME,         /* has_ flag and int64 Unix seconds */
	S_TEMPERATURE,  /* has_ flag and int32 tenths, degrees Celsius in JSON */
	S_SYMPTOMS,     /* n_symptoms and a malloc'ed array, names in JSON */
};

struct s_field {
	const char *key;
	enum s_kind kind;
	size_t offset;          /* of the value */
	size_t has_offset;      /* of the has_ flag (scalars only) */
	int (*parse)(const char *name);
	const char *(*name)(int value);
};

/* Adapters from the typed codec names to the one signature of the table. */
static const char *
s_channel_name(int v)
{
	return codec_channel_name((Gridwall__V1__Channel)v);
}

/* See s_channel_name. */
static const char *
s_id_type_name(int v)
{
	return codec_id_type_name((Gridwall__V1__IdType)v);
}

/* See s_channel_name. */
static const char *
s_sex_name(int v)
{
	return codec_sex_name((Gridwall__V1__Sex)v);
}

/* See s_channel_name. */
static const char *
s_contact_name(int v)
{
	return codec_contact_name((Gridwall__V1__Contact)v);
}

#define S_STR(k) { #k, S_STRING, offsetof(record_t, k), 0, NULL, NULL }
#define S_ENM(k, p, n) { #k, S_ENUM, offsetof(record_t, k), offsetof(record_t, has_##k), p, n }

/* Every key of the contract, in proto order (the order record_to_json writes). */
static const struct s_field s_fields[] = {
	S_STR(client_uuid),
	S_STR(device_id),
	S_STR(worker_id),
	S_STR(team_id),
	S_ENM(channel, codec_channel_parse, s_channel_name),
	{ "screened_at", S_TIME, offsetof(record_t, screened_at),
	  offsetof(record_t, has_screened_at), NULL, NULL },
	S_STR(grid_code),
	S_STR(household_code),
	S_ENM(id_type, codec_id_type_parse, s_id_type_name),
	S_STR(id_number),
	S_STR(name),
	S_STR(phone),
	S_ENM(sex, codec_sex_parse, s_sex_name),
	S_STR(birth_date),
	{ "temperature", S_TEMPERATURE, offsetof(record_t, temperature_tenths),
	  offsetof(record_t, has_temperature_tenths), NULL, NULL },
	{ "symptoms", S_SYMPTOMS, offsetof(record_t, symptoms), 0, NULL, NULL },
	S_STR(origin_region),
	S_STR(departed_on),
	S_STR(arrived_on),
	S_ENM(contact, codec_contact_parse, s_contact_name),
	S_STR(note),
};

#define S_NFIELDS (sizeof(s_fields) / sizeof(s_fields[0]))

/* Fills err and returns false, so that a failing check is one statement. */
static bool __attribute__((format(printf, 4, 5)))
s_fail(struct validation_error *err, const char *code, const char *field,
       const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->field = field;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

/* Bytes of the UTF-8 text s to quote in a message: at most max, never half a character. */
static int
s_quote_len(const char *s, int max)
{
	int n = (int)strnlen(s, (size_t)max + 1);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* The table entry for a JSON key, or NULL if the contract has no such key. */
static const struct s_field *
s_field_find(const char *key)
{
	for (size_t i = 0; i < S_NFIELDS; i++)
		if (strcmp(s_fields[i].key, key) == 0)
			return &s_fields[i];
	return NULL;
}

/* Reads exactly count decimal digits at *p and moves *p past them. */
static bool
s_digits(const char **p, int count, int *out)
{
	int v = 0;

	for (int i = 0; i < count; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += count;
	*out = v;
	return true;
}

/* Consumes one character of set at *p; false at the end or on another one. */
static bool
s_expect(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return false;
	(*p)++;
	return true;
}

/* Reads the "Z" or "+hh:mm" / "-hh:mm" ending of an RFC 3339 time, in seconds east. */
static bool
s_parse_offset(const char **p, int *offset_s)
{
	int sign, oh, om;

	if (s_expect(p, "Zz")) {
		*offset_s = 0;
		return true;
	}
	sign = **p == '-' ? -1 : 1;
	if (!s_expect(p, "+-") || !s_digits(p, 2, &oh) || !s_expect(p, ":") ||
	    !s_digits(p, 2, &om) || oh > 23 || om > 59)
		return false;
	*offset_s = sign * (oh * 3600 + om * 60);
	return true;
}

/*
 * Parses RFC 3339 date-time text into Unix seconds; fractions of a second
 * are dropped. A space instead of 'T' is accepted, as RFC 3339 allows.
 */
static bool
s_parse_rfc3339(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, offset_s;
	const char *p = s;

	if (!s_digits(&p, 4, &y) || !s_expect(&p, "-") || !s_digits(&p, 2, &mo) ||
	    !s_expect(&p, "-") || !s_digits(&p, 2, &d) || !s_expect(&p, "Tt ") ||
	    !s_digits(&p, 2, &h) || !s_expect(&p, ":") || !s_digits(&p, 2, &mi) ||
	    !s_expect(&p, ":") || !s_digits(&p, 2, &sec))
		return false;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return false;
		for (p++; isdigit((unsigned char)*p); p++)
			continue;
	}
	if (!s_parse_offset(&p, &offset_s) || *p != '\0')
		return false;
	if (!civil_is_date(y, mo, d) || h > 23 || mi > 59 || sec > 60)
		return false;
	*out = civil_days_from_date(y, mo, d) * CIVIL_DAY_SECONDS +
	       h * 3600 + mi * 60 + sec - offset_s;
	return true;
}

/* Formats Unix seconds as RFC 3339 UTC text; false if not a 4-digit year. */
static bool
s_format_rfc3339(int64_t t, char *out, size_t size)
{
	int64_t day = civil_day_of(t), y;
	int m, d, n;
	int sec;

	civil_date_from_days(day, &y, &m, &d);
	if (y < 0 || y > 9999)
		return false;
	sec = (int)(t - day * CIVIL_DAY_SECONDS);
	n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d,
	             sec / 3600, sec / 60 % 60, sec % 60);
	return n > 0 && (size_t)n < size;
}

/* Stores an int-sized enum or an int32 through a table offset. */
static void
s_store_int(record_t *rec, size_t offset, int value)
{
	memcpy((char *)rec + offset, &value, sizeof(value));
}

/* Sets the has_ flag of an optional scalar. */
static void
s_store_has(record_t *rec, size_t has_offset)
{
	protobuf_c_boolean yes = 1;

	memcpy((char *)rec + has_offset, &yes, sizeof(yes));
}

/* A string field: points into the JSON value, which outlives rec. */
static bool
s_set_string(const struct s_field *f, json_t *val, record_t *rec,
             struct validation_error *err)
{
	const char *s;

	if (!json_is_string(val))
		return s_fail(err, VERR_BAD_TYPE, f->key, "%s must be a string", f->key);
	s = json_string_value(val);
	if (strlen(s) != json_string_length(val))
		return s_fail(err, VERR_BAD_TEXT, f->key, "%s contains a NUL character", f->key);
	memcpy((char *)rec + f->offset, &s, sizeof(s));
	return true;
}

/* An enum field, given by its lower-case name. */
static bool
s_set_enum(const struct s_field *f, json_t *val, record_t *rec,
           struct validation_error *err)
{
	int v;

	if (!json_is_string(val))
		return s_fail(err, VERR_BAD_TYPE, f->key, "%s must be a name (string)", f->key);
	v = f->parse(json_string_value(val));
	if (v < 0)
		return s_fail(err, VERR_BAD_TYPE, f->key, "%s: unknown name \"%.*s\"", f->key,
		              s_quote_len(json_string_value(val), 64), json_string_value(val));
	s_store_int(rec, f->offset, v);
	s_store_has(rec, f->has_offset);
	return true;
}

/* screened_at: RFC 3339 text with any offset, or integer Unix seconds. */
static bool
s_set_time(const struct s_field *f, json_t *val, record_t *rec,
           struct validation_error *err)
{
	int64_t t;

	if (json_is_integer(val))
		t = (int64_t)json_integer_value(val);
	else if (!json_is_string(val))
		return s_fail(err, VERR_BAD_TYPE, f->key,
		              "%s must be RFC 3339 text or integer Unix seconds", f->key);
	else if (!s_parse_rfc3339(json_string_value(val), &t))
		return s_fail(err, VERR_BAD_TYPE, f->key,
		              "%s is not an RFC 3339 time (e.g. 2020-02-05T10:00:00Z)", f->key);
	memcpy((char *)rec + f->offset, &t, sizeof(t));
	s_store_has(rec, f->has_offset);
	return true;
}

/* temperature: degrees Celsius as any JSON number, kept in tenths. */
static bool
s_set_temperature(const struct s_field *f, json_t *val, record_t *rec,
                  struct validation_error *err)
{
	double c;

	if (!json_is_number(val))
		return s_fail(err, VERR_BAD_TYPE, f->key,
		              "%s must be a number (degrees Celsius)", f->key);
	c = json_number_value(val);
	/* Beyond this the tenths would not fit the wire's int32. */
	if (!isfinite(c) || fabs(c) > 1e8)
		return s_fail(err, VERR_TEMPERATURE_OUT_OF_RANGE, f->key,
		              "%s is out of range", f->key);
	s_store_int(rec, f->offset, (int)lround(c * 10.0));
	s_store_has(rec, f->has_offset);
	return true;
}

/* symptoms: an array of symptom names, copied into a new array. */
static bool
s_set_symptoms(const struct s_field *f, json_t *val, record_t *rec,
               struct validation_error *err)
{
	size_t n, i;
	json_t *item;
	int v;

	if (!json_is_array(val))
		return s_fail(err, VERR_BAD_TYPE, f->key, "%s must be an array of names", f->key);
	n = json_array_size(val);
	if (n == 0)
		return true;
	rec->symptoms = calloc(n, sizeof(*rec->symptoms));
	if (rec->symptoms == NULL)
		return s_fail(err, VERR_BAD_JSON, f->key, "out of memory");
	json_array_foreach(val, i, item) {
		v = json_is_string(item) ? codec_symptom_parse(json_string_value(item)) : -1;
		if (v < 0)
			return s_fail(err, VERR_BAD_TYPE, f->key,
			              "%s[%zu] is not a symptom name", f->key, i);
		rec->symptoms[i] = (Gridwall__V1__Symptom)v;
		rec->n_symptoms = i + 1;
	}
	return true;
}

/* Converts one non-null JSON value into its field. */
static bool
s_set_field(const struct s_field *f, json_t *val, record_t *rec,
            struct validation_error *err)
{
	switch (f->kind) {
	case S_STRING:
		return s_set_string(f, val, rec, err);
	case S_ENUM:
		return s_set_enum(f, val, rec, err);
	case S_TIME:
		return s_set_time(f, val, rec, err);
	case S_TEMPERATURE:
		return s_set_temperature(f, val, rec, err);
	case S_SYMPTOMS:
		return s_set_symptoms(f, val, rec, err);
	}
	return s_fail(err, VERR_BAD_TYPE, f->key, "unsupported field");
}

/*
 * For UNKNOWN_FIELD, err->field is the key itself and so, like the string
 * fields, points into obj. On failure nothing stays allocated in rec.
 */
bool
record_from_json(json_t *obj, Gridwall__V1__ScreeningRecord *rec,
                 struct validation_error *err)
{
	const struct s_field *f;
	const char *key;
	json_t *val;

	gridwall__v1__screening_record__init(rec);
	err->code = NULL;
	err->field = NULL;
	err->message[0] = '\0';
	if (!json_is_object(obj))
		return s_fail(err, VERR_BAD_JSON, NULL, "a record must be a JSON object");
	json_object_foreach(obj, key, val) {
		f = s_field_find(key);
		if (f == NULL) {
			record_json_release(rec);
			return s_fail(err, VERR_UNKNOWN_FIELD, key, "unknown field \"%.*s\"",
			              s_quote_len(key, 64), key);
		}
		if (json_is_null(val))
			continue;
		if (!s_set_field(f, val, rec, err)) {
			record_json_release(rec);
			return false;
		}
	}
	return true;
}

/* Frees what record_from_json allocated; safe to call twice. */
void
record_json_release(Gridwall__V1__ScreeningRecord *rec)
{
	free(rec->symptoms);
	rec->symptoms = NULL;
	rec->n_symptoms = 0;
}

/* Parses an array body; NULL with why set when it is not a JSON array. */
static json_t *
s_parse_array(const char *body, size_t len, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

	if (doc == NULL) {
		record_json_utf8_cut(jerr.text);
		snprintf(why, whylen, "malformed JSON at line %d, column %d (byte %d): %s",
		         jerr.line, jerr.column, jerr.position, jerr.text);
		return NULL;
	}
	if (!json_is_array(doc)) {
		json_decref(doc);
		snprintf(why, whylen, "expected a JSON array of records, or NDJSON");
		return NULL;
	}
	return doc;
}

void
record_json_utf8_cut(char *text)
{
	size_t n = strlen(text);
	json_t *s;

	/* The longest prefix jansson takes: its rules are the ones that matter here. */
	while (n > 0 && (s = json_stringn(text, n)) == NULL)
		n--;
	if (n > 0)
		json_decref(s);
	text[n] = '\0';
}

/* Whether the line holds only spaces, tabs and CRs. */
static bool
s_blank_line(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* Parses NDJSON into an array; a line that is not JSON is null, its reason in errors. */
static json_t *
s_parse_ndjson(const char *body, size_t len, json_t *errors)
{
	json_t *doc = json_array(), *why;
	const char *p = body, *end = body + len;
	json_error_t jerr;
	char msg[192];
	int line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *rec;

		line++;
		if (!s_blank_line(p, n)) {
			rec = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
			why = NULL;
			if (rec == NULL) {
				record_json_utf8_cut(jerr.text);
				snprintf(msg, sizeof(msg), "line %d is not JSON: %s", line, jerr.text);
				why = json_string(msg);
			}
			/* One element in each, whatever happens: they are read in step. */
			json_array_append_new(errors, why ? why : json_null());
			json_array_append_new(doc, rec ? rec : json_null());
		}
		p += n + 1;
	}
	return doc;
}

json_t *
record_json_parse_body(const char *body, size_t len, json_t **errors, char *why, size_t whylen)
{
	size_t i = 0;

	*errors = NULL;
	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i < len && body[i] == '[')
		return s_parse_array(body, len, why, whylen);
	*errors = json_array();
	return s_parse_ndjson(body, len, *errors);
}

bool
record_from_body(json_t *doc, json_t *errors, size_t i, Gridwall__V1__ScreeningRecord *rec,
                 struct validation_error *err)
{
	json_t *why = errors != NULL ? json_array_get(errors, i) : NULL;

	if (json_is_string(why)) {
		gridwall__v1__screening_record__init(rec);
		return s_fail(err, VERR_BAD_JSON, NULL, "%s", json_string_value(why));
	}
	return record_from_json(json_array_get(doc, i), rec, err);
}

/* Sets key to a new value (NULL counts as failure); returns 0 or -1. */
static int
s_put(json_t *obj, const char *key, json_t *val)
{
	return val == NULL ? -1 : json_object_set_new(obj, key, val);
}

/* Sets key to a string unless s is NULL (absent). */
static int
s_put_str(json_t *obj, const char *key, const char *s)
{
	return s == NULL ? 0 : s_put(obj, key, json_string(s));
}

/* An enum value by its name, or as a number when it has none. */
static json_t *
s_enum_json(const char *name, int value)
{
	return name != NULL ? json_string(name) : json_integer(value);
}

/* Unix seconds as RFC 3339 UTC text, or as a number beyond year 9999. */
static json_t *
s_time_json(int64_t t)
{
	char buf[32];

	if (s_format_rfc3339(t, buf, sizeof(buf)))
		return json_string(buf);
	return json_integer((json_int_t)t);
}

/* The symptoms of a record as an array of names. */
static json_t *
s_symptoms_json(const record_t *rec)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < rec->n_symptoms; i++) {
		if (json_array_append_new(arr, s_enum_json(codec_symptom_name(rec->symptoms[i]),
		                                           (int)rec->symptoms[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Reads an int-sized enum, int32 or has_ flag through a table offset. */
static int
s_load_int(const record_t *rec, size_t offset)
{
	int v;

	memcpy(&v, (const char *)rec + offset, sizeof(v));
	return v;
}

/* Writes one field of rec into obj, unless it is absent. */
static int
s_put_field(json_t *obj, const struct s_field *f, const record_t *rec)
{
	const char *s;
	int64_t t;
	int v;

	if (f->kind == S_STRING) {
		memcpy(&s, (const char *)rec + f->offset, sizeof(s));
		return s_put_str(obj, f->key, s);
	}
	if (f->kind == S_SYMPTOMS)
		return rec->n_symptoms == 0 ? 0 : s_put(obj, f->key, s_symptoms_json(rec));
	if (!s_load_int(rec, f->has_offset))
		return 0;
	if (f->kind == S_TIME) {
		memcpy(&t, (const char *)rec + f->offset, sizeof(t));
		return s_put(obj, f->key, s_time_json(t));
	}
	v = s_load_int(rec, f->offset);
	if (f->kind == S_TEMPERATURE)
		return s_put(obj, f->key, json_real(v / 10.0));
	return s_put(obj, f->key, s_enum_json(f->name(v), v));
}

/* Writes the present fields of a record, in proto order. */
json_t *
record_to_json(const Gridwall__V1__ScreeningRecord *rec)
{
	json_t *obj = json_object();
	int bad = 0;

	if (obj == NULL)
		return NULL;
	for (size_t i = 0; i < S_NFIELDS; i++)
		bad |= s_put_field(obj, &s_fields[i], rec);
	if (bad) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* The lower-case name of a record outcome, or NULL for an unknown value. */
static const char *
s_outcome_name(Gridwall__V1__RecordResult__Outcome outcome)
{
	switch (outcome) {
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED:
		return "accepted";
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE:
		return "duplicate";
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED:
		return "rejected";
	default:
		return NULL;
	}
}

/* One result of a SubmitReply, absent fields left out. */
json_t *
record_result_to_json(const Gridwall__V1__RecordResult *res)
{
	json_t *obj = json_object();
	int bad = 0;

	if (obj == NULL)
		return NULL;
	bad |= s_put(obj, "index", json_integer(res->index));
	bad |= s_put(obj, "outcome", s_enum_json(s_outcome_name(res->outcome), (int)res->outcome));
	if (res->has_server_id)
		bad |= s_put(obj, "server_id", json_integer((json_int_t)res->server_id));
	bad |= s_put_str(obj, "client_uuid", res->client_uuid);
	bad |= s_put_str(obj, "code", res->code);
	bad |= s_put_str(obj, "field", res->field);
	bad |= s_put_str(obj, "message", res->message);
	if (bad) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* A repeated string field as a JSON array (empty when there are none). */
static json_t *
s_strings_json(char *const *items, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		if (json_array_append_new(arr, json_string(items[i] ? items[i] : "")) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* A risk level by name. */
static json_t *
s_level_json(Gridwall__V1__RiskLevel level)
{
	return s_enum_json(codec_level_name(level), (int)level);
}

/* The lower-case name of an alert kind, as in the alerts table; NULL for an unknown value. */
static const char *
s_alert_kind_name(Gridwall__V1__AlertKind kind)
{
	switch (kind) {
	case GRIDWALL__V1__ALERT_KIND__ALERT_RISK:
		return "risk";
	case GRIDWALL__V1__ALERT_KIND__ALERT_RELEASED:
		return "released";
	case GRIDWALL__V1__ALERT_KIND__ALERT_FOLLOW_UP_OVERDUE:
		return "follow_up_overdue";
	case GRIDWALL__V1__ALERT_KIND__ALERT_COVERAGE_GAP:
		return "coverage_gap";
	default:
		return NULL;
	}
}

/*
 * Every field of an alert that is present: kind always (a missing kind is
 * a risk alert), the repeated ones always, as arrays; the screening, the
 * person and the household only when the alert names them; times as UTC
 * text.
 */
json_t *
risk_alert_to_json(const Gridwall__V1__RiskAlert *a)
{
	json_t *obj = json_object();
	int bad = 0;

	if (obj == NULL)
		return NULL;
	bad |= s_put(obj, "alert_id", json_integer((json_int_t)a->alert_id));
	bad |= s_put(obj, "kind", s_enum_json(s_alert_kind_name(a->kind), (int)a->kind));
	if (a->has_screening_id)
		bad |= s_put(obj, "screening_id", json_integer((json_int_t)a->screening_id));
	if (a->has_person_id)
		bad |= s_put(obj, "person_id", json_integer((json_int_t)a->person_id));
	bad |= s_put(obj, "level", s_level_json(a->level));
	bad |= s_put(obj, "rule_ids", s_strings_json(a->rule_ids, a->n_rule_ids));
	bad |= s_put(obj, "reasons", s_strings_json(a->reasons, a->n_reasons));
	bad |= s_put_str(obj, "action", a->action);
	bad |= s_put_str(obj, "grid_code", a->grid_code);
	bad |= s_put_str(obj, "area_path", a->area_path);
	if (a->has_household_id)
		bad |= s_put(obj, "household_id", json_integer((json_int_t)a->household_id));
	bad |= s_put_str(obj, "household_code", a->household_code);
	bad |= s_put_str(obj, "person_name", a->person_name);
	bad |= s_put_str(obj, "id_masked", a->id_masked);
	bad |= s_put_str(obj, "phone", a->phone);
	if (a->has_raised_at)
		bad |= s_put(obj, "raised_at", s_time_json(a->raised_at));
	if (a->has_previous_level)
		bad |= s_put(obj, "previous_level", s_level_json(a->previous_level));
	if (a->has_observe_until)
		bad |= s_put(obj, "observe_until", s_time_json(a->observe_until));
	if (a->has_follow_up_due)
		bad |= s_put(obj, "follow_up_due", s_time_json(a->follow_up_due));
	bad |= s_put_str(obj, "state", a->state);
	bad |= s_put_str(obj, "assigned_team", a->assigned_team);
	bad |= s_put_str(obj, "outcome", a->outcome);
	if (bad) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}
