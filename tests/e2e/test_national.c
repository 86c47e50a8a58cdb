/*
 * The national tier end to end, with two régions: Occitanie (the sample
 * inbox) and Bretagne (submissions written here, long CSV, 2022-S1, with
 * flux, stock, ratio and moyenne indicators for départements, métropoles
 * and the région).
 *
 * A: every signatory ingested into one database and consolidated.
 * B: each région in its own database, consolidated and rendered; its
 *    roll-up ingested into a national database; consolidate --national.
 * Then A's national aggregates equal B's for every nature; B is rendered
 * with --national (dossier, CSV, charts comparing régions), a re-run
 * rewrites nothing and a newer roll-up renders again; a plain consolidate
 * or render on B is refused and changes nothing.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/hash.h"
#include "consolidate/consolidate.h"
#include "render/render.h"
#include "tests/e2e/helpers.h"

static char *dir;
static char all_db[512], nat_db[512], out[512], inbox53[512], remontees[512];

/* Bretagne, 2022-S1: ratios consistent with their numerators and
 * denominators (the RATIO rule stays quiet), parts below their wholes
 * (PARTIE_TOUT), 56D without its average delay (NC). */
static const char bretagne_d[] =
    "signataire;periode;indicateur;valeur\n"
    "22D;2022-S1;RSA_NOUV_ENTRANTS;1200\n"
    "22D;2022-S1;RSA_ORIENTES;1000\n"
    "22D;2022-S1;RSA_ORIENT_1M;600\n"
    "22D;2022-S1;RSA_TX_ORIENT_1M;50\n"
    "22D;2022-S1;RSA_DELAI_ORIENT;45\n"
    "22D;2022-S1;RSA_RDV_15J;700\n"
    "22D;2022-S1;RSA_TX_RDV_15J;70\n"
    "22D;2022-S1;ASIP_LIEUX;12\n"
    "22D;2022-S1;ASIP_POP_COUV;450000\n"
    "22D;2022-S1;ASIP_POP_TOTALE;600000\n"
    "22D;2022-S1;ASIP_TX_COUV;75\n"
    "29D;2022-S1;RSA_NOUV_ENTRANTS;1500\n"
    "29D;2022-S1;RSA_ORIENTES;1200\n"
    "29D;2022-S1;RSA_ORIENT_1M;900\n"
    "29D;2022-S1;RSA_TX_ORIENT_1M;60\n"
    "29D;2022-S1;RSA_DELAI_ORIENT;38\n"
    "29D;2022-S1;RSA_RDV_15J;960\n"
    "29D;2022-S1;RSA_TX_RDV_15J;80\n"
    "29D;2022-S1;ASIP_LIEUX;20\n"
    "29D;2022-S1;ASIP_POP_COUV;800000\n"
    "29D;2022-S1;ASIP_POP_TOTALE;1000000\n"
    "29D;2022-S1;ASIP_TX_COUV;80\n"
    "35D;2022-S1;RSA_NOUV_ENTRANTS;2000\n"
    "35D;2022-S1;RSA_ORIENTES;1600\n"
    "35D;2022-S1;RSA_ORIENT_1M;1200\n"
    "35D;2022-S1;RSA_TX_ORIENT_1M;60\n"
    "35D;2022-S1;RSA_DELAI_ORIENT;30\n"
    "35D;2022-S1;RSA_RDV_15J;1200\n"
    "35D;2022-S1;RSA_TX_RDV_15J;75\n"
    "35D;2022-S1;ASIP_LIEUX;25\n"
    "35D;2022-S1;ASIP_POP_COUV;900000\n"
    "35D;2022-S1;ASIP_POP_TOTALE;1100000\n"
    "35D;2022-S1;ASIP_TX_COUV;81,82\n"
    "56D;2022-S1;RSA_NOUV_ENTRANTS;1000\n"
    "56D;2022-S1;RSA_ORIENTES;800\n"
    "56D;2022-S1;RSA_ORIENT_1M;400\n"
    "56D;2022-S1;RSA_TX_ORIENT_1M;40\n"
    "56D;2022-S1;RSA_DELAI_ORIENT;NC\n"
    "56D;2022-S1;RSA_RDV_15J;400\n"
    "56D;2022-S1;RSA_TX_RDV_15J;50\n"
    "56D;2022-S1;ASIP_LIEUX;10\n"
    "56D;2022-S1;ASIP_POP_COUV;500000\n"
    "56D;2022-S1;ASIP_POP_TOTALE;780000\n"
    "56D;2022-S1;ASIP_TX_COUV;64,1\n";

