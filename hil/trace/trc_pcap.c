/* trc_pcap.c — pcapng out (ISO 14443 or USB CCID framing) and pcap or
 * pcapng in (ISO 14443, USB CCID through usbmon or USBPcap).
 *
 * Out, ISO 14443 (LINKTYPE_ISO_14443 = 264): each packet is Wireshark's
 * 4-byte pseudo-header — version 00, event FE reader→card or FF
 * card→reader (FC/FD: field on/off, no data), a big-endian length — then
 * an ISO 14443-4 I-block: PCB 02/03 (the block number alternates per
 * exchange), the APDU, CRC_B.  tshark decodes it without plug-ins, and
 * names the APDUs with -d iso14443.subdissector,iso7816.  The real frame
 * size (FSD) is ignored: an APDU is one block, never chained, because
 * the trace is of APDUs, not of the radio.
 *
 * Out, USB CCID (LINKTYPE_USB_LINUX_MMAPPED = 220): a usbmon header and a
 * PC_to_RDR_XfrBlock on bulk OUT, RDR_to_PC_DataBlock on bulk IN; tshark
 * takes it with -d usb.device==0x0001NNNN,usbccid (NNNN: 0002 + the
 * interface) and -d usbccid.subdissector,iso7816.
 *
 * One pcapng interface per role, named after it, its link in the
 * interface description; nanosecond timestamps (if_tsresol 9). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/trace/trc.h"

#define LT_ISO14443 264
#define LT_USB_LINUX 189
#define LT_USB_MMAPPED 220
#define LT_USBPCAP 249
#define MAX_IFACES 16
#define CCID_XFR_BLOCK 0x6F
#define CCID_POWER_ON 0x62
#define CCID_POWER_OFF 0x63
#define CCID_DATA_BLOCK 0x80

struct trc_pcap {
	FILE *f;
	enum trc_pcap_kind kind;
	int nif;
	char *role[MAX_IFACES];
	uint8_t block[MAX_IFACES]; /* ISO 14443 block number; CCID bSeq */
	uint64_t urb;
	int bad;
};

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ISO/IEC 14443-3 CRC_B: CRC-16/X.25 (reflected 0x1021, init FFFF,
 * complemented), sent low byte first. */
static uint16_t crc_b(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (uint16_t)(crc & 1 ? (crc >> 1) ^ 0x8408 : crc >> 1);
	}
	return (uint16_t)~crc;
}

static void put_block(trc_pcap_t *p, uint32_t type, const uint8_t *body, size_t n)
{
	uint8_t h[8], pad[4] = { 0 };
	uint32_t total = (uint32_t)(12 + n + ((4 - n % 4) % 4));

	put_le(h, type, 4);
	put_le(h + 4, total, 4);
	if (fwrite(h, 8, 1, p->f) != 1 || (n && fwrite(body, n, 1, p->f) != 1) ||
	    fwrite(pad, (4 - n % 4) % 4, 1, p->f) > 1 || fwrite(h + 4, 4, 1, p->f) != 1)
		p->bad = 1;
}

/* An option (code, value) at out; returns its padded size. */
static size_t put_opt(uint8_t *out, uint16_t code, const void *v, size_t n)
{
	size_t padded = n + (4 - n % 4) % 4;

	put_le(out, code, 2);
	put_le(out + 2, n, 2);
	memcpy(out + 4, v, n);
	memset(out + 4 + n, 0, padded - n);
	return 4 + padded;
}

trc_pcap_t *trc_pcap_open(const char *path, enum trc_pcap_kind kind)
{
	trc_pcap_t *p = calloc(1, sizeof *p);
	uint8_t shb[64];
	size_t n = 16;

	if (!p || !(p->f = fopen(path, "wb"))) {
		free(p);
		return NULL;
	}
	p->kind = kind;
	put_le(shb, 0x1A2B3C4D, 4); /* byte-order magic */
	put_le(shb + 4, 1, 2);      /* version 1.0 */
	put_le(shb + 6, 0, 2);
	put_le(shb + 8, UINT64_MAX, 8); /* section length unknown */
	n += put_opt(shb + n, 4, "mynahil", 7); /* shb_userappl */
	n += put_opt(shb + n, 0, "", 0);
	put_block(p, 0x0A0D0D0A, shb, n);
	return p;
}

