/*
 * Helpers shared by the command-line tools (gridctl, fieldsim): what every
 * daemon gets from the skeleton, a tool needs in a smaller form.
 */
#ifndef GRIDWALL_TOOL_H
#define GRIDWALL_TOOL_H

/*
 * Calls handler on SIGINT and SIGTERM, without SA_RESTART so that a
 * blocking call returns EINTR; the handler must only set a flag. SIGPIPE
 * is ignored.
 */
void tool_catch_stop_signals(void (*handler)(int));

#endif
