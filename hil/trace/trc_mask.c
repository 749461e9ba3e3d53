/* trc_mask.c — comparing exchanges, what legitimately varies aside.
 *
 * Two runs of the same commands differ where randomness or session keys
 * enter: challenges (GET CHALLENGE, SCP03's host and card challenges),
 * the SCP03 cryptograms, MACs, the data of SM commands (encrypted under
 * the session keys), signatures of a randomised scheme.  A mask names
 * such bytes by the command's shape (INS and class), never by position
 * in the trace, so it holds for any trace.  Masked bytes are compared as
 * absent; lengths and status words are always compared. */
#include <stdlib.h>
#include <string.h>

#include "hil/trace/trc.h"

static const struct { const char *name; unsigned bit; } names[] = {
	{ "challenge", TRC_MASK_CHALLENGE }, { "cryptogram", TRC_MASK_CRYPTOGRAM }, { "mac", TRC_MASK_MAC },
	{ "signature", TRC_MASK_SIGNATURE }, { "sm", TRC_MASK_SM },		    { "all", TRC_MASK_ALL },
};

const char *trc_mask_names(void)
{
	return "challenge, cryptogram, mac, signature, sm, all";
}

int trc_mask_parse(const char *spec, unsigned *mask, char *err, size_t errlen)
{
	const char *p = spec;

	*mask = 0;
	while (p && *p) {
		size_t len = strcspn(p, ",+"), i;
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strlen(names[i].name) == len && !strncmp(names[i].name, p, len))
				break;
		if (i == sizeof names / sizeof names[0]) {
			snprintf(err, errlen, "unknown mask '%.*s' (the masks: %s)", (int)len, p, trc_mask_names());
			return -1;
		}
		*mask |= names[i].bit;
		p += len + (p[len] != 0);
	}
	return 0;
}

/* Secure messaging: CLA bit 3 for the first interindustry classes
 * (0x/8x-Bx), bit 6 for the further ones (4x-7x, Cx-Fx). */
static int is_sm(const uint8_t *c, size_t n)
{
	if (n < 4 || c[0] == 0xFF)
		return 0;
	return (c[0] & 0x40) ? (c[0] & 0x20) != 0 : (c[0] & 0x04) != 0;
}

/* The command's data field: 1 with *off, *len. */
static int data_span(const uint8_t *c, size_t n, size_t *off, size_t *len)
{
	if (n > 5 && c[4]) {
		*off = 5, *len = c[4];
	} else if (n > 7 && c[4] == 0) {
		*off = 7, *len = (size_t)c[5] << 8 | c[6];
	} else {
		return 0;
	}
	if (*off + *len > n)
		*len = n - *off;
	return *len > 0;
}

static void blank(uint8_t *p, size_t n, size_t off, size_t len)
{
	if (off < n)
		memset(p + off, 0, off + len > n ? n - off : len);
}

/* Zero the masked bytes of command c (n bytes) in place. */
static void mask_cmd(uint8_t *c, size_t n, unsigned mask)
{
	size_t off, len;

	if (!data_span(c, n, &off, &len))
		return;
	if (c[1] == 0x50 && (c[0] & 0x80) && (mask & TRC_MASK_CHALLENGE))
		blank(c, n, off, len); /* INITIALIZE UPDATE: the host challenge */
	else if (c[1] == 0x82 && (mask & (TRC_MASK_CRYPTOGRAM | TRC_MASK_MAC))) {
		size_t mac = len >= 16 ? 8 : 0; /* host cryptogram || C-MAC */
		if (mask & TRC_MASK_CRYPTOGRAM)
			blank(c, n, off, len - mac);
		if (mask & TRC_MASK_MAC)
			blank(c, n, off + len - mac, mac);
	} else if (is_sm(c, n)) {
		if (mask & TRC_MASK_SM)
			blank(c, n, off, len);
		else if ((mask & TRC_MASK_MAC) && len >= 8)
			blank(c, n, off + len - 8, 8);
	}
}

int trc_cmd_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, unsigned mask)
{
	uint8_t *x, *y;
	int eq;

	if (an != bn)
		return 0;
	if (!memcmp(a, b, an))
		return 1;
	if (!mask || an < 4 || a[1] != b[1])
		return 0;
	if (!(x = malloc(an)) || !(y = malloc(bn))) {
		free(x);
		return 0;
	}
	memcpy(x, a, an), memcpy(y, b, bn);
	mask_cmd(x, an, mask);
	mask_cmd(y, bn, mask);
	eq = !memcmp(x, y, an);
	free(x), free(y);
	return eq;
}

/* Zero the masked bytes of response r (data || SW) to command c. */
static void mask_rsp(const uint8_t *c, size_t cn, uint8_t *r, size_t rn, unsigned mask)
{
	size_t dn = rn - 2;

	if (cn < 4 || rn < 2)
		return;
	if (c[1] == 0x84 && (mask & TRC_MASK_CHALLENGE) && !is_sm(c, cn))
		blank(r, dn, 0, dn); /* GET CHALLENGE */
	else if (c[1] == 0x50 && (c[0] & 0x80) && dn >= 29) {
		/* KDD(10) KVN SCP i | card challenge | card cryptogram [| seq(3)] */
		size_t l = dn >= 45 ? 16 : 8;
		if (mask & TRC_MASK_CHALLENGE)
			blank(r, dn, 13, l);
		if (mask & TRC_MASK_CRYPTOGRAM)
			blank(r, dn, 13 + l, dn - 13 - l);
	} else if ((c[1] == 0x2A || c[1] == 0x88) && (mask & TRC_MASK_SIGNATURE))
		blank(r, dn, 0, dn);
	else if (is_sm(c, cn) && dn > 0) {
		if (mask & TRC_MASK_SM)
			blank(r, dn, 0, dn);
		else if ((mask & TRC_MASK_MAC) && dn >= 8)
			blank(r, dn, dn - 8, 8); /* R-MAC */
	}
}

int trc_rsp_eq(const uint8_t *cmd, size_t cn, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
	       unsigned mask)
{
	uint8_t *x, *y;
	int eq;

	if (!a || !b)
		return !a && !b;
	if (an != bn)
		return 0;
	if (!memcmp(a, b, an))
		return 1;
	if (!mask || an < 2 || !(x = malloc(an)))
		return 0;
	if (!(y = malloc(bn))) {
		free(x);
		return 0;
	}
	memcpy(x, a, an), memcpy(y, b, bn);
	mask_rsp(cmd, cn, x, an, mask);
	mask_rsp(cmd, cn, y, bn, mask);
	eq = !memcmp(x, y, an);
	free(x), free(y);
	return eq;
}
