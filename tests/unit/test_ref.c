/* Unit tests for common/ref.c: loading data/, catalog semantics, validity
 * of signatories over time, what is expected from whom, and the French
 * messages for broken reference files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/ref.h"
#include "tests/unit/refdata.h"

static struct cp_ref ref;

static void setup(void)
{
    refdata_load(&ref);
}

static void teardown(void)
{
    cp_ref_release(&ref);
}

static int ind(const char *code)
{
    int i = cp_ref_indicator(&ref, code);
    cr_assert_geq(i, 0, "indicator %s", code);
    return i;
}

static int sig(const char *code)
{
    int i = cp_ref_signatory(&ref, code);
    cr_assert_geq(i, 0, "signatory %s", code);
    return i;
}

static struct cp_period per(int year, int half)
{
    struct cp_period p = { year, half };
    return p;
}

TestSuite(ref, .init = setup, .fini = teardown);

Test(ref, loads_every_file)
{
    cr_assert_eq(ref.nind, 35);
    cr_assert_eq(ref.nsig, 137);
    cr_assert_eq(ref.nreg, 18);
    cr_assert_eq(ref.ndep, 101);
    cr_assert_eq(ref.nrecentral, 3);
    cr_assert_geq(ref.nalias, 10);
    cr_assert_not_null(ref.sigix);
    cr_assert_str_eq(ref.datadir, refdata_dir());
}

Test(ref, catalog_version_is_the_sha256_of_catalog_csv)
{
    char path[1200], hex[CP_SHA256_HEX];
    struct cp_err err;

    snprintf(path, sizeof path, "%s/catalog.csv", refdata_dir());
    cr_assert_eq(cp_sha256_file(path, hex, NULL, &err), 0);
    cr_assert_eq(strlen(ref.catalog_version), 64);
    cr_assert_str_eq(ref.catalog_version, hex);
}

Test(ref, ratio_names_its_numerator_and_denominator)
{
    const struct cp_indicator *d = &ref.ind[ind("RSA_TX_ORIENT_1M")];

    cr_assert_eq(d->nature, CP_NAT_RATIO);
    cr_assert_eq(d->unit, CP_UNIT_PCT);
    cr_assert_eq(d->num, ind("RSA_ORIENT_1M"));
    cr_assert_eq(d->den, ind("RSA_NOUV_ENTRANTS"));
    cr_assert_eq(d->weight, -1);
    cr_assert(d->has_min && d->min == 0);
    cr_assert(d->has_max && d->max == 100);
    cr_assert_eq(d->sens, CP_SENS_HAUSSE);
    cr_assert_str_eq(d->label, "Taux d'orientation en moins d'un mois");
    cr_assert_str_eq(d->axis, "Insertion des allocataires du RSA");
    cr_assert_str_eq(d->fold_code, "rsatxorient1m");
    cr_assert_str_eq(d->fold_label, "tauxdorientationenmoinsdunmois");
}

Test(ref, average_names_its_weight)
{
    const struct cp_indicator *d = &ref.ind[ind("RSA_DELAI_ORIENT")];

    cr_assert_eq(d->nature, CP_NAT_MOYENNE);
    cr_assert_eq(d->unit, CP_UNIT_JOURS);
    cr_assert_eq(d->weight, ind("RSA_ORIENTES"));
    cr_assert_eq(d->num, -1);
    cr_assert_eq(d->den, -1);
    cr_assert(d->has_max && d->max == 730);
    cr_assert_eq(d->sens, CP_SENS_BAISSE);
}

Test(ref, counts_have_a_minimum_and_no_maximum)
{
    const struct cp_indicator *d = &ref.ind[ind("RSA_NOUV_ENTRANTS")];

    cr_assert_eq(d->nature, CP_NAT_FLUX);
    cr_assert_eq(d->unit, CP_UNIT_NB);
    cr_assert(d->has_min && d->min == 0);
    cr_assert_not(d->has_max);
    cr_assert_eq(d->num, -1);
    cr_assert_eq(d->weight, -1);
    cr_assert_eq(d->mandatory, 1);
    cr_assert_eq(ref.ind[ind("RSA_CER")].mandatory, 0);
    cr_assert_eq(ref.ind[ind("ASIP_LIEUX")].nature, CP_NAT_STOCK);
    cr_assert_eq(ref.ind[ind("FIN_BUDGET")].unit, CP_UNIT_EUR);
    cr_assert_not(ref.ind[ind("FIN_TX_EXEC")].has_max);
}

Test(ref, finance_indicators_are_yearly_only_for_every_type)
{
    int n = 0;

    for (size_t i = 0; i < ref.nind; i++) {
        const struct cp_indicator *d = &ref.ind[i];
        if (strncmp(d->code, "FIN_", 4) != 0) {
            cr_assert_not(d->yearly_only, "%s", d->code);
            continue;
        }
        n++;
        cr_assert(d->yearly_only, "%s", d->code);
        cr_assert_eq(d->types, CP_TYPE_D | CP_TYPE_M | CP_TYPE_R, "%s", d->code);
        cr_assert_eq(d->year_from, 2019);
        cr_assert_eq(d->year_to, 2027);
    }
    cr_assert_eq(n, 5);
}

Test(ref, years_and_types)
{
    const struct cp_indicator *rsa = &ref.ind[ind("RSA_ORIENTES")];
    const struct cp_indicator *ts = &ref.ind[ind("TS_FORMES")];
    const struct cp_indicator *of = &ref.ind[ind("OF_TX_SOLUTION")];

    cr_assert_eq(rsa->year_from, 2019);
    cr_assert_eq(rsa->year_to, 2023);
    cr_assert_eq(rsa->types, CP_TYPE_D);
    cr_assert_eq(ts->year_from, 2020);
    cr_assert_eq(ts->year_to, 2022);
    cr_assert_eq(ts->types, CP_TYPE_D | CP_TYPE_M);
    cr_assert_eq(of->types, CP_TYPE_R);
}

Test(ref, period_allowed_follows_years_and_periodicity)
{
    struct cp_period y21 = per(2021, 0), s21 = per(2021, 1), y19 = per(2019, 0),
                     y20 = per(2020, 2), y22 = per(2022, 0), y23 = per(2023, 0);
    const struct cp_indicator *fin = &ref.ind[ind("FIN_BUDGET")];
    const struct cp_indicator *ts = &ref.ind[ind("TS_FORMES")];

    cr_assert(cp_ref_period_allowed(fin, &y21));
    cr_assert_not(cp_ref_period_allowed(fin, &s21));
    cr_assert_not(cp_ref_period_allowed(ts, &y19));
    cr_assert(cp_ref_period_allowed(ts, &y20));
    cr_assert(cp_ref_period_allowed(ts, &y22));
    cr_assert(cp_ref_period_allowed(ts, &s21));
    cr_assert_not(cp_ref_period_allowed(ts, &y23));
}

Test(ref, indicator_lookup_is_exact_and_match_is_folded)
{
    cr_assert_eq(cp_ref_indicator(&ref, "rsa_nouv_entrants"), -1);
    cr_assert_eq(cp_ref_indicator(&ref, "NOPE"), -1);
    cr_assert_eq(cp_ref_indicator_match(&ref, "rsa nouv-entrants ", 18), ind("RSA_NOUV_ENTRANTS"));
    const char *label = "TAUX D’ORIENTATION EN MOINS D’UN MOIS";
    cr_assert_eq(cp_ref_indicator_match(&ref, label, strlen(label)), ind("RSA_TX_ORIENT_1M"));
    cr_assert_eq(cp_ref_indicator_match(&ref, "RSA_NOUV_ENTRANTS_cible", 23), -1);
    cr_assert_eq(cp_ref_indicator_match(&ref, "", 0), -1);
    cr_assert_eq(cp_ref_indicator_match(&ref, "--", 2), -1);
}

Test(ref, signatory_and_region_lookup_are_exact)
{
    int i = sig("6AE");

    cr_assert_str_eq(ref.sig[i].name, "Collectivité européenne d'Alsace");
    cr_assert_eq(ref.sig[i].type, 'D');
    cr_assert_str_eq(ref.sig[i].departements, "67,68");
    cr_assert_str_eq(ref.sig[i].region, "44");
    cr_assert_str_eq(ref.sig[i].start, "2021-01-01");
    cr_assert_null(ref.sig[i].end);
    cr_assert_str_eq(ref.sig[sig("R76")].departements, "");
    cr_assert_eq(ref.sig[sig("M31")].type, 'M');
    cr_assert_eq(cp_ref_signatory(&ref, "31d"), -1);
    cr_assert_eq(cp_ref_signatory(&ref, "1D"), -1);
    cr_assert_eq(cp_ref_signatory(&ref, "Ain"), -1);
    cr_assert_geq(cp_ref_region(&ref, "76"), 0);
    cr_assert_str_eq(ref.reg[cp_ref_region(&ref, "76")].name, "Occitanie");
    cr_assert_eq(cp_ref_region(&ref, "99"), -1);
}

Test(ref, signatory_lookup_works_for_every_code)
{
    for (size_t i = 0; i < ref.nsig; i++)
        cr_assert_eq(cp_ref_signatory(&ref, ref.sig[i].code), (int)i, "%s", ref.sig[i].code);
}

Test(ref, alsace_changes_in_2021)
{
    struct cp_period y20 = per(2020, 0), s2_20 = per(2020, 2), y21 = per(2021, 0),
                     s1_21 = per(2021, 1);
    const struct cp_signatory *bas = &ref.sig[sig("67D")], *cea = &ref.sig[sig("6AE")];

    cr_assert(cp_ref_in_force(bas, &y20));
    cr_assert(cp_ref_in_force(bas, &s2_20));
    cr_assert_not(cp_ref_in_force(bas, &y21));
    cr_assert_not(cp_ref_in_force(bas, &s1_21));
    cr_assert(cp_ref_in_force(cea, &y21));
    cr_assert(cp_ref_in_force(cea, &s1_21));
    cr_assert_not(cp_ref_in_force(cea, &y20));
    cr_assert(cp_ref_in_force(&ref.sig[sig("31D")], &y20));
}

Test(ref, paris_exists_from_2019)
{
    struct cp_period y18 = per(2018, 2), y19 = per(2019, 1);

    cr_assert_not(cp_ref_in_force(&ref.sig[sig("75C")], &y18));
    cr_assert(cp_ref_in_force(&ref.sig[sig("75C")], &y19));
}

Test(ref, successor_takes_over_the_territory)
{
    struct cp_period y21 = per(2021, 0), s1_21 = per(2021, 1), y20 = per(2020, 0);

    cr_assert_eq(cp_ref_successor(&ref, sig("67D"), &y21), sig("6AE"));
    cr_assert_eq(cp_ref_successor(&ref, sig("68D"), &s1_21), sig("6AE"));
    /* In force: no successor needed. */
    cr_assert_eq(cp_ref_successor(&ref, sig("67D"), &y20), -1);
    cr_assert_eq(cp_ref_successor(&ref, sig("31D"), &y21), -1);
    /* 6AE before 2021 was two bodies: no single one. */
    cr_assert_eq(cp_ref_successor(&ref, sig("6AE"), &y20), -1);
    cr_assert_eq(cp_ref_successor(&ref, -1, &y21), -1);
}

