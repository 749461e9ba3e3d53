/* bundle.h — an incident bundle: one ustar archive, written and read by
 * ourselves (docs/incidents.md).
 *
 * A bundle comes from somebody else's machine, so reading one is reading
 * hostile input: every member is checked before anything is written —
 * a plain file or a directory (no links, devices or tar extensions), a
 * relative name of safe characters without "." or ".." components, a
 * size under the limits, a valid header checksum, and nothing cut short.
 * Unpacking then writes only below a directory it is given, which must
 * be empty, creating every file with O_EXCL|O_NOFOLLOW. */
#ifndef BUNDLE_H
#define BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define BND_MEMBER_MAX (64L << 20)   /* bytes in one member */
#define BND_TOTAL_MAX (256L << 20)   /* bytes in the whole archive */
#define BND_MEMBERS_MAX 4096
#define BND_NAME_MAX 255             /* ustar: prefix 155 + '/' + name 100 */

typedef struct bnd_member {
	char *name;
	uint8_t *data; /* NUL-terminated for convenience (not counted in n) */
	size_t n;
} bnd_member_t;

/* Members in archive order; a writer collects them, a reader fills them. */
typedef struct bnd {
	bnd_member_t *v;
	size_t n, cap, total;
} bnd_t;

void bnd_free(bnd_t *b);
/* 0 if name may be a member's name; -1 with why. */
int bnd_name_ok(const char *name, char *why, size_t cap);

/* ---- writing ---- */
/* A copy of data as member name (refused as bnd_name_ok refuses, or
 * twice, or over the limits).  -1 with err. */
int bnd_add(bnd_t *b, const char *name, const void *data, size_t n, char *err, size_t errlen);
/* The regular file path as member name. */
int bnd_add_file(bnd_t *b, const char *name, const char *path, char *err, size_t errlen);
/* The archive, written atomically to path (mtime 0, owner 0, mode 0644:
 * the same members give the same bytes).  -1 with err. */
int bnd_write(const bnd_t *b, const char *path, char *err, size_t errlen);

/* ---- reading ---- */
/* Read and check the whole archive at path; -1 with err "PATH: what"
 * naming the member at fault.  Directory entries are checked, not kept. */
int bnd_read(bnd_t *b, const char *path, char *err, size_t errlen);
const bnd_member_t *bnd_find(const bnd_t *b, const char *name);
/* Every member below dir (an existing, empty directory).  -1 with err. */
int bnd_unpack(const bnd_t *b, const char *dir, char *err, size_t errlen);

#endif
