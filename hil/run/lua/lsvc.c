/* lsvc.c — the TSM and the CA as scenario objects (w.tsm, w.ca) and extra
 * links (w:open).  mynahil._service(uri [, prefix]): "sim" is the TSM with
 * its CA in this process (hil/svc/tsm_world.c, one per scenario state, shared
 * by w.tsm and w.ca); "http://HOST:PORT[/PATH]" reaches a served one with
 * libcurl.  prefix goes before every path: "/ca" makes the TSM's CA of
 * either (TSM_WORLD_CA_PREFIX).  Both take the same JSON through
 * svc:call(method, path [, body]) and answer status, table: a scenario
 * cannot tell them apart.  Status 0 means the server could not be reached
 * (the table's error says why).  svc:raw(method, path [, type, body])
 * is the same with bytes (OCSP, CRLs) for a relying party.
 *
 * A served simulator started with a token (--token, or the one it prints
 * with --allow-remote) wants it on every POST: it comes from the
 * environment variable MYNAHIL_TOKEN, not from the URI, so that it stays
 * out of reports and traces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <lauxlib.h>

#include "hil/link/link.h"
#include "hil/link/link_fault.h"
#include "hil/base/fault.h"
#include "hil/run/lua/lhil.h"
#include "hil/svc/tsm_world.h"

#define SVC_MT "mynahil.service"
#define WORLD_KEY "mynahil.tsm_world"

typedef struct svc {
	tsm_world_t *w; /* in process (borrowed from the registry's world) */
	CURL *curl;     /* over HTTP */
	char *base;     /* http://HOST:PORT[/PATH], the prefix included */
	char *prefix;   /* in process: before every path */
	char *auth;     /* "Authorization: Bearer ..." from MYNAHIL_TOKEN, or NULL */
	char role[8];   /* tsm, ca: whose faults apply (docs/faults.md); "" none */
} svc_t;

typedef struct wbox {
	tsm_world_t *w;
} wbox_t;

/* ---- Lua <-> JSON ---- */

/* *nul is set when a string holds a NUL (the JSON text's \u0000, which
 * the TSM's parser refuses with its own message). */
static json_t *to_json(lua_State *L, int idx, int depth, int *nul)
{
	idx = lua_absindex(L, idx);
	if (depth > 32)
		return json_null();
	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		return json_real(lua_tonumber(L, idx));
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		if (memchr(s, 0, n))
			*nul = 1;
		return json_stringn(s, n);
	}
	case LUA_TTABLE: {
		size_t len = lua_rawlen(L, idx);
		json_t *o;
		if (len > 0) {
			o = json_array();
			for (size_t i = 1; i <= len; i++) {
				lua_rawgeti(L, idx, (lua_Integer)i);
				json_array_append_new(o, to_json(L, -1, depth + 1, nul));
				lua_pop(L, 1);
			}
			return o;
		}
		o = json_object();
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			if (lua_type(L, -2) == LUA_TSTRING)
				json_object_set_new(o, lua_tostring(L, -2), to_json(L, -1, depth + 1, nul));
			lua_pop(L, 1);
		}
		return o;
	}
	default: return json_null();
	}
}

static void push_json(lua_State *L, json_t *j)
{
	size_t i;
	const char *k;
	json_t *v;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(j));
		json_object_foreach(j, k, v) {
			if (json_is_null(v))
				continue;
			push_json(L, v);
			lua_setfield(L, -2, k);
		}
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(j), 0);
		json_array_foreach(j, i, v) {
			push_json(L, v);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_STRING: lua_pushlstring(L, json_string_value(j), json_string_length(j)); break;
	case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(j)); break;
	case JSON_REAL: lua_pushnumber(L, json_real_value(j)); break;
	case JSON_TRUE: lua_pushboolean(L, 1); break;
	case JSON_FALSE: lua_pushboolean(L, 0); break;
	default: lua_pushnil(L); break;
	}
}

/* ---- the call ---- */

