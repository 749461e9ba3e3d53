/* ca_int.h — what the CA's source files share: the object, the record
 * store (SQLite) and error reporting. */
#ifndef CA_INT_H
#define CA_INT_H

#include <sqlite3.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca.h"
#include "../core/mutate.h"

/* Prepared statements, created on first use and kept. */
enum ca_st {
	ST_GET,
	ST_DER,
	ST_INSERT,
	ST_LINK,
	ST_SET,
	ST_LINKED,
	ST_HOLDER,
	ST_BY_REQUEST,
	ST_DIRTY,
	ST_CRL_GET,
	ST_CRL_PUT,
	ST_REVOKED,
	ST_META_GET,
	ST_META_PUT,
	ST_DATA_VERSION,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_COUNT
};

#define CA_CACHE 8 /* parsed card certificates kept */

struct ca {
	sim_ctx_t *ctx;
	rng_t rng;              /* the CA's own stream (saved with the records) */
	EVP_PKEY *key[2];       /* [CA_AUTH], [CA_SIGN] */
	X509 *cert[2];
	X509_STORE *store[2];   /* each CA alone, as the trust anchor of its leaves */
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	char *base_url;
	int64_t crl_period;
	char err[256];
	const char *field;      /* static string or NULL */
	struct {
		uint64_t serial;
		X509 *x;
		/* verify_chain()'s last answer for x: under CA chain_p at the
		 * virtual time chain_at, X509_V_OK or why not (chain_known). */
		int chain_known, chain_p, chain_err;
		int64_t chain_at;
	} cache[CA_CACHE];
	unsigned cache_next;
	/* make_cert()'s extensions that are the same in every certificate of
	 * a kind and purpose, built once ([kind][purpose]; NULL until then) */
	X509 *exts[2][2];
	/* a CA reached elsewhere (ca_open_remote): its calls go there */
	const ca_remote_ops_t *remote;
	void *remote_impl;
	char field_buf[32]; /* ca_set_error()'s field */
};

/* Record the failure (what and which field) and return rc. */
int ca_fail(ca_t *ca, int rc, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ca_clear_error(ca_t *ca);
/* On a remote CA, what only the CA itself does: CA_ERR_ARG (recorded);
 * else CA_OK. */
int ca_local_only(ca_t *ca, const char *what);
/* The remote op to call, or NULL for the CA in this process. */
#define CA_REMOTE(ca, op) ((ca) && (ca)->remote ? (ca)->remote->op : NULL)

/* Statement st, reset and unbound, or NULL (ca_fail'd). */
sqlite3_stmt *ca_stmt(ca_t *ca, enum ca_st st);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int ca_begin(ca_t *ca);
int ca_commit(ca_t *ca);
void ca_rollback(ca_t *ca);
int ca_db_fail(ca_t *ca, const char *what);

int64_t ca_now(const ca_t *ca);
/* The row of serial (no DER), status as seen at the virtual now. */
int ca_row(ca_t *ca, uint64_t serial, ca_info_t *out);
int ca_der(ca_t *ca, uint64_t serial, uint8_t **der, size_t *n);
/* Insert a new valid certificate; request may be NULL (card). */
int ca_insert(ca_t *ca, uint64_t serial, enum ca_purpose p, const char *holder, enum ca_kind k,
	      const uint8_t *der, size_t n, int64_t nb, int64_t na, const uint8_t request[32]);
int ca_link(ca_t *ca, uint64_t card_serial, uint64_t phone_serial);
/* Inside a transaction: revoke serial (and, for a card certificate, its
 * linked phone certificates) unless revoked or expired already. */
int ca_revoke_in_tx(ca_t *ca, uint64_t serial, int reason);
/* Save ca->rng with the records (inside the issuing transaction). */
int ca_save_rng(ca_t *ca);

/* ASN1 time <-> seconds. */
int ca_asn1_time(const ASN1_TIME *t, int64_t *out);

#endif
