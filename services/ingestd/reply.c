/*
 * Answers, on the channel each request came from: a SubmitReply on the
 * ROUTER with the request's envelope, or a JSON document on the deferred
 * HTTP response.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ingestd.h"
#include "log.h"
#include "record_json.h"

void
reply_zmq(struct ingestd *in, struct submission *sub, const Gridwall__V1__SubmitReply *reply)
{
	const void *data[3];
	size_t lens[3];
	size_t len;
	uint8_t *buf = codec_pack(&reply->base, &len);
	int n = sub->nenvelope;

	if (buf == NULL || in->router == NULL) {
		free(buf);
		return;
	}
	for (int i = 0; i < n; i++) {
		data[i] = zmq_msg_data(&sub->envelope[i]);
		lens[i] = zmq_msg_size(&sub->envelope[i]);
	}
	data[n] = buf;
	lens[n] = len;
	if (bus_send(in->router, data, lens, n + 1) != 0)
		log_warn("reply not sent: %s", zmq_strerror(zmq_errno()));
	free(buf);
}

/* "Retry-After" in whole seconds, as a static header line. */
static const char *
s_retry_after(uint32_t ms)
{
	static const char *const lines[] = {
		"Retry-After: 1\r\n", "Retry-After: 2\r\n", "Retry-After: 3\r\n", "Retry-After: 4\r\n",
		"Retry-After: 5\r\n", "Retry-After: 10\r\n", "Retry-After: 30\r\n", "Retry-After: 60\r\n",
	};
	static const uint32_t limits[] = { 1000, 2000, 3000, 4000, 5000, 10000, 30000 };

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (ms <= limits[i])
			return lines[i];
	return lines[7];
}

/* The per-record results and their totals as a JSON document. */
static json_t *
s_results_json(const Gridwall__V1__SubmitReply *reply)
{
	json_t *results = json_array();
	json_int_t counts[3] = { 0, 0, 0 };

	for (size_t i = 0; i < reply->n_results; i++) {
		const Gridwall__V1__RecordResult *r = reply->results[i];

		if ((int)r->outcome >= 0 && (int)r->outcome < 3)
			counts[r->outcome]++;
		json_array_append_new(results, record_result_to_json(r));
	}
	return json_pack("{s:I, s:I, s:I, s:o}", "accepted", counts[0], "duplicate", counts[1],
	                 "rejected", counts[2], "results", results);
}

void
reply_http(struct ingestd *in, struct submission *sub, const Gridwall__V1__SubmitReply *reply)
{
	struct http_response resp = { 0 };
	int status = 200;
	json_t *doc;

	(void)in;
	switch (reply->status) {
	case GRIDWALL__V1__SUBMIT_REPLY__STATUS__OK:
		doc = s_results_json(reply);
		break;
	case GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER:
		status = 503;
		resp.extra_headers = s_retry_after(reply->retry_after_ms);
		doc = json_pack("{s:s}", "error", reply->error ? reply->error : "retry later");
		break;
	default:
		status = 400;
		doc = json_pack("{s:s}", "error", reply->error ? reply->error : "bad request");
		break;
	}
	http_respond_json(&resp, status, doc);
	http_deferred_respond(sub->http, &resp);
	sub->http = NULL;
}
