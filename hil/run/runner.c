/* runner.c — discovery, selection, isolation and parallelism.
 *
 * Scenario files are code from strangers, so the runner never runs them
 * itself: each is read (its declarations) and then run in a forked
 * process that sends its answer back as JSON over a pipe; a crash, a
 * hang or a leak fails that scenario and nothing else.  The parent waits
 * with poll() and a deadline per child and SIGKILLs what outlives it —
 * the one limit a C-level loop (a pattern, a finaliser) cannot outrun. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hil/run/pool.h"
#include "hil/run/preflight.h"
#include "hil/run/lua/lhil.h"
#include "hil/run/runner.h"
#include "hil/base/util.h"

#define KILL_GRACE_S 2 /* beyond the in-process watchdog */


typedef struct list {
	char **v;
	size_t n, cap;
} list_t;

static int list_add(list_t *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	return (l->v[l->n] = strdup(s)) ? (int)l->n++ : -1;
}

static void list_free(list_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.lua below dir, except library directories (lib/). */
static int walk(const char *dir, list_t *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];
	struct stat st;

	if (!d) {
		fprintf(stderr, "mynahil: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (strcmp(e->d_name, "lib"))
				walk(path, out);
		} else if (n > 4 && !strcmp(e->d_name + n - 4, ".lua")) {
			list_add(out, path);
		}
	}
	closedir(d);
	return 0;
}

/* Overlapping paths (scenarios scenarios/card, ./x.lua x.lua) name one
 * file twice: it is selected once, under its first name. */
static void drop_same_files(list_t *files)
{
	char **real = calloc(files->n + 1, sizeof *real);
	size_t kept = 0;

	if (!real)
		return;
	for (size_t i = 0; i < files->n; i++) {
		size_t j;
		real[i] = realpath(files->v[i], NULL);
		for (j = 0; real[i] && j < i && (!real[j] || strcmp(real[i], real[j])); j++)
			;
		if (real[i] && j < i) {
			free(files->v[i]);
			continue;
		}
		files->v[kept++] = files->v[i];
	}
	for (size_t i = 0; i < files->n; i++)
		free(real[i]);
	free(real);
	files->n = kept;
}

static int discover(const runner_opts_t *o, list_t *files)
{
	for (size_t i = 0; i < o->npaths; i++) {
		struct stat st;
		char path[PATH_MAX];
		size_t n = strlen(o->paths[i]);

		snprintf(path, sizeof path, "%.*s", (int)(n > 1 && o->paths[i][n - 1] == '/' ? n - 1 : n),
			 o->paths[i]);
		if (stat(path, &st) < 0) {
			fprintf(stderr, "mynahil: %s: %s\n", path, strerror(errno));
			return -1;
		}
		if (S_ISDIR(st.st_mode) ? walk(path, files) < 0 : list_add(files, path) < 0)
			return -1;
	}
	if (files->n) /* an empty directory: v is NULL, which qsort may not take */
		qsort(files->v, files->n, sizeof *files->v, cmp_str);
	drop_same_files(files);
	return 0;
}

static int tag_selected(const scen_meta_t *m, const char *tags)
{
	char buf[512];

	if (!tags || !*tags)
		return 1;
	snprintf(buf, sizeof buf, "%s", tags);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (scen_has_tag(m, t))
			return 1;
	return 0;
}

/* Reports key results by id, so two scenarios with one id would hide
 * each other: the later file is an error. */
static void mark_duplicates(scen_meta_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++) {
			char why[1024];
			if (strcmp(v[i].id, v[j].id) || v[i].error)
				continue;
			snprintf(why, sizeof why, "%.400s:1: duplicate scenario id '%.100s' (also in %.400s)",
				 v[i].file, v[i].id, v[j].file);
			v[i].error = strdup(why);
			break;
		}
}

/* ---- the pool: items worked in child processes, -j at a time ---- */

typedef struct child {
	pid_t pid;
	int fd;
	size_t index;
	int64_t started, deadline;
	char *buf;
	size_t len, cap;
	int killed;
} child_t;

