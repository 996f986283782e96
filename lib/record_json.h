/*
 * The JSON form of screening records and their results, as gridctl push,
 * the HTTP intake and the docs spell them (docs/protocol.md). Enum values
 * are lower-case names (codec.h), temperature is degrees Celsius as a
 * number, screened_at is RFC 3339 UTC text or Unix seconds.
 */
#ifndef GRIDWALL_RECORD_JSON_H
#define GRIDWALL_RECORD_JSON_H

#include <stdbool.h>
#include <jansson.h>

#include "gridwall/v1/gridwall.pb-c.h"
#include "validate.h"

#define VERR_BAD_JSON     "BAD_JSON"       /* not a JSON object, or not JSON at all */
#define VERR_BAD_TYPE     "BAD_TYPE"       /* a field of the wrong JSON type or an unknown enum name */
#define VERR_UNKNOWN_FIELD "UNKNOWN_FIELD" /* a key the contract does not have */

/*
 * Fills rec (initialised here) from a JSON object. String fields point into
 * obj, which must outlive rec; the symptoms array is allocated and released
 * by record_json_release. Returns false with err set (code, field, message)
 * on a key that is unknown or of the wrong type; the value checks are
 * validate_record's job.
 */
bool record_from_json(json_t *obj, Gridwall__V1__ScreeningRecord *rec,
                      struct validation_error *err);
void record_json_release(Gridwall__V1__ScreeningRecord *rec);

/*
 * Parses a request body of records as the HTTP intake takes it: a JSON
 * array (the first byte that is not white space is '['), or else NDJSON,
 * one record a line, blank lines skipped. Returns a new array with one
 * element per record, or NULL with why set when an array body is not JSON
 * or not an array. For NDJSON, *errors is a new array as long as the
 * result: a line that is not JSON is null in the result and a string
 * saying why in *errors (null there otherwise); else *errors is NULL.
 */
json_t *record_json_parse_body(const char *body, size_t len, json_t **errors,
                               char *why, size_t whylen);
/*
 * Cuts text back to its longest prefix that is UTF-8. jansson's error text
 * (json_error_t.text) quotes the input near the error and may stop in the
 * middle of a character; cut it before a JSON answer quotes it.
 */
void record_json_utf8_cut(char *text);
/*
 * Fills rec from element i of a body so parsed, as record_from_json does;
 * a line that was not JSON fails with BAD_JSON and its reason.
 */
bool record_from_body(json_t *doc, json_t *errors, size_t i,
                      Gridwall__V1__ScreeningRecord *rec, struct validation_error *err);

/* A new JSON object for a record (for tools, logs and the API). */
json_t *record_to_json(const Gridwall__V1__ScreeningRecord *rec);

/* {"index":0,"outcome":"accepted","server_id":12,...} for one result. */
json_t *record_result_to_json(const Gridwall__V1__RecordResult *res);

/* A new JSON object for an alert, as gridctl and the API show it. */
json_t *risk_alert_to_json(const Gridwall__V1__RiskAlert *alert);

#endif
