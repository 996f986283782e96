/*
 * The durable part of ingest: one transaction per group. The group's valid
 * records travel as 22 binary array parameters, one per column (nothing
 * escaped), unnested into an "incoming" relation by the statements that
 * create missing households and persons, insert the screenings, note
 * registry mismatches, and return one row per record. The transaction
 * holds an advisory lock, so groups commit one after another and screening
 * ids become visible in increasing order (consumers keep a plain
 * watermark). If the database refuses the group as a whole for a data
 * error, the group is stored again record by record, each under a
 * savepoint, so that one bad record is rejected alone.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "ingestd.h"
#include "log.h"

#define INGEST_LOCK_KEY "7701"

/* The lock that serialises screening writers, taken first in each group's transaction. */
#define SQL_LOCK "SELECT pg_advisory_xact_lock(" INGEST_LOCK_KEY ")"
static const char SQL_BEGIN[] = "BEGIN; " SQL_LOCK;

/* The group as a relation: one array parameter per column, in this order. */
#define INCOMING \
	"incoming AS (SELECT * FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[], " \
	"  $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], " \
	"  $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], " \
	"  $18::text[], $19::text[], $20::text[], $21::text[], $22::text[]) " \
	"  AS t (seq, client_uuid, device_id, worker_id, team_id, channel, screened_at, grid_code, " \
	"  household_code, id_type, id_number, name, phone, sex, birth_date, temperature, symptoms, " \
	"  origin_region, departed_on, arrived_on, contact, note))"

/*
 * Households named by records of persons without a document, and not yet in
 * their grid, become floating households first: matching those persons
 * needs the household's id. Everyone else's new households are created by
 * the main statement.
 */
static const char SQL_HOUSEHOLDS_UNDOCUMENTED[] =
	"WITH " INCOMING " "
	"INSERT INTO households (code, grid_code, kind) "
	"SELECT DISTINCT i.household_code, i.grid_code, 'floating' FROM incoming i "
	"WHERE i.id_type = 'none' AND i.household_code IS NOT NULL AND NOT EXISTS ("
	"  SELECT 1 FROM households h WHERE h.grid_code = i.grid_code AND h.code = i.household_code) "
	"ON CONFLICT (grid_code, code) DO NOTHING";

/*
 * Without a document (no id_number: the index persons_undocumented) a
 * person is matched by name, phone and household; a
 * new one is created, and anyone on file with the same name and the same
 * phone or household is recorded as a possible duplicate for a later merge.
 */
static const char SQL_PERSONS_BY_NAME[] =
	"WITH " INCOMING ", created AS ("
	"  INSERT INTO persons (id_type, name, phone, sex, birth_date, household_id, new_resident) "
	"  SELECT DISTINCT ON (i.name, i.phone, h.id) 'none', i.name, i.phone, i.sex, i.birth_date::date, h.id, true "
	"  FROM incoming i LEFT JOIN households h ON h.grid_code = i.grid_code AND h.code = i.household_code "
	"  WHERE i.id_type = 'none' AND NOT EXISTS ("
	"    SELECT 1 FROM persons p WHERE p.id_number IS NULL AND p.name = i.name "
	"    AND p.phone IS NOT DISTINCT FROM i.phone AND p.household_id IS NOT DISTINCT FROM h.id) "
	"  ORDER BY i.name, i.phone, h.id, i.seq "
	"  RETURNING id, name, phone, household_id) "
	"INSERT INTO person_duplicates (person_id, candidate_id, reason) "
	"SELECT c.id, p.id, CASE WHEN p.phone = c.phone THEN 'same name and phone' "
	"                        ELSE 'same name and household' END "
	"FROM created c CROSS JOIN LATERAL ("
	"  SELECT id, phone FROM persons WHERE name = c.name AND id < c.id "
	"    AND (phone = c.phone OR household_id = c.household_id) "
	"  UNION ALL "
	"  SELECT id, phone FROM created o WHERE o.name = c.name AND o.id < c.id "
	"    AND (o.phone = c.phone OR o.household_id = c.household_id)) p "
	"ON CONFLICT DO NOTHING";

