/*
 * Regional and national aggregates (aggregation.md), set-based: the
 * usable values (expected, not excluded, plus years derived from S1 + S2),
 * each signatory's contribution per nature, then sums per zone, group
 * and period with their coverage, applied to agregat and contribution as
 * a diff so that unchanged rows are not rewritten (written as they are
 * when the tables are empty: a first run).
 */
#include "consolidate/internal.h"

#include "common/db.h"
#include "consolidate/consolidate.h"

/* Zones: the signatory's région, and the nation ('FR'). */
static const char *const agg_sql[] = {
    /* Usable values: reported, expected from that signatory for that
     * period (in force, type, years, not recentralised) and not under a
     * bloquant finding; with the signatory's région and type and the
     * indicator's nature, as cp_attendu has them. */
    "DROP TABLE IF EXISTS temp.cp_use",
    "CREATE TEMP TABLE cp_use(signataire TEXT, periode TEXT, indicateur TEXT, valeur REAL,"
    " derive INTEGER NOT NULL, region TEXT, type TEXT, nature TEXT,"
    " PRIMARY KEY(signataire, periode, indicateur)) WITHOUT ROWID",
    "INSERT INTO cp_use SELECT k.signataire, k.periode, k.indicateur, k.valeur, 0, a.region,"
    " a.type, a.nature"
    " FROM cp_cur k JOIN cp_attendu a ON a.signataire = k.signataire"
    "  AND a.periode = k.periode AND a.indicateur = k.indicateur"
    " WHERE k.valeur IS NOT NULL AND NOT EXISTS (SELECT 1 FROM exclusion x"
    "  WHERE x.signataire = k.signataire AND x.periode = k.periode"
    "  AND x.indicateur = k.indicateur)",
    /* A year derived from the halves when no usable annual figure was
     * sent: flux S1 + S2 (both needed), stock S2 (the level at the end).
     * The CROSS JOINs keep the planner from scanning every usable value
     * and probing each year for it (a.periode || '-S1' is not indexable
     * from that side): catalog, years, expected keys by the index on
     * (indicateur, periode), then the halves by primary key. A key already
     * usable is left out before its halves are looked up (OR IGNORE would
     * leave it anyway). */
    "INSERT OR IGNORE INTO cp_use SELECT a.signataire, a.periode, a.indicateur,"
    " s1.valeur + s2.valeur, 1, a.region, a.type, i.nature"
    " FROM ref_indicateur i CROSS JOIN cp_per p CROSS JOIN cp_attendu a"
    " CROSS JOIN cp_use s1 CROSS JOIN cp_use s2"
    " WHERE i.nature = 'flux' AND i.annuel_seul = 0 AND p.semestre = 0"
    " AND a.indicateur = i.code AND a.periode = p.periode"
    " AND NOT EXISTS (SELECT 1 FROM cp_use y WHERE y.signataire = a.signataire"
    "  AND y.periode = a.periode AND y.indicateur = a.indicateur)"
    " AND s1.signataire = a.signataire AND s1.indicateur = a.indicateur"
    " AND s1.periode = a.periode || '-S1' AND s1.derive = 0"
    " AND s2.signataire = a.signataire AND s2.indicateur = a.indicateur"
    " AND s2.periode = a.periode || '-S2' AND s2.derive = 0",
    "INSERT OR IGNORE INTO cp_use SELECT a.signataire, a.periode, a.indicateur, s2.valeur, 1,"
    " a.region, a.type, i.nature"
    " FROM ref_indicateur i CROSS JOIN cp_per p CROSS JOIN cp_attendu a CROSS JOIN cp_use s2"
    " WHERE i.nature = 'stock' AND i.annuel_seul = 0 AND p.semestre = 0"
    " AND a.indicateur = i.code AND a.periode = p.periode"
    " AND NOT EXISTS (SELECT 1 FROM cp_use y WHERE y.signataire = a.signataire"
    "  AND y.periode = a.periode AND y.indicateur = a.indicateur)"
    " AND s2.signataire = a.signataire AND s2.indicateur = a.indicateur"
    " AND s2.periode = a.periode || '-S2' AND s2.derive = 0",
    /* An average over the year: the halves weighted by their own weights. */
    "INSERT OR IGNORE INTO cp_use SELECT a.signataire, a.periode, a.indicateur,"
    " (v1.valeur * w1.valeur + v2.valeur * w2.valeur) / (w1.valeur + w2.valeur), 1,"
    " a.region, a.type, i.nature"
    " FROM ref_indicateur i CROSS JOIN cp_per p CROSS JOIN cp_attendu a"
    " CROSS JOIN cp_use v1 CROSS JOIN cp_use v2 CROSS JOIN cp_use w1 CROSS JOIN cp_use w2"
    " WHERE i.nature = 'moyenne' AND i.annuel_seul = 0 AND i.poids IS NOT NULL"
    " AND p.semestre = 0 AND a.indicateur = i.code AND a.periode = p.periode"
    " AND NOT EXISTS (SELECT 1 FROM cp_use y WHERE y.signataire = a.signataire"
    "  AND y.periode = a.periode AND y.indicateur = a.indicateur)"
    " AND v1.signataire = a.signataire AND v1.indicateur = a.indicateur"
    " AND v1.periode = a.periode || '-S1' AND v1.derive = 0"
    " AND v2.signataire = a.signataire AND v2.indicateur = a.indicateur"
    " AND v2.periode = a.periode || '-S2' AND v2.derive = 0"
    " AND w1.signataire = a.signataire AND w1.indicateur = i.poids"
    " AND w1.periode = v1.periode AND w1.derive = 0"
    " AND w2.signataire = a.signataire AND w2.indicateur = i.poids"
    " AND w2.periode = v2.periode AND w2.derive = 0"
    " AND w1.valeur + w2.valeur <> 0",

    /* Contributions, one row per signatory, at the région level. Keyed by
     * group, period and indicator, then zone and signatory, so that both
     * levels' sums read it in key order without sorting it: a région's
     * rows in signatory order, the nation's in zone then signatory order
     * (the order of every sum matters to the last bit). */
    "DROP TABLE IF EXISTS temp.cp_contrib",
    "CREATE TEMP TABLE cp_contrib(zone TEXT, groupe TEXT, periode TEXT, indicateur TEXT,"
    " signataire TEXT, valeur REAL, numerateur REAL, denominateur REAL, derive INTEGER,"
    " PRIMARY KEY(groupe, periode, indicateur, zone, signataire)) WITHOUT ROWID",
    "INSERT INTO cp_contrib SELECT region, type, periode, indicateur, signataire, valeur,"
    " NULL, NULL, derive FROM cp_use WHERE nature IN ('flux', 'stock')",
    /* Ratios: only signatories with both a usable numerator and a usable
     * denominator; their rate is recomputed, never the one they reported. */
    "INSERT INTO cp_contrib SELECT a.region, a.type, a.periode, a.indicateur, a.signataire,"
    " CASE WHEN d.valeur <> 0 THEN (CASE WHEN i.unite = 'pct' THEN 100.0 ELSE 1.0 END)"
    "  * n.valeur / d.valeur END, n.valeur, d.valeur, max(n.derive, d.derive)"
    " FROM ref_indicateur i CROSS JOIN cp_attendu a"
    " JOIN cp_use n ON n.signataire = a.signataire AND n.periode = a.periode"
    "  AND n.indicateur = i.numerateur"
    " JOIN cp_use d ON d.signataire = a.signataire AND d.periode = a.periode"
    "  AND d.indicateur = i.denominateur"
    " WHERE i.nature = 'ratio' AND a.indicateur = i.code",
    /* Averages: weighted by the catalog's weight indicator. */
    "INSERT INTO cp_contrib SELECT a.region, a.type, a.periode, a.indicateur, a.signataire,"
    " u.valeur, u.valeur * w.valeur, w.valeur, max(u.derive, w.derive)"
    " FROM ref_indicateur i CROSS JOIN cp_attendu a"
    " JOIN cp_use u ON u.signataire = a.signataire AND u.periode = a.periode"
    "  AND u.indicateur = a.indicateur"
    " JOIN cp_use w ON w.signataire = a.signataire AND w.periode = a.periode"
    "  AND w.indicateur = i.poids"
    " WHERE i.nature = 'moyenne' AND a.indicateur = i.code",

    /* What each zone expects, and the whole denominator (or weight) its
     * expected signatories reported, for the share covered. */
    "DROP TABLE IF EXISTS temp.cp_expect",
    "CREATE TEMP TABLE cp_expect(niveau TEXT, zone TEXT, groupe TEXT, periode TEXT,"
    " indicateur TEXT, attendus INTEGER, base REAL,"
    " PRIMARY KEY(niveau, zone, groupe, periode, indicateur)) WITHOUT ROWID",
    /* cp_attendu's rows counted by région, type, period and indicator,
     * without reading them: the signatories of a région and type in force
     * in the period (cp_sc), for each pair their type owes (cp_pit), less
     * those the State took that axis back from (cp_rc; at most one
     * ref_recentralisation row per signatory and axis), as cp_attendu is
     * built (checks.c). */
    "DROP TABLE IF EXISTS temp.cp_sc",
    "CREATE TEMP TABLE cp_sc AS SELECT s.region, s.type, p.periode, count(*) AS n"
    " FROM ref_signataire s CROSS JOIN cp_per p WHERE " IN_FORCE("s", "p")
    " GROUP BY s.region, s.type, p.periode",
    "DROP TABLE IF EXISTS temp.cp_rc",
    "CREATE TEMP TABLE cp_rc AS SELECT s.region, s.type, x.periode, x.indicateur,"
    " count(*) AS n FROM ref_recentralisation r JOIN ref_signataire s ON s.code = r.signataire"
    " JOIN cp_pit x ON x.type = s.type AND x.axe = r.axe AND r.depuis <= x.annee"
    " WHERE " IN_FORCE("s", "x") " GROUP BY s.region, s.type, x.periode, x.indicateur",
    "INSERT INTO cp_expect SELECT 'region', c.region, c.type, x.periode, x.indicateur,"
    " c.n - coalesce(r.n, 0), NULL"
    " FROM cp_pit x JOIN cp_sc c ON c.type = x.type AND c.periode = x.periode"
    " LEFT JOIN cp_rc r ON r.region = c.region AND r.type = c.type"
    "  AND r.periode = x.periode AND r.indicateur = x.indicateur"
    " WHERE c.n - coalesce(r.n, 0) > 0",
    "UPDATE cp_expect SET base = b.base FROM (SELECT a.region, a.type, a.periode,"
    " a.indicateur, sum(u.valeur) AS base"
    " FROM ref_indicateur i CROSS JOIN cp_attendu a"
    " JOIN cp_use u ON u.signataire = a.signataire AND u.periode = a.periode"
    "  AND u.indicateur = CASE i.nature WHEN 'ratio' THEN i.denominateur ELSE i.poids END"
    " WHERE i.nature IN ('ratio', 'moyenne') AND a.indicateur = i.code"
    " GROUP BY a.region, a.type, a.periode, a.indicateur) b"
    " WHERE cp_expect.niveau = 'region' AND cp_expect.zone = b.region"
    " AND cp_expect.groupe = b.type AND cp_expect.periode = b.periode"
    " AND cp_expect.indicateur = b.indicateur",
    "INSERT INTO cp_expect SELECT 'national', 'FR', groupe, periode, indicateur,"
    " sum(attendus), sum(base) FROM cp_expect WHERE niveau = 'region'"
    " GROUP BY groupe, periode, indicateur",

    /* Declared as agregat is, with the same index, so that a first run
     * copies it there as it is (cp_agg_run). */
    "DROP TABLE IF EXISTS temp.cp_agg",
    "CREATE TEMP TABLE cp_agg("
    " niveau TEXT NOT NULL CHECK (niveau IN ('region','national')),"
    " zone TEXT NOT NULL, groupe TEXT NOT NULL, periode TEXT NOT NULL,"
    " indicateur TEXT NOT NULL, valeur REAL, numerateur REAL, denominateur REAL,"
    " couverts INTEGER NOT NULL, attendus INTEGER NOT NULL, part_couverte REAL,"
    " partiel INTEGER NOT NULL, derive INTEGER NOT NULL DEFAULT 0,"
    " regions_couvertes INTEGER, regions_attendues INTEGER,"
    " PRIMARY KEY(niveau, zone, groupe, periode, indicateur)) WITHOUT ROWID",
    "INSERT INTO cp_agg(niveau, zone, groupe, periode, indicateur, valeur, numerateur,"
    " denominateur, couverts, attendus, part_couverte, partiel, derive)"
    " SELECT x.niveau, x.zone, x.groupe, x.periode, x.indicateur,"
    " CASE WHEN i.nature IN ('ratio', 'moyenne') THEN"
    "  CASE WHEN x.den <> 0 THEN (CASE WHEN i.nature = 'ratio' AND i.unite = 'pct'"
    "   THEN 100.0 ELSE 1.0 END) * x.num / x.den END"
    "  ELSE x.val END,"
    " CASE WHEN i.nature IN ('ratio', 'moyenne') THEN x.num END,"
    " CASE WHEN i.nature IN ('ratio', 'moyenne') THEN x.den END,"
    " x.couverts, coalesce(e.attendus, 0),"
    " CASE WHEN i.nature IN ('ratio', 'moyenne') AND e.base <> 0 THEN x.den / e.base END,"
    " x.couverts < coalesce(e.attendus, 0), x.derive"
    " FROM (SELECT 'region' AS niveau, zone, groupe, periode, indicateur, sum(valeur) AS val,"
    "   sum(numerateur) AS num, sum(denominateur) AS den, count(*) AS couverts,"
    "   max(derive) AS derive FROM cp_contrib GROUP BY zone, groupe, periode, indicateur"
    "  UNION ALL"
    "  SELECT 'national', 'FR', groupe, periode, indicateur, sum(valeur), sum(numerateur),"
    "   sum(denominateur), count(*), max(derive) FROM cp_contrib"
    "   GROUP BY groupe, periode, indicateur) x"
    " JOIN ref_indicateur i ON i.code = x.indicateur"
    " LEFT JOIN cp_expect e ON e.niveau = x.niveau AND e.zone = x.zone AND e.groupe = x.groupe"
    "  AND e.periode = x.periode AND e.indicateur = x.indicateur",
    "CREATE INDEX temp.cp_agg_periode ON cp_agg(periode, niveau, zone)",
    NULL,
};

