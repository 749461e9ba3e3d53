/* test_itsm.c — the SE issuer's TSM (sim/itsm; issue 16 point 3,
 * docs/tsm.md#two-tsms) against a simulated SE, its scripts relayed as an
 * SP-TSM relays them: the SSD made once (a second request answers the
 * one there; made again on an SE wiped since), tokens only for the SP's own SSD and AIDs, receipts that
 * verify counted once, a forged or replayed one refused, a tampered
 * token refused by the SE with nothing changed. */
#include "test_se_fixture.h"

#include <jansson.h>

#include "sim/core/nvm.h"
#include "sim/gp/gpdm.h"
#include "sim/itsm/itsm.h"

#define SSD_AID ITSM_SSD_JPKI
#define OTHER_SSD "D392F000265345"
#define SSD_KEY "1112131415161718191A1B1C1D1E1F20"

static const itsm_sp_t sps[2] = {
	{ ITSM_SP_JPKI, SSD_AID, SX_JPKI_PKG, SX_JPKI_MOD, SX_JPKI_AID },
	{ "other-sp", OTHER_SSD, "D392F000270100", "D392F00027010001", "D392F000270100000001" },
};

typedef struct world {
	sx_t *x;
	se_profile_t p;
	itsm_t *it;
	rng_t rng;
	sim_ctx_t ctx;
	char dev[21];
	se_keyset_t ssd; /* the SP's SSD key set, as the SE holds it */
} world_t;

static int ih(world_t *w, const char *method, const char *path, json_t *body, json_t **out)
{
	int st = itsm_handle(w->it, method, path, body, out);

	json_decref(body);
	assert_non_null(*out);
	return st;
}

static void free_out(json_t **o)
{
	json_decref(*o);
	*o = NULL;
}

/* Each APDU of a script to the SE, as the phone app relays it. */
static json_t *relay(world_t *w, json_t *apdus)
{
	json_t *rsps = json_array(), *v;
	size_t i;

	json_array_foreach(apdus, i, v) {
		uint8_t cmd[600];
		size_t n = sx_unhex(json_string_value(v), cmd, sizeof cmd);
		char h[2 * APDU_MAX_RSP + 1];
		assert_int_equal(sx_send(w->x, cmd, n, NULL), SIM_OK);
		apdu_hex(w->x->rsp, w->x->rsplen, h);
		json_array_append_new(rsps, json_string(h));
	}
	return rsps;
}

static world_t *world_new(void)
{
	world_t *w = calloc(1, sizeof *w);
	itsm_config_t c = { 0 };
	char err[160];
	uint8_t kdd[10];

	assert_non_null(w);
	sx_profile(&w->p);
	w->x = sx_new(&w->p);
	/* The SE's identity: the KDD its INITIALIZE UPDATE answers. */
	assert_int_equal(sx_apdu(w->x, "00A4040008" SX_ISD "00"), 0x9000);
	assert_int_equal(sx_apdu(w->x, "8050000008010203040506070800"), 0x9000);
	memcpy(kdd, w->x->rsp, 10);
	apdu_hex(kdd, 10, w->dev);
	c.keys.kvn = w->p.keysets[0].kvn;
	c.keys.key_len = w->p.keysets[0].key_len;
	memcpy(c.keys.enc, w->p.keysets[0].enc, c.keys.key_len);
	memcpy(c.keys.mac, w->p.keysets[0].mac, c.keys.key_len);
	memcpy(c.keys.dek, w->p.keysets[0].dek, c.keys.key_len);
	c.sps = sps;
	c.nsps = 2;
	rng_seed(&w->rng, 7);
	w->ctx.rng = &w->rng;
	assert_int_equal(itsm_open(&w->it, &w->ctx, &c, err, sizeof err), 0);
	sx_keyset(&w->ssd, 0x30, SSD_KEY, SSD_KEY, SSD_KEY, 0);
	return w;
}

static void world_free(world_t *w)
{
	itsm_close(w->it);
	sx_free(w->x);
	free(w);
}

