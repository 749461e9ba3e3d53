/* http_tsm.c — `mynahil serve tsm`: the TSM's JSON API under /v1/tsm and
 * its CA's under /ca (/ca/crl/..., /ca/ocsp, /ca/v1/certs/...) on one
 * port, one handler at a time (neither is thread-safe) over
 * libmicrohttpd's pool. */
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

static const char usage_tsm[] =
	"usage: mynahil serve tsm [--listen [HOST:]PORT] [--allow-remote] [--token TOKEN]\n"
	"                         [--db FILE] [--seed S] [--time T] [--fixtures DIR] [--base-url URL]\n"
	"\n"
	"The SP-TSM simulator over HTTP: its JSON API under /v1/tsm and its CA's under\n"
	TSM_WORLD_CA_PREFIX " (" TSM_WORLD_CA_PREFIX "/crl/auth.crl, " TSM_WORLD_CA_PREFIX "/ocsp, "
	TSM_WORLD_CA_PREFIX "/v1/certs, ...) on the same port (docs/tsm.md, docs/ca.md).\n"
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
	"\n"
	"SIGTERM or SIGINT stops it cleanly (exit status 0).\n";

int serve_tsm_main(int argc, char **argv)
{
	tsm_world_opts_t wo = { 0 };
	http_cli_t cli = { .fd = -1 };
	char err[512], ca_url[sizeof cli.url + sizeof TSM_WORLD_CA_PREFIX];
	tsm_world_t *w = NULL;
	int rc;
	size_t nr;

	if ((rc = http_cli_parse(&cli, argc, argv, "tsm", usage_tsm)) >= 0)
		return rc;
	wo = (tsm_world_opts_t){ .fixtures = cli.fixtures, .db = cli.db, .seed = cli.seed,
				 .time = cli.time, .base_url = cli.base_url };
	if ((rc = http_cli_listen(&cli, DEFAULT_PORT, "tsm", err, sizeof err)) != 0) {
		fprintf(stderr, "mynahil: serve tsm: %s\n", err);
		goto out;
	}
	rc = 1;
	snprintf(ca_url, sizeof ca_url, "%s%s", cli.url, TSM_WORLD_CA_PREFIX);
	if (!wo.base_url)
		wo.base_url = ca_url;
	if (tsm_world_open(&w, &wo, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: serve tsm: %s\n", err);
		goto out;
	}
	{
		http_opts_t ho = { .routes = tsm_world_routes(&nr), .app = w, .serialize = 1, .threads = 8 };
		char now[16], details[512], banner[1024];
		ho.nroutes = nr;
		http_cli_apply(&cli, &ho);
		vclock_format(vclock_now(&w->clk), now);
		snprintf(details, sizeof details, "clock %s, %d card certificates, db %s, the CA under %s", now,
			 w->ncards, wo.db ? wo.db : ":memory:", TSM_WORLD_CA_PREFIX);
		http_cli_banner(&cli, "tsm", details, banner, sizeof banner);
		if (http_serve_until_signal(&ho, banner, err, sizeof err) < 0) {
			fprintf(stderr, "mynahil: serve tsm: %s\n", err);
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
