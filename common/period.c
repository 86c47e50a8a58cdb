/* Reporting periods (see period.h): the text is folded to words, cut into
 * tokens at spaces and at digit/letter boundaries ("2021s1" is 2021 s 1),
 * then read as a year, a half-year phrase, or both. */
#include "common/period.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/text.h"

#define PERIOD_MAX_TOKENS 8
#define PERIOD_TOKEN_MAX 16

struct tokens {
    char t[PERIOD_MAX_TOKENS][PERIOD_TOKEN_MAX];
    int n;
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Cuts folded words into tokens; -1 when there are too many or too long. */
static int tokenize(const char *w, struct tokens *tk)
{
    size_t i = 0, k;

    tk->n = 0;
    while (w[i]) {
        if (w[i] == ' ') {
            i++;
            continue;
        }
        if (tk->n == PERIOD_MAX_TOKENS)
            return -1;
        k = 0;
        do {
            if (k + 1 >= PERIOD_TOKEN_MAX)
                return -1;
            tk->t[tk->n][k++] = w[i++];
        } while (w[i] && w[i] != ' ' && is_digit(w[i]) == is_digit(w[i - 1]));
        tk->t[tk->n][k] = '\0';
        tk->n++;
    }
    return 0;
}

static int is_year(const char *t, int *year)
{
    if (strlen(t) != 4 || !is_digit(t[0]) || !is_digit(t[1]) || !is_digit(t[2]) ||
        !is_digit(t[3]))
        return 0;
    *year = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
    return *year >= 2000 && *year <= 2099;
}

static int is_one_of(const char *t, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(t, *list) == 0)
            return 1;
    return 0;
}

static int is_semestre(const char *t)
{
    static const char *const w[] = { "semestre", "sem", NULL };
    return is_one_of(t, w);
}

/* "1" or "2" as a half number; 0 otherwise. */
static int half_number(const char *t)
{
    if (strcmp(t, "1") == 0)
        return 1;
    if (strcmp(t, "2") == 0)
        return 2;
    return 0;
}

/*
 * The half-year named by tokens [from, to): "s 1", "semestre 1", "1 er
 * semestre", "2 eme semestre", "premier semestre", "second semestre"...
 * Returns 1 or 2, or 0 when the tokens are not such a phrase.
 */
static int half_phrase(const struct tokens *tk, int from, int to)
{
    static const char *const ordinal[] = { "er", "ere", "re", "e", "eme", "nd", "nde", "d", NULL };
    static const char *const first[] = { "premier", "premiere", NULL };
    static const char *const second[] = { "second", "seconde", "deuxieme", NULL };
    int n = to - from, h;
    const char *a, *b, *c;

    if (n < 2 || n > 3)
        return 0;
    a = tk->t[from];
    b = tk->t[from + 1];
    c = n == 3 ? tk->t[from + 2] : NULL;
    if (n == 2) {
        if ((strcmp(a, "s") == 0 || is_semestre(a)) && (h = half_number(b)) > 0)
            return h;
        if ((h = half_number(a)) > 0 && is_semestre(b))
            return h;
        if (is_semestre(b) && is_one_of(a, first))
            return 1;
        if (is_semestre(b) && is_one_of(a, second))
            return 2;
        return 0;
    }
    if ((h = half_number(a)) > 0 && is_one_of(b, ordinal) && is_semestre(c))
        return h;
    return 0;
}

int cp_period_parse(const char *s, size_t len, struct cp_period *p)
{
    char words[64];
    struct tokens tk;
    int year, half;

    cp_text_trim(&s, &len);
    if (len == 0 || len >= sizeof words)
        return -1;
    cp_text_fold_words(s, len, words, sizeof words);
    if (tokenize(words, &tk) < 0 || tk.n == 0)
        return -1;

    /* "2 021": a year as LibreOffice shows a number with a thousands space. */
    if (tk.n == 2 && strcmp(tk.t[0], "2") == 0 && strlen(tk.t[1]) == 3 &&
        is_digit(tk.t[1][0]) && is_digit(tk.t[1][1]) && is_digit(tk.t[1][2])) {
        char joined[5] = { '2', tk.t[1][0], tk.t[1][1], tk.t[1][2], '\0' };
        if (!is_year(joined, &year))
            return -1;
        p->year = year;
        p->half = 0;
        return 0;
    }
    if ((tk.n == 1 && is_year(tk.t[0], &year)) ||
        (tk.n == 2 && strcmp(tk.t[0], "annee") == 0 && is_year(tk.t[1], &year))) {
        half = 0;
    } else if (tk.n > 1 && is_year(tk.t[0], &year)) {
        half = half_phrase(&tk, 1, tk.n);
        if (half == 0)
            return -1;
    } else if (tk.n > 1 && is_year(tk.t[tk.n - 1], &year)) {
        half = half_phrase(&tk, 0, tk.n - 1);
        if (half == 0)
            return -1;
    } else {
        return -1;
    }
    p->year = year;
    p->half = half;
    return 0;
}

int cp_period_from_number(double v, struct cp_period *p)
{
    if (!isfinite(v) || v != floor(v) || v < 2000 || v > 2099)
        return -1;
    p->year = (int)v;
    p->half = 0;
    return 0;
}

void cp_period_str(const struct cp_period *p, char *out)
{
    int y = p->year < 0 ? 0 : p->year > 9999 ? 9999 : p->year;

    if (p->half == 1 || p->half == 2)
        snprintf(out, CP_PERIOD_STRLEN, "%04d-S%d", y, p->half);
    else
        snprintf(out, CP_PERIOD_STRLEN, "%04d", y);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* m and d are valid by construction; y is clamped to four digits. */
static void date_str(char *out, int y, unsigned m, unsigned d)
{
    unsigned uy = y < 0 ? 0u : y > 9999 ? 9999u : (unsigned)y;

    snprintf(out, CP_DATE_STRLEN, "%04u-%02u-%02u", uy, m % 13u, d % 32u);
}

void cp_period_bounds(const struct cp_period *p, char *first, char *last)
{
    date_str(first, p->year, p->half == 2 ? 7u : 1u, 1);
    if (p->half == 1)
        date_str(last, p->year, 6, 30);
    else
        date_str(last, p->year, 12, 31);
}

void cp_period_deadline(const struct cp_period *p, char *date)
{
    if (p->half == 1)
        date_str(date, p->year, 8, 31);
    else if (p->half == 2)
        date_str(date, p->year + 1, 2, is_leap(p->year + 1) ? 29u : 28u);
    else
        date_str(date, p->year + 1, 3, 31);
}

struct cp_period cp_period_year_before(const struct cp_period *p)
{
    struct cp_period q = *p;

    q.year--;
    return q;
}

int cp_period_cmp(const struct cp_period *a, const struct cp_period *b)
{
    /* S1 < S2 < the whole year, within a year. */
    int ka = a->year * 3 + (a->half == 0 ? 2 : a->half - 1);
    int kb = b->year * 3 + (b->half == 0 ? 2 : b->half - 1);

    return (ka > kb) - (ka < kb);
}
