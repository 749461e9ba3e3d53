/* mkcorpus.c — writes the committed seed corpora (tests/fuzz/corpus/NAME),
 * deterministically: `fuzz_mkcorpus tests/fuzz/corpus` (gen-corpus.sh).
 *
 * The binary targets' seeds are records (fuzz.h) of the APDUs the unit
 * tests send.  The SE seeds are run on a live SE while they are written,
 * as fuzz_se will run them: the applet's key pairs are generated from the
 * profile's key pool by the fixed seed, so a certificate made here for
 * the public key a STORE DATA returned matches on replay too, and the
 * applet reaches ACTIVE slots, PIN checks and signatures.  The NVM seeds
 * are images of the cards and SEs these seeds leave behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hil/fixtures/profile.h"
#include "hil/svc/tsm_world.h"
#include "sim/core/apdu.h"
#include "sim/gp/gpdm.h"
#include "tests/fuzz/host.h"

typedef struct buf {
	uint8_t *p;
	size_t n, cap;
} buf_t;

static const char *out_dir;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_mkcorpus: %s\n", what);
	exit(1);
}

static void put(buf_t *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		if (!(b->p = realloc(b->p, b->cap)))
			die("out of memory");
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	long n = apdu_unhex(hex, out, cap);

	if (n < 0)
		die(hex);
	return (size_t)n;
}

static void put_hex(buf_t *b, const char *hex)
{
	static uint8_t tmp[4096];

	put(b, tmp, unhex(hex, tmp, sizeof tmp));
}

static void rec(buf_t *b, uint8_t op, const uint8_t *p, size_t n)
{
	uint8_t h[3] = { op, (uint8_t)(n >> 8), (uint8_t)n };

	put(b, h, 3);
	put(b, p, n);
}

static void rec_hex(buf_t *b, uint8_t op, const char *hex)
{
	static uint8_t tmp[4096];

	rec(b, op, tmp, unhex(hex, tmp, sizeof tmp));
}

static void save(const char *target, const char *name, buf_t *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", out_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
	if (!(f = fopen(path, "wb")) || fwrite(b->p, 1, b->n, f) != b->n || fclose(f) != 0)
		die(path);
	b->n = 0;
}

static void read_file(buf_t *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t tmp[4096];
	size_t n;

	if (!f)
		die(path);
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		put(b, tmp, n);
	fclose(f);
}

static void fixture(buf_t *b, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", profile_fixtures_dir(), rel);
	read_file(b, path);
}

/* ---- APDUs and TLVs ---- */

static const char *const apdus[] = {
	"00A4040C0AD392F000260100000001", "00A4020C020006", "00B0000000", "00B07FFF00",
	"0020008000", "002000800431323334", "802A00801430313233343536373839", "00A4040C0AD3921000310001010408",
	"00B00000000100", "0084000000000100", "80CA9F7F00", "80F28002024F0000", "00", "00A4",
	"00A40400", "00A4040000", "00A4040C00000A0102030405060708090A", "0070000001", "0070800100",
};

static void seeds_apdu(buf_t *b)
{
	char name[32];

	for (size_t i = 0; i < sizeof apdus / sizeof *apdus; i++) {
		put_hex(b, apdus[i]);
		snprintf(name, sizeof name, "seed-%02zu", i);
		save("apdu", name, b);
	}
}

static void seeds_tlv(buf_t *b)
{
	fixture(b, "pki/alice-auth.der");
	save("tlv", "seed-cert", b);
	put_hex(b, "E3254F07D392F0002601009F700101CE0201008408D392F00026010001CC08A000000151000000");
	save("tlv", "seed-get-status", b);
	put_hex(b, "6F108408A000000151000000A5049F6501FF" "5F4E0101" "DF210100" "8100" "9F7F8100");
	save("tlv", "seed-fci", b);
	put_hex(b, "7F4982010A8182010100" "3084000000010001");
	save("tlv", "seed-lengths", b);
}

/* ---- the card ---- */

static void seeds_card(buf_t *b)
{
	static const char *const jpki[] = {
		"00A4040C0AD392F000260100000001", "00A4020C020006", "00B0000000", "00A4020C020018",
		"0020008000", "002000800439393939", "002000800431323334", "00A4020C020017",
		"802A00803330313009060960864801650304020105000420000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F00",
		"00A4020C02000A", "00B0000000", "00B0040000", "00A4020C02001B", "00200080064D594E4148494C31",
		"00A4020C020001", "00B0000000", NULL,
	};
	static const char *const text[] = {
		"00A4040C0AD3921000310001010408", "00A4020C020011", "0020008000", "002000800431323334",
		"00A4020C020001", "00B0000000", "00A4020C020002", "00B0000000", "00A4020C020005", "00B0000000", NULL,
	};
	int i;

	for (i = 0; jpki[i]; i++)
		rec_hex(b, 0, jpki[i]);
	save("card", "seed-jpki", b);
	for (i = 0; text[i]; i++)
		rec_hex(b, 0, text[i]);
	save("card", "seed-text", b);
	/* Wrong PINs with a tear in the middle of the counter's update, then
	 * a reset and the counter read back. */
	rec_hex(b, 0, jpki[0]);
	rec_hex(b, 0, jpki[3]);
	rec_hex(b, 2, "00");
	rec_hex(b, 0, jpki[5]);
	rec_hex(b, 1, "");
	rec_hex(b, 0, jpki[0]);
	rec_hex(b, 0, jpki[3]);
	rec_hex(b, 0, jpki[4]);
	rec_hex(b, 3, "");
	rec_hex(b, 0, jpki[4]);
	save("card", "seed-tear", b);
}

