/* lios.c — the simulated iPhone's device operations from a scenario
 * (docs/ios.md#lua): link methods for a sim:ios link only, which the
 * wallet app layer of the scenarios calls (the iPhone's Wallet, not the
 * reader: none of them is an APDU).  Bound as w.ios (--target ios=sim:ios).
 *
 *   local spki = w.ios:keygen("auth")            -- DER SubjectPublicKeyInfo
 *   local att = w.ios:attest(challenge)          -- { sig, device_cert, platform_ca }
 *   w.ios:install(cred, auth_pin, sign_pw)       -- cred = { device_id, auth_cert,
 *        -- auth_ca, sign_cert, sign_ca, sig } (bytes); pins nil: keep
 *   w.ios:remove()  w.ios:factory_reset()  w.ios:set_pins(auth, sign)
 *   w.ios:erase("auth" | "sign")                 -- half_valid = erase_revoked
 *   w.ios:biometric("match" | "no_match" | "not_enrolled" | "disabled")
 *   w.ios:device_id()                            -- 16 bytes
 *
 * Each returns its value (or true), or nil and why (ios_strerror) when
 * the device refuses; a wrong argument is an error.  link:inspect() shows
 * the device (lbind.c). */
#include <string.h>

#include <lauxlib.h>

#include "hil/base/trace.h"
#include "hil/link/link_sim.h"
#include "hil/run/lua/lhil.h"

static const char *const slots[] = { "auth", "sign", NULL };

static sim_ios_t *ios_of(lua_State *L, const char *what)
{
	sim_ios_t *d = link_sim_ios(lhil_check_link(L, 1));

	if (!d)
		luaL_error(L, "%s: a simulated iPhone (sim:ios) only", what);
	return d;
}

static void note(lua_State *L, const char *what)
{
	trace_note(lhil_trace(L), lhil_check_link(L, 1)->uri, what);
}

/* true, or nil and why. */
static int result(lua_State *L, int rc, const char *what)
{
	if (rc != SIM_OK) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: %s", what, ios_strerror(rc));
		return 2;
	}
	note(L, what);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_keygen(lua_State *L)
{
	sim_ios_t *d = ios_of(L, "keygen");
	int slot = luaL_checkoption(L, 2, NULL, slots);
	uint8_t spki[IOS_SPKI_MAX];
	size_t n = 0;
	int rc = ios_keygen(d, slot ? IOS_SLOT_SIGN : IOS_SLOT_AUTH, spki, sizeof spki, &n);

	if (rc != SIM_OK)
		return result(L, rc, "keygen");
	note(L, slot ? "keygen sign" : "keygen auth");
	lua_pushlstring(L, (const char *)spki, n);
	return 1;
}

static int l_attest(lua_State *L)
{
	sim_ios_t *d = ios_of(L, "attest");
	size_t cn;
	const char *ch = luaL_checklstring(L, 2, &cn);
	ios_attestation_t a;
	int rc = ios_attest(d, (const uint8_t *)ch, cn, &a);

	if (rc != SIM_OK)
		return result(L, rc, "attest");
	note(L, "attest");
	lua_createtable(L, 0, 3);
	lua_pushlstring(L, (const char *)a.sig, a.sig_len);
	lua_setfield(L, -2, "sig");
	lua_pushlstring(L, (const char *)a.device_cert.p, a.device_cert.n);
	lua_setfield(L, -2, "device_cert");
	lua_pushlstring(L, (const char *)a.platform_ca.p, a.platform_ca.n);
	lua_setfield(L, -2, "platform_ca");
	return 1;
}

/* A bytes field of the table at 2 (absent: empty). */
static ios_blob_t field(lua_State *L, const char *key)
{
	ios_blob_t b = { NULL, 0 };
	int t = lua_getfield(L, 2, key);

	if (t == LUA_TSTRING)
		b.p = (const uint8_t *)lua_tolstring(L, -1, &b.n);
	else if (t != LUA_TNIL)
		luaL_error(L, "install: cred.%s must be a string of bytes", key);
	lua_pop(L, 1); /* the string stays alive in the table */
	return b;
}

