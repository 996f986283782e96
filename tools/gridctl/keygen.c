/*
 * gridctl keygen: makes a CurveZMQ key pair for a device or for ingestd and
 * writes it as two files, NAME.key (both halves, mode 0600, stays with its
 * owner) and NAME.pub (the public half, with the device's district; it is
 * what goes into ingestd's curve_devices_dir). Existing files are never
 * overwritten: a key that is replaced by mistake locks a device out.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "curve.h"
#include "gridctl.h"

struct keygen_opts {
	const char *name;
	const char *district;
	const char *out;
	bool server;
};

/* Takes one option of keygen. */
static bool
s_set_opt(int code, const char *arg, void *p)
{
	struct keygen_opts *opt = p;

	switch (code) {
	case 'n':
		opt->name = arg;
		return curve_name_valid(arg);
	case 'd':
		opt->district = arg;
		return curve_district_valid(arg);
	case 'o':
		opt->out = arg;
		return arg[0] != '\0';
	case 's':
		opt->server = true;
		return true;
	}
	return false;
}

/* Reads the options; returns -1 to go on, or the exit status. */
static int
s_parse_opts(int argc, char **argv, struct keygen_opts *opt)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "district", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "server", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int rc = gridctl_options("keygen", argc, argv, longopts, s_set_opt, opt, NULL);

	if (rc >= 0)
		return rc;
	if (opt->name == NULL)
		gridctl_err("keygen", "--name is required");
	else if (opt->server && opt->district != NULL)
		gridctl_err("keygen", "--district is for a device, not --server");
	else
		return -1;
	return gridctl_usage("keygen", stderr, GRIDCTL_EXIT_USAGE);
}

/* gridctl keygen: writes OUT/NAME.key and OUT/NAME.pub. */
int
gridctl_keygen(int argc, char **argv)
{
	struct keygen_opts opt = { .out = "." };
	char pub[CURVE_KEY_TEXT_LEN + 1];
	char err[512];
	int rc;

	if ((rc = s_parse_opts(argc, argv, &opt)) >= 0)
		return rc;
	if (curve_keys_write(opt.out, opt.name, opt.district, opt.server, pub, err, sizeof(err)) != 0) {
		gridctl_err("keygen", "%s", err);
		return GRIDCTL_EXIT_FAIL;
	}
	printf("wrote %s/%s.key (secret, mode 0600) and %s/%s.pub\n",
	       opt.out, opt.name, opt.out, opt.name);
	printf("public_key = %s\n", pub);
	return GRIDCTL_EXIT_OK;
}
