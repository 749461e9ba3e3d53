/* test_cardos.c — the ISO 7816-4 base of the simulated card: ATR, power,
 * class/instruction dispatch, SELECT, READ BINARY (15-bit offsets, SFI,
 * end of file), security status life time, GET CHALLENGE. */
#include "test_card_fixture.h"

/* docs/card.md#atrs: each set by its name, its contact ATR and the ATR a
 * PC/SC reader builds from its ATQB (PC/SC Part 3: one of the contactless
 * ATRs OpenSC's list holds, byte for byte with its TCK).  No set serves
 * 3B F5 91 ... (a contactless reader's) as a contact ATR. */
static const struct {
	enum card_atr_set set;
	const char *name, *contact, *contactless;
} atr_sets[] = {
	{ CARD_ATR_PCSC_TOOLS_E0, "pcsc-tools-e0", "3BE000FF8131FE4514", "3B888001000005E0B381A1007F" },
	{ CARD_ATR_OPENSC_3021, "opensc-3021", "3BDA13FF8131FB468012392F31C173C601C03B",
	  "3B888001000041E0B381A1003B" },
	{ CARD_ATR_PCSC_TOOLS_C5, "pcsc-tools-c5", "3BC5FF8131FB458073C6010000", "3B888001004B51FF0081D100BC" },
};

static void test_atr_per_set(void **state)
{
	(void)state;

	assert_int_equal(sizeof atr_sets / sizeof atr_sets[0], CARD_ATR_SET_COUNT);
	assert_null(card_atr_set(CARD_ATR_SET_COUNT));
	assert_int_equal(card_atr_set_named("2020"), -1);
	for (size_t i = 0; i < sizeof atr_sets / sizeof atr_sets[0]; i++) {
		card_profile_t p;
		uint8_t want[32], got[32];
		long n = apdu_unhex(atr_sets[i].contact, want, sizeof want);
		fx_t *f;

		assert_string_equal(card_atr_set(atr_sets[i].set)->name, atr_sets[i].name);
		assert_int_equal(card_atr_set_named(atr_sets[i].name), atr_sets[i].set);
		/* the simulator's own table: no set serves a contactless reader's ATR */
		assert_false(card_atr_set(atr_sets[i].set)->atr[1] == 0xF5 && card_atr_set(atr_sets[i].set)->atr[2] == 0x91);
		fx_profile(&p);
		p.atr_set = atr_sets[i].set;
		f = fx_new(&p);
		assert_int_equal(sim_card_atr(f->card, got, sizeof got), n);
		assert_memory_equal(got, want, (size_t)n);
		assert_int_equal(sim_card_atr(f->card, got, (size_t)n - 1), 0); /* too small */
		fx_free(f);
	}
}

/* The contactless side: each set's ATQB gives its PC/SC ATR, which gives
 * the ATQB back; a profile's own contact ATR and ATQB replace the set's;
 * a malformed ATR is refused. */
static void test_atr_by_interface(void **state)
{
	static const char *const good[] = { "3BE000FF8131FE4514", "3BDA13FF8131FB468012392F31C173C601C03B",
					    "3BC5FF8131FB458073C6010000", "3BF59100FF918171FE400042000100D1D6",
					    "3B888001000005E0B381A1007F", "3B00" };
	static const char *const bad[] = { "3BDA13FF8131FB468012392F31C173C601C03C", /* TCK */
					   "3BDA13FF8131FB468012392F31C173C601C0", /* short */
					   "3BE000FF8131FE451400",                 /* extra byte */
					   "3CE000FF8131FE4514",                   /* TS */
					   "3B" };
	static const uint8_t mine_atr[] = { 0x3B, 0x02, 0x14, 0x50 }, mine_atqb[CARD_ATQB_INFO] = { 1, 2, 3, 4, 5, 6, 7 };
	uint8_t atqb[CARD_ATQB_INFO], back[CARD_ATQB_INFO], atr[CARD_ATR_MAX], want[CARD_ATR_MAX];
	card_profile_t p;
	sim_card_t *c = NULL;
	fx_t *f;
	(void)state;

	for (size_t i = 0; i < sizeof atr_sets / sizeof atr_sets[0]; i++) {
		fx_profile(&p);
		p.atr_set = atr_sets[i].set;
		f = fx_new(&p);
		sim_card_atqb(f->card, atqb);
		assert_int_equal(card_pcsc_atr_typeb(atqb, 0, atr, sizeof atr), 13);
		assert_int_equal(apdu_unhex(atr_sets[i].contactless, want, sizeof want), 13);
		assert_memory_equal(atr, want, 13);
		assert_true(card_atr_ok(atr, 13));
		assert_int_equal(card_pcsc_typeb_atqb(atr, 13, back), 1);
		assert_memory_equal(back, atqb, CARD_ATQB_INFO);
		fx_free(f);
	}
	atr[12] ^= 1; /* TCK */
	assert_int_equal(card_pcsc_typeb_atqb(atr, 13, back), 0);
	assert_int_equal(card_pcsc_typeb_atqb(want, 12, back), 0);
	assert_int_equal(card_pcsc_atr_typeb(atqb, 0, atr, 12), 0);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		long n = apdu_unhex(good[i], want, sizeof want);
		if (!card_atr_ok(want, (size_t)n))
			fail_msg("%s refused", good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long n = apdu_unhex(bad[i], want, sizeof want);
		if (card_atr_ok(want, (size_t)n))
			fail_msg("%s accepted", bad[i]);
	}
	fx_profile(&p);
	p.atr = mine_atr;
	p.atr_len = sizeof mine_atr;
	p.atqb = mine_atqb;
	f = fx_new(&p);
	assert_int_equal(sim_card_atr(f->card, atr, sizeof atr), sizeof mine_atr);
	assert_memory_equal(atr, mine_atr, sizeof mine_atr);
	sim_card_atqb(f->card, atqb);
	assert_memory_equal(atqb, mine_atqb, sizeof atqb);
	p.atr_len = 3; /* 3B 02 14: a historical byte short */
	assert_int_equal(sim_card_new(&c, &p, &f->ctx), SIM_ERR_PROFILE);
	assert_null(c);
	fx_free(f);
}

