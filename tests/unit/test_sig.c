/* Unit tests for common/sig.c: recognising signatories from what people
 * type, priority of keys, brackets, and the closest names on failure. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/ref.h"
#include "common/sig.h"
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

TestSuite(sig, .init = setup, .fini = teardown);

static struct cp_sig_match match(const char *text)
{
    struct cp_sig_match m;

    memset(&m, 0x5a, sizeof m);
    cp_sig_match(&ref, text, strlen(text), &m);
    return m;
}

static const char *code_of(int i)
{
    return i >= 0 && (size_t)i < ref.nsig ? ref.sig[i].code : "?";
}

/* text must give the signatory code, matched the given way. */
static void found(const char *text, const char *code, enum cp_sig_how how)
{
    struct cp_sig_match m = match(text);

    cr_assert_eq(m.status, CP_SIG_FOUND, "\"%s\": status %d (near %s)", text, (int)m.status,
                 m.nnear > 0 ? code_of(m.near[0]) : "-");
    cr_assert_str_eq(code_of(m.sig), code, "\"%s\" gave %s instead of %s", text,
                     code_of(m.sig), code);
    cr_assert_eq(m.how, how, "\"%s\": how %d instead of %d", text, (int)m.how, (int)how);
}

/* text must be unknown; near[0] must be code (NULL: no near at all). */
static void unknown(const char *text, const char *near0)
{
    struct cp_sig_match m = match(text);

    cr_assert_eq(m.status, CP_SIG_UNKNOWN, "\"%s\": status %d (sig %s)", text, (int)m.status,
                 code_of(m.sig));
    cr_assert_eq(m.sig, -1);
    cr_assert_leq(m.nnear, CP_SIG_NEAR_MAX);
    if (!near0) {
        cr_assert_eq(m.nnear, 0, "\"%s\": near %s", text, m.nnear ? code_of(m.near[0]) : "");
        return;
    }
    cr_assert_gt(m.nnear, 0, "\"%s\": no near", text);
    cr_assert_str_eq(code_of(m.near[0]), near0, "\"%s\": near[0] %s", text, code_of(m.near[0]));
}

Test(sig, codes)
{
    found("M31", "M31", CP_SIG_BY_CODE);
    found("R76", "R76", CP_SIG_BY_CODE);
    found("48D", "48D", CP_SIG_BY_CODE);
    found("31d", "31D", CP_SIG_BY_CODE);
    found("6ae", "6AE", CP_SIG_BY_CODE);
    found("972r", "972R", CP_SIG_BY_CODE);
    found("75C", "75C", CP_SIG_BY_CODE);
    found("20R", "20R", CP_SIG_BY_CODE);
    found("69M", "69M", CP_SIG_BY_CODE);
    found("m06", "M06", CP_SIG_BY_CODE);
}

Test(sig, ain_with_or_without_its_zero)
{
    found("1", "01D", CP_SIG_BY_NUMBER);
    found("01", "01D", CP_SIG_BY_NUMBER);
    found("1D", "01D", CP_SIG_BY_CODE);
    found("01D", "01D", CP_SIG_BY_CODE);
    found("1d", "01D", CP_SIG_BY_CODE);
    found("9", "09D", CP_SIG_BY_NUMBER);
    found("09", "09D", CP_SIG_BY_NUMBER);
}

Test(sig, departement_numbers)
{
    found("11", "11D", CP_SIG_BY_NUMBER);
    found("82", "82D", CP_SIG_BY_NUMBER);
    found("31", "31D", CP_SIG_BY_NUMBER);
    found("69", "69D", CP_SIG_BY_NUMBER);
    found("75", "75C", CP_SIG_BY_NUMBER);
    found("2a", "20R", CP_SIG_BY_NUMBER);
    found("2A", "20R", CP_SIG_BY_NUMBER);
    found("2B", "20R", CP_SIG_BY_NUMBER);
    found("971", "971D", CP_SIG_BY_NUMBER);
    found("972", "972R", CP_SIG_BY_NUMBER);
    found("973", "973R", CP_SIG_BY_NUMBER);
    /* The body of the Bas-Rhin before 2021; ingest remaps by period. */
    found("67", "67D", CP_SIG_BY_NUMBER);
    found("68", "68D", CP_SIG_BY_NUMBER);
}

