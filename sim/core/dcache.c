/* dcache.c — see dcache.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sim/core/dcache.h"

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
} entry_t;

static entry_t tables[2][DCACHE_SLOTS]; /* DC_KEY - 1, DC_CERT - 1 */
static size_t next_slot[2];            /* each table's oldest entry once full */
static CRYPTO_RWLOCK *lock;
static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;

static void init(void)
{
	/* OpenSSL first, so that its own atexit cleanup runs after ours. */
	OPENSSL_init_crypto(0, NULL);
	lock = CRYPTO_THREAD_lock_new();
	atexit(dcache_clear);
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
	void *obj = kind == DC_KEY ? (void *)d2i_AutoPrivateKey(NULL, &p, (long)n) : (void *)d2i_X509(NULL, &p, (long)n);

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
				*e = (entry_t){ kind, h, copy, n, u, obj };
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
