/* lbind.c — the mynahil module: links as Lua objects, hex helpers and
 * the expect recorder used by the prelude. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "hil/link/link.h"
#include "hil/link/link_sim.h"
#include "hil/run/lua/lhil.h"
#include "hil/base/trace.h"
#include "sim/core/apdu.h"
#include "sim/core/tlv.h"

#define LINK_MT LHIL_LINK_MT
#define APDU_TIMEOUT_MS 5000

/* The last exchanges of this scenario, whatever the link: a failed
 * expect is reported with the APDUs that led to it. */
#define TRAIL 3
#define TRAIL_HEX 48
static struct {
	char cmd[TRAIL_HEX + 4], rsp[TRAIL_HEX + 4];
} trail[TRAIL];
static unsigned trail_n;

/* Abbreviated hex: long data is cut, the status word always kept. */
static void trail_hex(char *out, const uint8_t *p, size_t n, int keep_tail)
{
	char full[2 * 300 + 1];
	size_t show = n > 150 ? 150 : n;

	apdu_hex(p, show, full);
	if (2 * n <= TRAIL_HEX) {
		snprintf(out, TRAIL_HEX + 4, "%.*s", TRAIL_HEX, full);
	} else if (keep_tail) {
		char sw[5];
		apdu_hex(p + n - 2, 2, sw);
		snprintf(out, TRAIL_HEX + 4, "%.*s..%s", TRAIL_HEX - 6, full, sw);
	} else {
		snprintf(out, TRAIL_HEX + 4, "%.*s..", TRAIL_HEX - 2, full);
	}
}

static void trail_add(const uint8_t *cmd, size_t n, const uint8_t *rsp, size_t rn, int mute)
{
	unsigned i = trail_n++ % TRAIL;
	trail_hex(trail[i].cmd, cmd, n, 0);
	if (mute)
		snprintf(trail[i].rsp, sizeof trail[i].rsp, "(mute)");
	else
		trail_hex(trail[i].rsp, rsp, rn, 1);
}

static void push_trail(lua_State *L)
{
	luaL_Buffer b;
	unsigned first = trail_n > TRAIL ? trail_n - TRAIL : 0;

	luaL_buffinit(L, &b);
	for (unsigned k = first; k < trail_n; k++) {
		luaL_addstring(&b, k == first ? "; after " : ", ");
		luaL_addstring(&b, trail[k % TRAIL].cmd);
		luaL_addstring(&b, " -> ");
		luaL_addstring(&b, trail[k % TRAIL].rsp);
	}
	luaL_pushresult(&b);
}

typedef struct llink {
	link_t *l;
} llink_t;

link_t *lhil_check_link(lua_State *L, int idx)
{
	llink_t *u = luaL_checkudata(L, idx, LINK_MT);
	if (!u->l)
		luaL_error(L, "link is closed");
	return u->l;
}

static link_t *check_link(lua_State *L)
{
	return lhil_check_link(L, 1);
}

void lhil_push_link(lua_State *L, link_t *l)
{
	llink_t *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->l = l;
	luaL_setmetatable(L, LINK_MT);
}

static int l_unhex(lua_State *L)
{
	size_t n;
	const char *hex = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	uint8_t *out = (uint8_t *)luaL_buffinitsize(L, &b, n / 2 + 1);
	long len = apdu_unhex(hex, out, n / 2 + 1);

	if (len < 0)
		return luaL_error(L, "not hex: '%s'", hex);
	luaL_pushresultsize(&b, (size_t)len);
	return 1;
}

static int l_hex(lua_State *L)
{
	size_t n;
	const char *bin = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, 2 * n + 1);

	apdu_hex((const uint8_t *)bin, n, out);
	luaL_pushresultsize(&b, 2 * n);
	return 1;
}

/* Push { sw = 0x9000, data = "...", hex = "..." }. */
static void push_rsp(lua_State *L, const uint8_t *rsp, size_t n)
{
	size_t dn = n - 2;

	lua_createtable(L, 0, 3);
	lua_pushinteger(L, apdu_sw(rsp, n));
	lua_setfield(L, -2, "sw");
	lua_pushlstring(L, (const char *)rsp, dn);
	lua_setfield(L, -2, "data");
	lua_pushcfunction(L, l_hex);
	lua_pushlstring(L, (const char *)rsp, dn);
	lua_call(L, 1, 1);
	lua_setfield(L, -2, "hex");
}

