/* Tests for render/feedback.c: retours/<signataire>.xlsx. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "render/render.h"
#include "render_fixture.h"

static struct rfix fx;

static void setup(void)
{
    rfix_setup(&fx);
}

static void teardown(void)
{
    rfix_teardown(&fx);
}

/* Renders sig's report; returns its shared strings and, in *sheet, its
 * only worksheet. */
static char *render(const char *sig, char **sheet)
{
    char path[256];
    struct cp_err err;
    char *sst;

    snprintf(path, sizeof path, "%s/retours/%s.xlsx", fx.job.dir, sig);
    cr_assert_eq(cp_render_feedback_xlsx(&fx.job, sig, path, &err), 0, "%s", err.msg);
    sst = rfix_zip_part(path, "xl/sharedStrings.xml", NULL);
    cr_assert_not_null(sst);
    if (sheet) {
        *sheet = rfix_sheet_xml(path, "Retour de contrôle");
        cr_assert_not_null(*sheet);
    }
    return sst;
}

Test(feedback_xlsx, findings_and_rejections_point_at_cells, .init = setup, .fini = teardown)
{
    char *sheet, *sst = render("09D", &sheet);

    /* Header block. */
    cr_assert(strstr(sst, "Retour de contrôle – Ariège (09D) – 2022-S1 (1er semestre 2022)"),
              "%s", sst);
    cr_assert(strstr(sst, "région Occitanie (76)"));
    cr_assert(strstr(sst, "2 rejets, 2 anomalies bloquantes, 0 avertissement, 0 information"),
              "%s", sst);
    /* Findings, each with its file, cells and the values as sent. */
    cr_assert(strstr(sst, "une partie ne peut dépasser le tout."));
    cr_assert(strstr(sst, "<t>Export!D13, Export!D12</t>"), "cells in the finding's order");
    cr_assert(strstr(sst, "<t>350 | 300</t>"));
    cr_assert(strstr(sst, "négatif (-12)"));
    cr_assert(strstr(sst, "20220715-055448_export_09D_2022S1.xlsx"));
    cr_assert(strstr(sst, "Corrigez la valeur dans votre prochain envoi"));
    /* Rejections: a cell of its file, and a row ingest could not tie to a
     * signatory, attributed through its file. */
    cr_assert(strstr(sst, "<t>Export!D17</t>"));
    cr_assert(strstr(sst, "<t>#DIV/0!</t>"), "the raw value");
    cr_assert(strstr(sst, "erreur Excel #DIV/0! : saisissez le nombre lui-même"));
    cr_assert(strstr(sst, "indicateur inconnu"));
    cr_assert(strstr(sst, "Taux de couverture du premier accueil social inconditionnel"),
              "indicator label");
    /* Not 09D's, or not this period's, or replaced long ago. */
    cr_assert_null(strstr(sst, "ancien fichier"));
    cr_assert_null(strstr(sst, "0x8F"));
    cr_assert_null(strstr(sst, "71,4 %"));
    cr_assert_null(strstr(sst, "hors région"));
    /* A table people can work with. */
    cr_assert(strstr(sheet, "state=\"frozen\""));
    cr_assert(strstr(sheet, "<autoFilter ref=\"A"), "%.300s", sheet);
    free(sst);
    free(sheet);
}

Test(feedback_xlsx, whole_file_rejection_attributed_by_file_name, .init = setup,
     .fini = teardown)
{
    char *sst = render("81D", NULL);

    /* "CD81" in the name of a file rejected whole designates 81D. */
    cr_assert(strstr(sst, "octet 0x8F invalide"), "%s", sst);
    cr_assert(strstr(sst, "<t>byte 146</t>"));
    cr_assert(strstr(sst, "fichier rejeté"));
    cr_assert(strstr(sst, "Aucune donnée reçue de Tarn (81D)"), "its finding too");
    cr_assert(strstr(sst, "Aucune valeur de ce signataire n'est en vigueur"));
    free(sst);
    /* Tarn-et-Garonne shares a word with Tarn but gets none of it. */
    sst = render("82D", NULL);
    cr_assert_null(strstr(sst, "0x8F"));
    cr_assert(strstr(sst, "Aucune anomalie ni aucun rejet"));
    free(sst);
}

Test(feedback_xlsx, explanation_and_warning, .init = setup, .fini = teardown)
{
    char *sst = render("31D", NULL);

    cr_assert(strstr(sst, "Nouveaux entrants en hausse de 71,4 % sur un an."));
    cr_assert(strstr(sst, "Nouvelle plateforme d'orientation ouverte en mars."));
    cr_assert(strstr(sst, "expliquez-la au commissaire"));
    cr_assert(strstr(sst, "<t>1 200</t>"), "the value as typed");
    cr_assert(strstr(sst, "<t>L4C3</t>"));
    cr_assert(strstr(sst, "0 rejet, 0 anomalie bloquante, 1 avertissement, 1 information"));
    cr_assert_null(strstr(sst, "0x8F"));
    free(sst);
}

