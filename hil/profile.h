/* profile.h — card profiles: Lua table files in fixtures/profiles/,
 * loaded into the card_profile_t a simulator is personalised with. */
#ifndef PROFILE_H
#define PROFILE_H

#include "sim/card/card.h"

typedef struct profile profile_t;

/* Load path (a Lua file returning a table; file paths inside it are
 * relative to its directory).  On error returns NULL and writes
 * "file:line: what is wrong" or "file: what is wrong" to err. */
profile_t *profile_load(const char *path, char *err, size_t errlen);
const card_profile_t *profile_card(const profile_t *p);
void profile_free(profile_t *p);

/* The profile used when none is named: $MYNAHIL_FIXTURES/profiles/
 * default.lua, else the source tree's fixtures.  Returns a static path. */
const char *profile_default_path(void);
/* The fixtures directory (same rule). */
const char *profile_fixtures_dir(void);

#endif
