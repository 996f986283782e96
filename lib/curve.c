/*
 * CurveZMQ key files and socket set-up. A key file is read line by line by
 * hand rather than with inih so that every error can name its line and so
 * that nothing but the three known names is accepted: a key file that says
 * something unexpected is more likely a mistake (or a secret in the wrong
 * place) than something to ignore. Secret keys are wiped from memory as
 * soon as they have been handed to libzmq.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "curve.h"

/* A draft option in libzmq 4.3's header, present in Debian's build. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define S_LINE_MAX   256       /* longest line a key file may have */
#define S_DOMAIN_MAX 254       /* ZMQ_ZAP_DOMAIN is sent as a short string */

static const char s_z85_chars[] =
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* Whether libzmq can do Curve at all. */
bool
curve_available(char *err, size_t errlen)
{
	if (zmq_has("curve"))
		return true;
	snprintf(err, errlen, "this libzmq was built without CurveZMQ (libsodium)");
	return false;
}

/* Whether text is a usable Z85 key. */
bool
curve_key_text_valid(const char *text)
{
	uint8_t key[CURVE_KEY_LEN];

	return curve_key_decode(text, key);
}

/* Z85 text to 32 bytes, refusing anything but an exact 40-character encoding. */
bool
curve_key_decode(const char *text, uint8_t key[CURVE_KEY_LEN])
{
	char again[CURVE_KEY_TEXT_LEN + 1];

	if (text == NULL || strlen(text) != CURVE_KEY_TEXT_LEN ||
	    strspn(text, s_z85_chars) != CURVE_KEY_TEXT_LEN)
		return false;
	if (zmq_z85_decode(key, text) == NULL)
		return false;
	/* A group of five characters can stand for more than 32 bits: only exact encodings pass. */
	return zmq_z85_encode(again, key, CURVE_KEY_LEN) != NULL && strcmp(again, text) == 0;
}

/* Names become file names and ZAP user ids: a short, safe alphabet. */
bool
curve_name_valid(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;

	return len > 0 && len <= CURVE_NAME_MAX && name[0] != '.' &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* A district is an area code: digits only. */
bool
curve_district_valid(const char *code)
{
	size_t len = code != NULL ? strlen(code) : 0;

	return len > 0 && len <= CURVE_DISTRICT_MAX && strspn(code, "0123456789") == len;
}

/* Clears a key file from memory in a way the compiler may not drop. */
void
curve_keyfile_wipe(struct curve_keyfile *kf)
{
	explicit_bzero(kf, sizeof(*kf));
}

/* Strips blanks (and a CR) from both ends of s, in place. */
static char *
s_trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*end = '\0';
	return s;
}

/* Applies one "name = value" line to kf; false with a message (without the file and line). */
static bool
s_keyfile_line(char *line, enum curve_keyfile_kind kind, struct curve_keyfile *kf,
               unsigned *seen, char *why, size_t whylen)
{
	char *eq = strchr(line, '=');
	char *name, *value;
	char *dst;
	size_t dstlen;
	unsigned bit;

	if (line[0] == '[') {
		snprintf(why, whylen, "sections are not used in a key file");
		return false;
	}
	if (eq == NULL) {
		snprintf(why, whylen, "expected \"name = value\"");
		return false;
	}
	*eq = '\0';
	name = s_trim(line);
	value = s_trim(eq + 1);
	if (strcmp(name, "public_key") == 0) {
		bit = 1, dst = kf->public_key, dstlen = sizeof(kf->public_key);
	} else if (strcmp(name, "secret_key") == 0) {
		if (kind == CURVE_KEYFILE_PUBLIC) {
			snprintf(why, whylen, "a secret_key has no place in a public key file");
			return false;
		}
		bit = 2, dst = kf->secret_key, dstlen = sizeof(kf->secret_key);
	} else if (strcmp(name, "district") == 0) {
		bit = 4, dst = kf->district, dstlen = sizeof(kf->district);
	} else {
		/* Named only when it looks like a name: a mangled line may hold a secret. */
		bool plain = strlen(name) <= 20 && strspn(name, "abcdefghijklmnopqrstuvwxyz_") == strlen(name);

		snprintf(why, whylen, "unknown name%s%s%s (expected public_key, secret_key or district)",
		         plain ? " \"" : "", plain ? name : "", plain ? "\"" : "");
		return false;
	}
	if (*seen & bit) {
		snprintf(why, whylen, "%s given twice", name);
		return false;
	}
	*seen |= bit;
	if (bit == 4) {
		if (!curve_district_valid(value)) {
			snprintf(why, whylen, "district must be an area code of 1 to %d digits", CURVE_DISTRICT_MAX);
			return false;
		}
	} else if (!curve_key_text_valid(value)) {
		/* Never echo the value: it may be a (mistyped) secret. */
		snprintf(why, whylen, "%s is not a %d-character Z85 key (%zu characters%s)", name,
		         CURVE_KEY_TEXT_LEN, strlen(value),
		         strlen(value) == CURVE_KEY_TEXT_LEN ? ", not valid Z85" : "");
		return false;
	}
	snprintf(dst, dstlen, "%s", value);
	return true;
}

