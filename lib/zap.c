/*
 * The ZAP handler (RFC 27/ZAP) and the device allowlist behind it. The
 * allowlist is a table loaded whole from a directory of NAME.pub files,
 * sorted twice (by name for per-message checks, by key for handshakes);
 * a reload builds a new table and swaps it only when every file was good,
 * as OpenBSD daemons do with their config. Requests come on a REP socket
 * watched by the bus, so they are answered in the loop thread, between
 * other messages: libzmq's I/O threads wait for the reply without blocking
 * anyone. Refusals are logged with the peer's address and key, at most
 * S_LOG_BURST a minute, since a stolen or stale device may retry forever.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curve.h"
#include "log.h"
#include "zap.h"

#define S_LOG_BURST    10       /* refusal warnings per window */
#define S_LOG_WINDOW_S 60
#define S_DOMAIN_MAX   254
#define S_META_MAX     64       /* one property: X-Curve-Key and its Z85 value */

/* One listed device. */
struct zap_device {
	char name[CURVE_NAME_MAX + 1];
	char district[CURVE_DISTRICT_MAX + 1];
	char key_text[CURVE_KEY_TEXT_LEN + 1];
	uint8_t key[CURVE_KEY_LEN];
};

/* The allowlist: devices sorted by name, and the same sorted by key. */
struct zap_table {
	struct zap_device *devices;
	struct zap_device **by_key;
	size_t n;
};

struct zap_handler {
	struct bus_socket *sock;
	char *domain;
	struct zap_table table;
	uint64_t admitted;
	uint64_t refused;
	double log_window;          /* start of the current warning window, seconds */
	unsigned log_count;         /* warnings in it */
	uint64_t log_dropped;       /* refusals not logged in it */
};

/* Frees a table's arrays and empties it. */
static void
s_table_free(struct zap_table *t)
{
	free(t->devices);
	free(t->by_key);
	memset(t, 0, sizeof(*t));
}

/* qsort: devices by name. */
static int
s_cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct zap_device *)a)->name, ((const struct zap_device *)b)->name);
}

/* qsort: device pointers by key. */
static int
s_cmp_key(const void *a, const void *b)
{
	const struct zap_device *da = *(const struct zap_device *const *)a;
	const struct zap_device *db = *(const struct zap_device *const *)b;

	return memcmp(da->key, db->key, CURVE_KEY_LEN);
}

/* Adds the device of one NAME.pub file to t; -1 with a message naming the file. */
static int
s_table_add(struct zap_table *t, size_t *cap, const char *dir, const char *file,
            char *err, size_t errlen)
{
	char path[4096];
	size_t namelen = strlen(file) - 4;
	struct curve_keyfile kf;
	struct zap_device *d;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", dir, file);
		return -1;
	}
	if (namelen > CURVE_NAME_MAX) {
		snprintf(err, errlen, "%s: device name longer than %d characters", path, CURVE_NAME_MAX);
		return -1;
	}
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct zap_device *nd = realloc(t->devices, ncap * sizeof(*nd));

		if (nd == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->devices = nd;
		*cap = ncap;
	}
	d = &t->devices[t->n];
	memset(d, 0, sizeof(*d));
	memcpy(d->name, file, namelen);
	if (!curve_name_valid(d->name)) {
		snprintf(err, errlen, "%s: \"%s\" is not a valid device name (A-Z a-z 0-9 . _ -)", path, d->name);
		return -1;
	}
	if (curve_keyfile_load(path, CURVE_KEYFILE_PUBLIC, &kf, err, errlen) != 0)
		return -1;
	memcpy(d->key_text, kf.public_key, sizeof(d->key_text));
	memcpy(d->district, kf.district, sizeof(d->district));
	curve_key_decode(d->key_text, d->key);
	t->n++;
	return 0;
}