int trc_pcap_iface(trc_pcap_t *p, const char *role, const char *link)
{
	uint8_t idb[600];
	size_t n = 8, ln = link ? strlen(link) : 0, rn;
	uint8_t res = 9; /* nanoseconds */

	if (!role)
		role = link ? link : "card";
	for (int i = 0; i < p->nif; i++)
		if (!strcmp(p->role[i], role))
			return i;
	if (p->nif == MAX_IFACES || !(p->role[p->nif] = strdup(role)))
		return 0;
	rn = strlen(role) > 200 ? 200 : strlen(role);
	put_le(idb, p->kind == TRC_PCAP_USBCCID ? LT_USB_MMAPPED : LT_ISO14443, 2);
	put_le(idb + 2, 0, 2);
	put_le(idb + 4, 0, 4); /* no snap length */
	n += put_opt(idb + n, 2, role, rn); /* if_name */
	if (ln)
		n += put_opt(idb + n, 3, link, ln > 300 ? 300 : ln); /* if_description */
	n += put_opt(idb + n, 9, &res, 1); /* if_tsresol */
	n += put_opt(idb + n, 0, "", 0);
	put_block(p, 1, idb, n);
	return p->nif++;
}

static void put_packet(trc_pcap_t *p, int iface, const uint8_t *data, size_t n, int64_t t_ns)
{
	uint8_t *b = malloc(20 + n);

	if (!b) {
		p->bad = 1;
		return;
	}
	put_le(b, (uint32_t)iface, 4);
	put_le(b + 4, (uint64_t)t_ns >> 32, 4);
	put_le(b + 8, (uint64_t)t_ns & 0xFFFFFFFFu, 4);
	put_le(b + 12, n, 4);
	put_le(b + 16, n, 4);
	memcpy(b + 20, data, n);
	put_block(p, 6, b, 20 + n);
	free(b);
}

static void put_iso14443(trc_pcap_t *p, int iface, int event, uint8_t pcb, const uint8_t *apdu, size_t n,
			 int64_t t_ns)
{
	uint8_t *b = malloc(n + 7);
	size_t len = event >= 0xFE ? n + 3 : 0;
	uint16_t crc;

	if (!b || len > 0xFFFF) {
		p->bad |= !b;
		free(b);
		return;
	}
	b[0] = 0, b[1] = (uint8_t)event, b[2] = (uint8_t)(len >> 8), b[3] = (uint8_t)len;
	if (len) {
		b[4] = pcb;
		memcpy(b + 5, apdu, n);
		crc = crc_b(b + 4, n + 1);
		b[5 + n] = (uint8_t)crc, b[6 + n] = (uint8_t)(crc >> 8);
	}
	put_packet(p, iface, b, 4 + len, t_ns);
	free(b);
}

/* A usbmon (mmapped) URB of one CCID message: submission of bulk OUT
 * (reader-bound) or completion of bulk IN. */
static void put_ccid(trc_pcap_t *p, int iface, int in, uint8_t type, const uint8_t *data, size_t n, int64_t t_ns)
{
	uint8_t *b = malloc(64 + 10 + n);

	if (!b) {
		p->bad = 1;
		return;
	}
	memset(b, 0, 64);
	put_le(b, ++p->urb, 8);
	b[8] = in ? 'C' : 'S';
	b[9] = 3;                     /* bulk */
	b[10] = in ? 0x82 : 0x02;     /* endpoint */
	b[11] = (uint8_t)(2 + iface); /* device: one per role */
	put_le(b + 12, 1, 2);         /* bus 1 */
	b[14] = '-';                  /* no setup packet */
	b[15] = 0;                    /* data present */
	put_le(b + 16, (uint64_t)(t_ns / 1000000000), 8);
	put_le(b + 24, (uint64_t)(t_ns / 1000 % 1000000), 4);
	put_le(b + 32, 10 + n, 4);
	put_le(b + 36, 10 + n, 4);
	b[64] = type;
	put_le(b + 65, n, 4);
	b[69] = 0;                    /* slot */
	b[70] = p->block[iface];      /* bSeq */
	memset(b + 71, 0, 3);         /* BWI/level or status/error/chain: 0 */
	if (n)
		memcpy(b + 74, data, n);
	put_packet(p, iface, b, 74 + n, t_ns);
	free(b);
}

