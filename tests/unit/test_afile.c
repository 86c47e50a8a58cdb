/* Unit tests for common/afile.c: atomic outputs. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' || strstr(e->d_name, ".tmp."))
            n++;
    closedir(d);
    return n;
}

Test(afile, commit_renames_and_abort_leaves_nothing)
{
    char dir[] = "/tmp/calpae-afile-XXXXXX";
    char path[256];
    struct cp_afile a;
    struct cp_err err;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sub/dir/out.csv", dir);
    cr_assert_eq(cp_afile_open(&a, path, &err), 0);
    fputs("a;b\n", a.f);
    cr_assert_eq(access(path, F_OK), -1, "not visible before commit");
    cr_assert_eq(cp_afile_commit(&a, &err), 0);
    cr_assert(cp_file_same(path, "a;b\n", 4));
    cr_assert_not(cp_file_same(path, "a;c\n", 4));

    cr_assert_eq(cp_afile_open(&a, path, &err), 0);
    fputs("partial", a.f);
    cp_afile_abort(&a);
    cr_assert(cp_file_same(path, "a;b\n", 4), "old content intact");
    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub/dir", dir);
    cr_assert_eq(count_entries(sub), 1, "no temporary file left");
    unlink(path);
}
