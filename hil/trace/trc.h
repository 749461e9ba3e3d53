/* trc.h — traces as data: load, import, export, compare (docs/traces.md).
 *
 * A trace is a list of records, one per exchange (a command and the
 * card's answer) or event (power, tear), each with the role and link it
 * went through.  Our own format is the JSON lines `mynahil run` writes
 * (hil/base/trace.c: {"n","link","role","cmd","rsp"} or "event"); the
 * importers read what field engineers attach — an OpenSC debug log, a
 * pcsc-spy log, a pcapng of ISO 7816 over ISO 14443 or USB CCID — into
 * the same records, each remembering where in its file it came from
 * ("at": FILE:LINE or FILE#FRAME), so a divergence found later points
 * back into the capture. */
#ifndef TRC_H
#define TRC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "sim/core/sim.h"

typedef struct trc_rec {
	char *role;      /* "card", "se"; NULL when the source does not say */
	char *link;      /* the link URI, or what the capture names (a reader) */
	char *event;     /* non-NULL: "power cold", "tear ..." (no cmd/rsp) */
	uint8_t *cmd;    /* the command as sent (the wrapped one under SCP03) */
	size_t cn;
	uint8_t *rsp;    /* data || SW; NULL: no answer (mute) */
	size_t rn;
	char *at;        /* where it came from: "line 123", "frame 7" */
	char *plain;     /* hex of the plain command under SCP03, when known */
	int64_t t_ns;    /* capture time, ns (0: unknown); never compared */
} trc_rec_t;

typedef struct trc {
	trc_rec_t *v;
	size_t n, cap;
} trc_t;

void trc_free(trc_t *t);
/* A record's power event ("power off|cold|warm") as what link_power
 * takes into *how: 1, or 0 for any other event. */
int trc_power_event(const char *event, enum sim_power *how);
/* Append a copy; rsp NULL = no answer.  -1 on ENOMEM. */
int trc_add(trc_t *t, const char *role, const char *link, const uint8_t *cmd, size_t cn,
	    const uint8_t *rsp, size_t rn, const char *at, int64_t t_ns);
int trc_add_event(trc_t *t, const char *role, const char *link, const char *event, const char *at);

/* Our JSON lines.  -1 with err "FILE:LINE: what". */
int trc_load_jsonl(trc_t *t, const char *path, char *err, size_t errlen);
/* Write t as our JSON lines (n renumbered from 1); path "-": stdout. */
int trc_write_jsonl(const trc_t *t, const char *path, char *err, size_t errlen);

/* ---- importers (trc_import.c, trc_pcap.c) ---- */

typedef struct trc_importer {
	const char *name;  /* "opensc", "pcsc-spy", "pcapng", "jsonl" */
	/* 1 if the first bytes look like this format */
	int (*sniff)(const uint8_t *head, size_t n);
	/* The whole file (NUL-terminated buffer) into t; -1 with err
	 * "FILE:LINE: what".  role names the card side ("card"). */
	int (*load)(trc_t *t, const char *path, const uint8_t *buf, size_t n, const char *role,
		    char *err, size_t errlen);
} trc_importer_t;

/* The importer called name, or the one whose sniff takes the file when
 * name is NULL; NULL if none (err says which formats there are). */
const trc_importer_t *trc_importer(const char *name, const uint8_t *head, size_t n, char *err, size_t errlen);
/* "opensc, pcsc-spy, pcapng, jsonl" */
const char *trc_formats(void);
/* Read path in its format (NULL: sniffed) into t. */
int trc_import(trc_t *t, const char *path, const char *format, const char *role, char *err, size_t errlen);

/* ---- pcapng (trc_pcap.c) ---- */

enum trc_pcap_kind { TRC_PCAP_ISO14443, TRC_PCAP_USBCCID };
typedef struct trc_pcap trc_pcap_t;
/* A pcapng writer: one interface per role, added as roles come. */
trc_pcap_t *trc_pcap_open(const char *path, enum trc_pcap_kind kind);
/* The interface of role (created and named "role link" when new). */
int trc_pcap_iface(trc_pcap_t *p, const char *role, const char *link);
void trc_pcap_exchange(trc_pcap_t *p, int iface, const uint8_t *cmd, size_t cn, const uint8_t *rsp,
		       size_t rn, int64_t t_cmd_ns, int64_t t_rsp_ns);
/* Power: the RF field off (FD) / on (FC) events of the pseudo-header. */
void trc_pcap_field(trc_pcap_t *p, int iface, int on, int64_t t_ns);
/* 0, or -1 if anything failed to be written. */
int trc_pcap_close(trc_pcap_t *p);
/* A whole trace as pcapng, times from the records (or 1 ms apart). */
int trc_export_pcapng(const trc_t *t, const char *path, enum trc_pcap_kind kind, char *err, size_t errlen);

/* ---- comparing (trc_mask.c) ---- */

/* What legitimately varies between two runs of the same commands. */
enum {
	TRC_MASK_CHALLENGE = 1,  /* GET CHALLENGE data; SCP03 host and card challenges */
	TRC_MASK_CRYPTOGRAM = 2, /* SCP03 card and host cryptograms (and the sequence counter) */
	TRC_MASK_MAC = 4,        /* C-MAC of SM commands, R-MAC */
	TRC_MASK_SIGNATURE = 8,  /* data of signature and INTERNAL AUTHENTICATE responses */
	TRC_MASK_SM = 16,        /* the whole data field of SM commands (it follows the session keys) */
	TRC_MASK_ALL = 31,
};
/* "challenge,mac" into *mask; -1 with err naming the typo and the names. */
int trc_mask_parse(const char *spec, unsigned *mask, char *err, size_t errlen);
/* Equal commands, masked bytes aside. */
int trc_cmd_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, unsigned mask);
/* Equal responses to command cmd, masked bytes aside. */
int trc_rsp_eq(const uint8_t *cmd, size_t cn, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
	       unsigned mask);
/* The masks' names, for messages: "challenge, cryptogram, mac, signature, sm, all". */
const char *trc_mask_names(void);

#endif
