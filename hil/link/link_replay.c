/* link_replay.c — the card side of a recorded trace (docs/traces.md).
 *
 * URI: replay:FILE[?mode=strict|lookup&mask=M,...&role=R&format=F].
 * FILE is any trace `mynahil trace import` reads (our JSON lines, an
 * OpenSC or pcsc-spy log, a pcapng), read at open.  Each command sent is
 * compared with the trace's, masked bytes aside (hil/trace/trc_mask.c),
 * and answered with the recorded response:
 *  - strict (the default): the next exchange of the trace must be this
 *    command.  The first one that is not fails the exchange with an error
 *    naming the exchange's index, where it came from, and both commands;
 *    every later command fails the same way (the replay is over).
 *  - lookup: the answer of the first matching command from the current
 *    position on; commands the host skipped or reordered are fine.
 * Events of the trace (power) are not replayed; power and waits succeed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/link/link.h"
#include "hil/base/util.h"
#include "hil/trace/trc.h"
#include "sim/core/apdu.h"

static const char *const query_keys[] = { "mode", "mask", "role", "format", NULL };

typedef struct replay {
	trc_t t;
	size_t *ex;     /* indices of the exchanges in t */
	size_t nex, pos;
	int lookup;
	unsigned mask;
	char *diverged; /* set once strict replay has diverged */
} replay_t;

static int q_get(link_t *l, const char *q, const char *key, char *out, size_t cap)
{
	int rc = q ? util_query_get(q, key, out, cap) : 0;

	if (rc < 0)
		return link_fail(l, LINK_ERR_URI, "?%s= is too long", key);
	if (rc == 0)
		out[0] = 0;
	return LINK_OK;
}

static void replay_close(link_t *l)
{
	replay_t *r = l->priv;

	if (!r)
		return;
	trc_free(&r->t);
	free(r->ex);
	free(r->diverged);
	free(r);
}

static int open_trace(link_t *l, const char *rest, const link_opts_t *o)
{
	const char *q = strchr(rest, '?');
	char file[4096], path[4096], mode[16], mask[128], role[64], format[32], err[512];
	replay_t *r;

	snprintf(file, sizeof file, "%.*s", q ? (int)(q - rest) : (int)strlen(rest), rest);
	if (!*file)
		return link_fail(l, LINK_ERR_URI, "replay: needs a trace file (replay:FILE)");
	if (q_get(l, q ? q + 1 : NULL, "mode", mode, sizeof mode) < 0 ||
	    q_get(l, q ? q + 1 : NULL, "mask", mask, sizeof mask) < 0 ||
	    q_get(l, q ? q + 1 : NULL, "role", role, sizeof role) < 0 ||
	    q_get(l, q ? q + 1 : NULL, "format", format, sizeof format) < 0)
		return LINK_ERR_URI;
	if (*mode && strcmp(mode, "strict") && strcmp(mode, "lookup"))
		return link_fail(l, LINK_ERR_URI, "?mode=%s: strict or lookup", mode);
	if (link_path(l, o, "replay trace", file, LINK_PATH_READ, path, sizeof path) < 0)
		return LINK_ERR_OPEN;
	if (!(r = calloc(1, sizeof *r)))
		return link_fail(l, LINK_ERR_IO, "out of memory");
	l->priv = r;
	r->lookup = !strcmp(mode, "lookup");
	if (trc_mask_parse(mask, &r->mask, err, sizeof err) < 0)
		return link_fail(l, LINK_ERR_URI, "?mask=: %s", err);
	if (trc_import(&r->t, path, *format ? format : NULL, NULL, err, sizeof err) < 0)
		return link_fail(l, LINK_ERR_OPEN, "%s", err);
	if (!(r->ex = calloc(r->t.n + 1, sizeof *r->ex)))
		return link_fail(l, LINK_ERR_IO, "out of memory");
	for (size_t i = 0; i < r->t.n; i++) {
		const trc_rec_t *x = &r->t.v[i];
		if (!x->event && (!*role || !x->role || !strcmp(x->role, role)))
			r->ex[r->nex++] = i;
	}
	if (!r->nex)
		return link_fail(l, LINK_ERR_OPEN, "%s: no exchange%s%s in it", path, *role ? " of role " : "", role);
	return LINK_OK;
}

