/*
 * Fuzzes the HTTP request path of every daemon's server (lib/http.c): the
 * input is what one connection sends, parsed by http_parse_requests with
 * the server's own parser callbacks and limits (kept small here so that
 * the 413 and 431 refusals are reached); a first byte below 9 makes the
 * client send that many bytes a time, so requests arrive in pieces. A
 * bearer token is checked and hashed as reportd's office API does. Each request is looked at as the
 * handlers look at requests (headers, query parameters) and answered with
 * an error body quoting its path, which must be valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"
#include "token.h"

/* Query keys the daemons' handlers read. */
static const char *const query_keys[] = { "area", "depth", "level", "from", "to", "state", "limit" };

/* Once, before the first input: quiet logs, and what the inputs share. */
FUZZ_INITIALIZE((void)0)

/* A handler that reads the request every way the daemons do, and answers. */
static void
s_handler(void *arg, const struct http_request *req, struct http_response *resp)
{
	unsigned *count = arg;
	char value[64], hash[TOKEN_HASH_LEN + 1];
	const char *auth;
	json_t *doc;
	int n;

	(*count)++;
	FUZZ_CHECK(req->method != NULL && req->path != NULL && req->query != NULL);
	FUZZ_CHECK(req->body != NULL && req->body[req->body_len] == '\0');
	FUZZ_CHECK(req->nheaders >= 0 && req->nheaders <= HTTP_MAX_HEADERS);
	FUZZ_CHECK(req->conn == NULL && http_defer(req) == NULL);
	for (int i = 0; i < req->nheaders; i++)
		FUZZ_CHECK(req->headers[i].name != NULL && req->headers[i].value != NULL &&
		           http_header(req, req->headers[i].name) != NULL);
	(void)http_header(req, "Content-Type");
	/* reportd's office API: a bearer token, checked for shape, then hashed for the lookup. */
	auth = http_header(req, "Authorization");
	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0 && token_well_formed(auth + 7)) {
		token_hash(auth + 7, hash);
		FUZZ_CHECK(strlen(hash) == TOKEN_HASH_LEN);
	}
	for (size_t i = 0; i < sizeof(query_keys) / sizeof(query_keys[0]); i++) {
		n = http_query_param(req->query, query_keys[i], value, sizeof(value));
		FUZZ_CHECK(n < (int)sizeof(value));
	}
	http_respond_error(resp, 404, req->path);
	FUZZ_CHECK(resp->body != NULL && resp->body_len == strlen(resp->body));
	doc = json_loadb(resp->body, resp->body_len, 0, NULL);
	FUZZ_CHECK(doc != NULL);
	FUZZ_CHECK(json_is_string(json_object_get(doc, "error")));
	json_decref(doc);
}

/* Each input, from libFuzzer; everything it allocates is freed before it returns. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct http_limits limits = {
		.max_header_bytes = 1024,
		.max_body_bytes = 512,
	};
	unsigned count = 0;
	size_t piece = 0;
	int status;

	/* A first byte below a tab is no request's: it is how many bytes the client sends a time. */
	if (size > 0 && data[0] < '\t') {
		piece = data[0];
		data++;
		size--;
	}
	status = http_parse_requests((const char *)data, size, piece, &limits, s_handler, &count);

	FUZZ_CHECK(status == 0 || status == 400 || status == 413 || status == 431 || status == 500);
	return 0;
}
