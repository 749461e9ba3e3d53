/* gpdm.h — the host side of supplementary security domains and delegated
 * management (GPCS v2.3.1 §6.3, §9.2, Annex C;
 * docs/se.md#security-domains-and-delegated-management): the commands an SE issuer's TSM or an SP-TSM
 * sends to create an SSD, give it keys, move content between SDs, and the
 * tokens, receipts and DAP signatures that go with delegated management.
 *
 * Nothing here talks to a card, draws randomness, reads a clock or touches
 * storage: byte strings in, byte strings out.  APDUs are built plain (CLA
 * 80); wrap them with scp03_host_wrap.  Functions that build return 0 and
 * set *len, or a negative GPDM_ERR_*.
 *
 * Algorithms (our choice where GPCS offers several; docs/se.md says why):
 *   token      RSA PKCS#1 v1.5 signature with SHA-1 (GPCS §C.4.1, the
 *              scheme kaoh/globalplatform implements), over P1 ‖ P2 ‖ Lc'
 *              ‖ the command's data without the token, Lc' their length;
 *   receipt    AES-CMAC, all 16 bytes (GPCS §C.5 with an AES receipt key,
 *              as kaoh validates it), over the receipt data below;
 *   DAP        RSA PKCS#1 v1.5 with SHA-1 over the Load File Data Block
 *              hash (GPCS §C.3.2). */
#ifndef GPDM_H
#define GPDM_H

#include <stddef.h>
#include <stdint.h>

#define GPDM_OK 0
#define GPDM_ERR_ARG -1    /* a length out of range, a NULL where bytes are needed */
#define GPDM_ERR_BUFFER -2 /* out too small */
#define GPDM_ERR_CRYPTO -3 /* a key that does not load, OpenSSL failed */
#define GPDM_ERR_VERIFY -4 /* a receipt or signature that does not verify */
#define GPDM_ERR_FORMAT -5 /* a response that is no confirmation structure */

#define GPDM_RECEIPT_LEN 16
#define GPDM_SIG_MAX 512 /* RSA up to 4096 bits */

/* Privileges (GPCS Table 11-7), byte 1 ... */
#define GPDM_PRIV_SD 0x80
#define GPDM_PRIV_DAP_VERIFICATION 0x40    /* with SD */
#define GPDM_PRIV_DELEGATED_MGMT 0x20      /* with SD */
#define GPDM_PRIV_CARD_LOCK 0x10
#define GPDM_PRIV_CARD_TERMINATE 0x08
#define GPDM_PRIV_CARD_RESET 0x04
#define GPDM_PRIV_CVM_MGMT 0x02
#define GPDM_PRIV_MANDATED_DAP 0x01        /* with SD and DAP verification */
/* ... byte 2 ... */
#define GPDM_PRIV2_TRUSTED_PATH 0x80
#define GPDM_PRIV2_AUTHORIZED_MGMT 0x40
#define GPDM_PRIV2_TOKEN_VERIFICATION 0x20
#define GPDM_PRIV2_GLOBAL_DELETE 0x10
#define GPDM_PRIV2_GLOBAL_LOCK 0x08
#define GPDM_PRIV2_GLOBAL_REGISTRY 0x04
#define GPDM_PRIV2_FINAL_APP 0x02
#define GPDM_PRIV2_GLOBAL_SERVICE 0x01
/* ... byte 3 */
#define GPDM_PRIV3_RECEIPT_GENERATION 0x80
#define GPDM_PRIV3_CIPHERED_LFDB 0x40
#define GPDM_PRIV3_CONTACTLESS_ACTIVATION 0x20
#define GPDM_PRIV3_CONTACTLESS_SELF_ACTIVATION 0x10

/* Key version numbers of the delegated-management keys (GP UICC
 * Configuration; each one key, identifier 01): the token verification
 * key (RSA public, in the SD with Token Verification: the ISD), the
 * receipt key (AES, in the SD with Receipt Generation: the ISD), a DAP
 * verification key (RSA public, in an SD with DAP Verification). */
#define GPDM_KVN_TOKEN 0x70
#define GPDM_KVN_RECEIPT 0x71
#define GPDM_KVN_DAP 0x73

/* The security domain package "in ROM" every SD is installed from (the
 * GP 2.2 naming kaoh and GPPro use): load file A0000001515350, module
 * A000000151535041. */
