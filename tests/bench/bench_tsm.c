/* bench_tsm.c — speed of complete issuance flows through the TSM (issue 5).
 *
 *   bench_tsm [SECONDS] | --flows N
 *     in process: tsm_world (TSM + CA, :memory: databases, the seeded key
 *     pool) driven as scenarios/lib/app.lua drives it — POST
 *     /v1/tsm/sessions, relay each 'apdus' script to a simulated SE, sign
 *     each 'card_sign' DigestInfo with alice's card sign key
 *     (keys/pool-04.pem, PKCS#1 v1.5 as the card's 80 2A), post the
 *     answers back, until 'done'.  A fresh SE per flow (the default
 *     model with a distinct CPLC serial and IDm, as sim:se?serial=...; its
 *     profile loaded once), so each issue revokes the previous phone
 *     under the one-phone rule, as in the field.  Prints
 *     "tsm_issue_flows_per_s N" and the requests per flow.  With
 *     --se-model ssd, the same through the SE issuer's TSM as well;
 *     --warmup FLOWS runs that many first, not counted (in_process).
 *
 *   bench_tsm --http URL --clients N [--seconds S] [--base B]
 *     the same flows against `mynahil serve tsm` over HTTP (libcurl, one
 *     thread per client, each running whole flows with its own SEs;
 *     holders alternate alice / bob by client).  A request is one session
 *     POST or one step POST.  Prints "http_cN_rps", "http_cN_flows_per_s",
 *     "http_cN_p99_ms" (over every request of every client) and
 *     "http_cN_failed" (flows that did not end 'done').  B offsets the SE
 *     serials so that runs against one server never reuse a phone.
 *
 * Not a test: figures for run.sh.  Bounded in time (each level stops
 * starting flows after S seconds) and in count (MAX_FLOWS per client). */
#include <pthread.h>
#include <stdatomic.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hil/fixtures/profile.h"
#include "hil/fixtures/se_profile.h"
#include "hil/svc/tsm_world.h"
#include "hil/base/util.h"
#include "sim/core/apdu.h"
#include "sim/core/nvm.h"
#include "sim/se/se.h"

#define MAX_FLOWS 100000
#define MAX_STEPS 40
#define PINS "{\"auth\":\"1357\",\"sign\":\"PHONE2026\"}"

/* --se-model ssd: every flow through both TSMs (docs/tsm.md#two-tsms):
 * each fresh SE gets its SSD from the issuer at first contact, the
 * applet goes in under delegated management with tokens and receipts. */
static const char *g_se_model;

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* ---- the holder's card: its sign key and certificate serial ---- */

typedef struct holder {
	EVP_PKEY *key;
	EVP_PKEY_CTX *sign; /* ready for the 80 2A, as the card keeps it (cardos) */
	char serial[80]; /* upper-case hex, even length, as app.card_serial() */
} holder_t;

static int holder_load(holder_t *h, const char *keyrel, const char *certrel)
{
	char path[4096];
	uint8_t *b;
	size_t n;
	const uint8_t *p;
	BIO *bio;
	X509 *x;
	BIGNUM *bn;
	char *hx;

	snprintf(path, sizeof path, "%s/%s", profile_fixtures_dir(), keyrel);
	if (util_read_file(path, &b, &n) < 0)
		goto bad;
	bio = BIO_new_mem_buf(b, (int)n);
	h->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(b);
	snprintf(path, sizeof path, "%s/%s", profile_fixtures_dir(), certrel);
	if (!h->key || util_read_file(path, &b, &n) < 0)
		goto bad;
	p = b;
	x = d2i_X509(NULL, &p, (long)n);
	free(b);
	if (!x)
		goto bad;
	bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
	hx = BN_bn2hex(bn);
	snprintf(h->serial, sizeof h->serial, "%s%s", strlen(hx) % 2 ? "0" : "", hx);
	OPENSSL_free(hx);
	BN_free(bn);
	X509_free(x);
	return 0;
bad:
	fprintf(stderr, "bench_tsm: cannot load %s\n", path);
	return -1;
}

/* The signing context of one thread (a context is not shared). */
static int holder_ready(holder_t *h)
{
	h->sign = EVP_PKEY_CTX_new(h->key, NULL);
	return h->sign && EVP_PKEY_sign_init(h->sign) == 1 &&
		       EVP_PKEY_CTX_set_rsa_padding(h->sign, RSA_PKCS1_PADDING) == 1
		       ? 0
		       : -1;
}

