/* ca_issue.c — issuing card and phone certificates, importing the
 * fixtures' card certificates, and the phone request the card signs.
 *
 * Certificates follow fixtures/gen-pki.sh: RSA, sha256WithRSAEncryption,
 * v3; auth: subject C=JP, CN=<20 hex>, keyUsage digitalSignature
 * (critical), EKU clientAuth; sign: subject C=JP, L=pref, L=city,
 * CN=<20 hex>, keyUsage digitalSignature + nonRepudiation (critical), SAN
 * otherNames 1.2.392.200149.8.5.5.1-6; both: certificatePolicies
 * (critical; test OIDs: 2.999.392.1.1 card auth, .2 card sign, .3 phone
 * auth, .4 phone sign) with the CPS pointer (and on card auth the user
 * notice), issuerAltName (the CA's directoryName), SKI, AKI, CRL DP
 * BASE/crl/{auth,sign}.crl with the CA's directoryName (sign: the
 * municipality's, from the subject's L=pref, L=city), and AIA OCSP
 * BASE/ocsp + caIssuers BASE/ca/{auth,sign}-ca.der.
 *
 * Serial numbers: drawn from the CA's rng stream, 8 bytes, positive (top
 * byte 01-7F, so the DER INTEGER is exactly 8 bytes); a draw that hits a
 * known serial is drawn again.  The stream's state is saved in the same
 * transaction as the certificate, so a reopened database continues it and
 * the same seed gives the same serials and bytes. */
#include "ca_int.h"
#include "../core/dcache.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#define SERIAL_TOP 0x0100000000000000ULL
#define SERIAL_MASK 0x7FFFFFFFFFFFFFFFULL
#define CN_BYTES 10
#define JST (9 * 3600)
#define SIGN_MIN_AGE 15
#define REQ_LABEL "mynahil phone-cert-request v1"
#define NONCE_MIN 8
#define NONCE_MAX 64
#define SIG_MAX 1024

static const char *const policy[2][2] = {
	[CA_CARD] = { "2.999.392.1.1", "2.999.392.1.2" },
	[CA_PHONE] = { "2.999.392.1.3", "2.999.392.1.4" },
};

/* ------------------------------------------------------------ DER for the request */

typedef struct buf {
	uint8_t *p;
	size_t n, cap;
	int oom;
} buf_t;

