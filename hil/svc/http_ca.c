/* http_ca.c — `mynahil serve ca`: the CA simulator (sim/ca) behind
 * HTTP.  CRLs at /crl/{auth,sign}.crl, OCSP at /ocsp (POST, and GET
 * /ocsp/<base64>), a JSON API under /v1 (docs/ca.md).
 *
 * The harness side of the CA: it reads the CA keys and certificates from
 * the fixtures and hands them in, imports the fixtures' card
 * certificates, seeds the rng and owns the virtual clock.  The clock
 * starts at --time, else at the value saved in --db, else at
 * 2026-01-05T00:00:00Z (the fixtures' issue date); it moves only by
 * POST /v1/clock, and every move is saved in the database.  The CA is
 * not thread-safe: the server runs one handler at a time over a pool of
 * connection threads. */
#include "hil/svc/http_ca.h"
#include "hil/fixtures/pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hil/svc/http.h"
#include "hil/svc/http_cli.h"
#include "hil/fixtures/profile.h"
#include "hil/base/util.h"
#include "sim/ca/ca.h"

#define DEFAULT_TIME "20260105000000Z"

typedef struct http_ca_app app_t;

#define DEFAULT_PORT "8080"

static const char usage_ca[] =
	"usage: mynahil serve ca [--listen [HOST:]PORT] [--allow-remote] [--token TOKEN]\n"
	"                        [--db FILE] [--seed S] [--time T] [--fixtures DIR] [--base-url URL]\n"
	"\n"
	"The J-LIS CA simulator over HTTP: CRLs at /crl/auth.crl and /crl/sign.crl,\n"
	"OCSP at /ocsp, a JSON API under /v1 (docs/ca.md).\n"
	HTTP_CLI_TEST_ONLY
	"\n"
	HTTP_CLI_USAGE("ca", DEFAULT_PORT)
	"  --db FILE           SQLite records, kept across restarts (default: in memory)\n"
	"  --seed S            seed of serial numbers and names (0); an existing --db\n"
	"                      goes on with the stream it saved\n"
	"  --time T            virtual clock at start, YYYYMMDDhhmmssZ (default: the clock\n"
	"                      saved in --db, else " DEFAULT_TIME ")\n"
	"  --fixtures DIR      CA keys (keys/pool-01.pem, pool-02.pem) and certificates\n"
	"                      (pki/auth-ca.der, sign-ca.der); pki/*-auth.der and\n"
	"                      *-sign.der are imported as card certificates (default:\n"
	"                      $MYNAHIL_FIXTURES, else the source tree's fixtures/)\n"
	"  --base-url URL      CRL and OCSP location in issued certificates\n"
	"                      (default http://HOST:PORT)\n"
	"\n"
	"SIGTERM or SIGINT stops it cleanly (exit status 0).\n";

/* ------------------------------------------------------------ JSON of a certificate */

static json_t *time_json(int64_t t)
{
	char s[16];

	vclock_format(t, s);
	return json_string(s);
}

static json_t *serial_json(uint64_t s)
{
	char h[17];

	ca_serial_format(s, h);
	return json_string(h);
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char *s = http_b64_encode(p, n);
	json_t *j = s ? json_string(s) : NULL;

	free(s);
	return j;
}

static json_t *cert_json(app_t *a, uint64_t serial, int with_der)
{
	ca_info_t i;
	json_t *o;
	uint8_t *der;
	size_t n;

	if (ca_status(a->ca, serial, &i) != CA_OK)
		return NULL;
	o = json_object();
	json_object_set_new(o, "serial", serial_json(serial));
	json_object_set_new(o, "ca", json_string(i.purpose == CA_AUTH ? "auth" : "sign"));
	json_object_set_new(o, "purpose", json_string(i.purpose == CA_AUTH ? "auth" : "sign"));
	json_object_set_new(o, "kind", json_string(i.kind == CA_CARD ? "card" : "phone"));
	json_object_set_new(o, "holder", json_string(i.holder));
	json_object_set_new(o, "status", json_string(ca_status_name(i.status)));
	json_object_set_new(o, "reason",
			    i.reason >= 0 ? json_string(ca_reason_name(i.reason)) : json_null());
	json_object_set_new(o, "not_before", time_json(i.not_before));
	json_object_set_new(o, "not_after", time_json(i.not_after));
	json_object_set_new(o, "revoked_at", i.reason >= 0 ? time_json(i.revoked_at) : json_null());
	json_object_set_new(o, "card_serial", i.card_serial ? serial_json(i.card_serial) : json_null());
	if (with_der && ca_cert(a->ca, serial, &der, &n) == CA_OK) {
		json_object_set_new(o, "der", b64_json(der, n));
		free(der);
	}
	return o;
}

static void ca_error_rsp(app_t *a, int rc, http_rsp_t *rsp)
{
	int st = rc == CA_ERR_ARG			 ? 400
		 : rc == CA_ERR_SIGNATURE		 ? 403
		 : rc == CA_ERR_NOTFOUND		 ? 404
		 : rc == CA_ERR_STATE || rc == CA_ERR_EXISTS ? 409
		 : rc == CA_ERR_CHAIN || rc == CA_ERR_POLICY ? 422
							 : 500;

	http_set_error(rsp, st, ca_error_field(a->ca), "%s",
		       *ca_error(a->ca) ? ca_error(a->ca) : ca_strerror(rc));
}

