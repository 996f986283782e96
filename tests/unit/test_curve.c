/*
 * Tests for lib/curve.c and lib/zap.c: key files as gridctl keygen writes
 * them and the strict reader's refusals, then real CurveZMQ handshakes in
 * one process. The server is a ROUTER in a bus whose libuv loop the test
 * turns by hand (uv_run NOWAIT) while it polls the clients, which live in a
 * context of their own and reach the server over TCP on 127.0.0.1. A
 * refusal is seen positively, not as a mere silence: the client's socket
 * monitor reports the failed handshake (400 from ZAP) and the handler's
 * counters move. Each test ends with uv_loop_close() returning 0, i.e. no
 * handle left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <uv.h>
#include <zmq.h>

#include "bus.h"
#include "curve.h"
#include "log.h"
#include "zap.h"

/* A draft option in libzmq 4.3's header, present in Debian's build. */
#ifndef ZMQ_METADATA
#define ZMQ_METADATA 95
#endif

#define DOMAIN     "gridwall"
#define WAIT_MS    5000        /* for what must happen */
#define QUIET_MS   400         /* for what must not */

/* A server, its ZAP handler, a directory of keys, and what the server received. */
struct fx {
	char dir[64];               /* the temporary directory */
	char keys[128];             /* every NAME.key and NAME.pub as keygen wrote them */
	char devices[128];          /* the allowlist */
	char server_pub[CURVE_KEY_TEXT_LEN + 1];
	uv_loop_t loop;
	struct bus *bus;
	struct zap_handler *zap;
	struct bus_socket *server;
	char endpoint[128];
	void *cctx;                 /* the clients' context */
	int mon_seq;
	void *open_clients[8];      /* closed by teardown if a failed test left them */
	struct bus_socket *other;   /* a second server, likewise */

	int received;               /* messages the server got */
	char user_id[80];           /* User-Id of the last, "" when none */
	char key_prop[80];          /* its X-Curve-Key */
	char district[32];          /* zap_peer_district, "(null)" when NULL */
	bool routing_frame_has_user;
};

/* One client socket and its monitor. */
struct client {
	void *sock;
	void *mon;
};

/* Joins a directory and a file name. */
static void
s_path(char *buf, size_t size, const char *dir, const char *file)
{
	int n = snprintf(buf, size, "%s/%s", dir, file);

	assert_true(n > 0 && (size_t)n < size);
}