static void test_select_aid(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	/* P2=0C: no FCI. */
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(f->rsplen, 2);
	/* P2=00 with Le: FCI 6F { 84 AID }. */
	assert_int_equal(fx_apdu(f, "00A404000AD392F00026010000000100"), 0x9000);
	{
		uint8_t want[14];

		apdu_unhex("6F0C840AD392F000260100000001", want, sizeof want);
		assert_int_equal(fx_data_len(f), 14);
		assert_memory_equal(f->rsp, want, 14);
	}
	/* Le too short for the FCI: 6C with the right length. */
	assert_int_equal(fx_apdu(f, "00A404000AD392F00026010000000105"), 0x6C0E);
	/* The text AP too. */
	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	/* Unknown AID, a prefix of a real one, wrong lengths, P1/P2. */
	assert_int_equal(fx_apdu(f, "00A4040C0AD392F000260100000002"), 0x6A82);
	assert_int_equal(fx_apdu(f, "00A4040C09D392F0002601000000"), 0x6A82);
	assert_int_equal(fx_apdu(f, "00A4040C04D392F000"), 0x6700);
	assert_int_equal(fx_apdu(f, "00A4040C"), 0x6700);
	assert_int_equal(fx_apdu(f, "00A404040AD392F000260100000001"), 0x6A86);
	assert_int_equal(fx_apdu(f, "00A4000C023F00"), 0x6A86); /* MF: SOL saw 6A86 */
	assert_int_equal(fx_apdu(f, "00A4080C023F00"), 0x6A86);
	/* Lc says 10 but 2 bytes follow. */
	assert_int_equal(fx_apdu(f, "00A4040C0AD392"), 0x6700);
	fx_free(f);
}

static void test_select_ef(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	/* No application selected yet: no EFs. */
	assert_int_equal(fx_select_ef(f, 0x0006), 0x6A82);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	assert_int_equal(f->rsplen, 2);
	assert_int_equal(fx_select_ef(f, 0x0003), 0x6A82);
	assert_int_equal(fx_select_ef(f, 0x3F00), 0x6A82);
	assert_int_equal(fx_select_ef(f, 0x0000), 0x6A82);
	/* A failed SELECT keeps the current EF. */
	assert_int_equal(fx_apdu(f, "00B0000004"), 0x9000);
	assert_memory_equal(f->rsp, "JPKI", 4);
	/* Text AP EFs are not visible from the JPKI AP and vice versa. */
	assert_int_equal(fx_select_ef(f, 0x0011), 0x6A82);
	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0011), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0006), 0x6A82);
	/* Lengths and P2. */
	assert_int_equal(fx_apdu(f, "00A4020C03000100"), 0x6700);
	assert_int_equal(fx_apdu(f, "00A4020C0101"), 0x6700);
	assert_int_equal(fx_apdu(f, "00A4020002000100"), 0x6A86);
	fx_free(f);
}

