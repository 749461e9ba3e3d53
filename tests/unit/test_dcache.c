/* test_dcache.c — sim/core/dcache: the same bytes give the same object
 * (a new reference each time), other bytes another; what was taken is
 * said; garbage is NULL and not kept; a full table drops its oldest entry
 * while holders keep theirs; threads asking at once all get the right
 * object; dcache_clear leaves the holders' objects alive (ASan checks the
 * references).  Keys in either RSA form and of another type; the public
 * key's encoding; whether a certificate carries a key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <openssl/pem.h>

#include "sim/core/dcache.h"

#define FX MYNAHIL_SOURCE_DIR "/fixtures/"

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(1 << 16);

	assert_non_null(f);
	*n = fread(b, 1, 1 << 16, f);
	fclose(f);
	return b;
}

/* pool-NN.pem as PKCS#8 DER. */
static uint8_t *key_der(int i, size_t *n)
{
	char path[256];
	FILE *f;
	EVP_PKEY *k;
	uint8_t *der = NULL, *copy;
	int len;

	snprintf(path, sizeof path, FX "keys/pool-%02d.pem", i);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(k = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
	assert_true((len = i2d_PrivateKey(k, &der)) > 0);
	copy = malloc((size_t)len);
	memcpy(copy, der, (size_t)len);
	*n = (size_t)len;
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return copy;
}

static void test_same_bytes_same_object(void **state)
{
	size_t n, kn, used = 0;
	uint8_t *c = slurp(FX "pki/auth-ca.der", &n), *k = key_der(1, &kn);
	uint8_t *c2 = malloc(n + 3);
	X509 *a, *b, *t, *tail;
	EVP_PKEY *ka, *kb;
	(void)state;

	assert_non_null(a = dcache_cert(c, n, &used));
	assert_int_equal(used, n);
	assert_non_null(b = dcache_cert(c, n, NULL));
	assert_ptr_equal(a, b);
	/* The same certificate with bytes after it: another entry, and
	 * what it took is said. */
	memcpy(c2, c, n);
	memcpy(c2 + n, "xyz", 3);
	assert_non_null(tail = dcache_cert(c2, n + 3, &used));
	assert_int_equal(used, n);
	assert_ptr_not_equal(tail, a);
	assert_int_equal(X509_cmp(tail, a), 0);
	/* A key is not a certificate, and the other way round. */
	assert_null(dcache_cert(k, kn, NULL));
	assert_null(dcache_key(c, n, NULL));
	assert_non_null(ka = dcache_key(k, kn, &used));
	assert_int_equal(used, kn);
	assert_non_null(kb = dcache_key(k, kn, NULL));
	assert_ptr_equal(ka, kb);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(a), ka), 1); /* pool-01 is the auth CA's */
	assert_null(dcache_cert(NULL, 5, NULL));
	assert_null(dcache_cert(c, 0, NULL));
	assert_null(dcache_cert(c, 10, NULL)); /* truncated */
	/* Cleared: the holders' references still good. */
	dcache_clear();
	assert_int_equal(X509_cmp(a, b), 0);
	assert_non_null(t = dcache_cert(c, n, NULL));
	assert_ptr_not_equal(t, a); /* decoded anew */
	X509_free(t);
	X509_free(a);
	X509_free(b);
	X509_free(tail);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	free(c);
	free(c2);
	free(k);
}

/* More certificates than the table holds: the first one is dropped
 * (asked again, it is decoded anew) while its holder's reference lives
 * on; the keys, in a table of their own, stay. */
static void test_oldest_dropped(void **state)
{
	size_t n;
	size_t kn;
	uint8_t *c = slurp(FX "pki/sign-ca.der", &n), *buf = malloc(n + 2), *k = key_der(2, &kn);
	X509 *first, *again;
	EVP_PKEY *key = dcache_key(k, kn, NULL), *key2;
	(void)state;

	memcpy(buf, c, n);
	for (int i = 0; i < 300; i++) {
		X509 *x;
		buf[n] = (uint8_t)(i >> 8);
		buf[n + 1] = (uint8_t)i;
		assert_non_null(x = dcache_cert(buf, n + 2, NULL));
		if (i == 0)
			first = x;
		else
			X509_free(x);
	}
	buf[n] = buf[n + 1] = 0;
	assert_non_null(again = dcache_cert(buf, n + 2, NULL));
	assert_ptr_not_equal(again, first);
	assert_int_equal(X509_cmp(again, first), 0);
	assert_ptr_equal(key2 = dcache_key(k, kn, NULL), key);
	X509_free(again);
	X509_free(first);
	EVP_PKEY_free(key);
	EVP_PKEY_free(key2);
	free(buf);
	free(c);
	free(k);
}

/* A key is tried as RSA first: the same key and the same bytes taken as
 * d2i_AutoPrivateKey gives, as PKCS#8 or as a bare RSAPrivateKey, with
 * a byte after it; a key of another type still decodes. */
