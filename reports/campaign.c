/* campaign.c — the campaign matrix: the seven certificate operations
 * (docs/domain.md#operations, the study's §1) against the fifteen
 * smartphone life-cycle cases (docs/domain.md#cases, §2), and which
 * results cover each cell.  report.html draws it, `mynahil list --matrix`
 * prints it as text.
 *
 * A scenario covers cell (operation, case) when it declares both; one
 * that declares operations only lands in the "no case" column, cases
 * only in the "no operation" row. */
#include "reports/results.h"

#include <string.h>

/* Private to reports/ (see text.c); the html writer uses them too. */
extern const char *const res_op_names[7], *const res_op_titles[7], *const res_case_titles[15];
int res_op_index(const char *name);
int res_covers(const res_scenario_t *s, int op, int c);

/* The names are the ones scenario headers use (hil/run/policy.c checks
 * them); the titles are the study's words (docs/domain.md#sources). */
const char *const res_op_names[7] = {
	"issue", "revoke", "renew", "reissue", "suspend_resume", "pin_reset", "pin_change",
};
const char *const res_op_titles[7] = {
	"issue (発行)", "revoke (失効)", "renew (更新)", "reissue (再発行)",
	"suspend / resume (一時保留 / 解除)", "PIN reset (PIN初期化)", "PIN change (PIN変更)",
};
const char *const res_case_titles[15] = {
	"model change Android → Android", "model change Android → iOS", "MNP between MNOs, new phone",
	"MNP MNO ⇔ MVNO, new phone", "failure (故障)", "loss, not found (紛失)",
	"temporary loss (一時紛失)", "transfer by resale (転売)", "transfer between individuals (個人間譲渡)",
	"SIM unlock for an MNO change", "SIM unlock MNO ⇔ MVNO", "same-group MVNO SIM, no unlock",
	"Wi-Fi only use of an old phone", "remote lock by the carrier", "disposal (破棄)",
};

int res_op_index(const char *name)
{
	for (int i = 0; i < 7; i++)
		if (name && !strcmp(name, res_op_names[i]))
			return i;
	return -1;
}

/* op -1: the "no operation" row; c 0: the "no case" column. */
int res_covers(const res_scenario_t *s, int op, int c)
{
	int has_op = op < 0 ? s->nops == 0 : 0, has_case = c == 0 ? s->ncases == 0 : 0;

	if (s->nops == 0 && s->ncases == 0)
		return 0; /* outside the campaign matrix altogether */
	for (size_t i = 0; op >= 0 && i < s->nops; i++)
		has_op |= res_op_index(s->ops[i]) == op;
	for (size_t i = 0; c > 0 && i < s->ncases; i++)
		has_case |= s->cases[i] == c;
	return has_op && has_case;
}

/* The ids of run's results in cell (op, c), ", "-separated, at most
 * cap bytes; returns how many. */
static size_t cell_ids(const res_run_t *run, int op, int c, char *buf, size_t cap)
{
	size_t n = 0, off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < run->n; i++) {
		if (!res_covers(&run->sc[i], op, c))
			continue;
		if (off < cap)
			off += (size_t)snprintf(buf + off, cap - off, "%s%s", n ? ", " : "",
						run->sc[i].id ? run->sc[i].id : "?");
		n++;
	}
	return n;
}

void res_coverage_text(FILE *f, const res_run_t *run)
{
	char ids[4096];
	size_t uncovered = 0, outside = 0;

	fputs("\ncoverage: the operations (§1, docs/domain.md#operations) x cases (§2, "
	      "docs/domain.md#cases); a number is how many runs cover the cell, '.' an uncovered cell, "
	      "'-' no case or no operation declared\n\n", f);
	fprintf(f, "%-16s", "operation\\case");
	for (int c = 1; c <= 15; c++)
		fprintf(f, "%3d", c);
	fputs("  -\n", f);
	for (int op = 0; op <= 7; op++) {
		int o = op < 7 ? op : -1;
		fprintf(f, "%-16s", o >= 0 ? res_op_names[o] : "-");
		for (int c = 1; c <= 16; c++) {
			size_t n = cell_ids(run, o, c % 16, ids, sizeof ids);
			if (n)
				fprintf(f, "%3zu", n);
			else
				fprintf(f, "%3s", ".");
			uncovered += !n && o >= 0 && c < 16;
		}
		fputc('\n', f);
	}
	fputs("\ncells:\n", f);
	for (int op = 0; op <= 7; op++)
		for (int c = 1; c <= 16; c++) {
			int o = op < 7 ? op : -1;
			if (cell_ids(run, o, c % 16, ids, sizeof ids))
				fprintf(f, "  %s x %s: %s\n", o >= 0 ? res_op_names[o] : "(no operation)",
					c < 16 ? res_case_titles[c - 1] : "(no case)", ids);
		}
	fputs("\nuncovered:\n", f);
	for (int c = 1; c <= 15; c++) {
		int any = 0;
		for (int o = -1; o < 7 && !any; o++)
			any = cell_ids(run, o, c, ids, sizeof ids) > 0;
		if (!any)
			fprintf(f, "  case %d (%s): no scenario\n", c, res_case_titles[c - 1]);
	}
	for (int o = 0; o < 7; o++) {
		int any = 0;
		for (int c = 0; c <= 15 && !any; c++)
			any = cell_ids(run, o, c, ids, sizeof ids) > 0;
		if (!any)
			fprintf(f, "  operation %s: no scenario\n", res_op_titles[o]);
	}
	for (size_t i = 0; i < run->n; i++)
		outside += run->sc[i].nops == 0 && run->sc[i].ncases == 0;
	fprintf(f, "  %zu of 105 cells (operation x case) uncovered; %zu runs declare no case or operation\n",
		uncovered, outside);
}
