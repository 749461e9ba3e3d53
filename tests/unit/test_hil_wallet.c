/* test_hil_wallet.c — the iPhone's provisioning service (sim/wallet) in
 * process, through the world's routes (/v1/wallet, the TSM's registry
 * and the CA beside it), driven as the Wallet app drives it: a simulated
 * iPhone (sim/ios, fixtures/ios) makes keys and attests, alice's
 * simulated card (fixtures/profiles/default.lua) reads its text after the
 * 入力補助 PIN and signs after the sign password, the iPhone installs the
 * credential.  What each test proves is said above it; every refusal is
 * checked to change nothing at the CA and in the registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hil/fixtures/ios_profile.h"
#include "hil/fixtures/pki.h"
#include "hil/fixtures/profile.h"
#include "hil/svc/tsm_world.h"
#include "sim/card/card.h"
#include "sim/core/apdu.h"
#include "sim/core/nvm.h"
#include "sim/ios/ios.h"
#include "sim/wallet/wallet.h"

#define TEXT_PIN "1234"
#define SIGN_PIN "MYNAHIL1"
#define NEW_AUTH "2468"
#define NEW_SIGN "IPHONE2026"

/* ---- the world and its JSON ---- */

static int call(tsm_world_t *w, const char *method, const char *path, json_t *body, json_t **out)
{
	http_rsp_t rsp = { 0 };
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;

	tsm_world_call(w, method, path, (const uint8_t *)b, b ? strlen(b) : 0, &rsp);
	*out = json_loadb((const char *)rsp.body, rsp.len, 0, NULL);
	free(rsp.body);
	free(b);
	return rsp.status;
}

