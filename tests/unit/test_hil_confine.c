/* test_hil_confine.c — a path a scenario names stays inside its root:
 * by spelling (.., absolute), through symlinks (out of the tree, dangling,
 * in a directory on the way), and without a sibling with a common prefix
 * passing for the root. */
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

#include "hil/base/confine.h"

typedef struct fx {
	char top[PATH_MAX / 2], root[PATH_MAX], err[1024], out[PATH_MAX];
} fx_t;

static void touch(const char *dir, const char *name)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fclose(f);
}

static void link_to(const char *target, const char *dir, const char *name)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_int_equal(symlink(target, p), 0);
}

/* top/root/{in.img, sub/, out -> top/secret, dangling -> top/new, up -> top}
 * top/secret, top/root2/ */
static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof *f);
	char p[PATH_MAX * 2], tmpl[] = "/tmp/confineXXXXXX";

	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, p));
	assert_true(strlen(p) < sizeof f->top);
	memcpy(f->top, p, strlen(p) + 1);
	snprintf(f->root, sizeof f->root, "%s/root", f->top);
	assert_int_equal(mkdir(f->root, 0700), 0);
	snprintf(p, sizeof p, "%s/sub", f->root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/root2", f->top);
	assert_int_equal(mkdir(p, 0700), 0);
	touch(f->root, "in.img");
	touch(f->top, "secret");
	snprintf(p, sizeof p, "%s/secret", f->top);
	link_to(p, f->root, "out");
	snprintf(p, sizeof p, "%s/new", f->top);
	link_to(p, f->root, "dangling");
	link_to(f->top, f->root, "up");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->top);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int try(fx_t *f, const char *path)
{
	return confine_resolve(path, f->root, f->root, "the run directory", f->out, sizeof f->out, f->err,
			       sizeof f->err);
}

static void inside_paths_resolve(void **state)
{
	fx_t *f = *state;
	char want[PATH_MAX * 2];

	assert_int_equal(try(f, "in.img"), 0);
	snprintf(want, sizeof want, "%s/in.img", f->root);
	assert_string_equal(f->out, want);
	/* a file about to be written, and a spelling with . and .. that stays in */
	assert_int_equal(try(f, "sub/../sub/./new.img"), 0);
	snprintf(want, sizeof want, "%s/sub/new.img", f->root);
	assert_string_equal(f->out, want);
	snprintf(want, sizeof want, "%s/in.img", f->root);
	assert_int_equal(try(f, want), 0); /* absolute, inside */
}

static void spelling_out_is_refused(void **state)
{
	fx_t *f = *state;

	assert_int_equal(try(f, "../secret"), -1);
	assert_non_null(strstr(f->err, "'../secret' is outside the run directory"));
	assert_int_equal(try(f, "sub/../../secret"), -1);
	assert_int_equal(try(f, "/etc/passwd"), -1);
	assert_int_equal(try(f, "../root2/x"), -1); /* a sibling sharing the prefix */
	/* refused on the spelling: a file that does not exist is not probed */
	assert_int_equal(try(f, "../no/such/dir/x"), -1);
	assert_non_null(strstr(f->err, "outside"));
}

static void symlinks_out_are_refused(void **state)
{
	fx_t *f = *state;

	assert_int_equal(try(f, "out"), -1);
	assert_non_null(strstr(f->err, "resolves to"));
	assert_int_equal(try(f, "up/secret"), -1);  /* a directory on the way */
	assert_int_equal(try(f, "up/fresh.img"), -1);
	assert_int_equal(try(f, "dangling"), -1);   /* would create top/new */
}

static void missing_directory_is_an_error(void **state)
{
	fx_t *f = *state;

	assert_int_equal(try(f, "nodir/x.img"), -1);
	assert_non_null(strstr(f->err, "No such file"));
	assert_int_equal(try(f, ""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(inside_paths_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(spelling_out_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(symlinks_out_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_directory_is_an_error, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