static void push_answer(lua_State *L, long status, const char *body, size_t n)
{
	json_error_t je;
	json_t *j = n ? json_loadb(body, n, 0, &je) : NULL;

	lua_pushinteger(L, status);
	if (j) {
		push_json(L, j);
		json_decref(j);
	} else {
		lua_createtable(L, 0, 1);
		lua_pushlstring(L, body ? body : "", n);
		lua_setfield(L, -2, "raw");
	}
}

/* a .. b, malloc'd (NULL when out of memory). */
static char *join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 1);

	if (s) {
		memcpy(s, a, na);
		memcpy(s + na, b, nb + 1);
	}
	return s;
}

static void push_unreachable(lua_State *L, const char *why)
{
	lua_pushinteger(L, 0);
	lua_createtable(L, 0, 1);
	lua_pushstring(L, why);
	lua_setfield(L, -2, "error");
}

/* One request to the world in process: pushes status, table. */
static void call_world(lua_State *L, svc_t *s, const char *method, const char *path, const char *body)
{
	http_rsp_t rsp = { 0 };
	char *full = join(s->prefix, path);

	if (!full) {
		push_unreachable(L, "out of memory");
		return;
	}
	tsm_world_call(s->w, method, full, (const uint8_t *)body, body ? strlen(body) : 0, &rsp);
	push_answer(L, rsp.status, (const char *)rsp.body, rsp.len);
	free(rsp.body);
	free(full);
}

/* One request over HTTP, its answer's bytes in b: the status, or 0 with
 * *rc set.  A POST says its media type (ctype), body or not. */
static long perform_http(svc_t *s, const char *method, const char *path, const char *ctype, const char *body,
			 size_t n, http_buf_t *b, CURLcode *rc)
{
	struct curl_slist *h = NULL, *h2;
	char *url = join(s->base, path), *ct = NULL;
	long status = 0;
	int post = !strcmp(method, "POST");

	*rc = CURLE_OUT_OF_MEMORY;
	if (post && (ct = join("Content-Type: ", ctype)) && (h2 = curl_slist_append(h, ct)))
		h = h2;
	if (s->auth && (h2 = curl_slist_append(h, s->auth)))
		h = h2;
	if (url) {
		curl_easy_setopt(s->curl, CURLOPT_URL, url);
		curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, http_buf_write);
		curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, b);
		curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, 20000L);
		curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
		curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
		if (post) {
			curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
			curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
		} else {
			curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
		}
		*rc = curl_easy_perform(s->curl);
	}
	if (*rc == CURLE_OK)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	free(ct);
	free(url);
	return status;
}

/* One request over HTTP: pushes status, table. */
static void call_http(lua_State *L, svc_t *s, const char *method, const char *path, const char *body)
{
	http_buf_t b = { NULL, 0 };
	CURLcode rc;
	long status = perform_http(s, method, path, HTTP_JSON, body ? body : "{}", body ? strlen(body) : 2, &b, &rc);

	if (rc != CURLE_OK)
		push_unreachable(L, curl_easy_strerror(rc));
	else
		push_answer(L, status, b.p, b.n);
	free(b.p);
}

/* ---- faults (docs/faults.md): the client's view of a request ---- */

enum { GO, ANSWERED, DROP_AFTER };

/* A dropped connection as the call (status, table) or raw (status,
 * bytes, type) answers one: status 0 and why. */
static void push_dropped(lua_State *L, int raw, const char *why)
{
	if (raw) {
		lua_pushinteger(L, 0);
		lua_pushstring(L, why);
		lua_pushstring(L, "");
	} else {
		push_unreachable(L, why);
	}
}

/* The fault due at this request of s's role, before it is sent: GO (send
 * it), ANSWERED (the fault's answer is pushed: the request never reached
 * the server), or DROP_AFTER (send it, then push the dropped connection's
 * answer instead of the server's).  A delay is waited here. */
