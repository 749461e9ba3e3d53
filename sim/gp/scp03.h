/* scp03.h — GlobalPlatform Secure Channel Protocol '03' (GPC Card Spec
 * v2.2/v2.3 Amendment D), card side and host side.
 *
 * One session object serves either side.  The card manager (sim/se) drives
 * the card side: INITIALIZE UPDATE and EXTERNAL AUTHENTICATE go to
 * scp03_card_init_update / scp03_card_ext_auth, every other command of an
 * open session through scp03_card_unwrap before dispatch, and its response
 * through scp03_card_wrap_rsp.  A host (the TSM, the tests) uses
 * scp03_host_init_update, scp03_host_open, scp03_host_auth_result, then
 * scp03_host_wrap / scp03_host_unwrap_rsp per command.
 *
 * Sessions hold OpenSSL contexts made once per session and reused per
 * command: zero-initialise a session (or scp03_session_init), and call
 * scp03_session_close when done — it frees the contexts and wipes the keys.
 * A session is not copyable and not shared between threads.
 *
 * Errors: functions return 0 or a negative SCP03_ERR_*.  On the card side,
 * scp03_err_sw() gives the status word to answer for each error.
 * Nothing here draws randomness, reads a clock or touches storage: the
 * host challenge, a random card challenge and the sequence counter come in
 * from the caller. */
#ifndef SCP03_H
#define SCP03_H

#include <stddef.h>
#include <stdint.h>

#include "../core/apdu.h"

#define SCP03_KEY_MAX 32       /* AES-256 */
#define SCP03_CHALLENGE_MAX 16 /* S16 mode; 8 in S8 mode */
#define SCP03_KDD_LEN 10       /* key diversification data (Amd D Table 7-2) */
#define SCP03_SEQ_MAX 0xFFFFFFu /* 3-byte sequence counter (Amd D §6.2.2.1) */

/* Security levels: P1 of EXTERNAL AUTHENTICATE (Amd D Table 7-3).  Valid
 * values are 00 01 03 11 13 33; the bits are: */
#define SCP03_LVL_CMAC 0x01
#define SCP03_LVL_CDEC 0x02
#define SCP03_LVL_RMAC 0x10
#define SCP03_LVL_RENC 0x20
/* GP Current Security Level bit, set in scp03_level() once authenticated
 * (GPCS §10.6, AUTHENTICATED = 80). */
#define SCP03_LVL_AUTHENTICATED 0x80

/* "i" parameter (Amd D v1.1.1 Table 5-1).  S16 is NOT taken from i (public
 * readings of v1.2 disagree on its bit): the mode follows the length of the
 * host challenge, 8 or 16 bytes. */
#define SCP03_I_PSEUDO_RANDOM 0x10 /* b5: pseudo-random card challenge + seq counter */
#define SCP03_I_RMAC 0x20          /* b7b6 = 01: R-MAC supported */
#define SCP03_I_RMAC_RENC 0x60     /* b7b6 = 11: R-MAC and R-ENC supported */
#define SCP03_I_DEFAULT 0x70

/* KDF derivation constants (Amd D Table 4-1). */
#define SCP03_DC_CARD_CRYPTOGRAM 0x00
#define SCP03_DC_HOST_CRYPTOGRAM 0x01
#define SCP03_DC_CARD_CHALLENGE 0x02
#define SCP03_DC_S_ENC 0x04
#define SCP03_DC_S_MAC 0x06
#define SCP03_DC_S_RMAC 0x07