/*
 * Everything else in one statement, each record looked up once. A group
 * holds each client_uuid once (repeats are answered by s_apply_repeats) and
 * commits under the ingest lock, so a client_uuid not stored when the
 * statement starts cannot be stored by anyone before it inserts: the insert
 * needs no ON CONFLICT, and the original of a duplicate is looked up only
 * for the records not inserted.
 *   resolved  the new ones (not stored before), with their household (the
 *             one named, or else the person's own on file) and their
 *             person on file, if any: by document (pd), or, for a record
 *             without one (its id_number is NULL, so pd finds nobody), by
 *             name, phone and household (pu);
 *   newh      households not yet in their grid, created floating;
 *   newp      documents not on file: new files, flagged new residents;
 *   ins       the screenings;
 *   reviews   names and birth dates that disagree with the file.
 * It returns one row per record: seq, accepted?, server id, person,
 * household, received_at (a duplicate gets the original's id).
 */
static const char SQL_SCREENINGS[] =
	"WITH " INCOMING ", resolved AS ("
	"  SELECT i.*, CASE WHEN i.household_code IS NULL THEN pd.household_id ELSE h.id END AS hid, "
	"         coalesce(pd.id, pu.id) AS pid, "
	"         coalesce(pd.name, pu.name) AS pname, coalesce(pd.birth_date, pu.birth_date) AS pbirth "
	"  FROM incoming i "
	"  LEFT JOIN households h ON h.grid_code = i.grid_code AND h.code = i.household_code "
	"  LEFT JOIN persons pd ON pd.id_type = i.id_type AND pd.id_number = i.id_number "
	"  LEFT JOIN LATERAL ("
	"    SELECT p.id, p.name, p.birth_date FROM persons p WHERE i.id_type = 'none' "
	"      AND p.id_number IS NULL AND p.name = i.name AND p.phone IS NOT DISTINCT FROM i.phone "
	"      AND p.household_id IS NOT DISTINCT FROM h.id "
	"    LIMIT 1) pu ON true "
	"  WHERE NOT EXISTS (SELECT 1 FROM screenings s WHERE s.client_uuid = i.client_uuid::uuid)"
	"), newh AS ("
	"  INSERT INTO households (code, grid_code, kind) "
	"  SELECT DISTINCT household_code, grid_code, 'floating' FROM resolved "
	"  WHERE hid IS NULL AND household_code IS NOT NULL "
	"  ON CONFLICT (grid_code, code) DO NOTHING "
	"  RETURNING id, grid_code, code"
	"), newp AS ("
	"  INSERT INTO persons (id_type, id_number, name, phone, sex, birth_date, household_id, new_resident) "
	"  SELECT DISTINCT ON (r.id_type, r.id_number) r.id_type, r.id_number, r.name, r.phone, r.sex, "
	"         r.birth_date::date, coalesce(r.hid, nh.id), true "
	"  FROM resolved r LEFT JOIN newh nh ON nh.grid_code = r.grid_code AND nh.code = r.household_code "
	"  WHERE r.pid IS NULL AND r.id_type <> 'none' "
	"  ORDER BY r.id_type, r.id_number, r.seq "
	"  ON CONFLICT (id_type, id_number) DO NOTHING "
	"  RETURNING id, id_type, id_number"
	"), ins AS ("
	"  INSERT INTO screenings (client_uuid, device_id, worker_id, team_id, channel, screened_at, "
	"    grid_code, household_id, person_id, temperature, symptoms, origin_region, departed_on, "
	"    arrived_on, contact, note) "
	"  SELECT r.client_uuid::uuid, r.device_id, r.worker_id, r.team_id, r.channel, "
	"    to_timestamp(r.screened_at::bigint), r.grid_code, coalesce(r.hid, nh.id), "
	"    coalesce(r.pid, np.id), r.temperature::numeric / 10, "
	"    string_to_array(coalesce(r.symptoms, ''), ','), r.origin_region, r.departed_on::date, "
	"    r.arrived_on::date, r.contact, r.note "
	"  FROM resolved r "
	"  LEFT JOIN newh nh ON nh.grid_code = r.grid_code AND nh.code = r.household_code "
	"  LEFT JOIN newp np ON np.id_type = r.id_type AND np.id_number = r.id_number "
	"  WHERE coalesce(r.pid, np.id) IS NOT NULL "
	"  ORDER BY r.seq "
	"  RETURNING id, client_uuid, person_id, household_id, "
	"            extract(epoch FROM received_at)::bigint AS received"
	"), reviews AS ("
	"  INSERT INTO person_reviews (screening_id, person_id, field, registry_value, record_value) "
	"  SELECT ins.id, ins.person_id, v.field, v.registry, v.record "
	"  FROM (SELECT * FROM resolved WHERE pid IS NOT NULL "
	"        AND (pname <> name OR pbirth <> birth_date::date)) r "
	"  JOIN ins ON ins.client_uuid = r.client_uuid::uuid "
	"  CROSS JOIN LATERAL (VALUES ('name', r.pname, r.name), "
	"                             ('birth_date', r.pbirth::text, r.birth_date)) v (field, registry, record) "
	"  WHERE v.registry <> v.record"
	") "
	"SELECT i.seq, ins.id IS NOT NULL, "
	"       coalesce(ins.id, (SELECT s.id FROM screenings s WHERE s.client_uuid = i.client_uuid::uuid)), "
	"       ins.person_id, ins.household_id, ins.received "
	"FROM incoming i "
	"LEFT JOIN ins ON ins.client_uuid = i.client_uuid::uuid "
	"ORDER BY i.seq";

