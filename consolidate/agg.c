/*
 * Regional and national aggregates (aggregation.md): the usable values
 * (expected, not excluded, plus years derived from S1 + S2), each
 * signatory's contribution per nature, then sums per zone, group and
 * period with their coverage, applied to agregat and contribution as a
 * diff so that unchanged rows are not rewritten (written as they are when
 * the tables are empty: a first run).
 *
 * Everything up to the diff is computed in C over a dense array of cells
 * (signatory x period x indicator, about 80,000 on the national corpus),
 * read once from the scope tables: the SQL it replaces, temp tables keyed
 * by three or five text columns joined back and forth, was half of the
 * stage's time. It does what that SQL did, operation for operation, so
 * that every double is the same to the last bit:
 * - sums as SQLite's sum(): from +0.0, in the order the SQL fed them (a
 *   région's signatories in code order; the nation's by zone, then
 *   signatory; a national coverage base by zone), NULLs skipped, NULL
 *   when there is none;
 * - arithmetic as SQLite's: a NaN result or a division by zero is NULL;
 * - a value that went through a REAL column of a temp table (cp_use,
 *   cp_contrib, cp_expect) comes back as a column gives it (stored_real).
 * The aggregates go to the temp table cp_agg, from which the SQL below
 * writes agregat; the contributions to cp_contrib, which the SQL below
 * diffs with contribution, or, on a first run, straight into contribution.
 */
#include "consolidate/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "consolidate/consolidate.h"

/* At most this many cells: 18 MB of flags and values. */
#define AGG_CELLS_MAX ((size_t)2 << 20)

enum { NAT_OTHER, NAT_FLUX, NAT_STOCK, NAT_RATIO, NAT_MOYENNE };

/* Cell flags. */
#define C_ATT 1u  /* expected from that signatory (cp_attendu) */
#define C_EXC 2u  /* under a bloquant finding (exclusion) */
#define C_USE 4u  /* usable: reported or derived, expected, not excluded */
#define C_VAL 8u  /* the usable value is not NULL */
#define C_DER 16u /* derived from the halves */

struct ag_sig {
    char *code, *type, *region; /* owned */
    size_t type_rank, region_rank;
};

struct ag_per {
    char *code; /* owned */
    int half;
    long s1, s2; /* a year's halves, -1 when not in cp_per */
};

struct ag_ind {
    char *code;   /* owned */
    char *ref[3]; /* owned: numerateur, denominateur, poids; NULL when none */
    int nature, pct, yearly_only;
    long num, den, poids; /* their index, -1 when none (or not in the catalog) */
};

/* A value as SQL has it: known, or NULL. */
struct nv {
    int has;
    double v;
};

/* One signatory's contribution, as cp_contrib gives it back. */
struct contrib {
    struct nv val, num, den;
    int derive;
};

/* A contribution kept to be written directly into contribution, with the
 * ranks of its key's parts. */
struct kept {
    size_t type_rank, region_rank, s, p, i;
    struct contrib c;
};

struct agg {
    struct ag_sig *sig; /* sorted by code */
    size_t nsig;
    struct ag_per *per; /* sorted by text */
    size_t nper;
    struct ag_ind *ind; /* sorted by code */
    size_t nind;
    size_t *order;      /* signatories by type, région, code */
    unsigned char *fl;  /* nsig x nper x nind cells */
    double *v;
    sqlite3_stmt *ins_contrib, *ins_agg;
    int direct;         /* contribution is empty: written directly, not diffed */
    struct kept *kept;  /* the contributions, when direct */
    size_t nkept, capkept;
    int level;          /* the level of contribution being written: 0 national, 1 région */
};

static const struct nv NV_NULL = {0, 0.0};

static struct nv nv_of(double v)
{
    struct nv r = {!isnan(v), v};
    return r;
}

/* What a REAL column gives back: an integral value is stored as an
 * integer, so a zero loses its sign. */
static double stored_real(double v)
{
    return v == 0 ? 0.0 : v;
}

static struct nv nv_stored(struct nv a)
{
    a.v = stored_real(a.v);
    return a;
}

static struct nv nv_add(struct nv a, struct nv b)
{
    return a.has && b.has ? nv_of(a.v + b.v) : NV_NULL;
}

static struct nv nv_mul(struct nv a, struct nv b)
{
    return a.has && b.has ? nv_of(a.v * b.v) : NV_NULL;
}

static struct nv nv_div(struct nv a, struct nv b)
{
    return a.has && b.has && b.v != 0 ? nv_of(a.v / b.v) : NV_NULL;
}

/* SQLite's sum() of REAL values. */
struct sum {
    double s;
    size_t n;
};

