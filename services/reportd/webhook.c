/*
 * Webhooks (docs/webhooks.md): each event is queued once for every URL of
 * the hooks file whose area covers its grid, and sent by a libcurl multi
 * handle on the daemon's loop, in the shape of libcurl's multi-uv example:
 * libcurl names the sockets to watch (one uv_poll_t each) and the timeout
 * it wants (one uv_timer_t), and is called back with
 * curl_multi_socket_action(). A second timer wakes the deliveries that
 * wait out their backoff.
 *
 * Each URL has its queue and at most one request in flight, so its
 * deliveries arrive in the order they were posted; at most
 * WEBHOOK_MAX_IN_FLIGHT requests are in flight in all, the URLs taking
 * turns. A reload keeps the queues of the URLs it still names, and drops
 * the others': personal data goes to no URL the office has taken out of
 * the file. Every delivery is also on one list in posting order, so that a
 * full queue drops the oldest. Logs name a URL by its host and its line in
 * the hooks file only: a bot's key often sits in the path or the query,
 * and the body (personal data) is never logged.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>

#include "area.h"
#include "grow.h"
#include "log.h"
#include "webhook.h"

#define URL_MAX 2048
#define HOST_MAX 320
#define EVENT_MAX 32
#define ALERT_ID_MAX 40
#define DROP_LOG_EVERY_MS 10000

/* The settings lines of a hooks file, or their defaults. */
struct settings {
	unsigned attempts;
	unsigned backoff_ms;
	unsigned backoff_max_ms;
	unsigned timeout_ms;
	unsigned max_queued;
};

/* One settings line: its name, its bounds, where it goes. */
struct setting_spec {
	const char *name;
	unsigned min;
	unsigned max;
	size_t offset;
};

static const struct setting_spec setting_specs[] = {
	{ "attempts", 1, 100, offsetof(struct settings, attempts) },
	{ "backoff_ms", 1, 3600000, offsetof(struct settings, backoff_ms) },
	{ "backoff_max_ms", 1, 3600000, offsetof(struct settings, backoff_max_ms) },
	{ "timeout_ms", 1, 600000, offsetof(struct settings, timeout_ms) },
	{ "max_queued", 1, 1000000, offsetof(struct settings, max_queued) },
};
#define NSETTINGS (sizeof(setting_specs) / sizeof(setting_specs[0]))

/* One line "AREA_CODE URL" as read from the file. */
struct hook_line {
	char area[AREA_CODE_MAX];
	char *url;
	unsigned line;
};

/* A hooks file as read, before it replaces the current one. */
struct hooks_file {
	struct settings set;
	struct hook_line *lines;
	size_t n;
	size_t cap;
};

/* The text of one event, shared by its deliveries. */
struct body {
	unsigned refs;
	size_t len;
	char text[];
};

struct target;

/* One event for one URL, waiting, backing off, or in flight. */
struct delivery {
	struct delivery *prev;           /* the target's queue, oldest first */
	struct delivery *next;
	struct delivery *older;          /* every delivery, in posting order */
	struct delivery *newer;
	struct target *target;
	struct body *body;
	char event[EVENT_MAX];
	unsigned attempts;               /* made so far */
	uint64_t due;                    /* loop time at which the next attempt may start */
	CURL *easy;                      /* while in flight */
	struct curl_slist *headers;      /* while in flight */
};

/* One URL and its queue; its head is the delivery in flight or next. */
struct target {
	char *url;
	char host[HOST_MAX];             /* host:port, what logs show of the URL */
	unsigned line;                   /* its first line in the hooks file */
	struct delivery *head;
	struct delivery *tail;
	bool busy;                       /* the head is in flight */
	bool hooked;                     /* named by the current hooks file */
	uint64_t mark;                   /* the last post queued here */
};

/* One hook of the current file. */
struct hook {
	char area[AREA_CODE_MAX];
	size_t area_len;
	struct target *target;
};

/* A socket libcurl asked us to watch. */
struct sock {
	uv_poll_t poll;                  /* first: the handle's address is ours */
	struct webhooks *w;
	curl_socket_t fd;
	struct sock *prev;
	struct sock *next;
};