static void cert_rsp(app_t *a, int status, uint64_t serial, int with_der, http_rsp_t *rsp)
{
	json_t *o = cert_json(a, serial, with_der);

	if (!o)
		http_set_error(rsp, 500, NULL, "certificate %016llX vanished", (unsigned long long)serial);
	else
		http_set_json(rsp, status, o);
}

static int path_serial(const http_req_t *req, int i, uint64_t *s, http_rsp_t *rsp)
{
	if (ca_serial_parse(req->params[i], s) < 0) {
		http_set_error(rsp, 400, "serial", "serial: not a hex serial number: %s", req->params[i]);
		return -1;
	}
	return 0;
}

static int body_serial(json_t *o, const char *name, int required, uint64_t *s, http_rsp_t *rsp)
{
	const char *v = NULL;

	if (http_field_str(o, name, required, &v, rsp) < 0)
		return -1;
	if (v && ca_serial_parse(v, s) < 0) {
		http_set_error(rsp, 400, name, "%s: not a hex serial number", name);
		return -1;
	}
	return 0;
}

static int body_purpose(json_t *o, enum ca_purpose *p, http_rsp_t *rsp)
{
	const char *v = NULL;

	if (http_field_str(o, "purpose", 1, &v, rsp) < 0)
		return -1;
	if (!strcmp(v, "auth"))
		*p = CA_AUTH;
	else if (!strcmp(v, "sign"))
		*p = CA_SIGN;
	else {
		http_set_error(rsp, 400, "purpose", "purpose: \"auth\" or \"sign\"");
		return -1;
	}
	return 0;
}

/* An optional body that must be an empty object if present. */
static int empty_body(const http_req_t *req, http_rsp_t *rsp)
{
	static const char *const none[] = { NULL };
	json_t *o;
	int rc;

	if (!req->body_len)
		return 0;
	if (!(o = http_json_body(req, rsp)))
		return -1;
	rc = http_fields_only(o, none, rsp);
	json_decref(o);
	return rc;
}

/* ------------------------------------------------------------ CRL and OCSP */

static void h_crl(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	app_t *a = app;
	enum ca_purpose which;
	uint8_t *der;
	size_t n;
	int rc;

	if (!strcmp(req->params[0], "auth.crl"))
		which = CA_AUTH;
	else if (!strcmp(req->params[0], "sign.crl"))
		which = CA_SIGN;
	else {
		http_set_error(rsp, 404, "path", "path: the CRLs are auth.crl and sign.crl");
		return;
	}
	if ((rc = ca_crl(a->ca, which, &der, &n)) != CA_OK) {
		ca_error_rsp(a, rc, rsp);
		return;
	}
	http_set_bytes(rsp, 200, "application/pkix-crl", der, n);
	free(der);
}

static void ocsp(app_t *a, const uint8_t *req, size_t n, http_rsp_t *rsp)
{
	uint8_t *out;
	size_t on;
	int rc;

	if ((rc = ca_ocsp(a->ca, req, n, &out, &on)) != CA_OK) {
		ca_error_rsp(a, rc, rsp);
		return;
	}
	http_set_bytes(rsp, 200, "application/ocsp-response", out, on);
	free(out);
}

/* Its route asks for application/ocsp-request. */
static void h_ocsp_post(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	ocsp(app, req->body, req->body_len, rsp);
}

/* RFC 6960 appendix A.1: GET {url}/{url-encoding of base-64 encoding of
 * the DER encoding of the OCSPRequest} (the server has URL-decoded it). */
static void h_ocsp_get(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	uint8_t *der;
	size_t n;

	if (http_b64_decode(req->params[0], strlen(req->params[0]), &der, &n) < 0) {
		http_set_error(rsp, 400, "path", "path: the request is not base64");
		return;
	}
	ocsp(app, der, n, rsp);
	free(der);
}

/* ------------------------------------------------------------ issuance */

static void h_card_certs(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	static const char *const allowed[] = { "holder", "purpose", "spki", "birth", "name",
					       "name_alt", "sex", "address", "address_alt", "pref",
					       "city", "not_after", "renews", NULL };
	app_t *a = app;
	ca_card_req_t r = { 0 };
	const char *na = NULL;
	uint8_t *spki = NULL, *der = NULL;
	size_t sn = 0, dn;
	uint64_t serial;
	json_t *o = http_json_body(req, rsp);
	int rc;

	if (!o)
		return;
	if (http_fields_only(o, allowed, rsp) < 0 ||
	    http_field_str(o, "holder", 1, &r.holder.id, rsp) < 0 || body_purpose(o, &r.purpose, rsp) < 0 ||
	    http_field_b64(o, "spki", 1, &spki, &sn, rsp) < 0 ||
	    http_field_str(o, "birth", 1, &r.holder.birth, rsp) < 0 ||
	    http_field_str(o, "name", 0, &r.holder.name, rsp) < 0 ||
	    http_field_str(o, "name_alt", 0, &r.holder.name_alt, rsp) < 0 ||
	    http_field_str(o, "sex", 0, &r.holder.sex, rsp) < 0 ||
	    http_field_str(o, "address", 0, &r.holder.address, rsp) < 0 ||
	    http_field_str(o, "address_alt", 0, &r.holder.address_alt, rsp) < 0 ||
	    http_field_str(o, "pref", 0, &r.holder.pref, rsp) < 0 ||
	    http_field_str(o, "city", 0, &r.holder.city, rsp) < 0 ||
	    http_field_str(o, "not_after", 0, &na, rsp) < 0 || body_serial(o, "renews", 0, &r.renews, rsp) < 0)
		goto out;
	if (na && vclock_parse(na, &r.not_after) < 0) {
		http_set_error(rsp, 400, "not_after", "not_after: YYYYMMDDhhmmssZ");
		goto out;
	}
	r.spki.p = spki;
	r.spki.n = sn;
	if ((rc = ca_issue_card(a->ca, &r, &serial, &der, &dn)) != CA_OK)
		ca_error_rsp(a, rc, rsp);
	else
		cert_rsp(a, 201, serial, 1, rsp);
out:
	free(der);
	free(spki);
	json_decref(o);
}

