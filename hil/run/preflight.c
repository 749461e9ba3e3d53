/* preflight.c — roles and targets checked once, before the first scenario. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "hil/base/util.h"
#include "hil/fixtures/profile.h"
#include "hil/link/link.h"
#include "hil/run/preflight.h"
#include "hil/svc/http.h"

#define CONNECT_MS 3000
#define ANSWER_MS 5000

/* se2: the second handset of a model change, a transfer (scenarios/lib/lifecycle.lua);
 * ios: the iPhone (sim:ios; scenarios/lib/wallet.lua) */
const char *const preflight_roles[] = { "card", "se", "se2", "ios", "tsm", "ca", NULL };

static int is_service(const char *role)
{
	return !strcmp(role, "tsm") || !strcmp(role, "ca");
}

/* "the TSM", "the CA" */
static const char *service_name(const char *role)
{
	return !strcmp(role, "tsm") ? "the TSM" : "the CA";
}

/* http://HOST:PORT[/PATH] into host and port; -1 if it is not one. */
static int split_url(const char *uri, char *host, size_t hcap, char *port, size_t pcap)
{
	char hp[300];
	const char *p;
	size_t n;

	if (strncmp(uri, "http://", 7))
		return -1;
	uri += 7;
	n = strcspn(uri, "/");
	if (n == 0 || n >= sizeof hp)
		return -1;
	memcpy(hp, uri, n);
	hp[n] = 0;
	if (util_split_hostport(hp, host, hcap, &p) < 0 || strlen(p) >= pcap || strspn(p, "0123456789") != strlen(p))
		return -1;
	snprintf(port, pcap, "%s", p);
	return 0;
}

/* A real card's ?profile= says what the lab knows of it (docs/bench.md):
 * a partial profile, each field given checked, a typo refused now. */
static int check_partial(const char *uri, char *err, size_t errlen)
{
	const char *q = link_query(strchr(uri, ':') + 1);
	char path[4096];
	profile_t *p;

	if (!q || util_query_get(q + 1, "profile", path, sizeof path) != 1)
		return 0;
	if (!(p = profile_load_partial(path, err, errlen)))
		return -1;
	profile_free(p);
	return 0;
}

int preflight_binding(const char *role, const char *uri, char *err, size_t errlen)
{
	char host[256], port[16], why[512];
	size_t i;

	for (i = 0; preflight_roles[i] && strcmp(preflight_roles[i], role); i++)
		;
	if (!preflight_roles[i]) {
		snprintf(err, errlen, "unknown role '%.40s' in %.40s=%.200s (roles: card, se, se2, ios, tsm, ca)", role, role, uri);
		return -1;
	}
	{ /* ?keys= (an SE's URI, docs/bench.md): test or unknown, nothing else */
		const char *q = strchr(uri, ':') ? link_query(strchr(uri, ':') + 1) : NULL;
		char v[16];
		int got = q ? util_query_get(q + 1, "keys", v, sizeof v) : 0;
		if (got && (got != 1 || (strcmp(v, "test") && strcmp(v, "unknown")))) {
			snprintf(err, errlen, "role %s: ?keys= takes test or unknown (the SE's SCP03 keys)", role);
			return -1;
		}
	}
	if (!is_service(role) && !strncmp(uri, "sim:", 4)) {
		/* a simulator opens at no cost: its kind and profile too */
		link_opts_t lo = { .label = "preflight", .probe = 1 };
		link_t *l;
		if (link_open(&l, uri, &lo, why, sizeof why) < 0) {
			snprintf(err, errlen, "role %s: %s", role, why);
			return -1;
		}
		link_close(l);
		return 0;
	}
	if (!is_service(role) && link_check_uri(uri, why, sizeof why) < 0) {
		snprintf(err, errlen, "role %s: %s", role, why);
		return -1;
	}
	if (!strcmp(role, "card") && check_partial(uri, why, sizeof why) < 0) {
		snprintf(err, errlen, "role %s: %s", role, why);
		return -1;
	}
	if (!is_service(role))
		return 0;
	if (!strcmp(uri, "sim"))
		return 0;
	if (strpbrk(uri, "?#") || split_url(uri, host, sizeof host, port, sizeof port) < 0) {
		snprintf(err, errlen, "%s=%.200s: expected sim or http://HOST:PORT (a token goes in MYNAHIL_TOKEN)",
			 role, uri);
		return -1;
	}
	return 0;
}

