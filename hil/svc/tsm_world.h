/* tsm_world.h — the TSM with its CA, as `mynahil serve tsm` runs them and
 * as scenarios reach them in process: the CA from the fixtures (keys,
 * certificates, the holders' card certificates imported), the TSM on top
 * with the SEs' key set, one virtual clock, one seed.  Both answer the
 * same JSON API (docs/tsm.md, docs/ca.md, docs/ios.md: the provisioning
 * service under /v1/wallet) through one route table, so an
 * in-process call and an HTTP request take the same path: the TSM's under
 * /v1/tsm, the CA's under TSM_WORLD_CA_PREFIX (/ca/v1/certs/..., /ca/ocsp),
 * so that a client of the TSM reaches the CA only when it means to. */
#ifndef TSM_WORLD_H
#define TSM_WORLD_H

#include "hil/svc/http.h"
#include "hil/svc/http_ca.h"
#include "sim/itsm/itsm.h"
#include "sim/tsm/tsm.h"
#include "sim/wallet/wallet.h"

#define TSM_WORLD_CA_PREFIX "/ca"

typedef struct tsm_world_opts {
	const char *fixtures; /* NULL: profile_fixtures_dir() */
	const char *db;       /* TSM records; the CA's go to DB.ca; NULL: memory */
	uint64_t seed;
	const char *time;     /* YYYYMMDDhhmmssZ, NULL: saved in the CA's db, else 20260105000000Z */
	const char *base_url; /* CRL/OCSP location in certificates; NULL: the CA's default */
	/* The SEs' ISD keys: 0, each SE's own, diversified from the master by
	 * its CPLC identity (KDF3); 1, the master itself on every SE (a lab's
	 * test SE with one static key set: serve tsm --se-keys plain). */
	int plain_keys;
	/* Tests: the SP-TSM gets no ISD key at all (a zero set), as an SP-TSM
	 * that only ever works under se_model = ssd. */
	int sp_without_isd;
	/* A separate `serve ca` at this URL (NULL: the CA in this process):
	 * the TSM's and the wallet's CA calls go there over HTTP
	 * (http_ca_remote), the clock is that CA's (time must be NULL), and
	 * the CA's routes are not served here. ca_token: its bearer token. */
	const char *ca_url, *ca_token;
} tsm_world_opts_t;

typedef struct tsm_world {
	http_ca_app_t ca_app; /* first: the CA's handlers take the world as their app */
	tsm_t *tsm;
	rng_t issuer_rng;
	sim_ctx_t issuer_ctx;
	/* The SE issuer's TSM (sim/itsm, /v1/issuer): the ISDs' keys, the SSDs,
	 * the tokens; the TSM's partner under se_model = ssd. */
	itsm_t *issuer;
	/* The iPhone's provisioning service (sim/wallet, /v1/wallet), sharing
	 * the TSM's registry and the CA; NULL when the fixtures have no
	 * ios/platform-ca.der (its routes answer 503). */
	wallet_t *wallet;
	uint8_t *wallet_blob[2]; /* the platform CA and the issuer key it was opened with */
	rng_t rng, tsm_rng;
	vclock_t clk;
	sim_ctx_t ctx, tsm_ctx;
	ca_config_t pki;      /* the CA's keys and certificates (pki_load_ca) */
	int ncards;
	char ca_url[256];     /* the separate CA's URL, "" for the CA in this process */
} tsm_world_t;

int tsm_world_open(tsm_world_t **out, const tsm_world_opts_t *o, char *err, size_t errlen);
void tsm_world_close(tsm_world_t *w);
const http_route_t *tsm_world_routes(size_t *n);
/* The routes w serves: tsm_world_routes(), or, with a separate CA, the
 * TSM's and the wallet's and, under TSM_WORLD_CA_PREFIX, an answer
 * naming where the CA is. */
const http_route_t *tsm_world_routes_of(const tsm_world_t *w, size_t *n);
/* One request in process (method, path, body bytes); rsp as a server's. */
void tsm_world_call(tsm_world_t *w, const char *method, const char *path, const uint8_t *body, size_t n,
		    http_rsp_t *rsp);
/* The same request with the JSON as trees, for a caller in process: no
 * text written and parsed on either side.  body is borrowed (NULL: none);
 * *out is the answer, new, NULL if none, and read only (it may share
 * values with the TSM's kept records).  /v1/tsm/... goes straight to the
 * TSM's handler after the checks the text path makes (an object, nothing
 * the text could not carry); any other path through tsm_world_call.
 * Returns the HTTP status. */
int tsm_world_call_json(tsm_world_t *w, const char *method, const char *path, json_t *body, json_t **out);

#endif