static const char bretagne_mr[] =
    "signataire;periode;indicateur;valeur\n"
    "M35;2022-S1;ASIP_LIEUX;8\n"
    "M35;2022-S1;ASIP_POP_COUV;400000\n"
    "M35;2022-S1;ASIP_POP_TOTALE;460000\n"
    "M35;2022-S1;ASIP_TX_COUV;86,96\n"
    "M35;2022-S1;MARAUDES_FAMILLES;35\n"
    "M29;2022-S1;ASIP_LIEUX;5\n"
    "M29;2022-S1;ASIP_POP_COUV;200000\n"
    "M29;2022-S1;ASIP_POP_TOTALE;210000\n"
    "M29;2022-S1;ASIP_TX_COUV;95,24\n"
    "M29;2022-S1;MARAUDES_FAMILLES;12\n"
    "R53;2022-S1;OF_JEUNES_REPERES;900\n"
    "R53;2022-S1;OF_JEUNES_SOLUTION;720\n"
    "R53;2022-S1;OF_TX_SOLUTION;80\n";

static const char bretagne_reception[] =
    "fichier;recu_le\n"
    "indicateurs-bretagne-departements-2022S1.csv;2022-07-12T09:30:00\n"
    "indicateurs-bretagne-metropoles-region-2022S1.csv;2022-07-20T14:00:00\n";

static void consolidate(const char *db)
{
    struct cp_consolidate_opts co = {0};
    struct cp_err err;

    co.db_path = db;
    co.data_dir = t_src("data");
    cr_assert_eq(cp_consolidate_run(&co, NULL, &err), 0, "%s: %s", db, err.msg);
}

/* Renders one région's 2022-S1 and copies its roll-up to remontees/. */
static void region_rollup(const char *db, const char *region)
{
    struct cp_render_opts ro = {0};
    struct cp_err err;
    FILE *devnull = fopen("/dev/null", "w");
    char from[900], to[900], name[64], *s;
    size_t n;

    ro.db_path = db;
    ro.out_dir = out;
    ro.region = region;
    ro.period = "2022-S1";
    ro.out = devnull;
    cr_assert_eq(cp_render_run(&ro, &err), 0, "%s", err.msg);
    fclose(devnull);
    snprintf(name, sizeof name, "rollup-%s-2022-S1.csv", region);
    snprintf(from, sizeof from, "%s/%s/2022-S1/%s", out, region, name);
    snprintf(to, sizeof to, "%s/%s", remontees, name);
    s = t_slurp(from, &n);
    t_write(to, s, n);
    free(s);
}

static void setup(void)
{
    char q[600], r76[600], r53[600];
    unsigned long rows = 0;
    struct cp_err err;

    dir = t_tmpdir();
    cr_assert_not_null(dir);
    snprintf(out, sizeof out, "%s/reports", dir);
    snprintf(inbox53, sizeof inbox53, "%s/inbox53", dir);
    snprintf(remontees, sizeof remontees, "%s/remontees", dir);
    cr_assert_eq(mkdir(inbox53, 0755), 0);
    cr_assert_eq(mkdir(remontees, 0755), 0);
    t_write_in(inbox53, "indicateurs-bretagne-departements-2022S1.csv", bretagne_d);
    t_write_in(inbox53, "indicateurs-bretagne-metropoles-region-2022S1.csv", bretagne_mr);
    t_write_in(inbox53, "reception.csv", bretagne_reception);

    /* A: every signatory in one database. */
    snprintf(all_db, sizeof all_db, "%s/all.db", dir);
    snprintf(q, sizeof q, "%s/q-all", dir);
    cr_assert_eq(t_ingest_sample(all_db, q), 65);
    cr_assert_eq(t_ingest(all_db, q, inbox53), 0);
    consolidate(all_db);

    /* B: a database per région, its roll-up, the national database. */
    snprintf(r76, sizeof r76, "%s/r76.db", dir);
    snprintf(q, sizeof q, "%s/q-76", dir);
    cr_assert_eq(t_ingest_sample(r76, q), 65);
    consolidate(r76);
    region_rollup(r76, "76");
    snprintf(r53, sizeof r53, "%s/r53.db", dir);
    snprintf(q, sizeof q, "%s/q-53", dir);
    cr_assert_eq(t_ingest(r53, q, inbox53), 0);
    consolidate(r53);
    region_rollup(r53, "53");
    snprintf(nat_db, sizeof nat_db, "%s/national.db", dir);
    snprintf(q, sizeof q, "%s/q-nat", dir);
    cr_assert_eq(t_ingest(nat_db, q, remontees), 0);
    cr_assert_eq(cp_consolidate_national(nat_db, &rows, &err), 0, "%s", err.msg);
    cr_assert_gt(rows, 0);
}

