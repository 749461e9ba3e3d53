/* link_pcsc.c — a card in a PC/SC reader, through pcsc-lite: a real
 * card, or a simulator served by `mynahil serve card --vpcd`.
 *
 * URI: pcsc:REGEX[?profile=FILE] — the first reader whose name matches
 * the POSIX extended regular expression (e.g. "pcsc:Virtual PCD",
 * "pcsc:SONY").  ?profile= is not for the link: it tells the scenarios
 * which card is in the reader (hil/run/scenario.c reads it from the URI).
 * Opening waits, with a deadline, for a matching reader and for a card
 * in it (SCardGetStatusChange, never a sleep): MYNAHIL_PCSC_WAIT
 * milliseconds, 10000 unless set.  The card is connected exclusively (a
 * scenario owns it; another holder is waited for within the same
 * deadline), T=0 or T=1 as the reader negotiates.
 *
 * T=0: a 61xx answer is followed by GET RESPONSE until the data is all
 * there, a 6Cxx answer by the same command again with Le = xx, so the
 * caller sees what a T=1 card would have answered.
 *
 * Power: off is SCardDisconnect(SCARD_UNPOWER_CARD); cold is
 * SCardReconnect(SCARD_UNPOWER_CARD) (pcscd powers the card down and up
 * again), or SCardConnect after off; warm is SCardReconnect(
 * SCARD_RESET_CARD).
 *
 * Timeouts: pcsc-lite's SCardTransmit takes none and blocks until the
 * reader driver answers.  Real readers (CCID) bound an exchange by the
 * card's own waiting times; the vpcd driver waits for the served card,
 * which answers or drops the connection (then the exchange fails).  So
 * timeout_ms bounds the waits this link does itself (reader, card
 * presence, wait()), and the runner's wall-clock watchdog bounds the
 * rest. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <PCSC/winscard.h>

#include "hil/link/link.h"
#include "hil/base/util.h"

#define OPEN_WAIT_MS 10000
#define PNP_READER "\\\\?PnP?\\Notification"
#define T0_MAX_GET_RESPONSE 512   /* 61xx rounds before giving up */
#define SHARE_SLICE_MS 50         /* re-try an exclusive connect this often */

typedef struct pcsc_link {
	SCARDCONTEXT ctx;
	int have_ctx;
	SCARDHANDLE h;
	int connected;     /* h is valid */
	DWORD proto;
	char *reader;
	uint8_t buf[MAX_BUFFER_SIZE_EXTENDED];
	uint8_t cmd[MAX_BUFFER_SIZE_EXTENDED];
} pcsc_link_t;

static int open_wait_ms(void)
{
	const char *env = getenv("MYNAHIL_PCSC_WAIT");
	uint64_t v;

	if (env && *env && util_parse_u64(env, &v) == 0 && v <= 3600000)
		return (int)v;
	return OPEN_WAIT_MS;
}

/* A PC/SC failure as a link error that names the reader. */
static int fail_rv(link_t *l, LONG rv, const char *what)
{
	pcsc_link_t *p = l->priv;
	const char *r = p && p->reader ? p->reader : "?";
	int err;

	switch (rv) {
	case SCARD_E_TIMEOUT:
		err = LINK_ERR_TIMEOUT;
		break;
	case SCARD_W_REMOVED_CARD:
	case SCARD_E_NO_SMARTCARD:
		return link_fail(l, LINK_ERR_ABSENT, "%s: card removed from reader '%s' (%s)", what, r,
				 pcsc_stringify_error(rv));
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_READER_UNAVAILABLE:
		return link_fail(l, LINK_ERR_ABSENT, "%s: reader '%s' is gone (%s)", what, r,
				 pcsc_stringify_error(rv));
	case SCARD_W_UNRESPONSIVE_CARD:
	case SCARD_W_UNPOWERED_CARD:
		err = LINK_ERR_MUTE;
		break;
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
		return link_fail(l, LINK_ERR_IO, "%s on reader '%s': pcscd is not running or went away (%s)", what,
				 r, pcsc_stringify_error(rv));
	default:
		err = LINK_ERR_IO;
		break;
	}
	return link_fail(l, err, "%s on reader '%s': %s (0x%08lX)", what, r, pcsc_stringify_error(rv),
			 (unsigned long)rv);
}

