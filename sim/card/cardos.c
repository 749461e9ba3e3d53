/* cardos.c — the ISO/IEC 7816-4 base of the simulated card: class and
 * instruction dispatch, SELECT, READ BINARY, VERIFY, CHANGE REFERENCE
 * DATA, GET CHALLENGE and the private-key operation the personalities
 * use.  Status words follow docs/card.md#commands, #pins, #status-words and
 * #clients.
 *
 * Hot path: SELECT EF + READ BINARY allocate nothing and format nothing;
 * the NVM record names were built by cardos_init(). */
#include "cardos_int.h"
#include "../core/dcache.h"

#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define SFI_MAX 0x1E

/* ---- NVM access ---------------------------------------------------- */

/* One value in one committed transaction.  A tear (NVM_ERR_POWER) at any
 * step makes the card mute; the journal rolls the transaction back at the
 * next power-up. */
static int nv_write(cardos_t *os, const char *key, const void *val, size_t len)
{
	nvm_t *n = os->ctx->nvm;
	int rc;

	if ((rc = nvm_begin(n)) == NVM_OK && (rc = nvm_put(n, key, val, len)) == NVM_OK)
		rc = nvm_commit(n);
	if (rc == NVM_OK)
		return 0;
	if (rc != NVM_ERR_POWER)
		nvm_abort(n);
	return rc == NVM_ERR_POWER ? CARDOS_TORN : SW_MEMORY_FAILURE;
}

int cardos_present(const cardos_t *os, const cardos_ef_t *ef)
{
	size_t n;

	return nvm_get(os->ctx->nvm, ef->key, &n) != NULL;
}

int cardos_allowed(const cardos_t *os, const cardos_ef_t *ef)
{
	return ef->acl == 0 || (os->verified & ef->acl) != 0;
}

/* The retry counter: one byte.  Returns 0 or a status word. */
static int pin_ctr(const cardos_t *os, const cardos_ef_t *ef, unsigned *ctr)
{
	const uint8_t *v;
	size_t n;

	if (!(v = nvm_get(os->ctx->nvm, ef->ctr, &n)))
		return SW_REF_NOT_FOUND;
	if (n != 1)
		return SW_MEMORY_FAILURE;
	*ctr = v[0];
	return 0;
}

/* Constant time in the value and in both lengths up to 16 bytes. */
static int pin_matches(const cardos_t *os, const cardos_ef_t *ef, const uint8_t *pin, size_t len)
{
	uint8_t a[CARDOS_PIN_MAX] = { 0 }, b[CARDOS_PIN_MAX] = { 0 };
	const uint8_t *v;
	size_t n = 0;
	int diff;

	v = nvm_get(os->ctx->nvm, ef->key, &n);
	if (!v || n > CARDOS_PIN_MAX || len > CARDOS_PIN_MAX)
		return 0;
	memcpy(a, v, n);
	memcpy(b, pin, len);
	diff = CRYPTO_memcmp(a, b, sizeof a) | (int)(n ^ len);
	OPENSSL_cleanse(a, sizeof a);
	OPENSSL_cleanse(b, sizeof b);
	return diff == 0;
}

/* ---- lookups --------------------------------------------------------- */

static cardos_ef_t *ef_by_fid(cardos_app_t *app, uint16_t fid)
{
	for (size_t i = 0; fid && i < app->n_efs; i++)
		if (app->efs[i].def->fid == fid)
			return &app->efs[i];
	return NULL;
}

/* docs/card.md#files: every EF number of these APs is 0001..001E, so the FID
 * is also the short EF identifier. */
static cardos_ef_t *ef_by_sfi(cardos_t *os, uint8_t sfi)
{
	cardos_ef_t *ef;

	if (!os->cur_app || sfi == 0 || sfi > SFI_MAX)
		return NULL;
	ef = ef_by_fid(os->cur_app, sfi);
	return ef && cardos_present(os, ef) ? ef : NULL;
}

