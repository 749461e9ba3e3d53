/* serve_pn532.c — a software PN532 on a pseudo-terminal, so that libnfc's
 * pn532_uart driver (and nfc-list, and the nfc: link) reach a simulator.
 *
 * Two halves.  The chip (pn532_*): a byte stream from the host in, a
 * byte stream out, speaking the host-link frames of NXP UM0701-02 §6.2
 * and the subset of its command set that libnfc uses as an initiator.
 * The pty loop (serve_pn532_run): opens the pty, links PATH to its slave,
 * moves bytes between the master and the chip with poll() and a timeout,
 * and notices with inotify when the last client closes the slave, so the
 * next one finds a clean line and a clean chip: no half frame, no unread
 * answer, raw termios again (a client killed mid-command leaves all three
 * behind), the chip as at power-on.  Answers a client does not read are
 * held up to PN532_OUT_MAX, then dropped (see out_put).
 *
 * Model of the RF side: RFConfiguration field off powers the cards off;
 * activating a target (InListPassiveTarget, InAutoPoll, InSelect) gives
 * the card a cold reset when it was off and a warm reset when it had been
 * activated before (deselected, or re-polled): what a contactless card
 * sees when a reader restarts a session.  InDeselect and InRelease leave
 * the card powered. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "hil/link/link_sim.h"
#include "hil/serve/claim.h"
#include "hil/serve/pn532.h"
#include "hil/serve/serve.h"
#include "hil/base/util.h"

/* Frame constants (UM0701-02 §6.2.1). */
#define TFI_HOST 0xD4
#define TFI_CHIP 0xD5
#define IN_CAP 4096          /* bytes kept while a frame is incomplete */
#define CMD_MAX 1024         /* longest command body accepted (TFI..data) */
#define DEP_MAX 262          /* data of one InDataExchange answer (PN532 buffer) */
#define LINK_TIMEOUT_MS 5000 /* handed to the links for one exchange */

/* Commands (UM0701-02 §7). */
enum {
	CMD_DIAGNOSE = 0x00,
	CMD_GET_FIRMWARE_VERSION = 0x02,
	CMD_GET_GENERAL_STATUS = 0x04,
	CMD_READ_REGISTER = 0x06,
	CMD_WRITE_REGISTER = 0x08,
	CMD_READ_GPIO = 0x0C,
	CMD_WRITE_GPIO = 0x0E,
	CMD_SET_SERIAL_BAUD_RATE = 0x10,
	CMD_SET_PARAMETERS = 0x12,
	CMD_SAM_CONFIGURATION = 0x14,
	CMD_POWER_DOWN = 0x16,
	CMD_RF_CONFIGURATION = 0x32,
	CMD_IN_DATA_EXCHANGE = 0x40,
	CMD_IN_COMMUNICATE_THRU = 0x42,
	CMD_IN_DESELECT = 0x44,
	CMD_IN_LIST_PASSIVE_TARGET = 0x4A,
	CMD_IN_PSL = 0x4E,
	CMD_IN_ATR = 0x50,
	CMD_IN_RELEASE = 0x52,
	CMD_IN_SELECT = 0x54,
	CMD_IN_JUMP_FOR_DEP = 0x56,
	CMD_IN_JUMP_FOR_PSL = 0x46,
	CMD_IN_AUTO_POLL = 0x60,
};

/* Status byte of the In* answers (UM0701-02 §7.1, error codes). */
#define ST_OK 0x00
#define ST_TIMEOUT 0x01      /* the target did not answer */
#define ST_BAD_PARAM 0x27    /* command not acceptable in this context */
#define ST_MI 0x40           /* more information follows (chaining) */

/* SetParameters flags. */
#define PARAM_AUTO_RATS 0x10

enum tg_kind { TG_NONE, TG_B, TG_A, TG_F };

struct pn532 {
	link_t *card, *se;
	pn532_ident_t id;
	uint8_t appdata[4], protinfo[3]; /* the card's ATQB */
	uint8_t attrib_res;              /* MBLI | CID */

	/* host link */
	uint8_t in[IN_CAP];
	size_t inlen;
	uint8_t out[PN532_OUT_MAX];
	size_t outlen;
	size_t dropped; /* bytes of answers the host did not make room for */
	uint8_t last[CMD_MAX + 16]; /* the last answer frame, for NACK */
	size_t lastlen;

	/* chip */
	uint8_t *regs; /* 64 KiB: the CIU and SFR address space */
	uint8_t params;
	int field;

	/* the target (one at a time: Tg 1) */
	enum tg_kind tg;
	int tg_selected;            /* 0 once deselected or released */
	enum tg_kind felica_mode;   /* TG_F after a FeliCa polling */
	int card_powered, se_powered;
	uint8_t blk;                /* the ISO-DEP target's block number (toggles per exchange) */

	/* chaining: host data with MI, and an answer longer than DEP_MAX */
	uint8_t *chain;
	size_t chainlen;
	uint8_t *pend;
	size_t pendlen, pendoff;
	uint8_t rsp[LINK_RSP_MAX];
};

/* ---------------------------------------------------------------- output */

/* The chip never waits for the host.  A PN532's HSU has only TX and RX,
 * no flow control: an answer goes out at line rate whether or not the
 * host reads it, and what the host's UART cannot hold is lost there.
 * Here the pty's buffers play the host's UART; what they cannot take
 * now waits in out, and an answer that does not fit there either is
 * dropped whole and counted (the serve loop says so).  So a host that
 * never reads costs a bounded amount of memory, and the frames it does
 * read later are whole frames. */
