/*
 * gridctl feed: what a city body sees of gridwall. Subscribes to reportd's
 * aggregate feed for an area code prefix and prints each snapshot as it is
 * published: counts per area and day, never a person.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zmq.h>

#include "defaults.h"
#include "gridctl.h"
#include "gridwall/v1/gridwall.pb-c.h"

struct feed_opts {
	const char *area;
	const char *endpoint;
	long count;            /* stop after this many snapshots; 0: never */
	bool json;
	long seen;
};

/* Reads the options; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct feed_opts *opt)
{
	static const struct option longopts[] = {
		{ "area", required_argument, NULL, 'a' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx = 0;
	bool ok = true;

	opterr = 0;
	optind = 1;
	while (ok && (c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		switch (c) {
		case 'a':
			opt->area = optarg;
			ok = gridctl_area_ok(optarg);
			break;
		case 'e':
			opt->endpoint = optarg;
			break;
		case 'n':
			ok = gridctl_parse_long(optarg, 1, 1000000000, &opt->count);
			break;
		case 'j':
			opt->json = true;
			break;
		case 'h':
			return gridctl_usage("feed", stdout, GRIDCTL_EXIT_OK);
		default:
			gridctl_err("feed", "unknown option or missing value: %s", argv[optind - 1]);
			return gridctl_usage("feed", stderr, GRIDCTL_EXIT_USAGE);
		}
	}
	if (!ok)
		gridctl_err("feed", "bad value for --%s: %s", longopts[idx].name, optarg);
	else if (optind < argc)
		gridctl_err("feed", "unexpected argument: %s", argv[optind]);
	else
		return -1;
	return gridctl_usage("feed", stderr, GRIDCTL_EXIT_USAGE);
}

/* One snapshot as a line: JSON, or text for a person. */
static void
s_print(const Gridwall__V1__AggregateSnapshot *s, bool as_json)
{
	json_t *j;
	char *text;

	if (!as_json) {
		printf("%s  %-15s %-12s screened=%lld fevers=%lld key_persons=%lld high_risk=%lld  seq=%llu\n",
		       s->day, s->area_code, s->area_name ? s->area_name : "-",
		       (long long)s->screened, (long long)s->fevers, (long long)s->key_persons,
		       (long long)s->high_risk, (unsigned long long)s->seq);
		fflush(stdout);
		return;
	}
	j = json_pack("{s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
	              "area", s->area_code, "name", s->area_name, "day", s->day,
	              "seq", (json_int_t)s->seq, "screened", (json_int_t)s->screened,
	              "fevers", (json_int_t)s->fevers, "key_persons", (json_int_t)s->key_persons,
	              "high_risk", (json_int_t)s->high_risk, "generated_at", (json_int_t)s->generated_at);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text != NULL)
		printf("%s\n", text);
	fflush(stdout);
	free(text);
	json_decref(j);
}

/* sub_follow: one snapshot; stops once --count snapshots were printed. */
static int
s_on_snapshot(void *arg, const void *payload, size_t len)
{
	struct feed_opts *opt = arg;
	Gridwall__V1__AggregateSnapshot *s = gridwall__v1__aggregate_snapshot__unpack(NULL, len, payload);

	if (s == NULL) {
		gridctl_err("feed", "undecodable AggregateSnapshot of %zu bytes, skipped", len);
		return 0;
	}
	s_print(s, opt->json);
	gridwall__v1__aggregate_snapshot__free_unpacked(s, NULL);
	return opt->count > 0 && ++opt->seen >= opt->count;
}

/* gridctl feed: prints the aggregate snapshots of an area as they come. */
int
gridctl_feed(int argc, char **argv)
{
	struct feed_opts opt = { .area = "", .endpoint = DEFAULT_FEED_ENDPOINT };
	void *zctx, *sock;
	int rc;

	if ((rc = s_parse_opts(argc, argv, &opt)) >= 0)
		return rc;
	zctx = zmq_ctx_new();
	sock = zctx ? sub_open(zctx, "feed", opt.endpoint, opt.area) : NULL;
	rc = GRIDCTL_EXIT_FAIL;
	if (sock != NULL) {
		rc = sub_follow(sock, "feed", s_on_snapshot, &opt) == 0 ? GRIDCTL_EXIT_OK : GRIDCTL_EXIT_FAIL;
		zmq_close(sock);
	}
	if (zctx != NULL)
		zmq_ctx_term(zctx);
	return rc;
}
