/*
 * gridctl token: staff tokens for reportd's command-office API.
 *
 *   gridctl token issue --area CODE --name NAME [--role staff|viewer] [--days N]
 *   gridctl token revoke --id N
 *   gridctl token list [--area CODE]
 *
 * A token is printed once, when issued; the database keeps its hash only.
 * It sees the alerts of its area (a code prefix) and, with the role staff,
 * acts on them. Connects as gridwall_admin unless --database names a user.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "defaults.h"
#include "gridctl.h"
#include "token.h"

#define TOKEN_CMD "token"
#define GRIDCTL_ADMIN_ROLE "gridwall_admin"

struct token_opts {
	const char *verb;                /* issue, revoke, list */
	const char *area;
	const char *name;
	const char *role;
	const char *conninfo;
	long days;
	long id;
};

static const char SQL_ISSUE[] =
	"INSERT INTO staff_tokens (token_hash, area_code, role, name, expires_at) "
	"SELECT $1, code, $3, $4, CASE WHEN $5::int > 0 THEN now() + make_interval(days => $5::int) END "
	"FROM areas WHERE code = $2 RETURNING id, coalesce(expires_at::text, 'never')";

static const char SQL_REVOKE[] =
	"UPDATE staff_tokens SET revoked_at = now() WHERE id = $1::bigint AND revoked_at IS NULL";

static const char SQL_LIST[] =
	"SELECT id, area_code, role, name, created_at::date, coalesce(expires_at::date::text, '-'), "
	"       CASE WHEN revoked_at IS NOT NULL THEN 'revoked' "
	"            WHEN expires_at <= now() THEN 'expired' ELSE 'valid' END "
	"FROM staff_tokens WHERE area_code LIKE $1 || '%' ORDER BY id";

/* Takes one option of token. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	struct token_opts *opt = p;

	switch (code) {
	case 'a':
		opt->area = arg;
		return gridctl_area_ok(arg) && arg[0] != '\0';
	case 'n':
		opt->name = arg;
		return arg[0] != '\0' && strlen(arg) < 128;
	case 'r':
		opt->role = arg;
		return strcmp(arg, "staff") == 0 || strcmp(arg, "viewer") == 0;
	case 'D':
		return gridctl_parse_long(arg, 1, 3650, &opt->days);
	case 'i':
		return gridctl_parse_long(arg, 1, __LONG_MAX__, &opt->id);
	case 'd':
		opt->conninfo = arg;
		return true;
	}
	return false;
}

/* Reads the options after the verb; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct token_opts *opt)
{
	static const struct option longopts[] = {
		{ "area", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },
		{ "days", required_argument, NULL, 'D' },
		{ "id", required_argument, NULL, 'i' },
		{ "database", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int rc = gridctl_options(TOKEN_CMD, argc, argv, longopts, s_set_opt, opt, NULL);

	if (rc >= 0)
		return rc;
	if (strcmp(opt->verb, "issue") == 0 && (opt->area == NULL || opt->name == NULL))
		gridctl_err(TOKEN_CMD, "issue needs --area and --name");
	else if (strcmp(opt->verb, "revoke") == 0 && opt->id == 0)
		gridctl_err(TOKEN_CMD, "revoke needs --id");
	else
		return -1;
	return gridctl_usage(TOKEN_CMD, stderr, GRIDCTL_EXIT_USAGE);
}

/* Runs a statement; the result, or NULL (reported). */
static PGresult *
s_exec(PGconn *conn, const char *what, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	gridctl_err(TOKEN_CMD, "%s: %.*s", what, gridctl_pq_error_len(conn), PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

/* issue: a new token, printed once. */
static int
s_issue(PGconn *conn, const struct token_opts *opt)
{
	char token[TOKEN_TEXT_LEN + 1], hash[TOKEN_HASH_LEN + 1], days[16];
	const char *params[5] = { hash, opt->area, opt->role, opt->name, days };
	PGresult *res;

	if (!token_new(token)) {
		gridctl_err(TOKEN_CMD, "no randomness for a token");
		return GRIDCTL_EXIT_FAIL;
	}
	token_hash(token, hash);
	snprintf(days, sizeof(days), "%ld", opt->days);
	res = s_exec(conn, "issue", SQL_ISSUE, 5, params);
	if (res == NULL)
		return GRIDCTL_EXIT_FAIL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		gridctl_err(TOKEN_CMD, "no area %s", opt->area);
		return GRIDCTL_EXIT_FAIL;
	}
	printf("%s\n", token);
	fprintf(stderr, "gridctl token: token %s for %s (%s, area %s, expires %s); it is shown "
	        "only now\n", PQgetvalue(res, 0, 0), opt->name, opt->role, opt->area,
	        PQgetvalue(res, 0, 1));
	PQclear(res);
	return GRIDCTL_EXIT_OK;
}

/* revoke: the token stops working at once. */
static int
s_revoke(PGconn *conn, const struct token_opts *opt)
{
	char id[24];
	const char *params[1] = { id };
	PGresult *res;
	bool done;

	snprintf(id, sizeof(id), "%ld", opt->id);
	res = s_exec(conn, "revoke", SQL_REVOKE, 1, params);
	if (res == NULL)
		return GRIDCTL_EXIT_FAIL;
	done = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!done) {
		gridctl_err(TOKEN_CMD, "no valid token %ld", opt->id);
		return GRIDCTL_EXIT_FAIL;
	}
	printf("token %ld revoked\n", opt->id);
	return GRIDCTL_EXIT_OK;
}

/* list: the tokens of an area, never the tokens themselves. */
static int
s_list(PGconn *conn, const struct token_opts *opt)
{
	const char *params[1] = { opt->area ? opt->area : "" };
	PGresult *res = s_exec(conn, "list", SQL_LIST, 1, params);

	if (res == NULL)
		return GRIDCTL_EXIT_FAIL;
	for (int i = 0; i < PQntuples(res); i++) {
		for (int c = 0; c < PQnfields(res); c++) {
			fputs(c ? "  " : "", stdout);
			gridctl_put_clean(stdout, PQgetvalue(res, i, c));
		}
		putchar('\n');
	}
	PQclear(res);
	return GRIDCTL_EXIT_OK;
}

int
gridctl_token(int argc, char **argv)
{
	struct token_opts opt = { .role = "staff", .conninfo = DEFAULT_DATABASE };
	PGconn *conn;
	int rc;

	if (argc < 2 || (strcmp(argv[1], "issue") != 0 && strcmp(argv[1], "revoke") != 0 &&
	                 strcmp(argv[1], "list") != 0)) {
		gridctl_err(TOKEN_CMD, "issue, revoke or list?");
		return gridctl_usage(TOKEN_CMD, stderr, GRIDCTL_EXIT_USAGE);
	}
	opt.verb = argv[1];
	if ((rc = s_parse_opts(argc - 1, argv + 1, &opt)) >= 0)
		return rc;
	conn = gridctl_connect(TOKEN_CMD, opt.conninfo, GRIDCTL_ADMIN_ROLE);
	if (conn == NULL)
		return GRIDCTL_EXIT_FAIL;
	if (strcmp(opt.verb, "issue") == 0)
		rc = s_issue(conn, &opt);
	else if (strcmp(opt.verb, "revoke") == 0)
		rc = s_revoke(conn, &opt);
	else
		rc = s_list(conn, &opt);
	PQfinish(conn);
	return rc;
}