static int fault_before(lua_State *L, svc_t *s, const char *method, const char *path, int raw)
{
	fault_live_t *fl = lhil_faults(L);
	fault_hit_t h;
	char where[300], body[80];

	if (!s->role[0] || !fl || !(h = fault_live_req(fl, s->role)).spec)
		return GO;
	snprintf(where, sizeof where, "request %ld to %s (%s %.200s)", fault_live_count(fl, s->role, FAULT_AT_REQ),
		 s->role, method, path);
	fault_live_fired(fl, h.index, s->w ? "sim" : s->base, where);
	switch (h.spec->action) {
	case FAULT_DROP_BEFORE:
		push_dropped(L, raw, "connection dropped before the request was sent (fault)");
		return ANSWERED;
	case FAULT_HTTP:
		snprintf(body, sizeof body, "{\"error\":\"HTTP %ld (fault)\"}", h.value);
		if (raw) {
			lua_pushinteger(L, h.value);
			lua_pushstring(L, body);
			lua_pushstring(L, HTTP_JSON);
		} else {
			push_answer(L, h.value, body, strlen(body));
		}
		return ANSWERED;
	case FAULT_DELAY: {
		struct timespec ts = { h.value / 1000, (h.value % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		return GO;
	}
	case FAULT_DROP_AFTER: return DROP_AFTER;
	default: return GO;
	}
}

/* The server answered (its answer on the stack, n values); the client
 * saw a dropped connection instead. */
static void fault_after(lua_State *L, int n, int raw)
{
	lua_pop(L, n);
	push_dropped(L, raw, "connection dropped after the request was sent (fault)");
}

/* One request to the TSM in process as trees (tsm_world_call_json): the
 * body not written as JSON text and parsed by the TSM, its answer (a
 * step's script of hex APDUs runs to 13 kB) not written and parsed here
 * again.  Returns 0, or -1 for a request that goes through the text: a
 * path not the TSM's (the CA's or the wallet's answer may not be JSON),
 * or a body the text path would treat otherwise (not an object: the
 * text of a scalar is no body at all; a string holding a NUL: refused
 * by the text's parser with its own message). */
static int call_world_tree(lua_State *L, svc_t *s, const char *method, const char *path, json_t *body, int nul)
{
	char *full;
	json_t *a = NULL;
	int status;

	if (nul || (body && !json_is_object(body)))
		return -1;
	if (!(full = join(s->prefix, path)))
		return -1;
	if (strncmp(full, "/v1/tsm/", 8) || !full[8]) {
		free(full);
		return -1;
	}
	status = tsm_world_call_json(s->w, method, full, body, &a);
	free(full);
	if (a) {
		lua_pushinteger(L, status);
		push_json(L, a); /* read only: a may share values with the TSM's records */
		json_decref(a);
	} else
		push_answer(L, status, NULL, 0);
	return 0;
}

/* svc:call(method, path [, body]) -> status, table */
static int l_call(lua_State *L)
{
	svc_t *s = luaL_checkudata(L, 1, SVC_MT);
	const char *method = luaL_checkstring(L, 2), *path = luaL_checkstring(L, 3);
	char *body = NULL;
	json_t *j = NULL;
	int f = fault_before(L, s, method, path, 0), nul = 0;

	if (f == ANSWERED)
		return 2;
	if (!lua_isnoneornil(L, 4))
		j = to_json(L, 4, 0, &nul);
	if (!s->w || call_world_tree(L, s, method, path, j, nul) < 0) {
		body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s->w)
			call_world(L, s, method, path, body);
		else
			call_http(L, s, method, path, body);
		free(body);
	}
	json_decref(j);
	if (f == DROP_AFTER)
		fault_after(L, 2, 0);
	return 2;
}

/* svc:raw(method, path [, content_type, body]) -> status, bytes,
 * content_type: the same service with bytes for bytes (OCSP, CRLs,
 * DER), for a relying party.  Status 0: unreachable, bytes say why. */
static int l_raw(lua_State *L)
{
	svc_t *s = luaL_checkudata(L, 1, SVC_MT);
	const char *method = luaL_checkstring(L, 2), *path = luaL_checkstring(L, 3);
	const char *ctype = luaL_optstring(L, 4, HTTP_JSON);
	size_t n = 0;
	const char *body = luaL_optlstring(L, 5, "", &n);
	int f = fault_before(L, s, method, path, 1);

	if (f == ANSWERED)
		return 3;
	if (s->w) {
		size_t nr;
		const http_route_t *r = tsm_world_routes(&nr);
		char *full = join(s->prefix, path);
		http_rsp_t rsp = { 0 };
		http_req_t req = { .method = method, .path = full, .content_type = ctype,
				   .body = (const uint8_t *)body, .body_len = n };

		if (!full)
			return luaL_error(L, "out of memory");
		http_route(r, nr, s->w, &req, &rsp); /* what tsm_world_call does, with ctype */
		free(full);
		lua_pushinteger(L, rsp.status);
		lua_pushlstring(L, rsp.body ? (const char *)rsp.body : "", rsp.len);
		lua_pushstring(L, rsp.content_type ? rsp.content_type : "");
		free(rsp.body);
	} else {
		http_buf_t b = { NULL, 0 };
		CURLcode rc;
		long status = perform_http(s, method, path, ctype, body, n, &b, &rc);
		char *ct = NULL;

		if (rc == CURLE_OK)
			curl_easy_getinfo(s->curl, CURLINFO_CONTENT_TYPE, &ct);
		lua_pushinteger(L, rc == CURLE_OK ? status : 0);
		if (rc == CURLE_OK)
			lua_pushlstring(L, b.p ? b.p : "", b.n);
		else
			lua_pushstring(L, curl_easy_strerror(rc));
		lua_pushstring(L, ct ? ct : "");
		free(b.p);
	}
	if (f == DROP_AFTER)
		fault_after(L, 3, 1);
	return 3;
}

static int l_svc_uri(lua_State *L)
{
	svc_t *s = luaL_checkudata(L, 1, SVC_MT);
	lua_pushstring(L, s->w ? "sim" : s->base);
	return 1;
}

static int l_svc_gc(lua_State *L)
{
	svc_t *s = luaL_checkudata(L, 1, SVC_MT);
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->base);
	free(s->prefix);
	free(s->auth);
	s->curl = NULL;
	s->base = s->prefix = s->auth = NULL;
	return 0;
}

