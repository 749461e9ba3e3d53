/* progress.c — what the terminal shows while a run goes on.
 *
 * Not a tty (CI logs): one TAP-like line per scenario as it finishes, the
 * failed expects under it as comments.  A tty: one status line rewritten
 * in place, with failures printed above it in full so they stay on screen.
 *
 * The closing line is read by CI tooling as "N passed, N failed, N
 * skipped"; an error counts as failed there (it is a failure to whoever
 * reads the line), and it is always the last line printed. */
#include "reports/results.h"

#include <stdlib.h>

/* Private to reports/ (see text.c). */
void res_fput_oneline(FILE *f, const char *s, int tap);
void res_run_count(const res_run_t *run, size_t count[4]);

struct report_progress {
	FILE *f;
	int tty;
	int drawn;   /* a status line is on screen, without newline */
	size_t total;
	size_t done; /* scenarios seen so far, also the TAP test number */
	size_t passed, failed, skipped;
};

report_progress_t *report_progress_new(FILE *f, size_t total, int tty)
{
	report_progress_t *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->f = f;
	p->total = total;
	p->tty = tty;
	return p;
}

/* "ok 3 - CARD-03 title", with "# SKIP reason" for a skip. */
static void put_tap_line(report_progress_t *p, const res_scenario_t *s, int ok)
{
	fprintf(p->f, "%s %zu - ", ok ? "ok" : "not ok", p->done);
	res_fput_oneline(p->f, s->id, 1);
	if (s->id && s->title)
		fputc(' ', p->f);
	res_fput_oneline(p->f, s->title, 1);
	if (s->status == RES_SKIP) {
		fputs(" # SKIP", p->f);
		if (s->reason) {
			fputc(' ', p->f);
			res_fput_oneline(p->f, s->reason, 0);
		}
	}
	fputc('\n', p->f);
}

/* The why of a failure, as TAP comments: the reason (an error's cause),
 * then "#   file:line: msg" per failed expect. */
static void put_why(report_progress_t *p, const res_scenario_t *s)
{
	size_t i;

	if (s->reason) {
		fputs("#   ", p->f);
		res_fput_oneline(p->f, s->reason, 0);
		fputc('\n', p->f);
	}
	for (i = 0; i < s->nexpects; i++) {
		const res_expect_t *e = &s->expects[i];
		char where[4200];

		if (e->ok)
			continue;
		fputs("#   ", p->f);
		res_fput_oneline(p->f, res_expect_where(e, where, sizeof where), 0);
		fputs(": ", p->f);
		res_fput_oneline(p->f, e->msg ? e->msg : e->what, 0);
		fputc('\n', p->f);
	}
}

/* Return to column 0 and clear the status line, so what follows starts on
 * a clean line. */
static void erase_status(report_progress_t *p)
{
	if (p->drawn)
		fputs("\r\033[K", p->f);
	p->drawn = 0;
}

static void draw_status(report_progress_t *p, const res_scenario_t *s)
{
	fprintf(p->f, "[%zu/%zu] %zu passed, %zu failed", p->done, p->total,
		p->passed, p->failed);
	if (p->skipped)
		fprintf(p->f, ", %zu skipped", p->skipped);
	fputs(" \xE2\x80\x94 ", p->f); /* em dash */
	res_fput_oneline(p->f, s->id ? s->id : s->file, 0);
	p->drawn = 1;
}

void report_progress_one(report_progress_t *p, const res_scenario_t *s)
{
	int ok = s->status == RES_PASS || s->status == RES_SKIP;

	if (!p || !s)
		return;
	p->done++;
	if (s->status == RES_PASS)
		p->passed++;
	else if (s->status == RES_SKIP)
		p->skipped++;
	else
		p->failed++;
	if (!p->tty) {
		put_tap_line(p, s, ok);
		if (!ok)
			put_why(p, s);
	} else {
		erase_status(p);
		if (!ok) {
			put_tap_line(p, s, ok);
			put_why(p, s);
		}
		draw_status(p, s);
	}
	/* The point is to be seen while the run goes on. */
	fflush(p->f);
}

void report_progress_end(report_progress_t *p, const res_run_t *run)
{
	size_t passed, failed, skipped;

	if (!p)
		return;
	if (run) {
		size_t c[4];

		/* The run is the authority: it also holds scenarios that never
		 * reached report_progress_one (a crashed shard, say). */
		res_run_count(run, c);
		passed = c[RES_PASS];
		failed = c[RES_FAIL] + c[RES_ERROR];
		skipped = c[RES_SKIP];
	} else {
		passed = p->passed;
		failed = p->failed;
		skipped = p->skipped;
	}
	erase_status(p);
	fprintf(p->f, "%zu passed, %zu failed, %zu skipped\n", passed, failed,
		skipped);
	fflush(p->f);
	free(p);
}
