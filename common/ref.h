/*
 * Reference data loaded from data/: the indicator catalog, the signatories
 * with their validity dates, régions, départements, aliases people use for
 * signatories, and the territories where the State took the RSA back.
 * Everything is owned by struct cp_ref and freed by cp_ref_release.
 * Files are UTF-8, ';'-separated, with a header line naming the columns
 * (any order; lines starting with '#' before it are comments):
 *   alias.csv             alias;signataire
 *   recentralisation.csv  signataire;axe;depuis (axe as in the catalog)
 */
#ifndef CALPAE_REF_H
#define CALPAE_REF_H

#include <stddef.h>

#include "common/err.h"
#include "common/period.h"

enum cp_unit { CP_UNIT_NB, CP_UNIT_PCT, CP_UNIT_JOURS, CP_UNIT_EUR };
enum cp_nature { CP_NAT_FLUX, CP_NAT_STOCK, CP_NAT_RATIO, CP_NAT_MOYENNE };
enum cp_sens { CP_SENS_NEUTRE, CP_SENS_HAUSSE, CP_SENS_BAISSE };

#define CP_TYPE_D 1u
#define CP_TYPE_M 2u
#define CP_TYPE_R 4u

struct cp_indicator {
    char *code;        /* "RSA_TX_ORIENT_1M" */
    char *label;       /* libellé */
    char *axis;        /* axe */
    enum cp_unit unit;
    enum cp_nature nature;
    int num, den;      /* ratio: indexes of numerator and denominator, else -1 */
    int weight;        /* moyenne: index of the weight indicator, else -1 */
    int has_min, has_max;
    double min, max;
    enum cp_sens sens;
    int year_from, year_to;
    int yearly_only;   /* periodicite "annee": only whole years */
    unsigned types;    /* CP_TYPE_* mask of the signatory types it applies to */
    int mandatory;     /* obligatoire */
    char *fold_code;   /* cp_text_fold of the code: "rsatxorient1m" */
    char *fold_label;  /* cp_text_fold of the label */
};

struct cp_signatory {
    char *code;        /* "31D", "6AE", "M31", "R76" */
    char *name;
    char type;         /* 'D', 'M' or 'R' */
    char *departements;/* "67,68" ("" for a région) */
    char *region;      /* INSEE code of its région, "76" */
    char *start;       /* "YYYY-MM-DD" or NULL: in force from */
    char *end;         /* "YYYY-MM-DD" or NULL: in force until */
};

struct cp_region { char *code, *name; };
struct cp_departement { char *code, *name, *region; };
struct cp_alias { char *text; int sig; };            /* data/alias.csv */
struct cp_recentral { int sig; char *axis; int year_from; }; /* data/recentralisation.csv */

struct cp_sig_index; /* common/sig.h */

struct cp_ref {
    struct cp_indicator *ind; size_t nind;
    struct cp_signatory *sig; size_t nsig;
    struct cp_region *reg; size_t nreg;
    struct cp_departement *dep; size_t ndep;
    struct cp_alias *alias; size_t nalias;
    struct cp_recentral *recentral; size_t nrecentral;
    char datadir[512];
    char catalog_version[65]; /* SHA-256 (hex) of catalog.csv */
    struct cp_sig_index *sigix; /* built by cp_ref_load */
};

/* The data folder to use: $CALPAE_DATA, else ./data when it holds
 * catalog.csv, else the installed CALPAE_DATADIR. Static storage. */
const char *cp_ref_default_datadir(void);

/* Loads every reference file of datadir. On failure returns -1 with err
 * naming the file, line and problem (code "ref_missing" or "ref_invalid",
 * where "catalog.csv:9", exit status CP_EX_CONFIG), and ref left empty. */
int cp_ref_load(struct cp_ref *ref, const char *datadir, struct cp_err *err);
void cp_ref_release(struct cp_ref *ref);

/* Index of the indicator with exactly this code, or -1. */
int cp_ref_indicator(const struct cp_ref *ref, const char *code);
/* Index of the indicator whose code or label matches text once folded
 * (cp_text_fold), or -1. */
int cp_ref_indicator_match(const struct cp_ref *ref, const char *text, size_t len);
/* Index of the signatory with exactly this code, or -1. */
int cp_ref_signatory(const struct cp_ref *ref, const char *code);
/* Index of the région with this code, or -1. */
int cp_ref_region(const struct cp_ref *ref, const char *code);

/* 1 when the signatory exists during (part of) the period. */
int cp_ref_in_force(const struct cp_signatory *s, const struct cp_period *p);
/* For a signatory not in force during p, the one that took over its
 * territory then (67D in 2021 → 6AE): the only type-D signatory in force
 * during p covering one of its départements. -1 when sig is in force, or
 * when none or several qualify (6AE in 2020: 67D and 68D). */
int cp_ref_successor(const struct cp_ref *ref, int sig, const struct cp_period *p);
/* 1 when the indicator may be reported for this period at all (catalog
 * years and periodicity). */
int cp_ref_period_allowed(const struct cp_indicator *ind, const struct cp_period *p);
/* 1 when the indicator applies to this signatory's type. */
int cp_ref_type_allowed(const struct cp_indicator *ind, const struct cp_signatory *s);
/* 1 when the State took this indicator's axis back from the signatory for
 * that period (RSA in 973R, 976D from 2019, 974D from 2020). */
int cp_ref_recentralised(const struct cp_ref *ref, int sig, int ind, const struct cp_period *p);
/* 1 when the signatory is expected to report the indicator for the period:
 * in force, type and period allowed, not recentralised. */
int cp_ref_expected(const struct cp_ref *ref, int sig, int ind, const struct cp_period *p);

/* Unit and nature names as in the catalog ("nb", "flux"...). */
const char *cp_unit_name(enum cp_unit u);
const char *cp_nature_name(enum cp_nature n);

#endif