#define GPDM_SD_PACKAGE "\xA0\x00\x00\x01\x51\x53\x50"
#define GPDM_SD_PACKAGE_LEN 7
#define GPDM_SD_MODULE "\xA0\x00\x00\x01\x51\x53\x50\x41"
#define GPDM_SD_MODULE_LEN 8

/* INSTALL P1 (GPCS Table 11-45), without b8 ("more INSTALLs follow"). */
#define GPDM_INSTALL_LOAD 0x02
#define GPDM_INSTALL_INSTALL 0x04
#define GPDM_INSTALL_MAKE_SELECTABLE 0x08
#define GPDM_INSTALL_INSTALL_SELECTABLE 0x0C
#define GPDM_INSTALL_EXTRADITION 0x10
#define GPDM_INSTALL_PERSO 0x20

typedef struct gpdm_bytes {
	const uint8_t *p;
	size_t n;
} gpdm_bytes_t;

/* The fields of one INSTALL, by name; gpdm_install_fields lays out those
 * the P1 uses (GPCS Tables 11-46..11-52), each length-prefixed:
 *   LOAD                 elf, sd, hash, params
 *   INSTALL[_SELECTABLE] elf, module, app, priv, params
 *   MAKE_SELECTABLE      00, 00, app, priv, params
 *   EXTRADITION          sd (the new SD), 00, app, 00, params
 *   PERSO                00, 00, app, 00, 00
 * params is the whole install parameters field (C9 ...). */
typedef struct gpdm_install {
	uint8_t p1;
	gpdm_bytes_t elf, module, app, sd, hash, priv, params;
} gpdm_install_t;

/* INSTALL's data fields without the token field (its length byte
 * neither): what the token signs after P1 P2 Lc'. */
int gpdm_install_fields(const gpdm_install_t *in, uint8_t *out, size_t cap, size_t *len);
/* The whole INSTALL APDU: 80 E6 P1 00 Lc fields ‖ LV(token) 00 (token
 * may be empty: no delegated management). */
int gpdm_install_apdu(const gpdm_install_t *in, const uint8_t *token, size_t token_len,
		      uint8_t *apdu, size_t cap, size_t *len);
/* INSTALL [for install and make selectable] of a security domain from
 * the ROM SD package: priv (3 bytes) must have GPDM_PRIV_SD; params is
 * the install parameters field (NULL: C9 00, no SD-specific data). */
int gpdm_install_sd(const uint8_t *sd_aid, size_t aid_len, const uint8_t priv[3],
		    const uint8_t *params, size_t params_len, uint8_t *apdu, size_t cap, size_t *len);

/* DELETE [card content]: 80 E4 00 p2 Lc 4F aid [9E token] 00; p2 00 the
 * object, 80 with related objects. */
int gpdm_delete_apdu(uint8_t p2, const uint8_t *aid, size_t aid_len, const uint8_t *token,
		     size_t token_len, uint8_t *apdu, size_t cap, size_t *len);
/* DELETE [key]: D0 key identifier and/or D2 key version (kid or kvn < 0:
 * that tag left out; both out is refused). */
int gpdm_delete_key_apdu(int kid, int kvn, uint8_t *apdu, size_t cap, size_t *len);

/* The data a token signs: P1 ‖ P2 ‖ n ‖ fields[0..n).  For INSTALL the
 * fields are gpdm_install_fields' output; for DELETE the command's data
 * up to (not including) tag 9E. */
int gpdm_token_data(uint8_t p1, uint8_t p2, const uint8_t *fields, size_t n, uint8_t *out,
		    size_t cap, size_t *len);
/* Sign token data with the token private key (DER: PKCS#8 or PKCS#1
 * RSAPrivateKey): RSA PKCS#1 v1.5, SHA-1.  sig gets modulus-size bytes. */
int gpdm_token_sign(const uint8_t *key_der, size_t key_len, const uint8_t *data, size_t n,
		    uint8_t *sig, size_t cap, size_t *sig_len);
/* The same with the private key already loaded (OpenSSL's EVP_PKEY): a
 * signer of many tokens (the SE issuer's TSM) decodes its key once. */