static void test_read_binary_token_and_eof(void **state)
{
	fx_t *f = fx_default();
	uint8_t want[32];
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	/* Nothing current right after SELECT AP. */
	assert_int_equal(fx_apdu(f, "00B0000000"), 0x6986);
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	/* Le=00 asks for 256: the EF has 160, all of them come with 9000. */
	assert_int_equal(fx_apdu(f, "00B0000000"), 0x9000);
	assert_int_equal(fx_data_len(f), 160);
	memset(want, ' ', sizeof want);
	memcpy(want, "JPKIAPICCTOKEN2", 15);
	assert_memory_equal(f->rsp, want, 32);
	/* Last byte, then the end, then past it. */
	assert_int_equal(fx_apdu(f, "00B0009F10"), 0x9000);
	assert_int_equal(fx_data_len(f), 1);
	assert_int_equal(fx_apdu(f, "00B000A001"), 0x6B00);
	assert_int_equal(fx_apdu(f, "00B000A101"), 0x6B00);
	assert_int_equal(fx_apdu(f, "00B07FFF01"), 0x6B00);
	/* Exact Le. */
	assert_int_equal(fx_apdu(f, "00B0000005"), 0x9000);
	assert_int_equal(fx_data_len(f), 5);
	fx_free(f);
}

/* The offset has 15 bits: a 32 KiB EF is readable to its last byte. */
static void test_read_binary_15bit_offset(void **state)
{
	card_profile_t p;
	fx_cert_t big;
	uint16_t sw;
	fx_t *f;
	(void)state;

	fx_make_cert(&big, 0x8000 - 4, 0x5A); /* 30 82 7F FC ...: 32768 bytes */
	fx_profile(&p);
	p.auth_ca = fx_blob(&big);
	p.ef.auth_ca = 0x8000; /* the EF as large as its certificate */
	f = fx_new(&p);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x000B), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0010000"), 0x9000); /* offset 0x0100 */
	assert_int_equal(fx_data_len(f), 256);
	assert_memory_equal(f->rsp, big.p + 0x100, 256);
	assert_int_equal(fx_apdu(f, "00B0401003"), 0x9000); /* offset 0x4010 */
	assert_memory_equal(f->rsp, big.p + 0x4010, 3);
	assert_int_equal(fx_apdu(f, "00B07FFF00"), 0x9000); /* offset 0x7FFF */
	assert_int_equal(fx_data_len(f), 1);
	assert_int_equal(f->rsp[0], big.p[0x7FFF]);
	/* P1 bit 8 set is the SFI form, not a 16-bit offset: 80 00 = SFI 0. */
	sw = fx_apdu(f, "00B0800000");
	assert_int_equal(sw, 0x6A82);
	fx_free(f);
	free(big.p);
}

static void test_read_binary_sfi(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	/* SOL: 00 B0 8A 00 00 reads 000A without a SELECT. */
	assert_int_equal(fx_apdu(f, "00B08A0000"), 0x9000);
	assert_int_equal(fx_data_len(f), 256);
	assert_memory_equal(f->rsp, fx_auth_cert.p, 256);
	/* ... and makes it the current EF. */
	assert_int_equal(fx_apdu(f, "00B0010010"), 0x9000);
	assert_memory_equal(f->rsp, fx_auth_cert.p + 0x100, 16);
	/* 8-bit offset in P2: the last byte of the 160-byte token EF. */
	assert_int_equal(fx_apdu(f, "00B0869F05"), 0x9000);
	assert_int_equal(fx_data_len(f), 1);
	assert_int_equal(fx_apdu(f, "00B0860D02"), 0x9000);
	assert_memory_equal(f->rsp, "N2", 2);
	fx_free(f);
}

static void test_read_binary_sfi_errors(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, "00B0860000"), 0x6A82); /* no AP selected */
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0860020"), 0x9000);
	assert_int_equal(fx_data_len(f), 32);
	assert_int_equal(fx_apdu(f, "00B086A001"), 0x6B00); /* 160 = the end */
	assert_int_equal(fx_apdu(f, "00B0830000"), 0x6A82); /* no EF 0003 */
	assert_int_equal(fx_apdu(f, "00B09F0000"), 0x6A82); /* SFI 31 does not exist */
	assert_int_equal(fx_apdu(f, "00B0C60000"), 0x6A86); /* P1 bits 7-6 must be 0 */
	assert_int_equal(fx_apdu(f, "00B0A60000"), 0x6A86);
	/* PIN and key objects are not transparent files. */
	assert_int_equal(fx_apdu(f, "00B0980000"), 0x6981);
	assert_int_equal(fx_select_ef(f, 0x0017), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0000000"), 0x6981);
	fx_free(f);
}

