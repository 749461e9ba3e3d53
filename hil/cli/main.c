/* main.c — the mynahil command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "hil/link/link.h"
#include "hil/run/preflight.h"
#include "hil/run/runner.h"
#include "hil/base/fault.h"
#include "hil/sweep/sweep.h"
#include "hil/cli/cli.h"
#include "hil/base/util.h"
#include "sim/core/apdu.h"
#include "sim/core/mutate.h"

#define MAX_BIND 8

static const char usage_main[] =
	"usage: mynahil COMMAND [OPTIONS]\n"
	"\n"
	"A test bench for the My Number card and smartphone JPKI.\n"
	"\n"
	"commands:\n"
	"  run [PATH...]     run scenarios (files or directories) and write reports\n"
	"  list [PATH...]    list the scenarios that would run\n"
	"  apdu --target URI send hex APDUs, one per line, print the responses\n"
	"  report diff|merge compare two runs' reports, merge the reports of shards\n"
	"  trace import|check|export|show\n"
	"                    field captures in, replayed against a target, out as pcapng\n"
	"  incident pack|replay|minimise\n"
	"                    a run in one file, made again elsewhere; a failing trace\n"
	"                    or fault plan shrunk to what still fails\n"
	"  doctor            check a bench before a campaign\n"
	"  readers           list the PC/SC readers (with their cards) and libnfc devices\n"
	"  profile from-card write what a card shows (ATR, EF sizes, token) as profile fields\n"
	"  serve card|se|ios|pn532|ca|tsm|wallet\n"
	"                    serve a simulator: card, se, ios to pcscd (vpcd), pn532 to\n"
	"                    libnfc (pty), ca, tsm and wallet over HTTP\n"
	"\n"
	"  mynahil COMMAND --help   options of one command\n"
	"  mynahil --version        mynahil's version, git commit, library versions\n";

static const char usage_run[] =
	"usage: mynahil run [PATH...] [OPTIONS]\n"
	"\n"
	"PATH is a scenario file or a directory searched for *.lua (lib/ directories\n"
	"are skipped); the default is ./scenarios.\n"
	"\n"
	"  --out DIR          reports: junit.xml, results.json, results.tap (build/reports)\n"
	"  -j, --jobs N       scenario processes at once (1)\n"
	"  --filter REGEX     only scenarios whose \"id file title\" matches\n"
	"  --tags A,B         only scenarios carrying one of these tags\n"
	"  --seed S           the run's seed, decimal or 0x-hex (0)\n"
	"  --shard I/N        run the I-th of N shards (1-based)\n"
	"  --target [ROLE=]URI bind a role to a target; ROLE defaults to card\n"
	"                     (default card=sim:card).  Roles: card, se (links:\n"
	"                     sim:card, sim:se, pcsc:READER, nfc:DRIVER:PORT, with\n"
	"                     ?profile=, &state=, &serial=, ?type=), tsm, ca\n"
	"                     (services: sim or http://HOST:PORT).  Each bound\n"
	"                     target is opened once before the first scenario\n"
	"  --bench FILE       bind roles from a bench file, a Lua table such as\n"
	"                     return { card = \"pcsc:Virtual PCD\" }; --target wins\n"
	"  --timeout S        wall-clock limit per scenario in seconds (60); a scenario's\n"
	"                     own timeout may lower it, never raise it\n"
	"  --budget N         Lua instructions per scenario (2000000000)\n"
	"  --memory MIB       Lua memory per scenario in MiB (512)\n"
	"  --no-isolate       run in this process instead of one process each\n"
	"  --policy K=V       pin a policy switch for the run (repeatable; the switches:\n"
	"                     docs/domain.md#policy-switches); a scenario declaring\n"
	"                     another value only is skipped\n"
	"  --paranoid         check the invariants (docs/domain.md#invariants) after\n"
	"                     every step, not only at the end of each scenario\n"
	"                     (docs/invariants.md)\n"
	"  --keep-devices     leave a bound SE as the scenarios left it (no clearing\n"
	"                     before and after each; docs/bench.md), e.g. to save a\n"
	"                     phone's state with se=sim:se?state=FILE\n"
	"  --save-state       keep the state= images of the bound simulators as the run\n"
	"                     found them, in OUT/state-before/ (for mynahil incident pack)\n"
	"  --fault SPEC       inject a fault (repeatable; docs/faults.md): ROLE:apdu=N:\n"
	"                     power|remove|unplug|sw=XXXX|flip[=BIT]|truncate[=N]|\n"
	"                     delay=Tms, ROLE:nvm=K:tear (simulators), tsm|ca:req=N:\n"
	"                     drop-before|drop-after|http=5xx|delay=Tms; ROLE is card,\n"
	"                     card2, se, se2.  A fault that never fired is a warning\n"
	"  --fault-strict     a fault that never fired fails its scenario\n"
	"  --tear-sweep       for each scenario (one at a time): count the NVM writes of\n"
	"                     every simulated device, then rerun it once per write, torn\n"
	"                     there (ROLE:nvm=K:tear), and check the invariants after\n"
	"                     each; reports every tear point that broke one (-j runs\n"
	"                     the points in parallel; docs/faults.md)\n"
	"  --tear-sample N    with --tear-sweep: N points per device, evenly spread,\n"
	"                     instead of every one\n"
	"  --redact           mask PINs (the data of VERIFY, CHANGE REFERENCE DATA, RESET\n"
	"                     RETRY COUNTER) in traces and reports, lengths kept\n"
	"                     (docs/bench.md); without it traces hold PINs in clear\n"
	"  --trace pcapng     also write traces/ID.pcapng (ISO 14443 framing, a named\n"
	"                     interface per role, times) for tshark and Wireshark\n"
	"                     (docs/traces.md)\n"
	"  --matrix           run each scenario under every combination of the switches\n"
	"                     it declares in policies = { ... } (pinned ones fixed); each\n"
	"                     is a result of its own, ID[switch=value,...]\n"
	"\n"
	"exit status: 0 all passed or skipped, 1 a scenario failed, 2 usage error,\n"
	"a target that does not answer or nothing selected; 128+N stopped by\n"
	"signal N (reports written, the rest marked not run)\n";

static const char usage_list[] =
	"usage: mynahil list [PATH...] [OPTIONS]\n"
	"\n"
	"Prints the scenarios run would run, one a line, and the ones it would\n"
	"skip with the reason.  Takes run's selection options:\n"
	"\n"
	"  --filter REGEX, --tags A,B, --shard I/N, --policy K=V, --matrix,\n"
	"  --target [ROLE=]URI, --bench FILE   as for run (mynahil run --help)\n"
	"\n"
	"exit status: 0 listed, 1 a scenario does not load, 2 usage error or\n"
	"nothing selected\n";

static const char usage_apdu[] =
	"usage: mynahil apdu --target URI|--bench FILE [--profile FILE] [--state FILE] [-v] [FILE|-]\n"
	"\n"
	"Reads one hex APDU per line (blanks and # comments ignored) from FILE or\n"
	"standard input and prints, per command, the whole response in upper-case\n"
	"hex with the status word as its last four digits.\n"
	"\n"
	"  --target URI    e.g. sim:card, sim:card?profile=fixtures/profiles/bob.lua,\n"
	"                  pcsc:Virtual PCD (the first PC/SC reader whose name matches)\n"
	"  --bench FILE    take the target from the card role of a bench file\n"
	"  --profile FILE  card profile for a sim: target\n"
	"  --state FILE    NVM image: loaded if it exists, saved at the end\n"
	"  --seed S        seed of the simulator's random values (0)\n"
	"  --timeout MS    per-command timeout (5000)\n"
	"  -v              print the command and the time taken too\n"
	"\n"
	"exit status: 0 every line answered, 1 a line failed, 2 usage or target error\n";

/* One line saying what is wrong and where the options are, not the
 * whole usage: the error must be the thing a user sees. */
