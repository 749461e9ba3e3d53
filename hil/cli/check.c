/* check.c — `mynahil check`: the five invariants (docs/domain.md#invariants)
 * against a bench (a served TSM and CA, SEs and cards through pcsc:, nfc: or
 * sim:), by running one built-in scenario (scenarios/lib/bench_check.lua) whose
 * end-of-run checks are the invariants themselves (docs/invariants.md).
 * The bench flag lets them observe real links by APDUs and power-cycle
 * them (invariant 5). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/base/util.h"
#include "hil/cli/cli.h"
#include "hil/run/runner.h"

#define CHECK_MAX_BIND 8

static const char usage_check[] =
	"usage: mynahil check [--target ROLE=URI ...] [--out DIR] [--seed S]\n"
	"\n"
	"Check the five invariants (docs/domain.md#invariants) against a bench: the TSM registry, the\n"
	"CA (status, linkage, OCSP), each bound SE (applet, slots, PIN counters)\n"
	"and card (PIN counters, across a power cycle).\n"
	"\n"
	"  --target ROLE=URI  tsm=http://HOST:PORT, ca=http://HOST:PORT, se=URI,\n"
	"                     card=URI (pcsc:READER, nfc:..., sim:...); repeatable\n"
	"  --out DIR          reports (build/check)\n"
	"  --seed S           seed of anything simulated (0)\n"
	"\n"
	"exit status: 0 every invariant holds, 1 one is violated, 2 usage error or\n"
	"a target that does not answer.\n";

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "mynahil check: %s\n", why);
	fputs("(mynahil check --help for the options)\n", stderr);
	return 2;
}

static const char *check_file(void)
{
	const char *env = getenv("MYNAHIL_LIB");
	static char path[4096];

	snprintf(path, sizeof path, "%s/bench_check.lua", env && *env ? env : MYNAHIL_SOURCE_DIR "/scenarios/lib");
	return path;
}

int check_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, 0, 'T' }, { "out", required_argument, 0, 'o' },
		{ "seed", required_argument, 0, 's' },	 { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	static char roles[CHECK_MAX_BIND][16];
	binding_t bind[CHECK_MAX_BIND];
	char *paths[1];
	runner_opts_t o = { .jobs = 1, .isolate = 1 };
	size_t nbind = 0;
	int c;

	o.env.out = "build/check";
	o.env.budget = 2000000000LL;
	o.env.timeout_s = 120;
	o.env.memory = (size_t)512 << 20;
	o.env.bench = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'T': {
			const char *eq = strchr(optarg, '=');
			size_t n = eq ? (size_t)(eq - optarg) : 0;
			if (!eq || n == 0 || n >= sizeof roles[0] || !eq[1])
				return usage("--target takes ROLE=URI (tsm, ca, se, card)");
			if (nbind == CHECK_MAX_BIND)
				return usage("too many --target");
			memcpy(roles[nbind], optarg, n);
			roles[nbind][n] = 0;
			for (size_t i = 0; i < nbind; i++)
				if (!strcmp(bind[i].role, roles[nbind]))
					return usage("a role bound twice");
			bind[nbind].role = roles[nbind];
			bind[nbind].uri = eq + 1;
			nbind++;
			break;
		}
		case 'o': o.env.out = optarg; break;
		case 's':
			if (util_parse_u64(optarg, &o.env.seed))
				return usage("--seed takes a number (decimal or 0x-hex)");
			break;
		case 'h': fputs(usage_check, stdout); return 0;
		default: return usage(NULL);
		}
	}
	if (optind < argc)
		return usage("no paths: check runs its own scenario");
	paths[0] = (char *)check_file();
	o.env.bind = bind;
	o.env.nbind = nbind;
	o.paths = paths;
	o.npaths = 1;
	return runner_run(&o);
}
