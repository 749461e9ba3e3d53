/* jdump.h — compact JSON text of a jansson tree, byte for byte what
 * json_dumps(j, JSON_COMPACT [| JSON_SORT_KEYS]) writes, in a fraction of
 * its time on long strings: jansson walks a string code point by code
 * point through a callback, where the text of a record here is mostly
 * long runs of hex that need no escape at all.  The TSM writes every
 * record it keeps this way (a session carries its script of hex APDUs,
 * some 13 kB, and is written at every step). */
#ifndef JDUMP_H
#define JDUMP_H

#include <stddef.h>
#include <jansson.h>

/* The text of j (an object or an array, as json_dumps without
 * JSON_ENCODE_ANY), malloc'd and NUL-terminated, its length in *n (n
 * may be NULL); keys in sorted order when sort.  NULL where json_dumps
 * gives NULL (not an object or array, a reference loop, out of memory). */
char *jdump(const json_t *j, int sort, size_t *n);

#endif
