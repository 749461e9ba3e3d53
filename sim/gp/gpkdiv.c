/* gpkdiv.c — card key sets diversified from a master key set (gpkdiv.h). */
#include "gpkdiv.h"

#include <string.h>

#include <openssl/crypto.h>

int gpkdiv_kdf3(const uint8_t *master, size_t key_len, uint8_t t, const uint8_t kdd[SCP03_KDD_LEN],
		uint8_t *out)
{
	uint8_t in[1 + 5 + SCP03_KDD_LEN], blk[16];
	int rc = 0;

	if (!master || !kdd || !out || (key_len != 16 && key_len != 24 && key_len != 32))
		return SCP03_ERR_ARG;
	/* The 8-bit counter comes first, then the fixed input: GPPro's
	 * KDF3 (BouncyCastle's KDFCounterBytesGenerator with an empty
	 * prefix), not Amd D's session-key layout with its label and L. */
	memset(in, 0, sizeof in);
	in[4] = t;
	memcpy(in + 6, kdd, SCP03_KDD_LEN);
	for (size_t off = 0; off < key_len && !rc; off += 16) {
		in[0] = (uint8_t)(off / 16 + 1);
		if ((rc = scp03_cmac(master, key_len, in, sizeof in, blk)) == 0)
			memcpy(out + off, blk, key_len - off < 16 ? key_len - off : 16);
	}
	OPENSSL_cleanse(blk, sizeof blk);
	return rc;
}

int gpkdiv_keyset(const scp03_keyset_t *master, const uint8_t kdd[SCP03_KDD_LEN], scp03_keyset_t *out)
{
	scp03_keyset_t k;
	int rc;

	if (!master || !out)
		return SCP03_ERR_ARG;
	memset(&k, 0, sizeof k);
	k.kvn = master->kvn;
	k.key_len = master->key_len;
	if ((rc = gpkdiv_kdf3(master->enc, master->key_len, GPKDIV_ENC, kdd, k.enc)) == 0 &&
	    (rc = gpkdiv_kdf3(master->mac, master->key_len, GPKDIV_MAC, kdd, k.mac)) == 0 &&
	    (rc = gpkdiv_kdf3(master->dek, master->key_len, GPKDIV_DEK, kdd, k.dek)) == 0)
		*out = k;
	OPENSSL_cleanse(&k, sizeof k);
	return rc;
}

void gpkdiv_kdd_from_cplc(const uint8_t cplc[42], uint8_t kdd[SCP03_KDD_LEN])
{
	memcpy(kdd, cplc, 4);          /* IC fabricator, IC type */
	memcpy(kdd + 4, cplc + 16, 2); /* IC batch identifier */
	memcpy(kdd + 6, cplc + 12, 4); /* IC serial number */
}
