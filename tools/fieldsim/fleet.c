/*
 * The simulated field apps: D devices, each a DEALER socket with up to K
 * batches in flight (--inflight) and the next one filling. Records are
 * handed out round-robin at the paced rate (or as fast as there is room,
 * at rate 0), each device visiting its own slice of the persons. A batch
 * goes out when it is full, when its first record has waited the linger
 * time, or when generation is over, if the device has a free slot.
 * ingestd answers a device's requests in order, so a reply belongs to the
 * device's oldest batch sent. Lazy Pirate: when the oldest has no reply in
 * time, the socket is replaced and every batch sent on it is resent, same
 * bytes, a bounded number of times; RETRY_LATER waits as told and
 * resends. Replies are checked against what each record was meant to
 * provoke, and each record's push-to-ack time (from its batch's first
 * send to the reply) goes into a histogram. With --copy-out, records are
 * written as COPY rows instead and no socket is opened.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include <zmq.h>

#include "fieldsim.h"
#include "log.h"

#define DEFAULT_RETRY_AFTER_S 1.0
#define UNEXPECTED_LOGGED 10
#define TOWN_CODE_LEN 9

/* The town code of the first person a device will visit, or the city's. */
static void
s_first_town(struct day *d, struct device *dev, char *town, size_t len)
{
	const struct person_rec *p;

	if (roster_next(d->roster, &dev->slice, true, &p) == 1 &&
	    strlen(p->grid) >= TOWN_CODE_LEN)
		snprintf(town, len, "%.9s", p->grid);
	else
		snprintf(town, len, "%s", FS_CITY_CODE);
}

/* Names the devices "dev-<town>-NN", numbering them within each town. */
static void
s_name_devices(struct day *d)
{
	char (*towns)[16] = calloc(d->ndevs, sizeof(*towns));

	for (size_t i = 0; towns != NULL && i < d->ndevs; i++) {
		size_t same = 1;

		s_first_town(d, &d->devs[i], towns[i], sizeof(towns[i]));
		for (size_t j = 0; j < i; j++)
			same += strcmp(towns[i], towns[j]) == 0;
		snprintf(d->devs[i].id, sizeof(d->devs[i].id), "dev-%s-%02zu",
		    towns[i], same);
	}
	free(towns);
}

/*
 * Opens the device's socket and watches its ZMQ_FD. With hundreds of
 * devices, one epoll set costs a wakeup per reply where zmq_poll would
 * look at every socket each time, and the simulator would take the CPU
 * from the servers it measures.
 */
static bool
s_open_socket(struct day *d, struct device *dev)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = dev };
	size_t len = sizeof(int);
	int fd;

	if ((dev->sock = wire_open(d->zctx, d->o.endpoint)) == NULL)
		return false;
	if (zmq_getsockopt(dev->sock, ZMQ_FD, &fd, &len) != 0 ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_error("%s: cannot watch its socket: %s", dev->id, strerror(errno));
		wire_close(&dev->sock);
		return false;
	}
	return true;
}

/* Stops watching the device's socket and closes it. */
static void
s_close_socket(struct day *d, struct device *dev)
{
	size_t len = sizeof(int);
	int fd;

	if (dev->sock != NULL && zmq_getsockopt(dev->sock, ZMQ_FD, &fd, &len) == 0)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
	wire_close(&dev->sock);
}

