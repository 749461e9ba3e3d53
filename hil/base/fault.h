/* fault.h — fault plans: what goes wrong, where, in a run (docs/faults.md).
 *
 * A fault is data: one spec, ROLE:TRIGGER=N:ACTION[=VALUE], written the
 * same on the command line (--fault), in a scenario (w:fault), in a plan
 * file and in a report.  A plan is a list of specs; parse and print are
 * inverse (the printed form is canonical), so a tool that shrinks a plan
 * (mynahil incident minimise) works on the list and prints it back.
 *
 *   se:apdu=12:power       the SE loses power as its 12th command is sent
 *   card:nvm=3:tear        the card's 3rd NVM write step is torn
 *   se:apdu=5:sw=6A80      the answer's status word replaced
 *   se:apdu=7:flip[=BIT]   one bit of the answer flipped (seeded if no BIT)
 *   se:apdu=7:truncate[=N] the answer cut to N bytes (seeded if no N)
 *   se:apdu=2:delay=200ms  the answer comes late (a timeout if too late)
 *   card:apdu=4:remove     the card taken out of the reader
 *   card:apdu=4:unplug     the reader itself unplugged
 *   tsm:req=2:drop-before  the connection drops before the request arrives
 *   tsm:req=2:drop-after   ... after the server acted on it
 *   tsm:req=1:http=503     the request answered 503, server not reached
 *
 * The running side (counting APDUs, NVM writes and requests per role,
 * firing, tracing) is fault_live_t, below. */
#ifndef FAULT_H
#define FAULT_H

#include <stddef.h>
#include <stdint.h>

enum fault_trigger { FAULT_AT_APDU, FAULT_AT_NVM, FAULT_AT_REQ };

enum fault_action {
	FAULT_POWER,       /* apdu: power lost, command unanswered, cold reset before the next */
	FAULT_TEAR,        /* nvm: the write step torn, power lost, cold reset before the next */
	FAULT_REMOVE,      /* apdu: the card leaves the reader until link:wait(present) */
	FAULT_UNPLUG,      /* apdu: the reader is gone for the rest of the run */
	FAULT_DELAY,       /* apdu, req: the answer after value ms */
	FAULT_SW,          /* apdu: the status word replaced by value */
	FAULT_TRUNCATE,    /* apdu: the answer cut to value bytes (has_value, else seeded) */
	FAULT_FLIP,        /* apdu: bit value of the answer flipped (has_value, else seeded) */
	FAULT_DROP_BEFORE, /* req: no answer, the server never saw the request */
	FAULT_DROP_AFTER,  /* req: no answer, the server acted on the request */
	FAULT_HTTP,        /* req: answered with status value (500-599), server not reached */
};

typedef struct fault_spec {
	char role[8];              /* card, card2, se, se2, tsm, ca */
	enum fault_trigger trigger;
	long at;                   /* N >= 1 */
	enum fault_action action;
	int has_value;
	long value;
} fault_spec_t;

#define FAULT_SPEC_MAX 64 /* the longest printed spec, with its NUL */

/* One spec from text.  0, or -1 with err saying what is wrong and
 * naming the valid roles, triggers, actions or values. */
int fault_parse(const char *text, fault_spec_t *f, char *err, size_t errlen);
/* The canonical text of f into out (always terminated); returns out. */
const char *fault_format(const fault_spec_t *f, char *out, size_t cap);
/* 1 if role names a service (tsm, ca), 0 a link. */
int fault_role_is_service(const char *role);

typedef struct fault_plan {
	fault_spec_t *v;
	size_t n, cap;
} fault_plan_t;

/* Append one spec (parsed); 0, or -1 with err. */
int fault_plan_add(fault_plan_t *p, const char *text, char *err, size_t errlen);
/* A plan from text: one spec a line or separated by commas or blanks,
 * '#' to the end of the line a comment.  0, or -1 with err naming the
 * line ("LINE: what"). */