static int bad_usage(const char *msg, const char *usage)
{
	const char *cmd = usage == usage_run ? " run" : usage == usage_list ? " list" : usage == usage_apdu ? " apdu" : "";

	if (msg) /* NULL: getopt has said it */
		fprintf(stderr, "mynahil: %s\n", msg);
	fprintf(stderr, "(mynahil%s --help for the %s)\n", cmd, *cmd ? "options" : "commands");
	return 2;
}

/* --target [ROLE=]URI into b; -1 with err naming what is wrong. */
static int add_binding(binding_t *b, size_t *n, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	const char *colon = strchr(arg, ':');
	static char roles[MAX_BIND][32];

	if (*n == MAX_BIND) {
		snprintf(err, errlen, "--target: more than %d bindings", MAX_BIND);
		return -1;
	}
	if (eq && (!colon || eq < colon)) {
		size_t len = (size_t)(eq - arg);
		if (len == 0 || len >= sizeof roles[0]) {
			snprintf(err, errlen, "--target %.100s: no role before '=' or a role too long", arg);
			return -1;
		}
		memcpy(roles[*n], arg, len);
		roles[*n][len] = 0;
		b[*n].role = roles[*n];
		b[*n].uri = eq + 1;
	} else {
		b[*n].role = "card";
		b[*n].uri = arg;
	}
	if (preflight_binding(b[*n].role, b[*n].uri, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(b[i].role, b[*n].role)) {
			b[i].uri = b[*n].uri; /* the last binding of a role wins */
			return 0;
		}
	(*n)++;
	return 0;
}

/* A bench file: a Lua chunk returning { role = "URI", ... }.  Pure data:
 * loaded as text, with an empty environment and an instruction limit. */
#define BENCH_MAX_INSTR 1000000
#define BENCH_URI_MAX 1024

static void bench_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	luaL_error(L, "too much computation for a bench file");
}

