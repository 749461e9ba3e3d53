/* link.h — one way of reaching a card, whatever it is.
 *
 * Every link kind (sim, pcsc, nfc, replay) is a vtable chosen by the
 * scheme of a target URI.  Every call that can block takes a timeout.
 * Errors are negative LINK_ERR_* codes; link_error() tells what happened
 * in words that name the target. */
#ifndef LINK_H
#define LINK_H

#include <stddef.h>
#include <stdint.h>
#include "sim/core/sim.h"

#define LINK_OK 0
#define LINK_ERR_URI -1      /* unknown scheme or malformed URI */
#define LINK_ERR_OPEN -2     /* could not open (profile, reader, state file) */
#define LINK_ERR_MUTE -3     /* the card gave no answer (off, torn, removed) */
#define LINK_ERR_TIMEOUT -4
#define LINK_ERR_ABSENT -5   /* no card present */
#define LINK_ERR_IO -6
#define LINK_ERR_UNSUPPORTED -7

#define LINK_RSP_MAX (65536 + 2)

typedef struct link link_t;

/* Who may name which file.  A target given on the command line may name
 * any file its user can reach; one opened by a scenario (w:open) gets
 * the sandbox's check (hil/run/lua/sandbox.c), which every link applies to
 * every path its URI names, at the point of use. */
enum link_path_use { LINK_PATH_READ, LINK_PATH_WRITE, LINK_PATH_DEVICE };
typedef struct link_paths {
	/* 0 with the path to use in out; -1 with err saying why not. */
	int (*check)(void *ud, const char *path, enum link_path_use use,
		     char *out, size_t cap, char *err, size_t errlen);
	void *ud;
} link_paths_t;

typedef struct link_opts {
	uint64_t seed;        /* the run's seed: every random value of a simulator */
	const char *label;    /* derives the simulator's stream: e.g. the scenario id */
	const char *profile;  /* overrides ?profile= */
	const char *state;    /* NVM image: loaded on open if present, saved on close */
	const link_paths_t *paths; /* NULL: any path */
	int probe;            /* opened once to check the target before a run:
			       * change nothing (no state saved), and a reader
			       * that is not there is an error at once */
} link_opts_t;

typedef struct link_ops {
	const char *scheme;  /* "sim", "pcsc", ... */
	const char *const *query_keys; /* the ?key=value keys it takes */
	int pattern;         /* what precedes the query is a regular expression,
			      * which may hold a '?' (see link_query) */
	int (*open)(link_t *l, const char *rest, const link_opts_t *o);
	void (*close)(link_t *l);
	int (*power)(link_t *l, enum sim_power how);
	int (*transmit)(link_t *l, const uint8_t *cmd, size_t len,
			uint8_t *rsp, size_t cap, size_t *rsplen, int timeout_ms);
	size_t (*atr)(link_t *l, uint8_t *atr, size_t cap);
	int (*wait)(link_t *l, int present, int timeout_ms);
	link_t *(*inner)(link_t *l); /* a decorator (link_fault.h): the link it wraps; else NULL */
} link_ops_t;

struct link {
	const link_ops_t *ops;
	void *priv;
	char *uri;
	uint64_t napdu;   /* commands sent */
	char err[256];
};

/* Every kind of target, for messages and help. */
#define LINK_KINDS "sim:card, sim:se, pcsc:READER, nfc:DRIVER:PORT, replay:FILE"

int link_open(link_t **out, const char *uri, const link_opts_t *o, char *err, size_t errlen);
/* What link_open checks before opening anything: a known kind, and only
 * the query keys that kind takes.  LINK_ERR_URI with err naming the
 * typo and the valid choices. */
int link_check_uri(const char *uri, char *err, size_t errlen);
/* Where the query of a pattern (pcsc:REGEX) starts: the first '?'
 * followed by key=, so that the pattern may hold a '?' ("colou?r");
 * NULL if none.  Other kinds: the first '?'. */
const char *link_query(const char *rest);
void link_close(link_t *l);
int link_power(link_t *l, enum sim_power how);
int link_transmit(link_t *l, const uint8_t *cmd, size_t len,
		  uint8_t *rsp, size_t cap, size_t *rsplen, int timeout_ms);
size_t link_atr(link_t *l, uint8_t *atr, size_t cap);
int link_wait(link_t *l, int present, int timeout_ms);
const char *link_error(const link_t *l);
const char *link_strerror(int err);
/* Record an error message on l; returns err for tail calls. */
int link_fail(link_t *l, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Check a path the URI names before using it (see link_paths_t): 0 with
 * the path to use in out, or LINK_ERR_OPEN with the error recorded. */
int link_path(link_t *l, const link_opts_t *o, const char *what, const char *path,
	      enum link_path_use use, char *out, size_t cap);

/* Monotonic ns at which the last command of this process was sent (0:
 * none yet): the command time of the lossless trace. */
int64_t link_last_sent_ns(void);

/* The link under any decorators (a fault link's inner one): what a
 * caller needing a simulator's insides looks at. */
link_t *link_base(link_t *l);

/* The simulator behind a sim: link, for scenarios that need its insides
 * (tears, snapshots).  NULL for any other kind of link. */
struct sim_ctx *link_sim_ctx(link_t *l);

#endif