static int out_put(pn532_t *p, const uint8_t *b, size_t n)
{
	if (n > sizeof p->out - p->outlen) {
		p->dropped += n;
		return 0;
	}
	memcpy(p->out + p->outlen, b, n);
	p->outlen += n;
	return 0;
}

static int send_ack(pn532_t *p)
{
	static const uint8_t ack[] = { 0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00 };
	return out_put(p, ack, sizeof ack);
}

/* The application-level error frame (syntax error, unknown command). */
static int send_error(pn532_t *p)
{
	static const uint8_t err[] = { 0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00 };
	memcpy(p->last, err, sizeof err);
	p->lastlen = sizeof err;
	return out_put(p, err, sizeof err);
}

/* An information frame D5 (cmd+1) data: normal when it fits LEN's byte,
 * extended otherwise. */
static int send_answer(pn532_t *p, uint8_t cmd, const uint8_t *data, size_t n)
{
	size_t len = n + 2, k = 0;
	uint8_t *f = p->last, dcs;

	if (len > CMD_MAX)
		return send_error(p);
	f[k++] = 0x00;
	f[k++] = 0x00;
	f[k++] = 0xFF;
	if (len <= 0xFF) {
		f[k++] = (uint8_t)len;
		f[k++] = (uint8_t)(0x100 - len);
	} else {
		f[k++] = 0xFF;
		f[k++] = 0xFF;
		f[k++] = (uint8_t)(len >> 8);
		f[k++] = (uint8_t)len;
		f[k++] = (uint8_t)(0x100 - ((len >> 8) + len) % 0x100);
	}
	f[k++] = TFI_CHIP;
	f[k++] = (uint8_t)(cmd + 1);
	dcs = (uint8_t)(TFI_CHIP + cmd + 1);
	for (size_t i = 0; i < n; i++) {
		f[k++] = data[i];
		dcs = (uint8_t)(dcs + data[i]);
	}
	f[k++] = (uint8_t)(0x100 - dcs);
	f[k++] = 0x00;
	p->lastlen = k;
	return out_put(p, f, k);
}

static int send_status(pn532_t *p, uint8_t cmd, uint8_t status)
{
	return send_answer(p, cmd, &status, 1);
}

/* ------------------------------------------------------------ RF and cards */

static void power_off_cards(pn532_t *p)
{
	if (p->card_powered)
		link_power(p->card, SIM_POWER_OFF);
	if (p->se && p->se_powered)
		link_power(p->se, SIM_POWER_OFF);
	p->card_powered = p->se_powered = 0;
	p->tg = TG_NONE;
	p->tg_selected = 0;
	p->felica_mode = TG_NONE;
}

static void set_field(pn532_t *p, int on)
{
	if (p->field && !on)
		power_off_cards(p);
	p->field = on;
}

static void drop_chaining(pn532_t *p)
{
	free(p->chain);
	free(p->pend);
	p->chain = p->pend = NULL;
	p->chainlen = p->pendlen = p->pendoff = 0;
}

/* Power the chip behind l for a new session: cold from off, warm else. */
static int activate(link_t *l, int *powered)
{
	if (link_power(l, *powered ? SIM_POWER_WARM : SIM_POWER_COLD) < 0)
		return -1;
	*powered = 1;
	return 0;
}

/* Target data of a Type B card: Tg ATQB(12) ATTRIB_RES-length ATTRIB_RES. */
static size_t target_b(pn532_t *p, const uint8_t *init, size_t initlen, uint8_t *td)
{
	size_t k = 0;

	/* REQB carries an AFI; 00 asks every family. */
	if (initlen >= 1 && init[0] != 0x00 && init[0] != p->appdata[0])
		return 0;
	drop_chaining(p);
	if (activate(p->card, &p->card_powered) < 0)
		return 0;
	p->tg = TG_B;
	p->tg_selected = 1;
	p->blk = 1;
	p->felica_mode = TG_NONE;
	td[k++] = 0x01;
	k += pn532_atqb(p, td + k, 12);
	td[k++] = 0x01;
	td[k++] = p->attrib_res;
	return k;
}

/* Target data of the SE as ISO/IEC 14443-4 Type A:
 * Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1 [ATS]. */
static size_t target_a(pn532_t *p, int with_ats, uint8_t *td)
{
	static const uint8_t ats[] = { 0x05, 0x78, 0x80, 0x70, 0x02 };
	size_t k = 0;

	if (!p->se)
		return 0;
	drop_chaining(p);
	if (activate(p->se, &p->se_powered) < 0)
		return 0;
	p->tg = TG_A;
	p->tg_selected = 1;
	p->blk = 1;
	p->felica_mode = TG_NONE;
	td[k++] = 0x01;
	td[k++] = 0x00; /* SENS_RES: single-size UID, bit frame anticollision */
	td[k++] = 0x04;
	td[k++] = 0x20; /* SEL_RES: ISO/IEC 14443-4 compliant */
	td[k++] = 4;
	memcpy(td + k, p->id.nfcid1, 4);
	k += 4;
	if (with_ats) {
		memcpy(td + k, ats, sizeof ats);
		k += sizeof ats;
	}
	return k;
}

/* Target data of the SE as FeliCa: Tg POL_RES (LEN 01 IDm PMm [SC]).  The
 * polling frame (LEN 00 SC SC RC TSN) goes to the SE link as it would
 * go over the air; its answer comes back as is. */