Test(feedback_xlsx, name_attribution_prefers_the_longest_name, .init = setup, .fini = teardown)
{
    struct cp_err err;
    char *sst;

    /* A file for Tarn-et-Garonne, rejected whole, named by its name only. */
    cr_assert_eq(cp_db_exec(fx.db,
                            "INSERT INTO fichier(id, nom, chemin, empreinte, taille, recu_le,"
                            " source_date, format, statut, ingere_le) VALUES (20,"
                            " 'Indicateurs Tarn-et-Garonne - 2022S1.xlsx','x','e20',1,"
                            " '2022-07-30T08:00:00','mtime','xlsx','rejete','2023-01-01T00:00:00');"
                            "INSERT INTO rejet(fichier_id, emplacement, code, message) VALUES"
                            " (20, '', 'not_xlsx', 'le fichier n''est pas un classeur lisible');"
                            "INSERT INTO fichier(id, nom, chemin, empreinte, taille, recu_le,"
                            " source_date, format, statut, ingere_le) VALUES (21,"
                            " 'Indicateurs Tarn-et-Garonne - 2021S2.xlsx','x','e21',1,"
                            " '2022-07-30T08:00:00','mtime','xlsx','rejete','2023-01-01T00:00:00');"
                            "INSERT INTO rejet(fichier_id, emplacement, code, message) VALUES"
                            " (21, '', 'not_xlsx', 'autre période');",
                            &err),
                 0, "%s", err.msg);
    sst = render("82D", NULL);
    cr_assert(strstr(sst, "pas un classeur lisible"), "%s", sst);
    cr_assert_null(strstr(sst, "autre période"), "the name says 2021-S2");
    free(sst);
    sst = render("81D", NULL);
    cr_assert_null(strstr(sst, "pas un classeur lisible"));
    free(sst);
}

Test(feedback_xlsx, same_data_same_file_and_unknown_signatory, .init = setup, .fini = teardown)
{
    char a[256], b[256];
    struct cp_err err;
    char *da, *db;
    size_t la = 0, lb = 0;

    snprintf(a, sizeof a, "%s/retours/09D.xlsx", fx.job.dir);
    snprintf(b, sizeof b, "%s/autre/09D.xlsx", fx.root);
    cr_assert_eq(cp_render_feedback_xlsx(&fx.job, "09D", a, &err), 0, "%s", err.msg);
    fx.job.generated = "2040-01-01T00:00:00";
    cr_assert_eq(cp_render_feedback_xlsx(&fx.job, "09D", b, &err), 0, "%s", err.msg);
    da = rfix_read(a, &la);
    db = rfix_read(b, &lb);
    cr_assert(da && db && la == lb && memcmp(da, db, la) == 0);
    free(da);
    free(db);
    cr_assert_eq(cp_render_feedback_xlsx(&fx.job, "99Z", a, &err), -1);
    cr_assert(strstr(err.msg, "99Z"), "%s", err.msg);
    cr_assert_eq(err.exit_status, CP_EX_USAGE);
}

Test(feedback_xlsx, rejections_of_replaced_files_are_left_out, .init = setup, .fini = teardown)
{
    struct cp_err err;
    char *sst;

    /* An earlier 09D file for the same period, replaced by the one of
     * 15/07/2022 whose values are in force; and a later one, rejected. */
    cr_assert_eq(cp_db_exec(fx.db,
                            "INSERT INTO fichier(id, nom, chemin, empreinte, taille, recu_le,"
                            " source_date, format, statut, ingere_le) VALUES"
                            " (30, 'export_09D_2022S1_v0.xlsx','x','e30',1,'2022-06-01T08:00:00',"
                            "  'mtime','xlsx','accepte_partiel','2023-01-01T00:00:00'),"
                            " (31, 'export_09D_2022S1_v2.xlsx','x','e31',1,'2022-09-01T08:00:00',"
                            "  'mtime','xlsx','rejete','2023-01-01T00:00:00');"
                            "INSERT INTO rejet(fichier_id, emplacement, code, message, signataire,"
                            " periode) VALUES (30, 'Export!D9', 'not_a_number', 'remplacé depuis',"
                            " '09D', '2022-S1'),"
                            " (31, '', 'not_xlsx', 'version 2 illisible', NULL, NULL);",
                            &err),
                 0, "%s", err.msg);
    sst = render("09D", NULL);
    cr_assert_null(strstr(sst, "remplacé depuis"));
    cr_assert(strstr(sst, "version 2 illisible"), "a later file that failed");
    cr_assert(strstr(sst, "3 rejets"));
    free(sst);
}
