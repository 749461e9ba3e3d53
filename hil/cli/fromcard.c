/* fromcard.c — `mynahil profile from-card`: what a card shows through a
 * link, written as the fields of a card profile (docs/real-card.md): the
 * ATR (its ATR set when it is a set's), the token name and the
 * record after it in EF 0006, and each certificate EF's size, filler
 * and certificate size.  Nothing private is written unless asked: the
 * token record's serial number is masked, the sign certificate is read
 * only with --sign-pin, and the certificates themselves are saved only
 * with --certs DIR.
 *
 * The card is only read: SELECT, READ BINARY and, with --sign-pin, one
 * VERIFY of the sign password (which spends a try if it is wrong: the
 * command says so and stops at the first wrong answer). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hil/base/util.h"
#include "hil/cli/cli.h"
#include "hil/link/link.h"
#include "hil/run/runner.h"
#include "sim/card/card.h"
#include "sim/core/apdu.h"

#define EF_MAX 0x8000   /* READ BINARY's 15-bit offsets */
#define TOKEN_EF 160    /* name 32 + CK_TOKEN_INFO-like record 128 */
#define SERIAL_AT 80    /* serialNumber[16] in EF 0006 */
#define TIMEOUT_MS 5000

static const char usage_profile[] =
	"usage: mynahil profile from-card --target URI [OPTIONS]\n"
	"\n"
	"Reads a card through a link (pcsc:READER, nfc:..., sim:card) and writes\n"
	"what it shows as card profile fields: the contact ATR or its ATR set (the\n"
	"ATQB, when the ATR is a contactless reader's), the token name and record\n"
	"(EF 0006), each certificate EF's size and filler and the certificate's\n"
	"size (docs/real-card.md).\n"
	"\n"
	"  --target URI     the card\n"
	"  --out FILE       write the profile fields there (default: stdout)\n"
	"  --sign-pin PIN   VERIFY the sign password to read EF 0001 as well\n"
	"                   (a wrong one spends a try)\n"
	"  --certs DIR      save the certificates read as DIR/EF.der (private data)\n"
	"  --private        keep the token record's serial number (masked otherwise)\n"
	"  --profile FILE   the profile of a sim: target\n"
	"\n"
	"exit status: 0 written, 1 the card did not answer as a JPKI card, 2 usage\n";

static int bad(const char *what)
{
	if (what)
		fprintf(stderr, "mynahil profile: %s\n", what);
	fputs("(mynahil profile from-card --help for the options)\n", stderr);
	return 2;
}

typedef struct reader {
	link_t *l;
	uint8_t rsp[LINK_RSP_MAX];
	size_t n; /* data bytes of the last answer */
	int sw;
} reader_t;

/* One command; the status word, or -1 when the link failed. */
static int xmit(reader_t *r, const char *hex)
{
	uint8_t cmd[300];
	long n = apdu_unhex(hex, cmd, sizeof cmd);
	size_t rn = 0;

	if (n < 4 || link_transmit(r->l, cmd, (size_t)n, r->rsp, sizeof r->rsp, &rn, TIMEOUT_MS) < 0 || rn < 2)
		return r->sw = -1;
	r->n = rn - 2;
	return r->sw = r->rsp[rn - 2] << 8 | r->rsp[rn - 1];
}

static int select_ef(reader_t *r, unsigned fid)
{
	char hex[32];

	snprintf(hex, sizeof hex, "00A4020C02%04X", fid);
	return xmit(r, hex);
}

/* The whole current EF, read 256 bytes at a time until the card says
 * the end (6B00, 6282, or a short answer); *size its length.  The status
 * word that ended it other than those, or 0x9000. */
static int read_ef(reader_t *r, uint8_t *buf, size_t *size)
{
	char hex[32];
	int sw;

	*size = 0;
	while (*size < EF_MAX) {
		snprintf(hex, sizeof hex, "00B0%04zX00", *size);
		sw = xmit(r, hex);
		if (sw == 0x6B00 && *size)
			return 0x9000;
		if (sw != 0x9000 && sw != 0x6282)
			return sw;
		if (r->n > EF_MAX - *size)
			r->n = EF_MAX - *size;
		memcpy(buf + *size, r->rsp, r->n);
		*size += r->n;
		if (sw == 0x6282 || r->n < 256)
			return 0x9000;
	}
	return 0x9000;
}

/* The DER length from a 30 82 LL LL header (what clients read), 0 if
 * the EF does not start with one. */
static size_t der_len(const uint8_t *ef, size_t n)
{
	if (n < 4 || ef[0] != 0x30 || ef[1] != 0x82)
		return 0;
	return 4 + ((size_t)ef[2] << 8 | ef[3]);
}

