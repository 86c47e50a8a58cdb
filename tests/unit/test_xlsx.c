/* Unit tests for ingest/xlsx.c (and the zip/XML caps of ingest/zipxml.c). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "common/buf.h"
#include "ingest/reader.h"
#include "tests/unit/wbtest.h"

#define NBSP "\xc2\xa0"

static const char s66[] = "20210728-041226_export_66D_2021S1.xlsx";
static const char s82[] = "20230209-150055_Indicateurs Tarn-et-Garonne - 2022S2-annuel.xlsx";
static const char s76[] = "20220220-190308_region76_consolidation_2021S2-annuel.xlsx";

static void read_sample(struct wbt *t, const char *name)
{
    char *p = wbt_sample(name);

    wbt_init(t);
    cr_assert_eq(wbt_read(t, 0, p, NULL), 0, "%s: %s %s %s", name, t->err.code,
                 t->err.where, t->err.msg);
    cr_assert(t->order_ok && t->nested_ok);
    free(p);
}

static void read_body(struct wbt *t, const char *body, const char *sst,
                      const char *styles, const struct cp_limits *lim)
{
    char *p = wbt_tmp(".xlsx");

    wbt_xlsx(p, body, sst, styles);
    wbt_init(t);
    wbt_read(t, 0, p, lim);
    cr_assert(t->order_ok && t->nested_ok);
    unlink(p);
    free(p);
}

static void assert_text(const struct wbt *t, const char *sheet, const char *ref,
                        const char *text)
{
    const struct wbt_cell *c = wbt_cell(t, sheet, ref);

    cr_assert_not_null(c, "%s!%s missing", sheet, ref);
    cr_assert_eq(c->kind, CP_CELL_TEXT, "%s!%s kind %d", sheet, ref, c->kind);
    cr_assert_str_eq(c->text, text, "%s!%s", sheet, ref);
}

static void assert_num(const struct wbt *t, const char *sheet, const char *ref,
                       enum cp_cell_kind kind, double num, const char *text)
{
    const struct wbt_cell *c = wbt_cell(t, sheet, ref);

    cr_assert_not_null(c, "%s!%s missing", sheet, ref);
    cr_assert_eq(c->kind, kind, "%s!%s kind %d", sheet, ref, c->kind);
    cr_assert_eq(c->num, num, "%s!%s num %.17g", sheet, ref, c->num);
    if (text)
        cr_assert_str_eq(c->text, text);
}

/* --- the real samples ------------------------------------------------------ */

Test(xlsx, report_form_sample_cells_and_second_sheet)
{
    struct wbt t;

    read_sample(&t, s66);
    cr_assert_eq(t.info.sheets, 2);
    cr_assert_eq(t.nsheets, 2);
    cr_assert_eq(t.ends, 2);
    cr_assert_str_eq(t.sheets[0], "Export");
    cr_assert_str_eq(t.sheets[1], "Instructions");
    assert_text(&t, "Export", "B3", "Signataire");
    assert_text(&t, "Export", "C3", "Pyrénées-Orientales ");
    assert_text(&t, "Export", "C4", "2021 S1");
    assert_text(&t, "Export", "D11", "3" NBSP "457");
    assert_num(&t, "Export", "D7", CP_CELL_NUMBER, 575, "575");
    assert_num(&t, "Export", "E10", CP_CELL_NUMBER, 63.4, "63.4");
    {
        const struct wbt_cell *c = wbt_cell(&t, "Export", "D17");
        cr_assert_not_null(c);
        cr_assert_eq(c->kind, CP_CELL_ERROR);
        cr_assert_str_eq(c->text, "#DIV/0!");
    }
    /* Merge A7:A10: the label is repeated on rows 8 to 10, not beyond. */
    for (int r = 7; r <= 10; r++) {
        char ref[16];
        snprintf(ref, sizeof ref, "A%d", r);
        assert_text(&t, "Export", ref, "Prévenir les sorties sèches de l'ASE");
    }
    assert_text(&t, "Export", "A11", "Insertion des allocataires du RSA");
    assert_text(&t, "Export", "A20", "Insertion des allocataires du RSA");
    assert_text(&t, "Export", "A21", "Travail social et accès aux droits");
    assert_text(&t, "Export", "A27", "Maraudes mixtes");
    /* Horizontal merge A1:F1: only the anchor holds the value. */
    cr_assert_null(wbt_cell(&t, "Export", "B1"));
    cr_assert_null(wbt_cell(&t, "Export", "A2"));
    assert_text(&t, "Instructions", "A1", "Instructions");
    assert_text(&t, "Instructions", "A6", "4. Indiquez NC si la donnée n’est pas disponible.");
    wbt_release(&t);
}

Test(xlsx, percent_style_from_custom_format)
{
    struct wbt t;

    read_sample(&t, s82);
    assert_num(&t, "Export", "F2", CP_CELL_PERCENT, 0.445, "0.445");
    assert_num(&t, "Export", "A2", CP_CELL_NUMBER, 82, "82");
    assert_num(&t, "Export", "G2", CP_CELL_NUMBER, 84.40000000000001, "84.40000000000001");
    assert_num(&t, "Export", "Y3", CP_CELL_PERCENT, 0.8100000000000001, NULL);
    assert_num(&t, "Export", "B3", CP_CELL_NUMBER, 2022, "2022");
    assert_text(&t, "Export", "L2", "SO");
    assert_text(&t, "Export", "B2", "2022-S2");
    cr_assert_eq(wbt_row_cells(&t, "Export", 3), 7);
    wbt_release(&t);
}

