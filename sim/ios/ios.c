/* ios.c — the simulated iPhone as readers see it (docs/ios.md#on-the-wire):
 * the card's JPKI AP (sim/card/jpki.c over cardos) with the iPhone token
 * JPKIAPIOSTOKEN, which brings the phone options (EF 000A behind the auth
 * PIN, 80 FC 00 00 answered 9000), and a VERIFY of its own for the auth
 * PIN: the biometric check stands in front of it (docs/ios.md#biometrics,
 * an assumption).  Without a credential the AP does not exist: SELECT
 * answers 6A82, as on a phone whose Wallet holds no My Number card. */
#include "ios_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "../core/dcache.h"
#include "../core/tlv.h"

const uint16_t ios_slot_key[2] = { JPKI_EF_AUTH_KEY, JPKI_EF_SIGN_KEY };
const uint16_t ios_slot_cert[2] = { JPKI_EF_AUTH_CERT, JPKI_EF_SIGN_CERT };
const uint16_t ios_slot_ca[2] = { JPKI_EF_AUTH_CA, JPKI_EF_SIGN_CA };
const uint16_t ios_slot_pin[2] = { JPKI_EF_AUTH_PIN, JPKI_EF_SIGN_PIN };
const char *const ios_pending_rec[2] = { IOS_REC_PENDING "auth", IOS_REC_PENDING "sign" };

/* The ATR a PC/SC reader builds for an ISO 14443-4 Type A target with no
 * historical bytes in its ATS (PC/SC Part 3, 3.1.3.2.3): 3B 80 80 01 and
 * TCK.  What an iPhone's ATS carries is not public (docs/ios.md, an
 * assumption); phones emulating a card commonly show this one. */
static const uint8_t ios_atr[] = { 0x3B, 0x80, 0x80, 0x01, 0x01 };

/* ---- the biometric VERIFY -------------------------------------------- */

/* VERIFY of the auth PIN with data goes to the biometric check while one
 * is enrolled and enabled (ios.h, enum ios_bio): a match opens the PIN
 * without a try, a failed match answers 63Cx with the tries unchanged.
 * Everything else — the retries query, the sign password, no biometrics —
 * is the card's VERIFY. */
static int ios_verify(cardos_t *os, const apdu_t *a, apdu_rsp_t *r)
{
	const ios_app_t *app = (const ios_app_t *)os->cur_app->def;
	const sim_ios_t *d = app->dev;
	cardos_ef_t *ef;
	const uint8_t *ctr;
	size_t n;

	if (a->p1 != 0x00 || cardos_ref(os, a->p2, CARDOS_EF_PIN, &ef) || ef->def->fid != JPKI_EF_AUTH_PIN ||
	    a->icase != 3 || a->lc > CARDOS_PIN_MAX || (d->bio != IOS_BIO_MATCH && d->bio != IOS_BIO_NO_MATCH))
		return cardos_verify(os, a, r);
	if (!(ctr = nvm_get(os->ctx->nvm, ef->ctr, &n)) || n != 1)
		return SW_REF_NOT_FOUND;
	os->verified &= ~ef->bit;
	/* A lock is the PIN's, lifted only by a reset with the card. */
	if (ctr[0] == 0)
		return SW_REF_DATA_BLOCKED;
	if (d->bio == IOS_BIO_NO_MATCH)
		return SW_VERIFY_FAIL(ctr[0]);
	os->verified |= ef->bit;
	return SW_OK;
}

/* ---- NVM ---------------------------------------------------------------- */

const uint8_t *ios_rec(const sim_ios_t *d, uint16_t fid, int ctr, size_t *n)
{
	const cardos_ef_def_t *def = cardos_def_by_fid(&d->app.jpki.def, fid);
	char name[CARDOS_NAME_MAX];

	if (!def || cardos_nvm_name(name, sizeof name, IOS_NS, def, ctr) < 0)
		return NULL;
	return nvm_get(d->ctx->nvm, name, n);
}

int ios_installed(const sim_ios_t *d)
{
	size_t n;

	return ios_rec(d, JPKI_EF_TOKEN, 0, &n) != NULL;
}

void ios_sync(sim_ios_t *d)
{
	const cardos_app_def_t *defs[1] = { &d->app.jpki.def };
	int want = ios_installed(d);

	if (want == d->os_apps) {
		cardos_forget_keys(&d->os); /* a key written or rolled back meanwhile */
		return;
	}
	cardos_free(&d->os);
	/* Cannot fail: the definition is the card's own, checked there. */
	cardos_init(&d->os, d->ctx, defs, want ? 1 : 0);
	d->os_apps = want;
}

int ios_nvm_fail(sim_ios_t *d, int rc)
{
	if (rc == NVM_ERR_POWER) {
		d->powered = 0;
		cardos_reset(&d->os);
		return SIM_ERR_MUTE;
	}
	nvm_abort(d->ctx->nvm);
	return rc == NVM_ERR_NOMEM ? SIM_ERR_NOMEM : SIM_ERR_ARG;
}

