/*
 * The render stage's run (see render.h): which régions and periods to
 * render, one gnuplot process for the whole run, and a fingerprint per
 * région so that a run with nothing new rewrites nothing.
 */
#include "render/render.h"

#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "common/afile.h"
#include "common/buf.h"
#include "common/db.h"
#include "common/hash.h"
#include "common/period.h"
#include "render/charts.h"
#include "render/dossier.h"
#include "render/feedback.h"
#include "render/model.h"
#include "render/retour.h"
#include "render/rquery.h"

/* Bump when the outputs' layout changes, so every dossier is redone. */
#define RENDER_VERSION "calpae-render 3"

struct job_spec {
    char zone[8];
    char name[96];
    char period[CP_PERIOD_STRLEN];
};

static void say(const struct cp_render_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const struct cp_render_opts *o, const char *fmt, ...)
{
    va_list ap;

    if (o->quiet)
        return;
    va_start(ap, fmt);
    vfprintf(o->out ? o->out : stdout, fmt, ap);
    va_end(ap);
}

static int parse_period(const char *s, struct cp_period *p)
{
    return cp_period_parse(s, strlen(s), p);
}

/* The latest period with aggregates for a zone (a year sorts after its
 * halves), or "" when none. */
static int latest_period(sqlite3 *db, const char *zone, int national, char *out,
                         struct cp_err *err)
{
    sqlite3_stmt *st;
    struct cp_period best = {0, 0}, p;
    int have = 0;

    out[0] = '\0';
    if (cp_db_prepare(db,
                      national ? "SELECT DISTINCT periode FROM agregat WHERE niveau = 'national'"
                               : "SELECT DISTINCT periode FROM agregat WHERE niveau = 'region'"
                                 " AND zone = ?1",
                      &st, err) < 0)
        return -1;
    if (!national)
        sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        if (s && parse_period(s, &p) == 0 && (!have || cp_period_cmp(&p, &best) > 0)) {
            best = p;
            have = 1;
        }
    }
    sqlite3_finalize(st);
    if (have)
        cp_period_str(&best, out);
    return 0;
}

static int list_jobs(sqlite3 *db, const struct cp_render_opts *o, struct job_spec **out,
                     size_t *n, struct cp_err *err)
{
    sqlite3_stmt *st;
    struct job_spec *v = NULL;
    size_t cap = 0;
    int rc = 0, national_db;

    *out = NULL;
    *n = 0;
    if (o->national) {
        v = calloc(1, sizeof *v);
        if (!v)
            return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        strcpy(v->zone, "FR");
        strcpy(v->name, "France");
        *out = v;
        *n = 1;
    } else {
        /* At the national tier the régions' aggregates are those of their
         * roll-ups, without their signatories' values: no régional dossier
         * (nor roll-up) is made from them. */
        if (cp_db_prepare(db, "SELECT EXISTS (SELECT 1 FROM rollup)", &st, err) < 0)
            return -1;
        national_db = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (national_db)
            return cp_err_set(err, CP_EX_USAGE, "base_nationale", NULL,
                              "cette base est une base nationale (elle contient des fichiers de "
                              "remontée régionale) : lancez calpae-render --national");
        if (cp_db_prepare(db,
                          "SELECT r.code, r.nom FROM ref_region r WHERE (?1 IS NULL OR r.code = ?1)"
                          " AND EXISTS (SELECT 1 FROM agregat a WHERE a.niveau = 'region'"
                          " AND a.zone = r.code) ORDER BY r.code",
                          &st, err) < 0)
            return -1;
        if (o->region)
            sqlite3_bind_text(st, 1, o->region, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (*n == cap) {
                struct job_spec *nv;
                cap = cap ? cap * 2 : 32;
                nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    sqlite3_finalize(st);
                    free(v);
                    return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL,
                                      "mémoire insuffisante");
                }
                v = nv;
            }
            memset(&v[*n], 0, sizeof v[*n]);
            snprintf(v[*n].zone, sizeof v[*n].zone, "%s", sqlite3_column_text(st, 0));
            snprintf(v[*n].name, sizeof v[*n].name, "%s", sqlite3_column_text(st, 1));
            (*n)++;
        }
        sqlite3_finalize(st);
        *out = v;
        if (o->region && *n == 0)
            return cp_err_set(err, CP_EX_NOINPUT, "no_data", o->region,
                              "aucun agrégat pour la région « %s » : vérifiez le code INSEE de "
                              "la région et lancez calpae-consolidate",
                              o->region);
    }
    for (size_t i = 0; i < *n && rc == 0; i++) {
        if (o->period) {
            struct cp_period p;
            if (parse_period(o->period, &p) < 0)
                return cp_err_set(err, CP_EX_USAGE, "bad_period", o->period,
                                  "période « %s » non reconnue (attendu 2022, 2022-S1…)",
                                  o->period);
            cp_period_str(&p, v[i].period);
        } else {
            rc = latest_period(db, v[i].zone, o->national, v[i].period, err);
        }
    }
    return rc;
}

