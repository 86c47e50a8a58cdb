/*
 * The feedback report to one signatory (see retour.h), laid out with the
 * engine of pdfdoc.h from a few queries on the database.
 */
#include "render/retour.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/db.h"
#include "common/fmt.h"
#include "common/period.h"
#include "render/advice.h"
#include "render/model.h"
#include "render/pdfdoc.h"

/* The rows of one query, every column as text (NULL stays NULL). */
struct strtab {
    char **cell;
    size_t ncols, nrows, cap;
};

static const char *tab_get(const struct strtab *t, size_t r, size_t c)
{
    return t->cell[r * t->ncols + c];
}

static void tab_release(struct strtab *t)
{
    for (size_t k = 0; k < t->nrows * t->ncols; k++)
        free(t->cell[k]);
    free(t->cell);
    memset(t, 0, sizeof *t);
}

/*
 * GLOB patterns (on the upper-cased name) for a period in a file name:
 * "2021-S1" → "*2021S1*" and "*2021-S1*"; "2021" → the year standing
 * alone, not followed by a half ("_2021.csv", not "20210720", "2021S1").
 */
static void period_globs(const char *period, char *a, char *b, size_t n)
{
    if (strlen(period) == 7) {
        snprintf(a, n, "*%.4sS%c*", period, period[6]);
        snprintf(b, n, "*%.4s-S%c*", period, period[6]);
    } else {
        snprintf(a, n, "*[^0-9]%.4s[^0-9S-]*", period);
        snprintf(b, n, "*[^0-9]%.4s", period);
    }
}

/* Runs st (reset) with ?1 = sig, ?2 = period, ?3 = the files named for
 * nobody (see orphans_sql) when the statement has it, and keeps every
 * row. */
static int tab_load(struct strtab *t, sqlite3 *db, sqlite3_stmt *st, const char *sig,
                    const char *period, const char *orphans, struct cp_err *err)
{
    int r, rc = -1;

    memset(t, 0, sizeof *t);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, sig, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 3)
        sqlite3_bind_text(st, 3, orphans, -1, SQLITE_STATIC);
    t->ncols = (size_t)sqlite3_column_count(st);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (t->nrows == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 16;
            char **q = realloc(t->cell, cap * t->ncols * sizeof *q);
            if (!q) {
                cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
                goto out;
            }
            t->cell = q;
            t->cap = cap;
        }
        for (size_t c = 0; c < t->ncols; c++) {
            const unsigned char *v = sqlite3_column_text(st, (int)c);
            char **slot = &t->cell[t->nrows * t->ncols + c];
            *slot = v ? strdup((const char *)v) : NULL;
            if (v && !*slot) {
                for (size_t k = 0; k < c; k++)
                    free(t->cell[t->nrows * t->ncols + k]);
                cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
                goto out;
            }
        }
        t->nrows++;
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture du retour de contrôle");
        goto out;
    }
    rc = 0;
out:
    sqlite3_reset(st);
    if (rc < 0)
        tab_release(t);
    return rc;
}

/* A file nobody could be named for: no value, no rejection naming a
 * signatory (an unreadable file, a file without a header...). */
#define ORPHAN(f)                                                                          \
    "(NOT EXISTS (SELECT 1 FROM valeur v WHERE v.fichier_id = " f ".id)"                   \
    " AND NOT EXISTS (SELECT 1 FROM rejet r WHERE r.fichier_id = " f ".id"                 \
    "   AND r.signataire IS NOT NULL))"

/* Such a file is the signatory's when its name holds the period (see
 * period_globs: orphans_sql, run once per job) and the signatory's code
 * ("09D") or "CD" and its département ("CD09"). */
#define NAMED_FOR(f)                                                                       \
    "EXISTS (SELECT 1 FROM ref_signataire s WHERE s.code = ?1"                             \
    "   AND (instr(upper(" f ".nom), upper(s.code)) > 0"                                   \
    "     OR (s.departements <> '' AND instr(s.departements, ',') = 0"                     \
    "       AND instr(upper(" f ".nom), 'CD' || s.departements) > 0)))"