static int cmp_role(const void *a, const void *b)
{
	return strcmp(((const binding_t *)a)->role, ((const binding_t *)b)->role);
}

/* Adds the bench file's bindings for the roles b[0..*n) does not bind
 * yet (an explicit --target wins), in role order.  -1 with err set. */
int cli_load_bench(const char *file, binding_t *b, size_t *n, char *err, size_t errlen)
{
	static char roles[MAX_BIND][32], uris[MAX_BIND][BENCH_URI_MAX];
	char why[512];
	binding_t found[MAX_BIND];
	size_t nfound = 0, nexplicit = *n;
	lua_State *L = luaL_newstate();
	int rc = -1;

	if (!L) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	if (luaL_loadfilex(L, file, "t") != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		goto out;
	}
	lua_newtable(L);
	lua_setupvalue(L, -2, 1); /* _ENV = {} */
	lua_sethook(L, bench_hook, LUA_MASKCOUNT, BENCH_MAX_INSTR);
	if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		snprintf(err, errlen, "%s%s%s", strncmp(msg, file, strlen(file)) ? file : "",
			 strncmp(msg, file, strlen(file)) ? ": " : "", msg);
		goto out;
	}
	lua_sethook(L, NULL, 0, 0);
	if (!lua_istable(L, -1)) {
		snprintf(err, errlen, "%s: must return a table of role = \"URI\"", file);
		goto out;
	}
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		const char *role, *uri;
		size_t rlen, ulen, i;

		if (lua_type(L, -2) != LUA_TSTRING) {
			snprintf(err, errlen, "%s: keys must be role names", file);
			goto out;
		}
		role = lua_tolstring(L, -2, &rlen);
		if (lua_type(L, -1) != LUA_TSTRING) {
			snprintf(err, errlen, "%s: role %s: expected a target URI string", file, role);
			goto out;
		}
		uri = lua_tolstring(L, -1, &ulen);
		if (rlen == 0 || rlen >= sizeof roles[0] || strspn(role, "abcdefghijklmnopqrstuvwxyz0123456789_") != rlen) {
			snprintf(err, errlen, "%s: '%s' is not a role name (lower-case letters, digits, _)", file, role);
			goto out;
		}
		if (ulen == 0 || ulen >= BENCH_URI_MAX) {
			snprintf(err, errlen, "%s: role %s: empty or over-long URI", file, role);
			goto out;
		}
		if (preflight_binding(role, uri, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", file, why);
			goto out;
		}
		for (i = 0; i < nexplicit && strcmp(b[i].role, role); i++)
			;
		if (i == nexplicit) {
			if (nexplicit + nfound == MAX_BIND) {
				snprintf(err, errlen, "%s: more than %d roles", file, MAX_BIND);
				goto out;
			}
			memcpy(roles[nfound], role, rlen + 1);
			memcpy(uris[nfound], uri, ulen + 1);
			found[nfound].role = roles[nfound];
			found[nfound].uri = uris[nfound];
			nfound++;
		}
		lua_pop(L, 1);
	}
	qsort(found, nfound, sizeof *found, cmp_role);
	for (size_t i = 0; i < nfound; i++)
		b[(*n)++] = found[i];
	rc = 0;
