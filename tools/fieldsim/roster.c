/*
 * The persons the simulated field apps visit, read from the database a
 * page at a time. Each device owns a slice of the person ids and walks it
 * in id order (which is grid and household order for a generated city,
 * like a team going door to door), so memory stays at one page per device
 * whether the city has 20,000 persons or 8 million.
 *
 * The reads block the simulator, so they are kept out of what it measures:
 * every device reads its first page before the clock starts, and first
 * pages have staggered sizes, so that devices screening at the same pace
 * run out of their pages one after another, never all at once (two hundred
 * reads in a row would stall every device for a fraction of a second).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fieldsim.h"
#include "log.h"

#define ROSTER_PAGE 256
#define ROSTER_FIRST_PAGE_MIN 16
#define ROSTER_RETRY_MAX_MS 1000
#define ROSTER_RETRY_TOTAL_MS 60000   /* the database may be away this long */

static const char SQL_COUNT[] =
    "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) "
    "FROM persons WHERE id_type = 'resident_id' AND household_id IS NOT NULL";
static const char SQL_PAGE[] =
    "SELECT p.id, p.household_id, p.id_number, p.name, coalesce(p.phone, ''), "
    "coalesce(p.sex, ''), coalesce(to_char(p.birth_date, 'YYYY-MM-DD'), ''), "
    "h.code, h.grid_code "
    "FROM persons p JOIN households h ON h.id = p.household_id "
    "WHERE p.id_type = 'resident_id' AND p.id > $1 AND p.id <= $2 "
    "ORDER BY p.id LIMIT $3";

/* Connects and counts the persons to visit. */
struct roster *
roster_open(const char *conninfo)
{
	struct roster *r = calloc(1, sizeof(*r));
	PGresult *res;

	if (r == NULL || (r->conn = fs_connect(conninfo)) == NULL) {
		free(r);
		return NULL;
	}
	res = PQexec(r->conn, SQL_COUNT);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("counting persons: %s", PQresultErrorMessage(res));
		PQclear(res);
		roster_close(&r);
		return NULL;
	}
	r->persons = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	r->min_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	r->max_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	if (r->persons == 0) {
		log_error("no persons with a resident id and a household in the "
		    "database: load a city first (fieldsim city)");
		roster_close(&r);
	}
	return r;
}

/* Closes the connection and frees the roster. */
void
roster_close(struct roster **roster_p)
{
	struct roster *r = *roster_p;

	if (r == NULL)
		return;
	if (r->conn != NULL)
		PQfinish(r->conn);
	free(r);
	*roster_p = NULL;
}

/* Gives device k of n its range of person ids. */
bool
roster_slice_init(const struct roster *r, struct roster_slice *s, size_t k,
                  size_t n)
{
	int64_t base = r->min_id - 1, span = r->max_id - base;

	memset(s, 0, sizeof(*s));
	s->lo = base + span * (int64_t)k / (int64_t)n;
	s->hi = base + span * (int64_t)(k + 1) / (int64_t)n;
	s->cursor = s->lo;
	s->first_page = ROSTER_PAGE * (k + 1) / n;
	if (s->first_page < ROSTER_FIRST_PAGE_MIN)
		s->first_page = ROSTER_FIRST_PAGE_MIN;
	s->page = calloc(ROSTER_PAGE, sizeof(*s->page));
	if (s->page == NULL)
		log_error("out of memory for the roster");
	return s->page != NULL;
}

/* Frees a slice's page. */
void
roster_slice_free(struct roster_slice *s)
{
	free(s->page);
	s->page = NULL;
}

/* Starts a slice over for another round of visits. */
void
roster_slice_rewind(struct roster_slice *s)
{
	s->cursor = s->lo;
	s->len = s->pos = 0;
	s->exhausted = false;
}

/* Copies a column into a fixed field; false if it does not fit. */
static bool
s_field(char *dst, size_t cap, const PGresult *res, int row, int col)
{
	int len = PQgetlength(res, row, col);

	if ((size_t)len >= cap)
		return false;
	memcpy(dst, PQgetvalue(res, row, col), (size_t)len);
	dst[len] = '\0';
	return true;
}

/* Fills one entry from a row; false for a row too long to keep. */
static bool
s_row(struct person_rec *p, const PGresult *res, int row)
{
	p->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	p->household_id = strtoll(PQgetvalue(res, row, 1), NULL, 10);
	return s_field(p->id_number, sizeof(p->id_number), res, row, 2) &&
	    s_field(p->name, sizeof(p->name), res, row, 3) &&
	    s_field(p->phone, sizeof(p->phone), res, row, 4) &&
	    s_field(p->sex, sizeof(p->sex), res, row, 5) &&
	    s_field(p->birth_date, sizeof(p->birth_date), res, row, 6) &&
	    s_field(p->household, sizeof(p->household), res, row, 7) &&
	    s_field(p->grid, sizeof(p->grid), res, row, 8);
}

/*
 * Runs the page query. Field apps do not need the database, so a simulator
 * whose own connection is lost reconnects with backoff (for up to a minute)
 * rather than stopping its devices.
 */
static PGresult *
s_page(struct roster *r, const char *const *params)
{
	long delay = 50, waited = 0;
	PGresult *res;

	for (;;) {
		res = PQexecParams(r->conn, SQL_PAGE, 3, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			return res;
		if (PQstatus(r->conn) != CONNECTION_BAD || waited >= ROSTER_RETRY_TOTAL_MS) {
			log_error("reading persons: %s", PQresultErrorMessage(res));
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		log_warn("reading persons: database connection lost; retrying in %ld ms", delay);
		usleep((useconds_t)delay * 1000);
		waited += delay;
		delay = delay * 2 > ROSTER_RETRY_MAX_MS ? ROSTER_RETRY_MAX_MS : delay * 2;
		PQreset(r->conn);
	}
}

/* Reads the next page of the slice; -1 (logged) on error. */
static int
s_fetch(struct roster *r, struct roster_slice *s)
{
	char lo[24], hi[24], limit[24];
	const char *params[3] = { lo, hi, limit };
	PGresult *res;
	int rows;

	snprintf(lo, sizeof(lo), "%lld", (long long)s->cursor);
	snprintf(hi, sizeof(hi), "%lld", (long long)s->hi);
	snprintf(limit, sizeof(limit), "%zu", s->cursor == s->lo ? s->first_page : ROSTER_PAGE);
	res = s_page(r, params);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	s->len = s->pos = 0;
	for (int i = 0; i < rows; i++) {
		s->cursor = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		if (s_row(&s->page[s->len], res, i))
			s->len++;
		else
			log_debug("person %lld skipped: a field is too long",
			    (long long)s->cursor);
	}
	PQclear(res);
	if (rows == 0)
		s->exhausted = true;
	return 0;
}

/* The next person of a slice, reading a page when needed. */
int
roster_next(struct roster *r, struct roster_slice *s, bool peek,
            const struct person_rec **out)
{
	while (s->pos == s->len && !s->exhausted)
		if (s_fetch(r, s) < 0)
			return -1;
	if (s->pos == s->len)
		return 0;
	*out = &s->page[s->pos];
	if (!peek)
		s->pos++;
	return 1;
}
