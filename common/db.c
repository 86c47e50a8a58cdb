/*
 * Opening the shared database and keeping its schema current (see db.h).
 * The schema is a list of migrations; PRAGMA user_version records how many
 * have run. The views at the end are the documented interface analysts and
 * the later stages query.
 */
#include "common/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/ref.h"

/* Migration 1: the whole first schema, one statement per string. */
static const char *const schema_v1[] = {
    "CREATE TABLE meta(cle TEXT PRIMARY KEY, valeur TEXT NOT NULL) WITHOUT ROWID;\n",
    /* Reference data, copied from data/ (cp_db_sync_ref). */
    "CREATE TABLE ref_indicateur(\n"
    "  code TEXT PRIMARY KEY, libelle TEXT NOT NULL, axe TEXT NOT NULL,\n"
    "  unite TEXT NOT NULL, nature TEXT NOT NULL,\n"
    "  numerateur TEXT, denominateur TEXT, poids TEXT, min REAL, max REAL,\n"
    "  sens TEXT NOT NULL, annee_debut INTEGER NOT NULL, annee_fin INTEGER NOT NULL,\n"
    "  annuel_seul INTEGER NOT NULL, types TEXT NOT NULL, obligatoire INTEGER NOT NULL,\n"
    "  rang INTEGER NOT NULL);\n",
    "CREATE TABLE ref_signataire(\n"
    "  code TEXT PRIMARY KEY, nom TEXT NOT NULL, type TEXT NOT NULL,\n"
    "  departements TEXT NOT NULL, region TEXT NOT NULL, debut TEXT, fin TEXT);\n",
    "CREATE TABLE ref_region(code TEXT PRIMARY KEY, nom TEXT NOT NULL);\n",
    /* Territories where the State took an axis back (RSA): not expected. */
    "CREATE TABLE ref_recentralisation(signataire TEXT NOT NULL, axe TEXT NOT NULL,\n"
    "  depuis INTEGER NOT NULL, PRIMARY KEY(signataire, axe)) WITHOUT ROWID;\n",
    "CREATE TABLE ref_departement(code TEXT PRIMARY KEY, nom TEXT NOT NULL,\n"
    "  region TEXT NOT NULL);\n",
    /* Ingest: one row per submitted file, its values and its rejections. */
    "CREATE TABLE fichier(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  nom TEXT NOT NULL,\n"              /* base name */
    "  chemin TEXT NOT NULL,\n"           /* path as given on the command line */
    "  empreinte TEXT NOT NULL,\n"        /* SHA-256 of the bytes */
    "  taille INTEGER NOT NULL,\n"
    "  recu_le TEXT NOT NULL,\n"          /* reception time, ISO 8601 local */
    "  source_date TEXT NOT NULL,\n"      /* 'reception.csv' or 'mtime' */
    "  format TEXT NOT NULL,\n"           /* csv, xlsx, ods, rollup, inconnu */
    "  encodage TEXT, separateur TEXT, forme TEXT, feuille TEXT,\n"
    "  niveau TEXT NOT NULL DEFAULT 'signataire',\n" /* 'signataire' or 'region' (roll-up) */
    "  statut TEXT NOT NULL CHECK (statut IN\n"
    "    ('accepte','accepte_partiel','rejete','doublon')),\n"
    "  motif TEXT,\n"                     /* why rejected or duplicate, in French */
    "  doublon_de INTEGER REFERENCES fichier(id),\n"
    "  nb_valeurs INTEGER NOT NULL DEFAULT 0,\n"
    "  nb_rejets INTEGER NOT NULL DEFAULT 0,\n"
    "  ingere_le TEXT NOT NULL,\n"
    "  UNIQUE(nom, empreinte));\n",
    "CREATE INDEX fichier_empreinte ON fichier(empreinte);\n",
    "CREATE TABLE valeur(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  fichier_id INTEGER NOT NULL REFERENCES fichier(id) ON DELETE CASCADE,\n"
    "  signataire TEXT NOT NULL, periode TEXT NOT NULL, indicateur TEXT NOT NULL,\n"
    "  valeur REAL,\n"                    /* catalog unit; NULL when declared missing */
    "  manquant TEXT,\n"                  /* 'NC' or 'SO' when declared missing */
    "  cible REAL, commentaire TEXT,\n"
    "  brut TEXT,\n"                      /* the cell's text as sent */
    "  emplacement TEXT NOT NULL);\n"     /* Feuille!D14 or L14C3 */,
    "CREATE INDEX valeur_fichier ON valeur(fichier_id);\n",
    /* History of a key, and render's per-signatory queries. */
    "CREATE INDEX valeur_cle ON valeur(signataire, periode, indicateur);\n",
    /* The value in force for each key: the latest received accepted file
     * wins; rang = recu_le || '|' || nom orders files. */
    "CREATE TABLE courant(\n"
    "  signataire TEXT NOT NULL, periode TEXT NOT NULL, indicateur TEXT NOT NULL,\n"
    "  valeur_id INTEGER NOT NULL REFERENCES valeur(id),\n"
    "  rang TEXT NOT NULL,\n"
    "  PRIMARY KEY(signataire, periode, indicateur)) WITHOUT ROWID;\n",
    "CREATE TABLE rejet(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  fichier_id INTEGER NOT NULL REFERENCES fichier(id) ON DELETE CASCADE,\n"
    "  emplacement TEXT NOT NULL,\n"      /* '' for the whole file */
    "  code TEXT NOT NULL, brut TEXT, message TEXT NOT NULL,\n"
    "  signataire TEXT, periode TEXT, indicateur TEXT);\n",
    "CREATE INDEX rejet_fichier ON rejet(fichier_id);\n",
    /* Consolidate: findings, the values they involve, explanations. */
    "CREATE TABLE constat(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  regle TEXT NOT NULL,\n"
    "  gravite TEXT NOT NULL CHECK (gravite IN ('bloquant','avertissement','info')),\n"
    "  signataire TEXT, periode TEXT,\n"
    "  indicateurs TEXT NOT NULL DEFAULT '',\n" /* codes, comma-separated */
    "  valeurs TEXT NOT NULL DEFAULT '',\n"     /* values, same order, '|'-separated */
    "  message TEXT NOT NULL,\n"
    "  cle TEXT NOT NULL UNIQUE);\n"            /* regle|signataire|periode|indicateurs */,
    "CREATE INDEX constat_sp ON constat(signataire, periode);\n",
    /* The values a finding involves; valeur_id is NULL for a value not in
     * force (a rejected cell, a year derived from S1 + S2). */
    "CREATE TABLE constat_valeur(\n"
    "  constat_id INTEGER NOT NULL REFERENCES constat(id) ON DELETE CASCADE,\n"
    "  rang INTEGER NOT NULL,\n"
    "  signataire TEXT NOT NULL, periode TEXT NOT NULL, indicateur TEXT NOT NULL,\n"
    "  valeur REAL, valeur_id INTEGER REFERENCES valeur(id),\n"
    "  PRIMARY KEY(constat_id, rang)) WITHOUT ROWID;\n",
    /* Where a finding points when it is not at a value in force: the
     * rejected cells of a DOUBLON, the late file of a HORS_DELAI. */
    "CREATE TABLE constat_source(\n"
    "  constat_id INTEGER NOT NULL REFERENCES constat(id) ON DELETE CASCADE,\n"
    "  rang INTEGER NOT NULL,\n"
    "  fichier_id INTEGER NOT NULL REFERENCES fichier(id), emplacement TEXT,\n"
    "  PRIMARY KEY(constat_id, rang)) WITHOUT ROWID;\n",
    "CREATE TABLE explication(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  cle TEXT NOT NULL,\n"              /* the finding's cle */
    "  valeurs TEXT NOT NULL,\n"          /* the finding's values when explained */
    "  justification TEXT NOT NULL, auteur TEXT, cree_le TEXT NOT NULL,\n"
    "  caduque_le TEXT);\n"               /* set when a value it refers to changed */,
    "CREATE INDEX explication_cle ON explication(cle);\n",
    /* The values in force an explanation was given for: when one of them
     * changes, the explanation lapses (caduque_le). */
    "CREATE TABLE explication_valeur(\n"
    "  explication_id INTEGER NOT NULL REFERENCES explication(id) ON DELETE CASCADE,\n"
    "  signataire TEXT NOT NULL, periode TEXT NOT NULL, indicateur TEXT NOT NULL,\n"
    "  valeur REAL, manquant TEXT,\n"
    "  PRIMARY KEY(explication_id, signataire, periode, indicateur)) WITHOUT ROWID;\n",
    "CREATE TABLE exclusion(\n"           /* values under a bloquant finding */
    "  signataire TEXT NOT NULL, periode TEXT NOT NULL, indicateur TEXT NOT NULL,\n"
    "  constat_id INTEGER NOT NULL,\n"
    "  PRIMARY KEY(signataire, periode, indicateur)) WITHOUT ROWID;\n",
    /* Aggregates by région and nation, each with its coverage. */
    "CREATE TABLE agregat(\n"
    "  niveau TEXT NOT NULL CHECK (niveau IN ('region','national')),\n"
    "  zone TEXT NOT NULL,\n"             /* région code, or 'FR' */
    "  groupe TEXT NOT NULL,\n"           /* signatory type: D, M, R */
    "  periode TEXT NOT NULL, indicateur TEXT NOT NULL,\n"
    "  valeur REAL, numerateur REAL, denominateur REAL,\n"
    "  couverts INTEGER NOT NULL, attendus INTEGER NOT NULL,\n"
    "  part_couverte REAL,\n"             /* ratio: share of the denominator covered */
    "  partiel INTEGER NOT NULL,\n"       /* 1 when couverts < attendus */
    "  derive INTEGER NOT NULL DEFAULT 0,\n" /* 1: a year derived from S1 + S2 */
    /* National from roll-ups (calpae-consolidate --national): régions
     * received / régions; NULL when computed from signatories. */
    "  regions_couvertes INTEGER, regions_attendues INTEGER,\n"
    "  PRIMARY KEY(niveau, zone, groupe, periode, indicateur)) WITHOUT ROWID;\n",
    "CREATE INDEX agregat_periode ON agregat(periode, niveau, zone);\n",
    "CREATE TABLE contribution(\n"        /* which signatory gave what to an aggregate */
    "  niveau TEXT NOT NULL, zone TEXT NOT NULL, groupe TEXT NOT NULL,\n"
    "  periode TEXT NOT NULL, indicateur TEXT NOT NULL, signataire TEXT NOT NULL,\n"
    "  valeur REAL, numerateur REAL, denominateur REAL, derive INTEGER NOT NULL DEFAULT 0,\n"
    "  PRIMARY KEY(niveau, zone, groupe, periode, indicateur, signataire)) WITHOUT ROWID;\n",
    /* National tier: the regional roll-ups received (ingest/rollup.c), one
     * rollup row per accepted file; every file is kept as history and
     * rang (recu_le|nom, as for courant) picks the one in force. */
    "CREATE TABLE rollup(\n"
    "  fichier_id INTEGER PRIMARY KEY REFERENCES fichier(id) ON DELETE CASCADE,\n"
    "  region TEXT NOT NULL, periode TEXT NOT NULL,\n"
    "  version_catalogue TEXT NOT NULL, version_logiciel TEXT, genere_le TEXT,\n"
    "  donnees_du TEXT,\n"
    "  rang TEXT NOT NULL);\n",
    "CREATE INDEX rollup_rp ON rollup(region, periode, rang);\n",
    "CREATE TABLE rollup_agregat(\n"
    "  fichier_id INTEGER NOT NULL REFERENCES rollup(fichier_id) ON DELETE CASCADE,\n"
    "  groupe TEXT NOT NULL, indicateur TEXT NOT NULL, nature TEXT NOT NULL,\n"
    "  valeur REAL, numerateur REAL, denominateur REAL,\n"
    "  poids REAL,\n"                    /* moyenne: the weight sum (= denominateur) */
    "  couverts INTEGER NOT NULL, attendus INTEGER NOT NULL, part_couverte REAL,\n"
    "  derive INTEGER NOT NULL,\n"
    "  PRIMARY KEY(fichier_id, groupe, indicateur)) WITHOUT ROWID;\n",
    "CREATE TABLE rollup_contribution(\n"
    "  fichier_id INTEGER NOT NULL REFERENCES rollup(fichier_id) ON DELETE CASCADE,\n"
    "  groupe TEXT NOT NULL, indicateur TEXT NOT NULL, signataire TEXT NOT NULL,\n"
    "  valeur REAL, numerateur REAL, denominateur REAL, derive INTEGER NOT NULL,\n"
    "  PRIMARY KEY(fichier_id, groupe, indicateur, signataire)) WITHOUT ROWID;\n",
    "CREATE TABLE rollup_constat(\n"     /* findings summary of the région */
    "  fichier_id INTEGER NOT NULL REFERENCES rollup(fichier_id) ON DELETE CASCADE,\n"
    "  regle TEXT NOT NULL, gravite TEXT NOT NULL, nombre INTEGER NOT NULL,\n"
    "  PRIMARY KEY(fichier_id, regle, gravite)) WITHOUT ROWID;\n",
    /* Render: what was last rendered, to redo only what changed. */
    "CREATE TABLE rendu(\n"
    "  zone TEXT NOT NULL, periode TEXT NOT NULL, empreinte TEXT NOT NULL,\n"
    "  rendu_le TEXT NOT NULL, PRIMARY KEY(zone, periode)) WITHOUT ROWID;\n",
    /* The documented views. */
    "CREATE VIEW valeurs_courantes AS\n"
    "  SELECT c.signataire, c.periode, c.indicateur, v.valeur, v.cible, v.commentaire,\n"
    "         f.nom AS fichier, v.emplacement, f.recu_le,\n"
    "         v.manquant, v.brut, f.empreinte, v.id AS valeur_id\n"
    "  FROM courant c JOIN valeur v ON v.id = c.valeur_id\n"
    "  JOIN fichier f ON f.id = v.fichier_id;\n",
    "CREATE VIEW soumissions AS\n"
    "  SELECT f.nom AS fichier, f.empreinte, f.recu_le, f.statut, f.nb_valeurs,\n"
    "         f.nb_rejets, f.format, f.encodage, f.separateur, f.forme, f.feuille,\n"
    "         f.niveau, f.motif, d.nom AS doublon_de, f.chemin, f.taille, f.ingere_le\n"
    "  FROM fichier f LEFT JOIN fichier d ON d.id = f.doublon_de;\n",
    "CREATE VIEW rejets AS\n"
    "  SELECT f.nom AS fichier, r.emplacement, r.code, r.message, r.brut,\n"
    "         r.signataire, r.periode, r.indicateur, f.recu_le\n"
    "  FROM rejet r JOIN fichier f ON f.id = r.fichier_id;\n",
    "CREATE VIEW constats AS\n"
    "  SELECT c.regle, c.gravite, c.signataire, c.periode, c.indicateurs, c.valeurs,\n"
    "    c.message,\n"
    "    (SELECT group_concat(nom, ', ') FROM (SELECT DISTINCT f.nom FROM\n"
    "       (SELECT v.fichier_id AS fid FROM constat_valeur cv JOIN valeur v\n"
    "          ON v.id = cv.valeur_id WHERE cv.constat_id = c.id\n"
    "        UNION SELECT s.fichier_id FROM constat_source s WHERE s.constat_id = c.id) x\n"
    "       JOIN fichier f ON f.id = x.fid ORDER BY f.nom)) AS fichier,\n"
    "    (SELECT group_concat(e, ', ') FROM\n"
    "       (SELECT cv.rang AS r, v.emplacement AS e FROM constat_valeur cv\n"
    "          JOIN valeur v ON v.id = cv.valeur_id WHERE cv.constat_id = c.id\n"
    "        UNION ALL SELECT s.rang, s.emplacement FROM constat_source s\n"
    "          WHERE s.constat_id = c.id AND s.emplacement IS NOT NULL ORDER BY 1)) AS emplacement,\n"
    "    (SELECT e.justification FROM explication e WHERE e.cle = c.cle\n"
    "       AND e.valeurs = c.valeurs AND e.caduque_le IS NULL\n"
    "       ORDER BY e.id DESC LIMIT 1) AS explication,\n"
    "    c.cle, c.id,\n"
    "    (SELECT s.region FROM ref_signataire s WHERE s.code = c.signataire) AS region\n"
    "  FROM constat c;\n",
    "CREATE VIEW agregats AS\n"
    "  SELECT niveau, zone, groupe, periode, indicateur, valeur, numerateur,\n"
    "         denominateur, couverts, attendus, partiel, part_couverte, derive,\n"
    "         regions_couvertes, regions_attendues\n"
    "  FROM agregat;\n",
    /* The roll-up in force per région and period: the latest received. */
    "CREATE VIEW rollups_courants AS\n"
    "  SELECT r.region, r.periode, r.fichier_id, f.nom AS fichier, f.recu_le,\n"
    "         r.version_catalogue, r.version_logiciel, r.genere_le, r.donnees_du\n"
    "  FROM rollup r JOIN fichier f ON f.id = r.fichier_id\n"
    "  WHERE NOT EXISTS (SELECT 1 FROM rollup o WHERE o.region = r.region\n"
    "    AND o.periode = r.periode AND o.rang > r.rang);\n",
    NULL,
};

