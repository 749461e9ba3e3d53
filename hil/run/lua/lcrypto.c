/* lcrypto.c — mynahil.crypto: what scenarios need to check a card's
 * answers with OpenSSL — digests, DigestInfo, X.509 fields and chains,
 * RSA PKCS#1 v1.5 verification — and what a relying party needs to check
 * a certificate's status: OCSP requests and responses, CRLs. */
#include <string.h>

#include <lauxlib.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hil/run/lua/lhil.h"
#include "sim/core/dcache.h"

/* DER prefixes of DigestInfo (RFC 8017 §9.2, note 1). */
static const struct {
	const char *name;
	size_t hlen;
	const char *prefix;
	size_t plen;
} digest_infos[] = {
	{ "sha1", 20, "\x30\x21\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00\x04\x14", 15 },
	{ "sha256", 32, "\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20", 19 },
	{ "sha384", 48, "\x30\x41\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x02\x05\x00\x04\x30", 19 },
	{ "sha512", 64, "\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x03\x05\x00\x04\x40", 19 },
};

static int l_digest(lua_State *L)
{
	const char *alg = luaL_checkstring(L, 1);
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	const EVP_MD *md = EVP_get_digestbyname(alg);
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int olen;

	if (!md)
		return luaL_error(L, "unknown digest '%s'", alg);
	if (!EVP_Digest(data, n, out, &olen, md, NULL))
		return luaL_error(L, "digest failed");
	lua_pushlstring(L, (const char *)out, olen);
	return 1;
}

static int l_sha256(lua_State *L)
{
	lua_pushcfunction(L, l_digest);
	lua_pushliteral(L, "sha256");
	lua_pushvalue(L, 1);
	lua_call(L, 2, 1);
	return 1;
}

/* digestinfo(alg, hash) -> DER DigestInfo */
static int l_digestinfo(lua_State *L)
{
	const char *alg = luaL_checkstring(L, 1);
	size_t n;
	luaL_checklstring(L, 2, &n);

	for (size_t i = 0; i < sizeof digest_infos / sizeof digest_infos[0]; i++) {
		if (strcmp(alg, digest_infos[i].name))
			continue;
		if (n != digest_infos[i].hlen)
			return luaL_error(L, "a %s hash is %d bytes, got %d", alg, (int)digest_infos[i].hlen, (int)n);
		lua_pushlstring(L, digest_infos[i].prefix, digest_infos[i].plen);
		lua_pushvalue(L, 2);
		lua_concat(L, 2);
		return 1;
	}
	return luaL_error(L, "no DigestInfo for '%s'", alg);
}

static X509 *to_x509(lua_State *L, int idx)
{
	size_t n;
	const unsigned char *p = (const unsigned char *)luaL_checklstring(L, idx, &n);
	X509 *x = dcache_cert(p, n, NULL);
	if (!x)
		luaL_error(L, "argument #%d is not a DER certificate", idx);
	return x;
}

static void push_name(lua_State *L, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_get_mem_data(b, &p);
	lua_pushlstring(L, p, (size_t)n);
	BIO_free(b);
}

static void push_time(lua_State *L, const ASN1_TIME *t)
{
	ASN1_GENERALIZEDTIME *g = ASN1_TIME_to_generalizedtime(t, NULL);
	lua_pushstring(L, g ? (const char *)ASN1_STRING_get0_data(g) : "");
	ASN1_GENERALIZEDTIME_free(g);
}

/* The subjectAltName otherName entries as { oid = "1.2...", value = "..." }. */
static void push_san(lua_State *L, X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int k = 0;

	lua_newtable(L);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char oid[80];
		ASN1_OBJECT *obj;
		ASN1_TYPE *val;

		if (!GENERAL_NAME_get0_otherName(g, &obj, &val))
			continue;
		OBJ_obj2txt(oid, sizeof oid, obj, 1);
		lua_createtable(L, 0, 2);
		lua_pushstring(L, oid);
		lua_setfield(L, -2, "oid");
		if (val->type == V_ASN1_UTF8STRING || val->type == V_ASN1_PRINTABLESTRING ||
		    val->type == V_ASN1_IA5STRING)
			lua_pushlstring(L, (const char *)ASN1_STRING_get0_data(val->value.asn1_string),
					(size_t)ASN1_STRING_length(val->value.asn1_string));
		else
			lua_pushnil(L);
		lua_setfield(L, -2, "value");
		lua_rawseti(L, -2, ++k);
	}
	GENERAL_NAMES_free(gens);
}

