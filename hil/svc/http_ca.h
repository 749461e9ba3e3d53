/* http_ca.h — `mynahil serve ca`: the J-LIS CA simulator on the network
 * (CRL, OCSP and a JSON API over HTTP; docs/ca.md). */
#ifndef HTTP_CA_H
#define HTTP_CA_H

#include <stddef.h>
#include <stdint.h>

#include "hil/svc/http.h"
#include "sim/ca/ca.h"

/* What the CA's handlers work on: the CA and its virtual clock.  Another
 * server may mount the CA's routes (serve tsm does) with an app whose
 * first member is this. */
typedef struct http_ca_app {
	ca_t *ca;
	vclock_t *clk;
} http_ca_app_t;

/* The CA's route table (docs/ca.md). */
const http_route_t *http_ca_routes(size_t *n);

/* The CA of a `serve ca` at url (http://HOST:PORT[/PATH]) as a ca_t
 * (ca_open_remote): what a TSM or a wallet asks of its CA goes there as
 * requests of the API above, each with a deadline (2 s to connect, 10 s
 * in all); token (may be NULL) goes on every request as a bearer token.
 * The CA is asked for its clock once here, so that a wrong URL stops the
 * start.  0, or 2 (a bad URL) or 1 (not reached: err says why, "cannot
 * reach the CA at URL: Couldn't connect to server"). */
/* http://HOST[:PORT][/PATH], without a query, fragment, user or space:
 * 0, or -1 with why in err. */
int http_ca_url_ok(const char *url, char *err, size_t errlen);
int http_ca_remote(ca_t **out, const char *url, const char *token, char *err, size_t errlen);

/* argv[0] is "serve", argv[1] "ca".  Exit status: 0 after SIGTERM or
 * SIGINT, 1 when the CA cannot start, 2 on a usage error. */
int serve_ca_main(int argc, char **argv);

#endif
