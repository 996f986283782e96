/*
 * A latency histogram in the manner of HdrHistogram: microseconds, exact
 * below 128 us, then 64 buckets per power of two, so any value is known
 * to within 1/64 (1.6%) and the whole range (up to days) fits in a fixed
 * 18 KiB however many samples come. Quantiles walk the buckets.
 */
#include <math.h>

#include "fieldsim.h"

#define HIST_EXACT (1u << HIST_SUB_BITS)

/* The bucket of a value in microseconds (the last one gathers the rest). */
static size_t
s_index(uint64_t us)
{
	int shift;

	if (us < HIST_EXACT)
		return (size_t)us;
	shift = 63 - __builtin_clzll(us) - (HIST_SUB_BITS - 1);
	if (shift > HIST_OCTAVES)
		return HIST_BUCKETS - 1;
	return HIST_EXACT + (size_t)(shift - 1) * HIST_HALF +
	    (size_t)((us >> shift) - HIST_HALF);
}

/* The highest value (microseconds) that falls in bucket i. */
static uint64_t
s_upper(size_t i)
{
	size_t octave, sub;

	if (i < HIST_EXACT)
		return i;
	octave = (i - HIST_EXACT) / HIST_HALF + 1;
	sub = (i - HIST_EXACT) % HIST_HALF + HIST_HALF;
	return (((uint64_t)sub + 1) << octave) - 1;
}

/* Counts n samples of one latency. */
void
hist_add(struct hist *h, double seconds, uint64_t n)
{
	uint64_t us = seconds > 0 ? (uint64_t)llround(seconds * 1e6) : 0;

	h->counts[s_index(us)] += n;
	h->total += n;
	if (n > 0 && us > h->max_us)
		h->max_us = us;
}

/* The q-quantile, erring high by at most one bucket. */
double
hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->total == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->total);
	if (rank < 1)
		rank = 1;
	if (rank > h->total)
		rank = h->total;
	for (size_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t up = s_upper(i);

			return (double)(up < h->max_us ? up : h->max_us) / 1e6;
		}
	}
	return (double)h->max_us / 1e6;
}

/* The largest latency seen, in seconds. */
double
hist_max(const struct hist *h)
{
	return (double)h->max_us / 1e6;
}