/* P2 = 80: the current EF (no current EF: 6986; current EF of another
 * kind: 6A88, "referenced data not found").  P2 = 80|SFI names the
 * object directly (docs/card.md#commands, SOL: 98 = EF 0018, 97/9A = the keys);
 * missing or of another kind: 6A88.  Other P2 values: 6A86. */
int cardos_ref(cardos_t *os, uint8_t p2, enum cardos_ef_type type, cardos_ef_t **ef)
{
	if (p2 == 0x80) {
		if (!os->cur_ef)
			return SW_NO_EF;
		*ef = os->cur_ef;
	} else if ((p2 & 0xE0) == 0x80) {
		if (!(*ef = ef_by_sfi(os, p2 & 0x1F)))
			return SW_REF_NOT_FOUND;
	} else {
		return SW_WRONG_P1P2;
	}
	return (*ef)->def->type == type ? 0 : SW_REF_NOT_FOUND;
}

/* ---- SELECT ---------------------------------------------------------- */

/* P2 = 0C: no response data.  P2 = 00 with Le: an FCI 6F { 84 AID } (the
 * real FCI content is undocumented, docs/card.md#commands).  Any successful
 * SELECT of an application, the same one included, clears the security status
 * (docs/card.md#security-status: OpenSC logs out by re-selecting the AP). */
static int select_aid(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	cardos_app_t *app = NULL;
	uint8_t fci[4 + CARDOS_AID_MAX];
	size_t fci_len = 0;

	if (a->p2 != 0x0C && a->p2 != 0x00)
		return SW_WRONG_P1P2;
	if ((a->icase != 3 && a->icase != 4) || a->lc < 5 || a->lc > CARDOS_AID_MAX)
		return SW_WRONG_LENGTH;
	for (size_t i = 0; i < os->n_apps && !app; i++)
		if (os->apps[i].def->aid_len == a->lc &&
		    memcmp(os->apps[i].def->aid, a->data, a->lc) == 0)
			app = &os->apps[i];
	if (!app)
		return SW_FILE_NOT_FOUND;
	if (a->p2 == 0x00 && a->icase == 4) {
		fci[0] = 0x6F;
		fci[1] = (uint8_t)(2 + a->lc);
		fci[2] = 0x84;
		fci[3] = (uint8_t)a->lc;
		memcpy(fci + 4, a->data, a->lc);
		fci_len = 4 + a->lc;
		if (a->le < fci_len)
			return 0x6C00 | (int)fci_len; /* not executed: re-send with this Le */
		if (r->cap < fci_len + 2)
			return CARDOS_NOROOM;
	}
	os->cur_app = app;
	os->cur_ef = NULL;
	os->verified = 0;
	if (fci_len)
		apdu_rsp_put(r, fci, fci_len);
	return SW_OK;
}

/* Within the current application only; 6A82 for unknown or absent
 * objects (a minor's card has no EF 0001/001A/001B).  A failed SELECT
 * keeps the current EF. */
static int select_ef(cardos_t *os, const apdu_t *a)
{
	cardos_ef_t *ef;

	if (a->p2 != 0x0C)
		return SW_WRONG_P1P2;
	if ((a->icase != 3 && a->icase != 4) || a->lc != 2)
		return SW_WRONG_LENGTH;
	if (!os->cur_app)
		return SW_FILE_NOT_FOUND;
	ef = ef_by_fid(os->cur_app, (uint16_t)(a->data[0] << 8 | a->data[1]));
	if (!ef || !cardos_present(os, ef))
		return SW_FILE_NOT_FOUND;
	os->cur_ef = ef;
	return SW_OK;
}

static int cmd_select(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	switch (a->p1) {
	case 0x04:
		return select_aid(os, a, r);
	case 0x02:
		return select_ef(os, a);
	default:
		/* SOL saw 00 A4 00 00 (MF) answer 6A86 after reset
		 * (docs/card.md#commands). */
		return SW_WRONG_P1P2;
	}
}