#define AGG_KEY(t, u)                                                                 \
    t ".niveau = " u ".niveau AND " t ".zone = " u ".zone AND " t ".groupe = " u      \
    ".groupe AND " t ".periode = " u ".periode AND " t ".indicateur = " u ".indicateur"

static const char agg_delete[] =
    "DELETE FROM agregat WHERE NOT EXISTS (SELECT 1 FROM cp_agg n WHERE " AGG_KEY("n", "agregat")
    ")";
static const char agg_update[] =
    "UPDATE agregat SET valeur = n.valeur, numerateur = n.numerateur,"
    " denominateur = n.denominateur, couverts = n.couverts, attendus = n.attendus,"
    " part_couverte = n.part_couverte, partiel = n.partiel, derive = n.derive,"
    " regions_couvertes = NULL, regions_attendues = NULL"
    " FROM cp_agg n WHERE " AGG_KEY("n", "agregat")
    " AND (agregat.regions_couvertes IS NOT NULL OR agregat.valeur IS NOT n.valeur OR agregat.numerateur IS NOT n.numerateur"
    "  OR agregat.denominateur IS NOT n.denominateur OR agregat.couverts IS NOT n.couverts"
    "  OR agregat.attendus IS NOT n.attendus OR agregat.part_couverte IS NOT n.part_couverte"
    "  OR agregat.partiel IS NOT n.partiel OR agregat.derive IS NOT n.derive)";