static void test_read_binary_lengths(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	assert_int_equal(fx_apdu(f, "00B00000"), 0x6700);         /* case 1 */
	assert_int_equal(fx_apdu(f, "00B000000100"), 0x6700);     /* case 3 */
	assert_int_equal(fx_apdu(f, "00B00000010000"), 0x6700);   /* case 4 */
	assert_int_equal(fx_apdu(f, "00B0000000000A"), 0x9000);   /* extended Le 10 */
	assert_int_equal(fx_data_len(f), 10);
	fx_free(f);
}

/* Security status lives until the next SELECT of an application (the
 * same one included) or a reset (docs/card.md#pins). */
static void test_security_status_lifetime(void **state)
{
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_select_ef(f, 0x001B), 0x9000);
	assert_int_equal(fx_verify(f, 0x80, FX_SIGN_PIN), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0810004"), 0x9000); /* 0001 by SFI */
	assert_memory_equal(f->rsp, fx_sign_cert.p, 4);
	/* Selecting an EF keeps it. */
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0810004"), 0x9000);
	/* Re-SELECT of the same AP clears it. */
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0810004"), 0x6982);
	/* So does a trip through the other AP. */
	assert_int_equal(fx_verify(f, 0x9B, FX_SIGN_PIN), 0x9000);
	assert_int_equal(fx_apdu(f, FX_SELECT_TEXT), 0x9000);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0810004"), 0x6982);
	/* A failed SELECT AP does not. */
	assert_int_equal(fx_verify(f, 0x9B, FX_SIGN_PIN), 0x9000);
	assert_int_equal(fx_apdu(f, "00A4040C0AD392F000260100000009"), 0x6A82);
	assert_int_equal(fx_apdu(f, "00B0810004"), 0x9000);
	/* Warm and cold resets clear status and selection. */
	assert_int_equal(sim_card_power(f->card, SIM_POWER_WARM), SIM_OK);
	assert_int_equal(fx_apdu(f, "00B0000004"), 0x6986);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0810004"), 0x6982);
	assert_int_equal(fx_verify(f, 0x9B, FX_SIGN_PIN), 0x9000);
	assert_int_equal(sim_card_power(f->card, SIM_POWER_COLD), SIM_OK);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "00B0810004"), 0x6982);
	fx_free(f);
}

static void test_class_byte(void **state)
{
	static const struct {
		const char *hex;
		uint16_t sw;
	} cases[] = {
		{ "01A4040C0AD392F000260100000001", 0x6881 }, /* channel 1 */
		{ "03B0000000", 0x6881 },                       /* channel 3 */
		{ "40B0000000", 0x6881 },                       /* channel 4 */
		{ "4FB0000000", 0x6881 },
		{ "08A4040C0AD392F000260100000001", 0x6882 }, /* SM */
		{ "0CB0000000", 0x6882 },
		{ "84B0000000", 0x6882 },
		{ "10B0000000", 0x6E00 },                       /* chaining */
		{ "20B0000000", 0x6E00 },
		{ "A0B0000000", 0x6E00 },
		{ "C0B0000000", 0x6E00 },
		{ "FFB0000000", 0x6E00 },
		{ "80A4040C0AD392F000260100000001", 0x6E00 }, /* 80 only for 2A */
		{ "80B0000000", 0x6E00 },
		{ "002A00800100", 0x6E00 },                     /* 2A only in class 80 */
	};
	fx_t *f = fx_default();
	(void)state;

	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint16_t sw = fx_apdu(f, cases[i].hex);

		if (sw != cases[i].sw)
			fail_msg("%s: %04X, want %04X", cases[i].hex, sw, cases[i].sw);
		assert_int_equal(f->rsplen, 2);
	}
	fx_free(f);
}

static void test_instruction_and_malformed(void **state)
{
	fx_t *f = fx_default();
	uint8_t three[3] = { 0x00, 0xA4, 0x04 };
	uint16_t sw;
	(void)state;

	assert_int_equal(fx_apdu(f, "00CA004500"), 0x6D00); /* GET DATA not offered */
	assert_int_equal(fx_apdu(f, "00C0000010"), 0x6D00); /* GET RESPONSE */
	assert_int_equal(fx_apdu(f, "00B1000000"), 0x6D00); /* odd READ BINARY */
	assert_int_equal(fx_apdu(f, "002A00800100"), 0x6D00); /* no AP: no 2A at all */
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(fx_apdu(f, "00D6000001FF"), 0x6D00); /* UPDATE BINARY */
	assert_int_equal(fx_apdu(f, "0088000000"), 0x6D00);
	assert_int_equal(fx_send(f, three, 3, &sw), SIM_OK);
	assert_int_equal(sw, 0x6700);
	assert_int_equal(fx_send(f, NULL, 0, &sw), SIM_OK);
	assert_int_equal(sw, 0x6700);
	/* Extended Lc of 0 is no case at all. */
	assert_int_equal(fx_apdu(f, "00A4020C000000"), 0x6700);
	/* Trailing garbage after Le. */
	assert_int_equal(fx_apdu(f, "00A4020C0200060000"), 0x6700);
	fx_free(f);
}