static void teardown(void)
{
    t_rmtree(dir);
    free(dir);
}

TestSuite(national, .init = setup, .fini = teardown, .timeout = 300);

static sqlite3 *open_nat_with_all(void)
{
    sqlite3 *db;
    char sql[700];

    cr_assert_eq(sqlite3_open(nat_db, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "ATTACH '%s' AS a", all_db);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

/* Rows of A (direct, from every signatory) at level lvl for 2022-S1 and
 * nature nat, and how many of them B has with the same figures. The
 * signatories expected and the share of the denominator covered are
 * compared for régions only: A expects every signatory of France, B those
 * of the régions received. */
static void compare(sqlite3 *db, const char *lvl, const char *nat, long long *direct,
                    long long *same)
{
    char sql[2400];

    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM a.agregat d JOIN ref_indicateur i ON i.code = d.indicateur"
             " WHERE d.niveau = '%s' AND d.periode = '2022-S1' AND i.nature = '%s'",
             lvl, nat);
    *direct = t_sql_int(db, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM a.agregat d JOIN ref_indicateur i ON i.code = d.indicateur"
             " JOIN main.agregat b ON b.niveau = d.niveau AND b.zone = d.zone"
             " AND b.groupe = d.groupe AND b.periode = d.periode AND b.indicateur = d.indicateur"
             " WHERE d.niveau = '%s' AND d.periode = '2022-S1' AND i.nature = '%s'"
             " AND b.couverts = d.couverts AND b.derive = d.derive"
             " AND (d.niveau = 'national' OR b.attendus = d.attendus AND b.partiel = d.partiel"
             "  AND (d.part_couverte IS NULL AND b.part_couverte IS NULL"
             "   OR abs(b.part_couverte - d.part_couverte) <= 1e-9))"
             " AND abs(b.valeur - d.valeur) <= 1e-9 * abs(d.valeur)"
             " AND (d.numerateur IS NULL AND b.numerateur IS NULL"
             "  OR abs(b.numerateur - d.numerateur) <= 1e-9 * abs(d.numerateur))"
             " AND (d.denominateur IS NULL AND b.denominateur IS NULL"
             "  OR abs(b.denominateur - d.denominateur) <= 1e-9 * abs(d.denominateur))",
             lvl, nat);
    *same = t_sql_int(db, sql);
}

Test(national, from_rollups_equals_direct_for_two_regions)
{
    static const char *const natures[] = {"flux", "stock", "ratio", "moyenne"};
    sqlite3 *db = open_nat_with_all();

    /* The direct database does hold both régions' signatories. */
    cr_assert_eq(t_sql_int(db, "SELECT count(DISTINCT s.region) FROM a.contribution k"
                               " JOIN ref_signataire s ON s.code = k.signataire"
                               " WHERE k.niveau = 'national' AND k.periode = '2022-S1'"),
                 2);
    cr_assert_eq(t_sql_int(db, "SELECT count(*) FROM rollups_courants"), 2);
    for (size_t k = 0; k < 4; k++) {
        long long direct, same;

        compare(db, "national", natures[k], &direct, &same);
        cr_expect_gt(direct, 0, "no national %s aggregate", natures[k]);
        cr_expect_eq(same, direct, "national %s: %lld of %lld aggregates agree", natures[k],
                     same, direct);
        /* The régions' own rows at the national tier are their roll-ups'. */
        compare(db, "region", natures[k], &direct, &same);
        cr_expect_gt(direct, 0, "no régional %s aggregate", natures[k]);
        cr_expect_eq(same, direct, "régional %s: %lld of %lld aggregates agree", natures[k],
                     same, direct);
    }
    /* Nothing more nor less than the direct computation. */
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM main.agregat"),
                 t_sql_int(db, "SELECT count(*) FROM a.agregat WHERE periode = '2022-S1'"));
    /* An indicator both régions' départements sent: the ratio is Σ num / Σ den
     * over the two régions, not the mean of the two regional rates. */
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM main.agregat n WHERE n.niveau = 'national'"
                               " AND n.groupe = 'D' AND n.indicateur = 'RSA_TX_ORIENT_1M'"
                               " AND n.regions_couvertes = 2 AND abs(n.valeur - 100.0 *"
                               " (SELECT sum(numerateur) FROM main.agregat r WHERE"
                               "  r.niveau = 'region' AND r.groupe = 'D'"
                               "  AND r.indicateur = 'RSA_TX_ORIENT_1M')"
                               " / (SELECT sum(denominateur) FROM main.agregat r WHERE"
                               "  r.niveau = 'region' AND r.groupe = 'D'"
                               "  AND r.indicateur = 'RSA_TX_ORIENT_1M')) < 1e-9"),
                 1);
    cr_expect_gt(t_sql_int(db, "SELECT abs((SELECT avg(valeur) FROM main.agregat"
                               " WHERE niveau = 'region' AND groupe = 'D'"
                               " AND indicateur = 'RSA_TX_ORIENT_1M') - valeur) * 1000"
                               " FROM main.agregat WHERE niveau = 'national' AND groupe = 'D'"
                               " AND indicateur = 'RSA_TX_ORIENT_1M'"),
                 0, "the national rate is the mean of the regional rates");
    /* Coverage in régions: two received out of 18. */
    cr_expect_eq(t_sql_int(db, "SELECT max(regions_couvertes) FROM agregat"
                               " WHERE niveau = 'national'"),
                 2);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM agregat WHERE niveau = 'national'"
                               " AND (regions_attendues <> 18 OR partiel <> 1)"),
                 0);
    cr_expect_eq(t_sql_int(db, "SELECT regions_couvertes FROM agregat WHERE"
                               " niveau = 'national' AND groupe = 'D'"
                               " AND indicateur = 'RSA_NOUV_ENTRANTS'"),
                 2);
    sqlite3_close(db);
}

