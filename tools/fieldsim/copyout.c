/*
 * The baseline of the ingest benchmark: the records `fieldsim day` would
 * send, written instead as the rows ingestd would store for them, in
 * COPY text format (columns COPYOUT_COLUMNS). Each packed record is
 * decoded back, so the rows are exactly what went through the encoder;
 * the person and household ids come from the roster, as ingestd would
 * find them, so `COPY screenings (...) FROM` loads the same rows into the
 * same table, indexes and foreign keys as ingest does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "fieldsim.h"
#include "log.h"

struct copyout {
	char *path;
	FILE *fp;
	struct copyw w;
	bool failed;
};

/* A non-empty string or NULL (SQL NULL), as ingestd stores it. */
static const char *
s_opt(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* Opens the file and its row buffer. */
struct copyout *
copyout_open(const char *path)
{
	struct copyout *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->path = strdup(path)) == NULL) {
		log_error("out of memory");
		free(c);
		return NULL;
	}
	if ((c->fp = fopen(path, "w")) == NULL) {
		log_error("cannot create %s: %s", path, strerror(errno));
		free(c->path);
		free(c);
		return NULL;
	}
	if (!copyw_begin_file(&c->w, c->fp)) {
		fclose(c->fp);
		free(c->path);
		free(c);
		return NULL;
	}
	return c;
}

/* A Unix time as a timestamptz literal in UTC. */
static void
s_timestamp(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S+00", &tm);
}

/* Tenths of a degree as numeric(3,1) text. */
static void
s_tenths(int32_t tenths, char *out, size_t len)
{
	int32_t a = tenths < 0 ? -tenths : tenths;

	snprintf(out, len, "%s%d.%d", tenths < 0 ? "-" : "", (int)(a / 10),
	    (int)(a % 10));
}

/* The symptoms as a text[] literal; the names are fixed identifiers. */
static void
s_symptoms(const Gridwall__V1__ScreeningRecord *r, char *out, size_t len)
{
	size_t used = (size_t)snprintf(out, len, "{");

	for (size_t i = 0; i < r->n_symptoms && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
		    i ? "," : "", codec_symptom_name(r->symptoms[i]));
	if (used < len)
		snprintf(out + used, len - used, "}");
}

/* Writes the fields of one row, in COPYOUT_COLUMNS order. */
static void
s_row(struct copyw *w, const Gridwall__V1__ScreeningRecord *r,
      const struct person_rec *p)
{
	char at[32], temp[16], symptoms[256];

	s_timestamp(r->screened_at, at, sizeof(at));
	s_tenths(r->temperature_tenths, temp, sizeof(temp));
	s_symptoms(r, symptoms, sizeof(symptoms));
	copyw_text(w, r->client_uuid);
	copyw_text(w, s_opt(r->device_id));
	copyw_text(w, s_opt(r->worker_id));
	copyw_text(w, s_opt(r->team_id));
	copyw_text(w, codec_channel_name(r->channel));
	copyw_text(w, at);
	copyw_text(w, r->grid_code);
	if (s_opt(r->household_code) != NULL && p->household_id > 0)
		copyw_u64(w, (uint64_t)p->household_id);
	else
		copyw_text(w, NULL);
	copyw_u64(w, (uint64_t)p->id);
	copyw_text(w, r->has_temperature_tenths ? temp : NULL);
	copyw_text(w, symptoms);
	copyw_text(w, s_opt(r->origin_region));
	copyw_text(w, s_opt(r->departed_on));
	copyw_text(w, s_opt(r->arrived_on));
	copyw_text(w, codec_contact_name(r->has_contact ? r->contact :
	    GRIDWALL__V1__CONTACT__NO_CONTACT));
	copyw_text(w, s_opt(r->note));
}

/* Decodes one packed record and writes its row. */
bool
copyout_record(struct copyout *c, const struct person_rec *p,
               const uint8_t *buf, size_t len)
{
	Gridwall__V1__ScreeningRecord *r;

	r = gridwall__v1__screening_record__unpack(NULL, len, buf);
	if (r == NULL) {
		log_error("a record of %zu bytes does not decode", len);
		c->failed = true;
		return false;
	}
	s_row(&c->w, r, p);
	gridwall__v1__screening_record__free_unpacked(r, NULL);
	if (!copyw_end_row(&c->w))
		c->failed = true;
	return !c->failed;
}

/* Rows written so far. */
uint64_t
copyout_rows(const struct copyout *c)
{
	return c->w.rows;
}

/* Flushes, closes and frees; false if any write failed. */
bool
copyout_close(struct copyout **c_p)
{
	struct copyout *c = *c_p;
	bool ok;

	if (c == NULL)
		return true;
	ok = copyw_finish(&c->w) && !c->failed;
	if (fclose(c->fp) != 0) {
		log_error("closing %s: %s", c->path, strerror(errno));
		ok = false;
	}
	free(c->path);
	free(c);
	*c_p = NULL;
	return ok;
}
