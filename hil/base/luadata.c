/* luadata.c — load a data file written in Lua in a sandbox, and read
 * its table field by field (see luadata.h). */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "hil/base/luadata.h"
#include "sim/core/apdu.h"

#define HOOK_EVERY 1000 /* instructions between two looks at the budget */
#define DEPTH_MAX 8     /* tables entered at once */

struct ld {
	lua_State *L;
	const char *path;
	char dir[PATH_MAX];
	char *err;
	size_t errlen;
	size_t mem, mem_max; /* bytes the Lua state holds, and may hold */
	long steps;          /* instructions run, in HOOK_EVERY steps */
	/* the name of the value being read, "holder", "keysets[2]" ... */
	char field[256];
	size_t depth, mark[DEPTH_MAX];
};

/* ------------------------------------------------------------- sandbox */

static void *ld_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	ld_t *ld = ud;
	void *n;

	if (!ptr)
		osize = 0; /* then osize tells the kind of object, not a size */
	if (nsize == 0) {
		free(ptr);
		ld->mem -= osize;
		return NULL;
	}
	if (nsize > osize && nsize - osize > ld->mem_max - ld->mem)
		return NULL; /* Lua raises a memory error */
	if (!(n = realloc(ptr, nsize)))
		return NULL;
	ld->mem = ld->mem - osize + nsize;
	return n;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	void *ud;
	ld_t *ld;

	(void)ar;
	lua_getallocf(L, &ud);
	ld = ud;
	if ((ld->steps += HOOK_EVERY) <= LD_INSTRUCTIONS)
		return;
	/* Level 0: a hook runs in the frame of the function it stopped. */
	luaL_where(L, 0);
	lua_pushfstring(L, "more than %I instructions: a data file runs no such loops",
			(lua_Integer)LD_INSTRUCTIONS);
	lua_concat(L, 2);
	lua_error(L);
}

/* Errors outside a protected call can only be running out of memory
 * after the file has run, while its table is read. */
static int panic(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);

	fprintf(stderr, "mynahil: Lua data file: %s\n", msg ? msg : "error");
	abort();
}

/* The message of a failed load or run, "FILE:LINE: what" as Lua gives
 * it; the file is named when Lua's message does not (a binary chunk,
 * a memory error). */
static int run_error(ld_t *ld, int rc)
{
	const char *msg = lua_tostring(ld->L, -1);

	if (rc == LUA_ERRMEM)
		return ld_fail(ld, "more than %u MiB of memory: a data file needs a few KiB",
			       LD_MEMORY >> 20);
	if (!msg)
		return ld_fail(ld, "error object is not a string");
	if (strstr(msg, ld->path))
		snprintf(ld->err, ld->errlen, "%s", msg);
	else
		ld_fail(ld, "%s", msg);
	return -1;
}

/* Load the file as text, give it an empty table as its environment and
 * run it under the budgets.  Its table is left on the stack. */
static int run(ld_t *ld)
{
	lua_State *L = ld->L;
	int rc = luaL_loadfilex(L, ld->path, "t");

	if (rc == LUA_OK) {
		lua_newtable(L);
		lua_setupvalue(L, -2, 1); /* the chunk's only upvalue is _ENV */
		lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
		rc = lua_pcall(L, 0, 1, 0);
		lua_sethook(L, NULL, 0, 0);
	}
	/* From here on only our code runs, reading what the file built. */
	ld->mem_max = SIZE_MAX;
	if (rc != LUA_OK)
		return run_error(ld, rc);
	if (!lua_istable(L, -1))
		return ld_fail(ld, "must return a table");
	return 0;
}

