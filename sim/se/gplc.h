/* gplc.h — GlobalPlatform life cycles as tables (GPCS v2.3.1 ch. 5,
 * Tables 11-3..11-6; docs/se.md#life-cycles): the states of the card, of
 * applications, of security domains and of load files, who may make each
 * transition, and which commands each card state admits. */
#ifndef GPLC_H
#define GPLC_H

#include <stdint.h>

enum gplc_machine { GPLC_CARD, GPLC_APP, GPLC_SD, GPLC_ELF };

/* Who asks for a transition. */
#define GPLC_BY_INSTALL 0x01  /* the SD through INSTALL [for make selectable] */
#define GPLC_BY_STATUS 0x02   /* the SD through SET STATUS */
#define GPLC_BY_APP 0x04      /* the application itself (app-specific states) */

/* Application life cycle bytes. */
#define GPLC_APP_INSTALLED 0x03
#define GPLC_APP_SELECTABLE 0x07
#define GPLC_APP_PERSONALISED 0x0F /* an app-specific state (0xxxx111), the applet's "issued" */
#define GPLC_SD_PERSONALIZED 0x0F
#define GPLC_ELF_LOADED 0x01
#define GPLC_LOCK_BIT 0x80         /* LOCKED = the previous state with b8 set */

/* 0 if m may go from -> to at the request of `by`, else the status word
 * (6985: no such transition). */
int gplc_check(enum gplc_machine m, uint8_t from, uint8_t to, unsigned by);
/* The state's name ("SELECTABLE", "LOCKED", "app-specific"...); "?" if
 * the byte is no state of m. */
const char *gplc_name(enum gplc_machine m, uint8_t lcs);
int gplc_is_locked(enum gplc_machine m, uint8_t lcs);
/* An application or SD that SELECT may reach (SELECTABLE or beyond, not
 * LOCKED). */
int gplc_selectable(enum gplc_machine m, uint8_t lcs);

/* Command classes, for what the card state admits. */
enum gplc_cmd {
	GPLC_CMD_SELECT_APP,  /* SELECT of an application other than the ISD */
	GPLC_CMD_SELECT_ISD,
	GPLC_CMD_CHANNEL,     /* MANAGE CHANNEL */
	GPLC_CMD_AUTH,        /* INITIALIZE UPDATE, EXTERNAL AUTHENTICATE */
	GPLC_CMD_READ,        /* GET STATUS */
	GPLC_CMD_DATA,        /* GET DATA */
	GPLC_CMD_CONTENT,     /* INSTALL, LOAD, DELETE, PUT KEY, STORE DATA */
	GPLC_CMD_SET_STATUS,
	GPLC_CMD_APPLET,      /* any command to a selected application */
};

/* 0 if the card life cycle state admits the command, else the status
 * word to answer. */
int gplc_card_admits(uint8_t card_lcs, enum gplc_cmd c);

#endif