/* ---- READ BINARY ------------------------------------------------------ */

/* P1 bit 8 = 0: 15-bit offset in the current EF.  P1 = 100xxxxx: SFI,
 * 8-bit offset in P2, and the EF becomes current.  The card returns up to
 * the end of the file with 9000 even when fewer bytes than Le remain:
 * MYNA treats any SW but 9000 as failure, so no 6282 (docs/card.md#commands,
 * #clients). An offset at or past the end: 6B00. */
static int cmd_read_binary(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	cardos_ef_t *ef;
	const uint8_t *v;
	size_t off, n, k, room;

	if (a->icase != 2)
		return SW_WRONG_LENGTH;
	if (a->p1 & 0x80) {
		if (a->p1 & 0x60)
			return SW_WRONG_P1P2;
		if (!(ef = ef_by_sfi(os, a->p1 & 0x1F)))
			return SW_FILE_NOT_FOUND;
		os->cur_ef = ef;
		off = a->p2;
	} else {
		if (!(ef = os->cur_ef))
			return SW_NO_EF;
		off = (size_t)a->p1 << 8 | a->p2;
	}
	if (ef->def->type != CARDOS_EF_BINARY)
		return SW_FILE_INCOMPATIBLE;
	if (!cardos_allowed(os, ef))
		return SW_SEC_STATUS;
	if (!(v = nvm_get(os->ctx->nvm, ef->key, &n)))
		return SW_MEMORY_FAILURE;
	if (off >= n)
		return SW_INCORRECT_P1P2;
	k = n - off < a->le ? n - off : a->le;
	room = r->cap - 2 - r->len;
	apdu_rsp_put(r, v + off, k < room ? k : room);
	return SW_OK;
}

/* ---- VERIFY / CHANGE REFERENCE DATA ------------------------------------ */

/* Anti-tearing order (the counter is spent before the value is looked
 * at): a power cut can never give a free guess.
 *   1. counter 0: 6984, nothing written (docs/card.md#pins: 63C0 is the
 *      attempt that exhausts, 6984 every later one);
 *   2. counter - 1 committed;
 *   3. constant-time compare;
 *   4. match: counter back to max (a second transaction), status set.
 * Case 1 (no data) is the retries query: 63Cx, no attempt used, also when
 * already verified (OpenSC's GET_INFO requires SW1 = 63); a blocked PIN
 * answers 6984 there too, which SOL maps to "blocked". */
int cardos_verify(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	cardos_ef_t *ef;
	unsigned ctr;
	int sw;

	(void)r;
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if ((sw = cardos_ref(os, a->p2, CARDOS_EF_PIN, &ef)))
		return sw;
	if (a->icase != 1 && (a->icase != 3 || a->lc > CARDOS_PIN_MAX))
		return SW_WRONG_LENGTH;
	if ((sw = pin_ctr(os, ef, &ctr)))
		return sw;
	if (a->icase == 1)
		return ctr ? SW_VERIFY_FAIL(ctr) : SW_REF_DATA_BLOCKED;
	os->verified &= ~ef->bit; /* a failed attempt ends the old session */
	if (ctr == 0)
		return SW_REF_DATA_BLOCKED;
	ctr--;
	if (mut_on(MUT_PIN_FREE))
		ctr++;
	if ((sw = nv_write(os, ef->ctr, &(uint8_t){ (uint8_t)ctr }, 1)))
		return sw;
	if (!pin_matches(os, ef, a->data, a->lc))
		return SW_VERIFY_FAIL(ctr);
	if ((sw = nv_write(os, ef->ctr, &(uint8_t){ ef->def->max_tries }, 1)))
		return sw;
	os->ctx->pin_restores++;
	os->verified |= ef->bit;
	return SW_OK;
}

/* 00 24 01 80 <new value> (docs/card.md#commands: MYNA, SOL) after VERIFY of
 * the same object in this session; P1 = 00 (old + new) is not offered. */
