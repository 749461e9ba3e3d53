/* sandbox.c — the Lua state scenarios run in.
 *
 * Scenarios are test code from many hands; a bad one must fail alone,
 * never hang the suite or reach outside its run directory.  So: no
 * process control, no C modules, no binary chunks, no finalisers (they
 * run with hooks off), modules only from the directories we name and
 * only as text, files only inside the run directory (and the fixture
 * tree, read-only, for profiles), a memory budget, an instruction budget
 * and a wall-clock watchdog checked from a count hook.  What a C loop
 * can still outrun (a pathological string.find) the runner's hard kill
 * catches. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lualib.h>

#include "hil/base/confine.h"
#include "hil/link/link.h"
#include "hil/run/lua/lhil.h"
#include "hil/run/policy.h"
#include "hil/fixtures/profile.h"
#include "hil/base/util.h"

#define HOOK_EVERY 10000 /* instructions between budget checks */
/* Once the budget is hit, enough room to build the error and unwind. */
#define MEM_HEADROOM (4u << 20)
#define MODULE_MAX (4u << 20) /* bytes of one module's source */

typedef struct sbx {
	lhil_opts_t o;
	long long used;
	char *rundir;
	size_t mem_used;
	int mem_hit;
	link_paths_t paths;
	char fixtures[PATH_MAX];
	const char *libdirs[4]; /* where require looks, in order */
	char dirs[3][PATH_MAX]; /* the scenario's, its tree's lib/, ours */
	char *scenfile;         /* the scenario file loaded, as named: its chunk is "@scenfile" */
} sbx_t;

static sbx_t *sbx_of(lua_State *L)
{
	return *(sbx_t **)lua_getextraspace(L);
}

static void hook(lua_State *L, lua_Debug *ar)
{
	sbx_t *s = sbx_of(L);

	(void)ar;
	s->used += HOOK_EVERY;
	if (s->o.budget && s->used > s->o.budget) {
		/* Level 0 inside a hook is the Lua function that was running:
		 * name its line, as for any other error. */
		luaL_where(L, 0);
		lua_pushfstring(L, "instruction budget of %I exhausted", (lua_Integer)s->o.budget);
	} else if (s->o.deadline_ms && util_now_ms() > s->o.deadline_ms) {
		luaL_where(L, 0);
		lua_pushliteral(L, "wall-clock watchdog: scenario ran out of time");
	} else {
		return;
	}
	lua_concat(L, 2);
	lua_error(L);
}

/* Lua's allocator with a budget: past it, an allocation fails and the
 * scenario ends with LUA_ERRMEM (Lua first collects and retries). */
static void *sbx_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	sbx_t *s = ud;
	size_t old = ptr ? osize : 0, limit = s->o.memory;
	void *p;

	if (nsize == 0) {
		free(ptr);
		s->mem_used -= old;
		return NULL;
	}
	if (limit && s->mem_hit)
		limit += MEM_HEADROOM;
	if (limit && nsize > old && s->mem_used + (nsize - old) > limit) {
		s->mem_hit = 1;
		return NULL;
	}
	if ((p = realloc(ptr, nsize)))
		s->mem_used = s->mem_used - old + nsize;
	return p;
}

/* Where a link opened by the scenario may reach (link_paths_t): it
 * writes only inside its run directory, reads profiles only from the
 * fixture tree, and names devices only under /dev. */
