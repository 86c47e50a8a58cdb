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
#define CP_DB_SCHEMA_VERSION 1

enum {
    CP_DB_READONLY = 1, /* open read-only (no schema creation) */
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

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback never fails loudly). */
int cp_db_begin(sqlite3 *db, struct cp_err *err);
int cp_db_commit(sqlite3 *db, struct cp_err *err);
void cp_db_rollback(sqlite3 *db);

/* Copies the reference data (catalog, signatories, régions, départements)
 * into the ref_* tables when its version differs from what is stored. */
int cp_db_sync_ref(sqlite3 *db, const struct cp_ref *ref, struct cp_err *err);

/* Reads/writes a key of the meta table; get returns a malloc'ed string or
 * NULL when absent. */
char *cp_db_meta_get(sqlite3 *db, const char *key);
int cp_db_meta_set(sqlite3 *db, const char *key, const char *value, struct cp_err *err);

/* Current local time as "YYYY-MM-DDTHH:MM:SS" (out: 20 bytes). Honours
 * $CALPAE_NOW (same format) so that tests and re-runs are reproducible. */
void cp_db_now(char *out);

#endif
