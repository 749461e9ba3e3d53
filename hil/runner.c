/* runner.c — discovery, selection, isolation and parallelism.
 *
 * Each scenario runs in a forked process that sends its result back as
 * JSON over a pipe; a crash, a hang or a leak in one scenario fails that
 * scenario and nothing else.  The parent waits with poll() and a
 * deadline per child, and kills what outlives it. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hil/runner.h"
#include "hil/util.h"

#define KILL_GRACE_S 5 /* beyond the in-process watchdog */

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
	qsort(files->v, files->n, sizeof *files->v, cmp_str);
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

/* Discover, read declarations, filter, shard.  Returns the selection. */
static int select_scenarios(const runner_opts_t *o, scen_meta_t **out, size_t *count)
{
	list_t files = { 0 };
	regex_t re;
	int have_re = 0, rc = -1;
	size_t k = 0, kept = 0;
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
	if (!(v = calloc(files.n + 1, sizeof *v)))
		goto out;
	for (size_t i = 0; i < files.n; i++) {
		scen_meta_t m;
		char hay[2048];

		scen_read_meta(files.v[i], &o->env, &m);
		snprintf(hay, sizeof hay, "%s %s %s", m.id, m.file, m.title);
		if ((have_re && regexec(&re, hay, 0, NULL, 0)) || !tag_selected(&m, o->tags)) {
			scen_meta_clear(&m);
			continue;
		}
		/* Shards split the selection, so n shards together run it all. */
		if (o->shard_n > 0 && (int)(k++ % (size_t)o->shard_n) != o->shard_i - 1) {
			scen_meta_clear(&m);
			continue;
		}
		v[kept++] = m;
	}
	mark_duplicates(v, kept);
	*out = v;
	*count = kept;
	v = NULL;
	rc = 0;
out:
	free(v);
	list_free(&files);
	if (have_re)
		regfree(&re);
	return rc;
}

int runner_list(const runner_opts_t *o, FILE *out)
{
	scen_meta_t *v;
	size_t n;
	int bad = 0;

	if (select_scenarios(o, &v, &n) < 0)
		return 2;
	for (size_t i = 0; i < n; i++) {
		if (v[i].error) {
			fprintf(out, "%-12s %s  (does not load: %s)\n", v[i].id, v[i].file, v[i].error);
			bad = 1;
		} else {
			fprintf(out, "%-12s %-40s %s [", v[i].id, v[i].file, v[i].title);
			for (size_t t = 0; t < v[i].ntags; t++)
				fprintf(out, "%s%s", t ? "," : "", v[i].tags[t]);
			fprintf(out, "]\n");
		}
		scen_meta_clear(&v[i]);
	}
	free(v);
	return bad;
}

typedef struct child {
	pid_t pid;
	int fd;
	size_t index;
	int64_t deadline;
	char *buf;
	size_t len, cap;
	int timed_out;
} child_t;

