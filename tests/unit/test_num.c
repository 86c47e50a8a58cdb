/* Unit tests for common/num.c: French and English numbers, missing
 * markers, Excel errors, rounding noise away. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/num.h"

static struct cp_num parse(const char *s)
{
    struct cp_num n;
    memset(&n, 0x5a, sizeof n); /* everything must be set by the parser */
    cp_num_parse(s, strlen(s), &n);
    return n;
}

static void value(const char *s, double v, int percent)
{
    struct cp_num n = parse(s);
    cr_assert_eq(n.status, CP_NUM_VALUE, "\"%s\": status %d", s, (int)n.status);
    cr_assert_eq(n.value, v, "\"%s\": %.17g instead of %.17g", s, n.value, v);
    cr_assert_eq(n.percent, percent, "\"%s\": percent %d", s, n.percent);
    cr_assert_eq(n.missing, CP_MISSING_NONE, "\"%s\"", s);
}

static void status(const char *s, enum cp_num_status st)
{
    struct cp_num n = parse(s);
    cr_assert_eq(n.status, st, "\"%s\": status %d instead of %d", s, (int)n.status, (int)st);
    if (st != CP_NUM_VALUE) {
        cr_assert_eq(n.percent, 0, "\"%s\"", s);
        cr_assert_eq(n.value, 0.0, "\"%s\"", s);
    }
}

static void missing(const char *s, enum cp_missing m)
{
    struct cp_num n = parse(s);
    cr_assert_eq(n.status, CP_NUM_MISSING, "\"%s\": status %d", s, (int)n.status);
    cr_assert_eq(n.missing, m, "\"%s\": reason %d", s, (int)n.missing);
}

Test(num, plain_integers_and_signs)
{
    value("1234", 1234, 0);
    value("0", 0, 0);
    value("-12", -12, 0);
    value("+3", 3, 0);
    value("\xe2\x88\x92" "12", -12, 0); /* U+2212 MINUS SIGN */
    value("\xe2\x80\x93" "7", -7, 0);   /* en dash typed as a minus */
    value("007", 7, 0);
    value("  42  ", 42, 0);
    value("\xc2\xa0" "42\xe2\x80\xaf", 42, 0);
}

Test(num, negative_zero_is_zero)
{
    struct cp_num n = parse("-0");
    cr_assert_eq(n.status, CP_NUM_VALUE);
    cr_assert_eq(n.value, 0.0);
    cr_assert(!signbit(n.value));
}

Test(num, thousands_separators)
{
    value("1 234", 1234, 0);
    value("1\xc2\xa0" "234", 1234, 0);     /* U+00A0 */
    value("1\xe2\x80\xaf" "234", 1234, 0); /* U+202F */
    value("1\xe2\x80\x89" "234", 1234, 0); /* U+2009 */
    value("12 345 678", 12345678, 0);
    value("1'234'567", 1234567, 0);
    value("1\xe2\x80\x99" "234", 1234, 0);  /* U+2019 */
    value("1.234.567", 1234567, 0);
    value("1,234,567", 1234567, 0);
    value("-1 234", -1234, 0);
}

Test(num, decimal_separators)
{
    value("1234,5", 1234.5, 0);
    value("1234.5", 1234.5, 0);
    value("1.234,5", 1234.5, 0);
    value("1,234.5", 1234.5, 0);
    value("1 234,5", 1234.5, 0);
    value("1 234.5", 1234.5, 0);
    value("1.234.567,89", 1234567.89, 0);
    value("1,234", 1.234, 0);   /* a single ',' is decimal */
    value("1.234", 1.234, 0);   /* a single '.' is decimal */
    value("0,45", 0.45, 0);
    value(",5", 0.5, 0);
    value("-.5", -0.5, 0);
}

Test(num, exponents)
{
    value("1E-05", 1e-05, 0);
    value("1,5E+3", 1500, 0);
    value("2.5e2", 250, 0);
    status("1e", CP_NUM_INVALID);
    status("1e+", CP_NUM_INVALID);
    status("1e5x", CP_NUM_INVALID);
    status("e5", CP_NUM_INVALID);
    status("1e999", CP_NUM_INVALID); /* not finite */
}

