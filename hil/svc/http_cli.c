/* http_cli.c — where `serve ca` and `serve tsm` listen, and their token
 * (http_cli.h). */
#include "hil/svc/http_cli.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "hil/base/util.h"
#include "hil/svc/http_ca.h"
#include "sim/core/vclock.h"

#define LOOPBACK "127.0.0.1"

int http_cli_parse(http_cli_t *c, int argc, char **argv, const char *who, const char *usage)
{
	static const struct option opts[] = {
		{ "listen", required_argument, 0, 'l' }, { "allow-remote", no_argument, 0, 'R' },
		{ "token", required_argument, 0, 'K' },	 { "db", required_argument, 0, 'd' },
		{ "seed", required_argument, 0, 's' },	 { "time", required_argument, 0, 't' },
		{ "fixtures", required_argument, 0, 'f' }, { "base-url", required_argument, 0, 'b' },
		{ "help", no_argument, 0, 'h' },	 { "ca", required_argument, 0, 'C' },
		{ "se-keys", required_argument, 0, 'k' },
		{ 0, 0, 0, 0 },
	};
	int64_t t;
	int o;

	optind = 2;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'l': c->listen = optarg; break;
		case 'R': c->allow_remote = 1; break;
		case 'K': c->token = optarg; break;
		case 'd': c->db = optarg; break;
		case 't': c->time = optarg; break;
		case 'f': c->fixtures = optarg; break;
		case 'b': c->base_url = optarg; break;
		case 'C':
			if (!strcmp(who, "ca")) {
				fprintf(stderr, "mynahil: serve ca: unknown option --ca\n\n%s", usage);
				return 2;
			}
			c->ca = optarg;
			break;
		case 'k': /* the SEs' ISD keys: serve tsm only (its TSM and issuer) */
			if (strcmp(who, "tsm")) {
				fprintf(stderr, "mynahil: serve %s: unknown option --se-keys\n\n%s", who, usage);
				return 2;
			}
			if (strcmp(optarg, "kdf3") && strcmp(optarg, "plain")) {
				fprintf(stderr, "mynahil: serve tsm: --se-keys takes kdf3 or plain, not '%s'\n", optarg);
				return 2;
			}
			c->plain_keys = !strcmp(optarg, "plain");
			break;
		case 's':
			if (util_parse_u64(optarg, &c->seed)) {
				fprintf(stderr, "mynahil: --seed takes a number\n");
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fprintf(stderr, "\n%s", usage); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mynahil: serve %s: unexpected %s\n\n%s", who, argv[optind], usage);
		return 2;
	}
	if (c->time && vclock_parse(c->time, &t) < 0) {
		fprintf(stderr, "mynahil: --time takes YYYYMMDDhhmmssZ\n");
		return 2;
	}
	if (c->ca) {
		char err[300];
		if (http_ca_url_ok(c->ca, err, sizeof err) < 0) {
			fprintf(stderr, "mynahil: serve %s: %s\n", who, err);
			return 2;
		}
		if (c->time) {
			fprintf(stderr, "mynahil: serve %s: --time: the clock is the CA's at %s (POST /v1/clock there)\n",
				who, c->ca);
			return 2;
		}
	}
	return -1;
}

/* --listen [HOST:]PORT: "PORT" and ":PORT" mean loopback, so that the
 * short form never opens the simulator to the network. */
static int split_listen(const char *arg, const char *default_port, char *host, size_t cap, const char **port)
{
	if (!arg || !*arg || strspn(arg + (*arg == ':'), "0123456789") == strlen(arg + (*arg == ':'))) {
		snprintf(host, cap, LOOPBACK);
		*port = !arg || !*arg ? default_port : arg + (*arg == ':');
		return **port ? 0 : -1;
	}
	return util_split_hostport(arg, host, cap, port);
}

/* A token a header can carry whole (RFC 6750's b64token), long enough not
 * to be guessed. */
