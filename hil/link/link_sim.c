/* link_sim.c — the in-process simulators behind "sim:card", "sim:se" and "sim:ios".
 *
 * URI: sim:card|se|ios[?profile=FILE][&state=FILE][&serial=HEX8 (se: CPLC IC serial, IDm; ios: another
 * iPhone, its device id and certificate)][&keys=test|unknown
 * (not for the link: whether the TSM may use the SE, hil/run/scenario.c's needs; unknown stands in for a real
 * phone in tests)].  The link owns the
 * simulator's context: its random stream (derived from the run's seed
 * and the caller's label), its virtual clock and its NVM, loaded from
 * and saved to the state file when one is named.  A card profile is a
 * fixtures/profiles/ file (hil/fixtures/profile.c), an SE profile a fixtures/se/
 * file (hil/fixtures/se_profile.c, which also loads the SE's key pool),
 * an iPhone profile a fixtures/ios/ file (hil/fixtures/ios_profile.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hil/link/link.h"
#include "hil/link/link_sim.h"
#include "hil/fixtures/profile.h"
#include "hil/fixtures/se_profile.h"
#include "hil/base/util.h"
#include "sim/card/card.h"
#include "sim/core/apdu.h"
#include "sim/se/se.h"
#include "sim/ios/ios.h"
#include "hil/fixtures/ios_profile.h"

/* Virtual time starts inside the fixtures' validity: 2026-04-01T00:00Z. */
#define SIM_EPOCH 1775001600

typedef struct sim_link {
	rng_t rng;
	vclock_t clock;
	sim_ctx_t ctx;
	profile_t *profile;
	sim_card_t *card;
	seprof_t *seprof; /* sim:se */
	sim_se_t *se;
	iosprof_t *iosprof; /* sim:ios (an iPhone, fixtures/ios/ profile) */
	sim_ios_t *ios;
	char *state;  /* NVM image path, or NULL */
	int save;     /* the open succeeded: close may write the state file */
} sim_link_t;

/* The state file is kept as it is when it cannot be used: a damaged one
 * is evidence, and writing over it would hand the next run a fresh chip
 * (with its PIN tries restored). */
static int state_fail(link_t *l, const sim_link_t *s, const nvm_fault_t *f)
{
	char why[256];

	nvm_fault_str(f, why, sizeof why);
	return link_fail(l, LINK_ERR_OPEN, "state %s: %s (file left unchanged)", s->state, why);
}

static int load_state(link_t *l, sim_link_t *s)
{
	nvm_fault_t f;
	uint8_t *img;
	size_t n;
	int rc;

	/* Absent: a blank chip, saved there at the end. */
	if (util_read_file(s->state, &img, &n) < 0)
		return errno == ENOENT ? 0
				       : link_fail(l, LINK_ERR_OPEN, "state %s: cannot read: %s", s->state,
						   strerror(errno));
	rc = nvm_load_fault(s->ctx.nvm, img, n, &f);
	free(img);
	if (rc == NVM_ERR_IMAGE)
		return state_fail(l, s, &f);
	if (rc < 0)
		return link_fail(l, LINK_ERR_OPEN, "state %s: %s", s->state, nvm_strerror(rc));
	return 0;
}

/* A chip that refused to power up on its NVM: SIM_ERR_IMAGE says the
 * state file holds a record out of range; check says which. */
static int new_fail(link_t *l, sim_link_t *s, int rc, int (*check)(nvm_t *, nvm_fault_t *),
		    const char *who, const char *profile)
{
	nvm_fault_t f;

	if (rc == SIM_ERR_IMAGE && s->state && check(s->ctx.nvm, &f) == SIM_ERR_IMAGE)
		return state_fail(l, s, &f);
	return link_fail(l, LINK_ERR_OPEN, "profile %s rejected by the %s (error %d)", profile, who, rc);
}