static int do_transmit(lua_State *L, const uint8_t *cmd, size_t n)
{
	link_t *l = check_link(L);
	static uint8_t rsp[LINK_RSP_MAX];
	size_t rn = 0;
	int rc = link_transmit(l, cmd, n, rsp, sizeof rsp, &rn, APDU_TIMEOUT_MS);

	trail_add(cmd, n, rsp, rn, rc < 0 || rn < 2);
	trace_apdu(lhil_trace(L), l->uri, cmd, n, rc < 0 ? NULL : rsp, rn);

	if (rc < 0 || rn < 2) {
		lua_pushnil(L);
		lua_pushstring(L, rc < 0 ? link_error(l) : "response shorter than a status word");
		return 2;
	}
	push_rsp(L, rsp, rn);
	return 1;
}

/* link:transmit("00A4 040C ...") — hex, spaces allowed.  Returns the
 * response table, or nil and the link's error (mute, timeout). */
static int l_transmit(lua_State *L)
{
	size_t n;
	const char *hex = luaL_checklstring(L, 2, &n);
	uint8_t *cmd = lua_newuserdatauv(L, n / 2 + 1, 0);
	long len = apdu_unhex(hex, cmd, n / 2 + 1);

	if (len < 4)
		return luaL_error(L, "transmit: '%s' is not a hex APDU", hex);
	return do_transmit(L, cmd, (size_t)len);
}

/* link:send(binary) — the same with raw bytes. */
static int l_send(lua_State *L)
{
	size_t n;
	const char *cmd = luaL_checklstring(L, 2, &n);
	return do_transmit(L, (const uint8_t *)cmd, n);
}

