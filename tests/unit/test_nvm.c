/* test_nvm.c — the journalled store: records, transactions, ordered
 * iteration, images, and above all tearing: a transaction torn at any
 * write step recovers to exactly the state before it, directly or through
 * a saved image. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim/core/nvm.h"

/* ---- helpers ---- */

struct text {
	char *s;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = 2 * (t->len + n + 1);
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void dump_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
	struct text *t = arg;
	char hx[3];
	size_t i;

	text_add(t, key, strlen(key));
	text_add(t, "=", 1);
	for (i = 0; i < len; i++) {
		snprintf(hx, sizeof(hx), "%02X", val[i]);
		text_add(t, hx, 2);
	}
	text_add(t, "\n", 1);
}

/* The whole visible state as text: "key=HEX\n" in key order.  Free it. */
static char *dump(const nvm_t *n)
{
	struct text t = { NULL, 0, 0 };

	text_add(&t, "", 0);
	nvm_each(n, NULL, dump_one, &t);
	return t.s;
}

static void put_str(nvm_t *n, const char *key, const char *val)
{
	assert_int_equal(nvm_put(n, key, val, strlen(val)), NVM_OK);
}

static void assert_value(const nvm_t *n, const char *key, const void *want, size_t len)
{
	size_t got_len = 999;
	const uint8_t *v = nvm_get(n, key, &got_len);

	if (!v)
		fail_msg("%s: absent", key);
	assert_int_equal(got_len, len);
	assert_memory_equal(v, want, len);
}

/* ---- records ---- */

static void put_get_del(void **state)
{
	nvm_t *n = nvm_new();
	size_t len;

	(void)state;
	assert_non_null(n);
	assert_null(nvm_get(n, "a", &len));
	put_str(n, "a", "hello");
	assert_value(n, "a", "hello", 5);
	put_str(n, "a", "hi");               /* shorter, in place */
	assert_value(n, "a", "hi", 2);
	put_str(n, "a", "a longer value now"); /* longer, reallocated */
	assert_value(n, "a", "a longer value now", 18);
	/* An empty value is present, not absent. */
	assert_int_equal(nvm_put(n, "e", NULL, 0), NVM_OK);
	assert_value(n, "e", "", 0);
	assert_int_equal(nvm_del(n, "a"), NVM_OK);
	assert_null(nvm_get(n, "a", &len));
	assert_int_equal(nvm_del(n, "a"), NVM_OK); /* absent: nothing to do */
	assert_value(n, "e", "", 0);
	assert_null(nvm_get(n, NULL, &len));
	assert_int_equal(nvm_put(n, NULL, "x", 1), NVM_ERR_ARG);
	assert_int_equal(nvm_put(n, "x", NULL, 1), NVM_ERR_ARG);
	assert_int_equal(nvm_del(n, NULL), NVM_ERR_ARG);
	assert_null(nvm_get(n, "x", &len)); /* the rejected put wrote nothing */
	nvm_free(n);
	nvm_free(NULL);
}

static void put_from_own_value(void **state)
{
	nvm_t *n = nvm_new();
	const uint8_t *v;
	size_t len;

	(void)state;
	put_str(n, "a", "0123456789");
	v = nvm_get(n, "a", &len);
	/* The value handed in points into the record being overwritten. */
	assert_int_equal(nvm_put(n, "a", v + 2, 5), NVM_OK);
	assert_value(n, "a", "23456", 5);
	v = nvm_get(n, "a", &len);
	assert_int_equal(nvm_put(n, "b", v, len), NVM_OK);
	assert_value(n, "b", "23456", 5);
	nvm_free(n);
}

/* Thousands of keys: growth and deletion in the hash table keep every
 * record reachable. */
static void many_keys(void **state)
{
	nvm_t *n = nvm_new();
	char key[32];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "ef/%05d", i);
		assert_int_equal(nvm_put(n, key, &i, sizeof(i)), NVM_OK);
	}
	for (i = 0; i < 5000; i += 3) {
		snprintf(key, sizeof(key), "ef/%05d", i);
		assert_int_equal(nvm_del(n, key), NVM_OK);
	}
	for (i = 0; i < 5000; i++) {
		size_t len;
		const uint8_t *v;

		snprintf(key, sizeof(key), "ef/%05d", i);
		v = nvm_get(n, key, &len);
		if (i % 3 == 0) {
			assert_null(v);
		} else {
			assert_non_null(v);
			assert_int_equal(len, sizeof(i));
			assert_memory_equal(v, &i, sizeof(i));
		}
	}
	nvm_free(n);
}

/* ---- transactions and write steps ---- */