Test(num, percentages)
{
    value("45 %", 45, 1);
    value("45%", 45, 1);
    value("45,0%", 45, 1);
    value("51,2\xc2\xa0%", 51.2, 1);
    value("51,2\xe2\x80\xaf%", 51.2, 1);
    value("-3,5 %", -3.5, 1);
    value("45", 45, 0);
    status("%", CP_NUM_INVALID);
    status("45 %%", CP_NUM_INVALID);
    status("% 45", CP_NUM_INVALID);
}

Test(num, euro_sign_is_accepted)
{
    value("12 345,67 €", 12345.67, 0);
    value("1500€", 1500, 0);
    status("€ 12", CP_NUM_INVALID);
    status("12 € €", CP_NUM_INVALID);
    status("12 % €", CP_NUM_INVALID);
}

Test(num, not_communicated_markers)
{
    missing("NC", CP_MISSING_NC);
    missing("nc", CP_MISSING_NC);
    missing("N.C.", CP_MISSING_NC);
    missing("ND", CP_MISSING_NC);
    missing("n.d.", CP_MISSING_NC);
    missing("NR", CP_MISSING_NC);
    missing("-", CP_MISSING_NC);
    missing("–", CP_MISSING_NC);
    missing("—", CP_MISSING_NC);
    missing(" -- ", CP_MISSING_NC);
    missing("non communiqué", CP_MISSING_NC);
    missing("Non disponible", CP_MISSING_NC);
}

Test(num, not_applicable_markers)
{
    missing("s.o.", CP_MISSING_SO);
    missing("SO", CP_MISSING_SO);
    missing("S.O.", CP_MISSING_SO);
    missing("sans objet", CP_MISSING_SO);
    missing("Sans Objet ", CP_MISSING_SO);
}

