/* Unit tests for a whole consolidate run: determinism and incrementality,
 * fingerprints, explanations (consolidate/consolidate.c, state.c,
 * explain.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "consolidate/explain.h"
#include "consolidate/internal.h"
#include "tests/unit/consdb.h"

/* Two régions, two periods, a few findings of several kinds. */
static void fill(struct consdb *c)
{
    long long f = consdb_file(c, "a.csv", "2021-07-20T10:00:00");

    consdb_value(c, f, "09D", "2021-S1", "RSA_ORIENT_1M", "50", NULL);
    consdb_value(c, f, "09D", "2021-S1", "RSA_ORIENTES", "80", NULL);
    consdb_value(c, f, "09D", "2021-S1", "RSA_NOUV_ENTRANTS", "100", NULL);
    consdb_value(c, f, "09D", "2021-S1", "RSA_TX_ORIENT_1M", "50", NULL);
    consdb_value(c, f, "11D", "2021-S1", "RSA_ORIENT_1M", "90", NULL);
    consdb_value(c, f, "11D", "2021-S1", "RSA_ORIENTES", "80", NULL);
    consdb_value(c, f, "11D", "2021-S1", "RSA_NOUV_ENTRANTS", "100", NULL);
    consdb_value(c, f, "33D", "2021-S1", "RSA_NOUV_ENTRANTS", "300", NULL);
    f = consdb_file(c, "b.csv", "2022-07-20T10:00:00");
    consdb_value(c, f, "09D", "2022-S1", "RSA_NOUV_ENTRANTS", "200", NULL);
    consdb_value(c, f, "33D", "2022-S1", "RSA_NOUV_ENTRANTS", "310", NULL);
}

static char *ids(struct consdb *c)
{
    return strdup(consdb_text(c, "SELECT group_concat(id || ':' || cle, ';') FROM"
                                 " (SELECT id, cle FROM constat ORDER BY id)"));
}

static char *meta(struct consdb *c, const char *key)
{
    char *v = cp_db_meta_get(c->db, key);

    cr_assert_not_null(v, "meta %s missing", key);
    return v;
}

Test(consolidate_run, a_rerun_without_new_data_changes_nothing)
{
    struct consdb c;
    char *a, *b, *s76, *sfr;

    consdb_open(&c);
    fill(&c);
    consdb_run(&c, NULL);
    cr_assert_gt(c.st.added, 0);
    a = ids(&c);
    s76 = meta(&c, "etat:76:2021-S1");
    sfr = meta(&c, "etat:FR:2021-S1");
    consdb_run(&c, NULL);
    b = ids(&c);
    cr_assert_str_eq(a, b);
    cr_assert_eq(c.st.added + c.st.changed + c.st.removed, 0);
    cr_assert_eq(c.st.agg_added + c.st.agg_changed + c.st.agg_removed, 0);
    cr_assert_eq(c.st.states_changed, 0);
    free(b);
    b = meta(&c, "etat:76:2021-S1");
    cr_assert_str_eq(b, s76);
    free(a);
    free(b);
    free(s76);
    free(sfr);
    consdb_close(&c);
}

/* A run hashes the values in force for the state fingerprints on a second
 * thread with a connection of its own (state.c); one reading of every line
 * on the run's connection gives the same fingerprints. */
