/* Unit tests for the checks of data/regles.csv, one per kind, on small
 * databases filled by SQL (consolidate/checks.c, findings.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/consdb.h"

#define FINDINGS(rule) "SELECT count(*) FROM constat WHERE regle = '" rule "'"

static long long count_where(struct consdb *c, const char *rule, const char *sig,
                             const char *per)
{
    char sql[512];

    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM constat WHERE regle = '%s' AND signataire = '%s'"
             " AND periode = '%s'", rule, sig, per);
    return consdb_int(c, sql);
}

static const char *message_of(struct consdb *c, const char *rule, const char *sig,
                              const char *per)
{
    char sql[512];

    snprintf(sql, sizeof sql,
             "SELECT message FROM constat WHERE regle = '%s' AND signataire = '%s'"
             " AND periode = '%s'", rule, sig, per);
    return consdb_text(c, sql);
}

Test(consolidate_checks, bornes_flags_out_of_range_and_fractional_counts)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-01T10:00:00");
    consdb_value(&c, f, "34D", "2021-S2", "RSA_TX_RDV_15J", "145", NULL);
    consdb_value(&c, f, "34D", "2021-S2", "RSA_CER", "12.5", NULL);
    consdb_value(&c, f, "34D", "2021-S2", "RSA_ORIENTES", "-3", NULL);
    consdb_value(&c, f, "34D", "2021-S2", "RSA_TX_ORIENT_1M", "100", NULL);
    consdb_value(&c, f, "34D", "2021-S2", "RSA_NOUV_ENTRANTS", "1000", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(consdb_int(&c, FINDINGS("BORNES")), 3);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat WHERE regle = 'BORNES'"
                                " AND gravite = 'bloquant' AND signataire = '34D'"
                                " AND indicateurs IN ('RSA_TX_RDV_15J', 'RSA_CER', 'RSA_ORIENTES')"),
                 3);
    cr_assert(strstr(consdb_text(&c, "SELECT message FROM constat WHERE regle = 'BORNES'"
                                     " AND indicateurs = 'RSA_TX_RDV_15J'"),
                     "145\xC2\xA0%"));
    cr_assert(strstr(consdb_text(&c, "SELECT message FROM constat WHERE regle = 'BORNES'"
                                     " AND indicateurs = 'RSA_CER'"),
                     "12,5"));
    /* The file and cell of the value are recorded. */
    cr_assert_str_eq(consdb_text(&c, "SELECT fichier FROM constats WHERE regle = 'BORNES'"
                                     " AND indicateurs = 'RSA_CER'"),
                     "a.csv");
    cr_assert_neq(consdb_int(&c, "SELECT cv.valeur_id FROM constat c JOIN constat_valeur cv"
                                 " ON cv.constat_id = c.id WHERE c.regle = 'BORNES'"
                                 " AND c.indicateurs = 'RSA_CER'"),
                  0);
    consdb_close(&c);
}

Test(consolidate_checks, partie_tout_names_part_then_whole_and_excludes_both)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2022-07-01T10:00:00");
    consdb_value(&c, f, "82D", "2022-S1", "RSA_ORIENT_1M", "1025", NULL);
    consdb_value(&c, f, "82D", "2022-S1", "RSA_ORIENTES", "976", NULL);
    consdb_value(&c, f, "82D", "2022-S1", "RSA_NOUV_ENTRANTS", "1091", NULL);
    consdb_value(&c, f, "09D", "2022-S1", "RSA_ORIENT_1M", "10", NULL);
    consdb_value(&c, f, "09D", "2022-S1", "RSA_ORIENTES", "20", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(consdb_int(&c, FINDINGS("PARTIE_TOUT")), 1);
    cr_assert_str_eq(consdb_text(&c, "SELECT signataire || ';' || periode || ';' || indicateurs"
                                     " || ';' || gravite || ';' || valeurs FROM constat"
                                     " WHERE regle = 'PARTIE_TOUT'"),
                     "82D;2022-S1;RSA_ORIENT_1M,RSA_ORIENTES;bloquant;1025|976");
    cr_assert(strstr(message_of(&c, "PARTIE_TOUT", "82D", "2022-S1"), "1\xE2\x80\xAF" "025"));
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM exclusion WHERE signataire = '82D'"), 2);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM exclusion WHERE signataire = '82D'"
                                " AND indicateur IN ('RSA_ORIENT_1M', 'RSA_ORIENTES')"),
                 2);
    consdb_close(&c);
}

