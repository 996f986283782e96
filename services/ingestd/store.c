/*
 * The durable part of ingest: one transaction per batch, under an advisory
 * lock so that batches commit one after another and screening ids become
 * visible in increasing order (consumers keep a plain watermark). Each
 * record runs under its own savepoint: a record the database refuses is
 * rejected alone and its neighbours are still stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ingestd.h"
#include "log.h"

/* Arbitrary key of the lock that serialises screening writers. */
#define INGEST_LOCK_KEY "7701"

static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock($1::bigint)";

static const char SQL_FIND_SCREENING[] =
	"SELECT id, extract(epoch FROM received_at)::bigint FROM screenings WHERE client_uuid = $1::uuid";

static const char SQL_HOUSEHOLD[] =
	"WITH found AS (SELECT id FROM households WHERE code = $1), "
	"ins AS (INSERT INTO households (code, grid_code, kind) "
	"        SELECT $1, $2, 'floating' WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id) "
	"SELECT id FROM found UNION ALL SELECT id FROM ins";

static const char SQL_PERSON_BY_DOCUMENT[] =
	"WITH found AS (SELECT id FROM persons WHERE id_type = $1 AND id_number = $2), "
	"ins AS (INSERT INTO persons (id_type, id_number, name, phone, sex, birth_date, household_id, new_resident) "
	"        SELECT $1, $2, $3, $4, $5, $6::date, $7::bigint, true "
	"        WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id) "
	"SELECT id FROM found UNION ALL SELECT id FROM ins";

static const char SQL_PERSON_BY_NAME[] =
	"WITH found AS (SELECT id FROM persons WHERE id_type = 'none' AND name = $3 "
	"               AND phone IS NOT DISTINCT FROM $4 AND household_id IS NOT DISTINCT FROM $7::bigint LIMIT 1), "
	"ins AS (INSERT INTO persons (id_type, id_number, name, phone, sex, birth_date, household_id, new_resident) "
	"        SELECT $1, $2, $3, $4, $5, $6::date, $7::bigint, true "
	"        WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id) "
	"SELECT id FROM found UNION ALL SELECT id FROM ins";

static const char SQL_INSERT_SCREENING[] =
	"INSERT INTO screenings (client_uuid, device_id, worker_id, team_id, channel, screened_at, "
	"  grid_code, household_id, person_id, temperature, symptoms, origin_region, departed_on, "
	"  arrived_on, contact, note) "
	"VALUES ($1::uuid, $2, $3, $4, $5, to_timestamp($6::bigint), $7, $8::bigint, $9::bigint, "
	"  $10::numeric / 10, $11::text[], $12, $13::date, $14::date, $15, $16) "
	"ON CONFLICT (client_uuid) DO NOTHING "
	"RETURNING id, extract(epoch FROM received_at)::bigint";

