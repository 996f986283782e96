/*
 * fieldsim's private interface: the pieces shared by its two commands.
 * `fieldsim city` builds a synthetic Foshan (areas, households, persons,
 * risk areas) and streams it into PostgreSQL with COPY; `fieldsim day`
 * plays the field apps of one day of screening against ingestd, or writes
 * the records it would send as COPY rows (the baseline of the ingest
 * benchmark). Both are deterministic for a seed, so a test can reproduce
 * what it saw.
 */
#ifndef FIELDSIM_H
#define FIELDSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "gridwall/v1/gridwall.pb-c.h"

#define FS_CITY_CODE "4406"
#define FS_CITY_NAME "佛山市"

/* ---- main.c: helpers for option parsing ---- */

/* Parses a whole decimal number in [min, max]; logs and returns false if not. */
bool fs_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
                  uint64_t *out);
/* Parses a positive decimal fraction (e.g. a rate); false if not. */
bool fs_parse_double(const char *opt, const char *s, double min, double max,
                     double *out);
/* Seconds on the monotonic clock. */
double fs_now(void);
/* Connects to PostgreSQL in UTF-8; logs and returns NULL on failure. */
PGconn *fs_connect(const char *conninfo);

/* ---- rng.c: deterministic pseudo-random numbers (xoshiro256**) ---- */

struct rng {
	uint64_t s[4];
};

/* Mixes a 64-bit value into a well-spread one (splitmix64 finaliser). */
uint64_t rng_mix(uint64_t x);
/* Seeds a stream from a seed and two stream numbers (e.g. grid, purpose). */
void rng_seed(struct rng *r, uint64_t seed, uint64_t a, uint64_t b);
/* Seeds a stream from the kernel's entropy (for UUIDs that must not repeat). */
void rng_seed_entropy(struct rng *r);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n); n > 0. */
uint32_t rng_below(struct rng *r, uint32_t n);
/* Uniform in [lo, hi], inclusive. */
int rng_range(struct rng *r, int lo, int hi);
/* True with a probability of permille / 1000. */
bool rng_permille(struct rng *r, unsigned permille);
/* Index drawn from weights[0..n), each weight >= 0, total > 0. */
size_t rng_weighted(struct rng *r, const unsigned *weights, size_t n);
/* A random (version 4) UUID in its 36-character text form. */
void rng_uuid(struct rng *r, char out[37]);

/* ---- names.c: names of people and places ---- */

/* A person's name: the surname (index from names_surname) and given name. */
void names_person(struct rng *r, size_t surname, bool male, char *out, size_t len);
/* Draws a surname index, weighted like Foshan's surnames. */
size_t names_surname(struct rng *r);
/*
 * The name of the j-th generated community of a town (after its real
 * ones): two characters and 社区 or 村, unique within the town, never
 * one of the town's real names.
 */
void names_community(size_t town, size_t j, bool village,
                     const char *const *taken, size_t ntaken,
                     char *out, size_t len);
/* A street name for addresses (any index; it wraps). */
const char *names_street(size_t index);

/* ---- plan.c: the area tree and how many people live where ---- */

struct plan_district {
	const char *code;
	const char *name;
};

struct plan_town {
	char code[10];
	const char *name;
	size_t district;
	size_t first_community;
	size_t ncommunities;
};

struct plan_community {
	char code[13];
	char name[40];
	size_t town;
	size_t first_grid;
	size_t ngrids;
};

struct plan_grid {
	char code[16];
	size_t community;
	uint32_t persons;
	uint32_t number;       /* 1-based within its community: 第N网格 */
};

struct plan {
	const struct plan_district *districts;
	size_t ndistricts;
	struct plan_town *towns;
	size_t ntowns;
	struct plan_community *communities;
	size_t ncommunities;
	struct plan_grid *grids;
	size_t ngrids;
	uint64_t persons;
	uint32_t max_grid_persons;
};

#define PLAN_MIN_PERSONS 100

