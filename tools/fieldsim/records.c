/*
 * One screening record as a field app would write it, of a chosen kind:
 * a normal visit (36.0-37.2 C, mostly door to door), an arrival from a
 * risk area, a fever without travel, a close contact, or one of five
 * kinds of invalid record that ingestd must reject with a precise code.
 * The record is packed right away; re-sends reuse those exact bytes.
 */
#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "codec.h"
#include "fieldsim.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define UNKNOWN_GRID "440699999999999"
#define TEMPERATURE_ABSURD 450          /* 45.0 C: out of range */
#define DAY_SECONDS 86400

static const char *const kind_names[REC_KINDS] = {
	"normal", "arrival", "fever", "contact", "bad_checksum",
	"unknown_grid", "bad_temperature", "no_name", "future", "resend",
};

static const char *const kind_codes[REC_KINDS] = {
	NULL, NULL, NULL, NULL, "BAD_ID_CHECKSUM", "UNKNOWN_GRID",
	"TEMPERATURE_OUT_OF_RANGE", "MISSING_FIELD", "SCREENED_AT_IN_FUTURE",
	NULL,
};

/* Regions people arrive from (Wuhan and its districts, Jingzhou, Xiaogan). */
static const char *const risk_regions[] = {
	"420100", "420102", "420106", "420111", "421000", "421002", "420900",
};

/* Channel weights, in Gridwall__V1__Channel order from DOOR_TO_DOOR. */
static const unsigned channel_weights[] = { 700, 80, 100, 70, 50 };

/* Strings a record points to while it is packed. */
struct scratch {
	char uuid[37];
	char worker[48];
	char team[48];
	char arrived[11];
	char departed[11];
	char bad_id[24];
	Gridwall__V1__Symptom symptoms[2];
};

/* Draws the kind of the next record from the mix. */
enum rec_kind
rec_draw_kind(struct rng *r, const struct mix *mix)
{
	unsigned x = rng_below(r, 1000);

	if (x < mix->arrival)
		return REC_ARRIVAL;
	x -= mix->arrival;
	if (x < mix->fever)
		return REC_FEVER;
	x -= mix->fever;
	if (x < mix->contact)
		return REC_CONTACT;
	x -= mix->contact;
	if (x < mix->invalid)
		return (enum rec_kind)(REC_BAD_CHECKSUM + rng_below(r, 5));
	x -= mix->invalid;
	if (x < mix->resend)
		return REC_RESEND;
	return REC_NORMAL;
}

/* The name of a kind, for the summary. */
const char *
rec_kind_name(enum rec_kind kind)
{
	return kind < REC_KINDS ? kind_names[kind] : "?";
}

/* True for the kinds that must be stored. */
bool
rec_kind_valid(enum rec_kind kind)
{
	return kind <= REC_CONTACT;
}

/* The rejection code an invalid kind must get. */
const char *
rec_kind_code(enum rec_kind kind)
{
	return kind < REC_KINDS ? kind_codes[kind] : NULL;
}

/* Who screened: channel, worker and team, plausible for the person's grid. */
static void
s_channel(Gridwall__V1__ScreeningRecord *rec, struct scratch *sc,
          const struct person_rec *p, struct rng *r)
{
	const char *grid = p->grid;

	rec->has_channel = 1;
	rec->channel = (Gridwall__V1__Channel)(GRIDWALL__V1__CHANNEL__DOOR_TO_DOOR +
	    rng_weighted(r, channel_weights, COUNT(channel_weights)));
	switch (rec->channel) {
	case GRIDWALL__V1__CHANNEL__DOOR_TO_DOOR:
		snprintf(sc->worker, sizeof(sc->worker), "gw-%.15s-%d", grid,
		    rng_range(r, 1, 3));
		snprintf(sc->team, sizeof(sc->team), "team-%.12s-%d", grid,
		    rng_range(r, 1, 2));
		rec->team_id = sc->team;
		break;
	case GRIDWALL__V1__CHANNEL__CHECKPOINT:
		snprintf(sc->worker, sizeof(sc->worker), "cp-%.9s-%02d", grid,
		    rng_range(r, 1, 12));
		snprintf(sc->team, sizeof(sc->team), "checkpoint-%.9s-%d", grid,
		    rng_range(r, 1, 4));
		rec->team_id = sc->team;
		break;
	case GRIDWALL__V1__CHANNEL__BUILDING_CAPTAIN:
		snprintf(sc->worker, sizeof(sc->worker), "bc-%.15s-%02d", grid,
		    rng_range(r, 1, 40));
		break;
	case GRIDWALL__V1__CHANNEL__ENTERPRISE:
		snprintf(sc->worker, sizeof(sc->worker), "ent-%.9s-%04d", grid,
		    rng_range(r, 1, 500));
		break;
	default:
		return;             /* self-declaration: nobody else involved */
	}
	rec->worker_id = sc->worker;
}

/* A time during the day, not later than now. */
static int64_t
s_screened_at(const struct rec_env *env, struct rng *r)
{
	int64_t last = env->day_start + DAY_SECONDS - 1;

	if (last > env->now)
		last = env->now;
	if (last < env->day_start)
		last = env->day_start;
	return env->day_start +
	    (int64_t)(rng_next(r) % (uint64_t)(last - env->day_start + 1));
}

