/*
 * Households of one grid, generated from the grid's own random stream so
 * that the households pass and the persons pass of `fieldsim city` see the
 * same ones without keeping them: about 70% registered and 30% floating,
 * floating ones often tagged rental and a few migrant worker dormitories
 * with many persons; 2.8 persons a household on average. Each household
 * also gets the place its members' ids were issued (the address code).
 */
#include <stdio.h>
#include <string.h>

#include "fieldsim.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Address codes of ids: Foshan's districts first, in plan order. */
static const char *const origins[] = {
	"440604", "440605", "440606", "440607", "440608",   /* Foshan */
	"420102", "420106", "421002", "420111", "420902",   /* Hubei */
	"440882", "441581", "441702",                       /* Guangdong */
	"430521", "450881", "511321", "522401", "360731",   /* elsewhere */
	"411423", "431021",
};
#define ORIGIN_FOSHAN 0
#define ORIGIN_FOSHAN_N 5
#define ORIGIN_HUBEI 5
#define ORIGIN_HUBEI_N 5
#define ORIGIN_PROVINCE 10
#define ORIGIN_PROVINCE_N 3
#define ORIGIN_AWAY 13
#define ORIGIN_AWAY_N 7
_Static_assert(sizeof(origins) / sizeof(origins[0]) ==
    ORIGIN_AWAY + ORIGIN_AWAY_N, "origin groups cover the table");

/* Per mille of households of each kind (enum hh_kind order). */
static const unsigned kind_weights[] = { 700, 105, 180, 15 };

/* Household sizes 1..6 by kind (registered, floating, rental). */
static const unsigned size_weights[3][6] = {
	{ 14, 24, 30, 20, 8, 4 },
	{ 30, 35, 25, 10, 0, 0 },
	{ 35, 35, 20, 10, 0, 0 },
};

#define DORM_MIN 6
#define DORM_MAX 16

/* Where a migrant's id comes from: some Hubei, many other provinces. */
static uint8_t
s_migrant_origin(struct rng *r, size_t district)
{
	unsigned x = rng_below(r, 1000);

	if (x < 60)
		return (uint8_t)(ORIGIN_HUBEI + rng_below(r, ORIGIN_HUBEI_N));
	if (x < 360)
		return (uint8_t)(rng_permille(r, 600) ? district :
		    ORIGIN_FOSHAN + rng_below(r, ORIGIN_FOSHAN_N));
	if (x < 560)
		return (uint8_t)(ORIGIN_PROVINCE + rng_below(r, ORIGIN_PROVINCE_N));
	return (uint8_t)(ORIGIN_AWAY + rng_below(r, ORIGIN_AWAY_N));
}

/* Where a registered household's ids come from: mostly its own district. */
static uint8_t
s_registered_origin(struct rng *r, size_t district)
{
	size_t other;

	if (rng_permille(r, 880))
		return (uint8_t)district;
	other = rng_below(r, ORIGIN_FOSHAN_N - 1);
	return (uint8_t)(other >= district ? other + 1 : other);
}

/* Where one dormitory worker comes from. */
uint8_t
household_worker_origin(struct rng *r, size_t district)
{
	return s_migrant_origin(r, district);
}

/* The address code of an origin index. */
const char *
household_origin(size_t origin)
{
	return origins[origin < COUNT(origins) ? origin : 0];
}

/* True for the Hubei address codes. */
bool
household_origin_hubei(size_t origin)
{
	return origin >= ORIGIN_HUBEI && origin < ORIGIN_HUBEI + ORIGIN_HUBEI_N;
}

/* Draws one household of the grid. */
static void
s_draw(struct rng *r, size_t district, struct household *h)
{
	h->kind = (uint8_t)rng_weighted(r, kind_weights, COUNT(kind_weights));
	if (h->kind == HH_DORMITORY)
		h->size = (uint16_t)rng_range(r, DORM_MIN, DORM_MAX);
	else
		h->size = (uint16_t)(1 + rng_weighted(r, size_weights[h->kind], 6));
	h->origin = h->kind == HH_REGISTERED ? s_registered_origin(r, district) :
	    s_migrant_origin(r, district);
	h->surname = (uint16_t)names_surname(r);
	h->street = (uint16_t)rng_below(r, 1000);
	h->number = (uint16_t)rng_range(r, 1, 300);
	h->room = (uint16_t)(rng_range(r, 1, 8) * 100 + rng_range(r, 1, 6));
}

/* The households of one grid, the same for the same seed. */
size_t
household_generate(const struct plan *plan, uint64_t seed, size_t grid,
                   struct household *out)
{
	const struct plan_grid *g = &plan->grids[grid];
	size_t district = plan->towns[plan->communities[g->community].town].district;
	uint32_t left = g->persons;
	size_t n = 0;
	struct rng r;

	rng_seed(&r, seed, grid, 0x4848);
	while (left > 0) {
		struct household *h = &out[n++];

		s_draw(&r, district, h);
		if (h->size > left)
			h->size = (uint16_t)left;
		left -= h->size;
	}
	return n;
}

/* A street address in the household's community. */
void
household_address(const struct plan *plan, size_t grid,
                  const struct household *h, char *out, size_t len)
{
	const char *community = plan->communities[plan->grids[grid].community].name;
	const char *street = names_street(h->street);

	switch (h->kind) {
	case HH_DORMITORY:
		snprintf(out, len, "%s工业区员工宿舍%u栋%u房", community,
		    (unsigned)h->number % 40 + 1, (unsigned)h->room);
		break;
	case HH_RENTAL:
		snprintf(out, len, "%s%s%u号%u房", community, street,
		    (unsigned)h->number, (unsigned)h->room);
		break;
	default:
		snprintf(out, len, "%s%s%u号", community, street,
		    (unsigned)h->number);
		break;
	}
}
