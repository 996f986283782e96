/*
 * gridctl feed: what a city body sees of gridwall. Subscribes to reportd's
 * aggregate feed for an area code prefix and prints each snapshot as it is
 * published: counts per area and day, never a person.
 *
 * By default it is a Clone client (the zguide, chapter 5; docs/protocol.md):
 * it subscribes first, waits until the subscription is connected, asks
 * reportd's snapshot ROUTER for the current totals of the area (Lazy
 * Pirate: on silence a fresh socket and the same request, a few times),
 * prints them, and then prints only the updates whose seq is above the
 * snapshot's. When the feed connection drops and comes back (reportd
 * restarted: its seq starts again) or an update's seq goes backwards, it
 * takes a new snapshot. A ROUTER that stays silent (wrong endpoint, a
 * reportd without one) is reported and the feed followed without a
 * snapshot; a refusal (bad request, unknown area, too large) ends it.
 * --no-snapshot only follows the feed, as before.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zmq.h>

#include "codec.h"
#include "defaults.h"
#include "gridctl.h"
#include "grow.h"
#include "tool.h"
#include "gridwall/v1/gridwall.pb-c.h"

#define FEED_DEFAULT_TIMEOUT_MS 2000
#define FEED_DEFAULT_RETRIES    2
#define FEED_POLL_MS            500        /* how soon a signal is noticed, at worst */
#define FEED_RCVHWM             1000000    /* updates held while a snapshot is fetched */
#define FEED_MONITOR            "inproc://gridctl-feed-monitor"

#define REPLY_OK           GRIDWALL__V1__SNAPSHOT_REPLY__STATUS__OK
#define REPLY_RETRY_LATER  GRIDWALL__V1__SNAPSHOT_REPLY__STATUS__RETRY_LATER

/* Long options without a short form. */
enum {
	FEED_OPT_SNAPSHOT_ENDPOINT = 0x100,
	FEED_OPT_NO_SNAPSHOT,
	FEED_OPT_TIMEOUT,
	FEED_OPT_RETRIES,
};

struct feed_opts {
	const char *area;
	const char *endpoint;
	const char *snapshot_endpoint;
	long count;            /* stop after this many snapshots; 0: never */
	long timeout_ms;       /* wait this long for a snapshot reply before asking again */
	long retries;          /* ask again this many times */
	bool json;
	bool no_snapshot;
	long seen;
};

/* A Clone subscriber: the feed, its connection events, and where the snapshot left it. */
struct feed_clone {
	struct feed_opts *opt;
	void *zctx;
	void *sub;             /* SUB to the feed */
	void *monitor;         /* PAIR receiving the SUB's connection events */
	uint64_t snap_seq;     /* the seq of the last snapshot: updates at or below it are in it */
	uint64_t last_seq;     /* of the last update received since that snapshot, applied or not; 0: none */
	bool lost;             /* the feed connection dropped: a new snapshot once it is back */
};

/* One snapshot reply as received: its frames, decoded. */
struct feed_reply {
	Gridwall__V1__SnapshotReply **frames;
	size_t n, cap;
};

/* Set by SIGINT/SIGTERM: the follow loop stops and the tool exits 0. */
static volatile sig_atomic_t s_stop;

/* Only sets the flag; the loops look at it. */
static void
s_on_signal(int sig)
{
	(void)sig;
	s_stop = 1;
}

/* Milliseconds of a monotonic clock. */
static int64_t
s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes one option of feed. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	struct feed_opts *opt = p;

	switch (code) {
	case 'a':
		opt->area = arg;
		return gridctl_area_ok(arg);
	case 'e':
		opt->endpoint = arg;
		return true;
	case 'n':
		return gridctl_parse_long(arg, 1, 1000000000, &opt->count);
	case 'j':
		opt->json = true;
		return true;
	case FEED_OPT_SNAPSHOT_ENDPOINT:
		opt->snapshot_endpoint = arg;
		return true;
	case FEED_OPT_NO_SNAPSHOT:
		opt->no_snapshot = true;
		return true;
	case FEED_OPT_TIMEOUT:
		return gridctl_parse_long(arg, 1, 3600000, &opt->timeout_ms);
	case FEED_OPT_RETRIES:
		return gridctl_parse_long(arg, 0, 100, &opt->retries);
	}
	return false;
}

