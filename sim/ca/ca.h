/* ca.h — the J-LIS CA simulator: the auth CA (利用者証明用) and the sign
 * CA (署名用) of the JPKI, issuing card and phone certificates, keeping
 * their status, and answering CRL and OCSP requests (docs/domain.md#actors,
 * docs/card.md#certificates and #phone-certificates).
 *
 * Randomness and time come from the context (ctx->rng, ctx->clock); the
 * CA keys and certificates come in as DER from the harness.  The one
 * thing the CA does itself is its SQLite database (":memory:" by default,
 * a file the harness names): the issue asks for SQLite, so the record
 * store is the CA's own, and the harness only passes its path.
 *
 * Certificate status on the virtual clock: valid, on hold (certificateHold),
 * revoked (with an RFC 5280 CRLReason) or expired.
 *
 * MODELLED ASSUMPTION (public sources do not describe the mechanism,
 * docs/card.md#phone-certificates): every phone certificate is LINKED to the
 * serial of the card sign certificate whose key authorised its issuance, and
 * revoking or renewing that card certificate revokes the linked phone
 * certificates in the same transaction (連動失効).  A hold on the card
 * certificate does not propagate.
 *
 * A ca_t is not thread-safe: callers on several threads serialise. */
#ifndef CA_H
#define CA_H

#include <stddef.h>
#include <stdint.h>
#include "../core/sim.h"

/* Errors (negative); ca_strerror() names them, ca_error() says what
 * exactly went wrong, ca_error_field() which request field it is about. */
#define CA_OK 0
#define CA_REPLAYED 1        /* ca_issue_phone: the same request again, same certificate */
#define CA_ERR_ARG -1        /* a request field is missing or malformed */
#define CA_ERR_NOMEM -2
#define CA_ERR_DB -3         /* SQLite said no (disk, lock, corrupt file) */
#define CA_ERR_CRYPTO -4     /* OpenSSL said no where it should not have */
#define CA_ERR_NOTFOUND -5   /* no certificate with that serial */
#define CA_ERR_STATE -6      /* the status forbids it: revoked, on hold, expired */
#define CA_ERR_SIGNATURE -7  /* the card's signature over a request does not verify */
#define CA_ERR_CHAIN -8      /* a certificate does not chain to the CA, or is not in its validity */
#define CA_ERR_EXISTS -9     /* a different certificate with that serial is already known */
#define CA_ERR_POLICY -10    /* JPKI rules refuse it (sign certificate under 15, ...) */

enum ca_purpose { CA_AUTH = 0, CA_SIGN = 1 }; /* also: which CA issues */
enum ca_kind { CA_CARD = 0, CA_PHONE = 1 };
enum ca_status { CA_VALID = 0, CA_HOLD = 1, CA_REVOKED = 2, CA_EXPIRED = 3 };

/* RFC 5280 CRLReason values the CA uses. */
enum ca_reason {
	CA_REASON_UNSPECIFIED = 0,
	CA_REASON_KEY_COMPROMISE = 1,
	CA_REASON_CA_COMPROMISE = 2,
	CA_REASON_AFFILIATION_CHANGED = 3,
	CA_REASON_SUPERSEDED = 4,
	CA_REASON_CESSATION = 5,
	CA_REASON_HOLD = 6, /* certificateHold: only through ca_hold() */
	CA_REASON_PRIVILEGE_WITHDRAWN = 9,
};

typedef struct ca_blob {
	const uint8_t *p;
	size_t n;
} ca_blob_t;

typedef struct ca_config {
	ca_blob_t auth_key, auth_cert; /* auth CA: private key DER (PKCS#8 or RSA), certificate DER */
	ca_blob_t sign_key, sign_cert; /* sign CA: same */
	const char *db;                /* SQLite path; NULL or ":memory:" for memory */
	const char *base_url;          /* in issued certificates: BASE/crl/{auth,sign}.crl and
					* BASE/ocsp; NULL = "http://127.0.0.1:8080" (as fixtures/) */
	int64_t crl_period;            /* CRL nextUpdate - thisUpdate in seconds; 0 = 86400 */
} ca_config_t;

/* A holder as the municipality registers them.  Strings are UTF-8. */
typedef struct ca_holder {
	const char *id;          /* the CA's key for the holder ("alice"): 1-63 of [A-Za-z0-9._-] */
	const char *birth;       /* YYYYMMDD: fixes the validity (both purposes) */
	/* Sign certificates only, the 4 attributes of the SAN
	 * (docs/card.md#certificates): */
	const char *name;        /* family U+3000 given */
	const char *name_alt;    /* NULL: the name itself */
	const char *sex;         /* "1", "2" or "9" */
	const char *address;
	const char *address_alt; /* NULL: the address itself */
	const char *pref, *city; /* subject L= L= (both or neither; ASCII here) */
} ca_holder_t;

