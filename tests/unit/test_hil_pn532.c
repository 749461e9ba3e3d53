/* test_hil_pn532.c — the software PN532's host-link codec and commands,
 * byte for byte, against fake links: the frames libnfc's pn532_uart
 * driver sends at open (taken from a libnfc 1.8.0 debug trace) get the
 * answers a PN532 v1.6 gives; frames split anywhere, noise, bad
 * checksums, NACK and extended frames; Type B activation with the
 * PUPI given; APDUs in and out with chaining both ways; a mute card is a
 * timeout; the RF field and re-activation drive the card's power;
 * FeliCa polling and raw frames go to the SE; a host that never reads
 * costs bounded memory, and the next host finds a clean chip, also
 * through the pty of `serve pn532`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include "hil/link/link.h"
#include "hil/serve/pn532.h"
#include "hil/serve/serve.h"
#include "hil/base/util.h"

/* ------------------------------------------------------------ fake links */

typedef struct fake {
	int power[32];
	size_t npower;
	uint8_t cmd[2048];
	size_t cmdlen;
	size_t ncmd;
	uint8_t rsp[2048];
	size_t rsplen;
	int mute;
	uint8_t atr[32];
	size_t atrlen;
} fake_t;

static int fake_power(link_t *l, enum sim_power how)
{
	fake_t *f = l->priv;
	if (f->npower < 32)
		f->power[f->npower++] = (int)how;
	return 0;
}

static int fake_transmit(link_t *l, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap,
			 size_t *rsplen, int timeout_ms)
{
	fake_t *f = l->priv;
	(void)timeout_ms;
	memcpy(f->cmd, cmd, len);
	f->cmdlen = len;
	f->ncmd++;
	*rsplen = 0;
	if (f->mute || f->rsplen > cap)
		return LINK_ERR_MUTE;
	memcpy(rsp, f->rsp, f->rsplen);
	*rsplen = f->rsplen;
	return 0;
}

static size_t fake_atr(link_t *l, uint8_t *atr, size_t cap)
{
	fake_t *f = l->priv;
	if (cap < f->atrlen)
		return 0;
	memcpy(atr, f->atr, f->atrlen);
	return f->atrlen;
}

static const link_ops_t fake_ops = {
	.scheme = "fake", .power = fake_power, .transmit = fake_transmit, .atr = fake_atr,
};

/* `serve pn532` in a child process, for the pty tests. */
typedef struct served {
	char dir[64], pty[96], err[96];
	pid_t pid;
} served_t;

typedef struct bench {
	fake_t cf, sf;
	link_t card, se;
	pn532_t *p;
	uint8_t data[2048]; /* data of the last answer, after D5 cmd+1 */
	size_t datalen;
	served_t srv; /* pid 0: none */
} bench_t;

static const pn532_ident_t ident = { { 0xA1, 0xB2, 0xC3, 0xD4 }, { 0x08, 0x11, 0x22, 0x33 } };

/* An opensc-3021 card: its contact ATR picks application data 00 00 41 E0. */
static const uint8_t atr_3021[] = { 0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12,
				    0x39, 0x2F, 0x31, 0xC1, 0x73, 0xC6, 0x01, 0xC0, 0x3B };

static bench_t *bench_new(int with_se)
{
	bench_t *b = calloc(1, sizeof *b);
	assert_non_null(b);
	b->card = (link_t){ .ops = &fake_ops, .priv = &b->cf, .uri = "fake:card" };
	b->se = (link_t){ .ops = &fake_ops, .priv = &b->sf, .uri = "fake:se" };
	memcpy(b->cf.atr, atr_3021, sizeof atr_3021);
	b->cf.atrlen = sizeof atr_3021;
	b->p = pn532_new(&b->card, with_se ? &b->se : NULL, &ident);
	assert_non_null(b->p);
	return b;
}

static int setup(void **state)
{
	*state = bench_new(0);
	return 0;
}

static int setup_se(void **state)
{
	*state = bench_new(1);
	return 0;
}

static void util_stop_child(served_t *s);

static int teardown(void **state)
{
	bench_t *b = *state;
	if (b->srv.pid > 0)
		util_stop_child(&b->srv);
	pn532_free(b->p);
	free(b);
	return 0;
}

/* ----------------------------------------------------- host-side framing */

/* A host frame D4 body..., normal or extended as its length asks. */
static size_t host_frame(const uint8_t *body, size_t n, uint8_t *f)
{
	size_t len = n + 1, k = 0;
	unsigned dcs = 0xD4;

	f[k++] = 0x00;
	f[k++] = 0x00;
	f[k++] = 0xFF;
	if (len < 0xFF) {
		f[k++] = (uint8_t)len;
		f[k++] = (uint8_t)(0x100 - len);
	} else {
		f[k++] = 0xFF;
		f[k++] = 0xFF;
		f[k++] = (uint8_t)(len >> 8);
		f[k++] = (uint8_t)len;
		f[k++] = (uint8_t)(0x100 - (((len >> 8) + len) & 0xFF));
	}
	f[k++] = 0xD4;
	for (size_t i = 0; i < n; i++) {
		f[k++] = body[i];
		dcs += body[i];
	}
	f[k++] = (uint8_t)(0x100 - (dcs & 0xFF));
	f[k++] = 0x00;
	return k;
}