static int replay_open(link_t *l, const char *rest, const link_opts_t *o)
{
	int rc = open_trace(l, rest, o);

	if (rc < 0) { /* link_open frees the link, not what its kind holds */
		replay_close(l);
		l->priv = NULL;
	}
	return rc;
}

static int replay_power(link_t *l, enum sim_power how)
{
	(void)l, (void)how;
	return LINK_OK;
}

/* "00A4...": a command shown in an error, cut at 64 bytes. */
static void show(const uint8_t *p, size_t n, char *out)
{
	apdu_hex(p, n > 64 ? 64 : n, out);
	if (n > 64)
		strcat(out, "...");
}

static int answer(link_t *l, const trc_rec_t *x, uint8_t *rsp, size_t cap, size_t *rsplen)
{
	if (!x->rsp)
		return link_fail(l, LINK_ERR_MUTE, "the trace has no answer to this command (%s)", x->at ? x->at : "?");
	if (x->rn > cap)
		return link_fail(l, LINK_ERR_IO, "recorded response longer than the buffer");
	memcpy(rsp, x->rsp, x->rn);
	*rsplen = x->rn;
	return LINK_OK;
}

static int replay_transmit(link_t *l, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap, size_t *rsplen,
			   int timeout_ms)
{
	replay_t *r = l->priv;
	static char sent[140], want[140];
	const trc_rec_t *x;

	(void)timeout_ms;
	*rsplen = 0;
	if (r->diverged)
		return link_fail(l, LINK_ERR_IO, "%s", r->diverged);
	show(cmd, len, sent);
	if (r->lookup) {
		for (size_t k = r->pos; k < r->nex; k++) {
			x = &r->t.v[r->ex[k]];
			if (trc_cmd_eq(cmd, len, x->cmd, x->cn, r->mask)) {
				r->pos = k + 1;
				return answer(l, x, rsp, cap, rsplen);
			}
		}
		return link_fail(l, LINK_ERR_IO, "no command from exchange %zu of the trace on matches %s", r->pos + 1, sent);
	}
	if (r->pos == r->nex) {
		link_fail(l, LINK_ERR_IO, "replay diverges at exchange %zu: sent %s, the trace ends after %zu exchanges",
			  r->pos + 1, sent, r->nex);
	} else {
		x = &r->t.v[r->ex[r->pos]];
		if (trc_cmd_eq(cmd, len, x->cmd, x->cn, r->mask)) {
			r->pos++;
			return answer(l, x, rsp, cap, rsplen);
		}
		show(x->cmd, x->cn, want);
		link_fail(l, LINK_ERR_IO, "replay diverges at exchange %zu (%s): sent %s, the trace has %s", r->pos + 1,
			  x->at ? x->at : "?", sent, want);
	}
	r->diverged = strdup(strchr(l->err, ' ') ? strchr(l->err, ' ') + 1 : l->err);
	/* A scenario may swallow the link's error (a helper that returns nil):
	 * the first divergence is said once where a person sees it. */
	fprintf(stderr, "mynahil: %s\n", l->err);
	return LINK_ERR_IO;
}

static size_t replay_atr(link_t *l, uint8_t *atr, size_t cap)
{
	(void)l, (void)atr, (void)cap;
	return 0; /* traces hold APDUs, not ATRs */
}

static int replay_wait(link_t *l, int present, int timeout_ms)
{
	(void)l, (void)present, (void)timeout_ms;
	return LINK_OK;
}

const link_ops_t link_replay_ops = {
	.scheme = "replay",
	.query_keys = query_keys,
	.open = replay_open,
	.close = replay_close,
	.power = replay_power,
	.transmit = replay_transmit,
	.atr = replay_atr,
	.wait = replay_wait,
};