static void write_steps_counted(void **state)
{
	nvm_t *n = nvm_new();
	long w;

	(void)state;
	assert_int_equal(nvm_write_count(n), 0);
	put_str(n, "a", "1"); /* journal, data, commit */
	assert_int_equal(nvm_write_count(n), 3);
	assert_int_equal(nvm_del(n, "nope"), NVM_OK);
	assert_int_equal(nvm_write_count(n), 3);

	w = nvm_write_count(n);
	assert_int_equal(nvm_begin(n), NVM_OK);
	put_str(n, "b", "2");                 /* journal + data */
	assert_int_equal(nvm_write_count(n), w + 2);
	put_str(n, "b", "3");                 /* already journalled: data */
	assert_int_equal(nvm_write_count(n), w + 3);
	assert_int_equal(nvm_del(n, "b"), NVM_OK); /* data */
	assert_int_equal(nvm_write_count(n), w + 4);
	assert_int_equal(nvm_del(n, "a"), NVM_OK); /* journal + data */
	assert_int_equal(nvm_write_count(n), w + 6);
	assert_int_equal(nvm_commit(n), NVM_OK);   /* the mark */
	assert_int_equal(nvm_write_count(n), w + 7);

	/* An empty transaction has nothing to write. */
	assert_int_equal(nvm_begin(n), NVM_OK);
	assert_int_equal(nvm_commit(n), NVM_OK);
	assert_int_equal(nvm_write_count(n), w + 7);
	nvm_free(n);
}

static void transaction_state_errors(void **state)
{
	nvm_t *n = nvm_new();

	(void)state;
	assert_int_equal(nvm_commit(n), NVM_ERR_STATE);
	assert_int_equal(nvm_abort(n), NVM_ERR_STATE);
	assert_int_equal(nvm_begin(n), NVM_OK);
	assert_int_equal(nvm_begin(n), NVM_ERR_STATE);
	assert_int_equal(nvm_commit(n), NVM_OK);
	assert_int_equal(nvm_commit(n), NVM_ERR_STATE);
	assert_int_equal(nvm_begin(NULL), NVM_ERR_ARG);
	nvm_free(n);
}

static void abort_restores_values_and_absences(void **state)
{
	nvm_t *n = nvm_new();
	char *before, *after;
	long w;
	size_t len;

	(void)state;
	put_str(n, "pin/ctr", "\x03");
	put_str(n, "ef/name", "TARO");
	put_str(n, "tmp", "scratch");
	before = dump(n);

	assert_int_equal(nvm_begin(n), NVM_OK);
	put_str(n, "pin/ctr", "\x02");
	put_str(n, "pin/ctr", "\x01"); /* a second change of the same key */
	put_str(n, "new", "created");
	assert_int_equal(nvm_del(n, "tmp"), NVM_OK);
	put_str(n, "ef/name", "HANAKO YAMADA"); /* grows */
	/* Uncommitted values are what get sees. */
	assert_value(n, "pin/ctr", "\x01", 1);
	assert_value(n, "new", "created", 7);
	assert_null(nvm_get(n, "tmp", &len));
	w = nvm_write_count(n);
	assert_int_equal(nvm_abort(n), NVM_OK);
	assert_int_equal(nvm_write_count(n), w); /* abort is not a tear point */
	after = dump(n);
	assert_string_equal(after, before); /* the original, not the 02 */
	assert_null(nvm_get(n, "new", &len));
	assert_int_equal(nvm_commit(n), NVM_ERR_STATE); /* closed */
	free(before);
	free(after);
	nvm_free(n);
}

static void power_up_rolls_back_open_transaction(void **state)
{
	nvm_t *n = nvm_new();
	char *before, *after;

	(void)state;
	put_str(n, "a", "1");
	before = dump(n);
	assert_int_equal(nvm_power_up(n), 0); /* nothing open */
	assert_int_equal(nvm_begin(n), NVM_OK);
	put_str(n, "a", "2");
	put_str(n, "b", "3");
	/* Power removed mid-transaction without a tear: same recovery. */
	assert_int_equal(nvm_power_up(n), 1);
	after = dump(n);
	assert_string_equal(after, before);
	assert_int_equal(nvm_begin(n), NVM_OK); /* no transaction left open */
	assert_int_equal(nvm_commit(n), NVM_OK);
	free(before);
	free(after);
	nvm_free(n);
}

/* A transaction touching thousands of keys, deleting some and creating
 * others, rolls back exactly (rollback must find room in the table
 * without allocating). */
static void big_transaction_rolls_back(void **state)
{
	nvm_t *n = nvm_new();
	char key[32], *before, *after;
	int i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "old/%04d", i);
		assert_int_equal(nvm_put(n, key, key, strlen(key)), NVM_OK);
	}
	before = dump(n);
	assert_int_equal(nvm_begin(n), NVM_OK);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "old/%04d", i);
		assert_int_equal(nvm_del(n, key), NVM_OK);
		snprintf(key, sizeof(key), "new/%04d", i);
		assert_int_equal(nvm_put(n, key, "x", 1), NVM_OK);
	}
	assert_int_equal(nvm_abort(n), NVM_OK);
	after = dump(n);
	assert_string_equal(after, before);
	free(before);
	free(after);
	nvm_free(n);
}