static void h_import(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	static const char *const allowed[] = { "holder", "der", NULL };
	app_t *a = app;
	const char *holder = NULL;
	uint8_t *der = NULL;
	size_t n = 0;
	uint64_t serial;
	json_t *o = http_json_body(req, rsp);
	int rc;

	if (!o)
		return;
	if (http_fields_only(o, allowed, rsp) == 0 && http_field_str(o, "holder", 1, &holder, rsp) == 0 &&
	    http_field_b64(o, "der", 1, &der, &n, rsp) == 0) {
		if ((rc = ca_import_card(a->ca, holder, der, n, &serial)) != CA_OK)
			ca_error_rsp(a, rc, rsp);
		else
			cert_rsp(a, 200, serial, 0, rsp);
	}
	free(der);
	json_decref(o);
}

/* The fields of a phone request; *_p malloc'd. */
static int phone_req(json_t *o, int with_sig, ca_phone_req_t *r, uint8_t **spki, uint8_t **nonce,
		     uint8_t **sig, http_rsp_t *rsp)
{
	static const char *const allowed[] = { "card_serial", "purpose", "spki", "nonce", "signature",
					       NULL };
	static const char *const allowed_tbs[] = { "card_serial", "purpose", "spki", "nonce", NULL };

	if (http_fields_only(o, with_sig ? allowed : allowed_tbs, rsp) < 0 ||
	    body_serial(o, "card_serial", 1, &r->card_serial, rsp) < 0 ||
	    body_purpose(o, &r->purpose, rsp) < 0 ||
	    http_field_b64(o, "spki", 1, spki, &r->spki.n, rsp) < 0 ||
	    http_field_b64(o, "nonce", 1, nonce, &r->nonce.n, rsp) < 0 ||
	    (with_sig && http_field_b64(o, "signature", 1, sig, &r->signature.n, rsp) < 0))
		return -1;
	r->spki.p = *spki;
	r->nonce.p = *nonce;
	r->signature.p = *sig;
	return 0;
}

static void h_phone_certs(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	app_t *a = app;
	ca_phone_req_t r = { 0 };
	uint8_t *spki = NULL, *nonce = NULL, *sig = NULL, *der = NULL;
	size_t dn;
	uint64_t serial;
	json_t *o = http_json_body(req, rsp);
	int rc;

	if (!o)
		return;
	if (phone_req(o, 1, &r, &spki, &nonce, &sig, rsp) == 0) {
		rc = ca_issue_phone(a->ca, &r, &serial, &der, &dn);
		if (rc == CA_OK || rc == CA_REPLAYED)
			cert_rsp(a, rc == CA_OK ? 201 : 200, serial, 1, rsp);
		else
			ca_error_rsp(a, rc, rsp);
	}
	free(der);
	free(spki);
	free(nonce);
	free(sig);
	json_decref(o);
}

/* What the card signs, for clients that do not build the DER. */
static void h_phone_tbs(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	ca_phone_req_t r = { 0 };
	uint8_t *spki = NULL, *nonce = NULL, *sig = NULL, *tbs = NULL, di[51];
	size_t tn;
	json_t *o = http_json_body(req, rsp);
	(void)app;

	if (!o)
		return;
	if (phone_req(o, 0, &r, &spki, &nonce, &sig, rsp) == 0) {
		if (r.nonce.n < 8 || r.nonce.n > 64)
			http_set_error(rsp, 400, "nonce", "nonce: 8 to 64 bytes");
		else if (ca_phone_tbs(&r, &tbs, &tn) != CA_OK || ca_phone_digestinfo(&r, di) != CA_OK)
			http_set_error(rsp, 400, "spki", "spki: the request cannot be encoded");
		else
			http_set_json(rsp, 200,
				      json_pack("{s:o, s:o}", "tbs", b64_json(tbs, tn), "digest_info",
						b64_json(di, sizeof di)));
	}
	free(tbs);
	free(spki);
	free(nonce);
	json_decref(o);
}

/* A card's signature over a message of the caller's (a TSM's revocation
 * or PIN reset request): {"message": b64, "signature": b64} -> the card
 * certificate's record, or why not (ca_verify_card). */
static void h_card_verify(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	static const char *const allowed[] = { "message", "signature", NULL };
	app_t *a = app;
	uint8_t *msg = NULL, *sig = NULL;
	size_t mn = 0, sn = 0;
	uint64_t s;
	json_t *o;
	int rc;

	if (path_serial(req, 0, &s, rsp) < 0 || !(o = http_json_body(req, rsp)))
		return;
	if (http_fields_only(o, allowed, rsp) == 0 && http_field_b64(o, "message", 1, &msg, &mn, rsp) == 0 &&
	    http_field_b64(o, "signature", 1, &sig, &sn, rsp) == 0) {
		if ((rc = ca_verify_card(a->ca, s, msg, mn, sig, sn, NULL)) != CA_OK)
			ca_error_rsp(a, rc, rsp);
		else
			cert_rsp(a, 200, s, 0, rsp);
	}
	free(msg);
	free(sig);
	json_decref(o);
}

/* ------------------------------------------------------------ status */

