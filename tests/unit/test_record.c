/*
 * Unit tests for ingest/record.c and ingest/ahead.c: a recorded file gives
 * the store exactly what the interpreter gave (values, rejections,
 * locations, in order); a record past its cap stops the reader; the
 * read-ahead thread runs jobs in order, never more than its window ahead,
 * and gives back what it prepared but nobody took.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/ref.h"
#include "ingest/ahead.h"
#include "ingest/reader.h"
#include "ingest/record.h"
#include "ingest/table.h"
#include "tests/e2e/helpers.h"

static struct cp_ref ref;

/* Every callback as one line of text, locations made by cp_obs_where. */
static int log_value(void *ctx, const struct cp_obs *o)
{
    struct cp_buf *b = ctx;
    char ps[CP_PERIOD_STRLEN], where[CP_ERR_WHERE_MAX];

    cp_obs_where(o, where);
    cp_period_str(&o->period, ps);
    cp_buf_addf(b, "V|%s|%s|%s|%d|%.17g|%d|%d|%.17g|%s|%s|%s\n", ref.sig[o->sig].code, ps,
                ref.ind[o->ind].code, o->has_value, o->value, (int)o->missing, o->has_target,
                o->target, o->comment ? o->comment : "(null)", o->raw ? o->raw : "(null)",
                where);
    return 0;
}

static int log_reject(void *ctx, const struct cp_rej *r)
{
    struct cp_buf *b = ctx;
    char ps[CP_PERIOD_STRLEN] = "(null)";

    if (r->period)
        cp_period_str(r->period, ps);
    cp_buf_addf(b, "R|%s|%s|%s|%s|%d|%d|%s\n", r->where, r->code, r->raw ? r->raw : "(null)",
                r->message, r->sig, r->ind, ps);
    return 0;
}

static int stop_at_third(void *ctx, const struct cp_obs *o)
{
    int *n = ctx;

    (void)o;
    return ++*n == 3 ? -1 : 0;
}

