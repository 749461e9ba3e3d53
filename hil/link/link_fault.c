/* link_fault.c — the fault decorator (link_fault.h).
 *
 * Every command of the role is counted (fault_live_apdu); the fault due
 * at it acts before or after the inner link's transmit.  A device that
 * lost power (a power fault or a torn NVM write) answers nothing to that
 * command and is powered up again (cold) before the next one, as a phone
 * or a reader does: what it kept is what its NVM kept.  NVM writes are
 * counted per role across its devices: before each command the tear due
 * next is armed on the simulator's NVM for exactly the writes left to
 * it, and disarmed after, so a write outside a command (a back door) is
 * never torn by surprise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hil/link/link_fault.h"
#include "sim/core/apdu.h"

enum { UP, NEEDS_POWER, REMOVED, UNPLUGGED };

typedef struct fault_link {
	link_t *inner;
	fault_live_t *fl;
	char role[8];
	int state;
	sim_ctx_t *ctx;   /* a simulator's: NVM tears */
	long seen;        /* its NVM's write count already added to the role's */
	int armed;        /* index of the tear armed for this command, or -1 */
} fault_link_t;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The NVM writes since the last look, added to the role's count (not
 * while the oracle or the teardown works: those are no tear points). */
static void sync_writes(fault_link_t *f)
{
	long now;

	if (!f->ctx)
		return;
	now = nvm_write_count(f->ctx->nvm);
	if (!fault_live_paused(f->fl))
		fault_live_add_writes(f->fl, f->role, now - f->seen);
	f->seen = now;
}

static void arm(fault_link_t *f)
{
	long done, due;

	f->armed = -1;
	if (!f->ctx)
		return;
	sync_writes(f);
	done = fault_live_writes(f->fl, f->role);
	if ((due = fault_live_nvm_due(f->fl, f->role, done, &f->armed)) > 0)
		nvm_tear_at(f->ctx->nvm, due - done);
}

/* After the command: did the armed tear happen? */
static int disarm(link_t *l, fault_link_t *f, const char *what)
{
	char where[200];
	int torn = 0;

	if (!f->ctx)
		return 0;
	sync_writes(f);
	if (f->armed >= 0 && !nvm_powered(f->ctx->nvm)) {
		snprintf(where, sizeof where, "NVM write %ld of %s, during %s; it powers up again before its next command",
			 fault_live_writes(f->fl, f->role), f->role, what);
		fault_live_fired(f->fl, f->armed, l->uri, where);
		f->state = NEEDS_POWER;
		torn = 1;
	}
	if (f->armed >= 0) /* a tear the scenario armed itself (link:tear_at) is left alone */
		nvm_tear_at(f->ctx->nvm, 0);
	f->armed = -1;
	return torn;
}

/* A device that lost power comes back before its next command. */
static int recover(link_t *l, fault_link_t *f)
{
	if (f->state == UNPLUGGED)
		return link_fail(l, LINK_ERR_IO, "the reader was unplugged (fault)");
	if (f->state == REMOVED)
		return link_fail(l, LINK_ERR_ABSENT, "the card was removed (fault)");
	if (f->state == NEEDS_POWER) {
		fault_live_note(f->fl, l->uri, "power cold (after the fault's power loss)");
		f->state = UP;
		if (link_power(f->inner, SIM_POWER_COLD) < 0)
			return link_fail(l, LINK_ERR_IO, "%s", link_error(f->inner));
	}
	return LINK_OK;
}

