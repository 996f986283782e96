/*
 * Resident ids that are unique by construction. A person's index is
 * scrambled by a keyed Feistel permutation of [0, persons); the result k
 * is cut by a cumulative table into a birth date (1940..2019, weighted
 * like a city of young migrant workers) and a slot within that date, and
 * the slot becomes the 3-digit sequence through a bijection mod 999. So
 * (birth date, sequence) alone never repeats, whatever the address code,
 * and the sequence's parity gives the sex as GB 11643 wants.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "fieldsim.h"
#include "idcard.h"
#include "log.h"

#define FIRST_YEAR 1940
#define LAST_YEAR 2019
#define SEQ_SLOTS 999            /* sequences 001..999 */
#define SEQ_STRIDE 7919          /* prime to 999: slot -> sequence is one-to-one */
#define DAY_TARGET 950.0         /* most persons born on one day */
#define FEISTEL_ROUNDS 4

/* Relative number of persons born in each 5-year band from 1940. */
static const double band_weight[] = {
	1.0, 1.5, 2.5, 3.0, 4.5, 6.0, 6.5, 7.0,
	9.0, 11.0, 11.0, 9.0, 6.0, 5.5, 6.5, 6.0,
};

struct idgen {
	uint64_t persons;
	unsigned half;             /* bits in each Feistel half */
	uint64_t mask;
	uint64_t keys[FEISTEL_ROUNDS];
	uint32_t seq_offset;
	int32_t first_day;
	uint32_t ndays;
	uint32_t *cum;             /* ndays + 1 entries: persons born before day d */
};

/* One pass of the Feistel network over 2 * half bits. */
static uint64_t
s_feistel(const struct idgen *g, uint64_t x)
{
	uint64_t l = x >> g->half, r = x & g->mask, t;

	for (int i = 0; i < FEISTEL_ROUNDS; i++) {
		t = l ^ (rng_mix(r ^ g->keys[i]) & g->mask);
		l = r;
		r = t;
	}
	return (l << g->half) | r;
}

/* A permutation of [0, persons): cycle-walk the Feistel network. */
static uint64_t
s_permute(const struct idgen *g, uint64_t i)
{
	uint64_t x = i;

	do
		x = s_feistel(g, x);
	while (x >= g->persons);
	return x;
}

/* Per-day weight of a day index (days since first_day). */
static double
s_day_weight(const struct idgen *g, uint32_t d)
{
	int64_t y;
	int m, dd;

	civil_date_from_days(g->first_day + (int32_t)d, &y, &m, &dd);
	return band_weight[(y - FIRST_YEAR) / 5];
}

/*
 * Builds the cumulative table: each day gets persons in proportion to its
 * band, blended with a flat share when the population is so large that a
 * day would need more than DAY_TARGET sequences.
 */
static bool
s_build_table(struct idgen *g)
{
	double total = 0, wmax = 0, lambda = 0, peak, flat, cum = 0;
	double n = (double)g->persons;

	for (uint32_t d = 0; d < g->ndays; d++) {
		double w = s_day_weight(g, d);

		total += w;
		if (w > wmax)
			wmax = w;
	}
	peak = n * wmax / total;
	flat = n / g->ndays;
	if (peak > DAY_TARGET)
		lambda = (peak - DAY_TARGET) / (peak - flat);
	g->cum[0] = 0;
	for (uint32_t d = 0; d < g->ndays; d++) {
		cum += (1 - lambda) * s_day_weight(g, d) / total +
		    lambda / g->ndays;
		g->cum[d + 1] = d + 1 == g->ndays ? (uint32_t)g->persons :
		    (uint32_t)llround(cum * n);
		if (g->cum[d + 1] < g->cum[d])
			g->cum[d + 1] = g->cum[d];
		if (g->cum[d + 1] - g->cum[d] > SEQ_SLOTS) {
			log_error("too many persons for one birth date");
			return false;
		}
	}
	return true;
}

/* Builds the permutation keys and the birth-date table. */
struct idgen *
idgen_new(uint64_t persons, uint64_t seed)
{
	struct idgen *g = calloc(1, sizeof(*g));
	unsigned bits = 1;

	if (g == NULL)
		return NULL;
	g->persons = persons;
	while (bits < 64 && (1ULL << bits) < persons)
		bits++;
	g->half = (bits + 1) / 2;
	g->mask = (1ULL << g->half) - 1;
	for (int i = 0; i < FEISTEL_ROUNDS; i++)
		g->keys[i] = rng_mix(seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i + 1);
	g->seq_offset = (uint32_t)(rng_mix(seed ^ 0x5e9ULL) % SEQ_SLOTS);
	g->first_day = (int32_t)civil_days_from_date(FIRST_YEAR, 1, 1);
	g->ndays = (uint32_t)(civil_days_from_date(LAST_YEAR + 1, 1, 1) -
	    g->first_day);
	g->cum = malloc((g->ndays + 1) * sizeof(*g->cum));
	if (g->cum == NULL || persons > IDGEN_MAX_PERSONS || !s_build_table(g))
		idgen_destroy(&g);
	return g;
}

/* Frees the generator. */
void
idgen_destroy(struct idgen **g_p)
{
	if (*g_p == NULL)
		return;
	free((*g_p)->cum);
	free(*g_p);
	*g_p = NULL;
}

/* The day index whose range of k holds k (binary search in cum). */
static uint32_t
s_day_of(const struct idgen *g, uint64_t k)
{
	uint32_t lo = 0, hi = g->ndays;

	/* Invariant: cum[lo] <= k < cum[hi]. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (g->cum[mid] <= k)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The resident id of one person index. */
void
idgen_make(const struct idgen *g, uint64_t index, const char *addr,
           char out[19], int *sex, int32_t *birth)
{
	uint64_t k = s_permute(g, index);
	uint32_t d = s_day_of(g, k);
	uint32_t slot = (uint32_t)(k - g->cum[d]);
	uint32_t seq = 1 + (uint32_t)(((uint64_t)slot * SEQ_STRIDE +
	    g->seq_offset + (uint64_t)d * 389) % SEQ_SLOTS);
	int64_t y;
	int m, dd;

	*birth = g->first_day + (int32_t)d;
	civil_date_from_days(*birth, &y, &m, &dd);
	snprintf(out, 19, "%.6s%04d%02d%02d%03u", addr, (int)y, m, dd, seq);
	out[17] = idcard_check_digit(out);
	out[18] = '\0';
	*sex = seq % 2 == 1 ? 1 : 2;
}