static int l_world_gc(lua_State *L)
{
	wbox_t *b = lua_touserdata(L, 1);
	tsm_world_close(b->w);
	b->w = NULL;
	return 0;
}

/* The in-process world of this state, created on first use. */
static tsm_world_t *world(lua_State *L)
{
	wbox_t *b;

	lua_getfield(L, LUA_REGISTRYINDEX, WORLD_KEY);
	b = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (b)
		return b->w;
	{
		char err[512];
		tsm_world_opts_t o = { 0 };
		tsm_world_t *w;
		lua_getglobal(L, "mynahil");
		lua_getfield(L, -1, "_seed");
		o.seed = (uint64_t)lua_tointeger(L, -1);
		lua_pop(L, 2);
		if (tsm_world_open(&w, &o, err, sizeof err) < 0)
			luaL_error(L, "the in-process TSM: %s", err);
		b = lua_newuserdatauv(L, sizeof *b, 0);
		b->w = w;
		lua_createtable(L, 0, 1);
		lua_pushcfunction(L, l_world_gc);
		lua_setfield(L, -2, "__gc");
		lua_setmetatable(L, -2);
		lua_setfield(L, LUA_REGISTRYINDEX, WORLD_KEY);
		return w;
	}
}

/* "Authorization: Bearer $MYNAHIL_TOKEN", malloc'd, or NULL if unset. */
static char *auth_header(void)
{
	const char *t = getenv("MYNAHIL_TOKEN");

	return t && *t ? join("Authorization: Bearer ", t) : NULL;
}

