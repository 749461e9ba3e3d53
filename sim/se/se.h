/* se.h — the simulated FeliCa-SE: the embedded secure element of a
 * Japanese Android phone (the se of docs/domain.md#actors).  A GlobalPlatform
 * card (ISD, registry, life cycles, SCP03, logical channels) hosting the
 * smartphone JPKI applet, plus the FeliCa (JIS X 6319-4) front end.  A pure
 * state machine like the card (sim/card/card.h): APDU or FeliCa frame in,
 * answer out; randomness, time and NVM come from the sim_ctx_t. */
#ifndef SE_H
#define SE_H

#include <stddef.h>
#include <stdint.h>
#include "../core/sim.h"

#define SE_AID_MAX 16
#define SE_KEY_MAX 32
#define SE_MAX_KEYSETS 8
#define SE_MAX_SEEDS 16
#define SE_MAX_MODULES 4
#define SE_FELICA_MAX_SYSTEMS 4
#define SE_FELICA_MAX_SERVICES 8

typedef struct se_blob {
	const uint8_t *p;
	size_t n;
} se_blob_t;

typedef struct se_aid {
	uint8_t len; /* 0: none */
	uint8_t b[SE_AID_MAX];
} se_aid_t;

/* An SCP03 key set of the ISD: ENC, MAC, DEK of key_len bytes. */
typedef struct se_keyset {
	uint8_t kvn;
	uint8_t key_len; /* 16, 24 or 32 */
	uint8_t enc[SE_KEY_MAX], mac[SE_KEY_MAX], dek[SE_KEY_MAX];
	/* The sequence counter as stored before the next INITIALIZE UPDATE,
	 * which increments it first: counter 0x14 answers 000015. */
	uint32_t counter;
	/* Keys of the set deleted one by one (DELETE [key] with D0): bit 0
	 * ENC, 1 MAC, 2 DEK; such a set opens no session.  0 in profiles. */
	uint8_t absent;
} se_keyset_t;

/* GlobalPlatform life cycle bytes (GPCS Tables 11-3..11-6). */
enum se_card_lcs {
	SE_CARD_OP_READY = 0x01,
	SE_CARD_INITIALIZED = 0x07,
	SE_CARD_SECURED = 0x0F,
	SE_CARD_LOCKED = 0x7F,
	SE_CARD_TERMINATED = 0xFF,
};

enum se_obj { SE_OBJ_ELF = 1, SE_OBJ_APP = 2, SE_OBJ_SD = 3 };

/* A registry entry the SE is built with (content "already on the card",
 * e.g. to replay a published GET STATUS).  An SD entry with the ISD's AID
 * describes the ISD itself (its lcs is ignored: the ISD's is the card's). */
typedef struct se_reg_seed {
	uint8_t kind;                     /* enum se_obj */
	se_aid_t aid;
	uint8_t lcs;
	uint8_t priv[3];
	se_aid_t elf;                     /* APP/SD: its load file (len 0: not shown) */
	se_aid_t module;                  /* APP/SD: its module */
	se_aid_t sd;                      /* associated SD (len 0: not shown) */
	uint8_t has_version, version[2];  /* load file version (CE) */
	se_aid_t modules[SE_MAX_MODULES]; /* ELF: its modules */
	size_t n_modules;
	uint8_t lcs_len;                  /* bytes of 9F70 in GET STATUS: 1 (GPCS), 2 (many cards) */
	se_blob_t extra;                  /* TLVs appended to its GET STATUS entry */
} se_reg_seed_t;

/* The policy switch half_valid (docs/domain.md#policy-switches), as far
 * as the SE enforces it. */
enum se_half_valid {
	SE_HALF_VALID_BLOCK = 0,     /* DELETE of a half-valid applet: 6985 */
	SE_HALF_VALID_ERASE_REVOKED, /* same refusal; the TSM erases the revoked slot */
	SE_HALF_VALID_ALLOW,         /* what-if: DELETE goes through */
};

typedef struct se_felica_service {
	uint16_t code;        /* service number << 6 | attribute, e.g. 0x0009, 0x000B */
	uint16_t key_version; /* Request Service answer */
	uint8_t blocks;       /* blocks of its service number's data (first entry of a number) */
	se_blob_t data;       /* initial contents, at most blocks x 16 bytes, rest zero */
} se_felica_service_t;

/* What the SE is built with.  Read only during sim_se_new(); the SE copies
 * what it keeps into NVM (first power-up) or RAM. */
