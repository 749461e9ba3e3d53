/* nvm.c — the journalled record store behind every simulated chip.
 *
 * Records live in an open-addressing hash table (linear probing, FNV-1a,
 * at most half full, backward-shift deletion so there are no tombstones):
 * nvm_get is one hash and a short probe, with no allocation.
 *
 * Transactions keep an undo journal: before the first change of a key in
 * a transaction, its old value (or its absence) is saved.  The physical
 * write steps, each counted and each a possible tear point, are
 *   1. append the key's old value to the journal (once per key and txn),
 *   2. write the record,
 *   3. write the commit mark (which empties the journal).
 * A torn step 1 leaves an invalid journal entry, i.e. none; a torn step 2
 * leaves garbage in the record; a torn step 3 leaves the mark unwritten.
 * In every case the journal still holds the old value of every key that
 * was changed, so power-up restores the state from before the
 * transaction.  Rolling back never allocates, so it cannot fail. */
#include "nvm.h"
#include "mutate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV64_OFFSET 0xCBF29CE484222325u
#define FNV64_PRIME 0x100000001B3u
#define MIN_SLOTS 16
#define MAX_KEY 0xFFFF       /* the image stores key lengths in 16 bits */
#define MAX_VAL 0xFFFFFFFFu  /* and value lengths in 32 */
#define ERASED 0xFF          /* what erased EEPROM cells read as */

static const uint8_t image_magic[6] = { 'M', 'Y', 'N', 'V', 'M', '1' };
#define IMAGE_VERSION 1

struct rec {
	uint64_t hash;
	char *key;    /* NULL: the slot is empty */
	uint8_t *val; /* never NULL for a record, so an empty value is not absent */
	size_t len, cap;
};

struct jent {
	uint64_t hash;
	char *key;
	uint8_t *old; /* the value before the transaction; NULL if absent */
	size_t len;
};

/* Index of the journal by key, so "already journalled?" is O(1) even in
 * a personalisation transaction that touches thousands of records.  A
 * slot is used only if its gen is the current one: clearing is gen++. */
struct jslot {
	uint32_t gen;
	uint32_t idx;
};

struct nvm {
	struct rec *slots;
	size_t nslots; /* a power of two */
	size_t count;

	struct jent *jrnl;
	size_t jlen, jcap;
	struct jslot *jset;
	size_t njset;  /* 0 or a power of two */
	uint32_t jgen;

	int in_txn;
	int powered;
	long writes;
	long tear_left; /* > 0: the step that brings it to 0 is torn */
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = FNV64_OFFSET;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= FNV64_PRIME;
	}
	return h;
}

static uint64_t fnv1a_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = FNV64_OFFSET;

	while (n--) {
		h ^= *p++;
		h *= FNV64_PRIME;
	}
	return h;
}

static char *dup_key(const char *key, size_t klen)
{
	char *k = malloc(klen + 1);

	if (k) {
		memcpy(k, key, klen);
		k[klen] = '\0';
	}
	return k;
}

/* A value buffer of at least one byte, so that malloc(0) never gives a
 * NULL that would read as "absent". */
static uint8_t *dup_val(const void *p, size_t n)
{
	uint8_t *v = malloc(n ? n : 1);

	if (v && n)
		memcpy(v, p, n);
	return v;
}

/* ---- the record table ---- */

#define NO_SLOT ((size_t)-1)

static size_t slot_find(const nvm_t *n, const char *key, uint64_t h)
{
	size_t mask = n->nslots - 1, i;

	for (i = h & mask; n->slots[i].key; i = (i + 1) & mask)
		if (n->slots[i].hash == h && strcmp(n->slots[i].key, key) == 0)
			return i;
	return NO_SLOT;
}

/* Takes ownership of key and val.  The caller guarantees a free slot. */
static void slot_insert(nvm_t *n, uint64_t h, char *key, uint8_t *val,
			size_t len, size_t cap)
{
	size_t mask = n->nslots - 1, i;

	for (i = h & mask; n->slots[i].key; i = (i + 1) & mask)
		;
	n->slots[i] = (struct rec){ h, key, val, len, cap };
	n->count++;
}

/* Whether home, the ideal slot of an entry now at j, lies cyclically in
 * (gap, j]: then the entry cannot move back into the gap. */
static int stays(size_t home, size_t gap, size_t j)
{
	if (gap < j)
		return home > gap && home <= j;
	return home > gap || home <= j;
}

