/*
 * Test helpers for the consolidate stage: a throw-away database holding the
 * tree's reference data, filled by SQL the way ingest fills it (fichier,
 * valeur, courant with the latest received file winning, rejet), then
 * consolidated in-process. Strings returned are static or owned as said.
 */
#ifndef CALPAE_TEST_CONSDB_H
#define CALPAE_TEST_CONSDB_H

#include <sqlite3.h>

#include "consolidate/consolidate.h"

struct consdb {
    char dir[128];
    char path[256];
    sqlite3 *db;                        /* the test's own connection */
    struct cp_consolidate_stats st;     /* of the last consdb_run */
};

/* New database in a new temporary folder, reference data synced. */
void consdb_open(struct consdb *c);
/* Closes, removes the folder, releases the stats. */
void consdb_close(struct consdb *c);

/* An accepted file received at received ("2021-07-01T10:00:00"); its id. */
long long consdb_file(struct consdb *c, const char *name, const char *received);
/* A value of that file: value is a number ("12.5"), "NC" or "SO"; target
 * may be NULL. It becomes the value in force unless a later file gave one. */
void consdb_value(struct consdb *c, long long file, const char *sig, const char *per,
                  const char *ind, const char *value, const char *target);
/* A 'doublon' rejection row of that file. */
void consdb_dup(struct consdb *c, long long file, const char *sig, const char *per,
                const char *ind, const char *where, const char *raw);

/* Consolidates with rules_text (NULL: the tree's data/regles.csv); the run
 * must succeed. Returns the number of rule problems. */
size_t consdb_run(struct consdb *c, const char *rules_text);

/* First column of the first row of a query (0, 0.0 or "" when no row).
 * consdb_text returns a static buffer. */
long long consdb_int(struct consdb *c, const char *sql);
double consdb_real(struct consdb *c, const char *sql);
const char *consdb_text(struct consdb *c, const char *sql);

/* 1 when a problem with this line and code was reported by the last run. */
int consdb_problem(const struct consdb *c, unsigned line, const char *code);

#endif
