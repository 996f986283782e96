/*
 * Fuzzes the config parser (lib/config.c over inih): the input up to its
 * first NUL byte is a config file, read from a path as the daemons read it
 * (a memfd, nothing on disk); each line after that NUL is a -s KEY=VALUE
 * override. The schema is the daemons' shared table and ingestd's section
 * with a key of each other type added, bounded and not, reloadable and
 * not. What loads is loaded again as a SIGHUP would (config_keep_fixed)
 * and printed as -n prints it; an error must be one line.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "fuzz.h"
#include "ingestd.h"

#define MAX_OVERRIDES 16

/* ingestd's config struct (services/ingestd/ingestd.h), and two more types of key. */
struct fuzz_config {
	struct ingest_config ingest;
	long offset;
	double ratio;
	double scale;
	bool enabled;
	bool verbose;
};

#define OWN(field) offsetof(struct fuzz_config, field)
#define INGEST(field) offsetof(struct fuzz_config, ingest.field)

/* ingestd's rows (services/ingestd/main.c, help cut short), then one of each other kind. */
static const struct config_key own_keys[] = {
	{ "max_batch_records", CONFIG_INT, "1000", 1, 100000, true, INGEST(max_batch_records), "batch" },
	{ "max_message_bytes", CONFIG_INT, "4194304", 1024, 268435456, false, INGEST(max_message_bytes), "frame" },
	{ "events_hwm", CONFIG_INT, "100000", 100, 10000000, false, INGEST(events_hwm), "hwm" },
	{ "retry_after_ms", CONFIG_INT, "1000", 10, 60000, true, INGEST(retry_after_ms), "retry" },
	{ "group_max_records", CONFIG_INT, "4000", 1, 1000000, true, INGEST(group_max_records), "group" },
	{ "max_inflight_records", CONFIG_INT, "50000", 1, 10000000, true, INGEST(max_inflight_records), "inflight" },
	{ "http_listen", CONFIG_STRING, "127.0.0.1:7710", 0, 0, false, INGEST(http_listen), "listen" },
	{ "http_max_body_bytes", CONFIG_INT, "4194304", 1024, 268435456, false, INGEST(http_max_body_bytes), "body" },
	{ "http_idle_timeout_ms", CONFIG_INT, "30000", 100, 3600000, false, INGEST(http_idle_timeout_ms), "idle" },
	{ "http_max_connections", CONFIG_INT, "1024", 1, 100000, false, INGEST(http_max_connections), "conns" },
	{ "security", CONFIG_STRING, "none", 0, 0, false, INGEST(security), "security" },
	{ "curve_server_key_file", CONFIG_STRING, "", 0, 0, false, INGEST(curve_server_key_file), "key" },
	{ "curve_devices_dir", CONFIG_STRING, "", 0, 0, true, INGEST(curve_devices_dir), "devices" },
	{ "offset", CONFIG_INT, "0", 0, 0, false, OWN(offset), "int, unbounded" },
	{ "ratio", CONFIG_DOUBLE, "0.5", 0, 1, false, OWN(ratio), "double, bounded" },
	{ "scale", CONFIG_DOUBLE, "1", 0, 0, true, OWN(scale), "double, unbounded" },
	{ "enabled", CONFIG_BOOL, "false", 0, 0, false, OWN(enabled), "bool" },
	{ "verbose", CONFIG_BOOL, "yes", 0, 0, true, OWN(verbose), "bool" },
	CONFIG_END,
};

static const struct config_schema schema = {
	"ingestd", daemon_shared_keys, own_keys, sizeof(struct fuzz_config),
};

/* Once, before the first input: quiet logs, and what the inputs share. */
FUZZ_INITIALIZE((void)0)

/* An error names what is wrong, on one line. */
static void
s_check_error(const char *err)
{
	FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
}

/* Each input, from libFuzzer; everything it allocates is freed before it returns. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t filelen = nul ? (size_t)(nul - data) : size;
	char *overrides[MAX_OVERRIDES], *rest = NULL, *line, *save = NULL;
	char path[64], err[512], *printed = NULL;
	struct fuzz_config *cfg, *fresh;
	size_t printedlen = 0;
	int noverrides = 0, fd;
	FILE *out;

	if (nul != NULL) {
		rest = fuzz_text(nul + 1, size - filelen - 1);
		for (line = strtok_r(rest, "\n", &save); line != NULL && noverrides < MAX_OVERRIDES;
		     line = strtok_r(NULL, "\n", &save))
			overrides[noverrides++] = line;
	}
	fd = fuzz_memfd(data, filelen, path, sizeof(path));
	err[0] = '\0';
	cfg = config_load(&schema, path, overrides, noverrides, err, sizeof(err));
	if (cfg == NULL) {
		s_check_error(err);
		goto out;
	}
	FUZZ_CHECK(cfg->ingest.max_batch_records >= 1 && cfg->ingest.max_batch_records <= 100000);
	FUZZ_CHECK(cfg->ratio >= 0 && cfg->ratio <= 1);
	FUZZ_CHECK(cfg->ingest.http_listen != NULL && cfg->ingest.shared.log_level != NULL);
	/* SIGHUP: the same file again (overrides come after it: it loads alone). */
	fresh = config_load(&schema, path, NULL, 0, err, sizeof(err));
	FUZZ_CHECK(fresh != NULL);
	config_keep_fixed(&schema, fresh, cfg);
	FUZZ_CHECK(strcmp(fresh->ingest.http_listen, cfg->ingest.http_listen) == 0);
	FUZZ_CHECK(fresh->enabled == cfg->enabled && fresh->offset == cfg->offset);
	config_free(&schema, fresh);
	out = open_memstream(&printed, &printedlen);
	FUZZ_CHECK(out != NULL);
	config_print(&schema, cfg, out);
	fclose(out);
	free(printed);
	config_free(&schema, cfg);
out:
	close(fd);
	free(rest);
	return 0;
}
