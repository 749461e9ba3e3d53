/* test_hil_se.c — the harness side of the SE: SE profiles (fixtures/se/)
 * load into the se_profile_t the simulator is built with, with the key
 * pool; bad profiles are refused naming the file and the field; the
 * sim:se link answers APDUs, routes FeliCa frames to the FeliCa layer,
 * exposes the SE (link_sim_se) and keeps its NVM in a state file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hil/link/link.h"
#include "hil/link/link_sim.h"
#include "hil/fixtures/profile.h"
#include "hil/fixtures/se_profile.h"
#include "hil/base/util.h"
#include "sim/core/apdu.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define FX MYNAHIL_SOURCE_DIR "/fixtures/se/"

static void test_default_profile(void **state)
{
	char err[512];
	seprof_t *sp = seprof_load(FX "default.lua", err, sizeof err);
	const se_profile_t *p;
	static const uint8_t isd[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
	(void)state;

	if (!sp)
		fail_msg("%s", err);
	p = seprof_get(sp);
	assert_int_equal(p->isd_aid.len, 8);
	assert_memory_equal(p->isd_aid.b, isd, 8);
	assert_int_equal(p->card_lcs, SE_CARD_SECURED);
	assert_int_equal(p->n_keysets, 1);
	assert_int_equal(p->keysets[0].kvn, 0x30);
	assert_int_equal(p->keysets[0].key_len, 16);
	assert_int_equal(p->keysets[0].enc[0], 0x40);
	assert_int_equal(p->scp_i, 0x70);
	assert_true(p->has_cplc);
	assert_int_equal(p->felica.n_system_codes, 2);
	assert_int_equal(p->felica.system_codes[1], 0x12FC);
	assert_int_equal(p->felica.n_services, 2);
	assert_int_equal(p->felica.services[0].data.n, 32);
	assert_int_equal(p->half_valid, SE_HALF_VALID_BLOCK);
	/* The pool: fixtures/keys/pool-11 .. pool-63, PKCS#8 DER. */
	assert_int_equal(p->n_key_pool, 53);
	assert_int_equal(p->key_pool[0].p[0], 0x30);
	assert_int_equal(se_profile_check(p, NULL), SIM_OK);
	seprof_free(sp);
}

static void test_replay_profile(void **state)
{
	char err[512];
	seprof_t *sp = seprof_load(FX "kaoh-get-status.lua", err, sizeof err);
	const se_profile_t *p;
	(void)state;

	if (!sp)
		fail_msg("%s", err);
	p = seprof_get(sp);
	assert_int_equal(p->keysets[0].counter, 0x24);
	assert_int_equal(p->keysets[0].enc[0], 0xF9);
	assert_int_equal(p->n_seeds, 13);
	assert_int_equal(p->seeds[0].kind, SE_OBJ_SD);
	assert_int_equal(p->seeds[0].lcs_len, 2);
	assert_int_equal(p->seeds[0].extra.n, 7);
	assert_int_equal(p->seeds[1].lcs, 0x3F);
	assert_int_equal(p->seeds[12].kind, SE_OBJ_ELF);
	assert_int_equal(p->seeds[12].aid.len, 16);
	seprof_free(sp);
}

/* A bad profile: NULL, and err names the file and what is wrong. */
static void refused(const char *lua, const char *want)
{
	char path[] = "/tmp/test_hil_se_XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(lua, f);
	fclose(f);
	assert_null(seprof_load(path, err, sizeof err));
	unlink(path);
	if (!strstr(err, want) || !strstr(err, path))
		fail_msg("for %s: got \"%s\", want \"%s\"", lua, err, want);
}

