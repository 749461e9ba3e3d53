/* tlv.c — BER-TLV (ISO/IEC 7816-4 §6.3, X.690 §8.1) for the simulators.
 *
 * Strict on input: a card that accepted sloppy encodings would hide bugs
 * in the host software under test, so indefinite and non-minimal lengths
 * are format errors. */
#include "tlv.h"

#include <string.h>

#define TAG_MAX_BYTES 3
#define LEN_MAX_BYTES 4

/* Returns the tag size, or an error. */
static long parse_tag(const uint8_t *p, size_t n, uint32_t *tag)
{
	size_t i = 1;

	if (n < 1)
		return TLV_ERR_TRUNC;
	*tag = p[0];
	if ((p[0] & 0x1F) != 0x1F)
		return 1;
	/* Subsequent bytes: bit 8 set means another byte follows. */
	for (;;) {
		if (i >= n)
			return TLV_ERR_TRUNC;
		if (i == 1 && p[i] == 0x80)
			return TLV_ERR_FORMAT; /* leading zero bits: non-minimal tag */
		*tag = (*tag << 8) | p[i];
		if (!(p[i++] & 0x80))
			return (long)i;
		if (i >= TAG_MAX_BYTES)
			return TLV_ERR_FORMAT;
	}
}

/* Returns the length-field size, or an error. */
static long parse_len(const uint8_t *p, size_t n, size_t *len)
{
	size_t k, i;

	if (n < 1)
		return TLV_ERR_TRUNC;
	if (p[0] < 0x80) {
		*len = p[0];
		return 1;
	}
	k = p[0] & 0x7F;
	if (k == 0 || k > LEN_MAX_BYTES)
		return TLV_ERR_FORMAT; /* 0x80 is indefinite: not allowed */
	if (n < 1 + k)
		return TLV_ERR_TRUNC;
	*len = 0;
	for (i = 1; i <= k; i++)
		*len = (*len << 8) | p[i];
	/* Minimal form only: the short form for < 0x80, no leading zero
	 * byte in the long form. */
	if (*len < 0x80 || p[1] == 0)
		return TLV_ERR_FORMAT;
	return (long)(1 + k);
}

long tlv_parse(const uint8_t *p, size_t n, tlv_t *t)
{
	uint32_t tag;
	size_t len, hdr;
	long tl, ll;

	if (p == NULL)
		return TLV_ERR_TRUNC;
	tl = parse_tag(p, n, &tag);
	if (tl < 0)
		return tl;
	ll = parse_len(p + tl, n - (size_t)tl, &len);
	if (ll < 0)
		return ll;
	hdr = (size_t)tl + (size_t)ll;
	if (len > n - hdr)
		return TLV_ERR_TRUNC;
	if (t) {
		t->tag = tag;
		t->len = len;
		t->val = p + hdr;
		t->size = hdr + len;
	}
	return (long)(hdr + len);
}

static uint8_t first_tag_byte(uint32_t tag)
{
	if (tag > 0xFFFF)
		return (uint8_t)(tag >> 16);
	if (tag > 0xFF)
		return (uint8_t)(tag >> 8);
	return (uint8_t)tag;
}

int tlv_is_constructed(uint32_t tag)
{
	return (first_tag_byte(tag) & 0x20) != 0;
}

int tlv_find(const uint8_t *p, size_t n, uint32_t tag, tlv_t *t)
{
	size_t off = 0;

	while (off < n) {
		tlv_t e;
		long r = tlv_parse(p + off, n - off, &e);

		if (r < 0)
			return (int)r;
		if (e.tag == tag) {
			if (t)
				*t = e;
			return 0;
		}
		off += (size_t)r;
	}
	return 1;
}

static size_t tag_size(uint32_t tag)
{
	if (tag > 0xFFFFFF)
		return 0;
	if (tag > 0xFFFF)
		return 3;
	if (tag > 0xFF)
		return 2;
	return 1;
}

static size_t len_size(size_t len)
{
	if (len < 0x80)
		return 1;
	if (len <= 0xFF)
		return 2;
	if (len <= 0xFFFF)
		return 3;
	if (len <= 0xFFFFFF)
		return 4;
	if (len <= 0xFFFFFFFFu)
		return 5;
	return 0;
}

size_t tlv_put_hdr(uint8_t *out, uint32_t tag, size_t len)
{
	size_t ts = tag_size(tag), ls = len_size(len), i, o = 0;

	if (ts == 0 || ls == 0)
		return 0; /* not encodable within 3 tag / 4 length bytes */
	if (out == NULL)
		return ts + ls;
	for (i = ts; i-- > 0;)
		out[o++] = (uint8_t)(tag >> (8 * i));
	if (ls == 1) {
		out[o++] = (uint8_t)len;
		return o;
	}
	out[o++] = (uint8_t)(0x80 | (ls - 1));
	for (i = ls - 1; i-- > 0;)
		out[o++] = (uint8_t)(len >> (8 * i));
	return o;
}

size_t tlv_put(uint8_t *out, size_t cap, uint32_t tag, const void *val, size_t len)
{
	size_t hdr = tlv_put_hdr(NULL, tag, len);

	if (hdr == 0 || out == NULL || len > cap || hdr > cap - len || (len && val == NULL))
		return 0;
	/* memmove: a caller may build the value at out and wrap it in
	 * place; the header then pushes it right. */
	if (len)
		memmove(out + hdr, val, len);
	tlv_put_hdr(out, tag, len);
	return hdr + len;
}