/* ---- the iPhone (fuzz_ios: a provisioned iPhone, fuzz.h) ---- */

static void seeds_ios(buf_t *b)
{
	static const char *const wire[] = {
		"00A4040C0AD392F000260100000001", "00A4020C020006", "00B0000020", "80FC0000", "00A4020C02000A",
		"00B0000004", "00A4020C020018", "002000800430303030", "00A4020C02000A", "00B0000000",
		"00A4020C02001B", "002000800A4950484F4E4532303236", "00A4020C02001A",
		"802A00803330313009060960864801650304020105000420000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F00",
		NULL,
	};
	int i;

	for (i = 0; wire[i]; i++)
		rec_hex(b, 0, wire[i]);
	save("ios", "seed-wire", b);
	/* Each biometric state in front of the auth PIN, wrong PINs, a tear
	 * in the middle of the counter's update, the retries query after. */
	for (i = 0; i < 4; i++) {
		rec_hex(b, 4, i == 0 ? "00" : i == 1 ? "01" : i == 2 ? "02" : "03");
		rec_hex(b, 0, wire[0]);
		rec_hex(b, 0, "002000980431313131");
	}
	rec_hex(b, 2, "00");
	rec_hex(b, 0, "002000980431313131");
	rec_hex(b, 0, wire[0]);
	rec_hex(b, 0, "00200098");
	rec_hex(b, 9, "1357");
	rec_hex(b, 0, "002000980431333537");
	save("ios", "seed-biometrics", b);
	/* The device side: keygen, attestation, factory reset, removal. */
	rec_hex(b, 5, "01");
	rec_hex(b, 8, "6368616C6C656E6765");
	rec_hex(b, 6, "");
	rec_hex(b, 0, wire[0]);
	rec_hex(b, 7, "");
	rec_hex(b, 0, wire[0]);
	rec_hex(b, 2, "03");
	rec_hex(b, 5, "00");
	save("ios", "seed-device", b);
}

/* ---- the SE, live ---- */

typedef struct live {
	fz_sim_t sim;
	fz_host_t h;
	buf_t in;
} live_t;

static live_t *live_new(uint8_t b0)
{
	live_t *l = calloc(1, sizeof *l);

	if (!l)
		die("out of memory");
	fz_sim_init(&l->sim, NULL);
	if (fz_se_new(&l->h.se, &l->sim) != SIM_OK)
		die("the default SE does not build");
	fz_host_start(&l->h, b0);
	put(&l->in, &b0, 1);
	return l;
}

/* One step, written and run; returns the SW of the answer. */
static uint16_t step(live_t *l, uint8_t op, const uint8_t *p, size_t n)
{
	fz_rec_t r = { op, p, n };

	rec(&l->in, op, p, n);
	l->h.rsplen = 0;
	fz_host_step(&l->h, l->sim.ctx.nvm, &r);
	if (getenv("MKCORPUS_TRACE")) {
		char h[64];
		apdu_hex(p, n < 24 ? n : 24, h);
		fprintf(stderr, "%d %s -> %04X\n", op, h, apdu_sw(l->h.rsp, l->h.rsplen));
	}
	return apdu_sw(l->h.rsp, l->h.rsplen);
}

static uint16_t step_hex(live_t *l, uint8_t op, const char *hex)
{
	static uint8_t tmp[4096];

	return step(l, op, tmp, unhex(hex, tmp, sizeof tmp));
}

static void live_free(live_t *l, const char *target, const char *name)
{
	if (target)
		save(target, name, &l->in);
	free(l->in.p);
	fz_host_close(&l->h);
	sim_se_free(l->h.se);
	fz_sim_done(&l->sim);
	free(l);
}

#define PKG "07D392F000260100"
#define MOD "08D392F00026010001"
#define AID "0AD392F000260100000001"

static void load_install(live_t *l)
{
	step_hex(l, 0, "80E602000C" PKG "0000000000");
	step_hex(l, 0, "80E8000004C406DEAD00");
	step_hex(l, 0, "80E8800104BEEF010200");
	step_hex(l, 0, "80E60C0022" PKG MOD AID "010002C9000000");
}

static void perso(live_t *l)
{
	step_hex(l, 0, "80E6200010" "0000" AID "00000000");
}

/* INSTALL [for personalization], then STORE DATA of a DGI in blocks of
 * 200 bytes (P1 08, the last 88): a DGI may span blocks. */
static uint16_t store(live_t *l, uint16_t dgi, const uint8_t *v, size_t n)
{
	uint8_t *all = malloc(n + 5), cmd[5 + 200];
	size_t k, off = 0;
	uint16_t sw = 0;

	if (!all)
		die("out of memory");
	/* The long length form (FF LL LL) the applet takes for any length. */
	all[0] = (uint8_t)(dgi >> 8);
	all[1] = (uint8_t)dgi;
	all[2] = 0xFF;
	all[3] = (uint8_t)(n >> 8);
	all[4] = (uint8_t)n;
	if (n)
		memcpy(all + 5, v, n);
	k = n + 5;
	perso(l);
	for (uint8_t blk = 0; off < k; blk++) {
		size_t m = k - off < 200 ? k - off : 200;
		cmd[0] = 0x80;
		cmd[1] = 0xE2;
		cmd[2] = off + m == k ? 0x88 : 0x08;
		cmd[3] = blk;
		cmd[4] = (uint8_t)m;
		memcpy(cmd + 5, all + off, m);
		sw = step(l, 0, cmd, 5 + m);
		off += m;
	}
	free(all);
	return sw;
}

