/*
 * What the libFuzzer targets of tests/fuzz share (docs/testing.md): a fixed
 * clock, the small city of the integration tests as an area tree, an input
 * as a path for the APIs that read files (a memfd: nothing is written to
 * disk), and checks that abort, which libFuzzer reports as a crash with
 * the input that caused it. Header-only: each target is one program.
 */
#ifndef GRIDWALL_FUZZ_H
#define GRIDWALL_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "area.h"
#include "log.h"

/* 2020-02-10T00:00:00Z: the clock every target validates against, so a run replays exactly. */
#define FUZZ_NOW ((time_t)1581292800)
/* ingestd's default max_batch_records. */
#define FUZZ_MAX_BATCH 1000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message when an invariant of the code under test does not hold. */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* Whether s is text a JSON reply can carry (jansson refuses anything else). */
static inline bool
fuzz_utf8(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;

	json_decref(j);
	return j != NULL;
}

/* The areas of tests/integration/fixture.sql; built once, kept for the run. */
static inline const struct area_tree *
fuzz_areas(void)
{
	static const struct { const char *code; enum area_level level; const char *name; } rows[] = {
		{ "4406", AREA_CITY, "佛山市" },
		{ "440605", AREA_DISTRICT, "南海区" },
		{ "440605001", AREA_TOWN, "桂城街道" },
		{ "440605001001", AREA_COMMUNITY, "翠颐社区" },
		{ "440605001001001", AREA_GRID, "第1网格" },
		{ "440606", AREA_DISTRICT, "顺德区" },
		{ "440606001", AREA_TOWN, "大良街道" },
		{ "440606001001", AREA_COMMUNITY, "新滘社区" },
		{ "440606001001001", AREA_GRID, "第1网格" },
	};
	static struct area_tree *tree;

	if (tree == NULL) {
		tree = area_tree_new();
		FUZZ_CHECK(tree != NULL);
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			FUZZ_CHECK(area_tree_add(tree, rows[i].code, rows[i].level, rows[i].name) == 0);
	}
	return tree;
}

/*
 * The bytes as a file, for an API that takes a path: an anonymous memfd,
 * named into path ("/proc/self/fd/N"). Returns the descriptor, to close.
 */
static inline int
fuzz_memfd(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
	int fd = memfd_create("gridwall-fuzz", MFD_CLOEXEC);
	size_t off = 0;
	ssize_t n;

	FUZZ_CHECK(fd >= 0);
	while (off < size) {
		n = write(fd, data + off, size - off);
		FUZZ_CHECK(n > 0);
		off += (size_t)n;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* A NUL-terminated copy of the input, as the servers keep a body or a file. */
static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_CHECK(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Quiet logs: the targets run millions of inputs, most of them refused. */
static inline void
fuzz_quiet(void)
{
	log_init("fuzz");
	log_set_level(LOG_LEVEL_ERROR);
}

/*
 * Defines LLVMFuzzerInitialize, run once before the first input: quiet
 * logs, then `setup` (what the inputs share).
 */
#define FUZZ_INITIALIZE(setup)                        \
	int LLVMFuzzerInitialize(int *argc, char ***argv) \
	{                                                 \
		(void)argc;                                   \
		(void)argv;                                   \
		fuzz_quiet();                                 \
		setup;                                        \
		return 0;                                     \
	}

#endif
