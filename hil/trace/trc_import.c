/* trc_import.c — what field engineers attach, into trace records.
 *
 * - OpenSC debug logs (OPENSC_DEBUG=9 or debug = 9 in opensc.conf): the
 *   "Outgoing APDU (N bytes):" / "Incoming APDU (N bytes):" blocks of
 *   reader-pcsc.c, each followed by a hex dump of 16 bytes a line with an
 *   ASCII column; OpenSC before 0.20 wrote "Outgoing APDU data [ N bytes]
 *   =====" blocks closed by a rule, read too.  The reader named by the
 *   "pcsc_transmit: reader '...'" line before a block is the record's link.
 *   Blocks of several processes or threads in one file are paired by
 *   their "P:pid; T:thread" prefix.
 * - pcsc-spy, as pcsc-spy prints it (pcsc-spy -n, with or without -t;
 *   colours stripped): SCardTransmit's bSendBuffer and bRecvBuffer hex
 *   dumps, lengths from bSendLength/bRecvLength; an SCardReconnect that
 *   resets or unpowers the card is an event.  And the raw log libpcscspy
 *   writes into its FIFO (`cat ~/pcsc-spy > FILE`): "TID@>|sec|usec|NAME",
 *   one argument a line, "<|sec|usec|NAME|text|rv".
 * - pcapng or pcap (trc_pcap.c), and our own JSON lines.
 *
 * The counts in the headers are trusted over the dumps: a dump that
 * gives fewer bytes than its header says is an error at its line. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hil/trace/trc.h"
#include "sim/core/apdu.h"

/* trc_pcap.c */
int trc_pcap_sniff(const uint8_t *h, size_t n);
int trc_pcap_load(trc_t *t, const char *path, const uint8_t *buf, size_t n, const char *role, char *err,
		  size_t errlen);

#define MAX_STREAMS 32

/* A text file as lines, in place (each NUL-terminated, CR dropped). */
typedef struct lines {
	char *p, *end;
	unsigned long no;
} lines_t;

static char *next_line(lines_t *l)
{
	char *s = l->p, *nl;

	if (s >= l->end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(l->end - s));
	if (nl) {
		*nl = 0;
		l->p = nl + 1;
	} else {
		l->p = l->end;
	}
	if (nl && nl > s && nl[-1] == '\r')
		nl[-1] = 0;
	l->no++;
	return s;
}

/* Up to max bytes of "XX XX XX" at s into out; returns how many. */
static size_t dump_bytes(const char *s, uint8_t *out, size_t max)
{
	size_t k = 0;

	while (k < max && apdu_hexval((unsigned char)s[0]) >= 0 && apdu_hexval((unsigned char)s[1]) >= 0 &&
	       (s[2] == ' ' || s[2] == 0 || s[2] == '\t')) {
		out[k++] = (uint8_t)(apdu_hexval((unsigned char)s[0]) << 4 | apdu_hexval((unsigned char)s[1]));
		s += s[2] ? 3 : 2;
	}
	return k;
}

static int bad(char *err, size_t errlen, const char *path, unsigned long no, const char *what)
{
	snprintf(err, errlen, "%s:%lu: %s", path, no, what);
	return -1;
}

/* ---- OpenSC ---- */

typedef struct stream {
	char key[64];     /* "P:123; T:0x..." */
	char reader[128];
	uint8_t *cmd;
	size_t cn;
	char at[32];
} stream_t;

static stream_t *stream_of(stream_t *s, size_t *n, const char *key)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(s[i].key, key))
			return &s[i];
	if (*n == MAX_STREAMS)
		return &s[0];
	memset(&s[*n], 0, sizeof s[0]);
	snprintf(s[*n].key, sizeof s[0].key, "%s", key);
	return &s[(*n)++];
}

/* "Outgoing APDU (12 bytes):" or "Outgoing APDU data [   12 bytes] ====":
 * 1 = out, 2 = in, with *len; 0 otherwise. */