static void sum_add(struct sum *x, struct nv v)
{
    if (v.has) {
        x->s += v.v;
        x->n++;
    }
}

static struct nv sum_get(const struct sum *x)
{
    return x->n ? nv_of(x->s) : NV_NULL;
}

static size_t cell(const struct agg *a, size_t s, size_t p, size_t i)
{
    return (s * a->nper + p) * a->nind + i;
}

static struct nv cell_nv(const struct agg *a, size_t c)
{
    struct nv r = {(a->fl[c] & C_VAL) != 0, a->v[c]};
    return r;
}

static int usable(const struct agg *a, size_t c)
{
    return (a->fl[c] & C_USE) != 0;
}

/* The three dimensions are sorted by their code: found by bisection. */
#define FIND_BY_CODE(name, type)                                 \
    static long name(const type *v, size_t n, const char *key)  \
    {                                                            \
        size_t lo = 0, hi = n;                                   \
                                                                 \
        if (!key)                                                \
            return -1;                                           \
        while (lo < hi) {                                        \
            size_t mid = lo + (hi - lo) / 2;                     \
            int c = strcmp(key, v[mid].code);                    \
                                                                 \
            if (c == 0)                                          \
                return (long)mid;                                \
            if (c < 0)                                           \
                hi = mid;                                        \
            else                                                 \
                lo = mid + 1;                                    \
        }                                                        \
        return -1;                                               \
    }
FIND_BY_CODE(find_sig, struct ag_sig)
FIND_BY_CODE(find_per, struct ag_per)
FIND_BY_CODE(find_ind, struct ag_ind)
#undef FIND_BY_CODE

static int sig_cmp(const void *x, const void *y)
{
    return strcmp(((const struct ag_sig *)x)->code, ((const struct ag_sig *)y)->code);
}

static int per_cmp(const void *x, const void *y)
{
    return strcmp(((const struct ag_per *)x)->code, ((const struct ag_per *)y)->code);
}

static int ind_cmp(const void *x, const void *y)
{
    return strcmp(((const struct ag_ind *)x)->code, ((const struct ag_ind *)y)->code);
}

static int str_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void agg_release(struct agg *a)
{
    for (size_t i = 0; i < a->nsig; i++) {
        free(a->sig[i].code);
        free(a->sig[i].type);
        free(a->sig[i].region);
    }
    for (size_t i = 0; i < a->nper; i++)
        free(a->per[i].code);
    for (size_t i = 0; i < a->nind; i++) {
        free(a->ind[i].code);
        for (int k = 0; k < 3; k++)
            free(a->ind[i].ref[k]);
    }
    free(a->sig);
    free(a->per);
    free(a->ind);
    free(a->order);
    free(a->fl);
    free(a->v);
    free(a->kept);
    sqlite3_finalize(a->ins_contrib);
    sqlite3_finalize(a->ins_agg);
}

static char *dup_text(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);

    return t ? strdup(t) : NULL;
}

/* Grows the array whose pointer is at vp (*cap elements of sz bytes) to
 * hold n + 1. */
static int grow(void *vp, size_t *cap, size_t n, size_t sz)
{
    void *v, *w;
    size_t ncap;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 64;
    memcpy(&v, vp, sizeof v);
    if (!(w = realloc(v, ncap * sz)))
        return -1;
    memcpy(vp, &w, sizeof w);
    *cap = ncap;
    return 0;
}

static int agg_nomem(struct cp_run *run)
{
    return cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
}

/* Each signatory's rank among the distinct types, or régions. */
static int sig_ranks(struct agg *a, int region)
{
    char **u = malloc((a->nsig ? a->nsig : 1) * sizeof *u);
    size_t nu = 0;

    if (!u)
        return -1;
    for (size_t i = 0; i < a->nsig; i++)
        u[i] = region ? a->sig[i].region : a->sig[i].type;
    qsort(u, a->nsig, sizeof *u, str_cmp);
    for (size_t i = 0; i < a->nsig; i++)
        if (nu == 0 || strcmp(u[nu - 1], u[i]) != 0)
            u[nu++] = u[i];
    for (size_t i = 0; i < a->nsig; i++) {
        char *key = region ? a->sig[i].region : a->sig[i].type;
        size_t r = (size_t)((char **)bsearch(&key, u, nu, sizeof *u, str_cmp) - u);

        if (region)
            a->sig[i].region_rank = r;
        else
            a->sig[i].type_rank = r;
    }
    free(u);
    return 0;
}

static const struct agg *order_ctx;