static void slot_remove(nvm_t *n, size_t gap)
{
	size_t mask = n->nslots - 1, j = gap;

	free(n->slots[gap].key);
	free(n->slots[gap].val);
	/* Backward shift: pull later members of the probe run into the gap
	 * so lookups never stop early at a hole. */
	for (;;) {
		j = (j + 1) & mask;
		if (!n->slots[j].key)
			break;
		if (stays(n->slots[j].hash & mask, gap, j))
			continue;
		n->slots[gap] = n->slots[j];
		gap = j;
	}
	memset(&n->slots[gap], 0, sizeof(n->slots[gap]));
	n->count--;
}

static int table_alloc(nvm_t *n, size_t entries)
{
	size_t ns = MIN_SLOTS;

	while (ns < 2 * entries)
		ns *= 2;
	n->slots = calloc(ns, sizeof(*n->slots));
	if (!n->slots)
		return NVM_ERR_NOMEM;
	n->nslots = ns;
	n->count = 0;
	return NVM_OK;
}

/* Make room for extra more records, keeping the table at most half full. */
static int table_reserve(nvm_t *n, size_t extra)
{
	struct rec *old = n->slots;
	size_t oldn = n->nslots, i;

	if (2 * (n->count + extra) <= n->nslots)
		return NVM_OK;
	if (table_alloc(n, n->count + extra) != NVM_OK) {
		n->slots = old;
		n->nslots = oldn;
		return NVM_ERR_NOMEM;
	}
	for (i = 0; i < oldn; i++)
		if (old[i].key)
			slot_insert(n, old[i].hash, old[i].key, old[i].val,
				    old[i].len, old[i].cap);
	free(old);
	return NVM_OK;
}

/* ---- the undo journal ---- */

static size_t jset_find(const nvm_t *n, const char *key, uint64_t h)
{
	size_t mask = n->njset - 1, i;

	if (n->njset == 0)
		return NO_SLOT;
	for (i = h & mask; n->jset[i].gen == n->jgen; i = (i + 1) & mask) {
		const struct jent *e = &n->jrnl[n->jset[i].idx];

		if (e->hash == h && strcmp(e->key, key) == 0)
			return n->jset[i].idx;
	}
	return NO_SLOT;
}

static void jset_add(nvm_t *n, size_t idx)
{
	size_t mask = n->njset - 1, i;

	for (i = n->jrnl[idx].hash & mask; n->jset[i].gen == n->jgen; i = (i + 1) & mask)
		;
	n->jset[i].gen = n->jgen;
	n->jset[i].idx = (uint32_t)idx;
}

/* Room for one more journal entry, done before the step that writes it. */
static int journal_reserve(nvm_t *n)
{
	size_t want = n->jlen + 1, i;

	if (want > UINT32_MAX)
		return NVM_ERR_NOMEM;
	if (want > n->jcap) {
		size_t cap = n->jcap ? 2 * n->jcap : 8;
		struct jent *j = realloc(n->jrnl, cap * sizeof(*j));

		if (!j)
			return NVM_ERR_NOMEM;
		n->jrnl = j;
		n->jcap = cap;
	}
	if (2 * want > n->njset) {
		size_t ns = n->njset ? 2 * n->njset : 16;
		struct jslot *s = calloc(ns, sizeof(*s));

		if (!s)
			return NVM_ERR_NOMEM;
		free(n->jset);
		n->jset = s;
		n->njset = ns;
		n->jgen = 1;
		for (i = 0; i < n->jlen; i++)
			jset_add(n, i);
	}
	return NVM_OK;
}

/* Append a prepared entry; journal_reserve() made the room. */
static void journal_append(nvm_t *n, const struct jent *e)
{
	n->jrnl[n->jlen] = *e;
	jset_add(n, n->jlen++);
}

static void journal_clear(nvm_t *n)
{
	size_t i;

	for (i = 0; i < n->jlen; i++) {
		free(n->jrnl[i].key);
		free(n->jrnl[i].old);
	}
	n->jlen = 0;
	if (++n->jgen == 0) {
		/* After 2^32 transactions stale gens could match again. */
		memset(n->jset, 0, n->njset * sizeof(*n->jset));
		n->jgen = 1;
	}
}

/* Restore every journalled key.  Absences first, so the table never
 * holds more records than it did when the transaction began: then there
 * is always a free slot and no allocation is needed.  Buffers move from
 * the journal into the table. */
static int rollback(nvm_t *n)
{
	int any = n->jlen > 0;
	size_t i, s;

	for (i = 0; i < n->jlen; i++) {
		struct jent *e = &n->jrnl[i];

		if (!e->old && (s = slot_find(n, e->key, e->hash)) != NO_SLOT)
			slot_remove(n, s);
	}
	for (i = 0; i < n->jlen; i++) {
		struct jent *e = &n->jrnl[i];

		if (!e->old)
			continue;
		s = slot_find(n, e->key, e->hash);
		if (s == NO_SLOT) {
			slot_insert(n, e->hash, e->key, e->old, e->len, e->len ? e->len : 1);
			e->key = NULL;
		} else {
			free(n->slots[s].val);
			n->slots[s].val = e->old;
			n->slots[s].len = e->len;
			n->slots[s].cap = e->len ? e->len : 1;
		}
		e->old = NULL;
	}
	journal_clear(n);
	n->in_txn = 0;
	return any;
}

