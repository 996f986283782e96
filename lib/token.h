/*
 * Staff tokens of the command office: 32 random bytes, shown once as text
 * ("gw_" and 64 hex digits) and kept only as a hash, so that a copy of the
 * database does not hand out working tokens.
 */
#ifndef GRIDWALL_TOKEN_H
#define GRIDWALL_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_TEXT_LEN 67            /* "gw_" and 64 hex digits */
#define TOKEN_HASH_LEN 64            /* hex of a 32-byte BLAKE2b hash */

/* Makes a new token; false when no randomness could be had. */
bool token_new(char out[TOKEN_TEXT_LEN + 1]);
/* Whether text has the shape of a token. */
bool token_well_formed(const char *text);
/* The hash a token is kept and looked up by. */
void token_hash(const char *text, char out[TOKEN_HASH_LEN + 1]);

#endif