static int order_cmp(const void *x, const void *y)
{
    const struct ag_sig *a = &order_ctx->sig[*(const size_t *)x];
    const struct ag_sig *b = &order_ctx->sig[*(const size_t *)y];

    if (a->type_rank != b->type_rank)
        return a->type_rank < b->type_rank ? -1 : 1;
    if (a->region_rank != b->region_rank)
        return a->region_rank < b->region_rank ? -1 : 1;
    return strcmp(a->code, b->code);
}

static int nature_of(const char *t)
{
    if (!t)
        return NAT_OTHER;
    if (strcmp(t, "flux") == 0)
        return NAT_FLUX;
    if (strcmp(t, "stock") == 0)
        return NAT_STOCK;
    if (strcmp(t, "ratio") == 0)
        return NAT_RATIO;
    if (strcmp(t, "moyenne") == 0)
        return NAT_MOYENNE;
    return NAT_OTHER;
}

/* Signatories, periods (cp_per) and indicators, each sorted by code
 * (strcmp's order, SQLite's BINARY collation). Rows without a code match
 * no row of the scope tables (built by joins on them): left out. */
static int load_dims(struct cp_run *run, struct agg *a)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int s, rc = -1;

    if (cp_db_prepare(run->db,
                      "SELECT code, type, region FROM ref_signataire WHERE code IS NOT NULL"
                      " AND type IS NOT NULL AND region IS NOT NULL",
                      &st, run->err) < 0)
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct ag_sig g = {dup_text(st, 0), dup_text(st, 1), dup_text(st, 2), 0, 0};

        if (!g.code || !g.type || !g.region ||
            grow(&a->sig, &cap, a->nsig, sizeof g) < 0) {
            free(g.code);
            free(g.type);
            free(g.region);
            goto nomem;
        }
        a->sig[a->nsig++] = g;
    }
    if (s != SQLITE_DONE)
        goto dbfail;
    sqlite3_finalize(st);
    st = NULL;
    if (a->nsig)
        qsort(a->sig, a->nsig, sizeof *a->sig, sig_cmp);

    cap = 0;
    if (cp_db_prepare(run->db, "SELECT periode, semestre FROM cp_per", &st, run->err) < 0)
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct ag_per p = {dup_text(st, 0), sqlite3_column_int(st, 1), -1, -1};

        if (!p.code || grow(&a->per, &cap, a->nper, sizeof p) < 0) {
            free(p.code);
            goto nomem;
        }
        a->per[a->nper++] = p;
    }
    if (s != SQLITE_DONE)
        goto dbfail;
    sqlite3_finalize(st);
    st = NULL;
    if (a->nper)
        qsort(a->per, a->nper, sizeof *a->per, per_cmp);
    /* A year's halves as the SQL named them: periode || '-S1'. */
    for (size_t i = 0; i < a->nper; i++) {
        char h[64];

        if (a->per[i].half != 0 || strlen(a->per[i].code) + 4 > sizeof h)
            continue;
        snprintf(h, sizeof h, "%s-S1", a->per[i].code);
        a->per[i].s1 = find_per(a->per, a->nper, h);
        snprintf(h, sizeof h, "%s-S2", a->per[i].code);
        a->per[i].s2 = find_per(a->per, a->nper, h);
    }

    cap = 0;
    if (cp_db_prepare(run->db,
                      "SELECT code, nature, unite, annuel_seul, numerateur, denominateur, poids"
                      " FROM ref_indicateur WHERE code IS NOT NULL",
                      &st, run->err) < 0)
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *unit = (const char *)sqlite3_column_text(st, 2);
        struct ag_ind d;
        int bad = 0;

        memset(&d, 0, sizeof d);
        d.code = dup_text(st, 0);
        d.nature = nature_of((const char *)sqlite3_column_text(st, 1));
        d.pct = unit && strcmp(unit, "pct") == 0;
        d.yearly_only = sqlite3_column_int(st, 3) != 0;
        for (int k = 0; k < 3; k++)
            if (sqlite3_column_type(st, 4 + k) != SQLITE_NULL && !(d.ref[k] = dup_text(st, 4 + k)))
                bad = 1;
        if (bad || !d.code || grow(&a->ind, &cap, a->nind, sizeof d) < 0) {
            free(d.code);
            for (int k = 0; k < 3; k++)
                free(d.ref[k]);
            goto nomem;
        }
        a->ind[a->nind++] = d;
    }
    if (s != SQLITE_DONE)
        goto dbfail;
    sqlite3_finalize(st);
    st = NULL;
    if (a->nind)
        qsort(a->ind, a->nind, sizeof *a->ind, ind_cmp);
    for (size_t i = 0; i < a->nind; i++) {
        a->ind[i].num = find_ind(a->ind, a->nind, a->ind[i].ref[0]);
        a->ind[i].den = find_ind(a->ind, a->nind, a->ind[i].ref[1]);
        a->ind[i].poids = find_ind(a->ind, a->nind, a->ind[i].ref[2]);
    }

    if (sig_ranks(a, 0) < 0 || sig_ranks(a, 1) < 0)
        goto nomem;
    if (!(a->order = malloc((a->nsig ? a->nsig : 1) * sizeof *a->order)))
        goto nomem;
    for (size_t i = 0; i < a->nsig; i++)
        a->order[i] = i;
    order_ctx = a;
    qsort(a->order, a->nsig, sizeof *a->order, order_cmp);
    order_ctx = NULL;
    rc = 0;
    goto out;
