/* readers.c — `mynahil readers`: what a bench can bind, before writing a
 * bench file: the PC/SC readers pcscd knows, each with its card (present
 * or not, the ATR and the ATR set it is of), and the
 * devices libnfc finds.  Each line starts with the target URI to give
 * --target or a bench file.
 *
 * Neither library promises to come back: pcsc-lite's client blocks on a
 * pcscd that accepted the connection and went quiet, and libnfc's scan
 * opens serial ports and USB devices, any of which may hang.  So each
 * is asked in a child process of its own under a deadline; the parent
 * prints what the child wrote and, if the deadline passed, says so and
 * kills it.  Nothing is connected to: the card's state comes from
 * SCardGetStatusChange, which reads the reader's, and libnfc's devices
 * are opened only to read their names. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <PCSC/winscard.h>
#include <nfc/nfc.h>

#include "hil/base/util.h"
#include "hil/cli/cli.h"
#include "hil/run/runner.h"
#include "sim/core/apdu.h"

#define READERS_MS 5000 /* each of PC/SC and libnfc, unless --timeout */
#define NFC_MAX 16

static const char usage_readers[] =
	"usage: mynahil readers [--timeout MS]\n"
	"\n"
	"Lists what a bench can bind: the PC/SC readers pcscd knows (with the card\n"
	"in each: ATR and its ATR set, or none) and the devices libnfc finds\n"
	"(LIBNFC_DEVICE, /etc/nfc, its scan).  Each line starts with the target\n"
	"URI for --target or a bench file.  Connects to no card.\n"
	"\n"
	"  --timeout MS   how long PC/SC and libnfc each may take (5000); one that\n"
	"                 does not answer in time is said to, not waited for\n"
	"\n"
	"exit status: 0 a reader or device found, 1 none, 2 usage error\n";

/* The reader's name as a pcsc: pattern (a regular expression that
 * the first matching reader answers) that finds this reader: special
 * characters escaped, and anchored (^...$) when the name is part of
 * another reader's. */
static void pcsc_uri(const char *name, const char *all, char *out, size_t cap)
{
	size_t o;
	int inside = 0;

	for (const char *r = all; *r; r += strlen(r) + 1)
		inside = inside || (r != name && strstr(r, name));
	o = (size_t)snprintf(out, cap, "pcsc:%s", inside ? "^" : "");
	for (; *name && o + 4 < cap; name++) {
		if (strchr("\\^$.|?*+()[]{}", *name))
			out[o++] = '\\';
		out[o++] = *name;
	}
	if (inside)
		out[o++] = '$';
	out[o] = 0;
}

/* One line, and where the options are. */
static int usage_hint(void)
{
	fputs("(mynahil readers --help for the options)\n", stderr);
	return 2;
}

/* PC/SC, in the child: one line per reader on f; the count of readers
 * in the exit status (capped), 0 when none or pcscd is not there. */
static int list_pcsc(FILE *f, int ms)
{
	SCARDCONTEXT ctx;
	SCARD_READERSTATE st[32];
	DWORD len = 0, n = 0;
	char *names = NULL;
	LONG rc;

	if ((rc = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx)) != SCARD_S_SUCCESS) {
		fprintf(f, "PC/SC: no pcscd to ask (%s)\n", pcsc_stringify_error(rc));
		return 0;
	}
	rc = SCardListReaders(ctx, NULL, NULL, &len);
	if (rc == SCARD_S_SUCCESS && (names = calloc(1, len + 1)))
		rc = SCardListReaders(ctx, NULL, names, &len);
	if (rc != SCARD_S_SUCCESS || !names) {
		fprintf(f, "PC/SC: no readers%s%s%s\n", rc == SCARD_E_NO_READERS_AVAILABLE ? "" : " (",
			rc == SCARD_E_NO_READERS_AVAILABLE ? "" : pcsc_stringify_error(rc),
			rc == SCARD_E_NO_READERS_AVAILABLE ? "" : ")");
		goto out;
	}
	for (char *r = names; *r && n < sizeof st / sizeof st[0]; r += strlen(r) + 1, n++)
		st[n] = (SCARD_READERSTATE){ .szReader = r, .dwCurrentState = SCARD_STATE_UNAWARE };
	/* UNAWARE: answers at once with each reader's present state */
	if ((rc = SCardGetStatusChange(ctx, (DWORD)ms, st, n)) != SCARD_S_SUCCESS) {
		fprintf(f, "PC/SC: the readers' state not given (%s)\n", pcsc_stringify_error(rc));
		n = 0;
		goto out;
	}
	for (DWORD i = 0; i < n; i++) {
		char uri[600], hex[2 * MAX_ATR_SIZE + 1];
		DWORD s = st[i].dwEventState;

		pcsc_uri(st[i].szReader, names, uri, sizeof uri);
		fprintf(f, "%-32s PC/SC reader '%s': ", uri, st[i].szReader);
		if (s & SCARD_STATE_PRESENT) {
			runner_atr_t known;
			apdu_hex(st[i].rgbAtr, st[i].cbAtr < MAX_ATR_SIZE ? st[i].cbAtr : MAX_ATR_SIZE, hex);
			fprintf(f, "card present, ATR %s", st[i].cbAtr ? hex : "(none)");
			if (st[i].cbAtr && runner_atr_set(hex, &known))
				fprintf(f, " (a My Number card, %s)", known.what);
			fputs(s & SCARD_STATE_EXCLUSIVE ? ", in exclusive use\n" : s & SCARD_STATE_MUTE ? ", mute\n" : "\n", f);
		} else {
			fputs("no card\n", f);
		}
	}
