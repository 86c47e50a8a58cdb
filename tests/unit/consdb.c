/* Test helpers for the consolidate stage (see consdb.h). */
#include "tests/unit/consdb.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/db.h"
#include "common/ref.h"
#include "tests/unit/refdata.h"

void consdb_open(struct consdb *c)
{
    struct cp_ref ref;
    struct cp_err err;

    memset(c, 0, sizeof *c);
    cp_err_clear(&err);
    snprintf(c->dir, sizeof c->dir, "/tmp/calpae-consXXXXXX");
    cr_assert_not_null(mkdtemp(c->dir));
    snprintf(c->path, sizeof c->path, "%s/calpae.db", c->dir);
    cr_assert_eq(cp_db_open(&c->db, c->path, 0, &err), 0, "%s", err.msg);
    refdata_load(&ref);
    cr_assert_eq(cp_db_sync_ref(c->db, &ref, &err), 0, "%s", err.msg);
    cp_ref_release(&ref);
}

void consdb_close(struct consdb *c)
{
    char p[300];
    struct cp_err err;

    cr_assert_eq(cp_db_close(c->db, &err), 0, "%s", err.msg);
    c->db = NULL;
    cp_consolidate_stats_release(&c->st);
    for (const char *const *s = (const char *const[]){"", "-wal", "-shm", NULL}; *s; s++) {
        snprintf(p, sizeof p, "%s%s", c->path, *s);
        unlink(p);
    }
    rmdir(c->dir);
}

long long consdb_file(struct consdb *c, const char *name, const char *received)
{
    sqlite3_stmt *st;

    cr_assert_eq(sqlite3_prepare_v2(c->db,
                                    "INSERT INTO fichier(nom, chemin, empreinte, taille, recu_le,"
                                    " source_date, format, statut, ingere_le)"
                                    " VALUES(?1, ?1, ?1, 0, ?2, 'reception.csv', 'csv',"
                                    " 'accepte', ?2)",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, received, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    return sqlite3_last_insert_rowid(c->db);
}

void consdb_value(struct consdb *c, long long file, const char *sig, const char *per,
                  const char *ind, const char *value, const char *target)
{
    sqlite3_stmt *st;
    long long id;
    static int cell;
    char where[32];

    snprintf(where, sizeof where, "L%dC4", ++cell);
    cr_assert_eq(sqlite3_prepare_v2(c->db,
                                    "INSERT INTO valeur(fichier_id, signataire, periode,"
                                    " indicateur, valeur, manquant, cible, brut, emplacement)"
                                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_int64(st, 1, file);
    sqlite3_bind_text(st, 2, sig, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, per, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ind, -1, SQLITE_STATIC);
    if (strcmp(value, "NC") == 0 || strcmp(value, "SO") == 0)
        sqlite3_bind_text(st, 6, value, -1, SQLITE_STATIC);
    else
        sqlite3_bind_double(st, 5, strtod(value, NULL));
    if (target)
        sqlite3_bind_double(st, 7, strtod(target, NULL));
    sqlite3_bind_text(st, 8, value, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, where, -1, SQLITE_TRANSIENT);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    id = sqlite3_last_insert_rowid(c->db);
    cr_assert_eq(sqlite3_prepare_v2(c->db,
                                    "INSERT INTO courant(signataire, periode, indicateur,"
                                    " valeur_id, rang)"
                                    " SELECT ?2, ?3, ?4, ?5, f.recu_le || '|' || f.nom"
                                    " FROM fichier f WHERE f.id = ?1"
                                    " ON CONFLICT(signataire, periode, indicateur) DO UPDATE SET"
                                    " valeur_id = excluded.valeur_id, rang = excluded.rang"
                                    " WHERE excluded.rang > courant.rang",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_int64(st, 1, file);
    sqlite3_bind_text(st, 2, sig, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, per, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, id);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
}

void consdb_dup(struct consdb *c, long long file, const char *sig, const char *per,
                const char *ind, const char *where, const char *raw)
{
    sqlite3_stmt *st;

    cr_assert_eq(sqlite3_prepare_v2(c->db,
                                    "INSERT INTO rejet(fichier_id, emplacement, code, brut,"
                                    " message, signataire, periode, indicateur)"
                                    " VALUES(?1, ?2, 'doublon', ?3, 'deux valeurs', ?4, ?5, ?6)",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_int64(st, 1, file);
    sqlite3_bind_text(st, 2, where, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, raw, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, sig, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, per, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, ind, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
}

size_t consdb_run(struct consdb *c, const char *rules_text)
{
    char rules[1100];
    struct cp_consolidate_opts o = {c->path, NULL, NULL, rules_text};
    struct cp_err err;

    cp_err_clear(&err);
    snprintf(rules, sizeof rules, "%s/regles.csv", refdata_dir());
    if (!rules_text)
        o.rules_path = rules;
    cp_consolidate_stats_release(&c->st);
    cr_assert_eq(cp_consolidate_run(&o, &c->st, &err), 0, "cp_consolidate_run: %s", err.msg);
    return c->st.nproblems;
}

static sqlite3_stmt *query(struct consdb *c, const char *sql)
{
    sqlite3_stmt *st;

    cr_assert_eq(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(c->db));
    return st;
}

long long consdb_int(struct consdb *c, const char *sql)
{
    sqlite3_stmt *st = query(c, sql);
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;

    sqlite3_finalize(st);
    return v;
}

double consdb_real(struct consdb *c, const char *sql)
{
    sqlite3_stmt *st = query(c, sql);
    double v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_double(st, 0) : 0.0;

    sqlite3_finalize(st);
    return v;
}

const char *consdb_text(struct consdb *c, const char *sql)
{
    static char buf[8192];
    sqlite3_stmt *st = query(c, sql);
    const char *t = NULL;

    if (sqlite3_step(st) == SQLITE_ROW)
        t = (const char *)sqlite3_column_text(st, 0);
    snprintf(buf, sizeof buf, "%s", t ? t : "");
    sqlite3_finalize(st);
    return buf;
}

int consdb_problem(const struct consdb *c, unsigned line, const char *code)
{
    for (size_t i = 0; i < c->st.nproblems; i++)
        if (c->st.problems[i].line == line && strcmp(c->st.problems[i].code, code) == 0)
            return 1;
    return 0;
}