static size_t target_f(pn532_t *p, const uint8_t *init, size_t initlen, uint8_t *td)
{
	uint8_t poll[6];
	size_t n = 0;

	if (!p->se || initlen < 5 || init[0] != 0x00)
		return 0;
	poll[0] = 6;
	memcpy(poll + 1, init, 5);
	if (!p->se_powered) {
		if (link_power(p->se, SIM_POWER_COLD) < 0)
			return 0;
		p->se_powered = 1;
	}
	if (link_transmit(p->se, poll, sizeof poll, p->rsp, sizeof p->rsp, &n, LINK_TIMEOUT_MS) < 0)
		return 0;
	if (n < 18 || n > 20 || p->rsp[0] != n || p->rsp[1] != 0x01) /* LEN 01 IDm PMm [SC] */
		return 0;
	drop_chaining(p);
	p->tg = TG_F;
	p->tg_selected = 1;
	p->felica_mode = TG_F;
	td[0] = 0x01;
	memcpy(td + 1, p->rsp, n);
	return n + 1;
}

/* One target by PN532 baud rate / modulation type (BrTy). */
static size_t list_one(pn532_t *p, uint8_t brty, const uint8_t *init, size_t initlen, uint8_t *td)
{
	switch (brty) {
	case 0x00: return target_a(p, p->params & PARAM_AUTO_RATS, td);
	case 0x01:
	case 0x02: return target_f(p, init, initlen, td);
	case 0x03: return target_b(p, init, initlen, td);
	default: return 0; /* 04 Jewel: none here */
	}
}

static link_t *target_link(pn532_t *p)
{
	return p->tg == TG_B ? p->card : p->se;
}

/* --------------------------------------------------------------- commands */

static int cmd_in_list_passive_target(pn532_t *p, const uint8_t *a, size_t n)
{
	uint8_t rsp[2 + 64];
	size_t k;

	if (n < 2 || a[0] < 1 || a[0] > 2 || a[1] > 0x08)
		return send_error(p);
	p->field = 1; /* the PN532 switches the field on to poll */
	p->tg = TG_NONE;
	p->tg_selected = 0;
	k = list_one(p, a[1], a + 2, n - 2, rsp + 1);
	rsp[0] = k ? 1 : 0;
	return send_answer(p, CMD_IN_LIST_PASSIVE_TARGET, rsp, k + 1);
}

/* InAutoPoll: PollNr Period Type1..TypeN -> NbTg [Type Len TargetData]. */
static int cmd_in_auto_poll(pn532_t *p, const uint8_t *a, size_t n)
{
	static const uint8_t felica_poll[5] = { 0x00, 0xFF, 0xFF, 0x00, 0x00 };
	uint8_t rsp[3 + 64];

	if (n < 3 || n > 2 + 15 || a[0] == 0 || a[1] == 0 || a[1] > 0x0F)
		return send_error(p);
	p->field = 1;
	p->tg = TG_NONE;
	p->tg_selected = 0;
	for (size_t i = 2; i < n; i++) {
		size_t k = 0;
		switch (a[i]) {
		case 0x00: case 0x10: k = target_a(p, 0, rsp + 3); break;
		case 0x20: k = target_a(p, 1, rsp + 3); break;
		case 0x01: case 0x11: k = target_f(p, felica_poll, 5, rsp + 3); break;
		case 0x02: case 0x12: k = target_f(p, felica_poll, 5, rsp + 3); break;
		case 0x03: case 0x23: k = target_b(p, NULL, 0, rsp + 3); break;
		default: break;
		}
		if (k) {
			rsp[0] = 1;
			rsp[1] = a[i];
			rsp[2] = (uint8_t)k;
			return send_answer(p, CMD_IN_AUTO_POLL, rsp, k + 3);
		}
	}
	rsp[0] = 0;
	return send_answer(p, CMD_IN_AUTO_POLL, rsp, 1);
}

/* Send the next piece of a long answer: at most DEP_MAX bytes, MI set
 * while more remain. */
static int send_pending(pn532_t *p, uint8_t cmd)
{
	uint8_t buf[1 + DEP_MAX];
	size_t left = p->pendlen - p->pendoff, k = left > DEP_MAX ? DEP_MAX : left;

	buf[0] = left > DEP_MAX ? ST_MI : ST_OK;
	memcpy(buf + 1, p->pend + p->pendoff, k);
	p->pendoff += k;
	if (p->pendoff == p->pendlen) {
		free(p->pend);
		p->pend = NULL;
		p->pendlen = p->pendoff = 0;
	}
	return send_answer(p, cmd, buf, k + 1);
}

/* InDataExchange (and InCommunicateThru on FeliCa): the bytes go to the
 * target's link as one command, its answer comes back after a status
 * byte.  A mute link (a torn card, no answer) is a timeout, as on air. */
static int exchange(pn532_t *p, uint8_t cmd, const uint8_t *data, size_t n)
{
	size_t rn = 0;
	link_t *l = target_link(p);

	if (link_transmit(l, data, n, p->rsp, sizeof p->rsp, &rn, LINK_TIMEOUT_MS) < 0)
		return send_status(p, cmd, ST_TIMEOUT);
	p->blk ^= 1;
	if (rn <= DEP_MAX) {
		uint8_t buf[1 + DEP_MAX];
		buf[0] = ST_OK;
		memcpy(buf + 1, p->rsp, rn);
		return send_answer(p, cmd, buf, rn + 1);
	}
	if (!(p->pend = malloc(rn)))
		return send_status(p, cmd, ST_TIMEOUT);
	memcpy(p->pend, p->rsp, rn);
	p->pendlen = rn;
	p->pendoff = 0;
	return send_pending(p, cmd);
}

