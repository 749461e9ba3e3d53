/* jpki.c — the JPKI AP (公的個人認証AP, docs/card.md#jpki-ap) over cardos.
 *
 * Files (docs/card.md#files):
 *   0001 sign certificate     needs the sign password (001B)
 *   0002 sign CA certificate  free
 *   0006 token information    free; 160 bytes (SOL [M]): the token name
 *                             padded with spaces to 32, then the rest of
 *                             a CK_TOKEN_INFO (the profile's, or SOL's)
 *   0008 presence, 3 bytes    free; 8F 8F 00, byte 0 = 00 without a sign
 *                             certificate (SOL [M])
 *   000A auth certificate     free on the card; auth PIN on a phone token
 *   000B auth CA certificate  free
 *   0017 auth private key     use needs 0018
 *   0018 auth PIN             4 digits, 3 tries
 *   001A sign private key     use needs 001B
 *   001B sign password        6-16 of A-Z0-9, 5 tries
 * A minor's card (no sign certificate) has no 0001, 001A, 001B.
 *
 * Certificate EFs hold the DER at offset 0 followed by filler (00 by
 * default) to the EF's size, which the profile gives (by default 1,900
 * bytes for a CA certificate, as observed, 2,048 for the holder's): larger
 * than the object, as on the card, so clients must read the DER header
 * (docs/card.md#files). */
#include "jpki_int.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../core/dcache.h"
#include "../core/tlv.h"
#include "card_int.h"

#define CERT_EF_STEP 256 /* a phone's certificate too large for the default EF */

/* CK_TOKEN_INFO after the label, CK_ULONGs as 4 bytes big-endian: the
 * record myna-card's tests rebuild from a physical card (docs/card.md#jpki-ap,
 * a secondary source). */
#define SP8 "        "
const uint8_t card_token_info_default[CARD_TOKEN_INFO_LEN] =
	"00000000000000000000000000000001" /* manufacturerID[32] */
	"E16R01NJ" SP8                     /* model[16] */
	"0000000020500003"                 /* serialNumber[16] */
	"\x00\x00\x04\x0D"                 /* flags: RNG, LOGIN_REQUIRED, USER_PIN_INITIALIZED, TOKEN_INITIALIZED */
	"\x00\x00\x00\x01\x00\x00\x00\x00" /* max / current sessions */
	"\x00\x00\x00\x01\x00\x00\x00\x00" /* max / current read-write sessions */
	"\x00\x00\x00\x10\x00\x00\x00\x06" /* PIN length max 16, min 6 */
	"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF" /* memory: unavailable */
	"0301"                             /* hardware, firmware version: ASCII */
	"9999999999999999";                /* utcTime[16] */

const uint8_t jpki_aid[10] = { 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01 };

enum {
	EF_SIGN_CERT = JPKI_EF_SIGN_CERT,
	EF_SIGN_CA = JPKI_EF_SIGN_CA,
	EF_TOKEN = JPKI_EF_TOKEN,
	EF_PRESENCE = JPKI_EF_PRESENCE,
	EF_AUTH_CERT = JPKI_EF_AUTH_CERT,
	EF_AUTH_CA = JPKI_EF_AUTH_CA,
	EF_AUTH_KEY = JPKI_EF_AUTH_KEY,
	EF_AUTH_PIN = JPKI_EF_AUTH_PIN,
	EF_SIGN_KEY = JPKI_EF_SIGN_KEY,
	EF_SIGN_PIN = JPKI_EF_SIGN_PIN,
};

static const cardos_ef_def_t jpki_efs[JPKI_N_EFS] = {
	{ EF_SIGN_CERT, CARDOS_EF_BINARY, 0, { EF_SIGN_PIN }, NULL },
	{ EF_SIGN_CA, CARDOS_EF_BINARY, 0, { 0 }, NULL },
	{ EF_TOKEN, CARDOS_EF_BINARY, 0, { 0 }, NULL },
	{ EF_PRESENCE, CARDOS_EF_BINARY, 0, { 0 }, NULL },
	{ EF_AUTH_CERT, CARDOS_EF_BINARY, 0, { 0 }, NULL },
	{ EF_AUTH_CA, CARDOS_EF_BINARY, 0, { 0 }, NULL },
	{ EF_AUTH_KEY, CARDOS_EF_KEY, 0, { EF_AUTH_PIN }, NULL },
	{ EF_AUTH_PIN, CARDOS_EF_PIN, 3, { 0 }, NULL },
	{ EF_SIGN_KEY, CARDOS_EF_KEY, 0, { EF_SIGN_PIN }, NULL },
	{ EF_SIGN_PIN, CARDOS_EF_PIN, 5, { 0 }, NULL },
};