static void h_cert(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	app_t *a = app;
	uint64_t s;
	ca_info_t i;
	int rc;

	if (path_serial(req, 0, &s, rsp) < 0)
		return;
	if ((rc = ca_status(a->ca, s, &i)) != CA_OK)
		ca_error_rsp(a, rc, rsp);
	else
		cert_rsp(a, 200, s, 1, rsp);
}

static void h_cert_der(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	app_t *a = app;
	uint8_t *der;
	size_t n;
	uint64_t s;
	int rc;

	if (path_serial(req, 0, &s, rsp) < 0)
		return;
	if ((rc = ca_cert(a->ca, s, &der, &n)) != CA_OK) {
		if (rc == CA_ERR_NOTFOUND)
			http_set_error(rsp, 404, "serial", "serial: no certificate %s", req->params[0]);
		else
			ca_error_rsp(a, rc, rsp);
		return;
	}
	http_set_bytes(rsp, 200, "application/pkix-cert", der, n);
	free(der);
}

static void h_revoke(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	static const char *const allowed[] = { "reason", NULL };
	app_t *a = app;
	json_t *o = NULL, *v;
	uint64_t s;
	int reason = CA_REASON_UNSPECIFIED, rc;

	if (path_serial(req, 0, &s, rsp) < 0)
		return;
	if (req->body_len) {
		if (!(o = http_json_body(req, rsp)) || http_fields_only(o, allowed, rsp) < 0)
			goto out;
		if ((v = json_object_get(o, "reason")) != NULL) {
			reason = json_is_string(v)    ? ca_reason_parse(json_string_value(v))
				 : json_is_integer(v) ? (int)json_integer_value(v)
						      : -1;
			if (reason < 0 || !ca_reason_name(reason)) {
				http_set_error(rsp, 400, "reason", "reason: an RFC 5280 CRLReason");
				goto out;
			}
		}
	}
	if ((rc = ca_revoke(a->ca, s, reason)) != CA_OK) {
		ca_error_rsp(a, rc, rsp);
		goto out;
	}
	{
		/* A card certificate: with the linked phone certificates. */
		json_t *c = cert_json(a, s, 0), *list = json_array();
		uint64_t linked[64];
		size_t n = 0;
		if (c && ca_linked(a->ca, s, linked, 64, &n) == CA_OK && n) {
			for (size_t i = 0; i < n && i < 64; i++)
				json_array_append_new(list, cert_json(a, linked[i], 0));
			json_object_set_new(c, "linked", list);
		} else
			json_decref(list);
		if (c)
			http_set_json(rsp, 200, c);
		else
			http_set_error(rsp, 500, NULL, "certificate vanished");
	}
out:
	json_decref(o);
}

static void h_hold(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	app_t *a = app;
	uint64_t s;
	int rc;

	if (path_serial(req, 0, &s, rsp) < 0 || empty_body(req, rsp) < 0)
		return;
	if ((rc = ca_hold(a->ca, s)) != CA_OK)
		ca_error_rsp(a, rc, rsp);
	else
		cert_rsp(a, 200, s, 0, rsp);
}

static void h_lift(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	app_t *a = app;
	uint64_t s;
	int rc;

	if (path_serial(req, 0, &s, rsp) < 0 || empty_body(req, rsp) < 0)
		return;
	if ((rc = ca_lift(a->ca, s)) != CA_OK)
		ca_error_rsp(a, rc, rsp);
	else
		cert_rsp(a, 200, s, 0, rsp);
}

/* A list of serials as certificate objects. */
static void list_rsp(app_t *a, const char *key, const char *value, uint64_t *v, size_t n,
		     http_rsp_t *rsp)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, cert_json(a, v[i], 0));
	http_set_json(rsp, 200, json_pack("{s:s, s:o}", key, value, "certs", arr));
}

static void h_linkage(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	app_t *a = app;
	uint64_t s, *v = NULL;
	size_t n = 0;
	ca_info_t i;
	int rc;

	if (path_serial(req, 0, &s, rsp) < 0)
		return;
	if ((rc = ca_status(a->ca, s, &i)) != CA_OK || (rc = ca_linked(a->ca, s, NULL, 0, &n)) != CA_OK) {
		ca_error_rsp(a, rc, rsp);
		return;
	}
	if (n && (!(v = calloc(n, sizeof *v)) || ca_linked(a->ca, s, v, n, &n) != CA_OK)) {
		free(v);
		http_set_error(rsp, 500, NULL, "linkage");
		return;
	}
	{
		char h[17];
		ca_serial_format(s, h);
		list_rsp(a, "card_serial", h, v, n, rsp);
	}
	free(v);
}

static void h_holder(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	app_t *a = app;
	uint64_t *v = NULL;
	size_t n = 0;
	int rc;

	if ((rc = ca_list_holder(a->ca, req->params[0], NULL, 0, &n)) != CA_OK) {
		ca_error_rsp(a, rc, rsp);
		return;
	}
	if (n && (!(v = calloc(n, sizeof *v)) ||
		  ca_list_holder(a->ca, req->params[0], v, n, &n) != CA_OK)) {
		free(v);
		http_set_error(rsp, 500, NULL, "holder");
		return;
	}
	list_rsp(a, "holder", req->params[0], v, n, rsp);
	free(v);
}

/* ------------------------------------------------------------ the clock */

static void clock_rsp(app_t *a, http_rsp_t *rsp)
{
	http_set_json(rsp, 200, json_pack("{s:o, s:I}", "now", time_json(vclock_now(a->clk)), "epoch",
					  (json_int_t)vclock_now(a->clk)));
}

