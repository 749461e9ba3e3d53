/* wallet.c — the provisioning service's API (wallet.h): open / close, the
 * routes under /v1/wallet, sessions and their steps.  What each operation
 * does is wallet_ops.c's. */
#include "wallet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/apdu.h"

/* ------------------------------------------------------------ helpers */

int wallet_unhex(const char *s, uint8_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!s || strlen(s) % 2 || strspn(s, "0123456789abcdefABCDEF") != strlen(s))
		return -1;
	return tsm_unhex(s, out, n);
}

void wallet_fail(wsess_t *x, int status, const char *field, const char *msg)
{
	json_object_set_new(x->doc, "state", json_string("failed"));
	json_object_set_new(x->doc, "error", json_pack("{s:s, s:s?}", "error", msg, "field", field));
	x->status = status;
	x->w->st.failed++;
}

int wallet_tsm(wallet_t *w, const char *method, const char *path, json_t *body, json_t **out)
{
	return tsm_handle(w->tsm, method, path, body, out);
}

void wallet_fault(wallet_t *w, int nth_ca_call)
{
	w->fault_at = nth_ca_call;
	w->ca_calls = 0;
	w->crashed = 0;
}

void wallet_device_id(const uint8_t id[16], char out[37])
{
	memcpy(out, "ios-", 4);
	apdu_hex(id, 16, out + 4);
}

void wallet_get_stats(const wallet_t *w, wallet_stats_t *s)
{
	*s = w->st;
}

/* ------------------------------------------------------------ open / close */

int wallet_open(wallet_t **out, sim_ctx_t *ctx, ca_t *ca, tsm_t *tsm, const wallet_config_t *cfg, char *err,
		size_t errlen)
{
	wallet_t *w = calloc(1, sizeof *w);
	const uint8_t *p;

	*out = NULL;
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->ctx = ctx;
	w->ca = ca;
	w->tsm = tsm;
	{
		/* The stream from the TSM's, which survives a restart (the
		 * broker's seed): the same challenges and request nonces are
		 * never drawn twice against one store (a request the CA saw
		 * would be answered with its old certificate). */
		json_t *o = NULL, *b = json_object();
		char label[40];
		snprintf(label, sizeof label, "wallet");
		if (tsm_handle(tsm, "POST", "/v1/tsm/platform/seed", b, &o) == 200 && wallet_jstr(o, "seed"))
			snprintf(label, sizeof label, "wallet/%s", wallet_jstr(o, "seed"));
		json_decref(o);
		json_decref(b);
		rng_derive(&w->rng, ctx->rng, label);
	}
	w->policy = cfg->policy ? json_deep_copy(cfg->policy) : NULL;
	p = cfg->platform_ca.p;
	if (!p || !(w->platform_ca = d2i_X509(NULL, &p, (long)cfg->platform_ca.n))) {
		snprintf(err, errlen, "wallet: the platform CA certificate is not DER X.509");
		goto fail;
	}
	p = cfg->issuer_key.p;
	if (!p || !(w->issuer = d2i_AutoPrivateKey(NULL, &p, (long)cfg->issuer_key.n))) {
		snprintf(err, errlen, "wallet: the credential signing key is not a DER private key");
		goto fail;
	}
	if (!cfg->auth_ca.n || !cfg->sign_ca.n || !(w->auth_ca = malloc(cfg->auth_ca.n)) ||
	    !(w->sign_ca = malloc(cfg->sign_ca.n))) {
		snprintf(err, errlen, "wallet: the J-LIS CA certificates are missing");
		goto fail;
	}
	memcpy(w->auth_ca, cfg->auth_ca.p, w->auth_ca_n = cfg->auth_ca.n);
	memcpy(w->sign_ca, cfg->sign_ca.p, w->sign_ca_n = cfg->sign_ca.n);
	*out = w;
	return 0;
fail:
	wallet_close(w);
	return -1;
}

void wallet_close(wallet_t *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < WALLET_SESSIONS; i++)
		json_decref(w->sessions[i]);
	X509_free(w->platform_ca);
	EVP_PKEY_free(w->issuer);
	free(w->auth_ca);
	free(w->sign_ca);
	json_decref(w->policy);
	free(w);
}

/* ------------------------------------------------------------ sessions */

static json_t **find(wallet_t *w, const char *id)
{
	for (size_t i = 0; id && i < WALLET_SESSIONS; i++)
		if (w->sessions[i] && !strcmp(wallet_jstr(w->sessions[i], "id"), id))
			return &w->sessions[i];
	return NULL;
}

/* A free place: an empty one, else the oldest finished session's. */
static json_t **room(wallet_t *w)
{
	json_t **old = NULL;

	for (size_t i = 0; i < WALLET_SESSIONS; i++) {
		if (!w->sessions[i])
			return &w->sessions[i];
		if (strcmp(wallet_jstr(w->sessions[i], "state"), "open") &&
		    (!old || json_integer_value(json_object_get(w->sessions[i], "n")) <
				     json_integer_value(json_object_get(*old, "n"))))
			old = &w->sessions[i];
	}
	if (old) {
		json_decref(*old);
		*old = NULL;
	}
	return old;
}