Test(ref, expected_respects_recentralisation)
{
    struct cp_period y19 = per(2019, 0), y20 = per(2020, 0), y21 = per(2021, 0),
                     s1_19 = per(2019, 1);
    int nouv = ind("RSA_NOUV_ENTRANTS");

    cr_assert_eq(cp_ref_expected(&ref, sig("973R"), nouv, &y21), 0);
    cr_assert_eq(cp_ref_expected(&ref, sig("976D"), nouv, &y19), 0);
    cr_assert_eq(cp_ref_expected(&ref, sig("974D"), nouv, &y19), 1);
    cr_assert_eq(cp_ref_expected(&ref, sig("974D"), nouv, &s1_19), 1);
    cr_assert_eq(cp_ref_expected(&ref, sig("974D"), nouv, &y20), 0);
    cr_assert_eq(cp_ref_expected(&ref, sig("974D"), ind("GAD_ENTREES"), &y21), 0);
    cr_assert_eq(cp_ref_expected(&ref, sig("974D"), ind("AG_ENTREES"), &y21), 0);
    /* Only the RSA axis was taken back. */
    cr_assert_eq(cp_ref_expected(&ref, sig("973R"), ind("ASIP_LIEUX"), &y21), 1);
    cr_assert_eq(cp_ref_expected(&ref, sig("973R"), ind("FIN_BUDGET"), &y21), 1);
    cr_assert_eq(cp_ref_recentralised(&ref, sig("976D"), ind("GAD_ENTREES"), &y19), 1);
    cr_assert_eq(cp_ref_recentralised(&ref, sig("974D"), ind("GAD_ENTREES"), &y19), 0);
    cr_assert_eq(cp_ref_recentralised(&ref, sig("31D"), nouv, &y21), 0);
}

