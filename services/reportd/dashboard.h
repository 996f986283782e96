/* reportd's web dashboard (dashboard.c) and the public figures it shows (figures.c). */
#ifndef GRIDWALL_REPORTD_DASHBOARD_H
#define GRIDWALL_REPORTD_DASHBOARD_H

#include <stdbool.h>

#include "reportd.h"

/* Serves GET / and /dashboard/... from dashboard_dir; false when the path is not one of them. */
bool dashboard_route(struct reportd *r, const struct http_request *req, struct http_response *resp);

/* figures.c: serves GET /v1/aggregates and /v1/coverage; false when the path is neither. */
bool figures_route(struct reportd *r, const struct http_request *req, struct http_response *resp);

#endif