/* Sorts a loaded table and builds its key index; -1 if a key is listed twice. */
static int
s_table_index(struct zap_table *t, const char *dir, char *err, size_t errlen)
{
	if (t->n == 0)
		return 0;
	qsort(t->devices, t->n, sizeof(*t->devices), s_cmp_name);
	t->by_key = calloc(t->n, sizeof(*t->by_key));
	if (t->by_key == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < t->n; i++)
		t->by_key[i] = &t->devices[i];
	qsort(t->by_key, t->n, sizeof(*t->by_key), s_cmp_key);
	for (size_t i = 1; i < t->n; i++) {
		if (s_cmp_key(&t->by_key[i - 1], &t->by_key[i]) == 0) {
			snprintf(err, errlen, "%s/%s.pub and %s/%s.pub hold the same key: one key, one device",
			         dir, t->by_key[i - 1]->name, dir, t->by_key[i]->name);
			return -1;
		}
	}
	return 0;
}

/* Reads every NAME.pub of dir into a new table t; -1 with a message on any bad file. */
static int
s_table_load(const char *dir, struct zap_table *t, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	size_t cap = 0;

	memset(t, 0, sizeof(*t));
	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "%s: cannot read the device key directory: %s", dir, strerror(errno));
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		/* Dot files are editors' and tools' leftovers, never a device. */
		if (de->d_name[0] == '.' || len <= 4 || strcmp(de->d_name + len - 4, ".pub") != 0)
			continue;
		if (s_table_add(t, &cap, dir, de->d_name, err, errlen) != 0)
			goto fail;
		errno = 0;
	}
	if (errno != 0) {
		snprintf(err, errlen, "%s: cannot read the device key directory: %s", dir, strerror(errno));
		goto fail;
	}
	closedir(d);
	if (s_table_index(t, dir, err, errlen) != 0) {
		s_table_free(t);
		return -1;
	}
	return 0;
fail:
	closedir(d);
	s_table_free(t);
	return -1;
}

/* The listed device of a key, or NULL. */
static const struct zap_device *
s_find_key(const struct zap_table *t, const uint8_t *key)
{
	struct zap_device probe;
	const struct zap_device *pp = &probe;
	struct zap_device *const *found;

	if (t->n == 0)
		return NULL;
	memcpy(probe.key, key, CURVE_KEY_LEN);
	found = bsearch(&pp, t->by_key, t->n, sizeof(*t->by_key), s_cmp_key);
	return found != NULL ? *found : NULL;
}

/* The listed device of a name, or NULL. */
static const struct zap_device *
s_find_name(const struct zap_table *t, const char *name)
{
	struct zap_device probe;

	if (t->n == 0 || name == NULL || strlen(name) > CURVE_NAME_MAX)
		return NULL;
	snprintf(probe.name, sizeof(probe.name), "%s", name);
	return bsearch(&probe, t->devices, t->n, sizeof(*t->devices), s_cmp_name);
}

/* Whether frame i of msg is exactly the string s. */
static bool
s_frame_is(struct bus_msg *msg, int i, const char *s)
{
	size_t len = strlen(s);

	return i < msg->nframes && bus_frame_size(msg, i) == len &&
	       memcmp(bus_frame_data(msg, i), s, len) == 0;
}

/* Copies frame i of msg as printable text into buf (at most size - 1 bytes). */
static void
s_frame_text(struct bus_msg *msg, int i, char *buf, size_t size)
{
	const unsigned char *p;
	size_t len, j;

	if (i >= msg->nframes) {
		snprintf(buf, size, "-");
		return;
	}
	p = bus_frame_data(msg, i);
	len = bus_frame_size(msg, i);
	for (j = 0; j < len && j + 1 < size; j++)
		buf[j] = p[j] >= 0x20 && p[j] < 0x7f ? (char)p[j] : '?';
	buf[j] = '\0';
}

/* Monotonic time in seconds. */
static double
s_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether this refusal may be logged: S_LOG_BURST a window, then a count of the rest. */
static bool
s_may_log(struct zap_handler *z)
{
	double now = s_now();

	if (z->log_count == 0 || now - z->log_window >= S_LOG_WINDOW_S) {
		if (z->log_dropped > 0)
			log_warn("zap: %" PRIu64 " more refused handshakes were not logged", z->log_dropped);
		z->log_window = now;
		z->log_count = 0;
		z->log_dropped = 0;
	}
	if (z->log_count < S_LOG_BURST) {
		z->log_count++;
		return true;
	}
	z->log_dropped++;
	return false;
}

