/*
 * fieldsim's entry point: picks the command (city or day) and holds the
 * small helpers both commands use to read numbers from the command line,
 * tell the time and connect to the database.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldsim.h"
#include "log.h"

/* Prints how to call fieldsim. */
static void
s_usage(FILE *out)
{
	fprintf(out,
	    "usage: fieldsim city [--persons N] [--database CONNINFO] [--seed S]\n"
	    "       fieldsim day [--endpoint E] [--database CONNINFO] [--rate R]\n"
	    "                    [--count N] [--duration S] [--devices D] [--batch B]\n"
	    "                    [--day YYYY-MM-DD] [--seed S] [--quiet] ...\n"
	    "       fieldsim COMMAND --help   for all the options of a command\n");
}

/* Reads a whole number option within bounds. */
bool
fs_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
             uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (s == NULL || *s < '0' || *s > '9') {
		log_error("%s: '%s' is not a whole number", opt, s ? s : "");
		return false;
	}
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		log_error("%s: '%s' is not a whole number from %llu to %llu",
		    opt, s, (unsigned long long)min, (unsigned long long)max);
		return false;
	}
	*out = v;
	return true;
}

/* Reads a decimal number option within bounds. */
bool
fs_parse_double(const char *opt, const char *s, double min, double max,
                double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
		log_error("%s: '%s' is not a number from %g to %g", opt, s,
		    min, max);
		return false;
	}
	*out = v;
	return true;
}

/* Seconds on the monotonic clock. */
double
fs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens a database connection in UTF-8. */
PGconn *
fs_connect(const char *conninfo)
{
	PGconn *conn = PQconnectdb(conninfo);

	if (PQstatus(conn) != CONNECTION_OK) {
		log_error("cannot connect to the database (%s): %s", conninfo,
		    PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	if (PQsetClientEncoding(conn, "UTF8") != 0) {
		log_error("cannot set the client encoding to UTF8: %s",
		    PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* Dispatches to the command named by the first argument. */
int
main(int argc, char **argv)
{
	log_init("fieldsim");
	if (argc < 2) {
		s_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "city") == 0)
		return city_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "day") == 0)
		return day_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		s_usage(stdout);
		return 0;
	}
	log_error("unknown command '%s'", argv[1]);
	s_usage(stderr);
	return 2;
}
