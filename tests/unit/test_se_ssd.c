/* test_se_ssd.c — supplementary security domains and delegated management
 * (issue 16 points 1, 2;
 * docs/se.md#security-domains-and-delegated-management): the host helpers of sim/gp/gpdm against vectors computed
 * independently with the OpenSSL command line, and the SE's side through
 * them — an SSD with its own keys, delegated management with tokens and
 * receipts, a wrong token changing nothing, PUT KEY and DELETE [key]
 * through the SSD, SET STATUS 60, extradition, DAP, tears.
 *
 * How the vectors were made (OpenSSL 3.0, once; the bytes are below):
 *   openssl genrsa -traditional 1024  (the token key, sim/itsm's
 *     itsm_test_token_key, and the DAP key DAP_DER, as DER:
 *     openssl rsa -outform DER -traditional)
 *   printf TOKEN-DATA | xxd -r -p | openssl dgst -sha1 -sign tok.pem
 *   openssl mac -cipher AES-128-CBC -macopt hexkey:00..0F -in rd.bin CMAC
 *   openssl dgst -sha256 -binary (DEADBEEF) | openssl dgst -sha1 -sign dap.pem */
#include "test_se_fixture.h"

#include "sim/gp/gpdm.h"
#include "sim/itsm/itsm.h"

#define SSD_AID "D392F000265344"
#define SSD_KEY "1112131415161718191A1B1C1D1E1F20"

static const char DAP_DER[] =
	"3082025D02010002818100D4B0BB6B3EF7F08A0C99DF98DC292DBB4462E6F14E9381A2B779B6E33CFE829CEF3A58AE84"
	"BC2EE4573AF80AB23F3D893426EA0FCDB4369377BE3BAC0F8958D0EFA66E291FC48EFF235454B261CFD6C024D5B6C88E"
	"4D44A1F79232B34DA21D5A639BAF8C89C83CB31CA24219D514C9432BA4BB6A67723817ECBEC2AB7CD3EF190203010001"
	"0281806971D1090367D295EE575EF61EB83F96E6F98D7B36B48481922AC293F80A49E0D9ED7847D540A292CBF84D3EA8"
	"4E1808EC951A578968FDE1B06CDC929A0542C532E7CDB3C47F768280F735ED1C55F69B924394B22136B6EBB0DAEAFD47"
	"163C92C9776871558D08B14419F8E996BFEC834B01F9F459A8B06767ADDDB1E3914F0D024100FC446ABE2DEC7BE1DE12"
	"E7D2419DD570D9A8FDC6751193F291F39FBF085BA3CFACA4E41DB9AD94F82DF0EF34E6D705368CFF0E7F031E3CF65D13"
	"771DED07F2BB024100D7D66611496B21561D519207E3B8FD8A109DB19091BAC3691BF5F45CAD100C70904AB73998F492"
	"D51BC05B6636B1880C570016A78E4CBB5146C2FA0DAE881A3B0241009872EC22F3F3C6C5AF83B34EAFD2A72B248E6896"
	"6726F14695072A51B2C6568F6920D8AE5208614F3DCC2D72C5D1C957B70B68023FAB256228CB5B9FDD1F818302410083"
	"5A4B4B81EEDC9ED7C0E8AA3C803C6C65A85283B4EC8037DB78577A7F282129EFE6489398EE5EDDAAC1E9DDCEB344249E"
	"5DC36BBD421D4D5D4F1376781D043902406249545F6BAA087D4796A1C82B2494C0AFEC5F68BDDC8D44DDFD3C3C0ABC79"
	"97A3504134959568CFB96D6C653C0B56D667784E74B5B928625B0EF55B5AF444E6";

/* The token over INSTALL [for install and make selectable] of the JPKI
 * applet, privileges 000000, parameters C9 00:
 * 0C 00 23 07D392F000260100 08D392F00026010001 0AD392F000260100000001
 * 03000000 02C900. */
static const char TOK_INSTALL[] =
	"9A7F02751922EBFDFCF101052CDBA3F19BCCC6AE8BA478BF687851C8B8212C7F176A78EEA34C9CAE5019AE8FA0F5102D"
	"CFF2101411CBDCC8C40AABDEDD904B7BD09AE8DEF5731433F615152A23EFFEEAFC4C85D1775E4E152D69954F07EDD3A4"
	"47B640D64B90D1463E282CBBA6A84883690FA3B37676A2891B6916990871FBA2";
/* The token over DELETE of the JPKI applet: 00 00 0C 4F0AD392F000260100000001. */
static const char TOK_DELETE[] =
	"4CAEFCB82FCE1E504679C304756E4A5132ED992B172AD71B068B68FE52F42B79718F8A394A3D7C16866C5A4D2F51F8"
	"6C252A6717DA84956351D91394D1CDC49CA8D820E54FC7F45FE257082FAC8A8B4B73FCC478198A7DDD7C60FC1694B0"
	"C808F3DA2F884A61515602D2A240051C75A7487B4AA2A76E2D9136915944BDFCA029";
/* A DAP signature: SHA-256 of DEADBEEF signed with the DAP key. */
static const char DAP_HASH[] = "5F78C33274E43FA9DE5659265C1D917E25C03722DCB0B8D27DB8D5FEAA813953";
static const char DAP_SIG[] =
	"7FF0E264D31373B4407710B72D43A8E1F9DBAB975BE7FA7B95399E94470CBAF6258CC32DDF1919BB8F71606FED0FDD"
	"1B1E61B28C7F3A9ABA4F6573CD8F84CF328B96D8865402258AFF05C7440DBB97773CAE73B4056A31837AC4A6783835"
	"D2B238AAC557054D124CFD0E2253F3AB95D114A24FF607C82F1FC060AF3C4240A257";
