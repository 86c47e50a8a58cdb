/*
 * Unit tests for ingest/table.c: header detection, the three shapes, label
 * pairs above a report form, and what a cell becomes (value, missing,
 * rejection), fed with rows built by hand through the reader sink.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ref.h"
#include "ingest/table.h"
#include "tests/e2e/helpers.h"

static struct cp_ref ref;

/* What the interpreter emitted, one line per value or rejection. */
struct sink_log {
    struct cp_buf values, rejects;
};

static int on_value(void *ctx, const struct cp_obs *o)
{
    struct sink_log *l = ctx;
    char ps[CP_PERIOD_STRLEN], where[CP_ERR_WHERE_MAX];

    cp_obs_where(o, where);
    cp_period_str(&o->period, ps);
    cp_buf_addf(&l->values, "%s|%s|%s|", ref.sig[o->sig].code, ps, ref.ind[o->ind].code);
    if (o->has_value)
        cp_buf_addf(&l->values, "%.10g", o->value);
    else
        cp_buf_addf(&l->values, "%s", cp_missing_code(o->missing));
    if (o->has_target)
        cp_buf_addf(&l->values, "|cible=%.10g", o->target);
    if (o->comment)
        cp_buf_addf(&l->values, "|%s", o->comment);
    cp_buf_addf(&l->values, "|%s\n", where);
    return 0;
}

static int on_reject(void *ctx, const struct cp_rej *r)
{
    struct sink_log *l = ctx;
    cp_buf_addf(&l->rejects, "%s|%s\n", r->where, r->code);
    return 0;
}

