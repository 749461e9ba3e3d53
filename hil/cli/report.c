/* report.c — `mynahil report diff|merge` and `mynahil doctor`.
 *
 * The report commands read what runs wrote (record.json, traces/); the
 * doctor asks a bench, before a campaign, whether each target is there
 * and is what the campaign expects, changing nothing on it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/cli/cli.h"
#include "hil/base/util.h"
#include "hil/fixtures/profile.h"
#include "hil/link/link.h"
#include "hil/run/preflight.h"
#include "hil/run/runner.h"

static const char usage_report[] =
	"usage: mynahil report diff OLD NEW [--html FILE]\n"
	"       mynahil report merge DIR... --out DIR\n"
	"\n"
	"diff: what changed from the run whose reports are in OLD to the one in NEW\n"
	"(directories a run's --out wrote): runs that newly fail or pass, appear or\n"
	"vanish, status words that changed in the traces, durations that moved\n"
	"beyond noise.  Text on standard output; --html FILE writes it as a page.\n"
	"exit status: 0 nothing regressed, 1 a run newly fails or vanished, 2 error\n"
	"\n"
	"merge: the reports of shards (mynahil run --shard I/N --out DIR) put\n"
	"together into --out as one run's junit.xml, results.json, results.tap,\n"
	"record.json, report.html and traces/, as an unsharded run writes them\n"
	"(timing aside).\n"
	"exit status: 0 merged, 2 error (a directory that is not a shard of the run)\n";

static const char usage_doctor[] =
	"usage: mynahil doctor [--bench FILE] [--target ROLE=URI]... [--profile FILE] [--seed S]\n"
	"\n"
	"Checks a bench before a campaign: each bound reader present and its card\n"
	"answering, its ATR (ATR set) and token as the card profile says\n"
	"(--profile, or the URI's ?profile=), an se's IDm ending in its ?serial=, the\n"
	"PIN tries left (asked without spending one), the TSM and CA reachable.  One\n"
	"line per role, \"ok\" or \"PROBLEM\" and what is wrong.  Without a binding the\n"
	"card is sim:card.\n"
	"\n"
	"exit status: 0 no problem, 1 a problem, 2 usage error\n";

static int usage_err(const char *msg, const char *usage)
{
	fprintf(stderr, "mynahil: %s\n\n%s", msg, usage);
	return 2;
}

static int cmd_diff(int argc, char **argv)
{
	const char *html = NULL, *pos[2];
	char err[1024];
	int npos = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--html") && i + 1 < argc)
			html = argv[++i];
		else if (argv[i][0] == '-' || npos == 2)
			return usage_err("report diff takes OLD NEW [--html FILE]", usage_report);
		else
			pos[npos++] = argv[i];
	}
	if (npos != 2)
		return usage_err("report diff takes OLD NEW [--html FILE]", usage_report);
	rc = report_diff(pos[0], pos[1], stdout, html, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "mynahil: report diff: %s\n", err);
		return 2;
	}
	return rc;
}

static int cmd_merge(int argc, char **argv)
{
	char **dirs = calloc((size_t)argc + 1, sizeof *dirs), err[1024];
	const char *out = NULL;
	size_t n = 0;
	int rc = 0;

	if (!dirs)
		return 2;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] == '-')
			rc = usage_err("report merge takes DIR... --out DIR", usage_report);
		else
			dirs[n++] = argv[i];
	}
	if (!rc && (!out || !n))
		rc = usage_err("report merge needs at least one DIR and --out DIR", usage_report);
	for (size_t i = 0; !rc && i < n; i++)
		if (!strcmp(dirs[i], out))
			rc = usage_err("report merge: --out must not be one of the shards", usage_report);
	if (!rc && report_merge(dirs, n, out, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: report merge: %s\n", err);
		rc = 2;
	}
	if (!rc)
		printf("%zu shard%s merged into %s/\n", n, n == 1 ? "" : "s", out);
	free(dirs);
	return rc;
}

int report_main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "diff"))
		return cmd_diff(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "merge"))
		return cmd_merge(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_report, stdout);
		return 0;
	}
	return usage_err("report takes diff or merge", usage_report);
}

/* ---- doctor ---- */

/* What the card profile bound to the card says it is: its ATR set and
 * token, checked against what the card answered (facts).  The set's
 * contact ATR or, through a contactless reader, the ATR built from its
 * ATQB both name it ("ATR set NAME"; no set's name begins another's). */
