/* test_hil_incident.c — ddmin finds exactly a failure's core, whatever
 * its size and place; the bundle writer's archive is byte-exact ustar
 * (header fields, checksum, padding, the end) and reads back; the reader
 * refuses names that escape, links, a bad checksum, oversize and cut
 * archives; unpacking writes only below its directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "hil/base/util.h"
#include "hil/incident/bundle.h"
#include "hil/incident/ddmin.h"
#include "hil/incident/incident.h"

/* Fails when every element of the core is in the subset. */
typedef struct core {
	const size_t *v;
	size_t n;
} core_t;

static int has_core(void *ud, const size_t *idx, size_t n)
{
	const core_t *c = ud;

	for (size_t k = 0; k < c->n; k++) {
		size_t i = 0;
		while (i < n && idx[i] != c->v[k])
			i++;
		if (i == n)
			return 0;
	}
	return 1;
}

static void ddmin_finds_the_core(void **state)
{
	static const size_t two[] = { 13, 57 }, one[] = { 99 }, three[] = { 0, 1, 98 };
	const core_t cores[] = { { two, 2 }, { one, 1 }, { three, 3 } };

	(void)state;
	for (size_t c = 0; c < 3; c++) {
		dd_result_t r;
		assert_int_equal(dd_min(100, has_core, (void *)&cores[c], &r), 0);
		assert_int_equal(r.n, cores[c].n);
		assert_memory_equal(r.idx, cores[c].v, r.n * sizeof *r.idx);
		assert_true(r.tests < 400); /* far from the 2^100 subsets */
		free(r.idx);
	}
}

static int give_up(void *ud, const size_t *idx, size_t n)
{
	(void)ud, (void)idx;
	return n < 50 ? -1 : 0;
}

static void ddmin_stops_when_the_test_gives_up(void **state)
{
	dd_result_t r;

	(void)state;
	assert_int_equal(dd_min(100, give_up, NULL, &r), -1);
}

static void names(void **state)
{
	char why[128];

	(void)state;
	assert_int_equal(bnd_name_ok("scenarios/card/x.lua", why, sizeof why), 0);
	assert_int_equal(bnd_name_ok("mynahil/files/card/p/bob.lua", why, sizeof why), 0);
	assert_int_equal(bnd_name_ok("../x", why, sizeof why), -1);
	assert_int_equal(bnd_name_ok("a/../../x", why, sizeof why), -1);
	assert_int_equal(bnd_name_ok("/etc/passwd", why, sizeof why), -1);
	assert_int_equal(bnd_name_ok("a//b", why, sizeof why), -1);
	assert_int_equal(bnd_name_ok("a/./b", why, sizeof why), -1);
	assert_int_equal(bnd_name_ok("a/", why, sizeof why), -1);
	assert_int_equal(bnd_name_ok("a\\b", why, sizeof why), -1);
	assert_int_equal(bnd_name_ok("a\nb", why, sizeof why), -1);
	assert_int_equal(bnd_name_ok("", why, sizeof why), -1);
}

static char dir[PATH_MAX];

static int setup(void **state)
{
	char err[256];
	(void)state;
	setenv("TMPDIR", "/tmp", 1);
	return inc_tempdir(dir, sizeof dir, err, sizeof err);
}

static int teardown(void **state)
{
	(void)state;
	return util_rmtree(dir);
}

