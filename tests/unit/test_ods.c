/* Unit tests for ingest/ods.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "ingest/reader.h"
#include "tests/unit/wbtest.h"

static const char s48[] = "20220120-072812_48D_indicateurs_2021S2.ods";
static const char scd48[] = "20220206-233022_CD48_2021S2_v2.ods";
static const char sloz[] = "20220209-184129_Rapport Lozère 2021.ods";

static void read_sample(struct wbt *t, const char *name)
{
    char *p = wbt_sample(name);

    wbt_init(t);
    cr_assert_eq(wbt_read(t, 1, p, NULL), 0, "%s: %s %s %s", name, t->err.code,
                 t->err.where, t->err.msg);
    cr_assert(t->order_ok && t->nested_ok);
    free(p);
}

static void read_tables(struct wbt *t, const char *tables, const struct cp_limits *lim)
{
    char *p = wbt_tmp(".ods");

    wbt_ods(p, tables);
    wbt_init(t);
    wbt_read(t, 1, p, lim);
    cr_assert(t->order_ok && t->nested_ok);
    unlink(p);
    free(p);
}

static const struct wbt_cell *cell(const struct wbt *t, const char *sheet,
                                   const char *ref, enum cp_cell_kind kind)
{
    const struct wbt_cell *c = wbt_cell(t, sheet, ref);

    cr_assert_not_null(c, "%s!%s missing", sheet, ref);
    cr_assert_eq(c->kind, kind, "%s!%s kind %d", sheet, ref, c->kind);
    return c;
}

static void assert_text(const struct wbt *t, const char *sheet, const char *ref,
                        const char *text)
{
    cr_assert_str_eq(cell(t, sheet, ref, CP_CELL_TEXT)->text, text, "%s!%s", sheet, ref);
}

static void assert_refused(const struct wbt *t, const char *code, const char *where)
{
    cr_assert_eq(t->rc, -1, "expected %s, got rc %d", code, t->rc);
    cr_assert_str_eq(t->err.code, code, "%s: %s", t->err.code, t->err.msg);
    if (where)
        cr_assert_str_eq(t->err.where, where);
    cr_assert_gt(strlen(t->err.msg), 40);
}

#define T(name, rows) "<table:table table:name=\"" name "\">" rows "</table:table>"
#define ROW(cells) "<table:table-row>" cells "</table:table-row>"
#define STR(s) "<table:table-cell office:value-type=\"string\"><text:p>" s "</text:p></table:table-cell>"
#define NUM(v) "<table:table-cell office:value-type=\"float\" office:value=\"" v "\"><text:p>" v "</text:p></table:table-cell>"
#define EMPTY "<table:table-cell/>"

/* --- the real samples ------------------------------------------------------ */

Test(ods, report_form_sample_cells)
{
    struct wbt t;

    read_sample(&t, s48);
    cr_assert_eq(t.info.sheets, 1);
    cr_assert_str_eq(t.sheets[0], "Export");
    assert_text(&t, "Export", "D13", "voir annexe");
    {
        const struct wbt_cell *c = cell(&t, "Export", "D14", CP_CELL_PERCENT);
        cr_assert_eq(c->num, 0.452);
        cr_assert_str_eq(c->text, "0.452");
        c = cell(&t, "Export", "D7", CP_CELL_NUMBER);
        cr_assert_eq(c->num, 42);
        c = cell(&t, "Export", "D23", CP_CELL_NUMBER);
        cr_assert_eq(c->num, 75736);
        cr_assert_str_eq(c->text, "75736");
    }
    assert_text(&t, "Export", "B3", "Signataire");
    assert_text(&t, "Export", "C3", "48D");
    assert_text(&t, "Export", "C4", "S2 2021");
    /* rows-spanned="4" on A7: filled down on 8 to 10 only. */
    for (int r = 7; r <= 10; r++) {
        char ref[16];
        snprintf(ref, sizeof ref, "A%d", r);
        assert_text(&t, "Export", ref, "Prévenir les sorties sèches de l'ASE");
    }
    assert_text(&t, "Export", "A11", "Insertion des allocataires du RSA");
    assert_text(&t, "Export", "A20", "Insertion des allocataires du RSA");
    /* columns-spanned="6" on A1: the covered cells stay empty. */
    cr_assert_null(wbt_cell(&t, "Export", "B1"));
    cr_assert_eq(wbt_row_cells(&t, "Export", 1), 1);
    cr_assert_eq(t.last_row, 29);
    wbt_release(&t);
}