static int render_national(const char *outdir, size_t *rendered, size_t *unchanged)
{
    struct cp_render_opts ro = {0};
    struct cp_err err;
    FILE *devnull = fopen("/dev/null", "w");
    int rc;

    ro.db_path = nat_db;
    ro.out_dir = outdir;
    ro.national = 1;
    ro.out = devnull;
    ro.rendered = rendered;
    ro.unchanged = unchanged;
    rc = cp_render_run(&ro, &err);
    cr_expect_eq(rc, 0, "%s", err.msg);
    fclose(devnull);
    return rc;
}

/* French number as the CSV writes it (decimal comma) → double. */
static double fr_num(const char *s)
{
    char tmp[64];
    size_t k = 0;

    for (; *s && k + 1 < sizeof tmp; s++)
        if (*s != ' ')
            tmp[k++] = *s == ',' ? '.' : *s;
    tmp[k] = '\0';
    return k ? strtod(tmp, NULL) : NAN;
}

Test(national, rendered_from_rollups)
{
    char nout[700], job[800], path[900], cmd[1000];
    char *text;
    size_t rendered = 9, unchanged = 9;
    struct t_csv csv;
    struct stat sb;
    sqlite3 *db;
    int ci, cv;
    size_t checked = 0;

    snprintf(nout, sizeof nout, "%s/nat-reports", dir);
    snprintf(job, sizeof job, "%s/national/2022-S1", nout);
    cr_assert_eq(render_national(nout, &rendered, &unchanged), 0);
    cr_expect_eq(rendered, 1);

    /* The dossier: national title, coverage in régions, the régions'
     * rows, the roll-ups in the files annex. */
    snprintf(cmd, sizeof cmd, "pdftotext -layout '%s/dossier.pdf' - 2>/dev/null", job);
    text = t_slurp_cmd(cmd);
    cr_expect(strstr(text, "Synthèse nationale") != NULL, "not a national dossier");
    cr_expect(strstr(text, "1er semestre 2022") != NULL);
    cr_expect(strstr(text, "2 régions sur 18") != NULL, "coverage in régions missing");
    cr_expect(strstr(text, "Occitanie") != NULL && strstr(text, "Bretagne") != NULL,
              "a région's row is missing");
    cr_expect(strstr(text, "rollup-53-2022-S1.csv") != NULL &&
                  strstr(text, "rollup-76-2022-S1.csv") != NULL,
              "the roll-ups are not in the files annex");
    cr_expect(strstr(text, "Données reçues jusqu'au —") == NULL, "no data date");
    free(text);

    /* synthese.csv: every national value equals the national aggregate. */
    snprintf(path, sizeof path, "%s/synthese.csv", job);
    cr_assert_eq(t_csv_load(&csv, path), 0);
    ci = t_csv_col(&csv, "Indicateur");
    cv = t_csv_col(&csv, "Valeur");
    cr_assert(ci >= 0 && cv >= 0);
    cr_assert_eq(sqlite3_open(nat_db, &db), SQLITE_OK);
    for (size_t r = 0; r < csv.nrows; r++) {
        char sql[400];
        const char *grp = csv.rows[r][0];
        char g = strstr(grp, "départements") ? 'D' : strstr(grp, "métropoles") ? 'M' : 'R';
        double want, got;
        long long n;
        char *txt;

        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM agregat WHERE niveau = 'national' AND zone = 'FR'"
                 " AND periode = '2022-S1' AND groupe = '%c' AND indicateur = '%s'",
                 g, csv.rows[r][ci]);
        n = t_sql_int(db, sql);
        cr_expect_eq(n, 1, "%s %c: no national aggregate", csv.rows[r][ci], g);
        if (n != 1 || !*csv.rows[r][cv])
            continue;
        snprintf(sql, sizeof sql,
                 "SELECT printf('%%.17g', valeur) FROM agregat WHERE niveau = 'national'"
                 " AND groupe = '%c' AND indicateur = '%s'",
                 g, csv.rows[r][ci]);
        txt = t_sql_text(db, sql);
        cr_assert_not_null(txt);
        want = strtod(txt, NULL);
        free(txt);
        got = fr_num(csv.rows[r][cv]);
        cr_expect(fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want)), "%s %c: CSV %s, DB %.17g",
                  csv.rows[r][ci], g, csv.rows[r][cv], want);
        checked++;
    }
    cr_expect_eq((long long)checked,
                 t_sql_int(db, "SELECT count(*) FROM agregat WHERE niveau = 'national'"
                               " AND valeur IS NOT NULL"));
    t_csv_free(&csv);

    /* The axis CSV: a row per région with its coverage, then France. */
    snprintf(path, sizeof path, "%s/axe-insertion-des-allocataires-du-rsa.csv", job);
    cr_assert_eq(t_csv_load(&csv, path), 0);
    {
        int cc = t_csv_col(&csv, "RSA_NOUV_ENTRANTS couverture");
        int cvv = t_csv_col(&csv, "RSA_NOUV_ENTRANTS valeur");
        int seen53 = 0, seen76 = 0, seenfr = 0;

        cr_assert(cc >= 0 && cvv >= 0);
        for (size_t r = 0; r < csv.nrows; r++) {
            const char *z = csv.rows[r][0];

            z += strncmp(z, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
            if (strcmp(z, "53") == 0) {
                seen53 = 1;
                cr_expect_str_eq(csv.rows[r][cvv], "5700"); /* 1200 + 1500 + 2000 + 1000 */
                cr_expect_str_eq(csv.rows[r][cc], "4/4");
            } else if (strcmp(z, "76") == 0) {
                seen76 = 1;
                cr_expect_str_eq(csv.rows[r][cvv], "28495");
            } else if (strcmp(z, "FR") == 0) {
                seenfr = 1;
                cr_expect_str_eq(csv.rows[r][cvv], "34195");
            }
        }
        cr_expect(seen53 && seen76 && seenfr, "a row is missing (53 %d, 76 %d, FR %d)", seen53,
                  seen76, seenfr);
    }
    t_csv_free(&csv);

    /* The workbook: a row per région and group. */
    snprintf(path, sizeof path, "%s/synthese.xlsx", job);
    text = t_zip_part(path, "xl/sharedStrings.xml");
    cr_expect(strstr(text, "Bretagne – départements") != NULL &&
                  strstr(text, "Bretagne – métropoles") != NULL &&
                  strstr(text, "Occitanie – départements") != NULL,
              "a région's rows are missing from the workbook");
    free(text);

    /* A chart comparing régions for each main indicator. */
    for (const char *const *c = (const char *const[]){"RSA_TX_ORIENT_1M", "RSA_DELAI_ORIENT",
                                                       "ASIP_TX_COUV", "RSA_NOUV_ENTRANTS",
                                                       NULL};
         *c; c++)
        for (const char *const *ext = (const char *const[]){"svg", "pdf", "png", NULL}; *ext;
             ext++) {
            snprintf(path, sizeof path, "%s/graphiques/%s-regions.%s", job, *c, *ext);
            cr_expect_eq(stat(path, &sb), 0, "%s missing", path);
        }
    {
        /* Every indicator charted over time is compared across régions. */
        char g[900], sib[1300];
        DIR *dp;
        struct dirent *e;
        size_t nevol = 0;

        snprintf(g, sizeof g, "%s/graphiques", job);
        dp = opendir(g);
        cr_assert_not_null(dp);
        while ((e = readdir(dp))) {
            const char *suffix = strstr(e->d_name, "-evolution.svg");

            if (!suffix || suffix[strlen("-evolution.svg")])
                continue;
            nevol++;
            snprintf(sib, sizeof sib, "%s/%.*s-regions.svg", g, (int)(suffix - e->d_name),
                     e->d_name);
            cr_expect_eq(stat(sib, &sb), 0, "%s missing", sib);
        }
        closedir(dp);
        cr_expect_gt(nevol, 8);
    }
    snprintf(path, sizeof path, "%s/graphiques/RSA_TX_ORIENT_1M-regions.svg", job);
    text = t_slurp(path, NULL);
    cr_expect(strstr(text, "Bretagne") != NULL && strstr(text, "Occitanie") != NULL,
              "the chart does not name both régions");
    free(text);
    sqlite3_close(db);
}

