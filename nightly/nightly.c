/*
 * The nightly job over the three stages: a lock so that two runs never
 * overlap, ingest of the inbox with each file archived after its commit,
 * consolidate only when its inputs changed, render (which skips unchanged
 * régions itself).
 */
#include "nightly/nightly.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/crash.h"
#include "common/db.h"
#include "common/progress.h"
#include "common/ref.h"
#include "consolidate/consolidate.h"
#include "render/render.h"

/* What the on_file callback needs; it cannot return an error, so the first
 * one is kept here and reported after ingest. */
struct archiver {
    struct cp_nightly_stats *st;
    const char *archive;          /* the archive folder, above the day's */
    struct cp_progress bar;
    FILE *progress;
    struct cp_err err;
    int failed;
};

void cp_nightly_beside(const char *path, const char *leaf, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');

    if (slash)
        snprintf(out, n, "%.*s/%s", (int)(slash - path), path, leaf);
    else
        snprintf(out, n, "%s", leaf);
}

/* Copies from into tmp, then renames tmp onto to: killed midway, the copy
 * is never visible under its final name, only as tmp (a hidden name that
 * cp_afile_clean_stale recognises). */
static int copy_file(const char *from, const char *tmp, const char *to, struct cp_err *err)
{
    char buf[65536];
    int in = -1, out = -1, rc = -1;
    ssize_t r;

    in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        goto fail;
    out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0)
        goto fail;
    while ((r = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));

            if (w < 0)
                goto fail;
            off += w;
        }
    }
    if (r < 0 || fsync(out) < 0)
        goto fail;
    rc = close(out);
    out = -1;
    if (rc < 0 || rename(tmp, to) < 0)
        goto fail;
    rc = 0;
    goto out;
fail:
    cp_err_set(err, CP_EX_CANTCREAT, "archive", to, "impossible de copier « %s » vers « %s » : %s",
               from, to, strerror(errno));
    unlink(tmp);
    rc = -1;
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* Moves path into dir without overwriting: "nom.csv", then "nom-1.csv"…
 * Across file systems the copy goes through a temporary in root, the
 * archive folder above dir, cleaned of leftovers at each run. */
static int archive_one(const char *path, const char *root, const char *dir, struct cp_err *err)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    int stem = dot && dot != name ? (int)(dot - name) : (int)strlen(name);
    char dest[4096], dest_tmp_base[4096];
    struct stat sb;

    if (cp_mkdirs(dir, err) < 0)
        return -1;
    for (unsigned k = 0;; k++) {
        int n = k ? snprintf(dest, sizeof dest, "%s/%.*s-%u%s", dir, stem, name, k, name + stem)
                  : snprintf(dest, sizeof dest, "%s/%s", dir, name);

        if (n < 0 || (size_t)n >= sizeof dest)
            return cp_err_set(err, CP_EX_CANTCREAT, "archive", path, "chemin d'archive trop long");
        if (lstat(dest, &sb) < 0 && errno == ENOENT)
            break;
        if (k > 10000)
            return cp_err_set(err, CP_EX_CANTCREAT, "archive", dest,
                              "trop de fichiers du même nom dans « %s »", dir);
    }
    if (rename(path, dest) == 0)
        return 0;
    if (errno != EXDEV)
        return cp_err_set(err, CP_EX_CANTCREAT, "archive", path,
                          "impossible de déplacer « %s » vers « %s » : %s", path, dest,
                          strerror(errno));
    /* The archive is on another file system: copy, then remove. */
    {
        char *tmp;
        int rc;

        if ((size_t)snprintf(dest_tmp_base, sizeof dest_tmp_base, "%s/%s", root, name) >=
            sizeof dest_tmp_base)
            return cp_err_set(err, CP_EX_CANTCREAT, "archive", path, "chemin d'archive trop long");
        tmp = cp_afile_temp_path(dest_tmp_base, err);
        if (!tmp)
            return -1;
        rc = copy_file(path, tmp, dest, err);
        free(tmp);
        if (rc < 0)
            return -1;
    }
    if (unlink(path) < 0)
        return cp_err_set(err, CP_EX_CANTCREAT, "archive", path,
                          "fichier archivé mais impossible de le retirer de la boîte « %s » : %s",
                          path, strerror(errno));
    return 0;
}

static void on_file(void *ctx, const char *path, const char *outcome, size_t index, size_t total)
{
    struct archiver *a = ctx;
    const char *slash = strrchr(path, '/');

    if (index == 1)
        cp_progress_start(&a->bar, a->progress, "fichiers", total);
    cp_progress_step(&a->bar, index, slash ? slash + 1 : path);
    if (a->failed)
        return;
    /* Unreadable: ingest already copied it, with its report, to quarantine. */
    if (strcmp(outcome, "quarantaine") == 0) {
        if (unlink(path) < 0 && errno != ENOENT) {
            cp_err_set(&a->err, CP_EX_CANTCREAT, "archive", path,
                       "impossible de retirer « %s » de la boîte de réception : %s", path,
                       strerror(errno));
            a->failed = 1;
            return;
        }
        a->st->removed++;
        return;
    }
    if (archive_one(path, a->archive, a->st->archive_day, &a->err) < 0) {
        a->failed = 1;
        return;
    }
    a->st->archived++;
}

static void on_job(void *ctx, const char *zone, const char *period, size_t i, size_t n)
{
    struct archiver *a = ctx;
    char what[32];

    snprintf(what, sizeof what, "%s %s", zone, period);
    if (i == 1)
        cp_progress_start(&a->bar, a->progress, "régions", n);
    cp_progress_step(&a->bar, i, what);
}