/* The hooks, their URLs' queues, and libcurl on the loop. */
struct webhooks {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t curl_timer;           /* the timeout libcurl asked for */
	uv_timer_t retry_timer;          /* the next delivery due after its backoff */
	struct settings set;
	struct hook *hooks;
	size_t nhooks;
	struct target **targets;
	size_t ntargets;
	size_t targets_cap;
	size_t turn;                     /* the target whose turn it is to start */
	struct delivery *oldest;
	struct delivery *newest;
	struct sock *socks;
	uint64_t posts;
	uint64_t drop_logged_at;
	struct webhook_stats stats;
	unsigned open_handles;           /* uv handles not yet closed */
	bool closing;
};

/* Writes "path:line: message" (line 0: "path: message") into err. */
static bool
s_fail(char *err, size_t errlen, const char *path, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%u: %s", path, line, msg);
	else
		snprintf(err, errlen, "%s: %s", path, msg);
	return false;
}

/* The defaults of every setting. */
static void
s_settings_default(struct settings *set)
{
	set->attempts = WEBHOOK_ATTEMPTS;
	set->backoff_ms = WEBHOOK_BACKOFF_MS;
	set->backoff_max_ms = WEBHOOK_BACKOFF_MAX_MS;
	set->timeout_ms = WEBHOOK_TIMEOUT_MS;
	set->max_queued = WEBHOOK_MAX_QUEUED;
}

/*
 * Checks that url is http:// or https:// with a host, and writes "host:port"
 * (the port the scheme implies when none is written) into host. libcurl
 * alone would take "https:///x" as the host x.
 */
static bool
s_url_host(const char *url, char *host, size_t hostlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *name = NULL, *port = NULL;
	size_t skip = 0;
	bool ok = false;

	if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	if (u != NULL && skip > 0 && url[skip] != '/' && url[skip] != '\0' && strlen(url) <= URL_MAX &&
	    curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
	    curl_url_get(u, CURLUPART_HOST, &name, 0) == CURLUE_OK && name[0] != '\0' &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		snprintf(host, hostlen, "%s:%s", name, port);
		ok = true;
	}
	curl_free(scheme);
	curl_free(name);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/* Reads a settings line "NAME VALUE" into hf; false with err set. */
static bool
s_parse_setting(struct hooks_file *hf, unsigned *seen, const char *name, const char *value,
                const char *path, unsigned line, char *err, size_t errlen)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting_spec *s = &setting_specs[i];
		unsigned long v;
		char *end = "";

		if (strcmp(name, s->name) != 0)
			continue;
		if (*seen & (1u << i))
			return s_fail(err, errlen, path, line, "%s is set twice", name);
		errno = 0;
		v = value != NULL && value[0] >= '0' && value[0] <= '9' ? strtoul(value, &end, 10) : 0;
		if (value == NULL || v < s->min || v > s->max || errno != 0 || *end != '\0')
			return s_fail(err, errlen, path, line, "%s must be a whole number from %u to %u",
			              name, s->min, s->max);
		*(unsigned *)((char *)&hf->set + s->offset) = (unsigned)v;
		*seen |= 1u << i;
		return true;
	}
	return s_fail(err, errlen, path, line, "expected \"AREA_CODE URL\" or a setting (attempts, "
	              "backoff_ms, backoff_max_ms, timeout_ms, max_queued), not \"%.40s\"", name);
}

