/*
 * Packing and unpacking of the wire messages, with the size checks that
 * come before any decode. Unpacked messages are owned by the caller and
 * freed with the matching protobuf-c free_unpacked.
 */
#ifndef GRIDWALL_CODEC_H
#define GRIDWALL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "gridwall/v1/gridwall.pb-c.h"

/* Packs any message into a malloc'ed buffer; *len gets its size. NULL on OOM. */
uint8_t *codec_pack(const ProtobufCMessage *msg, size_t *len);

/*
 * Unpacks a SubmitRequest from a device, as ingestd takes it: NULL with why
 * set when it must be refused whole (not a SubmitRequest, or more than
 * max_records records). Fields of a record the contract does not have are
 * dropped. Free with gridwall__v1__submit_request__free_unpacked.
 */
Gridwall__V1__SubmitRequest *codec_unpack_submit(const uint8_t *data, size_t len, long max_records,
                                                 char *why, size_t whylen);

/* Lower-case names used in the database, the JSON forms and the logs. */
const char *codec_channel_name(Gridwall__V1__Channel channel);
const char *codec_id_type_name(Gridwall__V1__IdType type);
const char *codec_symptom_name(Gridwall__V1__Symptom symptom);
const char *codec_contact_name(Gridwall__V1__Contact contact);
const char *codec_level_name(Gridwall__V1__RiskLevel level);
const char *codec_sex_name(Gridwall__V1__Sex sex);   /* NULL when unknown */

/* The reverse; return -1 for an unknown name. */
int codec_channel_parse(const char *name);
int codec_id_type_parse(const char *name);
int codec_symptom_parse(const char *name);
int codec_contact_parse(const char *name);
int codec_level_parse(const char *name);
int codec_sex_parse(const char *name);

#endif
