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

/* argv[0] is "serve", argv[1] "ca".  Exit status: 0 after SIGTERM or
 * SIGINT, 1 when the CA cannot start, 2 on a usage error. */
int serve_ca_main(int argc, char **argv);

#endif
