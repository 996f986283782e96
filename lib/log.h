/*
 * Levelled logging to stderr, one line per event, prefixed with time, the
 * daemon's name and the level. Shared by every gridwall program.
 */
#ifndef GRIDWALL_LOG_H
#define GRIDWALL_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* Names the program in every line; ident must outlive all logging. */
void log_init(const char *ident);
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn" or "error"; returns false on anything else. */
bool log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