out:
	lua_close(L);
	return rc;
}

/* --policy K=V into pin; -1 with err naming the valid choices. */
static int pin_policy(pol_set_t pin, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char name[64], choices[512];
	int sw, v;

	snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
	if ((sw = pol_find(name)) < 0) {
		pol_choices(-1, choices, sizeof choices);
		snprintf(err, errlen, "--policy: unknown switch '%.60s'; the switches are %s", name, choices);
		return -1;
	}
	pol_choices(sw, choices, sizeof choices);
	if (!eq || (v = pol_value(sw, eq + 1)) < 0) {
		snprintf(err, errlen, "--policy: %s takes %s%s%.100s%s", name, choices, eq ? ", not '" : " (K=V)",
			 eq ? eq + 1 : "", eq ? "'" : "");
		return -1;
	}
	pin[sw] = (unsigned char)(v + 1); /* the last one of a switch wins */
	return 0;
}

/* --mutate NAME (hidden: docs/mutations.md): plant one defect in the
 * simulators for this run; the forked scenario processes inherit it.
 * -1 after saying why (an unknown name, a build without the hooks). */
static int select_mutation(const char *name)
{
	int m = mut_select(name);

	if (m > MUT_NONE)
		fprintf(stderr, "mynahil: mutation %s in effect: %s\n", name, mut_what((enum mut)m));
	if (m >= 0)
		return 0;
	fprintf(stderr, "mynahil: --mutate %s: %s; the mutations are:\n", name,
		mut_built() ? "no such mutation" : "this build has no mutation hooks (MYNAHIL_MUTANTS=OFF)");
	for (m = MUT_NONE + 1; m < MUT_COUNT; m++)
		fprintf(stderr, "  %-16s %s\n", mut_name((enum mut)m), mut_what((enum mut)m));
	return -1;
}