void pool_write_all(int fd, const char *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

static int start(child_t *c, const pool_ops_t *ops, void *ud, size_t i)
{
	int p[2];

	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (c->pid == 0) {
		struct rlimit no_core = { 0, 0 }, fsize = { 1ul << 30, 1ul << 30 };
		close(p[0]);
		/* A crashing scenario leaves no core behind, and no file it
		 * writes (io.open, a trace) can fill the disk. */
		setrlimit(RLIMIT_CORE, &no_core);
		setrlimit(RLIMIT_FSIZE, &fsize);
		util_default_signals(); /* ^C reaches it too: it dies of it */
		ops->work(ud, i, p[1]);
		close(p[1]);
		_exit(0);
	}
	close(p[1]);
	*c = (child_t){ .pid = c->pid, .fd = p[0], .index = i, .started = util_now_ms() };
	c->deadline = c->started + ops->limit_ms(ud, i);
	return 0;
}

/* Read what is there; returns 1 at EOF. */
static int drain(child_t *c)
{
	for (;;) {
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? 2 * c->cap : 16384;
			char *b = realloc(c->buf, cap);
			if (!b)
				return 1;
			c->buf = b;
			c->cap = cap;
		}
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 1;
		c->len += (size_t)r;
		return 0;
	}
}

static void reap(child_t *c, const pool_ops_t *ops, void *ud)
{
	int status = 0;

	close(c->fd);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	ops->done(ud, c->index, c->buf ? c->buf : "", c->len, status, c->killed, util_now_ms() - c->started);
	free(c->buf);
	memset(c, 0, sizeof *c);
}

/* SIGTERM/SIGINT (util_stop): every child killed and reaped — none is
 * left holding a reader — and told to done() as KILL_STOP. */
static void stop_all(child_t *kids, int jobs, const pool_ops_t *ops, void *ud)
{
	for (int k = 0; k < jobs; k++)
		if (kids[k].pid) {
			kill(kids[k].pid, SIGKILL);
			kids[k].killed = KILL_STOP;
			reap(&kids[k], ops, ud);
		}
}

int pool_run(size_t n, int jobs, const pool_ops_t *ops, void *ud)
{
	child_t kids[64] = { 0 };
	size_t next = 0, done = 0;

	jobs = jobs < 1 ? 1 : jobs > 64 ? 64 : jobs;
	while (done < n) {
		if (util_stop) {
			stop_all(kids, jobs, ops, ud);
			return 1;
		}
		struct pollfd pf[64];
		int map[64], np = 0;
		int64_t now, wait_ms = 1000;

		for (int j = 0; j < jobs && next < n; j++) {
			if (kids[j].pid)
				continue;
			if (start(&kids[j], ops, ud, next) < 0) {
				fprintf(stderr, "mynahil: cannot start a scenario process: %s\n", strerror(errno));
				for (int k = 0; k < jobs; k++)
					if (kids[k].pid) {
						kill(kids[k].pid, SIGKILL);
						reap(&kids[k], ops, ud);
					}
				return -1;
			}
			next++;
		}
		now = util_now_ms();
		for (int j = 0; j < jobs; j++) {
			if (!kids[j].pid)
				continue;
			pf[np] = (struct pollfd){ .fd = kids[j].fd, .events = POLLIN };
			map[np++] = j;
			if (kids[j].deadline - now < wait_ms)
				wait_ms = kids[j].deadline - now;
		}
		if (poll(pf, (nfds_t)np, wait_ms < 0 ? 0 : (int)wait_ms) < 0 && errno != EINTR)
			return -1;
		if (util_stop)
			continue; /* stopped at the top, children and all */
		now = util_now_ms();
		for (int k = 0; k < np; k++) {
			child_t *c = &kids[map[k]];
			int eof = 0;
			if (pf[k].revents & (POLLIN | POLLHUP | POLLERR))
				eof = drain(c);
			if (!eof && now > c->deadline) {
				kill(c->pid, SIGKILL);
				c->killed = KILL_DEADLINE;
				eof = 1;
			}
			if (!eof)
				continue;
			reap(c, ops, ud);
			done++;
		}
	}
	return 0;
}

