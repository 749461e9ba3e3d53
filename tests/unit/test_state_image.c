/* test_state_image.c — an NVM image is never trusted.  A state file can
 * come from anywhere: its checksum only says it arrived whole.  Each
 * image below is a personalised SE or card with one record made out of
 * range through the nvm API, then saved and loaded like a state file.
 * Powering up on it must fail with SIM_ERR_IMAGE, name the record and
 * say why, and leave the NVM as loaded; before these checks a registry
 * entry's applet index went straight into se_applets[] (ASan: a
 * global-buffer-overflow, then a call through a wild pointer). */
#include "test_card_fixture.h"
#include "test_se_fixture.h"

#include "sim/se/gpreg.h"

/* ---- images ------------------------------------------------------------ */

/* n through an image, as a state file goes: saved, then loaded into a
 * fresh NVM.  Frees n. */
static nvm_t *reload(nvm_t *n)
{
	nvm_t *m = nvm_new();
	uint8_t *img;
	size_t len;

	assert_non_null(m);
	assert_int_equal(nvm_save(n, &img, &len), NVM_OK);
	assert_int_equal(nvm_load(m, img, len), NVM_OK);
	free(img);
	nvm_free(n);
	return m;
}

static void put_hex(nvm_t *n, const char *key, const char *hex)
{
	uint8_t v[256];
	size_t len = sx_unhex(hex, v, sizeof v);

	assert_int_equal(nvm_put(n, key, v, len), NVM_OK);
}

static void put_bytes(nvm_t *n, const char *key, uint8_t byte, size_t len)
{
	uint8_t *v = malloc(len ? len : 1);

	assert_non_null(v);
	memset(v, byte, len);
	assert_int_equal(nvm_put(n, key, v, len), NVM_OK);
	free(v);
}

/* The preinstalled JPKI applet of test_se_jpki.c: load file seq 1,
 * instance seq 2 (applet index 1). */
static void seed_jpki(se_profile_t *p)
{
	se_reg_seed_t *s = &p->seeds[0];

	memset(s, 0, 2 * sizeof *s);
	s->kind = SE_OBJ_ELF;
	sx_aid(&s->aid, SX_JPKI_PKG);
	s->lcs = 0x01;
	s->n_modules = 1;
	sx_aid(&s->modules[0], SX_JPKI_MOD);
	s = &p->seeds[1];
	s->kind = SE_OBJ_APP;
	sx_aid(&s->aid, SX_JPKI_AID);
	sx_aid(&s->elf, SX_JPKI_PKG);
	sx_aid(&s->module, SX_JPKI_MOD);
	s->lcs = 0x07;
	p->n_seeds = 2;
}

/* The NVM of an SE personalised from the default profile, with the JPKI
 * applet or without. */
static nvm_t *se_image(int jpki)
{
	sx_t *x;
	se_profile_t p;
	nvm_t *n;

	sx_profile(&p);
	if (jpki)
		seed_jpki(&p);
	x = sx_new(&p);
	n = x->ctx.nvm;
	x->ctx.nvm = NULL;
	sim_se_free(x->se);
	x->se = NULL;
	sx_free(x);
	return reload(n);
}

static nvm_t *card_image(void)
{
	card_profile_t p;
	fx_t *f;
	nvm_t *n;

	fx_profile(&p);
	f = fx_new(&p);
	n = f->ctx.nvm;
	f->ctx.nvm = NULL;
	sim_card_free(f->card);
	f->card = NULL;
	fx_free(f);
	return reload(n);
}

/* ---- the check --------------------------------------------------------- */

enum chip { SE, CARD };

/* Power a chip up on n (through an image): it must refuse with
 * SIM_ERR_IMAGE, name key, give a reason containing why, and leave the
 * NVM byte for byte as loaded (and powered up).  Frees n. */
