/*
 * Validation of one screening record before it is stored. Pure: no database,
 * the clock comes in as an argument. Each failure names a stable code, the
 * field and a message for a person, so a field app can say which record and
 * which field was wrong.
 */
#ifndef GRIDWALL_VALIDATE_H
#define GRIDWALL_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "gridwall/v1/gridwall.pb-c.h"
#include "area.h"

#define TEMPERATURE_MIN_TENTHS 340
#define TEMPERATURE_MAX_TENTHS 430
#define FEVER_TENTHS 373
#define SCREENED_AT_MAX_AHEAD_S 600      /* clock skew tolerated on devices */
/*
 * 0001-01-01T00:00:00Z: no screening is older than the first date a date
 * field can hold. Below it the database cannot store the time, and rulesd's
 * arithmetic on it (the windows of fevers_in_last) would overflow.
 */
#define SCREENED_AT_MIN_S (-62135596800LL)
#define NOTE_MAX_BYTES 500
#define TEXT_FIELD_MAX_BYTES 64          /* ids, names, codes */
/*
 * Field apps write dates as local dates in China (UTC+8, no daylight
 * saving); a screening's day is taken in the same zone wherever days are
 * compared (validation, the 14-day rules).
 */
#define LOCAL_UTC_OFFSET_S (8 * 3600)

struct validation_error {
	const char *code;     /* e.g. "BAD_ID_CHECKSUM"; static string */
	const char *field;    /* e.g. "id_number"; static string */
	char message[192];
};

/* Stable error codes (docs/protocol.md lists them with their meaning). */
#define VERR_MISSING_FIELD             "MISSING_FIELD"
#define VERR_BAD_UUID                  "BAD_UUID"
#define VERR_BAD_ENUM                  "BAD_ENUM"
#define VERR_FIELD_TOO_LONG            "FIELD_TOO_LONG"
#define VERR_BAD_TEXT                  "BAD_TEXT"            /* not UTF-8, or control characters in a one-line field */
#define VERR_BAD_ID_FORMAT             "BAD_ID_FORMAT"
#define VERR_BAD_ID_CHECKSUM           "BAD_ID_CHECKSUM"
#define VERR_BAD_ID_BIRTH_DATE         "BAD_ID_BIRTH_DATE"
#define VERR_BAD_PHONE                 "BAD_PHONE"
#define VERR_BAD_DATE                  "BAD_DATE"
#define VERR_UNKNOWN_GRID              "UNKNOWN_GRID"
#define VERR_NOT_A_GRID                "NOT_A_GRID"
#define VERR_BAD_REGION                "BAD_REGION"
#define VERR_TEMPERATURE_OUT_OF_RANGE  "TEMPERATURE_OUT_OF_RANGE"
#define VERR_SCREENED_AT_IN_FUTURE     "SCREENED_AT_IN_FUTURE"
#define VERR_SCREENED_AT_TOO_EARLY     "SCREENED_AT_TOO_EARLY"
#define VERR_ARRIVED_AFTER_SCREENING   "ARRIVED_AFTER_SCREENING"
#define VERR_DEPARTED_AFTER_ARRIVAL    "DEPARTED_AFTER_ARRIVAL"
#define VERR_WRONG_DISTRICT            "WRONG_DISTRICT"      /* validate_submitted only */

/*
 * Checks a record; returns true if it may be stored, otherwise false with
 * err filled for the first problem found. areas may be NULL only in tests
 * that do not check grids.
 */
bool validate_record(const Gridwall__V1__ScreeningRecord *rec,
                     const struct area_tree *areas, time_t now,
                     struct validation_error *err);

/*
 * What ingestd does with each record it receives, on either channel: a
 * document number sent without its type is a resident id (the common case
 * in the field; rec is changed so), then validate_record, then, for a
 * device bound to a district (district not empty), the grid must lie in
 * it; device names the device in that message.
 */
bool validate_submitted(Gridwall__V1__ScreeningRecord *rec,
                        const struct area_tree *areas, time_t now,
                        const char *district, const char *device,
                        struct validation_error *err);

/* Each check on its own, for the record checker and for the tools. */
bool validate_uuid(const char *s);
bool validate_phone(const char *s);
/* Parses YYYY-MM-DD into days since 1970-01-01; false if not a calendar date. */
bool validate_date(const char *s, int *days_since_epoch);
/* The local day (days since 1970-01-01, UTC+8) of a Unix time. */
int validate_local_day(int64_t t);
/* True if s is valid UTF-8 with no control characters (tab excepted). */
bool validate_text(const char *s);

#endif
