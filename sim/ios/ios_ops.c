/* ios_ops.c — the iPhone's device operations, which the wallet app layer
 * calls during provisioning (docs/ios.md#provisioning).  Apple's protocol
 * is not public: the key slots, the attestation bytes and the credential
 * format here are our model, labelled so in docs/ios.md, and the wallet
 * service (sim/wallet) speaks the same model. */
#include "ios_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "../card/card_int.h"
#include "../core/dcache.h"

#define ATTEST_MAGIC "MYNAHIL-IOS-ATTEST-1"
#define CRED_MAGIC "MYNAHIL-IOS-CRED-1"

/* ---- byte formats ------------------------------------------------------ */

typedef struct wbuf {
	uint8_t *p;
	size_t n, cap;
	int oom;
} wbuf_t;

static void put(wbuf_t *w, const void *v, size_t n)
{
	if (w->oom || !n)
		return;
	if (w->n + n > w->cap) {
		size_t cap = (w->n + n) * 2;
		uint8_t *p = realloc(w->p, cap);
		if (!p) {
			w->oom = 1;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->n, v, n);
	w->n += n;
}

/* A 4-byte big-endian length, then the bytes. */
static void put_lv(wbuf_t *w, const uint8_t *v, size_t n)
{
	const uint8_t l[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	put(w, l, 4);
	put(w, v, n);
}

static int done(wbuf_t *w, uint8_t **out, size_t *outn)
{
	if (w->oom) {
		free(w->p);
		return SIM_ERR_NOMEM;
	}
	*out = w->p;
	*outn = w->n;
	return SIM_OK;
}

int ios_attest_tbs(const uint8_t device_id[IOS_DEVICE_ID_LEN], const uint8_t *challenge, size_t cn,
		   const uint8_t *auth_spki, size_t an, const uint8_t *sign_spki, size_t sn,
		   uint8_t **out, size_t *outn)
{
	wbuf_t w = { 0 };

	if (!device_id || !out || !outn || (cn && !challenge) || (an && !auth_spki) || (sn && !sign_spki))
		return SIM_ERR_ARG;
	put(&w, ATTEST_MAGIC, strlen(ATTEST_MAGIC));
	put(&w, device_id, IOS_DEVICE_ID_LEN);
	put_lv(&w, challenge, cn);
	put_lv(&w, auth_spki, an);
	put_lv(&w, sign_spki, sn);
	return done(&w, out, outn);
}

int ios_cred_tbs(const ios_cred_t *c, uint8_t **out, size_t *outn)
{
	wbuf_t w = { 0 };

	if (!c || !out || !outn)
		return SIM_ERR_ARG;
	put(&w, CRED_MAGIC, strlen(CRED_MAGIC));
	put(&w, c->device_id, IOS_DEVICE_ID_LEN);
	put_lv(&w, c->auth_cert.p, c->auth_cert.n);
	put_lv(&w, c->auth_ca.p, c->auth_ca.n);
	put_lv(&w, c->sign_cert.p, c->sign_cert.n);
	put_lv(&w, c->sign_ca.p, c->sign_ca.n);
	return done(&w, out, outn);
}

/* ---- keys ---------------------------------------------------------------- */

static int usable(const sim_ios_t *d)
{
	return d->powered ? SIM_OK : SIM_ERR_MUTE;
}

/* The slot's current private key: the pending one, else the installed
 * one (NULL: none). */
static const uint8_t *slot_key(const sim_ios_t *d, int slot, size_t *n)
{
	const uint8_t *k = nvm_get(d->ctx->nvm, ios_pending_rec[slot], n);

	return k ? k : ios_rec(d, ios_slot_key[slot], 0, n);
}

static int same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return a && b && an == bn && memcmp(a, b, an) == 0;
}

/* A pool key by the run's RNG, not the other slot's (current or
 * installed); no pool: a fresh key from OpenSSL. */
static int pick_key(sim_ios_t *d, int slot, uint8_t **der, size_t *len)
{
	size_t on = 0, in = 0;
	const uint8_t *other = slot_key(d, !slot, &on), *inst = ios_rec(d, ios_slot_key[!slot], 0, &in);

	if (d->n_pool) {
		size_t idx = rng_below(d->ctx->rng, (uint32_t)d->n_pool);

		for (size_t i = 0; i < d->n_pool; i++, idx = (idx + 1) % d->n_pool) {
			const ios_blob_t *b = &d->pool[idx];
			if (same(other, on, b->p, b->n) || same(inst, in, b->p, b->n))
				continue;
			if (!(*der = malloc(b->n)))
				return SIM_ERR_NOMEM;
			memcpy(*der, b->p, b->n);
			*len = b->n;
			return SIM_OK;
		}
		return SIM_ERR_PROFILE;
	} else {
		EVP_PKEY *k = EVP_RSA_gen(2048);
		PKCS8_PRIV_KEY_INFO *p8 = k ? EVP_PKEY2PKCS8(k) : NULL;
		uint8_t *p = NULL;
		int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &p) : -1;

		PKCS8_PRIV_KEY_INFO_free(p8);
		EVP_PKEY_free(k);
		if (n <= 0 || !(*der = malloc((size_t)n))) {
			OPENSSL_free(p);
			return SIM_ERR_NOMEM;
		}
		memcpy(*der, p, (size_t)n);
		OPENSSL_clear_free(p, (size_t)n);
		*len = (size_t)n;
		return SIM_OK;
	}
}