/* v2: render reads the rejections by signatory and period (feedback
 * reports), which scanned the whole table for every signatory. (Queries
 * by period and indicator read a list once rather than index courant,
 * which every commit of ingest would pay for.) */
static const char *const schema_v2[] = {
    "CREATE INDEX rejet_sp ON rejet(signataire, periode);\n",
    NULL,
};

/* v3: the generation of the data, so that calpae-consolidate can tell in
 * constant time whether anything it reads changed since its last run
 * (consolidate/inputs.c). One row, moved by a trigger on every insertion,
 * update and deletion in each table the stage reads or rewrites, whoever
 * writes (the sqlite3 shell, another program); but for the meta key where
 * the stage records its fingerprint. CP_DB_BULK connections turn the
 * triggers off and move it once per transaction instead (cp_db_begin):
 * a trigger per row would add about a sixth to ingest. cp_db_generation
 * checks these exact statements against sqlite_master. */
#define GEN_MOVE " BEGIN UPDATE generation SET n = n + 1; END"
#define GEN_TRIGGERS(t)                                                 \
    "CREATE TRIGGER generation_" t "_i AFTER INSERT ON " t GEN_MOVE,    \
        "CREATE TRIGGER generation_" t "_u AFTER UPDATE ON " t GEN_MOVE, \
        "CREATE TRIGGER generation_" t "_d AFTER DELETE ON " t GEN_MOVE
