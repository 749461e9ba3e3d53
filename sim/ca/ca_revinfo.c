/* ca_revinfo.c — revocation information: CRLs (RFC 5280 §5) and OCSP
 * responses (RFC 6960), both dated by the virtual clock and signed by
 * the issuing CA's own key. */
#include "ca_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

static const char *const ca_names[2] = { "auth", "sign" };

static int copy_out(ca_t *ca, const uint8_t *p, size_t n, uint8_t **der, size_t *dn)
{
	if (!(*der = malloc(n ? n : 1)))
		return ca_fail(ca, CA_ERR_NOMEM, NULL, "out of memory");
	memcpy(*der, p, n);
	*dn = n;
	return CA_OK;
}

/* ------------------------------------------------------------ CRL */

static int add_entry(X509_CRL *crl, uint64_t serial, int64_t when, int reason)
{
	if (mut_on(MUT_CRL_OMITS))
		return 1;
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)when);
	ASN1_ENUMERATED *e = NULL;
	int ok = r && sn && t && ASN1_INTEGER_set_uint64(sn, serial) &&
		 X509_REVOKED_set_serialNumber(r, sn) && X509_REVOKED_set_revocationDate(r, t);

	/* RFC 5280 §5.3.1: unspecified (0) is left out. */
	if (ok && reason > 0)
		ok = (e = ASN1_ENUMERATED_new()) && ASN1_ENUMERATED_set(e, reason) &&
		     X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0) == 1;
	if (ok)
		ok = X509_CRL_add0_revoked(crl, r);
	if (!ok)
		X509_REVOKED_free(r);
	ASN1_ENUMERATED_free(e);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(sn);
	return ok;
}

/* A new CRL of CA p numbered number, thisUpdate now; DER malloc'd. */
static int build_crl(ca_t *ca, enum ca_purpose p, int64_t number, int64_t now, uint8_t **der,
		     size_t *dn)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)now);
	ASN1_TIME *t2 = ASN1_TIME_set(NULL, (time_t)(now + ca->crl_period));
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *aki = NULL;
	X509V3_CTX v3;
	sqlite3_stmt *s;
	uint8_t *tmp = NULL;
	int ok, len = -1, rc = CA_OK, step;

	ok = crl && t1 && t2 && num && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
	     X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert[p])) &&
	     X509_CRL_set1_lastUpdate(crl, t1) && X509_CRL_set1_nextUpdate(crl, t2);
	if (ok && (s = ca_stmt(ca, ST_REVOKED)) != NULL) {
		/* Held and revoked certificates not yet expired. */
		sqlite3_bind_text(s, 1, ca_names[p], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, now);
		while (ok && (step = sqlite3_step(s)) == SQLITE_ROW)
			ok = add_entry(crl, (uint64_t)sqlite3_column_int64(s, 0),
				       sqlite3_column_int64(s, 1), sqlite3_column_int(s, 2));
		if (ok && step != SQLITE_DONE)
			rc = ca_db_fail(ca, "select");
		sqlite3_reset(s);
	} else if (ok)
		rc = CA_ERR_DB;
	if (ok && rc == CA_OK) {
		X509V3_set_ctx(&v3, ca->cert[p], NULL, NULL, crl, 0);
		ok = X509_CRL_sort(crl) &&
		     (aki = X509V3_EXT_nconf_nid(NULL, &v3, NID_authority_key_identifier,
						 "keyid:always")) != NULL &&
		     X509_CRL_add_ext(crl, aki, -1) && ASN1_INTEGER_set_int64(num, number) &&
		     X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1 &&
		     X509_CRL_sign(crl, ca->key[p], EVP_sha256()) > 0 &&
		     (len = i2d_X509_CRL(crl, &tmp)) > 0;
	}
	if (rc == CA_OK && !ok)
		rc = ca_fail(ca, CA_ERR_CRYPTO, NULL, "building the CRL failed");
	if (rc == CA_OK)
		rc = copy_out(ca, tmp, (size_t)len, der, dn);
	OPENSSL_free(tmp);
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t2);
	ASN1_TIME_free(t1);
	X509_CRL_free(crl);
	return rc;
}