static void put(buf_t *b, const void *d, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *np;
		while (cap < b->n + n)
			cap *= 2;
		if (!(np = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put_hdr(buf_t *b, uint8_t tag, size_t len)
{
	uint8_t h[6];
	size_t k = 0;

	h[k++] = tag;
	if (len < 0x80)
		h[k++] = (uint8_t)len;
	else if (len < 0x100) {
		h[k++] = 0x81;
		h[k++] = (uint8_t)len;
	} else if (len < 0x10000) {
		h[k++] = 0x82;
		h[k++] = (uint8_t)(len >> 8);
		h[k++] = (uint8_t)len;
	} else {
		h[k++] = 0x83;
		h[k++] = (uint8_t)(len >> 16);
		h[k++] = (uint8_t)(len >> 8);
		h[k++] = (uint8_t)len;
	}
	put(b, h, k);
}

static void put_tlv(buf_t *b, uint8_t tag, const void *d, size_t n)
{
	put_hdr(b, tag, n);
	put(b, d, n);
}

/* A non-negative INTEGER's content octets: minimal, 00 before a high bit. */
static size_t int_octets(uint64_t v, uint8_t out[9])
{
	uint8_t tmp[8];
	size_t i = 0, k = 0;

	for (int j = 0; j < 8; j++)
		tmp[j] = (uint8_t)(v >> (56 - 8 * j));
	while (i < 7 && tmp[i] == 0)
		i++;
	if (tmp[i] & 0x80)
		out[k++] = 0;
	while (i < 8)
		out[k++] = tmp[i++];
	return k;
}

int ca_phone_tbs(const ca_phone_req_t *req, uint8_t **tbs, size_t *n)
{
	buf_t c = { 0 }, out = { 0 };
	uint8_t pur, ser[9];

	if (!req || !tbs || !n || (req->purpose != CA_AUTH && req->purpose != CA_SIGN) ||
	    !req->spki.p || !req->spki.n || req->spki.n > 0xFFFF || !req->nonce.p ||
	    req->nonce.n < NONCE_MIN || req->nonce.n > NONCE_MAX || !req->card_serial ||
	    req->card_serial > INT64_MAX)
		return CA_ERR_ARG;
	pur = (uint8_t)req->purpose;
	put_tlv(&c, 0x0C, REQ_LABEL, strlen(REQ_LABEL));
	put_tlv(&c, 0x0A, &pur, 1);
	put_tlv(&c, 0x02, ser, int_octets(req->card_serial, ser));
	put_tlv(&c, 0x04, req->nonce.p, req->nonce.n);
	put(&c, req->spki.p, req->spki.n);
	if (!c.oom) {
		put_hdr(&out, 0x30, c.n);
		put(&out, c.p, c.n);
	}
	free(c.p);
	if (c.oom || out.oom) {
		free(out.p);
		return CA_ERR_NOMEM;
	}
	*tbs = out.p;
	*n = out.n;
	return CA_OK;
}

int ca_phone_digestinfo(const ca_phone_req_t *req, uint8_t di[51])
{
	static const uint8_t prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	uint8_t *tbs;
	size_t n;
	int rc;

	if (!di)
		return CA_ERR_ARG;
	if ((rc = ca_phone_tbs(req, &tbs, &n)) != CA_OK)
		return rc;
	memcpy(di, prefix, sizeof prefix);
	SHA256(tbs, n, di + sizeof prefix);
	free(tbs);
	return CA_OK;
}

/* ------------------------------------------------------------ checks */

static int holder_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 1 && n <= 63 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= max;
}

/* The public key: canonical DER SubjectPublicKeyInfo of RSA 2048-4096.
 * Parsed here rather than by d2i_PUBKEY(): OpenSSL 3.0's decoders cost
 * about as much as the certificate's signature.  Strict: the input must
 * be exactly the DER re-encoding of its modulus and exponent. */
typedef struct rsa_pub {
	const uint8_t *der; /* the RSAPublicKey inside the BIT STRING */
	size_t n;
} rsa_pub_t;

static int der_get(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **val,
		   size_t *len)
{
	size_t l;

	if (end - *p < 2 || **p != tag)
		return -1;
	(*p)++;
	l = *(*p)++;
	if (l & 0x80) {
		int k = (int)(l & 0x7F);
		if (k < 1 || k > 2 || end - *p < k)
			return -1;
		for (l = 0; k--; (*p)++)
			l = l << 8 | **p;
	}
	if ((size_t)(end - *p) < l)
		return -1;
	*val = *p;
	*len = l;
	*p += l;
	return 0;
}

/* An INTEGER's content as a positive magnitude (leading 00s dropped). */
static int der_uint(const uint8_t *v, size_t n, const uint8_t **mag, size_t *mn)
{
	if (!n || (v[0] & 0x80))
		return -1;
	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	*mag = v;
	*mn = n;
	return 0;
}

static void put_uint(buf_t *b, const uint8_t *mag, size_t n)
{
	int pad = mag[0] & 0x80;

	put_hdr(b, 0x02, n + (pad ? 1 : 0));
	if (pad)
		put(b, "", 1);
	put(b, mag, n);
}

static int parse_spki(ca_t *ca, ca_blob_t spki, rsa_pub_t *out)
{
	static const uint8_t rsa_alg[] = { 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7,
					   0x0D, 0x01, 0x01, 0x01, 0x05, 0x00 };
	const uint8_t *p = spki.p, *end, *seq, *bits, *key, *n, *e, *nm, *em, *kp;
	size_t seqn, bitsn, keyn, nn, en, nmn, emn;
	buf_t rsa = { 0 }, bs = { 0 }, all = { 0 };
	int ok, bitlen;

	if (!spki.p || !spki.n)
		return ca_fail(ca, CA_ERR_ARG, "spki", "spki: missing");
	end = spki.p + spki.n;
	if (spki.n > 0xFFFF || der_get(&p, end, 0x30, &seq, &seqn) < 0 || p != end)
		return ca_fail(ca, CA_ERR_ARG, "spki", "spki: not a DER SubjectPublicKeyInfo");
	p = seq;
	if (seqn < sizeof rsa_alg || memcmp(p, rsa_alg, sizeof rsa_alg))
		return ca_fail(ca, CA_ERR_ARG, "spki", "spki: not an RSA key of 2048 to 4096 bits");
	p += sizeof rsa_alg;
	if (der_get(&p, seq + seqn, 0x03, &bits, &bitsn) < 0 || p != seq + seqn || bitsn < 1 ||
	    bits[0] != 0)
		return ca_fail(ca, CA_ERR_ARG, "spki", "spki: not a DER SubjectPublicKeyInfo");
	kp = bits + 1;
	if (der_get(&kp, bits + bitsn, 0x30, &key, &keyn) < 0 || kp != bits + bitsn)
		return ca_fail(ca, CA_ERR_ARG, "spki", "spki: not an RSAPublicKey");
	kp = key;
	if (der_get(&kp, key + keyn, 0x02, &n, &nn) < 0 || der_get(&kp, key + keyn, 0x02, &e, &en) < 0 ||
	    kp != key + keyn || der_uint(n, nn, &nm, &nmn) < 0 || der_uint(e, en, &em, &emn) < 0)
		return ca_fail(ca, CA_ERR_ARG, "spki", "spki: not an RSAPublicKey");
	bitlen = (int)(8 * nmn);
	for (uint8_t top = nm[0]; !(top & 0x80) && bitlen > 0; top <<= 1)
		bitlen--;
	if (bitlen < 2048 || bitlen > 4096 || !(em[emn - 1] & 1) || (emn == 1 && em[0] < 3))
		return ca_fail(ca, CA_ERR_ARG, "spki", "spki: not an RSA key of 2048 to 4096 bits");
	/* Canonical: the input is the DER of what it says. */
	{
		buf_t ints = { 0 };
		put_uint(&ints, nm, nmn);
		put_uint(&ints, em, emn);
		put_hdr(&rsa, 0x30, ints.n);
		put(&rsa, ints.p, ints.n);
		ok = !ints.oom;
		free(ints.p);
	}
	put_hdr(&bs, 0x03, rsa.n + 1);
	put(&bs, "", 1);
	put(&bs, rsa.p, rsa.n);
	put_hdr(&all, 0x30, sizeof rsa_alg + bs.n);
	put(&all, rsa_alg, sizeof rsa_alg);
	put(&all, bs.p, bs.n);
	ok = ok && !rsa.oom && !bs.oom && !all.oom;
	if (ok && (all.n != spki.n || memcmp(all.p, spki.p, spki.n)))
		ok = -1;
	free(rsa.p);
	free(bs.p);
	free(all.p);
	if (ok == 0)
		return ca_fail(ca, CA_ERR_NOMEM, NULL, "out of memory");
	if (ok < 0)
		return ca_fail(ca, CA_ERR_ARG, "spki", "spki: not canonical DER");
	out->der = bits + 1;
	out->n = bitsn - 1;
	return CA_OK;
}

/* Gregorian date of a JST day, from a YYYYMMDD string; 0 or -1. */
static int date_ok(const char *s)
{
	char t[16];
	int64_t v;

	if (!s || strlen(s) != 8)
		return 0;
	memcpy(t, s, 8);
	memcpy(t + 8, "000000Z", 8);
	return vclock_parse(t, &v) == 0 && memcmp(s, "1900", 4) >= 0;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The issue date (JST) as YYYYMMDD. */
static void jst_date(int64_t now, char d[9])
{
	char f[16];

	vclock_format(now + JST, f);
	memcpy(d, f, 8);
	d[8] = 0;
}

/* docs/card.md#certificates: valid to the 5th birthday after the issue
 * date ("発行の日後の5回目の誕生日"), 23:59:59 JST = 14:59:59Z.  A 29
 * February birthday falls on 28 February in common years. */
static int fifth_birthday(int64_t now, const char *birth, int64_t *out)
{
	char d[9], s[32], md[5];
	int y;

	jst_date(now, d);
	y = atoi((char[5]){ d[0], d[1], d[2], d[3], 0 });
	memcpy(md, birth + 4, 4);
	md[4] = 0;
	if (memcmp(md, d + 4, 4) <= 0)
		y++; /* this year's birthday is not after the issue date */
	y += 4;
	if (y > 9999)
		return -1;
	if (!strcmp(md, "0229") && !leap(y))
		memcpy(md, "0228", 4);
	snprintf(s, sizeof s, "%04d%s145959Z", y, md);
	return vclock_parse(s, out);
}

static int age_at(int64_t now, const char *birth)
{
	char d[9];
	int age;

	jst_date(now, d);
	age = atoi((char[5]){ d[0], d[1], d[2], d[3], 0 }) -
	      atoi((char[5]){ birth[0], birth[1], birth[2], birth[3], 0 });
	if (memcmp(d + 4, birth + 4, 4) < 0)
		age--;
	return age;
}

/* ------------------------------------------------------------ building */

static int draw_serial(ca_t *ca, uint64_t *out)
{
	ca_info_t row;
	int rc;

	for (int i = 0; i < 64; i++) {
		uint64_t s = (rng_u64(&ca->rng) & SERIAL_MASK) | SERIAL_TOP;
		if ((rc = ca_row(ca, s, &row)) == CA_ERR_NOTFOUND) {
			*out = s;
			return CA_OK;
		}
		if (rc != CA_OK)
			return rc;
	}
	return ca_fail(ca, CA_ERR_DB, NULL, "no free serial in 64 draws");
}

static void draw_cn(ca_t *ca, char cn[2 * CN_BYTES + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t b[CN_BYTES];

	rng_bytes(&ca->rng, b, sizeof b);
	for (int i = 0; i < CN_BYTES; i++) {
		cn[2 * i] = hex[b[i] >> 4];
		cn[2 * i + 1] = hex[b[i] & 15];
	}
	cn[2 * CN_BYTES] = 0;
}

static int add_utf8(X509_NAME *n, int nid, const char *v)
{
	return X509_NAME_add_entry_by_NID(n, nid, V_ASN1_UTF8STRING, (const unsigned char *)v,
					  (int)strlen(v), -1, 0);
}

/* C=JP [, L=pref, L=city], CN=cn: the order of the fixtures. */
static X509_NAME *card_subject(const char *cn, const char *pref, const char *city)
{
	X509_NAME *n = X509_NAME_new();

	if (!n || !X509_NAME_add_entry_by_NID(n, NID_countryName, V_ASN1_PRINTABLESTRING,
					      (const unsigned char *)"JP", 2, -1, 0) ||
	    (pref && (!add_utf8(n, NID_localityName, pref) || !add_utf8(n, NID_localityName, city))) ||
	    !add_utf8(n, NID_commonName, cn)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* The card's subject with a new CN in the CN's place. */
static X509_NAME *phone_subject(const X509 *card, const char *cn)
{
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(card));
	int loc = n ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;

	if (loc < 0) {
		X509_NAME_free(n);
		return NULL;
	}
	X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, loc));
	if (!X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING, (const unsigned char *)cn,
					(int)strlen(cn), loc, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* The 4 attributes (6 entries) as otherName UTF8Strings,
 * docs/card.md#certificates. */
static X509_EXTENSION *holder_san(const ca_holder_t *h)
{
	const char *v[6] = { h->name, h->name_alt ? h->name_alt : h->name, h->sex, h->birth,
			     h->address, h->address_alt ? h->address_alt : h->address };
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	X509_EXTENSION *ext = NULL;
	char oid[32];

	for (int i = 0; gens && i < 6; i++) {
		ASN1_OBJECT *o;
		ASN1_UTF8STRING *u = ASN1_UTF8STRING_new();
		ASN1_TYPE *t = ASN1_TYPE_new();
		GENERAL_NAME *g = GENERAL_NAME_new();

		snprintf(oid, sizeof oid, "1.2.392.200149.8.5.5.%d", i + 1);
		o = OBJ_txt2obj(oid, 1);
		if (!o || !u || !t || !g || !ASN1_STRING_set(u, v[i], (int)strlen(v[i]))) {
			ASN1_OBJECT_free(o);
			ASN1_UTF8STRING_free(u);
			ASN1_TYPE_free(t);
			GENERAL_NAME_free(g);
			goto out;
		}
		ASN1_TYPE_set(t, V_ASN1_UTF8STRING, u);
		if (!GENERAL_NAME_set0_othername(g, o, t)) {
			ASN1_OBJECT_free(o);
			ASN1_TYPE_free(t);
			GENERAL_NAME_free(g);
			goto out;
		}
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	if (gens)
		ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
out:
	GENERAL_NAMES_free(gens);
	return ext;
}

/* What fixtures/gen-pki.sh writes in the same extensions. */
#define CPS_PATH "/cps/mynahil-test-cps.html"
#define NOTICE_AUTH "本証明書は試験用の利用者証明用電子証明書であり、公的個人認証サービスの利用者証明には使用できません。"
static const char *const ca_altname[2] = { "公的個人認証サービス利用者証明用（試験）", "公的個人認証サービス署名用（試験）" };
static const char *const ca_ou[2] = { "JPKI for user authentication", "JPKI for digital signature" };

/* A policy qualifier: the CPS URI, or a user notice's explicit text. */
static int add_qualifier(POLICYINFO *pi, int nid, const char *text)
{
	POLICYQUALINFO *q = POLICYQUALINFO_new();
	int ok;

	if (!q || (!pi->qualifiers && !(pi->qualifiers = sk_POLICYQUALINFO_new_null()))) {
		POLICYQUALINFO_free(q);
		return 0;
	}
	q->pqualid = OBJ_nid2obj(nid);
	if (nid == NID_id_qt_cps)
		ok = (q->d.cpsuri = ASN1_IA5STRING_new()) && ASN1_STRING_set(q->d.cpsuri, text, -1);
	else
		ok = (q->d.usernotice = USERNOTICE_new()) && (q->d.usernotice->exptext = ASN1_UTF8STRING_new()) &&
		     ASN1_STRING_set(q->d.usernotice->exptext, text, -1);
	if (!ok || !sk_POLICYQUALINFO_push(pi->qualifiers, q)) {
		POLICYQUALINFO_free(q);
		return 0;
	}
	return 1;
}

/* certificatePolicies (critical): one policy OID with the CPS pointer,
 * and the user notice on a card's auth certificate (built by hand: the
 * text form needs an OpenSSL config database). */
static int add_policy(ca_t *ca, X509 *x, const char *oid, int notice)
{
	CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	char cps[512];
	int ok = pols && pi && (pi->policyid = OBJ_txt2obj(oid, 1)) != NULL && sk_POLICYINFO_push(pols, pi);

	if (!ok)
		POLICYINFO_free(pi);
	snprintf(cps, sizeof cps, "%s" CPS_PATH, ca->base_url);
	ok = ok && add_qualifier(pi, NID_id_qt_cps, cps) && (!notice || add_qualifier(pi, NID_id_qt_unotice, NOTICE_AUTH));
	ok = ok && X509_add1_ext_i2d(x, NID_certificate_policies, pols, 1, 0) == 1;
	CERTIFICATEPOLICIES_free(pols);
	return ok;
}

/* A GeneralName directoryName of the given entries (type, UTF-8 value;
 * C as a PrintableString, as gen-pki.sh writes it). */
static GENERAL_NAME *dirname(const char *const *kv, size_t n)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	X509_NAME *nm = X509_NAME_new();
	int ok = g && nm;

	for (size_t i = 0; ok && i + 1 < n; i += 2)
		ok = X509_NAME_add_entry_by_txt(nm, kv[i], strcmp(kv[i], "C") ? MBSTRING_UTF8 : V_ASN1_PRINTABLESTRING,
						(const unsigned char *)kv[i + 1], -1, -1, 0) == 1;
	if (!ok) {
		GENERAL_NAME_free(g);
		X509_NAME_free(nm);
		return NULL;
	}
	GENERAL_NAME_set0_value(g, GEN_DIRNAME, nm);
	return g;
}

static GENERAL_NAME *uri(const char *u)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (!g || !s || !ASN1_STRING_set(s, u, -1)) {
		GENERAL_NAME_free(g);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(g, GEN_URI, s);
	return g;
}

static int push_name(GENERAL_NAMES *gens, GENERAL_NAME *g)
{
	if (g && sk_GENERAL_NAME_push(gens, g))
		return 1;
	GENERAL_NAME_free(g);
	return 0;
}

/* issuerAltName: the CA's directoryName C=JP, O=<its service, UTF-8>. */
static int add_issuer_altname(X509 *x, enum ca_purpose p)
{
	const char *kv[] = { "C", "JP", "O", ca_altname[p] };
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int ok = gens && push_name(gens, dirname(kv, 4)) &&
		 X509_add1_ext_i2d(x, NID_issuer_alt_name, gens, 0, 0) == 1;

	GENERAL_NAMES_free(gens);
	return ok;
}

/* CRL distribution point: the URI, then the directoryName of the CA's
 * CRL; a sign CRL is partitioned by municipality (the subject's two L). */
static int add_crldp(ca_t *ca, X509 *x, enum ca_purpose p)
{
	const X509_NAME *subj = X509_get_subject_name(x);
	char u[512], pref[128] = "", city[160] = "";
	const char *kv[] = { "C", "JP", "O", "JPKI-TEST", "OU", ca_ou[p], "OU", "CRL Distribution Points",
			     "OU", pref, "CN", city };
	int loc = X509_NAME_get_index_by_NID(subj, NID_localityName, -1);
	int loc2 = loc >= 0 ? X509_NAME_get_index_by_NID(subj, NID_localityName, loc) : -1;
	size_t nkv = 8;
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	int ok;

	if (p == CA_SIGN && loc2 >= 0) {
		const ASN1_STRING *a = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, loc));
		const ASN1_STRING *b = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, loc2));
		snprintf(pref, sizeof pref, "%.*s", ASN1_STRING_length(a), (const char *)ASN1_STRING_get0_data(a));
		snprintf(city, sizeof city, "%.*s CRLDP", ASN1_STRING_length(b), (const char *)ASN1_STRING_get0_data(b));
		nkv = 12;
	}
	snprintf(u, sizeof u, "%s/crl/%s.crl", ca->base_url, p == CA_AUTH ? "auth" : "sign");
	ok = dps && dp && (dp->distpoint = DIST_POINT_NAME_new()) != NULL &&
	     (dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) != NULL;
	if (ok)
		dp->distpoint->type = 0;
	ok = ok && push_name(dp->distpoint->name.fullname, uri(u)) &&
	     push_name(dp->distpoint->name.fullname, dirname(kv, nkv)) && sk_DIST_POINT_push(dps, dp);
	if (!ok)
		DIST_POINT_free(dp);
	ok = ok && X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, 0) == 1;
	CRL_DIST_POINTS_free(dps);
	return ok;
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
	int ok = e && X509_add_ext(x, e, -1);

	X509_EXTENSION_free(e);
	return ok;
}