static int sim_open(link_t *l, const char *rest, const link_opts_t *o)
{
	char query_profile[1024] = "", query_state[1024] = "", query_serial[16] = "", err[512];
	const char *q = strchr(rest, '?');
	size_t kind = q ? (size_t)(q - rest) : strlen(rest);
	char profile_path[PATH_MAX], state_path[PATH_MAX];
	const char *profile, *state;
	sim_link_t *s;
	int rc, is_se, is_ios;

	if ((kind != 4 || memcmp(rest, "card", 4)) && (kind != 2 || memcmp(rest, "se", 2)) &&
	    (kind != 3 || memcmp(rest, "ios", 3)))
		return link_fail(l, LINK_ERR_URI, "unknown simulator (expected sim:card, sim:se or sim:ios)");
	is_se = kind == 2;
	is_ios = kind == 3;
	if (q) {
		if (util_query_get(q + 1, "profile", query_profile, sizeof query_profile) < 0)
			return link_fail(l, LINK_ERR_URI, "profile=: path longer than %zu bytes", sizeof query_profile - 1);
		if (util_query_get(q + 1, "state", query_state, sizeof query_state) < 0)
			return link_fail(l, LINK_ERR_URI, "state=: path longer than %zu bytes", sizeof query_state - 1);
		if (util_query_get(q + 1, "serial", query_serial, sizeof query_serial) < 0)
			return link_fail(l, LINK_ERR_URI, "serial: 8 hex digits");
		if (query_serial[0] && !is_se && !is_ios)
			return link_fail(l, LINK_ERR_URI, "serial= is for sim:se and sim:ios (another phone), not sim:card");
	}
	profile = o->profile ? o->profile : query_profile[0] ? query_profile
				       : is_se ? seprof_default_path()
				       : is_ios ? iosprof_default_path() : profile_default_path();
	state = o->state ? o->state : query_state[0] ? query_state : NULL;
	if (link_path(l, o, "profile", profile, LINK_PATH_READ, profile_path, sizeof profile_path) < 0 ||
	    (state && link_path(l, o, "state", state, LINK_PATH_WRITE, state_path, sizeof state_path) < 0))
		return LINK_ERR_OPEN;
	profile = profile_path;
	state = state ? state_path : NULL;

	if (!(s = calloc(1, sizeof *s)))
		return link_fail(l, LINK_ERR_IO, "out of memory");
	l->priv = s;
	{
		rng_t root;
		char label[256];
		rng_seed(&root, o->seed);
		snprintf(label, sizeof label, "sim:%s/%s", is_se ? "se" : is_ios ? "ios" : "card", o->label ? o->label : "");
		rng_derive(&s->rng, &root, label);
	}
	vclock_set(&s->clock, SIM_EPOCH);
	s->ctx.rng = &s->rng;
	s->ctx.clock = &s->clock;
	if (!(s->ctx.nvm = nvm_new())) {
		rc = link_fail(l, LINK_ERR_IO, "out of memory");
		goto fail;
	}
	if (state && (!(s->state = strdup(state)) || (rc = load_state(l, s)) < 0)) {
		rc = s->state ? rc : link_fail(l, LINK_ERR_IO, "out of memory");
		goto fail;
	}
	if (is_se) {
		if (!(s->seprof = seprof_load(profile, err, sizeof err))) {
			rc = link_fail(l, LINK_ERR_OPEN, "%s", err);
			goto fail;
		}
		se_profile_t sp;
		uint8_t sn[4];
		/* sim:se?serial=HEX8: another phone of the same model — the
		 * CPLC's IC serial number and the IDm's last 4 bytes, and its
		 * own keys when the profile diversifies them. */
		if (query_serial[0] && (strlen(query_serial) != 8 || apdu_unhex(query_serial, sn, 4) != 4)) {
			rc = link_fail(l, LINK_ERR_URI, "serial: 8 hex digits");
			goto fail;
		}
		if (seprof_instance(s->seprof, query_serial[0] ? sn : NULL, &sp) < 0) {
			rc = link_fail(l, LINK_ERR_OPEN, "%s: the SE's keys cannot be derived", profile);
			goto fail;
		}
		rc = sim_se_new(&s->se, &sp, &s->ctx);
		OPENSSL_cleanse(sp.keysets, sizeof sp.keysets);
		if (rc < 0) {
			rc = new_fail(l, s, rc, sim_se_check_nvm, "SE", profile);
			goto fail;
		}
		s->save = !o->probe;
		return LINK_OK;
	}
	if (is_ios) {
		uint8_t sn[4];
		if (!(s->iosprof = iosprof_load(profile, err, sizeof err))) {
			rc = link_fail(l, LINK_ERR_OPEN, "%s", err);
			goto fail;
		}
		/* sim:ios?serial=HEX8: another iPhone of the same test factory */
		if (query_serial[0] && (strlen(query_serial) != 8 || apdu_unhex(query_serial, sn, 4) != 4)) {
			rc = link_fail(l, LINK_ERR_URI, "serial: 8 hex digits");
			goto fail;
		}
		if (query_serial[0] && iosprof_instance(s->iosprof, sn, err, sizeof err) < 0) {
			rc = link_fail(l, LINK_ERR_OPEN, "%s: %s", profile, err);
			goto fail;
		}
		if ((rc = sim_ios_new(&s->ios, iosprof_get(s->iosprof), &s->ctx)) < 0) {
			rc = new_fail(l, s, rc, sim_ios_check_nvm, "iPhone", profile);
			goto fail;
		}
		s->save = !o->probe;
		return LINK_OK;
	}
	if (!(s->profile = profile_load(profile, err, sizeof err))) {
		rc = link_fail(l, LINK_ERR_OPEN, "%s", err);
		goto fail;
	}
	if ((rc = sim_card_new(&s->card, profile_card(s->profile), &s->ctx)) < 0) {
		rc = new_fail(l, s, rc, sim_card_check_nvm, "card", profile);
		goto fail;
	}
	s->save = !o->probe;
	return LINK_OK;
fail:
	l->ops->close(l);
	l->priv = NULL;
	return rc;
}

