/* bench_report.c — report.html for a run of N scenarios with traces
 * (issue 15: 1,000 in under 2 s).
 *
 * Usage: bench_report DIR [N]
 * Writes DIR/traces/ID.jsonl (100 exchanges each, a campaign's mix of
 * card and SE commands, some 256-byte responses) and times the writing of
 * DIR/report.html; prints "report_html_s SECONDS" and "report_bytes N". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hil/base/util.h"
#include "reports/results.h"

#define EXCHANGES 100

static const char *const cmds[] = {
	"00A4040C0AD392F000260100000001", "00A4020C020018", "002000800431323334", "00A4020C020017",
	"802A00803330310D06096086480165030402010500042092E05C6EDCEEE7D8D0D1E69551C1CDD3A12B6FD3A36B878E23DE3DB6539DAFBB00",
	"8050300008A1B2C3D4E5F6A7B8", "8482330010AABBCCDDEEFF00112233445566778899", "84E2880012AABBCCDDEEFF",
};

static void write_trace(const char *dir, const char *id)
{
	char path[4096], sig[1100];
	FILE *f;

	for (int i = 0; i < 512; i++)
		sig[i] = "0123456789ABCDEF"[i % 16];
	strcpy(sig + 512, "9000");
	snprintf(path, sizeof path, "%s/traces/%s.jsonl", dir, id);
	if (!(f = fopen(path, "w")))
		return;
	for (int n = 1; n <= EXCHANGES; n++) {
		int k = n % (int)(sizeof cmds / sizeof cmds[0]);
		fprintf(f, "{\"n\":%d,\"link\":\"%s\",\"cmd\":\"%s\",\"rsp\":\"%s\"}\n", n,
			k >= 5 ? "sim:se?serial=0746C916" : "sim:card", cmds[k], k == 4 ? sig : n % 17 ? "9000" : "63C2");
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	static const char *const ops[] = { "issue", "revoke", "renew" };
	const char *dir = argc > 1 ? argv[1] : "bench-report";
	size_t n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 1000;
	res_run_t run = { .seed = 1, .target = strdup("card=sim:card"), .dir = dir };
	char tdir[4096], id[32], where[64];
	int64_t t0;
	struct stat st;

	snprintf(tdir, sizeof tdir, "%s/traces", dir);
	if (util_mkdirs(tdir) < 0 || !(run.sc = calloc(n + 1, sizeof *run.sc)))
		return 1;
	run.version = strdup("bench");
	run.command = strdup("mynahil run scenarios --seed 1");
	res_add_role(&run, "card", "sim:card", "ATR 3BDA13FF8131FB468012392F31C173C601C03B");
	for (size_t i = 0; i < n; i++) {
		res_scenario_t *s = &run.sc[run.n++];
		snprintf(id, sizeof id, "BENCH-%04zu", i);
		s->id = strdup(id);
		s->file = strdup("scenarios/bench.lua");
		s->title = strdup("a scenario of the bench");
		s->status = i % 50 == 7 ? RES_FAIL : RES_PASS;
		s->ms = (double)(i % 97);
		s->apdus = EXCHANGES;
		s->cases = malloc(sizeof *s->cases);
		s->cases[s->ncases++] = (int)(i % 15) + 1;
		s->ops = malloc(sizeof *s->ops);
		s->ops[s->nops++] = strdup(ops[i % 3]);
		for (int e = 0; e < 10; e++) {
			snprintf(where, sizeof where, "sw == %s", e == 9 && s->status == RES_FAIL ? "9000" : "9000");
			res_add_expect(s, "scenarios/bench.lua", 10 + e, !(e == 9 && s->status == RES_FAIL), where,
				       e == 9 && s->status == RES_FAIL ? "got 6982, want 9000" : NULL);
		}
		write_trace(dir, id);
	}
	t0 = util_now_ms();
	if (report_write_file(&report_html, &run, dir) < 0)
		return 1;
	printf("report_html_s %.3f\n", (double)(util_now_ms() - t0) / 1000);
	snprintf(tdir, sizeof tdir, "%s/report.html", dir);
	if (stat(tdir, &st) == 0)
		printf("report_bytes %lld\n", (long long)st.st_size);
	res_run_clear(&run);
	return 0;
}