static int l_install(lua_State *L)
{
	sim_ios_t *d = ios_of(L, "install");
	const char *auth = luaL_optstring(L, 3, NULL), *sign = luaL_optstring(L, 4, NULL);
	ios_cred_t c;
	ios_blob_t id;

	luaL_checktype(L, 2, LUA_TTABLE);
	id = field(L, "device_id");
	if (id.n != IOS_DEVICE_ID_LEN)
		return luaL_error(L, "install: cred.device_id must be %d bytes", IOS_DEVICE_ID_LEN);
	memcpy(c.device_id, id.p, IOS_DEVICE_ID_LEN);
	c.auth_cert = field(L, "auth_cert");
	c.auth_ca = field(L, "auth_ca");
	c.sign_cert = field(L, "sign_cert");
	c.sign_ca = field(L, "sign_ca");
	c.sig = field(L, "sig");
	return result(L, ios_install(d, &c, auth, sign), "install");
}

static int l_remove(lua_State *L)
{
	return result(L, ios_remove(ios_of(L, "remove")), "remove");
}

static int l_erase(lua_State *L)
{
	sim_ios_t *d = ios_of(L, "erase");
	int slot = luaL_checkoption(L, 2, NULL, slots);

	return result(L, ios_erase_slot(d, slot ? IOS_SLOT_SIGN : IOS_SLOT_AUTH), slot ? "erase sign" : "erase auth");
}

static int l_factory_reset(lua_State *L)
{
	return result(L, ios_factory_reset(ios_of(L, "factory_reset")), "factory_reset");
}

static int l_set_pins(lua_State *L)
{
	sim_ios_t *d = ios_of(L, "set_pins");
	const char *auth = luaL_optstring(L, 2, NULL), *sign = luaL_optstring(L, 3, NULL);

	if (!auth && !sign)
		return luaL_error(L, "set_pins: give the auth PIN, the sign password or both");
	return result(L, ios_set_pins(d, auth, sign), "set_pins");
}

static int l_biometric(lua_State *L)
{
	sim_ios_t *d = ios_of(L, "biometric");
	const char *s = luaL_checkstring(L, 2);
	int b = ios_bio_parse(s);
	char ev[48];

	if (b < 0)
		return luaL_error(L, "biometric: '%s': expected match, no_match, not_enrolled or disabled", s);
	snprintf(ev, sizeof ev, "biometric %s", s);
	return result(L, ios_biometric(d, (enum ios_bio)b), ev);
}

static int l_device_id(lua_State *L)
{
	ios_view_t v;

	sim_ios_view(ios_of(L, "device_id"), &v);
	lua_pushlstring(L, (const char *)v.device_id, IOS_DEVICE_ID_LEN);
	return 1;
}

void lhil_open_ios(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "keygen", l_keygen },
		{ "attest", l_attest },
		{ "install", l_install },
		{ "remove", l_remove },
		{ "erase", l_erase },
		{ "factory_reset", l_factory_reset },
		{ "set_pins", l_set_pins },
		{ "biometric", l_biometric },
		{ "device_id", l_device_id },
		{ NULL, NULL },
	};

	luaL_getmetatable(L, LHIL_LINK_MT);
	lua_getfield(L, -1, "__index");
	luaL_setfuncs(L, methods, 0);
	lua_pop(L, 2);
}

/* link:inspect()'s table for an iPhone (at the top of the stack). */
void lhil_inspect_ios(lua_State *L, sim_ios_t *d)
{
	ios_view_t v;

	sim_ios_view(d, &v);
	lua_pushlstring(L, (const char *)v.device_id, IOS_DEVICE_ID_LEN);
	lua_setfield(L, -2, "device_id");
	lua_pushboolean(L, v.installed);
	lua_setfield(L, -2, "installed");
	lua_pushstring(L, ios_bio_name(v.bio));
	lua_setfield(L, -2, "biometric");
	lua_createtable(L, 0, 2);
	for (int i = 0; i < 2; i++) {
		lua_createtable(L, 0, 3);
		if (v.cert[i].n) {
			lua_pushlstring(L, (const char *)v.cert[i].p, v.cert[i].n);
			lua_setfield(L, -2, "der");
		}
		lua_pushboolean(L, v.pending[i]);
		lua_setfield(L, -2, "pending");
		lhil_push_pin(L, &v.pin[i]);
		lua_setfield(L, -2, "pin");
		lua_setfield(L, -2, slots[i]);
	}
	lua_setfield(L, -2, "slots");
}
