/* sweep.c — the tear sweep (sweep.h, docs/faults.md).
 *
 * Each point is a whole run of the scenario under one fault,
 * ROLE:nvm=K:tear, in a child process of the runner's pool: the device
 * loses power in the middle of its K-th NVM write step, answers nothing
 * to that command, powers up again before the next (its NVM journal
 * rolls back what was half written), and the scenario goes on — the app
 * retries a flow the tear broke, as a user would (scenarios/lib/app.lua)
 * — to its end, where the oracle checks the invariants.  A point fails
 * the sweep when an invariant is violated, when its tear did not happen
 * (the counting run said the write was there: the run is not
 * deterministic) or when the run crashed.  A scenario whose own expects
 * fail after a tear is reported (the flow did not finish) but breaks no
 * invariant, so does not fail the sweep.
 *
 * A child answers with one line "writes ROLE=N ..." then the result's
 * JSON. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "hil/base/fault.h"
#include "hil/run/pool.h"
#include "hil/sweep/sweep.h"
#include "hil/base/util.h"

#define GRACE_S 2
#define MAX_DEV 8

typedef struct point {
	char role[8];
	long k;           /* 0: the counting run */
	res_scenario_t res;
	char writes[256]; /* what the child counted */
	int answered;     /* the child's answer was read */
	char why[512];    /* a crash, a kill */
} point_t;

typedef struct sweep {
	const runner_opts_t *o;
	const scen_meta_t *m;
	point_t *pt;
	size_t n;
	char dir[PATH_MAX];   /* OUT/tear/ID */
} sweep_t;

static void note_writes(void *ud, const fault_live_t *fl, const res_scenario_t *res)
{
	(void)res;
	fault_live_writes_str(fl, ud, 256);
}

static void point_dir(const sweep_t *s, const point_t *p, char *out, size_t cap)
{
	if (p->k)
		snprintf(out, cap, "%.3000s/%s-%ld", s->dir, p->role, p->k);
	else
		snprintf(out, cap, "%.3000s/count", s->dir);
}

static void work(void *ud, size_t i, int fd)
{
	sweep_t *s = ud;
	point_t *p = &s->pt[i];
	scen_env_t env = s->o->env;
	fault_plan_t plan = { 0 };
	res_scenario_t res = { 0 };
	char out[PATH_MAX], spec[64], err[256], writes[256] = "", *json;

	point_dir(s, p, out, sizeof out);
	env.out = out;
	env.fault_strict = 1;
	env.fault_watch = 1;
	env.fault_done = note_writes;
	env.fault_ud = writes;
	env.faults = NULL;
	if (p->k) {
		snprintf(spec, sizeof spec, "%s:nvm=%ld:tear", p->role, p->k);
		if (fault_plan_add(&plan, spec, err, sizeof err) < 0)
			_exit(3);
		env.faults = &plan;
	}
	scen_run(s->m, &env, &res);
	json = res_scenario_to_json(&res);
	dprintf(fd, "writes %s\n", writes);
	if (json)
		pool_write_all(fd, json, strlen(json));
	free(json);
	res_scenario_clear(&res);
	fault_plan_free(&plan);
}

static int64_t limit(void *ud, size_t i)
{
	(void)i;
	return (int64_t)(((sweep_t *)ud)->m->timeout_s + GRACE_S) * 1000;
}