static int token_ok(const char *t)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
	size_t n = strspn(t, chars);

	n += strspn(t + n, "=");
	return n == strlen(t) && n >= 16 && n <= 128;
}

static int sa_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24 == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

/* Bind and listen on ai; the bound port in *port_out.  -1 with err. */
static int bind_listen(const struct addrinfo *ai, const char *what, int *fd, unsigned *port_out, char *err,
		       size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int s, one = 1;

	if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, 128) < 0 ||
	    getsockname(s, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	*port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*fd = s;
	return 0;
}

/* The token in force: --token's, else a random one off loopback (from
 * OpenSSL's generator, never the simulator's seeded one), else none. */
static int choose_token(http_cli_t *c, char *err, size_t errlen)
{
	unsigned char r[16];

	c->bearer[0] = 0;
	if (c->token) {
		snprintf(c->bearer, sizeof c->bearer, "%s", c->token);
		return 0;
	}
	if (c->loopback)
		return 0;
	if (RAND_bytes(r, sizeof r) != 1) {
		snprintf(err, errlen, "no random bytes for a token");
		return -1;
	}
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(c->bearer + 2 * i, 3, "%02x", r[i]);
	return 0;
}

int http_cli_listen(http_cli_t *c, const char *default_port, const char *who, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char host[256], what[300];
	const char *port;
	unsigned bound;
	int rc;

	c->fd = -1;
	if (split_listen(c->listen, default_port, host, sizeof host, &port) < 0) {
		snprintf(err, errlen, "--listen takes [HOST:]PORT, not %s", c->listen);
		return 2;
	}
	if (c->token && !token_ok(c->token)) {
		snprintf(err, errlen, "--token: 16 to 128 characters of A-Z a-z 0-9 -._~+/ (then = padding)");
		return 2;
	}
	snprintf(what, sizeof what, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", what, gai_strerror(rc));
		return 1;
	}
	c->loopback = sa_is_loopback(ai->ai_addr);
	if (!c->loopback && !c->allow_remote) {
		snprintf(err, errlen,
			 "--listen %s: not a loopback address; this unauthenticated test simulator "
			 "listens beyond this machine only with --allow-remote", what);
		freeaddrinfo(ai);
		return 2;
	}
	rc = bind_listen(ai, what, &c->fd, &bound, err, errlen);
	freeaddrinfo(ai);
	if (rc < 0)
		return 1;
	if (choose_token(c, err, errlen) < 0) {
		close(c->fd);
		c->fd = -1;
		return 1;
	}
	snprintf(c->url, sizeof c->url, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host, bound);
	if (!c->loopback)
		fprintf(stderr,
			"mynahil serve %s: warning: listening on %s, beyond this machine. This is an "
			"unauthenticated test simulator: anyone who reaches it reads every record, and "
			"the token is all that guards its state. Use it on a closed test bench only.\n",
			who, c->url);
	return 0;
}

void http_cli_apply(const http_cli_t *c, http_opts_t *o)
{
	o->listen_fd = c->fd;
	o->token = c->bearer[0] ? c->bearer : NULL;
	o->loopback_only = c->loopback;
}

void http_cli_banner(const http_cli_t *c, const char *who, const char *details, char *out, size_t cap)
{
	int n = snprintf(out, cap, "mynahil serve %s: listening on %s (%s)\n", who, c->url, details);

	if (n < 0 || (size_t)n >= cap || !c->bearer[0])
		return;
	if (c->token)
		snprintf(out + n, cap - (size_t)n,
			 "mynahil serve %s: state changes need \"Authorization: Bearer TOKEN\", "
			 "TOKEN as given with --token\n", who);
	else
		snprintf(out + n, cap - (size_t)n,
			 "mynahil serve %s: token %s (state changes need \"Authorization: Bearer %s\")\n", who,
			 c->bearer, c->bearer);
}