static const struct {
	unsigned fid;
	const char *field; /* in cert_efs */
	const char *what;
} cert_efs[] = {
	{ 0x000A, "auth_cert", "auth certificate" },
	{ 0x000B, "auth_ca", "auth CA certificate" },
	{ 0x0001, "sign_cert", "sign certificate" },
	{ 0x0002, "sign_ca", "sign CA certificate" },
};

typedef struct opts {
	const char *target, *out, *sign_pin, *certs, *profile;
	int private;
} opts_t;

/* The certificate EFs into f's cert_efs table (and comments); the
 * filler of the first EF with room after its DER. */
static int write_certs(reader_t *r, const opts_t *o, FILE *f, uint8_t *buf)
{
	char notes[4][160];
	int filler = -1, any = 0;

	for (size_t i = 0; i < 4; i++) {
		size_t size = 0, der;
		int sw;

		notes[i][0] = 0;
		if (cert_efs[i].fid == 0x0001 && !o->sign_pin) {
			snprintf(notes[i], sizeof notes[i], "-- %s (EF 0001): not read (--sign-pin)", cert_efs[i].what);
			continue;
		}
		if ((sw = select_ef(r, cert_efs[i].fid)) != 0x9000 || (sw = read_ef(r, buf, &size)) != 0x9000) {
			if (sw < 0)
				return -1;
			snprintf(notes[i], sizeof notes[i], "-- %s (EF %04X): %04X, not read", cert_efs[i].what,
				 cert_efs[i].fid, (unsigned)sw);
			continue;
		}
		der = der_len(buf, size);
		snprintf(notes[i], sizeof notes[i], "-- %s (EF %04X): %zu bytes, DER %02X %02X %02X %02X = %zu bytes%s",
			 cert_efs[i].what, cert_efs[i].fid, size, buf[0], size > 1 ? buf[1] : 0, size > 2 ? buf[2] : 0,
			 size > 3 ? buf[3] : 0, der, der && der <= size ? "" : " (no 30 82 LL LL header within the EF)");
		if (der && der < size && filler < 0)
			filler = buf[der];
		if (!any++)
			fprintf(f, "  cert_efs = {\n");
		fprintf(f, "    %s = %zu,\n", cert_efs[i].field, size);
		if (o->certs && der && der <= size) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%04X.der", o->certs, cert_efs[i].fid);
			if (util_mkdirs(o->certs) < 0 || util_write_file(path, buf, der) < 0) {
				fprintf(stderr, "mynahil profile: %s: cannot write\n", path);
				return -1;
			}
		}
	}
	if (any) {
		if (filler >= 0)
			fprintf(f, "    filler = 0x%02X,\n", (unsigned)filler);
		fprintf(f, "  },\n");
	}
	for (size_t i = 0; i < 4; i++)
		if (notes[i][0])
			fprintf(f, "  %s\n", notes[i]);
	return 0;
}

/* EF 0006: the token name (up to the first space or NUL) and the record
 * after it, the serial number masked unless --private. */
static int write_token(reader_t *r, const opts_t *o, FILE *f, uint8_t *buf)
{
	char hex[2 * TOKEN_EF + 1];
	size_t size = 0, n = 0;

	if (select_ef(r, 0x0006) != 0x9000 || read_ef(r, buf, &size) != 0x9000 || size < 32) {
		fprintf(f, "  -- token (EF 0006): not read (%04X)\n", (unsigned)(r->sw & 0xFFFF));
		return r->sw < 0 ? -1 : 0;
	}
	while (n < 32 && buf[n] > ' ' && buf[n] < 0x7F)
		n++;
	if (n)
		fprintf(f, "  token = \"%.*s\",\n", (int)n, (const char *)buf);
	if (size != TOKEN_EF) {
		fprintf(f, "  -- token (EF 0006): %zu bytes, not %d: no token_info\n", size, TOKEN_EF);
		return 0;
	}
	if (!o->private)
		memset(buf + SERIAL_AT, '0', 16);
	apdu_hex(buf + 32, TOKEN_EF - 32, hex);
	fprintf(f, "  -- EF 0006 after the name: a CK_TOKEN_INFO-like record%s\n",
		o->private ? "" : " (serialNumber masked: --private keeps it)");
	fprintf(f, "  token_info = \"%s\",\n", hex);
	return 0;
}

/* The ATR as profile fields (docs/card.md#atrs): a set's contact ATR
 * as atr_set; one a contactless reader built as PC/SC part 3 does, as
 * the ATQB it was built from (the chip's contact ATR is not seen);
 * another contactless reader's, only as a comment, so that it is not
 * served as the chip's; any other as atr. */