struct evp_pkey_st;
int gpdm_token_sign_pkey(struct evp_pkey_st *key, const uint8_t *data, size_t n, uint8_t *sig, size_t cap,
			 size_t *sig_len);
/* Convenience: INSTALL / DELETE with their token computed. */
int gpdm_install_signed(const gpdm_install_t *in, const uint8_t *key_der, size_t key_len,
			uint8_t *apdu, size_t cap, size_t *len);
int gpdm_delete_signed(uint8_t p2, const uint8_t *aid, size_t aid_len, const uint8_t *key_der,
		       size_t key_len, uint8_t *apdu, size_t cap, size_t *len);

/* Receipt data (GPCS §C.5): 02 ‖ counter (2) ‖ LV(card unique data) ‖
 * LV(aid) for each of the n AIDs, in GPCS order:
 *   load         load file AID, SD AID
 *   install      load file AID, application AID
 *   delete       the deleted AID
 *   extradition  original SD AID, application AID, new SD AID */
int gpdm_receipt_data(uint16_t counter, const uint8_t *cud, size_t cud_len,
		      const gpdm_bytes_t *aids, size_t n, uint8_t *out, size_t cap, size_t *len);
/* AES-CMAC of receipt data under the receipt key (16/24/32 bytes). */
int gpdm_receipt(const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
		 uint8_t out[GPDM_RECEIPT_LEN]);

/* The confirmation structure a card answers INSTALL, the last LOAD or
 * DELETE with under delegated management (GPCS Table 11-?? "Response
 * data with receipt"): LV(receipt) ‖ LV(confirmation data), the latter
 * LV(counter) ‖ LV(card unique data) [‖ LV(token id) ‖ LV(token digest)].
 * Pointers go into rsp. */
typedef struct gpdm_confirm {
	gpdm_bytes_t receipt;
	uint16_t counter;
	gpdm_bytes_t cud;
} gpdm_confirm_t;
int gpdm_confirm_parse(const uint8_t *rsp, size_t n, gpdm_confirm_t *c);
/* Parse the response data (SW stripped), rebuild the receipt data from
 * its counter and card unique data and the given AIDs, and check the
 * receipt: GPDM_OK, GPDM_ERR_FORMAT or GPDM_ERR_VERIFY. */
int gpdm_confirm_check(const uint8_t *rsp, size_t n, const uint8_t *key, size_t key_len,
		       const gpdm_bytes_t *aids, size_t n_aids, gpdm_confirm_t *c);

/* DAP block of a load file (GPCS §11.6.2.3): E2 { 4F sd_aid, C3 sig },
 * sig = RSA PKCS#1 v1.5 SHA-1 over the Load File Data Block hash with
 * the DAP private key (DER). */
int gpdm_dap_block(const uint8_t *sd_aid, size_t aid_len, const uint8_t *hash, size_t hash_len,
		   const uint8_t *key_der, size_t key_len, uint8_t *out, size_t cap, size_t *len);

/* PUT KEY (GPCS §11.8, Amd D §7.2).  A new SCP03 key set (old_kvn 0) or
 * its replacement: ENC, MAC, DEK of key_len bytes each, encrypted under
 * dek (the static DEK of the session that carries the command), KCVs
 * appended; P2 81. */
int gpdm_put_keyset(uint8_t old_kvn, uint8_t new_kvn, const uint8_t *enc, const uint8_t *mac,
		    const uint8_t *dekk, size_t key_len, const uint8_t *dek, size_t dek_len,
		    uint8_t *apdu, size_t cap, size_t *len);
/* One AES key (the receipt key: kvn GPDM_KVN_RECEIPT, key identifier 01)
 * under dek, with its KCV. */
int gpdm_put_aes_key(uint8_t old_kvn, uint8_t new_kvn, const uint8_t *key, size_t key_len,
		     const uint8_t *dek, size_t dek_len, uint8_t *apdu, size_t cap, size_t *len);
/* An RSA public key in clear (token or DAP key, key identifier 01):
 * A1 modulus, A0 public exponent (GPCS Table 11-68's key types), no
 * KCV.  pub_der: SubjectPublicKeyInfo or a private key (DER). */
int gpdm_put_rsa_pub(uint8_t old_kvn, uint8_t new_kvn, const uint8_t *pub_der, size_t der_len,
		     uint8_t *apdu, size_t cap, size_t *len);

#endif