static const uint8_t ack[] = { 0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00 };
static const uint8_t error_frame[] = { 0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00 };

static void feed(bench_t *b, const uint8_t *in, size_t n)
{
	assert_int_equal(pn532_feed(b->p, in, n), 0);
}

static size_t take(bench_t *b, uint8_t *out, size_t cap)
{
	size_t n;
	const uint8_t *o = pn532_output(b->p, &n);
	assert_true(n <= cap);
	if (n)
		memcpy(out, o, n);
	pn532_consume(b->p, n);
	return n;
}

/* Check an answer frame on its own (checksums, TFI, command code) and
 * keep its data.  Returns the frame's length. */
static size_t check_answer(bench_t *b, const uint8_t *f, size_t n, uint8_t cmd)
{
	size_t len, hdr;
	unsigned sum = 0;

	assert_true(n >= 9);
	assert_memory_equal(f, "\x00\x00\xFF", 3);
	if (f[3] == 0xFF && f[4] == 0xFF) {
		assert_int_equal((f[5] + f[6] + f[7]) & 0xFF, 0);
		len = (size_t)f[5] << 8 | f[6];
		hdr = 8;
		assert_true(len > 0xFF); /* extended only when needed */
	} else {
		assert_int_equal((f[3] + f[4]) & 0xFF, 0);
		len = f[3];
		hdr = 5;
	}
	assert_true(n >= hdr + len + 2);
	for (size_t i = 0; i <= len; i++)
		sum += f[hdr + i];
	assert_int_equal(sum & 0xFF, 0);
	assert_int_equal(f[hdr], 0xD5);
	assert_int_equal(f[hdr + 1], cmd + 1);
	assert_int_equal(f[hdr + len + 1], 0x00);
	b->datalen = len - 2;
	memcpy(b->data, f + hdr + 2, b->datalen);
	return hdr + len + 2;
}

/* One command: ACK, then one answer whose data lands in b->data. */
static void talk(bench_t *b, const uint8_t *body, size_t n)
{
	uint8_t f[2048], out[4096];
	size_t k = host_frame(body, n, f), on;

	feed(b, f, k);
	on = take(b, out, sizeof out);
	assert_true(on >= sizeof ack);
	assert_memory_equal(out, ack, sizeof ack);
	assert_int_equal(check_answer(b, out + sizeof ack, on - sizeof ack, body[0]), on - sizeof ack);
}

#define TALK(b, ...) do { static const uint8_t body_[] = { __VA_ARGS__ }; talk(b, body_, sizeof body_); } while (0)

static void want(bench_t *b, const uint8_t *d, size_t n)
{
	assert_int_equal(b->datalen, n);
	assert_memory_equal(b->data, d, n);
}

#define WANT(b, ...) do { static const uint8_t w_[] = { __VA_ARGS__ }; want(b, w_, sizeof w_); } while (0)

/* ----------------------------------------------------------------- tests */

/* libnfc's open, as its debug trace shows it: the HSU wake-up preamble
 * and SAMConfiguration in one write, then the communication test, then
 * GetFirmwareVersion and SetParameters — exact bytes both ways. */
static void libnfc_open_sequence(void **state)
{
	static const uint8_t wake_sam[] = {
		0x55, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0xFF, 0x03, 0xFD, 0xD4, 0x14, 0x01, 0x17, 0x00,
	};
	static const uint8_t sam_rsp[] = { 0x00, 0x00, 0xFF, 0x02, 0xFE, 0xD5, 0x15, 0x16, 0x00 };
	static const uint8_t diag[] = { 0x00, 0x00, 0xFF, 0x09, 0xF7, 0xD4, 0x00, 0x00, 0x6C, 0x69,
					0x62, 0x6E, 0x66, 0x63, 0xBE, 0x00 };
	static const uint8_t diag_rsp[] = { 0x00, 0x00, 0xFF, 0x09, 0xF7, 0xD5, 0x01, 0x00, 0x6C, 0x69,
					    0x62, 0x6E, 0x66, 0x63, 0xBC, 0x00 };
	static const uint8_t fw[] = { 0x00, 0x00, 0xFF, 0x02, 0xFE, 0xD4, 0x02, 0x2A, 0x00 };
	static const uint8_t fw_rsp[] = { 0x00, 0x00, 0xFF, 0x06, 0xFA, 0xD5, 0x03, 0x32, 0x01, 0x06, 0x07, 0xE8, 0x00 };
	static const uint8_t setp[] = { 0x00, 0x00, 0xFF, 0x03, 0xFD, 0xD4, 0x12, 0x14, 0x06, 0x00 };
	static const uint8_t setp_rsp[] = { 0x00, 0x00, 0xFF, 0x02, 0xFE, 0xD5, 0x13, 0x18, 0x00 };
	static const struct { const uint8_t *in; size_t n; const uint8_t *rsp; size_t rn; } steps[] = {
		{ wake_sam, sizeof wake_sam, sam_rsp, sizeof sam_rsp },
		{ diag, sizeof diag, diag_rsp, sizeof diag_rsp },
		{ fw, sizeof fw, fw_rsp, sizeof fw_rsp },
		{ setp, sizeof setp, setp_rsp, sizeof setp_rsp },
	};
	bench_t *b = *state;
	uint8_t out[256];

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		feed(b, steps[i].in, steps[i].n);
		assert_int_equal(take(b, out, sizeof out), sizeof ack + steps[i].rn);
		assert_memory_equal(out, ack, sizeof ack);
		assert_memory_equal(out + sizeof ack, steps[i].rsp, steps[i].rn);
	}
}

