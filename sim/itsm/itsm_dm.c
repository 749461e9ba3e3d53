/* itsm_dm.c — delegated management seen from the issuer
 * (docs/tsm.md#two-tsms, GPCS §C.4, §C.5): the tokens it signs for an
 * SP-TSM and the receipts it checks.
 *
 * A token is signed only for the SP's own content on an SE where the
 * issuer made that SP's SSD: INSTALL [for load] of the SP's load file
 * into its SSD, INSTALL [for install] of its applet from that load file
 * (no security-domain privilege), DELETE of the applet or the load file.
 * Anything else (another SP's SSD, another AID, extradition, registry
 * update, a second SD) is refused (403) and nothing is signed.
 *
 * A receipt is the SE's AES-CMAC under the receipt key the issuer put
 * in the ISD (PUT KEY 71): checked here over the AIDs the operation
 * names (the card unique data is the SE's IIN ‖ CIN, as it says; the
 * key, diversified by the SE's KDD, binds the receipt to that SE) and a
 * confirmation counter above the last one seen for that SE. */
#include "itsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "../core/apdu.h"
#include "../gp/gpdm.h"
#include "../tsm/tsm.h"

/* The SP's SSD on this SE, made by the issuer: 0, or -1 with *out (403). */
static int ssd_made(itsm_t *it, long sp, const char *dev, json_t **out)
{
	char id[96];
	json_t *r;

	snprintf(id, sizeof id, "ssd/%s/%s", dev, it->sps[sp].name);
	if (!(r = itsm_rec_get(it, id))) {
		*out = tsm_jerr("device", "the issuer made no SSD of %s on this SE", it->sps[sp].name);
		return -1;
	}
	json_decref(r);
	return 0;
}

/* lv field i of data equal to the hex AID want (want NULL: empty). */
static int lv_is(const uint8_t *v, size_t n, const char *want)
{
	uint8_t a[16];
	long an = want ? apdu_unhex(want, a, sizeof a) : 0;

	return an >= 0 && (size_t)an == n && (!n || !memcmp(v, a, n));
}

/* Split data into exactly k length-prefixed fields. */
static int lvs(const uint8_t *p, size_t n, size_t k, const uint8_t **v, size_t *vn)
{
	for (size_t i = 0; i < k; i++) {
		if (!n || p[0] >= 0x80 || (size_t)p[0] + 1 > n)
			return -1;
		v[i] = p + 1;
		vn[i] = p[0];
		n -= 1u + p[0];
		p += 1u + p[0];
	}
	return n ? -1 : 0;
}

/* Why the command is none the SP may have a token for; NULL if it may. */
static const char *refusal(const itsm_sp_t *sp, int ins, int p1, int p2, const uint8_t *d, size_t n)
{
	const uint8_t *v[5];
	size_t vn[5];

	if (ins == 0xE6) {
		if (p2 != 0)
			return "INSTALL: P2 must be 00";
		if (p1 == GPDM_INSTALL_LOAD) {
			if (lvs(d, n, 4, v, vn) < 0)
				return "INSTALL [for load]: fields do not parse";
			if (!lv_is(v[0], vn[0], sp->elf))
				return "INSTALL [for load]: not the service provider's load file";
			if (!lv_is(v[1], vn[1], sp->ssd))
				return "INSTALL [for load]: not into the service provider's own SSD";
			return NULL;
		}
		if (p1 == GPDM_INSTALL_INSTALL || p1 == GPDM_INSTALL_INSTALL_SELECTABLE) {
			if (lvs(d, n, 5, v, vn) < 0)
				return "INSTALL [for install]: fields do not parse";
			if (!lv_is(v[0], vn[0], sp->elf) || !lv_is(v[1], vn[1], sp->module) || !lv_is(v[2], vn[2], sp->app))
				return "INSTALL [for install]: not the service provider's applet";
			if (vn[3] && (v[3][0] & GPDM_PRIV_SD))
				return "INSTALL [for install]: a security domain is the issuer's to install";
			return NULL;
		}
		return "only INSTALL [for load] and [for install] take a token from this issuer";
	}
	if (ins == 0xE4) {
		if (p1 != 0 || (p2 != 0 && p2 != 0x80))
			return "DELETE: P1 00, P2 00 or 80";
		if (n < 2 || d[0] != 0x4F || (size_t)d[1] + 2 != n)
			return "DELETE: one AID (4F), nothing else";
		if (!lv_is(d + 2, d[1], sp->app) && !lv_is(d + 2, d[1], sp->elf))
			return "DELETE: not the service provider's applet or load file";
		return NULL;
	}
	return "only INSTALL, LOAD (its INSTALL [for load]) and DELETE take a token";
}

