/*
 * Building the tables of a (zone, period) job from the database views (see
 * rquery.h). Everything the job shows is read first into small sorted
 * arrays (signatories, indicators, values, finding marks, aggregates), then
 * laid out into struct cp_rtable.
 */
#include "render/rquery.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/db.h"
#include "common/fmt.h"
#include "common/text.h"

#define GROUPS "DMR"

struct sig {
    const char *code, *name;
    char type;
};

struct ind {
    const char *code, *label, *axis, *unit, *nature, *types;
};

struct val {
    const char *sig, *ind, *missing;
    int has_v, has_c;
    double v, c;
};

struct mark {
    const char *sig, *ind;
    int mark;
};

struct agg {
    const char *niveau, *zone, *ind;
    char groupe;
    int has_v, has_part, has_cible, couverts, attendus, partiel, derive;
    double v, part, cible;
};

struct region {
    const char *code, *name;
};

/* A growable array of fixed-size items. */
struct vec {
    void *items;
    size_t n, cap, size;
};

struct ctx {
    const struct cp_render_job *j;
    struct cp_rtables *r;
    char **strs; /* every string read, freed at the end */
    size_t nstrs, capstrs;
    struct vec sigs, inds, vals, marks, aggs, prev, regions;
    int oom;
};

static void *vec_push(struct ctx *c, struct vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        void *p = realloc(v->items, cap * v->size);

        if (!p) {
            c->oom = 1;
            return NULL;
        }
        v->items = p;
        v->cap = cap;
    }
    return memset((char *)v->items + v->n++ * v->size, 0, v->size);
}

static const char *keep(struct ctx *c, const char *s)
{
    char *d;

    if (!s)
        return NULL;
    if (c->nstrs == c->capstrs) {
        size_t cap = c->capstrs ? c->capstrs * 2 : 256;
        char **p = realloc(c->strs, cap * sizeof *p);

        if (!p) {
            c->oom = 1;
            return NULL;
        }
        c->strs = p;
        c->capstrs = cap;
    }
    d = strdup(s);
    if (!d) {
        c->oom = 1;
        return NULL;
    }
    c->strs[c->nstrs++] = d;
    return d;
}

static const char *col_keep(struct ctx *c, sqlite3_stmt *st, int i)
{
    return keep(c, (const char *)sqlite3_column_text(st, i));
}

static const char *col_str(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

static int col_num(sqlite3_stmt *st, int i, double *v)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return 0;
    *v = sqlite3_column_double(st, i);
    return isfinite(*v);
}

static int nullcmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_val(const void *a, const void *b)
{
    const struct val *x = a, *y = b;
    int d = nullcmp(x->sig, y->sig);
    return d ? d : nullcmp(x->ind, y->ind);
}

static int cmp_mark(const void *a, const void *b)
{
    const struct mark *x = a, *y = b;
    int d = nullcmp(x->sig, y->sig);
    return d ? d : nullcmp(x->ind, y->ind);
}

static int cmp_agg(const void *a, const void *b)
{
    const struct agg *x = a, *y = b;
    int d = nullcmp(x->niveau, y->niveau);

    if (!d)
        d = nullcmp(x->zone, y->zone);
    if (!d)
        d = (x->groupe > y->groupe) - (x->groupe < y->groupe);
    return d ? d : nullcmp(x->ind, y->ind);
}

static const struct val *find_val(const struct ctx *c, const char *sig, const char *ind)
{
    struct val key = {.sig = sig, .ind = ind};
    return c->vals.n ? bsearch(&key, c->vals.items, c->vals.n, sizeof key, cmp_val) : NULL;
}

static int find_mark(const struct ctx *c, const char *sig, const char *ind)
{
    struct mark key = {.sig = sig, .ind = ind};
    const struct mark *m =
        c->marks.n ? bsearch(&key, c->marks.items, c->marks.n, sizeof key, cmp_mark) : NULL;
    return m ? m->mark : CP_RMARK_NONE;
}

static const struct agg *find_agg(const struct vec *v, const char *niveau, const char *zone,
                                  char groupe, const char *ind)
{
    struct agg key = {.niveau = niveau, .zone = zone, .groupe = groupe, .ind = ind};
    return v->n ? bsearch(&key, v->items, v->n, sizeof key, cmp_agg) : NULL;
}

/* ---- small shared helpers ------------------------------------------------ */

int cp_rperiod_of(const char *text, struct cp_rperiod *out, struct cp_err *err)
{
    struct cp_period prev;

    memset(out, 0, sizeof *out);
    if (!text || cp_period_parse(text, strlen(text), &out->p) < 0)
        return cp_err_set(err, CP_EX_USAGE, "bad_period", NULL,
                          "période « %s » non reconnue (attendu : 2022, 2022-S1 ou 2022-S2)",
                          text ? text : "");
    prev = out->p;
    if (prev.half == 2) {
        prev.half = 1;
    } else {
        prev.year--;
        if (prev.half == 1)
            prev.half = 2;
    }
    cp_period_str(&out->p, out->text);
    cp_period_str(&prev, out->prev);
    cp_period_bounds(&out->p, out->first, out->last);
    return 0;
}

void cp_rperiod_label(const struct cp_period *p, char *out, size_t n)
{
    if (p->half == 1)
        snprintf(out, n, "1er semestre %d", p->year);
    else if (p->half == 2)
        snprintf(out, n, "2e semestre %d", p->year);
    else
        snprintf(out, n, "année %d", p->year);
}

const char *cp_rgroup_name(char type)
{
    switch (type) {
    case 'D':
        return "départements";
    case 'M':
        return "métropoles";
    case 'R':
        return "régions";
    default:
        return "autres";
    }
}

