/* test_se_channels.c — logical channels on the SE (ISO 7816-4 §5.4.1,
 * GPCS §11.7, docs/se.md#logical-channels and #omapi): MANAGE CHANNEL open and
 * close as OMAPI and the eSE HALs send it, channels 1-19 in both class
 * encodings, per-channel selection, per-channel PIN status in the applet,
 * per-channel secure sessions, SELECT (FCI, partial AID, next
 * occurrence) and what a reset does to channels. */
#include "test_se_fixture.h"

#define RECOGNITION                                                                            \
	"06072A864886FC6B01" "600C060A2A864886FC6B02020301" "630906072A864886FC6B03" \
	"640B06092A864886FC6B040370"
#define ISD_FCI "6F41" "8408A000000151000000" "A535" "732F" RECOGNITION "9F6501FF"
#define JPKI_FCI "6F0C840AD392F000260100000001"
/* SHA-256 DigestInfo of "abc". */
#define DI_ABC "3031300D060960864801650304020105000420" \
	       "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"

/* The applet installed, an auth key generated, its PIN set. */
static sx_t *with_applet(se_profile_t *p)
{
	sx_t *x;

	sx_profile(p);
	x = sx_new(p);
	assert_int_equal(sx_open(x, &p->keysets[0], 0x03), 0x9000);
	assert_int_equal(sx_load(x, SX_JPKI_PKG), 0x9000);
	assert_int_equal(sx_install(x, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID, 1), 0x9000);
	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	assert_int_equal(sx_store_dgi(x, 0x8101, (const uint8_t *)"2468", 4), 0x9000);
	assert_int_equal(sx_install_perso(x, SX_JPKI_AID), 0x9000);
	assert_int_equal(sx_store_dgi(x, 0x0101, NULL, 0), 0x9000);
	return x;
}

static void test_open_close(void **state)
{
	se_profile_t p;
	sx_t *x;
	char cmd[16], rsp[16];
	(void)state;

	sx_profile(&p);
	x = sx_new(&p);
	/* Channel 0 is open with the ISD; 1 is not open. */
	sx_expect(x, "80CA00CF00", "CF0A00000000000000000000" "9000");
	sx_expect(x, "81CA00CF00", "6881");
	/* The SE picks 1, 2, 3, ... 19 (OMAPI: 00 70 00 00 01), then has
	 * none left. */
	for (int ch = 1; ch < 20; ch++) {
		snprintf(rsp, sizeof rsp, "%02X9000", ch);
		sx_expect(x, "0070000001", rsp);
	}
	sx_expect(x, "0070000001", "6A81");
	/* Each new channel has the ISD selected.  Channels 4-19 in the
	 * further classes: 40/C0 = channel 4, 4F/CF = 19. */
	sx_expect(x, "81CA00CF00", "CF0A00000000000000000000" "9000");
	sx_expect(x, "C0CA00CF00", "CF0A00000000000000000000" "9000");
	sx_expect(x, "CFCA00CF00", "CF0A00000000000000000000" "9000");
	sx_expect(x, "4FA4040000", ISD_FCI "9000");
	/* Close 2: closed; closing again warns 6200; 0 cannot be closed. */
	sx_expect(x, "00708002", "9000");
	sx_expect(x, "82CA00CF00", "6881");
	sx_expect(x, "00708002", "6200");
	sx_expect(x, "00708000", "6A86");
	sx_expect(x, "00708014", "6A86");
	sx_expect(x, "00700000", "6700"); /* P2 = 0 needs Le */
	/* The lowest free number first; a number asked for (no data). */
	sx_expect(x, "0070000001", "029000");
	sx_expect(x, "00708005", "9000");
	sx_expect(x, "00700005", "9000");
	sx_expect(x, "00700005", "6A81");
	sx_expect(x, "0070020000", "6A86");
	/* With secure messaging, or in the GP class (not a GP command). */
	sx_expect(x, "0470000001", "6882");
	sx_expect(x, "8070000001", "6D00");
	/* A reset closes all but 0. */
	assert_int_equal(sim_se_power(x->se, SIM_POWER_WARM), SIM_OK);
	for (int ch = 1; ch < 4; ch++) {
		snprintf(cmd, sizeof cmd, "%02XCA00CF00", 0x80 | ch);
		sx_expect(x, cmd, "6881");
	}
	sx_expect(x, "C0CA00CF00", "6881");
	sx_expect(x, "0070000001", "019000");
	sx_free(x);
}