/* A certificate of the public key the SE just returned (SPKI DER), signed
 * by pool key 05: the applet only checks that the keys match. */
static void cert_for(const uint8_t *spki, size_t n, buf_t *out)
{
	const uint8_t *q = spki;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &q, (long)n), *ca = NULL;
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	char path[4096];
	uint8_t *der = NULL;
	FILE *f;
	int len = 0; /* clang cannot see that die() does not return */

	snprintf(path, sizeof path, "%s/keys/pool-05.pem", profile_fixtures_dir());
	if ((f = fopen(path, "r"))) {
		ca = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!pub || !ca || !x || !nm)
		die("cannot make a certificate for the generated key");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	ASN1_TIME_set_string(X509_getm_notBefore(x), "20250101000000Z");
	ASN1_TIME_set_string(X509_getm_notAfter(x), "20350101000000Z");
	X509_set_pubkey(x, pub);
	if (!X509_sign(x, ca, EVP_sha256()) || (len = i2d_X509(x, &der)) <= 0)
		die("cannot sign the certificate");
	put(out, der, (size_t)len);
	OPENSSL_free(der);
	X509_NAME_free(nm);
	X509_free(x);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(ca);
}

/* Both slots: key generated, certified, CA certificate, PIN. */
static void issue(live_t *l)
{
	static const char *const pins[] = { "31323334", "414243313233" };
	buf_t cert = { 0 }, ca = { 0 };
	uint8_t pin[16];

	fixture(&ca, "pki/auth-ca.der");
	for (uint8_t slot = 1; slot <= 2; slot++) {
		if (store(l, (uint16_t)(0x0100 | slot), NULL, 0) == SW_OK && l->h.rsplen > 2)
			cert_for(l->h.rsp, l->h.rsplen - 2, &cert);
		store(l, (uint16_t)(0x0200 | slot), cert.p, cert.n);
		store(l, (uint16_t)(0x0300 | slot), ca.p, ca.n);
		store(l, (uint16_t)(0x8100 | slot), pin, unhex(pins[slot - 1], pin, sizeof pin));
		cert.n = 0;
	}
	free(cert.p);
	free(ca.p);
}

/* The applet in use over the contactless path: read, PIN, sign. */
static void use(live_t *l)
{
	step_hex(l, 1, "00A4040C" AID);
	step_hex(l, 1, "00A4020C020006");
	step_hex(l, 1, "00B0000000");
	step_hex(l, 1, "00A4020C020018");
	step_hex(l, 1, "002000800431323334");
	step_hex(l, 1, "00A4020C020017");
	step_hex(l, 1, "802A00803330313009060960864801650304020105000420000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F00");
	step_hex(l, 1, "00A4020C02000A");
	step_hex(l, 1, "00B0000000");
}

static void seeds_se(void)
{
	live_t *l;
	int i;

	/* Each level, S8 and S16, channel 0 and 1: the inventory a TSM reads. */
	for (i = 0; i < 12; i++) {
		char name[32];
		l = live_new((uint8_t)(i % 6 | (i >= 6 ? 0x08 : 0x00) | (i % 2 ? 0x10 : 0x00)));
		step_hex(l, 0, "80F28002024F0000");
		step_hex(l, 0, "80F24002024F0000");
		step_hex(l, 0, "80CA006600");
		step_hex(l, 0, "80CA9F7F00");
		snprintf(name, sizeof name, "seed-level-%02d", i);
		live_free(l, "se", name);
	}
	/* LOAD in blocks, INSTALL, personalisation, use, DELETE. */
	l = live_new(5);
	load_install(l);
	issue(l);
	store(l, 0x0600, NULL, 0);
	use(l);
	step_hex(l, 1, "00A4040008A000000151000000");
	step_hex(l, 5, "05");
	step_hex(l, 0, "80E40080" "0C4F" AID);
	live_free(l, "se", "seed-issue-use-delete");
	/* The same with tears: during LOAD, INSTALL and the first keys. */
	for (i = 0; i < 3; i++) {
		char name[32];
		uint8_t k = (uint8_t)(i * 2);
		l = live_new(5);
		step_hex(l, 0, "80F28002024F0000"); /* the session opens: its writes are not torn */
		if (i == 0)
			step(l, 2, &k, 1);
		step_hex(l, 0, "80E602000C" PKG "0000000000");
		step_hex(l, 0, "80E8000004C406DEAD00");
		if (i == 1)
			step(l, 2, &k, 1);
		step_hex(l, 0, "80E8800104BEEF010200");
		step_hex(l, 0, "80E60C0022" PKG MOD AID "010002C9000000");
		if (i == 2)
			step(l, 2, &k, 1);
		issue(l);
		step_hex(l, 3, "");
		step_hex(l, 0, "80F24002024F0000");
		snprintf(name, sizeof name, "seed-tear-%d", i);
		live_free(l, "se", name);
	}
	/* FeliCa: Polling, Request Service, Read Without Encryption. */
	l = live_new(0);
	step_hex(l, 4, "0600FFFF0100");
	if (l->h.rsplen >= 10) {
		char hex[128], idm[17];
		apdu_hex(l->h.rsp + 2, 8, idm);
		snprintf(hex, sizeof hex, "0D02%s010B00", idm);
		step_hex(l, 4, hex);
		snprintf(hex, sizeof hex, "1006%s010B00018000", idm);
		step_hex(l, 4, hex);
	}
	live_free(l, "se", "seed-felica");
}

