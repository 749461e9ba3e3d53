/* tsm_script.c — the SCP03 host sessions the TSM keeps (one per TSM
 * session, in a small cache) and the APDU scripts built on them: wrapped
 * GP commands, personalisation DGIs in STORE DATA blocks, the inventory
 * every script ends with. */
#include "tsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/apdu.h"

/* ------------------------------------------------------------ SCP03 host sessions */

scp03_session_t *tsm_scp_find(tsm_t *t, const char *id)
{
	for (size_t i = 0; i < SCP_CACHE; i++)
		if (t->scp[i].live && !strcmp(t->scp[i].id, id)) {
			t->scp[i].used = ++t->tick;
			return &t->scp[i].s;
		}
	return NULL;
}

void tsm_scp_drop(tsm_t *t, const char *id)
{
	for (size_t i = 0; i < SCP_CACHE; i++)
		if (t->scp[i].live && !strcmp(t->scp[i].id, id)) {
			scp03_session_close(&t->scp[i].s);
			t->scp[i].live = 0;
		}
}

scp03_session_t *tsm_scp_new(tsm_t *t, const char *id)
{
	size_t victim = 0;

	tsm_scp_drop(t, id);
	for (size_t i = 0; i < SCP_CACHE; i++) {
		if (!t->scp[i].live) {
			victim = i;
			break;
		}
		if (t->scp[i].used < t->scp[victim].used)
			victim = i;
	}
	scp03_session_close(&t->scp[victim].s);
	scp03_session_init(&t->scp[victim].s);
	snprintf(t->scp[victim].id, sizeof t->scp[victim].id, "%s", id);
	t->scp[victim].live = 1;
	t->scp[victim].used = ++t->tick;
	return &t->scp[victim].s;
}

/* ------------------------------------------------------------ scripts */

void tsm_sc_raw(script_t *sc, const uint8_t *cmd, size_t n, const char *op)
{
	json_array_append_new(sc->apdus, tsm_jhex(cmd, n));
	json_array_append_new(sc->ops, json_string(op));
}

void tsm_sc_cmd(script_t *sc, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d, size_t lc,
		   const char *op)
{
	uint8_t plain[300], w[340];
	size_t n = apdu_build(plain, sizeof plain, 0x80, ins, p1, p2, d, lc, 256), wn;

	if (n && sc->dry) { /* planned only: the script is thrown away */
		tsm_sc_raw(sc, plain, n, op);
		return;
	}
	if (!n || scp03_host_wrap(sc->s, plain, n, w, sizeof w, &wn) < 0) {
		sc->err = 1;
		return;
	}
	tsm_sc_raw(sc, w, wn, op);
}

size_t tsm_hexb(const char *hex, uint8_t *out)
{
	return (size_t)apdu_unhex(hex, out, 16);
}

static void sc_install_perso(script_t *sc)
{
	uint8_t d[32];
	size_t n = 0;

	d[n++] = 0;
	d[n++] = 0;
	d[n] = (uint8_t)tsm_hexb(JPKI_AID, d + n + 1);
	n += 1 + d[n];
	d[n++] = 0;
	d[n++] = 0;
	d[n++] = 0;
	tsm_sc_cmd(sc, 0xE6, 0x20, 0x00, d, n, "perso");
}

/* INSTALL [for personalization] and one DGI in STORE DATA blocks. */
void tsm_sc_dgi(script_t *sc, uint16_t dgi, const uint8_t *v, size_t n, const char *op)
{
	uint8_t *all = malloc(n + 5);
	size_t k = 0, off = 0;
	uint8_t p2 = 0;

	if (!all) {
		sc->err = 1;
		return;
	}
	sc_install_perso(sc);
	all[k++] = (uint8_t)(dgi >> 8);
	all[k++] = (uint8_t)dgi;
	if (n < 0xFF) {
		all[k++] = (uint8_t)n;
	} else {
		all[k++] = 0xFF;
		all[k++] = (uint8_t)(n >> 8);
		all[k++] = (uint8_t)n;
	}
	if (n)
		memcpy(all + k, v, n);
	k += n;
	do {
		size_t m = k - off < BLOCK ? k - off : BLOCK;
		int last = off + m == k;
		tsm_sc_cmd(sc, 0xE2, last ? 0x88 : 0x08, p2++, all + off, m, last ? op : "block");
		off += m;
	} while (off < k);
	free(all);
}

void tsm_sc_inventory(script_t *sc)
{
	static const uint8_t any[] = { 0x4F, 0x00 };

	tsm_sc_cmd(sc, 0xF2, 0x40, 0x02, any, sizeof any, "gs_app");
	tsm_sc_cmd(sc, 0xF2, 0x20, 0x02, any, sizeof any, "gs_elf");
	tsm_sc_dgi(sc, 0x0600, NULL, 0, "inv_slots");
}
