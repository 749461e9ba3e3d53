/* link.c — target URI dispatch and the calls common to every link. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/link/link.h"
#include "hil/base/util.h"

extern const link_ops_t link_sim_ops;
extern const link_ops_t link_pcsc_ops;
extern const link_ops_t link_nfc_ops;
extern const link_ops_t link_replay_ops;

static const link_ops_t *const kinds[] = {
	&link_sim_ops,
	&link_pcsc_ops,
	&link_nfc_ops,
	&link_replay_ops,
};

/* When the last command of this process went out (monotonic ns): the
 * lossless trace's command time (hil/trace/trc_live.c). */
static int64_t last_sent_ns;

int64_t link_last_sent_ns(void)
{
	return last_sent_ns;
}

/* The kind named by uri's scheme, or NULL. */
static const link_ops_t *find_kind(const char *uri)
{
	const char *colon = strchr(uri, ':');

	for (size_t i = 0; colon && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strlen(kinds[i]->scheme) == (size_t)(colon - uri) && !memcmp(kinds[i]->scheme, uri, (size_t)(colon - uri)))
			return kinds[i];
	return NULL;
}

const char *link_query(const char *rest)
{
	for (const char *q = strchr(rest, '?'); q; q = strchr(q + 1, '?')) {
		size_t n = strspn(q + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (n && q[1 + n] == '=')
			return q;
	}
	return NULL;
}

int link_check_uri(const char *uri, char *err, size_t errlen)
{
	const link_ops_t *ops = find_kind(uri);
	const char *q;
	char why[300];

	if (!ops) {
		snprintf(err, errlen, "%s: unknown target kind (expected %s)", uri, LINK_KINDS);
		return LINK_ERR_URI;
	}
	q = ops->pattern ? link_query(strchr(uri, ':') + 1) : strchr(uri, '?');
	if (q && util_query_check(q + 1, ops->query_keys, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", uri, why);
		return LINK_ERR_URI;
	}
	return LINK_OK;
}

int link_open(link_t **out, const char *uri, const link_opts_t *o, char *err, size_t errlen)
{
	static const link_opts_t none;
	const link_ops_t *ops = find_kind(uri);
	link_t *l;
	int rc;

	*out = NULL;
	if ((rc = link_check_uri(uri, err, errlen)) < 0)
		return rc;
	l = calloc(1, sizeof *l);
	if (!l || !(l->uri = strdup(uri))) {
		free(l);
		snprintf(err, errlen, "%s: out of memory", uri);
		return LINK_ERR_IO;
	}
	l->ops = ops;
	rc = ops->open(l, strchr(uri, ':') + 1, o ? o : &none);
	if (rc < 0) {
		snprintf(err, errlen, "%s", l->err[0] ? l->err : link_strerror(rc));
		free(l->uri);
		free(l);
		return rc;
	}
	*out = l;
	return LINK_OK;
}

void link_close(link_t *l)
{
	if (!l)
		return;
	l->ops->close(l);
	free(l->uri);
	free(l);
}

int link_power(link_t *l, enum sim_power how)
{
	return l->ops->power(l, how);
}

int link_transmit(link_t *l, const uint8_t *cmd, size_t len,
		  uint8_t *rsp, size_t cap, size_t *rsplen, int timeout_ms)
{
	last_sent_ns = util_now_ns();
	l->napdu++;
	return l->ops->transmit(l, cmd, len, rsp, cap, rsplen, timeout_ms);
}

size_t link_atr(link_t *l, uint8_t *atr, size_t cap)
{
	return l->ops->atr(l, atr, cap);
}

int link_wait(link_t *l, int present, int timeout_ms)
{
	return l->ops->wait(l, present, timeout_ms);
}

link_t *link_base(link_t *l)
{
	while (l && l->ops->inner)
		l = l->ops->inner(l);
	return l;
}

const char *link_error(const link_t *l)
{
	return l->err;
}

int link_fail(link_t *l, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(l->err, sizeof l->err, "%s: ", l->uri ? l->uri : "link");

	if (n < 0 || (size_t)n >= sizeof l->err)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(l->err + n, sizeof l->err - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

int link_path(link_t *l, const link_opts_t *o, const char *what, const char *path,
	      enum link_path_use use, char *out, size_t cap)
{
	char err[512];

	if (!o->paths) {
		if ((size_t)snprintf(out, cap, "%s", path) >= cap)
			return link_fail(l, LINK_ERR_OPEN, "%s: path too long", what);
		return 0;
	}
	if (o->paths->check(o->paths->ud, path, use, out, cap, err, sizeof err) < 0)
		return link_fail(l, LINK_ERR_OPEN, "%s: %s", what, err);
	return 0;
}

const char *link_strerror(int err)
{
	switch (err) {
	case LINK_OK: return "ok";
	case LINK_ERR_URI: return "bad target URI";
	case LINK_ERR_OPEN: return "cannot open target";
	case LINK_ERR_MUTE: return "card is mute";
	case LINK_ERR_TIMEOUT: return "timed out";
	case LINK_ERR_ABSENT: return "no card present";
	case LINK_ERR_IO: return "I/O error";
	case LINK_ERR_UNSUPPORTED: return "not supported by this link";
	}
	return "unknown link error";
}