/* COMPUTE DIGITAL SIGNATURE, 80 2A 00 P2 (docs/card.md#commands).  Only P1 = 00
 * (pad what is given) is implemented; SOL's P1 01..05 schemes rest on a
 * single source, so they answer 6A86 like any other P1.  P2 = 80 signs
 * with the key EF selected before (none: 6986, not a key: 6A88); P2 =
 * 97/9A name the auth/sign key by SFI.  Without the matching PIN: 6982
 * (docs/card.md#modelled-assumptions, the ISO-conventional choice).  00 2A
 * answers 6E00 (the dispatcher: the instruction exists only in class 80). */
static int jpki_sign(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	cardos_ef_t *key;
	int sw;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if ((sw = cardos_ref(os, a->p2, CARDOS_EF_KEY, &key)))
		return sw;
	return cardos_sign(os, key, a, r);
}

/* 80 FC 00 00, the iPhone's last-command indicator: a card answers 6700
 * (docs/card.md#commands [L]); what the profile says otherwise. */
static int jpki_fc(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	const jpki_app_t *app = (const jpki_app_t *)os->cur_app->def;

	(void)a;
	(void)r;
	return app->sw_80fc ? app->sw_80fc : SW_WRONG_LENGTH;
}

static const cardos_cmd_t jpki_cmds[] = {
	{ 0x80, 0x2A, jpki_sign },
	{ 0x80, 0xFC, jpki_fc },
};

void jpki_app_init(jpki_app_t *app, const jpki_opts_t *o)
{
	memset(app, 0, sizeof *app);
	memcpy(app->efs, jpki_efs, sizeof app->efs);
	for (size_t i = 0; i < JPKI_N_EFS; i++)
		if (app->efs[i].fid == EF_AUTH_CERT && o->auth_cert_pin)
			app->efs[i].acl[0] = EF_AUTH_PIN;
	app->sw_80fc = o->sw_80fc;
	app->def.ns = "jpki";
	memcpy(app->def.aid, jpki_aid, sizeof jpki_aid);
	app->def.aid_len = sizeof jpki_aid;
	app->def.efs = app->efs;
	app->def.n_efs = JPKI_N_EFS;
	memcpy(app->cmds, jpki_cmds, sizeof jpki_cmds);
	app->def.n_cmds = sizeof jpki_cmds / sizeof jpki_cmds[0];
	if (o->verify)
		app->cmds[app->def.n_cmds++] = (cardos_cmd_t){ 0x00, 0x20, o->verify };
	app->def.cmds = app->cmds;
}

/* docs/card.md#jpki-ap.  The iPhone token is single-source [M/L]; it is treated
 * as a phone, like Android. */
static const struct {
	const char *name;
	jpki_opts_t opts;
} tokens[] = {
	{ JPKI_TOKEN_CARD, { .auth_cert_pin = 0 } },
	{ JPKI_TOKEN_JUKI, { .auth_cert_pin = 0 } },
	/* 80 FC: not known for Android (6D00, no such instruction); the
	 * iPhone accepts it (docs/card.md#smartphone-token: SOL only [L]). */
	{ JPKI_TOKEN_GPSE, { .auth_cert_pin = 1, .sw_80fc = SW_INS_NOT_SUPPORTED } },
	{ JPKI_TOKEN_IOS, { .auth_cert_pin = 1, .sw_80fc = SW_OK } },
};

void jpki_opts_for_token(const uint8_t *ef, size_t n, jpki_opts_t *o)
{
	memset(o, 0, sizeof *o);
	if (!ef)
		return;
	if (n > JPKI_TOKEN_LEN)
		n = JPKI_TOKEN_LEN;
	while (n && (ef[n - 1] == ' ' || ef[n - 1] == 0))
		n--;
	for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
		if (strlen(tokens[i].name) == n && memcmp(tokens[i].name, ef, n) == 0)
			*o = tokens[i].opts;
}