/* The files nobody could be named for whose name holds the period (?1, ?2:
 * GLOB patterns, see period_globs), as a JSON array of ids: the same for
 * every signatory of a job, and a scan of every file name. Both patterns
 * hold the year (?3), looked for first, and the patterns' leading "*"
 * makes GLOB slower than the two index lookups of ORPHAN: GLOB is last. */
static const char orphans_sql[] =
    "SELECT json_group_array(f.id) FROM fichier f WHERE instr(f.nom, ?3) > 0"
    " AND " ORPHAN("f") " AND (upper(f.nom) GLOB ?1 OR upper(f.nom) GLOB ?2)";

/* The signatory's files for the period: with its values, with a rejection
 * naming it (for the period or for no period), or named for it among the
 * files of orphans_sql (?3). */
#define SIG_FILES                                                                          \
    "(SELECT fichier_id FROM valeur WHERE signataire = ?1 AND periode = ?2"                \
    " UNION SELECT fichier_id FROM rejet WHERE signataire = ?1"                            \
    "   AND (periode = ?2 OR periode IS NULL)"                                             \
    " UNION SELECT f.id FROM fichier f WHERE f.id IN (SELECT value FROM json_each(?3))"    \
    "   AND " NAMED_FOR("f") ")"

static const char files_sql[] =
    "SELECT f.nom, f.recu_le, f.statut, f.motif, f.nb_valeurs,"
    "  (SELECT count(*) FROM courant c JOIN valeur v ON v.id = c.valeur_id"
    "    WHERE v.fichier_id = f.id AND c.signataire = ?1 AND c.periode = ?2),"
    "  " ORPHAN("f")
    " FROM fichier f WHERE f.id IN " SIG_FILES " ORDER BY f.recu_le, f.nom";

/* Rejections naming the signatory, and unattributed ones (whole-file
 * problems...) in a file that holds no other signatory's figures. */
static const char rejects_sql[] =
    "SELECT f.nom, r.emplacement, r.code, r.message, r.brut, r.indicateur,"
    /* Settled since: a value of a later file is in force for the refused
     * cell's indicator, or (for a whole file) for the period. */
    "  EXISTS (SELECT 1 FROM courant c JOIN valeur v ON v.id = c.valeur_id"
    "    JOIN fichier g ON g.id = v.fichier_id WHERE c.signataire = ?1 AND c.periode = ?2"
    "    AND (r.indicateur IS NULL OR c.indicateur = r.indicateur)"
    "    AND (g.recu_le > f.recu_le OR (g.recu_le = f.recu_le AND g.nom > f.nom)))"
    " FROM rejet r JOIN fichier f ON f.id = r.fichier_id"
    " WHERE r.fichier_id IN " SIG_FILES
    " AND (r.periode = ?2 OR r.periode IS NULL)"
    " AND (r.signataire = ?1 OR (r.signataire IS NULL"
    "   AND NOT EXISTS (SELECT 1 FROM valeur v WHERE v.fichier_id = r.fichier_id"
    "     AND v.signataire <> ?1)"
    "   AND NOT EXISTS (SELECT 1 FROM rejet o WHERE o.fichier_id = r.fichier_id"
    "     AND o.signataire <> ?1)))"
    " ORDER BY f.recu_le, f.nom, length(r.emplacement), r.emplacement, r.id";

static const char findings_sql[] =
    "SELECT regle, gravite, indicateurs, valeurs, message, fichier, emplacement, explication"
    " FROM constats WHERE signataire = ?1 AND periode = ?2"
    " ORDER BY CASE gravite WHEN 'bloquant' THEN 0 WHEN 'avertissement' THEN 1 ELSE 2 END,"
    "  regle, id";

static const char sig_sql[] =
    "SELECT s.nom, s.type, s.region, r.nom FROM ref_signataire s"
    " LEFT JOIN ref_region r ON r.code = s.region WHERE s.code = ?1 AND ?2 IS NOT NULL";

