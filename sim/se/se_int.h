/* se_int.h — what the SE's modules share: the SE itself, its logical
 * channels, and the interface of the applets in its ROM. */
#ifndef SE_INT_H
#define SE_INT_H

#include "se.h"

#include "../core/apdu.h"
#include "../core/mutate.h"
#include "../gp/scp03.h"
#include "felica.h"
#include "gpreg.h"

#define SE_CHANNELS 20        /* basic channel 0, 1-3, and 4-19 (further interindustry CLA) */
#define SE_LOAD_MAX 0x10000   /* a load file's bytes, buffered until the last LOAD */
#define SE_TORN (-1)          /* handler result: NVM lost power, the SE goes mute */
#define SE_NOROOM (-2)        /* handler result: the caller's buffer is too small */
#define SE_MAX_APPLETS 8      /* ROM applets: se_applets[] has at most this many */
#define SE_PERSONALISED "gp/personalised" /* NVM: the mark of a personalised SE ... */
#define SE_PERSO_VERSION 1                /* ... and its value */

enum se_sel { SE_SEL_NONE = 0, SE_SEL_ISD, SE_SEL_APP };

/* A decoded class byte (ISO 7816-4 §5.4.1, GPCS §11.1.4). */
typedef struct se_cla {
	uint8_t chan;   /* 0..19 */
	uint8_t sm;     /* secure messaging indicated */
	uint8_t gp;     /* proprietary class (b8 = 1) */
	uint8_t chain;  /* command chaining bit */
} se_cla_t;

/* 0, or 6E00 for a class byte that is neither. */
int se_cla_decode(uint8_t cla, se_cla_t *c);

struct cardos_app;
struct cardos_ef;

typedef struct se_chan {
	uint8_t open;
	uint8_t sel;              /* enum se_sel */
	uint16_t sel_seq;         /* registry entry selected */
	/* The selected applet's ISO state on this channel (cardos). */
	struct cardos_app *app;
	struct cardos_ef *ef;
	uint32_t verified;
	/* The ISD's state on this channel. */
	scp03_session_t scp;
	uint8_t perso;            /* INSTALL [for personalization] done ... */
	uint16_t perso_seq;       /* ... for this application */
	int store_next;           /* next STORE DATA block number */
	uint8_t gs_on, gs_p1, gs_p2; /* GET STATUS: a "next occurrence" may follow */
	size_t gs_next;           /* index of the next entry among the matches */
	se_aid_t gs_crit;         /* search criterion (AID prefix) */
	uint16_t gs_tags[8];      /* 5C tag list; 0 tags: all */
	size_t gs_ntags;
} se_chan_t;

typedef struct se_load {
	int active;
	uint8_t chan;
	se_aid_t elf, sd;
	uint8_t hash[64];
	size_t hash_len;
	int next_block;
	int dm;                   /* under delegated management: a receipt at the end */
	uint8_t *buf;
	size_t len;
} se_load_t;

typedef struct se_applet se_applet_t;

struct sim_se {
	sim_ctx_t *ctx;
	int powered;
	uint8_t atr[33];
	size_t atr_len;
	uint8_t scp_i;
	uint8_t kdd[10];
	uint8_t has_cplc, cplc[42];
	enum se_half_valid half_valid;
	se_blob_t *pool;          /* copies of the profile's key pool */
	size_t n_pool;
	gpreg_t reg;
	gpreg_ent_t *isd;         /* into reg; refreshed by se_reg_reload */
	se_chan_t ch[SE_CHANNELS];
	se_load_t load;
	felica_t felica;
	void **applet_priv;       /* one per ROM applet */
	uint8_t *buf;             /* APDU_MAX_DATA: unwrapped command data */
};

/* ---- ROM applets ---------------------------------------------------- */

/* The code of a package "in ROM": a LOAD of a load file with its AID
 * registers it with its modules, INSTALL instantiates a module.  Handler
 * results are a status word, SE_TORN or SE_NOROOM. */