/* ---- write steps and tearing ---- */

/* Count one physical write step; returns 1 if this is the torn one. */
static int step(nvm_t *n)
{
	n->writes++;
	return n->tear_left > 0 && --n->tear_left == 0;
}

static int lose_power(nvm_t *n)
{
	n->powered = 0;
	return NVM_ERR_POWER;
}

/* A write interrupted half way: the first half (rounded up) of the new
 * bytes landed, the rest is what was there before, or erased cells. */
static void torn_copy(uint8_t *dst, const uint8_t *old, size_t oldlen,
		      const uint8_t *src, size_t len)
{
	size_t half = (len + 1) / 2, i;

	for (i = half; i < len; i++)
		dst[i] = i < oldlen ? old[i] : ERASED;
	if (half)
		memmove(dst, src, half);
}

/* Step 2's data: the new value, or what a torn write leaves. */
static void write_value(uint8_t *dst, const uint8_t *old, size_t oldlen,
			const uint8_t *src, size_t len, int torn)
{
	if (torn && mut_on(MUT_NVM_TORN))
		memset(dst, ERASED, len); /* erased, never programmed */
	else if (torn)
		torn_copy(dst, old, oldlen, src, len);
	else if (len)
		memmove(dst, src, len); /* src may be dst: a put of its own get */
}

/* Step 1 for key, if this transaction has not journalled it yet.  On
 * success the journal owns the prepared entry and *e is emptied; on a
 * tear the entry never became valid and stays the caller's to free. */
static int journal_step(nvm_t *n, struct jent *e)
{
	if (!e->key)
		return NVM_OK; /* already journalled */
	if (step(n))
		return lose_power(n);
	journal_append(n, e);
	memset(e, 0, sizeof(*e));
	return NVM_OK;
}

/* Prepare the journal entry for key (if not yet journalled): a copy of
 * the key and of the current value, and room in the journal. */
static int journal_prepare(nvm_t *n, const char *key, uint64_t h, struct jent *e)
{
	size_t s;

	memset(e, 0, sizeof(*e));
	if (jset_find(n, key, h) != NO_SLOT)
		return NVM_OK;
	if (journal_reserve(n) != NVM_OK)
		return NVM_ERR_NOMEM;
	e->hash = h;
	e->key = dup_key(key, strlen(key));
	if (!e->key)
		return NVM_ERR_NOMEM;
	s = slot_find(n, key, h);
	if (s != NO_SLOT) {
		e->len = n->slots[s].len;
		e->old = dup_val(n->slots[s].val, e->len);
		if (!e->old) {
			free(e->key);
			e->key = NULL;
			return NVM_ERR_NOMEM;
		}
	}
	return NVM_OK;
}

static int txn_put(nvm_t *n, const char *key, uint64_t h, const uint8_t *val, size_t len)
{
	struct jent e;
	char *nkey = NULL;
	uint8_t *nbuf = NULL;
	struct rec *r;
	size_t s;
	int rc, torn;

	/* Everything that can fail happens before the first step, so a
	 * failed put changes nothing. */
	rc = journal_prepare(n, key, h, &e);
	if (rc != NVM_OK)
		goto out;
	rc = NVM_ERR_NOMEM;
	s = slot_find(n, key, h);
	if (s == NO_SLOT) {
		if (table_reserve(n, 1) != NVM_OK || !(nkey = dup_key(key, strlen(key))) ||
		    !(nbuf = malloc(len ? len : 1)))
			goto out;
	} else if (len > n->slots[s].cap) {
		if (!(nbuf = malloc(len)))
			goto out;
	}
	rc = journal_step(n, &e);
	if (rc != NVM_OK)
		goto out;
	torn = step(n);
	if (nkey) {
		write_value(nbuf, NULL, 0, val, len, torn);
		slot_insert(n, h, nkey, nbuf, len, len ? len : 1);
	} else {
		r = &n->slots[slot_find(n, key, h)];
		if (nbuf) {
			/* Copy before freeing: val may point into the old buffer. */
			write_value(nbuf, r->val, r->len, val, len, torn);
			free(r->val);
			r->val = nbuf;
			r->cap = len;
		} else {
			write_value(r->val, r->val, r->len, val, len, torn);
		}
		r->len = len;
	}
	return torn ? lose_power(n) : NVM_OK;
out:
	free(e.key);
	free(e.old);
	free(nkey);
	free(nbuf);
	return rc;
}

