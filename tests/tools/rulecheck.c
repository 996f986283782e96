/*
 * rulecheck: loads a rule file, or a folder of *.rules files, as rulesd
 * would. Prints what it understood (rule_set_dump) and exits 0, or prints
 * the first error as "file:line:col: message" on stderr and exits 1. The
 * golden tests of the rule language (tests/run-golden.sh) drive it.
 */
#include <stdio.h>

#include "rulelang.h"

/* Checks the one path given. */
int
main(int argc, char **argv)
{
	struct rule_error err;
	struct rule_set *rs;
	char msg[600];

	if (argc != 2) {
		fprintf(stderr, "usage: rulecheck FILE_OR_FOLDER\n");
		return 2;
	}
	rs = rule_set_load(argv[1], &err);
	if (rs == NULL) {
		rule_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	rule_set_dump(rs, stdout);
	rule_set_free(&rs);
	return fflush(stdout) == 0 ? 0 : 2;
}
