/*
 * Pseudo-random numbers for the simulation: xoshiro256** streams seeded
 * through splitmix64, so that each grid, pass and device has its own
 * independent stream and the whole city is a pure function of the seed.
 * UUIDs are the exception: they come from a stream seeded by the kernel,
 * because two runs must never send the same client_uuid.
 */
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fieldsim.h"

/* splitmix64's finaliser: spreads the bits of x. */
uint64_t
rng_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Rotates left by k bits. */
static uint64_t
s_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Fills the state from one 64-bit key, never all zero. */
static void
s_fill(struct rng *r, uint64_t key)
{
	for (int i = 0; i < 4; i++) {
		key = rng_mix(key);
		r->s[i] = key;
	}
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		r->s[0] = 1;
}

/* Seeds a stream from a seed and two stream numbers. */
void
rng_seed(struct rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
	s_fill(r, rng_mix(rng_mix(seed) ^ rng_mix(a + 0x632be59bd9b4e019ULL)) ^
	    rng_mix(b + 0x8cb92ba72f3d8dd7ULL));
}

/* Seeds a stream from the kernel. */
void
rng_seed_entropy(struct rng *r)
{
	uint64_t key;

	if (getrandom(&key, sizeof(key), 0) != (ssize_t)sizeof(key))
		key = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)clock();
	s_fill(r, key);
}

/* The next 64 random bits (xoshiro256**). */
uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = s_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = s_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n). */
uint32_t
rng_below(struct rng *r, uint32_t n)
{
	/* Lemire's multiply-shift: unbiased enough for a simulation. */
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
int
rng_range(struct rng *r, int lo, int hi)
{
	return lo + (int)rng_below(r, (uint32_t)(hi - lo + 1));
}

/* True with the given chance in a thousand. */
bool
rng_permille(struct rng *r, unsigned permille)
{
	return rng_below(r, 1000) < permille;
}

/* An index drawn in proportion to the weights. */
size_t
rng_weighted(struct rng *r, const unsigned *weights, size_t n)
{
	uint32_t total = 0, x;

	for (size_t i = 0; i < n; i++)
		total += weights[i];
	x = rng_below(r, total);
	for (size_t i = 0; i < n; i++) {
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	return n - 1;
}

/* A version 4 UUID in text form. */
void
rng_uuid(struct rng *r, char out[37])
{
	uint64_t hi = rng_next(r), lo = rng_next(r);

	hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
	lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx",
	    (unsigned)(hi >> 32), (unsigned)(hi >> 16) & 0xffff,
	    (unsigned)hi & 0xffff, (unsigned)(lo >> 48),
	    (unsigned long long)(lo & 0xffffffffffffULL));
}
