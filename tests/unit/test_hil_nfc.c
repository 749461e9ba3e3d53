/* test_hil_nfc.c — the nfc: link through libnfc's pn532_uart driver to the
 * software PN532 (serve_pn532_run in a thread of this test, on a pty,
 * in front of sim:card): the ATR PC/SC part 3 builds from the ATQB;
 * wait(present) and wait(absent) with their deadlines; power off makes
 * the card mute, wait(present) and cold bring it back, warm clears its
 * security status; what the link refuses (bad URIs, an absent reader, a
 * card type not in the field, a command too long) it refuses with an
 * error naming the target.  A second server offers a fake SE as well:
 * FeliCa polling, FeliCa frames and ISO/IEC 14443-4 Type A APDUs reach
 * it through libnfc, with the ATRs PC/SC readers give such cards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <cmocka.h>

#include "hil/link/link.h"
#include "hil/run/runner.h"
#include "hil/serve/serve.h"
#include "hil/base/util.h"

static char dir[64], path[128], uri[160], path_se[128], uri_se[160];
static link_t *card, *card2;
static pthread_t server, server_se;

/* The fake SE: a FeliCa polling answer for IDm 01 2E 3D 4C 5B 6A 79 88,
 * Request Response, and 90 00 to any APDU. */
static const uint8_t idm[8] = { 0x01, 0x2E, 0x3D, 0x4C, 0x5B, 0x6A, 0x79, 0x88 };
static const uint8_t pmm[8] = { 0x03, 0x01, 0x4B, 0x02, 0x4F, 0x49, 0x93, 0xFF };

static int se_power(link_t *l, enum sim_power how)
{
	(void)l;
	(void)how;
	return 0;
}

static int se_transmit(link_t *l, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap,
		       size_t *rsplen, int timeout_ms)
{
	(void)l;
	(void)timeout_ms;
	*rsplen = 0;
	if (cap < 32)
		return LINK_ERR_IO;
	if (len == 6 && cmd[0] == 6 && cmd[1] == 0x00) { /* Polling */
		rsp[0] = 20;
		rsp[1] = 0x01;
		memcpy(rsp + 2, idm, 8);
		memcpy(rsp + 10, pmm, 8);
		rsp[18] = 0x12;
		rsp[19] = 0xFC;
		*rsplen = 20;
	} else if (len == 10 && cmd[0] == 10 && cmd[1] == 0x04 && !memcmp(cmd + 2, idm, 8)) {
		rsp[0] = 11; /* Request Response: mode 0 */
		rsp[1] = 0x05;
		memcpy(rsp + 2, idm, 8);
		rsp[10] = 0x00;
		*rsplen = 11;
	} else if (len >= 4 && cmd[0] != len) {
		rsp[0] = 0x90;
		rsp[1] = 0x00;
		*rsplen = 2;
	} else {
		return LINK_ERR_MUTE;
	}
	return LINK_OK;
}

static size_t se_atr(link_t *l, uint8_t *atr, size_t cap)
{
	(void)l;
	(void)atr;
	(void)cap;
	return 0;
}

static const link_ops_t fake_se_ops = { .scheme = "fake", .power = se_power, .transmit = se_transmit, .atr = se_atr };
static link_t fake_se = { .ops = &fake_se_ops, .uri = "fake:se" };

static void *serve(void *arg)
{
	(void)arg;
	serve_pn532_run(card, NULL, path);
	return NULL;
}

static void *serve_se(void *arg)
{
	(void)arg;
	serve_pn532_run(card2, &fake_se, path_se);
	return NULL;
}

/* The server links PATH by renaming a fresh symlink onto it: wait for that
 * event, with a deadline. */