nomem:
    agg_nomem(run);
    goto out;
dbfail:
    cp_run_dbfail(run, "agrégats");
out:
    sqlite3_finalize(st);
    return rc;
}

/* Sets flag f on the cell of each row of sql (signataire, periode,
 * indicateur[, valeur]) whose flags include need and none of skip; with a
 * fourth column, the cell takes its value. Rows come in key order: the
 * last signatory and period looked up are kept. */
static int mark(struct cp_run *run, struct agg *a, const char *sql, unsigned need,
                unsigned skip, unsigned f)
{
    sqlite3_stmt *st;
    long ls = -1, lp = -1;
    char sbuf[64], pbuf[64];
    int s, sok = 0, pok = 0;

    if (cp_db_prepare(run->db, sql, &st, run->err) < 0)
        return -1;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ts = (const char *)sqlite3_column_text(st, 0);
        const char *tp = (const char *)sqlite3_column_text(st, 1);
        long i;
        size_t c;

        if (!ts || !tp)
            continue;
        if (!sok || strcmp(ts, sbuf) != 0) {
            ls = find_sig(a->sig, a->nsig, ts);
            if ((sok = strlen(ts) < sizeof sbuf))
                strcpy(sbuf, ts);
        }
        if (!pok || strcmp(tp, pbuf) != 0) {
            lp = find_per(a->per, a->nper, tp);
            if ((pok = strlen(tp) < sizeof pbuf))
                strcpy(pbuf, tp);
        }
        i = find_ind(a->ind, a->nind, (const char *)sqlite3_column_text(st, 2));
        if (ls < 0 || lp < 0 || i < 0)
            continue;
        c = cell(a, (size_t)ls, (size_t)lp, (size_t)i);
        if ((a->fl[c] & need) != need || (a->fl[c] & skip))
            continue;
        a->fl[c] |= f;
        if (sqlite3_column_count(st) > 3 && sqlite3_column_type(st, 3) != SQLITE_NULL) {
            a->v[c] = stored_real(sqlite3_column_double(st, 3));
            a->fl[c] |= C_VAL;
        }
    }
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? 0 : cp_run_dbfail(run, "agrégats");
}

static void set_derived(struct agg *a, size_t c, struct nv v)
{
    a->fl[c] |= C_USE | C_DER;
    if (v.has) {
        a->fl[c] |= C_VAL;
        a->v[c] = stored_real(v.v);
    }
}

/* A half's value that a year may be derived from: usable, not derived. */
static int half(const struct agg *a, size_t s, long p, long i, struct nv *out)
{
    size_t c;

    if (p < 0 || i < 0)
        return 0;
    c = cell(a, s, (size_t)p, (size_t)i);
    if ((a->fl[c] & (C_USE | C_DER)) != C_USE)
        return 0;
    *out = cell_nv(a, c);
    return 1;
}

/* A year derived from the halves when no usable annual figure was sent:
 * flux S1 + S2 (both needed), stock S2 (the level at the end), an average
 * the halves weighted by their own weights. */
static void derive_years(struct agg *a)
{
    for (size_t i = 0; i < a->nind; i++) {
        const struct ag_ind *d = &a->ind[i];

        if (d->yearly_only || (d->nature != NAT_FLUX && d->nature != NAT_STOCK &&
                               !(d->nature == NAT_MOYENNE && d->ref[2])))
            continue;
        for (size_t p = 0; p < a->nper; p++) {
            const struct ag_per *y = &a->per[p];

            if (y->half != 0)
                continue;
            for (size_t s = 0; s < a->nsig; s++) {
                size_t c = cell(a, s, p, i);
                struct nv v1, v2, w1, w2, w;

                if ((a->fl[c] & (C_ATT | C_USE)) != C_ATT)
                    continue;
                if (d->nature == NAT_FLUX) {
                    if (half(a, s, y->s1, (long)i, &v1) && half(a, s, y->s2, (long)i, &v2))
                        set_derived(a, c, nv_add(v1, v2));
                } else if (d->nature == NAT_STOCK) {
                    if (half(a, s, y->s2, (long)i, &v2))
                        set_derived(a, c, v2);
                } else if (half(a, s, y->s1, (long)i, &v1) && half(a, s, y->s2, (long)i, &v2) &&
                           half(a, s, y->s1, d->poids, &w1) &&
                           half(a, s, y->s2, d->poids, &w2)) {
                    w = nv_add(w1, w2);
                    if (w.has && w.v != 0)
                        set_derived(a, c, nv_div(nv_add(nv_mul(v1, w1), nv_mul(v2, w2)), w));
                }
            }
        }
    }
}

