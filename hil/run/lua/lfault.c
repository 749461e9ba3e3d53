/* lfault.c — faults from a scenario (docs/faults.md): w:fault(SPEC)
 * through mynahil._fault, and the pause the oracle takes so that its
 * observations are not counted as the scenario's commands. */
#include <lauxlib.h>

#include "hil/base/fault.h"
#include "hil/run/lua/lhil.h"

/* mynahil._fault(spec, where) -> index (from 1); a bad spec is an error
 * naming the valid choices, raised at the scenario's line. */
static int l_fault(lua_State *L)
{
	const char *spec = luaL_checkstring(L, 1), *where = luaL_optstring(L, 2, "?");
	fault_live_t *fl = lhil_faults(L);
	char err[400];
	int i;

	if (!fl)
		return luaL_error(L, "faults are not available here");
	if ((i = fault_live_add(fl, spec, where, err, sizeof err)) < 0)
		return luaL_error(L, "%s", err);
	lua_pushinteger(L, i + 1);
	return 1;
}

/* mynahil._fault_fired(index) -> where it fired, or nil */
static int l_fault_fired(lua_State *L)
{
	fault_live_t *fl = lhil_faults(L);
	lua_Integer i = luaL_checkinteger(L, 1);
	fault_outcome_t o;

	if (!fl || i < 1 || (size_t)i > fault_live_n(fl))
		return luaL_argerror(L, 1, "no such fault");
	fault_live_outcome(fl, (size_t)i - 1, &o);
	if (o.fired)
		lua_pushstring(L, o.where);
	else
		lua_pushnil(L);
	return 1;
}

/* mynahil._faults_fired() -> how many faults have fired so far (the
 * app retries a flow one broke, scenarios/lib/app.lua) */
static int l_faults_fired(lua_State *L)
{
	fault_live_t *fl = lhil_faults(L);
	lua_Integer n = 0;

	for (size_t i = 0; i < fault_live_n(fl); i++) {
		fault_outcome_t o;
		fault_live_outcome(fl, i, &o);
		n += o.fired;
	}
	lua_pushinteger(L, n);
	return 1;
}

/* mynahil._fault_pause(bool): the oracle and the teardown at work */
static int l_fault_pause(lua_State *L)
{
	fault_live_pause(lhil_faults(L), lua_toboolean(L, 1));
	return 0;
}

void lhil_open_faults(lua_State *L)
{
	lua_getglobal(L, "mynahil");
	lua_pushcfunction(L, l_fault);
	lua_setfield(L, -2, "_fault");
	lua_pushcfunction(L, l_fault_fired);
	lua_setfield(L, -2, "_fault_fired");
	lua_pushcfunction(L, l_faults_fired);
	lua_setfield(L, -2, "_faults_fired");
	lua_pushcfunction(L, l_fault_pause);
	lua_setfield(L, -2, "_fault_pause");
	lua_pop(L, 1);
}