/* The answer altered as the fault says; the value used goes into where. */
static void alter(fault_link_t *f, const fault_hit_t *h, uint8_t *rsp, size_t *rn, char *where, size_t cap)
{
	size_t off = strlen(where), n = *rn;

	switch (h->spec->action) {
	case FAULT_SW:
		if (n < 2)
			break;
		rsp[n - 2] = (uint8_t)(h->value >> 8);
		rsp[n - 1] = (uint8_t)h->value;
		snprintf(where + off, cap - off, "; status word now %04lX", h->value);
		break;
	case FAULT_TRUNCATE: {
		size_t keep = h->spec->has_value ? (size_t)h->value : fault_live_draw(f->fl, h->index, (uint32_t)(n ? n : 1));
		if (keep < n)
			*rn = keep;
		snprintf(where + off, cap - off, "; %zu of %zu bytes kept", *rn, n);
		break;
	}
	case FAULT_FLIP: {
		/* seeded: a bit of the data when there is data, else of the SW */
		size_t bits = 8 * n, bit;
		if (h->spec->has_value)
			bit = (size_t)h->value;
		else if (n > 2)
			bit = fault_live_draw(f->fl, h->index, (uint32_t)(8 * (n - 2)));
		else
			bit = 8 * (n >= 2 ? n - 2 : 0) + fault_live_draw(f->fl, h->index, 16);
		if (bit < bits) {
			rsp[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			snprintf(where + off, cap - off, "; bit %zu flipped (byte %zu)", bit, bit / 8);
		} else {
			snprintf(where + off, cap - off, "; bit %zu is past the answer's %zu bits: nothing flipped", bit,
				 bits);
		}
		break;
	}
	default: break;
	}
}

static int fault_transmit(link_t *l, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap, size_t *rsplen,
			  int timeout_ms)
{
	fault_link_t *f = l->priv;
	fault_hit_t h = fault_live_apdu(f->fl, f->role);
	char where[300], hex[2 * 16 + 1], what[64];
	int rc;

	*rsplen = 0;
	if ((rc = recover(l, f)) < 0)
		return rc;
	apdu_hex(cmd, len < 16 ? len : 16, hex);
	snprintf(where, sizeof where, "APDU %ld of %s (%s%s)", fault_live_count(f->fl, f->role, FAULT_AT_APDU),
		 f->role, hex, len > 16 ? "..." : "");
	if (h.spec) {
		switch (h.spec->action) {
		case FAULT_POWER:
			link_power(f->inner, SIM_POWER_OFF);
			f->state = NEEDS_POWER;
			strncat(where, "; unanswered, it powers up again before its next command",
				sizeof where - strlen(where) - 1);
			fault_live_fired(f->fl, h.index, l->uri, where);
			return link_fail(l, LINK_ERR_MUTE, "power lost (fault)");
		case FAULT_REMOVE:
			f->state = REMOVED;
			fault_live_fired(f->fl, h.index, l->uri, where);
			return link_fail(l, LINK_ERR_ABSENT, "the card was removed (fault)");
		case FAULT_UNPLUG:
			f->state = UNPLUGGED;
			fault_live_fired(f->fl, h.index, l->uri, where);
			return link_fail(l, LINK_ERR_IO, "the reader was unplugged (fault)");
		default: break;
		}
	}
	snprintf(what, sizeof what, "APDU %ld (%.16s)", fault_live_count(f->fl, f->role, FAULT_AT_APDU), hex);
	arm(f);
	rc = link_transmit(f->inner, cmd, len, rsp, cap, rsplen, timeout_ms);
	if (disarm(l, f, what) || rc < 0) {
		snprintf(l->err, sizeof l->err, "%s", link_error(f->inner));
		if (h.spec)
			fault_live_fired(f->fl, h.index, l->uri, strcat(where, "; unanswered anyway"));
		return rc < 0 ? rc : LINK_ERR_MUTE;
	}
	if (!h.spec)
		return rc;
	if (h.spec->action == FAULT_DELAY) {
		long ms = h.value < timeout_ms ? h.value : timeout_ms;
		sleep_ms(ms);
		if (h.value >= timeout_ms) {
			snprintf(where + strlen(where), sizeof where - strlen(where),
				 "; answered after %ld ms, past the %d ms timeout", h.value, timeout_ms);
			fault_live_fired(f->fl, h.index, l->uri, where);
			*rsplen = 0;
			return link_fail(l, LINK_ERR_TIMEOUT, "no answer within %d ms (fault)", timeout_ms);
		}
		snprintf(where + strlen(where), sizeof where - strlen(where), "; answered %ld ms late", h.value);
	} else {
		alter(f, &h, rsp, rsplen, where, sizeof where);
	}
	fault_live_fired(f->fl, h.index, l->uri, where);
	return rc;
}

static int fault_power(link_t *l, enum sim_power how)
{
	fault_link_t *f = l->priv;
	int rc;

	if (f->state == UNPLUGGED || f->state == REMOVED)
		return recover(l, f);
	arm(f);
	rc = link_power(f->inner, how);
	disarm(l, f, how == SIM_POWER_OFF ? "power off" : "power up");
	if (rc < 0)
		return link_fail(l, rc, "%s", link_error(f->inner));
	f->state = UP; /* after its own power off, the scenario powers it up */
	return rc;
}

static size_t fault_atr(link_t *l, uint8_t *atr, size_t cap)
{
	return link_atr(((fault_link_t *)l->priv)->inner, atr, cap);
}

/* A removed card is put back when the scenario waits for one: the
 * reader powers it. */
static int fault_wait(link_t *l, int present, int timeout_ms)
{
	fault_link_t *f = l->priv;

	if (f->state == UNPLUGGED)
		return recover(l, f);
	if (f->state == REMOVED) {
		if (!present)
			return LINK_OK;
		fault_live_note(f->fl, l->uri, "card back in the reader (after the fault's removal)");
		f->state = NEEDS_POWER;
		return recover(l, f);
	}
	return link_wait(f->inner, present, timeout_ms);
}

static void fault_close(link_t *l)
{
	fault_link_t *f = l->priv;

	if (!f)
		return;
	sync_writes(f);
	link_close(f->inner);
	free(f);
}

static int fault_open(link_t *l, const char *rest, const link_opts_t *o)
{
	(void)rest;
	(void)o;
	return link_fail(l, LINK_ERR_URI, "a fault link wraps another: link_fault_wrap");
}

static link_t *fault_inner(link_t *l)
{
	return ((fault_link_t *)l->priv)->inner;
}

static const link_ops_t link_fault_ops = {
	.scheme = "fault",
	.query_keys = (const char *const[]){ NULL },
	.open = fault_open,
	.close = fault_close,
	.power = fault_power,
	.transmit = fault_transmit,
	.atr = fault_atr,
	.wait = fault_wait,
	.inner = fault_inner,
};

link_t *link_fault_wrap(link_t *inner, fault_live_t *fl, const char *role)
{
	link_t *l;
	fault_link_t *f;

	/* Every link of a role is wrapped, faults planned or not: a
	 * scenario's w:fault may name the role after the link opened (N
	 * counted from the call), and an unwrapped link would never count
	 * nor fire it. */
	if (!fl)
		return inner;
	l = calloc(1, sizeof *l);
	f = calloc(1, sizeof *f);
	if (!l || !f || !(l->uri = strdup(inner->uri))) {
		free(l);
		free(f);
		link_close(inner);
		return NULL;
	}
	f->inner = inner;
	f->fl = fl;
	f->armed = -1;
	snprintf(f->role, sizeof f->role, "%s", role);
	if ((f->ctx = link_sim_ctx(inner)))
		f->seen = nvm_write_count(f->ctx->nvm);
	l->ops = &link_fault_ops;
	l->priv = f;
	return l;
}