static const char counts_sql[] =
    "SELECT count(*), count(v.valeur), count(v.manquant) FROM courant c"
    " JOIN valeur v ON v.id = c.valeur_id WHERE c.signataire = ?1 AND c.periode = ?2";

/* Everything the report shows, read from the database: it holds its own
 * copies, so it can be written in another thread. */
struct cp_feedback {
    char *sig;
    char *generated_iso;                /* the PDF's creation date */
    struct strtab who, files, rejects, findings, counts;
    char period[CP_PERIOD_STRLEN];      /* "2022-S1" */
    char per[48], generated[16], data_date[16];
};

static const char *nz(const char *s)
{
    return s ? s : "";
}

static const char *status_label(const char *s)
{
    if (!s)
        return "";
    if (strcmp(s, "accepte") == 0)
        return "accepté";
    if (strcmp(s, "accepte_partiel") == 0)
        return "accepté en partie";
    if (strcmp(s, "rejete") == 0)
        return "rejeté";
    if (strcmp(s, "doublon") == 0)
        return "doublon (déjà reçu)";
    return s;
}

static unsigned sev_bg(const char *g)
{
    if (g && strcmp(g, "bloquant") == 0)
        return 0xF6D5D5;
    if (g && strcmp(g, "avertissement") == 0)
        return 0xFCE8C8;
    return 0xDCEBF7;
}

static const char *sev_text(const char *g)
{
    if (g && strcmp(g, "bloquant") == 0)
        return "Bloquant";
    if (g && strcmp(g, "avertissement") == 0)
        return "Avertissement";
    return "Information";
}

/* 1 when rejection k was settled by a later file. */
static int is_settled(const struct cp_feedback *x, size_t k)
{
    const char *v = tab_get(&x->rejects, k, 6);
    return v && strcmp(v, "1") == 0;
}

static void title_block(struct cp_pdf *d, const struct cp_feedback *x)
{
    const char *name = x->who.nrows ? tab_get(&x->who, 0, 0) : x->sig;
    struct cp_buf b = CP_BUF_INIT(4096);
    int nbloq = 0, navert = 0, ninfo = 0, rejected_files = 0, settled = 0;

    cp_pdf_new_page(d);
    cp_pdf_skip(d, 10);
    cp_pdf_para(d, "Retour de contrôle", 22, CP_PDF_BOLD, 0);
    cp_pdf_skip(d, 4);
    cp_buf_addf(&b, "%s (%s)", nz(name), x->sig);
    cp_pdf_para(d, cp_buf_str(&b), 16, 0, 0);
    cp_buf_reset(&b);
    cp_buf_addf(&b, "%s (%s)", x->per, x->period);
    if (x->who.nrows && tab_get(&x->who, 0, 3))
        cp_buf_addf(&b, " — région %s", tab_get(&x->who, 0, 3));
    cp_pdf_para(d, cp_buf_str(&b), 12, 0, 0);
    cp_buf_reset(&b);
    cp_pdf_skip(d, 4);
    cp_buf_addf(&b, "Établi le %s à partir des fichiers reçus jusqu'au %s.", x->generated,
                x->data_date[0] ? x->data_date : "—");
    cp_pdf_para(d, cp_buf_str(&b), 9, CP_PDF_GREY, 0);
    cp_buf_reset(&b);
    cp_pdf_skip(d, 12);

    for (size_t k = 0; k < x->findings.nrows; k++) {
        const char *g = tab_get(&x->findings, k, 1);
        if (g && strcmp(g, "bloquant") == 0)
            nbloq++;
        else if (g && strcmp(g, "avertissement") == 0)
            navert++;
        else
            ninfo++;
    }
    for (size_t k = 0; k < x->rejects.nrows; k++)
        settled += is_settled(x, k);
    for (size_t k = 0; k < x->files.nrows; k++)
        rejected_files += tab_get(&x->files, k, 2) && strcmp(tab_get(&x->files, k, 2), "rejete") == 0;
    cp_pdf_heading(d, 2, "En bref");
    cp_buf_addf(&b, "Fichiers reçus pour la période : %zu, dont %d rejeté%s en entier.",
                x->files.nrows, rejected_files, rejected_files > 1 ? "s" : "");
    cp_pdf_para(d, cp_buf_str(&b), 10, 0, 0);
    cp_buf_reset(&b);
    cp_buf_addf(&b, "Valeurs retenues : %s (dont %s déclarées non communiquées ou sans objet).",
                x->counts.nrows ? nz(tab_get(&x->counts, 0, 0)) : "0",
                x->counts.nrows ? nz(tab_get(&x->counts, 0, 2)) : "0");
    cp_pdf_para(d, cp_buf_str(&b), 10, 0, 0);
    cp_buf_reset(&b);
    cp_buf_addf(&b, "Valeurs rejetées à la réception : %zu", x->rejects.nrows);
    if (settled)
        cp_buf_addf(&b, " (dont %d déjà remplacée%s par un envoi plus récent)", settled,
                    settled > 1 ? "s" : "");
    cp_buf_adds(&b, ".");
    cp_pdf_para(d, cp_buf_str(&b), 10, 0, 0);
    cp_buf_reset(&b);
    cp_buf_addf(&b, "Anomalies de cohérence : %d bloquante%s, %d avertissement%s, %d information%s.",
                nbloq, nbloq > 1 ? "s" : "", navert, navert > 1 ? "s" : "", ninfo,
                ninfo > 1 ? "s" : "");
    cp_pdf_para(d, cp_buf_str(&b), 10, 0, 0);
    cp_pdf_skip(d, 6);
    if ((int)x->rejects.nrows > settled || nbloq)
        cp_pdf_para(d,
                    "À faire : corrigez dans votre fichier les valeurs rejetées et les anomalies "
                    "bloquantes aux cellules indiquées ci-dessous, puis renvoyez le fichier "
                    "complet. Les avertissements sont à vérifier : confirmez ou corrigez.",
                    10, CP_PDF_BOLD, 0);
    else if (navert || ninfo)
        cp_pdf_para(d,
                    "Aucune valeur n'a été écartée. Les points ci-dessous sont à vérifier : "
                    "confirmez-les ou corrigez-les dans votre prochain envoi.",
                    10, 0, 0);
    else
        cp_pdf_para(d, "Aucun problème relevé sur vos données de la période : merci.", 10, 0,
                    0);
    cp_buf_release(&b);
}

