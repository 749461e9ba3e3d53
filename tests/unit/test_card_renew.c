/* test_card_renew.c — renewing the simulated card's certificate pairs
 * (sim_card_renew): the new key and certificate replace the old in one
 * NVM transaction, only a certificate of the new key is taken, a key the
 * card holds or a pair it lacks is refused, the PINs stay, a tear leaves
 * the old pair, and the new pair survives the NVM image. */
#include "test_card_fixture.h"

#include <openssl/x509v3.h>

static EVP_PKEY *new_key;
static uint8_t *new_key_der;
static size_t new_key_len;

/* A self-signed certificate of k (the card does not check the issuer:
 * the CA does); DER malloc'd. */
static uint8_t *cert_of(EVP_PKEY *k, long serial, size_t *n)
{
	X509 *x = X509_new();
	uint8_t *der = NULL, *out;
	int len;

	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const uint8_t *)"renewal", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_int_equal(X509_set_pubkey(x, k), 1);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	len = i2d_X509(x, &der);
	assert_true(len > 256); /* 30 82 LL LL, as the card wants */
	X509_free(x);
	out = malloc((size_t)len);
	memcpy(out, der, (size_t)len);
	OPENSSL_free(der);
	*n = (size_t)len;
	return out;
}

static int setup(void **state)
{
	PKCS8_PRIV_KEY_INFO *p8;
	int n;

	if (fx_global_setup(state) < 0 || !(new_key = EVP_RSA_gen(2048)) || !(p8 = EVP_PKEY2PKCS8(new_key)))
		return -1;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &new_key_der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	new_key_len = n > 0 ? (size_t)n : 0;
	return n > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	EVP_PKEY_free(new_key);
	OPENSSL_free(new_key_der);
	return fx_global_teardown(state);
}

/* The card's sign key signs "x" (DigestInfo-less, raw) and new_key
 * verifies it: 1, the old key: 0. */
static int signs_with_new_key(fx_t *f)
{
	EVP_PKEY_CTX *c;
	uint8_t out[256];
	size_t on = sizeof out;
	int ok;

	if (fx_apdu(f, FX_SELECT_JPKI) != 0x9000 || fx_verify(f, 0x9B, FX_SIGN_PIN) != 0x9000 ||
	    fx_cmd(f, 0x80, 0x2A, 0x00, 0x9A, "x", 1, 256) != 0x9000)
		return -1;
	c = EVP_PKEY_CTX_new(new_key, NULL);
	ok = c && EVP_PKEY_verify_recover_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
	     EVP_PKEY_verify_recover(c, out, &on, f->rsp, 256) == 1 && on == 1 && out[0] == 'x';
	EVP_PKEY_CTX_free(c);
	return ok;
}

static void test_renew_sign(void **state)
{
	fx_t *f = fx_default();
	size_t cn, on, n;
	uint8_t *cert = cert_of(new_key, 2, &cn), *other = cert_of(fx_key, 3, &on), *ef;
	nvm_t *copy;
	uint8_t *img;
	(void)state;

	assert_int_equal(signs_with_new_key(f), 0);
	/* A certificate of another key, a key the card holds, not DER. */
	assert_int_equal(sim_card_renew(f->card, CARD_PAIR_SIGN, new_key_der, new_key_len, other, on), SIM_ERR_ARG);
	assert_int_equal(sim_card_renew(f->card, CARD_PAIR_SIGN, fx_key_der, fx_key_len, other, on), SIM_ERR_PROFILE);
	assert_int_equal(sim_card_renew(f->card, CARD_PAIR_SIGN, new_key_der, new_key_len, cert, cn - 1), SIM_ERR_ARG);
	assert_int_equal(signs_with_new_key(f), 0);
	assert_true(sim_card_holds_key(f->card, fx_key_der, fx_key_len));
	assert_false(sim_card_holds_key(f->card, new_key_der, new_key_len));

	/* Verified before: the renewal clears the security status. */
	assert_int_equal(sim_card_renew(f->card, CARD_PAIR_SIGN, new_key_der, new_key_len, cert, cn), SIM_OK);
	assert_true(sim_card_holds_key(f->card, new_key_der, new_key_len));
	assert_int_equal(fx_select_ef(f, 0x0001), 0x6A82); /* nothing selected any more */
	assert_int_equal(signs_with_new_key(f), 1);         /* the same sign PIN */
	assert_int_equal(fx_select_ef(f, 0x0001), 0x9000);
	ef = fx_read_all(f, &n);
	assert_non_null(ef);
	assert_true(n >= cn);
	assert_memory_equal(ef, cert, cn);
	free(ef);

	/* The image carries the new pair. */
	assert_int_equal(nvm_save(f->ctx.nvm, &img, &n), 0);
	copy = nvm_new();
	assert_int_equal(nvm_load(copy, img, n), 0);
	free(img);
	fx_free(f);
	{
		card_profile_t p;
		fx_profile(&p);
		f = fx_new_on(&p, copy, 2);
	}
	assert_int_equal(signs_with_new_key(f), 1);
	fx_free(f);
	free(cert);
	free(other);
}

static void test_renew_refusals(void **state)
{
	card_profile_t p;
	fx_t *f;
	size_t cn;
	uint8_t *cert = cert_of(new_key, 4, &cn);
	(void)state;

	/* A minor's card has no sign pair; its auth pair renews. */
	fx_minor(&p);
	f = fx_new(&p);
	assert_int_equal(sim_card_renew(f->card, CARD_PAIR_SIGN, new_key_der, new_key_len, cert, cn), SIM_ERR_ARG);
	assert_int_equal(sim_card_renew(f->card, CARD_PAIR_AUTH, new_key_der, new_key_len, cert, cn), SIM_OK);
	fx_free(f);

	/* Off: mute.  A tear: the old pair stays. */
	f = fx_default();
	assert_int_equal(sim_card_power(f->card, SIM_POWER_OFF), SIM_OK);
	assert_int_equal(sim_card_renew(f->card, CARD_PAIR_SIGN, new_key_der, new_key_len, cert, cn), SIM_ERR_MUTE);
	assert_int_equal(sim_card_power(f->card, SIM_POWER_COLD), SIM_OK);
	nvm_tear_at(f->ctx.nvm, 1);
	assert_int_equal(sim_card_renew(f->card, CARD_PAIR_SIGN, new_key_der, new_key_len, cert, cn), SIM_ERR_MUTE);
	assert_int_equal(sim_card_power(f->card, SIM_POWER_COLD), SIM_OK);
	assert_int_equal(signs_with_new_key(f), 0);
	assert_false(sim_card_holds_key(f->card, new_key_der, new_key_len));
	fx_free(f);
	free(cert);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_renew_sign),
		cmocka_unit_test(test_renew_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
