/* test_ca_remote.c — a CA reached elsewhere (ca_open_remote, sim/ca/ca.h):
 * the calls a TSM and a wallet make go to the ops with their arguments,
 * and their answers and errors come back as they are; what only the CA
 * itself does (card certificates, CRLs, OCSP, imports, linkage, saving
 * the clock) is refused with CA_ERR_ARG and said, never run on the
 * remote CA's missing records; closing closes the ops.  The HTTP ops
 * themselves are tests/interop/suite_bench.sh's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim/ca/ca.h"

typedef struct fake {
	int calls, closed;
	uint64_t serial;  /* the last serial an op was given */
	int reason;
	char holder[64];
} fake_t;

static int f_status(ca_t *ca, void *impl, uint64_t serial, ca_info_t *out)
{
	fake_t *f = impl;
	f->calls++;
	f->serial = serial;
	if (serial == 404)
		return ca_set_error(ca, CA_ERR_NOTFOUND, "serial", "serial: no certificate 0194");
	memset(out, 0, sizeof *out);
	out->serial = serial;
	out->status = CA_HOLD;
	out->kind = CA_PHONE;
	return CA_OK;
}

static int f_cert(ca_t *ca, void *impl, uint64_t serial, uint8_t **der, size_t *n)
{
	(void)ca;
	((fake_t *)impl)->calls++;
	((fake_t *)impl)->serial = serial;
	*der = malloc(3);
	memcpy(*der, "\x30\x01\x00", 3);
	*n = 3;
	return CA_OK;
}

static int f_list(ca_t *ca, void *impl, const char *holder, uint64_t *serials, size_t cap, size_t *n)
{
	fake_t *f = impl;
	(void)ca;
	f->calls++;
	snprintf(f->holder, sizeof f->holder, "%s", holder);
	*n = 2;
	for (size_t i = 0; i < cap && i < 2; i++)
		serials[i] = 10 + i;
	return CA_OK;
}

static int f_issue(ca_t *ca, void *impl, const ca_phone_req_t *req, uint64_t *serial, uint8_t **der, size_t *n)
{
	(void)ca;
	(void)der;
	(void)n;
	((fake_t *)impl)->calls++;
	((fake_t *)impl)->serial = req->card_serial;
	*serial = 77;
	return CA_REPLAYED;
}

static int f_verify(ca_t *ca, void *impl, uint64_t card_serial, const uint8_t *msg, size_t n, const uint8_t *sig,
		    size_t sn, ca_info_t *card)
{
	(void)msg;
	(void)n;
	(void)sig;
	(void)sn;
	(void)card;
	((fake_t *)impl)->calls++;
	((fake_t *)impl)->serial = card_serial;
	return ca_set_error(ca, CA_ERR_SIGNATURE, "signatures", "the card's signature does not verify");
}

static int f_revoke(ca_t *ca, void *impl, uint64_t serial, int reason)
{
	(void)ca;
	((fake_t *)impl)->calls++;
	((fake_t *)impl)->serial = serial;
	((fake_t *)impl)->reason = reason;
	return CA_OK;
}

static int f_hold(ca_t *ca, void *impl, uint64_t serial)
{
	(void)ca;
	((fake_t *)impl)->calls++;
	((fake_t *)impl)->serial = serial;
	return CA_OK;
}

static int f_lift(ca_t *ca, void *impl, uint64_t serial)
{
	(void)impl;
	(void)serial;
	return ca_set_error(ca, CA_ERR_DB, NULL, "cannot reach the CA at http://127.0.0.1:1: Couldn't connect to server");
}

static int f_clock(ca_t *ca, void *impl, int64_t *now)
{
	(void)ca;
	((fake_t *)impl)->calls++;
	*now = 1767571200;
	return CA_OK;
}

static void f_close(void *impl)
{
	((fake_t *)impl)->closed++;
}

static const ca_remote_ops_t ops = {
	.status = f_status, .cert = f_cert, .list_holder = f_list, .issue_phone = f_issue,
	.verify_card = f_verify, .revoke = f_revoke, .hold = f_hold, .lift = f_lift,
	.clock = f_clock, .close = f_close,
};

