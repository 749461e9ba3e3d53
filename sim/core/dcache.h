/* dcache.h — decoded private keys and certificates, once per process.
 *
 * OpenSSL 3 decodes a private key, and the public key inside every
 * certificate, through its provider decoders: a search of every decoder
 * under global locks that costs more than the RSA signature made with
 * the key afterwards.  The simulators decode the same few dozen fixture
 * keys and certificates again and again (each card, each applet the
 * TSM personalises from the key pool, each CA opened), so they ask
 * here: the first ask decodes, later ones get a new reference to the
 * same object.  Keyed by the exact bytes; bounded tables, one for keys
 * and one for certificates (when one is full its oldest entry is
 * dropped; holders keep their references);
 * thread-safe (the served TSM and CA answer on threads); emptied at
 * exit.  A shared object is read-only: X509_dup() one before changing
 * it. */
#ifndef DCACHE_H
#define DCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* As d2i_AutoPrivateKey() over der[0..n): a key the caller frees, or
 * NULL; *used (may be NULL) is the number of bytes it took. */
EVP_PKEY *dcache_key(const uint8_t *der, size_t n, size_t *used);
/* As d2i_X509() over der[0..n), the same way. */
X509 *dcache_cert(const uint8_t *der, size_t n, size_t *used);
/* i2d_PUBKEY(k) into *spki (malloc'd), *n bytes: 0, or -1.  Encoded
 * once per key of the table (OpenSSL 3 encodes a public key through its
 * provider encoders, as costly as decoding it); another key is encoded
 * every time. */
int dcache_spki(EVP_PKEY *k, uint8_t **spki, size_t *n);
/* Whether der[0..n) is one certificate, all of it (as d2i_X509), whose
 * public key is k's (as EVP_PKEY_eq): 1 or 0.  A certificate just issued
 * for k carries k's SubjectPublicKeyInfo byte for byte: then nothing is
 * decoded with a decoder, the certificate is read without its key; any
 * other goes the general way. */
int dcache_cert_has_key(const uint8_t *der, size_t n, EVP_PKEY *k);
/* Drop every entry (registered with atexit on first use). */
void dcache_clear(void);

#endif