Test(consolidate_checks, ratio_against_numerator_and_denominator_and_fraction)
{
    struct consdb c;
    long long f;
    const char *m;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2023-01-20T10:00:00");
    /* a fraction: 0.398 for 522 / 1311 = 39.8 % */
    consdb_value(&c, f, "09D", "2022-S2", "RSA_TX_ORIENT_1M", "0.398", NULL);
    consdb_value(&c, f, "09D", "2022-S2", "RSA_ORIENT_1M", "522", NULL);
    consdb_value(&c, f, "09D", "2022-S2", "RSA_NOUV_ENTRANTS", "1311", NULL);
    /* within 0.5 point: 40.3 for 39.817 */
    consdb_value(&c, f, "11D", "2022-S2", "RSA_TX_ORIENT_1M", "40.3", NULL);
    consdb_value(&c, f, "11D", "2022-S2", "RSA_ORIENT_1M", "522", NULL);
    consdb_value(&c, f, "11D", "2022-S2", "RSA_NOUV_ENTRANTS", "1311", NULL);
    /* beyond: 40.4 */
    consdb_value(&c, f, "12D", "2022-S2", "RSA_TX_ORIENT_1M", "40.4", NULL);
    consdb_value(&c, f, "12D", "2022-S2", "RSA_ORIENT_1M", "522", NULL);
    consdb_value(&c, f, "12D", "2022-S2", "RSA_NOUV_ENTRANTS", "1311", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(count_where(&c, "RATIO", "09D", "2022-S2"), 1);
    cr_assert_eq(count_where(&c, "RATIO", "11D", "2022-S2"), 0);
    cr_assert_eq(count_where(&c, "RATIO", "12D", "2022-S2"), 1);
    cr_assert_str_eq(consdb_text(&c, "SELECT indicateurs || ';' || gravite FROM constat"
                                     " WHERE regle = 'RATIO' AND signataire = '09D'"),
                     "RSA_TX_ORIENT_1M;avertissement");
    m = message_of(&c, "RATIO", "09D", "2022-S2");
    cr_assert(strstr(m, "fraction"), "%s", m);
    cr_assert(strstr(m, "39,8\xC2\xA0%"), "%s", m);
    m = message_of(&c, "RATIO", "12D", "2022-S2");
    cr_assert_null(strstr(m, "fraction"), "%s", m);
    /* numerator and denominator are recorded after the rate */
    cr_assert_str_eq(consdb_text(&c, "SELECT group_concat(cv.indicateur, ',') FROM constat c"
                                     " JOIN constat_valeur cv ON cv.constat_id = c.id"
                                     " WHERE c.regle = 'RATIO' AND c.signataire = '09D'"),
                     "RSA_TX_ORIENT_1M,RSA_ORIENT_1M,RSA_NOUV_ENTRANTS");
    consdb_close(&c);
}

Test(consolidate_checks, somme_parite_execution_with_tolerance)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2022-02-20T10:00:00");
    /* 1000 + 1200 = 2200.5 within 1 euro; co-financing above the State's */
    consdb_value(&c, f, "09D", "2021", "FIN_CREDITS_ETAT", "1000", NULL);
    consdb_value(&c, f, "09D", "2021", "FIN_COFIN", "1200", NULL);
    consdb_value(&c, f, "09D", "2021", "FIN_BUDGET", "2200.5", NULL);
    consdb_value(&c, f, "09D", "2021", "FIN_DEPENSES", "2000", NULL);
    /* 1000 + 900 != 1950; co-financing below; spending above budget */
    consdb_value(&c, f, "11D", "2021", "FIN_CREDITS_ETAT", "1000", NULL);
    consdb_value(&c, f, "11D", "2021", "FIN_COFIN", "900", NULL);
    consdb_value(&c, f, "11D", "2021", "FIN_BUDGET", "1950", NULL);
    consdb_value(&c, f, "11D", "2021", "FIN_DEPENSES", "2000", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(count_where(&c, "SOMME", "09D", "2021"), 0);
    cr_assert_eq(count_where(&c, "PARITE", "09D", "2021"), 0);
    cr_assert_eq(count_where(&c, "EXECUTION", "09D", "2021"), 0);
    cr_assert_eq(count_where(&c, "SOMME", "11D", "2021"), 1);
    cr_assert_eq(count_where(&c, "PARITE", "11D", "2021"), 1);
    cr_assert_eq(count_where(&c, "EXECUTION", "11D", "2021"), 1);
    cr_assert_str_eq(consdb_text(&c, "SELECT indicateurs FROM constat WHERE regle = 'SOMME'"),
                     "FIN_BUDGET,FIN_CREDITS_ETAT,FIN_COFIN");
    cr_assert(strstr(message_of(&c, "SOMME", "11D", "2021"), "1\xE2\x80\xAF" "950\xC2\xA0€"),
              "%s", message_of(&c, "SOMME", "11D", "2021"));
    consdb_close(&c);
}

Test(consolidate_checks, delai_is_conditional_and_skips_what_cannot_be_evaluated)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "81D", "2021-S1", "RSA_TX_ORIENT_1M", "100", NULL);
    consdb_value(&c, f, "81D", "2021-S1", "RSA_DELAI_ORIENT", "45.2", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "RSA_TX_ORIENT_1M", "90", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "RSA_DELAI_ORIENT", "45.2", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_TX_ORIENT_1M", "100", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_DELAI_ORIENT", "NC", NULL);
    consdb_value(&c, f, "12D", "2021-S1", "RSA_TX_ORIENT_1M", "100", NULL);
    consdb_value(&c, f, "12D", "2021-S1", "RSA_DELAI_ORIENT", "31", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(consdb_int(&c, FINDINGS("DELAI")), 1);
    cr_assert_str_eq(consdb_text(&c, "SELECT signataire || ';' || periode || ';' || indicateurs"
                                     " || ';' || gravite FROM constat WHERE regle = 'DELAI'"),
                     "81D;2021-S1;RSA_TX_ORIENT_1M,RSA_DELAI_ORIENT;avertissement");
    cr_assert(strstr(message_of(&c, "DELAI", "81D", "2021-S1"), "45,2\xC2\xA0jours"));
    consdb_close(&c);
}