static void files_table(struct cp_pdf *d, const struct cp_feedback *x)
{
    static const struct cp_pdf_col cols[] = {
        {"Fichier", 190, 0},        {"Reçu le", 62, 0},
        {"Statut", 80, 0},          {"Valeurs retenues", 55, CP_PDF_RIGHT},
        {"Motif", 124, 0},
    };
    struct cp_pdf_table t = {cols, 5, 8, 8, "Fichiers reçus", 0};

    cp_pdf_heading(d, 2, "Fichiers reçus");
    if (x->files.nrows == 0) {
        cp_pdf_para(d, "Aucun fichier reçu pour cette période.", 9.5, CP_PDF_ITALIC, 0);
        return;
    }
    cp_pdf_table_begin(d, &t);
    for (size_t k = 0; k < x->files.nrows; k++) {
        struct cp_pdf_cell c[5];
        char date[16];

        memset(c, 0, sizeof c);
        cp_fmt_date(tab_get(&x->files, k, 1), date, sizeof date);
        c[0].text = tab_get(&x->files, k, 0);
        if (tab_get(&x->files, k, 6) && strcmp(tab_get(&x->files, k, 6), "1") == 0)
            c[0].sub = "rattaché à vous d'après le nom du fichier (il n'a pas pu être lu)";
        c[1].text = date;
        c[2].text = status_label(tab_get(&x->files, k, 2));
        if (tab_get(&x->files, k, 2) && strcmp(tab_get(&x->files, k, 2), "rejete") == 0)
            c[2].bg = 0xF6D5D5;
        c[3].text = tab_get(&x->files, k, 5);
        c[4].text = tab_get(&x->files, k, 3) ? tab_get(&x->files, k, 3) : "—";
        cp_pdf_table_row(d, &t, c);
    }
    cp_pdf_table_end(d, &t);
}

