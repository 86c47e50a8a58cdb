/*
 * The ingest stage: reads every submission found in the given files and
 * folders, in order of reception, and stores it (values with their origin,
 * rejections, duplicates), one transaction per file. Unreadable files are
 * copied to a quarantine folder with a report beside them.
 */
#ifndef CALPAE_INGEST_H
#define CALPAE_INGEST_H

#include <stdio.h>

#include "common/err.h"
#include "common/limits.h"

struct cp_ingest_opts {
    const char *db_path;        /* database file */
    const char *data_dir;       /* reference data (NULL: cp_ref_default_datadir) */
    const char *quarantine_dir; /* NULL: "quarantaine" beside the database */
    char *const *paths;         /* files and folders to read */
    int npaths;
    int quiet;                  /* only the summary line */
    FILE *out;                  /* where lines go (NULL: stdout) */
    const struct cp_limits *limits; /* NULL: cp_limits_default */
    /* Every file read by the main thread, streaming (tests compare it with
     * the read-ahead thread, see ingest.c). */
    int no_read_ahead;
    /* Called after each file, once its transaction is committed. outcome is
     * "accepte", "accepte_partiel", "rejete", "quarantaine" (rejected as
     * unreadable and copied to the quarantine; also a file already read
     * that the quarantine holds, when a crash kept it in the inbox),
     * "doublon" or "deja_lu"; index counts from 1 up to total. May be NULL. */
    void (*on_file)(void *ctx, const char *path, const char *outcome, size_t index,
                    size_t total);
    void *on_file_ctx;
};

struct cp_ingest_stats {
    unsigned files;          /* files looked at */
    unsigned accepted;       /* accepted without rejection */
    unsigned partial;        /* accepted with rejected rows or cells */
    unsigned rejected;       /* rejected as a whole */
    unsigned duplicates;     /* same bytes as a file already read, under another name */
    unsigned already;        /* already read (same name and bytes): nothing done */
    unsigned long values;    /* values stored */
    unsigned long rejects;   /* rejection rows */
};

/*
 * Runs the stage. Returns CP_EX_OK when every file was accepted whole,
 * CP_EX_DATAERR when some file, row or cell was rejected (the good data is
 * stored), or another enum cp_exit status with err set for an operational
 * failure (database, disk, usage, reference data).
 */
int cp_ingest_run(const struct cp_ingest_opts *o, struct cp_ingest_stats *stats,
                  struct cp_err *err);

#endif