struct se_applet {
	const char *name;
	se_aid_t package, module;
	uint8_t version[2];
	const char *ns; /* prefix of every NVM record of the instance, "sejpki/" */
	/* A loaded image's record key = v[0..n) under ns: NULL if it is one
	 * the applet writes, with a value in range; else what is wrong. */
	const char *(*check)(const char *key, const uint8_t *v, size_t n);
	int (*init)(sim_se_t *se, void **priv);
	void (*free)(void *priv);
	/* After power-up and after any registry change: bind to the
	 * instance the registry now holds (or none). */
	void (*sync)(sim_se_t *se, void *priv);
	/* INSTALL [for install]: write the instance's first records inside
	 * the card manager's transaction.  One instance per module: 6A84. */
	int (*install)(sim_se_t *se, void *priv, const gpreg_ent_t *e, const uint8_t *params, size_t n);
	/* DELETE: 0 or the status word refusing it (the half-valid rule). */
	int (*deletable)(sim_se_t *se, void *priv, const gpreg_ent_t *e);
	/* DELETE: erase every record of the instance inside the transaction. */
	int (*remove)(sim_se_t *se, void *priv, const gpreg_ent_t *e);
	/* SELECT on channel ch succeeded: fresh state there. */
	void (*select)(sim_se_t *se, void *priv, se_chan_t *ch);
	/* A command on channel ch (CLA normalised to channel 0). */
	int (*process)(sim_se_t *se, void *priv, se_chan_t *ch, const uint8_t *cmd, size_t len,
		       apdu_rsp_t *r);
	/* STORE DATA forwarded by the ISD after INSTALL [for personalization]:
	 * a is the plain command; confidential = it came with C-DECRYPTION. */
	int (*store)(sim_se_t *se, void *priv, gpreg_ent_t *e, const apdu_t *a, int confidential,
		     apdu_rsp_t *r);
};

extern const se_applet_t *const se_applets[];
extern const size_t se_n_applets;
extern const se_applet_t sejpki_applet;
/* Mutation pin_power (core/mutate.h): the JPKI applet's retry counters
 * back to their maximum, called at power-up; a no-op without hooks. */
#ifdef MYNAHIL_MUTANTS
void sejpki_mut_refill(sim_se_t *se);
#else
static inline void sejpki_mut_refill(sim_se_t *se) { (void)se; }
#endif

const se_applet_t *se_applet_for_package(const uint8_t *aid, size_t len);

/* ---- shared helpers ---------------------------------------------------- */

/* Finish r with sw: data goes out with 9000 and the 61/62/63 families
 * (6310 carries the first part of a GET STATUS answer); errors carry
 * none. */
void se_finish(apdu_rsp_t *r, int sw);
/* Reload the registry RAM copy from NVM, let the applets re-bind. */
void se_reg_reload(sim_se_t *se);
/* Close NVM transaction errors into handler results: NVM_ERR_POWER ->
 * SE_TORN, anything else -> abort and 6581. */
int se_nvm_fail(sim_se_t *se, int rc);
/* Deselect every channel that has entry seq selected. */
void se_deselect_seq(sim_se_t *se, uint16_t seq);

/* ---- the ISD: GlobalPlatform card manager ------------------------------
 *   gpcm.c       the dispatch, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE,
 *                PUT KEY, and the helpers below
 *   gpcontent.c  INSTALL, LOAD, DELETE
 *   gpinfo.c     GET STATUS, GET DATA, SET STATUS, STORE DATA */

/* One command on a channel that has the ISD selected. */
int gpcm_process(sim_se_t *se, se_chan_t *ch, const uint8_t *cmd, size_t len, apdu_rsp_t *r);
/* Card Recognition Data body (tag 73's value), for GET DATA 66 and the
 * ISD's FCI (gpinfo.c). */
size_t gpcm_recognition(const sim_se_t *se, uint8_t *out, size_t cap);

/* A command as the handlers see it, once gpcm_process has checked and
 * unwrapped it. */
typedef struct gpcm_req {
	sim_se_t *se;
	se_chan_t *ch;
	const apdu_t *a;  /* plain */
	int confidential; /* the command came with C-DECRYPTION */
	apdu_rsp_t *r;
	gpreg_ent_t *sd;  /* the security domain selected on the channel */
} gpcm_req_t;

/* Response data: 0, or SE_NOROOM. */
int gpcm_put(gpcm_req_t *q, const void *p, size_t n);
int gpcm_put_byte(gpcm_req_t *q, uint8_t b);
nvm_t *gpcm_nv(gpcm_req_t *q);
/* Begin an NVM transaction: 0, or a handler result (se_nvm_fail). */
int gpcm_nv_begin(gpcm_req_t *q);
/* Commit (if rc is fine) and refresh the RAM registry either way: 0, or
 * a handler result. */
int gpcm_nv_commit(gpcm_req_t *q, int rc);
void gpcm_aid_set(se_aid_t *a, const uint8_t *p, size_t n);
/* One AES key block of PUT KEY (88 ‖ Lk ‖ length ‖ key under the
 * session's static DEK ‖ 03 ‖ KCV): its size, or -status word. */