static int cmd_in_data_exchange(pn532_t *p, const uint8_t *a, size_t n)
{
	uint8_t tg;
	int rc;

	if (n < 1)
		return send_error(p);
	tg = a[0] & 0x3F;
	if (tg != 1 || p->tg == TG_NONE || !p->tg_selected) {
		drop_chaining(p);
		return send_status(p, CMD_IN_DATA_EXCHANGE, ST_BAD_PARAM);
	}
	/* The rest of a long answer: libnfc asks with Tg alone. */
	if (p->pend && n == 1 && !(a[0] & ST_MI))
		return send_pending(p, CMD_IN_DATA_EXCHANGE);
	free(p->pend);
	p->pend = NULL;
	p->pendlen = p->pendoff = 0;
	if (a[0] & ST_MI || p->chain) {
		uint8_t *c = realloc(p->chain, p->chainlen + n - 1 + 1);
		if (!c)
			return send_status(p, CMD_IN_DATA_EXCHANGE, ST_TIMEOUT);
		p->chain = c;
		memcpy(c + p->chainlen, a + 1, n - 1);
		p->chainlen += n - 1;
		if (a[0] & ST_MI) /* more to come: the card has said nothing yet */
			return send_status(p, CMD_IN_DATA_EXCHANGE, ST_OK);
		rc = exchange(p, CMD_IN_DATA_EXCHANGE, p->chain, p->chainlen);
		free(p->chain);
		p->chain = NULL;
		p->chainlen = 0;
		return rc;
	}
	return exchange(p, CMD_IN_DATA_EXCHANGE, a + 1, n - 1);
}

/* Raw frames.  To an ISO-DEP target an R(NAK) — libnfc's presence check
 * — is answered R(ACK) with the target's block number (ISO/IEC 14443-4
 * 7.5.4.2), the CID echoed; a FeliCa session carries them to the SE;
 * anything else (ISO 14443-B', ST SRx, ASK CTx probes) finds nobody on
 * the air. */
static int cmd_in_communicate_thru(pn532_t *p, const uint8_t *a, size_t n)
{
	if ((p->tg == TG_A || p->tg == TG_B) && p->tg_selected && p->field && n >= 1 &&
	    (a[0] & 0xE6) == 0xA2) {
		uint8_t r[3];
		size_t k = 0;
		r[k++] = ST_OK;
		r[k++] = (uint8_t)(0xA2 | (a[0] & 0x08) | p->blk);
		if (a[0] & 0x08 && n >= 2)
			r[k++] = a[1];
		return send_answer(p, CMD_IN_COMMUNICATE_THRU, r, k);
	}
	if (p->felica_mode == TG_F && p->se && p->field && n >= 1)
		return exchange(p, CMD_IN_COMMUNICATE_THRU, a, n);
	return send_status(p, CMD_IN_COMMUNICATE_THRU, ST_TIMEOUT);
}

static int cmd_in_deselect_release(pn532_t *p, uint8_t cmd, const uint8_t *a, size_t n)
{
	if (n < 1)
		return send_error(p);
	if (a[0] != 0 && (a[0] != 1 || p->tg == TG_NONE))
		return send_status(p, cmd, ST_BAD_PARAM);
	drop_chaining(p);
	p->tg_selected = 0;
	if (cmd == CMD_IN_RELEASE)
		p->tg = TG_NONE;
	return send_status(p, cmd, ST_OK);
}

static int cmd_in_select(pn532_t *p, const uint8_t *a, size_t n)
{
	if (n < 1)
		return send_error(p);
	if (a[0] != 1 || p->tg == TG_NONE)
		return send_status(p, CMD_IN_SELECT, ST_BAD_PARAM);
	if (!p->tg_selected && p->tg != TG_F) {
		int *pw = p->tg == TG_B ? &p->card_powered : &p->se_powered;
		if (activate(target_link(p), pw) < 0)
			return send_status(p, CMD_IN_SELECT, ST_TIMEOUT);
	}
	p->tg_selected = 1;
	return send_status(p, CMD_IN_SELECT, ST_OK);
}

static int cmd_diagnose(pn532_t *p, const uint8_t *a, size_t n)
{
	uint8_t st;

	if (n < 1)
		return send_error(p);
	switch (a[0]) {
	case 0x00: /* communication line test: the parameters come back */
		return send_answer(p, CMD_DIAGNOSE, a, n);
	case 0x06: /* attention request / card presence */
		st = p->field && p->tg != TG_NONE && p->tg_selected ? ST_OK : ST_TIMEOUT;
		return send_status(p, CMD_DIAGNOSE, st);
	case 0x01: /* ROM, RAM, polling, antenna tests: all pass */
	case 0x02:
	case 0x04:
	case 0x07:
		st = 0x00;
		return send_answer(p, CMD_DIAGNOSE, &st, 1);
	default:
		return send_error(p);
	}
}

