/*
 * The simulated field apps: D devices, each a DEALER socket with one batch
 * in flight and the next one filling. Records are handed out round-robin
 * at the paced rate, each device visiting its own slice of the persons.
 * A batch goes out when it is full, when its first record has waited the
 * linger time, or when generation is over. Lazy Pirate: a batch with no
 * reply in time is resent, same bytes, on a fresh socket, a bounded number
 * of times; RETRY_LATER waits as told and resends. Replies are checked
 * against what each record was meant to provoke.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Creates the devices: streams, slices, sockets and names. */
bool
fleet_init(struct day *d)
{
	d->ndevs = d->o.devices;
	d->devs = calloc(d->ndevs, sizeof(*d->devs));
	d->items = calloc(d->ndevs, sizeof(zmq_pollitem_t));
	if (d->devs == NULL || d->items == NULL) {
		log_error("out of memory for %zu devices", d->ndevs);
		return false;
	}
	for (size_t i = 0; i < d->ndevs; i++) {
		struct device *dev = &d->devs[i];

		rng_seed(&dev->rng, d->o.seed, i, 0xde);
		if (!roster_slice_init(d->roster, &dev->slice, i, d->ndevs))
			return false;
		if ((dev->sock = wire_open(d->zctx, d->o.endpoint)) == NULL)
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

		wire_close(&dev->sock);
		roster_slice_free(&dev->slice);
		batch_free(&dev->fill);
		batch_free(&dev->flight);
		for (size_t k = 0; k < dev->ring_len; k++)
			free(dev->ring[k].buf);
	}
	free(d->devs);
	free(d->items);
	d->devs = NULL;
	d->items = NULL;
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

/* Makes the records that are due by now, at the offered rate. */
void
fleet_generate(struct day *d, double now)
{
	d->blocked = false;
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
		d->next_due += 1.0 / d->o.rate;
		if (d->fresh_left == 0)
			d->generating = false;
	}
}

/* Sends the flight batch (again) and starts waiting for its reply. */
static void
s_transmit(struct day *d, struct device *dev, double now)
{
	if (!wire_send(dev->sock, dev->flight.req, dev->flight.req_len))
		log_debug("%s: send refused; the reply timeout will retry",
		    dev->id);
	dev->in_flight = true;
	dev->waiting = false;
	dev->deadline = now + d->o.timeout;
}

/* Moves the filled batch into flight and sends it. */
static void
s_launch(struct day *d, struct device *dev, double now)
{
	struct batch tmp = dev->flight;

	dev->flight = dev->fill;
	dev->fill = tmp;
	if (!batch_encode(&dev->flight, dev->id)) {
		log_error("out of memory encoding a batch");
		d->failed = true;
		return;
	}
	d->stats.sent += dev->flight.len;
	d->stats.batches++;
	dev->attempts = 1;
	s_transmit(d, dev, now);
}

/* Sends batches that are ready; resends those told to retry later. */
void
fleet_flush(struct day *d, double now)
{
	for (size_t i = 0; i < d->ndevs && !d->failed; i++) {
		struct device *dev = &d->devs[i];

		/* RETRY_LATER: resend when told, unless stopping. */
		if (dev->waiting) {
			if (!d->aborting && now >= dev->resume_at) {
				d->stats.retries++;
				s_transmit(d, dev, now);
			}
			continue;
		}
		if (dev->in_flight || dev->fill.len == 0)
			continue;
		/* Once generation is over (or a signal came), what is gathered goes. */
		if (dev->fill.len < d->o.batch && d->generating &&
		    now - dev->fill.started < d->o.linger)
			continue;
		s_launch(d, dev, now);
	}
}

/* Closes the device's socket and opens a fresh one (drops late replies). */
static void
s_reopen(struct day *d, struct device *dev)
{
	wire_close(&dev->sock);
	if ((dev->sock = wire_open(d->zctx, d->o.endpoint)) == NULL)
		d->failed = true;
}

/* Drops the flight batch: it will not be answered. */
static void
s_give_up(struct day *d, struct device *dev)
{
	log_warn("%s: no reply to a batch of %zu records after %u attempt%s; "
	    "giving it up", dev->id, dev->flight.len, dev->attempts,
	    dev->attempts == 1 ? "" : "s");
	d->stats.timed_out++;
	d->stats.lost += dev->flight.len;
	batch_clear(&dev->flight);
	dev->in_flight = false;
}

