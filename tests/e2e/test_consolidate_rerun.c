/*
 * End to end: a consolidation whose inputs did not change is skipped
 * (cp_consolidate_run_if_changed, calpae-consolidate without --force,
 * calpae-nightly) and leaves the database as it was; anything it reads
 * that changes makes the next run recompute: a new file, the rules file,
 * a reference file, an explanation, aggregates rewritten by another
 * command, hand edits from another program (through the generation of the
 * data, or every row when its triggers are gone), a bulk writer between
 * two runs. On the sample inbox, with a private copy of data/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
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

/* Every row of every table (but the generation, which every run moves,
 * and the fingerprint that holds it) as one text, numbers exactly
 * (malloc'ed). */
static char *db_state(void)
{
    struct cp_buf out = CP_BUF_INIT(1 << 28);
    sqlite3_stmt *tables, *q;
    struct cp_err err;
    sqlite3 *db;

    cp_err_clear(&err);
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                                    " AND name NOT LIKE 'sqlite%' AND name <> 'generation'"
                                    " ORDER BY name",
                                    -1, &tables, NULL),
                 SQLITE_OK);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        char sql[256];

        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY 1",
                 (const char *)sqlite3_column_text(tables, 0));
        cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK, "%s", sql);
        cp_buf_addf(&out, "## %s\n", sql);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *first = (const char *)sqlite3_column_text(q, 0);

            if (first && strcmp(first, CP_CONSOLIDATE_INPUTS_KEY) == 0)
                continue;
            for (int i = 0; i < sqlite3_column_count(q); i++) {
                if (sqlite3_column_type(q, i) == SQLITE_FLOAT)
                    cp_buf_addf(&out, "%a|", sqlite3_column_double(q, i));
                else if (sqlite3_column_type(q, i) == SQLITE_NULL)
                    cp_buf_adds(&out, "NULL|");
                else
                    cp_buf_addf(&out, "'%s'|", (const char *)sqlite3_column_text(q, i));
            }
            cp_buf_addc(&out, '\n');
        }
        sqlite3_finalize(q);
    }
    sqlite3_finalize(tables);
    sqlite3_close(db);
    return cp_buf_detach(&out);
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

/* Writes dir/name, a CSV submission from 31D of value for 2022-S1
 * RSA_NOUV_ENTRANTS; its path in path. */
static void submission(char *path, size_t n, const char *name, const char *value)
{
    FILE *f;

    snprintf(path, n, "%s/%s", dir, name);
    f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fprintf(f, "signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_NOUV_ENTRANTS;%s\n", value);
    cr_assert_eq(fclose(f), 0);
}

Test(consolidate_rerun, a_new_file_is_consolidated)
{
    struct cp_consolidate_stats st;
    char path[1024];

    submission(path, sizeof path, "20230301-100000_CD31_2022S1_v3.csv", "4321");
    cr_assert_eq(t_ingest(db_path, qdir, path), CP_EX_OK);
    cr_assert_eq(run(1, &st), 0);
    cr_assert_gt(st.agg_changed + st.agg_added, 0, "the new figure reaches the aggregates");
    cp_consolidate_stats_release(&st);
    cr_assert_eq(skipped(), 1);
}

Test(consolidate_rerun, a_rejected_file_is_consolidated)
{
    char path[1024];

    /* Nothing but a rejection: the doublon check reads them. */
    submission(path, sizeof path, "20230302-100000_CD31_2022S1_v4.csv", "beaucoup");
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

/* A statement on a connection of another program: plain sqlite3_open,
 * triggers on as by default. */
static void edit(const char *sql)
{
    sqlite3 *db;

    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}

static long long count(const char *sql)
{
    struct cp_err err;
    sqlite3 *db;
    long long n;

    cp_err_clear(&err);
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0, "%s", err.msg);
    n = t_sql_int(db, sql);
    sqlite3_close(db);
    return n;
}

Test(consolidate_rerun, hand_edits_of_any_kind_are_consolidated)
{
    long long rows = count("SELECT count(*) FROM contribution");

    edit("UPDATE valeur SET valeur = valeur + 1"
         " WHERE id = (SELECT valeur_id FROM courant"
         " ORDER BY signataire, periode, indicateur LIMIT 1)");
    cr_assert_eq(skipped(), 0);
    cr_assert_eq(skipped(), 1);
    edit("DELETE FROM contribution WHERE (niveau, zone, groupe, periode, indicateur, signataire)"
         " = (SELECT niveau, zone, groupe, periode, indicateur, signataire FROM contribution"
         " LIMIT 1)");
    cr_assert_eq(skipped(), 0);
    cr_expect_eq(count("SELECT count(*) FROM contribution"), rows, "the row is put back");
    cr_assert_eq(skipped(), 1);
    /* The same row again: a change as far as SQL knows, recomputed. */
    edit("INSERT OR REPLACE INTO courant SELECT * FROM courant"
         " ORDER BY signataire, periode, indicateur LIMIT 1");
    cr_assert_eq(skipped(), 0);
    edit("INSERT INTO meta VALUES('note', 'à la main')");
    cr_assert_eq(skipped(), 0);
    cr_assert_eq(skipped(), 1);
}

Test(consolidate_rerun, without_its_triggers_every_row_is_read)
{
    long long g;

    edit("DROP TRIGGER generation_valeur_u");
    cr_assert_eq(skipped(), 0, "the schema changed");
    cr_assert_eq(skipped(), 1);
    g = count("SELECT n FROM generation");
    edit("UPDATE valeur SET valeur = valeur + 1"
         " WHERE id = (SELECT valeur_id FROM courant"
         " ORDER BY signataire, periode, indicateur LIMIT 1)");
    cr_assert_eq(count("SELECT n FROM generation"), g, "no trigger ran");
    cr_assert_eq(skipped(), 0, "seen all the same");
    cr_assert_eq(skipped(), 1);
}

/* A bulk connection (as ingest's) open across a consolidation: its next
 * write moves the generation again. */
/* One transaction of a bulk writer: the first value in force moves by 1. */
static void bump_first_value(sqlite3 *db)
{
    struct cp_err err;

    cp_err_clear(&err);
    cr_assert_eq(cp_db_begin(db, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_db_exec(db, "UPDATE valeur SET valeur = valeur + 1 WHERE id ="
                                " (SELECT valeur_id FROM courant ORDER BY signataire, periode, indicateur LIMIT 1)",
                            &err),
                 0, "%s", err.msg);
    cr_assert_eq(cp_db_commit(db, &err), 0, "%s", err.msg);
}

Test(consolidate_rerun, a_bulk_writer_around_a_run_is_seen)
{
    struct cp_err err;
    sqlite3 *db;

    cp_err_clear(&err);
    cr_assert_eq(cp_db_open(&db, db_path, CP_DB_BULK, &err), 0, "%s", err.msg);
    bump_first_value(db);
    cr_assert_eq(skipped(), 0);
    bump_first_value(db);
    cr_assert_eq(cp_db_close(db, &err), 0);
    cr_assert_eq(skipped(), 0);
    cr_assert_eq(skipped(), 1);
}