static json_t *ssd_req(world_t *w, const char *sp)
{
	return json_pack("{s:s, s:s, s:{s:i, s:s, s:s, s:s}}", "sp", sp, "device", w->dev, "keys", "kvn", 0x30, "enc",
			 SSD_KEY, "mac", SSD_KEY, "dek", SSD_KEY);
}

/* The SSD of sp made through both scripts. */
static void make_ssd(world_t *w, const char *sp)
{
	json_t *a = NULL, *b = NULL;
	char path[80];

	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd", ssd_req(w, sp), &a), 201);
	assert_string_equal(json_string_value(json_object_get(a, "state")), "script");
	assert_int_equal(json_array_size(json_object_get(a, "apdus")), 2);
	snprintf(path, sizeof path, "/v1/issuer/ssd/%s", json_string_value(json_object_get(a, "id")));
	assert_int_equal(ih(w, "POST", path, json_pack("{s:o}", "responses", relay(w, json_object_get(a, "apdus"))), &b), 200);
	/* EA; PUT KEY 70, 71 (the first SSD on this SE); INSTALL, INSTALL
	 * [for personalization], PUT KEY of the SSD's set. */
	assert_int_equal(json_array_size(json_object_get(b, "apdus")), 6);
	free_out(&a);
	assert_int_equal(ih(w, "POST", path, json_pack("{s:o}", "responses", relay(w, json_object_get(b, "apdus"))), &a), 200);
	assert_string_equal(json_string_value(json_object_get(a, "state")), "done");
	assert_string_equal(json_string_value(json_object_get(a, "ssd")), SSD_AID);
	free_out(&a);
	free_out(&b);
}

static void ssd_open(world_t *w)
{
	assert_int_equal(sx_apdu(w->x, "00A4040007" SSD_AID "00"), 0x9000);
	assert_int_equal(sx_open(w->x, &w->ssd, 0x03), 0x9000);
}

/* The SSD once: made, selectable, opened with the SP's keys; asked again
 * it is the one there (no script, no second SSD). */
static void test_ssd_once(void **state)
{
	world_t *w = world_new();
	json_t *a = NULL;
	itsm_stats_t st;
	char path[64];
	(void)state;

	assert_int_equal(sx_apdu(w->x, "00A4040007" SSD_AID "00"), 0x6A82);
	make_ssd(w, ITSM_SP_JPKI);
	ssd_open(w);
	/* The SSD's own GET STATUS: itself, associated with the ISD,
	 * Security Domain and Delegated Management. */
	assert_int_equal(sx_wrapped(w->x, "80F24002024F0000"), 0x9000);
	sx_assert_hex(w->x->plain, w->x->plainlen,
		      "E325" "4F07" SSD_AID "9F700107" "C503A00000" "C407A0000001515350" "CC08" SX_ISD "9000");
	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd", ssd_req(w, ITSM_SP_JPKI), &a), 200);
	assert_string_equal(json_string_value(json_object_get(a, "state")), "exists");
	assert_string_equal(json_string_value(json_object_get(a, "ssd")), SSD_AID);
	free_out(&a);
	itsm_get_stats(w->it, &st);
	assert_int_equal(st.ssds, 1);
	snprintf(path, sizeof path, "/v1/issuer/ses/%s", w->dev);
	assert_int_equal(ih(w, "GET", path, NULL, &a), 200);
	assert_true(json_is_true(json_object_get(a, "dm_keys")));
	assert_non_null(json_object_get(json_object_get(a, "ssds"), ITSM_SP_JPKI));
	assert_null(json_object_get(json_object_get(a, "ssds"), "other-sp"));
	free_out(&a);
	/* Another SP's SSD on the same SE: its own; the DM keys not again
	 * (script 2 is EA and three commands). */
	{
		json_t *b = NULL;
		assert_int_equal(ih(w, "POST", "/v1/issuer/ssd", ssd_req(w, "other-sp"), &a), 201);
		snprintf(path, sizeof path, "/v1/issuer/ssd/%s", json_string_value(json_object_get(a, "id")));
		assert_int_equal(
			ih(w, "POST", path, json_pack("{s:o}", "responses", relay(w, json_object_get(a, "apdus"))), &b), 200);
		assert_int_equal(json_array_size(json_object_get(b, "apdus")), 4);
		free_out(&a);
		assert_int_equal(
			ih(w, "POST", path, json_pack("{s:o}", "responses", relay(w, json_object_get(b, "apdus"))), &a), 200);
		assert_string_equal(json_string_value(json_object_get(a, "ssd")), OTHER_SSD);
		free_out(&a);
		free_out(&b);
	}
	world_free(w);
}

