/* Tests for render/dossier.c and render/pdfdoc.c: the conference dossier. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fmt.h"
#include "render/charts.h"
#include "render/dossier.h"
#include "render/pdfdoc.h"
#include "rpdf_fixture.h"

static double agg(sqlite3 *db, const char *niveau, const char *zone, const char *per,
                  const char *ind)
{
    sqlite3_stmt *st;
    double v = NAN;

    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT valeur FROM agregats WHERE niveau = ? AND zone = ?"
                                    " AND groupe = 'D' AND periode = ? AND indicateur = ?",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(st, 1, niveau, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, per, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ind, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Renders charts and dossier of the fixture job; returns the PDF path. */
static void render(struct rf *f, int with_charts, char *pdf, size_t n)
{
    struct cp_charts c = {NULL, 0, NULL};
    struct cp_err err;

    if (with_charts)
        cr_assert_eq(cp_render_charts(&f->job, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_render_dossier(&f->job, with_charts ? &c : NULL, &err), 0, "%s", err.msg);
    cp_charts_release(&c);
    snprintf(pdf, n, "%s/dossier.pdf", f->out);
    cr_assert(rf_starts_with(pdf, "%PDF-", 5));
}

Test(dossier, regional_dossier_holds_what_the_commissioner_needs)
{
    struct rf f;
    char pdf[300], num[64], expect[128];
    char *layout, *raw;
    int pages;

    rf_setup(&f, NULL, 0);
    render(&f, 1, pdf, sizeof pdf);
    layout = rf_pdftotext(pdf, 0);
    raw = rf_pdftotext(pdf, 1);
    cr_assert_not_null(layout);
    cr_assert_not_null(raw);

    /* Cover. */
    cr_assert(strstr(layout, "Dossier de conférence régionale") != NULL);
    cr_assert(strstr(layout, "Occitanie (76)") != NULL);
    cr_assert(strstr(layout, "1er semestre 2022 (2022-S1)") != NULL);
    cr_assert(strstr(layout, "Données reçues jusqu'au 12/08/2022") != NULL);
    cr_assert(rf_has(raw, "12 départements sur 13, 1 métropole sur 1 et 0 région sur 1 ont "
                          "transmis des données"));
    cr_assert(rf_has(raw, "Sans données : Lozère (48D), Région Occitanie (R76)."));
    cr_assert(rf_has(raw, "Anomalies : 1 bloquante, 2 avertissements, 1 information."));

    /* Key figures, French formats: thousands with U+202F, decimal comma. */
    cp_fmt_num(agg(f.db, "region", "76", "2022-S1", "RSA_NOUV_ENTRANTS"), 0, num, sizeof num);
    cr_assert(strstr(num, "\xE2\x80\xAF") != NULL, "a number with thousands: %s", num);
    cr_assert(strstr(layout, rf_pdfspaces(num)) != NULL, "régional total %s", num);
    cp_fmt_pct(agg(f.db, "region", "76", "2022-S1", "RSA_TX_ORIENT_1M"), num, sizeof num);
    cr_assert(strstr(num, ",") != NULL);
    cr_assert(strstr(layout, rf_pdfspaces(num)) != NULL, "régional rate %s", num);
    cr_assert(strstr(layout, "52,9 % †") != NULL, "a partial rate, marked");
    cp_fmt_num(agg(f.db, "region", "76", "2021-S2", "RSA_NOUV_ENTRANTS"), 0, num, sizeof num);
    cr_assert(strstr(layout, rf_pdfspaces(num)) != NULL, "previous period %s", num);
    cr_assert(strstr(layout, "12/13") != NULL, "coverage");
    cr_assert(strstr(layout, "27 494 †") != NULL, "partial mark");
    cr_assert(rf_has(raw, "3 cibles sur 12"), "incomplete targets are not summed");
    cr_assert(rf_has(raw, "Période précédente (2021-S2)"));

    /* Tables per axis: a signatory row, a marked cell, the aggregate row. */
    cr_assert(strstr(layout, "Haute-Garonne (31D)") != NULL);
    cr_assert(rf_has(raw, "Occitanie — ensemble des départements"));
    cr_assert(rf_has(raw, "cible 55,0 % · "), "target and achievement under a value");
    cr_assert(strstr(layout, "NC") != NULL, "declared missing value of 46D");

    /* Annex 1: findings with message, file and cell, explanation. */
    cr_assert(rf_has(raw, "Le taux d'orientation en moins d'un mois (112 %) dépasse 100 % : "
                          "corrigez la valeur."));
    cr_assert(rf_has(raw, "Nouvelle plateforme d'orientation ouverte en mars."));
    cr_assert(rf_has(raw, RF_LONG_MESSAGE), "a long message, whole");
    cr_assert(rf_has(raw, "20220815-0930_export_81D_2022-S1.csv"));
    cr_assert(rf_has(raw, "L8C4"), "cell of origin");
    cr_assert(rf_has(raw, "Règle BORNES · RSA_TX_ORIENT_1M = 112"));

    /* Annex 2: files with reception date and shortened fingerprint. */
    cr_assert(rf_has(raw, "20220815-0930_export_09D_2022-S1.csv"));
    cr_assert(rf_has(raw, "metropole_toulouse_2022-S1.xlsx"));
    cr_assert(strstr(layout, "…") != NULL, "shortened fingerprint");

    /* Pages: numbered "page N / M" with M the real count, headers repeat. */
    pages = rf_pages(layout);
    cr_assert_geq(pages, 8, "pages: %d", pages);
    snprintf(expect, sizeof expect, "page %d / %d", pages, pages);
    cr_assert(strstr(layout, expect) != NULL, "last page footer %s", expect);
    cr_assert(strstr(layout, "page 2 / ") != NULL);
    cr_assert_eq(rf_count(layout, "Occitanie — 1er semestre 2022"), pages - 1,
                 "running header on every page but the cover");
    cr_assert(rf_has(raw, "Sommaire"));
    cr_assert(rf_has(raw, "(suite)"), "a table continued on the next page, header repeated");
    free(layout);
    free(raw);
    rf_teardown(&f);
}

/* Counts the images in a PDF with pdfimages -list (no shell). */
static int count_images(const char *pdf)
{
    char out[400];
    pid_t pid;
    int status, lines = 0;
    char *text;

    snprintf(out, sizeof out, "%s.images", pdf);
    pid = fork();
    if (pid == 0) {
        if (!freopen(out, "w", stdout))
            _exit(127);
        execlp("pdfimages", "pdfimages", "-list", pdf, (char *)NULL);
        _exit(127);
    }
    cr_assert_gt(pid, 0);
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    text = rf_slurp(out);
    unlink(out);
    for (char *p = text; p && *p; p++)
        lines += *p == '\n';
    free(text);
    return lines - 2; /* two header lines */
}

Test(dossier, charts_are_placed_as_vectors)
{
    struct rf f;
    char pdf[300];
    char *raw;

    rf_setup(&f, NULL, 0);
    render(&f, 1, pdf, sizeof pdf);
    raw = rf_pdftotext(pdf, 1);
    /* The charts' own text is text in the dossier, not pixels. */
    cr_assert(rf_has(raw, "Valeur par signataire"));
    cr_assert(rf_has(raw, "Évolution de la valeur régionale"));
    cr_assert(rf_has(raw, "Moyenne régionale par signataire"));
    cr_assert_eq(count_images(pdf), 0, "no raster image in the dossier");
    free(raw);
    rf_teardown(&f);
}

Test(dossier, hostile_text_stays_text)
{
    struct rf f;
    char pdf[300], marker[64], evil[400];
    char *raw;

    snprintf(marker, sizeof marker, "/tmp/pwned-d%ld", (long)getpid());
    unlink(marker);
    snprintf(evil, sizeof evil,
             "Ari`touch %s` <b>gras</b> <span foreground=\"red\">x</span> & \"q\" 'q' @%%s",
             marker);
    rf_setup(&f, evil, 0);
    render(&f, 1, pdf, sizeof pdf);
    cr_assert_neq(access(marker, F_OK), 0);
    raw = rf_pdftotext(pdf, 1);
    /* Pango markup in the data is shown, not applied. */
    cr_assert(rf_has(raw, "<b>gras</b> <span foreground=\"red\">x</span> & \"q\" 'q' @%s"),
              "hostile text shown as text");
    free(raw);
    rf_teardown(&f);
}

Test(dossier, national_dossier_by_region)
{
    struct rf f;
    char pdf[300], num[64];
    char *layout, *raw;

    rf_setup(&f, NULL, 1);
    render(&f, 1, pdf, sizeof pdf);
    layout = rf_pdftotext(pdf, 0);
    raw = rf_pdftotext(pdf, 1);
    cr_assert(strstr(layout, "Synthèse nationale") != NULL);
    cr_assert(rf_has(raw, "Couverture : 2 régions sur 3 ont des agrégats pour la période"));
    cr_assert(rf_has(raw, "Sans données : Auvergne-Rhône-Alpes."));
    cr_assert(strstr(layout, "Île-de-France") != NULL);
    cr_assert(rf_has(raw, "France — ensemble des départements"));
    cp_fmt_num(agg(f.db, "national", "FR", "2022-S1", "RSA_NOUV_ENTRANTS"), 0, num, sizeof num);
    cr_assert(strstr(layout, rf_pdfspaces(num)) != NULL, "national total %s", num);
    cp_fmt_num(agg(f.db, "region", "11", "2022-S1", "RSA_NOUV_ENTRANTS"), 0, num, sizeof num);
    cr_assert(strstr(layout, rf_pdfspaces(num)) != NULL, "Île-de-France total %s", num);
    cr_assert(strstr(layout, "2/2") != NULL, "a région's coverage");
    cr_assert(rf_has(raw, "Bloquantes"), "findings counted by région");
    cr_assert(rf_has(raw, "Paris_2022-S1.csv"));
    free(layout);
    free(raw);
    rf_teardown(&f);
}

Test(dossier, without_charts_says_so)
{
    struct rf f;
    char pdf[300];
    char *raw;

    rf_setup(&f, NULL, 0);
    render(&f, 0, pdf, sizeof pdf);
    raw = rf_pdftotext(pdf, 1);
    cr_assert(rf_has(raw, "Aucun graphique pour cette période."));
    free(raw);
    rf_teardown(&f);
}

/* A long table for the engine test. */
static int long_table(struct cp_pdf *d, void *ctx, struct cp_err *err)
{
    static const struct cp_pdf_col cols[] = {
        {"Nom", 150, 0}, {"Texte long", 261, 0}, {"Nombre", 100, CP_PDF_RIGHT}};
    struct cp_pdf_table t = {cols, 3, 8, 3, "Longue table", 0};
    char name[32], num[64];
    (void)ctx;
    (void)err;

    cp_pdf_heading(d, 1, "Une section");
    cp_pdf_table_begin(d, &t);
    for (int k = 0; k < 150; k++) {
        struct cp_pdf_cell c[3];
        memset(c, 0, sizeof c);
        snprintf(name, sizeof name, "Ligne %03d", k);
        cp_fmt_num(k * 1234.5, 1, num, sizeof num);
        c[0].text = name;
        /* Far too long for 3 lines: cut with an ellipsis, never out of the cell. */
        c[1].text = k % 10 ? "court"
                           : "Un texte très long qui ne tient pas dans la cellule et qui doit "
                             "être coupé proprement avec des points de suspension au lieu de "
                             "déborder sur la cellule voisine ou sur la ligne suivante, "
                             "même quand il continue encore et encore et encore et encore.";
        c[2].text = num;
        cp_pdf_table_row(d, &t, c);
    }
    cp_pdf_table_end(d, &t);
    return 0;
}

Test(dossier, long_tables_break_and_repeat_their_header)
{
    char dir[] = "/tmp/calpae-rpdf-XXXXXX", pdf[64], expect[32];
    struct cp_pdf_meta meta = {"Test", "gauche", "droite", "pied", "2022-09-02T06:00:00"};
    struct cp_err err;
    char *layout;
    int pages;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(pdf, sizeof pdf, "%s/t.pdf", dir);
    cr_assert_eq(cp_pdf_write(pdf, &meta, long_table, NULL, &err), 0, "%s", err.msg);
    layout = rf_pdftotext(pdf, 0);
    pages = rf_pages(layout);
    cr_assert_geq(pages, 3);
    cr_assert_eq(rf_count(layout, "Texte long"), pages, "header row on every page");
    cr_assert_eq(rf_count(layout, "Longue table (suite)"), pages - 1);
    snprintf(expect, sizeof expect, "page %d / %d", pages, pages);
    cr_assert(strstr(layout, expect) != NULL);
    cr_assert(strstr(layout, "Ligne 149") != NULL);
    cr_assert(strstr(layout, "183 940,5") != NULL, "French number");
    /* The long text is cut to 3 lines (cairo keeps the whole text as the
     * ellipsis' ActualText, so pdftotext shows it all on the last line). */
    {
        const char *a = strstr(layout, "Ligne 000"), *b = strstr(layout, "Ligne 001");
        int lines = 0;
        cr_assert(a && b && a < b);
        for (const char *p = a; p < b; p++)
            lines += *p == '\n';
        cr_assert_eq(lines, 3, "the long cell takes 3 lines, not more");
    }
    free(layout);
    unlink(pdf);
    rmdir(dir);
}
