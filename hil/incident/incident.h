/* incident.h — what `mynahil incident` is made of (docs/incidents.md):
 * a run's command read back, the run made again in a directory of its
 * own, and two runs' verdicts and traces compared. */
#ifndef INCIDENT_H
#define INCIDENT_H

#include <stddef.h>

/* Shell words: a command line as runner_command writes it (words split
 * at blanks, '...' quoted, '\'' for a quote) into a NULL-terminated
 * malloc'd vector; NULL on unbalanced quotes or ENOMEM. */
char **inc_words(const char *line, size_t *n);
void inc_words_free(char **v);

/* Runs this program (argv[0] ignored) with cwd dir, MYNAHIL_LIB lib
 * (NULL: as it is) and its output into log, and waits at most
 * timeout_s (then SIGKILL).  The exit status, 128+N for a signal, -1 if
 * it could not start (err says why). */
int inc_run_self(char *const *argv, const char *dir, const char *lib, const char *log, int timeout_s,
		 char *err, size_t errlen);

/* A fresh directory under $TMPDIR (/tmp) into out; -1 with err. */
int inc_tempdir(char *out, size_t cap, char *err, size_t errlen);

/* Compare the recorded run (record.json and traces/ of a) with the one
 * made again (b); orig maps the replayed scenario files' names back to
 * the recorded (pairs: from, to; n pairs).  Prints what it finds to out;
 * 0 when every recorded run has the same verdict (status, reason,
 * expects) and the same trace (every record but its link), 1 at the
 * first divergence, -1 when a side cannot be read. */
int inc_compare(const char *a_record, const char *a_traces, const char *b_record, const char *b_traces,
		char *const *map, size_t nmap, void *out);

#endif
