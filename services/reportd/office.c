/*
 * The command office on reportd's HTTP API. Every request carries a staff
 * token ("Authorization: Bearer gw_..."), issued by `gridctl token issue`
 * for an area: the token sees and acts on the alerts of that area only.
 *
 *   GET  /v1/alerts?state=&area=&limit=    the area's alerts, newest first
 *   POST /v1/alerts/{id}/ack               open -> acknowledged
 *   POST /v1/alerts/{id}/assign            {"team": "..."}: -> assigned
 *   POST /v1/alerts/{id}/resolve           {"outcome": "..."}: -> resolved
 *   GET  /v1/alerts/stream?area=           Server-Sent Events: new alerts and changes
 *
 * A change of state and its audit row (who, when, from what) are one
 * transaction. A viewer token may read, not act.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert_row.h"
#include "log.h"
#include "office.h"
#include "record_json.h"
#include "token.h"
#include "validate.h"

#define OFFICE_LIMIT_DEFAULT 100
#define OFFICE_LIMIT_MAX 1000
#define TEAM_MAX 64

static const char SQL_TOKEN[] =
	"SELECT id, area_code, role, name FROM staff_tokens WHERE token_hash = $1 "
	"AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())";

static const char SQL_LIST[] =
	ALERT_ROW_SELECT
	" WHERE a.grid_code LIKE $1 || '%' AND ($2 = '' OR a.state = $2)"
	" ORDER BY a.raised_at DESC, a.id DESC LIMIT $3::int";

static const char SQL_ONE[] = ALERT_ROW_SELECT " WHERE a.id = $1::bigint";

static const char SQL_LOCK[] =
	"SELECT state, grid_code, kind = 'risk' AND level = 'high' FROM alerts WHERE id = $1::bigint "
	"FOR UPDATE";

static const char SQL_CHANGE[] =
	"UPDATE alerts SET state = $2, assigned_team = coalesce($3, assigned_team), "
	"  outcome = coalesce($4, outcome), updated_at = now() WHERE id = $1::bigint";

static const char SQL_AUDIT[] =
	"INSERT INTO alert_audit (alert_id, action, from_state, to_state, team, outcome, token_id, actor) "
	"VALUES ($1::bigint, $2, $3, $4, $5, $6, $7::bigint, $8) "
	"RETURNING floor((extract(epoch FROM at) + $9::bigint * 60) / 86400)::int";

static const char *const outcomes[] = {
	"home_observation", "observation_centre", "fever_clinic", "cleared", NULL,
};
static const char *const states[] = { "open", "acknowledged", "assigned", "resolved", NULL };

/* Whether s is one of the NULL-terminated names. */
static bool
s_one_of(const char *s, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcmp(s, *names) == 0)
			return true;
	return false;
}

/* The staff member behind the request's token; false once answered (401, 503). */
static bool
s_auth(struct reportd *r, const struct http_request *req, struct http_response *resp,
       struct staff *who)
{
	const char *h = http_header(req, "Authorization");
	char hash[TOKEN_HASH_LEN + 1];
	const char *params[1] = { hash };
	PGresult *res;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || !token_well_formed(h + 7)) {
		http_respond_error(resp, 401, "a staff token is needed: Authorization: Bearer gw_...");
		resp->extra_headers = "WWW-Authenticate: Bearer\r\n";
		return false;
	}
	token_hash(h + 7, hash);
	res = db_query(r->daemon->db, "check token", PGRES_TUPLES_OK, SQL_TOKEN, 1, params);
	if (res == NULL) {
		http_respond_db_down(resp);
		return false;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		http_respond_error(resp, 401, "unknown, expired or revoked token");
		resp->extra_headers = "WWW-Authenticate: Bearer\r\n";
		return false;
	}
	who->token_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(who->area, sizeof(who->area), "%s", PQgetvalue(res, 0, 1));
	who->may_act = strcmp(PQgetvalue(res, 0, 2), "staff") == 0;
	snprintf(who->name, sizeof(who->name), "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	return true;
}