Test(xlsx, accented_sheet_name_and_exact_doubles)
{
    struct wbt t;

    read_sample(&t, s76);
    cr_assert_str_eq(t.sheets[0], "Données");
    assert_num(&t, "Données", "AN3", CP_CELL_NUMBER, 94.59999999999999, "94.59999999999999");
    assert_text(&t, "Données", "A2", "Ariège");
    assert_text(&t, "Données", "B2", "2021/S2");
    cr_assert_null(wbt_cell(&t, "Données", "L2"));
    wbt_release(&t);
}

Test(xlsx, every_sample_workbook_reads)
{
    const char *src = getenv("CALPAE_SRCDIR");
    char *dir;
    DIR *d;
    struct dirent *de;
    int n = 0;

    cr_assert_not_null(src);
    cr_assert_geq(asprintf(&dir, "%s/data/sample", src), 0);
    d = opendir(dir);
    cr_assert_not_null(d);
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        struct wbt t;
        if (l < 5 || strcmp(de->d_name + l - 5, ".xlsx") != 0)
            continue;
        read_sample(&t, de->d_name);
        cr_assert_gt(t.n, 10, "%s", de->d_name);
        cr_assert_eq(t.info.sheets, t.nsheets);
        wbt_release(&t);
        n++;
    }
    closedir(d);
    free(dir);
    cr_assert_geq(n, 4);
}

/* --- written by libxlsxwriter ---------------------------------------------- */

static void write_lxw(const char *path, int constant_memory)
{
    lxw_workbook_options opt = { .constant_memory = (uint8_t)constant_memory };
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    lxw_worksheet *ws, *ws2;
    lxw_format *pct, *pct10, *quoted;

    cr_assert_not_null(wb);
    ws = workbook_add_worksheet(wb, "Indicateurs");
    ws2 = workbook_add_worksheet(wb, "Notes é");
    pct = workbook_add_format(wb);
    format_set_num_format(pct, "0.0%");
    pct10 = workbook_add_format(wb);
    format_set_num_format_index(pct10, 10);
    quoted = workbook_add_format(wb);
    format_set_num_format(quoted, "0.0\"%\"");
    worksheet_write_string(ws, 0, 0, "Signataire", NULL);
    worksheet_write_string(ws, 0, 1, "31D", NULL);
    worksheet_write_string(ws, 1, 0, "Période", NULL);
    worksheet_write_number(ws, 1, 1, 2021, NULL);
    worksheet_write_number(ws, 2, 1, 0.445, pct);
    worksheet_write_number(ws, 2, 2, 0.25, pct10);
    worksheet_write_number(ws, 2, 3, 12.5, quoted);
    worksheet_write_formula(ws, 3, 1, "=B2*2", NULL);
    worksheet_write_formula_str(ws, 3, 2, "=\"a\"&\"b\"", NULL, "ab");
    worksheet_write_boolean(ws, 3, 3, 1, NULL);
    worksheet_write_string(ws, 3, 4, "ligne 1\nligne 2", NULL);
    worksheet_merge_range(ws, 4, 0, 6, 1, "Fusion", NULL);
    worksheet_write_number(ws, 5, 2, 7, NULL);
    worksheet_write_string(ws2, 0, 0, "note", NULL);
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
}

static void check_lxw(int constant_memory)
{
    char *p = wbt_tmp(".xlsx");
    struct wbt t;

    write_lxw(p, constant_memory);
    wbt_init(&t);
    cr_assert_eq(wbt_read(&t, 0, p, NULL), 0, "%s %s", t.err.code, t.err.msg);
    cr_assert(t.order_ok && t.nested_ok);
    cr_assert_eq(t.info.sheets, 2);
    cr_assert_str_eq(t.sheets[1], "Notes é");
    assert_text(&t, "Indicateurs", "A1", "Signataire");
    assert_text(&t, "Indicateurs", "B1", "31D");
    assert_num(&t, "Indicateurs", "B2", CP_CELL_NUMBER, 2021, "2021");
    assert_num(&t, "Indicateurs", "B3", CP_CELL_PERCENT, 0.445, "0.445");
    assert_num(&t, "Indicateurs", "C3", CP_CELL_PERCENT, 0.25, NULL);
    /* A quoted "%" is literal text in the format, not a percentage. */
    assert_num(&t, "Indicateurs", "D3", CP_CELL_NUMBER, 12.5, NULL);
    /* libxlsxwriter stores 0 as the cached value of a formula. */
    assert_num(&t, "Indicateurs", "B4", CP_CELL_NUMBER, 0, "0");
    assert_text(&t, "Indicateurs", "C4", "ab");
    assert_num(&t, "Indicateurs", "D4", CP_CELL_BOOL, 1, NULL);
    assert_text(&t, "Indicateurs", "E4", "ligne 1\nligne 2");
    /* Merge A5:B7: first column filled down, the other covered cells empty,
     * a cell beside the merge untouched. */
    assert_text(&t, "Indicateurs", "A5", "Fusion");
    assert_text(&t, "Indicateurs", "A6", "Fusion");
    assert_text(&t, "Indicateurs", "A7", "Fusion");
    cr_assert_null(wbt_cell(&t, "Indicateurs", "B6"));
    assert_num(&t, "Indicateurs", "C6", CP_CELL_NUMBER, 7, NULL);
    cr_assert_eq(t.last_row, 1); /* sheet "Notes é" has one row */
    assert_text(&t, "Notes é", "A1", "note");
    wbt_release(&t);
    unlink(p);
    free(p);
}

