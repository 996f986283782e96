/*
 * Fuzzes the CSV intake of gridctl import: the input as a community's file
 * (import_csv.c, both passes: header and quoting, then each row translated
 * into the JSON form of a record). Each row's record goes where the sender
 * would take it (record_from_json, then validation as ingestd does), and
 * each answer given here, a row's rejection or a record refused, must be
 * a writable JSON result line, as sender.c writes them. The two passes
 * must agree on the number of rows.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gridctl.h"
#include "record_json.h"
#include "validate.h"

/* What the second pass handed over. */
struct rows {
	long records;
	long rejected;
};

/* Once, before the first input: quiet logs, and what the inputs share. */
FUZZ_INITIALIZE(fuzz_areas())

/* gridctl's main.c prints these; the messages are formatted and dropped here. */
void
gridctl_err(const char *cmd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	(void)cmd;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

/* gridctl's sender.c gives up on memory exhaustion; a fuzzer has no use for that. */
void
gridctl_oom(const char *cmd)
{
	fprintf(stderr, "gridctl %s: out of memory\n", cmd);
	abort();
}

/* An answer given on the spot, as sender.c's s_local_result writes it. */
static void
s_local_result(const char *code, const char *field, const char *message)
{
	Gridwall__V1__RecordResult res = GRIDWALL__V1__RECORD_RESULT__INIT;
	json_t *j;

	res.outcome = GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED;
	res.code = (char *)code;
	res.field = (char *)field;
	res.message = (char *)message;
	j = record_result_to_json(&res);
	FUZZ_CHECK(j != NULL);
	json_decref(j);
}

/* A row's record, taken as sender_add takes it. */
static int
s_record(void *arg, long line, json_t *obj)
{
	struct rows *rows = arg;
	Gridwall__V1__ScreeningRecord rec;
	struct validation_error err;

	FUZZ_CHECK(line >= 1 && json_is_object(obj));
	rows->records++;
	if (record_from_json(obj, &rec, &err)) {
		if (!validate_submitted(&rec, fuzz_areas(), FUZZ_NOW, "", "", &err))
			s_local_result(err.code, err.field, err.message);
		record_json_release(&rec);
	} else {
		s_local_result(err.code, err.field, err.message);
	}
	json_decref(obj);
	return 0;
}

/* A row refused by the reader. */
static int
s_reject(void *arg, long line, const char *code, const char *field, const char *message)
{
	struct rows *rows = arg;

	FUZZ_CHECK(line >= 1 && code != NULL && message != NULL);
	rows->rejected++;
	s_local_result(code, field, message);
	return 0;
}

/* Each input, from libFuzzer; everything it allocates is freed before it returns. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rows rows = { 0, 0 };
	struct import_csv *csv;
	char path[64];
	int fd, status;
	FILE *f;

	fd = fuzz_memfd(data, size, path, sizeof(path));
	f = fopen(path, "rb");
	FUZZ_CHECK(f != NULL);
	csv = import_csv_check(f, path, &status);
	if (csv == NULL) {
		FUZZ_CHECK(status != GRIDCTL_EXIT_OK);
	} else {
		status = import_csv_read(csv, f, s_record, s_reject, &rows);
		FUZZ_CHECK(status == GRIDCTL_EXIT_OK);
		FUZZ_CHECK(rows.records + rows.rejected == import_csv_rows(csv));
		import_csv_destroy(&csv);
		FUZZ_CHECK(csv == NULL);
	}
	fclose(f);
	close(fd);
	return 0;
}
