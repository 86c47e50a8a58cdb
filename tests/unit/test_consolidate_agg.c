/* Unit tests for the aggregates (consolidate/agg.c): each nature, derived
 * years, geography over time, recentralisation, exclusions, coverage. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/consdb.h"

static double agg(struct consdb *c, const char *col, const char *niveau, const char *zone,
                  const char *groupe, const char *per, const char *ind)
{
    char sql[512];

    snprintf(sql, sizeof sql,
             "SELECT %s FROM agregat WHERE niveau = '%s' AND zone = '%s' AND groupe = '%s'"
             " AND periode = '%s' AND indicateur = '%s'", col, niveau, zone, groupe, per, ind);
    return consdb_real(c, sql);
}

static long long agg_rows(struct consdb *c, const char *where)
{
    char sql[512];

    snprintf(sql, sizeof sql, "SELECT count(*) FROM agregat WHERE %s", where);
    return consdb_int(c, sql);
}

Test(consolidate_agg, ratio_is_recomputed_never_averaged)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "RSA_ORIENT_1M", "10", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "RSA_NOUV_ENTRANTS", "100", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "RSA_TX_ORIENT_1M", "10", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_ORIENT_1M", "900", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_NOUV_ENTRANTS", "1000", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_TX_ORIENT_1M", "90", NULL);
    /* a rate without its numerator does not count */
    consdb_value(&c, f, "12D", "2021-S1", "RSA_TX_ORIENT_1M", "70", NULL);
    consdb_value(&c, f, "12D", "2021-S1", "RSA_NOUV_ENTRANTS", "500", NULL);
    consdb_run(&c, NULL);
    /* The average of 10 % and 90 % would be 50 %. */
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2021-S1", "RSA_TX_ORIENT_1M"),
                       100.0 * 910 / 1100, 1e-9);
    cr_assert_float_eq(agg(&c, "numerateur", "region", "76", "D", "2021-S1", "RSA_TX_ORIENT_1M"),
                       910, 1e-9);
    cr_assert_float_eq(agg(&c, "denominateur", "region", "76", "D", "2021-S1",
                           "RSA_TX_ORIENT_1M"),
                       1100, 1e-9);
    cr_assert_eq((int)agg(&c, "couverts", "region", "76", "D", "2021-S1", "RSA_TX_ORIENT_1M"), 2);
    cr_assert_eq((int)agg(&c, "attendus", "region", "76", "D", "2021-S1", "RSA_TX_ORIENT_1M"), 13);
    cr_assert_eq((int)agg(&c, "partiel", "region", "76", "D", "2021-S1", "RSA_TX_ORIENT_1M"), 1);
    /* share of the denominator covered: 1100 of the 1600 reported */
    cr_assert_float_eq(agg(&c, "part_couverte", "region", "76", "D", "2021-S1",
                           "RSA_TX_ORIENT_1M"),
                       1100.0 / 1600, 1e-9);
    cr_assert_float_eq(agg(&c, "valeur", "national", "FR", "D", "2021-S1", "RSA_TX_ORIENT_1M"),
                       100.0 * 910 / 1100, 1e-9);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM contribution WHERE niveau = 'region'"
                                " AND indicateur = 'RSA_TX_ORIENT_1M'"),
                 2);
    consdb_close(&c);
}