static void setup(void)
{
    struct cp_err err;
    cr_assert_eq(cp_ref_load(&ref, t_src("data"), &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    cp_ref_release(&ref);
}

TestSuite(table, .init = setup, .fini = teardown);

/* Feeds rows given as strings "A1=text;C1=#n:12.5;D1=%0.45" (cells) and
 * returns the shape. Kinds: plain text, #n number, %% percent, #e error. */
static enum cp_shape feed(struct sink_log *l, const char *sheet, const char *const *rows,
                          int nrows, int *finish_rc)
{
    struct cp_table_out out = {l, on_value, on_reject};
    struct cp_table *t = cp_table_new(&ref, "f.xlsx", &out);
    struct cp_reader_sink s = cp_table_sink(t);
    struct cp_err err;
    enum cp_shape shape;

    cp_buf_init(&l->values, 1 << 16);
    cp_buf_init(&l->rejects, 1 << 16);
    s.sheet_begin(s.ctx, sheet, 0);
    for (int r = 0; r < nrows; r++) {
        struct cp_cell cells[32];
        char *copy = strdup(rows[r]), *save = NULL;
        size_t n = 0;
        struct cp_row row;

        for (char *tok = strtok_r(copy, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save)) {
            unsigned col = (unsigned)(tok[0] - 'A');
            char *text = tok + 2; /* "B=" */
            struct cp_cell *c = &cells[n++];

            c->col = col;
            c->kind = CP_CELL_TEXT;
            c->num = 0;
            if (text[0] == '#' && text[1] == 'n') {
                c->kind = CP_CELL_NUMBER;
                text += 3;
                c->num = atof(text);
            } else if (text[0] == '#' && text[1] == 'p') {
                c->kind = CP_CELL_PERCENT;
                text += 3;
                c->num = atof(text);
            } else if (text[0] == '#' && text[1] == 'e') {
                c->kind = CP_CELL_ERROR;
                text += 3;
            }
            c->text = text;
            c->len = strlen(text);
        }
        row.sheet = sheet;
        row.line = (unsigned long)r + 1;
        row.cells = cells;
        row.ncells = n;
        if (n)
            s.row(s.ctx, &row);
        /* cells point into copy: keep it until the row was handled */
        free(copy);
    }
    s.sheet_end(s.ctx);
    *finish_rc = cp_table_finish(t, &err);
    shape = cp_table_shape(t);
    cp_table_free(t);
    return shape;
}

static void release(struct sink_log *l)
{
    cp_buf_release(&l->values);
    cp_buf_release(&l->rejects);
}

Test(table, long_shape_with_synonyms_targets_comments_and_missing)
{
    const char *rows[] = {
        "A=Collectivité\tB=Année\tC=Code indicateur\tD=Réalisé\tE=Objectif\tF=Observations",
        "A=Haute-Garonne (31)\tB=#n:2022\tC=FIN_BUDGET\tD=1 692 344\tF=  provisoire ",
        "A=31\tB=2022\tC=FIN_COFIN\tD=NC",
        "A=31D\tB=2022\tC=Dépenses exécutées (euros)\tD=#n:1541480\tE=#n:1600000",
    };
    struct sink_log l;
    int rc;

    cr_assert_eq(feed(&l, "Feuil1", rows, 4, &rc), CP_SHAPE_LONG);
    cr_assert_eq(rc, 0);
    cr_expect_str_eq(cp_buf_str(&l.values),
                     "31D|2022|FIN_BUDGET|1692344|provisoire|Feuil1!D2\n"
                     "31D|2022|FIN_COFIN|NC|Feuil1!D3\n"
                     "31D|2022|FIN_DEPENSES|1541480|cible=1600000|Feuil1!D4\n");
    cr_expect_str_eq(cp_buf_str(&l.rejects), "");
    release(&l);
}

Test(table, wide_shape_with_target_columns_both_spellings)
{
    const char *rows[] = {
        "A=territoire\tB=PERIODE\tC=RSA_TX_ORIENT_1M\tD=cible RSA_TX_ORIENT_1M\tE=GAD_ENTREES"
        "\tF=GAD_ENTREES_cible\tG=Total",
        "A=Aude\tB=1er semestre 2022\tC=58,0 %\tD=56,6%\tE=556\tF=569\tG=999",
        "A=Lot-et-Graonne\tB=2022-S1\tC=12\tE=1",
        "A=Gers\tB=2022-S1\tC=#e:#DIV/0!\tE=264",
    };
    struct sink_log l;
    int rc;

    cr_assert_eq(feed(&l, "S", rows, 4, &rc), CP_SHAPE_WIDE);
    cr_expect_str_eq(cp_buf_str(&l.values),
                     "11D|2022-S1|RSA_TX_ORIENT_1M|58|cible=56.6|S!C2\n"
                     "11D|2022-S1|GAD_ENTREES|556|cible=569|S!E2\n"
                     "32D|2022-S1|GAD_ENTREES|264|S!E4\n");
    /* The misspelt row is rejected whole at its signatory cell; the error
     * cell only at that cell. */
    cr_expect_str_eq(cp_buf_str(&l.rejects), "S!A3|unknown_signatory\nS!C4|excel_error\n");
    release(&l);
}

Test(table, report_form_under_label_pairs_skips_titles_and_notes)
{
    const char *rows[] = {
        "A=Convention d'appui à la lutte contre la pauvreté",
        "",
        "B=Signataire\tC=Pyrénées-Orientales ",
        "B=Période\tC=2021 S1",
        "",
        "B=Code indicateur\tC=Libellé\tD=Valeur\tE=Cible\tF=Commentaire",
        "A=Insertion des allocataires du RSA\tB=RSA_NOUV_ENTRANTS\tC=Nouveaux entrants\tD=3 457",
        "B=RSA_TX_ORIENT_1M\tC=Taux\tD=#p:0.557\tE=#n:56.7",
        "B=RSA_ORIENT_1M\tC=Orientés en moins d'un mois\tD=voir annexe",
        "B=RSA_CER\tC=Contrats\tD=12,5 %",
        "B=Note : données provisoires extraites de l'applicatif métier.",
    };
    struct sink_log l;
    int rc;

    cr_assert_eq(feed(&l, "Export", rows, 11, &rc), CP_SHAPE_REPORT);
    cr_expect_str_eq(cp_buf_str(&l.values),
                     "66D|2021-S1|RSA_NOUV_ENTRANTS|3457|Export!D7\n"
                     "66D|2021-S1|RSA_TX_ORIENT_1M|55.7|cible=56.7|Export!D8\n");
    cr_expect_str_eq(cp_buf_str(&l.rejects),
                     "Export!D9|not_a_number\nExport!D10|unexpected_percent\n");
    release(&l);
}

Test(table, catalog_periodicity_years_and_types_are_enforced)
{
    const char *rows[] = {
        "A=signataire\tB=periode\tC=indicateur\tD=valeur",
        "A=31D\tB=2022-S1\tC=FIN_BUDGET\tD=10",     /* yearly only */
        "A=31D\tB=2023-S1\tC=TS_FORMES\tD=10",      /* 2020-2022 only */
        "A=M31\tB=2022-S1\tC=RSA_CER\tD=10",        /* D only */
        "A=67\tB=2021-S1\tC=RSA_CER\tD=10",         /* 67 in 2021 is 6AE */
        "A=67D\tB=2021-S1\tC=RSA_CER\tD=11",        /* explicit code: not in force */
        "A=31D\tB=2021-S3\tC=RSA_CER\tD=10",
        "A=31D\tB=2022-S1\tC=RSA_INCONNU\tD=10",
    };
    struct sink_log l;
    int rc;

    cr_assert_eq(feed(&l, "S", rows, 8, &rc), CP_SHAPE_LONG);
    cr_expect_str_eq(cp_buf_str(&l.values), "6AE|2021-S1|RSA_CER|10|S!D5\n");
    cr_expect_str_eq(cp_buf_str(&l.rejects),
                     "S!D2|period_not_allowed\nS!D3|period_not_allowed\nS!D4|not_applicable\n"
                     "S!A6|signatory_not_in_force\nS!B7|bad_period\nS!C8|unknown_indicator\n");
    release(&l);
}

Test(table, no_recognisable_header_is_a_file_error)
{
    const char *rows[] = {"A=Bonjour\tB=le monde", "A=1\tB=2"};
    struct sink_log l;
    int rc;

    cr_assert_eq(feed(&l, "S", rows, 2, &rc), CP_SHAPE_NONE);
    cr_expect_eq(rc, -1);
    release(&l);
}
