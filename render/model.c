/*
 * Reads one (zone, period) from the documented views into struct
 * cp_model (see model.h), and the French formats every PDF writer shares.
 */
#include "render/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/fmt.h"

#define NBSP "\xC2\xA0"

/* The order signatories are listed in: départements, métropoles, région. */
#define SIG_ORDER(s) "CASE " s ".type WHEN 'D' THEN 0 WHEN 'M' THEN 1 ELSE 2 END, " s ".code"

static int oom(struct cp_err *err)
{
    return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
}

/* Grows *p to hold at least n elements of size sz. */
static int grow(void *p, size_t *cap, size_t n, size_t sz)
{
    void **pp = p;
    size_t c = *cap ? *cap : 16;
    void *q;

    if (n <= *cap)
        return 0;
    while (c < n)
        c *= 2;
    q = realloc(*pp, c * sz);
    if (!q)
        return -1;
    memset((char *)q + *cap * sz, 0, (c - *cap) * sz);
    *pp = q;
    *cap = c;
    return 0;
}

/* Copies column i (NULL stays NULL); -1 when memory is short. */
static int col_str(sqlite3_stmt *st, int i, char **out)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    *out = NULL;
    if (!t)
        return 0;
    *out = strdup((const char *)t);
    return *out ? 0 : -1;
}

static double col_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

int cp_group_of(char type)
{
    switch (type) {
    case 'D': return CP_G_D;
    case 'M': return CP_G_M;
    case 'R': return CP_G_R;
    default: return -1;
    }
}

const char *cp_group_name(int g)
{
    static const char *const names[] = {"départements", "métropoles", "régions"};
    return g >= 0 && g < CP_NGROUPS ? names[g] : "";
}

const char *cp_msev_label(enum cp_msev s)
{
    switch (s) {
    case CP_MSEV_BLOQ: return "Bloquant";
    case CP_MSEV_AVERT: return "Avertissement";
    case CP_MSEV_INFO: return "Information";
    default: return "";
    }
}

static enum cp_msev sev_of(const char *g)
{
    if (!g)
        return CP_MSEV_NONE;
    if (strcmp(g, "bloquant") == 0)
        return CP_MSEV_BLOQ;
    if (strcmp(g, "avertissement") == 0)
        return CP_MSEV_AVERT;
    return CP_MSEV_INFO;
}

