/*
 * CurveZMQ for gridwall devices: key files, the client set-up a device
 * makes, and (server side) the allowlist of device keys checked by a ZAP
 * handler. Keys are Z85 text, 40 characters.
 */
#ifndef GRIDWALL_CURVE_H
#define GRIDWALL_CURVE_H

#include <stddef.h>

#define CURVE_KEY_TEXT_LEN 40

/*
 * Makes zsock a Curve client of a server whose public key is
 * server_public (Z85), using the device's key pair read from key_file (as
 * written by `gridctl keygen`). Call before zmq_connect. Returns 0, or -1
 * with a message in err.
 */
int curve_client_setup(void *zsock, const char *server_public, const char *key_file,
                       char *err, size_t errlen);

#endif
