/* bundle.c — the ustar writer and its suspicious reader (bundle.h).
 *
 * POSIX ustar (IEEE 1003.1-1988, the format `tar --format=ustar`
 * writes): 512-byte header blocks, the name split into prefix[155] and
 * name[100], sizes in octal, a checksum that counts its own field as
 * spaces, data padded to 512, two zero blocks at the end.  We write only
 * regular files; we read regular files and directories and refuse the
 * rest by name, so a bundle cannot make a link that a later member would
 * be written through. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hil/incident/bundle.h"
#include "hil/base/util.h"

#define BLOCK 512

/* Field offsets and sizes of a ustar header. */
enum { H_NAME = 0, H_MODE = 100, H_UID = 108, H_GID = 116, H_SIZE = 124, H_MTIME = 136, H_CHKSUM = 148,
       H_TYPE = 156, H_MAGIC = 257, H_VERSION = 263, H_PREFIX = 345 };

void bnd_free(bnd_t *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].name);
		free(b->v[i].data);
	}
	free(b->v);
	memset(b, 0, sizeof *b);
}

int bnd_name_ok(const char *name, char *why, size_t cap)
{
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+@=,/";
	size_t n = strlen(name);
	const char *c;

	if (!n || n > BND_NAME_MAX)
		return snprintf(why, cap, "an empty name or one over %d bytes", BND_NAME_MAX), -1;
	if (strspn(name, safe) != n)
		return snprintf(why, cap, "a character outside [A-Za-z0-9._-+@=,/] in the name"), -1;
	if (name[0] == '/')
		return snprintf(why, cap, "an absolute path"), -1;
	if (name[n - 1] == '/')
		return snprintf(why, cap, "a name ending in '/'"), -1;
	/* every component: not empty, not "." nor ".." */
	for (c = name; *c;) {
		size_t len = strcspn(c, "/");
		if (len == 0 && c[len] == '/')
			return snprintf(why, cap, "an empty path component (//)"), -1;
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return snprintf(why, cap, "a '%.*s' path component", (int)len, c), -1;
		c += len + (c[len] == '/');
	}
	return 0;
}

const bnd_member_t *bnd_find(const bnd_t *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->v[i].name, name))
			return &b->v[i];
	return NULL;
}

/* name, data (owned) appended; -1 with err (data freed). */
static int push(bnd_t *b, const char *name, uint8_t *data, size_t n, char *err, size_t errlen)
{
	char why[128];

	if (bnd_name_ok(name, why, sizeof why) < 0) {
		snprintf(err, errlen, "member '%.300s': %s", name, why);
		goto fail;
	}
	if (bnd_find(b, name)) {
		snprintf(err, errlen, "member '%.300s' twice", name);
		goto fail;
	}
	if (b->n == BND_MEMBERS_MAX || n > (size_t)BND_MEMBER_MAX || b->total + n > (size_t)BND_TOTAL_MAX) {
		snprintf(err, errlen, "member '%.300s': over the limits (%d members, %ld MiB a member, %ld MiB in all)",
			 name, BND_MEMBERS_MAX, BND_MEMBER_MAX >> 20, BND_TOTAL_MAX >> 20);
		goto fail;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 32;
		bnd_member_t *v = realloc(b->v, cap * sizeof *v);
		if (!v)
			goto oom;
		b->v = v;
		b->cap = cap;
	}
	if (!(b->v[b->n].name = strdup(name)))
		goto oom;
	b->v[b->n].data = data;
	b->v[b->n++].n = n;
	b->total += n;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	free(data);
	return -1;
}

int bnd_add(bnd_t *b, const char *name, const void *data, size_t n, char *err, size_t errlen)
{
	uint8_t *copy = malloc(n + 1);

	if (!copy)
		return snprintf(err, errlen, "out of memory"), -1;
	if (n)
		memcpy(copy, data, n);
	copy[n] = 0;
	return push(b, name, copy, n, err, errlen);
}

int bnd_add_file(bnd_t *b, const char *name, const char *path, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t n;

	if (util_read_file(path, &buf, &n) < 0)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	return push(b, name, buf, n, err, errlen);
}

static void octal(uint8_t *field, size_t width, unsigned long long v)
{
	/* width - 1 digits and a NUL, as GNU tar writes them */
	snprintf((char *)field, width, "%0*llo", (int)width - 1, v);
}