/* Connect to fd within CONNECT_MS: 0, or an errno. */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd pf = { .fd = fd, .events = POLLOUT };
	int e = 0, r;
	socklen_t el = sizeof e;

	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return errno;
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	while ((r = poll(&pf, 1, CONNECT_MS)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return ETIMEDOUT;
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
		return errno;
	return e;
}

/* What answers there is the service the role names, not another one (a
 * CA's port bound as tsm=, a TSM's as ca=, some other server): one GET a
 * TSM or a CA always answers with its JSON, within ANSWER_MS.  0, or -1
 * with err naming the role, the URL and what it answered. */
static int probe_answer(const char *role, const char *uri, char *err, size_t errlen)
{
	const int tsm = !strcmp(role, "tsm");
	const char *path = tsm ? "/v1/tsm/devices" : "/v1/clock", *key = tsm ? "devices" : "epoch";
	char url[600];
	http_buf_t b = { 0 };
	json_t *o = NULL;
	long status = 0;
	CURLcode rc = CURLE_FAILED_INIT;
	CURL *c = curl_easy_init();

	snprintf(url, sizeof url, "%s%s", uri, path);
	if (c) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_buf_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_MS);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ANSWER_MS);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		if ((rc = curl_easy_perform(c)) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
	}
	if (rc == CURLE_OK && status == 200 && b.p)
		o = json_loadb(b.p, b.n, 0, NULL);
	free(b.p);
	if (o && json_object_get(o, key)) {
		json_decref(o);
		return 0;
	}
	json_decref(o);
	if (rc != CURLE_OK)
		snprintf(err, errlen, "role %s: cannot reach %s at %s: %s", role, service_name(role), uri,
			 curl_easy_strerror(rc));
	else
		snprintf(err, errlen, "role %s: %s does not answer as %s (GET %s: HTTP %ld%s)", role, uri,
			 service_name(role), path, status, status == 200 ? ", not its JSON" : "");
	return -1;
}

/* A service accepts a TCP connection and answers as itself: 0, or -1
 * with err. */
static int probe_service(const char *role, const char *uri, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	char host[256], port[16];
	int e = ECONNREFUSED, g;

	if (!strcmp(uri, "sim") || split_url(uri, host, sizeof host, port, sizeof port) < 0)
		return 0; /* in process, or refused by preflight_binding already */
	if ((g = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "role %s: cannot reach %s at %s: %s", role, service_name(role), uri,
			 gai_strerror(g));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		e = connect_within(fd, a->ai_addr, a->ai_addrlen);
		close(fd);
		if (!e)
			break;
	}
	freeaddrinfo(ai);
	if (e) {
		snprintf(err, errlen, "role %s: cannot reach %s at %s: %s", role, service_name(role), uri,
			 strerror(e));
		return -1;
	}
	return probe_answer(role, uri, err, errlen);
}

int preflight_probe(const scen_env_t *env, char *err, size_t errlen)
{
	for (size_t i = 0; i < env->nbind; i++) {
		const binding_t *b = &env->bind[i];
		link_opts_t lo = { .seed = env->seed, .label = "preflight", .probe = 1 };
		char why[512];
		link_t *l;

		if (is_service(b->role)) {
			if (probe_service(b->role, b->uri, err, errlen) < 0)
				return -1;
			continue;
		}
		if (link_open(&l, b->uri, &lo, why, sizeof why) < 0) {
			snprintf(err, errlen, "role %s: %s", b->role, why);
			return -1;
		}
		link_close(l);
	}
	return 0;
}
