/* mutate.h — mutation switches: deliberate defects planted in the
 * simulators, one at a time, to prove that the scenario suite notices
 * each (docs/mutations.md, tests/cli/mutations.sh).
 *
 * A hook is one line at the decision point it breaks:
 *
 *     if (mut_on(MUT_OCSP_GOOD)) status = V_OCSP_CERTSTATUS_GOOD;
 *
 * Only a build with MYNAHIL_MUTANTS (the sanitizer test build) compiles
 * the hooks; elsewhere mut_on() is the constant 0 and the compiler drops
 * them, so a release binary carries no defect to switch on.  The
 * selection is a process-wide value set once by the command line before
 * anything is simulated; forked scenario processes inherit it.  No
 * simulator reads the environment for it. */
#ifndef MUTATE_H
#define MUTATE_H

enum mut {
	MUT_NONE,
	MUT_SKIP_LINKAGE,   /* the TSM does not follow the CA's status of a device's certificates */
	MUT_CA_UNLINKED,    /* the CA revokes a card certificate without its linked phone ones */
	MUT_KEEP_APPLET,    /* the TSM forgets the applet's DELETE (slots marked, applet kept) */
	MUT_ANY_CARD_SIG,   /* the CA accepts any signature as the card's */
	MUT_PIN_FREE,       /* a wrong PIN spends no try (card and the phone's applet) */
	MUT_SECOND_PHONE,   /* a second phone issued without revoking the first */
	MUT_OCSP_GOOD,      /* OCSP answers good for every certificate */
	MUT_CRL_OMITS,      /* CRLs list no revoked or held certificate */
	MUT_REGISTRY_STALE, /* the TSM registry keeps its status after a revocation */
	MUT_DELETE_NOOP,    /* the SE answers DELETE with 9000 and deletes nothing */
	MUT_PIN_POWER,      /* PIN retry counters back to full at every power-up */
	MUT_NVM_TORN,       /* a torn write leaves the record erased (FF), kept at power-up: no journal */
	MUT_COUNT
};

/* The switch's name ("ocsp_good") and what it breaks; NULL out of range. */
const char *mut_name(enum mut m);
const char *mut_what(enum mut m);
/* 1 if this build compiles the hooks. */
int mut_built(void);
/* Select the mutation called name for this process: its enum mut, or -1
 * when the name is unknown or the build has no hooks ("none" is always
 * known: MUT_NONE). */
int mut_select(const char *name);
/* The selected mutation's name, NULL when none is in effect: every report
 * of a mutated run says so, so it is never taken for a real verdict. */
const char *mut_selected(void);

#ifdef MYNAHIL_MUTANTS
extern enum mut mut_active;
#define mut_on(m) (mut_active == (m))
#else
#define mut_on(m) 0
#endif

#endif