static tsm_world_t *world(void)
{
	tsm_world_t *w;
	tsm_world_opts_t o = { .seed = 5 };
	char err[256];

	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	assert_non_null(w->wallet);
	return w;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The number of alice's phone certificates at the CA with that status
 * (NULL: any). */
static int phone_certs(tsm_world_t *w, const char *status)
{
	uint64_t s[64];
	size_t n = 0;
	int k = 0;

	assert_int_equal(ca_list_holder(w->ca_app.ca, "alice", s, 64, &n), CA_OK);
	for (size_t i = 0; i < n && i < 64; i++) {
		ca_info_t ci;
		assert_int_equal(ca_status(w->ca_app.ca, s[i], &ci), CA_OK);
		k += ci.kind == CA_PHONE && (!status || !strcmp(ca_status_name(ci.status), status));
	}
	return k;
}

static const char *cert_status(tsm_world_t *w, const char *serial)
{
	uint64_t s;
	ca_info_t ci;

	assert_int_equal(ca_serial_parse(serial, &s), 0);
	assert_int_equal(ca_status(w->ca_app.ca, s, &ci), CA_OK);
	return ca_status_name(ci.status);
}

/* The registry's record of an iPhone (NULL: none). */
static json_t *record_of(tsm_world_t *w, const char *dev)
{
	char path[96];
	json_t *j;

	snprintf(path, sizeof path, "/v1/tsm/devices/%s", dev);
	if (call(w, "GET", path, NULL, &j) != 200) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void expect_clean(tsm_world_t *w)
{
	json_t *j;

	assert_int_equal(call(w, "GET", "/v1/tsm/check", NULL, &j), 200);
	if (!json_is_true(json_object_get(j, "ok"))) {
		char *s = json_dumps(j, JSON_COMPACT);
		fail_msg("registry and CA disagree: %s", s);
	}
	json_decref(j);
}

/* ---- the holder's card ---- */

static profile_t *g_card_prof;
static iosprof_t *g_ios[3];

typedef struct card {
	rng_t rng;
	vclock_t clock;
	sim_ctx_t ctx;
	sim_card_t *c;
	char serial[17];
} card_t;

static uint16_t tx(sim_card_t *c, const char *hex, uint8_t *rsp, size_t *rn)
{
	uint8_t in[600];
	long n = apdu_unhex(hex, in, sizeof in);
	static uint8_t tmp[4096];
	size_t len = 0;

	assert_true(n > 0);
	assert_int_equal(sim_card_transmit(c, in, (size_t)n, rsp ? rsp : tmp, 4096, &len), SIM_OK);
	const uint8_t *r = rsp ? rsp : tmp;

	assert_true(len >= 2);
	if (len < 2)	/* cmocka's assert returns; tell gcc's bounds check so */
		return 0;
	if (rn)
		*rn = len - 2;
	return (uint16_t)(r[len - 2] << 8 | r[len - 1]);
}

static void card_new(card_t *k)
{
	uint8_t rsp[4096], der[4096];
	size_t rn, off = 0;
	const uint8_t *p = der;
	X509 *x;

	memset(k, 0, sizeof *k);
	rng_seed(&k->rng, 11);
	k->ctx.rng = &k->rng;
	k->ctx.clock = &k->clock;
	assert_non_null(k->ctx.nvm = nvm_new());
	assert_int_equal(sim_card_new(&k->c, profile_card(g_card_prof), &k->ctx), SIM_OK);
	sim_card_power(k->c, SIM_POWER_COLD);
	/* the sign certificate's serial: EF 0001 after the sign password */
	assert_int_equal(tx(k->c, "00A4040C0AD392F000260100000001", NULL, NULL), 0x9000);
	assert_int_equal(tx(k->c, "00A4020C02001B", NULL, NULL), 0x9000);
	assert_int_equal(tx(k->c, "0020008008" "4D594E4148494C31", NULL, NULL), 0x9000);
	assert_int_equal(tx(k->c, "00A4020C020001", NULL, NULL), 0x9000);
	while (off < 2000) {
		char cmd[16];
		snprintf(cmd, sizeof cmd, "00B0%04X00", (unsigned)off);
		if (tx(k->c, cmd, rsp, &rn) != 0x9000 || !rn)
			break;
		memcpy(der + off, rsp, rn);
		off += rn;
		if (rn < 256)
			break;
	}
	assert_non_null(x = d2i_X509(NULL, &p, (long)off));
	{
		ASN1_INTEGER *ai = X509_get_serialNumber(x);
		BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
		char *h = BN_bn2hex(bn);
		snprintf(k->serial, sizeof k->serial, "%s%s", strlen(h) % 2 ? "0" : "", h);
		OPENSSL_free(h);
		BN_free(bn);
	}
	X509_free(x);
}

static void card_free(card_t *k)
{
	sim_card_free(k->c);
	nvm_free(k->ctx.nvm);
}

/* The card's tries left for a PIN EF (VERIFY without data). */
static int card_tries(card_t *k, const char *aid_select, const char *ef)
{
	char cmd[32];
	uint16_t sw;

	assert_int_equal(tx(k->c, aid_select, NULL, NULL), 0x9000);
	snprintf(cmd, sizeof cmd, "00A4020C02%s", ef);
	assert_int_equal(tx(k->c, cmd, NULL, NULL), 0x9000);
	sw = tx(k->c, "00200080", NULL, NULL);
	return (sw & 0xFFF0) == 0x63C0 ? sw & 0xF : -1;
}

#define JPKI_AP "00A4040C0AD392F000260100000001"
#define TEXT_AP "00A4040C0AD3921000310001010408"

/* ---- the iPhone ---- */

typedef struct iphone {
	rng_t rng;
	vclock_t clock;
	sim_ctx_t ctx;
	sim_ios_t *d;
	char id[33];
} iphone_t;

static void iphone_new(iphone_t *ph, int which)
{
	memset(ph, 0, sizeof *ph);
	rng_seed(&ph->rng, 100 + (uint64_t)which);
	vclock_set(&ph->clock, 1775001600);
	ph->ctx.rng = &ph->rng;
	ph->ctx.clock = &ph->clock;
	assert_non_null(ph->ctx.nvm = nvm_new());
	assert_int_equal(sim_ios_new(&ph->d, iosprof_get(g_ios[which]), &ph->ctx), SIM_OK);
	sim_ios_power(ph->d, SIM_POWER_COLD);
	apdu_hex(iosprof_get(g_ios[which])->device_id, IOS_DEVICE_ID_LEN, ph->id);
}

static void iphone_free(iphone_t *ph)
{
	sim_ios_free(ph->d);
	nvm_free(ph->ctx.nvm);
}

static uint8_t *unhex(const char *s, size_t *n)
{
	size_t len = strlen(s);
	uint8_t *p = malloc(len / 2 + 1);

	assert_non_null(p);
	assert_int_equal(apdu_unhex(s, p, len / 2 + 1), (long)(len / 2));
	*n = len / 2;
	return p;
}

/* The installed certificate's key as DER SubjectPublicKeyInfo (hex). */
static json_t *installed_spki(iphone_t *ph, int slot)
{
	ios_view_t v;
	const uint8_t *p;
	X509 *x;
	uint8_t *der = NULL;
	int n;
	json_t *j;

	sim_ios_view(ph->d, &v);
	if (!v.cert[slot].n)
		return NULL;
	p = v.cert[slot].p;
	assert_non_null(x = d2i_X509(NULL, &p, (long)v.cert[slot].n));
	assert_true((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) > 0);
	j = tsm_jhex(der, (size_t)n);
	OPENSSL_free(der);
	X509_free(x);
	return j;
}

/* How the app answers, and what a test changes in it. */
typedef struct app {
	const char *text_pin, *sign_pin;
	iphone_t *install_on;  /* NULL: the phone that attested */
	iphone_t *attest_with; /* NULL: the phone of the session */
	void (*tamper)(json_t *req);
	json_t *last_attest;   /* the last attestation answer posted (a copy) */
	int abandoned;         /* the card refused: the app gave up */
} app_t;

/* The answer to action a, or NULL when the app abandons. */
static json_t *answer_to(iphone_t *ph, card_t *k, app_t *o, json_t *a)
{
	const char *action = jstr(a, "action");
	json_t *req = json_pack("{s:O}", "step", json_object_get(a, "step")), *v;
	size_t i;

	if (!strcmp(action, "attest")) {
		iphone_t *d = o->attest_with ? o->attest_with : ph;
		json_t *keys = json_object();
		ios_attestation_t att;
		uint8_t *ch;
		size_t chn;
		ios_view_t view;
		static const char *const names[2] = { "auth", "sign" };
		json_array_foreach(json_object_get(a, "keygen"), i, v) {
			uint8_t spki[IOS_SPKI_MAX];
			size_t n;
			int s = strcmp(json_string_value(v), "auth") ? 1 : 0;
			assert_int_equal(ios_keygen(d->d, (enum ios_slot)s, spki, sizeof spki, &n), SIM_OK);
			json_object_set_new(keys, names[s], tsm_jhex(spki, n));
		}
		for (int s = 0; s < 2; s++) {
			json_t *cur = json_object_get(keys, names[s]) ? NULL : installed_spki(d, s);
			if (cur) /* a slot not renewed: its installed key, as attested */
				json_object_set_new(keys, names[s], cur);
		}
		ch = unhex(jstr(a, "challenge"), &chn);
		assert_int_equal(ios_attest(d->d, ch, chn, &att), SIM_OK);
		free(ch);
		sim_ios_view(d->d, &view);
		json_object_set_new(req, "attestation",
				    json_pack("{s:o, s:o}", "signature", tsm_jhex(att.sig, att.sig_len), "device_cert",
					      tsm_jhex(att.device_cert.p, att.device_cert.n)));
		json_object_set_new(req, "keys", keys);
		json_object_set_new(req, "biometric", json_string(ios_bio_name(view.bio)));
	} else if (!strcmp(action, "card_sign")) {
		uint8_t rsp[600];
		size_t rn;
		char cmd[256];
		json_t *sigs;
		if (json_is_true(json_object_get(a, "read_text"))) {
			/* the 入力補助 PIN, then the basic four items (EF 0002) */
			assert_int_equal(tx(k->c, TEXT_AP, NULL, NULL), 0x9000);
			assert_int_equal(tx(k->c, "00A4020C020011", NULL, NULL), 0x9000);
			snprintf(cmd, sizeof cmd, "0020008004%02X%02X%02X%02X", o->text_pin[0], o->text_pin[1], o->text_pin[2],
				 o->text_pin[3]);
			if (tx(k->c, cmd, NULL, NULL) != 0x9000)
				goto abandon;
			assert_int_equal(tx(k->c, "00A4020C020002", NULL, NULL), 0x9000);
			assert_int_equal(tx(k->c, "00B0000000", rsp, &rn), 0x9000);
			json_object_set_new(req, "card_text", tsm_jhex(rsp, rn));
		}
		assert_int_equal(tx(k->c, JPKI_AP, NULL, NULL), 0x9000);
		assert_int_equal(tx(k->c, "00A4020C02001B", NULL, NULL), 0x9000);
		{
			size_t n = strlen(o->sign_pin), off;
			off = (size_t)snprintf(cmd, sizeof cmd, "00200080%02X", (unsigned)n);
			for (size_t j = 0; j < n; j++)
				off += (size_t)snprintf(cmd + off, sizeof cmd - off, "%02X", o->sign_pin[j]);
		}
		if (tx(k->c, cmd, NULL, NULL) != 0x9000)
			goto abandon;
		assert_int_equal(tx(k->c, "00A4020C02001A", NULL, NULL), 0x9000);
		sigs = json_array();
		json_array_foreach(json_object_get(a, "digest_infos"), i, v) {
			snprintf(cmd, sizeof cmd, "802A008033%s00", json_string_value(v));
			assert_int_equal(tx(k->c, cmd, rsp, &rn), 0x9000);
			json_array_append_new(sigs, tsm_jhex(rsp, rn));
		}
		json_object_set_new(req, "signatures", sigs);
	} else if (!strcmp(action, "install")) {
		iphone_t *d = o->install_on ? o->install_on : ph;
		json_t *c = json_object_get(a, "credential");
		ios_cred_t cred = { 0 };
		uint8_t *b[6];
		size_t n[6];
		static const char *const f[6] = { "device_id", "auth_cert", "auth_ca", "sign_cert", "sign_ca", "signature" };
		int rc, lift = !json_array_size(json_object_get(a, "new_pins"));
		for (int j = 0; j < 6; j++)
			b[j] = unhex(jstr(c, f[j]), &n[j]);
		assert_int_equal(n[0], IOS_DEVICE_ID_LEN);
		memcpy(cred.device_id, b[0], IOS_DEVICE_ID_LEN);
		cred.auth_cert = (ios_blob_t){ b[1], n[1] };
		cred.auth_ca = (ios_blob_t){ b[2], n[2] };
		cred.sign_cert = (ios_blob_t){ b[3], n[3] };
		cred.sign_ca = (ios_blob_t){ b[4], n[4] };
		cred.sig = (ios_blob_t){ b[5], n[5] };
		rc = ios_install(d->d, &cred, lift ? NULL : NEW_AUTH, lift ? NULL : NEW_SIGN);
		for (int j = 0; j < 6; j++)
			free(b[j]);
		json_object_set_new(req, "installed", json_boolean(rc == SIM_OK));
		if (rc != SIM_OK)
			json_object_set_new(req, "error", json_string(ios_strerror(rc)));
	} else if (!strcmp(action, "remove")) {
		assert_int_equal(ios_remove(ph->d), SIM_OK);
		json_object_set_new(req, "removed", json_true());
	} else if (!strcmp(action, "erase")) {
		assert_int_equal(ios_erase_slot(ph->d, strcmp(jstr(a, "slot"), "sign") ? IOS_SLOT_AUTH : IOS_SLOT_SIGN), SIM_OK);
		json_object_set_new(req, "erased", json_true());
	} else if (!strcmp(action, "set_pins")) {
		int sign = !strcmp(jstr(a, "slot"), "sign");
		assert_int_equal(ios_set_pins(ph->d, sign ? NULL : "9753", sign ? "RESET2026" : NULL), SIM_OK);
		json_object_set_new(req, "set", json_true());
	} else {
		fail_msg("unknown action %s", action);
	}
	if (o->tamper)
		o->tamper(req);
	if (!strcmp(action, "attest")) {
		json_decref(o->last_attest);
		o->last_attest = json_deep_copy(req);
	}
	return req;
abandon:
	o->abandoned = 1;
	json_decref(req);
	return NULL;
}

/* A command to the iPhone (hex): its status word. */
static uint16_t ios_sw(iphone_t *ph, const char *hex)
{
	uint8_t in[300], rsp[600];
	long n = apdu_unhex(hex, in, sizeof in);
	size_t rn = 0;

	assert_true(n > 0);
	assert_int_equal(sim_ios_transmit(ph->d, in, (size_t)n, rsp, sizeof rsp, &rn), SIM_OK);
	assert_true(rn >= 2);
	return rn >= 2 ? (uint16_t)(rsp[rn - 2] << 8 | rsp[rn - 1]) : 0;
}

/* Begin op for the iPhone with the card (NULL: a check-in); fields: more
 * of the body (JSON text or NULL).  Returns the status, *a the answer. */
static int begin(tsm_world_t *w, iphone_t *ph, card_t *k, const char *op, const char *fields, json_t **a)
{
	json_t *b = json_pack("{s:s, s:s}", "op", op, "device", ph->id);
	int st;

	if (k)
		json_object_set_new(b, "card_serial", json_string(k->serial));
	if (!strcmp(op, "issue") || !strcmp(op, "reissue") || !strcmp(op, "renew"))
		json_object_set_new(b, "liveness", json_string("pass"));
	if (fields) {
		json_t *more = json_loads(fields, 0, NULL);
		assert_non_null(more);
		json_object_update(b, more);
		json_decref(more);
	}
	st = call(w, "POST", "/v1/wallet/sessions", b, a);
	json_decref(b);
	return st;
}

/* Answer every action until done (0), the app abandons (-1), or a step's
 * status is not 200 (that status; *a the error). */
static int drive(tsm_world_t *w, iphone_t *ph, card_t *k, app_t *o, json_t **a)
{
	for (int n = 0; n < 10; n++) {
		char path[128];
		json_t *req;
		int st;

		if (!strcmp(jstr(*a, "action"), "done"))
			return 0;
		if (!(req = answer_to(ph, k, o, *a)))
			return -1;
		snprintf(path, sizeof path, "/v1/wallet/sessions/%s/steps", jstr(*a, "session"));
		json_decref(*a);
		st = call(w, "POST", path, req, a);
		json_decref(req);
		if (st != 200)
			return st;
	}
	fail_msg("the session did not end in 10 steps");
	return -2;
}

/* A whole operation with the default app: its final answer (done). */
static json_t *run_op(tsm_world_t *w, iphone_t *ph, card_t *k, const char *op, const char *fields)
{
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN };
	json_t *a;

	assert_int_equal(begin(w, ph, k, op, fields, &a), 201);
	if (drive(w, ph, k, &o, &a) != 0) {
		char *s = json_dumps(a, JSON_COMPACT);
		fail_msg("%s: %s", op, s);
	}
	json_decref(o.last_attest);
	return a;
}

static int setup(void **state)
{
	char err[512], path[4096];
	(void)state;

	if (!(g_card_prof = profile_load(profile_default_path(), err, sizeof err)))
		return -1;
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/ios/iphone-%c.lua", profile_fixtures_dir(), 'a' + i);
		if (!(g_ios[i] = iosprof_load(path, err, sizeof err))) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	profile_free(g_card_prof);
	for (int i = 0; i < 3; i++)
		iosprof_free(g_ios[i]);
	return 0;
}

/* ---- the tests ---- */

/* The whole provisioning: the credential installed on the iPhone with
 * the CA's two new certificates linked to alice's card, the registry's
 * record an active iPhone, the new iPhone PINs set (the auth PIN through
 * VERIFY with biometrics off, 9000), registry and CA in agreement. */
static void test_provision(void **state)
{
	tsm_world_t *w = world();
	iphone_t ph;
	card_t k;
	json_t *a, *r, *rec;
	ios_view_t v;
	(void)state;

	iphone_new(&ph, 0);
	card_new(&k);
	a = run_op(w, &ph, &k, "issue", NULL);
	r = json_object_get(a, "result");
	assert_string_equal(cert_status(w, jstr(r, "auth_serial")), "valid");
	assert_string_equal(cert_status(w, jstr(r, "sign_serial")), "valid");
	assert_string_equal(jstr(r, "card_serial"), k.serial);
	assert_int_equal(phone_certs(w, NULL), 2);
	assert_non_null(rec = record_of(w, jstr(r, "device")));
	assert_string_equal(jstr(rec, "platform"), "ios");
	assert_string_equal(jstr(rec, "status"), "active");
	assert_string_equal(jstr(rec, "holder"), "alice");
	assert_string_equal(jstr(rec, "auth_serial"), jstr(r, "auth_serial"));
	assert_string_equal(jstr(rec, "credential"), "installed");
	json_decref(rec);
	sim_ios_view(ph.d, &v);
	assert_true(v.installed);
	assert_true(v.cert[0].n > 0 && v.cert[1].n > 0);
	assert_int_equal(v.pin[0].tries, 3);
	assert_int_equal(v.pin[1].tries, 5);
	{
		uint64_t s;
		ca_info_t ci;
		assert_int_equal(ca_serial_parse(jstr(r, "sign_serial"), &s), 0);
		assert_int_equal(ca_status(w->ca_app.ca, s, &ci), CA_OK);
		assert_int_equal(ci.kind, CA_PHONE);
		assert_int_equal(ca_serial_parse(k.serial, &s), 0);
		assert_true(ci.card_serial == s);
	}
	/* the new auth PIN is the phone's, not the card's */
	ios_biometric(ph.d, IOS_BIO_DISABLED);
	{
		uint8_t rsp[64];
		size_t rn;
		uint16_t sw;
		uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01 };
		uint8_t ef[] = { 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18 };
		uint8_t vf[] = { 0x00, 0x20, 0x00, 0x80, 0x04, '2', '4', '6', '8' };
		assert_int_equal(sim_ios_transmit(ph.d, sel, sizeof sel, rsp, sizeof rsp, &rn), SIM_OK);
		assert_int_equal(sim_ios_transmit(ph.d, ef, sizeof ef, rsp, sizeof rsp, &rn), SIM_OK);
		assert_int_equal(sim_ios_transmit(ph.d, vf, sizeof vf, rsp, sizeof rsp, &rn), SIM_OK);
		sw = (uint16_t)(rsp[rn - 2] << 8 | rsp[rn - 1]);
		assert_int_equal(sw, 0x9000);
	}
	expect_clean(w);
	json_decref(a);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
}

