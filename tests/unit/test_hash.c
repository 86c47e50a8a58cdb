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

/* The head: the first bytes of the file, as many as asked or the whole of
 * a shorter file, with the same digest. */
Test(hash, file_digest_with_its_first_bytes)
{
    char path[] = "/tmp/calpae-hash-XXXXXX";
    char hex[CP_SHA256_HEX], ref[CP_SHA256_HEX];
    unsigned char head[64];
    unsigned long long size = 0;
    size_t n = 99;
    struct cp_err err;
    int fd = mkstemp(path);
    FILE *f;

    cr_assert_geq(fd, 0);
    f = fdopen(fd, "w");
    for (int i = 0; i < 100000; i++)
        fputs("0123456789", f);
    fclose(f);
    cr_assert_eq(cp_sha256_file(path, ref, NULL, &err), 0);
    cr_assert_eq(cp_sha256_file_head(path, hex, &size, head, sizeof head, &n, &err), 0);
    cr_assert_str_eq(hex, ref);
    cr_assert_eq(size, 1000000ULL);
    cr_assert_eq(n, sizeof head);
    cr_assert_eq(memcmp(head, "0123456789012345678901234567890123456789012345678901234567890123",
                        64), 0);

    f = fopen(path, "w");
    fputs("abc", f);
    fclose(f);
    cr_assert_eq(cp_sha256_file_head(path, hex, &size, head, sizeof head, &n, &err), 0);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(head, "abc", 3), 0);

    f = fopen(path, "w");
    fclose(f);
    cr_assert_eq(cp_sha256_file_head(path, hex, &size, head, sizeof head, &n, &err), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(size, 0);
    unlink(path);
}