static void h_clock_get(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	(void)req;
	clock_rsp(app, rsp);
}

/* {"now": "YYYYMMDDhhmmssZ"} or {"advance": seconds}: for tests. */
static void h_clock_post(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	static const char *const allowed[] = { "now", "advance", NULL };
	app_t *a = app;
	const char *now = NULL;
	int64_t adv = 0, t;
	json_t *o = http_json_body(req, rsp);
	int rc;

	if (!o)
		return;
	if (http_fields_only(o, allowed, rsp) < 0 || http_field_str(o, "now", 0, &now, rsp) < 0 ||
	    http_field_int(o, "advance", 0, &adv, rsp) < 0)
		goto out;
	if (!now == !json_object_get(o, "advance")) {
		http_set_error(rsp, 400, "now", "now: give either now or advance");
		goto out;
	}
	if (now && vclock_parse(now, &t) < 0) {
		http_set_error(rsp, 400, "now", "now: YYYYMMDDhhmmssZ");
		goto out;
	}
	if (now)
		vclock_set(a->clk, t);
	else
		vclock_advance(a->clk, adv);
	if ((rc = ca_clock_save(a->ca)) != CA_OK)
		ca_error_rsp(a, rc, rsp);
	else
		clock_rsp(a, rsp);
out:
	json_decref(o);
}

#define OCSP_REQ "application/ocsp-request"

/* Every POST but OCSP's changes state or is part of a change (tbs), and
 * takes JSON (http.h). */
static const http_route_t routes[] = {
	HTTP_GET("/crl/*", h_crl),
	{ "POST", "/ocsp", h_ocsp_post, OCSP_REQ, 1 },
	{ "POST", "/", h_ocsp_post, OCSP_REQ, 1 },
	HTTP_GET("/ocsp/**", h_ocsp_get),
	HTTP_POST("/v1/card-certs", h_card_certs),
	HTTP_POST("/v1/card-certs/import", h_import),
	HTTP_POST("/v1/card-certs/*/verify", h_card_verify),
	HTTP_POST("/v1/phone-certs", h_phone_certs),
	HTTP_POST("/v1/phone-certs/tbs", h_phone_tbs),
	HTTP_GET("/v1/certs/*", h_cert),
	HTTP_GET("/v1/certs/*/der", h_cert_der),
	HTTP_POST("/v1/certs/*/revoke", h_revoke),
	HTTP_POST("/v1/certs/*/hold", h_hold),
	HTTP_POST("/v1/certs/*/lift", h_lift),
	HTTP_GET("/v1/linkage/*", h_linkage),
	HTTP_GET("/v1/holders/*/certs", h_holder),
	HTTP_GET("/v1/clock", h_clock_get),
	HTTP_POST("/v1/clock", h_clock_post),
};

const http_route_t *http_ca_routes(size_t *n)
{
	*n = sizeof routes / sizeof *routes;
	return routes;
}

/* ------------------------------------------------------------ the CA as a client reaches it */

/* `serve tsm --ca URL`: the TSM's CA calls (ca_remote_ops_t) as requests
 * to a `serve ca`, the same JSON API as above read back into the CA's
 * types.  One request at a time (a ca_t is not thread-safe: its callers
 * serialise), each with a deadline: REMOTE_CONNECT_MS to connect,
 * REMOTE_TOTAL_MS in all.  A CA that does not answer is CA_ERR_DB, "cannot
 * reach the CA at URL: why", which the TSM answers 502 like any failure of
 * its CA's. */
#define REMOTE_CONNECT_MS 2000L
#define REMOTE_TOTAL_MS 10000L

typedef struct remote {
	CURL *curl;
	char base[256]; /* http://HOST:PORT[/PATH], no trailing / */
	char auth[200]; /* "Authorization: Bearer ..." or "" */
	/* The last request did not reach the CA: the others fail at once
	 * until the clock is read again (the first call of each TSM request,
	 * tsm_world.c), so that a CA that hangs costs one deadline a request,
	 * not one per call of its reconciliation. */
	int down;
	char why[160];
} remote_t;

/* The HTTP status of an answer the CA gave, as the CA's return code
 * (ca_error_rsp's mapping backwards; 422 is a chain or a policy refusal,
 * told apart by the message only: CA_ERR_POLICY). */
static int remote_rc(long st)
{
	return st == 400 ? CA_ERR_ARG
	       : st == 403 ? CA_ERR_SIGNATURE
	       : st == 404 ? CA_ERR_NOTFOUND
	       : st == 409 ? CA_ERR_STATE
	       : st == 422 ? CA_ERR_POLICY
			   : CA_ERR_DB;
}

/* One request; body (JSON, borrowed) for a POST.  Returns the HTTP status
 * (*out the answer's JSON, NULL if none), or 0 when the CA was not
 * reached (recorded).  raw (may be NULL) gets the answer's bytes. */