int itsm_h_token(itsm_t *it, json_t *body, json_t **out)
{
	char dev[24];
	uint8_t kdd[SCP03_KDD_LEN], data[256], td[300], sig[GPDM_SIG_MAX];
	const char *ins_s = json_string_value(json_object_get(body, "ins"));
	json_t *p1j = json_object_get(body, "p1"), *p2j = json_object_get(body, "p2");
	long sp, dn;
	size_t tn, sn;
	int ins;
	const char *why;

	if ((sp = itsm_sp_of(it, body, out)) < 0)
		return 403;
	if (itsm_device_of(body, dev, kdd, out) < 0)
		return 400;
	if (!ins_s || (strcmp(ins_s, "E6") && strcmp(ins_s, "E4") && strcmp(ins_s, "e6") && strcmp(ins_s, "e4")) ||
	    !json_is_integer(p1j) || !json_is_integer(p2j) || json_integer_value(p1j) < 0 || json_integer_value(p1j) > 255 ||
	    json_integer_value(p2j) < 0 || json_integer_value(p2j) > 255 ||
	    (dn = itsm_unhex(json_object_get(body, "data"), data, sizeof data)) < 0) {
		*out = tsm_jerr("ins", "a token request: ins \"E6\" or \"E4\", p1 and p2 (0..255), data (hex, the "
					"command's data without the token)");
		return 400;
	}
	ins = ins_s[1] == '6' ? 0xE6 : 0xE4;
	if (ssd_made(it, sp, dev, out) < 0) {
		it->st.refused++;
		return 403;
	}
	if ((why = refusal(&it->sps[sp], ins, (int)json_integer_value(p1j), (int)json_integer_value(p2j), data,
			   (size_t)dn))) {
		it->st.refused++;
		*out = tsm_jerr("data", "%s", why);
		return 403;
	}
	if (gpdm_token_data((uint8_t)json_integer_value(p1j), (uint8_t)json_integer_value(p2j), data, (size_t)dn, td,
			    sizeof td, &tn) != GPDM_OK ||
	    gpdm_token_sign_pkey(it->tok_key, td, tn, sig, sizeof sig, &sn) != GPDM_OK) {
		*out = tsm_jerr(NULL, "internal: signing the token failed");
		return 500;
	}
	it->st.tokens++;
	*out = json_pack("{s:o}", "token", tsm_jhex(sig, sn));
	return 200;
}

/* The AIDs a receipt of kind covers (GPCS §C.5 order), for this SP. */
static int receipt_aids(const itsm_sp_t *sp, const char *kind, json_t *aids, const char **want, size_t *n)
{
	const char *a0 = json_string_value(json_array_get(aids, 0));

	if (!kind)
		return -1;
	if (!strcmp(kind, "load"))
		want[0] = sp->elf, want[1] = sp->ssd, *n = 2;
	else if (!strcmp(kind, "install"))
		want[0] = sp->elf, want[1] = sp->app, *n = 2;
	else if (!strcmp(kind, "delete"))
		want[0] = a0 && !strcasecmp(a0, sp->elf) ? sp->elf : sp->app, *n = 1;
	else
		return -1;
	if (json_array_size(aids) != *n)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (!json_string_value(json_array_get(aids, i)) || strcasecmp(json_string_value(json_array_get(aids, i)), want[i]))
			return -1;
	return 0;
}

int itsm_h_receipt(itsm_t *it, json_t *body, json_t **out)
{
	char dev[24], id[64];
	uint8_t kdd[SCP03_KDD_LEN], conf[128], key[16], ab[3][16];
	gpdm_bytes_t aids[3];
	const char *want[3];
	gpdm_confirm_t c;
	size_t na = 0;
	long sp, cn;
	json_t *se;
	int rc;

	if ((sp = itsm_sp_of(it, body, out)) < 0)
		return 403;
	if (itsm_device_of(body, dev, kdd, out) < 0)
		return 400;
	if ((cn = itsm_unhex(json_object_get(body, "confirmation"), conf, sizeof conf)) < 0) {
		*out = tsm_jerr("confirmation", "confirmation: the SE's answer data (hex), receipt and confirmation data");
		return 400;
	}
	if (ssd_made(it, sp, dev, out) < 0)
		return 403;
	if (receipt_aids(&it->sps[sp], json_string_value(json_object_get(body, "kind")), json_object_get(body, "aids"),
			 want, &na) < 0) {
		*out = tsm_jerr("aids", "kind load, install or delete with the service provider's own AIDs in GPCS order");
		return 403;
	}
	for (size_t i = 0; i < na; i++)
		aids[i] = (gpdm_bytes_t){ ab[i], (size_t)apdu_unhex(want[i], ab[i], 16) };
	if (itsm_receipt_key(it, kdd, key) < 0) {
		*out = tsm_jerr(NULL, "internal: key derivation failed");
		return 500;
	}
	rc = gpdm_confirm_check(conf, (size_t)cn, key, 16, aids, na, &c);
	OPENSSL_cleanse(key, sizeof key);
	if (rc != GPDM_OK) {
		it->st.bad_receipts++;
		*out = tsm_jerr("confirmation", "%s", rc == GPDM_ERR_FORMAT ? "no confirmation structure"
										: "the receipt does not verify");
		return 422;
	}
	snprintf(id, sizeof id, "se/%s", dev);
	se = itsm_rec_get(it, id);
	if (!se || (json_int_t)c.counter <= json_integer_value(json_object_get(se, "counter"))) {
		*out = tsm_jerr("confirmation", "confirmation counter %u is not above the last one seen (%lld)",
				 (unsigned)c.counter, se ? (long long)json_integer_value(json_object_get(se, "counter")) : 0LL);
		json_decref(se);
		it->st.bad_receipts++;
		return 409;
	}
	json_object_set_new(se, "counter", json_integer(c.counter));
	rc = itsm_rec_put(it, id, se);
	json_decref(se);
	if (rc < 0) {
		*out = tsm_jerr(NULL, "internal: records");
		return 500;
	}
	it->st.receipts++;
	*out = json_pack("{s:i}", "counter", c.counter);
	return 200;
}