/* Creates the devices: streams, slices, sockets and names. */
bool
fleet_init(struct day *d)
{
	d->ndevs = d->o.devices;
	d->devs = calloc(d->ndevs, sizeof(*d->devs));
	d->ready = calloc(d->ndevs, sizeof(struct epoll_event));
	if (d->devs == NULL || d->ready == NULL) {
		log_error("out of memory for %zu devices", d->ndevs);
		return false;
	}
	if ((d->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_error("epoll_create1: %s", strerror(errno));
		return false;
	}
	for (size_t i = 0; i < d->ndevs; i++) {
		struct device *dev = &d->devs[i];
		const struct person_rec *first;

		rng_seed(&dev->rng, d->o.seed, i, 0xde);
		if (!roster_slice_init(d->roster, &dev->slice, i, d->ndevs) ||
		    roster_next(d->roster, &dev->slice, true, &first) < 0)
			return false;
		dev->flights = calloc(d->o.inflight, sizeof(*dev->flights));
		if (dev->flights == NULL) {
			log_error("out of memory for %zu devices", d->ndevs);
			return false;
		}
		if (d->copy != NULL)
			continue;
		if (!s_open_socket(d, dev))
			return false;
	}
	s_name_devices(d);
	return true;
}

/* Closes the sockets and frees the devices. */
void
fleet_free(struct day *d)
{
	for (size_t i = 0; d->devs != NULL && i < d->ndevs; i++) {
		struct device *dev = &d->devs[i];

		s_close_socket(d, dev);
		roster_slice_free(&dev->slice);
		batch_free(&dev->fill);
		for (size_t k = 0; dev->flights != NULL && k < d->o.inflight; k++)
			batch_free(&dev->flights[k].b);
		free(dev->flights);
		for (size_t k = 0; k < dev->ring_len; k++)
			free(dev->ring[k].buf);
	}
	free(d->devs);
	free(d->ready);
	if (d->epfd >= 0)
		close(d->epfd);
	d->epfd = -1;
	d->devs = NULL;
	d->ready = NULL;
}

/* Adds a packed record to the device's filling batch. */
static bool
s_fill(struct device *dev, uint8_t *buf, size_t len, enum rec_kind kind,
       double now)
{
	if (buf == NULL)
		return false;
	if (dev->fill.len == 0)
		dev->fill.started = now;
	return batch_add(&dev->fill, buf, len, kind);
}

/* Re-sends the exact bytes of one of the device's accepted records. */
static int
s_resend(struct day *d, struct device *dev, double now)
{
	const struct packed *old = &dev->ring[rng_below(&dev->rng,
	    (uint32_t)dev->ring_len)];
	uint8_t *copy = malloc(old->len ? old->len : 1);

	if (copy != NULL)
		memcpy(copy, old->buf, old->len);
	if (!s_fill(dev, copy, old->len, REC_RESEND, now)) {
		log_error("out of memory for a record");
		return -1;
	}
	d->stats.kinds[REC_RESEND]++;
	return 1;
}

/*
 * --copy-out: the row ingestd would store, for the valid kinds only (the
 * others it rejects); takes buf.
 */
static int
s_copy(struct day *d, enum rec_kind kind, const struct person_rec *p,
       uint8_t *buf, size_t len)
{
	bool ok = buf != NULL;

	if (!ok)
		log_error("out of memory for a record");
	else if (rec_kind_valid(kind))
		ok = copyout_record(d->copy, p, buf, len);
	free(buf);
	if (!ok)
		return -1;
	d->fresh_left--;
	d->stats.kinds[kind]++;
	return 1;
}

/*
 * One record on this device: 1 made, 0 if its slice is exhausted, -1 on
 * error. A re-send does not use up a person.
 */
static int
s_produce_on(struct day *d, struct device *dev, double now)
{
	enum rec_kind kind = rec_draw_kind(&dev->rng, &d->o.mix);
	const struct person_rec *p;
	struct rec_env env;
	uint8_t *buf;
	size_t len;
	int rc;

	if (kind == REC_RESEND) {
		/* A re-send is answered DUPLICATE: it adds no row. */
		if (d->copy != NULL) {
			d->stats.kinds[REC_RESEND]++;
			return 1;
		}
		if (dev->ring_len > 0)
			return s_resend(d, dev, now);
		kind = REC_NORMAL;
	}
	if ((rc = roster_next(d->roster, &dev->slice, false, &p)) <= 0)
		return rc;
	env.day = d->o.day;
	env.day_start = d->day_start;
	env.now = (int64_t)time(NULL);
	env.device_id = dev->id;
	buf = rec_build(kind, p, &env, &dev->rng, &d->uuids, &len);
	if (d->copy != NULL)
		return s_copy(d, kind, p, buf, len);
	if (!s_fill(dev, buf, len, kind, now)) {
		log_error("out of memory for a record");
		return -1;
	}
	d->fresh_left--;
	d->stats.kinds[kind]++;
	return 1;
}

/* True when every device has handed out its whole slice. */
static bool
s_all_exhausted(const struct day *d)
{
	for (size_t i = 0; i < d->ndevs; i++)
		if (!d->devs[i].slice.exhausted)
			return false;
	return true;
}

/* Everyone was visited once: start over for the records still asked for. */
static void
s_new_round(struct day *d)
{
	d->round++;
	log_info("every person was screened %u time%s; starting over",
	    d->round, d->round == 1 ? "" : "s");
	for (size_t i = 0; i < d->ndevs; i++)
		roster_slice_rewind(&d->devs[i].slice);
}

/* One record on the next device with room: 1 made, 0 all full, -1 error. */
static int
s_produce(struct day *d, double now)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t tries = 0; tries < d->ndevs; tries++) {
			struct device *dev = &d->devs[d->rr];
			int rc;

			d->rr = (d->rr + 1) % d->ndevs;
			if (dev->slice.exhausted || dev->fill.len >= d->o.batch)
				continue;
			if ((rc = s_produce_on(d, dev, now)) != 0)
				return rc;
		}
		if (!s_all_exhausted(d))
			return 0;
		if (pass == 0)
			s_new_round(d);
	}
	log_error("no persons left to screen");
	return -1;
}