/* Logs a refused handshake with the peer's address and key (Z85), rate-limited. */
static void
s_log_refusal(struct zap_handler *z, struct bus_msg *msg, const char *why)
{
	char address[64], domain[64], mechanism[16];
	char key[CURVE_KEY_TEXT_LEN + 1] = "-";

	if (!s_may_log(z))
		return;
	s_frame_text(msg, 3, address, sizeof(address));
	s_frame_text(msg, 2, domain, sizeof(domain));
	s_frame_text(msg, 5, mechanism, sizeof(mechanism));
	if (msg->nframes == 7 && bus_frame_size(msg, 6) == CURVE_KEY_LEN)
		zmq_z85_encode(key, bus_frame_data(msg, 6), CURVE_KEY_LEN);
	log_warn("zap: refused %s handshake from %s, key %s, domain \"%s\": %s",
	         mechanism, address, key, domain, why);
}

/* Encodes the ZAP metadata of an admitted device: its key, as one ZMTP property. */
static size_t
s_metadata(const struct zap_device *d, uint8_t *buf)
{
	size_t nlen = strlen(ZAP_PROPERTY_KEY);
	size_t off = 0;

	buf[off++] = (uint8_t)nlen;
	memcpy(buf + off, ZAP_PROPERTY_KEY, nlen);
	off += nlen;
	buf[off++] = 0;
	buf[off++] = 0;
	buf[off++] = 0;
	buf[off++] = CURVE_KEY_TEXT_LEN;
	memcpy(buf + off, d->key_text, CURVE_KEY_TEXT_LEN);
	return off + CURVE_KEY_TEXT_LEN;
}

/* Decides one ZAP request: the device admitted, or NULL with the reason in *why. */
static const struct zap_device *
s_decide(struct zap_handler *z, struct bus_msg *msg, const char **why)
{
	const struct zap_device *d;

	if (msg->truncated || msg->nframes < 6) {
		*why = "malformed ZAP request";
		return NULL;
	}
	if (!s_frame_is(msg, 0, "1.0")) {
		*why = "unsupported ZAP version";
		return NULL;
	}
	if (!s_frame_is(msg, 2, z->domain)) {
		*why = "unknown ZAP domain";
		return NULL;
	}
	if (!s_frame_is(msg, 5, "CURVE")) {
		*why = "CurveZMQ required";
		return NULL;
	}
	if (msg->nframes != 7 || bus_frame_size(msg, 6) != CURVE_KEY_LEN) {
		*why = "malformed CURVE credentials";
		return NULL;
	}
	d = s_find_key(&z->table, bus_frame_data(msg, 6));
	if (d == NULL)
		*why = "key not in the device list";
	return d;
}

/* bus callback: answers one ZAP request (the REP socket must answer every one). */
static void
s_on_request(void *arg, struct bus_socket *sock, struct bus_msg *msg)
{
	struct zap_handler *z = arg;
	const char *why = "OK";
	const struct zap_device *d = s_decide(z, msg, &why);
	uint8_t meta[S_META_MAX];
	const void *data[6];
	size_t lens[6];

	data[0] = "1.0", lens[0] = 3;
	data[1] = msg->nframes > 1 ? bus_frame_data(msg, 1) : "";
	lens[1] = msg->nframes > 1 ? bus_frame_size(msg, 1) : 0;
	data[2] = d != NULL ? "200" : "400", lens[2] = 3;
	data[3] = why, lens[3] = strlen(why);
	data[4] = d != NULL ? d->name : "", lens[4] = d != NULL ? strlen(d->name) : 0;
	data[5] = meta, lens[5] = d != NULL ? s_metadata(d, meta) : 0;
	if (d != NULL) {
		z->admitted++;
		log_debug("zap: admitted device %s (district %s)", d->name, d->district[0] ? d->district : "-");
	} else {
		z->refused++;
		s_log_refusal(z, msg, why);
	}
	if (bus_send(sock, data, lens, 6) != 0)
		log_error("zap: cannot send a ZAP reply: %s", zmq_strerror(errno));
}

