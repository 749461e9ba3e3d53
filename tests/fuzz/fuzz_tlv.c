/* fuzz_tlv.c — BER-TLV (sim/core/tlv.h): every element of the input,
 * descending into constructed ones, and tlv_find over each level.  The
 * parser only accepts minimal encodings, so an element must re-encode
 * to its own header. */
#include <stdlib.h>
#include <string.h>

#include "sim/core/tlv.h"
#include "tests/fuzz/fuzz.h"

static void walk(const uint8_t *p, size_t n, int depth)
{
	uint8_t hdr[16];
	tlv_t t, f;
	long k;

	if (depth > 32)
		return;
	while (n > 0 && (k = tlv_parse(p, n, &t)) > 0) {
		size_t h = tlv_put_hdr(hdr, t.tag, t.len);

		if ((size_t)k != t.size || t.size != h + t.len || t.size > n || memcmp(hdr, p, h) ||
		    t.val != p + h)
			abort();
		if (tlv_find(p, n, t.tag, &f) != 0 || f.tag != t.tag)
			abort();
		if (tlv_is_constructed(t.tag))
			walk(t.val, t.len, depth + 1);
		p += k;
		n -= (size_t)k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[70000];

	walk(data, size, 0);
	if (size >= 4) {
		uint32_t tag = (uint32_t)data[0] << 16 | (uint32_t)data[1] << 8 | data[2];
		tlv_put(out, sizeof out, tag, data + 3, size - 3);
		tlv_put(out, sizeof out, data[0], data + 1, size - 1);
	}
	return 0;
}