Test(ref, expected_respects_types_years_and_validity)
{
    struct cp_period y21 = per(2021, 0), s1_21 = per(2021, 1), y23 = per(2023, 0);

    cr_assert_eq(cp_ref_expected(&ref, sig("M31"), ind("RSA_NOUV_ENTRANTS"), &y21), 0);
    cr_assert_eq(cp_ref_expected(&ref, sig("M31"), ind("ASIP_LIEUX"), &y21), 1);
    cr_assert_eq(cp_ref_expected(&ref, sig("09D"), ind("TS_FORMES"), &y23), 0);
    cr_assert_eq(cp_ref_expected(&ref, sig("09D"), ind("TS_FORMES"), &y21), 1);
    cr_assert_eq(cp_ref_expected(&ref, sig("09D"), ind("FIN_BUDGET"), &s1_21), 0);
    cr_assert_eq(cp_ref_expected(&ref, sig("67D"), ind("RSA_NOUV_ENTRANTS"), &y21), 0);
    cr_assert_eq(cp_ref_expected(&ref, sig("6AE"), ind("RSA_NOUV_ENTRANTS"), &y21), 1);
    cr_assert_eq(cp_ref_expected(&ref, sig("R76"), ind("OF_JEUNES_REPERES"), &s1_21), 1);
    cr_assert_eq(cp_ref_expected(&ref, sig("R76"), ind("RSA_ORIENTES"), &s1_21), 0);
    /* Type D in signataires.csv, whatever the code says. */
    cr_assert_eq(cp_ref_expected(&ref, sig("69M"), ind("RSA_ORIENTES"), &s1_21), 1);
    cr_assert_eq(cp_ref_expected(&ref, sig("20R"), ind("RSA_ORIENTES"), &s1_21), 1);
    cr_assert_eq(cp_ref_expected(&ref, sig("972R"), ind("RSA_ORIENTES"), &s1_21), 1);
    cr_assert_eq(cp_ref_expected(&ref, -1, 0, &y21), 0);
    cr_assert_eq(cp_ref_expected(&ref, 0, (int)ref.nind, &y21), 0);
}

