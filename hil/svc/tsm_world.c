/* tsm_world.c — the TSM and its CA from the fixtures (tsm_world.h). */
#include "hil/svc/tsm_world.h"
#include "hil/fixtures/pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/fixtures/profile.h"

#define DEFAULT_TIME "20260105000000Z"

/* The master of the SEs' ISD key sets: KVN 30, the GP test key 40..4F
 * (fixtures/se/default.lua); each SE's own set is diversified from it by
 * the SE's CPLC identity (docs/se.md#diversified-keys), by the SE's
 * profile and by the TSM alike. */
static void se_keys(scp03_keyset_t *k)
{
	memset(k, 0, sizeof *k);
	k->kvn = 0x30;
	k->key_len = 16;
	for (int i = 0; i < 16; i++)
		k->enc[i] = k->mac[i] = k->dek[i] = (uint8_t)(0x40 + i);
}

/* The SE issuer's TSM beside the SP-TSM: it alone holds the ISD keys
 * (the SP-TSM keeps them for se_model = shared_isd only); the SP-TSM's
 * SSD keys come from its own master, KVN 30, 50..5F (a test key of ours,
 * docs/tsm.md#two-tsms). */
static int issuer_open(tsm_world_t *w, const tsm_world_opts_t *o, tsm_config_t *tc, char *err, size_t errlen)
{
	itsm_config_t ic = { 0 };
	char db[4096];

	se_keys(&ic.keys);
	ic.diversify = !o->plain_keys;
	snprintf(db, sizeof db, "%s.issuer", o->db ? o->db : "");
	ic.db = o->db ? db : NULL;
	rng_derive(&w->issuer_rng, &w->rng, "issuer");
	w->issuer_ctx = (sim_ctx_t){ .rng = &w->issuer_rng, .clock = &w->clk };
	if (itsm_open(&w->issuer, &w->issuer_ctx, &ic, err, errlen) < 0)
		return -1;
	tc->issuer = w->issuer;
	tc->ssd_keys.kvn = ITSM_SSD_KVN;
	tc->ssd_keys.key_len = 16;
	for (int i = 0; i < 16; i++)
		tc->ssd_keys.enc[i] = tc->ssd_keys.mac[i] = tc->ssd_keys.dek[i] = (uint8_t)(0x50 + i);
	return 0;
}

/* With a separate CA, the TSM runs on its clock: read before each
 * request (the CA's clock moves only when a test moves it there).  0, or
 * -1 with a 502 answer when the CA does not answer. */
static int sync_clock(tsm_world_t *w, json_t **out)
{
	int64_t now;

	if (!w->ca_url[0])
		return 0;
	if (ca_clock_load(w->ca_app.ca, &now) != CA_OK) {
		*out = json_pack("{s:s, s:n}", "error", ca_error(w->ca_app.ca), "field");
		return -1;
	}
	vclock_set(&w->clk, now);
	return 0;
}

/* A POST's body: {} when empty; -1 with rsp set when it is no JSON
 * object.  A GET has none. */
static int body_of(const http_req_t *req, http_rsp_t *rsp, json_t **body)
{
	*body = NULL;
	if (strcmp(req->method, "POST"))
		return 0;
	*body = req->body_len ? http_json_body(req, rsp) : json_object();
	return *body ? 0 : -1;
}

static void h_tsm(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	tsm_world_t *w = app;
	json_t *body = NULL, *out = NULL;
	int status;

	if (sync_clock(w, &out) < 0) {
		http_set_json(rsp, 502, out);
		return;
	}

	if (body_of(req, rsp, &body) < 0)
		return;
	status = tsm_handle(w->tsm, req->method, req->path, body, &out);
	json_decref(body);
	http_set_json(rsp, status, out);
}

/* The SE issuer's TSM (/v1/issuer/...): SP-TSMs other than this one's
 * (a lab's own) reach it here, as this TSM does in process. */
static void h_issuer(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	tsm_world_t *w = app;
	json_t *body = NULL, *out = NULL;
	int status;

	if (body_of(req, rsp, &body) < 0)
		return;
	status = itsm_handle(w->issuer, req->method, req->path, body, &out);
	json_decref(body);
	http_set_json(rsp, status, out);
}

static void h_wallet(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	tsm_world_t *w = app;
	json_t *body = NULL, *out = NULL;
	int status;

	if (sync_clock(w, &out) < 0) {
		http_set_json(rsp, 502, out);
		return;
	}
	if (!w->wallet) {
		http_set_json(rsp, 503, json_pack("{s:s, s:n}", "error", "no platform fixtures (ios/platform-ca.der): no wallet", "field"));
		return;
	}
	if (body_of(req, rsp, &body) < 0)
		return;
	status = wallet_handle(w->wallet, req->method, req->path, body, &out);
	json_decref(body);
	http_set_json(rsp, status, out);
}

/* The provisioning service, when the fixtures have the platform's PKI
 * (fixtures/ios: the platform CA; keys/pool-57.pem, the issuer key whose
 * public half the iPhones hold). */
