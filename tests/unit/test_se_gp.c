/* test_se_gp.c — the SE's GlobalPlatform card manager, card side.
 *
 * Replays: with a profile holding a published vector's keys, counter and
 * AID (kaoh/globalplatform scp03Test.c, docs/se.md#test-vectors),
 * INITIALIZE UPDATE with the vector's host challenge answers the vector's
 * response byte for byte, the vector's EXTERNAL AUTHENTICATE is accepted,
 * and its wrapped commands are accepted and answered byte for byte
 * (DELETE, and GET STATUS over a registry seeded with the card content
 * those responses describe).  Negative tests: bad MAC, replay, wrong
 * level, wrong KVN, exhausted counter, wrong cryptogram, no session.
 * Then the life cycle tables, SET STATUS, GET STATUS encodings, GET DATA,
 * PUT KEY, LOAD/INSTALL/DELETE, and tears at every NVM write of INSTALL,
 * DELETE and PUT KEY. */
#include "test_se_fixture.h"

#include <openssl/evp.h>

#include "sim/se/gplc.h"

#define K_ENC "F995D0A069335C7DF42E590317FFEA6D"
#define K_MAC "58563362EC5A4541ABCD32B34B1EAE7D"
#define K_DEK "0A02A6D687406DCFA09DC70B3EDB7E38"

static void seed(se_profile_t *p, uint8_t kind, const char *aid, uint8_t lcs, uint8_t lcs_len,
		 const char *priv, const char *elf, const char *version, const char *sd, const char *extra)
{
	static uint8_t extras[SE_MAX_SEEDS][64];
	se_reg_seed_t *s = &p->seeds[p->n_seeds];

	assert_true(p->n_seeds < SE_MAX_SEEDS);
	memset(s, 0, sizeof *s);
	s->kind = kind;
	sx_aid(&s->aid, aid);
	s->lcs = lcs;
	s->lcs_len = lcs_len;
	if (priv)
		sx_unhex(priv, s->priv, 3);
	if (elf)
		sx_aid(&s->elf, elf);
	if (version) {
		s->has_version = 1;
		sx_unhex(version, s->version, 2);
	}
	if (sd)
		sx_aid(&s->sd, sd);
	if (extra) {
		s->extra.n = sx_unhex(extra, extras[p->n_seeds], sizeof extras[0]);
		s->extra.p = extras[p->n_seeds];
	}
	p->n_seeds++;
}

/* The card behind kaoh's GET STATUS vectors (tests 3 and 4): the ISD, an
 * SSD and three applications, eight load files. */
static void kaoh_card(se_profile_t *p)
{
	seed(p, SE_OBJ_SD, SX_ISD, 0, 2, "82FC80", "A0000001515350", "0100", SX_ISD, "EA058003008000");
	seed(p, SE_OBJ_SD, "A0000005591010FFFFFFFF8900001000", 0x3F, 1, "80C000", "A0000001515350", "0100",
	     "A0000005591010FFFFFFFF8900000100", "EA028000");
	seed(p, SE_OBJ_APP, "A0000000871002FF01FF418900000100", 0x07, 2, "000000", "A000000095000000004E0001",
	     "0100", "A000000151", "EA028000");
	seed(p, SE_OBJ_APP, "A00000055910100001", 0x07, 2, "000000", "A0000001515350", "0100", SX_ISD, "EA028000");
	seed(p, SE_OBJ_APP, "A00000055910100002", 0x07, 2, "000000", "A0000001515350", "0100", SX_ISD, "EA028000");
	seed(p, SE_OBJ_ELF, "A0000000620001", 0x01, 2, NULL, NULL, "0100", "A000000151", NULL);
	seed(p, SE_OBJ_ELF, "A0000000620101", 0x01, 2, NULL, NULL, "0105", "A000000151", NULL);
	seed(p, SE_OBJ_ELF, "A0000000620102", 0x01, 2, NULL, NULL, "0105", "A000000151", NULL);
	seed(p, SE_OBJ_ELF, "A0000000620201", 0x01, 2, NULL, NULL, "0105", "A000000151", NULL);
	seed(p, SE_OBJ_ELF, "A0000000090003FFFFFFFF8910710001", 0x01, 2, NULL, NULL, "0202", "A000000151", NULL);
	seed(p, SE_OBJ_ELF, "A0000000090003FFFFFFFF8910710002", 0x01, 2, NULL, NULL, "0206", "A000000151", NULL);
	seed(p, SE_OBJ_ELF, "A0000000620002", 0x01, 2, NULL, NULL, "0100", "A000000151", NULL);
	seed(p, SE_OBJ_ELF, "A0000000090005FFFFFFFF8912000064", 0x01, 2, NULL, NULL, "0100", "A000000151", NULL);
}

/* kaoh tests 1-4: ISD A000000151000000, KVN 30, i = 70, KDD zero; the
 * counter is stored one below the value the response carries. */
static void kaoh_profile(se_profile_t *p, uint32_t counter)
{
	se_profile_defaults(p);
	sx_keyset(&p->keysets[0], 0x30, K_ENC, K_MAC, K_DEK, counter);
	p->scp_i = 0x70;
	kaoh_card(p);
}