Test(sig, number_cells_as_text)
{
    found("11.0", "11D", CP_SIG_BY_NUMBER);
    found(" 82 ", "82D", CP_SIG_BY_NUMBER);
    unknown("1.5", NULL);
    unknown("1000", NULL);
    unknown("-1", NULL);
    cr_assert_eq(match("20").status, CP_SIG_UNKNOWN);
}

Test(sig, names_whatever_the_case_accents_and_punctuation)
{
    found("PYRENEES ORIENTALES", "66D", CP_SIG_BY_NAME);
    found("Pyrénées-Orientales ", "66D", CP_SIG_BY_NAME);
    found("TARN", "81D", CP_SIG_BY_NAME);
    found("Tarn-et-Garonne", "82D", CP_SIG_BY_NAME);
    found("Hautes-Pyrénées", "65D", CP_SIG_BY_NAME);
    found("Haute Garonne", "31D", CP_SIG_BY_NAME);
    found("HAUTE-GARONNE", "31D", CP_SIG_BY_NAME);
    found("Région Occitanie", "R76", CP_SIG_BY_NAME);
    found("Toulouse Métropole", "M31", CP_SIG_BY_NAME);
    found("Montpellier Méditerranée Métropole", "M34", CP_SIG_BY_NAME);
    found("Perpignan Méditerranée Métropole", "M66", CP_SIG_BY_NAME);
    found("Métropole de Lyon", "69M", CP_SIG_BY_NAME);
    found("Lyon Métropole ", "69M", CP_SIG_BY_NAME);
    found("Côte d’Or", "21D", CP_SIG_BY_NAME);
    found("LOZERE", "48D", CP_SIG_BY_NAME);
}

Test(sig, word_sets_ignore_order_and_stop_words)
{
    found("Métropole Toulouse", "M31", CP_SIG_BY_NAME);
    found("Métropole de Toulouse", "M31", CP_SIG_BY_NAME);
    found("Lyon (Métropole de)", "69M", CP_SIG_BY_NAME);
    found("Occitanie Région", "R76", CP_SIG_BY_NAME);
    found("Rhône (Département du)", "69D", CP_SIG_BY_NAME);
    found("Réunion", "974D", CP_SIG_BY_NAME);
    /* "et" is significant: Tarn-et-Garonne is neither Tarn nor Garonne. */
    found("Garonne et Tarn", "82D", CP_SIG_BY_NAME);
    found("Lot", "46D", CP_SIG_BY_NAME);
    found("Lot et Garonne", "47D", CP_SIG_BY_NAME);
}

Test(sig, aliases_and_other_names)
{
    found("Alsace", "6AE", CP_SIG_BY_NAME);
    found("CeA", "6AE", CP_SIG_BY_NAME);
    found("Collectivité européenne d'Alsace", "6AE", CP_SIG_BY_NAME);
    found("Grand Lyon", "69M", CP_SIG_BY_NAME);
    found("Rhône", "69D", CP_SIG_BY_NAME);
    found("Paris", "75C", CP_SIG_BY_NAME);
    found("Corse", "20R", CP_SIG_BY_NAME);
    found("Corse-du-Sud", "20R", CP_SIG_BY_NAME);
    found("Haute-Corse", "20R", CP_SIG_BY_NAME);
    found("Martinique", "972R", CP_SIG_BY_NAME);
    found("Guyane", "973R", CP_SIG_BY_NAME);
    /* A région's name is its région-level signatory. */
    found("Occitanie", "R76", CP_SIG_BY_NAME);
    found("Région Corse", "R94", CP_SIG_BY_NAME);
}

