/* tlv.h — BER-TLV as used by ISO 7816-4 and X.509: tags of 1-3 bytes,
 * definite lengths of up to 4 bytes (0x84). */
#ifndef TLV_H
#define TLV_H

#include <stddef.h>
#include <stdint.h>

typedef struct tlv {
	uint32_t tag;         /* as encoded, e.g. 0x5F4E, 0xDF21, 0x30 */
	size_t len;           /* length of the value */
	const uint8_t *val;
	size_t size;          /* header + value */
} tlv_t;

#define TLV_ERR_TRUNC -1  /* runs past the buffer */
#define TLV_ERR_FORMAT -2 /* indefinite length, tag too long, non-minimal... */

/* Parse one element at p[0..n).  Returns its total size (>0) or an error. */
long tlv_parse(const uint8_t *p, size_t n, tlv_t *t);
int tlv_is_constructed(uint32_t tag);
/* Find the first element with tag among the elements of p[0..n) (one
 * level, no descent).  Returns 0 when found, 1 when absent, <0 on error. */
int tlv_find(const uint8_t *p, size_t n, uint32_t tag, tlv_t *t);
/* Encode a header; returns its size.  out may be NULL to measure. */
size_t tlv_put_hdr(uint8_t *out, uint32_t tag, size_t len);
/* Encode header + value; returns total size, or 0 if cap is too small. */
size_t tlv_put(uint8_t *out, size_t cap, uint32_t tag, const void *val, size_t len);

#endif