static void app_init(ios_app_t *app, sim_ios_t *d)
{
	jpki_opts_t o;
	uint8_t tok[JPKI_TOKEN_EF];

	jpki_token_ef(tok, JPKI_TOKEN_IOS);
	jpki_opts_for_token(tok, JPKI_TOKEN_LEN, &o);
	o.verify = ios_verify;
	jpki_app_init(&app->jpki, &o);
	app->jpki.def.ns = IOS_NS;
	app->dev = d;
}

static const char *id_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	(void)arg;
	(void)v;
	if (strcmp(key, IOS_REC_ID) == 0)
		return n == IOS_DEVICE_ID_LEN ? NULL : "device id not 16 bytes";
	return "no object of the device has this name";
}

static const char *pending_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	EVP_PKEY *k;

	(void)arg;
	if (strcmp(key, ios_pending_rec[0]) != 0 && strcmp(key, ios_pending_rec[1]) != 0)
		return "no pending key slot has this name";
	k = cardos_key_parse(v, n, 2048);
	EVP_PKEY_free(k);
	return k ? NULL : "pending key not an RSA-2048 private key";
}

static const char *ap_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	ios_app_t app;

	(void)arg;
	app_init(&app, NULL);
	return cardos_check(&app.jpki.def, key, v, n);
}

static const nvm_rule_t ios_rules[] = {
	{ IOS_REC_PENDING, pending_check },
	{ IOS_REC_ID, id_check },
	{ IOS_NS "/", ap_check },
};

int sim_ios_check_nvm(nvm_t *nvm, nvm_fault_t *f)
{
	size_t n;

	if (!nvm)
		return SIM_ERR_ARG;
	nvm_power_up(nvm);
	if (nvm_check(nvm, ios_rules, sizeof ios_rules / sizeof ios_rules[0], NULL, f) != NVM_OK)
		return SIM_ERR_IMAGE;
	if (nvm_count(nvm) && !nvm_get(nvm, IOS_REC_ID, &n)) {
		nvm_fault(f, IOS_REC_ID, "missing, yet the image holds records");
		return SIM_ERR_IMAGE;
	}
	return SIM_OK;
}

/* ---- life --------------------------------------------------------------- */

static int dup_blob(const ios_blob_t *b, uint8_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!b->n)
		return 0;
	if (!(*out = malloc(b->n)))
		return -1;
	memcpy(*out, b->p, b->n);
	*n = b->n;
	return 0;
}

static int profile_ok(const ios_profile_t *p)
{
	size_t used = 0;
	X509 *dc, *ca;
	int ok;

	if ((unsigned)p->bio >= IOS_BIO_COUNT || !p->attest_key.n || !p->device_cert.n || !p->platform_ca.n ||
	    !p->issuer_pub.n)
		return 0;
	/* The device certificate certifies the attestation key and was
	 * issued by the platform CA (manufacture). */
	dc = dcache_cert(p->device_cert.p, p->device_cert.n, &used);
	ok = dc && used == p->device_cert.n;
	ca = dcache_cert(p->platform_ca.p, p->platform_ca.n, &used);
	ok = ok && ca && used == p->platform_ca.n && X509_verify(dc, X509_get0_pubkey(ca)) == 1;
	X509_free(ca);
	if (ok) {
		EVP_PKEY *k = cardos_key_parse(p->attest_key.p, p->attest_key.n, 2048);
		ok = k && EVP_PKEY_eq(X509_get0_pubkey(dc), k) == 1;
		EVP_PKEY_free(k);
	}
	X509_free(dc);
	return ok;
}