static int opensc_header(const char *s, size_t *len)
{
	int dir = !strncmp(s, "Outgoing APDU", 13) ? 1 : !strncmp(s, "Incoming APDU", 13) ? 2 : 0;
	const char *p = s + 13;
	unsigned long v;
	char *end;

	if (!dir)
		return 0;
	p += strspn(p, " ");
	if (!strncmp(p, "data", 4))
		p += 4 + strspn(p + 4, " ");
	if (*p != '(' && *p != '[')
		return 0;
	p++;
	v = strtoul(p, &end, 10);
	if (end == p || strncmp(end + strspn(end, " "), "byte", 4))
		return 0;
	*len = (size_t)v;
	return dir;
}

static int opensc_load(trc_t *t, const char *path, const uint8_t *buf, size_t n, const char *role, char *err,
		       size_t errlen)
{
	lines_t l = { (char *)buf, (char *)buf + n, 0 };
	stream_t *st = calloc(MAX_STREAMS, sizeof *st);
	size_t nst = 0;
	char key[64] = "", reader[128] = "", *s;
	uint8_t *data = NULL;
	int rc = 0;

	if (!st)
		return bad(err, errlen, path, 0, "out of memory");
	while (rc == 0 && (s = next_line(&l))) {
		size_t len, got = 0;
		unsigned long hdr = l.no;
		int dir;
		stream_t *cur;
		char *r;

		if (!strncmp(s, "P:", 2)) { /* "P:24787; T:0x1401... 06:43:48.191 [tool] file:line:func: msg" */
			size_t k = strcspn(s, " ");
			k += strcspn(s + k + 1, " ") + 1;
			snprintf(key, sizeof key, "%.*s", (int)k, s);
			if ((r = strstr(s, "pcsc_transmit: reader '")) != NULL) {
				r += 23;
				snprintf(reader, sizeof reader, "%.*s", (int)strcspn(r, "'"), r);
				snprintf(stream_of(st, &nst, key)->reader, sizeof reader, "%s", reader);
			}
			continue;
		}
		if (!(dir = opensc_header(s, &len)))
			continue;
		if (len > 65536 + 10) {
			rc = bad(err, errlen, path, hdr, "APDU longer than 65546 bytes");
			break;
		}
		free(data);
		if (!(data = malloc(len + 1))) {
			rc = bad(err, errlen, path, hdr, "out of memory");
			break;
		}
		while (got < len && (s = next_line(&l))) {
			size_t k = dump_bytes(s, data + got, len - got < 16 ? len - got : 16);
			if (!k)
				break;
			got += k;
		}
		if (got < len) {
			char why[96];
			snprintf(why, sizeof why, "the dump gives %zu of the %zu bytes its header announces", got, len);
			rc = bad(err, errlen, path, hdr, why);
			break;
		}
		cur = stream_of(st, &nst, key);
		if (dir == 1) {
			free(cur->cmd);
			cur->cmd = data, cur->cn = len, data = NULL;
			snprintf(cur->at, sizeof cur->at, "line %lu", hdr);
		} else if (cur->cmd) {
			char link[160];
			snprintf(link, sizeof link, "opensc:%s", cur->reader[0] ? cur->reader : "reader");
			if (trc_add(t, role, link, cur->cmd, cur->cn, data, len, cur->at, 0) < 0)
				rc = bad(err, errlen, path, hdr, "out of memory");
			free(cur->cmd);
			cur->cmd = NULL;
		}
	}
	free(data);
	for (size_t i = 0; i < nst; i++)
		free(st[i].cmd);
	free(st);
	return rc;
}

static int opensc_sniff(const uint8_t *h, size_t n)
{
	(void)n;
	return strstr((const char *)h, "\nOutgoing APDU") != NULL || !strncmp((const char *)h, "Outgoing APDU", 13);
}

/* ---- pcsc-spy, decoded ---- */