/* The same conversation fed one byte at a time, and fed all at once,
 * gives the same bytes: framing does not depend on how reads split. */
static void split_anywhere(void **state)
{
	static const uint8_t bodies[][3] = { { 0x02 }, { 0x00, 0x00, 0x42 }, { 0x12, 0x14 } };
	static const size_t lens[] = { 1, 3, 2 };
	bench_t *b = *state;
	uint8_t in[256], whole[512], bytewise[512];
	size_t n = 0, wn, bn = 0;

	for (size_t i = 0; i < 3; i++)
		n += host_frame(bodies[i], lens[i], in + n);
	feed(b, in, n);
	wn = take(b, whole, sizeof whole);
	for (size_t i = 0; i < n; i++) {
		feed(b, in + i, 1);
		bn += take(b, bytewise + bn, sizeof bytewise - bn);
	}
	assert_int_equal(wn, bn);
	assert_memory_equal(whole, bytewise, wn);
	assert_int_equal(wn, 3 * sizeof ack + 13 + 11 + 9);
}

/* A frame with a wrong data checksum, or a wrong length checksum, is not
 * acknowledged; the good frame after it is. */
static void bad_checksums_skipped(void **state)
{
	static const uint8_t body[] = { 0x02 };
	bench_t *b = *state;
	uint8_t f[32], out[64];
	size_t k = host_frame(body, 1, f);

	f[k - 2] ^= 0x01; /* DCS */
	feed(b, f, k);
	assert_int_equal(take(b, out, sizeof out), 0);
	k = host_frame(body, 1, f);
	f[4] ^= 0x01; /* LCS */
	feed(b, f, k);
	assert_int_equal(take(b, out, sizeof out), 0);
	TALK(b, 0x02);
	WANT(b, 0x32, 0x01, 0x06, 0x07);
}

/* An unknown command (and a known one with missing parameters) gets
 * the ACK and then the application-level error frame. */
static void unknown_command_error_frame(void **state)
{
	static const uint8_t bodies[][2] = { { 0x7E }, { 0x14 } };
	bench_t *b = *state;
	uint8_t f[32], out[64];

	for (size_t i = 0; i < 2; i++) {
		feed(b, f, host_frame(bodies[i], 1, f));
		assert_int_equal(take(b, out, sizeof out), sizeof ack + sizeof error_frame);
		assert_memory_equal(out, ack, sizeof ack);
		assert_memory_equal(out + sizeof ack, error_frame, sizeof error_frame);
	}
}

/* NACK from the host: the last answer again, byte for byte. */
static void nack_repeats_answer(void **state)
{
	static const uint8_t nack[] = { 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00 };
	bench_t *b = *state;
	uint8_t out[64];
	size_t n;

	TALK(b, 0x02);
	feed(b, nack, sizeof nack);
	n = take(b, out, sizeof out);
	assert_int_equal(n, 13);
	assert_int_equal(check_answer(b, out, n, 0x02), 13);
	WANT(b, 0x32, 0x01, 0x06, 0x07);
}

/* InListPassiveTarget at 106 kbps Type B: one target, Tg 1, the ATQB
 * 50 PUPI, application data and protocol info of an opensc-3021 card, and a
 * one-byte ATTRIB answer.  An AFI the card does not carry finds nothing. */