static const char *const schema_v3[] = {
    "CREATE TABLE generation(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
    "INSERT INTO generation VALUES(1, 0)",
    GEN_TRIGGERS("ref_indicateur"),
    GEN_TRIGGERS("ref_signataire"),
    GEN_TRIGGERS("ref_region"),
    GEN_TRIGGERS("ref_recentralisation"),
    GEN_TRIGGERS("ref_departement"),
    GEN_TRIGGERS("fichier"),
    GEN_TRIGGERS("valeur"),
    GEN_TRIGGERS("courant"),
    GEN_TRIGGERS("rejet"),
    GEN_TRIGGERS("explication"),
    GEN_TRIGGERS("explication_valeur"),
    GEN_TRIGGERS("rollup"),
    GEN_TRIGGERS("rollup_agregat"),
    GEN_TRIGGERS("rollup_contribution"),
    GEN_TRIGGERS("rollup_constat"),
    GEN_TRIGGERS("constat"),
    GEN_TRIGGERS("constat_valeur"),
    GEN_TRIGGERS("constat_source"),
    GEN_TRIGGERS("exclusion"),
    GEN_TRIGGERS("agregat"),
    GEN_TRIGGERS("contribution"),
    "CREATE TRIGGER generation_meta_i AFTER INSERT ON meta"
    " WHEN NEW.cle <> '" CP_DB_INPUTS_KEY "'" GEN_MOVE,
    "CREATE TRIGGER generation_meta_u AFTER UPDATE ON meta"
    " WHEN NEW.cle <> '" CP_DB_INPUTS_KEY "' OR OLD.cle <> '" CP_DB_INPUTS_KEY "'" GEN_MOVE,
    "CREATE TRIGGER generation_meta_d AFTER DELETE ON meta"
    " WHEN OLD.cle <> '" CP_DB_INPUTS_KEY "'" GEN_MOVE,
    NULL,
};

