/* tsm_script.c — the SCP03 host sessions the TSM keeps (one per TSM
 * session, in a small cache) and the APDU scripts built on them: wrapped
 * GP commands, personalisation DGIs in STORE DATA blocks, the inventory
 * every script ends with. */
#include "tsm_int.h"

#include <stddef.h>
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

static void ent_close(struct scpent *e)
{
	scp03_session_close(&e->s);
	free(e->refs);
	e->refs = NULL;
	e->nrefs = e->caprefs = 0;
	e->live = 0;
}

void tsm_scp_drop(tsm_t *t, const char *id)
{
	for (size_t i = 0; i < SCP_CACHE; i++)
		if (t->scp[i].live && !strcmp(t->scp[i].id, id))
			ent_close(&t->scp[i]);
}

void tsm_scp_free_all(tsm_t *t)
{
	for (size_t i = 0; i < SCP_CACHE; i++)
		ent_close(&t->scp[i]);
}

static struct scpent *ent_of(scp03_session_t *s)
{
	return (struct scpent *)(void *)((char *)s - offsetof(struct scpent, s));
}

/* The command just wrapped, op-th of its script: remembered for its answer. */
static int ref_add(scp03_session_t *s, size_t op)
{
	struct scpent *e = ent_of(s);

	if (e->nrefs == e->caprefs) {
		size_t cap = e->caprefs ? 2 * e->caprefs : 32;
		struct scpref *r = realloc(e->refs, cap * sizeof *r);
		if (!r)
			return -1;
		e->refs = r;
		e->caprefs = cap;
	}
	e->refs[e->nrefs].op = op;
	scp03_host_rsp_ref(s, &e->refs[e->nrefs].r);
	e->nrefs++;
	return 0;
}

/* The commands that go out plain: the channel's opening. */
static int raw_op(const char *op)
{
	return op && (!strcmp(op, "select") || !strcmp(op, "cplc") || !strcmp(op, "iu") || !strcmp(op, "ea") ||
		      !strcmp(op, "sel_ssd") || !strcmp(op, "iss"));
}

json_t *tsm_scp_check(tsm_t *t, const char *id, json_t *ops, json_t *rsps, size_t *bad)
{
	scp03_session_t *s = tsm_scp_find(t, id);
	struct scpent *e = s ? ent_of(s) : NULL;
	json_t *out = json_array();
	size_t k = 0, i;
	json_t *v;

	json_array_foreach(rsps, i, v) {
		const char *hex = json_string_value(v);
		uint8_t *r = NULL;
		size_t rn = 0, pn;

		if (i >= json_array_size(ops))
			break;
		if (raw_op(json_string_value(json_array_get(ops, i)))) {
			json_array_append(out, v);
			continue;
		}
		while (e && k < e->nrefs && e->refs[k].op < i)
			k++;
		/* A wrapped command's answer that cannot be checked (the host
		 * session died with a restart) is as good as lost: the TSM
		 * reads the SE again on a new channel.  So is no answer at all
		 * (the relay sends "" when the SE lost power under the command,
		 * a tear): nothing to believe, nothing altered. */
		if (!e || k == e->nrefs || e->refs[k].op != i || !hex || !*hex)
			break;
		if (tsm_unhex(hex, &r, &rn) < 0 || rn < 2 ||
		    scp03_host_unwrap_rsp_ref(s, &e->refs[k].r, r, rn, r, rn, &pn) < 0) {
			free(r);
			json_decref(out);
			*bad = i;
			e->nrefs = 0;
			return NULL;
		}
		json_array_append_new(out, tsm_jhex(r, pn));
		free(r);
	}
	if (e)
		e->nrefs = 0;
	return out;
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
	ent_close(&t->scp[victim]);
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
	if (!n || scp03_host_wrap(sc->s, plain, n, w, sizeof w, &wn) < 0 ||
	    ref_add(sc->s, json_array_size(sc->ops)) < 0) {
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
