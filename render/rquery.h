/*
 * The tables of one (zone, period) job, read from the database views: the
 * key figures (Synthèse), one signatory × indicator table per catalog axis,
 * every value with its origin (Données) and every finding (Anomalies).
 * Built once and handed to the workbook (workbook.c) and CSV (csvout.c)
 * writers so that both show the same figures.
 */
#ifndef CALPAE_RQUERY_H
#define CALPAE_RQUERY_H

#include <stddef.h>

#include "common/err.h"
#include "common/period.h"
#include "render/render.h"
#include "render/rtable.h"

/* A job's period, parsed: bounds and the previous period of the same kind
 * (2022-S1 → 2021-S2, 2021-S2 → 2021-S1, 2022 → 2021). */
struct cp_rperiod {
    struct cp_period p;
    char text[CP_PERIOD_STRLEN];  /* canonical, "2022-S1" */
    char prev[CP_PERIOD_STRLEN];  /* "2021-S2" */
    char first[CP_DATE_STRLEN];   /* "2022-01-01" */
    char last[CP_DATE_STRLEN];    /* "2022-06-30" */
};

/* Parses a period as stored in the database. 0, or -1 with err
 * (CP_EX_USAGE) when it is not a period. */
int cp_rperiod_of(const char *text, struct cp_rperiod *out, struct cp_err *err);
/* "1er semestre 2022", "2e semestre 2022", "année 2022". out holds 32. */
void cp_rperiod_label(const struct cp_period *p, char *out, size_t n);

/* An indicator shown in an axis table. Strings owned by the axis. */
struct cp_raxis_ind {
    char *code, *label, *unit, *nature;
    size_t col;  /* its value column; target and achievement follow */
};

/* Row kinds of an axis table. */
enum cp_raxis_row {
    CP_RAXIS_UNIT,     /* a signatory (région) or a région aggregate (nation) */
    CP_RAXIS_AGG,      /* the zone's aggregate of one group */
    CP_RAXIS_COVERAGE  /* the coverage of the aggregate row above */
};

struct cp_raxis {
    struct cp_rtable t;
    char *axis;                /* the catalog axis, in full */
    struct cp_raxis_ind *ind;  /* in catalog order */
    size_t nind;
    unsigned char *rowkind;    /* enum cp_raxis_row, one per row of t */
    char *rowgroup;            /* signatory type of each row: 'D', 'M', 'R' */
};

struct cp_rtables {
    struct cp_rperiod per;
    struct cp_rtable synth;    /* Synthèse */
    struct cp_raxis *axes;     /* one per axis with an indicator for the period
                                * and a row for the zone */
    size_t naxes;
    struct cp_rtable data;     /* Données */
    struct cp_rtable findings; /* Anomalies */
};

/* Builds every table of the job. Returns 0, or -1 with err; release r in
 * both cases with cp_rtables_release. */
int cp_rtables_build(struct cp_rtables *r, const struct cp_render_job *j, struct cp_err *err);
void cp_rtables_release(struct cp_rtables *r);

/* The French name of a group (signatory type): "départements",
 * "métropoles", "régions". */
const char *cp_rgroup_name(char type);
/* The French name of a catalog unit: "nombre", "%", "jours", "€". */
const char *cp_runit_name(const char *unit);
/* "non communiqué" / "sans objet" for the NC / SO markers, else "". */
const char *cp_rmissing_name(const char *code);

/* A file-name-safe slug of a title: "Prévenir les sorties sèches de
 * l'ASE" → "prevenir-les-sorties-seches-de-l-ase". out holds n bytes. */
void cp_rslug(const char *s, char *out, size_t n);

/* Rounds to d decimals (removes binary noise from computed figures). */
double cp_rround(double v, int d);

/* "valeurs" of a finding ("120|130.5") shown the French way:
 * "120 | 130,5". Returns a malloc'ed string, or NULL (memory). */
char *cp_rvalues_text(const char *values);

#endif