/* The subject key as the request carried it (no encoder round trip). */
static int set_pubkey(X509 *x, const rsa_pub_t *pub)
{
	uint8_t *k = OPENSSL_malloc(pub->n);

	if (!k)
		return 0;
	memcpy(k, pub->der, pub->n);
	if (!X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL,
				    NULL, k, (int)pub->n)) {
		OPENSSL_free(k);
		return 0;
	}
	return 1;
}

/* The extensions of every certificate of kind k and purpose p that do
 * not depend on its subject, built once into an unsigned certificate
 * kept by ca (ca->exts): building them (configuration strings parsed,
 * names and policies assembled) cost more than copying them. */
static X509 *fixed_exts(ca_t *ca, enum ca_purpose p, enum ca_kind k)
{
	char aia[1024];
	X509V3_CTX v3;
	X509 *x;

	if (ca->exts[k][p])
		return ca->exts[k][p];
	if (!(x = X509_new()))
		return NULL;
	snprintf(aia, sizeof aia, "OCSP;URI:%s/ocsp,caIssuers;URI:%s/ca/%s-ca.der", ca->base_url, ca->base_url,
		 p == CA_AUTH ? "auth" : "sign");
	X509V3_set_ctx(&v3, ca->cert[p], x, NULL, NULL, 0);
	if (!add_ext(x, &v3, NID_key_usage,
		     p == CA_AUTH ? "critical,digitalSignature" : "critical,digitalSignature,nonRepudiation") ||
	    (p == CA_AUTH && !add_ext(x, &v3, NID_ext_key_usage, "clientAuth")) ||
	    !add_policy(ca, x, policy[k][p], k == CA_CARD && p == CA_AUTH) || !add_issuer_altname(x, p) ||
	    !add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") ||
	    /* an auth CRL is not partitioned: its point names no subject */
	    (p == CA_AUTH && !add_crldp(ca, x, p)) || !add_ext(x, &v3, NID_info_access, aia)) {
		X509_free(x);
		return NULL;
	}
	return ca->exts[k][p] = x;
}