/* After consolidate --national, render --national without --force; a
 * re-run rewrites nothing; a newer roll-up (one more finding, received
 * later) makes it render again. */
Test(national, rerender_only_when_a_rollup_changes)
{
    char nout[700], src[900], dst[900], *s, *body, hex[CP_SHA256_HEX], *p;
    struct cp_buf before = CP_BUF_INIT(1 << 22), after = CP_BUF_INIT(1 << 22);
    struct cp_buf newer = CP_BUF_INIT(1 << 24);
    size_t rendered = 9, unchanged = 9, n, cut;
    unsigned long rows;
    struct cp_err err;
    char q[700];

    snprintf(nout, sizeof nout, "%s/nat-reports", dir);
    cr_assert_eq(render_national(nout, &rendered, &unchanged), 0);
    cr_expect_eq(rendered, 1);
    cr_expect_eq(unchanged, 0);

    /* Nothing new: consolidate --national again, then render: untouched. */
    t_mtimes(nout, &before);
    cr_assert_eq(cp_consolidate_national(nat_db, &rows, &err), 0, "%s", err.msg);
    cr_assert_eq(render_national(nout, &rendered, &unchanged), 0);
    cr_expect_eq(rendered, 0, "a run with nothing new rendered again");
    cr_expect_eq(unchanged, 1);
    t_mtimes(nout, &after);
    cr_expect_str_eq(cp_buf_str(&after), cp_buf_str(&before));

    /* A newer roll-up of Bretagne: its findings summary says one more
     * info; its aggregates are the same. */
    snprintf(src, sizeof src, "%s/rollup-53-2022-S1.csv", remontees);
    s = t_slurp(src, &n);
    cut = n - 1;
    while (cut && s[cut - 1] != '\n')
        cut--;
    s[cut] = '\0';
    cp_buf_adds(&newer, s);
    cp_buf_adds(&newer, "constat;TEST_NATIONAL;info;1\n");
    body = cp_buf_detach(&newer);
    cr_assert_eq(cp_sha256_buf(body, strlen(body), hex), 0);
    newer = (struct cp_buf)CP_BUF_INIT(1 << 24);
    cp_buf_adds(&newer, body);
    cp_buf_addf(&newer, "#sha256;%s\n", hex);
    free(body);
    free(s);
    p = cp_buf_detach(&newer);
    snprintf(dst, sizeof dst, "%s/remontees2", dir);
    cr_assert_eq(mkdir(dst, 0755), 0);
    t_write_in(dst, "rollup-53-2022-S1-v2.csv", p);
    t_write_in(dst, "reception.csv", "fichier;recu_le\nrollup-53-2022-S1-v2.csv;2030-01-01T08:00:00\n");
    free(p);
    snprintf(q, sizeof q, "%s/q-nat2", dir);
    cr_assert_eq(t_ingest(nat_db, q, dst), 0);
    cr_assert_eq(cp_consolidate_national(nat_db, &rows, &err), 0, "%s", err.msg);
    cr_assert_eq(render_national(nout, &rendered, &unchanged), 0);
    cr_expect_eq(rendered, 1, "a newer roll-up did not render again");
    {
        char cmd[900];
        char *text;

        snprintf(cmd, sizeof cmd,
                 "pdftotext -layout '%s/national/2022-S1/dossier.pdf' - 2>/dev/null", nout);
        text = t_slurp_cmd(cmd);
        cr_expect(strstr(text, "rollup-53-2022-S1-v2.csv") != NULL,
                  "the newer roll-up is not the one in force in the dossier");
        free(text);
    }
    cp_buf_release(&before);
    cp_buf_release(&after);
}

