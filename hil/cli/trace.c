/* trace.c — `mynahil trace import|check|export|show` (docs/traces.md).
 *
 * import: a field capture into our JSON lines.  check: a trace's commands
 * sent to a target, every response that differs from the recorded one
 * reported, status words first (how a lab compares our card with a real
 * one, or a card with itself after a change).  export: a trace as pcapng
 * for tshark and Wireshark.  show: a trace in words. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/cli/cli.h"
#include "hil/base/util.h"
#include "hil/link/link.h"
#include "hil/trace/trc.h"
#include "sim/core/apdu.h"
#include "sim/core/mutate.h"

/* reports/decode.c (private to reports/, prototypes repeated as there) */
void res_apdu_decode(const char *cmd, unsigned *ctx, char *name, size_t ncap, char *detail, size_t dcap);
const char *res_sw_text(const char *rsp);

static const char usage_trace[] =
	"usage: mynahil trace import FILE [-o OUT.jsonl] [--format F] [--role R]\n"
	"       mynahil trace check FILE --target URI [--mask M,...] [--role R] [--format F]\n"
	"                           [--profile FILE] [--state FILE] [--seed S] [--timeout MS]\n"
	"       mynahil trace export FILE -o OUT.pcapng [--as iso14443|usbccid] [--format F]\n"
	"       mynahil trace show FILE [--format F]\n"
	"\n"
	"FILE: an OpenSC debug log (OPENSC_DEBUG=9), a pcsc-spy log (its output or\n"
	"the raw FIFO log), a pcapng or pcap of ISO 7816 over ISO 14443 or USB CCID,\n"
	"or our JSON lines (traces/ID.jsonl); the format is recognised unless\n"
	"--format names it (opensc, pcsc-spy, pcapng, jsonl).\n"
	"\n"
	"import   writes our JSON lines (standard output without -o); --role names\n"
	"         the card's role (card)\n"
	"check    sends the trace's commands to the target in order (power events\n"
	"         too) and reports every response that differs from the recorded one,\n"
	"         status word first; --mask ignores what legitimately varies:\n"
	"         challenge, cryptogram, mac, signature, sm, all\n"
	"export   pcapng that tshark decodes: ISO 14443 (-d iso14443.subdissector,iso7816)\n"
	"         or USB CCID (usbmon framing)\n"
	"show     one line per exchange: the command in words, its status word, and\n"
	"         under SCP03 the plain command beside the wrapped one\n"
	"\n"
	"exit status: 0 done (check: no difference), 1 check found differences,\n"
	"2 usage error, an unreadable trace or an unreachable target\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "mynahil: trace: %s\n", msg);
	fprintf(stderr, "(mynahil trace --help for the options)\n");
	return 2;
}

typedef struct targs {
	const char *file, *out, *format, *role, *target, *mask, *as;
	link_opts_t lo;
	uint64_t timeout;
} targs_t;

/* The options every subcommand shares; -1 after a usage message. */
static int parse(int argc, char **argv, targs_t *a, const char *allowed)
{
	static const struct option opts[] = {
		{ "format", required_argument, 0, 'F' }, { "role", required_argument, 0, 'r' },
		{ "target", required_argument, 0, 'T' }, { "mask", required_argument, 0, 'M' },
		{ "profile", required_argument, 0, 'p' }, { "state", required_argument, 0, 'S' },
		{ "seed", required_argument, 0, 's' },	 { "timeout", required_argument, 0, 'w' },
		{ "as", required_argument, 0, 'a' },	 { "mutate", required_argument, 0, 'X' },
		{ "help", no_argument, 0, 'h' },	 { 0, 0, 0, 0 },
	};
	int c, idx;
	char msg[256];

	optind = 1;
	a->timeout = 5000;
	a->lo.label = "trace";
	while ((c = getopt_long(argc, argv, "o:h", opts, &idx)) != -1) {
		if (c == 'h') {
			fputs(usage_trace, stdout);
			return 1;
		}
		if (c == '?' || !strchr(allowed, c)) {
			if (c != '?') {
				snprintf(msg, sizeof msg, "%s does not take %s%s", argv[0], c == 'o' ? "-o" : "--",
					 c == 'o' ? "" : opts[idx].name);
				usage(msg);
			} else {
				usage(NULL);
			}
			return -1;
		}
		switch (c) {
		case 'o': a->out = optarg; break;
		case 'F': a->format = optarg; break;
		case 'r': a->role = optarg; break;
		case 'T': a->target = optarg; break;
		case 'M': a->mask = optarg; break;
		case 'p': a->lo.profile = optarg; break;
		case 'S': a->lo.state = optarg; break;
		case 'a': a->as = optarg; break;
		case 's':
			if (util_parse_u64(optarg, &a->lo.seed))
				return usage("--seed takes a number"), -1;
			break;
		case 'w':
			if (util_parse_u64(optarg, &a->timeout) || a->timeout < 1 || a->timeout > 600000)
				return usage("--timeout takes milliseconds from 1 to 600000"), -1;
			break;
		case 'X': /* hidden: docs/mutations.md */
			if (mut_select(optarg) < 0) {
				fprintf(stderr, "mynahil: --mutate %s: no such mutation in this build\n", optarg);
				return -1;
			}
			break;
		}
	}
	if (optind + 1 != argc) {
		usage(optind == argc ? "which trace file?" : "one trace file only");
		return -1;
	}
	a->file = argv[optind];
	return 0;
}