/* The DER SubjectPublicKeyInfo of a private key record. */
static int spki_of(const uint8_t *key, size_t kn, uint8_t **spki, size_t *n)
{
	EVP_PKEY *k = cardos_key_parse(key, kn, 0);
	int rc = k && dcache_spki(k, spki, n) == 0 ? SIM_OK : SIM_ERR_PROFILE;

	EVP_PKEY_free(k);
	return rc;
}

int ios_keygen(sim_ios_t *d, enum ios_slot slot, uint8_t *spki, size_t cap, size_t *n)
{
	uint8_t *der = NULL, *pub = NULL;
	size_t len = 0, pn = 0;
	int rc;

	if (!d || (slot != IOS_SLOT_AUTH && slot != IOS_SLOT_SIGN) || !spki || !n)
		return SIM_ERR_ARG;
	if ((rc = usable(d)) || (rc = pick_key(d, slot, &der, &len)))
		return rc;
	if ((rc = spki_of(der, len, &pub, &pn)) == SIM_OK && pn > cap)
		rc = SIM_ERR_ARG;
	if (rc == SIM_OK && (rc = nvm_put(d->ctx->nvm, ios_pending_rec[slot], der, len)) != NVM_OK)
		rc = ios_nvm_fail(d, rc);
	OPENSSL_clear_free(der, len);
	if (rc == SIM_OK) {
		memcpy(spki, pub, pn);
		*n = pn;
	}
	free(pub);
	return rc;
}

int ios_attest(sim_ios_t *d, const uint8_t *challenge, size_t cn, ios_attestation_t *out)
{
	uint8_t *spki[2] = { NULL, NULL }, *tbs = NULL;
	size_t sn[2] = { 0, 0 }, tn = 0, siglen = IOS_SIG_MAX;
	EVP_MD_CTX *md = NULL;
	int rc;

	if (!d || !out || (cn && !challenge))
		return SIM_ERR_ARG;
	if ((rc = usable(d)))
		return rc;
	memset(out, 0, sizeof *out);
	for (int i = 0; i < 2 && rc == SIM_OK; i++) {
		size_t kn;
		const uint8_t *k = slot_key(d, i, &kn);
		if (k)
			rc = spki_of(k, kn, &spki[i], &sn[i]);
	}
	if (rc == SIM_OK)
		rc = ios_attest_tbs(d->id, challenge, cn, spki[0], sn[0], spki[1], sn[1], &tbs, &tn);
	if (rc == SIM_OK) {
		/* RSA PKCS#1 v1.5 over SHA-256: deterministic, so runs repeat. */
		if (!(md = EVP_MD_CTX_new()) ||
		    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, d->attest_key) != 1 ||
		    EVP_DigestSign(md, out->sig, &siglen, tbs, tn) != 1)
			rc = SIM_ERR_NOMEM;
		else
			out->sig_len = siglen;
	}
	out->device_cert = (ios_blob_t){ d->device_cert, d->device_cert_n };
	out->platform_ca = (ios_blob_t){ d->platform_ca, d->platform_ca_n };
	EVP_MD_CTX_free(md);
	free(tbs);
	free(spki[0]);
	free(spki[1]);
	return rc;
}

/* ---- the credential ------------------------------------------------------ */