Test(consolidate_agg, flux_and_stock_sum_and_years_are_derived_from_halves)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2022-02-20T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "ASE_MAJEURS", "100", NULL);
    consdb_value(&c, f, "09D", "2021-S2", "ASE_MAJEURS", "50", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "ASE_MAJEURS", "100", NULL);
    consdb_value(&c, f, "11D", "2021-S2", "ASE_MAJEURS", "200", NULL);
    consdb_value(&c, f, "11D", "2021", "ASE_MAJEURS", "310", NULL);      /* sent: used */
    consdb_value(&c, f, "12D", "2021-S1", "ASE_MAJEURS", "40", NULL);    /* no S2: no year */
    consdb_value(&c, f, "09D", "2021-S1", "ASIP_LIEUX", "10", NULL);
    consdb_value(&c, f, "09D", "2021-S2", "ASIP_LIEUX", "12", NULL);
    consdb_value(&c, f, "11D", "2021-S2", "ASIP_LIEUX", "5", NULL);
    consdb_run(&c, NULL);
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2021-S1", "ASE_MAJEURS"), 240,
                       1e-9);
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2021", "ASE_MAJEURS"), 460, 1e-9);
    cr_assert_eq((int)agg(&c, "couverts", "region", "76", "D", "2021", "ASE_MAJEURS"), 2);
    cr_assert_eq((int)agg(&c, "derive", "region", "76", "D", "2021", "ASE_MAJEURS"), 1);
    cr_assert_eq((int)agg(&c, "derive", "region", "76", "D", "2021-S1", "ASE_MAJEURS"), 0);
    cr_assert_eq(consdb_int(&c, "SELECT derive FROM contribution WHERE niveau = 'region'"
                                " AND periode = '2021' AND indicateur = 'ASE_MAJEURS'"
                                " AND signataire = '11D'"),
                 0);
    /* a stock over a year is its level at the end, never S1 + S2 */
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2021", "ASIP_LIEUX"), 17, 1e-9);
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2021-S2", "ASIP_LIEUX"), 17, 1e-9);
    cr_assert_eq((int)agg(&c, "couverts", "region", "76", "D", "2021-S1", "ASIP_LIEUX"), 1);
    cr_assert_eq((int)agg(&c, "attendus", "region", "76", "D", "2021-S1", "ASIP_LIEUX"), 13);
    /* no figure at all: no row */
    cr_assert_eq(agg_rows(&c, "indicateur = 'ASE_LOGEMENT'"), 0);
    consdb_close(&c);
}

Test(consolidate_agg, moyenne_is_weighted_by_its_weight_indicator)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "RSA_DELAI_ORIENT", "40", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "RSA_ORIENTES", "100", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_DELAI_ORIENT", "60", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_ORIENTES", "300", NULL);
    consdb_value(&c, f, "12D", "2021-S1", "RSA_DELAI_ORIENT", "90", NULL); /* no weight */
    consdb_run(&c, NULL);
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2021-S1", "RSA_DELAI_ORIENT"),
                       55.0, 1e-9);
    cr_assert_float_eq(agg(&c, "numerateur", "region", "76", "D", "2021-S1", "RSA_DELAI_ORIENT"),
                       22000.0, 1e-9);
    cr_assert_float_eq(agg(&c, "denominateur", "region", "76", "D", "2021-S1",
                           "RSA_DELAI_ORIENT"),
                       400.0, 1e-9);
    cr_assert_eq((int)agg(&c, "couverts", "region", "76", "D", "2021-S1", "RSA_DELAI_ORIENT"), 2);
    consdb_close(&c);
}

Test(consolidate_agg, alsace_is_67d_plus_68d_until_2020_then_6ae)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "67D", "2020-S1", "ASE_MAJEURS", "100", NULL);
    consdb_value(&c, f, "68D", "2020-S1", "ASE_MAJEURS", "80", NULL);
    consdb_value(&c, f, "6AE", "2021-S1", "ASE_MAJEURS", "190", NULL);
    /* a body not in force for the period does not contribute */
    consdb_value(&c, f, "67D", "2021-S1", "ASE_MAJEURS", "999", NULL);
    consdb_run(&c, NULL);
    cr_assert_float_eq(agg(&c, "valeur", "region", "44", "D", "2020-S1", "ASE_MAJEURS"), 180,
                       1e-9);
    cr_assert_eq((int)agg(&c, "couverts", "region", "44", "D", "2020-S1", "ASE_MAJEURS"), 2);
    cr_assert_eq((int)agg(&c, "attendus", "region", "44", "D", "2020-S1", "ASE_MAJEURS"), 10);
    cr_assert_float_eq(agg(&c, "valeur", "region", "44", "D", "2021-S1", "ASE_MAJEURS"), 190,
                       1e-9);
    cr_assert_eq((int)agg(&c, "couverts", "region", "44", "D", "2021-S1", "ASE_MAJEURS"), 1);
    cr_assert_eq((int)agg(&c, "attendus", "region", "44", "D", "2021-S1", "ASE_MAJEURS"), 9);
    cr_assert_eq((int)agg(&c, "attendus", "national", "FR", "D", "2020-S1", "ASE_MAJEURS"), 101);
    cr_assert_eq((int)agg(&c, "attendus", "national", "FR", "D", "2021-S1", "ASE_MAJEURS"), 100);
    consdb_close(&c);
}