/* Reads a hook line "AREA_CODE URL" into hf; false with err set. */
static bool
s_parse_hook(struct hooks_file *hf, const char *area, const char *url,
             const char *path, unsigned line, char *err, size_t errlen)
{
	char host[HOST_MAX];
	struct hook_line *h;

	if (area_level_of_code(area) == AREA_INVALID)
		return s_fail(err, errlen, path, line, "\"%.40s\" is not an area code "
		              "(4, 6, 9, 12 or 15 digits)", area);
	if (url == NULL)
		return s_fail(err, errlen, path, line, "a URL must follow the area code");
	if (!s_url_host(url, host, sizeof(host)))
		return s_fail(err, errlen, path, line, "the URL must be http:// or https:// with a host "
		              "(at most %d bytes)", URL_MAX);
	if (!grow((void **)&hf->lines, &hf->cap, hf->n + 1, sizeof(*hf->lines), 16))
		return s_fail(err, errlen, path, line, "out of memory");
	h = &hf->lines[hf->n];
	h->url = strdup(url);
	if (h->url == NULL)
		return s_fail(err, errlen, path, line, "out of memory");
	snprintf(h->area, sizeof(h->area), "%s", area);
	h->line = line;
	hf->n++;
	return true;
}

/* Frees what a hooks file as read holds. */
static void
s_hooks_file_free(struct hooks_file *hf)
{
	for (size_t i = 0; i < hf->n; i++)
		free(hf->lines[i].url);
	free(hf->lines);
	memset(hf, 0, sizeof(*hf));
}

/*
 * Splits a line into at most three words at blanks; a word starting with
 * '#' ends the line. Returns how many words there are (3 means too many).
 */
static int
s_split(char *line, char *words[3])
{
	int n = 0;
	char *save = NULL;

	for (char *word = strtok_r(line, " \t\r\n", &save); word != NULL && word[0] != '#';
	     word = strtok_r(NULL, " \t\r\n", &save)) {
		words[n++] = word;
		if (n == 3)
			break;
	}
	for (int i = n; i < 3; i++)
		words[i] = NULL;
	return n;
}

/* Reads a hooks file into hf (zeroed here); false with err naming path or path:line. */
static bool
s_read_file(const char *path, struct hooks_file *hf, char *err, size_t errlen)
{
	FILE *f;
	char *buf = NULL, *words[3];
	size_t size = 0;
	unsigned line = 0, seen = 0;
	struct stat st;
	bool ok = true;

	memset(hf, 0, sizeof(*hf));
	s_settings_default(&hf->set);
	f = fopen(path, "r");
	if (f == NULL)
		return s_fail(err, errlen, path, 0, "cannot open the hooks file: %s", strerror(errno));
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
		log_warn("webhooks: %s is readable by everyone, and a hook's URL often holds a bot's "
		         "key: chmod o-r it", path);
	while (ok && getline(&buf, &size, f) >= 0) {
		int n;

		line++;
		n = s_split(buf, words);
		if (n == 0)
			continue;
		if (n == 3)
			ok = s_fail(err, errlen, path, line, "unexpected \"%.40s\" after two words "
			            "(a comment starts with '#')", words[2]);
		else if (words[0][0] >= '0' && words[0][0] <= '9')
			ok = s_parse_hook(hf, words[0], words[1], path, line, err, errlen);
		else
			ok = s_parse_setting(hf, &seen, words[0], words[1], path, line, err, errlen);
	}
	if (ok && ferror(f))
		ok = s_fail(err, errlen, path, 0, "cannot read the hooks file: %s", strerror(errno));
	free(buf);
	fclose(f);
	if (!ok)
		s_hooks_file_free(hf);
	return ok;
}

/* Takes a reference to a body. */
static struct body *
s_body_ref(struct body *b)
{
	b->refs++;
	return b;
}

