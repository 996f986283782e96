/*
 * The command office's web dashboard: static files (HTML, JavaScript, CSS)
 * from the dashboard_dir folder, at GET / (index.html) and /dashboard/NAME.
 * Only names of [a-z0-9._-/] without ".." are served, only regular files
 * of a known type; anything else is a 404. The files are small and read
 * on the loop at each request (the page is loaded once per session).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dashboard.h"
#include "log.h"

#define DASHBOARD_PREFIX "/dashboard/"
#define DASHBOARD_FILE_MAX (4u << 20)   /* bytes; a larger file is not served */

/* The page's scripts and styles come from reportd only; nothing is loaded from elsewhere. */
#define DASHBOARD_HEADERS \
	"Cache-Control: no-cache\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"Content-Security-Policy: default-src 'self'; img-src 'self' data:; frame-ancestors 'none'\r\n"

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ NULL, NULL },
};

/* The Content-Type of a file name by its extension, or NULL if not served. */
static const char *
s_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return NULL;
	for (int i = 0; types[i].ext != NULL; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* Whether a relative name may be served: [a-z0-9._-/], no "..", no empty or hidden part. */
static bool
s_name_ok(const char *name)
{
	const char *part = name;

	if (*name == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != strlen(name))
		return false;
	for (const char *p = name;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == part || *part == '.')      /* "//", a leading or trailing "/", "..", ".x" */
				return false;
			if (*p == '\0')
				return true;
			part = p + 1;
		}
	}
}

/* Reads a regular file whole into a malloc'ed buffer; NULL if it cannot (errno kept for the log). */
static char *
s_read(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int saved;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > DASHBOARD_FILE_MAX) {
		errno = EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*len = got;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

/* Answers with the file name (relative, checked) of the dashboard folder, or a 404. */
static void
s_serve(struct reportd *r, const char *name, struct http_response *resp)
{
	const struct reportd_config *cfg = r->daemon->config;
	const char *type = s_name_ok(name) ? s_type(name) : NULL;
	char path[4096];
	char *body;
	size_t len = 0;

	if (type == NULL || !*cfg->dashboard_dir ||
	    snprintf(path, sizeof(path), "%s/%s", cfg->dashboard_dir, name) >= (int)sizeof(path)) {
		http_respond_error(resp, 404, "no such file");
		return;
	}
	body = s_read(path, &len);
	if (body == NULL) {
		if (errno != ENOENT)
			log_warn("dashboard: cannot serve %s: %s", path, strerror(errno));
		http_respond_error(resp, 404, "no such file");
		return;
	}
	http_respond_body(resp, 200, type, body, len);
	resp->extra_headers = DASHBOARD_HEADERS;
}

bool
dashboard_route(struct reportd *r, const struct http_request *req, struct http_response *resp)
{
	const char *path = req->path;
	bool root = strcmp(path, "/") == 0 || strcmp(path, "/dashboard") == 0 ||
	            strcmp(path, DASHBOARD_PREFIX) == 0;

	if (!root && strncmp(path, DASHBOARD_PREFIX, strlen(DASHBOARD_PREFIX)) != 0)
		return false;
	if (strcmp(req->method, "GET") != 0)
		http_respond_error(resp, 405, "GET only");
	else
		s_serve(r, root ? "index.html" : path + strlen(DASHBOARD_PREFIX), resp);
	return true;
}
