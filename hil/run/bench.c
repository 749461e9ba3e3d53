/* bench.c — what a run says about itself: the command line that
 * reproduces it, what built it (versions), and what each bound target
 * answered when asked who it is (report.html's bench section,
 * `mynahil doctor`).
 *
 * The questions change nothing on a card: the ATR, SELECTs, a READ BINARY
 * of the token EF, GET DATA of the CPLC, a FeliCa Polling, and — for the
 * doctor only — VERIFY without data, which asks for the tries left
 * without spending one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <nfc/nfc.h>
#include <openssl/crypto.h>
#include <PCSC/pcsclite.h>

#include "mynahil_git.h" /* MYNAHIL_GIT_COMMIT, from cmake/gitrev.cmake */
#include "hil/link/link.h"
#include "hil/base/fault.h"
#include "hil/run/runner.h"
#include "sim/card/card.h"
#include "sim/core/apdu.h"
#include "sim/core/mutate.h"

#define PROBE_MS 3000

/* Appends a shell word to buf (quoted unless plainly safe). */
static void put_word(char *buf, size_t cap, const char *s)
{
	size_t off = strlen(buf);
	int plain = *s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=:,+-@%") ==
				  strlen(s);

	off += (size_t)snprintf(buf + off, off < cap ? cap - off : 0, " %s", plain ? s : "'");
	if (plain)
		return;
	for (; *s && off + 5 < cap; s++)
		off += (size_t)snprintf(buf + off, cap - off, *s == '\'' ? "'\\''" : "%c", *s);
	if (off + 1 < cap)
		snprintf(buf + off, cap - off, "'");
}

char *runner_command(const runner_opts_t *o)
{
	char buf[8192] = "mynahil run", kv[1200];

	for (size_t i = 0; i < o->npaths; i++)
		put_word(buf, sizeof buf, o->paths[i]);
	snprintf(kv, sizeof kv, "%llu", (unsigned long long)o->env.seed);
	put_word(buf, sizeof buf, "--seed");
	put_word(buf, sizeof buf, kv);
	for (size_t i = 0; i < o->env.nbind; i++) {
		snprintf(kv, sizeof kv, "%s=%s", o->env.bind[i].role, o->env.bind[i].uri);
		put_word(buf, sizeof buf, "--target");
		put_word(buf, sizeof buf, kv);
	}
	for (int s = 0; s < POL_N; s++)
		if (o->pin[s]) {
			snprintf(kv, sizeof kv, "%s=%s", pol_switches[s].name, pol_switches[s].values[o->pin[s] - 1]);
			put_word(buf, sizeof buf, "--policy");
			put_word(buf, sizeof buf, kv);
		}
	if (o->matrix)
		put_word(buf, sizeof buf, "--matrix");
	if (o->env.redact)
		put_word(buf, sizeof buf, "--redact");
	if (o->env.keep_devices)
		put_word(buf, sizeof buf, "--keep-devices");
	if (mut_selected()) {
		put_word(buf, sizeof buf, "--mutate");
		put_word(buf, sizeof buf, mut_selected());
	}
	for (size_t i = 0; o->env.faults && i < o->env.faults->n; i++) {
		char spec[FAULT_SPEC_MAX];
		put_word(buf, sizeof buf, "--fault");
		put_word(buf, sizeof buf, fault_format(&o->env.faults->v[i], spec, sizeof spec));
	}
	if (o->env.fault_strict)
		put_word(buf, sizeof buf, "--fault-strict");
	if (o->filter && *o->filter) {
		put_word(buf, sizeof buf, "--filter");
		put_word(buf, sizeof buf, o->filter);
	}
	if (o->tags && *o->tags) {
		put_word(buf, sizeof buf, "--tags");
		put_word(buf, sizeof buf, o->tags);
	}
	/* --shard, --out and -j are left out: they change where and how
	 * fast, not what runs, and merged shards are one run. */
	return strdup(buf);
}