static void test_kaoh_delete_application(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	kaoh_profile(&p, 0x14);
	seed(&p, SE_OBJ_APP, "A00100015141434C", 0x07, 1, "000000", NULL, NULL, SX_ISD, NULL);
	x = sx_new(&p);
	sx_expect(x, "8050000008B2BDE1A2DC66BD5600",
		  "00000000000000000000300370C40932A6FEFEAEB2E127185170F45FCA0000159000");
	sx_expect(x, "848203001059D54D932423D29F6313C970875F8C2F", "9000");
	sx_expect(x, "84E400801829F06AEC3180B3EFE91FF662310B945DE0D5FE66AD67A5B6", "009000");
	/* The application is gone from the registry. */
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F24002024F00"), 0x9000);
	assert_null(memmem(x->plain, x->plainlen, "\xA0\x01\x00\x01\x51\x41\x43\x4C", 8));
	/* Replayed: the chaining value moved on, so the MAC no longer
	 * verifies; the session is aborted. */
	sx_free(x);
	x = sx_new(&p);
	sx_apdu(x, "8050000008B2BDE1A2DC66BD5600");
	sx_expect(x, "848203001059D54D932423D29F6313C970875F8C2F", "9000");
	sx_expect(x, "84E400801829F06AEC3180B3EFE91FF662310B945DE0D5FE66AD67A5B6", "009000");
	sx_expect(x, "84E400801829F06AEC3180B3EFE91FF662310B945DE0D5FE66AD67A5B6", "6982");
	sx_expect(x, "80F24002024F00", "6982");
	sx_free(x);
}

static void test_kaoh_mutual_auth(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	kaoh_profile(&p, 0x1D);
	x = sx_new(&p);
	sx_expect(x, "80500000089BD6BF878FB8E99100",
		  "000000000000000000003003703C80C2CC87EB3A35E4EDBA35E629C33600001E9000");
	sx_expect(x, "848203001023EBFEDC579D22CDCDB6A25A5FF7891F", "9000");
	sx_free(x);
}

#define KAOH_P40 \
	"E33E4F10A0000005591010FFFFFFFF89000010009F70013FC50380C000C407A0000001515350CE020100CC10A0000005591010FFFFFFFF8900000100EA028000" \
	"E3394F10A0000000871002FF01FF4189000001009F70020700C503000000C40CA000000095000000004E0001CE020100CC05A000000151EA028000" \
	"E3304F09A000000559101000019F70020700C503000000C407A0000001515350CE020100CC08A000000151000000EA028000" \
	"E3304F09A000000559101000029F70020700C503000000C407A0000001515350CE020100CC08A000000151000000EA0280009000"
#define KAOH_P20 \
	"E3194F07A00000006200019F70020100CE020100CC05A000000151E3194F07A00000006201019F70020100CE020105CC05A000000151" \
	"E3194F07A00000006201029F70020100CE020105CC05A000000151E3194F07A00000006202019F70020100CE020105CC05A000000151" \
	"E3224F10A0000000090003FFFFFFFF89107100019F70020100CE020202CC05A000000151" \
	"E3224F10A0000000090003FFFFFFFF89107100029F70020100CE020206CC05A000000151" \
	"E3194F07A00000006200029F70020100CE020100CC05A000000151" \
	"E3224F10A0000000090005FFFFFFFF89120000649F70020100CE020100CC05A0000001519000"

static void test_kaoh_get_status(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	kaoh_profile(&p, 0x24);
	x = sx_new(&p);
	sx_expect(x, "8050000008A6D40AEC55FE798600",
		  "00000000000000000000300370B6E362D0F90F8101C34B7B21A74553200000259000");
	sx_expect(x, "84820300103D958B36BB38AE5896A559345F81471A", "9000");
	sx_expect(x, "84f2400218d18c9a7bb2b1b1c7ed1b24e1b1307cb9d71a66abc55cbc3a00", KAOH_P40);
	sx_free(x);
}

static void test_kaoh_get_status_enc_mac(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	kaoh_profile(&p, 0x84);
	x = sx_new(&p);
	sx_expect(x, "8050000008DA2390D378D94B0A00",
		  "00000000000000000000300370A7EFE2BFDB3A27A6EAE3FF0EA0D175240000859000");
	sx_expect(x, "8482030010953EEC5B4A81BF393ADC2ADFD638827A", "9000");
	sx_expect(x, "84F2200218705C4D16C7BAC5496AEE0ED9963222455472F3CFAC97BCCA00", KAOH_P20);
	sx_expect(x, "84F240021834AF0FEDDAE7C07308600587E1B1E6EC87811520D9A6AAAD00", KAOH_P40);
	sx_expect(x, "84F28002188D6CFE9EB359EACB9594D8EC161E45C10ED0138E34A10BF300",
		  "E3324F08A0000001510000009F70020F00C50382FC80C407A0000001515350CE020100CC08A000000151000000EA0580030080009000");
	sx_expect(x, "84F21002183D98B6DE9CBF3905EAE4FAF5E141C58DAB7013D1076745C700", KAOH_P20);
	sx_free(x);
}

/* AES-192, i = 10 (pseudo-random, no R-MAC), KVN 02, a real KDD. */
static void test_kaoh_get_status_aes192(void **state)
{
	static const char *key = "DE2A3629CBC24E8D8869E82C8B4C0D874D88166B6F8A1C12";
	se_profile_t p;
	sx_t *x;
	(void)state;

	se_profile_defaults(&p);
	sx_keyset(&p.keysets[0], 0x02, key, key, key, 0x11);
	p.scp_i = 0x10;
	sx_unhex("00008301A8186727A822", p.kdd, sizeof p.kdd);
	seed(&p, SE_OBJ_ELF, "A0000001515350", 0x01, 1, NULL, NULL, NULL, NULL, NULL);
	x = sx_new(&p);
	sx_expect(x, "80500000084157115CAD7D2FE700",
		  "00008301A8186727A822020310726B1E22EED4F4BBAB21001BFD4B6F020000129000");
	sx_expect(x, "84820300109B126D1B1557297F3C06766CA9ACBD27", "9000");
	sx_expect(x, "84F2200218110C222888859059700E5D42AD65F41299B0BFFC03BF79A800", "E30D4F07A00000015153509F7001019000");
	sx_free(x);
}

