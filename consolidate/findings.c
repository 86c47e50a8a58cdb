/*
 * From the staged findings of this run to the recorded ones (see
 * internal.h), as a diff keyed by constat.cle: unchanged findings keep
 * their row and id, changed ones are updated in place, vanished ones are
 * deleted. Then the exclusions that follow from the bloquant findings,
 * and the explanations whose values changed lapse.
 */
#include "consolidate/internal.h"

#include <string.h>

#include "common/db.h"
#include "consolidate/consolidate.h"

static int exec_count(struct cp_run *run, const char *sql, unsigned long *count)
{
    if (cp_run_exec(run, sql) < 0)
        return -1;
    if (count)
        *count = (unsigned long)sqlite3_changes(run->db);
    return 0;
}

/* What a finding says, as one string: the same for a staged finding
 * (cp_f, cp_fv) and a recorded one (constat, constat_valeur,
 * constat_source), so that only findings that changed are rewritten. */
#define FP_HEAD(t)                                                                          \
    t ".gravite || '|' || coalesce(" t ".signataire, '') || '|' || coalesce(" t             \
    ".periode, '') || '|' || " t ".indicateurs || '|' || " t ".valeurs || '|' || " t        \
    ".message"
#define FP_VALUE "rang || ':' || signataire || ':' || periode || ':' || indicateur || ':'"   \
                 " || quote(valeur) || ':' || coalesce(valeur_id, '')"
#define FP_SOURCE "rang || ':' || fichier_id || ':' || coalesce(emplacement, '')"

static const char *const staged_fp_sql =
    "CREATE TEMP TABLE cp_ffp AS SELECT f.cle, " FP_HEAD("f") " || '#' || coalesce(a.x, '')"
    " || '#' || coalesce(b.x, '') AS empreinte FROM cp_f f"
    " LEFT JOIN (SELECT cle, group_concat(x, ';') AS x FROM (SELECT cle, " FP_VALUE " AS x"
    "  FROM cp_fv WHERE indicateur IS NOT NULL ORDER BY cle, rang) GROUP BY cle) a"
    "  ON a.cle = f.cle"
    " LEFT JOIN (SELECT cle, group_concat(x, ';') AS x FROM (SELECT cle, " FP_SOURCE " AS x"
    "  FROM cp_fv WHERE valeur_id IS NULL AND fichier_id IS NOT NULL ORDER BY cle, rang)"
    "  GROUP BY cle) b ON b.cle = f.cle";

static const char *const recorded_fp_sql =
    "CREATE TEMP TABLE cp_cfp AS SELECT c.id, c.cle, " FP_HEAD("c") " || '#' || coalesce(a.x, '')"
    " || '#' || coalesce(b.x, '') AS empreinte FROM constat c"
    " LEFT JOIN (SELECT constat_id, group_concat(x, ';') AS x FROM (SELECT constat_id, "
    FP_VALUE " AS x FROM constat_valeur ORDER BY constat_id, rang) GROUP BY constat_id) a"
    "  ON a.constat_id = c.id"
    " LEFT JOIN (SELECT constat_id, group_concat(x, ';') AS x FROM (SELECT constat_id, "
    FP_SOURCE " AS x FROM constat_source ORDER BY constat_id, rang) GROUP BY constat_id) b"
    "  ON b.constat_id = c.id";