static int l_power(lua_State *L)
{
	static const char *const names[] = { "off", "cold", "warm", NULL };
	static const enum sim_power how[] = { SIM_POWER_OFF, SIM_POWER_COLD, SIM_POWER_WARM };
	link_t *l = check_link(L);
	int i = luaL_checkoption(L, 2, "cold", names);
	char ev[16];

	snprintf(ev, sizeof ev, "power %s", names[i]);
	trace_note(lhil_trace(L), l->uri, ev);

	if (link_power(l, how[i]) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, link_error(l));
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int l_atr(lua_State *L)
{
	uint8_t atr[64];
	size_t n = link_atr(check_link(L), atr, sizeof atr);
	lua_pushlstring(L, (const char *)atr, n);
	return 1;
}

static int l_uri(lua_State *L)
{
	lua_pushstring(L, check_link(L)->uri);
	return 1;
}

static int l_is_sim(lua_State *L)
{
	lua_pushboolean(L, link_sim_ctx(check_link(L)) != NULL);
	return 1;
}

static sim_ctx_t *need_sim(lua_State *L)
{
	sim_ctx_t *c = link_sim_ctx(check_link(L));
	if (!c)
		luaL_error(L, "this needs a simulator's insides; declare needs = { \"sim\" }");
	return c;
}

/* link:tear_at(k): the k-th NVM write step from now loses power. */
static int l_tear_at(lua_State *L)
{
	char ev[48];
	snprintf(ev, sizeof ev, "tear at write %lld", (long long)luaL_checkinteger(L, 2));
	trace_note(lhil_trace(L), check_link(L)->uri, ev);
	nvm_tear_at(need_sim(L)->nvm, (long)luaL_checkinteger(L, 2));
	return 0;
}

static int l_nvm_writes(lua_State *L)
{
	lua_pushinteger(L, nvm_write_count(need_sim(L)->nvm));
	return 1;
}

/* ---- the oracle's view (docs/invariants.md) ---- */

/* A DER element's whole length (the EF is padded after it), 0 if none. */
static size_t der_len(const uint8_t *p, size_t n)
{
	size_t len, hdr = 2;

	if (n < 2 || p[0] != 0x30)
		return 0;
	len = p[1];
	if (len & 0x80) {
		size_t k = len & 0x7F;
		if (k == 0 || k > 3 || n < 2 + k)
			return 0;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hdr += k;
	}
	return hdr + len <= n ? hdr + len : 0;
}

static const char *pin_name(uint16_t fid)
{
	switch (fid) {
	case 0x0018: return "auth";
	case 0x001B: return "sign";
	case 0x0011: return "text";
	case 0x0014: return "number_a";
	case 0x0015: return "number_b";
	}
	return NULL;
}

void lhil_push_pin(lua_State *L, const sim_pin_view_t *p)
{
	lua_createtable(L, 0, 2);
	if (p->tries >= 0) {
		lua_pushinteger(L, p->tries);
		lua_setfield(L, -2, "tries");
	}
	lua_pushinteger(L, p->max);
	lua_setfield(L, -2, "max");
}

/* link:inspect() — what a simulated SE or card holds, read without
 * touching its state: no APDU, no PIN try.  nil for a link that is not
 * an in-process simulator (a bench is observed through APDUs instead). */
static int l_inspect(lua_State *L)
{
	static const char *const states[] = { "empty", "generated", "active", "revoked", "erased" };
	link_t *l = check_link(L);
	sim_ctx_t *ctx = link_sim_ctx(l);
	sim_se_t *se = link_sim_se(l);
	sim_card_t *card = link_sim_card(l);
	sim_ios_t *ios = link_sim_ios(l);
	char hex[17];

	if (!ctx || (!se && !card && !ios)) {
		lua_pushnil(L);
		return 1;
	}
	lua_createtable(L, 0, 5);
	lua_pushstring(L, se ? "se" : ios ? "ios" : "card");
	lua_setfield(L, -2, "kind");
	lua_pushinteger(L, (lua_Integer)ctx->pin_restores);
	lua_setfield(L, -2, "restores");
	if (se) {
		se_view_t v;
		sim_se_view(se, &v);
		lua_pushboolean(L, v.applet);
		lua_setfield(L, -2, "applet");
		if (v.applet && v.sd.len <= SE_AID_MAX) {
			char sd[2 * SE_AID_MAX + 1];
			apdu_hex(v.sd.b, v.sd.len, sd);
			lua_pushstring(L, sd);
			lua_setfield(L, -2, "sd"); /* the applet's security domain */
		}
		apdu_hex(v.idm, sizeof v.idm, hex);
		lua_pushstring(L, hex);
		lua_setfield(L, -2, "idm");
		if (v.has_cplc) {
			char cplc[2 * sizeof v.cplc + 1];
			apdu_hex(v.cplc, sizeof v.cplc, cplc);
			lua_pushstring(L, cplc);
			lua_setfield(L, -2, "cplc");
		}
		lua_createtable(L, 0, 2);
		for (int i = 0; i < 2; i++) {
			size_t n = der_len(v.slot[i].cert, v.slot[i].cert_len);
			lua_createtable(L, 0, 4);
			lua_pushstring(L, v.slot[i].state < 5 ? states[v.slot[i].state] : "?");
			lua_setfield(L, -2, "state");
			if (n) {
				lua_pushlstring(L, (const char *)v.slot[i].cert, n);
				lua_setfield(L, -2, "der");
			}
			lhil_push_pin(L, &v.slot[i].pin);
			lua_setfield(L, -2, "pin");
			lua_setfield(L, -2, i ? "sign" : "auth");
		}
		lua_setfield(L, -2, "slots");
	} else if (ios) {
		lhil_inspect_ios(L, ios);
	} else {
		sim_pin_view_t pins[CARD_VIEW_PINS];
		size_t n = sim_card_view(card, pins, CARD_VIEW_PINS);
		lua_createtable(L, 0, (int)n);
		for (size_t i = 0; i < n; i++) {
			const char *name = pin_name(pins[i].fid);
			char fid[5];
			snprintf(fid, sizeof fid, "%04X", pins[i].fid);
			lhil_push_pin(L, &pins[i]);
			lua_setfield(L, -2, name ? name : fid);
		}
		lua_setfield(L, -2, "pins");
	}
	return 1;
}

static void nvm_to_table(void *arg, const char *key, const uint8_t *val, size_t len)
{
	lua_State *L = arg;
	lua_pushlstring(L, (const char *)val, len);
	lua_setfield(L, -2, key);
}

/* link:_nvm() -> { record = bytes }; link:_nvm(key) -> bytes or nil;
 * link:_nvm(key, bytes|false) writes or deletes one record.  A test's
 * back door into a simulator (needs = { "sim" }): it is how the
 * invariant tests break what no flow of the system may break (a PIN
 * counter set back, a phone's records copied into another SE). */
static int l_nvm(lua_State *L)
{
	nvm_t *nvm = need_sim(L)->nvm;
	const char *key = luaL_optstring(L, 2, NULL);
	int rc = NVM_OK;

	trace_note(lhil_trace(L), check_link(L)->uri, key ? "nvm back door" : "nvm read");
	if (!key) {
		lua_newtable(L);
		nvm_each(nvm, "", nvm_to_table, L);
		return 1;
	}
	if (lua_isnoneornil(L, 3)) {
		size_t n;
		const uint8_t *v = nvm_get(nvm, key, &n);
		if (v)
			lua_pushlstring(L, (const char *)v, n);
		else
			lua_pushnil(L);
		return 1;
	}
	if (lua_toboolean(L, 3)) {
		size_t n;
		const char *v = luaL_checklstring(L, 3, &n);
		rc = nvm_put(nvm, key, v, n);
	} else if (nvm_get(nvm, key, &(size_t){ 0 })) {
		rc = nvm_del(nvm, key);
	}
	if (rc != NVM_OK)
		return luaL_error(L, "_nvm %s: %s", key, nvm_strerror(rc));
	return 0;
}

static int l_apdus(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)check_link(L)->napdu);
	return 1;
}