/* ---- negative ---------------------------------------------------------- */

static void test_bad_mac_closes_channel(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	kaoh_profile(&p, 0x24);
	x = sx_new(&p);
	sx_apdu(x, "8050000008A6D40AEC55FE798600");
	sx_expect(x, "84820300103D958B36BB38AE5896A559345F81471A", "9000");
	/* Last MAC byte flipped (3A -> 3B). */
	sx_expect(x, "84f2400218d18c9a7bb2b1b1c7ed1b24e1b1307cb9d71a66abc55cbc3b00", "6982");
	/* The session is closed: the genuine command is refused too, and so
	 * is a plain one. */
	sx_expect(x, "84f2400218d18c9a7bb2b1b1c7ed1b24e1b1307cb9d71a66abc55cbc3a00", "6982");
	sx_expect(x, "80F24002024F00", "6982");
	/* GET DATA needs no security. */
	assert_int_equal(sx_apdu(x, "80CA00CF00"), 0x9000);
	sx_free(x);
}

static void test_wrong_cryptogram_and_kvn(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	kaoh_profile(&p, 0x24);
	x = sx_new(&p);
	/* Unknown KVN. */
	sx_expect(x, "8050310008A6D40AEC55FE798600", "6A88");
	/* That did not spend the counter: the vector still replays. */
	sx_expect(x, "8050000008A6D40AEC55FE798600",
		  "00000000000000000000300370B6E362D0F90F8101C34B7B21A74553200000259000");
	/* Host cryptogram altered. */
	sx_expect(x, "84820300103D958B36BB38AE5996A559345F81471A", "6300");
	/* EXTERNAL AUTHENTICATE without INITIALIZE UPDATE before it. */
	sx_expect(x, "84820300103D958B36BB38AE5896A559345F81471A", "6985");
	sx_free(x);
}

