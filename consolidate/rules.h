/*
 * The coherence rules as data: data/regles.csv, one rule per line, read
 * and checked here. A relation between indicators is an expression over
 * catalog codes, translated into a guarded SQL boolean evaluated by
 * SQLite; the other checks are built-in kinds with parameters. A bad line
 * becomes a problem (line, stable code, French sentence) and is skipped;
 * the other lines still count.
 */
#ifndef CALPAE_RULES_H
#define CALPAE_RULES_H

#include <stddef.h>

#include "common/err.h"

enum cp_severity { CP_SEV_BLOQUANT, CP_SEV_AVERTISSEMENT, CP_SEV_INFO, CP_SEV_COUNT };

enum cp_rule_kind {
    CP_RULE_RELATION,   /* an expression over indicator codes */
    CP_RULE_BORNES,     /* catalog min/max, whole counts */
    CP_RULE_RATIO,      /* reported rate against numerator / denominator */
    CP_RULE_ANNUEL,     /* year = S1 + S2 for flux */
    CP_RULE_COMPLETUDE, /* compulsory indicators present */
    CP_RULE_DOUBLON,    /* two values for one key in one file */
    CP_RULE_EVOLUTION,  /* change from one year earlier */
    CP_RULE_ATYPIQUE,   /* robust z-score among peers */
    CP_RULE_CIBLE,      /* achievement against target */
    CP_RULE_HORS_DELAI, /* received after the deadline */
    CP_RULE_KIND_COUNT
};

/* Natures of the catalog, as a mask (ATYPIQUE natures=). */
#define CP_NATMASK_FLUX 1u
#define CP_NATMASK_STOCK 2u
#define CP_NATMASK_RATIO 4u
#define CP_NATMASK_MOYENNE 8u

#define CP_RULE_ID_MAX 48
#define CP_RULES_MAX_PROBLEMS 1000

/* A line of the rules file that could not be used (or the file itself,
 * line 0). code is stable: regle_colonnes, regle_id_invalide,
 * regle_gravite_inconnue, regle_controle_inconnu, regle_expression_vide,
 * regle_expression_interdite, regle_expression_invalide,
 * regle_lecture_interdite, regle_sans_indicateur, regle_tolerance_invalide,
 * regle_parametre_inconnu, regle_parametre_invalide, regle_message_invalide,
 * regle_actif_invalide, regles_entete, regles_encodage. */
struct cp_rule_problem {
    unsigned line;
    char code[CP_ERR_CODE_MAX];
    char msg[CP_ERR_MSG_MAX];
};

struct cp_rule {
    unsigned line;                 /* line in the file (header = 1) */
    char id[CP_RULE_ID_MAX];       /* "PARTIE_TOUT"; several lines may share it */
    enum cp_severity severity;
    enum cp_rule_kind kind;
    char *expression;              /* as written (relation) or the parameters */
    char *message;                 /* template; never NULL (default per kind) */

    /* Tolerance: |gap| <= abs + rel * |reference|. */
    int has_tol;
    double tol_abs, tol_rel;

    /* Relation, translated (owned): cond_sql is the SI part or NULL; when
     * the consequence is one comparison, lhs_sql/op/rhs_sql hold it; test_sql
     * is the whole guarded boolean (true or NULL = no finding). */
    char *cond_sql, *lhs_sql, *rhs_sql, *test_sql;
    char op[3];
    char **codes;                  /* catalog codes involved, in order of appearance */
    size_t ncodes;

    /* Built-in parameters (defaults filled by the parser). */
    double seuil;                  /* EVOLUTION: fraction (0.5); ATYPIQUE: z (3.5) */
    double plancher[4];            /* EVOLUTION: absolute floor per unit (nb, pct, jours, eur) */
    double bas, haut;              /* CIBLE: fractions of the target (0.8, 1.2) */
    int pairs_min;                 /* ATYPIQUE: peers needed in a région (5) */
    unsigned natures;              /* ATYPIQUE: CP_NATMASK_* (ratio) */
    int nc_present;                /* COMPLETUDE: 1 when NC counts as present */
    char **only;                   /* indicateurs= filter, NULL = all */
    size_t nonly;
};

/* Everything read from one rules file; owned, freed by cp_rules_release. */
struct cp_rules {
    struct cp_rule *v;
    size_t n;
    struct cp_rule_problem *prob;
    size_t nprob;
    size_t nprob_dropped;          /* problems past CP_RULES_MAX_PROBLEMS */
    char name[256];                /* file name used in messages */
};

/* The catalog the rules are checked against (borrowed). */
struct cp_rule_catalog {
    const char *const *codes;
    size_t ncodes;
};

/*
 * Parses a rules file held in memory (UTF-8, or Windows-1252 as Excel
 * saves it, which is converted). Header line required: columns id,
 * gravite, controle, expression, and optionally tolerance, message, actif
 * (any order). Bad lines are recorded in rs->prob and skipped. Returns -1
 * only when nothing at all can be read (no header, memory), with err set
 * (CP_EX_CONFIG).
 */
int cp_rules_parse(struct cp_rules *rs, const char *name, const char *text, size_t len,
                   const struct cp_rule_catalog *cat, struct cp_err *err);
/* Reads the file at path, then cp_rules_parse. A missing file is an error
 * (CP_EX_CONFIG). */
int cp_rules_load(struct cp_rules *rs, const char *path, const struct cp_rule_catalog *cat,
                  struct cp_err *err);
void cp_rules_release(struct cp_rules *rs);

/* Records a problem for a line (also used by the evaluator, which finds
 * some problems only when SQLite prepares the rule). The rule at that
 * line, if any, should then be skipped by the caller. */
void cp_rules_problem(struct cp_rules *rs, unsigned line, const char *code, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

/* 1 when the rule applies to that indicator (indicateurs= filter). */
int cp_rule_applies(const struct cp_rule *r, const char *code);

const char *cp_severity_name(enum cp_severity s);
const char *cp_rule_kind_name(enum cp_rule_kind k);

/*
 * Expands a message template: {name} is replaced by lookup(ctx, name)
 * (NULL: left as "{name}"), "{{" and "}}" are literal braces. Appends to
 * out (struct cp_buf). Returns 0 or -1 when out is full.
 */
struct cp_buf;
int cp_rule_format(const char *tpl, const char *(*lookup)(void *ctx, const char *name),
                   void *ctx, struct cp_buf *out);

#endif