static const char agg_insert[] =
    "INSERT INTO agregat(niveau, zone, groupe, periode, indicateur, valeur, numerateur,"
    " denominateur, couverts, attendus, part_couverte, partiel, derive)"
    " SELECT niveau, zone, groupe, periode, indicateur, valeur, numerateur, denominateur,"
    " couverts, attendus, part_couverte, partiel, derive FROM cp_agg n"
    " WHERE NOT EXISTS (SELECT 1 FROM agregat a WHERE " AGG_KEY("a", "n") ")";

/* Contributions, both levels: the région rows of cp_contrib, and the same
 * as 'national'. Only the groups whose rows changed are rewritten: a
 * group's rows are compared through their count and two sums of row
 * hashes. A national group's signature is the sum of its régions' (the
 * same rows, integer sums), so each row is hashed once and cp_contrib is
 * not copied per level. */
#define CONTRIB_SIG                                                                         \
    "count(*) AS n, sum(cp_hash(1, signataire, valeur, numerateur, denominateur, derive))"  \
    " AS h1, sum(cp_hash(2, signataire, valeur, numerateur, denominateur, derive)) AS h2"
#define GROUP_KEY "niveau, zone, groupe, periode, indicateur"
#define CONTRIB_INSERT                                                                        \
    "INSERT INTO contribution(niveau, zone, groupe, periode, indicateur, signataire, valeur," \
    " numerateur, denominateur, derive)"

