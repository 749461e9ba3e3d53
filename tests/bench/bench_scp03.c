/* bench_scp03.c — in-process speed of SCP03 (sim/gp), both sides at once:
 *   scp03_sessions_per_s: full sessions opened, host and card, INITIALIZE
 *     UPDATE + EXTERNAL AUTHENTICATE at level 33 (pseudo-random challenge),
 *     as a card channel does it: the session objects live on between
 *     sessions, so their OpenSSL contexts are rekeyed, not rebuilt;
 *   scp03_wrapped_per_s: one command round trip at level 33 — host wrap,
 *     card unwrap, card wrap_rsp, host unwrap — of a 200-byte STORE DATA.
 * AES-128 for the two headline figures, AES-256 beside them.  Prints
 * "key value" lines for run.sh; argv[1] = seconds per figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/base/util.h"
#include "sim/core/apdu.h"
#include "sim/gp/scp03.h"

static double now_s(void)
{
	return (double)util_now_ms() / 1000.0;
}

struct bench {
	scp03_keyset_t keys;
	scp03_card_cfg_t cfg;
	scp03_session_t card, host;
	uint8_t aid[8], kdd[10];
	uint32_t seq;
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_scp03: %s: %s\n", what, scp03_strerror(rc));
	exit(1);
}

static void setup(struct bench *b, size_t key_len)
{
	static const uint8_t aid[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };

	memset(b, 0, sizeof *b);
	b->keys.kvn = 0x30;
	b->keys.key_len = (uint8_t)key_len;
	for (size_t j = 0; j < key_len; j++) {
		b->keys.enc[j] = (uint8_t)(0x40 + j);
		b->keys.mac[j] = (uint8_t)(0x50 + j);
		b->keys.dek[j] = (uint8_t)(0x60 + j);
	}
	memcpy(b->aid, aid, sizeof aid);
	b->cfg.keys = &b->keys;
	b->cfg.kdd = b->kdd;
	b->cfg.i = SCP03_I_DEFAULT;
	b->cfg.sd_aid = b->aid;
	b->cfg.sd_aid_len = sizeof b->aid;
}

/* One session, as the wire would carry it. */
static void open_session(struct bench *b)
{
	uint8_t hc[8], cmd[64], rsp[64];
	size_t cn, rn;
	apdu_t a;
	int rc;

	/* The host challenge varies so that no two sessions are the same. */
	for (int j = 0; j < 8; j++)
		hc[j] = (uint8_t)(b->seq >> (j % 4 * 8)) ^ (uint8_t)j;
	if ((rc = scp03_seq_next(b->seq, &b->seq)))
		b->seq = 0; /* the bench outlives no real counter; wrap it */
	b->cfg.seq = b->seq;
	if ((rc = scp03_host_init_update(&b->host, 0x30, hc, 8, cmd, sizeof cmd, &cn)))
		die("host IU", rc);
	if (apdu_parse(&a, cmd, cn))
		die("parse IU", SCP03_ERR_DATA);
	if ((rc = scp03_card_init_update(&b->card, &b->cfg, &a, rsp, sizeof rsp - 2, &rn)))
		die("card IU", rc);
	rsp[rn++] = 0x90;
	rsp[rn++] = 0x00;
	if ((rc = scp03_host_open(&b->host, &b->keys, rsp, rn, 0x33, cmd, sizeof cmd, &cn)))
		die("host open", rc);
	if (apdu_parse(&a, cmd, cn))
		die("parse EA", SCP03_ERR_DATA);
	if ((rc = scp03_card_ext_auth(&b->card, &a)))
		die("card EA", rc);
	if ((rc = scp03_host_auth_result(&b->host, (const uint8_t *)"\x90\x00", 2)))
		die("host EA result", rc);
}

static double sessions_per_s(size_t key_len, double secs)
{
	struct bench b;
	long n = 0;
	double t0, t;

	setup(&b, key_len);
	t0 = now_s();
	do {
		for (int j = 0; j < 1000; j++)
			open_session(&b);
		n += 1000;
	} while ((t = now_s() - t0) < secs);
	scp03_session_close(&b.card);
	scp03_session_close(&b.host);
	return (double)n / t;
}

static double wrapped_per_s(size_t key_len, double secs)
{
	struct bench b;
	uint8_t data[200], cmd[256], w[300], plain[300], rsp[64], out[64];
	size_t cn, wn, rn, on;
	apdu_t a, p;
	long n = 0;
	double t0, t;
	int rc;

	setup(&b, key_len);
	open_session(&b);
	for (size_t j = 0; j < sizeof data; j++)
		data[j] = (uint8_t)j;
	/* STORE DATA, last block, BER-TLV, encrypted on the wire by C-DEC. */
	cn = apdu_build(cmd, sizeof cmd, 0x80, 0xE2, 0x90, 0x00, data, sizeof data, 0);
	t0 = now_s();
	do {
		for (int j = 0; j < 1000; j++) {
			if ((rc = scp03_host_wrap(&b.host, cmd, cn, w, sizeof w, &wn)) ||
			    (apdu_parse(&a, w, wn) ? (rc = SCP03_ERR_DATA) : 0) ||
			    (rc = scp03_card_unwrap(&b.card, &a, &p, plain, sizeof plain)))
				die("command", rc);
			rsp[0] = 0x90;
			rsp[1] = 0x00;
			if ((rc = scp03_card_wrap_rsp(&b.card, rsp, 2, rsp, sizeof rsp, &rn)) ||
			    (rc = scp03_host_unwrap_rsp(&b.host, rsp, rn, out, sizeof out, &on)))
				die("response", rc);
		}
		n += 1000;
	} while ((t = now_s() - t0) < secs);
	if (p.lc != sizeof data || memcmp(p.data, data, sizeof data) || on != 2 ||
	    apdu_sw(out, on) != 0x9000)
		die("round trip changed the command", SCP03_ERR_DATA);
	scp03_session_close(&b.card);
	scp03_session_close(&b.host);
	return (double)n / t;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;

	if (secs <= 0)
		secs = 1.0;
	printf("scp03_sessions_per_s %.0f\n", sessions_per_s(16, secs));
	printf("scp03_wrapped_per_s %.0f\n", wrapped_per_s(16, secs));
	printf("scp03_sessions_per_s_aes256 %.0f\n", sessions_per_s(32, secs));
	printf("scp03_wrapped_per_s_aes256 %.0f\n", wrapped_per_s(32, secs));
	return 0;
}
