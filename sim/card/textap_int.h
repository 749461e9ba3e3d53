/* textap_int.h — the 券面事項入力補助AP (text AP) as a cardos application
 * (docs/card.md#text-ap). */
#ifndef TEXTAP_INT_H
#define TEXTAP_INT_H

#include "card.h"
#include "cardos_int.h"

extern const cardos_app_def_t textap_app;

/* Japanese era of a Gregorian YYYYMMDD date: era 0 Meiji (from
 * 1868-01-25), 1 Taishō, 2 Shōwa, 3 Heisei, 4 Reiwa, and the year in it
 * (1 = the first).  Returns 0, or -1 for a bad date or one before Meiji. */
enum textap_era { TEXTAP_MEIJI, TEXTAP_TAISHO, TEXTAP_SHOWA, TEXTAP_HEISEI, TEXTAP_REIWA };
int textap_era(const char *yyyymmdd, int *era, int *year);
/* 照合番号B: era YYMMDD + expiry year + security code, 14 digits and a
 * NUL.  Returns 0 or -1. */
int textap_collation_b(const card_profile_t *p, char out[15]);

int textap_profile_check(const card_profile_t *p);
int textap_personalise(nvm_t *nvm, const card_profile_t *p);

#endif