/* Lays out the city for a population; NULL (logged) on failure. */
struct plan *plan_new(uint64_t persons, uint64_t seed);
void plan_destroy(struct plan **plan_p);

/* ---- idgen.c: resident ids derived one-to-one from a person's index ---- */

/* Persons are limited by the ids one birth date can carry (999 a day). */
#define IDGEN_MAX_PERSONS 25000000ULL

struct idgen;

struct idgen *idgen_new(uint64_t persons, uint64_t seed);
void idgen_destroy(struct idgen **g_p);
/*
 * The resident id of person index (0 <= index < persons) with the given
 * 6-digit address code; distinct indexes give distinct ids whatever the
 * address codes. Also the sex (1 male, 2 female) and the birth date.
 */
void idgen_make(const struct idgen *g, uint64_t index, const char *addr,
                char out[19], int *sex, int32_t *birth);

/* ---- household.c: households of a grid ---- */

enum hh_kind {
	HH_REGISTERED,
	HH_FLOATING,        /* floating, no tag */
	HH_RENTAL,          /* floating, tagged rental */
	HH_DORMITORY,       /* floating, tagged dormitory */
};

struct household {
	uint16_t size;
	uint8_t kind;
	uint8_t origin;       /* index into the address codes (household_origin) */
	uint16_t surname;     /* the family's surname */
	uint16_t street;
	uint16_t number;      /* house or building number */
	uint16_t room;
};

/*
 * Fills out[] with the households of grid (as many as its persons need,
 * at most plan->max_grid_persons) and returns how many. The same seed
 * and grid always give the same households.
 */
size_t household_generate(const struct plan *plan, uint64_t seed, size_t grid,
                          struct household *out);
/* The 6-digit address code of an origin index. */
const char *household_origin(size_t origin);
/* An origin for one member of a dormitory (workers from everywhere). */
uint8_t household_worker_origin(struct rng *r, size_t district);
/* True if the origin is in Hubei. */
bool household_origin_hubei(size_t origin);
/* Writes a household's address. */
void household_address(const struct plan *plan, size_t grid,
                       const struct household *h, char *out, size_t len);

/* ---- copyw.c: buffered COPY FROM STDIN rows ---- */

struct copyw {
	PGconn *conn;            /* rows go to the server, or */
	FILE *fp;                /* to a file (conn is then NULL) */
	char *buf;
	size_t len;
	size_t cap;
	bool row_open;
	uint64_t rows;
};

/* Starts COPY ... FROM STDIN; false (logged) on failure. */
bool copyw_begin(struct copyw *w, PGconn *conn, const char *sql);
/* Starts writing rows to a file, for a later COPY; false (logged) on OOM. */
bool copyw_begin_file(struct copyw *w, FILE *fp);
/* Appends one text field (escaped), NULL for SQL NULL. */
void copyw_text(struct copyw *w, const char *s);
void copyw_u64(struct copyw *w, uint64_t v);
/* Ends a row; false (logged) if sending failed. */
bool copyw_end_row(struct copyw *w);
/* Ends COPY (or flushes the file) and checks it; false (logged) on failure. */
bool copyw_finish(struct copyw *w);
/* Aborts a COPY in progress (after an error elsewhere). */
void copyw_abort(struct copyw *w);

/* ---- roster.c: the persons the field apps visit, paged from the database ---- */

struct person_rec {
	int64_t id;
	int64_t household_id;    /* persons.household_id, the household's id */
	char id_number[24];
	char name[72];
	char phone[24];          /* "" when none */
	char sex[8];             /* "male", "female" or "" */
	char birth_date[12];     /* YYYY-MM-DD or "" */
	char household[72];
	char grid[20];
};

/* One device's share of the persons: ids in (lo, hi], read a page at a time. */
struct roster_slice {
	int64_t lo;
	int64_t hi;
	int64_t cursor;          /* last id read */
	size_t first_page;       /* rows of its first read: staggered across devices */
	struct person_rec *page;
	size_t len;
	size_t pos;
	bool exhausted;          /* every person of the slice was handed out */
};

