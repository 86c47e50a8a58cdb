/* Unit tests for consolidate/rules.c (the rules file) and the guard on
 * relation rules (consolidate/checks.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/db.h"
#include "consolidate/internal.h"
#include "consolidate/rules.h"
#include "tests/unit/consdb.h"
#include "tests/unit/refdata.h"

static const char *const codes[] = {"RSA_ORIENT_1M", "RSA_ORIENTES", "RSA_NOUV_ENTRANTS",
                                    "RSA_TX_ORIENT_1M", "RSA_DELAI_ORIENT", "FIN_BUDGET",
                                    "FIN_CREDITS_ETAT", "FIN_COFIN"};
static const struct cp_rule_catalog cat = {codes, sizeof codes / sizeof codes[0]};

static void parse(struct cp_rules *rs, const char *text)
{
    struct cp_err err;

    cp_err_clear(&err);
    cr_assert_eq(cp_rules_parse(rs, "regles.csv", text, strlen(text), &cat, &err), 0, "%s",
                 err.msg);
}

static const struct cp_rule_problem *problem_at(const struct cp_rules *rs, unsigned line)
{
    for (size_t i = 0; i < rs->nprob; i++)
        if (rs->prob[i].line == line)
            return &rs->prob[i];
    return NULL;
}

Test(consolidate_rules, relation_names_its_indicators_in_order_of_appearance)
{
    struct cp_rules rs;

    parse(&rs, "id;gravite;controle;expression;tolerance;message\n"
               "DELAI;avertissement;relation;SI rsa_tx_orient_1m = 100 ALORS RSA_DELAI_ORIENT "
               "<= 31;;\n");
    cr_assert_eq(rs.nprob, 0, "%s", rs.nprob ? rs.prob[0].msg : "");
    cr_assert_eq(rs.n, 1);
    cr_assert_eq(rs.v[0].ncodes, 2);
    cr_assert_str_eq(rs.v[0].codes[0], "RSA_TX_ORIENT_1M");
    cr_assert_str_eq(rs.v[0].codes[1], "RSA_DELAI_ORIENT");
    cr_assert_str_eq(rs.v[0].cond_sql, "\"RSA_TX_ORIENT_1M\" = 100");
    cr_assert_str_eq(rs.v[0].lhs_sql, "\"RSA_DELAI_ORIENT\"");
    cr_assert_str_eq(rs.v[0].op, "<=");
    cr_assert_eq(rs.v[0].severity, CP_SEV_AVERTISSEMENT);
    cp_rules_release(&rs);
}

Test(consolidate_rules, reads_quotes_bom_crlf_comments_and_french_numbers)
{
    struct cp_rules rs;

    parse(&rs, "\xEF\xBB\xBF# commentaire\r\n"
               "Id;Gravité;Contrôle;Expression;Tolérance;Message;Actif\r\n"
               "\r\n"
               "SOMME;avertissement;relation;FIN_BUDGET = FIN_CREDITS_ETAT + FIN_COFIN;1;"
               "\"budget ; {detail}\";oui\r\n"
               "ANNUEL;avertissement;annuel;;0,5 %;;\r\n"
               "OFF;info;relation;FIN_COFIN \xE2\x89\xA5 FIN_CREDITS_ETAT;;;non\r\n");
    cr_assert_eq(rs.nprob, 0, "%s", rs.nprob ? rs.prob[0].msg : "");
    cr_assert_eq(rs.n, 2, "the inactive line is skipped");
    cr_assert_str_eq(rs.v[0].message, "budget ; {detail}");
    cr_assert_eq(rs.v[0].line, 4);
    cr_assert_float_eq(rs.v[0].tol_abs, 1.0, 1e-12);
    cr_assert_eq(rs.v[1].kind, CP_RULE_ANNUEL);
    cr_assert_float_eq(rs.v[1].tol_rel, 0.005, 1e-12);
    cp_rules_release(&rs);
}

Test(consolidate_rules, windows_1252_as_excel_saves_it_is_read)
{
    struct cp_rules rs;

    parse(&rs, "id;gravite;controle;expression;tolerance;message\n"
               "PARITE;avertissement;relation;FIN_COFIN >= FIN_CREDITS_ETAT;;"
               "cofinancement \xE9gal ({detail})\n");
    cr_assert_eq(rs.nprob, 0);
    cr_assert_str_eq(rs.v[0].message, "cofinancement \xC3\xA9gal ({detail})");
    cp_rules_release(&rs);
}

Test(consolidate_rules, french_words_and_symbols_become_sql)
{
    struct cp_rules rs;

    parse(&rs, "id;gravite;controle;expression;tolerance;message\n"
               "X;info;relation;RSA_ORIENTES \xE2\x89\xA4 RSA_NOUV_ENTRANTS ET NON RSA_ORIENTES "
               "< 0 OU RSA_ORIENT_1M \xE2\x89\xA0 2;;\n");
    cr_assert_eq(rs.nprob, 0, "%s", rs.nprob ? rs.prob[0].msg : "");
    cr_assert_null(rs.v[0].lhs_sql, "not a single comparison");
    cr_assert_str_eq(rs.v[0].test_sql,
                     "(\"RSA_ORIENTES\" <= \"RSA_NOUV_ENTRANTS\" AND NOT \"RSA_ORIENTES\" < 0 "
                     "OR \"RSA_ORIENT_1M\" <> 2)");
    cp_rules_release(&rs);
}

Test(consolidate_rules, a_bad_line_is_reported_with_its_line_and_the_others_are_kept)
{
    struct cp_rules rs;

    parse(&rs, "id;gravite;controle;expression;tolerance;message\n"
               "OK1;bloquant;relation;RSA_ORIENT_1M <= RSA_ORIENTES;;\n"      /* 2 */
               "BAD;grave;relation;RSA_ORIENT_1M <= RSA_ORIENTES;;\n"         /* 3 */
               "BAD;info;relation;(RSA_ORIENT_1M <= RSA_ORIENTES;;\n"         /* 4 */
               "BAD;info;inconnu;;;\n"                                        /* 5 */
               "BAD;info;evolution;seuil=abc;;\n"                             /* 6 */
               "BAD;info;evolution;vitesse=2;;\n"                             /* 7 */
               "BAD;info;relation;RSA_ORIENTES > 0;;{inconnu}\n"              /* 8 */
               "BAD;info;relation;1 < 2;;\n"                                  /* 9 */
               "BAD;info;relation;RSA_ORIENTES > 0 OR RSA_ORIENT_1M > 0;3;\n" /* 10 */
               "bad;info;relation;RSA_ORIENTES > 0;;\n"                       /* 11 */
               "BAD;info;bornes;;2;\n"                                        /* 12 */
               "OK2;info;cible;bas=70% haut=130%;;{valeur} / {cible}\n");     /* 13 */
    cr_assert_eq(rs.n, 2);
    cr_assert_str_eq(rs.v[0].id, "OK1");
    cr_assert_str_eq(rs.v[1].id, "OK2");
    cr_assert_float_eq(rs.v[1].bas, 0.7, 1e-12);
    cr_assert_eq(rs.nprob, 10);
    cr_assert_str_eq(problem_at(&rs, 3)->code, "regle_gravite_inconnue");
    cr_assert_str_eq(problem_at(&rs, 4)->code, "regle_expression_interdite");
    cr_assert_str_eq(problem_at(&rs, 5)->code, "regle_controle_inconnu");
    cr_assert_str_eq(problem_at(&rs, 6)->code, "regle_parametre_invalide");
    cr_assert_str_eq(problem_at(&rs, 7)->code, "regle_parametre_inconnu");
    cr_assert_str_eq(problem_at(&rs, 8)->code, "regle_message_invalide");
    cr_assert_str_eq(problem_at(&rs, 9)->code, "regle_sans_indicateur");
    cr_assert_str_eq(problem_at(&rs, 10)->code, "regle_tolerance_invalide");
    cr_assert_str_eq(problem_at(&rs, 11)->code, "regle_id_invalide");
    cr_assert_str_eq(problem_at(&rs, 12)->code, "regle_tolerance_invalide");
    cr_assert(strstr(problem_at(&rs, 3)->msg, "regles.csv, ligne 3 : ") == problem_at(&rs, 3)->msg,
              "%s", problem_at(&rs, 3)->msg);
    cr_assert(strstr(problem_at(&rs, 3)->msg, "grave"));
    cp_rules_release(&rs);
}

