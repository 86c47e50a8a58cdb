/* Unit tests for common/hash.c against known SHA-256 digests. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"

Test(hash, known_digests)
{
    char hex[CP_SHA256_HEX];
    cr_assert_eq(cp_sha256_buf("", 0, hex), 0);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cr_assert_eq(cp_sha256_buf("abc", 3, hex), 0);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(hash, file_digest_equals_buffer_digest_and_reports_size)
{
    char path[] = "/tmp/calpae-hash-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 100000; i++)
        fputs("0123456789", f);
    fclose(f);

    struct cp_sha256 h;
    char a[CP_SHA256_HEX], b[CP_SHA256_HEX];
    cr_assert_eq(cp_sha256_init(&h), 0);
    for (int i = 0; i < 100000; i++)
        cp_sha256_update(&h, "0123456789", 10);
    cr_assert_eq(cp_sha256_final(&h, a), 0);

    unsigned long long size = 0;
    struct cp_err err;
    cr_assert_eq(cp_sha256_file(path, b, &size, &err), 0);
    cr_assert_str_eq(a, b);
    cr_assert_eq(size, 1000000ULL);
    unlink(path);
}

Test(hash, missing_file_is_an_input_error)
{
    char hex[CP_SHA256_HEX];
    struct cp_err err;
    cp_err_clear(&err);
    cr_assert_eq(cp_sha256_file("/nonexistent/calpae", hex, NULL, &err), -1);
    cr_assert_str_eq(err.code, "io");
    cr_assert_eq(err.exit_status, CP_EX_NOINPUT);
}
