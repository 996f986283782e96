/*
 * Validation of one screening record before ingestd stores it. The checks
 * run in a fixed order and stop at the first problem, so a field app always
 * gets the same single reason for the same record: identity of the record
 * (client_uuid, channel, screened_at, grid_code), then the person, then
 * health, then travel, then the remaining free-text fields. Every string
 * field is checked for length and clean UTF-8 before anything else looks
 * at it, so the messages, which quote the offending value, only ever quote
 * short, printable text. Pure: the clock and the area tree come in as
 * arguments, and enum values are "known" when the generated descriptors
 * know them.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "idcard.h"
#include "validate.h"

#define UUID_TEXT_LEN 36
#define REGION_MIN_DIGITS 2
#define REGION_MAX_DIGITS 12

/* Which control characters a field may hold besides printable text. */
enum {
	TEXT_ONE_LINE = 0,        /* names, codes, ids */
	TEXT_ALLOW_TAB = 1 << 0,
	TEXT_ALLOW_NEWLINE = 1 << 1,   /* LF, or CR immediately before LF */
	TEXT_MULTI_LINE = TEXT_ALLOW_TAB | TEXT_ALLOW_NEWLINE,   /* note */
};

enum text_result {
	TEXT_OK,
	TEXT_BAD_UTF8,
	TEXT_CONTROL,
};

/* True for an ASCII decimal digit, whatever the locale. */
static bool
s_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* True for an ASCII hexadecimal digit of either case. */
static bool
s_is_hex(char c)
{
	return s_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* True if s[0..n) are all digits (stops at the NUL, which is not one). */
static bool
s_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s_is_digit(s[i]))
			return false;
	return true;
}

/* True if a string field was sent with something in it. */
static bool
s_present(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* True if value is one the enum's generated descriptor knows. */
static bool
s_enum_known(const ProtobufCEnumDescriptor *desc, int value)
{
	return protobuf_c_enum_descriptor_get_value(desc, value) != NULL;
}

/*
 * Scans s as UTF-8: shortest forms only, no surrogates, nothing above
 * U+10FFFF; C0 and C1 controls and DEL refused except what allow permits.
 */
static enum text_result
s_scan_text(const char *s, unsigned allow)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned c = *p, lo = 0x80, hi = 0xBF;
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if ((c < 0x20 || c == 0x7F) &&
			    !(c == '\t' && (allow & TEXT_ALLOW_TAB)) &&
			    !(c == '\n' && (allow & TEXT_ALLOW_NEWLINE)) &&
			    !(c == '\r' && (allow & TEXT_ALLOW_NEWLINE) &&
			    p[1] == '\n'))
				return TEXT_CONTROL;
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
			if (c == 0xE0)
				lo = 0xA0;      /* overlong */
			else if (c == 0xED)
				hi = 0x9F;      /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
			if (c == 0xF0)
				lo = 0x90;      /* overlong */
			else if (c == 0xF4)
				hi = 0x8F;      /* above U+10FFFF */
		} else {
			return TEXT_BAD_UTF8;
		}
		p++;
		/* A NUL fails the range test, so this never reads past the end. */
		for (size_t i = 0; i < n; i++) {
			if (p[i] < lo || p[i] > hi)
				return TEXT_BAD_UTF8;
			cp = cp << 6 | (p[i] & 0x3F);
			lo = 0x80;
			hi = 0xBF;
		}
		if (cp <= 0x9F)
			return TEXT_CONTROL;    /* C1 controls U+0080..U+009F */
		p += n;
	}
	return TEXT_OK;
}

/* Cuts a trailing, incomplete UTF-8 sequence left by a truncating snprintf. */
static void
s_trim_utf8(char *buf)
{
	size_t len = strlen(buf), i = len, need;
	unsigned char lead;

	while (i > 0 && len - i < 3 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	lead = (unsigned char)buf[i - 1];
	if (lead < 0xC0)
		return;
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
	if (len - (i - 1) < need)
		buf[i - 1] = '\0';
}

/* Fills err with a code, a field and a formatted message; returns false. */
static bool __attribute__((format(printf, 4, 5)))
s_fail(struct validation_error *err, const char *code, const char *field,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	err->code = code;
	err->field = field;
	va_start(ap, fmt);
	n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0)
		err->message[0] = '\0';
	else if ((size_t)n >= sizeof(err->message))
		s_trim_utf8(err->message);
	return false;
}