/* The card's 80 2A: RSA PKCS#1 v1.5 over a DigestInfo given whole. */
static int card_sign(const holder_t *h, const char *di_hex, char *out, size_t cap)
{
	uint8_t di[128], sig[512];
	size_t dn = strlen(di_hex) / 2, sl = sizeof sig;

	if (dn > sizeof di || apdu_unhex(di_hex, di, dn) != (int)dn || 2 * sizeof sig + 1 > cap ||
	    EVP_PKEY_sign(h->sign, sig, &sl, di, dn) != 1)
		return -1;
	apdu_hex(sig, sl, out);
	return 0;
}

/* ---- the transport: in process or libcurl ---- */

typedef struct lat {
	double *v;
	size_t n, cap;
} lat_t;

typedef struct tr {
	tsm_world_t *w; /* in process */
	CURL *curl;     /* or HTTP */
	const char *base;
	char *buf;
	size_t bn, bcap;
	lat_t lat;      /* per-request latency (HTTP) */
	long requests;
} tr_t;

static size_t on_body(char *p, size_t sz, size_t nm, void *u)
{
	tr_t *t = u;
	size_t n = sz * nm;

	if (t->bn + n + 1 > t->bcap) {
		size_t c = (t->bn + n + 1) * 2;
		char *b = realloc(t->buf, c);
		if (!b)
			return 0;
		t->buf = b;
		t->bcap = c;
	}
	memcpy(t->buf + t->bn, p, n);
	t->bn += n;
	return n;
}

/* One request (req borrowed, NULL for none); returns the HTTP status (0:
 * transport failure), *out the JSON answer (NULL if none).  In process
 * the trees go to the TSM as they are (tsm_world_call_json), as a
 * caller in the same process would hand them; over HTTP as text. */
static int tr_call(tr_t *t, const char *method, const char *path, json_t *req, json_t **out)
{
	int status = 0;

	*out = NULL;
	t->requests++;
	if (t->w)
		return tsm_world_call_json(t->w, method, path, req, out);
	{
		char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
		char url[1024];
		long code = 0;
		double t0 = now_s();
		struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");

		snprintf(url, sizeof url, "%s%s", t->base, path);
		t->bn = 0;
		curl_easy_setopt(t->curl, CURLOPT_URL, url);
		curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, h);
		if (!strcmp(method, "POST")) {
			curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, body ? body : "");
		} else {
			curl_easy_setopt(t->curl, CURLOPT_HTTPGET, 1L);
		}
		if (curl_easy_perform(t->curl) == CURLE_OK)
			curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
		curl_slist_free_all(h);
		if (t->lat.n == t->lat.cap) {
			size_t c = t->lat.cap ? t->lat.cap * 2 : 1024;
			double *v = realloc(t->lat.v, c * sizeof *v);
			if (v) {
				t->lat.v = v;
				t->lat.cap = c;
			}
		}
		if (t->lat.n < t->lat.cap)
			t->lat.v[t->lat.n++] = now_s() - t0;
		status = (int)code;
		if (status && t->bn)
			*out = json_loadb(t->buf, t->bn, 0, NULL);
		free(body);
	}
	return status;
}

/* ---- one flow, as app.session(w, phone, card, "issue", {pins}) ---- */

static char *hexs(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (s)
		apdu_hex(p, n, s);
	return s;
}

/* A phone: a simulated FeliCa-SE of the default model with its own IC
 * serial (CPLC) and IDm, as sim:se?serial=HEX8 makes (hil/link/link_sim.c),
 * built from one profile loaded once: loading the profile (a Lua file and
 * its key pool in PEM) costs more than a whole flow, and is the phone's
 * making, not the TSM's work. */
typedef struct phone {
	rng_t rng;
	vclock_t clock;
	sim_ctx_t ctx;
	sim_se_t *se;
} phone_t;

#define SE_EPOCH 1775001600 /* as hil/link/link_sim.c SIM_EPOCH */

static const seprof_t *g_prof;

static int phone_new(phone_t *ph, uint32_t serial, uint64_t seed)
{
	se_profile_t sp;
	uint8_t sn[4];
	rng_t root;
	char label[64];

	memset(ph, 0, sizeof *ph);
	snprintf(label, sizeof label, "sim:se/bench_tsm/%08X", serial);
	rng_seed(&root, seed);
	rng_derive(&ph->rng, &root, label);
	vclock_set(&ph->clock, SE_EPOCH);
	ph->ctx.rng = &ph->rng;
	ph->ctx.clock = &ph->clock;
	if (!(ph->ctx.nvm = nvm_new()))
		return -1;
	for (int i = 0; i < 4; i++)
		sn[i] = (uint8_t)(serial >> (24 - 8 * i));
	if (seprof_instance(g_prof, sn, &sp) < 0)
		return -1;
	if (sim_se_new(&ph->se, &sp, &ph->ctx) < 0) {
		nvm_free(ph->ctx.nvm);
		return -1;
	}
	return 0;
}

