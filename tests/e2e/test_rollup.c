/*
 * The regional roll-up end to end: the sample inbox ingested, consolidated
 * and rendered for Occitanie 2022-S1; the roll-up's checksum line; the file
 * ingested into a new (national) database; altered, truncated and
 * inconsistent copies rejected whole with their codes; a newer roll-up for
 * the same région and period taking over while the older stays.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/hash.h"
#include "consolidate/consolidate.h"
#include "render/render.h"
#include "tests/e2e/helpers.h"

static char *dir;
static char db_path[512], out[512], rollup[700];

static void setup(void)
{
    char q[600];
    struct cp_consolidate_opts co = {0};
    struct cp_render_opts ro = {0};
    struct cp_err err;
    FILE *devnull = fopen("/dev/null", "w");

    dir = t_tmpdir();
    cr_assert_not_null(dir);
    snprintf(db_path, sizeof db_path, "%s/c.db", dir);
    snprintf(q, sizeof q, "%s/q", dir);
    snprintf(out, sizeof out, "%s/reports", dir);
    snprintf(rollup, sizeof rollup, "%s/76/2022-S1/rollup-76-2022-S1.csv", out);
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

TestSuite(rollup, .init = setup, .fini = teardown, .timeout = 240);

/* Where the checksum line starts (the start of the last line). */
static size_t last_line(const char *s, size_t n)
{
    size_t i = n;

    if (i && s[i - 1] == '\n')
        i--;
    while (i && s[i - 1] != '\n')
        i--;
    return i;
}

/* Replaces the first occurrence of from (which must exist) by to. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    struct cp_buf b = CP_BUF_INIT(1 << 26);

    cr_assert_not_null(p, "« %s » not found", from);
    cp_buf_add(&b, s, (size_t)(p - s));
    cp_buf_adds(&b, to);
    cp_buf_adds(&b, p + strlen(from));
    return cp_buf_detach(&b);
}

/* A new checksum line for the edited content. */
static char *reseal(const char *s)
{
    size_t n = strlen(s), body = last_line(s, n);
    char hex[CP_SHA256_HEX];
    struct cp_buf b = CP_BUF_INIT(1 << 26);

    cr_assert_eq(cp_sha256_buf(s, body, hex), 0);
    cp_buf_add(&b, s, body);
    cp_buf_addf(&b, "#sha256;%s\n", hex);
    return cp_buf_detach(&b);
}

/* Ingests one file into a new database nat-<tag>.db; returns the status. */
static int ingest_new(const char *tag, const char *data, size_t n, char *dbp, size_t dbn)
{
    char sub[800], path[900], q[900];

    snprintf(sub, sizeof sub, "%s/in-%s", dir, tag);
    cr_assert_eq(mkdir(sub, 0755), 0);
    snprintf(path, sizeof path, "%s/rollup-76-2022-S1.csv", sub);
    snprintf(q, sizeof q, "%s/q-%s", dir, tag);
    snprintf(dbp, dbn, "%s/nat-%s.db", dir, tag);
    t_write(path, data, n);
    return t_ingest(dbp, q, path);
}

/* The rejection code of the only file in db, and that nothing was stored. */
static void assert_rejected(const char *dbp, const char *code)
{
    sqlite3 *db;
    char *got;

    cr_assert_eq(sqlite3_open(dbp, &db), SQLITE_OK);
    got = t_sql_text(db, "SELECT code FROM rejets");
    cr_assert_not_null(got);
    cr_expect_str_eq(got, code);
    free(got);
    got = t_sql_text(db, "SELECT statut || ' ' || format || ' ' || niveau FROM fichier");
    cr_expect_str_eq(got, "rejete rollup region");
    free(got);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM rollup"), 0);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM rollup_agregat"), 0);
    sqlite3_close(db);
}