static void test_counter(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	se_profile_defaults(&p);
	p.keysets[0].counter = 0xFFFFFE;
	x = sx_new(&p);
	sx_expect(x, "80CA00C100", "C103FFFFFE9000");
	assert_int_equal(sx_open(x, &p.keysets[0], 0x01), 0x9000);
	assert_int_equal(x->host.seq, 0xFFFFFF);
	assert_int_equal(sx_wrapped(x, "80CA00C100"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "C103FFFFFF9000");
	/* At the maximum the SE refuses, and keeps refusing after a reset. */
	sx_expect(x, "80500000080102030405060708", "6985");
	assert_int_equal(sim_se_power(x->se, SIM_POWER_COLD), SIM_OK);
	sx_expect(x, "80500000080102030405060708", "6985");
	sx_free(x);
}

static void test_levels(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	se_profile_defaults(&p);
	x = sx_new(&p);
	/* No session: everything but GET DATA wants AUTHENTICATED. */
	sx_expect(x, "80F24002024F0000", "6982");
	sx_expect(x, "80E60C00000000", "6982");
	/* SM without a session. */
	sx_expect(x, "84F24002024F0000", "6982");
	/* C-MAC only: fine wrapped, a plain command is under-protected,
	 * refused, and it aborts the session. */
	assert_int_equal(sx_open(x, &p.keysets[0], 0x01), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F28002024F0000"), 0x9000);
	sx_expect(x, "80F28002024F0000", "6982");
	sx_expect(x, "80F28002024F0000", "6982");
	/* Level 33 on an SE whose i offers no R-ENC: refused (6A86). */
	sim_se_free(x->se);
	nvm_free(x->ctx.nvm);
	x->ctx.nvm = nvm_new();
	p.scp_i = 0x10;
	assert_int_equal(sim_se_new(&x->se, &p, &x->ctx), SIM_OK);
	assert_int_equal(sx_open(x, &p.keysets[0], 0x33), 0x6F00); /* the host will not build it */
	x->ea_p1 = 0x33; /* the SE checks before the MAC */
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x6A86);
	x->ea_p1 = 0;
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F28002024F0000"), 0x9000);
	sx_free(x);
}

/* ---- life cycles --------------------------------------------------------- */

static void test_lifecycle_tables(void **state)
{
	(void)state;
	/* Card: forward only, SECURED <-> CARD_LOCKED, anything -> TERMINATED. */
	assert_int_equal(gplc_check(GPLC_CARD, 0x01, 0x07, GPLC_BY_STATUS), 0);
	assert_int_equal(gplc_check(GPLC_CARD, 0x07, 0x0F, GPLC_BY_STATUS), 0);
	assert_int_equal(gplc_check(GPLC_CARD, 0x0F, 0x07, GPLC_BY_STATUS), 0x6985);
	assert_int_equal(gplc_check(GPLC_CARD, 0x0F, 0x7F, GPLC_BY_STATUS), 0);
	assert_int_equal(gplc_check(GPLC_CARD, 0x7F, 0x0F, GPLC_BY_STATUS), 0);
	assert_int_equal(gplc_check(GPLC_CARD, 0x07, 0x7F, GPLC_BY_STATUS), 0x6985);
	for (unsigned s = 0; s < 4; s++)
		assert_int_equal(gplc_check(GPLC_CARD, (uint8_t[]){ 1, 7, 0x0F, 0x7F }[s], 0xFF, GPLC_BY_STATUS), 0);
	assert_int_equal(gplc_check(GPLC_CARD, 0xFF, 0x0F, GPLC_BY_STATUS), 0x6985);
	assert_int_equal(gplc_check(GPLC_CARD, 0x0F, 0x0F, GPLC_BY_STATUS), 0x6985);
	assert_int_equal(gplc_check(GPLC_CARD, 0x0F, 0x3F, GPLC_BY_STATUS), 0x6985);
	/* Applications: INSTALLED -> SELECTABLE by INSTALL only, never back;
	 * app-specific states by the application; LOCKED keeps the old state
	 * in its low bits and unlocking restores exactly that. */
	assert_int_equal(gplc_check(GPLC_APP, 0x03, 0x07, GPLC_BY_INSTALL), 0);
	assert_int_equal(gplc_check(GPLC_APP, 0x03, 0x07, GPLC_BY_STATUS), 0x6985);
	assert_int_equal(gplc_check(GPLC_APP, 0x07, 0x03, GPLC_BY_INSTALL), 0x6985);
	assert_int_equal(gplc_check(GPLC_APP, 0x07, 0x0F, GPLC_BY_APP), 0);
	assert_int_equal(gplc_check(GPLC_APP, 0x07, 0x0F, GPLC_BY_STATUS), 0x6985);
	assert_int_equal(gplc_check(GPLC_APP, 0x03, 0x0F, GPLC_BY_APP), 0x6985);
	assert_int_equal(gplc_check(GPLC_APP, 0x0F, 0x8F, GPLC_BY_STATUS), 0);
	assert_int_equal(gplc_check(GPLC_APP, 0x0F, 0x87, GPLC_BY_STATUS), 0x6985);
	assert_int_equal(gplc_check(GPLC_APP, 0x8F, 0x0F, GPLC_BY_STATUS), 0);
	assert_int_equal(gplc_check(GPLC_APP, 0x8F, 0x07, GPLC_BY_STATUS), 0x6985);
	assert_int_equal(gplc_check(GPLC_APP, 0x8F, 0x0F, GPLC_BY_APP), 0x6985);
	assert_int_equal(gplc_check(GPLC_APP, 0x05, 0x07, GPLC_BY_INSTALL), 0x6985); /* no such state */
	assert_string_equal(gplc_name(GPLC_APP, 0x87), "LOCKED");
	assert_string_equal(gplc_name(GPLC_APP, 0x7F), "app-specific");
	assert_string_equal(gplc_name(GPLC_CARD, 0x7F), "CARD_LOCKED");
	assert_true(gplc_selectable(GPLC_APP, 0x0F));
	assert_false(gplc_selectable(GPLC_APP, 0x03));
	assert_false(gplc_selectable(GPLC_APP, 0x8F));
	/* What the card states admit. */
	assert_int_equal(gplc_card_admits(0x0F, GPLC_CMD_CONTENT), 0);
	assert_int_equal(gplc_card_admits(0x7F, GPLC_CMD_CONTENT), 0x6985);
	assert_int_equal(gplc_card_admits(0x7F, GPLC_CMD_SELECT_APP), 0x6A81);
	assert_int_equal(gplc_card_admits(0x7F, GPLC_CMD_AUTH), 0);
	assert_int_equal(gplc_card_admits(0xFF, GPLC_CMD_AUTH), 0x6A81);
	assert_int_equal(gplc_card_admits(0xFF, GPLC_CMD_DATA), 0);
}

static void test_card_lock_and_terminate(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	se_profile_defaults(&p);
	x = sx_new(&p);
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x9000);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	/* Irreversible and same-state transitions are refused. */
	assert_int_equal(sx_wrapped(x, "80F0800700"), 0x6985);
	assert_int_equal(sx_wrapped(x, "80F0800F00"), 0x6985);
	assert_int_equal(sx_wrapped(x, "80F0801200"), 0x6A80);
	/* CARD_LOCKED: no content change, no application, no channel; the
	 * ISD still reports and authenticates. */
	assert_int_equal(sx_wrapped(x, "80F0807F00"), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F28002024F0000"), 0x9000);
	assert_int_equal(x->plain[15], 0x7F); /* E3 L 4F 08 AID 9F70 01 LCS */
	assert_int_equal(sx_wrapped(x, "80E400000C" "4F0AD392F000260100000001"), 0x6985);
	sx_expect(x, "00A4040C0AD392F000260100000001", "6A81");
	sx_expect(x, "0070000001", "6A81");
	/* Unlock: everything is back. */
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F0800F00"), 0x9000);
	sx_expect(x, "00A4040C0AD392F000260100000001", "9000");
	/* TERMINATED: only GET DATA, for ever. */
	sx_apdu(x, "00A4040000");
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F080FF00"), 0x9000);
	assert_int_equal(sx_wrapped(x, "80CA00CF00"), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F28002024F0000"), 0x6A81);
	sx_expect(x, "80500000080102030405060708", "6A81");
	sx_expect(x, "00A4040C0AD392F000260100000001", "6A81");
	assert_int_equal(sim_se_power(x->se, SIM_POWER_COLD), SIM_OK);
	assert_int_equal(sx_apdu(x, "80CA00CF00"), 0x9000);
	sx_expect(x, "80500000080102030405060708", "6A81");
	sx_free(x);
}

static void test_app_lock(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	se_profile_defaults(&p);
	x = sx_new(&p);
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x9000);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 0), 0x9000);
	/* INSTALLED: not selectable yet. */
	sx_expect(x, "01A4040C0AD392F000260100000001", "6881");
	assert_int_equal(sx_wrapped(x, "80F24002024F0000"), 0x9000);
	assert_int_equal(x->plain[2 + 2 + 10 + 3], 0x03);
	assert_int_equal(sx_wrapped(x, "80E6080011" "0000" "0AD392F000260100000001" "0100" "00" "00"), 0x9000);
	assert_int_equal(sx_wrapped(x, "80E6080011" "0000" "0AD392F000260100000001" "0100" "00" "00"), 0x6985);
	/* Lock (P2 b8), listed as 87, not selectable; unlock returns to 07. */
	assert_int_equal(sx_wrapped(x, "80F040800AD392F000260100000001"), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F24002024F0000"), 0x9000);
	assert_int_equal(x->plain[2 + 2 + 10 + 3], 0x87);
	assert_int_equal(sx_wrapped(x, "80F040800AD392F000260100000001"), 0x6985); /* already */
	assert_int_equal(sx_wrapped(x, "80F040000AD392F000260100000001"), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F24002024F0000"), 0x9000);
	assert_int_equal(x->plain[2 + 2 + 10 + 3], 0x07);
	assert_int_equal(sx_wrapped(x, "80F040000AD392F000260100000001"), 0x6985); /* not locked */
	assert_int_equal(sx_wrapped(x, "80F0408008A000000151000099"), 0x6A88);
	assert_int_equal(sx_wrapped(x, "80F0408008A000000151000000"), 0x6985);  /* the ISD: P1 80 */
	sx_free(x);
}

/* ---- GET STATUS / GET DATA ----------------------------------------------------- */

static void test_get_status_formats(void **state)
{
	se_profile_t p;
	sx_t *x;
	size_t first;
	(void)state;

	kaoh_profile(&p, 0);
	sx_keyset(&p.keysets[0], 0x30, K_ENC, K_MAC, K_DEK, 0);
	x = sx_new(&p);
	/* Level 33: R-MAC and R-ENC leave 239 bytes of data per answer; the
	 * 243 bytes of load files come in two parts. */
	assert_int_equal(sx_open(x, &p.keysets[0], 0x33), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F22002024F0000"), 0x6310);
	first = sx_plain_len(x);
	assert_true(first <= 239);
	assert_int_equal(first, 243 - 36);
	assert_int_equal(sx_wrapped(x, "80F22003024F0000"), 0x9000);
	assert_int_equal(sx_plain_len(x), 36);
	sx_assert_hex(x->plain, x->plainlen,
		      "E3224F10A0000000090005FFFFFFFF89120000649F70020100CE020100CC05A0000001519000");
	/* "Next" with nothing pending. */
	assert_int_equal(sx_wrapped(x, "80F22003024F0000"), 0x6985);
	/* Search criteria: an AID prefix. */
	assert_int_equal(sx_wrapped(x, "80F2200207" "4F05A000000062" "00"), 0x9000);
	assert_int_equal(sx_plain_len(x), 5 * 27);
	assert_int_equal(sx_wrapped(x, "80F2200205" "4F03B00000" "00"), 0x6A88);
	/* A tag list: AIDs and life cycle only. */
	assert_int_equal(sx_wrapped(x, "80F2400207" "4F00" "5C039F704F" "00"), 0x9000);
	sx_assert_hex(x->plain, 2 + 2 + 16 + 3 + 1, "E3164F10A0000005591010FFFFFFFF89000010009F70013F");
	/* Legacy format: length, AID, LCS, privilege byte. */
	assert_int_equal(sx_wrapped(x, "80F28000024F0000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "08A0000001510000000F829000");
	assert_int_equal(sx_wrapped(x, "80F22000024F0000"), 0x9000);
	sx_assert_hex(x->plain, 10, "07A00000006200010100");
	/* Bad P1, P2, data. */
	assert_int_equal(sx_wrapped(x, "80F23002024F0000"), 0x6A86);
	assert_int_equal(sx_wrapped(x, "80F24006024F0000"), 0x6A86);
	assert_int_equal(sx_wrapped(x, "80F2400202C00000"), 0x6A80);
	sx_free(x);
}

static void test_get_data(void **state)
{
	se_profile_t p;
	sx_t *x;
	static const uint8_t iin[] = { 0x42, 0x00 }, cin[] = { 0x45, 0x01, 0x02 };
	(void)state;

	se_profile_defaults(&p);
	p.has_cplc = 1;
	for (size_t i = 0; i < 42; i++)
		p.cplc[i] = (uint8_t)i;
	p.iin = (se_blob_t){ iin, sizeof iin };
	p.cin = (se_blob_t){ cin, sizeof cin };
	sx_unhex("0102030405060708090A", p.kdd, 10);
	sx_keyset(&p.keysets[1], 0x31, "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
		  "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
		  "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF", 7);
	p.n_keysets = 2;
	x = sx_new(&p);
	sx_expect(x, "80CA9F7F00", "9F7F2A000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
				    "202122232425262728299000");
	/* GPPro retries CPLC in class 00. */
	assert_int_equal(sx_apdu(x, "00CA9F7F00"), 0x9000);
	sx_expect(x, "80CA004200", "420242009000");
	sx_expect(x, "80CA004500", "4503450102" "9000");
	sx_expect(x, "80CA00CF00", "CF0A0102030405060708090A9000");
	sx_expect(x, "80CA00C100", "C1030000009000"); /* the default (lowest) KVN: 30 */
	sx_expect(x, "80CA00E000", "E024" "C00401308810" "C00402308810" "C00403308810"
				   "C00401318820" "C00402318820" "C00403318820" "9000");
	sx_expect(x, "80CA006600",
		  "6631732F" "06072A864886FC6B01" "600C060A2A864886FC6B02020301" "630906072A864886FC6B03"
		  "640B06092A864886FC6B040370" "9000");
	sx_expect(x, "80CA00FE00", "6A88");
	sx_expect(x, "84CA00CF00", "6982"); /* SM without a session */
	sx_free(x);
}

/* ---- PUT KEY --------------------------------------------------------------------- */

/* 88 L keylen E(DEK, key[‖pad]) 03 KCV. */
static size_t key_block(uint8_t *out, const uint8_t *dek, size_t dek_len, const uint8_t *key, size_t klen,
			int bad_kcv)
{
	uint8_t clear[32] = { 0 };
	size_t clen = klen == 16 ? 16 : 32;

	memcpy(clear, key, klen);
	out[0] = 0x88;
	out[1] = (uint8_t)(1 + clen);
	out[2] = (uint8_t)klen;
	assert_int_equal(scp03_dek_encrypt(dek, dek_len, clear, clen, out + 3), 0);
	out[3 + clen] = 3;
	assert_int_equal(scp03_kcv(key, klen, out + 4 + clen), 0);
	if (bad_kcv)
		out[4 + clen] ^= 1;
	return 4 + clen + 3;
}

static size_t put_key_data(uint8_t *d, uint8_t new_kvn, const se_keyset_t *cur, const se_keyset_t *nk,
			   int bad_kcv)
{
	size_t n = 0;

	d[n++] = new_kvn;
	n += key_block(d + n, cur->dek, cur->key_len, nk->enc, nk->key_len, 0);
	n += key_block(d + n, cur->dek, cur->key_len, nk->mac, nk->key_len, bad_kcv);
	n += key_block(d + n, cur->dek, cur->key_len, nk->dek, nk->key_len, 0);
	return n;
}

static void test_put_key(void **state)
{
	se_profile_t p;
	se_keyset_t nk, nk2;
	uint8_t d[256], kcv[3];
	size_t n;
	sx_t *x;
	(void)state;

	se_profile_defaults(&p);
	p.keysets[0].counter = 5;
	x = sx_new(&p);
	sx_keyset(&nk, 0x31, "000102030405060708090A0B0C0D0E0F1011121314151617",
		  "101112131415161718191A1B1C1D1E1F2021222324252627", "202122232425262728292A2B2C2D2E2F3031323334353637", 0);
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x9000);
	/* A bad check value: 6982, nothing stored. */
	n = put_key_data(d, 0x31, &p.keysets[0], &nk, 1);
	assert_int_equal(sx_wcmd(x, 0x80, 0xD8, 0x00, 0x81, d, n, 256), 0x6982);
	/* A new AES-192 set: KVN and the three KCVs come back. */
	n = put_key_data(d, 0x31, &p.keysets[0], &nk, 0);
	assert_int_equal(sx_wcmd(x, 0x80, 0xD8, 0x00, 0x81, d, n, 256), 0x9000);
	assert_int_equal(sx_plain_len(x), 10);
	assert_int_equal(x->plain[0], 0x31);
	scp03_kcv(nk.mac, 24, kcv);
	assert_memory_equal(x->plain + 4, kcv, 3);
	/* Adding it again: the KVN is taken. */
	assert_int_equal(sx_wcmd(x, 0x80, 0xD8, 0x00, 0x81, d, n, 256), 0x6A80);
	/* Replacing a KVN that does not exist. */
	assert_int_equal(sx_wcmd(x, 0x80, 0xD8, 0x45, 0x81, d, n, 256), 0x6A88);
	/* The new set opens sessions, its counter from 0. */
	assert_int_equal(sx_open(x, &nk, 0x13), 0x9000);
	assert_int_equal(x->host.seq, 1);
	/* Replace 30 as a whole by a new 30: the counter restarts. */
	sx_keyset(&nk2, 0x30, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF", "B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF",
		  "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", 0);
	n = put_key_data(d, 0x30, &nk, &nk2, 0);
	assert_int_equal(sx_wcmd(x, 0x80, 0xD8, 0x30, 0x81, d, n, 256), 0x9000);
	/* The old 30 keys are gone: its host cryptogram check fails. */
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x6F00);
	assert_int_equal(sx_open(x, &nk2, 0x03), 0x9000);
	assert_int_equal(x->host.seq, 2); /* reset to 0, then the failed attempt above */
	/* Delete key set 31 (D2 KVN); the set in use cannot go. */
	assert_int_equal(sx_wrapped(x, "80E4000003D2013100"), 0x9000);
	assert_int_equal(sx_wrapped(x, "80E4000003D2013100"), 0x6A88);
	assert_int_equal(sx_wrapped(x, "80E4000003D2013000"), 0x6985);
	sx_free(x);
}

/* ---- LOAD / INSTALL / DELETE ---------------------------------------------------- */

static void test_load_install_delete(void **state)
{
	se_profile_t p;
	sx_t *x;
	uint8_t d[64];
	(void)state;

	se_profile_defaults(&p);
	x = sx_new(&p);
	assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x9000);
	/* LOAD without INSTALL [for load]. */
	assert_int_equal(sx_wrapped(x, "80E8800006C404CAFEBABE00"), 0x6985);
	/* INSTALL [for load] with a SHA-256 hash, two LOAD blocks; a block
	 * out of sequence is refused and ends the load. */
	{
		static const uint8_t lfdb[] = { 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02 };
		uint8_t md[32], cmd[128];
		unsigned mdn;
		size_t n = 0;

		assert_int_equal(EVP_Digest(lfdb, sizeof lfdb, md, &mdn, EVP_sha256(), NULL), 1);
		cmd[n++] = 7;
		sx_unhex(SX_JPKI_PKG, cmd + n, 7);
		n += 7;
		cmd[n++] = 0;
		cmd[n++] = 32;
		memcpy(cmd + n, md, 32);
		n += 32;
		cmd[n++] = 0;
		cmd[n++] = 0;
		assert_int_equal(sx_wcmd(x, 0x80, 0xE6, 0x02, 0x00, cmd, n, 256), 0x9000);
		assert_int_equal(sx_wrapped(x, "80E8000004C406DEAD00"), 0x9000);
		assert_int_equal(sx_wrapped(x, "80E8800204BEEF010200"), 0x6A86);
		assert_int_equal(sx_wrapped(x, "80E8800104BEEF010200"), 0x6985);
		assert_int_equal(sx_wcmd(x, 0x80, 0xE6, 0x02, 0x00, cmd, n, 256), 0x9000);
		assert_int_equal(sx_wrapped(x, "80E8000004C406DEAD00"), 0x9000);
		assert_int_equal(sx_wrapped(x, "80E8800104BEEF010300"), 0x6A80); /* hash mismatch */
		assert_int_equal(sx_wcmd(x, 0x80, 0xE6, 0x02, 0x00, cmd, n, 256), 0x9000);
		assert_int_equal(sx_wrapped(x, "80E8000004C406DEAD00"), 0x9000);
		assert_int_equal(sx_wrapped(x, "80E8800104BEEF010200"), 0x9000);
		sx_assert_hex(x->plain, x->plainlen, "009000");
	}
	/* Listed with its module (P1 10) and version. */
	assert_int_equal(sx_wrapped(x, "80F21002024F0000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen,
		      "E325" "4F07D392F000260100" "9F700101" "CE020100" "8408D392F00026010001" "CC08A000000151000000" "9000");
	/* Loading it twice. */
	assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x6A80);
	/* An unknown package loads, with no module to install. */
	assert_int_equal(sx_load(x, "A0000000620001"), 0x9000);
	assert_int_equal(sx_install(x, "A0000000620001", "A000000062000101", "A00000006200010101", 1), 0x6A88);
	/* INSTALL errors: unknown ELF, unknown module, no C9, SD privilege. */
	assert_int_equal(sx_install(x, "D392F000260199", SX_JPKI_MOD, SX_JPKI_AID, 1), 0x6A88);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, "D392F00026010099", SX_JPKI_AID, 1), 0x6A88);
	assert_int_equal(sx_wrapped(x, "80E60C0020" "07D392F000260100" "08D392F00026010001" "0AD392F000260100000001"
				       "0100" "00" "00" "00"),
			 0x6A80);
	assert_int_equal(sx_wrapped(x, "80E60C0022" "07D392F000260100" "08D392F00026010001" "0AD392F000260100000001"
				       "0180" "02C900" "00" "00"),
			 0x6A80);
	/* Install and make selectable; a second instance: no room. */
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "009000");
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x6A80);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, "D392F000260100000002", 1), 0x6A84);
	assert_int_equal(sx_wrapped(x, "80F24002024F0000"), 0x9000);
	sx_assert_hex(x->plain, x->plainlen,
		      "E32C" "4F0AD392F000260100000001" "9F700107" "C503000000" "C407D392F000260100" "CE020100"
		      "CC08A000000151000000" "9000");
	/* DELETE of the load file alone while an instance exists: 6985; with
	 * related objects both go. */
	assert_int_equal(sx_delete(x, SX_JPKI_PKG, 0x00), 0x6985);
	assert_int_equal(sx_delete(x, SX_JPKI_PKG, 0x80), 0x9000);
	sx_assert_hex(x->plain, x->plainlen, "009000");
	assert_int_equal(sx_wrapped(x, "80F24002024F0000"), 0x6A88);
	assert_int_equal(sx_delete(x, SX_JPKI_PKG, 0x80), 0x6A88);
	assert_int_equal(sx_delete(x, SX_ISD, 0x00), 0x6985);
	/* Reinstall from a fresh load. */
	assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x9000);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	(void)d;
	sx_free(x);
}