/*
 * What the outputs of a zone depend on: the consolidated fingerprints of
 * every period of the zone (time series and previous periods show them
 * all), the rejections of its signatories (feedback reports) and the
 * render version.
 */
static int fingerprint(sqlite3 *db, const struct job_spec *j, int national, char *hex,
                       struct cp_err *err)
{
    sqlite3_stmt *st;
    struct cp_sha256 h;
    char pattern[32];

    if (cp_sha256_init(&h) < 0)
        return cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
    cp_sha256_update(&h, RENDER_VERSION, strlen(RENDER_VERSION));
    cp_sha256_update(&h, j->period, strlen(j->period));
    snprintf(pattern, sizeof pattern, "etat:%s:%%", national ? "FR" : j->zone);
    if (cp_db_prepare(db, "SELECT cle, valeur FROM meta WHERE cle LIKE ?1 ORDER BY cle", &st,
                      err) < 0)
        goto fail;
    sqlite3_bind_text(st, 1, pattern, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        for (int c = 0; c < 2; c++)
            cp_sha256_update(&h, sqlite3_column_text(st, c),
                             (size_t)sqlite3_column_bytes(st, c) + 1);
    sqlite3_finalize(st);
    if (!national) {
        if (cp_db_prepare(db,
                          "SELECT group_concat(r.id) FROM rejet r JOIN fichier f ON"
                          " f.id = r.fichier_id WHERE r.signataire IS NULL OR r.signataire IN"
                          " (SELECT code FROM ref_signataire WHERE region = ?1)",
                          &st, err) < 0)
            goto fail;
        sqlite3_bind_text(st, 1, j->zone, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            cp_sha256_update(&h, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        sqlite3_finalize(st);
    }
    return cp_sha256_final(&h, hex);
fail:
    cp_sha256_release(&h);
    return -1;
}

static int rendered_before(sqlite3 *db, const char *zone, const char *period, const char *hex)
{
    sqlite3_stmt *st;
    int same = 0;

    if (sqlite3_prepare_v2(db, "SELECT empreinte FROM rendu WHERE zone = ?1 AND periode = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        same = strcmp((const char *)sqlite3_column_text(st, 0), hex) == 0;
    sqlite3_finalize(st);
    return same;
}

static int remember(sqlite3 *db, const char *zone, const char *period, const char *hex,
                    struct cp_err *err)
{
    sqlite3_stmt *st;
    char now[20];
    int rc = 0;

    cp_db_now(now);
    if (cp_db_prepare(db,
                      "INSERT INTO rendu(zone, periode, empreinte, rendu_le) VALUES(?1,?2,?3,?4)"
                      " ON CONFLICT(zone, periode) DO UPDATE SET empreinte = excluded.empreinte,"
                      " rendu_le = excluded.rendu_le",
                      &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cp_db_fail(db, err, "mémorisation du rendu");
    sqlite3_finalize(st);
    return rc;
}

/* Latest reception time of the files in force for the zone and period
 * (national: the signatories' files and the régions' roll-ups). */
static void data_date(sqlite3 *db, const struct job_spec *j, int national, char *out)
{
    sqlite3_stmt *st;

    out[0] = '\0';
    if (sqlite3_prepare_v2(db,
                           national
                               ? "SELECT max(d) FROM (SELECT max(vc.recu_le) AS d"
                                 " FROM valeurs_courantes vc JOIN ref_signataire s"
                                 " ON s.code = vc.signataire WHERE vc.periode = ?1"
                                 " UNION ALL SELECT max(recu_le) FROM rollups_courants"
                                 " WHERE periode = ?1)"
                               /* The région's signatories first (CROSS JOIN:
                                * SQLite would scan every value in force). */
                               : "SELECT max(vc.recu_le) FROM ref_signataire s"
                                 " CROSS JOIN valeurs_courantes vc ON vc.signataire = s.code"
                                 " WHERE s.region = ?2 AND vc.periode = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, j->period, -1, SQLITE_STATIC);
    if (!national)
        sqlite3_bind_text(st, 2, j->zone, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, 20, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/*
 * The feedback PDFs of a job, laid out on the writers' thread while the
 * main thread reads the next one and goes on with the next job (the
 * layout is most of their cost; the database is read in the main thread).
 */
struct writes {
    GMutex lock;
    GCond idle;
    size_t running;         /* queued or running (lock) */
    int failed;             /* the first failure is in err (lock) */
    struct cp_err err;
};

/* A job's dossier, written on the writer thread: what it reads, owned
 * until it is written. charts is a copy of the job's list (struct pending
 * moves from cur to prev): the charts themselves stay in memory until
 * job_finish, which waits for the job's writes first. */
struct dossier_job {
    struct cp_render_job job;   /* its dir, date and now point below */
    struct cp_model model;
    struct cp_charts charts;
    char dir[PATH_MAX], date[20], now[20];
};

/* One PDF to lay out on the writer thread: a feedback report (f, path) or
 * a dossier (d). */
struct write_task {
    struct writes *w;
    struct cp_feedback *f;
    char *path;
    struct dossier_job *d;
};

static void write_task_run(gpointer data, gpointer unused)
{
    struct write_task *t = data;
    struct cp_err e;
    int rc;

    (void)unused;
    if (t->d)
        rc = cp_render_dossier(&t->d->job, &t->d->charts, &e);
    else
        rc = cp_feedback_write(t->f, t->path, &e);
    g_mutex_lock(&t->w->lock);
    if (rc < 0 && !t->w->failed) {
        t->w->failed = 1;
        t->w->err = e;
    }
    if (--t->w->running == 0)
        g_cond_broadcast(&t->w->idle);
    g_mutex_unlock(&t->w->lock);
    if (t->d) {
        cp_model_release(&t->d->model);
        free(t->d);
    } else {
        cp_feedback_free(t->f);
        free(t->path);
    }
    free(t);
}

/* Hands t (a feedback report, or a job's dossier with its model loaded)
 * to the writer thread, which then owns it; writes_end(w) waits for it. */
static void queue_write(struct write_task *t, GThreadPool *pool, struct writes *w)
{
    t->w = w;
    g_mutex_lock(&w->lock);
    w->running++;
    g_mutex_unlock(&w->lock);
    if (!pool || !g_thread_pool_push(pool, t, NULL))
        write_task_run(t, NULL);
}

static struct writes *writes_new(void)
{
    struct writes *w = calloc(1, sizeof *w);

    if (w) {
        g_mutex_init(&w->lock);
        g_cond_init(&w->idle);
    }
    return w;
}

/* Waits for every write of w and frees it; -1 with err if one failed (its
 * file is not in place). NULL is fine. */
static int writes_end(struct writes *w, struct cp_err *err)
{
    int rc = 0;

    if (!w)
        return 0;
    g_mutex_lock(&w->lock);
    while (w->running > 0)
        g_cond_wait(&w->idle, &w->lock);
    g_mutex_unlock(&w->lock);
    if (w->failed) {
        *err = w->err;
        rc = -1;
    }
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->idle);
    free(w);
    return rc;
}

/* Reads a signatory's feedback PDF and has it written on the pool (here
 * when there is none). */
static int queue_feedback_pdf(struct cp_feedback_src *src, const char *sig, const char *path,
                              GThreadPool *pool, struct writes *w, struct cp_err *err)
{
    struct write_task *t = calloc(1, sizeof *t);

    if (!t || !(t->path = strdup(path))) {
        free(t);
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    }
    if (cp_feedback_src_read(src, sig, &t->f, err) < 0) {
        free(t->path);
        free(t);
        return -1;
    }
    queue_write(t, pool, w);
    return 0;
}

/* What the feedback reports read with, prepared for the run's first job
 * and moved to each next one. */
struct feedback_src {
    struct cp_feedback_src *pdf;
    struct cp_feedback_xlsx *xlsx;
};

static int feedback_src_for(struct feedback_src *fs, const struct cp_render_job *job,
                            struct cp_err *err)
{
    if (!fs->pdf ? cp_feedback_src_open(job, &fs->pdf, err) < 0
                 : cp_feedback_src_job(fs->pdf, job, err) < 0)
        return -1;
    return !fs->xlsx ? cp_feedback_xlsx_open(job, &fs->xlsx, err)
                     : cp_feedback_xlsx_job(fs->xlsx, job, err);
}

static void feedback_src_close(struct feedback_src *fs)
{
    cp_feedback_src_close(fs->pdf);
    cp_feedback_xlsx_close(fs->xlsx);
    memset(fs, 0, sizeof *fs);
}

/* Feedback reports for every signatory of the zone with something to say:
 * values in force for the period, findings or rejections. The PDFs are
 * queued on w (see writes_end). */
static int feedback(const struct cp_render_job *job, struct feedback_src *fs, GThreadPool *pool,
                    struct writes *w, struct cp_err *err)
{
    sqlite3_stmt *st;
    char path[PATH_MAX];
    int rc = 0;

    if (feedback_src_for(fs, job, err) < 0)
        return -1;
    if (cp_db_prepare(job->db,
                      "SELECT s.code FROM ref_signataire s WHERE s.region = ?1 AND ("
                      " EXISTS (SELECT 1 FROM courant c WHERE c.signataire = s.code"
                      "   AND c.periode = ?2)"
                      " OR EXISTS (SELECT 1 FROM constat c WHERE c.signataire = s.code"
                      "   AND c.periode = ?2)"
                      " OR EXISTS (SELECT 1 FROM rejet r WHERE r.signataire = s.code"
                      "   AND r.periode = ?2)) ORDER BY s.code",
                      &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, job->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job->period, -1, SQLITE_STATIC);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *sig = (const char *)sqlite3_column_text(st, 0);

        if (snprintf(path, sizeof path, "%s/retours/%s.xlsx", job->dir, sig) >= (int)sizeof path)
            rc = cp_err_set(err, CP_EX_CANTCREAT, "io", job->dir, "chemin trop long");
        else
            rc = cp_feedback_xlsx_write(fs->xlsx, sig, path, err);
        if (rc == 0) {
            snprintf(path, sizeof path, "%s/retours/%s.pdf", job->dir, sig);
            rc = queue_feedback_pdf(fs->pdf, sig, path, pool, w, err);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* Removes the temporaries a killed run left in the folders of a job (its
 * files are written under hidden temporary names, then renamed). */
static void clean_job_dirs(const char *outdir, const char *zone, const char *period)
{
    static const char *const sub[] = {"", "/graphiques", "/retours"};
    char dir[PATH_MAX];

    for (size_t k = 0; k < sizeof sub / sizeof *sub; k++)
        if (snprintf(dir, sizeof dir, "%s/%s/%s%s", outdir, zone, period, sub[k]) <
            (int)sizeof dir)
            cp_afile_clean_stale(dir);
}

/* A job whose outputs are written, its charts possibly still converting:
 * it is put in place and remembered while the next job is written. */
struct pending {
    const struct job_spec *j;
    struct cp_charts charts;
    struct writes *writes;  /* its feedback PDFs */
    char hex[CP_SHA256_HEX];
    char dossier[PATH_MAX];
    int active;
};

/* Writes every output of a job but the chart files, which are converted on
 * the plot's threads meanwhile (the dossier draws the charts from their SVG
 * in memory); job_finish puts them in place. On success *pj is active. */
static int render_job(sqlite3 *db, const struct cp_render_opts *o, struct cp_plot **plot,
                      GThreadPool *writers, struct feedback_src *fs, const struct job_spec *j,
                      const char *hex, struct pending *pj, struct cp_err *err)
{
    struct cp_render_job *job;
    struct cp_rtables tables = {0}; /* released on every path, even unbuilt */
    struct write_task *t = calloc(1, sizeof *t);
    struct dossier_job *d = calloc(1, sizeof *d);
    const char *out = o->out_dir ? o->out_dir : "reports";
    int rc = -1, loaded = 0;

    memset(pj, 0, sizeof *pj);
    if (!t || !d) {
        free(t);
        free(d);
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    }
    job = &d->job;
    t->d = d;
    if (snprintf(d->dir, sizeof d->dir, "%s/%s/%s", out, o->national ? "national" : j->zone,
                 j->period) >= (int)sizeof d->dir) {
        cp_err_set(err, CP_EX_CANTCREAT, "io", out, "chemin de sortie trop long");
        goto out;
    }
    if (cp_mkdirs(d->dir, err) < 0)
        goto out;
    data_date(db, j, o->national, d->date);
    cp_db_now(d->now);
    *job = (struct cp_render_job){db, o->national ? "FR" : j->zone, j->name, j->period,
                                  o->national, d->dir, d->date, d->now, NULL, NULL};
    if (!*plot && cp_plot_open(plot, err) < 0)
        goto out;
    /* What the charts and the dossier show, and the tables of the workbook
     * and the CSV, are read once. */
    if (cp_model_load(&d->model, job, err) < 0)
        goto out;
    loaded = 1;
    job->model = &d->model;
    /* gnuplot draws the charts (from the model) while the tables of the
     * workbook and the CSV are read and those outputs written; then the
     * dossier goes to the writer thread (with the feedback reports), which
     * lays it out while the next job is read. */
    if (cp_plot_submit(*plot, job, &pj->charts, err) < 0 ||
        cp_rtables_build(&tables, job, err) < 0)
        goto out;
    job->tables = &tables;
    if (cp_render_workbook(job, err) < 0 || cp_render_csv(job, err) < 0 ||
        cp_render_rollup(job, err) < 0)
        goto out;
    if (!(pj->writes = writes_new())) {
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    if (!o->national && feedback(job, fs, writers, pj->writes, err) < 0)
        goto out;
    if (cp_plot_collect(&pj->charts, err) < 0)
        goto out;
    job->tables = NULL; /* released below; the dossier reads the model only */
    d->charts = pj->charts;
    pj->j = j;
    snprintf(pj->hex, sizeof pj->hex, "%s", hex);
    if (snprintf(pj->dossier, sizeof pj->dossier, "%s/dossier.pdf", d->dir) >=
        (int)sizeof pj->dossier)
        pj->dossier[0] = '\0';
    pj->active = 1;
    queue_write(t, writers, pj->writes); /* t and d are the writer's now */
    t = NULL;
    rc = 0;
out:
    if (rc < 0) {
        struct cp_err ignored;
        /* The job's writes first: they read its charts. */
        writes_end(pj->writes, &ignored);
        pj->writes = NULL;
        cp_charts_release(&pj->charts); /* the conversions are discarded */
        cp_err_prefix(err, "%s %s : ", o->national ? "FR" : j->zone, j->period);
    }
    if (loaded)
        cp_rtables_release(&tables); /* also after a failed build */
    if (t) {
        if (loaded)
            cp_model_release(&d->model);
        free(d);
        free(t);
    }
    return rc;
}

/* Puts a written job's chart files in place, then remembers its
 * fingerprint: a job is recorded as rendered only when every file is. */
static int job_finish(sqlite3 *db, const struct cp_render_opts *o, struct pending *pj,
                      size_t *done, struct cp_err *err)
{
    const char *zone = o->national ? "FR" : pj->j->zone;
    int rc = -1;

    if (writes_end(pj->writes, err) == 0 && cp_charts_commit(&pj->charts, err) == 0 &&
        remember(db, zone, pj->j->period, pj->hex, err) == 0)
        rc = 0;
    pj->writes = NULL;
    cp_charts_release(&pj->charts);
    pj->active = 0;
    if (rc < 0) {
        cp_err_prefix(err, "%s %s : ", zone, pj->j->period);
        return -1;
    }
    (*done)++;
    say(o, "rendu      %s (%s, %s)\n", pj->dossier, pj->j->name, pj->j->period);
    return 0;
}

int cp_render_run(const struct cp_render_opts *o, struct cp_err *err)
{
    sqlite3 *db = NULL;
    struct job_spec *jobs = NULL;
    struct cp_plot *plot = NULL;
    struct pending prev = {0}, cur = {0};
    GThreadPool *writers = NULL; /* feedback PDFs; NULL: written in place */
    struct feedback_src fs = {0};
    size_t n = 0, done = 0, same = 0;
    int status = CP_EX_OK;

    /* The chart rasters (1600 x 900, 5.8 MB, one per conversion thread) are
     * mapped and unmapped: with glibc's dynamic threshold the first free
     * raises the threshold and later rasters stay in the threads' arenas
     * (about 6 MB more peak RSS over a national run). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    /* Setting the mmap threshold also fixes the trim threshold at 128 kB:
     * every zlib stream (about 270 kB of state, a dozen per workbook, more
     * per PDF) then gave its memory back to the system when it ended and
     * faulted it in again for the next one. Freed memory up to 4 MB is
     * kept for reuse instead (no effect on the peak). */
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    cp_plot_clean_stale();
    /* Render reads each région's rows a few times, not the whole database
     * over and over: a 4 MB page cache instead of 16 costs no measurable
     * time and 4 MB less peak RSS on a national run. */
    if (cp_db_open(&db, o->db_path, 0, err) < 0 ||
        cp_db_exec(db, "PRAGMA cache_size=-4000", err) < 0) {
        status = err->exit_status ? err->exit_status : CP_EX_IOERR;
        goto out;
    }
    if (list_jobs(db, o, &jobs, &n, err) < 0) {
        status = err->exit_status ? err->exit_status : CP_EX_IOERR;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char hex[CP_SHA256_HEX], path[PATH_MAX];
        struct stat sb;
        const char *outdir = o->out_dir ? o->out_dir : "reports";

        if (o->on_job)
            o->on_job(o->on_job_ctx, jobs[i].zone, jobs[i].period, i + 1, n);
        if (!jobs[i].period[0]) {
            say(o, "vide       %s %s : aucun agrégat\n", jobs[i].zone, jobs[i].name);
            continue;
        }
        if (fingerprint(db, &jobs[i], o->national, hex, err) < 0) {
            status = CP_EX_IOERR;
            goto out;
        }
        if (snprintf(path, sizeof path, "%s/%s/%s/dossier.pdf", outdir,
                     o->national ? "national" : jobs[i].zone, jobs[i].period) >= (int)sizeof path)
            path[0] = '\0';
        clean_job_dirs(outdir, o->national ? "national" : jobs[i].zone, jobs[i].period);
        if (!o->force && path[0] && stat(path, &sb) == 0 &&
            rendered_before(db, o->national ? "FR" : jobs[i].zone, jobs[i].period, hex)) {
            same++;
            say(o, "inchangé   %s %s\n", path, jobs[i].name);
            continue;
        }
        /* Job i is written while the charts of the previous one finish
         * converting; then the previous one is put in place. */
        if (!writers)
            writers = g_thread_pool_new(write_task_run, NULL, 1, FALSE, NULL);
        if (render_job(db, o, &plot, writers, &fs, &jobs[i], hex, &cur, err) < 0) {
            struct cp_err ignored;
            if (prev.active)
                job_finish(db, o, &prev, &done, &ignored);
            status = err->exit_status ? err->exit_status : CP_EX_CANTCREAT;
            goto out;
        }
        if (prev.active && job_finish(db, o, &prev, &done, err) < 0) {
            status = err->exit_status ? err->exit_status : CP_EX_CANTCREAT;
            goto out;
        }
        prev = cur;
        memset(&cur, 0, sizeof cur); /* prev owns the charts now */
    }
    if (prev.active && job_finish(db, o, &prev, &done, err) < 0) {
        status = err->exit_status ? err->exit_status : CP_EX_CANTCREAT;
        goto out;
    }
    if (plot) {
        struct cp_plot *p = plot;
        plot = NULL;
        if (cp_plot_close(p, err) < 0) {
            status = err->exit_status ? err->exit_status : CP_EX_SOFTWARE;
            goto out;
        }
    }
    if (o->rendered)
        *o->rendered = done;
    if (o->unchanged)
        *o->unchanged = same;
out:
    /* A job not put in place leaves no chart file; it is rendered again
     * next time. */
    {
        struct cp_err ignored;
        /* The writes first: a dossier reads its job's charts. */
        writes_end(prev.writes, &ignored);
        writes_end(cur.writes, &ignored);
    }
    cp_charts_release(&prev.charts);
    cp_charts_release(&cur.charts);
    if (writers)
        g_thread_pool_free(writers, FALSE, TRUE);
    feedback_src_close(&fs); /* its statements, before the database */
    if (plot) {
        struct cp_err ignored;
        cp_plot_close(plot, &ignored);
    }
    free(jobs);
    if (db) {
        struct cp_err cerr;
        if (cp_db_close(db, &cerr) < 0 && status == CP_EX_OK) {
            *err = cerr;
            status = CP_EX_IOERR;
        }
    }
    return status;
}