/* cert(der) -> { subject, issuer, serial (hex), not_before, not_after
 * ("YYYYMMDDhhmmssZ"), bits, sig_alg, san = { {oid, value}... } } */
static int l_cert(lua_State *L)
{
	X509 *x = to_x509(L, 1);
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	EVP_PKEY *pk = X509_get0_pubkey(x);

	lua_newtable(L);
	push_name(L, X509_get_subject_name(x));
	lua_setfield(L, -2, "subject");
	push_name(L, X509_get_issuer_name(x));
	lua_setfield(L, -2, "issuer");
	lua_pushstring(L, hex ? hex : "");
	lua_setfield(L, -2, "serial");
	push_time(L, X509_get0_notBefore(x));
	lua_setfield(L, -2, "not_before");
	push_time(L, X509_get0_notAfter(x));
	lua_setfield(L, -2, "not_after");
	lua_pushinteger(L, pk ? EVP_PKEY_get_bits(pk) : 0);
	lua_setfield(L, -2, "bits");
	lua_pushstring(L, OBJ_nid2ln(X509_get_signature_nid(x)));
	lua_setfield(L, -2, "sig_alg");
	push_san(L, x);
	lua_setfield(L, -2, "san");
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return 1;
}

/* verify_cert(der, { ca_der, ... } [, unix_time]) -> true | false, why.
 * Without a time the validity period is not checked: the card's clock is
 * virtual, so callers pass the scenario's time when it matters. */
static int l_verify_cert(lua_State *L)
{
	X509 *x = to_x509(L, 1);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	const char *why = NULL;
	int ok = 0, n;

	n = lua_istable(L, 2) ? (int)lua_rawlen(L, 2) : -1;
	if (n < 0)
		why = "argument #2 must be a list of DER CA certificates";
	for (int i = 1; i <= n && !why; i++) {
		size_t len;
		const unsigned char *p;
		X509 *ca;

		lua_rawgeti(L, 2, i);
		p = (const unsigned char *)lua_tolstring(L, -1, &len);
		ca = p ? dcache_cert(p, len, NULL) : NULL;
		lua_pop(L, 1);
		if (!ca) /* no luaL_error here: x, st and ctx would leak */
			why = "a CA certificate is not DER";
		else
			X509_STORE_add_cert(st, ca);
		X509_free(ca);
	}
	/* The test CAs hang below a private root; trusting an intermediate
	 * alone is what a JPKI verifier configured with the CA does. */
	X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	if (!why && X509_STORE_CTX_init(ctx, st, x, NULL)) {
		X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
		if (lua_isinteger(L, 3))
			X509_VERIFY_PARAM_set_time(p, (time_t)lua_tointeger(L, 3));
		else
			X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_NO_CHECK_TIME);
		ok = X509_verify_cert(ctx) == 1;
		why = ok ? "ok" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
	}
	lua_pushboolean(L, ok);
	lua_pushstring(L, why ? why : "cannot verify");
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(x);
	return 2;
}

/* recover(cert_der, sig) -> the data under PKCS#1 v1.5 type 1 padding
 * (for a JPKI signature: the DigestInfo sent), or nil, why. */
static int l_recover(lua_State *L)
{
	size_t sn;
	const unsigned char *sig = (const unsigned char *)luaL_checklstring(L, 2, &sn);
	X509 *x = to_x509(L, 1); /* last: an argument error would leak it */
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL);
	unsigned char out[1024];
	size_t on = sizeof out;
	int ok = c && EVP_PKEY_verify_recover_init(c) > 0 &&
		 EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
		 EVP_PKEY_verify_recover(c, out, &on, sig, sn) > 0;

	EVP_PKEY_CTX_free(c);
	X509_free(x);
	if (!ok) {
		lua_pushnil(L);
		lua_pushliteral(L, "signature does not verify under the certificate's key");
		return 2;
	}
	lua_pushlstring(L, (const char *)out, on);
	return 1;
}

/* verify(cert_der, alg, data, sig) -> boolean: a full RSASSA-PKCS1-v1_5
 * verification of data hashed with alg. */
static int l_verify(lua_State *L)
{
	const EVP_MD *md = EVP_get_digestbyname(luaL_checkstring(L, 2));
	size_t dn, sn;
	const char *data = luaL_checklstring(L, 3, &dn);
	const unsigned char *sig = (const unsigned char *)luaL_checklstring(L, 4, &sn);
	X509 *x = to_x509(L, 1); /* last: an argument error would leak it */
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = md && c && EVP_DigestVerifyInit(c, NULL, md, NULL, X509_get0_pubkey(x)) > 0 &&
		 EVP_DigestVerify(c, sig, sn, (const unsigned char *)data, dn) == 1;

	EVP_MD_CTX_free(c);
	X509_free(x);
	lua_pushboolean(L, ok);
	return 1;
}