static int sig_ok(const sim_ios_t *d, const ios_cred_t *c)
{
	uint8_t *tbs = NULL;
	size_t tn = 0;
	EVP_MD_CTX *md = NULL;
	int ok;

	if (!c->sig.n || ios_cred_tbs(c, &tbs, &tn) != SIM_OK)
		return 0;
	ok = (md = EVP_MD_CTX_new()) && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, d->issuer) == 1 &&
	     EVP_DigestVerify(md, c->sig.p, c->sig.n, tbs, tn) == 1;
	EVP_MD_CTX_free(md);
	free(tbs);
	return ok;
}

/* One DER certificate, all of blob, 30 82 LL LL as the EF needs. */
static int cert_ok(const ios_blob_t *b)
{
	size_t used = 0;
	X509 *x;

	if (!b->p || b->n < 4 || b->p[0] != 0x30 || b->p[1] != 0x82 || b->n > JPKI_CERT_MAX)
		return 0;
	x = dcache_cert(b->p, b->n, &used);
	X509_free(x);
	return x && used == b->n;
}

static int pin_ok(int slot, const char *pin)
{
	return slot ? card_str_ok(pin, 6, 16, CARD_UPPER_DIGITS) : card_str_ok(pin, 4, 4, CARD_DIGITS);
}

static int put_ef(sim_ios_t *d, uint16_t fid, const void *v, size_t n)
{
	return jpki_put_ef(d->ctx->nvm, &d->app.jpki, fid, v, n);
}

static int del_rec(sim_ios_t *d, const char *name)
{
	size_t n;

	return nvm_get(d->ctx->nvm, name, &n) ? nvm_del(d->ctx->nvm, name) : NVM_OK;
}

static int del_ef(sim_ios_t *d, uint16_t fid, int ctr)
{
	const cardos_ef_def_t *def = cardos_def_by_fid(&d->app.jpki.def, fid);
	char name[CARDOS_NAME_MAX];

	if (!def || cardos_nvm_name(name, sizeof name, IOS_NS, def, ctr) < 0)
		return NVM_ERR_ARG;
	return del_rec(d, name);
}

/* The slot's records inside the open transaction: certificate, CA, key
 * from pending, PIN when given (value and full counter). */
static int put_slot(sim_ios_t *d, int slot, const ios_blob_t *cert, const ios_blob_t *ca, const char *pin)
{
	size_t kn = 0;
	const uint8_t *k = nvm_get(d->ctx->nvm, ios_pending_rec[slot], &kn);
	int rc = NVM_OK;

	if (k) {
		/* nvm_put may move the record it reads from: copy first. */
		uint8_t *key = malloc(kn);
		if (!key)
			return NVM_ERR_NOMEM;
		memcpy(key, k, kn);
		rc = put_ef(d, ios_slot_key[slot], key, kn);
		OPENSSL_clear_free(key, kn);
		if (rc == NVM_OK)
			rc = nvm_del(d->ctx->nvm, ios_pending_rec[slot]);
	}
	if (rc == NVM_OK)
		rc = jpki_put_cert(d->ctx->nvm, &d->app.jpki, ios_slot_cert[slot], cert->p, cert->n);
	if (rc == NVM_OK && ca->n)
		rc = jpki_put_cert(d->ctx->nvm, &d->app.jpki, ios_slot_ca[slot], ca->p, ca->n);
	if (rc == NVM_OK && pin)
		rc = put_ef(d, ios_slot_pin[slot], pin, strlen(pin));
	return rc;
}

/* Every record of a slot (a credential without that pair), inside the
 * open transaction. */
static int drop_slot(sim_ios_t *d, int slot)
{
	int rc;

	if ((rc = del_ef(d, ios_slot_key[slot], 0)) || (rc = del_ef(d, ios_slot_cert[slot], 0)) ||
	    (rc = del_ef(d, ios_slot_ca[slot], 0)) || (rc = del_ef(d, ios_slot_pin[slot], 0)) ||
	    (rc = del_ef(d, ios_slot_pin[slot], 1)))
		return rc;
	return del_rec(d, ios_pending_rec[slot]);
}

