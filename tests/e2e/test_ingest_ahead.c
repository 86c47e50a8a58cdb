/*
 * End to end: ingest with its read-ahead thread (the default) gives the
 * database, the lines, the statistics, the exit status and the quarantine
 * of a run where the main thread reads every file itself, streaming
 * (no_read_ahead), on a mixed inbox: the samples and fixtures, a copy
 * under another name, bad and hostile files, a roll-up, a file above the
 * read-ahead size (streamed by the main thread), a file whose values
 * overflow the read-ahead record, a workbook whose shared strings exceed
 * the read-ahead cap (both read again by the main thread); then a second
 * run over the same inbox, where everything is already read.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/afile.h"
#include "common/buf.h"
#include "ingest/ingest.h"
#include "tests/e2e/helpers.h"
#include "tests/unit/wbtest.h"

/* The inbox folder of files written by the test. */
static void make_inbox(const char *inbox)
{
    struct cp_err err;
    char p[600];
    char *s;
    size_t n;

    cr_assert_eq(cp_mkdirs(inbox, &err), 0);

    /* The same bytes as a sample file, under another name. */
    s = t_slurp(t_src("data/sample/20210726-203717_Indicateurs Ariège - 2021S1_v2.csv"), &n);
    snprintf(p, sizeof p, "%s/copie.csv", inbox);
    t_write(p, s, n);
    free(s);

    /* Above the read-ahead size: one figure repeated, 1.3 MB. */
    {
        struct cp_buf b = CP_BUF_INIT(4u << 20);

        cp_buf_adds(&b, "signataire;periode;indicateur;valeur\n");
        for (int i = 0; i < 50000; i++)
            cp_buf_adds(&b, "31D;2022-S1;RSA_CER;1234\n");
        cp_buf_adds(&b, "31D;2022-S1;RSA_CER;1235\n"); /* a conflict at the end */
        cp_buf_adds(&b, "31D;2022-S1;RSA_ORIENTES;99\n");
        snprintf(p, sizeof p, "%s/grand.csv", inbox);
        t_write(p, b.data, b.len);
        cp_buf_release(&b);
    }

    /* 250 KB whose values, each with its row's comment (the first 4,000
     * characters are kept), are about 3 MB: more than a read-ahead record
     * holds. The same rows again and again: the figures are kept once. */
    {
        static const char *const periods[] = {"2021-S1", "2021-S2", "2022-S1", "2022-S2"};
        struct cp_buf b = CP_BUF_INIT(1u << 20);
        char *comment = malloc(4001);

        cr_assert_not_null(comment);
        memset(comment, 'c', 4000);
        comment[4000] = '\0';
        cp_buf_adds(&b, "signataire;periode;commentaire;RSA_NOUV_ENTRANTS;RSA_ORIENTES;"
                        "RSA_ORIENT_1M;RSA_RDV_15J;RSA_CER;GAD_ENTREES;AG_ENTREES;ASIP_LIEUX;"
                        "REFPARC_PERS;ASIP_POP_COUV;ASIP_POP_TOTALE;RSA_DELAI_ORIENT\n");
        for (int i = 0; i < 60; i++)
            cp_buf_addf(&b, "31D;%s;%s;1;2;3;4;5;6;7;8;9;10;11;12\n", periods[i % 4], comment);
        cr_assert_lt(b.len, 1u << 20);
        snprintf(p, sizeof p, "%s/commentaires.csv", inbox);
        t_write(p, b.data, b.len);
        cp_buf_release(&b);
        free(comment);
    }

    /* A small workbook with 3 MB of shared strings (beyond the read-ahead
     * cap, within the reader's). */
    {
        struct cp_buf sst = CP_BUF_INIT(4u << 20);

        cp_buf_adds(&sst, "<si><t>signataire</t></si><si><t>periode</t></si>"
                          "<si><t>indicateur</t></si><si><t>valeur</t></si>"
                          "<si><t>31D</t></si><si><t>2022-S1</t></si>"
                          "<si><t>RSA_ORIENTES</t></si>");
        for (int i = 0; i < 3; i++) {
            cp_buf_adds(&sst, "<si><t>");
            for (int k = 0; k < (1 << 20) / 64; k++)
                cp_buf_adds(&sst, "texte inutile texte inutile texte inutile texte "
                                  "inutile !!!!!!!!\n");
            cp_buf_adds(&sst, "</t></si>");
        }
        snprintf(p, sizeof p, "%s/textes.xlsx", inbox);
        wbt_xlsx(p,
                 "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
                 "<c r=\"C1\" t=\"s\"><v>2</v></c><c r=\"D1\" t=\"s\"><v>3</v></c></row>"
                 "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>4</v></c><c r=\"B2\" t=\"s\"><v>5</v></c>"
                 "<c r=\"C2\" t=\"s\"><v>6</v></c><c r=\"D2\"><v>77</v></c></row></sheetData>",
                 cp_buf_str(&sst), NULL);
        cp_buf_release(&sst);
    }

    /* Bad files. */
    t_write_in(inbox, "vide.csv", "");
    t_write_in(inbox, "ancien.xls", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 et la suite");
    t_write_in(inbox, "document.pdf", "%PDF-1.4\n%...\n");
    t_write_in(inbox, "guillemet.csv",
               "signataire;periode;indicateur;valeur\n31D;2022-S1;\"RSA_CER;1\n");
    t_write_in(inbox, "sans-entete.csv", "a;b;c\n1;2;3\n");
    t_write_in(inbox, "remontee.csv", "#calpae-rollup;1\n#region;76\nn'importe quoi\n");
    {
        static const char nul[] =
            "signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_CER;1\0\0\n";
        snprintf(p, sizeof p, "%s/nul.csv", inbox);
        t_write(p, nul, sizeof nul - 1);
    }
    s = t_slurp(t_src("data/sample/20210728-041226_export_66D_2021S1.xlsx"), &n);
    snprintf(p, sizeof p, "%s/tronque.xlsx", inbox);
    t_write(p, s, n / 2);
    free(s);
    /* Good rows and bad ones, in a workbook. */
    snprintf(p, sizeof p, "%s/lignes.xlsx", inbox);
    wbt_xlsx(p,
             "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>signataire</t></is></c>"
             "<c r=\"B1\" t=\"inlineStr\"><is><t>periode</t></is></c>"
             "<c r=\"C1\" t=\"inlineStr\"><is><t>indicateur</t></is></c>"
             "<c r=\"D1\" t=\"inlineStr\"><is><t>valeur</t></is></c></row>"
             "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>Haute-Garonne</t></is></c>"
             "<c r=\"B2\" t=\"inlineStr\"><is><t>2023-S1</t></is></c>"
             "<c r=\"C2\" t=\"inlineStr\"><is><t>RSA_CER</t></is></c><c r=\"D2\"><v>5</v></c></row>"
             "<row r=\"3\"><c r=\"A3\" t=\"inlineStr\"><is><t>Haute Garone</t></is></c>"
             "<c r=\"B3\" t=\"inlineStr\"><is><t>2023-S1</t></is></c>"
             "<c r=\"C3\" t=\"inlineStr\"><is><t>RSA_CER</t></is></c><c r=\"D3\"><v>6</v></c></row>"
             "<row r=\"4\"><c r=\"A4\" t=\"inlineStr\"><is><t>31D</t></is></c>"
             "<c r=\"B4\" t=\"inlineStr\"><is><t>2023-S1</t></is></c>"
             "<c r=\"C4\" t=\"inlineStr\"><is><t>RSA_CER</t></is></c>"
             "<c r=\"D4\" t=\"e\"><v>#DIV/0!</v></c></row></sheetData>",
             NULL, NULL);
}

/* What one run of ingest shows. */
struct outcome {
    int status;
    struct cp_ingest_stats st;
    char *lines;
};

static void ingest(const char *db, const char *qdir, const char *inbox, int no_read_ahead,
                   struct outcome *r)
{
    char *paths[5];
    struct cp_ingest_opts o = {0};
    struct cp_err err;
    size_t len = 0;
    FILE *out;

    paths[0] = strdup(t_src("data/sample"));
    paths[1] = strdup(t_src("tests/data/csv"));
    paths[2] = strdup(t_src("tests/data/workbook"));
    paths[3] = strdup(t_src("tests/data/producers"));
    paths[4] = strdup(inbox);
    r->lines = NULL;
    out = open_memstream(&r->lines, &len);
    cr_assert_not_null(out);
    o.db_path = db;
    o.data_dir = strdup(t_src("data"));
    o.quarantine_dir = qdir;
    o.paths = paths;
    o.npaths = 5;
    o.out = out;
    o.no_read_ahead = no_read_ahead;
    r->status = cp_ingest_run(&o, &r->st, &err);
    fclose(out);
    cr_assert(r->status == 0 || r->status == 65, "ingest failed (%d): %s", r->status, err.msg);
    for (int i = 0; i < 5; i++)
        free(paths[i]);
    free((char *)o.data_dir);
}

static void same_outcome(const struct outcome *a, const struct outcome *b, const char *when)
{
    cr_assert_eq(a->status, b->status, "%s", when);
    cr_assert_eq(memcmp(&a->st, &b->st, sizeof a->st), 0, "%s: statistics differ", when);
    cr_assert_str_eq(a->lines, b->lines, "%s", when);
}

static char *status_of(const char *db_path, const char *file)
{
    sqlite3 *db;
    char sql[300];
    char *s;

    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql,
             "SELECT statut || ':' || nb_valeurs || ':' || nb_rejets FROM fichier"
             " WHERE nom = '%s'",
             file);
    s = t_sql_text(db, sql);
    sqlite3_close(db);
    return s ? s : strdup("(absent)");
}