/* Runs a sanitized executable; its exit status, its output in out.txt. */
static int run_cli(const char *exe, const char *args, const char *grep)
{
    const char *bindir = getenv("CALPAE_BINDIR");
    char cmd[4096];
    int st;

    snprintf(cmd, sizeof cmd, "%s/%s %s >%s/out.txt 2>&1", bindir, exe, args, dir);
    st = system(cmd);
    if (grep) {
        snprintf(cmd, sizeof cmd, "grep -q -- '%s' %s/out.txt", grep, dir);
        cr_expect_eq(system(cmd), 0, "output of %s %s lacks « %s »", exe, args, grep);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* What every national-tier figure depends on, as one string. */
static char *state(void)
{
    sqlite3 *db;
    char *s;

    cr_assert_eq(sqlite3_open(nat_db, &db), SQLITE_OK);
    s = t_sql_text(db, "SELECT count(*) || ' ' || total(valeur) || ' ' || total(couverts)"
                       " || ' ' || total(regions_couvertes) || ' ' || (SELECT count(*)"
                       " FROM contribution) || ' ' || (SELECT coalesce(group_concat(cle || valeur), '')"
                       " FROM meta WHERE cle LIKE 'etat:%') FROM agregat");
    sqlite3_close(db);
    cr_assert_not_null(s);
    return s;
}

Test(national, plain_consolidate_and_render_refused)
{
    struct cp_consolidate_opts co = {0};
    struct cp_render_opts ro = {0};
    struct cp_err err;
    char *before = state(), *after, args[1400];
    FILE *devnull = fopen("/dev/null", "w");

    co.db_path = nat_db;
    co.data_dir = t_src("data");
    cr_expect_eq(cp_consolidate_run(&co, NULL, &err), -1);
    cr_expect_eq(err.exit_status, CP_EX_USAGE);
    cr_expect_str_eq(err.code, "base_nationale");
    cr_expect(strstr(err.msg, "calpae-consolidate --national") != NULL, "%s", err.msg);
    after = state();
    cr_expect_str_eq(after, before, "a refused consolidation changed the database");
    free(after);
    ro.db_path = nat_db;
    ro.out_dir = out;
    ro.out = devnull;
    cr_expect_eq(cp_render_run(&ro, &err), CP_EX_USAGE);
    cr_expect(strstr(err.msg, "calpae-render --national") != NULL, "%s", err.msg);
    fclose(devnull);
    if (getenv("CALPAE_BINDIR")) {
        snprintf(args, sizeof args, "--db %s --data %s", nat_db, t_src("data"));
        cr_expect_eq(run_cli("calpae-consolidate", args, "base_nationale"), CP_EX_USAGE);
        snprintf(args, sizeof args, "--db %s --national", nat_db);
        cr_expect_eq(run_cli("calpae-consolidate", args, "agrégats nationaux calculés"),
                     CP_EX_OK);
        /* --national on a database without roll-ups empties nothing. */
        snprintf(args, sizeof args, "--db %s --national", all_db);
        cr_expect_eq(run_cli("calpae-consolidate", args, "aucune_remontee"), CP_EX_NOINPUT);
    }
    after = state();
    cr_expect_str_eq(after, before);
    free(after);
    free(before);
    {
        sqlite3 *db;

        cr_assert_eq(sqlite3_open(all_db, &db), SQLITE_OK);
        cr_expect_gt(t_sql_int(db, "SELECT count(*) FROM agregat WHERE niveau = 'national'"), 0);
        sqlite3_close(db);
    }
}
