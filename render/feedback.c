/*
 * retours/<signataire>.xlsx: the feedback report (retour de contrôle) to one
 * signatory for one period. One row per thing to correct — a file or a
 * value rejected at ingest, a finding of consolidate — each naming the
 * signatory's own file, sheet and cell (or line and column), the value as
 * sent, and what to do, so that the next file comes back right.
 *
 * Rejections are the signatory's when ingest could tell (rejet.signataire);
 * a rejection without a signatory is attributed through its file: the one
 * signatory of the file's other rows, else the file name ("CD09",
 * "export_66D", "Indicateurs Ariège"). Only rejections from files received
 * since the earliest file still in force for the period are shown: older
 * ones were replaced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/db.h"
#include "common/fmt.h"
#include "common/text.h"
#include "render/feedback.h"
#include "render/render.h"
#include "render/rquery.h"
#include "render/xlsheet.h"

enum {
    FB_KIND, FB_SEVERITY, FB_CODE, FB_PERIOD, FB_INDS, FB_LABELS, FB_FILE, FB_RECEIVED, FB_CELL,
    FB_RAW, FB_MESSAGE, FB_ACTION, FB_EXPLAIN, FB_NCOLS
};

static const char *const fb_head[FB_NCOLS] = {
    "Type", "Gravité", "Règle ou code", "Période", "Indicateur(s)", "Libellé(s)", "Fichier",
    "Reçu le", "Emplacement", "Valeur envoyée", "Message", "À faire", "Explication retenue"};

/* Column widths in characters; the wide ones wrap. */
static const double fb_width[FB_NCOLS] = {15, 13, 18, 9, 24, 35, 32, 18, 20, 16, 60, 40, 35};

/* Signatory names folded for matching file names. */
struct signame {
    char *code;
    char fcode[16];  /* "09d" */
    char fname[160]; /* " ariege " (words, padded with spaces) */
};

/* What the reports of a job share (cp_feedback_xlsx_open), and the
 * signatory being written. */
struct cp_feedback_xlsx {
    const struct cp_render_job *j;
    struct cp_rperiod per;
    struct signame *names;
    size_t nnames;
    char **ind_code, **ind_label;
    size_t ninds;
    sqlite3_stmt *who, *since, *last, *rejections, *findings;
    /* the signatory */
    const char *sig;
    unsigned nblock, nwarn, ninfo, nrej;
};

static void fb_release(struct cp_feedback_xlsx *f)
{
    sqlite3_finalize(f->who);
    sqlite3_finalize(f->since);
    sqlite3_finalize(f->last);
    sqlite3_finalize(f->rejections);
    sqlite3_finalize(f->findings);
    for (size_t i = 0; i < f->nnames; i++)
        free(f->names[i].code);
    free(f->names);
    for (size_t i = 0; i < f->ninds; i++) {
        free(f->ind_code[i]);
        free(f->ind_label[i]);
    }
    free(f->ind_code);
    free(f->ind_label);
}

static int oom(struct cp_err *err)
{
    return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
}

static int load_names(struct cp_feedback_xlsx *f, struct cp_err *err)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc;

    if (cp_db_prepare(f->j->db, "SELECT code, nom FROM ref_signataire ORDER BY code", &st,
                      err) < 0)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        struct signame *n;
        char words[150];

        if (!code)
            continue;
        if (f->nnames == cap) {
            size_t nc = cap ? cap * 2 : 128;
            struct signame *p = realloc(f->names, nc * sizeof *p);
            if (!p) {
                sqlite3_finalize(st);
                return oom(err);
            }
            f->names = p;
            cap = nc;
        }
        n = &f->names[f->nnames];
        memset(n, 0, sizeof *n);
        n->code = strdup(code);
        if (!n->code) {
            sqlite3_finalize(st);
            return oom(err);
        }
        f->nnames++;
        cp_text_fold(code, strlen(code), n->fcode, sizeof n->fcode);
        cp_text_fold_words(name ? name : "", name ? strlen(name) : 0, words, sizeof words);
        if (*words)
            snprintf(n->fname, sizeof n->fname, " %s ", words);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return cp_db_fail(f->j->db, err, "lecture des signataires");
    return 0;
}