static void run_child(const scen_meta_t *m, const scen_env_t *env, int fd)
{
	res_scenario_t res = { 0 };
	char *json;

	scen_run(m, env, &res);
	json = res_scenario_to_json(&res);
	for (size_t off = 0, n = json ? strlen(json) : 0; off < n;) {
		ssize_t w = write(fd, json + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(json);
	res_scenario_clear(&res);
	close(fd);
}

static int start(child_t *c, const scen_meta_t *m, const scen_env_t *env, size_t index)
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
		close(p[0]);
		run_child(m, env, p[1]);
		exit(0);
	}
	close(p[1]);
	c->fd = p[0];
	c->index = index;
	c->deadline = util_now_ms() + (int64_t)(m->timeout_s + KILL_GRACE_S) * 1000;
	c->buf = NULL;
	c->len = c->cap = 0;
	c->timed_out = 0;
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

static void finish(child_t *c, const scen_meta_t *m, res_scenario_t *res, int64_t started)
{
	int status = 0;
	char why[256];

	close(c->fd);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	memset(res, 0, sizeof *res);
	if (!c->timed_out && c->len && res_scenario_from_json(res, c->buf, c->len) == 0 &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		/* normal end */
	} else {
		res_scenario_clear(res);
		if (c->timed_out)
			snprintf(why, sizeof why, "%s: watchdog: no result after %d s; killed", m->file,
				 m->timeout_s + KILL_GRACE_S);
		else if (WIFSIGNALED(status))
			snprintf(why, sizeof why, "%s: scenario process died of signal %d (%s)", m->file,
				 WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(why, sizeof why, "%s: scenario process exited with status %d", m->file,
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		res->id = strdup(m->id);
		res->file = strdup(m->file);
		res->title = strdup(m->title);
		res->status = RES_ERROR;
		res->reason = strdup(why);
	}
	res->ms = (double)(util_now_ms() - started);
	free(c->buf);
	c->buf = NULL;
}

static int run_all(const runner_opts_t *o, scen_meta_t *v, size_t n, res_run_t *run)
{
	int jobs = o->jobs > 0 ? o->jobs : 1;
	child_t *kids = calloc((size_t)jobs, sizeof *kids);
	int64_t *started = calloc(n + 1, sizeof *started);
	report_progress_t *prog = report_progress_new(stdout, n, isatty(1));
	size_t next = 0, done = 0;
	int active = 0;

	if (!kids || !started || !prog) {
		free(kids);
		free(started);
		return -1;
	}
	while (done < n) {
		while (active < jobs && next < n) {
			child_t *c = NULL;
			for (int j = 0; j < jobs; j++)
				if (kids[j].pid == 0)
					c = &kids[j];
			started[next] = util_now_ms();
			if (!o->isolate) {
				memset(&run->sc[next], 0, sizeof run->sc[next]);
				scen_run(&v[next], &o->env, &run->sc[next]);
				run->sc[next].ms = (double)(util_now_ms() - started[next]);
				report_progress_one(prog, &run->sc[next]);
				next++;
				done++;
				continue;
			}
			if (start(c, &v[next], &o->env, next) < 0) {
				fprintf(stderr, "mynahil: cannot start a scenario process: %s\n", strerror(errno));
				free(kids);
				free(started);
				report_progress_end(prog, run);
				return -1;
			}
			next++;
			active++;
		}
		if (!active)
			continue;

		struct pollfd pf[64];
		int map[64], np = 0;
		int64_t now = util_now_ms(), wait_ms = 1000;
		for (int j = 0; j < jobs && np < 64; j++) {
			if (!kids[j].pid)
				continue;
			pf[np].fd = kids[j].fd;
			pf[np].events = POLLIN;
			map[np++] = j;
			if (kids[j].deadline - now < wait_ms)
				wait_ms = kids[j].deadline - now;
		}
		if (poll(pf, (nfds_t)np, wait_ms < 0 ? 0 : (int)wait_ms) < 0 && errno != EINTR)
			break;
		now = util_now_ms();
		for (int k = 0; k < np; k++) {
			child_t *c = &kids[map[k]];
			int eof = 0;
			if (pf[k].revents & (POLLIN | POLLHUP | POLLERR))
				eof = drain(c);
			if (!eof && now > c->deadline) {
				kill(c->pid, SIGKILL);
				c->timed_out = 1;
				eof = 1;
			}
			if (!eof)
				continue;
			finish(c, &v[c->index], &run->sc[c->index], started[c->index]);
			report_progress_one(prog, &run->sc[c->index]);
			c->pid = 0;
			active--;
			done++;
		}
	}
	report_progress_end(prog, run);
	free(kids);
	free(started);
	return 0;
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

int runner_run(const runner_opts_t *o)
{
	static const report_writer_t *const writers[] = { &report_junit, &report_json, &report_tap };
	res_run_t run = { 0 };
	scen_meta_t *v = NULL;
	size_t n = 0;
	int64_t t0 = util_now_ms();
	int rc = 2;

	if (util_mkdirs(o->env.out) < 0) {
		fprintf(stderr, "mynahil: --out %s: %s\n", o->env.out, strerror(errno));
		return 2;
	}
	if (select_scenarios(o, &v, &n) < 0)
		return 2;
	run.seed = o->env.seed;
	run.target = target_string(&o->env);
	run.sc = calloc(n + 1, sizeof *run.sc);
	run.n = n;
	if (!run.sc || run_all(o, v, n, &run) < 0)
		goto out;
	run.ms = (double)(util_now_ms() - t0);
	rc = 0;
	for (size_t i = 0; i < n; i++)
		if (run.sc[i].status == RES_FAIL || run.sc[i].status == RES_ERROR)
			rc = 1;
	for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++)
		if (report_write_file(writers[i], &run, o->env.out) < 0) {
			fprintf(stderr, "mynahil: %s/%s: %s\n", o->env.out, writers[i]->filename, strerror(errno));
			rc = 2;
		}
	printf("seed 0x%llx; reports in %s/\n", (unsigned long long)run.seed, o->env.out);
out:
	for (size_t i = 0; i < n; i++)
		scen_meta_clear(&v[i]);
	free(v);
	res_run_clear(&run);
	return rc;
}