Test(consolidate_checks, annuel_compares_the_year_with_both_halves)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2022-02-20T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "RSA_NOUV_ENTRANTS", "1000", NULL);
    consdb_value(&c, f, "09D", "2021-S2", "RSA_NOUV_ENTRANTS", "1000", NULL);
    consdb_value(&c, f, "09D", "2021", "RSA_NOUV_ENTRANTS", "2009", NULL); /* 0.45 % */
    consdb_value(&c, f, "11D", "2021-S1", "RSA_NOUV_ENTRANTS", "1000", NULL);
    consdb_value(&c, f, "11D", "2021-S2", "RSA_NOUV_ENTRANTS", "1000", NULL);
    consdb_value(&c, f, "11D", "2021", "RSA_NOUV_ENTRANTS", "2011", NULL); /* 0.55 % */
    /* a stock is not a flux: the year is not a sum */
    consdb_value(&c, f, "11D", "2021-S1", "ASIP_LIEUX", "10", NULL);
    consdb_value(&c, f, "11D", "2021-S2", "ASIP_LIEUX", "12", NULL);
    consdb_value(&c, f, "11D", "2021", "ASIP_LIEUX", "12", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(consdb_int(&c, FINDINGS("ANNUEL")), 1);
    cr_assert_eq(count_where(&c, "ANNUEL", "11D", "2021"), 1);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat c JOIN constat_valeur cv"
                                " ON cv.constat_id = c.id WHERE c.regle = 'ANNUEL'"),
                 3);
    consdb_close(&c);
}

