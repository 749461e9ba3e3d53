/* host.c — the SE targets' GlobalPlatform host (host.h). */
#include "tests/fuzz/host.h"

#include <string.h>

const uint8_t fz_levels[6] = { 0x00, 0x01, 0x03, 0x11, 0x13, 0x33 };

/* A cold reset: every channel but 0 closed, the session gone. */
static void host_reset(fz_host_t *h)
{
	sim_se_power(h->se, SIM_POWER_COLD);
	h->open = 0;
	h->chan = 0;
	h->rsplen = 0;
}

int fz_host_raw(fz_host_t *h, const uint8_t *cmd, size_t n)
{
	int rc = sim_se_transmit(h->se, cmd, n, h->rsp, sizeof h->rsp, &h->rsplen);

	/* Power-up recovery after a tear: the part worth fuzzing next. */
	if (rc == SIM_ERR_MUTE)
		host_reset(h);
	return rc;
}

static void host_keys(scp03_keyset_t *k)
{
	const se_keyset_t *p = &fz_se_profile()->keysets[0];

	memset(k, 0, sizeof *k);
	k->kvn = p->kvn;
	k->key_len = p->key_len;
	memcpy(k->enc, p->enc, p->key_len);
	memcpy(k->mac, p->mac, p->key_len);
	memcpy(k->dek, p->dek, p->key_len);
}

int fz_host_open(fz_host_t *h)
{
	static const uint8_t hc[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	scp03_keyset_t keys;
	uint8_t cmd[64];
	size_t n;

	h->open = 0;
	host_keys(&keys);
	if (scp03_host_init_update(&h->s, 0, hc, h->s16 ? 16 : 8, cmd, sizeof cmd, &n) < 0)
		return 0;
	cmd[0] |= h->chan;
	if (fz_host_raw(h, cmd, n) != SIM_OK)
		return 0;
	if (scp03_host_open(&h->s, &keys, h->rsp, h->rsplen, h->level, cmd, sizeof cmd, &n) < 0)
		return 0;
	cmd[0] |= h->chan;
	if (fz_host_raw(h, cmd, n) != SIM_OK)
		return 0;
	h->open = scp03_host_auth_result(&h->s, h->rsp, h->rsplen) == 0;
	return h->open;
}

void fz_host_send(fz_host_t *h, const uint8_t *cmd, size_t n)
{
	static uint8_t plain[APDU_MAX_DATA + 10], w[APDU_MAX_DATA + 64];
	size_t wn;

	if (n < 4 || n > sizeof plain || (!h->open && !fz_host_open(h))) {
		fz_host_raw(h, cmd, n);
		return;
	}
	memcpy(plain, cmd, n);
	plain[0] = (uint8_t)((plain[0] & ~0x03) | h->chan);
	if (scp03_host_wrap(&h->s, plain, n, w, sizeof w, &wn) < 0) {
		fz_host_raw(h, cmd, n);
		return;
	}
	if (fz_host_raw(h, w, wn) != SIM_OK)
		return;
	/* A response that does not unwrap (the SE aborted the session on
	 * an error) ends the session: the next command opens a new one. */
	if (scp03_host_unwrap_rsp(&h->s, h->rsp, h->rsplen, h->rsp, sizeof h->rsp, &h->rsplen) < 0)
		h->open = 0;
}

void fz_host_close(fz_host_t *h)
{
	scp03_session_close(&h->s);
	h->open = 0;
}

void fz_host_start(fz_host_t *h, uint8_t b0)
{
	static const uint8_t manage_open[] = { 0x00, 0x70, 0x00, 0x00, 0x01 };

	h->level = fz_levels[b0 % 6];
	h->s16 = (b0 & 0x08) != 0;
	if ((b0 >> 4 & 3) && fz_host_raw(h, manage_open, sizeof manage_open) == SIM_OK && h->rsplen == 3 &&
	    apdu_sw(h->rsp, h->rsplen) == SW_OK && h->rsp[0] <= 3)
		h->chan = h->rsp[0];
}

void fz_host_step(fz_host_t *h, nvm_t *nvm, const fz_rec_t *r)
{
	switch (r->op) {
	case FZ_SE_RAW:
		fz_host_raw(h, r->p, r->n);
		break;
	case FZ_SE_TEAR:
		nvm_tear_at(nvm, 1 + (r->n ? r->p[0] : 0));
		break;
	case FZ_SE_COLD:
		host_reset(h);
		break;
	case FZ_SE_FELICA:
		if (sim_se_felica(h->se, r->p, r->n, h->rsp, sizeof h->rsp, &h->rsplen) == SIM_ERR_MUTE)
			host_reset(h);
		break;
	case FZ_SE_REOPEN:
		h->level = fz_levels[(r->n ? r->p[0] : 0) % 6];
		fz_host_open(h);
		break;
	default:
		fz_host_send(h, r->p, r->n);
		break;
	}
}
