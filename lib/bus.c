/*
 * ZeroMQ in the libuv loop. A uv_poll_t watches each socket's ZMQ_FD; a
 * uv_prepare_t checks every watched socket before the loop blocks, since
 * ZMQ_FD only signals edges and a send on the same socket may swallow one.
 * A socket that still has messages after its per-turn batch keeps an idle
 * handle running so the loop comes straight back to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"

#define BUS_BATCH 256

struct bus_socket {
	struct bus *bus;
	void *zsock;
	char name[32];
	uv_poll_t poll;
	bool watching;
	bus_recv_fn fn;
	void *arg;
	struct bus_socket *next;      /* watched sockets of the bus */
};

struct bus {
	uv_loop_t *loop;
	void *zctx;
	uv_prepare_t prepare;
	uv_idle_t idle;
	struct bus_socket *watched;
};

static void s_prepare_cb(uv_prepare_t *h);
static void s_idle_cb(uv_idle_t *h);

struct bus *
bus_new(uv_loop_t *loop)
{
	struct bus *bus = calloc(1, sizeof(*bus));

	if (bus == NULL)
		return NULL;
	bus->loop = loop;
	bus->zctx = zmq_ctx_new();
	if (bus->zctx == NULL) {
		free(bus);
		return NULL;
	}
	uv_prepare_init(loop, &bus->prepare);
	bus->prepare.data = bus;
	uv_prepare_start(&bus->prepare, s_prepare_cb);
	uv_idle_init(loop, &bus->idle);
	bus->idle.data = bus;
	return bus;
}

void
bus_close(struct bus *bus)
{
	if (!uv_is_closing((uv_handle_t *)&bus->prepare)) {
		uv_close((uv_handle_t *)&bus->prepare, NULL);
		uv_close((uv_handle_t *)&bus->idle, NULL);
	}
}

void
bus_destroy(struct bus **bus_p)
{
	struct bus *bus = *bus_p;

	if (bus == NULL)
		return;
	zmq_ctx_term(bus->zctx);
	free(bus);
	*bus_p = NULL;
}