/*
 * The statements of a group, prepared once per connection and run with
 * generic plans: parsing and planning them anew cost as much as storing a
 * group of 25 records. A generic plan assumes a group of about a hundred
 * records and looks up each one by index, which stays right for any group
 * size; but it is made for the table sizes of the moment it is planned
 * (an empty table after a restore, or on the first day, is scanned whole),
 * so they are prepared again each time the records stored since have
 * doubled, up to every PLANS_REPLAN_MAX records.
 */
#define PLANS_REPLAN_MIN 1024
#define PLANS_REPLAN_MAX (1u << 20)

static const char SQL_GENERIC_PLANS[] =
	"DEALLOCATE ALL; SET plan_cache_mode = force_generic_plan";

enum { STEP_HOUSEHOLDS, STEP_PERSONS, STEP_SCREENINGS, NSTATEMENTS };

static const struct {
	const char *name;   /* of the prepared statement */
	const char *what;   /* for the log */
	const char *sql;
} group_statements[NSTATEMENTS] = {
	[STEP_HOUSEHOLDS] = { "ingest_households", "create households of persons without a document",
	                      SQL_HOUSEHOLDS_UNDOCUMENTED },
	[STEP_PERSONS] = { "ingest_persons", "match persons without a document", SQL_PERSONS_BY_NAME },
	[STEP_SCREENINGS] = { "ingest_screenings", "store screenings", SQL_SCREENINGS },
};

/* Prepares the group statements unless those of this connection are still fit; false on failure. */
static bool
s_plans_ready(struct ingestd *in)
{
	struct store_plans *pl = &in->plans;
	struct db *db = in->daemon->db;

	if (pl->ready && pl->connection == db_reconnects(db) && pl->stored < pl->replan_after)
		return true;
	if (pl->ready && pl->connection == db_reconnects(db))
		pl->replan_after = pl->replan_after * 2 > PLANS_REPLAN_MAX ? PLANS_REPLAN_MAX
		                                                           : pl->replan_after * 2;
	else
		pl->replan_after = PLANS_REPLAN_MIN;
	pl->ready = false;
	if (!db_script(db, "use generic plans", SQL_GENERIC_PLANS))
		return false;
	for (int i = 0; i < NSTATEMENTS; i++)
		if (!db_prepare(db, group_statements[i].what, group_statements[i].name,
		                group_statements[i].sql))
			return false;
	pl->ready = true;
	pl->connection = db_reconnects(db);
	pl->stored = 0;
	in->stats.plans_prepared++;
	return true;
}

/* A non-empty string or NULL. */
static const char *
s_opt(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* Writes the symptoms as "cough,fatigue": fixed names, no separator inside them. */
static void
s_symptoms(const Gridwall__V1__ScreeningRecord *r, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n_symptoms && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
		                         codec_symptom_name(r->symptoms[i]));
}

/* Starts the column arrays of a group. */
static void
s_begin_columns(struct pgarray *cols)
{
	pgarray_begin(&cols[0], PGARRAY_INT4);
	for (int i = 1; i < INCOMING_COLUMNS; i++)
		pgarray_begin(&cols[i], PGARRAY_TEXT);
}