Test(consolidate_rules, semicolons_and_comments_are_refused_in_an_expression)
{
    struct cp_rules rs;

    parse(&rs, "id;gravite;controle;expression;tolerance;message\n"
               "W;bloquant;relation;\"RSA_ORIENTES > 0; DELETE FROM valeur\";;\n"
               "W;bloquant;relation;RSA_ORIENTES > 0 -- commentaire;;\n"
               "W;bloquant;relation;RSA_ORIENTES > 0) OR (1;;\n"
               "W;bloquant;relation;RSA_ORIENTES > \"RSA_ORIENT_1M\";;\n");
    cr_assert_eq(rs.n, 0);
    cr_assert_eq(rs.nprob, 4);
    for (size_t i = 0; i < rs.nprob; i++)
        cr_assert_str_eq(rs.prob[i].code, "regle_expression_interdite", "line %u: %s",
                         rs.prob[i].line, rs.prob[i].msg);
    cp_rules_release(&rs);
}

Test(consolidate_rules, no_header_is_an_error_of_the_whole_file)
{
    struct cp_rules rs;
    struct cp_err err;
    const char *t = "BORNES;bloquant;bornes;;;\n";

    cp_err_clear(&err);
    cr_assert_eq(cp_rules_parse(&rs, "regles.csv", t, strlen(t), &cat, &err), -1);
    cr_assert_str_eq(err.code, "regles_entete");
    cr_assert_eq(err.exit_status, CP_EX_CONFIG);
    cp_rules_release(&rs);
}

