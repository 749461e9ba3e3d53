/* http_tsm.c — `mynahil serve tsm` and `mynahil serve wallet`: the TSM's
 * JSON API under /v1/tsm, the iPhone's provisioning service under
 * /v1/wallet (sharing the TSM's registry) and their CA's under /ca
 * (/ca/crl/..., /ca/ocsp, /ca/v1/certs/...) on one port, one handler at a
 * time (none is thread-safe) over libmicrohttpd's pool.  The two
 * commands serve the same world; they differ in their default port and
 * in what they are started as. */
#include "hil/svc/http_tsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hil/svc/http.h"
#include "hil/svc/http_cli.h"
#include "hil/svc/tsm_world.h"
#include "hil/base/util.h"

#define DEFAULT_PORT "8081"
#define WALLET_PORT "8082"

static const char usage_tsm[] =
	"usage: mynahil serve tsm [--listen [HOST:]PORT] [--allow-remote] [--token TOKEN]\n"
	"                         [--db FILE] [--seed S] [--time T] [--fixtures DIR] [--base-url URL]\n"
	"                         [--ca URL] [--se-keys kdf3|plain]\n"
	"\n"
	"The SP-TSM simulator over HTTP: its JSON API under /v1/tsm and its CA's under\n"
	TSM_WORLD_CA_PREFIX " (" TSM_WORLD_CA_PREFIX "/crl/auth.crl, " TSM_WORLD_CA_PREFIX "/ocsp, "
	TSM_WORLD_CA_PREFIX "/v1/certs, ...) on the same port (docs/tsm.md, docs/ca.md),\n"
	"or, with --ca, the CA of a separate `mynahil serve ca`.\n"
	HTTP_CLI_TEST_ONLY
	"\n"
	HTTP_CLI_USAGE("tsm", DEFAULT_PORT)
	"  --db FILE           the TSM's records in FILE, the CA's in FILE.ca (default: memory)\n"
	"  --seed S            seed of the TSM's and the CA's random values (0)\n"
	"  --time T            virtual clock at start (default: saved in FILE.ca, else\n"
	"                      20260105000000Z)\n"
	"  --fixtures DIR      CA keys and certificates, holders' card certificates\n"
	"  --base-url URL      CRL and OCSP location in issued certificates (default\n"
	"                      http://HOST:PORT" TSM_WORLD_CA_PREFIX ")\n"
	"  --ca URL            the CA of a `mynahil serve ca` at URL (http://HOST:PORT),\n"
	"                      reached over HTTP (2 s to connect, 10 s a request; its\n"
	"                      token from $MYNAHIL_CA_TOKEN), and its clock: no --time;\n"
	"                      the CA's routes are then not served here\n"
	"  --se-keys kdf3|plain  the SEs' ISD keys (GP test master 40..4F, KVN 30): kdf3,\n"
	"                      each SE's own, diversified by its CPLC identity (default);\n"
	"                      plain, the master itself on every SE (a test SE with one\n"
	"                      static key set)\n"
	"\n"
	"The SE issuer's TSM (se_model = ssd: the ISDs, the SPs' SSDs, delegated-\n"
	"management tokens and receipts) answers under /v1/issuer (docs/tsm.md).\n"
	"SIGTERM or SIGINT stops it cleanly (exit status 0).\n";