/* x gets the extension nid of the fixed set f (a copy). */
static int copy_ext(X509 *x, const X509 *f, int nid)
{
	int i = X509_get_ext_by_NID(f, nid, -1);

	return i >= 0 && X509_add_ext(x, X509_get_ext(f, i), -1);
}

/* Build and sign; *der malloc'd. */
static int make_cert(ca_t *ca, enum ca_purpose p, enum ca_kind k, uint64_t serial,
		     const X509_NAME *subject, const rsa_pub_t *pub, int64_t nb, int64_t na,
		     X509_EXTENSION *san, uint8_t **der, size_t *n)
{
	X509V3_CTX v3;
	X509 *x = X509_new(), *f = fixed_exts(ca, p, k);
	uint8_t *tmp = NULL;
	int len = -1, ok;

	ok = x && f && X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) &&
	     X509_set_issuer_name(x, X509_get_subject_name(ca->cert[p])) &&
	     X509_set_subject_name(x, subject) && ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) &&
	     ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) && set_pubkey(x, pub);
	if (ok) {
		/* in the order the fixtures' certificates have them */
		X509V3_set_ctx(&v3, ca->cert[p], x, NULL, NULL, 0);
		ok = copy_ext(x, f, NID_key_usage) && (p != CA_AUTH || copy_ext(x, f, NID_ext_key_usage)) &&
		     copy_ext(x, f, NID_certificate_policies) && (!san || X509_add_ext(x, san, -1)) &&
		     copy_ext(x, f, NID_issuer_alt_name) &&
		     add_ext(x, &v3, NID_subject_key_identifier, "hash") &&
		     copy_ext(x, f, NID_authority_key_identifier) &&
		     (p == CA_AUTH ? copy_ext(x, f, NID_crl_distribution_points) : add_crldp(ca, x, p)) &&
		     copy_ext(x, f, NID_info_access) &&
		     X509_sign(x, ca->key[p], EVP_sha256()) > 0 && (len = i2d_X509(x, &tmp)) > 0;
	}
	X509_free(x);
	if (!ok || len <= 0) {
		char e[160];
		ERR_error_string_n(ERR_peek_last_error(), e, sizeof e);
		ERR_clear_error();
		OPENSSL_free(tmp);
		return ca_fail(ca, CA_ERR_CRYPTO, NULL, "building the certificate failed: %s", e);
	}
	if (!(*der = malloc((size_t)len))) {
		OPENSSL_free(tmp);
		return ca_fail(ca, CA_ERR_NOMEM, NULL, "out of memory");
	}
	memcpy(*der, tmp, (size_t)len);
	*n = (size_t)len;
	OPENSSL_free(tmp);
	return CA_OK;
}

