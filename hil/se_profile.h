/* se_profile.h — SE profiles: Lua table files in fixtures/se/, loaded into
 * the se_profile_t a simulated FeliCa-SE is built with (sim/se/se.h),
 * together with the RSA key pool its applet draws keys from (the
 * simulator reads no files, so the harness hands the pool over). */
#ifndef SE_PROFILE_H
#define SE_PROFILE_H

#include "sim/se/se.h"

typedef struct seprof seprof_t;

/* Load path (a Lua file returning a table; paths inside are relative to
 * its directory).  On error NULL, and "file:line: what" or "file: what"
 * in err. */
seprof_t *seprof_load(const char *path, char *err, size_t errlen);
const se_profile_t *seprof_get(const seprof_t *p);
void seprof_free(seprof_t *p);

/* $MYNAHIL_FIXTURES/se/default.lua, else the source tree's.  Static. */
const char *seprof_default_path(void);

#endif
