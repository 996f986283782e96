/*
 * `fieldsim day`: plays the field apps of one day of screening against
 * ingestd. It reads its options, opens the roster of persons, starts the
 * devices, and runs one loop that paces the records at the offered rate
 * (or, at rate 0, makes them as fast as the replies free room), sends and
 * resends batches and reads the replies (zmq_poll, one thread), printing
 * progress on stderr. SIGINT or SIGTERM stop generation, send what was
 * gathered and wait for the replies without retrying; a second one stops
 * at once. Either way the summary is printed. Exit 0 if every batch sent
 * got an answer. With --copy-out the same records are written as COPY
 * rows to a file instead, as fast as they can be made, and nothing is sent.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "civil.h"
#include "defaults.h"
#include "fieldsim.h"
#include "log.h"
#include "tool.h"

#define DEFAULT_RATE 200.0
#define DEFAULT_DEVICES 10
#define DEFAULT_BATCH 50
#define DEFAULT_SEED 1
#define DEFAULT_TIMEOUT_MS 3000
#define DEFAULT_RETRIES 3
#define DEFAULT_LINGER_MS 500
#define PROGRESS_EVERY_S 5.0
#define POLL_MAX_MS 1000
#define MAX_DEVICES 1000
#define MAX_RESEND_PERMILLE 500
#define DEFAULT_INFLIGHT 1
#define MIN_RATE 0.001

/* Signals seen: the only global, set by the handler, read by the loop. */
static volatile sig_atomic_t signals_seen;

enum {
	OPT_TIMEOUT = 256,
	OPT_RETRIES,
	OPT_LINGER,
	OPT_ARRIVALS,
	OPT_FEVERS,
	OPT_CONTACTS,
	OPT_INVALID,
	OPT_RESENDS,
	OPT_INFLIGHT,
	OPT_COPY_OUT,
	OPT_ACKED,
};

/* Prints the options of `fieldsim day`. */
static void
s_usage(FILE *out)
{
	fprintf(out,
	    "usage: fieldsim day [options]\n"
	    "  --endpoint E     ingestd's ZeroMQ endpoint (default %s)\n"
	    "  --database C     libpq connection string (default \"%s\")\n"
	    "  --rate R         records per second offered, all devices (default %.0f);\n"
	    "                   0: as fast as ingestd acknowledges them\n"
	    "  --inflight K     batches a device may have sent and not yet had\n"
	    "                   answered (default %d, max %d); replies come in order\n"
	    "  --count N        screenings to send (default: every person once);\n"
	    "                   re-sends of earlier records come on top\n"
	    "  --duration S     stop generating after S seconds (default 0: no limit)\n"
	    "  --devices D      field apps, one DEALER socket each (default %d)\n"
	    "  --batch B        records per SubmitRequest at most (default %d, max %d)\n"
	    "  --day YYYY-MM-DD the screening day (default today, UTC)\n"
	    "  --seed S         seed of the mix (default %d); UUIDs are always random\n"
	    "  --quiet          no progress lines\n"
	    "  --timeout-ms T   wait for a reply before resending (default %d)\n"
	    "  --retries N      resends after a timeout before giving up (default %d)\n"
	    "  --linger-ms L    longest wait of a partial batch (default %d)\n"
	    "  --arrivals P     per mille from a risk area (default 30)\n"
	    "  --fevers P       per mille fevers without travel (default 20)\n"
	    "  --contacts P     per mille close contacts (default 3)\n"
	    "  --invalid P      per mille invalid records (default 10)\n"
	    "  --resends P      per mille re-sends of an accepted record (default 10)\n"
	    "  --acked FILE     write each record ingestd answered accepted or\n"
	    "                   duplicate to FILE as \"CLIENT_UUID SERVER_ID OUTCOME\",\n"
	    "                   the devices' own log of what they were told\n"
	    "  --copy-out FILE  send nothing: write the rows ingestd would store for\n"
	    "                   the records (valid ones, re-sends left out) to FILE,\n"
	    "                   as fast as possible, whatever --rate, for\n"
	    "                   COPY screenings (COLUMNS) FROM, the columns being\n"
	    "                   %s\n"
	    "The last line on stdout sums up, with the push-to-ack latency of the\n"
	    "records answered (first send of their batch to the reply).\n",
	    DEFAULT_INGEST_ENDPOINT, DEFAULT_DATABASE, DEFAULT_RATE,
	    DEFAULT_INFLIGHT, MAX_INFLIGHT, DEFAULT_DEVICES, DEFAULT_BATCH, DEFAULT_MAX_BATCH_RECORDS,
	    DEFAULT_SEED, DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES, DEFAULT_LINGER_MS,
	    COPYOUT_COLUMNS);
}

