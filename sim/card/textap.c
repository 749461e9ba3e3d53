/* textap.c — the 券面事項入力補助AP ("text AP", docs/card.md#text-ap).
 *
 * Files:
 *   0001 individual number  FF 10 0C <12 ASCII digits> FF FF (17 bytes);
 *                           PIN 0011 or 照合番号A 0014
 *   0002 basic 4 items      FF 20 L { DF21 offsets, DF22 name, DF23
 *                           address, DF24 birth, DF25 sex }; PIN or 照合番号B
 *   0003 integrity record   FF 30 L { DF31, DF32, DF33 }; PIN or either
 *   0005 AP basic info      FF 40 L { DF41 01 03 0E 01, DF42 key id, DF43 }
 *   0011 PIN                4 digits, 3 tries [H]
 *   0014 照合番号A           the 12-digit number, 10 tries
 *   0015 照合番号B           era birth YYMMDD + expiry YYYY + code, 10 tries
 *   (internal) AP key       80 2A 00 00 without a credential (SOL [M])
 * Retry counts of 0014/0015 are poorly documented: SOL mentions "a counter
 * of ten attempts" for 照合番号B [L]; 10 is used for both. */
#include "textap_int.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../core/tlv.h"
#include "card_int.h"

enum {
	EF_NUMBER = 0x0001,
	EF_ATTRS = 0x0002,
	EF_INTEGRITY = 0x0003,
	EF_INFO = 0x0005,
	PIN_TEXT = 0x0011,
	PIN_A = 0x0014,
	PIN_B = 0x0015,
};

#define KEY_INDEX 7
#define TEXT_MAX 1024 /* name and address, bytes of UTF-8 */

static const cardos_ef_def_t textap_efs[] = {
	{ EF_NUMBER, CARDOS_EF_BINARY, 0, { PIN_TEXT, PIN_A }, NULL },
	{ EF_ATTRS, CARDOS_EF_BINARY, 0, { PIN_TEXT, PIN_B }, NULL },
	{ EF_INTEGRITY, CARDOS_EF_BINARY, 0, { PIN_TEXT, PIN_A, PIN_B }, NULL },
	{ EF_INFO, CARDOS_EF_BINARY, 0, { 0 }, NULL },
	{ PIN_TEXT, CARDOS_EF_PIN, 3, { 0 }, NULL },
	{ PIN_A, CARDOS_EF_PIN, 10, { 0 }, NULL },
	{ PIN_B, CARDOS_EF_PIN, 10, { 0 }, NULL },
	[KEY_INDEX] = { 0, CARDOS_EF_KEY, 0, { 0 }, "ap" },
};

/* 80 2A 00 00 <data> 00: the anti-cloning challenge-response with the AP
 * key, no credential (docs/card.md#text-ap).  Other P1/P2: 6A86; a card made
 * without a text key: 6A88. */
static int textap_sign(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	cardos_ef_t *key = &os->cur_app->efs[KEY_INDEX];

	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (!cardos_present(os, key))
		return SW_REF_NOT_FOUND;
	return cardos_sign(os, key, a, r);
}

static const cardos_cmd_t textap_cmds[] = {
	{ 0x80, 0x2A, textap_sign },
};

const cardos_app_def_t textap_app = {
	.ns = "text",
	.aid = { 0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08 },
	.aid_len = 10,
	.efs = textap_efs,
	.n_efs = sizeof textap_efs / sizeof textap_efs[0],
	.cmds = textap_cmds,
	.n_cmds = sizeof textap_cmds / sizeof textap_cmds[0],
};

/* ---- dates and eras ----------------------------------------------------- */

static const struct {
	int y, m, d;
} era_start[] = {
	[TEXTAP_MEIJI] = { 1868, 1, 25 },
	[TEXTAP_TAISHO] = { 1912, 7, 30 },
	[TEXTAP_SHOWA] = { 1926, 12, 25 },
	[TEXTAP_HEISEI] = { 1989, 1, 8 },
	[TEXTAP_REIWA] = { 2019, 5, 1 },
};

static int parse_date(const char *s, int *y, int *m, int *d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap;

	if (!card_str_ok(s, 8, 8, CARD_DIGITS))
		return -1;
	*y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	*m = (s[4] - '0') * 10 + (s[5] - '0');
	*d = (s[6] - '0') * 10 + (s[7] - '0');
	leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
	if (*m < 1 || *m > 12 || *d < 1 || *d > mdays[*m - 1] + (*m == 2 && leap))
		return -1;
	return 0;
}

int textap_era(const char *yyyymmdd, int *era, int *year)
{
	int y, m, d, key;

	if (parse_date(yyyymmdd, &y, &m, &d) < 0)
		return -1;
	key = y * 10000 + m * 100 + d;
	for (int e = TEXTAP_REIWA; e >= TEXTAP_MEIJI; e--) {
		if (key >= era_start[e].y * 10000 + era_start[e].m * 100 + era_start[e].d) {
			*era = e;
			*year = y - era_start[e].y + 1;
			return 0;
		}
	}
	return -1;
}

