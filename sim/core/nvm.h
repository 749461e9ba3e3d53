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
/* Call fn for every record whose key starts with prefix, in key order. */
void nvm_each(const nvm_t *n, const char *prefix,
	      void (*fn)(void *arg, const char *key, const uint8_t *val, size_t len),
	      void *arg);

/* Fault plan: tear at the k-th write step counted from now (k >= 1);
 * k = 0 disarms. */
void nvm_tear_at(nvm_t *n, long k);
int nvm_powered(const nvm_t *n);     /* 0 after a tear, until power-up */
long nvm_write_count(const nvm_t *n); /* steps since nvm_new() or load */
/* Power-up recovery: roll back a transaction left open by a tear or by a
 * power-off, re-arm writes.  Returns 1 if something was rolled back. */
int nvm_power_up(nvm_t *n);

/* Image of the whole store (records and journal) for snapshots; the
 * caller frees *buf with free().  Same contents, same bytes. */
int nvm_save(const nvm_t *n, uint8_t **buf, size_t *len);
int nvm_load(nvm_t *n, const uint8_t *buf, size_t len);
const char *nvm_strerror(int err);

#endif