static int txn_del(nvm_t *n, const char *key, uint64_t h)
{
	struct jent e;
	struct rec *r;
	int rc;

	if (slot_find(n, key, h) == NO_SLOT)
		return NVM_OK; /* nothing to write */
	rc = journal_prepare(n, key, h, &e);
	if (rc == NVM_OK)
		rc = journal_step(n, &e);
	if (rc != NVM_OK) {
		free(e.key);
		free(e.old);
		return rc;
	}
	r = &n->slots[slot_find(n, key, h)];
	if (step(n)) {
		/* Erasing was under way: the record is still there, half
		 * erased. */
		memset(r->val, ERASED, (r->len + 1) / 2);
		return lose_power(n);
	}
	slot_remove(n, (size_t)(r - n->slots));
	return NVM_OK;
}

/* ---- public API ---- */

nvm_t *nvm_new(void)
{
	nvm_t *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	if (table_alloc(n, 0) != NVM_OK) {
		free(n);
		return NULL;
	}
	n->jgen = 1;
	n->powered = 1;
	return n;
}

void nvm_free(nvm_t *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nslots; i++) {
		free(n->slots[i].key);
		free(n->slots[i].val);
	}
	free(n->slots);
	for (i = 0; i < n->jlen; i++) {
		free(n->jrnl[i].key);
		free(n->jrnl[i].old);
	}
	free(n->jrnl);
	free(n->jset);
	free(n);
}

int nvm_begin(nvm_t *n)
{
	if (!n)
		return NVM_ERR_ARG;
	if (!n->powered)
		return NVM_ERR_POWER;
	if (n->in_txn)
		return NVM_ERR_STATE;
	n->in_txn = 1;
	return NVM_OK;
}

int nvm_commit(nvm_t *n)
{
	if (!n)
		return NVM_ERR_ARG;
	if (!n->powered)
		return NVM_ERR_POWER;
	if (!n->in_txn)
		return NVM_ERR_STATE;
	/* An empty transaction has nothing to mark. */
	if (n->jlen > 0 && step(n))
		return lose_power(n);
	journal_clear(n);
	n->in_txn = 0;
	return NVM_OK;
}

int nvm_abort(nvm_t *n)
{
	if (!n)
		return NVM_ERR_ARG;
	if (!n->powered)
		return NVM_ERR_POWER;
	if (!n->in_txn)
		return NVM_ERR_STATE;
	rollback(n);
	return NVM_OK;
}

/* Run one change, wrapped in its own transaction when none is open.  An
 * implicit transaction that failed before writing anything is closed;
 * one torn by a power loss stays open for power-up to roll back. */
static int change(nvm_t *n, const char *key, const uint8_t *val, size_t len, int del)
{
	uint64_t h = fnv1a(key);
	int implicit = !n->in_txn, rc;

	n->in_txn = 1;
	rc = del ? txn_del(n, key, h) : txn_put(n, key, h, val, len);
	if (!implicit)
		return rc;
	if (rc == NVM_OK)
		return nvm_commit(n);
	if (rc != NVM_ERR_POWER)
		n->in_txn = 0; /* nothing was written, journal is empty */
	return rc;
}

int nvm_put(nvm_t *n, const char *key, const void *val, size_t len)
{
	if (!n || !key || (len && !val) || strlen(key) > MAX_KEY || len > MAX_VAL)
		return NVM_ERR_ARG;
	if (!n->powered)
		return NVM_ERR_POWER;
	return change(n, key, val, len, 0);
}

int nvm_del(nvm_t *n, const char *key)
{
	if (!n || !key)
		return NVM_ERR_ARG;
	if (!n->powered)
		return NVM_ERR_POWER;
	return change(n, key, NULL, 0, 1);
}

const uint8_t *nvm_get(const nvm_t *n, const char *key, size_t *len)
{
	size_t s;

	if (!n || !key)
		return NULL;
	s = slot_find(n, key, fnv1a(key));
	if (s == NO_SLOT)
		return NULL;
	if (len)
		*len = n->slots[s].len;
	return n->slots[s].val;
}

size_t nvm_count(const nvm_t *n)
{
	return n ? n->count : 0;
}

/* ---- ordered iteration ---- */

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/* Records whose key starts with prefix, sorted by key; *out is NULL when
 * there are none.  Returns the count, or NO_SLOT when out of memory. */
