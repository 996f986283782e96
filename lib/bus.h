/*
 * ZeroMQ sockets inside the libuv loop. Each socket's ZMQ_FD is watched with
 * a uv_poll_t; because that fd is edge-triggered, a socket is drained while
 * ZMQ_EVENTS says POLLIN, and every socket is checked again before the loop
 * blocks (a send can consume the edge of a pending receive).
 */
#ifndef GRIDWALL_BUS_H
#define GRIDWALL_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include <zmq.h>

#define BUS_MAX_FRAMES 8

/* One multipart message as received; frames beyond BUS_MAX_FRAMES are dropped and counted. */
struct bus_msg {
	int nframes;
	bool truncated;
	zmq_msg_t frames[BUS_MAX_FRAMES];
};

struct bus;
struct bus_socket;

typedef void (*bus_recv_fn)(void *arg, struct bus_socket *sock, struct bus_msg *msg);

struct bus *bus_new(uv_loop_t *loop);
/* Ends the ZeroMQ context; call after every socket is closed and the loop ran. */
void bus_destroy(struct bus **bus_p);
/* Stops the bus's own loop handles so that the loop can end. */
void bus_close(struct bus *bus);

/* A new socket of a ZeroMQ type (ZMQ_ROUTER, ...), linger set to linger_ms. */
struct bus_socket *bus_socket_new(struct bus *bus, int type, const char *name, int linger_ms);
void *bus_socket_zmq(struct bus_socket *sock);
int bus_bind(struct bus_socket *sock, const char *endpoint);
int bus_connect(struct bus_socket *sock, const char *endpoint);
int bus_set_int(struct bus_socket *sock, int option, int value);
int bus_set_int64(struct bus_socket *sock, int option, int64_t value);

/* Starts delivering received messages to fn; at most batch messages per turn of the loop. */
int bus_socket_watch(struct bus_socket *sock, bus_recv_fn fn, void *arg);

/*
 * Sends nframes frames without blocking. Returns 0, or -1 with errno
 * (EAGAIN: high-water mark reached, message dropped by the caller's choice).
 */
int bus_send(struct bus_socket *sock, const void *const *data, const size_t *lens, int nframes);

/* Closes a socket: stops watching, zmq_close, frees once libuv closed the poll handle. NULL-safe. */
void bus_socket_close(struct bus_socket **sock_p);

void bus_msg_close(struct bus_msg *msg);
/* Size and data of frame i. */
size_t bus_frame_size(struct bus_msg *msg, int i);
const void *bus_frame_data(struct bus_msg *msg, int i);

#endif