/* ---- iteration ---- */

static void each_collect(void *arg, const char *key, const uint8_t *val, size_t len)
{
	(void)val;
	(void)len;
	text_add(arg, key, strlen(key));
	text_add(arg, ",", 1);
}

static void each_in_key_order(void **state)
{
	static const char *const keys[] = { "pin/sign", "ab", "a/b", "pin/auth", "a", "pin",
					    "pin/", "b", "pio" };
	nvm_t *n = nvm_new();
	struct text t = { NULL, 0, 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put_str(n, keys[i], "v");
	nvm_each(n, "", each_collect, &t);
	assert_string_equal(t.s, "a,a/b,ab,b,pin,pin/,pin/auth,pin/sign,pio,");
	t.len = 0;
	nvm_each(n, "pin/", each_collect, &t);
	assert_string_equal(t.s, "pin/,pin/auth,pin/sign,");
	t.len = 0;
	t.s[0] = '\0';
	nvm_each(n, "zz", each_collect, &t);
	assert_string_equal(t.s, "");
	free(t.s);
	nvm_free(n);
}

/* ---- images ---- */

static nvm_t *sample_store(int reversed)
{
	static const char *const kv[][2] = {
		{ "pin/auth/ctr", "\x03" }, { "pin/sign/ctr", "\x05" },
		{ "ef/0006", "JPKIAPICCTOKEN2" }, { "empty", "" }, { "cert/auth", "\x30\x82\x01\x00" },
	};
	size_t i, k = sizeof(kv) / sizeof(kv[0]);
	nvm_t *n = nvm_new();

	assert_non_null(n);
	for (i = 0; i < k; i++) {
		size_t j = reversed ? k - 1 - i : i;

		assert_int_equal(nvm_put(n, kv[j][0], kv[j][1],
					 j == 4 ? 4 : strlen(kv[j][1])), NVM_OK);
	}
	return n;
}

static void save_load_round_trip(void **state)
{
	nvm_t *a = sample_store(0), *b = sample_store(1), *c = nvm_new();
	uint8_t *ia, *ib, *ic;
	size_t la, lb, lc;
	char *da, *dc;

	(void)state;
	assert_int_equal(nvm_save(a, &ia, &la), NVM_OK);
	assert_int_equal(nvm_save(b, &ib, &lb), NVM_OK);
	/* Same contents, same bytes, whatever the order of the writes. */
	assert_int_equal(la, lb);
	assert_memory_equal(ia, ib, la);
	assert_memory_equal(ia, "MYNVM1", 6);

	put_str(c, "stale", "will be replaced");
	assert_int_equal(nvm_load(c, ia, la), NVM_OK);
	assert_int_equal(nvm_write_count(c), 0);
	assert_true(nvm_powered(c));
	da = dump(a);
	dc = dump(c);
	assert_string_equal(dc, da);
	assert_int_equal(nvm_save(c, &ic, &lc), NVM_OK);
	assert_int_equal(lc, la);
	assert_memory_equal(ic, ia, la);
	/* The loaded store works as a store. */
	put_str(c, "pin/auth/ctr", "\x02");
	assert_value(c, "pin/auth/ctr", "\x02", 1);
	free(ia);
	free(ib);
	free(ic);
	free(da);
	free(dc);
	nvm_free(a);
	nvm_free(b);
	nvm_free(c);
}

static void empty_store_round_trip(void **state)
{
	nvm_t *a = nvm_new(), *b = sample_store(0);
	uint8_t *img;
	size_t len;
	char *d;

	(void)state;
	assert_int_equal(nvm_save(a, &img, &len), NVM_OK);
	assert_int_equal(nvm_load(b, img, len), NVM_OK);
	d = dump(b);
	assert_string_equal(d, "");
	free(d);
	free(img);
	nvm_free(a);
	nvm_free(b);
}

/* A snapshot of an open transaction: the loaded chip sees the uncommitted
 * values, refuses writes until power-up, and power-up rolls back. */
static void image_carries_the_journal(void **state)
{
	nvm_t *a = sample_store(0), *b = nvm_new();
	char *before, *after;
	uint8_t *img;
	size_t len;

	(void)state;
	before = dump(a);
	assert_int_equal(nvm_begin(a), NVM_OK);
	put_str(a, "pin/auth/ctr", "\x02");
	assert_int_equal(nvm_del(a, "ef/0006"), NVM_OK);
	put_str(a, "fresh", "abc");
	assert_int_equal(nvm_save(a, &img, &len), NVM_OK);
	assert_int_equal(nvm_load(b, img, len), NVM_OK);
	assert_value(b, "pin/auth/ctr", "\x02", 1);
	assert_false(nvm_powered(b));
	assert_int_equal(nvm_put(b, "x", "y", 1), NVM_ERR_POWER);
	assert_int_equal(nvm_power_up(b), 1);
	after = dump(b);
	assert_string_equal(after, before);
	free(before);
	free(after);
	free(img);
	nvm_free(a);
	nvm_free(b);
}

/* A snapshot taken while a transaction had deleted every record: the
 * loaded table holds nothing, yet power-up must bring all of them back
 * (so the load sizes the table for the journal too). */
static void image_of_mass_delete_recovers(void **state)
{
	nvm_t *a = nvm_new(), *b = nvm_new();
	char key[16], *before, *after;
	uint8_t *img;
	size_t len;
	int i;

	(void)state;
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "r%03d", i);
		assert_int_equal(nvm_put(a, key, key, strlen(key)), NVM_OK);
	}
	before = dump(a);
	assert_int_equal(nvm_begin(a), NVM_OK);
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "r%03d", i);
		assert_int_equal(nvm_del(a, key), NVM_OK);
	}
	assert_int_equal(nvm_save(a, &img, &len), NVM_OK);
	assert_int_equal(nvm_load(b, img, len), NVM_OK);
	after = dump(b);
	assert_string_equal(after, "");
	free(after);
	assert_int_equal(nvm_power_up(b), 1);
	after = dump(b);
	assert_string_equal(after, before);
	free(before);
	free(after);
	free(img);
	nvm_free(a);
	nvm_free(b);
}

