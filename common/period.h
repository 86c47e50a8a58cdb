/*
 * Reporting periods: a calendar year ("2021") or a half-year ("2021-S1",
 * January–June; "2021-S2", July–December), and every way people write them.
 */
#ifndef CALPAE_PERIOD_H
#define CALPAE_PERIOD_H

#include <stddef.h>

struct cp_period {
    int year; /* 2000..2099 */
    int half; /* 0 = the whole year, 1 = S1, 2 = S2 */
};

#define CP_PERIOD_STRLEN 8  /* "2021-S1" + NUL */
#define CP_DATE_STRLEN 11   /* "2021-06-30" + NUL */

/*
 * Parses "2021", "2021-S1", "2021 S1", "2021/S1", "2021S1", "2021-s1",
 * "S1 2021", "S1-2021", "1er semestre 2021", "premier semestre 2021",
 * "2e semestre 2021", "2ème semestre 2021", "second semestre 2021",
 * "deuxième semestre 2021", "semestre 1 2021", "2 021" (a year with a
 * thousands space, as LibreOffice shows numbers). Case, accents and white
 * space are ignored. Returns 0, or -1 when the text is not a period.
 */
int cp_period_parse(const char *s, size_t len, struct cp_period *p);

/* A spreadsheet number that is a whole year (2021.0). 0 or -1. */
int cp_period_from_number(double v, struct cp_period *p);

/* Canonical spelling: "2021" or "2021-S1". out holds CP_PERIOD_STRLEN. */
void cp_period_str(const struct cp_period *p, char *out);

/* First and last day ("YYYY-MM-DD"), each buffer CP_DATE_STRLEN. */
void cp_period_bounds(const struct cp_period *p, char *first, char *last);

/* Deadline for sending the figures (rules.md, HORS_DELAI): 31 March of the
 * next year for a year; the last day of the second month after the end of
 * a half-year (S1 → 31 August, S2 → end of February next year). */
void cp_period_deadline(const struct cp_period *p, char *date);

/* The same period one year earlier. */
struct cp_period cp_period_year_before(const struct cp_period *p);

/* Orders periods by time; a year sorts after its two halves. */
int cp_period_cmp(const struct cp_period *a, const struct cp_period *b);

#endif
