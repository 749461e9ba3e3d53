/* links.c — fuzzing links over fresh simulators (links.h). */
#include "tests/fuzz/links.h"

#include <stdlib.h>
#include <string.h>

static int fl_power(link_t *l, enum sim_power how)
{
	fz_link_t *f = l->priv;

	return f->se ? sim_se_power(f->se, how) : sim_card_power(f->card, how);
}

/* As hil/link/link_sim.c: an SE takes FeliCa frames and APDUs on one path. */
static int fl_transmit(link_t *l, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap, size_t *rsplen,
		       int timeout_ms)
{
	fz_link_t *f = l->priv;
	int rc;

	(void)timeout_ms;
	if (!f->se)
		rc = sim_card_transmit(f->card, cmd, len, rsp, cap, rsplen);
	else if (sim_se_is_felica(f->se, cmd, len))
		rc = sim_se_felica(f->se, cmd, len, rsp, cap, rsplen);
	else
		rc = sim_se_transmit(f->se, cmd, len, rsp, cap, rsplen);
	return rc < 0 ? link_fail(l, LINK_ERR_MUTE, "fuzz: the simulator is mute") : LINK_OK;
}

static size_t fl_atr(link_t *l, uint8_t *atr, size_t cap)
{
	fz_link_t *f = l->priv;

	return f->se ? sim_se_atr(f->se, atr, cap) : sim_card_atr(f->card, atr, cap);
}

static int fl_wait(link_t *l, int present, int timeout_ms)
{
	(void)l;
	(void)timeout_ms;
	return present ? LINK_OK : LINK_ERR_TIMEOUT;
}

static const link_ops_t fl_ops = {
	.scheme = "fuzz", .power = fl_power, .transmit = fl_transmit, .atr = fl_atr, .wait = fl_wait,
};

static void fl_init(fz_link_t *f, char *uri)
{
	f->l.ops = &fl_ops;
	f->l.priv = f;
	f->l.uri = uri;
}

void fz_link_card(fz_link_t *f)
{
	static char uri[] = "fuzz:card";

	memset(f, 0, sizeof *f);
	fz_sim_init(&f->sim, NULL);
	if (fz_card_new(&f->card, &f->sim) != SIM_OK)
		abort();
	fl_init(f, uri);
}

void fz_link_se(fz_link_t *f)
{
	static char uri[] = "fuzz:se";

	memset(f, 0, sizeof *f);
	fz_sim_init(&f->sim, NULL);
	if (fz_se_new(&f->se, &f->sim) != SIM_OK)
		abort();
	fl_init(f, uri);
}

void fz_link_done(fz_link_t *f)
{
	sim_card_free(f->card);
	sim_se_free(f->se);
	fz_sim_done(&f->sim);
}
