/*
 * gridctl entry point: finds the subcommand in one table and hands it the
 * rest of the command line. The table is also where every subcommand's
 * usage is written, so `gridctl --help` and `gridctl CMD --help` cannot
 * disagree. A new subcommand is one row here and one file beside this one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "area.h"
#include "defaults.h"
#include "gridctl.h"

static const struct gridctl_cmd s_cmds[] = {
	{
		"push", gridctl_push,
		SENDER_SYNOPSIS " FILE|-",
		"Sends screening records, one JSON object a line, to ingestd and\n"
		"prints one JSON result a line, in input order, with its line number.\n"
		SENDER_HELP
		"Exit status: 0 when every record got an answer, 1 when the server\n"
		"could not be reached, 2 on a usage error.\n",
	},
	{
		"import", gridctl_import,
		SENDER_SYNOPSIS " [--report FILE] FILE.csv",
		"Sends the screenings of a spreadsheet saved as CSV (UTF-8, first row\n"
		"the column names, in English or Chinese: docs/import.md) to ingestd\n"
		"and prints one JSON result per row, like push, with the row's line.\n"
		"A row without a client_uuid gets one derived from its content, so a\n"
		"file imported twice is stored once. On a terminal a progress bar is\n"
		"shown on standard error.\n"
		SENDER_HELP
		"  --report FILE       write the results as CSV to FILE instead (line,\n"
		"                      outcome, server_id, code, field, message)\n"
		"Exit status: 0 when every row got an answer, 1 when the server could\n"
		"not be reached or a file could not be read or written, 2 on a usage\n"
		"error or a file that is not CSV of the documented columns (then\n"
		"nothing was sent).\n",
	},
	{
		"alerts", gridctl_alerts,
		"[--area CODE] [--follow] [--database CONNINFO] [--endpoint E]"
		" [--limit N] [--json]",
		"Lists the latest alerts of an area, oldest first, and with --follow\n"
		"keeps printing new ones as rulesd raises them, until interrupted.\n"
		"Times are local. Risk alerts (a screening raised a level) print as\n"
		"time, level, grid, area path, name, masked id, phone, rules, action;\n"
		"the other kinds add their kind after the level: RELEASED (an\n"
		"observation ended), FOLLOW-UP OVERDUE (a follow-up screening not done\n"
		"in time), COVERAGE GAP (a household not screened for days: it names\n"
		"the household instead of a person). Live alerts also carry the\n"
		"observation end and the follow-up due (\"until\", \"due\"); stored\n"
		"ones do not. With --json, \"kind\" is risk, released,\n"
		"follow_up_overdue or coverage_gap.\n"
		"  --area CODE          area code prefix, e.g. 440605 (default: all)\n"
		"  --follow             then print live alerts until SIGINT/SIGTERM\n"
		"  --database CONNINFO  PostgreSQL (default \"" DEFAULT_DATABASE "\";\n"
		"                       user gridwall_office unless CONNINFO names one)\n"
		"  --endpoint E         rulesd's alert PUB socket\n"
		"                       (default " DEFAULT_ALERTS_ENDPOINT ")\n"
		"  --limit N            how many stored alerts to list (default 20)\n"
		"  --json               one JSON object per alert instead of text\n",
	},
	{
		"followups", gridctl_followups,
		"--area CODE [--day YYYY-MM-DD] [--database CONNINFO] [--json]",
		"Prints the follow-up list of a local day: the persons a grid's team\n"
		"must visit, as rulesd last recorded them (person_states): those whose\n"
		"follow-up screening is due by the end of the day (also those already\n"
		"overdue) and those under observation on the day. Persons are grouped\n"
		"by grid (code, name, area path) with the teams assigned to the grid\n"
		"(team_grids); a grid with several teams lists its persons once and\n"
		"names every team: persons are not split between teams. Within a grid,\n"
		"by household code, then name. Each person: name, masked id, phone,\n"
		"household, level, action, end of observation (\"until\", a local\n"
		"date), follow-up due (\"due\", local time) and OVERDUE when it is\n"
		"already past. A last line counts the persons of each grid. A person\n"
		"without a household is placed in the grid of their latest alert.\n"
		"Times are China Standard Time (UTC+8).\n"
		"  --area CODE          area code prefix, e.g. 440605 (required)\n"
		"  --day YYYY-MM-DD     the local day (default: tomorrow)\n"
		"  --database CONNINFO  PostgreSQL (default \"" DEFAULT_DATABASE "\";\n"
		"                       user gridwall_office unless CONNINFO names one)\n"
		"  --json               one JSON object per person instead of text\n"
		"Exit status: 0 when the list was printed (even empty), 1 when the\n"
		"database could not be asked, 2 on a usage error.\n",
	},
	{
		"token", gridctl_token,
		"issue --area CODE --name NAME [--role staff|viewer] [--days N] | revoke --id N"
		" | list [--area CODE]  [--database CONNINFO]",
		"Staff tokens for the command office's HTTP API on reportd (docs/operations.md).\n"
		"A token sees the alerts of its area (a code prefix: 440605 is Nanhai)\n"
		"and, with the role staff, acknowledges, assigns and resolves them; a\n"
		"viewer only reads. issue prints the new token once, on standard output\n"
		"(the database keeps only its hash); revoke stops it at once; list shows\n"
		"the tokens of an area, never the tokens themselves.\n"
		"  --area CODE          the token's area (issue), or the area listed\n"
		"  --name NAME          who the token is for (issue)\n"
		"  --role staff|viewer  default staff\n"
		"  --days N             expires after N days (default: never)\n"
		"  --id N               the token to revoke (from list)\n"
		"  --database CONNINFO  PostgreSQL (default \"" DEFAULT_DATABASE "\";\n"
		"                       user gridwall_admin unless CONNINFO names one)\n"
		"Exit status: 0 when done, 1 when the database refused (no such area or\n"
		"token), 2 on a usage error.\n",
	},
	{
		"rules", gridctl_rules,
		"replay --rules FILE_OR_DIR --from YYYY-MM-DD --to YYYY-MM-DD"
		" [--live FILE_OR_DIR] [--area CODE] [--database CONNINFO] [--json] [--limit N]\n"
		"       gridctl rules verify [--database CONNINFO]",
		"What if the candidate rules had been live? Replays the stored\n"
		"screenings of the local days from..to (both included), in the order\n"
		"they were stored, through the live rules and through the candidate,\n"
		"each starting from no state at all, and compares for each person the\n"
		"highest level reached and the rules that gave it (those at that level\n"
		"in the screening that first reached it). Prints the persons flagged\n"
		"(attention or above) at each level under both sets and the difference;\n"
		"the persons flagged differently (another level, or the same level by\n"
		"other rules) by district; and those persons, by person id: id, name,\n"
		"masked id, grid where first flagged, live level and rules, candidate\n"
		"level and rules. Nothing is written and rulesd's state is neither read\n"
		"nor touched. Changes that time alone makes (a release at the end of an\n"
		"observation, an overdue follow-up) are not replayed.\n"
		"  --rules FILE_OR_DIR  the candidate: a .rules file or a folder of them\n"
		"  --from, --to DAY     the local days of the screenings (YYYY-MM-DD)\n"
		"  --live FILE_OR_DIR   the rules to compare with (default: the set\n"
		"                       rulesd loaded last, from rule_sets)\n"
		"  --area CODE          only screenings under this area code prefix\n"
		"  --database CONNINFO  PostgreSQL (default \"" DEFAULT_DATABASE "\";\n"
		"                       user gridwall_analyst, who may read every\n"
		"                       screening, unless CONNINFO names one)\n"
		"  --json               one JSON object instead of text\n"
		"  --limit N            persons listed, at most (default 100, 0: all)\n"
		"Exit status: 0 when the replay ran, 1 when the database could not be\n"
		"asked or there are no live rules, 2 on a usage error or a rule file\n"
		"that cannot be read or does not parse (its error printed as\n"
		"FILE:LINE:COL: message).\n"
		"\n"
		"verify: does what rulesd stored equal a replay from scratch? Replays\n"
		"every screening up to rulesd's watermark through the live rules and\n"
		"checks that the assessments are those of the screenings a rule fired\n"
		"on, the risk alerts those of the screenings that raised one (none\n"
		"twice), and every person's state the replayed one; prints each\n"
		"difference (the first 20 of a kind) and the counts. Time alone is not\n"
		"replayed: a person the clock released or found overdue differs.\n"
		"Connects as gridwall_rules unless CONNINFO names a user. Exit status\n"
		"0 when all is equal, 1 on a difference or a database failure.\n",
	},
	{
		"report", gridctl_report,
		"rebuild --day YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD [--check]"
		" [--conninfo CONNINFO]",
		"Recomputes reportd's daily aggregates (daily_aggregates, docs/aggregates.md)\n"
		"of each local day from the system of record: the screenings, alerts and\n"
		"households up to reportd's watermarks and the alerts' audit, counted with\n"
		"the day offset and coverage window reportd recorded (report_settings).\n"
		"The days are replaced in one transaction, while reportd's writers wait;\n"
		"one line per day says how many areas were rebuilt and how many rows\n"
		"differed from the table. After a rebuild that changed today's rows, send\n"
		"reportd SIGHUP: it reloads today.\n"
		"  --day YYYY-MM-DD     one local day\n"
		"  --from, --to DAY     the local days from..to, both included (at most 366)\n"
		"  --check              change nothing: print each difference as\n"
		"                       \"DAY AREA FIGURE table=N rebuilt=M\", or \"DAY: equal\"\n"
		"  --conninfo CONNINFO  PostgreSQL (default \"" DEFAULT_DATABASE "\";\n"
		"                       user gridwall_report unless CONNINFO names one);\n"
		"                       --database is the same\n"
		"Exit status: 0 when rebuilt, or with --check when the table equals the\n"
		"rebuild; 1 when --check found a difference or the database failed\n"
		"(then nothing was changed); 2 on a usage error.\n",
	},
	{
		"feed", gridctl_feed,
		"[--area CODE] [--endpoint E] [--snapshot-endpoint E] [--no-snapshot]"
		" [--timeout-ms T] [--retries R] [--count N] [--json]",
		"Prints reportd's aggregate snapshots (counts per area and day, no\n"
		"personal data): first the current totals of every area of the day\n"
		"under CODE, asked of reportd's snapshot socket (each area once), then\n"
		"the updates as they are published, until interrupted. Updates the\n"
		"snapshot already holds (seq at or below its seq) are skipped; when the\n"
		"feed reconnects (reportd restarted) a new snapshot is printed. Standard\n"
		"error names each snapshot's day, size and seq.\n"
		"  --area CODE             area code prefix, e.g. 440605 (default: all)\n"
		"  --endpoint E            reportd's feed PUB socket (default " DEFAULT_FEED_ENDPOINT ")\n"
		"  --snapshot-endpoint E   reportd's snapshot ROUTER\n"
		"                          (default " DEFAULT_SNAPSHOT_ENDPOINT ")\n"
		"  --no-snapshot           no snapshot: only what is published from now on\n"
		"  --timeout-ms T          wait this long for the feed's connection and for\n"
		"                          a snapshot before asking again (default 2000)\n"
		"  --retries R             ask again this many times (default 2)\n"
		"  --count N               exit after N snapshots (snapshot lines included)\n"
		"  --json                  one JSON object per snapshot instead of text;\n"
		"                          those of a snapshot have \"snapshot\":true\n"
		"If the snapshot socket stays silent, that is said on standard error and\n"
		"the feed is followed without a snapshot.\n"
		"Exit status: 0 when interrupted or after --count, 1 when reportd\n"
		"refused the snapshot (an unknown area, say), 2 on a usage error.\n",
	},
	{
		"keygen", gridctl_keygen,
		"--name NAME [--district CODE] [--out DIR] | --server --name NAME [--out DIR]",
		"Makes a CurveZMQ key pair and writes it as DIR/NAME.key (public_key\n"
		"and secret_key, mode 0600: it stays on the device, or with ingestd\n"
		"for --server) and DIR/NAME.pub (public_key, and district). A device's\n"
		"NAME.pub goes into ingestd's curve_devices_dir, which admits it by\n"
		"that name; the server's public key is what devices are given with\n"
		"--server-key. Existing files are never overwritten.\n"
		"  --name NAME      device or server name: A-Z a-z 0-9 . _ -, at most 63\n"
		"  --district CODE  the device's district code, e.g. 440605\n"
		"  --out DIR        where to write the two files (default: .)\n"
		"  --server         a key pair for ingestd rather than a device\n"
		"Exit status: 0 when both files were written, 1 when they could not\n"
		"be (one exists already, say), 2 on a usage error.\n",
	},
};

#define S_NCMDS (sizeof(s_cmds) / sizeof(s_cmds[0]))

bool
gridctl_area_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return s[n] == '\0' && n < AREA_CODE_MAX;
}

/* The table row of a subcommand, or NULL. */
static const struct gridctl_cmd *
s_find(const char *name)
{
	for (size_t i = 0; i < S_NCMDS; i++)
		if (strcmp(s_cmds[i].name, name) == 0)
			return &s_cmds[i];
	return NULL;
}