static const char *const contrib_diff_sql[] = {
    "DROP TABLE IF EXISTS temp.cp_gold",
    "DROP TABLE IF EXISTS temp.cp_gnew",
    "DROP TABLE IF EXISTS temp.cp_gchg",
    "CREATE TEMP TABLE cp_gold AS SELECT " GROUP_KEY ", " CONTRIB_SIG " FROM contribution"
    " GROUP BY " GROUP_KEY,
    "CREATE TEMP TABLE cp_gnew AS SELECT 'region' AS niveau, zone, groupe, periode,"
    " indicateur, " CONTRIB_SIG " FROM cp_contrib GROUP BY zone, groupe, periode, indicateur",
    "INSERT INTO cp_gnew SELECT 'national', 'FR', groupe, periode, indicateur, sum(n),"
    " sum(h1), sum(h2) FROM cp_gnew WHERE niveau = 'region' GROUP BY groupe, periode,"
    " indicateur",
    "CREATE TEMP TABLE cp_gchg AS SELECT " GROUP_KEY " FROM"
    " (SELECT * FROM cp_gold EXCEPT SELECT * FROM cp_gnew)"
    " UNION SELECT " GROUP_KEY " FROM (SELECT * FROM cp_gnew EXCEPT SELECT * FROM cp_gold)",
    "DELETE FROM contribution WHERE (" GROUP_KEY ") IN (SELECT " GROUP_KEY " FROM cp_gchg)",
    CONTRIB_INSERT
    " SELECT 'national', 'FR', groupe, periode, indicateur, signataire, valeur, numerateur,"
    " denominateur, derive FROM cp_contrib WHERE (groupe, periode, indicateur) IN"
    " (SELECT groupe, periode, indicateur FROM cp_gchg WHERE niveau = 'national')",
    CONTRIB_INSERT
    " SELECT 'region', zone, groupe, periode, indicateur, signataire, valeur, numerateur,"
    " denominateur, derive FROM cp_contrib WHERE (zone, groupe, periode, indicateur) IN"
    " (SELECT zone, groupe, periode, indicateur FROM cp_gchg WHERE niveau = 'region')",
    NULL,
};

