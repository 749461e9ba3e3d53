/* apdu.c — ISO/IEC 7816-3 command APDU cases and response building.
 *
 * The body after the 4-byte header decides the case (7816-3 §12.1.3):
 *   empty                      case 1
 *   1 byte                     case 2S  (Le)
 *   Lc!=0, Lc bytes            case 3S
 *   Lc!=0, Lc bytes, 1 byte    case 4S  (Le)
 *   00 + 2 bytes               case 2E  (Le)
 *   00 Lc(2)!=0, Lc bytes      case 3E
 *   00 Lc(2)!=0, Lc bytes, 2   case 4E  (Le)
 * Anything else is a length error, answered 67 00. */
#include "apdu.h"

#include <string.h>

#define HDR 4

static size_t short_le(uint8_t b)
{
	return b ? b : 256;
}

static size_t ext_len(const uint8_t *p)
{
	return ((size_t)p[0] << 8) | p[1];
}

static size_t ext_le(const uint8_t *p)
{
	size_t v = ext_len(p);
	return v ? v : 65536;
}

static int parse_short(apdu_t *a, const uint8_t *body, size_t n)
{
	size_t lc = body[0];

	if (n == 1) {
		a->icase = 2;
		a->le = short_le(body[0]);
		return 0;
	}
	/* b4 != 0 here, so it is Lc and must be followed by exactly Lc
	 * bytes, optionally plus one Le byte. */
	if (n == 1 + lc) {
		a->icase = 3;
	} else if (n == 2 + lc) {
		a->icase = 4;
		a->le = short_le(body[1 + lc]);
	} else {
		return SW_WRONG_LENGTH;
	}
	a->lc = lc;
	a->data = body + 1;
	return 0;
}

static int parse_extended(apdu_t *a, const uint8_t *body, size_t n)
{
	size_t lc;

	a->ext = 1;
	if (n == 3) {
		a->icase = 2;
		a->le = ext_le(body + 1);
		return 0;
	}
	if (n < 3)
		return SW_WRONG_LENGTH;
	lc = ext_len(body + 1);
	if (lc == 0)
		return SW_WRONG_LENGTH; /* an extended Lc of zero is not a case */
	if (n == 3 + lc) {
		a->icase = 3;
	} else if (n == 5 + lc) {
		a->icase = 4;
		a->le = ext_le(body + 3 + lc);
	} else {
		return SW_WRONG_LENGTH;
	}
	a->lc = lc;
	a->data = body + 3;
	return 0;
}

int apdu_parse(apdu_t *a, const uint8_t *buf, size_t len)
{
	const uint8_t *body;
	size_t n;
	int sw;

	memset(a, 0, sizeof(*a));
	if (buf == NULL || len < HDR)
		return SW_WRONG_LENGTH;
	a->cla = buf[0];
	a->ins = buf[1];
	a->p1 = buf[2];
	a->p2 = buf[3];
	if (a->cla == 0xFF)
		return SW_CLA_NOT_SUPPORTED; /* FF is reserved for PPS */
	body = buf + HDR;
	n = len - HDR;
	if (n == 0) {
		a->icase = 1;
		return 0;
	}
	/* A leading 00 with more bytes after it can only be extended:
	 * a short Lc of 0 does not exist. */
	if (body[0] == 0 && n > 1)
		sw = parse_extended(a, body, n);
	else
		sw = parse_short(a, body, n);
	if (sw) {
		uint8_t cla = a->cla, ins = a->ins, p1 = a->p1, p2 = a->p2;

		/* Keep the header for the caller's logs, drop the rest. */
		memset(a, 0, sizeof(*a));
		a->cla = cla, a->ins = ins, a->p1 = p1, a->p2 = p2;
	}
	return sw;
}