/* Nothing issued, nothing recorded: the CA has no phone certificate of
 * alice, the registry no record of the iPhone, the iPhone no credential. */
static void expect_nothing(tsm_world_t *w, iphone_t *ph)
{
	char dev[40];
	json_t *rec;
	ios_view_t v;

	snprintf(dev, sizeof dev, "ios-%s", ph->id);
	assert_int_equal(phone_certs(w, NULL), 0);
	rec = record_of(w, dev);
	assert_null(rec);
	sim_ios_view(ph->d, &v);
	assert_false(v.installed);
}

/* A run of issue that must fail at some step with status, field. */
static void expect_refused(tsm_world_t *w, iphone_t *ph, card_t *k, app_t *o, int status, const char *field,
			   const char *words)
{
	json_t *a;

	assert_int_equal(begin(w, ph, k, "issue", NULL, &a), 201);
	assert_int_equal(drive(w, ph, k, o, &a), status);
	assert_string_equal(jstr(json_object_get(a, "error"), "field"), field);
	if (words && !strstr(jstr(json_object_get(a, "error"), "error"), words))
		fail_msg("%s: not in \"%s\"", words, jstr(json_object_get(a, "error"), "error"));
	json_decref(a);
	json_decref(o->last_attest);
	o->last_attest = NULL;
}

