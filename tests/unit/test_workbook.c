/* Tests for render/workbook.c: synthese.xlsx, read back part by part. */
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

static void render(struct rfix *f, char *path, size_t n)
{
    struct cp_err err;

    cr_assert_eq(cp_render_workbook(&f->job, &err), 0, "%s", err.msg);
    snprintf(path, n, "%s/synthese.xlsx", f->job.dir);
}

/* The <c> element holding the first "<v>text</v>" of the sheet. */
static char *cell_with_value(const char *xml, const char *v)
{
    char needle[64];
    const char *p, *c;

    snprintf(needle, sizeof needle, "<v>%s</v>", v);
    p = strstr(xml, needle);
    if (!p)
        return NULL;
    for (c = p; c > xml && strncmp(c, "<c ", 3) != 0; c--)
        ;
    return strndup(c, (size_t)(p - c) + strlen(needle));
}

/* The number format code of the style a <c> element uses, or NULL. */
static char *format_code_of(const char *styles, const char *cell)
{
    const char *s = strstr(cell, " s=\""), *x, *nf;
    char want[48];
    int xf, id;

    if (!s)
        return NULL;
    xf = atoi(s + 4);
    x = strstr(styles, "<cellXfs");
    for (int n = 0; x && n <= xf; n++)
        x = strstr(x + 1, "<xf ");
    if (!x || !(nf = strstr(x, "numFmtId=\"")))
        return NULL;
    id = atoi(nf + 10);
    snprintf(want, sizeof want, "<numFmt numFmtId=\"%d\" formatCode=\"", id);
    nf = strstr(styles, want);
    if (!nf)
        return NULL;
    nf += strlen(want);
    return strndup(nf, strcspn(nf, "\""));
}

Test(workbook, sheets_and_frozen_filtered_tables, .init = setup, .fini = teardown)
{
    char path[256];
    char *wb, *data, *synth, *axis, *cell;

    render(&fx, path, sizeof path);
    wb = rfix_zip_part(path, "xl/workbook.xml", NULL);
    cr_assert_not_null(wb);
    cr_assert(strstr(wb, "name=\"Synthèse\""), "%s", wb);
    cr_assert(strstr(wb, "name=\"Données\""));
    cr_assert(strstr(wb, "name=\"Anomalies\""));
    cr_assert(strstr(wb, "name=\"Graphiques\""));
    /* Axis sheets: a long axis name is cut at a word, within 31 characters. */
    cr_assert(strstr(wb, "name=\"Insertion des allocataires du…\""), "%s", wb);
    cr_assert(strstr(wb, "name=\"Travail social et accès aux…\""), "%s", wb);
    /* ASE ended in 2021 and Finances is yearly: no sheet for 2022-S1. */
    cr_assert_null(strstr(wb, "Prévenir"));
    cr_assert_null(strstr(wb, "Finances"));

    data = rfix_sheet_xml(path, "Données");
    cr_assert_not_null(data);
    cr_assert(strstr(data, "state=\"frozen\""));
    cr_assert(strstr(data, "<autoFilter ref=\"A1:N"), "%.400s", data);
    /* 53.3 is a number cell with a style (its number format), not text. */
    cell = cell_with_value(data, "53.3");
    cr_assert_not_null(cell);
    cr_assert(strstr(cell, " s=\""), "%s", cell);
    cr_assert_null(strstr(cell, "t=\"s\""), "%s", cell);
    {
        char *styles = rfix_zip_part(path, "xl/styles.xml", NULL);
        char *code = format_code_of(styles, cell);

        cr_assert_str_eq(code, "0.0&quot;\xC2\xA0%&quot;", "percent in points");
        free(code);
        free(cell);
        cell = cell_with_value(data, "1200");
        code = format_code_of(styles, cell);
        cr_assert_str_eq(code, "#,##0");
        free(code);
        free(styles);
    }
    free(cell);
    /* Negative values stay numbers. */
    cr_assert(strstr(data, "<v>-12</v>"));
    /* Reception times are dates (serial numbers), not text. */
    cr_assert(strstr(data, "<v>44766.40"), "reçu le 24/07/2022 09:45:58");

    synth = rfix_sheet_xml(path, "Synthèse");
    cr_assert_not_null(synth);
    cr_assert(strstr(synth, "state=\"frozen\""));
    cr_assert(strstr(synth, "<autoFilter"));
    cr_assert(strstr(synth, "<v>1200</v>"));
    cr_assert(strstr(synth, "<v>1400</v>"), "previous period");
    cr_assert(strstr(synth, "<v>-200</v>"), "change");
    cr_assert(strstr(synth, "<v>-14.3</v>"), "relative change");
    cr_assert(strstr(synth, "<v>1300</v>"), "target summed over contributors");
    cr_assert(strstr(synth, "<v>92.3</v>"), "achievement");

    axis = rfix_sheet_xml(path, "Insertion des allocataires du…");
    cr_assert_not_null(axis);
    cr_assert(strstr(axis, "state=\"frozen\""));
    cr_assert(strstr(axis, "<autoFilter"));
    cr_assert(strstr(axis, "<mergeCell "), "indicator header spans its columns");
    free(wb);
    free(data);
    free(synth);
    free(axis);
}

