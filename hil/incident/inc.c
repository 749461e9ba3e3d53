/* inc.c — the run read back, made again, and compared (incident.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "hil/incident/incident.h"
#include "hil/base/util.h"
#include "hil/run/scenario.h"

void inc_words_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

char **inc_words(const char *s, size_t *n)
{
	size_t len = strlen(s), cap = 8;
	char **v = calloc(cap + 1, sizeof *v), *w = malloc(len + 1);

	*n = 0;
	if (!v || !w)
		goto fail;
	while (*s) {
		size_t k = 0;
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		while (*s && *s != ' ') {
			if (*s == '\'') {
				const char *end = strchr(s + 1, '\'');
				if (!end)
					goto fail;
				memcpy(w + k, s + 1, (size_t)(end - s - 1));
				k += (size_t)(end - s - 1);
				s = end + 1;
			} else if (*s == '\\' && s[1]) {
				w[k++] = s[1];
				s += 2;
			} else {
				w[k++] = *s++;
			}
		}
		w[k] = 0;
		if (*n == cap) {
			char **nv = realloc(v, (2 * cap + 1) * sizeof *v);
			if (!nv)
				goto fail;
			v = nv;
			cap *= 2;
		}
		if (!(v[(*n)++] = strdup(w)))
			goto fail;
		v[*n] = NULL;
	}
	free(w);
	return v;
fail:
	free(w);
	inc_words_free(v);
	return NULL;
}

int inc_tempdir(char *out, size_t cap, char *err, size_t errlen)
{
	const char *t = getenv("TMPDIR");

	snprintf(out, cap, "%s/mynahil-incident-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(out))
		return snprintf(err, errlen, "%s: cannot make a temporary directory: %s", out, strerror(errno)), -1;
	return 0;
}

int inc_run_self(char *const *argv, const char *dir, const char *lib, const char *log, int timeout_s,
		 char *err, size_t errlen)
{
	char self[4096];
	ssize_t sn = readlink("/proc/self/exe", self, sizeof self - 1);
	int64_t deadline = util_now_ms() + (int64_t)timeout_s * 1000;
	int status = 0;
	pid_t pid, w;

	if (sn <= 0)
		return snprintf(err, errlen, "cannot find this program (/proc/self/exe): %s", strerror(errno)), -1;
	self[sn] = 0;
	fflush(NULL);
	if ((pid = fork()) < 0)
		return snprintf(err, errlen, "fork: %s", strerror(errno)), -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || (dir && chdir(dir) < 0))
			_exit(127);
		if (lib)
			setenv("MYNAHIL_LIB", lib, 1);
		util_default_signals();
		execv(self, argv);
		_exit(127);
	}
	/* the run has its own watchdogs per scenario; this one is for the
	 * whole, a poll's timeout at a time */
	while ((w = waitpid(pid, &status, WNOHANG)) == 0) {
		if (util_now_ms() > deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return snprintf(err, errlen, "the run took more than %d s; killed", timeout_s), -1;
		}
		poll(NULL, 0, 20);
	}
	if (w < 0)
		return snprintf(err, errlen, "waitpid: %s", strerror(errno)), -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return snprintf(err, errlen, "cannot start %s in %s (see %s)", self, dir ? dir : ".", log), -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* s with every map[2k] replaced by map[2k+1] (malloc'd). */
static char *unmap(const char *s, char *const *map, size_t nmap)
{
	char *out = strdup(s ? s : "");

	for (size_t k = 0; out && k < nmap; k++) {
		const char *from = map[2 * k], *to = map[2 * k + 1];
		size_t fl = strlen(from), tl = strlen(to);
		char *p;
		if (!fl || !strcmp(from, to))
			continue;
		while ((p = strstr(out, from))) {
			size_t pre = (size_t)(p - out), rest = strlen(p + fl);
			char *n = malloc(pre + tl + rest + 1);
			if (!n)
				break;
			memcpy(n, out, pre);
			memcpy(n + pre, to, tl);
			memcpy(n + pre + tl, p + fl, rest + 1);
			free(out);
			out = n;
		}
	}
	return out;
}

/* o's string field key, "" when there is none. */
static const char *js(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static json_t *find_scenario(json_t *rec, const char *id)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_object_get(rec, "scenarios"), i, s)
		if (!strcmp(js(s, "id"), id))
			return s;
	return NULL;
}

/* What a run's verdict is made of, one line (malloc'd): status, reason,
 * every expect (line, ok, what, msg), file names mapped back. */
static char *verdict(json_t *s, char *const *map, size_t nmap)
{
	json_t *v = json_object(), *ex = json_array(), *e;
	char *dump, *out;
	size_t i;

	json_object_set(v, "status", json_object_get(s, "status"));
	json_object_set(v, "reason", json_object_get(s, "reason"));
	json_array_foreach(json_object_get(s, "expects"), i, e) {
		json_t *c = json_deep_copy(e);
		json_object_del(c, "file");
		json_array_append_new(ex, c);
	}
	json_object_set_new(v, "expects", ex);
	dump = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(v);
	out = unmap(dump, map, nmap);
	free(dump);
	return out;
}