/* ---- the relying party: chain, OCSP, CRL ----
 * A scenario is untrusted code and a server's answer untrusted bytes:
 * these take only strings, and answer nil, why for anything that does not
 * parse or check, never an error thrown with something allocated. */

#define RP_MAX_DER (1 << 20)

/* Argument idx as a DER object of at most RP_MAX_DER bytes, or NULL. */
static const unsigned char *der_arg(lua_State *L, int idx, size_t *n)
{
	if (lua_type(L, idx) != LUA_TSTRING)
		return NULL;
	const unsigned char *p = (const unsigned char *)lua_tolstring(L, idx, n);
	return *n > 0 && *n <= RP_MAX_DER ? p : NULL;
}

static X509 *der_x509(lua_State *L, int idx)
{
	size_t n;
	const unsigned char *p = der_arg(L, idx, &n);
	/* Decoded once per process (sim/core/dcache.h): a relying party
	 * sees the same CA certificates at every check. */
	return p ? dcache_cert(p, n, NULL) : NULL;
}

/* now: seconds since the epoch (an integer), or -1. */
static lua_Integer time_arg(lua_State *L, int idx)
{
	return lua_isinteger(L, idx) && lua_tointeger(L, idx) >= 0 ? lua_tointeger(L, idx) : -1;
}

static int fail(lua_State *L, const char *why)
{
	lua_pushnil(L);
	lua_pushstring(L, why);
	return 2;
}

/* RFC 5280 CRLReason names, as the CA's JSON API spells them. */
static const char *reason_name(long r)
{
	static const char *const names[] = { "unspecified",	     "keyCompromise",	 "cACompromise",
					      "affiliationChanged",  "superseded",	 "cessationOfOperation",
					      "certificateHold",     NULL,		 "removeFromCRL",
					      "privilegeWithdrawn",  "aACompromise" };
	if (r < 0)
		return "unspecified";
	return r < (long)(sizeof names / sizeof names[0]) && names[r] ? names[r] : "unknown";
}

/* verify_chain(cert_der, issuer_der, root_der, now) -> true | nil, why:
 * the chain cert -> issuer (untrusted) -> root (the trust anchor), each
 * within its validity at now (virtual time, seconds since the epoch).
 * verify_cert trusts the CAs it is given (partial chains); a relying
 * party trusts the root only. */
static int l_verify_chain(lua_State *L)
{
	X509 *x = der_x509(L, 1), *ca = der_x509(L, 2), *root = der_x509(L, 3);
	lua_Integer now = time_arg(L, 4);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	const char *why = NULL;
	int ok = 0;

	if (!x || !ca || !root)
		why = !x ? "argument #1 is not a DER certificate"
		    : !ca ? "argument #2 is not a DER certificate"
			  : "argument #3 is not a DER certificate";
	else if (now < 0)
		why = "argument #4 must be a time (seconds since the epoch)";
	else if (!st || !ctx || !chain || !X509_STORE_add_cert(st, root) || !sk_X509_push(chain, ca))
		why = "out of memory";
	else if (!X509_STORE_CTX_init(ctx, st, x, chain))
		why = "cannot verify";
	else {
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
		ok = X509_verify_cert(ctx) == 1;
		if (!ok)
			why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
	}
	sk_X509_free(chain); /* the certificates are x, ca and root's */
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(x);
	X509_free(ca);
	X509_free(root);
	if (!ok)
		return fail(L, why);
	lua_pushboolean(L, 1);
	return 1;
}

/* ocsp_request(cert_der, issuer_der [, nonce]) -> DER OCSPRequest with
 * one SHA-1 certID (as openssl ocsp makes it) and, with nonce (1 to 64
 * bytes, the scenario's: no randomness here), the nonce extension. */
