/* link_fault.h — a link that injects a fault plan's faults into another
 * (docs/faults.md).
 *
 * A decorator: the same vtable around any link (sim:, pcsc:, nfc:,
 * replay:), so power loss, removal, a late, altered or cut answer work
 * alike on a simulator and on a real card.  NVM tears need the
 * simulator's insides and apply to sim: links only.  The wrapper keeps
 * the inner link's URI, so traces and reports name the device as before;
 * link_base() reaches the simulator behind it. */
#ifndef LINK_FAULT_H
#define LINK_FAULT_H

#include "hil/link/link.h"
#include "hil/base/fault.h"

/* inner wrapped for role's faults of fl; inner itself when fl has none
 * for role; NULL when out of memory (inner is then closed).  The wrapper
 * owns inner. */
link_t *link_fault_wrap(link_t *inner, fault_live_t *fl, const char *role);

#endif
