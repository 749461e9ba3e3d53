/* policy.h — the policy switches (docs/domain.md#policy-switches) and seven
 * operations: the one table that scenario declarations, --policy and --matrix
 * are checked against. */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>

#define POL_N 6      /* switches */
#define POL_NOPS 7   /* operations */
#define POL_NCASES 15

typedef struct pol_switch {
	const char *name;
	int boolean;            /* values are Lua/JSON booleans */
	const char *values[2];  /* values[0] is the default */
} pol_switch_t;

extern const pol_switch_t pol_switches[POL_N];
extern const char *const pol_operations[POL_NOPS];

/* A policy: per switch 1 + the index of its value, 0 when unset (the
 * TSM's own default applies). */
typedef unsigned char pol_set_t[POL_N];

int pol_find(const char *name);              /* switch index or -1 */
int pol_value(int sw, const char *value);    /* value index or -1 */
int pol_operation(const char *name);         /* operation index or -1 */
/* "a, b, c": the switch names, or the values of switch sw (sw >= 0). */
void pol_choices(int sw, char *buf, size_t cap);
/* "k=v,k=v" of the switches set in p whose bit is in mask, in table
 * order. */
void pol_format(const pol_set_t p, unsigned mask, char *buf, size_t cap);

struct lua_State;
/* mynahil._domain = { switches = { name = { boolean =, values... } },
 * order = { names }, operations = { names } } for the prelude. */
void pol_push_lua(struct lua_State *L);

#endif