struct roster {
	PGconn *conn;
	uint64_t persons;
	int64_t min_id;
	int64_t max_id;
};

/* Connects and counts the persons; NULL (logged) on failure or none. */
struct roster *roster_open(const char *conninfo);
void roster_close(struct roster **roster_p);
/* Slice k of n, about equal ranges of ids. */
bool roster_slice_init(const struct roster *r, struct roster_slice *s,
                       size_t k, size_t n);
void roster_slice_free(struct roster_slice *s);
/* Starts the slice over (a second round of visits). */
void roster_slice_rewind(struct roster_slice *s);
/*
 * The slice's next person: 1 with *out set (valid until the next call),
 * 0 when the slice is exhausted, -1 (logged) on a database error. With
 * peek, the person is not consumed.
 */
int roster_next(struct roster *r, struct roster_slice *s, bool peek,
                const struct person_rec **out);

/* ---- records.c: one screening record of a given kind ---- */

enum rec_kind {
	REC_NORMAL,
	REC_ARRIVAL,             /* arrived from a risk area */
	REC_FEVER,               /* fever, no travel */
	REC_CONTACT,             /* close contact of a confirmed case */
	REC_BAD_CHECKSUM,        /* invalid: id with a wrong check digit */
	REC_BAD_GRID,            /* invalid: unknown grid 440699999999999 */
	REC_BAD_TEMPERATURE,     /* invalid: 45.0 C */
	REC_NO_NAME,             /* invalid: name missing */
	REC_FUTURE,              /* invalid: screened_at a day ahead */
	REC_RESEND,              /* an earlier record's exact bytes again */
	REC_KINDS,
};

/* Per mille of records of each special kind; the rest are normal. */
struct mix {
	unsigned arrival;
	unsigned fever;
	unsigned contact;
	unsigned invalid;
	unsigned resend;
};

struct rec_env {
	int32_t day;             /* the screening day, days since 1970 */
	int64_t day_start;       /* its first second, Unix time (UTC) */
	int64_t now;             /* wall clock, Unix time */
	const char *device_id;
};

enum rec_kind rec_draw_kind(struct rng *r, const struct mix *mix);
const char *rec_kind_name(enum rec_kind kind);
/* True for the kinds ingestd must store (ACCEPTED). */
bool rec_kind_valid(enum rec_kind kind);
/* The code ingestd must reject an invalid kind with, NULL for valid kinds. */
const char *rec_kind_code(enum rec_kind kind);
/* Builds and packs one record about p; malloc'ed bytes, NULL on OOM. */
uint8_t *rec_build(enum rec_kind kind, const struct person_rec *p,
                   const struct rec_env *env, struct rng *r, struct rng *uuids,
                   size_t *len);

/* ---- wire.c: batches and the DEALER side of the ingest socket ---- */

struct packed {
	uint8_t *buf;            /* one packed ScreeningRecord, owned */
	size_t len;
	uint8_t kind;            /* enum rec_kind */
};

struct batch {
	struct packed *recs;
	size_t len;
	size_t cap;
	uint8_t *req;            /* the packed SubmitRequest, once encoded */
	size_t req_len;
	double started;          /* when the first record went in */
};

/* Adds a record, taking buf; false on OOM (buf is then freed). */
bool batch_add(struct batch *b, uint8_t *buf, size_t len, enum rec_kind kind);
/* Packs the SubmitRequest of the batch's records. */
bool batch_encode(struct batch *b, const char *device_id);
/* Frees the records, keeps the array for reuse. */
void batch_clear(struct batch *b);
void batch_free(struct batch *b);