/* Why a child gave no usable answer, in words. */
static void child_failure(char *why, size_t cap, const char *file, const char *doing, int status,
			  int killed, int64_t limit_ms)
{
	if (killed)
		snprintf(why, cap, "%s: watchdog: no result %s after %lld s; killed (a loop in C: a pattern, "
			 "a finaliser?)", file, doing, (long long)(limit_ms / 1000));
	else if (WIFSIGNALED(status))
		snprintf(why, cap, "%s: scenario process died of signal %d (%s) %s", file, WTERMSIG(status),
			 strsignal(WTERMSIG(status)), doing);
	else
		snprintf(why, cap, "%s: scenario process exited with status %d %s", file,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1, doing);
}

/* ---- reading declarations ---- */

typedef struct meta_job {
	const runner_opts_t *o;
	const list_t *files;
	scen_meta_t *v;
} meta_job_t;

static void meta_work(void *ud, size_t i, int fd)
{
	meta_job_t *j = ud;
	scen_meta_t m;
	char *json;

	scen_read_meta(j->files->v[i], &j->o->env, &m);
	json = scen_meta_to_json(&m);
	if (json)
		pool_write_all(fd, json, strlen(json));
	free(json);
	scen_meta_clear(&m);
}

static int64_t meta_limit(void *ud, size_t i)
{
	(void)i;
	return (int64_t)(((meta_job_t *)ud)->o->env.timeout_s + KILL_GRACE_S) * 1000;
}

static void meta_done(void *ud, size_t i, const char *out, size_t len, int status, int killed, int64_t ms)
{
	meta_job_t *j = ud;
	const char *file = j->files->v[i];
	char why[1024], *slash, *dot;

	(void)ms;
	if (!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    scen_meta_from_json(&j->v[i], file, out, len) == 0)
		return;
	child_failure(why, sizeof why, file, "while loading", status, killed, meta_limit(ud, i));
	memset(&j->v[i], 0, sizeof j->v[i]);
	j->v[i].file = strdup(file);
	slash = strrchr(file, '/');
	j->v[i].id = strdup(slash ? slash + 1 : file);
	if (j->v[i].id && (dot = strrchr(j->v[i].id, '.')))
		*dot = 0;
	j->v[i].title = strdup("");
	j->v[i].timeout_s = j->o->env.timeout_s;
	j->v[i].error = strdup(why);
}

/* Every file's declarations into v, each read in its own process under
 * the watchdog (in this one with --no-isolate). */
static int read_metas(const runner_opts_t *o, const list_t *files, scen_meta_t *v)
{
	static const pool_ops_t ops = { meta_work, meta_limit, meta_done };
	meta_job_t j = { o, files, v };

	if (!o->isolate) {
		for (size_t i = 0; i < files->n; i++)
			scen_read_meta(files->v[i], &o->env, &v[i]);
		return 0;
	}
	return pool_run(files->n, o->jobs, &ops, &j);
}

/* Discover, read declarations, filter.  Returns the selection, and in
 * *nfiles how many files there were to select from. */
static int select_scenarios(const runner_opts_t *o, scen_meta_t **out, size_t *count, size_t *nfiles)
{
	list_t files = { 0 };
	regex_t re;
	int have_re = 0, rc = -1;
	size_t kept = 0;
	scen_meta_t *v = NULL;

	if (o->filter && *o->filter) {
		if (regcomp(&re, o->filter, REG_EXTENDED | REG_NOSUB)) {
			fprintf(stderr, "mynahil: --filter: '%s' is not a valid regular expression\n", o->filter);
			return -1;
		}
		have_re = 1;
	}
	if (discover(o, &files) < 0)
		goto out;
	if (!(v = calloc(files.n + 1, sizeof *v)) || read_metas(o, &files, v) != 0)
		goto out; /* 1: stopped by a signal, before anything ran */
	for (size_t i = 0; i < files.n; i++) {
		scen_meta_t m = v[i];
		char hay[2048];

		memset(&v[i], 0, sizeof v[i]);
		snprintf(hay, sizeof hay, "%s %s %s", m.id, m.file, m.title);
		if ((have_re && regexec(&re, hay, 0, NULL, 0)) || !tag_selected(&m, o->tags)) {
			scen_meta_clear(&m);
			continue;
		}
		v[kept++] = m;
	}
	mark_duplicates(v, kept);
	*out = v;
	*count = kept;
	*nfiles = files.n;
	v = NULL;
	rc = 0;
out:
	for (size_t i = 0; v && i < files.n; i++)
		scen_meta_clear(&v[i]);
	free(v);
	list_free(&files);
	if (have_re)
		regfree(&re);
	return rc;
}

