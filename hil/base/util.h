/* util.h — small helpers of the harness (not of the simulators). */
#ifndef UTIL_H
#define UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Largest file util_read_file reads: images, profiles, certificates. */
#define UTIL_READ_MAX (64L << 20)
/* Whole regular file into a malloc'd buffer (NUL-terminated for
 * convenience); -1 with errno set on failure: EISDIR for a directory,
 * EINVAL for anything else that is not a regular file (device, FIFO,
 * socket), EFBIG above UTIL_READ_MAX. */
int util_read_file(const char *path, uint8_t **buf, size_t *len);
/* Replace path atomically and durably: a temporary file in the same
 * directory, written, fsync'ed, renamed over path, the directory
 * fsync'ed.  -1 with errno set on failure, the temporary file gone and
 * path untouched (unless only the directory's fsync failed). */
int util_write_file(const char *path, const void *buf, size_t len);
/* Monotonic milliseconds, for watchdogs and deadlines only. */
int64_t util_now_ms(void);
int64_t util_now_ns(void); /* the same clock, in ns (trace times) */
/* mkdir -p */
int util_mkdirs(const char *path);
/* The value of key in a URI query "a=1&b=2" (without the '?'), copied
 * into out: 1 if found, 0 if absent, -1 if the value does not fit in
 * cap (never cut: a cut path names another file). */
int util_query_get(const char *query, const char *key, char *out, size_t cap);
/* 0 if every key of query is one of keys (NULL-terminated) with a value;
 * -1 with err naming the first other key and the valid ones. */
int util_query_check(const char *query, const char *const *keys, char *err, size_t errlen);
/* "HOST:PORT" or "[V6]:PORT" into host (without brackets) and a pointer
 * to the port inside arg; -1 if malformed or host does not fit. */
int util_split_hostport(const char *arg, char *host, size_t cap, const char **port);
/* Parse "123", "0x7b": 0 on success. */
int util_parse_u64(const char *s, uint64_t *out);

/* Set (to the signal's number) by SIGTERM/SIGINT once
 * util_stop_on_signals() has run; every serve loop polls with a timeout
 * and returns when it is set, so the caller can save state and exit. */
extern volatile sig_atomic_t util_stop;
/* SIGTERM and SIGINT set util_stop (no SA_RESTART: blocking calls
 * return EINTR); SIGPIPE is ignored. */
void util_stop_on_signals(void);
/* Back to the default dispositions, in a forked child whose parent
 * catches them: a child must die of ^C and of SIGPIPE as usual. */
void util_default_signals(void);
/* rm -r path, symlinks removed, never followed; 0 if it is gone. */
int util_rmtree(const char *path);

#endif