/* The target is unchanged by a rejected load: same dump, same image. */
static void assert_load_rejected(nvm_t *n, const uint8_t *img, size_t len, const char *what)
{
	uint8_t *before, *after;
	size_t lb, la;
	int rc;

	assert_int_equal(nvm_save(n, &before, &lb), NVM_OK);
	rc = nvm_load(n, img, len);
	if (rc != NVM_ERR_IMAGE)
		fail_msg("%s: load returned %d, want NVM_ERR_IMAGE", what, rc);
	assert_int_equal(nvm_save(n, &after, &la), NVM_OK);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, la);
	free(before);
	free(after);
}

static void load_rejects_truncated(void **state)
{
	nvm_t *a = sample_store(0), *t = nvm_new();
	uint8_t *img;
	size_t len, k;
	char what[32];

	(void)state;
	put_str(t, "target", "must survive");
	/* Include a journal so every section is cut somewhere. */
	assert_int_equal(nvm_begin(a), NVM_OK);
	put_str(a, "pin/sign/ctr", "\x04");
	assert_int_equal(nvm_save(a, &img, &len), NVM_OK);
	for (k = 0; k < len; k++) {
		snprintf(what, sizeof(what), "cut at %zu", k);
		assert_load_rejected(t, img, k, what);
	}
	assert_value(t, "target", "must survive", 12);
	free(img);
	nvm_free(a);
	nvm_free(t);
}

static void load_rejects_corrupted(void **state)
{
	nvm_t *a = sample_store(0), *t = nvm_new();
	uint8_t *img;
	size_t len, k;
	char what[32];

	(void)state;
	put_str(t, "target", "must survive");
	assert_int_equal(nvm_begin(a), NVM_OK);
	put_str(a, "pin/sign/ctr", "\x04");
	assert_int_equal(nvm_save(a, &img, &len), NVM_OK);
	for (k = 0; k < len; k++) {
		uint8_t bits[2] = { 0x01, 0x80 };
		int b;

		for (b = 0; b < 2; b++) {
			img[k] ^= bits[b];
			snprintf(what, sizeof(what), "byte %zu ^ %02X", k, bits[b]);
			assert_load_rejected(t, img, len, what);
			img[k] ^= bits[b];
		}
	}
	/* One byte too many is damage too. */
	img = realloc(img, len + 1);
	img[len] = 0;
	assert_load_rejected(t, img, len + 1, "extra byte");
	free(img);
	nvm_free(a);
	nvm_free(t);
}

/* Images written by hand, with a correct checksum, so that each reject
 * below comes from the structural check and not from the checksum. */
struct img {
	uint8_t b[512];
	size_t n;
};

static void img_be(struct img *im, uint64_t v, int bytes)
{
	while (bytes-- > 0)
		im->b[im->n++] = (uint8_t)(v >> (8 * bytes));
}

static void img_raw(struct img *im, const void *p, size_t n)
{
	memcpy(im->b + im->n, p, n);
	im->n += n;
}

static void img_rec(struct img *im, const char *key, size_t klen, const char *val)
{
	img_be(im, klen, 2);
	img_raw(im, key, klen);
	img_be(im, strlen(val), 4);
	img_raw(im, val, strlen(val));
}

static void img_seal(struct img *im)
{
	uint64_t h = 0xCBF29CE484222325u;
	size_t i;

	for (i = 0; i < im->n; i++) {
		h ^= im->b[i];
		h *= 0x100000001B3u;
	}
	img_be(im, h, 8);
}

