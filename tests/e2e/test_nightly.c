/*
 * End-to-end tests of calpae-nightly as a real process: the lock, the
 * archive and quarantine of the sample inbox, a re-run that rewrites
 * nothing, and make install.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/e2e/helpers.h"

#define DAY "2026-01-15"
#define BAD "20210720-055138_CD09_2021S1.csv"

static char *tmp;

static void setup(void)
{
    tmp = t_tmpdir();
    cr_assert_not_null(tmp);
}

static void teardown(void)
{
    t_rmtree(tmp);
    free(tmp);
}

/* Runs calpae-nightly on tmp/{inbox,db,out} (archive: NULL for the
 * default beside the database); returns its exit status. */
static int run_nightly_archive(const char *archive)
{
    const char *bindir = getenv("CALPAE_BINDIR");
    char exe[4096], db[4096], inbox[4096], out[4096], data[4096], errf[4096];
    pid_t pid;
    int st;

    cr_assert_not_null(bindir, "CALPAE_BINDIR");
    snprintf(exe, sizeof exe, "%s/calpae-nightly", bindir);
    snprintf(db, sizeof db, "%s/db/calpae.db", tmp);
    snprintf(inbox, sizeof inbox, "%s/inbox", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(data, sizeof data, "%s", t_src("data"));
    snprintf(errf, sizeof errf, "%s/stderr.txt", tmp);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd >= 0)
            dup2(fd, 2);
        setenv("CALPAE_NOW", DAY "T03:00:00", 1);
        if (archive)
            execl(exe, exe, "-q", "--db", db, "--inbox", inbox, "--out", out, "--data", data,
                  "--archive", archive, (char *)NULL);
        else
            execl(exe, exe, "-q", "--db", db, "--inbox", inbox, "--out", out, "--data", data,
                  (char *)NULL);
        _exit(127);
    }
    cr_assert(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_nightly(void)
{
    return run_nightly_archive(NULL);
}

static void fill_inbox(void)
{
    char cmd[8192];

    snprintf(cmd, sizeof cmd, "mkdir -p '%s/inbox' && cp '%s'/* '%s/inbox/'", tmp,
             t_src("data/sample"), tmp);
    cr_assert_eq(system(cmd), 0);
}

static int exists(const char *rel)
{
    char p[4096];
    struct stat sb;

    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    return stat(p, &sb) == 0;
}

static size_t count_dir(const char *rel)
{
    char p[4096];
    DIR *d;
    struct dirent *e;
    size_t n = 0;

    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    d = opendir(p);
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Every file under dir with its mtime, one line each, sorted. */
static char *mtimes(const char *rel)
{
    char cmd[8192], *buf = calloc(1, 1 << 20);
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof cmd, "cd '%s/%s' && find . -type f -printf '%%p %%T@\\n' | sort", tmp,
             rel);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    n = fread(buf, 1, (1 << 20) - 1, p);
    buf[n] = '\0';
    cr_assert_eq(pclose(p), 0);
    return buf;
}

Test(nightly, second_run_while_locked_exits_75, .init = setup, .fini = teardown, .timeout = 120)
{
    char lock[4096], err[4096];
    FILE *f;
    int fd;

    snprintf(lock, sizeof lock, "%s/db", tmp);
    cr_assert_eq(mkdir(lock, 0755), 0);
    cr_assert_eq(mkdir(strcat(strcpy(err, tmp), "/inbox"), 0755), 0);
    snprintf(lock, sizeof lock, "%s/db/calpae.db.lock", tmp);
    fd = open(lock, O_RDWR | O_CREAT, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    cr_assert_eq(run_nightly(), 75);
    snprintf(err, sizeof err, "%s/stderr.txt", tmp);
    f = fopen(err, "r");
    cr_assert_not_null(f);
    {
        char line[2048] = "";

        cr_assert_not_null(fgets(line, sizeof line, f));
        cr_assert(strstr(line, "une autre exécution") != NULL, "stderr : %s", line);
    }
    fclose(f);
    /* A lock held by a process that died is released with it. */
    close(fd);
    cr_assert_eq(run_nightly(), 0);
}

Test(nightly, sample_inbox_archived_quarantined_and_rerun_rewrites_nothing, .init = setup,
     .fini = teardown, .timeout = 300)
{
    char *before, *after;

    fill_inbox();
    cr_assert_eq(run_nightly(), 0);

    /* Only reception.csv stays in the inbox. */
    cr_assert_eq(count_dir("inbox"), 1);
    cr_assert(exists("inbox/reception.csv"));
    cr_assert(!exists("inbox/" BAD));
    /* 16 files: 15 archived, the unreadable one quarantined with its report. */
    cr_assert_eq(count_dir("db/archive/" DAY), 15);
    cr_assert(exists("db/archive/" DAY "/20220724-094558_Indicateurs Haute-Garonne - 2022S1.csv"));
    cr_assert(!exists("db/archive/" DAY "/" BAD));
    cr_assert(exists("db/quarantaine/" BAD));
    cr_assert(exists("db/quarantaine/" BAD ".rapport.txt"));
    cr_assert(exists("out/76/2022/dossier.pdf"));
    cr_assert(exists("db/calpae-nightly.log"));

    /* Nothing new: every output keeps its modification time. */
    before = mtimes("out");
    cr_assert(strlen(before) > 0);
    if (run_nightly() != 0) {
        free(before);
        cr_assert_fail("second run failed");
    }
    after = mtimes("out");
    cr_assert_str_eq(after, before);
    free(after);

    /* A file already read, dropped again: moved to the archive under a new name. */
    {
        char cmd[8192];

        snprintf(cmd, sizeof cmd, "cp '%s/data/sample/20220724-094558_Indicateurs Haute-Garonne"
                 " - 2022S1.csv' '%s/inbox/'", t_srcdir(), tmp);
        cr_assert_eq(system(cmd), 0);
    }
    cr_assert_eq(run_nightly(), 0);
    cr_assert_eq(count_dir("inbox"), 1);
    cr_assert(exists("db/archive/" DAY "/20220724-094558_Indicateurs Haute-Garonne - 2022S1-1.csv"));
    after = mtimes("out");
    cr_assert_str_eq(after, before);
    free(after);
    free(before);
}

Test(nightly, make_install_destdir_prefix, .init = setup, .fini = teardown, .timeout = 600)
{
    char cmd[8192];

    snprintf(cmd, sizeof cmd, "sh '%s/tests/cases/install.sh' '%s' '%s' > '%s/install.log' 2>&1",
             t_srcdir(), t_srcdir(), tmp, tmp);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "cat '%s/install.log' >&2", tmp);
        (void)system(cmd);
        cr_assert_fail("make install or man failed");
    }
}