static int cmd_change(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	cardos_ef_t *ef;
	int sw;

	(void)r;
	if (a->p1 != 0x01)
		return SW_WRONG_P1P2;
	if ((sw = cardos_ref(os, a->p2, CARDOS_EF_PIN, &ef)))
		return sw;
	if (a->icase != 3 || a->lc == 0 || a->lc > CARDOS_PIN_MAX)
		return SW_WRONG_LENGTH;
	if (!(os->verified & ef->bit))
		return SW_SEC_STATUS;
	return (sw = nv_write(os, ef->key, a->data, a->lc)) ? sw : SW_OK;
}

/* ---- GET CHALLENGE ------------------------------------------------------ */

/* 1..256 bytes in any state; SOL saw the extended form refused with 6985
 * (docs/card.md#commands). */
static int cmd_get_challenge(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	uint8_t buf[256];

	if (a->p1 || a->p2)
		return SW_WRONG_P1P2;
	if (a->icase != 2)
		return SW_WRONG_LENGTH;
	if (a->ext)
		return SW_CONDITIONS;
	if (r->cap < a->le + 2)
		return CARDOS_NOROOM;
	rng_bytes(os->ctx->rng, buf, a->le);
	apdu_rsp_put(r, buf, a->le);
	return SW_OK;
}

/* ---- keys ----------------------------------------------------------------- */

EVP_PKEY *cardos_key_parse(const uint8_t *der, size_t n, int bits)
{
	size_t used = 0;
	EVP_PKEY *k;

	if (!der || n == 0 || n > 0x7FFFFFFF)
		return NULL;
	/* Decoded once per process: the key pool's keys come back in
	 * every SE the TSM personalises (sim/core/dcache.h). */
	k = dcache_key(der, n, &used);
	if (k && (used != n || !EVP_PKEY_is_a(k, "RSA") ||
		  (bits && EVP_PKEY_get_bits(k) != bits))) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

static void key_forget(cardos_ef_t *ef)
{
	EVP_PKEY_CTX_free(ef->sign);
	EVP_PKEY_free(ef->pkey);
	ef->sign = NULL;
	ef->pkey = NULL;
}

/* Parse once and keep a context ready for RSA_PKCS1_PADDING with no
 * digest: OpenSSL then pads the input as-is (type 1) and signs, which is
 * the card's P1 = 00 behaviour. */
static EVP_PKEY_CTX *key_ctx(cardos_t *os, cardos_ef_t *ef)
{
	const uint8_t *der;
	size_t n;

	if (ef->sign)
		return ef->sign;
	if (!(der = nvm_get(os->ctx->nvm, ef->key, &n)) || !(ef->pkey = cardos_key_parse(der, n, 0)))
		goto fail;
	if (!(ef->sign = EVP_PKEY_CTX_new_from_pkey(NULL, ef->pkey, NULL)) ||
	    EVP_PKEY_sign_init(ef->sign) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ef->sign, RSA_PKCS1_PADDING) <= 0)
		goto fail;
	return ef->sign;
fail:
	key_forget(ef);
	return NULL;
}

void cardos_forget_keys(cardos_t *os)
{
	for (size_t i = 0; i < os->n_apps; i++)
		for (size_t j = 0; j < os->apps[i].n_efs; j++)
			key_forget(&os->apps[i].efs[j]);
}