/* Errors (negative).  The card answers scp03_err_sw(err). */
#define SCP03_OK 0
#define SCP03_ERR_ARG -1         /* impossible argument (NULL, bad key length)    6F00 */
#define SCP03_ERR_CRYPTO -2      /* OpenSSL failed                                6F00 */
#define SCP03_ERR_NOMEM -3       /*                                               6F00 */
#define SCP03_ERR_BUFFER -4      /* output buffer too small                       6F00 */
#define SCP03_ERR_LENGTH -5      /* wrong length (Lc, challenge, MAC, ciphertext)  6700 */
#define SCP03_ERR_DATA -6        /* malformed data (bad padding, bad response)    6A80 */
#define SCP03_ERR_P1P2 -7        /* bad P1/P2, incl. an unsupported level          6A86 */
#define SCP03_ERR_KVN -8         /* KVN not the key set's / not the one requested 6A88 */
#define SCP03_ERR_COUNTER -9     /* sequence counter exhausted                    6985 */
#define SCP03_ERR_STATE -10      /* command out of sequence (EXT AUTH without IU)  6985 */
#define SCP03_ERR_CRYPTOGRAM -11 /* host (card side) or card (host side) cryptogram 6300 */
#define SCP03_ERR_MAC -12        /* C-MAC or R-MAC verification failed            6982 */
#define SCP03_ERR_SECURITY -13   /* command below the current level, or session aborted 6982 */
#define SCP03_ERR_SW -14         /* host side: the card answered an error SW       -- */
#define SCP03_ERR_SCP -15        /* host side: key information is not SCP03        -- */

const char *scp03_strerror(int err);
/* The status word a card answers for err (table above); 9000 for 0. */
uint16_t scp03_err_sw(int err);

/* A static key set (Amd D §4.1.1): ENC, MAC, DEK of one KVN, all of
 * key_len bytes (16, 24 or 32). */
typedef struct scp03_keyset {
	uint8_t kvn;
	uint8_t key_len;
	uint8_t enc[SCP03_KEY_MAX];
	uint8_t mac[SCP03_KEY_MAX];
	uint8_t dek[SCP03_KEY_MAX];
} scp03_keyset_t;

enum scp03_side { SCP03_SIDE_CARD = 1, SCP03_SIDE_HOST = 2 };

enum scp03_state {
	SCP03_ST_IDLE = 0,     /* no session */
	SCP03_ST_INITIATED,    /* INITIALIZE UPDATE done, EXT AUTH expected */
	SCP03_ST_AUTH_SENT,    /* host: EXT AUTH built, card's answer not yet seen */
	SCP03_ST_OPEN,         /* authenticated at `level` */
	SCP03_ST_ABORTED,      /* card: a MAC failure or an under-protected command
				* aborted the session (Amd D §5.6); SM commands are
				* refused until a new INITIALIZE UPDATE */
};

struct scp03_cx; /* private: OpenSSL contexts keyed with the session keys */

/* Public so that callers can embed it and tests can inspect it; change it
 * only through the functions below (scp03_session_set_keys for tests). */
typedef struct scp03_session {
	uint8_t side;   /* enum scp03_side, set by the first call */
	uint8_t state;  /* enum scp03_state */
	uint8_t level;  /* EXT AUTH P1, valid once OPEN */
	uint8_t s16;    /* 1: S16 mode (16-byte challenges, cryptograms, MACs) */
	uint8_t kvn;    /* KVN of the key set in use (from key information) */
	uint8_t req_kvn;/* host: KVN asked for in INITIALIZE UPDATE P1 (00 = any) */
	uint8_t i;      /* "i" parameter */
	uint8_t key_len;
	uint32_t seq;   /* sequence counter (pseudo-random mode; else 0) */
	uint8_t kdd[SCP03_KDD_LEN];
	uint8_t host_challenge[SCP03_CHALLENGE_MAX];
	uint8_t card_challenge[SCP03_CHALLENGE_MAX];
	uint8_t s_enc[SCP03_KEY_MAX];
	uint8_t s_mac[SCP03_KEY_MAX];
	uint8_t s_rmac[SCP03_KEY_MAX];
	uint8_t dek[SCP03_KEY_MAX];   /* static Key-DEK (no session DEK, §6.2.1) */
	uint8_t mac_chain[16];        /* full C-MAC of the last command (§6.2.4) */
	uint32_t enc_counter;         /* counter of the last command; the next uses +1 (§6.2.6) */
	uint8_t rsp_pending;          /* card: a command was unwrapped, its response not yet wrapped */
	struct scp03_cx *cx;
} scp03_session_t;