static void flip_signature(json_t *req)
{
	json_t *att = json_object_get(req, "attestation");
	char *s;

	if (!att)
		return;
	s = strdup(jstr(att, "signature"));
	s[10] = s[10] == '0' ? '1' : '0';
	json_object_set_new(att, "signature", json_string(s));
	free(s);
}

static void swap_key(json_t *req)
{
	json_t *keys = json_object_get(req, "keys");

	if (keys) /* the sign key claimed for auth: not what the device attested */
		json_object_set(keys, "auth", json_object_get(keys, "sign"));
}

/* A bad attestation: a flipped bit of its signature, keys other than
 * those the device signed, another device's attestation (its certificate
 * names another device): 403 attestation, nothing issued. */
static void test_bad_attestation(void **state)
{
	tsm_world_t *w = world();
	iphone_t ph, other;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN, .tamper = flip_signature };
	(void)state;

	iphone_new(&ph, 0);
	iphone_new(&other, 1);
	card_new(&k);
	expect_refused(w, &ph, &k, &o, 403, "attestation", "does not verify");
	o.tamper = swap_key;
	expect_refused(w, &ph, &k, &o, 403, "attestation", "does not verify");
	o.tamper = NULL;
	o.attest_with = &other;
	expect_refused(w, &ph, &k, &o, 403, "attestation", "names another device");
	expect_nothing(w, &ph);
	card_free(&k);
	iphone_free(&ph);
	iphone_free(&other);
	tsm_world_close(w);
}

/* A device certificate for the right device id and the device's own
 * attestation key, certified by a CA other than the platform's (pool-61,
 * self-made here): 403 attestation, the chain is refused. */
static X509 *g_rogue;
static void rogue_cert(json_t *req)
{
	json_t *att = json_object_get(req, "attestation");
	uint8_t *der = NULL;
	int n;

	if (!att)
		return;
	assert_true((n = i2d_X509(g_rogue, &der)) > 0);
	json_object_set_new(att, "device_cert", tsm_jhex(der, (size_t)n));
	OPENSSL_free(der);
}

static EVP_PKEY *pool_key(int n)
{
	char path[4096];
	FILE *f;
	EVP_PKEY *k;

	snprintf(path, sizeof path, "%s/keys/pool-%02d.pem", profile_fixtures_dir(), n);
	assert_non_null(f = fopen(path, "r"));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

static void test_chain_not_platform(void **state)
{
	tsm_world_t *w = world();
	iphone_t ph;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN, .tamper = rogue_cert };
	EVP_PKEY *dev = pool_key(58), *rogue_ca = pool_key(61);
	X509_NAME *name = X509_NAME_new();
	(void)state;

	iphone_new(&ph, 0);
	card_new(&k);
	assert_non_null(g_rogue = X509_new());
	X509_set_version(g_rogue, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(g_rogue), 77);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"MYNAHIL-TEST-PLATFORM", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_ASC, (const unsigned char *)ph.id, -1, -1, 0);
	X509_set_subject_name(g_rogue, name);
	{
		/* the platform CA's name, not its key */
		X509_NAME *iss = X509_NAME_new();
		X509_NAME_add_entry_by_txt(iss, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0);
		X509_NAME_add_entry_by_txt(iss, "O", MBSTRING_ASC, (const unsigned char *)"MYNAHIL-TEST-PLATFORM", -1, -1, 0);
		X509_NAME_add_entry_by_txt(iss, "OU", MBSTRING_ASC, (const unsigned char *)"mynahil test platform CA", -1, -1, 0);
		X509_set_issuer_name(g_rogue, iss);
		X509_NAME_free(iss);
	}
	ASN1_TIME_set_string(X509_getm_notBefore(g_rogue), "20250601000000Z");
	ASN1_TIME_set_string(X509_getm_notAfter(g_rogue), "20350531145959Z");
	X509_set_pubkey(g_rogue, dev);
	assert_true(X509_sign(g_rogue, rogue_ca, EVP_sha256()) > 0);
	expect_refused(w, &ph, &k, &o, 403, "attestation", "does not chain to the platform CA");
	expect_nothing(w, &ph);
	X509_NAME_free(name);
	X509_free(g_rogue);
	EVP_PKEY_free(dev);
	EVP_PKEY_free(rogue_ca);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
}

