/*
 * Explanations of findings (see explain.h): one transaction to record the
 * justification, the values it covers and the new fingerprints; and the
 * read-only listings a commissioner uses to find a finding's key.
 */
#include "consolidate/explain.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "consolidate/internal.h"

static const char *txt(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int cp_explain_add(const char *db_path, const char *key, const char *justification,
                   const char *author, long long *id, struct cp_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *find = NULL, *ins = NULL, *snap = NULL;
    sqlite3_int64 cid = 0, eid;
    char now[20];
    char *cle = NULL, *valeurs = NULL;
    int rc = -1;

    if (!justification || !*justification)
        return cp_err_set(err, CP_EX_USAGE, "justification_vide", NULL,
                          "la justification est vide : dites pourquoi le constat est expliqué");
    if (!key || !*key)
        return cp_err_set(err, CP_EX_USAGE, "constat_inconnu", NULL,
                          "indiquez la clé du constat (voir --constats)");
    if (cp_db_open(&db, db_path, 0, err) < 0)
        return -1;
    if (cp_db_begin(db, err) < 0)
        goto out;
    if (cp_db_prepare(db,
                      all_digits(key) ? "SELECT id, cle, valeurs FROM constat WHERE id = ?1"
                                      : "SELECT id, cle, valeurs FROM constat WHERE cle = ?1",
                      &find, err) < 0)
        goto fail;
    sqlite3_bind_text(find, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(find) != SQLITE_ROW) {
        cp_err_set(err, CP_EX_DATAERR, "constat_inconnu", key,
                   "aucun constat de clé « %s » : copiez la clé affichée par "
                   "calpae-consolidate --constats (elle change quand le constat change)",
                   key);
        goto fail;
    }
    cid = sqlite3_column_int64(find, 0);
    cle = strdup(txt(find, 1));
    valeurs = strdup(txt(find, 2));
    if (!cle || !valeurs) {
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto fail;
    }
    cp_db_now(now);
    if (cp_db_prepare(db,
                      "INSERT INTO explication(cle, valeurs, justification, auteur, cree_le)"
                      " VALUES(?1, ?2, ?3, ?4, ?5)",
                      &ins, err) < 0)
        goto fail;
    sqlite3_bind_text(ins, 1, cle, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, valeurs, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, justification, -1, SQLITE_STATIC);
    if (author && *author)
        sqlite3_bind_text(ins, 4, author, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, now, -1, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) {
        cp_db_fail(db, err, "enregistrement de l'explication");
        goto fail;
    }
    eid = sqlite3_last_insert_rowid(db);
    /* The values in force it covers; a rejected cell (DOUBLON) is not in
     * force and is left out, a value not sent is kept as NULL so that its
     * arrival lapses the explanation. */
    if (cp_db_prepare(db,
                      "INSERT OR IGNORE INTO explication_valeur(explication_id, signataire,"
                      " periode, indicateur, valeur, manquant)"
                      " SELECT ?1, cv.signataire, cv.periode, cv.indicateur, v.valeur, v.manquant"
                      " FROM constat_valeur cv LEFT JOIN courant c ON c.signataire ="
                      " cv.signataire AND c.periode = cv.periode AND c.indicateur = cv.indicateur"
                      " LEFT JOIN valeur v ON v.id = c.valeur_id"
                      " WHERE cv.constat_id = ?2 AND cv.indicateur IS NOT NULL"
                      " AND (cv.valeur_id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM"
                      " constat_source s WHERE s.constat_id = cv.constat_id"
                      " AND s.rang = cv.rang))",
                      &snap, err) < 0)
        goto fail;
    sqlite3_bind_int64(snap, 1, eid);
    sqlite3_bind_int64(snap, 2, cid);
    if (sqlite3_step(snap) != SQLITE_DONE) {
        cp_db_fail(db, err, "enregistrement de l'explication");
        goto fail;
    }
    if (cp_state_update(db, NULL, err) < 0)
        goto fail;
    if (cp_db_commit(db, err) < 0)
        goto fail;
    if (id)
        *id = eid;
    rc = 0;
    goto out;
fail:
    cp_db_rollback(db);
out:
    sqlite3_finalize(find);
    sqlite3_finalize(ins);
    sqlite3_finalize(snap);
    free(cle);
    free(valeurs);
    if (cp_db_close(db, rc < 0 ? NULL : err) < 0)
        rc = -1;
    return rc;
}

int cp_explain_list(const char *db_path,
                    int (*cb)(void *ctx, const struct cp_explanation *e), void *ctx,
                    struct cp_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1, s;

    if (cp_db_open(&db, db_path, CP_DB_READONLY, err) < 0)
        return -1;
    if (cp_db_prepare(db,
                      "SELECT e.id, e.cle, e.justification, coalesce(e.auteur, ''), e.cree_le,"
                      " coalesce(e.caduque_le, ''),"
                      " CASE WHEN e.caduque_le IS NOT NULL THEN 'caduque'"
                      "  WHEN c.id IS NULL THEN 'constat disparu'"
                      "  WHEN EXISTS (SELECT 1 FROM explication n WHERE n.cle = e.cle"
                      "   AND n.id > e.id AND n.caduque_le IS NULL) THEN 'remplacée'"
                      "  WHEN c.valeurs <> e.valeurs THEN 'caduque'"
                      "  ELSE 'en vigueur' END, coalesce(c.message, '')"
                      " FROM explication e LEFT JOIN constat c ON c.cle = e.cle"
                      " ORDER BY e.id DESC",
                      &st, err) < 0)
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct cp_explanation e = {sqlite3_column_int64(st, 0), txt(st, 1), txt(st, 2),
                                   txt(st, 3), txt(st, 4), txt(st, 5), txt(st, 6), txt(st, 7)};
        int r = cb(ctx, &e);

        if (r) {
            rc = r;
            goto out;
        }
    }
    if (s != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des explications");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    if (cp_db_close(db, rc < 0 ? NULL : err) < 0)
        rc = -1;
    return rc;
}

int cp_findings_list(const char *db_path, const char *region, const char *period,
                     int (*cb)(void *ctx, const struct cp_finding_row *f), void *ctx,
                     struct cp_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1, s;

    if (cp_db_open(&db, db_path, CP_DB_READONLY, err) < 0)
        return -1;
    if (cp_db_prepare(db,
                      "SELECT id, cle, regle, gravite, coalesce(signataire, ''),"
                      " coalesce(periode, ''), coalesce(region, ''), indicateurs, message,"
                      " coalesce(fichier, ''), coalesce(emplacement, ''),"
                      " coalesce(explication, '')"
                      " FROM constats WHERE (?1 IS NULL OR region = ?1)"
                      " AND (?2 IS NULL OR periode = ?2)"
                      " ORDER BY region, periode, signataire, regle, cle",
                      &st, err) < 0)
        goto out;
    if (region)
        sqlite3_bind_text(st, 1, region, -1, SQLITE_STATIC);
    if (period)
        sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct cp_finding_row f = {sqlite3_column_int64(st, 0), txt(st, 1), txt(st, 2),
                                   txt(st, 3), txt(st, 4),  txt(st, 5), txt(st, 6),
                                   txt(st, 7), txt(st, 8), txt(st, 9), txt(st, 10),
                                   txt(st, 11)};
        int r = cb(ctx, &f);

        if (r) {
            rc = r;
            goto out;
        }
    }
    if (s != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des constats");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    if (cp_db_close(db, rc < 0 ? NULL : err) < 0)
        rc = -1;
    return rc;
}
