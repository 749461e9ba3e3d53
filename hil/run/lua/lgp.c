/* lgp.c — mynahil.gp: the GlobalPlatform host side a scenario needs to
 * show what a key set opens (docs/se.md#diversified-keys), no more:
 *
 *   gp.diversify(master_hex, kdd_hex)  -> { enc, mac, dek } (hex), KDF3
 *   gp.iu(kvn, host_challenge_hex)     -> INITIALIZE UPDATE (hex)
 *   gp.open(keys, iu_cmd_hex, iu_rsp_hex, level [, force])
 *       -> EXTERNAL AUTHENTICATE (hex), or nil and why ("card cryptogram ...")
 *
 * keys is { kvn = n, enc = hex, mac = hex, dek = hex }.  force: build
 * EXTERNAL AUTHENTICATE with these keys even when the card's cryptogram
 * is not theirs (put the one they would give in its place), so that a
 * scenario sees the card refuse a host with the wrong keys too.  The
 * session itself is not kept: nothing here wraps commands. */
#include <string.h>

#include <lauxlib.h>
#include <openssl/crypto.h>

#include "hil/run/lua/lhil.h"
#include "sim/core/apdu.h"
#include "sim/gp/gpkdiv.h"
#include "sim/gp/scp03.h"

static size_t hexarg(lua_State *L, int i, uint8_t *out, size_t cap)
{
	size_t n;
	const char *h = luaL_checklstring(L, i, &n);
	long r = apdu_unhex(h, out, cap);

	if (r < 0 || (size_t)r * 2 != n)
		luaL_argerror(L, i, "hex, at most the expected length");
	return (size_t)r;
}

static void pushhex(lua_State *L, const uint8_t *p, size_t n)
{
	char h[2 * 64 + 1];

	apdu_hex(p, n, h);
	lua_pushstring(L, h);
}

static void keys_arg(lua_State *L, int i, scp03_keyset_t *k)
{
	static const char *const names[] = { "enc", "mac", "dek" };
	uint8_t *dst[] = { k->enc, k->mac, k->dek };
	size_t n = 0;

	luaL_checktype(L, i, LUA_TTABLE);
	memset(k, 0, sizeof *k);
	lua_getfield(L, i, "kvn");
	k->kvn = (uint8_t)luaL_checkinteger(L, -1);
	lua_pop(L, 1);
	for (int j = 0; j < 3; j++) {
		lua_getfield(L, i, names[j]);
		n = hexarg(L, lua_gettop(L), dst[j], SCP03_KEY_MAX);
		lua_pop(L, 1);
		if (n != 16 && n != 24 && n != 32)
			luaL_argerror(L, i, "keys of 16, 24 or 32 bytes");
	}
	k->key_len = (uint8_t)n;
}

static int l_diversify(lua_State *L)
{
	uint8_t kdd[SCP03_KDD_LEN];
	scp03_keyset_t m = { 0 }, k;
	size_t n = hexarg(L, 1, m.enc, SCP03_KEY_MAX);

	if ((n != 16 && n != 24 && n != 32) || hexarg(L, 2, kdd, sizeof kdd) != sizeof kdd)
		return luaL_error(L, "gp.diversify(master, kdd): a 16/24/32-byte key and a 10-byte KDD");
	m.key_len = (uint8_t)n;
	memcpy(m.mac, m.enc, n);
	memcpy(m.dek, m.enc, n);
	if (gpkdiv_keyset(&m, kdd, &k) < 0)
		return luaL_error(L, "gp.diversify: derivation failed");
	lua_createtable(L, 0, 3);
	pushhex(L, k.enc, n);
	lua_setfield(L, -2, "enc");
	pushhex(L, k.mac, n);
	lua_setfield(L, -2, "mac");
	pushhex(L, k.dek, n);
	lua_setfield(L, -2, "dek");
	OPENSSL_cleanse(&k, sizeof k);
	OPENSSL_cleanse(&m, sizeof m);
	return 1;
}

static int l_iu(lua_State *L)
{
	uint8_t hc[SCP03_CHALLENGE_MAX], cmd[32];
	scp03_session_t s;
	size_t hn, n;
	lua_Integer kvn = luaL_checkinteger(L, 1);

	hn = hexarg(L, 2, hc, sizeof hc);
	scp03_session_init(&s);
	if (kvn < 0 || kvn > 0x7F || scp03_host_init_update(&s, (uint8_t)kvn, hc, hn, cmd, sizeof cmd, &n) < 0)
		return luaL_error(L, "gp.iu(kvn, challenge): a KVN 0..7F and an 8 or 16-byte challenge");
	scp03_session_close(&s);
	pushhex(L, cmd, n);
	return 1;
}

static int l_open(lua_State *L)
{
	scp03_keyset_t k;
	uint8_t cmd[40], rsp[64], ea[64];
	size_t cn, rn, en, hl;
	lua_Integer level = luaL_checkinteger(L, 4);
	int force = lua_toboolean(L, 5), rc;
	scp03_session_t s;

	keys_arg(L, 1, &k);
	cn = hexarg(L, 2, cmd, sizeof cmd);
	rn = hexarg(L, 3, rsp, sizeof rsp);
	if (cn < 13 || (cmd[4] != 8 && cmd[4] != 16) || cn < 5u + cmd[4])
		return luaL_argerror(L, 2, "an INITIALIZE UPDATE command");
	hl = cmd[4];
	scp03_session_init(&s);
	rc = scp03_host_init_update(&s, cmd[2], cmd + 5, hl, ea, sizeof ea, &en);
	if (!rc)
		rc = scp03_host_open(&s, &k, rsp, rn, (uint8_t)level, ea, sizeof ea, &en);
	if (rc == SCP03_ERR_CRYPTOGRAM && force && rn >= 13 + 2 * hl) {
		/* the card cryptogram these keys would give for the two challenges */
		uint8_t ctx[32], smac[SCP03_KEY_MAX], cc[16];
		memcpy(ctx, cmd + 5, hl);
		memcpy(ctx + hl, rsp + 13, hl);
		if (scp03_kdf(k.mac, k.key_len, SCP03_DC_S_MAC, ctx, 2 * hl, 8u * k.key_len, smac) == 0 &&
		    scp03_kdf(smac, k.key_len, SCP03_DC_CARD_CRYPTOGRAM, ctx, 2 * hl, 8 * hl, cc) == 0) {
			memcpy(rsp + 13 + hl, cc, hl);
			rc = scp03_host_init_update(&s, cmd[2], cmd + 5, hl, ea, sizeof ea, &en);
			if (!rc)
				rc = scp03_host_open(&s, &k, rsp, rn, (uint8_t)level, ea, sizeof ea, &en);
		}
		OPENSSL_cleanse(smac, sizeof smac);
	}
	scp03_session_close(&s);
	OPENSSL_cleanse(&k, sizeof k);
	if (rc < 0) {
		lua_pushnil(L);
		lua_pushstring(L, rc == SCP03_ERR_CRYPTOGRAM ? "card cryptogram does not verify with these keys"
							     : scp03_strerror(rc));
		return 2;
	}
	pushhex(L, ea, en);
	return 1;
}

int luaopen_mynahil_gp(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "diversify", l_diversify }, { "iu", l_iu }, { "open", l_open }, { NULL, NULL },
	};
	luaL_newlib(L, fns);
	return 1;
}
