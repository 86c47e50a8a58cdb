/*
 * End to end: resubmissions (the latest received file wins, whatever the
 * order files are read in), the same bytes under another name, and two
 * different values for one key inside one file.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/afile.h"
#include "common/buf.h"
#include "common/db.h"
#include "common/period.h"
#include "common/ref.h"
#include "tests/e2e/helpers.h"

static char *dir;
static char inbox[512], db_path[512], q[512];

static void put(const char *name, const char *text)
{
    char p[700];
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", inbox, name);
    f = fopen(p, "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static void setup(void)
{
    struct cp_err err;

    dir = t_tmpdir();
    snprintf(inbox, sizeof inbox, "%s/inbox", dir);
    snprintf(db_path, sizeof db_path, "%s/c.db", dir);
    snprintf(q, sizeof q, "%s/q", dir);
    cr_assert_eq(cp_mkdirs(inbox, &err), 0);
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
}

TestSuite(ingest_cases, .init = setup, .fini = teardown, .timeout = 60);

static sqlite3 *open_db(void)
{
    sqlite3 *db;
    struct cp_err err;
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0, "%s", err.msg);
    return db;
}

Test(ingest_cases, the_latest_received_file_wins_whatever_the_reading_order)
{
    sqlite3 *db;
    char *s;

    /* "a" sorts first by name but was received last. */
    put("a-correction.csv", "signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_CER;200\n");
    put("b-premier.csv",
        "signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_CER;100\n31D;2022-S1;GAD_ENTREES;7\n");
    put("reception.csv", "fichier;recu_le\na-correction.csv;2022-08-02T10:00:00\n"
                         "b-premier.csv;2022-08-01T10:00:00\n");
    cr_assert_eq(t_ingest(db_path, q, inbox), 0);
    db = open_db();
    s = t_sql_text(db, "SELECT valeur || '|' || fichier FROM valeurs_courantes"
                       " WHERE indicateur = 'RSA_CER'");
    cr_expect_str_eq(s, "200.0|a-correction.csv");
    free(s);
    /* What the correction does not repeat stays from the first file. */
    cr_expect_eq(t_sql_int(db, "SELECT valeur FROM valeurs_courantes WHERE indicateur ="
                               " 'GAD_ENTREES'"),
                 7);
    /* History is kept. */
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM valeur WHERE indicateur = 'RSA_CER'"), 2);
    sqlite3_close(db);
}

Test(ingest_cases, same_bytes_under_another_name_are_not_counted_twice)
{
    sqlite3 *db;
    char *s;

    put("envoi.csv", "signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_CER;100\n");
    put("envoi (copie).csv", "signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_CER;100\n");
    cr_assert_eq(t_ingest(db_path, q, inbox), 0);
    db = open_db();
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM valeur"), 1);
    s = t_sql_text(db, "SELECT statut || '|' || doublon_de FROM soumissions WHERE statut ="
                       " 'doublon'");
    cr_assert_not_null(s);
    cr_expect(strcmp(s, "doublon|envoi.csv") == 0 || strcmp(s, "doublon|envoi (copie).csv") == 0,
              "%s", s);
    free(s);
    sqlite3_close(db);
    /* A second run records nothing more. */
    cr_assert_eq(t_ingest(db_path, q, inbox), 0);
    db = open_db();
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM fichier"), 2);
    sqlite3_close(db);
}