/* Drops a reference to a body; the last one frees it. */
static void
s_body_unref(struct body *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

/* The target for a URL, or NULL. */
static struct target *
s_target_find(struct webhooks *w, const char *url)
{
	for (size_t i = 0; i < w->ntargets; i++)
		if (strcmp(w->targets[i]->url, url) == 0)
			return w->targets[i];
	return NULL;
}

/* A new target for a URL, not hooked yet, added to the list; NULL when memory is short. */
static struct target *
s_target_new(struct webhooks *w, const char *url)
{
	struct target *t;

	if (!grow((void **)&w->targets, &w->targets_cap, w->ntargets + 1, sizeof(*w->targets), 8))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->url = strdup(url);
	if (t->url == NULL || !s_url_host(url, t->host, sizeof(t->host))) {
		free(t->url);
		free(t);
		return NULL;
	}
	w->targets[w->ntargets++] = t;
	return t;
}

/* Removes a delivery that is not in flight from its queues and frees it. */
static void
s_remove(struct webhooks *w, struct delivery *d)
{
	struct target *t = d->target;

	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		t->head = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	else
		t->tail = d->prev;
	if (d->older != NULL)
		d->older->newer = d->newer;
	else
		w->oldest = d->newer;
	if (d->newer != NULL)
		d->newer->older = d->older;
	else
		w->newest = d->older;
	w->stats.queued--;
	s_body_unref(d->body);
	free(d);
}

/* Cancels a delivery's request in flight, if it has one; the delivery stays queued. */
static void
s_cancel(struct webhooks *w, struct delivery *d)
{
	if (d->easy == NULL)
		return;
	curl_multi_remove_handle(w->multi, d->easy);
	curl_easy_cleanup(d->easy);
	curl_slist_free_all(d->headers);
	d->easy = NULL;
	d->headers = NULL;
	d->target->busy = false;
	w->stats.in_flight--;
}

/* Drops what is queued for a target whose hooks are gone: no more data goes there. */
static void
s_drop_unhooked(struct webhooks *w, struct target *t)
{
	size_t n = 0;

	while (t->head != NULL) {
		s_cancel(w, t->head);
		s_remove(w, t->head);
		n++;
	}
	if (n == 0)
		return;
	w->stats.dropped += n;
	log_info("webhooks: %zu deliveries to %s dropped: no hook names its URL any more", n, t->host);
}

/* Frees the targets no hook names and nothing is queued for. */
static void
s_sweep(struct webhooks *w)
{
	size_t kept = 0;

	for (size_t i = 0; i < w->ntargets; i++) {
		struct target *t = w->targets[i];

		if (t->hooked || t->head != NULL) {
			w->targets[kept++] = t;
			continue;
		}
		free(t->url);
		free(t);
	}
	w->ntargets = kept;
	if (w->turn >= kept)
		w->turn = 0;
}

/*
 * Makes a hooks file as read the current one: its settings, and its hooks
 * on the targets of their URLs (kept across reloads, with their queues;
 * the queues of the URLs no longer named are dropped). False when memory
 * is short; then nothing has changed.
 */
static bool
s_apply(struct webhooks *w, const struct hooks_file *hf)
{
	struct hook *hooks = calloc(hf->n ? hf->n : 1, sizeof(*hooks));

	if (hooks == NULL)
		return false;
	for (size_t i = 0; i < hf->n; i++) {
		struct target *t = s_target_find(w, hf->lines[i].url);

		if (t == NULL && (t = s_target_new(w, hf->lines[i].url)) == NULL) {
			free(hooks);
			s_sweep(w);         /* the new targets are not hooked yet */
			return false;
		}
		snprintf(hooks[i].area, sizeof(hooks[i].area), "%s", hf->lines[i].area);
		hooks[i].area_len = strlen(hooks[i].area);
		hooks[i].target = t;
	}
	for (size_t i = 0; i < w->ntargets; i++)
		w->targets[i]->hooked = false;
	for (size_t i = hf->n; i-- > 0;) {
		hooks[i].target->hooked = true;
		hooks[i].target->line = hf->lines[i].line;    /* the first line naming it */
	}
	for (size_t i = 0; i < w->ntargets; i++)
		if (!w->targets[i]->hooked)
			s_drop_unhooked(w, w->targets[i]);
	free(w->hooks);
	w->hooks = hooks;
	w->nhooks = hf->n;
	w->set = hf->set;
	w->stats.hooks = hf->n;
	s_sweep(w);
	return true;
}

/* Reads and applies a hooks file (NULL: none, no hooks); false with err set, nothing changed. */
static bool
s_load(struct webhooks *w, const char *path, char *err, size_t errlen)
{
	struct hooks_file hf;
	bool ok;

	if (path == NULL) {
		memset(&hf, 0, sizeof(hf));
		s_settings_default(&hf.set);
		path = "no hooks file";
	} else if (!s_read_file(path, &hf, err, errlen))
		return false;
	ok = s_apply(w, &hf);
	if (ok)
		log_info("webhooks: %zu hooks to %zu URLs from %s", w->nhooks, w->ntargets, path);
	else
		s_fail(err, errlen, path, 0, "out of memory");
	s_hooks_file_free(&hf);
	return ok;
}

/* Drops the oldest delivery not in flight, the queue being full. */
static void
s_drop_oldest(struct webhooks *w)
{
	struct delivery *d = w->oldest;
	uint64_t now = uv_now(w->loop);

	while (d != NULL && d->easy != NULL)
		d = d->newer;
	if (d == NULL)
		return;
	w->stats.dropped++;
	if (w->stats.dropped == 1 || now - w->drop_logged_at >= DROP_LOG_EVERY_MS) {
		log_warn("webhooks: queue full (%u deliveries): dropping the oldest, to %s "
		         "(hooks line %u); %llu dropped so far", w->set.max_queued, d->target->host,
		         d->target->line, (unsigned long long)w->stats.dropped);
		w->drop_logged_at = now;
	}
	s_remove(w, d);
}

/* Writes the alert_id of a body, if it has one, into buf ("" otherwise). */
static void
s_alert_id(const struct body *b, char *buf, size_t len)
{
	json_t *doc = json_loadb(b->text, b->len, 0, NULL);
	json_t *id = json_object_get(doc, "alert_id");

	buf[0] = '\0';
	if (json_is_integer(id))
		snprintf(buf, len, "%lld", (long long)json_integer_value(id));
	else if (json_is_string(id) && strspn(json_string_value(id), "0123456789abcdefABCDEF-") ==
	         strlen(json_string_value(id)))
		snprintf(buf, len, "%s", json_string_value(id));
	json_decref(doc);
}

/* An attempt failed for the reason given: backs off, or gives up after the last one. */
static void
s_attempt_failed(struct webhooks *w, struct delivery *d, const char *why)
{
	struct target *t = d->target;
	char id[ALERT_ID_MAX];
	unsigned wait;

	w->stats.failed++;
	if (d->attempts >= w->set.attempts) {
		s_alert_id(d->body, id, sizeof(id));
		log_warn("webhooks: gave up on the %s event%s%s to %s (hooks line %u) after %u attempts; "
		         "last: %s", d->event, id[0] ? " of alert " : "", id, t->host, t->line,
		         d->attempts, why);
		w->stats.given_up++;
		s_remove(w, d);
		return;
	}
	wait = webhooks_backoff_ms(w->set.backoff_ms, w->set.backoff_max_ms, d->attempts);
	d->due = uv_now(w->loop) + wait;
	log_info("webhooks: attempt %u of %u to %s (hooks line %u) failed: %s; retrying in %u ms",
	         d->attempts, w->set.attempts, t->host, t->line, why, wait);
}

/* libcurl's answer body: read and forgotten. */
static size_t
s_discard(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;
}

/* The request headers of an event; NULL when memory is short. */
static struct curl_slist *
s_headers(const char *event)
{
	char line[EVENT_MAX + 32];
	const char *lines[] = { "Content-Type: application/json", line, "Expect:" };
	struct curl_slist *h = NULL, *more;

	snprintf(line, sizeof(line), "X-Gridwall-Event: %s", event);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		more = curl_slist_append(h, lines[i]);
		if (more == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = more;
	}
	return h;
}

/* Starts the head of a target's queue; false (nothing started) on a libcurl failure. */
static bool
s_start(struct webhooks *w, struct delivery *d)
{
	struct curl_slist *h = s_headers(d->event);
	CURL *e = curl_easy_init();
	bool ok = h != NULL && e != NULL &&
	          curl_easy_setopt(e, CURLOPT_URL, d->target->url) == CURLE_OK &&
	          curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
	          curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	          curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)w->set.timeout_ms) == CURLE_OK &&
	          curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
	          curl_easy_setopt(e, CURLOPT_USERAGENT, "gridwall-reportd") == CURLE_OK &&
	          curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body->len) == CURLE_OK &&
	          curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)d->body->text) == CURLE_OK &&
	          curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard) == CURLE_OK &&
	          curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)d) == CURLE_OK &&
	          curl_multi_add_handle(w->multi, e) == CURLM_OK;

	if (!ok) {
		curl_easy_cleanup(e);
		curl_slist_free_all(h);
		return false;
	}
	d->easy = e;
	d->headers = h;
	d->target->busy = true;
	w->stats.in_flight++;
	return true;
}