Test(consolidate_checks, completude_lists_missing_and_respects_recentralisation)
{
    struct consdb c;
    long long f;
    const char *m;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    /* 09D sends one compulsory indicator NC, another SO, and omits the rest */
    consdb_value(&c, f, "09D", "2021-S1", "ASE_MAJEURS", "100", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "ASE_ACCOMP", "NC", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "ASE_TX_ACCOMP", "SO", NULL);
    /* 974D (RSA taken back by the State from 2020) sends no RSA figure */
    consdb_value(&c, f, "974D", "2021-S1", "ASE_MAJEURS", "10", NULL);
    consdb_run(&c, NULL);
    m = consdb_text(&c, "SELECT indicateurs FROM constat WHERE regle = 'COMPLETUDE'"
                        " AND signataire = '09D' AND periode = '2021-S1'");
    cr_assert(strstr(m, "ASE_ACCOMP"), "NC counts as missing: %s", m);
    cr_assert_null(strstr(m, "ASE_TX_ACCOMP"), "SO is not missing: %s", m);
    cr_assert_null(strstr(m, "ASE_LOGEMENT"), "not compulsory: %s", m);
    cr_assert(strstr(m, "RSA_NOUV_ENTRANTS"), "%s", m);
    cr_assert(strstr(m, "ASIP_LIEUX"), "%s", m);
    cr_assert_null(strstr(m, "FIN_"), "a half-year does not expect yearly figures: %s", m);
    cr_assert_null(strstr(m, "OF_"), "région indicators are not expected from 09D: %s", m);
    m = consdb_text(&c, "SELECT indicateurs FROM constat WHERE regle = 'COMPLETUDE'"
                        " AND signataire = '974D'");
    cr_assert(strstr(m, "ASIP_LIEUX"), "%s", m);
    cr_assert_null(strstr(m, "RSA_"), "recentralised RSA is not expected: %s", m);
    cr_assert_null(strstr(m, "GAD_ENTREES"), "recentralised axis: %s", m);
    /* a signatory that sent nothing is listed once, with no indicator */
    cr_assert_eq(count_where(&c, "COMPLETUDE", "11D", "2021-S1"), 1);
    cr_assert_str_eq(consdb_text(&c, "SELECT indicateurs FROM constat WHERE regle = 'COMPLETUDE'"
                                     " AND signataire = '11D'"),
                     "");
    cr_assert_eq(count_where(&c, "COMPLETUDE", "M31", "2021-S1"), 1, "métropoles are expected");
    /* not in force in 2021: not expected */
    cr_assert_eq(count_where(&c, "COMPLETUDE", "67D", "2021-S1"), 0);
    cr_assert_eq(count_where(&c, "COMPLETUDE", "6AE", "2021-S1"), 1);
    /* only periods with data are looked at */
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat WHERE periode <> '2021-S1'"), 0);
    consdb_close(&c);
}

Test(consolidate_checks, doublon_is_bloquant_until_a_later_file_settles_it)
{
    struct consdb c;
    long long f0, f1, f2;

    consdb_open(&c);
    f0 = consdb_file(&c, "old.csv", "2021-07-01T10:00:00");
    consdb_value(&c, f0, "09D", "2021-S1", "ASE_MAJEURS", "5", NULL);
    f1 = consdb_file(&c, "dup.csv", "2021-07-10T10:00:00");
    consdb_dup(&c, f1, "09D", "2021-S1", "ASE_MAJEURS", "L3C4", "12");
    consdb_dup(&c, f1, "09D", "2021-S1", "ASE_MAJEURS", "L9C4", "14");
    consdb_run(&c, NULL);
    cr_assert_eq(consdb_int(&c, FINDINGS("DOUBLON")), 1);
    cr_assert_str_eq(consdb_text(&c, "SELECT gravite || ';' || indicateurs FROM constat"
                                     " WHERE regle = 'DOUBLON'"),
                     "bloquant;ASE_MAJEURS");
    cr_assert_str_eq(consdb_text(&c, "SELECT fichier || ';' || emplacement FROM constats"
                                     " WHERE regle = 'DOUBLON'"),
                     "dup.csv;L3C4, L9C4");
    /* the older value in force is not used either */
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM exclusion WHERE signataire = '09D'"
                                " AND indicateur = 'ASE_MAJEURS'"),
                 1);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM contribution WHERE signataire = '09D'"
                                " AND indicateur = 'ASE_MAJEURS'"),
                 0);
    f2 = consdb_file(&c, "fix.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f2, "09D", "2021-S1", "ASE_MAJEURS", "13", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(consdb_int(&c, FINDINGS("DOUBLON")), 0);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM exclusion"), 0);
    cr_assert_float_eq(consdb_real(&c, "SELECT valeur FROM contribution WHERE signataire = '09D'"
                                       " AND indicateur = 'ASE_MAJEURS' AND niveau = 'region'"),
                       13.0, 1e-9);
    consdb_close(&c);
}