/* A DEALER socket connected to endpoint, linger 0; NULL (logged) on failure. */
void *wire_open(void *ctx, const char *endpoint);
void wire_close(void **sock_p);
/* Sends [empty][bytes] without blocking; false if the socket refused. */
bool wire_send(void *sock, const uint8_t *buf, size_t len);
/*
 * Reads one reply if there is one: 1 with *out unpacked (free with
 * gridwall__v1__submit_reply__free_unpacked), 0 if nothing is waiting,
 * -1 (logged) for a malformed message.
 */
int wire_recv(void *sock, Gridwall__V1__SubmitReply **out);

/* ---- hist.c: latencies in fixed log-linear buckets (bounded memory) ---- */

/* Values below 2^HIST_SUB_BITS microseconds are exact; above, 1/64 steps. */
#define HIST_SUB_BITS 7
#define HIST_HALF (1u << (HIST_SUB_BITS - 1))
#define HIST_OCTAVES 34          /* up to 2^40 us, about 12 days */
#define HIST_BUCKETS ((1u << HIST_SUB_BITS) + HIST_OCTAVES * HIST_HALF)

struct hist {
	uint64_t counts[HIST_BUCKETS];
	uint64_t total;
	uint64_t max_us;
};

/* Counts n samples of the same latency, in seconds. */
void hist_add(struct hist *h, double seconds, uint64_t n);
/*
 * The latency (seconds) at or below which a fraction q of the samples lie:
 * the upper edge of the bucket the rank falls in (never above the max), so
 * within 1/64 of the truth, erring high. 0 without samples.
 */
double hist_quantile(const struct hist *h, double q);
double hist_max(const struct hist *h);

/* ---- stats.c: what happened, for the progress lines and the summary ---- */

#define STATS_CODES 24

struct stats {
	uint64_t sent;           /* records sent (first time) */
	uint64_t accepted;
	uint64_t duplicate;
	uint64_t rejected;
	uint64_t retries;        /* batch resends: after a timeout or RETRY_LATER */
	uint64_t retry_later;    /* RETRY_LATER answers */
	uint64_t timeouts;       /* waits for a reply that ran out */
	uint64_t timed_out;      /* batches given up without an answer */
	uint64_t lost;           /* records in those batches */
	uint64_t batches;
	uint64_t bad_request;    /* batches answered BAD_REQUEST */
	uint64_t bad_reply;      /* replies that did not make sense */
	uint64_t unexpected;     /* outcomes other than the kind called for */
	uint64_t abandoned;      /* records not sent or not settled at a stop */
	uint64_t kinds[REC_KINDS];
	struct hist ack;         /* push-to-ack: first send to reply, per record */
	struct {
		char code[40];
		uint64_t n;
	} codes[STATS_CODES];
	size_t ncodes;
};

/* Counts n rejections with code. */
void stats_reject(struct stats *s, const char *code, uint64_t n);
void stats_progress(const struct stats *s, double elapsed, size_t in_flight);
/* The summary: details on stderr, the one-line result on stdout. */
void stats_final(const struct stats *s, double elapsed);

/* ---- copyout.c: the records as COPY rows, for the benchmark's baseline ---- */

/* The columns of the rows, in order, as ingestd stores them. */
#define COPYOUT_COLUMNS \
    "client_uuid, device_id, worker_id, team_id, channel, screened_at, " \
    "grid_code, household_id, person_id, temperature, symptoms, " \
    "origin_region, departed_on, arrived_on, contact, note"

struct copyout;

/* Creates (truncates) path for writing rows; NULL (logged) on failure. */
struct copyout *copyout_open(const char *path);
/*
 * Writes the row ingestd would store for a packed record about p;
 * false (logged) if the record cannot be decoded.
 */
bool copyout_record(struct copyout *c, const struct person_rec *p,
                    const uint8_t *buf, size_t len);
uint64_t copyout_rows(const struct copyout *c);
/* Flushes and closes the file; false (logged) if any write failed. */
bool copyout_close(struct copyout **c_p);

/* ---- fleet.c: the devices and their batches ---- */

#define RESEND_RING 64
#define MAX_INFLIGHT 16

