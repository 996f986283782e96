/*
 * `fieldsim city`: generates the synthetic city and loads it, in one
 * transaction, into areas, households, persons and risk_areas with COPY.
 * Households and persons are streamed grid by grid in two passes over the
 * same deterministic generator (households must be in before the persons
 * that reference them), so 8 million persons take bounded memory. Ids are
 * given explicitly and the sequences set past them at the end.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "defaults.h"
#include "fieldsim.h"
#include "log.h"

#define DEFAULT_PERSONS 20000
#define DEFAULT_SEED 1
#define PROGRESS_MIN_STEP 100000

static const char SQL_LOCK[] = "LOCK TABLE areas IN SHARE ROW EXCLUSIVE MODE";
static const char SQL_ANALYZE[] = "ANALYZE areas, households, persons, risk_areas";
static const char SQL_AREAS_EMPTY[] = "SELECT NOT EXISTS (SELECT 1 FROM areas)";
static const char SQL_COPY_AREAS[] =
    "COPY areas (code, parent, level, name) FROM STDIN";
static const char SQL_COPY_HOUSEHOLDS[] =
    "COPY households (id, code, grid_code, kind, tags, address) FROM STDIN";
static const char SQL_COPY_PERSONS[] =
    "COPY persons (id, id_type, id_number, name, phone, sex, birth_date, "
    "household_id) FROM STDIN";
static const char SQL_COPY_RISK[] =
    "COPY risk_areas (id, region_code, name, level, valid_from, valid_to) "
    "FROM STDIN";
/* Skips the foreign-key triggers of this transaction (superuser only). */
static const char SQL_REPLICA[] = "SET LOCAL session_replication_role = replica";
static const char SQL_SETVAL[] =
    "SELECT setval(pg_get_serial_sequence($1, 'id'), $2)";

static const char *const kind_names[] = {
	"registered", "floating", "floating", "floating",
};
static const char *const kind_tags[] = { "{}", "{}", "{rental}", "{dormitory}" };

struct city_opts {
	uint64_t persons;
	uint64_t seed;
	const char *database;
	bool skip_fk_checks;
};

struct city {
	struct city_opts opts;
	PGconn *conn;
	struct plan *plan;
	struct idgen *ids;
	struct household *hh;        /* one grid's households */
	double started;
	uint64_t households;
	uint64_t kinds[4];
	uint64_t hubei;
	uint64_t no_phone;
};

/* Prints the options of `fieldsim city`. */
static void
s_usage(FILE *out)
{
	fprintf(out,
	    "usage: fieldsim city [--persons N] [--database CONNINFO] [--seed S]\n"
	    "  --persons N     persons to generate (default %d, %d..%llu)\n"
	    "  --database C    libpq connection string (default \"%s\")\n"
	    "  --seed S        random seed; same seed, same city (default %d)\n"
	    "  --skip-fk-checks  skip the foreign-key triggers during the load\n"
	    "                  (needs a superuser; about twice as fast at 8 million;\n"
	    "                  the generated rows are consistent by construction)\n"
	    "Loads areas, households, persons and risk_areas in one transaction;\n"
	    "refuses to run if areas is not empty.\n",
	    DEFAULT_PERSONS, PLAN_MIN_PERSONS, IDGEN_MAX_PERSONS,
	    DEFAULT_DATABASE, DEFAULT_SEED);
}