static int check_path(void *ud, const char *path, enum link_path_use use, char *out, size_t cap,
		      char *err, size_t errlen)
{
	sbx_t *s = ud;
	struct stat st;

	switch (use) {
	case LINK_PATH_WRITE:
		if (!s->rundir) {
			snprintf(err, errlen, "'%.200s': no run directory to write in", path);
			return -1;
		}
		return confine_resolve(path, s->rundir, s->rundir, "the run directory", out, cap, err, errlen);
	case LINK_PATH_READ:
		return confine_resolve(path, s->fixtures, s->fixtures, "the fixture tree", out, cap, err, errlen);
	case LINK_PATH_DEVICE:
		if (confine_resolve(path, NULL, "/dev", "/dev", out, cap, err, errlen) < 0)
			return -1;
		if (stat(out, &st) < 0 || !S_ISCHR(st.st_mode)) {
			snprintf(err, errlen, "'%.200s' is not a character device", path);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "'%.200s': refused", path);
	return -1;
}

const link_paths_t *lhil_paths(lua_State *L)
{
	return &sbx_of(L)->paths;
}

/* print and io.write append to the scenario's log, not to our stdout:
 * the runner owns the terminal. */
static void log_append(lua_State *L, const char *p, size_t n)
{
	sbx_t *s = sbx_of(L);
	res_scenario_t *r = s->o.res;
	size_t old;
	char *nl;

	if (!r)
		return;
	old = r->log ? strlen(r->log) : 0;
	if (old > (1u << 20)) /* a runaway printer must not eat the memory */
		return;
	if (!(nl = realloc(r->log, old + n + 1)))
		return;
	memcpy(nl + old, p, n);
	nl[old + n] = 0;
	r->log = nl;
}

static int l_print(lua_State *L)
{
	int n = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *s = luaL_tolstring(L, i, &len);
		if (i > 1)
			log_append(L, "\t", 1);
		log_append(L, s, len);
		lua_pop(L, 1);
	}
	log_append(L, "\n", 1);
	return 0;
}

static int l_write(lua_State *L)
{
	int n = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *s = luaL_checklstring(L, i, &len);
		log_append(L, s, len);
	}
	return 0;
}

/* io.open(path, mode): a path inside the run directory, relative to it,
 * after symlinks are resolved. */
static int l_open(lua_State *L)
{
	sbx_t *s = sbx_of(L);
	const char *path = luaL_checkstring(L, 1);
	const char *mode = luaL_optstring(L, 2, "r");
	char real[PATH_MAX], err[1024];

	if (!s->rundir)
		return luaL_error(L, "io.open: no run directory");
	if (confine_resolve(path, s->rundir, s->rundir, "the run directory", real, sizeof real, err,
			    sizeof err) < 0)
		return luaL_error(L, "io.open: %s", err);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushstring(L, real);
	lua_pushstring(L, mode);
	lua_call(L, 2, LUA_MULTRET);
	return lua_gettop(L) - 2;
}

/* w:fixture(rel): a file of the read-only fixture tree. */
static int l_fixture(lua_State *L)
{
	sbx_t *s = sbx_of(L);
	const char *rel = luaL_checkstring(L, 1);
	char real[PATH_MAX], err[1024];

	if (confine_resolve(rel, s->fixtures, s->fixtures, "the fixture tree", real, sizeof real, err,
			    sizeof err) < 0)
		return luaL_error(L, "w:fixture: %s", err);
	lua_pushstring(L, real);
	return 1;
}

/* setmetatable without __gc: Lua runs finalisers with hooks off, so a
 * loop in one would outrun the budget and the watchdog. */
static int l_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __gc is not available in a scenario "
					     "(finalisers run outside the watchdog)");
		lua_pop(L, 1);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* A module name is dotted identifiers: nothing that spells a path. */
static int module_name_ok(const char *name)
{
	int start = 1;

	if (strlen(name) > 128)
		return 0;
	for (const char *p = name; *p; p++) {
		if (*p == '.') {
			if (start)
				return 0;
			start = 1;
		} else if (isalpha((unsigned char)*p) || *p == '_' || (!start && isdigit((unsigned char)*p))) {
			start = 0;
		} else {
			return 0;
		}
	}
	return !start;
}

/* Find name in the library directories; 1 with the file's text loaded
 * as a function on the stack, 0 if no directory has it. */