/* Today, UTC, as days since 1970-01-01. */
static int32_t
s_today(void)
{
	return (int32_t)civil_day_of((int64_t)time(NULL));
}

/* The defaults, before the command line. */
static void
s_defaults(struct day_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->endpoint = DEFAULT_INGEST_ENDPOINT;
	o->database = DEFAULT_DATABASE;
	o->rate = DEFAULT_RATE;
	o->inflight = DEFAULT_INFLIGHT;
	o->devices = DEFAULT_DEVICES;
	o->batch = DEFAULT_BATCH;
	o->day = s_today();
	o->seed = DEFAULT_SEED;
	o->timeout = DEFAULT_TIMEOUT_MS / 1000.0;
	o->retries = DEFAULT_RETRIES;
	o->linger = DEFAULT_LINGER_MS / 1000.0;
	o->mix.arrival = 30;
	o->mix.fever = 20;
	o->mix.contact = 3;
	o->mix.invalid = 10;
	o->mix.resend = 10;
}

/* Parses a per-mille option into *out. */
static bool
s_permille(const char *opt, const char *arg, unsigned *out)
{
	uint64_t v;

	if (!fs_parse_u64(opt, arg, 0, 1000, &v))
		return false;
	*out = (unsigned)v;
	return true;
}

/* Parses a duration in milliseconds into seconds. */
static bool
s_millis(const char *opt, const char *arg, uint64_t min, double *out)
{
	uint64_t v;

	if (!fs_parse_u64(opt, arg, min, 3600000, &v))
		return false;
	*out = (double)v / 1000.0;
	return true;
}

/* Handles one option; false on a bad value. */
static bool
s_option(int c, const char *arg, struct day_opts *o)
{
	uint64_t v;
	int64_t day;

	switch (c) {
	case 'e': o->endpoint = arg; return true;
	case 'd': o->database = arg; return true;
	case 'r':
		if (!fs_parse_double("--rate", arg, 0, 1e6, &o->rate))
			return false;
		if (o->rate > 0 && o->rate < MIN_RATE) {
			log_error("--rate: '%s' is below %g (0 means no pacing)",
			    arg, MIN_RATE);
			return false;
		}
		return true;
	case 'n': return fs_parse_u64("--count", arg, 1, UINT64_MAX / 2, &o->count);
	case 't': return fs_parse_double("--duration", arg, 0, 1e7, &o->duration);
	case 'D':
		if (!fs_parse_u64("--devices", arg, 1, MAX_DEVICES, &v))
			return false;
		o->devices = (size_t)v;
		return true;
	case 'b':
		if (!fs_parse_u64("--batch", arg, 1, DEFAULT_MAX_BATCH_RECORDS, &v))
			return false;
		o->batch = (size_t)v;
		return true;
	case 'y':
		if (civil_parse(arg, &day)) {
			o->day = (int32_t)day;
			return true;
		}
		log_error("--day: '%s' is not a date YYYY-MM-DD", arg);
		return false;
	case 's': return fs_parse_u64("--seed", arg, 0, UINT64_MAX, &o->seed);
	case 'q': o->quiet = true; return true;
	case OPT_TIMEOUT: return s_millis("--timeout-ms", arg, 10, &o->timeout);
	case OPT_LINGER: return s_millis("--linger-ms", arg, 0, &o->linger);
	case OPT_RETRIES:
		if (!fs_parse_u64("--retries", arg, 0, 1000, &v))
			return false;
		o->retries = (unsigned)v;
		return true;
	case OPT_ARRIVALS: return s_permille("--arrivals", arg, &o->mix.arrival);
	case OPT_FEVERS: return s_permille("--fevers", arg, &o->mix.fever);
	case OPT_CONTACTS: return s_permille("--contacts", arg, &o->mix.contact);
	case OPT_INVALID: return s_permille("--invalid", arg, &o->mix.invalid);
	case OPT_RESENDS: return s_permille("--resends", arg, &o->mix.resend);
	case OPT_INFLIGHT:
		if (!fs_parse_u64("--inflight", arg, 1, MAX_INFLIGHT, &v))
			return false;
		o->inflight = (size_t)v;
		return true;
	case OPT_COPY_OUT: o->copy_out = arg; return true;
	case OPT_ACKED: o->acked = arg; return true;
	default: return false;
	}
}

