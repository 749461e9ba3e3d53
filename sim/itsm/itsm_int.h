/* itsm_int.h — what the issuer TSM's files share (private to sim/itsm):
 *   itsm.c      the API: open / close, routing, records, JSON helpers
 *   itsm_ssd.c  creating an SP's SSD through the ISD (the issuer's scripts)
 *   itsm_dm.c   delegated management: tokens signed, receipts checked */
#ifndef ITSM_INT_H
#define ITSM_INT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

#include "itsm.h"

#define ITSM_ISD_AID "A000000151000000"
#define ITSM_FLIGHTS 64 /* SSD creations in flight (an LRU slot each) */
#define ITSM_OPS 8      /* commands of one issuer script */

/* An SSD creation in flight: the issuer's SCP03 host session on the
 * ISD, and the SSD's key set (the SP's, put once, never stored). */
struct flight {
	int live;
	char id[24];
	char device[24];
	size_t sp;
	int stage;             /* 1: SELECT + INITIALIZE UPDATE sent; 2: the rest */
	scp03_session_t s;
	scp03_keyset_t ssd;
	scp03_rsp_ref_t refs[ITSM_OPS];
	size_t nrefs;
	int put_dm;            /* this script puts the token and receipt keys */
	int again;             /* a recorded SSD the SE no longer selects */
	uint64_t used;
};

struct itsm {
	sim_ctx_t *ctx;
	sqlite3 *db;
	scp03_keyset_t keys;
	uint8_t diversify, level;
	uint8_t *tok;          /* the token private key, DER */
	size_t tokn;
	struct evp_pkey_st *tok_key; /* decoded once (OpenSSL's decoders cost more than the signature) */
	uint8_t put70[600];    /* PUT KEY 70 of its public key (the same for every SE) */
	size_t put70n;
	itsm_sp_t *sps;        /* copies */
	size_t nsps;
	struct flight fl[ITSM_FLIGHTS];
	uint64_t tick;
	itsm_stats_t st;
};

/* ---- itsm.c */
/* hex into out (cap bytes): the length, or -1 when not hex or too long. */
long itsm_unhex(json_t *v, uint8_t *out, size_t cap);
/* The SP named by the body's "sp" (index), or -1 with *out an error (403). */
long itsm_sp_of(itsm_t *it, json_t *body, json_t **out);
/* The body's "device": 20 hex digits, its KDD; -1 with *out an error. */
int itsm_device_of(json_t *body, char dev[24], uint8_t kdd[SCP03_KDD_LEN], json_t **out);
/* Records by id ("se/DEVICE", "ssd/DEVICE/SP"): a new object or NULL. */
json_t *itsm_rec_get(itsm_t *it, const char *id);
int itsm_rec_put(itsm_t *it, const char *id, json_t *doc);
/* The ISD key set of an SE (kdd). */
int itsm_isd_keys(const itsm_t *it, const uint8_t kdd[SCP03_KDD_LEN], scp03_keyset_t *out);
/* The receipt key of an SE (16 bytes, kdd). */
int itsm_receipt_key(const itsm_t *it, const uint8_t kdd[SCP03_KDD_LEN], uint8_t key[16]);

/* ---- itsm_ssd.c */
int itsm_h_ssd(itsm_t *it, json_t *body, json_t **out);
int itsm_h_ssd_step(itsm_t *it, const char *id, json_t *body, json_t **out);
void itsm_flights_free(itsm_t *it);

/* ---- itsm_dm.c */
int itsm_h_token(itsm_t *it, json_t *body, json_t **out);
int itsm_h_receipt(itsm_t *it, json_t *body, json_t **out);

#endif