/* An archive on another file system: rename fails with EXDEV and each file
 * is copied (through a hidden temporary in the archive folder), then
 * removed from the inbox; a half-made copy left by a killed run is removed. */
Test(nightly, archive_on_another_file_system_is_copied, .init = setup, .fini = teardown,
     .timeout = 300)
{
    char shm[] = "/dev/shm/calpae-test-XXXXXX";
    char check[8192], stale[4096];
    struct stat a, b;
    FILE *f;
    int st, rc;

    if (stat(tmp, &a) < 0 || stat("/dev/shm", &b) < 0 || a.st_dev == b.st_dev ||
        !mkdtemp(shm)) {
        cr_skip("no writable file system other than that of %s (/dev/shm): the copy fallback"
                " is not exercised", tmp);
        return;
    }
    fill_inbox();
    snprintf(stale, sizeof stale, "%s/.x.csv.tmp.999999999.1", shm);
    f = fopen(stale, "w");
    cr_assert_not_null(f);
    fputs("partial", f);
    fclose(f);
    st = run_nightly_archive(shm);
    /* Every readable sample file archived with its bytes, nothing else in
     * the day's folder or the archive, the inbox emptied, the unreadable
     * file in the quarantine only. */
    snprintf(check, sizeof check,
             "cd '%s' && for f in *; do [ \"$f\" = reception.csv ] || [ \"$f\" = '" BAD "' ]"
             " || cmp -s \"$f\" '%s/" DAY "/'\"$f\" || exit 1; done"
             " && [ $(ls -A '%s/" DAY "' | wc -l) -eq 15 ] && [ ! -e '%s/" DAY "/" BAD "' ]"
             " && [ $(ls -A '%s' | wc -l) -eq 1 ] && [ ! -e '%s' ]"
             " && [ $(ls -A '%s/inbox' | wc -l) -eq 1 ] && [ -e '%s/db/quarantaine/" BAD "' ]",
             t_src("data/sample"), shm, shm, shm, shm, stale, tmp, tmp);
    rc = system(check);
    snprintf(stale, sizeof stale, "rm -rf '%s'", shm);
    cr_assert_eq(system(stale), 0);
    cr_assert_eq(st, 0, "calpae-nightly exited with %d", st);
    cr_assert_eq(rc, 0, "archive, inbox or quarantine not as expected: %s", check);
}
