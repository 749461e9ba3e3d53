/* pn532.h — the software PN532 behind `mynahil serve pn532`, without its
 * pty: a byte stream from the host in, a byte stream to the host out.
 *
 * It speaks the PN532's host-link frames (NXP UM0701-02 §6.2): normal and
 * extended information frames, ACK, NACK, the error frame, the HSU
 * wake-up preamble.  Cards are reached through links: `card` is offered
 * as an ISO/IEC 14443-4 Type B target, `se` (may be NULL) as FeliCa and
 * as an ISO/IEC 14443-4 Type A target.  Separate from serve_pn532.c's
 * pty loop so that the frame codec can be tested on its own. */
#ifndef PN532_H
#define PN532_H

#include <stddef.h>
#include <stdint.h>
#include "hil/link/link.h"

typedef struct pn532 pn532_t;

/* What a target says of itself; derived deterministically by the caller. */
typedef struct pn532_ident {
	uint8_t pupi[4];      /* Type B PUPI of the card */
	uint8_t nfcid1[4];    /* Type A UID of the SE (first byte 08: random UID) */
} pn532_ident_t;

pn532_t *pn532_new(link_t *card, link_t *se, const pn532_ident_t *id);
void pn532_free(pn532_t *p);

/* Answers waiting for the host to read them: a few of the longest
 * frames.  What does not fit is dropped (see pn532_dropped). */
#define PN532_OUT_MAX 8192

/* Feed bytes read from the host.  Answers (ACK, response frames) are
 * appended to the output, which pn532_output() exposes until
 * pn532_consume() drops what was written.  -1 only when the chip cannot
 * go on; its buffers are fixed, so today it always returns 0. */
int pn532_feed(pn532_t *p, const uint8_t *in, size_t n);
const uint8_t *pn532_output(const pn532_t *p, size_t *len);
void pn532_consume(pn532_t *p, size_t n);
/* Bytes of answers dropped because the host left no room for them
 * (it does not read), since the last pn532_host_reset(). */
size_t pn532_dropped(const pn532_t *p);

/* A new host: the last one closed the line.  Everything it left goes:
 * half-received frames, unread answers, chained data, the NACK copy;
 * and the chip is as at power-on (RF field off and the cards with it,
 * no target, parameters and registers at their reset values), so that
 * what one client did never changes what the next one sees. */
void pn532_host_reset(pn532_t *p);

/* For tests and the start-up line: the ATQB the card answers with. */
size_t pn532_atqb(const pn532_t *p, uint8_t *atqb, size_t cap);

#endif
