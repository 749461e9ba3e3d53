/* profile.c — read a card profile (a Lua file in fixtures/profiles/):
 *
 *   generation = 2020,                       -- 2015 | 2020 | 2021 | 2024
 *   token = "JPKIAPICCTOKEN2",               -- optional
 *   holder = { name, address, birth = "YYYYMMDD", sex = "1"|"2"|"9",
 *              number = "12 digits", expiry_year, security_code = "4 digits" },
 *   pins = { auth = "4 digits", sign = "6-16 of A-Z 0-9", text = "4 digits" },
 *   auth = { cert = "DER file", key = "PEM file", ca = "DER file" },
 *   sign = { cert, key, ca },                -- with pins.sign, or neither
 *   text_key = "PEM file",                   -- optional
 *
 * A profile is data that may come from anyone: it is loaded in the
 * sandbox of hil/luadata.h, unknown fields are errors, and every field
 * is checked here so that an error names it (the card's own checks
 * only say "profile refused").  Beyond the form of each field: the
 * number's check digit, and each key against its certificate. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hil/luadata.h"
#include "hil/profile.h"
#include "hil/util.h"

#define DIGITS "0123456789"
#define TEXT_MAX 1024 /* name and address: bytes of UTF-8 */

struct profile {
	card_profile_t card;
	char *strings[16]; /* owned copies of every string in card */
	size_t nstrings;
	uint8_t *blobs[8];
	size_t nblobs;
};

typedef struct loader {
	ld_t *ld;
	profile_t *p;
} loader_t;

/* ------------------------------------------------------------- strings */

static int only_of(const char *s, size_t min, size_t max, const char *set)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, set) == n;
}

/* A string field, copied into the profile: 1, 0 (absent), -1. */
static int get_str(loader_t *lo, const char *key, size_t max, const char **out, enum ld_need need)
{
	const char *s;
	char *copy;
	int rc = ld_str(lo->ld, key, max, &s, need);

	if (rc <= 0)
		return rc;
	if (lo->p->nstrings == sizeof lo->p->strings / sizeof lo->p->strings[0] || !(copy = strdup(s)))
		return ld_fail(lo->ld, "out of memory");
	*out = lo->p->strings[lo->p->nstrings++] = copy;
	return 1;
}

/* A string field of min..max characters of set; what: how to say so. */
static int get_chars(loader_t *lo, const char *key, size_t min, size_t max, const char *set,
		     const char *what, const char **out, enum ld_need need)
{
	int rc = get_str(lo, key, TEXT_MAX, out, need); /* too long: said below */

	if (rc == 1 && !only_of(*out, min, max, set))
		return ld_fail_field(lo->ld, key, "must be %s", what);
	return rc;
}

/* The check digit of a 12-digit individual number (個人番号): with Pn
 * the n-th of its first 11 digits counted from the right and Qn = n + 1
 * for n <= 6, n - 5 for n >= 7, r = sum(Pn * Qn) mod 11; the digit is
 * 0 when r <= 1, else 11 - r. */
static int check_digit(const char *number)
{
	int sum = 0;

	for (int n = 1; n <= 11; n++)
		sum += (number[11 - n] - '0') * (n <= 6 ? n + 1 : n - 5);
	return sum % 11 <= 1 ? 0 : 11 - sum % 11;
}

static int get_number(loader_t *lo, const char **out)
{
	if (get_chars(lo, "number", 12, 12, DIGITS, "12 digits", out, LD_REQUIRED) < 0)
		return -1;
	if ((*out)[11] - '0' != check_digit(*out))
		return ld_fail_field(lo->ld, "number", "has a wrong check digit (%c; its first 11 digits give %d)",
				     (*out)[11], check_digit(*out));
	return 0;
}

/* Name and address: UTF-8 text, not empty. */
static int get_text(loader_t *lo, const char *key, const char **out)
{
	if (get_str(lo, key, TEXT_MAX, out, LD_REQUIRED) < 0)
		return -1;
	return **out ? 0 : ld_fail_field(lo->ld, key, "must not be empty");
}

static int get_birth(loader_t *lo, const char **out)
{
	const char *b;
	int m, d;

	if (get_chars(lo, "birth", 8, 8, DIGITS, "a date YYYYMMDD", out, LD_REQUIRED) < 0)
		return -1;
	b = *out;
	m = (b[4] - '0') * 10 + b[5] - '0';
	d = (b[6] - '0') * 10 + b[7] - '0';
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return ld_fail_field(lo->ld, "birth", "must be a date YYYYMMDD");
	return 0;
}

/* --------------------------------------------------------- keys, certs */

static int keep_blob(loader_t *lo, uint8_t *buf, size_t n, card_blob_t *b)
{
	if (lo->p->nblobs == sizeof lo->p->blobs / sizeof lo->p->blobs[0]) {
		free(buf);
		return ld_fail(lo->ld, "out of memory");
	}
	lo->p->blobs[lo->p->nblobs++] = buf;
	b->p = buf;
	b->n = n;
	return 0;
}

