/*
 * Counters of `fieldsim day` and how they are shown: a progress line on
 * stderr every few seconds, and at the end the details on stderr (the mix
 * sent, rejections by code, retries, push-to-ack latencies) and one result
 * line on stdout that scripts can parse.
 */
#include <stdio.h>
#include <string.h>

#include "fieldsim.h"

/* Counts rejections under their code. */
void
stats_reject(struct stats *s, const char *code, uint64_t n)
{
	if (code == NULL || code[0] == '\0')
		code = "(none)";
	for (size_t i = 0; i < s->ncodes; i++) {
		if (strcmp(s->codes[i].code, code) == 0) {
			s->codes[i].n += n;
			return;
		}
	}
	/* The last slot, once reached, gathers every further code. */
	if (s->ncodes == STATS_CODES) {
		s->codes[STATS_CODES - 1].n += n;
		return;
	}
	if (s->ncodes == STATS_CODES - 1)
		code = "(other)";
	snprintf(s->codes[s->ncodes].code, sizeof(s->codes[0].code), "%s", code);
	s->codes[s->ncodes++].n = n;
}

/* Records sent per second so far. */
static double
s_rate(const struct stats *s, double elapsed)
{
	return elapsed > 0 ? (double)s->sent / elapsed : 0;
}

/* Records acknowledged (stored, or found stored) per second so far. */
static double
s_ack_rate(const struct stats *s, double elapsed)
{
	return elapsed > 0 ? (double)(s->accepted + s->duplicate) / elapsed : 0;
}

/* A quantile of the push-to-ack latency, in milliseconds. */
static double
s_ack_ms(const struct stats *s, double q)
{
	return hist_quantile(&s->ack, q) * 1000.0;
}

/* One progress line on stderr. */
void
stats_progress(const struct stats *s, double elapsed, size_t in_flight)
{
	fprintf(stderr, "fieldsim: t=%.0fs sent=%llu accepted=%llu duplicate=%llu "
	    "rejected=%llu retries=%llu timed_out=%llu in_flight=%zu rate=%.1f "
	    "p99_ack_ms=%.2f\n",
	    elapsed, (unsigned long long)s->sent,
	    (unsigned long long)s->accepted, (unsigned long long)s->duplicate,
	    (unsigned long long)s->rejected, (unsigned long long)s->retries,
	    (unsigned long long)s->timed_out, in_flight, s_rate(s, elapsed),
	    s_ack_ms(s, 0.99));
}

/* The records generated, by kind. */
static void
s_mix(const struct stats *s)
{
	fprintf(stderr, "fieldsim: generated");
	for (int k = 0; k < REC_KINDS; k++)
		fprintf(stderr, " %s=%llu", rec_kind_name((enum rec_kind)k),
		    (unsigned long long)s->kinds[k]);
	fprintf(stderr, "\n");
}

/* Rejections by code. */
static void
s_codes(const struct stats *s)
{
	fprintf(stderr, "fieldsim: rejected by code:");
	if (s->ncodes == 0)
		fprintf(stderr, " none");
	for (size_t i = 0; i < s->ncodes; i++)
		fprintf(stderr, " %s=%llu", s->codes[i].code,
		    (unsigned long long)s->codes[i].n);
	fprintf(stderr, "\n");
}

/* The summary: details on stderr, the result line on stdout. */
void
stats_final(const struct stats *s, double elapsed)
{
	s_mix(s);
	s_codes(s);
	fprintf(stderr, "fieldsim: batches=%llu retry_later=%llu timeouts=%llu "
	    "timed_out_batches=%llu lost=%llu bad_request=%llu bad_reply=%llu "
	    "unexpected=%llu abandoned=%llu\n",
	    (unsigned long long)s->batches, (unsigned long long)s->retry_later,
	    (unsigned long long)s->timeouts, (unsigned long long)s->timed_out,
	    (unsigned long long)s->lost, (unsigned long long)s->bad_request,
	    (unsigned long long)s->bad_reply, (unsigned long long)s->unexpected,
	    (unsigned long long)s->abandoned);
	fprintf(stderr, "fieldsim: push-to-ack of %llu records answered: "
	    "p50=%.2f ms p90=%.2f ms p99=%.2f ms p99.9=%.2f ms max=%.2f ms\n",
	    (unsigned long long)s->ack.total, s_ack_ms(s, 0.5), s_ack_ms(s, 0.9),
	    s_ack_ms(s, 0.99), s_ack_ms(s, 0.999), hist_max(&s->ack) * 1000.0);
	printf("fieldsim: sent=%llu accepted=%llu duplicate=%llu rejected=%llu "
	    "retries=%llu elapsed_s=%.3f rate=%.1f timed_out=%llu "
	    "ack_rate=%.1f p50_ack_ms=%.2f p99_ack_ms=%.2f max_ack_ms=%.2f\n",
	    (unsigned long long)s->sent, (unsigned long long)s->accepted,
	    (unsigned long long)s->duplicate, (unsigned long long)s->rejected,
	    (unsigned long long)s->retries, elapsed, s_rate(s, elapsed),
	    (unsigned long long)s->timed_out, s_ack_rate(s, elapsed),
	    s_ack_ms(s, 0.5), s_ack_ms(s, 0.99), hist_max(&s->ack) * 1000.0);
	fflush(stdout);
}