static void type_b_target(void **state)
{
	bench_t *b = *state;
	uint8_t atqb[12];

	TALK(b, 0x4A, 0x01, 0x03, 0x00);
	WANT(b, 0x01, 0x01, 0x50, 0xA1, 0xB2, 0xC3, 0xD4, 0x00, 0x00, 0x41, 0xE0, 0xB3, 0x81, 0xA1, 0x01, 0x01);
	assert_int_equal(pn532_atqb(b->p, atqb, sizeof atqb), 12);
	assert_memory_equal(atqb, b->data + 2, 12);
	TALK(b, 0x4A, 0x01, 0x03, 0x05);
	WANT(b, 0x00);
	/* No Type A, FeliCa or Jewel target without an SE. */
	TALK(b, 0x4A, 0x01, 0x00);
	WANT(b, 0x00);
	TALK(b, 0x4A, 0x01, 0x01, 0x00, 0xFF, 0xFF, 0x01, 0x00);
	WANT(b, 0x00);
	TALK(b, 0x4A, 0x01, 0x04);
	WANT(b, 0x00);
	/* MaxTg 3 is a syntax error. */
	{
		static const uint8_t body[] = { 0x4A, 0x03, 0x03 };
		uint8_t f[32], out[64];
		feed(b, f, host_frame(body, sizeof body, f));
		assert_int_equal(take(b, out, sizeof out), sizeof ack + sizeof error_frame);
	}
}

/* InDataExchange carries the APDU to the card's link and its answer back
 * after status 00; a mute card is status 01 (timeout); without a
 * selected target the command is refused (27). */
static void data_exchange(void **state)
{
	bench_t *b = *state;

	TALK(b, 0x40, 0x01, 0x00, 0xA4, 0x04, 0x0C);
	WANT(b, 0x27);
	assert_int_equal(b->cf.ncmd, 0);
	TALK(b, 0x4A, 0x01, 0x03, 0x00);
	memcpy(b->cf.rsp, "\x12\x34\x90\x00", 4);
	b->cf.rsplen = 4;
	TALK(b, 0x40, 0x01, 0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00);
	WANT(b, 0x00, 0x12, 0x34, 0x90, 0x00);
	assert_int_equal(b->cf.cmdlen, 7);
	assert_memory_equal(b->cf.cmd, "\x00\xA4\x04\x0C\x02\x3F\x00", 7);
	b->cf.mute = 1;
	TALK(b, 0x40, 0x01, 0x00, 0xB0, 0x00, 0x00, 0x00);
	WANT(b, 0x01);
	b->cf.mute = 0;
	/* Deselected, the target takes no more APDUs. */
	TALK(b, 0x44, 0x00);
	WANT(b, 0x00);
	TALK(b, 0x40, 0x01, 0x00, 0xB0, 0x00, 0x00, 0x00);
	WANT(b, 0x27);
	/* Presence: Diagnose 06 says 01 with no target selected. */
	TALK(b, 0x00, 0x06);
	WANT(b, 0x01);
	TALK(b, 0x54, 0x01); /* InSelect brings it back */
	WANT(b, 0x00);
	TALK(b, 0x00, 0x06);
	WANT(b, 0x00);
}

/* A 600-byte answer: the first two pieces carry MI (status 40) and 262
 * bytes each, in extended frames; libnfc asks for each next piece with
 * Tg alone.  Reassembled, it is the card's answer. */
static void long_answer_chained(void **state)
{
	bench_t *b = *state;
	uint8_t got[600];
	size_t n = 0;

	for (size_t i = 0; i < 600; i++)
		b->cf.rsp[i] = (uint8_t)(i * 7);
	b->cf.rsplen = 600;
	TALK(b, 0x4A, 0x01, 0x03, 0x00);
	TALK(b, 0x40, 0x01, 0x00, 0xB0, 0x00, 0x00, 0x00, 0x02, 0x56);
	assert_int_equal(b->data[0], 0x40);
	assert_int_equal(b->datalen, 263);
	memcpy(got, b->data + 1, 262);
	n = 262;
	TALK(b, 0x40, 0x01);
	assert_int_equal(b->data[0], 0x40);
	memcpy(got + n, b->data + 1, b->datalen - 1);
	n += b->datalen - 1;
	TALK(b, 0x40, 0x01);
	assert_int_equal(b->data[0], 0x00);
	memcpy(got + n, b->data + 1, b->datalen - 1);
	n += b->datalen - 1;
	assert_int_equal(n, 600);
	assert_memory_equal(got, b->cf.rsp, 600);
	assert_int_equal(b->cf.ncmd, 1);
}

/* A command longer than a normal frame comes in an extended frame; one
 * sent in pieces with MI in Tg reaches the card whole, once. */