/* Checks the size and the characters of a string field that is present. */
static bool
s_text_ok(struct validation_error *err, const char *field, const char *value,
    size_t max, unsigned allow)
{
	size_t len = strnlen(value, max + 1);

	if (len > max)
		return s_fail(err, VERR_FIELD_TOO_LONG, field,
		    "%s is %zu bytes long, at most %zu allowed", field,
		    strlen(value), max);
	switch (s_scan_text(value, allow)) {
	case TEXT_OK:
		return true;
	case TEXT_BAD_UTF8:
		return s_fail(err, VERR_BAD_TEXT, field,
		    "%s is not valid UTF-8 text", field);
	case TEXT_CONTROL:
	default:
		return s_fail(err, VERR_BAD_TEXT, field,
		    "%s contains a control character", field);
	}
}

/* A required one-line string field: present, then clean. */
static bool
s_required(struct validation_error *err, const char *field, const char *value)
{
	if (!s_present(value))
		return s_fail(err, VERR_MISSING_FIELD, field, "%s is missing",
		    field);
	return s_text_ok(err, field, value, TEXT_FIELD_MAX_BYTES, TEXT_ONE_LINE);
}

/* An optional one-line string field: clean if present. */
static bool
s_optional(struct validation_error *err, const char *field, const char *value)
{
	if (!s_present(value))
		return true;
	return s_text_ok(err, field, value, TEXT_FIELD_MAX_BYTES, TEXT_ONE_LINE);
}

/* Today as YYYYMMDD in UTC, the form idcard_check wants. */
static int
s_today_yyyymmdd(time_t now)
{
	int64_t year;
	int month, day;

	civil_date_from_days(civil_day_of((int64_t)now), &year, &month, &day);
	return (int)(year * 10000 + month * 100 + day);
}

/* client_uuid, channel, screened_at and grid_code: which record, where. */
static bool
s_check_envelope(const Gridwall__V1__ScreeningRecord *rec,
    const struct area_tree *areas, time_t now, struct validation_error *err)
{
	const struct area *grid;

	if (!s_required(err, "client_uuid", rec->client_uuid))
		return false;
	if (!validate_uuid(rec->client_uuid))
		return s_fail(err, VERR_BAD_UUID, "client_uuid",
		    "client_uuid %s is not a UUID (8-4-4-4-12 hex digits)",
		    rec->client_uuid);

	if (!rec->has_channel)
		return s_fail(err, VERR_MISSING_FIELD, "channel",
		    "channel is missing");
	if (rec->channel == GRIDWALL__V1__CHANNEL__CHANNEL_UNSPECIFIED ||
	    !s_enum_known(&gridwall__v1__channel__descriptor, rec->channel))
		return s_fail(err, VERR_BAD_ENUM, "channel",
		    "channel %d is not a known screening channel",
		    (int)rec->channel);

	if (!rec->has_screened_at)
		return s_fail(err, VERR_MISSING_FIELD, "screened_at",
		    "screened_at is missing");
	if (rec->screened_at > (int64_t)now + SCREENED_AT_MAX_AHEAD_S)
		return s_fail(err, VERR_SCREENED_AT_IN_FUTURE, "screened_at",
		    "screened_at %lld is %lld s ahead of the server clock, "
		    "at most %d allowed", (long long)rec->screened_at,
		    (long long)(rec->screened_at - (int64_t)now),
		    SCREENED_AT_MAX_AHEAD_S);
	if (rec->screened_at < SCREENED_AT_MIN_S)
		return s_fail(err, VERR_SCREENED_AT_TOO_EARLY, "screened_at",
		    "screened_at %lld is before the year 1",
		    (long long)rec->screened_at);

	if (!s_required(err, "grid_code", rec->grid_code))
		return false;
	if (areas == NULL) {
		/* No tree to ask: at least keep the prefix scheme intact. */
		if (area_level_of_code(rec->grid_code) != AREA_GRID)
			return s_fail(err, VERR_NOT_A_GRID, "grid_code",
			    "grid_code %s is not a 15-digit grid code",
			    rec->grid_code);
		return true;
	}
	grid = area_find(areas, rec->grid_code);
	if (grid == NULL)
		return s_fail(err, VERR_UNKNOWN_GRID, "grid_code",
		    "grid_code %s is not a known area", rec->grid_code);
	if (grid->level != AREA_GRID)
		return s_fail(err, VERR_NOT_A_GRID, "grid_code",
		    "grid_code %s is a %s, not a grid", rec->grid_code,
		    area_level_name(grid->level));
	return true;
}

