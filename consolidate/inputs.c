/*
 * The fingerprint of everything a regular consolidation reads (see
 * consolidate.h, cp_consolidate_inputs): used by calpae-consolidate and
 * calpae-nightly alike to skip a run whose inputs did not change.
 *
 * The guarantee: any change to anything the stage reads or rewrites (a new
 * file, a resubmission, a rejection, an explanation, reference data synced
 * by another stage, aggregates rewritten by --national, a hand edit in the
 * sqlite3 shell or any other program) makes the fingerprint differ, so that
 * no run is skipped wrongly. How, and why this way:
 *
 * - The files (software version, reference files, rules) are hashed: a
 *   few kilobytes.
 * - The tables are not read. Hashing every row of them (34k values, 69k
 *   contributions on the national bench) took 0.055 s of the 0.07 s of a
 *   re-run; the cost is SQLite handing over each row and column (a few
 *   tenths of a microsecond a row, whatever is done with it), not SHA-256,
 *   so a faster hash or fewer bytes per row cannot reach the 0.03 s aimed
 *   at. Instead the schema (version 3, common/db.c) keeps a generation
 *   number that a trigger moves on every insertion, update and deletion in
 *   each of these tables, whoever writes: triggers are part of the
 *   database, so calpae, the sqlite3 shell and any program using SQLite
 *   run them (INSERT OR REPLACE runs the insertion trigger, cascades the
 *   deletion ones). The fingerprint is then a digest of the files, the
 *   generation and the schema version (a table or trigger dropped,
 *   altered or added moves it).
 * - A trigger per row costs its writer: about a sixth of ingest (0.51 ->
 *   0.60 s CPU on the bench corpus; entering the trigger program is the
 *   cost, even with WHEN 0), and as much of a consolidation on its own 69k
 *   rows. So ingest and the consolidation open their connection with
 *   CP_DB_BULK: triggers off, the generation moved by cp_db_begin (at most
 *   once per transaction; see common/db.c for when once per run is
 *   enough), and a commit that wrote outside such a transaction refused,
 *   so that none of their code paths can forget it.
 * - Rejected: PRAGMA data_version (it does not outlive the connection),
 *   the header's change counter (not kept up to date in WAL mode), row
 *   counts or maximal rowids (blind to updates and same-key replacements),
 *   a version column kept by calpae's writers (blind to other writers).
 * - When the generation cannot vouch for the data (cp_db_generation: its
 *   row deleted, one of its triggers dropped or altered), every row of
 *   every table is hashed, in a fixed order, as before: the guarantee
 *   holds, only slower. Outside it: a writer that deliberately turns
 *   triggers off (SQLITE_DBCONFIG_ENABLE_TRIGGER, the shell's .dbconfig
 *   enable_trigger off) or edits the file's bytes, then puts the
 *   generation back; that is tampering, and --force recomputes anyway.
 */
#include "consolidate/consolidate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "consolidate/internal.h"

/* Reference files cp_ref_load reads from the data folder. */
static const char *const ref_files[] = {
    "catalog.csv", "signataires.csv", "regions.csv", "departements.csv", "alias.csv",
    "recentralisation.csv",
};

/*
 * When the generation cannot vouch for the data: the tables it watches,
 * each in a fixed order. Inputs: reference tables (synced from the data
 * folder, or used as they are without --data), submissions, values, values
 * in force, rejections (doublon check), explanations, roll-ups. Outputs,
 * compared by the run with what it computes: findings, exclusions,
 * aggregates, contributions, and meta (state fingerprints, consolide_le,
 * reference versions) but for the fingerprint itself.
 */
static const char *const table_sql[] = {
    "SELECT * FROM ref_indicateur ORDER BY code",
    "SELECT * FROM ref_signataire ORDER BY code",
    "SELECT * FROM ref_region ORDER BY code",
    "SELECT * FROM ref_recentralisation ORDER BY signataire, axe",
    "SELECT * FROM ref_departement ORDER BY code",
    "SELECT * FROM fichier ORDER BY id",
    "SELECT * FROM valeur ORDER BY id",
    "SELECT * FROM courant ORDER BY signataire, periode, indicateur",
    "SELECT * FROM rejet ORDER BY id",
    "SELECT * FROM explication ORDER BY id",
    "SELECT * FROM explication_valeur ORDER BY explication_id, signataire, periode, indicateur",
    "SELECT * FROM rollup ORDER BY fichier_id",
    "SELECT * FROM rollup_agregat ORDER BY fichier_id, groupe, indicateur",
    "SELECT * FROM rollup_contribution ORDER BY fichier_id, groupe, indicateur, signataire",
    "SELECT * FROM rollup_constat ORDER BY fichier_id, regle, gravite",
    "SELECT * FROM constat ORDER BY id",
    "SELECT * FROM constat_valeur ORDER BY constat_id, rang",
    "SELECT * FROM constat_source ORDER BY constat_id, rang",
    "SELECT * FROM exclusion ORDER BY signataire, periode, indicateur",
    "SELECT * FROM agregat ORDER BY niveau, zone, groupe, periode, indicateur",
    "SELECT * FROM contribution ORDER BY niveau, zone, groupe, periode, indicateur, signataire",
    "SELECT * FROM meta WHERE cle <> '" CP_CONSOLIDATE_INPUTS_KEY "' ORDER BY cle",
};