/* A line without ANSI colour sequences and without -t's thread prefix,
 * in place. */
static char *spy_clean(char *s)
{
	char *o = s, *i = s;

	while (*i) {
		if (*i == '\033' && i[1] == '[') {
			i += 2;
			while (*i && !isalpha((unsigned char)*i))
				i++;
			if (*i)
				i++;
			continue;
		}
		*o++ = *i++;
	}
	*o = 0;
	if (s[0] == '(') { /* -t: "(1) SCardTransmit" */
		char *close = strchr(s, ')');
		if (close && close[1] == ' ')
			return close + 2;
	}
	return s;
}

/* "bSendLength 0x0000000C (12)" -> 12 */
static long spy_len(const char *s)
{
	const char *paren = strrchr(s, '(');
	return paren ? strtol(paren + 1, NULL, 10) : -1;
}

/* The hex dump that follows a " i bSendBuffer" line: lines " i  0000 XX ..". */
static long spy_dump(lines_t *l, uint8_t *out, size_t len)
{
	size_t got = 0;
	char *save, *s;

	while (got < len) {
		save = l->p;
		unsigned long no = l->no;
		if (!(s = next_line(l)))
			break;
		s = spy_clean(s);
		s += strspn(s, " ");
		if ((s[0] == 'i' || s[0] == 'o') && s[1] == ' ')
			s += 2 + strspn(s + 2, " ");
		if (strspn(s, "0123456789ABCDEFabcdef") != 4 || s[4] != ' ') {
			l->p = save, l->no = no;
			break;
		}
		got += dump_bytes(s + 5, out + got, len - got < 16 ? len - got : 16);
	}
	return (long)got;
}

static int spy_text_load(trc_t *t, const char *path, lines_t *l, const char *role, char *err, size_t errlen)
{
	static uint8_t cmd[65536 + 16], rsp[65536 + 16];
	long cn = -1, rn = -1, slen = -1, rlen = -1;
	int in_transmit = 0, in_reconnect = 0, rc = 0;
	unsigned long start = 0;
	char at[32], *s;

	while (rc == 0 && (s = next_line(l))) {
		s = spy_clean(s);
		if (!strncmp(s, "SCardTransmit", 13) && !s[13]) {
			in_transmit = 1, in_reconnect = 0;
			cn = rn = slen = rlen = -1;
			start = l->no;
			continue;
		}
		if (!strncmp(s, "SCardReconnect", 14) && !s[14]) {
			in_reconnect = 1, in_transmit = 0;
			continue;
		}
		if (s[0] != ' ') {
			in_transmit = in_reconnect = 0;
			continue;
		}
		if (in_reconnect && strstr(s, "dwInitialization")) {
			snprintf(at, sizeof at, "line %lu", l->no);
			if (strstr(s, "SCARD_UNPOWER_CARD") || strstr(s, "SCARD_RESET_CARD"))
				rc = trc_add_event(t, role, "pcsc-spy", strstr(s, "UNPOWER") ? "power cold" : "power warm", at);
			continue;
		}
		if (!in_transmit)
			continue;
		if (strstr(s, "bSendLength"))
			slen = spy_len(s);
		else if (strstr(s, "bRecvLength"))
			rlen = spy_len(s);
		else if (strstr(s, "bSendBuffer") && slen >= 0 && slen <= (long)sizeof cmd)
			cn = spy_dump(l, cmd, (size_t)slen);
		else if (strstr(s, "bRecvBuffer") && rlen >= 0 && rlen <= (long)sizeof rsp)
			rn = spy_dump(l, rsp, (size_t)rlen);
		else if (!strncmp(s, " => ", 4)) {
			int ok = strstr(s, "SCARD_S_SUCCESS") != NULL;
			in_transmit = 0;
			if (cn < 0 || cn != slen)
				return bad(err, errlen, path, start, "SCardTransmit without a whole bSendBuffer");
			if (ok && (rn < 0 || rn != rlen))
				return bad(err, errlen, path, start, "SCardTransmit without a whole bRecvBuffer");
			snprintf(at, sizeof at, "line %lu", start);
			if (trc_add(t, role, "pcsc-spy", cmd, (size_t)cn, ok ? rsp : NULL, ok ? (size_t)rn : 0, at, 0) < 0)
				rc = bad(err, errlen, path, start, "out of memory");
		}
	}
	return rc;
}