Test(xlsx, libxlsxwriter_shared_strings)
{
    check_lxw(0);
}

Test(xlsx, libxlsxwriter_constant_memory_inline_strings)
{
    check_lxw(1);
}

/* --- hand-made parts ----------------------------------------------------- */

Test(xlsx, cell_types_and_formulas_without_value)
{
    struct wbt t;

    read_body(&t,
              "<row r=\"1\">"
              "<c r=\"A1\"><f>SUM(B1:B2)</f></c>"                 /* no <v> */
              "<c r=\"B1\"><f>B2*2</f><v/></c>"                   /* openpyxl */
              "<c r=\"C1\" t=\"str\"><f>\"\"</f><v></v></c>"      /* empty result */
              "<c r=\"D1\" t=\"str\"><f>A1&amp;\"x\"</f><v>12x</v></c>"
              "<c r=\"E1\" t=\"e\"><v>#N/A</v></c>"
              "<c r=\"F1\" t=\"b\"><v>0</v></c>"
              "<c r=\"G1\" t=\"d\"><v>2021-06-30T00:00:00</v></c>"
              "<c r=\"H1\" t=\"n\"><v>-1.5E-3</v></c>"
              "<c r=\"I1\"><v>nan</v></c>"
              "<c r=\"J1\" s=\"1\"/>"
              "<c r=\"K1\" t=\"inlineStr\"><is><t/></is></c>"
              "</row></sheetData>",
              NULL, NULL, NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    {
        const struct wbt_cell *a = wbt_cell(&t, "Feuil1", "A1");
        const struct wbt_cell *b = wbt_cell(&t, "Feuil1", "B1");
        cr_assert(a && a->kind == CP_CELL_NOVALUE);
        cr_assert_str_eq(a->text, "SUM(B1:B2)");
        cr_assert(b && b->kind == CP_CELL_NOVALUE);
        cr_assert_str_eq(b->text, "B2*2");
    }
    cr_assert_null(wbt_cell(&t, "Feuil1", "C1"));
    assert_text(&t, "Feuil1", "D1", "12x");
    cr_assert_eq(wbt_cell(&t, "Feuil1", "E1")->kind, CP_CELL_ERROR);
    cr_assert_str_eq(wbt_cell(&t, "Feuil1", "E1")->text, "#N/A");
    assert_num(&t, "Feuil1", "F1", CP_CELL_BOOL, 0, "0");
    cr_assert_eq(wbt_cell(&t, "Feuil1", "G1")->kind, CP_CELL_DATE);
    cr_assert_str_eq(wbt_cell(&t, "Feuil1", "G1")->text, "2021-06-30T00:00:00");
    assert_num(&t, "Feuil1", "H1", CP_CELL_NUMBER, -1.5E-3, "-1.5E-3");
    assert_text(&t, "Feuil1", "I1", "nan"); /* not a number: left to the sink */
    cr_assert_null(wbt_cell(&t, "Feuil1", "J1"));
    cr_assert_null(wbt_cell(&t, "Feuil1", "K1"));
    cr_assert_eq(t.n, 8);
    wbt_release(&t);
}

Test(xlsx, rich_text_phonetic_runs_and_escapes)
{
    struct wbt t;

    read_body(&t,
              "<row r=\"2\">"
              "<c r=\"A2\" t=\"inlineStr\"><is><r><rPr><b/></rPr><t>Taux </t></r>"
              "<r><t xml:space=\"preserve\">d'orientation </t></r>"
              "<rPh sb=\"0\" eb=\"1\"><t>IGNORED</t></rPh></is></c>"
              "<c r=\"B2\" t=\"s\"><v>0</v></c>"
              "<c r=\"C2\" t=\"s\"><v> 1 </v></c>"
              "<c r=\"D2\" t=\"inlineStr\"><is><t>a_x000D_b_x005F_x0041_</t></is></c>"
              "</row></sheetData>",
              "<si><r><t>Pay</t></r><r><t>s</t></r><rPh><t>ペイ</t></rPh></si>"
              "<si><t>ligne_x000D_\nsuite</t></si>",
              NULL, NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    assert_text(&t, "Feuil1", "A2", "Taux d'orientation ");
    assert_text(&t, "Feuil1", "B2", "Pays");
    assert_text(&t, "Feuil1", "C2", "ligne\r\nsuite");
    assert_text(&t, "Feuil1", "D2", "a\rb_x0041_");
    wbt_release(&t);
}

Test(xlsx, positions_inferred_without_r)
{
    struct wbt t;

    read_body(&t,
              "<row><c><v>1</v></c><c><v>2</v></c><c r=\"E1\"><v>5</v></c><c><v>6</v></c></row>"
              "<row><c t=\"inlineStr\"><is><t>x</t></is></c></row>"
              "<row r=\"7\"><c><v>7</v></c></row>"
              "<row><c r=\"B8\"><v>8</v></c></row>"
              "</sheetData>",
              NULL, NULL, NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    assert_num(&t, "Feuil1", "A1", CP_CELL_NUMBER, 1, NULL);
    assert_num(&t, "Feuil1", "B1", CP_CELL_NUMBER, 2, NULL);
    assert_num(&t, "Feuil1", "E1", CP_CELL_NUMBER, 5, NULL);
    assert_num(&t, "Feuil1", "F1", CP_CELL_NUMBER, 6, NULL);
    assert_text(&t, "Feuil1", "A2", "x");
    assert_num(&t, "Feuil1", "A7", CP_CELL_NUMBER, 7, NULL);
    assert_num(&t, "Feuil1", "B8", CP_CELL_NUMBER, 8, NULL);
    wbt_release(&t);
}

Test(xlsx, merge_fill_down_over_missing_rows_and_sheet_end)
{
    struct wbt t;

    read_body(&t,
              "<row r=\"2\"><c r=\"B2\" t=\"inlineStr\"><is><t>Bloc</t></is></c>"
              "<c r=\"C2\"><v>1</v></c></row>"
              "<row r=\"4\"><c r=\"C4\"><v>3</v></c></row>"
              "<row r=\"5\"><c r=\"A5\"><v>9</v></c></row>"
              "</sheetData><mergeCells count=\"3\"><mergeCell ref=\"B2:C6\"/>"
              "<mergeCell ref=\"A5:A5\"/><mergeCell ref=\"D1:D3\"/></mergeCells>",
              NULL, NULL, NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    for (int r = 2; r <= 6; r++) {
        char ref[16];
        snprintf(ref, sizeof ref, "B%d", r);
        assert_text(&t, "Feuil1", ref, "Bloc");
    }
    /* C4 lies under the merge but only its first column is filled. */
    assert_num(&t, "Feuil1", "C4", CP_CELL_NUMBER, 3, NULL);
    cr_assert_null(wbt_cell(&t, "Feuil1", "B7"));
    cr_assert_null(wbt_cell(&t, "Feuil1", "D2"));
    cr_assert_eq(t.last_row, 6);
    wbt_release(&t);
}

Test(xlsx, overlapping_merges_do_not_lose_the_shown_value)
{
    struct wbt t;

    /* Invalid but seen in the wild: A2 anchors a merge while A1's covers it. */
    read_body(&t,
              "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>haut</t></is></c></row>"
              "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>cache</t></is></c></row>"
              "</sheetData><mergeCells><mergeCell ref=\"A1:A3\"/><mergeCell ref=\"A2:A4\"/>"
              "</mergeCells>",
              NULL, NULL, NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    assert_text(&t, "Feuil1", "A2", "haut");
    assert_text(&t, "Feuil1", "A3", "haut");
    assert_text(&t, "Feuil1", "A4", "haut");
    cr_assert_eq(t.last_row, 4);
    wbt_release(&t);
}

Test(xlsx, namespace_prefixes_and_absolute_targets)
{
    static const char wb[] =
        "<x:workbook xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
        "xmlns:rel=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
        "<x:sheets><x:sheet name=\"Un\" sheetId=\"1\" rel:id=\"a\"/>"
        "<x:sheet name=\"Deux\" sheetId=\"2\" rel:id=\"b\"/></x:sheets></x:workbook>";
    static const char rels[] =
        "<p:Relationships xmlns:p=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        "<p:Relationship Id=\"a\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"/xl/worksheets/sheet1.xml\"/>"
        "<p:Relationship Id=\"b\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"./sub/../worksheets/Sheet%202.xml\"/>"
        "<p:Relationship Id=\"c\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"/xl/strings.xml\"/>"
        "<p:Relationship Id=\"d\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"../xl/styles.xml\"/>"
        "</p:Relationships>";
    static const char root[] =
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"/xl/workbook.xml\"/>"
        "</Relationships>";
    static const char s1[] =
        "<x:worksheet xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
        "<x:sheetData><x:row r=\"1\"><x:c r=\"A1\" t=\"s\"><x:v>0</x:v></x:c>"
        "<x:c r=\"B1\" s=\"1\"><x:v>0.5</x:v></x:c></x:row>"
        "<x:row r=\"2\"><x:c r=\"A2\"><x:v>3</x:v></x:c></x:row></x:sheetData>"
        "<x:mergeCells><x:mergeCell ref=\"A1:A2\"/></x:mergeCells></x:worksheet>";
    static const char s2[] =
        "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
        "<sheetData><row r=\"3\"><c r=\"C3\" t=\"inlineStr\"><is><t>deux</t></is></c></row>"
        "</sheetData></worksheet>";
    static const char sst[] =
        "<x:sst xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
        "<x:si><x:t>Un texte</x:t></x:si></x:sst>";
    static const char styles[] =
        "<s:styleSheet xmlns:s=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
        "<s:numFmts><s:numFmt numFmtId=\"170\" formatCode=\"[Red]0\\%;0\"/></s:numFmts>"
        "<s:cellXfs><s:xf numFmtId=\"0\"/><s:xf numFmtId=\"9\"/></s:cellXfs></s:styleSheet>";
    struct wbt_entry e[] = {
        { .name = "_rels/.rels", .data = root },
        { .name = "xl/workbook.xml", .data = wb },
        { .name = "xl/_rels/workbook.xml.rels", .data = rels },
        { .name = "xl/worksheets/sheet1.xml", .data = s1 },
        { .name = "xl/worksheets/Sheet 2.xml", .data = s2 },
        { .name = "xl/strings.xml", .data = sst },
        { .name = "xl/styles.xml", .data = styles },
    };
    char *p = wbt_tmp(".xlsx");
    struct wbt t;

    wbt_zip(p, e, sizeof e / sizeof e[0]);
    wbt_init(&t);
    cr_assert_eq(wbt_read(&t, 0, p, NULL), 0, "%s %s %s", t.err.code, t.err.where, t.err.msg);
    cr_assert_eq(t.info.sheets, 2);
    assert_text(&t, "Un", "A1", "Un texte");
    /* A merged anchor wins over a stray value in a covered cell. */
    assert_text(&t, "Un", "A2", "Un texte");
    assert_num(&t, "Un", "B1", CP_CELL_PERCENT, 0.5, "0.5");
    assert_text(&t, "Deux", "C3", "deux");
    wbt_release(&t);
    unlink(p);
    free(p);
}

Test(xlsx, strict_ooxml_and_workbook_elsewhere)
{
    static const char root[] =
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        "<Relationship Id=\"r\" Type=\"http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument\" Target=\"book/main.xml\"/>"
        "</Relationships>";
    static const char wb[] =
        "<workbook xmlns=\"http://purl.oclc.org/ooxml/spreadsheetml/main\" "
        "xmlns:r=\"http://purl.oclc.org/ooxml/officeDocument/relationships\">"
        "<sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"x\"/></sheets></workbook>";
    static const char rels[] =
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        "<Relationship Id=\"x\" Type=\"http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet\" Target=\"s.xml\"/>"
        "</Relationships>";
    static const char s[] =
        "<worksheet xmlns=\"http://purl.oclc.org/ooxml/spreadsheetml/main\"><sheetData>"
        "<row r=\"1\"><c r=\"B1\"><v>42</v></c></row></sheetData></worksheet>";
    struct wbt_entry e[] = {
        { .name = "_rels/.rels", .data = root },
        { .name = "book/main.xml", .data = wb },
        { .name = "book/_rels/main.xml.rels", .data = rels },
        { .name = "book/s.xml", .data = s },
    };
    char *p = wbt_tmp(".xlsx");
    struct wbt t;

    wbt_zip(p, e, sizeof e / sizeof e[0]);
    wbt_init(&t);
    cr_assert_eq(wbt_read(&t, 0, p, NULL), 0, "%s %s %s", t.err.code, t.err.where, t.err.msg);
    assert_num(&t, "S", "B1", CP_CELL_NUMBER, 42, "42");
    wbt_release(&t);
    unlink(p);
    free(p);
}

Test(xlsx, many_styles_and_formats_stay_fast)
{
    struct cp_buf st = CP_BUF_INIT(16 << 20);
    struct wbt t;
    double t0;

    cp_buf_adds(&st, "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><numFmts>");
    for (int i = 0; i < 60000; i++)
        cp_buf_addf(&st, "<numFmt numFmtId=\"%d\" formatCode=\"0%%\"/>", 200 + 2 * i);
    cp_buf_adds(&st, "</numFmts><cellXfs>");
    for (int i = 0; i < 200000; i++)
        cp_buf_addf(&st, "<xf numFmtId=\"%d\"/>", 200 + i);
    cp_buf_adds(&st, "</cellXfs></styleSheet>");
    t0 = wbt_now();
    read_body(&t, "<row r=\"1\"><c r=\"A1\" s=\"2\"><v>0.5</v></c><c r=\"B1\" s=\"3\"><v>0.5</v></c>"
                  "</row></sheetData>", NULL, cp_buf_str(&st), NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    cr_assert_lt(wbt_now() - t0, 3.0);
    assert_num(&t, "Feuil1", "A1", CP_CELL_PERCENT, 0.5, NULL);  /* fmt 202 */
    assert_num(&t, "Feuil1", "B1", CP_CELL_NUMBER, 0.5, NULL);   /* fmt 203 */
    wbt_release(&t);
    cp_buf_release(&st);
}

/* --- what the sink says ------------------------------------------------------ */

Test(xlsx, sink_next_sheet_stop_and_abort)
{
    char *p = wbt_sample(s66);
    struct wbt t;

    /* NEXT_SHEET from sheet_begin: the sheet is skipped, sheet_end still comes. */
    wbt_init(&t);
    t.skip_on = CP_READ_NEXT_SHEET;
    t.skip_sheet = 0;
    cr_assert_eq(wbt_read(&t, 0, p, NULL), 0);
    cr_assert(t.nested_ok);
    cr_assert_eq(t.nsheets, 2);
    cr_assert_eq(t.ends, 2);
    cr_assert_null(wbt_cell(&t, "Export", "B3"));
    cr_assert_not_null(wbt_cell(&t, "Instructions", "A1"));
    wbt_release(&t);

    /* NEXT_SHEET from a row: the rest of the sheet is skipped. */
    wbt_init(&t);
    t.act_row = 4;
    t.act_ret = CP_READ_NEXT_SHEET;
    cr_assert_eq(wbt_read(&t, 0, p, NULL), 0);
    cr_assert_null(wbt_cell(&t, "Export", "B6"));
    /* The same answer at row 4 of the second sheet. */
    cr_assert_not_null(wbt_cell(&t, "Instructions", "A4"));
    cr_assert_null(wbt_cell(&t, "Instructions", "A5"));
    cr_assert_eq(t.ends, 2);
    wbt_release(&t);

    /* STOP: nothing more, not an error. */
    wbt_init(&t);
    t.act_row = 3;
    t.act_ret = CP_READ_STOP;
    cr_assert_eq(wbt_read(&t, 0, p, NULL), 0);
    cr_assert_eq(t.rows, 2);
    cr_assert_eq(t.nsheets, 1);
    cr_assert_eq(t.info.sheets, 2);
    wbt_release(&t);

    /* A negative answer aborts and leaves err untouched. */
    wbt_init(&t);
    t.act_row = 3;
    t.act_ret = -7;
    cr_assert_eq(wbt_read(&t, 0, p, NULL), CP_READ_ABORTED);
    cr_assert_str_eq(t.err.code, "");
    wbt_release(&t);
    free(p);
}

/* --- hostile and broken files -------------------------------------------------- */

static void assert_refused(const struct wbt *t, const char *code, const char *where)
{
    cr_assert_eq(t->rc, -1, "expected %s, got rc %d", code, t->rc);
    cr_assert_str_eq(t->err.code, code, "%s: %s", t->err.code, t->err.msg);
    if (where)
        cr_assert_str_eq(t->err.where, where);
    cr_assert_gt(strlen(t->err.msg), 40);
    cr_assert_eq(t->err.exit_status, CP_EX_DATAERR);
}

static void bomb(const struct cp_limits *lim, unsigned long long zeros, char fill,
                 const char *code)
{
    struct wbt_entry e[] = {
        { .name = "[Content_Types].xml", .data = "<Types/>" },
        { .name = "xl/workbook.xml",
          .data = "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
                  "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
                  "<sheets><sheet name=\"A\" sheetId=\"1\" r:id=\"r1\"/></sheets></workbook>" },
        { .name = "xl/_rels/workbook.xml.rels",
          .data = "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                  "<Relationship Id=\"r1\" Type=\"x/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
                  "</Relationships>" },
        { .name = "xl/worksheets/sheet1.xml", .fill = zeros, .fill_char = fill,
          .data = "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
                  "<sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row>" },
    };
    char *p = wbt_tmp(".xlsx");
    struct wbt t;
    double t0;

    wbt_zip(p, e, sizeof e / sizeof e[0]);
    wbt_init(&t);
    t0 = wbt_now();
    wbt_read(&t, 0, p, lim);
    cr_assert_lt(wbt_now() - t0, 3.0, "refused too slowly");
    assert_refused(&t, code, "xl/worksheets/sheet1.xml");
    /* Inflation goes block by block: nothing near the bomb's size is held. */
    cr_assert_lt(wbt_peak_rss_mib(), 200, "peak RSS %ld MiB", wbt_peak_rss_mib());
    wbt_release(&t);
    unlink(p);
    free(p);
}

Test(xlsx, zip_bomb_refused_by_ratio, .timeout = 60)
{
    struct cp_limits lim = cp_limits_default;

    lim.max_ratio = 100;
    bomb(&lim, 300ULL << 20, ' ', "zip_bomb");
}

Test(xlsx, zip_bomb_refused_by_entry_size, .timeout = 60)
{
    struct cp_limits lim = cp_limits_default;

    lim.max_entry_bytes = 8u << 20;
    bomb(&lim, 64ULL << 20, ' ', "zip_bomb");
}

Test(xlsx, zeros_are_not_xml, .timeout = 60)
{
    /* Compressed zeros are not XML: refused at the first one (the ratio cap
     * is lifted here, or it would refuse them first, as a bomb). */
    struct cp_limits lim = cp_limits_default;

    lim.max_ratio = 1e9;
    bomb(&lim, 16ULL << 20, '\0', "bad_xml");
}

Test(xlsx, archive_total_is_capped)
{
    struct cp_limits lim = cp_limits_default;
    struct cp_buf b = CP_BUF_INIT(1 << 22);
    struct wbt t;

    /* A 300 KB sheet is inflated twice (merge scan, then cells): each
     * entry is under its cap, the archive's total is not. */
    for (int r = 1; r <= 6000; r++)
        cp_buf_addf(&b, "<row r=\"%d\"><c r=\"A%d\"><v>%d</v></c></row>", r, r, r);
    cp_buf_adds(&b, "</sheetData>");
    cr_assert_gt(b.len, 250000);
    cr_assert_lt(b.len, 400000);
    lim.max_entry_bytes = 1u << 20;
    lim.max_archive_bytes = 500000;
    read_body(&t, cp_buf_str(&b), NULL, NULL, &lim);
    assert_refused(&t, "zip_bomb", "xl/worksheets/sheet1.xml");
    cr_assert_gt(t.rows, 1000); /* refused during the second pass */
    wbt_release(&t);
    lim.max_archive_bytes = 1u << 20;
    read_body(&t, cp_buf_str(&b), NULL, NULL, &lim);
    cr_assert_eq(t.rc, 0);
    cr_assert_eq(t.rows, 6000);
    wbt_release(&t);
    cp_buf_release(&b);
}

Test(xlsx, billion_laughs_refused_as_dtd)
{
    struct wbt t;

    {
        static const char laughs[] =
            "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
            " <!ENTITY lol \"lol\">\n"
            " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
            " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
            " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
            " <!ENTITY lol9 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
            "]>\n<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
            "<si><t>&lol9;</t></si></sst>";
        char *p = wbt_tmp(".xlsx");
        struct wbt_entry e[] = {
            { .name = "xl/workbook.xml",
              .data = "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"/>" },
            { .name = "xl/_rels/workbook.xml.rels",
              .data = "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                      "<Relationship Id=\"s\" Type=\"x/sharedStrings\" Target=\"sharedStrings.xml\"/>"
                      "</Relationships>" },
            { .name = "xl/sharedStrings.xml", .data = laughs },
        };
        wbt_zip(p, e, sizeof e / sizeof e[0]);
        wbt_init(&t);
        wbt_read(&t, 0, p, NULL);
        assert_refused(&t, "dtd_forbidden", "xl/sharedStrings.xml");
        cr_assert_null(strstr(t.err.msg, "lol"));
        wbt_release(&t);
        unlink(p);
        free(p);
    }
}

Test(xlsx, external_entity_refused_as_dtd)
{
    char *p = wbt_tmp(".xlsx");
    struct wbt_entry e[] = {
        { .name = "xl/workbook.xml",
          .data = "<!DOCTYPE w SYSTEM \"file:///etc/passwd\"><workbook/>" },
        { .name = "xl/_rels/workbook.xml.rels",
          .data = "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"/>" },
    };
    struct wbt t;

    wbt_zip(p, e, 2);
    wbt_init(&t);
    wbt_read(&t, 0, p, NULL);
    assert_refused(&t, "dtd_forbidden", "xl/workbook.xml");
    wbt_release(&t);
    unlink(p);
    free(p);
}

Test(xlsx, deep_nesting_refused)
{
    struct cp_buf b = CP_BUF_INIT(1 << 20);
    struct wbt t;

    cp_buf_adds(&b, "<row r=\"1\"><c r=\"A1\">");
    for (int i = 0; i < 200; i++)
        cp_buf_adds(&b, "<x>");
    for (int i = 0; i < 200; i++)
        cp_buf_adds(&b, "</x>");
    cp_buf_adds(&b, "<v>1</v></c></row></sheetData>");
    read_body(&t, cp_buf_str(&b), NULL, NULL, NULL);
    assert_refused(&t, "xml_too_deep", "xl/worksheets/sheet1.xml");
    wbt_release(&t);
    cp_buf_release(&b);
}

Test(xlsx, truncated_archive_refused)
{
    char *src = wbt_sample(s66), *p = wbt_tmp(".xlsx");
    FILE *in = fopen(src, "rb"), *out = fopen(p, "wb");
    char buf[65536];
    size_t n;
    struct wbt t;

    cr_assert(in && out);
    n = fread(buf, 1, sizeof buf, in);
    cr_assert_gt(n, 1000);
    cr_assert_eq(fwrite(buf, 1, n / 2, out), n / 2);
    cr_assert_eq(fclose(out), 0);
    fclose(in);
    wbt_init(&t);
    wbt_read(&t, 0, p, NULL);
    assert_refused(&t, "bad_archive", p);
    wbt_release(&t);
    unlink(p);
    free(p);
    free(src);
}

Test(xlsx, too_many_entries_refused)
{
    struct wbt_entry e[40];
    char names[40][24];
    struct cp_limits lim = cp_limits_default;
    char *p = wbt_tmp(".xlsx");
    struct wbt t;

    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "e%02d.xml", i);
        e[i] = (struct wbt_entry){ .name = names[i], .data = "<a/>" };
    }
    wbt_zip(p, e, 40);
    lim.max_entries = 20;
    wbt_init(&t);
    wbt_read(&t, 0, p, &lim);
    assert_refused(&t, "too_many_entries", p);
    wbt_release(&t);
    unlink(p);
    free(p);
}

Test(xlsx, not_a_zip_and_old_excel_refused)
{
    char *p = wbt_tmp(".xlsx");
    FILE *f = fopen(p, "wb");
    struct wbt t;

    fputs("signataire;periode;indicateur;valeur\n31D;2021;RSA_CER;12\n", f);
    cr_assert_eq(fclose(f), 0);
    wbt_init(&t);
    wbt_read(&t, 0, p, NULL);
    assert_refused(&t, "bad_archive", p);
    cr_assert_not_null(strstr(t.err.msg, "zip"));
    wbt_release(&t);

    f = fopen(p, "wb");
    fwrite("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0", 1, 12, f);
    cr_assert_eq(fclose(f), 0);
    wbt_init(&t);
    wbt_read(&t, 0, p, NULL);
    assert_refused(&t, "bad_archive", p);
    cr_assert_not_null(strstr(t.err.msg, ".xls"));
    wbt_release(&t);

    f = fopen(p, "wb");
    cr_assert_eq(fclose(f), 0);
    wbt_init(&t);
    wbt_read(&t, 0, p, NULL);
    assert_refused(&t, "bad_archive", p);
    wbt_release(&t);
    unlink(p);
    free(p);

    wbt_init(&t);
    wbt_read(&t, 0, "/nonexistent/calpae.xlsx", NULL);
    cr_assert_eq(t.rc, -1);
    cr_assert_str_eq(t.err.code, "io");
    cr_assert_eq(t.err.exit_status, CP_EX_NOINPUT);
    wbt_release(&t);
}

Test(xlsx, missing_workbook_or_sheet_refused)
{
    char *p = wbt_tmp(".xlsx");
    struct wbt_entry e[] = { { .name = "docProps/app.xml", .data = "<a/>" } };
    struct wbt_entry e2[] = {
        { .name = "xl/workbook.xml",
          .data = "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
                  "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
                  "<sheets><sheet name=\"A\" sheetId=\"1\" r:id=\"r1\"/></sheets></workbook>" },
        { .name = "xl/_rels/workbook.xml.rels",
          .data = "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                  "<Relationship Id=\"r1\" Type=\"x/worksheet\" Target=\"worksheets/gone.xml\"/>"
                  "</Relationships>" },
    };
    struct wbt t;

    wbt_zip(p, e, 1);
    wbt_init(&t);
    wbt_read(&t, 0, p, NULL);
    assert_refused(&t, "bad_archive", "xl/workbook.xml");
    wbt_release(&t);

    wbt_zip(p, e2, 2);
    wbt_init(&t);
    wbt_read(&t, 0, p, NULL);
    assert_refused(&t, "bad_archive", "xl/worksheets/gone.xml");
    cr_assert_not_null(strstr(t.err.msg, "« A »"));
    wbt_release(&t);
    unlink(p);
    free(p);
}

Test(xlsx, malformed_xml_names_entry_and_line)
{
    struct wbt t;

    read_body(&t, "<row r=\"1\">\n<c r=\"A1\"><v>1</v></c>\n</rowx></sheetData>",
              NULL, NULL, NULL);
    assert_refused(&t, "bad_xml", "xl/worksheets/sheet1.xml");
    cr_assert_not_null(strstr(t.err.msg, "ligne 4"), "%s", t.err.msg);
    wbt_release(&t);
}

Test(xlsx, cell_text_too_long)
{
    struct cp_limits lim = cp_limits_default;
    char body[1024], big[301];
    struct wbt t;

    memset(big, 'x', 300);
    big[300] = '\0';
    snprintf(body, sizeof body,
             "<row r=\"2\"><c r=\"A2\"><v>1</v></c><c r=\"B2\" t=\"inlineStr\"><is><t>%s</t></is></c>"
             "</row></sheetData>", big);
    lim.max_field_bytes = 100;
    read_body(&t, body, NULL, NULL, &lim);
    assert_refused(&t, "field_too_long", "Feuil1!B2");
    wbt_release(&t);

    /* A long shared string is refused where a cell uses it. */
    snprintf(body, sizeof body, "<si><t>%s</t></si>", big);
    read_body(&t, "<row r=\"3\"><c r=\"C3\" t=\"s\"><v>0</v></c></row></sheetData>",
              body, NULL, &lim);
    assert_refused(&t, "field_too_long", "Feuil1!C3");
    wbt_release(&t);
}

Test(xlsx, cells_columns_and_shared_strings_capped)
{
    struct cp_limits lim = cp_limits_default;
    struct cp_buf b = CP_BUF_INIT(1 << 20);
    struct wbt t;

    for (int r = 1; r <= 5; r++) {
        cp_buf_addf(&b, "<row r=\"%d\">", r);
        for (int c = 0; c < 4; c++)
            cp_buf_addf(&b, "<c><v>%d</v></c>", c);
        cp_buf_adds(&b, "</row>");
    }
    cp_buf_adds(&b, "</sheetData>");
    lim.max_cells = 10;
    read_body(&t, cp_buf_str(&b), NULL, NULL, &lim);
    assert_refused(&t, "too_many_cells", "Feuil1!A3");
    cr_assert_eq(t.rows, 2);
    wbt_release(&t);

    read_body(&t, "<row r=\"1\"><c r=\"XFE1\"><v>1</v></c></row></sheetData>", NULL, NULL, NULL);
    assert_refused(&t, "too_many_columns", "Feuil1!XFE1");
    wbt_release(&t);

    lim = cp_limits_default;
    lim.max_shared_strings_bytes = 64;
    read_body(&t, "</sheetData>",
              "<si><t>0123456789</t></si><si><t>0123456789</t></si>"
              "<si><t>0123456789</t></si><si><t>0123456789</t></si>",
              NULL, &lim);
    assert_refused(&t, "shared_strings_too_big", "xl/sharedStrings.xml");
    wbt_release(&t);
    cp_buf_release(&b);
}

Test(xlsx, damaged_references_refused)
{
    struct wbt t;

    read_body(&t, "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>3</v></c></row></sheetData>",
              "<si><t>seul</t></si>", NULL, NULL);
    assert_refused(&t, "bad_xml", "Feuil1!A1");
    wbt_release(&t);

    read_body(&t, "<row r=\"5\"><c r=\"A5\"><v>1</v></c></row>"
                  "<row r=\"3\"><c r=\"A3\"><v>1</v></c></row></sheetData>",
              NULL, NULL, NULL);
    assert_refused(&t, "bad_xml", "Feuil1!A3");
    cr_assert_eq(t.rows, 1);
    wbt_release(&t);

    read_body(&t, "<row r=\"1\"><c r=\"C1\"><v>1</v></c><c r=\"B1\"><v>2</v></c></row></sheetData>",
              NULL, NULL, NULL);
    assert_refused(&t, "bad_xml", "Feuil1!B1");
    wbt_release(&t);
}

Test(xlsx, wall_time_capped)
{
    struct cp_limits lim = cp_limits_default;
    char *p = wbt_sample(s66);
    struct wbt t;

    lim.max_seconds = 0;
    wbt_init(&t);
    wbt_read(&t, 0, p, &lim);
    cr_assert_eq(t.rc, -1);
    cr_assert_str_eq(t.err.code, "too_slow");
    wbt_release(&t);
    free(p);
}

/* Inputs the fuzzer once crashed or hung on: they must now be read or
 * refused cleanly, by both readers. */
Test(xlsx, fuzz_regressions)
{
    const char *src = getenv("CALPAE_SRCDIR");
    char *dir;
    DIR *d;
    struct dirent *de;

    cr_assert_not_null(src);
    cr_assert_geq(asprintf(&dir, "%s/tests/data/workbook", src), 0);
    d = opendir(dir);
    if (!d) {
        free(dir);
        return;
    }
    while ((de = readdir(d))) {
        char *p;
        struct wbt t;
        if (strncmp(de->d_name, "fuzz-", 5) != 0)
            continue;
        p = wbt_data(de->d_name);
        for (int ods = 0; ods <= 1; ods++) {
            wbt_init(&t);
            wbt_read(&t, ods, p, NULL);
            cr_assert(t.rc == 0 || t.rc == -1, "%s: rc %d", de->d_name, t.rc);
            cr_assert(t.rc == 0 || strlen(t.err.code) > 0);
            cr_assert(t.order_ok && t.nested_ok, "%s", de->d_name);
            wbt_release(&t);
        }
        free(p);
    }
    closedir(d);
    free(dir);
}