static int cmd_general_status(pn532_t *p)
{
	uint8_t rsp[8];
	size_t k = 0;

	rsp[k++] = 0x00;                /* last error */
	rsp[k++] = (uint8_t)p->field;
	rsp[k++] = p->tg != TG_NONE && p->tg_selected ? 1 : 0;
	if (rsp[2]) {
		rsp[k++] = 0x01;                                    /* Tg */
		rsp[k++] = p->tg == TG_F ? 0x01 : 0x00;            /* BrRx */
		rsp[k++] = p->tg == TG_F ? 0x01 : 0x00;            /* BrTx */
		rsp[k++] = p->tg == TG_B ? 0x03 : p->tg == TG_F ? 0x10 : 0x00;
	}
	rsp[k++] = 0x00; /* SAM status */
	return send_answer(p, CMD_GET_GENERAL_STATUS, rsp, k);
}

static int cmd_rf_configuration(pn532_t *p, const uint8_t *a, size_t n)
{
	if (n < 2)
		return send_error(p);
	switch (a[0]) {
	case 0x01: /* RF field: bit 0 on/off, bit 1 auto RFCA */
		set_field(p, a[1] & 0x01);
		break;
	case 0x02: /* various timings */
	case 0x04: /* MaxRtyCOM */
	case 0x05: /* MaxRetries */
	case 0x0A: /* analog settings, 106 kbps Type A */
	case 0x0B: /* 212/424 kbps */
	case 0x0C: /* Type B */
	case 0x0D: /* ISO/IEC 14443-4 at 212/424/848 */
		break;
	default:
		return send_error(p);
	}
	return send_answer(p, CMD_RF_CONFIGURATION, NULL, 0);
}

static int cmd_read_register(pn532_t *p, const uint8_t *a, size_t n)
{
	uint8_t rsp[CMD_MAX / 2];
	size_t k = 0;

	if (n < 2 || n % 2)
		return send_error(p);
	for (size_t i = 0; i + 1 < n; i += 2)
		rsp[k++] = p->regs[(unsigned)a[i] << 8 | a[i + 1]];
	return send_answer(p, CMD_READ_REGISTER, rsp, k);
}

static int cmd_write_register(pn532_t *p, const uint8_t *a, size_t n)
{
	if (n < 3 || n % 3)
		return send_error(p);
	for (size_t i = 0; i + 2 < n; i += 3)
		p->regs[(unsigned)a[i] << 8 | a[i + 1]] = a[i + 2];
	return send_answer(p, CMD_WRITE_REGISTER, NULL, 0);
}

static int command(pn532_t *p, const uint8_t *b, size_t n)
{
	static const uint8_t firmware[] = { 0x32, 0x01, 0x06, 0x07 }; /* PN532 v1.6, A+B+18092 */
	const uint8_t *a = b + 1;
	size_t an = n - 1;
	uint8_t gpio[3];

	switch (b[0]) {
	case CMD_DIAGNOSE: return cmd_diagnose(p, a, an);
	case CMD_GET_FIRMWARE_VERSION: return send_answer(p, b[0], firmware, sizeof firmware);
	case CMD_GET_GENERAL_STATUS: return cmd_general_status(p);
	case CMD_READ_REGISTER: return cmd_read_register(p, a, an);
	case CMD_WRITE_REGISTER: return cmd_write_register(p, a, an);
	case CMD_READ_GPIO:
		gpio[0] = p->regs[0xFFB0] & 0x3F; /* P3 */
		gpio[1] = p->regs[0xFFF4] & 0x06; /* P7 */
		gpio[2] = 0x00;                   /* I0 I1 */
		return send_answer(p, b[0], gpio, sizeof gpio);
	case CMD_WRITE_GPIO:
		if (an < 2)
			return send_error(p);
		if (a[0] & 0x80)
			p->regs[0xFFB0] = a[0] & 0x3F;
		if (a[1] & 0x80)
			p->regs[0xFFF4] = a[1] & 0x06;
		return send_answer(p, b[0], NULL, 0);
	case CMD_SET_SERIAL_BAUD_RATE:
		return an < 1 || a[0] > 0x08 ? send_error(p) : send_answer(p, b[0], NULL, 0);
	case CMD_SET_PARAMETERS:
		if (an < 1)
			return send_error(p);
		p->params = a[0];
		return send_answer(p, b[0], NULL, 0);
	case CMD_SAM_CONFIGURATION:
		if (an < 1 || a[0] < 0x01 || a[0] > 0x04)
			return send_error(p);
		return send_answer(p, b[0], NULL, 0);
	case CMD_POWER_DOWN:
		return an < 1 ? send_error(p) : send_status(p, b[0], ST_OK);
	case CMD_RF_CONFIGURATION: return cmd_rf_configuration(p, a, an);
	case CMD_IN_DATA_EXCHANGE: return cmd_in_data_exchange(p, a, an);
	case CMD_IN_COMMUNICATE_THRU: return cmd_in_communicate_thru(p, a, an);
	case CMD_IN_DESELECT:
	case CMD_IN_RELEASE: return cmd_in_deselect_release(p, b[0], a, an);
	case CMD_IN_SELECT: return cmd_in_select(p, a, an);
	case CMD_IN_LIST_PASSIVE_TARGET: return cmd_in_list_passive_target(p, a, an);
	case CMD_IN_AUTO_POLL: return cmd_in_auto_poll(p, a, an);
	case CMD_IN_PSL:
		return send_status(p, b[0], p->tg != TG_NONE ? ST_OK : ST_BAD_PARAM);
	case CMD_IN_JUMP_FOR_DEP: /* no NFC-DEP target on this bench */
	case CMD_IN_JUMP_FOR_PSL:
	case CMD_IN_ATR:
		return send_status(p, b[0], ST_TIMEOUT);
	default:
		return send_error(p);
	}
}

