/*
 * submitseed: packs records given as JSON lines on stdin (the form gridctl
 * push reads) into one SubmitRequest and writes its bytes to the file named
 * by the argument. It made the seeds of tests/fuzz/corpus/submit; a line
 * that is not a record is packed as an empty record, so that refusals have
 * seeds too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "record_json.h"

#define SUBMITSEED_MAX 64

int
main(int argc, char **argv)
{
	Gridwall__V1__SubmitRequest req = GRIDWALL__V1__SUBMIT_REQUEST__INIT;
	Gridwall__V1__ScreeningRecord recs[SUBMITSEED_MAX], *ptrs[SUBMITSEED_MAX];
	json_t *objs[SUBMITSEED_MAX];
	struct validation_error err;
	char line[8192];
	size_t n = 0, len;
	uint8_t *buf;
	FILE *out;

	if (argc != 2) {
		fprintf(stderr, "usage: submitseed OUT.bin < records.jsonl\n");
		return 2;
	}
	while (n < SUBMITSEED_MAX && fgets(line, sizeof(line), stdin) != NULL) {
		objs[n] = json_loads(line, 0, NULL);
		if (!record_from_json(objs[n], &recs[n], &err))
			gridwall__v1__screening_record__init(&recs[n]);
		ptrs[n] = &recs[n];
		n++;
	}
	req.n_records = n;
	req.records = ptrs;
	buf = codec_pack(&req.base, &len);
	out = fopen(argv[1], "wb");
	if (buf == NULL || out == NULL || fwrite(buf, 1, len, out) != len || fclose(out) != 0) {
		perror(argv[1]);
		return 1;
	}
	free(buf);
	for (size_t i = 0; i < n; i++) {
		record_json_release(&recs[i]);
		json_decref(objs[i]);
	}
	return 0;
}
