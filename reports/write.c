/* write.c — putting a report in place.
 *
 * CI picks report files up even when the run died, so a report must be
 * either the previous complete one or the new complete one: rendered in
 * memory, then written atomically (util_write_file: a temporary file in
 * the same directory, synced, renamed over the old name). */
#include "reports/results.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "hil/base/util.h"

int report_write_file(const report_writer_t *w, const res_run_t *run, const char *dir)
{
	char *path = NULL, *buf = NULL;
	size_t n = 0;
	FILE *f;
	int rc = -1, err = 0;

	if (!w || !run || !w->filename || !w->write) {
		errno = EINVAL;
		return -1;
	}
	if (!dir || !*dir)
		dir = ".";
	if (util_mkdirs(dir) < 0)
		return -1;
	/* Rendered whole in memory first: a writer that fails half way
	 * leaves the old report as it was. */
	if (!(f = open_memstream(&buf, &n)))
		return -1;
	if (w->write(f, run) != 0) {
		err = errno;
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0 || asprintf(&path, "%s/%s", dir, w->filename) < 0) {
		err = errno;
		path = NULL;
		goto out;
	}
	if (util_write_file(path, buf, n) < 0)
		err = errno;
	else
		rc = 0;
out:
	free(buf);
	free(path);
	if (rc)
		errno = err ? err : EIO;
	return rc;
}
