/* Test helpers for reference data (see refdata.h). */
#include "tests/unit/refdata.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const files[] = {
    "catalog.csv", "signataires.csv", "regions.csv", "departements.csv",
    "alias.csv",   "recentralisation.csv", NULL,
};

const char *refdata_dir(void)
{
    static char dir[1024];
    const char *src = getenv("CALPAE_SRCDIR");

    cr_assert(src && *src, "CALPAE_SRCDIR must name the source tree");
    snprintf(dir, sizeof dir, "%s/data", src);
    return dir;
}

void refdata_load(struct cp_ref *ref)
{
    struct cp_err err;

    cp_err_clear(&err);
    cr_assert_eq(cp_ref_load(ref, refdata_dir(), &err), 0, "cp_ref_load: %s", err.msg);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    cr_assert_geq(n, 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    cr_assert_eq(fclose(f), 0);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

void refdata_copy(char *dir, size_t dirsz)
{
    char from[1200], to[1200];

    cr_assert_geq(dirsz, 64);
    snprintf(dir, dirsz, "/tmp/calpae-ref-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    for (int i = 0; files[i]; i++) {
        size_t len;
        char *data;
        snprintf(from, sizeof from, "%s/%s", refdata_dir(), files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        data = read_all(from, &len);
        write_all(to, data, len);
        free(data);
    }
}

void refdata_replace(const char *dir, const char *name, const char *old, const char *new_text)
{
    char path[1200];
    size_t len, ol = strlen(old), nl = strlen(new_text);
    char *data, *at, *out;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    data = read_all(path, &len);
    at = strstr(data, old);
    cr_assert_not_null(at, "\"%s\" not found in %s", old, name);
    out = malloc(len - ol + nl + 1);
    cr_assert_not_null(out);
    memcpy(out, data, (size_t)(at - data));
    memcpy(out + (at - data), new_text, nl);
    memcpy(out + (at - data) + nl, at + ol, len - (size_t)(at - data) - ol);
    write_all(path, out, len - ol + nl);
    free(out);
    free(data);
}

void refdata_write(const char *dir, const char *name, const char *text)
{
    char path[1200];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_all(path, text, strlen(text));
}

void refdata_remove(const char *dir)
{
    char path[1200];

    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}