void jpki_opts_for_profile(const card_profile_t *p, jpki_opts_t *o)
{
	if (p->sw_80fc)
		o->sw_80fc = p->sw_80fc;
}

/* ---- personalisation -------------------------------------------------- */

/* A certificate must start with a definite SEQUENCE header of the 30 82
 * LL LL form: OpenSC sizes the read from bytes 2-3 (docs/card.md#files,
 * #clients). Returns the DER length, 0 if unusable. */
static size_t cert_len(const card_blob_t *b)
{
	tlv_t t;

	if (!b->p || b->n < 4 || b->p[0] != 0x30 || b->p[1] != 0x82)
		return 0;
	if (tlv_parse(b->p, b->n, &t) <= 0 || t.size > JPKI_CERT_MAX)
		return 0;
	return t.size;
}

/* The size of a certificate EF on this card. */
static size_t ef_size(const card_profile_t *p, uint16_t fid)
{
	uint16_t n = fid == EF_SIGN_CERT ? p->ef.sign_cert
		     : fid == EF_SIGN_CA ? p->ef.sign_ca
		     : fid == EF_AUTH_CERT ? p->ef.auth_cert : p->ef.auth_ca;

	return n ? n : fid == EF_SIGN_CA || fid == EF_AUTH_CA ? CARD_EF_SIZE_CA : CARD_EF_SIZE_CERT;
}

static int key_ok(const card_blob_t *b)
{
	EVP_PKEY *k = cardos_key_parse(b->p, b->n, 2048); /* docs/card.md#signing: RSA-2048 */

	EVP_PKEY_free(k);
	return k != NULL;
}

