/* gplc.c — GlobalPlatform life cycles as data.
 *
 * Application and SD bytes fall into classes (INSTALLED, SELECTABLE,
 * app-specific 0xxxx111, PERSONALIZED, LOCKED = previous state | 80, so
 * that unlocking "returns the application to its previous state" by
 * clearing b8, docs/se.md#life-cycles); the transition table is written over
 * classes, with a relation between the two bytes where it matters. */
#include "gplc.h"

#include <stddef.h>

#include "../core/apdu.h"

enum cls {
	C_NONE = 0,
	C_INSTALLED,
	C_SELECTABLE,
	C_SPECIFIC,     /* app-specific 0xxxx111 other than 07 */
	C_PERSONALIZED, /* SD 0F */
	C_LOCKED,
	C_LOADED,       /* ELF */
	/* card states, one class each */
	C_OP_READY,
	C_INITIALIZED,
	C_SECURED,
	C_CARD_LOCKED,
	C_TERMINATED,
};

enum rel { R_ANY, R_LOCK, R_UNLOCK };

static const struct row {
	enum gplc_machine m;
	enum cls from, to;
	enum rel rel;
	unsigned by;
} rows[] = {
	/* Applications (GPCS §5.3.1; Table 11-5). */
	{ GPLC_APP, C_INSTALLED, C_SELECTABLE, R_ANY, GPLC_BY_INSTALL },
	{ GPLC_APP, C_SELECTABLE, C_SPECIFIC, R_ANY, GPLC_BY_APP },
	{ GPLC_APP, C_SPECIFIC, C_SPECIFIC, R_ANY, GPLC_BY_APP },
	{ GPLC_APP, C_INSTALLED, C_LOCKED, R_LOCK, GPLC_BY_STATUS },
	{ GPLC_APP, C_SELECTABLE, C_LOCKED, R_LOCK, GPLC_BY_STATUS | GPLC_BY_APP },
	{ GPLC_APP, C_SPECIFIC, C_LOCKED, R_LOCK, GPLC_BY_STATUS | GPLC_BY_APP },
	{ GPLC_APP, C_LOCKED, C_INSTALLED, R_UNLOCK, GPLC_BY_STATUS },
	{ GPLC_APP, C_LOCKED, C_SELECTABLE, R_UNLOCK, GPLC_BY_STATUS },
	{ GPLC_APP, C_LOCKED, C_SPECIFIC, R_UNLOCK, GPLC_BY_STATUS },
	/* Security domains (GPCS §5.3.2; Table 11-4). */
	{ GPLC_SD, C_INSTALLED, C_SELECTABLE, R_ANY, GPLC_BY_INSTALL },
	{ GPLC_SD, C_SELECTABLE, C_PERSONALIZED, R_ANY, GPLC_BY_STATUS | GPLC_BY_APP },
	{ GPLC_SD, C_INSTALLED, C_LOCKED, R_LOCK, GPLC_BY_STATUS },
	{ GPLC_SD, C_SELECTABLE, C_LOCKED, R_LOCK, GPLC_BY_STATUS },
	{ GPLC_SD, C_PERSONALIZED, C_LOCKED, R_LOCK, GPLC_BY_STATUS },
	{ GPLC_SD, C_LOCKED, C_INSTALLED, R_UNLOCK, GPLC_BY_STATUS },
	{ GPLC_SD, C_LOCKED, C_SELECTABLE, R_UNLOCK, GPLC_BY_STATUS },
	{ GPLC_SD, C_LOCKED, C_PERSONALIZED, R_UNLOCK, GPLC_BY_STATUS },
	/* The card (GPCS §5.1, Table 11-6): OP_READY -> INITIALIZED ->
	 * SECURED irreversible, SECURED <-> CARD_LOCKED, any -> TERMINATED. */
	{ GPLC_CARD, C_OP_READY, C_INITIALIZED, R_ANY, GPLC_BY_STATUS },
	{ GPLC_CARD, C_INITIALIZED, C_SECURED, R_ANY, GPLC_BY_STATUS },
	{ GPLC_CARD, C_SECURED, C_CARD_LOCKED, R_ANY, GPLC_BY_STATUS },
	{ GPLC_CARD, C_CARD_LOCKED, C_SECURED, R_ANY, GPLC_BY_STATUS },
	{ GPLC_CARD, C_OP_READY, C_TERMINATED, R_ANY, GPLC_BY_STATUS },
	{ GPLC_CARD, C_INITIALIZED, C_TERMINATED, R_ANY, GPLC_BY_STATUS },
	{ GPLC_CARD, C_SECURED, C_TERMINATED, R_ANY, GPLC_BY_STATUS },
	{ GPLC_CARD, C_CARD_LOCKED, C_TERMINATED, R_ANY, GPLC_BY_STATUS },
	/* Load files have one state, LOADED, and no transition. */
};