static int cmd_run(int argc, char **argv, int list_only)
{
	static const struct option opts[] = {
		{ "out", required_argument, 0, 'o' },	 { "jobs", required_argument, 0, 'j' },
		{ "filter", required_argument, 0, 'f' }, { "tags", required_argument, 0, 't' },
		{ "seed", required_argument, 0, 's' },	 { "shard", required_argument, 0, 'S' },
		{ "target", required_argument, 0, 'T' }, { "timeout", required_argument, 0, 'w' },
		{ "budget", required_argument, 0, 'b' }, { "no-isolate", no_argument, 0, 'n' },
		{ "bench", required_argument, 0, 'B' },	 { "help", no_argument, 0, 'h' },
		{ "memory", required_argument, 0, 'm' }, { "policy", required_argument, 0, 'P' },
		{ "matrix", no_argument, 0, 'M' },	 { "mutate", required_argument, 0, 'X' },
		{ "paranoid", no_argument, 0, 'Q' },	 { "redact", no_argument, 0, 'R' },
		{ "keep-devices", no_argument, 0, 'K' }, { "save-state", no_argument, 0, 'V' },
		{ "trace", required_argument, 0, 'A' },
		{ "fault", required_argument, 0, 'F' },	 { "fault-strict", no_argument, 0, 'Y' },
		{ "tear-sweep", no_argument, 0, 'W' },	 { "tear-sample", required_argument, 0, 'G' },
		{ 0, 0, 0, 0 },
	};
	static fault_plan_t plan; /* --fault: the run's plan, for the run's lifetime */
	int tear_sweep = 0;
	long tear_sample = 0;
	static char *default_paths[] = { "scenarios" };
	const char *usage = list_only ? usage_list : usage_run;
	const char *bench = NULL;
	char err[1024];
	binding_t bind[MAX_BIND];
	size_t nbind = 0;
	runner_opts_t o = { .jobs = 1, .isolate = 1 };
	uint64_t u;
	int c;

	o.env.out = "build/reports";
	o.env.budget = 2000000000LL;
	o.env.timeout_s = 60;
	o.env.memory = (size_t)512 << 20;
	while ((c = getopt_long(argc, argv, "j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.env.out = optarg; break;
		case 'j':
			if (util_parse_u64(optarg, &u) || u < 1 || u > 64)
				return bad_usage("--jobs takes a number from 1 to 64", usage);
			o.jobs = (int)u;
			break;
		case 'f': o.filter = optarg; break;
		case 't': o.tags = optarg; break;
		case 's':
			if (util_parse_u64(optarg, &o.env.seed))
				return bad_usage("--seed takes a number (decimal or 0x-hex)", usage);
			break;
		case 'S':
			if (sscanf(optarg, "%d/%d", &o.shard_i, &o.shard_n) != 2 || o.shard_n < 1 ||
			    o.shard_i < 1 || o.shard_i > o.shard_n)
				return bad_usage("--shard takes I/N with 1 <= I <= N", usage);
			break;
		case 'T':
			if (add_binding(bind, &nbind, optarg, err, sizeof err) < 0)
				return bad_usage(err, usage);
			break;
		case 'w':
			if (util_parse_u64(optarg, &u) || u < 1 || u > 86400)
				return bad_usage("--timeout takes seconds from 1 to 86400", usage);
			o.env.timeout_s = (int)u;
			break;
		case 'b':
			if (util_parse_u64(optarg, &u) || u < 1 || u > 1000000000000000ULL)
				return bad_usage("--budget takes a number from 1 to 10^15", usage);
			o.env.budget = (long long)u;
			break;
		case 'm':
			if (util_parse_u64(optarg, &u) || u < 16 || u > 65536)
				return bad_usage("--memory takes MiB from 16 to 65536", usage);
			o.env.memory = (size_t)u << 20;
			break;
		case 'n': o.isolate = 0; break;
		case 'M': o.matrix = 1; break;
		case 'Q': o.env.paranoid = 1; break;
		case 'R': o.env.redact = 1; break;
		case 'K': o.env.keep_devices = 1; break;
		case 'V': o.save_state = 1; break;
		case 'A':
			if (strcmp(optarg, "pcapng"))
				return bad_usage("--trace takes pcapng (traces/ID.jsonl is always written)", usage);
			o.env.trace_pcapng = 1;
			break;
		case 'X':
			if (select_mutation(optarg) < 0)
				return 2;
			break;
		case 'P':
			if (pin_policy(o.pin, optarg, err, sizeof err) < 0)
				return bad_usage(err, usage);
			break;
		case 'F':
			if (list_only)
				return bad_usage("--fault is for run", usage);
			if (fault_plan_add(&plan, optarg, err, sizeof err) < 0)
				return bad_usage(err, usage);
			o.env.faults = &plan;
			break;
		case 'Y': o.env.fault_strict = 1; break;
		case 'W': tear_sweep = 1; break;
		case 'G':
			if (util_parse_u64(optarg, &u) || u < 1 || u > 1000000)
				return bad_usage("--tear-sample takes a number of points from 1", usage);
			tear_sample = (long)u;
			break;
		case 'B': bench = optarg; break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default: return bad_usage(NULL, usage);
		}
	}
	if (bench && cli_load_bench(bench, bind, &nbind, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: --bench %s\n", err);
		return 2;
	}
	{
		int has_card = 0;
		for (size_t i = 0; i < nbind; i++)
			has_card |= !strcmp(bind[i].role, "card");
		if (!has_card) /* the card is sim:card unless bound (--target tsm=... alone) */
			add_binding(bind, &nbind, "card=sim:card", err, sizeof err);
	}
	o.env.bind = bind;
	o.env.nbind = nbind;
	o.paths = optind < argc ? argv + optind : default_paths;
	o.npaths = optind < argc ? (size_t)(argc - optind) : 1;
	if (tear_sample && !tear_sweep)
		return bad_usage("--tear-sample goes with --tear-sweep", usage);
	if (tear_sweep && (list_only || plan.n))
		return bad_usage(list_only ? "--tear-sweep is for run"
					   : "--tear-sweep makes its own faults; it takes no --fault", usage);
	if (tear_sweep)
		return sweep_run(&o, tear_sample);
	return list_only ? runner_list(&o, stdout) : runner_run(&o);
}

/* One input line: strip the comment and blanks; empty means skip. */
static char *clean_line(char *s)
{
	char *hash = strchr(s, '#');
	if (hash)
		*hash = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	return s;
}

enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL };

/* One line of in into buf (at most cap - 1 bytes, NUL-terminated, its
 * newline dropped).  A longer line, or one with a NUL byte, is read to
 * its end and reported: cut, either would send something else than
 * what the line says. */
static int read_line(FILE *in, char *buf, size_t cap)
{
	size_t n = 0;
	int c, rc = LINE_OK;

	while ((c = getc(in)) != EOF && c != '\n') {
		if (rc != LINE_OK)
			continue; /* the rest of a bad line */
		if (c == 0)
			rc = LINE_NUL;
		else if (n + 1 >= cap)
			rc = LINE_LONG;
		else
			buf[n++] = (char)c;
	}
	buf[n] = 0;
	return c == EOF && n == 0 && rc == LINE_OK ? LINE_EOF : rc;
}

/* "FILE:LINE: what is wrong; then" (then: what became of the input). */
static int bad_line(const char *name, unsigned long lineno, int why, size_t cap, const char *then)
{
	if (why == LINE_LONG)
		fprintf(stderr, "%s:%lu: line longer than %zu bytes; %s\n", name, lineno, cap - 1, then);
	else
		fprintf(stderr, "%s:%lu: NUL byte in the line (not a text file?); %s\n", name, lineno, then);
	return 1;
}

/* A regular file is read through once before anything is sent: input
 * that is not lines of text (a binary file, a line too long) is refused
 * whole rather than sent in part.  A pipe is taken line by line, as it
 * comes (a session can be driven interactively); there, such a line
 * ends the session.  Returns 0, or 1 when refused. */
static int check_lines(FILE *in, const char *name, char *line, size_t cap)
{
	struct stat st;
	unsigned long lineno = 0;
	long start;
	int r;

	if (fstat(fileno(in), &st) < 0 || !S_ISREG(st.st_mode) || (start = ftell(in)) < 0)
		return 0;
	while ((r = read_line(in, line, cap)) != LINE_EOF) {
		lineno++;
		if (r != LINE_OK)
			return bad_line(name, lineno, r, cap, "nothing sent");
	}
	if (fseek(in, start, SEEK_SET) < 0) {
		fprintf(stderr, "mynahil: %s: cannot read it again\n", name);
		return 1;
	}
	return 0;
}

static int cmd_apdu(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, 0, 'T' }, { "profile", required_argument, 0, 'p' },
		{ "state", required_argument, 0, 'S' },	 { "seed", required_argument, 0, 's' },
		{ "timeout", required_argument, 0, 'w' }, { "bench", required_argument, 0, 'B' },
		{ "help", no_argument, 0, 'h' },	  { 0, 0, 0, 0 },
	};
	const char *target = NULL, *name = "<stdin>", *bench = NULL;
	link_opts_t lo = { .label = "apdu" };
	uint64_t timeout = 5000;
	int verbose = 0, c, rc = 0;
	unsigned long lineno = 0;
	char err[512], line[4 * APDU_MAX_DATA + 64];
	static uint8_t cmd[APDU_MAX_DATA + 16], rsp[LINK_RSP_MAX];
	static char hex[2 * LINK_RSP_MAX + 1];
	link_t *l;
	FILE *in = stdin;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'T': target = optarg; break;
		case 'p': lo.profile = optarg; break;
		case 'S': lo.state = optarg; break;
		case 's':
			if (util_parse_u64(optarg, &lo.seed))
				return bad_usage("--seed takes a number", usage_apdu);
			break;
		case 'w':
			if (util_parse_u64(optarg, &timeout) || timeout < 1 || timeout > 600000)
				return bad_usage("--timeout takes milliseconds from 1 to 600000", usage_apdu);
			break;
		case 'v': verbose = 1; break;
		case 'B': bench = optarg; break;
		case 'h': fputs(usage_apdu, stdout); return 0;
		default: return bad_usage(NULL, usage_apdu);
		}
	}
	if (!target && bench) {
		binding_t b[MAX_BIND];
		size_t nb = 0;
		if (cli_load_bench(bench, b, &nb, err, sizeof err) < 0) {
			fprintf(stderr, "mynahil: --bench %s\n", err);
			return 2;
		}
		for (size_t i = 0; i < nb; i++)
			if (!strcmp(b[i].role, "card"))
				target = b[i].uri;
		if (!target) {
			fprintf(stderr, "mynahil: --bench %s: binds no card role\n", bench);
			return 2;
		}
	}
	if (!target)
		return bad_usage("--target is required (or --bench FILE)", usage_apdu);
	if (optind < argc)
		name = argv[optind];
	if (optind < argc && strcmp(argv[optind], "-") && !(in = fopen(name, "r"))) {
		fprintf(stderr, "mynahil: %s: cannot open\n", name);
		return 2;
	}
	if (check_lines(in, name, line, sizeof line)) {
		if (in != stdin)
			fclose(in);
		return 1;
	}
	if (link_open(&l, target, &lo, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: %s\n", err);
		if (in != stdin)
			fclose(in);
		return 2;
	}
	while ((c = read_line(in, line, sizeof line)) != LINE_EOF) {
		char *s = clean_line(line);
		size_t rn = 0;
		long n;

		lineno++;
		if (c != LINE_OK) {
			rc = bad_line(name, lineno, c, sizeof line, "nothing after it sent");
			break;
		}
		if (!*s)
			continue;
		n = apdu_unhex(s, cmd, sizeof cmd);
		if (n < 4) {
			fprintf(stderr, "%s:%lu: not a hex APDU: %s\n", name, lineno, s);
			rc = 1;
			continue;
		}
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (link_transmit(l, cmd, (size_t)n, rsp, sizeof rsp, &rn, (int)timeout) < 0) {
			fprintf(stderr, "%s:%lu: %s\n", name, lineno, link_error(l));
			rc = 1;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		apdu_hex(rsp, rn, hex);
		if (verbose) {
			double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
			apdu_hex(cmd, (size_t)n, line);
			printf("%s -> %s (%.3f ms)\n", line, hex, ms);
		} else {
			printf("%s\n", hex);
		}
		fflush(stdout); /* a line per answer, also into a pipe */
	}
	if (in != stdin)
		fclose(in);
	link_close(l);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return bad_usage("no command", usage_main);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
		return cli_version(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1, 0);
	if (!strcmp(argv[1], "list"))
		return cmd_run(argc - 1, argv + 1, 1);
	if (!strcmp(argv[1], "apdu"))
		return cmd_apdu(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return check_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "serve"))
		return serve_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return report_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "trace"))
		return trace_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "incident"))
		return incident_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "doctor"))
		return doctor_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "readers"))
		return readers_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "profile"))
		return profile_main(argc - 1, argv + 1);
	fprintf(stderr, "mynahil: unknown command '%s'\n", argv[1]);
	return bad_usage(NULL, usage_main);
}