static void bind_nv(sqlite3_stmt *st, int i, struct nv v)
{
    if (v.has)
        sqlite3_bind_double(st, i, v.v);
    else
        sqlite3_bind_null(st, i);
}

/* Whether signatory s contributes to indicator i in period p, and what:
 * flux and stock their usable value; ratios only with both a usable
 * numerator and a usable denominator, the rate recomputed, never the one
 * reported; averages with their usable weight. */
static int contribution(const struct agg *a, size_t s, size_t p, size_t i, struct contrib *o)
{
    const struct ag_ind *d = &a->ind[i];
    size_t c = cell(a, s, p, i), cn, cd;

    switch (d->nature) {
    case NAT_FLUX:
    case NAT_STOCK:
        if (!usable(a, c))
            return 0;
        o->val = cell_nv(a, c);
        o->num = o->den = NV_NULL;
        o->derive = (a->fl[c] & C_DER) != 0;
        return 1;
    case NAT_RATIO:
        if (!(a->fl[c] & C_ATT) || d->num < 0 || d->den < 0)
            return 0;
        cn = cell(a, s, p, (size_t)d->num);
        cd = cell(a, s, p, (size_t)d->den);
        if (!usable(a, cn) || !usable(a, cd))
            return 0;
        o->num = cell_nv(a, cn);
        o->den = cell_nv(a, cd);
        o->val = nv_div(nv_mul(nv_of(d->pct ? 100.0 : 1.0), o->num), o->den);
        o->derive = ((a->fl[cn] | a->fl[cd]) & C_DER) != 0;
        break;
    case NAT_MOYENNE:
        if (!(a->fl[c] & C_ATT) || d->poids < 0)
            return 0;
        cd = cell(a, s, p, (size_t)d->poids);
        if (!usable(a, c) || !usable(a, cd))
            return 0;
        o->val = cell_nv(a, c);
        o->den = cell_nv(a, cd);
        o->num = nv_mul(o->val, o->den);
        o->derive = ((a->fl[c] | a->fl[cd]) & C_DER) != 0;
        break;
    default:
        return 0;
    }
    o->val = nv_stored(o->val);
    o->num = nv_stored(o->num);
    o->den = nv_stored(o->den);
    return 1;
}

/* The sums of one zone (or the nation) for a group, period, indicator. */
struct zsum {
    struct sum val, num, den;
    long long couverts, attendus;
    int derive;
    struct sum base;
};

static void zsum_add(struct zsum *z, const struct contrib *c)
{
    sum_add(&z->val, c->val);
    sum_add(&z->num, c->num);
    sum_add(&z->den, c->den);
    z->couverts++;
    if (c->derive)
        z->derive = 1;
}

/* One cp_agg row; base is the covered zone's whole denominator (weight),
 * as cp_expect gave it back. */
static int put_agg(struct cp_run *run, struct agg *a, const char *niveau, const char *zone,
                   const char *groupe, const struct ag_per *per, const struct ag_ind *d,
                   const struct zsum *z, struct nv base)
{
    sqlite3_stmt *st = a->ins_agg;
    struct nv num = sum_get(&z->num), den = sum_get(&z->den);
    int rc = 0;

    sqlite3_bind_text(st, 1, niveau, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, groupe, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, per->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, d->code, -1, SQLITE_STATIC);
    if (d->nature == NAT_RATIO || d->nature == NAT_MOYENNE) {
        bind_nv(st, 6,
                nv_div(nv_mul(nv_of(d->nature == NAT_RATIO && d->pct ? 100.0 : 1.0), num), den));
        bind_nv(st, 7, num);
        bind_nv(st, 8, den);
        bind_nv(st, 11, nv_div(den, base));
    } else {
        bind_nv(st, 6, sum_get(&z->val));
        sqlite3_bind_null(st, 7);
        sqlite3_bind_null(st, 8);
        sqlite3_bind_null(st, 11);
    }
    sqlite3_bind_int64(st, 9, z->couverts);
    sqlite3_bind_int64(st, 10, z->attendus);
    sqlite3_bind_int(st, 12, z->couverts < z->attendus);
    sqlite3_bind_int(st, 13, z->derive);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cp_run_dbfail(run, "agrégats");
    sqlite3_reset(st);
    return rc;
}