static unsigned checksum(const uint8_t *h)
{
	unsigned sum = 0;

	for (int i = 0; i < BLOCK; i++)
		sum += i >= H_CHKSUM && i < H_CHKSUM + 8 ? ' ' : h[i];
	return sum;
}

/* The header of a regular file: name split at a '/' into prefix and name
 * when it is over 100 bytes. */
static int header(uint8_t *h, const char *name, size_t size)
{
	size_t n = strlen(name), cut = 0;

	memset(h, 0, BLOCK);
	if (n > 100) {
		for (cut = n - 1; cut > 0 && (name[cut] != '/' || n - cut - 1 > 100 || cut > 155); cut--)
			;
		if (!cut)
			return -1;
		memcpy(h + H_PREFIX, name, cut);
		name += cut + 1;
		n -= cut + 1;
	}
	memcpy(h + H_NAME, name, n);
	octal(h + H_MODE, 8, 0644);
	octal(h + H_UID, 8, 0);
	octal(h + H_GID, 8, 0);
	octal(h + H_SIZE, 12, size);
	octal(h + H_MTIME, 12, 0);
	h[H_TYPE] = '0';
	memcpy(h + H_MAGIC, "ustar", 6);
	memcpy(h + H_VERSION, "00", 2);
	snprintf((char *)h + H_CHKSUM, 8, "%06o", checksum(h));
	h[H_CHKSUM + 7] = ' ';
	return 0;
}

int bnd_write(const bnd_t *b, const char *path, char *err, size_t errlen)
{
	size_t cap = 2 * BLOCK, off = 0;
	uint8_t *out;
	int rc;

	for (size_t i = 0; i < b->n; i++)
		cap += BLOCK + (b->v[i].n + BLOCK - 1) / BLOCK * BLOCK;
	if (!(out = calloc(1, cap)))
		return snprintf(err, errlen, "out of memory"), -1;
	for (size_t i = 0; i < b->n; i++) {
		if (header(out + off, b->v[i].name, b->v[i].n) < 0) {
			free(out);
			return snprintf(err, errlen, "member '%s': a name ustar cannot split", b->v[i].name), -1;
		}
		off += BLOCK;
		if (b->v[i].n)
			memcpy(out + off, b->v[i].data, b->v[i].n);
		off += (b->v[i].n + BLOCK - 1) / BLOCK * BLOCK;
	}
	rc = util_write_file(path, out, cap);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	free(out);
	return rc;
}

/* An octal field: digits, then NULs or spaces.  -1 if anything else (a
 * base-256 size, garbage). */
static int parse_octal(const uint8_t *f, size_t width, unsigned long long *v)
{
	size_t i = 0;

	*v = 0;
	while (i < width && f[i] == ' ')
		i++;
	if (i == width || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
		if (*v >> 60)
			return -1;
		*v = *v * 8 + (unsigned)(f[i] - '0');
	}
	for (; i < width; i++)
		if (f[i] != 0 && f[i] != ' ')
			return -1;
	return 0;
}