static const char *const *const migrations[] = {schema_v1, schema_v2, schema_v3};

/*
 * A CP_DB_BULK connection: its statements reading and moving the
 * generation, the value it last moved it to (known: a transaction of its
 * own committed it), and whether its current transaction is covered, for
 * the commit hook. A transaction is covered when it moves the generation,
 * or when the generation is still the value this connection moved it to
 * and nobody read it since on this connection (cp_db_generation forgets
 * it). Why that is enough: only a consolidation stores the generation (in
 * its fingerprint), in a transaction it began with cp_db_begin on a bulk
 * connection, under the write lock; so the value it stores is one its own
 * connection set, never one another connection left unmoved; and having
 * read it, that connection moves it again before writing anything else.
 * Ingest thus moves it once per run, not once per file: the page a move
 * dirties is one more WAL frame per transaction (+2.7 % of ingest CPU on
 * the bench corpus when moved per file).
 */
struct bulk {
    sqlite3 *db;
    sqlite3_stmt *read, *move;
    long long last;
    int known, covered;
};

/* Refuses to commit a write to the database that is not covered: a bulk
 * writer must begin with cp_db_begin. */
static int bulk_commit(void *p)
{
    struct bulk *b = p;
    int refuse = !b->covered && sqlite3_txn_state(b->db, "main") == SQLITE_TXN_WRITE;

    b->covered = 0;
    return refuse;
}