static void test_bad_profiles(void **state)
{
	(void)state;
	refused("return 1", "must return a table");
	refused("return {", "expected");
	refused("return { colour = 1 }", "unknown field 'colour'");
	refused("return { isd_aid = \"A0\" }", "isd_aid");
	refused("return { isd_aid = \"XYZ\" }", "bad hex");
	refused("return { keysets = { { kvn = 0x30 } } }", "field 'keysets[1].enc' is missing");
	refused("return { keysets = { { kvn = 0x30, enc = \"00\", mac = \"00\", dek = \"00\" } } }",
		"keys of 16, 24 or 32 bytes");
	refused("return { counter = 0x1000000 }", "'counter' must be an integer");
	refused("return { lifecycle = \"ASLEEP\" }", "lifecycle");
	refused("return { lifecycle = 0x42 }", "card life cycle state");
	refused("return { kdd = \"00\" }", "'kdd' must be 10 bytes");
	refused("return { registry = { { kind = \"vm\", aid = \"A000000001\" } } }", "field 'registry[1].kind' must be elf, app or sd");
	refused("return { registry = { { kind = \"app\" } } }", "field 'registry[1].aid' is missing");
	refused("return { felica = { system_codes = {} } }", "system_codes");
	refused("return { felica = { services = { { code = 9, blocks = 1, data = \"" \
		"00000000000000000000000000000000FF\" } } } }",
		"longer than its blocks");
	refused("return { half_valid = \"maybe\" }", "half_valid");
	refused("return { key_pool = { dir = \"/nonexistent\" } }", "key pool");
}

static void test_link(void **state)
{
	char err[512], state_path[] = "/tmp/test_hil_se_state_XXXXXX", uri[600];
	link_opts_t o = { .seed = 7, .label = "t" };
	uint8_t rsp[LINK_RSP_MAX], cmd[64], atr[40];
	size_t n;
	link_t *l, *c;
	int fd;
	(void)state;

	fd = mkstemp(state_path);
	assert_true(fd >= 0);
	close(fd);
	unlink(state_path); /* absent: a fresh SE */
	snprintf(uri, sizeof uri, "sim:se?profile=%sdefault.lua&state=%s", FX, state_path);
	if (link_open(&l, uri, &o, err, sizeof err) < 0)
		fail_msg("%s", err);
	assert_non_null(link_sim_se(l));
	assert_true(link_atr(l, atr, sizeof atr) > 4);
	assert_int_equal(atr[0], 0x3B);
	/* An APDU. */
	n = (size_t)apdu_unhex("80CA00CF00", cmd, sizeof cmd);
	assert_int_equal(link_transmit(l, cmd, n, rsp, sizeof rsp, &n, 1000), LINK_OK);
	assert_int_equal(n, 14);
	assert_int_equal(apdu_sw(rsp, n), 0x9000);
	/* A FeliCa Polling through the same transmit: the frame answer. */
	n = (size_t)apdu_unhex("0600FFFF0100", cmd, sizeof cmd);
	assert_int_equal(link_transmit(l, cmd, n, rsp, sizeof rsp, &n, 1000), LINK_OK);
	assert_int_equal(n, 0x14);
	assert_memory_equal(rsp, "\x14\x01\x01\x2E\x4C\x61\x7A\x93\xB5\xD7", 10);
	/* A Polling for a system the SE lacks: silence, no bytes. */
	n = (size_t)apdu_unhex("06000003 0000", cmd, sizeof cmd);
	assert_int_equal(link_transmit(l, cmd, n, rsp, sizeof rsp, &n, 1000), LINK_OK);
	assert_int_equal(n, 0);
	/* An INITIALIZE UPDATE moves the counter; the state file keeps it. */
	n = (size_t)apdu_unhex("80500000080102030405060708", cmd, sizeof cmd);
	assert_int_equal(link_transmit(l, cmd, n, rsp, sizeof rsp, &n, 1000), LINK_OK);
	assert_memory_equal(rsp + n - 5, "\x00\x00\x01\x90\x00", 5);
	/* Power: off is mute, cold brings it back. */
	assert_int_equal(link_power(l, SIM_POWER_OFF), LINK_OK);
	n = (size_t)apdu_unhex("80CA00CF00", cmd, sizeof cmd);
	assert_int_equal(link_transmit(l, cmd, n, rsp, sizeof rsp, &n, 1000), LINK_ERR_MUTE);
	assert_int_equal(link_power(l, SIM_POWER_COLD), LINK_OK);
	link_close(l);
	if (link_open(&l, uri, &o, err, sizeof err) < 0)
		fail_msg("%s", err);
	n = (size_t)apdu_unhex("80500000080102030405060708", cmd, sizeof cmd);
	assert_int_equal(link_transmit(l, cmd, n, rsp, sizeof rsp, &n, 1000), LINK_OK);
	assert_memory_equal(rsp + n - 5, "\x00\x00\x02\x90\x00", 5);
	link_close(l);
	unlink(state_path);
	/* A card link has no SE; an unknown simulator is refused. */
	if (link_open(&c, "sim:card", &o, err, sizeof err) < 0)
		fail_msg("%s", err);
	assert_null(link_sim_se(c));
	link_close(c);
	assert_int_equal(link_open(&c, "sim:phone", &o, err, sizeof err), LINK_ERR_URI);
	assert_non_null(strstr(err, "sim:se"));
}