out:
	free(names);
	SCardReleaseContext(ctx);
	return n > 100 ? 100 : (int)n;
}

/* libnfc, in the child: one line per device. */
static int list_nfc(FILE *f, int ms)
{
	nfc_connstring found[NFC_MAX];
	nfc_context *ctx;
	size_t n;

	(void)ms; /* libnfc takes no timeout: the parent's deadline bounds it */
	nfc_init(&ctx);
	if (!ctx) {
		fputs("libnfc: cannot start (nfc_init)\n", f);
		return 0;
	}
	n = nfc_list_devices(ctx, found, NFC_MAX);
	if (!n)
		fputs("libnfc: no devices (LIBNFC_DEVICE, /etc/nfc/libnfc.conf and its scan found none)\n", f);
	for (size_t i = 0; i < n; i++) {
		nfc_device *d = nfc_open(ctx, found[i]);
		char uri[sizeof found[i] + 8];

		snprintf(uri, sizeof uri, "nfc:%s", found[i]);
		if (d) {
			fprintf(f, "%-32s libnfc device '%s'\n", uri, nfc_device_get_name(d));
			nfc_close(d);
		} else {
			fprintf(f, "%-32s libnfc device (found, does not open: busy or not answering)\n", uri);
		}
	}
	nfc_exit(ctx);
	return (int)n;
}

/* fn in a child under a deadline of ms: its lines copied to stdout; the
 * count it found, or 0 when it failed or ran out of time (said, as
 * what). */
static int ask(int (*fn)(FILE *, int), int ms, const char *what)
{
	int fds[2], status = 0, left = ms, r;
	int64_t end = util_now_ms() + ms;
	char buf[4096];
	pid_t pid;

	fflush(stdout);
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		fprintf(stderr, "mynahil: readers: %s\n", strerror(errno));
		return 0;
	}
	if (pid == 0) {
		FILE *f;
		close(fds[0]);
		f = fdopen(fds[1], "w");
		r = f ? fn(f, ms) : 0;
		if (f)
			fclose(f);
		_exit(r);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		ssize_t got;

		left = (int)(end - util_now_ms());
		if (left <= 0 || (r = poll(&p, 1, left)) == 0) {
			kill(pid, SIGKILL);
			printf("%s: no answer within %d ms (stopped asking)\n", what, ms);
			break;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (got = read(fds[0], buf, sizeof buf)) <= 0)
			break;
		fwrite(buf, 1, (size_t)got, stdout);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	fflush(stdout);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

int readers_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, 0, 'w' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	uint64_t ms = READERS_MS;
	int c, found;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (util_parse_u64(optarg, &ms) || ms < 1 || ms > 600000) {
				fprintf(stderr, "mynahil: --timeout takes milliseconds from 1 to 600000\n");
				return usage_hint();
			}
			break;
		case 'h': fputs(usage_readers, stdout); return 0;
		default: return usage_hint();
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mynahil: readers takes no arguments ('%s')\n", argv[optind]);
		return usage_hint();
	}
	found = ask(list_pcsc, (int)ms, "PC/SC");
	found += ask(list_nfc, (int)ms, "libnfc");
	return found ? 0 : 1;
}