/* "2022-S1" or "2022": year and half (0 for the year); -1 otherwise. */
static int period_split(const char *p, int *year, int *half)
{
    size_t n = p ? strlen(p) : 0;

    if (n != 4 && n != 7)
        return -1;
    for (int i = 0; i < 4; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    *year = atoi(p);
    *half = 0;
    if (n == 7) {
        if (p[4] != '-' || p[5] != 'S' || (p[6] != '1' && p[6] != '2'))
            return -1;
        *half = p[6] - '0';
    }
    return 0;
}

void cp_period_label(const char *period, char *out, size_t n)
{
    int y, h;

    if (period_split(period, &y, &h) < 0)
        snprintf(out, n, "%s", period ? period : "");
    else if (h == 0)
        snprintf(out, n, "année %d", y);
    else
        snprintf(out, n, "%s semestre %d", h == 1 ? "1er" : "2e", y);
}

void cp_fmt_value(const struct cp_mind *d, double v, char *out, size_t n)
{
    char num[CP_FMT_MAX];

    if (isnan(v)) {
        snprintf(out, n, "%s", "");
        return;
    }
    if (strcmp(d->unit, "pct") == 0) {
        cp_fmt_pct(v, out, n);
    } else if (strcmp(d->unit, "eur") == 0) {
        snprintf(out, n, "%s" NBSP "€", cp_fmt_num(v, 0, num, sizeof num));
    } else if (strcmp(d->unit, "jours") == 0) {
        snprintf(out, n, "%s" NBSP "j", cp_fmt_num(v, 1, num, sizeof num));
    } else if (strcmp(d->nature, "moyenne") == 0 || v != floor(v)) {
        snprintf(out, n, "%s", cp_fmt_num_trim(v, 1, num, sizeof num));
    } else {
        snprintf(out, n, "%s", cp_fmt_num(v, 0, num, sizeof num));
    }
}

void cp_fmt_change(const struct cp_mind *d, double v, double prev, char *out, size_t n)
{
    char num[CP_FMT_MAX];
    double c;

    snprintf(out, n, "%s", "");
    if (isnan(v) || isnan(prev))
        return;
    if (strcmp(d->unit, "pct") == 0) {
        c = v - prev;
        cp_fmt_num(c, 1, num, sizeof num);
        snprintf(out, n, "%s%s" NBSP "pt%s", c > 0.05 ? "+" : "", num,
                 fabs(c) >= 1.95 ? "s" : "");
        return;
    }
    if (prev == 0)
        return;
    c = (v - prev) / fabs(prev) * 100.0;
    cp_fmt_num(c, 1, num, sizeof num);
    snprintf(out, n, "%s%s" NBSP "%%", c > 0.05 ? "+" : "", num);
}

int cp_model_ind(const struct cp_model *m, const char *code)
{
    for (size_t i = 0; i < m->nind; i++)
        if (strcmp(m->ind[i].code, code) == 0)
            return (int)i;
    return -1;
}

static int unit_index(const struct cp_model *m, const char *code)
{
    if (!code)
        return -1;
    for (size_t u = 0; u < m->nunit; u++)
        if (strcmp(m->unit[u].code, code) == 0)
            return (int)u;
    return -1;
}

/* The niveau and zone of the aggregates this model shows. */
static const char *agg_level(const struct cp_model *m)
{
    return m->national ? "national" : "region";
}

static int load_indicators(struct cp_model *m, sqlite3 *db, struct cp_err *err)
{
    static const char sql[] =
        "SELECT i.code, i.libelle, i.axe, i.unite, i.nature, i.sens, i.denominateur, i.types"
        " FROM ref_indicateur i WHERE"
        /* Lists built once (an EXISTS per indicator scanned the period's
         * aggregates each time); the région's values from its
         * signatories (CROSS JOIN: not every value of the period). */
        " i.code IN (SELECT a.indicateur FROM agregats a WHERE a.periode = ?2"
        "   AND (?3 = 1 OR (a.niveau = 'region' AND a.zone = ?1)))"
        " OR (?3 = 0 AND i.code IN (SELECT c.indicateur FROM ref_signataire s"
        "   CROSS JOIN courant c ON c.signataire = s.code AND c.periode = ?2"
        "   WHERE s.region = ?1))"
        " ORDER BY i.rang";
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc = -1, r;

    if (cp_db_prepare(db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->period, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, m->national);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct cp_mind *d;
        const char *types;

        if (grow(&m->ind, &cap, m->nind + 1, sizeof *m->ind) < 0) {
            oom(err);
            goto out;
        }
        d = &m->ind[m->nind++];
        if (col_str(st, 0, &d->code) < 0 || col_str(st, 1, &d->label) < 0 ||
            col_str(st, 2, &d->axis) < 0 || col_str(st, 3, &d->unit) < 0 ||
            col_str(st, 4, &d->nature) < 0 || col_str(st, 5, &d->sens) < 0 ||
            col_str(st, 6, &d->den) < 0) {
            oom(err);
            goto out;
        }
        types = (const char *)sqlite3_column_text(st, 7);
        d->group = -1;
        for (const char *t = types ? types : ""; *t; t++) {
            int g = cp_group_of(*t);
            if (g >= 0) {
                d->groups |= 1u << g;
                if (d->group < 0 || g < d->group)
                    d->group = g;
            }
        }
        if (d->group < 0)
            d->group = CP_G_D;
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture du catalogue");
        goto out;
    }
    /* Main indicators: rates and averages, the populations rates are
     * about, and everything in an axis that has neither. */
    for (size_t i = 0; i < m->nind; i++) {
        struct cp_mind *d = &m->ind[i];
        if (strcmp(d->nature, "ratio") == 0 || strcmp(d->nature, "moyenne") == 0) {
            d->main = 1;
            if (d->den) {
                int k = cp_model_ind(m, d->den);
                if (k >= 0)
                    m->ind[k].main = 1;
            }
        }
    }
    for (size_t i = 0; i < m->nind; i++) {
        int any = 0;
        for (size_t k = 0; k < m->nind; k++)
            if (strcmp(m->ind[k].axis, m->ind[i].axis) == 0 && m->ind[k].main)
                any = 1;
        if (!any)
            for (size_t k = 0; k < m->nind; k++)
                if (strcmp(m->ind[k].axis, m->ind[i].axis) == 0)
                    m->ind[k].main = 2; /* marked apart so the test above still holds */
    }
    for (size_t i = 0; i < m->nind; i++)
        m->ind[i].main = m->ind[i].main != 0;
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static int load_units(struct cp_model *m, sqlite3 *db, struct cp_err *err)
{
    static const char sig_sql[] =
        "SELECT s.code, s.nom, s.type FROM ref_signataire s WHERE s.region = ?1 AND"
        " (((s.debut IS NULL OR s.debut <= ?3) AND (s.fin IS NULL OR s.fin >= ?2))"
        "  OR EXISTS (SELECT 1 FROM valeurs_courantes v WHERE v.signataire = s.code"
        "    AND v.periode = ?4))"
        " ORDER BY " SIG_ORDER("s");
    static const char reg_sql[] = "SELECT code, nom, 'Z' FROM ref_region ORDER BY code";
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc = -1, r;

    if (cp_db_prepare(db, m->national ? reg_sql : sig_sql, &st, err) < 0)
        return -1;
    if (!m->national) {
        sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, m->first, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, m->last, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, m->period, -1, SQLITE_STATIC);
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct cp_munit *u;
        const unsigned char *t;

        if (grow(&m->unit, &cap, m->nunit + 1, sizeof *m->unit) < 0) {
            oom(err);
            goto out;
        }
        u = &m->unit[m->nunit++];
        if (col_str(st, 0, &u->code) < 0 || col_str(st, 1, &u->name) < 0) {
            oom(err);
            goto out;
        }
        t = sqlite3_column_text(st, 2);
        u->type = t && *t ? (char)t[0] : 'D';
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des signataires");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static int load_cells(struct cp_model *m, sqlite3 *db, struct cp_err *err)
{
    static const char val_sql[] =
        "SELECT v.signataire, v.indicateur, v.valeur, v.cible, v.manquant,"
        "  EXISTS (SELECT 1 FROM exclusion e WHERE e.signataire = v.signataire"
        "    AND e.periode = v.periode AND e.indicateur = v.indicateur)"
        /* The région's signatories first (CROSS JOIN: SQLite would scan
         * every value in force, of every period). */
        " FROM ref_signataire s CROSS JOIN valeurs_courantes v ON v.signataire = s.code"
        " WHERE s.region = ?1 AND v.periode = ?2";
    static const char agg_sql[] =
        "SELECT zone, indicateur, valeur, NULL, NULL, 0, groupe, couverts, attendus, partiel"
        " FROM agregats WHERE niveau = 'region' AND periode = ?2";
    sqlite3_stmt *st;
    int rc = -1, r;

    if (m->nunit && m->nind) {
        m->cell = calloc(m->nunit * m->nind, sizeof *m->cell);
        if (!m->cell)
            return oom(err);
    }
    for (size_t c = 0; c < m->nunit * m->nind; c++) {
        m->cell[c].value = NAN;
        m->cell[c].target = NAN;
    }
    if (cp_db_prepare(db, m->national ? agg_sql : val_sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->period, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int u = unit_index(m, (const char *)sqlite3_column_text(st, 0));
        const char *code = (const char *)sqlite3_column_text(st, 1);
        int i = code ? cp_model_ind(m, code) : -1;
        const unsigned char *miss;
        struct cp_mcell *c;

        if (u < 0 || i < 0)
            continue;
        if (m->national) {
            /* A région row shows the indicator's principal group. */
            const unsigned char *g = sqlite3_column_text(st, 6);
            if (!g || cp_group_of((char)g[0]) != m->ind[i].group)
                continue;
        }
        c = cp_model_cell(m, (size_t)u, (size_t)i);
        c->present = 1;
        c->value = col_num(st, 2);
        c->target = col_num(st, 3);
        miss = sqlite3_column_text(st, 4);
        snprintf(c->missing, sizeof c->missing, "%s", miss ? (const char *)miss : "");
        c->excluded = sqlite3_column_int(st, 5);
        if (m->national) {
            c->covered = sqlite3_column_int(st, 7);
            c->expected = sqlite3_column_int(st, 8);
            c->partial = sqlite3_column_int(st, 9);
        }
        m->unit[u].sent = 1;
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des valeurs");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Appends ", n" (or "n") to a cell's references, keeping what fits. */
static void add_ref(struct cp_mcell *c, int no)
{
    size_t len = strlen(c->refs);
    char num[16];

    snprintf(num, sizeof num, "%s%d", len ? ", " : "", no);
    if (len + strlen(num) < sizeof c->refs)
        memcpy(c->refs + len, num, strlen(num) + 1);
}

static void mark_cells(struct cp_model *m, const struct cp_mfinding *f)
{
    int u = unit_index(m, f->sig);
    const char *p = f->indicators;

    if (u < 0 || !p)
        return;
    while (*p) {
        char code[64];
        size_t len = strcspn(p, ",");
        int i;

        snprintf(code, sizeof code, "%.*s", (int)(len < sizeof code ? len : sizeof code - 1), p);
        i = cp_model_ind(m, code);
        if (i >= 0) {
            struct cp_mcell *c = cp_model_cell(m, (size_t)u, (size_t)i);
            if ((int)f->sev > c->severity)
                c->severity = (int)f->sev;
            add_ref(c, f->no);
        }
        p += len;
        if (*p == ',')
            p++;
        while (*p == ' ')
            p++;
    }
}

static int load_findings(struct cp_model *m, sqlite3 *db, struct cp_err *err)
{
    static const char list_sql[] =
        "SELECT c.regle, c.gravite, c.signataire, s.nom, c.indicateurs, c.valeurs, c.message,"
        "  c.fichier, c.emplacement, c.explication"
        " FROM constats c JOIN ref_signataire s ON s.code = c.signataire"
        " WHERE s.region = ?1 AND c.periode = ?2"
        " ORDER BY " SIG_ORDER("s") ","
        "  CASE c.gravite WHEN 'bloquant' THEN 0 WHEN 'avertissement' THEN 1 ELSE 2 END,"
        "  c.regle, c.id";
    /* National: each région's findings, from its signatories' findings or,
     * at the national tier, from the summary of its roll-up in force. */
    static const char count_sql[] =
        "SELECT s.region, c.gravite, count(*) FROM constats c"
        " JOIN ref_signataire s ON s.code = c.signataire"
        " WHERE c.periode = ?2 GROUP BY s.region, c.gravite"
        " UNION ALL SELECT r.region, k.gravite, sum(k.nombre) FROM rollups_courants r"
        " JOIN rollup_constat k ON k.fichier_id = r.fichier_id"
        " WHERE r.periode = ?2 GROUP BY r.region, k.gravite";
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc = -1, r;

    if (cp_db_prepare(db, m->national ? count_sql : list_sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->period, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct cp_mfinding *f;
        int u;

        if (m->national) {
            u = unit_index(m, (const char *)sqlite3_column_text(st, 0));
            if (u >= 0) {
                enum cp_msev s = sev_of((const char *)sqlite3_column_text(st, 1));
                int n = sqlite3_column_int(st, 2);
                *(s == CP_MSEV_BLOQ ? &m->unit[u].nbloq
                  : s == CP_MSEV_AVERT ? &m->unit[u].navert : &m->unit[u].ninfo) += n;
            }
            continue;
        }
        if (grow(&m->find, &cap, m->nfind + 1, sizeof *m->find) < 0) {
            oom(err);
            goto out;
        }
        f = &m->find[m->nfind++];
        f->no = (int)m->nfind;
        if (col_str(st, 0, &f->rule) < 0 || col_str(st, 1, &f->severity) < 0 ||
            col_str(st, 2, &f->sig) < 0 || col_str(st, 3, &f->sig_name) < 0 ||
            col_str(st, 4, &f->indicators) < 0 || col_str(st, 5, &f->values) < 0 ||
            col_str(st, 6, &f->message) < 0 || col_str(st, 7, &f->file) < 0 ||
            col_str(st, 8, &f->cell) < 0 || col_str(st, 9, &f->explanation) < 0) {
            oom(err);
            goto out;
        }
        f->sev = sev_of(f->severity);
        mark_cells(m, f);
        u = unit_index(m, f->sig);
        if (u >= 0)
            *(f->sev == CP_MSEV_BLOQ ? &m->unit[u].nbloq
              : f->sev == CP_MSEV_AVERT ? &m->unit[u].navert : &m->unit[u].ninfo) += 1;
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des constats");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static void agg_clear(struct cp_magg *a, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        memset(&a[k], 0, sizeof a[k]);
        a[k].value = a[k].num = a[k].den = a[k].share = a[k].target = NAN;
    }
}

static void agg_fill(struct cp_magg *a, sqlite3_stmt *st, int col)
{
    a->present = 1;
    a->value = col_num(st, col);
    a->num = col_num(st, col + 1);
    a->den = col_num(st, col + 2);
    a->covered = sqlite3_column_int(st, col + 3);
    a->expected = sqlite3_column_int(st, col + 4);
    a->partial = sqlite3_column_int(st, col + 5);
    a->share = col_num(st, col + 6);
    a->derived = sqlite3_column_int(st, col + 7);
}

#define AGG_COLS "valeur, numerateur, denominateur, couverts, attendus, partiel, part_couverte, derive"

static int load_aggregates(struct cp_model *m, sqlite3 *db, const char *period,
                           struct cp_magg *out, struct cp_err *err)
{
    static const char sql[] = "SELECT indicateur, groupe, " AGG_COLS
                              " FROM agregats WHERE niveau = ?1 AND zone = ?2 AND periode = ?3";
    sqlite3_stmt *st;
    int rc = -1, r;

    if (cp_db_prepare(db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, agg_level(m), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->national ? "FR" : m->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, period, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 0);
        const unsigned char *g = sqlite3_column_text(st, 1);
        int i = code ? cp_model_ind(m, code) : -1;
        int gi = g ? cp_group_of((char)g[0]) : -1;

        if (i >= 0 && gi >= 0)
            agg_fill(&out[(size_t)i * CP_NGROUPS + (size_t)gi], st, 2);
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des agrégats");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * The zone's target for each indicator and group, as the workbook gives it
 * (render/rquery.c): for a count or a level, the sum of the targets of the
 * signatories that contributed to the aggregate, only when every one of
 * them has a target; none for rates and averages. ntargets says how many
 * contributors have one.
 */
static int load_targets(struct cp_model *m, sqlite3 *db, struct cp_err *err)
{
    static const char sql[] =
        "SELECT a.indicateur, a.groupe, count(*), count(v.cible), sum(v.cible)"
        " FROM agregats a JOIN contribution k ON k.niveau = a.niveau AND k.zone = a.zone"
        "   AND k.groupe = a.groupe AND k.periode = a.periode AND k.indicateur = a.indicateur"
        " LEFT JOIN courant cc ON cc.signataire = k.signataire"
        "   AND cc.periode = k.periode AND cc.indicateur = k.indicateur"
        " LEFT JOIN valeur v ON v.id = cc.valeur_id"
        " WHERE a.niveau = ?1 AND a.zone = ?2 AND a.periode = ?3"
        " GROUP BY a.indicateur, a.groupe";
    sqlite3_stmt *st;
    int rc = -1, r;

    if (cp_db_prepare(db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, agg_level(m), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->national ? "FR" : m->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->period, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 0);
        const unsigned char *g = sqlite3_column_text(st, 1);
        int i = code ? cp_model_ind(m, code) : -1;
        int gi = g ? cp_group_of((char)g[0]) : -1;
        struct cp_magg *a;

        if (i < 0 || gi < 0)
            continue;
        a = &m->agg[(size_t)i * CP_NGROUPS + (size_t)gi];
        a->ntargets = sqlite3_column_int(st, 3);
        a->ncontrib = sqlite3_column_int(st, 2);
        if ((strcmp(m->ind[i].nature, "flux") == 0 || strcmp(m->ind[i].nature, "stock") == 0) &&
            a->ntargets > 0 && a->ntargets == a->ncontrib)
            a->target = sqlite3_column_double(st, 4);
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des cibles");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static int load_series(struct cp_model *m, sqlite3 *db, struct cp_err *err)
{
    static const char per_sql[] =
        "SELECT DISTINCT periode FROM agregats WHERE niveau = ?1 AND zone = ?2"
        " AND length(periode) = length(?3) AND periode <= ?3 ORDER BY periode";
    static const char sql[] = "SELECT periode, indicateur, groupe, " AGG_COLS
                              " FROM agregats WHERE niveau = ?1 AND zone = ?2"
                              " AND length(periode) = length(?3) AND periode <= ?3";
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = -1, r;

    if (cp_db_prepare(db, per_sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, agg_level(m), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->national ? "FR" : m->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->period, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow(&m->periods, &cap, m->nperiods + 1, sizeof *m->periods) < 0 ||
            col_str(st, 0, &m->periods[m->nperiods]) < 0) {
            oom(err);
            goto out;
        }
        if (m->periods[m->nperiods])
            m->nperiods++;
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des périodes");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (m->nperiods && m->nind) {
        m->series = malloc(m->nperiods * m->nind * sizeof *m->series);
        if (!m->series) {
            oom(err);
            goto out;
        }
        agg_clear(m->series, m->nperiods * m->nind);
    }
    if (cp_db_prepare(db, sql, &st, err) < 0)
        goto out;
    sqlite3_bind_text(st, 1, agg_level(m), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->national ? "FR" : m->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->period, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *per = (const char *)sqlite3_column_text(st, 0);
        const char *code = (const char *)sqlite3_column_text(st, 1);
        const unsigned char *g = sqlite3_column_text(st, 2);
        int i = code ? cp_model_ind(m, code) : -1;
        size_t p;

        if (i < 0 || !g || !per || cp_group_of((char)g[0]) != m->ind[i].group)
            continue;
        for (p = 0; p < m->nperiods && strcmp(m->periods[p], per) != 0; p++)
            ;
        if (p < m->nperiods)
            agg_fill(&m->series[p * m->nind + (size_t)i], st, 3);
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des séries");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Appends the rows of one files query (see load_files) to m->file. */
static int read_files(struct cp_model *m, sqlite3 *db, const char *sql, size_t *cap,
                      struct cp_err *err)
{
    sqlite3_stmt *st;
    int rc = -1, r;

    if (cp_db_prepare(db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->period, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct cp_mfile *f;

        if (grow(&m->file, cap, m->nfile + 1, sizeof *m->file) < 0) {
            oom(err);
            goto out;
        }
        f = &m->file[m->nfile++];
        if (col_str(st, 0, &f->unit) < 0 || col_str(st, 1, &f->unit_name) < 0 ||
            col_str(st, 2, &f->sig) < 0 || col_str(st, 3, &f->name) < 0 ||
            col_str(st, 4, &f->received) < 0 || col_str(st, 5, &f->hash) < 0) {
            oom(err);
            goto out;
        }
        f->nvalues = sqlite3_column_int(st, 6);
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture des fichiers");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static int load_files(struct cp_model *m, sqlite3 *db, struct cp_err *err)
{
    static const char sig_sql[] =
        "SELECT s.code, s.nom, v.signataire, v.fichier, max(v.recu_le), max(v.empreinte), count(*)"
        " FROM ref_signataire s CROSS JOIN valeurs_courantes v ON v.signataire = s.code"
        " WHERE s.region = ?1 AND v.periode = ?2"
        " GROUP BY v.signataire, v.fichier ORDER BY " SIG_ORDER("s") ", 5, v.fichier";
    static const char nat_sql[] =
        "SELECT r.code, r.nom, v.signataire, v.fichier, max(v.recu_le), max(v.empreinte), count(*)"
        " FROM valeurs_courantes v JOIN ref_signataire s ON s.code = v.signataire"
        " JOIN ref_region r ON r.code = s.region WHERE v.periode = ?2"
        " GROUP BY r.code, v.signataire, v.fichier ORDER BY r.code, " SIG_ORDER("s")
        ", 5, v.fichier";
    /* National tier: the roll-up in force of each région, its aggregates
     * counted as its values. */
    static const char rollup_sql[] =
        "SELECT g.code, g.nom, 'remontée régionale', r.fichier, r.recu_le, f.empreinte,"
        " (SELECT count(*) FROM rollup_agregat a WHERE a.fichier_id = r.fichier_id)"
        " FROM rollups_courants r JOIN fichier f ON f.id = r.fichier_id"
        " JOIN ref_region g ON g.code = r.region WHERE r.periode = ?2 ORDER BY g.code";
    size_t cap = 0;

    if (read_files(m, db, m->national ? nat_sql : sig_sql, &cap, err) < 0)
        return -1;
    return m->national ? read_files(m, db, rollup_sql, &cap, err) : 0;
}

static int load_coverage(struct cp_model *m, sqlite3 *db, struct cp_err *err)
{
    static const char sql[] =
        "SELECT s.type, count(*), sum(EXISTS (SELECT 1 FROM courant c"
        "   WHERE c.signataire = s.code AND c.periode = ?4)"
        /* national tier: the contributors of the roll-ups in force (CASE,
         * so that a région's dossier never evaluates it) */
        "   OR CASE WHEN ?5 = 1 THEN s.code IN (SELECT k.signataire FROM contribution k"
        "   WHERE k.niveau = 'national' AND k.periode = ?4) ELSE 0 END)"
        " FROM ref_signataire s WHERE (?5 = 1 OR s.region = ?1)"
        " AND (s.debut IS NULL OR s.debut <= ?3) AND (s.fin IS NULL OR s.fin >= ?2)"
        " GROUP BY s.type";
    static const char reg_sql[] =
        "SELECT (SELECT count(*) FROM ref_region),"
        " (SELECT count(DISTINCT zone) FROM agregats WHERE niveau = 'region' AND periode = ?1)";
    sqlite3_stmt *st;
    int rc = -1, r;

    if (cp_db_prepare(db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, m->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->first, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->last, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, m->period, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, m->national);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        int g = t ? cp_group_of((char)t[0]) : -1;
        if (g >= 0) {
            m->expected[g] = sqlite3_column_int(st, 1);
            m->sent[g] = sqlite3_column_int(st, 2);
        }
    }
    if (r != SQLITE_DONE) {
        cp_db_fail(db, err, "lecture de la couverture");
        goto out;
    }
    sqlite3_finalize(st);
    if (cp_db_prepare(db, reg_sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, m->period, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        cp_db_fail(db, err, "lecture de la couverture");
        goto out;
    }
    m->regions_total = sqlite3_column_int(st, 0);
    m->regions_sent = sqlite3_column_int(st, 1);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int cp_model_load(struct cp_model *m, const struct cp_render_job *job, struct cp_err *err)
{
    int year, half;

    memset(m, 0, sizeof *m);
    if (!job || !job->db || !job->zone || period_split(job->period, &year, &half) < 0)
        return cp_err_set(err, CP_EX_SOFTWARE, "bad_job", NULL,
                          "rendu : période « %s » invalide (attendu AAAA ou AAAA-S1/S2)",
                          job && job->period ? job->period : "");
    m->national = job->national;
    m->zone = strdup(job->zone);
    m->zone_name = strdup(job->zone_name ? job->zone_name : job->zone);
    m->period = strdup(job->period);
    if (!m->zone || !m->zone_name || !m->period) {
        cp_model_release(m);
        return oom(err);
    }
    if (half == 0)
        snprintf(m->prev, sizeof m->prev, "%04d", year - 1);
    else if (half == 1)
        snprintf(m->prev, sizeof m->prev, "%04d-S2", year - 1);
    else
        snprintf(m->prev, sizeof m->prev, "%04d-S1", year);
    snprintf(m->first, sizeof m->first, "%04d-%s", year, half == 2 ? "07-01" : "01-01");
    snprintf(m->last, sizeof m->last, "%04d-%s", year, half == 1 ? "06-30" : "12-31");

    if (load_indicators(m, job->db, err) < 0 || load_units(m, job->db, err) < 0 ||
        load_cells(m, job->db, err) < 0)
        goto fail;
    if (m->nind) {
        m->agg = malloc(m->nind * CP_NGROUPS * sizeof *m->agg);
        m->prevagg = malloc(m->nind * CP_NGROUPS * sizeof *m->prevagg);
        if (!m->agg || !m->prevagg) {
            oom(err);
            goto fail;
        }
        agg_clear(m->agg, m->nind * CP_NGROUPS);
        agg_clear(m->prevagg, m->nind * CP_NGROUPS);
    }
    if (load_aggregates(m, job->db, m->period, m->agg, err) < 0 ||
        load_aggregates(m, job->db, m->prev, m->prevagg, err) < 0 ||
        load_targets(m, job->db, err) < 0 || load_series(m, job->db, err) < 0 ||
        load_findings(m, job->db, err) < 0 || load_files(m, job->db, err) < 0 ||
        load_coverage(m, job->db, err) < 0)
        goto fail;
    return 0;
fail:
    cp_model_release(m);
    return -1;
}

void cp_model_release(struct cp_model *m)
{
    for (size_t i = 0; i < m->nind; i++) {
        struct cp_mind *d = &m->ind[i];
        free(d->code); free(d->label); free(d->axis); free(d->unit);
        free(d->nature); free(d->sens); free(d->den);
    }
    for (size_t u = 0; u < m->nunit; u++) {
        free(m->unit[u].code);
        free(m->unit[u].name);
    }
    for (size_t k = 0; k < m->nfind; k++) {
        struct cp_mfinding *f = &m->find[k];
        free(f->rule); free(f->severity); free(f->sig); free(f->sig_name);
        free(f->indicators); free(f->values); free(f->message); free(f->file);
        free(f->cell); free(f->explanation);
    }
    for (size_t k = 0; k < m->nfile; k++) {
        struct cp_mfile *f = &m->file[k];
        free(f->unit); free(f->unit_name); free(f->sig); free(f->name);
        free(f->received); free(f->hash);
    }
    for (size_t p = 0; p < m->nperiods; p++)
        free(m->periods[p]);
    free(m->ind); free(m->unit); free(m->cell); free(m->agg); free(m->prevagg);
    free(m->periods); free(m->series); free(m->find); free(m->file);
    free(m->zone); free(m->zone_name); free(m->period);
    memset(m, 0, sizeof *m);
}