static void long_command_in(void **state)
{
	bench_t *b = *state;
	uint8_t body[2 + 300];

	TALK(b, 0x4A, 0x01, 0x03, 0x00);
	memcpy(b->cf.rsp, "\x90\x00", 2);
	b->cf.rsplen = 2;
	body[0] = 0x40;
	body[1] = 0x01;
	for (size_t i = 0; i < 300; i++)
		body[2 + i] = (uint8_t)i;
	talk(b, body, sizeof body);
	WANT(b, 0x00, 0x90, 0x00);
	assert_int_equal(b->cf.cmdlen, 300);
	assert_memory_equal(b->cf.cmd, body + 2, 300);

	body[1] = 0x41; /* first half, more to come */
	talk(b, body, 2 + 150);
	WANT(b, 0x00);
	assert_int_equal(b->cf.ncmd, 1);
	body[150] = 0x40;
	body[151] = 0x01;
	talk(b, body + 150, 2 + 150);
	WANT(b, 0x00, 0x90, 0x00);
	assert_int_equal(b->cf.ncmd, 2);
	assert_int_equal(b->cf.cmdlen, 300);
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(b->cf.cmd[i], (uint8_t)i);
}

/* The RF field and activation drive the card's power: off with the
 * field, a cold reset at the first activation, a warm one when the
 * reader activates it again. */
static void field_and_power(void **state)
{
	bench_t *b = *state;

	TALK(b, 0x32, 0x01, 0x00); /* field off: nothing powered yet */
	TALK(b, 0x32, 0x01, 0x01);
	assert_int_equal(b->cf.npower, 0);
	TALK(b, 0x4A, 0x01, 0x03, 0x00);
	TALK(b, 0x44, 0x00);
	TALK(b, 0x4A, 0x01, 0x03, 0x00);
	TALK(b, 0x52, 0x00);
	TALK(b, 0x32, 0x01, 0x00);
	TALK(b, 0x4A, 0x01, 0x03, 0x00);
	assert_int_equal(b->cf.npower, 4);
	assert_int_equal(b->cf.power[0], SIM_POWER_COLD);
	assert_int_equal(b->cf.power[1], SIM_POWER_WARM);
	assert_int_equal(b->cf.power[2], SIM_POWER_OFF);
	assert_int_equal(b->cf.power[3], SIM_POWER_COLD);
	TALK(b, 0x04); /* GetGeneralStatus: field on, one Type B target */
	WANT(b, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00, 0x03, 0x00);
}

/* Registers written come back; several in one command, in order. */
static void registers(void **state)
{
	bench_t *b = *state;

	TALK(b, 0x08, 0x63, 0x02, 0x80, 0x63, 0x03, 0x83, 0x63, 0x3D, 0x07);
	assert_int_equal(b->datalen, 0);
	TALK(b, 0x06, 0x63, 0x3D, 0x63, 0x02, 0x63, 0x03, 0x63, 0x04);
	WANT(b, 0x07, 0x80, 0x83, 0x80);
}

/* Raw frames with no FeliCa session find nobody: status 01, the answer
 * nfc-list's ISO 14443-B', SRx and CTx probes expect. */
static void raw_frames_without_felica(void **state)
{
	bench_t *b = *state;

	TALK(b, 0x42, 0x06, 0x00);
	WANT(b, 0x01);
	TALK(b, 0x56, 0x01, 0x02, 0x00); /* InJumpForDEP: no NFC-DEP target */
	WANT(b, 0x01);
}

/* With an SE: FeliCa polling goes to it as a frame (LEN 00 SC SC RC TSN)
 * and its answer is the target; raw frames then reach it; Type A gives
 * the SE with the NFCID1 given and an ATS. */
static void felica_and_type_a_from_se(void **state)
{
	static const uint8_t pol_res[] = { 0x14, 0x01, 0x01, 0x2E, 0x3D, 0x4C, 0x5B, 0x6A, 0x79, 0x88,
					   0x03, 0x01, 0x4B, 0x02, 0x4F, 0x49, 0x93, 0xFF, 0x12, 0xFC };
	bench_t *b = *state;

	memcpy(b->sf.rsp, pol_res, sizeof pol_res);
	b->sf.rsplen = sizeof pol_res;
	TALK(b, 0x4A, 0x01, 0x01, 0x00, 0xFF, 0xFF, 0x01, 0x00);
	assert_int_equal(b->sf.cmdlen, 6);
	assert_memory_equal(b->sf.cmd, "\x06\x00\xFF\xFF\x01\x00", 6);
	assert_int_equal(b->datalen, 2 + sizeof pol_res);
	assert_int_equal(b->data[0], 1);
	assert_int_equal(b->data[1], 1);
	assert_memory_equal(b->data + 2, pol_res, sizeof pol_res);

	memcpy(b->sf.rsp, "\x0B\x05\x01\x2E\x3D\x4C\x5B\x6A\x79\x88\x00", 11);
	b->sf.rsplen = 11;
	TALK(b, 0x42, 0x0A, 0x04, 0x01, 0x2E, 0x3D, 0x4C, 0x5B, 0x6A, 0x79, 0x88);
	WANT(b, 0x00, 0x0B, 0x05, 0x01, 0x2E, 0x3D, 0x4C, 0x5B, 0x6A, 0x79, 0x88, 0x00);
	assert_memory_equal(b->sf.cmd, "\x0A\x04\x01\x2E\x3D\x4C\x5B\x6A\x79\x88", 10);

	/* An SE answer that is no polling answer: no target. */
	memcpy(b->sf.rsp, "\x6D\x00", 2);
	b->sf.rsplen = 2;
	TALK(b, 0x4A, 0x01, 0x02, 0x00, 0xFF, 0xFF, 0x00, 0x00);
	WANT(b, 0x00);

	TALK(b, 0x12, 0x14); /* automatic RATS */
	TALK(b, 0x4A, 0x01, 0x00);
	WANT(b, 0x01, 0x01, 0x00, 0x04, 0x20, 0x04, 0x08, 0x11, 0x22, 0x33, 0x05, 0x78, 0x80, 0x70, 0x02);
	memcpy(b->sf.rsp, "\x90\x00", 2);
	b->sf.rsplen = 2;
	TALK(b, 0x40, 0x01, 0x00, 0xA4, 0x04, 0x00, 0x00);
	WANT(b, 0x00, 0x90, 0x00);
	assert_int_equal(b->cf.ncmd, 0); /* the card saw none of it */
}

