/* dcache.c — see dcache.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "sim/core/dcache.h"
#include "sim/core/tlv.h"

/* A table a kind, so that the certificates a run issues (each new, they
 * pass through and age out) never push out the keys, which come back:
 * every fixture key and certificate fits. */
#define DCACHE_SLOTS 128

enum { DC_KEY = 1, DC_CERT };

typedef struct entry {
	int kind;      /* 0: empty */
	uint64_t hash;
	uint8_t *der;  /* the bytes asked for, a copy */
	size_t n, used;
	void *obj;     /* EVP_PKEY or X509, the table's reference */
	uint8_t *spki; /* a key's i2d_PUBKEY once asked (dcache_spki), or NULL */
	size_t spki_n;
} entry_t;

static entry_t tables[2][DCACHE_SLOTS]; /* DC_KEY - 1, DC_CERT - 1 */
static size_t next_slot[2];            /* each table's oldest entry once full */
static CRYPTO_RWLOCK *lock;
static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;
/* A library context with no decoder (only the "null" provider): a
 * certificate read in it has its public key left undecoded, which
 * d2i_X509 allows (X509_get0_pubkey() then says NULL). */
static OSSL_LIB_CTX *bare;
static OSSL_PROVIDER *bare_null;

static void fini(void)
{
	dcache_clear();
	OSSL_PROVIDER_unload(bare_null);
	OSSL_LIB_CTX_free(bare);
	bare_null = NULL;
	bare = NULL;
}

static void init(void)
{
	/* OpenSSL first, so that its own atexit cleanup runs after ours. */
	OPENSSL_init_crypto(0, NULL);
	lock = CRYPTO_THREAD_lock_new();
	if ((bare = OSSL_LIB_CTX_new()) && !(bare_null = OSSL_PROVIDER_load(bare, "null"))) {
		OSSL_LIB_CTX_free(bare);
		bare = NULL;
	}
	atexit(fini);
}

static uint64_t fnv1a(int kind, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)kind;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void up_ref(int kind, void *obj)
{
	if (kind == DC_KEY)
		EVP_PKEY_up_ref(obj);
	else
		X509_up_ref(obj);
}

static void drop(entry_t *e)
{
	if (e->kind == DC_KEY)
		EVP_PKEY_free(e->obj);
	else if (e->kind == DC_CERT)
		X509_free(e->obj);
	free(e->der);
	free(e->spki);
	*e = (entry_t){ 0 };
}

/* Under the lock: the entry for these bytes, or NULL. */
static entry_t *find(int kind, uint64_t h, const uint8_t *der, size_t n)
{
	for (size_t i = 0; i < DCACHE_SLOTS; i++) {
		entry_t *e = &tables[kind - 1][i];
		if (e->kind == kind && e->hash == h && e->n == n && !memcmp(e->der, der, n))
			return e;
	}
	return NULL;
}

static void *decode(int kind, const uint8_t *der, size_t n, size_t *used)
{
	const unsigned char *p = der;
	void *obj = NULL;

	/* A key is tried as RSA first: every key the simulators hold is one,
	 * and OpenSSL 3 decodes one type in a quarter of the time
	 * d2i_AutoPrivateKey takes to try them all; the same key, the same
	 * bytes taken.  Anything else goes on to d2i_AutoPrivateKey. */
	if (kind == DC_KEY) {
		ERR_set_mark();
		if (!(obj = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)n)))
			p = der;
		ERR_pop_to_mark();
	}
	if (!obj)
		obj = kind == DC_KEY ? (void *)d2i_AutoPrivateKey(NULL, &p, (long)n) : (void *)d2i_X509(NULL, &p, (long)n);

	if (obj)
		*used = (size_t)(p - der);
	return obj;
}

static void *get(int kind, const uint8_t *der, size_t n, size_t *used)
{
	uint64_t h;
	void *obj = NULL;
	size_t u = 0;
	entry_t *e;
	uint8_t *copy;

	if (!der || !n || n > 0x7FFFFFFF || !CRYPTO_THREAD_run_once(&once, init) || !lock)
		return NULL;
	h = fnv1a(kind, der, n);
	if (!CRYPTO_THREAD_read_lock(lock))
		return NULL;
	if ((e = find(kind, h, der, n))) {
		up_ref(kind, obj = e->obj);
		u = e->used;
	}
	CRYPTO_THREAD_unlock(lock);
	/* Decoded outside the lock: the slow part.  Two threads may both
	 * decode the same bytes; the later one keeps its own object. */
	if (!obj && (obj = decode(kind, der, n, &u)) && (copy = malloc(n))) {
		memcpy(copy, der, n);
		if (CRYPTO_THREAD_write_lock(lock)) {
			if (!find(kind, h, der, n)) {
				e = &tables[kind - 1][next_slot[kind - 1]];
				next_slot[kind - 1] = (next_slot[kind - 1] + 1) % DCACHE_SLOTS;
				drop(e);
				*e = (entry_t){ kind, h, copy, n, u, obj, NULL, 0 };
				up_ref(kind, obj);
				copy = NULL;
			}
			CRYPTO_THREAD_unlock(lock);
		}
		free(copy);
	}
	if (obj && used)
		*used = u;
	return obj;
}