static int find_module(lua_State *L, sbx_t *s, const char *name)
{
	char rel[160], cand[PATH_MAX], real[PATH_MAX], err[1024];

	snprintf(rel, sizeof rel, "%s.lua", name);
	for (char *p = rel; *p; p++)
		if (*p == '.' && p < rel + strlen(rel) - 4)
			*p = '/';
	for (int i = 0; s->libdirs[i]; i++) {
		struct stat st;
		uint8_t *buf;
		size_t n;
		int rc;

		snprintf(cand, sizeof cand, "%s/%s", s->libdirs[i], rel);
		if (stat(cand, &st) < 0)
			continue;
		if (confine_resolve(cand, NULL, s->libdirs[i], s->libdirs[i], real, sizeof real, err,
				    sizeof err) < 0)
			return luaL_error(L, "require '%s': %s", name, err);
		if (!S_ISREG(st.st_mode) || st.st_size > (off_t)MODULE_MAX)
			return luaL_error(L, "require '%s': %s is not a module file", name, cand);
		if (util_read_file(real, &buf, &n) < 0)
			return luaL_error(L, "require '%s': %s: %s", name, cand, strerror(errno));
		lua_pushfstring(L, "@%s", cand);
		rc = luaL_loadbufferx(L, (const char *)buf, n, lua_tostring(L, -1), "t");
		free(buf);
		if (rc != LUA_OK)
			return lua_error(L);
		lua_remove(L, -2);
		lua_pushstring(L, cand);
		return 1;
	}
	return 0;
}

/* require(name): what is loaded, a preloaded binding, or a Lua text file
 * from the library directories — nothing else (package is gone). */