Test(workbook, texts_findings_and_coverage, .init = setup, .fini = teardown)
{
    char path[256];
    char *sst;

    render(&fx, path, sizeof path);
    sst = rfix_zip_part(path, "xl/sharedStrings.xml", NULL);
    cr_assert_not_null(sst);
    cr_assert(strstr(sst, "une partie ne peut dépasser le tout."), "finding message");
    cr_assert(strstr(sst, "Nouvelle plateforme d'orientation ouverte en mars."), "explanation");
    cr_assert(strstr(sst, "<t>1/4</t>"), "coverage");
    cr_assert(strstr(sst, "Export!D13"), "origin cell");
    cr_assert(strstr(sst, "20220715-055448_export_09D_2022S1.xlsx"), "origin file");
    cr_assert(strstr(sst, "350 | 300"), "finding values, French");
    /* Other régions and signatories out of force never show. */
    cr_assert_null(strstr(sst, "Ain secret"));
    cr_assert_null(strstr(sst, "hors région"));
    cr_assert_null(strstr(sst, "Bas-Rhin"));
    free(sst);
}

Test(workbook, formula_like_text_stays_text, .init = setup, .fini = teardown)
{
    char path[256];
    char *sst, *data;

    render(&fx, path, sizeof path);
    sst = rfix_zip_part(path, "xl/sharedStrings.xml", NULL);
    data = rfix_sheet_xml(path, "Données");
    cr_assert_not_null(sst);
    cr_assert_not_null(data);
    cr_assert(strstr(sst, "<t>=1+1</t>"), "%s", sst);
    cr_assert(strstr(sst, "=HYPERLINK("), "%s", sst);
    cr_assert(strstr(sst, "=cmd|'/C calc'!A0"), "%s", sst);
    cr_assert(strstr(sst, "@SOMME(A1:A2)"));
    for (int i = 1; i <= 8; i++) {
        char part[64];
        char *xml;

        snprintf(part, sizeof part, "xl/worksheets/sheet%d.xml", i);
        xml = rfix_zip_part(path, part, NULL);
        if (xml)
            cr_assert_null(strstr(xml, "<f>"), "%s holds a formula", part);
        free(xml);
    }
    free(sst);
    free(data);
}

Test(workbook, finding_colours_and_french_formats, .init = setup, .fini = teardown)
{
    char path[256];
    char *styles, *axis, *cell;
    const char *p;
    int idx = 0, red_xf = -1, n = 0;

    render(&fx, path, sizeof path);
    styles = rfix_zip_part(path, "xl/styles.xml", NULL);
    cr_assert_not_null(styles);
    cr_assert(strstr(styles, "formatCode=\"#,##0\""));
    cr_assert(strstr(styles, "formatCode=\"0.0&quot;\xC2\xA0%&quot;\""), "%s", styles);
    cr_assert(strstr(styles, "formatCode=\"dd/mm/yyyy hh:mm\""));
    cr_assert(strstr(styles, "rgb=\"FFFFC7CE\""), "bloquant fill");
    cr_assert(strstr(styles, "rgb=\"FFFFD8A8\""), "avertissement fill");

    /* 09D's 350 (under a bloquant finding) uses a style whose fill is red:
     * find the fill index of FFC7CE, then an xf using it. */
    for (p = strstr(styles, "<fills"); p && (p = strstr(p, "<fill>")) != NULL; p++) {
        const char *end = strstr(p, "</fill>");
        if (end && strstr(p, "FFFFC7CE") && strstr(p, "FFFFC7CE") < end) {
            red_xf = idx;
            break;
        }
        idx++;
    }
    cr_assert_geq(red_xf, 0);
    axis = rfix_sheet_xml(path, "Insertion des allocataires du…");
    cell = cell_with_value(axis, "350");
    cr_assert_not_null(cell);
    {
        const char *s = strstr(cell, " s=\"");
        int xf = s ? atoi(s + 4) : -1;
        const char *x = strstr(styles, "<cellXfs");
        char want[32];

        cr_assert_geq(xf, 0);
        for (n = 0; x && n <= xf; n++)
            x = strstr(x + 1, "<xf ");
        cr_assert_not_null(x);
        snprintf(want, sizeof want, "fillId=\"%d\"", red_xf);
        cr_assert(strncmp(x, "<xf ", 4) == 0 && strstr(x, want) &&
                      strstr(x, want) < strstr(x, "/>") + 2,
                  "%.200s", x);
    }
    free(cell);
    free(axis);
    free(styles);
}