/* The first reader matching re, or NULL; *all gets the list for an
 * error message (caller frees both). */
static char *find_reader(pcsc_link_t *p, const regex_t *re, char **all, LONG *rvp)
{
	DWORD n = 0;
	char *names, *hit = NULL;
	LONG rv = SCardListReaders(p->ctx, NULL, NULL, &n);

	*all = NULL;
	*rvp = rv;
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		*rvp = SCARD_S_SUCCESS;
		return NULL;
	}
	if (rv != SCARD_S_SUCCESS || !(names = calloc(1, n + 1)))
		return NULL;
	rv = SCardListReaders(p->ctx, NULL, names, &n);
	*rvp = rv == SCARD_E_NO_READERS_AVAILABLE ? SCARD_S_SUCCESS : rv;
	if (rv != SCARD_S_SUCCESS) {
		free(names);
		return NULL;
	}
	for (char *s = names; *s; s += strlen(s) + 1) {
		if (!hit && regexec(re, s, 0, NULL, 0) == 0)
			hit = strdup(s);
		if (s != names)
			s[-1] = ','; /* "a\0b\0\0" -> "a,b\0" */
	}
	*all = names;
	return hit;
}

/* Wait until reader p->reader has (present) or has no (!present) card,
 * or deadline passes. */
static int wait_card(link_t *l, int present, int64_t deadline, const char *what)
{
	pcsc_link_t *p = l->priv;
	SCARD_READERSTATE rs = { .szReader = p->reader, .dwCurrentState = SCARD_STATE_UNAWARE };

	for (;;) {
		int64_t left = deadline - util_now_ms();
		LONG rv = SCardGetStatusChange(p->ctx, left > 0 ? (DWORD)left : 0, &rs, 1);

		if (rv == SCARD_E_TIMEOUT)
			return link_fail(l, LINK_ERR_TIMEOUT, "%s: reader '%s' %s", what, p->reader,
					 present ? "has no card (timed out waiting for one)"
						 : "still has a card (timed out waiting for its removal)");
		if (rv != SCARD_S_SUCCESS)
			return fail_rv(l, rv, what);
		if (rs.dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE))
			return link_fail(l, LINK_ERR_ABSENT, "%s: reader '%s' is gone", what, p->reader);
		/* A mute card counts as present: pcscd marks a slot MUTE when a
		 * power-up failed (a served card replaced between two of its
		 * polls never looks removed), and SCardConnect powers it up
		 * again — connect_card waits out one that stays mute. */
		if (present ? (rs.dwEventState & SCARD_STATE_PRESENT) : (rs.dwEventState & SCARD_STATE_EMPTY))
			return LINK_OK;
		if (left <= 0)
			return link_fail(l, LINK_ERR_TIMEOUT, "%s: reader '%s' %s", what, p->reader,
					 present ? "has no card (timed out waiting for one)"
						 : "still has a card (timed out waiting for its removal)");
		rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
	}
}

/* Connect exclusively: a scenario owns the card while it runs, so two
 * scenario processes (-j) or another program cannot interleave commands
 * with its own.  While someone else holds the card, wait for the reader's
 * state to change, in slices (pcscd does not always signal a
 * disconnection), until deadline. */