static int l_require(lua_State *L)
{
	sbx_t *s = sbx_of(L);
	const char *name = luaL_checkstring(L, 1);

	lua_settop(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE); /* 2 */
	if (lua_getfield(L, 2, name) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	if (!module_name_ok(name))
		return luaL_error(L, "require '%s': a module name is dotted identifiers", name);
	lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	if (lua_getfield(L, -1, name) == LUA_TFUNCTION) {
		lua_remove(L, -2);
		lua_pushvalue(L, 1);
		lua_pushliteral(L, ":preload:");
	} else {
		lua_pop(L, 2);
		if (!find_module(L, s, name))
			return luaL_error(L, "module '%s' not found in %s%s%s%s%s", name, s->libdirs[0],
					  s->libdirs[1] ? ", " : "", s->libdirs[1] ? s->libdirs[1] : "",
					  s->libdirs[2] ? ", " : "", s->libdirs[2] ? s->libdirs[2] : "");
		lua_pushvalue(L, 1);
		lua_insert(L, -2); /* f name path */
	}
	lua_call(L, 2, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, 2, name);
	return 1;
}

/* load() of text chunks only: a binary chunk can crash the VM. */
static int l_load(lua_State *L)
{
	int nargs = lua_gettop(L) >= 4 ? 4 : 3; /* an explicit nil env would mean "no env" */

	lua_settop(L, nargs);
	lua_pushstring(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, nargs, LUA_MULTRET);
	return lua_gettop(L);
}

static int l_exit(lua_State *L)
{
	return luaL_error(L, "os.exit is not available in a scenario");
}

static int l_time(lua_State *L)
{
	/* Scenarios live on virtual time: no wall clock leaks into a run. */
	lua_pushinteger(L, 0);
	return 1;
}

static void set_fn(lua_State *L, const char *table, const char *name, lua_CFunction f)
{
	lua_getglobal(L, table);
	lua_pushcfunction(L, f);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
}

static void remove_fields(lua_State *L, const char *table, const char *const *names)
{
	lua_getglobal(L, table);
	for (; *names; names++) {
		lua_pushnil(L);
		lua_setfield(L, -2, *names);
	}
	lua_pop(L, 1);
}

static void lock_down(lua_State *L, sbx_t *s)
{
	static const char *const os_gone[] = { "execute", "exit", "remove", "rename", "tmpname",
					       "getenv", "setlocale", "clock", "date", NULL };
	static const char *const io_gone[] = { "popen", "tmpfile", "input", "output", "read",
					       "lines", "stdin", "stdout", "stderr", "close", NULL };
	static const char *const base_gone[] = { "dofile", "loadfile", "collectgarbage", NULL };
	(void)s;
	remove_fields(L, "os", os_gone);
	set_fn(L, "os", "exit", l_exit);
	set_fn(L, "os", "time", l_time);
	lua_getglobal(L, "io");
	lua_getfield(L, -1, "open");
	lua_pushcclosure(L, l_open, 1);
	lua_setfield(L, -2, "open");
	lua_pushcfunction(L, l_write);
	lua_setfield(L, -2, "write");
	lua_pop(L, 1);
	remove_fields(L, "io", io_gone);
	lua_pushglobaltable(L);
	for (const char *const *n = base_gone; *n; n++) {
		lua_pushnil(L);
		lua_setfield(L, -2, *n);
	}
	lua_getfield(L, -1, "load");
	lua_pushcclosure(L, l_load, 1);
	lua_setfield(L, -2, "load");
	lua_pushcfunction(L, l_print);
	lua_setfield(L, -2, "print");
	lua_pop(L, 1);

	/* require: ours; package (paths, searchers, loadlib) is gone. */
	lua_pushcfunction(L, l_require);
	lua_setglobal(L, "require");
	lua_pushnil(L);
	lua_setglobal(L, "package");
	lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_pushnil(L);
	lua_setfield(L, -2, "package");
	lua_pop(L, 1);
	lua_getglobal(L, "setmetatable");
	lua_pushcclosure(L, l_setmetatable, 1);
	lua_setglobal(L, "setmetatable");
	lua_getglobal(L, "mynahil");
	lua_pushcfunction(L, l_fixture);
	lua_setfield(L, -2, "fixture");
	lua_pop(L, 1);
}

/* Does msg begin with "src:"? */
static int starts_at(const char *msg, const char *src)
{
	size_t n = strlen(src);
	return !strncmp(msg, src, n) && msg[n] == ':';
}

/* An error raised below the scenario's own code — in a helper of a lib/,
 * in a binding a helper called — names the scenario's line first (the
 * innermost frame in the scenario file: the line its author can change),
 * then where it was raised: "scen.lua:12: lib/app.lua:40: what".  The
 * string at idx is replaced; anything else (a skip, a stop) passes as it
 * is.  Must run on the stack the error was raised on: a message handler. */
static void locate(lua_State *L, int idx)
{
	sbx_t *s = sbx_of(L);
	const char *msg = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
	lua_Debug ar;

	if (!s->scenfile || !msg)
		return;
	for (int level = 1; lua_getstack(L, level, &ar); level++) {
		if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0 || ar.source[0] != '@' ||
		    strcmp(ar.source + 1, s->scenfile))
			continue;
		/* Raised in the scenario itself (Lua writes short_src, cut
		 * to LUA_IDSIZE for a long path): its line is already first. */
		if (starts_at(msg, s->scenfile) || starts_at(msg, ar.short_src))
			return;
		lua_pushfstring(L, "%s:%d: %s", s->scenfile, ar.currentline, msg);
		lua_replace(L, idx);
		return;
	}
}

/* The prelude's message handler for the pcall of a flow (mynahil.flow):
 * the flow raises again after its bookkeeping, when the frames of the
 * first raise are gone — so they are read here, and their traceback
 * logged. */
static int l_locate(lua_State *L)
{
	lua_settop(L, 1);
	locate(L, 1);
	if (lua_type(L, 1) == LUA_TSTRING) {
		luaL_traceback(L, L, "raised in a flow:", 1);
		log_append(L, lua_tostring(L, -1), lua_rawlen(L, -1));
		log_append(L, "\n", 1);
		lua_pop(L, 1);
	}
	return 1;
}

