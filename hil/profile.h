/* profile.h — card profiles: Lua table files in fixtures/profiles/,
 * loaded into the card_profile_t a simulator is personalised with. */
#ifndef PROFILE_H
#define PROFILE_H

#include "sim/card/card.h"

typedef struct profile profile_t;

/* Load path (a Lua file returning a table; file paths inside it are
 * relative to its directory), in the sandbox of hil/luadata.h.  On
 * error returns NULL and writes "FILE:LINE: what is wrong", "FILE: what
 * is wrong" or "FILE: field 'NAME' what is wrong" to err. */
profile_t *profile_load(const char *path, char *err, size_t errlen);
const card_profile_t *profile_card(const profile_t *p);
void profile_free(profile_t *p);

/* The private key in buf (PEM or DER) as PKCS#8 DER, the form the
 * simulators take, in a malloc'd buffer of *len bytes; NULL if buf
 * holds no private key. */
uint8_t *profile_key_der(const uint8_t *buf, size_t n, size_t *len);

/* The profile used when none is named: $MYNAHIL_FIXTURES/profiles/
 * default.lua, else the source tree's fixtures.  Returns a static path. */
const char *profile_default_path(void);
/* The fixtures directory (same rule). */
const char *profile_fixtures_dir(void);

#endif