/* Explains why idcard_check refused a resident id; returns false. */
static bool
s_fail_idcard(struct validation_error *err, const char *id,
    enum idcard_status status)
{
	int birth;

	switch (status) {
	case IDCARD_BAD_LENGTH:
		return s_fail(err, VERR_BAD_ID_FORMAT, "id_number",
		    "id_number %s: a resident id has 18 characters, not %zu",
		    id, strlen(id));
	case IDCARD_BAD_CHAR:
		if (s_digits(id, IDCARD_LEN - 1) && id[IDCARD_LEN - 1] == 'x')
			return s_fail(err, VERR_BAD_ID_FORMAT, "id_number",
			    "id_number %s: the check character must be "
			    "an uppercase X", id);
		return s_fail(err, VERR_BAD_ID_FORMAT, "id_number",
		    "id_number %s: a resident id is 17 digits and a digit "
		    "or X", id);
	case IDCARD_BAD_BIRTH_DATE:
		birth = idcard_birth_date(id);
		if (birth == 0)
			return s_fail(err, VERR_BAD_ID_BIRTH_DATE, "id_number",
			    "id_number %s: birth date %.8s is not a calendar "
			    "date", id, id + 6);
		if (birth < 19000101)
			return s_fail(err, VERR_BAD_ID_BIRTH_DATE, "id_number",
			    "id_number %s: birth date %d is before 1900", id,
			    birth);
		return s_fail(err, VERR_BAD_ID_BIRTH_DATE, "id_number",
		    "id_number %s: birth date %d is in the future", id, birth);
	case IDCARD_BAD_CHECKSUM:
		return s_fail(err, VERR_BAD_ID_CHECKSUM, "id_number",
		    "id_number %s: check digit should be %c", id,
		    idcard_check_digit(id));
	case IDCARD_OK:
	default:
		return s_fail(err, VERR_BAD_ID_FORMAT, "id_number",
		    "id_number %s is not a resident id", id);
	}
}

/* name, id_type, id_number, phone, sex and birth_date: who was screened. */
static bool
s_check_person(const Gridwall__V1__ScreeningRecord *rec, time_t now,
    struct validation_error *err)
{
	Gridwall__V1__IdType type = GRIDWALL__V1__ID_TYPE__ID_NONE;
	enum idcard_status status;

	if (!s_required(err, "name", rec->name))
		return false;

	if (rec->has_id_type) {
		if (!s_enum_known(&gridwall__v1__id_type__descriptor,
		    rec->id_type))
			return s_fail(err, VERR_BAD_ENUM, "id_type",
			    "id_type %d is not a known document type",
			    (int)rec->id_type);
		type = rec->id_type;
	}
	if (type == GRIDWALL__V1__ID_TYPE__ID_NONE) {
		if (!s_optional(err, "id_number", rec->id_number))
			return false;
	} else {
		if (!s_required(err, "id_number", rec->id_number))
			return false;
	}
	if (type == GRIDWALL__V1__ID_TYPE__RESIDENT_ID) {
		status = idcard_check(rec->id_number, s_today_yyyymmdd(now));
		if (status != IDCARD_OK)
			return s_fail_idcard(err, rec->id_number, status);
	}

	if (!s_optional(err, "phone", rec->phone))
		return false;
	if (s_present(rec->phone) && !validate_phone(rec->phone))
		return s_fail(err, VERR_BAD_PHONE, "phone",
		    "phone %s is not a mainland mobile or landline number",
		    rec->phone);

	if (rec->has_sex &&
	    !s_enum_known(&gridwall__v1__sex__descriptor, rec->sex))
		return s_fail(err, VERR_BAD_ENUM, "sex",
		    "sex %d is not a known value", (int)rec->sex);