/* Appends one record to the column arrays, as a row of "incoming". */
static void
s_add_record(struct pgarray *cols, int32_t seq, const Gridwall__V1__ScreeningRecord *r)
{
	char screened[24], temp[16], symptoms[256];
	bool documented = r->id_type != GRIDWALL__V1__ID_TYPE__ID_NONE;
	const char *text[INCOMING_COLUMNS] = {
		NULL, r->client_uuid, s_opt(r->device_id), s_opt(r->worker_id), s_opt(r->team_id),
		codec_channel_name(r->channel), screened, r->grid_code, s_opt(r->household_code),
		codec_id_type_name(r->id_type), documented ? r->id_number : NULL, r->name,
		s_opt(r->phone), r->has_sex ? codec_sex_name(r->sex) : NULL, s_opt(r->birth_date),
		r->has_temperature_tenths ? temp : NULL, symptoms, s_opt(r->origin_region),
		s_opt(r->departed_on), s_opt(r->arrived_on),
		codec_contact_name(r->has_contact ? r->contact : GRIDWALL__V1__CONTACT__NO_CONTACT),
		s_opt(r->note),
	};

	snprintf(screened, sizeof(screened), "%lld", (long long)r->screened_at);
	snprintf(temp, sizeof(temp), "%d", r->temperature_tenths);
	s_symptoms(r, symptoms, sizeof(symptoms));
	pgarray_int4(&cols[0], seq);
	for (int i = 1; i < INCOMING_COLUMNS; i++)
		pgarray_text(&cols[i], text[i]);
}

/* Completes the column arrays; false if memory ran out. */
static bool
s_end_columns(struct pgarray *cols)
{
	bool ok = true;

	for (int i = 0; i < INCOMING_COLUMNS; i++)
		ok &= pgarray_end(&cols[i]);
	return ok;
}

/* A client_uuid of the group, and the slot of the record that brought it first. */
struct uuid_seen {
	const char *uuid;
	struct stored *first;
};

/* FNV-1a of a uuid, case folded: "ABC…" and "abc…" are one uuid. */
static size_t
s_uuid_hash(const char *uuid)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *uuid; uuid++)
		h = (h ^ (unsigned char)(*uuid | 0x20)) * 1099511628211ULL;
	return (size_t)h;
}

/* Empties the set, sized for n uuids; false when memory is short. */
static bool
s_seen_reset(struct ingestd *in, size_t n)
{
	size_t cap = 64;

	while (cap < n * 2)
		cap *= 2;
	if (cap > in->seen_cap) {
		struct uuid_seen *p = realloc(in->seen, cap * sizeof(*p));

		if (p == NULL)
			return false;
		in->seen = p;
		in->seen_cap = cap;
	}
	memset(in->seen, 0, in->seen_cap * sizeof(*in->seen));
	return true;
}

/* The slot of the record that brought uuid first, after noting st as that record if none did. */
static struct stored *
s_seen_first(struct ingestd *in, const char *uuid, struct stored *st)
{
	size_t mask = in->seen_cap - 1, i = s_uuid_hash(uuid) & mask;

	while (in->seen[i].uuid != NULL && strcasecmp(in->seen[i].uuid, uuid) != 0)
		i = (i + 1) & mask;
	if (in->seen[i].uuid == NULL) {
		in->seen[i].uuid = uuid;
		in->seen[i].first = st;
	}
	return in->seen[i].first;
}

/*
 * Marks every valid record whose client_uuid came earlier in the group as
 * a repeat of that record; returns how many are left to store.
 */
static size_t
s_mark_repeats(struct ingestd *in, struct submission *head)
{
	size_t left = 0;

	for (struct submission *sub = head; sub != NULL; sub = sub->next) {
		for (size_t i = 0; i < sub->n; i++) {
			struct stored *first;

			memset(&sub->st[i], 0, sizeof(sub->st[i]));
			if (sub->verr[i].code != NULL)
				continue;
			first = s_seen_first(in, sub->recs[i]->client_uuid, &sub->st[i]);
			if (first != &sub->st[i])
				sub->st[i].repeat_of = first;
			else
				left++;
		}
	}
	return left;
}

/* A repeat is answered like the record it repeats: a duplicate of it, or refused alike. */
static void
s_apply_repeats(struct submission *head)
{
	for (struct submission *sub = head; sub != NULL; sub = sub->next) {
		for (size_t i = 0; i < sub->n; i++) {
			struct stored *st = &sub->st[i];
			const struct stored *first = st->repeat_of;

			if (sub->verr[i].code != NULL || first == NULL)
				continue;
			*st = *first;
			st->repeat_of = first;
			if (first->outcome != GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED)
				st->outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE;
		}
	}
}

/* Whether a record is stored by this group: valid, and not a repeat. */
static bool
s_to_store(const struct submission *sub, size_t i)
{
	return sub->verr[i].code == NULL && sub->st[i].repeat_of == NULL;
}