Test(ods, huge_repeated_empty_rows_are_not_expanded)
{
    struct wbt t;
    double t0 = wbt_now();

    read_sample(&t, scd48);
    cr_assert_lt(wbt_now() - t0, 1.0);
    cr_assert_eq(t.last_row, 29);
    cr_assert_eq(t.rows, 27);
    cr_assert_eq(cell(&t, "Export", "D24", CP_CELL_PERCENT)->num, 0.85361);
    wbt_release(&t);
}

Test(ods, year_as_number)
{
    struct wbt t;
    const struct wbt_cell *c;

    read_sample(&t, sloz);
    c = cell(&t, "Export", "C4", CP_CELL_NUMBER);
    cr_assert_eq(c->num, 2021);
    cr_assert_str_eq(c->text, "2021");
    assert_text(&t, "Export", "A9", "Finances");
    wbt_release(&t);
}

Test(ods, every_sample_workbook_reads)
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
        if (l < 4 || strcmp(de->d_name + l - 4, ".ods") != 0)
            continue;
        read_sample(&t, de->d_name);
        cr_assert_gt(t.n, 10, "%s", de->d_name);
        cr_assert_eq(t.info.sheets, 1);
        wbt_release(&t);
        n++;
    }
    closedir(d);
    free(dir);
    cr_assert_geq(n, 5);
}

/* --- hand-made content ----------------------------------------------------- */