struct bus_socket *
bus_socket_new(struct bus *bus, int type, const char *name, int linger_ms)
{
	struct bus_socket *sock = calloc(1, sizeof(*sock));

	if (sock == NULL)
		return NULL;
	sock->bus = bus;
	snprintf(sock->name, sizeof(sock->name), "%s", name);
	sock->zsock = zmq_socket(bus->zctx, type);
	if (sock->zsock == NULL) {
		log_error("%s: zmq_socket: %s", name, zmq_strerror(errno));
		free(sock);
		return NULL;
	}
	zmq_setsockopt(sock->zsock, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
	return sock;
}

void *
bus_socket_zmq(struct bus_socket *sock)
{
	return sock->zsock;
}

int
bus_bind(struct bus_socket *sock, const char *endpoint)
{
	if (zmq_bind(sock->zsock, endpoint) != 0) {
		log_error("%s: cannot bind %s: %s", sock->name, endpoint, zmq_strerror(errno));
		return -1;
	}
	log_info("%s: bound %s", sock->name, endpoint);
	return 0;
}

int
bus_connect(struct bus_socket *sock, const char *endpoint)
{
	if (zmq_connect(sock->zsock, endpoint) != 0) {
		log_error("%s: cannot connect %s: %s", sock->name, endpoint, zmq_strerror(errno));
		return -1;
	}
	return 0;
}

int
bus_set_int(struct bus_socket *sock, int option, int value)
{
	return zmq_setsockopt(sock->zsock, option, &value, sizeof(value));
}

int
bus_set_int64(struct bus_socket *sock, int option, int64_t value)
{
	return zmq_setsockopt(sock->zsock, option, &value, sizeof(value));
}

/* Whether ZeroMQ holds a message ready to read on the socket. */
static bool
s_readable(struct bus_socket *sock)
{
	int events = 0;
	size_t len = sizeof(events);

	if (zmq_getsockopt(sock->zsock, ZMQ_EVENTS, &events, &len) != 0)
		return false;
	return (events & ZMQ_POLLIN) != 0;
}

/* Receives one whole multipart message; false when none is ready. */
static bool
s_recv_msg(struct bus_socket *sock, struct bus_msg *msg)
{
	int more = 1;
	size_t len = sizeof(more);
	zmq_msg_t extra;

	msg->nframes = 0;
	msg->truncated = false;
	while (more) {
		zmq_msg_t *part = msg->nframes < BUS_MAX_FRAMES ? &msg->frames[msg->nframes] : &extra;

		zmq_msg_init(part);
		if (zmq_msg_recv(part, sock->zsock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(part);
			if (msg->nframes > 0)
				log_warn("%s: message cut short: %s", sock->name, zmq_strerror(errno));
			bus_msg_close(msg);
			return false;
		}
		zmq_getsockopt(sock->zsock, ZMQ_RCVMORE, &more, &len);
		if (part == &extra) {
			msg->truncated = true;
			zmq_msg_close(part);
		} else {
			msg->nframes++;
		}
	}
	return true;
}

/* Delivers up to a batch of messages; true if more are waiting. *delivered counts them. */
static bool
s_drain(struct bus_socket *sock, int *delivered)
{
	struct bus_msg msg;

	for (int i = 0; i < BUS_BATCH; i++) {
		if (!sock->watching || !s_readable(sock))
			return false;
		if (!s_recv_msg(sock, &msg))
			return false;
		sock->fn(sock->arg, sock, &msg);
		bus_msg_close(&msg);
		(*delivered)++;
	}
	return sock->watching && s_readable(sock);
}

/*
 * Drains every watched socket before the loop blocks. The idle handle stays
 * on while any socket has more, and for one turn after anything was
 * delivered here: a handler may have left work for the loop's check phase
 * (ingestd's group commit), which must not wait for the next I/O event.
 */
static void
s_drain_all(struct bus *bus)
{
	bool more = false;
	int delivered = 0;

	for (struct bus_socket *s = bus->watched; s != NULL; s = s->next)
		if (s_drain(s, &delivered))
			more = true;
	if (uv_is_closing((uv_handle_t *)&bus->idle))
		return;
	if (more || delivered > 0)
		uv_idle_start(&bus->idle, s_idle_cb);
	else
		uv_idle_stop(&bus->idle);
}

static void
s_prepare_cb(uv_prepare_t *h)
{
	s_drain_all(h->data);
}

/* Nothing to do here: its being active keeps the loop from blocking. */
static void
s_idle_cb(uv_idle_t *h)
{
	(void)h;
}

static void
s_poll_cb(uv_poll_t *h, int status, int events)
{
	struct bus_socket *sock = h->data;
	int delivered = 0;

	(void)events;
	if (status < 0) {
		log_warn("%s: poll: %s", sock->name, uv_strerror(status));
		return;
	}
	if (s_drain(sock, &delivered) && !uv_is_closing((uv_handle_t *)&sock->bus->idle))
		uv_idle_start(&sock->bus->idle, s_idle_cb);
}

int
bus_socket_watch(struct bus_socket *sock, bus_recv_fn fn, void *arg)
{
	int fd;
	size_t len = sizeof(fd);
	int rc;

	if (zmq_getsockopt(sock->zsock, ZMQ_FD, &fd, &len) != 0) {
		log_error("%s: ZMQ_FD: %s", sock->name, zmq_strerror(errno));
		return -1;
	}
	sock->fn = fn;
	sock->arg = arg;
	rc = uv_poll_init(sock->bus->loop, &sock->poll, fd);
	if (rc != 0) {
		log_error("%s: uv_poll_init: %s", sock->name, uv_strerror(rc));
		return -1;
	}
	sock->poll.data = sock;
	uv_poll_start(&sock->poll, UV_READABLE, s_poll_cb);
	sock->watching = true;
	sock->next = sock->bus->watched;
	sock->bus->watched = sock;
	return 0;
}

int
bus_send(struct bus_socket *sock, const void *const *data, const size_t *lens, int nframes)
{
	for (int i = 0; i < nframes; i++) {
		int flags = ZMQ_DONTWAIT | (i + 1 < nframes ? ZMQ_SNDMORE : 0);

		/* Only the first frame can meet the high-water mark; the rest follow it. */
		if (zmq_send(sock->zsock, data[i], lens[i], flags) < 0)
			return -1;
	}
	return 0;
}

/* Unlinks a socket from the bus's watched list. */
static void
s_unwatch(struct bus_socket *sock)
{
	struct bus_socket **pp = &sock->bus->watched;

	while (*pp != NULL && *pp != sock)
		pp = &(*pp)->next;
	if (*pp == sock)
		*pp = sock->next;
	sock->watching = false;
}

static void
s_socket_closed(uv_handle_t *h)
{
	struct bus_socket *sock = h->data;

	zmq_close(sock->zsock);
	free(sock);
}

void
bus_socket_close(struct bus_socket **sock_p)
{
	struct bus_socket *sock = *sock_p;

	if (sock == NULL)
		return;
	*sock_p = NULL;
	if (sock->watching) {
		s_unwatch(sock);
		uv_close((uv_handle_t *)&sock->poll, s_socket_closed);
		return;
	}
	zmq_close(sock->zsock);
	free(sock);
}

void
bus_msg_close(struct bus_msg *msg)
{
	for (int i = 0; i < msg->nframes; i++)
		zmq_msg_close(&msg->frames[i]);
	msg->nframes = 0;
}

size_t
bus_frame_size(struct bus_msg *msg, int i)
{
	return zmq_msg_size(&msg->frames[i]);
}

const void *
bus_frame_data(struct bus_msg *msg, int i)
{
	return zmq_msg_data(&msg->frames[i]);
}