Test(rollup, written_with_its_checksum)
{
    size_t n, body;
    char *s = t_slurp(rollup, &n), hex[CP_SHA256_HEX], line[100];
    sqlite3 *db;
    char *cat;

    cr_assert_gt(n, 100);
    cr_expect_eq(strncmp(s, "#calpae-rollup;1\n#region;76\n#periode;2022-S1\n", 45), 0);
    body = last_line(s, n);
    cr_assert_eq(cp_sha256_buf(s, body, hex), 0);
    snprintf(line, sizeof line, "#sha256;%s\n", hex);
    cr_expect_str_eq(s + body, line);
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cat = t_sql_text(db, "SELECT valeur FROM meta WHERE cle = 'version_catalogue'");
    cr_assert_not_null(cat);
    snprintf(line, sizeof line, "\n#version_catalogue;%s\n", cat);
    cr_expect_not_null(strstr(s, line));
    cr_expect_not_null(strstr(s, "\n#version_logiciel;" CALPAE_VERSION "\n"));
    /* Every aggregate and contribution of the région and period is a line. */
    {
        long long na = t_sql_int(db, "SELECT count(*) FROM agregat WHERE niveau = 'region'"
                                     " AND zone = '76' AND periode = '2022-S1'");
        long long nc = t_sql_int(db, "SELECT count(*) FROM contribution WHERE niveau = 'region'"
                                     " AND zone = '76' AND periode = '2022-S1'");
        long long ka = 0, kc = 0;

        for (const char *p = s; (p = strchr(p, '\n')); p++) {
            ka += strncmp(p + 1, "agregat;", 8) == 0;
            kc += strncmp(p + 1, "contribution;", 13) == 0;
        }
        cr_expect_gt(na, 0);
        cr_expect_eq(ka, na);
        cr_expect_eq(kc, nc);
    }
    /* The moyenne's weight is its denominator. */
    cr_expect_not_null(strstr(s, "\nagregat;D;RSA_DELAI_ORIENT;moyenne;"));
    free(cat);
    sqlite3_close(db);
    free(s);
}

Test(rollup, ingested_into_a_new_database)
{
    size_t n;
    char *s = t_slurp(rollup, &n), dbp[900], sql[1400];
    sqlite3 *db;

    cr_assert_eq(ingest_new("ok", s, n, dbp, sizeof dbp), 0);
    cr_assert_eq(sqlite3_open(dbp, &db), SQLITE_OK);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM fichier WHERE statut = 'accepte'"
                               " AND format = 'rollup' AND niveau = 'region'"),
                 1);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM rollups_courants WHERE region = '76'"
                               " AND periode = '2022-S1'"),
                 1);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM rollup_constat"), 3);
    /* Stored exactly as the région computed it. */
    snprintf(sql, sizeof sql, "ATTACH '%s' AS src", db_path);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM src.agregat a WHERE a.niveau = 'region'"
                               " AND a.zone = '76' AND a.periode = '2022-S1' AND NOT EXISTS"
                               " (SELECT 1 FROM rollup_agregat r WHERE r.groupe = a.groupe"
                               " AND r.indicateur = a.indicateur AND r.valeur IS a.valeur"
                               " AND r.numerateur IS a.numerateur"
                               " AND r.denominateur IS a.denominateur"
                               " AND r.couverts = a.couverts AND r.attendus = a.attendus"
                               " AND r.part_couverte IS a.part_couverte"
                               " AND r.derive = a.derive)"),
                 0);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM rollup_agregat"),
                 t_sql_int(db, "SELECT count(*) FROM src.agregat WHERE niveau = 'region'"
                               " AND zone = '76' AND periode = '2022-S1'"));
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM src.contribution c WHERE"
                               " c.niveau = 'region' AND c.zone = '76' AND c.periode = '2022-S1'"
                               " AND NOT EXISTS (SELECT 1 FROM rollup_contribution r"
                               " WHERE r.groupe = c.groupe AND r.indicateur = c.indicateur"
                               " AND r.signataire = c.signataire AND r.valeur IS c.valeur"
                               " AND r.numerateur IS c.numerateur"
                               " AND r.denominateur IS c.denominateur)"),
                 0);
    sqlite3_close(db);
    free(s);
}

Test(rollup, altered_figure_fails_the_checksum)
{
    size_t n;
    char *s = t_slurp(rollup, &n), dbp[900], q[900];
    char *bad = replace(s, "\nagregat;D;RSA_NOUV_ENTRANTS;flux;28495;",
                        "\nagregat;D;RSA_NOUV_ENTRANTS;flux;28496;");
    struct stat sb;

    cr_assert_eq(ingest_new("sum", bad, strlen(bad), dbp, sizeof dbp), 65);
    assert_rejected(dbp, "rollup_checksum");
    snprintf(q, sizeof q, "%s/q-sum/rollup-76-2022-S1.csv.rapport.txt", dir);
    cr_expect_eq(stat(q, &sb), 0, "no quarantine report");
    free(bad);
    free(s);
}