/* Copies a file (a .pub into the allowlist). */
static void
s_copy_file(const char *from, const char *to)
{
	char buf[1024];
	FILE *in = fopen(from, "r"), *out;
	size_t n;

	assert_non_null(in);
	out = fopen(to, "w");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* Writes text to path with the given mode. */
static void
s_write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Removes every file of dir, then dir. */
static void
s_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[256];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		s_path(path, sizeof(path), dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Makes a device's key pair in keys/ and, when listed, puts its .pub in the allowlist. */
static void
s_device(struct fx *fx, const char *name, const char *district, bool listed)
{
	char err[512], from[256], to[256], file[96];

	assert_int_equal(curve_keys_write(fx->keys, name, district, false, NULL, err, sizeof(err)), 0);
	if (!listed)
		return;
	snprintf(file, sizeof(file), "%s.pub", name);
	s_path(from, sizeof(from), fx->keys, file);
	s_path(to, sizeof(to), fx->devices, file);
	s_copy_file(from, to);
}

/* The temporary directories only, for the key file tests. */
static int
s_setup_dirs(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/gridwall-curve-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	s_path(fx->keys, sizeof(fx->keys), fx->dir, "keys");
	s_path(fx->devices, sizeof(fx->devices), fx->dir, "devices");
	assert_int_equal(mkdir(fx->keys, 0700), 0);
	assert_int_equal(mkdir(fx->devices, 0755), 0);
	*state = fx;
	return 0;
}

/* Keys for a server and four devices: dev-a and dev-b listed, outsider and spare not. */
static void
s_make_keys(struct fx *fx)
{
	char err[512];

	assert_int_equal(curve_keys_write(fx->keys, "server", NULL, true, fx->server_pub,
	                                  err, sizeof(err)), 0);
	s_device(fx, "dev-a", "440605", true);
	s_device(fx, "dev-b", "440606", true);
	s_device(fx, "outsider", "440605", false);
	s_device(fx, "spare", NULL, false);
}

/* Server callback: notes who sent the message and what the allowlist says, then echoes it. */
static void
s_on_message(void *arg, struct bus_socket *sock, struct bus_msg *msg)
{
	struct fx *fx = arg;
	const char *user, *key, *district, *device = NULL;
	const void *data[BUS_MAX_FRAMES];
	size_t lens[BUS_MAX_FRAMES];

	/* The ROUTER's routing id, then what the client sent: properties are read from its first frame. */
	if (msg->nframes < 2)
		return;
	fx->received++;
	user = zmq_msg_gets(&msg->frames[1], "User-Id");
	key = zmq_msg_gets(&msg->frames[1], ZAP_PROPERTY_KEY);
	district = zap_peer_district(fx->zap, &msg->frames[1], &device);
	snprintf(fx->user_id, sizeof(fx->user_id), "%s", user != NULL ? user : "");
	snprintf(fx->key_prop, sizeof(fx->key_prop), "%s", key != NULL ? key : "");
	snprintf(fx->district, sizeof(fx->district), "%s", district != NULL ? district : "(null)");
	assert_true(device == user);
	fx->routing_frame_has_user = zmq_msg_gets(&msg->frames[0], "User-Id") != NULL;
	for (int i = 0; i < msg->nframes; i++)
		data[i] = bus_frame_data(msg, i), lens[i] = bus_frame_size(msg, i);
	assert_int_equal(bus_send(sock, data, lens, msg->nframes), 0);
}

/* A ROUTER server set up with curve_server_setup for domain, bound on 127.0.0.1. */
static struct bus_socket *
s_server(struct fx *fx, const char *domain, char *endpoint, size_t size)
{
	struct bus_socket *s = bus_socket_new(fx->bus, ZMQ_ROUTER, "server", 0);
	char err[512], key_file[256];

	assert_non_null(s);
	s_path(key_file, sizeof(key_file), fx->keys, "server.key");
	if (curve_server_setup(bus_socket_zmq(s), key_file, domain, err, sizeof(err)) != 0)
		fail_msg("curve_server_setup: %s", err);
	assert_int_equal(bus_bind(s, "tcp://127.0.0.1:*"), 0);
	assert_int_equal(zmq_getsockopt(bus_socket_zmq(s), ZMQ_LAST_ENDPOINT, endpoint, &size), 0);
	assert_int_equal(bus_socket_watch(s, s_on_message, fx), 0);
	return s;
}

/* Keys, a loop, a bus; the ZAP handler (when zap) and then the server. */
static int
s_setup_server(void **state, bool zap)
{
	struct fx *fx;
	char err[512];

	s_setup_dirs(state);
	fx = *state;
	s_make_keys(fx);
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	fx->bus = bus_new(&fx->loop);
	assert_non_null(fx->bus);
	if (zap) {
		fx->zap = zap_handler_new(fx->bus, fx->devices, DOMAIN, err, sizeof(err));
		if (fx->zap == NULL)
			fail_msg("zap_handler_new: %s", err);
	}
	fx->server = s_server(fx, DOMAIN, fx->endpoint, sizeof(fx->endpoint));
	fx->cctx = zmq_ctx_new();
	assert_non_null(fx->cctx);
	return 0;
}

/* Setup: a server with its ZAP handler. */
static int
s_setup(void **state)
{
	return s_setup_server(state, true);
}

/* Setup: a Curve server with no ZAP handler bound. */
static int
s_setup_no_zap(void **state)
{
	return s_setup_server(state, false);
}

/* Closes everything and checks that the loop ends with no handle left. */
static int
s_teardown(void **state)
{
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(fx->open_clients) / sizeof(fx->open_clients[0]); i++)
		if (fx->open_clients[i] != NULL)
			zmq_close(fx->open_clients[i]);
	if (fx->cctx != NULL)
		assert_int_equal(zmq_ctx_term(fx->cctx), 0);
	if (fx->bus != NULL) {
		zap_handler_close(&fx->zap);
		assert_null(fx->zap);
		bus_socket_close(&fx->server);
		bus_socket_close(&fx->other);
		bus_close(fx->bus);
		uv_run(&fx->loop, UV_RUN_DEFAULT);
		bus_destroy(&fx->bus);
		assert_int_equal(uv_loop_close(&fx->loop), 0);
	}
	s_rmdir(fx->keys);
	s_rmdir(fx->devices);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Milliseconds of a monotonic clock. */
static int64_t
s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_track_as(struct fx *fx, void *sock, bool forget);

/* Remembers an open client socket, so that a failed test cannot leave zmq_ctx_term waiting. */
static void
s_track(struct fx *fx, void *sock)
{
	s_track_as(fx, sock, false);
}

/*
 * A DEALER client with the key pair of device name (or no Curve at all when
 * name is NULL), watched by a monitor for handshake events, connected.
 */
static struct client
s_client(struct fx *fx, const char *name, const char *metadata)
{
	struct client c;
	char key_file[256], file[96], mon_ep[64], err[512];
	int zero = 0;

	c.sock = zmq_socket(fx->cctx, ZMQ_DEALER);
	assert_non_null(c.sock);
	assert_int_equal(zmq_setsockopt(c.sock, ZMQ_LINGER, &zero, sizeof(zero)), 0);
	if (name != NULL) {
		snprintf(file, sizeof(file), "%s.key", name);
		s_path(key_file, sizeof(key_file), fx->keys, file);
		if (curve_client_setup(c.sock, fx->server_pub, key_file, err, sizeof(err)) != 0)
			fail_msg("curve_client_setup: %s", err);
	}
	if (metadata != NULL)
		assert_int_equal(zmq_setsockopt(c.sock, ZMQ_METADATA, metadata, strlen(metadata)), 0);
	snprintf(mon_ep, sizeof(mon_ep), "inproc://monitor-%d", fx->mon_seq++);
	assert_int_equal(zmq_socket_monitor(c.sock, mon_ep,
	                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
	                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL), 0);
	c.mon = zmq_socket(fx->cctx, ZMQ_PAIR);
	assert_non_null(c.mon);
	assert_int_equal(zmq_setsockopt(c.mon, ZMQ_LINGER, &zero, sizeof(zero)), 0);
	assert_int_equal(zmq_connect(c.mon, mon_ep), 0);
	assert_int_equal(zmq_connect(c.sock, fx->endpoint), 0);
	s_track(fx, c.sock);
	s_track(fx, c.mon);
	return c;
}

/* Remembers (or, with forget, forgets) an open client socket for teardown. */
static void
s_track_as(struct fx *fx, void *sock, bool forget)
{
	for (size_t i = 0; i < sizeof(fx->open_clients) / sizeof(fx->open_clients[0]); i++) {
		if (fx->open_clients[i] == (forget ? sock : NULL)) {
			fx->open_clients[i] = forget ? NULL : sock;
			return;
		}
	}
	fail_msg("too many client sockets");
}

/* Closes a client and its monitor. */
static void
s_client_close(struct fx *fx, struct client *c)
{
	zmq_socket_monitor(c->sock, NULL, 0);
	zmq_close(c->mon);
	zmq_close(c->sock);
	s_track_as(fx, c->mon, true);
	s_track_as(fx, c->sock, true);
}

/*
 * Turns the server's loop and polls the client for up to ms: returns true
 * with a reply in buf when one came; with *event set to the first handshake
 * event of the client's monitor (its value in *value) when one came first
 * and want_event says to stop there.
 */
static bool
s_pump(struct fx *fx, struct client *c, int ms, char *buf, size_t size,
       int *event, uint32_t *value, bool want_event)
{
	int64_t end = s_now_ms() + ms;

	if (event != NULL)
		*event = 0;
	while (s_now_ms() < end) {
		zmq_pollitem_t items[2] = {
			{ c->sock, 0, ZMQ_POLLIN, 0 },
			{ c->mon, 0, ZMQ_POLLIN, 0 },
		};

		uv_run(&fx->loop, UV_RUN_NOWAIT);
		assert_true(zmq_poll(items, 2, 5) >= 0);
		if (items[0].revents & ZMQ_POLLIN) {
			int more = 1;
			size_t len = sizeof(more);

			/* The last frame of a multipart reply is the text. */
			while (more) {
				int n = zmq_recv(c->sock, buf, size - 1, 0);

				assert_true(n >= 0);
				buf[(size_t)n < size ? n : (int)size - 1] = '\0';
				assert_int_equal(zmq_getsockopt(c->sock, ZMQ_RCVMORE, &more, &len), 0);
			}
			return true;
		}
		if (items[1].revents & ZMQ_POLLIN) {
			uint8_t ev[6];
			char addr[256];
			uint16_t id;

			assert_int_equal(zmq_recv(c->mon, ev, sizeof(ev), 0), 6);
			assert_true(zmq_recv(c->mon, addr, sizeof(addr), 0) >= 0);
			memcpy(&id, ev, 2);
			if (event != NULL && *event == 0) {
				*event = id;
				if (value != NULL)
					memcpy(value, ev + 2, 4);
			}
			if (want_event && id != ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
				return false;
		}
	}
	return false;
}

/* Sends text from the client and expects it back, echoed by the server. */
static void
s_round_trip(struct fx *fx, struct client *c, const char *text)
{
	char buf[128];
	int before = fx->received;

	assert_int_equal(zmq_send(c->sock, text, strlen(text), 0), (int)strlen(text));
	if (!s_pump(fx, c, WAIT_MS, buf, sizeof(buf), NULL, NULL, false))
		fail_msg("no reply to \"%s\" within %d ms", text, WAIT_MS);
	assert_string_equal(buf, text);
	assert_int_equal(fx->received, before + 1);
}

/* Sends from the client and expects the handshake refused with an event of mask (value when nonzero). */
static void
s_refused(struct fx *fx, struct client *c, int mask, uint32_t expected_value)
{
	char buf[128];
	int event = 0;
	uint32_t value = 0;
	int before = fx->received;

	assert_int_equal(zmq_send(c->sock, "let me in", 9, ZMQ_DONTWAIT), 9);
	if (s_pump(fx, c, WAIT_MS, buf, sizeof(buf), &event, &value, true))
		fail_msg("a refused client got a reply: %s", buf);
	if (event == 0 || (event & mask) != event)
		fail_msg("handshake event 0x%x, expected one of 0x%x", event, mask);
	if (expected_value != 0)
		assert_int_equal(value, expected_value);
	/* And nothing reaches the server afterwards either. */
	assert_false(s_pump(fx, c, QUIET_MS, buf, sizeof(buf), NULL, NULL, false));
	assert_int_equal(fx->received, before);
}

/* The public key of a key file. */
static void
s_public_of(struct fx *fx, const char *file, char *out)
{
	char path[256], err[512];
	struct curve_keyfile kf;

	s_path(path, sizeof(path), fx->keys, file);
	if (curve_keyfile_load(path, CURVE_KEYFILE_PUBLIC, &kf, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	memcpy(out, kf.public_key, CURVE_KEY_TEXT_LEN + 1);
}

/* keygen's files: both halves, their modes, the district, no overwrite. */
static void
test_keygen_files(void **state)
{
	struct fx *fx = *state;
	char pub[CURVE_KEY_TEXT_LEN + 1], path[256], err[512];
	struct curve_keyfile kf;
	struct stat st;

	assert_int_equal(curve_keys_write(fx->keys, "nanhai-07", "440605", false, pub, err, sizeof(err)), 0);
	assert_true(curve_key_text_valid(pub));

	s_path(path, sizeof(path), fx->keys, "nanhai-07.key");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(curve_keyfile_load(path, CURVE_KEYFILE_SECRET, &kf, err, sizeof(err)), 0);
	assert_string_equal(kf.public_key, pub);
	assert_int_equal(strlen(kf.secret_key), CURVE_KEY_TEXT_LEN);
	assert_string_equal(kf.district, "");
	curve_keyfile_wipe(&kf);
	assert_string_equal(kf.secret_key, "");
	/* A .key is not a .pub: its secret line is refused there. */
	assert_int_equal(curve_keyfile_load(path, CURVE_KEYFILE_PUBLIC, &kf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nanhai-07.key:4: a secret_key has no place"));

	s_path(path, sizeof(path), fx->keys, "nanhai-07.pub");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(curve_keyfile_load(path, CURVE_KEYFILE_PUBLIC, &kf, err, sizeof(err)), 0);
	assert_string_equal(kf.public_key, pub);
	assert_string_equal(kf.secret_key, "");
	assert_string_equal(kf.district, "440605");
	assert_int_equal(curve_keyfile_load(path, CURVE_KEYFILE_SECRET, &kf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no secret_key line"));

	/* Never overwritten, whichever half exists. */
	assert_int_equal(curve_keys_write(fx->keys, "nanhai-07", NULL, false, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(curve_keyfile_load(path, CURVE_KEYFILE_PUBLIC, &kf, err, sizeof(err)), 0);
	assert_string_equal(kf.public_key, pub);
	s_path(path, sizeof(path), fx->keys, "lonely.pub");
	s_write_file(path, "x\n", 0644);
	assert_int_equal(curve_keys_write(fx->keys, "lonely", NULL, false, NULL, err, sizeof(err)), -1);
	s_path(path, sizeof(path), fx->keys, "lonely.key");
	assert_int_equal(access(path, F_OK), -1);

	/* Server pairs have no district; names are checked. */
	assert_int_equal(curve_keys_write(fx->keys, "srv", "440605", true, NULL, err, sizeof(err)), -1);
	assert_int_equal(curve_keys_write(fx->keys, "srv", NULL, true, NULL, err, sizeof(err)), 0);
	assert_int_equal(curve_keys_write(fx->keys, "../evil", NULL, false, NULL, err, sizeof(err)), -1);
	assert_int_equal(curve_keys_write(fx->keys, ".hidden", NULL, false, NULL, err, sizeof(err)), -1);
	assert_int_equal(curve_keys_write(fx->keys, "d", "44x", false, NULL, err, sizeof(err)), -1);
	assert_int_equal(curve_keys_write("/nonexistent-dir", "d", NULL, false, NULL, err, sizeof(err)), -1);
}

/* Z85 keys: exactly 40 characters of the alphabet that decode exactly. */
static void
test_key_text(void **state)
{
	char pub[41], sec[41];
	uint8_t key[CURVE_KEY_LEN];

	(void)state;
	assert_int_equal(zmq_curve_keypair(pub, sec), 0);
	assert_true(curve_key_text_valid(pub));
	assert_true(curve_key_decode(sec, key));
	assert_false(curve_key_text_valid(NULL));
	assert_false(curve_key_text_valid(""));
	pub[39] = '\0';
	assert_false(curve_key_text_valid(pub));
	/* Five '#' stand for more than 32 bits. */
	assert_false(curve_key_text_valid("########################################"));
	assert_false(curve_key_text_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\""));
	assert_false(curve_key_text_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf "));
	assert_true(curve_key_text_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
	assert_true(curve_name_valid("nanhai-07.b_2"));
	assert_false(curve_name_valid("a/b"));
	assert_false(curve_name_valid(""));
	assert_true(curve_district_valid("440605"));
	assert_false(curve_district_valid("4406 05"));
}

/* One bad key file: loading it fails with an error containing expected. */
static void
s_bad_file(struct fx *fx, const char *text, mode_t mode, enum curve_keyfile_kind kind,
           const char *expected)
{
	const char *eq = strchr(text, '=');
	char after[48];
	char path[256], err[512];
	struct curve_keyfile kf;

	s_path(path, sizeof(path), fx->keys, "bad.key");
	unlink(path);
	s_write_file(path, text, mode);
	err[0] = '\0';
	if (curve_keyfile_load(path, kind, &kf, err, sizeof(err)) != -1)
		fail_msg("accepted: %s", text);
	if (strstr(err, expected) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, expected);
	assert_non_null(strstr(err, "bad.key"));
	assert_string_equal(kf.secret_key, "");
	/* No error quotes a key, nor any part of one. */
	if (eq != NULL) {
		snprintf(after, sizeof(after), "%.12s", eq + 1 + strspn(eq + 1, " \t"));
		if (strlen(after) == 12 && strstr(err, after) != NULL)
			fail_msg("error \"%s\" quotes the file's value", err);
	}
}

/* The reader's refusals, each naming the file and, where there is one, the line. */
static void
test_keyfile_errors(void **state)
{
	struct fx *fx = *state;
	char pub[41], sec[41], pub2[41], sec2[41], text[512], path[256], err[512];
	struct curve_keyfile kf;

	assert_int_equal(zmq_curve_keypair(pub, sec), 0);
	assert_int_equal(zmq_curve_keypair(pub2, sec2), 0);

	snprintf(text, sizeof(text), "# ok\n\n; ok too\r\n  public_key=%s  \nsecret_key =\t%s\r\n", pub, sec);
	s_path(path, sizeof(path), fx->keys, "good.key");
	s_write_file(path, text, 0600);
	assert_int_equal(curve_keyfile_load(path, CURVE_KEYFILE_SECRET, &kf, err, sizeof(err)), 0);
	assert_string_equal(kf.public_key, pub);
	assert_string_equal(kf.secret_key, sec);
	/* Private means private. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(curve_keyfile_load(path, CURVE_KEYFILE_SECRET, &kf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));

	snprintf(text, sizeof(text), "public_key = %.39s\nsecret_key = %s\n", pub, sec);
	s_bad_file(fx, text, 0600, CURVE_KEYFILE_SECRET, "bad.key:1: public_key is not a 40-character Z85 key (39");
	snprintf(text, sizeof(text), "public_key = %s\nsecret_key = %sx\n", pub, sec);
	s_bad_file(fx, text, 0600, CURVE_KEYFILE_SECRET, "bad.key:2: secret_key is not a 40-character Z85 key (41");
	snprintf(text, sizeof(text), "public_key = %.39s\"\n", pub);
	s_bad_file(fx, text, 0644, CURVE_KEYFILE_PUBLIC, "bad.key:1: public_key is not a 40-character Z85 key (40 characters, not valid Z85)");
	snprintf(text, sizeof(text), "public_key = %s\nsecret_key = %s\n", pub, sec2);
	s_bad_file(fx, text, 0600, CURVE_KEYFILE_SECRET, "secret_key does not belong to public_key");
	snprintf(text, sizeof(text), "public_key = %s\npublic_key = %s\n", pub, pub2);
	s_bad_file(fx, text, 0644, CURVE_KEYFILE_PUBLIC, "bad.key:2: public_key given twice");
	snprintf(text, sizeof(text), "public_key = %s\ncolour = red\n", pub);
	s_bad_file(fx, text, 0644, CURVE_KEYFILE_PUBLIC, "bad.key:2: unknown name \"colour\"");
	snprintf(text, sizeof(text), "[device]\npublic_key = %s\n", pub);
	s_bad_file(fx, text, 0644, CURVE_KEYFILE_PUBLIC, "bad.key:1: sections are not used");
	/* A key without '=' (Z85 has one) and a line without it. */
	s_bad_file(fx, "public_key rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n", 0644, CURVE_KEYFILE_PUBLIC,
	           "bad.key:1: expected \"name = value\"");
	snprintf(text, sizeof(text), "public_key: %s\n", sec);
	if (strchr(sec, '=') != NULL) {
		s_bad_file(fx, text, 0644, CURVE_KEYFILE_PUBLIC, "bad.key:1: unknown name (expected");
	}
	snprintf(text, sizeof(text), "public_key = %s\ndistrict = Nanhai\n", pub);
	s_bad_file(fx, text, 0644, CURVE_KEYFILE_PUBLIC, "bad.key:2: district must be an area code");
	snprintf(text, sizeof(text), "public_key = %s\nsecret_key = %s\n", pub, sec);
	s_bad_file(fx, text, 0644, CURVE_KEYFILE_PUBLIC, "bad.key:2: a secret_key has no place in a public key file");
	s_bad_file(fx, "# nothing\n", 0644, CURVE_KEYFILE_PUBLIC, "no public_key line");
	s_bad_file(fx, "", 0600, CURVE_KEYFILE_SECRET, "no public_key line");
	memset(text, 'x', 300);
	text[300] = '\0';
	s_bad_file(fx, text, 0644, CURVE_KEYFILE_PUBLIC, "bad.key:1: line longer than");
	/* A secret never appears in an error. */
	snprintf(text, sizeof(text), "public_key = %s\nsecret_key = %.39s\n", pub, sec);
	s_bad_file(fx, text, 0600, CURVE_KEYFILE_SECRET, "bad.key:2:");
	s_path(path, sizeof(path), fx->keys, "bad.key");
	assert_int_equal(curve_keyfile_load(path, CURVE_KEYFILE_SECRET, &kf, err, sizeof(err)), -1);
	snprintf(text, sizeof(text), "%.39s", sec);
	assert_null(strstr(err, text));

	s_path(path, sizeof(path), fx->keys, "missing.key");
	assert_int_equal(curve_keyfile_load(path, CURVE_KEYFILE_SECRET, &kf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing.key: cannot open"));
	assert_int_equal(curve_keyfile_load(fx->keys, CURVE_KEYFILE_PUBLIC, &kf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

/* The server key as a client's argument: Z85 text, or a .pub or .key file. */
static void
test_public_key_arg(void **state)
{
	struct fx *fx = *state;
	char pub[41], got[41], path[256], err[512];
	void *ctx = zmq_ctx_new(), *s;

	assert_int_equal(curve_keys_write(fx->keys, "server", NULL, true, pub, err, sizeof(err)), 0);
	assert_int_equal(curve_public_key_arg(pub, got, err, sizeof(err)), 0);
	assert_string_equal(got, pub);
	s_path(path, sizeof(path), fx->keys, "server.pub");
	memset(got, 0, sizeof(got));
	assert_int_equal(curve_public_key_arg(path, got, err, sizeof(err)), 0);
	assert_string_equal(got, pub);
	s_path(path, sizeof(path), fx->keys, "server.key");
	memset(got, 0, sizeof(got));
	assert_int_equal(curve_public_key_arg(path, got, err, sizeof(err)), 0);
	assert_string_equal(got, pub);
	assert_int_equal(curve_public_key_arg("not-a-key", got, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "neither"));

	/* A client set-up refuses a bad server key or key file before touching the socket. */
	s = zmq_socket(ctx, ZMQ_DEALER);
	assert_int_equal(curve_client_setup(s, "short", path, err, sizeof(err)), -1);
	assert_int_equal(curve_client_setup(s, pub, "/nonexistent.key", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent.key"));
	assert_int_equal(curve_server_setup(s, path, "", err, sizeof(err)), -1);
	zmq_close(s);
	zmq_ctx_term(ctx);
}

/* A listed device's round trip: the server sees its name, district and key. */
static void
test_listed_device(void **state)
{
	struct fx *fx = *state;
	struct client c = s_client(fx, "dev-a", NULL);
	char pub[41];

	assert_int_equal(zap_device_count(fx->zap), 2);
	s_round_trip(fx, &c, "hello");
	assert_string_equal(fx->user_id, "dev-a");
	assert_string_equal(fx->district, "440605");
	s_public_of(fx, "dev-a.pub", pub);
	assert_string_equal(fx->key_prop, pub);
	assert_false(fx->routing_frame_has_user);
	assert_string_equal(zap_device_district(fx->zap, "dev-a"), "440605");
	assert_string_equal(zap_device_district(fx->zap, "dev-b"), "440606");
	assert_null(zap_device_district(fx->zap, "outsider"));
	assert_null(zap_device_district(fx->zap, "dev"));
	assert_int_equal(zap_admitted(fx->zap), 1);
	assert_int_equal(zap_refused(fx->zap), 0);
	s_round_trip(fx, &c, "again");
	assert_int_equal(zap_admitted(fx->zap), 1);     /* one handshake, many messages */

	/* As REQ would send it: an empty delimiter first, which carries the properties too. */
	fx->user_id[0] = '\0';
	assert_int_equal(zmq_send(c.sock, "", 0, ZMQ_SNDMORE), 0);
	s_round_trip(fx, &c, "enveloped");
	assert_string_equal(fx->user_id, "dev-a");
	assert_string_equal(fx->district, "440605");
	s_client_close(fx, &c);
}

/* A key outside the allowlist: the handshake fails with 400 and nothing reaches the server. */
static void
test_unlisted_device(void **state)
{
	struct fx *fx = *state;
	struct client c = s_client(fx, "outsider", NULL);

	s_refused(fx, &c, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	assert_true(zap_refused(fx->zap) >= 1);
	assert_int_equal(zap_admitted(fx->zap), 0);
	s_client_close(fx, &c);
}

/* A client without Curve never gets as far as ZAP. */
static void
test_plain_client(void **state)
{
	struct fx *fx = *state;
	struct client c = s_client(fx, NULL, NULL);

	/* A mechanism mismatch: reported as a protocol error, or without detail when the server hangs up first. */
	s_refused(fx, &c, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0);
	assert_int_equal(zap_admitted(fx->zap), 0);
	s_client_close(fx, &c);
}

/* A Curve client that claims another device's key in its own metadata gets its real one. */
static void
test_forged_metadata(void **state)
{
	struct fx *fx = *state;
	char pub_a[41], pub_b[41], meta[80];
	struct client c;

	s_public_of(fx, "dev-a.pub", pub_a);
	s_public_of(fx, "dev-b.pub", pub_b);
	snprintf(meta, sizeof(meta), "%s:%s", ZAP_PROPERTY_KEY, pub_b);
	c = s_client(fx, "dev-a", meta);
	s_round_trip(fx, &c, "who am i");
	assert_string_equal(fx->user_id, "dev-a");
	assert_string_equal(fx->key_prop, pub_a);
	assert_string_equal(fx->district, "440605");
	s_client_close(fx, &c);
}

/* Removing a .pub and reloading refuses the key on new handshakes and on the old connection's messages. */
static void
test_revoke(void **state)
{
	struct fx *fx = *state;
	struct client a = s_client(fx, "dev-a", NULL), b, again;
	char path[256], err[512];

	s_round_trip(fx, &a, "before");
	assert_string_equal(fx->district, "440605");
	b = s_client(fx, "dev-b", NULL);
	s_round_trip(fx, &b, "b before");

	s_path(path, sizeof(path), fx->devices, "dev-a.pub");
	assert_int_equal(unlink(path), 0);
	if (zap_handler_reload(fx->zap, fx->devices, err, sizeof(err)) != 0)
		fail_msg("reload: %s", err);
	assert_int_equal(zap_device_count(fx->zap), 1);
	assert_null(zap_device_district(fx->zap, "dev-a"));
	assert_string_equal(zap_device_district(fx->zap, "dev-b"), "440606");

	/* The old connection stays up, but its messages no longer map to a district. */
	s_round_trip(fx, &a, "after");
	assert_string_equal(fx->user_id, "dev-a");
	assert_string_equal(fx->district, "(null)");
	s_round_trip(fx, &b, "b after");
	assert_string_equal(fx->district, "440606");

	/* A new handshake with the revoked key is refused. */
	again = s_client(fx, "dev-a", NULL);
	s_refused(fx, &again, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	s_client_close(fx, &again);
	s_client_close(fx, &a);
	s_client_close(fx, &b);
}

/* A device given a new key under its old name: the old key's connection is refused per message. */
static void
test_rekey(void **state)
{
	struct fx *fx = *state;
	struct client old = s_client(fx, "dev-b", NULL), fresh;
	char to[256], err[512], text[256], pub[41];

	s_round_trip(fx, &old, "old key");
	assert_string_equal(fx->district, "440606");
	/* dev-b's .pub now holds spare's key. */
	s_public_of(fx, "spare.pub", pub);
	snprintf(text, sizeof(text), "public_key = %s\ndistrict = 440606\n", pub);
	s_path(to, sizeof(to), fx->devices, "dev-b.pub");
	s_write_file(to, text, 0644);
	assert_int_equal(zap_handler_reload(fx->zap, fx->devices, err, sizeof(err)), 0);
	assert_string_equal(zap_device_district(fx->zap, "dev-b"), "440606");
	s_round_trip(fx, &old, "old key again");
	assert_string_equal(fx->user_id, "dev-b");
	assert_string_equal(fx->district, "(null)");
	fresh = s_client(fx, "spare", NULL);
	s_round_trip(fx, &fresh, "new key");
	assert_string_equal(fx->user_id, "dev-b");
	assert_string_equal(fx->district, "440606");
	s_client_close(fx, &fresh);
	s_client_close(fx, &old);
}

/* A bad directory refuses the reload, names the file, and the old list keeps working. */
static void
test_bad_reload(void **state)
{
	struct fx *fx = *state;
	char path[256], from[256], err[512], pub[41], text[256];
	struct client c;

	/* A key one character short. */
	s_public_of(fx, "outsider.pub", pub);
	snprintf(text, sizeof(text), "# new device\ndistrict = 440605\npublic_key = %.39s\n", pub);
	s_path(path, sizeof(path), fx->devices, "newcomer.pub");
	s_write_file(path, text, 0644);
	assert_int_equal(zap_handler_reload(fx->zap, fx->devices, err, sizeof(err)), -1);
	if (strstr(err, "newcomer.pub:3: public_key is not a 40-character Z85 key") == NULL)
		fail_msg("unexpected error: %s", err);
	unlink(path);

	/* One key under two names. */
	s_path(from, sizeof(from), fx->devices, "dev-a.pub");
	s_path(path, sizeof(path), fx->devices, "dev-a-copy.pub");
	s_copy_file(from, path);
	assert_int_equal(zap_handler_reload(fx->zap, fx->devices, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hold the same key"));
	assert_non_null(strstr(err, "dev-a.pub"));
	assert_non_null(strstr(err, "dev-a-copy.pub"));
	unlink(path);

	/* A secret key in the allowlist. */
	s_path(from, sizeof(from), fx->keys, "outsider.key");
	s_path(path, sizeof(path), fx->devices, "outsider.pub");
	s_copy_file(from, path);
	assert_int_equal(zap_handler_reload(fx->zap, fx->devices, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outsider.pub:4: a secret_key has no place"));
	unlink(path);

	/* A file name that cannot be a device. */
	s_path(path, sizeof(path), fx->devices, "two words.pub");
	s_copy_file(from, path);
	assert_int_equal(zap_handler_reload(fx->zap, fx->devices, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a valid device name"));
	unlink(path);

	/* The directory gone. */
	assert_int_equal(zap_handler_reload(fx->zap, "/nonexistent-devices", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent-devices"));

	/* Through all that, the old list stood. */
	assert_int_equal(zap_device_count(fx->zap), 2);
	assert_string_equal(zap_device_district(fx->zap, "dev-a"), "440605");
	c = s_client(fx, "dev-a", NULL);
	s_round_trip(fx, &c, "still here");
	assert_string_equal(fx->district, "440605");
	s_client_close(fx, &c);

	/* Dot files and other names are not devices, and a good reload takes a new one. */
	s_path(path, sizeof(path), fx->devices, ".dev-x.pub");
	s_write_file(path, "junk\n", 0644);
	s_path(path, sizeof(path), fx->devices, "README");
	s_write_file(path, "junk\n", 0644);
	s_path(from, sizeof(from), fx->keys, "spare.pub");
	s_path(path, sizeof(path), fx->devices, "spare.pub");
	s_copy_file(from, path);
	assert_int_equal(zap_handler_reload(fx->zap, fx->devices, err, sizeof(err)), 0);
	assert_int_equal(zap_device_count(fx->zap), 3);
	assert_string_equal(zap_device_district(fx->zap, "spare"), "");
	c = s_client(fx, "spare", NULL);
	s_round_trip(fx, &c, "newly listed");
	assert_string_equal(fx->user_id, "spare");
	assert_string_equal(fx->district, "");
	s_client_close(fx, &c);
}

/* A second Curve server in the same context with another ZAP domain: the handler refuses it. */
static void
test_wrong_domain(void **state)
{
	struct fx *fx = *state;
	struct client c;

	fx->other = s_server(fx, "elsewhere", fx->endpoint, sizeof(fx->endpoint));
	c = s_client(fx, "dev-a", NULL);
	s_refused(fx, &c, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	s_client_close(fx, &c);
}

/* Two ZAP handlers cannot share a context; a bad directory is refused at start. */
static void
test_handler_new_errors(void **state)
{
	struct fx *fx = *state;
	char err[512], from[256], path[256];

	assert_null(zap_handler_new(fx->bus, fx->devices, DOMAIN, err, sizeof(err)));
	assert_non_null(strstr(err, ZAP_ENDPOINT));
	zap_handler_close(&fx->zap);
	assert_null(zap_handler_new(fx->bus, fx->devices, "", err, sizeof(err)));
	s_path(from, sizeof(from), fx->devices, "dev-a.pub");
	s_path(path, sizeof(path), fx->devices, "dev-a2.pub");
	s_copy_file(from, path);
	assert_null(zap_handler_new(fx->bus, fx->devices, DOMAIN, err, sizeof(err)));
	assert_non_null(strstr(err, "hold the same key"));
	unlink(path);
	/* The endpoint is let go once the closed socket is reaped: a good handler can bind it again. */
	for (int i = 0; i < 200 && fx->zap == NULL; i++) {
		uv_run(&fx->loop, UV_RUN_NOWAIT);
		fx->zap = zap_handler_new(fx->bus, fx->devices, DOMAIN, err, sizeof(err));
		if (fx->zap == NULL)
			usleep(10000);
	}
	if (fx->zap == NULL)
		fail_msg("zap_handler_new: %s", err);
	assert_int_equal(zap_device_count(fx->zap), 2);
}

/* With no ZAP handler bound, the Curve server admits nobody (ZMQ_ZAP_ENFORCE_DOMAIN). */
static void
test_no_handler_fails_closed(void **state)
{
	struct fx *fx = *state;
	struct client c = s_client(fx, "dev-a", NULL);
	char buf[64];
	int event;

	assert_int_equal(zmq_send(c.sock, "hello", 5, ZMQ_DONTWAIT), 5);
	assert_false(s_pump(fx, &c, 1000, buf, sizeof(buf), &event, NULL, false));
	assert_int_equal(fx->received, 0);
	assert_true(event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	s_client_close(fx, &c);
}

/* Runs the tests, with a watchdog. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_text),
		cmocka_unit_test_setup_teardown(test_keygen_files, s_setup_dirs, s_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_errors, s_setup_dirs, s_teardown),
		cmocka_unit_test_setup_teardown(test_public_key_arg, s_setup_dirs, s_teardown),
		cmocka_unit_test_setup_teardown(test_listed_device, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_unlisted_device, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_plain_client, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_forged_metadata, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_revoke, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_rekey, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_bad_reload, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_domain, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_handler_new_errors, s_setup, s_teardown),
		cmocka_unit_test_setup_teardown(test_no_handler_fails_closed, s_setup_no_zap, s_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	/* A hung handshake must fail the run, not stall it (valgrind included). */
	alarm(600);
	if (!zmq_has("curve")) {
		fprintf(stderr, "libzmq lacks CurveZMQ\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