static const char *const names[] = {
	[C_NONE] = "?",
	[C_INSTALLED] = "INSTALLED",
	[C_SELECTABLE] = "SELECTABLE",
	[C_SPECIFIC] = "app-specific",
	[C_PERSONALIZED] = "PERSONALIZED",
	[C_LOCKED] = "LOCKED",
	[C_LOADED] = "LOADED",
	[C_OP_READY] = "OP_READY",
	[C_INITIALIZED] = "INITIALIZED",
	[C_SECURED] = "SECURED",
	[C_CARD_LOCKED] = "CARD_LOCKED",
	[C_TERMINATED] = "TERMINATED",
};

static enum cls unlocked_class(enum gplc_machine m, uint8_t b)
{
	if (m == GPLC_APP) {
		if (b == GPLC_APP_INSTALLED)
			return C_INSTALLED;
		if (b == GPLC_APP_SELECTABLE)
			return C_SELECTABLE;
		if ((b & 0x87) == 0x07)
			return C_SPECIFIC;
	} else if (m == GPLC_SD) {
		if (b == 0x03)
			return C_INSTALLED;
		if (b == 0x07)
			return C_SELECTABLE;
		if (b == GPLC_SD_PERSONALIZED)
			return C_PERSONALIZED;
	}
	return C_NONE;
}

static enum cls class_of(enum gplc_machine m, uint8_t b)
{
	switch (m) {
	case GPLC_CARD:
		switch (b) {
		case 0x01: return C_OP_READY;
		case 0x07: return C_INITIALIZED;
		case 0x0F: return C_SECURED;
		case 0x7F: return C_CARD_LOCKED;
		case 0xFF: return C_TERMINATED;
		}
		return C_NONE;
	case GPLC_ELF:
		return b == GPLC_ELF_LOADED ? C_LOADED : C_NONE;
	case GPLC_APP:
	case GPLC_SD:
		if (b & GPLC_LOCK_BIT)
			return unlocked_class(m, b & 0x7F) != C_NONE ? C_LOCKED : C_NONE;
		return unlocked_class(m, b);
	}
	return C_NONE;
}

int gplc_check(enum gplc_machine m, uint8_t from, uint8_t to, unsigned by)
{
	enum cls cf = class_of(m, from), ct = class_of(m, to);

	if (cf == C_NONE || ct == C_NONE || from == to)
		return SW_CONDITIONS;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];

		if (r->m != m || r->from != cf || r->to != ct || !(r->by & by))
			continue;
		if (r->rel == R_LOCK && to != (from | GPLC_LOCK_BIT))
			continue;
		if (r->rel == R_UNLOCK && to != (from & 0x7F))
			continue;
		return 0;
	}
	return SW_CONDITIONS;
}

const char *gplc_name(enum gplc_machine m, uint8_t lcs)
{
	return names[class_of(m, lcs)];
}

int gplc_is_locked(enum gplc_machine m, uint8_t lcs)
{
	return class_of(m, lcs) == C_LOCKED || (m == GPLC_CARD && class_of(m, lcs) == C_CARD_LOCKED);
}

int gplc_selectable(enum gplc_machine m, uint8_t lcs)
{
	enum cls c = class_of(m, lcs);

	return c == C_SELECTABLE || c == C_SPECIFIC || c == C_PERSONALIZED;
}

/* What each card state admits (GPCS §5.1.1: in CARD_LOCKED only the
 * Final Application is selectable and no content or key changes; in
 * TERMINATED only GET DATA).  A refused command answers 6A81 "function
 * not supported (card locked)" (GPCS Table 11-10; docs/se.md#life-cycles for
 * SELECT and MANAGE CHANNEL), or 6985 for content changes. */
#define ALL 0xFFFFu
#define B(c) (1u << (c))

static const struct card_row {
	uint8_t lcs;
	unsigned admits;
	unsigned conditions; /* refused with 6985 instead of 6A81 */
} card_rows[] = {
	{ 0x01, ALL, 0 },
	{ 0x07, ALL, 0 },
	{ 0x0F, ALL, 0 },
	{ 0x7F,
	  B(GPLC_CMD_SELECT_ISD) | B(GPLC_CMD_AUTH) | B(GPLC_CMD_READ) | B(GPLC_CMD_DATA) |
		  B(GPLC_CMD_SET_STATUS),
	  B(GPLC_CMD_CONTENT) },
	{ 0xFF, B(GPLC_CMD_SELECT_ISD) | B(GPLC_CMD_DATA), 0 },
};

int gplc_card_admits(uint8_t card_lcs, enum gplc_cmd c)
{
	for (size_t i = 0; i < sizeof card_rows / sizeof card_rows[0]; i++) {
		const struct card_row *r = &card_rows[i];

		if (r->lcs != card_lcs)
			continue;
		if (r->admits & B(c))
			return 0;
		return r->conditions & B(c) ? SW_CONDITIONS : SW_FUNC_NOT_SUPPORTED;
	}
	return SW_FUNC_NOT_SUPPORTED;
}