static void test_get_challenge(void **state)
{
	card_profile_t p;
	fx_t *f = fx_default(), *g;
	uint8_t a[8], b[8];
	(void)state;

	/* Any state, no AP needed. */
	assert_int_equal(fx_apdu(f, "0084000008"), 0x9000);
	assert_int_equal(fx_data_len(f), 8);
	memcpy(a, f->rsp, 8);
	assert_int_equal(fx_apdu(f, "0084000008"), 0x9000);
	assert_memory_not_equal(a, f->rsp, 8);
	assert_int_equal(fx_apdu(f, "0084000000"), 0x9000);
	assert_int_equal(fx_data_len(f), 256);
	/* From ctx->rng: the same seed gives the same challenge. */
	fx_profile(&p);
	g = fx_new_on(&p, NULL, 1);
	assert_int_equal(fx_apdu(g, "0084000008"), 0x9000);
	memcpy(b, g->rsp, 8);
	assert_memory_equal(a, b, 8);
	fx_free(g);
	g = fx_new_on(&p, NULL, 2);
	assert_int_equal(fx_apdu(g, "0084000008"), 0x9000);
	assert_memory_not_equal(a, g->rsp, 8);
	fx_free(g);
	/* Errors. */
	assert_int_equal(fx_apdu(f, "0084010008"), 0x6A86);
	assert_int_equal(fx_apdu(f, "0084000001AA08"), 0x6700);
	assert_int_equal(fx_apdu(f, "00840000"), 0x6700);
	assert_int_equal(fx_apdu(f, "00840000000010"), 0x6985); /* extended, SOL */
	fx_free(f);
}

static void test_power_and_buffers(void **state)
{
	fx_t *f = fx_default();
	uint8_t cmd[16], small[12];
	long n = apdu_unhex(FX_SELECT_JPKI, cmd, sizeof cmd);
	size_t len = 99;
	(void)state;

	assert_int_equal(sim_card_power(f->card, SIM_POWER_OFF), SIM_OK);
	assert_int_equal(sim_card_transmit(f->card, cmd, (size_t)n, f->rsp, sizeof f->rsp, &len),
			 SIM_ERR_MUTE);
	assert_int_equal(len, 0);
	assert_int_equal(sim_card_power(f->card, SIM_POWER_COLD), SIM_OK);
	assert_int_equal(fx_apdu(f, FX_SELECT_JPKI), 0x9000);
	assert_int_equal(sim_card_power(f->card, 7), SIM_ERR_ARG);
	/* A caller buffer smaller than Le: READ BINARY returns what fits. */
	assert_int_equal(fx_select_ef(f, 0x0006), 0x9000);
	n = apdu_unhex("00B0000000", cmd, sizeof cmd);
	assert_int_equal(sim_card_transmit(f->card, cmd, (size_t)n, small, sizeof small, &len), SIM_OK);
	assert_int_equal(len, sizeof small);
	assert_int_equal(apdu_sw(small, len), 0x9000);
	assert_memory_equal(small, "JPKIAPICCT", 10);
	assert_int_equal(sim_card_transmit(f->card, cmd, (size_t)n, small, 1, &len), SIM_ERR_ARG);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atr_per_set),
		cmocka_unit_test(test_atr_by_interface),
		cmocka_unit_test(test_select_aid),
		cmocka_unit_test(test_select_ef),
		cmocka_unit_test(test_read_binary_token_and_eof),
		cmocka_unit_test(test_read_binary_15bit_offset),
		cmocka_unit_test(test_read_binary_sfi),
		cmocka_unit_test(test_read_binary_sfi_errors),
		cmocka_unit_test(test_read_binary_lengths),
		cmocka_unit_test(test_security_status_lifetime),
		cmocka_unit_test(test_class_byte),
		cmocka_unit_test(test_instruction_and_malformed),
		cmocka_unit_test(test_get_challenge),
		cmocka_unit_test(test_power_and_buffers),
	};

	return cmocka_run_group_tests(tests, fx_global_setup, fx_global_teardown);
}