/* ---- tears ---------------------------------------------------------------------------- */

typedef struct snap {
	char *s;
	size_t n, cap;
} snap_t;

static void snap_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
	snap_t *sn = arg;
	size_t need = strlen(key) + 2 * len + 4;

	if (sn->n + need + 1 > sn->cap) {
		sn->cap = (sn->n + need + 1) * 2;
		sn->s = realloc(sn->s, sn->cap);
		assert_non_null(sn->s);
	}
	sn->n += (size_t)sprintf(sn->s + sn->n, "%s=", key);
	apdu_hex(val, len, sn->s + sn->n);
	sn->n += 2 * len;
	sn->s[sn->n++] = '\n';
	sn->s[sn->n] = 0;
}

/* Every persistent record of the card manager and the applet, but the
 * sequence counters (every new session moves them). */
static void snap_filter(void *arg, const char *key, const uint8_t *val, size_t len)
{
	if (strncmp(key, "gp/ctr/", 7))
		snap_one(arg, key, val, len);
}

static char *snapshot(sx_t *x)
{
	snap_t sn = { NULL, 0, 0 };

	snap_one(&sn, "-", NULL, 0);
	nvm_each(x->ctx.nvm, "", snap_filter, &sn);
	return sn.s;
}

typedef void (*setup_fn)(sx_t *x, const se_profile_t *p);
typedef uint16_t (*op_fn)(sx_t *x, const se_profile_t *p);

