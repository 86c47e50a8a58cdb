/*
 * Numbers as French and English people type them in spreadsheets and
 * CSV files: "1234", "1 234" (space, U+00A0 or U+202F), "1234,5",
 * "1234.5", "1.234,5", "-12", "45 %", "45,0%", plus the markers of a
 * value not reported (NC, ND, n.d., -, s.o., SO) and Excel error values.
 */
#ifndef CALPAE_NUM_H
#define CALPAE_NUM_H

#include <stddef.h>

enum cp_num_status {
    CP_NUM_VALUE,       /* a number: value is set */
    CP_NUM_EMPTY,       /* nothing but white space: not reported */
    CP_NUM_MISSING,     /* a marker of a value not reported: missing is set */
    CP_NUM_EXCEL_ERROR, /* #DIV/0!, #N/A, #VALEUR!, #VALUE!, #REF!, #NOM?, #NAME?, #NUM!, #NULL!, Err:NNN */
    CP_NUM_INVALID      /* anything else: text where a number is expected */
};

enum cp_missing {
    CP_MISSING_NONE = 0,
    CP_MISSING_NC, /* non communiqué: NC, N.C., ND, N.D., n.d., NR, -, –, non communiqué, non disponible */
    CP_MISSING_SO  /* sans objet: SO, S.O., s.o., sans objet */
};

struct cp_num {
    enum cp_num_status status;
    double value;          /* when CP_NUM_VALUE; "45 %" gives 45 and percent = 1 */
    int percent;           /* 1 when written with a trailing % sign */
    enum cp_missing missing;
    int digits;            /* when CP_NUM_VALUE: significant digits of the text
                              ("0,0450" has 2, "1 200" 2), else 0 */
};

/* The significant digits cp_num_clean keeps. */
#define CP_NUM_CLEAN_DIGITS 12

/*
 * Parses one cell's text (UTF-8, need not be NUL-terminated). Leading and
 * trailing white space is ignored. Thousands separators: space, U+00A0,
 * U+202F, apostrophe, and '.' or ',' when the other one is the decimal
 * separator or when they group by three ("1.234.567"). A single ',' or a
 * single '.' is the decimal separator ("1,234" is 1.234). A leading '+',
 * '-' or U+2212 MINUS SIGN is accepted (and an en dash before a digit, as
 * word processors "correct" a minus). Groups after the first hold three
 * digits ("1 23" is not a number). An exponent ("1E-05") is accepted, as
 * some software exports them. A trailing '%' sets percent; a trailing
 * '€' is accepted and dropped (the unit is the catalog's business). Never
 * fails: the outcome is in out->status.
 */
void cp_num_parse(const char *s, size_t len, struct cp_num *out);

/* Rounds v to 12 significant digits, which removes binary noise such as
 * 68.09999999999999 (as Excel stores 68.1) or 0.837 * 100. */
double cp_num_clean(double v);

/* The value of a parsed number (status CP_NUM_VALUE) rounded as
 * cp_num_clean(n->value) does, bit for bit; without the costly rounding
 * when the text had at most 12 significant digits, as it cannot change
 * such a value. */
double cp_num_cleaned(const struct cp_num *n);

/* The French name of a missing marker: "non communiqué", "sans objet". */
const char *cp_missing_label(enum cp_missing m);
/* Its short code, as stored in the database: "NC", "SO" (NULL for NONE). */
const char *cp_missing_code(enum cp_missing m);

#endif