static void check_profile(const char *file, const char *facts, char *problem, size_t cap)
{
	char err[512], want[64];
	profile_t *p = profile_load_partial(file, err, sizeof err); /* a real card's: what is known */
	const card_profile_t *c;

	if (!p) {
		snprintf(problem, cap, "profile %s: %s", file, err);
		return;
	}
	c = profile_card(p);
	snprintf(want, sizeof want, "ATR set %s", card_atr_set(c->atr_set) ? card_atr_set(c->atr_set)->name : "?");
	if (profile_gives_atr_set(p) && !strstr(facts, want))
		snprintf(problem, cap, "the ATR is not the profile's (%s)", want);
	snprintf(want, sizeof want, "token %s", c->token ? c->token : "JPKIAPICCTOKEN2");
	if (!problem[0] && !strstr(facts, want))
		snprintf(problem, cap, "the card is not the profile's (%s expected)", want);
	profile_free(p);
}

/* One role: its line, and 1 if it has a problem. */
static int doctor_role(const binding_t *b, const char *profile, uint64_t seed)
{
	char facts[1024] = "", problem[1100] = "", prof[512] = "", err[600];
	const char *q;

	if (!strcmp(b->role, "tsm") || !strcmp(b->role, "ca")) {
		scen_env_t env = { .seed = seed, .bind = b, .nbind = 1 };
		if (preflight_probe(&env, err, sizeof err) < 0)
			snprintf(problem, sizeof problem, "%s", err);
		else
			snprintf(facts, sizeof facts, "%s", !strncmp(b->uri, "sim", 3) ? "the simulator" : "reachable");
	} else if (runner_probe_link(b->role, b->uri, seed, 1, facts, sizeof facts) < 0) {
		snprintf(problem, sizeof problem, "%s", facts);
		facts[0] = 0;
	} else {
		q = link_query(b->uri + strcspn(b->uri, ":"));
		if (!strcmp(b->role, "card")) {
			if (!profile && q && util_query_get(q + 1, "profile", prof, sizeof prof) == 1)
				profile = prof;
			if (profile)
				check_profile(profile, facts, problem, sizeof problem);
			if (!problem[0] && strstr(facts, "tries left 0"))
				snprintf(problem, sizeof problem, "a PIN is blocked (tries left 0)");
		} else if (!strcmp(b->role, "se") && q && util_query_get(q + 1, "serial", prof, sizeof prof) == 1) {
			const char *idm = strstr(facts, "IDm ");
			if (!idm || strncasecmp(idm + 4 + 8, prof, 8))
				snprintf(problem, sizeof problem, "the IDm does not end in the bound serial %s", prof);
		}
	}
	if (problem[0])
		printf("PROBLEM %-5s %s: %s%s%s\n", b->role, b->uri, problem, facts[0] ? "; " : "", facts);
	else
		printf("ok      %-5s %s: %s\n", b->role, b->uri, facts);
	return problem[0] != 0;
}

int doctor_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bench", required_argument, 0, 'B' },	  { "target", required_argument, 0, 'T' },
		{ "profile", required_argument, 0, 'p' }, { "seed", required_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' },	  { 0, 0, 0, 0 },
	};
	static char roles[8][32];
	binding_t b[16];
	size_t n = 0;
	const char *bench = NULL, *profile = NULL;
	char err[1024];
	uint64_t seed = 0;
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'B': bench = optarg; break;
		case 'p': profile = optarg; break;
		case 's':
			if (util_parse_u64(optarg, &seed))
				return usage_err("--seed takes a number", usage_doctor);
			break;
		case 'T': {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof roles[0] || n == 8)
				return usage_err("--target takes ROLE=URI (at most 8)", usage_doctor);
			snprintf(roles[n], sizeof roles[n], "%.*s", (int)(eq - optarg), optarg);
			b[n].role = roles[n];
			b[n].uri = eq + 1;
			if (preflight_binding(b[n].role, b[n].uri, err, sizeof err) < 0)
				return usage_err(err, usage_doctor);
			n++;
			break;
		}
		case 'h': fputs(usage_doctor, stdout); return 0;
		default: return usage_err("unknown option", usage_doctor);
		}
	}
	if (optind < argc)
		return usage_err("doctor takes no arguments", usage_doctor);
	if (bench && cli_load_bench(bench, b, &n, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: --bench %s\n", err);
		return 2;
	}
	if (!n)
		b[n++] = (binding_t){ .role = "card", .uri = "sim:card" };
	for (size_t i = 0; i < n; i++)
		bad |= doctor_role(&b[i], profile, seed);
	printf("%s\n", bad ? "the bench has problems: fix them before the campaign" : "the bench is ready");
	return bad;
}