static void img_head(struct img *im, uint32_t nrec)
{
	im->n = 0;
	img_raw(im, "MYNVM1", 6);
	img_be(im, 1, 1);
	img_be(im, nrec, 4);
}

static void load_crafted_images(void **state)
{
	nvm_t *t = nvm_new();
	struct img im;
	char *d;

	(void)state;
	/* First, a well-formed hand-made image loads: the builder speaks
	 * the format, so the rejects below are about their one defect. */
	img_head(&im, 2);
	img_rec(&im, "a", 1, "1");
	img_rec(&im, "b", 1, "22");
	img_be(&im, 1, 1); /* txn open */
	img_be(&im, 1, 4);
	img_be(&im, 1, 2), img_raw(&im, "c", 1), img_be(&im, 1, 1), img_be(&im, 3, 4), img_raw(&im, "old", 3);
	img_seal(&im);
	assert_int_equal(nvm_load(t, im.b, im.n), NVM_OK);
	assert_int_equal(nvm_power_up(t), 1);
	d = dump(t);
	assert_string_equal(d, "a=31\nb=3232\nc=6F6C64\n");
	free(d);

	img_head(&im, 0);
	im.b[0] = 'X';
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "magic");

	img_head(&im, 0);
	im.b[6] = 2;
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "version");

	img_head(&im, 0xFFFFFFFF);
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "record count");

	img_head(&im, 2);
	img_rec(&im, "b", 1, "1"), img_rec(&im, "a", 1, "1");
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "unsorted keys");

	img_head(&im, 2);
	img_rec(&im, "a", 1, "1"), img_rec(&im, "a", 1, "2");
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "duplicate key");

	img_head(&im, 1);
	img_rec(&im, "a\0b", 3, "1");
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "NUL in key");

	img_head(&im, 1);
	img_be(&im, 1, 2), img_raw(&im, "a", 1), img_be(&im, 100, 4), img_raw(&im, "short", 5);
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "value length past the end");

	img_head(&im, 1);
	img_be(&im, 200, 2), img_raw(&im, "a", 1), img_be(&im, 0, 4);
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "key length past the end");

	img_head(&im, 0);
	img_be(&im, 2, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "txn flag 2");

	img_head(&im, 0);
	img_be(&im, 0, 1), img_be(&im, 1, 4);
	img_be(&im, 1, 2), img_raw(&im, "c", 1), img_be(&im, 0, 1), img_be(&im, 0, 4);
	img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "journal without a transaction");

	img_head(&im, 0);
	img_be(&im, 1, 1), img_be(&im, 1, 4);
	img_be(&im, 1, 2), img_raw(&im, "c", 1), img_be(&im, 0, 1), img_be(&im, 1, 4), img_raw(&im, "x", 1);
	img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "absent with a value");

	img_head(&im, 0);
	img_be(&im, 1, 1), img_be(&im, 1, 4);
	img_be(&im, 1, 2), img_raw(&im, "c", 1), img_be(&im, 2, 1), img_be(&im, 0, 4);
	img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "present flag 2");

	img_head(&im, 0);
	img_be(&im, 1, 1), img_be(&im, 2, 4);
	img_be(&im, 1, 2), img_raw(&im, "c", 1), img_be(&im, 0, 1), img_be(&im, 0, 4);
	img_be(&im, 1, 2), img_raw(&im, "c", 1), img_be(&im, 0, 1), img_be(&im, 0, 4);
	img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "journal key twice");

	img_head(&im, 0);
	img_be(&im, 1, 1), img_be(&im, 0x7FFFFFFF, 4), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "journal count");

	img_head(&im, 0);
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_be(&im, 0, 1), img_seal(&im);
	assert_load_rejected(t, im.b, im.n, "trailing byte");

	assert_int_equal(nvm_load(t, NULL, 0), NVM_ERR_ARG);
	nvm_free(t);
}

/* A refused image says why and where: the error about a damaged state
 * file names the offset of the bad field and the record it is in, with
 * the key made printable (it goes to a terminal). */
