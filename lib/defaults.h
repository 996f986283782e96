/*
 * Default endpoints and limits that several programs must agree on. Each is
 * also a config key (docs/operations.md); these are only the defaults.
 */
#ifndef GRIDWALL_DEFAULTS_H
#define GRIDWALL_DEFAULTS_H

/* Field apps -> ingestd: ROUTER; a client sends [empty][SubmitRequest] (REQ or DEALER). */
#define DEFAULT_INGEST_ENDPOINT   "tcp://127.0.0.1:7701"
/* ingestd PUSH (bind) -> rulesd PULL: RecordEvent. */
#define DEFAULT_EVENTS_ENDPOINT   "tcp://127.0.0.1:7702"
/* rulesd PUB (bind): [grid code][RiskAlert]; subscribe to an area code prefix. */
#define DEFAULT_ALERTS_ENDPOINT   "tcp://127.0.0.1:7703"
/* rulesd PUSH (bind) -> reportd PULL: RecordEvent with level set. */
#define DEFAULT_ASSESSED_ENDPOINT "tcp://127.0.0.1:7704"
/* reportd PUB (bind): [area code][AggregateSnapshot]. */
#define DEFAULT_FEED_ENDPOINT     "tcp://127.0.0.1:7705"
/* reportd ROUTER (bind): [empty][SnapshotRequest] -> [empty][SnapshotReply]...: the feed's Clone snapshots. */
#define DEFAULT_SNAPSHOT_ENDPOINT "tcp://127.0.0.1:7706"
/* reportd HTTP API. */
#define DEFAULT_HTTP_LISTEN       "127.0.0.1:8080"
/* ingestd HTTP intake (POST /v1/screenings), health and metrics. */
#define DEFAULT_INGEST_HTTP_LISTEN "127.0.0.1:8081"

/* The embedded cluster of deploy/pg.sh listens on loopback on this port. */
#define DEFAULT_DATABASE          "dbname=gridwall host=127.0.0.1 port=55432"

/* rulesd's rules: a .rules file or a folder of them (docs/rules.md). */
#define DEFAULT_RULES_PATH        "/etc/gridwall/rules"

#define DEFAULT_MAX_BATCH_RECORDS 1000
#define DEFAULT_MAX_MESSAGE_BYTES (4 * 1024 * 1024)

#endif