Test(consolidate_checks, evolution_has_a_threshold_and_a_floor)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2022-07-20T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "RSA_NOUV_ENTRANTS", "1000", NULL);
    consdb_value(&c, f, "09D", "2022-S1", "RSA_NOUV_ENTRANTS", "1600", NULL); /* +60 % */
    consdb_value(&c, f, "11D", "2021-S1", "RSA_NOUV_ENTRANTS", "1000", NULL);
    consdb_value(&c, f, "11D", "2022-S1", "RSA_NOUV_ENTRANTS", "1400", NULL); /* +40 % */
    consdb_value(&c, f, "12D", "2021-S1", "AG_ENTREES", "2", NULL);
    consdb_value(&c, f, "12D", "2022-S1", "AG_ENTREES", "4", NULL); /* +100 %, tiny */
    consdb_value(&c, f, "30D", "2021-S1", "RSA_NOUV_ENTRANTS", "1000", NULL);
    consdb_value(&c, f, "30D", "2022-S1", "RSA_NOUV_ENTRANTS", "400", NULL); /* -60 % */
    consdb_run(&c, NULL);
    cr_assert_eq(count_where(&c, "EVOLUTION", "09D", "2022-S1"), 1);
    cr_assert_eq(count_where(&c, "EVOLUTION", "11D", "2022-S1"), 0);
    cr_assert_eq(count_where(&c, "EVOLUTION", "12D", "2022-S1"), 0, "2 → 4 is below the floor");
    cr_assert_eq(count_where(&c, "EVOLUTION", "30D", "2022-S1"), 1);
    cr_assert(strstr(message_of(&c, "EVOLUTION", "09D", "2022-S1"), "+60\xC2\xA0%"), "%s",
              message_of(&c, "EVOLUTION", "09D", "2022-S1"));
    /* the earlier value is recorded with its own period */
    cr_assert_str_eq(consdb_text(&c, "SELECT group_concat(cv.periode, ',') FROM constat c"
                                     " JOIN constat_valeur cv ON cv.constat_id = c.id"
                                     " WHERE c.regle = 'EVOLUTION' AND c.signataire = '09D'"),
                     "2022-S1,2021-S1");
    consdb_close(&c);
}

Test(consolidate_checks, evolution_compares_alsace_with_bas_rhin_plus_haut_rhin)
{
    struct consdb c;
    long long f;
    const char *m;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "67D", "2020-S1", "ASE_MAJEURS", "100", NULL);
    consdb_value(&c, f, "68D", "2020-S1", "ASE_MAJEURS", "80", NULL);
    consdb_value(&c, f, "6AE", "2021-S1", "ASE_MAJEURS", "400", NULL); /* vs 180: +122 % */
    consdb_value(&c, f, "67D", "2020-S1", "ASE_ACCOMP", "50", NULL);
    consdb_value(&c, f, "68D", "2020-S1", "ASE_ACCOMP", "50", NULL);
    consdb_value(&c, f, "6AE", "2021-S1", "ASE_ACCOMP", "120", NULL); /* vs 100: +20 % */
    consdb_run(&c, NULL);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat WHERE regle = 'EVOLUTION'"
                                " AND signataire = '6AE' AND indicateurs = 'ASE_MAJEURS'"),
                 1);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat WHERE regle = 'EVOLUTION'"
                                " AND signataire = '6AE' AND indicateurs = 'ASE_ACCOMP'"),
                 0);
    m = consdb_text(&c, "SELECT message FROM constat WHERE regle = 'EVOLUTION'"
                        " AND signataire = '6AE'");
    cr_assert(strstr(m, "67D + 68D"), "%s", m);
    cr_assert(strstr(m, "180"), "%s", m);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat c JOIN constat_valeur cv"
                                " ON cv.constat_id = c.id WHERE c.regle = 'EVOLUTION'"
                                " AND cv.signataire IN ('67D', '68D')"),
                 2);
    consdb_close(&c);
}

static void rates(struct consdb *c, long long f, const char *const *sig, const char *const *v)
{
    for (size_t i = 0; sig[i]; i++)
        consdb_value(c, f, sig[i], "2021-S1", "RSA_TX_ORIENT_1M", v[i], NULL);
}

Test(consolidate_checks, atypique_uses_region_peers_or_the_nation_when_too_few)
{
    static const char *const sig[] = {"09D", "11D", "12D", "30D", "31D", "32D", "20R", NULL};
    static const char *const val[] = {"50", "52", "48", "51", "49", "95", "96", NULL};
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    rates(&c, f, sig, val);
    consdb_run(&c, NULL);
    cr_assert_eq(count_where(&c, "ATYPIQUE", "32D", "2021-S1"), 1);
    cr_assert_eq(count_where(&c, "ATYPIQUE", "09D", "2021-S1"), 0);
    cr_assert(strstr(message_of(&c, "ATYPIQUE", "32D", "2021-S1"), "de la région"));
    /* Corse has one D signatory: compared with the nation */
    cr_assert_eq(count_where(&c, "ATYPIQUE", "20R", "2021-S1"), 1);
    cr_assert(strstr(message_of(&c, "ATYPIQUE", "20R", "2021-S1"), "de France"));
    cr_assert_str_eq(consdb_text(&c, "SELECT gravite FROM constat WHERE regle = 'ATYPIQUE'"
                                     " LIMIT 1"),
                     "info");
    consdb_close(&c);
}