static int connect_card(link_t *l, const char *what, int64_t deadline)
{
	pcsc_link_t *p = l->priv;
	SCARD_READERSTATE rs = { .szReader = p->reader, .dwCurrentState = SCARD_STATE_UNAWARE };
	int told = 0;

	for (;;) {
		LONG rv = SCardConnect(p->ctx, p->reader, SCARD_SHARE_EXCLUSIVE,
				       SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &p->h, &p->proto);
		int64_t left = deadline - util_now_ms();

		if (rv == SCARD_S_SUCCESS) {
			p->connected = 1;
			return LINK_OK;
		}
		if (rv == SCARD_W_UNRESPONSIVE_CARD || rv == SCARD_W_UNPOWERED_CARD) {
			if (left <= 0)
				return link_fail(l, LINK_ERR_MUTE, "%s: the card in reader '%s' does not answer (mute)",
						 what, p->reader);
		} else if (rv != SCARD_E_SHARING_VIOLATION) {
			return fail_rv(l, rv, what);
		} else if (left <= 0) {
			return link_fail(l, LINK_ERR_OPEN, "%s: the card in reader '%s' is in use by another program",
					 what, p->reader);
		} else if (!told++) /* a wait nobody can see looks like a hang */
			fprintf(stderr, "mynahil: %s: the card in reader '%s' is in use by another program; "
				"waiting up to %lld ms\n", l->uri, p->reader, (long long)left);
		rv = SCardGetStatusChange(p->ctx, (DWORD)(left < SHARE_SLICE_MS ? left : SHARE_SLICE_MS), &rs, 1);
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
			return fail_rv(l, rv, what);
		rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
	}
}

static void pcsc_close(link_t *l)
{
	pcsc_link_t *p = l->priv;

	if (!p)
		return;
	/* Reset on the way out, as OpenSC does: the next user of the card
	 * (the next scenario) starts with nothing selected or verified, as
	 * with a fresh sim: card; NVM (PIN counters) stays, as on a card. */
	if (p->connected)
		SCardDisconnect(p->h, SCARD_RESET_CARD);
	if (p->have_ctx)
		SCardReleaseContext(p->ctx);
	free(p->reader);
	free(p);
	l->priv = NULL;
}

static int pcsc_open(link_t *l, const char *rest, const link_opts_t *o)
{
	int64_t deadline = util_now_ms() + open_wait_ms();
	SCARD_READERSTATE pnp = { .szReader = PNP_READER, .dwCurrentState = SCARD_STATE_UNAWARE };
	pcsc_link_t *p;
	regex_t re;
	char *all = NULL, *pattern;
	const char *q;
	LONG rv;
	int rc;

	if (o->profile || o->state)
		return link_fail(l, LINK_ERR_URI, "--profile and --state describe a simulator; a pcsc: card has its own");
	q = link_query(rest); /* ?profile= and ?keys=, for the scenarios; checked by link_open */
	if (!(pattern = strndup(rest, q ? (size_t)(q - rest) : strlen(rest))))
		return link_fail(l, LINK_ERR_IO, "out of memory");
	if (!*pattern) {
		free(pattern);
		return link_fail(l, LINK_ERR_URI, "no reader name: expected pcsc:REGEX, e.g. pcsc:Virtual PCD");
	}
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) {
		rc = link_fail(l, LINK_ERR_URI, "'%s' is not a valid regular expression", pattern);
		free(pattern);
		return rc;
	}
	if (!(p = calloc(1, sizeof *p))) {
		regfree(&re);
		free(pattern);
		return link_fail(l, LINK_ERR_IO, "out of memory");
	}
	l->priv = p;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
	if (rv != SCARD_S_SUCCESS) {
		rc = link_fail(l, LINK_ERR_OPEN, "cannot reach pcscd: %s", pcsc_stringify_error(rv));
		goto fail;
	}
	p->have_ctx = 1;

	/* A matching reader, waiting for plug-in events up to the deadline. */
	for (;;) {
		int64_t left;

		/* Reader count first, then the list: a reader that comes in
		 * between is seen by the list or wakes the wait below. */
		rv = SCardGetStatusChange(p->ctx, 0, &pnp, 1);
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
			rc = link_fail(l, LINK_ERR_OPEN, "cannot watch for readers: %s", pcsc_stringify_error(rv));
			goto fail;
		}
		pnp.dwCurrentState = pnp.dwEventState & ~SCARD_STATE_CHANGED;
		free(all);
		p->reader = find_reader(p, &re, &all, &rv);
		if (rv != SCARD_S_SUCCESS) {
			rc = link_fail(l, LINK_ERR_OPEN, "cannot list readers: %s", pcsc_stringify_error(rv));
			goto fail;
		}
		if (p->reader)
			break;
		left = deadline - util_now_ms();
		/* A probe before a run: readers are there and none matches —
		 * a typo far more often than a reader about to be plugged in. */
		if (left <= 0 || (o->probe && all && *all)) {
			rc = link_fail(l, LINK_ERR_ABSENT, "no reader matches /%s/ (readers: %s)", pattern,
				       all && *all ? all : "none");
			goto fail;
		}
		rv = SCardGetStatusChange(p->ctx, (DWORD)left, &pnp, 1);
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
			rc = link_fail(l, LINK_ERR_OPEN, "cannot watch for readers: %s", pcsc_stringify_error(rv));
			goto fail;
		}
	}
	if ((rc = wait_card(l, 1, deadline, "open")) < 0 || (rc = connect_card(l, "connect", deadline)) < 0)
		goto fail;
	free(all);
	free(pattern);
	regfree(&re);
	return LINK_OK;
