/* Unit tests for common/period.c: spellings, canonical form, bounds,
 * deadlines, ordering. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "common/period.h"

static void parses(const char *s, int year, int half)
{
    struct cp_period p = { -1, -1 };
    cr_assert_eq(cp_period_parse(s, strlen(s), &p), 0, "\"%s\" must parse", s);
    cr_assert_eq(p.year, year, "\"%s\": year %d", s, p.year);
    cr_assert_eq(p.half, half, "\"%s\": half %d", s, p.half);
}

static void rejects(const char *s)
{
    struct cp_period p = { -1, -1 };
    cr_assert_eq(cp_period_parse(s, strlen(s), &p), -1, "\"%s\" must be rejected", s);
}

static const char *str(int year, int half)
{
    static char out[CP_PERIOD_STRLEN];
    struct cp_period p = { year, half };
    cp_period_str(&p, out);
    return out;
}

Test(period, years)
{
    parses("2021", 2021, 0);
    parses(" 2019 ", 2019, 0);
    parses("2000", 2000, 0);
    parses("2099", 2099, 0);
    parses("2 021", 2021, 0);
    parses("2\xc2\xa0" "021", 2021, 0);
    parses("2\xe2\x80\xaf" "023", 2023, 0);
    parses("Année 2022", 2022, 0);
}

Test(period, half_years_in_short_forms)
{
    parses("2021-S1", 2021, 1);
    parses("2021-S2", 2021, 2);
    parses("2021 S1", 2021, 1);
    parses("2021/S1", 2021, 1);
    parses("2021S1", 2021, 1);
    parses("2021-s2", 2021, 2);
    parses("2021_S2", 2021, 2);
    parses("S1 2021", 2021, 1);
    parses("S1-2021", 2021, 1);
    parses("s2 2022", 2022, 2);
    parses("2021\xe2\x80\x93S1", 2021, 1); /* en dash */
}

Test(period, half_years_in_words)
{
    parses("1er semestre 2021", 2021, 1);
    parses("1ER SEMESTRE 2021", 2021, 1);
    parses("1ère semestre 2021", 2021, 1);
    parses("premier semestre 2021", 2021, 1);
    parses("Premier Semestre 2021", 2021, 1);
    parses("2e semestre 2021", 2021, 2);
    parses("2ème semestre 2021", 2021, 2);
    parses("2eme semestre 2021", 2021, 2);
    parses("2nd semestre 2021", 2021, 2);
    parses("second semestre 2021", 2021, 2);
    parses("deuxième semestre 2021", 2021, 2);
    parses("semestre 1 2021", 2021, 1);
    parses("Semestre 2 - 2021", 2021, 2);
    parses("2021 - 1er semestre", 2021, 1);
    parses("2021 semestre 2", 2021, 2);
}