/* Reads the options; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct feed_opts *opt)
{
	static const struct option longopts[] = {
		{ "area", required_argument, NULL, 'a' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "snapshot-endpoint", required_argument, NULL, FEED_OPT_SNAPSHOT_ENDPOINT },
		{ "no-snapshot", no_argument, NULL, FEED_OPT_NO_SNAPSHOT },
		{ "timeout-ms", required_argument, NULL, FEED_OPT_TIMEOUT },
		{ "retries", required_argument, NULL, FEED_OPT_RETRIES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	return gridctl_options("feed", argc, argv, longopts, s_set_opt, opt, NULL);
}

#define FEED_FIGURES 10

/* The figures of a snapshot: name, whether present (absent: withheld), value. */
static void
s_figures(const Gridwall__V1__AggregateSnapshot *s, const char **names, bool *has, int64_t *v)
{
	static const char *const figure_names[FEED_FIGURES] = {
		"screenings", "persons_screened", "households_screened", "fevers", "new_alerts",
		"released", "households_registered", "households_not_reached", "key_persons", "high_risk",
	};
	const bool h[FEED_FIGURES] = {
		s->has_screenings, s->has_persons_screened, s->has_households_screened, s->has_fevers,
		s->has_new_alerts, s->has_released, s->has_households_registered,
		s->has_households_not_reached, s->has_key_persons, s->has_high_risk,
	};
	const int64_t value[FEED_FIGURES] = {
		s->screenings, s->persons_screened, s->households_screened, s->fevers, s->new_alerts,
		s->released, s->households_registered, s->households_not_reached, s->key_persons,
		s->high_risk,
	};

	for (int i = 0; i < FEED_FIGURES; i++) {
		names[i] = figure_names[i];
		has[i] = h[i];
		v[i] = value[i];
	}
}

/* One snapshot as a line: JSON (with "snapshot":true when it comes from one), or text for a person. */
static void
s_print(const Gridwall__V1__AggregateSnapshot *s, bool as_json, bool from_snapshot)
{
	const char *names[FEED_FIGURES];
	bool has[FEED_FIGURES];
	int64_t v[FEED_FIGURES];
	json_t *j;
	char *text;

	s_figures(s, names, has, v);
	if (!as_json) {
		size_t width = s->area_name && *s->area_name ? strlen(s->area_name) : 1;

		/* The name is the registry's text: its control characters are not the terminal's. */
		printf("%s  %-15s ", s->day, s->area_code);
		gridctl_put_clean(stdout, s->area_name);
		for (; width < 12; width++)
			putchar(' ');
		for (int i = 0; i < FEED_FIGURES; i++)
			has[i] ? printf(" %s=%lld", names[i], (long long)v[i]) : printf(" %s=-", names[i]);
		printf("  seq=%llu\n", (unsigned long long)s->seq);
		fflush(stdout);
		return;
	}
	j = json_pack("{s:s, s:s?, s:s, s:I, s:I}", "area", s->area_code, "name", s->area_name,
	              "day", s->day, "seq", (json_int_t)s->seq, "generated_at", (json_int_t)s->generated_at);
	for (int i = 0; j != NULL && i < FEED_FIGURES; i++)
		json_object_set_new(j, names[i], has[i] ? json_integer(v[i]) : json_null());
	if (j != NULL && from_snapshot)
		json_object_set_new(j, "snapshot", json_true());
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text != NULL)
		printf("%s\n", text);
	fflush(stdout);
	free(text);
	json_decref(j);
}

/* Prints one snapshot and counts it; true once --count of them were printed. */
static bool
s_emit(struct feed_opts *opt, const Gridwall__V1__AggregateSnapshot *s, bool from_snapshot)
{
	s_print(s, opt->json, from_snapshot);
	return opt->count > 0 && ++opt->seen >= opt->count;
}

/* sub_follow (--no-snapshot): one snapshot; stops once --count snapshots were printed. */
static int
s_on_snapshot(void *arg, const void *payload, size_t len)
{
	struct feed_opts *opt = arg;
	Gridwall__V1__AggregateSnapshot *s = gridwall__v1__aggregate_snapshot__unpack(NULL, len, payload);
	bool done;

	if (s == NULL) {
		gridctl_err("feed", "undecodable AggregateSnapshot of %zu bytes, skipped", len);
		return 0;
	}
	done = s_emit(opt, s, false);
	gridwall__v1__aggregate_snapshot__free_unpacked(s, NULL);
	return done;
}