/* SHA-256 fed through a buffer: rows are many small fields, and each
 * libcrypto update call costs more than hashing a few bytes. */
struct feed {
    struct cp_sha256 sha;
    struct cp_sha256 *h;
    size_t n;
    unsigned char buf[1 << 16];
};

static int feed_flush(struct feed *f)
{
    int rc = f->n ? cp_sha256_update(f->h, f->buf, f->n) : 0;

    f->n = 0;
    return rc < 0 ? -1 : 0;
}

static int feed_bytes(struct feed *f, const void *p, size_t n)
{
    if (f->n + n > sizeof f->buf) {
        if (feed_flush(f) < 0)
            return -1;
        if (n > sizeof f->buf)
            return cp_sha256_update(f->h, p, n) < 0 ? -1 : 0;
    }
    memcpy(f->buf + f->n, p, n);
    f->n += n;
    return 0;
}

/* A tagged field with its length, so that ("ab","c") and ("a","bc")
 * differ (p may be NULL when n is 0). The length takes one byte below 255
 * (most fields), else 255 and four bytes. */
static int put(struct feed *f, char tag, const void *p, size_t n)
{
    unsigned char head[6];
    size_t k = 2;

    if (f->n + n + sizeof head <= sizeof f->buf && n < 255) {
        unsigned char *o = f->buf + f->n;

        o[0] = (unsigned char)tag;
        o[1] = (unsigned char)n;
        if (n)
            memcpy(o + 2, p, n);
        f->n += n + 2;
        return 0;
    }
    head[0] = (unsigned char)tag;
    if (n < 255) {
        head[1] = (unsigned char)n;
    } else {
        head[1] = 255;
        for (int i = 0; i < 4; i++)
            head[2 + i] = (unsigned char)((unsigned long)n >> (8 * i));
        k = 6;
    }
    return feed_bytes(f, head, k) < 0 || (n && feed_bytes(f, p, n) < 0) ? -1 : 0;
}

/* A tag alone: a row's start, a NULL. */
static int put_tag(struct feed *f, char tag)
{
    if (f->n < sizeof f->buf) {
        f->buf[f->n++] = (unsigned char)tag;
        return 0;
    }
    return feed_bytes(f, &tag, 1);
}

static int hash_table(struct feed *h, sqlite3 *db, const char *sql, struct cp_err *err)
{
    sqlite3_stmt *q = NULL;
    int s = SQLITE_ROW, rc = -1; /* SQLITE_ROW until the rows are read */

    if (cp_db_prepare(db, sql, &q, err) < 0)
        return -1;
    if (put(h, 'T', sql, strlen(sql)) < 0)
        goto out;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        int n = sqlite3_column_count(q);

        if (put_tag(h, 'R') < 0)
            goto out;
        for (int i = 0; i < n; i++) {
            /* One API call per column; the value_* accessors are cheap. */
            sqlite3_value *v = sqlite3_column_value(q, i);

            switch (sqlite3_value_type(v)) {
            case SQLITE_NULL:
                if (put_tag(h, 'N') < 0)
                    goto out;
                break;
            case SQLITE_INTEGER: {
                sqlite3_int64 x = sqlite3_value_int64(v);

                if (put(h, 'I', &x, sizeof x) < 0)
                    goto out;
                break;
            }
            case SQLITE_FLOAT: {
                double x = sqlite3_value_double(v);

                if (put(h, 'F', &x, sizeof x) < 0)
                    goto out;
                break;
            }
            default: {
                const void *p = sqlite3_value_blob(v);

                if (put(h, 'S', p, (size_t)sqlite3_value_bytes(v)) < 0)
                    goto out;
                break;
            }
            }
        }
    }
    if (s != SQLITE_DONE) {
        cp_db_fail(db, err, "empreinte des entrées de la consolidation");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(q);
    if (rc < 0 && s == SQLITE_ROW) /* a hashing failure, not the database's */
        cp_err_set(err, CP_EX_SOFTWARE, "hash", NULL, "empreinte impossible");
    return rc;
}