/* Receipt key 000102..0F over 02 0001 0A 00x10 07D392F000260100
 * 0AD392F000260100000001 (install receipt, counter 1, the default
 * profile's KDD as card unique data). */
static const char RECEIPT_KEY[] = "000102030405060708090A0B0C0D0E0F";
static const char RECEIPT_1[] = "EC357203E1A5BDCA83C79B7C69FCDDFE";

static uint8_t tok_der[700], dap_der[700];
static size_t tok_n, dap_n;

static void keys_load(void)
{
	tok_n = sx_unhex(itsm_test_token_key, tok_der, sizeof tok_der);
	dap_n = sx_unhex(DAP_DER, dap_der, sizeof dap_der);
}

static gpdm_bytes_t hexb(const char *hex, uint8_t *buf, size_t cap)
{
	return (gpdm_bytes_t){ buf, sx_unhex(hex, buf, cap) };
}

/* Send a built APDU wrapped; the SW. */
static uint16_t send_built(sx_t *x, const uint8_t *apdu, size_t n)
{
	return sx_wrapped_bytes(x, apdu, n);
}

/* The JPKI applet's INSTALL [for install and make selectable]. */
static void jpki_install(gpdm_install_t *in, uint8_t bufs[5][16])
{
	static const uint8_t priv[3] = { 0 }, c9[2] = { 0xC9, 0x00 };

	memset(in, 0, sizeof *in);
	in->p1 = GPDM_INSTALL_INSTALL_SELECTABLE;
	in->elf = hexb(SX_JPKI_PKG, bufs[0], 16);
	in->module = hexb(SX_JPKI_MOD, bufs[1], 16);
	in->app = hexb(SX_JPKI_AID, bufs[2], 16);
	in->priv = (gpdm_bytes_t){ priv, 3 };
	in->params = (gpdm_bytes_t){ c9, 2 };
}

/* ---- host-side vectors ----------------------------------------------------- */

static void test_token_vector(void **state)
{
	gpdm_install_t in;
	uint8_t bufs[5][16], apdu[400], fields[128], td[160], aid[16];
	size_t n, fn, tn;
	(void)state;

	keys_load();
	jpki_install(&in, bufs);
	assert_int_equal(gpdm_install_fields(&in, fields, sizeof fields, &fn), GPDM_OK);
	assert_int_equal(gpdm_token_data(in.p1, 0x00, fields, fn, td, sizeof td, &tn), GPDM_OK);
	sx_assert_hex(td, tn, "0C0023" "07D392F000260100" "08D392F00026010001" "0AD392F000260100000001"
			      "03000000" "02C900");
	assert_int_equal(gpdm_install_signed(&in, tok_der, tok_n, apdu, sizeof apdu, &n), GPDM_OK);
	/* 80 E6 0C 00 Lc, the fields, 80 and the token, Le 00. */
	assert_int_equal(n, 5 + 35 + 1 + 128 + 1);
	sx_assert_hex(apdu, 5, "80E60C00A4");
	sx_assert_hex(apdu + 5, 35, "07D392F000260100" "08D392F00026010001" "0AD392F000260100000001" "03000000" "02C900");
	assert_int_equal(apdu[40], 0x80);
	sx_assert_hex(apdu + 41, 128, TOK_INSTALL);
	/* DELETE: the token over 00 00 0C 4F...; then 9E in the data. */
	assert_int_equal(gpdm_delete_signed(0x00, aid, sx_unhex(SX_JPKI_AID, aid, sizeof aid), tok_der, tok_n, apdu,
					    sizeof apdu, &n),
			 GPDM_OK);
	sx_assert_hex(apdu, 5 + 12 + 3, "80E400008F" "4F0AD392F000260100000001" "9E8180");
	sx_assert_hex(apdu + 20, 128, TOK_DELETE);
	/* A key that is no private key: refused, not a signature. */
	assert_int_equal(gpdm_install_signed(&in, (const uint8_t *)"\x30\x03\x02\x01\x00", 5, apdu, sizeof apdu, &n),
			 GPDM_ERR_CRYPTO);
}

static void test_receipt_vector(void **state)
{
	uint8_t key[16], data[80], mac[16], e[16], a[16], rsp[64], cud[10] = { 0 };
	gpdm_bytes_t aids[2];
	gpdm_confirm_t c;
	size_t n, rn = 0;
	(void)state;

	sx_unhex(RECEIPT_KEY, key, sizeof key);
	aids[0] = hexb(SX_JPKI_PKG, e, sizeof e);
	aids[1] = hexb(SX_JPKI_AID, a, sizeof a);
	assert_int_equal(gpdm_receipt_data(1, cud, sizeof cud, aids, 2, data, sizeof data, &n), GPDM_OK);
	sx_assert_hex(data, n, "020001" "0A00000000000000000000" "07D392F000260100" "0AD392F000260100000001");
	assert_int_equal(gpdm_receipt(key, 16, data, n, mac), GPDM_OK);
	sx_assert_hex(mac, 16, RECEIPT_1);
	/* The confirmation structure a card sends: checks; one bit off: not. */
	rsp[rn++] = 16;
	memcpy(rsp + rn, mac, 16);
	rn += 16;
	rn += sx_unhex("0E" "020001" "0A00000000000000000000", rsp + rn, sizeof rsp - rn);
	assert_int_equal(gpdm_confirm_check(rsp, rn, key, 16, aids, 2, &c), GPDM_OK);
	assert_int_equal(c.counter, 1);
	assert_int_equal(c.cud.n, 10);
	rsp[5] ^= 0x01;
	assert_int_equal(gpdm_confirm_check(rsp, rn, key, 16, aids, 2, &c), GPDM_ERR_VERIFY);
	rsp[5] ^= 0x01;
	/* The same receipt for other AIDs (the delete of one): not. */
	assert_int_equal(gpdm_confirm_check(rsp, rn, key, 16, aids + 1, 1, &c), GPDM_ERR_VERIFY);
	/* Truncated structures. */
	assert_int_equal(gpdm_confirm_parse(rsp, rn - 1, &c), GPDM_ERR_FORMAT);
	assert_int_equal(gpdm_confirm_parse((const uint8_t *)"\x00", 1, &c), GPDM_ERR_FORMAT);
}

