/* profile.c — read a card profile.  Profiles are our own fixtures, not
 * scenario code, so they run in a bare Lua state with no libraries. */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hil/profile.h"
#include "hil/util.h"

struct profile {
	card_profile_t card;
	char *strings[16]; /* owned copies of every string in card */
	size_t nstrings;
	uint8_t *blobs[8];
	size_t nblobs;
};

typedef struct loader {
	lua_State *L;
	profile_t *p;
	char dir[PATH_MAX];
	const char *path;
	char *err;
	size_t errlen;
} loader_t;

static int fail(loader_t *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(loader_t *ld, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ld->err, ld->errlen, "%s: ", ld->path);

	if (n < 0 || (size_t)n >= ld->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Reads field `key` of the table on top of the stack as a string copy. */
static int get_str(loader_t *ld, const char *key, const char **out, int required)
{
	int rc = 0;

	lua_getfield(ld->L, -1, key);
	if (lua_isnil(ld->L, -1)) {
		*out = NULL;
		if (required)
			rc = fail(ld, "missing field '%s'", key);
	} else if (lua_type(ld->L, -1) != LUA_TSTRING) {
		rc = fail(ld, "field '%s' must be a string", key);
	} else if (ld->p->nstrings == sizeof ld->p->strings / sizeof ld->p->strings[0]) {
		rc = fail(ld, "too many strings at '%s'", key);
	} else {
		char *s = strdup(lua_tostring(ld->L, -1));
		if (!s)
			rc = fail(ld, "out of memory at '%s'", key);
		else
			*out = ld->p->strings[ld->p->nstrings++] = s;
	}
	lua_pop(ld->L, 1);
	return rc;
}

static int get_int(loader_t *ld, const char *key, int *out)
{
	int rc = 0, isnum;

	lua_getfield(ld->L, -1, key);
	*out = (int)lua_tointegerx(ld->L, -1, &isnum);
	if (!isnum)
		rc = fail(ld, "field '%s' must be an integer", key);
	lua_pop(ld->L, 1);
	return rc;
}

static int keep_blob(loader_t *ld, uint8_t *buf, size_t n, card_blob_t *b)
{
	if (ld->p->nblobs == sizeof ld->p->blobs / sizeof ld->p->blobs[0]) {
		free(buf);
		return fail(ld, "%s", "too many files");
	}
	ld->p->blobs[ld->p->nblobs++] = buf;
	b->p = buf;
	b->n = n;
	return 0;
}

/* A DER file as it is, or a PEM private key converted to PKCS#8 DER. */
static int load_file(loader_t *ld, const char *rel, int is_key, card_blob_t *b)
{
	char path[PATH_MAX * 2];
	uint8_t *buf = NULL, *der = NULL;
	size_t n;
	int len;

	if (rel[0] == '/')
		snprintf(path, sizeof path, "%s", rel);
	else
		snprintf(path, sizeof path, "%s/%s", ld->dir, rel);
	if (util_read_file(path, &buf, &n) < 0) {
		return fail(ld, "%s: %s", path, strerror(errno));
	}
	if (!is_key || n < 11 || memcmp(buf, "-----BEGIN", 10))
		return keep_blob(ld, buf, n, b);

	BIO *bio = BIO_new_mem_buf(buf, (int)n);
	EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	PKCS8_PRIV_KEY_INFO *p8 = pk ? EVP_PKEY2PKCS8(pk) : NULL;
	len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	free(buf);
	if (len <= 0)
		return fail(ld, "%s: not a PEM private key", rel);
	/* OpenSSL memory is not ours to free(); copy it. */
	buf = malloc((size_t)len);
	if (buf)
		memcpy(buf, der, (size_t)len);
	OPENSSL_free(der);
	if (!buf)
		return fail(ld, "%s", "out of memory");
	return keep_blob(ld, buf, (size_t)len, b);
}

static int get_file(loader_t *ld, const char *key, int is_key, card_blob_t *b, int required)
{
	const char *rel;

	if (get_str(ld, key, &rel, required) < 0)
		return -1;
	return rel ? load_file(ld, rel, is_key, b) : 0;
}

/* One of the tables `auth` / `sign`: { cert, key, ca }. */
static int get_pair(loader_t *ld, const char *key, card_blob_t *cert,
		    card_blob_t *k, card_blob_t *ca, int required)
{
	int rc = 0;

	lua_getfield(ld->L, -1, key);
	if (lua_isnil(ld->L, -1)) {
		if (required)
			rc = fail(ld, "missing table '%s'", key);
	} else if (!lua_istable(ld->L, -1)) {
		rc = fail(ld, "'%s' must be a table", key);
	} else if (get_file(ld, "cert", 0, cert, 1) < 0 || get_file(ld, "key", 1, k, 1) < 0 ||
		   get_file(ld, "ca", 0, ca, 1) < 0) {
		rc = -1;
	}
	lua_pop(ld->L, 1);
	return rc;
}

static int gen_of(loader_t *ld, int year, enum card_gen *g)
{
	switch (year) {
	case 2015: *g = CARD_GEN_2015; return 0;
	case 2020: *g = CARD_GEN_2020; return 0;
	case 2021: *g = CARD_GEN_2021; return 0;
	case 2024: *g = CARD_GEN_2024; return 0;
	}
	return fail(ld, "%s", "generation must be 2015, 2020, 2021 or 2024");
}

static int read_table(loader_t *ld)
{
	card_profile_t *c = &ld->p->card;
	int year = 2020;

	lua_getfield(ld->L, -1, "generation");
	if (!lua_isnil(ld->L, -1))
		year = -1;
	lua_pop(ld->L, 1);
	if (year < 0 && get_int(ld, "generation", &year) < 0)
		return -1;
	if (gen_of(ld, year, &c->gen) < 0 || get_str(ld, "token", &c->token, 0) < 0)
		return -1;

	lua_getfield(ld->L, -1, "holder");
	if (!lua_istable(ld->L, -1))
		return fail(ld, "%s", "missing table 'holder'");
	if (get_str(ld, "name", &c->holder.name, 1) < 0 ||
	    get_str(ld, "address", &c->holder.address, 1) < 0 ||
	    get_str(ld, "birth", &c->holder.birth, 1) < 0 ||
	    get_str(ld, "sex", &c->holder.sex, 1) < 0 ||
	    get_str(ld, "number", &c->holder.number, 1) < 0 ||
	    get_int(ld, "expiry_year", &c->holder.expiry_year) < 0 ||
	    get_str(ld, "security_code", &c->holder.security_code, 1) < 0)
		return -1;
	lua_pop(ld->L, 1);

	lua_getfield(ld->L, -1, "pins");
	if (!lua_istable(ld->L, -1))
		return fail(ld, "%s", "missing table 'pins'");
	if (get_str(ld, "auth", &c->pins.auth, 1) < 0 || get_str(ld, "sign", &c->pins.sign, 0) < 0 ||
	    get_str(ld, "text", &c->pins.text, 1) < 0)
		return -1;
	lua_pop(ld->L, 1);

	if (get_pair(ld, "auth", &c->auth_cert, &c->auth_key, &c->auth_ca, 1) < 0 ||
	    get_pair(ld, "sign", &c->sign_cert, &c->sign_key, &c->sign_ca, 0) < 0 ||
	    get_file(ld, "text_key", 1, &c->text_key, 0) < 0)
		return -1;
	if (!c->sign_cert.n != !c->pins.sign)
		return fail(ld, "%s", "'sign' and pins.sign go together");
	return 0;
}

profile_t *profile_load(const char *path, char *err, size_t errlen)
{
	loader_t ld = { .path = path, .err = err, .errlen = errlen };
	const char *slash = strrchr(path, '/');
	int rc = -1;

	snprintf(ld.dir, sizeof ld.dir, "%.*s", slash ? (int)(slash - path) : 1,
		 slash ? path : ".");
	ld.p = calloc(1, sizeof *ld.p);
	ld.L = luaL_newstate();
	if (!ld.p || !ld.L) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* luaL_loadfile's message is already "file:line: what is wrong". */
	if (luaL_loadfile(ld.L, path) != LUA_OK || lua_pcall(ld.L, 0, 1, 0) != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(ld.L, -1));
		goto out;
	}
	if (!lua_istable(ld.L, -1)) {
		fail(&ld, "%s", "must return a table");
		goto out;
	}
	rc = read_table(&ld);
out:
	if (ld.L)
		lua_close(ld.L);
	if (rc < 0) {
		profile_free(ld.p);
		return NULL;
	}
	return ld.p;
}

const card_profile_t *profile_card(const profile_t *p)
{
	return &p->card;
}

void profile_free(profile_t *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	for (size_t i = 0; i < p->nblobs; i++)
		free(p->blobs[i]);
	free(p);
}

const char *profile_fixtures_dir(void)
{
	const char *env = getenv("MYNAHIL_FIXTURES");
	return env && *env ? env : MYNAHIL_SOURCE_DIR "/fixtures";
}

const char *profile_default_path(void)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/profiles/default.lua", profile_fixtures_dir());
	return path;
}