/* The bytes of a file, or a marker when it cannot be read. */
static int hash_file(struct feed *h, const char *path)
{
    char hex[CP_SHA256_HEX];
    struct cp_err ignored;

    if (cp_sha256_file(path, hex, NULL, &ignored) < 0)
        snprintf(hex, sizeof hex, "absent");
    return put(h, 'P', path, strlen(path)) < 0 || put(h, 'H', hex, strlen(hex)) < 0 ? -1 : 0;
}

static struct feed *feed_new(void)
{
    struct feed *f = malloc(sizeof *f);

    if (!f)
        return NULL;
    f->n = 0;
    f->h = &f->sha;
    if (cp_sha256_init(f->h) < 0) {
        free(f);
        return NULL;
    }
    return f;
}

/* Writes the digest (when out is not NULL) and frees f. */
static int feed_end(struct feed *f, char out[CP_SHA256_HEX])
{
    int rc = -1;

    if (out && feed_flush(f) == 0 && cp_sha256_final(f->h, out) == 0)
        rc = 0;
    cp_sha256_release(f->h);
    free(f);
    return rc;
}

int cp_consolidate_inputs_files(const struct cp_consolidate_opts *o, char out[CP_SHA256_HEX],
                                struct cp_err *err)
{
    struct feed *f = feed_new();
    char path[4096];

    if (!f)
        return cp_err_set(err, CP_EX_SOFTWARE, "hash", NULL, "empreinte impossible");
    /* The software: another version may compute other things. */
    if (put(f, 'V', CALPAE_VERSION, strlen(CALPAE_VERSION)) < 0)
        goto fail;
    /* The reference files, when the run syncs them into the database. */
    if (o->data_dir) {
        for (size_t i = 0; i < sizeof ref_files / sizeof *ref_files; i++) {
            if ((size_t)snprintf(path, sizeof path, "%s/%s", o->data_dir, ref_files[i]) >=
                    sizeof path ||
                hash_file(f, path) < 0)
                goto fail;
        }
    }
    /* The rules, as load_rules picks them. */
    if (o->rules_text) {
        if (put(f, 'X', o->rules_text, strlen(o->rules_text)) < 0)
            goto fail;
    } else if (o->rules_path) {
        if (hash_file(f, o->rules_path) < 0)
            goto fail;
    } else if (o->data_dir) {
        if ((size_t)snprintf(path, sizeof path, "%s/regles.csv", o->data_dir) >= sizeof path ||
            hash_file(f, path) < 0)
            goto fail;
    }
    if (feed_end(f, out) < 0)
        return cp_err_set(err, CP_EX_SOFTWARE, "hash", NULL, "empreinte impossible");
    return 0;
fail:
    feed_end(f, NULL);
    return cp_err_set(err, CP_EX_SOFTWARE, "hash", NULL, "empreinte impossible");
}

int cp_consolidate_inputs_tables(sqlite3 *db, const char *files_fp, char out[CP_SHA256_HEX],
                                 struct cp_err *err)
{
    struct feed *f = feed_new();
    long long generation, schema;

    if (!f)
        return cp_err_set(err, CP_EX_SOFTWARE, "hash", NULL, "empreinte impossible");
    if (put(f, 'H', files_fp, strlen(files_fp)) < 0) {
        feed_end(f, NULL);
        return cp_err_set(err, CP_EX_SOFTWARE, "hash", NULL, "empreinte impossible");
    }
    if (cp_db_generation(db, &generation, &schema) == 1) {
        int bad = put(f, 'G', &generation, sizeof generation) < 0 ||
                  put(f, 'S', &schema, sizeof schema) < 0;

        if (feed_end(f, bad ? NULL : out) < 0)
            return cp_err_set(err, CP_EX_SOFTWARE, "hash", NULL, "empreinte impossible");
        return 0;
    }
    /* hash_table sets err on every failure. */
    for (size_t i = 0; i < sizeof table_sql / sizeof *table_sql; i++) {
        if (hash_table(f, db, table_sql[i], err) < 0) {
            feed_end(f, NULL);
            return -1;
        }
    }
    if (feed_end(f, out) < 0)
        return cp_err_set(err, CP_EX_SOFTWARE, "hash", NULL, "empreinte impossible");
    return 0;
}

int cp_consolidate_inputs(sqlite3 *db, const struct cp_consolidate_opts *o,
                          char out[CP_SHA256_HEX], struct cp_err *err)
{
    char files[CP_SHA256_HEX];

    if (cp_consolidate_inputs_files(o, files, err) < 0)
        return -1;
    return cp_consolidate_inputs_tables(db, files, out, err);
}
