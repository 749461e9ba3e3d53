/* serve_vpcd.c — placeholder until the vpcd server lands. */
#include <stdio.h>
#include "hil/serve.h"

int serve_vpcd_run(link_t *l, const char *host, const char *port)
{
	(void)l;
	fprintf(stderr, "mynahil: serve --vpcd %s:%s: not implemented yet\n", host, port);
	return 2;
}
