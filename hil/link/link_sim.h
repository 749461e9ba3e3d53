/* link_sim.h — what the in-process simulators behind sim: links offer
 * beyond the link vtable. */
#ifndef LINK_SIM_H
#define LINK_SIM_H

#include "hil/link/link.h"
#include "sim/card/card.h"
#include "sim/se/se.h"
#include "sim/ios/ios.h"

/* The SE behind a sim:se link, for callers that speak FeliCa to it
 * directly with sim_se_felica() (the software PN532 may also send FeliCa
 * frames through link_transmit: a sim:se link routes what
 * sim_se_is_felica() recognises to the FeliCa layer).  NULL for any other
 * link. */
sim_se_t *link_sim_se(link_t *l);
/* The card behind a sim:card link (the harness's oracle reads its PIN
 * counters, docs/invariants.md).  NULL for any other link. */
sim_card_t *link_sim_card(link_t *l);
/* The iPhone behind a sim:ios link (the Lua device methods, the oracle).
 * NULL for any other link. */
sim_ios_t *link_sim_ios(link_t *l);

#endif
