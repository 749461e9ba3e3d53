/* card.c — the simulated My Number card: ATR, power, personalisation, and
 * the two applications (JPKI AP, text AP) over cardos. */
#include "card.h"

#include <stdlib.h>
#include <string.h>

#include "card_int.h"
#include "cardos_int.h"
#include "jpki_int.h"
#include "textap_int.h"

#define PERSONALISED "card/personalised"
#define PERSO_VERSION 1

struct sim_card {
	sim_ctx_t *ctx;
	uint8_t atr[CARD_ATR_MAX], atqb[CARD_ATQB_INFO];
	size_t atr_len;
	int powered;
	jpki_app_t jpki;
	cardos_t os;
};

/* docs/card.md#atrs: each set's contact ATR, as seen where its name
 * says, and its ATQB application data and protocol info: those of the
 * first three of the four PC/SC ATRs OpenSC's list holds for the card's
 * contactless side (3B 88 80 01 ...), in the order listed.  The pairing
 * is ours: no source ties a contactless ATR to a contact one. */
static const card_atr_set_info_t sets[CARD_ATR_SET_COUNT] = {
	[CARD_ATR_PCSC_TOOLS_E0] = { "pcsc-tools-e0", "pcsc-tools' list", 9,
				     { 0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14 },
				     { 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1 } },
	[CARD_ATR_OPENSC_3021] = { "opensc-3021", "OpenSC issue #3021", 19,
				   { 0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12,
				     0x39, 0x2F, 0x31, 0xC1, 0x73, 0xC6, 0x01, 0xC0, 0x3B },
				   { 0x00, 0x00, 0x41, 0xE0, 0xB3, 0x81, 0xA1 } },
	[CARD_ATR_PCSC_TOOLS_C5] = { "pcsc-tools-c5", "pcsc-tools' list", 13,
				     { 0x3B, 0xC5, 0xFF, 0x81, 0x31, 0xFB, 0x45, 0x80, 0x73, 0xC6,
				       0x01, 0x00, 0x00 },
				     { 0x00, 0x4B, 0x51, 0xFF, 0x00, 0x81, 0xD1 } },
};

const card_atr_set_info_t *card_atr_set(int s)
{
	return s >= 0 && s < CARD_ATR_SET_COUNT ? &sets[s] : NULL;
}

int card_atr_set_named(const char *name)
{
	for (int s = 0; name && s < CARD_ATR_SET_COUNT; s++)
		if (!strcmp(name, sets[s].name))
			return s;
	return -1;
}

int card_atqb_of_atr(const uint8_t *atr, size_t n, uint8_t out[CARD_ATQB_INFO])
{
	for (int s = 0; s < CARD_ATR_SET_COUNT; s++)
		/* TS, T0, the first interface byte: what tells the sets apart,
		 * also in the variants of their historical bytes. */
		if (atr && n >= 3 && !memcmp(atr, sets[s].atr, 3)) {
			memcpy(out, sets[s].atqb, CARD_ATQB_INFO);
			return 1;
		}
	memcpy(out, sets[0].atqb, CARD_ATQB_INFO);
	return 0;
}

size_t card_pcsc_atr_typeb(const uint8_t atqb[CARD_ATQB_INFO], uint8_t mbli, uint8_t *out, size_t cap)
{
	uint8_t tck = 0;

	if (!atqb || !out || cap < 13)
		return 0;
	out[0] = 0x3B;
	out[1] = 0x88; /* TD1 present, 8 historical bytes */
	out[2] = 0x80; /* TD1: TD2 present, T=0 */
	out[3] = 0x01; /* TD2: T=1 */
	memcpy(out + 4, atqb, CARD_ATQB_INFO);
	out[11] = (uint8_t)(mbli << 4);
	for (size_t i = 1; i < 12; i++)
		tck ^= out[i];
	out[12] = tck;
	return 13;
}

int card_pcsc_typeb_atqb(const uint8_t *atr, size_t n, uint8_t out[CARD_ATQB_INFO])
{
	static const uint8_t head[] = { 0x3B, 0x88, 0x80, 0x01 };

	if (!atr || n != 13 || memcmp(atr, head, sizeof head) || !card_atr_ok(atr, n))
		return 0;
	memcpy(out, atr + sizeof head, CARD_ATQB_INFO);
	return 1;
}

