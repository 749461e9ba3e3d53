/* test_jdump.c — sim/core/jdump writes what json_dumps(JSON_COMPACT
 * [| JSON_SORT_KEYS]) writes, byte for byte: every byte below 0x80 in a
 * string and in a key, UTF-8 of every length, keys that sort by prefix
 * and by a NUL inside, the integer extremes, reals, empty and nested
 * containers, insertion order kept when not sorting; 3,000 seeded random
 * trees both ways; a tree deeper than it writes itself; NULL where
 * json_dumps gives NULL (a scalar at the top, a reference loop). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim/core/jdump.h"
#include "sim/core/rng.h"

static void same(const json_t *j)
{
	for (int sort = 0; sort < 2; sort++) {
		char *want = json_dumps(j, JSON_COMPACT | (sort ? JSON_SORT_KEYS : 0));
		size_t n = 0;
		char *got = jdump(j, sort, &n);
		assert_non_null(want);
		assert_non_null(got);
		assert_string_equal(got, want);
		assert_int_equal(n, strlen(want));
		free(want);
		free(got);
	}
}

static void test_strings_and_keys(void **state)
{
	json_t *o = json_object(), *a = json_array();
	char s[0x80], k[4];
	(void)state;

	for (int c = 1; c < 0x80; c++)
		s[c - 1] = (char)c;
	json_array_append_new(a, json_stringn(s, 0x7F));
	json_array_append_new(a, json_stringn("a\0b", 3)); /* \u0000 */
	json_array_append_new(a, json_string(""));
	/* UTF-8 of 2, 3 and 4 bytes go through as they are */
	json_array_append_new(a, json_string("\xC3\xA9 \xE5\x85\xAC\xE7\x9A\x84 \xF0\x9F\x94\x91"));
	for (int c = 0; c < 0x80; c++) {
		k[0] = 'k';
		k[1] = (char)c;
		json_object_setn_new(o, k, 2, json_integer(c));
	}
	json_object_set_new(o, "a", json_true());
	json_object_set_new(o, "ab", json_false());
	json_object_set_new(o, "b", json_null());
	json_object_set_new(o, "", json_string("empty key"));
	json_object_setn_new(o, "a\0", 2, json_string("a then NUL"));
	json_object_set_new(o, "\xE5\x85\xAC", json_string("UTF-8 key"));
	json_object_set_new(o, "list", a);
	same(o);
	json_decref(o);
}

static void test_numbers_and_containers(void **state)
{
	json_t *j = json_pack("{s:I, s:I, s:i, s:f, s:f, s:f, s:f, s:[], s:{}, s:[[], {}, [[n]], {s:{s:[]}}]}", "max",
			      (json_int_t)INT64_MAX, "min", (json_int_t)INT64_MIN, "zero", 0, "tenth", 0.1, "big", 1e300,
			      "negzero", -0.0, "three", 3.0, "ea", "eo", "nest", "x", "y");
	(void)state;

	assert_non_null(j);
	same(j);
	json_decref(j);
	j = json_pack("[i, s, [], {}]", -1, "top array");
	same(j);
	json_decref(j);
}

/* Not sorting: the order the keys were set in, whatever it is. */
static void test_insertion_order(void **state)
{
	json_t *o = json_object();
	char *s;
	(void)state;

	json_object_set_new(o, "z", json_integer(1));
	json_object_set_new(o, "a", json_integer(2));
	json_object_set_new(o, "m", json_integer(3));
	s = jdump(o, 0, NULL);
	assert_string_equal(s, "{\"z\":1,\"a\":2,\"m\":3}");
	free(s);
	s = jdump(o, 1, NULL);
	assert_string_equal(s, "{\"a\":2,\"m\":3,\"z\":1}");
	free(s);
	json_decref(o);
}

static json_t *random_tree(rng_t *r, int depth)
{
	static const char *const keys[] = { "id", "step", "state", "action", "apdus", "facts", "a", "ab", "b", "\"q\"",
					    "tab\tkey", "\xE5\x85\xAC" };
	uint8_t b[2];
	int kind;

	rng_bytes(r, b, 2);
	kind = depth > 4 ? b[0] % 6 : b[0] % 8;
	switch (kind) {
	case 0:
		return json_integer((json_int_t)(int8_t)b[1] * 1000003);
	case 1:
		return b[1] & 1 ? json_true() : json_false();
	case 2:
		return json_null();
	case 3:
		return json_real((double)b[1] / 7.0);
	case 4:
	case 5: {
		char s[64];
		size_t n = b[1] % sizeof s;
		rng_bytes(r, (uint8_t *)s, n);
		for (size_t i = 0; i < n; i++)
			s[i] = (char)(s[i] & 0x7F ? s[i] & 0x7F : '0'); /* ASCII: valid UTF-8 */
		return json_stringn(s, n);
	}
	case 6: {
		json_t *a = json_array();
		for (int i = 0; i < b[1] % 6; i++)
			json_array_append_new(a, random_tree(r, depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (int i = 0; i < b[1] % 8; i++) {
			uint8_t k;
			rng_bytes(r, &k, 1);
			json_object_set_new(o, keys[k % (sizeof keys / sizeof *keys)], random_tree(r, depth + 1));
		}
		return o;
	}
	}
}

static void test_random_trees(void **state)
{
	rng_t r;
	(void)state;

	rng_seed(&r, 20261205);
	for (int i = 0; i < 3000; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "t", random_tree(&r, 0));
		same(o);
		json_decref(o);
	}
}

/* Deeper than jdump writes itself: json_dumps's text all the same. */
static void test_deep(void **state)
{
	json_t *top = json_array(), *cur = top;
	(void)state;

	for (int i = 0; i < 400; i++) {
		json_t *n = json_array();
		json_array_append_new(cur, n);
		cur = n;
	}
	json_array_append_new(cur, json_string("bottom"));
	same(top);
	json_decref(top);
}

static void test_refused(void **state)
{
	json_t *s = json_string("scalar"), *a = json_array(), *b = json_array();
	(void)state;

	assert_null(json_dumps(s, JSON_COMPACT));
	assert_null(jdump(s, 0, NULL));
	assert_null(jdump(s, 1, NULL));
	assert_null(jdump(NULL, 1, NULL));
	/* a loop: json_array_append (not _new) keeps a reference each way */
	json_array_append(a, b);
	json_array_append(b, a);
	assert_null(json_dumps(a, JSON_COMPACT));
	assert_null(jdump(a, 0, NULL));
	json_array_clear(b); /* break the loop before freeing */
	json_decref(a);
	json_decref(b);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_and_keys),
		cmocka_unit_test(test_numbers_and_containers),
		cmocka_unit_test(test_insertion_order),
		cmocka_unit_test(test_random_trees),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