/* Supplementary security domains (issue 16): the ISD gets a receipt
 * key, installs an SSD and gives it the default key set (so the host's
 * next session on it opens), locks and unlocks it with its applications
 * (SET STATUS 60), hands it the applet (extradition); the SSD then
 * manages content: with Authorized Management it loads and installs, with
 * Delegated Management a command without a valid token is refused. */
static void ssd_setup(live_t *l, uint8_t p0, uint8_t p1)
{
	static const uint8_t rkey[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	const se_keyset_t *k = &fz_se_profile()->keysets[0];
	uint8_t apdu[300], aid[7] = { 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x53, 0x44 }, priv[3] = { p0, p1, 0 };
	gpdm_install_t in;
	size_t n;

	if (gpdm_put_aes_key(0, GPDM_KVN_RECEIPT, rkey, 16, k->dek, k->key_len, apdu, sizeof apdu, &n))
		die("gpdm_put_aes_key");
	step(l, 0, apdu, n);
	if (gpdm_install_sd(aid, sizeof aid, priv, NULL, 0, apdu, sizeof apdu, &n))
		die("gpdm_install_sd");
	step(l, 0, apdu, n);
	memset(&in, 0, sizeof in);
	in.p1 = GPDM_INSTALL_PERSO;
	in.app = (gpdm_bytes_t){ aid, sizeof aid };
	if (gpdm_install_apdu(&in, NULL, 0, apdu, sizeof apdu, &n))
		die("gpdm_install_apdu");
	step(l, 0, apdu, n);
	if (gpdm_put_keyset(0, k->kvn, k->enc, k->mac, k->dek, k->key_len, k->dek, k->key_len, apdu, sizeof apdu, &n))
		die("gpdm_put_keyset");
	step(l, 0, apdu, n);
	step_hex(l, 0, "80F0608007D392F000265344");
	step_hex(l, 0, "80F0600007D392F000265344");
}

static void seeds_ssd(void)
{
	live_t *l = live_new(3);

	ssd_setup(l, GPDM_PRIV_SD, GPDM_PRIV2_AUTHORIZED_MGMT);
	load_install(l);
	step_hex(l, 0, "80E6100017" "07D392F000265344" "00" AID "00000000");
	step_hex(l, 1, "00A4040007D392F000265344");
	step_hex(l, 5, "03");
	step_hex(l, 0, "80F24002024F0000");
	step_hex(l, 0, "80CA00E000");
	step_hex(l, 0, "80E4000006D00102D2013000");
	step_hex(l, 0, "80E40080" "0C4F" AID);
	live_free(l, "se", "seed-ssd-authorized");

	l = live_new(3);
	ssd_setup(l, GPDM_PRIV_SD | GPDM_PRIV_DELEGATED_MGMT | GPDM_PRIV_DAP_VERIFICATION, 0);
	step_hex(l, 1, "00A4040007D392F000265344");
	step_hex(l, 5, "03");
	step_hex(l, 0, "80E602001D" PKG "07D392F000265344" "00" "00" "0A00112233445566778899" "00");
	step_hex(l, 0, "80E40000" "0E4F" AID "9E00");
	step_hex(l, 1, "00A4040008A000000151000000");
	step_hex(l, 5, "03");
	step_hex(l, 0, "80E40000094F07D392F000265344");
	live_free(l, "se", "seed-ssd-delegated");
}

/* ---- NVM images ---- */

static void image(uint8_t kind, nvm_t *nvm, const char *name)
{
	uint8_t *img;
	size_t n;
	buf_t b = { 0 };

	if (nvm_save(nvm, &img, &n) != NVM_OK || n < 15)
		die("nvm_save");
	put(&b, &kind, 1);
	put(&b, img + 7, n - 15); /* without magic, version and checksum */
	save("nvm", name, &b);
	free(img);
	free(b.p);
}

static void seeds_nvm(void)
{
	live_t *l;
	fz_sim_t s;
	sim_card_t *c;
	uint8_t k = 3;

	fz_sim_init(&s, NULL);
	if (fz_card_new(&c, &s) != SIM_OK)
		die("the default card does not build");
	image(0, s.ctx.nvm, "seed-card");
	sim_card_free(c);
	fz_sim_done(&s);
	l = live_new(5);
	image(1, l->sim.ctx.nvm, "seed-se");
	load_install(l);
	issue(l);
	image(1, l->sim.ctx.nvm, "seed-se-issued");
	/* Torn in the middle of a DELETE: the journal is in the image. */
	step(l, 2, &k, 1);
	step_hex(l, 0, "80E40080" "0C4F" AID);
	image(1, l->sim.ctx.nvm, "seed-se-torn");
	live_free(l, NULL, NULL);
	/* An SSD with its keys, a receipt key and content of its own. */
	l = live_new(3);
	ssd_setup(l, GPDM_PRIV_SD, GPDM_PRIV2_AUTHORIZED_MGMT);
	load_install(l);
	image(1, l->sim.ctx.nvm, "seed-se-ssd");
	live_free(l, NULL, NULL);
}

/* ---- the framings ---- */

static void vpcd_frame(buf_t *b, const char *hex)
{
	uint8_t tmp[300];
	size_t n = unhex(hex, tmp, sizeof tmp);
	uint8_t h[2] = { (uint8_t)(n >> 8), (uint8_t)n };

	put(b, h, 2);
	put(b, tmp, n);
}

static void seeds_vpcd(buf_t *b)
{
	for (int chunk = 0; chunk < 3; chunk++) {
		char name[32];
		uint8_t c = (uint8_t)(chunk * 3);
		put(b, &c, 1);
		vpcd_frame(b, "01");
		vpcd_frame(b, "04");
		vpcd_frame(b, "00A4040C0AD392F000260100000001");
		vpcd_frame(b, "00A4020C020006");
		vpcd_frame(b, "00B0000000");
		vpcd_frame(b, "02");
		vpcd_frame(b, "00");
		vpcd_frame(b, "00B0000000");
		snprintf(name, sizeof name, "seed-%d", chunk);
		save("vpcd", name, b);
	}
}

/* A PN532 normal information frame from the host: TFI D4 and body. */
static void pn532_frame(buf_t *b, const char *body_hex)
{
	uint8_t d[300], h[5] = { 0x00, 0x00, 0xFF };
	size_t n = unhex(body_hex, d + 1, sizeof d - 1) + 1;
	uint8_t sum = 0, t[2];

	d[0] = 0xD4;
	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + d[i]);
	h[3] = (uint8_t)n;
	h[4] = (uint8_t)-n;
	put(b, h, 5);
	put(b, d, n);
	t[0] = (uint8_t)-sum;
	t[1] = 0x00;
	put(b, t, 2);
}