/* libnfc 1.8's presence check of a Type B target: R(NAK) with CID 1 by
 * InCommunicateThru.  The target answers R(ACK) with its block number
 * (1 after activation, toggled by each exchange), CID echoed; with no
 * target selected, nobody answers. */
static void presence_ping(void **state)
{
	bench_t *b = *state;

	TALK(b, 0x42, 0xBA, 0x01);
	WANT(b, 0x01);
	TALK(b, 0x4A, 0x01, 0x03, 0x00);
	TALK(b, 0x42, 0xBA, 0x01);
	WANT(b, 0x00, 0xAB, 0x01);
	memcpy(b->cf.rsp, "\x90\x00", 2);
	b->cf.rsplen = 2;
	TALK(b, 0x40, 0x01, 0x00, 0xA4, 0x00, 0x00);
	TALK(b, 0x42, 0xBA, 0x01);
	WANT(b, 0x00, 0xAA, 0x01);
	TALK(b, 0x42, 0xB2); /* no CID */
	WANT(b, 0x00, 0xA2);
	assert_int_equal(b->cf.ncmd, 1); /* the pings never reach the card */
	TALK(b, 0x44, 0x00);
	TALK(b, 0x42, 0xBA, 0x01);
	WANT(b, 0x01);
}

/* InAutoPoll finds the Type B card among the types asked for. */
static void auto_poll(void **state)
{
	bench_t *b = *state;

	TALK(b, 0x60, 0x01, 0x01, 0x10, 0x11, 0x23);
	WANT(b, 0x01, 0x23, 0x0F, 0x01, 0x50, 0xA1, 0xB2, 0xC3, 0xD4, 0x00, 0x00, 0x41, 0xE0, 0xB3, 0x81,
	     0xA1, 0x01, 0x01);
	TALK(b, 0x60, 0x01, 0x01, 0x10, 0x11);
	WANT(b, 0x00);
}

/* The host went away mid-frame: the half frame is forgotten, and the
 * next client is answered. */
static void host_reset(void **state)
{
	static const uint8_t half[] = { 0x00, 0x00, 0xFF, 0x09, 0xF7, 0xD4, 0x00 };
	bench_t *b = *state;

	feed(b, half, sizeof half);
	pn532_host_reset(b->p);
	TALK(b, 0x02);
	WANT(b, 0x32, 0x01, 0x06, 0x07);
}

/* The frames of out[0..n) are whole ACKs and GetFirmwareVersion answers. */
static void whole_frames(bench_t *b, const uint8_t *out, size_t n)
{
	for (size_t k = 0; k < n;) {
		if (n - k >= sizeof ack && !memcmp(out + k, ack, sizeof ack))
			k += sizeof ack;
		else
			k += check_answer(b, out + k, n - k, 0x02);
	}
}

/* A host that writes and never reads: the answers held stay within
 * PN532_OUT_MAX, the rest is counted as dropped, in whole frames; once
 * the host reads, the chip answers as before. */
static void output_bounded(void **state)
{
	static const uint8_t body[] = { 0x02 };
	bench_t *b = *state;
	uint8_t f[32], out[PN532_OUT_MAX];
	size_t k = host_frame(body, sizeof body, f), n;

	for (int i = 0; i < 10000; i++)
		feed(b, f, k);
	pn532_output(b->p, &n);
	assert_true(n <= PN532_OUT_MAX);
	assert_true(pn532_dropped(b->p) >= 10000 * (sizeof ack + 13) - PN532_OUT_MAX);
	n = take(b, out, sizeof out);
	whole_frames(b, out, n);
	TALK(b, 0x02);
	WANT(b, 0x32, 0x01, 0x06, 0x07);
}