/* Chain to the CA and validity, on the virtual clock.  The answer for a
 * card certificate of the cache is kept with it until the clock moves
 * (the store never changes): an issuance flow asks it four times for the
 * same card, and X509_verify_cert costs more than the card's signature
 * check. */
static int verify_chain(ca_t *ca, enum ca_purpose p, X509 *x, const char *field)
{
	X509_STORE_CTX *sc;
	int64_t now = ca_now(ca);
	int ok, err, i;

	for (i = 0; i < CA_CACHE && ca->cache[i].x != x; i++)
		;
	if (i < CA_CACHE && ca->cache[i].chain_known && ca->cache[i].chain_p == (int)p &&
	    ca->cache[i].chain_at == now) {
		err = ca->cache[i].chain_err;
		ok = err == X509_V_OK;
	} else {
		if (!(sc = X509_STORE_CTX_new()) || X509_STORE_CTX_init(sc, ca->store[p], x, NULL) != 1) {
			X509_STORE_CTX_free(sc);
			return ca_fail(ca, CA_ERR_CRYPTO, NULL, "X509_STORE_CTX");
		}
		X509_STORE_CTX_set_time(sc, 0, (time_t)now);
		ok = X509_verify_cert(sc) == 1;
		err = X509_STORE_CTX_get_error(sc);
		X509_STORE_CTX_free(sc);
		/* an answer, not a failure to compute one (out of memory) */
		if (i < CA_CACHE && ok == (err == X509_V_OK)) {
			ca->cache[i].chain_known = 1;
			ca->cache[i].chain_p = (int)p;
			ca->cache[i].chain_at = now;
			ca->cache[i].chain_err = err;
		}
	}
	if (!ok)
		return ca_fail(ca, CA_ERR_CHAIN, field, "%s: the card certificate does not verify under "
				"the %s CA: %s", field, p == CA_AUTH ? "auth" : "sign",
				X509_verify_cert_error_string(err));
	return CA_OK;
}

