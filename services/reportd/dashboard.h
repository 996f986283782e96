/* reportd's web dashboard (dashboard.c) and the coverage figures it shows (coverage.c). */
#ifndef GRIDWALL_REPORTD_DASHBOARD_H
#define GRIDWALL_REPORTD_DASHBOARD_H

#include <stdbool.h>

#include "reportd.h"

/* Serves GET / and /dashboard/... from dashboard_dir; false when the path is not one of them. */
bool dashboard_route(struct reportd *r, const struct http_request *req, struct http_response *resp);

/* Serves GET /v1/coverage?area=&days=; false when the path is not it. */
bool coverage_route(struct reportd *r, const struct http_request *req, struct http_response *resp);

#endif