/* A non-empty string or NULL, as a SQL parameter. */
static const char *
s_opt(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* Runs a one-row query and returns its first column as an id, or -1. */
static int64_t
s_query_id(struct db *db, const char *what, const char *sql, int n, const char *const *params,
           int64_t *second)
{
	PGresult *res = db_query(db, what, PGRES_TUPLES_OK, sql, n, params);
	int64_t id = -1;

	if (res == NULL)
		return -2;
	if (PQntuples(res) > 0) {
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (second != NULL && PQnfields(res) > 1)
			*second = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	return id;
}

/* The household id for the record, created as floating when new; 0 for none. */
static int64_t
s_household(struct db *db, const Gridwall__V1__ScreeningRecord *r)
{
	const char *params[2] = { r->household_code, r->grid_code };

	if (s_opt(r->household_code) == NULL)
		return 0;
	return s_query_id(db, "find household", SQL_HOUSEHOLD, 2, params, NULL);
}

/* The person's file, matched by document (or name, phone, household), created when new. */
static int64_t
s_person(struct db *db, const Gridwall__V1__ScreeningRecord *r, int64_t household_id)
{
	char household[24];
	const char *params[7];
	bool by_document = r->id_type != GRIDWALL__V1__ID_TYPE__ID_NONE;

	snprintf(household, sizeof(household), "%lld", (long long)household_id);
	params[0] = codec_id_type_name(r->id_type);
	params[1] = by_document ? r->id_number : NULL;
	params[2] = r->name;
	params[3] = s_opt(r->phone);
	params[4] = r->has_sex ? codec_sex_name(r->sex) : NULL;
	params[5] = s_opt(r->birth_date);
	params[6] = household_id > 0 ? household : NULL;
	return s_query_id(db, "match person", by_document ? SQL_PERSON_BY_DOCUMENT : SQL_PERSON_BY_NAME,
	                  7, params, NULL);
}

/* Writes the symptoms as a text[] literal; the names are fixed identifiers. */
static void
s_symptoms(const Gridwall__V1__ScreeningRecord *r, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "{");

	for (size_t i = 0; i < r->n_symptoms && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
		                         codec_symptom_name(r->symptoms[i]));
	if (used < len)
		snprintf(buf + used, len - used, "}");
}

/* Inserts the screening row; returns its id, or -1 when the uuid is already there. */
static int64_t
s_insert(struct db *db, const Gridwall__V1__ScreeningRecord *r, int64_t household_id,
         int64_t person_id, int64_t *received_at)
{
	char screened[24], household[24], person[24], temp[16], symptoms[256];
	const char *params[16];

	snprintf(screened, sizeof(screened), "%lld", (long long)r->screened_at);
	snprintf(household, sizeof(household), "%lld", (long long)household_id);
	snprintf(person, sizeof(person), "%lld", (long long)person_id);
	snprintf(temp, sizeof(temp), "%d", r->temperature_tenths);
	s_symptoms(r, symptoms, sizeof(symptoms));
	params[0] = r->client_uuid;
	params[1] = s_opt(r->device_id);
	params[2] = s_opt(r->worker_id);
	params[3] = s_opt(r->team_id);
	params[4] = codec_channel_name(r->channel);
	params[5] = screened;
	params[6] = r->grid_code;
	params[7] = household_id > 0 ? household : NULL;
	params[8] = person;
	params[9] = r->has_temperature_tenths ? temp : NULL;
	params[10] = symptoms;
	params[11] = s_opt(r->origin_region);
	params[12] = s_opt(r->departed_on);
	params[13] = s_opt(r->arrived_on);
	params[14] = codec_contact_name(r->has_contact ? r->contact : GRIDWALL__V1__CONTACT__NO_CONTACT);
	params[15] = s_opt(r->note);
	return s_query_id(db, "insert screening", SQL_INSERT_SCREENING, 16, params, received_at);
}

/*
 * Stores one record inside the open transaction. Returns 0 when done (out
 * says how), -1 when the database refused this record only, -2 when the
 * connection failed.
 */
static int
s_store_one(struct db *db, const Gridwall__V1__ScreeningRecord *r, struct stored *out)
{
	const char *uuid[1] = { r->client_uuid };
	int64_t id;

	id = s_query_id(db, "find duplicate", SQL_FIND_SCREENING, 1, uuid, &out->received_at);
	if (id == -2)
		return -1;
	if (id > 0) {
		out->outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE;
		out->server_id = id;
		return 0;
	}
	out->household_id = s_household(db, r);
	if (out->household_id < 0)
		return -1;
	out->person_id = s_person(db, r, out->household_id);
	if (out->person_id < 0)
		return -1;
	id = s_insert(db, r, out->household_id, out->person_id, &out->received_at);
	if (id < 0)
		return -1;
	out->outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED;
	out->server_id = id;
	return 0;
}

/* Runs one record under a savepoint; -1 only when the connection is gone. */
static int
s_store_isolated(struct db *db, const Gridwall__V1__ScreeningRecord *r, struct stored *out)
{
	if (!db_command(db, "savepoint", "SAVEPOINT rec", 0, NULL))
		return -1;
	if (s_store_one(db, r, out) == 0)
		return db_command(db, "release savepoint", "RELEASE SAVEPOINT rec", 0, NULL) ? 0 : -1;
	if (db_conn(db) == NULL)
		return -1;
	if (!db_command(db, "rollback to savepoint", "ROLLBACK TO SAVEPOINT rec", 0, NULL))
		return -1;
	out->outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED;
	out->code = "STORE_FAILED";
	snprintf(out->message, sizeof(out->message),
	         "the database refused the record (see the ingestd log)");
	return 0;
}

int
store_batch(struct db *db, Gridwall__V1__ScreeningRecord **recs, const bool *valid,
            size_t n, struct stored *out)
{
	const char *lock[1] = { INGEST_LOCK_KEY };
	PGresult *res;

	if (db_conn(db) == NULL)
		return -1;
	if (!db_command(db, "begin", "BEGIN", 0, NULL))
		return -1;
	res = db_query(db, "take ingest lock", PGRES_TUPLES_OK, SQL_LOCK, 1, lock);
	if (res == NULL)
		goto fail;
	PQclear(res);
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		if (valid[i] && s_store_isolated(db, recs[i], &out[i]) != 0)
			goto fail;
	}
	if (!db_command(db, "commit", "COMMIT", 0, NULL))
		return -1;
	return 0;
fail:
	db_rollback(db);
	return -1;
}
