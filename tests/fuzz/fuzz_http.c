/* fuzz_http.c — the JSON (and OCSP) handlers of serve ca, serve tsm and serve wallet
 * below libmicrohttpd: requests routed through the TSM world's table
 * (hil/svc/tsm_world.h: the TSM's routes, the CA's and the Wallet's), as a server would
 * after reading them.
 *
 * The input is text: requests separated by NUL bytes, each a line
 * "METHOD PATH [CONTENT-TYPE]" (application/json when absent) and the
 * body after it. */
#include <stdlib.h>
#include <string.h>

#include "hil/svc/tsm_world.h"
#include "tests/fuzz/fuzz.h"

/* One request; line is NUL-terminated and writable. */
static void request(tsm_world_t *w, char *line, size_t n)
{
	const http_route_t *routes;
	http_req_t req = { 0 };
	http_rsp_t rsp = { 0 };
	char *nl = memchr(line, '\n', n), *sp, *body = nl ? nl + 1 : line + n;
	size_t nroutes;

	if (nl)
		*nl = 0;
	req.method = line;
	if (!(sp = strchr(line, ' ')))
		return;
	*sp = 0;
	req.path = sp + 1;
	req.content_type = HTTP_JSON;
	if ((sp = strchr(sp + 1, ' '))) {
		*sp = 0;
		req.content_type = sp + 1;
	}
	req.body = (const uint8_t *)body;
	req.body_len = (size_t)(line + n - body);
	routes = tsm_world_routes(&nroutes);
	http_route(routes, nroutes, w, &req, &rsp);
	free(rsp.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsm_world_opts_t o = { .seed = 1, .time = "20260105000000Z" };
	tsm_world_t *w;
	char err[512], *text, *p;

	if (!(text = fz_strndup(data, size)))
		return 0;
	/* A fresh world per input (in-memory databases): a crash reproduces
	 * from its own file. */
	if (tsm_world_open(&w, &o, err, sizeof err) < 0)
		abort();
	for (p = text; p < text + size;) {
		size_t n = strlen(p);

		request(w, p, n);
		p += n + 1;
	}
	tsm_world_close(w);
	free(text);
	return 0;
}
