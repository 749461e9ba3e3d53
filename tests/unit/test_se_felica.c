/* test_se_felica.c — the SE's FeliCa layer against the frames of
 * docs/se.md#felica (nfcpy's tt3 tests and docstrings), byte for byte:
 * Polling with every request code and time slot, Read and Write Without
 * Encryption on one and two services, Request Service, Request Response,
 * Request System Code, the emulation-side frames, a real card's
 * SENSF_RES; then the status flags of refused accesses, the silence of a
 * target that is not addressed, persistence and a torn write. */
#include "test_se_fixture.h"

#define IDM "0102030405060708"
#define PMM "FFFFFFFFFFFFFFFF"
/* nfcpy's two blocks: an NDEF attribute block and NDEF data. */
#define NDEF_BLOCKS "10010100010000000000000000100023d1020b5370d10107550361622e636f6d"

static uint8_t ndef[32];

/* nfcpy's test tag: IDm 0102..08, PMm FF.., system 12FC; service 0 RW
 * (0009, key version 0001) with its RO view (000B), service 1 RW (0049,
 * key version 0011); a service with a key (0008's number 2 -> 0088). */
static void profile(se_profile_t *p, const char *idm, const char *pmm)
{
	se_profile_defaults(p);
	sx_unhex(idm, p->felica.idm, 8);
	sx_unhex(pmm, p->felica.pmm, 8);
	p->felica.system_codes[0] = 0x12FC;
	p->felica.n_system_codes = 1;
	sx_unhex(NDEF_BLOCKS, ndef, sizeof ndef);
	p->felica.services[0] = (se_felica_service_t){ 0x0009, 0x0001, 4, { ndef, sizeof ndef } };
	p->felica.services[1] = (se_felica_service_t){ 0x000B, 0x0001, 0, { NULL, 0 } };
	p->felica.services[2] = (se_felica_service_t){ 0x0049, 0x0011, 2, { NULL, 0 } };
	p->felica.services[3] = (se_felica_service_t){ 0x0088, 0x0003, 1, { NULL, 0 } };
	p->felica.n_services = 4;
}

/* Send a frame; compare the answer (empty hex: silence). */
static void frame(sx_t *x, const char *cmd, const char *rsp)
{
	static uint8_t in[300];
	size_t n = sx_unhex(cmd, in, sizeof in);

	x->rc = sim_se_felica(x->se, in, n, x->rsp, sizeof x->rsp, &x->rsplen);
	assert_int_equal(x->rc, SIM_OK);
	sx_assert_hex(x->rsp, x->rsplen, rsp);
}

static void test_polling(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	profile(&p, IDM, PMM);
	x = sx_new(&p);
	frame(x, "0600ffff0000", "1201" IDM PMM);
	frame(x, "0600ffff0100", "1401" IDM PMM "12FC");
	frame(x, "0600ffff0200", "1401" IDM PMM "0083"); /* communication performance */
	frame(x, "060012fc0000", "1201" IDM PMM);
	frame(x, "060012fc0001", "1201" IDM PMM);
	frame(x, "060012fc0003", "1201" IDM PMM);
	frame(x, "060012fc0007", "1201" IDM PMM);
	frame(x, "060012fc000f", "1201" IDM PMM);
	frame(x, "060012ff0100", "1401" IDM PMM "12FC"); /* FF: any lower byte */
	frame(x, "0600fe000000", "");                  /* not our system */
	frame(x, "0600ffff00", "");                    /* LEN disagrees */
	frame(x, "0700ffff000000", "");
	sx_free(x);
}

static void test_read_write(void **state)
{
	se_profile_t p;
	sx_t *x;
	char want[256];
	(void)state;

	profile(&p, IDM, PMM);
	x = sx_new(&p);
	frame(x, "1206" IDM "010b00" "0280008001", "2d07" IDM "0000" "02" NDEF_BLOCKS);
	/* Two service codes, blocks addressed through index 0 and 1. */
	frame(x, "1406" IDM "020b000b00" "0280008101", "2d07" IDM "0000" "02" NDEF_BLOCKS);
	/* Write two blocks through 0009, read them back through 000B. */
	frame(x, "3208" IDM "0109000280008001"
		 "00112233445566778899aabbccddeeff" "ffeeddccbbaa99887766554433221100",
	      "0c09" IDM "0000");
	frame(x, "1206" IDM "010b00" "0280008001",
	      "2d07" IDM "0000" "02" "00112233445566778899aabbccddeeff" "ffeeddccbbaa99887766554433221100");
	/* Two services: block 0 of 0009, block 1 of 0049. */
	frame(x, "3408" IDM "02090049000280008101" "01010101010101010101010101010101" "02020202020202020202020202020202",
	      "0c09" IDM "0000");
	frame(x, "1406" IDM "0209004900" "0280008101",
	      "2d07" IDM "0000" "02" "01010101010101010101010101010101" "02020202020202020202020202020202");
	/* 3-byte block list element: block 1 of service index 0, LE. */
	snprintf(want, sizeof want, "1d07" IDM "0000" "01" "ffeeddccbbaa99887766554433221100");
	frame(x, "1106" IDM "010900" "01" "000100", want);
	/* Persistent across power. */
	assert_int_equal(sim_se_power(x->se, SIM_POWER_OFF), SIM_OK);
	{
		uint8_t in[16];
		size_t n = sx_unhex("0600ffff0000", in, sizeof in);

		assert_int_equal(sim_se_felica(x->se, in, n, x->rsp, sizeof x->rsp, &x->rsplen), SIM_ERR_MUTE);
	}
	assert_int_equal(sim_se_power(x->se, SIM_POWER_COLD), SIM_OK);
	frame(x, "1206" IDM "010900" "0280008001",
	      "2d07" IDM "0000" "02" "01010101010101010101010101010101" "ffeeddccbbaa99887766554433221100");
	sx_free(x);
}

