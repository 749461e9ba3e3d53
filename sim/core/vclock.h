/* vclock.h — virtual time.  Seconds since the Unix epoch, UTC; moves only
 * when the harness says so, so validity periods are tested without waiting. */
#ifndef VCLOCK_H
#define VCLOCK_H

#include <stdint.h>

typedef struct vclock {
	int64_t now;
} vclock_t;

void vclock_set(vclock_t *c, int64_t t);
int64_t vclock_now(const vclock_t *c);
void vclock_advance(vclock_t *c, int64_t seconds);
/* "YYYYMMDDhhmmssZ" (UTC) <-> seconds; -1 / SIZE-less error on bad input. */
int vclock_parse(const char *s, int64_t *out);
void vclock_format(int64_t t, char out[16]);

#endif