static size_t sorted_records(const nvm_t *n, const char *prefix, const struct rec ***out)
{
	size_t plen = strlen(prefix), i, k = 0;
	const struct rec **v;

	*out = NULL;
	if (n->count == 0)
		return 0;
	v = malloc(n->count * sizeof(*v));
	if (!v)
		return NO_SLOT;
	for (i = 0; i < n->nslots; i++)
		if (n->slots[i].key && strncmp(n->slots[i].key, prefix, plen) == 0)
			v[k++] = &n->slots[i];
	qsort(v, k, sizeof(*v), cmp_rec);
	*out = v;
	return k;
}

/* Without memory for the sort: repeatedly take the smallest key above
 * the previous one.  Quadratic, but iteration must not silently skip. */
static void each_unsorted(const nvm_t *n, const char *prefix,
			  void (*fn)(void *, const char *, const uint8_t *, size_t), void *arg)
{
	size_t plen = strlen(prefix), i;
	const char *last = NULL;

	for (;;) {
		const struct rec *best = NULL;

		for (i = 0; i < n->nslots; i++) {
			const struct rec *r = &n->slots[i];

			if (!r->key || strncmp(r->key, prefix, plen) != 0 ||
			    (last && strcmp(r->key, last) <= 0))
				continue;
			if (!best || strcmp(r->key, best->key) < 0)
				best = r;
		}
		if (!best)
			return;
		fn(arg, best->key, best->val, best->len);
		last = best->key;
	}
}

void nvm_each(const nvm_t *n, const char *prefix,
	      void (*fn)(void *arg, const char *key, const uint8_t *val, size_t len),
	      void *arg)
{
	const struct rec **v;
	size_t k, i;

	if (!n || !fn)
		return;
	if (!prefix)
		prefix = "";
	k = sorted_records(n, prefix, &v);
	if (k == NO_SLOT) {
		each_unsorted(n, prefix, fn, arg);
		return;
	}
	for (i = 0; i < k; i++)
		fn(arg, v[i]->key, v[i]->val, v[i]->len);
	free(v);
}

typedef struct del_names {
	char **v;
	size_t n, cap;
	int oom;
} del_names_t;

static void del_collect(void *arg, const char *key, const uint8_t *val, size_t len)
{
	del_names_t *ns = arg;

	(void)val;
	(void)len;
	if (ns->oom)
		return;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 32;
		char **v = realloc(ns->v, cap * sizeof *v);

		if (!v) {
			ns->oom = 1;
			return;
		}
		ns->v = v;
		ns->cap = cap;
	}
	if (!(ns->v[ns->n] = strdup(key)))
		ns->oom = 1;
	else
		ns->n++;
}

/* The names first: deleting while nvm_each walks would move records. */
int nvm_del_prefix(nvm_t *n, const char *prefix)
{
	del_names_t ns = { 0 };
	int rc = NVM_OK;

	if (!n || !prefix)
		return NVM_ERR_ARG;
	nvm_each(n, prefix, del_collect, &ns);
	if (ns.oom)
		rc = NVM_ERR_NOMEM;
	for (size_t i = 0; i < ns.n && rc == NVM_OK; i++)
		rc = nvm_del(n, ns.v[i]);
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	return rc;
}

/* ---- fault plan and power ---- */

void nvm_tear_at(nvm_t *n, long k)
{
	if (n)
		n->tear_left = k > 0 ? k : 0;
}

int nvm_powered(const nvm_t *n)
{
	return n && n->powered;
}

long nvm_write_count(const nvm_t *n)
{
	return n ? n->writes : 0;
}

int nvm_power_up(nvm_t *n)
{
	int rolled = 0;

	if (!n)
		return 0;
	if (n->in_txn && mut_on(MUT_NVM_TORN)) {
		journal_clear(n); /* the half-written records stay as they are */
		n->in_txn = 0;
	} else if (n->in_txn) {
		rolled = rollback(n);
	}
	n->powered = 1;
	return rolled;
}

/* ---- images ----
 *
 * All integers big-endian:
 *   "MYNVM1" version:u8
 *   nrec:u32  { klen:u16 key vlen:u32 val }*      sorted by key, unique
 *   txn:u8    njrnl:u32 { klen:u16 key present:u8 len:u32 old }*
 *                                                   sorted by key, unique
 *   fnv1a64 of everything before it:u64
 * The journal is part of the image so that a snapshot taken after a tear
 * recovers like the chip would.  The checksum catches damaged values,
 * which no length check could. */

struct wr {
	uint8_t *p;
	size_t off;
};

static void put_be(struct wr *w, uint64_t v, int bytes)
{
	while (bytes-- > 0)
		w->p[w->off++] = (uint8_t)(v >> (8 * bytes));
}

static void put_raw(struct wr *w, const void *p, size_t n)
{
	if (n)
		memcpy(w->p + w->off, p, n);
	w->off += n;
}