Test(ingest_ahead, read_ahead_gives_what_reading_alone_gives, .timeout = 300)
{
    char *dir = t_tmpdir();
    char inbox[512], db[2][512], q[2][512], cmd[1200];
    struct outcome first[2], again[2];
    char *d[2], *qlist[2];

    setenv("CALPAE_NOW", "2026-12-06T03:00:00", 1);
    snprintf(inbox, sizeof inbox, "%s/inbox", dir);
    make_inbox(inbox);
    for (int m = 0; m < 2; m++) { /* 0: alone, 1: read ahead */
        snprintf(db[m], sizeof db[m], "%s/c%d.db", dir, m);
        snprintf(q[m], sizeof q[m], "%s/q%d", dir, m);
        ingest(db[m], q[m], inbox, m == 0, &first[m]);
        ingest(db[m], q[m], inbox, m == 0, &again[m]);
        d[m] = t_db_dump(db[m]);
        snprintf(cmd, sizeof cmd, "cd '%s' && for f in *; do echo \"== $f\"; cat \"$f\"; done",
                 q[m]);
        qlist[m] = t_slurp_cmd(cmd);
    }
    unsetenv("CALPAE_NOW");

    same_outcome(&first[1], &first[0], "first run");
    same_outcome(&again[1], &again[0], "second run");
    cr_assert_str_eq(d[1], d[0], "the databases differ");
    cr_assert_str_eq(qlist[1], qlist[0], "the quarantines differ");

    /* The run did what the inbox asks for (not only the same thing twice). */
    cr_assert_eq(first[1].status, 65);
    cr_assert_gt(first[1].st.duplicates, 0);
    cr_assert_eq(again[1].st.already, again[1].st.files);
    cr_assert_eq(again[1].st.files, first[1].st.files);
    {
        static const char *const expect[][2] = {
            {"grand.csv", "accepte_partiel:1:2"}, /* the two values of the conflict */
            {"commentaires.csv", "accepte:48:0"},
            {"textes.xlsx", "accepte:1:0"},
            {"lignes.xlsx", "accepte_partiel:1:2"},
            {"vide.csv", "rejete:0:1"},
            {"ancien.xls", "rejete:0:1"},
            {"document.pdf", "rejete:0:1"},
            {"guillemet.csv", "rejete:0:1"},
            {"sans-entete.csv", "rejete:0:1"},
            {"remontee.csv", "rejete:0:1"},
            {"nul.csv", "rejete:0:1"},
            {"tronque.xlsx", "rejete:0:1"},
            {"copie.csv", "doublon:0:0"},
        };
        for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
            char *s = status_of(db[1], expect[i][0]);
            cr_expect_str_eq(s, expect[i][1], "%s: %s", expect[i][0], s);
            free(s);
        }
    }
    for (int m = 0; m < 2; m++) {
        free(first[m].lines);
        free(again[m].lines);
        free(d[m]);
        free(qlist[m]);
    }
    t_rmtree(dir);
    free(dir);
}
