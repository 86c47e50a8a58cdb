/*
 * What the consolidate modules share during one run: the connection, the
 * catalog and signatories read from the ref_* tables, the rules, the
 * staging tables findings are written to, and French value formatting.
 * Not part of the stage's API (consolidate.h).
 */
#ifndef CALPAE_CONSOLIDATE_INTERNAL_H
#define CALPAE_CONSOLIDATE_INTERNAL_H

#include <sqlite3.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/hash.h"
#include "consolidate/rules.h"

struct cp_consolidate_stats;

#define CP_CODE_MAX 48

struct cp_cat_ind {
    char code[CP_CODE_MAX];
    char *label;                         /* owned */
    char unit[8];                        /* nb, pct, jours, eur */
    char nature[8];                      /* flux, stock, ratio, moyenne */
    char num[CP_CODE_MAX], den[CP_CODE_MAX], poids[CP_CODE_MAX]; /* "" when none */
    int has_min, has_max;
    double min, max;
    char sens[8];                        /* hausse, baisse, neutre */
    int yearly_only;
};

struct cp_cat_sig {
    char code[16];
    char *name;                          /* owned */
    char type;
    char region[8];
};

struct cp_run {
    sqlite3 *db;
    struct cp_rules *rules;              /* borrowed */
    struct cp_cat_ind *ind;              /* catalog order (rang) */
    size_t nind;
    struct cp_cat_sig *sig;              /* sorted by code */
    size_t nsig;
    const char **codes;                  /* ind[i].code, for the rules parser */
    char now[20];
    sqlite3_stmt *ins_f, *ins_fv, *get_cur;
    struct cp_buf msg, tmp;
    struct cp_err *err;
};

/* A value a finding involves (one constat_valeur row). */
struct cp_fval {
    const char *sig, *per;
    const char *ind;                     /* NULL: the row points at a whole file */
    int has;                             /* value known */
    double v;
    int link;                            /* 1: attach the value in force for the key */
    sqlite3_int64 file_id;               /* 0: from the link, if any */
    const char *where;                   /* NULL: from the link, if any */
};

/* Placeholder values of a message, besides the common ones. */
struct cp_kv {
    const char *k, *v;
};

struct cp_finding {
    const struct cp_rule *rule;
    const char *sig, *per;
    const char *codes;                   /* comma-separated, the finding's own indicators */
    const char *values;                  /* '|'-separated, same order */
    const char *detail;                  /* French explanation for {detail} */
    const struct cp_kv *kv;
    size_t nkv;
    const struct cp_fval *fv;
    size_t nfv;
};

/* ctx.c: catalog, statements, formatting, emission. */
int cp_run_init(struct cp_run *run, sqlite3 *db, struct cp_err *err);
void cp_run_release(struct cp_run *run);
const struct cp_cat_ind *cp_run_ind(const struct cp_run *run, const char *code);
const struct cp_cat_sig *cp_run_sig(const struct cp_run *run, const char *code);
/* Creates the staging tables and prepares the emission statements. */
int cp_run_staging(struct cp_run *run);
/* Stages one finding: expands its message and writes cp_f / cp_fv rows.
 * A second finding with the same key (rule|signatory|period|indicators)
 * is ignored. */
int cp_run_emit(struct cp_run *run, const struct cp_finding *f);
/* A value in French with its unit: "1 234", "45,2 %", "12 jours", "1 000 €". */
const char *cp_run_fmt(const char *unit, double v, char *out, size_t n);
/* %.15g of a value, "" when unknown: the machine form of constat.valeurs. */
const char *cp_run_raw(int has, double v, char *out, size_t n);
/* Fills err from the connection and returns -1. */
int cp_run_dbfail(struct cp_run *run, const char *what);
int cp_run_exec(struct cp_run *run, const char *sql);

/* SQL: signatory s (alias of ref_signataire) in force during period p
 * (alias of a table with the period's debut and fin: cp_per, cp_pit). */
#define IN_FORCE(s, p) \
    "(" s ".debut IS NULL OR " s ".debut <= " p ".fin) AND (" s ".fin IS NULL OR " s \
    ".fin >= " p ".debut)"

/* checks.c: the scope tables (cp_per, cp_cur, cp_attendu, cp_pivot,
 * cp_pred), then every rule into the staging tables. */
int cp_checks_scope(struct cp_run *run);
int cp_checks_run(struct cp_run *run, struct cp_consolidate_stats *st);
/* Prepares a rule's SQL under the guard: PRAGMA query_only and an
 * authorizer that allows a single read-only SELECT reading only
 * temp.cp_pivot and calling only harmless functions. Returns 0 with the
 * guard still on (step, finalize, then cp_checks_guard_end), 1 with a
 * French reason in why (the rule must be skipped; guard lifted), or -1. */
int cp_checks_guarded_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *why,
                              size_t whysz);
/* Lifts the guard once the statement is finalized. */
void cp_checks_guard_end(sqlite3 *db);

/* findings.c: staging → constat, constat_valeur, exclusion; lapsed
 * explanations. */
int cp_findings_apply(struct cp_run *run, struct cp_consolidate_stats *st);

/* agg.c: aggregates and contributions. */
int cp_agg_run(struct cp_run *run, struct cp_consolidate_stats *st);

/* state.c: fingerprints etat:<zone>:<periode> in meta; *changed counts the
 * keys written or removed. Uses only persistent tables and views. */
int cp_state_update(sqlite3 *db, unsigned long *changed, struct cp_err *err);
/* The lines of the values in force hashed ahead, on a second thread with a
 * read-only connection of its own: started under the run's write lock
 * (after BEGIN IMMEDIATE), so that it reads the tables the run does not
 * write (courant, valeur, fichier, ref_signataire) as the run sees them.
 * NULL when it cannot start (an in-memory database, no memory): then
 * cp_state_update_pre reads them itself, as it does when the thread
 * failed. Free with cp_state_pre_free (waits for the thread). */
struct cp_state_pre;
struct cp_state_pre *cp_state_values_start(sqlite3 *db);
int cp_state_update_pre(sqlite3 *db, struct cp_state_pre *pre, unsigned long *changed,
                        struct cp_err *err);
void cp_state_pre_free(struct cp_state_pre *pre);

/* The two halves of cp_consolidate_inputs (consolidate/inputs.c): the
 * files (version, reference files, rules), taken before the run reads
 * them, and the tables with that first digest, taken at the end of the
 * run's transaction; a file changed during the run is thus seen as
 * changed by the next one. */
struct cp_consolidate_opts;
int cp_consolidate_inputs_files(const struct cp_consolidate_opts *o, char out[CP_SHA256_HEX],
                                struct cp_err *err);
int cp_consolidate_inputs_tables(sqlite3 *db, const char *files_fp,
                                 char out[CP_SHA256_HEX],
                                 struct cp_err *err);

#endif