/* A move rolled back did not happen: the next transaction moves again. */
static void bulk_rollback(void *p)
{
    struct bulk *b = p;

    b->covered = 0;
    b->known = 0;
}

/* The connection's struct bulk, NULL when it is not a bulk connection
 * (sqlite3_commit_hook returns the argument it replaces). */
static struct bulk *bulk_of(sqlite3 *db)
{
    struct bulk *b = sqlite3_commit_hook(db, NULL, NULL);

    if (b)
        sqlite3_commit_hook(db, bulk_commit, b);
    return b;
}

static int bulk_setup(sqlite3 *db, struct cp_err *err)
{
    struct bulk *b = calloc(1, sizeof *b);
    int off = 1;

    if (!b)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    b->db = db;
    sqlite3_commit_hook(db, bulk_commit, b);
    sqlite3_rollback_hook(db, bulk_rollback, b);
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &off) != SQLITE_OK || off)
        return cp_db_fail(db, err, "désactivation des déclencheurs");
    return 0;
}

/* Undoes bulk_setup before the connection is closed. */
static void bulk_release(sqlite3 *db)
{
    struct bulk *b = sqlite3_commit_hook(db, NULL, NULL);

    sqlite3_rollback_hook(db, NULL, NULL);
    if (b) {
        sqlite3_finalize(b->read);
        sqlite3_finalize(b->move);
        free(b);
    }
}

const char *cp_db_default_path(void)
{
    const char *p = getenv("CALPAE_DB");
    return p && *p ? p : "calpae.db";
}

int cp_db_fail(sqlite3 *db, struct cp_err *err, const char *what)
{
    int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
    int status = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED
                     ? CP_EX_TEMPFAIL
                     : CP_EX_IOERR;
    return cp_err_set(err, status, "db", NULL, "base de données : %s : %s", what,
                      db ? sqlite3_errmsg(db) : "mémoire insuffisante");
}

int cp_db_exec(sqlite3 *db, const char *sql, struct cp_err *err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return cp_db_fail(db, err, "exécution SQL");
    return 0;
}

int cp_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct cp_err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return cp_db_fail(db, err, "préparation d'une requête");
    }
    return 0;
}

/* Runs a statement of a struct bulk (prepared the first time) to its end:
 * 1 with *n when it gave a row, 0 without or without the table (dropped
 * by hand: the generation proves nothing then, cp_db_generation), -1 on
 * any other error. */