Test(ref, type_allowed)
{
    const struct cp_indicator *asip = &ref.ind[ind("ASIP_LIEUX")];

    cr_assert(cp_ref_type_allowed(asip, &ref.sig[sig("31D")]));
    cr_assert(cp_ref_type_allowed(asip, &ref.sig[sig("M31")]));
    cr_assert_not(cp_ref_type_allowed(asip, &ref.sig[sig("R76")]));
}

Test(ref, unit_and_nature_names)
{
    cr_assert_str_eq(cp_unit_name(CP_UNIT_NB), "nb");
    cr_assert_str_eq(cp_unit_name(CP_UNIT_PCT), "pct");
    cr_assert_str_eq(cp_unit_name(CP_UNIT_JOURS), "jours");
    cr_assert_str_eq(cp_unit_name(CP_UNIT_EUR), "eur");
    cr_assert_str_eq(cp_nature_name(CP_NAT_FLUX), "flux");
    cr_assert_str_eq(cp_nature_name(CP_NAT_STOCK), "stock");
    cr_assert_str_eq(cp_nature_name(CP_NAT_RATIO), "ratio");
    cr_assert_str_eq(cp_nature_name(CP_NAT_MOYENNE), "moyenne");
}

Test(ref_dir, default_datadir_prefers_the_environment)
{
    setenv("CALPAE_DATA", "/somewhere/else", 1);
    cr_assert_str_eq(cp_ref_default_datadir(), "/somewhere/else");
}

Test(ref_dir, default_datadir_uses_local_data_then_installed)
{
    char src[1024];

    unsetenv("CALPAE_DATA");
    snprintf(src, sizeof src, "%s", getenv("CALPAE_SRCDIR"));
    cr_assert_eq(chdir(src), 0);
    cr_assert_str_eq(cp_ref_default_datadir(), "./data");
    cr_assert_eq(chdir("/"), 0);
    cr_assert_str_eq(cp_ref_default_datadir(), CALPAE_DATADIR);
    setenv("CALPAE_DATA", "", 1);
    cr_assert_str_eq(cp_ref_default_datadir(), CALPAE_DATADIR);
}

