/* gpkey.c — the security domains' SCP03 key sets in NVM.
 *
 * The ISD's: "gp/key/KK" (KK = KVN in hex) holds KVN ‖ key length ‖ ENC ‖
 * MAC ‖ DEK; "gp/ctr/KK" its 3-byte sequence counter, apart because it
 * changes on every INITIALIZE UPDATE while the keys change only on PUT
 * KEY; a key set missing keys deleted one by one (DELETE [key] with D0)
 * has one more byte, their mask (bit 0 ENC, 1 MAC, 2 DEK).  A
 * supplementary SD's (registry entry SSSS): the same records
 * under "gp/sd/SSSS/", so DELETE of the SD erases them with one prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "se_int.h"

void gpkey_name(char out[GPKEY_NAME], uint16_t sd, const char *kind, uint8_t kvn)
{
	if (sd)
		snprintf(out, GPKEY_NAME, GPKEY_SD_PREFIX "%04X/%s/%02X", sd, kind, kvn);
	else
		snprintf(out, GPKEY_NAME, "gp/%s/%02X", kind, kvn);
}

void gpkey_prefix(char out[GPKEY_NAME], uint16_t sd, const char *kind)
{
	if (sd)
		snprintf(out, GPKEY_NAME, GPKEY_SD_PREFIX "%04X/%s/", sd, kind);
	else
		snprintf(out, GPKEY_NAME, "gp/%s/", kind);
}

int gpkey_put(nvm_t *nvm, uint16_t sd, const se_keyset_t *k)
{
	uint8_t buf[2 + 3 * SE_KEY_MAX + 1], ctr[3];
	size_t n = 2 + 3 * (size_t)k->key_len;
	char name[GPKEY_NAME];
	int rc;

	buf[0] = k->kvn;
	buf[1] = k->key_len;
	memcpy(buf + 2, k->enc, k->key_len);
	memcpy(buf + 2 + k->key_len, k->mac, k->key_len);
	memcpy(buf + 2 + 2 * k->key_len, k->dek, k->key_len);
	gpkey_name(name, sd, "key", k->kvn);
	if (k->absent)
		buf[n++] = k->absent;
	if ((rc = nvm_put(nvm, name, buf, n)) != NVM_OK)
		return rc;
	ctr[0] = (uint8_t)(k->counter >> 16);
	ctr[1] = (uint8_t)(k->counter >> 8);
	ctr[2] = (uint8_t)k->counter;
	gpkey_name(name, sd, "ctr", k->kvn);
	return nvm_put(nvm, name, ctr, 3);
}

int gpkey_get(const nvm_t *nvm, uint16_t sd, uint8_t kvn, se_keyset_t *k)
{
	const uint8_t *v, *c;
	size_t n, cn;
	char name[GPKEY_NAME];

	memset(k, 0, sizeof *k);
	gpkey_name(name, sd, "key", kvn);
	if (!(v = nvm_get(nvm, name, &n)) || n < 2 || v[0] != kvn ||
	    (v[1] != 16 && v[1] != 24 && v[1] != 32) || (n != 2 + 3 * (size_t)v[1] && n != 3 + 3 * (size_t)v[1]))
		return -1;
	k->kvn = kvn;
	if (n == 3 + 3 * (size_t)v[1])
		k->absent = v[n - 1];
	k->key_len = v[1];
	memcpy(k->enc, v + 2, v[1]);
	memcpy(k->mac, v + 2 + v[1], v[1]);
	memcpy(k->dek, v + 2 + 2 * v[1], v[1]);
	gpkey_name(name, sd, "ctr", kvn);
	if ((c = nvm_get(nvm, name, &cn)) && cn == 3)
		k->counter = (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
	return 0;
}

/* The KVN of a key or counter record name (*sd its SD, *ctr 1 for a
 * counter), -1 unless the name is exactly what gpkey_name() writes. */
static int kvn_of(const char *key, uint16_t *sd, int *ctr)
{
	char name[GPKEY_NAME], kind[4];
	const char *rest = key;
	unsigned s = 0, v;
	int n = 0;

	if (strncmp(key, GPKEY_SD_PREFIX, strlen(GPKEY_SD_PREFIX)) == 0) {
		rest = key + strlen(GPKEY_SD_PREFIX);
		if (sscanf(rest, "%4X/%3[a-z]/%2X%n", &s, kind, &v, &n) != 3 || !s)
			return -1;
	} else if (sscanf(rest, "gp/%3[a-z]/%2X%n", kind, &v, &n) != 2) {
		return -1;
	}
	if (rest[n] || (strcmp(kind, "key") && strcmp(kind, "ctr")))
		return -1;
	gpkey_name(name, (uint16_t)s, kind, (uint8_t)v);
	if (strcmp(name, key))
		return -1;
	*sd = (uint16_t)s;
	*ctr = kind[0] == 'c';
	return (int)v;
}

const char *gpkey_check(const nvm_t *nvm, const char *key, const uint8_t *v, size_t n, uint16_t *sd)
{
	char name[GPKEY_NAME];
	int ctr, kvn = kvn_of(key, sd, &ctr);

	if (kvn < 0)
		return "not a key record name (gp/key/, gp/ctr/ or gp/sd/SSSS/key|ctr/, 2 upper-case hex digits)";
	if (kvn > 0x7F)
		return "KVN above 7F";
	if (ctr) {
		/* A counter that gpkey_get() would skip reads as 0: a rewound
		 * sequence counter. */
		gpkey_name(name, *sd, "key", (uint8_t)kvn);
		if (n != 3)
			return "sequence counter not 3 bytes";
		return nvm_get(nvm, name, &(size_t){ 0 }) ? NULL : "sequence counter of a key set that is not there";
	}
	if (n < 2 || v[0] != kvn)
		return "key set record does not start with its own KVN";
	if ((v[1] != 16 && v[1] != 24 && v[1] != 32) || (n != 2 + 3 * (size_t)v[1] && n != 3 + 3 * (size_t)v[1]))
		return "key set is not three AES-128, -192 or -256 keys";
	if (n == 3 + 3 * (size_t)v[1] && (v[n - 1] == 0 || v[n - 1] > 6))
		return "deleted-keys mask not 1..6 (all three gone is no key set)";
	return NULL;
}

static void first_kvn(void *arg, const char *key, const uint8_t *val, size_t len)
{
	int *kvn = arg;

	(void)key;
	if (*kvn < 0 && len >= 1)
		*kvn = val[0];
}

static void count_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
	(void)key;
	(void)val;
	(void)len;
	++*(int *)arg;
}

/* "The first available key" of INITIALIZE UPDATE P1 = 00 and the
 * "default KVN" of GET DATA C1: the lowest KVN the SD holds. */
int gpkey_default_kvn(const nvm_t *nvm, uint16_t sd, uint8_t *kvn)
{
	char prefix[GPKEY_NAME];
	int k = -1;

	gpkey_prefix(prefix, sd, "key");
	nvm_each(nvm, prefix, first_kvn, &k);
	if (k < 0)
		return -1;
	*kvn = (uint8_t)k;
	return 0;
}

int gpkey_count(const nvm_t *nvm, uint16_t sd)
{
	char prefix[GPKEY_NAME];
	int count = 0;

	gpkey_prefix(prefix, sd, "key");
	nvm_each(nvm, prefix, count_one, &count);
	return count;
}
