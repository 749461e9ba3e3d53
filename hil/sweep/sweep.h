/* sweep.h — `mynahil run --tear-sweep`: every NVM write of every
 * simulated device a scenario touches, torn once (docs/faults.md). */
#ifndef SWEEP_H
#define SWEEP_H

#include "hil/run/runner.h"

/* For each selected run: a counting run (the NVM writes of each role's
 * devices), then one run per write K of each role under the fault
 * ROLE:nvm=K:tear (--fault-strict: a tear that does not happen is a
 * failure), o->jobs at a time, each in its own directory under
 * OUT/tear/.  sample > 0: that many points per role, evenly spread.
 * Prints every point that broke an invariant with the command that
 * reproduces it alone.  Exit status: 0 no point broke an invariant, 1
 * one did (or a point crashed, or a tear did not happen), 2 usage. */
int sweep_run(const runner_opts_t *o, long sample);

#endif
