/* felica.c — FeliCa commands over the SE's service area.
 *
 * Frames are LEN ‖ code ‖ [IDm] ‖ parameters; responses use code + 1.
 * System codes are big-endian, service codes and 3-byte block numbers
 * little-endian (docs/se.md#felica).  A frame that is malformed or not
 * addressed to our IDm gets no answer: a FeliCa target stays silent
 * rather than report an error it cannot attribute. */
#include "felica.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	CMD_POLLING = 0x00,
	CMD_REQUEST_SERVICE = 0x02,
	CMD_REQUEST_RESPONSE = 0x04,
	CMD_READ = 0x06,
	CMD_WRITE = 0x08,
	CMD_SEARCH_SERVICE = 0x0A,
	CMD_REQUEST_SYSTEM = 0x0C,
};

#define ATTR_RW_NOKEY 0x09 /* random service, read/write without a key */
#define ATTR_RO_NOKEY 0x0B /* random service, read-only without a key */
#define MAX_SERVICES 16    /* per Read/Write and Request Service */

/* Polling request data for request code 02: communication performance,
 * 212 and 424 kbit/s with automatic detection (NFC Forum Digital). */
static const uint8_t comm_perf[2] = { 0x00, 0x83 };

void felica_init(felica_t *f, const se_profile_t *p, sim_ctx_t *ctx)
{
	memset(f, 0, sizeof *f);
	f->ctx = ctx;
	memcpy(f->idm, p->felica.idm, 8);
	memcpy(f->pmm, p->felica.pmm, 8);
	f->n_systems = p->felica.n_system_codes;
	memcpy(f->systems, p->felica.system_codes, sizeof f->systems);
	f->n_services = p->felica.n_services;
	for (size_t i = 0; i < f->n_services; i++) {
		f->services[i] = p->felica.services[i];
		f->services[i].data = (se_blob_t){ NULL, 0 };
	}
}

void felica_reset(felica_t *f)
{
	f->mode = 0;
}

static void rec_name(char out[12], uint16_t number)
{
	snprintf(out, 12, "fe/%04X", number);
}

const char *felica_check(const char *key, const uint8_t *v, size_t n)
{
	char name[12] = "", *end;
	unsigned long number = strtoul(key + 3, &end, 16);

	(void)v;
	/* Exactly what rec_name() writes: one record per service number. */
	if (strncmp(key, "fe/", 3) == 0 && !*end && number <= 0xFFFF)
		rec_name(name, (uint16_t)number);
	if (strcmp(name, key) != 0)
		return "not a FeliCa record name (fe/ and 4 upper-case hex digits)";
	if (n == 0 || n % FELICA_BLOCK || n > 255 * FELICA_BLOCK)
		return "FeliCa data not 1 to 255 whole blocks";
	return NULL;
}

/* The first service entry of a service number carries its block count. */
static const se_felica_service_t *area_of(const se_felica_service_t *s, size_t n, uint16_t number)
{
	for (size_t i = 0; i < n; i++)
		if ((s[i].code >> 6) == number)
			return &s[i];
	return NULL;
}

int felica_personalise(nvm_t *nvm, const se_profile_t *p)
{
	const se_felica_service_t *sv = p->felica.services;
	size_t n = p->felica.n_services;
	int rc;

	for (size_t i = 0; i < n; i++) {
		uint8_t buf[256 * FELICA_BLOCK];
		uint16_t number = sv[i].code >> 6;
		size_t size = (size_t)sv[i].blocks * FELICA_BLOCK;
		char name[12];

		if (area_of(sv, n, number) != &sv[i] || !size)
			continue;
		memset(buf, 0, size);
		if (sv[i].data.n)
			memcpy(buf, sv[i].data.p, sv[i].data.n < size ? sv[i].data.n : size);
		rec_name(name, number);
		if ((rc = nvm_put(nvm, name, buf, size)) != NVM_OK)
			return rc;
	}
	return NVM_OK;
}

static const se_felica_service_t *service(const felica_t *f, uint16_t code)
{
	for (size_t i = 0; i < f->n_services; i++)
		if (f->services[i].code == code)
			return &f->services[i];
	return NULL;
}

/* ---- frame building ---------------------------------------------------- */

typedef struct out {
	uint8_t *p;
	size_t cap, len;
	int over;
} out_t;

static void o_put(out_t *o, const void *v, size_t n)
{
	if (o->len + n > o->cap || o->len + n > 0xFF) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->len, v, n);
	o->len += n;
}

static void o_byte(out_t *o, uint8_t b)
{
	o_put(o, &b, 1);
}

/* Starts a response: LEN placeholder, code + 1, IDm. */
static void o_start(out_t *o, const felica_t *f, uint8_t code)
{
	o->len = 0;
	o_byte(o, 0);
	o_byte(o, (uint8_t)(code + 1));
	o_put(o, f->idm, 8);
}

static int o_finish(out_t *o, size_t *outlen)
{
	if (o->over)
		return SIM_ERR_ARG;
	o->p[0] = (uint8_t)o->len;
	*outlen = o->len;
	return SIM_OK;
}