/*
 * Checks that an open key file is a regular file, and (private) that no one
 * but its owner may read it.
 */
static int
s_keyfile_mode(FILE *f, const char *path, bool private, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (private && (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: secret key file may be read by others (mode %04o); chmod 600 it",
		         path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* Reads and checks one key file, line by line. */
int
curve_keyfile_load(const char *path, enum curve_keyfile_kind kind,
                   struct curve_keyfile *kf, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned seen = 0;
	int lineno = 0;
	char why[160];
	char derived[CURVE_KEY_TEXT_LEN + 1];
	FILE *f;
	int rc = -1;

	memset(kf, 0, sizeof(*kf));
	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (s_keyfile_mode(f, path, false, err, errlen) != 0)
		goto out;
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *s;

		lineno++;
		if ((size_t)len > S_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, lineno, S_LINE_MAX);
			goto out;
		}
		if (strlen(line) != (size_t)len) {
			snprintf(err, errlen, "%s:%d: NUL byte in a text file", path, lineno);
			goto out;
		}
		s = s_trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (!s_keyfile_line(s, kind, kf, &seen, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	if (!(seen & 1)) {
		snprintf(err, errlen, "%s: no public_key line", path);
		goto out;
	}
	if (kind == CURVE_KEYFILE_SECRET) {
		if (!(seen & 2)) {
			snprintf(err, errlen, "%s: no secret_key line (is this a .pub file?)", path);
			goto out;
		}
		if (zmq_curve_public(derived, kf->secret_key) != 0 ||
		    strcmp(derived, kf->public_key) != 0) {
			snprintf(err, errlen, "%s: secret_key does not belong to public_key", path);
			goto out;
		}
		/* Checked last, so that a .pub given for a .key is called by its name. */
		if (s_keyfile_mode(f, path, true, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	fclose(f);
	explicit_bzero(derived, sizeof(derived));
	if (rc != 0)
		curve_keyfile_wipe(kf);
	return rc;
}

/* Writes text to a new file of mode mode; refuses an existing one. */
static int
s_write_new(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
		         errno == EEXIST ? "already exists, not overwritten" : strerror(errno));
		return -1;
	}
	/* The umask may have taken bits away; never added any. */
	if (fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* gridctl keygen: a fresh key pair as NAME.key and NAME.pub. */
int
curve_keys_write(const char *dir, const char *name, const char *district, bool server,
                 char *public_key, char *err, size_t errlen)
{
	char key_path[4096], pub_path[4096];
	char pub[CURVE_KEY_TEXT_LEN + 1], sec[CURVE_KEY_TEXT_LEN + 1];
	char key_text[512], pub_text[512];
	const char *what = server ? "server" : "device";
	int n1, n2, rc = -1;

	if (!curve_available(err, errlen))
		return -1;
	if (!curve_name_valid(name)) {
		snprintf(err, errlen, "bad name \"%s\": 1 to %d of A-Z a-z 0-9 . _ -, not starting with '.'",
		         name != NULL ? name : "", CURVE_NAME_MAX);
		return -1;
	}
	if (district != NULL && (server || !curve_district_valid(district))) {
		snprintf(err, errlen, server ? "a server key has no district"
		                             : "bad district \"%s\": an area code of digits", district);
		return -1;
	}
	n1 = snprintf(key_path, sizeof(key_path), "%s/%s.key", dir, name);
	n2 = snprintf(pub_path, sizeof(pub_path), "%s/%s.pub", dir, name);
	if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(key_path) || (size_t)n2 >= sizeof(pub_path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	/* Check both before writing either, so that a refusal leaves nothing half done. */
	if (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0) {
		snprintf(err, errlen, "%s: already exists, not overwritten",
		         access(key_path, F_OK) == 0 ? key_path : pub_path);
		return -1;
	}
	if (zmq_curve_keypair(pub, sec) != 0) {
		snprintf(err, errlen, "zmq_curve_keypair: %s", zmq_strerror(errno));
		return -1;
	}
	snprintf(key_text, sizeof(key_text),
	         "# gridwall CurveZMQ secret key of %s %s, written by gridctl keygen.\n"
	         "# Keep it secret (mode 0600); only %s.pub goes to the server.\n"
	         "public_key = %s\n"
	         "secret_key = %s\n", what, name, name, pub, sec);
	snprintf(pub_text, sizeof(pub_text),
	         "# gridwall CurveZMQ public key of %s %s, written by gridctl keygen.\n"
	         "%s"
	         "public_key = %s\n"
	         "%s%s%s",
	         what, name,
	         server ? "# Devices are given it with --server-key.\n"
	                : "# Copy it into ingestd's curve_devices_dir to admit the device.\n",
	         pub, district != NULL ? "district = " : "", district != NULL ? district : "",
	         district != NULL ? "\n" : "");
	if (s_write_new(key_path, key_text, 0600, err, errlen) != 0)
		goto out;
	if (s_write_new(pub_path, pub_text, 0644, err, errlen) != 0) {
		unlink(key_path);
		goto out;
	}
	if (public_key != NULL)
		memcpy(public_key, pub, sizeof(pub));
	rc = 0;
out:
	explicit_bzero(sec, sizeof(sec));
	explicit_bzero(key_text, sizeof(key_text));
	return rc;
}

/* The server key a client was given: Z85 text or a key file. */
int
curve_public_key_arg(const char *arg, char *public_key, char *err, size_t errlen)
{
	struct curve_keyfile kf;
	size_t len = strlen(arg);
	enum curve_keyfile_kind kind;

	if (curve_key_text_valid(arg)) {
		memcpy(public_key, arg, CURVE_KEY_TEXT_LEN + 1);
		return 0;
	}
	if (access(arg, F_OK) != 0) {
		/* Not echoed: it might be a secret key given by mistake. */
		snprintf(err, errlen, "server key: neither a 40-character Z85 key nor an existing file");
		return -1;
	}
	kind = len > 4 && strcmp(arg + len - 4, ".key") == 0 ? CURVE_KEYFILE_SECRET : CURVE_KEYFILE_PUBLIC;
	if (curve_keyfile_load(arg, kind, &kf, err, errlen) != 0)
		return -1;
	memcpy(public_key, kf.public_key, CURVE_KEY_TEXT_LEN + 1);
	curve_keyfile_wipe(&kf);
	return 0;
}

/* Sets a binary Curve key option from its Z85 text. */
static int
s_set_key(void *zsock, int option, const char *text, const char *what, char *err, size_t errlen)
{
	uint8_t key[CURVE_KEY_LEN];
	int rc = -1;

	if (!curve_key_decode(text, key))
		snprintf(err, errlen, "%s is not a %d-character Z85 key", what, CURVE_KEY_TEXT_LEN);
	else if (zmq_setsockopt(zsock, option, key, sizeof(key)) != 0)
		snprintf(err, errlen, "cannot set the %s: %s", what, zmq_strerror(errno));
	else
		rc = 0;
	explicit_bzero(key, sizeof(key));
	return rc;
}

/* A device's socket: Curve client of the server, with the device's pair. */
int
curve_client_setup(void *zsock, const char *server_public, const char *key_file,
                   char *err, size_t errlen)
{
	struct curve_keyfile kf;
	int rc = -1;

	if (!curve_available(err, errlen))
		return -1;
	if (server_public == NULL || !curve_key_text_valid(server_public)) {
		snprintf(err, errlen, "server public key is not a %d-character Z85 key", CURVE_KEY_TEXT_LEN);
		return -1;
	}
	if (curve_keyfile_load(key_file, CURVE_KEYFILE_SECRET, &kf, err, errlen) != 0)
		return -1;
	if (s_set_key(zsock, ZMQ_CURVE_SERVERKEY, server_public, "server public key", err, errlen) == 0 &&
	    s_set_key(zsock, ZMQ_CURVE_PUBLICKEY, kf.public_key, "public key", err, errlen) == 0 &&
	    s_set_key(zsock, ZMQ_CURVE_SECRETKEY, kf.secret_key, "secret key", err, errlen) == 0)
		rc = 0;
	curve_keyfile_wipe(&kf);
	return rc;
}

/* The devices' socket: Curve server that asks ZAP about every client. */
int
curve_server_setup(void *zsock, const char *key_file, const char *zap_domain,
                   char *err, size_t errlen)
{
	struct curve_keyfile kf;
	int one = 1, enforced = 0;
	size_t len = sizeof(enforced);
	int rc = -1;

	if (!curve_available(err, errlen))
		return -1;
	if (zap_domain == NULL || zap_domain[0] == '\0' || strlen(zap_domain) > S_DOMAIN_MAX) {
		snprintf(err, errlen, "ZAP domain must be 1 to %d characters", S_DOMAIN_MAX);
		return -1;
	}
	if (curve_keyfile_load(key_file, CURVE_KEYFILE_SECRET, &kf, err, errlen) != 0)
		return -1;
	if (zmq_setsockopt(zsock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0) {
		snprintf(err, errlen, "cannot set ZMQ_CURVE_SERVER: %s", zmq_strerror(errno));
		goto out;
	}
	if (s_set_key(zsock, ZMQ_CURVE_SECRETKEY, kf.secret_key, "server secret key", err, errlen) != 0)
		goto out;
	if (zmq_setsockopt(zsock, ZMQ_ZAP_DOMAIN, zap_domain, strlen(zap_domain)) != 0) {
		snprintf(err, errlen, "cannot set ZMQ_ZAP_DOMAIN: %s", zmq_strerror(errno));
		goto out;
	}
	/* Without it libzmq 4.3 admits every Curve client when no ZAP handler is bound. */
	if (zmq_setsockopt(zsock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one)) != 0 ||
	    zmq_getsockopt(zsock, ZMQ_ZAP_ENFORCE_DOMAIN, &enforced, &len) != 0 || enforced != 1) {
		snprintf(err, errlen, "this libzmq cannot enforce ZAP (ZMQ_ZAP_ENFORCE_DOMAIN): refusing to run"
		         " a Curve server that would admit any key");
		goto out;
	}
	rc = 0;
out:
	curve_keyfile_wipe(&kf);
	return rc;
}