static void out_cert(uint64_t s, uint8_t *der, size_t dn, uint64_t *serial, uint8_t **pder,
		     size_t *n)
{
	if (serial)
		*serial = s;
	if (pder && n) {
		*pder = der;
		*n = dn;
	} else
		free(der);
}

/* ------------------------------------------------------------ card certificates */

static int check_card_req(ca_t *ca, const ca_card_req_t *r)
{
	const ca_holder_t *h = &r->holder;

	if (!holder_id_ok(h->id))
		return ca_fail(ca, CA_ERR_ARG, "holder", "holder: 1-63 of A-Z a-z 0-9 . _ -");
	if (r->purpose != CA_AUTH && r->purpose != CA_SIGN)
		return ca_fail(ca, CA_ERR_ARG, "purpose", "purpose: auth or sign");
	if (!date_ok(h->birth))
		return ca_fail(ca, CA_ERR_ARG, "birth", "birth: a date YYYYMMDD");
	if (r->purpose == CA_AUTH)
		return CA_OK;
	if (!text_ok(h->name, 256))
		return ca_fail(ca, CA_ERR_ARG, "name", "name: 1-256 bytes of UTF-8");
	if (h->name_alt && !text_ok(h->name_alt, 256))
		return ca_fail(ca, CA_ERR_ARG, "name_alt", "name_alt: 1-256 bytes of UTF-8");
	if (!h->sex || (strcmp(h->sex, "1") && strcmp(h->sex, "2") && strcmp(h->sex, "9")))
		return ca_fail(ca, CA_ERR_ARG, "sex", "sex: \"1\", \"2\" or \"9\"");
	if (!text_ok(h->address, 512))
		return ca_fail(ca, CA_ERR_ARG, "address", "address: 1-512 bytes of UTF-8");
	if (h->address_alt && !text_ok(h->address_alt, 512))
		return ca_fail(ca, CA_ERR_ARG, "address_alt", "address_alt: 1-512 bytes of UTF-8");
	if (!h->pref != !h->city)
		return ca_fail(ca, CA_ERR_ARG, h->pref ? "city" : "pref", "%s: pref and city go together",
			       h->pref ? "city" : "pref");
	if (h->pref && (!text_ok(h->pref, 128) || !text_ok(h->city, 128)))
		return ca_fail(ca, CA_ERR_ARG, text_ok(h->pref, 128) ? "city" : "pref",
			       "%s: 1-128 bytes", text_ok(h->pref, 128) ? "city" : "pref");
	/* docs/card.md#certificates: no sign certificate under 15. */
	if (age_at(ca_now(ca), h->birth) < SIGN_MIN_AGE)
		return ca_fail(ca, CA_ERR_POLICY, "birth", "birth: no sign certificate under %d",
			       SIGN_MIN_AGE);
	return CA_OK;
}

int ca_issue_card(ca_t *ca, const ca_card_req_t *req, uint64_t *serial, uint8_t **der, size_t *n)
{
	const ca_holder_t *h;
	rng_t saved;
	rsa_pub_t pub;
	X509_NAME *subj = NULL;
	X509_EXTENSION *san = NULL;
	uint8_t *cert = NULL;
	size_t cn_len = 0;
	uint64_t s = 0;
	int64_t now, na;
	char cn[2 * CN_BYTES + 1];
	int rc;

	if (!ca || !req)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if ((rc = ca_local_only(ca, "ca_issue_card")) != CA_OK)
		return rc;
	h = &req->holder;
	if ((rc = check_card_req(ca, req)) != CA_OK || (rc = parse_spki(ca, req->spki, &pub)) != CA_OK)
		return rc;
	now = ca_now(ca);
	na = req->not_after;
	if (!na && fifth_birthday(now, h->birth, &na) < 0)
		return ca_fail(ca, CA_ERR_ARG, "birth", "birth: no 5th birthday");
	if (na <= now)
		return ca_fail(ca, CA_ERR_ARG, "not_after", "not_after: not after now");

	saved = ca->rng;
	if ((rc = ca_begin(ca)) != CA_OK)
		goto out;
	if (req->renews) {
		ca_info_t old;
		if ((rc = ca_row(ca, req->renews, &old)) != CA_OK) {
			if (rc == CA_ERR_NOTFOUND)
				ca_fail(ca, rc, "renews", "renews: no certificate with that serial");
			goto out;
		}
		if (old.kind != CA_CARD || old.purpose != req->purpose || strcmp(old.holder, h->id)) {
			rc = ca_fail(ca, CA_ERR_POLICY, "renews",
				     "renews: not %s's card %s certificate", h->id,
				     req->purpose == CA_AUTH ? "auth" : "sign");
			goto out;
		}
	}
	if ((rc = draw_serial(ca, &s)) != CA_OK)
		goto out;
	draw_cn(ca, cn);
	subj = card_subject(cn, req->purpose == CA_SIGN ? h->pref : NULL,
			    req->purpose == CA_SIGN ? h->city : NULL);
	if (!subj || (req->purpose == CA_SIGN && !(san = holder_san(h)))) {
		rc = ca_fail(ca, CA_ERR_CRYPTO, NULL, "building the subject failed");
		goto out;
	}
	if ((rc = make_cert(ca, req->purpose, CA_CARD, s, subj, &pub, now, na, san, &cert,
			    &cn_len)) != CA_OK ||
	    (rc = ca_insert(ca, s, req->purpose, h->id, CA_CARD, cert, cn_len, now, na, NULL)) !=
		    CA_OK)
		goto out;
	/* Renewal revokes the old card certificate and, by the linkage
	 * (MODELLED ASSUMPTION), its phone certificates: superseded. */
	if (req->renews && (rc = ca_revoke_in_tx(ca, req->renews, CA_REASON_SUPERSEDED)) != CA_OK)
		goto out;
	if ((rc = ca_save_rng(ca)) != CA_OK)
		goto out;
	rc = ca_commit(ca);
out:
	if (rc != CA_OK) {
		ca_rollback(ca);
		ca->rng = saved;
		free(cert);
	} else
		out_cert(s, cert, cn_len, serial, der, n);
	X509_EXTENSION_free(san);
	X509_NAME_free(subj);
	return rc;
}