/* ---- the policy matrix ---- */

typedef struct metas {
	scen_meta_t *v;
	size_t n, cap;
} metas_t;

/* A copy of m under pol (and skip), its id suffixed with the switches of
 * mask ("TSM-03[half_valid=block]"). */
static int add_run(metas_t *out, const scen_meta_t *m, const pol_set_t pol, unsigned mask, const char *skip)
{
	scen_meta_t *c;
	char sfx[512];

	if (out->n == out->cap) {
		size_t cap = out->cap ? 2 * out->cap : 64;
		scen_meta_t *v = realloc(out->v, (cap + 1) * sizeof *v);
		if (!v)
			return -1;
		out->v = v;
		out->cap = cap;
	}
	c = &out->v[out->n];
	if (scen_meta_copy(c, m) < 0)
		return -1;
	out->n++;
	memcpy(c->pol, pol, sizeof c->pol);
	free(c->skip);
	c->skip = skip ? strdup(skip) : NULL;
	pol_format(pol, mask, sfx, sizeof sfx);
	if (sfx[0]) {
		size_t len = strlen(c->id) + strlen(sfx) + 3;
		char *id = malloc(len);
		if (!id)
			return -1;
		snprintf(id, len, "%s[%s]", c->id, sfx);
		free(c->id);
		c->id = id;
	}
	return 0;
}

/* "a or b" of the values in a supports mask. */
static void supported(unsigned char bits, int sw, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s", bits & 1 ? pol_switches[sw].values[0] : "", bits == 3 ? " or " : "",
		 bits & 2 ? pol_switches[sw].values[1] : "");
}

/* Each scenario once, under its policy: the fixed switches, the pinned
 * ones (--policy) and, for each switch it supports every listed value
 * of, with --matrix one run per combination (in the order of
 * docs/domain.md#policy-switches, the first switch slowest), without it its
 * default value if listed, else the first listed.  A pin the scenario does
 * not support makes it a skip. */
static int expand(const runner_opts_t *o, scen_meta_t *v, size_t n, metas_t *out)
{
	for (size_t i = 0; i < n; i++) {
		const scen_meta_t *m = &v[i];
		pol_set_t base = { 0 };
		unsigned mask = 0;
		char skip[512] = "", vals[64];
		int sws[POL_N], nsw = 0, at[POL_N] = { 0 };

		for (int s = 0; !m->error && s < POL_N; s++) {
			if (o->matrix && m->supports[s])
				mask |= 1u << s;
			if (o->pin[s]) {
				int pv = o->pin[s] - 1;
				if (!skip[0] && m->fixed[s] && m->fixed[s] != o->pin[s])
					snprintf(skip, sizeof skip, "runs under %s=%s only (--policy %s=%s)",
						 pol_switches[s].name, pol_switches[s].values[m->fixed[s] - 1],
						 pol_switches[s].name, pol_switches[s].values[pv]);
				else if (!skip[0] && m->supports[s] && !(m->supports[s] & (1u << pv))) {
					supported(m->supports[s], s, vals, sizeof vals);
					snprintf(skip, sizeof skip, "supports %s=%s only (--policy %s=%s)",
						 pol_switches[s].name, vals, pol_switches[s].name,
						 pol_switches[s].values[pv]);
				}
				base[s] = o->pin[s];
			} else if (m->fixed[s]) {
				base[s] = m->fixed[s];
			} else if (m->supports[s] && o->matrix) {
				sws[nsw++] = s;
			} else if (m->supports[s]) {
				base[s] = (m->supports[s] & 1) ? 1 : 2;
			}
		}
		if (m->error || skip[0]) {
			if (add_run(out, m, base, mask, skip[0] ? skip : NULL) < 0)
				return -1;
			continue;
		}
		/* at[k]: which of switch sws[k]'s supported values, odometer-wise */
		for (;;) {
			pol_set_t pol;
			int k;
			memcpy(pol, base, sizeof pol);
			for (k = 0; k < nsw; k++) {
				unsigned char bits = m->supports[sws[k]];
				int first = (bits & 1) ? 0 : 1;
				pol[sws[k]] = (unsigned char)(first + at[k] + 1);
			}
			if (add_run(out, m, pol, mask, NULL) < 0)
				return -1;
			for (k = nsw - 1; k >= 0; k--) {
				int count = m->supports[sws[k]] == 3 ? 2 : 1;
				if (++at[k] < count)
					break;
				at[k] = 0;
			}
			if (k < 0)
				break;
		}
	}
	return 0;
}

