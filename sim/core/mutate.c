/* mutate.c — the names of the mutation switches and the selected one. */
#include "mutate.h"

#include <string.h>

static const char *const names[MUT_COUNT][2] = {
	[MUT_NONE] = { "none", "no mutation" },
	[MUT_SKIP_LINKAGE] = { "skip_linkage", "the TSM does not follow the CA's status of a device's certificates" },
	[MUT_CA_UNLINKED] = { "ca_unlinked", "the CA revokes a card certificate without the phone certificates linked to it" },
	[MUT_KEEP_APPLET] = { "keep_applet", "the TSM forgets the applet's DELETE: slots marked, applet kept" },
	[MUT_ANY_CARD_SIG] = { "any_card_sig", "the CA accepts any signature as the card's" },
	[MUT_PIN_FREE] = { "pin_free", "a wrong PIN spends no try, on the card and in the phone's applet" },
	[MUT_SECOND_PHONE] = { "second_phone", "a second phone issued without revoking the first" },
	[MUT_OCSP_GOOD] = { "ocsp_good", "OCSP answers good for every certificate" },
	[MUT_CRL_OMITS] = { "crl_omits", "the CRLs list no revoked or held certificate" },
	[MUT_REGISTRY_STALE] = { "registry_stale", "the TSM registry keeps its status after a revocation" },
	[MUT_DELETE_NOOP] = { "delete_noop", "the SE answers DELETE with 9000 and deletes nothing" },
	[MUT_PIN_POWER] = { "pin_power", "PIN retry counters back to full at every power-up" },
	[MUT_NVM_TORN] = { "nvm_torn", "a torn NVM write leaves the record erased and power-up keeps it: no journal, updates are not atomic" },
};

#ifdef MYNAHIL_MUTANTS
enum mut mut_active = MUT_NONE;
#endif

const char *mut_name(enum mut m)
{
	return (unsigned)m < MUT_COUNT ? names[m][0] : NULL;
}

const char *mut_what(enum mut m)
{
	return (unsigned)m < MUT_COUNT ? names[m][1] : NULL;
}

int mut_built(void)
{
#ifdef MYNAHIL_MUTANTS
	return 1;
#else
	return 0;
#endif
}

const char *mut_selected(void)
{
#ifdef MYNAHIL_MUTANTS
	return mut_active != MUT_NONE ? names[mut_active][0] : NULL;
#else
	return NULL;
#endif
}

int mut_select(const char *name)
{
	for (int m = MUT_NONE; m < MUT_COUNT; m++)
		if (name && !strcmp(name, names[m][0])) {
#ifdef MYNAHIL_MUTANTS
			mut_active = (enum mut)m;
			return m;
#else
			return m == MUT_NONE ? m : -1;
#endif
		}
	return -1;
}