/* ------------------------------------------------------------ frame codec */

static void drop_in(pn532_t *p, size_t n)
{
	if (n >= p->inlen) {
		p->inlen = 0;
		return;
	}
	memmove(p->in, p->in + n, p->inlen - n);
	p->inlen -= n;
}

/* Take every complete frame out of the input.  Anything before a start
 * code (the 55 55 00... wake-up, postambles, line noise) is skipped; a
 * frame whose length or data checksum is wrong is skipped from its start
 * code on, so the next good frame is found. */
static int parse(pn532_t *p)
{
	for (;;) {
		size_t i = 0, hdr, len, sum;
		const uint8_t *f;

		while (i + 1 < p->inlen && !(p->in[i] == 0x00 && p->in[i + 1] == 0xFF))
			i++;
		drop_in(p, i);
		if (p->inlen < 4)
			return 0;
		if (p->in[2] == 0x00 && p->in[3] == 0xFF) { /* ACK: abort; nothing runs in background */
			drop_in(p, 4);
			continue;
		}
		if (p->in[2] == 0xFF && p->in[3] == 0x00) { /* NACK: say the last thing again */
			drop_in(p, 4);
			if (p->lastlen && out_put(p, p->last, p->lastlen) < 0)
				return -1;
			continue;
		}
		if (p->in[2] == 0xFF && p->in[3] == 0xFF) { /* extended frame */
			if (p->inlen < 7)
				return 0;
			if ((p->in[4] + p->in[5] + p->in[6]) % 0x100) {
				drop_in(p, 2);
				continue;
			}
			len = (size_t)p->in[4] << 8 | p->in[5];
			hdr = 7;
		} else {
			if ((p->in[2] + p->in[3]) % 0x100) {
				drop_in(p, 2);
				continue;
			}
			len = p->in[2];
			hdr = 4;
		}
		if (len < 2 || len > CMD_MAX) {
			drop_in(p, 2);
			continue;
		}
		if (p->inlen < hdr + len + 1)
			return 0; /* wait for the rest */
		f = p->in + hdr;
		sum = 0;
		for (size_t k = 0; k <= len; k++) /* TFI, data and DCS sum to zero */
			sum += f[k];
		if (sum % 0x100 || f[0] != TFI_HOST) {
			drop_in(p, 2);
			continue;
		}
		{
			uint8_t body[CMD_MAX];
			size_t bn = len - 1;
			memcpy(body, f + 1, bn);
			drop_in(p, hdr + len + 1); /* the postamble is skipped as noise */
			if (send_ack(p) < 0 || command(p, body, bn) < 0)
				return -1;
		}
	}
}

int pn532_feed(pn532_t *p, const uint8_t *in, size_t n)
{
	while (n) {
		size_t room = IN_CAP - p->inlen, k = n < room ? n : room;
		if (!k) { /* a frame cannot be this long: resynchronise */
			drop_in(p, 2);
			continue;
		}
		memcpy(p->in + p->inlen, in, k);
		p->inlen += k;
		in += k;
		n -= k;
		if (parse(p) < 0)
			return -1;
	}
	return 0;
}

const uint8_t *pn532_output(const pn532_t *p, size_t *len)
{
	*len = p->outlen;
	return p->out;
}

void pn532_consume(pn532_t *p, size_t n)
{
	if (n >= p->outlen) {
		p->outlen = 0;
		return;
	}
	memmove(p->out, p->out + n, p->outlen - n);
	p->outlen -= n;
}

size_t pn532_atqb(const pn532_t *p, uint8_t *atqb, size_t cap)
{
	if (cap < 12)
		return 0;
	atqb[0] = 0x50;
	memcpy(atqb + 1, p->id.pupi, 4);
	memcpy(atqb + 5, p->appdata, 4);
	memcpy(atqb + 9, p->protinfo, 3);
	return 12;
}

/* The ATQB's application data and protocol info: the simulated card's
 * own (its profile's, or its ATR set's, docs/card.md#atrs); for another
 * card, the set its contact ATR belongs to. */
static void choose_atqb(pn532_t *p)
{
	uint8_t atr[64], info[CARD_ATQB_INFO];
	sim_card_t *sc = p->card ? link_sim_card(p->card) : NULL;
	size_t n = p->card ? link_atr(p->card, atr, sizeof atr) : 0;

	if (sc)
		sim_card_atqb(sc, info);
	else
		card_atqb_of_atr(atr, n, info);
	memcpy(p->appdata, info, 4);
	memcpy(p->protinfo, info + 4, 3);
	/* MBLI 0 (no limit given), CID 1: the CID the PN53x assigns in
	 * ATTRIB, as libnfc's presence check (R(NAK) with CID 1) assumes. */
	p->attrib_res = 0x01;
}

static void init_registers(uint8_t *r)
{
	/* CIU reset values that libnfc may read back before changing them. */
	r[0x6301] = 0x3B; /* Mode */
	r[0x6304] = 0x80; /* TxControl */
	r[0x6306] = 0x10; /* TxSel */
	r[0x6307] = 0x84; /* RxSel */
	r[0x6308] = 0x84; /* RxThreshold */
	r[0x6309] = 0x4D; /* Demod */
	r[0x630C] = 0x62; /* MifNFC */
	r[0x6331] = 0x20; /* Command: idle, receiver on */
	r[0x6332] = 0x80; /* CommIEn */
	r[0x6334] = 0x14; /* CommIrq */
	r[0x633B] = 0x08; /* WaterLevel */
	r[0x633E] = 0x80; /* Coll */
	r[0xFFB0] = 0x3F; /* P3 */
	r[0xFFF4] = 0x06; /* P7 */
}