/* ---- commands ----------------------------------------------------------- */

/* A system code with FF in a byte matches any value there (FFFF = any
 * system), as Polling's wildcard. */
static int system_matches(uint16_t ours, uint16_t polled)
{
	if ((polled >> 8) != 0xFF && (polled >> 8) != (ours >> 8))
		return 0;
	return (polled & 0xFF) == 0xFF || (polled & 0xFF) == (ours & 0xFF);
}

static int polling(felica_t *f, const uint8_t *in, size_t n, out_t *o)
{
	uint16_t sc;
	size_t i;

	if (n != 6)
		return 0;
	sc = (uint16_t)(in[2] << 8 | in[3]);
	for (i = 0; i < f->n_systems && !system_matches(f->systems[i], sc); i++)
		;
	if (i == f->n_systems)
		return 0;
	f->mode = 0;
	o_start(o, f, CMD_POLLING);
	o_put(o, f->pmm, 8);
	if (in[4] == 0x01) {
		o_byte(o, (uint8_t)(f->systems[i] >> 8));
		o_byte(o, (uint8_t)f->systems[i]);
	} else if (in[4] == 0x02) {
		o_put(o, comm_perf, 2);
	}
	return 1;
}

/* Key versions, little-endian; FFFF for a code we do not have. */
static int request_service(felica_t *f, const uint8_t *in, size_t n, out_t *o)
{
	size_t k;

	if (n < 11 || (k = in[10]) < 1 || k > 32 || n != 11 + 2 * k)
		return 0;
	o_start(o, f, CMD_REQUEST_SERVICE);
	o_byte(o, (uint8_t)k);
	for (size_t i = 0; i < k; i++) {
		const se_felica_service_t *s = service(f, (uint16_t)(in[11 + 2 * i] | in[12 + 2 * i] << 8));
		uint16_t v = s ? s->key_version : 0xFFFF;

		o_byte(o, (uint8_t)v);
		o_byte(o, (uint8_t)(v >> 8));
	}
	return 1;
}

static int request_response(felica_t *f, size_t n, out_t *o)
{
	if (n != 10)
		return 0;
	o_start(o, f, CMD_REQUEST_RESPONSE);
	o_byte(o, f->mode);
	return 1;
}

/* Services only (no area codes): index -> code (LE), FFFF past the end. */
static int search_service(felica_t *f, const uint8_t *in, size_t n, out_t *o)
{
	size_t idx;
	uint16_t code = 0xFFFF;

	if (n != 12)
		return 0;
	idx = (size_t)(in[10] | in[11] << 8);
	if (idx < f->n_services)
		code = f->services[idx].code;
	o_start(o, f, CMD_SEARCH_SERVICE);
	o_byte(o, (uint8_t)code);
	o_byte(o, (uint8_t)(code >> 8));
	return 1;
}

static int request_system(felica_t *f, size_t n, out_t *o)
{
	if (n != 10)
		return 0;
	o_start(o, f, CMD_REQUEST_SYSTEM);
	o_byte(o, (uint8_t)f->n_systems);
	for (size_t i = 0; i < f->n_systems; i++) {
		o_byte(o, (uint8_t)(f->systems[i] >> 8));
		o_byte(o, (uint8_t)f->systems[i]);
	}
	return 1;
}

/* A parsed block list element. */
typedef struct blk {
	const se_felica_service_t *svc;
	const se_felica_service_t *area;
	uint16_t block;
} blk_t;

/* Service code list and block list of Read/Write: in[10..).  Fills
 * blocks and *end (offset after the block list).  Returns 0 or a status
 * flag 2 value; -1 for a frame too short to parse (no answer). */
static int parse_blocks(const felica_t *f, const uint8_t *in, size_t n, int write, blk_t *blocks,
			size_t *nb, size_t *end)
{
	const se_felica_service_t *svcs[MAX_SERVICES];
	size_t m, i = 10, k;

	if (n < 11)
		return -1;
	m = in[i++];
	if (m < 1 || m > MAX_SERVICES)
		return FELICA_SF_SERVICES;
	if (n < i + 2 * m + 1)
		return -1;
	for (size_t s = 0; s < m; s++, i += 2) {
		uint16_t code = (uint16_t)(in[i] | in[i + 1] << 8);

		if (!(svcs[s] = service(f, code)))
			return FELICA_SF_SERVICE;
	}
	k = in[i++];
	if (k < 1 || k > FELICA_MAX_BLOCKS)
		return FELICA_SF_BLOCKS;
	for (size_t b = 0; b < k; b++) {
		uint8_t head;
		size_t idx;

		if (i >= n)
			return -1;
		head = in[i];
		idx = head & 0x0F;
		if (head & 0x80) {
			if (i + 2 > n)
				return -1;
			blocks[b].block = in[i + 1];
			i += 2;
		} else {
			if (i + 3 > n)
				return -1;
			blocks[b].block = (uint16_t)(in[i + 1] | in[i + 2] << 8);
			i += 3;
		}
		if (head & 0x70)
			return FELICA_SF_MODE;
		if (idx >= m)
			return FELICA_SF_LIST_ORDER;
		blocks[b].svc = svcs[idx];
		blocks[b].area = area_of(f->services, f->n_services, svcs[idx]->code >> 6);
	}
	for (size_t b = 0; b < k; b++) {
		uint8_t attr = blocks[b].svc->code & 0x3F;

		if (attr != ATTR_RW_NOKEY && attr != ATTR_RO_NOKEY)
			return FELICA_SF_ACCESS;
		if (write && attr != ATTR_RW_NOKEY)
			return FELICA_SF_WRITE;
		if (!blocks[b].area || blocks[b].block >= blocks[b].area->blocks)
			return FELICA_SF_BLOCKNO;
	}
	*nb = k;
	*end = i;
	return 0;
}