Test(sig, stars_and_spaces_are_ignored)
{
    found("Guadeloupe*", "971D", CP_SIG_BY_NAME);
    found(" Guadeloupe * ", "971D", CP_SIG_BY_NAME);
    found("\xc2\xa0" "31D**\xe2\x80\xaf", "31D", CP_SIG_BY_CODE);
    unknown("*", NULL);
    unknown("", NULL);
    unknown("   ", NULL);
}

Test(sig, code_in_brackets)
{
    found("Ariège (09)", "09D", CP_SIG_BY_NUMBER);
    found("Haute-Garonne (31)", "31D", CP_SIG_BY_NUMBER);
    found("Haute-Garonne (31D)", "31D", CP_SIG_BY_NUMBER);
    found("Guadeloupe (971)*", "971D", CP_SIG_BY_NUMBER);
    found("(31)", "31D", CP_SIG_BY_NUMBER);
    /* One part matching is enough. */
    found("Toulouse (M31)", "M31", CP_SIG_BY_NUMBER);
    found("Haute-Garonne (CD)", "31D", CP_SIG_BY_NAME);
}

Test(sig, name_and_code_disagree)
{
    struct cp_sig_match m = match("Haute-Garonne (09)");

    cr_assert_eq(m.status, CP_SIG_AMBIGUOUS);
    cr_assert_eq(m.nnear, 2);
    cr_assert_str_eq(code_of(m.near[0]), "31D");
    cr_assert_str_eq(code_of(m.near[1]), "09D");
}

Test(sig, number_before_or_after_the_name)
{
    found("31 - Haute-Garonne", "31D", CP_SIG_BY_NUMBER);
    found("09 Ariège", "09D", CP_SIG_BY_NUMBER);
    found("Haute-Garonne 31", "31D", CP_SIG_BY_NUMBER);
    found("2A - Corse-du-Sud", "20R", CP_SIG_BY_NUMBER);
    cr_assert_eq(match("09 - Haute-Garonne").status, CP_SIG_AMBIGUOUS);
    /* A bare number needs a name that matches: no guess. */
    unknown("Métropole 31", NULL);
}

Test(sig, misspellings_are_not_guessed)
{
    unknown("Pyrénées-Oirentales", "66D");
    unknown("Lot-et-Graonne", "47D");
    unknown("Haute-Garonn", "31D");
    unknown("31E", "31D");
    unknown("Xyzzy", NULL);
    /* "CD09": not a code; Ariège is named as the closest. */
    unknown("CD09", "09D");
}

Test(sig, near_is_sorted_and_distinct)
{
    struct cp_sig_match m = match("Haute-Loir");

    cr_assert_eq(m.status, CP_SIG_UNKNOWN);
    cr_assert_geq(m.nnear, 1);
    cr_assert_str_eq(code_of(m.near[0]), "43D");
    for (int i = 0; i < m.nnear; i++)
        for (int j = i + 1; j < m.nnear; j++)
            cr_assert_neq(m.near[i], m.near[j]);
}

Test(sig, every_code_and_official_name_finds_itself)
{
    for (size_t i = 0; i < ref.nsig; i++) {
        found(ref.sig[i].code, ref.sig[i].code, CP_SIG_BY_CODE);
        found(ref.sig[i].name, ref.sig[i].code, CP_SIG_BY_NAME);
    }
}

Test(sig, every_departement_name_finds_a_signatory)
{
    for (size_t i = 0; i < ref.ndep; i++) {
        struct cp_sig_match m = match(ref.dep[i].name);
        cr_assert_eq(m.status, CP_SIG_FOUND, "%s", ref.dep[i].name);
        cr_assert(strstr(ref.sig[m.sig].departements, ref.dep[i].code) != NULL, "%s gave %s",
                  ref.dep[i].name, code_of(m.sig));
    }
}