/* After a host reset the chip is as at power-on, whatever the last host
 * did: nothing of its output or input left, the field off and the SE
 * powered off with it, no target, registers and parameters reset. */
static void host_reset_fresh_chip(void **state)
{
	static const uint8_t half[] = { 0x00, 0x00, 0xFF, 0x09, 0xF7, 0xD4, 0x00 }, fw[] = { 0x02 };
	static const uint8_t pol[] = { 0x4A, 0x01, 0x00 };
	bench_t *b = *state;
	uint8_t f[32];
	size_t n;

	TALK(b, 0x12, 0x14);             /* automatic RATS */
	TALK(b, 0x08, 0x63, 0x02, 0x80); /* a register written */
	TALK(b, 0x4A, 0x01, 0x00);       /* the SE as Type A, with its ATS */
	assert_int_equal(b->datalen, 15);
	feed(b, f, host_frame(fw, sizeof fw, f)); /* an answer left unread */
	feed(b, half, sizeof half);
	pn532_host_reset(b->p);
	pn532_output(b->p, &n);
	assert_int_equal(n, 0);
	assert_int_equal(b->sf.npower, 2);
	assert_int_equal(b->sf.power[1], SIM_POWER_OFF);
	TALK(b, 0x04); /* GetGeneralStatus: no error, field off, no target */
	WANT(b, 0x00, 0x00, 0x00, 0x00);
	TALK(b, 0x40, 0x01, 0x00, 0xA4, 0x04, 0x0C);
	WANT(b, 0x27);
	TALK(b, 0x06, 0x63, 0x02, 0x63, 0x01);
	WANT(b, 0x00, 0x3B);
	talk(b, pol, sizeof pol); /* no ATS now: parameters reset; a cold start */
	WANT(b, 0x01, 0x01, 0x00, 0x04, 0x20, 0x04, 0x08, 0x11, 0x22, 0x33);
	assert_int_equal(b->sf.power[2], SIM_POWER_COLD);
}

/* ------------------------------------------------- the pty of serve pn532 */

/* `serve pn532` in a child, on the bench's card; returns once its pty
 * link is there. */
static void serve_start(bench_t *b, served_t *s)
{
	int64_t deadline = util_now_ms() + 10000;

	strcpy(s->dir, "/tmp/test_hil_pn532_XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->pty, sizeof s->pty, "%s/pty", s->dir);
	snprintf(s->err, sizeof s->err, "%s/err", s->dir);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int out = open("/dev/null", O_WRONLY), err = open(s->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(3);
		_exit(serve_pn532_run(&b->card, NULL, s->pty));
	}
	while (access(s->pty, F_OK) < 0 && util_now_ms() < deadline)
		poll(NULL, 0, 10);
	assert_int_equal(access(s->pty, F_OK), 0);
}

static void util_stop_child(served_t *s)
{
	int st;

	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	s->pid = 0;
	unlink(s->pty);
	unlink(s->err);
	rmdir(s->dir);
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Write all of buf to the non-blocking fd within the deadline. */
static void write_all(int fd, const uint8_t *buf, size_t n, int64_t deadline)
{
	while (n) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		ssize_t w = write(fd, buf, n);
		if (w > 0) {
			buf += w;
			n -= (size_t)w;
			continue;
		}
		assert_true(w < 0 && errno == EAGAIN);
		assert_true(util_now_ms() < deadline);
		poll(&pf, 1, 100);
	}
}

/* Read up to n bytes within ms milliseconds; returns how many came. */
static size_t read_for(int fd, uint8_t *buf, size_t n, int ms)
{
	int64_t deadline = util_now_ms() + ms;
	size_t got = 0;

	while (got < n && util_now_ms() < deadline) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;
		if (poll(&pf, 1, (int)(deadline - util_now_ms())) <= 0)
			continue;
		if ((r = read(fd, buf + got, n - got)) > 0)
			got += (size_t)r;
	}
	return got;
}

/* The line speed is our mark: the server sets 115200 baud again when
 * it has seen the last client go. */
static int open_after_reset(const char *pty, int64_t deadline)
{
	while (util_now_ms() < deadline) {
		struct termios t;
		int fd = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK);
		assert_true(fd >= 0);
		assert_int_equal(tcgetattr(fd, &t), 0);
		if (cfgetospeed(&t) == B115200)
			return fd;
		close(fd);
		poll(NULL, 0, 10);
	}
	fail_msg("the server never reset the line");
	return -1;
}

/* Through the pty: a client writes 6 MB of commands and never reads.
 * The server's memory stays put and it says it drops answers; the next
 * client's first bytes are the answer to its own first command, and
 * nothing else. */