Test(period, rejects_what_is_not_a_period)
{
    static const char *const bad[] = {
        "2021-S3", "S1", "21", "2021-13", "semestre 2021", "2150", "1999",
        "", "   ", "2021-2022", "S0 2021", "3e semestre 2021", "2021 S1 S2",
        "20211", "annee", "2021 annee", "troisieme semestre 2021", "2021-S01",
        "2 0211", "3 021", "T1 2021", "2021-S1 provisoire",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        rejects(bad[i]);
}

Test(period, rejects_overlong_text)
{
    char big[200];
    memset(big, ' ', sizeof big);
    memcpy(big + 150, "2021", 4);
    struct cp_period p;
    cr_assert_eq(cp_period_parse(big, sizeof big, &p), 0);
    cr_assert_eq(p.year, 2021);
    memset(big, 'a', sizeof big);
    cr_assert_eq(cp_period_parse(big, sizeof big, &p), -1);
}

Test(period, respects_length)
{
    struct cp_period p;
    cr_assert_eq(cp_period_parse("2021-S1", 4, &p), 0);
    cr_assert_eq(p.half, 0);
}

Test(period, from_number)
{
    struct cp_period p = { 0, 7 };
    cr_assert_eq(cp_period_from_number(2021.0, &p), 0);
    cr_assert_eq(p.year, 2021);
    cr_assert_eq(p.half, 0);
    cr_assert_eq(cp_period_from_number(2021.5, &p), -1);
    cr_assert_eq(cp_period_from_number(1999, &p), -1);
    cr_assert_eq(cp_period_from_number(2100, &p), -1);
    cr_assert_eq(cp_period_from_number(NAN, &p), -1);
}

Test(period, canonical_string)
{
    cr_assert_str_eq(str(2021, 0), "2021");
    cr_assert_str_eq(str(2021, 1), "2021-S1");
    cr_assert_str_eq(str(2022, 2), "2022-S2");
}

Test(period, round_trip_through_the_canonical_string)
{
    for (int y = 2000; y <= 2099; y++)
        for (int h = 0; h <= 2; h++) {
            const char *s = str(y, h);
            parses(s, y, h);
        }
}

Test(period, bounds)
{
    char first[CP_DATE_STRLEN], last[CP_DATE_STRLEN];
    struct cp_period y = { 2021, 0 }, s1 = { 2021, 1 }, s2 = { 2021, 2 };
    cp_period_bounds(&y, first, last);
    cr_assert_str_eq(first, "2021-01-01");
    cr_assert_str_eq(last, "2021-12-31");
    cp_period_bounds(&s1, first, last);
    cr_assert_str_eq(first, "2021-01-01");
    cr_assert_str_eq(last, "2021-06-30");
    cp_period_bounds(&s2, first, last);
    cr_assert_str_eq(first, "2021-07-01");
    cr_assert_str_eq(last, "2021-12-31");
}

Test(period, deadlines)
{
    char d[CP_DATE_STRLEN];
    struct cp_period p = { 2021, 0 };
    cp_period_deadline(&p, d);
    cr_assert_str_eq(d, "2022-03-31");
    p.half = 1;
    cp_period_deadline(&p, d);
    cr_assert_str_eq(d, "2021-08-31");
    p.half = 2;
    cp_period_deadline(&p, d);
    cr_assert_str_eq(d, "2022-02-28");
    p.year = 2023;
    cp_period_deadline(&p, d);
    cr_assert_str_eq(d, "2024-02-29");
    p.year = 2099; /* 2100 is not a leap year */
    cp_period_deadline(&p, d);
    cr_assert_str_eq(d, "2100-02-28");
}

Test(period, year_before_keeps_the_half)
{
    struct cp_period p = { 2022, 1 };
    struct cp_period q = cp_period_year_before(&p);
    cr_assert_eq(q.year, 2021);
    cr_assert_eq(q.half, 1);
    cr_assert_eq(p.year, 2022, "the argument is left alone");
}

Test(period, ordering_puts_a_year_after_its_halves)
{
    struct cp_period a = { 2021, 1 }, b = { 2021, 2 }, y = { 2021, 0 }, n = { 2022, 1 },
                     prev = { 2020, 0 };
    cr_assert_lt(cp_period_cmp(&a, &b), 0);
    cr_assert_lt(cp_period_cmp(&b, &y), 0);
    cr_assert_lt(cp_period_cmp(&y, &n), 0);
    cr_assert_lt(cp_period_cmp(&prev, &a), 0);
    cr_assert_gt(cp_period_cmp(&y, &a), 0);
    cr_assert_eq(cp_period_cmp(&b, &b), 0);
}

Test(period, arbitrary_bytes_never_overrun)
{
    static const char alphabet[] = "0123456789 -/sSer\xc3\xa8mtd\xc2\xa0";
    unsigned long x = 99;
    char buf[30];

    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(i % (int)sizeof buf);
        struct cp_period p;
        for (size_t j = 0; j < len; j++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            buf[j] = alphabet[(x >> 33) % (sizeof alphabet - 1)];
        }
        if (cp_period_parse(buf, len, &p) == 0)
            cr_assert(p.year >= 2000 && p.year <= 2099 && p.half >= 0 && p.half <= 2);
    }
}
