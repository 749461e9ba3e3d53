/* confine.c — see confine.h.  The check runs on what realpath() says, not
 * on the spelling: "a/../../x" and a symlink out of the tree are caught
 * alike.  Scenarios cannot make symlinks or rename files themselves, so
 * the window between this check and the open is not theirs to use. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hil/base/confine.h"

int confine_root(const char *dir, char *out, size_t cap)
{
	char buf[PATH_MAX];

	if (!realpath(dir, buf))
		return -1;
	if (strlen(buf) >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(out, buf);
	return 0;
}

static int inside(const char *p, const char *root)
{
	size_t n = strlen(root);

	if (n == 1 && root[0] == '/')
		return 1;
	return !strncmp(p, root, n) && (p[n] == 0 || p[n] == '/');
}

/* "/a/./b/../c" to "/a/c" on the spelling alone, in place.  The check on
 * the spelling comes first so that a path leading out is refused before
 * the file system is asked anything (no probing of what exists there). */
static void normalise(char *p)
{
	char *out = p, *in = p;

	while (*in) {
		size_t n;
		while (*in == '/')
			in++;
		n = strcspn(in, "/");
		if (n == 0)
			break;
		if (n == 1 && in[0] == '.') {
			/* nothing */
		} else if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (out > p && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, n);
			out += n;
		}
		in += n;
	}
	if (out == p)
		*out++ = '/';
	*out = 0;
}

/* realpath() of an existing path, or of its directory plus the last
 * component when only the last component is missing. */
static int resolve(const char *full, char *out)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(full, '/'), *last = slash ? slash + 1 : full;

	struct stat st;

	if (realpath(full, out))
		return 0;
	if (errno != ENOENT)
		return -1;
	/* A dangling symlink: writing would create its target, wherever. */
	if (lstat(full, &st) == 0) {
		errno = ELOOP;
		return -1;
	}
	if (!*last || !strcmp(last, ".") || !strcmp(last, "..")) {
		errno = ENOENT;
		return -1;
	}
	if (!slash)
		strcpy(dir, ".");
	else if (slash == full)
		strcpy(dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - full), full);
	if (!realpath(dir, out))
		return -1;
	if (strlen(out) + 1 + strlen(last) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (strcmp(out, "/"))
		strcat(out, "/");
	strcat(out, last);
	return 0;
}

int confine_resolve(const char *path, const char *base, const char *root, const char *root_name,
		    char *out, size_t cap, char *err, size_t errlen)
{
	char full[PATH_MAX], real[PATH_MAX], rroot[PATH_MAX];
	int n;

	if (!*path || strlen(path) >= PATH_MAX / 2) {
		snprintf(err, errlen, "'%.200s': not a usable path", path);
		return -1;
	}
	n = path[0] == '/' || !base ? snprintf(full, sizeof full, "%s", path)
				    : snprintf(full, sizeof full, "%s/%s", base, path);
	if (n < 0 || (size_t)n >= sizeof full) {
		snprintf(err, errlen, "'%.200s': path too long", path);
		return -1;
	}
	if (confine_root(root, rroot, sizeof rroot) < 0) {
		snprintf(err, errlen, "'%.200s': %s: %s", path, root, strerror(errno));
		return -1;
	}
	if (full[0] != '/') {
		char cwd[PATH_MAX / 2];
		if (!getcwd(cwd, sizeof cwd) || snprintf(real, sizeof real, "%s/%s", cwd, full) >= (int)sizeof real) {
			snprintf(err, errlen, "'%.200s': path too long", path);
			return -1;
		}
		strcpy(full, real);
	}
	normalise(full);
	if (!inside(full, rroot)) {
		snprintf(err, errlen, "'%.200s' is outside %.100s %.300s", path, root_name, rroot);
		return -1;
	}
	if (resolve(full, real) < 0) {
		snprintf(err, errlen, "'%.200s': %s", path, strerror(errno));
		return -1;
	}
	if (!inside(real, rroot)) {
		snprintf(err, errlen, "'%.200s' is outside %.100s %.300s (it resolves to %.300s)", path,
			 root_name, rroot, real);
		return -1;
	}
	if (strlen(real) >= cap) {
		snprintf(err, errlen, "'%.200s': path too long", path);
		return -1;
	}
	strcpy(out, real);
	return 0;
}
