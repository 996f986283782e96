/*
 * The batch of screenings being evaluated: live events offered by the
 * consumer, or rows read back from the table when catching up. Both give
 * the same struct screening (lib/screening.c).
 */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"
#include "rulesd.h"

static const char SQL_AFTER[] =
	"SELECT " SCREENING_COLUMNS " FROM screenings s "
	"WHERE s.id > $1::bigint ORDER BY s.id LIMIT $2::int";

bool
batch_append(struct rulesd *r, const struct screening *s)
{
	if (!grow((void **)&r->batch, &r->cap_batch, r->nbatch + 1, sizeof(*r->batch), 256) ||
	    !grow((void **)&r->levels, &r->cap_levels, r->nbatch + 1, sizeof(*r->levels), 256))
		return false;
	r->batch[r->nbatch++] = *s;
	return true;
}

int
screening_fetch_after(struct rulesd *r, int64_t after, long limit, int64_t *last)
{
	char a[24], l[24];
	const char *params[2] = { a, l };
	PGresult *res;
	struct screening s;
	int n;

	snprintf(a, sizeof(a), "%lld", (long long)after);
	snprintf(l, sizeof(l), "%ld", limit);
	res = db_query(r->daemon->db, "read screenings", PGRES_TUPLES_OK, SQL_AFTER, 2, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		screening_from_row(res, i, &s);
		if (!batch_append(r, &s)) {
			PQclear(res);
			return -1;
		}
		*last = s.id;
	}
	PQclear(res);
	return n;
}
