/*
 * What the PDF writers and the charts show for one (zone, period), read
 * once from the database views into memory: the indicators in catalog
 * order, the rows of the tables (the région's signatories, or the régions
 * at national level), the cell values with targets and findings, the
 * aggregates of the period, of the previous period and over time, the
 * findings with their numbers, and the files used.
 */
#ifndef CALPAE_RENDER_MODEL_H
#define CALPAE_RENDER_MODEL_H

#include <stddef.h>

#include "common/err.h"
#include "render/render.h"

/* Signatory groups, the order aggregates are shown in. */
enum { CP_G_D, CP_G_M, CP_G_R, CP_NGROUPS };

enum cp_msev { CP_MSEV_NONE, CP_MSEV_INFO, CP_MSEV_AVERT, CP_MSEV_BLOQ };

struct cp_mind {
    char *code, *label, *axis;
    char *unit;       /* nb, pct, jours, eur */
    char *nature;     /* flux, stock, ratio, moyenne */
    char *sens;       /* hausse, baisse, neutre */
    char *den;        /* ratio: denominator code, else NULL */
    unsigned groups;  /* 1 << CP_G_x for each type the catalog names */
    int group;        /* principal group: the first of D, M, R it applies to */
    int main;         /* charted (see cp_model_load) */
};

struct cp_munit {
    char *code, *name;
    char type;        /* 'D', 'M', 'R'; 'Z' for a région row at national level */
    int sent;         /* has at least one value (or aggregate) for the period */
    int nbloq, navert, ninfo; /* findings of the period (national: of the région) */
};

struct cp_mcell {
    int present;      /* a value row (or an aggregate) exists */
    double value;     /* NAN when declared missing */
    double target;    /* NAN when none */
    char missing[4];  /* "NC", "SO" or "" */
    int excluded;     /* left out of the aggregates (bloquant finding) */
    int severity;     /* highest enum cp_msev of the findings on this cell */
    char refs[40];    /* numbers of those findings: "3, 7" */
    int covered, expected, partial; /* national rows: the région's coverage */
};

struct cp_magg {
    int present;
    double value, num, den, share; /* NAN when NULL */
    int covered, expected, partial, derived;
    double target;    /* sum of the contributors' targets (counts and levels,
                       * when every contributor has one), else NAN */
    int ntargets;     /* contributors with a target */
    int ncontrib;     /* contributors (table contribution) */
};

struct cp_mfinding {
    int no;           /* number shown in the cells and the annex, from 1 */
    enum cp_msev sev;
    char *rule, *severity, *sig, *sig_name, *indicators, *values, *message;
    char *file, *cell, *explanation; /* may be NULL */
};

struct cp_mfile {
    char *unit, *unit_name; /* the signatory (national: the région) */
    char *sig, *name, *received, *hash;
    int nvalues;
};

struct cp_model {
    int national;
    char *zone, *zone_name, *period;
    char prev[16];    /* previous period of the same kind, "" if none */
    char first[24], last[24]; /* period bounds "YYYY-MM-DD" */

    struct cp_mind *ind; size_t nind;    /* shown: with data for the period */
    struct cp_munit *unit; size_t nunit;
    struct cp_mcell *cell;               /* nunit x nind, row-major */
    struct cp_magg *agg;                 /* [nind][CP_NGROUPS] for the period */
    struct cp_magg *prevagg;             /* same for the previous period */
    char **periods; size_t nperiods;     /* same kind as period, ascending */
    struct cp_magg *series;              /* [nperiods][nind], principal group */
    struct cp_mfinding *find; size_t nfind;
    struct cp_mfile *file; size_t nfile;

    /* coverage of the period: signatories (national: every signatory of
     * France) that sent values, by group; and régions with data */
    int sent[CP_NGROUPS], expected[CP_NGROUPS];
    int regions_sent, regions_total;
};

/*
 * Loads everything for job's zone and period. The job's strings are
 * copied. Main (charted) indicators: every ratio and moyenne, every
 * indicator that is the denominator of a ratio (the population a rate is
 * about), and, in an axis without any of those, every indicator.
 * Returns 0, or -1 with err (bad period, database error, memory).
 */
int cp_model_load(struct cp_model *m, const struct cp_render_job *job, struct cp_err *err);
void cp_model_release(struct cp_model *m);

static inline struct cp_mcell *cp_model_cell(const struct cp_model *m, size_t u, size_t i)
{
    return &m->cell[u * m->nind + i];
}

/* Index of an indicator shown, or -1. */
int cp_model_ind(const struct cp_model *m, const char *code);
/* Group index of a type letter ('D' → CP_G_D), -1 otherwise. */
int cp_group_of(char type);
/* "départements", "métropoles", "régions" (signatory groups). */
const char *cp_group_name(int g);

/* The period as people say it: "1er semestre 2022", "2e semestre 2022",
 * "année 2022". */
void cp_period_label(const char *period, char *out, size_t n);
/* The value in the indicator's unit, French format: "1 234", "53,3 %",
 * "12 345 €", "60,3 j". NAN gives "". */
void cp_fmt_value(const struct cp_mind *d, double v, char *out, size_t n);
/* The change from prev to v: "+2,3 pts" for rates, "+5,2 %" otherwise;
 * "" when either is missing or prev is 0 for a relative change. */
void cp_fmt_change(const struct cp_mind *d, double v, double prev, char *out, size_t n);
/* The severity's French name with a capital: "Bloquant"... */
const char *cp_msev_label(enum cp_msev s);

#endif
