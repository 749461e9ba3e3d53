/* trc_live.c — what a scenario's trace gets beyond the bare exchange.
 *
 * A tap on the JSON-lines trace (hil/base/trace.h) that
 *  - names the role of the link of each record ("role":"card"),
 *  - follows SCP03 sessions with the key sets the harness knows, as an
 *    observer on the card's side: INITIALIZE UPDATE's answer (the card
 *    challenge given, so no card secret is needed but the static keys)
 *    and EXTERNAL AUTHENTICATE open a session, each wrapped command of it
 *    is checked and decrypted, and its plain form goes beside the wrapped
 *    one ("plain":"80E2...").  A key set that does not give the card's
 *    cryptogram is not the card's: the session stays opaque;
 *  - with a pcapng path, writes every record there too, with the
 *    monotonic time of the command and of the answer: the lossless trace
 *    (one interface per role).  The JSON lines stay time-free. */
#include <stdlib.h>
#include <string.h>

#include "hil/base/util.h"
#include "hil/trace/trc.h"
#include "hil/trace/trc_live.h"
#include "sim/core/apdu.h"
#include "sim/gp/scp03.h"
#include "sim/gp/gpkdiv.h"

#define MAX_LINKS 8
#define MAX_CHANNELS 20
#define MAX_KEYS 4

typedef struct watched {
	char *uri, *role;
	int iface;
	scp03_session_t ch[MAX_CHANNELS];
} watched_t;

struct trc_live {
	watched_t link[MAX_LINKS];
	size_t nlinks;
	scp03_keyset_t keys[MAX_KEYS];
	size_t nkeys;
	trc_pcap_t *pcap;
	int64_t (*sent_ns)(void);
	int64_t last_ns;
};

static watched_t *watched_of(trc_live_t *lv, const char *uri, const char *role)
{
	watched_t *w;

	for (size_t i = 0; i < lv->nlinks; i++)
		if (!strcmp(lv->link[i].uri, uri))
			return &lv->link[i];
	if (lv->nlinks == MAX_LINKS)
		return NULL;
	w = &lv->link[lv->nlinks];
	if (!(w->uri = strdup(uri)) || (role && !(w->role = strdup(role)))) {
		free(w->uri);
		return NULL;
	}
	w->iface = lv->pcap ? trc_pcap_iface(lv->pcap, role ? role : uri, uri) : -1;
	lv->nlinks++;
	return w;
}

/* The logical channel of a CLA (GP: 0-3 in b1b2, 4-19 in b1-b4 + 4). */
static int channel(uint8_t cla)
{
	return (cla & 0x40) ? 4 + (cla & 0x0F) : cla & 0x03;
}

static void close_all(watched_t *w)
{
	for (int c = 0; c < MAX_CHANNELS; c++)
		scp03_session_close(&w->ch[c]);
}

/* INITIALIZE UPDATE answered: replay the card's side with the card
 * challenge it gave, for each key set that may be the card's, as given
 * and diversified by the KDD the card answered (a master key set,
 * docs/se.md#diversified-keys); keep the one that gives the card's
 * cryptogram. */
static void scp_init_update(trc_live_t *lv, scp03_session_t *s, const apdu_t *a, const uint8_t *rsp, size_t rn)
{
	size_t cl = a->lc, dn = rn - 2;
	uint8_t out[64], aid[8] = { 0xA0, 0, 0, 0x01, 0x51, 0, 0, 0 };
	size_t on;

	scp03_session_close(s);
	if ((cl != 8 && cl != 16) || dn < 13 + 2 * cl || rsp[11] != 0x03)
		return;
	for (size_t j = 0; j < 2 * lv->nkeys; j++) {
		size_t k = j / 2;
		scp03_keyset_t div;
		scp03_card_cfg_t cfg = {
			.keys = j % 2 ? &div : &lv->keys[k], .kdd = rsp, .i = rsp[12], .allow_s16 = 1,
			.sd_aid = aid, .sd_aid_len = sizeof aid, .random = rsp + 13,
			.seq = (rsp[12] & SCP03_I_PSEUDO_RANDOM) && dn >= 16 + 2 * cl
				       ? (uint32_t)rsp[13 + 2 * cl] << 16 | (uint32_t)rsp[14 + 2 * cl] << 8 | rsp[15 + 2 * cl]
				       : 0,
		};
		if (lv->keys[k].kvn != rsp[10] || (j % 2 && gpkdiv_keyset(&lv->keys[k], rsp, &div) < 0))
			continue;
		if (scp03_card_init_update(s, &cfg, a, out, sizeof out, &on) == 0 &&
		    !memcmp(out + 13 + cl, rsp + 13 + cl, cl))
			return;
		scp03_session_close(s);
	}
}