/* One command; the response's length, or -1 with no answer. */
static long ask(link_t *l, const char *hex, uint8_t *rsp, size_t cap)
{
	uint8_t cmd[300];
	long n = apdu_unhex(hex, cmd, sizeof cmd);
	size_t rn = 0;

	if (n < 4 || link_transmit(l, cmd, (size_t)n, rsp, cap, &rn, PROBE_MS) < 0)
		return -1;
	return (long)rn;
}

static int sw_is(const uint8_t *r, long n, unsigned sw)
{
	return n >= 2 && (unsigned)(r[n - 2] << 8 | r[n - 1]) == sw;
}

static void append(char *buf, size_t cap, const char *fmt, const char *a, const char *b)
{
	size_t off = strlen(buf);
	snprintf(buf + off, off < cap ? cap - off : 0, fmt, a, b);
}

/* My Number card ATRs in OpenSC's list that no set serves
 * (docs/card.md#atrs), by their first bytes: known, but of no set. */
static const struct {
	const char *hex, *what;
} seen_only[] = {
	{ "3BF59100FF918171FE40", "OpenSC's list, most likely a contactless reader's" },
	{ "3B888001004B51FFB381D1", "OpenSC's list, a contactless reader's (PC/SC part 3) of no ATR set" },
};

int runner_atr_set(const char *hex, runner_atr_t *k)
{
	const card_atr_set_info_t *s;
	uint8_t atr[64], info[CARD_ATQB_INFO];
	long n = apdu_unhex(hex, atr, sizeof atr);
	int typeb = n > 0 && card_pcsc_typeb_atqb(atr, (size_t)n, info);

	memset(k, 0, sizeof *k);
	for (int i = 0; n > 0 && (s = card_atr_set(i)); i++) {
		if ((size_t)n == s->atr_len && !memcmp(atr, s->atr, s->atr_len))
			snprintf(k->what, sizeof k->what, "ATR set %s: %s", s->name, s->source);
		else if (typeb && !memcmp(info, s->atqb, CARD_ATQB_INFO))
			snprintf(k->what, sizeof k->what, "ATR set %s's contactless ATR (PC/SC part 3)", s->name);
		else
			continue;
		k->set = s->name;
		k->contactless = typeb;
		return 1;
	}
	for (size_t i = 0; i < sizeof seen_only / sizeof seen_only[0]; i++)
		if (!strncmp(hex, seen_only[i].hex, strlen(seen_only[i].hex))) {
			snprintf(k->what, sizeof k->what, "%s", seen_only[i].what);
			k->contactless = 1;
			return 1;
		}
	return 0;
}