int sim_ios_new(sim_ios_t **out, const ios_profile_t *p, sim_ctx_t *ctx)
{
	sim_ios_t *d;
	const uint8_t *id, *q;
	size_t n;
	int rc = SIM_ERR_NOMEM;

	if (!out || !p || !ctx || !ctx->nvm || !ctx->rng)
		return SIM_ERR_ARG;
	*out = NULL;
	if (!profile_ok(p))
		return SIM_ERR_PROFILE;
	if (!(d = calloc(1, sizeof *d)))
		return SIM_ERR_NOMEM;
	d->ctx = ctx;
	memcpy(d->id, p->device_id, IOS_DEVICE_ID_LEN);
	d->bio = p->bio;
	if (dup_blob(&p->attest_key, &d->attest_key_der, &d->attest_key_n) ||
	    dup_blob(&p->device_cert, &d->device_cert, &d->device_cert_n) ||
	    dup_blob(&p->platform_ca, &d->platform_ca, &d->platform_ca_n) ||
	    dup_blob(&p->issuer_pub, &d->issuer_pub, &d->issuer_pub_n))
		goto fail;
	if (p->n_key_pool && !(d->pool = calloc(p->n_key_pool, sizeof *d->pool)))
		goto fail;
	for (size_t i = 0; i < p->n_key_pool; i++, d->n_pool++) {
		uint8_t *b;
		if (dup_blob(&p->key_pool[i], &b, &n))
			goto fail;
		d->pool[i] = (ios_blob_t){ b, n };
	}
	rc = SIM_ERR_PROFILE;
	d->attest_key = cardos_key_parse(d->attest_key_der, d->attest_key_n, 2048);
	q = d->issuer_pub;
	d->issuer = d2i_PUBKEY(NULL, &q, (long)d->issuer_pub_n);
	if (!d->attest_key || !d->issuer || q != d->issuer_pub + d->issuer_pub_n)
		goto fail;
	app_init(&d->app, d);
	/* Building the device is powering it up on its NVM. */
	if ((rc = sim_ios_check_nvm(ctx->nvm, NULL)) != SIM_OK)
		goto fail;
	if (!(id = nvm_get(ctx->nvm, IOS_REC_ID, &n))) {
		if ((rc = nvm_put(ctx->nvm, IOS_REC_ID, d->id, IOS_DEVICE_ID_LEN)) != NVM_OK) {
			rc = rc == NVM_ERR_POWER ? SIM_ERR_MUTE : SIM_ERR_NOMEM;
			goto fail;
		}
	} else if (memcmp(id, d->id, IOS_DEVICE_ID_LEN) != 0) {
		rc = SIM_ERR_IMAGE; /* another phone's memory */
		goto fail;
	}
	d->os_apps = -1;
	ios_sync(d);
	d->powered = 1;
	*out = d;
	return SIM_OK;
fail:
	sim_ios_free(d);
	return rc;
}

void sim_ios_free(sim_ios_t *d)
{
	if (!d)
		return;
	if (d->os_apps >= 0)
		cardos_free(&d->os);
	EVP_PKEY_free(d->attest_key);
	EVP_PKEY_free(d->issuer);
	if (d->attest_key_der)
		OPENSSL_clear_free(d->attest_key_der, d->attest_key_n);
	free(d->device_cert);
	free(d->platform_ca);
	free(d->issuer_pub);
	for (size_t i = 0; i < d->n_pool; i++)
		OPENSSL_clear_free((void *)d->pool[i].p, d->pool[i].n);
	free(d->pool);
	free(d);
}

int sim_ios_power(sim_ios_t *d, enum sim_power how)
{
	if (!d)
		return SIM_ERR_ARG;
	switch (how) {
	case SIM_POWER_OFF:
		d->powered = 0;
		break;
	case SIM_POWER_COLD:
	case SIM_POWER_WARM:
		nvm_power_up(d->ctx->nvm);
		ios_sync(d);
		if (mut_on(MUT_PIN_POWER))
			cardos_mut_refill(&d->os);
		d->powered = 1;
		break;
	default:
		return SIM_ERR_ARG;
	}
	cardos_reset(&d->os);
	return SIM_OK;
}

size_t sim_ios_atr(const sim_ios_t *d, uint8_t *atr, size_t cap)
{
	if (!d || !atr || cap < sizeof ios_atr)
		return 0;
	memcpy(atr, ios_atr, sizeof ios_atr);
	return sizeof ios_atr;
}

int sim_ios_transmit(sim_ios_t *d, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap, size_t *rsplen)
{
	return d ? cardos_chip_transmit(&d->os, &d->powered, cmd, len, rsp, cap, rsplen) : SIM_ERR_ARG;
}

/* ---- the oracle's view -------------------------------------------------- */

void sim_ios_view(const sim_ios_t *d, ios_view_t *v)
{
	sim_pin_view_t pins[4];
	size_t np;

	memset(v, 0, sizeof *v);
	memcpy(v->device_id, d->id, IOS_DEVICE_ID_LEN);
	v->installed = ios_installed(d);
	v->bio = d->bio;
	np = cardos_pins(d->ctx->nvm, &d->app.jpki.def, pins, 4);
	for (int i = 0; i < 2; i++) {
		size_t n = 0;
		const uint8_t *c = ios_rec(d, ios_slot_cert[i], 0, &n);
		tlv_t t;

		if (c && tlv_parse(c, n, &t) > 0 && t.size <= n)
			v->cert[i] = (ios_blob_t){ c, t.size };
		v->pin[i] = (sim_pin_view_t){ ios_slot_pin[i], i ? 5 : 3, -1 };
		for (size_t k = 0; k < np; k++)
			if (pins[k].fid == ios_slot_pin[i])
				v->pin[i] = pins[k];
		v->pending[i] = nvm_get(d->ctx->nvm, ios_pending_rec[i], &n) != NULL;
	}
}