/* Two ids that make one file name (MX[a=b] and a scenario named MX_a_b_)
 * would share a run directory and a trace: the later is an error. */
static void mark_same_files(scen_meta_t *v, size_t n)
{
	char a[200], b[200], why[2048];

	for (size_t i = 1; i < n; i++) {
		scen_file_name(v[i].id, a, sizeof a);
		for (size_t j = 0; j < i && !v[i].error; j++) {
			scen_file_name(v[j].id, b, sizeof b);
			if (strcmp(a, b) || !strcmp(v[i].id, v[j].id))
				continue;
			snprintf(why, sizeof why, "%.400s:1: scenario id '%.200s' makes the same file name as '%.200s' "
				 "(%.400s)", v[i].file, v[i].id, v[j].id, v[j].file);
			v[i].error = strdup(why);
		}
	}
}

/* Says that nothing was selected, and from what. */
static void say_nothing(const runner_opts_t *o, size_t nfiles)
{
	fprintf(stderr, "mynahil: nothing selected: ");
	if (!nfiles) {
		fprintf(stderr, "no scenario file (*.lua outside lib/) in");
		for (size_t i = 0; i < o->npaths; i++)
			fprintf(stderr, " %s", o->paths[i]);
		fputc('\n', stderr);
		return;
	}
	fprintf(stderr, "none of %zu scenario files matches", nfiles);
	if (o->filter && *o->filter)
		fprintf(stderr, " --filter '%s'", o->filter);
	if (o->tags && *o->tags)
		fprintf(stderr, "%s --tags '%s'", o->filter && *o->filter ? " and" : "", o->tags);
	fputc('\n', stderr);
}

/* Shards split the runs after the matrix is expanded, round robin: their
 * sizes differ by one at most, and n shards together are the whole run. */
static void shard(const runner_opts_t *o, metas_t *runs)
{
	size_t kept = 0;

	if (o->shard_n <= 0)
		return;
	for (size_t i = 0; i < runs->n; i++) {
		if ((int)(i % (size_t)o->shard_n) == o->shard_i - 1)
			runs->v[kept++] = runs->v[i];
		else
			scen_meta_clear(&runs->v[i]);
	}
	if (!kept)
		fprintf(stderr, "mynahil: shard %d/%d: nothing to run (%zu runs in all, fewer than the shards)\n", o->shard_i,
		       o->shard_n, runs->n);
	runs->n = kept;
}

int runner_select(const runner_opts_t *o, scen_meta_t **out, size_t *count)
{
	scen_meta_t *v;
	size_t n, nfiles = 0;
	metas_t runs = { 0 };
	int rc;

	if (select_scenarios(o, &v, &n, &nfiles) < 0)
		return -1;
	if (!n) {
		say_nothing(o, nfiles);
		free(v);
		return -1;
	}
	rc = expand(o, v, n, &runs);
	for (size_t i = 0; i < n; i++)
		scen_meta_clear(&v[i]);
	free(v);
	if (rc < 0 || (!runs.v && !(runs.v = calloc(1, sizeof *runs.v)))) {
		for (size_t i = 0; i < runs.n; i++)
			scen_meta_clear(&runs.v[i]);
		free(runs.v);
		return -1;
	}
	mark_same_files(runs.v, runs.n);
	shard(o, &runs);
	*out = runs.v;
	*count = runs.n;
	return 0;
}