static json_t *tok_req(world_t *w, const char *sp, const char *ins, int p1, int p2, const char *data)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "sp", sp, "device", w->dev, "ins", ins, "p1", p1, "p2", p2,
			 "data", data);
}

static void expect_token(world_t *w, json_t *req, int status, const char *why)
{
	json_t *a = NULL;
	int st = ih(w, "POST", "/v1/issuer/tokens", req, &a);

	if (st != status)
		fail_msg("token: %d, want %d (%s)", st, status, json_string_value(json_object_get(a, "error")));
	if (why)
		assert_non_null(strstr(json_string_value(json_object_get(a, "error")), why));
	else
		assert_int_equal(strlen(json_string_value(json_object_get(a, "token"))), 256); /* RSA-1024 */
	free_out(&a);
}

/* Tokens: only the SP's own content into its own SSD on an SE where the
 * issuer made that SSD. */
static void test_tokens(void **state)
{
	world_t *w = world_new();
	itsm_stats_t st;
	(void)state;

	/* No SSD yet: nothing signed. */
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E6", 2, 0, "07" SX_JPKI_PKG "07" SSD_AID "0000"), 403, "no SSD");
	make_ssd(w, ITSM_SP_JPKI);
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E6", 2, 0, "07" SX_JPKI_PKG "07" SSD_AID "0000"), 200, NULL);
	/* Another SP: it has no SSD on this SE. */
	expect_token(w, tok_req(w, "other-sp", "E6", 2, 0, "07D392F000270100" "07" OTHER_SSD "0000"), 403, "no SSD");
	/* Into another SD: another SP's SSD, the ISD. */
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E6", 2, 0, "07" SX_JPKI_PKG "07" OTHER_SSD "0000"), 403, "own SSD");
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E6", 2, 0, "07" SX_JPKI_PKG "08" SX_ISD "0000"), 403, "own SSD");
	/* Another SP's load file, another applet AID, a security domain. */
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E6", 2, 0, "07D392F000270100" "07" SSD_AID "0000"), 403, "load file");
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E6", 0x0C, 0, "07" SX_JPKI_PKG "08" SX_JPKI_MOD "0AD392F000260100000002" "0100" "02C900"),
		     403, "applet");
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E6", 0x0C, 0, "07" SX_JPKI_PKG "08" SX_JPKI_MOD "0A" SX_JPKI_AID "0180" "02C900"),
		     403, "security domain");
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E6", 0x0C, 0, "07" SX_JPKI_PKG "08" SX_JPKI_MOD "0A" SX_JPKI_AID "0100" "02C900"),
		     200, NULL);
	/* Extradition, personalization: no tokens from this issuer. */
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E6", 0x10, 0, "07" SSD_AID "000A" SX_JPKI_AID "000000"), 403, "only INSTALL");
	/* DELETE: the applet or its load file only, one AID. */
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E4", 0, 0, "4F0A" SX_JPKI_AID), 200, NULL);
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E4", 0, 0x80, "4F07" SX_JPKI_PKG), 200, NULL);
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E4", 0, 0, "4F07" SSD_AID), 403, "not the service provider's");
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E4", 0, 0, "4F08" SX_ISD), 403, "not the service provider's");
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E4", 0, 0, "4F0A" SX_JPKI_AID "D00101"), 403, "one AID");
	/* Other commands, unknown SPs, bad requests. */
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "F0", 0x40, 0, "4F0A" SX_JPKI_AID), 400, "ins");
	expect_token(w, tok_req(w, "nobody", "E4", 0, 0, "4F0A" SX_JPKI_AID), 403, "not a service provider");
	expect_token(w, tok_req(w, ITSM_SP_JPKI, "E4", 0, 0, "4F0"), 400, "ins");
	itsm_get_stats(w->it, &st);
	assert_int_equal(st.tokens, 4);
	assert_int_equal(st.refused, 11);
	world_free(w);
}

