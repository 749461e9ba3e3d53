/* luadata.h — data files written in Lua: card profiles, SE profiles.
 *
 * Such a file may come from anyone, so it is loaded as a scenario is,
 * not trusted as our code is: text only (a binary chunk is refused), in
 * an empty environment (no library, no global), under an instruction
 * budget and a memory cap.  It returns one table, read here with typed
 * field readers whose errors name the file and the field:
 *
 *   FILE: field 'pins.auth' must be 4 digits
 *   FILE: field 'keysets[2].kvn' must be an integer in 0..127
 *
 * Readers take the key of a field of the table being read (the file's
 * table, or one entered with ld_enter / ld_list); key NULL is the value
 * being read itself (an element of a list of strings, say).  They
 * return 1 when the field is there and good (*out set), 0 when it is
 * absent and optional (*out untouched), -1 with the message written
 * when it is wrong or required and absent. */
#ifndef LUADATA_H
#define LUADATA_H

#include <stddef.h>
#include <stdint.h>

#define LD_INSTRUCTIONS 10000000L /* a table of literals needs a few thousand */
#define LD_MEMORY (64u << 20)     /* bytes of Lua memory while the file runs */

typedef struct ld ld_t;

enum ld_need { LD_OPTIONAL, LD_REQUIRED };

/* Run the file at path and keep the table it returns.  NULL on error,
 * with "FILE:LINE: what" or "FILE: what" in err.  err is also where
 * the readers write their messages; it must outlive the ld_t. */
ld_t *ld_open(const char *path, char *err, size_t errlen);
void ld_close(ld_t *ld);

/* rel, a path written in the file, as a path from here: relative ones
 * are relative to the file's directory.  0, or -1 when too long. */
int ld_path(const ld_t *ld, const char *rel, char *out, size_t cap);

/* "FILE: what" and "FILE: field 'NAME' what" into err; both return -1. */
int ld_fail(ld_t *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ld_fail_field(ld_t *ld, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Every key of the table being read is one of names (NULL-terminated),
 * so that a misspelt optional field is an error, not a default. */
int ld_only(ld_t *ld, const char *const *names);
/* 1 when the table being read has field key, whatever its value (a
 * field that is no longer read, to refuse with its replacement); else 0. */
int ld_has(ld_t *ld, const char *key);

/* Read the fields of table field key until ld_leave.  1 entered, 0
 * absent and optional (nothing to leave), -1 error. */
int ld_enter(ld_t *ld, const char *key, enum ld_need need);
void ld_leave(ld_t *ld);

/* Call fn(ld, i, arg) for each element i (0-based) of the list field
 * key, at most max of them, with the element being read (each must be
 * a table when tables is set); *count is how many there are (0 when
 * the field is absent: the return value tells that apart).  fn
 * returns a negative number to stop with an error. */
int ld_list(ld_t *ld, const char *key, size_t max, int tables, int (*fn)(ld_t *, size_t, void *),
	    void *arg, size_t *count);

int ld_int(ld_t *ld, const char *key, long long lo, long long hi, long long *out, enum ld_need need);
int ld_bool(ld_t *ld, const char *key, int *out, enum ld_need need);
/* A string without NUL bytes, at most max bytes; *out lives as long as
 * the ld_t. */
int ld_str(ld_t *ld, const char *key, size_t max, const char **out, enum ld_need need);
/* A hex string decoded into out (at most cap bytes, exactly `exact`
 * when that is not 0); *n is its length. */
int ld_hex(ld_t *ld, const char *key, uint8_t *out, size_t cap, size_t exact, size_t *n,
	   enum ld_need need);

#endif