static void seeds_pn532(buf_t *b)
{
	static const uint8_t head[2] = { 0, 0 }, split[2] = { 7, 0x80 };
	static const uint8_t ack[] = { 0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00 };
	static const uint8_t wake[] = { 0x55, 0x55, 0x00, 0x00, 0x00, 0x00 };

	for (int i = 0; i < 3; i++) {
		char name[32];
		put(b, i == 2 ? split : head, 2);
		put(b, wake, sizeof wake);
		pn532_frame(b, "02");
		pn532_frame(b, "140114");
		if (i == 1) {
			/* FeliCa and Type A: the SE. */
			pn532_frame(b, "4A010100FFFF0100");
			pn532_frame(b, "4A0100");
			pn532_frame(b, "40" "01" "00A4040C0AD392F000260100000001");
			pn532_frame(b, "5201");
		} else {
			/* Type B: the card. */
			pn532_frame(b, "4A010300");
			pn532_frame(b, "40" "01" "00A4040C0AD392F000260100000001");
			pn532_frame(b, "40" "01" "00A4020C020006");
			pn532_frame(b, "40" "01" "00B0000000");
			pn532_frame(b, "4201" "00B0000000");
			pn532_frame(b, "04");
		}
		put(b, ack, sizeof ack);
		pn532_frame(b, "3201");
		snprintf(name, sizeof name, "seed-%d", i);
		save("pn532", name, b);
	}
}

/* ---- text: HTTP requests and profiles ---- */

/* Requests separated by NULs (fuzz_http.c); sizeof keeps the inner ones. */
#define SEED(name, text) { name, text, sizeof text - 1 }
static const struct {
	const char *name, *text;
	size_t n;
} http_seeds[] = {
	SEED("clock", "GET /v1/clock\n\0POST /v1/clock\n{\"advance\":86400}\0POST /v1/clock\n{\"now\":\"20270101000000Z\"}"),
	SEED("certs", "GET /v1/holders/alice/certs\n\0GET /v1/linkage/0700A002\n\0GET /v1/certs/0700A002\n\0"
		   "GET /v1/certs/0700A002/der\n\0GET /crl/auth.crl\n\0GET /crl/sign.crl\n"),
	SEED("revoke", "POST /v1/certs/0700A002/hold\n{}\0POST /v1/certs/0700A002/lift\n\0"
		    "POST /v1/certs/0700A002/revoke\n{\"reason\":\"keyCompromise\"}\0GET /v1/certs/0700A002\n"),
	SEED("tbs", "POST /v1/phone-certs/tbs\n{\"card_serial\":\"0700A002\",\"purpose\":\"auth\",\"spki\":\"MA==\",\"nonce\":\"AAEC\"}\0"
		 "POST /v1/phone-certs\n{\"card_serial\":\"0700A002\",\"purpose\":\"sign\",\"spki\":\"MA==\",\"nonce\":\"AAEC\",\"signature\":\"AA==\"}"),
	SEED("card-certs", "POST /v1/card-certs\n{\"holder\":\"dan\",\"purpose\":\"auth\",\"spki\":\"MA==\",\"birth\":\"19900101\"}\0"
			"POST /v1/card-certs/import\n{\"holder\":\"dan\",\"der\":\"MIIB\"}"),
	SEED("ocsp", "POST /ocsp application/ocsp-request\n0\0GET /ocsp/MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ\n"),
	SEED("tsm", "POST /v1/tsm/sessions\n{\"op\":\"sync\"}\0POST /v1/tsm/sessions\n{\"op\":\"issue\",\"card_serial\":\"0700A002\","
		 "\"pins\":{\"auth\":\"1234\",\"sign\":\"ABC123\"},\"policy\":{\"half_valid\":\"block\"}}\0"
		 "POST /v1/tsm/sessions/S1-x/steps\n{\"step\":1,\"responses\":[\"9000\"]}\0GET /v1/tsm/sessions/S1-x\n\0"
		 "GET /v1/tsm/devices\n\0GET /v1/tsm/check\n\0GET /v1/tsm/events\n\0GET /v1/tsm/stats\n\0"
		 "POST /v1/tsm/callcenter/hold\n{\"holder\":\"alice\"}"),
};