static int l_ocsp_request(lua_State *L)
{
	X509 *x = der_x509(L, 1), *ca = der_x509(L, 2);
	size_t nn = 0;
	const char *nonce = lua_type(L, 3) == LUA_TSTRING ? lua_tolstring(L, 3, &nn) : NULL;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = x && ca ? OCSP_cert_to_id(EVP_sha1(), x, ca) : NULL;
	unsigned char *der = NULL;
	const char *why = NULL;
	int n = -1;

	if (!x || !ca)
		why = !x ? "argument #1 is not a DER certificate" : "argument #2 is not a DER certificate";
	else if (!lua_isnoneornil(L, 3) && (!nonce || nn < 1 || nn > 64))
		why = "argument #3 (nonce) must be a string of 1 to 64 bytes";
	else if (!req || !id || !OCSP_request_add0_id(req, id))
		why = "cannot make the request";
	else if (id = NULL, nonce && !OCSP_request_add1_nonce(req, (unsigned char *)nonce, (int)nn))
		why = "cannot add the nonce"; /* (the request owns the certID now) */
	else if ((n = i2d_OCSP_REQUEST(req, &der)) <= 0)
		why = "cannot encode the request";
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	X509_free(x);
	X509_free(ca);
	if (why) {
		OPENSSL_free(der);
		return fail(L, why);
	}
	lua_pushlstring(L, (const char *)der, (size_t)n);
	OPENSSL_free(der);
	return 1;
}

/* Was nonce (the bytes given to ocsp_request) echoed in bs? */
static int nonce_echoed(OCSP_BASICRESP *bs, const char *nonce, size_t nn)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	int ok = req && OCSP_request_add1_nonce(req, (unsigned char *)nonce, (int)nn) &&
		 OCSP_check_nonce(req, bs) == 1;

	OCSP_REQUEST_free(req);
	return ok;
}

/* ocsp_check(rsp_der, cert_der, issuer_der, nonce, now) ->
 * { status = "good"|"revoked"|"unknown", reason, this_update, produced_at }
 * or nil, why: the response successful, its basic response signed by the
 * issuer itself (no delegated responder; the certificates it carries are
 * not looked at), nonce echoed (nil: none asked for), an answer for the
 * certID of cert under issuer, thisUpdate and producedAt not after now. */
static int l_ocsp_check(lua_State *L)
{
	size_t rn, nn = 0;
	const unsigned char *p = der_arg(L, 1, &rn);
	X509 *x = der_x509(L, 2), *ca = der_x509(L, 3);
	const char *nonce = lua_type(L, 4) == LUA_TSTRING ? lua_tolstring(L, 4, &nn) : NULL;
	lua_Integer now = time_arg(L, 5);
	OCSP_RESPONSE *rsp = p ? d2i_OCSP_RESPONSE(NULL, &p, (long)rn) : NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL;
	STACK_OF(X509) *signers = sk_X509_new_null();
	X509_STORE *st = X509_STORE_new();
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	const ASN1_GENERALIZEDTIME *produced = NULL;
	const char *why = NULL;
	int status = -1, reason = -1;

	if (!rsp)
		why = "not a DER OCSPResponse";
	else if (!x || !ca)
		why = !x ? "argument #2 is not a DER certificate" : "argument #3 is not a DER certificate";
	else if (!lua_isnoneornil(L, 4) && (!nonce || nn < 1 || nn > 64))
		why = "argument #4 (nonce) must be nil or a string of 1 to 64 bytes";
	else if (now < 0)
		why = "argument #5 must be a time (seconds since the epoch)";
	else if (OCSP_response_status(rsp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		why = OCSP_response_status_str(OCSP_response_status(rsp));
	else if (!(bs = OCSP_response_get1_basic(rsp)))
		why = "no basic response";
	else if (!signers || !st || !sk_X509_push(signers, ca))
		why = "out of memory";
	/* NOINTERN: the signer only among signers (the issuer); NOVERIFY:
	 * no chain to build, the issuer's key is the one that counts. */
	else if (OCSP_basic_verify(bs, signers, st, OCSP_NOINTERN | OCSP_NOVERIFY) != 1)
		why = "the response is not signed by the issuer";
	else if (nonce && !nonce_echoed(bs, nonce, nn))
		why = "the nonce is not echoed";
	else if (!(id = OCSP_cert_to_id(EVP_sha1(), x, ca)))
		why = "cannot make the certID";
	else if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd))
		why = "no answer for this certificate (certID)";
	else if (!thisupd || ASN1_TIME_cmp_time_t(thisupd, (time_t)now) > 0)
		why = "thisUpdate is in the future";
	else if (!(produced = OCSP_resp_get0_produced_at(bs)) || ASN1_TIME_cmp_time_t(produced, (time_t)now) > 0)
		why = "producedAt is in the future";
	else if (nextupd && ASN1_TIME_cmp_time_t(nextupd, (time_t)now) < 0)
		why = "nextUpdate has passed";
	if (!why) {
		lua_createtable(L, 0, 4);
		lua_pushstring(L, status == V_OCSP_CERTSTATUS_GOOD	  ? "good"
				  : status == V_OCSP_CERTSTATUS_REVOKED ? "revoked"
									: "unknown");
		lua_setfield(L, -2, "status");
		if (status == V_OCSP_CERTSTATUS_REVOKED) {
			lua_pushstring(L, reason_name(reason));
			lua_setfield(L, -2, "reason");
		}
		push_time(L, thisupd);
		lua_setfield(L, -2, "this_update");
		push_time(L, produced);
		lua_setfield(L, -2, "produced_at");
	}
	OCSP_CERTID_free(id);
	X509_STORE_free(st);
	sk_X509_free(signers);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(rsp);
	X509_free(x);
	X509_free(ca);
	return why ? fail(L, why) : 1;
}