static void refused(enum chip chip, nvm_t *n, const char *key, const char *why)
{
	rng_t rng;
	vclock_t clock = { 0 };
	sim_ctx_t ctx = { .rng = &rng, .clock = &clock };
	uint8_t *before, *after;
	size_t lb, la;
	nvm_fault_t f = { 0 };
	se_profile_t sp;
	card_profile_t cp;
	sim_se_t *se = NULL;
	sim_card_t *card = NULL;
	int rc;

	rng_seed(&rng, 1);
	ctx.nvm = reload(n);
	nvm_power_up(ctx.nvm); /* what power-up rolls back is in memory only */
	assert_int_equal(nvm_save(ctx.nvm, &before, &lb), NVM_OK);
	if (chip == SE) {
		sx_profile(&sp);
		rc = sim_se_new(&se, &sp, &ctx);
		assert_null(se);
	} else {
		fx_profile(&cp);
		rc = sim_card_new(&card, &cp, &ctx);
		assert_null(card);
	}
	if (rc != SIM_ERR_IMAGE)
		fail_msg("%s: power-up returned %d, want SIM_ERR_IMAGE", key, rc);
	assert_int_equal(chip == SE ? sim_se_check_nvm(ctx.nvm, &f) : sim_card_check_nvm(ctx.nvm, &f),
			 SIM_ERR_IMAGE);
	assert_string_equal(f.key, key);
	if (!strstr(f.why, why))
		fail_msg("%s: why is \"%s\", want \"%s\" in it", key, f.why, why);
	assert_int_equal(nvm_save(ctx.nvm, &after, &la), NVM_OK);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, la);
	free(before);
	free(after);
	nvm_free(ctx.nvm);
}

static gpreg_ent_t reg_ent(uint16_t seq, uint8_t kind, const char *aid, uint8_t applet)
{
	gpreg_ent_t e;

	memset(&e, 0, sizeof e);
	e.seq = seq;
	e.kind = kind;
	sx_aid(&e.aid, aid);
	e.lcs = kind == SE_OBJ_ELF ? 0x01 : 0x07;
	e.lcs_len = 1;
	e.applet = applet;
	return e;
}

static void reg_put(nvm_t *n, uint16_t seq, uint8_t kind, const char *aid, uint8_t applet)
{
	gpreg_ent_t e = reg_ent(seq, kind, aid, applet);

	assert_int_equal(gpreg_put(n, &e), NVM_OK);
}

/* ---- SE ------------------------------------------------------------------ */

/* The images the checks refuse differ from these in one record. */
static void se_good_images_power_up(void **state)
{
	sx_t *x;
	se_profile_t p;
	nvm_fault_t f;

	(void)state;
	for (int jpki = 0; jpki < 2; jpki++) {
		nvm_t *n = se_image(jpki);

		assert_int_equal(sim_se_check_nvm(n, &f), SIM_OK);
		sx_profile(&p);
		x = sx_new_on(&p, n, 1);
		assert_int_equal(sx_apdu(x, "00A4040000"), 0x9000);
		sx_free(x);
	}
	assert_int_equal(sim_se_check_nvm(NULL, &f), SIM_ERR_ARG);
}

/* One registry entry put into an image (with the JPKI instance at seq 2
 * or without): the record it makes is refused for why. */
typedef struct bad_entry {
	int jpki;
	uint16_t seq;
	uint8_t kind, applet, lcs; /* lcs 0: reg_ent()'s */
	const char *aid, *named, *why;
} bad_entry_t;

static const bad_entry_t bad_entries[] = {
	/* The reproducer: an application bound to ROM applet 2, FF,
	 * 80 of an SE that has one; also before the real instance. */
	{ 0, 1, SE_OBJ_APP, 2, 0, "A00000055910100001", "gp/reg/0001", "applet index out of range" },
	{ 0, 1, SE_OBJ_APP, 0xFF, 0, "A00000055910100001", "gp/reg/0001", "applet index out of range" },
	{ 1, 1, SE_OBJ_APP, 0x80, 0, "A00000055910100001", "gp/reg/0001", "applet index out of range" },
	{ 0, 1, SE_OBJ_ELF, 1, 0, "A0000005591010", "gp/reg/0001", "not an application" },
	{ 1, 3, SE_OBJ_APP, 1, 0, "A00000055910100001", "gp/reg/0003", "second instance" },
	{ 0, 1, SE_OBJ_SD, 0, 0, SX_ISD, "gp/reg/0001", "AID registered twice" },
	{ 0, 0xFFFF, SE_OBJ_APP, 0, 0, "A00000055910100001", "gp/reg/FFFF", "leaves none" },
	{ 0, 0, SE_OBJ_APP, 0, 0, SX_ISD, "gp/reg/0000", "not a security domain" },
	{ 0, 0, SE_OBJ_SD, 0, 0x42, SX_ISD, "gp/reg/0000", "card life cycle state" },
};

