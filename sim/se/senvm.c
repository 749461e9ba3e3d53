/* senvm.c — what a loaded SE image may hold.
 *
 * An image comes from a file someone handed the harness, so nothing in it
 * is trusted: at power-up every record is checked once, against what the
 * SE's modules write, before anything reads it (a registry entry's applet
 * index used to go straight into se_applets[]).  After that only the SE
 * itself writes its NVM, and a power cut rolls back to checked records,
 * so the rest of the code may rely on what it reads. */
#include <string.h>

#include "gplc.h"
#include "se_int.h"

/* What the record checks gather for the checks across records. */
typedef struct scan {
	const nvm_t *nvm;
	gpreg_t reg;                         /* the entries seen so far */
	size_t applet_recs[SE_MAX_APPLETS];  /* records under each applet's ns */
	struct {
		const char *key;                 /* a record that belongs to an SSD ... */
		uint16_t sd;                     /* ... and which */
	} owned[GPREG_MAX * 4];
	size_t n_owned;
} scan_t;

static const char *perso_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	(void)arg;
	if (strcmp(key, SE_PERSONALISED) != 0)
		return "no part of the SE writes a record of this name";
	return n == 1 && v[0] == SE_PERSO_VERSION ? NULL : "personalisation mark of an unknown version";
}

/* Each entry alone, then against the ones before it: AIDs are unique and
 * a ROM applet runs one instance (sj_install refuses a second). */
static const char *reg_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	scan_t *s = arg;
	gpreg_ent_t *e;
	const char *why;

	if (s->reg.n == GPREG_MAX)
		return "more registry entries than the SE holds (32)";
	e = &s->reg.e[s->reg.n];
	if ((why = gpreg_check(key, v, n, e)))
		return why;
	if (e->applet > se_n_applets)
		return "applet index out of range: no such ROM applet";
	if (e->applet && e->kind != SE_OBJ_APP)
		return "a ROM applet bound to an entry that is not an application";
	for (size_t i = 0; i < s->reg.n; i++) {
		if (gpreg_aid_eq(&s->reg.e[i].aid, e->aid.b, e->aid.len))
			return "AID registered twice";
		if (e->applet && s->reg.e[i].applet == e->applet)
			return "a second instance of a ROM applet";
	}
	s->reg.n++;
	return NULL;
}

/* Remember that key belongs to SD sd, for whole_check (the registry may
 * come later in key order). */
static const char *own(scan_t *s, const char *key, unsigned sd)
{
	if (!sd)
		return NULL;
	if (s->n_owned == sizeof s->owned / sizeof s->owned[0])
		return "more SD key records than the SE holds";
	s->owned[s->n_owned].key = key;
	s->owned[s->n_owned++].sd = (uint16_t)sd;
	return NULL;
}

static const char *key_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	scan_t *s = arg;
	uint16_t sd = 0;
	const char *why = gpkey_check(s->nvm, key, v, n, &sd);

	return why ? why : own(s, key, sd);
}

static const char *dm_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	unsigned sd = 0;
	const char *why = gpsd_check(key, v, n, &sd);

	return why ? why : own(arg, key, sd);
}

/* GET DATA 42 / 45: what STORE DATA or the profile put there. */
static const char *data_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	(void)arg;
	(void)v;
	if (strcmp(key, "gp/data/42") != 0 && strcmp(key, "gp/data/45") != 0)
		return "no part of the SE writes a record of this name";
	return n >= 1 && n <= APDU_MAX_DATA ? NULL : "GET DATA value empty or longer than an APDU";
}

static const char *fe_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	(void)arg;
	return felica_check(key, v, n);
}

/* Everything else belongs to a ROM applet, or to nobody. */
static const char *applet_check(void *arg, const char *key, const uint8_t *v, size_t n)
{
	scan_t *s = arg;

	for (size_t i = 0; i < se_n_applets; i++) {
		const char *ns = se_applets[i]->ns;

		if (strncmp(key, ns, strlen(ns)) == 0) {
			s->applet_recs[i]++;
			return se_applets[i]->check(key, v, n);
		}
	}
	return "no part of the SE writes a record of this name (an image of another chip?)";
}

static const nvm_rule_t se_rules[] = {
	{ SE_PERSONALISED, perso_check },
	{ GPREG_PREFIX, reg_check },
	{ "gp/key/", key_check },
	{ "gp/ctr/", key_check },
	{ GPKEY_SD_PREFIX, key_check },
	{ "gp/dm/", dm_check },
	{ "gp/data/", data_check },
	{ "fe/", fe_check },
	{ "", applet_check },
};

/* What only the whole image can tell: personalisation is one transaction,
 * the ISD is entry 0000 and holds the card's life cycle state, the last
 * key set can never be deleted, an applet's records belong to its
 * instance (DELETE erases them with it). */
static int whole_check(const scan_t *s, nvm_fault_t *f)
{
	const gpreg_ent_t *isd = s->reg.n ? &s->reg.e[0] : NULL;
	uint8_t kvn;

	if (!nvm_get(s->nvm, SE_PERSONALISED, &(size_t){ 0 }))
		return nvm_fault(f, SE_PERSONALISED, "missing, yet the image holds records");
	if (!isd || isd->seq != 0)
		return nvm_fault(f, GPREG_PREFIX "0000", "missing: the registry has no ISD");
	if (strcmp(gplc_name(GPLC_CARD, isd->lcs), "?") == 0)
		return nvm_fault(f, GPREG_PREFIX "0000", "the card life cycle state is not one of 01 07 0F 7F FF");
	if (gpkey_default_kvn(s->nvm, 0, &kvn) < 0)
		return nvm_fault(f, "gp/key/", "missing: the ISD has no key set");
	for (size_t i = 0; i < s->n_owned; i++) {
		const gpreg_ent_t *e = NULL;

		for (size_t j = 0; j < s->reg.n && !e; j++)
			if (s->reg.e[j].seq == s->owned[i].sd)
				e = &s->reg.e[j];
		if (!e || e->kind != SE_OBJ_SD)
			return nvm_fault(f, s->owned[i].key, "keys of a security domain the registry does not hold");
	}
	for (size_t i = 0; i < se_n_applets; i++) {
		int has_instance = 0;

		for (size_t j = 0; j < s->reg.n; j++)
			has_instance |= s->reg.e[j].applet == i + 1;
		if (s->applet_recs[i] && !has_instance)
			return nvm_fault(f, se_applets[i]->ns, "records of an applet that has no instance");
	}
	return NVM_OK;
}

int sim_se_check_nvm(nvm_t *nvm, nvm_fault_t *f)
{
	scan_t s;

	if (!nvm)
		return SIM_ERR_ARG;
	memset(&s, 0, sizeof s);
	s.nvm = nvm;
	nvm_power_up(nvm);
	if (nvm_count(nvm) == 0)
		return SIM_OK; /* blank: sim_se_new personalises it */
	if (nvm_check(nvm, se_rules, sizeof se_rules / sizeof se_rules[0], &s, f) != NVM_OK ||
	    whole_check(&s, f) != NVM_OK)
		return SIM_ERR_IMAGE;
	return SIM_OK;
}
