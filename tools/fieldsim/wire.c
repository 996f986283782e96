/*
 * The device's side of the ingest socket: batches of packed records, the
 * SubmitRequest written around them, and the DEALER frames
 * [empty][SubmitRequest] out and [empty][SubmitReply] back. The request
 * is assembled from the records' packed bytes (protobuf's encoding of a
 * repeated message field is each element's bytes behind a tag and a
 * length), so a re-sent record travels byte for byte as it first did.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "defaults.h"
#include "fieldsim.h"
#include "log.h"

#define TAG_DEVICE_ID 0x0a       /* SubmitRequest field 1, length-delimited */
#define TAG_RECORDS 0x12         /* SubmitRequest field 2, length-delimited */
#define VARINT_MAX 10

/* Appends a packed record to a batch. */
bool
batch_add(struct batch *b, uint8_t *buf, size_t len, enum rec_kind kind)
{
	if (b->len == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct packed *grown = realloc(b->recs, cap * sizeof(*grown));

		if (grown == NULL) {
			free(buf);
			return false;
		}
		b->recs = grown;
		b->cap = cap;
	}
	b->recs[b->len].buf = buf;
	b->recs[b->len].len = len;
	b->recs[b->len].kind = (uint8_t)kind;
	b->len++;
	return true;
}

/* Writes v as a protobuf varint; returns the bytes written. */
static size_t
s_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	do {
		out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	return n;
}

/* Writes a length-delimited field: tag, length, bytes. */
static size_t
s_field(uint8_t *out, uint8_t tag, const void *bytes, size_t len)
{
	size_t n = 0;

	out[n++] = tag;
	n += s_varint(out + n, len);
	memcpy(out + n, bytes, len);
	return n + len;
}

/* Packs the SubmitRequest around the batch's records. */
bool
batch_encode(struct batch *b, const char *device_id)
{
	size_t dlen = strlen(device_id), size = 1 + VARINT_MAX + dlen, n;

	for (size_t i = 0; i < b->len; i++)
		size += 1 + VARINT_MAX + b->recs[i].len;
	free(b->req);
	b->req = malloc(size);
	if (b->req == NULL)
		return false;
	n = s_field(b->req, TAG_DEVICE_ID, device_id, dlen);
	for (size_t i = 0; i < b->len; i++)
		n += s_field(b->req + n, TAG_RECORDS, b->recs[i].buf,
		    b->recs[i].len);
	b->req_len = n;
	return true;
}

/* Frees the records and the request, keeping the array. */
void
batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->len; i++)
		free(b->recs[i].buf);
	b->len = 0;
	free(b->req);
	b->req = NULL;
	b->req_len = 0;
}

/* Frees everything the batch holds. */
void
batch_free(struct batch *b)
{
	batch_clear(b);
	free(b->recs);
	b->recs = NULL;
	b->cap = 0;
}

/* A DEALER socket connected to the ingest endpoint. */
void *
wire_open(void *ctx, const char *endpoint)
{
	void *sock = zmq_socket(ctx, ZMQ_DEALER);
	int linger = 0;

	if (sock == NULL) {
		log_error("zmq_socket: %s", zmq_strerror(errno));
		return NULL;
	}
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_connect(sock, endpoint) != 0) {
		log_error("cannot connect to %s: %s", endpoint,
		    zmq_strerror(errno));
		zmq_close(sock);
		return NULL;
	}
	return sock;
}

/* Closes a socket, if open. */
void
wire_close(void **sock_p)
{
	if (*sock_p == NULL)
		return;
	zmq_close(*sock_p);
	*sock_p = NULL;
}

/* Sends [empty][request] without blocking. */
bool
wire_send(void *sock, const uint8_t *buf, size_t len)
{
	if (zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) != 0) {
		log_debug("send: %s", zmq_strerror(errno));
		return false;
	}
	if (zmq_send(sock, buf, len, ZMQ_DONTWAIT) != (int)len) {
		log_debug("send: %s", zmq_strerror(errno));
		return false;
	}
	return true;
}

/* Decodes the reply frame, checking its size first. */
static Gridwall__V1__SubmitReply *
s_decode(zmq_msg_t *msg)
{
	size_t size = zmq_msg_size(msg);

	if (size > DEFAULT_MAX_MESSAGE_BYTES) {
		log_warn("reply of %zu bytes is over the limit", size);
		return NULL;
	}
	return gridwall__v1__submit_reply__unpack(NULL, size, zmq_msg_data(msg));
}

/* Reads one reply, if one is waiting. */
int
wire_recv(void *sock, Gridwall__V1__SubmitReply **out)
{
	zmq_msg_t msg;
	int frames = 0, more = 1;
	bool ok = true;

	*out = NULL;
	while (more) {
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			if (frames == 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			log_warn("receive: %s", zmq_strerror(errno));
			ok = false;
			break;
		}
		more = zmq_msg_more(&msg);
		if (frames == 0 && zmq_msg_size(&msg) != 0)
			ok = false;      /* not the empty delimiter */
		else if (frames == 1 && ok)
			ok = (*out = s_decode(&msg)) != NULL;
		else if (frames >= 2)
			ok = false;
		frames++;
		zmq_msg_close(&msg);
	}
	if (ok && frames == 2)
		return 1;
	if (*out != NULL)
		gridwall__v1__submit_reply__free_unpacked(*out, NULL);
	*out = NULL;
	log_warn("malformed reply (%d frames)", frames);
	return -1;
}