/* Loads the allowlist, then binds and watches the ZAP socket. */
struct zap_handler *
zap_handler_new(struct bus *bus, const char *devices_dir, const char *domain,
                char *err, size_t errlen)
{
	struct zap_handler *z;

	if (domain == NULL || domain[0] == '\0' || strlen(domain) > S_DOMAIN_MAX) {
		snprintf(err, errlen, "ZAP domain must be 1 to %d characters", S_DOMAIN_MAX);
		return NULL;
	}
	z = calloc(1, sizeof(*z));
	if (z == NULL || (z->domain = strdup(domain)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(z);
		return NULL;
	}
	if (s_table_load(devices_dir, &z->table, err, errlen) != 0)
		goto fail;
	z->sock = bus_socket_new(bus, ZMQ_REP, "zap", 0);
	if (z->sock == NULL) {
		snprintf(err, errlen, "cannot make the ZAP socket: %s", zmq_strerror(errno));
		goto fail;
	}
	if (zmq_bind(bus_socket_zmq(z->sock), ZAP_ENDPOINT) != 0) {
		snprintf(err, errlen, "cannot bind %s: %s%s", ZAP_ENDPOINT, zmq_strerror(errno),
		         errno == EADDRINUSE ? " (a ZAP handler already runs in this context)" : "");
		goto fail;
	}
	if (bus_socket_watch(z->sock, s_on_request, z) != 0) {
		snprintf(err, errlen, "cannot watch the ZAP socket");
		goto fail;
	}
	if (z->table.n == 0)
		log_warn("zap: no device keys in %s: every device will be refused", devices_dir);
	else
		log_info("zap: %zu device keys from %s, domain \"%s\"", z->table.n, devices_dir, domain);
	return z;
fail:
	zap_handler_close(&z);
	return NULL;
}

/* SIGHUP: a fresh allowlist, swapped in only when all of it is good. */
int
zap_handler_reload(struct zap_handler *z, const char *devices_dir, char *err, size_t errlen)
{
	struct zap_table fresh;

	if (s_table_load(devices_dir, &fresh, err, errlen) != 0)
		return -1;
	s_table_free(&z->table);
	z->table = fresh;
	if (z->table.n == 0)
		log_warn("zap: no device keys in %s: every device will be refused", devices_dir);
	else
		log_info("zap: reloaded %zu device keys from %s", z->table.n, devices_dir);
	return 0;
}

/* Per message, by name: NULL once the device is no longer listed. */
const char *
zap_device_district(const struct zap_handler *z, const char *device)
{
	const struct zap_device *d = s_find_name(&z->table, device);

	return d != NULL ? d->district : NULL;
}

/* Per message, from the frame's ZAP properties: name and key must both still match. */
const char *
zap_peer_district(const struct zap_handler *z, const zmq_msg_t *frame, const char **device)
{
	const char *user = zmq_msg_gets(frame, "User-Id");
	const char *key = zmq_msg_gets(frame, ZAP_PROPERTY_KEY);
	const struct zap_device *d;

	if (device != NULL)
		*device = user;
	if (user == NULL || key == NULL)
		return NULL;
	d = s_find_name(&z->table, user);
	if (d == NULL || strcmp(d->key_text, key) != 0)
		return NULL;
	return d->district;
}

/* Size of the allowlist in force. */
size_t
zap_device_count(const struct zap_handler *z)
{
	return z->table.n;
}

/* Counter of handshakes answered 200. */
uint64_t
zap_admitted(const struct zap_handler *z)
{
	return z->admitted;
}

/* Counter of handshakes answered 400. */
uint64_t
zap_refused(const struct zap_handler *z)
{
	return z->refused;
}

/* Stops answering and frees the handler; the socket goes when the loop runs. */
void
zap_handler_close(struct zap_handler **z_p)
{
	struct zap_handler *z = *z_p;

	if (z == NULL)
		return;
	bus_socket_close(&z->sock);
	s_table_free(&z->table);
	free(z->domain);
	free(z);
	*z_p = NULL;
}