static void phone_free(phone_t *ph)
{
	sim_se_free(ph->se);
	nvm_free(ph->ctx.nvm);
}

/* One command as a sim:se link routes it: FeliCa frames to the FeliCa
 * layer, the rest to the APDU interface. */
static int se_xmit(phone_t *ph, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap, size_t *rn)
{
	int rc = sim_se_is_felica(ph->se, cmd, len) ? sim_se_felica(ph->se, cmd, len, rsp, cap, rn)
						     : sim_se_transmit(ph->se, cmd, len, rsp, cap, rn);
	return rc < 0 ? -1 : 0;
}

/* Relay the script: each answer data ‖ SW in hex, "" if the SE is mute. */
static json_t *relay(phone_t *se, json_t *apdus)
{
	static __thread uint8_t cmd[65536 + 8], rsp[65536 + 2];
	json_t *out = json_array(), *a;
	size_t i, rn;

	json_array_foreach(apdus, i, a) {
		const char *h = json_string_value(a);
		size_t n = h ? strlen(h) / 2 : 0;
		char *s;
		if (!h || n > sizeof cmd || apdu_unhex(h, cmd, n) != (int)n ||
		    se_xmit(se, cmd, n, rsp, sizeof rsp, &rn) < 0) {
			json_array_append_new(out, json_string(""));
			continue;
		}
		s = hexs(rsp, rn);
		json_array_append_new(out, json_string(s ? s : ""));
		free(s);
	}
	return out;
}

/* The IDm of the SE's FeliCa chip (Polling FFFF), as app.idm(). */
static int idm(phone_t *se, char out[17])
{
	static const uint8_t poll[] = { 0x06, 0x00, 0xFF, 0xFF, 0x00, 0x00 };
	uint8_t rsp[64];
	size_t rn;

	if (se_xmit(se, poll, sizeof poll, rsp, sizeof rsp, &rn) < 0 || rn < 10)
		return -1;
	apdu_hex(rsp + 2, 8, out);
	return 0;
}

static int flow(tr_t *t, const holder_t *h, uint32_t serial, uint64_t seed, const char **why)
{
	char id[17], path[256];
	phone_t phone, *se = &phone;
	json_t *req, *a = NULL;
	int status, rc = -1;

	*why = "";
	if (phone_new(se, serial, seed) < 0) {
		*why = "the SE would not start";
		return -1;
	}
	if (idm(se, id) < 0) {
		*why = "no IDm";
		goto out;
	}
	req = json_pack("{s:s, s:s, s:s, s:o}", "op", "issue", "card_serial", h->serial, "idm", id, "pins",
			json_loads(PINS, 0, NULL));
	if (g_se_model)
		json_object_set_new(req, "policy", json_pack("{s:s}", "se_model", g_se_model));
	status = tr_call(t, "POST", "/v1/tsm/sessions", req, &a);
	json_decref(req);
	for (int steps = 0;; steps++) {
		const char *action = json_string_value(json_object_get(a, "action"));
		const char *sid = json_string_value(json_object_get(a, "session"));
		if ((status != 200 && status != 201) || !action || !sid) {
			*why = status ? "refused" : "no answer";
			if (status && a && json_string_value(json_object_get(a, "error")))
				*why = json_string_value(json_object_get(a, "error"));
			goto out;
		}
		if (!strcmp(action, "done")) {
			rc = 0;
			goto out;
		}
		if (steps >= MAX_STEPS) {
			*why = "too many steps";
			goto out;
		}
		req = json_pack("{s:O, s:o}", "step", json_object_get(a, "step"), "pins", json_loads(PINS, 0, NULL));
		if (!strcmp(action, "apdus")) {
			json_object_set_new(req, "responses", relay(se, json_object_get(a, "apdus")));
		} else if (!strcmp(action, "card_sign")) {
			json_t *sigs = json_array(), *d;
			size_t i;
			char sig[1100];
			json_array_foreach(json_object_get(a, "digest_infos"), i, d) {
				if (card_sign(h, json_string_value(d) ? json_string_value(d) : "", sig, sizeof sig) < 0) {
					json_decref(sigs);
					json_decref(req);
					*why = "the card would not sign";
					goto out;
				}
				json_array_append_new(sigs, json_string(sig));
			}
			json_object_set_new(req, "signatures", sigs);
		} else {
			json_decref(req);
			*why = "unknown action";
			goto out;
		}
		snprintf(path, sizeof path, "/v1/tsm/sessions/%s/steps", sid);
		json_decref(a);
		status = tr_call(t, "POST", path, req, &a);
		json_decref(req);
	}
out:
	json_decref(a);
	phone_free(se);
	return rc;
}