/* The person's own fields, as read from the registry. */
static void
s_person(Gridwall__V1__ScreeningRecord *rec, const struct person_rec *p)
{
	rec->grid_code = (char *)p->grid;
	rec->household_code = (char *)p->household;
	rec->has_id_type = 1;
	rec->id_type = GRIDWALL__V1__ID_TYPE__RESIDENT_ID;
	rec->id_number = (char *)p->id_number;
	rec->name = (char *)p->name;
	rec->phone = p->phone[0] != '\0' ? (char *)p->phone : NULL;
	rec->birth_date = p->birth_date[0] != '\0' ? (char *)p->birth_date : NULL;
	if (strcmp(p->sex, "male") == 0 || strcmp(p->sex, "female") == 0) {
		rec->has_sex = 1;
		rec->sex = p->sex[0] == 'm' ? GRIDWALL__V1__SEX__MALE :
		    GRIDWALL__V1__SEX__FEMALE;
	}
}

/* Sets a body temperature in tenths of a degree. */
static void
s_temperature(Gridwall__V1__ScreeningRecord *rec, int tenths)
{
	rec->has_temperature_tenths = 1;
	rec->temperature_tenths = tenths;
}

/* Adds one symptom. */
static void
s_symptom(Gridwall__V1__ScreeningRecord *rec, struct scratch *sc,
          Gridwall__V1__Symptom symptom)
{
	if (rec->n_symptoms >= COUNT(sc->symptoms))
		return;
	sc->symptoms[rec->n_symptoms++] = symptom;
	rec->symptoms = sc->symptoms;
}

/* Arrived from a risk area 1..20 days ago; a third are unwell. */
static void
s_arrival(Gridwall__V1__ScreeningRecord *rec, struct scratch *sc,
          const struct rec_env *env, struct rng *r)
{
	int32_t arrived = env->day - rng_range(r, 1, 20);

	rec->origin_region = (char *)risk_regions[rng_below(r, COUNT(risk_regions))];
	civil_format(arrived, sc->arrived);
	civil_format(arrived - 1, sc->departed);
	rec->arrived_on = sc->arrived;
	rec->departed_on = sc->departed;
	rec->note = (char *)"自湖北返佛";
	if (!rng_permille(r, 333))
		return;
	switch (rng_below(r, 3)) {
	case 0:
		s_temperature(rec, rng_range(r, 373, 392));
		break;
	case 1:
		s_symptom(rec, sc, GRIDWALL__V1__SYMPTOM__COUGH);
		break;
	default:
		s_temperature(rec, rng_range(r, 373, 392));
		s_symptom(rec, sc, GRIDWALL__V1__SYMPTOM__COUGH);
		break;
	}
}

/* A fever without travel, sometimes with a symptom. */
static void
s_fever(Gridwall__V1__ScreeningRecord *rec, struct scratch *sc, struct rng *r)
{
	static const Gridwall__V1__Symptom symptoms[] = {
		GRIDWALL__V1__SYMPTOM__COUGH, GRIDWALL__V1__SYMPTOM__FATIGUE,
		GRIDWALL__V1__SYMPTOM__SORE_THROAT,
	};

	s_temperature(rec, rng_range(r, 373, 392));
	if (rng_permille(r, 400))
		s_symptom(rec, sc, symptoms[rng_below(r, COUNT(symptoms))]);
}

/* The id with its check digit replaced by another one. */
static void
s_bad_checksum(Gridwall__V1__ScreeningRecord *rec, struct scratch *sc)
{
	static const char digits[] = "0123456789X";
	size_t len = strlen(rec->id_number);
	const char *at;

	snprintf(sc->bad_id, sizeof(sc->bad_id), "%s", rec->id_number);
	if (len == 0)
		return;
	at = strchr(digits, sc->bad_id[len - 1]);
	sc->bad_id[len - 1] = at != NULL ? digits[(size_t)(at - digits + 1) % 11] : '0';
	rec->id_number = sc->bad_id;
}

/* Applies what makes a record of this kind. */
static void
s_kind(enum rec_kind kind, Gridwall__V1__ScreeningRecord *rec,
       struct scratch *sc, const struct rec_env *env, struct rng *r)
{
	switch (kind) {
	case REC_ARRIVAL:
		s_arrival(rec, sc, env, r);
		break;
	case REC_FEVER:
		s_fever(rec, sc, r);
		break;
	case REC_CONTACT:
		rec->has_contact = 1;
		rec->contact = GRIDWALL__V1__CONTACT__CONFIRMED_CASE;
		rec->note = (char *)"确诊病例密切接触者";
		break;
	case REC_BAD_CHECKSUM:
		s_bad_checksum(rec, sc);
		break;
	case REC_BAD_GRID:
		rec->grid_code = (char *)UNKNOWN_GRID;
		break;
	case REC_BAD_TEMPERATURE:
		s_temperature(rec, TEMPERATURE_ABSURD);
		break;
	case REC_NO_NAME:
		rec->name = NULL;
		break;
	case REC_FUTURE:
		rec->screened_at = env->now + DAY_SECONDS;
		break;
	default:
		break;
	}
}

/* Writes and packs one record of a kind about a person. */
uint8_t *
rec_build(enum rec_kind kind, const struct person_rec *p,
          const struct rec_env *env, struct rng *r, struct rng *uuids,
          size_t *len)
{
	Gridwall__V1__ScreeningRecord rec = GRIDWALL__V1__SCREENING_RECORD__INIT;
	struct scratch sc;

	memset(&sc, 0, sizeof(sc));
	rng_uuid(uuids, sc.uuid);
	rec.client_uuid = sc.uuid;
	rec.device_id = (char *)env->device_id;
	s_channel(&rec, &sc, p, r);
	rec.has_screened_at = 1;
	rec.screened_at = s_screened_at(env, r);
	s_person(&rec, p);
	/* Self-declarations often come without a thermometer reading. */
	if (rec.channel != GRIDWALL__V1__CHANNEL__SELF_DECLARATION ||
	    rng_permille(r, 700))
		s_temperature(&rec, rng_range(r, 360, 372));
	s_kind(kind, &rec, &sc, env, r);
	return codec_pack(&rec.base, len);
}
