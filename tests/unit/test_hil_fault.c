/* test_hil_fault.c — fault specs (docs/faults.md): every form parses to
 * the fields it says and prints back the same; every wrong form is
 * refused naming the valid choices; plans round-trip; a plan at work
 * fires at its count, and a scenario's fault counts from when it was
 * added. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hil/base/fault.h"

static void round_trip(const char *text, const char *canonical)
{
	fault_spec_t f;
	char err[400], out[FAULT_SPEC_MAX];

	assert_int_equal(fault_parse(text, &f, err, sizeof err), 0);
	assert_string_equal(fault_format(&f, out, sizeof out), canonical);
}

static void parses_every_form(void **state)
{
	fault_spec_t f;
	char err[400];

	(void)state;
	round_trip("se:apdu=12:power", "se:apdu=12:power");
	round_trip("card:nvm=3:tear", "card:nvm=3:tear");
	round_trip("se:apdu=5:sw=6a80", "se:apdu=5:sw=6A80");
	round_trip("se:apdu=7:flip", "se:apdu=7:flip");
	round_trip("se:apdu=7:flip=13", "se:apdu=7:flip=13");
	round_trip("se:apdu=7:truncate", "se:apdu=7:truncate");
	round_trip("se:apdu=7:truncate=0", "se:apdu=7:truncate=0");
	round_trip("tsm:req=2:drop-after", "tsm:req=2:drop-after");
	round_trip("ca:req=1:drop-before", "ca:req=1:drop-before");
	round_trip("tsm:req=1:http=503", "tsm:req=1:http=503");
	round_trip("card:apdu=4:remove", "card:apdu=4:remove");
	round_trip("se2:apdu=4:unplug", "se2:apdu=4:unplug");
	round_trip("se:apdu=2:delay=200ms", "se:apdu=2:delay=200ms");
	round_trip("se:apdu=2:delay=2000ms", "se:apdu=2:delay=2s");
	round_trip("tsm:req=3:delay=1s", "tsm:req=3:delay=1s");

	assert_int_equal(fault_parse("se:apdu=5:sw=6A80", &f, err, sizeof err), 0);
	assert_string_equal(f.role, "se");
	assert_int_equal(f.trigger, FAULT_AT_APDU);
	assert_int_equal(f.at, 5);
	assert_int_equal(f.action, FAULT_SW);
	assert_true(f.has_value);
	assert_int_equal(f.value, 0x6A80);
	assert_int_equal(fault_parse("se:apdu=2:delay=200ms", &f, err, sizeof err), 0);
	assert_int_equal(f.value, 200);
}

static void refuse(const char *text, const char *needle)
{
	fault_spec_t f;
	char err[400] = "";

	assert_int_equal(fault_parse(text, &f, err, sizeof err), -1);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", text, err, needle);
}

static void refuses_and_names_the_choices(void **state)
{
	(void)state;
	refuse("se", "ROLE:TRIGGER=N:ACTION");
	refuse("sd:apdu=1:power", "roles: card, card2, se, se2 (links), tsm, ca (services)");
	refuse("se:req=1:power", "apdu=N");
	refuse("tsm:apdu=1:power", "req=N");
	refuse("se:apdu=0:power", "from 1");
	refuse("se:apdu=x:power", "from 1");
	refuse("se:apdu:power", "from 1");
	refuse("se:apdu=1:bang", "actions: power, remove, unplug, delay=V, sw=V, truncate[=V], flip[=V]");
	refuse("se:apdu=1:tear", "unknown action 'tear'");
	refuse("se:nvm=1:power", "actions: tear");
	refuse("tsm:req=1:power", "actions: delay=V, drop-before, drop-after, http=V");
	refuse("se:apdu=1:sw", "takes a value");
	refuse("se:apdu=1:sw=6A8", "4 hex digits");
	refuse("se:apdu=1:sw=6A80Z", "4 hex digits");
	refuse("se:apdu=1:power=1", "takes no value");
	refuse("tsm:req=1:http=404", "500 to 599");
	refuse("tsm:req=1:http=600", "500 to 599");
	refuse("se:apdu=1:delay=200", "200ms");
	refuse("se:apdu=1:delay=61s", "at most 60s");
}

static void plans_round_trip(void **state)
{
	fault_plan_t p = { 0 };
	char err[400], *text;

	(void)state;
	assert_int_equal(fault_plan_parse(&p, "# a plan\nse:apdu=12:power, card:nvm=3:tear\n"
					  "tsm:req=1:http=503  # the TSM is down once\n", err, sizeof err), 0);
	assert_int_equal(p.n, 3);
	text = fault_plan_format(&p);
	assert_string_equal(text, "se:apdu=12:power\ncard:nvm=3:tear\ntsm:req=1:http=503\n");
	fault_plan_free(&p);
	assert_int_equal(fault_plan_parse(&p, text, err, sizeof err), 0);
	assert_int_equal(p.n, 3);
	free(text);
	fault_plan_free(&p);
	assert_int_equal(fault_plan_parse(&p, "se:apdu=1:power\n\nse:apdu=1:bang\n", err, sizeof err), -1);
	assert_non_null(strstr(err, "3: fault 'se:apdu=1:bang'"));
	fault_plan_free(&p);
}

static void live_fires_at_its_count(void **state)
{
	fault_plan_t p = { 0 };
	char err[400];
	fault_live_t *fl;
	fault_hit_t h;
	fault_outcome_t o;
	int idx;

	(void)state;
	assert_int_equal(fault_plan_parse(&p, "se:apdu=3:sw=6A80 tsm:req=2:drop-after se:nvm=5:tear", err, sizeof err), 0);
	fl = fault_live_new(&p, 7, NULL);
	assert_non_null(fl);
	assert_true(fault_live_wants(fl, "se"));
	assert_false(fault_live_wants(fl, "card"));
	assert_null(fault_live_apdu(fl, "se").spec);
	assert_null(fault_live_apdu(fl, "card").spec);
	assert_null(fault_live_apdu(fl, "se").spec);
	h = fault_live_apdu(fl, "se");
	assert_non_null(h.spec);
	assert_int_equal(h.value, 0x6A80);
	fault_live_fired(fl, h.index, "sim:se", "APDU 3 of se");
	/* paused (the oracle): not counted */
	fault_live_pause(fl, 1);
	assert_null(fault_live_req(fl, "tsm").spec);
	assert_null(fault_live_req(fl, "tsm").spec);
	fault_live_pause(fl, 0);
	assert_null(fault_live_req(fl, "tsm").spec);
	h = fault_live_req(fl, "tsm");
	assert_non_null(h.spec);
	assert_int_equal(h.spec->action, FAULT_DROP_AFTER);
	/* NVM: due at write 5, whatever was written before */
	assert_int_equal(fault_live_nvm_due(fl, "se", 2, &idx), 5);
	assert_int_equal(idx, 2);
	assert_int_equal(fault_live_nvm_due(fl, "se", 5, &idx), 0);
	/* a scenario's fault counts from now: se has had 3 commands */
	assert_int_equal(fault_live_add(fl, "se:apdu=1:power", "x.lua:9", err, sizeof err), 3);
	h = fault_live_apdu(fl, "se");
	assert_non_null(h.spec);
	assert_int_equal(h.index, 3);
	assert_int_equal(fault_live_add(fl, "se:bogus", "x.lua:10", err, sizeof err), -1);
	fault_live_outcome(fl, 0, &o);
	assert_true(o.fired);
	assert_string_equal(o.where, "APDU 3 of se");
	assert_string_equal(o.from, "--fault");
	fault_live_outcome(fl, 1, &o);
	assert_false(o.fired);
	assert_string_equal(o.spec, "tsm:req=2:drop-after");
	fault_live_outcome(fl, 3, &o);
	assert_string_equal(o.from, "x.lua:9");
	fault_live_add_writes(fl, "se", 40);
	fault_live_add_writes(fl, "card", 2);
	{
		char s[64];
		fault_live_writes_str(fl, s, sizeof s);
		assert_string_equal(s, "se=40 card=2");
	}
	fault_live_free(fl);
	fault_plan_free(&p);
}

/* A seeded draw is the seed's: the same seed, the same bit. */
static void draws_follow_the_seed(void **state)
{
	fault_plan_t p = { 0 };
	char err[400];
	uint32_t a[8], b[8], c[8];
	int same_c = 1;

	(void)state;
	assert_int_equal(fault_plan_parse(&p, "se:apdu=1:flip", err, sizeof err), 0);
	for (int run = 0; run < 3; run++) {
		fault_live_t *fl = fault_live_new(&p, run == 2 ? 99 : 1, NULL);
		for (int i = 0; i < 8; i++)
			(run == 0 ? a : run == 1 ? b : c)[i] = fault_live_draw(fl, 0, 1000000);
		fault_live_free(fl);
	}
	assert_memory_equal(a, b, sizeof a);
	for (int i = 0; i < 8; i++)
		same_c &= a[i] == c[i];
	assert_false(same_c);
	fault_plan_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_every_form),
		cmocka_unit_test(refuses_and_names_the_choices),
		cmocka_unit_test(plans_round_trip),
		cmocka_unit_test(live_fires_at_its_count),
		cmocka_unit_test(draws_follow_the_seed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