static void load_fault_says_where(void **state)
{
	nvm_t *a = nvm_new(), *t = nvm_new();
	struct img im;
	nvm_fault_t f;
	uint8_t *img;
	size_t len, at;
	char msg[256];

	(void)state;
	assert_int_equal(nvm_load_fault(t, (const uint8_t *)"#!/bin/sh\nrm -rf /\n", 19, &f), NVM_ERR_IMAGE);
	assert_non_null(strstr(f.why, "not an NVM image"));
	assert_int_equal(f.off, 0);
	assert_string_equal(f.key, "");
	assert_int_equal(nvm_load_fault(t, (const uint8_t *)"MYNVM1", 6, &f), NVM_ERR_IMAGE);
	assert_non_null(strstr(f.why, "too short"));

	put_str(a, "pin/ctr", "\x03");
	assert_int_equal(nvm_save(a, &img, &len), NVM_OK);
	assert_int_equal(nvm_load_fault(t, img, len - 1, &f), NVM_ERR_IMAGE);
	assert_non_null(strstr(f.why, "checksum"));
	assert_int_equal(f.off, (long)(len - 9));
	img[len / 2] ^= 0x10;
	assert_int_equal(nvm_load_fault(t, img, len, &f), NVM_ERR_IMAGE);
	assert_non_null(strstr(f.why, "checksum"));
	assert_int_equal(f.off, (long)(len - 8));
	free(img);

	/* With a valid checksum: the second record's key, cleaned up. */
	img_head(&im, 2);
	img_rec(&im, "z", 1, "1");
	at = im.n;
	img_rec(&im, "\x1b[2J", 4, "1");
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_int_equal(nvm_load_fault(t, im.b, im.n, &f), NVM_ERR_IMAGE);
	assert_non_null(strstr(f.why, "out of order"));
	assert_int_equal(f.off, (long)at);
	assert_string_equal(f.key, "?[2J");
	nvm_fault_str(&f, msg, sizeof msg);
	snprintf((char *)im.b, sizeof im.b, "record ?[2J (offset %zu): ", at);
	assert_memory_equal(msg, im.b, strlen((char *)im.b));

	/* A value running past the end names its record. */
	img_head(&im, 1);
	img_be(&im, 3, 2), img_raw(&im, "key", 3), img_be(&im, 100, 4), img_raw(&im, "short", 5);
	img_be(&im, 0, 1), img_be(&im, 0, 4), img_seal(&im);
	assert_int_equal(nvm_load_fault(t, im.b, im.n, &f), NVM_ERR_IMAGE);
	assert_string_equal(f.key, "key");
	assert_non_null(strstr(f.why, "past the end"));

	/* Without a fault pointer, and for NULL arguments. */
	assert_int_equal(nvm_load_fault(t, im.b, im.n, NULL), NVM_ERR_IMAGE);
	assert_int_equal(nvm_load_fault(t, NULL, 0, &f), NVM_ERR_ARG);
	nvm_free(a);
	nvm_free(t);
}

static const char *even_length(void *arg, const char *key, const uint8_t *val, size_t len)
{
	(void)key;
	(void)val;
	++*(int *)arg;
	return len % 2 ? "odd length" : NULL;
}

/* nvm_check: the first rule whose prefix fits judges a record, a record
 * no rule claims is refused, the first bad record in key order is the
 * one named. */
static void check_applies_rules(void **state)
{
	static const nvm_rule_t rules[] = { { "x/", even_length } };
	nvm_t *n = nvm_new();
	nvm_fault_t f;
	int seen = 0;
	char msg[128];

	(void)state;
	assert_int_equal(nvm_check(n, rules, 1, &seen, &f), NVM_OK);
	put_str(n, "x/a", "12");
	put_str(n, "x/b", "1234");
	assert_int_equal(nvm_check(n, rules, 1, &seen, &f), NVM_OK);
	assert_int_equal(seen, 2);
	put_str(n, "y/c", "12");
	assert_int_equal(nvm_check(n, rules, 1, &seen, &f), NVM_ERR_IMAGE);
	assert_string_equal(f.key, "y/c");
	assert_int_equal(f.off, -1);
	assert_int_equal(nvm_del(n, "y/c"), NVM_OK);
	put_str(n, "x/c", "123");
	put_str(n, "x/0", "1");
	assert_int_equal(nvm_check(n, rules, 1, &seen, &f), NVM_ERR_IMAGE);
	assert_string_equal(f.key, "x/0");
	nvm_fault_str(&f, msg, sizeof msg);
	assert_string_equal(msg, "record x/0: odd length");
	assert_int_equal(nvm_check(n, rules, 1, &seen, NULL), NVM_ERR_IMAGE);
	assert_int_equal(nvm_fault(&f, NULL, "whole image"), NVM_ERR_IMAGE);
	nvm_fault_str(&f, msg, sizeof msg);
	assert_string_equal(msg, "whole image");
	assert_int_equal(nvm_count(n), 4);
	nvm_free(n);
}

/* ---- tearing ---- */

/* The card before a PIN verification failure: counter 3, a record of the
 * last failure that does not exist yet, a session record to be dropped,
 * a multi-byte log that grows. */
static nvm_t *pin_card(void)
{
	nvm_t *n = nvm_new();

	assert_non_null(n);
	put_str(n, "pin/ctr", "\x03");
	put_str(n, "pin/ref", "\x81");
	put_str(n, "log", "AAAAAAAAAAAAAAAA");
	put_str(n, "session", "open-session-01");
	nvm_tear_at(n, 0);
	return n;
}

/* The failed verification's transaction, stopping at the first error the
 * way a card goes mute when its power is gone.  Returns that error. */
