/* sandbox.c — the Lua state scenarios run in.
 *
 * Scenarios are test code from many hands; a bad one must fail alone,
 * never hang the suite or reach outside its run directory.  So: no
 * process control, no C modules, no binary chunks, files only inside the
 * run directory, an instruction budget and a wall-clock watchdog checked
 * from a count hook. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "hil/lua/lhil.h"
#include "hil/util.h"

#define HOOK_EVERY 10000 /* instructions between budget checks */

typedef struct sbx {
	lhil_opts_t o;
	long long used;
	char *rundir;
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

/* io.open(path, mode) for a relative path inside the run directory. */
static int l_open(lua_State *L)
{
	sbx_t *s = sbx_of(L);
	const char *path = luaL_checkstring(L, 1);
	const char *mode = luaL_optstring(L, 2, "r");

	if (!s->rundir)
		return luaL_error(L, "io.open: no run directory");
	if (path[0] == '/' || !strcmp(path, "..") || !strncmp(path, "../", 3) ||
	    strstr(path, "/../") || (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")))
		return luaL_error(L, "io.open: '%s' is outside the run directory", path);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushfstring(L, "%s/%s", s->rundir, path);
	lua_pushstring(L, mode);
	lua_call(L, 2, LUA_MULTRET);
	return lua_gettop(L) - 2;
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
	char path[8192];

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

	/* require: Lua files from the scenario tree's lib/ and the built-in
	 * lib only; no C modules. */
	lua_getglobal(L, "package");
	snprintf(path, sizeof path, "%s%s%s/?.lua",
		 s->o.userlib ? s->o.userlib : "", s->o.userlib ? "/?.lua;" : "",
		 s->o.libdir);
	lua_pushstring(L, path);
	lua_setfield(L, -2, "path");
	lua_pushstring(L, "");
	lua_setfield(L, -2, "cpath");
	lua_getfield(L, -1, "searchers");
	for (int i = 4; i >= 3; i--) { /* the C and all-in-one searchers */
		lua_pushnil(L);
		lua_rawseti(L, -2, i);
	}
	lua_pop(L, 1);
	lua_pushnil(L);
	lua_setfield(L, -2, "loadlib");
	lua_pop(L, 1);
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
	lua_call(L, 1, 0);
	return 0;
}

lua_State *lhil_new(const lhil_opts_t *o, char *err, size_t errlen)
{
	sbx_t *s = calloc(1, sizeof *s);
	lua_State *L = luaL_newstate();

	if (!s || !L || (o->rundir && !(s->rundir = strdup(o->rundir)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->o = *o;
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
	if (s)
		free(s->rundir);
	free(s);
	return NULL;
}

struct trace *lhil_trace(lua_State *L)
{
	return sbx_of(L)->o.trace;
}

void lhil_close(lua_State *L)
{
	sbx_t *s;

	if (!L)
		return;
	s = sbx_of(L);
	lua_close(L);
	free(s->rundir);
	free(s);
}

static int msgh(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

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
	int base = lua_gettop(L) - nargs, rc;

	lua_pushcfunction(L, msgh);
	lua_insert(L, base);
	rc = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	if (rc != LUA_OK && lua_istable(L, -1))
		return LHIL_SKIP;
	return rc;
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
