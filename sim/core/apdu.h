/* apdu.h — ISO/IEC 7816-3/-4 command and response APDUs.
 *
 * Parsing validates the length fields of cases 1-4, short and extended;
 * a malformed command yields the ISO status word the card must answer. */
#ifndef APDU_H
#define APDU_H

#include <stddef.h>
#include <stdint.h>

#define APDU_MAX_DATA 65535
#define APDU_MAX_RSP (65536 + 2)

typedef struct apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data; /* points into the parsed buffer; NULL when lc == 0 */
	size_t lc;
	size_t le;           /* expected length: 0 = none; Le=00 gives 256 (65536 extended) */
	uint8_t icase;       /* 1..4 */
	uint8_t ext;         /* 1 if extended length encoding was used */
} apdu_t;

/* Status words used across the simulators. */
#define SW_OK 0x9000
#define SW_WRONG_LENGTH 0x6700
#define SW_SEC_STATUS 0x6982
#define SW_AUTH_BLOCKED 0x6983
#define SW_REF_DATA_BLOCKED 0x6984
#define SW_CONDITIONS 0x6985
#define SW_NO_EF 0x6986
#define SW_WRONG_DATA 0x6A80
#define SW_FUNC_NOT_SUPPORTED 0x6A81
#define SW_FILE_NOT_FOUND 0x6A82
#define SW_REF_NOT_FOUND 0x6A88
#define SW_WRONG_P1P2 0x6A86
#define SW_INCORRECT_P1P2 0x6B00
#define SW_INS_NOT_SUPPORTED 0x6D00
#define SW_CLA_NOT_SUPPORTED 0x6E00
#define SW_NO_PRECISE 0x6F00
#define SW_LOGICAL_CHANNEL 0x6881
#define SW_SM_NOT_SUPPORTED 0x6882
#define SW_END_OF_FILE 0x6282
#define SW_MEMORY_FAILURE 0x6581
#define SW_VERIFY_FAIL(n) (0x63C0 | ((n) & 0x0F))

/* Parse buf[0..len).  Returns 0, or the status word to answer (0x6700 for
 * inconsistent lengths, 0x6E00 for CLA FF, ...). */
int apdu_parse(apdu_t *a, const uint8_t *buf, size_t len);

/* Encode a command: short form when it fits, else extended.  le: 0 = none,
 * 256 (or 65536) = "all".  Returns the length written, or 0 if out is
 * too small or a field is out of range. */
size_t apdu_build(uint8_t *out, size_t cap, uint8_t cla, uint8_t ins,
		  uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc, size_t le);

/* Response under construction: data then SW1 SW2. */
typedef struct apdu_rsp {
	uint8_t *buf;
	size_t cap; /* >= 2 */
	size_t len;
} apdu_rsp_t;

/* Append data; returns 0, or -1 if it does not fit (leaving room for SW). */
int apdu_rsp_put(apdu_rsp_t *r, const void *p, size_t n);
/* Finish with a status word; returns the total response length. */
size_t apdu_rsp_sw(apdu_rsp_t *r, uint16_t sw);
/* Drop any data and answer only sw (error paths). */
size_t apdu_rsp_error(apdu_rsp_t *r, uint16_t sw);
uint16_t apdu_sw(const uint8_t *rsp, size_t len); /* 0 if len < 2 */

/* Hex helpers shared by CLI, links and tests.  apdu_unhex skips spaces
 * and ':'; returns the byte count or -1 on an odd count or a bad digit. */
long apdu_unhex(const char *hex, uint8_t *out, size_t cap);
int apdu_hexval(int c); /* a hex digit's value, -1 for anything else */
void apdu_hex(const uint8_t *p, size_t n, char *out); /* upper case, NUL-terminated, 2n+1 */

#endif