/* docs/card.md#text-ap: 1980-02-17 (Shōwa 55), expiry 2035, code 2285 ->
 * "55021720352285". */
int textap_collation_b(const card_profile_t *p, char out[15])
{
	int era, year;
	const char *b = p->holder.birth;

	if (textap_era(b, &era, &year) < 0 || year > 99 ||
	    p->holder.expiry_year < 1000 || p->holder.expiry_year > 9999 ||
	    !card_str_ok(p->holder.security_code, 4, 4, CARD_DIGITS))
		return -1;
	out[0] = (char)('0' + year / 10);
	out[1] = (char)('0' + year % 10);
	memcpy(out + 2, b + 4, 4);
	for (int i = 0, v = p->holder.expiry_year; i < 4; i++, v /= 10)
		out[9 - i] = (char)('0' + v % 10);
	memcpy(out + 10, p->holder.security_code, 4);
	out[14] = 0;
	return 0;
}

/* ---- profile ---------------------------------------------------------------- */

static int utf8_ok(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (!s || !*s || (n = strlen(s)) > max)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t k = p[i] < 0x80 ? 0 : (p[i] & 0xE0) == 0xC0 ? 1 : (p[i] & 0xF0) == 0xE0 ? 2 :
			   (p[i] & 0xF8) == 0xF0 ? 3 : 4;

		if (k == 4 || i + k >= n)
			return 0;
		for (size_t j = 1; j <= k; j++)
			if ((p[i + j] & 0xC0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

int textap_profile_check(const card_profile_t *p)
{
	char b[15];
	const char *sex = p->holder.sex;

	if (!card_str_ok(p->pins.text, 4, 4, CARD_DIGITS) ||
	    !card_str_ok(p->holder.number, 12, 12, CARD_DIGITS) ||
	    textap_collation_b(p, b) < 0 ||
	    !utf8_ok(p->holder.name, TEXT_MAX) || !utf8_ok(p->holder.address, TEXT_MAX) ||
	    !card_str_ok(sex, 1, 1, "129")) /* docs/card.md#text-ap: 1, 2, 9 */
		return SIM_ERR_PROFILE;
	if (p->text_key.n) {
		EVP_PKEY *k = cardos_key_parse(p->text_key.p, p->text_key.n, 2048);

		EVP_PKEY_free(k);
		if (!k)
			return SIM_ERR_PROFILE;
	}
	return SIM_OK;
}

/* ---- personalisation ----------------------------------------------------------- */

static int put(nvm_t *nvm, const cardos_ef_def_t *d, const void *val, size_t len)
{
	return cardos_perso(nvm, textap_app.ns, d, val, len);
}

static int put_fid(nvm_t *nvm, uint16_t fid, const void *val, size_t len)
{
	const cardos_ef_def_t *d = cardos_def_by_fid(&textap_app, fid);

	return d ? put(nvm, d, val, len) : NVM_ERR_ARG;
}

/* EF 0002: DF21 holds four 2-byte offsets from the start of the file to
 * the tags of DF22..DF25.  *items: where DF22..DF25, the part DF32
 * hashes, start. */
static uint8_t *build_attrs(const card_profile_t *p, size_t *len, size_t *items)
{
	const char *v[4] = { p->holder.name, p->holder.address, p->holder.birth, p->holder.sex };
	size_t vl[4], inner = 3 + 8, hdr, off, o = 0;
	uint8_t *ef, offs[8];

	for (int i = 0; i < 4; i++) {
		vl[i] = strlen(v[i]);
		inner += tlv_put_hdr(NULL, 0xDF22 + (uint32_t)i, vl[i]) + vl[i];
	}
	hdr = tlv_put_hdr(NULL, 0xFF20, inner);
	*len = hdr + inner;
	*items = hdr + 3 + 8;
	if (!(ef = malloc(*len)))
		return NULL;
	off = *items;
	for (int i = 0; i < 4; i++) {
		offs[2 * i] = (uint8_t)(off >> 8);
		offs[2 * i + 1] = (uint8_t)off;
		off += tlv_put_hdr(NULL, 0xDF22 + (uint32_t)i, vl[i]) + vl[i];
	}
	o += tlv_put_hdr(ef, 0xFF20, inner);
	o += tlv_put(ef + o, *len - o, 0xDF21, offs, sizeof offs);
	for (int i = 0; i < 4; i++)
		o += tlv_put(ef + o, *len - o, 0xDF22 + (uint32_t)i, v[i], vl[i]);
	return ef;
}

/* DF33: RSASSA-PKCS1-v1_5 with SHA-256 (a SHA-256 DigestInfo, type 1
 * padding) over the 64 bytes DF31 value || DF32 value.  The real card's
 * signed input is not public (docs/card.md#text-ap only says "RSA-2048
 * signature"); this choice is verifiable with the AP key's public half. */
static int sign_hashes(EVP_PKEY *k, const uint8_t h[64], uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) > 0 &&
		 EVP_DigestSign(md, sig, siglen, h, 64) > 0;

	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* EF 0003 = FF30 { DF31 SHA-256(EF 0001 as stored, filler included),
 * DF32 SHA-256(DF22..DF25 of EF 0002), DF33 signature }; without a text
 * key DF33 is left out.  EF 0005's key id (DF42): the first 16 bytes of
 * SHA-256 of the AP key's SubjectPublicKeyInfo, zeros without a key. */
static int put_integrity(nvm_t *nvm, EVP_PKEY *k, const uint8_t *ef1, size_t n1,
			 const uint8_t *items, size_t n2)
{
	uint8_t h[64], sig[512], inner[2 * 35 + 4 + 512], ef[sizeof inner + 6];
	size_t siglen = sizeof sig, o = 0;
	unsigned int hl;

	if (!EVP_Digest(ef1, n1, h, &hl, EVP_sha256(), NULL) ||
	    !EVP_Digest(items, n2, h + 32, &hl, EVP_sha256(), NULL))
		return NVM_ERR_ARG;
	o += tlv_put(inner + o, sizeof inner - o, 0xDF31, h, 32);
	o += tlv_put(inner + o, sizeof inner - o, 0xDF32, h + 32, 32);
	if (k) {
		if (EVP_PKEY_get_size(k) > (int)sizeof sig || sign_hashes(k, h, sig, &siglen) < 0)
			return NVM_ERR_ARG;
		o += tlv_put(inner + o, sizeof inner - o, 0xDF33, sig, siglen);
	}
	o = tlv_put(ef, sizeof ef, 0xFF30, inner, o);
	return o ? put_fid(nvm, EF_INTEGRITY, ef, o) : NVM_ERR_ARG;
}

static int put_info(nvm_t *nvm, EVP_PKEY *k)
{
	static const uint8_t ver[4] = { 0x01, 0x03, 0x0E, 0x01 }; /* seen on cards (SOL) */
	uint8_t id[32] = { 0 }, zero[128] = { 0 }, inner[6 + 4 + 3 + 16 + 4 + 128], ef[sizeof inner + 4];
	unsigned char *spki = NULL;
	size_t o = 0;
	int n;

	if (k) {
		if ((n = i2d_PUBKEY(k, &spki)) <= 0 || !EVP_Digest(spki, (size_t)n, id, NULL, EVP_sha256(), NULL)) {
			OPENSSL_free(spki);
			return NVM_ERR_ARG;
		}
		OPENSSL_free(spki);
	}
	o += tlv_put(inner + o, sizeof inner - o, 0xDF41, ver, sizeof ver);
	o += tlv_put(inner + o, sizeof inner - o, 0xDF42, id, 16);
	o += tlv_put(inner + o, sizeof inner - o, 0xDF43, zero, sizeof zero);
	o = tlv_put(ef, sizeof ef, 0xFF40, inner, o);
	return o ? put_fid(nvm, EF_INFO, ef, o) : NVM_ERR_ARG;
}

int textap_personalise(nvm_t *nvm, const card_profile_t *p)
{
	uint8_t num[17] = { 0xFF, 0x10, 0x0C };
	uint8_t *attrs = NULL;
	size_t alen, items;
	EVP_PKEY *k = NULL;
	char b[15];
	int rc = NVM_ERR_ARG;

	memcpy(num + 3, p->holder.number, 12);
	num[15] = num[16] = 0xFF;
	if (textap_collation_b(p, b) < 0)
		goto out;
	if (p->text_key.n && !(k = cardos_key_parse(p->text_key.p, p->text_key.n, 2048)))
		goto out;
	rc = NVM_ERR_NOMEM;
	if (!(attrs = build_attrs(p, &alen, &items)))
		goto out;
	if ((rc = put_fid(nvm, EF_NUMBER, num, sizeof num)) ||
	    (rc = put_fid(nvm, EF_ATTRS, attrs, alen)) ||
	    (rc = put_integrity(nvm, k, num, sizeof num, attrs + items, alen - items)) ||
	    (rc = put_info(nvm, k)) ||
	    (rc = put_fid(nvm, PIN_TEXT, p->pins.text, 4)) ||
	    (rc = put_fid(nvm, PIN_A, p->holder.number, 12)) ||
	    (rc = put_fid(nvm, PIN_B, b, 14)))
		goto out;
	if (k)
		rc = put(nvm, &textap_efs[KEY_INDEX], p->text_key.p, p->text_key.n);
out:
	EVP_PKEY_free(k);
	free(attrs);
	return rc;
}
