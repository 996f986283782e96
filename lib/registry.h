/*
 * Reading reference data from the database into memory: the area tree.
 */
#ifndef GRIDWALL_REGISTRY_H
#define GRIDWALL_REGISTRY_H

#include "area.h"
#include "db.h"

/* Loads every area; NULL (logged) when the database is down or the query fails. */
struct area_tree *registry_load_areas(struct db *db);

#endif