int ios_install(sim_ios_t *d, const ios_cred_t *c, const char *auth_pin, const char *sign_pw)
{
	const ios_blob_t *certs[2], *cas[2];
	const char *pins[2] = { auth_pin, sign_pw };
	uint8_t tok[JPKI_TOKEN_EF + CARD_TOKEN_INFO_LEN];
	int has_sign, rc;

	if (!d || !c)
		return SIM_ERR_ARG;
	if ((rc = usable(d)))
		return rc;
	certs[0] = &c->auth_cert;
	certs[1] = &c->sign_cert;
	cas[0] = &c->auth_ca;
	cas[1] = &c->sign_ca;
	has_sign = c->sign_cert.n != 0;
	/* The issuer's signature first: nothing unsigned is even looked at. */
	if (!sig_ok(d, c))
		return IOS_ERR_SIG;
	if (memcmp(c->device_id, d->id, IOS_DEVICE_ID_LEN) != 0)
		return IOS_ERR_DEVICE;
	for (int i = 0; i < 1 + has_sign; i++) {
		size_t kn = 0, pn = 0;
		const uint8_t *k;
		EVP_PKEY *pk;
		int ok;

		if (!cert_ok(certs[i]) || (cas[i]->n && !cert_ok(cas[i])))
			return IOS_ERR_CERT;
		if (!(k = slot_key(d, i, &kn)))
			return IOS_ERR_KEY;
		pk = cardos_key_parse(k, kn, 0);
		ok = pk && dcache_cert_has_key(certs[i]->p, certs[i]->n, pk);
		EVP_PKEY_free(pk);
		if (!ok)
			return IOS_ERR_KEY;
		if (pins[i] ? !pin_ok(i, pins[i]) : !ios_rec(d, ios_slot_pin[i], 0, &pn))
			return IOS_ERR_PIN;
	}
	if ((rc = nvm_begin(d->ctx->nvm)) != NVM_OK)
		return ios_nvm_fail(d, rc);
	jpki_token_ef(tok, JPKI_TOKEN_IOS);
	memcpy(tok + JPKI_TOKEN_LEN, card_token_info_default, CARD_TOKEN_INFO_LEN);
	{
		const uint8_t presence[3] = { has_sign ? 0x8F : 0x00, 0x8F, 0x00 };
		rc = put_ef(d, JPKI_EF_TOKEN, tok, JPKI_TOKEN_EF);
		if (rc == NVM_OK)
			rc = put_ef(d, JPKI_EF_PRESENCE, presence, sizeof presence);
	}
	if (rc == NVM_OK)
		rc = put_slot(d, 0, certs[0], cas[0], pins[0]);
	if (rc == NVM_OK)
		rc = has_sign ? put_slot(d, 1, certs[1], cas[1], pins[1]) : drop_slot(d, 1);
	if (rc == NVM_OK)
		rc = nvm_commit(d->ctx->nvm);
	if (rc != NVM_OK)
		return ios_nvm_fail(d, rc);
	if (pins[0] || pins[1])
		d->ctx->pin_restores++;
	ios_sync(d);
	cardos_reset(&d->os);
	return SIM_OK;
}

/* The open transaction committed (rc: NVM_OK so far), then the AP
 * follows NVM and the session starts over. */
static int commit_sync(sim_ios_t *d, int rc)
{
	if (rc == NVM_OK)
		rc = nvm_commit(d->ctx->nvm);
	if (rc != NVM_OK)
		return ios_nvm_fail(d, rc);
	ios_sync(d);
	cardos_reset(&d->os);
	return SIM_OK;
}

/* Every record under the prefixes, in one transaction. */
static int drop(sim_ios_t *d, const char *const *prefixes, size_t n)
{
	int rc;

	if (!d)
		return SIM_ERR_ARG;
	if ((rc = usable(d)))
		return rc;
	rc = nvm_begin(d->ctx->nvm);
	for (size_t i = 0; i < n && rc == NVM_OK; i++)
		rc = nvm_del_prefix(d->ctx->nvm, prefixes[i]);
	return commit_sync(d, rc);
}

int ios_remove(sim_ios_t *d)
{
	static const char *const all[] = { IOS_NS "/", IOS_REC_PENDING };

	return drop(d, all, 2);
}

int ios_erase_slot(sim_ios_t *d, enum ios_slot slot)
{
	size_t n;
	int other = slot == IOS_SLOT_AUTH ? IOS_SLOT_SIGN : IOS_SLOT_AUTH, rc;
	const uint8_t *p;
	uint8_t presence[3];

	if (!d || (slot != IOS_SLOT_AUTH && slot != IOS_SLOT_SIGN))
		return SIM_ERR_ARG;
	if ((rc = usable(d)))
		return rc;
	if (!ios_installed(d) || !ios_rec(d, ios_slot_cert[slot], 0, &n) || !ios_rec(d, ios_slot_cert[other], 0, &n))
		return IOS_ERR_STATE;
	/* EF 0008: byte 0 the sign pair present, byte 1 the auth pair */
	p = ios_rec(d, JPKI_EF_PRESENCE, 0, &n);
	memset(presence, 0, sizeof presence);
	if (p)
		memcpy(presence, p, n < sizeof presence ? n : sizeof presence);
	presence[slot == IOS_SLOT_SIGN ? 0 : 1] = 0x00;
	if ((rc = nvm_begin(d->ctx->nvm)) != NVM_OK)
		return ios_nvm_fail(d, rc);
	rc = drop_slot(d, slot);
	if (rc == NVM_OK)
		rc = put_ef(d, JPKI_EF_PRESENCE, presence, sizeof presence);
	return commit_sync(d, rc);
}