static void setup(void)
{
    struct cp_err err;
    cr_assert_eq(cp_ref_load(&ref, t_src("data"), &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    cp_ref_release(&ref);
}

TestSuite(record, .init = setup, .fini = teardown);

/* Reads path (CSV, XLSX or ODS by its name) into out; the reader's status. */
static int read_into(const char *path, const struct cp_table_out *out, size_t limit_sst,
                     struct cp_err *err)
{
    struct cp_limits lim = cp_limits_default;
    struct cp_table *t = cp_table_new(&ref, "f", out);
    struct cp_reader_sink s = cp_table_sink(t);
    size_t n = strlen(path);
    int rc;

    if (limit_sst)
        lim.max_shared_strings_bytes = limit_sst;
    cp_err_clear(err);
    if (n > 5 && strcmp(path + n - 5, ".xlsx") == 0)
        rc = cp_xlsx_read(path, &lim, &s, NULL, err);
    else if (n > 4 && strcmp(path + n - 4, ".ods") == 0)
        rc = cp_ods_read(path, &lim, &s, NULL, err);
    else
        rc = cp_csv_read(path, &lim, &s, NULL, err);
    if (rc == 0)
        rc = cp_table_finish(t, err);
    cp_table_free(t);
    return rc;
}

/* The samples, and hand-made files with rejections, targets, comments and
 * locations: streaming and recording then replaying give the same lines. */
Test(record, replay_gives_what_the_interpreter_gave)
{
    const char *files[] = {
        "data/sample/20210726-203717_Indicateurs Ariège - 2021S1_v2.csv",
        "data/sample/20210728-041226_export_66D_2021S1.xlsx",
        "data/sample/20220120-072812_48D_indicateurs_2021S2.ods",
        "data/sample/20220209-184129_Rapport Lozère 2021.ods",
        "data/sample/20220120-132124_66D_indicateurs_2021S2-annuel.xlsx",
        "data/sample/20210720-055138_CD09_2021S1.csv",
    };
    char *dir = t_tmpdir();
    char path[600];
    FILE *f;

    snprintf(path, sizeof path, "%s/mixte.csv", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("signataire;periode;indicateur;valeur;cible;commentaire\n"
          "31D;2022-S1;RSA_CER;1 234;1 500;provisoire\n"
          "31D;2022-S1;RSA_CER;1 235;;\n"
          "31D;2022-S1;RSA_TX_ORIENT_1M;45 %;;\n"
          "Hte-Garone;2022-S1;RSA_CER;12;;\n"
          "31D;2022-S3;RSA_CER;12;;\n"
          "31D;2022-S1;INCONNU;12;;\n"
          "31D;2022-S1;RSA_ORIENTES;NC;;pas encore\n"
          "31D;2022-S1;RSA_ORIENT_1M;douze;;\n",
          f);
    cr_assert_eq(fclose(f), 0);

    for (size_t i = 0; i <= sizeof files / sizeof files[0]; i++) {
        const char *p = i < sizeof files / sizeof files[0] ? t_src(files[i]) : path;
        struct cp_buf direct = CP_BUF_INIT(1 << 22), replayed = CP_BUF_INIT(1 << 22);
        struct cp_table_out to_direct = {&direct, log_value, log_reject};
        struct cp_table_out to_replayed = {&replayed, log_value, log_reject};
        struct cp_rec rec;
        struct cp_table_out to_rec;
        struct cp_err e1, e2;
        char *copy = strdup(p);
        int rc1, rc2;

        rc1 = read_into(copy, &to_direct, 0, &e1);
        cp_rec_init(&rec, 1 << 22);
        to_rec = cp_rec_out(&rec);
        rc2 = read_into(copy, &to_rec, 0, &e2);
        cr_assert_eq(rc2, rc1, "%s", copy);
        cr_assert_str_eq(e2.code, e1.code, "%s", copy);
        cr_assert_str_eq(e2.where, e1.where, "%s", copy);
        cr_assert_str_eq(e2.msg, e1.msg, "%s", copy);
        cr_assert_not(rec.overflow);
        cr_assert_eq(cp_rec_replay(&rec, &to_replayed), 0);
        if (rc1 == 0)
            cr_assert_gt(direct.len, 0, "%s gave nothing", copy);
        cr_assert_str_eq(cp_buf_str(&replayed), cp_buf_str(&direct), "%s", copy);
        cp_rec_release(&rec);
        cp_buf_release(&direct);
        cp_buf_release(&replayed);
        free(copy);
    }
    t_rmtree(dir);
    free(dir);
}

/* A record stops taking events at its cap: the reader is aborted. */
Test(record, past_its_cap_the_reader_is_aborted)
{
    char *p = strdup(t_src("data/sample/20210726-203717_Indicateurs Ariège - 2021S1_v2.csv"));
    struct cp_rec rec;
    struct cp_table_out out;
    struct cp_err err;

    cp_rec_init(&rec, 300);
    out = cp_rec_out(&rec);
    cr_assert_eq(read_into(p, &out, 0, &err), CP_READ_ABORTED);
    cr_assert(rec.overflow);
    cr_assert_leq(rec.b.len, 300);
    cp_rec_release(&rec);
    free(p);
}

/* Replay stops at the first callback that refuses, and says so. */
Test(record, replay_stops_where_a_callback_refuses)
{
    char *p = strdup(t_src("data/sample/20210726-203717_Indicateurs Ariège - 2021S1_v2.csv"));
    struct cp_rec rec;
    struct cp_table_out out;
    struct cp_err err;
    int n = 0;
    struct cp_table_out refuse = {&n, stop_at_third, log_reject};

    cp_rec_init(&rec, 1 << 20);
    out = cp_rec_out(&rec);
    cr_assert_eq(read_into(p, &out, 0, &err), 0);
    cr_assert_eq(cp_rec_replay(&rec, &refuse), -1);
    cr_assert_eq(n, 3);
    cp_rec_release(&rec);
    free(p);
}

/* ---- the read-ahead thread --------------------------------------------------- */

#define JOBS 50
#define WINDOW 4
#define BATCH 2

struct jobs {
    pthread_mutex_t mu;
    size_t released;       /* slots given back, as the test counts them */
    int order_ok, window_ok;
    size_t next;           /* the job expected next */
    int cleared;
};

static void job(void *ctx, size_t i, void *slot)
{
    struct jobs *j = ctx;

    pthread_mutex_lock(&j->mu);
    if (i != j->next)
        j->order_ok = 0;
    if (i >= j->released + WINDOW)
        j->window_ok = 0;
    j->next = i + 1;
    pthread_mutex_unlock(&j->mu);
    *(size_t *)slot = i * 7 + 1;
}

static void clear(void *ctx, void *slot)
{
    struct jobs *j = ctx;

    cr_assert_neq(*(size_t *)slot, 0);
    j->cleared++;
}

Test(record, the_thread_runs_jobs_in_order_within_its_window)
{
    struct jobs j = {PTHREAD_MUTEX_INITIALIZER, 0, 1, 1, 0, 0};
    struct cp_ahead *a = cp_ahead_start(JOBS, WINDOW, BATCH, sizeof(size_t), job, &j);

    cr_assert_not_null(a);
    for (size_t i = 0; i < JOBS; i++) {
        size_t *slot = cp_ahead_take(a, i);

        cr_assert_eq(*slot, i * 7 + 1);
        if (i % 10 == 0)
            usleep(2000); /* let the thread run ahead as far as it may */
        pthread_mutex_lock(&j.mu);
        j.released = i + 1;
        pthread_mutex_unlock(&j.mu);
        cp_ahead_release(a, i);
    }
    cp_ahead_stop(a, clear);
    cr_assert(j.order_ok);
    cr_assert(j.window_ok);
    cr_assert_eq(j.next, JOBS);
    cr_assert_eq(j.cleared, 0);
}

/* Stopped early (an error in the main thread): what was prepared and not
 * released is cleared, and the thread does not go on. */
Test(record, stopped_early_it_clears_what_nobody_took)
{
    struct jobs j = {PTHREAD_MUTEX_INITIALIZER, 0, 1, 1, 0, 0};
    struct cp_ahead *a = cp_ahead_start(JOBS, WINDOW, BATCH, sizeof(size_t), job, &j);

    cr_assert_not_null(a);
    cp_ahead_take(a, 0);
    usleep(20000);
    cp_ahead_stop(a, clear);
    cr_assert_eq(j.next, WINDOW);
    cr_assert_eq(j.cleared, WINDOW);
}