/* The file named by field key (a path relative to the profile's
 * directory) into a malloc'd *buf; *rel is the name as written. */
static int read_named(loader_t *lo, const char *key, const char **rel, uint8_t **buf, size_t *n,
		      enum ld_need need)
{
	char path[PATH_MAX * 2];
	int rc = ld_str(lo->ld, key, PATH_MAX, rel, need);

	if (rc <= 0)
		return rc;
	if (ld_path(lo->ld, *rel, path, sizeof path) < 0)
		return ld_fail_field(lo->ld, key, "is too long a path");
	if (util_read_file(path, buf, n) < 0)
		return ld_fail_field(lo->ld, key, "(%s): %s", path, strerror(errno));
	return 1;
}

/* A DER certificate file: 1 with *x parsed (the caller frees it), 0
 * when absent, -1. */
static int get_cert(loader_t *lo, const char *key, card_blob_t *b, X509 **x, enum ld_need need)
{
	const char *rel;
	const unsigned char *q;
	uint8_t *buf;
	size_t n;
	int rc = read_named(lo, key, &rel, &buf, &n, need);

	if (rc <= 0 || keep_blob(lo, buf, n, b) < 0)
		return rc;
	q = b->p;
	if (!(*x = d2i_X509(NULL, &q, (long)b->n)) || q != b->p + b->n)
		return ld_fail_field(lo->ld, key, "(%s) must be one X.509 certificate in DER", rel);
	return 1;
}

/* An RSA-2048 private key file, PEM or DER, kept in the card's form
 * (PKCS#8 DER); *k parsed (the caller frees it). */
static int get_key(loader_t *lo, const char *key, card_blob_t *b, EVP_PKEY **k, enum ld_need need)
{
	const char *rel;
	uint8_t *buf, *der;
	size_t n, dn = 0;
	int rc = read_named(lo, key, &rel, &buf, &n, need);

	if (rc <= 0)
		return rc;
	der = profile_key_der(buf, n, &dn);
	OPENSSL_clear_free(buf, n);
	if (!der)
		return ld_fail_field(lo->ld, key, "(%s) must be a private key in PEM or DER", rel);
	if (keep_blob(lo, der, dn, b) < 0)
		return -1;
	*k = d2i_AutoPrivateKey(NULL, &(const unsigned char *){ b->p }, (long)b->n);
	if (!*k || EVP_PKEY_get_base_id(*k) != EVP_PKEY_RSA || EVP_PKEY_get_bits(*k) != 2048)
		return ld_fail_field(lo->ld, key, "(%s) must be an RSA-2048 key", rel);
	return 1;
}

/* One of the tables auth / sign: { cert, key, ca }, the key matching
 * the certificate. */
static int get_pair(loader_t *lo, const char *name, card_blob_t *cert, card_blob_t *key, card_blob_t *ca,
		    enum ld_need need)
{
	static const char *const names[] = { "cert", "key", "ca", NULL };
	X509 *x = NULL, *xca = NULL;
	EVP_PKEY *k = NULL;
	int rc = ld_enter(lo->ld, name, need);

	if (rc <= 0)
		return rc;
	if (ld_only(lo->ld, names) < 0 || get_cert(lo, "cert", cert, &x, LD_REQUIRED) < 0 ||
	    get_key(lo, "key", key, &k, LD_REQUIRED) < 0 || get_cert(lo, "ca", ca, &xca, LD_REQUIRED) < 0)
		rc = -1;
	else if (EVP_PKEY_eq(X509_get0_pubkey(x), k) != 1)
		rc = ld_fail_field(lo->ld, "key", "does not match the certificate in '%s.cert'", name);
	X509_free(x);
	X509_free(xca);
	EVP_PKEY_free(k);
	ld_leave(lo->ld);
	return rc;
}

uint8_t *profile_key_der(const uint8_t *buf, size_t n, size_t *len)
{
	BIO *bio = n <= INT_MAX ? BIO_new_mem_buf(buf, (int)n) : NULL;
	EVP_PKEY *pk = NULL;
	PKCS8_PRIV_KEY_INFO *p8;
	uint8_t *der = NULL, *copy = NULL;
	int k;

	if (bio && !(pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)))
		pk = d2i_AutoPrivateKey(NULL, &(const unsigned char *){ buf }, (long)n);
	ERR_clear_error(); /* a PEM that was DER: not an error for the next caller */
	p8 = pk ? EVP_PKEY2PKCS8(pk) : NULL;
	k = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	/* OpenSSL memory is not ours to free(); copy it. */
	if (k > 0 && (copy = malloc((size_t)k))) {
		memcpy(copy, der, (size_t)k);
		*len = (size_t)k;
	}
	OPENSSL_clear_free(der, k > 0 ? (size_t)k : 0);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return copy;
}

/* ---------------------------------------------------------------- table */

