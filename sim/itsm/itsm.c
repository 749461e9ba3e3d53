/* itsm.c — the SE issuer's TSM (itsm.h, docs/tsm.md#two-tsms): open /
 * close, the routing of requests, its records and JSON helpers;
 * itsm_int.h says where the rest is. */
#include "itsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../core/apdu.h"
#include "../gp/gpdm.h"
#include "../gp/gpkdiv.h"
#include "../tsm/tsm.h"

/* The built-in token key: a 1024-bit RSA key made once with
 * `openssl genrsa -traditional 1024` for the simulator, public like the
 * GP test keys (tests/unit/test_se_ssd.c signs its tokens with it too).
 * A bench with its own SEs passes its own (itsm_config_t.token_key). */
const char itsm_test_token_key[] =
	"3082025E02010002818100D532801985F4EA14C66D238F440BE2F9DA97A0D3CAF8152E0CF3296F31797D8DB4ECB6E868"
	"6095584EC41E76114FA9F44F970A5AF35B62DAF8FFE84A145CEB48F918CA0E53CC14DC14EA3333FD8C687DB3C27EE898"
	"9DA05EBDD1689E292931115A46446B264D3B0AB016D329AED789A266AD901254F9FA1634A6CF6B6AFF98150203010001"
	"02818100AFAA9CC26B0E12926BAD21CFBA51D103EE89618B2182A870F95AA2996C3A9EA9549A775BA8256CE9067DB25B"
	"B687DD91E0C2A355AD8F6F34DE567E200C074415AB9F48E35269C8B01B6DA9080980B213E7ABD93C7F6C03D0B284B399"
	"9D91DB3FF6E2275DCB3FF9E520422C8FD70E0F424D87A8AF6FC11F5D7CED4961E2BAB741024100ED56F0E5F8FB7E2ED0"
	"2C3E24BF179ECA594470C19F29FFD9ACB880E5E17A87A6BE9FD5DD33EB593A902861BE1D6AD678C9840F76A046907340"
	"4D513A654D9E53024100E5F5A23A816FE693EA1C117A1B72751A9E13DBBF3E6FBE44F12357FD1274AB4DD99C6D7E283F"
	"6BC368CA5A469C6EDE9FBB00223702AC83A90A4BA871E4DE12F7024100DAA36DD61D10E9040D07C4D3AB2A0240DC0D3D"
	"6650CEAB0006AA0D2C3813DD65115442FABCBA80FF7F0F844353EC38D91AA2CA6FF86428EBD2FFA6E589AF003B024065"
	"BF02118AD5BD1AB319CA2DD1D919B1364229177C03AB170BEE8C6EDFEC9922EFE6C3976F2D687BE470ABF2D42246043C"
	"94398F4772972A82F0A8CE03EAB24F024100D1D57221D7A54F6A81E892DC1E72015821247DDB5A32D7E427D8B24AB3AF"
	"021EB28056EB6E5EDBF65E4E606AD243A30C917818ADFC3A8DB31C734CD86A6C4D08";

/* The purpose byte of the receipt key's derivation (gpkdiv_kdf3 from the
 * master DEK by the SE's KDD): ours, beside GP's 01..03 (docs/tsm.md). */
#define KDIV_RECEIPT 0x71

static const itsm_sp_t default_sp = { ITSM_SP_JPKI, ITSM_SSD_JPKI, "D392F000260100", "D392F00026010001",
				      "D392F000260100000001" };

/* ------------------------------------------------------------ JSON helpers
 * (the errors and hex strings of tsm.h, which the SP-TSM and the
 * platform's service share) */

long itsm_unhex(json_t *v, uint8_t *out, size_t cap)
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;

	if (!s || n % 2 || n / 2 > cap)
		return -1;
	return apdu_unhex(s, out, cap) == (long)(n / 2) ? (long)(n / 2) : -1;
}

long itsm_sp_of(itsm_t *it, json_t *body, json_t **out)
{
	const char *sp = json_string_value(json_object_get(body, "sp"));

	for (size_t i = 0; sp && i < it->nsps; i++)
		if (!strcmp(it->sps[i].name, sp))
			return (long)i;
	*out = tsm_jerr("sp", "%s", sp ? "not a service provider of this issuer" : "sp: a string is needed");
	return -1;
}

