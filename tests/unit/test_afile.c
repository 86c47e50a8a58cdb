/* Unit tests for common/afile.c: atomic outputs. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static void touch(const char *dir, const char *name)
{
    char p[512];
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fputs("partial", f);
    fclose(f);
}

static int present(const char *dir, const char *name)
{
    char p[512];

    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

Test(afile, clean_stale_removes_only_dead_processes_temporaries)
{
    char dir[] = "/tmp/calpae-afile-XXXXXX";
    char dead[64], mine[64], live[64], cmd[128];
    pid_t pid;
    struct cp_err err;
    char *tmp;

    cr_assert_not_null(mkdtemp(dir));
    /* A process that has exited: its temporary is a leftover. */
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0)
        _exit(0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    snprintf(dead, sizeof dead, ".dossier.pdf.tmp.%ld.7", (long)pid);
    /* This process's id: a leftover of an earlier process with the same id. */
    snprintf(mine, sizeof mine, ".synthese.xlsx.tmp.%ld.1", (long)getpid());
    /* A running process (init): it may still be writing. */
    snprintf(live, sizeof live, ".donnees.csv.tmp.1.3");
    touch(dir, dead);
    touch(dir, mine);
    touch(dir, live);
    touch(dir, "dossier.pdf");
    touch(dir, ".cache");
    touch(dir, "notes.tmp.12.1");     /* not hidden: not ours */
    touch(dir, ".a.tmp.x.1");         /* no process id */

    cr_assert_eq(cp_afile_clean_stale(dir), 2);
    cr_assert_not(present(dir, dead));
    cr_assert_not(present(dir, mine));
    cr_assert(present(dir, live));
    cr_assert(present(dir, "dossier.pdf"));
    cr_assert(present(dir, ".cache"));
    cr_assert(present(dir, "notes.tmp.12.1"));
    cr_assert(present(dir, ".a.tmp.x.1"));
    /* The names it removes are those cp_afile_temp_path gives. */
    snprintf(cmd, sizeof cmd, "%s/x.csv", dir);
    tmp = cp_afile_temp_path(cmd, &err);
    cr_assert_not_null(tmp);
    touch(dir, strrchr(tmp, '/') + 1);
    cr_assert_eq(cp_afile_clean_stale(dir), 1);
    free(tmp);
    cr_assert_eq(cp_afile_clean_stale("/nonexistent/calpae"), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