/* Parses the command line; returns -1 to go on, else an exit code. */
static int
s_parse(int argc, char **argv, struct city_opts *o)
{
	static const struct option longopts[] = {
		{ "persons", required_argument, NULL, 'p' },
		{ "database", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "skip-fk-checks", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->persons = DEFAULT_PERSONS;
	o->seed = DEFAULT_SEED;
	o->database = DEFAULT_DATABASE;
	while ((c = getopt_long(argc, argv, "p:d:s:kh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!fs_parse_u64("--persons", optarg, PLAN_MIN_PERSONS,
			    IDGEN_MAX_PERSONS, &o->persons))
				return 2;
			break;
		case 'd':
			o->database = optarg;
			break;
		case 's':
			if (!fs_parse_u64("--seed", optarg, 0, UINT64_MAX, &o->seed))
				return 2;
			break;
		case 'k':
			o->skip_fk_checks = true;
			break;
		case 'h':
			s_usage(stdout);
			return 0;
		default:
			s_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	return -1;
}

/* Runs a statement with no result rows; false (logged) on failure. */
static bool
s_exec(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		log_error("%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* Locks areas and checks that no city is loaded yet. */
static bool
s_check_empty(PGconn *conn)
{
	PGresult *res;
	bool empty;

	if (!s_exec(conn, SQL_LOCK))
		return false;
	res = PQexec(conn, SQL_AREAS_EMPTY);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("%s: %s", SQL_AREAS_EMPTY, PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!empty)
		log_error("table areas is not empty: a city is already loaded; "
		    "fieldsim city only loads into an empty database");
	return empty;
}

/* Writes one areas row. */
static bool
s_area(struct copyw *w, const char *code, const char *parent,
       const char *level, const char *name)
{
	copyw_text(w, code);
	copyw_text(w, parent);
	copyw_text(w, level);
	copyw_text(w, name);
	return copyw_end_row(w);
}

/* Loads the area tree: city, districts, towns, communities, grids. */
static bool
s_copy_areas(struct city *c)
{
	const struct plan *p = c->plan;
	struct copyw w;
	bool ok;
	char name[32];

	if (!copyw_begin(&w, c->conn, SQL_COPY_AREAS))
		return false;
	ok = s_area(&w, FS_CITY_CODE, NULL, "city", FS_CITY_NAME);
	for (size_t i = 0; ok && i < p->ndistricts; i++)
		ok = s_area(&w, p->districts[i].code, FS_CITY_CODE, "district",
		    p->districts[i].name);
	for (size_t i = 0; ok && i < p->ntowns; i++)
		ok = s_area(&w, p->towns[i].code,
		    p->districts[p->towns[i].district].code, "town",
		    p->towns[i].name);
	for (size_t i = 0; ok && i < p->ncommunities; i++)
		ok = s_area(&w, p->communities[i].code,
		    p->towns[p->communities[i].town].code, "community",
		    p->communities[i].name);
	for (size_t i = 0; ok && i < p->ngrids; i++) {
		snprintf(name, sizeof(name), "第%u网格", p->grids[i].number);
		ok = s_area(&w, p->grids[i].code,
		    p->communities[p->grids[i].community].code, "grid", name);
	}
	if (!ok) {
		copyw_abort(&w);
		return false;
	}
	return copyw_finish(&w);
}

/* Writes the households of one grid; *id is the next household id. */
static bool
s_grid_households(struct city *c, struct copyw *w, size_t g, uint64_t *id)
{
	size_t n = household_generate(c->plan, c->opts.seed, g, c->hh);
	char code[48], address[160];
	bool ok = true;

	for (size_t i = 0; ok && i < n; i++) {
		const struct household *h = &c->hh[i];

		snprintf(code, sizeof(code), "%s-%05zu", c->plan->grids[g].code,
		    i + 1);
		household_address(c->plan, g, h, address, sizeof(address));
		copyw_u64(w, (*id)++);
		copyw_text(w, code);
		copyw_text(w, c->plan->grids[g].code);
		copyw_text(w, kind_names[h->kind]);
		copyw_text(w, kind_tags[h->kind]);
		copyw_text(w, address);
		ok = copyw_end_row(w);
		c->kinds[h->kind]++;
	}
	c->households += n;
	return ok;
}

/* First pass: every household of every grid. */
static bool
s_copy_households(struct city *c)
{
	struct copyw w;
	uint64_t id = 1;
	bool ok = true;

	if (!copyw_begin(&w, c->conn, SQL_COPY_HOUSEHOLDS))
		return false;
	for (size_t g = 0; ok && g < c->plan->ngrids; g++)
		ok = s_grid_households(c, &w, g, &id);
	if (!ok) {
		copyw_abort(&w);
		return false;
	}
	if (!copyw_finish(&w))
		return false;
	log_info("households: %llu loaded, %.1f s",
	    (unsigned long long)c->households, fs_now() - c->started);
	return true;
}

/* A mobile number 1[3-9]xxxxxxxxx, weighted towards the common prefixes. */
static void
s_phone(struct rng *r, char out[12])
{
	static const unsigned second[] = { 0, 0, 0, 30, 2, 25, 3, 5, 30, 5 };

	out[0] = '1';
	out[1] = (char)('0' + rng_weighted(r, second, 10));
	for (int i = 2; i < 11; i++)
		out[i] = (char)('0' + rng_below(r, 10));
	out[11] = '\0';
}

/* Writes one person of household h; index is the person's 0-based index. */
static bool
s_person(struct city *c, struct copyw *w, struct rng *r, size_t district,
         const struct household *h, uint64_t index, uint64_t household_id)
{
	char id[19], name[32], phone[12], birth_text[11];
	uint8_t origin = h->origin;
	size_t surname = h->surname;
	int sex, m, d;
	int32_t birth;
	int64_t y;

	if (h->kind == HH_DORMITORY) {
		origin = household_worker_origin(r, district);
		surname = names_surname(r);
	} else if (!rng_permille(r, 750)) {
		surname = names_surname(r);       /* a spouse keeps her name */
	}
	idgen_make(c->ids, index, household_origin(origin), id, &sex, &birth);
	names_person(r, surname, sex == 1, name, sizeof(name));
	s_phone(r, phone);
	civil_format(birth, birth_text);
	civil_date_from_days(birth, &y, &m, &d);
	c->hubei += household_origin_hubei(origin);
	c->no_phone += y >= 2010;
	copyw_u64(w, index + 1);
	copyw_text(w, "resident_id");
	copyw_text(w, id);
	copyw_text(w, name);
	copyw_text(w, y >= 2010 ? NULL : phone);   /* children have no phone */
	copyw_text(w, sex == 1 ? "male" : "female");
	copyw_text(w, birth_text);
	copyw_u64(w, household_id);
	return copyw_end_row(w);
}

/* Writes the persons of one grid, regenerating its households. */
static bool
s_grid_persons(struct city *c, struct copyw *w, size_t g, uint64_t *index,
               uint64_t *household_id)
{
	const struct plan *p = c->plan;
	size_t n = household_generate(p, c->opts.seed, g, c->hh);
	size_t district = p->towns[p->communities[p->grids[g].community].town].district;
	struct rng r;
	bool ok = true;

	rng_seed(&r, c->opts.seed, g, 0x5050);
	for (size_t i = 0; ok && i < n; i++) {
		for (uint16_t k = 0; ok && k < c->hh[i].size; k++)
			ok = s_person(c, w, &r, district, &c->hh[i], (*index)++,
			    *household_id);
		(*household_id)++;
	}
	return ok;
}

/* Second pass: every person, with progress on stderr. */
static bool
s_copy_persons(struct city *c)
{
	uint64_t index = 0, household_id = 1, step, next;
	struct copyw w;
	bool ok = true;

	step = c->opts.persons / 10;
	if (step < PROGRESS_MIN_STEP)
		step = PROGRESS_MIN_STEP;
	next = step;
	if (!copyw_begin(&w, c->conn, SQL_COPY_PERSONS))
		return false;
	for (size_t g = 0; ok && g < c->plan->ngrids; g++) {
		ok = s_grid_persons(c, &w, g, &index, &household_id);
		if (index >= next && index < c->opts.persons) {
			log_info("persons: %llu of %llu (%.0f%%), %.1f s",
			    (unsigned long long)index,
			    (unsigned long long)c->opts.persons,
			    100.0 * (double)index / (double)c->opts.persons,
			    fs_now() - c->started);
			next += step;
		}
	}
	if (!ok) {
		copyw_abort(&w);
		return false;
	}
	log_info("persons: all %llu sent, waiting for the server to finish",
	    (unsigned long long)index);
	if (!copyw_finish(&w))
		return false;
	log_info("persons: %llu loaded, %.1f s", (unsigned long long)index,
	    fs_now() - c->started);
	return true;
}

/* The seed's risk areas: Hubei and Wuhan from 2020-01-20, still open. */
static bool
s_copy_risk(struct city *c)
{
	static const char *const rows[][4] = {
		{ "1", "42", "湖北省", "2020-01-20" },
		{ "2", "4201", "武汉市", "2020-01-20" },
	};
	struct copyw w;
	bool ok = true;

	if (!copyw_begin(&w, c->conn, SQL_COPY_RISK))
		return false;
	for (size_t i = 0; ok && i < sizeof(rows) / sizeof(rows[0]); i++) {
		copyw_text(&w, rows[i][0]);
		copyw_text(&w, rows[i][1]);
		copyw_text(&w, rows[i][2]);
		copyw_text(&w, "high");
		copyw_text(&w, rows[i][3]);
		copyw_text(&w, NULL);
		ok = copyw_end_row(&w);
	}
	if (!ok) {
		copyw_abort(&w);
		return false;
	}
	return copyw_finish(&w);
}

/* Moves a table's id sequence past the explicit ids. */
static bool
s_setval(PGconn *conn, const char *table, uint64_t last)
{
	char value[24];
	const char *params[2] = { table, value };
	PGresult *res;
	bool ok;

	snprintf(value, sizeof(value), "%llu", (unsigned long long)last);
	res = PQexecParams(conn, SQL_SETVAL, 2, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		log_error("setval %s: %s", table, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* The whole load, in one transaction; rolled back on any failure. */
static bool
s_load(struct city *c)
{
	bool ok = s_exec(c->conn, "BEGIN");

	/* The rows reference each other correctly by construction. */
	if (ok && c->opts.skip_fk_checks && !s_exec(c->conn, SQL_REPLICA)) {
		log_error("--skip-fk-checks needs a superuser; run without it");
		ok = false;
	}
	ok = ok && s_check_empty(c->conn);
	ok = ok && s_copy_areas(c);
	ok = ok && s_copy_households(c);
	ok = ok && s_copy_persons(c);
	ok = ok && s_copy_risk(c);
	ok = ok && s_setval(c->conn, "households", c->households);
	ok = ok && s_setval(c->conn, "persons", c->opts.persons);
	ok = ok && s_setval(c->conn, "risk_areas", 2);
	/* The planner must know the new sizes before the first screening arrives. */
	if (ok)
		return s_exec(c->conn, "COMMIT") && s_exec(c->conn, SQL_ANALYZE);
	s_exec(c->conn, "ROLLBACK");
	return false;
}

/* Prints what was loaded. */
static void
s_summary(const struct city *c)
{
	const struct plan *p = c->plan;

	printf("fieldsim: city %s %s loaded in %.1f s (seed %llu)\n",
	    FS_CITY_CODE, FS_CITY_NAME, fs_now() - c->started,
	    (unsigned long long)c->opts.seed);
	printf("  areas: city 1, district %zu, town %zu, community %zu, grid %zu\n",
	    p->ndistricts, p->ntowns, p->ncommunities, p->ngrids);
	printf("  households: %llu (registered %llu, floating %llu: rental %llu, "
	    "dormitory %llu)\n", (unsigned long long)c->households,
	    (unsigned long long)c->kinds[HH_REGISTERED],
	    (unsigned long long)(c->households - c->kinds[HH_REGISTERED]),
	    (unsigned long long)c->kinds[HH_RENTAL],
	    (unsigned long long)c->kinds[HH_DORMITORY]);
	printf("  persons: %llu (%.2f per household, %.1f per grid; ids from "
	    "Hubei %llu, without phone %llu)\n",
	    (unsigned long long)c->opts.persons,
	    (double)c->opts.persons / (double)c->households,
	    (double)c->opts.persons / (double)p->ngrids,
	    (unsigned long long)c->hubei, (unsigned long long)c->no_phone);
	printf("  risk_areas: 2 (42 湖北省, 4201 武汉市, high since 2020-01-20)\n");
}

/* Frees what the command holds. */
static void
s_close(struct city *c)
{
	free(c->hh);
	idgen_destroy(&c->ids);
	plan_destroy(&c->plan);
	if (c->conn != NULL)
		PQfinish(c->conn);
}

/* Runs `fieldsim city`; returns the exit code. */
int
city_main(int argc, char **argv)
{
	struct city c;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = s_parse(argc, argv, &c.opts)) >= 0)
		return rc;
	c.started = fs_now();
	c.plan = plan_new(c.opts.persons, c.opts.seed);
	c.ids = idgen_new(c.opts.persons, c.opts.seed);
	if (c.plan == NULL || c.ids == NULL) {
		s_close(&c);
		return 1;
	}
	c.hh = calloc(c.plan->max_grid_persons, sizeof(*c.hh));
	c.conn = c.hh != NULL ? fs_connect(c.opts.database) : NULL;
	if (c.conn == NULL) {
		s_close(&c);
		return 1;
	}
	log_info("generating %llu persons in %zu grids (seed %llu)",
	    (unsigned long long)c.opts.persons, c.plan->ngrids,
	    (unsigned long long)c.opts.seed);
	rc = s_load(&c) ? 0 : 1;
	if (rc == 0)
		s_summary(&c);
	s_close(&c);
	return rc;
}