static void written_as_ustar_and_read_back(void **state)
{
	bnd_t b = { 0 }, r = { 0 };
	char err[512], path[PATH_MAX + 16], out[PATH_MAX + 16], got[PATH_MAX + 32];
	uint8_t *buf;
	size_t n;
	static const char longname[] = "a23456789/b23456789/c23456789/d23456789/e23456789/f23456789/g23456789/"
				       "h23456789/i23456789/j23456789/k23456789/file.txt";

	(void)state;
	snprintf(path, sizeof path, "%s/b.tar", dir);
	assert_int_equal(bnd_add(&b, "x/hello.txt", "hello\n", 6, err, sizeof err), 0);
	assert_int_equal(bnd_add(&b, longname, "", 0, err, sizeof err), 0);
	assert_int_equal(bnd_add(&b, "x/hello.txt", "again", 5, err, sizeof err), -1);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(bnd_add(&b, "../up", "x", 1, err, sizeof err), -1);
	assert_int_equal(bnd_write(&b, path, err, sizeof err), 0);
	assert_int_equal(util_read_file(path, &buf, &n), 0);
	/* header, one data block, header (no data), two zero blocks */
	assert_int_equal(n, 5 * 512);
	assert_memory_equal(buf, "x/hello.txt", 12);
	assert_memory_equal(buf + 100, "0000644", 8);
	assert_memory_equal(buf + 124, "00000000006", 12);
	assert_memory_equal(buf + 136, "00000000000", 12);
	assert_int_equal(buf[156], '0');
	assert_memory_equal(buf + 257, "ustar\0" "00", 8);
	{
		unsigned sum = 0;
		for (int i = 0; i < 512; i++)
			sum += i >= 148 && i < 156 ? ' ' : buf[i];
		snprintf(got, sizeof got, "%06o", sum);
		assert_memory_equal(buf + 148, got, 7);
		assert_int_equal(buf[155], ' ');
	}
	assert_memory_equal(buf + 512, "hello\n\0\0", 8);
	/* the long name split at a '/' into prefix and name */
	assert_memory_equal(buf + 1024 + 345, longname, strrchr(longname, '/') - longname);
	assert_string_equal((char *)buf + 1024, "file.txt");
	free(buf);
	assert_int_equal(bnd_read(&r, path, err, sizeof err), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0].name, "x/hello.txt");
	assert_int_equal(r.v[0].n, 6);
	assert_string_equal(r.v[1].name, longname);
	snprintf(out, sizeof out, "%s/u", dir);
	assert_int_equal(mkdir(out, 0700), 0);
	assert_int_equal(bnd_unpack(&r, out, err, sizeof err), 0);
	snprintf(got, sizeof got, "%s/x/hello.txt", out);
	assert_int_equal(util_read_file(got, &buf, &n), 0);
	assert_int_equal(n, 6);
	free(buf);
	/* again into the same place: O_EXCL, nothing overwritten */
	assert_int_equal(bnd_unpack(&r, out, err, sizeof err), -1);
	bnd_free(&b);
	bnd_free(&r);
}

/* A one-member archive with header field changes, read back. */
static int read_altered(const char *name, char type, const char *size, int bad_sum, size_t cut, char *err,
			size_t errlen)
{
	uint8_t tar[512 * 4] = { 0 };
	unsigned sum = 0;
	char path[PATH_MAX + 16];
	bnd_t r;
	int rc;

	memcpy(tar, name, strlen(name));
	memcpy(tar + 100, "0000644", 8);
	memcpy(tar + 124, size, strlen(size));
	memcpy(tar + 136, "00000000000", 12);
	tar[156] = (uint8_t)type;
	memcpy(tar + 257, "ustar\0" "00", 8);
	for (int i = 0; i < 512; i++)
		sum += i >= 148 && i < 156 ? ' ' : tar[i];
	snprintf((char *)tar + 148, 8, "%06o", sum + (unsigned)bad_sum);
	tar[155] = ' ';
	memcpy(tar + 512, "data", 4);
	snprintf(path, sizeof path, "%s/t.tar", dir);
	assert_int_equal(util_write_file(path, tar, sizeof tar - cut), 0);
	rc = bnd_read(&r, path, err, errlen);
	if (rc == 0)
		bnd_free(&r);
	return rc;
}

static void hostile_archives_refused(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(read_altered("ok.txt", '0', "00000000004", 0, 0, err, sizeof err), 0);
	assert_int_equal(read_altered("../../evil", '0', "00000000004", 0, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "'..' path component"));
	assert_int_equal(read_altered("/etc/evil", '0', "00000000004", 0, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(read_altered("lib", '2', "00000000000", 0, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(read_altered("lib", '1', "00000000000", 0, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "hard link"));
	assert_int_equal(read_altered("ok.txt", '0', "00000000004", 1, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "checksum"));
	assert_int_equal(read_altered("big", '0', "00400000001", 0, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "over the 64 MiB"));
	assert_int_equal(read_altered("ok.txt", '0', "00000000004", 0, 1024, err, sizeof err), -1);
	assert_non_null(strstr(err, "truncated"));
	assert_int_equal(read_altered("ok.txt", '0', "00000010000", 0, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "truncated in member 'ok.txt'"));
}

static void words_as_runner_command_quotes_them(void **state)
{
	size_t n;
	char **w = inc_words("mynahil run a.lua --target 'card=sim:card?profile=x&state=y' --filter 'it'\\''s'", &n);

	(void)state;
	assert_non_null(w);
	assert_int_equal(n, 7);
	assert_string_equal(w[4], "card=sim:card?profile=x&state=y");
	assert_string_equal(w[6], "it's");
	assert_null(w[7]);
	inc_words_free(w);
	assert_null(inc_words("run 'unbalanced", &n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ddmin_finds_the_core),
		cmocka_unit_test(ddmin_stops_when_the_test_gives_up),
		cmocka_unit_test(names),
		cmocka_unit_test_setup_teardown(written_as_ustar_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_archives_refused, setup, teardown),
		cmocka_unit_test(words_as_runner_command_quotes_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