/* Whether an area code lies inside the staff member's area. */
static bool
s_in_area(const struct staff *who, const char *code)
{
	return strncmp(code, who->area, strlen(who->area)) == 0;
}

/* The alerts of a result as a JSON array. */
static json_t *
s_alerts_json(const PGresult *res)
{
	json_t *list = json_array();

	for (int i = 0; i < PQntuples(res); i++) {
		struct alert_row row;

		alert_row_load(&row, res, i);
		json_array_append_new(list, risk_alert_to_json(&row.alert));
		alert_row_free(&row);
	}
	return list;
}

/* GET /v1/alerts?state=&area=&limit= */
static void
s_list(struct reportd *r, const struct staff *who, const struct http_request *req,
       struct http_response *resp)
{
	char area[AREA_CODE_MAX + 8] = "", state[16] = "", limit[16] = "";
	const char *params[3] = { area, state, limit };
	long n = OFFICE_LIMIT_DEFAULT;
	PGresult *res;

	http_query_param(req->query, "area", area, sizeof(area));
	http_query_param(req->query, "state", state, sizeof(state));
	if (http_query_param(req->query, "limit", limit, sizeof(limit)) > 0)
		n = strtol(limit, NULL, 10);
	if (area[0] == '\0')
		snprintf(area, sizeof(area), "%s", who->area);
	if (strspn(area, "0123456789") != strlen(area) || (state[0] && !s_one_of(state, states)) ||
	    n < 1 || n > OFFICE_LIMIT_MAX) {
		http_respond_error(resp, 400, "area must be an area code, state one of open, "
		                              "acknowledged, assigned, resolved, limit 1 to 1000");
		return;
	}
	if (!s_in_area(who, area)) {
		http_respond_error(resp, 403, "this token may not see that area");
		return;
	}
	snprintf(limit, sizeof(limit), "%ld", n);
	res = db_query(r->daemon->db, "list alerts", PGRES_TUPLES_OK, SQL_LIST, 3, params);
	if (res == NULL) {
		http_respond_db_down(resp);
		return;
	}
	http_respond_json(resp, 200, json_pack("{s:s, s:o}", "area", area, "alerts", s_alerts_json(res)));
	PQclear(res);
}

/* What one action asks for. */
struct change {
	const char *action;              /* ack, assign, resolve */
	const char *to;                  /* the new state */
	char team[TEAM_MAX + 1];
	char outcome[32];
};

/* Reads the action's body; false once answered (400). */
static bool
s_change_body(const char *action, const struct http_request *req, struct http_response *resp,
              struct change *c)
{
	json_t *body = req->body_len ? json_loads(req->body, 0, NULL) : json_object();
	const char *team = json_string_value(json_object_get(body, "team"));
	const char *outcome = json_string_value(json_object_get(body, "outcome"));
	const char *err = NULL;

	memset(c, 0, sizeof(*c));
	c->action = action;
	if (body == NULL)
		err = "the body must be a JSON object";
	else if (strcmp(action, "ack") == 0)
		c->to = "acknowledged";
	else if (strcmp(action, "assign") == 0 &&
	         (team == NULL || !*team || strlen(team) > TEAM_MAX || !validate_text(team)))
		err = "assign needs {\"team\": \"...\"} (1 to 64 bytes of text, no control characters)";
	else if (strcmp(action, "resolve") == 0 && (outcome == NULL || !s_one_of(outcome, outcomes)))
		err = "resolve needs {\"outcome\": ...}: home_observation, observation_centre, "
		      "fever_clinic or cleared";
	if (err == NULL && c->to == NULL) {
		c->to = strcmp(action, "assign") == 0 ? "assigned" : "resolved";
		snprintf(c->team, sizeof(c->team), "%s", team ? team : "");
		snprintf(c->outcome, sizeof(c->outcome), "%s", outcome ? outcome : "");
	}
	json_decref(body);
	if (err != NULL)
		http_respond_error(resp, 400, err);
	return err == NULL;
}

