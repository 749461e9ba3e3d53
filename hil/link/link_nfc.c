/* link_nfc.c — a card on a libnfc reader: "nfc:CONNSTRING[?type=b|a|felica]".
 *
 * CONNSTRING is libnfc's, e.g. pn532_uart:/dev/ttyUSB0 or, for the
 * software PN532 of `mynahil serve pn532`, pn532_uart:PATH.  The link is
 * the initiator: it selects one passive target — ISO/IEC 14443-4 Type B
 * by default (the My Number card), Type A with type=a, FeliCa at 212 kbps
 * with type=felica — and exchanges APDUs (or FeliCa frames) with it.
 *
 * Timeouts: libnfc bounds every command to the chip except target
 * selection, which it sends with no timeout.  So the link turns infinite
 * selection off (the chip gives up after a few tries and says "none")
 * and sends a bounded command (RF field on) right before each selection:
 * a reader that stopped answering fails there, in libnfc's command
 * timeout, instead of hanging in the selection. */
#include <poll.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nfc/nfc.h>

#include "hil/link/link.h"
#include "hil/base/util.h"

#define SELECT_WAIT_MS 3000   /* open and power-up: how long to look for the card */
#define POLL_INTERVAL_MS 50   /* between two selection attempts */
#define DEFAULT_TIMEOUT_MS 5000
#define TX_MAX 262            /* longest frame the PN53x carries in one InDataExchange */

typedef struct nfc_link {
	nfc_context *ctx;
	nfc_device *dev;
	nfc_connstring connstring;
	nfc_modulation nm;
	const char *what;  /* the target kind, in words */
	nfc_target tg;
	int selected;      /* a target is selected */
} nfc_link_t;

/* A libnfc failure in the link's words.  Whatever the reader did, the
 * message names it (the link's URI carries the connstring). */
static int nfc_fail(link_t *l, int res, const char *doing, int timeout_ms)
{
	nfc_link_t *s = l->priv;
	const char *why = s->dev ? nfc_strerror(s->dev) : "no device";

	switch (res) {
	case NFC_ETIMEOUT:
		return link_fail(l, LINK_ERR_TIMEOUT, "%s: no answer from the reader within %d ms", doing,
				 timeout_ms);
	case NFC_ERFTRANS:
		return link_fail(l, LINK_ERR_MUTE, "%s: card is mute (%s)", doing, why);
	case NFC_ETGRELEASED:
		s->selected = 0;
		return link_fail(l, LINK_ERR_MUTE, "%s: card released (%s)", doing, why);
	default:
		return link_fail(l, LINK_ERR_IO, "%s: reader stopped answering (libnfc: %s)", doing, why);
	}
}

static void pause_ms(int ms)
{
	poll(NULL, 0, ms); /* the interval between two polls of a reader, not a wait for readiness */
}

/* Look for the target until the deadline.  LINK_ERR_ABSENT when none came. */
static int select_target(link_t *l, int timeout_ms)
{
	nfc_link_t *s = l->priv;
	int64_t deadline = util_now_ms() + timeout_ms;
	int res;

	s->selected = 0;
	for (;;) {
		nfc_target nt;
		if ((res = nfc_device_set_property_bool(s->dev, NP_ACTIVATE_FIELD, true)) < 0)
			return nfc_fail(l, res, "RF field on", 350);
		memset(&nt, 0, sizeof nt);
		res = nfc_initiator_select_passive_target(s->dev, s->nm, NULL, 0, &nt);
		if (res > 0) {
			s->tg = nt;
			s->selected = 1;
			if (s->nm.nmt == NMT_ISO14443A && !(nt.nti.nai.btSak & 0x20))
				return link_fail(l, LINK_ERR_UNSUPPORTED, "the Type A card is not ISO/IEC 14443-4 (SAK %02X)",
						 nt.nti.nai.btSak);
			return LINK_OK;
		}
		if (res < 0 && res != NFC_ETIMEOUT)
			return nfc_fail(l, res, "selecting a target", 0);
		if (util_now_ms() >= deadline)
			return link_fail(l, LINK_ERR_ABSENT, "no %s in the field within %d ms", s->what, timeout_ms);
		pause_ms(POLL_INTERVAL_MS);
	}
}

static int deselect(link_t *l)
{
	nfc_link_t *s = l->priv;
	int res;

	if (!s->selected)
		return LINK_OK;
	s->selected = 0;
	if ((res = nfc_initiator_deselect_target(s->dev)) < 0 && res != NFC_ETGRELEASED && res != NFC_EINVARG)
		return nfc_fail(l, res, "deselect", 350);
	return LINK_OK;
}