static int pin_decrement(nvm_t *n)
{
	int rc;

	if ((rc = nvm_begin(n)) != NVM_OK)
		return rc;
	if ((rc = nvm_put(n, "pin/ctr", "\x02", 1)) != NVM_OK)
		return rc;
	if ((rc = nvm_put(n, "pin/last", "20240601120000Z", 15)) != NVM_OK)
		return rc;
	if ((rc = nvm_put(n, "log", "BBBBBBBBBBBBBBBBBBBBBBBB", 24)) != NVM_OK)
		return rc;
	if ((rc = nvm_del(n, "session")) != NVM_OK)
		return rc;
	return nvm_commit(n);
}

/* Counts the write steps of the transaction, and the two legal states. */
static long pin_steps(char **before, char **after)
{
	nvm_t *n = pin_card();
	long w0 = nvm_write_count(n), steps;

	*before = dump(n);
	assert_int_equal(pin_decrement(n), NVM_OK);
	*after = dump(n);
	steps = nvm_write_count(n) - w0;
	nvm_free(n);
	return steps;
}

static void tear_sweep_pin_counter(void **state)
{
	char *before, *after;
	long steps = pin_steps(&before, &after), k;
	int garbage_seen = 0;

	(void)state;
	/* journal + data for each of 4 keys, then the commit mark */
	assert_int_equal(steps, 9);
	assert_string_not_equal(before, after);
	for (k = 1; k <= steps + 1; k++) {
		nvm_t *n = pin_card();
		long w0 = nvm_write_count(n);
		char *torn, *recovered;

		nvm_tear_at(n, k);
		if (k > steps) {
			/* The tear lies beyond the transaction: it completes. */
			assert_int_equal(pin_decrement(n), NVM_OK);
			assert_true(nvm_powered(n));
			recovered = dump(n);
			assert_string_equal(recovered, after);
			free(recovered);
			nvm_free(n);
			continue;
		}
		assert_int_equal(pin_decrement(n), NVM_ERR_POWER);
		assert_false(nvm_powered(n));
		assert_int_equal(nvm_write_count(n) - w0, k); /* torn exactly at k */
		torn = dump(n);
		if (strcmp(torn, before) && strcmp(torn, after))
			garbage_seen++;
		/* Nothing more reaches the memory until power-up. */
		assert_int_equal(nvm_put(n, "pin/ctr", "\x00", 1), NVM_ERR_POWER);
		assert_int_equal(nvm_del(n, "pin/ctr"), NVM_ERR_POWER);
		assert_int_equal(nvm_begin(n), NVM_ERR_POWER);
		assert_int_equal(nvm_commit(n), NVM_ERR_POWER);
		assert_int_equal(nvm_abort(n), NVM_ERR_POWER);
		assert_int_equal(nvm_write_count(n) - w0, k);
		recovered = dump(n);
		assert_string_equal(recovered, torn);
		free(recovered);

		/* A tear at the first step leaves an empty journal. */
		assert_int_equal(nvm_power_up(n), k > 1);
		assert_true(nvm_powered(n));
		recovered = dump(n);
		/* The undo journal only rolls back: always the before-state,
		 * in particular never the after-state of one key with the
		 * before-state of another, and never a torn value. */
		if (strcmp(recovered, before) != 0)
			fail_msg("tear at %ld: recovered\n%s\nwant\n%s", k, recovered, before);
		/* And the card goes on: the retried transaction commits. */
		assert_int_equal(pin_decrement(n), NVM_OK);
		free(recovered);
		recovered = dump(n);
		assert_string_equal(recovered, after);
		free(recovered);
		free(torn);
		nvm_free(n);
	}
	/* The tears did leave garbage (the 4 data steps), so recovery had
	 * something to repair: this sweep would catch a missing rollback. */
	assert_true(garbage_seen >= 4);
	free(before);
	free(after);
}

/* The same sweep, but the torn chip is snapshotted and the image loaded
 * into a fresh store, which then powers up. */
static void tear_sweep_through_image(void **state)
{
	char *before, *after;
	long steps = pin_steps(&before, &after), k;

	(void)state;
	for (k = 1; k <= steps; k++) {
		nvm_t *n = pin_card(), *m = nvm_new();
		uint8_t *img, *img2;
		size_t len, len2;
		char *got;

		nvm_tear_at(n, k);
		assert_int_equal(pin_decrement(n), NVM_ERR_POWER);
		assert_int_equal(nvm_save(n, &img, &len), NVM_OK);
		assert_int_equal(nvm_load(m, img, len), NVM_OK);
		/* Loaded mid-transaction: it must power up first. */
		assert_false(nvm_powered(m));
		assert_int_equal(nvm_put(m, "x", "y", 1), NVM_ERR_POWER);
		assert_int_equal(nvm_power_up(m), k > 1);
		got = dump(m);
		if (strcmp(got, before) != 0)
			fail_msg("tear at %ld via image: recovered\n%s\nwant\n%s", k, got, before);
		free(got);
		/* Both recoveries agree to the byte. */
		nvm_power_up(n);
		free(img);
		assert_int_equal(nvm_save(n, &img, &len), NVM_OK);
		assert_int_equal(nvm_save(m, &img2, &len2), NVM_OK);
		assert_int_equal(len, len2);
		assert_memory_equal(img, img2, len);
		free(img);
		free(img2);
		nvm_free(n);
		nvm_free(m);
	}
	free(before);
	free(after);
}

