/*
 * The national tier's reader of regional roll-ups (see rollup.h and
 * render/rollup.c for the format). The file is small (one région, one
 * period), so it is read whole, checked whole, then stored.
 */
#include "ingest/rollup.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/db.h"
#include "common/hash.h"
#include "common/period.h"
#include "common/ref.h"

#define MAX_FIELDS 16
#define REL_TOL 1e-6

struct agg {
    char groupe[4];
    int ind;
    double v[3];        /* valeur, numerateur, denominateur */
    int has[3];
    double poids, part;
    int has_poids, has_part;
    long long couverts, attendus;
    int derive;
    unsigned long line;
};

struct contrib {
    char groupe[4];
    int ind, sig;
    double v[3];
    int has[3];
    int derive;
    int used;
    unsigned long line;
};

struct finding {
    char *regle, *gravite;
    long long n;
};

struct rollup {
    char region[8], period[CP_PERIOD_STRLEN];
    char *catalog, *software, *generated, *data_date;
    int nregion;
    struct agg *agg;
    size_t nagg, capagg;
    struct contrib *con;
    size_t ncon, capcon;
    struct finding *fnd;
    size_t nfnd, capfnd;
};

int cp_rollup_sniff(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t m = sizeof CP_ROLLUP_MAGIC - 1;

    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        b += 3;
        n -= 3;
    }
    return n >= m && memcmp(b, CP_ROLLUP_MAGIC, m) == 0;
}

static void rollup_release(struct rollup *r)
{
    free(r->catalog);
    free(r->software);
    free(r->generated);
    free(r->data_date);
    free(r->agg);
    free(r->con);
    for (size_t i = 0; i < r->nfnd; i++) {
        free(r->fnd[i].regle);
        free(r->fnd[i].gravite);
    }
    free(r->fnd);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    void *nv;
    size_t ncap;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 64;
    nv = realloc(*v, ncap * size);
    if (!nv)
        return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

/* Splits one line (without its end) on ';' with RFC 4180 quotes into
 * scratch (len + 1 bytes at least). Returns the field count, or -1 for an
 * unclosed quote or too many fields. */
static int split(const char *p, size_t len, char *scratch, char **f)
{
    const char *end = p + len;
    int n = 0;

    for (;;) {
        if (n == MAX_FIELDS)
            return -1;
        f[n++] = scratch;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p == end)
                    return -1;
                if (*p == '"' && p + 1 < end && p[1] == '"') {
                    *scratch++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *scratch++ = *p++;
                }
            }
        }
        while (p < end && *p != ';')
            *scratch++ = *p++;
        *scratch++ = '\0';
        if (p == end)
            return n;
        p++;
    }
}

/* An optional number: "" is NULL. 0, or -1 when not a finite number. */
static int parse_num(const char *s, double *v, int *has)
{
    char *e;

    *has = 0;
    if (!*s)
        return 0;
    errno = 0;
    *v = strtod(s, &e);
    if (*e || errno || !isfinite(*v))
        return -1;
    *has = 1;
    return 0;
}

static int parse_int(const char *s, long long *v)
{
    char *e;

    errno = 0;
    *v = strtoll(s, &e, 10);
    return !*s || *e || errno || *v < 0 ? -1 : 0;
}

static int bad_line(struct cp_err *why, unsigned long line, const char *what)
{
    char where[32];

    snprintf(where, sizeof where, "L%lu", line);
    return cp_err_set(why, CP_EX_DATAERR, "rollup_format", where,
                      "fichier de remontée, ligne %lu : %s ; régénérez le fichier avec "
                      "calpae-render sans le modifier",
                      line, what);
}

static int set_meta(char **slot, const char *v)
{
    free(*slot);
    *slot = strdup(v);
    return *slot ? 0 : -1;
}