/* A command through the SSD with the issuer's token; its SW. */
static uint16_t with_token(world_t *w, const gpdm_install_t *in, int flip)
{
	uint8_t f[200], tok[256], apdu[400];
	char fh[401];
	size_t fn, n;
	json_t *a = NULL;

	assert_int_equal(gpdm_install_fields(in, f, sizeof f, &fn), GPDM_OK);
	apdu_hex(f, fn, fh);
	assert_int_equal(ih(w, "POST", "/v1/issuer/tokens", tok_req(w, ITSM_SP_JPKI, "E6", in->p1, 0, fh), &a), 200);
	n = sx_unhex(json_string_value(json_object_get(a, "token")), tok, sizeof tok);
	free_out(&a);
	tok[n / 2] ^= (uint8_t)flip;
	assert_int_equal(gpdm_install_apdu(in, tok, n, apdu, sizeof apdu, &n), GPDM_OK);
	return sx_wrapped_bytes(w->x, apdu, n);
}

static int receipt(world_t *w, const char *kind, json_t *aids, const uint8_t *conf, size_t n, json_t **out)
{
	char h[2 * 128 + 1];

	apdu_hex(conf, n, h);
	return ih(w, "POST", "/v1/issuer/receipts",
		  json_pack("{s:s, s:s, s:s, s:o, s:s}", "sp", ITSM_SP_JPKI, "device", w->dev, "kind", kind, "aids", aids,
			    "confirmation", h),
		  out);
}

/* INSTALL [for load] of the JPKI package into the SSD with the issuer's
 * token, and LOAD: the receipt (confirmation) into conf, its length. */
static size_t load(world_t *w, uint8_t conf[64])
{
	gpdm_install_t in;
	uint8_t e[16], s[16];
	size_t cn;

	memset(&in, 0, sizeof in);
	in.p1 = GPDM_INSTALL_LOAD;
	in.elf = (gpdm_bytes_t){ e, sx_unhex(SX_JPKI_PKG, e, sizeof e) };
	in.sd = (gpdm_bytes_t){ s, sx_unhex(SSD_AID, s, sizeof s) };
	assert_int_equal(with_token(w, &in, 0), 0x9000);
	assert_int_equal(sx_wcmd(w->x, 0x80, 0xE8, 0x80, 0x00, "\xC4\x04\xCA\xFE\xBA\xBE", 6, 256), 0x9000);
	cn = sx_plain_len(w->x);
	assert_true(cn <= 64);
	memcpy(conf, w->x->plain, cn);
	return cn;
}

/* An SSD creation with "missing": true, its scripts relayed: the status
 * of the last step (script 2 puts the DM keys again: EA and five). */
static int make_again(world_t *w)
{
	json_t *a = NULL, *b = NULL, *req = ssd_req(w, ITSM_SP_JPKI);
	char path[80];
	int st;

	json_object_set_new(req, "missing", json_true());
	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd", req, &a), 201);
	snprintf(path, sizeof path, "/v1/issuer/ssd/%s", json_string_value(json_object_get(a, "id")));
	assert_int_equal(ih(w, "POST", path, json_pack("{s:o}", "responses", relay(w, json_object_get(a, "apdus"))), &b), 200);
	assert_int_equal(json_array_size(json_object_get(b, "apdus")), 6);
	free_out(&a);
	st = ih(w, "POST", path, json_pack("{s:o}", "responses", relay(w, json_object_get(b, "apdus"))), &a);
	free_out(&a);
	free_out(&b);
	return st;
}

/* An SE wiped (a repair's memory clear) keeps its identity and loses its
 * SSD: the issuer's record still says "exists"; told "missing", it does
 * not take the SP's word but creates the SSD again through the ISD.  On
 * an SE whose SSD is there that INSTALL is refused (409) and the
 * confirmation counter stays; on the wiped one the SSD is back, the SP's
 * keys open it, and the SE's counter, restarted, is accepted again. */
