/* http.c — the HTTP plumbing of the network simulators: libmicrohttpd
 * with a thread pool and a connection limit, a route table with each
 * route's admission rules (token, media type), whole bodies, JSON errors
 * naming the field. */
#include "hil/svc/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "hil/base/util.h"

struct http_server {
	struct MHD_Daemon *d;
	http_opts_t o;
	pthread_mutex_t lock;
	int fd;
};

/* One request in progress: the body as it arrives. */
typedef struct conn {
	uint8_t *body;
	size_t n, cap;
	int too_big;
} conn_t;

/* ------------------------------------------------------------ responses */

void http_set_bytes(http_rsp_t *rsp, int status, const char *ctype, const void *p, size_t n)
{
	free(rsp->body);
	rsp->body = malloc(n ? n : 1);
	rsp->len = 0;
	rsp->status = 500;
	rsp->content_type = "text/plain";
	if (!rsp->body)
		return;
	memcpy(rsp->body, p, n);
	rsp->len = n;
	rsp->status = status;
	rsp->content_type = ctype;
}

void http_set_json(http_rsp_t *rsp, int status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(body);
	if (!s) {
		http_set_bytes(rsp, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	free(rsp->body);
	rsp->body = (uint8_t *)s;
	rsp->len = strlen(s);
	rsp->status = status;
	rsp->content_type = "application/json";
}

void http_set_error(http_rsp_t *rsp, int status, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	http_set_json(rsp, status,
		      json_pack("{s:s, s:o}", "error", msg, "field",
				field ? json_string(field) : json_null()));
}

size_t http_buf_write(char *p, size_t size, size_t nmemb, void *arg)
{
	http_buf_t *b = arg;
	size_t n = size * nmemb;
	char *q = realloc(b->p, b->n + n + 1);

	if (!q)
		return 0; /* the client fails the transfer */
	memcpy(q + b->n, p, n);
	b->p = q;
	b->n += n;
	b->p[b->n] = 0;
	return n;
}

/* ------------------------------------------------------------ base64 */

static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int http_b64_decode(const char *s, size_t len, uint8_t **out, size_t *n)
{
	uint8_t *p;
	uint32_t acc = 0;
	size_t k = 0, i, bits = 0;

	while (len && s[len - 1] == '=')
		len--;
	if (len % 4 == 1 || !(p = malloc(len * 3 / 4 + 1)))
		return -1;
	for (i = 0; i < len; i++) {
		int v = b64_val((unsigned char)s[i]);
		if (v < 0) {
			free(p);
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[k++] = (uint8_t)(acc >> bits);
		}
	}
	*out = p;
	*n = k;
	return 0;
}

char *http_b64_encode(const uint8_t *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = malloc((n + 2) / 3 * 4 + 1), *o = s;
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		*o++ = a[(v >> 6) & 63];
		*o++ = a[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		*o++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = 0;
	return s;
}

/* ------------------------------------------------------------ JSON fields */

json_t *http_json_body(const http_req_t *req, http_rsp_t *rsp)
{
	json_error_t e;
	json_t *o;

	if (!req->body_len) {
		http_set_error(rsp, 400, "body", "body: a JSON object is needed");
		return NULL;
	}
	if (!(o = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &e))) {
		http_set_error(rsp, 400, "body", "body: not JSON (line %d column %d: %s)", e.line,
			       e.column, e.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		http_set_error(rsp, 400, "body", "body: a JSON object is needed");
		return NULL;
	}
	return o;
}

static json_t *field(json_t *o, const char *name, int required, http_rsp_t *rsp, int *bad)
{
	json_t *v = json_object_get(o, name);

	*bad = 0;
	if ((!v || json_is_null(v)) && required) {
		http_set_error(rsp, 400, name, "%s: missing", name);
		*bad = 1;
	}
	return json_is_null(v) ? NULL : v;
}

int http_field_str(json_t *o, const char *name, int required, const char **out, http_rsp_t *rsp)
{
	int bad;
	json_t *v = field(o, name, required, rsp, &bad);

	if (bad)
		return -1;
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		http_set_error(rsp, 400, name, "%s: must be a string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int http_field_b64(json_t *o, const char *name, int required, uint8_t **out, size_t *n,
		   http_rsp_t *rsp)
{
	const char *s = NULL;

	if (http_field_str(o, name, required, &s, rsp) < 0)
		return -1;
	if (!s)
		return 0;
	if (http_b64_decode(s, strlen(s), out, n) < 0) {
		http_set_error(rsp, 400, name, "%s: not base64", name);
		return -1;
	}
	return 0;
}

int http_field_int(json_t *o, const char *name, int required, int64_t *out, http_rsp_t *rsp)
{
	int bad;
	json_t *v = field(o, name, required, rsp, &bad);

	if (bad)
		return -1;
	if (!v)
		return 0;
	if (!json_is_integer(v)) {
		http_set_error(rsp, 400, name, "%s: must be an integer", name);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

int http_fields_only(json_t *o, const char *const *allowed, http_rsp_t *rsp)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		size_t i;
		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (!allowed[i]) {
			http_set_error(rsp, 400, key, "%s: unknown field", key);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ routing */

/* Match path against pattern; params point into buf (a copy of path). */
static int match(const char *pattern, char *buf, http_req_t *req)
{
	const char *p = pattern;
	char *s = buf;

	req->nparams = 0;
	while (*p && *s) {
		if (p[0] == '*' && p[1] == '*' && !p[2]) {
			if (req->nparams == HTTP_MAX_PARAMS)
				return 0;
			req->params[req->nparams++] = s;
			return 1;
		}
		if (*p == '*') {
			char *end = strchr(s, '/');
			size_t len = end ? (size_t)(end - s) : strlen(s);
			if (!len || req->nparams == HTTP_MAX_PARAMS)
				return 0;
			req->params[req->nparams++] = s;
			s += len;
			p++;
			if (*s) {
				if (*p != '/')
					return 0;
				*s++ = 0;
				p++;
			}
			continue;
		}
		if (*p++ != *s++)
			return 0;
	}
	return !*p && !*s;
}

/* The media type of a Content-Type value (parameters such as charset
 * after ';' ignored) is want, case aside. */
static int media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (!ct || strncasecmp(ct, want, n))
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return !*ct || *ct == ';';
}

/* "Bearer TOKEN" naming token.  The comparison takes the same time
 * wherever the first difference is (the length is no secret). */
static int bearer_ok(const char *authorization, const char *token)
{
	const char *t = authorization;
	size_t n = strlen(token);

	if (!t || strncasecmp(t, "Bearer ", 7))
		return 0;
	for (t += 7; *t == ' '; t++)
		;
	return strlen(t) == n && CRYPTO_memcmp(t, token, n) == 0;
}

/* What a route asks of a request before its handler runs (http.h): the
 * token for a state change, then the body's media type.  0 if it may run. */
static int admit(const http_route_t *r, const char *token, const http_req_t *req, http_rsp_t *rsp)
{
	const char *want = r->body_type ? r->body_type : HTTP_JSON;

	if (!strcmp(r->method, "GET"))
		return 0;
	if (token && !r->read_only && !bearer_ok(req->authorization, token)) {
		http_set_error(rsp, 401, "authorization",
			       "authorization: this server needs \"Authorization: Bearer TOKEN\" on %s %s "
			       "(the token is on its start-up lines, or was given with --token)",
			       req->method, req->path);
		return -1;
	}
	if (!media_type_is(req->content_type, want)) {
		http_set_error(rsp, 415, "content-type", "content-type: %s %s takes %s%s%s", req->method,
			       req->path, want, req->content_type ? ", not " : " (the request names none)",
			       req->content_type ? req->content_type : "");
		return -1;
	}
	return 0;
}

/* Route req through a table; lock (may be NULL) is held around the
 * handler; token (may be NULL) is the server's. */
static void route(const http_route_t *routes, size_t nroutes, void *app, pthread_mutex_t *lock,
		  const char *token, http_req_t *req, http_rsp_t *rsp)
{
	size_t plen = strlen(req->path), i;
	char *buf = malloc(plen + 1);
	int path_ok = 0;

	if (!buf) {
		http_set_error(rsp, 500, NULL, "out of memory");
		return;
	}
	for (i = 0; i < nroutes; i++) {
		const http_route_t *r = &routes[i];
		memcpy(buf, req->path, plen + 1);
		if (!match(r->pattern, buf, req))
			continue;
		path_ok = 1;
		if (strcmp(r->method, req->method))
			continue;
		if (admit(r, token, req, rsp) == 0) {
			if (lock)
				pthread_mutex_lock(lock);
			r->fn(app, req, rsp);
			if (lock)
				pthread_mutex_unlock(lock);
		}
		free(buf);
		return;
	}
	free(buf);
	if (path_ok)
		http_set_error(rsp, 405, "method", "method: %s is not allowed on %s", req->method,
			       req->path);
	else
		http_set_error(rsp, 404, "path", "path: no such resource %s", req->path);
}

void http_route(const http_route_t *routes, size_t nroutes, void *app, http_req_t *req, http_rsp_t *rsp)
{
	route(routes, nroutes, app, NULL, NULL, req, rsp);
}

/* A Host header naming a loopback address or "localhost" (any port), or
 * none (HTTP/1.0).  A page whose name an attacker re-points at 127.0.0.1
 * (DNS rebinding) sends its own name here. */
static int host_is_loopback(const char *host)
{
	char name[256];
	size_t n;
	struct in_addr a4;
	struct in6_addr a6;

	if (!host)
		return 1;
	if (host[0] == '[') { /* [::1]:port */
		const char *end = strchr(host, ']');
		n = end ? (size_t)(end - host - 1) : sizeof name;
		host++;
	} else {
		const char *colon = strchr(host, ':');
		n = colon ? (size_t)(colon - host) : strlen(host);
	}
	if (n >= sizeof name)
		return 0;
	memcpy(name, host, n);
	name[n] = 0;
	if (!strcasecmp(name, "localhost"))
		return 1;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static void dispatch(struct http_server *srv, http_req_t *req, http_rsp_t *rsp)
{
	if (srv->o.loopback_only && !host_is_loopback(req->host)) {
		http_set_error(rsp, 421, "host", "host: this test server answers only requests to a loopback "
				"name (127.0.0.1, [::1], localhost), not %s", req->host);
		return;
	}
	route(srv->o.routes, srv->o.nroutes, srv->o.app, srv->o.serialize ? &srv->lock : NULL, srv->o.token,
	      req, rsp);
}

static enum MHD_Result queue(struct MHD_Connection *c, http_rsp_t *rsp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!rsp->status)
		http_set_error(rsp, 500, NULL, "the handler gave no answer");
	r = MHD_create_response_from_buffer(rsp->len, rsp->body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(rsp->body);
		return MHD_NO;
	}
	rsp->body = NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rsp->content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (rsp->status == 401) /* RFC 6750 section 3 */
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"mynahil\"");
	ret = MHD_queue_response(c, (unsigned)rsp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *srv = cls;
	conn_t *cn = *con_cls;
	http_req_t req;
	http_rsp_t rsp = { 0 };
	(void)version;

	if (!cn) { /* the headers: set up for the body */
		if (!(cn = calloc(1, sizeof *cn)))
			return MHD_NO;
		*con_cls = cn;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (cn->too_big || cn->n + n > srv->o.max_body) {
			cn->too_big = 1;
			return MHD_YES;
		}
		if (cn->n + n + 1 > cn->cap) {
			size_t cap = cn->cap ? cn->cap : 1024;
			uint8_t *nb;
			while (cap < cn->n + n + 1)
				cap *= 2;
			if (!(nb = realloc(cn->body, cap)))
				return MHD_NO;
			cn->body = nb;
			cn->cap = cap;
		}
		memcpy(cn->body + cn->n, upload, n);
		cn->n += n;
		cn->body[cn->n] = 0;
		return MHD_YES;
	}
	if (cn->too_big) {
		http_set_error(&rsp, 413, "body", "body: more than %zu bytes", srv->o.max_body);
		return queue(c, &rsp);
	}
	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = url;
	req.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	req.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	req.body = cn->body ? cn->body : (const uint8_t *)"";
	req.body_len = cn->n;
	dispatch(srv, &req, &rsp);
	return queue(c, &rsp);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	conn_t *cn = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;

	if (cn) {
		free(cn->body);
		free(cn);
		*con_cls = NULL;
	}
}

/* ------------------------------------------------------------ server */

int http_start(http_server_t **out, const http_opts_t *o, char *err, size_t errlen)
{
	struct http_server *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->o = *o;
	s->fd = o->listen_fd;
	if (!s->o.threads)
		s->o.threads = 4;
	if (!s->o.max_conns)
		s->o.max_conns = 256;
	if (!s->o.timeout_s)
		s->o.timeout_s = 30;
	if (!s->o.max_body)
		s->o.max_body = 1 << 20;
	pthread_mutex_init(&s->lock, NULL);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				on_request, s, MHD_OPTION_LISTEN_SOCKET, s->fd,
				MHD_OPTION_THREAD_POOL_SIZE, s->o.threads,
				MHD_OPTION_CONNECTION_LIMIT, s->o.max_conns,
				MHD_OPTION_CONNECTION_TIMEOUT, s->o.timeout_s,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "libmicrohttpd would not start (fd %d)", s->fd);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void http_stop(http_server_t *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d); /* joins the pool and closes the listening socket */
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int http_serve_until_signal(const http_opts_t *o, const char *banner, char *err, size_t errlen)
{
	http_server_t *srv = NULL;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (http_start(&srv, o, err, errlen) < 0)
		return -1;
	fputs(banner, stdout);
	fflush(stdout);
	while (!util_stop)
		if (sigwait(&set, &sig) == 0)
			util_stop = 1;
	http_stop(srv); /* no handler runs past this */
	return 0;
}