/* Makes the records due by now at the offered rate (at rate 0, all that fit). */
void
fleet_generate(struct day *d, double now)
{
	d->blocked = false;
	d->launched = false;
	while (d->generating && d->next_due <= now) {
		int rc = s_produce(d, now);

		if (rc < 0) {
			d->failed = true;
			d->generating = false;
			return;
		}
		if (rc == 0) {
			/* No room anywhere: offer the record later, owe nothing. */
			d->blocked = true;
			d->next_due = now;
			return;
		}
		if (d->o.rate > 0)
			d->next_due += 1.0 / d->o.rate;
		if (d->fresh_left == 0)
			d->generating = false;
	}
}

/* Sends slot k's batch (again); its reply comes after the others sent. */
static void
s_transmit(struct day *d, struct device *dev, size_t k, double now)
{
	struct flight *fl = &dev->flights[k];

	if (!wire_send(dev->sock, fl->b.req, fl->b.req_len))
		log_debug("%s: send refused; the reply timeout will retry",
		    dev->id);
	dev->unchecked = true;
	fl->state = FLIGHT_SENT;
	fl->deadline = now + d->o.timeout;
	dev->order[dev->norder++] = k;
}

/* A free flight slot of the device, or -1. */
static long
s_free_slot(const struct day *d, const struct device *dev)
{
	for (size_t k = 0; k < d->o.inflight; k++)
		if (dev->flights[k].state == FLIGHT_FREE)
			return (long)k;
	return -1;
}

/* Moves the filled batch into slot k and sends it. */
static void
s_launch(struct day *d, struct device *dev, size_t k, double now)
{
	struct flight *fl = &dev->flights[k];
	struct batch tmp = fl->b;

	fl->b = dev->fill;
	dev->fill = tmp;
	if (!batch_encode(&fl->b, dev->id)) {
		log_error("out of memory encoding a batch");
		d->failed = true;
		return;
	}
	d->stats.sent += fl->b.len;
	d->stats.batches++;
	d->launched = true;
	fl->attempts = 1;
	fl->first_sent = now;
	s_transmit(d, dev, k, now);
}

