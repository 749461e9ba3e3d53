/* trace.h — a record of every exchange of a scenario, one JSON object
 * per line: {"n":1,"link":"sim:card","cmd":"00A4...","rsp":"9000"}.
 * No timestamps: the same seed gives byte-identical traces. */
#ifndef TRACE_H
#define TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct trace trace_t;

trace_t *trace_open(const char *path);  /* NULL with errno on failure */
trace_t *trace_stream(FILE *f);        /* on an open stream (stdout); closed by trace_close */
/* rsp == NULL: the card gave no answer (mute, timeout). */
void trace_apdu(trace_t *t, const char *link, const uint8_t *cmd, size_t n,
		const uint8_t *rsp, size_t rn);
void trace_note(trace_t *t, const char *link, const char *event); /* power, tear */
void trace_close(trace_t *t);

/* A tap sees every record just before its line is written, and may add
 * fields to that line with trace_line_set: the role of the link, the
 * plain command under SCP03, a pcapng copy (hil/trace/trc_live.c).  One
 * tap per trace; done(ud) is called by trace_close. */
typedef struct trace_rec {
	const char *link;
	const uint8_t *cmd;   /* NULL for an event */
	size_t n;
	const uint8_t *rsp;   /* NULL: no answer */
	size_t rn;
	const char *cmd_hex;  /* the command as the line shows it (redacted: '*') */
	const char *event;    /* non-NULL for trace_note */
} trace_rec_t;
typedef void trace_tap_fn(void *ud, const trace_rec_t *r, void *line);
void trace_tap(trace_t *t, trace_tap_fn *fn, void (*done)(void *ud), void *ud);
void trace_line_set(void *line, const char *key, const char *value);

/* Redaction (mynahil run --redact): from now on the data field of every
 * command that carries a PIN — VERIFY, CHANGE REFERENCE DATA, RESET
 * RETRY COUNTER (INS 20/21, 24/25, 2C/2D), any CLA — is written as "**"
 * per byte (its length kept), and each such field is remembered as a
 * secret.  trace_secret adds one known beforehand (a profile's PINs). */
void trace_redact(trace_t *t);
void trace_secret(trace_t *t, const uint8_t *p, size_t n);
/* Masks in place, keeping the length, every secret in s: its bytes and
 * its hex (either case).  Secrets under 4 bytes are not PINs and are
 * left alone. */
void trace_mask_text(const trace_t *t, char *s);

#endif