static long remote_call(ca_t *ca, remote_t *r, const char *method, const char *path, json_t *body,
			json_t **out, http_buf_t *raw)
{
	char url[512], *text = NULL;
	struct curl_slist *h = NULL, *h2;
	http_buf_t b = { 0 };
	long status = 0;
	CURLcode rc = CURLE_OUT_OF_MEMORY;

	*out = NULL;
	if (r->down && strcmp(path, "/v1/clock")) {
		char msg[512];
		snprintf(msg, sizeof msg, "cannot reach the CA at %s: %s", r->base, r->why);
		ca_set_error(ca, CA_ERR_DB, NULL, msg);
		return 0;
	}
	snprintf(url, sizeof url, "%s%s", r->base, path);
	if (body && !(text = json_dumps(body, JSON_COMPACT)))
		return ca_set_error(ca, CA_ERR_NOMEM, NULL, "out of memory"), 0;
	if ((h2 = curl_slist_append(h, "Content-Type: application/json")))
		h = h2;
	if (*r->auth && (h2 = curl_slist_append(h, r->auth)))
		h = h2;
	curl_easy_reset(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_URL, url);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, http_buf_write);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, REMOTE_CONNECT_MS);
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, REMOTE_TOTAL_MS);
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(r->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, text ? text : "");
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(text ? strlen(text) : 0));
	}
	if (h)
		rc = curl_easy_perform(r->curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	free(text);
	r->down = rc != CURLE_OK;
	if (rc != CURLE_OK) {
		char msg[512];
		snprintf(r->why, sizeof r->why, "%s", curl_easy_strerror(rc));
		snprintf(msg, sizeof msg, "cannot reach the CA at %s: %s", r->base, r->why);
		ca_set_error(ca, CA_ERR_DB, NULL, msg);
		free(b.p);
		return 0;
	}
	if (raw) {
		*raw = b;
		return status;
	}
	*out = b.p ? json_loadb(b.p, b.n, 0, NULL) : NULL;
	free(b.p);
	return status;
}

/* An answer that is not the one wanted: the CA's own words and field. */
static int remote_fail(ca_t *ca, remote_t *r, long st, json_t *o)
{
	json_t *e = json_object_get(o, "error"), *f = json_object_get(o, "field");
	char msg[400];
	int rc;

	if (json_is_string(e))
		snprintf(msg, sizeof msg, "%s", json_string_value(e));
	else
		snprintf(msg, sizeof msg, "the CA at %s answered HTTP %ld", r->base, st);
	rc = ca_set_error(ca, remote_rc(st), json_is_string(f) ? json_string_value(f) : NULL, msg);
	json_decref(o);
	return rc;
}

static int remote_serial(json_t *o, const char *key, uint64_t *s)
{
	json_t *v = json_object_get(o, key);

	*s = 0;
	return json_is_null(v) || !v ? 0 : json_is_string(v) ? ca_serial_parse(json_string_value(v), s) : -1;
}

static int remote_time(json_t *o, const char *key, int64_t *t)
{
	json_t *v = json_object_get(o, key);

	*t = 0;
	return json_is_null(v) || !v ? 0 : json_is_string(v) ? vclock_parse(json_string_value(v), t) : -1;
}

/* cert_json() read back. */
static int remote_info(ca_t *ca, json_t *o, ca_info_t *i)
{
	const char *p = json_string_value(json_object_get(o, "purpose"));
	const char *k = json_string_value(json_object_get(o, "kind"));
	const char *st = json_string_value(json_object_get(o, "status"));
	const char *h = json_string_value(json_object_get(o, "holder"));
	json_t *reason = json_object_get(o, "reason");
	int ok = p && k && st && h;

	memset(i, 0, sizeof *i);
	i->status = (enum ca_status)-1;
	for (int s = CA_VALID; ok && s <= CA_EXPIRED; s++)
		if (!strcmp(st, ca_status_name((enum ca_status)s)))
			i->status = (enum ca_status)s;
	i->reason = json_is_string(reason) ? ca_reason_parse(json_string_value(reason)) : -1;
	if (!ok || (int)i->status < 0 || remote_serial(o, "serial", &i->serial) < 0 ||
	    remote_serial(o, "card_serial", &i->card_serial) < 0 || remote_time(o, "not_before", &i->not_before) < 0 ||
	    remote_time(o, "not_after", &i->not_after) < 0 || remote_time(o, "revoked_at", &i->revoked_at) < 0 ||
	    (json_is_string(reason) && i->reason < 0))
		return ca_set_error(ca, CA_ERR_DB, NULL, "the CA's answer is not a certificate record");
	i->purpose = strcmp(p, "sign") ? CA_AUTH : CA_SIGN;
	i->kind = strcmp(k, "phone") ? CA_CARD : CA_PHONE;
	snprintf(i->holder, sizeof i->holder, "%s", h);
	return CA_OK;
}

/* A request whose answer is a certificate record (want: its status). */
static int remote_record(ca_t *ca, remote_t *r, const char *method, const char *path, json_t *body, long want,
			 ca_info_t *out)
{
	json_t *o;
	ca_info_t i;
	long st = remote_call(ca, r, method, path, body, &o, NULL);
	int rc;

	if (!st)
		return CA_ERR_DB;
	if (st != want)
		return remote_fail(ca, r, st, o);
	rc = remote_info(ca, o, &i);
	json_decref(o);
	if (rc == CA_OK && out)
		*out = i;
	return rc;
}

static int r_status(ca_t *ca, void *impl, uint64_t serial, ca_info_t *out)
{
	char path[64], h[17];

	ca_serial_format(serial, h);
	snprintf(path, sizeof path, "/v1/certs/%s", h);
	return remote_record(ca, impl, "GET", path, NULL, 200, out);
}

static int r_cert(ca_t *ca, void *impl, uint64_t serial, uint8_t **der, size_t *n)
{
	char path[64], h[17];
	http_buf_t b = { 0 };
	json_t *o = NULL;
	long st;

	ca_serial_format(serial, h);
	snprintf(path, sizeof path, "/v1/certs/%s/der", h);
	if (!(st = remote_call(ca, impl, "GET", path, NULL, &o, &b)))
		return CA_ERR_DB;
	if (st != 200) {
		o = b.p ? json_loadb(b.p, b.n, 0, NULL) : NULL;
		free(b.p);
		return remote_fail(ca, impl, st, o);
	}
	*der = (uint8_t *)b.p;
	*n = b.n;
	if (!b.p)
		return ca_set_error(ca, CA_ERR_DB, NULL, "the CA sent an empty certificate");
	return CA_OK;
}