/* ---- in process ---- */

/* For SECONDS, or exactly N flows (N > 0: under valgrind --tool=callgrind,
 * instructions per flow are the difference of two counts over their
 * difference in flows, a figure no load on the machine bends), after
 * `warm` flows not counted: the first flows of a process decode the
 * SE's pool keys (64, two drawn a flow) and fill the caches, which a
 * served TSM does once in its life; 200 leave about one key in ten
 * undrawn. */
static int in_process(double secs, long n, long warm)
{
	tsm_world_t *w;
	tsm_world_opts_t o = { .seed = 1 };
	holder_t alice = { 0 };
	tr_t t = { 0 };
	char err[256];
	const char *why;
	long flows = 0;
	double t0, c0, spent;

	if (holder_load(&alice, "keys/pool-04.pem", "pki/alice-sign.der") < 0 || holder_ready(&alice) < 0)
		return 1;
	if (tsm_world_open(&w, &o, err, sizeof err) < 0) {
		fprintf(stderr, "bench_tsm: %s\n", err);
		return 1;
	}
	t.w = w;
	for (long i = 0; i < warm; i++)
		if (flow(&t, &alice, 0x18000000u + (uint32_t)i, 1, &why) < 0) {
			fprintf(stderr, "bench_tsm: warm-up flow %ld failed: %s\n", i, why);
			return 1;
		}
	t.requests = 0;
	t0 = now_s();
	c0 = cpu_s();
	do {
		if (flow(&t, &alice, 0x10000000u + (uint32_t)flows, 1, &why) < 0) {
			fprintf(stderr, "bench_tsm: flow %ld failed: %s\n", flows, why);
			return 1;
		}
		flows++;
		spent = now_s() - t0;
	} while (n > 0 ? flows < n : spent < secs && flows < MAX_FLOWS);
	printf("tsm_issue_flows_per_s %.1f\n", flows / spent);
	/* Per second of this process's CPU: the figure that a busy machine
	 * (other jobs on both cores) bends least. */
	printf("tsm_issue_flows_per_cpu_s %.1f\n", flows / (cpu_s() - c0));
	printf("tsm_issue_flows %ld\n", flows);
	printf("tsm_requests_per_flow %.1f\n", (double)t.requests / flows);
	{
		/* After the clock: one active phone left (the one-phone rule),
		 * and the registry agrees with the CA. */
		json_t *j = NULL, *d;
		size_t i;
		long active = 0, other = 0;
		if (tr_call(&t, "GET", "/v1/tsm/holders/alice/devices", NULL, &j) == 200) {
			json_t *arr = json_is_array(j) ? j : json_object_get(j, "devices");
			json_array_foreach(arr, i, d) {
				if (!strcmp(json_string_value(json_object_get(d, "status")) ?: "", "active"))
					active++;
				else
					other++;
			}
		}
		json_decref(j);
		printf("tsm_alice_devices_active %ld\n", active);
		printf("tsm_alice_devices_other %ld\n", other);
		j = NULL;
		printf("tsm_check_ok %d\n", tr_call(&t, "GET", "/v1/tsm/check", NULL, &j) == 200 &&
						     json_is_true(json_object_get(j, "ok")));
		json_decref(j);
	}
	tsm_world_close(w);
	EVP_PKEY_CTX_free(alice.sign);
	EVP_PKEY_free(alice.key);
	return 0;
}

/* ---- over HTTP ---- */

typedef struct client {
	pthread_t th;
	int idx;
	const char *url;
	holder_t holder; /* its own signing context */
	uint32_t serial0;
	double deadline;
	tr_t t;
	long flows, failed;
	const char *why;
} client_t;

