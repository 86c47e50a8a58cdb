/*
 * The commissioner's side of the findings: marking a finding as explained
 * with a justification ("the rise is due to a new platform opened in
 * March"), listing explanations, and listing findings with the key to
 * quote. An explanation is kept across runs, shown in the constats view,
 * and lapses when a value it was given for changes (see findings.c).
 */
#ifndef CALPAE_EXPLAIN_H
#define CALPAE_EXPLAIN_H

#include "common/err.h"

/* One explanation; strings are borrowed for the duration of the callback. */
struct cp_explanation {
    long long id;
    const char *cle;           /* the finding's key */
    const char *justification;
    const char *auteur;        /* "" when not given */
    const char *cree_le;       /* "YYYY-MM-DDTHH:MM:SS" */
    const char *caduque_le;    /* "" while it holds */
    const char *etat;          /* French: "en vigueur", "caduque", "remplacée",
                                  "constat disparu" */
    const char *message;       /* the finding's message, "" when it vanished */
};

/* One finding; strings are borrowed for the duration of the callback. */
struct cp_finding_row {
    long long id;
    const char *cle, *regle, *gravite, *signataire, *periode, *region, *indicateurs;
    const char *message, *fichier, *emplacement, *explication; /* "" when none */
};

/*
 * Records an explanation for the finding whose key (constat.cle) or id is
 * key, with the values it was given for, and refreshes the fingerprints.
 * justification must not be empty; author may be NULL. *id (may be NULL)
 * receives the explanation's id. Errors: "constat_inconnu"
 * (CP_EX_DATAERR), "justification_vide" (CP_EX_USAGE), database errors.
 */
int cp_explain_add(const char *db_path, const char *key, const char *justification,
                   const char *author, long long *id, struct cp_err *err);

/* Calls cb for each explanation, newest first; cb returning non-zero
 * stops the walk (returned as is). The database is opened read-only. */
int cp_explain_list(const char *db_path,
                    int (*cb)(void *ctx, const struct cp_explanation *e), void *ctx,
                    struct cp_err *err);

/* Calls cb for each finding (région, period, signatory, rule order),
 * optionally only one région and/or period (NULL: all). */
int cp_findings_list(const char *db_path, const char *region, const char *period,
                     int (*cb)(void *ctx, const struct cp_finding_row *f), void *ctx,
                     struct cp_err *err);

#endif
