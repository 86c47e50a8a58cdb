/* Parsing of numbers as people type them in cells (see num.h): the text is
 * checked and rewritten into a plain ASCII number, and only that goes to
 * strtod (the process locale is "C"). */
#include "common/num.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/text.h"

/* Longest number text we care to read; anything longer is not a figure. */
#define NUM_MAX_BYTES 256
#define NUM_MAX_GROUPS 64

enum sep_kind { SEP_SPACE, SEP_APOS, SEP_DOT, SEP_COMMA };

static int is_excel_error(const char *s, size_t len)
{
    static const char *const errors[] = {
        "#DIV/0!", "#N/A", "#VALEUR!", "#VALUE!", "#REF!", "#NOM?", "#NAME?",
        "#NUM!", "#NOMBRE!", "#NULL!", "#NUL!", "#N/D", "#SPILL!", "#CALC!",
        "#GETTING_DATA",
    };
    size_t i;

    /* Every error starts with '#' or "Err:": most cells are numbers. */
    if (len == 0 || (s[0] != '#' && s[0] != 'E' && s[0] != 'e'))
        return 0;
    for (i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (strlen(errors[i]) == len && strncasecmp(s, errors[i], len) == 0)
            return 1;
    /* LibreOffice shows its errors as Err:502. */
    if (len >= 5 && len <= 8 && strncasecmp(s, "Err:", 4) == 0) {
        for (i = 4; i < len; i++)
            if (s[i] < '0' || s[i] > '9')
                return 0;
        return 1;
    }
    return 0;
}

/* Length of the dash-like character at s (ASCII '-', U+2010..U+2015,
 * U+2212), or 0. */
static size_t dash_at(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    if (len >= 1 && p[0] == '-')
        return 1;
    if (len >= 3 && p[0] == 0xE2 && p[1] == 0x80 && p[2] >= 0x90 && p[2] <= 0x95)
        return 3;
    if (len >= 3 && p[0] == 0xE2 && p[1] == 0x88 && p[2] == 0x92)
        return 3;
    return 0;
}

static enum cp_missing missing_marker(const char *s, size_t len)
{
    static const struct { const char *fold; enum cp_missing m; } markers[] = {
        { "nc", CP_MISSING_NC },            { "nd", CP_MISSING_NC },
        { "nr", CP_MISSING_NC },            { "noncommunique", CP_MISSING_NC },
        { "nondisponible", CP_MISSING_NC }, { "nonrenseigne", CP_MISSING_NC },
        { "so", CP_MISSING_SO },            { "sansobjet", CP_MISSING_SO },
    };
    char f[32];
    size_t i, k, flen;

    /* Only dashes: "-", "–", "—", "--". */
    for (i = 0; i < len; i += k)
        if ((k = dash_at(s + i, len - i)) == 0)
            break;
    if (i == len)
        return CP_MISSING_NC;
    if (len > 40)
        return CP_MISSING_NONE;
    /* Folding keeps ASCII digits and no marker has one: a text holding a
     * digit is no marker (a digit cut off by the 31-byte fold limit leaves
     * a folded text longer than any marker). Spares folding every number. */
    for (i = 0; i < len; i++)
        if (s[i] >= '0' && s[i] <= '9')
            return CP_MISSING_NONE;
    /* Letters must be there: "N.C." folds to "nc", "?" to "". */
    flen = cp_text_fold(s, len, f, sizeof f);
    for (i = 0; i < sizeof markers / sizeof markers[0]; i++)
        if (flen == strlen(markers[i].fold) && strcmp(f, markers[i].fold) == 0)
            return markers[i].m;
    return CP_MISSING_NONE;
}

/* Separator at s, as its kind; *n gets its length in bytes (0: none). */
static int sep_at(const char *s, size_t len, size_t *n)
{
    const unsigned char *p = (const unsigned char *)s;

    *n = 1;
    if (p[0] == ' ')
        return SEP_SPACE;
    if (p[0] == '\'')
        return SEP_APOS;
    if (p[0] == '.')
        return SEP_DOT;
    if (p[0] == ',')
        return SEP_COMMA;
    *n = 2;
    if (len >= 2 && p[0] == 0xC2 && p[1] == 0xA0) /* U+00A0 */
        return SEP_SPACE;
    *n = 3;
    if (len >= 3 && p[0] == 0xE2 && p[1] == 0x80) {
        if (p[2] == 0xAF || p[2] == 0x89) /* U+202F, U+2009 thin space */
            return SEP_SPACE;
        if (p[2] == 0x99) /* U+2019 typographic apostrophe */
            return SEP_APOS;
    }
    *n = 0;
    return -1;
}

/* Removes a trailing suffix (and the white space before it) when present. */
static int strip_suffix(const char *s, size_t *len, const char *suffix)
{
    size_t k = strlen(suffix);

    if (*len < k || memcmp(s + *len - k, suffix, k) != 0)
        return 0;
    *len -= k;
    cp_text_trim(&s, len);
    return 1;
}

/*
 * The number proper, once markers, the sign and the unit are set aside:
 * digit groups and separators, then an optional exponent. Writes the ASCII
 * form (without sign) to buf and the count of significant digits (first to
 * last non-zero digit of the mantissa, 0 for zero) to *sig; returns 0, or
 * -1 when the text is not a well-formed number.
 */
static int normalise(const char *s, size_t len, char *buf, size_t bufsz, int *sig)
{
    size_t groups[NUM_MAX_GROUPS];
    int seps[NUM_MAX_GROUPS];
    size_t ng = 1, i = 0, o = 0, k, g;
    size_t ndot = 0, ncomma = 0, nthou;
    int dec = -1, thou = -1;
    const char *exp = NULL;
    size_t explen = 0;
    char digits[NUM_MAX_BYTES + 1];
    size_t nd = 0;

    groups[0] = 0;
    while (i < len) {
        char c = s[i];
        int kind;

        if (c >= '0' && c <= '9') {
            digits[nd++] = c;
            groups[ng - 1]++;
            i++;
            continue;
        }
        if ((c == 'e' || c == 'E') && nd > 0) {
            exp = s + i + 1;
            explen = len - i - 1;
            break;
        }
        kind = sep_at(s + i, len - i, &k);
        if (kind < 0 || ng == NUM_MAX_GROUPS)
            return -1;
        seps[ng - 1] = kind;
        groups[ng++] = 0;
        ndot += kind == SEP_DOT;
        ncomma += kind == SEP_COMMA;
        i += k;
    }
    if (nd == 0)
        return -1;
    {
        size_t first = 0, last = nd;

        while (first < nd && digits[first] == '0')
            first++;
        while (last > first && digits[last - 1] == '0')
            last--;
        *sig = (int)(last - first);
    }

    /* Which separator, if any, is the decimal one. */
    if (ndot + ncomma > 0) {
        int last = -1;
        for (g = 0; g + 1 < ng; g++)
            if (seps[g] == SEP_DOT || seps[g] == SEP_COMMA)
                last = (int)g;
        if ((ndot > 0 && ncomma > 0) || ndot + ncomma == 1) {
            /* The last of '.' and ',' is the decimal one: it appears once
             * and nothing but digits follows it. */
            size_t same = seps[last] == SEP_DOT ? ndot : ncomma;
            if (same != 1 || (size_t)last + 2 != ng)
                return -1;
            dec = last;
        }
    }
    /* Every other separator groups thousands, all of the same kind. */
    nthou = 0;
    for (g = 0; g + 1 < ng; g++) {
        if ((int)g == dec)
            continue;
        if (thou >= 0 && seps[g] != thou)
            return -1;
        thou = seps[g];
        nthou++;
    }
    if (nthou > 0) {
        size_t tgroups = dec >= 0 ? (size_t)dec + 1 : ng;
        if (groups[0] < 1 || groups[0] > 3)
            return -1;
        for (g = 1; g < tgroups; g++)
            if (groups[g] != 3)
                return -1;
    }
    /* No empty group, except an integer part left out: ",5", ".5". */
    for (g = 0; g < ng; g++)
        if (groups[g] == 0 && !(g == 0 && dec == 0))
            return -1;

    /* Integer digits, the point, the fraction, the exponent. */
    g = dec >= 0 ? 0 : nd;
    if (dec >= 0)
        for (i = 0; i <= (size_t)dec; i++)
            g += groups[i];
    if (g == 0)
        buf[o++] = '0';
    if (nd + 4 + explen >= bufsz)
        return -1;
    memcpy(buf + o, digits, g);
    o += g;
    if (g < nd) {
        buf[o++] = '.';
        memcpy(buf + o, digits + g, nd - g);
        o += nd - g;
    }
    if (exp) {
        size_t e = 0;
        buf[o++] = 'e';
        if (explen > 0 && (exp[0] == '+' || exp[0] == '-'))
            buf[o++] = exp[e++];
        if (e == explen)
            return -1;
        for (; e < explen; e++) {
            if (exp[e] < '0' || exp[e] > '9')
                return -1;
            buf[o++] = exp[e];
        }
    }
    buf[o] = '\0';
    return 0;
}

void cp_num_parse(const char *s, size_t len, struct cp_num *out)
{
    char buf[2 * NUM_MAX_BYTES];
    char *end;
    double v;
    int neg = 0;
    size_t k;

    out->status = CP_NUM_INVALID;
    out->value = 0;
    out->percent = 0;
    out->missing = CP_MISSING_NONE;
    out->digits = 0;

    cp_text_trim(&s, &len);
    if (len == 0) {
        out->status = CP_NUM_EMPTY;
        return;
    }
    if (is_excel_error(s, len)) {
        out->status = CP_NUM_EXCEL_ERROR;
        return;
    }
    out->missing = missing_marker(s, len);
    if (out->missing != CP_MISSING_NONE) {
        out->status = CP_NUM_MISSING;
        return;
    }
    if (len > NUM_MAX_BYTES)
        return;

    if (strip_suffix(s, &len, "%"))
        out->percent = 1;
    else
        strip_suffix(s, &len, "\xe2\x82\xac"); /* € */

    /* Sign: '+', '-', U+2212 MINUS SIGN, or an en dash standing for one. */
    if (len > 0 && s[0] == '+') {
        s++;
        len--;
    } else if ((k = dash_at(s, len)) > 0 &&
               (k == 1 || memcmp(s, "\xe2\x88\x92", 3) == 0 ||
                memcmp(s, "\xe2\x80\x93", 3) == 0)) {
        neg = 1;
        s += k;
        len -= k;
    }
    if (normalise(s, len, buf, sizeof buf, &out->digits) < 0) {
        out->digits = 0;
        out->percent = 0;
        return;
    }
    v = strtod(buf, &end);
    if (*end != '\0' || !isfinite(v)) {
        out->percent = 0;
        out->digits = 0;
        return;
    }
    out->status = CP_NUM_VALUE;
    out->value = (neg ? -v : v) + 0.0; /* no negative zero */
}

double cp_num_clean(double v)
{
    char buf[40];

    if (!isfinite(v) || v == 0)
        return v == 0 ? 0.0 : v;
    snprintf(buf, sizeof buf, "%.11e", v);
    return strtod(buf, NULL);
}

/*
 * Why skipping is exact: the text is a decimal d of k <= 12 significant
 * digits and value = RN(d), the double nearest to d (strtod rounds
 * correctly), so |value - d| <= 2^-53 |d| when value is a normal number.
 * 12-digit decimals around d are at least |d| * 1e-12 apart, so rounding
 * value to 12 digits ("%.11e") gives d back, and strtod(d) gives value
 * again. Subnormal values (few bits, larger relative error) take the slow
 * path; so does any text with 13 or more significant digits, where the
 * rounding does change the value.
 */
double cp_num_cleaned(const struct cp_num *n)
{
    if (n->value == 0)
        return 0.0;
    if (n->digits > 0 && n->digits <= CP_NUM_CLEAN_DIGITS && isnormal(n->value))
        return n->value;
    return cp_num_clean(n->value);
}

const char *cp_missing_label(enum cp_missing m)
{
    switch (m) {
    case CP_MISSING_NC:
        return "non communiqué";
    case CP_MISSING_SO:
        return "sans objet";
    case CP_MISSING_NONE:
        break;
    }
    return "";
}

const char *cp_missing_code(enum cp_missing m)
{
    switch (m) {
    case CP_MISSING_NC:
        return "NC";
    case CP_MISSING_SO:
        return "SO";
    case CP_MISSING_NONE:
        break;
    }
    return NULL;
}
