/*
 * The consolidate stage: applies the coherence rules of regles.csv to the
 * values in force, records the findings (constat, constat_valeur), leaves
 * out the values under a bloquant finding (exclusion), rolls figures up by
 * région and nation with their coverage (agregat, contribution), and
 * records a fingerprint per région and period for the render stage. One
 * transaction; unchanged rows are left alone, so a re-run with no new data
 * changes nothing.
 */
#ifndef CALPAE_CONSOLIDATE_H
#define CALPAE_CONSOLIDATE_H

#include <sqlite3.h>
#include <stddef.h>

#include "common/db.h"
#include "common/err.h"
#include "common/hash.h"
#include "consolidate/rules.h"

struct cp_consolidate_opts {
    const char *db_path;    /* database file (required) */
    const char *data_dir;   /* reference data copied in first (cp_db_sync_ref);
                               NULL: use the ref_* tables already in the database */
    const char *rules_path; /* NULL: <data_dir>/regles.csv */
    const char *rules_text; /* the rules themselves, overriding rules_path (tests) */
};

/* Findings of one région (code "" for signatories without one). */
struct cp_region_count {
    char code[8];
    char name[64];
    unsigned long n[CP_SEV_COUNT];
};

struct cp_consolidate_stats {
    int skipped;                       /* 1: inputs unchanged, nothing done (the
                                          other counts are 0) */
    unsigned rules;                    /* rule lines evaluated */
    struct cp_rule_problem *problems;  /* rule lines skipped (owned) */
    size_t nproblems;
    size_t problems_dropped;           /* problems past the cap, not kept */
    unsigned long findings;            /* findings now recorded */
    unsigned long by_severity[CP_SEV_COUNT];
    unsigned long added, changed, removed; /* findings compared with the last run */
    unsigned long excluded;            /* values left out of the aggregates */
    unsigned long aggregates;          /* agregat rows now recorded */
    unsigned long agg_added, agg_changed, agg_removed;
    unsigned long explanations_lapsed; /* explanations dropped by a changed value */
    unsigned long states_changed;      /* etat:* fingerprints written or removed */
    struct cp_region_count *regions;   /* owned; by région code */
    size_t nregions;
};

/* Where a run records the fingerprint of its inputs (table meta); writing
 * it does not move the generation (common/db.h). */
#define CP_CONSOLIDATE_INPUTS_KEY CP_DB_INPUTS_KEY

/*
 * The fingerprint of everything a regular run with options o reads, in db
 * as it is now: the software version, the reference files and the rules
 * file o names (or o->rules_text), and the tables the run reads or
 * rewrites (reference tables, fichier, valeur, courant, rejet,
 * explanations, roll-ups, findings, exclusions, aggregates, contributions,
 * meta but for CP_CONSOLIDATE_INPUTS_KEY): through the generation of the
 * data when cp_db_generation vouches for it, else every row of them. Each
 * successful regular run stores it at the end of its transaction; equal
 * later means that a run would change nothing. 0, or -1 with err set.
 * (consolidate/inputs.c)
 */
int cp_consolidate_inputs(sqlite3 *db, const struct cp_consolidate_opts *o,
                          char out[CP_SHA256_HEX], struct cp_err *err);

/*
 * Runs the stage. Returns 0 when the run was committed (rule lines that
 * could not be used are listed in stats->problems; the other rules ran),
 * or -1 with err set (exit status in err->exit_status: CP_EX_CONFIG for
 * unusable reference data or rules file, CP_EX_IOERR / CP_EX_TEMPFAIL for
 * the database). stats may be NULL; otherwise the caller releases it with
 * cp_consolidate_stats_release.
 */
int cp_consolidate_run(const struct cp_consolidate_opts *o, struct cp_consolidate_stats *stats,
                       struct cp_err *err);

/*
 * The same, but does nothing (stats->skipped = 1, return 0) when the
 * fingerprint of the inputs (cp_consolidate_inputs) equals the one the
 * last successful run stored: the run would change nothing. What
 * calpae-consolidate (without --force) and calpae-nightly call.
 */
int cp_consolidate_run_if_changed(const struct cp_consolidate_opts *o,
                                  struct cp_consolidate_stats *stats, struct cp_err *err);
void cp_consolidate_stats_release(struct cp_consolidate_stats *stats);

/*
 * The national tier: replaces the national aggregates and contributions
 * (niveau 'national', zone 'FR') by those recomputed from the regional
 * roll-ups in force (view rollups_courants), in one transaction; a
 * région without a roll-up is simply not covered (regions_couvertes <
 * regions_attendues, partiel). *rows (may be NULL) receives the number of
 * national aggregates. 0, or -1 with err set (database).
 * (consolidate/national.c)
 */
int cp_consolidate_national(const char *db_path, unsigned long *rows, struct cp_err *err);

#endif