static void serve_bounded_and_clean(void **state)
{
	static const uint8_t fw[] = { 0x02 }, diag[] = { 0x00, 0x00, 'n', 'e', 'w' };
	bench_t *b = *state;
	served_t *s = &b->srv;
	uint8_t f[32], buf[455 * 9], got[64];
	size_t k = host_frame(fw, sizeof fw, f), n = 0;
	int64_t deadline = util_now_ms() + 60000;
	long rss0;
	int fd;
	struct termios t;
	char msg[512] = "";
	FILE *e;

	serve_start(b, s);
	for (size_t i = 0; i + k <= sizeof buf; i += k)
		memcpy(buf + i, f, k);
	rss0 = rss_kib(s->pid);
	fd = open(s->pty, O_RDWR | O_NOCTTY | O_NONBLOCK);
	assert_true(fd >= 0);
	while (n < 6 << 20) {
		write_all(fd, buf, sizeof buf, deadline);
		n += sizeof buf;
	}
	assert_true(rss_kib(s->pid) - rss0 < 4096);
	assert_non_null(e = fopen(s->err, "r"));
	assert_non_null(fgets(msg, sizeof msg, e));
	fclose(e);
	assert_non_null(strstr(msg, "does not read its answers"));
	/* Leave a mark on the line, and go without reading anything. */
	assert_int_equal(tcgetattr(fd, &t), 0);
	cfsetospeed(&t, B9600);
	cfsetispeed(&t, B9600);
	assert_int_equal(tcsetattr(fd, TCSANOW, &t), 0);
	close(fd);

	fd = open_after_reset(s->pty, deadline);
	k = host_frame(diag, sizeof diag, f);
	write_all(fd, f, k, deadline);
	n = read_for(fd, got, sizeof ack + 13, 10000);
	assert_int_equal(n, sizeof ack + 13);
	assert_memory_equal(got, ack, sizeof ack);
	assert_int_equal(check_answer(b, got + sizeof ack, n - sizeof ack, 0x00), 13);
	WANT(b, 0x00, 'n', 'e', 'w');
	assert_int_equal(read_for(fd, got, sizeof got, 200), 0);
	close(fd);
}

/* A simulated card's own ATQB (docs/card.md#atrs): the one its profile
 * gives reaches InListPassiveTarget, not the one its ATR's set has. */
static void sim_card_atqb_from_profile(void **state)
{
	char dir[] = "/tmp/pn532-atqb-XXXXXX", path[256], err[256];
	const char *src = MYNAHIL_SOURCE_DIR "/fixtures/profiles/default.lua";
	link_opts_t lo = { .label = "pn532", .profile = path };
	uint8_t *in, atqb[12];
	size_t n, o = 0;
	char *out;
	link_t *card;
	pn532_t *p;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/atqb.lua", dir);
	assert_int_equal(util_read_file(src, &in, &n), 0);
	out = malloc(2 * n + 4096);
	assert_non_null(out);
	/* default.lua with absolute paths and an atqb field */
	for (size_t i = 0; i < n; i++) {
		if (!strncmp((const char *)in + i, "return {\n", 9)) {
			o += (size_t)sprintf(out + o, "return {\n  atqb = \"0011223344D1D2\",\n");
			i += 8;
		} else if (!strncmp((const char *)in + i, "\"../", 4)) {
			o += (size_t)sprintf(out + o, "\"%s/fixtures/", MYNAHIL_SOURCE_DIR);
			i += 3;
		} else {
			out[o++] = (char)in[i];
		}
	}
	assert_int_equal(util_write_file(path, out, o), 0);
	assert_int_equal(link_open(&card, "sim:card", &lo, err, sizeof err), 0);
	p = pn532_new(card, NULL, &ident);
	assert_non_null(p);
	assert_int_equal(pn532_atqb(p, atqb, sizeof atqb), 12);
	assert_memory_equal(atqb + 5, "\x00\x11\x22\x33\x44\xD1\xD2", 7);
	pn532_free(p);
	link_close(card);
	free(in);
	free(out);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sim_card_atqb_from_profile),
		cmocka_unit_test_setup_teardown(libnfc_open_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(split_anywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_checksums_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_command_error_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(nack_repeats_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(type_b_target, setup, teardown),
		cmocka_unit_test_setup_teardown(data_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(long_answer_chained, setup, teardown),
		cmocka_unit_test_setup_teardown(long_command_in, setup, teardown),
		cmocka_unit_test_setup_teardown(field_and_power, setup, teardown),
		cmocka_unit_test_setup_teardown(registers, setup, teardown),
		cmocka_unit_test_setup_teardown(raw_frames_without_felica, setup, teardown),
		cmocka_unit_test_setup_teardown(felica_and_type_a_from_se, setup_se, teardown),
		cmocka_unit_test_setup_teardown(presence_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(auto_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(host_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(output_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(host_reset_fresh_chip, setup_se, teardown),
		cmocka_unit_test_setup_teardown(serve_bounded_and_clean, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