/* Each run's seed sections (§1 operations, §2 cases), then the matrix. */
static void list_coverage(const scen_meta_t *v, size_t n, FILE *out)
{
	res_run_t run = { .sc = calloc(n + 1, sizeof *run.sc) };

	if (!run.sc)
		return;
	fputs("\ntraceability: run, §1 operations (docs/domain.md#operations), §2 cases "
	      "(docs/domain.md#cases)\n", out);
	for (size_t i = 0; i < n; i++) {
		scen_meta_to_res(&v[i], &run.sc[run.n++]);
		fprintf(out, "  %-40s §1 ", v[i].id);
		for (size_t k = 0; k < v[i].nops; k++)
			fprintf(out, "%s%s", k ? "," : "", v[i].ops[k]);
		fputs(v[i].nops ? "; §2 " : "-; §2 ", out);
		for (size_t k = 0; k < v[i].ncases; k++)
			fprintf(out, "%s%d", k ? "," : "", v[i].cases[k]);
		fputs(v[i].ncases ? "\n" : "-\n", out);
	}
	res_coverage_text(out, &run);
	res_run_clear(&run);
}

int runner_list(const runner_opts_t *o, FILE *out)
{
	scen_meta_t *v;
	size_t n;
	int bad = 0;

	if (runner_select(o, &v, &n) < 0)
		return 2;
	for (size_t i = 0; i < n; i++) {
		char why[1024];

		if (v[i].error) {
			fprintf(out, "%-12s %s  (does not load: %s)\n", v[i].id, v[i].file, v[i].error);
			bad = 1;
		} else if (v[i].skip) {
			fprintf(out, "%-12s %-40s (skipped: %s)\n", v[i].id, v[i].file, v[i].skip);
		} else if (scen_unmet_need(&v[i], &o->env, why, sizeof why)) {
			/* what run would skip on this bench, said before it runs */
			fprintf(out, "%-12s %-40s (skipped: %s)\n", v[i].id, v[i].file, why);
		} else {
			fprintf(out, "%-12s %-40s %s [", v[i].id, v[i].file, v[i].title);
			for (size_t t = 0; t < v[i].ntags; t++)
				fprintf(out, "%s%s", t ? "," : "", v[i].tags[t]);
			fprintf(out, "]\n");
		}
	}
	if (o->matrix) /* the operations x cases these runs cover */
		list_coverage(v, n, out);
	for (size_t i = 0; i < n; i++)
		scen_meta_clear(&v[i]);
	free(v);
	return bad;
}

/* ---- running ---- */

typedef struct run_job {
	const runner_opts_t *o;
	scen_meta_t *v;
	res_run_t *run;
	report_progress_t *prog;
} run_job_t;

static void run_work(void *ud, size_t i, int fd)
{
	run_job_t *j = ud;
	res_scenario_t res = { 0 };
	char *json;

	scen_run(&j->v[i], &j->o->env, &res);
	json = res_scenario_to_json(&res);
	if (json)
		pool_write_all(fd, json, strlen(json));
	free(json);
	res_scenario_clear(&res);
}

/* The scenario's watchdog, then its teardown's own window (lhil_grace),
 * then the grace. */
static int64_t run_limit(void *ud, size_t i)
{
	return (int64_t)(((run_job_t *)ud)->v[i].timeout_s + LHIL_TEARDOWN_S + KILL_GRACE_S) * 1000;
}

/* A run the signal stopped, or never started: a skip that says so, so
 * that the reports list every selected run. */
static void not_run(const scen_meta_t *m, res_scenario_t *res, const char *when)
{
	char why[128];

	scen_meta_to_res(m, res);
	snprintf(why, sizeof why, "not run: the run was stopped by %s %s", strsignal((int)util_stop), when);
	res->status = RES_SKIP;
	res->reason = strdup(why);
}