/* ---- broken reference data ------------------------------------------------ */

static char dir[128];

static void copy_setup(void)
{
    refdata_copy(dir, sizeof dir);
}

static void copy_teardown(void)
{
    refdata_remove(dir);
}

/* Loads dir, expecting failure with a message holding each fragment. */
static void fails(const char *where, const char *frag1, const char *frag2)
{
    struct cp_ref r;
    struct cp_err err;

    cp_err_clear(&err);
    cr_assert_eq(cp_ref_load(&r, dir, &err), -1, "load must fail");
    cr_assert_eq(err.exit_status, CP_EX_CONFIG, "exit status %d: %s", err.exit_status, err.msg);
    if (where)
        cr_assert_str_eq(err.where, where, "where \"%s\" (%s)", err.where, err.msg);
    cr_assert_not_null(strstr(err.msg, frag1), "\"%s\" not in \"%s\"", frag1, err.msg);
    if (frag2)
        cr_assert_not_null(strstr(err.msg, frag2), "\"%s\" not in \"%s\"", frag2, err.msg);
    cr_assert_eq(r.nind, 0, "nothing is kept after a failure");
    cr_assert_eq(r.nsig, 0);
    cr_assert_null(r.sigix);
    cr_assert_null(r.ind);
    cp_ref_release(&r); /* harmless */
}

TestSuite(ref_errors, .init = copy_setup, .fini = copy_teardown);

Test(ref_errors, copy_loads)
{
    struct cp_ref r;
    struct cp_err err;

    cr_assert_eq(cp_ref_load(&r, dir, &err), 0, "%s", err.msg);
    cr_assert_eq(r.nind, 35);
    cp_ref_release(&r);
    cr_assert_eq(r.nind, 0);
    cr_assert_null(r.sigix);
}

Test(ref_errors, missing_file)
{
    char path[300];

    snprintf(path, sizeof path, "%s/alias.csv", dir);
    cr_assert_eq(unlink(path), 0);
    fails(NULL, "alias.csv", "impossible d'ouvrir");
}

Test(ref_errors, unknown_numerator_code)
{
    refdata_replace(dir, "catalog.csv", "ratio;RSA_ORIENT_1M;", "ratio;RSA_ORIENT_1MOIS;");
    fails("catalog.csv:9", "ligne 9",
          "numérateur « RSA_ORIENT_1MOIS » de RSA_TX_ORIENT_1M absent du catalogue");
}

Test(ref_errors, unknown_weight_code)
{
    refdata_replace(dir, "catalog.csv", ";RSA_ORIENTES;0;730;", ";RSA_ORIENTE;0;730;");
    fails("catalog.csv:10", "poids « RSA_ORIENTE »", NULL);
}

Test(ref_errors, ratio_without_denominator)
{
    refdata_replace(dir, "catalog.csv", "ratio;RSA_ORIENT_1M;RSA_NOUV_ENTRANTS;",
                    "ratio;RSA_ORIENT_1M;;");
    fails("catalog.csv:9", "numérateur et son dénominateur", NULL);
}

Test(ref_errors, unknown_unit)
{
    refdata_replace(dir, "catalog.csv", "RSA_ORIENTES;Nouveaux entrants orientés;Insertion des "
                    "allocataires du RSA;nb;", "RSA_ORIENTES;Nouveaux entrants orientés;"
                    "Insertion des allocataires du RSA;nombre;");
    fails("catalog.csv:7", "unité « nombre » inconnue", NULL);
}

Test(ref_errors, bad_years)
{
    refdata_replace(dir, "catalog.csv", "2020-2022;semestre;R;", "2022-2020;semestre;R;");
    fails(NULL, "années « 2022-2020 »", NULL);
}

Test(ref_errors, bad_bounds)
{
    refdata_replace(dir, "catalog.csv", "0;730;baisse", "0;beaucoup;baisse");
    fails("catalog.csv:10", "max « beaucoup »", NULL);
}

Test(ref_errors, duplicate_indicator)
{
    refdata_replace(dir, "catalog.csv", "ASE_ACCOMP;", "ASE_MAJEURS;");
    fails("catalog.csv:3", "indicateur « ASE_MAJEURS » en double", NULL);
}

Test(ref_errors, missing_column)
{
    refdata_replace(dir, "catalog.csv", ";obligatoire\n", ";obligatoires\n");
    fails("catalog.csv:1", "colonne « obligatoire » absente", NULL);
}