int card_atr_ok(const uint8_t *atr, size_t n)
{
	size_t i = 1, k;
	uint8_t y, tck = 0;
	int tck_needed = 0;

	if (!atr || n < 2 || n > CARD_ATR_MAX || (atr[0] != 0x3B && atr[0] != 0x3F))
		return 0;
	y = atr[1] >> 4;
	k = atr[1] & 0x0F;
	i = 2;
	while (y) {
		uint8_t td = 0;
		for (int bit = 0; bit < 4; bit++)
			if (y & (1u << bit)) {
				if (i >= n)
					return 0;
				if (bit == 3)
					td = atr[i];
				i++;
			}
		if (!(y & 0x08))
			break;
		tck_needed = tck_needed || (td & 0x0F) != 0;
		y = td >> 4;
	}
	if (i + k + (size_t)tck_needed != n)
		return 0;
	for (size_t j = 1; j < n; j++)
		tck ^= atr[j];
	return !tck_needed || tck == 0;
}

int card_str_ok(const char *s, size_t min, size_t max, const char *set)
{
	size_t n;

	if (!s || (n = strlen(s)) < min || n > max)
		return 0;
	return strspn(s, set) == n;
}

/* Everything in one transaction: a card is either blank or complete. */
static int personalise(nvm_t *nvm, const card_profile_t *p)
{
	static const uint8_t version = PERSO_VERSION;
	int rc;

	if ((rc = jpki_profile_check(p)) != SIM_OK || (rc = textap_profile_check(p)) != SIM_OK)
		return rc;
	if ((rc = nvm_begin(nvm)) != NVM_OK)
		goto fail;
	if ((rc = jpki_personalise(nvm, p)) != NVM_OK || (rc = textap_personalise(nvm, p)) != NVM_OK ||
	    (rc = nvm_put(nvm, PERSONALISED, &version, 1)) != NVM_OK ||
	    (rc = nvm_commit(nvm)) != NVM_OK) {
		if (rc != NVM_ERR_POWER)
			nvm_abort(nvm);
		goto fail;
	}
	return SIM_OK;
fail:
	return rc == NVM_ERR_POWER ? SIM_ERR_MUTE : rc == NVM_ERR_NOMEM ? SIM_ERR_NOMEM : SIM_ERR_PROFILE;
}

size_t sim_card_view(const sim_card_t *c, sim_pin_view_t *out, size_t cap)
{
	size_t n = cardos_pins(c->ctx->nvm, &c->jpki.def, out, cap);

	return n + cardos_pins(c->ctx->nvm, &textap_app, out + n, cap - n);
}

/* ---- checking a loaded image ------------------------------------------- */

static const char *perso_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	(void)arg;
	if (strcmp(key, PERSONALISED) != 0)
		return "no object of the card has this name";
	return n == 1 && v[0] == PERSO_VERSION ? NULL : "personalisation mark of an unknown version";
}

static const char *jpki_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	const jpki_opts_t o = { 0 }; /* record names do not depend on the options */
	jpki_app_t app;

	(void)arg;
	jpki_app_init(&app, &o);
	return cardos_check(&app.def, key, v, n);
}

static const char *text_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	(void)arg;
	return cardos_check(&textap_app, key, v, n);
}

static const nvm_rule_t card_rules[] = {
	{ PERSONALISED, perso_check },
	{ "jpki/", jpki_check },
	{ "text/", text_check },
};

int sim_card_check_nvm(nvm_t *nvm, nvm_fault_t *f)
{
	size_t n;

	if (!nvm)
		return SIM_ERR_ARG;
	nvm_power_up(nvm);
	if (nvm_check(nvm, card_rules, sizeof card_rules / sizeof card_rules[0], NULL, f) != NVM_OK)
		return SIM_ERR_IMAGE;
	/* Personalisation is one transaction: records without the mark are
	 * no card this simulator made. */
	if (nvm_count(nvm) && !nvm_get(nvm, PERSONALISED, &n)) {
		nvm_fault(f, PERSONALISED, "missing, yet the image holds records");
		return SIM_ERR_IMAGE;
	}
	return SIM_OK;
}

