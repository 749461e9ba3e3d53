/* bench_pcsc — APDUs per second through pcscd to whatever card is in a
 * reader: SELECT EF + READ BINARY in a loop, the pair the card
 * simulator's in-process bench measures too.
 *
 *   bench_pcsc READER-REGEX [SECONDS] [--jpki]
 *
 * --jpki selects the JPKI AP first, so the EF exists (a My Number card,
 * served or real); without it the same APDUs go to any card, which
 * answers what it answers (an ISO 7816 card with an empty MF: 6A82).
 * Prints "apdu_per_s N", "apdus N", and the status words seen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/link/link.h"
#include "hil/base/util.h"
#include "sim/core/apdu.h"

static const uint8_t select_ap[] = { 0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00,
				     0x26, 0x01, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t select_ef[] = { 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x06 };
static const uint8_t read_bin[] = { 0x00, 0xB0, 0x00, 0x00, 0x20 };

int main(int argc, char **argv)
{
	static uint8_t rsp[LINK_RSP_MAX];
	char uri[512], err[512];
	double seconds = 3;
	int jpki = 0, rc = 1;
	unsigned sw_sel = 0, sw_read = 0;
	uint64_t n = 0;
	int64_t t0, t1, end;
	size_t rn;
	link_t *l;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_pcsc READER-REGEX [SECONDS] [--jpki]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--jpki"))
			jpki = 1;
		else
			seconds = atof(argv[i]);
	}
	if (seconds <= 0 || seconds > 600)
		seconds = 3;
	snprintf(uri, sizeof uri, "pcsc:%s", argv[1]);
	if (link_open(&l, uri, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "bench_pcsc: %s\n", err);
		return 1;
	}
	if (jpki && (link_transmit(l, select_ap, sizeof select_ap, rsp, sizeof rsp, &rn, 5000) < 0 ||
		     apdu_sw(rsp, rn) != 0x9000)) {
		fprintf(stderr, "bench_pcsc: SELECT JPKI AP failed: %s\n", link_error(l));
		goto out;
	}
	t0 = util_now_ms();
	end = t0 + (int64_t)(seconds * 1000);
	do {
		if (link_transmit(l, select_ef, sizeof select_ef, rsp, sizeof rsp, &rn, 5000) < 0)
			goto fail;
		sw_sel = apdu_sw(rsp, rn);
		if (link_transmit(l, read_bin, sizeof read_bin, rsp, sizeof rsp, &rn, 5000) < 0)
			goto fail;
		sw_read = apdu_sw(rsp, rn);
		n += 2;
		t1 = util_now_ms(); /* vDSO clock: cheap next to a round trip through pcscd */
	} while (t1 < end);
	printf("apdu_per_s %.1f\napdus %llu\nsw_select %04X\nsw_read %04X\n",
	       (double)n * 1000.0 / (double)(t1 - t0), (unsigned long long)n, sw_sel, sw_read);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "bench_pcsc: after %llu APDUs: %s\n", (unsigned long long)n, link_error(l));
out:
	link_close(l);
	return rc;
}