Test(consolidate_run, state_fingerprints_from_the_second_thread_equal_one_reading)
{
    struct consdb c;
    struct cp_err err;
    unsigned long changed = 1;

    consdb_open(&c);
    fill(&c);
    consdb_run(&c, NULL);
    cr_assert_gt(consdb_int(&c, "SELECT count(*) FROM meta WHERE cle LIKE 'etat:%'"), 0);
    memset(&err, 0, sizeof err);
    cr_assert_eq(sqlite3_exec(c.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    cr_assert_eq(cp_state_update(c.db, &changed, &err), 0, "%s", err.msg);
    cr_assert_eq(changed, 0);
    sqlite3_exec(c.db, "ROLLBACK", NULL, NULL, NULL);
    consdb_close(&c);
}

Test(consolidate_run, new_data_for_one_signatory_changes_only_what_depends_on_it)
{
    struct consdb c;
    char *s76a, *s75a, *sfra, *s76b, *s75b, *sfrb, *s76c, *s76c2;
    long long f, pt_id, other_id;

    consdb_open(&c);
    fill(&c);
    consdb_run(&c, NULL);
    s76a = meta(&c, "etat:76:2021-S1");
    s75a = meta(&c, "etat:75:2021-S1");
    sfra = meta(&c, "etat:FR:2021-S1");
    s76c = meta(&c, "etat:76:2022-S1");
    pt_id = consdb_int(&c, "SELECT id FROM constat WHERE regle = 'PARTIE_TOUT'"
                           " AND signataire = '11D'");
    other_id = consdb_int(&c, "SELECT id FROM constat WHERE regle = 'COMPLETUDE'"
                              " AND signataire = '33D' AND periode = '2021-S1'");
    cr_assert_neq(pt_id, 0);
    cr_assert_neq(other_id, 0);
    /* 11D corrects its figures: the PARTIE_TOUT finding goes away. */
    f = consdb_file(&c, "fix.csv", "2021-08-01T10:00:00");
    consdb_value(&c, f, "11D", "2021-S1", "RSA_ORIENT_1M", "70", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(c.st.removed, 1);
    cr_assert_eq(c.st.added, 0);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat WHERE regle = 'PARTIE_TOUT'"), 0);
    cr_assert_eq(consdb_int(&c, "SELECT id FROM constat WHERE regle = 'COMPLETUDE'"
                                " AND signataire = '33D' AND periode = '2021-S1'"),
                 other_id, "unchanged findings keep their id");
    s76b = meta(&c, "etat:76:2021-S1");
    s75b = meta(&c, "etat:75:2021-S1");
    sfrb = meta(&c, "etat:FR:2021-S1");
    s76c2 = meta(&c, "etat:76:2022-S1");
    cr_assert_str_neq(s76a, s76b);
    cr_assert_str_neq(sfra, sfrb);
    cr_assert_str_eq(s75a, s75b, "another région is untouched");
    cr_assert_str_eq(s76c, s76c2, "another period is untouched");
    free(s76a);
    free(s75a);
    free(sfra);
    free(s76b);
    free(s75b);
    free(sfrb);
    free(s76c);
    free(s76c2);
    consdb_close(&c);
}

Test(consolidate_run, an_explanation_is_kept_across_runs_and_lapses_when_its_value_changes)
{
    struct consdb c;
    struct cp_err err;
    char key[256];
    long long id = 0, f;

    consdb_open(&c);
    fill(&c);
    consdb_run(&c, NULL);
    snprintf(key, sizeof key, "%s",
             consdb_text(&c, "SELECT cle FROM constat WHERE regle = 'PARTIE_TOUT'"));
    cr_assert_str_eq(key, "PARTIE_TOUT|11D|2021-S1|RSA_ORIENT_1M,RSA_ORIENTES");
    cp_err_clear(&err);
    cr_assert_eq(cp_explain_add(c.path, key, "nouvelle plateforme ouverte en mars", "Mme X",
                                &id, &err),
                 0, "%s", err.msg);
    cr_assert_gt(id, 0);
    cr_assert_str_eq(consdb_text(&c, "SELECT explication FROM constats"
                                     " WHERE regle = 'PARTIE_TOUT'"),
                     "nouvelle plateforme ouverte en mars");
    consdb_run(&c, NULL);
    consdb_run(&c, NULL);
    cr_assert_str_eq(consdb_text(&c, "SELECT explication FROM constats"
                                     " WHERE regle = 'PARTIE_TOUT'"),
                     "nouvelle plateforme ouverte en mars");
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM explication WHERE caduque_le IS NULL"), 1);
    /* The whole changes: the finding stays, the explanation lapses. */
    f = consdb_file(&c, "fix.csv", "2021-08-01T10:00:00");
    consdb_value(&c, f, "11D", "2021-S1", "RSA_ORIENTES", "85", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(c.st.explanations_lapsed, 1);
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM constat WHERE regle = 'PARTIE_TOUT'"), 1);
    cr_assert_str_eq(consdb_text(&c, "SELECT coalesce(explication, '-') FROM constats"
                                     " WHERE regle = 'PARTIE_TOUT'"),
                     "-");
    cr_assert_eq(consdb_int(&c, "SELECT count(*) FROM explication WHERE caduque_le IS NOT NULL"),
                 1);
    consdb_close(&c);
}

Test(consolidate_run, an_explanation_survives_a_resent_identical_value)
{
    struct consdb c;
    struct cp_err err;
    long long f;

    consdb_open(&c);
    fill(&c);
    consdb_run(&c, NULL);
    cp_err_clear(&err);
    cr_assert_eq(cp_explain_add(c.path,
                                consdb_text(&c, "SELECT id FROM constat"
                                                " WHERE regle = 'PARTIE_TOUT'"),
                                "vérifié avec le département", NULL, NULL, &err),
                 0, "%s", err.msg);
    f = consdb_file(&c, "again.csv", "2021-08-01T10:00:00");
    consdb_value(&c, f, "11D", "2021-S1", "RSA_ORIENT_1M", "90", NULL);
    consdb_value(&c, f, "11D", "2021-S1", "RSA_ORIENTES", "80", NULL);
    consdb_run(&c, NULL);
    cr_assert_eq(c.st.explanations_lapsed, 0);
    cr_assert_str_eq(consdb_text(&c, "SELECT explication FROM constats"
                                     " WHERE regle = 'PARTIE_TOUT'"),
                     "vérifié avec le département");
    consdb_close(&c);
}

static int count_cb(void *ctx, const struct cp_explanation *e)
{
    int *n = ctx;

    cr_assert_str_eq(e->etat, "en vigueur");
    (*n)++;
    return 0;
}

static int count_findings(void *ctx, const struct cp_finding_row *f)
{
    int *n = ctx;

    cr_assert_str_eq(f->region, "76");
    (*n)++;
    return 0;
}

Test(consolidate_run, explaining_an_unknown_finding_is_refused_and_lists_work)
{
    struct consdb c;
    struct cp_err err;
    int n = 0;

    consdb_open(&c);
    fill(&c);
    consdb_run(&c, NULL);
    cp_err_clear(&err);
    cr_assert_eq(cp_explain_add(c.path, "PARTIE_TOUT|99D|2021-S1|X", "x", NULL, NULL, &err), -1);
    cr_assert_str_eq(err.code, "constat_inconnu");
    cr_assert_eq(err.exit_status, CP_EX_DATAERR);
    cr_assert_eq(cp_explain_add(c.path, "PARTIE_TOUT|11D|2021-S1|RSA_ORIENT_1M,RSA_ORIENTES", "",
                                NULL, NULL, &err),
                 -1);
    cr_assert_str_eq(err.code, "justification_vide");
    cr_assert_eq(cp_explain_add(c.path, "PARTIE_TOUT|11D|2021-S1|RSA_ORIENT_1M,RSA_ORIENTES",
                                "ok", NULL, NULL, &err),
                 0, "%s", err.msg);
    cr_assert_eq(cp_explain_list(c.path, count_cb, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 1);
    n = 0;
    cr_assert_eq(cp_findings_list(c.path, "76", "2021-S1", count_findings, &n, &err), 0);
    cr_assert_eq((long long)n, consdb_int(&c, "SELECT count(*) FROM constats WHERE region = '76'"
                                              " AND periode = '2021-S1'"));
    cr_assert_gt(n, 0);
    consdb_close(&c);
}

Test(consolidate_run, summary_counts_by_severity_and_region)
{
    struct consdb c;
    unsigned long total = 0;

    consdb_open(&c);
    fill(&c);
    consdb_run(&c, NULL);
    cr_assert_eq(c.st.by_severity[CP_SEV_BLOQUANT], 1);
    cr_assert_eq(c.st.findings, (unsigned long)consdb_int(&c, "SELECT count(*) FROM constat"));
    for (size_t i = 0; i < c.st.nregions; i++)
        for (int s = 0; s < CP_SEV_COUNT; s++)
            total += c.st.regions[i].n[s];
    cr_assert_eq(total, c.st.findings);
    cr_assert_eq(c.st.excluded, 2);
    consdb_close(&c);
}