static void seeds_http(buf_t *b)
{
	char name[32];

	for (size_t i = 0; i < sizeof http_seeds / sizeof *http_seeds; i++) {
		put(b, http_seeds[i].text, http_seeds[i].n);
		snprintf(name, sizeof name, "seed-%s", http_seeds[i].name);
		save("http", name, b);
	}
}

/* ---- the Wallet's API (/v1/wallet), live ----
 *
 * A whole issue session, run while it is written in the TSM world
 * fuzz_http opens (the same seed and time: on replay the service draws the
 * same challenge and nonces, so the recorded answers verify again): the
 * iPhone of fz_ios_new and alice's card of fz_card_new answer each action
 * as the Wallet app does (keys and attestation, the card's text after its
 * 入力補助 PIN and its signatures after the sign password, the credential
 * installed), so the fuzzer starts from every step of a provisioning. */

typedef struct wseed {
	tsm_world_t *w;
	buf_t *b;
	sim_card_t *card;
	sim_ios_t *ph;
} wseed_t;

/* One request into the seed (fuzz_http's form) and through the world;
 * the answer's JSON (new). */
static json_t *wcall(wseed_t *x, const char *method, const char *path, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	http_rsp_t rsp = { 0 };
	json_t *j;

	if (x->b->n)
		put(x->b, "", 1); /* the NUL between requests */
	put(x->b, method, strlen(method));
	put(x->b, " ", 1);
	put(x->b, path, strlen(path));
	put(x->b, "\n", 1);
	if (text)
		put(x->b, text, strlen(text));
	tsm_world_call(x->w, method, path, (const uint8_t *)text, text ? strlen(text) : 0, &rsp);
	j = json_loadb((const char *)rsp.body, rsp.len, 0, NULL);
	free(rsp.body);
	free(text);
	json_decref(body);
	if (!j)
		die("wallet seed: an answer that is not JSON");
	return j;
}

static uint16_t card_tx(wseed_t *x, const char *hex, uint8_t *out, size_t *outn)
{
	uint8_t cmd[300], rsp[APDU_MAX_RSP];
	size_t n = unhex(hex, cmd, sizeof cmd), len = 0;

	if (sim_card_transmit(x->card, cmd, n, rsp, sizeof rsp, &len) != SIM_OK || len < 2)
		die("wallet seed: the card is mute");
	if (out) {
		memcpy(out, rsp, len - 2);
		*outn = len - 2;
	}
	return (uint16_t)(rsp[len - 2] << 8 | rsp[len - 1]);
}

static json_t *jhexb(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	json_t *j;

	if (!h)
		die("out of memory");
	apdu_hex(p, n, h);
	j = json_string(h);
	free(h);
	return j;
}

static uint8_t *jbytes(json_t *o, const char *k, size_t *n)
{
	const char *h = json_string_value(json_object_get(o, k));
	uint8_t *p = malloc(h ? strlen(h) / 2 + 1 : 1);

	if (!p || !h)
		die("wallet seed: a field missing");
	*n = unhex(h, p, strlen(h) / 2 + 1);
	return p;
}

