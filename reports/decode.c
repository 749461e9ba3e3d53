/* decode.c — an APDU of a trace in words, for report.html.
 *
 * Only what the bytes say for sure: the command by CLA/INS (GlobalPlatform
 * commands have a proprietary CLA), the JPKI files by FID, the AIDs the
 * benches use, the status word's meaning.  Secure messaging (CLA bit 3)
 * marks a command wrapped by SCP03; the trace holds the wire bytes only,
 * so the plain command is shown when the trace has one and said to be
 * unknown otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim/core/apdu.h"

/* Private to reports/ (see text.c). */
void res_apdu_decode(const char *cmd, unsigned *ctx, char *name, size_t ncap, char *detail, size_t dcap);
const char *res_sw_text(const char *rsp);

/* Byte i of a hex string, or -1 past its end. */
static int byte_at(const char *hex, size_t i)
{
	size_t n = strlen(hex);
	int hi, lo;

	if (2 * i + 1 >= n + (n & 1))
		return -1;
	hi = apdu_hexval((unsigned char)hex[2 * i]);
	lo = apdu_hexval((unsigned char)hex[2 * i + 1]);
	return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* app 0: the JPKI AP (card and phone applet), 1: 入力補助AP. */
static const struct { int app; uint16_t fid; const char *what; } files[] = {
	{ 0, 0x0001, "EF 0001 sign certificate (署名用電子証明書)" },
	{ 0, 0x0002, "EF 0002 sign CA certificate" },
	{ 0, 0x0006, "EF 0006 token information" },
	{ 0, 0x0008, "EF 0008 certificate availability" },
	{ 0, 0x000A, "EF 000A auth certificate (利用者証明用電子証明書)" },
	{ 0, 0x000B, "EF 000B auth CA certificate" },
	{ 1, 0x0011, "EF 0011 入力補助 PIN" },
	{ 1, 0x0014, "EF 0014 照合番号A" },
	{ 1, 0x0015, "EF 0015 照合番号B" },
	{ 0, 0x0017, "EF 0017 auth private key" },
	{ 0, 0x0018, "EF 0018 auth PIN (利用者証明用)" },
	{ 0, 0x001A, "EF 001A sign private key" },
	{ 0, 0x001B, "EF 001B sign PIN (署名用)" },
};

static const struct { const char *aid; const char *what; } aids[] = {
	{ "D392F000260100000001", "JPKI AP" },
	{ "D3921000310001010408", "券面事項入力補助AP" },
	{ "D392F000260100", "JPKI applet load file" },
	{ "A000000151000000", "ISD (card manager)" },
	{ "A0000001510000", "ISD (card manager)" },
};

static const char *file_name(int app, unsigned fid)
{
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		if (files[i].app == app && files[i].fid == fid)
			return files[i].what;
	return NULL;
}

static const char *ins_name(int cla, int ins)
{
	int gp = (cla & 0x80) != 0; /* proprietary class: GlobalPlatform or JPKI */

	switch (ins) {
	case 0xA4: return "SELECT";
	case 0xB0: return "READ BINARY";
	case 0xB2: return "READ RECORD";
	case 0x20: return "VERIFY";
	case 0x24: return "CHANGE REFERENCE DATA";
	case 0x2C: return "RESET RETRY COUNTER";
	case 0x2A: return gp ? "COMPUTE DIGITAL SIGNATURE" : "PERFORM SECURITY OPERATION";
	case 0x88: return "INTERNAL AUTHENTICATE";
	case 0x84: return "GET CHALLENGE";
	case 0xC0: return "GET RESPONSE";
	case 0x70: return "MANAGE CHANNEL";
	case 0x50: return "INITIALIZE UPDATE";
	case 0x82: return "EXTERNAL AUTHENTICATE";
	case 0xF2: return "GET STATUS";
	case 0xCA: case 0xCB: return "GET DATA";
	case 0xE6: return "INSTALL";
	case 0xE8: return "LOAD";
	case 0xE4: return "DELETE";
	case 0xF0: return "SET STATUS";
	case 0xD8: return "PUT KEY";
	case 0xE2: return "STORE DATA";
	case 0xD6: return "UPDATE BINARY";
	default: return NULL;
	}
}

/* The data field of a short APDU as hex (NUL-terminated in out). */
static void data_hex(const char *cmd, char *out, size_t cap)
{
	int lc = byte_at(cmd, 4);
	size_t n = lc > 0 ? (size_t)lc : 0;

	out[0] = 0;
	if (lc <= 0 || strlen(cmd) < 10 + 2 * n || 2 * n + 1 > cap)
		return;
	memcpy(out, cmd + 10, 2 * n);
	out[2 * n] = 0;
}

/* *ctx: what the link has selected, followed across SELECTs so that a
 * FID is named in its own AP and a command on the current EF names it:
 * bit 16 the AP (0 JPKI, 1 入力補助AP), bits 0-15 the EF (0 none). */
void res_apdu_decode(const char *cmd, unsigned *ctx, char *name, size_t ncap, char *detail, size_t dcap)
{
	int app = (int)(*ctx >> 16) & 1;
	unsigned ef = *ctx & 0xFFFF;
	int cla = byte_at(cmd, 0), ins = byte_at(cmd, 1), p1 = byte_at(cmd, 2), p2 = byte_at(cmd, 3);
	const char *n = cla < 0 || ins < 0 ? NULL : ins_name(cla, ins);
	char data[600];
	size_t off = 0;

	snprintf(name, ncap, "%s", n ? n : "?");
	detail[0] = 0;
	if (!n || p1 < 0 || p2 < 0)
		return;
	data_hex(cmd, data, sizeof data);
	if (ins == 0xA4 && (p1 == 0x02 || p1 == 0x00) && strlen(data) == 4) {
		const char *f = file_name(app, (unsigned)(byte_at(data, 0) << 8 | byte_at(data, 1)));
		*ctx = (*ctx & 0x10000) | (unsigned)(byte_at(data, 0) << 8 | byte_at(data, 1));
		off += (size_t)snprintf(detail, dcap, "%s", f ? f : "EF ");
		if (!f)
			snprintf(detail + off, dcap - off, "%s", data);
	} else if (ins == 0xA4 && p1 == 0x04) {
		const char *what = NULL;
		for (size_t i = 0; i < sizeof aids / sizeof aids[0] && !what; i++)
			if (!strcmp(data, aids[i].aid))
				what = aids[i].what;
		*ctx = what && !strcmp(what, aids[1].what) ? 0x10000 : 0;
		snprintf(detail, dcap, "AID %s%s%s", *data ? data : "(empty: the ISD)", what ? " " : "",
			 what ? what : "");
	} else if ((ins == 0x20 || ins == 0x24 || ins == 0x2C) && (p2 & 0x80)) {
		/* P2 80: the PIN EF selected; 80|SFI: that one */
		const char *f = file_name(app, p2 & 0x1F ? (unsigned)(p2 & 0x1F) : ef);
		snprintf(detail, dcap, "%s%s", f ? f : "a PIN", ins == 0x20 && !*data ? ": tries left?" : "");
	} else if ((ins == 0xB0) && (p1 & 0x80)) {
		const char *f = file_name(app, (unsigned)(p1 & 0x1F));
		snprintf(detail, dcap, "%s (SFI)", f ? f : "EF by SFI");
	} else if (ins == 0xB0) {
		const char *f = ef ? file_name(app, ef) : NULL;
		snprintf(detail, dcap, "%s%soffset %d", f ? f : "", f ? ", " : "", (p1 << 8) | p2);
	} else if (ins == 0xE2 && strlen(data) >= 4) {
		snprintf(detail, dcap, "DGI %.4s%s", data, p1 & 0x80 ? ", last block" : "");
	} else if (ins == 0xCA) {
		snprintf(detail, dcap, "tag %02X%02X%s", p1, p2, p1 == 0x9F && p2 == 0x7F ? " (CPLC)" : "");
	}
	if (cla & 0x04) {
		off = strlen(detail);
		snprintf(detail + off, dcap - off, "%sSCP03-wrapped (C-MAC%s); the plain command is not in the trace",
			 off ? "; " : "", (cla & 0x0C) == 0x0C ? ", C-ENC" : "");
	}
}

/* The meaning of the response's last two bytes. */
const char *res_sw_text(const char *rsp)
{
	size_t n = rsp ? strlen(rsp) : 0;
	int sw1, sw2;
	static char buf[64]; /* single-threaded writers; one call per row */

	if (n < 4 || strspn(rsp + n - 4, "0123456789ABCDEFabcdef") != 4)
		return "no answer";
	sw1 = apdu_hexval((unsigned char)rsp[n - 4]) << 4 | apdu_hexval((unsigned char)rsp[n - 3]);
	sw2 = apdu_hexval((unsigned char)rsp[n - 2]) << 4 | apdu_hexval((unsigned char)rsp[n - 1]);
	if (sw1 == 0x63 && (sw2 & 0xF0) == 0xC0) {
		snprintf(buf, sizeof buf, "wrong PIN or query: %d tries left", sw2 & 0x0F);
		return buf;
	}
	if (sw1 == 0x61) {
		snprintf(buf, sizeof buf, "%d more bytes (GET RESPONSE)", sw2 ? sw2 : 256);
		return buf;
	}
	if (sw1 == 0x6C) {
		snprintf(buf, sizeof buf, "wrong Le: %d bytes available", sw2 ? sw2 : 256);
		return buf;
	}
	switch (sw1 << 8 | sw2) {
	case 0x9000: return "OK";
	case 0x6200: return "warning: no change (channel already closed)";
	case 0x6281: return "warning: data may be corrupted";
	case 0x6310: return "more data (GET STATUS next)";
	case 0x6300: return "authentication failed (host cryptogram)";
	case 0x6581: return "memory failure";
	case 0x6700: return "wrong length";
	case 0x6881: return "logical channel not supported";
	case 0x6882: return "secure messaging not supported";
	case 0x6982: return "security status not satisfied";
	case 0x6983: return "authentication method blocked";
	case 0x6984: return "reference data not usable (blocked)";
	case 0x6985: return "conditions of use not satisfied";
	case 0x6986: return "command not allowed (no current EF)";
	case 0x6A80: return "incorrect data";
	case 0x6A81: return "function not supported (card state)";
	case 0x6A82: return "file or application not found";
	case 0x6A84: return "not enough memory";
	case 0x6A86: return "incorrect P1/P2";
	case 0x6A88: return "referenced data not found";
	case 0x6B00: return "wrong parameters (offset past the end)";
	case 0x6D00: return "instruction not supported";
	case 0x6E00: return "class not supported";
	case 0x6F00: return "no precise diagnosis";
	default: return "";
	}
}
