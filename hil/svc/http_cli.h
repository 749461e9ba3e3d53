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

#include <getopt.h>
#include <stddef.h>

#include "hil/svc/http.h"

/* getopt_long entries, and their lines of the usage texts. */
#define HTTP_CLI_OPTIONS                                                                   \
	{ "listen", required_argument, 0, 'l' }, { "allow-remote", no_argument, 0, 'R' }, \
	{ "token", required_argument, 0, 'K' }

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
	/* what http_cli_listen() made of them */
	int fd;
	int loopback;
	char url[300];      /* http://HOST:PORT, the bound port */
	char bearer[160];   /* the token in force, "" for none */
} http_cli_t;

/* Take one of the shared options (getopt's answer and optarg): 1 if it
 * was one of them, 0 if not. */
int http_cli_option(http_cli_t *c, int opt, const char *arg);

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