/* Into cp_contrib, or kept for contribution. */
static int put_contrib(struct cp_run *run, struct agg *a, size_t s, size_t p, size_t i,
                       const struct contrib *c)
{
    sqlite3_stmt *st = a->ins_contrib;
    const struct ag_sig *g = &a->sig[s];
    const struct ag_per *per = &a->per[p];
    const struct ag_ind *d = &a->ind[i];
    int rc = 0;

    if (a->direct) {
        if (grow(&a->kept, &a->capkept, a->nkept, sizeof *a->kept) < 0)
            return agg_nomem(run);
        a->kept[a->nkept++] = (struct kept){g->type_rank, g->region_rank, s, p, i, *c};
        return 0;
    }
    sqlite3_bind_text(st, 1, g->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, g->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, per->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, g->code, -1, SQLITE_STATIC);
    bind_nv(st, 6, c->val);
    bind_nv(st, 7, c->num);
    bind_nv(st, 8, c->den);
    sqlite3_bind_int(st, 9, c->derive);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cp_run_dbfail(run, "contributions");
    sqlite3_reset(st);
    return rc;
}

/*
 * Contributions and aggregates of one group (signatory type: order[b, e)),
 * period and indicator, walked in cp_contrib's key order (zone, then
 * signatory), the order the SQL summed them in. What a zone expects: the
 * signatories cp_attendu expects there, and the whole denominator (or
 * weight) they reported, summed in signatory order; the nation's, the
 * zones' counts and bases summed in zone order.
 */
static int group_period_indicator(struct cp_run *run, struct agg *a, size_t b, size_t e,
                                  size_t p, size_t i)
{
    const struct ag_ind *d = &a->ind[i];
    const struct ag_per *per = &a->per[p];
    long baseind = d->nature == NAT_RATIO ? d->den : d->nature == NAT_MOYENNE ? d->poids : -1;
    struct zsum nat;
    struct sum natbase = {0.0, 0};

    memset(&nat, 0, sizeof nat);
    for (size_t r = b; r < e;) {
        const struct ag_sig *zone = &a->sig[a->order[r]];
        struct zsum z;
        struct nv base;

        memset(&z, 0, sizeof z);
        for (; r < e && a->sig[a->order[r]].region_rank == zone->region_rank; r++) {
            size_t s = a->order[r];
            struct contrib c;

            if (!(a->fl[cell(a, s, p, i)] & C_ATT))
                continue;
            z.attendus++;
            if (baseind >= 0 && usable(a, cell(a, s, p, (size_t)baseind)))
                sum_add(&z.base, cell_nv(a, cell(a, s, p, (size_t)baseind)));
            if (!contribution(a, s, p, i, &c))
                continue;
            zsum_add(&z, &c);
            zsum_add(&nat, &c);
            if (put_contrib(run, a, s, p, i, &c) < 0)
                return -1;
        }
        if (!z.attendus)
            continue;
        base = nv_stored(sum_get(&z.base));
        nat.attendus += z.attendus;
        sum_add(&natbase, base);
        if (z.couverts && put_agg(run, a, "region", zone->region, zone->type, per, d, &z, base) < 0)
            return -1;
    }
    if (nat.couverts &&
        put_agg(run, a, "national", "FR", a->sig[a->order[b]].type, per, d, &nat,
                nv_stored(sum_get(&natbase))) < 0)
        return -1;
    return 0;
}

static int cmp_size(size_t x, size_t y)
{
    return (x > y) - (x < y);
}

/* contribution's key order for the nation: group, period, indicator,
 * signatory. */
static int kept_national_cmp(const void *x, const void *y)
{
    const struct kept *a = x, *b = y;
    int c;

    if ((c = cmp_size(a->type_rank, b->type_rank)) || (c = cmp_size(a->p, b->p)) ||
        (c = cmp_size(a->i, b->i)))
        return c;
    return cmp_size(a->s, b->s);
}

/* For the régions: zone first. */
static int kept_region_cmp(const void *x, const void *y)
{
    const struct kept *a = x, *b = y;
    int c = cmp_size(a->region_rank, b->region_rank);

    return c ? c : kept_national_cmp(x, y);
}

/*
 * A first run (contribution empty): the contributions go straight into
 * contribution, each level in the table's key order, without filling
 * cp_contrib (only the diff of a later run needs it). They are read from
 * memory by one INSERT ... SELECT per level through a virtual table
 * (cp_kept) rather than inserted row by row: one statement keeps its
 * cursor at the end of the B-tree, where each key in order is appended
 * without a descent from the root (36 ms for the 68,702 rows of the
 * national corpus, against 90 ms for as many single-row INSERTs).
 */
