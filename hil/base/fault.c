/* fault.c — fault specs, plans, and a plan at work in a run (fault.h). */
#include "hil/base/fault.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/base/trace.h"
#include "sim/core/rng.h"

/* ---- the spec's words: tables, so the parser, the printer and the
 * error messages cannot disagree ---- */

static const char *const link_roles[] = { "card", "card2", "se", "se2", NULL };
static const char *const svc_roles[] = { "tsm", "ca", NULL };
#define ROLES "card, card2, se, se2 (links), tsm, ca (services)"

static const char *const trigger_names[] = {
	[FAULT_AT_APDU] = "apdu", [FAULT_AT_NVM] = "nvm", [FAULT_AT_REQ] = "req",
};

enum { V_NONE, V_OPTIONAL, V_REQUIRED };
enum { ON_APDU = 1, ON_NVM = 2, ON_REQ = 4 };

static const struct action {
	const char *name;
	unsigned on;  /* triggers it goes with */
	int value;    /* V_* */
	const char *value_is; /* for messages */
} actions[] = {
	[FAULT_POWER] = { "power", ON_APDU, V_NONE, NULL },
	[FAULT_TEAR] = { "tear", ON_NVM, V_NONE, NULL },
	[FAULT_REMOVE] = { "remove", ON_APDU, V_NONE, NULL },
	[FAULT_UNPLUG] = { "unplug", ON_APDU, V_NONE, NULL },
	[FAULT_DELAY] = { "delay", ON_APDU | ON_REQ, V_REQUIRED, "a time: 200ms, 2s (at most 60s)" },
	[FAULT_SW] = { "sw", ON_APDU, V_REQUIRED, "a status word: 4 hex digits (6A80)" },
	[FAULT_TRUNCATE] = { "truncate", ON_APDU, V_OPTIONAL, "the bytes kept: 0 to 65537" },
	[FAULT_FLIP] = { "flip", ON_APDU, V_OPTIONAL, "a bit number, 0 the first byte's high bit" },
	[FAULT_DROP_BEFORE] = { "drop-before", ON_REQ, V_NONE, NULL },
	[FAULT_DROP_AFTER] = { "drop-after", ON_REQ, V_NONE, NULL },
	[FAULT_HTTP] = { "http", ON_REQ, V_REQUIRED, "a server error status: 500 to 599" },
};
#define NACTIONS (sizeof actions / sizeof actions[0])

static int in_list(const char *const *list, const char *s, size_t n)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == n && !strncmp(list[i], s, n))
			return 1;
	return 0;
}

int fault_role_is_service(const char *role)
{
	return in_list(svc_roles, role, strlen(role));
}

/* The actions a trigger takes, "power, remove, ..." */
static void action_names(unsigned on, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = 0;
	for (size_t i = 0; i < NACTIONS; i++)
		if (actions[i].on & on)
			off += (size_t)snprintf(out + off, off < cap ? cap - off : 0, "%s%s%s", off ? ", " : "",
						actions[i].name, actions[i].value == V_REQUIRED ? "=V"
								 : actions[i].value ? "[=V]" : "");
}