static void setup_loaded(sx_t *x, const se_profile_t *p)
{
	(void)p;
	assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x9000);
}

static void setup_personalised(sx_t *x, const se_profile_t *p)
{
	static const uint8_t pin[] = "1234";

	setup_loaded(x, p);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	assert_int_equal(sx_store_dgi(x, 0x8101, pin, 4), 0x9000);
	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	assert_int_equal(sx_store_dgi(x, 0x0101, NULL, 0), 0x9000);
}

static uint16_t op_install(sx_t *x, const se_profile_t *p)
{
	(void)p;
	return sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1);
}

static uint16_t op_delete(sx_t *x, const se_profile_t *p)
{
	(void)p;
	return sx_delete(x, SX_JPKI_PKG, 0x80);
}

static uint16_t op_put_key(sx_t *x, const se_profile_t *p)
{
	se_keyset_t nk;
	uint8_t d[256];
	size_t n;

	sx_keyset(&nk, 0x30, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF", "B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF",
		  "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", 0);
	n = put_key_data(d, 0x30, &p->keysets[0], &nk, 0);
	return sx_wcmd(x, 0x80, 0xD8, 0x30, 0x81, d, n, 256);
}

static uint16_t op_put_key_new(sx_t *x, const se_profile_t *p)
{
	se_keyset_t nk;
	uint8_t d[256];
	size_t n;

	sx_keyset(&nk, 0x31, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF", "B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF",
		  "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", 0);
	n = put_key_data(d, 0x31, &p->keysets[0], &nk, 0);
	return sx_wcmd(x, 0x80, 0xD8, 0x00, 0x81, d, n, 256);
}