/* The challenge is one use and the session's own: an attestation made
 * for session A's challenge is refused in session B (403 attestation),
 * and posted again in A after A took it, refused as a stale step (409). */
static void test_replayed_nonce(void **state)
{
	tsm_world_t *w = world();
	iphone_t ph;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN };
	json_t *a, *b, *req, *out;
	char path[128];
	(void)state;

	iphone_new(&ph, 0);
	card_new(&k);
	assert_int_equal(begin(w, &ph, &k, "issue", NULL, &a), 201);
	req = answer_to(&ph, &k, &o, a);
	snprintf(path, sizeof path, "/v1/wallet/sessions/%s/steps", jstr(a, "session"));
	assert_int_equal(call(w, "POST", path, req, &out), 200);
	assert_string_equal(jstr(out, "action"), "card_sign");
	json_decref(out);
	assert_int_equal(call(w, "POST", path, req, &out), 409);
	assert_string_equal(jstr(out, "field"), "step");
	json_decref(out);
	/* session B, A's attestation */
	assert_int_equal(begin(w, &ph, &k, "issue", NULL, &b), 201);
	assert_string_not_equal(jstr(b, "challenge"), jstr(a, "challenge"));
	snprintf(path, sizeof path, "/v1/wallet/sessions/%s/steps", jstr(b, "session"));
	json_object_set(req, "step", json_object_get(b, "step"));
	assert_int_equal(call(w, "POST", path, req, &out), 403);
	assert_string_equal(jstr(json_object_get(out, "error"), "field"), "attestation");
	json_decref(out);
	expect_nothing(w, &ph);
	json_decref(req);
	json_decref(a);
	json_decref(b);
	json_decref(o.last_attest);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
}

/* A credential replayed on another iPhone: issued for iphone-a, given to
 * iphone-b, which refuses it (it names iphone-a); the app says so and
 * the service revokes the certificates no device will use (422
 * installed; both cessationOfOperation at the CA, the record revoked). */
static void test_credential_other_device(void **state)
{
	tsm_world_t *w = world();
	iphone_t ph, other;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN };
	ios_view_t v;
	json_t *rec;
	char dev[40];
	(void)state;

	iphone_new(&ph, 0);
	iphone_new(&other, 1);
	card_new(&k);
	o.install_on = &other;
	expect_refused(w, &ph, &k, &o, 422, "installed", "another device");
	sim_ios_view(other.d, &v);
	assert_false(v.installed);
	sim_ios_view(ph.d, &v);
	assert_false(v.installed);
	assert_int_equal(phone_certs(w, NULL), 2);
	assert_int_equal(phone_certs(w, "revoked"), 2);
	snprintf(dev, sizeof dev, "ios-%s", ph.id);
	assert_non_null(rec = record_of(w, dev));
	assert_string_equal(jstr(rec, "status"), "revoked");
	json_decref(rec);
	expect_clean(w);
	card_free(&k);
	iphone_free(&ph);
	iphone_free(&other);
	tsm_world_close(w);
}

/* A wrong card PIN (the sign password, then the 入力補助 PIN): the card
 * answers 63Cx, the app cannot get the signatures or the text and gives
 * up; one try spent on the card, nothing issued or recorded. */
static void test_wrong_card_pin(void **state)
{
	tsm_world_t *w = world();
	iphone_t ph;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = "WRONG999" };
	json_t *a;
	(void)state;

	iphone_new(&ph, 0);
	card_new(&k);
	assert_int_equal(card_tries(&k, JPKI_AP, "001B"), 5);
	assert_int_equal(begin(w, &ph, &k, "issue", NULL, &a), 201);
	assert_int_equal(drive(w, &ph, &k, &o, &a), -1);
	assert_true(o.abandoned);
	json_decref(a);
	assert_int_equal(card_tries(&k, JPKI_AP, "001B"), 4);
	json_decref(o.last_attest);
	o = (app_t){ .text_pin = "9999", .sign_pin = SIGN_PIN };
	assert_int_equal(card_tries(&k, TEXT_AP, "0011"), 3);
	assert_int_equal(begin(w, &ph, &k, "issue", NULL, &a), 201);
	assert_int_equal(drive(w, &ph, &k, &o, &a), -1);
	json_decref(a);
	json_decref(o.last_attest);
	assert_int_equal(card_tries(&k, TEXT_AP, "0011"), 2);
	expect_nothing(w, &ph);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
}

static void drop_card_text(json_t *req)
{
	json_object_del(req, "card_text");
}

/* The card's text, read after its 入力補助 PIN, comes with the card's
 * signatures: without it 400 card_text (a malformed answer: the same
 * step stays open), nothing issued. */
static void test_card_text_required(void **state)
{
	tsm_world_t *w = world();
	iphone_t ph;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN, .tamper = drop_card_text };
	json_t *a;
	(void)state;

	iphone_new(&ph, 0);
	card_new(&k);
	assert_int_equal(begin(w, &ph, &k, "issue", NULL, &a), 201);
	assert_int_equal(drive(w, &ph, &k, &o, &a), 400);
	assert_string_equal(jstr(a, "field"), "card_text");
	json_decref(a);
	json_decref(o.last_attest);
	expect_nothing(w, &ph);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
}

/* Biometrics disabled or not enrolled: the credential cannot be added
 * with Face ID / Touch ID: 409 biometric before anything is issued; the
 * liveness check failed: 403 liveness at once. */
static void test_biometrics_off(void **state)
{
	tsm_world_t *w = world();
	iphone_t ph;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN };
	json_t *a;
	(void)state;

	iphone_new(&ph, 0);
	card_new(&k);
	ios_biometric(ph.d, IOS_BIO_DISABLED);
	expect_refused(w, &ph, &k, &o, 409, "biometric", "disabled");
	ios_biometric(ph.d, IOS_BIO_NOT_ENROLLED);
	expect_refused(w, &ph, &k, &o, 409, "biometric", "not_enrolled");
	assert_int_equal(begin(w, &ph, &k, "issue", "{\"liveness\":\"fail\"}", &a), 403);
	assert_string_equal(jstr(json_object_get(a, "error"), "field"), "liveness");
	json_decref(a);
	expect_nothing(w, &ph);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
}