/* No contribution recorded yet (a first run): every group is new. The
 * national rows come almost in key order (signatories by zone within a
 * group); sorting the région rows would cost more than inserting them as
 * they come. */
static const char *const contrib_all_sql[] = {
    CONTRIB_INSERT
    " SELECT 'national', 'FR', groupe, periode, indicateur, signataire, valeur, numerateur,"
    " denominateur, derive FROM cp_contrib",
    CONTRIB_INSERT
    " SELECT 'region', zone, groupe, periode, indicateur, signataire, valeur, numerateur,"
    " denominateur, derive FROM cp_contrib",
    NULL,
};

/* A count(*), (unsigned long)-1 on error. */
static unsigned long count_rows(struct cp_run *run, const char *sql)
{
    sqlite3_stmt *q;
    unsigned long n = (unsigned long)-1;

    if (cp_db_prepare(run->db, sql, &q, run->err) < 0)
        return n;
    if (sqlite3_step(q) == SQLITE_ROW)
        n = (unsigned long)sqlite3_column_int64(q, 0);
    else
        cp_run_dbfail(run, "décompte");
    sqlite3_finalize(q);
    return n;
}

/* 1 when the table has a row, 0 when empty, -1 on error. */
static int has_rows(struct cp_run *run, const char *sql)
{
    sqlite3_stmt *q;
    int s, any;

    if (cp_db_prepare(run->db, sql, &q, run->err) < 0)
        return -1;
    s = sqlite3_step(q);
    any = s == SQLITE_ROW;
    sqlite3_finalize(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return cp_run_dbfail(run, "lecture des contributions");
    return any;
}

int cp_agg_run(struct cp_run *run, struct cp_consolidate_stats *st)
{
    unsigned long removed, changed, added;
    const char *const *contrib_sql;
    sqlite3_stmt *q = NULL;
    int any;

    for (size_t i = 0; agg_sql[i]; i++)
        if (cp_run_exec(run, agg_sql[i]) < 0)
            return -1;
    if ((any = has_rows(run, "SELECT 1 FROM agregat LIMIT 1")) < 0)
        return -1;
    if (!any) {
        /* A first run: every aggregate is new. Into the empty table, SQLite
         * copies cp_agg's records and index entries as they are (the
         * transfer optimisation: same declaration, same index). */
        if (cp_run_exec(run, "INSERT INTO agregat SELECT * FROM cp_agg") < 0 ||
            (added = count_rows(run, "SELECT count(*) FROM agregat")) == (unsigned long)-1)
            return -1;
        removed = changed = 0;
    } else {
        if (cp_run_exec(run, agg_delete) < 0)
            return -1;
        removed = (unsigned long)sqlite3_changes(run->db);
        if (cp_run_exec(run, agg_update) < 0)
            return -1;
        changed = (unsigned long)sqlite3_changes(run->db);
        if (cp_run_exec(run, agg_insert) < 0)
            return -1;
        added = (unsigned long)sqlite3_changes(run->db);
    }
    if ((any = has_rows(run, "SELECT 1 FROM contribution LIMIT 1")) < 0)
        return -1;
    contrib_sql = any ? contrib_diff_sql : contrib_all_sql;
    for (size_t i = 0; contrib_sql[i]; i++)
        if (cp_run_exec(run, contrib_sql[i]) < 0)
            return -1;
    if (st) {
        st->agg_removed = removed;
        st->agg_changed = changed;
        st->agg_added = added;
        if (cp_db_prepare(run->db, "SELECT count(*) FROM agregat", &q, run->err) < 0)
            return -1;
        if (sqlite3_step(q) == SQLITE_ROW)
            st->aggregates = (unsigned long)sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    return 0;
}
