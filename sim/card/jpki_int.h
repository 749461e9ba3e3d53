/* jpki_int.h — the JPKI AP (公的個人認証AP) as a cardos application:
 * its files, its personality and its personalisation (docs/card.md#jpki-ap).
 * The same definition serves the physical card and, with other options,
 * the smartphone applet (docs/card.md#smartphone-token). */
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

/* The AP's files (docs/card.md#files). */
enum jpki_ef {
	JPKI_EF_SIGN_CERT = 0x0001,
	JPKI_EF_SIGN_CA = 0x0002,
	JPKI_EF_TOKEN = 0x0006,
	JPKI_EF_PRESENCE = 0x0008,
	JPKI_EF_AUTH_CERT = 0x000A,
	JPKI_EF_AUTH_CA = 0x000B,
	JPKI_EF_AUTH_KEY = 0x0017,
	JPKI_EF_AUTH_PIN = 0x0018,
	JPKI_EF_SIGN_KEY = 0x001A,
	JPKI_EF_SIGN_PIN = 0x001B,
};

typedef struct jpki_opts {
	/* EF 000A (auth certificate) readable only after the auth PIN:
	 * the smartphone tokens (docs/card.md#files, #smartphone-token; MYNA-GO
	 * f68cefd). */
	int auth_cert_pin;
	/* 80 FC 00 00: the status word; 0 = 6700, a card's (docs/card.md#commands). */
	uint16_t sw_80fc;
	/* A VERIFY (00 20) of the host's own in place of the ISO one, NULL:
	 * none.  The iPhone answers the auth PIN's after its biometric check
	 * (sim/ios, docs/ios.md#biometrics); it calls cardos_verify for the
	 * rest. */
	cardos_fn verify;
} jpki_opts_t;

typedef struct jpki_app {
	cardos_app_def_t def; /* first: the handlers find the app from it */
	cardos_ef_def_t efs[JPKI_N_EFS];
	cardos_cmd_t cmds[3]; /* the personality: 80 2A, 80 FC, and the host's VERIFY */
	uint16_t sw_80fc;
} jpki_app_t;

/* Build the AP definition for o. */
void jpki_app_init(jpki_app_t *app, const jpki_opts_t *o);
/* The options that go with the token name in EF 0006 (n bytes of it;
 * trailing spaces and NULs ignored).  Unknown names: the card's. */
void jpki_opts_for_token(const uint8_t *ef, size_t n, jpki_opts_t *o);

/* For other hosts of the AP (the SE's smartphone applet), which set
 * app->def.ns to their own namespace: write one object of app inside the
 * caller's NVM transaction (NVM_* codes; NVM_ERR_ARG for an unknown FID).
 * jpki_put_cert takes a DER certificate (30 82 LL LL, as clients need)
 * and stores it padded as the card does; NVM_ERR_ARG if it is not one. */
int jpki_put_ef(nvm_t *nvm, const jpki_app_t *app, uint16_t fid, const void *val, size_t len);
int jpki_put_cert(nvm_t *nvm, const jpki_app_t *app, uint16_t fid, const uint8_t *der, size_t n);
/* EF 0006 for a token name (at most JPKI_TOKEN_LEN bytes), the rest 00. */
void jpki_token_ef(uint8_t out[JPKI_TOKEN_EF], const char *token);
/* The options a card's profile sets beyond its token's. */
void jpki_opts_for_profile(const card_profile_t *p, jpki_opts_t *o);

/* SIM_OK or SIM_ERR_PROFILE. */
int jpki_profile_check(const card_profile_t *p);
/* Renewal of the card's auth (sign = 0) or sign pair: key and
 * certificate replaced in one NVM transaction (sim_card_renew). */
int jpki_renew(nvm_t *nvm, int sign, const uint8_t *key, size_t kn, const uint8_t *cert, size_t cn);
/* 1 if key is the record of either private key EF. */
int jpki_holds_key(nvm_t *nvm, const uint8_t *key, size_t kn);
/* Write the AP's records inside the caller's NVM transaction; returns an
 * NVM_* code. */
int jpki_personalise(nvm_t *nvm, const card_profile_t *p);

#endif