static void test_ssd_wiped(void **state)
{
	world_t *w = world_new();
	uint8_t conf[64];
	size_t cn;
	json_t *o = NULL, *req;
	(void)state;

	make_ssd(w, ITSM_SP_JPKI);
	ssd_open(w);
	cn = load(w, conf);
	assert_int_equal(receipt(w, "load", json_pack("[s, s]", SX_JPKI_PKG, SSD_AID), conf, cn, &o), 200);
	free_out(&o);
	/* "missing" said of an SSD that is there: the SE refuses its INSTALL */
	assert_int_equal(make_again(w), 409);
	assert_int_equal(sx_apdu(w->x, "00A4040007" SSD_AID "00"), 0x9000);
	req = ssd_req(w, ITSM_SP_JPKI);
	json_object_set_new(req, "missing", json_string("yes"));
	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd", req, &o), 400);
	free_out(&o);

	/* The same SE wiped: same identity, no SSD */
	sx_free(w->x);
	w->x = sx_new(&w->p);
	assert_int_equal(sx_apdu(w->x, "00A4040007" SSD_AID "00"), 0x6A82);
	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd", ssd_req(w, ITSM_SP_JPKI), &o), 200);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "exists");
	free_out(&o);
	assert_int_equal(make_again(w), 200);
	ssd_open(w);
	cn = load(w, conf);
	assert_int_equal(receipt(w, "load", json_pack("[s, s]", SX_JPKI_PKG, SSD_AID), conf, cn, &o), 200);
	assert_int_equal(json_integer_value(json_object_get(o, "counter")), 1);
	free_out(&o);
	world_free(w);
}

/* Delegated management end to end: LOAD and INSTALL through the SSD with
 * the issuer's tokens; each receipt checked by the issuer and counted
 * once; a forged or replayed one refused; a tampered token refused by
 * the SE (6A80) with nothing of the SE changed. */
static void test_receipts(void **state)
{
	world_t *w = world_new();
	gpdm_install_t in;
	uint8_t e[16], m[16], a[16], conf[64], *before, *after;
	size_t cn, bn, an;
	json_t *o = NULL;
	itsm_stats_t st;
	(void)state;

	make_ssd(w, ITSM_SP_JPKI);
	ssd_open(w);
	cn = load(w, conf);
	assert_int_equal(receipt(w, "load", json_pack("[s, s]", SX_JPKI_PKG, SSD_AID), conf, cn, &o), 200);
	assert_int_equal(json_integer_value(json_object_get(o, "counter")), 1);
	free_out(&o);
	/* The same receipt again: its counter is not above the last. */
	assert_int_equal(receipt(w, "load", json_pack("[s, s]", SX_JPKI_PKG, SSD_AID), conf, cn, &o), 409);
	free_out(&o);
	/* One bit off; another operation's AIDs; another SP's SD: refused. */
	conf[3] ^= 0x01;
	assert_int_equal(receipt(w, "load", json_pack("[s, s]", SX_JPKI_PKG, SSD_AID), conf, cn, &o), 422);
	free_out(&o);
	conf[3] ^= 0x01;
	assert_int_equal(receipt(w, "install", json_pack("[s, s]", SX_JPKI_PKG, SX_JPKI_AID), conf, cn, &o), 422);
	free_out(&o);
	assert_int_equal(receipt(w, "load", json_pack("[s, s]", SX_JPKI_PKG, OTHER_SSD), conf, cn, &o), 403);
	free_out(&o);
	assert_int_equal(receipt(w, "load", json_pack("[s, s]", SX_JPKI_PKG, SSD_AID), conf, 5, &o), 422);
	free_out(&o);
	/* INSTALL with a tampered token: 6A80 and the SE as it was. */
	memset(&in, 0, sizeof in);
	in.p1 = GPDM_INSTALL_INSTALL_SELECTABLE;
	in.elf = (gpdm_bytes_t){ e, sx_unhex(SX_JPKI_PKG, e, sizeof e) };
	in.module = (gpdm_bytes_t){ m, sx_unhex(SX_JPKI_MOD, m, sizeof m) };
	in.app = (gpdm_bytes_t){ a, sx_unhex(SX_JPKI_AID, a, sizeof a) };
	in.priv = (gpdm_bytes_t){ (const uint8_t *)"\x00", 1 };
	in.params = (gpdm_bytes_t){ (const uint8_t *)"\xC9\x00", 2 };
	assert_int_equal(nvm_save(w->x->ctx.nvm, &before, &bn), NVM_OK);
	assert_int_equal(with_token(w, &in, 0x01), 0x6A80);
	assert_int_equal(nvm_save(w->x->ctx.nvm, &after, &an), NVM_OK);
	assert_int_equal(an, bn);
	assert_memory_equal(after, before, bn);
	free(before);
	free(after);
	/* With the token as signed: installed, receipt 2, the applet the SSD's. */
	assert_int_equal(with_token(w, &in, 0), 0x9000);
	cn = sx_plain_len(w->x);
	memcpy(conf, w->x->plain, cn);
	assert_int_equal(receipt(w, "install", json_pack("[s, s]", SX_JPKI_PKG, SX_JPKI_AID), conf, cn, &o), 200);
	assert_int_equal(json_integer_value(json_object_get(o, "counter")), 2);
	free_out(&o);
	assert_int_equal(sx_wrapped(w->x, "80F240020F4F0A" SX_JPKI_AID "5C01CC00"), 0x9000);
	sx_assert_hex(w->x->plain, w->x->plainlen, "E309CC07" SSD_AID "9000");
	itsm_get_stats(w->it, &st);
	assert_int_equal(st.receipts, 2);
	assert_int_equal(st.bad_receipts, 4);
	world_free(w);
}