/* ---- pcsc-spy, the raw FIFO log ---- */

typedef struct spy_thread {
	char tid[32];
	int transmit;       /* inside SCardTransmit */
	int arg;            /* arguments read since '>' */
	uint8_t *cmd, *rsp;
	size_t cn, rn;
	unsigned long start;
} spy_thread_t;

static long raw_hex(const char *s, uint8_t **out)
{
	size_t n = strlen(s);
	long k;

	free(*out);
	if (!(*out = malloc(n / 3 + 2)))
		return -1;
	k = (long)dump_bytes(s, *out, n / 2 + 1);
	return k;
}

static int spy_raw_load(trc_t *t, const char *path, lines_t *l, const char *role, char *err, size_t errlen)
{
	spy_thread_t th[MAX_STREAMS];
	size_t nth = 0;
	int rc = 0;
	char *s;

	memset(th, 0, sizeof th);
	while (rc == 0 && (s = next_line(l))) {
		char *at_sign = strchr(s, '@'), *body = s, tid[32] = "";
		spy_thread_t *c = NULL;

		if (at_sign && (at_sign[1] == '>' || at_sign[1] == '<' || strspn(s, "0123456789ABCDEFabcdefx") == (size_t)(at_sign - s))) {
			snprintf(tid, sizeof tid, "%.*s", (int)(at_sign - s), s);
			body = at_sign + 1;
		}
		for (size_t i = 0; i < nth; i++)
			if (!strcmp(th[i].tid, tid))
				c = &th[i];
		if (!c) {
			if (nth == MAX_STREAMS)
				return bad(err, errlen, path, l->no, "more than 32 threads");
			c = &th[nth++];
			snprintf(c->tid, sizeof c->tid, "%s", tid);
		}
		if (body[0] == '>' && body[1] == '|') {
			c->transmit = strstr(body, "|SCardTransmit") != NULL;
			c->arg = 0;
			c->start = l->no;
			continue;
		}
		if (body[0] == '<' && body[1] == '|') {
			if (c->transmit && strstr(body, "|SCardTransmit|")) {
				const char *rv = strrchr(body, '|') + 1;
				int ok = !strcmp(rv, "0x00000000");
				char at[32];
				if (!c->cmd)
					rc = bad(err, errlen, path, c->start, "SCardTransmit without its send buffer");
				snprintf(at, sizeof at, "line %lu", c->start);
				if (rc == 0 && trc_add(t, role, "pcsc-spy", c->cmd, c->cn, ok ? c->rsp : NULL, ok ? c->rn : 0, at, 0) < 0)
					rc = bad(err, errlen, path, c->start, "out of memory");
				free(c->cmd), free(c->rsp);
				c->cmd = c->rsp = NULL;
			}
			c->transmit = 0;
			continue;
		}
		if (!c->transmit)
			continue;
		/* hCard, dwProtocol, cbPciLength, bSendLength, SEND, dwProtocol, cbPciLength, bRecvLength, RECV */
		c->arg++;
		if (c->arg == 5 && raw_hex(body, &c->cmd) >= 0)
			c->cn = strlen(body) / 3;
		if (c->arg == 9 && raw_hex(body, &c->rsp) >= 0)
			c->rn = strlen(body) / 3;
	}
	for (size_t i = 0; i < nth; i++)
		free(th[i].cmd), free(th[i].rsp);
	return rc;
}