/* Whether a record names no identity document. */
static bool
s_undocumented(const Gridwall__V1__ScreeningRecord *r)
{
	return r->id_type == GRIDWALL__V1__ID_TYPE__ID_NONE;
}

/*
 * Encodes every valid record of the group; seq counts them in group order.
 * *undocumented tells whether any names no document.
 */
static bool
s_encode(struct pgarray *cols, struct submission *head, bool *undocumented)
{
	int32_t seq = 0;

	*undocumented = false;
	s_begin_columns(cols);
	for (struct submission *sub = head; sub != NULL; sub = sub->next) {
		for (size_t i = 0; i < sub->n; i++) {
			if (!s_to_store(sub, i))
				continue;
			s_add_record(cols, seq++, sub->recs[i]);
			*undocumented |= s_undocumented(sub->recs[i]);
		}
	}
	return s_end_columns(cols);
}

/* Copies one result row into the stored slot of its record. */
static void
s_take_row(PGresult *res, int row, struct stored *st)
{
	memset(st, 0, sizeof(*st));
	if (PQgetisnull(res, row, 2)) {
		st->outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED;
		st->code = "STORE_FAILED";
		snprintf(st->message, sizeof(st->message), "no person file could be matched or created");
		return;
	}
	st->outcome = PQgetvalue(res, row, 1)[0] == 't' ? GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED
	                                                : GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE;
	st->server_id = strtoll(PQgetvalue(res, row, 2), NULL, 10);
	st->person_id = strtoll(PQgetvalue(res, row, 3), NULL, 10);
	st->household_id = strtoll(PQgetvalue(res, row, 4), NULL, 10);
	st->received_at = strtoll(PQgetvalue(res, row, 5), NULL, 10);
}

/* Hands the result rows (one per valid record, in seq order) back to the submissions. */
static bool
s_distribute(PGresult *res, struct submission *head)
{
	int row = 0, n = PQntuples(res);

	for (struct submission *sub = head; sub != NULL; sub = sub->next) {
		for (size_t i = 0; i < sub->n; i++) {
			if (!s_to_store(sub, i))
				continue;
			if (row >= n || atoi(PQgetvalue(res, row, 0)) != row) {
				log_error("store: result row %d does not match its record", row);
				return false;
			}
			s_take_row(res, row++, &sub->st[i]);
		}
	}
	return true;
}

/* True when the failed statement was refused for its data, not for the connection. */
static bool
s_data_error(struct db *db)
{
	const char *state = db_last_sqlstate(db);

	return db_conn(db) != NULL && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
}

/* Opens the group's transaction under the ingest lock, in one round trip. */
static bool
s_begin(struct db *db)
{
	return db_script(db, "begin under the ingest lock", SQL_BEGIN);
}

/* Runs one of the group statements over the group's columns. */
static PGresult *
s_over_columns(struct db *db, int step, ExecStatusType expect, const struct pgarray *cols)
{
	const char *values[INCOMING_COLUMNS];
	int lengths[INCOMING_COLUMNS];

	pgarray_params(cols, INCOMING_COLUMNS, values, lengths);
	return db_execute_binary(db, group_statements[step].what, expect, group_statements[step].name,
	                         INCOMING_COLUMNS, values, lengths);
}

/*
 * Runs the steps for persons without a document (only when there are
 * some), then the screenings statement; its per-record result rows, or NULL.
 */
static PGresult *
s_run(struct db *db, const struct pgarray *cols, bool undocumented)
{
	for (int step = STEP_HOUSEHOLDS; undocumented && step < STEP_SCREENINGS; step++) {
		PGresult *res = s_over_columns(db, step, PGRES_COMMAND_OK, cols);

		PQclear(res);
		if (res == NULL)
			return NULL;
	}
	return s_over_columns(db, STEP_SCREENINGS, PGRES_TUPLES_OK, cols);
}

/*
 * Adds the steps for persons without a document (only when there are
 * some), then the screenings statement, to the transaction; the per-record
 * rows of the latter go to *res.
 */