/* Checks the options together. */
static bool
s_check(const struct day_opts *o)
{
	const struct mix *m = &o->mix;
	char today[11];

	if (m->arrival + m->fever + m->contact + m->invalid + m->resend > 1000) {
		log_error("the per-mille shares add up to more than 1000");
		return false;
	}
	/* Re-sends use up no person: too many and the run would not end. */
	if (m->resend > MAX_RESEND_PERMILLE) {
		log_error("--resends may be at most %d per mille",
		    MAX_RESEND_PERMILLE);
		return false;
	}
	if (o->day > s_today()) {
		civil_format(s_today(), today);
		log_error("--day is after today (%s, UTC): screenings cannot be "
		    "in the future", today);
		return false;
	}
	return true;
}

/* Parses the command line; returns -1 to go on, else an exit code. */
static int
s_parse(int argc, char **argv, struct day_opts *o)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "database", required_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 't' },
		{ "devices", required_argument, NULL, 'D' },
		{ "batch", required_argument, NULL, 'b' },
		{ "day", required_argument, NULL, 'y' },
		{ "seed", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "linger-ms", required_argument, NULL, OPT_LINGER },
		{ "arrivals", required_argument, NULL, OPT_ARRIVALS },
		{ "fevers", required_argument, NULL, OPT_FEVERS },
		{ "contacts", required_argument, NULL, OPT_CONTACTS },
		{ "invalid", required_argument, NULL, OPT_INVALID },
		{ "resends", required_argument, NULL, OPT_RESENDS },
		{ "inflight", required_argument, NULL, OPT_INFLIGHT },
		{ "copy-out", required_argument, NULL, OPT_COPY_OUT },
		{ "acked", required_argument, NULL, OPT_ACKED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	s_defaults(o);
	while ((c = getopt_long(argc, argv, "e:d:r:n:t:D:b:y:s:qh", longopts,
	    NULL)) != -1) {
		if (c == 'h') {
			s_usage(stdout);
			return 0;
		}
		if (c == '?' || !s_option(c, optarg, o)) {
			if (c == '?')
				s_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	return s_check(o) ? -1 : 2;
}

/* Counts a signal; the loop does the rest. */
static void
s_on_signal(int sig)
{
	(void)sig;
	signals_seen = signals_seen + 1;
}

/*
 * First signal or a failure: generate nothing more, send what is gathered
 * and wait once for each reply, without retries.
 */
static void
s_begin_abort(struct day *d, const char *why)
{
	log_info("%s: stopping; sending the records gathered and waiting for "
	    "the replies (once more to stop at once)", why);
	d->aborting = true;
	d->generating = false;
}

/* Stops generating when the duration is up. */
static void
s_check_duration(struct day *d, double now)
{
	if (d->generating && d->o.duration > 0 &&
	    now - d->started >= d->o.duration) {
		log_info("duration of %.0f s reached; finishing the batches",
		    d->o.duration);
		d->generating = false;
	}
}

/* How long zmq_poll may wait, in milliseconds. */
static long
s_poll_ms(const struct day *d, double now)
{
	double t = fleet_next_event(d, now);
	long ms;

	if (!d->o.quiet && d->next_progress < t)
		t = d->next_progress;
	if (d->generating && d->o.duration > 0 && d->started + d->o.duration < t)
		t = d->started + d->o.duration;
	ms = (long)ceil((t - now) * 1000.0);
	if (ms < 0)
		ms = 0;
	return ms > POLL_MAX_MS ? POLL_MAX_MS : ms;
}

/* The loop; returns the batches left unanswered by a second signal. */
static size_t
s_run(struct day *d)
{
	d->started = fs_now();
	d->next_due = d->started;
	d->next_progress = d->started + PROGRESS_EVERY_S;
	d->generating = d->fresh_left > 0;
	for (;;) {
		double now = fs_now();

		if (signals_seen >= 2)
			return fleet_abandon(d);
		if (signals_seen == 1 && !d->aborting)
			s_begin_abort(d, "signal");
		if (d->failed && !d->aborting)
			s_begin_abort(d, "error");
		s_check_duration(d, now);
		fleet_generate(d, now);
		fleet_flush(d, now);
		fleet_expire(d, now);
		if (fleet_done(d))
			return fleet_abandon(d);
		if (!d->o.quiet && now >= d->next_progress) {
			stats_progress(&d->stats, now - d->started,
			    fleet_in_flight(d));
			d->next_progress = now + PROGRESS_EVERY_S;
		}
		fleet_poll(d, s_poll_ms(d, now));
	}
}

/* Frees what the command holds (a --copy-out file still open is unfinished). */
static void
s_close(struct day *d)
{
	fleet_free(d);
	if (d->zctx != NULL)
		zmq_ctx_term(d->zctx);
	copyout_close(&d->copy);
	roster_close(&d->roster);
	if (d->acked != NULL && fclose(d->acked) != 0)
		log_error("--acked: %s", strerror(errno));
	d->acked = NULL;
}

/* Says what the run will do. */
static void
s_announce(const struct day *d)
{
	char day[11], pace[64];

	civil_format(d->o.day, day);
	if (d->copy != NULL) {
		log_info("%llu persons; writing the rows of %llu screenings of "
		    "%s from %zu devices to %s (seed %llu)",
		    (unsigned long long)d->roster->persons,
		    (unsigned long long)d->fresh_left, day, d->ndevs,
		    d->o.copy_out, (unsigned long long)d->o.seed);
		return;
	}
	if (d->o.rate > 0)
		snprintf(pace, sizeof(pace), "at %.1f/s", d->o.rate);
	else
		snprintf(pace, sizeof(pace), "as fast as acknowledged");
	log_info("%llu persons; sending %llu screenings of %s %s from %zu "
	    "devices to %s (batch %zu, %zu in flight each, seed %llu)",
	    (unsigned long long)d->roster->persons,
	    (unsigned long long)d->fresh_left, day, pace, d->ndevs,
	    d->o.endpoint, d->o.batch, d->o.inflight,
	    (unsigned long long)d->o.seed);
}

/* Sets up the roster, the sockets or the file, the counts; false (logged) if not. */
static bool
s_open(struct day *d)
{
	if ((d->roster = roster_open(d->o.database)) == NULL)
		return false;
	d->day_start = (int64_t)d->o.day * CIVIL_DAY_SECONDS;
	d->fresh_left = d->o.count ? d->o.count : d->roster->persons;
	rng_seed_entropy(&d->uuids);
	if (d->o.copy_out != NULL) {
		/* Rows are made as fast as possible: there is nobody to pace for. */
		d->o.rate = 0;
		if ((d->copy = copyout_open(d->o.copy_out)) == NULL)
			return false;
	} else if ((d->zctx = zmq_ctx_new()) == NULL) {
		log_error("zmq_ctx_new failed");
		return false;
	}
	if (d->o.acked != NULL && (d->acked = fopen(d->o.acked, "w")) == NULL) {
		log_error("--acked %s: %s", d->o.acked, strerror(errno));
		return false;
	}
	if (!fleet_init(d))
		return false;
	s_announce(d);
	return true;
}

/* --copy-out: makes every record and writes the rows; the exit code. */
static int
s_copy_out(struct day *d)
{
	uint64_t rows;
	bool ok;

	d->started = fs_now();
	d->next_due = d->started;
	d->generating = d->fresh_left > 0;
	/* With no batches to fill, nothing blocks: this runs to the end. */
	while (d->generating && !d->failed)
		fleet_generate(d, fs_now());
	rows = copyout_rows(d->copy);
	ok = copyout_close(&d->copy) && !d->failed;
	fprintf(stderr, "fieldsim: generated");
	for (int k = 0; k < REC_KINDS; k++)
		fprintf(stderr, " %s=%llu", rec_kind_name((enum rec_kind)k),
		    (unsigned long long)d->stats.kinds[k]);
	fprintf(stderr, "\n");
	printf("fieldsim: copy_rows=%llu file=%s elapsed_s=%.3f ok=%s\n",
	    (unsigned long long)rows, d->o.copy_out, fs_now() - d->started,
	    ok ? "yes" : "no");
	fflush(stdout);
	return ok ? 0 : 1;
}

/* Runs `fieldsim day`; returns the exit code. */
int
day_main(int argc, char **argv)
{
	struct day d;
	size_t unanswered;
	int rc;

	memset(&d, 0, sizeof(d));
	d.epfd = -1;
	if ((rc = s_parse(argc, argv, &d.o)) >= 0)
		return rc;
	if (!s_open(&d)) {
		s_close(&d);
		return 1;
	}
	if (d.copy != NULL) {
		rc = s_copy_out(&d);
		s_close(&d);
		return rc;
	}
	/* SIGINT and SIGTERM interrupt zmq_poll (no SA_RESTART). */
	tool_catch_stop_signals(s_on_signal);
	unanswered = s_run(&d);
	stats_final(&d.stats, fs_now() - d.started);
	if (unanswered > 0)
		log_warn("%zu batch%s still in flight were left unanswered",
		    unanswered, unanswered == 1 ? "" : "es");
	rc = d.failed || unanswered > 0 || d.stats.timed_out > 0 ? 1 : 0;
	s_close(&d);
	return rc;
}