/* The old way: the feed alone, printed as it comes. */
static int
s_follow_only(struct feed_opts *opt)
{
	void *zctx = zmq_ctx_new(), *sock;
	int rc = GRIDCTL_EXIT_FAIL;

	sock = zctx ? sub_open(zctx, "feed", opt->endpoint, opt->area) : NULL;
	if (sock != NULL) {
		rc = sub_follow(sock, "feed", s_on_snapshot, opt) == 0 ? GRIDCTL_EXIT_OK : GRIDCTL_EXIT_FAIL;
		zmq_close(sock);
	}
	if (zctx != NULL)
		zmq_ctx_term(zctx);
	return rc;
}

/*
 * The SUB, subscribed to the area, with a monitor that reports when its
 * connection is made (handshake done) and lost; -1 (reported) on failure.
 * The monitor is in place before the connect, so that no event is missed.
 */
static int
s_open_sub(struct feed_clone *fc)
{
	int linger = 0, hwm = FEED_RCVHWM;
	int64_t maxmsg = DEFAULT_MAX_MESSAGE_BYTES;
	const char *area = fc->opt->area;

	fc->sub = zmq_socket(fc->zctx, ZMQ_SUB);
	fc->monitor = zmq_socket(fc->zctx, ZMQ_PAIR);
	if (fc->sub == NULL || fc->monitor == NULL) {
		gridctl_err("feed", "zmq_socket: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	zmq_setsockopt(fc->sub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(fc->monitor, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(fc->sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(fc->sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (zmq_socket_monitor(fc->sub, FEED_MONITOR,
	                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0 ||
	    zmq_connect(fc->monitor, FEED_MONITOR) != 0) {
		gridctl_err("feed", "cannot monitor the feed socket: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	if (zmq_setsockopt(fc->sub, ZMQ_SUBSCRIBE, area, strlen(area)) != 0 ||
	    zmq_connect(fc->sub, fc->opt->endpoint) != 0) {
		gridctl_err("feed", "cannot subscribe to %s: %s", fc->opt->endpoint, zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

/* Closes the sockets of the subscriber; safe on a half-opened one. */
static void
s_close_sub(struct feed_clone *fc)
{
	if (fc->sub != NULL) {
		zmq_socket_monitor(fc->sub, NULL, 0);
		zmq_close(fc->sub);
	}
	if (fc->monitor != NULL)
		zmq_close(fc->monitor);
	fc->sub = fc->monitor = NULL;
}

/* Reads one monitor event (two frames: event and value, then the endpoint); 0 when none was there. */
static int
s_monitor_event(struct feed_clone *fc)
{
	zmq_msg_t part;
	uint16_t event = 0;
	int more;

	zmq_msg_init(&part);
	if (zmq_msg_recv(&part, fc->monitor, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&part);
		return 0;
	}
	if (zmq_msg_size(&part) >= sizeof(event))
		memcpy(&event, zmq_msg_data(&part), sizeof(event));
	more = zmq_msg_more(&part);
	while (more) {
		zmq_msg_close(&part);
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, fc->monitor, 0) < 0)
			break;
		more = zmq_msg_more(&part);
	}
	zmq_msg_close(&part);
	return event;
}

/* Waits until the feed is connected, for as long as the Lazy Pirate would ask; false if it is not. */
static bool
s_wait_connected(struct feed_clone *fc)
{
	long budget = fc->opt->timeout_ms * (fc->opt->retries + 1);
	int64_t deadline = s_now_ms() + budget, left;
	zmq_pollitem_t item = { fc->monitor, 0, ZMQ_POLLIN, 0 };

	while (!s_stop && (left = deadline - s_now_ms()) > 0) {
		int rc = zmq_poll(&item, 1, (long)(left < FEED_POLL_MS ? left : FEED_POLL_MS));
		int event;

		if (rc < 0 && zmq_errno() != EINTR) {
			gridctl_err("feed", "poll: %s", zmq_strerror(zmq_errno()));
			return false;
		}
		while (rc > 0 && (event = s_monitor_event(fc)) != 0)
			if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
				return true;
	}
	if (!s_stop)
		gridctl_err("feed", "no connection to reportd's feed at %s within %ld ms "
		            "(is reportd running?): waiting for it, the snapshot comes once it is there",
		            fc->opt->endpoint, budget);
	return false;
}

/* Frees the decoded frames of a reply. */
static void
s_reply_free(struct feed_reply *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		gridwall__v1__snapshot_reply__free_unpacked(rep->frames[i], NULL);
	free(rep->frames);
	memset(rep, 0, sizeof(*rep));
}

/*
 * Receives one whole reply, [empty][SnapshotReply]..., and checks it: every
 * frame decodes, all share the first one's seq, and their snapshots add up
 * to its total. false, with why, for anything else.
 */
static bool
s_recv_reply(void *dealer, struct feed_reply *rep, char *why, size_t len)
{
	zmq_msg_t part;
	int nparts = 0, more = 1;
	size_t snapshots = 0;
	bool ok = true;

	while (more) {
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, dealer, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&part);
			snprintf(why, len, "reply cut short");
			return false;
		}
		more = zmq_msg_more(&part);
		if (nparts++ == 0) {
			if (zmq_msg_size(&part) != 0) {
				snprintf(why, len, "reply without the empty delimiter");
				ok = false;
			}
		} else if (ok) {
			Gridwall__V1__SnapshotReply *f = gridwall__v1__snapshot_reply__unpack(
				NULL, zmq_msg_size(&part), zmq_msg_data(&part));

			bool room = f != NULL &&
			            grow((void **)&rep->frames, &rep->cap, rep->n + 1, sizeof(*rep->frames), 16);

			if (!room) {
				if (f != NULL)
					gridwall__v1__snapshot_reply__free_unpacked(f, NULL);
				ok = false;
				snprintf(why, len, "undecodable SnapshotReply frame of %zu bytes",
				         zmq_msg_size(&part));
			} else {
				rep->frames[rep->n++] = f;
				snapshots += f->n_snapshots;
			}
		}
		zmq_msg_close(&part);
	}
	if (ok && rep->n == 0) {
		snprintf(why, len, "reply without a SnapshotReply");
		return false;
	}
	for (size_t i = 1; ok && i < rep->n; i++)
		if (rep->frames[i]->seq != rep->frames[0]->seq) {
			snprintf(why, len, "reply frames disagree on seq");
			ok = false;
		}
	if (ok && rep->frames[0]->status == REPLY_OK && snapshots != rep->frames[0]->total) {
		snprintf(why, len, "reply holds %zu snapshots of %u", snapshots, rep->frames[0]->total);
		ok = false;
	}
	return ok;
}

/* A new DEALER to the snapshot ROUTER, with [empty][SnapshotRequest] sent; NULL (reported) on failure. */
static void *
s_ask(struct feed_clone *fc)
{
	Gridwall__V1__SnapshotRequest req = GRIDWALL__V1__SNAPSHOT_REQUEST__INIT;
	int linger = 0, sndtimeo = (int)fc->opt->timeout_ms;
	int64_t maxmsg = DEFAULT_MAX_MESSAGE_BYTES;
	void *dealer = zmq_socket(fc->zctx, ZMQ_DEALER);
	uint8_t *buf;
	size_t len;
	int rc;

	if (dealer == NULL) {
		gridctl_err("feed", "zmq_socket: %s", zmq_strerror(zmq_errno()));
		return NULL;
	}
	zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(dealer, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	zmq_setsockopt(dealer, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	req.area_prefix = (char *)fc->opt->area;
	buf = codec_pack(&req.base, &len);
	if (buf == NULL)
		gridctl_oom("feed");
	rc = zmq_connect(dealer, fc->opt->snapshot_endpoint);
	if (rc == 0)
		rc = zmq_send(dealer, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(dealer, buf, len, 0) < 0 ? -1 : 0;
	free(buf);
	if (rc != 0) {
		gridctl_err("feed", "cannot ask %s: %s", fc->opt->snapshot_endpoint, zmq_strerror(zmq_errno()));
		zmq_close(dealer);
		return NULL;
	}
	return dealer;
}

/* The name of a reply status, for messages. */
static const char *
s_status_name(int status)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&gridwall__v1__snapshot_reply__status__descriptor, status);

	return v != NULL ? v->name : "?";
}

/* Waits until deadline (or a signal) on item; the poll's last result, 0 when nothing came. */
static int
s_poll_until(zmq_pollitem_t *item, int64_t deadline)
{
	int64_t left;
	int rc = 0;

	while (!s_stop && (left = deadline - s_now_ms()) > 0) {
		rc = zmq_poll(item, item != NULL ? 1 : 0, (long)(left < FEED_POLL_MS ? left : FEED_POLL_MS));
		if (rc < 0 && zmq_errno() == EINTR)
			rc = 0;
		else if (rc != 0)
			break;
	}
	return rc;
}

/*
 * One try of the Lazy Pirate: ask, wait up to the timeout. 1 with a whole
 * OK reply in rep; 0 to try again (silence, a malformed reply, RETRY_LATER
 * once the timeout is over); -1 (reported) when reportd refused for good or
 * the socket failed.
 */
static int
s_attempt(struct feed_clone *fc, struct feed_reply *rep)
{
	void *dealer = s_ask(fc);
	zmq_pollitem_t item = { dealer, 0, ZMQ_POLLIN, 0 };
	int64_t deadline = s_now_ms() + fc->opt->timeout_ms;
	char why[160];
	int rc, status;

	if (dealer == NULL)
		return -1;
	rc = s_poll_until(&item, deadline);
	if (rc < 0) {
		gridctl_err("feed", "poll: %s", zmq_strerror(zmq_errno()));
		rc = -1;
	} else if (rc > 0 && !s_recv_reply(dealer, rep, why, sizeof(why))) {
		gridctl_err("feed", "malformed snapshot reply from %s: %s", fc->opt->snapshot_endpoint, why);
		rc = 0;
	} else if (rc > 0 && (status = rep->frames[0]->status) != REPLY_OK) {
		gridctl_err("feed", "reportd refused the snapshot of \"%s\": %s: %s", fc->opt->area,
		            s_status_name(status), rep->frames[0]->error ? rep->frames[0]->error : "");
		rc = status == REPLY_RETRY_LATER ? 0 : -1;
	}
	/* a fresh socket next time: a late reply to this request cannot be taken for the next */
	zmq_close(dealer);
	if (rc <= 0)
		s_reply_free(rep);
	if (rc == 0)
		s_poll_until(NULL, deadline);   /* an early refusal waits out its timeout too */
	return rc;
}

/* Discards the updates waiting on the feed: the coming snapshot covers them. */
static void
s_discard_updates(struct feed_clone *fc)
{
	zmq_msg_t part;

	zmq_msg_init(&part);
	while (zmq_msg_recv(&part, fc->sub, ZMQ_DONTWAIT) >= 0)
		;
	zmq_msg_close(&part);
}

/*
 * Takes a snapshot (Lazy Pirate: --retries more tries on silence) and
 * prints it. 0 when printed, or when reportd stayed silent (reported: the
 * feed is then followed without one); 1 when --count was reached on the
 * way or a signal came; -1 (reported) when reportd refused.
 */
static int
s_snapshot(struct feed_clone *fc)
{
	struct feed_reply rep = { 0 };
	int rc = 0;

	for (long attempt = 0; rc == 0 && attempt <= fc->opt->retries && !s_stop; attempt++) {
		if (attempt > 0)
			gridctl_err("feed", "no snapshot from %s within %ld ms, asking again (retry %ld of %ld)",
			            fc->opt->snapshot_endpoint, fc->opt->timeout_ms, attempt, fc->opt->retries);
		rc = s_attempt(fc, &rep);
	}
	if (s_stop)
		return 1;
	if (rc < 0)
		return -1;
	if (rc == 0) {
		gridctl_err("feed", "no snapshot from reportd at %s after %ld tries of %ld ms (is it reportd's "
		            "snapshot_endpoint?): following the feed without one",
		            fc->opt->snapshot_endpoint, fc->opt->retries + 1, fc->opt->timeout_ms);
		fc->snap_seq = fc->last_seq = 0;
		return 0;
	}
	fc->snap_seq = rep.frames[0]->seq;
	fc->last_seq = 0;
	gridctl_err("feed", "snapshot of \"%s\" on %s: %u areas at seq %llu", fc->opt->area,
	            rep.frames[0]->day ? rep.frames[0]->day : "?", rep.frames[0]->total,
	            (unsigned long long)fc->snap_seq);
	rc = 0;
	for (size_t i = 0; rc == 0 && i < rep.n; i++)
		for (size_t k = 0; rc == 0 && k < rep.frames[i]->n_snapshots; k++)
			if (s_emit(fc->opt, rep.frames[i]->snapshots[k], true))
				rc = 1;
	s_reply_free(&rep);
	return rc;
}

/* Takes a new snapshot after the feed was lost or restarted, dropping what it supersedes. */
static int
s_snapshot_again(struct feed_clone *fc, const char *why)
{
	gridctl_err("feed", "%s: taking a new snapshot", why);
	fc->lost = false;
	s_discard_updates(fc);
	return s_snapshot(fc);
}

/*
 * Receives one update [topic][AggregateSnapshot] and prints it when its seq
 * is above the snapshot's. 0 to go on, 1 when --count was reached, -1 when
 * there is no snapshot to be had any more.
 */
static int
s_update(struct feed_clone *fc)
{
	zmq_msg_t parts[2], extra;
	int nparts = 0, more, rc = 0;
	Gridwall__V1__AggregateSnapshot *s = NULL;

	do {
		zmq_msg_t *part = nparts < 2 ? &parts[nparts] : &extra;

		zmq_msg_init(part);
		if (zmq_msg_recv(part, fc->sub, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(part);
			break;      /* the parts of a message arrive together: not reached */
		}
		more = zmq_msg_more(part);
		if (part == &extra)
			zmq_msg_close(part);
		nparts++;
	} while (more);
	if (nparts == 2)
		s = gridwall__v1__aggregate_snapshot__unpack(NULL, zmq_msg_size(&parts[1]),
		                                             zmq_msg_data(&parts[1]));
	for (int i = 0; i < nparts && i < 2; i++)
		zmq_msg_close(&parts[i]);
	if (s == NULL) {
		gridctl_err("feed", "message of %d frames is not [topic][AggregateSnapshot], skipped", nparts);
		return 0;
	}
	if (s->seq < fc->last_seq) {
		/*
		 * One publisher, one connection: seqs only grow. (Below the
		 * snapshot's is normal: sent before it, received after.)
		 */
		gridwall__v1__aggregate_snapshot__free_unpacked(s, NULL);
		return s_snapshot_again(fc, "the feed's seq went back (reportd restarted?)");
	}
	fc->last_seq = s->seq;
	if (s->seq > fc->snap_seq)
		rc = s_emit(fc->opt, s, false);
	gridwall__v1__aggregate_snapshot__free_unpacked(s, NULL);
	return rc;
}

/* Follows the feed after the snapshot until a signal, --count, or no snapshot to be had. */
static int
s_follow(struct feed_clone *fc)
{
	zmq_pollitem_t items[2] = { { fc->monitor, 0, ZMQ_POLLIN, 0 }, { fc->sub, 0, ZMQ_POLLIN, 0 } };
	int rc = 0, event;

	while (!s_stop && rc == 0) {
		int n = zmq_poll(items, 2, FEED_POLL_MS);

		if (n < 0 && zmq_errno() == EINTR)
			continue;
		if (n < 0) {
			gridctl_err("feed", "poll: %s", zmq_strerror(zmq_errno()));
			return -1;
		}
		/* connection events first: updates from before a loss are not worth printing */
		while (rc == 0 && (items[0].revents & ZMQ_POLLIN) && (event = s_monitor_event(fc)) != 0) {
			if (event == ZMQ_EVENT_DISCONNECTED)
				fc->lost = true;
			else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && fc->lost)
				rc = s_snapshot_again(fc, "reconnected to the feed");
		}
		if (rc == 0 && (items[1].revents & ZMQ_POLLIN))
			rc = s_update(fc);
	}
	return rc < 0 ? -1 : 0;
}

/* The Clone way: subscribe, connect, snapshot, then the updates after it. */
static int
s_follow_with_snapshot(struct feed_opts *opt)
{
	struct feed_clone fc = { .opt = opt };
	int rc = -1;

	tool_catch_stop_signals(s_on_signal);
	fc.zctx = zmq_ctx_new();
	if (fc.zctx != NULL && s_open_sub(&fc) == 0) {
		if (s_wait_connected(&fc)) {
			rc = s_snapshot(&fc);
		} else {
			fc.lost = true;     /* the snapshot is taken when the feed connects */
			rc = 0;
		}
		if (rc == 0)
			rc = s_follow(&fc);
	}
	s_close_sub(&fc);
	if (fc.zctx != NULL)
		zmq_ctx_term(fc.zctx);
	return rc < 0 && !s_stop ? GRIDCTL_EXIT_FAIL : GRIDCTL_EXIT_OK;
}

/* gridctl feed: prints the aggregate snapshots of an area, the current ones first, then as they come. */
int
gridctl_feed(int argc, char **argv)
{
	struct feed_opts opt = {
		.area = "",
		.endpoint = DEFAULT_FEED_ENDPOINT,
		.snapshot_endpoint = DEFAULT_SNAPSHOT_ENDPOINT,
		.timeout_ms = FEED_DEFAULT_TIMEOUT_MS,
		.retries = FEED_DEFAULT_RETRIES,
	};
	int rc;

	if ((rc = s_parse_opts(argc, argv, &opt)) >= 0)
		return rc;
	return opt.no_snapshot ? s_follow_only(&opt) : s_follow_with_snapshot(&opt);
}
