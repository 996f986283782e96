/*
 * Signal set-up for the command-line tools: stop signals set a flag the
 * tool's loop checks; nothing else happens in a handler.
 */
#include <signal.h>
#include <string.h>

#include "tool.h"

void
tool_catch_stop_signals(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