struct kept_vt {
    sqlite3_vtab base;
    struct agg *a;
};

struct kept_cur {
    sqlite3_vtab_cursor base;
    size_t k;
};

static int kept_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                        sqlite3_vtab **out, char **err)
{
    struct kept_vt *t;
    int rc;

    (void)argc;
    (void)argv;
    (void)err;
    rc = sqlite3_declare_vtab(db, "CREATE TABLE x(niveau, zone, groupe, periode, indicateur,"
                                  " signataire, valeur, numerateur, denominateur, derive)");
    if (rc != SQLITE_OK)
        return rc;
    if (!(t = sqlite3_malloc(sizeof *t)))
        return SQLITE_NOMEM;
    memset(t, 0, sizeof *t);
    t->a = aux;
    *out = &t->base;
    return SQLITE_OK;
}

static int kept_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

static int kept_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    info->estimatedCost = 1e6;
    return SQLITE_OK;
}

static int kept_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    struct kept_cur *c = sqlite3_malloc(sizeof *c);

    (void)v;
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static int kept_close(sqlite3_vtab_cursor *c)
{
    sqlite3_free(c);
    return SQLITE_OK;
}

static int kept_filter(sqlite3_vtab_cursor *c, int idx, const char *idxstr, int argc,
                       sqlite3_value **argv)
{
    (void)idx;
    (void)idxstr;
    (void)argc;
    (void)argv;
    ((struct kept_cur *)c)->k = 0;
    return SQLITE_OK;
}

static int kept_next(sqlite3_vtab_cursor *c)
{
    ((struct kept_cur *)c)->k++;
    return SQLITE_OK;
}

static int kept_eof(sqlite3_vtab_cursor *c)
{
    return ((struct kept_cur *)c)->k >= ((struct kept_vt *)c->pVtab)->a->nkept;
}

static void result_nv(sqlite3_context *ctx, struct nv v)
{
    if (v.has)
        sqlite3_result_double(ctx, v.v);
    else
        sqlite3_result_null(ctx);
}

static int kept_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
    const struct agg *a = ((struct kept_vt *)c->pVtab)->a;
    const struct kept *x = &a->kept[((struct kept_cur *)c)->k];
    const struct ag_sig *g = &a->sig[x->s];
    const char *t = NULL;

    switch (col) {
    case 0: t = a->level ? "region" : "national"; break;
    case 1: t = a->level ? g->region : "FR"; break;
    case 2: t = g->type; break;
    case 3: t = a->per[x->p].code; break;
    case 4: t = a->ind[x->i].code; break;
    case 5: t = g->code; break;
    case 6: result_nv(ctx, x->c.val); break;
    case 7: result_nv(ctx, x->c.num); break;
    case 8: result_nv(ctx, x->c.den); break;
    default: sqlite3_result_int(ctx, x->c.derive); break;
    }
    if (t)
        sqlite3_result_text(ctx, t, -1, SQLITE_STATIC);
    return SQLITE_OK;
}

static int kept_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *out)
{
    *out = (sqlite3_int64)((struct kept_cur *)c)->k;
    return SQLITE_OK;
}

/* Eponymous only (no xCreate), read-only. */
static const sqlite3_module kept_module = {
    .iVersion = 0,
    .xConnect = kept_connect,
    .xBestIndex = kept_best_index,
    .xDisconnect = kept_disconnect,
    .xOpen = kept_open,
    .xClose = kept_close,
    .xFilter = kept_filter,
    .xNext = kept_next,
    .xEof = kept_eof,
    .xColumn = kept_column,
    .xRowid = kept_rowid,
};

static int write_contributions(struct cp_run *run, struct agg *a)
{
    int rc = 0;

    if (sqlite3_create_module_v2(run->db, "cp_kept", &kept_module, a, NULL) != SQLITE_OK)
        return cp_run_dbfail(run, "contributions");
    for (a->level = 0; a->level < 2 && rc == 0; a->level++) {
        if (a->nkept)
            qsort(a->kept, a->nkept, sizeof *a->kept,
                  a->level ? kept_region_cmp : kept_national_cmp);
        rc = cp_run_exec(run, "INSERT INTO contribution(niveau, zone, groupe, periode,"
                              " indicateur, signataire, valeur, numerateur, denominateur,"
                              " derive) SELECT * FROM cp_kept");
    }
    /* The module goes with this run's rows. */
    sqlite3_create_module_v2(run->db, "cp_kept", NULL, NULL, NULL);
    return rc;
}

/* The declarations of cp_contrib and cp_agg: cp_agg is declared as agregat
 * is, with the same index, so that a first run copies it there as it is. */