/* The app's answer to action a. */
static json_t *wanswer(wseed_t *x, json_t *a)
{
	const char *act = json_string_value(json_object_get(a, "action"));
	json_t *req = json_pack("{s:O}", "step", json_object_get(a, "step")), *v;
	uint8_t out[APDU_MAX_RSP];
	size_t i, n = 0;

	if (!strcmp(act, "attest")) {
		json_t *keys = json_object();
		ios_attestation_t att;
		uint8_t *ch = jbytes(a, "challenge", &n);
		json_array_foreach(json_object_get(a, "keygen"), i, v) {
			int sign = !strcmp(json_string_value(v), "sign");
			size_t kn;
			if (ios_keygen(x->ph, sign ? IOS_SLOT_SIGN : IOS_SLOT_AUTH, out, sizeof out, &kn) != SIM_OK)
				die("wallet seed: keygen");
			json_object_set_new(keys, sign ? "sign" : "auth", jhexb(out, kn));
		}
		if (ios_attest(x->ph, ch, n, &att) != SIM_OK)
			die("wallet seed: attest");
		free(ch);
		json_object_set_new(req, "attestation", json_pack("{s:o, s:o}", "signature", jhexb(att.sig, att.sig_len),
								   "device_cert", jhexb(att.device_cert.p, att.device_cert.n)));
		json_object_set_new(req, "keys", keys);
		json_object_set_new(req, "biometric", json_string("match"));
	} else if (!strcmp(act, "card_sign")) {
		json_t *sigs = json_array();
		char cmd[256];
		/* the text AP's 入力補助 PIN (1234), EF 0002; the sign password */
		if (card_tx(x, "00A4040C0AD3921000310001010408", NULL, NULL) != 0x9000 ||
		    card_tx(x, "00A4020C020011", NULL, NULL) != 0x9000 || card_tx(x, "002000800431323334", NULL, NULL) != 0x9000 ||
		    card_tx(x, "00A4020C020002", NULL, NULL) != 0x9000 || card_tx(x, "00B0000000", out, &n) != 0x9000)
			die("wallet seed: the card's text");
		json_object_set_new(req, "card_text", jhexb(out, n));
		if (card_tx(x, "00A4040C0AD392F000260100000001", NULL, NULL) != 0x9000 ||
		    card_tx(x, "00A4020C02001B", NULL, NULL) != 0x9000 ||
		    card_tx(x, "00200080084D594E4148494C31", NULL, NULL) != 0x9000 ||
		    card_tx(x, "00A4020C02001A", NULL, NULL) != 0x9000)
			die("wallet seed: the card's sign password");
		json_array_foreach(json_object_get(a, "digest_infos"), i, v) {
			snprintf(cmd, sizeof cmd, "802A008033%s00", json_string_value(v));
			if (card_tx(x, cmd, out, &n) != 0x9000)
				die("wallet seed: the card's signature");
			json_array_append_new(sigs, jhexb(out, n));
		}
		json_object_set_new(req, "signatures", sigs);
	} else if (!strcmp(act, "install")) {
		json_t *c = json_object_get(a, "credential");
		ios_cred_t cred = { 0 };
		uint8_t *p[6];
		size_t pn[6];
		static const char *const f[6] = { "device_id", "auth_cert", "auth_ca", "sign_cert", "sign_ca", "signature" };
		for (int k = 0; k < 6; k++)
			p[k] = jbytes(c, f[k], &pn[k]);
		if (pn[0] != IOS_DEVICE_ID_LEN)
			die("wallet seed: device id");
		memcpy(cred.device_id, p[0], IOS_DEVICE_ID_LEN);
		cred.auth_cert = (ios_blob_t){ p[1], pn[1] };
		cred.auth_ca = (ios_blob_t){ p[2], pn[2] };
		cred.sign_cert = (ios_blob_t){ p[3], pn[3] };
		cred.sign_ca = (ios_blob_t){ p[4], pn[4] };
		cred.sig = (ios_blob_t){ p[5], pn[5] };
		json_object_set_new(req, "installed", json_boolean(ios_install(x->ph, &cred, FZ_IOS_AUTH, FZ_IOS_SIGN) == SIM_OK));
		for (int k = 0; k < 6; k++)
			free(p[k]);
	} else if (!strcmp(act, "remove")) {
		json_object_set_new(req, "removed", json_boolean(ios_remove(x->ph) == SIM_OK));
	} else if (!strcmp(act, "erase")) {
		int sign = !strcmp(json_string_value(json_object_get(a, "slot")), "sign");
		json_object_set_new(req, "erased",
				    json_boolean(ios_erase_slot(x->ph, sign ? IOS_SLOT_SIGN : IOS_SLOT_AUTH) == SIM_OK));
	} else {
		die("wallet seed: an action the seed does not answer");
	}
	return req;
}

/* A session to its end (done, else die): op with the body's more fields. */
static void wsession(wseed_t *x, const char *dev, const char *op, const char *more)
{
	json_t *b = json_pack("{s:s, s:s, s:s}", "op", op, "device", dev, "card_serial", "0700A002"), *a;
	char path[128];

	if (more) {
		json_t *m = json_loads(more, 0, NULL);
		json_object_update(b, m);
		json_decref(m);
	}
	a = wcall(x, "POST", "/v1/wallet/sessions", b);
	for (int n = 0; n < 10 && json_string_value(json_object_get(a, "action")); n++) {
		const char *act = json_string_value(json_object_get(a, "action"));
		if (!strcmp(act, "done")) {
			json_decref(a);
			return;
		}
		if (!strcmp(act, "failed"))
			break;
		snprintf(path, sizeof path, "/v1/wallet/sessions/%s/steps", json_string_value(json_object_get(a, "session")));
		b = wanswer(x, a);
		json_decref(a);
		a = wcall(x, "POST", path, b);
	}
	{
		char *t = json_dumps(a, JSON_COMPACT);
		fprintf(stderr, "fuzz_mkcorpus: wallet %s: %s\n", op, t ? t : "?");
	}
	die("wallet seed: the session did not end done");
}

/* The seed as fuzz_http replays it, in a fresh world: the number of
 * sessions the service saw done (the last request is GET stats). */
