/* reportd's command-office API (office.c): staff tokens, alerts, their actions. */
#ifndef GRIDWALL_REPORTD_OFFICE_H
#define GRIDWALL_REPORTD_OFFICE_H

#include <stdbool.h>
#include <stdint.h>

#include "reportd.h"

/* The staff member a request's token belongs to. */
struct staff {
	int64_t token_id;
	char area[AREA_CODE_MAX];        /* what the token may see: a code prefix */
	char name[128];
	bool may_act;                    /* role staff; a viewer only reads */
};

/* Serves /v1/alerts and /v1/alerts/{id}/...; false when the path is not one of them. */
bool office_route(struct reportd *r, const struct http_request *req, struct http_response *resp);

#endif
