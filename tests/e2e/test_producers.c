/*
 * XLSX files written by other programs are read the same: the same table
 * saved by openpyxl, by LibreOffice (XLSX and ODS) and by libxlsxwriter
 * must give the same values, targets, comments and cell locations.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#include "common/buf.h"
#include "common/db.h"
#include "tests/e2e/helpers.h"

/* The values in force, one line each, in a stable order. */
static char *dump(const char *dir, const char *file_arg)
{
    char db_path[1024], q[1024], file[1024];
    struct cp_buf b = CP_BUF_INIT(1 << 20);
    sqlite3 *db;
    sqlite3_stmt *st;
    struct cp_err err;

    snprintf(file, sizeof file, "%s", file_arg); /* t_src's buffer is reused below */
    snprintf(db_path, sizeof db_path, "%s/%s.db", dir, strrchr(file, '/') + 1);
    snprintf(q, sizeof q, "%s/q", dir);
    cr_assert_eq(t_ingest(db_path, q, file), 0, "%s was not accepted whole", file);
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT signataire, periode, indicateur, quote(valeur),"
                                    " quote(cible), quote(manquant), quote(commentaire),"
                                    " emplacement FROM valeurs_courantes ORDER BY 1, 2, 3",
                                    -1, &st, NULL),
                 SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < 8; i++)
            cp_buf_addf(&b, "%s%s", i ? "|" : "", (const char *)sqlite3_column_text(st, i));
        cp_buf_addc(&b, '\n');
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return cp_buf_detach(&b);
}

static void write_libxlsxwriter(const char *path)
{
    lxw_workbook *wb = workbook_new(path);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Indicateurs");
    lxw_format *pct = workbook_add_format(wb);
    static const char *head[] = {"Signataire", "Période", "Code indicateur", "Valeur", "Cible",
                                 "Commentaire"};

    format_set_num_format(pct, "0.0%");
    for (int c = 0; c < 6; c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, head[c], NULL);
    worksheet_write_string(ws, 1, 0, "31D", NULL);
    worksheet_write_string(ws, 1, 1, "2022-S1", NULL);
    worksheet_write_string(ws, 1, 2, "RSA_NOUV_ENTRANTS", NULL);
    worksheet_write_number(ws, 1, 3, 974, NULL);
    worksheet_write_string(ws, 2, 0, "31D", NULL);
    worksheet_write_string(ws, 2, 1, "2022-S1", NULL);
    worksheet_write_string(ws, 2, 2, "RSA_TX_ORIENT_1M", NULL);
    worksheet_write_number(ws, 2, 3, 0.426, pct);
    worksheet_write_number(ws, 2, 4, 0.45, pct);
    worksheet_write_string(ws, 3, 0, "Haute-Garonne", NULL);
    worksheet_write_string(ws, 3, 1, "2022-S1", NULL);
    worksheet_write_string(ws, 3, 2, "RSA_DELAI_ORIENT", NULL);
    worksheet_write_number(ws, 3, 3, 42.1, NULL);
    worksheet_write_number(ws, 3, 4, 40, NULL);
    worksheet_write_string(ws, 3, 5, "données provisoires", NULL);
    worksheet_write_number(ws, 4, 0, 31, NULL);
    worksheet_write_number(ws, 4, 1, 2022, NULL);
    worksheet_write_string(ws, 4, 2, "FIN_BUDGET", NULL);
    worksheet_write_number(ws, 4, 3, 1692344, NULL);
    worksheet_write_string(ws, 5, 0, "31D", NULL);
    worksheet_write_string(ws, 5, 1, "2022-S1", NULL);
    worksheet_write_string(ws, 5, 2, "AG_ENTREES", NULL);
    worksheet_write_string(ws, 5, 3, "NC", NULL);
    worksheet_write_string(ws, 5, 5, "non disponible", NULL);
    worksheet_write_string(ws, 6, 0, "Haute-Garonne (31)", NULL);
    worksheet_write_string(ws, 6, 1, "1er semestre 2022", NULL);
    worksheet_write_string(ws, 6, 2, "RSA_ORIENTES", NULL);
    worksheet_write_string(ws, 6, 3, "897", NULL);
    worksheet_write_string(workbook_add_worksheet(wb, "Notes"), 0, 0, "Fichier de test", NULL);
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
}

Test(producers, openpyxl_libreoffice_and_libxlsxwriter_files_read_the_same, .timeout = 60)
{
    char *dir = t_tmpdir();
    char lxw[1024];
    char *a, *b, *c, *d;

    snprintf(lxw, sizeof lxw, "%s/libxlsxwriter.xlsx", dir);
    write_libxlsxwriter(lxw);
    a = dump(dir, t_src("tests/data/producers/openpyxl.xlsx"));
    b = dump(dir, t_src("tests/data/producers/libreoffice.xlsx"));
    c = dump(dir, t_src("tests/data/producers/libreoffice.ods"));
    d = dump(dir, lxw);
    cr_expect_str_eq(a,
                     "31D|2022|FIN_BUDGET|1692344.0|NULL|NULL|NULL|Indicateurs!D5\n"
                     "31D|2022-S1|AG_ENTREES|NULL|NULL|'NC'|'non disponible'|Indicateurs!D6\n"
                     "31D|2022-S1|RSA_DELAI_ORIENT|42.1|40.0|NULL|'données provisoires'|Indicateurs!D4\n"
                     "31D|2022-S1|RSA_NOUV_ENTRANTS|974.0|NULL|NULL|NULL|Indicateurs!D2\n"
                     "31D|2022-S1|RSA_ORIENTES|897.0|NULL|NULL|NULL|Indicateurs!D7\n"
                     "31D|2022-S1|RSA_TX_ORIENT_1M|42.6|45.0|NULL|NULL|Indicateurs!D3\n");
    cr_expect_str_eq(b, a, "LibreOffice XLSX differs from openpyxl");
    cr_expect_str_eq(c, a, "LibreOffice ODS differs from openpyxl");
    cr_expect_str_eq(d, a, "libxlsxwriter differs from openpyxl");
    free(a);
    free(b);
    free(c);
    free(d);
    t_rmtree(dir);
    free(dir);
}
