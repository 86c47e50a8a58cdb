/*
 * The consolidate stage's run (see consolidate.h): reference data, rules,
 * then in one transaction the scope, the checks, the findings diff, the
 * exclusions, the aggregates and the fingerprints.
 */
#include "consolidate/consolidate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/ref.h"
#include "consolidate/internal.h"

void cp_consolidate_stats_release(struct cp_consolidate_stats *st)
{
    if (!st)
        return;
    free(st->problems);
    free(st->regions);
    st->problems = NULL;
    st->nproblems = 0;
    st->regions = NULL;
    st->nregions = 0;
}

static int sync_reference(sqlite3 *db, const char *datadir, struct cp_err *err)
{
    struct cp_ref ref;
    int rc;

    if (cp_ref_load(&ref, datadir, err) < 0)
        return -1;
    rc = cp_db_sync_ref(db, &ref, err);
    cp_ref_release(&ref);
    return rc;
}

static int load_rules(const struct cp_consolidate_opts *o, struct cp_run *run,
                      struct cp_rules *rules, struct cp_err *err)
{
    struct cp_rule_catalog cat = {run->codes, run->nind};
    char path[1024];

    if (o->rules_text)
        return cp_rules_parse(rules, "regles.csv", o->rules_text, strlen(o->rules_text), &cat,
                              err);
    if (o->rules_path)
        return cp_rules_load(rules, o->rules_path, &cat, err);
    if (!o->data_dir)
        return cp_err_set(err, CP_EX_CONFIG, "regles_absentes", NULL,
                          "aucun fichier de règles : indiquez --regles ou --data");
    if ((size_t)snprintf(path, sizeof path, "%s/regles.csv", o->data_dir) >= sizeof path)
        return cp_err_set(err, CP_EX_CONFIG, "regles_absentes", NULL,
                          "chemin du fichier de règles trop long");
    return cp_rules_load(rules, path, &cat, err);
}

static int count_regions(sqlite3 *db, struct cp_consolidate_stats *st, struct cp_err *err)
{
    sqlite3_stmt *q;
    int s;

    if (cp_db_prepare(db,
                      "SELECT coalesce(s.region, ''), coalesce(r.nom, ''), c.gravite, count(*)"
                      " FROM constat c LEFT JOIN ref_signataire s ON s.code = c.signataire"
                      " LEFT JOIN ref_region r ON r.code = s.region"
                      " GROUP BY 1, 2, 3 ORDER BY 1",
                      &q, err) < 0)
        return -1;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(q, 0);
        const char *g = (const char *)sqlite3_column_text(q, 2);
        struct cp_region_count *rc = NULL;

        if (st->nregions && strcmp(st->regions[st->nregions - 1].code, code) == 0) {
            rc = &st->regions[st->nregions - 1];
        } else {
            struct cp_region_count *v = realloc(st->regions, (st->nregions + 1) * sizeof *v);

            if (!v) {
                sqlite3_finalize(q);
                return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
            }
            st->regions = v;
            rc = &v[st->nregions++];
            memset(rc, 0, sizeof *rc);
            snprintf(rc->code, sizeof rc->code, "%s", code);
            snprintf(rc->name, sizeof rc->name, "%s", (const char *)sqlite3_column_text(q, 1));
        }
        for (int k = 0; k < CP_SEV_COUNT; k++)
            if (g && strcmp(g, cp_severity_name((enum cp_severity)k)) == 0)
                rc->n[k] += (unsigned long)sqlite3_column_int64(q, 3);
    }
    sqlite3_finalize(q);
    return s == SQLITE_DONE ? 0 : cp_db_fail(db, err, "décompte des constats");
}

/*
 * A database that holds regional roll-ups belongs to the national tier:
 * its aggregates come from calpae-consolidate --national. Consolidating it
 * from signatories' values would replace the national aggregates built
 * from the roll-ups (and the régions' own) with those of whatever
 * signatory values it holds, usually none: refused, nothing written.
 */
