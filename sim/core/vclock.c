/* vclock.c — virtual UTC time and "YYYYMMDDhhmmssZ" (X.509 GeneralizedTime).
 *
 * Pure arithmetic on the proleptic Gregorian calendar, no leap seconds
 * (like POSIX time): the host's time zone and C library cannot leak
 * into a run.  Years 0000..9999, the range the text form can carry. */
#include "vclock.h"

#include <stddef.h>

#define SECS_PER_DAY 86400
#define MIN_YEAR 0
#define MAX_YEAR 9999

void vclock_set(vclock_t *c, int64_t t)
{
	c->now = t;
}

int64_t vclock_now(const vclock_t *c)
{
	return c->now;
}

void vclock_advance(vclock_t *c, int64_t seconds)
{
	/* Saturate: a scenario jumping "to the end of time" must not be
	 * undefined behaviour. */
	if (seconds > 0 && c->now > INT64_MAX - seconds)
		c->now = INT64_MAX;
	else if (seconds < 0 && c->now < INT64_MIN - seconds)
		c->now = INT64_MIN;
	else
		c->now += seconds;
}

/* Division rounding toward minus infinity, for dates before 1970. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return dim[m - 1] + (m == 2 && is_leap(y));
}

/* Leap years in [1, y), counted the Gregorian way; also right for y <= 0. */
static int64_t leaps_before(int64_t y)
{
	return floor_div(y - 1, 4) - floor_div(y - 1, 100) + floor_div(y - 1, 400);
}

/* Days from 1970-01-01 to y-01-01. */
static int64_t days_to_year(int64_t y)
{
	return 365 * (y - 1970) + leaps_before(y) - leaps_before(1970);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t days = days_to_year(y);
	int i;

	for (i = 1; i < m; i++)
		days += days_in_month(y, i);
	return days + d - 1;
}

static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	/* Guess from the mean Gregorian year (146097 days per 400 years),
	 * then step to the exact year. */
	int64_t year = 1970 + floor_div(days * 400, 146097);

	while (days_to_year(year) > days)
		year--;
	while (days_to_year(year + 1) <= days)
		year++;
	days -= days_to_year(year);
	*m = 1;
	while (days >= days_in_month(year, *m))
		days -= days_in_month(year, (*m)++);
	*y = year;
	*d = (int)days + 1;
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int vclock_parse(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se, i;

	if (s == NULL || out == NULL)
		return -1;
	/* Check the shape first so no digit read runs past a short string. */
	for (i = 0; i < 14; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	if (s[14] != 'Z' || s[15] != '\0')
		return -1;
	y = digits(s, 4);
	mo = digits(s + 4, 2);
	d = digits(s + 6, 2);
	h = digits(s + 8, 2);
	mi = digits(s + 10, 2);
	se = digits(s + 12, 2);
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || se > 59)
		return -1;
	*out = days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + se;
	return 0;
}

static void put_digits(char *out, int64_t v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void vclock_format(int64_t t, char out[16])
{
	int64_t lo = days_to_year(MIN_YEAR) * SECS_PER_DAY;
	int64_t hi = days_to_year(MAX_YEAR + 1) * SECS_PER_DAY - 1;
	int64_t days, secs, y;
	int m, d;

	/* Outside 0000..9999 the four-digit year cannot say it: saturate
	 * rather than print something that parses to another instant. */
	if (t < lo)
		t = lo;
	if (t > hi)
		t = hi;
	days = floor_div(t, SECS_PER_DAY);
	secs = t - days * SECS_PER_DAY;
	civil_from_days(days, &y, &m, &d);
	put_digits(out, y, 4);
	put_digits(out + 4, m, 2);
	put_digits(out + 6, d, 2);
	put_digits(out + 8, secs / 3600, 2);
	put_digits(out + 10, secs / 60 % 60, 2);
	put_digits(out + 12, secs % 60, 2);
	out[14] = 'Z';
	out[15] = '\0';
}