int cardos_sign(cardos_t *os, cardos_ef_t *key, const apdu_t *a, apdu_rsp_t *r)
{
	uint8_t sig[512];
	size_t k, siglen = sizeof sig;
	EVP_PKEY_CTX *ctx;

	if (!cardos_allowed(os, key))
		return SW_SEC_STATUS;
	if (!(ctx = key_ctx(os, key)))
		return SW_MEMORY_FAILURE;
	k = (size_t)EVP_PKEY_get_size(key->pkey);
	if (k > sizeof sig)
		return SW_NO_PRECISE;
	/* PKCS#1 v1.5 type 1 needs 11 bytes of overhead: 245 for RSA-2048. */
	if (a->icase < 3 || a->lc > k - 11 || (a->le && a->le < k))
		return SW_WRONG_LENGTH;
	if (r->cap < k + 2)
		return CARDOS_NOROOM;
	if (EVP_PKEY_sign(ctx, sig, &siglen, a->data, a->lc) <= 0)
		return SW_NO_PRECISE;
	apdu_rsp_put(r, sig, siglen);
	OPENSSL_cleanse(sig, sizeof sig);
	return SW_OK;
}

/* ---- dispatch -------------------------------------------------------------- */

/* The ISO base every application starts from. */
static const cardos_cmd_t base_cmds[] = {
	{ 0x00, 0x20, cardos_verify },
	{ 0x00, 0x24, cmd_change },
	{ 0x00, 0x84, cmd_get_challenge },
	{ 0x00, 0xA4, cmd_select },
	{ 0x00, 0xB0, cmd_read_binary },
};

/* First interindustry (0x00-0x0F) and its proprietary mirror (0x80-0x8F)
 * carry the channel in bits 2-1 and secure messaging in bits 4-3;
 * 0x40-0x7F are channels 4-19.  docs/card.md#status-words: other channels 6881,
 * SM (08/0C) 6882.  Chaining and every other class: 6E00. */
static int cla_check(uint8_t cla)
{
	if ((cla & 0xC0) == 0x40)
		return SW_LOGICAL_CHANNEL;
	if (cla & 0x70)
		return SW_CLA_NOT_SUPPORTED;
	if (cla & 0x03)
		return SW_LOGICAL_CHANNEL;
	if (cla & 0x0C)
		return SW_SM_NOT_SUPPORTED;
	return 0;
}

/* Unknown INS: 6D00.  A known INS in the other class (00 2A, 80 B0...):
 * 6E00, "class not supported" for that instruction. */
static int dispatch(cardos_t *os, const uint8_t *cmd, size_t len, apdu_rsp_t *r)
{
	const cardos_cmd_t *const *disp = os->cur_app ? os->cur_app->disp : os->mf_disp;
	const cardos_cmd_t *c;
	apdu_t a;
	int sw;

	if (len < 4)
		return SW_WRONG_LENGTH;
	if ((sw = cla_check(cmd[0])))
		return sw;
	if (!(c = disp[cmd[1]]))
		return SW_INS_NOT_SUPPORTED;
	if (c->cla != cmd[0])
		return SW_CLA_NOT_SUPPORTED;
	if ((sw = apdu_parse(&a, cmd, len)))
		return sw;
	return c->fn(os, &a, r);
}

int cardos_transmit(cardos_t *os, const uint8_t *cmd, size_t len, apdu_rsp_t *r)
{
	int sw;

	r->len = 0;
	if (r->cap < 2)
		return SIM_ERR_ARG;
	sw = dispatch(os, cmd, len, r);
	if (sw == CARDOS_TORN) {
		r->len = 0;
		return SIM_ERR_MUTE;
	}
	if (sw == CARDOS_NOROOM) {
		r->len = 0;
		return SIM_ERR_ARG;
	}
	/* Data goes out only with 9000; errors carry none. */
	if (sw == SW_OK)
		apdu_rsp_sw(r, (uint16_t)sw);
	else
		apdu_rsp_error(r, (uint16_t)sw);
	return SIM_OK;
}

/* ---- set-up ---------------------------------------------------------------- */

int cardos_chip_transmit(cardos_t *os, int *powered, const uint8_t *cmd, size_t len, uint8_t *rsp,
			 size_t cap, size_t *rsplen)
{
	apdu_rsp_t r = { .buf = rsp, .cap = cap, .len = 0 };
	int rc;

	if (!rsp || !rsplen || (!cmd && len))
		return SIM_ERR_ARG;
	*rsplen = 0;
	if (!*powered)
		return SIM_ERR_MUTE;
	rc = cardos_transmit(os, cmd, len, &r);
	if (rc == SIM_ERR_MUTE) {
		*powered = 0;
		cardos_reset(os);
	}
	if (rc == SIM_OK)
		*rsplen = r.len;
	return rc;
}