static void test_dap_vector(void **state)
{
	uint8_t h[32], sd[16], out[200], sig[128];
	size_t n, sn = sx_unhex(DAP_SIG, sig, sizeof sig);
	(void)state;

	keys_load();
	sx_unhex(DAP_HASH, h, sizeof h);
	assert_int_equal(gpdm_dap_block(sd, sx_unhex(SSD_AID, sd, sizeof sd), h, 32, dap_der, dap_n, out, sizeof out, &n),
			 GPDM_OK);
	assert_int_equal(n, 3 + 9 + 3 + sn);
	sx_assert_hex(out, 15, "E2818C" "4F07D392F000265344" "C38180");
	sx_assert_hex(out + 15, sn, DAP_SIG);
}

/* PUT KEY of the delegated-management keys, byte for byte: the receipt
 * key under the GP test DEK (AES-128-ECB of one block = CBC with a zero
 * ICV, and its KCV, both from openssl enc -aes-128-ecb -nopad), the
 * token key's components in clear. */
static void test_put_key_vector(void **state)
{
	uint8_t key[16], dek[16], apdu[300], *pub = NULL;
	const uint8_t *p = tok_der;
	EVP_PKEY *k;
	size_t n;
	int pn;
	(void)state;

	keys_load();
	sx_unhex(RECEIPT_KEY, key, sizeof key);
	sx_unhex("404142434445464748494A4B4C4D4E4F", dek, sizeof dek);
	assert_int_equal(gpdm_put_aes_key(0, GPDM_KVN_RECEIPT, key, 16, dek, 16, apdu, sizeof apdu, &n), GPDM_OK);
	sx_assert_hex(apdu, n, "80D8000118" "71" "881110" "3D0FA4B855D2A5AA4954B8B5DF582A3A" "03" "C35280" "00");
	assert_non_null(k = d2i_AutoPrivateKey(NULL, &p, (long)tok_n));
	assert_true((pn = i2d_PUBKEY(k, &pub)) > 0);
	EVP_PKEY_free(k);
	assert_int_equal(gpdm_put_rsa_pub(0, GPDM_KVN_TOKEN, pub, (size_t)pn, apdu, sizeof apdu, &n), GPDM_OK);
	OPENSSL_free(pub);
	/* 70, A1 81 80 modulus, 00 (no KCV), A0 03 010001, 00; Le 00. */
	assert_int_equal(n, 5 + 139 + 1);
	sx_assert_hex(apdu, 9, "80D800018B" "70" "A18180");
	/* The modulus is the one inside the private key's DER (after 02 81 81 00). */
	assert_memory_equal(apdu + 9, memmem(tok_der, tok_n, "\x02\x81\x81\x00", 4) + 4, 128);
	sx_assert_hex(apdu + 137, 8, "00" "A003010001" "00" "00");
	/* Bad arguments: a key of 20 bytes, a public key that is no key. */
	assert_int_equal(gpdm_put_aes_key(0, GPDM_KVN_RECEIPT, key, 20, dek, 16, apdu, sizeof apdu, &n), GPDM_ERR_ARG);
	assert_int_equal(gpdm_put_rsa_pub(0, GPDM_KVN_TOKEN, key, 16, apdu, sizeof apdu, &n), GPDM_ERR_CRYPTO);
	assert_int_equal(gpdm_delete_key_apdu(-1, -1, apdu, sizeof apdu, &n), GPDM_ERR_ARG);
}

/* ---- the SE side ---------------------------------------------------------------- */

typedef struct world {
	sx_t *x;
	se_profile_t p;
	se_keyset_t ssd;    /* the SSD's own key set, KVN 30 */
	uint8_t rkey[16];   /* the receipt key */
} world_t;

static void world_keys(world_t *w)
{
	sx_keyset(&w->ssd, 0x30, SSD_KEY, SSD_KEY, SSD_KEY, 0);
	sx_unhex(RECEIPT_KEY, w->rkey, sizeof w->rkey);
}

static uint16_t select_aid(sx_t *x, const char *aid_hex)
{
	char cmd[80];

	snprintf(cmd, sizeof cmd, "00A40400%02X%s", (unsigned)(strlen(aid_hex) / 2), aid_hex);
	return sx_apdu(x, cmd);
}

/* The ISD gets the token and receipt keys; it installs the SSD with priv
 * and gives it its first key set (INSTALL [for personalization] + PUT
 * KEY through the ISD's channel). */
