/*
 * End to end: ingest the sample inbox, consolidate it, then draw the
 * charts and write the dossiers and feedback reports of Occitanie and of
 * the nation, and read them back with poppler: the aggregates worked out
 * by hand (tests/expected/aggregates.csv) must be in the dossier in French
 * format with their coverage, the expected findings in its annex, the
 * expected rejections in the signatories' feedback reports.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/fmt.h"
#include "consolidate/consolidate.h"
#include "render/charts.h"
#include "render/dossier.h"
#include "render/retour.h"
#include "tests/e2e/helpers.h"
#include "tests/unit/rpdf_fixture.h"

static char *dir;
static char db_path[512];
static sqlite3 *db;

static void setup(void)
{
    char qdir[600], data[1024];
    struct cp_consolidate_opts o;
    struct cp_consolidate_stats st;
    struct cp_err err;

    dir = t_tmpdir();
    cr_assert_not_null(dir);
    snprintf(db_path, sizeof db_path, "%s/calpae.db", dir);
    snprintf(qdir, sizeof qdir, "%s/quarantaine", dir);
    cr_assert_eq(t_ingest_sample(db_path, qdir), CP_EX_DATAERR);
    snprintf(data, sizeof data, "%s", t_src("data"));
    memset(&o, 0, sizeof o);
    o.db_path = db_path;
    o.data_dir = data;
    memset(&st, 0, sizeof st);
    cp_err_clear(&err);
    cr_assert_eq(cp_consolidate_run(&o, &st, &err), 0, "%s", err.msg);
    cp_consolidate_stats_release(&st);
    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    sqlite3_close(db);
    t_rmtree(dir);
    free(dir);
}

TestSuite(render_pdf_samples, .init = setup, .fini = teardown, .timeout = 240);

static struct cp_render_job job(const char *zone, const char *period, char *out, size_t n)
{
    int national = strcmp(zone, "FR") == 0;

    snprintf(out, n, "%s/reports/%s/%s", dir, national ? "national" : zone, period);
    return (struct cp_render_job){db,       zone,         national ? "France" : "Occitanie",
                                  period,   national,     out,
                                  "2023-02-22T03:37:51", "2023-03-01T06:00:00", NULL, NULL};
}

/* Renders charts and dossier; returns the dossier's text (layout). */
static char *dossier(const struct cp_render_job *j, size_t *ncharts)
{
    struct cp_charts c;
    struct cp_err err;
    char pdf[700];
    char *text;

    cr_assert_eq(cp_render_charts(j, &c, &err), 0, "%s", err.msg);
    *ncharts = c.n;
    for (size_t k = 0; k < c.n; k++) {
        int w, h;
        cr_assert(rf_starts_with(c.v[k].pdf, "%PDF-", 5), "%s", c.v[k].pdf);
        cr_assert(rf_png_valid(c.v[k].png, &w, &h), "%s", c.v[k].png);
    }
    cr_assert_eq(cp_render_dossier(j, &c, &err), 0, "%s", err.msg);
    cp_charts_release(&c);
    snprintf(pdf, sizeof pdf, "%s/dossier.pdf", j->dir);
    text = rf_pdftotext(pdf, 0);
    cr_assert_not_null(text);
    return text;
}

/* The value as the dossier writes it (and pdftotext reads it back). */
static void expected_value(const char *code, double v, char *out, size_t n)
{
    char *unit, sql[200], num[64];

    snprintf(sql, sizeof sql, "SELECT unite FROM ref_indicateur WHERE code = '%s'", code);
    unit = t_sql_text(db, sql);
    cr_assert_not_null(unit, "%s in the catalog", code);
    if (strcmp(unit, "pct") == 0)
        cp_fmt_pct(v, out, n);
    else if (strcmp(unit, "jours") == 0)
        snprintf(out, n, "%s j", cp_fmt_num(v, 1, num, sizeof num));
    else if (strcmp(unit, "eur") == 0)
        snprintf(out, n, "%s €", cp_fmt_num(v, 0, num, sizeof num));
    else
        cp_fmt_num(v, v == floor(v) ? 0 : 1, out, n);
    rf_pdfspaces(out);
    free(unit);
}

