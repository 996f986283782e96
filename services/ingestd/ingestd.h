/*
 * ingestd: accepts screening records from field apps, validates each one,
 * stores the valid ones in one transaction, answers every record only after
 * COMMIT, then announces the stored records to rulesd.
 */
#ifndef GRIDWALL_INGESTD_H
#define GRIDWALL_INGESTD_H

#include <stdint.h>

#include "area.h"
#include "daemon.h"
#include "gridwall/v1/gridwall.pb-c.h"

struct ingest_config {
	struct daemon_config shared;
	long max_batch_records;
	long max_message_bytes;
	long events_hwm;
	long retry_after_ms;
};

struct ingest_stats {
	uint64_t accepted;
	uint64_t duplicate;
	uint64_t rejected;
	uint64_t batches;
	uint64_t bad_requests;
	uint64_t retry_later;
	uint64_t events_dropped;
};

struct ingestd {
	struct daemon *daemon;
	struct bus_socket *router;
	struct bus_socket *events;
	struct area_tree *areas;
	struct ingest_stats stats;
};

/* What the store did with one record. */
struct stored {
	Gridwall__V1__RecordResult__Outcome outcome;
	int64_t server_id;
	int64_t person_id;
	int64_t household_id;
	int64_t received_at;
	const char *code;              /* when rejected by the database */
	char message[192];
};

/*
 * Stores the records whose valid[i] is true, in one transaction, filling
 * out[i] for each of them. Returns 0 once committed, or -1 if nothing was
 * committed (database unavailable): then the whole batch must be retried.
 */
int store_batch(struct db *db, Gridwall__V1__ScreeningRecord **recs, const bool *valid,
                size_t n, struct stored *out);

#endif
