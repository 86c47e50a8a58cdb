/*
 * French number formats for everything a person reads: "1 234,5",
 * "45,2 %", "12 345 €". Thousands are separated by U+202F NARROW NO-BREAK
 * SPACE, the unit by U+00A0 NO-BREAK SPACE, as French typography wants.
 */
#ifndef CALPAE_FMT_H
#define CALPAE_FMT_H

#include <stddef.h>

#define CP_FMT_MAX 64

/* v with the given number of decimals (rounded), thousands grouped:
 * cp_fmt_num(1234.5, 1, …) → "1 234,5". NaN gives "". Returns out. */
char *cp_fmt_num(double v, int decimals, char *out, size_t n);
/* Like cp_fmt_num but drops trailing zero decimals: 45.20 → "45,2". */
char *cp_fmt_num_trim(double v, int max_decimals, char *out, size_t n);
/* Whole number: 1276 → "1 276". */
char *cp_fmt_int(long long v, char *out, size_t n);
/* Percentage points: 45.2 → "45,2 %" (one decimal). */
char *cp_fmt_pct(double points, char *out, size_t n);
/* ISO date or time "2021-07-20T05:51:38" → "20/07/2021". */
char *cp_fmt_date(const char *iso, char *out, size_t n);

#endif
