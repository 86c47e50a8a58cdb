/* Unit tests for common/db.c: the schema version, the generation of the
 * data and the SQL profile. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/db.h"

static char dir[] = "/tmp/calpae-db-XXXXXX";

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(db, .init = setup, .fini = teardown);

/* A new database is migrated to the last schema version, with the index
 * render's feedback queries look rejections up by. */
Test(db, new_database_has_the_latest_schema)
{
    char path[256];
    sqlite3 *db;
    sqlite3_stmt *st;
    struct cp_err err;

    snprintf(path, sizeof path, "%s/calpae.db", dir);
    cr_assert_eq(cp_db_open(&db, path, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_expect_eq(sqlite3_column_int(st, 0), CP_DB_SCHEMA_VERSION);
    sqlite3_finalize(st);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                    " AND name = 'rejet_sp'",
                                    -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_expect_eq(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    cr_assert_eq(cp_db_close(db, &err), 0);
}

/* CALPAE_SQL_PROFILE=1 prints each statement with its duration on stderr;
 * without it, nothing. */
Test(db, sql_profile_prints_statements_and_durations)
{
    char path[256], errpath[256], line[4096];
    sqlite3 *db;
    struct cp_err err;
    FILE *f;
    int found = 0;

    snprintf(path, sizeof path, "%s/calpae.db", dir);
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    cr_assert_not_null(freopen(errpath, "w", stderr));
    setenv("CALPAE_SQL_PROFILE", "1", 1);
    cr_assert_eq(cp_db_open(&db, path, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_db_exec(db, "SELECT count(*) FROM valeur WHERE periode = '2022-S1'", &err), 0);
    cr_assert_eq(cp_db_close(db, &err), 0);
    unsetenv("CALPAE_SQL_PROFILE");
    cr_assert_eq(cp_db_open(&db, path, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_db_exec(db, "SELECT 'not profiled'", &err), 0);
    cr_assert_eq(cp_db_close(db, &err), 0);
    fflush(stderr);

    f = fopen(errpath, "r");
    cr_assert_not_null(f);
    while (fgets(line, sizeof line, f)) {
        char *end;

        cr_assert(strncmp(line, "PROF\t", 5) == 0, "unexpected line: %s", line);
        strtoll(line + 5, &end, 10);
        cr_assert(end > line + 5 && *end == '\t', "no duration: %s", line);
        found += strcmp(end + 1, "SELECT count(*) FROM valeur WHERE periode = '2022-S1'\n") == 0;
        cr_assert(strstr(line, "not profiled") == NULL);
    }
    fclose(f);
    cr_expect_eq(found, 1);
}

/* ---- the generation of the data -------------------------------------------------------- */

static sqlite3 *open_db(int flags)
{
    char path[256];
    sqlite3 *db;
    struct cp_err err;

    snprintf(path, sizeof path, "%s/calpae.db", dir);
    cr_assert_eq(cp_db_open(&db, path, flags, &err), 0, "%s", err.msg);
    return db;
}

static long long int_of(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;

    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
}

static long long gen(sqlite3 *db)
{
    return int_of(db, "SELECT n FROM generation");
}

/* 1 when cp_db_generation vouches for the data. */
static int vouches(sqlite3 *db)
{
    long long g, s;

    return cp_db_generation(db, &g, &s);
}

static const char fixture[] =
    "INSERT INTO fichier(id, nom, chemin, empreinte, taille, recu_le, source_date, format,"
    " statut, ingere_le) VALUES(1, 'a.csv', 'a.csv', 'e', 1, '2022-07-01T00:00:00',"
    " 'mtime', 'csv', 'accepte', '2022-07-01T00:00:00');"
    "INSERT INTO valeur(id, fichier_id, signataire, periode, indicateur, valeur, emplacement)"
    " VALUES(1, 1, '31D', '2022-S1', 'ASE_MAJEURS', 10, 'L2');";

/* Every table but rendu (render's own) and generation itself has its three
 * triggers, so that a table added later cannot be forgotten silently. */
Test(db, every_table_has_its_generation_triggers)
{
    sqlite3 *db = open_db(0);
    struct cp_err err;

    cr_expect_eq(int_of(db, "SELECT count(*) FROM sqlite_master t WHERE t.type = 'table'"
                            " AND t.name NOT IN ('rendu', 'generation')"
                            " AND t.name NOT LIKE 'sqlite%'"
                            " AND (SELECT count(*) FROM sqlite_master g WHERE g.type = 'trigger'"
                            "  AND g.tbl_name = t.name AND g.name IN ('generation_' || t.name"
                            "  || '_i', 'generation_' || t.name || '_u', 'generation_' || t.name"
                            "  || '_d')) <> 3"),
                 0);
    cr_expect_eq(gen(db), 0);
    cr_expect_eq(vouches(db), 1);
    cr_assert_eq(cp_db_close(db, &err), 0);
}

/* Any insertion, update, deletion or replacement moves it, from any
 * connection with triggers on (the default); writing the fingerprint key
 * of consolidate does not. */
Test(db, any_write_moves_the_generation)
{
    sqlite3 *db = open_db(0);
    struct cp_err err;
    long long g;

    exec_ok(db, fixture);
    cr_expect_eq(gen(db), 2);
    exec_ok(db, "UPDATE valeur SET valeur = 11");
    cr_expect_eq(gen(db), 3);
    exec_ok(db, "UPDATE valeur SET valeur = valeur WHERE id = 2"); /* no row: nothing */
    cr_expect_eq(gen(db), 3);
    /* The insertion trigger runs; the deletion one too with recursive
     * triggers on. */
    exec_ok(db, "INSERT OR REPLACE INTO valeur(id, fichier_id, signataire, periode, indicateur,"
                " valeur, emplacement) VALUES(1, 1, '31D', '2022-S1', 'ASE_MAJEURS', 12, 'L2')");
    g = gen(db);
    cr_expect_gt(g, 3);
    exec_ok(db, "INSERT INTO courant VALUES('31D', '2022-S1', 'ASE_MAJEURS', 1, 'r');"
                "DELETE FROM courant");
    cr_expect_eq(gen(db), g + 2);
    exec_ok(db, "DELETE FROM fichier"); /* cascades to valeur */
    cr_expect_eq(gen(db), g + 4);
    g = gen(db);
    exec_ok(db, "INSERT INTO meta VALUES('" CP_DB_INPUTS_KEY "', 'x');"
                "UPDATE meta SET valeur = 'y' WHERE cle = '" CP_DB_INPUTS_KEY "'");
    cr_expect_eq(gen(db), g);
    exec_ok(db, "INSERT INTO meta VALUES('consolide_le', 'x')");
    cr_expect_eq(gen(db), g + 1);
    exec_ok(db, "DELETE FROM meta");
    cr_expect_eq(gen(db), g + 2);
    cr_expect_eq(vouches(db), 1);
    cr_assert_eq(cp_db_close(db, &err), 0);
}

/* A trigger dropped or altered, or the row deleted: it vouches for
 * nothing. */
Test(db, a_missing_trigger_or_row_voids_the_generation)
{
    sqlite3 *db = open_db(0);
    struct cp_err err;

    exec_ok(db, "DROP TRIGGER generation_courant_u");
    cr_expect_eq(vouches(db), 0);
    exec_ok(db, "CREATE TRIGGER generation_courant_u AFTER UPDATE ON courant"
                " BEGIN SELECT 1; END");
    cr_expect_eq(vouches(db), 0);
    exec_ok(db, "DROP TRIGGER generation_courant_u;"
                "CREATE TRIGGER generation_courant_u AFTER UPDATE ON courant"
                " BEGIN UPDATE generation SET n = n + 1; END");
    cr_expect_eq(vouches(db), 1);
    exec_ok(db, "DELETE FROM generation");
    cr_expect_eq(vouches(db), 0);
    cr_assert_eq(cp_db_close(db, &err), 0);
}

/* A bulk connection runs no trigger: cp_db_begin moves the generation,
 * once for a run of transactions nobody else interleaved with, again after
 * another writer, after a rollback and after the value was read on it;
 * a write outside cp_db_begin is refused. */
Test(db, bulk_connections_move_the_generation_themselves)
{
    sqlite3 *other = open_db(0), *db = open_db(CP_DB_BULK);
    struct cp_err err;

    cr_assert_eq(cp_db_begin(db, &err), 0, "%s", err.msg);
    exec_ok(db, fixture);
    cr_assert_eq(cp_db_commit(db, &err), 0, "%s", err.msg);
    cr_expect_eq(gen(other), 1, "moved once, by cp_db_begin, not per row");
    cr_assert_eq(cp_db_begin(db, &err), 0, "%s", err.msg);
    exec_ok(db, "UPDATE valeur SET valeur = 20");
    cr_assert_eq(cp_db_commit(db, &err), 0, "%s", err.msg);
    cr_expect_eq(gen(other), 1, "nobody else wrote: still covered");

    exec_ok(other, "UPDATE valeur SET valeur = 21");
    cr_expect_eq(gen(other), 2);
    cr_assert_eq(cp_db_begin(db, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_db_commit(db, &err), 0, "%s", err.msg);
    cr_expect_eq(gen(other), 3, "another writer came in between");

    cr_assert_eq(cp_db_begin(db, &err), 0, "%s", err.msg);
    cp_db_rollback(db);
    exec_ok(other, "UPDATE valeur SET valeur = 22");
    cr_expect_eq(gen(other), 4);
    cr_assert_eq(cp_db_begin(db, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_db_commit(db, &err), 0, "%s", err.msg);
    cr_expect_eq(gen(other), 5, "a rolled back move did not happen");

    cr_expect_eq(vouches(db), 1);
    cr_assert_eq(cp_db_begin(db, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_db_commit(db, &err), 0, "%s", err.msg);
    cr_expect_eq(gen(other), 6, "read on it for a fingerprint: moved again");

    cr_expect_neq(sqlite3_exec(db, "UPDATE valeur SET valeur = 23", NULL, NULL, NULL),
                  SQLITE_OK);
    cr_expect_eq(sqlite3_extended_errcode(db), SQLITE_CONSTRAINT_COMMITHOOK);
    cr_expect_eq(int_of(other, "SELECT valeur FROM valeur"), 22, "the write was undone");
    exec_ok(db, "CREATE TEMP TABLE t(x); INSERT INTO t VALUES(1)"); /* not the database */
    cr_assert_eq(cp_db_close(db, &err), 0);
    cr_assert_eq(cp_db_close(other, &err), 0);
}
