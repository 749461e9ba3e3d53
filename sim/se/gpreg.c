/* gpreg.c — registry records.
 *
 * A record is a list of one-byte-tag, one-byte-length fields (our own
 * layout, not GP's: GET STATUS formats its answer from the decoded
 * entry).  Unknown tags are an error, so a damaged image is noticed. */
#include "gpreg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	T_KIND = 0x01,
	T_AID = 0x02,
	T_LCS = 0x03,
	T_PRIV = 0x04,
	T_ELF = 0x05,
	T_MODULE = 0x06,
	T_SD = 0x07,
	T_VERSION = 0x08,
	T_MODULES = 0x09, /* repeated */
	T_LCS_LEN = 0x0A,
	T_EXTRA = 0x0B,
	T_APPLET = 0x0C,
};

int gpreg_aid_eq(const se_aid_t *a, const uint8_t *b, size_t n)
{
	return a->len == n && memcmp(a->b, b, n) == 0;
}

typedef struct w {
	uint8_t *p;
	size_t cap, len;
	int over;
} w_t;

static void put(w_t *w, uint8_t tag, const void *v, size_t n)
{
	if (n > 0xFF || w->len + 2 + n > w->cap) {
		w->over = 1;
		return;
	}
	w->p[w->len++] = tag;
	w->p[w->len++] = (uint8_t)n;
	memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void put_aid(w_t *w, uint8_t tag, const se_aid_t *a)
{
	if (a->len)
		put(w, tag, a->b, a->len);
}

size_t gpreg_encode(const gpreg_ent_t *e, uint8_t *out, size_t cap)
{
	w_t w = { out, cap, 0, 0 };

	put(&w, T_KIND, &e->kind, 1);
	put_aid(&w, T_AID, &e->aid);
	put(&w, T_LCS, &e->lcs, 1);
	put(&w, T_PRIV, e->priv, 3);
	put_aid(&w, T_ELF, &e->elf);
	put_aid(&w, T_MODULE, &e->module);
	put_aid(&w, T_SD, &e->sd);
	if (e->has_version)
		put(&w, T_VERSION, e->version, 2);
	for (size_t i = 0; i < e->n_modules; i++)
		put_aid(&w, T_MODULES, &e->modules[i]);
	put(&w, T_LCS_LEN, &e->lcs_len, 1);
	if (e->applet)
		put(&w, T_APPLET, &e->applet, 1);
	if (e->extra_len)
		put(&w, T_EXTRA, e->extra, e->extra_len);
	return w.over ? 0 : w.len;
}

static int get_aid(se_aid_t *a, const uint8_t *v, size_t n)
{
	if (n < 1 || n > SE_AID_MAX)
		return -1;
	a->len = (uint8_t)n;
	memcpy(a->b, v, n);
	return 0;
}

int gpreg_decode(gpreg_ent_t *e, uint16_t seq, const uint8_t *p, size_t n)
{
	size_t i = 0;
	int rc = 0;

	memset(e, 0, sizeof *e);
	e->seq = seq;
	e->lcs_len = 1;
	while (i < n && rc == 0) {
		uint8_t tag, len;
		const uint8_t *v;

		if (n - i < 2 || (size_t)p[i + 1] > n - i - 2)
			return -1;
		tag = p[i];
		len = p[i + 1];
		v = p + i + 2;
		i += 2 + (size_t)len;
		switch (tag) {
		case T_KIND: rc = len == 1 && v[0] >= SE_OBJ_ELF && v[0] <= SE_OBJ_SD ? (e->kind = v[0], 0) : -1; break;
		case T_AID: rc = get_aid(&e->aid, v, len); break;
		case T_LCS: rc = len == 1 ? (e->lcs = v[0], 0) : -1; break;
		case T_PRIV: rc = len == 3 ? (memcpy(e->priv, v, 3), 0) : -1; break;
		case T_ELF: rc = get_aid(&e->elf, v, len); break;
		case T_MODULE: rc = get_aid(&e->module, v, len); break;
		case T_SD: rc = get_aid(&e->sd, v, len); break;
		case T_VERSION:
			rc = len == 2 ? (memcpy(e->version, v, 2), e->has_version = 1, 0) : -1;
			break;
		case T_MODULES:
			rc = e->n_modules < SE_MAX_MODULES ? get_aid(&e->modules[e->n_modules++], v, len) : -1;
			break;
		case T_LCS_LEN: rc = len == 1 && (v[0] == 1 || v[0] == 2) ? (e->lcs_len = v[0], 0) : -1; break;
		case T_APPLET: rc = len == 1 ? (e->applet = v[0], 0) : -1; break;
		case T_EXTRA:
			rc = len <= GPREG_EXTRA_MAX ? (memcpy(e->extra, v, len), e->extra_len = len, 0) : -1;
			break;
		default: rc = -1;
		}
	}
	return rc == 0 && e->kind && e->aid.len ? 0 : -1;
}

static void name_of(char out[16], uint16_t seq)
{
	snprintf(out, 16, GPREG_PREFIX "%04X", seq);
}

/* The sequence number of a record name, -1 unless the name is exactly
 * what name_of() writes: one record per entry, no aliases. */
static long seq_of(const char *key)
{
	const char *hex = key + strlen(GPREG_PREFIX);
	char name[16], *end;
	unsigned long v;

	if (strncmp(key, GPREG_PREFIX, strlen(GPREG_PREFIX)) != 0)
		return -1;
	v = strtoul(hex, &end, 16);
	if (*end || v > 0xFFFF)
		return -1;
	name_of(name, (uint16_t)v);
	return strcmp(name, key) == 0 ? (long)v : -1;
}

const char *gpreg_check(const char *key, const uint8_t *v, size_t n, gpreg_ent_t *e)
{
	long seq = seq_of(key);

	if (seq < 0)
		return "not a registry record name (gp/reg/ and 4 upper-case hex digits)";
	if (gpreg_decode(e, (uint16_t)seq, v, n) < 0)
		return "registry record does not decode (unknown tag, bad length, kind or AID)";
	if (seq == 0 && e->kind != SE_OBJ_SD)
		return "entry 0000, the ISD, is not a security domain";
	/* gpreg_next_seq() would wrap to 0000 and overwrite the ISD. */
	if (seq == 0xFFFF)
		return "sequence number FFFF leaves none for the next entry";
	return NULL;
}

typedef struct load_arg {
	gpreg_t *r;
	int bad;
} load_arg_t;

static void load_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
	load_arg_t *a = arg;
	unsigned seq;
	char tail;

	if (sscanf(key + strlen(GPREG_PREFIX), "%4X%c", &seq, &tail) != 1 || a->r->n == GPREG_MAX ||
	    gpreg_decode(&a->r->e[a->r->n], (uint16_t)seq, val, len) < 0) {
		a->bad = 1;
		return;
	}
	a->r->n++;
}