static void s_retry_cb(uv_timer_t *timer);

/*
 * Starts what may start, the targets taking turns, up to the limit in
 * flight; then sets the retry timer for the next delivery due.
 */
static void
s_pump(struct webhooks *w)
{
	uint64_t now = uv_now(w->loop), next = UINT64_MAX;
	size_t n;

	if (w->closing)
		return;
	n = w->ntargets;
	for (size_t k = 0; k < n && w->stats.in_flight < WEBHOOK_MAX_IN_FLIGHT; k++) {
		size_t i = (w->turn + k) % n;
		struct target *t = w->targets[i];
		struct delivery *d = t->head;

		if (t->busy || d == NULL || d->due > now)
			continue;
		if (s_start(w, d)) {
			w->turn = (i + 1) % n;
			continue;
		}
		d->attempts++;
		s_attempt_failed(w, d, "libcurl could not start the request");
	}
	for (size_t i = 0; i < w->ntargets; i++) {
		const struct target *t = w->targets[i];

		if (t->busy || t->head == NULL)
			continue;
		if (t->head->due > now && t->head->due < next)
			next = t->head->due;
		else if (t->head->due <= now && w->stats.in_flight < WEBHOOK_MAX_IN_FLIGHT)
			next = now;     /* a give-up above made the next one ready */
	}
	if (next == UINT64_MAX)
		uv_timer_stop(&w->retry_timer);
	else
		uv_timer_start(&w->retry_timer, s_retry_cb, next - now, 0);
}