/* Sends batches that are ready; resends those told to retry later. */
void
fleet_flush(struct day *d, double now)
{
	for (size_t i = 0; i < d->ndevs && !d->failed; i++) {
		struct device *dev = &d->devs[i];
		long k;

		/* RETRY_LATER: resend when told, unless stopping. */
		for (size_t j = 0; j < d->o.inflight && !d->aborting; j++) {
			struct flight *fl = &dev->flights[j];

			if (fl->state == FLIGHT_WAITING && now >= fl->resume_at) {
				d->stats.retries++;
				s_transmit(d, dev, j, now);
			}
		}
		if (dev->fill.len == 0 || (k = s_free_slot(d, dev)) < 0)
			continue;
		/* Once generation is over (or a signal came), what is gathered goes. */
		if (dev->fill.len < d->o.batch && d->generating &&
		    now - dev->fill.started < d->o.linger)
			continue;
		s_launch(d, dev, (size_t)k, now);
	}
}

/* Closes the device's socket and opens a fresh one (drops late replies). */
static void
s_reopen(struct day *d, struct device *dev)
{
	s_close_socket(d, dev);
	if (!s_open_socket(d, dev))
		d->failed = true;
}

/* Drops a sent batch: it will not be answered. */
static void
s_give_up(struct day *d, struct device *dev, struct flight *fl)
{
	log_warn("%s: no reply to a batch of %zu records after %u attempt%s; "
	    "giving it up", dev->id, fl->b.len, fl->attempts,
	    fl->attempts == 1 ? "" : "s");
	d->stats.timed_out++;
	d->stats.lost += fl->b.len;
	batch_clear(&fl->b);
	fl->state = FLIGHT_FREE;
}

/*
 * The oldest batch sent got no reply in time: on a fresh socket, resend
 * every batch the old one carried, in their order, or give each up once
 * it has used its retries.
 */
static void
s_pirate(struct day *d, struct device *dev, double now)
{
	size_t sent[MAX_INFLIGHT], n = dev->norder;
	unsigned attempts = dev->flights[dev->order[0]].attempts;

	memcpy(sent, dev->order, n * sizeof(sent[0]));
	dev->norder = 0;
	d->stats.timeouts++;
	s_reopen(d, dev);
	if (!d->aborting && !d->failed && attempts <= d->o.retries)
		log_info("%s: no reply in %.1f s; reconnecting and resending "
		    "%zu batch%s (retry %u of %u)", dev->id, d->o.timeout, n,
		    n == 1 ? "" : "es", attempts, d->o.retries);
	for (size_t j = 0; j < n; j++) {
		struct flight *fl = &dev->flights[sent[j]];

		if (d->aborting || d->failed || fl->attempts > d->o.retries) {
			s_give_up(d, dev, fl);
			continue;
		}
		fl->attempts++;
		d->stats.retries++;
		s_transmit(d, dev, sent[j], now);
	}
}

/* Resends or gives up the batches whose reply is overdue. */
void
fleet_expire(struct day *d, double now)
{
	for (size_t i = 0; i < d->ndevs; i++) {
		struct device *dev = &d->devs[i];

		for (size_t k = 0; d->aborting && k < d->o.inflight; k++) {
			struct flight *fl = &dev->flights[k];

			if (fl->state == FLIGHT_WAITING) {
				d->stats.abandoned += fl->b.len;
				batch_clear(&fl->b);
				fl->state = FLIGHT_FREE;
			}
		}
		/* Sent in order, due in order: the oldest is due first. */
		if (dev->norder > 0 &&
		    now >= dev->flights[dev->order[0]].deadline)
			s_pirate(d, dev, now);
	}
}

/* Keeps an accepted record's bytes for a later re-send (takes them). */
static void
s_keep(struct device *dev, struct packed *rec)
{
	size_t slot = dev->ring_len;

	if (slot == RESEND_RING) {
		slot = rng_below(&dev->rng, RESEND_RING);
		free(dev->ring[slot].buf);
	} else {
		dev->ring_len++;
	}
	dev->ring[slot] = *rec;
	rec->buf = NULL;
}

