/*
 * Helpers shared by the end-to-end tests: temporary folders, the source
 * tree, reading the expected CSV files of ../shared/spec/samples-expected
 * (copied under tests/expected/), and running the pipeline in-process.
 */
#ifndef CALPAE_TEST_HELPERS_H
#define CALPAE_TEST_HELPERS_H

#include <sqlite3.h>
#include <stddef.h>

/* $CALPAE_SRCDIR, or "." */
const char *t_srcdir(void);
/* A fresh temporary folder (malloc'ed path); removed by t_rmtree. */
char *t_tmpdir(void);
void t_rmtree(const char *dir);
/* Path under the source tree (static buffer, valid until the next call). */
const char *t_src(const char *rel);

/* A parsed ';'-separated file with a header line: rows of fields. */
struct t_csv {
    char ***rows;   /* rows[i][j], without the header */
    size_t *nfields;
    size_t nrows;
    char **header;
    size_t nheader;
};
int t_csv_load(struct t_csv *c, const char *path);
void t_csv_free(struct t_csv *c);
/* Index of a header column, or -1. */
int t_csv_col(const struct t_csv *c, const char *name);

/* Ingests data/sample into db_path (quarantine under dir). Returns the
 * cp_ingest_run status. */
int t_ingest_sample(const char *db_path, const char *qdir);
/* Ingests one file or folder. */
int t_ingest(const char *db_path, const char *qdir, const char *path);

/* Writes n bytes to path (created or truncated), and text to dir/name; the
 * test fails when it cannot. */
void t_write(const char *path, const void *data, size_t n);
void t_write_in(const char *dir, const char *name, const char *text);
/* A whole file (NUL-terminated; *n its length when n is not NULL), or what a
 * shell command prints; the test fails when it cannot be read. */
char *t_slurp(const char *path, size_t *n);
char *t_slurp_cmd(const char *cmd);
/* Appends "path seconds.nanoseconds" for every file under dir (not hidden
 * ones), recursively: two runs that rewrote nothing give the same text. */
struct cp_buf;
void t_mtimes(const char *dir, struct cp_buf *out);
/* One part of a zip archive (a workbook's XML), NUL-terminated; the test
 * fails when the archive or the part is missing. */
char *t_zip_part(const char *path, const char *name);

/* One integer or text from a query (NULL / 0 when no row). */
long long t_sql_int(sqlite3 *db, const char *sql);
char *t_sql_text(sqlite3 *db, const char *sql);
/* Every table of a database, row by row in key order, as text (with its
 * user_version): two databases with the same contents give the same text.
 * malloc'ed. */
char *t_db_dump(const char *path);

#endif