static int load(const targs_t *a, trc_t *t)
{
	char err[1024];

	if (trc_import(t, a->file, a->format, a->role ? a->role : "card", err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: %s\n", err);
		trc_free(t);
		return -1;
	}
	return 0;
}

static int cmd_import(int argc, char **argv)
{
	targs_t a = { 0 };
	trc_t t = { 0 };
	char err[1024];
	size_t nex = 0;
	int rc = parse(argc, argv, &a, "oFr");

	if (rc)
		return rc < 0 ? 2 : 0;
	if (load(&a, &t) < 0)
		return 2;
	if (trc_write_jsonl(&t, a.out ? a.out : "-", err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: %s\n", err);
		trc_free(&t);
		return 2;
	}
	for (size_t i = 0; i < t.n; i++)
		nex += !t.v[i].event;
	fprintf(stderr, "mynahil: %s: %zu exchanges, %zu events\n", a.file, nex, t.n - nex);
	trc_free(&t);
	return 0;
}

static void hex_of(const uint8_t *p, size_t n, char **out)
{
	free(*out);
	*out = malloc(2 * n + 1);
	if (*out)
		apdu_hex(p, n, *out);
}

static int cmd_check(int argc, char **argv)
{
	static uint8_t rsp[LINK_RSP_MAX];
	targs_t a = { 0 };
	trc_t t = { 0 };
	link_t *l;
	unsigned mask = 0;
	char err[1024], *h1 = NULL, *h2 = NULL, *hc = NULL;
	size_t nex = 0, ndiff = 0, first = 0;
	int rc = parse(argc, argv, &a, "FrTMpSswX");

	if (rc)
		return rc < 0 ? 2 : 0;
	if (!a.target)
		return usage("check needs --target URI");
	if (a.mask && trc_mask_parse(a.mask, &mask, err, sizeof err) < 0)
		return usage(err);
	if (load(&a, &t) < 0)
		return 2;
	if (link_open(&l, a.target, &a.lo, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: %s\n", err);
		trc_free(&t);
		return 2;
	}
	for (size_t i = 0; i < t.n; i++) {
		const trc_rec_t *x = &t.v[i];
		size_t rn = 0;
		int got;

		if (a.role && x->role && strcmp(x->role, a.role))
			continue;
		if (x->event) {
			enum sim_power how;
			if (trc_power_event(x->event, &how))
				link_power(l, how);
			continue;
		}
		nex++;
		got = link_transmit(l, x->cmd, x->cn, rsp, sizeof rsp, &rn, (int)a.timeout) == 0;
		if (trc_rsp_eq(x->cmd, x->cn, x->rsp, x->rn, got ? rsp : NULL, rn, mask))
			continue;
		if (!ndiff++)
			first = nex;
		hex_of(x->cmd, x->cn, &hc);
		printf("exchange %zu (%s): %s\n", nex, x->at ? x->at : "?", hc ? hc : "?");
		if (!got) {
			printf("  SW: recorded %04X, the target did not answer: %s\n", x->rsp ? apdu_sw(x->rsp, x->rn) : 0,
			       link_error(l));
			continue;
		}
		if (!x->rsp)
			printf("  SW: recorded no answer, target %04X\n", apdu_sw(rsp, rn));
		else if (apdu_sw(x->rsp, x->rn) != apdu_sw(rsp, rn))
			printf("  SW: recorded %04X, target %04X\n", apdu_sw(x->rsp, x->rn), apdu_sw(rsp, rn));
		else
			printf("  SW: %04X both; the data differ\n", apdu_sw(rsp, rn));
		hex_of(x->rsp ? x->rsp : (const uint8_t *)"", x->rsp ? x->rn : 0, &h1);
		hex_of(rsp, rn, &h2);
		printf("  recorded: %s\n  target:   %s\n", h1 ? h1 : "?", h2 ? h2 : "?");
	}
	if (ndiff)
		printf("%s: %zu exchanges, %zu differ (the first at exchange %zu)\n", a.file, nex, ndiff, first);
	else
		printf("%s: %zu exchanges, every response as recorded\n", a.file, nex);
	free(h1), free(h2), free(hc);
	link_close(l);
	trc_free(&t);
	return ndiff ? 1 : 0;
}

static int cmd_export(int argc, char **argv)
{
	targs_t a = { 0 };
	trc_t t = { 0 };
	char err[1024];
	enum trc_pcap_kind kind = TRC_PCAP_ISO14443;
	int rc = parse(argc, argv, &a, "oFra");

	if (rc)
		return rc < 0 ? 2 : 0;
	if (!a.out)
		return usage("export needs -o OUT.pcapng");
	if (a.as && !strcmp(a.as, "usbccid"))
		kind = TRC_PCAP_USBCCID;
	else if (a.as && strcmp(a.as, "iso14443"))
		return usage("--as takes iso14443 or usbccid");
	if (load(&a, &t) < 0)
		return 2;
	rc = trc_export_pcapng(&t, a.out, kind, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "mynahil: %s\n", err);
	trc_free(&t);
	return rc < 0 ? 2 : 0;
}

static int cmd_show(int argc, char **argv)
{
	targs_t a = { 0 };
	trc_t t = { 0 };
	unsigned ctx = 0;
	char name[64], detail[256], *hc = NULL, *hr = NULL;
	int rc = parse(argc, argv, &a, "Fr");

	if (rc)
		return rc < 0 ? 2 : 0;
	if (load(&a, &t) < 0)
		return 2;
	for (size_t i = 0; i < t.n; i++) {
		const trc_rec_t *x = &t.v[i];
		if (x->event) {
			printf("%4zu %-5s -- %s\n", i + 1, x->role ? x->role : "", x->event);
			if (!strncmp(x->event, "power", 5))
				ctx = 0;
			continue;
		}
		hex_of(x->cmd, x->cn, &hc);
		hex_of(x->rsp ? x->rsp : (const uint8_t *)"", x->rsp ? x->rn : 0, &hr);
		res_apdu_decode(x->plain ? x->plain : hc ? hc : "", &ctx, name, sizeof name, detail, sizeof detail);
		printf("%4zu %-5s %s%s%s%s -> %s %s\n", i + 1, x->role ? x->role : "", name, *detail ? " (" : "", detail,
		       *detail ? ")" : "", x->rsp && hr && strlen(hr) >= 4 ? hr + strlen(hr) - 4 : "----",
		       res_sw_text(x->rsp ? hr : NULL));
		printf("     %s%s\n", x->plain ? "wire  " : "", hc ? hc : "");
		if (x->plain)
			printf("     plain %s\n", x->plain);
	}
	free(hc), free(hr);
	trc_free(&t);
	return 0;
}

int trace_main(int argc, char **argv)
{
	if (argc < 2)
		return usage("import, check, export or show?");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_trace, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "import"))
		return cmd_import(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "export"))
		return cmd_export(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	fprintf(stderr, "mynahil: trace: unknown subcommand '%s' (import, check, export, show)\n", argv[1]);
	return usage(NULL);
}