/* The retry timer fired: a delivery's backoff is over. */
static void
s_retry_cb(uv_timer_t *timer)
{
	s_pump(timer->data);
}

/* A request ended: delivered on a 2xx, else a failed attempt. */
static void
s_done(struct webhooks *w, CURL *e, CURLcode result)
{
	struct delivery *d = NULL;
	char *priv = NULL;
	long status = 0;
	char why[64];

	curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(w->multi, e);
	curl_easy_cleanup(e);
	d = (struct delivery *)priv;
	if (d == NULL)
		return;
	curl_slist_free_all(d->headers);
	d->headers = NULL;
	d->easy = NULL;
	d->target->busy = false;
	w->stats.in_flight--;
	d->attempts++;
	if (result == CURLE_OK && status >= 200 && status < 300) {
		log_debug("webhooks: delivered to %s (hooks line %u): HTTP %ld", d->target->host,
		          d->target->line, status);
		w->stats.delivered++;
		s_remove(w, d);
		return;
	}
	if (result != CURLE_OK)
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(result));
	else
		snprintf(why, sizeof(why), "HTTP %ld", status);
	s_attempt_failed(w, d, why);
}

/* Handles the requests libcurl has finished, then starts what may start. */
static void
s_check_multi(struct webhooks *w)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE) {
			CURL *e = m->easy_handle;
			CURLcode result = m->data.result;

			s_done(w, e, result);
		}
	}
	s_pump(w);
}

/* Frees w once its last uv handle has closed. */
static void
s_handle_closed(struct webhooks *w)
{
	if (--w->open_handles > 0 || !w->closing)
		return;
	free(w);
	curl_global_cleanup();
}

/* Close callback of a socket's poll handle. */
static void
s_sock_closed(uv_handle_t *handle)
{
	struct sock *s = (struct sock *)handle;
	struct webhooks *w = s->w;

	free(s);
	s_handle_closed(w);
}

