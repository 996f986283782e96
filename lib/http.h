/*
 * A small HTTP/1.1 server on the daemon's libuv loop, parsing with
 * http_parser. One handler answers each complete request, at once or, after
 * http_defer(), later from another callback on the same loop (say once a
 * group commit is done). Keep-alive, limits on header and body size, and
 * idle and deferral timeouts protect the daemon from slow or abusive clients.
 */
#ifndef GRIDWALL_HTTP_H
#define GRIDWALL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <uv.h>

#define HTTP_MAX_HEADERS 32

struct http_conn;

struct http_header {
	const char *name;
	const char *value;
};

/*
 * A parsed request; everything in it lives until the handler returns, even
 * when the handler defers its response: copy what the answer needs.
 */
struct http_request {
	const char *method;          /* "GET", "POST", ... */
	const char *path;            /* decoded of nothing: the raw path, without the query */
	const char *query;           /* raw query string without '?', "" if none */
	const char *body;            /* NUL-terminated copy of the body, "" if none */
	size_t body_len;
	struct http_header headers[HTTP_MAX_HEADERS];
	int nheaders;
	struct http_conn *conn;      /* the server's, for http_defer(); NULL elsewhere */
};

/*
 * What the handler fills in. body is malloc'ed by the handler and freed by
 * the server after it is written; content_type and extra headers are static
 * strings or strings that outlive the write.
 */
struct http_response {
	int status;
	const char *content_type;    /* default "application/json" */
	char *body;
	size_t body_len;
	const char *extra_headers;   /* e.g. "Retry-After: 2\r\n", or NULL */
};

typedef void (*http_handler_fn)(void *arg, const struct http_request *req,
                                struct http_response *resp);

struct http_limits {
	size_t max_header_bytes;     /* default 16 KiB: beyond, 431 */
	size_t max_body_bytes;       /* default 1 MiB: beyond, 413 */
	unsigned idle_timeout_ms;    /* default 30000: an idle or slow connection is closed */
	unsigned max_connections;    /* default 1024: beyond, new connections are closed at once */
	unsigned deferred_timeout_ms; /* default 30000: a deferred answer not given by then is a 503 */
};

struct http_server;

/*
 * Listens on host:port (e.g. "127.0.0.1", 8080; port 0 picks one). limits
 * may be NULL for the defaults. Returns NULL and logs on failure.
 */
struct http_server *http_server_new(uv_loop_t *loop, const char *host, int port,
                                    const struct http_limits *limits,
                                    http_handler_fn handler, void *arg);

/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *server);

/*
 * Stops listening, closes every connection, and frees the server once libuv
 * has closed all its handles; done (may be NULL) is called then, perhaps
 * before every deferred token is released: those stay valid, and dead.
 */
void http_server_close(struct http_server *server, void (*done)(void *arg), void *arg);

/*
 * Parses data as the bytes one connection received, piece bytes a read (0:
 * all at once), with the server's parser and limits (NULL for the
 * defaults), handing each complete request to handler; responses are
 * dropped, and req->conn is NULL (nothing can be deferred or streamed).
 * Returns 0 once every byte is taken (a request may be left incomplete),
 * else the status the server refuses the input with (400, 413, 431, 500).
 * For tests and the fuzzer: no socket, no loop.
 */
int http_parse_requests(const char *data, size_t len, size_t piece,
                        const struct http_limits *limits, http_handler_fn handler, void *arg);

/* Value of a request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/*
 * Copies the value of key from a query string ("a=1&b=x%20y") into buf,
 * percent-decoding it ('+' is a space). Returns the length, or -1 if the key
 * is absent or the value does not fit.
 */
int http_query_param(const char *query, const char *key, char *buf, size_t len);

/* Splits "host:port" (a daemon's listen key) into its parts; false if malformed. */
bool http_split_listen(const char *listen, char *host, size_t hostlen, int *port);

/* Fills resp with status, content type and a malloc'ed body (owned by the server from now). */
void http_respond_body(struct http_response *resp, int status, const char *content_type,
                       char *body, size_t len);

/* Fills resp with status and a JSON document as body; takes the reference to doc. */
void http_respond_json(struct http_response *resp, int status, json_t *doc);

/* Fills resp with a JSON error body {"error": message} and the status. */
void http_respond_error(struct http_response *resp, int status, const char *message);
/* A 503 for a database that is away, with Retry-After: 2. */
void http_respond_db_down(struct http_response *resp);

/*
 * A response the handler will give later. While one is outstanding on a
 * connection, the requests pipelined behind it wait (answers stay in order)
 * and the idle timeout is suspended; deferred_timeout_ms bounds the wait.
 * The token holds only a weak link to its connection: it stays valid after
 * the client has gone (closed, or only shut its side: either reads as EOF),
 * and after the server is closed or freed, until http_deferred_respond()
 * releases it. Tokens are used on the loop thread.
 */
struct http_deferred;

/*
 * Called inside the handler: nothing is sent for req now and the handler's
 * resp is ignored (its body is still freed). Returns the token, or NULL if
 * the request cannot be deferred (not from this server, already deferred,
 * the server is closing, out of memory); then the handler fills resp.
 */
struct http_deferred *http_defer(const struct http_request *req);

/*
 * Gives a deferred response, exactly once per token, and frees the token.
 * Takes resp->body as the handler's answer would (NULL resp sends a 500).
 * If the client has gone, the connection timed out (the server answered
 * 503 itself) or the server closed it, this only frees the body and token.
 * May be called from any callback on the loop, or after the loop has ended.
 */
void http_deferred_respond(struct http_deferred *d, struct http_response *resp);

/* Whether the client of a deferred response is still waiting for it. */
bool http_deferred_alive(const struct http_deferred *d);

/*
 * A response that stays open and is written in pieces, as Server-Sent
 * Events are. Called inside the handler instead of filling resp: writes
 * the status line and headers (200, content_type, no length, the
 * connection closes at the end), stops the idle timeout (the owner sends
 * heartbeats) and ignores whatever else the client sends. NULL if the
 * request cannot be streamed (deferred already, the server closing, out of
 * memory); then the handler fills resp. The token stays valid after the
 * client has gone, until http_stream_end().
 */
struct http_stream;
#define HTTP_STREAM_MAX_QUEUED (1u << 20)   /* a client further behind is closed */

struct http_stream *http_stream_begin(const struct http_request *req, const char *content_type);
/* Queues bytes for the client; false if it has gone (or was too far behind and is closed). */
bool http_stream_write(struct http_stream *s, const char *data, size_t len);
/* Whether the client is still there. */
bool http_stream_alive(const struct http_stream *s);
/* Ends the stream (closing the connection if open) and releases the token. */
void http_stream_end(struct http_stream *s);

#endif