static int spy_load(trc_t *t, const char *path, const uint8_t *buf, size_t n, const char *role, char *err,
		    size_t errlen)
{
	lines_t l = { (char *)buf, (char *)buf + n, 0 };
	const char *b = (const char *)buf;

	if (!strncmp(b, ">|", 2) || (strstr(b, "@>|") && strstr(b, "@>|") < strchr(b, '\n')))
		return spy_raw_load(t, path, &l, role, err, errlen);
	return spy_text_load(t, path, &l, role, err, errlen);
}

static int spy_sniff(const uint8_t *h, size_t n)
{
	const char *b = (const char *)h, *nl = strchr(b, '\n');

	(void)n;
	return !strncmp(b, ">|", 2) || (strstr(b, "@>|") && (!nl || strstr(b, "@>|") < nl)) ||
	       strstr(b, "bSendBuffer") != NULL;
}

/* ---- ours ---- */

static int jsonl_sniff(const uint8_t *h, size_t n)
{
	size_t i = 0;

	while (i < n && isspace(h[i]))
		i++;
	return i < n && h[i] == '{';
}

static int jsonl_load(trc_t *t, const char *path, const uint8_t *buf, size_t n, const char *role, char *err,
		      size_t errlen)
{
	(void)buf, (void)n, (void)role; /* our traces say their roles themselves */
	return trc_load_jsonl(t, path, err, errlen);
}

static const trc_importer_t importers[] = {
	{ "pcapng", trc_pcap_sniff, trc_pcap_load },
	{ "jsonl", jsonl_sniff, jsonl_load },
	{ "opensc", opensc_sniff, opensc_load },
	{ "pcsc-spy", spy_sniff, spy_load },
};

const char *trc_formats(void)
{
	return "opensc, pcsc-spy, pcapng (or pcap: ISO 14443, USB CCID), jsonl";
}

const trc_importer_t *trc_importer(const char *name, const uint8_t *head, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof importers / sizeof importers[0]; i++)
		if (name ? !strcmp(name, importers[i].name) || (!strcmp(name, "pcap") && i == 0)
			 : importers[i].sniff(head, n))
			return &importers[i];
	if (name)
		snprintf(err, errlen, "unknown trace format '%s' (the formats: %s)", name, trc_formats());
	else
		snprintf(err, errlen, "not a trace of a known format (%s); name one with --format", trc_formats());
	return NULL;
}

/* The whole file, NUL-terminated, however large: an OpenSC log at level 9
 * of a long session runs to hundreds of megabytes. */
static int read_all(const char *path, uint8_t **out, size_t *n)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, len = 0, got;
	uint8_t *b = malloc(cap), *nb;

	if (!f || !b) {
		free(b);
		if (f)
			fclose(f);
		return -1;
	}
	while ((got = fread(b + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (len + 1 == cap) {
			if (!(nb = realloc(b, cap * 2))) {
				free(b);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			b = nb, cap *= 2;
		}
	}
	if (ferror(f)) {
		free(b);
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	b[len] = 0;
	*out = b, *n = len;
	return 0;
}

int trc_import(trc_t *t, const char *path, const char *format, const char *role, char *err, size_t errlen)
{
	const trc_importer_t *imp;
	uint8_t *buf;
	size_t n;
	char why[300];
	int rc;

	if (read_all(path, &buf, &n) < 0) {
		snprintf(err, errlen, "%s: cannot read (%s)", path, strerror(errno));
		return -1;
	}
	if (!(imp = trc_importer(format, buf, n, why, sizeof why))) {
		snprintf(err, errlen, "%s: %s", path, why);
		free(buf);
		return -1;
	}
	rc = imp->load(t, path, buf, n, role, err, errlen);
	free(buf);
	if (rc == 0 && t->n == 0) {
		snprintf(err, errlen, "%s: no APDU exchange found in it (read as %s)", path, imp->name);
		rc = -1;
	}
	return rc;
}