static void sim_close(link_t *l)
{
	sim_link_t *s = l->priv;
	uint8_t *img;
	size_t n;

	if (!s)
		return;
	if (s->save && s->state && nvm_save(s->ctx.nvm, &img, &n) == 0) {
		if (util_write_file(s->state, img, n) < 0)
			fprintf(stderr, "mynahil: %s: cannot save state %s: %s\n", l->uri, s->state, strerror(errno));
		free(img);
	}
	sim_card_free(s->card);
	profile_free(s->profile);
	sim_se_free(s->se);
	seprof_free(s->seprof);
	sim_ios_free(s->ios);
	iosprof_free(s->iosprof);
	nvm_free(s->ctx.nvm);
	free(s->state);
	free(s);
}

static int sim_power(link_t *l, enum sim_power how)
{
	sim_link_t *s = l->priv;
	int rc = s->se ? sim_se_power(s->se, how) : s->ios ? sim_ios_power(s->ios, how) : sim_card_power(s->card, how);

	return rc < 0 ? link_fail(l, LINK_ERR_IO, "power change refused") : 0;
}

static int sim_transmit(link_t *l, const uint8_t *cmd, size_t len,
			uint8_t *rsp, size_t cap, size_t *rsplen, int timeout_ms)
{
	sim_link_t *s = l->priv;
	int rc;
	(void)timeout_ms; /* in process: an answer is immediate or never */

	if (s->ios)
		rc = sim_ios_transmit(s->ios, cmd, len, rsp, cap, rsplen);
	else if (!s->se)
		rc = sim_card_transmit(s->card, cmd, len, rsp, cap, rsplen);
	else if (sim_se_is_felica(s->se, cmd, len))
		rc = sim_se_felica(s->se, cmd, len, rsp, cap, rsplen); /* may be silent: 0 bytes */
	else
		rc = sim_se_transmit(s->se, cmd, len, rsp, cap, rsplen);
	if (rc < 0) {
		*rsplen = 0;
		return link_fail(l, LINK_ERR_MUTE, "%s is mute (powered off or power lost)",
				 s->se ? "SE" : s->ios ? "iPhone" : "card");
	}
	return LINK_OK;
}

static size_t sim_atr(link_t *l, uint8_t *atr, size_t cap)
{
	sim_link_t *s = l->priv;
	return s->se ? sim_se_atr(s->se, atr, cap) : s->ios ? sim_ios_atr(s->ios, atr, cap) : sim_card_atr(s->card, atr, cap);
}

static int sim_wait(link_t *l, int present, int timeout_ms)
{
	(void)timeout_ms;
	/* The simulated card is always in the field. */
	return present ? LINK_OK : link_fail(l, LINK_ERR_TIMEOUT, "card is never removed from a sim: link");
}

const link_ops_t link_sim_ops = {
	.scheme = "sim",
	.query_keys = (const char *const[]){ "profile", "state", "serial", "keys", NULL },
	.open = sim_open,
	.close = sim_close,
	.power = sim_power,
	.transmit = sim_transmit,
	.atr = sim_atr,
	.wait = sim_wait,
};

sim_ctx_t *link_sim_ctx(link_t *l)
{
	l = link_base(l); /* under a fault link */
	return l && l->ops == &link_sim_ops ? &((sim_link_t *)l->priv)->ctx : NULL;
}

sim_se_t *link_sim_se(link_t *l)
{
	l = link_base(l); /* under a fault link */
	return l && l->ops == &link_sim_ops ? ((sim_link_t *)l->priv)->se : NULL;
}

sim_card_t *link_sim_card(link_t *l)
{
	l = link_base(l); /* under a fault link */
	return l && l->ops == &link_sim_ops ? ((sim_link_t *)l->priv)->card : NULL;
}

sim_ios_t *link_sim_ios(link_t *l)
{
	l = link_base(l); /* under a fault link */
	return l && l->ops == &link_sim_ops ? ((sim_link_t *)l->priv)->ios : NULL;
}