Test(consolidate_checks, cible_below_80_or_above_120_for_baisse)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "GAD_ENTREES", "70", "100");
    consdb_value(&c, f, "11D", "2021-S1", "GAD_ENTREES", "85", "100");
    consdb_value(&c, f, "12D", "2021-S1", "RSA_DELAI_ORIENT", "50", "40");
    consdb_value(&c, f, "30D", "2021-S1", "RSA_DELAI_ORIENT", "45", "40");
    consdb_value(&c, f, "31D", "2021-S1", "RSA_DELAI_ORIENT", "20", "40");
    consdb_run(&c, NULL);
    cr_assert_eq(count_where(&c, "CIBLE", "09D", "2021-S1"), 1);
    cr_assert_eq(count_where(&c, "CIBLE", "11D", "2021-S1"), 0);
    cr_assert_eq(count_where(&c, "CIBLE", "12D", "2021-S1"), 1);
    cr_assert_eq(count_where(&c, "CIBLE", "30D", "2021-S1"), 0);
    cr_assert_eq(count_where(&c, "CIBLE", "31D", "2021-S1"), 0, "a low delay is good");
    cr_assert(strstr(message_of(&c, "CIBLE", "09D", "2021-S1"), "70\xC2\xA0%"));
    consdb_close(&c);
}

Test(consolidate_checks, hors_delai_uses_the_first_reception)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "late.csv", "2021-09-15T10:00:00"); /* S1 deadline: 31/08/2021 */
    consdb_value(&c, f, "09D", "2021-S1", "ASE_MAJEURS", "100", NULL);
    f = consdb_file(&c, "ontime.csv", "2021-08-31T23:00:00");
    consdb_value(&c, f, "11D", "2021-S1", "ASE_MAJEURS", "100", NULL);
    f = consdb_file(&c, "fix.csv", "2021-09-20T10:00:00");
    consdb_value(&c, f, "11D", "2021-S1", "ASE_MAJEURS", "101", NULL);
    f = consdb_file(&c, "year.csv", "2022-03-31T18:00:00"); /* 2021: 31/03/2022 */
    consdb_value(&c, f, "12D", "2021", "FIN_BUDGET", "10", NULL);
    f = consdb_file(&c, "s2.csv", "2022-03-01T08:00:00"); /* 2021-S2: 28/02/2022 */
    consdb_value(&c, f, "12D", "2021-S2", "ASE_MAJEURS", "10", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(count_where(&c, "HORS_DELAI", "09D", "2021-S1"), 1);
    cr_assert_eq(count_where(&c, "HORS_DELAI", "11D", "2021-S1"), 0);
    cr_assert_eq(count_where(&c, "HORS_DELAI", "12D", "2021"), 0);
    cr_assert_eq(count_where(&c, "HORS_DELAI", "12D", "2021-S2"), 1);
    cr_assert(strstr(message_of(&c, "HORS_DELAI", "09D", "2021-S1"), "15/09/2021"));
    cr_assert(strstr(message_of(&c, "HORS_DELAI", "09D", "2021-S1"), "31/08/2021"));
    cr_assert_str_eq(consdb_text(&c, "SELECT fichier FROM constats WHERE regle = 'HORS_DELAI'"
                                     " AND signataire = '09D'"),
                     "late.csv");
    consdb_close(&c);
}

Test(consolidate_checks, a_new_relation_is_one_line)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-20T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "RSA_CER", "500", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "RSA_ORIENTES", "400", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_CER", "300", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_ORIENTES", "400", NULL);
    consdb_run(&c, "id;gravite;controle;expression;tolerance;message\n"
                   "CER;info;relation;RSA_CER <= RSA_ORIENTES * 1.1;;"
                   "\"{nom} : {RSA_CER} contrats ; {detail}\"\n");
    cr_assert_eq(c.st.nproblems, 0);
    cr_assert_eq(consdb_int(&c, FINDINGS("CER")), 1);
    cr_assert_str_eq(consdb_text(&c, "SELECT message FROM constat WHERE regle = 'CER'"),
                     "Ariège : 500 contrats ; RSA_CER (500) devrait être inférieur ou égal à "
                     "RSA_ORIENTES * 1.1 (440)");
    consdb_close(&c);
}