int ios_factory_reset(sim_ios_t *d)
{
	/* The owner's data go, the Wallet's credential stays
	 * (docs/ios.md#life-cycle): pending key pairs, the session and the
	 * biometric enrolment are the owner's side. */
	static const char *const owners[] = { IOS_REC_PENDING };
	int rc = drop(d, owners, 1);

	if (rc == SIM_OK)
		d->bio = IOS_BIO_NOT_ENROLLED;
	return rc;
}

int ios_set_pins(sim_ios_t *d, const char *auth_pin, const char *sign_pw)
{
	const char *pins[2] = { auth_pin, sign_pw };
	size_t n;
	int rc;

	if (!d || (!auth_pin && !sign_pw))
		return SIM_ERR_ARG;
	if ((rc = usable(d)))
		return rc;
	if (!ios_installed(d))
		return IOS_ERR_STATE;
	for (int i = 0; i < 2; i++)
		if (pins[i] && (!pin_ok(i, pins[i]) || !ios_rec(d, ios_slot_pin[i], 0, &n)))
			return pin_ok(i, pins[i]) ? IOS_ERR_STATE : IOS_ERR_PIN;
	if ((rc = nvm_begin(d->ctx->nvm)) != NVM_OK)
		return ios_nvm_fail(d, rc);
	for (int i = 0; i < 2 && rc == NVM_OK; i++)
		if (pins[i])
			rc = put_ef(d, ios_slot_pin[i], pins[i], strlen(pins[i]));
	if (rc == NVM_OK)
		rc = nvm_commit(d->ctx->nvm);
	if (rc != NVM_OK)
		return ios_nvm_fail(d, rc);
	d->ctx->pin_restores++;
	cardos_reset(&d->os);
	return SIM_OK;
}

/* ---- biometrics and names ------------------------------------------------ */

static const char *const bio_names[IOS_BIO_COUNT] = {
	[IOS_BIO_MATCH] = "match",
	[IOS_BIO_NO_MATCH] = "no_match",
	[IOS_BIO_NOT_ENROLLED] = "not_enrolled",
	[IOS_BIO_DISABLED] = "disabled",
};

int ios_biometric(sim_ios_t *d, enum ios_bio b)
{
	if (!d || (unsigned)b >= IOS_BIO_COUNT)
		return SIM_ERR_ARG;
	d->bio = b;
	return SIM_OK;
}

const char *ios_bio_name(enum ios_bio b)
{
	return (unsigned)b < IOS_BIO_COUNT ? bio_names[b] : "?";
}

int ios_bio_parse(const char *s)
{
	for (int i = 0; s && i < IOS_BIO_COUNT; i++)
		if (strcmp(s, bio_names[i]) == 0)
			return i;
	return -1;
}

const char *ios_strerror(int err)
{
	switch (err) {
	case SIM_OK: return "ok";
	case SIM_ERR_MUTE: return "device off or power lost";
	case SIM_ERR_ARG: return "bad argument";
	case SIM_ERR_NOMEM: return "out of memory";
	case SIM_ERR_PROFILE: return "profile inconsistent (or the key pool exhausted)";
	case SIM_ERR_IMAGE: return "the NVM image is not this device's";
	case IOS_ERR_SIG: return "the credential's issuer signature does not verify";
	case IOS_ERR_DEVICE: return "the credential is bound to another device";
	case IOS_ERR_KEY: return "a certificate is not for a key this device generated";
	case IOS_ERR_PIN: return "PIN of the wrong format (auth 4 digits, sign 6-16 of A-Z0-9), or none to keep";
	case IOS_ERR_STATE: return "no credential on the device";
	case IOS_ERR_CERT: return "a certificate is not DER (30 82 LL LL)";
	}
	return "unknown error";
}
