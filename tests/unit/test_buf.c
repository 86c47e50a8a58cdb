/* Unit tests for common/buf.c and common/err.c. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "ingest/reader.h"

Test(buf, grows_and_stays_terminated)
{
    struct cp_buf b = CP_BUF_INIT(1 << 20);
    cr_assert_str_eq(cp_buf_str(&b), "");
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(cp_buf_addf(&b, "%d,", i % 10), 0);
    cr_assert_eq(b.len, 2000);
    cr_assert_eq(b.data[b.len], '\0');
    cr_assert_eq(strncmp(cp_buf_str(&b), "0,1,2,", 6), 0);
    cp_buf_release(&b);
}

Test(buf, refuses_to_pass_its_cap)
{
    struct cp_buf b = CP_BUF_INIT(10);
    cr_assert_eq(cp_buf_adds(&b, "0123456789"), 0);
    cr_assert_eq(cp_buf_addc(&b, 'x'), -1);
    cr_assert_eq(cp_buf_addf(&b, "%s", "y"), -1);
    cr_assert_str_eq(cp_buf_str(&b), "0123456789");
    cp_buf_reset(&b);
    cr_assert_eq(cp_buf_adds(&b, "abc"), 0);
    char *s = cp_buf_detach(&b);
    cr_assert_str_eq(s, "abc");
    cr_assert_null(b.data);
    free(s);
}

Test(err, set_fills_every_field_and_returns_minus_one)
{
    struct cp_err e;
    cp_err_clear(&e);
    cr_assert_eq(cp_err_set(&e, CP_EX_DATAERR, "bad_encoding", "byte 146",
                            "octet 0x%02X invalide", 0x8F), -1);
    cr_assert_str_eq(e.code, "bad_encoding");
    cr_assert_str_eq(e.where, "byte 146");
    cr_assert_str_eq(e.msg, "octet 0x8F invalide");
    cr_assert_eq(e.exit_status, CP_EX_DATAERR);
    cp_err_prefix(&e, "%s : ", "f.csv");
    cr_assert_str_eq(e.msg, "f.csv : octet 0x8F invalide");
}

Test(reader, column_names_like_a_spreadsheet)
{
    char n[8];
    cp_col_name(0, n);   cr_assert_str_eq(n, "A");
    cp_col_name(25, n);  cr_assert_str_eq(n, "Z");
    cp_col_name(26, n);  cr_assert_str_eq(n, "AA");
    cp_col_name(39, n);  cr_assert_str_eq(n, "AN");
    cp_col_name(16383, n); cr_assert_str_eq(n, "XFD");
}