int ca_import_card(ca_t *ca, const char *holder, const uint8_t *der, size_t n, uint64_t *serial)
{
	size_t used = 0;
	X509 *x = NULL;
	uint8_t *have = NULL;
	size_t hn;
	uint64_t s = 0;
	int64_t nb = 0, na = 0;
	int which = -1, rc;

	if (!ca)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if ((rc = ca_local_only(ca, "ca_import_card")) != CA_OK)
		return rc;
	if (!holder_id_ok(holder))
		return ca_fail(ca, CA_ERR_ARG, "holder", "holder: 1-63 of A-Z a-z 0-9 . _ -");
	if (!der || !n || !(x = dcache_cert(der, n, &used)) || used != n) {
		X509_free(x);
		return ca_fail(ca, CA_ERR_ARG, "der", "der: not a DER certificate");
	}
	for (int i = 0; i < 2; i++)
		if (!X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca->cert[i])) &&
		    X509_verify(x, X509_get0_pubkey(ca->cert[i])) == 1)
			which = i;
	if (which < 0)
		rc = ca_fail(ca, CA_ERR_CHAIN, "der", "der: not issued by the auth or the sign CA");
	else if (ASN1_INTEGER_get_uint64(&s, X509_get0_serialNumber(x)) != 1 || !s || s > INT64_MAX)
		rc = ca_fail(ca, CA_ERR_ARG, "der", "der: serial out of this CA's range");
	else if (ca_asn1_time(X509_get0_notBefore(x), &nb) < 0 ||
		 ca_asn1_time(X509_get0_notAfter(x), &na) < 0)
		rc = ca_fail(ca, CA_ERR_ARG, "der", "der: bad validity");
	else
		rc = CA_OK;
	X509_free(x);
	if (rc != CA_OK || (rc = ca_begin(ca)) != CA_OK)
		return rc;
	rc = ca_der(ca, s, &have, &hn);
	if (rc == CA_OK) {
		ca_info_t row;
		if (hn != n || memcmp(have, der, n) || ca_row(ca, s, &row) != CA_OK ||
		    strcmp(row.holder, holder) || row.kind != CA_CARD)
			rc = ca_fail(ca, CA_ERR_EXISTS, "der", "der: another certificate has serial %016llX",
				     (unsigned long long)s);
		free(have);
	} else if (rc == CA_ERR_NOTFOUND)
		rc = ca_insert(ca, s, (enum ca_purpose)which, holder, CA_CARD, der, n, nb, na, NULL);
	if (rc != CA_OK) {
		ca_rollback(ca);
		return rc;
	}
	if ((rc = ca_commit(ca)) == CA_OK && serial)
		*serial = s;
	return rc;
}

/* ------------------------------------------------------------ phone certificates */

static int check_sig(ca_t *ca, X509 *card, const uint8_t *tbs, size_t n, ca_blob_t sig)
{
	if (mut_on(MUT_ANY_CARD_SIG))
		return CA_OK;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(card)) == 1 &&
		 EVP_DigestVerify(md, sig.p, sig.n, tbs, n) == 1;

	EVP_MD_CTX_free(md);
	return ok ? CA_OK
		  : ca_fail(ca, CA_ERR_SIGNATURE, "signature",
			    "signature: does not verify with the card certificate's key");
}

/* A replay: the certificate issued for the same request. */
static int find_request(ca_t *ca, const uint8_t h[32], uint64_t *serial)
{
	sqlite3_stmt *s = ca_stmt(ca, ST_BY_REQUEST);
	int rc;

	if (!s)
		return CA_ERR_DB;
	sqlite3_bind_blob(s, 1, h, 32, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*serial = (uint64_t)sqlite3_column_int64(s, 0);
		rc = CA_OK;
	} else
		rc = rc == SQLITE_DONE ? CA_ERR_NOTFOUND : ca_db_fail(ca, "select");
	sqlite3_reset(s);
	return rc;
}

/* The card certificate of serial, parsed once: a row's DER never
 * changes, so a small cache keyed by serial stays right. */
static int card_x509(ca_t *ca, uint64_t serial, X509 **out)
{
	uint8_t *der;
	size_t n;
	X509 *x;
	int rc, i;

	for (i = 0; i < CA_CACHE; i++)
		if (ca->cache[i].x && ca->cache[i].serial == serial) {
			*out = ca->cache[i].x;
			return CA_OK;
		}
	if ((rc = ca_der(ca, serial, &der, &n)) != CA_OK)
		return rc;
	x = dcache_cert(der, n, NULL);
	free(der);
	if (!x)
		return ca_fail(ca, CA_ERR_DB, NULL, "stored certificate %016llX does not parse",
			       (unsigned long long)serial);
	i = (int)(ca->cache_next++ % CA_CACHE);
	X509_free(ca->cache[i].x);
	memset(&ca->cache[i], 0, sizeof ca->cache[i]);
	ca->cache[i].serial = serial;
	ca->cache[i].x = x;
	*out = x;
	return CA_OK;
}

int ca_verify_card(ca_t *ca, uint64_t card_serial, const uint8_t *msg, size_t n,
		   const uint8_t *sig, size_t sn, ca_info_t *card)
{
	ca_info_t row;
	X509 *cx;
	ca_blob_t s = { sig, sn };
	int rc;

	if (!ca)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if (CA_REMOTE(ca, verify_card))
		return ca->remote->verify_card(ca, ca->remote_impl, card_serial, msg, n, sig, sn, card);
	if (!msg || !sig || !sn || sn > SIG_MAX)
		return ca_fail(ca, CA_ERR_ARG, msg ? "signature" : "message", "%s: missing",
			       msg ? "signature" : "message");
	if ((rc = ca_row(ca, card_serial, &row)) != CA_OK) {
		if (rc == CA_ERR_NOTFOUND)
			ca_fail(ca, rc, "card_serial", "card_serial: no certificate %016llX",
				(unsigned long long)card_serial);
		return rc;
	}
	if (row.kind != CA_CARD)
		return ca_fail(ca, CA_ERR_POLICY, "card_serial", "card_serial: not a card certificate");
	if (row.status != CA_VALID)
		return ca_fail(ca, CA_ERR_STATE, "card_serial", "card_serial: the card certificate is %s",
			       ca_status_name(row.status));
	if ((rc = card_x509(ca, card_serial, &cx)) != CA_OK ||
	    (rc = verify_chain(ca, row.purpose, cx, "card_serial")) != CA_OK ||
	    (rc = check_sig(ca, cx, msg, n, s)) != CA_OK)
		return rc;
	if (card)
		*card = row;
	return CA_OK;
}

