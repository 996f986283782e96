/*
 * The ZeroMQ intake: a ROUTER where field apps send [empty][SubmitRequest]
 * (REQ sockets add the empty frame themselves; DEALER clients send it). Each
 * message is checked before it is decoded: frame count, then size (libzmq
 * already drops frames over max_message_bytes), then the record limit.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ingestd.h"
#include "log.h"

/* The routing envelope's length: identity, plus the empty delimiter of REQ-style clients. */
static int
s_envelope(struct bus_msg *msg)
{
	if (msg->nframes >= 3 && bus_frame_size(msg, 1) == 0)
		return 2;
	return 1;
}

/* Keeps a copy of the envelope frames for the answer. */
static void
s_keep_envelope(struct submission *sub, struct bus_msg *msg, int envelope)
{
	for (int i = 0; i < envelope && i < 2; i++) {
		zmq_msg_init(&sub->envelope[i]);
		zmq_msg_copy(&sub->envelope[i], &msg->frames[i]);
		sub->nenvelope++;
	}
}

/* Decodes the request; NULL with *why set when it must be refused whole. */
static Gridwall__V1__SubmitRequest *
s_decode(struct ingestd *in, struct bus_msg *msg, int envelope, char *why, size_t len)
{
	const struct ingest_config *cfg = in->daemon->config;

	if (msg->nframes != envelope + 1 || msg->truncated) {
		snprintf(why, len, "expected [empty frame][SubmitRequest], got %d frames", msg->nframes);
		return NULL;
	}
	return codec_unpack_submit(bus_frame_data(msg, envelope), bus_frame_size(msg, envelope),
	                           cfg->max_batch_records, why, len);
}

/*
 * With Curve, the device behind the connection and its district; false when
 * the device is no longer listed (revoked since it connected).
 */
static bool
s_identify(struct ingestd *in, struct submission *sub, struct bus_msg *msg, int envelope)
{
	const char *device = NULL;
	const char *district;

	if (in->zap == NULL)
		return true;
	district = zap_peer_district(in->zap, &msg->frames[envelope], &device);
	snprintf(sub->device, sizeof(sub->device), "%s", device ? device : "?");
	if (district == NULL)
		return false;
	snprintf(sub->district, sizeof(sub->district), "%s", district);
	return true;
}

void
intake_zmq_message(void *arg, struct bus_socket *sock, struct bus_msg *msg)
{
	char why[160];
	struct ingestd *in = arg;
	int envelope = s_envelope(msg);
	Gridwall__V1__SubmitRequest *sr = s_decode(in, msg, envelope, why, sizeof(why));
	struct submission *sub = submission_new(sr ? sr->n_records : 0, ORIGIN_ZMQ);

	(void)sock;
	in->stats.requests_zmq++;
	if (sub == NULL) {
		if (sr != NULL)
			gridwall__v1__submit_request__free_unpacked(sr, NULL);
		log_error("out of memory: request dropped");
		return;
	}
	s_keep_envelope(sub, msg, envelope);
	if (sr == NULL) {
		log_warn("request refused: %s", why);
		group_refuse(in, sub, GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST, why);
		return;
	}
	sub->request = sr;
	for (size_t i = 0; i < sr->n_records; i++)
		sub->recs[i] = sr->records[i];
	if (!s_identify(in, sub, msg, envelope)) {
		log_warn("request of device %s refused: no longer listed", sub->device);
		group_refuse(in, sub, GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST,
		             "device not listed (revoked)");
		return;
	}
	group_submit(in, sub);
}