static int wallet_start(tsm_world_t *w, const char *fx, char *err, size_t errlen)
{
	char path[4096];
	size_t n[2];
	wallet_config_t wc = { 0 };
	FILE *f;

	snprintf(path, sizeof path, "%s/ios/platform-ca.der", fx);
	if (!(f = fopen(path, "rb")))
		return 0;
	fclose(f);
	if (pki_load_der(path, &w->wallet_blob[0], &n[0], err, errlen) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/keys/pool-57.pem", fx);
	if (pki_load_key(path, &w->wallet_blob[1], &n[1], err, errlen) < 0)
		return -1;
	wc.platform_ca = (ca_blob_t){ w->wallet_blob[0], n[0] };
	wc.issuer_key = (ca_blob_t){ w->wallet_blob[1], n[1] };
	wc.auth_ca = w->pki.auth_cert;
	wc.sign_ca = w->pki.sign_cert;
	return wallet_open(&w->wallet, &w->tsm_ctx, w->ca_app.ca, w->tsm, &wc, err, errlen);
}

static http_route_t routes[64];
static char ca_patterns[64][64];
static size_t nroutes;

/* The CA's routes as they are, under TSM_WORLD_CA_PREFIX ("/ca/ocsp"; the
 * CA's "/", OCSP for `openssl ocsp -url http://HOST:PORT`, becomes "/ca",
 * for -url http://HOST:PORT/ca). */
const http_route_t *tsm_world_routes(size_t *n)
{
	if (!nroutes) {
		size_t cn;
		const http_route_t *ca = http_ca_routes(&cn);
		routes[nroutes++] = (http_route_t)HTTP_GET("/v1/tsm/**", h_tsm);
		routes[nroutes++] = (http_route_t)HTTP_POST("/v1/tsm/**", h_tsm);
		routes[nroutes++] = (http_route_t)HTTP_GET("/v1/wallet/**", h_wallet);
		routes[nroutes++] = (http_route_t)HTTP_POST("/v1/wallet/**", h_wallet);
		for (size_t i = 0; i < cn && nroutes < 64; i++) {
			snprintf(ca_patterns[i], sizeof ca_patterns[i], "%s%s", TSM_WORLD_CA_PREFIX,
				 strcmp(ca[i].pattern, "/") ? ca[i].pattern : "");
			routes[nroutes] = ca[i];
			routes[nroutes++].pattern = ca_patterns[i];
		}
		routes[nroutes++] = (http_route_t)HTTP_GET("/v1/issuer/**", h_issuer);
		routes[nroutes++] = (http_route_t)HTTP_POST("/v1/issuer/**", h_issuer);
	}
	*n = nroutes;
	return routes;
}

/* serve tsm --ca URL: the CA is not here. */
static void h_ca_elsewhere(void *app, const http_req_t *req, http_rsp_t *rsp)
{
	const tsm_world_t *w = app;
	(void)req;

	http_set_error(rsp, 421, NULL, "this TSM's CA is served at %s: reach it there (--target ca=%s)",
		       w->ca_url, w->ca_url);
}

const http_route_t *tsm_world_routes_of(const tsm_world_t *w, size_t *n)
{
	static http_route_t own[66];
	static size_t nown;
	size_t na, plen = strlen(TSM_WORLD_CA_PREFIX);
	const http_route_t *all = tsm_world_routes(&na);

	if (!w->ca_url[0]) {
		*n = na;
		return all;
	}
	if (!nown) {
		for (size_t i = 0; i < na && nown < 64; i++)
			if (strncmp(all[i].pattern, TSM_WORLD_CA_PREFIX, plen) ||
			    (all[i].pattern[plen] && all[i].pattern[plen] != '/'))
				own[nown++] = all[i];
		own[nown++] = (http_route_t)HTTP_GET(TSM_WORLD_CA_PREFIX "/**", h_ca_elsewhere);
		own[nown++] = (http_route_t){ "POST", TSM_WORLD_CA_PREFIX "/**", h_ca_elsewhere, NULL, 1 };
	}
	*n = nown;
	return own;
}

void tsm_world_call(tsm_world_t *w, const char *method, const char *path, const uint8_t *body, size_t n,
		    http_rsp_t *rsp)
{
	size_t nr;
	const http_route_t *r = tsm_world_routes(&nr);
	http_req_t req = { .method = method, .path = path, .content_type = "application/json",
			   .body = body ? body : (const uint8_t *)"", .body_len = body ? n : 0 };

	http_route(r, nr, w, &req, rsp);
}

/* Whether the JSON text could carry v: no string or key holding a NUL
 * (the text's \u0000, which the parser refuses); the rest of a tree
 * (no duplicate keys, numbers in range) always can. */
static int carried(json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_string(v))
		return strlen(json_string_value(v)) == json_string_length(v);
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) if (!carried(x)) return 0;
		return 1;
	}
	if (json_is_object(v)) {
		void *it;
		for (it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
			k = json_object_iter_key(it);
			if (strlen(k) != json_object_iter_key_len(it) || !carried(json_object_iter_value(it)))
				return 0;
		}
	}
	return 1;
}