Test(sig, index_code_lookup_is_exact)
{
    cr_assert_eq(cp_sig_index_code(ref.sigix, &ref, "31D"), cp_ref_signatory(&ref, "31D"));
    cr_assert_str_eq(code_of(cp_sig_index_code(ref.sigix, &ref, "6AE")), "6AE");
    cr_assert_eq(cp_sig_index_code(ref.sigix, &ref, "31d"), -1);
    cr_assert_eq(cp_sig_index_code(ref.sigix, &ref, "1D"), -1);
    cr_assert_eq(cp_sig_index_code(ref.sigix, &ref, ""), -1);
    cr_assert_eq(cp_sig_index_code(NULL, &ref, "31D"), -1);
}

Test(sig, no_index_means_unknown)
{
    struct cp_ref empty;
    struct cp_sig_match m;

    memset(&empty, 0, sizeof empty);
    cp_sig_match(&empty, "31D", 3, &m);
    cr_assert_eq(m.status, CP_SIG_UNKNOWN);
    cr_assert_eq(m.nnear, 0);
}

Test(sig, respects_length)
{
    struct cp_sig_match m;

    cp_sig_match(&ref, "31D and more", 3, &m);
    cr_assert_eq(m.status, CP_SIG_FOUND);
    cr_assert_str_eq(code_of(m.sig), "31D");
}

/* ---- a key shared by two signatories -------------------------------------- */

static char dir[128];

static void copy_setup(void)
{
    refdata_copy(dir, sizeof dir);
}

static void copy_teardown(void)
{
    refdata_remove(dir);
}

TestSuite(sig_data, .init = copy_setup, .fini = copy_teardown);

Test(sig_data, shared_key_is_ambiguous_and_lists_both)
{
    struct cp_ref r;
    struct cp_err err;
    struct cp_sig_match m;

    /* Without the alias, "Rhône" (département 69) is 69D and 69M alike. */
    refdata_replace(dir, "alias.csv", "Rhône;69D\n", "");
    cr_assert_eq(cp_ref_load(&r, dir, &err), 0, "%s", err.msg);
    cp_sig_match(&r, "Rhône", strlen("Rhône"), &m);
    cr_assert_eq(m.status, CP_SIG_AMBIGUOUS);
    cr_assert_eq(m.how, CP_SIG_BY_NAME);
    cr_assert_eq(m.nnear, 2);
    cr_assert_str_eq(r.sig[m.near[0]].code, "69D");
    cr_assert_str_eq(r.sig[m.near[1]].code, "69M");
    /* A higher level still decides. */
    cp_sig_match(&r, "69", 2, &m);
    cr_assert_eq(m.status, CP_SIG_FOUND);
    cr_assert_str_eq(r.sig[m.sig].code, "69D");
    cp_ref_release(&r);
}

Test(sig_data, alias_beats_a_name)
{
    struct cp_ref r;
    struct cp_err err;
    struct cp_sig_match m;

    /* An alias outranks a département name: "Paris" to the Grand Paris. */
    refdata_replace(dir, "alias.csv", "Paris;75C\n", "Paris;M75\n");
    cr_assert_eq(cp_ref_load(&r, dir, &err), 0, "%s", err.msg);
    cp_sig_match(&r, "PARIS", 5, &m);
    cr_assert_eq(m.status, CP_SIG_FOUND);
    cr_assert_str_eq(r.sig[m.sig].code, "M75");
    cp_ref_release(&r);
}

Test(sig, arbitrary_bytes_never_overrun)
{
    static const char alphabet[] = "0123456789 ()-*aAdDeéRM\xc3\xa8\xc2\xa0";
    unsigned long x = 777;
    char buf[24];

    for (int i = 0; i < 5000; i++) {
        size_t len = (size_t)(i % (int)sizeof buf);
        struct cp_sig_match m;
        for (size_t j = 0; j < len; j++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            buf[j] = alphabet[(x >> 33) % (sizeof alphabet - 1)];
        }
        cp_sig_match(&ref, buf, len, &m);
        cr_assert_leq(m.nnear, CP_SIG_NEAR_MAX);
        if (m.status == CP_SIG_FOUND)
            cr_assert(m.sig >= 0 && (size_t)m.sig < ref.nsig);
    }
}