int gpreg_load(gpreg_t *r, const nvm_t *nvm)
{
	load_arg_t a = { r, 0 };

	r->n = 0;
	nvm_each(nvm, GPREG_PREFIX, load_one, &a); /* key order = seq order */
	return a.bad ? -1 : 0;
}

gpreg_ent_t *gpreg_find(gpreg_t *r, const uint8_t *aid, size_t len)
{
	for (size_t i = 0; i < r->n; i++)
		if (gpreg_aid_eq(&r->e[i].aid, aid, len))
			return &r->e[i];
	return NULL;
}

gpreg_ent_t *gpreg_by_seq(gpreg_t *r, uint16_t seq)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].seq == seq)
			return &r->e[i];
	return NULL;
}

uint16_t gpreg_next_seq(const gpreg_t *r)
{
	uint16_t max = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].seq > max)
			max = r->e[i].seq;
	return (uint16_t)(max + 1);
}

int gpreg_has_module(const gpreg_ent_t *elf, const uint8_t *aid, size_t len)
{
	for (size_t i = 0; i < elf->n_modules; i++)
		if (gpreg_aid_eq(&elf->modules[i], aid, len))
			return 1;
	return 0;
}

int gpreg_put(nvm_t *nvm, const gpreg_ent_t *e)
{
	uint8_t buf[512];
	size_t n = gpreg_encode(e, buf, sizeof buf);
	char name[16];

	if (!n)
		return NVM_ERR_ARG;
	name_of(name, e->seq);
	return nvm_put(nvm, name, buf, n);
}

int gpreg_del(nvm_t *nvm, const gpreg_ent_t *e)
{
	char name[16];

	name_of(name, e->seq);
	return nvm_del(nvm, name);
}