static void rejects_table(struct cp_pdf *d, const struct cp_feedback *x)
{
    static const struct cp_pdf_col cols[] = {
        {"Fichier et cellule", 140, 0}, {"Valeur reçue", 62, 0},
        {"Problème", 140, 0},           {"À corriger", 169, 0},
    };
    struct cp_pdf_table t = {cols, 4, 8, 10, "Valeurs rejetées à la réception", 0};

    cp_pdf_heading(d, 2, "Valeurs rejetées à la réception");
    if (x->rejects.nrows == 0) {
        cp_pdf_para(d, "Aucune valeur rejetée.", 9.5, CP_PDF_ITALIC, 0);
        return;
    }
    cp_pdf_para(d,
                "Ces valeurs n'ont pas été enregistrées : elles manquent dans les tableaux de "
                "la région tant qu'un fichier corrigé n'est pas reçu.",
                8.5, CP_PDF_GREY, 0);
    cp_pdf_skip(d, 3);
    cp_pdf_table_begin(d, &t);
    for (size_t k = 0; k < x->rejects.nrows; k++) {
        struct cp_pdf_cell c[4];
        struct cp_buf sub = CP_BUF_INIT(4096);
        const char *cell = tab_get(&x->rejects, k, 1), *ind = tab_get(&x->rejects, k, 5);

        memset(c, 0, sizeof c);
        cp_buf_addf(&sub, "%s%s%s", cell && *cell ? cell : "fichier entier", ind ? " · " : "",
                    ind ? ind : "");
        c[0].text = nz(tab_get(&x->rejects, k, 0));
        c[0].sub = cp_buf_str(&sub);
        c[1].text = tab_get(&x->rejects, k, 4) ? tab_get(&x->rejects, k, 4) : "—";
        c[2].text = tab_get(&x->rejects, k, 3);
        c[2].sub = tab_get(&x->rejects, k, 2);
        if (is_settled(x, k)) {
            c[3].text = "Rien à faire : déjà remplacé par un envoi plus récent.";
            c[3].flags = CP_PDF_GREY;
        } else {
            c[3].text = cp_advice_rejection(tab_get(&x->rejects, k, 2));
        }
        cp_pdf_table_row(d, &t, c);
        cp_buf_release(&sub);
    }
    cp_pdf_table_end(d, &t);
}

static void findings_table(struct cp_pdf *d, const struct cp_feedback *x)
{
    static const struct cp_pdf_col cols[] = {
        {"N°", 22, CP_PDF_RIGHT}, {"Gravité", 68, 0},
        {"Constat", 156, 0},      {"Fichier et cellule", 110, 0},
        {"À corriger", 155, 0},
    };
    struct cp_pdf_table t = {cols, 5, 8, 12, "Anomalies de cohérence", 0};

    cp_pdf_heading(d, 2, "Anomalies de cohérence");
    if (x->findings.nrows == 0) {
        cp_pdf_para(d, "Aucune anomalie.", 9.5, CP_PDF_ITALIC, 0);
        return;
    }
    cp_pdf_para(d,
                "Bloquant : la valeur est écartée des agrégats jusqu'à correction. "
                "Avertissement : la valeur est gardée mais signalée. Information : à regarder.",
                8.5, CP_PDF_GREY, 0);
    cp_pdf_skip(d, 3);
    cp_pdf_table_begin(d, &t);
    for (size_t k = 0; k < x->findings.nrows; k++) {
        struct cp_pdf_cell c[5];
        struct cp_buf sub = CP_BUF_INIT(8192), action = CP_BUF_INIT(65536);
        char no[24];
        const char *expl = tab_get(&x->findings, k, 7), *vals = tab_get(&x->findings, k, 3);

        memset(c, 0, sizeof c);
        snprintf(no, sizeof no, "%zu", k + 1);
        cp_buf_addf(&sub, "Règle %s · %s%s%s", nz(tab_get(&x->findings, k, 0)),
                    nz(tab_get(&x->findings, k, 2)), vals && *vals ? " = " : "", nz(vals));
        cp_buf_adds(&action, cp_advice_finding(tab_get(&x->findings, k, 0)));
        if (expl && *expl)
            cp_buf_addf(&action, "\nExpliqué par le commissaire : %s", expl);
        c[0].text = no;
        c[1].text = sev_text(tab_get(&x->findings, k, 1));
        c[1].bg = sev_bg(tab_get(&x->findings, k, 1));
        c[2].text = tab_get(&x->findings, k, 4);
        c[2].sub = cp_buf_str(&sub);
        c[3].text = tab_get(&x->findings, k, 5) ? tab_get(&x->findings, k, 5) : "—";
        c[3].sub = tab_get(&x->findings, k, 6);
        c[4].text = cp_buf_str(&action);
        cp_pdf_table_row(d, &t, c);
        cp_buf_release(&sub);
        cp_buf_release(&action);
    }
    cp_pdf_table_end(d, &t);
}

