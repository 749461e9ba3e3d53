/* gpreg.h — the GlobalPlatform registry (GPCS ch. 6): load files,
 * their modules, applications and security domains, with life cycle
 * state, privileges and associations.
 *
 * NVM holds the truth, one record per entry under "gp/reg/SSSS" (SSSS =
 * the entry's sequence number in hex, so GET STATUS lists entries in the
 * order they were registered, as cards do); gpreg_t is a RAM copy for
 * lookups, rebuilt with gpreg_load() after every change and every
 * power-up (a torn transaction may have rolled NVM back). */
#ifndef GPREG_H
#define GPREG_H

#include <stddef.h>
#include <stdint.h>

#include "../core/nvm.h"
#include "se.h"

#define GPREG_MAX 32
#define GPREG_EXTRA_MAX 64
#define GPREG_PREFIX "gp/reg/"

/* Privileges, byte 1 (GPCS §11.1.2). */
#define GPREG_PRIV_SD 0x80
#define GPREG_PRIV_CARD_LOCK 0x10
#define GPREG_PRIV_CARD_TERMINATE 0x08
/* byte 2 */
#define GPREG_PRIV2_GLOBAL_LOCK 0x08
#define GPREG_PRIV2_FINAL_APP 0x02

typedef struct gpreg_ent {
	uint16_t seq;       /* record name and listing order; 0 = the ISD */
	uint8_t kind;       /* enum se_obj */
	se_aid_t aid;
	uint8_t lcs;        /* the ISD's is the card's life cycle state */
	uint8_t priv[3];
	se_aid_t elf;       /* APP/SD: load file it was installed from */
	se_aid_t module;    /* APP/SD: its module */
	se_aid_t sd;        /* associated security domain */
	uint8_t has_version, version[2];
	se_aid_t modules[SE_MAX_MODULES]; /* ELF */
	uint8_t n_modules;
	uint8_t lcs_len;    /* 1 or 2 bytes of 9F70 in GET STATUS */
	uint8_t applet;     /* APP: index + 1 of the ROM applet that runs it; 0 none */
	uint8_t extra_len;
	uint8_t extra[GPREG_EXTRA_MAX];
} gpreg_ent_t;

typedef struct gpreg {
	gpreg_ent_t e[GPREG_MAX];
	size_t n;
} gpreg_t;

/* Rebuild r from NVM.  0, or -1 if a record is damaged (it is skipped). */
int gpreg_load(gpreg_t *r, const nvm_t *nvm);
/* Exact AID match, any kind; NULL if absent. */
gpreg_ent_t *gpreg_find(gpreg_t *r, const uint8_t *aid, size_t len);
gpreg_ent_t *gpreg_by_seq(gpreg_t *r, uint16_t seq);
uint16_t gpreg_next_seq(const gpreg_t *r);
int gpreg_has_module(const gpreg_ent_t *elf, const uint8_t *aid, size_t len);

/* Write or remove e's record (inside the caller's transaction);
 * NVM_* codes. */
int gpreg_put(nvm_t *nvm, const gpreg_ent_t *e);
int gpreg_del(nvm_t *nvm, const gpreg_ent_t *e);

/* Record format, exposed for tests: returns the length or 0 if cap is too
 * small; decode returns 0 or -1. */
size_t gpreg_encode(const gpreg_ent_t *e, uint8_t *out, size_t cap);
int gpreg_decode(gpreg_ent_t *e, uint16_t seq, const uint8_t *p, size_t n);

int gpreg_aid_eq(const se_aid_t *a, const uint8_t *b, size_t n);

/* What is wrong with registry record key = v[0..n) of a loaded image
 * (NULL: nothing; then *e is the decoded entry): a canonical name, a
 * record that decodes, entry 0000 a security domain, a sequence number
 * that leaves room for the next. */
const char *gpreg_check(const char *key, const uint8_t *v, size_t n, gpreg_ent_t *e);

#endif