EVP_PKEY *dcache_key(const uint8_t *der, size_t n, size_t *used)
{
	return get(DC_KEY, der, n, used);
}

X509 *dcache_cert(const uint8_t *der, size_t n, size_t *used)
{
	return get(DC_CERT, der, n, used);
}

/* Under the lock: the key table's entry holding k, or NULL. */
static entry_t *find_key(const EVP_PKEY *k)
{
	for (size_t i = 0; i < DCACHE_SLOTS; i++)
		if (tables[DC_KEY - 1][i].kind == DC_KEY && tables[DC_KEY - 1][i].obj == k)
			return &tables[DC_KEY - 1][i];
	return NULL;
}

static int dup_bytes(const uint8_t *p, size_t n, uint8_t **out, size_t *on)
{
	if (!(*out = malloc(n ? n : 1)))
		return -1;
	memcpy(*out, p, n);
	*on = n;
	return 0;
}

int dcache_spki(EVP_PKEY *k, uint8_t **spki, size_t *n)
{
	uint8_t *der = NULL;
	int len, rc = 1;
	entry_t *e;

	*spki = NULL;
	*n = 0;
	if (!k || !CRYPTO_THREAD_run_once(&once, init) || !lock)
		return -1;
	if (CRYPTO_THREAD_read_lock(lock)) {
		if ((e = find_key(k)) && e->spki)
			rc = dup_bytes(e->spki, e->spki_n, spki, n);
		CRYPTO_THREAD_unlock(lock);
	}
	if (rc <= 0)
		return rc;
	/* Encoded outside the lock, as get() decodes. */
	if ((len = i2d_PUBKEY(k, &der)) <= 0)
		return -1;
	rc = dup_bytes(der, (size_t)len, spki, n);
	if (rc == 0 && CRYPTO_THREAD_write_lock(lock)) {
		if ((e = find_key(k)) && !e->spki && dup_bytes(der, (size_t)len, &e->spki, &e->spki_n) < 0)
			e->spki = NULL;
		CRYPTO_THREAD_unlock(lock);
	}
	OPENSSL_free(der);
	return rc;
}

/* The bytes of the SubjectPublicKeyInfo inside a DER certificate (RFC
 * 5280 §4.1: the field after the subject in the TBSCertificate, whose
 * first, the [0] version, is optional), or -1 when the walk meets
 * something else. */
static int cert_spki(const uint8_t *der, size_t n, const uint8_t **spki, size_t *sn)
{
	/* serial, signature algorithm, issuer, validity, subject, the key */
	static const uint32_t fields[] = { 0x02, 0x30, 0x30, 0x30, 0x30, 0x30 };
	tlv_t cert, tbs, e;
	const uint8_t *p, *end;
	size_t i = 0;

	if (tlv_parse(der, n, &cert) <= 0 || cert.tag != 0x30 || tlv_parse(cert.val, cert.len, &tbs) <= 0 ||
	    tbs.tag != 0x30)
		return -1;
	for (p = tbs.val, end = tbs.val + tbs.len; tlv_parse(p, (size_t)(end - p), &e) > 0; p += e.size) {
		if (p == tbs.val && e.tag == 0xA0)
			continue;
		if (e.tag != fields[i])
			return -1;
		if (++i == sizeof fields / sizeof fields[0]) {
			*spki = p;
			*sn = e.size;
			return 0;
		}
	}
	return -1;
}

int dcache_cert_has_key(const uint8_t *der, size_t n, EVP_PKEY *k)
{
	const uint8_t *raw, *p = der;
	uint8_t *mine = NULL;
	size_t rn, mn = 0, used = 0;
	X509 *x;
	int ok = 0, same;

	if (!der || !n || n > 0x7FFFFFFF || !k || !CRYPTO_THREAD_run_once(&once, init))
		return 0;
	same = bare && cert_spki(der, n, &raw, &rn) == 0 && dcache_spki(k, &mine, &mn) == 0 && rn == mn &&
	       !memcmp(raw, mine, mn);
	free(mine);
	if (same) {
		/* The key is k's, byte for byte: only the rest is read. */
		x = (X509 *)ASN1_item_d2i_ex(NULL, &p, (long)n, ASN1_ITEM_rptr(X509), bare, NULL);
		ok = x && p == der + n;
		X509_free(x);
		return ok;
	}
	if ((x = dcache_cert(der, n, &used)) && used == n)
		ok = EVP_PKEY_eq(X509_get0_pubkey(x), k) == 1;
	X509_free(x);
	return ok;
}

void dcache_clear(void)
{
	if (!lock || !CRYPTO_THREAD_write_lock(lock))
		return;
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < DCACHE_SLOTS; i++)
			drop(&tables[k][i]);
		next_slot[k] = 0;
	}
	CRYPTO_THREAD_unlock(lock);
}
