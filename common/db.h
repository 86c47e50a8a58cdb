/*
 * The SQLite database shared by the three stages: opening it (WAL, foreign
 * keys, busy timeout), creating and migrating the schema, copying the
 * reference data in, and small helpers that turn SQLite errors into
 * struct cp_err. The schema and its views are documented in README.md.
 */
#ifndef CALPAE_DB_H
#define CALPAE_DB_H

#include <sqlite3.h>

#include "common/err.h"

struct cp_ref;

/* Current schema version (PRAGMA user_version). */
#define CP_DB_SCHEMA_VERSION 3

/* The one meta key whose writes leave the generation as it is: where
 * calpae-consolidate records the fingerprint of its inputs, itself
 * computed from the generation (consolidate/inputs.c). */
#define CP_DB_INPUTS_KEY "empreinte_entrees_consolidation"

enum {
    CP_DB_READONLY = 1, /* open read-only (no schema creation) */
    /*
     * A connection that writes many rows (ingest, consolidation): the
     * generation triggers are off on it, so that its rows do not each run
     * one; instead every transaction begun with cp_db_begin moves the
     * generation once, and a write to the database in any other
     * transaction is refused (rolled back with SQLITE_CONSTRAINT_COMMITHOOK).
     */
    CP_DB_BULK = 2,
};

/* The database path to use when --db is not given: $CALPAE_DB, else
 * "calpae.db" in the current folder. */
const char *cp_db_default_path(void);

/*
 * Opens (creating when needed) the database, sets WAL, foreign keys,
 * synchronous=NORMAL and a busy timeout, then creates or migrates the
 * schema. A database written by a newer calpae (higher user_version) is
 * refused. Caller closes with cp_db_close.
 */
int cp_db_open(sqlite3 **out, const char *path, int flags, struct cp_err *err);
/* Finalizes nothing: every statement must have been finalized. */
int cp_db_close(sqlite3 *db, struct cp_err *err);

/* Runs one or more SQL statements without results. */
int cp_db_exec(sqlite3 *db, const char *sql, struct cp_err *err);
/* Prepares one statement; on failure fills err with SQLite's message. */
int cp_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct cp_err *err);
/* Fills err from the connection's last error; returns -1. */
int cp_db_fail(sqlite3 *db, struct cp_err *err, const char *what);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback never fails loudly). On a
 * CP_DB_BULK connection, cp_db_begin also moves the generation. */
int cp_db_begin(sqlite3 *db, struct cp_err *err);
int cp_db_commit(sqlite3 *db, struct cp_err *err);
void cp_db_rollback(sqlite3 *db);

/* Copies the reference data (catalog, signatories, régions, départements)
 * into the ref_* tables when its version differs from what is stored. */
int cp_db_sync_ref(sqlite3 *db, const struct cp_ref *ref, struct cp_err *err);

/*
 * The generation of the data: a number that every insertion, update or
 * deletion in a table calpae-consolidate reads moves (triggers created
 * with the schema, version 3; CP_DB_BULK connections move it themselves),
 * with the schema version (PRAGMA schema_version). Returns 1 with both
 * when the generation row and every one of those triggers are there as
 * the schema created them; 0 when not (a trigger dropped or altered, the
 * row deleted): the generation then proves nothing.
 */
int cp_db_generation(sqlite3 *db, long long *generation, long long *schema);

/* Reads/writes a key of the meta table; get returns a malloc'ed string or
 * NULL when absent. */
char *cp_db_meta_get(sqlite3 *db, const char *key);
int cp_db_meta_set(sqlite3 *db, const char *key, const char *value, struct cp_err *err);

/* Current local time as "YYYY-MM-DDTHH:MM:SS" (out: 20 bytes). Honours
 * $CALPAE_NOW (same format) so that tests and re-runs are reproducible. */
void cp_db_now(char *out);

#endif