enum flight_state {
	FLIGHT_FREE,
	FLIGHT_SENT,             /* sent, waiting for its reply */
	FLIGHT_WAITING,          /* answered RETRY_LATER: resend at resume_at */
};

/* One batch a device has sent and not yet had settled. */
struct flight {
	struct batch b;
	uint8_t state;           /* enum flight_state */
	unsigned attempts;       /* sends after a timeout count, RETRY_LATER not */
	double first_sent;       /* push-to-ack is measured from here */
	double deadline;         /* SENT: reply due by then */
	double resume_at;        /* WAITING: resend then */
};

/*
 * A field app. Up to --inflight batches may be outstanding on its DEALER
 * socket; ingestd answers a device's requests in order, so each reply
 * belongs to the oldest batch sent (order[0]).
 */
struct device {
	char id[40];
	void *sock;
	struct rng rng;
	struct roster_slice slice;
	struct batch fill;       /* records gathering for the next send */
	struct flight *flights;  /* o.inflight slots */
	size_t order[MAX_INFLIGHT];   /* SENT slots, oldest send first */
	size_t norder;
	struct packed ring[RESEND_RING];   /* accepted records, to re-send */
	size_t ring_len;
	bool unchecked;          /* sent since last drained: a reply may wait unsignalled */
};

struct day_opts {
	const char *endpoint;
	const char *database;
	const char *copy_out;    /* write COPY rows here instead of sending */
	const char *acked;       /* log each record answered accepted or duplicate here */
	double rate;             /* 0: as fast as the replies allow */
	size_t inflight;         /* batches outstanding per device */
	uint64_t count;          /* 0: every person once */
	double duration;         /* seconds, 0: no limit */
	size_t devices;
	size_t batch;
	int32_t day;
	uint64_t seed;
	bool quiet;
	double timeout;          /* seconds to wait for a reply */
	unsigned retries;        /* resends after a timeout before giving up */
	double linger;           /* seconds a partial batch may wait */
	struct mix mix;
};

struct day {
	struct day_opts o;
	struct roster *roster;
	struct copyout *copy;    /* --copy-out: rows instead of sockets */
	FILE *acked;             /* --acked, or NULL */
	void *zctx;
	struct device *devs;
	size_t ndevs;
	int epfd;                /* epoll over the devices' ZMQ_FDs, or -1 */
	void *ready;             /* struct epoll_event[ndevs] */
	struct rng uuids;
	struct stats stats;
	int64_t day_start;
	double started;
	double next_due;         /* when the next record is due */
	double next_progress;
	uint64_t fresh_left;     /* screenings still to generate */
	unsigned round;
	size_t rr;               /* round-robin position */
	bool generating;
	bool blocked;            /* every device's batch is full */
	bool launched;           /* a batch went out: its device has room again */
	bool aborting;           /* a signal came: send nothing more */
	bool failed;             /* a database error */
};

bool fleet_init(struct day *d);
void fleet_free(struct day *d);
/* Generates the records that are due; sets d->blocked when no device has room. */
void fleet_generate(struct day *d, double now);
/* Sends the batches that are ready and resends those due after RETRY_LATER. */
void fleet_flush(struct day *d, double now);
/* Handles replies that did not come in time (Lazy Pirate). */
void fleet_expire(struct day *d, double now);
/* Waits up to timeout_ms for replies and handles them. */
void fleet_poll(struct day *d, long timeout_ms);
/* When something next needs doing (monotonic seconds). */
double fleet_next_event(const struct day *d, double now);
/*
 * Drops every record not settled (unsent, in flight, waiting to be
 * resent), counting them as abandoned; returns the batches in flight.
 */
size_t fleet_abandon(struct day *d);
size_t fleet_in_flight(const struct day *d);
/* True when nothing is left to send or to wait for. */
bool fleet_done(const struct day *d);

/* ---- commands ---- */

int city_main(int argc, char **argv);
int day_main(int argc, char **argv);

#endif