Test(rollup, truncated_file_rejected)
{
    size_t n;
    char *s = t_slurp(rollup, &n), dbp[900];

    cr_assert_eq(ingest_new("cut", s, n / 2, dbp, sizeof dbp), 65);
    assert_rejected(dbp, "rollup_tronque");
    free(s);
}

Test(rollup, aggregate_disagreeing_with_its_lines_rejected)
{
    size_t n;
    char *s = t_slurp(rollup, &n), dbp[900];
    char *bad = replace(s, "\nagregat;D;RSA_NOUV_ENTRANTS;flux;28495;",
                        "\nagregat;D;RSA_NOUV_ENTRANTS;flux;28496;");
    char *sealed = reseal(bad);

    cr_assert_eq(ingest_new("tot", sealed, strlen(sealed), dbp, sizeof dbp), 65);
    assert_rejected(dbp, "rollup_totaux");
    free(sealed);
    free(bad);
    free(s);
}

Test(rollup, ratio_numerator_disagreeing_rejected)
{
    size_t n;
    char *s = t_slurp(rollup, &n), dbp[900];
    char *bad = replace(s, ";14075;27404;", ";14076;27404;");
    char *sealed = reseal(bad);

    cr_assert_eq(ingest_new("rat", sealed, strlen(sealed), dbp, sizeof dbp), 65);
    assert_rejected(dbp, "rollup_totaux");
    free(sealed);
    free(bad);
    free(s);
}

Test(rollup, other_catalog_rejected)
{
    size_t n;
    char *s = t_slurp(rollup, &n), dbp[900];
    char *bad = replace(s, "\n#version_catalogue;", "\n#version_catalogue;0");
    char *sealed = reseal(bad);

    cr_assert_eq(ingest_new("cat", sealed, strlen(sealed), dbp, sizeof dbp), 65);
    assert_rejected(dbp, "rollup_catalogue");
    free(sealed);
    free(bad);
    free(s);
}

Test(rollup, two_regions_rejected)
{
    size_t n;
    char *s = t_slurp(rollup, &n), dbp[900];
    char *bad = replace(s, "\n#region;76\n", "\n#region;76\n#region;11\n");
    char *sealed = reseal(bad);

    cr_assert_eq(ingest_new("reg", sealed, strlen(sealed), dbp, sizeof dbp), 65);
    assert_rejected(dbp, "rollup_regions");
    free(sealed);
    free(bad);
    free(s);
}

Test(rollup, with_bom_accepted_and_newer_replaces_older)
{
    size_t n;
    char *s = t_slurp(rollup, &n), sub[800], path[900], q[900], dbp[900];
    char *bom, *later, *sealed;
    sqlite3 *db;
    char *cur;

    /* A BOM an editor added (the checksum covers it) and a later roll-up
     * with one more finding, received the next day. */
    bom = malloc(n + 4);
    memcpy(bom, "\xEF\xBB\xBF", 3);
    memcpy(bom + 3, s, n);
    bom[n + 3] = '\0';
    sealed = reseal(bom);
    later = replace(s, "\nconstat;ATYPIQUE;info;1\n", "\nconstat;ATYPIQUE;info;2\n");
    free(bom);
    bom = sealed;
    sealed = reseal(later);
    snprintf(sub, sizeof sub, "%s/in-two", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    snprintf(path, sizeof path, "%s/a-rollup-76-2022-S1.csv", sub);
    t_write(path, bom, strlen(bom));
    snprintf(path, sizeof path, "%s/b-rollup-76-2022-S1.csv", sub);
    t_write(path, sealed, strlen(sealed));
    snprintf(path, sizeof path, "%s/reception.csv", sub);
    t_write(path,
         "fichier;recu_le\nb-rollup-76-2022-S1.csv;2022-09-02T10:00:00\n"
         "a-rollup-76-2022-S1.csv;2022-09-01T10:00:00\n",
         strlen("fichier;recu_le\nb-rollup-76-2022-S1.csv;2022-09-02T10:00:00\n"
                "a-rollup-76-2022-S1.csv;2022-09-01T10:00:00\n"));
    snprintf(q, sizeof q, "%s/q-two", dir);
    snprintf(dbp, sizeof dbp, "%s/nat-two.db", dir);
    cr_assert_eq(t_ingest(dbp, q, sub), 0);
    cr_assert_eq(sqlite3_open(dbp, &db), SQLITE_OK);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM rollup"), 2);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM rollups_courants"), 1);
    cur = t_sql_text(db, "SELECT fichier FROM rollups_courants");
    cr_expect_str_eq(cur, "b-rollup-76-2022-S1.csv");
    free(cur);
    cr_expect_eq(t_sql_int(db, "SELECT r.nombre FROM rollup_constat r JOIN rollups_courants c"
                               " USING (fichier_id) WHERE r.regle = 'ATYPIQUE'"),
                 2);
    sqlite3_close(db);
    free(sealed);
    free(later);
    free(bom);
    free(s);
}