const char *cp_runit_name(const char *unit)
{
    if (!unit)
        return "";
    if (strcmp(unit, "nb") == 0)
        return "nombre";
    if (strcmp(unit, "pct") == 0)
        return "%";
    if (strcmp(unit, "eur") == 0)
        return "€";
    return unit;
}

const char *cp_rmissing_name(const char *code)
{
    if (code && strcmp(code, "NC") == 0)
        return "non communiqué";
    if (code && strcmp(code, "SO") == 0)
        return "sans objet";
    return code ? code : "";
}

void cp_rslug(const char *s, char *out, size_t n)
{
    size_t len;

    if (n == 0)
        return;
    len = cp_text_fold_words(s, strlen(s), out, n);
    for (size_t i = 0; i < len; i++)
        if (out[i] == ' ')
            out[i] = '-';
}

double cp_rround(double v, int d)
{
    double f = pow(10.0, d);
    double r = round(v * f) / f;
    return r == 0.0 ? 0.0 : r; /* no -0 */
}

/* A number the French way, with as many decimals as it has (up to 6). */
static void french_number(double v, char *out, size_t n)
{
    char *dot;

    snprintf(out, n, "%.6f", cp_rround(v, 6));
    dot = strchr(out, '.');
    if (dot) {
        size_t len = strlen(out);
        while (len > 0 && out[len - 1] == '0')
            out[--len] = '\0';
        if (out[len - 1] == '.')
            out[--len] = '\0';
        else
            *dot = ',';
    }
}

char *cp_rvalues_text(const char *values)
{
    struct cp_buf b = CP_BUF_INIT(1u << 20);
    const char *p = values ? values : "";

    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        char item[64], *end;
        double v;

        if (len > 0 && len < sizeof item) {
            memcpy(item, p, len);
            item[len] = '\0';
            v = strtod(item, &end);
            if (*end == '\0' && isfinite(v))
                french_number(v, item, sizeof item);
            cp_buf_adds(&b, item);
        } else {
            cp_buf_add(&b, p, len);
        }
        if (!bar)
            break;
        cp_buf_adds(&b, " | ");
        p = bar + 1;
    }
    return cp_buf_detach(&b);
}

/* ---- reading the database ------------------------------------------------- */

static int fail_step(struct ctx *c, const char *what, struct cp_err *err)
{
    return cp_db_fail(c->j->db, err, what);
}