/* Stops watching a socket and forgets it. */
static void
s_sock_close(struct webhooks *w, struct sock *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		w->socks = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	uv_close((uv_handle_t *)&s->poll, s_sock_closed);
}

/* A watched socket is ready (or in error): tells libcurl. */
static void
s_poll_cb(uv_poll_t *poll, int status, int events)
{
	struct sock *s = (struct sock *)poll;
	struct webhooks *w = s->w;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(w->multi, s->fd, flags, &running);
	s_check_multi(w);
}

/* libcurl's CURLMOPT_SOCKETFUNCTION: what to watch on one socket. */
static int
s_socket_fn(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct webhooks *w = userp;
	struct sock *s = socketp;
	int events = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(w->multi, fd, NULL);
			s_sock_close(w, s);
		}
		return 0;
	}
	if (s == NULL) {
		if (w->closing)
			return 0;
		s = calloc(1, sizeof(*s));
		if (s == NULL || uv_poll_init_socket(w->loop, &s->poll, fd) != 0) {
			log_error("webhooks: cannot watch a socket: %s", s ? "uv_poll_init_socket failed"
			                                                   : "out of memory");
			free(s);
			return -1;
		}
		s->w = w;
		s->fd = fd;
		s->next = w->socks;
		if (w->socks != NULL)
			w->socks->prev = s;
		w->socks = s;
		w->open_handles++;
		curl_multi_assign(w->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	if (events != 0)
		uv_poll_start(&s->poll, events, s_poll_cb);
	else
		uv_poll_stop(&s->poll);
	return 0;
}

/* The timeout libcurl asked for has passed. */
static void
s_curl_timer_cb(uv_timer_t *timer)
{
	struct webhooks *w = timer->data;
	int running;

	curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	s_check_multi(w);
}

/* libcurl's CURLMOPT_TIMERFUNCTION: when to call it back (-1: never). */
static int
s_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct webhooks *w = userp;

	(void)multi;
	if (timeout_ms < 0 || w->closing)
		uv_timer_stop(&w->curl_timer);
	else
		uv_timer_start(&w->curl_timer, s_curl_timer_cb, (uint64_t)timeout_ms, 0);
	return 0;
}

/* Close callback of the two timers. */
static void
s_timer_closed(uv_handle_t *handle)
{
	s_handle_closed(handle->data);
}

/* Reads the hooks file, then sets up libcurl's multi handle and the two timers. */
struct webhooks *
webhooks_new(uv_loop_t *loop, const char *path, char *err, size_t errlen)
{
	struct webhooks *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		snprintf(err, errlen, "webhooks: out of memory");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "webhooks: curl_global_init failed");
		free(w);
		return NULL;
	}
	w->loop = loop;
	s_settings_default(&w->set);
	w->hooks = calloc(1, sizeof(*w->hooks));
	w->multi = curl_multi_init();
	if (w->hooks == NULL || w->multi == NULL ||
	    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, s_socket_fn) != CURLM_OK ||
	    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w) != CURLM_OK ||
	    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, s_timer_fn) != CURLM_OK ||
	    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w) != CURLM_OK) {
		snprintf(err, errlen, "webhooks: cannot set up a libcurl multi handle");
		goto fail;
	}
	if (path != NULL && !s_load(w, path, err, errlen))
		goto fail;
	uv_timer_init(loop, &w->curl_timer);
	uv_timer_init(loop, &w->retry_timer);
	w->curl_timer.data = w;
	w->retry_timer.data = w;
	w->open_handles = 2;
	return w;
fail:
	for (size_t i = 0; i < w->ntargets; i++) {
		free(w->targets[i]->url);
		free(w->targets[i]);
	}
	free(w->targets);
	free(w->hooks);
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	free(w);
	curl_global_cleanup();
	return NULL;
}

/* Applies the file again; what it makes ready starts now. */
bool
webhooks_reload(struct webhooks *w, const char *path, char *err, size_t errlen)
{
	if (!s_load(w, path, err, errlen))
		return false;
	s_pump(w);
	return true;
}

