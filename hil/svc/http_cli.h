/* http_cli.h — what `serve ca` and `serve tsm` share on their command
 * line: where they listen and who may change their state.
 *
 * They are test simulators without users or TLS.  They listen on
 * 127.0.0.1 unless told otherwise; another address needs --allow-remote,
 * which also warns on standard error and puts a bearer token on every
 * state-changing request (a random one, printed at start, unless --token
 * gives it).  On loopback a token is asked only if --token gives one. */
#ifndef HTTP_CLI_H
#define HTTP_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "hil/svc/http.h"

/* The listening options' lines of the usage texts. */
#define HTTP_CLI_USAGE(who, port)                                                          \
	"  --listen [HOST:]PORT where to listen (default 127.0.0.1:" port "); PORT 0 picks a\n" \
	"                      free one, and the first line on standard output,\n"            \
	"                      \"mynahil serve " who ": listening on http://HOST:PORT\", says which\n" \
	"  --allow-remote      listen on HOST even if it is not a loopback address (a closed\n" \
	"                      test bench only: anyone who reaches the port reads every\n"   \
	"                      record); state changes then need a token, printed at start\n" \
	"                      unless --token gives it\n"                                      \
	"  --token TOKEN       require \"Authorization: Bearer TOKEN\" on every request that\n" \
	"                      changes state (16 to 128 characters of A-Z a-z 0-9 -._~+/)\n"

/* The usage texts' wording, once: "unauthenticated test simulator". */
#define HTTP_CLI_TEST_ONLY                                                                  \
	"A simulator for test benches, not a service: no TLS, no users; loopback only\n"    \
	"unless --allow-remote, and state changes need a token only when there is one.\n"

typedef struct http_cli {
	/* from the command line */
	const char *listen; /* NULL: 127.0.0.1 and the default port */
	int allow_remote;
	const char *token;
	const char *db;     /* --db, NULL: memory */
	const char *time;   /* --time, checked; NULL: the saved clock or the default */
	const char *fixtures, *base_url; /* NULL: the defaults */
	const char *ca;     /* --ca URL (serve tsm and serve wallet): a separate CA */
	int plain_keys;     /* --se-keys plain (serve tsm): the SEs' ISD keys not diversified */
	uint64_t seed;
	/* what http_cli_listen() made of them */
	int fd;
	int loopback;
	char url[300];      /* http://HOST:PORT, the bound port */
	char bearer[160];   /* the token in force, "" for none */
} http_cli_t;

/* `mynahil serve WHO` (argv[1] is WHO): the options above and --db,
 * --seed, --time, --fixtures, --base-url, --help (and --ca but for serve
 * ca, whose URL it checks), into c.  Returns -1 to
 * go on, else the exit status: 0 after --help (usage on stdout), 2 on a
 * usage error (said on stderr). */
int http_cli_parse(http_cli_t *c, int argc, char **argv, const char *who, const char *usage);

/* Listen as the options say.  0: c->fd, url, loopback and bearer set
 * (and the warning about a non-loopback address printed on stderr);
 * 2: a usage error; 1: the address cannot be used.  err says why. */
int http_cli_listen(http_cli_t *c, const char *default_port, const char *who, char *err, size_t errlen);

/* The server's options that come from the command line. */
void http_cli_apply(const http_cli_t *c, http_opts_t *o);

/* The start-up lines: "mynahil serve WHO: listening on URL (DETAILS)",
 * and the token's when there is one. */
void http_cli_banner(const http_cli_t *c, const char *who, const char *details, char *out, size_t cap);

#endif
