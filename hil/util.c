/* util.c — file, time and number helpers of the harness. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hil/util.h"

int util_read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;
	int rc = -1;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		goto out;
	if (!(p = malloc((size_t)n + 1)))
		goto out;
	if (fread(p, 1, (size_t)n, f) != (size_t)n) {
		errno = EIO;
		goto out;
	}
	p[n] = 0;
	*buf = p;
	*len = (size_t)n;
	p = NULL;
	rc = 0;
out:
	free(p);
	fclose(f);
	return rc;
}

int util_write_file(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!(f = fopen(tmp, "wb")))
		return -1;
	if (fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		unlink(tmp);
		return -1;
	}
	return rename(tmp, path);
}

int64_t util_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
		if (mkdir(buf, 0777) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0777) < 0 && errno != EEXIST)
		return -1;
	return 0;
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
			return 0;
		memcpy(out, v, n);
		out[n] = 0;
		return 1;
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
