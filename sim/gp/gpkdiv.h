/* gpkdiv.h — per-card GlobalPlatform key sets diversified from a master
 * key set and the card's identity (docs/se.md#diversified-keys).
 *
 * One scheme: what GlobalPlatformPro calls KDF3, the SCP03 one-step
 * AES-CMAC KDF of NIST SP 800-108 in counter mode with the card's key
 * diversification data (KDD) as context:
 *
 *   K = CMAC(M, 01 ‖ 00 00 00 t 00 ‖ KDD) [‖ CMAC(M, 02 ‖ 00 00 00 t 00 ‖ KDD)]
 *
 * cut to the master key's length, t = 01 (ENC), 02 (MAC), 03 (DEK).  The
 * KDD of a simulated SE is its device identity from the CPLC (IC
 * fabricator, IC type, IC batch identifier, IC serial number: 10 bytes),
 * the same bytes the TSM names the device by, so the TSM derives a
 * phone's keys from what the phone shows before any key is used.
 *
 * Pure functions: no randomness, clock or storage.  0 on success, a
 * negative SCP03_ERR_* otherwise. */
#ifndef GPKDIV_H
#define GPKDIV_H

#include <stddef.h>
#include <stdint.h>

#include "scp03.h"

#define GPKDIV_ENC 0x01
#define GPKDIV_MAC 0x02
#define GPKDIV_DEK 0x03

/* One card key of purpose t (GPKDIV_*) from a master key of key_len
 * bytes (16, 24 or 32); out gets key_len bytes. */
int gpkdiv_kdf3(const uint8_t *master, size_t key_len, uint8_t t, const uint8_t kdd[SCP03_KDD_LEN],
		uint8_t *out);

/* The card's key set: ENC, MAC and DEK of master diversified by kdd,
 * same KVN and length.  out may equal master. */
int gpkdiv_keyset(const scp03_keyset_t *master, const uint8_t kdd[SCP03_KDD_LEN], scp03_keyset_t *out);

/* The KDD of a card from its 42-byte CPLC (GPCS Table H-1 offsets):
 * IC fabricator ‖ IC type ‖ IC batch identifier ‖ IC serial number. */
void gpkdiv_kdd_from_cplc(const uint8_t cplc[42], uint8_t kdd[SCP03_KDD_LEN]);

#endif