/* Malformed requests: 400 naming the field, and no session. */
static void test_refusals(void **state)
{
	tsm_world_t *w = world();
	static const struct {
		const char *body, *field;
		int status;
	} cases[] = {
		{ "{\"op\":\"fly\",\"device\":\"00112233445566778899AABBCCDDEEFF\"}", "op", 400 },
		{ "{\"op\":\"issue\",\"device\":\"0011\",\"card_serial\":\"01\",\"liveness\":\"pass\"}", "device", 400 },
		{ "{\"op\":\"issue\",\"device\":\"00112233445566778899AABBCCDDEEFF\",\"card_serial\":\"01\"}", "liveness", 400 },
		{ "{\"op\":\"issue\",\"device\":\"00112233445566778899AABBCCDDEEFF\",\"card_serial\":\"01\",\"liveness\":\"maybe\"}", "liveness", 400 },
		{ "{\"op\":\"issue\",\"device\":\"00112233445566778899AABBCCDDEEFF\",\"liveness\":\"pass\"}", "card_serial", 400 },
		{ "{\"op\":\"issue\",\"device\":\"00112233445566778899AABBCCDDEEFF\",\"liveness\":\"pass\",\"card_serial\":\"01\",\"pins\":{}}", "pins", 400 },
		{ "{\"op\":\"pin_reset\",\"device\":\"00112233445566778899AABBCCDDEEFF\",\"card_serial\":\"01\"}", "slot", 400 },
		{ "{\"op\":\"sync\",\"device\":\"00112233445566778899AABBCCDDEEFF\"}", "device", 404 },
		{ "{\"op\":\"issue\",\"device\":\"00112233445566778899AABBCCDDEEFF\",\"liveness\":\"pass\",\"card_serial\":\"7FFFFFFF\"}", "card_serial", 404 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *b = json_loads(cases[i].body, 0, NULL), *a;
		assert_int_equal(call(w, "POST", "/v1/wallet/sessions", b, &a), cases[i].status);
		{
			json_t *e = json_object_get(a, "error");
			const char *f = json_is_object(e) ? jstr(e, "field") : jstr(a, "field");
			assert_non_null(f);
			assert_string_equal(f, cases[i].field);
		}
		json_decref(a);
		json_decref(b);
	}
	tsm_world_close(w);
}

/* One phone per holder across iPhones, and the operations on an iPhone:
 * iphone-b's issuance supersedes iphone-a (revoked, deletion pending,
 * removed at its check-in); revoke removes the credential; a card
 * revoked at the CA revokes the iPhone's (linked revocation), removed at
 * the next check-in; the call centre's hold then lift (auth reinstated,
 * same serial; sign revoked and issued anew); PIN reset with the card. */
static void test_operations(void **state)
{
	tsm_world_t *w = world();
	iphone_t a_ph, b_ph;
	card_t k;
	json_t *a, *b, *r, *rec, *x;
	ios_view_t v;
	char adev[40], auth1[17], sign1[17];
	(void)state;

	iphone_new(&a_ph, 0);
	iphone_new(&b_ph, 1);
	card_new(&k);
	a = run_op(w, &a_ph, &k, "issue", NULL);
	snprintf(adev, sizeof adev, "%s", jstr(json_object_get(a, "result"), "device"));
	b = run_op(w, &b_ph, &k, "issue", NULL);
	r = json_object_get(b, "result");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "superseded"), 0)), adev);
	assert_string_equal(cert_status(w, jstr(json_object_get(a, "result"), "auth_serial")), "revoked");
	assert_non_null(rec = record_of(w, adev));
	assert_string_equal(jstr(rec, "status"), "revoked");
	assert_true(json_is_true(json_object_get(rec, "pending_delete")));
	json_decref(rec);
	sim_ios_view(a_ph.d, &v);
	assert_true(v.installed); /* until it checks in */
	x = run_op(w, &a_ph, NULL, "sync", NULL);
	assert_true(json_is_true(json_object_get(json_object_get(x, "result"), "removed")));
	json_decref(x);
	sim_ios_view(a_ph.d, &v);
	assert_false(v.installed);
	assert_non_null(rec = record_of(w, adev));
	assert_null(json_object_get(rec, "pending_delete"));
	json_decref(rec);
	/* a factory reset keeps the credential */
	assert_int_equal(ios_factory_reset(b_ph.d), SIM_OK);
	sim_ios_view(b_ph.d, &v);
	assert_true(v.installed);
	ios_biometric(b_ph.d, IOS_BIO_MATCH);
	/* PIN reset with the card */
	/* PIN reset with the card: a wrong sign password spends a try, the
	 * reset sets the new one (RESET2026, answer_to) with the count full */
	assert_int_equal(ios_sw(&b_ph, JPKI_AP), 0x9000);
	assert_int_equal(ios_sw(&b_ph, "00A4020C02001B"), 0x9000);
	assert_int_equal(ios_sw(&b_ph, "00200080095752304E4750573939"), 0x63C4); /* "WR0NGPW99" */
	x = run_op(w, &b_ph, &k, "pin_reset", "{\"slot\":\"sign\"}");
	json_decref(x);
	assert_int_equal(ios_sw(&b_ph, JPKI_AP), 0x9000);
	assert_int_equal(ios_sw(&b_ph, "00A4020C02001B"), 0x9000);
	assert_int_equal(ios_sw(&b_ph, "00200080"), 0x63C5);
	assert_int_equal(ios_sw(&b_ph, "0020008009524553455432303236"), 0x9000); /* "RESET2026" */
	/* the call centre holds, the holder lifts */
	snprintf(auth1, sizeof auth1, "%s", jstr(r, "auth_serial"));
	snprintf(sign1, sizeof sign1, "%s", jstr(r, "sign_serial"));
	{
		json_t *h = json_pack("{s:s}", "holder", "alice");
		assert_int_equal(call(w, "POST", "/v1/tsm/callcenter/hold", h, &x), 200);
		json_decref(h);
		json_decref(x);
	}
	assert_string_equal(cert_status(w, auth1), "hold");
	x = run_op(w, &b_ph, &k, "lift", NULL);
	assert_string_equal(jstr(json_object_get(x, "result"), "auth_serial"), auth1);
	assert_string_not_equal(jstr(json_object_get(x, "result"), "sign_serial"), sign1);
	assert_string_equal(cert_status(w, auth1), "valid");
	assert_string_equal(cert_status(w, sign1), "revoked");
	assert_string_equal(cert_status(w, jstr(json_object_get(x, "result"), "sign_serial")), "valid");
	json_decref(x);
	sim_ios_view(b_ph.d, &v);
	assert_true(v.installed);
	assert_int_equal(v.pin[1].tries, 5);
	expect_clean(w);
	/* revoke: the credential removed now */
	x = run_op(w, &b_ph, &k, "revoke", NULL);
	json_decref(x);
	sim_ios_view(b_ph.d, &v);
	assert_false(v.installed);
	assert_int_equal(phone_certs(w, "valid"), 0);
	/* reissue, then the card's sign certificate revoked at the CA */
	x = run_op(w, &b_ph, &k, "reissue", NULL);
	json_decref(x);
	{
		uint64_t cs;
		assert_int_equal(ca_serial_parse(k.serial, &cs), 0);
		assert_int_equal(ca_revoke(w->ca_app.ca, cs, CA_REASON_KEY_COMPROMISE), CA_OK);
	}
	x = run_op(w, &b_ph, NULL, "sync", NULL);
	assert_string_equal(jstr(json_object_get(x, "result"), "reason"), "card_revoked");
	json_decref(x);
	sim_ios_view(b_ph.d, &v);
	assert_false(v.installed);
	expect_clean(w);
	json_decref(a);
	json_decref(b);
	card_free(&k);
	iphone_free(&a_ph);
	iphone_free(&b_ph);
	tsm_world_close(w);
}