fail:
	free(all);
	free(pattern);
	regfree(&re);
	pcsc_close(l);
	return rc;
}

/* One exchange, as the reader does it. */
static LONG raw_transmit(pcsc_link_t *p, const uint8_t *cmd, size_t len, uint8_t *rsp, DWORD *rlen)
{
	const SCARD_IO_REQUEST *pci = p->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	return SCardTransmit(p->h, pci, cmd, (DWORD)len, NULL, rsp, rlen);
}

static int pcsc_transmit(link_t *l, const uint8_t *cmd, size_t len,
			 uint8_t *rsp, size_t cap, size_t *rsplen, int timeout_ms)
{
	pcsc_link_t *p = l->priv;
	DWORD n = sizeof p->buf;
	size_t got = 0;
	LONG rv;

	(void)timeout_ms; /* see the top of this file */
	*rsplen = 0;
	if (!p->connected)
		return link_fail(l, LINK_ERR_MUTE, "card in reader '%s' is powered off (power it on first)", p->reader);
	if (len > sizeof p->cmd)
		return link_fail(l, LINK_ERR_IO, "command of %zu bytes is too long for PC/SC", len);
	rv = raw_transmit(p, cmd, len, p->buf, &n);
	if (rv == SCARD_W_RESET_CARD) {
		/* Someone else reset the card: our handle needs a reconnect, and
		 * whatever was selected or verified is gone — say so. */
		SCardReconnect(p->h, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD,
			       &p->proto);
		return link_fail(l, LINK_ERR_IO, "card in reader '%s' was reset by another program; command not sent",
				 p->reader);
	}
	if (rv != SCARD_S_SUCCESS)
		return fail_rv(l, rv, "transmit");
	if (n < 2)
		return link_fail(l, LINK_ERR_IO, "reader '%s' returned %lu bytes, no status word", p->reader,
				 (unsigned long)n);

	if (p->proto == SCARD_PROTOCOL_T0 && p->buf[n - 2] == 0x6C && (len == 4 || len == 5)) {
		/* Wrong Le: the same command with the Le the card asked for. */
		memcpy(p->cmd, cmd, 4);
		p->cmd[4] = p->buf[n - 1];
		n = sizeof p->buf;
		if ((rv = raw_transmit(p, p->cmd, 5, p->buf, &n)) != SCARD_S_SUCCESS)
			return fail_rv(l, rv, "transmit (6Cxx resend)");
		if (n < 2)
			return link_fail(l, LINK_ERR_IO, "reader '%s' returned no status word", p->reader);
	}
	if (p->proto == SCARD_PROTOCOL_T0 && p->buf[n - 2] == 0x61) {
		/* More data: GET RESPONSE until it is all there. */
		uint8_t gr[5] = { (uint8_t)(cmd[0] & 0x03), 0xC0, 0x00, 0x00, 0 };
		int rounds = 0;

		while (p->buf[n - 2] == 0x61) {
			if (got + n - 2 > cap)
				return link_fail(l, LINK_ERR_IO, "response too long for the caller's buffer");
			memcpy(rsp + got, p->buf, n - 2);
			got += n - 2;
			gr[4] = p->buf[n - 1];
			n = sizeof p->buf;
			if (++rounds > T0_MAX_GET_RESPONSE)
				return link_fail(l, LINK_ERR_IO, "card in reader '%s' keeps answering 61xx", p->reader);
			if ((rv = raw_transmit(p, gr, sizeof gr, p->buf, &n)) != SCARD_S_SUCCESS)
				return fail_rv(l, rv, "transmit (GET RESPONSE)");
			if (n < 2)
				return link_fail(l, LINK_ERR_IO, "reader '%s' returned no status word", p->reader);
		}
	}
	if (got + n > cap)
		return link_fail(l, LINK_ERR_IO, "response of %zu bytes is larger than the caller's buffer",
				 got + (size_t)n);
	memcpy(rsp + got, p->buf, n);
	*rsplen = got + n;
	return LINK_OK;
}