static void se_registry_entries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_entries / sizeof bad_entries[0]; i++) {
		const bad_entry_t *b = &bad_entries[i];
		gpreg_ent_t e = reg_ent(b->seq, b->kind, b->aid, b->applet);
		nvm_t *n = se_image(b->jpki);

		if (b->lcs)
			e.lcs = b->lcs;
		assert_int_equal(gpreg_put(n, &e), NVM_OK);
		refused(SE, n, b->named, b->why);
	}
}

/* One record put into an image: hex, or len bytes of fill. */
typedef struct bad_rec {
	enum chip chip;
	int jpki; /* SE: the image with the JPKI instance */
	const char *key, *hex;
	uint8_t fill;
	size_t len;
	const char *why;
} bad_rec_t;

#define K16 "404142434445464748494A4B4C4D4E4F"

static const bad_rec_t bad_recs[] = {
	{ SE, 0, "gp/reg/00a1", "010102050A0000000001", 0, 0, "not a registry record name" },
	{ SE, 0, "gp/reg/0001", "0101020205A000000001EE00", 0, 0, "does not decode" }, /* tag EE */
	{ SE, 0, "gp/reg/0001", "0101020205A0000000", 0, 0, "does not decode" }, /* AID cut short */
	{ SE, 0, "gp/key/30", "3011" K16 K16 K16, 0, 0, "AES" },
	{ SE, 0, "gp/key/30", "3010" K16 K16, 0, 0, "AES" },
	{ SE, 0, "gp/key/30", "3110" K16 K16 K16, 0, 0, "its own KVN" },
	{ SE, 0, "gp/key/90", "9010" K16 K16 K16, 0, 0, "KVN above 7F" },
	{ SE, 0, "gp/key/3", "00", 0, 0, "not a key record name" },
	{ SE, 0, "gp/ctr/30", "0001", 0, 0, "3 bytes" },
	{ SE, 0, "gp/ctr/31", "000001", 0, 0, "not there" },
	{ SE, 0, "fe/0000", NULL, 0, 17, "whole blocks" },
	{ SE, 0, "fe/0000", NULL, 0, 256 * 16, "whole blocks" },
	{ SE, 0, "fe/00001", NULL, 0, 16, "not a FeliCa record name" },
	{ SE, 0, "gp/data/42", NULL, 0, 0, "empty" },
	{ SE, 0, "gp/data/43", "01", 0, 0, "no part of the SE" },
	{ SE, 0, "gp/personalised", "02", 0, 0, "unknown version" },
	{ SE, 0, "card/personalised", "01", 0, 0, "no part of the SE" },
	{ SE, 1, "sejpki/slots", "0005", 0, 0, "slot states" },
	{ SE, 1, "sejpki/slots", "00", 0, 0, "slot states" },
	{ SE, 1, "sejpki/pin/0018/ctr", "04", 0, 0, "retry counter" }, /* auth PIN: 3 tries */
	{ SE, 1, "sejpki/pin/0018/val", NULL, '1', 17, "PIN value" },
	{ SE, 1, "sejpki/key/0017", NULL, 0x30, 64, "RSA" },
	{ SE, 1, "sejpki/ef/000A", NULL, 0xFF, 0x8001, "READ BINARY" },
	{ SE, 1, "sejpki/ef/0099", NULL, 0, 4, "no object" },
	/* A PIN counter above the PIN's tries: the tries restored. */
	{ CARD, 0, "jpki/pin/0018/ctr", "FF", 0, 0, "retry counter" },
	{ CARD, 0, "jpki/pin/001B/ctr", "0000", 0, 0, "retry counter" },
	{ CARD, 0, "text/pin/0014/ctr", "0B", 0, 0, "retry counter" }, /* 照合番号A: 10 tries */
	{ CARD, 0, "text/pin/0011/val", NULL, '1', 17, "PIN value" },
	{ CARD, 0, "jpki/pin/0018/val", NULL, '1', 0, "PIN value" },
	{ CARD, 0, "jpki/key/0017", NULL, 0x30, 100, "RSA" },
	{ CARD, 0, "text/key/ap", NULL, 0, 10, "RSA" },
	{ CARD, 0, "jpki/ef/0001", NULL, 0xFF, 0x8001, "READ BINARY" },
	{ CARD, 0, "jpki/ef/0099", NULL, 0, 1, "no object" },
	{ CARD, 0, "card/personalised", "07", 0, 0, "unknown version" },
	{ CARD, 0, "gp/personalised", "01", 0, 0, "no part of this chip" },
};

