/* incident.c — `mynahil incident pack|replay|minimise` (docs/incidents.md).
 *
 * pack: what reproduces a run — its scenario files and the libraries
 * they may require, the command (seed, policy, mutation, faults), the
 * profiles and state images of the bound simulators, the traces and the
 * verdicts — into one ustar file (hil/incident/bundle.c).
 * replay: the bundle unpacked into a temporary directory, the run made
 * again there, and its verdicts and traces compared with the recorded.
 * minimise: delta debugging (hil/incident/ddmin.c) of a trace that a
 * target answers differently, or of a fault plan that makes a run fail;
 * the trace can come out as a scenario for scenarios/incidents/. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "hil/cli/cli.h"
#include "hil/base/util.h"
#include "hil/incident/bundle.h"
#include "hil/incident/ddmin.h"
#include "hil/incident/incident.h"
#include "hil/link/link.h"
#include "hil/base/fault.h"
#include "hil/run/runner.h"
#include "hil/trace/trc.h"
#include "sim/core/apdu.h"
#include "sim/core/mutate.h"

#define MANIFEST "mynahil/manifest.json"
#define BUNDLE_FORMAT "mynahil-incident 1"
#define RUN_TIMEOUT_S 3600 /* a replayed run as a whole; each scenario has its own watchdog */

static const char usage_incident[] =
	"usage: mynahil incident pack [--out FILE] RUN-DIR\n"
	"       mynahil incident pack [--out FILE] -- [RUN OPTIONS] PATH...\n"
	"       mynahil incident replay BUNDLE [--target ROLE=URI]... [--keep]\n"
	"       mynahil incident minimise TRACE --target URI [--mask M,...] [--role R]\n"
	"                          [--profile FILE] [--state FILE] [--seed S] [-o OUT.jsonl]\n"
	"                          [--scenario OUT.lua [--id ID]]\n"
	"       mynahil incident minimise --faults [-o PLAN] (BUNDLE | -- [RUN OPTIONS] PATH...)\n"
	"\n"
	"pack      one file (a ustar archive, incident.tar by default) with what\n"
	"          reproduces a run: its scenario files and scenarios/lib, the command\n"
	"          (seed, policy, mutation, faults), the bound simulators' profiles and\n"
	"          state images as the run found them, the traces and the verdicts.\n"
	"          RUN-DIR is a run's --out (made with --save-state when a target\n"
	"          names state=); after --, pack makes the run itself\n"
	"replay    unpacks BUNDLE into a temporary directory, makes the run again\n"
	"          there, and compares every verdict and trace with the recorded;\n"
	"          a role bound to a reader or a server must be bound again (--target)\n"
	"minimise  TRACE: the smallest subsequence of its exchanges whose check against\n"
	"          the target (as mynahil trace check) still shows the same first\n"
	"          difference; --scenario writes it as a scenario for scenarios/incidents/.\n"
	"          --faults: the smallest subset of the run's --fault specs with which\n"
	"          the run still fails the same way\n"
	"\n"
	"exit status: pack 0 written; replay 0 reproduced (every verdict and trace as\n"
	"recorded), 1 not reproduced (the first divergence shown); minimise 0 done,\n"
	"1 the whole input does not fail; 2 usage error, a bad bundle or a run that\n"
	"could not be made\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "mynahil: incident: %s\n", msg);
	fprintf(stderr, "(mynahil incident --help for the options)\n");
	return 2;
}

/* ---- pack ---- */

typedef struct packer {
	bnd_t b;
	char err[1024];
	json_t *scen;    /* [{ "file": in the bundle, "from": as recorded }] */
	json_t *targets; /* [{ "role", "uri", "bundle": URI in the bundle or null }] */
} packer_t;

/* Every regular file below dir as prefix/..., dotfiles skipped; a member
 * already there with the same bytes is left (two scenarios, one lib). */
static int add_tree(packer_t *p, const char *prefix, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return snprintf(p->err, sizeof p->err, "%.400s: %s", dir, strerror(errno)), -1;
	while (rc == 0 && (e = readdir(d))) {
		char path[PATH_MAX], name[PATH_MAX];
		struct stat st;
		const bnd_member_t *m;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		snprintf(name, sizeof name, "%s/%s", prefix, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 8) {
			rc = add_tree(p, name, path, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			uint8_t *buf = NULL;
			size_t n;
			if ((m = bnd_find(&p->b, name))) {
				int same = util_read_file(path, &buf, &n) == 0 && n == m->n && !memcmp(buf, m->data, n);
				if (!same) {
					snprintf(p->err, sizeof p->err, "%.400s: another file of that name is in the bundle "
						 "(%.400s)", path, name);
					rc = -1;
				}
				free(buf);
				continue;
			}
			rc = bnd_add_file(&p->b, name, path, p->err, sizeof p->err);
		}
	}
	closedir(d);
	return rc;
}

/* a/b/../c -> a/c; -1 if it climbs above its start. */
static int normalise(const char *in, char *out, size_t cap)
{
	char buf[PATH_MAX], *save, *c;
	size_t n = 0;

	if (strlen(in) >= sizeof buf)
		return -1;
	memcpy(buf, in, strlen(in) + 1);
	out[0] = 0;
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *slash;
			if (!n)
				return -1;
			slash = strrchr(out, '/');
			n = slash ? (size_t)(slash - out) : 0;
			out[n] = 0;
			continue;
		}
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "/" : "", c);
	}
	return n < cap ? 0 : -1;
}

/* How far above a relative path's directory it reaches ("../../x": 2). */
static int climbs(const char *rel)
{
	int depth = 0, low = 0;
	char buf[PATH_MAX], *save, *c;

	if (strlen(rel) >= sizeof buf)
		return 0;
	memcpy(buf, rel, strlen(rel) + 1);
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		depth += !strcmp(c, "..") ? -1 : strcmp(c, ".") ? 1 : 0;
		if (depth < low)
			low = depth;
	}
	return -low;
}

/* The next quoted string of a profile's text from *s into rel that names
 * a regular file relative to dir; 0 when there is none left. */
static int next_ref(const char **s, const char *dir, char *rel, size_t cap)
{
	char file[PATH_MAX * 2];
	struct stat st;
	const char *q, *end;

	while ((q = strpbrk(*s, "\"'")) && (end = strchr(q + 1, *q))) {
		*s = end + 1;
		if (end - q - 1 <= 0 || end - q - 1 >= (long)cap || q[1] == '/' || memchr(q, '\n', (size_t)(end - q)))
			continue;
		snprintf(rel, cap, "%.*s", (int)(end - q - 1), q + 1);
		snprintf(file, sizeof file, "%s/%s", dir, rel);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
			return 1;
	}
	return 0;
}