static int load_labels(struct cp_feedback_xlsx *f, struct cp_err *err)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc;

    if (cp_db_prepare(f->j->db, "SELECT code, libelle FROM ref_indicateur ORDER BY rang", &st,
                      err) < 0)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (f->ninds == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **a = realloc(f->ind_code, nc * sizeof *a);
            char **b = a ? realloc(f->ind_label, nc * sizeof *b) : NULL;

            if (a)
                f->ind_code = a;
            if (!a || !b) {
                sqlite3_finalize(st);
                return oom(err);
            }
            f->ind_label = b;
            cap = nc;
        }
        f->ind_code[f->ninds] = strdup((const char *)sqlite3_column_text(st, 0));
        f->ind_label[f->ninds] = strdup(
            sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
        if (!f->ind_code[f->ninds] || !f->ind_label[f->ninds]) {
            free(f->ind_code[f->ninds]);
            free(f->ind_label[f->ninds]);
            sqlite3_finalize(st);
            return oom(err);
        }
        f->ninds++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return cp_db_fail(f->j->db, err, "lecture du catalogue");
    return 0;
}

/* The labels of a comma-separated list of indicator codes, "; "-joined. */
static char *labels_of(const struct cp_feedback_xlsx *f, const char *codes)
{
    struct cp_buf b = CP_BUF_INIT(1u << 16);
    const char *p = codes ? codes : "";

    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        for (size_t i = 0; i < f->ninds; i++) {
            if (strlen(f->ind_code[i]) == len && strncmp(f->ind_code[i], p, len) == 0) {
                if (b.len)
                    cp_buf_adds(&b, " ; ");
                cp_buf_adds(&b, f->ind_label[i]);
                break;
            }
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return cp_buf_detach(&b);
}

/* 1 when the padded folded words w hold the word (or words) t. */
static int has_word(const char *w, const char *t)
{
    char pat[180];

    if (!*t)
        return 0;
    snprintf(pat, sizeof pat, "%s%s%s", t[0] == ' ' ? "" : " ", t,
             t[strlen(t) - 1] == ' ' ? "" : " ");
    return strstr(w, pat) != NULL;
}

/*
 * The signatory a file name designates, or NULL: by code ("09D", "CD09",
 * "M31") or by name ("Indicateurs Ariège"), the longest name winning
 * ("Tarn-et-Garonne" over "Tarn"). Two different answers give NULL.
 */
static const char *name_owner(const struct cp_feedback_xlsx *f, const char *file)
{
    char words[600], padded[620];
    const char *by_code = NULL, *by_name = NULL;
    size_t best = 0;
    int tie = 0;

    cp_text_fold_words(file, strlen(file), words, sizeof words);
    snprintf(padded, sizeof padded, " %s ", words);
    for (size_t i = 0; i < f->nnames; i++) {
        const struct signame *n = &f->names[i];
        size_t len = strlen(n->fcode);
        int code_hit = has_word(padded, n->fcode);

        /* "CD09" for 09D: a département council's usual abbreviation. */
        if (!code_hit && len >= 2 && n->fcode[len - 1] == 'd') {
            char cd[24];
            snprintf(cd, sizeof cd, "cd%.*s", (int)(len - 1), n->fcode);
            code_hit = has_word(padded, cd);
        }
        if (code_hit) {
            if (by_code && strcmp(by_code, n->code) != 0)
                return NULL;
            by_code = n->code;
        }
        if (n->fname[0] && has_word(padded, n->fname)) {
            size_t l = strlen(n->fname);
            if (l > best) {
                best = l;
                by_name = n->code;
                tie = 0;
            } else if (l == best && strcmp(by_name, n->code) != 0) {
                tie = 1;
            }
        }
    }
    if (tie)
        by_name = NULL;
    if (by_code && by_name && strcmp(by_code, by_name) != 0)
        return NULL;
    return by_code ? by_code : by_name;
}

/* 1 unless the file name names only other periods than p ("2021S1",
 * "2021", "S2 2021" are read as years with an optional half). */
static int name_fits_period(const char *file, const struct cp_period *p)
{
    char words[600];
    int any = 0, fits = 0;
    const char *w = words;

    cp_text_fold_words(file, strlen(file), words, sizeof words);
    while (*w) {
        size_t len = strcspn(w, " ");

        if ((len == 4 || (len == 6 && w[4] == 's' && (w[5] == '1' || w[5] == '2'))) &&
            w[0] == '2' && w[1] == '0' && w[2] >= '0' && w[2] <= '9' && w[3] >= '0' &&
            w[3] <= '9') {
            int year = 2000 + (w[2] - '0') * 10 + (w[3] - '0');
            int half = len == 6 ? w[5] - '0' : 0;

            any = 1;
            if (year == p->year && (half == 0 || p->half == 0 || half == p->half))
                fits = 1;
        }
        w += len;
        while (*w == ' ')
            w++;
    }
    return !any || fits;
}

/* "A,B" → "A, B", so that a list of codes wraps between codes. */
static void spaced_commas(struct cp_rtable *t, size_t row, size_t col)
{
    struct cp_rcell *c = cp_rtable_cell(t, row, col);
    struct cp_buf b = CP_BUF_INIT(1u << 16);

    if (!c || c->kind != CP_RCELL_TEXT || !strchr(c->text, ','))
        return;
    for (const char *p = c->text; *p; p++)
        if (cp_buf_addc(&b, *p) < 0 || (*p == ',' && p[1] != ' ' && cp_buf_addc(&b, ' ') < 0))
            t->failed = 1;
    if (!t->failed)
        cp_rtable_text(t, row, col, cp_buf_str(&b));
    cp_buf_release(&b);
}

static const char *action_for(const char *gravite)
{
    switch (cp_rmark_of(gravite)) {
    case CP_RMARK_BLOCK:
        return "Corrigez la valeur dans votre prochain envoi : tant qu'elle est fausse, elle est "
               "exclue des chiffres régionaux.";
    case CP_RMARK_WARN:
        return "Vérifiez la valeur ; si elle est juste, expliquez-la au commissaire.";
    default:
        return "Pour information.";
    }
}

static const char rejections_sql[] =
        "SELECT f.nom, f.recu_le, r.emplacement, r.code, r.brut, r.message, r.periode,"
        "  r.indicateur, r.signataire, f.statut,"
        "  (SELECT CASE WHEN count(DISTINCT v.signataire) = 1 THEN max(v.signataire) END"
        "     FROM valeur v WHERE v.fichier_id = f.id),"
        "  (SELECT CASE WHEN count(DISTINCT x.signataire) = 1 THEN max(x.signataire) END"
        "     FROM rejet x WHERE x.fichier_id = f.id AND coalesce(x.signataire, '') <> ''),"
        "  EXISTS (SELECT 1 FROM valeur v WHERE v.fichier_id = f.id AND v.periode = ?2)"
        "   OR EXISTS (SELECT 1 FROM rejet x WHERE x.fichier_id = f.id AND x.periode = ?2)"
        " FROM rejet r JOIN fichier f ON f.id = r.fichier_id"
        " WHERE (r.signataire = ?1 OR coalesce(r.signataire, '') = '')"
        "   AND f.niveau = 'signataire' AND f.recu_le >= ?3"
        "   AND (r.periode = ?2 OR coalesce(r.periode, '') = '')"
        " ORDER BY CASE WHEN f.statut = 'rejete' AND coalesce(r.signataire, '') = '' THEN 0"
        "   ELSE 1 END, f.recu_le, f.nom, r.id";

static int add_rejections(struct cp_feedback_xlsx *f, struct cp_rtable *t, const char *since,
                          struct cp_err *err)
{
    sqlite3_stmt *st = f->rejections;
    int rc;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, f->sig, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->per.text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, since, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !t->failed) {
        const char *file = (const char *)sqlite3_column_text(st, 0);
        const char *period = (const char *)sqlite3_column_text(st, 6);
        const char *ind = (const char *)sqlite3_column_text(st, 7);
        const char *owner = (const char *)sqlite3_column_text(st, 8);
        const char *status = (const char *)sqlite3_column_text(st, 9);
        int whole;
        size_t row;
        char *labels;

        if (!file)
            continue;
        if (!owner || !*owner) {
            /* No signatory on the row: the file's, if it has only one. */
            owner = (const char *)sqlite3_column_text(st, 10);
            if (!owner)
                owner = (const char *)sqlite3_column_text(st, 11);
            if (!owner)
                owner = name_owner(f, file);
            if (!owner || strcmp(owner, f->sig) != 0)
                continue;
            if ((!period || !*period) && !sqlite3_column_int(st, 12) &&
                !name_fits_period(file, &f->per.p))
                continue;
        } else if ((!period || !*period) && !sqlite3_column_int(st, 12)) {
            continue; /* a row of another period's file */
        }
        whole = status && strcmp(status, "rejete") == 0 && (!ind || !*ind) &&
                !sqlite3_column_text(st, 8);
        row = cp_rtable_add_row(t);
        cp_rtable_text(t, row, FB_KIND, whole ? "fichier rejeté" : "valeur rejetée");
        cp_rtable_text(t, row, FB_SEVERITY, "rejet");
        cp_rtable_mark(t, row, FB_SEVERITY, CP_RMARK_BLOCK);
        cp_rtable_text(t, row, FB_CODE, (const char *)sqlite3_column_text(st, 3));
        cp_rtable_text(t, row, FB_PERIOD, period);
        cp_rtable_text(t, row, FB_INDS, ind);
        labels = labels_of(f, ind);
        if (!labels)
            t->failed = 1;
        cp_rtable_text(t, row, FB_LABELS, labels);
        free(labels);
        cp_rtable_text(t, row, FB_FILE, file);
        cp_rtable_datetime(t, row, FB_RECEIVED, (const char *)sqlite3_column_text(st, 1));
        cp_rtable_text(t, row, FB_CELL, (const char *)sqlite3_column_text(st, 2));
        cp_rtable_text(t, row, FB_RAW, (const char *)sqlite3_column_text(st, 4));
        cp_rtable_text(t, row, FB_MESSAGE, (const char *)sqlite3_column_text(st, 5));
        cp_rtable_text(t, row, FB_ACTION,
                       whole ? "Corrigez le fichier et renvoyez-le : aucune de ses valeurs n'a "
                               "été prise en compte."
                             : "Corrigez la cellule indiquée et renvoyez le fichier : cette "
                               "valeur n'a pas été prise en compte.");
        f->nrej++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cp_db_fail(f->j->db, err, "lecture des rejets");
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return t->failed ? oom(err) : 0;
}

static const char findings_sql[] =
        "SELECT c.regle, c.gravite, c.periode, c.indicateurs, c.valeurs, c.message,"
        "  c.explication,"
        "  (SELECT group_concat(nom, ', ') FROM (SELECT DISTINCT f.nom AS nom FROM constat_valeur cv"
        "     JOIN valeur v ON v.id = cv.valeur_id JOIN fichier f ON f.id = v.fichier_id"
        "     WHERE cv.constat_id = c.id ORDER BY f.nom)),"
        "  (SELECT group_concat(e, ', ') FROM (SELECT v.emplacement AS e FROM constat_valeur cv"
        "     JOIN valeur v ON v.id = cv.valeur_id WHERE cv.constat_id = c.id ORDER BY cv.rang)),"
        "  (SELECT group_concat(b, ' | ') FROM (SELECT coalesce(v.brut, v.valeur, '') AS b"
        "     FROM constat_valeur cv JOIN valeur v ON v.id = cv.valeur_id"
        "     WHERE cv.constat_id = c.id ORDER BY cv.rang)),"
        "  (SELECT max(f.recu_le) FROM constat_valeur cv JOIN valeur v ON v.id = cv.valeur_id"
        "     JOIN fichier f ON f.id = v.fichier_id WHERE cv.constat_id = c.id)"
        " FROM constats c WHERE c.signataire = ?1 AND c.periode = ?2"
        " ORDER BY CASE c.gravite WHEN 'bloquant' THEN 0 WHEN 'avertissement' THEN 1 ELSE 2 END,"
        "  c.regle, c.id";

static int add_findings(struct cp_feedback_xlsx *f, struct cp_rtable *t, struct cp_err *err)
{
    sqlite3_stmt *st = f->findings;
    int rc;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, f->sig, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->per.text, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !t->failed) {
        const char *gravite = (const char *)sqlite3_column_text(st, 1);
        const char *inds = (const char *)sqlite3_column_text(st, 3);
        const char *raw = (const char *)sqlite3_column_text(st, 9);
        enum cp_rmark m = cp_rmark_of(gravite);
        size_t row = cp_rtable_add_row(t);
        char *labels = labels_of(f, inds);
        char *vals = raw && *raw ? NULL : cp_rvalues_text((const char *)sqlite3_column_text(st, 4));

        if (!labels || (!(raw && *raw) && !vals))
            t->failed = 1;
        cp_rtable_text(t, row, FB_KIND, "anomalie");
        cp_rtable_text(t, row, FB_SEVERITY, gravite);
        cp_rtable_mark(t, row, FB_SEVERITY, m);
        cp_rtable_text(t, row, FB_CODE, (const char *)sqlite3_column_text(st, 0));
        cp_rtable_text(t, row, FB_PERIOD, (const char *)sqlite3_column_text(st, 2));
        cp_rtable_text(t, row, FB_INDS, inds);
        spaced_commas(t, row, FB_INDS);
        cp_rtable_text(t, row, FB_LABELS, labels);
        cp_rtable_text(t, row, FB_FILE, (const char *)sqlite3_column_text(st, 7));
        cp_rtable_datetime(t, row, FB_RECEIVED, (const char *)sqlite3_column_text(st, 10));
        cp_rtable_text(t, row, FB_CELL, (const char *)sqlite3_column_text(st, 8));
        cp_rtable_text(t, row, FB_RAW, raw && *raw ? raw : vals);
        cp_rtable_text(t, row, FB_MESSAGE, (const char *)sqlite3_column_text(st, 5));
        cp_rtable_text(t, row, FB_ACTION, action_for(gravite));
        cp_rtable_text(t, row, FB_EXPLAIN, (const char *)sqlite3_column_text(st, 6));
        free(labels);
        free(vals);
        f->nblock += m == CP_RMARK_BLOCK;
        f->nwarn += m == CP_RMARK_WARN;
        f->ninfo += m == CP_RMARK_INFO;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cp_db_fail(f->j->db, err, "lecture des anomalies");
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return t->failed ? oom(err) : 0;
}

/* One text column of a single-row query, malloc'ed ("" when NULL). */
static char *query_text(sqlite3_stmt *st, const char *a, const char *b)
{
    char *s = NULL;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        s = strdup((const char *)sqlite3_column_text(st, 0));
    else
        s = strdup("");
    sqlite3_reset(st);
    return s;
}

static void plural(struct cp_buf *b, unsigned n, const char *one, const char *many)
{
    cp_buf_addf(b, "%u %s", n, n > 1 ? many : one);
}

void cp_feedback_xlsx_close(struct cp_feedback_xlsx *f)
{
    if (!f)
        return;
    fb_release(f);
    free(f);
}

int cp_feedback_xlsx_job(struct cp_feedback_xlsx *f, const struct cp_render_job *j,
                         struct cp_err *err)
{
    f->j = j;
    return cp_rperiod_of(j->period, &f->per, err);
}

int cp_feedback_xlsx_open(const struct cp_render_job *j, struct cp_feedback_xlsx **out,
                          struct cp_err *err)
{
    struct cp_feedback_xlsx *f = calloc(1, sizeof *f);

    *out = NULL;
    if (!f)
        return oom(err);
    if (cp_feedback_xlsx_job(f, j, err) < 0 ||
        cp_db_prepare(j->db,
                      "SELECT s.nom, coalesce(r.nom, s.region) || ' (' || s.region || ')'"
                      " FROM ref_signataire s LEFT JOIN ref_region r ON r.code = s.region"
                      " WHERE s.code = ?1",
                      &f->who, err) < 0 ||
        cp_db_prepare(j->db,
                      "SELECT min(recu_le) FROM valeurs_courantes WHERE signataire = ?1"
                      " AND periode = ?2",
                      &f->since, err) < 0 ||
        cp_db_prepare(j->db,
                      "SELECT max(recu_le) FROM valeurs_courantes WHERE signataire = ?1"
                      " AND periode = ?2",
                      &f->last, err) < 0 ||
        cp_db_prepare(j->db, rejections_sql, &f->rejections, err) < 0 ||
        cp_db_prepare(j->db, findings_sql, &f->findings, err) < 0 ||
        load_names(f, err) < 0 || load_labels(f, err) < 0) {
        cp_feedback_xlsx_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

int cp_render_feedback_xlsx(const struct cp_render_job *j, const char *sig, const char *path,
                            struct cp_err *err)
{
    struct cp_feedback_xlsx *f;
    int rc;

    if (cp_feedback_xlsx_open(j, &f, err) < 0) {
        cp_err_prefix(err, "retour de contrôle de %s : ", sig);
        return -1;
    }
    rc = cp_feedback_xlsx_write(f, sig, path, err);
    cp_feedback_xlsx_close(f);
    return rc;
}

int cp_feedback_xlsx_write(struct cp_feedback_xlsx *f, const char *sig, const char *path,
                           struct cp_err *err)
{
    const struct cp_render_job *j = f->j;
    struct cp_rtable t;
    struct cp_xlbook b;
    struct cp_buf s = CP_BUF_INIT(4096);
    sqlite3_stmt *st = f->who;
    char *name = NULL, *region = NULL, *since = NULL, *last = NULL;
    char label[32], d1[16], d2[16];
    int open = 0, rc = -1;

    memset(&t, 0, sizeof t);
    memset(&b, 0, sizeof b);
    f->sig = sig;
    f->nblock = f->nwarn = f->ninfo = f->nrej = 0;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, sig, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        name = strdup((const char *)sqlite3_column_text(st, 0));
        region = strdup(sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
    }
    sqlite3_reset(st);
    if (!name) {
        cp_err_set(err, CP_EX_USAGE, "unknown_signatory", sig,
                   "signataire « %s » inconnu du référentiel", sig);
        goto out;
    }
    since = query_text(f->since, sig, f->per.text);
    last = query_text(f->last, sig, f->per.text);
    if (!region || !since || !last) {
        oom(err);
        goto out;
    }
    if (cp_rtable_init(&t, "Retour de contrôle", NULL, FB_NCOLS) < 0) {
        oom(err);
        goto out;
    }
    for (size_t k = 0; k < FB_NCOLS; k++)
        cp_rtable_head(&t, k, fb_head[k], NULL);
    t.freeze_cols = 2;
    if (add_rejections(f, &t, since, err) < 0 || add_findings(f, &t, err) < 0)
        goto out;
    for (size_t k = 0; k < FB_NCOLS; k++) {
        t.width[k] = fb_width[k];
        for (size_t r = 0; r < t.nrows && fb_width[k] >= 20; r++)
            cp_rtable_style(&t, r, k, CP_RSTYLE_WRAP);
    }

    cp_rperiod_label(&f->per.p, label, sizeof label);
    cp_rtable_title(&t, "Retour de contrôle – %s (%s) – %s (%s)", name, sig, f->per.text, label);
    cp_rtable_note(&t, "Signataire : %s (%s), région %s. Période : %s.", name, sig, region,
                   f->per.text);
    if (*last)
        cp_rtable_note(&t, "Données reçues jusqu'au %s ; votre dernier fichier en vigueur a été "
                           "reçu le %s.",
                       cp_fmt_date(j->data_date && *j->data_date ? j->data_date : last, d1,
                                   sizeof d1),
                       cp_fmt_date(last, d2, sizeof d2));
    else
        cp_rtable_note(&t, "Aucune valeur de ce signataire n'est en vigueur pour cette période.");
    if (t.nrows == 0) {
        cp_rtable_note(&t, "Aucune anomalie ni aucun rejet : rien à corriger.");
    } else {
        cp_buf_adds(&s, "À corriger ou vérifier : ");
        plural(&s, f->nrej, "rejet", "rejets");
        cp_buf_adds(&s, ", ");
        plural(&s, f->nblock, "anomalie bloquante", "anomalies bloquantes");
        cp_buf_adds(&s, ", ");
        plural(&s, f->nwarn, "avertissement", "avertissements");
        cp_buf_adds(&s, ", ");
        plural(&s, f->ninfo, "information", "informations");
        cp_buf_adds(&s, ".");
        cp_rtable_note(&t, "%s", cp_buf_str(&s));
        cp_rtable_note(&t, "Chaque ligne désigne votre fichier et la cellule (feuille!cellule, "
                           "ou ligne et colonne pour un CSV) où se trouve la valeur en cause.");
    }
    if (t.failed) {
        oom(err);
        goto out;
    }
    cp_buf_reset(&s);
    cp_buf_addf(&s, "Retour de contrôle – %s – %s", sig, f->per.text);
    if (cp_xlbook_open(&b, path, *last ? last : j->data_date, cp_buf_str(&s), err) < 0)
        goto out;
    open = 1;
    if (cp_xlbook_table(&b, &t, NULL, err) < 0)
        goto out;
    open = 0;
    rc = cp_xlbook_close(&b, err);
out:
    if (open)
        cp_xlbook_abort(&b);
    if (rc < 0)
        cp_err_prefix(err, "retour de contrôle de %s : ", sig);
    cp_rtable_release(&t);
    cp_buf_release(&s);
    free(name);
    free(region);
    free(since);
    free(last);
    return rc;
}
