/* util.c — file, time and number helpers of the harness. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hil/base/util.h"

/* Everything from fd, up to cap bytes (a file may shrink while read). */
static int read_all(int fd, uint8_t *p, size_t cap, size_t *got)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, p + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

/* O_NONBLOCK: opening a FIFO must not wait for a writer before fstat
 * can refuse it; it changes nothing for a regular file. */
int util_read_file(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), rc = -1, e;
	uint8_t *p = NULL;
	struct stat st;
	size_t n;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto out;
	}
	if (st.st_size > UTIL_READ_MAX) {
		errno = EFBIG;
		goto out;
	}
	if (!(p = malloc((size_t)st.st_size + 1)) || read_all(fd, p, (size_t)st.st_size, &n) < 0)
		goto out;
	p[n] = 0;
	*buf = p;
	*len = n;
	p = NULL;
	rc = 0;
out:
	e = errno;
	free(p);
	close(fd);
	errno = e;
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Make the rename itself durable: fsync the directory that holds path. */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	int fd, rc, e;

	if (n >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!slash) {
		strcpy(dir, ".");
	} else if (n == 0) {
		strcpy(dir, "/");
	} else {
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* The temporary file sits next to path, so rename() is atomic: a reader
 * (or a crash) sees the old contents or the new, never a mix.  Its mode
 * is 0644 less the umask: reports and state files are for everyone on a
 * CI host to read, and for nobody else to write. */
int util_write_file(const char *path, const void *buf, size_t len)
{
	static unsigned serial;
	char tmp[PATH_MAX];
	int fd, e;

	if (snprintf(tmp, sizeof tmp, "%s.tmp%ld.%u", path, (long)getpid(), serial++) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return -1;
	if (write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return sync_dir(path);
}

int64_t util_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t util_now_ms(void)
{
	return util_now_ns() / 1000000;
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A failing mkdir is fine when the directory is there anyway (EEXIST, but
 * also EROFS or EACCES on an existing parent); a file in the way is not
 * (EEXIST, as mkdir -p says). */
static int mkdir_one(const char *path)
{
	int err;

	if (mkdir(path, 0777) == 0)
		return 0;
	err = errno;
	if (is_dir(path))
		return 0;
	errno = err;
	return -1;
}

int util_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof buf) {
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir_one(buf) < 0)
			return -1;
		*p = '/';
	}
	return mkdir_one(buf);
}

int util_parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

int util_query_get(const char *query, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);

	for (const char *q = query; q && *q; q = strchr(q, '&'), q = q ? q + 1 : NULL) {
		const char *v;
		size_t n;

		if (strncmp(q, key, klen) || q[klen] != '=')
			continue;
		v = q + klen + 1;
		n = strcspn(v, "&");
		if (n >= cap)
			return -1; /* cut, it would name another file */
		memcpy(out, v, n);
		out[n] = 0;
		return 1;
	}
	return 0;
}

/* "a, b, c" of keys into buf. */
static void join_keys(const char *const *keys, char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; keys[i] && off < cap; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", keys[i]);
}

int util_query_check(const char *query, const char *const *keys, char *err, size_t errlen)
{
	char valid[256];

	for (const char *q = query; q && *q; q = strchr(q, '&'), q = q ? q + 1 : NULL) {
		size_t n = strcspn(q, "=&"), i;

		for (i = 0; keys[i] && (strlen(keys[i]) != n || strncmp(q, keys[i], n)); i++)
			;
		if (keys[i] && q[n] == '=')
			continue;
		join_keys(keys, valid, sizeof valid);
		if (keys[i])
			snprintf(err, errlen, "query key '%s' needs a value (%s=...)", keys[i], keys[i]);
		else
			snprintf(err, errlen, "unknown query key '%.*s' (valid: %s)", (int)(n > 64 ? 64 : n), q,
				 valid[0] ? valid : "none");
		return -1;
	}
	return 0;
}

int util_split_hostport(const char *arg, char *host, size_t cap, const char **port)
{
	const char *colon = strrchr(arg, ':');
	size_t n;

	if (!colon || colon == arg || !colon[1])
		return -1;
	n = (size_t)(colon - arg);
	if (arg[0] == '[' && n >= 2 && arg[n - 1] == ']') { /* [::1]:8080 */
		arg++;
		n -= 2;
	}
	if (n >= cap)
		return -1;
	memcpy(host, arg, n);
	host[n] = 0;
	*port = colon + 1;
	return 0;
}

volatile sig_atomic_t util_stop;

static void on_stop(int sig)
{
	util_stop = sig; /* which one: a runner exits 128 + it */
}

void util_stop_on_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void util_default_signals(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int util_rmtree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