Test(consolidate_agg, recentralised_rsa_is_neither_expected_nor_counted)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "RSA_NOUV_ENTRANTS", "100", NULL);
    consdb_value(&c, f, "974D", "2021-S1", "RSA_NOUV_ENTRANTS", "5000", NULL);
    consdb_value(&c, f, "974D", "2021-S1", "ASE_MAJEURS", "50", NULL);
    consdb_value(&c, f, "974D", "2019-S1", "RSA_NOUV_ENTRANTS", "4000", NULL);
    consdb_run(&c, NULL);
    cr_assert_float_eq(agg(&c, "valeur", "national", "FR", "D", "2021-S1", "RSA_NOUV_ENTRANTS"),
                       100, 1e-9);
    cr_assert_eq((int)agg(&c, "attendus", "national", "FR", "D", "2021-S1", "RSA_NOUV_ENTRANTS"),
                 97);
    cr_assert_eq((int)agg(&c, "attendus", "national", "FR", "D", "2021-S1", "ASE_MAJEURS"), 100);
    cr_assert_eq(agg_rows(&c, "zone = '04' AND periode = '2021-S1'"
                             " AND indicateur = 'RSA_NOUV_ENTRANTS'"), 0);
    cr_assert_float_eq(agg(&c, "valeur", "region", "04", "D", "2021-S1", "ASE_MAJEURS"), 50,
                       1e-9);
    /* La Réunion still ran the RSA in 2019 */
    cr_assert_float_eq(agg(&c, "valeur", "region", "04", "D", "2019-S1", "RSA_NOUV_ENTRANTS"),
                       4000, 1e-9);
    cr_assert_eq((int)agg(&c, "attendus", "national", "FR", "D", "2019-S1", "RSA_NOUV_ENTRANTS"),
                 99);
    consdb_close(&c);
}

Test(consolidate_agg, metropoles_and_regions_are_their_own_groups)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "31D", "2021-S1", "REFPARC_PERS", "100", NULL);
    consdb_value(&c, f, "M31", "2021-S1", "REFPARC_PERS", "40", NULL);
    consdb_value(&c, f, "R76", "2021-S1", "OF_JEUNES_REPERES", "300", NULL);
    consdb_run(&c, NULL);
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2021-S1", "REFPARC_PERS"), 100,
                       1e-9);
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "M", "2021-S1", "REFPARC_PERS"), 40,
                       1e-9);
    cr_assert_eq((int)agg(&c, "attendus", "region", "76", "M", "2021-S1", "REFPARC_PERS"), 3);
    cr_assert_eq((int)agg(&c, "attendus", "national", "FR", "M", "2021-S1", "REFPARC_PERS"), 22);
    cr_assert_float_eq(agg(&c, "valeur", "national", "FR", "R", "2021-S1", "OF_JEUNES_REPERES"),
                       300, 1e-9);
    cr_assert_eq((int)agg(&c, "attendus", "national", "FR", "R", "2021-S1", "OF_JEUNES_REPERES"),
                 13);
    consdb_close(&c);
}

