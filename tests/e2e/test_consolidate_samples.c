/*
 * End to end: ingest the sample inbox (data/sample), consolidate it with
 * the shipped rules, and check that every finding of
 * tests/expected/findings.csv is raised and every row of
 * tests/expected/aggregates.csv is reproduced (both worked out by hand
 * from the spec). Then the command line on the same database.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/db.h"
#include "consolidate/consolidate.h"
#include "tests/e2e/helpers.h"

static char *dir;
static char db_path[512], qdir[512];
static sqlite3 *db;
static struct cp_consolidate_stats first;

static void consolidate(struct cp_consolidate_stats *st)
{
    char data[1024];
    struct cp_consolidate_opts o = {db_path, data, NULL, NULL};
    struct cp_err err;

    cp_err_clear(&err);
    snprintf(data, sizeof data, "%s", t_src("data"));
    cr_assert_eq(cp_consolidate_run(&o, st, &err), 0, "cp_consolidate_run: %s", err.msg);
}

static void setup(void)
{
    struct cp_err err;

    dir = t_tmpdir();
    cr_assert_not_null(dir);
    snprintf(db_path, sizeof db_path, "%s/calpae.db", dir);
    snprintf(qdir, sizeof qdir, "%s/quarantaine", dir);
    cr_assert_eq(t_ingest_sample(db_path, qdir), CP_EX_DATAERR);
    consolidate(&first);
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    cp_consolidate_stats_release(&first);
    sqlite3_close(db);
    t_rmtree(dir);
    free(dir);
}

TestSuite(consolidate_samples, .init = setup, .fini = teardown, .timeout = 120);

Test(consolidate_samples, the_shipped_rules_are_all_used)
{
    cr_assert_eq(first.nproblems, 0, "%s", first.nproblems ? first.problems[0].msg : "");
    cr_assert_gt(first.rules, 13);
}

Test(consolidate_samples, every_expected_finding_is_raised)
{
    struct t_csv exp;
    sqlite3_stmt *st;
    int rule, sig, per, inds, sev;

    cr_assert_eq(t_csv_load(&exp, t_src("tests/expected/findings.csv")), 0);
    cr_assert_gt(exp.nrows, 0);
    rule = t_csv_col(&exp, "rule");
    sig = t_csv_col(&exp, "signataire");
    per = t_csv_col(&exp, "periode");
    inds = t_csv_col(&exp, "indicateurs");
    sev = t_csv_col(&exp, "severity");
    cr_assert(rule >= 0 && sig >= 0 && per >= 0 && inds >= 0 && sev >= 0);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT gravite, message, coalesce(fichier, ''),"
                                    " coalesce(emplacement, '') FROM constats"
                                    " WHERE regle = ?1 AND signataire = ?2 AND periode = ?3"
                                    " AND indicateurs = ?4",
                                    -1, &st, NULL),
                 SQLITE_OK);
    for (size_t i = 0; i < exp.nrows; i++) {
        char **r = exp.rows[i];

        sqlite3_bind_text(st, 1, r[rule], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r[sig], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r[per], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, r[inds], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            cr_expect_fail("finding not raised: %s %s %s %s", r[rule], r[sig], r[per], r[inds]);
        } else {
            cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), r[sev], "%s %s %s",
                             r[rule], r[sig], r[per]);
            cr_expect_neq(*sqlite3_column_text(st, 1), '\0', "empty message");
            cr_expect_neq(*sqlite3_column_text(st, 2), '\0', "%s %s: no file", r[rule], r[sig]);
            cr_expect_neq(*sqlite3_column_text(st, 3), '\0', "%s %s: no cell", r[rule], r[sig]);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    t_csv_free(&exp);
}

Test(consolidate_samples, a_rate_typed_as_a_fraction_is_named_as_such)
{
    char *m = t_sql_text(db, "SELECT message FROM constat WHERE regle = 'RATIO'"
                             " AND signataire = '09D' AND periode = '2022-S2'");

    cr_assert_not_null(m);
    cr_assert(strstr(m, "fraction"), "%s", m);
    cr_assert(strstr(m, "39,8\xC2\xA0%"), "%s", m);
    free(m);
}

static int same(double got, const char *want)
{
    double w = strtod(want, NULL);

    return fabs(got - w) <= 1e-6 * fmax(1.0, fabs(w));
}

Test(consolidate_samples, every_expected_aggregate_is_reproduced)
{
    struct t_csv exp;
    sqlite3_stmt *st;
    const char *cols[] = {"level", "zone", "periode", "indicateur", "valeur", "numerateur",
                          "denominateur", "couverts", "attendus"};
    int c[9];

    cr_assert_eq(t_csv_load(&exp, t_src("tests/expected/aggregates.csv")), 0);
    cr_assert_gt(exp.nrows, 100);
    for (int k = 0; k < 9; k++) {
        c[k] = t_csv_col(&exp, cols[k]);
        cr_assert_geq(c[k], 0, "column %s", cols[k]);
    }
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT valeur, numerateur, denominateur, couverts, attendus,"
                                    " partiel FROM agregats WHERE niveau = ?1 AND zone = ?2"
                                    " AND groupe = 'D' AND periode = ?3 AND indicateur = ?4",
                                    -1, &st, NULL),
                 SQLITE_OK);
    for (size_t i = 0; i < exp.nrows; i++) {
        char **r = exp.rows[i];
        const char *what = r[c[3]];

        for (int k = 0; k < 4; k++)
            sqlite3_bind_text(st, k + 1, r[c[k]], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            cr_expect_fail("no aggregate %s %s %s %s", r[c[0]], r[c[1]], r[c[2]], what);
            sqlite3_reset(st);
            continue;
        }
        cr_expect(same(sqlite3_column_double(st, 0), r[c[4]]), "%s %s %s %s: %.9g for %s",
                  r[c[0]], r[c[1]], r[c[2]], what, sqlite3_column_double(st, 0), r[c[4]]);
        for (int k = 1; k <= 2; k++) {
            const char *want = r[c[4 + k]];

            if (!*want)
                cr_expect_eq(sqlite3_column_type(st, k), SQLITE_NULL, "%s %s %s: %s should be "
                             "empty", r[c[1]], r[c[2]], what, cols[4 + k]);
            else
                cr_expect(same(sqlite3_column_double(st, k), want), "%s %s %s %s: %.9g for %s",
                          r[c[1]], r[c[2]], what, cols[4 + k], sqlite3_column_double(st, k),
                          want);
        }
        cr_expect_eq(sqlite3_column_int(st, 3), atoi(r[c[7]]), "%s %s %s %s: couverts %d for %s",
                     r[c[0]], r[c[1]], r[c[2]], what, sqlite3_column_int(st, 3), r[c[7]]);
        cr_expect_eq(sqlite3_column_int(st, 4), atoi(r[c[8]]), "%s %s %s %s: attendus %d for %s",
                     r[c[0]], r[c[1]], r[c[2]], what, sqlite3_column_int(st, 4), r[c[8]]);
        cr_expect_eq(sqlite3_column_int(st, 5), atoi(r[c[7]]) < atoi(r[c[8]]), "partiel");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    t_csv_free(&exp);
}

Test(consolidate_samples, a_second_run_changes_nothing)
{
    struct cp_consolidate_stats again;
    char *before = t_sql_text(db, "SELECT group_concat(id || cle, ';') FROM"
                                  " (SELECT id, cle FROM constat ORDER BY id)");
    char *after;

    consolidate(&again);
    after = t_sql_text(db, "SELECT group_concat(id || cle, ';') FROM"
                           " (SELECT id, cle FROM constat ORDER BY id)");
    cr_assert_str_eq(before, after);
    cr_assert_eq(again.added + again.changed + again.removed, 0);
    cr_assert_eq(again.agg_added + again.agg_changed + again.agg_removed, 0);
    cr_assert_eq(again.states_changed, 0);
    cr_assert_eq(again.findings, first.findings);
    cr_assert_gt(t_sql_int(db, "SELECT count(*) FROM meta WHERE cle = 'etat:76:2022-S1'"), 0);
    cp_consolidate_stats_release(&again);
    free(before);
    free(after);
}

/* Runs the sanitized executable through the shell; its exit status. */
static int run_cli(const char *args, const char *grep)
{
    const char *bindir = getenv("CALPAE_BINDIR");
    char cmd[4096];
    int st;

    if (!bindir || !*bindir)
        return -1;
    snprintf(cmd, sizeof cmd, "%s/calpae-consolidate %s >%s/out.txt 2>&1", bindir, args, dir);
    st = system(cmd);
    if (grep) {
        snprintf(cmd, sizeof cmd, "grep -q -- '%s' %s/out.txt", grep, dir);
        cr_expect_eq(system(cmd), 0, "output of %s lacks « %s »", args, grep);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(consolidate_samples, the_command_line)
{
    char args[2048];

    if (!getenv("CALPAE_BINDIR"))
        cr_skip_test("CALPAE_BINDIR unset: the executable is tested by make check");
    cr_assert_eq(run_cli("--help", "Usage : calpae-consolidate"), 0);
    cr_assert_eq(run_cli("--version", "calpae-consolidate"), 0);
    cr_assert_eq(run_cli("--nimporte", "Usage"), CP_EX_USAGE);
    /* setup consolidated already: nothing new since. */
    snprintf(args, sizeof args, "--db %s --data %s", db_path, t_src("data"));
    cr_assert_eq(run_cli(args, "rien de nouveau depuis la dernière consolidation"), 0);
    snprintf(args, sizeof args, "--db %s --data %s --quiet", db_path, t_src("data"));
    cr_assert_eq(run_cli(args, "rien de nouveau"), 0);
    snprintf(args, sizeof args, "--db %s --data %s --force", db_path, t_src("data"));
    cr_assert_eq(run_cli(args, "constats par région"), 0);
    snprintf(args, sizeof args, "--db %s --force --constats", db_path);
    cr_assert_eq(run_cli(args, "incompatibles"), CP_EX_USAGE);
    snprintf(args, sizeof args, "--db %s --constats --region 76 --periode 2022-S1", db_path);
    cr_assert_eq(run_cli(args, "PARTIE_TOUT|82D|2022-S1|RSA_ORIENT_1M,RSA_ORIENTES"), 0);
    snprintf(args, sizeof args,
             "--db %s --expliquer 'PARTIE_TOUT|82D|2022-S1|RSA_ORIENT_1M,RSA_ORIENTES'"
             " --justification 'erreur de saisie signalée au département' --auteur CLP",
             db_path);
    cr_assert_eq(run_cli(args, "explication n°"), 0);
    snprintf(args, sizeof args, "--db %s --explications", db_path);
    cr_assert_eq(run_cli(args, "en vigueur"), 0);
    snprintf(args, sizeof args, "--db %s --expliquer 'X|Y' --justification z", db_path);
    cr_assert_eq(run_cli(args, "constat_inconnu"), CP_EX_DATAERR);
    snprintf(args, sizeof args, "--db %s --expliquer 'X|Y'", db_path);
    cr_assert_eq(run_cli(args, "justification"), CP_EX_USAGE);
    snprintf(args, sizeof args, "--db %s --data %s --regles %s/absent.csv", db_path,
             t_src("data"), dir);
    cr_assert_eq(run_cli(args, "regles_absentes"), CP_EX_CONFIG);
    {
        char *e = t_sql_text(db, "SELECT explication FROM constats WHERE regle = 'PARTIE_TOUT'"
                                 " AND signataire = '82D'");

        cr_assert_not_null(e);
        cr_assert_str_eq(e, "erreur de saisie signalée au département");
        free(e);
    }
    {
        char rules[1024];
        FILE *f;

        snprintf(rules, sizeof rules, "%s/regles.csv", dir);
        f = fopen(rules, "w");
        cr_assert_not_null(f);
        fputs("id;gravite;controle;expression;tolerance;message\n"
              "PT;bloquant;relation;RSA_ORIENT_1M <= RSA_ORIENTES;;\n"
              "X;bloquant;relation;RSA_ORIENT_1M <= RSA_INCONNU;;\n", f);
        cr_assert_eq(fclose(f), 0);
        snprintf(args, sizeof args, "--db %s --data %s --regles %s", db_path, t_src("data"),
                 rules);
        cr_assert_eq(run_cli(args, "regles.csv, ligne 3 : "), CP_EX_DATAERR);
        cr_assert_eq(t_sql_int(db, "SELECT count(*) FROM constat WHERE regle = 'PT'"), 1);
        cr_assert_eq(t_sql_int(db, "SELECT count(*) FROM constat WHERE regle = 'BORNES'"), 0);
    }
}