static int field_off(link_t *l)
{
	nfc_link_t *s = l->priv;
	int res = nfc_device_set_property_bool(s->dev, NP_ACTIVATE_FIELD, false);
	return res < 0 ? nfc_fail(l, res, "RF field off", 350) : LINK_OK;
}

static void nfc_link_close(link_t *l)
{
	nfc_link_t *s = l->priv;

	if (!s)
		return;
	if (s->dev)
		nfc_close(s->dev); /* releases the target, field off */
	if (s->ctx)
		nfc_exit(s->ctx);
	free(s);
	l->priv = NULL;
}

/* A serial, SPI or I2C driver's port is a device file: the path is
 * checked like any other a URI names (a scenario may only name devices). */
static int check_port(link_t *l, const link_opts_t *o, const char *rest, size_t n)
{
	const char *port = memchr(rest, ':', n) + 1;
	size_t plen = strcspn(port, ":?");
	char path[PATH_MAX], real[PATH_MAX];

	if (*port != '/' || plen >= sizeof path)
		return 0; /* a USB bus:device or a PC/SC reader name, not a file */
	memcpy(path, port, plen);
	path[plen] = 0;
	return link_path(l, o, "reader port", path, LINK_PATH_DEVICE, real, sizeof real);
}

static int nfc_link_open(link_t *l, const char *rest, const link_opts_t *o)
{
	const char *q = strchr(rest, '?');
	size_t n = q ? (size_t)(q - rest) : strlen(rest);
	char type[16] = "b";
	nfc_link_t *s;
	int res, rc;

	/* a real card: no seed, no profile, no state of ours */
	if (n == 0 || n >= sizeof s->connstring || !memchr(rest, ':', n))
		return link_fail(l, LINK_ERR_URI, "expected nfc:DRIVER:PORT, e.g. nfc:pn532_uart:/dev/ttyUSB0");
	if ((rc = check_port(l, o, rest, n)) < 0)
		return rc;
	if (q && util_query_get(q + 1, "type", type, sizeof type) < 0)
		return link_fail(l, LINK_ERR_URI, "bad type= (expected a, b or felica)");
	if (!(s = calloc(1, sizeof *s)))
		return link_fail(l, LINK_ERR_IO, "out of memory");
	l->priv = s;
	memcpy(s->connstring, rest, n);
	s->connstring[n] = 0;
	if (!strcmp(type, "b")) {
		s->nm = (nfc_modulation){ .nmt = NMT_ISO14443B, .nbr = NBR_106 };
		s->what = "ISO/IEC 14443-4 Type B card";
	} else if (!strcmp(type, "a")) {
		s->nm = (nfc_modulation){ .nmt = NMT_ISO14443A, .nbr = NBR_106 };
		s->what = "ISO/IEC 14443-4 Type A card";
	} else if (!strcmp(type, "felica")) {
		s->nm = (nfc_modulation){ .nmt = NMT_FELICA, .nbr = NBR_212 };
		s->what = "FeliCa card";
	} else {
		rc = link_fail(l, LINK_ERR_URI, "type=%s: expected a, b or felica", type);
		goto fail;
	}

	nfc_init(&s->ctx);
	if (!s->ctx) {
		rc = link_fail(l, LINK_ERR_OPEN, "libnfc did not initialise");
		goto fail;
	}
	if (!(s->dev = nfc_open(s->ctx, s->connstring))) {
		rc = link_fail(l, LINK_ERR_OPEN, "cannot open reader %s (absent, busy or not answering)", s->connstring);
		goto fail;
	}
	if ((res = nfc_initiator_init(s->dev)) < 0) {
		rc = nfc_fail(l, res, "initiator mode", 350);
		goto fail;
	}
	/* Bounded selection: the chip tries a few times, then says "none". */
	if ((res = nfc_device_set_property_bool(s->dev, NP_INFINITE_SELECT, false)) < 0) {
		rc = nfc_fail(l, res, "finite selection", 350);
		goto fail;
	}
	if ((rc = select_target(l, SELECT_WAIT_MS)) < 0)
		goto fail;
	return LINK_OK;
fail:
	nfc_link_close(l);
	return rc;
}

static int nfc_link_power(link_t *l, enum sim_power how)
{
	int rc;

	if ((rc = deselect(l)) < 0)
		return rc;
	switch (how) {
	case SIM_POWER_OFF:
		return field_off(l);
	case SIM_POWER_COLD:
		if ((rc = field_off(l)) < 0)
			return rc;
		/* select_target switches the field on again */
		__attribute__((fallthrough));
	case SIM_POWER_WARM:
		return select_target(l, SELECT_WAIT_MS);
	}
	return link_fail(l, LINK_ERR_UNSUPPORTED, "unknown power transition");
}