/* A single put outside a transaction is its own transaction: 3 steps,
 * and a tear at any of them leaves the old value. */
static void tear_implicit_transaction(void **state)
{
	long k;

	(void)state;
	for (k = 1; k <= 4; k++) {
		nvm_t *n = nvm_new();

		put_str(n, "key", "old value!");
		nvm_tear_at(n, k);
		if (k == 4) {
			put_str(n, "key", "NEW VALUE, LONGER");
			assert_true(nvm_powered(n));
			assert_value(n, "key", "NEW VALUE, LONGER", 17);
		} else {
			assert_int_equal(nvm_put(n, "key", "NEW VALUE, LONGER", 17), NVM_ERR_POWER);
			assert_false(nvm_powered(n));
			nvm_power_up(n);
			assert_value(n, "key", "old value!", 10);
		}
		nvm_free(n);
	}
}

/* A torn data write really is half done before power-up: first half new,
 * rest old (or erased), so recovery has work to do. */
static void torn_write_is_garbage(void **state)
{
	nvm_t *n = nvm_new();
	size_t len;

	(void)state;
	put_str(n, "k", "00000000");
	nvm_tear_at(n, 2); /* journal, then the data write */
	assert_int_equal(nvm_put(n, "k", "1111111111", 10), NVM_ERR_POWER);
	assert_value(n, "k", "11111000\xFF\xFF", 10);
	assert_int_equal(nvm_power_up(n), 1);
	assert_value(n, "k", "00000000", 8);

	/* A torn delete leaves a half-erased record, not an absent one. */
	nvm_tear_at(n, 2);
	assert_int_equal(nvm_del(n, "k"), NVM_ERR_POWER);
	assert_value(n, "k", "\xFF\xFF\xFF\xFF" "0000", 8);
	assert_int_equal(nvm_power_up(n), 1);
	assert_value(n, "k", "00000000", 8);
	assert_null(nvm_get(n, "zz", &len));
	nvm_free(n);
}

static void tear_disarmed(void **state)
{
	nvm_t *n = nvm_new();

	(void)state;
	nvm_tear_at(n, 2);
	nvm_tear_at(n, 0);
	put_str(n, "a", "1");
	put_str(n, "a", "2");
	assert_true(nvm_powered(n));
	/* Armed across operations: the 5th step from now is the second
	 * put's data write. */
	nvm_tear_at(n, 5);
	put_str(n, "a", "3");
	assert_int_equal(nvm_put(n, "a", "4", 1), NVM_ERR_POWER);
	assert_int_equal(nvm_power_up(n), 1);
	assert_value(n, "a", "3", 1);
	nvm_free(n);
}

static void strerror_every_code(void **state)
{
	static const int codes[] = { NVM_OK, NVM_ERR_POWER, NVM_ERR_NOMEM, NVM_ERR_STATE,
				     NVM_ERR_IMAGE, NVM_ERR_ARG };
	size_t i, j;

	(void)state;
	for (i = 0; i < 6; i++) {
		const char *s = nvm_strerror(codes[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(s, nvm_strerror(codes[j]));
		assert_string_not_equal(s, nvm_strerror(-99));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get_del),
		cmocka_unit_test(put_from_own_value),
		cmocka_unit_test(many_keys),
		cmocka_unit_test(write_steps_counted),
		cmocka_unit_test(transaction_state_errors),
		cmocka_unit_test(abort_restores_values_and_absences),
		cmocka_unit_test(power_up_rolls_back_open_transaction),
		cmocka_unit_test(big_transaction_rolls_back),
		cmocka_unit_test(each_in_key_order),
		cmocka_unit_test(save_load_round_trip),
		cmocka_unit_test(empty_store_round_trip),
		cmocka_unit_test(image_carries_the_journal),
		cmocka_unit_test(image_of_mass_delete_recovers),
		cmocka_unit_test(load_rejects_truncated),
		cmocka_unit_test(load_rejects_corrupted),
		cmocka_unit_test(load_crafted_images),
		cmocka_unit_test(load_fault_says_where),
		cmocka_unit_test(check_applies_rules),
		cmocka_unit_test(tear_sweep_pin_counter),
		cmocka_unit_test(tear_sweep_through_image),
		cmocka_unit_test(tear_implicit_transaction),
		cmocka_unit_test(torn_write_is_garbage),
		cmocka_unit_test(tear_disarmed),
		cmocka_unit_test(strerror_every_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