static void test_select(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	x = with_applet(&p);
	/* The ISD: empty AID (GPCS), or its AID. */
	sx_expect(x, "00A4040000", ISD_FCI "9000");
	sx_expect(x, "00A4040008A00000015100000000", ISD_FCI "9000");
	/* An application's FCI is the card's JPKI AP's; 0C: none. */
	sx_expect(x, "00A404000AD392F00026010000000100", JPKI_FCI "9000");
	sx_expect(x, "00A4040C0AD392F000260100000001", "9000");
	/* A partial AID selects the first registered match; "next
	 * occurrence" finds none after it; the ISD is found by prefix. */
	sx_expect(x, "00A4040007D392F00026010000", JPKI_FCI "9000");
	sx_expect(x, "00A4040207D392F00026010000", "6A82");
	sx_expect(x, "00A4040005A00000015100", ISD_FCI "9000");
	sx_expect(x, "00A4040C05A000000999", "6A82");
	/* Last/previous occurrence, other P2 bits. */
	sx_expect(x, "00A4040105A000000151", "6A86");
	sx_expect(x, "00A4041000", "6A86");
	/* A failed SELECT keeps the selection: the applet still answers. */
	sx_expect(x, "00A4040C0AD392F000260100000001", "9000");
	sx_expect(x, "00A4040C05A000000999", "6A82");
	sx_expect(x, "00A4020C020006", "9000");
	sx_free(x);
}

static void test_per_channel_state(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	x = with_applet(&p);
	sx_expect(x, "0070000001", "019000");
	sx_expect(x, "0070000001", "029000");
	sx_expect(x, "01A4040C0AD392F000260100000001", "9000");
	sx_expect(x, "02A4040C0AD392F000260100000001", "9000");
	/* The ISD on 0 meanwhile, with its session. */
	assert_int_equal(sx_wrapped(x, "80CA00CF00"), 0x9000);
	/* The PIN verified on channel 1 opens the key on channel 1 only. */
	sx_expect(x, "0120009804" "32343638", "9000");
	assert_int_equal(sx_apdu(x, "812A009733" DI_ABC "00"), 0x9000);
	assert_int_equal(sx_data_len(x), 256);
	sx_expect(x, "822A009733" DI_ABC "00", "6982");
	/* Channel 1's current EF is its own. */
	sx_expect(x, "01A4020C020006", "9000");
	sx_expect(x, "01B0000004", "4A504B49" "9000");
	sx_expect(x, "02B0000004", "6986"); /* no current EF on 2 */
	/* Opened from channel 1: the applet is selected on the new channel,
	 * with its own (empty) PIN status. */
	sx_expect(x, "0170000001", "039000");
	sx_expect(x, "03A4020C020006", "9000");
	sx_expect(x, "832A009733" DI_ABC "00", "6982");
	/* Re-selecting on 1 ends the PIN status there. */
	sx_expect(x, "01A4040C0AD392F000260100000001", "9000");
	sx_expect(x, "812A009733" DI_ABC "00", "6982");
	/* The applet rejects GP commands; the class 00 SM forms: 6882. */
	sx_expect(x, "0DB0000004", "6882");
	sx_free(x);
}

static void test_per_channel_sessions(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	sx_profile(&p);
	x = sx_new(&p);
	sx_expect(x, "0070000001", "019000");
	/* A session on channel 1 (the ISD is selected there). */
	assert_int_equal(sx_open_on(x, 1, &p.keysets[0], 0x03, 0x30), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F28002024F0000"), 0x9000);
	/* Channel 0 has none. */
	sx_expect(x, "80F28002024F0000", "6982");
	/* Its own session on channel 0 too. */
	assert_int_equal(sx_open_on(x, 0, &p.keysets[0], 0x01, 0x30), 0x9000);
	assert_int_equal(sx_wrapped(x, "80F28002024F0000"), 0x9000);
	/* Closing channel 1 ends its session: reopened, it has none. */
	sx_expect(x, "00708001", "9000");
	sx_expect(x, "0070000001", "019000");
	sx_expect(x, "81F28002024F0000", "6982");
	/* SELECT ends the session of its channel. */
	assert_int_equal(sx_open_on(x, 1, &p.keysets[0], 0x03, 0x30), 0x9000);
	sx_expect(x, "01A4040C00", "9000");
	sx_expect(x, "81F28002024F0000", "6982");
	sx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_close),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_per_channel_state),
		cmocka_unit_test(test_per_channel_sessions),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	sx_pool_free();
	return rc;
}