static int pcsc_power(link_t *l, enum sim_power how)
{
	pcsc_link_t *p = l->priv;
	DWORD init = how == SIM_POWER_WARM ? SCARD_RESET_CARD : SCARD_UNPOWER_CARD;
	LONG rv;

	if (how == SIM_POWER_OFF) {
		if (p->connected) {
			rv = SCardDisconnect(p->h, SCARD_UNPOWER_CARD);
			p->connected = 0;
			if (rv != SCARD_S_SUCCESS && rv != SCARD_W_REMOVED_CARD)
				return fail_rv(l, rv, "power off");
		}
		return LINK_OK;
	}
	if (p->connected) {
		rv = SCardReconnect(p->h, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, init, &p->proto);
		if (rv == SCARD_S_SUCCESS)
			return LINK_OK;
		if (rv != SCARD_W_REMOVED_CARD && rv != SCARD_E_INVALID_HANDLE)
			return fail_rv(l, rv, how == SIM_POWER_WARM ? "reset" : "power cycle");
		/* The card went and came back (or the handle went stale):
		 * start over with a new connection, which powers it up. */
		SCardDisconnect(p->h, SCARD_LEAVE_CARD);
		p->connected = 0;
	}
	return connect_card(l, how == SIM_POWER_WARM ? "reset" : "power on", util_now_ms() + open_wait_ms());
}

static size_t pcsc_atr(link_t *l, uint8_t *atr, size_t cap)
{
	pcsc_link_t *p = l->priv;
	uint8_t buf[MAX_ATR_SIZE];
	DWORD n = sizeof buf, state, proto, rlen = 0;

	if (!p->connected ||
	    SCardStatus(p->h, NULL, &rlen, &state, &proto, buf, &n) != SCARD_S_SUCCESS)
		return 0;
	if (n > cap)
		n = (DWORD)cap;
	memcpy(atr, buf, n);
	return n;
}

static int pcsc_wait(link_t *l, int present, int timeout_ms)
{
	return wait_card(l, present, util_now_ms() + (timeout_ms > 0 ? timeout_ms : 0), "wait");
}

const link_ops_t link_pcsc_ops = {
	.scheme = "pcsc",
	.query_keys = (const char *const[]){ "profile", "keys", NULL },
	.pattern = 1,
	.open = pcsc_open,
	.close = pcsc_close,
	.power = pcsc_power,
	.transmit = pcsc_transmit,
	.atr = pcsc_atr,
	.wait = pcsc_wait,
};
