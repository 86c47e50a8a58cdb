/*
 * Crash safety (issue #5): each stage, run as the real sanitized process
 * on the sample inbox, is killed with SIGKILL at many moments, then run
 * again to the end; the result must be that of a clean run.
 *
 * Kill points: for ingest, after each file's commit (the test-only crash
 * point of common/crash.h, so every file boundary is hit exactly) and at
 * timed moments spread over a clean run's duration; for consolidate,
 * render and nightly, timed moments (nightly also at crash points). The
 * delays are fixed fractions of the measured clean duration, so the
 * sequence is the same on every run, though where a delay lands depends
 * on the machine's load: every check holds wherever it lands.
 *
 * After each kill: the database passes PRAGMA integrity_check and
 * foreign_key_check, and no output file under its final name is partial
 * (a PDF ends with %%EOF, a workbook is a consistent zip, a PNG ends with
 * IEND, an archived or quarantined file has its source's bytes…). After
 * the re-run: the database content equals the clean run's, the outputs
 * are the same files with the same bytes, and no temporary is left.
 *
 * Database comparison: every table (not only the documented views),
 * every column. No column is excluded, for two reasons that the test
 * relies on: the wall-clock columns (fichier.ingere_le, rendu.rendu_le,
 * meta consolide_le) come from cp_db_now, pinned by CALPAE_NOW as the
 * other e2e tests do; ids are INTEGER PRIMARY KEY without AUTOINCREMENT,
 * so a rolled-back insert consumes none and a re-run gives the rows the
 * ids a clean run gives (a kill that duplicated, lost or reordered a
 * row would show there too). Only output bytes that hold the wall clock
 * are masked: cairo stamps /CreationDate in the chart PDFs.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "tests/e2e/helpers.h"

#define NOW "2026-01-15T03:00:00"
#define DAY "2026-01-15"
#define NFILES 16 /* files of data/sample, reception.csv aside */
#define BAD "20210720-055138_CD09_2021S1.csv" /* unreadable: quarantined */
#define KILLED (128 + SIGKILL)

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