static void make_ssd(world_t *w, uint8_t p0, uint8_t p1)
{
	sx_t *x = w->x;
	uint8_t apdu[300], aid[16], priv[3] = { p0, p1, 0 };
	EVP_PKEY *k;
	const uint8_t *p = tok_der;
	uint8_t *pub = NULL;
	int pn;
	size_t n;
	gpdm_install_t in;

	assert_int_equal(select_aid(x, SX_ISD), 0x9000);
	assert_int_equal(sx_open(x, &w->p.keysets[0], 0x03), 0x9000);
	/* Token key (RSA public, clear) and receipt key (AES under the DEK). */
	assert_non_null(k = d2i_AutoPrivateKey(NULL, &p, (long)tok_n));
	assert_true((pn = i2d_PUBKEY(k, &pub)) > 0);
	EVP_PKEY_free(k);
	assert_int_equal(gpdm_put_rsa_pub(0, GPDM_KVN_TOKEN, pub, (size_t)pn, apdu, sizeof apdu, &n), GPDM_OK);
	OPENSSL_free(pub);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "709000");
	assert_int_equal(gpdm_put_aes_key(0, GPDM_KVN_RECEIPT, w->rkey, 16, w->p.keysets[0].dek, 16, apdu, sizeof apdu,
					  &n),
			 GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	assert_int_equal(x->plainlen, 1 + 3 + 2);
	assert_int_equal(x->plain[0], 0x71);
	/* The SSD. */
	assert_int_equal(gpdm_install_sd(aid, sx_unhex(SSD_AID, aid, sizeof aid), priv, NULL, 0, apdu, sizeof apdu, &n),
			 GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "009000");
	memset(&in, 0, sizeof in);
	in.p1 = GPDM_INSTALL_PERSO;
	in.app = (gpdm_bytes_t){ aid, 7 };
	assert_int_equal(gpdm_install_apdu(&in, NULL, 0, apdu, sizeof apdu, &n), GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	assert_int_equal(gpdm_put_keyset(0, 0x30, w->ssd.enc, w->ssd.mac, w->ssd.dek, 16, w->p.keysets[0].dek, 16, apdu,
					 sizeof apdu, &n),
			 GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	assert_int_equal(x->plainlen, 1 + 9 + 2);
	assert_int_equal(x->plain[0], 0x30);
}

static world_t *world_new(uint8_t p0, uint8_t p1)
{
	world_t *w = calloc(1, sizeof *w);

	assert_non_null(w);
	keys_load();
	world_keys(w);
	sx_profile(&w->p);
	w->x = sx_new(&w->p);
	make_ssd(w, p0, p1);
	return w;
}

static void world_free(world_t *w)
{
	sx_free(w->x);
	free(w);
}

static void ssd_open(world_t *w)
{
	assert_int_equal(select_aid(w->x, SSD_AID), 0x9000);
	assert_int_equal(sx_open(w->x, &w->ssd, 0x03), 0x9000);
}

/* INSTALL [for load] through the SSD (token when key given) and one LOAD
 * block; the final LOAD's SW, its answer in x->plain. */
static uint16_t ssd_load(world_t *w, const uint8_t *key, size_t key_n, const uint8_t *dap, size_t dap_n,
			 const uint8_t *hash, size_t hash_n)
{
	uint8_t apdu[400], e[16], sd[16], lf[300];
	gpdm_install_t in;
	size_t n, ln = 0;
	uint16_t sw;

	memset(&in, 0, sizeof in);
	in.p1 = GPDM_INSTALL_LOAD;
	in.elf = hexb(SX_JPKI_PKG, e, sizeof e);
	in.sd = hexb(SSD_AID, sd, sizeof sd);
	in.hash = (gpdm_bytes_t){ hash, hash_n };
	if (key)
		assert_int_equal(gpdm_install_signed(&in, key, key_n, apdu, sizeof apdu, &n), GPDM_OK);
	else
		assert_int_equal(gpdm_install_apdu(&in, NULL, 0, apdu, sizeof apdu, &n), GPDM_OK);
	if ((sw = send_built(w->x, apdu, n)) != 0x9000)
		return sw;
	if (dap_n)
		memcpy(lf, dap, dap_n);
	ln = dap_n;
	memcpy(lf + ln, "\xC4\x04\xDE\xAD\xBE\xEF", 6);
	ln += 6;
	return sx_wcmd(w->x, 0x80, 0xE8, 0x80, 0x00, lf, ln, 256);
}

static uint8_t *nvm_image(sx_t *x, size_t *n)
{
	uint8_t *img = NULL;

	assert_int_equal(nvm_save(x->ctx.nvm, &img, n), NVM_OK);
	return img;
}

static void assert_same_nvm(sx_t *x, const uint8_t *before, size_t bn)
{
	size_t an;
	uint8_t *after = nvm_image(x, &an);

	assert_int_equal(an, bn);
	assert_memory_equal(after, before, bn);
	free(after);
}

static void check_receipt(world_t *w, uint16_t counter, const char *a1, const char *a2, const char *a3)
{
	uint8_t b[3][16];
	gpdm_bytes_t aids[3];
	gpdm_confirm_t c;
	size_t n = 0;

	aids[n] = hexb(a1, b[n], 16), n++;
	if (a2)
		aids[n] = hexb(a2, b[n], 16), n++;
	if (a3)
		aids[n] = hexb(a3, b[n], 16), n++;
	assert_int_equal(gpdm_confirm_check(w->x->plain, sx_plain_len(w->x), w->rkey, 16, aids, n, &c), GPDM_OK);
	assert_int_equal(c.counter, counter);
	/* The card unique data is the KDD here (no IIN, CIN): ten zeros. */
	assert_int_equal(c.cud.n, 10);
}

/* Delegated management end to end: load, install and delete through the
 * SSD with tokens, receipts checked and counted; the applet is
 * associated with the SSD. */
static void test_delegated(void **state)
{
	world_t *w = world_new(GPDM_PRIV_SD | GPDM_PRIV_DELEGATED_MGMT, 0);
	sx_t *x = w->x;
	gpdm_install_t in;
	uint8_t bufs[5][16], apdu[400], aid[16];
	size_t n;
	(void)state;

	ssd_open(w);
	assert_int_equal(ssd_load(w, tok_der, tok_n, NULL, 0, NULL, 0), 0x9000);
	check_receipt(w, 1, SX_JPKI_PKG, SSD_AID, NULL);
	jpki_install(&in, bufs);
	assert_int_equal(gpdm_install_signed(&in, tok_der, tok_n, apdu, sizeof apdu, &n), GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	check_receipt(w, 2, SX_JPKI_PKG, SX_JPKI_AID, NULL);
	/* The SSD sees itself, the load file and the applet, all its own. */
	assert_int_equal(sx_wrapped(x, "80F24002024F0000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen,
		      "E325" "4F07D392F000265344" "9F700107" "C503A00000" "C407A0000001515350" "CC08A000000151000000"
		      "E32B" "4F0AD392F000260100000001" "9F700107" "C503000000" "C407D392F000260100" "CE020100"
		      "CC07D392F000265344" "9000");
	/* Through the ISD: every entry, the applet's SD the SSD. */
	assert_int_equal(select_aid(x, SX_ISD), 0x9000);
	assert_int_equal(sx_open(x, &w->p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F24002024F0000"), 0x9000);
	assert_non_null(memmem(x->plain, x->plainlen, "\xCC\x07\xD3\x92\xF0\x00\x26\x53\x44", 9));
	/* DELETE through the SSD: without a token 6A80, with one a receipt. */
	ssd_open(w);
	assert_int_equal(gpdm_delete_apdu(0x00, aid, sx_unhex(SX_JPKI_AID, aid, sizeof aid), NULL, 0, apdu, sizeof apdu, &n),
			 GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x6A80);
	assert_int_equal(gpdm_delete_signed(0x00, aid, 10, tok_der, tok_n, apdu, sizeof apdu, &n), GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	check_receipt(w, 3, SX_JPKI_AID, NULL, NULL);
	world_free(w);
}

/* A wrong or missing token: 6A80, and not one NVM byte changes (the
 * confirmation counter neither). */
static void test_wrong_token(void **state)
{
	world_t *w = world_new(GPDM_PRIV_SD | GPDM_PRIV_DELEGATED_MGMT, 0);
	sx_t *x = w->x;
	gpdm_install_t in;
	uint8_t bufs[5][16], apdu[400], *img, other[700];
	size_t n, in_n, on;
	EVP_PKEY *k;
	(void)state;

	ssd_open(w);
	img = nvm_image(x, &in_n);
	/* INSTALL [for load] without a token, with a flipped one, with one of
	 * another key. */
	assert_int_equal(ssd_load(w, NULL, 0, NULL, 0, NULL, 0), 0x6A80);
	jpki_install(&in, bufs);
	in.p1 = GPDM_INSTALL_LOAD;
	in.module.n = in.app.n = in.priv.n = in.params.n = 0;
	in.sd = hexb(SSD_AID, bufs[3], 16);
	assert_int_equal(gpdm_install_signed(&in, tok_der, tok_n, apdu, sizeof apdu, &n), GPDM_OK);
	apdu[n - 10] ^= 0x40;
	assert_int_equal(send_built(x, apdu, n), 0x6A80);
	{
		uint8_t *der = NULL;
		int dn;

		assert_non_null(k = EVP_RSA_gen(1024));
		assert_true((dn = i2d_PrivateKey(k, &der)) > 0);
		memcpy(other, der, (size_t)dn);
		on = (size_t)dn;
		OPENSSL_free(der);
		EVP_PKEY_free(k);
	}
	assert_int_equal(ssd_load(w, other, on, NULL, 0, NULL, 0), 0x6A80);
	/* A token for other data: the right one for the load, sent with the
	 * SD field changed. */
	assert_int_equal(gpdm_install_signed(&in, tok_der, tok_n, apdu, sizeof apdu, &n), GPDM_OK);
	apdu[5 + 1 + 7 + 1 + 6] ^= 0x01;
	assert_int_equal(send_built(x, apdu, n), 0x6A80);
	assert_same_nvm(x, img, in_n);
	/* Nothing half-done either: LOAD finds no load under way. */
	assert_int_equal(sx_wrapped(x, "80E8800006C404DEADBEEF00"), 0x6985);
	free(img);
	/* INSTALL of the applet from an ISD-loaded file with a bad token. */
	world_free(w);
}

/* The SSD's secure channel: its own keys open it, the ISD's do not (same
 * KVN 30, other keys); PUT KEY through it adds a set; DELETE [key] of one
 * key (D0 + D2) leaves the set unusable until the key is put back; D2
 * alone deletes the set. */
static void test_ssd_keys(void **state)
{
	world_t *w = world_new(GPDM_PRIV_SD, 0);
	sx_t *x = w->x;
	se_keyset_t k31;
	uint8_t apdu[300];
	size_t n;
	(void)state;

	assert_int_equal(select_aid(x, SSD_AID), 0x9000);
	/* FCI of an SD: 84 AID and the security domain management data. */
	assert_int_equal(x->rsp[0], 0x6F);
	assert_int_equal(sx_open(x, &w->p.keysets[0], 0x03), 0x6F00); /* the card cryptogram does not match */
	assert_int_equal(sx_open(x, &w->ssd, 0x03), 0x9000);
	/* An SSD without management privileges manages no content. */
	assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x6985);
	/* A new key set KVN 31, under the SSD's own DEK. */
	sx_keyset(&k31, 0x31, "2122232425262728292A2B2C2D2E2F30", "3132333435363738393A3B3C3D3E3F40",
		  "4142434445464748494A4B4C4D4E4F50", 0);
	assert_int_equal(gpdm_put_keyset(0, 0x31, k31.enc, k31.mac, k31.dek, 16, w->ssd.dek, 16, apdu, sizeof apdu, &n),
			 GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	/* GET DATA E0: both sets, three keys each. */
	assert_int_equal(sx_wrapped(x, "80CA00E000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen,
		      "E024" "C00401308810" "C00402308810" "C00403308810" "C00401318810" "C00402318810" "C00403318810"
		      "9000");
	/* A session with the new set. */
	assert_int_equal(select_aid(x, SSD_AID), 0x9000);
	assert_int_equal(sx_open(x, &k31, 0x03), 0x9000);
	/* DELETE [key] MAC of set 30: gone from E0, set 30 opens nothing. */
	assert_int_equal(gpdm_delete_key_apdu(2, 0x30, apdu, sizeof apdu, &n), GPDM_OK);
	sx_assert_hex(apdu, n, "80E4000006D00102D2013000");
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	assert_int_equal(sx_wrapped(x, "80CA00E000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen,
		      "E01E" "C00401308810" "C00403308810" "C00401318810" "C00402318810" "C00403318810" "9000");
	/* Deleting it twice: not found; the set in use: refused. */
	assert_int_equal(send_built(x, apdu, n), 0x6A88);
	assert_int_equal(gpdm_delete_key_apdu(-1, 0x31, apdu, sizeof apdu, &n), GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x6985);
	assert_int_equal(select_aid(x, SSD_AID), 0x9000);
	assert_int_equal(sx_open(x, &w->ssd, 0x03), 0x6A88);
	/* Put the MAC key back (PUT KEY P1 30 P2 02, one key): set 30 opens. */
	assert_int_equal(sx_open(x, &k31, 0x03), 0x9000);
	{
		uint8_t d[64], blk[32];
		size_t dn = 0;

		assert_int_equal(gpdm_put_aes_key(0x30, 0x30, w->ssd.mac, 16, k31.dek, 16, blk, sizeof blk, &n), GPDM_OK);
		memcpy(d, blk + 5, blk[4]);
		dn = blk[4];
		assert_int_equal(sx_wcmd(x, 0x80, 0xD8, 0x30, 0x02, d, dn, 256), 0x9000);
	}
	assert_int_equal(select_aid(x, SSD_AID), 0x9000);
	assert_int_equal(sx_open(x, &w->ssd, 0x03), 0x9000);
	/* D2 alone: set 31 goes. */
	assert_int_equal(gpdm_delete_key_apdu(-1, 0x31, apdu, sizeof apdu, &n), GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	assert_int_equal(sx_wrapped(x, "80CA00E000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "E012" "C00401308810" "C00402308810" "C00403308810" "9000");
	/* The ISD still has its own set only. */
	assert_int_equal(select_aid(x, SX_ISD), 0x9000);
	assert_int_equal(sx_open(x, &w->p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_wrapped(x, "80CA00E000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "E012" "C00401308810" "C00402308810" "C00403308810" "9000");
	/* Its last complete set cannot lose a key. */
	assert_int_equal(gpdm_delete_key_apdu(1, 0x30, apdu, sizeof apdu, &n), GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x6985);
	world_free(w);
}

/* Authorized Management: no token, no receipt. */
static void test_authorized(void **state)
{
	world_t *w = world_new(GPDM_PRIV_SD, GPDM_PRIV2_AUTHORIZED_MGMT);
	sx_t *x = w->x;
	(void)state;

	ssd_open(w);
	assert_int_equal(ssd_load(w, NULL, 0, NULL, 0, NULL, 0), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "009000");
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "009000");
	/* An SSD does not touch the ISD's content or data, nor delete or
	 * move itself; it may make itself PERSONALIZED. */
	assert_int_equal(sx_delete(x, SX_ISD, 0x00), 0x6A88);
	assert_int_equal(sx_wrapped(x, "80E2900003420112"), 0x6A88);
	assert_int_equal(sx_delete(x, SSD_AID, 0x00), 0x6985);
	assert_int_equal(sx_wrapped(x, "80E6100015" "08" SX_ISD "00" "07" SSD_AID "000000" "00"), 0x6985);
	assert_int_equal(sx_wrapped(x, "80F0400F07" SSD_AID), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F24002094F03D392F05C029F7000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "E3049F7001" "0F" "E3049F7001" "07" "9000");
	world_free(w);
}

/* SET STATUS P1 60 through the ISD: the SSD and its applet locked in one
 * go (neither selectable), then unlocked back to their states. */
static void test_set_status_60(void **state)
{
	world_t *w = world_new(GPDM_PRIV_SD, GPDM_PRIV2_AUTHORIZED_MGMT);
	sx_t *x = w->x;
	(void)state;

	ssd_open(w);
	assert_int_equal(ssd_load(w, NULL, 0, NULL, 0, NULL, 0), 0x9000);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	assert_int_equal(select_aid(x, SX_ISD), 0x9000);
	assert_int_equal(sx_open(x, &w->p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F06080" "07" SSD_AID), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F24002094F03D392F05C029F7000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "E3049F7001" "87" "E3049F7001" "87" "9000");
	assert_int_equal(select_aid(x, SSD_AID), 0x6A82);
	assert_int_equal(select_aid(x, SX_JPKI_AID), 0x6A82);
	/* Locking again: nothing to do (6985); unlocking: both back to 07. */
	assert_int_equal(select_aid(x, SX_ISD), 0x9000);
	assert_int_equal(sx_open(x, &w->p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F06080" "07" SSD_AID), 0x6985);
	assert_int_equal(sx_wrapped(x, "80F06000" "07" SSD_AID), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F24002094F03D392F05C029F7000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "E3049F7001" "07" "E3049F7001" "07" "9000");
	/* The ISD: not through P1 60; an unknown SD: 6A88. */
	assert_int_equal(sx_wrapped(x, "80F06080" "08" SX_ISD), 0x6985);
	assert_int_equal(sx_wrapped(x, "80F06080" "07" "D392F0002653FF"), 0x6A88);
	assert_int_equal(select_aid(x, SX_JPKI_AID), 0x9000);
	world_free(w);
}

/* INSTALL [for extradition]: the ISD hands its applet to the SSD; the
 * SSD under delegated management hands it back, with a receipt over
 * (original SD, applet, new SD). */
static void test_extradition(void **state)
{
	world_t *w = world_new(GPDM_PRIV_SD | GPDM_PRIV_DELEGATED_MGMT, 0);
	sx_t *x = w->x;
	gpdm_install_t in;
	uint8_t apdu[300], sd[16], app[16], isd[16];
	size_t n;
	(void)state;

	assert_int_equal(select_aid(x, SX_ISD), 0x9000);
	assert_int_equal(sx_open(x, &w->p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x9000);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	memset(&in, 0, sizeof in);
	in.p1 = GPDM_INSTALL_EXTRADITION;
	in.sd = hexb(SSD_AID, sd, sizeof sd);
	in.app = hexb(SX_JPKI_AID, app, sizeof app);
	assert_int_equal(gpdm_install_apdu(&in, NULL, 0, apdu, sizeof apdu, &n), GPDM_OK);
	sx_assert_hex(apdu, n, "80E610001707D392F000265344000AD392F00026010000000100000000");
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "009000");
	/* Twice: already there (6A80); an SD to itself: 6A80. */
	assert_int_equal(send_built(x, apdu, n), 0x6A80);
	{
		gpdm_install_t self = in;
		uint8_t s2[16];

		self.app = hexb(SSD_AID, s2, sizeof s2);
		assert_int_equal(gpdm_install_apdu(&self, NULL, 0, apdu, sizeof apdu, &n), GPDM_OK);
		assert_int_equal(send_built(x, apdu, n), 0x6A80);
		assert_int_equal(gpdm_install_apdu(&in, NULL, 0, apdu, sizeof apdu, &n), GPDM_OK);
	}
	assert_int_equal(sx_wrapped(x, "80F240020F4F0AD392F0002601000000015C01CC00"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "E309CC07D392F000265344" "9000");
	/* Back to the ISD through the SSD, with a token and a receipt. */
	ssd_open(w);
	in.sd = hexb(SX_ISD, isd, sizeof isd);
	assert_int_equal(gpdm_install_signed(&in, tok_der, tok_n, apdu, sizeof apdu, &n), GPDM_OK);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	check_receipt(w, 1, SSD_AID, SX_JPKI_AID, SX_ISD);
	/* Now the SSD no longer sees it. */
	assert_int_equal(send_built(x, apdu, n), 0x6A88);
	world_free(w);
}

/* DAP: an SSD with DAP Verification gets its DAP key (PUT KEY 73 through
 * its own channel); a load file for it needs its E2 block over the hash
 * of INSTALL [for load]. */
static void test_dap(void **state)
{
	world_t *w = world_new(GPDM_PRIV_SD | GPDM_PRIV_DAP_VERIFICATION, GPDM_PRIV2_AUTHORIZED_MGMT);
	sx_t *x = w->x;
	uint8_t apdu[300], h[32], sd[16], blk[200], *pub = NULL;
	const uint8_t *p = dap_der;
	EVP_PKEY *k;
	size_t n, bn;
	int pn;
	(void)state;

	ssd_open(w);
	sx_unhex(DAP_HASH, h, sizeof h);
	assert_non_null(k = d2i_AutoPrivateKey(NULL, &p, (long)dap_n));
	assert_true((pn = i2d_PUBKEY(k, &pub)) > 0);
	EVP_PKEY_free(k);
	assert_int_equal(gpdm_put_rsa_pub(0, GPDM_KVN_DAP, pub, (size_t)pn, apdu, sizeof apdu, &n), GPDM_OK);
	OPENSSL_free(pub);
	assert_int_equal(send_built(x, apdu, n), 0x9000);
	assert_int_equal(gpdm_dap_block(sd, sx_unhex(SSD_AID, sd, sizeof sd), h, 32, dap_der, dap_n, blk, sizeof blk, &bn),
			 GPDM_OK);
	/* No DAP block, no hash: 6A80; a bad signature: 6A80. */
	assert_int_equal(ssd_load(w, NULL, 0, NULL, 0, h, 32), 0x6A80);
	assert_int_equal(ssd_load(w, NULL, 0, blk, bn, NULL, 0), 0x6A80);
	blk[bn - 1] ^= 0x01;
	assert_int_equal(ssd_load(w, NULL, 0, blk, bn, h, 32), 0x6A80);
	blk[bn - 1] ^= 0x01;
	assert_int_equal(ssd_load(w, NULL, 0, blk, bn, h, 32), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "009000");
	world_free(w);
}

/* DELETE of an SSD: refused while content is associated with it; once
 * empty it goes with every key record it had.  An image holding keys of
 * an SD the registry does not have is refused at power-up. */
static void test_delete_sd(void **state)
{
	world_t *w = world_new(GPDM_PRIV_SD, GPDM_PRIV2_AUTHORIZED_MGMT);
	sx_t *x = w->x;
	uint8_t *img;
	size_t n;
	nvm_fault_t f;
	nvm_t *copy;
	(void)state;

	ssd_open(w);
	assert_int_equal(ssd_load(w, NULL, 0, NULL, 0, NULL, 0), 0x9000);
	assert_non_null(nvm_get(x->ctx.nvm, "gp/sd/0001/key/30", &n));
	/* An image without the SSD's registry entry but with its keys. */
	img = nvm_image(x, &n);
	assert_non_null(copy = nvm_new());
	assert_int_equal(nvm_load(copy, img, n), NVM_OK);
	free(img);
	assert_int_equal(nvm_begin(copy), NVM_OK);
	assert_int_equal(nvm_del(copy, "gp/reg/0001"), NVM_OK);
	assert_int_equal(nvm_del(copy, "gp/reg/0002"), NVM_OK); /* the load file, associated with it */
	assert_int_equal(nvm_commit(copy), NVM_OK);
	assert_int_equal(sim_se_check_nvm(copy, &f), SIM_ERR_IMAGE);
	assert_string_equal(f.key, "gp/sd/0001/ctr/30");
	assert_string_equal(f.why, "keys of a security domain the registry does not hold");
	nvm_free(copy);
	/* Through the ISD. */
	assert_int_equal(select_aid(x, SX_ISD), 0x9000);
	assert_int_equal(sx_open(x, &w->p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_delete(x, SSD_AID, 0x00), 0x6985);
	assert_int_equal(sx_delete(x, SX_JPKI_PKG, 0x00), 0x9000);
	assert_int_equal(sx_delete(x, SSD_AID, 0x00), 0x9000);
	assert_null(nvm_get(x->ctx.nvm, "gp/sd/0001/key/30", &n));
	assert_null(nvm_get(x->ctx.nvm, "gp/sd/0001/ctr/30", &n));
	assert_int_equal(select_aid(x, SSD_AID), 0x6A82);
	assert_int_equal(sim_se_check_nvm(x->ctx.nvm, NULL), SIM_OK);
	world_free(w);
}

/* Power lost at every write of an INSTALL under delegated management:
 * the applet, its records and the confirmation counter come together or
 * not at all; rolled back, the INSTALL done again gets the receipt with
 * the counter the torn one would have had. */
static void test_tear_delegated(void **state)
{
	(void)state;
	for (long k = 1;; k++) {
		world_t *w = world_new(GPDM_PRIV_SD | GPDM_PRIV_DELEGATED_MGMT, 0);
		sx_t *x = w->x;
		gpdm_install_t in;
		uint8_t bufs[5][16], apdu[400];
		const uint8_t *c;
		size_t n, cn;
		uint16_t sw;

		ssd_open(w);
		assert_int_equal(ssd_load(w, tok_der, tok_n, NULL, 0, NULL, 0), 0x9000);
		jpki_install(&in, bufs);
		assert_int_equal(gpdm_install_signed(&in, tok_der, tok_n, apdu, sizeof apdu, &n), GPDM_OK);
		x->allow_mute = 1;
		nvm_tear_at(x->ctx.nvm, k);
		sw = send_built(x, apdu, n);
		nvm_tear_at(x->ctx.nvm, 0);
		if (sw == 0x9000) {
			check_receipt(w, 2, SX_JPKI_PKG, SX_JPKI_AID, NULL);
			world_free(w);
			assert_true(k > 3);
			break;
		}
		assert_int_equal(sw, 0);
		assert_int_equal(sim_se_power(x->se, SIM_POWER_COLD), SIM_OK);
		{
			nvm_fault_t f;
			char m[160];

			if (sim_se_check_nvm(x->ctx.nvm, &f) != SIM_OK) {
				nvm_fault_str(&f, m, sizeof m);
				fail_msg("tear at write %ld: %s", k, m);
			}
		}
		assert_non_null(c = nvm_get(x->ctx.nvm, "gp/dm/ctr", &cn));
		assert_int_equal(cn, 2);
		if (c[1] == 2) {
			assert_int_equal(select_aid(x, SX_JPKI_AID), 0x9000); /* all of it came */
		} else {
			assert_int_equal(c[1], 1);
			assert_int_equal(select_aid(x, SX_JPKI_AID), 0x6A82); /* none of it */
			ssd_open(w);
			assert_int_equal(send_built(x, apdu, n), 0x9000);
			check_receipt(w, 2, SX_JPKI_PKG, SX_JPKI_AID, NULL);
		}
		world_free(w);
		assert_true(k < 40);
	}
}

/* Power lost at every write of the SSD's INSTALL: after power-up the SSD
 * is either wholly there (selectable, in GET STATUS) or not at all, and
 * the image passes the SE's own check. */
static void test_tear_install_sd(void **state)
{
	(void)state;
	keys_load();
	for (long k = 1;; k++) {
		world_t w;
		uint8_t apdu[100], aid[16], priv[3] = { GPDM_PRIV_SD, 0, 0 };
		size_t n;
		uint16_t sw;
		int done;

		memset(&w, 0, sizeof w);
		world_keys(&w);
		sx_profile(&w.p);
		w.x = sx_new(&w.p);
		assert_int_equal(sx_open(w.x, &w.p.keysets[0], 0x03), 0x9000);
		assert_int_equal(gpdm_install_sd(aid, sx_unhex(SSD_AID, aid, sizeof aid), priv, NULL, 0, apdu, sizeof apdu, &n),
				 GPDM_OK);
		w.x->allow_mute = 1;
		nvm_tear_at(w.x->ctx.nvm, k);
		sw = send_built(w.x, apdu, n);
		done = sw == 0x9000;
		nvm_tear_at(w.x->ctx.nvm, 0);
		assert_int_equal(sim_se_power(w.x->se, SIM_POWER_COLD), SIM_OK);
		assert_int_equal(sim_se_check_nvm(w.x->ctx.nvm, NULL), SIM_OK);
		assert_int_equal(select_aid(w.x, SSD_AID), done ? 0x9000 : 0x6A82);
		sx_free(w.x);
		if (done)
			break;
		assert_int_equal(sw, 0); /* mute: torn */
		assert_true(k < 20);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_vector),
		cmocka_unit_test(test_receipt_vector),
		cmocka_unit_test(test_dap_vector),
		cmocka_unit_test(test_put_key_vector),
		cmocka_unit_test(test_delegated),
		cmocka_unit_test(test_wrong_token),
		cmocka_unit_test(test_ssd_keys),
		cmocka_unit_test(test_authorized),
		cmocka_unit_test(test_set_status_60),
		cmocka_unit_test(test_extradition),
		cmocka_unit_test(test_dap),
		cmocka_unit_test(test_delete_sd),
		cmocka_unit_test(test_tear_install_sd),
		cmocka_unit_test(test_tear_delegated),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	sx_pool_free();
	return rc;
}
