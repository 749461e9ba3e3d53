/* card_int.h — helpers the card's modules share for checking a profile. */
#ifndef CARD_INT_H
#define CARD_INT_H

#include <stddef.h>

#define CARD_DIGITS "0123456789"
#define CARD_UPPER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* 1 if s is non-NULL, min..max bytes long and made of bytes of set. */
int card_str_ok(const char *s, size_t min, size_t max, const char *set);

#endif
