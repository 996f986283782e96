/*
 * Wire helpers: packing into owned buffers and the names of the enums as
 * the database, JSON and logs spell them. One table per enum, indexed by
 * the enum value, so a name and its parser cannot drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static const char *const channel_names[] = {
	NULL, "door_to_door", "checkpoint", "building_captain",
	"self_declaration", "enterprise", "follow_up",
};
static const char *const id_type_names[] = { "none", "resident_id", "passport", "other" };
static const char *const symptom_names[] = {
	NULL, "cough", "fatigue", "shortness_of_breath", "diarrhoea",
	"conjunctival_congestion", "sore_throat", "other",
};
static const char *const contact_names[] = { "none", "confirmed", "suspected" };
static const char *const level_names[] = { "normal", "attention", "key", "high" };
static const char *const sex_names[] = { NULL, "male", "female" };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The name at index value, or NULL when out of range. */
static const char *
s_name(const char *const *names, size_t count, int value)
{
	if (value < 0 || (size_t)value >= count)
		return NULL;
	return names[value];
}

/* The index of name in names, or -1. */
static int
s_parse(const char *const *names, size_t count, const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < count; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

uint8_t *
codec_pack(const ProtobufCMessage *msg, size_t *len)
{
	size_t size = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return NULL;
	*len = protobuf_c_message_pack(msg, buf);
	return buf;
}

/*
 * Forgets the fields of a message the contract does not have. protobuf-c
 * keeps them and packs them again with the message, and one it accepts (a
 * field number 0, written in two bytes) it packs into bytes that it then
 * refuses: a record carrying one made ingestd's event for rulesd
 * undecodable. Freed as free_unpacked would (the default allocator).
 */
static void
s_drop_unknown_fields(ProtobufCMessage *msg)
{
	for (unsigned i = 0; i < msg->n_unknown_fields; i++)
		free(msg->unknown_fields[i].data);
	free(msg->unknown_fields);
	msg->unknown_fields = NULL;
	msg->n_unknown_fields = 0;
}

Gridwall__V1__SubmitRequest *
codec_unpack_submit(const uint8_t *data, size_t len, long max_records, char *why, size_t whylen)
{
	Gridwall__V1__SubmitRequest *sr = gridwall__v1__submit_request__unpack(NULL, len, data);

	if (sr == NULL) {
		snprintf(why, whylen, "cannot decode SubmitRequest (%zu bytes)", len);
		return NULL;
	}
	if (max_records < 0 || sr->n_records > (size_t)max_records) {
		snprintf(why, whylen, "batch of %zu records is over the limit of %ld",
		         sr->n_records, max_records);
		gridwall__v1__submit_request__free_unpacked(sr, NULL);
		return NULL;
	}
	/* What is stored and announced of a record is the contract's fields. */
	for (size_t i = 0; i < sr->n_records; i++)
		s_drop_unknown_fields(&sr->records[i]->base);
	return sr;
}

const char *codec_channel_name(Gridwall__V1__Channel v) { return s_name(channel_names, COUNT(channel_names), (int)v); }
const char *codec_id_type_name(Gridwall__V1__IdType v) { return s_name(id_type_names, COUNT(id_type_names), (int)v); }
const char *codec_symptom_name(Gridwall__V1__Symptom v) { return s_name(symptom_names, COUNT(symptom_names), (int)v); }
const char *codec_contact_name(Gridwall__V1__Contact v) { return s_name(contact_names, COUNT(contact_names), (int)v); }
const char *codec_level_name(Gridwall__V1__RiskLevel v) { return s_name(level_names, COUNT(level_names), (int)v); }
const char *codec_sex_name(Gridwall__V1__Sex v) { return s_name(sex_names, COUNT(sex_names), (int)v); }

int codec_channel_parse(const char *n) { return s_parse(channel_names, COUNT(channel_names), n); }
int codec_id_type_parse(const char *n) { return s_parse(id_type_names, COUNT(id_type_names), n); }
int codec_symptom_parse(const char *n) { return s_parse(symptom_names, COUNT(symptom_names), n); }
int codec_contact_parse(const char *n) { return s_parse(contact_names, COUNT(contact_names), n); }
int codec_level_parse(const char *n) { return s_parse(level_names, COUNT(level_names), n); }
int codec_sex_parse(const char *n) { return s_parse(sex_names, COUNT(sex_names), n); }
