/* nvm.h — a chip's persistent memory, journalled like a card's EEPROM.
 *
 * The store is a set of named records (key -> bytes).  Every change goes
 * through a transaction: nvm_begin(), nvm_put()/nvm_del(), nvm_commit().
 * A change outside a transaction is its own transaction.
 *
 * Each physical write step is counted: saving the old value to the undo
 * journal, writing the new value, marking the commit.  The fault plan can
 * tear at step k: that step is left half done and the chip loses power;
 * every later write fails with NVM_ERR_POWER until nvm_power_up(), which
 * rolls an uncommitted transaction back.  So a record is always either
 * its old or its new value, never a mix. */
#ifndef NVM_H
#define NVM_H

#include <stddef.h>
#include <stdint.h>

typedef struct nvm nvm_t;

#define NVM_OK 0
#define NVM_ERR_POWER -1  /* torn: power was lost, nothing written */
#define NVM_ERR_NOMEM -2
#define NVM_ERR_STATE -3  /* begin inside a transaction, commit outside one */
#define NVM_ERR_IMAGE -4  /* nvm_load: not an image, or damaged */
#define NVM_ERR_ARG -5

nvm_t *nvm_new(void);
void nvm_free(nvm_t *n);

int nvm_begin(nvm_t *n);
int nvm_commit(nvm_t *n);
/* Abandon the open transaction: restore every record it touched. */
int nvm_abort(nvm_t *n);

int nvm_put(nvm_t *n, const char *key, const void *val, size_t len);
int nvm_del(nvm_t *n, const char *key);
/* The current value (including uncommitted changes of the open
 * transaction) or NULL if absent.  Valid until the next write. */
const uint8_t *nvm_get(const nvm_t *n, const char *key, size_t *len);
/* How many records there are (including uncommitted changes). */
size_t nvm_count(const nvm_t *n);
/* Call fn for every record whose key starts with prefix, in key order. */
void nvm_each(const nvm_t *n, const char *prefix,
	      void (*fn)(void *arg, const char *key, const uint8_t *val, size_t len),
	      void *arg);
/* Delete every record whose key starts with prefix (a change like
 * nvm_del: inside the open transaction, else its own per record). */
int nvm_del_prefix(nvm_t *n, const char *prefix);

/* Fault plan: tear at the k-th write step counted from now (k >= 1);
 * k = 0 disarms. */
void nvm_tear_at(nvm_t *n, long k);
int nvm_powered(const nvm_t *n);     /* 0 after a tear, until power-up */
long nvm_write_count(const nvm_t *n); /* steps since nvm_new() or load */
/* Power-up recovery: roll back a transaction left open by a tear or by a
 * power-off, re-arm writes.  Returns 1 if something was rolled back. */
int nvm_power_up(nvm_t *n);

/* Where and why an image, or a record in it, was refused: for the error
 * message of whoever loaded it (a damaged state file must be reported,
 * never silently replaced). */
#define NVM_FAULT_KEY 48
typedef struct nvm_fault {
	const char *why;          /* static text; NULL: no fault */
	long off;                 /* byte offset in the image; -1: not known */
	char key[NVM_FAULT_KEY];  /* the record concerned (printable, maybe cut); "" if none */
} nvm_fault_t;

/* Image of the whole store (records and journal) for snapshots; the
 * caller frees *buf with free().  Same contents, same bytes. */
int nvm_save(const nvm_t *n, uint8_t **buf, size_t *len);
/* Replace n's contents with an image.  On any error n is unchanged. */
int nvm_load(nvm_t *n, const uint8_t *buf, size_t len);
/* nvm_load, and on NVM_ERR_IMAGE *f (may be NULL) says where and why. */
int nvm_load_fault(nvm_t *n, const uint8_t *buf, size_t len, nvm_fault_t *f);
const char *nvm_strerror(int err);

/* ---- validation of what an image brought in ----
 *
 * The store keeps any bytes; what they mean is the chip's business.  A
 * chip checks every record once, at power-up on a loaded image, against
 * rules: the first rule whose prefix begins the key judges the record
 * (check returns NULL if it is good, else why not); a record that no rule
 * claims is refused too. */
typedef struct nvm_rule {
	const char *prefix;
	const char *(*check)(void *arg, const char *key, const uint8_t *val, size_t len);
} nvm_rule_t;

/* NVM_OK, or NVM_ERR_IMAGE with *f (may be NULL) naming the first bad
 * record in key order. */
int nvm_check(const nvm_t *n, const nvm_rule_t *rules, size_t nrules, void *arg, nvm_fault_t *f);
/* Record a fault about key (NULL: none) in f (may be NULL); returns
 * NVM_ERR_IMAGE, for checks that span records. */
int nvm_fault(nvm_fault_t *f, const char *key, const char *why);
/* "record KEY: why", "offset N: why"... into out (always terminated). */
void nvm_fault_str(const nvm_fault_t *f, char *out, size_t cap);

#endif