static json_t *answer(wsess_t *x, json_t *action)
{
	json_t *a = json_pack("{s:O, s:O, s:O, s:O, s:O}", "session", json_object_get(x->doc, "id"), "op",
			      json_object_get(x->doc, "op"), "step", json_object_get(x->doc, "step"), "state",
			      json_object_get(x->doc, "state"), "device", json_object_get(x->doc, "device"));

	if (action)
		json_object_update(a, action);
	else
		json_object_set_new(a, "action", json_string("failed"));
	if (!action)
		json_object_set(a, "error", json_object_get(x->doc, "error"));
	return a;
}

static const char *const ops[] = { "issue", "reissue", "renew", "revoke", "lift", "pin_reset", "sync", NULL };
static const char *const fields[] = { "op", "device", "card_serial", "liveness", "policy", "reason", "slot", "certs",
				      NULL };

static int known(const char *s, const char *const *list)
{
	for (size_t i = 0; s && list[i]; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

static int begin(wallet_t *w, json_t *b, json_t **out)
{
	const char *op = wallet_jstr(b, "op"), *dev = wallet_jstr(b, "device"), *k;
	json_t *v, *rec = NULL, **slot, *action;
	wsess_t x = { w, NULL, NULL, 0 };
	uint8_t *id = NULL, r4[4];
	size_t idn;
	char sid[40], did[37], path[96];
	int rc;

	if (!json_is_object(b)) {
		*out = tsm_jerr("body", "body: a JSON object");
		return 400;
	}
	json_object_foreach(b, k, v) if (!known(k, fields)) {
		*out = tsm_jerr(k, "%s: unknown field", k);
		return 400;
	}
	if (!known(op, ops)) {
		*out = tsm_jerr("op", "op: one of issue reissue renew revoke lift pin_reset sync");
		return 400;
	}
	if (wallet_unhex(dev, &id, &idn) < 0 || idn != IOS_DEVICE_ID_LEN) {
		free(id);
		*out = tsm_jerr("device", "device: the iPhone's device id, %d bytes in hex", IOS_DEVICE_ID_LEN);
		return 400;
	}
	wallet_device_id(id, did);
	free(id);
	if (json_object_get(b, "policy") && !json_is_object(json_object_get(b, "policy"))) {
		*out = tsm_jerr("policy", "policy: an object of switches");
		return 400;
	}
	if (json_object_get(b, "reason") &&
	    (strcmp(op, "revoke") || !wallet_jstr(b, "reason") || ca_reason_parse(wallet_jstr(b, "reason")) < 0)) {
		*out = tsm_jerr("reason", "reason: a CRLReason name, for a revocation");
		return 400;
	}
	if (json_object_get(b, "certs") &&
	    (strcmp(op, "revoke") || !known(wallet_jstr(b, "certs"), (const char *const[]){ "auth", "sign", "both", NULL }))) {
		*out = tsm_jerr("certs", "certs: auth, sign or both (the default), for a revocation");
		return 400;
	}
	if (!strcmp(op, "pin_reset") != !!json_object_get(b, "slot") ||
	    (json_object_get(b, "slot") && !known(wallet_jstr(b, "slot"), (const char *const[]){ "auth", "sign", NULL }))) {
		*out = tsm_jerr("slot", "slot: auth or sign, for a PIN reset only");
		return 400;
	}
	{
		int provisions = !strcmp(op, "issue") || !strcmp(op, "reissue") || !strcmp(op, "renew");
		const char *lv = wallet_jstr(b, "liveness");
		if (provisions != !!json_object_get(b, "liveness") ||
		    (json_object_get(b, "liveness") && !known(lv, (const char *const[]){ "pass", "fail", NULL }))) {
			*out = tsm_jerr("liveness", "liveness: pass or fail, the holder's liveness check, for issue, "
							"reissue and renew only");
			return 400;
		}
	}
	if (strcmp(op, "sync") && !wallet_jstr(b, "card_serial")) {
		*out = tsm_jerr("card_serial", "card_serial: the card sign certificate's serial, hex");
		return 400;
	}
	if (!strcmp(op, "sync") && json_object_get(b, "card_serial")) {
		*out = tsm_jerr("card_serial", "card_serial: not for a check-in");
		return 400;
	}
	snprintf(path, sizeof path, "/v1/tsm/devices/%s", did);
	if ((rc = wallet_tsm(w, "GET", path, NULL, &rec)) != 200) {
		json_decref(rec);
		rec = NULL;
	}
	if (!(slot = room(w))) {
		json_decref(rec);
		*out = tsm_jerr(NULL, "too many sessions in flight");
		return 503;
	}
	rng_bytes(&w->rng, r4, sizeof r4);
	snprintf(sid, sizeof sid, "W%06llu-%02X%02X%02X%02X", (unsigned long long)++w->counter, r4[0], r4[1], r4[2],
		 r4[3]);
	x.doc = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:{}, s:o}", "id", sid, "op", op, "state", "open", "step",
			  1, "device", did, "device_id", did + 4, "n", (json_int_t)w->counter, "facts", "policy",
			  w->policy ? json_deep_copy(w->policy) : json_object());
	if (json_object_get(b, "policy"))
		json_object_update(json_object_get(x.doc, "policy"), json_object_get(b, "policy"));
	x.facts = json_object_get(x.doc, "facts");
	for (const char *const *f = (const char *const[]){ "card_serial", "liveness", "reason", "slot", "certs", NULL }; *f; f++)
		if (json_object_get(b, *f))
			json_object_set(x.doc, *f, json_object_get(b, *f));
	w->st.sessions++;
	action = wallet_op_begin(&x, rec);
	json_decref(rec);
	if (action)
		json_object_set(x.doc, "action", action);
	*out = answer(&x, action);
	json_decref(action);
	*slot = x.doc;
	return !strcmp(wallet_jstr(x.doc, "state"), "failed") ? (x.status ? x.status : 409) : 201;
}