Test(num, excel_errors)
{
    static const char *const errs[] = {
        "#DIV/0!", "#N/A", "#VALEUR!", "#VALUE!", "#REF!", "#NOM?", "#NAME?",
        "#NUM!", "#NULL!", "Err:502", "#div/0!", " #N/A ",
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
        status(errs[i], CP_NUM_EXCEL_ERROR);
    status("#FOO!", CP_NUM_INVALID);
    status("Err:", CP_NUM_INVALID);
    status("Err:5x2", CP_NUM_INVALID);
}

Test(num, text_is_invalid)
{
    static const char *const bad[] = {
        "voir annexe", "à venir", "12abc", "1,2,3", "1 23", "1.2.3", "12 34,5",
        "1 234.567,8", "1,234.567,8", "1,5 000", "12.", "1..2", "1 ,5", "--12",
        "+-1", "- 12", "abc", "1234 5", "12,5,", "N.C.1", "1 2345", "0x10",
        "inf", "nan", "1/2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        status(bad[i], CP_NUM_INVALID);
}

Test(num, blank_is_empty)
{
    status("", CP_NUM_EMPTY);
    status("   ", CP_NUM_EMPTY);
    status("\t\xc2\xa0\r\n", CP_NUM_EMPTY);
}

Test(num, respects_length_and_overlong_text)
{
    struct cp_num n;
    cp_num_parse("12345", 2, &n);
    cr_assert_eq(n.status, CP_NUM_VALUE);
    cr_assert_eq(n.value, 12);

    char big[600];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    status(big, CP_NUM_INVALID);
}

Test(num, clean_rounds_to_twelve_significant_digits)
{
    cr_assert_eq(cp_num_clean(68.09999999999999), 68.1);
    cr_assert_eq(cp_num_clean(0.8370000000000001 * 100), 83.7);
    cr_assert_eq(cp_num_clean(0.690476 * 100), 69.0476);
    cr_assert_eq(cp_num_clean(0.1 + 0.2), 0.3);
    cr_assert_eq(cp_num_clean(-0.1 - 0.2), -0.3);
    cr_assert_eq(cp_num_clean(1234567.89), 1234567.89);
    cr_assert_eq(cp_num_clean(0), 0);
    cr_assert_eq(cp_num_clean(1e300), 1e300);
    cr_assert_eq(cp_num_clean(123456789012345.0), 123456789012000.0);
}

Test(num, missing_labels_and_codes)
{
    cr_assert_str_eq(cp_missing_label(CP_MISSING_NC), "non communiqué");
    cr_assert_str_eq(cp_missing_label(CP_MISSING_SO), "sans objet");
    cr_assert_str_eq(cp_missing_label(CP_MISSING_NONE), "");
    cr_assert_str_eq(cp_missing_code(CP_MISSING_NC), "NC");
    cr_assert_str_eq(cp_missing_code(CP_MISSING_SO), "SO");
    cr_assert_null(cp_missing_code(CP_MISSING_NONE));
}

Test(num, arbitrary_bytes_never_overrun)
{
    /* Deterministic noise over the characters that matter; ASan watches. */
    static const char alphabet[] = "0123456789 .,'%-+eE#NC\xc2\xa0\xe2\x80\xaf\x88\x92\x82\xac";
    unsigned long x = 12345;
    char buf[40];

    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(i % (int)sizeof buf);
        struct cp_num n;
        for (size_t j = 0; j < len; j++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            buf[j] = alphabet[(x >> 33) % (sizeof alphabet - 1)];
        }
        cp_num_parse(buf, len, &n);
        cr_assert(n.status >= CP_NUM_VALUE && n.status <= CP_NUM_INVALID);
        if (n.status == CP_NUM_VALUE)
            cr_assert(isfinite(n.value));
    }
}

/* cp_num_cleaned must give exactly cp_num_clean(value), bit for bit,
 * whether or not it skips the rounding. */
static void cleaned_as_clean(const char *s)
{
    struct cp_num n = parse(s);
    double fast, slow;

    if (n.status != CP_NUM_VALUE)
        return;
    fast = cp_num_cleaned(&n);
    slow = cp_num_clean(n.value);
    cr_assert(memcmp(&fast, &slow, sizeof fast) == 0, "\"%s\": %a instead of %a (%d digits)", s,
              fast, slow, n.digits);
}

Test(num, significant_digits_of_the_text)
{
    cr_assert_eq(parse("0").digits, 0);
    cr_assert_eq(parse("0,000").digits, 0);
    cr_assert_eq(parse("1 200").digits, 2);
    cr_assert_eq(parse("0,0450").digits, 2);
    cr_assert_eq(parse("-1.234,5").digits, 5);
    cr_assert_eq(parse("45,5 %").digits, 3);
    cr_assert_eq(parse("1E-05").digits, 1);
    cr_assert_eq(parse("123456789012345").digits, 15);
    cr_assert_eq(parse("NC").digits, 0);
    cr_assert_eq(parse("abc").digits, 0);
    cr_assert_eq(parse("1e999").digits, 0);
}

Test(num, cleaned_skips_rounding_only_when_it_is_exact)
{
    static const char *const edge[] = {
        "0", "-0", "0,0", "1", "-1", "68,1", "83.7", "0.1", "0.2", "0.3", "0,45",
        "1 234 567,89", "999999999999", "999999999999.5", "9999999999995",
        "100000000000", "123456789012", "1234567890123", "123456789012345",
        "68.09999999999999", "68.099999999999994", "0.30000000000000004",
        "1.000000000005", "1.0000000000005", "1.00000000000049999",
        "2.5e-12", "1.00000000001", "0.000000000001", "1e23", "9.99999999999e22",
        "99999999999.95", "1e308", "1.7976931348623157e308", "1.79769313486e308",
        "2.2250738585072014e-308", "2.2250738585072e-308", "2.225073858507e-308",
        "2.22507385851e-308", "2.22507385850e-308", "2.2250738585e-308",
        "4.9e-324", "5e-324", "1e-310", "1.23456789012e-315", "1e-400", "123e-320",
        "0.5", "0.05", "12 %", "-45,5 %", "1E-05", "3.14159265358979", "2.71828182846",
        "4503599627370496", "4503599627370497", "9007199254740993", "1e15", "1e16",
    };
    unsigned long x = 42;
    char buf[64];

    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        cleaned_as_clean(edge[i]);

    /* Random decimals of 1 to 18 digits, point anywhere, exponents over
     * the whole range. */
    for (int i = 0; i < 200000; i++) {
        int nd, point, o = 0;

        x = x * 6364136223846793005UL + 1442695040888963407UL;
        nd = 1 + (int)((x >> 33) % 18);
        point = (int)((x >> 40) % (unsigned long)(nd + 1));
        if ((x >> 20) & 1)
            buf[o++] = '-';
        for (int d = 0; d < nd; d++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            if (d == point && d > 0)
                buf[o++] = ',';
            buf[o++] = (char)('0' + (x >> 33) % 10);
        }
        if (i % 4 == 0)
            o += snprintf(buf + o, sizeof buf - (size_t)o, "e%d",
                          (int)((x >> 45) % 640) - 330);
        buf[o] = '\0';
        cleaned_as_clean(buf);
    }
}
