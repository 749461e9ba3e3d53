/* write.c — putting a report in place.
 *
 * CI picks report files up even when the run died, so a report must be
 * either the previous complete one or the new complete one: it is written
 * to a temporary file in the same directory, synced, then renamed over
 * the old name (rename is atomic within a file system). */
#include "reports/results.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p.  A failing mkdir is fine when the directory is there anyway
 * (EEXIST, but also EROFS or EACCES on an existing parent). */
static int make_dirs(const char *dir)
{
	char *path = strdup(dir), *p;
	int rc = -1, err = 0;

	if (!path)
		return -1;
	for (p = path + 1; ; p++) {
		int last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(path, 0777) != 0 && !is_dir(path)) {
			err = errno;
			goto out;
		}
		if (last)
			break;
		*p = '/';
	}
	rc = 0;
out:
	free(path);
	if (rc)
		errno = err;
	return rc;
}

static char *join(const char *dir, const char *dot, const char *name,
		  const char *suffix)
{
	size_t n = strlen(dir) + strlen(dot) + strlen(name) + strlen(suffix) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s/%s%s%s", dir, dot, name, suffix);
	return s;
}

/* Writes, flushes and syncs; closes f in every case. */
static int write_and_close(FILE *f, const report_writer_t *w, const res_run_t *run)
{
	int rc = w->write(f, run);
	int err = errno;

	if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
		rc = -1;
		err = errno;
	}
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	if (rc)
		errno = err ? err : EIO;
	return rc;
}

int report_write_file(const report_writer_t *w, const res_run_t *run, const char *dir)
{
	char *path = NULL, *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, rc = -1, err = 0;

	if (!w || !run || !w->filename || !w->write) {
		errno = EINVAL;
		return -1;
	}
	if (!dir || !*dir)
		dir = ".";
	if (make_dirs(dir))
		return -1;
	path = join(dir, "", w->filename, "");
	/* Hidden, so a glob for the report never picks up a half one. */
	tmp = join(dir, ".", w->filename, ".XXXXXX");
	if (!path || !tmp) {
		err = ENOMEM;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	/* mkstemp makes it 0600; a report is for everyone on the CI host. */
	if (fchmod(fd, 0644) != 0 || !(f = fdopen(fd, "w"))) {
		err = errno;
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (write_and_close(f, w, run) != 0 || rename(tmp, path) != 0) {
		err = errno;
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(path);
	free(tmp);
	if (rc)
		errno = err;
	return rc;
}
