/* common.c — the fuzz targets' shared helpers (fuzz.h). */
#include "tests/fuzz/fuzz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hil/fixtures/profile.h"
#include "hil/fixtures/se_profile.h"
#include "hil/fixtures/ios_profile.h"
#include "hil/fixtures/pki.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

int fz_next(fz_in_t *in, fz_rec_t *r)
{
	size_t len;

	if (in->n == 0)
		return 0;
	r->op = in->p[0];
	len = in->n >= 3 ? (size_t)in->p[1] << 8 | in->p[2] : 0;
	in->p += in->n >= 3 ? 3 : in->n;
	in->n -= in->n >= 3 ? 3 : in->n;
	r->p = in->p;
	r->n = len < in->n ? len : in->n;
	in->p += r->n;
	in->n -= r->n;
	return 1;
}

void fz_sim_init(fz_sim_t *s, nvm_t *nvm)
{
	memset(s, 0, sizeof *s);
	rng_seed(&s->rng, 1);
	vclock_parse("20260105000000Z", &s->clock.now);
	s->ctx.rng = &s->rng;
	s->ctx.clock = &s->clock;
	s->ctx.nvm = nvm ? nvm : nvm_new();
	if (!s->ctx.nvm)
		abort();
}

void fz_sim_done(fz_sim_t *s)
{
	nvm_free(s->ctx.nvm);
	s->ctx.nvm = NULL;
}

/* Loaded once and kept for the whole run (freed by the exit). */
static profile_t *card_prof;
static seprof_t *se_prof;

const card_profile_t *fz_card_profile(void)
{
	char err[512];

	if (!card_prof && !(card_prof = profile_load(profile_default_path(), err, sizeof err))) {
		fprintf(stderr, "fuzz: the default card profile does not load: %s\n", err);
		abort();
	}
	return profile_card(card_prof);
}

const se_profile_t *fz_se_profile(void)
{
	char err[512];

	if (!se_prof && !(se_prof = seprof_load(seprof_default_path(), err, sizeof err))) {
		fprintf(stderr, "fuzz: the default SE profile does not load: %s\n", err);
		abort();
	}
	return seprof_get(se_prof);
}

/* Every input's card or SE is built on a copy of the NVM image of a
 * freshly personalised one, made once: that skips the personalisation
 * (key parsing, a few ms) which would otherwise dominate every input, and
 * the first input of a run (a crash replayed alone) starts exactly as
 * the others. */
typedef struct image {
	uint8_t *p;
	size_t n;
} image_t;

typedef struct kind {
	int (*build)(void *out, fz_sim_t *s);
	void (*destroy)(void *chip);
} kind_t;

static int from_image(image_t *img, const kind_t *k, fz_sim_t *s, void **out)
{
	if (!img->p) {
		fz_sim_t fresh;
		void *chip;

		fz_sim_init(&fresh, NULL);
		if (k->build(&chip, &fresh) != SIM_OK || nvm_save(fresh.ctx.nvm, &img->p, &img->n) != NVM_OK)
			abort();
		k->destroy(chip);
		fz_sim_done(&fresh);
	}
	if (nvm_load(s->ctx.nvm, img->p, img->n) != NVM_OK)
		abort();
	return k->build(out, s);
}

static int card_build(void *out, fz_sim_t *s)
{
	return sim_card_new(out, fz_card_profile(), &s->ctx);
}

static void card_destroy(void *c)
{
	sim_card_free(c);
}

static int se_build(void *out, fz_sim_t *s)
{
	return sim_se_new(out, fz_se_profile(), &s->ctx);
}

static void se_destroy(void *se)
{
	sim_se_free(se);
}

int fz_card_new(sim_card_t **c, fz_sim_t *s)
{
	static const kind_t card = { card_build, card_destroy };
	static image_t img;

	return from_image(&img, &card, s, (void **)c);
}

int fz_se_new(sim_se_t **se, fz_sim_t *s)
{
	static const kind_t kse = { se_build, se_destroy };
	static image_t img;

	return from_image(&img, &kse, s, (void **)se);
}

/* ---- the iPhone -------------------------------------------------------- */

static iosprof_t *ios_prof;
static EVP_PKEY *issuer; /* the wallet issuer's key, pool 57 (fixtures/ios/gen-ios.sh) */

static const ios_profile_t *ios_profile(void)
{
	char err[512], path[PATH_MAX];
	uint8_t *der;
	size_t n;
	const uint8_t *p;

	if (ios_prof)
		return iosprof_get(ios_prof);
	snprintf(path, sizeof path, "%s/keys/pool-57.pem", profile_fixtures_dir());
	if (!(ios_prof = iosprof_load(iosprof_default_path(), err, sizeof err)) ||
	    pki_load_key(path, &der, &n, err, sizeof err) < 0) {
		fprintf(stderr, "fuzz: the iPhone's fixtures do not load: %s\n", err);
		abort();
	}
	p = der;
	issuer = d2i_AutoPrivateKey(NULL, &p, (long)n);
	free(der);
	if (!issuer)
		abort();
	return iosprof_get(ios_prof);
}