Test(consolidate_agg, values_under_a_bloquant_finding_are_left_out)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2022-07-20T10:00:00");
    consdb_value(&c, f, "82D", "2022-S1", "RSA_ORIENT_1M", "1025", NULL);
    consdb_value(&c, f, "82D", "2022-S1", "RSA_ORIENTES", "976", NULL);
    consdb_value(&c, f, "82D", "2022-S1", "RSA_NOUV_ENTRANTS", "1091", NULL);
    consdb_value(&c, f, "82D", "2022-S1", "RSA_RDV_15J", "683", NULL);
    consdb_value(&c, f, "09D", "2022-S1", "RSA_ORIENT_1M", "100", NULL);
    consdb_value(&c, f, "09D", "2022-S1", "RSA_ORIENTES", "150", NULL);
    consdb_value(&c, f, "09D", "2022-S1", "RSA_NOUV_ENTRANTS", "200", NULL);
    consdb_value(&c, f, "09D", "2022-S1", "RSA_RDV_15J", "90", NULL);
    consdb_run(&c, NULL);
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2022-S1", "RSA_ORIENTES"), 150,
                       1e-9);
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2022-S1", "RSA_NOUV_ENTRANTS"),
                       1291, 1e-9);
    cr_assert_float_eq(agg(&c, "valeur", "region", "76", "D", "2022-S1", "RSA_RDV_15J"), 773,
                       1e-9);
    /* the ratio drops 82D whole: its numerator is excluded */
    cr_assert_float_eq(agg(&c, "denominateur", "region", "76", "D", "2022-S1",
                           "RSA_TX_ORIENT_1M"),
                       200, 1e-9);
    cr_assert_float_eq(agg(&c, "numerateur", "region", "76", "D", "2022-S1", "RSA_TX_RDV_15J"),
                       90, 1e-9);
    cr_assert_eq((int)agg(&c, "couverts", "region", "76", "D", "2022-S1", "RSA_TX_RDV_15J"), 1);
    consdb_close(&c);
}

/* The sum SQLite's sum() gives of the région contributions of a group,
 * period and indicator, fed in zone then signatory order (computed here
 * as sum() does: from +0.0, in that order). */
static double zone_order_sum(struct consdb *c, const char *groupe, const char *per,
                             const char *ind)
{
    sqlite3_stmt *st;
    double s = 0.0;

    cr_assert_eq(sqlite3_prepare_v2(c->db,
                                    "SELECT valeur FROM contribution WHERE niveau = 'region'"
                                    " AND groupe = ?1 AND periode = ?2 AND indicateur = ?3"
                                    " ORDER BY zone, signataire",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(st, 1, groupe, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, per, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ind, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        s += sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return s;
}

/* The aggregates are computed in C (agg.c) exactly as the SQL they replace
 * summed: a région's values in signatory order, the nation's in zone then
 * signatory order. Floating-point addition is not associative: these
 * values give another result in any other order. */
Test(consolidate_agg, sums_are_in_the_order_of_the_sql_to_the_last_bit)
{
    static const char rules[] = "id;gravite;controle;expression;tolerance;message\n"
                                "CIBLE;info;cible;bas=80% haut=120%;;{detail}\n";
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "01D", "2021-S1", "AG_ENTREES", "-10000000000000000", NULL); /* 84 */
    consdb_value(&c, f, "03D", "2021-S1", "AG_ENTREES", "1", NULL);                  /* 84 */
    consdb_value(&c, f, "09D", "2021-S1", "AG_ENTREES", "10000000000000000", NULL);  /* 76 */
    consdb_value(&c, f, "11D", "2021-S1", "AG_ENTREES", "1", NULL);                  /* 76 */
    consdb_value(&c, f, "12D", "2021-S1", "AG_ENTREES", "1", NULL);                  /* 76 */
    cr_assert_eq(consdb_run(&c, rules), 0);
    /* 1e16 + 1 + 1 in that order: each 1 is lost (1e16 + 2 the other way). */
    cr_assert(agg(&c, "valeur", "region", "76", "D", "2021-S1", "AG_ENTREES") == 1e16);
    /* By zone: 1e16 + 1 + 1 - 1e16 + 1 = 1 (2 by signatory alone). */
    cr_assert(zone_order_sum(&c, "D", "2021-S1", "AG_ENTREES") == 1.0);
    cr_assert(agg(&c, "valeur", "national", "FR", "D", "2021-S1", "AG_ENTREES") == 1.0);
    /* Every aggregate of the run is SQLite's sum() of its contributions. */
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM agregat a WHERE a.niveau = 'region'"
                                " AND a.valeur IS NOT (SELECT sum(x.valeur) FROM contribution x"
                                " WHERE x.niveau = 'region' AND x.zone = a.zone"
                                " AND x.groupe = a.groupe AND x.periode = a.periode"
                                " AND x.indicateur = a.indicateur)"),
                 0);
    consdb_close(&c);
}
