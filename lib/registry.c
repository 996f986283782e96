/*
 * Reference data loaded from PostgreSQL at start and on reload. The area
 * tree is small (a few thousand rows for a whole city), so it is read whole.
 */
#include "log.h"
#include "registry.h"

static const char SQL_AREAS[] =
	"SELECT code, level, name FROM areas ORDER BY length(code), code";

struct area_tree *
registry_load_areas(struct db *db)
{
	PGresult *res = db_query(db, "load areas", PGRES_TUPLES_OK, SQL_AREAS, 0, NULL);
	struct area_tree *tree;

	if (res == NULL)
		return NULL;
	tree = area_tree_new();
	for (int i = 0; tree != NULL && i < PQntuples(res); i++) {
		const char *code = PQgetvalue(res, i, 0);

		if (area_tree_add(tree, code, area_level_parse(PQgetvalue(res, i, 1)),
		                  PQgetvalue(res, i, 2)) != 0)
			log_warn("area %s: code does not fit its level, ignored", code);
	}
	PQclear(res);
	if (tree != NULL)
		log_info("loaded %zu areas", area_tree_count(tree));
	return tree;
}