void scp03_session_init(scp03_session_t *s); /* = zero it; never on a live session (leaks) */
/* Free contexts, wipe keys, back to IDLE.  Safe on a zeroed or closed
 * session; the card manager calls it on SELECT, channel close, power off. */
void scp03_session_close(scp03_session_t *s);
/* Current Security Level (GPCS §10.6): AUTHENTICATED | level bits when
 * OPEN, else 0.  The card manager compares it with each command's minimum
 * (Table 11-2). */
uint8_t scp03_level(const scp03_session_t *s);
/* Load session keys directly (tests with published session keys, resumed
 * sessions); key_len 16/24/32; s_rmac may be NULL (then = s_mac).  Leaves
 * state, level, chaining value and counter for the caller to set. */
int scp03_session_set_keys(scp03_session_t *s, enum scp03_side side, size_t key_len,
			   const uint8_t *s_enc, const uint8_t *s_mac, const uint8_t *s_rmac);

/* ---- primitives (Amd D §4.1) ---- */

/* KDF in counter mode, PRF AES-CMAC (Amd D §4.1.5, NIST SP 800-108): for
 * i = 1.. : CMAC(key, 00×11 ‖ constant ‖ 00 ‖ L(2, bits, BE) ‖ i ‖ context),
 * concatenated and cut to out_bits (a multiple of 8, at most 255 blocks). */
int scp03_kdf(const uint8_t *key, size_t key_len, uint8_t constant,
	      const uint8_t *context, size_t context_len, size_t out_bits, uint8_t *out);
/* Full 16-byte AES-CMAC (NIST SP 800-38B). */
int scp03_cmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
	       uint8_t out[16]);
/* Pseudo-random card challenge (Amd D §6.2.2.1): KDF(Key-ENC, 02,
 * seq(3) ‖ AID of the SD, L = 8·chal_len); chal_len 8 or 16. */
int scp03_card_challenge(const scp03_keyset_t *keys, uint32_t seq, const uint8_t *aid,
			 size_t aid_len, uint8_t *out, size_t chal_len);
/* Next sequence counter value before an INITIALIZE UPDATE (the counter is
 * incremented first, then used): SCP03_ERR_COUNTER (6985) at the maximum. */
int scp03_seq_next(uint32_t cur, uint32_t *next);

/* Sensitive data under the static Key-DEK (Amd D §6.2.8): AES-CBC, ICV
 * zero, no padding (n a multiple of 16).  For PUT KEY and STORE DATA. */
int scp03_dek_encrypt(const uint8_t *dek, size_t dek_len, const uint8_t *in, size_t n,
		      uint8_t *out);
int scp03_dek_decrypt(const uint8_t *dek, size_t dek_len, const uint8_t *in, size_t n,
		      uint8_t *out);
/* AES key check value (Amd D §7.2.2): first 3 bytes of E(key, 16×01). */
int scp03_kcv(const uint8_t *key, size_t key_len, uint8_t kcv[3]);

/* ---- card side ---- */

typedef struct scp03_card_cfg {
	const scp03_keyset_t *keys; /* the key set the card manager chose for P1 */
	const uint8_t *kdd;         /* SCP03_KDD_LEN bytes */
	uint8_t i;                  /* "i" parameter, e.g. 70 */
	uint8_t allow_s16;          /* accept a 16-byte host challenge */
	const uint8_t *sd_aid;      /* AID of the selected SD: pseudo-random context */
	size_t sd_aid_len;          /* 5..16 */
	uint32_t seq;               /* counter value for this IU (already from scp03_seq_next
				     * and persisted); used when i has PSEUDO_RANDOM */
	const uint8_t *random;      /* card challenge bytes (8 or 16): required when i
				     * has not PSEUDO_RANDOM (from the harness RNG);
				     * must be NULL in pseudo-random mode except to
				     * replay a recorded session whose challenge came
				     * from elsewhere (it then overrides the KDF) */
} scp03_card_cfg_t;