static int nfc_link_transmit(link_t *l, const uint8_t *cmd, size_t len,
			     uint8_t *rsp, size_t cap, size_t *rsplen, int timeout_ms)
{
	nfc_link_t *s = l->priv;
	int res;

	*rsplen = 0;
	if (timeout_ms <= 0)
		timeout_ms = DEFAULT_TIMEOUT_MS; /* libnfc reads 0 as "wait forever" */
	if (!s->selected)
		return link_fail(l, LINK_ERR_MUTE, "card is mute (no card selected: field off or card gone)");
	if (len > TX_MAX)
		return link_fail(l, LINK_ERR_UNSUPPORTED, "a %zu-byte command is longer than the reader carries (%d)",
				 len, TX_MAX);
	res = nfc_initiator_transceive_bytes(s->dev, cmd, len, rsp, cap, timeout_ms);
	if (res < 0)
		return nfc_fail(l, res, "exchange", timeout_ms);
	*rsplen = (size_t)res;
	return LINK_OK;
}

/* PC/SC part 3's ATR for a contactless card: 3B 8n 80 01, n historical
 * bytes, TCK. */
static size_t pcsc_atr(const uint8_t *hist, size_t n, uint8_t *atr, size_t cap)
{
	uint8_t tck = 0;

	if (n > 15 || cap < n + 5)
		return 0;
	atr[0] = 0x3B;
	atr[1] = (uint8_t)(0x80 | n);
	atr[2] = 0x80;
	atr[3] = 0x01;
	memcpy(atr + 4, hist, n);
	for (size_t i = 1; i < n + 4; i++)
		tck ^= atr[i];
	atr[n + 4] = tck;
	return n + 5;
}

static size_t nfc_link_atr(link_t *l, uint8_t *atr, size_t cap)
{
	static const uint8_t felica[] = { /* storage card: RID A0 00 00 03 06, standard 11 (FeliCa), name 003B */
		0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x11, 0x00, 0x3B, 0x00, 0x00, 0x00, 0x00,
	};
	nfc_link_t *s = l->priv;
	uint8_t hist[16];
	size_t n = 0;

	if (!s->selected)
		return 0;
	switch (s->nm.nmt) {
	case NMT_ISO14443B: /* application data, protocol info, MBLI from ATTRIB */
		memcpy(hist, s->tg.nti.nbi.abtApplicationData, 4);
		memcpy(hist + 4, s->tg.nti.nbi.abtProtocolInfo, 3);
		hist[7] = s->tg.nti.nbi.ui8CardIdentifier & 0xF0;
		n = 8;
		break;
	case NMT_ISO14443A: { /* the ATS's historical bytes */
		const uint8_t *ats = s->tg.nti.nai.abtAts;
		size_t alen = s->tg.nti.nai.szAtsLen, k = 1;
		if (alen >= 1) {
			k += !!(ats[0] & 0x10) + !!(ats[0] & 0x20) + !!(ats[0] & 0x40);
			for (; k < alen && n < 15; k++)
				hist[n++] = ats[k];
		}
		break;
	}
	default:
		memcpy(hist, felica, sizeof felica);
		n = sizeof felica;
		break;
	}
	return pcsc_atr(hist, n, atr, cap);
}

static int nfc_link_wait(link_t *l, int present, int timeout_ms)
{
	nfc_link_t *s = l->priv;
	int64_t deadline = util_now_ms() + timeout_ms;
	int rc;

	if (present) {
		if (s->selected && nfc_initiator_target_is_present(s->dev, &s->tg) == 0)
			return LINK_OK;
		rc = select_target(l, timeout_ms);
		return rc == LINK_ERR_ABSENT ? link_fail(l, LINK_ERR_TIMEOUT, "no %s within %d ms", s->what, timeout_ms) : rc;
	}
	for (;;) {
		if (s->selected) {
			if (nfc_initiator_target_is_present(s->dev, &s->tg) != 0)
				s->selected = 0;
		} else {
			rc = select_target(l, 0);
			if (rc == LINK_ERR_ABSENT)
				return LINK_OK;
			if (rc < 0)
				return rc;
		}
		if (util_now_ms() >= deadline)
			return link_fail(l, LINK_ERR_TIMEOUT, "the %s is still there after %d ms", s->what, timeout_ms);
		if (s->selected)
			pause_ms(POLL_INTERVAL_MS);
	}
}

const link_ops_t link_nfc_ops = {
	.scheme = "nfc",
	.query_keys = (const char *const[]){ "type", "profile", NULL },
	.open = nfc_link_open,
	.close = nfc_link_close,
	.power = nfc_link_power,
	.transmit = nfc_link_transmit,
	.atr = nfc_link_atr,
	.wait = nfc_link_wait,
};