static int step(wallet_t *w, const char *id, json_t *b, json_t **out)
{
	json_t **slot = find(w, id), *action;
	wsess_t x = { w, NULL, NULL, 0 };
	json_int_t want;

	if (!slot) {
		*out = tsm_jerr("session", "%s: no such session", id);
		return 404;
	}
	x.doc = *slot;
	x.facts = json_object_get(x.doc, "facts");
	want = json_integer_value(json_object_get(x.doc, "step"));
	if (!json_is_object(b) || !json_is_integer(json_object_get(b, "step"))) {
		*out = tsm_jerr("step", "step: the step number of the last answer");
		return 400;
	}
	if (strcmp(wallet_jstr(x.doc, "state"), "open") || json_integer_value(json_object_get(b, "step")) != want) {
		/* a step is answered once: its challenge, its signatures are one use */
		*out = tsm_jerr("step", "step %lld: the session is %s at step %lld", (long long)json_integer_value(json_object_get(b, "step")),
				   wallet_jstr(x.doc, "state"), (long long)want);
		return 409;
	}
	w->st.steps++;
	json_object_set_new(x.doc, "step", json_integer(want + 1));
	action = wallet_op_step(&x, b);
	if (!action && x.status == 400) {
		/* a malformed answer changes nothing: the same step again */
		json_object_set_new(x.doc, "step", json_integer(want));
		*out = tsm_jerr(wallet_jstr(x.facts, "bad_field"), "%s", wallet_jstr(x.facts, "bad"));
		return 400;
	}
	if (action)
		json_object_set(x.doc, "action", action);
	*out = answer(&x, action);
	json_decref(action);
	return !strcmp(wallet_jstr(x.doc, "state"), "failed") ? (x.status ? x.status : 409) : 200;
}

/* Split "/v1/wallet/a/b/c" into up to 3 segments. */
static int segments(const char *path, char seg[3][64])
{
	int n = 0;
	const char *p;

	if (strncmp(path, "/v1/wallet", 10) || (path[10] && path[10] != '/'))
		return -1;
	p = path + 10;
	while (*p == '/' && n < 3) {
		const char *e = strchr(++p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (!len || len >= 64)
			return -1;
		memcpy(seg[n], p, len);
		seg[n++][len] = 0;
		p += len;
	}
	return *p ? -1 : n;
}

int wallet_handle(wallet_t *w, const char *method, const char *path, json_t *body, json_t **out)
{
	char seg[3][64];
	int n = segments(path, seg), get = !strcmp(method, "GET"), post = !strcmp(method, "POST");

	*out = NULL;
	if (n == 1 && !strcmp(seg[0], "sessions") && post)
		return begin(w, body, out);
	if (n == 3 && !strcmp(seg[0], "sessions") && !strcmp(seg[2], "steps") && post)
		return step(w, seg[1], body, out);
	if (n == 2 && !strcmp(seg[0], "sessions") && get) {
		json_t **s = find(w, seg[1]);
		if (!s) {
			*out = tsm_jerr("session", "%s: no such session", seg[1]);
			return 404;
		}
		*out = json_deep_copy(*s);
		json_object_del(*out, "facts"); /* its challenge and messages */
		return 200;
	}
	if (n == 1 && !strcmp(seg[0], "stats") && get) {
		*out = json_pack("{s:I, s:I, s:I, s:I}", "sessions", (json_int_t)w->st.sessions, "steps",
				 (json_int_t)w->st.steps, "done", (json_int_t)w->st.done, "failed", (json_int_t)w->st.failed);
		return 200;
	}
	if (n >= 0 && (get || post)) {
		*out = tsm_jerr("path", "path: no such resource %s", path);
		return 404;
	}
	*out = tsm_jerr(n < 0 ? "path" : "method", n < 0 ? "path: no such resource %s" : "method: not allowed on %s", path);
	return n < 0 ? 404 : 405;
}
