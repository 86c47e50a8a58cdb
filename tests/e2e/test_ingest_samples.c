/*
 * End to end: ingest the sample inbox (data/sample, the spec's samples as
 * they really arrive) and compare what is in force and what was rejected
 * with tests/expected/values.csv and rejections.csv, worked out by hand.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/db.h"
#include "tests/e2e/helpers.h"

static char *dir;
static char db_path[512], qdir[512];
static sqlite3 *db;
static int ingest_status;

static void setup(void)
{
    struct cp_err err;

    dir = t_tmpdir();
    cr_assert_not_null(dir);
    snprintf(db_path, sizeof db_path, "%s/calpae.db", dir);
    snprintf(qdir, sizeof qdir, "%s/quarantaine", dir);
    ingest_status = t_ingest_sample(db_path, qdir);
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    sqlite3_close(db);
    t_rmtree(dir);
    free(dir);
}

static int close_enough(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

TestSuite(ingest_samples, .init = setup, .fini = teardown, .timeout = 120);

Test(ingest_samples, data_problems_are_reported_by_the_exit_status)
{
    cr_assert_eq(ingest_status, CP_EX_DATAERR);
}

Test(ingest_samples, values_in_force_are_exactly_the_expected_ones)
{
    struct t_csv exp;
    sqlite3_stmt *st;
    size_t found = 0;

    cr_assert_eq(t_csv_load(&exp, t_src("tests/expected/values.csv")), 0);
    cr_assert_gt(exp.nrows, 1000);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT valeur, cible FROM valeurs_courantes WHERE"
                                    " signataire = ?1 AND periode = ?2 AND indicateur = ?3",
                                    -1, &st, NULL),
                 SQLITE_OK);
    for (size_t i = 0; i < exp.nrows; i++) {
        char **r = exp.rows[i];

        sqlite3_bind_text(st, 1, r[0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r[1], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r[2], -1, SQLITE_STATIC);
        cr_expect_eq(sqlite3_step(st), SQLITE_ROW, "no value in force for %s %s %s", r[0],
                     r[1], r[2]);
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
            double v = sqlite3_column_double(st, 0);
            cr_expect(close_enough(v, atof(r[3])), "%s %s %s: %.10g instead of %s", r[0], r[1],
                      r[2], v, r[3]);
            found++;
        } else {
            cr_expect_fail("%s %s %s: NULL instead of %s", r[0], r[1], r[2], r[3]);
        }
        if (r[4][0])
            cr_expect(close_enough(sqlite3_column_double(st, 1), atof(r[4])),
                      "%s %s %s: target %.10g instead of %s", r[0], r[1], r[2],
                      sqlite3_column_double(st, 1), r[4]);
        else
            cr_expect_eq(sqlite3_column_type(st, 1), SQLITE_NULL, "%s %s %s: unexpected target",
                         r[0], r[1], r[2]);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    /* Nothing else with a number: declared-missing values (NULL) aside. */
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM valeurs_courantes WHERE valeur IS NOT NULL"),
                 (long long)found);
    t_csv_free(&exp);
}

Test(ingest_samples, rejections_are_exactly_the_expected_ones)
{
    struct t_csv exp;
    sqlite3_stmt *st;

    cr_assert_eq(t_csv_load(&exp, t_src("tests/expected/rejections.csv")), 0);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT count(*) FROM rejets WHERE fichier = ?1 AND"
                                    " emplacement = ?2 AND code = ?3",
                                    -1, &st, NULL),
                 SQLITE_OK);
    for (size_t i = 0; i < exp.nrows; i++) {
        char **r = exp.rows[i];

        sqlite3_bind_text(st, 1, r[0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r[1], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r[2], -1, SQLITE_STATIC);
        cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
        cr_expect_eq(sqlite3_column_int(st, 0), 1, "missing rejection %s %s %s", r[0], r[1],
                     r[2]);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM rejets"), (long long)exp.nrows,
                 "other rejections than the expected ones");
    t_csv_free(&exp);
}