static int refuse_national_db(sqlite3 *db, struct cp_err *err)
{
    sqlite3_stmt *q;
    long long n = 0;
    int s;

    if (cp_db_prepare(db, "SELECT count(*) FROM rollups_courants", &q, err) < 0)
        return -1;
    if ((s = sqlite3_step(q)) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (s != SQLITE_ROW)
        return cp_db_fail(db, err, "lecture des remontées régionales");
    if (n > 0)
        return cp_err_set(err, CP_EX_USAGE, "base_nationale", NULL,
                          "cette base est une base nationale : elle contient %lld fichier%s de "
                          "remontée régionale en vigueur ; ses agrégats se calculent avec "
                          "calpae-consolidate --national (rien n'a été modifié)",
                          n, n > 1 ? "s" : "");
    return 0;
}

/* Compares the fingerprint of the inputs now with the one the last run
 * stored, in one read transaction (one snapshot). */
static int inputs_unchanged(sqlite3 *db, const char *files_fp, int *same, struct cp_err *err)
{
    char fp[CP_SHA256_HEX];
    char *stored;
    int rc = -1;

    *same = 0;
    if (cp_db_exec(db, "BEGIN", err) < 0)
        return -1;
    stored = cp_db_meta_get(db, CP_CONSOLIDATE_INPUTS_KEY);
    if (stored && *stored) {
        if (cp_consolidate_inputs_tables(db, files_fp, fp, err) < 0)
            goto out;
        *same = strcmp(stored, fp) == 0;
    }
    rc = 0;
out:
    free(stored);
    if (rc == 0)
        rc = cp_db_commit(db, err);
    else
        cp_db_rollback(db);
    return rc;
}

static int run_stage(const struct cp_consolidate_opts *o, int skip_unchanged,
                     struct cp_consolidate_stats *stats, struct cp_err *err)
{
    struct cp_consolidate_stats local;
    struct cp_consolidate_stats *st = stats ? stats : &local;
    struct cp_rules rules;
    struct cp_run run;
    struct cp_state_pre *pre = NULL;
    sqlite3 *db = NULL;
    char files_fp[CP_SHA256_HEX], fp[CP_SHA256_HEX];
    int rc = -1, in_tx = 0;

    memset(st, 0, sizeof *st);
    memset(&rules, 0, sizeof rules);
    memset(&run, 0, sizeof run);
    if (!o || !o->db_path)
        return cp_err_set(err, CP_EX_USAGE, "usage", NULL, "base de données non indiquée");
    /* The files are fingerprinted before they are read (see internal.h). */
    if (cp_consolidate_inputs_files(o, files_fp, err) < 0)
        return -1;
    /* Many rows written: the generation moves once, with cp_db_begin. */
    if (cp_db_open(&db, o->db_path, CP_DB_BULK, err) < 0)
        return -1;
    if (refuse_national_db(db, err) < 0)
        goto out;
    if (skip_unchanged) {
        int same;

        if (inputs_unchanged(db, files_fp, &same, err) < 0)
            goto out;
        if (same) {
            st->skipped = 1;
            rc = 0;
            goto out;
        }
    }
    if (o->data_dir && sync_reference(db, o->data_dir, err) < 0)
        goto out;
    /* Its temp tables, created from here, in 16 KiB pages: fewer pages to
     * walk per key (-1.5 % instructions; 8, 32 and 64 KiB did less). Best
     * effort: without it, the same run. (Mapping the database, 0.02 s on
     * the national bench, is not done: the mapped pages count in the
     * process's memory, which would then grow with the database instead of
     * staying within the page cache's 16 MB.) */
    sqlite3_exec(db, "PRAGMA temp.page_size = 16384", NULL, NULL,
                 NULL);
    /* Everything from here reads and writes one snapshot. */
    if (cp_db_begin(db, err) < 0)
        goto out;
    in_tx = 1;
    pre = cp_state_values_start(db);
    if (cp_run_init(&run, db, err) < 0 || load_rules(o, &run, &rules, err) < 0)
        goto out;
    run.rules = &rules;
    if (cp_checks_scope(&run) < 0 || cp_run_staging(&run) < 0 || cp_checks_run(&run, st) < 0 ||
        cp_findings_apply(&run, st) < 0 || cp_agg_run(&run, st) < 0 ||
        cp_state_update_pre(db, pre, &st->states_changed, err) < 0)
        goto out;
    /* The date of the consolidated state moves only when the state does. */
    {
        char *last = cp_db_meta_get(db, "consolide_le");
        int moved = !last || st->added || st->changed || st->removed || st->agg_added ||
                    st->agg_changed || st->agg_removed || st->explanations_lapsed ||
                    st->states_changed;

        free(last);
        if (moved && cp_db_meta_set(db, "consolide_le", run.now, err) < 0)
            goto out;
    }
    /* What the next run compares with. Not after skipped rule lines: the
     * next run must report them again. */
    if (rules.nprob || rules.nprob_dropped)
        fp[0] = '\0';
    else if (cp_consolidate_inputs_tables(db, files_fp, fp, err) < 0)
        goto out;
    if (cp_db_meta_set(db, CP_CONSOLIDATE_INPUTS_KEY, fp, err) < 0)
        goto out;
    if (cp_db_commit(db, err) < 0)
        goto out;
    in_tx = 0;
    if (count_regions(db, st, err) < 0)
        goto out;
    rc = 0;
out:
    cp_state_pre_free(pre);
    if (in_tx)
        cp_db_rollback(db);
    /* The problems go to the caller, kept even when the run failed. */
    st->problems = rules.prob;
    st->nproblems = rules.nprob;
    st->problems_dropped = rules.nprob_dropped;
    rules.prob = NULL;
    rules.nprob = 0;
    cp_rules_release(&rules);
    cp_run_release(&run);
    if (db) {
        sqlite3_exec(db, "DROP TABLE IF EXISTS temp.cp_pivot", NULL, NULL, NULL);
        if (cp_db_close(db, rc < 0 ? NULL : err) < 0)
            rc = -1;
    }
    if (st == &local)
        cp_consolidate_stats_release(&local);
    return rc;
}

int cp_consolidate_run(const struct cp_consolidate_opts *o, struct cp_consolidate_stats *stats,
                       struct cp_err *err)
{
    return run_stage(o, 0, stats, err);
}

int cp_consolidate_run_if_changed(const struct cp_consolidate_opts *o,
                                  struct cp_consolidate_stats *stats, struct cp_err *err)
{
    return run_stage(o, 1, stats, err);
}