	if (!s_optional(err, "birth_date", rec->birth_date))
		return false;
	if (s_present(rec->birth_date) && !validate_date(rec->birth_date, NULL))
		return s_fail(err, VERR_BAD_DATE, "birth_date",
		    "birth_date %s is not a date of the form YYYY-MM-DD",
		    rec->birth_date);
	return true;
}

/* temperature, symptoms and contact: what was found. */
static bool
s_check_health(const Gridwall__V1__ScreeningRecord *rec,
    struct validation_error *err)
{
	if (rec->has_temperature_tenths &&
	    (rec->temperature_tenths < TEMPERATURE_MIN_TENTHS ||
	    rec->temperature_tenths > TEMPERATURE_MAX_TENTHS))
		return s_fail(err, VERR_TEMPERATURE_OUT_OF_RANGE, "temperature",
		    "temperature %d (tenths of a degree C) is outside %d..%d",
		    (int)rec->temperature_tenths, TEMPERATURE_MIN_TENTHS,
		    TEMPERATURE_MAX_TENTHS);

	for (size_t i = 0; i < rec->n_symptoms && rec->symptoms != NULL; i++) {
		int s = (int)rec->symptoms[i];

		if (s == GRIDWALL__V1__SYMPTOM__SYMPTOM_UNSPECIFIED ||
		    !s_enum_known(&gridwall__v1__symptom__descriptor, s))
			return s_fail(err, VERR_BAD_ENUM, "symptoms",
			    "symptoms[%zu] %d is not a known symptom", i, s);
	}

	if (rec->has_contact &&
	    !s_enum_known(&gridwall__v1__contact__descriptor, rec->contact))
		return s_fail(err, VERR_BAD_ENUM, "contact",
		    "contact %d is not a known value", (int)rec->contact);
	return true;
}

/* An optional date field; *days gets its day number, or stays unset. */
static bool
s_optional_date(struct validation_error *err, const char *field,
    const char *value, bool *has, int *days)
{
	*has = false;
	if (!s_optional(err, field, value))
		return false;
	if (!s_present(value))
		return true;
	if (!validate_date(value, days))
		return s_fail(err, VERR_BAD_DATE, field,
		    "%s %s is not a date of the form YYYY-MM-DD", field, value);
	*has = true;
	return true;
}

/* origin_region, departed_on and arrived_on: where from, and when. */
static bool
s_check_travel(const Gridwall__V1__ScreeningRecord *rec,
    struct validation_error *err)
{
	bool has_departed, has_arrived;
	int departed = 0, arrived = 0;
	int64_t screened_day, year;
	int month, day;
	size_t len;

	if (!s_optional(err, "origin_region", rec->origin_region))
		return false;
	if (s_present(rec->origin_region)) {
		len = strlen(rec->origin_region);
		if (len < REGION_MIN_DIGITS || len > REGION_MAX_DIGITS ||
		    !s_digits(rec->origin_region, len))
			return s_fail(err, VERR_BAD_REGION, "origin_region",
			    "origin_region %s is not a region code of %d to "
			    "%d digits", rec->origin_region,
			    REGION_MIN_DIGITS, REGION_MAX_DIGITS);
	}

	if (!s_optional_date(err, "departed_on", rec->departed_on,
	    &has_departed, &departed))
		return false;
	if (!s_optional_date(err, "arrived_on", rec->arrived_on,
	    &has_arrived, &arrived))
		return false;

	if (has_arrived) {
		/* screened_at is present and bounded above by now here. */
		screened_day = validate_local_day(rec->screened_at);
		if (arrived > screened_day) {
			civil_date_from_days(screened_day, &year, &month, &day);
			return s_fail(err, VERR_ARRIVED_AFTER_SCREENING,
			    "arrived_on", "arrived_on %s is after the "
			    "screening day %04lld-%02d-%02d", rec->arrived_on,
			    (long long)year, month, day);
		}
	}
	if (has_departed && has_arrived && departed > arrived)
		return s_fail(err, VERR_DEPARTED_AFTER_ARRIVAL, "departed_on",
		    "departed_on %s is after arrived_on %s", rec->departed_on,
		    rec->arrived_on);
	return true;
}

