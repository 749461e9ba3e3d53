/* ddmin.h — delta debugging: the smallest failing subset (docs/incidents.md).
 *
 * Zeller and Hildebrandt's ddmin ("Simplifying and Isolating
 * Failure-Inducing Input", IEEE TSE 28(2), 2002): given n elements that
 * fail together and a test that says whether a subset still fails, it
 * returns a 1-minimal failing subset — removing any one element of it
 * makes the failure go.  The elements are indices; what they stand for
 * (exchanges of a trace, faults of a plan) is the test's business. */
#ifndef DDMIN_H
#define DDMIN_H

#include <stddef.h>

/* 1 if the subset idx[0..n) (ascending indices into the original) still
 * fails the same way, 0 if not, -1 to give up (an error). */
typedef int dd_test_fn(void *ud, const size_t *idx, size_t n);

typedef struct dd_result {
	size_t *idx;   /* the failing subset, ascending (malloc'd) */
	size_t n;
	size_t tests;  /* how many times test was called */
} dd_result_t;

/* 0 with r filled; -1 if test gave up or memory ran out.  The whole set
 * is assumed to fail (the caller has checked). */
int dd_min(size_t n, dd_test_fn *test, void *ud, dd_result_t *r);

#endif