static void test_keys_any_form(void **state)
{
	uint8_t buf[4096];
	(void)state;

	for (int i = 1; i <= 8; i++) {
		size_t kn;
		uint8_t *k1 = key_der(i, &kn), *k8 = NULL;
		EVP_PKEY *ref = dcache_key(k1, kn, NULL);
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(ref);
		int n8 = i2d_PKCS8_PRIV_KEY_INFO(p8, &k8);
		const uint8_t *forms[2] = { k1, k8 };
		size_t lens[2] = { kn, (size_t)n8 };

		assert_true(n8 > 0);
		for (int f = 0; f < 2; f++) {
			const unsigned char *p = buf;
			size_t used = 0;
			EVP_PKEY *k, *a;
			assert_true(lens[f] + 1 <= sizeof buf);
			memcpy(buf, forms[f], lens[f]);
			buf[lens[f]] = 0x05;
			assert_non_null(k = dcache_key(buf, lens[f] + 1, &used));
			assert_non_null(a = d2i_AutoPrivateKey(NULL, &p, (long)(lens[f] + 1)));
			assert_int_equal(used, (size_t)(p - buf));
			assert_int_equal(used, lens[f]);
			assert_int_equal(EVP_PKEY_eq(k, a), 1);
			EVP_PKEY_free(a);
			EVP_PKEY_free(k);
		}
		PKCS8_PRIV_KEY_INFO_free(p8);
		OPENSSL_free(k8);
		EVP_PKEY_free(ref);
		free(k1);
	}
	{
		EVP_PKEY *ec = EVP_EC_gen("P-256"), *k;
		uint8_t *d = NULL;
		int n = i2d_PrivateKey(ec, &d);
		assert_true(n > 0);
		assert_non_null(k = dcache_key(d, (size_t)n, NULL));
		assert_true(EVP_PKEY_is_a(k, "EC"));
		assert_int_equal(EVP_PKEY_eq(k, ec), 1);
		EVP_PKEY_free(k);
		EVP_PKEY_free(ec);
		OPENSSL_free(d);
	}
}

/* dcache_spki is i2d_PUBKEY, the same bytes asked twice;
 * dcache_cert_has_key: alice's sign certificate carries pool key 4 (its
 * own bytes: read without decoding the key) and not pool key 1; with a
 * byte after it, cut short, or with its signature's tag broken (past the
 * key: the rest is still read) it is no certificate, for either key. */
static void test_spki_and_cert_key(void **state)
{
	size_t kn, on, cn, n1, n2;
	uint8_t *kd = key_der(4, &kn), *od = key_der(1, &on), *c = slurp(FX "pki/alice-sign.der", &cn);
	uint8_t *s1, *s2, *ref = NULL, *bad = malloc(cn + 1);
	EVP_PKEY *k = dcache_key(kd, kn, NULL), *other = dcache_key(od, on, NULL);
	int rn;
	(void)state;

	assert_non_null(k);
	assert_non_null(other);
	assert_true((rn = i2d_PUBKEY(k, &ref)) > 0);
	assert_int_equal(dcache_spki(k, &s1, &n1), 0);
	assert_int_equal(dcache_spki(k, &s2, &n2), 0);
	assert_int_equal(n1, (size_t)rn);
	assert_memory_equal(s1, ref, n1);
	assert_int_equal(n2, n1);
	assert_memory_equal(s2, ref, n2);
	assert_int_equal(dcache_cert_has_key(c, cn, k), 1);
	assert_int_equal(dcache_cert_has_key(c, cn, other), 0);
	memcpy(bad, c, cn);
	bad[cn] = 0;
	assert_int_equal(dcache_cert_has_key(bad, cn + 1, k), 0);
	assert_int_equal(dcache_cert_has_key(c, cn - 1, k), 0);
	assert_int_equal(bad[cn - 261], 0x03); /* BIT STRING, 256 bytes of RSA-2048 signature */
	bad[cn - 261] = 0x04;
	assert_int_equal(dcache_cert_has_key(bad, cn, k), 0);
	assert_int_equal(dcache_cert_has_key(bad, cn, other), 0);
	free(s1);
	free(s2);
	OPENSSL_free(ref);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	free(bad);
	free(c);
	free(kd);
	free(od);
}

typedef struct job {
	const uint8_t *der[2];
	size_t n[2];
	X509 *want[2];
	int bad;
} job_t;

static void *hammer(void *arg)
{
	job_t *j = arg;

	for (int i = 0; i < 2000; i++) {
		X509 *x = dcache_cert(j->der[i & 1], j->n[i & 1], NULL);
		if (!x || X509_cmp(x, j->want[i & 1]))
			j->bad++;
		X509_free(x);
		if (i % 500 == 0)
			dcache_clear();
	}
	return NULL;
}

static void test_threads(void **state)
{
	size_t n0, n1;
	uint8_t *a = slurp(FX "pki/auth-ca.der", &n0), *b = slurp(FX "pki/root.der", &n1);
	job_t j[4];
	pthread_t th[4];
	(void)state;

	for (int i = 0; i < 4; i++) {
		j[i] = (job_t){ { a, b }, { n0, n1 }, { dcache_cert(a, n0, NULL), dcache_cert(b, n1, NULL) }, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &j[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(j[i].bad, 0);
		X509_free(j[i].want[0]);
		X509_free(j[i].want[1]);
	}
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_same_object),
		cmocka_unit_test(test_oldest_dropped),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_keys_any_form),
		cmocka_unit_test(test_spki_and_cert_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
