/* trc_live.h — a scenario's trace, annotated and copied as it is written
 * (trc_live.c): roles, SCP03 plain commands, the pcapng copy. */
#ifndef TRC_LIVE_H
#define TRC_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "hil/base/trace.h"
#include "hil/trace/trc.h"
#include "sim/gp/scp03.h"

typedef struct trc_live trc_live_t;

typedef struct trc_live_cfg {
	const char *const *roles;   /* roles[i] is bound to uris[i] */
	const char *const *uris;
	size_t nroles;
	const scp03_keyset_t *keys; /* the SCP03 key sets the harness knows */
	size_t nkeys;
	const char *pcapng;         /* NULL: no pcapng copy */
	enum trc_pcap_kind pcap_kind;
	int64_t (*sent_ns)(void);   /* monotonic ns of the last command sent (the
				     * link layer's stamp); NULL: the record's time */
} trc_live_cfg_t;

/* Attach to t (a NULL t is left alone).  The tap frees itself when t is
 * closed.  -1 with err when the pcapng file cannot be created. */
int trc_live_attach(trace_t *t, const trc_live_cfg_t *cfg, char *err, size_t errlen);

/* The fixtures' ISD key set (KVN 30, the GP test key 40..4F: fixtures/se/
 * default.lua), which the simulated TSM uses for every SE. */
void trc_fixture_keys(scp03_keyset_t *k);

#endif