static long long wreplay(const buf_t *b)
{
	tsm_world_opts_t o = { .seed = 1, .time = "20260105000000Z" };
	tsm_world_t *w;
	char err[512], *text = malloc(b->n + 1), *p;
	http_rsp_t rsp = { 0 };
	long long done = -1;

	if (!text || tsm_world_open(&w, &o, err, sizeof err) < 0)
		die("wallet seed: replay");
	memcpy(text, b->p, b->n);
	text[b->n] = 0;
	p = text;
	while (p < text + b->n) {
		size_t len = strlen(p);
		char *nl = strchr(p, '\n'), *sp = strchr(p, ' ');
		if (!nl || !sp || sp > nl)
			die("wallet seed: a request line");
		*nl = *sp = 0;
		free(rsp.body);
		rsp = (http_rsp_t){ 0 };
		tsm_world_call(w, p, sp + 1, (const uint8_t *)nl + 1, strlen(nl + 1), &rsp);
		p += len + 1;
	}
	{
		json_t *j = json_loadb((const char *)rsp.body, rsp.len, 0, NULL);
		if (json_is_integer(json_object_get(j, "done")))
			done = json_integer_value(json_object_get(j, "done"));
		json_decref(j);
	}
	free(rsp.body);
	free(text);
	tsm_world_close(w);
	return done;
}

static void seeds_wallet(buf_t *b)
{
	tsm_world_opts_t o = { .seed = 1, .time = "20260105000000Z" }; /* fuzz_http's world */
	fz_sim_t cs, ps;
	wseed_t x = { .b = b };
	ios_view_t v;
	char err[512], dev[2 * IOS_DEVICE_ID_LEN + 1];

	fz_sim_init(&cs, NULL);
	fz_sim_init(&ps, NULL);
	if (tsm_world_open(&x.w, &o, err, sizeof err) < 0 || !x.w->wallet)
		die(err);
	if (fz_card_new(&x.card, &cs) != SIM_OK || fz_ios_new(&x.ph, &ps) != SIM_OK)
		die("wallet seed: the card or the iPhone");
	sim_ios_view(x.ph, &v);
	apdu_hex(v.device_id, IOS_DEVICE_ID_LEN, dev);
	/* issue, then revoke the sign pair alone (half-valid, erased) and the
	 * rest, then a check-in */
	wsession(&x, dev, "issue", "{\"liveness\":\"pass\"}");
	wsession(&x, dev, "revoke", "{\"certs\":\"sign\",\"policy\":{\"half_valid\":\"erase_revoked\"}}");
	wsession(&x, dev, "revoke", "{\"reason\":\"cessationOfOperation\"}");
	json_decref(wcall(&x, "GET", "/v1/wallet/stats", NULL));
	/* replayed, the recorded answers must take the service as far */
	if (wreplay(b) != 3)
		die("wallet seed: the replay does not reach the three sessions' end");
	save("http", "seed-wallet", b);
	/* refusals: each field named, a step out of turn, an unknown session */
	{
		static const char *const bad[] = {
			"{\"op\":\"fly\"}", "{\"op\":\"issue\",\"device\":\"00\",\"card_serial\":\"0700A002\",\"liveness\":\"pass\"}",
			"{\"op\":\"issue\",\"card_serial\":\"0700A002\"}", "{\"op\":\"revoke\",\"card_serial\":\"0700A002\",\"certs\":\"x\"}",
			"{\"op\":\"pin_reset\",\"card_serial\":\"0700A002\",\"slot\":\"auth\"}",
			"{\"op\":\"issue\",\"card_serial\":\"0700A002\",\"liveness\":\"fail\"}", "{\"op\":\"sync\"}", NULL,
		};
		for (int i = 0; bad[i]; i++) {
			json_t *j = json_loads(bad[i], 0, NULL);
			if (!json_object_get(j, "device") && strcmp(json_string_value(json_object_get(j, "op")), "fly"))
				json_object_set_new(j, "device", json_string(dev));
			json_decref(wcall(&x, "POST", "/v1/wallet/sessions", j));
		}
		json_decref(wcall(&x, "POST", "/v1/wallet/sessions/W000001-00000000/steps", json_pack("{s:i}", "step", 1)));
		json_decref(wcall(&x, "GET", "/v1/wallet/sessions/W000001-00000000", NULL));
		json_decref(wcall(&x, "POST", "/v1/tsm/platform/intents/wallet:x/undo", json_object()));
		save("http", "seed-wallet-refusals", b);
	}
	b->n = 0;
	tsm_world_close(x.w);
	sim_card_free(x.card);
	sim_ios_free(x.ph);
	fz_sim_done(&cs);
	fz_sim_done(&ps);
}

static void seeds_profiles(buf_t *b)
{
	static const char *const card[] = { "default", "alice", "bob", "chika" };
	static const char *const se[] = { "default", "kaoh-aes192", "kaoh-get-status", "kaoh-delete" };
	char rel[256];

	for (size_t i = 0; i < 4; i++) {
		snprintf(rel, sizeof rel, "profiles/%s.lua", card[i]);
		fixture(b, rel);
		save("profile", card[i], b);
		snprintf(rel, sizeof rel, "se/%s.lua", se[i]);
		fixture(b, rel);
		save("se_profile", se[i], b);
	}
}

int main(int argc, char **argv)
{
	buf_t b = { 0 };

	if (argc != 2)
		die("usage: fuzz_mkcorpus OUTDIR");
	out_dir = argv[1];
	seeds_apdu(&b);
	seeds_tlv(&b);
	seeds_card(&b);
	seeds_ios(&b);
	seeds_se();
	seeds_ssd();
	seeds_nvm();
	seeds_vpcd(&b);
	seeds_pn532(&b);
	seeds_http(&b);
	seeds_wallet(&b);
	seeds_profiles(&b);
	free(b.p);
	return 0;
}