int tsm_world_call_json(tsm_world_t *w, const char *method, const char *path, json_t *body, json_t **out)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");

	*out = NULL;
	if (sync_clock(w, out) < 0)
		return 502;
	if (strncmp(path, "/v1/tsm/", 8) || !path[8] || (!get && !post)) {
		/* not what h_tsm's routes match: through the text, as before */
		http_rsp_t rsp = { 0 };
		char *text = post && body ? json_dumps(body, JSON_COMPACT) : NULL;
		tsm_world_call(w, method, path, (const uint8_t *)text, text ? strlen(text) : 0, &rsp);
		*out = rsp.body ? json_loadb((const char *)rsp.body, rsp.len, 0, NULL) : NULL;
		free(rsp.body);
		free(text);
		return rsp.status;
	}
	if (get)
		body = NULL; /* as h_tsm: a GET's body is not read */
	else if (!body)
		body = json_object(); /* as h_tsm: an empty POST is {} */
	else if (!json_is_object(body) || !carried(body)) {
		/* what http_json_body answers a text that is not an object, or not JSON */
		*out = json_pack("{s:s, s:s}", "error",
				 json_is_object(body) ? "body: not JSON (a string holds a NUL)"
						      : "body: a JSON object is needed",
				 "field", "body");
		return 400;
	} else
		json_incref(body);
	{
		int status = tsm_handle(w->tsm, method, path, body, out);
		json_decref(body);
		return *out ? status : 500; /* as http_set_json: out of memory */
	}
}

int tsm_world_open(tsm_world_t **out, const tsm_world_opts_t *o, char *err, size_t errlen)
{
	tsm_world_t *w = calloc(1, sizeof *w);
	const char *fx = o->fixtures ? o->fixtures : profile_fixtures_dir();
	char cadb[4096];
	int64_t start = 0;
	tsm_config_t tc = { 0 };

	*out = NULL;
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pki_load_ca(fx, &w->pki, err, errlen) < 0)
		goto fail;
	if (o->time && vclock_parse(o->time, &start) < 0) {
		snprintf(err, errlen, "time: YYYYMMDDhhmmssZ");
		goto fail;
	}
	rng_seed(&w->rng, o->seed);
	rng_derive(&w->tsm_rng, &w->rng, "tsm");
	w->ctx = (sim_ctx_t){ .rng = &w->rng, .clock = &w->clk };
	w->tsm_ctx = (sim_ctx_t){ .rng = &w->tsm_rng, .clock = &w->clk };
	w->ca_app.clk = &w->clk;
	vclock_set(&w->clk, start);
	snprintf(cadb, sizeof cadb, "%s.ca", o->db ? o->db : "");
	if (o->ca_url) {
		if (o->time) {
			snprintf(err, errlen, "time: the clock is the CA's at %s", o->ca_url);
			goto fail;
		}
		snprintf(w->ca_url, sizeof w->ca_url, "%s", o->ca_url);
		if (http_ca_remote(&w->ca_app.ca, o->ca_url, o->ca_token, err, errlen) != 0 ||
		    ca_clock_load(w->ca_app.ca, &start) != CA_OK)
			goto fail;
		vclock_set(&w->clk, start);
		goto tsm;
	}
	{
		ca_config_t cfg = w->pki;
		cfg.db = o->db ? cadb : NULL;
		cfg.base_url = o->base_url;
		if (ca_open(&w->ca_app.ca, &w->ctx, &cfg, err, errlen) != CA_OK)
			goto fail;
	}
	if (!o->time && ca_clock_load(w->ca_app.ca, &start) != CA_OK)
		vclock_parse(DEFAULT_TIME, &start);
	vclock_set(&w->clk, start);
	if (ca_clock_save(w->ca_app.ca) != CA_OK) {
		snprintf(err, errlen, "%s", ca_error(w->ca_app.ca));
		goto fail;
	}
	if ((w->ncards = pki_import_cards(w->ca_app.ca, fx, err, errlen)) < 0)
		goto fail;
tsm:
	se_keys(&tc.keys);
	tc.diversify = !o->plain_keys;
	if (issuer_open(w, o, &tc, err, errlen) < 0)
		goto fail;
	if (o->sp_without_isd)
		memset(tc.keys.enc, 0, sizeof tc.keys.enc), memset(tc.keys.mac, 0, sizeof tc.keys.mac),
			memset(tc.keys.dek, 0, sizeof tc.keys.dek); /* no ISD key */
	tc.db = o->db;
	tc.auth_ca = w->pki.auth_cert;
	tc.sign_ca = w->pki.sign_cert;
	if (tsm_open(&w->tsm, &w->tsm_ctx, w->ca_app.ca, &tc, err, errlen) < 0)
		goto fail;
	if (wallet_start(w, fx, err, errlen) < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	tsm_world_close(w);
	return -1;
}

void tsm_world_close(tsm_world_t *w)
{
	if (!w)
		return;
	wallet_close(w->wallet);
	free(w->wallet_blob[0]);
	free(w->wallet_blob[1]);
	tsm_close(w->tsm);
	itsm_close(w->issuer);
	ca_close(w->ca_app.ca);
	pki_free_ca(&w->pki);
	free(w);
}