static ca_t *open_fake(fake_t *f)
{
	ca_t *ca = NULL;

	memset(f, 0, sizeof *f);
	assert_int_equal(ca_open_remote(&ca, &ops, f), CA_OK);
	assert_non_null(ca);
	assert_true(ca_is_remote(ca));
	return ca;
}

static void calls_go_to_the_ops(void **state)
{
	fake_t f;
	ca_t *ca = open_fake(&f);
	ca_info_t i;
	uint64_t v[4], s = 0;
	uint8_t *der = NULL, sig[1] = { 1 };
	size_t n = 0;
	int64_t t = 0;
	ca_phone_req_t r = { .card_serial = 0x0700A002 };
	(void)state;

	assert_int_equal(ca_status(ca, 0x1234, &i), CA_OK);
	assert_int_equal(f.serial, 0x1234);
	assert_int_equal(i.status, CA_HOLD);
	assert_int_equal(ca_cert(ca, 0x55, &der, &n), CA_OK);
	assert_int_equal(n, 3);
	free(der);
	assert_int_equal(ca_list_holder(ca, "alice", v, 4, &n), CA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[1], 11);
	assert_string_equal(f.holder, "alice");
	assert_int_equal(ca_issue_phone(ca, &r, &s, NULL, NULL), CA_REPLAYED);
	assert_int_equal(s, 77);
	assert_int_equal(f.serial, 0x0700A002);
	assert_int_equal(ca_revoke(ca, 0x99, CA_REASON_KEY_COMPROMISE), CA_OK);
	assert_int_equal(f.reason, CA_REASON_KEY_COMPROMISE);
	assert_int_equal(ca_hold(ca, 0x98), CA_OK);
	assert_int_equal(f.serial, 0x98);
	assert_int_equal(ca_clock_load(ca, &t), CA_OK);
	assert_int_equal(t, 1767571200);
	assert_int_equal(f.calls, 7);
	/* the ops' errors, as they said them, field included */
	assert_int_equal(ca_status(ca, 404, &i), CA_ERR_NOTFOUND);
	assert_string_equal(ca_error(ca), "serial: no certificate 0194");
	assert_string_equal(ca_error_field(ca), "serial");
	assert_int_equal(ca_verify_card(ca, 0x0700A001, sig, 1, sig, 1, NULL), CA_ERR_SIGNATURE);
	assert_string_equal(ca_error_field(ca), "signatures");
	assert_int_equal(ca_lift(ca, 0x98), CA_ERR_DB);
	assert_non_null(strstr(ca_error(ca), "cannot reach the CA at"));
	assert_null(ca_error_field(ca));
	/* a call that succeeds clears the last error */
	assert_int_equal(ca_hold(ca, 0x98), CA_OK);
	assert_string_equal(ca_error(ca), "");
	ca_close(ca);
	assert_int_equal(f.closed, 1);
}

static void the_cas_own_work_refused(void **state)
{
	fake_t f;
	ca_t *ca = open_fake(&f);
	ca_card_req_t cr = { .holder = { .id = "alice", .birth = "19800217" } };
	uint8_t *der = NULL, req[2] = { 0x30, 0x00 };
	uint64_t v[2];
	size_t n = 0;
	(void)state;

	assert_int_equal(ca_issue_card(ca, &cr, NULL, &der, &n), CA_ERR_ARG);
	assert_non_null(strstr(ca_error(ca), "asked of the CA itself"));
	assert_int_equal(ca_import_card(ca, "alice", req, sizeof req, NULL), CA_ERR_ARG);
	assert_int_equal(ca_crl(ca, CA_AUTH, &der, &n), CA_ERR_ARG);
	assert_int_equal(ca_ocsp(ca, req, sizeof req, &der, &n), CA_ERR_ARG);
	assert_int_equal(ca_clock_save(ca), CA_ERR_ARG);
	assert_int_not_equal(ca_linked(ca, 1, v, 2, &n), CA_OK);
	assert_non_null(strstr(ca_error(ca), "asked of the CA itself"));
	assert_null(der);
	assert_int_equal(f.calls, 0);
	ca_close(ca);
	assert_int_equal(f.closed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(calls_go_to_the_ops),
		cmocka_unit_test(the_cas_own_work_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