static int start_server(void **state)
{
	link_opts_t o = { .seed = 0, .label = "test" };
	char err[256], buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t deadline;
	int ino, up = 0;

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_hil_nfc.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/pn532", dir);
	snprintf(uri, sizeof uri, "nfc:pn532_uart:%s", path);
	snprintf(path_se, sizeof path_se, "%s/pn532se", dir);
	snprintf(uri_se, sizeof uri_se, "nfc:pn532_uart:%s", path_se);
	if (link_open(&card, "sim:card", &o, err, sizeof err) < 0 ||
	    link_open(&card2, "sim:card", &o, err, sizeof err) < 0)
		return -1;
	if ((ino = inotify_init1(IN_NONBLOCK)) < 0 || inotify_add_watch(ino, dir, IN_MOVED_TO | IN_CREATE) < 0)
		return -1;
	util_stop = 0;
	if (pthread_create(&server, NULL, serve, NULL) || pthread_create(&server_se, NULL, serve_se, NULL))
		return -1;
	deadline = util_now_ms() + 5000;
	while (up < 2 && util_now_ms() < deadline) {
		struct pollfd p = { .fd = ino, .events = POLLIN };
		ssize_t n;
		if (poll(&p, 1, (int)(deadline - util_now_ms())) <= 0)
			break;
		while ((n = read(ino, buf, sizeof buf)) > 0)
			for (char *q = buf; q < buf + n;) {
				const struct inotify_event *e = (const struct inotify_event *)q;
				if (e->mask & IN_MOVED_TO && e->len &&
				    (!strcmp(e->name, "pn532") || !strcmp(e->name, "pn532se")))
					up++;
				q += sizeof *e + e->len;
			}
	}
	close(ino);
	return up == 2 ? 0 : -1;
}

static int stop_server(void **state)
{
	(void)state;
	util_stop = 1;
	pthread_join(server, NULL);
	pthread_join(server_se, NULL);
	link_close(card);
	link_close(card2);
	rmdir(dir);
	return 0;
}

static link_t *open_nfc(const char *u)
{
	link_t *l = NULL;
	char err[512];
	int rc = link_open(&l, u, NULL, err, sizeof err);
	if (rc < 0)
		fail_msg("%s", err);
	return l;
}

static uint16_t sw_of(link_t *l, const char *hex)
{
	uint8_t cmd[300], rsp[LINK_RSP_MAX];
	size_t n = 0, rn = 0;

	for (; hex[2 * n] && hex[2 * n + 1]; n++)
		sscanf(hex + 2 * n, "%2hhx", &cmd[n]);
	if (link_transmit(l, cmd, n, rsp, sizeof rsp, &rn, 2000) < 0 || rn < 2)
		return 0;
	return (uint16_t)(rsp[rn - 2] << 8 | rsp[rn - 1]);
}

#define SELECT_JPKI "00A4040C0AD392F000260100000001"

/* The ATR of an opensc-3021 card as docs/card.md#atrs lists it: 3B 88 80 01, the
 * ATQB's application data and protocol info, MBLI 0, TCK. */
static void atr_from_atqb(void **state)
{
	static const uint8_t want[] = { 0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x41, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x3B };
	uint8_t atr[64];
	link_t *l = open_nfc(uri);

	(void)state;
	assert_int_equal(link_atr(l, atr, sizeof atr), sizeof want);
	assert_memory_equal(atr, want, sizeof want);
	assert_int_equal(sw_of(l, SELECT_JPKI), 0x9000);
	link_close(l);
}

/* What mynahil readers, doctor and from-card say of an ATR: a set's
 * contact ATR by its name and source, the ATR a PC/SC reader builds
 * from a set's ATQB as that set's contactless one (any MBLI), the
 * contactless ATRs of OpenSC's list that no set serves as known but of
 * no set, and nothing of a near miss. */
