/*
 * The nightly job: one locked, unattended run of the whole pipeline on an
 * inbox (ingest, consolidate, render, in-process), moving each processed
 * file into a dated archive folder once its transaction is committed.
 */
#ifndef CALPAE_NIGHTLY_H
#define CALPAE_NIGHTLY_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "ingest/ingest.h"

struct cp_nightly_opts {
    const char *db_path;        /* database file (required) */
    const char *inbox;          /* NULL: $CALPAE_INBOX, else "inbox" */
    const char *out_dir;        /* NULL: "reports" */
    const char *archive_dir;    /* NULL: "archive" beside the database */
    const char *quarantine_dir; /* NULL: "quarantaine" beside the database */
    const char *data_dir;       /* NULL: cp_ref_default_datadir */
    FILE *log;                  /* details of every stage (NULL: discarded) */
    FILE *progress;             /* progress bars, drawn only on a terminal (NULL: none) */
};

struct cp_nightly_stats {
    struct cp_ingest_stats ingest;
    unsigned archived;          /* files moved to the archive */
    unsigned removed;           /* quarantined files removed from the inbox */
    int consolidated;           /* 1 when consolidate ran, 0 when its inputs were unchanged */
    unsigned long findings;     /* findings after consolidation (when it ran) */
    unsigned long rule_problems;/* rule lines consolidate could not use */
    size_t rendered, unchanged; /* zones rendered / left untouched */
    char archive_day[4096];      /* the archive folder of this run */
};

/*
 * Runs the job. Takes an exclusive flock on "<db>.lock" first and returns
 * CP_EX_TEMPFAIL at once when another run holds it. Rejected rows or files
 * are not failures: they are counted in stats. Returns CP_EX_OK, or
 * another enum cp_exit status with err set.
 *
 * Consolidate is skipped when its inputs have not changed since the last
 * consolidation, nightly or not: cp_consolidate_run_if_changed compares
 * the fingerprint of everything the stage reads (cp_consolidate_inputs)
 * with the one the last run stored in meta.
 */
int cp_nightly_run(const struct cp_nightly_opts *o, struct cp_nightly_stats *stats,
                   struct cp_err *err);

/* The folder beside path's ("dir/name" -> "dir/<leaf>", "name" -> "<leaf>"),
 * into out. */
void cp_nightly_beside(const char *path, const char *leaf, char *out, size_t n);

#endif