/* The plain command of a wrapped one, as hex into plain; 0 if none. */
static int scp_follow(trc_live_t *lv, watched_t *w, const uint8_t *cmd, size_t n, const uint8_t *rsp, size_t rn,
		      char *plain, size_t cap)
{
	static uint8_t buf[APDU_MAX_DATA + 16], raw[APDU_MAX_DATA + 16];
	apdu_t a, p;
	scp03_session_t *s;
	size_t len;
	int ok = rsp && rn >= 2 && apdu_sw(rsp, rn) == 0x9000;

	if (n < 4 || apdu_parse(&a, cmd, n) != 0)
		return 0;
	s = &w->ch[channel(a.cla)];
	if (a.ins == 0x50 && (a.cla & 0x80)) {
		if (ok)
			scp_init_update(lv, s, &a, rsp, rn);
		else
			scp03_session_close(s);
		return 0;
	}
	if (s->state == SCP03_ST_IDLE)
		return 0;
	if (a.ins == 0x82 && s->state == SCP03_ST_INITIATED) {
		if (!ok || scp03_card_ext_auth(s, &a) != 0)
			scp03_session_close(s);
		return 0;
	}
	if (a.ins == 0xA4 && a.p1 == 0x04) { /* another application: the session ends */
		scp03_session_close(s);
		return 0;
	}
	if (s->state != SCP03_ST_OPEN || !(a.cla & ((a.cla & 0x40) ? 0x20 : 0x04)))
		return 0;
	if (scp03_card_unwrap(s, &a, &p, buf, sizeof buf) != 0) {
		scp03_session_close(s); /* the card aborts the session too (6982) */
		return 0;
	}
	if (rsp) {
		size_t on;
		scp03_card_wrap_rsp(s, rsp, rn, raw, sizeof raw, &on); /* keeps the session's state in step */
	}
	len = apdu_build(raw, sizeof raw, p.cla, p.ins, p.p1, p.p2, p.data, p.lc, p.le);
	if (!len || 2 * len + 1 > cap)
		return 0;
	apdu_hex(raw, len, plain);
	return 1;
}

/* A link a scenario opened itself (w:open): a simulator's kind is its
 * role ("sim:se?serial=..." is an se), anything else has none. */
static const char *implied_role(const char *uri, char *buf, size_t cap)
{
	if (strncmp(uri, "sim:", 4))
		return NULL;
	snprintf(buf, cap, "%.*s", (int)strcspn(uri + 4, "?"), uri + 4);
	return buf;
}

static void tap(void *ud, const trace_rec_t *r, void *line)
{
	trc_live_t *lv = ud;
	char rb[32];
	watched_t *w = watched_of(lv, r->link, implied_role(r->link, rb, sizeof rb));
	int64_t now = util_now_ns(), sent = lv->sent_ns ? lv->sent_ns() : 0;

	if (!w)
		return;
	if (w->role)
		trace_line_set(line, "role", w->role);
	if (sent <= lv->last_ns || sent > now)
		sent = now; /* no stamp from the link layer for this one */
	lv->last_ns = now;
	if (r->event) {
		if (!strncmp(r->event, "power", 5) || !strncmp(r->event, "tear", 4))
			close_all(w);
		if (!strncmp(r->event, "power ", 6))
			trc_pcap_field(lv->pcap, w->iface, strcmp(r->event, "power off") != 0, now);
		return;
	}
	if (lv->nkeys && r->n <= APDU_MAX_DATA + 16) {
		char *plain = malloc(2 * (r->n + 16) + 1);
		if (plain && scp_follow(lv, w, r->cmd, r->n, r->rsp, r->rn, plain, 2 * (r->n + 16) + 1))
			trace_line_set(line, "plain", plain);
		free(plain);
	}
	if (lv->pcap) {
		uint8_t *shown = NULL;
		long k = -1;
		/* A redacted command goes out as the line shows it: '*' bytes. */
		if (r->cmd_hex && strchr(r->cmd_hex, '*') && (shown = malloc(r->n + 1))) {
			for (size_t i = 0; i < r->n; i++) {
				char h[3] = { r->cmd_hex[2 * i], r->cmd_hex[2 * i + 1], 0 };
				shown[i] = h[0] == '*' ? '*' : (uint8_t)strtoul(h, NULL, 16);
			}
			k = (long)r->n;
		}
		trc_pcap_exchange(lv->pcap, w->iface, k > 0 ? shown : r->cmd, r->n, r->rsp, r->rn, sent, now);
		free(shown);
	}
}

static void done(void *ud)
{
	trc_live_t *lv = ud;

	for (size_t i = 0; i < lv->nlinks; i++) {
		close_all(&lv->link[i]);
		free(lv->link[i].uri), free(lv->link[i].role);
	}
	trc_pcap_close(lv->pcap);
	free(lv);
}

int trc_live_attach(trace_t *t, const trc_live_cfg_t *cfg, char *err, size_t errlen)
{
	trc_live_t *lv;

	if (!t)
		return 0;
	if (!(lv = calloc(1, sizeof *lv))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cfg->pcapng && !(lv->pcap = trc_pcap_open(cfg->pcapng, cfg->pcap_kind))) {
		snprintf(err, errlen, "%s: cannot write the pcapng trace", cfg->pcapng);
		free(lv);
		return -1;
	}
	for (size_t i = 0; i < cfg->nkeys && i < MAX_KEYS; i++)
		lv->keys[lv->nkeys++] = cfg->keys[i];
	for (size_t i = 0; i < cfg->nroles; i++)
		watched_of(lv, cfg->uris[i], cfg->roles[i]); /* interfaces in role order */
	lv->sent_ns = cfg->sent_ns;
	trace_tap(t, tap, done, lv);
	return 0;
}

void trc_fixture_keys(scp03_keyset_t *k)
{
	memset(k, 0, sizeof *k);
	k->kvn = 0x30;
	k->key_len = 16;
	for (int i = 0; i < 16; i++)
		k->enc[i] = k->mac[i] = k->dek[i] = (uint8_t)(0x40 + i);
}