Test(ods, paragraph_text_spaces_spans_and_breaks)
{
    struct wbt t;

    read_tables(&t,
        T("Feuille 1",
          ROW("<table:table-cell office:value-type=\"string\"><text:p>a<text:s text:c=\"3\"/>b"
              "<text:tab/>c<text:line-break/>d</text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"string\"><text:p>Taux <text:span text:style-name=\"T1\">"
              "d'<text:span>orientation</text:span></text:span> <text:a xlink:href=\"x\" "
              "xmlns:xlink=\"http://www.w3.org/1999/xlink\">(lien)</text:a></text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"string\"><text:p>premier</text:p>"
              "<text:p>second</text:p><text:p/></table:table-cell>"
              "<table:table-cell office:value-type=\"string\"><text:p>\n   collapsed \t\n  spaces   </text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"string\"><office:annotation><dc:creator>moi</dc:creator>"
              "<text:p>un commentaire</text:p></office:annotation><text:p>visible<text:s/></text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"string\" office:string-value=\"attribut\"><text:p>affiché</text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"string\"><text:p>3<text:s/>457 <text:note><text:note-body>"
              "<text:p>note</text:p></text:note-body></text:note></text:p></table:table-cell>")),
        NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    cr_assert_str_eq(t.sheets[0], "Feuille 1");
    assert_text(&t, "Feuille 1", "A1", "a   b\tc\nd");
    assert_text(&t, "Feuille 1", "B1", "Taux d'orientation (lien)");
    assert_text(&t, "Feuille 1", "C1", "premier\nsecond\n");
    assert_text(&t, "Feuille 1", "D1", "collapsed spaces");
    assert_text(&t, "Feuille 1", "E1", "visible ");
    assert_text(&t, "Feuille 1", "F1", "attribut");
    assert_text(&t, "Feuille 1", "G1", "3 457");
    wbt_release(&t);
}

Test(ods, value_types)
{
    struct wbt t;

    read_tables(&t,
        T("S",
          ROW(NUM("12.5")
              "<table:table-cell office:value-type=\"currency\" office:currency=\"EUR\" office:value=\"174700\"><text:p>174 700 €</text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"percentage\" office:value=\"0.7445\"><text:p>74,5 %</text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"boolean\" office:boolean-value=\"true\"><text:p>VRAI</text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"date\" office:date-value=\"2021-12-31\"><text:p>31/12/2021</text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"time\" office:time-value=\"PT12H30M00S\"><text:p>12:30</text:p></table:table-cell>"
              "<table:table-cell table:formula=\"of:=[.A1]*2\"/>"
              "<table:table-cell table:formula=\"of:=1/0\" office:value-type=\"float\" office:value=\"0\" calcext:value-type=\"error\"><text:p>#DIV/0!</text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"float\" office:value=\"NaN\"><text:p>x</text:p></table:table-cell>"
              "<table:table-cell office:value-type=\"float\" table:formula=\"of:=[.A1]\"/>")),
        NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    cr_assert_eq(cell(&t, "S", "A1", CP_CELL_NUMBER)->num, 12.5);
    cr_assert_str_eq(cell(&t, "S", "B1", CP_CELL_NUMBER)->text, "174700");
    cr_assert_eq(cell(&t, "S", "C1", CP_CELL_PERCENT)->num, 0.7445);
    cr_assert_eq(cell(&t, "S", "D1", CP_CELL_BOOL)->num, 1);
    cr_assert_str_eq(cell(&t, "S", "E1", CP_CELL_DATE)->text, "2021-12-31");
    cr_assert_str_eq(cell(&t, "S", "F1", CP_CELL_DATE)->text, "PT12H30M00S");
    cr_assert_str_eq(cell(&t, "S", "G1", CP_CELL_NOVALUE)->text, "of:=[.A1]*2");
    cr_assert_str_eq(cell(&t, "S", "H1", CP_CELL_ERROR)->text, "#DIV/0!");
    cr_assert_str_eq(cell(&t, "S", "I1", CP_CELL_TEXT)->text, "x");
    cr_assert_str_eq(cell(&t, "S", "J1", CP_CELL_NOVALUE)->text, "of:=[.A1]");
    wbt_release(&t);
}

Test(ods, repeated_rows_and_columns)
{
    struct wbt t;

    read_tables(&t,
        T("R",
          ROW("<table:table-cell table:number-columns-repeated=\"3\"/>" NUM("4")
              "<table:table-cell office:value-type=\"string\" table:number-columns-repeated=\"2\"><text:p>x</text:p></table:table-cell>"
              NUM("7"))
          "<table:table-row table:number-rows-repeated=\"1000000\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>"
          "<table:table-row table:number-rows-repeated=\"3\">" STR("r") "</table:table-row>"
          "<table:table-row-group><table:table-header-rows>" ROW(EMPTY NUM("9")) "</table:table-header-rows></table:table-row-group>"),
        NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    cr_assert_eq(cell(&t, "R", "D1", CP_CELL_NUMBER)->num, 4);
    assert_text(&t, "R", "E1", "x");
    assert_text(&t, "R", "F1", "x");
    cr_assert_eq(cell(&t, "R", "G1", CP_CELL_NUMBER)->num, 7);
    cr_assert_eq(wbt_row_cells(&t, "R", 1), 4);
    assert_text(&t, "R", "A1000002", "r");
    assert_text(&t, "R", "A1000003", "r");
    assert_text(&t, "R", "A1000004", "r");
    cr_assert_eq(cell(&t, "R", "B1000005", CP_CELL_NUMBER)->num, 9);
    cr_assert_eq(t.rows, 5);
    wbt_release(&t);
}

Test(ods, spans_fill_down_first_column_only)
{
    struct wbt t;

    read_tables(&t,
        T("M",
          ROW(EMPTY
              "<table:table-cell table:number-rows-spanned=\"3\" table:number-columns-spanned=\"2\" office:value-type=\"string\"><text:p>Bloc</text:p></table:table-cell>"
              "<table:covered-table-cell/>" NUM("1"))
          ROW(EMPTY "<table:covered-table-cell table:number-columns-repeated=\"2\"/>" NUM("2"))
          "<table:table-row table:number-rows-repeated=\"5\"><table:table-cell/></table:table-row>"
          ROW(EMPTY "<table:table-cell table:number-rows-spanned=\"2\"/>" NUM("3"))),
        NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    assert_text(&t, "M", "B1", "Bloc");
    assert_text(&t, "M", "B2", "Bloc");
    cr_assert_null(wbt_cell(&t, "M", "C2"));
    cr_assert_eq(cell(&t, "M", "D2", CP_CELL_NUMBER)->num, 2);
    /* Row 3 is a repeated empty row, yet covered by the span. */
    assert_text(&t, "M", "B3", "Bloc");
    cr_assert_eq(wbt_row_cells(&t, "M", 3), 1);
    cr_assert_null(wbt_cell(&t, "M", "B4"));
    /* An empty merged cell fills nothing. */
    cr_assert_eq(wbt_row_cells(&t, "M", 8), 1);
    cr_assert_eq(t.rows, 4);
    wbt_release(&t);
}

Test(ods, a_row_of_merged_cells_costs_no_more_than_reading_it)
{
    struct cp_buf b = CP_BUF_INIT(8 << 20);
    struct wbt t;
    double t0;

    cp_buf_adds(&b, "<table:table table:name=\"W\"><table:table-row>");
    for (int c = 0; c < 16000; c++)
        cp_buf_addf(&b, "<table:table-cell table:number-rows-spanned=\"3\" "
                        "office:value-type=\"float\" office:value=\"%d\"/>", c);
    cp_buf_adds(&b, "</table:table-row><table:table-row table:number-rows-repeated=\"2\">"
                    "<table:covered-table-cell table:number-columns-repeated=\"16000\"/>"
                    "</table:table-row></table:table>");
    t0 = wbt_now();
    read_tables(&t, cp_buf_str(&b), NULL);
    cr_assert_eq(t.rc, 0, "%s %s", t.err.code, t.err.msg);
    cr_assert_lt(wbt_now() - t0, 3.0);
    cr_assert_eq(t.n, 48000);
    cr_assert_eq(cell(&t, "W", "WQJ3", CP_CELL_NUMBER)->num, 15999);
    wbt_release(&t);
    cp_buf_release(&b);
}

Test(ods, sheets_and_sink_answers)
{
    static const char three[] =
        T("Un", ROW(STR("a")) ROW(STR("b")) ROW(STR("c")))
        T("Deux", ROW(STR("d")) ROW(STR("e")))
        T("Trois", ROW(STR("f")));
    struct wbt t;

    read_tables(&t, three, NULL);
    cr_assert_eq(t.rc, 0);
    cr_assert_eq(t.info.sheets, 3);
    cr_assert_eq(t.ends, 3);
    cr_assert_str_eq(t.sheets[2], "Trois");
    wbt_release(&t);

    /* NEXT_SHEET from row 2: the rest of each sheet is skipped. */
    wbt_init(&t);
    {
        char *p = wbt_tmp(".ods");
        wbt_ods(p, three);
        t.act_row = 2;
        t.act_ret = CP_READ_NEXT_SHEET;
        cr_assert_eq(wbt_read(&t, 1, p, NULL), 0);
        cr_assert(t.nested_ok && t.order_ok);
        cr_assert_null(wbt_cell(&t, "Un", "A3"));
        assert_text(&t, "Deux", "A2", "e");
        assert_text(&t, "Trois", "A1", "f");
        cr_assert_eq(t.ends, 3);
        wbt_release(&t);

        /* NEXT_SHEET from sheet_begin. */
        wbt_init(&t);
        t.skip_on = CP_READ_NEXT_SHEET;
        t.skip_sheet = 1;
        cr_assert_eq(wbt_read(&t, 1, p, NULL), 0);
        cr_assert_null(wbt_cell(&t, "Deux", "A1"));
        assert_text(&t, "Trois", "A1", "f");
        cr_assert_eq(t.ends, 3);
        wbt_release(&t);

        /* STOP: no more callbacks, but every sheet is counted. */
        wbt_init(&t);
        t.act_row = 2;
        t.act_ret = CP_READ_STOP;
        cr_assert_eq(wbt_read(&t, 1, p, NULL), 0);
        cr_assert_eq(t.rows, 2);
        cr_assert_eq(t.nsheets, 1);
        cr_assert_eq(t.ends, 0);
        cr_assert_eq(t.info.sheets, 3);
        wbt_release(&t);

        /* Abort. */
        wbt_init(&t);
        t.act_row = 1;
        t.act_ret = -1;
        cr_assert_eq(wbt_read(&t, 1, p, NULL), CP_READ_ABORTED);
        cr_assert_str_eq(t.err.code, "");
        wbt_release(&t);
        unlink(p);
        free(p);
    }
}

/* --- hostile and broken files -------------------------------------------------- */

Test(ods, wrong_mimetype_or_xlsx_refused)
{
    char *p = wbt_tmp(".ods");
    struct wbt_entry odt[] = {
        { .name = "mimetype", .data = "application/vnd.oasis.opendocument.text", .store = 1 },
        { .name = "content.xml", .data = "<a/>" },
    };
    struct wbt_entry nomime[] = { { .name = "content.xml", .data = "<a/>" } };
    struct wbt_entry nocontent[] = {
        { .name = "mimetype", .data = "application/vnd.oasis.opendocument.spreadsheet", .store = 1 },
    };
    char *xlsx = wbt_sample("20210728-041226_export_66D_2021S1.xlsx");
    struct wbt t;

    wbt_zip(p, odt, 2);
    wbt_init(&t);
    wbt_read(&t, 1, p, NULL);
    assert_refused(&t, "bad_archive", "mimetype");
    cr_assert_not_null(strstr(t.err.msg, "opendocument.text"));
    wbt_release(&t);

    wbt_zip(p, nomime, 1);
    wbt_init(&t);
    wbt_read(&t, 1, p, NULL);
    assert_refused(&t, "bad_archive", "mimetype");
    wbt_release(&t);

    wbt_zip(p, nocontent, 1);
    wbt_init(&t);
    wbt_read(&t, 1, p, NULL);
    assert_refused(&t, "bad_archive", "content.xml");
    wbt_release(&t);

    wbt_init(&t);
    wbt_read(&t, 1, xlsx, NULL);
    assert_refused(&t, "bad_archive", xlsx);
    cr_assert_not_null(strstr(t.err.msg, "XLSX"));
    wbt_release(&t);

    /* And the other way round. */
    {
        char *ods = wbt_sample(s48);
        wbt_init(&t);
        wbt_read(&t, 0, ods, NULL);
        assert_refused(&t, "bad_archive", ods);
        cr_assert_not_null(strstr(t.err.msg, "ODS"));
        wbt_release(&t);
        free(ods);
    }
    unlink(p);
    free(p);
    free(xlsx);
}

Test(ods, dtd_depth_and_bad_xml_refused)
{
    struct cp_buf b = CP_BUF_INIT(1 << 20);
    char *p = wbt_tmp(".ods");
    struct wbt_entry e[] = {
        { .name = "mimetype", .data = "application/vnd.oasis.opendocument.spreadsheet", .store = 1 },
        { .name = "content.xml",
          .data = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\">"
                  "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><d>&b;</d>" },
    };
    struct wbt t;

    wbt_zip(p, e, 2);
    wbt_init(&t);
    wbt_read(&t, 1, p, NULL);
    assert_refused(&t, "dtd_forbidden", "content.xml");
    wbt_release(&t);

    cp_buf_adds(&b, "<table:table table:name=\"P\"><table:table-row><table:table-cell "
                    "office:value-type=\"string\"><text:p>");
    for (int i = 0; i < 100; i++)
        cp_buf_adds(&b, "<text:span>");
    for (int i = 0; i < 100; i++)
        cp_buf_adds(&b, "</text:span>");
    cp_buf_adds(&b, "</text:p></table:table-cell></table:table-row></table:table>");
    read_tables(&t, cp_buf_str(&b), NULL);
    assert_refused(&t, "xml_too_deep", "content.xml");
    wbt_release(&t);

    read_tables(&t, T("X", ROW(STR("a")) "<table:table-row>"), NULL);
    assert_refused(&t, "bad_xml", "content.xml");
    cr_assert_not_null(strstr(t.err.msg, "ligne 1"));
    /* The rows before the damage were reported. */
    cr_assert_eq(t.rows, 1);
    wbt_release(&t);
    cp_buf_release(&b);
    unlink(p);
    free(p);
}

Test(ods, zip_bomb_refused, .timeout = 60)
{
    struct cp_limits lim = cp_limits_default;
    char *p = wbt_tmp(".ods");
    struct wbt_entry e[] = {
        { .name = "mimetype", .data = "application/vnd.oasis.opendocument.spreadsheet", .store = 1 },
        { .name = "content.xml", .fill = 64ULL << 20, .fill_char = ' ',
          .data = "<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\">" },
    };
    struct wbt t;
    double t0;

    wbt_zip(p, e, 2);
    lim.max_entry_bytes = 4u << 20;
    wbt_init(&t);
    t0 = wbt_now();
    wbt_read(&t, 1, p, &lim);
    cr_assert_lt(wbt_now() - t0, 5.0);
    assert_refused(&t, "zip_bomb", "content.xml");
    wbt_release(&t);
    unlink(p);
    free(p);
}

Test(ods, repeated_cells_capped)
{
    struct cp_limits lim = cp_limits_default;
    struct wbt t;

    lim.max_cells = 1000;
    read_tables(&t, T("C", "<table:table-row table:number-rows-repeated=\"1000000\">"
                           STR("plein") "</table:table-row>"), &lim);
    assert_refused(&t, "too_many_cells", "C!A1001");
    cr_assert_eq(t.rows, 1000);
    wbt_release(&t);

    read_tables(&t, T("C", ROW("<table:table-cell table:number-columns-repeated=\"20000\" "
                               "office:value-type=\"float\" office:value=\"1\"/>")), NULL);
    assert_refused(&t, "too_many_columns", NULL);
    wbt_release(&t);

    /* Rows beyond any spreadsheet's: counted without wrapping, refused
     * only when something is there. */
    read_tables(&t, T("C", "<table:table-row table:number-rows-repeated=\"99999999999999999999\">"
                           EMPTY "</table:table-row>"
                           "<table:table-row table:number-rows-repeated=\"1099511627776\">"
                           EMPTY "</table:table-row>" ROW(STR("loin"))), NULL);
    assert_refused(&t, "too_many_rows", NULL);
    wbt_release(&t);

    lim = cp_limits_default;
    lim.max_field_bytes = 50;
    read_tables(&t, T("C", ROW(EMPTY "<table:table-cell office:value-type=\"string\"><text:p>a"
                               "<text:s text:c=\"4000000000\"/>b</text:p></table:table-cell>")), &lim);
    assert_refused(&t, "field_too_long", "C!B1");
    wbt_release(&t);
}