/* Whether an event name is safe in a header: 1 to 31 of [a-z_]. */
static bool
s_event_ok(const char *event)
{
	size_t n = event != NULL ? strlen(event) : 0;

	return n > 0 && n < EVENT_MAX && strspn(event, "abcdefghijklmnopqrstuvwxyz_") == n;
}

/* Queues the event for each URL whose hooks cover grid, then starts what may start. */
void
webhooks_post(struct webhooks *w, const char *grid, const char *event, const char *json)
{
	struct body *b = NULL;
	size_t len;

	if (w == NULL || w->closing || grid == NULL || json == NULL)
		return;
	if (!s_event_ok(event)) {
		log_error("webhooks: an event name must be 1 to 31 of a-z and '_': event not sent");
		return;
	}
	w->posts++;
	len = strlen(json);
	for (size_t i = 0; i < w->nhooks; i++) {
		struct hook *h = &w->hooks[i];
		struct target *t = h->target;
		struct delivery *d;

		if (strncmp(grid, h->area, h->area_len) != 0 || t->mark == w->posts)
			continue;
		t->mark = w->posts;
		if (b == NULL && (b = malloc(sizeof(*b) + len + 1)) != NULL) {
			b->refs = 1;    /* this post's, while it queues */
			b->len = len;
			memcpy(b->text, json, len + 1);
		}
		d = b != NULL ? calloc(1, sizeof(*d)) : NULL;
		if (d == NULL) {
			log_error("webhooks: out of memory: a %s event to %s dropped", event, t->host);
			w->stats.dropped++;
			continue;
		}
		d->target = t;
		d->body = s_body_ref(b);
		snprintf(d->event, sizeof(d->event), "%s", event);
		d->prev = t->tail;
		if (t->tail != NULL)
			t->tail->next = d;
		else
			t->head = d;
		t->tail = d;
		d->older = w->newest;
		if (w->newest != NULL)
			w->newest->newer = d;
		else
			w->oldest = d;
		w->newest = d;
		if (++w->stats.queued > w->set.max_queued)
			s_drop_oldest(w);
	}
	s_body_unref(b);
	s_pump(w);
}

/* A copy of the counters. */
void
webhooks_stats(const struct webhooks *w, struct webhook_stats *out)
{
	*out = w->stats;
}

/* Cancels and drops everything, then closes the handles; the last close frees w. */
void
webhooks_free(struct webhooks **wp)
{
	struct webhooks *w = wp != NULL ? *wp : NULL;

	if (w == NULL)
		return;
	*wp = NULL;
	w->closing = true;
	if (w->stats.queued > 0)
		log_info("webhooks: %zu deliveries not sent (%zu in flight cancelled)", w->stats.queued,
		         w->stats.in_flight);
	while (w->oldest != NULL) {
		s_cancel(w, w->oldest);
		s_remove(w, w->oldest);
	}
	/* Stop watching before libcurl closes the sockets; it will not call back about them. */
	while (w->socks != NULL) {
		curl_multi_assign(w->multi, w->socks->fd, NULL);
		s_sock_close(w, w->socks);
	}
	curl_multi_cleanup(w->multi);
	w->multi = NULL;
	for (size_t i = 0; i < w->ntargets; i++) {
		free(w->targets[i]->url);
		free(w->targets[i]);
	}
	free(w->targets);
	free(w->hooks);
	w->targets = NULL;
	w->hooks = NULL;
	w->ntargets = w->nhooks = 0;
	uv_close((uv_handle_t *)&w->curl_timer, s_timer_closed);
	uv_close((uv_handle_t *)&w->retry_timer, s_timer_closed);
}

/* first_ms doubled for each failure after the first, at most max_ms. */
unsigned
webhooks_backoff_ms(unsigned first_ms, unsigned max_ms, unsigned failures)
{
	uint64_t ms = first_ms;

	for (unsigned i = 1; i < failures && ms < max_ms; i++)
		ms *= 2;
	return ms < max_ms ? (unsigned)ms : max_ms;
}