static void status(out_t *o, uint8_t sf1, uint8_t sf2)
{
	o_byte(o, sf1);
	o_byte(o, sf2);
}

static int read_wo_enc(felica_t *f, const uint8_t *in, size_t n, out_t *o)
{
	blk_t blocks[FELICA_MAX_BLOCKS];
	size_t nb = 0, end = 0;
	int sf = parse_blocks(f, in, n, 0, blocks, &nb, &end);

	if (sf < 0 || (sf == 0 && end != n))
		return 0;
	o_start(o, f, CMD_READ);
	if (sf) {
		status(o, 0xFF, (uint8_t)sf);
		return 1;
	}
	status(o, 0x00, 0x00);
	o_byte(o, (uint8_t)nb);
	for (size_t b = 0; b < nb; b++) {
		char name[12];
		size_t len;
		const uint8_t *v;

		rec_name(name, blocks[b].area->code >> 6);
		v = nvm_get(f->ctx->nvm, name, &len);
		if (!v || len < ((size_t)blocks[b].block + 1) * FELICA_BLOCK) {
			static const uint8_t zero[FELICA_BLOCK];
			o_put(o, zero, FELICA_BLOCK); /* never written: erased */
		} else {
			o_put(o, v + (size_t)blocks[b].block * FELICA_BLOCK, FELICA_BLOCK);
		}
	}
	return 1;
}

/* All blocks in one NVM transaction: a tear leaves every block old. */
static int write_wo_enc(felica_t *f, const uint8_t *in, size_t n, out_t *o)
{
	blk_t blocks[FELICA_MAX_BLOCKS];
	size_t nb = 0, end = 0;
	nvm_t *nvm = f->ctx->nvm;
	int sf = parse_blocks(f, in, n, 1, blocks, &nb, &end), rc;

	if (sf < 0 || (sf == 0 && end + nb * FELICA_BLOCK != n))
		return 0;
	o_start(o, f, CMD_WRITE);
	if (sf) {
		status(o, 0xFF, (uint8_t)sf);
		return 1;
	}
	if ((rc = nvm_begin(nvm)) != NVM_OK)
		goto fail;
	for (size_t b = 0; b < nb; b++) {
		uint8_t buf[256 * FELICA_BLOCK];
		size_t size = (size_t)blocks[b].area->blocks * FELICA_BLOCK, len;
		const uint8_t *v;
		char name[12];

		rec_name(name, blocks[b].area->code >> 6);
		memset(buf, 0, size);
		if ((v = nvm_get(nvm, name, &len)))
			memcpy(buf, v, len < size ? len : size);
		memcpy(buf + (size_t)blocks[b].block * FELICA_BLOCK, in + end + b * FELICA_BLOCK,
		       FELICA_BLOCK);
		if ((rc = nvm_put(nvm, name, buf, size)) != NVM_OK)
			goto fail;
	}
	if ((rc = nvm_commit(nvm)) != NVM_OK)
		goto fail;
	status(o, 0x00, 0x00);
	return 1;
fail:
	if (rc == NVM_ERR_POWER)
		return SIM_ERR_MUTE;
	nvm_abort(nvm);
	status(o, 0xFF, 0x70); /* memory error */
	return 1;
}

int felica_frame(felica_t *f, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
		 size_t *outlen)
{
	out_t o = { out, cap, 0, 0 };
	int rc;

	*outlen = 0;
	if (n < 2 || in[0] != n)
		return SIM_OK;
	if (in[1] != CMD_POLLING && (n < 10 || memcmp(in + 2, f->idm, 8)))
		return SIM_OK;
	switch (in[1]) {
	case CMD_POLLING: rc = polling(f, in, n, &o); break;
	case CMD_REQUEST_SERVICE: rc = request_service(f, in, n, &o); break;
	case CMD_REQUEST_RESPONSE: rc = request_response(f, n, &o); break;
	case CMD_READ: rc = read_wo_enc(f, in, n, &o); break;
	case CMD_WRITE: rc = write_wo_enc(f, in, n, &o); break;
	case CMD_SEARCH_SERVICE: rc = search_service(f, in, n, &o); break;
	case CMD_REQUEST_SYSTEM: rc = request_system(f, n, &o); break;
	default: rc = 0;
	}
	if (rc <= 0)
		return rc < 0 ? rc : SIM_OK;
	return o_finish(&o, outlen);
}
