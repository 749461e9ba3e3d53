/* tsm_keys.c — every SE's own ISD key set (docs/tsm.md, "Diversified
 * keys"): the TSM holds a master key set and derives an SE's from the
 * SE's identity, the 20 hex digits it names the device by, which are the
 * SE's KDD (sim/gp/gpkdiv.h).  Derived once, at the first INITIALIZE
 * UPDATE, and stored (table se_keys, in the step's transaction), as a
 * TSM keeps each SE's keys: a later change of an SE's keys (a rotation)
 * would be recorded there, the master no longer being the whole truth. */
#include "tsm_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../core/apdu.h"
#include "../gp/gpkdiv.h"

/* kvn, key_len, enc, mac, dek */
#define REC_LEN (2 + 3 * SCP03_KEY_MAX)

static int load(tsm_t *t, const char *device, scp03_keyset_t *out)
{
	sqlite3_stmt *st = tsm_stmt(t, "SELECT keys FROM se_keys WHERE device = ?");
	int found = 0;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == REC_LEN) {
		const uint8_t *b = sqlite3_column_blob(st, 0);
		memset(out, 0, sizeof *out);
		out->kvn = b[0];
		out->key_len = b[1];
		memcpy(out->enc, b + 2, SCP03_KEY_MAX);
		memcpy(out->mac, b + 2 + SCP03_KEY_MAX, SCP03_KEY_MAX);
		memcpy(out->dek, b + 2 + 2 * SCP03_KEY_MAX, SCP03_KEY_MAX);
		found = 1;
	}
	tsm_stmt_done(t, st);
	return found;
}

static int store(tsm_t *t, const char *device, const scp03_keyset_t *k)
{
	uint8_t b[REC_LEN];
	sqlite3_stmt *st = tsm_stmt(t, "INSERT OR REPLACE INTO se_keys(device, keys) VALUES (?, ?)");
	int rc;

	if (!st)
		return -1;
	b[0] = k->kvn;
	b[1] = k->key_len;
	memcpy(b + 2, k->enc, SCP03_KEY_MAX);
	memcpy(b + 2 + SCP03_KEY_MAX, k->mac, SCP03_KEY_MAX);
	memcpy(b + 2 + 2 * SCP03_KEY_MAX, k->dek, SCP03_KEY_MAX);
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, b, sizeof b, SQLITE_TRANSIENT);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	tsm_stmt_done(t, st);
	OPENSSL_cleanse(b, sizeof b);
	return rc;
}

/* The set stored as name, or master diversified by the device's KDD
 * and stored. */
static int derive(tsm_t *t, const char *name, const scp03_keyset_t *master, const char *device, scp03_keyset_t *out)
{
	uint8_t kdd[SCP03_KDD_LEN];
	int rc;

	if (!device || strlen(device) != 2 * SCP03_KDD_LEN || apdu_unhex(device, kdd, sizeof kdd) != SCP03_KDD_LEN)
		return -1;
	if ((rc = load(t, name, out)) != 0)
		return rc < 0 ? -1 : 0;
	if (gpkdiv_keyset(master, kdd, out) < 0)
		return -1;
	return store(t, name, out);
}

int tsm_se_keys(tsm_t *t, const char *device, scp03_keyset_t *out)
{
	if (!t->diversify) {
		*out = t->keys;
		return 0;
	}
	return derive(t, device, &t->keys, device, out);
}

/* The SSD's set is always diversified: the SP chooses it for each SE. */
int tsm_ssd_keys(tsm_t *t, const char *device, scp03_keyset_t *out)
{
	char name[32];

	snprintf(name, sizeof name, "ssd/%s", device ? device : "");
	return derive(t, name, &t->ssd_keys, device, out);
}
