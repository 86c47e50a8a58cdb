/* Unit tests for common/fmt.c: French number and date formats. */
#include <criterion/criterion.h>
#include <math.h>

#include "common/fmt.h"

#define NNBSP "\xE2\x80\xAF"
#define NBSP "\xC2\xA0"

Test(fmt, groups_thousands_with_narrow_no_break_space)
{
    char b[CP_FMT_MAX];
    cr_assert_str_eq(cp_fmt_int(1276, b, sizeof b), "1" NNBSP "276");
    cr_assert_str_eq(cp_fmt_int(999, b, sizeof b), "999");
    cr_assert_str_eq(cp_fmt_int(41042158, b, sizeof b), "41" NNBSP "042" NNBSP "158");
    cr_assert_str_eq(cp_fmt_int(-1234567, b, sizeof b), "-1" NNBSP "234" NNBSP "567");
    cr_assert_str_eq(cp_fmt_int(0, b, sizeof b), "0");
}

Test(fmt, decimal_comma_and_rounding)
{
    char b[CP_FMT_MAX];
    cr_assert_str_eq(cp_fmt_num(1234.5, 1, b, sizeof b), "1" NNBSP "234,5");
    cr_assert_str_eq(cp_fmt_num(53.324592, 1, b, sizeof b), "53,3");
    cr_assert_str_eq(cp_fmt_num(-0.04, 1, b, sizeof b), "0,0");
    cr_assert_str_eq(cp_fmt_num_trim(45.20, 2, b, sizeof b), "45,2");
    cr_assert_str_eq(cp_fmt_num_trim(45.0, 2, b, sizeof b), "45");
    cr_assert_str_eq(cp_fmt_num(NAN, 1, b, sizeof b), "");
}

Test(fmt, percent_and_dates)
{
    char b[CP_FMT_MAX];
    cr_assert_str_eq(cp_fmt_pct(45.2, b, sizeof b), "45,2" NBSP "%");
    cr_assert_str_eq(cp_fmt_date("2021-07-20T05:51:38", b, sizeof b), "20/07/2021");
    cr_assert_str_eq(cp_fmt_date("bad", b, sizeof b), "");
}