/* A serial as upper-case hex of even length ("0700A001"), or NULL. */
static char *serial_hex(const ASN1_INTEGER *sn)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	BN_free(bn);
	return hex;
}

/* crl_check(crl_der, issuer_der, now) -> { number, this_update,
 * next_update, revoked = { [serial_hex] = reason } } or nil, why: signed
 * by the issuer's key, issued under its name, thisUpdate not after now,
 * now not after nextUpdate (which must be there). */
static int l_crl_check(lua_State *L)
{
	size_t n;
	const unsigned char *p = der_arg(L, 1, &n);
	X509_CRL *crl = p ? d2i_X509_CRL(NULL, &p, (long)n) : NULL;
	X509 *ca = der_x509(L, 2);
	lua_Integer now = time_arg(L, 3);
	ASN1_INTEGER *num = NULL;
	const ASN1_TIME *next = NULL;
	int64_t number = 0;
	const char *why = NULL;

	if (!crl)
		why = "not a DER CRL";
	else if (!ca)
		why = "argument #2 is not a DER certificate";
	else if (now < 0)
		why = "argument #3 must be a time (seconds since the epoch)";
	else if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)))
		why = "the CRL is not the issuer's (name)";
	else if (!X509_get0_pubkey(ca) || X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1)
		why = "the CRL is not signed by the issuer";
	else if (ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl), (time_t)now) > 0)
		why = "thisUpdate is in the future";
	else if (!(next = X509_CRL_get0_nextUpdate(crl)))
		why = "no nextUpdate";
	else if (ASN1_TIME_cmp_time_t(next, (time_t)now) < 0)
		why = "expired: now is past nextUpdate";
	else if (!(num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL)) ||
		 !ASN1_INTEGER_get_int64(&number, num))
		why = "no CRL number";
	if (!why) {
		STACK_OF(X509_REVOKED) *rv = X509_CRL_get_REVOKED(crl);

		lua_createtable(L, 0, 4);
		lua_pushinteger(L, (lua_Integer)number);
		lua_setfield(L, -2, "number");
		push_time(L, X509_CRL_get0_lastUpdate(crl));
		lua_setfield(L, -2, "this_update");
		push_time(L, next);
		lua_setfield(L, -2, "next_update");
		lua_newtable(L);
		for (int i = 0; rv && i < sk_X509_REVOKED_num(rv); i++) {
			X509_REVOKED *r = sk_X509_REVOKED_value(rv, i);
			ASN1_ENUMERATED *code = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
			char *hex = serial_hex(X509_REVOKED_get0_serialNumber(r));

			if (hex) {
				lua_pushstring(L, reason_name(code ? ASN1_ENUMERATED_get(code) : -1));
				lua_setfield(L, -2, hex);
			}
			OPENSSL_free(hex);
			ASN1_ENUMERATED_free(code);
		}
		lua_setfield(L, -2, "revoked");
	}
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	X509_free(ca);
	return why ? fail(L, why) : 1;
}

int luaopen_mynahil_crypto(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "digest", l_digest }, { "sha256", l_sha256 },	       { "digestinfo", l_digestinfo },
		{ "cert", l_cert },	{ "verify_cert", l_verify_cert }, { "recover", l_recover },
		{ "verify", l_verify }, { "verify_chain", l_verify_chain }, { "ocsp_request", l_ocsp_request },
		{ "ocsp_check", l_ocsp_check }, { "crl_check", l_crl_check }, { NULL, NULL },
	};
	luaL_newlib(L, fns);
	return 1;
}
