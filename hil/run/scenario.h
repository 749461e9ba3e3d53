/* scenario.h — one scenario file: what it declares, and running it. */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include "reports/results.h"
#include "hil/run/policy.h"

struct fault_plan;
struct fault_live;

typedef struct binding {
	const char *role;  /* "card" */
	const char *uri;   /* "sim:card" */
} binding_t;

typedef struct scen_env {
	uint64_t seed;
	const binding_t *bind;
	size_t nbind;
	const char *out;      /* report directory; run dirs go below it */
	long long budget;     /* Lua instructions per scenario */
	size_t memory;        /* bytes of Lua memory per scenario; 0 = unlimited */
	int timeout_s;        /* wall-clock limit per scenario; a scenario may lower it */
	int paranoid;         /* the invariants (docs/domain.md#invariants) after every step, not only at the end */
	int trace_pcapng;     /* --trace pcapng: traces/ID.pcapng beside traces/ID.jsonl */
	int bench;            /* mynahil check: links to a bench may be observed by APDUs at any
			       * check, and power-cycled (docs/invariants.md) */
	int redact;           /* --redact: PINs masked in traces and results, run dirs
			       * removed after each scenario (docs/bench.md) */
	int keep_devices;     /* --keep-devices: a bound SE is not cleared before and
			       * after each scenario (docs/bench.md) */
	/* Faults (docs/faults.md): the plan of --fault; with fault_strict a
	 * fault that never fired fails the scenario (else a warning in its
	 * log); fault_watch wraps every link to count its NVM writes (the
	 * tear sweep's counting run); fault_done, if set, sees the plan at
	 * work once the scenario's links are closed. */
	const struct fault_plan *faults;
	int fault_strict;
	int fault_watch;
	void (*fault_done)(void *ud, const struct fault_live *fl, const res_scenario_t *res);
	void *fault_ud;
} scen_env_t;

typedef struct scen_meta {
	char *file;
	char *id, *title;     /* id falls back to the file's base name */
	char **tags;
	size_t ntags;
	char **needs;
	size_t nneeds;
	int timeout_s;        /* min(the scenario's own limit, --timeout) */
	char *error;          /* "file:line: message" when it does not load */
	int *cases;           /* life-cycle cases (docs/domain.md#cases), ascending */
	size_t ncases;
	char **ops;           /* operations (docs/domain.md#operations), in its order */
	size_t nops;
	pol_set_t fixed;      /* policy = { ... } */
	unsigned char supports[POL_N]; /* policies = { ... }: bit v, value v */
	/* One run of it, set by the runner (not in the JSON): */
	pol_set_t pol;        /* the policy in effect */
	char *skip;           /* not run: a skip with this reason */
} scen_meta_t;

/* Load the file in a sandbox and read its declarations.  A file that does
 * not load still gives a meta, with error set. */
int scen_read_meta(const char *file, const scen_env_t *env, scen_meta_t *m);
void scen_meta_clear(scen_meta_t *m);
/* The meta as JSON (malloc'd), and back (file is not in the JSON): the
 * runner reads declarations in a child process. */
char *scen_meta_to_json(const scen_meta_t *m);
int scen_meta_from_json(scen_meta_t *m, const char *file, const char *json, size_t len);
int scen_has_tag(const scen_meta_t *m, const char *tag);
/* A deep copy of src into dst (pol and skip too); 0 or -1. */
int scen_meta_copy(scen_meta_t *dst, const scen_meta_t *src);
/* What a result carries of the meta: id, file, title, tags, cases,
 * operations and the policy in effect. */
void scen_meta_to_res(const scen_meta_t *m, res_scenario_t *res);
/* id as a file name: characters outside [A-Za-z0-9._-] become '_'; a
 * long one is cut and ends in a hash of the whole id. */
void scen_file_name(const char *id, char *out, size_t cap);

/* Run it here, in this process, filling res (which the caller zeroed). */
void scen_run(const scen_meta_t *m, const scen_env_t *env, res_scenario_t *res);

/* 1 with why when a need of m's (needs = { ... }) is one the bindings
 * cannot meet — the scenario is then a skip, on run and on list; else 0. */
int scen_unmet_need(const scen_meta_t *m, const scen_env_t *env, char *why, size_t cap);

/* The URI bound to role, or NULL. */
const char *scen_binding(const scen_env_t *env, const char *role);

#endif
