/*
 * Writing one submission into the database: its fichier row, its values
 * with their origin, its rejections, all in one transaction. Within a file,
 * the same (signatory, period, indicator) given twice with different values
 * is a conflict (DOUBLON): both are rejected and neither is kept. At commit
 * the file's values take over the ones in force when it was received later.
 */
#ifndef CALPAE_STORE_H
#define CALPAE_STORE_H

#include <sqlite3.h>

#include "common/err.h"
#include "ingest/table.h"

struct cp_ref;
struct cp_store; /* opaque; one per run, reused for every file */

struct cp_file_meta {
    const char *name;      /* base name */
    const char *path;
    const char *sha256;
    unsigned long long size;
    const char *received;  /* "YYYY-MM-DDTHH:MM:SS" */
    const char *date_source; /* "reception.csv" or "mtime" */
    const char *format;    /* csv, xlsx, ods, rollup, inconnu */
    const char *level;     /* "signataire" or "region" */
};

struct cp_file_result {
    const char *status;      /* accepte, accepte_partiel, rejete */
    unsigned long values;    /* values kept */
    unsigned long rejects;   /* rejection rows */
};

/* Prepares the statements. The store borrows db and ref. */
int cp_store_new(struct cp_store **out, sqlite3 *db, const struct cp_ref *ref,
                 struct cp_err *err);
void cp_store_free(struct cp_store *s);

/* BEGIN IMMEDIATE and the fichier row. */
int cp_store_begin(struct cp_store *s, const struct cp_file_meta *m, struct cp_err *err);

/* Callbacks for cp_table (ctx = the store). */
struct cp_table_out cp_store_table_out(struct cp_store *s);

/* Details recorded on the fichier row. Any argument may be NULL. */
int cp_store_describe(struct cp_store *s, const char *encoding, char separator,
                      const char *shape, const char *sheet, struct cp_err *err);

/* Records a whole-file rejection (the reader or the interpreter failed):
 * drops what the file gave so far, keeps one rejet row with the reason. */
int cp_store_reject_file(struct cp_store *s, const struct cp_err *why, struct cp_err *err);

/* Resolves conflicts, updates the values in force, sets the status and
 * commits. res may be NULL. */
int cp_store_commit(struct cp_store *s, struct cp_file_result *res, struct cp_err *err);

/* The fichier row of the file begun, for writers of other tables (the
 * roll-up tables, ingest/rollup.h). */
long long cp_store_file_id(const struct cp_store *s);
/* Counts n values stored by such a writer, so that commit accepts the file. */
void cp_store_add_values(struct cp_store *s, unsigned long n);

/* Rolls the file back (interrupted or failed run): as if never read. */
void cp_store_abort(struct cp_store *s);

/* The last database error met inside a callback, if any. */
const struct cp_err *cp_store_error(const struct cp_store *s);

/*
 * A file with the same bytes was already read. Returns 1 and fills
 * *known_name (malloc'ed) when the same name and bytes were already
 * recorded (nothing to do), 2 when the bytes were seen under another name
 * and a 'doublon' row was written now, 0 when the bytes are new, -1 on
 * error.
 */
int cp_store_known(struct cp_store *s, const struct cp_file_meta *m, char **known_name,
                   struct cp_err *err);

#endif