int cp_findings_apply(struct cp_run *run, struct cp_consolidate_stats *st)
{
    unsigned long removed = 0, changed = 0, added = 0, dropped = 0;
    sqlite3_stmt *lapse = NULL;
    sqlite3_int64 max_id = 0;
    sqlite3_stmt *q = NULL;
    int rc = -1;

    if (cp_run_exec(run, "DROP TABLE IF EXISTS temp.cp_ffp; DROP TABLE IF EXISTS temp.cp_cfp;"
                         "DROP TABLE IF EXISTS temp.cp_chg;") < 0 ||
        cp_run_exec(run, staged_fp_sql) < 0 ||
        cp_run_exec(run, "CREATE UNIQUE INDEX temp.cp_ffp_cle ON cp_ffp(cle)") < 0 ||
        exec_count(run, "DELETE FROM constat WHERE cle NOT IN (SELECT cle FROM cp_f)",
                   &removed) < 0 ||
        cp_run_exec(run, recorded_fp_sql) < 0 ||
        cp_run_exec(run, "CREATE TEMP TABLE cp_chg(id INTEGER PRIMARY KEY)") < 0 ||
        cp_run_exec(run, "CREATE UNIQUE INDEX temp.cp_cfp_cle ON cp_cfp(cle)") < 0 ||
        exec_count(run, "INSERT INTO cp_chg SELECT c.id FROM cp_cfp c JOIN cp_ffp f"
                        " ON f.cle = c.cle WHERE c.empreinte IS NOT f.empreinte",
                   &changed) < 0 ||
        cp_run_exec(run, "UPDATE constat SET regle = f.regle, gravite = f.gravite,"
                         " signataire = f.signataire, periode = f.periode,"
                         " indicateurs = f.indicateurs, valeurs = f.valeurs,"
                         " message = f.message"
                         " FROM cp_f f WHERE f.cle = constat.cle"
                         " AND constat.id IN (SELECT id FROM cp_chg)") < 0)
        goto out;
    if (cp_db_prepare(run->db, "SELECT coalesce(max(id), 0) FROM constat", &q, run->err) < 0)
        goto out;
    if (sqlite3_step(q) == SQLITE_ROW)
        max_id = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (exec_count(run, "INSERT INTO constat(regle, gravite, signataire, periode, indicateurs,"
                        " valeurs, message, cle)"
                        " SELECT regle, gravite, signataire, periode, indicateurs, valeurs,"
                        " message, cle FROM cp_f f"
                        " WHERE NOT EXISTS (SELECT 1 FROM constat c WHERE c.cle = f.cle)"
                        " ORDER BY f.signataire, f.periode, f.ligne, f.cle",
                   &added) < 0)
        goto out;
    if (cp_db_prepare(run->db, "INSERT INTO cp_chg SELECT id FROM constat WHERE id > ?1", &q,
                      run->err) < 0)
        goto out;
    sqlite3_bind_int64(q, 1, max_id);
    if (sqlite3_step(q) != SQLITE_DONE) {
        cp_run_dbfail(run, "constats nouveaux");
        goto out;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (cp_run_exec(run,
                    "DELETE FROM constat_valeur WHERE constat_id IN (SELECT id FROM cp_chg);"
                    "DELETE FROM constat_source WHERE constat_id IN (SELECT id FROM cp_chg);"
                    "INSERT INTO constat_valeur(constat_id, rang, signataire, periode,"
                    " indicateur, valeur, valeur_id)"
                    " SELECT c.id, v.rang, v.signataire, v.periode, v.indicateur, v.valeur,"
                    " v.valeur_id FROM cp_fv v JOIN constat c ON c.cle = v.cle"
                    " WHERE c.id IN (SELECT id FROM cp_chg) AND v.indicateur IS NOT NULL"
                    " ORDER BY c.id, v.rang;"
                    "INSERT INTO constat_source(constat_id, rang, fichier_id, emplacement)"
                    " SELECT c.id, v.rang, v.fichier_id, v.emplacement"
                    " FROM cp_fv v JOIN constat c ON c.cle = v.cle"
                    " WHERE c.id IN (SELECT id FROM cp_chg) AND v.valeur_id IS NULL"
                    " AND v.fichier_id IS NOT NULL ORDER BY c.id, v.rang") < 0)
        goto out;

    /* Values under a bloquant finding: the finding's own indicators for its
     * signatory and period (a relation: every value it involves). */
    if (cp_run_exec(run,
                    "DROP TABLE IF EXISTS temp.cp_x;"
                    "CREATE TEMP TABLE cp_x(signataire TEXT, periode TEXT, indicateur TEXT,"
                    " constat_id INTEGER, PRIMARY KEY(signataire, periode, indicateur))"
                    " WITHOUT ROWID;"
                    "INSERT INTO cp_x SELECT cv.signataire, cv.periode, cv.indicateur,"
                    " min(c.id) FROM constat c"
                    " JOIN constat_valeur cv ON cv.constat_id = c.id"
                    " WHERE c.gravite = 'bloquant' AND cv.indicateur IS NOT NULL"
                    " AND cv.signataire = c.signataire AND cv.periode = c.periode"
                    " AND instr(',' || c.indicateurs || ',', ',' || cv.indicateur || ',') > 0"
                    " GROUP BY cv.signataire, cv.periode, cv.indicateur;"
                    "DELETE FROM exclusion WHERE NOT EXISTS (SELECT 1 FROM cp_x x"
                    " WHERE x.signataire = exclusion.signataire AND x.periode = exclusion.periode"
                    " AND x.indicateur = exclusion.indicateur"
                    " AND x.constat_id = exclusion.constat_id);"
                    "INSERT INTO exclusion(signataire, periode, indicateur, constat_id)"
                    " SELECT signataire, periode, indicateur, constat_id FROM cp_x x"
                    " WHERE NOT EXISTS (SELECT 1 FROM exclusion e WHERE e.signataire ="
                    " x.signataire AND e.periode = x.periode AND e.indicateur = x.indicateur)"
                    " ORDER BY 1, 2, 3;") < 0)
        goto out;

    /* An explanation lapses when a value it was given for changed. */
    if (cp_db_prepare(run->db,
                      "UPDATE explication SET caduque_le = ?1 WHERE caduque_le IS NULL"
                      " AND EXISTS (SELECT 1 FROM explication_valeur ev"
                      "  LEFT JOIN courant c ON c.signataire = ev.signataire"
                      "   AND c.periode = ev.periode AND c.indicateur = ev.indicateur"
                      "  LEFT JOIN valeur v ON v.id = c.valeur_id"
                      "  WHERE ev.explication_id = explication.id"
                      "  AND (v.valeur IS NOT ev.valeur OR v.manquant IS NOT ev.manquant))",
                      &lapse, run->err) < 0)
        goto out;
    sqlite3_bind_text(lapse, 1, run->now, -1, SQLITE_STATIC);
    if (sqlite3_step(lapse) != SQLITE_DONE) {
        cp_run_dbfail(run, "explications devenues caduques");
        goto out;
    }
    dropped = (unsigned long)sqlite3_changes(run->db);

    if (st) {
        st->removed = removed;
        st->added = added;
        st->changed = changed;
        st->explanations_lapsed = dropped;
        if (cp_db_prepare(run->db,
                          "SELECT gravite, count(*) FROM constat GROUP BY gravite", &q,
                          run->err) < 0)
            goto out;
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *g = (const char *)sqlite3_column_text(q, 0);
            unsigned long n = (unsigned long)sqlite3_column_int64(q, 1);

            for (int s = 0; s < CP_SEV_COUNT; s++)
                if (g && strcmp(g, cp_severity_name((enum cp_severity)s)) == 0)
                    st->by_severity[s] = n;
            st->findings += n;
        }
        sqlite3_finalize(q);
        q = NULL;
        if (cp_db_prepare(run->db, "SELECT count(*) FROM exclusion", &q, run->err) < 0)
            goto out;
        if (sqlite3_step(q) == SQLITE_ROW)
            st->excluded = (unsigned long)sqlite3_column_int64(q, 0);
    }
    rc = 0;
out:
    sqlite3_finalize(q);
    sqlite3_finalize(lapse);
    return rc;
}
