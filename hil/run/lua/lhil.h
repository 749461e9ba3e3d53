/* lhil.h — the Lua side of the harness: a sandboxed state with the
 * mynahil bindings (links, bytes, crypto, expect), in which a scenario
 * file is loaded and run. */
#ifndef LHIL_H
#define LHIL_H

#include <stdint.h>
#include <lua.h>
#include "reports/results.h"

typedef struct lhil_opts {
	const char *rundir;    /* the only directory io.open may reach; NULL: none */
	const char *libdir;    /* the built-in scenarios/lib */
	const char *scendir;   /* the scenario's own directory: modules, searched first */
	const char *userlib;   /* <scenario root>/lib, searched next; may be NULL */
	uint64_t seed;
	long long budget;      /* instruction budget; 0 = unlimited */
	size_t memory;         /* bytes the state may allocate; 0 = unlimited */
	int64_t deadline_ms;   /* util_now_ms() deadline; 0 = none */
	res_scenario_t *res;   /* where expects and the log go; may be NULL */
	struct trace *trace;   /* every exchange is recorded here; may be NULL */
	struct fault_live *faults; /* the run's fault plan at work (docs/faults.md); may be NULL */
} lhil_opts_t;

/* A fresh sandboxed state: no os.execute, io.popen, os.exit, no C
 * modules, no package, require of Lua text from scendir, userlib and
 * libdir only, load() of text only, no __gc, io.open only inside rundir,
 * print and io.write into the scenario log, math.random seeded from the
 * seed, allocations within the memory budget.  The prelude (scenario,
 * expect) is loaded.  NULL and a message in err on failure. */
lua_State *lhil_new(const lhil_opts_t *o, char *err, size_t errlen);
void lhil_close(lua_State *L);

/* Load file and call it; it must return a scenario table, left on the
 * stack.  On failure returns -1 with "file:line: message" in err. */
int lhil_load_scenario(lua_State *L, const char *file, char *err, size_t errlen);

/* Calls f with the args on the stack under the budget and watchdog, with
 * a traceback.  Returns LUA_OK or an error, message "file:line: msg" on
 * the stack; the traceback goes to the log. */
int lhil_pcall(lua_State *L, int nargs, int nresults);

/* After the run, the invariants and the teardown get a window of their
 * own: seconds from now on the wall clock and a tenth of the budget.  A
 * run killed by its watchdog still leaves the bench's devices as it
 * found them (scenarios/lib/app.lua's teardown). */
#define LHIL_TEARDOWN_S 10
void lhil_grace(lua_State *L, int seconds);

/* Push a link as a Lua object; Lua owns it (closed by __gc/__close). */
struct link;
void lhil_push_link(lua_State *L, struct link *l);
/* The open link at idx (an error otherwise); its metatable's name. */
struct link *lhil_check_link(lua_State *L, int idx);
#define LHIL_LINK_MT "mynahil.link"

/* The check every link a scenario opens applies to the paths it names:
 * writes inside the run directory, profiles from the fixture tree,
 * devices under /dev. */
struct link_paths;
const struct link_paths *lhil_paths(lua_State *L);

/* The state's trace (lhil_opts_t.trace), or NULL. */
struct trace *lhil_trace(lua_State *L);

/* The state's faults (lhil_opts_t.faults), or NULL. */
struct fault_live *lhil_faults(lua_State *L);
/* mynahil._fault, _fault_fired, _fault_pause (w:fault): lfault.c */
void lhil_open_faults(lua_State *L);

/* The marker t:skip() raises; lhil_pcall reports it as LHIL_SKIP. */
#define LHIL_SKIP 100

/* Registers the bindings as globals / preloaded modules (lbind.c,
 * lcrypto.c). */
void lhil_open_bindings(lua_State *L);
/* link:renew_key, link:renew_cert (a sim:card's renewal): lcard.c;
 * after lhil_open_bindings. */
void lhil_open_card(lua_State *L);
/* mynahil._service (w.tsm, w.ca), mynahil._open (w:open): lsvc.c */
void lhil_open_services(lua_State *L);
int luaopen_mynahil_crypto(lua_State *L);
/* mynahil.gp: KDF3 diversification, INITIALIZE UPDATE and EXTERNAL
 * AUTHENTICATE built for a key set (lgp.c) */
int luaopen_mynahil_gp(lua_State *L);
/* w.ios's device methods (keygen, attest, install...) on links: lios.c;
 * after lhil_open_bindings.  lhil_inspect_ios fills link:inspect()'s
 * table (at the top) for a sim:ios link. */
void lhil_open_ios(lua_State *L);
struct sim_ios;
void lhil_inspect_ios(lua_State *L, struct sim_ios *d);
/* { tries = n (absent: no counter), max = n } of a PIN view. */
struct sim_pin_view;
void lhil_push_pin(lua_State *L, const struct sim_pin_view *p);

#endif