/* INITIALIZE UPDATE (Amd D §7.1.1): cmd is the parsed command (INS 50).
 * Checks P1 (00 or keys->kvn, else SCP03_ERR_KVN → 6A88), P2 00, Lc 8 (or
 * 16 when allowed).  Starts a new session (closing any previous one),
 * derives session keys, writes the response data (KDD, KVN 03 i, card
 * challenge, card cryptogram [, seq]) to out — no SW; the caller appends
 * 9000.  On error the session is left IDLE. */
int scp03_card_init_update(scp03_session_t *s, const scp03_card_cfg_t *cfg, const apdu_t *cmd,
			   uint8_t *out, size_t cap, size_t *out_len);

/* EXTERNAL AUTHENTICATE (Amd D §7.1.2): verifies the C-MAC (chaining value
 * zero) and the host cryptogram, then opens the session at level P1.
 * Errors: SCP03_ERR_STATE (no IU before), SCP03_ERR_CRYPTOGRAM (6300),
 * SCP03_ERR_MAC (6982), SCP03_ERR_P1P2 (level not 00/01/03/11/13/33, or
 * R-MAC/R-ENC not allowed by i), SCP03_ERR_LENGTH.  Any error leaves the
 * session IDLE: the host must start again with INITIALIZE UPDATE.  The
 * response is a bare 9000 (no R-MAC on this command, §6.2.5). */
int scp03_card_ext_auth(scp03_session_t *s, const apdu_t *cmd);

/* Any other command while a session exists (state OPEN or ABORTED).
 * in: the parsed command as received.  On success *out is the plain
 * command: CLA without the SM bit (logical channel kept), data decrypted
 * into buf (cap >= in->lc), Lc without the MAC, Le as received.  Every
 * call counts one command (encryption counter, §6.2.6).
 *   - SM bit set: C-MAC verified (chaining value updated), data decrypted
 *     if the level has C-DECRYPTION.
 *   - SM bit clear while the level has C-MAC: SCP03_ERR_SECURITY.
 *   - SM bit clear at level 00, or in ABORTED state: passed through
 *     unchanged (the caller's level check refuses what needs security).
 * SCP03_ERR_MAC and SCP03_ERR_SECURITY abort the session (state ABORTED,
 * level 0; Amd D §5.6): answer 6982 and treat the channel's security as
 * reset — further SM commands get SCP03_ERR_SECURITY until a new IU.
 * SCP03_ERR_LENGTH (6700) and SCP03_ERR_DATA (6A80: ciphertext padding)
 * concern an authentic but malformed command and do not abort. */
int scp03_card_unwrap(scp03_session_t *s, const apdu_t *in, apdu_t *out, uint8_t *buf,
		      size_t cap);

/* The response to the command last unwrapped: rsp = data ‖ SW1 SW2.  At
 * R-ENC, data is padded and encrypted (ICV from the counter with its top
 * byte 80, §6.2.7); at R-MAC, an 8/16-byte R-MAC over data ‖ SW is
 * appended (§6.2.5).  Error SWs (other than 9000, 62xx, 63xx) go out bare.
 * Below R-MAC, when the session is not OPEN, or when no command went
 * through scp03_card_unwrap since the last response (the answer to
 * EXTERNAL AUTHENTICATE has no R-MAC, §6.2.5), rsp is copied unchanged;
 * so it is safe to pass every response of the channel through it.
 * out may equal rsp (in place); cap must leave room for padding and MAC
 * (rsp_len + 32 is always enough). */
int scp03_card_wrap_rsp(scp03_session_t *s, const uint8_t *rsp, size_t rsp_len, uint8_t *out,
			size_t cap, size_t *out_len);