static int read_holder(loader_t *lo)
{
	static const char *const names[] = { "name", "address", "birth", "sex", "number", "expiry_year",
					     "security_code", NULL };
	card_profile_t *c = &lo->p->card;
	long long year = 0;
	int rc = -1;

	if (ld_enter(lo->ld, "holder", LD_REQUIRED) < 0)
		return -1;
	if (ld_only(lo->ld, names) == 0 && get_text(lo, "name", &c->holder.name) == 0 &&
	    get_text(lo, "address", &c->holder.address) == 0 &&
	    get_birth(lo, &c->holder.birth) == 0 &&
	    get_chars(lo, "sex", 1, 1, "129", "\"1\", \"2\" or \"9\"", &c->holder.sex, LD_REQUIRED) == 1 &&
	    get_number(lo, &c->holder.number) == 0 &&
	    ld_int(lo->ld, "expiry_year", 1000, 9999, &year, LD_REQUIRED) == 1 &&
	    get_chars(lo, "security_code", 4, 4, DIGITS, "4 digits", &c->holder.security_code, LD_REQUIRED) == 1)
		rc = 0;
	c->holder.expiry_year = (int)year;
	ld_leave(lo->ld);
	return rc;
}

static int read_pins(loader_t *lo)
{
	static const char *const names[] = { "auth", "sign", "text", NULL };
	card_profile_t *c = &lo->p->card;
	int rc = -1;

	if (ld_enter(lo->ld, "pins", LD_REQUIRED) < 0)
		return -1;
	/* JPKI.md §1.4: auth PIN 4 digits; sign password 6-16 of A-Z 0-9. */
	if (ld_only(lo->ld, names) == 0 &&
	    get_chars(lo, "auth", 4, 4, DIGITS, "4 digits", &c->pins.auth, LD_REQUIRED) == 1 &&
	    get_chars(lo, "sign", 6, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS, "6 to 16 of A-Z and 0-9",
		      &c->pins.sign, LD_OPTIONAL) >= 0 &&
	    get_chars(lo, "text", 4, 4, DIGITS, "4 digits", &c->pins.text, LD_REQUIRED) == 1)
		rc = 0;
	ld_leave(lo->ld);
	return rc;
}

static int read_generation(loader_t *lo)
{
	static const enum card_gen gens[] = { [0] = CARD_GEN_2015, [5] = CARD_GEN_2020, [6] = CARD_GEN_2021,
					      [9] = CARD_GEN_2024 };
	long long year = 2020;

	if (ld_int(lo->ld, "generation", 2015, 2024, &year, LD_OPTIONAL) < 0)
		return -1;
	if (year != 2015 && year != 2020 && year != 2021 && year != 2024)
		return ld_fail_field(lo->ld, "generation", "must be 2015, 2020, 2021 or 2024");
	lo->p->card.gen = gens[year - 2015];
	return 0;
}

static int read_keys(loader_t *lo)
{
	card_profile_t *c = &lo->p->card;
	EVP_PKEY *k = NULL;
	int rc;

	if (get_pair(lo, "auth", &c->auth_cert, &c->auth_key, &c->auth_ca, LD_REQUIRED) < 0 ||
	    get_pair(lo, "sign", &c->sign_cert, &c->sign_key, &c->sign_ca, LD_OPTIONAL) < 0)
		return -1;
	rc = get_key(lo, "text_key", &c->text_key, &k, LD_OPTIONAL);
	EVP_PKEY_free(k);
	if (rc < 0)
		return -1;
	if (!c->sign_cert.n != !c->pins.sign)
		return ld_fail(lo->ld, "'sign' and 'pins.sign' go together (a minor's card has neither)");
	return 0;
}

static int read_table(loader_t *lo)
{
	static const char *const names[] = { "generation", "token", "holder", "pins", "auth", "sign", "text_key",
					     NULL };
	card_profile_t *c = &lo->p->card;

	if (ld_only(lo->ld, names) < 0 || read_generation(lo) < 0 ||
	    get_chars(lo, "token", 1, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS "_-", "1 to 32 of A-Z 0-9 _ -",
		      &c->token, LD_OPTIONAL) < 0)
		return -1;
	if (read_holder(lo) < 0 || read_pins(lo) < 0)
		return -1;
	return read_keys(lo);
}

profile_t *profile_load(const char *path, char *err, size_t errlen)
{
	loader_t lo = { .ld = ld_open(path, err, errlen) };
	int rc = -1;

	if (!lo.ld)
		return NULL;
	if (!(lo.p = calloc(1, sizeof *lo.p)))
		ld_fail(lo.ld, "out of memory");
	else
		rc = read_table(&lo);
	ld_close(lo.ld);
	if (rc < 0) {
		profile_free(lo.p);
		return NULL;
	}
	return lo.p;
}

const card_profile_t *profile_card(const profile_t *p)
{
	return &p->card;
}

void profile_free(profile_t *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	for (size_t i = 0; i < p->nblobs; i++)
		free(p->blobs[i]);
	free(p);
}

const char *profile_fixtures_dir(void)
{
	const char *env = getenv("MYNAHIL_FIXTURES");
	return env && *env ? env : MYNAHIL_SOURCE_DIR "/fixtures";
}

const char *profile_default_path(void)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/profiles/default.lua", profile_fixtures_dir());
	return path;
}