static void run_done(void *ud, size_t i, const char *out, size_t len, int status, int killed, int64_t ms)
{
	run_job_t *j = ud;
	const scen_meta_t *m = &j->v[i];
	res_scenario_t *res = &j->run->sc[i];
	char why[1024];

	memset(res, 0, sizeof *res);
	if (killed == KILL_STOP) {
		not_run(m, res, "while it ran");
		res->ms = (double)ms;
		return;
	}
	if (killed || !len || res_scenario_from_json(res, out, len) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		res_scenario_clear(res);
		child_failure(why, sizeof why, m->file, "while running", status, killed, run_limit(ud, i));
		scen_meta_to_res(m, res);
		res->status = RES_ERROR;
		res->reason = strdup(why);
	}
	res->ms = (double)ms;
	report_progress_one(j->prog, res);
}

static int run_all(const runner_opts_t *o, scen_meta_t *v, size_t n, res_run_t *run)
{
	static const pool_ops_t ops = { run_work, run_limit, run_done };
	run_job_t j = { o, v, run, report_progress_new(stdout, n, isatty(1)) };
	int rc = 0;

	if (!j.prog)
		return -1;
	if (o->isolate) {
		rc = pool_run(n, o->jobs, &ops, &j);
	} else {
		/* in this process: a signal stops the run between scenarios */
		for (size_t i = 0; i < n && !util_stop; i++) {
			int64_t t0 = util_now_ms();
			memset(&run->sc[i], 0, sizeof run->sc[i]);
			scen_run(&v[i], &o->env, &run->sc[i]);
			run->sc[i].ms = (double)(util_now_ms() - t0);
			report_progress_one(j.prog, &run->sc[i]);
		}
	}
	for (size_t i = 0; util_stop && rc >= 0 && i < n; i++)
		if (!run->sc[i].id)
			not_run(&v[i], &run->sc[i], "before it started");
	report_progress_end(j.prog, run);
	return rc < 0 ? -1 : 0;
}

static char *target_string(const scen_env_t *env)
{
	char buf[2048] = "";
	size_t off = 0;

	for (size_t i = 0; i < env->nbind; i++)
		off += (size_t)snprintf(buf + off, off < sizeof buf ? sizeof buf - off : 0, "%s%s=%s",
					i ? " " : "", env->bind[i].role, env->bind[i].uri);
	return strdup(buf);
}

#define OUT_MARK ".mynahil-out" /* this directory's run/ and traces/ are ours */

/* What an earlier run into out left goes before this one starts: its
 * reports (a run that stops early must not leave the last run's pass
 * behind), its traces and run directories (no trace of a scenario this
 * run did not run).  run/ and traces/ are removed only under OUT_MARK,
 * so a --out that happens to hold a run/ of someone else's is refused,
 * not emptied.  -1 after saying why. */