static void atr_named(void **state)
{
	static const struct {
		const char *atr, *set, *what;
		int contactless;
	} cases[] = {
		{ "3BDA13FF8131FB468012392F31C173C601C03B", "opensc-3021", "ATR set opensc-3021: OpenSC issue #3021", 0 },
		{ "3BE000FF8131FE4514", "pcsc-tools-e0", "ATR set pcsc-tools-e0: pcsc-tools' list", 0 },
		{ "3BC5FF8131FB458073C6010000", "pcsc-tools-c5", "ATR set pcsc-tools-c5: pcsc-tools' list", 0 },
		{ "3B888001000041E0B381A1003B", "opensc-3021", "ATR set opensc-3021's contactless ATR (PC/SC part 3)", 1 },
		{ "3B888001004B51FF0081D180", NULL, NULL, 0 }, /* 12 bytes: not a PC/SC part 3 ATR */
		{ "3B888001004B51FF0081D1803C", "pcsc-tools-c5", "ATR set pcsc-tools-c5's contactless ATR (PC/SC part 3)",
		  1 },
		{ "3B888001004B51FFB381D1000F", NULL, "OpenSC's list, a contactless reader's (PC/SC part 3) of no ATR set",
		  1 },
		{ "3BF59100FF918171FE400042000100D1D6", NULL, "OpenSC's list, most likely a contactless reader's", 1 },
		{ "3BDA13FF8131FB468012392F31C173C601C03C", NULL, NULL, 0 }, /* one byte off */
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		runner_atr_t k;

		assert_int_equal(runner_atr_set(cases[i].atr, &k), cases[i].what != NULL);
		assert_string_equal(k.what, cases[i].what ? cases[i].what : "");
		if (cases[i].set)
			assert_string_equal(k.set, cases[i].set);
		else
			assert_null(k.set);
		assert_int_equal(k.contactless, cases[i].contactless);
	}
}

/* The card is there: wait(present) answers at once (libnfc's presence
 * ping, no re-selection); wait(absent) gives up at its deadline, saying
 * so and naming the target. */
static void wait_present_absent(void **state)
{
	link_t *l = open_nfc(uri);
	int64_t t0;

	(void)state;
	/* A selection that survives wait(present) keeps the card's state. */
	assert_int_equal(sw_of(l, SELECT_JPKI), 0x9000);
	assert_int_equal(sw_of(l, "00A4020C020018"), 0x9000);
	t0 = util_now_ms();
	assert_int_equal(link_wait(l, 1, 1000), LINK_OK);
	assert_true(util_now_ms() - t0 < 500);
	assert_int_equal(sw_of(l, "00200080"), 0x63C3); /* still the auth PIN EF: no reset */
	t0 = util_now_ms();
	assert_int_equal(link_wait(l, 0, 300), LINK_ERR_TIMEOUT);
	assert_true(util_now_ms() - t0 >= 300);
	assert_true(util_now_ms() - t0 < 2000);
	assert_non_null(strstr(link_error(l), uri));
	assert_non_null(strstr(link_error(l), "still there after 300 ms"));
	link_close(l);
}

/* Off: mute, with an error naming the target.  wait(present) finds the
 * card again; warm clears the security status; cold works too. */
static void power_transitions(void **state)
{
	link_t *l = open_nfc(uri);
	uint8_t rsp[64];
	size_t rn = 99;

	(void)state;
	assert_int_equal(link_power(l, SIM_POWER_OFF), LINK_OK);
	assert_int_equal(link_transmit(l, (const uint8_t *)"\x00\xA4\x04\x00", 4, rsp, sizeof rsp, &rn, 1000),
			 LINK_ERR_MUTE);
	assert_int_equal(rn, 0);
	assert_non_null(strstr(link_error(l), uri));
	assert_int_equal(link_atr(l, rsp, sizeof rsp), 0);
	assert_int_equal(link_wait(l, 1, 2000), LINK_OK);
	assert_int_equal(sw_of(l, SELECT_JPKI), 0x9000);

	assert_int_equal(sw_of(l, "00A4020C020018"), 0x9000);
	assert_int_equal(sw_of(l, "002000800431323334"), 0x9000);
	assert_int_equal(sw_of(l, "00A4020C020017"), 0x9000);
	assert_int_equal(link_power(l, SIM_POWER_WARM), LINK_OK);
	assert_int_equal(sw_of(l, "00A4020C020017"), 0x6A82); /* nothing selected after a reset */
	assert_int_equal(link_power(l, SIM_POWER_COLD), LINK_OK);
	assert_int_equal(sw_of(l, SELECT_JPKI), 0x9000);
	link_close(l);
}