static int cmp_jent(const void *a, const void *b)
{
	const struct jent *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

static size_t image_size(const nvm_t *n, const struct rec **rv, size_t nr)
{
	size_t size = sizeof(image_magic) + 1 + 4 + 1 + 4 + 8, i;

	for (i = 0; i < nr; i++)
		size += 2 + strlen(rv[i]->key) + 4 + rv[i]->len;
	for (i = 0; i < n->jlen; i++)
		size += 2 + strlen(n->jrnl[i].key) + 1 + 4 + n->jrnl[i].len;
	return size;
}

static void image_write(const nvm_t *n, struct wr *w, const struct rec **rv, size_t nr,
			const struct jent **jv)
{
	size_t i, kl;

	put_raw(w, image_magic, sizeof(image_magic));
	put_be(w, IMAGE_VERSION, 1);
	put_be(w, nr, 4);
	for (i = 0; i < nr; i++) {
		kl = strlen(rv[i]->key);
		put_be(w, kl, 2);
		put_raw(w, rv[i]->key, kl);
		put_be(w, rv[i]->len, 4);
		put_raw(w, rv[i]->val, rv[i]->len);
	}
	put_be(w, n->in_txn != 0, 1);
	put_be(w, n->jlen, 4);
	for (i = 0; i < n->jlen; i++) {
		kl = strlen(jv[i]->key);
		put_be(w, kl, 2);
		put_raw(w, jv[i]->key, kl);
		put_be(w, jv[i]->old != NULL, 1);
		put_be(w, jv[i]->len, 4);
		put_raw(w, jv[i]->old, jv[i]->len);
	}
	put_be(w, fnv1a_bytes(w->p, w->off), 8);
}

int nvm_save(const nvm_t *n, uint8_t **buf, size_t *len)
{
	const struct rec **rv = NULL;
	const struct jent **jv = NULL;
	struct wr w = { NULL, 0 };
	size_t nr, i;
	int rc = NVM_ERR_NOMEM;

	if (!n || !buf || !len)
		return NVM_ERR_ARG;
	nr = sorted_records(n, "", &rv);
	if (nr == NO_SLOT)
		return NVM_ERR_NOMEM;
	if (n->jlen) {
		jv = malloc(n->jlen * sizeof(*jv));
		if (!jv)
			goto out;
		for (i = 0; i < n->jlen; i++)
			jv[i] = &n->jrnl[i];
		/* Journal order depends on the order of the writes; sorting
		 * makes equal states give equal images. */
		qsort(jv, n->jlen, sizeof(*jv), cmp_jent);
	}
	w.p = malloc(image_size(n, rv, nr));
	if (!w.p)
		goto out;
	image_write(n, &w, rv, nr, jv);
	*buf = w.p;
	*len = w.off;
	rc = NVM_OK;
out:
	free(rv);
	free(jv);
	return rc;
}

/* Copy up to n bytes of key k into out as printable ASCII: a key from a
 * damaged image may hold anything, and it ends up on a terminal. */
static void key_copy(char out[NVM_FAULT_KEY], const char *k, size_t n)
{
	size_t i, max = NVM_FAULT_KEY - 1;

	for (i = 0; i < n && i < max && k[i]; i++)
		out[i] = k[i] >= 0x20 && k[i] < 0x7F ? k[i] : '?';
	out[i] = '\0';
	if (i == max && i < n && k[i])
		memcpy(out + max - 3, "...", 3);
}

struct rd {
	const uint8_t *p;
	size_t n, off;
	nvm_fault_t f; /* the first fault; f.why NULL while there is none */
	char cur[NVM_FAULT_KEY]; /* the record being read, for the message */
};

/* Note the first fault only: what a damaged image does next says nothing
 * new. */
static int rd_fail(struct rd *r, size_t at, const char *why)
{
	if (!r->f.why) {
		r->f.why = why;
		r->f.off = (long)at;
		memcpy(r->f.key, r->cur, sizeof r->f.key);
	}
	return NVM_ERR_IMAGE;
}

static int rd_short(struct rd *r, size_t n)
{
	if (!r->f.why && r->n - r->off >= n)
		return 0;
	rd_fail(r, r->off, "a length runs past the end of the image");
	return 1;
}

static uint64_t get_be(struct rd *r, int bytes)
{
	uint64_t v = 0;

	if (rd_short(r, (size_t)bytes))
		return 0;
	while (bytes-- > 0)
		v = (v << 8) | r->p[r->off++];
	return v;
}

static const uint8_t *get_raw(struct rd *r, size_t n)
{
	const uint8_t *p = r->p + r->off;

	if (rd_short(r, n))
		return NULL;
	r->off += n;
	return p;
}

/* A key of the image: NUL-free and strictly after prev (sorted, unique).
 * Returns a fresh copy, or NULL with *rc set. */
static char *get_key(struct rd *r, const char *prev, int *rc)
{
	size_t at = r->off, kl = (size_t)get_be(r, 2);
	const uint8_t *k = get_raw(r, kl);
	char *key;

	*rc = NVM_ERR_IMAGE;
	if (!k)
		return NULL;
	key_copy(r->cur, (const char *)k, kl);
	if (memchr(k, 0, kl)) {
		rd_fail(r, at, "a key holds a NUL byte");
		return NULL;
	}
	key = dup_key((const char *)k, kl);
	if (!key) {
		*rc = NVM_ERR_NOMEM;
		return NULL;
	}
	if (prev && strcmp(prev, key) >= 0) {
		free(key);
		rd_fail(r, at, "keys out of order or repeated");
		return NULL;
	}
	return key;
}

static int load_records(nvm_t *t, struct rd *r)
{
	size_t at = r->off, nrec = (size_t)get_be(r, 4), i;
	const char *prev = NULL;
	int rc;

	/* Each record takes at least 6 bytes: bound the count before
	 * sizing the table from it. */
	if (r->f.why || nrec > (r->n - r->off) / 6)
		return rd_fail(r, at, "more records than the image has room for");
	if (table_reserve(t, nrec) != NVM_OK)
		return NVM_ERR_NOMEM;
	for (i = 0; i < nrec; i++) {
		char *key = get_key(r, prev, &rc);
		size_t vl;
		const uint8_t *v;
		uint8_t *val;

		if (!key)
			return rc;
		vl = (size_t)get_be(r, 4);
		v = get_raw(r, vl);
		if (!v || !(val = dup_val(v, vl))) {
			free(key);
			return v ? NVM_ERR_NOMEM : NVM_ERR_IMAGE;
		}
		slot_insert(t, fnv1a(key), key, val, vl, vl ? vl : 1);
		prev = key;
	}
	r->cur[0] = '\0';
	return NVM_OK;
}

static int load_entry(nvm_t *t, struct rd *r, const char *prev)
{
	struct jent e = { 0 };
	int rc, present;
	size_t at;
	const uint8_t *v;

	if (journal_reserve(t) != NVM_OK)
		return NVM_ERR_NOMEM;
	if (!(e.key = get_key(r, prev, &rc)))
		return rc;
	e.hash = fnv1a(e.key);
	at = r->off;
	present = (int)get_be(r, 1);
	e.len = (size_t)get_be(r, 4);
	v = get_raw(r, e.len);
	rc = NVM_ERR_IMAGE;
	if (!v)
		goto fail;
	if (present > 1 || (!present && e.len)) {
		rd_fail(r, at, "a journal entry's presence flag is neither 0 nor 1, or an absent value has bytes");
		goto fail;
	}
	if (present && !(e.old = dup_val(v, e.len))) {
		rc = NVM_ERR_NOMEM;
		goto fail;
	}
	journal_append(t, &e);
	return NVM_OK;
fail:
	free(e.key);
	return rc;
}

static int load_journal(nvm_t *t, struct rd *r)
{
	size_t at = r->off;
	int txn = (int)get_be(r, 1), rc;
	size_t nj = (size_t)get_be(r, 4), i;

	if (r->f.why)
		return NVM_ERR_IMAGE;
	/* Each entry takes at least 7 bytes. */
	if (txn > 1 || (!txn && nj))
		return rd_fail(r, at, "the transaction flag is neither 0 nor 1, or a journal without a transaction");
	if (nj > (r->n - r->off) / 7)
		return rd_fail(r, at + 1, "more journal entries than the image has room for");
	t->in_txn = txn;
	for (i = 0; i < nj; i++) {
		rc = load_entry(t, r, i ? t->jrnl[i - 1].key : NULL);
		if (rc != NVM_OK)
			return rc;
	}
	r->cur[0] = '\0';
	/* Rolling back may bring back every journalled key: make sure the
	 * table has room for that now, as rollback must not allocate. */
	return table_reserve(t, nj);
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Move t's contents into n and free n's old contents. */
static void swap_in(nvm_t *n, nvm_t *t)
{
	nvm_t old = *n;

	*n = *t;
	*t = old;
	nvm_free(t);
}

/* Magic, version and checksum: whether this is an image at all and
 * arrived whole. */
static int image_envelope(struct rd *r, const uint8_t *buf, size_t len)
{
	size_t head = len < sizeof(image_magic) ? len : sizeof(image_magic);

	if (memcmp(buf, image_magic, head) != 0)
		return rd_fail(r, 0, "not an NVM image (no MYNVM1 magic)");
	if (len < sizeof(image_magic) + 1 + 4 + 1 + 4 + 8)
		return rd_fail(r, len, "too short to be an NVM image (truncated?)");
	if (buf[sizeof(image_magic)] != IMAGE_VERSION)
		return rd_fail(r, sizeof(image_magic), "NVM image of an unknown version");
	/* The reader stops at the checksum, so no field can run into it. */
	r->n = len - 8;
	r->off = sizeof(image_magic) + 1;
	if (fnv1a_bytes(buf, r->n) != be64(buf + r->n))
		return rd_fail(r, r->n, "checksum mismatch: the image is damaged or truncated");
	return NVM_OK;
}

int nvm_load_fault(nvm_t *n, const uint8_t *buf, size_t len, nvm_fault_t *f)
{
	struct rd r = { buf, len, 0, { NULL, -1, "" }, "" };
	nvm_t *t = NULL;
	int rc;

	if (!n || !buf)
		return NVM_ERR_ARG;
	rc = image_envelope(&r, buf, len);
	if (rc == NVM_OK && !(t = nvm_new()))
		rc = NVM_ERR_NOMEM;
	if (rc == NVM_OK)
		rc = load_records(t, &r);
	if (rc == NVM_OK)
		rc = load_journal(t, &r);
	if (rc == NVM_OK && r.off != r.n)
		rc = rd_fail(&r, r.off, "bytes left over before the checksum");
	if (rc != NVM_OK) {
		nvm_free(t);
		if (f && rc == NVM_ERR_IMAGE)
			*f = r.f;
		return rc;
	}
	/* A loaded chip has just been given this memory: no write counted
	 * yet, no fault armed, and if a transaction was open it must power
	 * up (and roll back) before anything else is written. */
	t->writes = 0;
	t->tear_left = 0;
	t->powered = !t->in_txn;
	swap_in(n, t);
	return NVM_OK;
}

int nvm_load(nvm_t *n, const uint8_t *buf, size_t len)
{
	return nvm_load_fault(n, buf, len, NULL);
}

/* ---- validation ---- */

int nvm_fault(nvm_fault_t *f, const char *key, const char *why)
{
	if (f) {
		f->why = why;
		f->off = -1;
		key_copy(f->key, key ? key : "", key ? strlen(key) : 0);
	}
	return NVM_ERR_IMAGE;
}

struct check {
	const nvm_rule_t *rules;
	size_t nrules;
	void *arg;
	nvm_fault_t *f;
	int bad;
};

static void check_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
	struct check *c = arg;
	const char *why = "a record no part of this chip owns (an image of another chip?)";
	size_t i;

	if (c->bad)
		return; /* the first fault is the one reported */
	for (i = 0; i < c->nrules; i++)
		if (strncmp(key, c->rules[i].prefix, strlen(c->rules[i].prefix)) == 0) {
			why = c->rules[i].check(c->arg, key, val, len);
			break;
		}
	if (why) {
		c->bad = 1;
		nvm_fault(c->f, key, why);
	}
}

int nvm_check(const nvm_t *n, const nvm_rule_t *rules, size_t nrules, void *arg, nvm_fault_t *f)
{
	struct check c = { rules, nrules, arg, f, 0 };

	if (!n || (nrules && !rules))
		return NVM_ERR_ARG;
	nvm_each(n, "", check_one, &c);
	return c.bad ? NVM_ERR_IMAGE : NVM_OK;
}

void nvm_fault_str(const nvm_fault_t *f, char *out, size_t cap)
{
	const char *why = f && f->why ? f->why : "no fault";

	if (!out || !cap)
		return;
	if (f && f->key[0] && f->off >= 0)
		snprintf(out, cap, "record %s (offset %ld): %s", f->key, f->off, why);
	else if (f && f->key[0])
		snprintf(out, cap, "record %s: %s", f->key, why);
	else if (f && f->off >= 0)
		snprintf(out, cap, "offset %ld: %s", f->off, why);
	else
		snprintf(out, cap, "%s", why);
}

const char *nvm_strerror(int err)
{
	switch (err) {
	case NVM_OK:
		return "ok";
	case NVM_ERR_POWER:
		return "power lost (torn write): nothing written until power-up";
	case NVM_ERR_NOMEM:
		return "out of memory";
	case NVM_ERR_STATE:
		return "no transaction open, or one already open";
	case NVM_ERR_IMAGE:
		return "not an NVM image, or a damaged one";
	case NVM_ERR_ARG:
		return "invalid argument";
	default:
		return "unknown NVM error";
	}
}