static void bad_records(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_recs / sizeof bad_recs[0]; i++) {
		const bad_rec_t *b = &bad_recs[i];
		nvm_t *n = b->chip == SE ? se_image(b->jpki) : card_image();

		if (b->hex)
			put_hex(n, b->key, b->hex);
		else
			put_bytes(n, b->key, b->fill, b->len);
		refused(b->chip, n, b->key, b->why);
	}
}

/* What only the whole image tells: a record missing, an entry too many,
 * records without their owner. */
static void se_whole_image(void **state)
{
	nvm_t *n;

	(void)state;
	n = se_image(0);
	assert_int_equal(nvm_del(n, "gp/reg/0000"), NVM_OK);
	refused(SE, n, "gp/reg/0000", "no ISD");
	n = se_image(0);
	assert_int_equal(nvm_del(n, "gp/key/30"), NVM_OK);
	assert_int_equal(nvm_del(n, "gp/ctr/30"), NVM_OK);
	refused(SE, n, "gp/key/", "no key set");
	n = se_image(0);
	assert_int_equal(nvm_del(n, "gp/personalised"), NVM_OK);
	refused(SE, n, "gp/personalised", "missing");
	n = se_image(0);
	put_hex(n, "sejpki/slots", "0000");
	refused(SE, n, "sejpki/", "no instance");
	n = se_image(0);
	for (uint16_t seq = 1; seq <= GPREG_MAX; seq++) {
		char aid[32];

		snprintf(aid, sizeof aid, "A0000005591010%04X", seq);
		reg_put(n, seq, SE_OBJ_APP, aid, 0);
	}
	refused(SE, n, "gp/reg/0020", "more registry entries");
	n = card_image();
	assert_int_equal(nvm_del(n, "card/personalised"), NVM_OK);
	refused(CARD, n, "card/personalised", "missing");
}

/* A record that is good now but whose journalled old value is not: the
 * check judges what power-up rolls back to. */
static void se_journal_rolled_back_first(void **state)
{
	nvm_t *n = se_image(0);

	(void)state;
	reg_put(n, 1, SE_OBJ_APP, "A00000055910100001", 9);
	n = reload(n);
	assert_int_equal(nvm_begin(n), NVM_OK);
	reg_put(n, 1, SE_OBJ_APP, "A00000055910100001", 0);
	refused(SE, n, "gp/reg/0001", "applet index out of range");
}

/* ---- card ------------------------------------------------------------------ */

static void card_good_image_powers_up(void **state)
{
	nvm_t *n = card_image();
	nvm_fault_t f;
	card_profile_t p;
	fx_t *c;

	(void)state;
	assert_int_equal(sim_card_check_nvm(n, &f), SIM_OK);
	fx_profile(&p);
	c = fx_new_on(&p, n, 1);
	fx_free(c);
	assert_int_equal(sim_card_check_nvm(NULL, &f), SIM_ERR_ARG);
}

/* An SE image is no card, and the reverse. */
static void images_of_the_other_chip(void **state)
{
	(void)state;
	refused(CARD, se_image(0), "fe/0000", "no part of this chip");
	refused(SE, card_image(), "card/personalised", "no part of the SE");
}

static int teardown(void **state)
{
	sx_pool_free();
	return fx_global_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(se_good_images_power_up),
		cmocka_unit_test(card_good_image_powers_up),
		cmocka_unit_test(se_registry_entries),
		cmocka_unit_test(bad_records),
		cmocka_unit_test(se_whole_image),
		cmocka_unit_test(se_journal_rolled_back_first),
		cmocka_unit_test(images_of_the_other_chip),
	};
	return cmocka_run_group_tests(tests, fx_global_setup, teardown);
}