/* ---- host side ---- */

/* Build INITIALIZE UPDATE: 80 50 kvn 00 Lc host_challenge 00.  hc_len 8
 * (S8) or 16 (S16).  Starts a host session (closing any previous one). */
int scp03_host_init_update(scp03_session_t *s, uint8_t kvn, const uint8_t *host_challenge,
			   size_t hc_len, uint8_t *cmd, size_t cap, size_t *cmd_len);

/* From the card's response (data ‖ SW) to INITIALIZE UPDATE: check the SW
 * (SCP03_ERR_SW), length, SCP id 03 (SCP03_ERR_SCP), the KVN (must equal
 * keys->kvn, and the requested KVN unless 00: SCP03_ERR_KVN), derive the
 * session keys, verify the card cryptogram (SCP03_ERR_CRYPTOGRAM), and
 * build EXTERNAL AUTHENTICATE (84 82 level 00 Lc host cryptogram ‖ C-MAC)
 * into cmd.  level: 00 01 03 11 13 33 (SCP03_ERR_P1P2 otherwise, or when
 * the card's i lacks R-MAC/R-ENC for it). */
int scp03_host_open(scp03_session_t *s, const scp03_keyset_t *keys, const uint8_t *rsp,
		    size_t rsp_len, uint8_t level, uint8_t *cmd, size_t cap, size_t *cmd_len);

/* The card's answer to EXTERNAL AUTHENTICATE: 9000 opens the session
 * (state OPEN); anything else closes it and returns SCP03_ERR_SW. */
int scp03_host_auth_result(scp03_session_t *s, const uint8_t *rsp, size_t rsp_len);

/* For a logical channel, OR the channel number into the CLA of the built
 * INITIALIZE UPDATE / EXTERNAL AUTHENTICATE: the MAC never covers it. */

/* Wrap a plain command (raw APDU, CLA 80..83 / C0..CF / 00..03 / 40..4F):
 * counter + 1, data encrypted at C-DECRYPTION (pad 80 00.., ICV =
 * E(S-ENC, counter), §6.2.6), C-MAC over CLA' INS P1 P2 Lc' data'
 * (§6.2.4), SM bit set in CLA.  Le kept as given.  Level 00: copied
 * unchanged.  cap: cmd_len + 36 is always enough; out must not
 * overlap cmd. */
int scp03_host_wrap(scp03_session_t *s, const uint8_t *cmd, size_t cmd_len, uint8_t *out,
		    size_t cap, size_t *out_len);

/* Unwrap the response to the command last wrapped: verify the R-MAC
 * (SCP03_ERR_MAC), decrypt R-ENC data (SCP03_ERR_DATA on bad padding).
 * Error SWs without R-MAC pass through.  out = plain data ‖ SW; out may
 * equal rsp. */
int scp03_host_unwrap_rsp(scp03_session_t *s, const uint8_t *rsp, size_t rsp_len, uint8_t *out,
			  size_t cap, size_t *out_len);

/* A batch host (the TSM: a script of wrapped commands goes out whole,
 * the answers come back together) checks each answer against its own
 * command: an R-MAC covers the C-MAC of its command (the chaining value)
 * and R-ENC's ICV comes from its command's counter, which have moved on
 * by the time the answers come.  Record a reference right after each
 * scp03_host_wrap, then unwrap each answer with its reference, in order.
 * Errors as scp03_host_unwrap_rsp; the session's own chaining value and
 * counter are left as they were. */
typedef struct scp03_rsp_ref {
	uint8_t mac_chain[16];
	uint32_t counter;
} scp03_rsp_ref_t;

void scp03_host_rsp_ref(const scp03_session_t *s, scp03_rsp_ref_t *ref);
int scp03_host_unwrap_rsp_ref(scp03_session_t *s, const scp03_rsp_ref_t *ref, const uint8_t *rsp,
			      size_t rsp_len, uint8_t *out, size_t cap, size_t *out_len);

#endif
