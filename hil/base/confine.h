/* confine.h — keep a path a scenario names inside a directory.
 *
 * A scenario is code from a stranger: every file it can make the harness
 * read or write (io.open, w:open's profile= and state=, w:fixture, its
 * run directory) is resolved the way the kernel will resolve it — "..",
 * symlinks and all — and must land inside a root that the harness chose. */
#ifndef CONFINE_H
#define CONFINE_H

#include <stddef.h>

/* Resolve path (relative to base when it is relative; base NULL = the
 * current directory) and check that it lies inside root (itself resolved;
 * root_name is how errors call it).
 * The last component need not exist (a file about to be written), but
 * its directory must, and if it exists it is resolved too.  0 with the
 * resolved path in out; -1 with err saying which path and why. */
int confine_resolve(const char *path, const char *base, const char *root, const char *root_name,
		    char *out, size_t cap, char *err, size_t errlen);

/* A directory's resolved absolute path into out (cap >= PATH_MAX);
 * -1 with errno set. */
int confine_root(const char *dir, char *out, size_t cap);

#endif