/* Whether an alert in state from may take the change: nothing leaves resolved; ack only from open. */
static bool
s_allowed(const char *from, const struct change *c)
{
	if (strcmp(from, "resolved") == 0)
		return false;
	return strcmp(c->action, "ack") != 0 || strcmp(from, "open") == 0;
}

/* What the lock found of an alert. */
struct locked {
	char from[16];                   /* its state */
	char grid[AREA_CODE_MAX];
	bool high_risk;                  /* a high-risk alert: open ones are counted (docs/aggregates.md) */
};

/*
 * Applies a change to a locked alert and writes its audit row; resolving a
 * high-risk alert takes it off the day's count of those open, in the same
 * transaction. False on a database failure.
 */
static bool
s_apply(struct reportd *r, const struct staff *who, const char *id, const struct locked *l,
        const struct change *c)
{
	const struct reportd_config *cfg = r->daemon->config;
	char token[24], offset[24];
	const char *team = c->team[0] ? c->team : NULL, *outcome = c->outcome[0] ? c->outcome : NULL;
	const char *change[4] = { id, c->to, team, outcome };
	const char *audit[9] = { id, c->action, l->from, c->to, team, outcome, token, who->name, offset };
	PGresult *res;
	int32_t day;

	snprintf(token, sizeof(token), "%lld", (long long)who->token_id);
	snprintf(offset, sizeof(offset), "%ld", cfg->day_utc_offset_min);
	if (!db_command(r->daemon->db, "change alert", SQL_CHANGE, 4, change))
		return false;
	res = db_query(r->daemon->db, "audit alert", PGRES_TUPLES_OK, SQL_AUDIT, 9, audit);
	if (res == NULL)
		return false;
	day = (int32_t)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	cell_map_clear(&r->deltas);
	if (!l->high_risk || strcmp(c->to, "resolved") != 0)
		return true;
	return cell_map_count(&r->deltas, r->areas, day, l->grid, MEASURE_HIGH_OPEN, -1) &&
	       aggregate_write(r);
}

/* Locks the alert and checks the change; the HTTP status to answer, 0 to go on. */
static int
s_check(struct reportd *r, const struct staff *who, const char *id, const struct change *c,
        struct locked *l, const char **why)
{
	const char *params[1] = { id };
	PGresult *res = db_query(r->daemon->db, "lock alert", PGRES_TUPLES_OK, SQL_LOCK, 1, params);
	int status = 0;

	if (res == NULL)
		return 503;
	if (PQntuples(res) == 0) {
		*why = "no such alert";
		status = 404;
	} else if (!s_in_area(who, PQgetvalue(res, 0, 1))) {
		*why = "this token may not act on an alert of that area";
		status = 403;
	} else if (!s_allowed(PQgetvalue(res, 0, 0), c)) {
		*why = "the alert's state does not allow that (resolved, or acknowledged already)";
		status = 409;
	}
	if (PQntuples(res) > 0) {
		snprintf(l->from, sizeof(l->from), "%s", PQgetvalue(res, 0, 0));
		snprintf(l->grid, sizeof(l->grid), "%s", PQgetvalue(res, 0, 1));
		l->high_risk = PQgetvalue(res, 0, 2)[0] == 't';
	}
	PQclear(res);
	return status;
}

/* Answers with the alert as it now is, and tells the live streams of its area. */
static void
s_respond_alert(struct reportd *r, const char *id, struct http_response *resp)
{
	const char *params[1] = { id };
	PGresult *res = db_query(r->daemon->db, "read alert", PGRES_TUPLES_OK, SQL_ONE, 1, params);
	json_t *list, *alert;

	if (res == NULL) {
		http_respond_db_down(resp);
		return;
	}
	list = s_alerts_json(res);
	alert = json_array_get(list, 0);
	if (PQntuples(res) > 0)
		stream_state_changed(&r->hub, PQgetvalue(res, 0, 8), alert);
	PQclear(res);
	http_respond_json(resp, 200, json_incref(alert));
	json_decref(list);
}