int runner_probe_link(const char *role, const char *uri, uint64_t seed, int tries, char *facts, size_t cap)
{
	link_opts_t lo = { .seed = seed, .label = "bench", .probe = 1 };
	static uint8_t rsp[LINK_RSP_MAX];
	static char hex[2 * LINK_RSP_MAX + 1];
	char why[512], tok[40];
	runner_atr_t known;
	uint8_t atr[64];
	size_t an;
	long n;
	link_t *l;

	facts[0] = 0;
	if (link_open(&l, uri, &lo, why, sizeof why) < 0) {
		snprintf(facts, cap, "does not open: %s", why);
		return -1;
	}
	an = link_atr(l, atr, sizeof atr);
	apdu_hex(atr, an, hex);
	append(facts, cap, "ATR %s%s", an ? hex : "(none)", "");
	if (an && runner_atr_set(hex, &known))
		append(facts, cap, " (%s)%s", known.what, "");
	if (!strcmp(role, "se")) {
		if ((n = ask(l, "80CA9F7F00", rsp, sizeof rsp)) > 5 && sw_is(rsp, n, 0x9000)) {
			apdu_hex(rsp + 3, (size_t)(n - 5 > 42 ? 42 : n - 5), hex);
			append(facts, cap, "; CPLC %s%s", hex, "");
		} else {
			append(facts, cap, "; CPLC not given (GET DATA 9F7F)%s%s", "", "");
		}
		/* FeliCa Polling, system code FFFF: response code 01, then IDm */
		if ((n = ask(l, "0600FFFF0000", rsp, sizeof rsp)) >= 10 && rsp[1] == 0x01) {
			apdu_hex(rsp + 2, 8, hex);
			append(facts, cap, "; IDm %s%s", hex, "");
		}
	} else if (!strcmp(role, "card")) {
		n = ask(l, "00A4040C0AD392F000260100000001", rsp, sizeof rsp);
		if (!sw_is(rsp, n, 0x9000)) {
			append(facts, cap, "; no JPKI AP (SELECT by AID)%s%s", "", "");
			link_close(l);
			return -1;
		}
		if (sw_is(rsp, ask(l, "00A4020C020006", rsp, sizeof rsp), 0x9000) &&
		    (n = ask(l, "00B0000020", rsp, sizeof rsp)) > 2 && sw_is(rsp, n, 0x9000)) {
			size_t k = 0;
			for (long i = 0; i < n - 2 && k + 1 < sizeof tok && rsp[i] > ' ' && rsp[i] < 0x7F; i++)
				tok[k++] = (char)rsp[i];
			tok[k] = 0;
			append(facts, cap, "; token %s%s", tok, "");
		}
		for (int p = 0; tries && p < 2; p++) {
			static const char *const pins[2][2] = { { "00A4020C020018", "auth PIN" },
								{ "00A4020C02001B", "sign PIN" } };
			char t[8];
			if (!sw_is(rsp, ask(l, pins[p][0], rsp, sizeof rsp), 0x9000))
				continue;
			n = ask(l, "00200080", rsp, sizeof rsp);
			if (n == 2 && rsp[0] == 0x63 && (rsp[1] & 0xF0) == 0xC0)
				snprintf(t, sizeof t, "%d", rsp[1] & 0x0F);
			else
				snprintf(t, sizeof t, "%s", sw_is(rsp, n, 0x6984) ? "0" : "?");
			append(facts, cap, "; %s tries left %s", pins[p][1], t);
		}
	}
	link_close(l);
	return 0;
}

void runner_versions(res_run_t *run)
{
	/* The library's own answer where it has one (the library loaded may
	 * be newer than the headers); else the headers' ("built with"). */
	res_add_version(run, "mynahil", MYNAHIL_VERSION);
	res_add_version(run, "commit", MYNAHIL_GIT_COMMIT);
	res_add_version(run, "openssl", OpenSSL_version(OPENSSL_VERSION_STRING));
	res_add_version(run, "lua", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "." LUA_VERSION_RELEASE " (built with)");
	res_add_version(run, "pcsc-lite", PCSCLITE_VERSION_NUMBER " (built with)");
	res_add_version(run, "libnfc", nfc_version());
}

void runner_bench(const runner_opts_t *o, res_run_t *run)
{
	char facts[1024];

	runner_versions(run);
	if (o->shard_n > 0 && asprintf(&run->shard, "%d/%d", o->shard_i, o->shard_n) < 0)
		run->shard = NULL;
	run->version = strdup(MYNAHIL_VERSION);
	run->command = runner_command(o);
	run->mutation = mut_selected() ? strdup(mut_selected()) : NULL;
	for (size_t i = 0; i < o->env.nbind; i++) {
		const binding_t *b = &o->env.bind[i];
		if (!strcmp(b->role, "tsm") || !strcmp(b->role, "ca"))
			snprintf(facts, sizeof facts, "%s", !strncmp(b->uri, "sim", 3) ? "the simulator, in process" :
							    "a service over HTTP");
		else
			runner_probe_link(b->role, b->uri, o->env.seed, 0, facts, sizeof facts);
		res_add_role(run, b->role, b->uri, facts);
	}
}