/* A profile (a Lua table, text) and the files it names in quoted
 * strings relative to itself (certificates, keys), laid out under
 * mynahil/files/ROLE/ as they lie around it.  The profile's name in the
 * bundle into out. */
static int add_profile(packer_t *p, const char *role, const char *path, char *out, size_t cap)
{
	uint8_t *text;
	size_t n;
	char dir[PATH_MAX], base[PATH_MAX], rel[PATH_MAX], name[PATH_MAX * 2], file[PATH_MAX * 3];
	const char *slash = strrchr(path, '/'), *s;
	int up = 0, rc = 0;

	if (util_read_file(path, &text, &n) < 0)
		return snprintf(p->err, sizeof p->err, "%.400s: %s", path, strerror(errno)), -1;
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	/* how far up the files it names lie, so that all fit below base */
	for (s = (const char *)text; next_ref(&s, dir, rel, sizeof rel);)
		if (climbs(rel) > up)
			up = climbs(rel);
	snprintf(base, sizeof base, "mynahil/files/%s", role);
	for (int i = 0; i < up && strlen(base) + 3 < sizeof base; i++)
		strcat(base, "/p");
	for (s = (const char *)text; rc == 0 && next_ref(&s, dir, rel, sizeof rel);) {
		snprintf(file, sizeof file, "%s/%s", base, rel);
		if (normalise(file, name, sizeof name) < 0 || bnd_find(&p->b, name))
			continue;
		snprintf(file, sizeof file, "%s/%s", dir, rel);
		rc = bnd_add_file(&p->b, name, file, p->err, sizeof p->err);
	}
	if (rc == 0) {
		snprintf(name, sizeof name, "%s/%s", base, slash ? slash + 1 : path);
		if (!bnd_find(&p->b, name))
			rc = bnd_add_file(&p->b, name, path, p->err, sizeof p->err);
		snprintf(out, cap, "%s", name);
	}
	free(text);
	return rc;
}

/* One --target ROLE=URI of the run: its files into the bundle, and the
 * URI that names them there (NULL: a reader or a server, which a replay
 * must be given). */
static int add_target(packer_t *p, const char *rundir, const char *role, const char *uri)
{
	static const char *const keys[] = { "profile", "state", "serial", "mode", "mask", "role", "format", NULL };
	const char *q = strchr(uri, '?');
	char bu[8192], val[PATH_MAX], name[PATH_MAX * 2], path[PATH_MAX * 2];
	int is_sim = !strncmp(uri, "sim:", 4), is_replay = !strncmp(uri, "replay:", 7);
	size_t off;
	json_t *t = json_object();

	json_object_set_new(t, "role", json_string(role));
	json_object_set_new(t, "uri", json_string(uri));
	json_array_append_new(p->targets, t);
	if (!is_sim && !is_replay) {
		json_object_set_new(t, "bundle", json_null());
		return 0;
	}
	off = (size_t)snprintf(bu, sizeof bu, "%.*s", q ? (int)(q - uri) : (int)strlen(uri), uri);
	if (is_replay) { /* the trace it plays */
		const char *file = uri + 7, *slash;
		snprintf(val, sizeof val, "%.*s", q ? (int)(q - file) : (int)strlen(file), file);
		slash = strrchr(val, '/');
		snprintf(name, sizeof name, "mynahil/files/%s/%s", role, slash ? slash + 1 : val);
		if (bnd_add_file(&p->b, name, val, p->err, sizeof p->err) < 0)
			return -1;
		off = (size_t)snprintf(bu, sizeof bu, "replay:%s", name);
	}
	for (int k = 0, first = 1; q && keys[k]; k++) {
		if (util_query_get(q + 1, keys[k], val, sizeof val) != 1)
			continue;
		if (!strcmp(keys[k], "profile")) {
			if (add_profile(p, role, val, name, sizeof name) < 0)
				return -1;
			snprintf(val, sizeof val, "%.4000s", name);
		} else if (!strcmp(keys[k], "state")) {
			/* the image before the run, which --save-state kept */
			snprintf(name, sizeof name, "mynahil/state/%s.nvm", role);
			snprintf(path, sizeof path, "%s/state-before/%s.nvm", rundir, role);
			if (access(path, F_OK) == 0) {
				if (bnd_add_file(&p->b, name, path, p->err, sizeof p->err) < 0)
					return -1;
				json_object_set_new(t, "state", json_string(name));
			} else {
				snprintf(path, sizeof path, "%s/state-before/%s.absent", rundir, role);
				if (access(path, F_OK) < 0)
					return snprintf(p->err, sizeof p->err, "role %.30s names state=%.300s, but %.300s has no "
							"image of it as the run found it: run with --save-state", role, val,
							rundir), -1;
				json_object_set_new(t, "state", json_null()); /* fresh */
			}
			snprintf(val, sizeof val, "%.4000s", name);
		}
		off += (size_t)snprintf(bu + off, off < sizeof bu ? sizeof bu - off : 0, "%c%s=%s", first ? '?' : '&',
					keys[k], val);
		first = 0;
	}
	json_object_set_new(t, "bundle", json_string(bu));
	return 0;
}

/* A scenario file's name in the bundle: as recorded when it is a safe
 * relative name (so that messages naming it read the same), else under
 * mynahil/ext/K/. */
static void scen_name(const char *file, size_t k, char *out, size_t cap)
{
	char why[128];
	const char *f = file, *slash = strrchr(file, '/');

	while (!strncmp(f, "./", 2))
		f += 2;
	if (bnd_name_ok(f, why, sizeof why) == 0 && strncmp(f, "mynahil/", 8))
		snprintf(out, cap, "%s", f);
	else
		snprintf(out, cap, "mynahil/ext/%zu/%s", k, slash ? slash + 1 : file);
}

/* The scenario file and the lib/ directories its requires may find: the
 * nearest lib/ from its directory up three levels (docs/scenarios.md),
 * each put where the same climb finds it in the bundle. */