/* The national tier: national aggregates from the roll-up equal those
 * computed directly from the signatories' data, for every nature (the
 * sample inbox holds Occitanie only, so the nation is that région). */
Test(rollup, national_from_rollups_equals_direct)
{
    size_t n;
    char *s = t_slurp(rollup, &n), dbp[900], sql[1400];
    const char *natures[] = {"flux", "stock", "ratio", "moyenne"};
    unsigned long rows = 0;
    struct cp_err err;
    sqlite3 *db;

    cr_assert_eq(ingest_new("nat", s, n, dbp, sizeof dbp), 0);
    cr_assert_eq(cp_consolidate_national(dbp, &rows, &err), 0, "%s", err.msg);
    cr_assert_gt(rows, 0);
    cr_assert_eq(sqlite3_open(dbp, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "ATTACH '%s' AS src", db_path);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    for (size_t k = 0; k < 4; k++) {
        long long direct, same;

        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM src.agregat d JOIN ref_indicateur i ON"
                 " i.code = d.indicateur WHERE d.niveau = 'national' AND d.zone = 'FR'"
                 " AND d.periode = '2022-S1' AND i.nature = '%s'",
                 natures[k]);
        direct = t_sql_int(db, sql);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM src.agregat d JOIN ref_indicateur i ON"
                 " i.code = d.indicateur JOIN agregat a ON a.niveau = 'national'"
                 " AND a.zone = 'FR' AND a.groupe = d.groupe AND a.periode = d.periode"
                 " AND a.indicateur = d.indicateur"
                 " WHERE d.niveau = 'national' AND d.zone = 'FR' AND d.periode = '2022-S1'"
                 " AND i.nature = '%s' AND a.couverts = d.couverts AND a.derive = d.derive"
                 " AND abs(a.valeur - d.valeur) <= 1e-9 * abs(d.valeur)"
                 " AND (d.numerateur IS NULL AND a.numerateur IS NULL"
                 "  OR abs(a.numerateur - d.numerateur) <= 1e-9 * abs(d.numerateur))"
                 " AND (d.denominateur IS NULL AND a.denominateur IS NULL"
                 "  OR abs(a.denominateur - d.denominateur) <= 1e-9 * abs(d.denominateur))",
                 natures[k]);
        same = t_sql_int(db, sql);
        cr_expect_gt(direct, 0, "no national %s aggregate", natures[k]);
        cr_expect_eq(same, direct, "%s: %lld of %lld national aggregates agree", natures[k],
                     same, direct);
    }
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM agregat WHERE niveau = 'national'"),
                 t_sql_int(db, "SELECT count(*) FROM src.agregat WHERE niveau = 'national'"
                               " AND periode = '2022-S1'"));
    /* Coverage in régions: one received out of the 18. */
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM agregat WHERE niveau = 'national'"
                               " AND (regions_couvertes <> 1 OR regions_attendues <> 18"
                               " OR partiel <> 1)"),
                 0);
    cr_expect_eq(t_sql_int(db, "SELECT count(*) FROM contribution WHERE niveau = 'national'"),
                 t_sql_int(db, "SELECT count(*) FROM rollup_contribution"));
    sqlite3_close(db);
    free(s);
}