int cardos_nvm_name(char *out, size_t cap, const char *ns, const cardos_ef_def_t *def, int ctr)
{
	int n;

	switch (def->type) {
	case CARDOS_EF_BINARY:
		n = snprintf(out, cap, "%s/ef/%04X", ns, def->fid);
		break;
	case CARDOS_EF_PIN:
		n = snprintf(out, cap, "%s/pin/%04X/%s", ns, def->fid, ctr ? "ctr" : "val");
		break;
	case CARDOS_EF_KEY:
		if (def->fid)
			n = snprintf(out, cap, "%s/key/%04X", ns, def->fid);
		else
			n = snprintf(out, cap, "%s/key/%s", ns, def->name ? def->name : "");
		break;
	default:
		return -1;
	}
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int cardos_perso(nvm_t *nvm, const char *ns, const cardos_ef_def_t *def,
		 const void *val, size_t len)
{
	char name[CARDOS_NAME_MAX];
	int rc;

	if (cardos_nvm_name(name, sizeof name, ns, def, 0) < 0)
		return NVM_ERR_ARG;
	if ((rc = nvm_put(nvm, name, val, len)) != NVM_OK || def->type != CARDOS_EF_PIN)
		return rc;
	if (cardos_nvm_name(name, sizeof name, ns, def, 1) < 0)
		return NVM_ERR_ARG;
	return nvm_put(nvm, name, &def->max_tries, 1);
}

size_t cardos_pins(const nvm_t *nvm, const cardos_app_def_t *app, sim_pin_view_t *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < app->n_efs && k < cap; i++) {
		const cardos_ef_def_t *d = &app->efs[i];
		char name[CARDOS_NAME_MAX];
		const uint8_t *v;
		size_t n;

		if (d->type != CARDOS_EF_PIN || cardos_nvm_name(name, sizeof name, app->ns, d, 1) < 0)
			continue;
		v = nvm_get(nvm, name, &n);
		out[k].fid = d->fid;
		out[k].max = d->max_tries;
		out[k].tries = v && n == 1 ? v[0] : -1;
		k++;
	}
	return k;
}

const cardos_ef_def_t *cardos_def_by_fid(const cardos_app_def_t *app, uint16_t fid)
{
	for (size_t i = 0; fid && i < app->n_efs; i++)
		if (app->efs[i].fid == fid)
			return &app->efs[i];
	return NULL;
}

/* ---- checking a loaded image --------------------------------------------- */

/* READ BINARY reaches offsets up to 7FFF; no EF this OS writes is longer. */
#define EF_MAX 0x8000

static const char *value_check(const cardos_ef_def_t *d, const uint8_t *v, size_t n)
{
	EVP_PKEY *k;

	switch (d->type) {
	case CARDOS_EF_BINARY:
		return n <= EF_MAX ? NULL : "file longer than READ BINARY can address";
	case CARDOS_EF_PIN:
		return n >= 1 && n <= CARDOS_PIN_MAX ? NULL : "PIN value not 1 to 16 bytes";
	case CARDOS_EF_KEY:
		k = cardos_key_parse(v, n, 0);
		EVP_PKEY_free(k);
		return k ? NULL : "not an RSA private key";
	}
	return "object of an unknown type";
}

/* A counter above max_tries would hand out tries the card never had. */
static const char *ctr_check(const cardos_ef_def_t *d, const uint8_t *v, size_t n)
{
	return n == 1 && v[0] <= d->max_tries ? NULL : "PIN retry counter not one byte within the PIN's tries";
}