ld_t *ld_open(const char *path, char *err, size_t errlen)
{
	ld_t *ld = calloc(1, sizeof *ld);
	const char *slash = strrchr(path, '/');

	if (!ld) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	ld->path = path;
	ld->err = err;
	ld->errlen = errlen;
	ld->mem_max = LD_MEMORY;
	snprintf(ld->dir, sizeof ld->dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	if (!(ld->L = lua_newstate(ld_alloc, ld))) {
		ld_fail(ld, "out of memory");
		ld_close(ld);
		return NULL;
	}
	lua_atpanic(ld->L, panic);
	if (run(ld) < 0) {
		ld_close(ld);
		return NULL;
	}
	return ld;
}

void ld_close(ld_t *ld)
{
	if (!ld)
		return;
	if (ld->L)
		lua_close(ld->L);
	free(ld);
}

int ld_path(const ld_t *ld, const char *rel, char *out, size_t cap)
{
	int n = rel[0] == '/' ? snprintf(out, cap, "%s", rel) : snprintf(out, cap, "%s/%s", ld->dir, rel);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* -------------------------------------------------------------- errors */

static int vfail(ld_t *ld, const char *key, const char *fmt, va_list ap)
{
	int n;

	if (key || ld->field[0])
		n = snprintf(ld->err, ld->errlen, "%s: field '%s%s%s' ", ld->path, ld->field,
			     key && ld->field[0] ? "." : "", key ? key : "");
	else
		n = snprintf(ld->err, ld->errlen, "%s: ", ld->path);
	if (n >= 0 && (size_t)n < ld->errlen)
		vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	return -1;
}

int ld_fail(ld_t *ld, const char *fmt, ...)
{
	va_list ap;
	char *field = ld->field, keep = field[0];

	field[0] = 0; /* about the file, not the field being read */
	va_start(ap, fmt);
	vfail(ld, NULL, fmt, ap);
	va_end(ap);
	field[0] = keep;
	return -1;
}

int ld_fail_field(ld_t *ld, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ld, key, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---------------------------------------------------- the field's name */

static void name_push(ld_t *ld, const char *key, size_t index)
{
	size_t n = strlen(ld->field);

	ld->mark[ld->depth++] = n;
	if (key)
		snprintf(ld->field + n, sizeof ld->field - n, "%s%s", n ? "." : "", key);
	else
		snprintf(ld->field + n, sizeof ld->field - n, "[%zu]", index);
}

static void name_pop(ld_t *ld)
{
	ld->field[ld->mark[--ld->depth]] = 0;
}

/* -------------------------------------------------------------- tables */

/* Push field key of the table being read (key NULL: that value again);
 * its Lua type.  Data files have no metatables (they have no library to
 * set one), so this runs none of the file's code. */
static int push(ld_t *ld, const char *key)
{
	if (key)
		return lua_getfield(ld->L, -1, key);
	lua_pushvalue(ld->L, -1);
	return lua_type(ld->L, -1);
}

/* Push field key; 1 when there, 0 (nothing pushed) when absent and
 * optional, -1 (nothing pushed) when absent and required. */
static int present(ld_t *ld, const char *key, enum ld_need need)
{
	if (push(ld, key) != LUA_TNIL)
		return 1;
	lua_pop(ld->L, 1);
	return need == LD_REQUIRED ? ld_fail_field(ld, key, "is missing") : 0;
}

int ld_has(ld_t *ld, const char *key)
{
	int there = push(ld, key) != LUA_TNIL;

	lua_pop(ld->L, 1);
	return there;
}

int ld_only(ld_t *ld, const char *const *names)
{
	lua_pushnil(ld->L);
	while (lua_next(ld->L, -2)) {
		const char *k = lua_type(ld->L, -2) == LUA_TSTRING ? lua_tostring(ld->L, -2) : NULL;
		size_t i;

		lua_pop(ld->L, 1);
		for (i = 0; k && names[i] && strcmp(names[i], k); i++)
			;
		if (!k || !names[i]) {
			lua_pop(ld->L, 1);
			if (!k)
				return ld_fail_field(ld, NULL, "has a key that is not a name");
			return ld->field[0] ? ld_fail_field(ld, k, "is not known here")
					    : ld_fail(ld, "unknown field '%s'", k);
		}
	}
	return 0;
}

int ld_enter(ld_t *ld, const char *key, enum ld_need need)
{
	int rc = present(ld, key, need);

	if (rc <= 0)
		return rc;
	if (!lua_istable(ld->L, -1) || ld->depth == DEPTH_MAX) {
		lua_pop(ld->L, 1);
		return ld_fail_field(ld, key, "must be a table");
	}
	name_push(ld, key, 0);
	return 1;
}

void ld_leave(ld_t *ld)
{
	lua_pop(ld->L, 1);
	name_pop(ld);
}

/* The table on top is a list: its keys are exactly 1..n.  n or -1. */
static long list_len(ld_t *ld)
{
	size_t n = lua_rawlen(ld->L, -1), keys = 0;

	lua_pushnil(ld->L);
	while (lua_next(ld->L, -2)) {
		lua_pop(ld->L, 1);
		keys++;
	}
	return keys == n && n <= LONG_MAX ? (long)n : -1;
}

static int each(ld_t *ld, size_t n, int tables, int (*fn)(ld_t *, size_t, void *), void *arg)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc >= 0; i++) {
		lua_rawgeti(ld->L, -1, (lua_Integer)i + 1);
		name_push(ld, NULL, i + 1);
		if (tables && !lua_istable(ld->L, -1))
			rc = ld_fail_field(ld, NULL, "must be a table");
		else
			rc = fn(ld, i, arg);
		name_pop(ld);
		lua_pop(ld->L, 1);
	}
	return rc;
}

int ld_list(ld_t *ld, const char *key, size_t max, int tables, int (*fn)(ld_t *, size_t, void *),
	    void *arg, size_t *count)
{
	long n;
	int rc;

	*count = 0;
	if ((rc = ld_enter(ld, key, LD_OPTIONAL)) <= 0)
		return rc;
	if ((n = list_len(ld)) < 0)
		rc = ld_fail_field(ld, NULL, "must be a list { a, b, ... }");
	else if ((size_t)n > max)
		rc = ld_fail_field(ld, NULL, "has more than %zu entries", max);
	else if ((rc = each(ld, (size_t)n, tables, fn, arg)) >= 0) {
		*count = (size_t)n;
		rc = 1;
	}
	ld_leave(ld);
	return rc;
}

/* ------------------------------------------------------------- scalars */

int ld_int(ld_t *ld, const char *key, long long lo, long long hi, long long *out, enum ld_need need)
{
	int rc = present(ld, key, need), isint;
	lua_Integer v;

	if (rc <= 0)
		return rc;
	v = lua_tointegerx(ld->L, -1, &isint);
	if (lua_type(ld->L, -1) != LUA_TNUMBER || !isint || v < lo || v > hi)
		rc = ld_fail_field(ld, key, "must be an integer in %lld..%lld", lo, hi);
	else
		*out = v;
	lua_pop(ld->L, 1);
	return rc;
}

int ld_bool(ld_t *ld, const char *key, int *out, enum ld_need need)
{
	int rc = present(ld, key, need);

	if (rc <= 0)
		return rc;
	if (lua_type(ld->L, -1) != LUA_TBOOLEAN)
		rc = ld_fail_field(ld, key, "must be true or false");
	else
		*out = lua_toboolean(ld->L, -1);
	lua_pop(ld->L, 1);
	return rc;
}

/* The string on top, checked; NULL (message written) if it is not one. */
static const char *top_str(ld_t *ld, const char *key, size_t max)
{
	size_t n;
	const char *s;

	if (lua_type(ld->L, -1) != LUA_TSTRING) {
		ld_fail_field(ld, key, "must be a string");
		return NULL;
	}
	s = lua_tolstring(ld->L, -1, &n);
	if (strlen(s) != n) {
		ld_fail_field(ld, key, "holds a NUL byte");
		return NULL;
	}
	if (n > max) {
		ld_fail_field(ld, key, "is longer than %zu bytes", max);
		return NULL;
	}
	return s;
}

int ld_str(ld_t *ld, const char *key, size_t max, const char **out, enum ld_need need)
{
	int rc = present(ld, key, need);
	const char *s;

	if (rc <= 0)
		return rc;
	/* The file's table holds the string: it lives as long as ld. */
	if ((s = top_str(ld, key, max)))
		*out = s;
	lua_pop(ld->L, 1);
	return s ? 1 : -1;
}

int ld_hex(ld_t *ld, const char *key, uint8_t *out, size_t cap, size_t exact, size_t *n,
	   enum ld_need need)
{
	int rc = present(ld, key, need);
	const char *s;
	long k;

	if (rc <= 0)
		return rc;
	rc = -1;
	if (!(s = top_str(ld, key, 8 * cap + 64)))
		; /* said why */
	else if ((k = apdu_unhex(s, out, cap)) < 0)
		ld_fail_field(ld, key, "is bad hex, or longer than %zu bytes", cap);
	else if (exact && (size_t)k != exact)
		ld_fail_field(ld, key, "must be %zu bytes", exact);
	else {
		*n = (size_t)k;
		rc = 1;
	}
	lua_pop(ld->L, 1);
	return rc;
}