Test(ref_errors, wrong_number_of_fields)
{
    refdata_replace(dir, "regions.csv", "76;Occitanie\n", "76;Occitanie;extra\n");
    fails("regions.csv:16", "3 champs au lieu de 2", NULL);
}

Test(ref_errors, unknown_departement_of_a_signatory)
{
    refdata_replace(dir, "signataires.csv", "6AE;Collectivité européenne d'Alsace;D;67,68;",
                    "6AE;Collectivité européenne d'Alsace;D;67,86x;");
    fails("signataires.csv:102", "département « 86x » absent de departements.csv", NULL);
}

Test(ref_errors, bad_date)
{
    refdata_replace(dir, "signataires.csv", "2020-12-31\n68D", "31/12/2020\n68D");
    fails("signataires.csv:67", "AAAA-MM-JJ", NULL);
}

Test(ref_errors, bad_type)
{
    refdata_replace(dir, "signataires.csv", "M31;Toulouse Métropole;M;",
                    "M31;Toulouse Métropole;X;");
    fails(NULL, "type « X » inconnu pour M31", NULL);
}

Test(ref_errors, alias_of_unknown_signatory)
{
    refdata_write(dir, "alias.csv", "alias;signataire\nAlsace;6AF\n");
    fails("alias.csv:2", "signataire « 6AF »", NULL);
}

Test(ref_errors, alias_given_to_two_signatories)
{
    refdata_write(dir, "alias.csv", "alias;signataire\nAlsace;6AE\nALSACE ;67D\n");
    fails("alias.csv:3", "déjà attribué à 6AE", NULL);
}

Test(ref_errors, recentralisation_of_unknown_axis)
{
    refdata_write(dir, "recentralisation.csv", "signataire;axe;depuis\n973R;RSA;2019\n");
    fails("recentralisation.csv:2", "axe « RSA » absent du catalogue", NULL);
}

Test(ref_errors, invalid_utf8)
{
    refdata_replace(dir, "regions.csv", "Occitanie", "Occit\xe9nie");
    fails("regions.csv:16", "UTF-8", NULL);
}

Test(ref_errors, unterminated_quote)
{
    refdata_replace(dir, "regions.csv", "76;Occitanie", "76;\"Occitanie");
    fails(NULL, "CSV mal formé", NULL);
}

Test(ref_errors, empty_file)
{
    refdata_write(dir, "regions.csv", "");
    fails(NULL, "la ligne d'en-tête manque", NULL);
}

Test(ref_errors, bom_crlf_comments_quotes_and_blank_lines_are_fine)
{
    struct cp_ref r;
    struct cp_err err;

    refdata_write(dir, "recentralisation.csv",
                  "\xef\xbb\xbf# comment\r\n# another\r\nsignataire;axe;depuis\r\n"
                  "973R;\"Insertion des allocataires du RSA\";2019\r\n\r\n"
                  "974D;Insertion des allocataires du RSA;2020");
    cr_assert_eq(cp_ref_load(&r, dir, &err), 0, "%s", err.msg);
    cr_assert_eq(r.nrecentral, 2);
    cr_assert_eq(r.recentral[1].year_from, 2020);
    cr_assert_str_eq(r.sig[r.recentral[0].sig].code, "973R");
    cp_ref_release(&r);
}

Test(ref_errors, columns_may_come_in_any_order)
{
    struct cp_ref r;
    struct cp_err err;

    refdata_write(dir, "alias.csv", "signataire;alias;note\n6AE;Alsace;x\n");
    cr_assert_eq(cp_ref_load(&r, dir, &err), 0, "%s", err.msg);
    cr_assert_eq(r.nalias, 1);
    cr_assert_str_eq(r.alias[0].text, "Alsace");
    cp_ref_release(&r);
}

Test(ref_errors, datadir_too_long_or_missing)
{
    struct cp_ref r;
    struct cp_err err;
    char longdir[1000];

    memset(longdir, 'x', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    cr_assert_eq(cp_ref_load(&r, longdir, &err), -1);
    cr_assert_eq(err.exit_status, CP_EX_CONFIG);
    cr_assert_eq(cp_ref_load(&r, "/nonexistent/calpae", &err), -1);
    cr_assert_eq(err.exit_status, CP_EX_CONFIG);
    cr_assert_not_null(strstr(err.msg, "regions.csv"));
}
