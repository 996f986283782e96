/*
 * The server side of device authentication: an allowlist of device public
 * keys (one NAME.pub file per device in a directory) and the ZAP handler
 * (RFC 27) that libzmq asks, for every Curve handshake on a socket set up
 * with curve_server_setup, whether the client's key may in. It answers 200
 * with the device's name as User-Id for a listed key in the right domain,
 * 400 for anything else. It runs in the libuv loop as a REP socket of the
 * bus, bound at inproc://zeromq.zap.01 of the bus's ZeroMQ context: create
 * it before binding the server socket, in the same bus.
 *
 * Revocation: a reload that no longer lists a device refuses its key from
 * the next handshake on, but a device already connected keeps its
 * connection until it reconnects. Per message, zap_peer_district (or
 * zap_device_district with the frame's User-Id) returns NULL for such a
 * revoked device, so that its messages can be refused too.
 */
#ifndef GRIDWALL_ZAP_H
#define GRIDWALL_ZAP_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "bus.h"

/* Where libzmq sends ZAP requests, in each context. */
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* The ZAP metadata property holding the admitted key (Z85), read with zmq_msg_gets. */
#define ZAP_PROPERTY_KEY "X-Curve-Key"

struct zap_handler;

/*
 * Loads every NAME.pub of devices_dir and starts answering ZAP requests for
 * domain in the bus's context. Refuses (NULL, message in err) a directory
 * with an unreadable or invalid .pub file, or with one key in two files,
 * and a context that already has a ZAP handler. Files whose names start
 * with '.' or do not end in ".pub" are ignored.
 */
struct zap_handler *zap_handler_new(struct bus *bus, const char *devices_dir, const char *domain,
                                    char *err, size_t errlen);

/*
 * Reads devices_dir into a fresh allowlist and swaps it in only if the whole
 * directory is valid; otherwise keeps the old one and returns -1 with a
 * message naming the bad file. Returns 0 on success.
 */
int zap_handler_reload(struct zap_handler *z, const char *devices_dir, char *err, size_t errlen);

/*
 * The district of a listed device ("" when its .pub names none), or NULL
 * when the device is not (or no longer) listed. The string lives until the
 * next reload or close.
 */
const char *zap_device_district(const struct zap_handler *z, const char *device);

/*
 * The district of the device that sent frame (any frame of a message
 * received on the Curve server socket, except a ROUTER's routing id frame),
 * from its User-Id and its key: NULL unless that device is still listed
 * with that same key, so a revoked or re-keyed device's old connection is
 * refused too. *device (when not NULL) is set to the User-Id or NULL; it
 * lives as long as frame.
 */
const char *zap_peer_district(const struct zap_handler *z, const zmq_msg_t *frame,
                              const char **device);

/* How many devices are listed now. */
size_t zap_device_count(const struct zap_handler *z);
/* Handshakes admitted and refused since zap_handler_new. */
uint64_t zap_admitted(const struct zap_handler *z);
uint64_t zap_refused(const struct zap_handler *z);

/* Closes the ZAP socket (once the loop runs) and frees the handler; NULL-safe. */
void zap_handler_close(struct zap_handler **z_p);

#endif