int ca_crl(ca_t *ca, enum ca_purpose which, uint8_t **der, size_t *n)
{
	sqlite3_stmt *s;
	int64_t number = 0, this_update = 0, now;
	int dirty = 1, have = 0, rc, step;

	if (!ca || !der || !n || (which != CA_AUTH && which != CA_SIGN))
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if ((rc = ca_local_only(ca, "ca_crl")) != CA_OK)
		return rc;
	now = ca_now(ca);
	if ((rc = ca_begin(ca)) != CA_OK)
		return rc;
	if (!(s = ca_stmt(ca, ST_CRL_GET))) {
		rc = CA_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(s, 1, ca_names[which], -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		number = sqlite3_column_int64(s, 0);
		this_update = sqlite3_column_int64(s, 1);
		dirty = sqlite3_column_int(s, 2);
		have = sqlite3_column_type(s, 3) == SQLITE_BLOB;
		/* The last CRL still holds: nothing changed, not past its
		 * nextUpdate, and the clock has not gone back before it. */
		if (have && !dirty && now >= this_update && now < this_update + ca->crl_period) {
			rc = copy_out(ca, sqlite3_column_blob(s, 3),
				      (size_t)sqlite3_column_bytes(s, 3), der, n);
			sqlite3_reset(s);
			goto out;
		}
	} else if (step != SQLITE_DONE)
		rc = ca_db_fail(ca, "select");
	sqlite3_reset(s);
	if (rc != CA_OK || (rc = build_crl(ca, which, number + 1, now, der, n)) != CA_OK)
		goto out;
	if (!(s = ca_stmt(ca, ST_CRL_PUT))) {
		rc = CA_ERR_DB;
	} else {
		sqlite3_bind_text(s, 1, ca_names[which], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, number + 1);
		sqlite3_bind_int64(s, 3, now);
		sqlite3_bind_blob(s, 4, *der, (int)*n, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? CA_OK : ca_db_fail(ca, "crl_number");
		sqlite3_reset(s);
	}
	if (rc == CA_OK && (rc = ca_commit(ca)) == CA_OK)
		return CA_OK;
	free(*der);
	*der = NULL;
out:
	if (rc != CA_OK) {
		ca_rollback(ca);
		return rc;
	}
	return ca_commit(ca); /* read only; ends the transaction */
}

/* ------------------------------------------------------------ OCSP */

static int ocsp_status_only(ca_t *ca, int status, uint8_t **rsp, size_t *rn)
{
	OCSP_RESPONSE *r = OCSP_response_create(status, NULL);
	uint8_t *tmp = NULL;
	int len = r ? i2d_OCSP_RESPONSE(r, &tmp) : -1, rc;

	OCSP_RESPONSE_free(r);
	if (len <= 0)
		return ca_fail(ca, CA_ERR_CRYPTO, NULL, "building the OCSP response failed");
	rc = copy_out(ca, tmp, (size_t)len, rsp, rn);
	OPENSSL_free(tmp);
	return rc;
}

/* Which of the two CAs the CertID names (issuer name and key hashes,
 * with the request's hash algorithm), or -1. */
static int issuer_of(ca_t *ca, OCSP_CERTID *id)
{
	ASN1_OBJECT *md_oid = NULL;
	const EVP_MD *md;
	int which = -1;

	if (!OCSP_id_get0_info(NULL, &md_oid, NULL, NULL, id) || !(md = EVP_get_digestbyobj(md_oid)))
		return -1;
	for (int i = 0; i < 2 && which < 0; i++) {
		OCSP_CERTID *mine = OCSP_cert_to_id(md, NULL, ca->cert[i]);
		if (mine && !OCSP_id_issuer_cmp(id, mine))
			which = i;
		OCSP_CERTID_free(mine);
	}
	return which;
}

int ca_ocsp(ca_t *ca, const uint8_t *req, size_t n, uint8_t **rsp, size_t *rn)
{
	const uint8_t *p = req;
	OCSP_REQUEST *rq = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *r = NULL;
	ASN1_TIME *now_t = NULL;
	uint8_t *tmp = NULL;
	int64_t now;
	int count, signer = -1, rc = CA_OK, len = 0, ok = 1;

	if (!ca || !rsp || !rn)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if ((rc = ca_local_only(ca, "ca_ocsp")) != CA_OK)
		return rc;
	if (!req || !n || n > 0x10000 || !(rq = d2i_OCSP_REQUEST(NULL, &p, (long)n)) ||
	    p != req + n || (count = OCSP_request_onereq_count(rq)) <= 0) {
		OCSP_REQUEST_free(rq);
		return ocsp_status_only(ca, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, rsp, rn);
	}
	now = ca_now(ca);
	if (!(bs = OCSP_BASICRESP_new()) || !(now_t = ASN1_TIME_set(NULL, (time_t)now))) {
		rc = ca_fail(ca, CA_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	/* The responder is the issuing CA: the first request entry naming
	 * one of ours picks it; entries for the other CA get unknown. */
	for (int i = 0; i < count; i++) {
		OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, i));
		int which = issuer_of(ca, id);
		if (which >= 0 && signer < 0)
			signer = which;
	}
	if (signer < 0) {
		OCSP_REQUEST_free(rq);
		OCSP_BASICRESP_free(bs);
		ASN1_TIME_free(now_t);
		return ocsp_status_only(ca, OCSP_RESPONSE_STATUS_UNAUTHORIZED, rsp, rn);
	}
	for (int i = 0; i < count && ok; i++) {
		OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, i));
		ASN1_INTEGER *sn = NULL;
		ASN1_TIME *rev = NULL;
		uint64_t serial;
		ca_info_t row;
		int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = OCSP_REVOKED_STATUS_NOSTATUS;

		OCSP_id_get0_info(NULL, NULL, NULL, &sn, id);
		if (issuer_of(ca, id) == signer && sn && ASN1_INTEGER_get_uint64(&serial, sn) == 1 &&
		    serial && serial <= INT64_MAX) {
			rc = ca_row(ca, serial, &row);
			if (rc == CA_OK && row.purpose == (enum ca_purpose)signer) {
				if (row.status == CA_HOLD) {
					status = V_OCSP_CERTSTATUS_REVOKED;
					reason = OCSP_REVOKED_STATUS_CERTIFICATEHOLD;
				} else if (row.status == CA_REVOKED) {
					status = V_OCSP_CERTSTATUS_REVOKED;
					reason = row.reason > 0 ? row.reason
								: OCSP_REVOKED_STATUS_NOSTATUS;
				} else
					status = V_OCSP_CERTSTATUS_GOOD; /* valid or expired */
			} else if (rc != CA_OK && rc != CA_ERR_NOTFOUND)
				goto out;
			rc = CA_OK;
		}
		if (mut_on(MUT_OCSP_GOOD))
			status = V_OCSP_CERTSTATUS_GOOD;
		if (status == V_OCSP_CERTSTATUS_REVOKED && !(rev = ASN1_TIME_set(NULL, (time_t)row.revoked_at)))
			ok = 0;
		else
			ok = OCSP_basic_add1_status(bs, id, status, reason, rev, now_t, NULL) != NULL;
		ASN1_TIME_free(rev);
	}
	/* producedAt is the virtual now: set here, and OCSP_NOTIME keeps
	 * OpenSSL from overwriting it with the host's clock. */
	ok = ok && OCSP_copy_nonce(bs, rq) > 0 &&
	     ASN1_GENERALIZEDTIME_set((ASN1_GENERALIZEDTIME *)OCSP_resp_get0_produced_at(bs),
				      (time_t)now) &&
	     OCSP_basic_sign(bs, ca->cert[signer], ca->key[signer], EVP_sha256(), NULL, OCSP_NOTIME) &&
	     (r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) != NULL &&
	     (len = i2d_OCSP_RESPONSE(r, &tmp)) > 0;
	if (!ok)
		rc = ca_fail(ca, CA_ERR_CRYPTO, NULL, "building the OCSP response failed");
	else
		rc = copy_out(ca, tmp, (size_t)len, rsp, rn);
out:
	OPENSSL_free(tmp);
	OCSP_RESPONSE_free(r);
	ASN1_TIME_free(now_t);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(rq);
	return rc;
}
