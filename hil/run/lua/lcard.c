/* lcard.c — renewing the simulated card's certificates from a scenario
 * (docs/ca.md, "Time"): J-LIS renews a card certificate at the municipal
 * counter with a new key pair on the card.  Two link methods, for a
 * sim:card link only (a real card is renewed at a counter, not by a
 * test):
 *
 *   local spki = w.card:renew_key("sign")  -- the card's new key pair: its
 *        -- SubjectPublicKeyInfo (DER); the private key stays in the harness
 *   w.card:renew_cert("sign", der)         -- the CA's certificate for it:
 *        -- key and certificate written to the card (sim_card_renew)
 *
 * The key is one of the fixtures' pool (keys/pool-11..63.pem, the free
 * range, as the SE's), drawn with the card's random stream, so the same
 * seed renews with the same key; a key the card already holds is passed
 * over.  Both return nil and why on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hil/fixtures/pki.h"
#include "hil/fixtures/profile.h"
#include "hil/link/link_sim.h"
#include "hil/run/lua/lhil.h"
#include "hil/base/trace.h"

#define POOL_FROM 11
#define POOL_TO 63
#define PENDING "mynahil.card_pending" /* registry: link -> { auth = key, sign = key } */

static const char *const pairs[] = { "auth", "sign", NULL };

static sim_card_t *card_of(lua_State *L, const char *what)
{
	sim_card_t *c = link_sim_card(lhil_check_link(L, 1));

	if (!c)
		luaL_error(L, "%s: a simulated card (sim:card) only: a real card is renewed at the municipal counter",
			   what);
	return c;
}

/* The pending keys of the link at 1 (created on first use). */
static void push_pending(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, PENDING);
	lua_pushvalue(L, 1);
	if (lua_rawget(L, -2) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, 1);
		lua_pushvalue(L, -2);
		lua_rawset(L, -4);
	}
	lua_remove(L, -2);
}

/* SubjectPublicKeyInfo DER of a PKCS#8 key, malloc'd; NULL if none. */
static uint8_t *spki_of(const uint8_t *key, size_t n, size_t *len)
{
	const uint8_t *p = key;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)n);
	uint8_t *out = NULL;
	int l = k ? i2d_PUBKEY(k, &out) : -1;
	uint8_t *copy = l > 0 ? malloc((size_t)l) : NULL;

	if (copy) {
		memcpy(copy, out, (size_t)l);
		*len = (size_t)l;
	}
	OPENSSL_free(out);
	EVP_PKEY_free(k);
	return copy;
}

/* link:renew_key(pair) -> spki | nil, why */
static int l_renew_key(lua_State *L)
{
	sim_card_t *c = card_of(L, "renew_key");
	int which = luaL_checkoption(L, 2, NULL, pairs);
	sim_ctx_t *ctx = link_sim_ctx(lhil_check_link(L, 1));
	uint32_t span = POOL_TO - POOL_FROM + 1, first = rng_below(ctx->rng, span);
	char path[1024], err[1100] = "every key of the pool is one the card holds";

	for (uint32_t k = 0; k < span; k++) {
		uint8_t *key = NULL, *spki;
		size_t kn = 0, sn = 0;
		snprintf(path, sizeof path, "%s/keys/pool-%02u.pem", profile_fixtures_dir(),
			 (unsigned)(POOL_FROM + (first + k) % span));
		if (pki_load_key(path, &key, &kn, err, sizeof err) < 0)
			break;
		if (sim_card_holds_key(c, key, kn)) { /* a renewal brings a new key */
			OPENSSL_cleanse(key, kn);
			free(key);
			continue;
		}
		if (!(spki = spki_of(key, kn, &sn))) {
			OPENSSL_cleanse(key, kn);
			free(key);
			snprintf(err, sizeof err, "%s: not a private key", path);
			break;
		}
		push_pending(L);
		lua_pushlstring(L, (const char *)key, kn);
		lua_setfield(L, -2, pairs[which]);
		lua_pop(L, 1);
		lua_pushlstring(L, (const char *)spki, sn);
		OPENSSL_cleanse(key, kn);
		free(key);
		free(spki);
		{
			char ev[64];
			snprintf(ev, sizeof ev, "renew %s: new key pair", pairs[which]);
			trace_note(lhil_trace(L), lhil_check_link(L, 1)->uri, ev);
		}
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, err);
	return 2;
}

/* link:renew_cert(pair, der) -> true | nil, why */
static int l_renew_cert(lua_State *L)
{
	static const char *const why[] = { "ok", "the card is mute", "not a certificate of the new key (or no such pair)",
					   "out of memory", "the new key is one the card already holds" };
	sim_card_t *c = card_of(L, "renew_cert");
	int which = luaL_checkoption(L, 2, NULL, pairs);
	size_t cn, kn;
	const char *cert = luaL_checklstring(L, 3, &cn), *key;
	int rc;

	push_pending(L);
	if (lua_getfield(L, -1, pairs[which]) != LUA_TSTRING) {
		lua_pushnil(L);
		lua_pushfstring(L, "renew_cert: no new %s key (call renew_key first)", pairs[which]);
		return 2;
	}
	key = lua_tolstring(L, -1, &kn);
	rc = sim_card_renew(c, which ? CARD_PAIR_SIGN : CARD_PAIR_AUTH, (const uint8_t *)key, kn,
			    (const uint8_t *)cert, cn);
	if (rc != SIM_OK) {
		lua_pushnil(L);
		lua_pushfstring(L, "renew_cert: %s", rc >= -4 && rc <= 0 ? why[-rc] : "refused");
		return 2;
	}
	lua_pop(L, 1);
	lua_pushnil(L);
	lua_setfield(L, -2, pairs[which]); /* used: forgotten */
	{
		char ev[64];
		snprintf(ev, sizeof ev, "renew %s: certificate written", pairs[which]);
		trace_note(lhil_trace(L), lhil_check_link(L, 1)->uri, ev);
	}
	lua_pushboolean(L, 1);
	return 1;
}

void lhil_open_card(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "renew_key", l_renew_key },
		{ "renew_cert", l_renew_cert },
		{ NULL, NULL },
	};

	lua_newtable(L);
	lua_newtable(L);
	lua_pushliteral(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, PENDING);
	luaL_getmetatable(L, LHIL_LINK_MT);
	lua_getfield(L, -1, "__index");
	luaL_setfuncs(L, methods, 0);
	lua_pop(L, 2);
}
