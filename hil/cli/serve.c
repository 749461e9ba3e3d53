/* serve.c — the `mynahil serve` command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/svc/http_ca.h"
#include "hil/svc/http_tsm.h"
#include "hil/cli/cli.h"
#include "hil/serve/serve.h"
#include "hil/base/util.h"

static const char usage_serve[] =
	"usage: mynahil serve card|se|ios --vpcd HOST:PORT [--profile FILE] [--state FILE] [--seed S]\n"
	"       mynahil serve pn532 --pty PATH [--profile FILE] [--state FILE] [--se-profile FILE] [--seed S]\n"
	"       mynahil serve ca [--listen [HOST:]PORT] [--token T] [--db FILE] ...  (serve ca --help)\n"
	"       mynahil serve tsm [--listen [HOST:]PORT] [--token T] [--db FILE] ... (serve tsm --help)\n"
	"       mynahil serve wallet [--listen [HOST:]PORT] [--token T] [--db FILE] ... (serve wallet --help)\n"
	"\n"
	"  --vpcd HOST:PORT  play the card side for pcscd's vpcd driver (Debian's\n"
	"                    /etc/reader.conf.d/vpcd: 127.0.0.1:35963, second slot 35964)\n"
	"  --pty PATH        create a pseudo-terminal, linked at PATH, for libnfc's\n"
	"                    pn532_uart driver (LIBNFC_DEVICE=pn532_uart:PATH)\n"
	"  --profile FILE    card (or SE, or iPhone: fixtures/ios/) profile\n"
	"  --state FILE      NVM image: loaded if present, saved on SIGTERM/SIGINT\n"
	"  --seed S          seed of the simulator's random values (0)\n"
	"\n"
	"serve ca and serve tsm are simulators for test benches: loopback (127.0.0.1)\n"
	"unless --allow-remote, no users, state changes guarded only by a token\n"
	"(docs/ca.md, \"Test only\").\n";

int serve_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vpcd", required_argument, 0, 'V' },	  { "pty", required_argument, 0, 'P' },
		{ "profile", required_argument, 0, 'p' }, { "state", required_argument, 0, 'S' },
		{ "se-profile", required_argument, 0, 'E' }, { "seed", required_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' },	  { 0, 0, 0, 0 },
	};
	const char *what, *vpcd = NULL, *pty = NULL, *se_profile = NULL, *port = NULL;
	link_opts_t lo = { .label = "serve" };
	link_t *l = NULL, *se = NULL;
	char host[256], err[512], uri[32];
	int c, rc = 2;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_serve, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "ca")) /* the CA over HTTP: hil/svc/http_ca.c */
		return serve_ca_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "tsm")) /* the TSM and its CA: hil/svc/http_tsm.c */
		return serve_tsm_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "wallet")) /* the iPhone's provisioning service: hil/svc/http_tsm.c */
		return serve_wallet_main(argc, argv);
	if (argc < 2 || (strcmp(argv[1], "card") && strcmp(argv[1], "se") && strcmp(argv[1], "ios") &&
			  strcmp(argv[1], "pn532"))) {
		fprintf(stderr, "mynahil: serve what? card, se, ios, pn532, ca, tsm or wallet\n\n%s", usage_serve);
		return 2;
	}
	what = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'V': vpcd = optarg; break;
		case 'P': pty = optarg; break;
		case 'p': lo.profile = optarg; break;
		case 'S': lo.state = optarg; break;
		case 'E': se_profile = optarg; break;
		case 's':
			if (util_parse_u64(optarg, &lo.seed)) {
				fprintf(stderr, "mynahil: --seed takes a number\n");
				return 2;
			}
			break;
		case 'h': fputs(usage_serve, stdout); return 0;
		default: fprintf(stderr, "\n%s", usage_serve); return 2;
		}
	}
	if (!strcmp(what, "pn532") ? !pty : (!vpcd || util_split_hostport(vpcd, host, sizeof host, &port) < 0)) {
		fprintf(stderr, "mynahil: serve %s needs %s\n\n%s", what,
			!strcmp(what, "pn532") ? "--pty PATH" : "--vpcd HOST:PORT", usage_serve);
		return 2;
	}

	util_stop_on_signals();

	snprintf(uri, sizeof uri, "sim:%s", !strcmp(what, "pn532") ? "card" : what);
	if (link_open(&l, uri, &lo, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil: %s\n", err);
		return 2;
	}
	if (se_profile) {
		link_opts_t so = { .seed = lo.seed, .label = "serve-se", .profile = se_profile };
		if (link_open(&se, "sim:se", &so, err, sizeof err) < 0) {
			fprintf(stderr, "mynahil: %s\n", err);
			goto out;
		}
	}
	rc = !strcmp(what, "pn532") ? serve_pn532_run(l, se, pty) : serve_vpcd_run(l, host, port);
out:
	link_close(se);
	link_close(l); /* saves --state */
	return rc;
}