/* One '#' line: the magic header (line 1) or a metadata line. */
static int meta_line(struct rollup *r, unsigned long line, char **f, int nf, struct cp_err *why)
{
    const char *k = f[0] + 1;

    if (line == 1) {
        if (strcmp(f[0], "#calpae-rollup") != 0 || nf < 2)
            return bad_line(why, line, "l'en-tête « #calpae-rollup;1 » manque");
        if (nf != 2 || strcmp(f[1], "1") != 0)
            return cp_err_set(why, CP_EX_DATAERR, "rollup_version", "L1",
                              "fichier de remontée au format « %s », cette version de calpae "
                              "ne lit que le format 1 ; mettez calpae à jour",
                              f[1]);
        return 0;
    }
    if (nf < 2)
        return 0; /* a comment */
    if (strcmp(k, "region") == 0) {
        r->nregion++;
        if (r->nregion == 1)
            snprintf(r->region, sizeof r->region, "%s", f[1]);
        else if (strcmp(r->region, f[1]) != 0)
            r->nregion = 2;
        else
            r->nregion = 1;
        return 0;
    }
    if (strcmp(k, "periode") == 0) {
        struct cp_period p;

        if (cp_period_parse(f[1], strlen(f[1]), &p) < 0)
            return bad_line(why, line, "période non reconnue");
        cp_period_str(&p, r->period);
        return 0;
    }
    if (strcmp(k, "version_catalogue") == 0)
        return set_meta(&r->catalog, f[1]);
    if (strcmp(k, "version_logiciel") == 0)
        return set_meta(&r->software, f[1]);
    if (strcmp(k, "genere_le") == 0)
        return set_meta(&r->generated, f[1]);
    if (strcmp(k, "donnees_du") == 0)
        return set_meta(&r->data_date, f[1]);
    return 0; /* #colonnes and unknown metadata: informative */
}

static int group_ok(const char *g)
{
    return strcmp(g, "D") == 0 || strcmp(g, "M") == 0 || strcmp(g, "R") == 0;
}

static int data_line(struct rollup *r, const struct cp_ref *ref, unsigned long line, char **f,
                     int nf, struct cp_err *why)
{
    if (strcmp(f[0], "agregat") == 0) {
        struct agg a = {0};
        int ind;

        if (nf != 12)
            return bad_line(why, line, "une ligne agregat a 12 champs");
        ind = cp_ref_indicator(ref, f[2]);
        if (!group_ok(f[1]) || ind < 0)
            return bad_line(why, line, "groupe ou indicateur inconnu");
        if (strcmp(f[3], cp_nature_name(ref->ind[ind].nature)) != 0)
            return bad_line(why, line, "nature de l'indicateur différente du catalogue");
        snprintf(a.groupe, sizeof a.groupe, "%s", f[1]);
        a.ind = ind;
        a.line = line;
        for (int i = 0; i < 3; i++)
            if (parse_num(f[4 + i], &a.v[i], &a.has[i]) < 0)
                return bad_line(why, line, "nombre illisible");
        if (parse_num(f[7], &a.poids, &a.has_poids) < 0 ||
            parse_num(f[10], &a.part, &a.has_part) < 0 || parse_int(f[8], &a.couverts) < 0 ||
            parse_int(f[9], &a.attendus) < 0 || (strcmp(f[11], "0") && strcmp(f[11], "1")))
            return bad_line(why, line, "nombre illisible");
        a.derive = f[11][0] == '1';
        for (size_t i = 0; i < r->nagg; i++)
            if (r->agg[i].ind == ind && strcmp(r->agg[i].groupe, a.groupe) == 0)
                return bad_line(why, line, "agrégat en double");
        if (grow((void **)&r->agg, &r->capagg, r->nagg, sizeof *r->agg) < 0)
            return -2;
        r->agg[r->nagg++] = a;
        return 0;
    }
    if (strcmp(f[0], "contribution") == 0) {
        struct contrib c = {0};
        int ind, sig;
        long long d;

        if (nf != 8)
            return bad_line(why, line, "une ligne contribution a 8 champs");
        ind = cp_ref_indicator(ref, f[2]);
        sig = cp_ref_signatory(ref, f[3]);
        if (!group_ok(f[1]) || ind < 0 || sig < 0)
            return bad_line(why, line, "groupe, indicateur ou signataire inconnu");
        snprintf(c.groupe, sizeof c.groupe, "%s", f[1]);
        c.ind = ind;
        c.sig = sig;
        c.line = line;
        for (int i = 0; i < 3; i++)
            if (parse_num(f[4 + i], &c.v[i], &c.has[i]) < 0)
                return bad_line(why, line, "nombre illisible");
        if (parse_int(f[7], &d) < 0 || d > 1)
            return bad_line(why, line, "nombre illisible");
        c.derive = (int)d;
        if (grow((void **)&r->con, &r->capcon, r->ncon, sizeof *r->con) < 0)
            return -2;
        r->con[r->ncon++] = c;
        return 0;
    }
    if (strcmp(f[0], "constat") == 0) {
        struct finding x = {0};

        if (nf != 4 || parse_int(f[3], &x.n) < 0)
            return bad_line(why, line, "une ligne constat a 4 champs : regle, gravite, nombre");
        if (strcmp(f[2], "bloquant") && strcmp(f[2], "avertissement") && strcmp(f[2], "info"))
            return bad_line(why, line, "gravité inconnue");
        for (size_t i = 0; i < r->nfnd; i++)
            if (strcmp(r->fnd[i].regle, f[1]) == 0 && strcmp(r->fnd[i].gravite, f[2]) == 0)
                return bad_line(why, line, "règle et gravité en double");
        if (grow((void **)&r->fnd, &r->capfnd, r->nfnd, sizeof *r->fnd) < 0)
            return -2;
        x.regle = strdup(f[1]);
        x.gravite = strdup(f[2]);
        r->fnd[r->nfnd++] = x;
        if (!x.regle || !x.gravite)
            return -2;
        return 0;
    }
    return bad_line(why, line, "type de ligne inconnu (agregat, contribution ou constat)");
}

