/* http_ca.h — `mynahil serve ca`: the J-LIS CA simulator on the network
 * (CRL, OCSP and a JSON API over HTTP; docs/ca.md). */
#ifndef HTTP_CA_H
#define HTTP_CA_H

/* argv[0] is "serve", argv[1] "ca".  Exit status: 0 after SIGTERM or
 * SIGINT, 1 when the CA cannot start, 2 on a usage error. */
int serve_ca_main(int argc, char **argv);

#endif