static int build(struct cp_pdf *d, void *ctx, struct cp_err *err)
{
    const struct cp_feedback *x = ctx;

    (void)err;
    title_block(d, x);
    files_table(d, x);
    rejects_table(d, x);
    findings_table(d, x);
    return 0;
}

void cp_feedback_free(struct cp_feedback *x)
{
    if (!x)
        return;
    tab_release(&x->who);
    tab_release(&x->files);
    tab_release(&x->rejects);
    tab_release(&x->findings);
    tab_release(&x->counts);
    free(x->sig);
    free(x->generated_iso);
    free(x);
}

/* What every report of a job reads with: its statements, prepared once,
 * and the files named for nobody. */
struct cp_feedback_src {
    const struct cp_render_job *job;
    sqlite3_stmt *who, *files, *rejects, *findings, *counts, *orphan_files;
    char period[CP_PERIOD_STRLEN];      /* of orphans */
    char *orphans;                      /* JSON array of file ids */
};

void cp_feedback_src_close(struct cp_feedback_src *src)
{
    if (!src)
        return;
    sqlite3_finalize(src->who);
    sqlite3_finalize(src->files);
    sqlite3_finalize(src->rejects);
    sqlite3_finalize(src->findings);
    sqlite3_finalize(src->counts);
    sqlite3_finalize(src->orphan_files);
    free(src->orphans);
    free(src);
}

int cp_feedback_src_job(struct cp_feedback_src *src, const struct cp_render_job *job,
                        struct cp_err *err)
{
    sqlite3_stmt *st = src->orphan_files;
    char ga[32], gb[32], *orphans;
    int r;

    if (!job->period || strlen(job->period) >= CP_PERIOD_STRLEN)
        return cp_err_set(err, CP_EX_USAGE, "bad_job", NULL,
                          "retour de contrôle : signataire ou période manquant");
    src->job = job;
    if (src->orphans && strcmp(src->period, job->period) == 0)
        return 0;
    period_globs(job->period, ga, gb, sizeof ga);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, ga, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, gb, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, job->period, (int)strnlen(job->period, 4), SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        cp_db_fail(job->db, err, "lecture du retour de contrôle");
        sqlite3_reset(st);
        return -1;
    }
    orphans = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "[]");
    sqlite3_reset(st);
    if (!orphans)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    free(src->orphans);
    src->orphans = orphans;
    snprintf(src->period, sizeof src->period, "%s", job->period);
    return 0;
}

int cp_feedback_src_open(const struct cp_render_job *job, struct cp_feedback_src **out,
                         struct cp_err *err)
{
    struct cp_feedback_src *src;
    sqlite3 *db = job->db;

    *out = NULL;
    src = calloc(1, sizeof *src);
    if (!src)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    if (cp_db_prepare(db, sig_sql, &src->who, err) < 0 ||
        cp_db_prepare(db, files_sql, &src->files, err) < 0 ||
        cp_db_prepare(db, rejects_sql, &src->rejects, err) < 0 ||
        cp_db_prepare(db, findings_sql, &src->findings, err) < 0 ||
        cp_db_prepare(db, counts_sql, &src->counts, err) < 0 ||
        cp_db_prepare(db, orphans_sql, &src->orphan_files, err) < 0 ||
        cp_feedback_src_job(src, job, err) < 0) {
        cp_feedback_src_close(src);
        return -1;
    }
    *out = src;
    return 0;
}