void trc_pcap_exchange(trc_pcap_t *p, int iface, const uint8_t *cmd, size_t cn, const uint8_t *rsp,
		       size_t rn, int64_t t_cmd_ns, int64_t t_rsp_ns)
{
	uint8_t pcb;

	if (!p || iface < 0 || iface >= p->nif)
		return;
	if (p->kind == TRC_PCAP_USBCCID) {
		put_ccid(p, iface, 0, CCID_XFR_BLOCK, cmd, cn, t_cmd_ns);
		if (rsp)
			put_ccid(p, iface, 1, CCID_DATA_BLOCK, rsp, rn, t_rsp_ns);
		p->block[iface]++;
		return;
	}
	pcb = (uint8_t)(0x02 | (p->block[iface] & 1));
	put_iso14443(p, iface, 0xFE, pcb, cmd, cn, t_cmd_ns);
	if (rsp)
		put_iso14443(p, iface, 0xFF, pcb, rsp, rn, t_rsp_ns);
	p->block[iface] ^= 1;
}

void trc_pcap_field(trc_pcap_t *p, int iface, int on, int64_t t_ns)
{
	if (!p || iface < 0 || iface >= p->nif)
		return;
	if (p->kind == TRC_PCAP_USBCCID)
		put_ccid(p, iface, 0, on ? CCID_POWER_ON : CCID_POWER_OFF, NULL, 0, t_ns);
	else
		put_iso14443(p, iface, on ? 0xFC : 0xFD, 0, NULL, 0, t_ns);
	p->block[iface] = 0; /* a new activation starts at block 0 */
}

int trc_pcap_close(trc_pcap_t *p)
{
	int bad;

	if (!p)
		return 0;
	bad = p->bad | (fclose(p->f) != 0);
	for (int i = 0; i < p->nif; i++)
		free(p->role[i]);
	free(p);
	return bad ? -1 : 0;
}

