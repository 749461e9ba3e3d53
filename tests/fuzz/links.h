/* links.h — hil links (hil/link/link.h) over a fresh default card or SE, for
 * the targets that fuzz what sits in front of a link (the vpcd and PN532
 * framing).  link_open("sim:...") would load the profiles for every
 * input; these reuse the ones fuzz.h loaded once. */
#ifndef FUZZ_LINKS_H
#define FUZZ_LINKS_H

#include "hil/link/link.h"
#include "tests/fuzz/fuzz.h"

typedef struct fz_link {
	link_t l;
	fz_sim_t sim;
	sim_card_t *card; /* one of card and se */
	sim_se_t *se;
} fz_link_t;

/* abort() if the default simulator cannot be built. */
void fz_link_card(fz_link_t *f);
void fz_link_se(fz_link_t *f);
void fz_link_done(fz_link_t *f);

#endif