static sx_t *tear_start(const se_profile_t *p, setup_fn setup)
{
	sx_t *x = sx_new(p);

	assert_int_equal(sx_open(x, &p->keysets[0], 0x03), 0x9000);
	if (setup)
		setup(x, p);
	return x;
}

/* Tear at write 1, 2, ... of op, every one: after the tear the SE is
 * mute; after power-up the records are exactly those before op or those
 * after it, never a mix; and the SE carries on (op completes after a new
 * session, to the same records as the untorn run). */
static void tear_sweep(setup_fn setup, op_fn op)
{
	se_profile_t p;
	char *before, *after;
	long writes, rolled_back = 0;
	sx_t *x;

	sx_profile(&p);
	x = tear_start(&p, setup);
	before = snapshot(x);
	writes = nvm_write_count(x->ctx.nvm);
	assert_int_equal(op(x, &p), 0x9000);
	writes = nvm_write_count(x->ctx.nvm) - writes;
	after = snapshot(x);
	assert_true(writes >= 3); /* journal, record, commit at least */
	assert_string_not_equal(before, after);
	sx_free(x);

	for (long k = 1; k <= writes; k++) {
		char *now;

		x = tear_start(&p, setup);
		nvm_tear_at(x->ctx.nvm, k);
		x->allow_mute = 1;
		op(x, &p);
		x->allow_mute = 0;
		assert_int_equal(x->rc, SIM_ERR_MUTE);
		assert_int_equal(sim_se_power(x->se, SIM_POWER_COLD), SIM_OK);
		now = snapshot(x);
		if (!strcmp(now, before)) {
			rolled_back++;
			assert_int_equal(sx_open(x, &p.keysets[0], 0x03), 0x9000);
			assert_int_equal(op(x, &p), 0x9000);
			free(now);
			now = snapshot(x);
		}
		if (strcmp(now, after))
			fail_msg("tear at write %ld of %ld: the records are neither before nor after\n%s", k,
				 writes, now);
		free(now);
		sx_free(x);
	}
	assert_true(rolled_back >= 1);
	free(before);
	free(after);
}

