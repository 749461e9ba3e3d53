/* serve_pn532.c — placeholder until the software PN532 lands. */
#include <stdio.h>
#include "hil/serve.h"

int serve_pn532_run(link_t *card, link_t *se, const char *pty_path)
{
	(void)card;
	(void)se;
	fprintf(stderr, "mynahil: serve pn532 --pty %s: not implemented yet\n", pty_path);
	return 2;
}