static int load_sigs(struct ctx *c, struct cp_err *err)
{
    static const char sql[] =
        "SELECT s.code, s.nom, s.type FROM ref_signataire s"
        " WHERE s.region = ?1 AND ((coalesce(s.debut, '') = '' OR s.debut <= ?3)"
        "   AND (coalesce(s.fin, '') = '' OR s.fin >= ?2)"
        "   OR EXISTS (SELECT 1 FROM courant c WHERE c.signataire = s.code AND c.periode = ?4))"
        " ORDER BY CASE s.type WHEN 'D' THEN 0 WHEN 'M' THEN 1 ELSE 2 END, s.code";
    sqlite3_stmt *st;
    int rc;

    if (cp_db_prepare(c->j->db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, c->j->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->r->per.first, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->r->per.last, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->r->per.text, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sig *s = vec_push(c, &c->sigs);
        if (!s)
            break;
        s->code = col_keep(c, st, 0);
        s->name = col_keep(c, st, 1);
        s->type = col_str(st, 2)[0];
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_step(c, "lecture des signataires", err);
    return 0;
}

static int load_regions(struct ctx *c, struct cp_err *err)
{
    static const char sql[] =
        "SELECT r.code, r.nom FROM ref_region r WHERE EXISTS (SELECT 1 FROM agregat a"
        " WHERE a.niveau = 'region' AND a.zone = r.code AND a.periode = ?1) ORDER BY r.code";
    sqlite3_stmt *st;
    int rc;

    if (cp_db_prepare(c->j->db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, c->r->per.text, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct region *g = vec_push(c, &c->regions);
        if (!g)
            break;
        g->code = col_keep(c, st, 0);
        g->name = col_keep(c, st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_step(c, "lecture des régions", err);
    return 0;
}

static int load_inds(struct ctx *c, struct cp_err *err)
{
    static const char sql[] =
        "SELECT i.code, i.libelle, i.axe, i.unite, i.nature, i.types FROM ref_indicateur i"
        " WHERE (i.annee_debut <= ?1 AND i.annee_fin >= ?1 AND (i.annuel_seul = 0 OR ?2 = 0))"
        /* The indicators with a value in force for the period: courant's
         * key starts with the signatory, so each signatory's values of the
         * period are found by a seek, the signatories by a seek past the
         * previous one (a scan of courant otherwise). */
        "   OR i.code IN (WITH RECURSIVE sig(s) AS (SELECT min(signataire) FROM courant"
        "     UNION ALL SELECT (SELECT min(signataire) FROM courant WHERE signataire > sig.s)"
        "       FROM sig WHERE sig.s IS NOT NULL)"
        "     SELECT c.indicateur FROM sig CROSS JOIN courant c"
        "       ON c.signataire = sig.s AND c.periode = ?3)"
        " ORDER BY i.rang, i.code";
    sqlite3_stmt *st;
    int rc;

    if (cp_db_prepare(c->j->db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_int(st, 1, c->r->per.p.year);
    sqlite3_bind_int(st, 2, c->r->per.p.half);
    sqlite3_bind_text(st, 3, c->r->per.text, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ind *d = vec_push(c, &c->inds);
        if (!d)
            break;
        d->code = col_keep(c, st, 0);
        d->label = col_keep(c, st, 1);
        d->axis = col_keep(c, st, 2);
        d->unit = col_keep(c, st, 3);
        d->nature = col_keep(c, st, 4);
        d->types = col_keep(c, st, 5);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_step(c, "lecture du catalogue", err);
    return 0;
}

static int load_vals(struct ctx *c, struct cp_err *err)
{
    static const char sql[] =
        "SELECT v.signataire, v.indicateur, v.valeur, v.cible, v.manquant"
        " FROM valeurs_courantes v JOIN ref_signataire s ON s.code = v.signataire"
        " WHERE v.periode = ?1 AND (?2 = 1 OR s.region = ?3)";
    /* The same for a région, its signatories first (CROSS JOIN: SQLite
     * would scan every value in force, of every period). */
    static const char region_sql[] =
        "SELECT v.signataire, v.indicateur, v.valeur, v.cible, v.manquant"
        " FROM ref_signataire s CROSS JOIN valeurs_courantes v ON v.signataire = s.code"
        " WHERE v.periode = ?1 AND s.region = ?3 AND ?2 = 0";
    sqlite3_stmt *st;
    int rc;

    if (cp_db_prepare(c->j->db, c->j->national ? sql : region_sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, c->r->per.text, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, c->j->national != 0);
    sqlite3_bind_text(st, 3, c->j->zone, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct val *v = vec_push(c, &c->vals);
        if (!v)
            break;
        v->sig = col_keep(c, st, 0);
        v->ind = col_keep(c, st, 1);
        v->has_v = col_num(st, 2, &v->v);
        v->has_c = col_num(st, 3, &v->c);
        v->missing = col_keep(c, st, 4);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_step(c, "lecture des valeurs", err);
    if (c->vals.n)
        qsort(c->vals.items, c->vals.n, c->vals.size, cmp_val);
    return 0;
}

/* Adds a mark, splitting a comma-separated list of indicators. */
static void add_marks(struct ctx *c, const char *sig, const char *inds, int m)
{
    const char *p = inds;

    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char code[128];

        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len > 0 && len < sizeof code) {
            struct mark *k = vec_push(c, &c->marks);
            if (!k)
                return;
            memcpy(code, p, len);
            code[len] = '\0';
            k->sig = keep(c, sig);
            k->ind = keep(c, code);
            k->mark = m;
        }
        p = comma ? comma + 1 : NULL;
    }
}

/*
 * The most severe finding on each (signatory, indicator) of the period:
 * from the values a finding involves, from the indicators named by a
 * finding that involves no stored value (a missing indicator), and from
 * the exclusions (a value under a bloquant finding).
 */
static int load_marks(struct ctx *c, struct cp_err *err)
{
    static const char sql[] =
        "SELECT cv.signataire, cv.indicateur, c.gravite FROM constat_valeur cv"
        "  JOIN constat c ON c.id = cv.constat_id WHERE cv.periode = ?1"
        " UNION ALL SELECT c.signataire, c.indicateurs, c.gravite FROM constat c"
        "  WHERE c.periode = ?1 AND c.signataire IS NOT NULL"
        "  AND NOT EXISTS (SELECT 1 FROM constat_valeur cv WHERE cv.constat_id = c.id)"
        " UNION ALL SELECT e.signataire, e.indicateur, 'bloquant' FROM exclusion e"
        "  WHERE e.periode = ?1";
    sqlite3_stmt *st;
    struct mark *m;
    size_t out = 0;
    int rc;

    if (cp_db_prepare(c->j->db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, c->r->per.text, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !c->oom)
        add_marks(c, col_str(st, 0), col_str(st, 1), (int)cp_rmark_of(col_str(st, 2)));
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_step(c, "lecture des anomalies", err);
    if (!c->marks.n)
        return 0;
    /* Sort, then keep one entry per key with the most severe mark. */
    m = c->marks.items;
    qsort(m, c->marks.n, sizeof *m, cmp_mark);
    for (size_t i = 0; i < c->marks.n; i++) {
        if (out > 0 && cmp_mark(&m[out - 1], &m[i]) == 0) {
            if (m[i].mark > m[out - 1].mark)
                m[out - 1].mark = m[i].mark;
        } else {
            m[out++] = m[i];
        }
    }
    c->marks.n = out;
    return 0;
}

/*
 * The aggregates of a period: the zone's own (and, at national level,
 * every région's). A target is given for a flux or stock only when every
 * contributing signatory has one: the sum of the targets.
 */
static int load_aggs(struct ctx *c, struct vec *into, const char *period, struct cp_err *err)
{
    static const char sql[] =
        "SELECT a.niveau, a.zone, a.groupe, a.indicateur, a.valeur, a.couverts, a.attendus,"
        "  a.partiel, a.part_couverte, a.derive,"
        "  (SELECT CASE WHEN count(*) > 0 AND count(v.cible) = count(*) THEN sum(v.cible) END"
        "     FROM contribution k LEFT JOIN courant cc ON cc.signataire = k.signataire"
        "       AND cc.periode = k.periode AND cc.indicateur = k.indicateur"
        "     LEFT JOIN valeur v ON v.id = cc.valeur_id"
        "     WHERE k.niveau = a.niveau AND k.zone = a.zone AND k.groupe = a.groupe"
        "       AND k.periode = a.periode AND k.indicateur = a.indicateur),"
        "  i.nature"
        " FROM agregats a LEFT JOIN ref_indicateur i ON i.code = a.indicateur"
        " WHERE a.periode = ?1 AND (?2 = 1 OR (a.niveau = 'region' AND a.zone = ?3))";
    sqlite3_stmt *st;
    int rc;

    if (cp_db_prepare(c->j->db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, c->j->national != 0);
    sqlite3_bind_text(st, 3, c->j->zone, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct agg *a = vec_push(c, into);
        const char *nature = col_str(st, 11);

        if (!a)
            break;
        a->niveau = col_keep(c, st, 0);
        a->zone = col_keep(c, st, 1);
        a->groupe = col_str(st, 2)[0];
        a->ind = col_keep(c, st, 3);
        a->has_v = col_num(st, 4, &a->v);
        a->couverts = sqlite3_column_int(st, 5);
        a->attendus = sqlite3_column_int(st, 6);
        a->partiel = sqlite3_column_int(st, 7);
        a->has_part = col_num(st, 8, &a->part);
        a->derive = sqlite3_column_int(st, 9);
        if (strcmp(nature, "flux") == 0 || strcmp(nature, "stock") == 0)
            a->has_cible = col_num(st, 10, &a->cible);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_step(c, "lecture des agrégats", err);
    if (into->n)
        qsort(into->items, into->n, into->size, cmp_agg);
    return 0;
}

/* ---- laying out the tables ------------------------------------------------ */

static const char *level(const struct ctx *c)
{
    return c->j->national ? "national" : "region";
}

static const char *zone_name(const struct ctx *c)
{
    return c->j->zone_name && *c->j->zone_name ? c->j->zone_name : c->j->zone;
}

static void common_notes(struct ctx *c, struct cp_rtable *t)
{
    char date[16];

    if (c->j->data_date && *c->j->data_date)
        cp_rtable_note(t, "Données reçues jusqu'au %s.",
                       cp_fmt_date(c->j->data_date, date, sizeof date));
    cp_rtable_note(t, "Les pourcentages sont exprimés en points : 53,3 signifie 53,3 %%.");
}

/* achievement = value / target, in points. */
static int achievement(double v, double target, double *out)
{
    if (target == 0.0 || !isfinite(v / target))
        return 0;
    *out = cp_rround(v / target * 100.0, 1);
    return 1;
}

static void agg_cells(struct cp_rtable *t, size_t row, size_t col, const struct agg *a,
                      const char *unit)
{
    double r;

    if (!a)
        return;
    if (a->has_v)
        cp_rtable_num(t, row, col, a->v, cp_rnumfmt_unit(unit, a->v));
    if (a->has_cible)
        cp_rtable_num(t, row, col + 1, a->cible, cp_rnumfmt_unit(unit, a->cible));
    if (a->has_v && a->has_cible && achievement(a->v, a->cible, &r))
        cp_rtable_num(t, row, col + 2, r, CP_RNF_PCT);
    if (a->partiel)
        for (size_t k = col; k < col + 3; k++)
            cp_rtable_style(t, row, k, CP_RSTYLE_ITALIC);
}

enum {
    S_GROUP, S_AXIS, S_CODE, S_LABEL, S_UNIT, S_VALUE, S_PREV, S_DIFF, S_EVOL, S_TARGET,
    S_ACHIEV, S_COVER, S_SHARE, S_PARTIAL, S_NOTE, S_NCOLS
};

static int build_synth(struct ctx *c)
{
    static const char *const head[S_NCOLS] = {
        "Groupe", "Axe", "Indicateur", "Libellé", "Unité", "Valeur", "Période précédente",
        "Écart", "Évolution (%)", "Cible", "Réalisation (%)", "Couverture",
        "Part couverte (%)", "Partiel", "Remarque"};
    struct cp_rtable *t = &c->r->synth;
    const struct ind *inds = c->inds.items;
    char label[32];

    if (cp_rtable_init(t, "Synthèse", "synthese", S_NCOLS) < 0)
        return -1;
    for (size_t k = 0; k < S_NCOLS; k++)
        cp_rtable_head(t, k, head[k], NULL);
    t->freeze_cols = S_LABEL + 1;
    cp_rperiod_label(&c->r->per.p, label, sizeof label);
    if (c->j->national)
        cp_rtable_title(t, "Chiffres clés – %s – %s (%s)", zone_name(c), c->r->per.text, label);
    else
        cp_rtable_title(t, "Chiffres clés – %s (%s) – %s (%s)", zone_name(c), c->j->zone,
                        c->r->per.text, label);
    cp_rtable_note(t, "Période précédente : %s. Couverture : signataires comptés / signataires "
                      "attendus ; un chiffre partiel est en italique.",
                   c->r->per.prev);
    cp_rtable_note(t, "Ratios recalculés à partir des numérateurs et dénominateurs sommés ; "
                      "les valeurs sous anomalie bloquante sont exclues.");
    common_notes(c, t);
    for (const char *g = GROUPS; *g; g++) {
        for (size_t i = 0; i < c->inds.n; i++) {
            const struct ind *d = &inds[i];
            const struct agg *a = find_agg(&c->aggs, level(c), c->j->zone, *g, d->code);
            const struct agg *p = find_agg(&c->prev, level(c), c->j->zone, *g, d->code);
            size_t row;
            double x;

            if (!a)
                continue;
            row = cp_rtable_add_row(t);
            cp_rtable_text(t, row, S_GROUP, cp_rgroup_name(*g));
            cp_rtable_text(t, row, S_AXIS, d->axis);
            cp_rtable_text(t, row, S_CODE, d->code);
            cp_rtable_text(t, row, S_LABEL, d->label);
            cp_rtable_text(t, row, S_UNIT, cp_runit_name(d->unit));
            if (a->has_v)
                cp_rtable_num(t, row, S_VALUE, a->v, cp_rnumfmt_unit(d->unit, a->v));
            if (p && p->has_v)
                cp_rtable_num(t, row, S_PREV, p->v, cp_rnumfmt_unit(d->unit, p->v));
            if (a->has_v && p && p->has_v) {
                x = cp_rround(a->v - p->v, 6);
                cp_rtable_num(t, row, S_DIFF, x, cp_rnumfmt_diff(d->unit, x));
                if (p->v != 0.0)
                    cp_rtable_num(t, row, S_EVOL, cp_rround((a->v - p->v) / fabs(p->v) * 100.0, 1),
                                  CP_RNF_DIFF_PCT);
            }
            if (a->has_cible)
                cp_rtable_num(t, row, S_TARGET, a->cible, cp_rnumfmt_unit(d->unit, a->cible));
            if (a->has_v && a->has_cible && achievement(a->v, a->cible, &x))
                cp_rtable_num(t, row, S_ACHIEV, x, CP_RNF_PCT);
            cp_rtable_textf(t, row, S_COVER, "%d/%d", a->couverts, a->attendus);
            if (a->has_part)
                cp_rtable_num(t, row, S_SHARE, cp_rround(a->part * 100.0, 1), CP_RNF_PCT);
            if (a->partiel) {
                cp_rtable_text(t, row, S_PARTIAL, "oui");
                cp_rtable_row_style(t, row, CP_RSTYLE_ITALIC);
            }
            if (a->derive)
                cp_rtable_text(t, row, S_NOTE, "année calculée : S1 + S2");
        }
    }
    if (t->nrows == 0)
        cp_rtable_note(t, "Aucun agrégat n'a été calculé pour cette période.");
    return t->failed ? -1 : 0;
}

static int type_allowed(const struct ind *d, char type)
{
    return d->types && type && strchr(d->types, type) != NULL;
}

/* Cuts s to at most max code points; returns the byte length kept. */
static size_t utf8_cut(char *s, size_t max)
{
    size_t i = 0, chars = 0;

    while (s[i] && chars < max) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    s[i] = '\0';
    return i;
}

/* A worksheet name: at most 31 characters, none of []:*?/\, no ASCII
 * apostrophe (it becomes ’, as sheet references quote with it); a long
 * axis name is cut at a word and ends with "…". */
static void sheet_name(const char *axis, char *out, size_t n)
{
    struct cp_buf b = CP_BUF_INIT(512);
    size_t len, chars = 0;
    char *s;

    for (const char *p = axis; *p; p++) {
        if (*p == '\'')
            cp_buf_adds(&b, "\xE2\x80\x99");
        else
            cp_buf_addc(&b, strchr("[]:*?/\\", *p) ? '-' : *p);
    }
    s = b.data ? b.data : (char *)"";
    for (const char *p = s; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    if (chars > 31) {
        char *space;

        len = utf8_cut(s, 30);
        space = strrchr(s, ' ');
        if (space && space - s >= 10)
            len = (size_t)(space - s);
        s[len] = '\0';
        snprintf(out, n, "%s\xE2\x80\xA6", s);
    } else {
        snprintf(out, n, "%s", s);
    }
    cp_buf_release(&b);
}

static int name_used(struct ctx *c, const char *name)
{
    static const char *const fixed[] = {"Synthèse", "Graphiques", "Données", "Anomalies"};

    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcasecmp(fixed[i], name) == 0)
            return 1;
    for (size_t i = 0; i < c->r->naxes; i++)
        if (c->r->axes[i].t.name && strcasecmp(c->r->axes[i].t.name, name) == 0)
            return 1;
    return 0;
}

static void unique_sheet_name(struct ctx *c, const char *axis, char *out, size_t n)
{
    char base[160];

    sheet_name(axis, base, sizeof base);
    snprintf(out, n, "%s", base);
    utf8_cut(base, 26);
    for (int k = 2; name_used(c, out) && k < 100; k++)
        snprintf(out, n, "%.120s (%d)", base, k);
}

static void axis_release(struct cp_raxis *x)
{
    cp_rtable_release(&x->t);
    for (size_t k = 0; k < x->nind; k++) {
        free(x->ind[k].code);
        free(x->ind[k].label);
        free(x->ind[k].unit);
        free(x->ind[k].nature);
    }
    free(x->ind);
    free(x->axis);
    free(x->rowkind);
    free(x->rowgroup);
    memset(x, 0, sizeof *x);
}

static size_t add_axis_row(struct cp_raxis *x, enum cp_raxis_row kind, char group)
{
    size_t row = cp_rtable_add_row(&x->t);
    unsigned char *k;
    char *g;

    if (row == (size_t)-1)
        return row;
    k = realloc(x->rowkind, x->t.nrows);
    if (k)
        x->rowkind = k;
    g = realloc(x->rowgroup, x->t.nrows);
    if (g)
        x->rowgroup = g;
    if (!k || !g) {
        x->t.failed = 1;
        x->t.nrows--;
        return (size_t)-1;
    }
    x->rowkind[row] = (unsigned char)kind;
    x->rowgroup[row] = group;
    return row;
}

/* One signatory's cells for one indicator: value (or its missing marker),
 * target, achievement; the finding mark goes on the value. */
static void sig_cells(struct ctx *c, struct cp_rtable *t, size_t row, const struct sig *s,
                      const struct ind *d, size_t col)
{
    const struct val *v = find_val(c, s->code, d->code);
    double r;

    if (v && v->has_v)
        cp_rtable_num(t, row, col, v->v, cp_rnumfmt_unit(d->unit, v->v));
    else if (v && v->missing)
        cp_rtable_text(t, row, col, v->missing);
    if (v && v->has_c)
        cp_rtable_num(t, row, col + 1, v->c, cp_rnumfmt_unit(d->unit, v->c));
    if (v && v->has_v && v->has_c && achievement(v->v, v->c, &r))
        cp_rtable_num(t, row, col + 2, r, CP_RNF_PCT);
    cp_rtable_mark(t, row, col, (enum cp_rmark)find_mark(c, s->code, d->code));
}

static int build_axis(struct ctx *c, const char *axis)
{
    const struct ind *inds = c->inds.items;
    const struct sig *sigs = c->sigs.items;
    const struct region *regs = c->regions.items;
    size_t per = c->j->national ? 4 : 3, nind = 0, k = 0;
    struct cp_raxis *x;
    char name[160], slug[160], file[176];

    for (size_t i = 0; i < c->inds.n; i++)
        nind += strcmp(inds[i].axis, axis) == 0;
    if (nind == 0)
        return 0;
    x = &c->r->axes[c->r->naxes];
    memset(x, 0, sizeof *x);
    unique_sheet_name(c, axis, name, sizeof name);
    cp_rslug(axis, slug, sizeof slug);
    snprintf(file, sizeof file, "axe-%s", slug);
    c->r->naxes++;
    if (cp_rtable_init(&x->t, name, file, 2 + per * nind) < 0)
        return -1;
    x->axis = strdup(axis);
    x->ind = calloc(nind, sizeof *x->ind);
    if (!x->axis || !x->ind)
        return -1;
    cp_rtable_title(&x->t, "%s – %s – %s", axis, zone_name(c), c->r->per.text);
    cp_rtable_note(&x->t, "Couleurs des valeurs : rouge = anomalie bloquante (valeur exclue des "
                          "agrégats), orange = avertissement, bleu = information. "
                          "Réalisation = valeur / cible.");
    common_notes(c, &x->t);
    cp_rtable_head(&x->t, 0, c->j->national ? "Région" : "Signataire", NULL);
    cp_rtable_head(&x->t, 1, "Nom", NULL);
    x->t.freeze_cols = 2;
    for (size_t i = 0; i < c->inds.n; i++) {
        const struct ind *d = &inds[i];
        struct cp_raxis_ind *xi;
        size_t col;
        struct cp_buf g = CP_BUF_INIT(1024), h = CP_BUF_INIT(256);

        if (strcmp(d->axis, axis) != 0)
            continue;
        xi = &x->ind[k];
        col = 2 + per * k++;
        xi->col = col;
        xi->code = strdup(d->code);
        xi->label = strdup(d->label);
        xi->unit = strdup(d->unit);
        xi->nature = strdup(d->nature);
        x->nind = k;
        if (!xi->code || !xi->label || !xi->unit || !xi->nature)
            return -1;
        cp_buf_addf(&g, "%s (%s)", d->label, d->code);
        for (size_t m = 0; m < per; m++)
            cp_rtable_group(&x->t, col + m, cp_buf_str(&g));
        cp_buf_release(&g);
        cp_buf_addf(&h, "%s valeur", d->code);
        cp_rtable_head(&x->t, col, "Valeur", cp_buf_str(&h));
        cp_buf_reset(&h);
        cp_buf_addf(&h, "%s cible", d->code);
        cp_rtable_head(&x->t, col + 1, "Cible", cp_buf_str(&h));
        cp_buf_reset(&h);
        cp_buf_addf(&h, "%s réalisation (%%)", d->code);
        cp_rtable_head(&x->t, col + 2, "Réalisation (%)", cp_buf_str(&h));
        if (per == 4) {
            cp_buf_reset(&h);
            cp_buf_addf(&h, "%s couverture", d->code);
            cp_rtable_head(&x->t, col + 3, "Couverture", cp_buf_str(&h));
        }
        cp_buf_release(&h);
    }

    if (!c->j->national) {
        /* Signatories whose type the axis applies to, then one aggregate row
         * and one coverage row per group. */
        char groups[4] = {0};

        for (size_t s = 0; s < c->sigs.n; s++) {
            int any = 0;
            size_t row;

            for (size_t i = 0; i < c->inds.n && !any; i++)
                any = strcmp(inds[i].axis, axis) == 0 && type_allowed(&inds[i], sigs[s].type);
            if (!any)
                continue;
            if (!strchr(groups, sigs[s].type) && strlen(groups) < 3)
                groups[strlen(groups)] = sigs[s].type;
            row = add_axis_row(x, CP_RAXIS_UNIT, sigs[s].type);
            cp_rtable_text(&x->t, row, 0, sigs[s].code);
            cp_rtable_text(&x->t, row, 1, sigs[s].name);
            for (size_t i = 0, q = 0; i < c->inds.n; i++) {
                if (strcmp(inds[i].axis, axis) != 0)
                    continue;
                if (type_allowed(&inds[i], sigs[s].type))
                    sig_cells(c, &x->t, row, &sigs[s], &inds[i], x->ind[q].col);
                q++;
            }
        }
        for (const char *g = GROUPS; *g; g++) {
            size_t row, cov;
            int any = strchr(groups, *g) != NULL;

            for (size_t i = 0; i < x->nind && !any; i++)
                any = find_agg(&c->aggs, "region", c->j->zone, *g, x->ind[i].code) != NULL;
            if (!any)
                continue;
            row = add_axis_row(x, CP_RAXIS_AGG, *g);
            cov = add_axis_row(x, CP_RAXIS_COVERAGE, *g);
            cp_rtable_text(&x->t, row, 0, c->j->zone);
            cp_rtable_textf(&x->t, row, 1, "%s – %s", zone_name(c), cp_rgroup_name(*g));
            cp_rtable_row_style(&x->t, row, CP_RSTYLE_BOLD);
            cp_rtable_text(&x->t, cov, 1, "Couverture (signataires comptés / attendus)");
            cp_rtable_row_style(&x->t, cov, CP_RSTYLE_ITALIC);
            for (size_t i = 0; i < x->nind; i++) {
                const struct agg *a =
                    find_agg(&c->aggs, "region", c->j->zone, *g, x->ind[i].code);
                agg_cells(&x->t, row, x->ind[i].col, a, x->ind[i].unit);
                if (a)
                    cp_rtable_textf(&x->t, cov, x->ind[i].col, "%d/%d", a->couverts,
                                    a->attendus);
            }
        }
    } else {
        /* By région, then the nation, each group on its own row. */
        for (size_t z = 0; z <= c->regions.n; z++) {
            const char *zone = z < c->regions.n ? regs[z].code : c->j->zone;
            const char *zname = z < c->regions.n ? regs[z].name : zone_name(c);
            const char *lvl = z < c->regions.n ? "region" : "national";

            for (const char *g = GROUPS; *g; g++) {
                size_t row;
                int any = 0;

                for (size_t i = 0; i < x->nind && !any; i++)
                    any = find_agg(&c->aggs, lvl, zone, *g, x->ind[i].code) != NULL;
                if (!any)
                    continue;
                row = add_axis_row(x, z < c->regions.n ? CP_RAXIS_UNIT : CP_RAXIS_AGG, *g);
                cp_rtable_text(&x->t, row, 0, zone);
                cp_rtable_textf(&x->t, row, 1, "%s – %s", zname, cp_rgroup_name(*g));
                if (z == c->regions.n)
                    cp_rtable_row_style(&x->t, row, CP_RSTYLE_BOLD);
                for (size_t i = 0; i < x->nind; i++) {
                    const struct agg *a = find_agg(&c->aggs, lvl, zone, *g, x->ind[i].code);
                    agg_cells(&x->t, row, x->ind[i].col, a, x->ind[i].unit);
                    if (a)
                        cp_rtable_textf(&x->t, row, x->ind[i].col + 3, "%d/%d", a->couverts,
                                        a->attendus);
                }
            }
        }
    }
    if (x->t.failed)
        return -1;
    if (x->t.nrows == 0) {
        /* No signatory of the zone reports on this axis: no sheet. */
        axis_release(x);
        c->r->naxes--;
    }
    return 0;
}

static int build_axes(struct ctx *c)
{
    const struct ind *inds = c->inds.items;

    c->r->axes = calloc(c->inds.n ? c->inds.n : 1, sizeof *c->r->axes);
    if (!c->r->axes)
        return -1;
    for (size_t i = 0; i < c->inds.n; i++) {
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(inds[k].axis, inds[i].axis) == 0;
        if (!seen && build_axis(c, inds[i].axis) < 0)
            return -1;
    }
    return 0;
}

enum {
    D_SIG, D_NAME, D_PERIOD, D_CODE, D_LABEL, D_UNIT, D_VALUE, D_TARGET, D_MISSING, D_FINDING,
    D_COMMENT, D_FILE, D_CELL, D_RECEIVED, D_NCOLS
};

static int build_data(struct ctx *c, struct cp_err *err)
{
    static const char *const head[D_NCOLS] = {
        "Signataire", "Nom", "Période", "Indicateur", "Libellé", "Unité", "Valeur", "Cible",
        "Non renseigné", "Anomalie", "Commentaire", "Fichier", "Emplacement", "Reçu le"};
    static const char sql[] =
        "SELECT v.signataire, s.nom, v.periode, v.indicateur, i.libelle, i.unite, v.valeur,"
        "  v.cible, v.manquant, v.commentaire, v.fichier, v.emplacement, v.recu_le"
        " FROM valeurs_courantes v LEFT JOIN ref_signataire s ON s.code = v.signataire"
        " LEFT JOIN ref_indicateur i ON i.code = v.indicateur"
        " WHERE v.periode = ?1 AND (?2 = 1 OR s.region = ?3)"
        " ORDER BY CASE s.type WHEN 'D' THEN 0 WHEN 'M' THEN 1 ELSE 2 END, v.signataire,"
        "  coalesce(i.rang, 1e9), v.indicateur";
    /* The same for a région, its signatories first (CROSS JOIN, see
     * load_vals; the région's test dropped the rows without one). */
    static const char region_sql[] =
        "SELECT v.signataire, s.nom, v.periode, v.indicateur, i.libelle, i.unite, v.valeur,"
        "  v.cible, v.manquant, v.commentaire, v.fichier, v.emplacement, v.recu_le"
        " FROM ref_signataire s CROSS JOIN valeurs_courantes v ON v.signataire = s.code"
        " LEFT JOIN ref_indicateur i ON i.code = v.indicateur"
        " WHERE v.periode = ?1 AND s.region = ?3 AND ?2 = 0"
        " ORDER BY CASE s.type WHEN 'D' THEN 0 WHEN 'M' THEN 1 ELSE 2 END, v.signataire,"
        "  coalesce(i.rang, 1e9), v.indicateur";
    struct cp_rtable *t = &c->r->data;
    sqlite3_stmt *st;
    int rc;

    if (cp_rtable_init(t, "Données", "donnees", D_NCOLS) < 0)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    for (size_t k = 0; k < D_NCOLS; k++)
        cp_rtable_head(t, k, head[k], NULL);
    t->freeze_cols = 2;
    if (cp_db_prepare(c->j->db, c->j->national ? sql : region_sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, c->r->per.text, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, c->j->national != 0);
    sqlite3_bind_text(st, 3, c->j->zone, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !t->failed) {
        size_t row = cp_rtable_add_row(t);
        const char *unit = (const char *)sqlite3_column_text(st, 5);
        int m = find_mark(c, col_str(st, 0), col_str(st, 3));
        double v;

        for (int k = 0; k <= 5; k++)
            cp_rtable_text(t, row, (size_t)k,
                           k == 5 ? cp_runit_name(unit) : (const char *)sqlite3_column_text(st, k));
        if (col_num(st, 6, &v))
            cp_rtable_num(t, row, D_VALUE, v, cp_rnumfmt_unit(unit, v));
        if (col_num(st, 7, &v))
            cp_rtable_num(t, row, D_TARGET, v, cp_rnumfmt_unit(unit, v));
        if (sqlite3_column_type(st, 8) != SQLITE_NULL)
            cp_rtable_text(t, row, D_MISSING, cp_rmissing_name(col_str(st, 8)));
        cp_rtable_mark(t, row, D_VALUE, (enum cp_rmark)m);
        cp_rtable_text(t, row, D_FINDING, cp_rmark_name((enum cp_rmark)m));
        cp_rtable_mark(t, row, D_FINDING, (enum cp_rmark)m);
        cp_rtable_text(t, row, D_COMMENT, (const char *)sqlite3_column_text(st, 9));
        cp_rtable_text(t, row, D_FILE, (const char *)sqlite3_column_text(st, 10));
        cp_rtable_text(t, row, D_CELL, (const char *)sqlite3_column_text(st, 11));
        cp_rtable_datetime(t, row, D_RECEIVED, (const char *)sqlite3_column_text(st, 12));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_step(c, "lecture des données", err);
    if (t->failed)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    return 0;
}

enum {
    F_RULE, F_SEVERITY, F_SIG, F_NAME, F_PERIOD, F_INDS, F_VALUES, F_MESSAGE, F_FILE, F_CELL,
    F_EXPLAIN, F_NCOLS
};

static int build_findings(struct ctx *c, struct cp_err *err)
{
    static const char *const head[F_NCOLS] = {
        "Règle", "Gravité", "Signataire", "Nom", "Période", "Indicateurs", "Valeurs",
        "Message", "Fichier", "Emplacement", "Explication"};
    static const char sql[] =
        "SELECT c.regle, c.gravite, c.signataire, s.nom, c.periode, c.indicateurs, c.valeurs,"
        "  c.message, c.fichier, c.emplacement, c.explication"
        " FROM constats c LEFT JOIN ref_signataire s ON s.code = c.signataire"
        " WHERE c.periode = ?1 AND (?2 = 1 OR s.region = ?3)"
        " ORDER BY CASE c.gravite WHEN 'bloquant' THEN 0 WHEN 'avertissement' THEN 1 ELSE 2 END,"
        "  CASE s.type WHEN 'D' THEN 0 WHEN 'M' THEN 1 ELSE 2 END, c.signataire, c.regle, c.id";
    struct cp_rtable *t = &c->r->findings;
    sqlite3_stmt *st;
    int rc;

    if (cp_rtable_init(t, "Anomalies", "anomalies", F_NCOLS) < 0)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    for (size_t k = 0; k < F_NCOLS; k++)
        cp_rtable_head(t, k, head[k], NULL);
    t->freeze_cols = 2;
    if (cp_db_prepare(c->j->db, sql, &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, c->r->per.text, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, c->j->national != 0);
    sqlite3_bind_text(st, 3, c->j->zone, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !t->failed) {
        size_t row = cp_rtable_add_row(t);
        char *vals = cp_rvalues_text(col_str(st, 6));

        for (int k = 0; k < F_NCOLS; k++)
            if (k != F_VALUES)
                cp_rtable_text(t, row, (size_t)k, (const char *)sqlite3_column_text(st, k));
        if (!vals)
            t->failed = 1;
        cp_rtable_text(t, row, F_VALUES, vals);
        free(vals);
        cp_rtable_mark(t, row, F_SEVERITY, cp_rmark_of(col_str(st, 1)));
        cp_rtable_style(t, row, F_MESSAGE, CP_RSTYLE_WRAP);
        cp_rtable_style(t, row, F_EXPLAIN, CP_RSTYLE_WRAP);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_step(c, "lecture des anomalies", err);
    if (t->failed)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    return 0;
}

int cp_rtables_build(struct cp_rtables *r, const struct cp_render_job *j, struct cp_err *err)
{
    struct ctx c;
    int rc = -1;

    memset(r, 0, sizeof *r);
    memset(&c, 0, sizeof c);
    c.j = j;
    c.r = r;
    c.sigs.size = sizeof(struct sig);
    c.inds.size = sizeof(struct ind);
    c.vals.size = sizeof(struct val);
    c.marks.size = sizeof(struct mark);
    c.aggs.size = c.prev.size = sizeof(struct agg);
    c.regions.size = sizeof(struct region);
    if (cp_rperiod_of(j->period, &r->per, err) < 0)
        goto out;
    if ((!j->national && load_sigs(&c, err) < 0) || (j->national && load_regions(&c, err) < 0) ||
        load_inds(&c, err) < 0 || load_vals(&c, err) < 0 || load_marks(&c, err) < 0 ||
        load_aggs(&c, &c.aggs, r->per.text, err) < 0 ||
        load_aggs(&c, &c.prev, r->per.prev, err) < 0)
        goto out;
    if (c.oom || build_synth(&c) < 0 || build_axes(&c) < 0) {
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    if (build_data(&c, err) < 0 || build_findings(&c, err) < 0)
        goto out;
    rc = 0;
out:
    for (size_t i = 0; i < c.nstrs; i++)
        free(c.strs[i]);
    free(c.strs);
    free(c.sigs.items);
    free(c.inds.items);
    free(c.vals.items);
    free(c.marks.items);
    free(c.aggs.items);
    free(c.prev.items);
    free(c.regions.items);
    if (rc < 0)
        cp_err_prefix(err, "tableaux de %s, %s : ", j->zone ? j->zone : "?",
                      j->period ? j->period : "?");
    return rc;
}

void cp_rtables_release(struct cp_rtables *r)
{
    if (!r)
        return;
    cp_rtable_release(&r->synth);
    cp_rtable_release(&r->data);
    cp_rtable_release(&r->findings);
    for (size_t i = 0; i < r->naxes; i++)
        axis_release(&r->axes[i]);
    free(r->axes);
    memset(r, 0, sizeof *r);
}
