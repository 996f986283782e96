/*
 * ingestd: accepts screening records from field apps over ZeroMQ and
 * HTTP/JSON, validates each one, and stores the valid ones by group commit:
 * the records of every request that arrived while the previous group was
 * committing go into one transaction. Each request is answered, record by
 * record, only after that COMMIT; then the stored records are PUSHed to
 * rulesd.
 */
#ifndef GRIDWALL_INGESTD_H
#define GRIDWALL_INGESTD_H

#include <jansson.h>
#include <stdint.h>

#include "area.h"
#include "daemon.h"
#include "gridwall/v1/gridwall.pb-c.h"
#include "http.h"
#include "metrics.h"
#include "pgarray.h"
#include "validate.h"
#include "zap.h"

struct ingest_config {
	struct daemon_config shared;
	long max_batch_records;
	long max_message_bytes;
	long events_hwm;
	long retry_after_ms;
	long group_max_records;
	long max_inflight_records;
	char *http_listen;
	long http_max_body_bytes;
	long http_idle_timeout_ms;
	long http_max_connections;
	char *security;
	char *curve_server_key_file;
	char *curve_devices_dir;
};

/* What the store did with one valid record. */
struct stored {
	Gridwall__V1__RecordResult__Outcome outcome;
	int64_t server_id;
	int64_t person_id;
	int64_t household_id;
	int64_t received_at;
	const char *code;              /* when the database refused it */
	char message[128];
	const struct stored *repeat_of;/* an earlier record of the same group with this client_uuid */
};

enum origin { ORIGIN_ZMQ, ORIGIN_HTTP };

/* Columns of a group as store.c sends it: seq and the 21 record fields. */
#define INCOMING_COLUMNS 22

/* One request (a SubmitRequest, or one HTTP POST) on its way through a group. */
struct submission {
	struct submission *next;
	enum origin origin;
	size_t n;
	Gridwall__V1__ScreeningRecord **recs;
	struct validation_error *verr; /* code NULL: valid */
	struct stored *st;
	size_t nvalid;
	uint64_t arrived_ns;
	/* answered as a whole (BAD_REQUEST, RETRY_LATER) when status is not OK */
	Gridwall__V1__SubmitReply__Status status;
	char error[160];
	/* an authenticated device may only submit records for its own district */
	char device[64];
	char district[AREA_CODE_MAX];
	/* owners of the records */
	Gridwall__V1__SubmitRequest *request;
	json_t *json;
	Gridwall__V1__ScreeningRecord *json_recs;
	/* where the answer goes */
	zmq_msg_t envelope[2];
	int nenvelope;
	struct http_deferred *http;
};

/* Counters for /metrics and the log line at stop. */
struct ingest_stats {
	uint64_t accepted, duplicate, rejected;
	uint64_t requests_zmq, requests_http;
	uint64_t groups, retry_later, bad_requests;
	uint64_t events_dropped, new_persons, fallbacks, plans_prepared;
	uint64_t rejected_by_code[32];
	struct histogram group_size;
	struct histogram commit_ms;
	struct histogram ack_ms;
};

struct ingestd {
	struct daemon *daemon;
	struct bus_socket *router;
	struct bus_socket *events;
	struct http_server *http;
	struct zap_handler *zap;       /* device allowlist when security = curve */
	struct area_tree *areas;
	struct submission *head, *tail;/* the group being gathered */
	size_t group_records;          /* valid records in it */
	size_t inflight;               /* valid records accepted for storing, not yet answered */
	uv_check_t flush_check;
	struct pgarray cols[INCOMING_COLUMNS];  /* a group's records, one array per column */
	struct uuid_seen *seen;        /* client_uuids of the group being stored */
	size_t seen_cap;
	struct store_plans {           /* the group statements prepared on the connection */
		bool ready;
		unsigned long connection;  /* db_reconnects() when they were prepared */
		uint64_t stored;           /* records stored since */
		uint64_t replan_after;     /* prepare again once that many are stored */
	} plans;
	struct ingest_stats stats;
};

/* group.c: gathering requests into groups, committing, answering. */
void group_init(struct ingestd *in);
void group_close(struct ingestd *in);
/*
 * Validates a submission and queues it. Every submission, even one refused
 * whole, is answered from the queue, so a device's answers keep its order.
 */
void group_submit(struct ingestd *in, struct submission *sub);
/* Queues a submission refused whole with status and error. */
void group_refuse(struct ingestd *in, struct submission *sub,
                  Gridwall__V1__SubmitReply__Status status, const char *error);
/* Commits and answers whatever is gathered now. */
void group_flush(struct ingestd *in);
struct submission *submission_new(size_t n, enum origin origin);
void submission_free(struct submission *sub);
/* Counts a rejection under its code. */
void stats_count_rejected(struct ingest_stats *stats, const char *code);
/* The rejection codes /metrics lists, in the order of ingest_stats.rejected_by_code. */
const char *const *ingest_counted_codes(size_t *n);

/* store.c: one transaction for a group. */
/* Stores every valid record of the group; 0 once committed, -1 if nothing was. */
int store_group(struct ingestd *in, struct submission *head);
/*
 * Prepares the group statements on a new connection and runs them once over
 * an empty group, so that the first devices do not wait for the plans and
 * the backend's caches. Failures are logged; store_group tries again.
 */
void store_ready(struct ingestd *in);

/* reply.c: answers on each channel. */
void reply_zmq(struct ingestd *in, struct submission *sub, const Gridwall__V1__SubmitReply *reply);
void reply_http(struct ingestd *in, struct submission *sub, const Gridwall__V1__SubmitReply *reply);

/* intake_zmq.c, intake_http.c: the channels. */
void intake_zmq_message(void *arg, struct bus_socket *sock, struct bus_msg *msg);
void intake_http_request(void *arg, const struct http_request *req, struct http_response *resp);

#endif