size_t pn532_dropped(const pn532_t *p)
{
	return p->dropped;
}

void pn532_host_reset(pn532_t *p)
{
	p->inlen = 0;
	p->outlen = 0;
	p->lastlen = 0;
	p->dropped = 0;
	drop_chaining(p);
	power_off_cards(p);
	p->field = 0;
	p->params = 0;
	memset(p->regs, 0, 0x10000);
	init_registers(p->regs);
}

pn532_t *pn532_new(link_t *card, link_t *se, const pn532_ident_t *id)
{
	pn532_t *p = calloc(1, sizeof *p);

	if (!p || !(p->regs = calloc(1, 0x10000))) {
		free(p);
		return NULL;
	}
	p->card = card;
	p->se = se;
	p->id = *id;
	choose_atqb(p);
	init_registers(p->regs);
	return p;
}

void pn532_free(pn532_t *p)
{
	if (!p)
		return;
	drop_chaining(p);
	free(p->regs);
	free(p);
}

/* ------------------------------------------------------------- pty loop */

/* Identifiers drawn from the simulator's stream (a derived one, so the
 * card's own values do not shift): the same seed gives the same PUPI. */
static void derive_ident(link_t *card, link_t *se, pn532_ident_t *id)
{
	sim_ctx_t *c = link_sim_ctx(card), *s = se ? link_sim_ctx(se) : NULL;
	rng_t r;

	memcpy(id->pupi, "\x4D\x59\x4E\x41", 4);
	memcpy(id->nfcid1, "\x08\x4D\x59\x4E", 4);
	if (c) {
		rng_derive(&r, c->rng, "pn532/pupi");
		rng_bytes(&r, id->pupi, 4);
	}
	if (s) {
		rng_derive(&r, s->rng, "pn532/nfcid1");
		rng_bytes(&r, id->nfcid1 + 1, 3);
	}
}

static int set_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -1;
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	cfsetispeed(&t, B115200);
	cfsetospeed(&t, B115200);
	return tcsetattr(fd, TCSANOW, &t);
}

/* PATH -> slave, replacing an old symlink atomically; refuses to replace
 * anything that is not a symlink. */
static int make_link(const char *slave, const char *path)
{
	char tmp[PATH_MAX];
	struct stat st;

	if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode)) {
		fprintf(stderr, "mynahil: serve pn532: %s exists and is not a symlink\n", path);
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= sizeof tmp) {
		fprintf(stderr, "mynahil: serve pn532: %s: path too long\n", path);
		return -1;
	}
	unlink(tmp);
	if (symlink(slave, tmp) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "mynahil: serve pn532: cannot link %s to %s: %s\n", path, slave, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void remove_link(const char *slave, const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof buf - 1);

	if (n > 0) {
		buf[n] = 0;
		if (!strcmp(buf, slave))
			unlink(path);
	}
}

/* Write what the chip has to say; the master is non-blocking, and what
 * does not fit now waits for POLLOUT. */
static void flush_output(pn532_t *p, int master)
{
	size_t n;
	const uint8_t *o = pn532_output(p, &n);

	while (n) {
		ssize_t w = write(master, o, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				pn532_consume(p, n); /* nobody to hear it */
			return;
		}
		pn532_consume(p, (size_t)w);
		o = pn532_output(p, &n);
	}
}

/* Once per client: its answers are being dropped (see out_put). */
static void tell_dropped(const pn532_t *p, int *told)
{
	if (pn532_dropped(p) && !*told)
		fprintf(stderr, "mynahil: serve pn532: the client does not read its answers: dropping "
				"what the line cannot hold, as a UART without flow control would\n");
	*told = pn532_dropped(p) != 0;
}

/* The last client closed the line: the next one gets a clean line and a
 * clean chip.  Answers the old client did not read go (the slave's input
 * queue: nothing of the next client's can be there yet).  What it wrote
 * and the chip has not read (the master's input) goes too, unless a new
 * client has already opened the line: its first bytes may be there, and
 * a pty does not say who wrote what.  That takes a client that writes
 * and closes and another that opens between two wake-ups of this loop;
 * then a command of the old client may be answered to the new one. */
static void client_gone(pn532_t *p, int master, int slave, int new_client)
{
	uint8_t junk[4096];

	pn532_host_reset(p);
	tcflush(slave, new_client ? TCIFLUSH : TCIOFLUSH);
	set_raw(slave); /* clears the mark a killed client left */
	while (!new_client && read(master, junk, sizeof junk) > 0)
		;
}

/* inotify events on the slave: count the clients' opens and closes; when
 * the last one is gone, give the next a clean line and a clean chip.
 * Every event queued is read first, so that a close followed at once by
 * the next client's open is seen as such. */
static void watch_clients(pn532_t *p, int ino, int master, int slave, int *clients)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int gone = 0;
	ssize_t n;

	while ((n = read(ino, buf, sizeof buf)) > 0) {
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)q;
			if (e->mask & IN_OPEN)
				(*clients)++;
			if (e->mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE) && *clients > 0 && --*clients == 0)
				gone = 1;
			q += sizeof *e + e->len;
		}
	}
	if (gone)
		client_gone(p, master, slave, *clients > 0);
}