static void
s_queue(struct db *db, struct db_batch *b, const struct pgarray *cols, bool undocumented,
        PGresult **res)
{
	const char *values[INCOMING_COLUMNS];
	int lengths[INCOMING_COLUMNS];

	pgarray_params(cols, INCOMING_COLUMNS, values, lengths);
	for (int step = undocumented ? STEP_HOUSEHOLDS : STEP_SCREENINGS; step < NSTATEMENTS; step++) {
		bool rows = step == STEP_SCREENINGS;

		db_batch_add_prepared(db, b, group_statements[step].what,
		                      rows ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, group_statements[step].name,
		                      INCOMING_COLUMNS, values, lengths, rows ? res : NULL);
	}
}

/*
 * The whole group at once, in one round trip: BEGIN, the lock, the
 * statements, COMMIT. -1 on failure, with *data_error telling why.
 */
static int
s_store_set(struct ingestd *in, struct submission *head, bool undocumented, bool *data_error)
{
	struct db *db = in->daemon->db;
	struct db_batch b;
	PGresult *res = NULL;
	int rc = -1;

	*data_error = false;
	if (!db_batch_begin(db, &b))
		return -1;
	db_batch_add(db, &b, "take the ingest lock", PGRES_TUPLES_OK, SQL_LOCK, 0, NULL, NULL, NULL);
	s_queue(db, &b, in->cols, undocumented, &res);
	if (db_batch_commit(db, &b))
		rc = s_distribute(res, head) ? 0 : -1;
	else
		*data_error = s_data_error(db);
	PQclear(res);
	return rc;
}

/*
 * One record under a savepoint: stored, or rejected alone for its data.
 * -1 only when the connection failed.
 */
static int
s_store_isolated(struct ingestd *in, const Gridwall__V1__ScreeningRecord *rec, struct stored *st)
{
	struct db *db = in->daemon->db;
	PGresult *res;

	if (!db_command(db, "savepoint", "SAVEPOINT rec", 0, NULL))
		return -1;
	s_begin_columns(in->cols);
	s_add_record(in->cols, 0, rec);
	if (!s_end_columns(in->cols))
		return -1;
	res = s_run(db, in->cols, s_undocumented(rec));
	if (res != NULL && PQntuples(res) == 1) {
		s_take_row(res, 0, st);
		PQclear(res);
		return db_command(db, "release savepoint", "RELEASE SAVEPOINT rec", 0, NULL) ? 0 : -1;
	}
	PQclear(res);
	if (!s_data_error(db) ||
	    !db_command(db, "rollback to savepoint", "ROLLBACK TO SAVEPOINT rec", 0, NULL))
		return -1;
	memset(st, 0, sizeof(*st));
	st->outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED;
	st->code = "STORE_FAILED";
	snprintf(st->message, sizeof(st->message), "the database refused the record (SQLSTATE %s)",
	         db_last_sqlstate(db));
	return 0;
}

/* The group again, record by record, so that a bad record is rejected alone. */
static int
s_store_each(struct ingestd *in, struct submission *head)
{
	struct db *db = in->daemon->db;

	if (!s_begin(db))
		return -1;
	for (struct submission *sub = head; sub != NULL; sub = sub->next)
		for (size_t i = 0; i < sub->n; i++)
			if (s_to_store(sub, i) && s_store_isolated(in, sub->recs[i], &sub->st[i]) != 0)
				goto fail;
	return db_command(db, "commit", "COMMIT", 0, NULL) ? 0 : -1;
fail:
	db_rollback(db);
	return -1;
}

void
store_ready(struct ingestd *in)
{
	PGresult *res;

	if (!s_plans_ready(in))
		return;
	s_begin_columns(in->cols);
	if (!s_end_columns(in->cols))
		return;
	res = s_run(in->daemon->db, in->cols, true);
	PQclear(res);
}

int
store_group(struct ingestd *in, struct submission *head)
{
	bool data_error, undocumented;
	size_t left;
	int rc;

	if (!s_seen_reset(in, in->group_records)) {
		log_error("store: out of memory for a group");
		return -1;
	}
	if ((left = s_mark_repeats(in, head)) == 0) {
		rc = 0;
	} else if (!s_plans_ready(in)) {
		return -1;
	} else if (!s_encode(in->cols, head, &undocumented)) {
		log_error("store: out of memory encoding a group");
		return -1;
	} else if ((rc = s_store_set(in, head, undocumented, &data_error)) != 0 && data_error) {
		log_warn("group refused for its data; storing it record by record");
		in->stats.fallbacks++;
		rc = s_store_each(in, head);
	}
	if (rc == 0) {
		s_apply_repeats(head);
		in->plans.stored += left;
	}
	return rc;
}