const char *cardos_check(const cardos_app_def_t *app, const char *key, const uint8_t *v, size_t n)
{
	char name[CARDOS_NAME_MAX];

	for (size_t i = 0; i < app->n_efs; i++) {
		const cardos_ef_def_t *d = &app->efs[i];

		if (cardos_nvm_name(name, sizeof name, app->ns, d, 0) == 0 && strcmp(name, key) == 0)
			return value_check(d, v, n);
		if (d->type == CARDOS_EF_PIN && cardos_nvm_name(name, sizeof name, app->ns, d, 1) == 0 &&
		    strcmp(name, key) == 0)
			return ctr_check(d, v, n);
	}
	return "no object of the application has this name";
}

static void fill_disp(const cardos_cmd_t **disp, const cardos_cmd_t *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		disp[cmds[i].ins] = &cmds[i];
}

static int app_init(cardos_app_t *app, const cardos_app_def_t *def)
{
	if (def->n_efs > CARDOS_MAX_EFS || def->aid_len < 5 || def->aid_len > CARDOS_AID_MAX)
		return SIM_ERR_ARG;
	app->def = def;
	app->n_efs = def->n_efs;
	for (size_t i = 0; i < def->n_efs; i++) {
		cardos_ef_t *ef = &app->efs[i];

		ef->def = &def->efs[i];
		ef->bit = UINT32_C(1) << i;
		if (cardos_nvm_name(ef->key, sizeof ef->key, def->ns, ef->def, 0) < 0 ||
		    (ef->def->type == CARDOS_EF_PIN &&
		     cardos_nvm_name(ef->ctr, sizeof ef->ctr, def->ns, ef->def, 1) < 0))
			return SIM_ERR_ARG;
	}
	/* Access rules name PIN objects by FID; resolve them to bits. */
	for (size_t i = 0; i < def->n_efs; i++) {
		for (size_t j = 0; j < CARDOS_ACL_MAX && def->efs[i].acl[j]; j++) {
			cardos_ef_t *pin = ef_by_fid(app, def->efs[i].acl[j]);

			if (!pin || pin->def->type != CARDOS_EF_PIN)
				return SIM_ERR_ARG;
			app->efs[i].acl |= pin->bit;
		}
	}
	fill_disp(app->disp, base_cmds, sizeof base_cmds / sizeof base_cmds[0]);
	if (def->cmds)
		fill_disp(app->disp, def->cmds, def->n_cmds);
	return SIM_OK;
}

int cardos_init(cardos_t *os, sim_ctx_t *ctx, const cardos_app_def_t *const *defs, size_t n)
{
	int rc;

	memset(os, 0, sizeof *os);
	if (!ctx || !ctx->nvm || !ctx->rng || n > CARDOS_MAX_APPS)
		return SIM_ERR_ARG;
	os->ctx = ctx;
	fill_disp(os->mf_disp, base_cmds, sizeof base_cmds / sizeof base_cmds[0]);
	for (size_t i = 0; i < n; i++) {
		if ((rc = app_init(&os->apps[i], defs[i])) != SIM_OK)
			return rc;
		os->n_apps++;
	}
	return SIM_OK;
}

void cardos_reset(cardos_t *os)
{
	os->cur_app = NULL;
	os->cur_ef = NULL;
	os->verified = 0;
}

#ifdef MYNAHIL_MUTANTS
void cardos_mut_refill(cardos_t *os)
{
	for (size_t i = 0; i < os->n_apps; i++)
		for (size_t k = 0; k < os->apps[i].n_efs; k++) {
			cardos_ef_t *ef = &os->apps[i].efs[k];
			size_t n;
			if (ef->def->type == CARDOS_EF_PIN && nvm_get(os->ctx->nvm, ef->ctr, &n))
				nv_write(os, ef->ctr, &ef->def->max_tries, 1);
		}
}
#endif

void cardos_free(cardos_t *os)
{
	if (os)
		cardos_forget_keys(os);
}
