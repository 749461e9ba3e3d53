/* http_tsm.h — `mynahil serve tsm`: the SP-TSM simulator and its CA on
 * the network (docs/tsm.md). */
#ifndef HTTP_TSM_H
#define HTTP_TSM_H

/* argv[0] is "serve", argv[1] "tsm".  Exit status: 0 after SIGTERM or
 * SIGINT, 1 when it cannot start, 2 on a usage error. */
int serve_tsm_main(int argc, char **argv);
/* serve wallet: the same world, started as the iPhone's provisioning
 * service (docs/ios.md); argv[1] is "wallet". */
int serve_wallet_main(int argc, char **argv);

#endif