static int open_all(lua_State *L)
{
	sbx_t *s = lua_touserdata(L, 1);
	char prelude[8192];

	luaL_openlibs(L);
	/* Keep debug.getinfo for the prelude's expect (source lines), then
	 * take the debug library away from scenarios. */
	lua_getglobal(L, "debug");
	lua_getfield(L, -1, "getinfo");
	lua_setfield(L, LUA_REGISTRYINDEX, "mynahil.getinfo");
	lua_getfield(L, -1, "traceback");
	lua_setfield(L, LUA_REGISTRYINDEX, "mynahil.traceback");
	lua_pop(L, 1);
	lua_pushnil(L);
	lua_setglobal(L, "debug");
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "loaded");
	lua_pushnil(L);
	lua_setfield(L, -2, "debug");
	lua_pop(L, 2);

	lua_getglobal(L, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushinteger(L, (lua_Integer)s->o.seed);
	lua_call(L, 1, 0);
	lua_pop(L, 1);

	lua_pushlightuserdata(L, s->o.res);
	lua_setfield(L, LUA_REGISTRYINDEX, "mynahil.res");
	lhil_open_bindings(L);
	lhil_open_card(L);
	lhil_open_ios(L);
	lhil_open_services(L);
	lua_getglobal(L, "mynahil");
	lua_pushinteger(L, (lua_Integer)s->o.seed);
	lua_setfield(L, -2, "_seed");
	lua_pop(L, 1);
	lock_down(L, s);

	snprintf(prelude, sizeof prelude, "%s/mynahil/prelude.lua", s->o.libdir);
	if (luaL_loadfilex(L, prelude, "t") != LUA_OK)
		return lua_error(L);
	lua_getfield(L, LUA_REGISTRYINDEX, "mynahil.getinfo");
	lua_pushcfunction(L, l_locate);
	pol_push_lua(L); /* the policy switches and operations (docs/domain.md) */
	lua_call(L, 3, 0);
	return 0;
}

static int panic(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	fprintf(stderr, "mynahil: Lua panic: %s\n", msg ? msg : "(no message)");
	return 0; /* Lua aborts */
}

/* Resolve the directories the sandbox confines to; -1 with err. */
static int set_dirs(sbx_t *s, const lhil_opts_t *o, char *err, size_t errlen)
{
	char real[PATH_MAX];
	int n = 0;

	if (o->rundir) {
		if (confine_root(o->rundir, real, sizeof real) < 0 || !(s->rundir = strdup(real))) {
			snprintf(err, errlen, "run directory %s: %s", o->rundir, strerror(errno));
			return -1;
		}
	}
	if (confine_root(profile_fixtures_dir(), s->fixtures, sizeof s->fixtures) < 0) {
		snprintf(err, errlen, "fixture tree %s: %s", profile_fixtures_dir(), strerror(errno));
		return -1;
	}
	/* Resolved copies: the caller's strings may not outlive this call. */
	if (o->scendir && confine_root(o->scendir, s->dirs[n], sizeof s->dirs[n]) == 0)
		s->libdirs[n] = s->dirs[n], n++;
	if (o->userlib && confine_root(o->userlib, s->dirs[n], sizeof s->dirs[n]) == 0)
		s->libdirs[n] = s->dirs[n], n++;
	if (confine_root(o->libdir, s->dirs[n], sizeof s->dirs[n]) < 0) {
		snprintf(err, errlen, "scenario library %s: %s", o->libdir, strerror(errno));
		return -1;
	}
	s->libdirs[n] = s->o.libdir = s->dirs[n];
	s->o.scendir = s->o.userlib = NULL;
	s->paths = (link_paths_t){ check_path, s };
	return 0;
}

lua_State *lhil_new(const lhil_opts_t *o, char *err, size_t errlen)
{
	sbx_t *s = calloc(1, sizeof *s);
	lua_State *L = NULL;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->o = *o;
	if (set_dirs(s, o, err, errlen) < 0)
		goto fail;
	if (!(L = lua_newstate(sbx_alloc, s))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	lua_atpanic(L, panic);
	*(sbx_t **)lua_getextraspace(L) = s;
	lua_pushcfunction(L, open_all);
	lua_pushlightuserdata(L, s);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		goto fail;
	}
	lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_EVERY);
	return L;
