/* trace.h — a record of every exchange of a scenario, one JSON object
 * per line: {"n":1,"link":"sim:card","cmd":"00A4...","rsp":"9000"}.
 * No timestamps: the same seed gives byte-identical traces. */
#ifndef TRACE_H
#define TRACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct trace trace_t;

trace_t *trace_open(const char *path);  /* NULL with errno on failure */
/* rsp == NULL: the card gave no answer (mute, timeout). */
void trace_apdu(trace_t *t, const char *link, const uint8_t *cmd, size_t n,
		const uint8_t *rsp, size_t rn);
void trace_note(trace_t *t, const char *link, const char *event); /* power, tear */
void trace_close(trace_t *t);

#endif