/* Parses the lines before the checksum line. 0, -1 (why set), -2 (memory). */
static int parse(struct rollup *r, const struct cp_ref *ref, const char *p, size_t n,
                 struct cp_err *why)
{
    char *scratch = malloc(n + 1);
    char *f[MAX_FIELDS];
    const char *end = p + n;
    unsigned long line = 0;
    int rc = 0;

    if (!scratch)
        return -2;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int nf;

        line++;
        if (len && p[len - 1] == '\r')
            len--;
        nf = split(p, len, scratch, f);
        p = nl ? nl + 1 : end;
        if (nf < 0) {
            rc = bad_line(why, line, "guillemet non fermé ou trop de champs");
            break;
        }
        if (line == 1 && f[0][0] != '#') {
            rc = bad_line(why, line, "l'en-tête « #calpae-rollup;1 » manque");
            break;
        }
        if (nf == 1 && !f[0][0])
            continue;
        if (f[0][0] == '#')
            rc = meta_line(r, line, f, nf, why) < 0 ? (why->code[0] ? -1 : -2) : 0;
        else
            rc = data_line(r, ref, line, f, nf, why);
    }
    free(scratch);
    return rc;
}

static int close_enough(int ha, double a, int hb, double b)
{
    if (!ha || !hb)
        return ha == hb;
    return fabs(a - b) <= REL_TOL * fmax(fabs(a), fabs(b));
}

static int totals_fail(struct cp_err *why, const struct cp_ref *ref, const struct agg *a,
                       const char *what, int hv, double v, int he, double e)
{
    char where[32], got[40], want[40];

    snprintf(where, sizeof where, "L%lu", a->line);
    if (hv)
        snprintf(got, sizeof got, "%.10g", v);
    else
        snprintf(got, sizeof got, "vide");
    if (he)
        snprintf(want, sizeof want, "%.10g", e);
    else
        snprintf(want, sizeof want, "vide");
    return cp_err_set(why, CP_EX_DATAERR, "rollup_totaux", where,
                      "fichier de remontée, ligne %lu : l'agrégat %s (groupe %s) a pour %s %s "
                      "mais ses lignes de contribution donnent %s ; le fichier est incohérent, "
                      "régénérez-le avec calpae-render sans le modifier",
                      a->line, ref->ind[a->ind].code, a->groupe, what, got, want);
}