static void test_requests(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	profile(&p, IDM, PMM);
	x = sx_new(&p);
	frame(x, "0f02" IDM "02" "0900" "4900", "0f03" IDM "02" "0100" "1100");
	frame(x, "0d02" IDM "01" "0910", "0d03" IDM "01" "ffff"); /* absent */
	frame(x, "0a04" IDM, "0b05" IDM "00");
	frame(x, "0a0c" IDM, "0d0d" IDM "01" "12fc");
	frame(x, "0c0a" IDM "0000", "0c0b" IDM "0900"); /* Search Service Code */
	frame(x, "0c0a" IDM "0300", "0c0b" IDM "8800");
	frame(x, "0c0a" IDM "0400", "0c0b" IDM "ffff");
	/* Another IDm: silence. */
	frame(x, "0a04" "0102030405060709", "");
	frame(x, "0a0c" "0102030405060709", "");
	frame(x, "0a99" IDM, ""); /* unknown command */
	sx_free(x);
}

static void test_emulation_and_real_card(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	/* nfcpy's emulation side: IDm 02FE010203040506. */
	profile(&p, "02FE010203040506", PMM);
	x = sx_new(&p);
	frame(x, "0A0C02FE010203040506", "0D0D02FE0102030405060112FC");
	frame(x, "060012FC0003", "120102FE010203040506FFFFFFFFFFFFFFFF");
	sx_free(x);
	/* The real card of nfcpy's docstring: SENSF_RES
	 * 01 01010601B00ADE0B 03014B024F4993FF 12FC after the LEN byte. */
	profile(&p, "01010601B00ADE0B", "03014B024F4993FF");
	x = sx_new(&p);
	frame(x, "0600FFFF0100", "14" "0101010601B00ADE0B03014B024F4993FF12FC");
	sx_free(x);
}

static void test_status_flags(void **state)
{
	se_profile_t p;
	sx_t *x;
	(void)state;

	profile(&p, IDM, PMM);
	x = sx_new(&p);
	/* Write through the read-only view. */
	frame(x, "2008" IDM "010b00" "018000" "00000000000000000000000000000000", "0c09" IDM "ffa9");
	/* Block past the service's data. */
	frame(x, "1006" IDM "010900" "018004", "0c07" IDM "ffa8");
	/* Unknown service code. */
	frame(x, "1006" IDM "010910" "018000", "0c07" IDM "ffa6");
	/* A service that needs mutual authentication. */
	frame(x, "1006" IDM "018800" "018000", "0c07" IDM "ffa5");
	/* Block list naming service index 1 of one. */
	frame(x, "1006" IDM "010900" "018100", "0c07" IDM "ffa3");
	/* Access mode bits. */
	frame(x, "1006" IDM "010900" "019000", "0c07" IDM "ffa7");
	/* No service, no block, too many blocks. */
	frame(x, "0c06" IDM "0000", "0c07" IDM "ffa1");
	frame(x, "0e06" IDM "01090000", "0c07" IDM "ffa2");
	frame(x, "2e06" IDM "010900" "10" "8000800080008000800080008000800080008000800080008000800080008000", "0c07" IDM "ffa2");
	/* Truncated block list: silence. */
	frame(x, "0f06" IDM "010900" "0280", "");
	sx_free(x);
}

/* A torn Write leaves both blocks as they were. */
static void test_torn_write(void **state)
{
	se_profile_t p;
	sx_t *x;
	uint8_t in[64];
	size_t n;
	(void)state;

	profile(&p, IDM, PMM);
	x = sx_new(&p);
	for (long k = 1;; k++) {
		nvm_tear_at(x->ctx.nvm, k);
		n = sx_unhex("3208" IDM "0109000280008001"
			     "00112233445566778899aabbccddeeff" "ffeeddccbbaa99887766554433221100",
			     in, sizeof in);
		x->rc = sim_se_felica(x->se, in, n, x->rsp, sizeof x->rsp, &x->rsplen);
		if (x->rc == SIM_OK) {
			sx_assert_hex(x->rsp, x->rsplen, "0c09" IDM "0000");
			assert_true(k > 2);
			break;
		}
		assert_int_equal(x->rc, SIM_ERR_MUTE);
		assert_int_equal(sim_se_power(x->se, SIM_POWER_COLD), SIM_OK);
		frame(x, "1206" IDM "010b00" "0280008001", "2d07" IDM "0000" "02" NDEF_BLOCKS);
	}
	nvm_tear_at(x->ctx.nvm, 0);
	frame(x, "1206" IDM "010b00" "0280008001",
	      "2d07" IDM "0000" "02" "00112233445566778899aabbccddeeff" "ffeeddccbbaa99887766554433221100");
	sx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_polling),
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_emulation_and_real_card),
		cmocka_unit_test(test_status_flags),
		cmocka_unit_test(test_torn_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