static const char *look(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "x") == 0 ? "valeur" : NULL;
}

Test(consolidate_rules, format_fills_placeholders_and_keeps_double_braces)
{
    struct cp_buf b = CP_BUF_INIT(1024);

    cr_assert_eq(cp_rule_format("{{a}} {x} {y} }}", look, NULL, &b), 0);
    cr_assert_str_eq(cp_buf_str(&b), "{a} valeur {y} }");
    cp_buf_release(&b);
}

Test(consolidate_rules, the_shipped_rules_file_is_complete_and_clean)
{
    static const char *const ids[] = {"BORNES",  "PARTIE_TOUT", "RATIO",      "SOMME",
                                      "ANNUEL",  "PARITE",      "EXECUTION",  "DELAI",
                                      "COMPLETUDE", "DOUBLON",  "EVOLUTION",  "ATYPIQUE",
                                      "CIBLE",   "HORS_DELAI",  NULL};
    struct consdb c;
    struct cp_run run;
    struct cp_rules rs;
    struct cp_rule_catalog all;
    struct cp_err err;
    char path[1100];
    size_t partie_tout = 0;

    consdb_open(&c);
    cp_err_clear(&err);
    cr_assert_eq(cp_run_init(&run, c.db, &err), 0, "%s", err.msg);
    all = (struct cp_rule_catalog){run.codes, run.nind};
    snprintf(path, sizeof path, "%s/regles.csv", refdata_dir());
    cr_assert_eq(cp_rules_load(&rs, path, &all, &err), 0, "%s", err.msg);
    cr_assert_eq(rs.nprob, 0, "%s", rs.nprob ? rs.prob[0].msg : "");
    for (size_t i = 0; ids[i]; i++) {
        int found = 0;

        for (size_t k = 0; k < rs.n; k++)
            found |= strcmp(rs.v[k].id, ids[i]) == 0;
        cr_assert(found, "rule %s missing from data/regles.csv", ids[i]);
    }
    for (size_t k = 0; k < rs.n; k++)
        partie_tout += strcmp(rs.v[k].id, "PARTIE_TOUT") == 0;
    cr_assert_eq(partie_tout, 7, "one PARTIE_TOUT line per pair");
    cp_rules_release(&rs);
    cp_run_release(&run);
    consdb_close(&c);
}

