/* Unit tests for common/db.c: the schema version and the SQL profile. */
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
    cr_expect_eq(sqlite3_column_int(st, 0), 2);
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