/* Half-valid (docs/ios.md#half-valid): revoke with certs = sign revokes
 * the sign certificate alone, the auth one stays valid and the record is
 * half; under half_valid = block the iPhone keeps the whole credential and
 * the answer warns, under erase_revoked it erases the sign pair (an erase
 * action).  certs outside a revocation is refused (400 certs), and certs
 * naming a pair the iPhone has no live certificate of is 409. */
static void half_case(const char *policy, int erase)
{
	tsm_world_t *w = world();
	iphone_t ph;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN };
	json_t *a, *r, *i, *rec;
	char fields[96];
	ios_view_t v;

	iphone_new(&ph, 0);
	card_new(&k);
	assert_int_equal(begin(w, &ph, &k, "issue", "{\"certs\":\"sign\"}", &a), 400);
	assert_string_equal(jstr(a, "field"), "certs");
	json_decref(a);
	i = run_op(w, &ph, &k, "issue", NULL);
	snprintf(fields, sizeof fields, "{\"certs\":\"sign\",\"policy\":{\"half_valid\":\"%s\"}}", policy);
	assert_int_equal(begin(w, &ph, &k, "revoke", fields, &a), 201);
	assert_int_equal(drive(w, &ph, &k, &o, &a), 0);
	r = json_object_get(a, "result");
	assert_string_equal(jstr(r, "status"), "half");
	assert_string_equal(jstr(r, "revoked"), "sign");
	assert_int_equal(json_is_true(json_object_get(r, "erased")), erase);
	assert_int_equal(jstr(r, "warning") != NULL, !erase);
	assert_string_equal(cert_status(w, jstr(json_object_get(i, "result"), "auth_serial")), "valid");
	assert_string_equal(cert_status(w, jstr(json_object_get(i, "result"), "sign_serial")), "revoked");
	assert_non_null(rec = record_of(w, jstr(r, "device")));
	assert_string_equal(jstr(rec, "status"), "half");
	assert_null(json_object_get(rec, "pending_revoke"));
	json_decref(rec);
	sim_ios_view(ph.d, &v);
	assert_true(v.installed);
	assert_int_equal(v.cert[1].n != 0, !erase);
	assert_true(v.cert[0].n != 0);
	expect_clean(w);
	json_decref(a);
	/* the sign pair is no longer live: revoking it alone again is 409 */
	assert_int_equal(begin(w, &ph, &k, "revoke", "{\"certs\":\"sign\"}", &a), 409);
	assert_string_equal(jstr(json_object_get(a, "error"), "field"), "certs");
	json_decref(a);
	json_decref(o.last_attest);
	json_decref(i);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
}

static void test_half_valid(void **state)
{
	(void)state;
	half_case("block", 0);
	half_case("erase_revoked", 1);
}

/* ---- crash recovery (docs/ios.md#crash-recovery) ---- */

static void rm_db(const char *db)
{
	static const char *const sfx[] = { "", "-wal", "-shm", ".ca", ".ca-wal", ".ca-shm" };
	char p[160];

	for (size_t i = 0; i < 6; i++) {
		snprintf(p, sizeof p, "%s%s", db, sfx[i]);
		unlink(p);
	}
}

static tsm_world_t *world_on(const char *db)
{
	tsm_world_t *w;
	tsm_world_opts_t o = { .seed = 5, .db = db };
	char err[256];

	assert_int_equal(tsm_world_open(&w, &o, err, sizeof err), 0);
	assert_non_null(w->wallet);
	return w;
}

static size_t in_flight(tsm_world_t *w)
{
	json_t *j;
	size_t n;

	assert_int_equal(call(w, "GET", "/v1/tsm/check", NULL, &j), 200);
	n = json_array_size(json_object_get(j, "in_flight"));
	json_decref(j);
	return n;
}

static int ca_reason_of(tsm_world_t *w, const char *serial)
{
	uint64_t s;
	ca_info_t ci;

	assert_int_equal(ca_serial_parse(serial, &s), 0);
	assert_int_equal(ca_status(w->ca_app.ca, s, &ci), CA_OK);
	return ci.reason;
}

/* Answer a's actions (attest, card_sign) until the service asks the
 * iPhone to install: the CA has issued, the record says "issued". */
static void until_install(tsm_world_t *w, iphone_t *ph, card_t *k, app_t *o, json_t *a)
{
	while (strcmp(jstr(a, "action"), "install")) {
		char path[128];
		json_t *req = answer_to(ph, k, o, a);
		assert_non_null(req);
		snprintf(path, sizeof path, "/v1/wallet/sessions/%s/steps", jstr(a, "session"));
		json_decref(a);
		assert_int_equal(call(w, "POST", path, req, &a), 200);
		json_decref(req);
	}
	json_decref(a);
	json_decref(o->last_attest);
	o->last_attest = NULL;
}

/* The service killed (the world closed, the app's answer never posted)
 * after the CA issued both certificates and the registry recorded them,
 * before the iPhone installed the credential: the certificates are valid
 * and in flight.  At the next open the TSM undoes the request from its
 * intent: both revoked (cessationOfOperation), the record revoked with
 * the credential's removal pending (reason interrupted: the service does
 * not know whether the iPhone got it), nothing in flight, registry and
 * CA in agreement; the holder then issues again (a new stream: not the
 * old requests answered with their revoked certificates). */