fail:
	if (L)
		lua_close(L);
	free(s->rundir);
	free(s);
	return NULL;
}

struct trace *lhil_trace(lua_State *L)
{
	return sbx_of(L)->o.trace;
}

struct fault_live *lhil_faults(lua_State *L)
{
	return sbx_of(L)->o.faults;
}

void lhil_close(lua_State *L)
{
	sbx_t *s;

	if (!L)
		return;
	s = sbx_of(L);
	lua_close(L);
	free(s->rundir);
	free(s->scenfile);
	free(s);
}

static int msgh(lua_State *L)
{
	const char *msg;

	locate(L, 1);
	msg = lua_tostring(L, 1);

	if (lua_istable(L, 1)) { /* t:skip() */
		lua_getfield(L, 1, "__mynahil_skip");
		if (!lua_isnil(L, -1)) {
			lua_settop(L, 1);
			return 1;
		}
		lua_pop(L, 1);
	}
	if (!msg)
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	/* The traceback goes to the log; the message stays "file:line: msg". */
	luaL_traceback(L, L, NULL, 1);
	log_append(L, lua_tostring(L, -1), lua_rawlen(L, -1));
	log_append(L, "\n", 1);
	lua_pop(L, 1);
	lua_pushstring(L, msg);
	return 1;
}

int lhil_pcall(lua_State *L, int nargs, int nresults)
{
	sbx_t *s = sbx_of(L);
	int base = lua_gettop(L) - nargs, rc;

	lua_pushcfunction(L, msgh);
	lua_insert(L, base);
	rc = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	if (rc != LUA_OK && lua_istable(L, -1))
		return LHIL_SKIP;
	if (rc == LUA_ERRMEM && s->mem_hit) { /* no handler ran: say which limit */
		lua_pop(L, 1);
		lua_pushfstring(L, "memory limit of %I MiB exhausted (--memory)",
				(lua_Integer)(s->o.memory >> 20));
	}
	return rc;
}

void lhil_grace(lua_State *L, int seconds)
{
	sbx_t *s = sbx_of(L);
	long long left = s->o.budget / 10; /* the teardown's share of the budget */

	if (s->o.deadline_ms)
		s->o.deadline_ms = util_now_ms() + (int64_t)seconds * 1000;
	if (s->o.budget && s->used > s->o.budget - left)
		s->used = s->o.budget - left;
}

/* The line of the first "scenario" call in file, for errors raised by
 * scenario{} itself: `return scenario {...}` is a tail call, so Lua no
 * longer knows the caller's line when the check fails. */
static int scenario_line(const char *file)
{
	FILE *f = fopen(file, "r");
	char buf[1024];
	int line = 0, found = 0;

	while (f && !found && fgets(buf, sizeof buf, f)) {
		char *p = strstr(buf, "scenario");
		line++;
		if (p && (p == buf || !isalnum((unsigned char)p[-1])) && !strstr(buf, "--"))
			found = 1;
	}
	if (f)
		fclose(f);
	return found ? line : 1;
}

int lhil_load_scenario(lua_State *L, const char *file, char *err, size_t errlen)
{
	sbx_t *s = sbx_of(L);

	free(s->scenfile);
	s->scenfile = strdup(file); /* NULL: errors are left as raised */
	if (luaL_loadfilex(L, file, "t") != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	if (lhil_pcall(L, 0, 1) != LUA_OK) {
		const char *msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "error";
		if (!strncmp(msg, "scenario: ", 10))
			snprintf(err, errlen, "%s:%d: %s", file, scenario_line(file), msg);
		else
			snprintf(err, errlen, "%s", msg);
		lua_pop(L, 1);
		return -1;
	}
	if (!lua_istable(L, -1)) {
		snprintf(err, errlen, "%s:1: a scenario file must return scenario { ... }", file);
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}