long gpcm_key_block(gpcm_req_t *q, const uint8_t *p, size_t n, uint8_t *key, size_t *key_len,
		    uint8_t kcv[3]);

/* The handlers in gpcontent.c and gpinfo.c: a status word, SE_TORN or
 * SE_NOROOM. */
int gpcm_install(gpcm_req_t *q);
int gpcm_load(gpcm_req_t *q);
int gpcm_delete(gpcm_req_t *q);
int gpcm_get_status(gpcm_req_t *q);
int gpcm_get_data(gpcm_req_t *q);
int gpcm_set_status(gpcm_req_t *q);
int gpcm_store_data(gpcm_req_t *q);

/* ---- security domains and delegated management (gpsd.c) ---------------- */
struct gpdm_bytes;
/* The SD selected on ch (the ISD, or an SSD), NULL if an application. */
gpreg_ent_t *gpsd_of(sim_se_t *se, const se_chan_t *ch);
/* The registry entry of an SD by AID; NULL if none or not an SD. */
gpreg_ent_t *gpsd_find(sim_se_t *se, const se_aid_t *aid);
/* 1 if the channel's SD may act on e: the ISD on anything, an SSD on
 * itself and what is associated with it. */
int gpsd_owns(const gpcm_req_t *q, const gpreg_ent_t *e);
/* May the channel's SD manage content: 0 (then *dm = 1 if under
 * delegated management, a token needed) or 6985. */
int gpsd_authority(const gpcm_req_t *q, int *dm);
/* Verify a token over q's P1 P2 and fields[0..n) with the ISD's token
 * key: 0 or 6A80. */
int gpsd_token_check(gpcm_req_t *q, const uint8_t *fields, size_t n, const uint8_t *token, size_t tn);
/* Inside the caller's transaction: next confirmation counter, receipt
 * over the AIDs, confirmation structure into the response; or a plain 00
 * when the ISD generates no receipts.  0 or a handler result. */
int gpsd_confirm(gpcm_req_t *q, const struct gpdm_bytes *aids, size_t n);
/* DAP verification for a load file associated with sd: 0, or 6A80 when
 * sd has DAP Verification and no E2 block of sd verifies over hash. */
int gpsd_dap_check(gpcm_req_t *q, const gpreg_ent_t *sd, const uint8_t *hash, size_t hash_n,
		   const uint8_t *lf, size_t n);
int gpsd_is_dm_kvn(uint8_t kvn);
/* PUT KEY of the token (70), receipt (71) or DAP (73) key. */
int gpsd_put_dm_key(gpcm_req_t *q, const uint8_t *keyblock, size_t n, uint8_t new_kvn);
/* DELETE [key] of one of those. */
int gpsd_delete_dm_key(gpcm_req_t *q, uint8_t kvn);
/* Inside a transaction: every key record of sd (DELETE of an SSD). */
int gpsd_erase(nvm_t *nvm, const gpreg_ent_t *sd);
/* A loaded image's gp/dm/ record: NULL if good (*sd = the SD a DAP key
 * belongs to, else 0), else what is wrong. */
const char *gpsd_check(const char *key, const uint8_t *v, size_t n, unsigned *sd);

/* Keys: the SCP03 key sets of each security domain (sd = its registry
 * sequence number, 0 the ISD), their personalisation and lookups. */
#define GPKEY_NAME 32
#define GPKEY_SD_PREFIX "gp/sd/"
void gpkey_name(char out[GPKEY_NAME], uint16_t sd, const char *kind, uint8_t kvn);
/* The prefix of every record of kind ("key", "ctr") of the SD. */
void gpkey_prefix(char out[GPKEY_NAME], uint16_t sd, const char *kind);
int gpkey_put(nvm_t *nvm, uint16_t sd, const se_keyset_t *k);
int gpkey_get(const nvm_t *nvm, uint16_t sd, uint8_t kvn, se_keyset_t *k);
int gpkey_default_kvn(const nvm_t *nvm, uint16_t sd, uint8_t *kvn);
/* How many key sets the SD holds. */
int gpkey_count(const nvm_t *nvm, uint16_t sd);
/* A loaded image's key or counter record: NULL if good (*sd = the SD it
 * belongs to), else what is wrong (a counter needs its key set). */
const char *gpkey_check(const nvm_t *nvm, const char *key, const uint8_t *v, size_t n, uint16_t *sd);

#endif
