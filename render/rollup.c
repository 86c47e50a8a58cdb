/*
 * The regional roll-up (aggregation.md, "The regional roll-up"): what a
 * région sends to the national delegation for one period, as a
 * self-checking text file that calpae-ingest reads back at the national
 * tier (ingest/rollup.c). Numbers are written with '.' and 17 significant
 * digits so that the national tier recomputes exactly what was sent.
 */
#include "render/render.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/afile.h"
#include "common/buf.h"
#include "common/db.h"
#include "common/hash.h"

#define ROLLUP_MAX_BYTES (256u << 20)
#define ROLLUP_MAX_LINE (1u << 20)

/* A text field: ';', '"' and line breaks are quoted RFC 4180 style (codes
 * never hold them, but the file must stay parseable whatever the data). */
static void add_text(struct cp_buf *b, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ";\"\r\n")) {
        cp_buf_adds(b, s);
        return;
    }
    cp_buf_addc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            cp_buf_addc(b, '"');
        cp_buf_addc(b, *s == '\r' || *s == '\n' ? ' ' : *s);
    }
    cp_buf_addc(b, '"');
}

/* One column of a result row: NULL as an empty field, reals exactly. */
static void add_col(struct cp_buf *b, sqlite3_stmt *st, int c)
{
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL:
        break;
    case SQLITE_INTEGER:
        cp_buf_addf(b, "%lld", (long long)sqlite3_column_int64(st, c));
        break;
    case SQLITE_FLOAT:
        cp_buf_addf(b, "%.17g", sqlite3_column_double(st, c));
        break;
    default:
        add_text(b, (const char *)sqlite3_column_text(st, c));
        break;
    }
}

/* Each result row as "<kind>;col;col…". */
static int add_rows(struct cp_buf *b, sqlite3 *db, const char *kind, const char *sql,
                    const char *zone, const char *period, struct cp_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (cp_db_prepare(db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cp_buf_adds(b, kind);
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            cp_buf_addc(b, ';');
            add_col(b, st, c);
        }
        cp_buf_addc(b, '\n');
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return cp_db_fail(db, err, "lecture des agrégats pour le fichier de remontée");
    return 0;
}

static const char agg_sql[] =
    "SELECT a.groupe, a.indicateur, i.nature, a.valeur, a.numerateur, a.denominateur,"
    " CASE WHEN i.nature = 'moyenne' THEN a.denominateur END, a.couverts, a.attendus,"
    " a.part_couverte, a.derive"
    " FROM agregat a JOIN ref_indicateur i ON i.code = a.indicateur"
    " WHERE a.niveau = 'region' AND a.zone = ?1 AND a.periode = ?2"
    " ORDER BY a.groupe, i.rang";
static const char contrib_sql[] =
    "SELECT c.groupe, c.indicateur, c.signataire, c.valeur, c.numerateur, c.denominateur,"
    " c.derive"
    " FROM contribution c JOIN ref_indicateur i ON i.code = c.indicateur"
    " WHERE c.niveau = 'region' AND c.zone = ?1 AND c.periode = ?2"
    " ORDER BY c.groupe, i.rang, c.signataire";
static const char findings_sql[] =
    "SELECT c.regle, c.gravite, count(*) FROM constat c"
    " JOIN ref_signataire s ON s.code = c.signataire"
    " WHERE s.region = ?1 AND c.periode = ?2"
    " GROUP BY c.regle, c.gravite ORDER BY c.regle, c.gravite";

int cp_render_rollup(const struct cp_render_job *j, struct cp_err *err)
{
    struct cp_buf b = CP_BUF_INIT(ROLLUP_MAX_BYTES);
    struct cp_afile a = {0};
    char path[PATH_MAX], hex[CP_SHA256_HEX];
    char *catalog = NULL;
    int rc = -1;

    if (j->national)
        return 0;
    if (snprintf(path, sizeof path, "%s/rollup-%s-%s.csv", j->dir, j->zone, j->period) >=
        (int)sizeof path)
        return cp_err_set(err, CP_EX_CANTCREAT, "io", j->dir, "chemin de sortie trop long");
    catalog = cp_db_meta_get(j->db, "version_catalogue");
    cp_buf_adds(&b, "#calpae-rollup;1\n");
    cp_buf_adds(&b, "#region;");
    add_text(&b, j->zone);
    cp_buf_adds(&b, "\n#periode;");
    add_text(&b, j->period);
    cp_buf_adds(&b, "\n#version_catalogue;");
    add_text(&b, catalog ? catalog : "");
    cp_buf_adds(&b, "\n#version_logiciel;" CALPAE_VERSION "\n#genere_le;");
    add_text(&b, j->generated);
    cp_buf_adds(&b, "\n#donnees_du;");
    add_text(&b, j->data_date);
    cp_buf_adds(&b, "\n#colonnes;agregat;groupe;indicateur;nature;valeur;numerateur;"
                    "denominateur;poids;couverts;attendus;part_couverte;derive\n");
    if (add_rows(&b, j->db, "agregat", agg_sql, j->zone, j->period, err) < 0)
        goto out;
    cp_buf_adds(&b, "#colonnes;contribution;groupe;indicateur;signataire;valeur;numerateur;"
                    "denominateur;derive\n");
    if (add_rows(&b, j->db, "contribution", contrib_sql, j->zone, j->period, err) < 0)
        goto out;
    cp_buf_adds(&b, "#colonnes;constat;regle;gravite;nombre\n");
    if (add_rows(&b, j->db, "constat", findings_sql, j->zone, j->period, err) < 0)
        goto out;
    /* An addition past the cap fails and leaves the buffer as it was: a
     * buffer this close to the cap may have lost a line, so refuse it. */
    if (!b.data || b.len > ROLLUP_MAX_BYTES - ROLLUP_MAX_LINE) {
        cp_err_set(err, CP_EX_SOFTWARE, "too_large", path,
                   "fichier de remontée trop volumineux ou mémoire insuffisante");
        goto out;
    }
    if (cp_sha256_buf(b.data, b.len, hex) < 0) {
        cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
        goto out;
    }
    if (cp_buf_addf(&b, "#sha256;%s\n", hex) < 0) {
        cp_err_set(err, CP_EX_SOFTWARE, "too_large", path,
                   "fichier de remontée trop volumineux ou mémoire insuffisante");
        goto out;
    }
    if (cp_file_same(path, b.data, b.len)) {
        rc = 0;
        goto out;
    }
    if (cp_afile_open(&a, path, err) < 0)
        goto out;
    if (fwrite(b.data, 1, b.len, a.f) != b.len) {
        cp_afile_abort(&a);
        cp_err_set(err, CP_EX_IOERR, "io", path, "écriture de « %s » impossible", path);
        goto out;
    }
    rc = cp_afile_commit(&a, err);
out:
    free(catalog);
    cp_buf_release(&b);
    return rc;
}