static int r_list_holder(ca_t *ca, void *impl, const char *holder, uint64_t *serials, size_t cap, size_t *n)
{
	char path[160];
	json_t *o, *c, *v;
	size_t i;
	long st;

	snprintf(path, sizeof path, "/v1/holders/%s/certs", holder);
	if (strlen(holder) > 63 || strspn(holder, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
					   strlen(holder))
		return ca_set_error(ca, CA_ERR_ARG, "holder", "holder: 1-63 of A-Z a-z 0-9 . _ -");
	if (!(st = remote_call(ca, impl, "GET", path, NULL, &o, NULL)))
		return CA_ERR_DB;
	if (st != 200 || !json_is_array(c = json_object_get(o, "certs")))
		return remote_fail(ca, impl, st, o);
	*n = 0;
	json_array_foreach(c, i, v) {
		uint64_t s;
		if (remote_serial(v, "serial", &s) < 0 || !s) {
			json_decref(o);
			return ca_set_error(ca, CA_ERR_DB, NULL, "the CA's holder list holds no serial");
		}
		if (*n < cap)
			serials[*n] = s;
		(*n)++;
	}
	json_decref(o);
	return CA_OK;
}

static json_t *b64_or_null(const uint8_t *p, size_t n)
{
	return p ? b64_json(p, n) : json_null();
}

static int r_issue_phone(ca_t *ca, void *impl, const ca_phone_req_t *req, uint64_t *serial, uint8_t **der, size_t *n)
{
	json_t *b = json_object(), *o;
	char h[17];
	uint64_t s = 0;
	long st;
	int rc = CA_OK;

	ca_serial_format(req->card_serial, h);
	json_object_set_new(b, "card_serial", json_string(h));
	json_object_set_new(b, "purpose", json_string(req->purpose == CA_SIGN ? "sign" : "auth"));
	json_object_set_new(b, "spki", b64_or_null(req->spki.p, req->spki.n));
	json_object_set_new(b, "nonce", b64_or_null(req->nonce.p, req->nonce.n));
	json_object_set_new(b, "signature", b64_or_null(req->signature.p, req->signature.n));
	st = remote_call(ca, impl, "POST", "/v1/phone-certs", b, &o, NULL);
	json_decref(b);
	if (!st)
		return CA_ERR_DB;
	if (st != 200 && st != 201)
		return remote_fail(ca, impl, st, o);
	if (remote_serial(o, "serial", &s) < 0 || !s)
		rc = ca_set_error(ca, CA_ERR_DB, NULL, "the CA's answer holds no serial");
	if (rc == CA_OK && der) {
		const char *d = json_string_value(json_object_get(o, "der"));
		if (!d || http_b64_decode(d, strlen(d), der, n) < 0)
			rc = ca_set_error(ca, CA_ERR_DB, NULL, "the CA's answer holds no certificate");
	}
	json_decref(o);
	if (rc == CA_OK && serial)
		*serial = s;
	return rc != CA_OK ? rc : st == 200 ? CA_REPLAYED : CA_OK;
}

static int r_verify_card(ca_t *ca, void *impl, uint64_t card_serial, const uint8_t *msg, size_t n,
			 const uint8_t *sig, size_t sn, ca_info_t *card)
{
	char path[64], h[17];
	json_t *b;
	int rc;

	if (!msg || !sig || !sn)
		return ca_set_error(ca, CA_ERR_ARG, msg ? "signature" : "message", msg ? "signature: missing" : "message: missing");
	ca_serial_format(card_serial, h);
	snprintf(path, sizeof path, "/v1/card-certs/%s/verify", h);
	b = json_pack("{s:o, s:o}", "message", b64_json(msg, n), "signature", b64_json(sig, sn));
	rc = remote_record(ca, impl, "POST", path, b, 200, card);
	json_decref(b);
	return rc;
}

/* POST /v1/certs/SERIAL/OP */
static int remote_change(ca_t *ca, void *impl, uint64_t serial, const char *op, json_t *body)
{
	char path[80], h[17];
	int rc;

	ca_serial_format(serial, h);
	snprintf(path, sizeof path, "/v1/certs/%s/%s", h, op);
	rc = remote_record(ca, impl, "POST", path, body, 200, NULL);
	json_decref(body);
	return rc;
}

static int r_revoke(ca_t *ca, void *impl, uint64_t serial, int reason)
{
	if (!ca_reason_name(reason))
		return ca_set_error(ca, CA_ERR_ARG, "reason", "reason: not a revocation reason");
	return remote_change(ca, impl, serial, "revoke", json_pack("{s:i}", "reason", reason));
}

static int r_hold(ca_t *ca, void *impl, uint64_t serial)
{
	return remote_change(ca, impl, serial, "hold", NULL);
}

static int r_lift(ca_t *ca, void *impl, uint64_t serial)
{
	return remote_change(ca, impl, serial, "lift", NULL);
}

static int r_clock(ca_t *ca, void *impl, int64_t *now)
{
	json_t *o, *e;
	long st = remote_call(ca, impl, "GET", "/v1/clock", NULL, &o, NULL);

	if (!st)
		return CA_ERR_DB;
	if (st != 200 || !json_is_integer(e = json_object_get(o, "epoch")))
		return remote_fail(ca, impl, st == 200 ? 502 : st, o);
	*now = (int64_t)json_integer_value(e);
	json_decref(o);
	return CA_OK;
}

static void r_close(void *impl)
{
	remote_t *r = impl;

	curl_easy_cleanup(r->curl);
	free(r);
}

static const ca_remote_ops_t remote_ops = {
	.status = r_status, .cert = r_cert, .list_holder = r_list_holder, .issue_phone = r_issue_phone,
	.verify_card = r_verify_card, .revoke = r_revoke, .hold = r_hold, .lift = r_lift,
	.clock = r_clock, .close = r_close,
};

int http_ca_url_ok(const char *url, char *err, size_t errlen)
{
	const char *host = url + 7;
	size_t hl = strcspn(host, "/");

	if (strncmp(url, "http://", 7))
		snprintf(err, errlen, "--ca %s: an http://HOST:PORT URL (serve ca's)", url);
	else if (strlen(url) >= sizeof ((remote_t *)0)->base)
		snprintf(err, errlen, "--ca: a URL of at most %zu characters", sizeof ((remote_t *)0)->base - 1);
	else if (!hl || url[strcspn(url, "?#@ \t\r\n")])
		snprintf(err, errlen, "--ca %s: http://HOST:PORT[/PATH], without a query, fragment, user or space", url);
	else
		return 0;
	return -1;
}

int http_ca_remote(ca_t **out, const char *url, const char *token, char *err, size_t errlen)
{
	remote_t *r;
	int64_t now;
	size_t n;

	*out = NULL;
	if (http_ca_url_ok(url, err, errlen) < 0)
		return 2;
	if (!(r = calloc(1, sizeof *r))) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	snprintf(r->base, sizeof r->base, "%s", url);
	for (n = strlen(r->base); n > 7 && r->base[n - 1] == '/'; n--)
		r->base[n - 1] = 0;
	if (token && *token)
		snprintf(r->auth, sizeof r->auth, "Authorization: Bearer %.160s", token);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!(r->curl = curl_easy_init()) || ca_open_remote(out, &remote_ops, r) != CA_OK) {
		if (r->curl)
			curl_easy_cleanup(r->curl);
		free(r);
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	/* Reached now, not at the first request: a wrong URL stops the start. */
	if (ca_clock_load(*out, &now) != CA_OK) {
		snprintf(err, errlen, "%s", ca_error(*out));
		ca_close(*out);
		*out = NULL;
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ start-up */

int serve_ca_main(int argc, char **argv)
{
	http_cli_t cli = { .fd = -1 };
	int64_t start = 0;
	char err[512];
	ca_config_t pki = { 0 };
	rng_t rng;
	vclock_t clk;
	sim_ctx_t ctx = { .rng = &rng, .clock = &clk };
	app_t app = { .clk = &clk };
	const char *fixtures;
	int rc, n;

	if ((rc = http_cli_parse(&cli, argc, argv, "ca", usage_ca)) >= 0)
		return rc;
	rc = 1;
	if (cli.time)
		vclock_parse(cli.time, &start);
	fixtures = cli.fixtures ? cli.fixtures : profile_fixtures_dir();
	if (pki_load_ca(fixtures, &pki, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: serve ca: %s\n", err);
		goto out;
	}
	if ((rc = http_cli_listen(&cli, DEFAULT_PORT, "ca", err, sizeof err)) != 0) {
		fprintf(stderr, "mynahil: serve ca: %s\n", err);
		goto out;
	}
	rc = 1;

	rng_seed(&rng, cli.seed);
	vclock_set(&clk, start);
	{
		ca_config_t cfg = pki;
		cfg.db = cli.db;
		cfg.base_url = cli.base_url ? cli.base_url : cli.url;
		if (ca_open(&app.ca, &ctx, &cfg, err, sizeof err) != CA_OK) {
			fprintf(stderr, "mynahil: serve ca: %s\n", err);
			goto out;
		}
	}
	/* The virtual clock: --time, else the saved one, else the default. */
	if (!cli.time && ca_clock_load(app.ca, &start) != CA_OK)
		vclock_parse(DEFAULT_TIME, &start);
	vclock_set(&clk, start);
	if (ca_clock_save(app.ca) != CA_OK) {
		fprintf(stderr, "mynahil: serve ca: %s\n", ca_error(app.ca));
		goto out;
	}
	if ((n = pki_import_cards(app.ca, fixtures, err, sizeof err)) < 0) {
		fprintf(stderr, "mynahil: serve ca: %s\n", err);
		goto out;
	}

	{
		http_opts_t ho = { .routes = routes, .nroutes = sizeof routes / sizeof *routes, .app = &app,
				   .serialize = 1 };
		char now[16], details[512], banner[1024];
		http_cli_apply(&cli, &ho);
		vclock_format(vclock_now(&clk), now);
		snprintf(details, sizeof details, "clock %s, %d card certificates imported, db %s", now, n,
			 cli.db ? cli.db : ":memory:");
		http_cli_banner(&cli, "ca", details, banner, sizeof banner);
		if (http_serve_until_signal(&ho, banner, err, sizeof err) < 0) {
			fprintf(stderr, "mynahil: serve ca: %s\n", err);
			goto out;
		}
		cli.fd = -1; /* the server had it */
	}
	rc = 0;
out:
	if (cli.fd >= 0)
		close(cli.fd);
	ca_close(app.ca);
	pki_free_ca(&pki);
	return rc;
}