static void test_tear_install(void **state)
{
	(void)state;
	tear_sweep(setup_loaded, op_install);
}

static void test_tear_delete(void **state)
{
	(void)state;
	tear_sweep(setup_personalised, op_delete);
}

static void test_tear_put_key(void **state)
{
	(void)state;
	tear_sweep(NULL, op_put_key);
	tear_sweep(NULL, op_put_key_new);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kaoh_delete_application),
		cmocka_unit_test(test_kaoh_mutual_auth),
		cmocka_unit_test(test_kaoh_get_status),
		cmocka_unit_test(test_kaoh_get_status_enc_mac),
		cmocka_unit_test(test_kaoh_get_status_aes192),
		cmocka_unit_test(test_bad_mac_closes_channel),
		cmocka_unit_test(test_wrong_cryptogram_and_kvn),
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_lifecycle_tables),
		cmocka_unit_test(test_card_lock_and_terminate),
		cmocka_unit_test(test_app_lock),
		cmocka_unit_test(test_get_status_formats),
		cmocka_unit_test(test_get_data),
		cmocka_unit_test(test_put_key),
		cmocka_unit_test(test_load_install_delete),
		cmocka_unit_test(test_tear_install),
		cmocka_unit_test(test_tear_delete),
		cmocka_unit_test(test_tear_put_key),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	sx_pool_free();
	return rc;
}