static int add_scenario(packer_t *p, const char *file, size_t k)
{
	char name[PATH_MAX], dir[PATH_MAX], real[PATH_MAX], lib[PATH_MAX + 8], blib[PATH_MAX * 2], bdir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	json_t *s;
	struct stat st;

	scen_name(file, k, name, sizeof name);
	if (bnd_find(&p->b, name))
		return 0;
	if (bnd_add_file(&p->b, name, file, p->err, sizeof p->err) < 0)
		return -1;
	s = json_object();
	json_object_set_new(s, "file", json_string(name));
	json_object_set_new(s, "from", json_string(file));
	json_array_append_new(p->scen, s);
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
	if (!realpath(dir, real))
		return 0;
	/* bdir: the scenario's directory in the bundle, "" for its top */
	snprintf(bdir, sizeof bdir, "%s", name);
	if (strrchr(bdir, '/'))
		*strrchr(bdir, '/') = 0;
	else
		bdir[0] = 0;
	for (int depth = 0; depth < 4; depth++) {
		char *up = strrchr(real, '/'), *bup = strrchr(bdir, '/');
		snprintf(lib, sizeof lib, "%s/lib", real);
		if (stat(lib, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(blib, sizeof blib, "%s%slib", bdir, *bdir ? "/" : "");
			return add_tree(p, blib, lib, 0);
		}
		if (!up || up == real || !*bdir)
			break; /* the bundle's top: no lib/ above it is packed */
		*up = 0;
		if (bup)
			*bup = 0;
		else
			bdir[0] = 0;
	}
	return 0;
}

static char *read_text(const char *path)
{
	uint8_t *buf;
	size_t n;
	return util_read_file(path, &buf, &n) < 0 ? NULL : (char *)buf;
}

static int pack_dir(const char *rundir, const char *outfile)
{
	packer_t p = { .scen = json_array(), .targets = json_array() };
	char path[PATH_MAX], name[PATH_MAX], fname[256];
	json_error_t je;
	json_t *rec, *man = NULL, *args = json_array(), *s;
	const char *cmd, *libdir = getenv("MYNAHIL_LIB");
	char **w = NULL;
	size_t nw = 0, i, k;
	int rc = 2;

	snprintf(path, sizeof path, "%s/record.json", rundir);
	if (!(rec = json_load_file(path, 0, &je))) {
		fprintf(stderr, "mynahil: incident pack: %s: %s (not a run's --out?)\n", path, je.text);
		goto out;
	}
	cmd = json_string_value(json_object_get(rec, "command"));
	if (!cmd || !(w = inc_words(cmd, &nw)) || nw < 2 || strcmp(w[1], "run")) {
		fprintf(stderr, "mynahil: incident pack: %s: no run command in it\n", path);
		goto out;
	}
	/* the run's options but its paths and targets, which the bundle's
	 * files replace */
	for (i = 2; i < nw && w[i][0] != '-'; i++)
		;
	for (; i < nw; i++) {
		if (!strcmp(w[i], "--target") && i + 1 < nw) {
			char *eq = strchr(w[++i], '=');
			if (!eq)
				continue;
			*eq = 0;
			if (add_target(&p, rundir, w[i], eq + 1) < 0)
				goto bad;
			continue;
		}
		json_array_append_new(args, json_string(w[i]));
	}
	k = 0;
	json_array_foreach(json_object_get(rec, "scenarios"), i, s) {
		const char *file = json_string_value(json_object_get(s, "file"));
		const char *id = json_string_value(json_object_get(s, "id"));
		if (file && add_scenario(&p, file, k++) < 0)
			goto bad;
		if (!id)
			continue;
		scen_file_name(id, fname, sizeof fname);
		snprintf(path, sizeof path, "%s/traces/%s.jsonl", rundir, fname);
		snprintf(name, sizeof name, "mynahil/traces/%s.jsonl", fname);
		if (access(path, F_OK) == 0 && !bnd_find(&p.b, name) &&
		    bnd_add_file(&p.b, name, path, p.err, sizeof p.err) < 0)
			goto bad;
	}
	if (add_tree(&p, "mynahil/lib", libdir && *libdir ? libdir : MYNAHIL_SOURCE_DIR "/scenarios/lib", 0) < 0)
		goto bad;
	snprintf(path, sizeof path, "%s/record.json", rundir);
	if (bnd_add_file(&p.b, "mynahil/record.json", path, p.err, sizeof p.err) < 0)
		goto bad;
	man = json_pack("{s:s, s:O, s:s, s:O, s:O, s:O, s:O}", "format", BUNDLE_FORMAT, "versions",
			json_object_get(rec, "versions"), "command", cmd, "seed", json_object_get(rec, "seed"),
			"scenarios", p.scen, "args", args, "targets", p.targets);
	{
		char *text = man ? json_dumps(man, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
		int r = text ? bnd_add(&p.b, MANIFEST, text, strlen(text), p.err, sizeof p.err) : -1;
		free(text);
		if (r < 0 || bnd_write(&p.b, outfile, p.err, sizeof p.err) < 0)
			goto bad;
	}
	printf("%s: %zu files (%zu scenario file%s, %zu bytes): %s\n", outfile, p.b.n, json_array_size(p.scen),
	       json_array_size(p.scen) == 1 ? "" : "s", p.b.total, cmd);
	rc = 0;
	goto out;
bad:
	fprintf(stderr, "mynahil: incident pack: %s\n", p.err);
out:
	inc_words_free(w);
	json_decref(rec);
	json_decref(man);
	json_decref(args);
	json_decref(p.scen);
	json_decref(p.targets);
	bnd_free(&p.b);
	return rc;
}

static int cmd_pack(int argc, char **argv)
{
	const char *outfile = "incident.tar";
	char tmp[PATH_MAX], out[PATH_MAX + 16], log[PATH_MAX + 16], err[512];
	int i = 1, rc;

	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			outfile = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return fputs(usage_incident, stdout), 0;
		else if (argv[i][0] == '-')
			return usage("pack takes --out FILE, then RUN-DIR or -- and run's options");
		else
			break;
	}
	if (i < argc && strcmp(argv[i], "--")) {
		if (i + 1 != argc)
			return usage("pack takes one RUN-DIR (or -- and run's options)");
		return pack_dir(argv[i], outfile);
	}
	if (i == argc)
		return usage("pack needs a RUN-DIR, or -- and run's options");
	/* -- RUN-ARGS: the run made here, its images kept, then packed */
	for (int k = i + 1; k < argc; k++)
		if (!strcmp(argv[k], "--out") || !strncmp(argv[k], "--out=", 6))
			return usage("after --, no --out: pack chooses where the run writes");
	if (inc_tempdir(tmp, sizeof tmp, err, sizeof err) < 0)
		return fprintf(stderr, "mynahil: %s\n", err), 2;
	{
		char **av = calloc((size_t)(argc - i) + 6, sizeof *av);
		size_t n = 0;
		if (!av)
			return 2;
		snprintf(out, sizeof out, "%s/run", tmp);
		snprintf(log, sizeof log, "%s/run.log", tmp);
		av[n++] = "mynahil";
		av[n++] = "run";
		for (int k = i + 1; k < argc; k++)
			av[n++] = argv[k];
		av[n++] = "--save-state";
		av[n++] = "--out";
		av[n++] = out;
		rc = inc_run_self(av, NULL, NULL, log, RUN_TIMEOUT_S, err, sizeof err);
		free(av);
	}
	if (rc == 0 || rc == 1) {
		printf("the run: %s (exit status %d)\n", rc ? "failed" : "passed", rc);
		rc = pack_dir(out, outfile);
	} else {
		char *text = read_text(log);
		fprintf(stderr, "mynahil: incident pack: the run did not complete (%s):\n%s",
			rc < 0 ? err : "exit status 2 or a signal", text ? text : "");
		free(text);
		rc = 2;
	}
	util_rmtree(tmp);
	return rc;
}

/* ---- replay ---- */

/* A bundle read and checked, its manifest parsed: 0, or -1 with the
 * reason printed (what: the subcommand); the caller frees both. */
static int bundle_load(bnd_t *bnd, const char *file, const char *what, json_t **man)
{
	const bnd_member_t *m;
	json_error_t je;
	char err[1024];

	*man = NULL;
	if (bnd_read(bnd, file, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: incident %s: %s\n", what, err);
		return -1;
	}
	if (!(m = bnd_find(bnd, MANIFEST)) || !(*man = json_loadb((const char *)m->data, m->n, 0, &je)) ||
	    strcmp(json_string_value(json_object_get(*man, "format")) ? json_string_value(json_object_get(*man, "format")) : "",
		   BUNDLE_FORMAT) || !bnd_find(bnd, "mynahil/record.json")) {
		fprintf(stderr, "mynahil: incident %s: %s: not an incident bundle (no %s of format '%s', or no record)\n",
			what, file, MANIFEST, BUNDLE_FORMAT);
		return -1;
	}
	return 0;
}

/* The recorded command of a bundle (its manifest man, read from file):
 * "mynahil run FILES ARGS --target ROLE=URI...", a role of over
 * (ROLE=URI) replacing its bundled target, with room for two more
 * words; the scenario files' names in the bundle and as recorded into
 * map (pairs).  0, or -1 with the reason printed (what: the subcommand);
 * the caller frees av and map, even then. */
static int bundle_argv(const bnd_t *bnd, json_t *man, const char *file, const char *what, const char *const *over,
		       size_t nover, char ***avp, size_t *navp, char ***mapp, size_t *nmapp)
{
	json_t *sc = json_object_get(man, "scenarios"), *args = json_object_get(man, "args"),
	       *tg = json_object_get(man, "targets"), *v;
	size_t cap = 8 + json_array_size(sc) + json_array_size(args) + 2 * (json_array_size(tg) + nover), i;
	size_t nav = 0, nmap = 0;
	char **av = calloc(cap, sizeof *av), **map = calloc(2 * json_array_size(sc) + 2, sizeof *map), a[PATH_MAX + 32];
	int rc = -1;

	*avp = av;
	*mapp = map;
	if (!av || !map)
		goto out;
	av[nav++] = strdup("mynahil");
	av[nav++] = strdup("run");
	json_array_foreach(sc, i, v) {
		const char *f = json_string_value(json_object_get(v, "file"));
		char why[128];
		if (!f || bnd_name_ok(f, why, sizeof why) < 0 || !bnd_find(bnd, f)) {
			fprintf(stderr, "mynahil: incident %s: %s: the manifest names a scenario not in the bundle\n", what,
				file);
			goto out;
		}
		av[nav++] = strdup(f);
		map[2 * nmap] = strdup(f);
		map[2 * nmap++ + 1] = strdup(json_string_value(json_object_get(v, "from")) ?
					     json_string_value(json_object_get(v, "from")) : f);
	}
	json_array_foreach(args, i, v)
		if (json_is_string(v))
			av[nav++] = strdup(json_string_value(v));
	json_array_foreach(tg, i, v) {
		const char *role = json_string_value(json_object_get(v, "role"));
		const char *bu = json_string_value(json_object_get(v, "bundle"));
		size_t k;
		for (k = 0; role && k < nover && (strncmp(over[k], role, strlen(role)) || over[k][strlen(role)] != '='); k++)
			;
		if (!role || (k == nover && !bu)) {
			fprintf(stderr, "mynahil: incident %s: role %s was bound to %s, which is not in the bundle: "
				"bind it again (--target %s=URI)\n", what, role ? role : "?",
				json_string_value(json_object_get(v, "uri")), role ? role : "ROLE");
			goto out;
		}
		if (k < nover)
			continue;
		av[nav++] = strdup("--target");
		snprintf(a, sizeof a, "%s=%s", role, bu);
		av[nav++] = strdup(a);
	}
	for (size_t k = 0; k < nover; k++) {
		av[nav++] = strdup("--target");
		av[nav++] = strdup(over[k]);
	}
	rc = 0;
out:
	*navp = nav;
	*nmapp = nmap;
	return rc;
}

static int cmd_replay(int argc, char **argv)
{
	const char *file = NULL, *over[16];
	size_t nover = 0, nav = 0, nmap = 0;
	int keep = 0, rc = 2;
	char dir[PATH_MAX], err[1024], lib[PATH_MAX + 16], log[PATH_MAX + 16], a[PATH_MAX + 32], b[PATH_MAX + 32];
	char **av = NULL, **map = NULL;
	bnd_t bnd = { 0 };
	json_t *man = NULL, *rec = NULL;
	size_t i;
	res_run_t here = { 0 };

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--target") && k + 1 < argc && nover < 16)
			over[nover++] = argv[++k];
		else if (!strcmp(argv[k], "--keep"))
			keep = 1;
		else if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h"))
			return fputs(usage_incident, stdout), 0;
		else if (argv[k][0] == '-' || file)
			return usage(argv[k][0] == '-' ? "replay takes BUNDLE, --target ROLE=URI and --keep" :
				     "replay takes one bundle");
		else
			file = argv[k];
	}
	if (!file)
		return usage("which bundle?");
	for (size_t k = 0; k < nover; k++)
		if (!strchr(over[k], '='))
			return usage("--target takes ROLE=URI");
	/* everything checked before anything is written */
	if (bundle_load(&bnd, file, "replay", &man) < 0)
		goto out;
	if (inc_tempdir(dir, sizeof dir, err, sizeof err) < 0 || bnd_unpack(&bnd, dir, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: incident replay: %s\n", err);
		goto clean;
	}
	runner_versions(&here);
	for (i = 0; i < here.nversions && strcmp(here.versions[i].key, "commit"); i++)
		;
	{
		const char *rv = json_string_value(json_object_get(json_object_get(man, "versions"), "mynahil"));
		const char *rc_ = json_string_value(json_object_get(json_object_get(man, "versions"), "commit"));
		if (i < here.nversions && rc_ && strcmp(rc_, here.versions[i].value))
			printf("note: recorded by mynahil %s (commit %s); this is commit %s\n", rv ? rv : "?", rc_,
			       here.versions[i].value);
	}
	/* mynahil run FILES ARGS --target ROLE=URI... --out mynahil-replay */
	if (bundle_argv(&bnd, man, file, "replay", over, nover, &av, &nav, &map, &nmap) < 0)
		goto clean;
	av[nav++] = strdup("--out");
	av[nav++] = strdup("mynahil-replay");
	snprintf(lib, sizeof lib, "%s/mynahil/lib", dir);
	snprintf(log, sizeof log, "%s/replay.log", dir);
	printf("replaying %s in %s: %s\n", file, dir, json_string_value(json_object_get(man, "command")));
	rc = inc_run_self(av, dir, lib, log, RUN_TIMEOUT_S, err, sizeof err);
	if (rc < 0 || (rc != 0 && rc != 1)) {
		char *text = read_text(log);
		fprintf(stderr, "mynahil: incident replay: the run could not be made again (%s):\n%s",
			rc < 0 ? err : "exit status 2 or a signal", text ? text : "");
		free(text);
		rc = 2;
		goto clean;
	}
	snprintf(a, sizeof a, "%s/mynahil/record.json", dir);
	snprintf(b, sizeof b, "%s/mynahil-replay/record.json", dir);
	{
		char ta[PATH_MAX + 32], tb[PATH_MAX + 32];
		snprintf(ta, sizeof ta, "%s/mynahil/traces", dir);
		snprintf(tb, sizeof tb, "%s/mynahil-replay/traces", dir);
		rc = inc_compare(a, ta, b, tb, map, nmap, stdout);
	}
	if (rc < 0)
		rc = 2;
clean:
	if (keep)
		printf("kept: %s\n", dir);
	else
		util_rmtree(dir);
out:
	for (i = 0; av && i < nav; i++)
		free(av[i]);
	free(av);
	for (i = 0; map && i < 2 * nmap; i++)
		free(map[i]);
	free(map);
	json_decref(man);
	json_decref(rec);
	res_run_clear(&here);
	bnd_free(&bnd);
	return rc;
}

/* ---- minimise a trace ---- */

typedef struct tmin {
	const trc_t *t;
	size_t *sel;     /* the records of the role, indices into t */
	size_t nsel;
	const char *target;
	link_opts_t lo;
	unsigned mask;
	/* the failure: the first record (index into t) answered otherwise,
	 * and the target's answer to it */
	size_t fail_rec;
	uint8_t *fail_rsp;
	size_t fail_rn;
	int fail_got;
	/* --mutate: the mutation the target runs with.  The same simulator
	 * without it is the reference: a candidate counts only if the
	 * reference still answers all of it as recorded (ref_on). */
	const char *mut;
	int ref_on;
	char err[512];
} tmin_t;

enum { NO_DIFF = -2 };

/* The records idx[0..n) (indices into sel) sent to a fresh target: the
 * index into t of the first whose answer differs from the recording
 * (its answer in rsp/rn/got), NO_DIFF, or -1 if the target does not open. */
static long first_diff(tmin_t *m, const size_t *idx, size_t n, uint8_t *rsp, size_t *rn, int *got)
{
	link_t *l;
	char err[512];
	long found = NO_DIFF;

	if (link_open(&l, m->target, &m->lo, err, sizeof err) < 0) {
		snprintf(m->err, sizeof m->err, "%s", err);
		return -1;
	}
	for (size_t i = 0; i < n && found == NO_DIFF; i++) {
		const trc_rec_t *x = &m->t->v[m->sel[idx[i]]];
		if (x->event) {
			enum sim_power how;
			if (trc_power_event(x->event, &how))
				link_power(l, how);
			continue;
		}
		*rn = 0;
		*got = link_transmit(l, x->cmd, x->cn, rsp, LINK_RSP_MAX, rn, 5000) == 0;
		if (!trc_rsp_eq(x->cmd, x->cn, x->rsp, x->rn, *got ? rsp : NULL, *rn, m->mask))
			found = (long)m->sel[idx[i]];
	}
	link_close(l);
	return found;
}

static int tmin_test(void *ud, const size_t *idx, size_t n)
{
	static uint8_t rsp[LINK_RSP_MAX];
	tmin_t *m = ud;
	size_t rn = 0;
	int got = 0;
	long at = first_diff(m, idx, n, rsp, &rn, &got);

	if (at == -1)
		return -1;
	if (at == NO_DIFF || (size_t)at != m->fail_rec || got != m->fail_got)
		return 0;
	/* the same answer to it (masked bytes aside) */
	if (got && !trc_rsp_eq(m->t->v[at].cmd, m->t->v[at].cn, m->fail_rsp, m->fail_rn, rsp, rn, m->mask))
		return 0;
	if (!m->ref_on)
		return 1;
	/* The reference, the simulator without the mutation, must answer the
	 * candidate as recorded: else the candidate dropped what made the
	 * recording answer so (a blocked PIN without the wrong PINs that
	 * blocked it), and its scenario would fail on a card without the
	 * defect too. */
	mut_select("none");
	at = first_diff(m, idx, n, rsp, &rn, &got);
	mut_select(m->mut);
	return at == -1 ? -1 : at == NO_DIFF;
}

static void lua_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02X", p[i]);
}

/* The kept records as a scenario: each command expects the recorded
 * status word (and, at the failure, the recorded data when only the data
 * differed), so it passes on a card that answers as the recorded one
 * and fails, at the same command, on one that answers as the target did. */
static int write_scenario(const tmin_t *m, const size_t *idx, size_t n, const char *trace, const char *path,
			  const char *id)
{
	FILE *f = fopen(path, "w");
	const trc_rec_t *fx = &m->t->v[m->fail_rec];
	const char *role = fx->role && !strcmp(fx->role, "se") ? "se" : "card";

	if (!f)
		return fprintf(stderr, "mynahil: %s: %s\n", path, strerror(errno)), -1;
	fprintf(f, "-- %s: an incident, minimised by `mynahil incident minimise` from\n-- %s\n", id, trace);
	fprintf(f, "-- (%zu of its %zu records kept).  Checked against %s, the first answer\n", n, m->nsel, m->target);
	fprintf(f, "-- that differs from the recording is at %s: recorded %04X, the target ",
		fx->at ? fx->at : "?", fx->rsp ? apdu_sw(fx->rsp, fx->rn) : 0);
	if (m->fail_got)
		fprintf(f, "%04X.\n", apdu_sw(m->fail_rsp, m->fail_rn));
	else
		fprintf(f, "did not answer.\n");
	fprintf(f, "-- Every command expects the recorded status word: the scenario passes on a\n"
		   "-- card that answers as the recorded one did, and fails at that command on\n"
		   "-- one that answers as the target did.\n");
	fprintf(f, "return scenario {\n  id = \"%s\", title = \"incident: %zu commands from %s\",\n", id, n,
		strrchr(trace, '/') ? strrchr(trace, '/') + 1 : trace);
	fprintf(f, "  tags = { \"%s\", \"incident\" },\n", role);
	if (!strcmp(role, "se"))
		fprintf(f, "  needs = { \"se\" },\n");
	fprintf(f, "  run = function(w)\n    local l = w.%s\n    local r\n", role);
	for (size_t i = 0; i < n; i++) {
		const trc_rec_t *x = &m->t->v[m->sel[idx[i]]];
		if (x->event) {
			if (!strncmp(x->event, "power ", 6))
				fprintf(f, "    expect(l:power(\"%s\"), \"%s\").is_true()\n", x->event + 6, x->at ? x->at : "");
			continue;
		}
		fprintf(f, "    r = l:transmit(\"");
		lua_hex(f, x->cmd, x->cn);
		fprintf(f, "\")\n");
		if (!x->rsp) {
			fprintf(f, "    expect(r, \"%s: no answer recorded\").is(nil)\n", x->at ? x->at : "");
			continue;
		}
		fprintf(f, "    expect(r, \"%s%s\").sw(0x%04X)\n", x->at ? x->at : "",
			x == fx ? ", where the target differed" : "", apdu_sw(x->rsp, x->rn));
		if (x == fx && m->fail_got && x->rn > 2 && apdu_sw(x->rsp, x->rn) == apdu_sw(m->fail_rsp, m->fail_rn)) {
			fprintf(f, "    expect(r and r.hex, \"%s: the data as recorded\").is \"", x->at ? x->at : "");
			lua_hex(f, x->rsp, x->rn - 2);
			fprintf(f, "\"\n");
		}
	}
	fprintf(f, "  end,\n}\n");
	if (fclose(f) != 0)
		return fprintf(stderr, "mynahil: %s: %s\n", path, strerror(errno)), -1;
	return 0;
}

static int cmd_minimise_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, 0, 'T' }, { "mask", required_argument, 0, 'M' },
		{ "role", required_argument, 0, 'r' },   { "profile", required_argument, 0, 'p' },
		{ "state", required_argument, 0, 'S' },  { "seed", required_argument, 0, 's' },
		{ "scenario", required_argument, 0, 'L' }, { "id", required_argument, 0, 'i' },
		{ "format", required_argument, 0, 'F' }, { "mutate", required_argument, 0, 'X' },
		{ "help", no_argument, 0, 'h' },         { 0, 0, 0, 0 },
	};
	static uint8_t rsp[LINK_RSP_MAX];
	tmin_t m = { 0 };
	trc_t t = { 0 };
	const char *role = NULL, *out = NULL, *scen = NULL, *id = "INC-000", *format = NULL, *mask = NULL;
	char err[1024];
	dd_result_t r = { 0 };
	size_t *all = NULL;
	long at;
	int c, rc = 2;

	optind = 1;
	m.lo.label = "minimise";
	m.lo.probe = 1; /* every test starts from the same image: none is saved */
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'T': m.target = optarg; break;
		case 'M': mask = optarg; break;
		case 'r': role = optarg; break;
		case 'p': m.lo.profile = optarg; break;
		case 'S': m.lo.state = optarg; break;
		case 'L': scen = optarg; break;
		case 'i': id = optarg; break;
		case 'F': format = optarg; break;
		case 'o': out = optarg; break;
		case 's':
			if (util_parse_u64(optarg, &m.lo.seed))
				return usage("--seed takes a number");
			break;
		case 'X':
			if (mut_select(optarg) < 0)
				return fprintf(stderr, "mynahil: --mutate %s: no such mutation in this build\n", optarg), 2;
			break;
		case 'h': return fputs(usage_incident, stdout), 0;
		default: return usage(NULL);
		}
	}
	if (optind + 1 != argc)
		return usage(optind == argc ? "which trace?" : "one trace only");
	if (!m.target)
		return usage("minimise needs --target URI (a simulator: sim:card, sim:se)");
	/* every test must start from the same card: a reader's card keeps
	 * what each test did to it (PIN tries), a simulator does not */
	if (strncmp(m.target, "sim:", 4) && strncmp(m.target, "replay:", 7))
		return usage("minimise needs a target it can start afresh for every test: sim:card, sim:se or replay:FILE");
	if (strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.") != strlen(id) || !*id)
		return usage("--id takes letters, digits, _ - .");
	if (mask && trc_mask_parse(mask, &m.mask, err, sizeof err) < 0)
		return usage(err);
	if (trc_import(&t, argv[optind], format, "card", err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: %s\n", err);
		goto out;
	}
	m.t = &t;
	if (!(m.sel = calloc(t.n + 1, sizeof *m.sel)) || !(all = calloc(t.n + 1, sizeof *all)))
		goto out;
	for (size_t i = 0; i < t.n; i++)
		if (!role || !t.v[i].role || !strcmp(t.v[i].role, role))
			all[m.nsel] = m.nsel, m.sel[m.nsel++] = i;
	at = first_diff(&m, all, m.nsel, rsp, &m.fail_rn, &m.fail_got);
	if (at == -1) {
		fprintf(stderr, "mynahil: %s\n", m.err);
		goto out;
	}
	if (at == NO_DIFF) {
		printf("%s: every response as recorded against %s: nothing to minimise\n", argv[optind], m.target);
		rc = 1;
		goto out;
	}
	m.fail_rec = (size_t)at;
	if (!(m.fail_rsp = malloc(m.fail_rn + 1)))
		goto out;
	memcpy(m.fail_rsp, rsp, m.fail_rn);
	if ((m.mut = mut_selected())) {
		/* the whole recording as the reference answers it: the check is
		 * on only for a recording the unmutated simulator reproduces */
		uint8_t *ref = malloc(LINK_RSP_MAX);
		size_t rn = 0;
		int got = 0;
		long rat;
		if (!ref)
			goto out;
		mut_select("none");
		rat = first_diff(&m, all, m.nsel, ref, &rn, &got);
		mut_select(m.mut);
		free(ref);
		if (rat == -1) {
			fprintf(stderr, "mynahil: %s\n", m.err);
			goto out;
		}
		m.ref_on = rat == NO_DIFF;
		if (m.ref_on)
			printf("reference: %s without %s answers it as recorded; every candidate must keep it so\n",
			       m.target, m.mut);
		else
			printf("reference: %s without %s also differs (at %s): no reference check\n", m.target, m.mut,
			       t.v[rat].at ? t.v[rat].at : "?");
	}
	printf("%s: %zu records; the first difference at %s: recorded %04X, %s ", argv[optind], m.nsel,
	       t.v[at].at ? t.v[at].at : "?", t.v[at].rsp ? apdu_sw(t.v[at].rsp, t.v[at].rn) : 0, m.target);
	if (m.fail_got)
		printf("%04X\n", apdu_sw(m.fail_rsp, m.fail_rn));
	else
		printf("no answer\n");
	if (dd_min(m.nsel, tmin_test, &m, &r) < 0) {
		fprintf(stderr, "mynahil: incident minimise: %s\n", m.err[0] ? m.err : "out of memory");
		goto out;
	}
	printf("minimal: %zu of %zu records (%zu tests):\n", r.n, m.nsel, r.tests);
	for (size_t i = 0; i < r.n; i++) {
		const trc_rec_t *x = &t.v[m.sel[r.idx[i]]];
		char hex[2 * 64 + 4];
		if (x->event) {
			printf("  %-12s %s\n", x->at ? x->at : "", x->event);
			continue;
		}
		apdu_hex(x->cmd, x->cn > 64 ? 64 : x->cn, hex);
		printf("  %-12s %s%s -> %04X%s\n", x->at ? x->at : "", hex, x->cn > 64 ? "..." : "",
		       x->rsp ? apdu_sw(x->rsp, x->rn) : 0, m.sel[r.idx[i]] == m.fail_rec ? "  (differs)" : "");
	}
	if (out) {
		trc_t o = { 0 };
		for (size_t i = 0; i < r.n; i++) {
			const trc_rec_t *x = &t.v[m.sel[r.idx[i]]];
			if (x->event ? trc_add_event(&o, x->role, x->link, x->event, x->at) < 0 :
			    trc_add(&o, x->role, x->link, x->cmd, x->cn, x->rsp, x->rn, x->at, 0) < 0) {
				trc_free(&o);
				goto out;
			}
		}
		rc = trc_write_jsonl(&o, out, err, sizeof err);
		trc_free(&o);
		if (rc < 0) {
			fprintf(stderr, "mynahil: %s\n", err);
			rc = 2;
			goto out;
		}
	}
	if (scen && write_scenario(&m, r.idx, r.n, argv[optind], scen, id) < 0) {
		rc = 2;
		goto out;
	}
	rc = 0;
out:
	free(r.idx);
	free(all);
	free(m.sel);
	free(m.fail_rsp);
	trc_free(&t);
	return rc;
}

/* ---- minimise a fault plan ---- */

typedef struct fmin {
	char **base;      /* run's arguments without their --fault SPEC */
	size_t nbase;
	char **faults;    /* the specs */
	size_t nfaults;
	char dir[PATH_MAX];
	const char *cwd;  /* a bundle's: unpacked in dir, its runs made there */
	char lib[PATH_MAX + 16];
	char *want;       /* the failure: the failing runs and their first failed expect */
	char err[1024];
	size_t runs;
} fmin_t;

/* What failed in a run's record, one line a failing run: "ID: line L what" (malloc'd). */
static char *failures(const char *record)
{
	json_t *rec = json_load_file(record, 0, NULL), *s, *e;
	size_t i, k, len = 0;
	char *out = calloc(1, 1);

	json_array_foreach(json_object_get(rec, "scenarios"), i, s) {
		const char *st = json_string_value(json_object_get(s, "status"));
		char line[1024];
		if (!out || !st || (strcmp(st, "fail") && strcmp(st, "error")))
			continue;
		snprintf(line, sizeof line, "%s: %s", json_string_value(json_object_get(s, "id")), st);
		json_array_foreach(json_object_get(s, "expects"), k, e)
			if (json_is_false(json_object_get(e, "ok"))) {
				snprintf(line + strlen(line), sizeof line - strlen(line), " at line %lld (%s)",
					 (long long)json_integer_value(json_object_get(e, "line")),
					 json_string_value(json_object_get(e, "what")));
				break;
			}
		char *n = realloc(out, len + strlen(line) + 2);
		if (!n)
			break;
		out = n;
		len += (size_t)sprintf(out + len, "%s\n", line);
	}
	json_decref(rec);
	return out;
}

/* The run with faults idx[0..n): its failures (malloc'd), NULL if it
 * could not be made. */
static char *fmin_run(fmin_t *f, const size_t *idx, size_t n)
{
	char **av = calloc(f->nbase + 2 * n + 8, sizeof *av), out[PATH_MAX + 32], log[PATH_MAX + 32], rec[PATH_MAX + 48];
	size_t k = 0;
	int rc;

	if (!av)
		return NULL;
	snprintf(out, sizeof out, "%s/mynahil-minimise", f->dir);
	snprintf(log, sizeof log, "%s/run.log", f->dir);
	snprintf(rec, sizeof rec, "%s/record.json", out);
	av[k++] = "mynahil";
	av[k++] = "run";
	for (size_t i = 0; i < f->nbase; i++)
		av[k++] = f->base[i];
	for (size_t i = 0; i < n; i++) {
		av[k++] = "--fault";
		av[k++] = f->faults[idx[i]];
	}
	av[k++] = "--out";
	av[k++] = out;
	f->runs++;
	rc = inc_run_self(av, f->cwd, f->lib[0] ? f->lib : NULL, log, RUN_TIMEOUT_S, f->err, sizeof f->err);
	free(av);
	if (rc != 0 && rc != 1) {
		char *text = read_text(log);
		if (rc >= 0)
			snprintf(f->err, sizeof f->err, "the run ended with exit status %d:\n%s", rc, text ? text : "");
		free(text);
		return NULL;
	}
	return failures(rec);
}

static int fmin_test(void *ud, const size_t *idx, size_t n)
{
	fmin_t *f = ud;
	char *got = fmin_run(f, idx, n);
	int same;

	if (!got)
		return -1;
	same = !strcmp(got, f->want);
	free(got);
	return same;
}

static int cmd_minimise_faults(int argc, char **argv)
{
	fmin_t f = { 0 };
	const char *out = NULL, *bundle = NULL;
	char err[512], **words, **bav = NULL, **bmap = NULL;
	size_t *all = NULL, nwords, bnav = 0, bnmap = 0;
	dd_result_t r = { 0 };
	bnd_t bnd = { 0 };
	json_t *man = NULL;
	int i = 1, rc = 2;

	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--faults"))
			continue;
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] != '-' && !bundle)
			bundle = argv[i];
		else
			return usage("minimise --faults takes -o PLAN, then a BUNDLE, or -- and run's options with their "
				     "--fault specs");
	}
	if (bundle && i < argc)
		return usage("minimise --faults takes a bundle or -- and run's options, not both");
	if (!bundle && i == argc)
		return usage("minimise --faults needs a bundle (incident pack) or -- and run's options");
	if (bundle) {
		/* the packed run's own command, made in the unpacked bundle as
		 * incident replay makes it (its files, profiles, images, lib) */
		if (bundle_load(&bnd, bundle, "minimise", &man) < 0)
			goto out;
		if (inc_tempdir(f.dir, sizeof f.dir, err, sizeof err) < 0) {
			fprintf(stderr, "mynahil: %s\n", err);
			goto out;
		}
		if (bnd_unpack(&bnd, f.dir, err, sizeof err) < 0) {
			fprintf(stderr, "mynahil: incident minimise: %s\n", err);
			goto clean;
		}
		if (bundle_argv(&bnd, man, bundle, "minimise", NULL, 0, &bav, &bnav, &bmap, &bnmap) < 0)
			goto clean;
		f.cwd = f.dir;
		snprintf(f.lib, sizeof f.lib, "%s/mynahil/lib", f.dir);
		words = bav + 2; /* past "mynahil run" */
		nwords = bnav - 2;
	} else {
		words = argv + i + 1;
		nwords = (size_t)(argc - i - 1);
	}
	f.base = calloc(nwords + 1, sizeof *f.base);
	f.faults = calloc(nwords + 1, sizeof *f.faults);
	if (!f.base || !f.faults)
		goto clean;
	for (size_t k = 0; k < nwords; k++) {
		fault_spec_t spec;
		if (!strcmp(words[k], "--out") || !strncmp(words[k], "--out=", 6)) {
			if (bundle) { /* the recorded --out: minimise chooses where the runs write */
				k += !strcmp(words[k], "--out");
				continue;
			}
			rc = usage("after --, no --out: minimise chooses where the runs write");
			goto clean;
		}
		if (!strcmp(words[k], "--fault") && k + 1 < nwords) {
			if (fault_parse(words[++k], &spec, err, sizeof err) < 0) {
				rc = usage(err);
				goto clean;
			}
			f.faults[f.nfaults++] = words[k];
			continue;
		}
		f.base[f.nbase++] = words[k];
	}
	if (!f.nfaults) {
		rc = usage(bundle ? "the bundle's run had no --fault SPEC: nothing to minimise"
				  : "no --fault SPEC among run's options: nothing to minimise");
		goto clean;
	}
	if (!bundle && inc_tempdir(f.dir, sizeof f.dir, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: %s\n", err);
		goto out;
	}
	if (!(all = calloc(f.nfaults, sizeof *all)))
		goto clean;
	for (size_t k = 0; k < f.nfaults; k++)
		all[k] = k;
	if (!(f.want = fmin_run(&f, all, f.nfaults))) {
		fprintf(stderr, "mynahil: incident minimise: %s\n", f.err);
		goto clean;
	}
	if (!*f.want) {
		printf("the run passes with all %zu faults: nothing to minimise\n", f.nfaults);
		rc = 1;
		goto clean;
	}
	printf("with all %zu faults the run fails:\n%s", f.nfaults, f.want);
	if (dd_min(f.nfaults, fmin_test, &f, &r) < 0) {
		fprintf(stderr, "mynahil: incident minimise: %s\n", f.err[0] ? f.err : "out of memory");
		goto clean;
	}
	printf("minimal: %zu of %zu faults (%zu runs):\n", r.n, f.nfaults, f.runs);
	{
		fault_plan_t plan = { 0 };
		char *text;
		for (size_t k = 0; k < r.n; k++)
			if (fault_plan_add(&plan, f.faults[r.idx[k]], err, sizeof err) < 0)
				break;
		text = fault_plan_format(&plan);
		printf("%s", text ? text : "");
		if (out && text && util_write_file(out, text, strlen(text)) < 0) {
			fprintf(stderr, "mynahil: %s: %s\n", out, strerror(errno));
			free(text);
			fault_plan_free(&plan);
			goto clean;
		}
		free(text);
		fault_plan_free(&plan);
	}
	rc = 0;
clean:
	if (f.dir[0])
		util_rmtree(f.dir);
out:
	free(r.idx);
	free(all);
	free(f.want);
	free(f.base);
	free(f.faults);
	for (size_t k = 0; bav && k < bnav; k++)
		free(bav[k]);
	free(bav);
	for (size_t k = 0; bmap && k < 2 * bnmap; k++)
		free(bmap[k]);
	free(bmap);
	json_decref(man);
	bnd_free(&bnd);
	return rc;
}

int incident_main(int argc, char **argv)
{
	if (argc < 2)
		return usage("pack, replay or minimise?");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return fputs(usage_incident, stdout), 0;
	if (!strcmp(argv[1], "pack"))
		return cmd_pack(argc - 1, argv + 1);
	if (!strcmp(argv[1], "replay"))
		return cmd_replay(argc - 1, argv + 1);
	if (!strcmp(argv[1], "minimise") || !strcmp(argv[1], "minimize")) {
		for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
			if (!strcmp(argv[i], "--faults"))
				return cmd_minimise_faults(argc - 1, argv + 1);
		return cmd_minimise_trace(argc - 1, argv + 1);
	}
	fprintf(stderr, "mynahil: incident: unknown subcommand '%s' (pack, replay, minimise)\n", argv[1]);
	return usage(NULL);
}
