/* gpkey.c — the ISD's SCP03 key sets in NVM.
 *
 * "gp/key/KK" (KK = KVN in hex) holds KVN ‖ key length ‖ ENC ‖ MAC ‖ DEK;
 * "gp/ctr/KK" its 3-byte sequence counter, apart because it changes on
 * every INITIALIZE UPDATE while the keys change only on PUT KEY. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "se_int.h"

#define KEY_PREFIX "gp/key/"

static void key_name(char out[16], const char *kind, uint8_t kvn)
{
	snprintf(out, 16, "gp/%s/%02X", kind, kvn);
}

int gpkey_put(nvm_t *nvm, const se_keyset_t *k)
{
	uint8_t buf[2 + 3 * SE_KEY_MAX], ctr[3];
	char name[16];
	int rc;

	buf[0] = k->kvn;
	buf[1] = k->key_len;
	memcpy(buf + 2, k->enc, k->key_len);
	memcpy(buf + 2 + k->key_len, k->mac, k->key_len);
	memcpy(buf + 2 + 2 * k->key_len, k->dek, k->key_len);
	key_name(name, "key", k->kvn);
	if ((rc = nvm_put(nvm, name, buf, 2 + 3 * (size_t)k->key_len)) != NVM_OK)
		return rc;
	ctr[0] = (uint8_t)(k->counter >> 16);
	ctr[1] = (uint8_t)(k->counter >> 8);
	ctr[2] = (uint8_t)k->counter;
	key_name(name, "ctr", k->kvn);
	return nvm_put(nvm, name, ctr, 3);
}

int gpkey_get(const nvm_t *nvm, uint8_t kvn, se_keyset_t *k)
{
	const uint8_t *v, *c;
	size_t n, cn;
	char name[16];

	memset(k, 0, sizeof *k);
	key_name(name, "key", kvn);
	if (!(v = nvm_get(nvm, name, &n)) || n < 2 || v[0] != kvn ||
	    (v[1] != 16 && v[1] != 24 && v[1] != 32) || n != 2 + 3 * (size_t)v[1])
		return -1;
	k->kvn = kvn;
	k->key_len = v[1];
	memcpy(k->enc, v + 2, v[1]);
	memcpy(k->mac, v + 2 + v[1], v[1]);
	memcpy(k->dek, v + 2 + 2 * v[1], v[1]);
	key_name(name, "ctr", kvn);
	if ((c = nvm_get(nvm, name, &cn)) && cn == 3)
		k->counter = (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
	return 0;
}

/* The KVN of a record name, -1 unless the name is exactly what
 * key_name() writes for kind. */
static int kvn_of(const char *key, const char *kind)
{
	char name[16], *end;
	unsigned long v;

	if (strlen(key) != 9) /* "gp/key/KK" */
		return -1;
	v = strtoul(key + 7, &end, 16);
	if (*end || v > 0xFF)
		return -1;
	key_name(name, kind, (uint8_t)v);
	return strcmp(name, key) == 0 ? (int)v : -1;
}

const char *gpkey_check(const nvm_t *nvm, const char *key, const uint8_t *v, size_t n)
{
	int ctr = strncmp(key, "gp/ctr/", 7) == 0, kvn = kvn_of(key, ctr ? "ctr" : "key");
	char name[16];

	if (kvn < 0)
		return "not a key record name (gp/key/ or gp/ctr/ and 2 upper-case hex digits)";
	if (kvn > 0x7F)
		return "KVN above 7F";
	if (ctr) {
		/* A counter that gpkey_get() would skip reads as 0: a rewound
		 * sequence counter. */
		key_name(name, "key", (uint8_t)kvn);
		if (n != 3)
			return "sequence counter not 3 bytes";
		return nvm_get(nvm, name, &(size_t){ 0 }) ? NULL : "sequence counter of a key set that is not there";
	}
	if (n < 2 || v[0] != kvn)
		return "key set record does not start with its own KVN";
	if ((v[1] != 16 && v[1] != 24 && v[1] != 32) || n != 2 + 3 * (size_t)v[1])
		return "key set is not three AES-128, -192 or -256 keys";
	return NULL;
}

static void first_kvn(void *arg, const char *key, const uint8_t *val, size_t len)
{
	int *kvn = arg;

	(void)key;
	if (*kvn < 0 && len >= 1)
		*kvn = val[0];
}

/* "The first available key" of INITIALIZE UPDATE P1 = 00 and the
 * "default KVN" of GET DATA C1: the lowest KVN held. */
int gpkey_default_kvn(const nvm_t *nvm, uint8_t *kvn)
{
	int k = -1;

	nvm_each(nvm, KEY_PREFIX, first_kvn, &k);
	if (k < 0)
		return -1;
	*kvn = (uint8_t)k;
	return 0;
}