/* A card certificate, at card personalisation (or renewal). */
typedef struct ca_card_req {
	ca_holder_t holder;
	enum ca_purpose purpose;
	ca_blob_t spki;     /* the card's public key: SubjectPublicKeyInfo DER, RSA 2048-4096 */
	int64_t not_after;  /* 0: the 5th birthday after the issue date (JST) at 14:59:59Z */
	uint64_t renews;    /* 0, or the holder's card certificate of the same purpose that this
			     * one renews: revoked (superseded) with its linked phone
			     * certificates, in the same transaction */
} ca_card_req_t;

/* A phone certificate: the SE's new public key, authorised by the card.
 *
 * The card signs (80 2A, RSASSA-PKCS1-v1_5 over the SHA-256 DigestInfo,
 * what the JPKI AP does) the DER of
 *
 *   PhoneCertRequest ::= SEQUENCE {
 *     label          UTF8String "mynahil phone-cert-request v1",
 *     purpose        ENUMERATED { auth(0), sign(1) },
 *     cardCertSerial INTEGER,              -- the card's SIGN certificate
 *     nonce          OCTET STRING (SIZE(8..64)),
 *     phoneKey       SubjectPublicKeyInfo } -- canonical DER, as sent
 *
 * (ca_phone_tbs(), ca_phone_digestinfo()).  The format is ours: no public
 * source describes J-LIS's (MODELLED ASSUMPTION).  The CA checks that the
 * card certificate is one of its card sign certificates, chains to the
 * sign CA and is valid (status valid, within its validity on the virtual
 * clock), and that the signature verifies with its key.  The phone
 * certificate's notAfter is the card certificate's; it is linked to it.
 * The same request again returns the same certificate (CA_REPLAYED), so a
 * caller that lost the answer can retry. */
typedef struct ca_phone_req {
	enum ca_purpose purpose;
	uint64_t card_serial;
	ca_blob_t spki;
	ca_blob_t nonce;
	ca_blob_t signature;
} ca_phone_req_t;

typedef struct ca_info {
	uint64_t serial;
	enum ca_purpose purpose; /* and issuing CA */
	enum ca_kind kind;
	char holder[64];
	enum ca_status status;   /* on the virtual clock */
	int reason;              /* CRLReason when on hold (6) or revoked, else -1 */
	int64_t not_before, not_after;
	int64_t revoked_at;      /* when put on hold or revoked, else 0 */
	uint64_t card_serial;    /* phone: the card certificate it is linked to; card: 0 */
} ca_info_t;

typedef struct ca ca_t;

/* Open the CA: keys and certificates checked (each key matches its
 * certificate), the database created or opened (WAL for a file).  The
 * CA keeps ctx (rng, clock; nvm unused) and copies cfg.  On failure err
 * (may be NULL) says why. */
int ca_open(ca_t **out, sim_ctx_t *ctx, const ca_config_t *cfg, char *err, size_t errlen);
void ca_close(ca_t *ca);

const char *ca_strerror(int rc);
const char *ca_error(const ca_t *ca);       /* the last failure, in words */
const char *ca_error_field(const ca_t *ca); /* the request field it is about, or NULL */

/* Register a card certificate this CA issued elsewhere (the fixtures'
 * cards): it must verify under the auth or the sign CA.  Status valid.
 * The same certificate again is CA_OK. */
int ca_import_card(ca_t *ca, const char *holder, const uint8_t *der, size_t n, uint64_t *serial);

/* Issue; *der is malloc'd (free()).  serial and der may be NULL. */
int ca_issue_card(ca_t *ca, const ca_card_req_t *req, uint64_t *serial, uint8_t **der, size_t *n);
int ca_issue_phone(ca_t *ca, const ca_phone_req_t *req, uint64_t *serial, uint8_t **der, size_t *n);

/* For the TSM's other card-authorised operations (revocation, PIN reset):
 * card_serial is one of this CA's card certificates (either purpose),
 * status valid, chaining to its CA within its validity on the virtual
 * clock, and sig is its key's RSASSA-PKCS1-v1_5 SHA-256 signature over
 * msg (the card's 80 2A on the SHA-256 DigestInfo of msg).  The message
 * format is the caller's.  card (may be NULL) gets the certificate's
 * record: its holder and purpose.  CA_ERR_NOTFOUND, CA_ERR_POLICY (not a
 * card certificate), CA_ERR_STATE, CA_ERR_CHAIN, CA_ERR_SIGNATURE. */
int ca_verify_card(ca_t *ca, uint64_t card_serial, const uint8_t *msg, size_t n,
		   const uint8_t *sig, size_t sn, ca_info_t *card);

/* The bytes the card signs for req (req->signature unused); malloc'd. */
int ca_phone_tbs(const ca_phone_req_t *req, uint8_t **tbs, size_t *n);
/* Their SHA-256 DigestInfo: the 51 bytes to send to the card's 80 2A. */
int ca_phone_digestinfo(const ca_phone_req_t *req, uint8_t di[51]);

/* State changes, one transaction each.  Revoking a card certificate
 * revokes its linked phone certificates with the same reason (MODELLED
 * ASSUMPTION).  Idempotent: revoking a revoked certificate or holding a
 * held one is CA_OK and changes nothing.  CA_ERR_STATE: revoking or
 * holding an expired certificate, holding or lifting a revoked one.
 * Lifting a held SIGN certificate is CA_ERR_POLICY: J-LIS reinstates only
 * the auth certificate, the sign certificate is revoked and reissued
 * (docs/card.md#certificates, #phone-certificates).  Lifting a valid
 * certificate is CA_OK. */