static int take_lock(const char *db_path, int *fd, struct cp_err *err)
{
    char path[4096];

    if ((size_t)snprintf(path, sizeof path, "%s.lock", db_path) >= sizeof path)
        return cp_err_set(err, CP_EX_USAGE, "usage", db_path, "chemin de base trop long");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0)
        return cp_err_set(err, CP_EX_CANTCREAT, "lock", path,
                          "impossible de créer le verrou « %s » : %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;

        close(*fd);
        *fd = -1;
        if (e == EWOULDBLOCK)
            return cp_err_set(err, CP_EX_TEMPFAIL, "locked", path,
                              "une autre exécution de calpae-nightly est en cours (verrou « %s ») ;"
                              " réessayez plus tard",
                              path);
        return cp_err_set(err, CP_EX_IOERR, "lock", path, "verrou « %s » impossible : %s", path,
                          strerror(e));
    }
    return 0;
}

int cp_nightly_run(const struct cp_nightly_opts *o, struct cp_nightly_stats *stats,
                   struct cp_err *err)
{
    struct cp_nightly_stats local;
    struct cp_nightly_stats *st = stats ? stats : &local;
    struct archiver a;
    struct cp_ingest_opts io = {0};
    struct cp_render_opts ro = {0};
    char archive[4000], day[20];
    const char *inbox, *data_dir;
    char *paths[1];
    FILE *devnull = NULL, *log;
    int lock = -1, status;

    memset(st, 0, sizeof *st);
    memset(&a, 0, sizeof a);
    if (!o || !o->db_path)
        return cp_err_set(err, CP_EX_USAGE, "usage", NULL, "base de données non indiquée");
    if (take_lock(o->db_path, &lock, err) < 0)
        return err->exit_status;

    inbox = o->inbox ? o->inbox : getenv("CALPAE_INBOX");
    if (!inbox || !*inbox)
        inbox = "inbox";
    data_dir = o->data_dir ? o->data_dir : cp_ref_default_datadir();
    log = o->log;
    if (!log) {
        devnull = fopen("/dev/null", "we");
        if (!devnull) {
            cp_err_set(err, CP_EX_IOERR, "io", "/dev/null", "/dev/null illisible");
            status = CP_EX_IOERR;
            goto out;
        }
        log = devnull;
    }
    if (o->archive_dir)
        snprintf(archive, sizeof archive, "%s", o->archive_dir);
    else
        cp_nightly_beside(o->db_path, "archive", archive, sizeof archive);
    cp_db_now(day);
    day[10] = '\0';
    snprintf(st->archive_day, sizeof st->archive_day, "%.3990s/%s", archive, day);
    cp_afile_clean_stale(archive); /* copies a killed run left half-made */

    /* Ingest: each file is archived by on_file once its transaction is committed. */
    a.st = st;
    a.archive = archive;
    a.progress = o->progress;
    paths[0] = (char *)inbox;
    io.db_path = o->db_path;
    io.data_dir = data_dir;
    io.quarantine_dir = o->quarantine_dir;
    io.paths = paths;
    io.npaths = 1;
    io.out = log;
    io.on_file = on_file;
    io.on_file_ctx = &a;
    status = cp_ingest_run(&io, &st->ingest, err);
    cp_progress_end(&a.bar);
    if (status != CP_EX_OK && status != CP_EX_DATAERR) {
        cp_err_prefix(err, "lecture de la boîte « %s » : ", inbox);
        goto out;
    }
    if (a.failed) {
        *err = a.err;
        status = err->exit_status;
        goto out;
    }

    /* Consolidate, unless nothing it reads has changed (the stage checks,
     * cp_consolidate_inputs). */
    {
        struct cp_consolidate_opts co = {o->db_path, data_dir, NULL, NULL};
        struct cp_consolidate_stats cs;

        if (cp_consolidate_run_if_changed(&co, &cs, err) < 0) {
            cp_consolidate_stats_release(&cs);
            cp_err_prefix(err, "consolidation : ");
            status = err->exit_status ? err->exit_status : CP_EX_IOERR;
            goto out;
        }
        if (cs.skipped) {
            fprintf(log, "consolidation : entrées inchangées, non relancée\n");
        } else {
            st->consolidated = 1;
            st->findings = cs.findings;
            st->rule_problems = cs.nproblems + cs.problems_dropped;
            fprintf(log, "consolidation : %u règles, %lu constats (%lu ajoutés, %lu modifiés, "
                         "%lu retirés), %lu agrégats, %lu valeurs écartées\n",
                    cs.rules, cs.findings, cs.added, cs.changed, cs.removed, cs.aggregates,
                    cs.excluded);
            for (size_t i = 0; i < cs.nproblems; i++)
                fprintf(log, "règle écartée : %s\n", cs.problems[i].msg);
        }
        cp_consolidate_stats_release(&cs);
        /* Consolidate committed (with its inputs' fingerprint), render not
         * started: a crash point for tests/e2e/test_crash.c. */
        cp_crash_point("nightly-consolidated");
    }

    /* Render: unchanged régions are left untouched by the stage itself.
     * What ingest and consolidate freed goes back to the system first, so
     * that render's peak does not stack on theirs (the one process of a
     * national night peaked at 79 MB, each stage alone under 60). */
    malloc_trim(0);
    ro.db_path = o->db_path;
    ro.out_dir = o->out_dir ? o->out_dir : "reports";
    ro.out = log;
    ro.on_job = on_job;
    ro.on_job_ctx = &a;
    ro.rendered = &st->rendered;
    ro.unchanged = &st->unchanged;
    status = cp_render_run(&ro, err);
    cp_progress_end(&a.bar);
    if (status != CP_EX_OK) {
        cp_err_prefix(err, "rendu : ");
        goto out;
    }
out:
    if (devnull)
        fclose(devnull);
    if (lock >= 0)
        close(lock); /* releases the flock */
    return status;
}