static void done(void *ud, size_t i, const char *out, size_t len, int status, int killed, int64_t ms)
{
	sweep_t *s = ud;
	point_t *p = &s->pt[i];
	const char *nl = memchr(out, '\n', len);

	(void)ms;
	if (killed || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !nl || strncmp(out, "writes ", 7) ||
	    res_scenario_from_json(&p->res, nl + 1, len - (size_t)(nl + 1 - out)) < 0) {
		if (killed)
			snprintf(p->why, sizeof p->why, "killed after %d s (a hang)", s->m->timeout_s + GRACE_S);
		else if (WIFSIGNALED(status))
			snprintf(p->why, sizeof p->why, "the run died of signal %d (%s)", WTERMSIG(status),
				 strsignal(WTERMSIG(status)));
		else
			snprintf(p->why, sizeof p->why, "the run exited with status %d and no result",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return;
	}
	snprintf(p->writes, sizeof p->writes, "%.*s", (int)(nl - out - 7), out + 7);
	p->answered = 1;
}

/* "card=12 se=340" into roles and counts. */
static size_t parse_writes(const char *s, char roles[][8], long *counts)
{
	size_t n = 0;

	while (*s && n < MAX_DEV) {
		char role[8];
		long c;
		int used;
		if (sscanf(s, "%7[a-z0-9]=%ld%n", role, &c, &used) != 2)
			break;
		snprintf(roles[n], 8, "%s", role);
		counts[n++] = c;
		s += used;
		s += strspn(s, " ");
	}
	return n;
}

/* The first invariant this point's run violated, or NULL. */
static const res_expect_t *broken(const res_scenario_t *r)
{
	for (size_t i = 0; i < r->nexpects; i++)
		if (!r->expects[i].ok && r->expects[i].file && !strcmp(r->expects[i].file, RES_INVARIANT_FILE))
			return &r->expects[i];
	return NULL;
}

/* The first of the scenario's own expects that failed, or NULL. */
static const res_expect_t *first_failed(const res_scenario_t *r)
{
	for (size_t i = 0; i < r->nexpects; i++)
		if (!r->expects[i].ok)
			return &r->expects[i];
	return NULL;
}

/* The tear's own record: fired (ok) or not. */
static const res_expect_t *tear_record(const res_scenario_t *r)
{
	for (size_t i = 0; i < r->nexpects; i++)
		if (r->expects[i].what && !strncmp(r->expects[i].what, "fault ", 6))
			return &r->expects[i];
	return NULL;
}

static void reproduce(const runner_opts_t *o, const scen_meta_t *m, const point_t *p, FILE *f)
{
	runner_opts_t one = *o;
	char *const paths[] = { m->file };
	fault_plan_t plan = { 0 };
	char spec[64], err[256], *cmd;

	snprintf(spec, sizeof spec, "%s:nvm=%ld:tear", p->role, p->k);
	fault_plan_add(&plan, spec, err, sizeof err);
	one.paths = paths;
	one.npaths = 1;
	one.filter = NULL;
	one.tags = NULL;
	one.env.faults = &plan;
	one.env.fault_strict = 1;
	if ((cmd = runner_command(&one))) {
		fprintf(f, "    reproduce: %s\n", cmd);
		free(cmd);
	}
	fault_plan_free(&plan);
}

/* One scenario's sweep; returns 0, 1 (a point broke something) or 2. */
static int sweep_one(const runner_opts_t *o, const scen_meta_t *m, long sample, int64_t *npoints)
{
	static const pool_ops_t ops = { work, limit, done };
	sweep_t s = { .o = o, .m = m };
	char roles[MAX_DEV][8], fname[200];
	long counts[MAX_DEV];
	size_t ndev, total = 0;
	size_t nbroken = 0, nflow = 0, nbad = 0;
	int rc = 0;
	int64_t t0 = util_now_ms();

	scen_file_name(m->id, fname, sizeof fname);
	snprintf(s.dir, sizeof s.dir, "%.2000s/tear/%s", o->env.out, fname);
	if (util_rmtree(s.dir) < 0 || util_mkdirs(s.dir) < 0) {
		fprintf(stderr, "mynahil: %s: %s\n", s.dir, strerror(errno));
		return 2;
	}
	/* the counting run */
	if (!(s.pt = calloc(1, sizeof *s.pt)))
		return 2;
	s.n = 1;
	if (pool_run(1, 1, &ops, &s) != 0 || !s.pt[0].answered) {
		printf("%s: the counting run did not finish: %s\n", m->id, s.pt[0].why[0] ? s.pt[0].why : "stopped");
		res_scenario_clear(&s.pt[0].res);
		free(s.pt);
		return util_stop ? 128 + (int)util_stop : 1;
	}
	if (s.pt[0].res.status != RES_PASS) {
		int skip = s.pt[0].res.status == RES_SKIP;
		if (skip)
			printf("%s: skipped: %s\n", m->id, s.pt[0].res.reason ? s.pt[0].res.reason : "");
		else
			printf("%s: fails without a tear (%s: %s): nothing to sweep; see %s/count\n", m->id,
			       res_status_name(s.pt[0].res.status), s.pt[0].res.reason ? s.pt[0].res.reason : "", s.dir);
		res_scenario_clear(&s.pt[0].res);
		free(s.pt);
		return skip ? 0 : 1;
	}
	ndev = parse_writes(s.pt[0].writes, roles, counts);
	res_scenario_clear(&s.pt[0].res);
	free(s.pt);
	for (size_t d = 0; d < ndev; d++)
		total += (size_t)(sample && sample < counts[d] ? sample : counts[d]);
	printf("%s: NVM writes %s: %zu tear point%s%s\n", m->id, ndev ? "" : "(none)", total, total == 1 ? "" : "s",
	       sample ? " (sampled)" : "");
	for (size_t d = 0; d < ndev; d++)
		printf("  %s: %ld write%s\n", roles[d], counts[d], counts[d] == 1 ? "" : "s");
	if (!total)
		return 0;
	/* the points: every write, or sample of them evenly spread (the
	 * first and the last always among them) */
	if (!(s.pt = calloc(total, sizeof *s.pt)))
		return 2;
	s.n = 0;
	for (size_t d = 0; d < ndev; d++) {
		long take = sample && sample < counts[d] ? sample : counts[d];
		for (long j = 0; j < take; j++) {
			point_t *p = &s.pt[s.n++];
			snprintf(p->role, sizeof p->role, "%s", roles[d]);
			p->k = take == counts[d] ? j + 1 : take == 1 ? 1 : 1 + j * (counts[d] - 1) / (take - 1);
		}
	}
	if (pool_run(s.n, o->jobs, &ops, &s) != 0)
		rc = util_stop ? 128 + (int)util_stop : 2;
	for (size_t i = 0; i < s.n; i++) {
		point_t *p = &s.pt[i];
		const res_expect_t *inv = p->answered ? broken(&p->res) : NULL;
		const res_expect_t *tear = p->answered ? tear_record(&p->res) : NULL;
		char where[4200], dir[PATH_MAX];

		point_dir(&s, p, dir, sizeof dir);
		if (!p->answered && !util_stop) {
			printf("  %s:nvm=%ld:tear: %s\n", p->role, p->k, p->why);
			reproduce(o, m, p, stdout);
			nbad++;
		} else if (!p->answered) {
			continue;
		} else if (!tear || !tear->ok) {
			printf("  %s:nvm=%ld:tear: the tear did not happen (the counting run had %s)\n", p->role, p->k,
			       "this write");
			reproduce(o, m, p, stdout);
			nbad++;
		} else if (inv) {
			printf("  %s:nvm=%ld:tear: broke %s: %s\n", p->role, p->k,
			       res_expect_where(inv, where, sizeof where), inv->msg ? inv->msg : "violated");
			printf("    %s\n    trace: %s/traces/\n", tear->what, dir);
			reproduce(o, m, p, stdout);
			nbroken++;
		} else {
			if (p->res.status != RES_PASS) {
				/* named, so that a flow a tear stops for good is seen
				 * (its directory is not kept: rerun it alone) */
				const res_expect_t *e = first_failed(&p->res);
				nflow++;
				printf("  %s:nvm=%ld:tear: the flow did not finish (invariants held): %s%s%s\n", p->role,
				       p->k, e ? res_expect_where(e, where, sizeof where) : res_status_name(p->res.status),
				       e || p->res.reason ? ": " : "",
				       e ? (e->msg ? e->msg : e->what ? e->what : "failed") : p->res.reason ? p->res.reason : "");
			}
			util_rmtree(dir); /* held: its files are not evidence of anything */
		}
		res_scenario_clear(&p->res);
	}
	printf("%s: %zu tear point%s in %.1f s: %zu broke an invariant, %zu other failure%s, %zu where the "
	       "scenario's own checks failed after the tear (invariants held)\n",
	       m->id, s.n, s.n == 1 ? "" : "s", (double)(util_now_ms() - t0) / 1000.0, nbroken, nbad,
	       nbad == 1 ? "" : "s", nflow);
	*npoints += (int64_t)s.n;
	free(s.pt);
	if (!rc && (nbroken || nbad))
		rc = 1;
	return rc;
}

int sweep_run(const runner_opts_t *o, long sample)
{
	scen_meta_t *v = NULL;
	size_t n = 0;
	int rc = 0;
	int64_t points = 0, t0 = util_now_ms();

	util_stop_on_signals();
	if (util_mkdirs(o->env.out) < 0) {
		fprintf(stderr, "mynahil: --out %s: %s\n", o->env.out, strerror(errno));
		return 2;
	}
	if (runner_select(o, &v, &n) < 0)
		return util_stop ? 128 + (int)util_stop : 2;
	for (size_t i = 0; i < n && !util_stop; i++) {
		int r;
		if (v[i].error || v[i].skip) {
			printf("%s: %s\n", v[i].id, v[i].error ? v[i].error : v[i].skip);
			if (v[i].error)
				rc = rc ? rc : 1;
			continue;
		}
		r = sweep_one(o, &v[i], sample, &points);
		if (r > rc)
			rc = r;
	}
	printf("tear sweep: %lld point%s in %.1f s, seed %llu: %s\n", (long long)points, points == 1 ? "" : "s",
	       (double)(util_now_ms() - t0) / 1000.0, (unsigned long long)o->env.seed,
	       rc == 0 ? "no invariant broken" : rc == 1 ? "FAILED" : "stopped");
	for (size_t i = 0; i < n; i++)
		scen_meta_clear(&v[i]);
	free(v);
	return rc;
}