/* Logs an outcome that the record's kind did not call for. */
static void
s_unexpected(struct day *d, const struct device *dev, const struct packed *rec,
             const Gridwall__V1__RecordResult *res)
{
	static const char *const outcomes[] = { "ACCEPTED", "DUPLICATE", "REJECTED" };
	const char *code = rec_kind_code((enum rec_kind)rec->kind);

	if (++d->stats.unexpected > UNEXPECTED_LOGGED)
		return;
	log_warn("%s: %s record answered %s %s (%s) where %s was expected",
	    dev->id, rec_kind_name((enum rec_kind)rec->kind),
	    (unsigned)res->outcome <= 2 ? outcomes[res->outcome] : "?",
	    res->code ? res->code : "", res->message ? res->message : "",
	    code != NULL ? code : rec->kind == REC_RESEND ? "DUPLICATE" :
	    "ACCEPTED");
}

/* Logs a record ingestd answered accepted or duplicate (--acked). */
static void
s_log_acked(struct day *d, const Gridwall__V1__RecordResult *res, const char *outcome)
{
	if (d->acked != NULL && res->client_uuid != NULL)
		fprintf(d->acked, "%s %lld %s\n", res->client_uuid, (long long)res->server_id, outcome);
}

/* Counts one record's outcome and checks it against its kind. */
static void
s_outcome(struct day *d, struct device *dev, const struct flight *fl,
          struct packed *rec, const Gridwall__V1__RecordResult *res)
{
	enum rec_kind kind = (enum rec_kind)rec->kind;
	const char *want = rec_kind_code(kind);
	bool expected;

	switch (res->outcome) {
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED:
		d->stats.accepted++;
		s_log_acked(d, res, "accepted");
		expected = rec_kind_valid(kind);
		if (expected)
			s_keep(dev, rec);
		break;
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE:
		d->stats.duplicate++;
		s_log_acked(d, res, "duplicate");
		expected = kind == REC_RESEND ||
		    (rec_kind_valid(kind) && fl->attempts > 1);
		break;
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__REJECTED:
		d->stats.rejected++;
		stats_reject(&d->stats, res->code, 1);
		expected = want != NULL && res->code != NULL &&
		    strcmp(want, res->code) == 0;
		break;
	default:
		d->stats.bad_reply++;
		return;
	}
	if (!expected)
		s_unexpected(d, dev, rec, res);
}

/* Handles the results of an OK reply; each answered record's latency counts. */
static void
s_results(struct day *d, struct device *dev, struct flight *fl,
          const Gridwall__V1__SubmitReply *reply, double now)
{
	uint64_t answered = 0;

	if (reply->n_results != fl->b.len) {
		d->stats.bad_reply++;
		log_warn("%s: %zu results for a batch of %zu records", dev->id,
		    reply->n_results, fl->b.len);
	}
	for (size_t i = 0; i < reply->n_results; i++) {
		const Gridwall__V1__RecordResult *res = reply->results[i];

		if (res->index >= fl->b.len) {
			d->stats.bad_reply++;
			continue;
		}
		s_outcome(d, dev, fl, &fl->b.recs[res->index], res);
		answered++;
	}
	hist_add(&d->stats.ack, now - fl->first_sent, answered);
}

/* Handles one reply: it answers the device's oldest batch sent. */
static void
s_answer(struct day *d, struct device *dev, const Gridwall__V1__SubmitReply *reply,
         double now)
{
	struct flight *fl;

	if (dev->norder == 0) {
		d->stats.bad_reply++;
		return;
	}
	fl = &dev->flights[dev->order[0]];
	dev->norder--;
	memmove(dev->order, dev->order + 1,
	    dev->norder * sizeof(dev->order[0]));
	switch (reply->status) {
	case GRIDWALL__V1__SUBMIT_REPLY__STATUS__OK:
		s_results(d, dev, fl, reply, now);
		break;
	case GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER:
		d->stats.retry_later++;
		fl->state = FLIGHT_WAITING;
		fl->resume_at = now + (reply->has_retry_after_ms ?
		    reply->retry_after_ms / 1000.0 : DEFAULT_RETRY_AFTER_S);
		return;
	case GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST:
		log_warn("%s: batch of %zu records refused: %s", dev->id,
		    fl->b.len, reply->error ? reply->error : "no reason");
		d->stats.bad_request++;
		d->stats.rejected += fl->b.len;
		stats_reject(&d->stats, "BAD_REQUEST", fl->b.len);
		break;
	default:
		log_warn("%s: reply with unknown status %d", dev->id,
		    (int)reply->status);
		d->stats.bad_reply++;
		break;
	}
	batch_clear(&fl->b);
	fl->state = FLIGHT_FREE;
}