int cp_feedback_src_read(struct cp_feedback_src *src, const char *sig, struct cp_feedback **out,
                         struct cp_err *err)
{
    const struct cp_render_job *job = src->job;
    struct cp_feedback *x;
    sqlite3 *db = job->db;

    *out = NULL;
    if (!sig || !*sig)
        return cp_err_set(err, CP_EX_USAGE, "bad_job", NULL,
                          "retour de contrôle : signataire ou période manquant");
    x = calloc(1, sizeof *x);
    if (!x || !(x->sig = strdup(sig)) ||
        !(x->generated_iso = strdup(job->generated ? job->generated : ""))) {
        cp_feedback_free(x);
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    }
    snprintf(x->period, sizeof x->period, "%s", job->period);
    if (tab_load(&x->who, db, src->who, sig, job->period, src->orphans, err) < 0)
        goto fail;
    if (x->who.nrows == 0) {
        cp_err_set(err, CP_EX_USAGE, "unknown_signatory", sig,
                   "retour de contrôle : signataire « %s » inconnu", sig);
        goto fail;
    }
    if (tab_load(&x->files, db, src->files, sig, job->period, src->orphans, err) < 0 ||
        tab_load(&x->rejects, db, src->rejects, sig, job->period, src->orphans, err) < 0 ||
        tab_load(&x->findings, db, src->findings, sig, job->period, src->orphans, err) < 0 ||
        tab_load(&x->counts, db, src->counts, sig, job->period, src->orphans, err) < 0)
        goto fail;
    cp_period_label(job->period, x->per, sizeof x->per);
    cp_fmt_date(job->generated, x->generated, sizeof x->generated);
    cp_fmt_date(job->data_date, x->data_date, sizeof x->data_date);
    *out = x;
    return 0;
fail:
    cp_feedback_free(x);
    return -1;
}

int cp_feedback_read(const struct cp_render_job *job, const char *sig, struct cp_feedback **out,
                     struct cp_err *err)
{
    struct cp_feedback_src *src;
    int rc;

    *out = NULL;
    if (!sig || !*sig || !job->period || strlen(job->period) >= CP_PERIOD_STRLEN)
        return cp_err_set(err, CP_EX_USAGE, "bad_job", NULL,
                          "retour de contrôle : signataire ou période manquant");
    if (cp_feedback_src_open(job, &src, err) < 0)
        return -1;
    rc = cp_feedback_src_read(src, sig, out, err);
    cp_feedback_src_close(src);
    return rc;
}

int cp_feedback_write(const struct cp_feedback *x, const char *path, struct cp_err *err)
{
    struct cp_pdf_meta meta;
    struct cp_buf title = CP_BUF_INIT(512), head = CP_BUF_INIT(512), foot = CP_BUF_INIT(512);
    int rc;

    cp_buf_addf(&title, "Retour de contrôle — %s — %s", tab_get(&x->who, 0, 0), x->per);
    cp_buf_addf(&head, "Retour de contrôle — %s (%s)", tab_get(&x->who, 0, 0), x->sig);
    cp_buf_addf(&foot, "calpae — établi le %s", x->generated);
    meta = (struct cp_pdf_meta){cp_buf_str(&title), cp_buf_str(&head), x->per, cp_buf_str(&foot),
                                x->generated_iso};
    rc = cp_pdf_write(path, &meta, build, (void *)x, err);
    cp_buf_release(&title);
    cp_buf_release(&head);
    cp_buf_release(&foot);
    return rc;
}

int cp_render_feedback_pdf(const struct cp_render_job *job, const char *sig, const char *path,
                           struct cp_err *err)
{
    struct cp_feedback *x;
    int rc;

    if (cp_feedback_read(job, sig, &x, err) < 0)
        return -1;
    rc = cp_feedback_write(x, path, err);
    cp_feedback_free(x);
    return rc;
}
