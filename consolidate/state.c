/*
 * Fingerprints of the consolidated state (see internal.h): for each région
 * and period, a SHA-256 over what a dossier of that région and period
 * shows (values in force and their origin, findings with their
 * explanations, aggregates and coverage), recorded in meta as
 * etat:<région>:<période>, and etat:FR:<période> for the nation. The render
 * stage redoes only the dossiers whose fingerprint moved.
 */
#include "consolidate/internal.h"

#include <stdio.h>
#include <string.h>

#include "common/db.h"
#include "common/hash.h"

#define VALUE_LINE                                                                          \
    "'v|' || vc.signataire || '|' || vc.indicateur || '|' || quote(vc.valeur) || '|'"       \
    " || coalesce(vc.manquant, '') || '|' || quote(vc.cible) || '|' || vc.valeur_id"        \
    " || '|' || vc.fichier || '|' || vc.emplacement"
#define FINDING_LINE                                                                        \
    "'c|' || c.cle || '|' || c.gravite || '|' || c.valeurs || '|' || c.message || '|'"      \
    " || coalesce(c.explication, '') || '|' || coalesce(c.fichier, '') || '|'"              \
    " || coalesce(c.emplacement, '')"
#define AGG_LINE                                                                            \
    "'a|' || a.niveau || '|' || a.zone || '|' || a.groupe || '|' || a.indicateur || '|'"    \
    " || quote(a.valeur) || '|' || quote(a.numerateur) || '|' || quote(a.denominateur)"     \
    " || '|' || a.couverts || '|' || a.attendus || '|' || quote(a.part_couverte) || '|'"    \
    " || a.derive"

static const char lines_sql[] =
    "SELECT s.region, vc.periode, " VALUE_LINE " FROM valeurs_courantes vc"
    " JOIN ref_signataire s ON s.code = vc.signataire"
    " UNION ALL SELECT 'FR', vc.periode, " VALUE_LINE " FROM valeurs_courantes vc"
    " UNION ALL SELECT s.region, c.periode, " FINDING_LINE " FROM constats c"
    " JOIN ref_signataire s ON s.code = c.signataire WHERE c.periode IS NOT NULL"
    " UNION ALL SELECT 'FR', c.periode, " FINDING_LINE " FROM constats c"
    " WHERE c.periode IS NOT NULL"
    " UNION ALL SELECT a.zone, a.periode, " AGG_LINE " FROM agregat a WHERE a.niveau = 'region'"
    " UNION ALL SELECT 'FR', a.periode, " AGG_LINE " FROM agregat a"
    " ORDER BY 1, 2, 3";

static int flush(sqlite3_stmt *ins, struct cp_sha256 *h, const char *zone, const char *per,
                 struct cp_err *err)
{
    char hex[CP_SHA256_HEX], key[64];

    if (cp_sha256_final(h, hex) < 0)
        return cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
    snprintf(key, sizeof key, "etat:%s:%s", zone, per);
    sqlite3_bind_text(ins, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, hex, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(ins) != SQLITE_DONE) {
        sqlite3_reset(ins);
        return cp_db_fail(sqlite3_db_handle(ins), err, "empreintes de l'état consolidé");
    }
    sqlite3_reset(ins);
    return 0;
}

int cp_state_update(sqlite3 *db, unsigned long *changed, struct cp_err *err)
{
    sqlite3_stmt *st = NULL, *ins = NULL;
    struct cp_sha256 h;
    int open = 0, rc = -1, s;
    char zone[16] = "", per[16] = "";
    unsigned long n = 0;

    if (changed)
        *changed = 0;
    if (cp_db_exec(db, "DROP TABLE IF EXISTS temp.cp_etat;"
                       "CREATE TEMP TABLE cp_etat(cle TEXT PRIMARY KEY, valeur TEXT)",
                   err) < 0 ||
        cp_db_prepare(db, lines_sql, &st, err) < 0 ||
        cp_db_prepare(db, "INSERT INTO cp_etat VALUES(?1, ?2)", &ins, err) < 0)
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *z = (const char *)sqlite3_column_text(st, 0);
        const char *p = (const char *)sqlite3_column_text(st, 1);
        const char *line = (const char *)sqlite3_column_text(st, 2);

        if (!z || !p || !line)
            continue;
        if (!open || strcmp(z, zone) != 0 || strcmp(p, per) != 0) {
            if (open && flush(ins, &h, zone, per, err) < 0) {
                open = 0;
                goto out;
            }
            open = 0;
            if (cp_sha256_init(&h) < 0) {
                cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
                goto out;
            }
            open = 1;
            snprintf(zone, sizeof zone, "%s", z);
            snprintf(per, sizeof per, "%s", p);
        }
        if (cp_sha256_update(&h, line, strlen(line) + 1) < 0) {
            cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
            goto out;
        }
    }
    if (s != SQLITE_DONE) {
        cp_db_fail(db, err, "empreintes de l'état consolidé");
        goto out;
    }
    if (open) {
        open = 0;
        if (flush(ins, &h, zone, per, err) < 0)
            goto out;
    }
    if (cp_db_exec(db, "DELETE FROM meta WHERE cle LIKE 'etat:%'"
                       " AND cle NOT IN (SELECT cle FROM cp_etat)", err) < 0)
        goto out;
    n += (unsigned long)sqlite3_changes(db);
    if (cp_db_exec(db, "INSERT INTO meta(cle, valeur) SELECT cle, valeur FROM cp_etat e"
                       " WHERE true ON CONFLICT(cle) DO UPDATE SET valeur = excluded.valeur"
                       " WHERE meta.valeur IS NOT excluded.valeur", err) < 0)
        goto out;
    n += (unsigned long)sqlite3_changes(db);
    if (changed)
        *changed = n;
    rc = 0;
out:
    if (open)
        cp_sha256_release(&h);
    sqlite3_finalize(st);
    sqlite3_finalize(ins);
    sqlite3_exec(db, "DROP TABLE IF EXISTS temp.cp_etat", NULL, NULL, NULL);
    return rc;
}