/* Reads every reply waiting on the device's socket. */
static void
s_drain(struct day *d, struct device *dev)
{
	Gridwall__V1__SubmitReply *reply;
	int rc;

	while ((rc = wire_recv(dev->sock, &reply)) != 0) {
		if (rc < 0) {
			d->stats.bad_reply++;
			continue;
		}
		s_answer(d, dev, reply, fs_now());
		gridwall__v1__submit_reply__free_unpacked(reply, NULL);
	}
}

/*
 * Waits for replies and handles every one that came. A socket that sent
 * may already hold a reply its ZMQ_FD will not signal again, so those are
 * drained first.
 */
void
fleet_poll(struct day *d, long timeout_ms)
{
	struct epoll_event *ready = d->ready;
	int n;

	for (size_t i = 0; i < d->ndevs; i++) {
		if (d->devs[i].unchecked && d->devs[i].sock != NULL)
			s_drain(d, &d->devs[i]);
		d->devs[i].unchecked = false;
	}
	n = epoll_wait(d->epfd, ready, (int)d->ndevs, (int)timeout_ms);
	for (int i = 0; i < n; i++) {
		struct device *dev = ready[i].data.ptr;

		if (dev->sock != NULL)
			s_drain(d, dev);
	}
}

/* The earliest time at which the loop has something to do. */
double
fleet_next_event(const struct day *d, double now)
{
	double t = now + 1.0;

	/* A launch made room where generation had found none: go on at once. */
	if (d->generating && (!d->blocked || d->launched) && !d->aborting &&
	    d->next_due < t)
		t = d->next_due;
	for (size_t i = 0; i < d->ndevs; i++) {
		const struct device *dev = &d->devs[i];
		bool room = false;

		if (dev->norder > 0 && dev->flights[dev->order[0]].deadline < t)
			t = dev->flights[dev->order[0]].deadline;
		for (size_t k = 0; k < d->o.inflight; k++) {
			const struct flight *fl = &dev->flights[k];

			if (fl->state == FLIGHT_WAITING && fl->resume_at < t)
				t = fl->resume_at;
			room |= fl->state == FLIGHT_FREE;
		}
		if (room && dev->fill.len > 0 &&
		    dev->fill.started + d->o.linger < t)
			t = dev->fill.started + d->o.linger;
	}
	return t;
}

/* Drops what is left at the end and counts it. */
size_t
fleet_abandon(struct day *d)
{
	size_t unanswered = 0;

	for (size_t i = 0; i < d->ndevs; i++) {
		struct device *dev = &d->devs[i];

		unanswered += dev->norder;
		dev->norder = 0;
		d->stats.abandoned += dev->fill.len;
		batch_clear(&dev->fill);
		for (size_t k = 0; k < d->o.inflight; k++) {
			struct flight *fl = &dev->flights[k];

			d->stats.abandoned += fl->b.len;
			batch_clear(&fl->b);
			fl->state = FLIGHT_FREE;
		}
	}
	return unanswered;
}

/* Batches sent and not yet settled. */
size_t
fleet_in_flight(const struct day *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->ndevs; i++)
		for (size_t k = 0; k < d->o.inflight; k++)
			n += d->devs[i].flights[k].state != FLIGHT_FREE;
	return n;
}

/* True when nothing is left to send or to wait for. */
bool
fleet_done(const struct day *d)
{
	if (d->generating && !d->aborting && !d->failed)
		return false;
	for (size_t i = 0; i < d->ndevs; i++) {
		const struct device *dev = &d->devs[i];

		for (size_t k = 0; k < d->o.inflight; k++)
			if (dev->flights[k].state != FLIGHT_FREE)
				return false;
		if (dev->fill.len > 0 && !d->failed)
			return false;
	}
	return true;
}
