/* policy.c — the policy switches (docs/domain.md#policy-switches) and
 * operations, in one place. */
#include <stdio.h>
#include <string.h>

#include <lua.h>

#include "hil/run/policy.h"

const pol_switch_t pol_switches[POL_N] = {
	{ "revoke_without_card", 1, { "false", "true" } },
	{ "delete_applet_on_revoke", 0, { "force", "warn" } },
	{ "half_valid", 0, { "block", "erase_revoked" } },
	{ "phone_sign_cert", 1, { "true", "false" } },
	{ "one_phone_scope", 0, { "holder", "platform" } },
	{ "se_model", 0, { "shared_isd", "ssd" } },
};

const char *const pol_operations[POL_NOPS] = {
	"issue", "revoke", "renew", "reissue", "suspend_resume", "pin_reset", "pin_change",
};

int pol_find(const char *name)
{
	for (int i = 0; i < POL_N; i++)
		if (!strcmp(pol_switches[i].name, name))
			return i;
	return -1;
}

int pol_value(int sw, const char *value)
{
	for (int i = 0; sw >= 0 && sw < POL_N && i < 2; i++)
		if (!strcmp(pol_switches[sw].values[i], value))
			return i;
	return -1;
}

int pol_operation(const char *name)
{
	for (int i = 0; i < POL_NOPS; i++)
		if (!strcmp(pol_operations[i], name))
			return i;
	return -1;
}

void pol_choices(int sw, char *buf, size_t cap)
{
	size_t off = 0;
	int n = sw >= 0 ? 2 : POL_N;

	buf[0] = 0;
	for (int i = 0; i < n && off < cap; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? (sw >= 0 ? " or " : ", ") : "",
					sw >= 0 ? pol_switches[sw].values[i] : pol_switches[i].name);
}

void pol_format(const pol_set_t p, unsigned mask, char *buf, size_t cap)
{
	size_t off = 0;
	int first = 1;

	buf[0] = 0;
	for (int i = 0; i < POL_N && off < cap; i++) {
		if (!p[i] || !(mask & (1u << i)))
			continue;
		off += (size_t)snprintf(buf + off, cap - off, "%s%s=%s", first ? "" : ",", pol_switches[i].name,
					pol_switches[i].values[p[i] - 1]);
		first = 0;
	}
}

void pol_push_lua(lua_State *L)
{
	lua_createtable(L, 0, 3);
	lua_createtable(L, 0, POL_N);  /* switches */
	lua_createtable(L, POL_N, 0);  /* order */
	for (int i = 0; i < POL_N; i++) {
		lua_createtable(L, 2, 1);
		lua_pushboolean(L, pol_switches[i].boolean);
		lua_setfield(L, -2, "boolean");
		for (int v = 0; v < 2; v++) {
			lua_pushstring(L, pol_switches[i].values[v]);
			lua_rawseti(L, -2, v + 1);
		}
		lua_setfield(L, -3, pol_switches[i].name);
		lua_pushstring(L, pol_switches[i].name);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -3, "order");
	lua_setfield(L, -2, "switches");
	lua_createtable(L, POL_NOPS, 0);
	for (int i = 0; i < POL_NOPS; i++) {
		lua_pushstring(L, pol_operations[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "operations");
}
