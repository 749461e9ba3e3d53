/* card.h — the simulated My Number card: an ISO 7816-4 card OS carrying
 * the JPKI AP and the 券面事項入力補助AP (text AP), as docs/card.md
 * documents them.  A pure state machine: APDU in, APDU out. */
#ifndef CARD_H
#define CARD_H

#include <stddef.h>
#include <stdint.h>
#include "../core/sim.h"

typedef struct card_blob {
	const uint8_t *p;
	size_t n;
} card_blob_t;

/* The ATR sets a profile's `atr_set` names (docs/card.md#atrs): each a
 * contact ATR, named after where it was seen, and the ATQB of the
 * contactless side.  None serves 3B F5 91 00 FF 91 81 71 FE 40 ...
 * (OpenSC's list): most likely a contactless reader's, not a chip's. */
enum card_atr_set {
	CARD_ATR_PCSC_TOOLS_E0 = 0, /* 3B E0 00 FF 81 31 FE 45 14: pcsc-tools' list */
	CARD_ATR_OPENSC_3021,       /* 3B DA 13 FF ... 01 C0 3B: OpenSC issue #3021, a card
				     * issued 2024-01 in a contact reader */
	CARD_ATR_PCSC_TOOLS_C5,     /* 3B C5 FF 81 31 FB 45 80 73 C6 01 00 00: pcsc-tools' list */
	CARD_ATR_SET_COUNT
};

#define CARD_ATR_MAX 33
#define CARD_ATQB_INFO 7 /* ATQB application data (4) + protocol info (3) */

/* What the card is personalised with.  Strings are NUL-terminated UTF-8
 * and only read during sim_card_new(); the card copies what it keeps into
 * its NVM. */
typedef struct card_profile {
	enum card_atr_set atr_set;
	const char *token;           /* EF 0006 name; NULL = "JPKIAPICCTOKEN2" */
	struct {
		const char *name;         /* family and given name, U+3000 between */
		const char *address;
		const char *birth;        /* YYYYMMDD, Gregorian */
		const char *sex;          /* "1" male, "2" female, "9" n/a */
		const char *number;       /* individual number, 12 digits */
		int expiry_year;          /* card expiry year, for 照合番号B */
		const char *security_code; /* 4 digits printed on the card */
	} holder;
	struct {
		const char *auth;  /* 4 digits */
		const char *sign;  /* 6-16 of A-Z0-9; NULL if no sign certificate */
		const char *text;  /* 4 digits */
	} pins;
	card_blob_t auth_cert, auth_ca; /* DER */
	card_blob_t sign_cert, sign_ca; /* DER; sign_cert.n == 0: no sign cert (minor) */
	card_blob_t auth_key, sign_key; /* PKCS#8 DER private keys */
	card_blob_t text_key;           /* text AP key for 80 2A 00 00; may be empty */
	/* The certificate EFs as a real card lays them out (docs/card.md#files):
	 * each EF's size in bytes, 0 = the default (CARD_EF_SIZE_*), and the
	 * byte that fills the EF after the DER. */
	struct {
		uint16_t sign_cert, sign_ca, auth_cert, auth_ca;
		uint8_t filler;
	} ef;
	/* EF 0006 after the 32-byte name: 128 bytes laid out like the rest of
	 * a PKCS #11 CK_TOKEN_INFO (docs/card.md#jpki-ap, a secondary source);
	 * NULL = CARD_TOKEN_INFO_DEFAULT. */
	const uint8_t *token_info;
	/* The status word of 80 FC 00 00 (the iPhone's last-command
	 * indicator) on the JPKI AP: 0 = 6700, as a card answers per
	 * docs/card.md#commands [L]; else 6D00 or 9000. */
	uint16_t sw_80fc;
	/* The contact ATR, replacing the set's (checked: TS, the
	 * interface bytes, TCK); atr_len 0 = the set's. */
	const uint8_t *atr;
	size_t atr_len;
	/* The contactless side's ATQB application data and protocol info
	 * (CARD_ATQB_INFO bytes); NULL = the set's. */
	const uint8_t *atqb;
} card_profile_t;

/* Default certificate EF sizes: the sign CA's as observed on a 2023-CA
 * card (1,900 bytes), the auth CA's the same, the holder's certificates'
 * room for one of 2,048 bytes (docs/card.md#modelled-assumptions). */
#define CARD_EF_SIZE_CA 1900
#define CARD_EF_SIZE_CERT 2048
#define CARD_TOKEN_INFO_LEN 128
/* The record myna-card rebuilds in its tests (manufacturer, model
 * E16R01NJ, serial, flags 0000040D, sessions 1/0/1/0, PIN lengths 16/6,
 * memory unavailable, versions "03"/"01", time). */
extern const uint8_t card_token_info_default[CARD_TOKEN_INFO_LEN];

typedef struct sim_card sim_card_t;

/* Build a card on ctx.  If ctx->nvm already holds a personalised card (a
 * loaded image) its contents win and the profile only supplies the ATR;
 * otherwise the card is personalised from the profile in one transaction.
 * Returns SIM_OK or a negative SIM_ERR_*; SIM_ERR_IMAGE when the NVM
 * fails sim_card_check_nvm(). */
