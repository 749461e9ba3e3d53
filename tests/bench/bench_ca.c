/* bench_ca.c — in-process speed of the CA simulator: phone certificate
 * issuances per second (request signature checked, card certificate
 * chained and checked, certificate built and signed, row and linkage
 * committed to an in-memory SQLite), and OCSP answers per second.  The
 * card's signatures over the requests are made before the clock starts.
 * Prints "key value" lines for run.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hil/fixtures/profile.h"
#include "hil/base/util.h"
#include "sim/ca/ca.h"

#define BATCH 128
#define KEYS 40 /* pool-11 .. pool-50: the SE's keys */

static int slurp(const char *rel, uint8_t **p, size_t *n)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", profile_fixtures_dir(), rel);
	if (util_read_file(path, p, n) < 0) {
		fprintf(stderr, "bench_ca: cannot read %s\n", path);
		return -1;
	}
	return 0;
}

static EVP_PKEY *pool_key(int i)
{
	char rel[64];
	uint8_t *b;
	size_t n;
	BIO *bio;
	EVP_PKEY *k;

	snprintf(rel, sizeof rel, "keys/pool-%02d.pem", i);
	if (slurp(rel, &b, &n) < 0)
		return NULL;
	bio = BIO_new_mem_buf(b, (int)n);
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(b);
	return k;
}

static uint8_t *der_key(int i, size_t *n)
{
	EVP_PKEY *k = pool_key(i);
	uint8_t *tmp = NULL, *out;
	int len = k ? i2d_PrivateKey(k, &tmp) : -1;

	EVP_PKEY_free(k);
	if (len <= 0 || !(out = malloc((size_t)len)))
		return NULL;
	memcpy(out, tmp, (size_t)len);
	OPENSSL_free(tmp);
	*n = (size_t)len;
	return out;
}

typedef struct req {
	ca_phone_req_t r;
	uint8_t nonce[16];
	uint8_t sig[256];
} req_t;

static double now_s(void)
{
	return (double)util_now_ms() / 1000.0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, t0, spent = 0;
	uint8_t *ak, *sk, *ac, *sc, *card, *spki[KEYS] = { 0 };
	size_t akn, skn, acn, scn, cardn, spkin[KEYS];
	EVP_PKEY *signer = pool_key(4); /* alice's card sign key */
	rng_t rng;
	vclock_t clk;
	sim_ctx_t ctx = { .rng = &rng, .clock = &clk };
	ca_t *ca = NULL;
	req_t *reqs = calloc(BATCH, sizeof *reqs);
	uint64_t card_serial, counter = 0;
	long issued = 0, answered = 0;
	char err[256];

	if (!signer || !reqs || !(ak = der_key(1, &akn)) || !(sk = der_key(2, &skn)) ||
	    slurp("pki/auth-ca.der", &ac, &acn) < 0 || slurp("pki/sign-ca.der", &sc, &scn) < 0 ||
	    slurp("pki/alice-sign.der", &card, &cardn) < 0)
		return 1;
	for (int i = 0; i < KEYS; i++) {
		EVP_PKEY *k = pool_key(11 + i);
		uint8_t *tmp = NULL;
		int len = k ? i2d_PUBKEY(k, &tmp) : -1;
		if (len <= 0)
			return 1;
		spki[i] = malloc((size_t)len);
		memcpy(spki[i], tmp, (size_t)len);
		spkin[i] = (size_t)len;
		OPENSSL_free(tmp);
		EVP_PKEY_free(k);
	}
	rng_seed(&rng, 1);
	vclock_parse("20260105000000Z", &clk.now);
	{
		ca_config_t cfg = { .auth_key = { ak, akn }, .auth_cert = { ac, acn },
				    .sign_key = { sk, skn }, .sign_cert = { sc, scn } };
		if (ca_open(&ca, &ctx, &cfg, err, sizeof err) != CA_OK ||
		    ca_import_card(ca, "alice", card, cardn, &card_serial) != CA_OK) {
			fprintf(stderr, "bench_ca: %s\n", err);
			return 1;
		}
	}

	/* Issuance: batches signed outside the clock, issued inside it. */
	while (spent < secs) {
		for (int i = 0; i < BATCH; i++) {
			req_t *q = &reqs[i];
			EVP_MD_CTX *md = EVP_MD_CTX_new();
			uint8_t *tbs;
			size_t tn, sl = sizeof q->sig;

			counter++;
			memcpy(q->nonce, &counter, sizeof counter);
			memset(q->nonce + 8, 0xA5, 8);
			q->r.purpose = (counter & 1) ? CA_AUTH : CA_SIGN;
			q->r.card_serial = card_serial;
			q->r.spki.p = spki[counter % KEYS];
			q->r.spki.n = spkin[counter % KEYS];
			q->r.nonce.p = q->nonce;
			q->r.nonce.n = sizeof q->nonce;
			if (ca_phone_tbs(&q->r, &tbs, &tn) != CA_OK ||
			    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, signer) != 1 ||
			    EVP_DigestSign(md, q->sig, &sl, tbs, tn) != 1)
				return 1;
			free(tbs);
			EVP_MD_CTX_free(md);
			q->r.signature.p = q->sig;
			q->r.signature.n = sl;
		}
		t0 = now_s();
		for (int i = 0; i < BATCH; i++) {
			if (ca_issue_phone(ca, &reqs[i].r, NULL, NULL, NULL) != CA_OK) {
				fprintf(stderr, "bench_ca: %s\n", ca_error(ca));
				return 1;
			}
			issued++;
		}
		spent += now_s() - t0;
	}
	printf("ca_issue_per_s %.0f\n", issued / spent);

	/* OCSP: one request for alice's card sign certificate, with a nonce. */
	{
		uint8_t *q = NULL, *rsp;
		size_t rn;
		X509 *cx;
		const uint8_t *p = sc;
		X509 *issuer = d2i_X509(NULL, &p, (long)scn);
		OCSP_REQUEST *rq = OCSP_REQUEST_new();
		int qn;

		p = card;
		cx = d2i_X509(NULL, &p, (long)cardn);
		OCSP_request_add0_id(rq, OCSP_cert_to_id(NULL, cx, issuer));
		OCSP_request_add1_nonce(rq, NULL, 16);
		qn = i2d_OCSP_REQUEST(rq, &q);
		t0 = now_s();
		do {
			for (int i = 0; i < 64; i++) {
				if (ca_ocsp(ca, q, (size_t)qn, &rsp, &rn) != CA_OK)
					return 1;
				free(rsp);
				answered++;
			}
		} while (now_s() - t0 < secs / 2);
		printf("ca_ocsp_per_s %.0f\n", answered / (now_s() - t0));
		OPENSSL_free(q);
		OCSP_REQUEST_free(rq);
		X509_free(cx);
		X509_free(issuer);
	}

	ca_close(ca);
	for (int i = 0; i < KEYS; i++)
		free(spki[i]);
	free(reqs);
	free(ak);
	free(sk);
	free(ac);
	free(sc);
	free(card);
	EVP_PKEY_free(signer);
	return 0;
}