Test(ingest_cases, two_values_for_one_key_in_one_file_are_both_rejected)
{
    sqlite3 *db;
    char *s;

    put("1-ancien.csv", "signataire;periode;indicateur;valeur\n31D;2022-S1;GAD_ENTREES;9\n");
    put("2-nouveau.csv", "signataire;periode;indicateur;valeur\n"
                         "31D;2022-S1;GAD_ENTREES;10\n"
                         "31D;2022-S1;RSA_CER;100\n"
                         "31D;2022-S1;RSA_CER;100\n"
                         "31D;2022-S1;GAD_ENTREES;12\n"
                         "31D;2022-S1;GAD_ENTREES;13\n");
    put("reception.csv", "fichier;recu_le\n1-ancien.csv;2022-08-01T00:00:00\n"
                         "2-nouveau.csv;2022-08-02T00:00:00\n");
    cr_assert_eq(t_ingest(db_path, q, inbox), 65);
    db = open_db();
    s = t_sql_text(db, "SELECT group_concat(emplacement, ' ') FROM (SELECT emplacement FROM"
                       " rejets WHERE code = 'doublon' ORDER BY emplacement)");
    cr_expect_str_eq(s, "L2C4 L5C4 L6C4");
    free(s);
    s = t_sql_text(db, "SELECT message FROM rejets WHERE code = 'doublon' LIMIT 1");
    cr_expect(strstr(s, "GAD_ENTREES") && strstr(s, "aucune des deux n'est retenue"), "%s", s);
    free(s);
    /* Neither conflicting value is used: the earlier file's value stays. */
    s = t_sql_text(db, "SELECT valeur || '|' || fichier FROM valeurs_courantes WHERE"
                       " indicateur = 'GAD_ENTREES'");
    cr_expect_str_eq(s, "9.0|1-ancien.csv");
    free(s);
    /* The same figure twice is kept once. */
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM valeur WHERE indicateur = 'RSA_CER'"), 1);
    s = t_sql_text(db, "SELECT statut FROM soumissions WHERE fichier = '2-nouveau.csv'");
    cr_expect_str_eq(s, "accepte_partiel");
    free(s);
    sqlite3_close(db);
}

/* A long file repeating thousands of keys, as an export with its history:
 * each figure stored once, in order or not, and a late conflicting value
 * still found (the in-file key map, ingest/store.c, grows and predicts). */
Test(ingest_cases, a_long_file_repeating_thousands_of_keys)
{
    static const struct cp_period periods[] = {{2021, 1}, {2021, 2}, {2022, 1}};
    struct cp_ref ref;
    struct cp_err err;
    struct cp_buf text = CP_BUF_INIT(1 << 24);
    char (*keys)[64] = NULL;
    size_t n = 0, conflict_at, line;
    sqlite3 *db;
    char *s, want[64];

    cr_assert_eq(cp_ref_load(&ref, t_src("data"), &err), 0, "%s", err.msg);
    keys = calloc(20000, sizeof *keys);
    cr_assert_not_null(keys);
    for (size_t p = 0; p < sizeof periods / sizeof *periods; p++)
        for (size_t g = 0; g < ref.nsig; g++)
            for (size_t i = 0; i < ref.nind && n < 20000; i++) {
                const struct cp_indicator *d = &ref.ind[i];
                char ps[CP_PERIOD_STRLEN];

                if (ref.sig[g].type != 'D' || !cp_ref_in_force(&ref.sig[g], &periods[p]) ||
                    !cp_ref_type_allowed(d, &ref.sig[g]) || d->yearly_only ||
                    periods[p].year < d->year_from || periods[p].year > d->year_to)
                    continue;
                cp_period_str(&periods[p], ps);
                snprintf(keys[n++], sizeof *keys, "%s;%s;%s", ref.sig[g].code, ps, d->code);
            }
    cp_ref_release(&ref);
    cr_assert_gt(n, 3000, "enough keys to grow the map: %zu", n);
    conflict_at = n / 3;

    cp_buf_adds(&text, "signataire;periode;indicateur;valeur\n");
    for (int pass = 0; pass < 3; pass++)
        for (size_t k = 0; k < n; k++) {
            size_t i = pass == 2 ? n - 1 - k : k; /* the third pass backwards */
            size_t v = i % 997 + 1;

            if (pass == 2 && i == conflict_at)
                v += 1000;
            cp_buf_addf(&text, "%s;%zu\n", keys[i], v);
        }
    put("long.csv", cp_buf_str(&text));
    cp_buf_release(&text);
    cr_assert_eq(t_ingest(db_path, q, inbox), 65);

    db = open_db();
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM valeur"), (long long)n - 1);
    s = t_sql_text(db, "SELECT group_concat(emplacement, ' ') FROM (SELECT emplacement FROM"
                       " rejets WHERE code = 'doublon' ORDER BY length(emplacement),"
                       " emplacement)");
    line = 2 + conflict_at;
    snprintf(want, sizeof want, "L%zuC4 L%zuC4", line, 2 + 2 * n + (n - 1 - conflict_at));
    cr_expect_str_eq(s, want);
    free(s);
    s = t_sql_text(db, "SELECT signataire || ';' || periode || ';' || indicateur || ';' ||"
                       " CAST(valeur AS INTEGER) FROM valeur ORDER BY id LIMIT 1 OFFSET 10");
    snprintf(want, sizeof want, "%s;%d", keys[10], 11);
    cr_expect_str_eq(s, want);
    free(s);
    sqlite3_close(db);
    free(keys);
}