int jpki_profile_check(const card_profile_t *p)
{
	int sign = p->sign_cert.n != 0;

	if (p->token && !card_str_ok(p->token, 1, JPKI_TOKEN_LEN,
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"))
		return SIM_ERR_PROFILE;
	/* docs/card.md#pins: auth PIN exactly 4 digits; sign password 6-16 of
	 * upper-case A-Z and 0-9. */
	if (!card_str_ok(p->pins.auth, 4, 4, CARD_DIGITS))
		return SIM_ERR_PROFILE;
	if (!cert_len(&p->auth_cert) || !cert_len(&p->auth_ca) || !key_ok(&p->auth_key))
		return SIM_ERR_PROFILE;
	if (p->sign_ca.n && !cert_len(&p->sign_ca))
		return SIM_ERR_PROFILE;
	if (p->sw_80fc && p->sw_80fc != SW_WRONG_LENGTH && p->sw_80fc != SW_INS_NOT_SUPPORTED &&
	    p->sw_80fc != SW_OK)
		return SIM_ERR_PROFILE;
	/* Every certificate fits its EF (docs/card.md#files). */
	if (cert_len(&p->auth_cert) > ef_size(p, EF_AUTH_CERT) || cert_len(&p->auth_ca) > ef_size(p, EF_AUTH_CA) ||
	    cert_len(&p->sign_ca) > ef_size(p, EF_SIGN_CA) || cert_len(&p->sign_cert) > ef_size(p, EF_SIGN_CERT))
		return SIM_ERR_PROFILE;
	if (!sign) /* a minor: no sign certificate, key or password */
		return p->pins.sign || p->sign_key.n ? SIM_ERR_PROFILE : SIM_OK;
	if (!card_str_ok(p->pins.sign, 6, 16, CARD_UPPER_DIGITS) ||
	    !cert_len(&p->sign_cert) || !p->sign_ca.n || !key_ok(&p->sign_key))
		return SIM_ERR_PROFILE;
	return SIM_OK;
}

static int put_def(nvm_t *nvm, const char *ns, const cardos_ef_def_t *d, const void *val, size_t len)
{
	return d ? cardos_perso(nvm, ns, d, val, len) : NVM_ERR_ARG;
}

static const cardos_ef_def_t *def_of(uint16_t fid)
{
	for (size_t i = 0; i < JPKI_N_EFS; i++)
		if (jpki_efs[i].fid == fid)
			return &jpki_efs[i];
	return NULL;
}

static int put(nvm_t *nvm, uint16_t fid, const void *val, size_t len)
{
	return put_def(nvm, "jpki", def_of(fid), val, len);
}

/* The DER (der bytes of b) at offset 0, then filler to size bytes
 * (size >= der). */
static int cert_ef(nvm_t *nvm, const char *ns, const cardos_ef_def_t *d, const card_blob_t *b,
		   size_t der, size_t size, uint8_t filler)
{
	uint8_t *ef;
	int rc;

	if (size < der)
		return NVM_ERR_ARG;
	if (!(ef = malloc(size)))
		return NVM_ERR_NOMEM;
	memcpy(ef, b->p, der);
	memset(ef + der, filler, size - der);
	rc = put_def(nvm, ns, d, ef, size);
	free(ef);
	return rc;
}

static int put_cert(nvm_t *nvm, const card_profile_t *p, uint16_t fid, const card_blob_t *b)
{
	return cert_ef(nvm, "jpki", def_of(fid), b, cert_len(b), ef_size(p, fid), p->ef.filler);
}

int jpki_put_ef(nvm_t *nvm, const jpki_app_t *app, uint16_t fid, const void *val, size_t len)
{
	return put_def(nvm, app->def.ns, cardos_def_by_fid(&app->def, fid), val, len);
}

int jpki_put_cert(nvm_t *nvm, const jpki_app_t *app, uint16_t fid, const uint8_t *der, size_t n)
{
	card_blob_t b = { der, n };
	size_t len = cert_len(&b);
	/* A phone's EF sizes are not public: the card's defaults, and room
	 * for a larger certificate rounded up to 256 bytes. */
	size_t size = fid == EF_SIGN_CA || fid == EF_AUTH_CA ? CARD_EF_SIZE_CA : CARD_EF_SIZE_CERT;

	if (!len || len != n)
		return NVM_ERR_ARG;
	if (len > size)
		size = (len + CERT_EF_STEP - 1) / CERT_EF_STEP * CERT_EF_STEP;
	return cert_ef(nvm, app->def.ns, cardos_def_by_fid(&app->def, fid), &b, len, size, 0x00);
}

void jpki_token_ef(uint8_t out[JPKI_TOKEN_EF], const char *token)
{
	size_t n = strlen(token);

	memset(out, 0, JPKI_TOKEN_EF);
	memset(out, ' ', JPKI_TOKEN_LEN);
	memcpy(out, token, n < JPKI_TOKEN_LEN ? n : JPKI_TOKEN_LEN);
}

int jpki_personalise(nvm_t *nvm, const card_profile_t *p)
{
	const char *token = p->token ? p->token : JPKI_TOKEN_CARD;
	int sign = p->sign_cert.n != 0;
	uint8_t tok[JPKI_TOKEN_EF];
	const uint8_t presence[3] = { sign ? 0x8F : 0x00, 0x8F, 0x00 };
	int rc;

	jpki_token_ef(tok, token);
	memcpy(tok + JPKI_TOKEN_LEN, p->token_info ? p->token_info : card_token_info_default, CARD_TOKEN_INFO_LEN);
	if ((rc = put(nvm, EF_TOKEN, tok, sizeof tok)) ||
	    (rc = put(nvm, EF_PRESENCE, presence, sizeof presence)) ||
	    (rc = put_cert(nvm, p, EF_AUTH_CERT, &p->auth_cert)) ||
	    (rc = put_cert(nvm, p, EF_AUTH_CA, &p->auth_ca)) ||
	    (rc = put(nvm, EF_AUTH_KEY, p->auth_key.p, p->auth_key.n)) ||
	    (rc = put(nvm, EF_AUTH_PIN, p->pins.auth, strlen(p->pins.auth))))
		return rc;
	if (p->sign_ca.n && (rc = put_cert(nvm, p, EF_SIGN_CA, &p->sign_ca)))
		return rc;
	if (!sign)
		return NVM_OK;
	if ((rc = put_cert(nvm, p, EF_SIGN_CERT, &p->sign_cert)) ||
	    (rc = put(nvm, EF_SIGN_KEY, p->sign_key.p, p->sign_key.n)) ||
	    (rc = put(nvm, EF_SIGN_PIN, p->pins.sign, strlen(p->pins.sign))))
		return rc;
	return NVM_OK;
}

/* ---- renewal ----------------------------------------------------------- */

/* 1 if the NVM record of def holds exactly key[0..n). */
static int holds_key(nvm_t *nvm, const cardos_ef_def_t *def, const uint8_t *key, size_t n)
{
	char name[CARDOS_NAME_MAX];
	const uint8_t *v;
	size_t vn;

	if (cardos_nvm_name(name, sizeof name, "jpki", def, 0) < 0 || !(v = nvm_get(nvm, name, &vn)))
		return 0;
	return vn == n && memcmp(v, key, n) == 0;
}

/* The certificate's public key is the private key's. */
static int cert_certifies(const uint8_t *der, size_t n, const uint8_t *key, size_t kn)
{
	size_t used = 0;
	X509 *x = dcache_cert(der, n, &used);
	EVP_PKEY *k = cardos_key_parse(key, kn, 2048); /* docs/card.md#signing: RSA-2048 */
	int ok = x && k && used == n && EVP_PKEY_eq(X509_get0_pubkey(x), k) == 1;

	X509_free(x);
	EVP_PKEY_free(k);
	return ok;
}

/* The size of a certificate EF as stored, and its filler (the byte after
 * the DER; 00 when the DER fills it).  0 when there is no such EF. */
static int ef_layout(nvm_t *nvm, const cardos_ef_def_t *def, size_t *size, uint8_t *filler)
{
	char name[CARDOS_NAME_MAX];
	const uint8_t *v;
	card_blob_t b;
	size_t der;

	if (cardos_nvm_name(name, sizeof name, "jpki", def, 0) < 0 || !(v = nvm_get(nvm, name, size)))
		return 0;
	b.p = v;
	b.n = *size;
	der = cert_len(&b);
	*filler = der && der < *size ? v[der] : 0x00;
	return 1;
}

int jpki_holds_key(nvm_t *nvm, const uint8_t *key, size_t kn)
{
	for (size_t i = 0; i < JPKI_N_EFS; i++)
		if (jpki_efs[i].type == CARDOS_EF_KEY && holds_key(nvm, &jpki_efs[i], key, kn))
			return 1;
	return 0;
}

int jpki_renew(nvm_t *nvm, int sign, const uint8_t *key, size_t kn, const uint8_t *cert, size_t cn)
{
	const cardos_ef_def_t *kdef = def_of(sign ? EF_SIGN_KEY : EF_AUTH_KEY);
	const cardos_ef_def_t *cdef = def_of(sign ? EF_SIGN_CERT : EF_AUTH_CERT);
	card_blob_t b = { cert, cn };
	size_t size = 0;
	uint8_t filler = 0;
	int rc;

	if (!key || !cert || cert_len(&b) != cn || !cert_certifies(cert, cn, key, kn))
		return SIM_ERR_ARG;
	{
		char name[CARDOS_NAME_MAX];
		size_t n;
		/* A minor's card has no sign pair to renew. */
		if (cardos_nvm_name(name, sizeof name, "jpki", kdef, 0) < 0 || !nvm_get(nvm, name, &n))
			return SIM_ERR_ARG;
	}
	/* A renewal brings a new key pair, not one the card already holds. */
	if (jpki_holds_key(nvm, key, kn))
		return SIM_ERR_PROFILE;
	/* The EF keeps its size and filler: a certificate that does not fit
	 * cannot be written (docs/card.md#files). */
	if (!ef_layout(nvm, cdef, &size, &filler) || cn > size)
		return SIM_ERR_ARG;
	if ((rc = nvm_begin(nvm)) != NVM_OK)
		return rc == NVM_ERR_POWER ? SIM_ERR_MUTE : SIM_ERR_ARG;
	if ((rc = put_def(nvm, "jpki", kdef, key, kn)) != NVM_OK ||
	    (rc = cert_ef(nvm, "jpki", cdef, &b, cn, size, filler)) != NVM_OK ||
	    (rc = nvm_commit(nvm)) != NVM_OK) {
		if (rc != NVM_ERR_POWER)
			nvm_abort(nvm);
		return rc == NVM_ERR_POWER ? SIM_ERR_MUTE : rc == NVM_ERR_NOMEM ? SIM_ERR_NOMEM : SIM_ERR_ARG;
	}
	return SIM_OK;
}
