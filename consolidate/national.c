/*
 * The national tier (calpae-consolidate --national): the national
 * aggregates (niveau 'national', zone 'FR') recomputed from the regional
 * roll-ups in force (view rollups_courants), with the same rules as from
 * signatories (aggregation.md): sums for flux and stock, ratios and
 * averages from the summed regional numerators and denominators (weights),
 * never from regional rates. Coverage is counted in signatories (summed
 * over the régions received) and in régions (received / ref_region).
 *
 * The régions' own aggregates and contributions (niveau 'region') are
 * those of their roll-ups, so that the national dossier, workbook, CSV and
 * charts show each région beside the nation; and the fingerprints
 * etat:<zone>:<période> are recorded as after a plain consolidation, so
 * that calpae-render --national redoes only what a new roll-up changed.
 */
#include "consolidate/consolidate.h"

#include "common/db.h"
#include "consolidate/internal.h"

static const char *const national_sql[] = {
    "DROP TABLE IF EXISTS temp.cp_nat",
    "CREATE TEMP TABLE cp_nat AS SELECT a.groupe, r.periode, a.indicateur, a.nature,"
    " sum(a.valeur) AS val, sum(a.numerateur) AS num, sum(a.denominateur) AS den,"
    " sum(a.couverts) AS couverts, sum(a.attendus) AS attendus,"
    /* The whole denominator the received régions' expected signatories
     * reported: each région's covered denominator over its share. */
    " sum(CASE WHEN a.part_couverte > 0 THEN a.denominateur / a.part_couverte END) AS base,"
    " count(*) AS regions, max(a.derive) AS derive"
    " FROM rollups_courants r JOIN rollup_agregat a ON a.fichier_id = r.fichier_id"
    " GROUP BY a.groupe, r.periode, a.indicateur",
    "DELETE FROM agregat WHERE niveau = 'national'",
    "INSERT INTO agregat(niveau, zone, groupe, periode, indicateur, valeur, numerateur,"
    " denominateur, couverts, attendus, part_couverte, partiel, derive, regions_couvertes,"
    " regions_attendues)"
    " SELECT 'national', 'FR', n.groupe, n.periode, n.indicateur,"
    " CASE WHEN n.nature IN ('ratio', 'moyenne') THEN"
    "  CASE WHEN n.den <> 0 THEN (CASE WHEN n.nature = 'ratio' AND i.unite = 'pct'"
    "   THEN 100.0 ELSE 1.0 END) * n.num / n.den END"
    "  ELSE n.val END,"
    " CASE WHEN n.nature IN ('ratio', 'moyenne') THEN n.num END,"
    " CASE WHEN n.nature IN ('ratio', 'moyenne') THEN n.den END,"
    " n.couverts, n.attendus,"
    " CASE WHEN n.nature IN ('ratio', 'moyenne') AND n.base <> 0 THEN n.den / n.base END,"
    " n.couverts < n.attendus OR n.regions < (SELECT count(*) FROM ref_region),"
    " n.derive, n.regions, (SELECT count(*) FROM ref_region)"
    " FROM cp_nat n JOIN ref_indicateur i ON i.code = n.indicateur",
    "DELETE FROM contribution WHERE niveau = 'national'",
    /* The signatories behind each national figure, from the roll-ups. */
    "INSERT INTO contribution(niveau, zone, groupe, periode, indicateur, signataire, valeur,"
    " numerateur, denominateur, derive)"
    " SELECT 'national', 'FR', c.groupe, r.periode, c.indicateur, c.signataire, c.valeur,"
    " c.numerateur, c.denominateur, c.derive"
    " FROM rollups_courants r JOIN rollup_contribution c ON c.fichier_id = r.fichier_id",
    "DROP TABLE temp.cp_nat",
    /* Each région as its roll-up in force gives it. */
    "DELETE FROM agregat WHERE niveau = 'region'",
    "INSERT INTO agregat(niveau, zone, groupe, periode, indicateur, valeur, numerateur,"
    " denominateur, couverts, attendus, part_couverte, partiel, derive)"
    " SELECT 'region', r.region, a.groupe, r.periode, a.indicateur, a.valeur, a.numerateur,"
    " a.denominateur, a.couverts, a.attendus, a.part_couverte, a.couverts < a.attendus,"
    " a.derive"
    " FROM rollups_courants r JOIN rollup_agregat a ON a.fichier_id = r.fichier_id",
    "DELETE FROM contribution WHERE niveau = 'region'",
    "INSERT INTO contribution(niveau, zone, groupe, periode, indicateur, signataire, valeur,"
    " numerateur, denominateur, derive)"
    " SELECT 'region', r.region, c.groupe, r.periode, c.indicateur, c.signataire, c.valeur,"
    " c.numerateur, c.denominateur, c.derive"
    " FROM rollups_courants r JOIN rollup_contribution c ON c.fichier_id = r.fichier_id",
    NULL,
};

/* A database with no roll-up is not a national one: replacing its
 * aggregates with nothing would only destroy them. */
static int require_rollups(sqlite3 *db, struct cp_err *err)
{
    sqlite3_stmt *st;
    int s, any = 0;

    if (cp_db_prepare(db, "SELECT EXISTS (SELECT 1 FROM rollup)", &st, err) < 0)
        return -1;
    if ((s = sqlite3_step(st)) == SQLITE_ROW)
        any = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (s != SQLITE_ROW)
        return cp_db_fail(db, err, "lecture des remontées régionales");
    if (!any)
        return cp_err_set(err, CP_EX_NOINPUT, "aucune_remontee", NULL,
                          "la base ne contient aucun fichier de remontée régionale : "
                          "--national agrège les remontées des régions (rollup-<région>-"
                          "<période>.csv, à lire d'abord avec calpae-ingest) ; pour les "
                          "valeurs des signataires, lancez calpae-consolidate sans --national");
    return 0;
}

int cp_consolidate_national(const char *db_path, unsigned long *rows, struct cp_err *err)
{
    sqlite3 *db = NULL;
    int rc = -1;

    if (rows)
        *rows = 0;
    if (cp_db_open(&db, db_path, 0, err) < 0)
        return -1;
    if (cp_db_begin(db, err) < 0)
        goto out;
    if (require_rollups(db, err) < 0) {
        cp_db_rollback(db);
        goto out;
    }
    for (const char *const *s = national_sql; *s; s++)
        if (cp_db_exec(db, *s, err) < 0) {
            cp_db_rollback(db);
            goto out;
        }
    if (cp_state_update(db, NULL, err) < 0) {
        cp_db_rollback(db);
        goto out;
    }
    if (cp_db_commit(db, err) < 0)
        goto out;
    if (rows) {
        sqlite3_stmt *st;

        if (cp_db_prepare(db, "SELECT count(*) FROM agregat WHERE niveau = 'national'", &st,
                          err) < 0)
            goto out;
        if (sqlite3_step(st) == SQLITE_ROW)
            *rows = (unsigned long)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    rc = 0;
out:
    if (db) {
        struct cp_err cerr;

        if (cp_db_close(db, &cerr) < 0 && rc == 0) {
            *err = cerr;
            rc = -1;
        }
    }
    return rc;
}