int fault_plan_parse(fault_plan_t *p, const char *text, char *err, size_t errlen);
/* The plan as text, one spec a line (malloc'd; "" for an empty plan). */
char *fault_plan_format(const fault_plan_t *p);
void fault_plan_free(fault_plan_t *p);

/* ---- a plan at work in one scenario run ----
 *
 * Counts each role's commands, NVM writes and service requests, fires
 * the faults of the plan at their place, and writes an event record into
 * the trace when one fires.  Counts run while the scenario runs; the
 * oracle's observations and the teardown pause them (fault_live_pause),
 * so a plan means the same with or without --paranoid.  Seeded values
 * (which bit, how many bytes) come from the run's seed and the spec's
 * text: the same seed fires the same fault the same way. */
typedef struct fault_live fault_live_t;
struct trace;

fault_live_t *fault_live_new(const fault_plan_t *plan, uint64_t seed, struct trace *trace);
void fault_live_free(fault_live_t *fl);
/* A scenario's own fault (w:fault): N counts from now, not from the
 * start.  where names the scenario line for the report.  The fault's
 * index, or -1 with err. */
int fault_live_add(fault_live_t *fl, const char *text, const char *where, char *err, size_t errlen);
void fault_live_pause(fault_live_t *fl, int paused);
int fault_live_paused(const fault_live_t *fl);
/* 1 if any fault of the plan concerns role, or
 * every role is watched (fault_live_watch_all: the tear sweep's counting
 * run, which wraps every link to count its NVM writes). */
int fault_live_wants(const fault_live_t *fl, const char *role);
void fault_live_watch_all(fault_live_t *fl);
/* An event that is no fault of its own (a recovery) into the trace. */
void fault_live_note(fault_live_t *fl, const char *link, const char *event);

/* What a link (hil/link/link_fault.c) or a service call asks. */
typedef struct fault_hit {
	const fault_spec_t *spec;  /* NULL: nothing fires here */
	long value;                /* the value in effect (seeded when not given) */
	int index;
} fault_hit_t;
/* The next command of role: the fault due at it, if any (counted). */
fault_hit_t fault_live_apdu(fault_live_t *fl, const char *role);
/* The NVM write step of role's device at which the next tear is due,
 * counted from writes_so_far (the role's writes until now): 0 for none. */
long fault_live_nvm_due(fault_live_t *fl, const char *role, long writes_so_far, int *index);
/* The next request to service role (tsm, ca). */
fault_hit_t fault_live_req(fault_live_t *fl, const char *role);
/* A value drawn for hit (bits, lengths): uniform in [0, n), from the
 * fault's own stream. */
uint32_t fault_live_draw(fault_live_t *fl, int index, uint32_t n);
/* Fault index fired: where (e.g. "APDU 12 of se, 80E2..."), into the
 * trace (link: the URI the event is recorded under). */
void fault_live_fired(fault_live_t *fl, int index, const char *link, const char *where);
/* NVM writes a role's devices made in this run (the tear sweep's count). */
void fault_live_add_writes(fault_live_t *fl, const char *role, long writes);
long fault_live_writes(const fault_live_t *fl, const char *role);
long fault_live_count(const fault_live_t *fl, const char *role, enum fault_trigger t);

/* The faults' outcome, for the report. */
typedef struct fault_outcome {
	char spec[FAULT_SPEC_MAX];
	const char *from;  /* "--fault" or the scenario's FILE:LINE */
	int fired;
	const char *where; /* fired: where; not fired: NULL */
} fault_outcome_t;
size_t fault_live_n(const fault_live_t *fl);
void fault_live_outcome(const fault_live_t *fl, size_t i, fault_outcome_t *o);

/* The roles of the devices the run touched and their NVM writes, as
 * "card=12 se=340" (the tear sweep reads it back); "" when none. */
void fault_live_writes_str(const fault_live_t *fl, char *out, size_t cap);

#endif