static char *path_in(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path_in(const char *fmt, ...)
{
    char rel[1024], *p;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    cr_assert(asprintf(&p, "%s/%s", tmp, rel) > 0);
    return p;
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* tmp/inbox: a fresh copy of the sample inbox (always the same path, which
 * the database records). */
static void fill_inbox(void)
{
    sh("rm -rf '%s/inbox' && mkdir '%s/inbox' && cp '%s'/* '%s/inbox/'", tmp, tmp,
       t_src("data/sample"), tmp);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- processes --------------------------------------------------------------- */

/* Starts the sanitized executable argv[0] with its output in tmp/run.log,
 * the clock pinned, TMPDIR in tmp (render's gnuplot folder) and crash as
 * $CALPAE_CRASH_AT (NULL: none). */
static pid_t start(const char *crash, char *const argv[])
{
    const char *bindir = getenv("CALPAE_BINDIR");
    char exe[4096], logf[4096];
    pid_t pid;

    cr_assert_not_null(bindir, "CALPAE_BINDIR");
    snprintf(exe, sizeof exe, "%s/%s", bindir, argv[0]);
    snprintf(logf, sizeof logf, "%s/run.log", tmp);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("CALPAE_NOW", NOW, 1);
        setenv("TMPDIR", tmp, 1);
        if (crash)
            setenv("CALPAE_CRASH_AT", crash, 1);
        else
            unsetenv("CALPAE_CRASH_AT");
        execv(exe, argv);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid)
{
    int st;

    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run(const char *crash, char *const argv[])
{
    return wait_status(start(crash, argv));
}

/* Runs argv and SIGKILLs it after delay seconds (if it is still running:
 * an exited child stays a zombie until waited for, so its pid cannot have
 * been reused). Returns its status, KILLED when the kill landed. */
static int run_killed(double delay, char *const argv[])
{
    pid_t pid = start(NULL, argv);
    struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    kill(pid, SIGKILL);
    return wait_status(pid);
}

/* The pid of a process that has exited (for a leftover's name). */
static long dead_pid(void)
{
    pid_t pid = fork();

    cr_assert(pid >= 0);
    if (pid == 0)
        _exit(0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    return (long)pid;
}

/* ---- the database ------------------------------------------------------------ */

static int exists(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0;
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;

    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK,
                 "open %s: %s", path, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 10000);
    return db;
}

/* integrity_check and foreign_key_check, on the database as a kill left
 * it (a missing file: killed before it was created). */
static void check_integrity(const char *path, const char *when)
{
    sqlite3 *db;
    char *ok;

    if (!exists(path))
        return;
    db = open_db(path);
    ok = t_sql_text(db, "PRAGMA integrity_check");
    cr_assert_not_null(ok, "%s: integrity_check", when);
    cr_assert_str_eq(ok, "ok", "%s: integrity_check: %s", when, ok);
    free(ok);
    cr_assert_eq(t_sql_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0,
                 "%s: foreign_key_check", when);
    sqlite3_close(db);
}

/* Number of rows of table, 0 when the database or the table is missing. */
static long long count_rows(const char *path, const char *table)
{
    sqlite3 *db;
    char sql[256];
    long long n = 0;

    if (!exists(path))
        return 0;
    db = open_db(path);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE name = '%s'", table);
    if (t_sql_int(db, sql) == 1) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
        n = t_sql_int(db, sql);
    }
    sqlite3_close(db);
    return n;
}

/* Folds the WAL into the database file, so that the file alone is a copy. */
static void checkpoint(const char *path)
{
    sqlite3 *db = open_db(path);

    cr_assert_eq(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
}

/* Asserts a == b, naming the first line that differs. */
static void same_text(const char *a, const char *b, const char *when)
{
    size_t i = 0, line = 1, start = 0;

    if (strcmp(a, b) == 0)
        return;
    while (a[i] && a[i] == b[i]) {
        if (a[i] == '\n') {
            line++;
            start = i + 1;
        }
        i++;
    }
    cr_assert_fail("%s: differs from the clean run at line %zu:\n  clean : %.300s\n  here  : %.300s",
                   when, line, b + start, a + start);
}

static void same_db(const char *path, const char *ref, const char *when)
{
    char *d = t_db_dump(path);

    same_text(d, ref, when);
    free(d);
}

/* ---- files ------------------------------------------------------------------- */

struct flist {
    char **v;
    size_t n, cap;
};

static struct flist *walk_into;
static size_t walk_root;

static int walk_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    if (walk_into->n == walk_into->cap) {
        walk_into->cap = walk_into->cap ? walk_into->cap * 2 : 64;
        walk_into->v = realloc(walk_into->v, walk_into->cap * sizeof *walk_into->v);
    }
    walk_into->v[walk_into->n++] = strdup(p + walk_root + 1);
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under dir, relative, sorted (none when dir is missing). */
static void list_files(const char *dir, struct flist *fl)
{
    memset(fl, 0, sizeof *fl);
    walk_into = fl;
    walk_root = strlen(dir);
    if (exists(dir))
        nftw(dir, walk_one, 16, FTW_PHYS);
    if (fl->n)
        qsort(fl->v, fl->n, sizeof *fl->v, str_cmp);
}

static void flist_free(struct flist *fl)
{
    for (size_t i = 0; i < fl->n; i++)
        free(fl->v[i]);
    free(fl->v);
}

/* A temporary of common/afile.c: ".name.tmp.PID.N". */
static int is_temp(const char *rel)
{
    const char *base = strrchr(rel, '/');

    base = base ? base + 1 : rel;
    return base[0] == '.' && strstr(base, ".tmp.") != NULL;
}

static int ends_with(const char *s, size_t n, const char *tail)
{
    size_t m = strlen(tail);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    return n >= m && memcmp(s + n - m, tail, m) == 0;
}

/* Asserts that the file under a final name is whole, from what its kind
 * must end with. */
static void check_whole(const char *dir, const char *rel, const char *when)
{
    char path[4096];
    const char *dot = strrchr(rel, '.');
    size_t n;
    char *b;

    snprintf(path, sizeof path, "%s/%s", dir, rel);
    b = t_slurp(path, &n);
    cr_assert(n > 0, "%s: %s is empty", when, rel);
    if (dot && strcmp(dot, ".pdf") == 0) {
        cr_assert(n > 5 && memcmp(b, "%PDF-", 5) == 0 && ends_with(b, n, "%%EOF"),
                  "%s: %s is not a whole PDF", when, rel);
    } else if (dot && strcmp(dot, ".png") == 0) {
        cr_assert(n > 12 && memcmp(b, "\x89PNG", 4) == 0 &&
                      memcmp(b + n - 8, "IEND\xAE\x42\x60\x82", 8) == 0,
                  "%s: %s is not a whole PNG", when, rel);
    } else if (dot && strcmp(dot, ".svg") == 0) {
        cr_assert(ends_with(b, n, "</svg>"), "%s: %s is not a whole SVG", when, rel);
    } else if (dot && strcmp(dot, ".xlsx") == 0) {
        int e = 0;
        zip_t *z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &e);

        cr_assert_not_null(z, "%s: %s is not a whole zip (%d)", when, rel, e);
        cr_assert(zip_name_locate(z, "[Content_Types].xml", 0) >= 0, "%s: %s", when, rel);
        zip_discard(z);
    } else if (strstr(rel, "rollup-")) {
        const char *last = n > 1 ? memrchr(b, '\n', n - 1) : NULL;

        cr_assert(last && strncmp(last + 1, "#sha256;", 8) == 0 && b[n - 1] == '\n',
                  "%s: %s has no checksum line", when, rel);
    } else {
        cr_assert_eq(b[n - 1], '\n', "%s: %s does not end with a line end", when, rel);
    }
    free(b);
}

/* Blanks the wall-clock dates cairo writes into a PDF. */
static void mask_dates(char *b, size_t n)
{
    static const char *const keys[] = {"/CreationDate (D:", "/ModDate (D:"};

    for (size_t k = 0; k < 2; k++) {
        size_t m = strlen(keys[k]);

        for (size_t i = 0; i + m < n; i++) {
            if (memcmp(b + i, keys[k], m) != 0)
                continue;
            for (i += m; i < n && b[i] != ')'; i++)
                b[i] = 'X';
        }
    }
}

/* Asserts that dir holds exactly the files of ref (relative names), with
 * the same bytes, and no temporary. */
static void same_files(const char *dir, const char *ref, const char *when)
{
    struct flist a, b;

    list_files(dir, &a);
    list_files(ref, &b);
    for (size_t i = 0; i < a.n; i++)
        cr_assert_not(is_temp(a.v[i]), "%s: temporary left: %s", when, a.v[i]);
    cr_assert_eq(a.n, b.n, "%s: %zu files, the clean run has %zu", when, a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        char pa[4096], pb[4096];
        size_t na, nb;
        char *xa, *xb;

        cr_assert_str_eq(a.v[i], b.v[i], "%s: file list differs", when);
        snprintf(pa, sizeof pa, "%s/%s", dir, a.v[i]);
        snprintf(pb, sizeof pb, "%s/%s", ref, b.v[i]);
        xa = t_slurp(pa, &na);
        xb = t_slurp(pb, &nb);
        mask_dates(xa, na);
        mask_dates(xb, nb);
        cr_assert(na == nb && memcmp(xa, xb, na) == 0, "%s: %s differs from the clean run",
                  when, a.v[i]);
        free(xa);
        free(xb);
    }
    flist_free(&a);
    flist_free(&b);
}

/* After a kill: every file under a final name in dir is whole; returns
 * how many temporaries the kill left. */
static size_t check_outputs(const char *dir, const char *when)
{
    struct flist a;
    size_t temps = 0;

    list_files(dir, &a);
    for (size_t i = 0; i < a.n; i++) {
        if (is_temp(a.v[i]))
            temps++;
        else
            check_whole(dir, a.v[i], when);
    }
    flist_free(&a);
    return temps;
}

/* The quarantine: the unreadable file with its source's bytes and its
 * whole report, and nothing else. final: also no temporary. */
static void check_quarantine(const char *qdir, int final, const char *when)
{
    struct flist a;
    char p[4096];

    list_files(qdir, &a);
    for (size_t i = 0; i < a.n; i++) {
        size_t n;
        char *b;

        if (is_temp(a.v[i])) {
            cr_assert_not(final, "%s: temporary left in the quarantine: %s", when, a.v[i]);
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", qdir, a.v[i]);
        b = t_slurp(p, &n);
        if (strcmp(a.v[i], BAD) == 0) {
            size_t m;
            char *src = t_slurp(t_src("data/sample/" BAD), &m);

            cr_assert(n == m && memcmp(b, src, n) == 0, "%s: partial quarantine copy", when);
            free(src);
        } else {
            cr_assert_str_eq(a.v[i], BAD ".rapport.txt", "%s: unexpected %s", when, a.v[i]);
            cr_assert(ends_with(b, n, "l'emporte."), "%s: partial report", when);
        }
        free(b);
    }
    if (final)
        cr_assert_eq(a.n, 2, "%s: the quarantine holds %zu files", when, a.n);
    flist_free(&a);
}

/* ---- ingest ------------------------------------------------------------------ */

#define INGEST_ARGV(db)                                                                  \
    (char *[]){"calpae-ingest", "--quiet", "--data", data, "--db", (db), inbox, NULL}

/* The re-run after a kill goes to the end. Its status is that of the files
 * it read itself: 65 when one of them had rejections, 0 when those were all
 * committed before the kill (an uninterrupted second run also gives 0). */
static void rerun_ingest(char *data, char *inbox, char *db, const char *when)
{
    int st = run(NULL, INGEST_ARGV(db));

    cr_assert(st == 0 || st == 65, "%s: re-run status %d", when, st);
}

Test(crash, ingest_killed_after_each_file_and_at_timed_moments, .init = setup,
     .fini = teardown, .timeout = 300)
{
    enum { TIMED = 12 };
    char data[4096], inbox[4096], when[128];
    char *snap[NFILES + 1] = {NULL};
    char *db, *qdir, *ref;
    double t0, dur;
    int killed = 0, mid = 0;

    snprintf(data, sizeof data, "%s", t_src("data"));
    snprintf(inbox, sizeof inbox, "%s/inbox", tmp);
    fill_inbox();

    /* The clean run. */
    db = path_in("clean/calpae.db");
    sh("mkdir -p '%s/clean'", tmp);
    t0 = now_s();
    cr_assert_eq(run(NULL, INGEST_ARGV(db)), 65);
    dur = now_s() - t0;
    ref = t_db_dump(db);
    qdir = path_in("clean/quarantaine");
    check_quarantine(qdir, 1, "clean run");
    free(qdir);
    free(db);
    snap[NFILES] = ref;

    /* Killed right after the commit of file n, for every n. */
    for (int n = 1; n <= NFILES; n++) {
        char crash[32];

        snprintf(when, sizeof when, "killed after file %d", n);
        snprintf(crash, sizeof crash, "ingest-commit:%d", n);
        sh("mkdir -p '%s/c%d'", tmp, n);
        db = path_in("c%d/calpae.db", n);
        qdir = path_in("c%d/quarantaine", n);
        cr_assert_eq(run(crash, INGEST_ARGV(db)), KILLED, "%s", when);
        check_integrity(db, when);
        cr_assert_eq(count_rows(db, "fichier"), n, "%s", when);
        /* The unreadable file is the first received: quarantined before its commit. */
        check_quarantine(qdir, 1, when);
        if (n < NFILES)
            snap[n] = t_db_dump(db);
        rerun_ingest(data, inbox, db, when);
        same_db(db, ref, when);
        check_quarantine(qdir, 1, when);
        free(db);
        free(qdir);
    }

    /* Killed at timed moments: the database then holds whole files only
     * (it equals the state after the same number of files above). */
    for (int i = 0; i < TIMED; i++) {
        double delay = dur * (i + 0.5) / TIMED;
        long long k;
        int st;

        snprintf(when, sizeof when, "killed after %.0f ms", delay * 1e3);
        sh("mkdir -p '%s/t%d'", tmp, i);
        db = path_in("t%d/calpae.db", i);
        qdir = path_in("t%d/quarantaine", i);
        st = run_killed(delay, INGEST_ARGV(db));
        cr_assert(st == KILLED || st == 65, "%s: status %d", when, st);
        killed += st == KILLED;
        check_integrity(db, when);
        check_quarantine(qdir, 0, when);
        k = count_rows(db, "fichier");
        if (k > 0) {
            same_db(db, snap[k], when);
            mid += k < NFILES;
        }
        rerun_ingest(data, inbox, db, when);
        same_db(db, ref, when);
        check_quarantine(qdir, 1, when);
        free(db);
        free(qdir);
    }
    cr_log_info("ingest: clean run %.0f ms; %d of %d timed kills landed, %d between two files",
                dur * 1e3, killed, TIMED, mid);
    for (int n = 1; n <= NFILES; n++)
        free(snap[n]);
}

/* ---- consolidate --------------------------------------------------------------- */

/* tmp/base/calpae.db: the sample inbox ingested (and consolidated when
 * asked), checkpointed so that the file alone can be copied. */
static char *make_base(int consolidated)
{
    char data[4096], inbox[4096];
    char *db = path_in("base/calpae.db");

    snprintf(data, sizeof data, "%s", t_src("data"));
    snprintf(inbox, sizeof inbox, "%s/inbox", tmp);
    fill_inbox();
    sh("mkdir -p '%s/base'", tmp);
    cr_assert_eq(run(NULL, INGEST_ARGV(db)), 65);
    if (consolidated)
        cr_assert_eq(run(NULL, (char *[]){"calpae-consolidate", "--quiet", "--data", data,
                                          "--db", db, NULL}),
                     0);
    checkpoint(db);
    return db;
}

Test(crash, consolidate_killed_at_timed_moments_is_all_or_nothing, .init = setup,
     .fini = teardown, .timeout = 300)
{
    enum { TIMED = 10 };
    char data[4096], when[128];
    char *base = make_base(0), *before = t_db_dump(base), *ref, *db;
    double t0, dur;
    int killed = 0, done = 0;

    snprintf(data, sizeof data, "%s", t_src("data"));
#define CONSOLIDATE_ARGV(db) (char *[]){"calpae-consolidate", "--quiet", "--data", data, "--db", (db), NULL}
    sh("mkdir -p '%s/clean' && cp '%s' '%s/clean/'", tmp, base, tmp);
    db = path_in("clean/calpae.db");
    t0 = now_s();
    cr_assert_eq(run(NULL, CONSOLIDATE_ARGV(db)), 0);
    dur = now_s() - t0;
    ref = t_db_dump(db);
    free(db);
    cr_assert(strcmp(ref, before) != 0);

    for (int i = 0; i < TIMED; i++) {
        double delay = dur * (i + 0.5) / TIMED;
        char *d;
        int st;

        snprintf(when, sizeof when, "consolidate killed after %.0f ms", delay * 1e3);
        sh("mkdir -p '%s/t%d' && cp '%s' '%s/t%d/'", tmp, i, base, tmp, i);
        db = path_in("t%d/calpae.db", i);
        st = run_killed(delay, CONSOLIDATE_ARGV(db));
        cr_assert(st == KILLED || st == 0, "%s: status %d", when, st);
        killed += st == KILLED;
        check_integrity(db, when);
        /* One transaction: nothing of it, or all of it. */
        d = t_db_dump(db);
        if (strcmp(d, ref) == 0)
            done++;
        else
            same_text(d, before, when);
        free(d);
        cr_assert_eq(run(NULL, CONSOLIDATE_ARGV(db)), 0, "%s: re-run", when);
        same_db(db, ref, when);
        free(db);
    }
#undef CONSOLIDATE_ARGV
    cr_log_info("consolidate: clean run %.0f ms; %d of %d timed kills landed, %d after the commit",
                dur * 1e3, killed, TIMED, done);
    free(ref);
    free(before);
    free(base);
}

/* ---- render ---------------------------------------------------------------------- */

/* Render's private gnuplot folders (TMPDIR is tmp) that are left: a killed
 * run's is removed by the next run. */
static size_t plot_dirs(void)
{
    struct dirent *e;
    DIR *d = opendir(tmp);
    size_t n = 0;

    cr_assert_not_null(d);
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "calpae-plot-", 12) == 0;
    closedir(d);
    return n;
}

/* Leftovers of a killed process beside the outputs of the sample's région. */
static void plant_leftovers(const char *out)
{
    long pid = dead_pid();

    sh("cd '%s/76/2022' && echo partial > '.dossier.pdf.tmp.%ld.1'"
       " && echo partial > 'graphiques/.FIN_BUDGET-signataires.png.tmp.%ld.2'"
       " && echo partial > 'retours/.31D.xlsx.tmp.%ld.3'",
       out, pid, pid, pid);
}

Test(crash, render_killed_at_timed_moments, .init = setup, .fini = teardown, .timeout = 300)
{
    enum { TIMED = 5 };
    char when[128];
    char *base = make_base(1), *db, *out, *refout, *ref;
    double t0, dur;
    int killed = 0;
    size_t temps = 0, plots = 0;

#define RENDER_ARGV(db, out) (char *[]){"calpae-render", "--quiet", "--db", (db), "--out", (out), NULL}
    sh("mkdir -p '%s/clean' && cp '%s' '%s/clean/'", tmp, base, tmp);
    db = path_in("clean/calpae.db");
    refout = path_in("clean/out");
    t0 = now_s();
    cr_assert_eq(run(NULL, RENDER_ARGV(db, refout)), 0);
    dur = now_s() - t0;
    ref = t_db_dump(db);
    cr_assert_eq(check_outputs(refout, "clean run"), 0);

    /* Leftovers of a killed run are removed by the next, even one with
     * nothing to render; the outputs stay as they are. */
    sh("cp -a '%s' '%s/clean/out.before'", refout, tmp);
    plant_leftovers(refout);
    {
        long pid = dead_pid();

        /* A gnuplot folder of a run killed after its last région was
         * recorded: this re-run draws nothing, and removes it all the same. */
        sh("mkdir '%s/calpae-plot-%ld-Ab12Cd' && echo 1 > '%s/calpae-plot-%ld-Ab12Cd/c1.tsv'",
           tmp, pid, tmp, pid);
    }
    cr_assert_eq(run(NULL, RENDER_ARGV(db, refout)), 0);
    cr_assert_eq(plot_dirs(), 0, "unchanged re-run: a killed run's gnuplot folder left");
    {
        char *before = path_in("clean/out.before");

        same_files(refout, before, "unchanged re-run after leftovers");
        free(before);
    }
    same_db(db, ref, "unchanged re-run");
    free(db);

    for (int i = 0; i < TIMED; i++) {
        double delay = dur * (i + 0.5) / TIMED;
        int st;

        snprintf(when, sizeof when, "render killed after %.0f ms", delay * 1e3);
        sh("mkdir -p '%s/t%d' && cp '%s' '%s/t%d/'", tmp, i, base, tmp, i);
        db = path_in("t%d/calpae.db", i);
        out = path_in("t%d/out", i);
        st = run_killed(delay, RENDER_ARGV(db, out));
        cr_assert(st == KILLED || st == 0, "%s: status %d", when, st);
        killed += st == KILLED;
        check_integrity(db, when);
        temps += check_outputs(out, when);
        if (exists(out) && i % 2 == 0) {
            char dir[4096];

            snprintf(dir, sizeof dir, "%s/76/2022/retours", out);
            if (exists(dir))
                plant_leftovers(out);
        }
        plots += plot_dirs();
        cr_assert_eq(run(NULL, RENDER_ARGV(db, out)), 0, "%s: re-run", when);
        cr_assert_eq(plot_dirs(), 0, "%s: gnuplot folder left", when);
        same_files(out, refout, when);
        same_db(db, ref, when);
        free(db);
        free(out);
    }
#undef RENDER_ARGV
    cr_log_info("render: clean run %.0f ms; %d of %d timed kills landed, %zu temporaries and"
                " %zu gnuplot folders left by the kills (removed by the re-runs)",
                dur * 1e3, killed, TIMED, temps, plots);
    free(ref);
    free(refout);
    free(base);
}

/* ---- nightly --------------------------------------------------------------------- */

static char *shm; /* an archive on another file system, when there is one */

static void teardown_shm(void)
{
    if (shm && strncmp(shm, "/dev/shm/calpae-test-", 21) == 0) {
        char cmd[4200];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", shm);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", shm);
    }
    free(shm);
    shm = NULL;
    teardown();
}

/* A folder on /dev/shm when it is another file system than tmp's (then
 * archiving takes the copy fallback), else NULL. */
static char *other_fs_dir(void)
{
    struct stat a, b;
    char *d;

    if (stat(tmp, &a) < 0 || stat("/dev/shm", &b) < 0 || a.st_dev == b.st_dev)
        return NULL;
    d = strdup("/dev/shm/calpae-test-XXXXXX");
    if (!mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

/* The sample file an archived name comes from: "nom.csv" or "nom-N.csv"
 * (a file archived again after a kill between its copy and its removal
 * from the inbox). NULL when none. */
static char *archived_source(const char *name)
{
    char *src, *dash;
    const char *dot;

    cr_assert(asprintf(&src, "%s/%s", t_src("data/sample"), name) > 0);
    if (exists(src))
        return src;
    free(src);
    dot = strrchr(name, '.');
    dash = dot ? memrchr(name, '-', (size_t)(dot - name)) : NULL;
    if (!dash || dash + 1 == dot || strspn(dash + 1, "0123456789") != (size_t)(dot - dash - 1))
        return NULL;
    cr_assert(asprintf(&src, "%s/%.*s%s", t_src("data/sample"), (int)(dash - name), name, dot) >
              0);
    if (exists(src))
        return src;
    free(src);
    return NULL;
}

/* The archive: each file under a final name has its source's bytes; once
 * the run is over (final), every readable sample file is there, the
 * unreadable one is not, and no temporary is left. */
static void check_archive(const char *root, int final, const char *when)
{
    struct flist a;

    list_files(root, &a);
    for (size_t i = 0; i < a.n; i++) {
        const char *slash = strchr(a.v[i], '/');
        char *src, p[4096];
        char *x, *y;
        size_t nx, ny;

        if (is_temp(a.v[i])) {
            cr_assert_not(final, "%s: temporary left in the archive: %s", when, a.v[i]);
            continue;
        }
        cr_assert(slash && strncmp(a.v[i], DAY "/", 11) == 0, "%s: archived %s", when, a.v[i]);
        src = archived_source(slash + 1);
        cr_assert_not_null(src, "%s: unexpected archived file %s", when, a.v[i]);
        cr_assert(strstr(src, BAD) == NULL, "%s: the unreadable file was archived", when);
        snprintf(p, sizeof p, "%s/%s", root, a.v[i]);
        x = t_slurp(p, &nx);
        y = t_slurp(src, &ny);
        cr_assert(nx == ny && memcmp(x, y, nx) == 0, "%s: %s is not a whole copy", when, a.v[i]);
        free(x);
        free(y);
        free(src);
    }
    if (final) {
        struct flist s;
        size_t found = 0;

        list_files(t_src("data/sample"), &s);
        for (size_t i = 0; i < s.n; i++) {
            char p[4096];

            if (strcmp(s.v[i], "reception.csv") == 0 || strcmp(s.v[i], BAD) == 0)
                continue;
            snprintf(p, sizeof p, "%s/" DAY "/%s", root, s.v[i]);
            cr_assert(exists(p), "%s: %s not archived", when, s.v[i]);
            found++;
        }
        cr_assert_eq(found, NFILES - 1);
        flist_free(&s);
    }
    flist_free(&a);
}

/* Only reception.csv stays in the inbox. */
static void check_inbox_done(const char *when)
{
    struct flist a;
    char *inbox = path_in("inbox");

    list_files(inbox, &a);
    cr_assert_eq(a.n, 1, "%s: %zu files left in the inbox", when, a.n);
    cr_assert_str_eq(a.v[0], "reception.csv", "%s", when);
    flist_free(&a);
    free(inbox);
}

#define NIGHTLY_ARGV()                                                                      \
    (char *[]){"calpae-nightly", "-q", "--db", db, "--inbox", inbox, "--out", out, "--data", \
               data, "--archive", archive, NULL}

Test(crash, nightly_killed_at_crash_points_and_timed_moments, .init = setup,
     .fini = teardown_shm, .timeout = 300)
{
    /* After the unreadable file's commit (before it leaves the inbox), after
     * the last file's (before it is archived), between consolidate's
     * commit and its fingerprint. */
    static const char *const points[] = {"ingest-commit:1", "ingest-commit:16",
                                         "nightly-consolidated:1"};
    enum { NPOINTS = sizeof points / sizeof *points, TIMED = 4 };
    char data[4096], inbox[4096], when[128];
    char *db, *out, *archive, *qdir, *ref, *refout;
    double t0, dur;
    int killed = 0;

    snprintf(data, sizeof data, "%s", t_src("data"));
    snprintf(inbox, sizeof inbox, "%s/inbox", tmp);
    shm = other_fs_dir();
    fill_inbox();
    db = path_in("clean/db/calpae.db");
    out = refout = path_in("clean/out");
    qdir = path_in("clean/db/quarantaine");
    if (shm)
        cr_assert(asprintf(&archive, "%s/clean", shm) > 0);
    else
        archive = path_in("clean/db/archive");
    t0 = now_s();
    cr_assert_eq(run(NULL, NIGHTLY_ARGV()), 0);
    dur = now_s() - t0;
    ref = t_db_dump(db);
    check_inbox_done("clean run");
    check_quarantine(qdir, 1, "clean run");
    check_archive(archive, 1, "clean run");
    free(db);
    free(qdir);
    free(archive);

    for (int i = 0; i < NPOINTS + TIMED; i++) {
        double delay = dur * (i - NPOINTS + 0.5) / TIMED;
        int st;

        if (i < NPOINTS)
            snprintf(when, sizeof when, "nightly killed at %s", points[i]);
        else
            snprintf(when, sizeof when, "nightly killed after %.0f ms", delay * 1e3);
        fill_inbox();
        db = path_in("t%d/db/calpae.db", i);
        out = path_in("t%d/out", i);
        qdir = path_in("t%d/db/quarantaine", i);
        if (shm)
            cr_assert(asprintf(&archive, "%s/t%d", shm, i) > 0);
        else
            archive = path_in("t%d/db/archive", i);
        if (i < NPOINTS) {
            st = run(points[i], NIGHTLY_ARGV());
            cr_assert_eq(st, KILLED, "%s: status %d", when, st);
        } else {
            st = run_killed(delay, NIGHTLY_ARGV());
            cr_assert(st == KILLED || st == 0, "%s: status %d", when, st);
        }
        killed += st == KILLED;
        check_integrity(db, when);
        check_outputs(out, when);
        check_quarantine(qdir, 0, when);
        check_archive(archive, 0, when);
        if (i == 0) /* a half-made copy of an earlier killed run, removed by the re-run */
            sh("mkdir -p '%s' && echo partial > '%s/.x.csv.tmp.%ld.1'", archive, archive,
               dead_pid());
        cr_assert_eq(run(NULL, NIGHTLY_ARGV()), 0, "%s: re-run", when);
        same_db(db, ref, when);
        same_files(out, refout, when);
        cr_assert_eq(plot_dirs(), 0, "%s: gnuplot folder left", when);
        check_inbox_done(when);
        check_quarantine(qdir, 1, when);
        check_archive(archive, 1, when);
        free(db);
        free(out);
        free(qdir);
        free(archive);
    }
    cr_log_info("nightly: clean run %.0f ms, archive %s; %d of %d kills landed", dur * 1e3,
                shm ? "on another file system (copy)" : "beside the database (rename)", killed,
                NPOINTS + TIMED);
    free(ref);
    free(refout);
}