/* Resends or gives up the batches whose reply is overdue. */
void
fleet_expire(struct day *d, double now)
{
	for (size_t i = 0; i < d->ndevs; i++) {
		struct device *dev = &d->devs[i];

		if (dev->waiting && d->aborting) {
			d->stats.abandoned += dev->flight.len;
			batch_clear(&dev->flight);
			dev->waiting = false;
		}
		if (!dev->in_flight || now < dev->deadline)
			continue;
		d->stats.timeouts++;
		s_reopen(d, dev);
		if (d->aborting || dev->attempts > d->o.retries || d->failed) {
			s_give_up(d, dev);
			continue;
		}
		log_info("%s: no reply in %.1f s; reconnecting and resending "
		    "(retry %u of %u)", dev->id, d->o.timeout, dev->attempts,
		    d->o.retries);
		dev->attempts++;
		d->stats.retries++;
		s_transmit(d, dev, now);
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

/* Counts one record's outcome and checks it against its kind. */
static void
s_outcome(struct day *d, struct device *dev, struct packed *rec,
          const Gridwall__V1__RecordResult *res)
{
	enum rec_kind kind = (enum rec_kind)rec->kind;
	const char *want = rec_kind_code(kind);
	bool expected;

	switch (res->outcome) {
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__ACCEPTED:
		d->stats.accepted++;
		expected = rec_kind_valid(kind);
		if (expected)
			s_keep(dev, rec);
		break;
	case GRIDWALL__V1__RECORD_RESULT__OUTCOME__DUPLICATE:
		d->stats.duplicate++;
		expected = kind == REC_RESEND ||
		    (rec_kind_valid(kind) && dev->attempts > 1);
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

/* Handles the results of an OK reply. */
static void
s_results(struct day *d, struct device *dev, const Gridwall__V1__SubmitReply *reply)
{
	if (reply->n_results != dev->flight.len) {
		d->stats.bad_reply++;
		log_warn("%s: %zu results for a batch of %zu records", dev->id,
		    reply->n_results, dev->flight.len);
	}
	for (size_t i = 0; i < reply->n_results; i++) {
		const Gridwall__V1__RecordResult *res = reply->results[i];

		if (res->index >= dev->flight.len) {
			d->stats.bad_reply++;
			continue;
		}
		s_outcome(d, dev, &dev->flight.recs[res->index], res);
	}
}

/* Handles one reply to the device's flight batch. */
static void
s_answer(struct day *d, struct device *dev, const Gridwall__V1__SubmitReply *reply,
         double now)
{
	if (!dev->in_flight) {
		d->stats.bad_reply++;
		return;
	}
	switch (reply->status) {
	case GRIDWALL__V1__SUBMIT_REPLY__STATUS__OK:
		s_results(d, dev, reply);
		break;
	case GRIDWALL__V1__SUBMIT_REPLY__STATUS__RETRY_LATER:
		d->stats.retry_later++;
		dev->in_flight = false;
		dev->waiting = true;
		dev->resume_at = now + (reply->has_retry_after_ms ?
		    reply->retry_after_ms / 1000.0 : DEFAULT_RETRY_AFTER_S);
		return;
	case GRIDWALL__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST:
		log_warn("%s: batch of %zu records refused: %s", dev->id,
		    dev->flight.len, reply->error ? reply->error : "no reason");
		d->stats.bad_request++;
		d->stats.rejected += dev->flight.len;
		stats_reject(&d->stats, "BAD_REQUEST", dev->flight.len);
		break;
	default:
		log_warn("%s: reply with unknown status %d", dev->id,
		    (int)reply->status);
		d->stats.bad_reply++;
		break;
	}
	batch_clear(&dev->flight);
	dev->in_flight = false;
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

/* Waits for replies and handles every one that came. */
void
fleet_poll(struct day *d, long timeout_ms)
{
	zmq_pollitem_t *items = d->items;

	for (size_t i = 0; i < d->ndevs; i++) {
		/* A device whose socket could not be reopened polls nothing. */
		items[i].socket = d->devs[i].sock;
		items[i].fd = -1;
		items[i].events = ZMQ_POLLIN;
		items[i].revents = 0;
	}
	if (zmq_poll(items, (int)d->ndevs, timeout_ms) <= 0)
		return;                 /* timeout, or a signal (EINTR) */
	for (size_t i = 0; i < d->ndevs; i++)
		if (items[i].revents & ZMQ_POLLIN)
			s_drain(d, &d->devs[i]);
}

/* The earliest time at which the loop has something to do. */
double
fleet_next_event(const struct day *d, double now)
{
	double t = now + 1.0;

	if (d->generating && !d->blocked && !d->aborting && d->next_due < t)
		t = d->next_due;
	for (size_t i = 0; i < d->ndevs; i++) {
		const struct device *dev = &d->devs[i];
		double at = t;

		if (dev->in_flight)
			at = dev->deadline;
		else if (dev->waiting)
			at = dev->resume_at;
		else if (dev->fill.len > 0)
			at = dev->fill.started + d->o.linger;
		if (at < t)
			t = at;
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

		unanswered += dev->in_flight;
		d->stats.abandoned += dev->fill.len + dev->flight.len;
		batch_clear(&dev->fill);
		batch_clear(&dev->flight);
		dev->in_flight = dev->waiting = false;
	}
	return unanswered;
}

/* Batches sent and not yet settled. */
size_t
fleet_in_flight(const struct day *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->ndevs; i++)
		n += d->devs[i].in_flight || d->devs[i].waiting;
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

		if (dev->in_flight || dev->waiting)
			return false;
		if (dev->fill.len > 0 && !d->failed)
			return false;
	}
	return true;
}