static void refused(void **state)
{
	static const struct { const char *uri; int rc; const char *says; } cases[] = {
		{ "nfc:", LINK_ERR_URI, "expected nfc:DRIVER:PORT" },
		{ "nfc:pn532_uart", LINK_ERR_URI, "expected nfc:DRIVER:PORT" },
		{ NULL, LINK_ERR_URI, "type=x" },                    /* uri?type=x */
		{ "nfc:pn532_uart:/nonexistent/pn532", LINK_ERR_OPEN, "cannot open reader pn532_uart:/nonexistent/pn532" },
		{ NULL, LINK_ERR_ABSENT, "no ISO/IEC 14443-4 Type A card in the field within 3000 ms" }, /* type=a, no SE */
	};
	char u[256], err[512];
	link_t *l;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].uri)
			snprintf(u, sizeof u, "%s", cases[i].uri);
		else
			snprintf(u, sizeof u, "%s?type=%s", uri, i == 2 ? "x" : "a");
		assert_int_equal(link_open(&l, u, NULL, err, sizeof err), cases[i].rc);
		assert_null(l);
		if (!strstr(err, cases[i].says) || !strstr(err, u))
			fail_msg("%s: got '%s'", u, err);
	}
}

static void command_too_long(void **state)
{
	static uint8_t cmd[300];
	uint8_t rsp[16];
	size_t rn;
	link_t *l = open_nfc(uri);

	(void)state;
	assert_int_equal(link_transmit(l, cmd, sizeof cmd, rsp, sizeof rsp, &rn, 1000), LINK_ERR_UNSUPPORTED);
	assert_int_equal(sw_of(l, SELECT_JPKI), 0x9000); /* and the link still works */
	link_close(l);
}

/* FeliCa: the SE's polling answer is the target; a FeliCa frame goes to
 * it and back; the ATR is PC/SC's for a FeliCa storage card; the card
 * type the link was not asked for is not taken. */
static void felica_from_se(void **state)
{
	static const uint8_t want_atr[] = { 0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00,
					    0x03, 0x06, 0x11, 0x00, 0x3B, 0x00, 0x00, 0x00, 0x00, 0x42 };
	char u[256];
	uint8_t cmd[10] = { 10, 0x04 }, rsp[64], atr[64];
	size_t rn = 0;
	link_t *l;

	(void)state;
	snprintf(u, sizeof u, "%s?type=felica", uri_se);
	l = open_nfc(u);
	assert_int_equal(link_atr(l, atr, sizeof atr), sizeof want_atr);
	assert_memory_equal(atr, want_atr, sizeof want_atr);
	memcpy(cmd + 2, idm, 8);
	assert_int_equal(link_transmit(l, cmd, sizeof cmd, rsp, sizeof rsp, &rn, 1000), LINK_OK);
	assert_int_equal(rn, 11);
	assert_int_equal(rsp[1], 0x05);
	assert_memory_equal(rsp + 2, idm, 8);
	assert_int_equal(link_wait(l, 1, 1000), LINK_OK);
	link_close(l);
}

/* Type A: the SE as an ISO/IEC 14443-4 target; its ATS has no historical
 * bytes, so the ATR is 3B 80 80 01 01. */
static void type_a_from_se(void **state)
{
	static const uint8_t want_atr[] = { 0x3B, 0x80, 0x80, 0x01, 0x01 };
	char u[256];
	uint8_t atr[64];
	link_t *l;

	(void)state;
	snprintf(u, sizeof u, "%s?type=a", uri_se);
	l = open_nfc(u);
	assert_int_equal(link_atr(l, atr, sizeof atr), sizeof want_atr);
	assert_memory_equal(atr, want_atr, sizeof want_atr);
	assert_int_equal(sw_of(l, "00A4040000"), 0x9000);
	assert_int_equal(link_wait(l, 1, 1000), LINK_OK);
	link_close(l);
	/* The card is still the Type B target of the same reader. */
	l = open_nfc(uri_se);
	assert_int_equal(sw_of(l, SELECT_JPKI), 0x9000);
	link_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(atr_from_atqb),
		cmocka_unit_test(atr_named),
		cmocka_unit_test(wait_present_absent),
		cmocka_unit_test(power_transitions),
		cmocka_unit_test(refused),
		cmocka_unit_test(command_too_long),
		cmocka_unit_test(felica_from_se),
		cmocka_unit_test(type_a_from_se),
	};
	setenv("LIBNFC_AUTO_SCAN", "false", 1);
	return cmocka_run_group_tests(tests, start_server, stop_server);
}
