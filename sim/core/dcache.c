/* dcache.c — see dcache.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sim/core/dcache.h"

/* Enough for every fixture key and certificate and the keys a run's SEs
 * are personalised with; certificates issued during a run pass through
 * and age out. */
#define DCACHE_SLOTS 256

enum { DC_KEY = 1, DC_CERT };

typedef struct entry {
	int kind;      /* 0: empty */
	uint64_t hash;
	uint8_t *der;  /* the bytes asked for, a copy */
	size_t n, used;
	void *obj;     /* EVP_PKEY or X509, the table's reference */
} entry_t;

static entry_t table[DCACHE_SLOTS];
static size_t next_slot; /* the oldest entry once the table is full */
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
		entry_t *e = &table[i];
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
				e = &table[next_slot];
				next_slot = (next_slot + 1) % DCACHE_SLOTS;
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
	for (size_t i = 0; i < DCACHE_SLOTS; i++)
		drop(&table[i]);
	next_slot = 0;
	CRYPTO_THREAD_unlock(lock);
}
