/*
 * End to end through calpae-render's run: the sample inbox ingested and
 * consolidated, then every output of Occitanie 2022-S1 checked by content
 * (dossier text, workbook XML, CSV values, charts), and a second run that
 * must rewrite nothing.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "consolidate/consolidate.h"
#include "render/render.h"
#include "tests/e2e/helpers.h"

static char *dir;
static char db_path[512], out[512], job[600];

static void setup(void)
{
    char q[512];
    struct cp_consolidate_opts co = {0};
    struct cp_render_opts ro = {0};
    struct cp_err err;
    FILE *devnull = fopen("/dev/null", "w");

    dir = t_tmpdir();
    snprintf(db_path, sizeof db_path, "%s/c.db", dir);
    snprintf(q, sizeof q, "%s/q", dir);
    snprintf(out, sizeof out, "%s/reports", dir);
    snprintf(job, sizeof job, "%s/76/2022-S1", out);
    cr_assert_eq(t_ingest_sample(db_path, q), 65);
    co.db_path = db_path;
    co.data_dir = t_src("data");
    cr_assert_eq(cp_consolidate_run(&co, NULL, &err), 0, "%s", err.msg);
    ro.db_path = db_path;
    ro.out_dir = out;
    ro.region = "76";
    ro.period = "2022-S1";
    ro.out = devnull;
    cr_assert_eq(cp_render_run(&ro, &err), 0, "%s", err.msg);
    fclose(devnull);
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
}

TestSuite(render_run, .init = setup, .fini = teardown, .timeout = 180);

static size_t count_ext(const char *d, const char *ext)
{
    DIR *dp = opendir(d);
    struct dirent *e;
    size_t n = 0;

    cr_assert_not_null(dp, "%s", d);
    while ((e = readdir(dp))) {
        const char *dot = strrchr(e->d_name, '.');
        if (dot && strcmp(dot, ext) == 0)
            n++;
    }
    closedir(dp);
    return n;
}

Test(render_run, dossier_says_what_the_commissioner_needs)
{
    char cmd[700];
    char *text;

    snprintf(cmd, sizeof cmd, "pdftotext -layout '%s/dossier.pdf' - 2>/dev/null", job);
    text = t_slurp_cmd(cmd);
    cr_expect(strstr(text, "Occitanie") != NULL);
    cr_expect(strstr(text, "1er semestre 2022") != NULL);
    /* RSA_TX_ORIENT_1M 2022-S1: 14 075 / 27 404, 82D left out by PARTIE_TOUT. */
    cr_expect(strstr(text, "51,4") != NULL, "regional rate missing");
    cr_expect(strstr(text, "12/13") != NULL, "partial coverage missing");
    cr_expect(strstr(text, "PARTIE_TOUT") != NULL, "finding annex missing");
    cr_expect(strstr(text, "Fichiers utilisés") != NULL, "files annex missing");
    {
        /* The annex names each file by the start of its SHA-256 (long names
         * wrap inside their cell, so the name is not checked whole). */
        sqlite3 *db;
        char *sha;
        cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
        sha = t_sql_text(db, "SELECT substr(empreinte, 1, 16) FROM soumissions WHERE fichier ="
                             " '20220901-153424_region76_renvoi_consolidation_2022S1.csv'");
        cr_assert_not_null(sha);
        cr_expect(strstr(text, sha) != NULL, "fingerprint %s not in the files annex", sha);
        free(sha);
        sqlite3_close(db);
    }
    free(text);
}

Test(render_run, workbook_has_the_sheets_data_and_findings)
{
    char path[700];
    char *wb, *ss;

    snprintf(path, sizeof path, "%s/synthese.xlsx", job);
    wb = t_zip_part(path, "xl/workbook.xml");
    cr_expect(strstr(wb, "name=\"Données\"") != NULL, "%s", wb);
    cr_expect(strstr(wb, "name=\"Anomalies\"") != NULL);
    cr_expect(strstr(wb, "name=\"Synthèse\"") != NULL);
    ss = t_zip_part(path, "xl/sharedStrings.xml");
    cr_expect(strstr(ss, "82D") != NULL);
    cr_expect(strstr(ss, "20220829-153424_region76_consolidation_2022S1.csv") != NULL ||
              strstr(ss, "20220901-153424_region76_renvoi_consolidation_2022S1.csv") != NULL,
              "origin of the values missing");
    free(wb);
    free(ss);
}

Test(render_run, csv_exports_are_french_excel_friendly)
{
    char path[700];
    FILE *f;
    char buf[1 << 16];
    size_t n;

    snprintf(path, sizeof path, "%s/synthese.csv", job);
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cr_expect_eq(memcmp(buf, "\xEF\xBB\xBF", 3), 0, "no BOM");
    cr_expect(strchr(buf, ';') != NULL);
    cr_expect(strstr(buf, "RSA_TX_ORIENT_1M") != NULL);
    cr_expect(strstr(buf, "51,36") != NULL, "decimal comma value missing");
}

Test(render_run, every_chart_exists_in_three_formats)
{
    char g[700];
    size_t svg, pdf, png;

    snprintf(g, sizeof g, "%s/graphiques", job);
    svg = count_ext(g, ".svg");
    pdf = count_ext(g, ".pdf");
    png = count_ext(g, ".png");
    cr_expect_gt(svg, 10);
    cr_expect_eq(svg, pdf);
    cr_expect_eq(svg, png);
}

Test(render_run, each_signatory_gets_its_feedback)
{
    char p[700];
    struct stat sb;

    snprintf(p, sizeof p, "%s/retours/82D.xlsx", job);
    cr_expect_eq(stat(p, &sb), 0, "%s", p);
    snprintf(p, sizeof p, "%s/retours/82D.pdf", job);
    cr_expect_eq(stat(p, &sb), 0, "%s", p);
}

Test(render_run, a_run_with_nothing_new_rewrites_nothing)
{
    struct cp_render_opts ro = {0};
    struct cp_err err;
    struct cp_buf before = CP_BUF_INIT(1 << 22), after = CP_BUF_INIT(1 << 22);
    size_t rendered = 9, unchanged = 9;
    FILE *devnull = fopen("/dev/null", "w");

    t_mtimes(out, &before);
    ro.db_path = db_path;
    ro.out_dir = out;
    ro.region = "76";
    ro.period = "2022-S1";
    ro.out = devnull;
    ro.rendered = &rendered;
    ro.unchanged = &unchanged;
    cr_assert_eq(cp_render_run(&ro, &err), 0, "%s", err.msg);
    cr_expect_eq(rendered, 0);
    cr_expect_eq(unchanged, 1);
    t_mtimes(out, &after);
    cr_expect_str_eq(cp_buf_str(&after), cp_buf_str(&before));

    ro.force = 1;
    cr_assert_eq(cp_render_run(&ro, &err), 0, "%s", err.msg);
    cr_expect_eq(rendered, 1, "--force renders again");
    fclose(devnull);
    cp_buf_release(&before);
    cp_buf_release(&after);
}