typedef struct se_profile {
	se_aid_t isd_aid;        /* len 0: A000000151000000 */
	uint8_t card_lcs;        /* enum se_card_lcs; 0: SECURED */
	se_keyset_t keysets[SE_MAX_KEYSETS];
	size_t n_keysets;        /* >= 1 */
	uint8_t scp_i;           /* SCP03 "i"; 0: 0x70 */
	uint8_t kdd[10];         /* key diversification data */
	uint8_t has_cplc, cplc[42];
	se_blob_t iin, cin;      /* GET DATA 42 / 45 values; may be empty */
	se_blob_t atr;           /* empty: the default ATR */
	se_reg_seed_t seeds[SE_MAX_SEEDS];
	size_t n_seeds;
	enum se_half_valid half_valid;
	/* RSA-2048 private keys (PKCS#8 DER) the applet's key generation
	 * draws from, by the run's RNG, in seeded runs; empty: fresh keys. */
	const se_blob_t *key_pool;
	size_t n_key_pool;
	struct {
		uint8_t idm[8], pmm[8];
		uint16_t system_codes[SE_FELICA_MAX_SYSTEMS]; /* first = the one Polling reports */
		size_t n_system_codes;
		se_felica_service_t services[SE_FELICA_MAX_SERVICES];
		size_t n_services;
	} felica;
} se_profile_t;

/* The ROM package of the smartphone JPKI applet (docs/se.md#jpki-applet
 * [L]). */
#define SE_JPKI_PACKAGE "\xD3\x92\xF0\x00\x26\x01\x00"
#define SE_JPKI_MODULE "\xD3\x92\xF0\x00\x26\x01\x00\x01"

typedef struct sim_se sim_se_t;

/* Build an SE on ctx.  A ctx->nvm holding an SE (a loaded image) keeps
 * its contents; the profile then supplies only what is not in NVM (ATR,
 * KDD, CPLC, FeliCa identity, key pool, policy).  Otherwise the SE is
 * personalised from the profile in one transaction.  SIM_OK or
 * SIM_ERR_*. */
int sim_se_new(sim_se_t **out, const se_profile_t *p, sim_ctx_t *ctx);
/* Power nvm up (rolling back a transaction left open) and check every
 * record a loaded image brought: each must be one the SE writes, with
 * every value in range (a registry entry's applet index, key set
 * lengths, counters, FeliCa blocks, the applet's records...), and a
 * non-empty image must be a personalised SE with its ISD and a key set.
 * SIM_OK, or SIM_ERR_IMAGE with *f (may be NULL) naming the record and
 * why.  sim_se_new() refuses such an NVM with SIM_ERR_IMAGE. */
int sim_se_check_nvm(nvm_t *nvm, nvm_fault_t *f);
void sim_se_free(sim_se_t *se);
/* OFF: mute.  COLD/WARM: NVM recovery, every channel but 0 closed, the
 * ISD selected on channel 0, secure channels closed. */
int sim_se_power(sim_se_t *se, enum sim_power how);
size_t sim_se_atr(const sim_se_t *se, uint8_t *atr, size_t cap);
/* One APDU (contact/ISO 14443-4/OMAPI path).  SIM_OK, or SIM_ERR_MUTE
 * when off or torn (no response). */
int sim_se_transmit(sim_se_t *se, const uint8_t *cmd, size_t len,
		    uint8_t *rsp, size_t cap, size_t *rsplen);
/* One FeliCa frame, LEN byte included (docs/se.md#felica).  SIM_OK with
 * the response frame, or with *rsplen = 0 when the SE stays silent (a
 * Polling for another system code, another IDm, a malformed frame), as a
 * FeliCa target does.  SIM_ERR_MUTE when off or torn. */
int sim_se_felica(sim_se_t *se, const uint8_t *frame, size_t len,
		  uint8_t *rsp, size_t cap, size_t *rsplen);

/* 1 if buf[0..len) is a FeliCa frame for this SE rather than an APDU:
 * its LEN byte is right and it is either a Polling (LEN 06, code 00: INS
 * 00 is no ISO 7816 instruction) or an even command code followed by our
 * IDm.  For links that carry both kinds over one transmit, as the
 * software PN532 does. */
int sim_se_is_felica(const sim_se_t *se, const uint8_t *buf, size_t len);

/* The oracle's view of the JPKI applet (docs/invariants.md): read from
 * NVM without touching the SE's state (no channel, no PIN try).  slot 0
 * auth, 1 sign; state 0 EMPTY, 1 GENERATED, 2 ACTIVE, 3 REVOKED, 4
 * ERASED; cert points into NVM (valid until the next command), padded
 * as the EF holds it. */
typedef struct se_view {
	int applet; /* an instance is in the registry */
	se_aid_t sd; /* the security domain it is associated with (GET STATUS CC) */
	uint8_t idm[8];
	uint8_t has_cplc, cplc[42]; /* the TSM names the device from it */
	struct {
		uint8_t state;
		const uint8_t *cert;
		size_t cert_len;
		sim_pin_view_t pin;
	} slot[2];
} se_view_t;
void sim_se_view(const sim_se_t *se, se_view_t *v);

/* Defaults and checks, for profile loaders. */
void se_profile_defaults(se_profile_t *p);
/* SIM_OK or SIM_ERR_PROFILE; why (may be NULL) says what is wrong. */
int se_profile_check(const se_profile_t *p, const char **why);

#endif