static const char usage_wallet[] =
	"usage: mynahil serve wallet [--listen [HOST:]PORT] [--allow-remote] [--token TOKEN]\n"
	"                            [--db FILE] [--seed S] [--time T] [--fixtures DIR] [--base-url URL]\n"
	"\n"
	"The iPhone's provisioning service (standing where the platform's is) over HTTP:\n"
	"its JSON API under /v1/wallet, the SP-TSM's registry it shares under /v1/tsm and\n"
	"their CA's under " TSM_WORLD_CA_PREFIX " on the same port (docs/ios.md, docs/tsm.md, docs/ca.md).\n"
	HTTP_CLI_TEST_ONLY
	"\n"
	HTTP_CLI_USAGE("wallet", WALLET_PORT)
	"  --db FILE           the registry in FILE, the CA's records in FILE.ca (default:\n"
	"                      memory); the service's sessions are in memory\n"
	"  --seed S            seed of the random values (challenges, nonces, serials) (0)\n"
	"  --time T            virtual clock at start (default: saved in FILE.ca, else\n"
	"                      20260105000000Z)\n"
	"  --fixtures DIR      CA keys and certificates, holders' card certificates, the\n"
	"                      test platform CA (ios/platform-ca.der)\n"
	"  --base-url URL      CRL and OCSP location in issued certificates (default\n"
	"                      http://HOST:PORT" TSM_WORLD_CA_PREFIX ")\n"
	"\n"
	"SIGTERM or SIGINT stops it cleanly (exit status 0).\n";

/* serve tsm or serve wallet (who): the world on the network. */
static int serve_world(int argc, char **argv, const char *who, const char *port, const char *usage)
{
	tsm_world_opts_t wo = { 0 };
	http_cli_t cli = { .fd = -1 };
	char err[512], ca_url[sizeof cli.url + sizeof TSM_WORLD_CA_PREFIX];
	tsm_world_t *w = NULL;
	int rc;
	size_t nr;

	if ((rc = http_cli_parse(&cli, argc, argv, who, usage)) >= 0)
		return rc;
	wo = (tsm_world_opts_t){ .fixtures = cli.fixtures, .db = cli.db, .seed = cli.seed,
				 .time = cli.time, .base_url = cli.base_url, .ca_url = cli.ca,
				 .ca_token = getenv("MYNAHIL_CA_TOKEN"), .plain_keys = cli.plain_keys };
	if ((rc = http_cli_listen(&cli, port, who, err, sizeof err)) != 0) {
		fprintf(stderr, "mynahil: serve %s: %s\n", who, err);
		goto out;
	}
	rc = 1;
	snprintf(ca_url, sizeof ca_url, "%s%s", cli.url, TSM_WORLD_CA_PREFIX);
	if (!wo.base_url)
		wo.base_url = ca_url;
	if (tsm_world_open(&w, &wo, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: serve %s: %s\n", who, err);
		goto out;
	}
	if (!strcmp(who, "wallet") && !w->wallet) {
		fprintf(stderr, "mynahil: serve wallet: no test platform CA (ios/platform-ca.der) in the fixtures\n");
		goto out;
	}
	{
		http_opts_t ho = { .routes = tsm_world_routes_of(w, &nr), .app = w, .serialize = 1, .threads = 8 };
		char now[16], details[512], banner[1024], where[300];
		ho.nroutes = nr;
		http_cli_apply(&cli, &ho);
		vclock_format(vclock_now(&w->clk), now);
		snprintf(where, sizeof where, w->ca_url[0] ? "the CA at %s" : "the CA under %s",
			 w->ca_url[0] ? w->ca_url : TSM_WORLD_CA_PREFIX);
		snprintf(details, sizeof details, "clock %s, %d card certificates, db %s, %s%s", now,
			 w->ncards, wo.db ? wo.db : ":memory:", where,
			 w->wallet ? ", the wallet under /v1/wallet" : "");
		http_cli_banner(&cli, who, details, banner, sizeof banner);
		if (http_serve_until_signal(&ho, banner, err, sizeof err) < 0) {
			fprintf(stderr, "mynahil: serve %s: %s\n", who, err);
			goto out;
		}
		cli.fd = -1;
	}
	rc = 0;
out:
	if (cli.fd >= 0)
		close(cli.fd);
	tsm_world_close(w);
	return rc;
}

int serve_tsm_main(int argc, char **argv)
{
	return serve_world(argc, argv, "tsm", DEFAULT_PORT, usage_tsm);
}

int serve_wallet_main(int argc, char **argv)
{
	return serve_world(argc, argv, "wallet", WALLET_PORT, usage_wallet);
}
