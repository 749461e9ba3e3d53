/* preflight.h — the command line's bindings, checked before anything runs.
 *
 * A typo in a role or a target must not quietly test something else (an
 * unbound card is sim:card) nor fail every scenario one by one: roles,
 * URIs and their query keys are checked when parsed, and each bound
 * target is opened once before the first scenario. */
#ifndef PREFLIGHT_H
#define PREFLIGHT_H

#include <stddef.h>
#include "hil/run/scenario.h"

/* The roles a scenario's world knows, NULL-terminated: card, se (links),
 * tsm, ca (services). */
extern const char *const preflight_roles[];

/* 0 if role is one of preflight_roles and uri a well-formed target for
 * it (a known link kind and its query keys; a service: sim or
 * http://HOST:PORT); -1 with err naming the typo and the valid choices. */
int preflight_binding(const char *role, const char *uri, char *err, size_t errlen);

/* Open and probe every bound target once — a reader present with a card
 * that answers, a service that accepts a connection — and close it again,
 * changing nothing (no state file written).  -1 with one line in err:
 * the role, the target and what is there instead. */
int preflight_probe(const scen_env_t *env, char *err, size_t errlen);

#endif