static void write_atr(FILE *f, const uint8_t *atr, size_t an, const char *hex)
{
	uint8_t info[CARD_ATQB_INFO];
	char ihex[2 * CARD_ATQB_INFO + 1];
	runner_atr_t k;
	int known = an ? runner_atr_set(hex, &k) : 0;

	if (!an) {
		fprintf(f, "  -- no ATR\n");
	} else if (known && k.set && !k.contactless) {
		fprintf(f, "  atr_set = \"%s\", -- the contact ATR %s, as in %s\n", k.set, hex,
			card_atr_set(card_atr_set_named(k.set))->source);
	} else if (card_pcsc_typeb_atqb(atr, an, info)) {
		apdu_hex(info, CARD_ATQB_INFO, ihex);
		fprintf(f, "  atqb = \"%s\", -- from the contactless ATR %s: %s\n", ihex, hex,
			known ? k.what : "PC/SC part 3");
	} else if (known) {
		fprintf(f, "  -- atr = \"%s\": %s, not the chip's contact ATR\n", hex, k.what);
	} else {
		fprintf(f, "  atr = \"%s\", -- of no known ATR set\n", hex);
	}
}

static int from_card(const opts_t *o)
{
	link_opts_t lo = { .label = "profile", .profile = o->profile };
	reader_t *r = calloc(1, sizeof *r);
	uint8_t *buf = malloc(EF_MAX + 256), atr[64];
	char err[512], hex[2 * sizeof atr + 1], pin[64];
	FILE *f = NULL;
	size_t an;
	int rc = 1;

	if (!r || !buf) {
		free(r);
		free(buf);
		return 1;
	}
	if (link_open(&r->l, o->target, &lo, err, sizeof err) < 0) {
		fprintf(stderr, "mynahil profile: %s\n", err);
		free(r);
		free(buf);
		return 2;
	}
	an = link_atr(r->l, atr, sizeof atr);
	apdu_hex(atr, an, hex);
	if (xmit(r, "00A4040C0AD392F000260100000001") != 0x9000) {
		fprintf(stderr, "mynahil profile: %s: SELECT of the JPKI AP answered %04X: not a JPKI card\n", o->target,
			(unsigned)(r->sw & 0xFFFF));
		goto out;
	}
	if (o->sign_pin) {
		size_t k = strlen(o->sign_pin);
		apdu_hex((const uint8_t *)o->sign_pin, k, pin);
		snprintf(err, sizeof err, "002000%02X%02zX%s", 0x80 | 0x1B, k, pin);
		if (xmit(r, err) != 0x9000) {
			fprintf(stderr, "mynahil profile: %s: VERIFY of the sign password answered %04X\n", o->target,
				(unsigned)(r->sw & 0xFFFF));
			goto out;
		}
	}
	if (o->out && !(f = fopen(o->out, "w"))) {
		fprintf(stderr, "mynahil profile: %s: cannot write\n", o->out);
		goto out;
	}
	fprintf(f ? f : stdout, "-- card profile fields read by mynahil profile from-card from %s\n", o->target);
	fprintf(f ? f : stdout, "-- (docs/real-card.md): no holder, PINs or keys; add them to serve it\n");
	fprintf(f ? f : stdout, "return {\n");
	write_atr(f ? f : stdout, atr, an, hex);
	if (write_token(r, o, f ? f : stdout, buf) < 0 || write_certs(r, o, f ? f : stdout, buf) < 0) {
		fprintf(stderr, "mynahil profile: %s: %s\n", o->target, link_error(r->l));
		goto out;
	}
	fprintf(f ? f : stdout, "}\n");
	rc = 0;
out:
	if (f && fclose(f) != 0)
		rc = 1;
	link_close(r->l);
	free(r);
	free(buf);
	return rc;
}

int profile_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, 0, 'T' }, { "out", required_argument, 0, 'o' },
		{ "sign-pin", required_argument, 0, 'P' }, { "certs", required_argument, 0, 'C' },
		{ "private", no_argument, 0, 'x' },     { "profile", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' },        { 0, 0, 0, 0 },
	};
	opts_t o = { 0 };
	int c;

	if (argc < 2)
		return bad("no subcommand (from-card)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_profile, stdout);
		return 0;
	}
	if (strcmp(argv[1], "from-card")) {
		fprintf(stderr, "mynahil profile: unknown subcommand '%s' (from-card)\n", argv[1]);
		return bad(NULL);
	}
	argc--;
	argv++;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'T': o.target = optarg; break;
		case 'o': o.out = optarg; break;
		case 'P': o.sign_pin = optarg; break;
		case 'C': o.certs = optarg; break;
		case 'x': o.private = 1; break;
		case 'p': o.profile = optarg; break;
		case 'h': fputs(usage_profile, stdout); return 0;
		default:
			fprintf(stderr, "mynahil profile: unknown option '%s'\n", argv[optind - 1]);
			return bad(NULL);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mynahil profile: unexpected '%s'\n", argv[optind]);
		return bad(NULL);
	}
	if (!o.target)
		return bad("--target is required");
	if (o.sign_pin && (strlen(o.sign_pin) < 1 || strlen(o.sign_pin) > 16))
		return bad("--sign-pin takes 1 to 16 characters");
	return from_card(&o);
}