int itsm_device_of(json_t *body, char dev[24], uint8_t kdd[SCP03_KDD_LEN], json_t **out)
{
	const char *d = json_string_value(json_object_get(body, "device"));

	if (!d || strlen(d) != 2 * SCP03_KDD_LEN || apdu_unhex(d, kdd, SCP03_KDD_LEN) != SCP03_KDD_LEN) {
		*out = tsm_jerr("device", "device: the SE's identity, 20 hex digits (its KDD)");
		return -1;
	}
	snprintf(dev, 24, "%s", d);
	for (char *p = dev; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	return 0;
}

/* ------------------------------------------------------------ keys */

int itsm_isd_keys(const itsm_t *it, const uint8_t kdd[SCP03_KDD_LEN], scp03_keyset_t *out)
{
	if (!it->diversify) {
		*out = it->keys;
		return 0;
	}
	return gpkdiv_keyset(&it->keys, kdd, out) < 0 ? -1 : 0;
}

int itsm_receipt_key(const itsm_t *it, const uint8_t kdd[SCP03_KDD_LEN], uint8_t key[16])
{
	return gpkdiv_kdf3(it->keys.dek, 16, KDIV_RECEIPT, kdd, key) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ records */

json_t *itsm_rec_get(itsm_t *it, const char *id)
{
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL;

	if (sqlite3_prepare_v2(it->db, "SELECT doc FROM rec WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	sqlite3_finalize(st);
	return doc;
}

int itsm_rec_put(itsm_t *it, const char *id, json_t *doc)
{
	sqlite3_stmt *st = NULL;
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = -1;

	if (text && sqlite3_prepare_v2(it->db, "INSERT OR REPLACE INTO rec(id, doc) VALUES (?, ?)", -1, &st, NULL) ==
			    SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	free(text);
	return rc;
}

/* What the issuer knows of one SE: its delegated-management keys, the
 * confirmation counter, each SP's SSD. */
static int h_se(itsm_t *it, const char *dev, json_t **out)
{
	char id[64];
	json_t *se, *ssds = json_object();

	snprintf(id, sizeof id, "se/%s", dev);
	se = itsm_rec_get(it, id);
	for (size_t i = 0; i < it->nsps; i++) {
		json_t *r;
		snprintf(id, sizeof id, "ssd/%s/%s", dev, it->sps[i].name);
		if ((r = itsm_rec_get(it, id)))
			json_object_set_new(ssds, it->sps[i].name, r);
	}
	if (!se && !json_object_size(ssds)) {
		json_decref(ssds);
		*out = tsm_jerr("device", "no such SE");
		return 404;
	}
	*out = json_pack("{s:s, s:b, s:I, s:o}", "device", dev, "dm_keys", se && json_is_true(json_object_get(se, "dm")),
			 "counter", se ? json_integer_value(json_object_get(se, "counter")) : (json_int_t)0, "ssds", ssds);
	json_decref(se);
	return 200;
}

/* ------------------------------------------------------------ the API */

int itsm_handle(itsm_t *it, const char *method, const char *path, json_t *body, json_t **out)
{
	int post = !strcmp(method, "POST");
	const char *p;

	*out = NULL;
	if (strncmp(path, "/v1/issuer/", 11)) {
		*out = tsm_jerr(NULL, "no such resource");
		return 404;
	}
	p = path + 11;
	if (post && !json_is_object(body)) {
		*out = tsm_jerr("body", "a JSON object is needed");
		return 400;
	}
	if (post && !strcmp(p, "ssd"))
		return itsm_h_ssd(it, body, out);
	if (post && !strncmp(p, "ssd/", 4) && p[4] && !strchr(p + 4, '/'))
		return itsm_h_ssd_step(it, p + 4, body, out);
	if (post && !strcmp(p, "tokens"))
		return itsm_h_token(it, body, out);
	if (post && !strcmp(p, "receipts"))
		return itsm_h_receipt(it, body, out);
	if (!strcmp(method, "GET") && !strncmp(p, "ses/", 4) && strlen(p + 4) == 20) {
		char dev[24];
		uint8_t kdd[SCP03_KDD_LEN];
		json_t *b = json_pack("{s:s}", "device", p + 4);
		int rc = itsm_device_of(b, dev, kdd, out);
		json_decref(b);
		return rc < 0 ? 400 : h_se(it, dev, out);
	}
	*out = tsm_jerr(NULL, "no such resource");
	return (post || !strcmp(method, "GET")) ? 404 : 405;
}

void itsm_get_stats(const itsm_t *it, itsm_stats_t *s)
{
	*s = it->st;
}

/* ------------------------------------------------------------ open / close */

static int load_token_key(itsm_t *it, const itsm_config_t *cfg)
{
	const uint8_t *p;
	uint8_t *pub = NULL;
	int pn, rc;

	if (cfg->token_key) {
		if (!(it->tok = malloc(cfg->token_key_len)))
			return -1;
		memcpy(it->tok, cfg->token_key, cfg->token_key_len);
		it->tokn = cfg->token_key_len;
	} else {
		size_t n = strlen(itsm_test_token_key) / 2;
		if (!(it->tok = malloc(n)) || apdu_unhex(itsm_test_token_key, it->tok, n) != (long)n)
			return -1;
		it->tokn = n;
	}
	p = it->tok;
	if (!(it->tok_key = d2i_AutoPrivateKey(NULL, &p, (long)it->tokn)) ||
	    EVP_PKEY_get_base_id(it->tok_key) != EVP_PKEY_RSA || (pn = i2d_PUBKEY(it->tok_key, &pub)) <= 0)
		return -1;
	rc = gpdm_put_rsa_pub(0, GPDM_KVN_TOKEN, pub, (size_t)pn, it->put70, sizeof it->put70, &it->put70n);
	OPENSSL_free(pub);
	return rc == GPDM_OK ? 0 : -1;
}

static char *dup_s(const char *s)
{
	char *d = s ? malloc(strlen(s) + 1) : NULL;

	if (d)
		memcpy(d, s, strlen(s) + 1);
	return d;
}

int itsm_open(itsm_t **out, sim_ctx_t *ctx, const itsm_config_t *cfg, char *err, size_t errlen)
{
	itsm_t *it = calloc(1, sizeof *it);
	const itsm_sp_t *sps = cfg->sps ? cfg->sps : &default_sp;
	size_t nsps = cfg->sps ? cfg->nsps : 1;

	*out = NULL;
	if (!it || !ctx || !ctx->rng) {
		snprintf(err, errlen, "issuer: %s", it ? "a context with an rng is needed" : "out of memory");
		free(it);
		return -1;
	}
	it->ctx = ctx;
	it->keys = cfg->keys;
	it->diversify = cfg->diversify;
	it->level = cfg->level ? cfg->level : 0x13;
	if (cfg->keys.key_len != 16 && cfg->keys.key_len != 24 && cfg->keys.key_len != 32) {
		snprintf(err, errlen, "issuer: the ISD key set needs 16, 24 or 32-byte keys");
		goto fail;
	}
	if (load_token_key(it, cfg) < 0) {
		snprintf(err, errlen, "issuer: the token key is no RSA private key (DER)");
		goto fail;
	}
	if (!(it->sps = calloc(nsps, sizeof *it->sps)))
		goto nomem;
	it->nsps = nsps;
	for (size_t i = 0; i < nsps; i++) {
		const itsm_sp_t *s = &sps[i];
		if (!s->name || !s->ssd || !s->elf || !s->module || !s->app) {
			snprintf(err, errlen, "issuer: service provider %zu: name, ssd, elf, module and app are needed", i);
			goto fail;
		}
		it->sps[i] = (itsm_sp_t){ dup_s(s->name), dup_s(s->ssd), dup_s(s->elf), dup_s(s->module), dup_s(s->app) };
		if (!it->sps[i].name || !it->sps[i].ssd || !it->sps[i].elf || !it->sps[i].module || !it->sps[i].app)
			goto nomem;
	}
	if (sqlite3_open_v2(cfg->db ? cfg->db : ":memory:", &it->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_busy_timeout(it->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(it->db, "CREATE TABLE IF NOT EXISTS rec(id TEXT PRIMARY KEY, doc TEXT NOT NULL)", NULL, NULL,
			 NULL) != SQLITE_OK) {
		snprintf(err, errlen, "issuer: %s: %s", cfg->db ? cfg->db : ":memory:",
			 it->db ? sqlite3_errmsg(it->db) : "cannot open");
		goto fail;
	}
	*out = it;
	return 0;
nomem:
	snprintf(err, errlen, "issuer: out of memory");
fail:
	itsm_close(it);
	return -1;
}

void itsm_close(itsm_t *it)
{
	if (!it)
		return;
	itsm_flights_free(it);
	sqlite3_close(it->db);
	for (size_t i = 0; i < it->nsps; i++) {
		free((char *)it->sps[i].name);
		free((char *)it->sps[i].ssd);
		free((char *)it->sps[i].elf);
		free((char *)it->sps[i].module);
		free((char *)it->sps[i].app);
	}
	free(it->sps);
	if (it->tok)
		OPENSSL_cleanse(it->tok, it->tokn);
	free(it->tok);
	EVP_PKEY_free(it->tok_key);
	OPENSSL_cleanse(&it->keys, sizeof it->keys);
	free(it);
}