static int bulk_step(sqlite3 *db, sqlite3_stmt **st, const char *sql, long long *n)
{
    int got = 0, s;

    if (!*st && sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return (sqlite3_errcode(db) & 0xff) == SQLITE_ERROR ? 0 : -1;
    while ((s = sqlite3_step(*st)) == SQLITE_ROW) {
        *n = sqlite3_column_int64(*st, 0);
        got = 1;
    }
    sqlite3_reset(*st);
    if (s == SQLITE_DONE)
        return got;
    return (s & 0xff) == SQLITE_ERROR ? 0 : -1;
}

int cp_db_begin(sqlite3 *db, struct cp_err *err)
{
    struct bulk *b;
    long long n = 0;
    int got;

    if (cp_db_exec(db, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    if (!(b = bulk_of(db)))
        return 0;
    /* Under the write lock, so that nobody moves it in between. Without
     * its row the generation proves nothing (cp_db_generation): nothing to
     * move then, and the transaction is covered all the same. */
    got = bulk_step(db, &b->read, "SELECT n FROM generation WHERE id = 1", &n);
    if (got == 1 && (!b->known || n != b->last))
        got = bulk_step(db, &b->move, "UPDATE generation SET n = n + 1 WHERE id = 1 RETURNING n",
                        &n);
    if (got < 0) {
        cp_db_fail(db, err, "génération des données");
        cp_db_rollback(db);
        return -1;
    }
    b->known = got == 1;
    b->last = n;
    b->covered = 1;
    return 0;
}

int cp_db_commit(sqlite3 *db, struct cp_err *err)
{
    return cp_db_exec(db, "COMMIT", err);
}

void cp_db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int user_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *st;
    int rc = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *v = sqlite3_column_int(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static int migrate(sqlite3 *db, struct cp_err *err)
{
    const int target = (int)(sizeof migrations / sizeof migrations[0]);
    char pragma[64];
    int v;

    if (user_version(db, &v) < 0)
        return cp_db_fail(db, err, "lecture de la version du schéma");
    if (v == target)
        return 0;
    if (v > target)
        return cp_err_set(err, CP_EX_CONFIG, "db_too_new", NULL,
                          "la base a été écrite par une version plus récente de calpae "
                          "(schéma %d, celle-ci connaît %d) : mettez calpae à jour",
                          v, target);
    if (cp_db_begin(db, err) < 0)
        return -1;
    /* Re-read under the write lock: another process may have migrated. */
    if (user_version(db, &v) < 0) {
        cp_db_rollback(db);
        return cp_db_fail(db, err, "lecture de la version du schéma");
    }
    for (; v < target; v++) {
        for (const char *const *stmt = migrations[v]; *stmt; stmt++) {
            if (cp_db_exec(db, *stmt, err) < 0) {
                cp_db_rollback(db);
                cp_err_prefix(err, "migration du schéma vers la version %d : ", v + 1);
                return -1;
            }
        }
    }
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", target);
    if (cp_db_exec(db, pragma, err) < 0) {
        cp_db_rollback(db);
        return -1;
    }
    return cp_db_commit(db, err);
}

/* CALPAE_SQL_PROFILE=1: each statement's run time (nanoseconds, from its
 * first step to its reset, so including what the caller does between
 * rows) and its text on stderr, one line each ("PROF", nanoseconds, text,
 * tab-separated; line breaks of the text as spaces); for profiling
 * (bench/RESULTS.md). */
static int sql_profile(unsigned type, void *ctx, void *p, void *x)
{
    const char *sql = sqlite3_sql((sqlite3_stmt *)p);

    (void)type;
    (void)ctx;
    fprintf(stderr, "PROF\t%lld\t", (long long)*(sqlite3_int64 *)x);
    for (; sql && *sql; sql++)
        fputc(*sql == '\n' || *sql == '\r' || *sql == '\t' ? ' ' : *sql, stderr);
    fputc('\n', stderr);
    return 0;
}

int cp_db_open(sqlite3 **out, const char *path, int flags, struct cp_err *err)
{
    sqlite3 *db = NULL;
    int oflags = (flags & CP_DB_READONLY) ? SQLITE_OPEN_READONLY
                                          : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

    *out = NULL;
    if (sqlite3_open_v2(path, &db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        cp_err_set(err, (flags & CP_DB_READONLY) ? CP_EX_NOINPUT : CP_EX_CANTCREAT, "db",
                   path, "impossible d'ouvrir la base « %s » : %s", path,
                   db ? sqlite3_errmsg(db) : "mémoire insuffisante");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_extended_result_codes(db, 1);
    if (getenv("CALPAE_SQL_PROFILE"))
        sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, sql_profile, NULL);
    if (!(flags & CP_DB_READONLY)) {
        if (cp_db_exec(db, "PRAGMA journal_mode=WAL", err) < 0)
            goto fail;
    }
    if (cp_db_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;"
                       "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000",
                   err) < 0)
        goto fail;
    if (!(flags & CP_DB_READONLY) && migrate(db, err) < 0)
        goto fail;
    if ((flags & CP_DB_BULK) && bulk_setup(db, err) < 0)
        goto fail;
    *out = db;
    return 0;
fail:
    cp_err_prefix(err, "%s : ", path);
    bulk_release(db);
    sqlite3_close(db);
    return -1;
}

int cp_db_close(sqlite3 *db, struct cp_err *err)
{
    if (!db)
        return 0;
    bulk_release(db);
    if (sqlite3_close(db) != SQLITE_OK) {
        cp_db_fail(db, err, "fermeture");
        sqlite3_close_v2(db);
        return -1;
    }
    return 0;
}

/* One integer from a statement without parameters; -1 when it fails or
 * gives no row or NULL. */
static int query_int(sqlite3 *db, const char *sql, long long *v)
{
    sqlite3_stmt *st;
    int rc = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *v = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

int cp_db_generation(sqlite3 *db, long long *generation, long long *schema)
{
    struct bulk *b = bulk_of(db);
    sqlite3_stmt *st;
    int ok = 1;

    /* What is read here may be stored (a consolidation's fingerprint): the
     * next transaction of this connection must move it again. */
    if (b)
        b->known = 0;
    if (query_int(db, "SELECT n FROM generation WHERE id = 1", generation) < 0 ||
        query_int(db, "PRAGMA schema_version", schema) < 0)
        return 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                           " AND sql = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    for (const char *const *t = schema_v3; ok && *t; t++) {
        if (strncmp(*t, "CREATE TRIGGER ", 15) != 0)
            continue;
        sqlite3_bind_text(st, 1, *t, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return ok;
}

char *cp_db_meta_get(sqlite3 *db, const char *key)
{
    sqlite3_stmt *st;
    char *v = NULL;

    if (sqlite3_prepare_v2(db, "SELECT valeur FROM meta WHERE cle = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        v = t ? strdup(t) : NULL;
    }
    sqlite3_finalize(st);
    return v;
}

int cp_db_meta_set(sqlite3 *db, const char *key, const char *value, struct cp_err *err)
{
    sqlite3_stmt *st;
    int rc = 0;

    if (cp_db_prepare(db,
                      "INSERT INTO meta(cle, valeur) VALUES(?, ?)"
                      " ON CONFLICT(cle) DO UPDATE SET valeur = excluded.valeur",
                      &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cp_db_fail(db, err, "écriture des métadonnées");
    sqlite3_finalize(st);
    return rc;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static int step_reset(sqlite3 *db, sqlite3_stmt *st, struct cp_err *err)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : cp_db_fail(db, err, "copie des données de référence");
}

static int sync_indicators(sqlite3 *db, const struct cp_ref *ref, struct cp_err *err)
{
    sqlite3_stmt *st;
    int rc = 0;

    if (cp_db_prepare(db,
                      "INSERT INTO ref_indicateur VALUES"
                      "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
                      &st, err) < 0)
        return -1;
    for (size_t i = 0; i < ref->nind && rc == 0; i++) {
        const struct cp_indicator *d = &ref->ind[i];
        char types[8];
        int n = 0;

        if (d->types & CP_TYPE_D)
            n += snprintf(types + n, sizeof types - (size_t)n, "%sD", n ? "," : "");
        if (d->types & CP_TYPE_M)
            n += snprintf(types + n, sizeof types - (size_t)n, "%sM", n ? "," : "");
        if (d->types & CP_TYPE_R)
            snprintf(types + n, sizeof types - (size_t)n, "%sR", n ? "," : "");
        sqlite3_bind_text(st, 1, d->code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, d->label, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, d->axis, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, cp_unit_name(d->unit), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, cp_nature_name(d->nature), -1, SQLITE_STATIC);
        bind_opt_text(st, 6, d->num >= 0 ? ref->ind[d->num].code : NULL);
        bind_opt_text(st, 7, d->den >= 0 ? ref->ind[d->den].code : NULL);
        bind_opt_text(st, 8, d->weight >= 0 ? ref->ind[d->weight].code : NULL);
        if (d->has_min)
            sqlite3_bind_double(st, 9, d->min);
        if (d->has_max)
            sqlite3_bind_double(st, 10, d->max);
        sqlite3_bind_text(st, 11,
                          d->sens == CP_SENS_HAUSSE   ? "hausse"
                          : d->sens == CP_SENS_BAISSE ? "baisse"
                                                      : "neutre",
                          -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 12, d->year_from);
        sqlite3_bind_int(st, 13, d->year_to);
        sqlite3_bind_int(st, 14, d->yearly_only);
        sqlite3_bind_text(st, 15, types, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 16, d->mandatory);
        sqlite3_bind_int(st, 17, (int)i);
        rc = step_reset(db, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

static int sync_signatories(sqlite3 *db, const struct cp_ref *ref, struct cp_err *err)
{
    sqlite3_stmt *st;
    int rc = 0;

    if (cp_db_prepare(db, "INSERT INTO ref_signataire VALUES(?1,?2,?3,?4,?5,?6,?7)", &st,
                      err) < 0)
        return -1;
    for (size_t i = 0; i < ref->nsig && rc == 0; i++) {
        const struct cp_signatory *s = &ref->sig[i];
        char type[2] = {s->type, '\0'};

        sqlite3_bind_text(st, 1, s->code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, s->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, type, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, s->departements ? s->departements : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, s->region, -1, SQLITE_STATIC);
        bind_opt_text(st, 6, s->start);
        bind_opt_text(st, 7, s->end);
        rc = step_reset(db, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

static int sync_places(sqlite3 *db, const struct cp_ref *ref, struct cp_err *err)
{
    sqlite3_stmt *r = NULL, *d = NULL;
    int rc = -1;

    sqlite3_stmt *x = NULL;

    if (cp_db_prepare(db, "INSERT INTO ref_region VALUES(?1,?2)", &r, err) < 0 ||
        cp_db_prepare(db, "INSERT INTO ref_departement VALUES(?1,?2,?3)", &d, err) < 0 ||
        cp_db_prepare(db, "INSERT OR REPLACE INTO ref_recentralisation VALUES(?1,?2,?3)", &x,
                      err) < 0)
        goto out;
    for (size_t i = 0; i < ref->nrecentral; i++) {
        sqlite3_bind_text(x, 1, ref->sig[ref->recentral[i].sig].code, -1, SQLITE_STATIC);
        sqlite3_bind_text(x, 2, ref->recentral[i].axis, -1, SQLITE_STATIC);
        sqlite3_bind_int(x, 3, ref->recentral[i].year_from);
        if (step_reset(db, x, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < ref->nreg; i++) {
        sqlite3_bind_text(r, 1, ref->reg[i].code, -1, SQLITE_STATIC);
        sqlite3_bind_text(r, 2, ref->reg[i].name, -1, SQLITE_STATIC);
        if (step_reset(db, r, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < ref->ndep; i++) {
        sqlite3_bind_text(d, 1, ref->dep[i].code, -1, SQLITE_STATIC);
        sqlite3_bind_text(d, 2, ref->dep[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(d, 3, ref->dep[i].region, -1, SQLITE_STATIC);
        if (step_reset(db, d, err) < 0)
            goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(r);
    sqlite3_finalize(d);
    sqlite3_finalize(x);
    return rc;
}

int cp_db_sync_ref(sqlite3 *db, const struct cp_ref *ref, struct cp_err *err)
{
    char *stored = cp_db_meta_get(db, "version_referentiel");
    struct cp_buf version = CP_BUF_INIT(1024);
    int same, rc = -1;

    /* The version covers every reference file that shapes the tables. */
    cp_buf_addf(&version, "%s:%zu:%zu:%zu:%zu", ref->catalog_version, ref->nsig, ref->nreg,
                ref->ndep, ref->nrecentral);
    for (size_t i = 0; i < ref->nsig; i++)
        cp_buf_addf(&version, "%s%s%s", ref->sig[i].code, ref->sig[i].start ? ref->sig[i].start : "",
                    ref->sig[i].end ? ref->sig[i].end : "");
    {
        char hex[CP_SHA256_HEX];

        if (cp_sha256_buf(cp_buf_str(&version), version.len, hex) < 0) {
            cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
            goto out;
        }
        cp_buf_reset(&version);
        cp_buf_adds(&version, hex);
    }
    same = stored && strcmp(stored, cp_buf_str(&version)) == 0;
    free(stored);
    if (same) {
        rc = 0;
        goto out;
    }
    if (cp_db_begin(db, err) < 0)
        goto out;
    if (cp_db_exec(db,
                   "DELETE FROM ref_indicateur; DELETE FROM ref_signataire;"
                   "DELETE FROM ref_region; DELETE FROM ref_departement;"
                   "DELETE FROM ref_recentralisation;",
                   err) < 0 ||
        sync_indicators(db, ref, err) < 0 || sync_signatories(db, ref, err) < 0 ||
        sync_places(db, ref, err) < 0 ||
        cp_db_meta_set(db, "version_referentiel", cp_buf_str(&version), err) < 0 ||
        cp_db_meta_set(db, "version_catalogue", ref->catalog_version, err) < 0) {
        cp_db_rollback(db);
        goto out;
    }
    rc = cp_db_commit(db, err);
out:
    cp_buf_release(&version);
    return rc;
}

void cp_db_now(char *out)
{
    const char *fixed = getenv("CALPAE_NOW");
    time_t t;
    struct tm tm;

    if (fixed && strlen(fixed) == 19) {
        memcpy(out, fixed, 20);
        return;
    }
    t = time(NULL);
    localtime_r(&t, &tm);
    strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm);
}