int ca_revoke(ca_t *ca, uint64_t serial, int reason);
int ca_hold(ca_t *ca, uint64_t serial);
int ca_lift(ca_t *ca, uint64_t serial);

/* Queries.  The lists fill up to cap serials (ascending) and set *n to
 * the total, so a caller can size a second call. */
int ca_status(ca_t *ca, uint64_t serial, ca_info_t *out);
int ca_cert(ca_t *ca, uint64_t serial, uint8_t **der, size_t *n);
int ca_linked(ca_t *ca, uint64_t card_serial, uint64_t *serials, size_t cap, size_t *n);
int ca_list_holder(ca_t *ca, const char *holder, uint64_t *serials, size_t cap, size_t *n);

/* The current CRL of the auth or the sign CA (DER, malloc'd): version 2,
 * CRL number, thisUpdate = the virtual now, nextUpdate = + crl_period,
 * an entry per held or revoked certificate not yet expired, with its
 * reason code.  A CRL is issued (its number incremented) when the status
 * of one of that CA's certificates changed since the last one, or the
 * last one's nextUpdate has passed; otherwise the last one is returned. */
int ca_crl(ca_t *ca, enum ca_purpose which, uint8_t **der, size_t *n);

/* An OCSP response (DER, malloc'd) to an OCSP request (DER), RFC 6960:
 * a basic response signed by the issuing CA itself, one answer per
 * request entry: good (valid or expired), revoked (with its reason; on
 * hold: revoked, certificateHold) or unknown; thisUpdate and producedAt
 * the virtual now, no nextUpdate; the nonce echoed.  A request that does
 * not parse gets malformedRequest, one for neither CA unauthorized:
 * those are still CA_OK (the response is the answer). */
int ca_ocsp(ca_t *ca, const uint8_t *req, size_t n, uint8_t **rsp, size_t *rn);

/* The virtual clock kept with the records, for a CA that restarts: save
 * ctx->clock's now, or load the last saved value (CA_ERR_NOTFOUND if
 * never saved). */
int ca_clock_save(ca_t *ca);
int ca_clock_load(ca_t *ca, int64_t *t);

/* A CA elsewhere: `serve ca` over HTTP (hil/svc/http_ca.c), for a TSM
 * and a wallet that reach it as a separate service.  The calls they make
 * (status, cert, list_holder, issue_phone, verify_card, revoke, hold,
 * lift, and clock_load: the remote CA's clock) go to ops, with the same
 * return codes; each op records why it failed with ca_set_error().
 * Everything else (issuing card certificates, CRLs, OCSP, imports,
 * linkage, clock_save) answers CA_ERR_ARG on such a CA: those are asked
 * of the CA itself.  ca_close() calls ops->close(impl). */
typedef struct ca_remote_ops {
	int (*status)(ca_t *ca, void *impl, uint64_t serial, ca_info_t *out);
	int (*cert)(ca_t *ca, void *impl, uint64_t serial, uint8_t **der, size_t *n);
	int (*list_holder)(ca_t *ca, void *impl, const char *holder, uint64_t *serials, size_t cap, size_t *n);
	int (*issue_phone)(ca_t *ca, void *impl, const ca_phone_req_t *req, uint64_t *serial, uint8_t **der,
			   size_t *n);
	int (*verify_card)(ca_t *ca, void *impl, uint64_t card_serial, const uint8_t *msg, size_t n,
			   const uint8_t *sig, size_t sn, ca_info_t *card);
	int (*revoke)(ca_t *ca, void *impl, uint64_t serial, int reason);
	int (*hold)(ca_t *ca, void *impl, uint64_t serial);
	int (*lift)(ca_t *ca, void *impl, uint64_t serial);
	int (*clock)(ca_t *ca, void *impl, int64_t *now);
	void (*close)(void *impl);
} ca_remote_ops_t;

int ca_open_remote(ca_t **out, const ca_remote_ops_t *ops, void *impl);
int ca_is_remote(const ca_t *ca);
/* What the CA's records and clock are now, as three numbers that differ
 * whenever a status the CA answers may have changed since an earlier
 * call (and sometimes when none has): 0, or -1 for a remote CA, whose
 * changes nobody here sees. */
int ca_revision(ca_t *ca, uint64_t rev[3]);
/* For a remote op: record rc's reason (field may be NULL; copied) and
 * return rc. */
int ca_set_error(ca_t *ca, int rc, const char *field, const char *msg);

/* Serials as text: upper-case hex, even number of digits ("0700A001"). */
void ca_serial_format(uint64_t serial, char out[17]);
int ca_serial_parse(const char *s, uint64_t *out); /* 0 or -1 */

const char *ca_status_name(enum ca_status s);  /* "valid" "hold" "revoked" "expired" */
const char *ca_reason_name(int reason);        /* "keyCompromise", ...; NULL if unknown */
int ca_reason_parse(const char *s);            /* name or decimal; -1 if unknown */

#endif
