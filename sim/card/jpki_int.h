/* jpki_int.h — the JPKI AP (公的個人認証AP) as a cardos application:
 * its files, its personality and its personalisation (JPKI.md §1).
 * The same definition serves the physical card and, with other options,
 * the smartphone applet (JPKI.md §4.1). */
#ifndef JPKI_INT_H
#define JPKI_INT_H

#include "card.h"
#include "cardos_int.h"

#define JPKI_N_EFS 10
#define JPKI_TOKEN_LEN 32  /* the name field of EF 0006 */
#define JPKI_TOKEN_EF 160  /* SOL: the whole EF is 160 bytes [M] */
#define JPKI_CERT_MAX 0x8000 /* certificate EFs stay within 15-bit offsets */

#define JPKI_TOKEN_CARD "JPKIAPICCTOKEN2"
#define JPKI_TOKEN_JUKI "JPKIAPICCTOKEN"
#define JPKI_TOKEN_GPSE "JPKIAPGPSETOKEN"
#define JPKI_TOKEN_IOS "JPKIAPIOSTOKEN"

extern const uint8_t jpki_aid[10];

typedef struct jpki_opts {
	/* EF 000A (auth certificate) readable only after the auth PIN:
	 * the smartphone tokens (JPKI.md §1.2, §4.1; MYNA-GO f68cefd). */
	int auth_cert_pin;
} jpki_opts_t;

typedef struct jpki_app {
	cardos_app_def_t def;
	cardos_ef_def_t efs[JPKI_N_EFS];
} jpki_app_t;

/* Build the AP definition for o. */
void jpki_app_init(jpki_app_t *app, const jpki_opts_t *o);
/* The options that go with the token name in EF 0006 (n bytes of it;
 * trailing spaces and NULs ignored).  Unknown names: the card's. */
void jpki_opts_for_token(const uint8_t *ef, size_t n, jpki_opts_t *o);

/* SIM_OK or SIM_ERR_PROFILE. */
int jpki_profile_check(const card_profile_t *p);
/* Write the AP's records inside the caller's NVM transaction; returns an
 * NVM_* code. */
int jpki_personalise(nvm_t *nvm, const card_profile_t *p);

#endif
