/* lcrypto.c — mynahil.crypto: what scenarios need to check a card's
 * answers with OpenSSL — digests, DigestInfo, X.509 fields and chains,
 * RSA PKCS#1 v1.5 verification. */
#include <string.h>

#include <lauxlib.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hil/run/lua/lhil.h"

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
	X509 *x = d2i_X509(NULL, &p, (long)n);
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
		ca = p ? d2i_X509(NULL, &p, (long)len) : NULL;
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

int luaopen_mynahil_crypto(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "digest", l_digest }, { "sha256", l_sha256 },	       { "digestinfo", l_digestinfo },
		{ "cert", l_cert },	{ "verify_cert", l_verify_cert }, { "recover", l_recover },
		{ "verify", l_verify }, { NULL, NULL },
	};
	luaL_newlib(L, fns);
	return 1;
}