static void *client_run(void *arg)
{
	client_t *c = arg;
	const char *why;

	c->t.curl = curl_easy_init();
	c->t.base = c->url;
	curl_easy_setopt(c->t.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->t.curl, CURLOPT_WRITEDATA, &c->t);
	curl_easy_setopt(c->t.curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c->t.curl, CURLOPT_NOSIGNAL, 1L);
	if (holder_ready(&c->holder) < 0) {
		c->failed = 1;
		c->why = "the card would not sign";
		c->deadline = 0;
	}
	while (now_s() < c->deadline && c->flows + c->failed < MAX_FLOWS) {
		if (flow(&c->t, &c->holder, c->serial0 + (uint32_t)(c->flows + c->failed), 1, &why) < 0) {
			c->failed++;
			c->why = why;
		} else {
			c->flows++;
		}
	}
	curl_easy_cleanup(c->t.curl);
	EVP_PKEY_CTX_free(c->holder.sign);
	free(c->t.buf);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int over_http(const char *url, int n, double secs, uint32_t base)
{
	holder_t hs[2] = { { 0 }, { 0 } };
	client_t *cs = calloc((size_t)n, sizeof *cs);
	double t0, spent, *all;
	size_t nall = 0, k = 0;
	long flows = 0, failed = 0, reqs = 0;

	if (!cs || holder_load(&hs[0], "keys/pool-04.pem", "pki/alice-sign.der") < 0 ||
	    holder_load(&hs[1], "keys/pool-07.pem", "pki/bob-sign.der") < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		cs[i].idx = i;
		cs[i].url = url;
		cs[i].holder = hs[i % 2];
		cs[i].serial0 = base + ((uint32_t)i << 16);
		cs[i].deadline = t0 + secs;
		if (pthread_create(&cs[i].th, NULL, client_run, &cs[i]) != 0) {
			fprintf(stderr, "bench_tsm: pthread_create\n");
			return 1;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(cs[i].th, NULL);
	spent = now_s() - t0;
	for (int i = 0; i < n; i++) {
		nall += cs[i].t.lat.n;
		flows += cs[i].flows;
		failed += cs[i].failed;
		reqs += cs[i].t.requests;
		if (cs[i].failed)
			fprintf(stderr, "bench_tsm: client %d: %ld flow(s) failed, last: %s\n", i, cs[i].failed,
				cs[i].why);
	}
	all = malloc((nall ? nall : 1) * sizeof *all);
	for (int i = 0; i < n; i++) {
		memcpy(all + k, cs[i].t.lat.v, cs[i].t.lat.n * sizeof *all);
		k += cs[i].t.lat.n;
		free(cs[i].t.lat.v);
	}
	qsort(all, nall, sizeof *all, cmp_d);
	{
		size_t i99 = nall ? (size_t)((double)nall * 0.99 + 0.999) : 1;
		if (i99 < 1)
			i99 = 1;
		if (i99 > nall)
			i99 = nall;
		printf("http_c%d_rps %.0f\n", n, reqs / spent);
		printf("http_c%d_flows_per_s %.1f\n", n, flows / spent);
		printf("http_c%d_p99_ms %.1f\n", n, nall ? all[i99 - 1] * 1000 : 0.0);
		printf("http_c%d_requests %ld\n", n, reqs);
		printf("http_c%d_flows %ld\n", n, flows);
		printf("http_c%d_failed %ld\n", n, failed);
	}
	free(all);
	free(cs);
	EVP_PKEY_free(hs[0].key);
	EVP_PKEY_free(hs[1].key);
	curl_global_cleanup();
	return 0;
}

/* A count from 0 to max, digits only: 1 when s is one. */
static int count_arg(const char *s, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!isdigit((unsigned char)*s) || *end || v > max)
		return 0;
	*out = v;
	return 1;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	int clients = 1;
	double secs = 2;
	uint32_t base = 0x20000000u;
	long nflows = 0, warm = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--http") && i + 1 < argc)
			url = argv[++i];
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			clients = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--flows") && i + 1 < argc)
			nflows = atol(argv[++i]);
		else if (!strcmp(argv[i], "--warmup") && i + 1 < argc && count_arg(argv[i + 1], 100000, &warm))
			i++;
		else if (!strcmp(argv[i], "--se-model") && i + 1 < argc &&
			 (!strcmp(argv[i + 1], "ssd") || !strcmp(argv[i + 1], "shared_isd")))
			g_se_model = argv[++i];
		else if (!strcmp(argv[i], "--base") && i + 1 < argc)
			base = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (argv[i][0] != '-')
			secs = atof(argv[i]);
		else {
			fprintf(stderr, "usage: bench_tsm [SECONDS] | --flows N | --http URL --clients N [--seconds S] [--base B]\n"
					"                 [--se-model shared_isd|ssd] [--warmup FLOWS]\n");
			return 2;
		}
	}
	if (clients < 1 || clients > 256)
		clients = 1;
	{
		char err[512];
		seprof_t *p = seprof_load(seprof_default_path(), err, sizeof err);
		int rc;
		if (!p) {
			fprintf(stderr, "bench_tsm: %s\n", err);
			return 1;
		}
		g_prof = p;
		rc = url ? over_http(url, clients, secs, base) : in_process(secs, nflows, warm);
		seprof_free(p);
		return rc;
	}
}