/* The API's refusals: paths, bodies, an SSD creation's answers. */
static void test_api(void **state)
{
	world_t *w = world_new();
	json_t *a = NULL;
	char path[80];
	(void)state;

	assert_int_equal(ih(w, "POST", "/v1/issuer/nothing", json_object(), &a), 404);
	free_out(&a);
	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd", json_array(), &a), 400);
	free_out(&a);
	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd/ssd-0000", json_pack("{s:[]}", "responses"), &a), 404);
	free_out(&a);
	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd",
			    json_pack("{s:s, s:s, s:{s:i, s:s}}", "sp", ITSM_SP_JPKI, "device", w->dev, "keys", "kvn", 0x30, "enc",
				      SSD_KEY),
			    &a),
			 400);
	free_out(&a);
	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd", json_pack("{s:s, s:s}", "sp", ITSM_SP_JPKI, "device", "12"), &a), 400);
	free_out(&a);
	assert_int_equal(ih(w, "GET", "/v1/issuer/ses/" "00000000000000000000", NULL, &a), 404);
	free_out(&a);
	/* Fewer answers than commands; an INITIALIZE UPDATE answer altered:
	 * the creation ends, nothing recorded. */
	assert_int_equal(ih(w, "POST", "/v1/issuer/ssd", ssd_req(w, ITSM_SP_JPKI), &a), 201);
	snprintf(path, sizeof path, "/v1/issuer/ssd/%s", json_string_value(json_object_get(a, "id")));
	{
		json_t *r = relay(w, json_object_get(a, "apdus")), *b = NULL;
		char h[200];
		snprintf(h, sizeof h, "%s", json_string_value(json_array_get(r, 1)));
		h[30] = h[30] == '0' ? '1' : '0'; /* the card cryptogram */
		assert_int_equal(ih(w, "POST", path, json_pack("{s:[s]}", "responses", h), &b), 400);
		free_out(&b);
		json_array_set_new(r, 1, json_string(h));
		assert_int_equal(ih(w, "POST", path, json_pack("{s:o}", "responses", r), &b), 422);
		assert_non_null(strstr(json_string_value(json_object_get(b, "error")), "cryptogram"));
		free_out(&b);
		assert_int_equal(ih(w, "POST", path, json_pack("{s:[s,s]}", "responses", "9000", "9000"), &b), 404);
		free_out(&b);
	}
	free_out(&a);
	snprintf(path, sizeof path, "/v1/issuer/ses/%s", w->dev);
	assert_int_equal(ih(w, "GET", path, NULL, &a), 404);
	free_out(&a);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssd_once),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_receipts),
		cmocka_unit_test(test_ssd_wiped),
		cmocka_unit_test(test_api),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	sx_pool_free();
	return rc;
}