/* Claim PATH for this process (claim.c), so that a second server does
 * not re-link it under the first one's clients.  The claim names PATH
 * absolute, its directory resolved.  Returns the claim's descriptor, -2
 * when it cannot be checked (served anyway), -1 (said) when another
 * server has PATH. */
static int claim_path(const char *path)
{
	char dir[PATH_MAX], abs[PATH_MAX], name[PATH_MAX + 8], err[256];
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t dn = slash ? (size_t)(slash - path) : 0;
	int fd;

	/* "pn532" -> ".", "/pn532" -> "/", "a/b/pn532" -> "a/b" */
	snprintf(dir, sizeof dir, "%.*s", slash ? (dn ? (int)dn : 1) : 1, slash ? path : ".");
	if (!realpath(dir, abs) ||
	    (size_t)snprintf(name, sizeof name, "pty %s/%s", strcmp(abs, "/") ? abs : "", base) >= sizeof name)
		snprintf(name, sizeof name, "pty %s", path);
	fd = claim_take(name, err, sizeof err);
	if (fd == -1)
		fprintf(stderr, "mynahil: serve pn532: %s is in use: %s serves it\n", path, err);
	else if (fd == -2)
		fprintf(stderr, "mynahil: serve pn532: warning: %s: %s\n", path, err);
	return fd;
}

int serve_pn532_run(link_t *card, link_t *se, const char *pty_path)
{
	int master = -1, slave = -1, ino = -1, rc = 1, clients = 0, linked = 0, told = 0, claim;
	char name[128];
	pn532_ident_t id;
	pn532_t *p = NULL;
	uint8_t atqb[12], buf[4096];

	if ((claim = claim_path(pty_path)) == -1)
		return 2;
	derive_ident(card, se, &id);
	if (!(p = pn532_new(card, se, &id))) {
		fprintf(stderr, "mynahil: serve pn532: out of memory\n");
		goto out;
	}
	if ((master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || grantpt(master) < 0 ||
	    unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0) {
		fprintf(stderr, "mynahil: serve pn532: cannot open a pseudo-terminal: %s\n", strerror(errno));
		goto out;
	}
	/* Our own descriptor on the slave keeps the master from reading EIO
	 * (and polling POLLHUP) while no client has it open. */
	if ((slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || set_raw(slave) < 0 ||
	    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) < 0) {
		fprintf(stderr, "mynahil: serve pn532: %s: %s\n", name, strerror(errno));
		goto out;
	}
	/* Without inotify the frame hunter still resynchronises on the next
	 * client's first frame; only the clean-up on close is lost. */
	if ((ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(ino, name, IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE) < 0) {
		fprintf(stderr, "mynahil: serve pn532: warning: cannot watch %s for clients: %s\n", name,
			strerror(errno));
		if (ino >= 0)
			close(ino);
		ino = -1;
	}
	if (make_link(name, pty_path) < 0)
		goto out;
	linked = 1;
	pn532_atqb(p, atqb, sizeof atqb);
	printf("mynahil: serve pn532: %s at %s (LIBNFC_DEVICE=pn532_uart:%s)\n", name, pty_path, pty_path);
	printf("mynahil: serve pn532: card: ISO/IEC 14443-4 Type B, PUPI %02X%02X%02X%02X, ATQB ",
	       id.pupi[0], id.pupi[1], id.pupi[2], id.pupi[3]);
	for (size_t i = 0; i < sizeof atqb; i++)
		printf("%02X", atqb[i]);
	printf("\n");
	if (se)
		printf("mynahil: serve pn532: se: FeliCa and ISO/IEC 14443-4 Type A, NFCID1 %02X%02X%02X%02X\n",
		       id.nfcid1[0], id.nfcid1[1], id.nfcid1[2], id.nfcid1[3]);
	fflush(stdout);

	while (!util_stop) {
		size_t pending;
		struct pollfd fds[2] = { { .fd = master, .events = POLLIN }, { .fd = ino, .events = POLLIN } };
		/* poll() ignores a negative fd: no inotify, no events */
		int n;

		pn532_output(p, &pending);
		if (pending)
			fds[0].events |= POLLOUT;
		n = poll(fds, 2, 250);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "mynahil: serve pn532: poll: %s\n", strerror(errno));
			goto out;
		}
		/* Opens and closes first, so that bytes are never taken for
		 * those of a client that has already gone. */
		if (ino >= 0)
			watch_clients(p, ino, master, slave, &clients);
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(master, buf, sizeof buf);
			/* With nobody on the line, anything read is what a client
			 * wrote just before it went: nobody to answer. */
			if (r > 0 && (ino < 0 || clients > 0))
				pn532_feed(p, buf, (size_t)r);
			/* A hung-up line (it should not happen while our own
			 * descriptor holds the slave) must not spin the loop. */
			if (r <= 0 && errno != EAGAIN && errno != EINTR)
				poll(NULL, 0, 100);
		}
		tell_dropped(p, &told);
		flush_output(p, master);
	}
	rc = 0;
out:
	if (linked)
		remove_link(name, pty_path);
	if (ino >= 0)
		close(ino);
	if (slave >= 0)
		close(slave);
	if (master >= 0)
		close(master);
	if (claim >= 0)
		close(claim);
	pn532_free(p);
	return rc;
}