size_t apdu_build(uint8_t *out, size_t cap, uint8_t cla, uint8_t ins,
		  uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc, size_t le)
{
	int ext = lc > 255 || le > 256;
	size_t need = HDR, o = 0;

	if (lc > APDU_MAX_DATA || le > 65536 || (lc && data == NULL) || out == NULL)
		return 0;
	if (ext)
		need += 1 + (lc ? 2 + lc : 0) + (le ? 2 : 0);
	else
		need += (lc ? 1 + lc : 0) + (le ? 1 : 0);
	if (need > cap)
		return 0;
	out[o++] = cla;
	out[o++] = ins;
	out[o++] = p1;
	out[o++] = p2;
	if (ext)
		out[o++] = 0;
	if (lc) {
		if (ext)
			out[o++] = (uint8_t)(lc >> 8);
		out[o++] = (uint8_t)lc;
		memcpy(out + o, data, lc);
		o += lc;
	}
	/* 256 and 65536 wrap to the all-zero encoding, which means "all". */
	if (le) {
		if (ext)
			out[o++] = (uint8_t)(le >> 8);
		out[o++] = (uint8_t)le;
	}
	return o;
}

/* Room left for data, keeping two bytes for SW1 SW2. */
static size_t rsp_room(const apdu_rsp_t *r)
{
	if (r->cap < 2 || r->len > r->cap - 2)
		return 0;
	return r->cap - 2 - r->len;
}

int apdu_rsp_put(apdu_rsp_t *r, const void *p, size_t n)
{
	if (n > rsp_room(r) || (n && p == NULL))
		return -1;
	if (n)
		memcpy(r->buf + r->len, p, n);
	r->len += n;
	return 0;
}

size_t apdu_rsp_sw(apdu_rsp_t *r, uint16_t sw)
{
	if (r->cap < 2)
		return 0;
	if (r->len > r->cap - 2)
		r->len = r->cap - 2; /* only a misuse gets here; never overflow */
	r->buf[r->len++] = (uint8_t)(sw >> 8);
	r->buf[r->len++] = (uint8_t)sw;
	return r->len;
}

size_t apdu_rsp_error(apdu_rsp_t *r, uint16_t sw)
{
	r->len = 0;
	return apdu_rsp_sw(r, sw);
}

uint16_t apdu_sw(const uint8_t *rsp, size_t len)
{
	if (rsp == NULL || len < 2)
		return 0;
	return (uint16_t)((rsp[len - 2] << 8) | rsp[len - 1]);
}

/* A character's hex value plus one (0: not a digit), HX_SEP for what
 * apdu_unhex skips: one load a character instead of three ranges, as the
 * TSM's scripts and the SE relay unhex some 40 kB a flow. */
#define HX_SEP 17
static const uint8_t hexv[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	[' '] = HX_SEP, ['\t'] = HX_SEP, [':'] = HX_SEP,
};

int apdu_hexval(int c)
{
	return c >= 0 && c <= 255 && hexv[c] && hexv[c] != HX_SEP ? hexv[c] - 1 : -1;
}

long apdu_unhex(const char *hex, uint8_t *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)hex;
	size_t n = 0;
	int hi = -1;

	if (hex == NULL)
		return -1;
	for (;;) {
		unsigned v;

		/* Two digits a byte, the usual case (s[1] is read only after
		 * s[0] was a digit, so not past the NUL). */
		while (hi < 0 && hexv[s[0]] - 1u < 16u && hexv[s[1]] - 1u < 16u) {
			if (n >= cap)
				return -1;
			out[n++] = (uint8_t)((hexv[s[0]] - 1u) << 4 | (hexv[s[1]] - 1u));
			s += 2;
		}
		if (!*s)
			break;
		v = hexv[*s++];
		if (v == HX_SEP)
			continue;
		if (!v)
			return -1;
		if (hi < 0) {
			hi = (int)v - 1;
			continue;
		}
		if (n >= cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | (int)(v - 1));
		hi = -1;
	}
	if (hi >= 0)
		return -1; /* odd number of digits */
	return (long)n;
}

void apdu_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0F];
	}
	out[2 * n] = '\0';
}