static int clean_out(const char *out, const report_writer_t *const *w, size_t nw)
{
	static const char *const dirs[] = { "run", "traces", "state-before" };
	static const char mark[] = "mynahil --out: run/ and traces/ are replaced by each run\n";
	char path[PATH_MAX];
	struct stat st;
	int ours;

	if (util_mkdirs(out) < 0) {
		fprintf(stderr, "mynahil: --out %s: %s\n", out, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", out, OUT_MARK);
	ours = lstat(path, &st) == 0;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", out, dirs[i]);
		if (!ours && lstat(path, &st) == 0) {
			fprintf(stderr, "mynahil: --out %s: holds a %s/ that is not a mynahil run's (no %s); "
				"choose another --out, or remove %s\n", out, dirs[i], OUT_MARK, path);
			return -1;
		}
		if (ours && util_rmtree(path) < 0) {
			fprintf(stderr, "mynahil: %s: cannot remove: %s\n", path, strerror(errno));
			return -1;
		}
	}
	for (size_t i = 0; i < nw; i++) {
		snprintf(path, sizeof path, "%s/%s", out, w[i]->filename);
		if (unlink(path) < 0 && errno != ENOENT) {
			fprintf(stderr, "mynahil: %s: cannot remove: %s\n", path, strerror(errno));
			return -1;
		}
	}
	snprintf(path, sizeof path, "%s/%s", out, OUT_MARK);
	if (!ours && util_write_file(path, mark, sizeof mark - 1) < 0) {
		fprintf(stderr, "mynahil: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* --save-state: each bound sim: target's state= image, as the run finds
 * it, copied to OUT/state-before/ROLE.nvm (ROLE.absent when there is
 * none yet: the device starts fresh), so that a bundle can start the
 * devices where this run started them.  -1 after saying why. */
static int save_states(const scen_env_t *env)
{
	char dir[PATH_MAX / 2], path[PATH_MAX], file[PATH_MAX];

	snprintf(dir, sizeof dir, "%s/state-before", env->out);
	if (util_mkdirs(dir) < 0) {
		fprintf(stderr, "mynahil: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < env->nbind; i++) {
		const char *q = strchr(env->bind[i].uri, '?');
		uint8_t *img = NULL;
		size_t n = 0;
		int have;

		if (strncmp(env->bind[i].uri, "sim:", 4) || !q || util_query_get(q + 1, "state", file, sizeof file) != 1)
			continue;
		have = util_read_file(file, &img, &n) == 0;
		if (!have && errno != ENOENT) {
			fprintf(stderr, "mynahil: --save-state: %s: %s\n", file, strerror(errno));
			return -1;
		}
		snprintf(path, sizeof path, "%s/%.64s.%s", dir, env->bind[i].role, have ? "nvm" : "absent");
		if (util_write_file(path, img, n) < 0) {
			fprintf(stderr, "mynahil: %s: %s\n", path, strerror(errno));
			free(img);
			return -1;
		}
		free(img);
	}
	return 0;
}

int runner_run(const runner_opts_t *o)
{
	static const report_writer_t *const writers[] = { &report_junit, &report_json, &report_tap,
							  &report_record, &report_html };
	res_run_t run = { 0 };
	scen_meta_t *v = NULL;
	size_t n = 0;
	int64_t t0 = util_now_ms();
	int rc = 2;
	char err[1024];

	if (clean_out(o->env.out, writers, sizeof writers / sizeof writers[0]) < 0)
		return 2;
	/* From here a signal stops the run in order: children killed,
	 * reports written for what ran. */
	util_stop_on_signals();
	if (runner_select(o, &v, &n) < 0)
		return util_stop ? 128 + (int)util_stop : 2;
	/* Each bound target once, before any scenario: a typo or a missing
	 * reader is one line now, not a failure per scenario later. */
	if (preflight_probe(&o->env, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: %s\n", err);
		rc = util_stop ? 128 + (int)util_stop : 2;
		goto out;
	}
	if (o->save_state && save_states(&o->env) < 0)
		goto out;
	run.seed = o->env.seed;
	run.target = target_string(&o->env);
	run.dir = o->env.out; /* report.html reads the traces back */
	runner_bench(o, &run);
	run.sc = calloc(n + 1, sizeof *run.sc);
	run.n = n;
	if (!run.sc || run_all(o, v, n, &run) < 0)
		goto out;
	run.ms = (double)(util_now_ms() - t0);
	rc = 0;
	for (size_t i = 0; i < n; i++)
		if (run.sc[i].status == RES_FAIL || run.sc[i].status == RES_ERROR)
			rc = 1;
	if (util_stop) {
		fprintf(stderr, "mynahil: stopped by %s; the runs not finished are reported as not run\n",
			strsignal((int)util_stop));
		rc = 128 + (int)util_stop;
	}
	for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++)
		if (report_write_file(writers[i], &run, o->env.out) < 0) {
			fprintf(stderr, "mynahil: %s/%s: %s\n", o->env.out, writers[i]->filename, strerror(errno));
			rc = 2;
		}
	printf("seed %llu; reports in %s/\n", (unsigned long long)run.seed, o->env.out);
out:
	for (size_t i = 0; i < n; i++)
		scen_meta_clear(&v[i]);
	free(v);
	res_run_clear(&run);
	return rc;
}