static int l_gc(lua_State *L)
{
	llink_t *u = luaL_checkudata(L, 1, LINK_MT);
	link_close(u->l);
	u->l = NULL;
	return 0;
}

/* mynahil.tlv(bytes) -> { {tag = 0xDF21, value = "..."}, ... }: the
 * BER-TLV elements at one level, the same parser the simulators use. */
static int l_tlv(lua_State *L)
{
	size_t n, off = 0;
	const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
	int k = 0;

	lua_newtable(L);
	while (off < n) {
		tlv_t t;
		long size;
		/* Filler after the objects: 00s, or FF FF (no tag starts so). */
		if (p[off] == 0x00 || (p[off] == 0xFF && (off + 1 == n || p[off + 1] == 0xFF)))
			break;
		size = tlv_parse(p + off, n - off, &t);
		if (size <= 0)
			return luaL_error(L, "malformed BER-TLV at offset %d", (int)off);
		lua_createtable(L, 0, 2);
		lua_pushinteger(L, t.tag);
		lua_setfield(L, -2, "tag");
		lua_pushlstring(L, (const char *)t.val, t.len);
		lua_setfield(L, -2, "value");
		lua_pushinteger(L, (lua_Integer)off);
		lua_setfield(L, -2, "offset");
		lua_rawseti(L, -2, ++k);
		off += (size_t)size;
	}
	return 1;
}

/* mynahil._record(file, line, ok, what, msg) — the prelude's expect. */
static int l_record(lua_State *L)
{
	res_scenario_t *r = lua_touserdata(L, lua_upvalueindex(1));
	const char *file = luaL_checkstring(L, 1);
	int line = (int)luaL_checkinteger(L, 2);
	int ok = lua_toboolean(L, 3);
	const char *what = luaL_optstring(L, 4, "");
	const char *msg = luaL_optstring(L, 5, "");

	/* An invariant is about the parties' state, not the last APDUs. */
	if (!ok && strcmp(file, RES_INVARIANT_FILE) != 0) {
		lua_pushstring(L, msg);
		push_trail(L);
		lua_concat(L, 2);
		msg = lua_tostring(L, -1);
	}
	if (r && res_add_expect(r, file, line, ok, what, ok ? NULL : msg) < 0)
		return luaL_error(L, "out of memory");
	return 0;
}

static const luaL_Reg link_methods[] = {
	{ "transmit", l_transmit }, { "send", l_send },	    { "power", l_power },
	{ "atr", l_atr },	    { "uri", l_uri },	    { "is_sim", l_is_sim },
	{ "tear_at", l_tear_at },   { "nvm_writes", l_nvm_writes }, { "apdus", l_apdus },
	{ "inspect", l_inspect },   { "_nvm", l_nvm },
	{ NULL, NULL },
};

void lhil_open_bindings(lua_State *L)
{
	trail_n = 0;
	if (luaL_newmetatable(L, LINK_MT)) {
		luaL_newlib(L, link_methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, l_gc);
		lua_setfield(L, -2, "__close");
		lua_pushliteral(L, "link");
		lua_setfield(L, -2, "__name");
	}
	lua_pop(L, 1);

	lua_newtable(L);
	lua_pushcfunction(L, l_hex);
	lua_setfield(L, -2, "hex");
	lua_pushcfunction(L, l_unhex);
	lua_setfield(L, -2, "unhex");
	lua_pushcfunction(L, l_tlv);
	lua_setfield(L, -2, "tlv");
	lua_getfield(L, LUA_REGISTRYINDEX, "mynahil.res");
	lua_pushcclosure(L, l_record, 1);
	lua_setfield(L, -2, "_record");
	luaopen_mynahil_crypto(L);
	lua_setfield(L, -2, "crypto");
	luaopen_mynahil_gp(L);
	lua_setfield(L, -2, "gp");
	lua_setglobal(L, "mynahil");
}
