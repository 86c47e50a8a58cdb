/*
 * Output files written atomically: data goes to a temporary file in the
 * same folder, flushed and synced, then renamed over the final name, so no
 * partial output is ever visible under its final name. A crash leaves at
 * most a hidden temporary file beside it, which cp_afile_clean_stale
 * removes on the next run.
 */
#ifndef CALPAE_AFILE_H
#define CALPAE_AFILE_H

#include <stdio.h>

#include "common/err.h"

struct cp_afile {
    FILE *f;            /* write here */
    char *path;         /* final name, owned */
    char *tmp;          /* temporary name, owned */
};

/* Creates the folders of path if needed and opens a temporary file beside
 * it. Errors: CP_EX_CANTCREAT. */
int cp_afile_open(struct cp_afile *a, const char *path, struct cp_err *err);
/* Flushes, fsyncs, closes and renames into place. Checks every step (a
 * full disk fails here). Always releases a. */
int cp_afile_commit(struct cp_afile *a, struct cp_err *err);
/* Closes and removes the temporary file. Safe on a released or zeroed a. */
void cp_afile_abort(struct cp_afile *a);

/* A temporary path beside path ("dir/.name.tmp.PID.N"), for libraries that
 * write files themselves (libxlsxwriter, cairo); then cp_afile_rename. The
 * result is malloc'ed. Creates the folders of path. */
char *cp_afile_temp_path(const char *path, struct cp_err *err);
/* fsyncs tmp and renames it onto path; removes tmp on failure. */
int cp_afile_rename(const char *tmp, const char *path, struct cp_err *err);

/* Removes, in dir (not below), the temporary files of cp_afile_temp_path
 * whose process is gone: a crashed or killed run's leftovers. A temporary
 * of a running process is kept (it may be writing it), except one named
 * with this process's own id, which can only be a leftover of an earlier
 * process: call it when this process has no temporary in flight in dir.
 * Returns how many were removed; a missing dir is not an error. */
unsigned cp_afile_clean_stale(const char *dir);

/* mkdir -p. 0 or -1 with err (CP_EX_CANTCREAT). */
int cp_mkdirs(const char *dir, struct cp_err *err);

/* 1 when the file at path exists and has exactly these bytes (used to keep
 * an unchanged output untouched, with its modification time). */
int cp_file_same(const char *path, const void *data, size_t n);

#endif
