/*
 * CurveZMQ for gridwall devices: key files, the client set-up a device
 * makes, and the server set-up of the socket devices connect to. Keys are
 * Z85 text, 40 characters. Which device keys a server admits is decided by
 * the ZAP handler of lib/zap.h.
 *
 * A key file is INI-like text, one "name = value" a line, '#' or ';' to
 * start a comment line, no sections:
 *
 *   NAME.key   public_key, secret_key  (mode 0600: refused if group or
 *              others may read it)
 *   NAME.pub   public_key, district    (what goes into the server's
 *              allowlist directory; a secret_key line is refused here)
 *
 * Reading is strict: an unknown name, a repeated one, a key that is not
 * exactly 40 characters of valid Z85, or a secret key that does not belong
 * to its public key is an error naming the file and line.
 */
#ifndef GRIDWALL_CURVE_H
#define GRIDWALL_CURVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURVE_KEY_TEXT_LEN 40
#define CURVE_KEY_LEN      32      /* a key in binary */
#define CURVE_NAME_MAX     63      /* a device or server name: [A-Za-z0-9._-], not starting with '.' */
#define CURVE_DISTRICT_MAX 15      /* an area code: digits */

/* Which half a key file holds. */
enum curve_keyfile_kind {
	CURVE_KEYFILE_SECRET,      /* NAME.key: public_key and secret_key */
	CURVE_KEYFILE_PUBLIC,      /* NAME.pub: public_key, district optional */
};

/* A key file as read. */
struct curve_keyfile {
	char public_key[CURVE_KEY_TEXT_LEN + 1];
	char secret_key[CURVE_KEY_TEXT_LEN + 1];   /* "" in a .pub file */
	char district[CURVE_DISTRICT_MAX + 1];     /* "" when the file names none */
};

/* Whether this libzmq was built with Curve (libsodium); false with a message in err. */
bool curve_available(char *err, size_t errlen);

/* Whether text is exactly 40 characters of Z85 that decode to a key. */
bool curve_key_text_valid(const char *text);

/* Decodes a valid Z85 key into 32 bytes; false if text is not one. */
bool curve_key_decode(const char *text, uint8_t key[CURVE_KEY_LEN]);

/* Whether name may name a device or a server (and so a file NAME.key). */
bool curve_name_valid(const char *name);

/* Whether code may be a district: 1 to CURVE_DISTRICT_MAX digits. */
bool curve_district_valid(const char *code);

/*
 * Reads a key file of the given kind into kf. Returns 0, or -1 with a
 * message naming the file (and line) in err. Call curve_keyfile_wipe when
 * done with a secret key.
 */
int curve_keyfile_load(const char *path, enum curve_keyfile_kind kind,
                       struct curve_keyfile *kf, char *err, size_t errlen);

/* Clears the key file's memory, the secret key above all. */
void curve_keyfile_wipe(struct curve_keyfile *kf);

/*
 * Makes a new key pair and writes it as DIR/NAME.key (mode 0600) and
 * DIR/NAME.pub (mode 0644, with district when not NULL). server marks the
 * pair as the server's in the files' comments (a server has no district).
 * Refuses to overwrite either file. On success the public key is copied to
 * public_key (41 bytes) when not NULL. Returns 0, or -1 with a message in
 * err (nothing is left behind then).
 */
int curve_keys_write(const char *dir, const char *name, const char *district, bool server,
                     char *public_key, char *err, size_t errlen);

/*
 * The server's public key from a command-line argument: either the Z85
 * key itself or the path of a key file (.pub or .key) holding it. Copies
 * it to public_key (41 bytes). Returns 0, or -1 with a message in err.
 */
int curve_public_key_arg(const char *arg, char *public_key, char *err, size_t errlen);

/*
 * Makes zsock a Curve client of a server whose public key is
 * server_public (Z85), using the device's key pair read from key_file (as
 * written by `gridctl keygen`). Call before zmq_connect. Returns 0, or -1
 * with a message in err.
 */
int curve_client_setup(void *zsock, const char *server_public, const char *key_file,
                       char *err, size_t errlen);

/*
 * Makes zsock a Curve server with the key pair of key_file (the server's
 * .key), whose clients are checked by the ZAP handler of this context for
 * zap_domain: sets ZMQ_CURVE_SERVER, ZMQ_CURVE_SECRETKEY, ZMQ_ZAP_DOMAIN and
 * ZMQ_ZAP_ENFORCE_DOMAIN, so that a handshake fails when no ZAP handler is
 * bound (instead of admitting every Curve client). Call before zmq_bind.
 * Returns 0, or -1 with a message in err.
 */
int curve_server_setup(void *zsock, const char *key_file, const char *zap_domain,
                       char *err, size_t errlen);

#endif