/* device_id, worker_id, team_id, household_code and note: text only. */
static bool
s_check_other_text(const Gridwall__V1__ScreeningRecord *rec,
    struct validation_error *err)
{
	if (!s_optional(err, "device_id", rec->device_id) ||
	    !s_optional(err, "worker_id", rec->worker_id) ||
	    !s_optional(err, "team_id", rec->team_id) ||
	    !s_optional(err, "household_code", rec->household_code))
		return false;
	if (s_present(rec->note) &&
	    !s_text_ok(err, "note", rec->note, NOTE_MAX_BYTES, TEXT_MULTI_LINE))
		return false;
	return true;
}

/* Runs every check in the documented order; stops at the first failure. */
bool
validate_record(const Gridwall__V1__ScreeningRecord *rec,
    const struct area_tree *areas, time_t now, struct validation_error *err)
{
	struct validation_error scratch;

	if (err == NULL)
		err = &scratch;
	err->code = NULL;
	err->field = NULL;
	err->message[0] = '\0';
	if (rec == NULL)
		return s_fail(err, VERR_MISSING_FIELD, "record",
		    "the record is missing");
	return s_check_envelope(rec, areas, now, err) &&
	    s_check_person(rec, now, err) &&
	    s_check_health(rec, err) &&
	    s_check_travel(rec, err) &&
	    s_check_other_text(rec, err);
}

bool
validate_submitted(Gridwall__V1__ScreeningRecord *rec,
    const struct area_tree *areas, time_t now, const char *district,
    const char *device, struct validation_error *err)
{
	if (rec != NULL && !rec->has_id_type && s_present(rec->id_number)) {
		rec->has_id_type = true;
		rec->id_type = GRIDWALL__V1__ID_TYPE__RESIDENT_ID;
	}
	if (!validate_record(rec, areas, now, err))
		return false;
	if (district == NULL || district[0] == '\0' ||
	    strncmp(rec->grid_code, district, strlen(district)) == 0)
		return true;
	return s_fail(err, VERR_WRONG_DISTRICT, "grid_code",
	    "grid_code %s is outside district %s of device %s", rec->grid_code,
	    district, device != NULL ? device : "?");
}

/* True for the RFC 4122 text form: 8-4-4-4-12 hex digits, either case. */
bool
validate_uuid(const char *s)
{
	if (s == NULL || strnlen(s, UUID_TEXT_LEN + 1) != UUID_TEXT_LEN)
		return false;
	for (int i = 0; i < UUID_TEXT_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!s_is_hex(s[i])) {
			return false;
		}
	}
	return true;
}

/*
 * True for a mainland mobile (1[3-9] and 9 more digits) or a landline:
 * trunk 0, an area code of 2 or 3 digits not starting with 0, an optional
 * '-', and 7 or 8 digits. Without the '-' the split is ambiguous, so any
 * 10 to 12 digits after such a prefix are taken.
 */
bool
validate_phone(const char *s)
{
	const char *dash;
	size_t len, area, local;

	if (s == NULL)
		return false;
	len = strnlen(s, 16);
	if (len == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' &&
	    s_digits(s, len))
		return true;
	if (s[0] != '0' || s[1] == '0')
		return false;
	dash = memchr(s, '-', len);
	if (dash == NULL)
		return len >= 10 && len <= 12 && s_digits(s, len);
	area = (size_t)(dash - s) - 1;
	local = len - area - 2;
	return area >= 2 && area <= 3 && s_digits(s + 1, area) &&
	    local >= 7 && local <= 8 && s_digits(dash + 1, local);
}

/* Parses exactly YYYY-MM-DD (year 0001 to 9999) into a day number. */
bool
validate_date(const char *s, int *days_since_epoch)
{
	int64_t days;

	if (!civil_parse(s, &days))
		return false;
	if (days_since_epoch != NULL)
		*days_since_epoch = (int)days;
	return true;
}

/* True for valid UTF-8 without control characters other than tab. */
bool
validate_text(const char *s)
{
	return s != NULL && s_scan_text(s, TEXT_ALLOW_TAB) == TEXT_OK;
}

/* Shifts to UTC+8 first, so the day boundary is local midnight. */
int
validate_local_day(int64_t t)
{
	return (int)civil_day_of(t + LOCAL_UTC_OFFSET_S);
}