static const char *const agg_tables_sql[] = {
    "DROP TABLE IF EXISTS temp.cp_contrib",
    /* Keyed by group, period and indicator, then zone and signatory. */
    "CREATE TEMP TABLE cp_contrib(zone TEXT, groupe TEXT, periode TEXT, indicateur TEXT,"
    " signataire TEXT, valeur REAL, numerateur REAL, denominateur REAL, derive INTEGER,"
    " PRIMARY KEY(groupe, periode, indicateur, zone, signataire)) WITHOUT ROWID",
    "DROP TABLE IF EXISTS temp.cp_agg",
    "CREATE TEMP TABLE cp_agg("
    " niveau TEXT NOT NULL CHECK (niveau IN ('region','national')),"
    " zone TEXT NOT NULL, groupe TEXT NOT NULL, periode TEXT NOT NULL,"
    " indicateur TEXT NOT NULL, valeur REAL, numerateur REAL, denominateur REAL,"
    " couverts INTEGER NOT NULL, attendus INTEGER NOT NULL, part_couverte REAL,"
    " partiel INTEGER NOT NULL, derive INTEGER NOT NULL DEFAULT 0,"
    " regions_couvertes INTEGER, regions_attendues INTEGER,"
    " PRIMARY KEY(niveau, zone, groupe, periode, indicateur)) WITHOUT ROWID",
    NULL,
};

/* Fills cp_agg, and cp_contrib or, when direct, contribution. */
static int compute(struct cp_run *run, int direct)
{
    struct agg a;
    size_t n;
    int rc = -1;

    memset(&a, 0, sizeof a);
    a.direct = direct;
    for (size_t k = 0; agg_tables_sql[k]; k++)
        if (cp_run_exec(run, agg_tables_sql[k]) < 0)
            return -1;
    if (load_dims(run, &a) < 0)
        goto out;
    n = a.nsig * a.nper * a.nind;
    if (a.nper && a.nind && (n / a.nper / a.nind != a.nsig || n > AGG_CELLS_MAX)) {
        cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL,
                   "trop de signataires, périodes et indicateurs à agréger (%zu × %zu × %zu)",
                   a.nsig, a.nper, a.nind);
        goto out;
    }
    if (!(a.fl = calloc(n ? n : 1, 1)) || !(a.v = calloc(n ? n : 1, sizeof *a.v))) {
        agg_nomem(run);
        goto out;
    }
    /* Usable: expected, not excluded, a value reported (cp_cur). */
    if (mark(run, &a, "SELECT signataire, periode, indicateur FROM cp_attendu", 0, 0, C_ATT) < 0 ||
        mark(run, &a, "SELECT signataire, periode, indicateur FROM exclusion", 0, 0, C_EXC) < 0 ||
        mark(run, &a,
             "SELECT signataire, periode, indicateur, valeur FROM cp_cur"
             " WHERE valeur IS NOT NULL",
             C_ATT, C_EXC, C_USE) < 0)
        goto out;
    derive_years(&a);
    if (cp_db_prepare(run->db, "INSERT INTO cp_contrib VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                      &a.ins_contrib, run->err) < 0 ||
        cp_db_prepare(run->db,
                      "INSERT INTO cp_agg(niveau, zone, groupe, periode, indicateur, valeur,"
                      " numerateur, denominateur, couverts, attendus, part_couverte, partiel,"
                      " derive) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                      &a.ins_agg, run->err) < 0)
        goto out;
    for (size_t b = 0, e; b < a.nsig; b = e) {
        for (e = b; e < a.nsig && a.sig[a.order[e]].type_rank == a.sig[a.order[b]].type_rank; e++)
            ;
        for (size_t p = 0; p < a.nper; p++)
            for (size_t i = 0; i < a.nind; i++)
                if (group_period_indicator(run, &a, b, e, p, i) < 0)
                    goto out;
    }
    if (direct && write_contributions(run, &a) < 0)
        goto out;
    rc = cp_run_exec(run, "CREATE INDEX temp.cp_agg_periode ON cp_agg(periode, niveau, zone)");
out:
    agg_release(&a);
    return rc;
}

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
    sqlite3_stmt *q = NULL;
    int any, contrib_any;

    /* No contribution recorded yet (a first run): every group is new,
     * written by compute. */
    if ((contrib_any = has_rows(run, "SELECT 1 FROM contribution LIMIT 1")) < 0 ||
        compute(run, !contrib_any) < 0)
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
    for (size_t i = 0; contrib_any && contrib_diff_sql[i]; i++)
        if (cp_run_exec(run, contrib_diff_sql[i]) < 0)
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
