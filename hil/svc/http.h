/* http.h — a small HTTP server for the simulators on the network (the
 * CA and the TSM): libmicrohttpd with a thread pool, a route table with
 * "*" path segments, request bodies collected whole, and JSON (jansson)
 * helpers whose errors name the field.
 *
 * These are test simulators, not services: they listen on loopback unless
 * told otherwise, and what guards them is only what a browser on the
 * tester's machine needs to be kept out (a POST must carry its exact
 * Content-Type, which a cross-site form cannot send without a preflight
 * the server never grants; a loopback server answers only requests whose
 * Host is a loopback name, against DNS rebinding) plus an optional bearer
 * token on every POST that changes state (docs/ca.md, "Test only").
 *
 * Error bodies are {"error": "what is wrong", "field": "name" | null}. */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define HTTP_MAX_PARAMS 4

typedef struct http_req {
	const char *method;
	const char *path;                    /* decoded, without the query */
	const char *params[HTTP_MAX_PARAMS]; /* what each "*" (or a final "**") matched */
	int nparams;
	const char *content_type;            /* NULL if none */
	const char *authorization;           /* the Authorization header, NULL if none */
	const char *host;                    /* the Host header, NULL if none */
	const uint8_t *body;                 /* NUL-terminated for convenience */
	size_t body_len;
} http_req_t;

typedef struct http_rsp {
	int status;               /* 0: the server answers 500 */
	const char *content_type; /* static string */
	uint8_t *body;            /* malloc'd, freed by the server */
	size_t len;
} http_rsp_t;

typedef void (*http_fn)(void *app, const http_req_t *req, http_rsp_t *rsp);

#define HTTP_JSON "application/json"

/* A pattern is a path in which a segment "*" matches one non-empty
 * segment and a final "**" the rest of the path ('/' included), as in
 * "/v1/certs/{*}/revoke" (braces added here for the comment's sake).
 *
 * A route whose method is not GET takes a body of one media type
 * (body_type, NULL meaning HTTP_JSON), checked before the handler runs,
 * body or not: 415 otherwise.  It changes state, and so needs the
 * server's token when there is one, unless read_only says it does not
 * (OCSP: openssl has no token to send). */
typedef struct http_route {
	const char *method;
	const char *pattern;
	http_fn fn;
	const char *body_type;
	int read_only;
} http_route_t;

#define HTTP_GET(pattern, fn) { "GET", pattern, fn, NULL, 0 }
#define HTTP_POST(pattern, fn) { "POST", pattern, fn, HTTP_JSON, 0 }

typedef struct http_opts {
	int listen_fd;             /* from http_cli_listen() */
	const http_route_t *routes;
	size_t nroutes;
	void *app;
	int serialize;             /* one handler at a time: the app is not thread-safe */
	unsigned threads;          /* pool size; 0 = 4 */
	unsigned max_conns;        /* 0 = 256 */
	unsigned timeout_s;        /* idle connection timeout; 0 = 30 */
	size_t max_body;           /* 0 = 1 MiB; larger bodies get 413 */
	const char *token;         /* non-NULL: "Authorization: Bearer TOKEN" on state changes, 401 otherwise */
	int loopback_only;         /* answer only requests whose Host is a loopback name (421 otherwise) */
} http_opts_t;

typedef struct http_server http_server_t;

/* Serve until http_stop(), which waits for the handlers running and
 * closes the socket. */
int http_start(http_server_t **out, const http_opts_t *o, char *err, size_t errlen);
void http_stop(http_server_t *s);
/* The life of `mynahil serve ca|tsm`: SIGTERM and SIGINT blocked (the
 * server's threads inherit the mask, so only sigwait() takes them), the
 * server started on o->listen_fd (which it then owns), banner printed on
 * stdout, then serve until one of the signals, and stop.  Returns 0, or
 * -1 with err set if the server did not start (the caller keeps the fd). */
int http_serve_until_signal(const http_opts_t *o, const char *banner, char *err, size_t errlen);

/* Route one request through a table without a server (in-process
 * callers of the same JSON API: scenarios, benches): no token, no Host
 * check, but the same Content-Type rule.  The caller serialises. */
void http_route(const http_route_t *routes, size_t nroutes, void *app, http_req_t *req, http_rsp_t *rsp);

/* Responses. */
void http_set_bytes(http_rsp_t *rsp, int status, const char *ctype, const void *p, size_t n);
void http_set_json(http_rsp_t *rsp, int status, json_t *body); /* steals body */
void http_set_error(http_rsp_t *rsp, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Request bodies: the JSON object, or NULL with a 400 set ("body"). */
json_t *http_json_body(const http_req_t *req, http_rsp_t *rsp);
/* Field readers: on a wrong field they set a 400 naming it and return
 * -1; a missing optional field leaves *out alone and returns 0. */
int http_field_str(json_t *o, const char *name, int required, const char **out, http_rsp_t *rsp);
int http_field_b64(json_t *o, const char *name, int required, uint8_t **out, size_t *n,
		   http_rsp_t *rsp);
int http_field_int(json_t *o, const char *name, int required, int64_t *out, http_rsp_t *rsp);
/* 400 naming the first member of o not in allowed (NULL-terminated). */
int http_fields_only(json_t *o, const char *const *allowed, http_rsp_t *rsp);

/* An HTTP client's answer collected (a libcurl write callback: arg is an
 * http_buf_t; p stays NUL-terminated; free(p) after). */
typedef struct http_buf {
	char *p;
	size_t n;
} http_buf_t;
size_t http_buf_write(char *p, size_t size, size_t nmemb, void *arg);

/* Base64, standard or URL-safe alphabet, padding optional on input. */
int http_b64_decode(const char *s, size_t len, uint8_t **out, size_t *n);
char *http_b64_encode(const uint8_t *p, size_t n);

#endif