/* Each aggregate against the recomputation from its contribution lines. */
static int check_totals(struct rollup *r, const struct cp_ref *ref, struct cp_err *why)
{
    for (size_t i = 0; i < r->nagg; i++) {
        const struct agg *a = &r->agg[i];
        const struct cp_indicator *d = &ref->ind[a->ind];
        double s[3] = {0, 0, 0}, e[3] = {0, 0, 0};
        int he[3] = {0, 0, 0};
        long long k = 0;

        for (size_t j = 0; j < r->ncon; j++) {
            struct contrib *c = &r->con[j];

            if (c->ind != a->ind || strcmp(c->groupe, a->groupe) != 0)
                continue;
            if (c->used)
                return bad_line(why, c->line, "contribution en double");
            for (size_t l = j + 1; l < r->ncon; l++)
                if (r->con[l].ind == c->ind && r->con[l].sig == c->sig &&
                    strcmp(r->con[l].groupe, c->groupe) == 0)
                    return bad_line(why, r->con[l].line, "contribution en double");
            c->used = 1;
            k++;
            switch (d->nature) {
            case CP_NAT_FLUX:
            case CP_NAT_STOCK:
                if (!c->has[0])
                    return bad_line(why, c->line, "contribution sans valeur");
                s[0] += c->v[0];
                break;
            case CP_NAT_RATIO:
                if (!c->has[1] || !c->has[2])
                    return bad_line(why, c->line, "contribution sans numérateur ou dénominateur");
                s[1] += c->v[1];
                s[2] += c->v[2];
                break;
            case CP_NAT_MOYENNE:
                /* The weighted sum from the signatory's own value and weight. */
                if (!c->has[0] || !c->has[2])
                    return bad_line(why, c->line, "contribution sans valeur ou poids");
                s[1] += c->v[0] * c->v[2];
                s[2] += c->v[2];
                break;
            }
        }
        if (k == 0)
            return totals_fail(why, ref, a, "nombre de contributeurs", 1, (double)a->couverts,
                               1, 0);
        if (k != a->couverts)
            return totals_fail(why, ref, a, "nombre de contributeurs", 1, (double)a->couverts,
                               1, (double)k);
        if (d->nature == CP_NAT_FLUX || d->nature == CP_NAT_STOCK) {
            if (!close_enough(a->has[0], a->v[0], 1, s[0]))
                return totals_fail(why, ref, a, "valeur", a->has[0], a->v[0], 1, s[0]);
            continue;
        }
        e[1] = s[1];
        e[2] = s[2];
        he[1] = he[2] = 1;
        if (s[2] != 0) {
            e[0] = (d->nature == CP_NAT_RATIO && d->unit == CP_UNIT_PCT ? 100.0 : 1.0) * s[1] /
                   s[2];
            he[0] = 1;
        }
        if (!close_enough(a->has[1], a->v[1], he[1], e[1]))
            return totals_fail(why, ref, a, "numérateur", a->has[1], a->v[1], he[1], e[1]);
        if (!close_enough(a->has[2], a->v[2], he[2], e[2]))
            return totals_fail(why, ref, a, "dénominateur", a->has[2], a->v[2], he[2], e[2]);
        if (!close_enough(a->has[0], a->v[0], he[0], e[0]))
            return totals_fail(why, ref, a, "valeur", a->has[0], a->v[0], he[0], e[0]);
        if (d->nature == CP_NAT_MOYENNE && !close_enough(a->has_poids, a->poids, 1, s[2]))
            return totals_fail(why, ref, a, "somme des poids", a->has_poids, a->poids, 1, s[2]);
    }
    for (size_t j = 0; j < r->ncon; j++)
        if (!r->con[j].used) {
            char where[32];

            snprintf(where, sizeof where, "L%lu", r->con[j].line);
            return cp_err_set(why, CP_EX_DATAERR, "rollup_totaux", where,
                              "fichier de remontée, ligne %lu : contribution de %s à %s "
                              "(groupe %s) sans ligne agregat ; régénérez le fichier avec "
                              "calpae-render sans le modifier",
                              r->con[j].line, ref->sig[r->con[j].sig].code,
                              ref->ind[r->con[j].ind].code, r->con[j].groupe);
        }
    return 0;
}

/* Region, period and catalog, after the lines were read. */
static int check_meta(struct rollup *r, const struct cp_ref *ref, struct cp_err *why)
{
    if (r->nregion == 0 || !r->period[0] || !r->catalog)
        return cp_err_set(why, CP_EX_DATAERR, "rollup_format", "",
                          "fichier de remontée incomplet : les lignes #region, #periode et "
                          "#version_catalogue sont obligatoires ; régénérez le fichier avec "
                          "calpae-render");
    if (r->nregion > 1)
        return cp_err_set(why, CP_EX_DATAERR, "rollup_regions", "",
                          "fichier de remontée portant sur plusieurs régions : un fichier "
                          "par région et par période");
    if (cp_ref_region(ref, r->region) < 0)
        return cp_err_set(why, CP_EX_DATAERR, "rollup_regions", "",
                          "fichier de remontée : région « %s » inconnue", r->region);
    if (strcmp(r->catalog, ref->catalog_version) != 0)
        return cp_err_set(why, CP_EX_DATAERR, "rollup_catalogue", "",
                          "fichier de remontée produit avec une autre version du catalogue "
                          "des indicateurs (%.12s…, la nôtre est %.12s…) ; la région et le "
                          "niveau national doivent utiliser le même catalogue",
                          r->catalog, ref->catalog_version);
    for (size_t j = 0; j < r->ncon; j++) {
        const struct cp_signatory *s = &ref->sig[r->con[j].sig];

        if (strcmp(s->region, r->region) != 0) {
            char where[32];

            snprintf(where, sizeof where, "L%lu", r->con[j].line);
            return cp_err_set(why, CP_EX_DATAERR, "rollup_regions", where,
                              "fichier de remontée de la région %s, ligne %lu : le signataire "
                              "%s appartient à la région %s ; un fichier par région",
                              r->region, r->con[j].line, s->code, s->region);
        }
    }
    return 0;
}