static const char *type_name(uint8_t t)
{
	switch (t) {
	case '1': return "a hard link";
	case '2': return "a symbolic link";
	case '3': case '4': return "a device";
	case '6': return "a FIFO";
	case 'x': case 'g': return "a pax extended header";
	case 'L': case 'K': return "a GNU long name";
	case 'S': return "a GNU sparse file";
	default: return "an unknown member type";
	}
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int bnd_read(bnd_t *b, const char *path, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t n = 0, off = 0;
	char name[BND_NAME_MAX + 2], why[128];
	struct stat st;
	int ended = 0, rc = -1;

	memset(b, 0, sizeof *b);
	/* the size first: a huge file is refused before it is read */
	if (stat(path, &st) < 0)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	if (S_ISREG(st.st_mode) && st.st_size > BND_TOTAL_MAX + 4 * BLOCK)
		return snprintf(err, errlen, "%s: %lld bytes, over the %ld MiB a bundle may have", path,
				(long long)st.st_size, BND_TOTAL_MAX >> 20), -1;
	if (util_read_file(path, &buf, &n) < 0)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	while (!ended) {
		const uint8_t *h = buf + off;
		unsigned long long size, sum;
		size_t pn;

		if (n - off < BLOCK) {
			snprintf(err, errlen, "%s: truncated at byte %zu (no end-of-archive blocks)", path, off);
			goto out;
		}
		if (all_zero(h, BLOCK)) { /* the end: the rest must be zero too */
			if (!all_zero(buf + off, n - off)) {
				snprintf(err, errlen, "%s: data after the end-of-archive block at byte %zu", path, off);
				goto out;
			}
			ended = 1;
			break;
		}
		if (memcmp(h + H_MAGIC, "ustar", 5)) {
			snprintf(err, errlen, "%s: not a ustar archive (no ustar header at byte %zu)", path, off);
			goto out;
		}
		if (parse_octal(h + H_CHKSUM, 8, &sum) < 0 || sum != checksum(h)) {
			snprintf(err, errlen, "%s: header checksum wrong at byte %zu (a damaged bundle)", path, off);
			goto out;
		}
		pn = strnlen((const char *)h + H_PREFIX, 155);
		snprintf(name, sizeof name, "%.*s%s%.*s", (int)pn, (const char *)h + H_PREFIX, pn ? "/" : "",
			 (int)strnlen((const char *)h + H_NAME, 100), (const char *)h + H_NAME);
		if (h[H_TYPE] == '5' && strlen(name) > 1 && name[strlen(name) - 1] == '/')
			name[strlen(name) - 1] = 0; /* a directory's trailing slash */
		/* `tar -cf B .` names members ./x: the same place as x */
		while (!strncmp(name, "./", 2))
			memmove(name, name + 2, strlen(name + 2) + 1);
		if (h[H_TYPE] == '5' && !strcmp(name, ".")) {
			off += BLOCK;
			continue;
		}
		if (bnd_name_ok(name, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: member '%.300s' refused: %s", path, name, why);
			goto out;
		}
		if (h[H_TYPE] != '0' && h[H_TYPE] != 0 && h[H_TYPE] != '5') {
			snprintf(err, errlen, "%s: member '%s' refused: %s (a bundle holds plain files only)", path,
				 name, type_name(h[H_TYPE]));
			goto out;
		}
		if (parse_octal(h + H_SIZE, 12, &size) < 0) {
			snprintf(err, errlen, "%s: member '%s': a size field that is not octal", path, name);
			goto out;
		}
		if (size > (unsigned long long)BND_MEMBER_MAX) {
			snprintf(err, errlen, "%s: member '%s' refused: %llu bytes, over the %ld MiB a member may have",
				 path, name, size, BND_MEMBER_MAX >> 20);
			goto out;
		}
		off += BLOCK;
		if (size > n - off) {
			snprintf(err, errlen, "%s: truncated in member '%s' (%llu bytes, %zu there)", path, name, size,
				 n - off);
			goto out;
		}
		if (h[H_TYPE] != '5' && bnd_add(b, name, buf + off, (size_t)size, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", path, why);
			goto out;
		}
		off += (size_t)(size + BLOCK - 1) / BLOCK * BLOCK;
		if (off > n) {
			snprintf(err, errlen, "%s: truncated in the padding of member '%s'", path, name);
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	if (rc < 0)
		bnd_free(b);
	return rc;
}

/* dir/name's parent directories, each created (0700) or an existing
 * directory — never followed through a link (lstat). */
static int parents(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;

	for (const char *s = strchr(name, '/'); s; s = strchr(s + 1, '/')) {
		snprintf(path, sizeof path, "%s/%.*s", dir, (int)(s - name), name);
		if (mkdir(path, 0700) == 0)
			continue;
		if (errno != EEXIST || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			return snprintf(err, errlen, "%s: cannot make the directory: %s", path,
					errno == EEXIST ? "a file is there" : strerror(errno)), -1;
	}
	return 0;
}

int bnd_unpack(const bnd_t *b, const char *dir, char *err, size_t errlen)
{
	char path[4096];

	for (size_t i = 0; i < b->n; i++) {
		const bnd_member_t *m = &b->v[i];
		int fd;

		if (snprintf(path, sizeof path, "%s/%s", dir, m->name) >= (int)sizeof path)
			return snprintf(err, errlen, "%s: path too long", m->name), -1;
		if (parents(dir, m->name, err, errlen) < 0)
			return -1;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
		for (size_t w = 0; w < m->n;) {
			ssize_t r = write(fd, m->data + w, m->n - w);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				close(fd);
				return -1;
			}
			w += (size_t)r;
		}
		if (close(fd) < 0)
			return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
	}
	return 0;
}