int sim_card_new(sim_card_t **out, const card_profile_t *p, sim_ctx_t *ctx);
/* Power nvm up (rolling back a transaction left open) and check every
 * record a loaded image brought: each must be one the card writes, with
 * a value in range (a PIN counter within its tries, a key an RSA key...),
 * and a non-empty image must be a personalised card.  SIM_OK, or
 * SIM_ERR_IMAGE with *f (may be NULL) naming the record and why. */
int sim_card_check_nvm(nvm_t *nvm, nvm_fault_t *f);
void sim_card_free(sim_card_t *c);

/* OFF: the card goes mute.  COLD/WARM: NVM recovery (a torn transaction
 * is rolled back), security status and current selection cleared. */
int sim_card_power(sim_card_t *c, enum sim_power how);
/* Copies the contact ATR (the profile's, else its set's);
 * returns its length. */
size_t sim_card_atr(const sim_card_t *c, uint8_t *atr, size_t cap);
/* The ATQB application data and protocol info of the contactless side
 * (CARD_ATQB_INFO bytes into out). */
void sim_card_atqb(const sim_card_t *c, uint8_t out[CARD_ATQB_INFO]);
/* One ATR set: its name (the profile's atr_set), where its contact ATR
 * was seen, the contact ATR, and the ATQB application data and protocol
 * info of its contactless side. */
typedef struct card_atr_set_info {
	const char *name, *source;
	uint8_t atr_len;
	uint8_t atr[CARD_ATR_MAX];
	uint8_t atqb[CARD_ATQB_INFO];
} card_atr_set_info_t;

/* Set s; NULL when s is none (for a loop over them). */
const card_atr_set_info_t *card_atr_set(int s);
/* The set named name; -1 when none is. */
int card_atr_set_named(const char *name);
/* The ATQB information of the ATR set whose contact ATR starts as
 * atr[0..n) does (TS, T0, the first interface byte):
 * 1; 0 (and the first set's) when the ATR is none of theirs.  For a
 * contactless front end that sees the card only through its ATR. */
int card_atqb_of_atr(const uint8_t *atr, size_t n, uint8_t out[CARD_ATQB_INFO]);
/* The ATR a PC/SC reader builds for an ISO 14443-4 Type B card (PC/SC
 * Part 3, 3.1.3.2.3): 3B 88 80 01, the ATQB's application data and
 * protocol info, MBLI (of ATTRIB's answer) in the high nibble, TCK.
 * Returns its length (13), 0 if cap is too small. */
size_t card_pcsc_atr_typeb(const uint8_t atqb[CARD_ATQB_INFO], uint8_t mbli, uint8_t *out, size_t cap);
/* The other way: when atr[0..n) is such an ATR (13 bytes, 3B 88 80 01,
 * TCK right), its ATQB information into out and 1; else 0. */
int card_pcsc_typeb_atqb(const uint8_t *atr, size_t n, uint8_t out[CARD_ATQB_INFO]);
/* 1 if atr[0..n) is a well-formed ATR: TS 3B or 3F, the interface bytes
 * T0 announces, the historical bytes, and TCK when a protocol other than
 * T=0 is indicated (XOR of T0..TCK is 0). */
int card_atr_ok(const uint8_t *atr, size_t n);

/* One command APDU in, one response APDU out (data + SW1 SW2).
 * Returns SIM_OK, or SIM_ERR_MUTE when the card is off or lost power
 * during the command (a tear): then there is no response at all. */
int sim_card_transmit(sim_card_t *c, const uint8_t *cmd, size_t len,
		      uint8_t *rsp, size_t cap, size_t *rsplen);

/* The oracle's view (docs/invariants.md): the retry counters of the
 * JPKI AP's PINs (auth 0018, sign 001B) then the text AP's (0011 and
 * 照合番号 A/B), read from NVM without touching the card's state.  Returns
 * how many were written to out. */
#define CARD_VIEW_PINS 8
size_t sim_card_view(const sim_card_t *c, sim_pin_view_t *out, size_t cap);

/* Renewal of one of the card's certificate pairs (J-LIS, at the
 * municipal counter): a new key pair and its new certificate replace the
 * auth or sign pair's in one NVM transaction (a state file, when the
 * link saves one, carries them; the profile is not touched).  The key
 * (PKCS#8 DER, RSA-2048) comes from the host, since a simulator makes no
 * keys of its own; cert (DER, 30 82 LL LL) must certify it.  The PINs,
 * their counters and the CA certificates stay; the security status is
 * cleared, as after a reset.  SIM_OK; SIM_ERR_ARG for a certificate of
 * another key, not DER, or a pair the card lacks (a minor's sign);
 * SIM_ERR_PROFILE for a key the card already holds (either pair);
 * SIM_ERR_MUTE when the card is off or lost power (rolled back). */
enum card_pair { CARD_PAIR_AUTH = 0, CARD_PAIR_SIGN = 1 };
int sim_card_renew(sim_card_t *c, enum card_pair which, const uint8_t *key, size_t kn,
		   const uint8_t *cert, size_t cn);
/* 1 if key (PKCS#8 DER) is the key of either of the card's pairs. */
int sim_card_holds_key(const sim_card_t *c, const uint8_t *key, size_t kn);

#endif