static void bind_num(sqlite3_stmt *st, int i, int has, double v)
{
    if (has)
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static int step(sqlite3 *db, sqlite3_stmt *st, struct cp_err *err)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : cp_db_fail(db, err, "enregistrement du fichier de remontée");
}

static int store(sqlite3 *db, const struct cp_ref *ref, long long fid, const struct rollup *r,
                 struct cp_err *err)
{
    sqlite3_stmt *st[4] = {NULL, NULL, NULL, NULL};
    int rc = -1;

    if (cp_db_prepare(db,
                      "INSERT INTO rollup(fichier_id, region, periode, version_catalogue,"
                      " version_logiciel, genere_le, donnees_du, rang)"
                      " SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, recu_le || '|' || nom"
                      " FROM fichier WHERE id = ?1",
                      &st[0], err) < 0 ||
        cp_db_prepare(db,
                      "INSERT INTO rollup_agregat VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
                      &st[1], err) < 0 ||
        cp_db_prepare(db, "INSERT INTO rollup_contribution VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
                      &st[2], err) < 0 ||
        cp_db_prepare(db, "INSERT INTO rollup_constat VALUES(?1,?2,?3,?4)", &st[3], err) < 0)
        goto out;
    sqlite3_bind_int64(st[0], 1, fid);
    sqlite3_bind_text(st[0], 2, r->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st[0], 3, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st[0], 4, r->catalog, -1, SQLITE_STATIC);
    sqlite3_bind_text(st[0], 5, r->software, -1, SQLITE_STATIC);
    sqlite3_bind_text(st[0], 6, r->generated, -1, SQLITE_STATIC);
    sqlite3_bind_text(st[0], 7, r->data_date, -1, SQLITE_STATIC);
    if (step(db, st[0], err) < 0)
        goto out;
    for (size_t i = 0; i < r->nagg; i++) {
        const struct agg *a = &r->agg[i];

        sqlite3_bind_int64(st[1], 1, fid);
        sqlite3_bind_text(st[1], 2, a->groupe, -1, SQLITE_STATIC);
        sqlite3_bind_text(st[1], 3, ref->ind[a->ind].code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st[1], 4, cp_nature_name(ref->ind[a->ind].nature), -1, SQLITE_STATIC);
        for (int k = 0; k < 3; k++)
            bind_num(st[1], 5 + k, a->has[k], a->v[k]);
        bind_num(st[1], 8, a->has_poids, a->poids);
        sqlite3_bind_int64(st[1], 9, a->couverts);
        sqlite3_bind_int64(st[1], 10, a->attendus);
        bind_num(st[1], 11, a->has_part, a->part);
        sqlite3_bind_int(st[1], 12, a->derive);
        if (step(db, st[1], err) < 0)
            goto out;
    }
    for (size_t i = 0; i < r->ncon; i++) {
        const struct contrib *c = &r->con[i];

        sqlite3_bind_int64(st[2], 1, fid);
        sqlite3_bind_text(st[2], 2, c->groupe, -1, SQLITE_STATIC);
        sqlite3_bind_text(st[2], 3, ref->ind[c->ind].code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st[2], 4, ref->sig[c->sig].code, -1, SQLITE_STATIC);
        for (int k = 0; k < 3; k++)
            bind_num(st[2], 5 + k, c->has[k], c->v[k]);
        sqlite3_bind_int(st[2], 8, c->derive);
        if (step(db, st[2], err) < 0)
            goto out;
    }
    for (size_t i = 0; i < r->nfnd; i++) {
        sqlite3_bind_int64(st[3], 1, fid);
        sqlite3_bind_text(st[3], 2, r->fnd[i].regle, -1, SQLITE_STATIC);
        sqlite3_bind_text(st[3], 3, r->fnd[i].gravite, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st[3], 4, r->fnd[i].n);
        if (step(db, st[3], err) < 0)
            goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(st[i]);
    return rc;
}

/* Reads the whole file. 0, or -1 with why set. */
static int slurp(const char *path, unsigned long long max, char **out, size_t *n,
                 struct cp_err *why)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long sz;