Test(render_pdf_samples, the_regional_dossier_shows_the_expected_aggregates)
{
    struct t_csv exp;
    struct cp_render_job j;
    char out[600], want[700], cov[32];
    char *text;
    size_t ncharts, checked = 0;
    int lvl, zone, per, ind, val, cv, at;

    j = job("76", "2022-S1", out, sizeof out);
    text = dossier(&j, &ncharts);
    cr_assert_geq(ncharts, 20, "charts: %zu", ncharts);
    cr_assert_eq(t_csv_load(&exp, t_src("tests/expected/aggregates.csv")), 0);
    lvl = t_csv_col(&exp, "level");
    zone = t_csv_col(&exp, "zone");
    per = t_csv_col(&exp, "periode");
    ind = t_csv_col(&exp, "indicateur");
    val = t_csv_col(&exp, "valeur");
    cv = t_csv_col(&exp, "couverts");
    at = t_csv_col(&exp, "attendus");
    for (size_t r = 0; r < exp.nrows; r++) {
        char **f = exp.rows[r];
        if (strcmp(f[lvl], "region") != 0 || strcmp(f[zone], "76") != 0 ||
            strcmp(f[per], "2022-S1") != 0)
            continue;
        expected_value(f[ind], strtod(f[val], NULL), want, sizeof want);
        snprintf(cov, sizeof cov, "%s/%s", f[cv], f[at]);
        cr_assert(strstr(text, want) != NULL, "%s = %s in the dossier", f[ind], want);
        cr_assert(strstr(text, cov) != NULL, "%s coverage %s", f[ind], cov);
        checked++;
    }
    cr_assert_geq(checked, 15);
    t_csv_free(&exp);
    free(text);
    /* The expected PARTIE_TOUT finding of 82D, in the annex with its file
     * and cells, and its values marked as left out. */
    snprintf(want, sizeof want, "%s/dossier.pdf", out);
    text = rf_pdftotext(want, 1);
    cr_assert(rf_has(text, "Tarn-et-Garonne (82D)"));
    cr_assert(rf_has(text, "Bloquant"));
    cr_assert(rf_has(text, "Règle PARTIE_TOUT · RSA_ORIENT_1M,RSA_ORIENTES"));
    cr_assert(rf_has(text, "20220829-153424_region76_consolidation_2022S1.csv"));
    cr_assert(rf_has(text, "L12C5"));
    cr_assert(rf_has(text, "exclue"), "82D's values left out, shown as such");
    free(text);
}

Test(render_pdf_samples, the_national_dossier_compares_regions)
{
    struct cp_render_job j;
    char out[600], want[64];
    char *text;
    size_t ncharts;

    j = job("FR", "2022-S1", out, sizeof out);
    text = dossier(&j, &ncharts);
    cr_assert_gt(ncharts, 0);
    cr_assert(strstr(text, "Synthèse nationale") != NULL);
    cr_assert(strstr(text, "Occitanie") != NULL);
    /* At this scale the nation is Occitanie: 28 495 nouveaux entrants, 13
     * départements covered out of the 97 expected. */
    expected_value("RSA_NOUV_ENTRANTS", 28495, want, sizeof want);
    cr_assert(strstr(text, want) != NULL);
    cr_assert(strstr(text, "13/97") != NULL);
    free(text);
}

/* The raw text of sig's feedback report for period. */
static char *feedback(const char *sig, const char *period)
{
    struct cp_render_job j;
    struct cp_err err;
    char out[600], path[800];
    char *text;

    j = job("76", period, out, sizeof out);
    snprintf(path, sizeof path, "%s/retours/%s.pdf", out, sig);
    cr_assert_eq(cp_render_feedback_pdf(&j, sig, path, &err), 0, "%s", err.msg);
    text = rf_pdftotext(path, 1);
    cr_assert_not_null(text);
    return text;
}

Test(render_pdf_samples, feedback_reports_point_at_the_expected_rejections)
{
    char *t;

    t = feedback("66D", "2021-S1");
    cr_assert(rf_has(t, "20210728-041226_export_66D_2021S1.xlsx"));
    cr_assert(rf_has(t, "Export!D17"));
    cr_assert(rf_has(t, "#DIV/0!"));
    cr_assert(rf_has(t, "Remplacez la formule en erreur"));
    free(t);

    t = feedback("48D", "2021-S2");
    cr_assert(rf_has(t, "20220120-072812_48D_indicateurs_2021S2.ods"));
    cr_assert(rf_has(t, "Export!D13"));
    cr_assert(rf_has(t, "Export!D22"));
    free(t);

    /* The file refused whole at byte 146 is Ariège's by its name, and was
     * replaced six days later. */
    t = feedback("09D", "2021-S1");
    cr_assert(rf_has(t, "20210720-055138_CD09_2021S1.csv"));
    cr_assert(rf_has(t, "rattaché à vous d'après le nom du fichier"));
    cr_assert(rf_has(t, "byte 146"));
    cr_assert(rf_has(t, "déjà remplacé par un envoi plus récent"));
    free(t);

    t = feedback("82D", "2022-S1");
    cr_assert(rf_has(t, "Bloquant"));
    cr_assert(rf_has(t, "PARTIE_TOUT"));
    cr_assert(rf_has(t, "une partie ne peut pas dépasser le total"));
    free(t);
}
