/* scenario.c — load a scenario in its sandbox, bind its roles to links,
 * run it and turn what happened into a res_scenario_t. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <lauxlib.h>

#include "hil/link/link.h"
#include "hil/link/link_fault.h"
#include "hil/base/fault.h"
#include "hil/run/lua/lhil.h"
#include "hil/fixtures/profile.h"
#include "hil/run/scenario.h"
#include "hil/base/trace.h"
#include "hil/trace/trc_live.h"
#include "hil/base/util.h"

#define MAX_ROLES 8

static const char *builtin_libdir(void)
{
	const char *env = getenv("MYNAHIL_LIB");
	return env && *env ? env : MYNAHIL_SOURCE_DIR "/scenarios/lib";
}

/* The nearest lib/ in the scenario's directory or up to three above it,
 * so a lab's own scenario tree can carry its own modules.  Climbed from
 * the directory as the kernel resolves it: "phones/x.lua" run from the
 * lab's root finds the root's lib/.  The file system's /lib is never
 * one. */
static void find_userlib(const char *file, char *out, size_t cap)
{
	char spelt[PATH_MAX], dir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	struct stat st;

	out[0] = 0;
	snprintf(spelt, sizeof spelt, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
	if (!realpath(spelt, dir))
		return;
	for (int depth = 0; depth < 4; depth++) {
		char *up = strrchr(dir, '/');
		if ((size_t)snprintf(out, cap, "%s/lib", dir) < cap && stat(out, &st) == 0 && S_ISDIR(st.st_mode))
			return;
		if (!up || up == dir)
			break;
		*up = 0;
	}
	out[0] = 0;
}

static void base_name(const char *file, char *out, size_t cap)
{
	const char *b = strrchr(file, '/');
	b = b ? b + 1 : file;
	snprintf(out, cap, "%s", b);
	char *dot = strrchr(out, '.');
	if (dot)
		*dot = 0;
}

const char *scen_binding(const scen_env_t *env, const char *role)
{
	for (size_t i = 0; i < env->nbind; i++)
		if (!strcmp(env->bind[i].role, role))
			return env->bind[i].uri;
	return NULL;
}

static lua_State *open_state(const char *file, const scen_env_t *env, const char *rundir,
			     int timeout_s, res_scenario_t *res, trace_t *trace, fault_live_t *fl,
			     char *err, size_t errlen)
{
	char userlib[PATH_MAX], scendir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	lhil_opts_t o = {
		.rundir = rundir,
		.libdir = builtin_libdir(),
		.scendir = scendir,
		.seed = env->seed,
		.budget = env->budget,
		.memory = env->memory,
		.deadline_ms = timeout_s > 0 ? util_now_ms() + (int64_t)timeout_s * 1000 : 0,
		.res = res,
		.trace = trace,
		.faults = fl,
	};

	snprintf(scendir, sizeof scendir, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
	find_userlib(file, userlib, sizeof userlib);
	o.userlib = userlib[0] ? userlib : NULL;
	return lhil_new(&o, err, errlen);
}

static char **string_list(lua_State *L, const char *field, size_t *n)
{
	char **v = NULL;

	*n = 0;
	lua_getfield(L, -1, field);
	if (lua_istable(L, -1)) {
		size_t len = lua_rawlen(L, -1);
		v = calloc(len + 1, sizeof *v);
		for (size_t i = 0; v && i < len; i++) {
			lua_rawgeti(L, -1, (lua_Integer)i + 1);
			if (lua_type(L, -1) == LUA_TSTRING)
				v[(*n)++] = strdup(lua_tostring(L, -1));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	return v;
}

static char *string_field(lua_State *L, const char *field)
{
	char *s = NULL;
	lua_getfield(L, -1, field);
	if (lua_type(L, -1) == LUA_TSTRING)
		s = strdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	return s;
}

/* cases, operations, policy and policies of the scenario table on top
 * of the stack.  The prelude has checked them with file:line; this is
 * the check of a table made without scenario{} (no line known).  NULL,
 * or what is wrong. */
static const char *read_domain(lua_State *L, scen_meta_t *m)
{
	size_t n;

	lua_getfield(L, -1, "cases");
	n = lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
	m->cases = calloc(n + 1, sizeof *m->cases);
	for (size_t i = 0; m->cases && i < n; i++) {
		int isint;
		lua_Integer c = (lua_rawgeti(L, -1, (lua_Integer)i + 1), lua_tointegerx(L, -1, &isint));
		lua_pop(L, 1);
		if (!isint || c < 1 || c > POL_NCASES)
			return "cases: life-cycle case numbers are 1 to 15";
		m->cases[m->ncases++] = (int)c;
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "operations");
	n = lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
	m->ops = calloc(n + 1, sizeof *m->ops);
	for (size_t i = 0; m->ops && i < n; i++) {
		const char *op = (lua_rawgeti(L, -1, (lua_Integer)i + 1), lua_tostring(L, -1));
		if (!op || lua_type(L, -1) != LUA_TSTRING || pol_operation(op) < 0) {
			lua_pop(L, 2);
			return "operations: not one of the operations of docs/domain.md#operations";
		}
		m->ops[m->nops++] = strdup(op);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	for (int f = 0; f < 2; f++) {
		lua_getfield(L, -1, f ? "policies" : "policy");
		if (!lua_istable(L, -1)) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			int sw = lua_type(L, -2) == LUA_TSTRING ? pol_find(lua_tostring(L, -2)) : -1;
			size_t nv = f ? (lua_istable(L, -1) ? lua_rawlen(L, -1) : 0) : 1;
			if (sw < 0 || (f && nv == 0) || (f && m->fixed[sw])) {
				lua_pop(L, 3);
				return "policy: not a switch of docs/domain.md#policy-switches";
			}
			for (size_t i = 0; i < nv; i++) {
				int v;
				if (f)
					lua_rawgeti(L, -1, (lua_Integer)i + 1);
				else
					lua_pushvalue(L, -1);
				v = lua_type(L, -1) == LUA_TBOOLEAN ? (pol_switches[sw].boolean
					? pol_value(sw, lua_toboolean(L, -1) ? "true" : "false") : -1)
					: lua_type(L, -1) == LUA_TSTRING && !pol_switches[sw].boolean
					? pol_value(sw, lua_tostring(L, -1)) : -1;
				lua_pop(L, 1);
				if (v < 0) {
					lua_pop(L, 3);
					return "policy: not a value of its switch (docs/domain.md#policy-switches)";
				}
				if (f)
					m->supports[sw] |= (unsigned char)(1u << v);
				else
					m->fixed[sw] = (unsigned char)(v + 1);
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	return NULL;
}

int scen_read_meta(const char *file, const scen_env_t *env, scen_meta_t *m)
{
	char err[1024], name[256];
	lua_State *L;

	memset(m, 0, sizeof *m);
	m->file = strdup(file);
	m->timeout_s = env->timeout_s;
	base_name(file, name, sizeof name);
	L = open_state(file, env, NULL, env->timeout_s, NULL, NULL, NULL, err, sizeof err);
	if (L && lhil_load_scenario(L, file, err, sizeof err) == 0) {
		m->id = string_field(L, "id");
		m->title = string_field(L, "title");
		m->tags = string_list(L, "tags", &m->ntags);
		m->needs = string_list(L, "needs", &m->nneeds);
		{
			const char *bad = read_domain(L, m);
			if (bad) {
				snprintf(err, sizeof err, "%.900s: scenario: %s", file, bad);
				m->error = strdup(err);
			}
		}
		/* A scenario may lower --timeout, never raise it (scenario{}
		 * has checked the range). */
		lua_getfield(L, -1, "timeout");
		if (lua_isnumber(L, -1) && lua_tonumber(L, -1) < (lua_Number)env->timeout_s) {
			lua_Number t = lua_tonumber(L, -1);
			m->timeout_s = (int)t + ((lua_Number)(int)t < t); /* rounded up */
		}
		lua_pop(L, 1);
	} else {
		m->error = strdup(err);
	}
	if (!m->id)
		m->id = strdup(name);
	if (!m->title)
		m->title = strdup("");
	lhil_close(L);
	return m->error ? -1 : 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The meta crosses from the process that read it to the runner. */
char *scen_meta_to_json(const scen_meta_t *m)
{
	json_t *o = json_object(), *tags = json_array(), *needs = json_array();
	char *s;

	for (size_t i = 0; i < m->ntags; i++)
		json_array_append_new(tags, json_string(m->tags[i]));
	for (size_t i = 0; i < m->nneeds; i++)
		json_array_append_new(needs, json_string(m->needs[i]));
	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "title", json_string(m->title));
	json_object_set_new(o, "tags", tags);
	json_object_set_new(o, "needs", needs);
	json_object_set_new(o, "timeout", json_integer(m->timeout_s));
	{
		json_t *cases = json_array(), *ops = json_array(), *fixed = json_object(),
		       *sup = json_object();
		for (size_t i = 0; i < m->ncases; i++)
			json_array_append_new(cases, json_integer(m->cases[i]));
		for (size_t i = 0; i < m->nops; i++)
			json_array_append_new(ops, json_string(m->ops[i]));
		for (int i = 0; i < POL_N; i++) {
			json_t *vs = json_array();
			if (m->fixed[i])
				json_object_set_new(fixed, pol_switches[i].name,
						    json_string(pol_switches[i].values[m->fixed[i] - 1]));
			for (int v = 0; v < 2; v++)
				if (m->supports[i] & (1u << v))
					json_array_append_new(vs, json_string(pol_switches[i].values[v]));
			if (json_array_size(vs))
				json_object_set_new(sup, pol_switches[i].name, vs);
			else
				json_decref(vs);
		}
		json_object_set_new(o, "cases", cases);
		json_object_set_new(o, "operations", ops);
		json_object_set_new(o, "policy", fixed);
		json_object_set_new(o, "policies", sup);
	}
	if (m->error)
		json_object_set_new(o, "error", json_string(m->error));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static char **json_strings(json_t *a, size_t *n)
{
	char **v = calloc(json_array_size(a) + 1, sizeof *v);
	size_t i;
	json_t *e;

	*n = 0;
	json_array_foreach(a, i, e) {
		if (v && json_is_string(e))
			v[(*n)++] = strdup(json_string_value(e));
	}
	return v;
}

int scen_meta_from_json(scen_meta_t *m, const char *file, const char *json, size_t len)
{
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *id = json_object_get(o, "id"), *title = json_object_get(o, "title");
	json_t *err = json_object_get(o, "error"), *to = json_object_get(o, "timeout");

	memset(m, 0, sizeof *m);
	if (!json_is_string(id) || !json_is_string(title) || !json_is_integer(to)) {
		json_decref(o);
		return -1;
	}
	m->file = strdup(file);
	m->id = strdup(json_string_value(id));
	m->title = strdup(json_string_value(title));
	m->timeout_s = (int)json_integer_value(to);
	m->tags = json_strings(json_object_get(o, "tags"), &m->ntags);
	m->needs = json_strings(json_object_get(o, "needs"), &m->nneeds);
	m->error = json_is_string(err) ? strdup(json_string_value(err)) : NULL;
	{
		json_t *cases = json_object_get(o, "cases"), *e, *vs;
		const char *k;
		size_t i;

		m->cases = calloc(json_array_size(cases) + 1, sizeof *m->cases);
		json_array_foreach(cases, i, e) {
			if (m->cases && json_is_integer(e) && json_integer_value(e) >= 1 &&
			    json_integer_value(e) <= POL_NCASES)
				m->cases[m->ncases++] = (int)json_integer_value(e);
		}
		m->ops = json_strings(json_object_get(o, "operations"), &m->nops);
		json_object_foreach(json_object_get(o, "policy"), k, e) {
			int sw = pol_find(k), v = json_is_string(e) ? pol_value(sw, json_string_value(e)) : -1;
			if (v >= 0)
				m->fixed[sw] = (unsigned char)(v + 1);
		}
		json_object_foreach(json_object_get(o, "policies"), k, vs) {
			int sw = pol_find(k);
			json_array_foreach(vs, i, e) {
				int v = json_is_string(e) ? pol_value(sw, json_string_value(e)) : -1;
				if (v >= 0)
					m->supports[sw] |= (unsigned char)(1u << v);
			}
		}
	}
	json_decref(o);
	return 0;
}

void scen_meta_clear(scen_meta_t *m)
{
	free(m->file);
	free(m->id);
	free(m->title);
	free_list(m->tags, m->ntags);
	free_list(m->needs, m->nneeds);
	free(m->error);
	free(m->cases);
	free_list(m->ops, m->nops);
	free(m->skip);
	memset(m, 0, sizeof *m);
}

int scen_meta_copy(scen_meta_t *dst, const scen_meta_t *src)
{
	char *json = scen_meta_to_json(src);
	int rc = json ? scen_meta_from_json(dst, src->file, json, strlen(json)) : -1;

	free(json);
	if (rc < 0)
		return -1;
	memcpy(dst->pol, src->pol, sizeof dst->pol);
	dst->skip = src->skip ? strdup(src->skip) : NULL;
	return 0;
}

void scen_file_name(const char *id, char *out, size_t cap)
{
	res_file_name(id, out, cap); /* one rule, read back by the reports */
}

int scen_has_tag(const scen_meta_t *m, const char *tag)
{
	for (size_t i = 0; i < m->ntags; i++)
		if (!strcmp(m->tags[i], tag))
			return 1;
	return 0;
}

static void set_reason(res_scenario_t *res, res_status_t st, const char *why)
{
	res->status = st;
	free(res->reason);
	res->reason = strdup(why);
}

/* A bound SE whose SCP03 keys are not the test keys the TSM holds
 * (fixtures/se/default.lua): a real phone.  The bench says so with
 * ?keys=unknown on the SE's URI (docs/bench.md); a simulator, served or
 * in process, has the test keys. */
static int keys_unknown(const char *uri)
{
	const char *q = uri && strchr(uri, ':') ? link_query(strchr(uri, ':') + 1) : NULL;
	char v[16];

	return q && util_query_get(q + 1, "keys", v, sizeof v) == 1 && !strcmp(v, "unknown");
}

static int has_need(const scen_meta_t *m, const char *what)
{
	for (size_t i = 0; i < m->nneeds; i++)
		if (!strcmp(m->needs[i], what))
			return 1;
	return 0;
}

/* A need the bindings cannot meet makes the scenario a skip, not a
 * failure: it is the bench, not the system, that lacks something.
 * "sim" (the card) and "sim:ROLE": the role is a simulator (its insides
 * are read or changed); "se_keys": the TSM can open SCP03 sessions on
 * each bound SE the scenario uses (se, se2) — implied by needing the
 * TSM and an SE. */
int scen_unmet_need(const scen_meta_t *m, const scen_env_t *env, char *why, size_t cap)
{
	static const char *const ses[] = { "se", "se2" };

	for (size_t i = 0; i < m->nneeds; i++) {
		const char *need = m->needs[i];
		if (!strcmp(need, "sim") || !strncmp(need, "sim:", 4)) {
			const char *role = need[3] ? need + 4 : "card", *uri = scen_binding(env, role);
			if (uri && strncmp(uri, "sim:", 4)) {
				snprintf(why, cap, "needs a simulator's insides; %s is bound to %s", role, uri);
				return 1;
			}
		} else if (!strcmp(need, "se") || !strcmp(need, "se2") || !strcmp(need, "tsm") || !strcmp(need, "ca") ||
			   !strcmp(need, "card") || !strcmp(need, "se_keys")) {
			/* defaults: sim:se, a simulated SE of the scenario's own for se2
			 * (scenarios/lib/lifecycle.lua), the in-process TSM and CA, sim:card */
			continue;
		} else if (!scen_binding(env, need)) {
			snprintf(why, cap, "needs role '%s', which is not bound", need);
			return 1;
		}
	}
	for (size_t k = 0; k < 2; k++) {
		const char *uri = scen_binding(env, ses[k]);
		if ((has_need(m, "se_keys") || has_need(m, "tsm")) && has_need(m, ses[k]) && keys_unknown(uri)) {
			snprintf(why, cap, "needs the SE's keys (a test SE with known SCP03 keys); %s is bound to %s", ses[k],
				 uri);
			return 1;
		}
	}
	return 0;
}


void scen_meta_to_res(const scen_meta_t *m, res_scenario_t *res)
{
	res->id = strdup(m->id);
	res->file = strdup(m->file);
	res->title = strdup(m->title);
	res->tags = calloc(m->ntags + 1, sizeof *res->tags);
	for (size_t i = 0; res->tags && i < m->ntags; i++)
		res->tags[res->ntags++] = strdup(m->tags[i]);
	res->cases = calloc(m->ncases + 1, sizeof *res->cases);
	for (size_t i = 0; res->cases && i < m->ncases; i++)
		res->cases[res->ncases++] = m->cases[i];
	res->ops = calloc(m->nops + 1, sizeof *res->ops);
	for (size_t i = 0; res->ops && i < m->nops; i++)
		res->ops[res->nops++] = strdup(m->ops[i]);
	res->pol_keys = calloc(POL_N, sizeof *res->pol_keys);
	res->pol_vals = calloc(POL_N, sizeof *res->pol_vals);
	for (int i = 0; res->pol_keys && res->pol_vals && i < POL_N; i++) {
		if (!m->pol[i])
			continue;
		res->pol_keys[res->npol] = strdup(pol_switches[i].name);
		res->pol_vals[res->npol++] = strdup(pol_switches[i].values[m->pol[i] - 1]);
	}
	/* The matrix's odometer runs the first switch slowest, each through
	 * its values in table order: this number sorts the same way. */
	for (int i = 0; i < POL_N; i++)
		res->order = res->order * 2 + (m->pol[i] == 2);
}

/* w.policy: the policy in effect, booleans for the boolean switches. */
static void push_policy(lua_State *L, const scen_meta_t *m)
{
	lua_createtable(L, 0, POL_N);
	for (int i = 0; i < POL_N; i++) {
		const char *v;
		if (!m->pol[i])
			continue;
		v = pol_switches[i].values[m->pol[i] - 1];
		if (pol_switches[i].boolean)
			lua_pushboolean(L, !strcmp(v, "true"));
		else
			lua_pushstring(L, v);
		lua_setfield(L, -2, pol_switches[i].name);
	}
}

/* A field of a card profile read from w.profile that the profile does
 * not give: a card profile's own field (hil/fixtures/profile.c) makes
 * the scenario a skip naming it — the bench does not know it (a partial
 * profile of a real card, or a minor's card without a sign PIN), which
 * is not the card's failure; any other key is nil, as in any table.
 * Upvalues: the level ("", "holder.", "pins.") and the file. */
static int profile_index(lua_State *L)
{
	static const char *const top[] = { "atr_set", "token", "holder", "pins", "auth", "sign", "text_key", NULL };
	static const char *const holder[] = { "name", "address", "birth", "sex", "number", "expiry_year",
					      "security_code", NULL };
	static const char *const pins[] = { "auth", "sign", "text", NULL };
	const char *level = lua_tostring(L, lua_upvalueindex(1)), *k = lua_tostring(L, 2);
	const char *const *known = !strcmp(level, "holder.") ? holder : !strcmp(level, "pins.") ? pins : top;

	for (size_t i = 0; k && lua_type(L, 2) == LUA_TSTRING && known[i]; i++)
		if (!strcmp(k, known[i])) {
			lua_createtable(L, 0, 1);
			lua_pushfstring(L, "the card profile %s gives no %s%s, which this scenario reads (docs/bench.md#partial-profiles)",
					lua_tostring(L, lua_upvalueindex(2)), level, k);
			lua_setfield(L, -2, "__mynahil_skip");
			return lua_error(L);
		}
	lua_pushnil(L);
	return 1;
}

/* The table on top gets profile_index for the fields it lacks. */
static void guard_profile(lua_State *L, const char *file, const char *level)
{
	lua_createtable(L, 0, 1);
	lua_pushstring(L, level);
	lua_pushstring(L, file);
	lua_pushcclosure(L, profile_index, 2);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
}

/* The card profile a card binding stands for — what a scenario knows of
 * the card in the reader (holder attributes, PINs), whether the card is
 * simulated from it or is the physical card it describes.  Loaded as pure
 * data: the chunk gets an empty environment. */
static void push_profile(lua_State *L, const char *uri)
{
	const char *q = strstr(uri, "?profile=");
	char path[PATH_MAX];

	if (!q)
		q = strstr(uri, "&profile=");
	if (q) {
		q += strlen("?profile=");
		snprintf(path, sizeof path, "%.*s", (int)strcspn(q, "&"), q);
	} else {
		snprintf(path, sizeof path, "%s", profile_default_path());
	}
	if (luaL_loadfilex(L, path, "t") != LUA_OK) {
		lua_pop(L, 1);
		lua_pushnil(L);
		return;
	}
	lua_newtable(L);
	lua_setupvalue(L, -2, 1);
	if (lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
		lua_pop(L, 1);
		lua_pushnil(L);
		return;
	}
	guard_profile(L, path, "");
	for (int i = 0; i < 2; i++) { /* holder and pins, made empty if not given */
		const char *sub = i ? "pins" : "holder";
		lua_pushstring(L, sub);
		if (lua_rawget(L, -2) != LUA_TTABLE) { /* raw: the guard is in place */
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -1);
			lua_setfield(L, -3, sub);
		}
		guard_profile(L, path, i ? "pins." : "holder.");
		lua_pop(L, 1);
	}
}


/* The scenario's own expects: the invariants', recorded at the end of
 * every run, would make one that checks nothing pass. */
static size_t own_expects(const res_scenario_t *res)
{
	size_t n = 0;

	for (size_t i = 0; i < res->nexpects; i++)
		n += strcmp(res->expects[i].file, RES_INVARIANT_FILE) != 0;
	return n;
}

/* The invariants (docs/domain.md#invariants) on the world (stack:
 * scenario world [error]), after the run whatever became of it, then the
 * result.  A run that raised an error stays an error, and the violations
 * found after it are added to its reason: what broke may be why it
 * raised. */
static void check_invariants(lua_State *L, int rc, res_scenario_t *res)
{
	char *why = rc != LUA_OK && rc != LHIL_SKIP ? strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "error")
						  : NULL;
	size_t before = res->nexpects;
	int irc = LUA_OK;

	if (rc == LUA_OK || why) {
		if (why)
			lua_pop(L, 1);
		lhil_grace(L, LHIL_TEARDOWN_S); /* also after a watchdog or budget error */
		lua_getglobal(L, "mynahil");
		lua_getfield(L, -1, "_invariants");
		lua_remove(L, -2);
		lua_pushvalue(L, -2);
		irc = lhil_pcall(L, 1, 0);
		if (rc == LUA_OK)
			rc = irc;
	}
	if (why) {
		luaL_Buffer b;
		luaL_buffinit(L, &b);
		luaL_addstring(&b, why);
		for (size_t i = before; i < res->nexpects; i++) {
			char where[4200];

			if (res->expects[i].ok)
				continue;
			luaL_addstring(&b, "; ");
			luaL_addstring(&b, res_expect_where(&res->expects[i], where, sizeof where));
			luaL_addstring(&b, ": ");
			luaL_addstring(&b, res->expects[i].msg ? res->expects[i].msg : "violated");
		}
		if (irc != LUA_OK && irc != LHIL_SKIP) {
			luaL_addstring(&b, "; invariants not checked: ");
			luaL_addstring(&b, lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		}
		luaL_pushresult(&b);
		set_reason(res, RES_ERROR, lua_tostring(L, -1));
		free(why);
		return;
	}
	if (rc == LHIL_SKIP) {
		lua_getfield(L, -1, "__mynahil_skip");
		set_reason(res, RES_SKIP, lua_tostring(L, -1));
	} else if (rc != LUA_OK) {
		set_reason(res, RES_ERROR, lua_tostring(L, -1));
	} else if (!own_expects(res)) {
		set_reason(res, RES_FAIL, "the scenario checked nothing: no expect ran");
	} else {
		res->status = RES_PASS;
		for (size_t i = 0; i < res->nexpects; i++)
			if (!res->expects[i].ok)
				res->status = RES_FAIL;
	}
}

/* --redact: the PINs the bound card profile (on top of the stack) knows
 * are secrets from the start, with the number (照合番号A). */
static void profile_secrets(lua_State *L, trace_t *t)
{
	static const char *const where[][2] = { { "pins", NULL }, { "holder", "number" } };

	for (size_t i = 0; lua_istable(L, -1) && i < sizeof where / sizeof where[0]; i++) {
		lua_pushstring(L, where[i][0]);
		if (lua_rawget(L, -2) == LUA_TTABLE) {
			lua_pushnil(L);
			while (lua_next(L, -2)) {
				size_t n;
				const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
				if (v && (!where[i][1] || (lua_type(L, -2) == LUA_TSTRING &&
							   !strcmp(lua_tostring(L, -2), where[i][1]))))
					trace_secret(t, (const uint8_t *)v, n);
				lua_pop(L, 1);
			}
		}
		lua_pop(L, 1);
	}
}

/* --redact: every secret of the run masked in what the reports print of
 * the result (the failed expects carry the last APDUs, in hex). */
static void redact_result(const trace_t *t, res_scenario_t *res)
{
	trace_mask_text(t, res->reason);
	trace_mask_text(t, res->log);
	for (size_t i = 0; i < res->nexpects; i++) {
		trace_mask_text(t, res->expects[i].what);
		trace_mask_text(t, res->expects[i].msg);
	}
}

/* The trace names each link's role, shows SCP03 commands plain beside
 * the wrapped ones (the fixtures' key set), and with --trace pcapng is
 * copied to traces/ID.pcapng with times (hil/trace/trc_live.c). */
static int attach_trace(trace_t *t, const scen_env_t *env, const char *pcap, char *err, size_t errlen)
{
	const char *roles[MAX_ROLES], *uris[MAX_ROLES];
	scp03_keyset_t keys;
	trc_live_cfg_t cfg = { .roles = roles, .uris = uris, .keys = &keys, .nkeys = 1,
			       .pcapng = env->trace_pcapng ? pcap : NULL, .sent_ns = link_last_sent_ns };

	for (size_t i = 0; i < env->nbind && cfg.nroles < MAX_ROLES; i++, cfg.nroles++)
		roles[cfg.nroles] = env->bind[i].role, uris[cfg.nroles] = env->bind[i].uri;
	trc_fixture_keys(&keys);
	return trc_live_attach(t, &cfg, err, errlen);
}

/* Every fault's outcome into the result: a fired one is a passing
 * expect saying where; one that never fired fails the scenario under
 * --fault-strict, else is a warning in its log and on stderr — a lab
 * must not believe a fault was injected when it was not. */
static void fault_results(const fault_live_t *fl, const scen_env_t *env, res_scenario_t *res)
{
	for (size_t i = 0; i < fault_live_n(fl); i++) {
		fault_outcome_t o;
		char what[800], msg[700], file[600];
		const char *colon;
		int line = (int)i + 1;

		fault_live_outcome(fl, i, &o);
		/* a scenario's w:fault names its FILE:LINE; --fault its place on the command line */
		snprintf(file, sizeof file, "%s", o.from);
		if ((colon = strrchr(o.from, ':')) && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
			file[colon - o.from] = 0;
			line = atoi(colon + 1);
		}
		snprintf(what, sizeof what, "fault %s fired%s%.600s", o.spec, o.fired ? ": " : "", o.fired ? o.where : "");
		if (o.fired) {
			res_add_expect(res, file, line, 1, what, NULL);
			continue;
		}
		snprintf(msg, sizeof msg, "fault %s (%s) never fired: the run did not reach it", o.spec, o.from);
		if (env->fault_strict) {
			res_add_expect(res, file, line, 0, what, msg);
			if (res->status == RES_PASS) {
				res->status = RES_FAIL;
				free(res->reason);
				res->reason = strdup(msg);
			}
			continue;
		}
		fprintf(stderr, "mynahil: %s: warning: %s\n", res->id ? res->id : "?", msg);
		size_t n = res->log ? strlen(res->log) : 0;
		char *log = realloc(res->log, n + strlen(msg) + 16);
		if (log) {
			snprintf(log + n, strlen(msg) + 16, "warning: %s\n", msg);
			res->log = log;
		}
	}
}

void scen_run(const scen_meta_t *m, const scen_env_t *env, res_scenario_t *res)
{
	fault_live_t *fl = NULL;
	char err[1024], rundir[PATH_MAX], tpath[PATH_MAX], fname[200];
	trace_t *trace = NULL;
	link_t *links[MAX_ROLES];
	size_t nlinks = 0;
	lua_State *L = NULL;
	int rc;

	scen_meta_to_res(m, res);
	if (m->error) {
		set_reason(res, RES_ERROR, m->error);
		return;
	}
	if (m->skip) {
		set_reason(res, RES_SKIP, m->skip);
		return;
	}
	if (scen_unmet_need(m, env, err, sizeof err)) {
		set_reason(res, RES_SKIP, err);
		return;
	}
	scen_file_name(m->id, fname, sizeof fname);
	snprintf(rundir, sizeof rundir, "%.2000s/run/%s", env->out, fname);
	/* A run starts from an empty run directory: what an earlier run left
	 * (a state file, a planted symlink) must not change this one. */
	if (util_rmtree(rundir) < 0 || util_mkdirs(rundir) < 0) {
		snprintf(err, sizeof err, "%.900s: cannot create run directory", rundir);
		set_reason(res, RES_ERROR, err);
		return;
	}
	/* traces/ID.jsonl: every exchange, for whoever chases a failure */
	snprintf(tpath, sizeof tpath, "%.2000s/traces", env->out);
	if (util_mkdirs(tpath) == 0) {
		snprintf(tpath, sizeof tpath, "%.2000s/traces/%s.jsonl", env->out, fname);
		trace = trace_open(tpath);
		snprintf(tpath, sizeof tpath, "%.2000s/traces/%s.pcapng", env->out, fname);
		if (attach_trace(trace, env, tpath, err, sizeof err) < 0) {
			set_reason(res, RES_ERROR, err);
			goto out;
		}
	}
	if (env->redact) {
		if (!trace) /* no trace file: the secrets are still gathered */
			trace = trace_open("/dev/null");
		trace_redact(trace);
	}
	if (!(fl = fault_live_new(env->faults, env->seed, trace))) {
		set_reason(res, RES_ERROR, "out of memory");
		goto out;
	}
	if (env->fault_watch)
		fault_live_watch_all(fl);
	L = open_state(m->file, env, rundir, m->timeout_s, res, trace, fl, err, sizeof err);
	if (!L || lhil_load_scenario(L, m->file, err, sizeof err) < 0) {
		set_reason(res, RES_ERROR, err);
		goto out;
	}
	lua_getfield(L, -1, "run");                /* scenario run */
	lua_getglobal(L, "mynahil");
	lua_getfield(L, -1, "_world");
	lua_remove(L, -2);                         /* scenario run _world */
	lua_newtable(L);                           /* roles */
	for (size_t i = 0; i <= env->nbind && nlinks < MAX_ROLES; i++) {
		link_opts_t lo = { .seed = env->seed, .label = m->id };
		const char *role = i < env->nbind ? env->bind[i].role : "se";
		const char *uri = i < env->nbind ? env->bind[i].uri : "sim:se";
		link_t *l;
		if (!strcmp(role, "tsm") || !strcmp(role, "ca"))
			continue; /* services, not links: w.tsm and w.ca (hil/run/lua/lsvc.c) */
		/* A scenario that needs the SE gets sim:se unless bound. */
		if (i == env->nbind && (scen_binding(env, "se") || !has_need(m, "se")))
			continue;
		if (link_open(&l, uri, &lo, err, sizeof err) < 0) {
			char why[1200];
			snprintf(why, sizeof why, "role %s: %s", role, err);
			set_reason(res, RES_ERROR, why);
			goto out;
		}
		if (!(l = link_fault_wrap(l, fl, role))) {
			set_reason(res, RES_ERROR, "out of memory");
			goto out;
		}
		links[nlinks++] = l;
		lhil_push_link(L, l);
		lua_setfield(L, -2, role);
	}
	lua_createtable(L, 0, 5);                  /* info */
	push_policy(L, m);                         /* the policy in effect */
	lua_setfield(L, -2, "policy");
	if (scen_binding(env, "tsm")) {
		lua_pushstring(L, scen_binding(env, "tsm"));
		lua_setfield(L, -2, "tsm");
	}
	if (scen_binding(env, "ca")) {
		lua_pushstring(L, scen_binding(env, "ca"));
		lua_setfield(L, -2, "ca");
	}
	lua_pushinteger(L, (lua_Integer)env->seed);
	lua_setfield(L, -2, "seed");
	lua_pushstring(L, m->id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, m->file);                /* names the step a violation happened in */
	lua_setfield(L, -2, "file");
	lua_pushboolean(L, env->paranoid);
	lua_setfield(L, -2, "paranoid");
	lua_pushboolean(L, env->bench);
	lua_setfield(L, -2, "bench");
	lua_pushboolean(L, env->keep_devices);
	lua_setfield(L, -2, "keep_devices");
	if (scen_binding(env, "card")) {
		push_profile(L, scen_binding(env, "card"));
		if (env->redact)
			profile_secrets(L, trace);
		lua_setfield(L, -2, "profile");
	}
	lua_call(L, 2, 1);                         /* scenario run world */
	lua_pushvalue(L, -1);
	lua_insert(L, -3);                         /* scenario world run world */

	rc = lhil_pcall(L, 1, 0);
	/* The scenario's own commands: on a real link the invariants then
	 * observe the device by APDUs too (traced, not counted), and the
	 * count must not depend on where the card is. */
	for (size_t i = 0; i < nlinks; i++)
		res->apdus += links[i]->napdu;
	check_invariants(L, rc, res);
out:
	lhil_close(L); /* closes the links through their __gc */
	if (fl && res->status != RES_SKIP) {
		fault_results(fl, env, res);
		if (env->fault_done)
			env->fault_done(env->fault_ud, fl, res);
	}
	fault_live_free(fl);
	if (env->redact) {
		redact_result(trace, res);
		util_rmtree(rundir); /* a state image holds the card's PINs */
	}
	trace_close(trace);
}
