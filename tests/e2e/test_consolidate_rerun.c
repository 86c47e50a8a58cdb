/*
 * End to end: a consolidation whose inputs did not change is skipped
 * (cp_consolidate_run_if_changed, calpae-consolidate without --force,
 * calpae-nightly) and leaves the database as it was; anything it reads
 * that changes makes the next run recompute: a new file, the rules file,
 * a reference file, an explanation, aggregates rewritten by another
 * command. On the sample inbox, with a private copy of data/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "consolidate/consolidate.h"
#include "consolidate/explain.h"
#include "tests/e2e/helpers.h"

static char *dir;
static char db_path[512], qdir[512], data[512];

static int run(int if_changed, struct cp_consolidate_stats *st)
{
    struct cp_consolidate_opts o = {db_path, data, NULL, NULL};
    struct cp_err err;
    int rc;

    cp_err_clear(&err);
    rc = if_changed ? cp_consolidate_run_if_changed(&o, st, &err)
                    : cp_consolidate_run(&o, st, &err);
    cr_assert_eq(rc, 0, "consolidation: %s", err.msg);
    return st->skipped;
}

/* 1 when a run with unchanged inputs was skipped. */
static int skipped(void)
{
    struct cp_consolidate_stats st;
    int s = run(1, &st);

    cp_consolidate_stats_release(&st);
    return s;
}

/* Everything in the database a consolidation reads or writes, and the
 * stored fingerprint, as one text (malloc'ed). */
static char *db_state(void)
{
    struct cp_consolidate_opts o = {db_path, data, NULL, NULL};
    char fp[CP_SHA256_HEX], *stored, *out;
    struct cp_err err;
    sqlite3 *db;

    cp_err_clear(&err);
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_consolidate_inputs(db, &o, fp, &err), 0, "%s", err.msg);
    stored = t_sql_text(db, "SELECT valeur FROM meta WHERE cle = '" CP_CONSOLIDATE_INPUTS_KEY "'");
    cr_assert_not_null(stored);
    out = malloc(strlen(stored) + sizeof fp + 2);
    sprintf(out, "%s|%s", fp, stored);
    free(stored);
    sqlite3_close(db);
    return out;
}

static void append(const char *name, const char *text)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", data, name);
    f = fopen(path, "a");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static void setup(void)
{
    struct cp_consolidate_stats st;
    char cmd[2048];

    dir = t_tmpdir();
    cr_assert_not_null(dir);
    snprintf(db_path, sizeof db_path, "%s/calpae.db", dir);
    snprintf(qdir, sizeof qdir, "%s/quarantaine", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/*.csv '%s'/", data, t_src("data"), data);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(t_ingest_sample(db_path, qdir), CP_EX_DATAERR);
    cr_assert_eq(run(1, &st), 0, "the first run computes");
    cr_assert_eq(st.nproblems, 0);
    cr_assert_gt(st.findings, 0);
    cp_consolidate_stats_release(&st);
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
}

TestSuite(consolidate_rerun, .init = setup, .fini = teardown, .timeout = 120);

Test(consolidate_rerun, unchanged_inputs_are_skipped_and_change_nothing)
{
    struct cp_consolidate_stats st;
    char *before = db_state(), *after;

    cr_assert_eq(run(1, &st), 1);
    cr_assert_eq(st.findings + st.aggregates + st.added + st.changed + st.removed, 0);
    cp_consolidate_stats_release(&st);
    cr_assert_eq(skipped(), 1);
    after = db_state();
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
}

Test(consolidate_rerun, a_forced_run_recomputes_and_changes_nothing)
{
    struct cp_consolidate_stats st;
    char *before = db_state(), *after;

    cr_assert_eq(run(0, &st), 0);
    cr_assert_gt(st.findings, 0);
    cr_assert_eq(st.added + st.changed + st.removed + st.agg_added + st.agg_changed, 0);
    cp_consolidate_stats_release(&st);
    after = db_state();
    cr_assert_str_eq(before, after);
    cr_assert_eq(skipped(), 1);
    free(before);
    free(after);
}

Test(consolidate_rerun, a_new_file_is_consolidated)
{
    struct cp_consolidate_stats st;
    char path[1024];
    FILE *f;

    snprintf(path, sizeof path, "%s/20230301-100000_CD31_2022S1_v3.csv", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_NOUV_ENTRANTS;4321\n", f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(t_ingest(db_path, qdir, path), CP_EX_OK);
    cr_assert_eq(run(1, &st), 0);
    cr_assert_gt(st.agg_changed + st.agg_added, 0, "the new figure reaches the aggregates");
    cp_consolidate_stats_release(&st);
    cr_assert_eq(skipped(), 1);
}

Test(consolidate_rerun, a_rejected_file_is_consolidated)
{
    char path[1024];
    FILE *f;

    /* Nothing but a rejection: the doublon check reads them. */
    snprintf(path, sizeof path, "%s/20230302-100000_CD31_2022S1_v4.csv", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_NOUV_ENTRANTS;beaucoup\n", f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(t_ingest(db_path, qdir, path), CP_EX_DATAERR);
    cr_assert_eq(skipped(), 0);
    cr_assert_eq(skipped(), 1);
}

Test(consolidate_rerun, a_changed_rules_file_is_consolidated)
{
    append("regles.csv", "# une ligne de plus\n");
    cr_assert_eq(skipped(), 0);
    cr_assert_eq(skipped(), 1);
    append("regles.csv", "RATIO_BIS;info;ratio;;2;\n");
    cr_assert_eq(skipped(), 0);
}

Test(consolidate_rerun, a_changed_reference_file_is_consolidated)
{
    append("alias.csv", "Haute Garonne bis;31D\n");
    cr_assert_eq(skipped(), 0);
    cr_assert_eq(skipped(), 1);
}

Test(consolidate_rerun, a_new_explanation_is_consolidated)
{
    struct cp_err err;
    long long id = 0;
    sqlite3 *db;
    char *key;

    cp_err_clear(&err);
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0, "%s", err.msg);
    key = t_sql_text(db, "SELECT cle FROM constat ORDER BY id LIMIT 1");
    sqlite3_close(db);
    cr_assert_not_null(key);
    cr_assert_eq(cp_explain_add(db_path, key, "vérifié avec le département", "CLP", &id, &err), 0,
                 "%s", err.msg);
    cr_assert_eq(skipped(), 0);
    cr_assert_eq(skipped(), 1);
    free(key);
}

Test(consolidate_rerun, aggregates_rewritten_elsewhere_are_recomputed)
{
    struct cp_consolidate_stats st;
    struct cp_err err;
    sqlite3 *db;

    /* As --national or a hand edit would. */
    cp_err_clear(&err);
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(sqlite3_exec(db,
                              "UPDATE agregat SET valeur = valeur + 1 WHERE (niveau, zone, groupe,"
                              " periode, indicateur) = (SELECT niveau, zone, groupe, periode,"
                              " indicateur FROM agregat WHERE valeur IS NOT NULL LIMIT 1)",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(run(1, &st), 0);
    cr_assert_eq(st.agg_changed, 1, "the aggregate is put right");
    cp_consolidate_stats_release(&st);
    cr_assert_eq(skipped(), 1);
}

Test(consolidate_rerun, skipped_rule_lines_are_reported_on_every_run)
{
    struct cp_consolidate_stats st;

    append("regles.csv", "MAL_FORMEE;grave;relation;A <= B;;\n");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(run(1, &st), 0, "run %d is not skipped", i + 1);
        cr_assert_gt(st.nproblems, 0);
        cp_consolidate_stats_release(&st);
    }
}
