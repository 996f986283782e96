/* Staff tokens: libsodium's randomness and BLAKE2b. */
#include <string.h>

#include <sodium.h>

#include "token.h"

#define TOKEN_PREFIX "gw_"
#define TOKEN_BYTES 32

bool
token_new(char out[TOKEN_TEXT_LEN + 1])
{
	unsigned char raw[TOKEN_BYTES];

	if (sodium_init() < 0)
		return false;
	randombytes_buf(raw, sizeof(raw));
	memcpy(out, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
	sodium_bin2hex(out + strlen(TOKEN_PREFIX), TOKEN_BYTES * 2 + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return true;
}

bool
token_well_formed(const char *text)
{
	size_t n = strlen(TOKEN_PREFIX);

	if (text == NULL || strlen(text) != TOKEN_TEXT_LEN || strncmp(text, TOKEN_PREFIX, n) != 0)
		return false;
	return strspn(text + n, "0123456789abcdef") == TOKEN_BYTES * 2;
}

void
token_hash(const char *text, char out[TOKEN_HASH_LEN + 1])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)text, strlen(text), NULL, 0);
	sodium_bin2hex(out, TOKEN_HASH_LEN + 1, h, sizeof(h));
}