/* The base URL of uri (trailing '/' dropped) with prefix after it. */
static char *base_url(const char *uri, const char *prefix)
{
	size_t n = strlen(uri);
	char *u, *b;

	while (n > 7 && uri[n - 1] == '/')
		n--;
	if (!(u = strndup(uri, n)))
		return NULL;
	b = join(u, prefix);
	free(u);
	return b;
}

/* mynahil._service(uri [, prefix [, role]]): role (tsm, ca) names the
 * faults that apply to its requests. */
static int l_service(lua_State *L)
{
	const char *uri = luaL_checkstring(L, 1), *prefix = luaL_optstring(L, 2, "");
	const char *role = luaL_optstring(L, 3, "");
	svc_t *s;

	if (strcmp(uri, "sim") && strncmp(uri, "http://", 7))
		return luaL_error(L, "service '%s': expected sim or http://HOST:PORT", uri);
	if (strpbrk(uri, "?#"))
		return luaL_error(L, "service '%s': no query or fragment (a token goes in MYNAHIL_TOKEN)", uri);
	s = lua_newuserdatauv(L, sizeof *s, 0);
	memset(s, 0, sizeof *s);
	luaL_setmetatable(L, SVC_MT);
	if (fault_role_is_service(role))
		snprintf(s->role, sizeof s->role, "%s", role);
	if (!strcmp(uri, "sim")) {
		s->w = world(L);
		if (!(s->prefix = strdup(prefix)))
			return luaL_error(L, "out of memory");
	} else {
		s->base = base_url(uri, prefix);
		s->curl = curl_easy_init();
		s->auth = auth_header();
		if (!s->base || !s->curl)
			return luaL_error(L, "out of memory");
	}
	return 1;
}

/* The role a simulator opened without one stands for: its kind's
 * (sim:se -> se, sim:card -> card), so that its faults apply and the
 * tear sweep counts and tears its writes like the role's other devices
 * (docs/faults.md); NULL for anything else. */
static const char *kind_role(const char *uri)
{
	static const char *const kinds[][2] = { { "sim:se", "se" }, { "sim:card", "card" } };

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t n = strlen(kinds[i][0]);
		if (!strncmp(uri, kinds[i][0], n) && (!uri[n] || uri[n] == '?' || uri[n] == '#'))
			return kinds[i][1];
	}
	return NULL;
}

/* mynahil._open(uri, seed, label [, role]) -> link (or nil, error); role
 * (se, se2, card2: a device standing for a role) names the faults that
 * apply to it; without one, a simulator stands for its kind's role. */
static int l_open(lua_State *L)
{
	const char *uri = luaL_checkstring(L, 1), *role = luaL_optstring(L, 4, NULL);
	link_opts_t lo = { .seed = (uint64_t)luaL_optinteger(L, 2, 0),
			   .label = luaL_optstring(L, 3, uri),
			   .paths = lhil_paths(L) }; /* a scenario's link: confined */
	char err[512];
	link_t *l;

	if (link_open(&l, uri, &lo, err, sizeof err) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, err);
		return 2;
	}
	if (!role)
		role = kind_role(uri);
	if (role && lhil_faults(L) && !(l = link_fault_wrap(l, lhil_faults(L), role)))
		return luaL_error(L, "out of memory");
	lhil_push_link(L, l);
	return 1;
}

void lhil_open_services(lua_State *L)
{
	static const luaL_Reg m[] = { { "call", l_call }, { "raw", l_raw }, { "uri", l_svc_uri }, { NULL, NULL } };

	if (luaL_newmetatable(L, SVC_MT)) {
		luaL_newlib(L, m);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_svc_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	lua_getglobal(L, "mynahil");
	lua_pushcfunction(L, l_service);
	lua_setfield(L, -2, "_service");
	lua_pushcfunction(L, l_open);
	lua_setfield(L, -2, "_open");
	lua_pop(L, 1);
	lhil_open_faults(L);
}