Test(workbook, native_charts, .init = setup, .fini = teardown)
{
    char path[256];
    char *c1, *c2, *graph;

    render(&fx, path, sizeof path);
    c1 = rfix_zip_part(path, "xl/charts/chart1.xml", NULL);
    cr_assert_not_null(c1, "a chart part");
    /* The time series comes first, then a bar chart per rate. */
    cr_assert(strstr(c1, "<c:lineChart>"), "%.300s", c1);
    cr_assert(strstr(c1, "Graphiques!$A$6:$A$8"), "%s", c1);
    c2 = rfix_zip_part(path, "xl/charts/chart2.xml", NULL);
    cr_assert_not_null(c2);
    cr_assert(strstr(c2, "<c:barChart>"));
    graph = rfix_sheet_xml(path, "Graphiques");
    cr_assert_not_null(graph);
    cr_assert(strstr(graph, "<drawing "));
    free(c1);
    free(c2);
    free(graph);
}

Test(workbook, same_data_same_file, .init = setup, .fini = teardown)
{
    char a[256], b[256], dir2[200];
    char *da, *db;
    size_t la = 0, lb = 0;

    render(&fx, a, sizeof a);
    /* Another folder, another rendering time: the bytes must not change. */
    snprintf(dir2, sizeof dir2, "%s/again", fx.root);
    fx.job.dir = dir2;
    fx.job.generated = "2030-01-01T00:00:00";
    render(&fx, b, sizeof b);
    da = rfix_read(a, &la);
    db = rfix_read(b, &lb);
    cr_assert_not_null(da);
    cr_assert_not_null(db);
    cr_assert_eq(la, lb);
    cr_assert_eq(memcmp(da, db, la), 0, "same data, same bytes");
    free(da);
    free(db);
    da = rfix_zip_part(a, "docProps/core.xml", NULL);
    cr_assert(strstr(da, "2022-08-01T10:00:00Z"), "document date from the data: %s", da);
    free(da);
}

Test(workbook, national_level_by_region, .init = setup, .fini = teardown)
{
    char path[256], dir[200];
    char *wb, *sst, *axis;
    struct cp_err err;

    snprintf(dir, sizeof dir, "%s/out/national/2022-S1", fx.root);
    fx.job.zone = "FR";
    fx.job.zone_name = "France";
    fx.job.national = 1;
    fx.job.dir = dir;
    cr_assert_eq(cp_render_workbook(&fx.job, &err), 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/synthese.xlsx", dir);
    wb = rfix_zip_part(path, "xl/workbook.xml", NULL);
    sst = rfix_zip_part(path, "xl/sharedStrings.xml", NULL);
    axis = rfix_sheet_xml(path, "Insertion des allocataires du…");
    cr_assert_not_null(wb);
    cr_assert_not_null(sst);
    cr_assert_not_null(axis);
    cr_assert(strstr(sst, "Occitanie – départements"));
    cr_assert(strstr(sst, "Auvergne-Rhône-Alpes – départements"));
    cr_assert(strstr(sst, "<t>2/100</t>"), "national coverage");
    cr_assert(strstr(sst, "hors région"), "every finding at national level");
    cr_assert(strstr(axis, "<v>2199</v>"));
    free(wb);
    free(sst);
    free(axis);
}

Test(workbook, unwritable_folder_fails_cleanly, .init = setup, .fini = teardown)
{
    struct cp_err err;

    fx.job.dir = "/proc/calpae-no-such-place";
    cr_assert_eq(cp_render_workbook(&fx.job, &err), -1);
    cr_assert(strstr(err.msg, "synthese.xlsx"), "%s", err.msg);
    cr_assert_neq(err.exit_status, 0);
}

Test(workbook, long_and_odd_axis_names_make_valid_unique_sheets, .init = setup, .fini = teardown)
{
    char path[256];
    char *wb;
    struct cp_err err;

    cr_assert_eq(cp_db_exec(fx.db,
                            "INSERT INTO ref_indicateur VALUES"
                            " ('X_UN','Premier','Axe expérimental : l''accès [pilote] n° 1',"
                            "  'nb','flux',NULL,NULL,NULL,0,NULL,'neutre',2019,2027,0,'D',0,40),"
                            " ('X_DEUX','Second','Axe expérimental : l''accès [pilote] n° 2',"
                            "  'nb','flux',NULL,NULL,NULL,0,NULL,'neutre',2019,2027,0,'D',0,41),"
                            " ('X_TROIS','Troisième','Données','nb','flux',NULL,NULL,NULL,0,NULL,"
                            "  'neutre',2019,2027,0,'D',0,42),"
                            " ('OF_TX','Part des jeunes','Obligation de formation','pct','ratio',"
                            "  NULL,NULL,NULL,0,100,'hausse',2020,2022,0,'R',1,43);",
                            &err),
                 0, "%s", err.msg);
    render(&fx, path, sizeof path);
    wb = rfix_zip_part(path, "xl/workbook.xml", NULL);
    cr_assert_not_null(wb);
    /* No ':' or '[', apostrophe as ’, cut at a word; then made unique. */
    cr_assert(strstr(wb, "name=\"Axe expérimental - l’accès…\""), "%s", wb);
    cr_assert(strstr(wb, "name=\"Axe expérimental - l’accès (2)\""), "%s", wb);
    cr_assert(strstr(wb, "name=\"Données (2)\""), "%s", wb);
    /* No région-type signatory in the zone: no sheet for that axis. */
    cr_assert_null(strstr(wb, "Obligation"), "%s", wb);
    free(wb);
}