int trc_export_pcapng(const trc_t *t, const char *path, enum trc_pcap_kind kind, char *err, size_t errlen)
{
	trc_pcap_t *p = trc_pcap_open(path, kind);

	if (!p) {
		snprintf(err, errlen, "%s: cannot write (%s)", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < t->n; i++) {
		const trc_rec_t *r = &t->v[i];
		int64_t ts = r->t_ns ? r->t_ns : (int64_t)(i + 1) * 1000000;
		int ifc = trc_pcap_iface(p, r->role, r->link);

		if (r->event && !strncmp(r->event, "power ", 6))
			trc_pcap_field(p, ifc, strcmp(r->event, "power off") != 0, ts);
		else if (!r->event)
			trc_pcap_exchange(p, ifc, r->cmd, r->cn, r->rsp, r->rn, ts, ts + 500000);
	}
	if (trc_pcap_close(p) < 0) {
		snprintf(err, errlen, "%s: write failed", path);
		return -1;
	}
	return 0;
}

/* ---- reading ---- */

typedef struct rd {
	trc_t *t;
	const char *path, *role;
	char *err;
	size_t errlen;
	int be;                      /* big-endian section */
	int nif;
	uint16_t lt[MAX_IFACES];
	uint64_t tsdiv[MAX_IFACES];  /* ticks per ns divisor: 1 (ns), 1000 (us) as multiplier below */
	int64_t tsmul[MAX_IFACES];
	char *name[MAX_IFACES];
	/* per interface: a command waiting for its answer, and a chain */
	uint8_t *pend[MAX_IFACES];
	size_t pendn[MAX_IFACES];
	char pend_at[MAX_IFACES][48];
	int64_t pend_t[MAX_IFACES];
	uint8_t *chain[MAX_IFACES][2];
	size_t chainn[MAX_IFACES][2];
	uint8_t ccid_pend_type[MAX_IFACES];
	unsigned long frame;
} rd_t;

static uint32_t get32(const rd_t *r, const uint8_t *p)
{
	return r->be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		     : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t get16(const rd_t *r, const uint8_t *p)
{
	return (uint16_t)(r->be ? p[0] << 8 | p[1] : p[1] << 8 | p[0]);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int fail(rd_t *r, const char *what)
{
	snprintf(r->err, r->errlen, "%s#%lu: %s", r->path, r->frame, what);
	return -1;
}

static const char *iface_link(rd_t *r, int ifc)
{
	return r->name[ifc] ? r->name[ifc] : "capture";
}

/* Append to a growing buffer. */
static int append(uint8_t **buf, size_t *n, const uint8_t *p, size_t k)
{
	uint8_t *b = realloc(*buf, *n + k + 1);

	if (!b)
		return -1;
	memcpy(b + *n, p, k);
	*buf = b, *n += k;
	return 0;
}

/* A whole APDU from one side: a command waits for its answer. */
static int apdu_seen(rd_t *r, int ifc, int to_card, const uint8_t *p, size_t n, int64_t ts)
{
	if (to_card) {
		if (r->pend[ifc] && trc_add(r->t, r->role, iface_link(r, ifc), r->pend[ifc], r->pendn[ifc], NULL, 0,
					    r->pend_at[ifc], r->pend_t[ifc]) < 0)
			return fail(r, "out of memory");
		free(r->pend[ifc]);
		r->pend[ifc] = NULL, r->pendn[ifc] = 0;
		if (n < 4)
			return 0; /* not an APDU (a reader's own frame) */
		if (append(&r->pend[ifc], &r->pendn[ifc], p, n) < 0)
			return fail(r, "out of memory");
		snprintf(r->pend_at[ifc], sizeof r->pend_at[ifc], "frame %lu", r->frame);
		r->pend_t[ifc] = ts;
		return 0;
	}
	if (!r->pend[ifc])
		return 0; /* an answer to nothing we saw (capture started late) */
	if (trc_add(r->t, r->role, iface_link(r, ifc), r->pend[ifc], r->pendn[ifc], p, n, r->pend_at[ifc],
		    r->pend_t[ifc]) < 0)
		return fail(r, "out of memory");
	free(r->pend[ifc]);
	r->pend[ifc] = NULL, r->pendn[ifc] = 0;
	return 0;
}

static int event_seen(rd_t *r, int ifc, const char *ev)
{
	char at[48];

	snprintf(at, sizeof at, "frame %lu", r->frame);
	free(r->pend[ifc]);
	r->pend[ifc] = NULL, r->pendn[ifc] = 0;
	return trc_add_event(r->t, r->role, iface_link(r, ifc), ev, at) < 0 ? fail(r, "out of memory") : 0;
}

/* An ISO 14443-4 I-block's INF, chained blocks joined (chaining bit 10). */
static int iso_block(rd_t *r, int ifc, int to_card, const uint8_t *b, size_t n, int crc, int64_t ts)
{
	uint8_t pcb;
	size_t off = 1;
	int d = to_card ? 0 : 1;

	if (crc) {
		if (n < 3)
			return 0;
		n -= 2;
	}
	if (n < 1)
		return 0;
	pcb = b[0];
	if ((pcb & 0xE2) != 0x02)
		return 0; /* R-, S-blocks and ISO 14443-3 frames carry no APDU */
	off += (pcb & 0x08) ? 1 : 0; /* CID */
	off += (pcb & 0x04) ? 1 : 0; /* NAD */
	if (off > n || append(&r->chain[ifc][d], &r->chainn[ifc][d], b + off, n - off) < 0)
		return off > n ? 0 : fail(r, "out of memory");
	if (pcb & 0x10)
		return 0; /* more to come */
	{
		int rc = apdu_seen(r, ifc, to_card, r->chain[ifc][d], r->chainn[ifc][d], ts);
		free(r->chain[ifc][d]);
		r->chain[ifc][d] = NULL, r->chainn[ifc][d] = 0;
		return rc;
	}
}

static int iso14443_packet(rd_t *r, int ifc, const uint8_t *p, size_t n, int64_t ts)
{
	size_t len;

	if (n < 4 || p[0] != 0)
		return n < 4 ? fail(r, "ISO 14443 packet shorter than its pseudo-header")
			     : fail(r, "ISO 14443 pseudo-header version is not 00");
	len = (size_t)p[2] << 8 | p[3];
	if (len > n - 4)
		return fail(r, "ISO 14443 length field past the packet's end");
	switch (p[1]) {
	case 0xFE: return iso_block(r, ifc, 1, p + 4, len, 1, ts);
	case 0xFF: return iso_block(r, ifc, 0, p + 4, len, 1, ts);
	case 0xFA: return iso_block(r, ifc, 1, p + 4, len, 0, ts);
	case 0xFB: return iso_block(r, ifc, 0, p + 4, len, 0, ts);
	case 0xFC: return event_seen(r, ifc, "power cold");
	case 0xFD: return event_seen(r, ifc, "power off");
	default: return 0;
	}
}

/* A CCID message from the host (out) or the reader (in). */
static int ccid_message(rd_t *r, int ifc, int out, const uint8_t *m, size_t n, int64_t ts)
{
	size_t len;

	if (n < 10)
		return 0;
	len = le32(m + 1);
	if (len > n - 10)
		len = n - 10; /* captured short (snap length): what there is */
	if (out) {
		r->ccid_pend_type[ifc] = m[0];
		if (m[0] == CCID_XFR_BLOCK)
			return apdu_seen(r, ifc, 1, m + 10, len, ts);
		if (m[0] == CCID_POWER_ON)
			return event_seen(r, ifc, "power cold");
		if (m[0] == CCID_POWER_OFF)
			return event_seen(r, ifc, "power off");
		return 0;
	}
	if (m[0] != CCID_DATA_BLOCK || r->ccid_pend_type[ifc] != CCID_XFR_BLOCK)
		return 0; /* an ATR, a slot status */
	if ((m[7] & 0xC0) == 0x80)
		return 0; /* time extension: the answer follows */
	if (m[7] & 0x40) { /* command failed: the card did not answer */
		if (r->pend[ifc] && trc_add(r->t, r->role, iface_link(r, ifc), r->pend[ifc], r->pendn[ifc], NULL, 0,
					    r->pend_at[ifc], r->pend_t[ifc]) < 0)
			return fail(r, "out of memory");
		free(r->pend[ifc]);
		r->pend[ifc] = NULL, r->pendn[ifc] = 0;
		return 0;
	}
	return apdu_seen(r, ifc, 0, m + 10, len, ts);
}

/* Bulk transfers with data, from the three USB link types. */
static int usb_packet(rd_t *r, int ifc, uint16_t lt, const uint8_t *p, size_t n, int64_t ts)
{
	size_t hl;
	int out;

	if (lt == LT_USBPCAP) {
		if (n < 27)
			return 0;
		hl = (size_t)(p[1] << 8 | p[0]);
		if (hl > n || p[22] != 3)
			return 0; /* not bulk */
		out = !(p[21] & 0x80);
		if ((p[16] & 1) == out)
			return 0; /* OUT data rides the request, IN data the completion */
	} else {
		hl = lt == LT_USB_MMAPPED ? 64 : 48;
		if (n < hl || p[9] != 3)
			return 0;
		out = !(p[10] & 0x80);
		if (p[8] != (out ? 'S' : 'C'))
			return 0;
	}
	return ccid_message(r, ifc, out, p + hl, n - hl, ts);
}

static int packet(rd_t *r, int ifc, const uint8_t *p, size_t n, int64_t ts)
{
	r->frame++;
	if (ifc < 0 || ifc >= r->nif)
		return fail(r, "packet of an undeclared interface");
	switch (r->lt[ifc]) {
	case LT_ISO14443: return iso14443_packet(r, ifc, p, n, ts);
	case LT_USB_LINUX:
	case LT_USB_MMAPPED:
	case LT_USBPCAP: return usb_packet(r, ifc, r->lt[ifc], p, n, ts);
	default: return 0; /* another link type: not ours to read */
	}
}

static int add_iface(rd_t *r, uint16_t lt, int64_t mul, const char *name)
{
	if (r->nif == MAX_IFACES)
		return fail(r, "more than 16 interfaces");
	r->lt[r->nif] = lt;
	r->tsmul[r->nif] = mul;
	r->name[r->nif] = name ? strdup(name) : NULL;
	r->nif++;
	return 0;
}

/* The options of an IDB: if_name and if_tsresol. */
static int idb(rd_t *r, const uint8_t *b, size_t n)
{
	char name[256] = "";
	int64_t mul = 1000; /* default resolution: microseconds */

	if (n < 8)
		return fail(r, "interface block too short");
	for (size_t o = 8; o + 4 <= n;) {
		uint16_t code = get16(r, b + o), len = get16(r, b + o + 2);
		if (code == 0 || o + 4 + len > n)
			break;
		if (code == 2 && len < sizeof name) {
			memcpy(name, b + o + 4, len);
			name[len] = 0;
		} else if (code == 9 && len >= 1 && !(b[o + 4] & 0x80)) {
			mul = 1;
			for (int k = b[o + 4]; k < 9; k++)
				mul *= 10;
		}
		o += 4 + len + (4u - len % 4) % 4;
	}
	return add_iface(r, get16(r, b), mul, *name ? name : NULL);
}

static int read_pcapng(rd_t *r, const uint8_t *buf, size_t n)
{
	size_t o = 0;

	while (o + 12 <= n) {
		uint32_t type, len;

		if (le32(buf + o) == 0x0A0D0D0A) { /* a section: its own byte order, interfaces */
			if (o + 12 > n)
				break;
			r->be = le32(buf + o + 8) != 0x1A2B3C4D;
			if (r->be && buf[o + 8] != 0x1A)
				return fail(r, "section header with a bad byte-order magic");
			r->nif = 0;
		}
		type = get32(r, buf + o);
		len = get32(r, buf + o + 4);
		if (len < 12 || len % 4 || len > n - o)
			return fail(r, "a block's length runs past the end of the file (truncated?)");
		if (type == 1 && idb(r, buf + o + 8, len - 12) < 0)
			return -1;
		if (type == 6 || type == 3) {
			const uint8_t *b = buf + o + 8;
			int ifc = type == 6 ? (int)get32(r, b) : 0;
			size_t hl = type == 6 ? 20 : 4, cap = get32(r, b + (type == 6 ? 12 : 0));
			uint64_t ticks = type == 6 ? (uint64_t)get32(r, b + 4) << 32 | get32(r, b + 8) : 0;

			if (type == 3)
				cap = len - 16;
			if (hl + cap > len - 12)
				return fail(r, "a packet's length runs past its block");
			if (packet(r, ifc, b + hl, cap,
				   ifc >= 0 && ifc < r->nif ? (int64_t)ticks * r->tsmul[ifc] : 0) < 0)
				return -1;
		}
		o += len;
	}
	return o == n ? 0 : fail(r, "the file ends inside a block (truncated?)");
}

static int read_pcap(rd_t *r, const uint8_t *buf, size_t n)
{
	uint32_t magic = le32(buf);
	int64_t mul = magic == 0xA1B23C4D || magic == 0x4D3CB2A1 ? 1 : 1000;
	size_t o = 24;

	r->be = magic == 0xD4C3B2A1 || magic == 0x4D3CB2A1;
	if (add_iface(r, (uint16_t)get32(r, buf + 20), mul, NULL) < 0)
		return -1;
	while (o + 16 <= n) {
		uint32_t cap = get32(r, buf + o + 8);
		int64_t ts = (int64_t)get32(r, buf + o) * 1000000000 + (int64_t)get32(r, buf + o + 4) * mul;
		if (cap > n - o - 16)
			return fail(r, "a packet runs past the end of the file (truncated?)");
		if (packet(r, 0, buf + o + 16, cap, ts) < 0)
			return -1;
		o += 16 + cap;
	}
	return o == n ? 0 : fail(r, "the file ends inside a packet header (truncated?)");
}

int trc_pcap_sniff(const uint8_t *h, size_t n)
{
	uint32_t m = n >= 4 ? le32(h) : 0;

	return m == 0x0A0D0D0A || m == 0xA1B2C3D4 || m == 0xD4C3B2A1 || m == 0xA1B23C4D || m == 0x4D3CB2A1;
}

int trc_pcap_load(trc_t *t, const char *path, const uint8_t *buf, size_t n, const char *role, char *err,
		  size_t errlen)
{
	rd_t *r = calloc(1, sizeof *r);
	int rc;

	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	r->t = t, r->path = path, r->role = role, r->err = err, r->errlen = errlen;
	if (n < 24 || !trc_pcap_sniff(buf, n))
		rc = fail(r, "not a pcap or pcapng file");
	else
		rc = le32(buf) == 0x0A0D0D0A ? read_pcapng(r, buf, n) : read_pcap(r, buf, n);
	for (int i = 0; i < MAX_IFACES; i++) {
		if (rc == 0 && r->pend[i] && i < r->nif)
			rc = trc_add(t, role, iface_link(r, i), r->pend[i], r->pendn[i], NULL, 0, r->pend_at[i],
				     r->pend_t[i]); /* the capture ended before the answer */
		free(r->pend[i]), free(r->name[i]), free(r->chain[i][0]), free(r->chain[i][1]);
	}
	free(r);
	return rc;
}