Test(ingest_samples, every_rejection_says_where_what_and_how_in_french)
{
    char *m = t_sql_text(db, "SELECT message FROM rejets WHERE code = 'unknown_signatory'");

    cr_assert_not_null(m);
    cr_expect(strstr(m, "20220901-153424_region76_renvoi_consolidation_2022S1.csv") != NULL, "%s", m);
    cr_expect(strstr(m, "ligne 12") != NULL, "%s", m);
    cr_expect(strstr(m, "Pyrénées-Oirentales") != NULL, "%s", m);
    cr_expect(strstr(m, "Pyrénées-Orientales (66D)") != NULL, "%s", m);
    free(m);
    m = t_sql_text(db, "SELECT message FROM rejets WHERE code = 'excel_error'");
    cr_assert_not_null(m);
    cr_expect(strstr(m, "feuille « Export », cellule D17") != NULL, "%s", m);
    cr_expect(strstr(m, "#DIV/0!") != NULL, "%s", m);
    cr_expect(strstr(m, "RSA_TX_RDV_15J") != NULL, "%s", m);
    free(m);
    m = t_sql_text(db, "SELECT message FROM rejets WHERE code = 'bad_encoding'");
    cr_assert_not_null(m);
    cr_expect(strstr(m, "0x8F") != NULL && strstr(m, "146") != NULL, "%s", m);
    free(m);
}

Test(ingest_samples, every_value_knows_its_file_cell_and_reception_time)
{
    char *s = t_sql_text(db,
                         "SELECT fichier || '|' || emplacement || '|' || recu_le FROM"
                         " valeurs_courantes WHERE signataire = '66D' AND periode = '2021-S1'"
                         " AND indicateur = 'RSA_NOUV_ENTRANTS'");
    cr_assert_not_null(s);
    cr_expect_str_eq(s, "20210728-041226_export_66D_2021S1.xlsx|Export!D11|2021-07-28T04:12:26");
    free(s);
    s = t_sql_text(db,
                   "SELECT fichier || '|' || emplacement FROM valeurs_courantes WHERE"
                   " signataire = '31D' AND periode = '2022-S1' AND indicateur = 'RSA_ORIENTES'");
    cr_assert_not_null(s);
    /* The région's re-sent file came last: it wins over 31D's own file. */
    cr_expect_str_eq(s, "20220901-153424_region76_renvoi_consolidation_2022S1.csv|L6C4");
    free(s);
    s = t_sql_text(db, "SELECT empreinte FROM soumissions WHERE fichier LIKE '%CD48_2021S2_v2.ods'");
    cr_assert_not_null(s);
    cr_expect_eq(strlen(s), 64);
    free(s);
}

Test(ingest_samples, unreadable_file_is_quarantined_untouched_with_a_report)
{
    char path[1024];
    char *status = t_sql_text(db, "SELECT statut FROM soumissions WHERE fichier ="
                                  " '20210720-055138_CD09_2021S1.csv'");
    cr_expect_str_eq(status, "rejete");
    free(status);
    snprintf(path, sizeof path, "%s/20210720-055138_CD09_2021S1.csv", qdir);
    cr_expect_eq(access(path, R_OK), 0, "quarantined copy missing");
    snprintf(path, sizeof path, "%s/20210720-055138_CD09_2021S1.csv.rapport.txt", qdir);
    cr_expect_eq(access(path, R_OK), 0, "report missing");
    cr_expect_eq(access(t_src("data/sample/20210720-055138_CD09_2021S1.csv"), R_OK), 0,
                 "the inbox copy is left in place");
}

Test(ingest_samples, ingesting_the_same_inbox_twice_changes_nothing)
{
    long long files = t_sql_int(db, "SELECT count(*) FROM fichier");
    long long values = t_sql_int(db, "SELECT count(*) FROM valeur");
    long long rejects = t_sql_int(db, "SELECT count(*) FROM rejet");
    long long current = t_sql_int(db, "SELECT total(valeur_id) FROM courant");

    cr_assert_eq(t_ingest_sample(db_path, qdir), CP_EX_OK);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM fichier"), files);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM valeur"), values);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM rejet"), rejects);
    cr_expect_eq(t_sql_int(db, "SELECT total(valeur_id) FROM courant"), current);
}
