/*
 * Following a gridwall PUB socket (rulesd's alerts, reportd's feed): a SUB
 * socket subscribed to an area code prefix, and a loop that hands each
 * well-formed [topic][payload] message to the subcommand until SIGINT or
 * SIGTERM. Shared by `gridctl alerts --follow` and `gridctl feed`.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <zmq.h>

#include "defaults.h"
#include "gridctl.h"
#include "tool.h"

#define SUB_POLL_MS 500    /* how soon a signal is noticed, at worst */

/* Set by SIGINT/SIGTERM: the follow loop stops and the tool exits 0. */
static volatile sig_atomic_t s_stop;

/* Only sets the flag; the follow loop looks at it. */
static void
s_on_signal(int sig)
{
	(void)sig;
	s_stop = 1;
}

void *
sub_open(void *zctx, const char *cmd, const char *endpoint, const char *topic)
{
	int linger = 0;
	int64_t maxmsg = DEFAULT_MAX_MESSAGE_BYTES;
	void *sock = zmq_socket(zctx, ZMQ_SUB);

	if (sock == NULL) {
		gridctl_err(cmd, "zmq_socket: %s", zmq_strerror(zmq_errno()));
		return NULL;
	}
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, topic, strlen(topic)) != 0 ||
	    zmq_connect(sock, endpoint) != 0) {
		gridctl_err(cmd, "cannot subscribe to %s: %s", endpoint, zmq_strerror(zmq_errno()));
		zmq_close(sock);
		return NULL;
	}
	tool_catch_stop_signals(s_on_signal);
	return sock;
}

/* Receives one message and passes its payload on when it is [topic][payload]. */
static int
s_recv(void *sock, const char *cmd, sub_fn fn, void *arg)
{
	zmq_msg_t parts[2];
	zmq_msg_t extra;
	int nparts = 0, more, rc = 0;

	do {
		zmq_msg_t *part = nparts < 2 ? &parts[nparts] : &extra;

		zmq_msg_init(part);
		if (zmq_msg_recv(part, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(part);
			break;      /* the parts of a message arrive together: not reached */
		}
		more = zmq_msg_more(part);
		if (part == &extra)
			zmq_msg_close(part);
		nparts++;
	} while (more);
	if (nparts == 2)
		rc = fn(arg, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]));
	else
		gridctl_err(cmd, "message of %d frames is not [topic][message], skipped", nparts);
	for (int i = 0; i < nparts && i < 2; i++)
		zmq_msg_close(&parts[i]);
	return rc;
}

int
sub_follow(void *sock, const char *cmd, sub_fn fn, void *arg)
{
	zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
	int rc;

	while (!s_stop) {
		rc = zmq_poll(&item, 1, SUB_POLL_MS);
		if (rc < 0 && zmq_errno() == EINTR)
			continue;
		if (rc < 0) {
			gridctl_err(cmd, "poll: %s", zmq_strerror(zmq_errno()));
			return -1;
		}
		if (rc > 0 && s_recv(sock, cmd, fn, arg) != 0)
			return 0;   /* the subcommand has what it wanted */
	}
	return 0;
}
