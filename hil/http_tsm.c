/* http_tsm.c — `mynahil serve tsm`: the TSM's JSON API under /v1/tsm and
 * its CA's (CRL, OCSP, /v1/certs...) on one port, one handler at a time
 * (neither is thread-safe) over libmicrohttpd's pool. */
#include "hil/http_tsm.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hil/http.h"
#include "hil/serve.h"
#include "hil/tsm_world.h"
#include "hil/util.h"

static const char usage_tsm[] =
	"usage: mynahil serve tsm --listen HOST:PORT [--db FILE] [--seed S] [--time T]\n"
	"                         [--fixtures DIR] [--base-url URL]\n"
	"\n"
	"The SP-TSM simulator over HTTP: its JSON API under /v1/tsm and its CA's\n"
	"(CRL, OCSP, /v1/certs, ...) on the same port (docs/tsm.md, docs/ca.md).\n"
	"\n"
	"  --listen HOST:PORT  PORT 0 picks a free one; the first line on standard output,\n"
	"                      \"mynahil serve tsm: listening on http://HOST:PORT\", says which\n"
	"  --db FILE           the TSM's records in FILE, the CA's in FILE.ca (default: memory)\n"
	"  --seed S            seed of the TSM's and the CA's random values (0)\n"
	"  --time T            virtual clock at start (default: saved in FILE.ca, else\n"
	"                      20260105000000Z)\n"
	"  --fixtures DIR      CA keys and certificates, holders' card certificates\n"
	"  --base-url URL      CRL and OCSP location in issued certificates\n"
	"\n"
	"SIGTERM or SIGINT stops it cleanly (exit status 0).\n";

int serve_tsm_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, 0, 'l' },   { "db", required_argument, 0, 'd' },
		{ "seed", required_argument, 0, 's' },	   { "time", required_argument, 0, 't' },
		{ "fixtures", required_argument, 0, 'f' }, { "base-url", required_argument, 0, 'b' },
		{ "help", no_argument, 0, 'h' },	   { 0, 0, 0, 0 },
	};
	tsm_world_opts_t wo = { 0 };
	const char *listen_arg = NULL, *port;
	char host[256], err[512], url[512];
	unsigned bound;
	tsm_world_t *w = NULL;
	int c, fd = -1, rc = 1;
	size_t nr;

	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_arg = optarg; break;
		case 'd': wo.db = optarg; break;
		case 't': wo.time = optarg; break;
		case 'f': wo.fixtures = optarg; break;
		case 'b': wo.base_url = optarg; break;
		case 's':
			if (util_parse_u64(optarg, &wo.seed)) {
				fprintf(stderr, "mynahil: --seed takes a number\n");
				return 2;
			}
			break;
		case 'h': fputs(usage_tsm, stdout); return 0;
		default: fprintf(stderr, "\n%s", usage_tsm); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mynahil: serve tsm: unexpected %s\n\n%s", argv[optind], usage_tsm);
		return 2;
	}
	if (!listen_arg || util_split_hostport(listen_arg, host, sizeof host, &port) < 0) {
		fprintf(stderr, "mynahil: serve tsm needs --listen HOST:PORT\n\n%s", usage_tsm);
		return 2;
	}
	if (wo.time) {
		int64_t t;
		if (vclock_parse(wo.time, &t) < 0) {
			fprintf(stderr, "mynahil: --time takes YYYYMMDDhhmmssZ\n");
			return 2;
		}
	}
	if (http_listen(host, port, &fd, &bound, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: serve tsm: %s\n", err);
		goto out;
	}
	snprintf(url, sizeof url, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host, bound);
	if (!wo.base_url)
		wo.base_url = url;
	if (tsm_world_open(&w, &wo, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: serve tsm: %s\n", err);
		goto out;
	}
	{
		http_opts_t ho = { .listen_fd = fd, .routes = tsm_world_routes(&nr), .app = w, .serialize = 1,
				   .threads = 8 };
		char now[16], banner[1024];
		ho.nroutes = nr;
		vclock_format(vclock_now(&w->clk), now);
		snprintf(banner, sizeof banner, "mynahil serve tsm: listening on %s (clock %s, %d card certificates, db %s)\n",
			 url, now, w->ncards, wo.db ? wo.db : ":memory:");
		if (http_serve_until_signal(&ho, banner, err, sizeof err) < 0) {
			fprintf(stderr, "mynahil: serve tsm: %s\n", err);
			goto out;
		}
		fd = -1;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	tsm_world_close(w);
	return rc;
}