/* A decimal number filling [s, s+n): 0, or -1. */
static int parse_num(const char *s, size_t n, long max, long *out)
{
	long v = 0;

	if (!n || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_value(enum fault_action a, const char *s, long *out)
{
	size_t n = strlen(s);
	long v;

	switch (a) {
	case FAULT_DELAY:
		if (n > 2 && !strcmp(s + n - 2, "ms") && parse_num(s, n - 2, 60000, &v) == 0)
			return *out = v, 0;
		if (n > 1 && s[n - 1] == 's' && parse_num(s, n - 1, 60, &v) == 0)
			return *out = v * 1000, 0;
		return -1;
	case FAULT_SW:
		if (n != 4 || strspn(s, "0123456789abcdefABCDEF") != 4)
			return -1;
		*out = strtol(s, NULL, 16);
		return 0;
	case FAULT_TRUNCATE: return parse_num(s, n, 65537, out);
	case FAULT_FLIP: return parse_num(s, n, 65538L * 8 - 1, out);
	case FAULT_HTTP: return parse_num(s, n, 599, out) == 0 && *out >= 500 ? 0 : -1;
	default: return -1;
	}
}

int fault_parse(const char *text, fault_spec_t *f, char *err, size_t errlen)
{
	const char *c1 = strchr(text, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *eq, *act;
	char names[300], want[16];
	size_t rn, tn, an;
	int svc;

	memset(f, 0, sizeof *f);
	if (!c1 || !c2) {
		snprintf(err, errlen, "fault '%.80s': expected ROLE:TRIGGER=N:ACTION[=VALUE], e.g. se:apdu=12:power",
			 text);
		return -1;
	}
	rn = (size_t)(c1 - text);
	if (!in_list(link_roles, text, rn) && !in_list(svc_roles, text, rn)) {
		snprintf(err, errlen, "fault '%.80s': unknown role '%.*s' (roles: %s)", text, (int)(rn > 20 ? 20 : rn),
			 text, ROLES);
		return -1;
	}
	memcpy(f->role, text, rn);
	svc = in_list(svc_roles, text, rn);
	/* TRIGGER=N */
	eq = memchr(c1 + 1, '=', (size_t)(c2 - c1 - 1));
	tn = eq ? (size_t)(eq - c1 - 1) : (size_t)(c2 - c1 - 1);
	if (svc && tn == 3 && !strncmp(c1 + 1, "req", 3))
		f->trigger = FAULT_AT_REQ;
	else if (!svc && tn == 4 && !strncmp(c1 + 1, "apdu", 4))
		f->trigger = FAULT_AT_APDU;
	else if (!svc && tn == 3 && !strncmp(c1 + 1, "nvm", 3))
		f->trigger = FAULT_AT_NVM;
	else {
		snprintf(err, errlen, "fault '%.80s': %s takes the trigger %s, not '%.*s'", text, f->role,
			 svc ? "req=N (its N-th request)" : "apdu=N (its N-th command) or nvm=K (its K-th NVM write)",
			 (int)(tn > 20 ? 20 : tn), c1 + 1);
		return -1;
	}
	if (!eq || parse_num(eq + 1, (size_t)(c2 - eq - 1), 100000000, &f->at) < 0 || f->at < 1) {
		snprintf(err, errlen, "fault '%.80s': %s= takes a number from 1", text, trigger_names[f->trigger]);
		return -1;
	}
	/* ACTION[=VALUE] */
	act = c2 + 1;
	eq = strchr(act, '=');
	an = eq ? (size_t)(eq - act) : strlen(act);
	action_names(1u << f->trigger, names, sizeof names);
	for (size_t i = 0; i < NACTIONS; i++) {
		if (strlen(actions[i].name) != an || strncmp(actions[i].name, act, an))
			continue;
		if (!(actions[i].on & (1u << f->trigger)))
			break;
		f->action = (enum fault_action)i;
		if (eq && actions[i].value == V_NONE) {
			snprintf(err, errlen, "fault '%.80s': %s takes no value", text, actions[i].name);
			return -1;
		}
		if (!eq && actions[i].value == V_REQUIRED) {
			snprintf(err, errlen, "fault '%.80s': %s takes a value: %s", text, actions[i].name,
				 actions[i].value_is);
			return -1;
		}
		if (eq && parse_value(f->action, eq + 1, &f->value) < 0) {
			snprintf(err, errlen, "fault '%.80s': %s= takes %s, not '%.20s'", text, actions[i].name,
				 actions[i].value_is, eq + 1);
			return -1;
		}
		f->has_value = eq != NULL;
		return 0;
	}
	snprintf(want, sizeof want, "%s", trigger_names[f->trigger]);
	snprintf(err, errlen, "fault '%.80s': unknown action '%.*s' after %s= (actions: %s)", text,
		 (int)(an > 20 ? 20 : an), act, want, names);
	return -1;
}

const char *fault_format(const fault_spec_t *f, char *out, size_t cap)
{
	const struct action *a = &actions[f->action];
	int n = snprintf(out, cap, "%s:%s=%ld:%s", f->role, trigger_names[f->trigger], f->at, a->name);

	if (n < 0 || (size_t)n >= cap || !f->has_value)
		return out;
	if (f->action == FAULT_DELAY)
		snprintf(out + n, cap - (size_t)n, f->value % 1000 ? "=%ldms" : "=%lds",
			 f->value % 1000 ? f->value : f->value / 1000);
	else if (f->action == FAULT_SW)
		snprintf(out + n, cap - (size_t)n, "=%04lX", f->value);
	else
		snprintf(out + n, cap - (size_t)n, "=%ld", f->value);
	return out;
}

/* ---- plans ---- */

static int plan_push(fault_plan_t *p, const fault_spec_t *f)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		fault_spec_t *v = realloc(p->v, cap * sizeof *v);
		if (!v)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = *f;
	return 0;
}

int fault_plan_add(fault_plan_t *p, const char *text, char *err, size_t errlen)
{
	fault_spec_t f;

	if (fault_parse(text, &f, err, errlen) < 0)
		return -1;
	if (plan_push(p, &f) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int fault_plan_parse(fault_plan_t *p, const char *text, char *err, size_t errlen)
{
	unsigned line = 1;

	for (const char *s = text; *s;) {
		size_t n = strcspn(s, ", \t\r\n#");
		if (n) {
			char one[128], why[400];
			if (n >= sizeof one) {
				snprintf(err, errlen, "%u: a fault spec longer than %zu characters", line, sizeof one - 1);
				return -1;
			}
			memcpy(one, s, n);
			one[n] = 0;
			if (fault_plan_add(p, one, why, sizeof why) < 0) {
				snprintf(err, errlen, "%u: %s", line, why);
				return -1;
			}
			s += n;
			continue;
		}
		if (*s == '#')
			s += strcspn(s, "\n");
		else if (*s++ == '\n')
			line++;
	}
	return 0;
}

char *fault_plan_format(const fault_plan_t *p)
{
	char *out = malloc(p->n * FAULT_SPEC_MAX + 1);
	size_t off = 0;

	if (!out)
		return NULL;
	out[0] = 0;
	for (size_t i = 0; i < p->n; i++) {
		fault_format(&p->v[i], out + off, FAULT_SPEC_MAX);
		off += strlen(out + off);
		out[off++] = '\n';
		out[off] = 0;
	}
	return out;
}

void fault_plan_free(fault_plan_t *p)
{
	free(p->v);
	memset(p, 0, sizeof *p);
}

/* ---- a plan at work ---- */

#define MAX_ROLES 8

struct live_fault {
	fault_spec_t spec;
	long at;          /* the count it fires at (a scenario's: from when it was added) */
	char *from;       /* "--fault" or FILE:LINE */
	char *where;      /* fired: where */
	rng_t rng;        /* its own stream */
};

struct role_count {
	char role[8];
	long apdus, reqs, writes;
};

struct fault_live {
	struct live_fault *v;
	size_t n, cap;
	struct role_count roles[MAX_ROLES];
	size_t nroles;
	rng_t root;
	struct trace *trace;
	int paused;
	int watch_all;
};

static struct role_count *role_of(fault_live_t *fl, const char *role)
{
	for (size_t i = 0; i < fl->nroles; i++)
		if (!strcmp(fl->roles[i].role, role))
			return &fl->roles[i];
	if (fl->nroles == MAX_ROLES || strlen(role) >= sizeof fl->roles[0].role)
		return NULL;
	snprintf(fl->roles[fl->nroles].role, sizeof fl->roles[0].role, "%s", role);
	return &fl->roles[fl->nroles++];
}

static int live_push(fault_live_t *fl, const fault_spec_t *f, long at, const char *from)
{
	struct live_fault *lf;
	char spec[FAULT_SPEC_MAX], label[FAULT_SPEC_MAX + 32];

	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? 2 * fl->cap : 8;
		struct live_fault *v = realloc(fl->v, cap * sizeof *v);
		if (!v)
			return -1;
		fl->v = v;
		fl->cap = cap;
	}
	lf = &fl->v[fl->n];
	memset(lf, 0, sizeof *lf);
	lf->spec = *f;
	lf->at = at;
	if (!(lf->from = strdup(from)))
		return -1;
	/* the fault's own stream: its text and its place in the plan */
	snprintf(label, sizeof label, "fault/%zu/%s", fl->n, fault_format(f, spec, sizeof spec));
	rng_derive(&lf->rng, &fl->root, label);
	return (int)fl->n++;
}

fault_live_t *fault_live_new(const fault_plan_t *plan, uint64_t seed, struct trace *trace)
{
	fault_live_t *fl = calloc(1, sizeof *fl);

	if (!fl)
		return NULL;
	rng_seed(&fl->root, seed);
	fl->trace = trace;
	for (size_t i = 0; plan && i < plan->n; i++)
		if (live_push(fl, &plan->v[i], plan->v[i].at, "--fault") < 0) {
			fault_live_free(fl);
			return NULL;
		}
	return fl;
}

void fault_live_free(fault_live_t *fl)
{
	if (!fl)
		return;
	for (size_t i = 0; i < fl->n; i++) {
		free(fl->v[i].from);
		free(fl->v[i].where);
	}
	free(fl->v);
	free(fl);
}

int fault_live_add(fault_live_t *fl, const char *text, const char *where, char *err, size_t errlen)
{
	fault_spec_t f;
	struct role_count *rc;
	long base = 0;
	int i;

	if (fault_parse(text, &f, err, errlen) < 0)
		return -1;
	if ((rc = role_of(fl, f.role)))
		base = f.trigger == FAULT_AT_APDU ? rc->apdus : f.trigger == FAULT_AT_REQ ? rc->reqs : rc->writes;
	if ((i = live_push(fl, &f, base + f.at, where)) < 0)
		snprintf(err, errlen, "out of memory");
	return i;
}

void fault_live_pause(fault_live_t *fl, int paused)
{
	if (fl)
		fl->paused = paused;
}

int fault_live_paused(const fault_live_t *fl)
{
	return fl && fl->paused;
}

void fault_live_watch_all(fault_live_t *fl)
{
	fl->watch_all = 1;
}

void fault_live_note(fault_live_t *fl, const char *link, const char *event)
{
	trace_note(fl->trace, link, event);
}

int fault_live_wants(const fault_live_t *fl, const char *role)
{
	if (fl && fl->watch_all)
		return 1;
	for (size_t i = 0; fl && i < fl->n; i++)
		if (!strcmp(fl->v[i].spec.role, role))
			return 1;
	return 0;
}

/* The first unfired fault of role at trigger t due at count n. */
static fault_hit_t due(fault_live_t *fl, const char *role, enum fault_trigger t, long n)
{
	fault_hit_t h = { NULL, 0, -1 };

	for (size_t i = 0; i < fl->n; i++) {
		struct live_fault *lf = &fl->v[i];
		if (lf->where || lf->spec.trigger != t || lf->at != n || strcmp(lf->spec.role, role))
			continue;
		h.spec = &lf->spec;
		h.value = lf->spec.value;
		h.index = (int)i;
		return h;
	}
	return h;
}

static fault_hit_t next(fault_live_t *fl, const char *role, enum fault_trigger t)
{
	fault_hit_t none = { NULL, 0, -1 };
	struct role_count *rc;
	long *count;

	if (!fl || fl->paused || !(rc = role_of(fl, role)))
		return none;
	count = t == FAULT_AT_APDU ? &rc->apdus : &rc->reqs;
	return due(fl, role, t, ++*count);
}

fault_hit_t fault_live_apdu(fault_live_t *fl, const char *role)
{
	return next(fl, role, FAULT_AT_APDU);
}

fault_hit_t fault_live_req(fault_live_t *fl, const char *role)
{
	return next(fl, role, FAULT_AT_REQ);
}

long fault_live_nvm_due(fault_live_t *fl, const char *role, long writes_so_far, int *index)
{
	long best = 0;

	*index = -1;
	for (size_t i = 0; fl && !fl->paused && i < fl->n; i++) {
		struct live_fault *lf = &fl->v[i];
		if (lf->where || lf->spec.trigger != FAULT_AT_NVM || strcmp(lf->spec.role, role) ||
		    lf->at <= writes_so_far)
			continue;
		if (!best || lf->at < best) {
			best = lf->at;
			*index = (int)i;
		}
	}
	return best;
}

uint32_t fault_live_draw(fault_live_t *fl, int index, uint32_t n)
{
	return n ? rng_below(&fl->v[index].rng, n) : 0;
}

void fault_live_fired(fault_live_t *fl, int index, const char *link, const char *where)
{
	struct live_fault *lf = &fl->v[index];
	char spec[FAULT_SPEC_MAX], ev[600];

	free(lf->where);
	lf->where = strdup(where);
	snprintf(ev, sizeof ev, "fault %s fired: %s", fault_format(&lf->spec, spec, sizeof spec), where);
	trace_note(fl->trace, link, ev);
}

void fault_live_add_writes(fault_live_t *fl, const char *role, long writes)
{
	struct role_count *rc = fl ? role_of(fl, role) : NULL;

	if (rc)
		rc->writes += writes;
}

long fault_live_writes(const fault_live_t *fl, const char *role)
{
	return fault_live_count(fl, role, FAULT_AT_NVM);
}

long fault_live_count(const fault_live_t *fl, const char *role, enum fault_trigger t)
{
	for (size_t i = 0; fl && i < fl->nroles; i++)
		if (!strcmp(fl->roles[i].role, role))
			return t == FAULT_AT_APDU ? fl->roles[i].apdus : t == FAULT_AT_REQ ? fl->roles[i].reqs
											   : fl->roles[i].writes;
	return 0;
}

size_t fault_live_n(const fault_live_t *fl)
{
	return fl ? fl->n : 0;
}

void fault_live_outcome(const fault_live_t *fl, size_t i, fault_outcome_t *o)
{
	fault_format(&fl->v[i].spec, o->spec, sizeof o->spec);
	o->from = fl->v[i].from;
	o->fired = fl->v[i].where != NULL;
	o->where = fl->v[i].where;
}

void fault_live_writes_str(const fault_live_t *fl, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = 0;
	for (size_t i = 0; fl && i < fl->nroles; i++)
		if (!fault_role_is_service(fl->roles[i].role) && fl->roles[i].writes > 0)
			off += (size_t)snprintf(out + off, off < cap ? cap - off : 0, "%s%s=%ld", off ? " " : "",
						fl->roles[i].role, fl->roles[i].writes);
}