/* profile_key_der through OpenSSL's decoder and encoder, as it was
 * before its fast path: a malloc'd PKCS#8 DER or NULL. */
static uint8_t *key_der_slow(const uint8_t *buf, size_t n, size_t *len)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)n);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	PKCS8_PRIV_KEY_INFO *p8 = k ? EVP_PKEY2PKCS8(k) : NULL;
	uint8_t *der = NULL, *copy = NULL;
	int dn = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;

	if (dn > 0 && (copy = malloc((size_t)dn))) {
		memcpy(copy, der, (size_t)dn);
		*len = (size_t)dn;
	}
	OPENSSL_free(der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(k);
	BIO_free(bio);
	return copy;
}

/* The fast path of profile_key_der (a PEM PKCS#8 RSA key passed through
 * after a structural check) gives the general path's bytes for every key
 * of the fixtures; other forms (the traditional RSA PEM, DER, a PKCS#8
 * whose key is not RSAPrivateKey) still go the general way. */
static void test_key_der_fast_path(void **state)
{
	char path[512];
	(void)state;

	for (int i = 0; i < 64; i++) {
		uint8_t *buf, *a, *b;
		size_t n, an = 0, bn = 0;
		snprintf(path, sizeof path, MYNAHIL_SOURCE_DIR "/fixtures/keys/pool-%02d.pem", i);
		assert_int_equal(util_read_file(path, &buf, &n), 0);
		a = profile_key_der(buf, n, &an);
		b = key_der_slow(buf, n, &bn);
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(an, bn);
		assert_memory_equal(a, b, an);
		/* The DER form and the traditional PEM form: the same key. */
		{
			uint8_t *c;
			size_t cn = 0;
			EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &(const unsigned char *){ a }, (long)an);
			BIO *mem = BIO_new(BIO_s_mem());
			char *pem;
			long pn;
			assert_non_null(k);
			assert_non_null(c = profile_key_der(a, an, &cn));
			assert_int_equal(cn, an);
			assert_memory_equal(c, a, an);
			free(c);
			if (i == 0) {
				assert_int_equal(PEM_write_bio_PrivateKey_traditional(mem, k, NULL, NULL, 0, NULL, NULL), 1);
				pn = BIO_get_mem_data(mem, &pem);
				assert_non_null(strstr(pem, "BEGIN RSA PRIVATE KEY"));
				assert_non_null(c = profile_key_der((uint8_t *)pem, (size_t)pn, &cn));
				assert_int_equal(cn, an);
				assert_memory_equal(c, a, an);
				free(c);
			}
			BIO_free(mem);
			EVP_PKEY_free(k);
		}
		free(a);
		free(b);
		free(buf);
	}
	{
		/* A PKCS#8 armour around a key that is not an RSAPrivateKey:
		 * refused, as the decoder refuses it. */
		static const char bad[] = "-----BEGIN PRIVATE KEY-----\n"
					  "MBkCAQAwDQYJKoZIhvcNAQEBBQAEBTADAgEB\n"
					  "-----END PRIVATE KEY-----\n";
		size_t dn = 0;
		assert_null(profile_key_der((const uint8_t *)bad, sizeof bad - 1, &dn));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_profile),
		cmocka_unit_test(test_replay_profile),
		cmocka_unit_test(test_bad_profiles),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_key_der_fast_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