Test(consolidate_rules, the_guard_refuses_writes_other_tables_and_several_statements)
{
    struct consdb c;
    sqlite3_stmt *st;
    char why[300];

    consdb_open(&c);
    cr_assert_eq(sqlite3_exec(c.db, "CREATE TEMP TABLE cp_pivot(signataire, periode, X)", NULL,
                              NULL, NULL),
                 SQLITE_OK);
    cr_assert_eq(cp_checks_guarded_prepare(c.db, "DELETE FROM valeur", &st, why, sizeof why), 1);
    cr_assert_null(st);
    cr_assert_eq(cp_checks_guarded_prepare(c.db, "INSERT INTO meta VALUES('a', 'b')", &st, why,
                                           sizeof why),
                 1);
    cr_assert_eq(cp_checks_guarded_prepare(c.db, "SELECT valeur FROM valeur", &st, why,
                                           sizeof why),
                 1);
    cr_assert(strstr(why, "valeur"), "%s", why);
    cr_assert_eq(cp_checks_guarded_prepare(c.db, "SELECT X FROM temp.cp_pivot; DELETE FROM meta",
                                           &st, why, sizeof why),
                 1);
    cr_assert_eq(cp_checks_guarded_prepare(c.db, "SELECT load_extension('x') FROM temp.cp_pivot",
                                           &st, why, sizeof why),
                 1);
    cr_assert(strstr(why, "load_extension"), "%s", why);
    cr_assert_eq(cp_checks_guarded_prepare(c.db, "SELECT abs(X) FROM temp.cp_pivot WHERE X > 1",
                                           &st, why, sizeof why),
                 0, "%s", why);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    cp_checks_guard_end(c.db);
    /* The guard is lifted: writes work again. */
    cr_assert_eq(sqlite3_exec(c.db, "INSERT INTO meta VALUES('a', 'b')", NULL, NULL, NULL),
                 SQLITE_OK);
    consdb_close(&c);
}

Test(consolidate_rules, a_rule_that_reads_or_writes_elsewhere_is_refused_and_others_run)
{
    struct consdb c;
    long long f, values;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-01T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "RSA_ORIENT_1M", "120", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "RSA_ORIENTES", "100", NULL);
    values = consdb_int(&c, "SELECT count(*) FROM valeur");
    consdb_run(&c, "id;gravite;controle;expression;tolerance;message\n"
                   "W1;bloquant;relation;\"RSA_ORIENTES > 0; DELETE FROM valeur\";;\n"
                   "W2;bloquant;relation;RSA_ORIENTES <= (SELECT count(*) FROM valeur);;\n"
                   "W3;bloquant;relation;RSA_ORIENTES <= load_extension('x');;\n"
                   "W4;bloquant;relation;RSA_ORIENTES <= (SELECT count(*) FROM sqlite_master);;\n"
                   "OK;bloquant;relation;RSA_ORIENT_1M <= RSA_ORIENTES;;\n");
    cr_assert(consdb_problem(&c, 2, "regle_expression_interdite"));
    cr_assert(consdb_problem(&c, 3, "regle_lecture_interdite"));
    cr_assert(consdb_problem(&c, 4, "regle_lecture_interdite"));
    cr_assert(consdb_problem(&c, 5, "regle_lecture_interdite"));
    cr_assert_eq(c.st.nproblems, 4);
    cr_assert_eq(c.st.rules, 1);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM valeur"), values);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat WHERE regle = 'OK'"), 1);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat WHERE regle LIKE 'W%'"), 0);
    consdb_close(&c);
}

Test(consolidate_rules, an_unknown_indicator_is_reported_with_its_line)
{
    struct consdb c;
    long long f;

    consdb_open(&c);
    f = consdb_file(&c, "a.csv", "2021-07-01T10:00:00");
    consdb_value(&c, f, "09D", "2021-S1", "RSA_ORIENT_1M", "120", NULL);
    consdb_value(&c, f, "09D", "2021-S1", "RSA_ORIENTES", "100", NULL);
    consdb_run(&c, "id;gravite;controle;expression;tolerance;message\n"
                   "# a comment line still counts as a line\n"
                   "X;bloquant;relation;RSA_ORIENT_1M <= RSA_ORIENTE_TOTAL + RSA_ORIENTES;;\n"
                   "PT;bloquant;relation;RSA_ORIENT_1M <= RSA_ORIENTES;;\n");
    cr_assert_eq(c.st.nproblems, 1);
    cr_assert(consdb_problem(&c, 3, "regle_expression_invalide"), "%s", c.st.problems[0].msg);
    cr_assert(strstr(c.st.problems[0].msg, "RSA_ORIENTE_TOTAL"), "%s", c.st.problems[0].msg);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat WHERE regle = 'PT'"), 1);
    consdb_close(&c);
}
