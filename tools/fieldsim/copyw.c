/*
 * Rows for COPY ... FROM STDIN in PostgreSQL's text format, gathered into a
 * 256 KiB buffer and handed to PQputCopyData when it fills, so that loading
 * millions of rows costs one round trip per buffer and bounded memory. The
 * same rows can go to a file instead, for a COPY run later (by psql).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldsim.h"
#include "log.h"

#define COPYW_CAP (256 * 1024)
#define COPYW_ROW_MAX 4096       /* room kept for one row before flushing */

/* Starts a COPY FROM STDIN and its row buffer. */
bool
copyw_begin(struct copyw *w, PGconn *conn, const char *sql)
{
	PGresult *res;

	memset(w, 0, sizeof(*w));
	w->conn = conn;
	w->cap = COPYW_CAP;
	w->buf = malloc(w->cap);
	if (w->buf == NULL) {
		log_error("out of memory for a COPY buffer");
		return false;
	}
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		log_error("%s: %s", sql, PQerrorMessage(conn));
		PQclear(res);
		free(w->buf);
		w->buf = NULL;
		return false;
	}
	PQclear(res);
	return true;
}

/* Starts gathering rows for a file opened by the caller. */
bool
copyw_begin_file(struct copyw *w, FILE *fp)
{
	memset(w, 0, sizeof(*w));
	w->fp = fp;
	w->cap = COPYW_CAP;
	w->buf = malloc(w->cap);
	if (w->buf == NULL)
		log_error("out of memory for a COPY buffer");
	return w->buf != NULL;
}

/* Makes room for n more bytes: they always fit after a flush. */
static void
s_reserve(struct copyw *w, size_t n)
{
	char *grown;

	if (w->len + n <= w->cap)
		return;
	grown = realloc(w->buf, w->len + n);
	if (grown == NULL) {
		log_error("out of memory in a COPY row");
		abort();
	}
	w->buf = grown;
	w->cap = w->len + n;
}

/* Starts a field: a tab unless it is the first of its row. */
static void
s_separate(struct copyw *w)
{
	s_reserve(w, 1);
	if (w->row_open)
		w->buf[w->len++] = '\t';
	w->row_open = true;
}

/* Appends a text field, escaped for the COPY text format. */
void
copyw_text(struct copyw *w, const char *s)
{
	s_separate(w);
	if (s == NULL) {
		s_reserve(w, 2);
		memcpy(w->buf + w->len, "\\N", 2);
		w->len += 2;
		return;
	}
	s_reserve(w, 2 * strlen(s));
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\': w->buf[w->len++] = '\\'; w->buf[w->len++] = '\\'; break;
		case '\t': w->buf[w->len++] = '\\'; w->buf[w->len++] = 't'; break;
		case '\n': w->buf[w->len++] = '\\'; w->buf[w->len++] = 'n'; break;
		case '\r': w->buf[w->len++] = '\\'; w->buf[w->len++] = 'r'; break;
		default: w->buf[w->len++] = *s; break;
		}
	}
}

/* Appends a whole number field. */
void
copyw_u64(struct copyw *w, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);

	s_separate(w);
	s_reserve(w, (size_t)n);
	memcpy(w->buf + w->len, tmp, (size_t)n);
	w->len += (size_t)n;
}

/* Sends the buffer to the server, or writes it to the file. */
static bool
s_flush(struct copyw *w)
{
	if (w->len == 0)
		return true;
	if (w->fp != NULL) {
		if (fwrite(w->buf, 1, w->len, w->fp) != w->len) {
			log_error("writing COPY rows: %s", strerror(errno));
			return false;
		}
		w->len = 0;
		return true;
	}
	if (PQputCopyData(w->conn, w->buf, (int)w->len) != 1) {
		log_error("COPY: %s", PQerrorMessage(w->conn));
		return false;
	}
	w->len = 0;
	return true;
}

/* Ends the row, sending the buffer when it is nearly full. */
bool
copyw_end_row(struct copyw *w)
{
	s_reserve(w, 1);
	w->buf[w->len++] = '\n';
	w->row_open = false;
	w->rows++;
	if (w->len + COPYW_ROW_MAX > COPYW_CAP)
		return s_flush(w);
	return true;
}

/* Sends the rest, ends the COPY and checks the server agreed. */
bool
copyw_finish(struct copyw *w)
{
	PGresult *res;
	bool ok = s_flush(w);

	free(w->buf);
	w->buf = NULL;
	if (w->fp != NULL)
		return ok;
	if (PQputCopyEnd(w->conn, ok ? NULL : "fieldsim gave up") != 1) {
		log_error("COPY end: %s", PQerrorMessage(w->conn));
		return false;
	}
	while ((res = PQgetResult(w->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_error("COPY: %s", PQresultErrorMessage(res));
			ok = false;
		}
		PQclear(res);
	}
	return ok;
}

/* Ends the COPY with an error so that the server drops it. */
void
copyw_abort(struct copyw *w)
{
	PGresult *res;

	free(w->buf);
	w->buf = NULL;
	if (w->fp != NULL)
		return;
	PQputCopyEnd(w->conn, "fieldsim gave up");
	while ((res = PQgetResult(w->conn)) != NULL)
		PQclear(res);
}