/* GET /v1/alerts/stream?area= */
static void
s_stream(struct reportd *r, const struct staff *who, const struct http_request *req,
         struct http_response *resp)
{
	char area[AREA_CODE_MAX + 8] = "";

	http_query_param(req->query, "area", area, sizeof(area));
	if (area[0] == '\0')
		snprintf(area, sizeof(area), "%s", who->area);
	if (strspn(area, "0123456789") != strlen(area) || strlen(area) >= AREA_CODE_MAX) {
		http_respond_error(resp, 400, "area must be an area code");
		return;
	}
	if (!s_in_area(who, area)) {
		http_respond_error(resp, 403, "this token may not see that area");
		return;
	}
	if (!stream_open(&r->hub, req, area, who->token_id))
		http_respond_error(resp, 503, "cannot open a stream now");
}

/* POST /v1/alerts/{id}/{ack|assign|resolve} */
static void
s_act(struct reportd *r, const struct staff *who, const char *id, const char *action,
      const struct http_request *req, struct http_response *resp)
{
	struct change c;
	struct locked l = { 0 };
	const char *why = NULL;
	int status;

	if (!who->may_act) {
		http_respond_error(resp, 403, "a viewer token may not act on alerts");
		return;
	}
	if (!s_change_body(action, req, resp, &c))
		return;
	if (!db_command(r->daemon->db, "begin", "BEGIN", 0, NULL)) {
		http_respond_db_down(resp);
		return;
	}
	status = s_check(r, who, id, &c, &l, &why);
	if (status == 0 && !s_apply(r, who, id, &l, &c))
		status = 503;
	if (status != 0 || !db_command(r->daemon->db, "commit", "COMMIT", 0, NULL)) {
		db_rollback(r->daemon->db);
		cell_map_clear(&r->deltas);
		if (status == 503 || status == 0)
			http_respond_db_down(resp);
		else
			http_respond_error(resp, status, why);
		return;
	}
	log_info("alert %s: %s by %s (token %lld): %s -> %s", id, action, who->name,
	         (long long)who->token_id, l.from, c.to);
	aggregate_committed(r);
	s_respond_alert(r, id, resp);
}

/* Splits "/v1/alerts/123/ack" into the id and the action; false if it is not one. */
static bool
s_action_path(const char *path, char *id, size_t idlen, char *action, size_t alen)
{
	const char *p = path + strlen("/v1/alerts/");
	size_t n = strspn(p, "0123456789");

	if (n == 0 || n >= idlen || p[n] != '/' || strlen(p + n + 1) >= alen)
		return false;
	memcpy(id, p, n);
	id[n] = '\0';
	snprintf(action, alen, "%s", p + n + 1);
	return strcmp(action, "ack") == 0 || strcmp(action, "assign") == 0 ||
	       strcmp(action, "resolve") == 0;
}

bool
office_route(struct reportd *r, const struct http_request *req, struct http_response *resp)
{
	struct staff who;
	char id[24], action[16];
	bool list = strcmp(req->path, "/v1/alerts") == 0;
	bool stream = strcmp(req->path, "/v1/alerts/stream") == 0;

	if (stream) {
		if (strcmp(req->method, "GET") != 0)
			http_respond_error(resp, 405, "GET only");
		else if (s_auth(r, req, resp, &who))
			s_stream(r, &who, req, resp);
		return true;
	}
	if (!list && strncmp(req->path, "/v1/alerts/", strlen("/v1/alerts/")) != 0)
		return false;
	if (!list && !s_action_path(req->path, id, sizeof(id), action, sizeof(action))) {
		http_respond_error(resp, 404, "no such resource");
		return true;
	}
	if (strcmp(req->method, list ? "GET" : "POST") != 0) {
		http_respond_error(resp, 405, list ? "GET only" : "POST only");
		return true;
	}
	if (!s_auth(r, req, resp, &who))
		return true;
	if (list)
		s_list(r, &who, req, resp);
	else
		s_act(r, &who, id, action, req, resp);
	return true;
}
