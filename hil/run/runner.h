/* runner.h — find scenarios, pick them, run each in its own process. */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdio.h>
#include "hil/run/scenario.h"

typedef struct runner_opts {
	char *const *paths;   /* files or directories */
	size_t npaths;
	scen_env_t env;
	int jobs;             /* scenario processes at once */
	const char *filter;   /* POSIX extended regex on "id file title"; NULL = all */
	const char *tags;     /* comma-separated; a scenario needs one of them */
	int shard_i, shard_n; /* run the i-th of n shards (1-based); n = 0: all */
	int isolate;          /* 1: fork per scenario (default); 0: in process */
	int matrix;           /* run every combination of a scenario's policies */
	pol_set_t pin;        /* --policy k=v: switches fixed for the whole run */
	int save_state;       /* --save-state: OUT/state-before/ROLE.nvm, the bound
			       * simulators' state= images as the run found them
			       * (mynahil incident pack) */
} runner_opts_t;

/* Run and write the reports; returns the exit status (0 all passed,
 * 1 a failure or error, 2 usage or setup error). */
int runner_run(const runner_opts_t *o);
/* The runs o selects, in order: discovered, read in child processes,
 * filtered, expanded by --matrix, sharded.  0 with *out (free each with
 * scen_meta_clear, then the array), or -1 with the reason said on
 * stderr; nothing selected is an error. */
int runner_select(const runner_opts_t *o, scen_meta_t **out, size_t *count);
/* Print what would run, one scenario per line; returns an exit status. */
int runner_list(const runner_opts_t *o, FILE *out);

/* bench.c: the command line that reproduces o's run (malloc'd; no
 * --shard, --out or -j), and run's version, command and bench (each
 * bound target probed, changing nothing). */
char *runner_command(const runner_opts_t *o);
void runner_bench(const runner_opts_t *o, res_run_t *run);
/* What built this mynahil into run->versions: its version, the git
 * commit ("unknown" outside git, "-dirty" with uncommitted changes),
 * OpenSSL, Lua, pcsc-lite and libnfc (the loaded library's own answer
 * where it gives one, else the headers' marked "(built with)"). */
void runner_versions(res_run_t *run);
/* What an ATR tells of a My Number card (docs/card.md#atrs). */
typedef struct runner_atr {
	const char *set; /* the ATR set it is of, NULL when none */
	int contactless; /* a contactless reader's ATR, not the chip's */
	char what[96];   /* "ATR set opensc-3021: OpenSC issue #3021", ... */
} runner_atr_t;
/* What the ATR in upper-case hex is into *k: a set's contact ATR (byte
 * for byte), the ATR a PC/SC reader builds from a set's ATQB, or one
 * known of no set; 1, or 0 when it is none of these (k->what ""). */
int runner_atr_set(const char *atr_hex, runner_atr_t *k);
/* Open uri once as a probe and describe what answers in facts (ATR and
 * its ATR set; the se's CPLC and IDm; the card's token and, with
 * tries, the PIN tries left, asked without spending one).  0, or -1 when
 * it does not open or is not the role's card (facts says why). */
int runner_probe_link(const char *role, const char *uri, uint64_t seed, int tries, char *facts, size_t cap);

#endif
