/* results.h — the outcome of a run, as the runner collects it and the
 * report writers print it. */
#ifndef RESULTS_H
#define RESULTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum res_status { RES_PASS = 0, RES_FAIL, RES_SKIP, RES_ERROR } res_status_t;

typedef struct res_expect {
	char *file;  /* scenario-relative source file of the expect */
	int line;
	int ok;
	char *what;  /* e.g. "sw == 9000" */
	char *msg;   /* on failure: "got 6982, want 9000"; NULL when ok */
} res_expect_t;

typedef struct res_scenario {
	char *id;        /* e.g. "CARD-01" */
	char *file;      /* path as given to the runner */
	char *title;
	char **tags;
	size_t ntags;
	res_status_t status;
	char *reason;    /* skip reason, or the error (file:line: message) */
	res_expect_t *expects;
	size_t nexpects;
	uint64_t apdus;  /* commands exchanged */
	char *log;       /* what the scenario printed; may be NULL */
	int *cases;      /* life-cycle case numbers it covers (docs/domain.md#cases) */
	size_t ncases;
	char **ops;      /* operations it covers (docs/domain.md#operations) */
	size_t nops;
	char **pol_keys; /* the policy in effect: switch names ... */
	char **pol_vals; /* ... and their values, in docs/domain.md's order */
	size_t npol;
	unsigned order;  /* its place among the runs of its file (the matrix's
			  * odometer): report merge puts shards back in order */
	/* volatile: reported outside the comparable part of results.json */
	double ms;
} res_scenario_t;

/* One role of the bench as the run found it (report.html's bench). */
typedef struct res_role {
	char *role;    /* "card" */
	char *target;  /* "pcsc:Virtual PCD 00 00" */
	char *facts;   /* "ATR 3B..; generation 2020", or why it did not answer */
} res_role_t;

/* A name and its value, e.g. { "openssl", "3.0.15" }. */
typedef struct res_kv {
	char *key;
	char *value;
} res_kv_t;

typedef struct res_run {
	uint64_t seed;
	char *target;        /* e.g. "card=sim:card" */
	res_scenario_t *sc;  /* in stable order (sorted by file) */
	size_t n;
	double ms;           /* volatile */
	char *version;       /* mynahil's, or NULL */
	char *command;       /* the command line that reproduces the whole run */
	char *mutation;      /* the mutation switch in effect (docs/mutations.md), or NULL */
	res_kv_t *versions;  /* what ran it: mynahil, commit, openssl, lua, pcsc-lite,
			      * libnfc (runner_versions), in that order */
	size_t nversions;
	char *shard;         /* "2/4" for one shard of a run, NULL for a whole run
			      * (JUnit names its testsuite by it; a merge drops it) */
	res_role_t *roles;   /* the bench, probed before the run */
	size_t nroles;
	const char *dir;     /* not owned: the report directory, whose traces/
			      * report.html reads; NULL = no traces */
} res_run_t;

void res_scenario_clear(res_scenario_t *s);
void res_run_clear(res_run_t *r);
/* Append an expect; strings are copied.  Returns 0 or -1 on ENOMEM. */
int res_add_expect(res_scenario_t *s, const char *file, int line, int ok,
		   const char *what, const char *msg);
/* The file of an expect that is one of the domain's invariants; its line
 * is the invariant's number (docs/domain.md#invariants). */
#define RES_INVARIANT_FILE "docs/domain.md#invariants"
/* Where e was checked, as every report prints it: "FILE:LINE", or for an
 * invariant "invariant N (docs/domain.md#invariants)".  Returns buf. */
const char *res_expect_where(const res_expect_t *e, char *buf, size_t cap);
const char *res_status_name(res_status_t st); /* "pass", "fail", "skip", "error" */

/* One scenario as a JSON document (used between the scenario process and
 * the runner) and back.  to_json returns a malloc'd string. */
char *res_scenario_to_json(const res_scenario_t *s);
int res_scenario_from_json(res_scenario_t *s, const char *json, size_t len);

/* Report writers: one vtable per format. */
typedef struct report_writer {
	const char *name;     /* "junit", "tap", "json" */
	const char *filename; /* default file name in --out DIR */
	int (*write)(FILE *f, const res_run_t *run);
} report_writer_t;

extern const report_writer_t report_junit;
extern const report_writer_t report_tap;
extern const report_writer_t report_json;
/* report.html: the campaign, self-contained (reports/html.c) */
extern const report_writer_t report_html;
/* record.json: the whole run (logs, order, bench, timing): what
 * `mynahil report merge` and `report diff` read back (reports/record.c) */
extern const report_writer_t report_record;

/* A run back from DIR/record.json; 0, or -1 with err saying why. */
int res_run_load(res_run_t *run, const char *dir, char *err, size_t errlen);
/* `mynahil report merge`: the shards' record.json and traces (dirs)
 * into out as one run's reports; 0, or -1 with err. */
int report_merge(char *const *dirs, size_t ndirs, const char *out, char *err, size_t errlen);
/* `mynahil report diff`: what changed from old to new (report dirs),
 * as text to txt and, if html is not NULL, as a page at that path.
 * 0 nothing regressed, 1 something did, -1 with err (unreadable). */
int report_diff(const char *old, const char *new_, FILE *txt, const char *html, char *err, size_t errlen);
/* The seed's operations x cases as text, uncovered cells shown
 * (`mynahil list --matrix`). */
void res_coverage_text(FILE *f, const res_run_t *run);
/* Append a version (strings copied); 0 or -1. */
int res_add_version(res_run_t *run, const char *key, const char *value);
/* The run's versions as one line, "mynahil 0.1.0, commit C, openssl V,
 * ..." (malloc'd; "" without any). */
char *res_versions_line(const res_run_t *run);
/* Append role (strings copied); 0 or -1. */
int res_add_role(res_run_t *run, const char *role, const char *target, const char *facts);
/* id as a file name (traces/NAME.jsonl, run/NAME): characters outside
 * [A-Za-z0-9._-] become '_'; a long one is cut and ends in a hash. */
void res_file_name(const char *id, char *out, size_t cap);

/* Write run with w to dir/w->filename; returns 0 or -1 with errno set. */
int report_write_file(const report_writer_t *w, const res_run_t *run, const char *dir);

/* Terminal view while the run goes on: TAP lines when not a tty, a
 * one-line progress view on a tty; the summary line at the end. */
typedef struct report_progress report_progress_t;
report_progress_t *report_progress_new(FILE *f, size_t total, int tty);
void report_progress_one(report_progress_t *p, const res_scenario_t *s);
/* Prints e.g. "12 passed, 0 failed, 1 skipped" and frees p. */
void report_progress_end(report_progress_t *p, const res_run_t *run);

#endif