static void test_crash_before_install(void **state)
{
	char db[64], dev[40], auth[17], sign[17], ch1[80];
	tsm_world_t *w;
	iphone_t ph;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN };
	json_t *a, *rec, *r;
	(void)state;

	snprintf(db, sizeof db, "/tmp/test_hil_wallet_%d_a.db", (int)getpid());
	rm_db(db);
	w = world_on(db);
	iphone_new(&ph, 0);
	card_new(&k);
	snprintf(dev, sizeof dev, "ios-%s", ph.id);
	assert_int_equal(begin(w, &ph, &k, "issue", NULL, &a), 201);
	snprintf(ch1, sizeof ch1, "%s", jstr(a, "challenge"));
	until_install(w, &ph, &k, &o, a);
	assert_non_null(rec = record_of(w, dev));
	assert_string_equal(jstr(rec, "credential"), "issued");
	snprintf(auth, sizeof auth, "%s", jstr(rec, "auth_serial"));
	snprintf(sign, sizeof sign, "%s", jstr(rec, "sign_serial"));
	json_decref(rec);
	assert_string_equal(cert_status(w, auth), "valid");
	assert_string_equal(cert_status(w, sign), "valid");
	assert_int_equal(in_flight(w), 1);
	tsm_world_close(w); /* killed */

	w = world_on(db);
	assert_string_equal(cert_status(w, auth), "revoked");
	assert_string_equal(cert_status(w, sign), "revoked");
	assert_int_equal(ca_reason_of(w, auth), CA_REASON_CESSATION);
	assert_int_equal(phone_certs(w, "valid"), 0);
	assert_non_null(rec = record_of(w, dev));
	assert_string_equal(jstr(rec, "status"), "revoked");
	assert_string_equal(jstr(rec, "reason"), "interrupted");
	assert_true(json_is_true(json_object_get(rec, "pending_delete")));
	json_decref(rec);
	assert_int_equal(in_flight(w), 0);
	expect_clean(w);
	/* the restarted service's stream is not the killed one's */
	assert_int_equal(begin(w, &ph, &k, "issue", NULL, &a), 201);
	assert_string_not_equal(jstr(a, "challenge"), ch1);
	assert_int_equal(drive(w, &ph, &k, &o, &a), 0);
	json_decref(o.last_attest);
	r = json_object_get(a, "result");
	assert_string_equal(cert_status(w, jstr(r, "auth_serial")), "valid");
	assert_string_not_equal(jstr(r, "auth_serial"), auth);
	assert_int_equal(phone_certs(w, "valid"), 2);
	assert_int_equal(in_flight(w), 0);
	expect_clean(w);
	json_decref(a);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
	rm_db(db);
}

/* Killed right after the CA's first issuance (wallet_fault): the auth
 * certificate valid at the CA with no record naming it (the orphan this
 * guards against), the request in flight.  At the next open: that one
 * revoked, the sign request (which never reached the CA) issued and
 * revoked at once; no certificate of alice's valid, no record, nothing in
 * flight; issuing again works. */
static void test_crash_between_issuances(void **state)
{
	char db[64], dev[40];
	tsm_world_t *w;
	iphone_t ph;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN };
	json_t *a;
	(void)state;

	snprintf(db, sizeof db, "/tmp/test_hil_wallet_%d_b.db", (int)getpid());
	rm_db(db);
	w = world_on(db);
	iphone_new(&ph, 0);
	card_new(&k);
	snprintf(dev, sizeof dev, "ios-%s", ph.id);
	wallet_fault(w->wallet, 1);
	assert_int_equal(begin(w, &ph, &k, "issue", NULL, &a), 201);
	assert_int_equal(drive(w, &ph, &k, &o, &a), 500);
	json_decref(a);
	json_decref(o.last_attest);
	assert_int_equal(phone_certs(w, "valid"), 1);
	assert_null(record_of(w, dev));
	assert_int_equal(in_flight(w), 1);
	tsm_world_close(w); /* killed */

	w = world_on(db);
	assert_int_equal(phone_certs(w, "valid"), 0);
	assert_int_equal(phone_certs(w, "revoked"), 2);
	assert_null(record_of(w, dev));
	assert_int_equal(in_flight(w), 0);
	expect_clean(w);
	json_decref(run_op(w, &ph, &k, "issue", NULL));
	assert_int_equal(phone_certs(w, "valid"), 2);
	expect_clean(w);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
	rm_db(db);
}

/* A lift killed before the iPhone installed: the auth certificate was
 * lifted (it is on the credential the iPhone already has), the old sign
 * one revoked, a new one issued.  At the next open the new sign one is
 * revoked; the auth one stays valid, so the record keeps the iPhone's
 * credential ("installed") and follows the CA: half, the sign pair
 * pending; nothing in flight, registry and CA in agreement. */
static void test_crash_in_lift(void **state)
{
	char db[64], dev[40], auth[17], sign[17];
	tsm_world_t *w;
	iphone_t ph;
	card_t k;
	app_t o = { .text_pin = TEXT_PIN, .sign_pin = SIGN_PIN };
	json_t *a, *rec, *h = json_pack("{s:s}", "holder", "alice");
	(void)state;

	snprintf(db, sizeof db, "/tmp/test_hil_wallet_%d_c.db", (int)getpid());
	rm_db(db);
	w = world_on(db);
	iphone_new(&ph, 0);
	card_new(&k);
	snprintf(dev, sizeof dev, "ios-%s", ph.id);
	json_decref(run_op(w, &ph, &k, "issue", NULL));
	assert_int_equal(call(w, "POST", "/v1/tsm/callcenter/hold", h, &a), 200);
	json_decref(a);
	json_decref(h);
	assert_int_equal(begin(w, &ph, &k, "lift", NULL, &a), 201);
	until_install(w, &ph, &k, &o, a);
	assert_non_null(rec = record_of(w, dev));
	snprintf(auth, sizeof auth, "%s", jstr(rec, "auth_serial"));
	snprintf(sign, sizeof sign, "%s", jstr(rec, "sign_serial"));
	json_decref(rec);
	assert_string_equal(cert_status(w, auth), "valid");
	assert_string_equal(cert_status(w, sign), "valid");
	tsm_world_close(w); /* killed */

	w = world_on(db);
	assert_string_equal(cert_status(w, auth), "valid");
	assert_string_equal(cert_status(w, sign), "revoked");
	assert_non_null(rec = record_of(w, dev));
	assert_string_equal(jstr(rec, "status"), "half");
	assert_string_equal(jstr(rec, "credential"), "installed");
	json_decref(rec);
	assert_int_equal(in_flight(w), 0);
	expect_clean(w);
	card_free(&k);
	iphone_free(&ph);
	tsm_world_close(w);
	rm_db(db);
}

/* The broker's intents refuse what they cannot undo: an intent without
 * its requests is 400 (field requests), an undo of no pending intent 404;
 * neither leaves anything in flight. */
static void test_intent_refusals(void **state)
{
	tsm_world_t *w = world();
	json_t *j, *b = json_object(), *bad = json_pack("{s:s, s:s}", "platform", "ios", "device", "ios-00");
	(void)state;

	assert_int_equal(call(w, "POST", "/v1/tsm/platform/intents/wallet:none/undo", b, &j), 404);
	json_decref(j);
	assert_int_equal(call(w, "POST", "/v1/tsm/platform/intents/wallet:x", bad, &j), 400);
	assert_string_equal(jstr(j, "field"), "requests");
	json_decref(j);
	assert_int_equal(in_flight(w), 0);
	json_decref(b);
	json_decref(bad);
	tsm_world_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_provision),
		cmocka_unit_test(test_bad_attestation),
		cmocka_unit_test(test_chain_not_platform),
		cmocka_unit_test(test_replayed_nonce),
		cmocka_unit_test(test_credential_other_device),
		cmocka_unit_test(test_wrong_card_pin),
		cmocka_unit_test(test_card_text_required),
		cmocka_unit_test(test_biometrics_off),
		cmocka_unit_test(test_operations),
		cmocka_unit_test(test_half_valid),
		cmocka_unit_test(test_crash_before_install),
		cmocka_unit_test(test_crash_between_issuances),
		cmocka_unit_test(test_crash_in_lift),
		cmocka_unit_test(test_intent_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
