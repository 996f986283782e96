/*
 * What the command office's subcommands (alerts, followups, rules replay)
 * share: one blocking PostgreSQL connection, as gridwall_office unless the
 * connection string names another user; reading result columns; printing
 * stored text without letting it drive the terminal; local times.
 *
 * Local times are China Standard Time (UTC+8, lib/validate.h), whatever
 * the machine's zone: a follow-up list is for a day in the city, not for
 * the day where the server happens to run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "civil.h"
#include "codec.h"
#include "gridctl.h"
#include "validate.h"

/* True if a connection string sets the user itself. */
static bool
s_names_user(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	bool named = false;

	if (opts == NULL)
		return false;    /* PQconnectdbParams will say what is wrong */
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "user") == 0 && o->val != NULL && o->val[0] != '\0')
			named = true;
	PQconninfoFree(opts);
	return named;
}

/* Length of libpq's last error without its trailing newline, for "%.*s". */
int
gridctl_pq_error_len(const PGconn *conn)
{
	const char *msg = PQerrorMessage(conn);
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return n > 1000 ? 1000 : (int)n;
}

/* Connects as role unless the conninfo names a user; NULL (reported) on failure. */
PGconn *
gridctl_connect(const char *cmd, const char *conninfo, const char *role)
{
	const char *keys[4], *vals[4];
	int n = 0;
	PGconn *conn;

	keys[n] = "dbname";
	vals[n++] = conninfo;
	keys[n] = "fallback_application_name";
	vals[n++] = "gridctl";
	if (!s_names_user(conninfo)) {
		keys[n] = "user";
		vals[n++] = role;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return conn;
	if (conn == NULL)
		gridctl_err(cmd, "cannot connect to the database: out of memory");
	else
		gridctl_err(cmd, "cannot connect to the database: %.*s",
		            gridctl_pq_error_len(conn), PQerrorMessage(conn));
	PQfinish(conn);
	return NULL;
}

/* A text column, or NULL when SQL NULL. */
char *
gridctl_col(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* A bigint column, 0 when NULL. */
int64_t
gridctl_col_int(const PGresult *res, int row, int col)
{
	const char *s = gridctl_col(res, row, col);

	return s ? strtoll(s, NULL, 10) : 0;
}

/*
 * Bytes of a UTF-8 control at s that a terminal would act on, or 0: C1
 * controls (U+0080..U+009F: a terminal takes U+009B as CSI, as it does
 * ESC [) and the bidirectional embeddings, overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069), which can make a line read otherwise.
 */
static size_t
s_unicode_control(const unsigned char *s)
{
	if (s[0] == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F)
		return 2;
	if (s[0] == 0xE2 && ((s[1] == 0x80 && s[2] >= 0xAA && s[2] <= 0xAE) ||
	    (s[1] == 0x81 && s[2] >= 0xA6 && s[2] <= 0xA9)))
		return 3;
	return 0;
}

/*
 * Writes text for a terminal, each control character (ASCII, C1, bidi)
 * replaced by '?', "-" for nothing: data never moves the cursor, changes
 * colours or reorders a line.
 */
void
gridctl_put_clean(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (s == NULL || *s == '\0') {
		fputs("-", f);
		return;
	}
	while (*p != '\0') {
		if ((n = s_unicode_control(p)) > 0) {
			fputc('?', f);
			p += n;
		} else {
			fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
			p++;
		}
	}
}

/* A level's name in capitals ("KEY"), "?" for an unknown one. */
void
gridctl_level_label(int level, char *buf, size_t size)
{
	const char *name = codec_level_name((Gridwall__V1__RiskLevel)level);
	size_t i;

	if (size == 0)
		return;
	if (name == NULL)
		name = "?";
	for (i = 0; name[i] != '\0' && i < size - 1; i++)
		buf[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
	buf[i] = '\0';
}

/* The local day (days since 1970-01-01, UTC+8) of a Unix time. */
int64_t
gridctl_local_day(int64_t t)
{
	return civil_day_of(t + LOCAL_UTC_OFFSET_S);
}

/* The Unix time at which a local day starts. */
int64_t
gridctl_local_day_start(int64_t day)
{
	return day * CIVIL_DAY_SECONDS - LOCAL_UTC_OFFSET_S;
}

/* "YYYY-MM-DD" of the local day of a Unix time. */
void
gridctl_local_date(int64_t t, char out[CIVIL_TEXT_LEN + 1])
{
	civil_format(gridctl_local_day(t), out);
}

/* "YYYY-MM-DD HH:MM" in local time. */
void
gridctl_local_minute(int64_t t, char *buf, size_t size)
{
	int64_t day = gridctl_local_day(t);
	int sec = (int)(t + LOCAL_UTC_OFFSET_S - day * CIVIL_DAY_SECONDS);
	char date[CIVIL_TEXT_LEN + 1];

	civil_format(day, date);
	snprintf(buf, size, "%s %02d:%02d", date, sec / 3600, sec / 60 % 60);
}

/* RFC 3339 with the local offset, "2020-02-06T10:00:00+08:00". */
void
gridctl_local_rfc3339(int64_t t, char *buf, size_t size)
{
	int64_t day = gridctl_local_day(t);
	int sec = (int)(t + LOCAL_UTC_OFFSET_S - day * CIVIL_DAY_SECONDS);
	char date[CIVIL_TEXT_LEN + 1];

	civil_format(day, date);
	snprintf(buf, size, "%sT%02d:%02d:%02d+%02d:%02d", date, sec / 3600, sec / 60 % 60,
	         sec % 60, LOCAL_UTC_OFFSET_S / 3600, LOCAL_UTC_OFFSET_S / 60 % 60);
}
