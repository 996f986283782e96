/*
 * zsend: sends raw frames to ingestd's ROUTER as a device would, for tests
 * of hostile input: each argument after the endpoint is a file whose bytes
 * make one frame ("-" is an empty frame). Prints the reply's status and
 * error as one line, or "no reply" after the timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "gridwall/v1/gridwall.pb-c.h"

#define ZSEND_TIMEOUT_MS 3000
#define ZSEND_MAX_FRAMES 8

/* Reads a whole file into a malloc'ed buffer; "-" is empty. */
static char *
s_slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	long n;

	*len = 0;
	if (strcmp(path, "-") == 0)
		return calloc(1, 1);
	f = fopen(path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		perror(path);
		exit(2);
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(2);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Prints the reply frame as "STATUS error" (or what it is when undecodable). */
static void
s_print_reply(zmq_msg_t *msg)
{
	Gridwall__V1__SubmitReply *r = gridwall__v1__submit_reply__unpack(NULL, zmq_msg_size(msg),
	                                                                  zmq_msg_data(msg));
	const char *names[] = { "OK", "RETRY_LATER", "BAD_REQUEST" };

	if (r == NULL) {
		printf("undecodable reply\n");
		return;
	}
	printf("%s %s\n", (unsigned)r->status < 3 ? names[r->status] : "?", r->error ? r->error : "");
	gridwall__v1__submit_reply__free_unpacked(r, NULL);
}

int
main(int argc, char **argv)
{
	void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_DEALER);
	int linger = 0, timeout = ZSEND_TIMEOUT_MS, more = 1;
	zmq_msg_t msg;

	if (argc < 3 || argc - 2 > ZSEND_MAX_FRAMES) {
		fprintf(stderr, "usage: zsend ENDPOINT FILE|- [FILE|-]...\n");
		return 2;
	}
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	if (zmq_connect(sock, argv[1]) != 0)
		return 2;
	for (int i = 2; i < argc; i++) {
		size_t len;
		char *buf = s_slurp(argv[i], &len);

		zmq_send(sock, buf, len, i + 1 < argc ? ZMQ_SNDMORE : 0);
		free(buf);
	}
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, sock, 0) < 0) {
		printf("no reply\n");
	} else {
		while (more && zmq_msg_size(&msg) == 0 && zmq_msg_more(&msg))
			zmq_msg_recv(&msg, sock, 0);    /* the empty delimiter */
		s_print_reply(&msg);
	}
	zmq_msg_close(&msg);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return 0;
}