/* A certificate of the key spki, signed by the issuer: all the device
 * checks of a certificate is that it is one and carries its key. */
static int ios_cert(const uint8_t *spki, size_t sn, uint8_t **der)
{
	const uint8_t *q = spki;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &q, (long)sn);
	X509 *x = X509_new();
	int n = -1;

	*der = NULL;
	if (pub && x && X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
	    ASN1_TIME_set(X509_getm_notBefore(x), 1767225600) && ASN1_TIME_set(X509_getm_notAfter(x), 1893456000) &&
	    X509_set_pubkey(x, pub) == 1 && X509_sign(x, issuer, EVP_sha256()) > 0)
		n = i2d_X509(x, der);
	X509_free(x);
	EVP_PKEY_free(pub);
	return n;
}

static int ios_provision(sim_ios_t *d)
{
	uint8_t spki[2][IOS_SPKI_MAX], *cert[2] = { NULL, NULL }, *tbs = NULL, sig[512];
	size_t sn[2], tn = 0, siglen = sizeof sig;
	ios_cred_t c = { .device_id = { 0 } };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int len[2] = { -1, -1 }, rc = SIM_ERR_PROFILE;
	ios_view_t v;

	sim_ios_view(d, &v);
	memcpy(c.device_id, v.device_id, IOS_DEVICE_ID_LEN);
	for (int i = 0; i < 2; i++)
		if (ios_keygen(d, i, spki[i], IOS_SPKI_MAX, &sn[i]) != SIM_OK ||
		    (len[i] = ios_cert(spki[i], sn[i], &cert[i])) <= 0)
			goto out;
	c.auth_cert = (ios_blob_t){ cert[0], (size_t)len[0] };
	c.sign_cert = (ios_blob_t){ cert[1], (size_t)len[1] };
	if (md && ios_cred_tbs(&c, &tbs, &tn) == SIM_OK &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, issuer) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, tbs, tn) == 1) {
		c.sig = (ios_blob_t){ sig, siglen };
		rc = ios_install(d, &c, FZ_IOS_AUTH, FZ_IOS_SIGN);
	}
out:
	EVP_MD_CTX_free(md);
	free(tbs);
	OPENSSL_free(cert[0]);
	OPENSSL_free(cert[1]);
	return rc;
}

static int ios_build(void *out, fz_sim_t *s)
{
	const ios_profile_t *p = ios_profile();
	ios_view_t v;
	int rc = sim_ios_new(out, p, &s->ctx);

	if (rc != SIM_OK)
		return rc;
	sim_ios_view(*(sim_ios_t **)out, &v);
	return v.installed ? SIM_OK : ios_provision(*(sim_ios_t **)out);
}

static void ios_destroy(void *d)
{
	sim_ios_free(d);
}

int fz_ios_new(sim_ios_t **d, fz_sim_t *s)
{
	static const kind_t kios = { ios_build, ios_destroy };
	static image_t img;

	return from_image(&img, &kios, s, (void **)d);
}

char *fz_strndup(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

static char scratch[PATH_MAX - 64];
static char file_path[PATH_MAX];

static void scratch_rm(void)
{
	static const char *const links[] = { "keys", "pki" };
	char p[PATH_MAX];

	if (file_path[0]) {
		unlink(file_path);
		*strrchr(file_path, '/') = 0;
		rmdir(file_path);
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", scratch, links[i]);
		unlink(p);
	}
	rmdir(scratch);
}

static int scratch_make(void)
{
	const char *tmp = getenv("TMPDIR");
	char fx[PATH_MAX], p[PATH_MAX];

	snprintf(scratch, sizeof scratch, "%s/mynahil-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		return -1;
	atexit(scratch_rm);
	snprintf(fx, sizeof fx, "%s/keys", profile_fixtures_dir());
	snprintf(p, sizeof p, "%s/keys", scratch);
	if (symlink(fx, p) < 0)
		return -1;
	snprintf(fx, sizeof fx, "%s/pki", profile_fixtures_dir());
	snprintf(p, sizeof p, "%s/pki", scratch);
	return symlink(fx, p);
}

const char *fz_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	FILE *f;
	int ok;

	if (!scratch[0] && scratch_make() < 0)
		return NULL;
	snprintf(file_path, sizeof file_path, "%s/%s", scratch, dir);
	mkdir(file_path, 0700);
	snprintf(file_path, sizeof file_path, "%s/%s/%s", scratch, dir, name);
	if (!(f = fopen(file_path, "wb")))
		return NULL;
	ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? file_path : NULL;
}