/* The overview: one synopsis line per subcommand. */
static int
s_usage_all(FILE *f, int status)
{
	fprintf(f, "usage: gridctl COMMAND [OPTIONS]\n"
	           "       gridctl COMMAND --help\n\ncommands:\n");
	for (size_t i = 0; i < S_NCMDS; i++)
		fprintf(f, "  gridctl %s %s\n", s_cmds[i].name, s_cmds[i].synopsis);
	return status;
}

/* The synopsis of one subcommand, with its help when it was asked for. */
int
gridctl_usage(const char *name, FILE *f, int status)
{
	char word[32];
	const struct gridctl_cmd *cmd;

	/* "rules replay" is the replay of the command "rules". */
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(name, " "), name);
	cmd = s_find(word);

	if (cmd == NULL)
		return s_usage_all(f, status);
	fprintf(f, "usage: gridctl %s %s\n", cmd->name, cmd->synopsis);
	if (status == GRIDCTL_EXIT_OK)
		fprintf(f, "\n%s", cmd->help);
	else
		fprintf(f, "(gridctl %s --help says more)\n", cmd->name);
	return status;
}

/* Parses a whole decimal number in [min, max]. */
bool
gridctl_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int
gridctl_options(const char *cmd, int argc, char **argv, const struct option *longopts,
                gridctl_option_fn set, void *opts, int *first_arg)
{
	int c, idx = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		if (c == 'h')
			return gridctl_usage(cmd, stdout, GRIDCTL_EXIT_OK);
		if (c == '?' || c == ':') {
			gridctl_err(cmd, "unknown option or missing value: %s", argv[optind - 1]);
			return gridctl_usage(cmd, stderr, GRIDCTL_EXIT_USAGE);
		}
		if (!set(c, optarg, opts)) {
			gridctl_err(cmd, "bad value for --%s: %s", longopts[idx].name, optarg ? optarg : "");
			return gridctl_usage(cmd, stderr, GRIDCTL_EXIT_USAGE);
		}
	}
	if (first_arg != NULL)
		*first_arg = optind;
	else if (optind < argc) {
		gridctl_err(cmd, "unexpected argument: %s", argv[optind]);
		return gridctl_usage(cmd, stderr, GRIDCTL_EXIT_USAGE);
	}
	return -1;
}

/* Prints "gridctl CMD: message" on stderr. */
void
gridctl_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gridctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Dispatches to the subcommand named by argv[1]. */
int
main(int argc, char **argv)
{
	const struct gridctl_cmd *cmd;

	if (argc < 2)
		return s_usage_all(stderr, GRIDCTL_EXIT_USAGE);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return s_usage_all(stdout, GRIDCTL_EXIT_OK);
	if (strcmp(argv[1], "help") == 0)
		return argc > 2 ? gridctl_usage(argv[2], stdout, GRIDCTL_EXIT_OK)
		                : s_usage_all(stdout, GRIDCTL_EXIT_OK);
	cmd = s_find(argv[1]);
	if (cmd == NULL) {
		fprintf(stderr, "gridctl: unknown command \"%s\"\n", argv[1]);
		return s_usage_all(stderr, GRIDCTL_EXIT_USAGE);
	}
	return cmd->run(argc - 1, argv + 1);
}