int sim_card_new(sim_card_t **out, const card_profile_t *p, sim_ctx_t *ctx)
{
	const cardos_app_def_t *apps[2];
	jpki_opts_t opts;
	const uint8_t *tok;
	sim_card_t *c = NULL;
	size_t n;
	int rc;

	if (!out || !p || !ctx || !ctx->nvm || !ctx->rng)
		return SIM_ERR_ARG;
	*out = NULL;
	if (!card_atr_set(p->atr_set))
		return SIM_ERR_PROFILE;
	if ((p->atr_len || p->atr) && !card_atr_ok(p->atr, p->atr_len))
		return SIM_ERR_PROFILE;
	if (!(c = calloc(1, sizeof *c)))
		return SIM_ERR_NOMEM;
	c->ctx = ctx;
	c->atr_len = p->atr_len ? p->atr_len : sets[p->atr_set].atr_len;
	memcpy(c->atr, p->atr_len ? p->atr : sets[p->atr_set].atr, c->atr_len);
	memcpy(c->atqb, p->atqb ? p->atqb : sets[p->atr_set].atqb, CARD_ATQB_INFO);
	/* Building the card is powering it up on its NVM: an image saved in
	 * the middle of a transaction is rolled back first. */
	nvm_power_up(ctx->nvm);
	if ((rc = sim_card_check_nvm(ctx->nvm, NULL)) != SIM_OK)
		goto fail;
	if (!nvm_get(ctx->nvm, PERSONALISED, &n) && (rc = personalise(ctx->nvm, p)) != SIM_OK)
		goto fail;
	/* The phone options follow the token actually stored, so a loaded
	 * image behaves as it was made. */
	tok = nvm_get(ctx->nvm, "jpki/ef/0006", &n);
	jpki_opts_for_token(tok, tok ? n : 0, &opts);
	jpki_opts_for_profile(p, &opts);
	jpki_app_init(&c->jpki, &opts);
	apps[0] = &c->jpki.def;
	apps[1] = &textap_app;
	if ((rc = cardos_init(&c->os, ctx, apps, 2)) != SIM_OK)
		goto fail;
	c->powered = 1;
	*out = c;
	return SIM_OK;
fail:
	sim_card_free(c);
	return rc;
}

void sim_card_free(sim_card_t *c)
{
	if (!c)
		return;
	cardos_free(&c->os);
	free(c);
}

int sim_card_power(sim_card_t *c, enum sim_power how)
{
	if (!c)
		return SIM_ERR_ARG;
	switch (how) {
	case SIM_POWER_OFF:
		c->powered = 0;
		break;
	case SIM_POWER_COLD:
	case SIM_POWER_WARM:
		nvm_power_up(c->ctx->nvm);
		if (mut_on(MUT_PIN_POWER))
			cardos_mut_refill(&c->os);
		c->powered = 1;
		break;
	default:
		return SIM_ERR_ARG;
	}
	cardos_reset(&c->os);
	return SIM_OK;
}

size_t sim_card_atr(const sim_card_t *c, uint8_t *atr, size_t cap)
{
	if (!c || !atr || cap < c->atr_len)
		return 0;
	memcpy(atr, c->atr, c->atr_len);
	return c->atr_len;
}

void sim_card_atqb(const sim_card_t *c, uint8_t out[CARD_ATQB_INFO])
{
	memcpy(out, c->atqb, CARD_ATQB_INFO);
}

int sim_card_transmit(sim_card_t *c, const uint8_t *cmd, size_t len,
		      uint8_t *rsp, size_t cap, size_t *rsplen)
{
	return c ? cardos_chip_transmit(&c->os, &c->powered, cmd, len, rsp, cap, rsplen) : SIM_ERR_ARG;
}

int sim_card_renew(sim_card_t *c, enum card_pair which, const uint8_t *key, size_t kn,
		   const uint8_t *cert, size_t cn)
{
	int rc;

	if (!c || (which != CARD_PAIR_AUTH && which != CARD_PAIR_SIGN))
		return SIM_ERR_ARG;
	if (!c->powered)
		return SIM_ERR_MUTE;
	rc = jpki_renew(c->ctx->nvm, which == CARD_PAIR_SIGN, key, kn, cert, cn);
	if (rc == SIM_ERR_MUTE)
		c->powered = 0;
	/* The parsed keys are the old ones; a renewal is a session of its own. */
	cardos_forget_keys(&c->os);
	cardos_reset(&c->os);
	return rc;
}

int sim_card_holds_key(const sim_card_t *c, const uint8_t *key, size_t kn)
{
	return c && key && jpki_holds_key(c->ctx->nvm, key, kn);
}