    *out = NULL;
    if (!f)
        return cp_err_set(why, CP_EX_IOERR, "io", "", "lecture impossible : %s",
                          strerror(errno));
    if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
        fclose(f);
        return cp_err_set(why, CP_EX_IOERR, "io", "", "lecture impossible : %s",
                          strerror(errno));
    }
    if ((unsigned long long)sz > max) {
        fclose(f);
        return cp_err_set(why, CP_EX_DATAERR, "too_large", "",
                          "fichier de remontée trop volumineux (%ld octets, au plus %llu)", sz,
                          max);
    }
    data = malloc((size_t)sz + 1);
    if (!data || fread(data, 1, (size_t)sz, f) != (size_t)sz) {
        free(data);
        fclose(f);
        return cp_err_set(why, CP_EX_IOERR, "io", "",
                          "lecture impossible (le fichier a changé pendant la lecture ?)");
    }
    fclose(f);
    data[sz] = '\0';
    *out = data;
    *n = (size_t)sz;
    return 0;
}

/* Where the checksum line starts, and its digest; -1 when the file does
 * not end with one (truncated). */
static long checksum_line(const char *p, size_t n, char hex[CP_SHA256_HEX])
{
    static const char tag[] = "#sha256;";
    size_t end = n, start;

    if (end && p[end - 1] == '\n')
        end--;
    if (end && p[end - 1] == '\r')
        end--;
    start = end;
    while (start && p[start - 1] != '\n')
        start--;
    if (end - start != sizeof tag - 1 + 64 || memcmp(p + start, tag, sizeof tag - 1) != 0)
        return -1;
    for (size_t i = 0; i < 64; i++) {
        char c = p[start + sizeof tag - 1 + i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return -1;
        hex[i] = c;
    }
    hex[64] = '\0';
    return (long)start;
}

int cp_rollup_ingest(sqlite3 *db, const struct cp_ref *ref, long long file_id,
                     const char *path, unsigned long long max_bytes, unsigned long *stored,
                     struct cp_err *why, struct cp_err *err)
{
    struct rollup r;
    char *data = NULL;
    char want[CP_SHA256_HEX], got[CP_SHA256_HEX];
    size_t n = 0, bom;
    long body;
    int rc = 1, k;

    memset(&r, 0, sizeof r);
    *stored = 0;
    if (slurp(path, max_bytes, &data, &n, why) < 0)
        goto out;
    body = checksum_line(data, n, want);
    if (body < 0) {
        cp_err_set(why, CP_EX_DATAERR, "rollup_tronque", "",
                   "fichier de remontée tronqué : la dernière ligne « #sha256;… » manque ; "
                   "renvoyez le fichier complet");
        goto out;
    }
    if (cp_sha256_buf(data, (size_t)body, got) < 0) {
        rc = -1;
        cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
        goto out;
    }
    if (strcasecmp(got, want) != 0) {
        cp_err_set(why, CP_EX_DATAERR, "rollup_checksum", "",
                   "fichier de remontée altéré : sa somme de contrôle SHA-256 ne correspond "
                   "pas à son contenu (attendu %.12s…, calculé %.12s…) ; renvoyez le fichier "
                   "tel que calpae-render l'a écrit",
                   want, got);
        goto out;
    }
    bom = n >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    k = parse(&r, ref, data + bom, (size_t)body - bom, why);
    if (k == -2) {
        rc = -1;
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    if (k < 0 || check_meta(&r, ref, why) < 0 || check_totals(&r, ref, why) < 0)
        goto out;
    if (store(db, ref, file_id, &r, err) < 0) {
        rc = -1;
        goto out;
    }
    *stored = (unsigned long)(1 + r.nagg + r.ncon + r.nfnd);
    rc = 0;
out:
    rollup_release(&r);
    free(data);
    return rc;
}