/* The first expect whose line differs between two verdicts, said. */
static void say_verdicts(FILE *out, json_t *a, json_t *b)
{
	json_t *ea = json_object_get(a, "expects"), *eb = json_object_get(b, "expects");
	size_t na = json_array_size(ea), nb = json_array_size(eb);

	fprintf(out, "  recorded: %s%s%s\n", json_string_value(json_object_get(a, "status")),
		json_is_string(json_object_get(a, "reason")) ? ": " : "",
		js(a, "reason"));
	fprintf(out, "  replayed: %s%s%s\n", json_string_value(json_object_get(b, "status")),
		json_is_string(json_object_get(b, "reason")) ? ": " : "",
		js(b, "reason"));
	for (size_t i = 0; i < na || i < nb; i++) {
		json_t *x = json_array_get(ea, i), *y = json_array_get(eb, i);
		char *sx = x ? json_dumps(x, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
		char *sy = y ? json_dumps(y, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
		int same = sx && sy && json_integer_value(json_object_get(x, "line")) ==
			json_integer_value(json_object_get(y, "line")) && json_equal(json_object_get(x, "ok"),
			json_object_get(y, "ok")) && json_equal(json_object_get(x, "msg"), json_object_get(y, "msg"));
		free(sx), free(sy);
		if (same)
			continue;
		fprintf(out, "  expect %zu: recorded %s, replayed %s\n", i + 1,
			!x ? "none" : json_is_true(json_object_get(x, "ok")) ? "passed" : "failed",
			!y ? "none" : json_is_true(json_object_get(y, "ok")) ? "passed" : "failed");
		if (x)
			fprintf(out, "    recorded: line %lld %s%s%s\n", (long long)json_integer_value(json_object_get(x, "line")),
				js(x, "what"),
				json_is_string(json_object_get(x, "msg")) ? ": " : "",
				js(x, "msg"));
		if (y)
			fprintf(out, "    replayed: line %lld %s%s%s\n", (long long)json_integer_value(json_object_get(y, "line")),
				js(y, "what"),
				json_is_string(json_object_get(y, "msg")) ? ": " : "",
				js(y, "msg"));
		break;
	}
}

/* A trace line without its link (which names where the files are) and
 * its number, keys sorted (malloc'd); NULL at EOF. */
static char *trace_line(FILE *f, unsigned long *lineno)
{
	char *line = NULL, *out = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, f) > 0) {
		json_t *o;
		(*lineno)++;
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		if ((o = json_loads(line, 0, NULL))) {
			json_object_del(o, "link");
			json_object_del(o, "n");
			out = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
			json_decref(o);
		} else {
			out = strdup(line);
		}
		break;
	}
	free(line);
	return out;
}

/* 0 same, 1 differ (said), -1 unreadable. */
static int compare_traces(const char *id, const char *a, const char *b, FILE *out)
{
	FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
	unsigned long la = 0, lb = 0;
	int rc = 0;

	if (!fa || !fb) {
		if (!fa && !fb)
			rc = 0; /* no trace on either side: nothing went to a card */
		else {
			fprintf(out, "not reproduced: %s: the %s run has no trace (%s)\n", id, fa ? "replayed" : "recorded",
				fa ? b : a);
			rc = 1;
		}
		goto done;
	}
	for (;;) {
		char *x = trace_line(fa, &la), *y = trace_line(fb, &lb);
		int same = x && y ? !strcmp(x, y) : x == y;
		if (!same) {
			fprintf(out, "not reproduced: %s: the traces part at record %lu\n", id, x ? la : lb);
			fprintf(out, "  recorded: %s\n  replayed: %s\n", x ? x : "(the trace ends)",
				y ? y : "(the trace ends)");
			rc = 1;
		}
		free(x), free(y);
		if (!same || (!x && !y))
			break;
	}
done:
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return rc;
}

int inc_compare(const char *a_record, const char *a_traces, const char *b_record, const char *b_traces,
		char *const *map, size_t nmap, void *outp)
{
	FILE *out = outp;
	json_error_t je;
	json_t *ra = json_load_file(a_record, 0, &je), *rb, *s;
	size_t i, nfail = 0;
	int rc = 0;

	if (!ra) {
		fprintf(out, "%s: %s\n", a_record, je.text);
		return -1;
	}
	if (!(rb = json_load_file(b_record, 0, &je))) {
		fprintf(out, "%s: %s (the run made again wrote no record)\n", b_record, je.text);
		json_decref(ra);
		return -1;
	}
	json_array_foreach(json_object_get(ra, "scenarios"), i, s) {
		const char *id = js(s, "id");
		json_t *t = find_scenario(rb, id);
		char *va, *vb, pa[4096], pb[4096], fname[256];
		int same;

		if (!t) {
			fprintf(out, "not reproduced: %s: recorded, not run again\n", id);
			rc = 1;
			break;
		}
		va = verdict(s, map, 0);
		vb = verdict(t, map, nmap);
		same = va && vb && !strcmp(va, vb);
		free(va), free(vb);
		if (!same) {
			fprintf(out, "not reproduced: %s: another verdict\n", id);
			say_verdicts(out, s, t);
			rc = 1;
			break;
		}
		/* traces/NAME.jsonl, NAME the id as a file name */
		scen_file_name(id, fname, sizeof fname);
		snprintf(pa, sizeof pa, "%s/%s.jsonl", a_traces, fname);
		snprintf(pb, sizeof pb, "%s/%s.jsonl", b_traces, fname);
		if (compare_traces(id, pa, pb, out)) {
			rc = 1;
			break;
		}
		nfail += !strcmp(js(s, "status"), "fail") ||
			 !strcmp(js(s, "status"), "error");
	}
	if (!rc)
		fprintf(out, "reproduced: %zu run%s as recorded (%zu failed as recorded), every trace the same\n",
			json_array_size(json_object_get(ra, "scenarios")),
			json_array_size(json_object_get(ra, "scenarios")) == 1 ? "" : "s", nfail);
	json_decref(ra);
	json_decref(rb);
	return rc;
}