static int check_phone_req(ca_t *ca, const ca_phone_req_t *r)
{
	if (r->purpose != CA_AUTH && r->purpose != CA_SIGN)
		return ca_fail(ca, CA_ERR_ARG, "purpose", "purpose: auth or sign");
	if (!r->card_serial || r->card_serial > INT64_MAX)
		return ca_fail(ca, CA_ERR_ARG, "card_serial", "card_serial: missing or out of range");
	if (!r->nonce.p || r->nonce.n < NONCE_MIN || r->nonce.n > NONCE_MAX)
		return ca_fail(ca, CA_ERR_ARG, "nonce", "nonce: %d to %d bytes", NONCE_MIN, NONCE_MAX);
	if (!r->signature.p || !r->signature.n || r->signature.n > SIG_MAX)
		return ca_fail(ca, CA_ERR_ARG, "signature", "signature: 1 to %d bytes", SIG_MAX);
	return CA_OK;
}

int ca_issue_phone(ca_t *ca, const ca_phone_req_t *req, uint64_t *serial, uint8_t **der, size_t *n)
{
	ca_info_t card;
	rng_t saved;
	rsa_pub_t pub;
	X509 *cx = NULL;
	X509_NAME *subj = NULL;
	uint8_t *tbs = NULL, *cert = NULL, h[32];
	size_t tn = 0, len = 0;
	uint64_t s = 0;
	int64_t now;
	char cn[2 * CN_BYTES + 1];
	int rc;

	if (!ca || !req)
		return CA_ERR_ARG;
	ca_clear_error(ca);
	if (CA_REMOTE(ca, issue_phone))
		return ca->remote->issue_phone(ca, ca->remote_impl, req, serial, der, n);
	if ((rc = check_phone_req(ca, req)) != CA_OK || (rc = parse_spki(ca, req->spki, &pub)) != CA_OK)
		return rc;
	if ((rc = ca_phone_tbs(req, &tbs, &tn)) != CA_OK)
		return ca_fail(ca, rc, NULL, "building the request failed");
	SHA256(tbs, tn, h);
	now = ca_now(ca);
	saved = ca->rng;
	if ((rc = ca_begin(ca)) != CA_OK)
		goto out;

	/* The authorising card certificate: one of ours, a card sign one. */
	if ((rc = ca_row(ca, req->card_serial, &card)) != CA_OK) {
		if (rc == CA_ERR_NOTFOUND)
			ca_fail(ca, rc, "card_serial", "card_serial: no certificate %016llX",
				(unsigned long long)req->card_serial);
		goto out;
	}
	if (card.kind != CA_CARD || card.purpose != CA_SIGN) {
		rc = ca_fail(ca, CA_ERR_POLICY, "card_serial",
			     "card_serial: a phone certificate is authorised by a card sign certificate");
		goto out;
	}
	if ((rc = card_x509(ca, req->card_serial, &cx)) != CA_OK)
		goto out;
	if ((rc = check_sig(ca, cx, tbs, tn, req->signature)) != CA_OK)
		goto out;
	/* The same request again: the same certificate, nothing new. */
	if ((rc = find_request(ca, h, &s)) == CA_OK) {
		if ((rc = ca_der(ca, s, &cert, &len)) == CA_OK)
			rc = CA_REPLAYED;
		goto out;
	}
	if (rc != CA_ERR_NOTFOUND)
		goto out;
	if (card.status != CA_VALID) {
		rc = ca_fail(ca, CA_ERR_STATE, "card_serial", "card_serial: the card certificate is %s",
			     ca_status_name(card.status));
		goto out;
	}
	if ((rc = verify_chain(ca, CA_SIGN, cx, "card_serial")) != CA_OK ||
	    (rc = draw_serial(ca, &s)) != CA_OK)
		goto out;
	draw_cn(ca, cn);
	subj = req->purpose == CA_SIGN ? phone_subject(cx, cn) : card_subject(cn, NULL, NULL);
	if (!subj) {
		rc = ca_fail(ca, CA_ERR_CRYPTO, NULL, "building the subject failed");
		goto out;
	}
	/* The phone sign certificate carries the card's 4 attributes. */
	{
		int i = req->purpose == CA_SIGN ? X509_get_ext_by_NID(cx, NID_subject_alt_name, -1) : -1;
		rc = make_cert(ca, req->purpose, CA_PHONE, s, subj, &pub, now, card.not_after,
			       i >= 0 ? X509_get_ext(cx, i) : NULL, &cert, &len);
	}
	if (rc != CA_OK ||
	    (rc = ca_insert(ca, s, req->purpose, card.holder, CA_PHONE, cert, len, now, card.not_after,
			    h)) != CA_OK ||
	    /* MODELLED ASSUMPTION: the linkage card serial -> phone serial. */
	    (rc = ca_link(ca, req->card_serial, s)) != CA_OK || (rc = ca_save_rng(ca)) != CA_OK)
		goto out;
	rc = ca_commit(ca);
out:
	if (rc == CA_REPLAYED) {
		ca_rollback(ca); /* read only */
		ca->rng = saved;
		out_cert(s, cert, len, serial, der, n);
	} else if (rc != CA_OK) {
		ca_rollback(ca);
		ca->rng = saved;
		free(cert);
	} else
		out_cert(s, cert, len, serial, der, n);
	X509_NAME_free(subj);
	free(tbs);
	return rc;
}
