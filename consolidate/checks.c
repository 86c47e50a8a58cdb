/*
 * Evaluating the rules (see internal.h). The scope is built once per run
 * as TEMP tables: the periods (cp_per), the values in force (cp_cur), what
 * each signatory is expected to send (cp_attendu), one row per signatory
 * and period with one column per catalog code (cp_pivot, what relations
 * read), and the predecessors of a signatory not yet in force one year
 * earlier (cp_pred: 67D + 68D for 6AE). Relations run as guarded SQL;
 * the built-in kinds are set-based queries finished in C.
 */
#include "consolidate/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/db.h"
#include "common/fmt.h"
#include "common/period.h"
#include "consolidate/consolidate.h"

#define NBSP "\xC2\xA0"

/* ---- scope ------------------------------------------------------------------------- */

struct per_row {
    char s[CP_PERIOD_STRLEN];
    struct cp_period p;
    int role; /* 1 data, 2 year of a half with data, 4 one year before one of those */
};

static int per_add(struct per_row **v, size_t *n, size_t *cap, const struct cp_period *p, int role)
{
    char s[CP_PERIOD_STRLEN];

    cp_period_str(p, s);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*v)[i].s, s) == 0) {
            (*v)[i].role |= role;
            return 0;
        }
    }
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        struct per_row *w = realloc(*v, ncap * sizeof *w);

        if (!w)
            return -1;
        *v = w;
        *cap = ncap;
    }
    memcpy((*v)[*n].s, s, sizeof s);
    (*v)[*n].p = *p;
    (*v)[*n].role = role;
    (*n)++;
    return 0;
}

static int build_periods(struct cp_run *run)
{
    sqlite3_stmt *st = NULL, *ins = NULL;
    struct per_row *v = NULL;
    size_t n = 0, cap = 0, ndata;
    int rc = -1, s;

    /* WITHOUT ROWID: a period is looked up by its text, in one seek. */
    if (cp_run_exec(run, "CREATE TEMP TABLE cp_per(periode TEXT PRIMARY KEY, annee INTEGER,"
                         " semestre INTEGER, debut TEXT, fin TEXT, echeance TEXT, prec TEXT,"
                         " role INTEGER NOT NULL) WITHOUT ROWID") < 0 ||
        cp_db_prepare(run->db, "SELECT DISTINCT periode FROM courant ORDER BY periode", &st,
                      run->err) < 0)
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        struct cp_period p;

        if (t && cp_period_parse(t, strlen(t), &p) == 0 && per_add(&v, &n, &cap, &p, 1) < 0)
            goto nomem;
    }
    if (s != SQLITE_DONE) {
        cp_run_dbfail(run, "lecture des périodes");
        goto out;
    }
    ndata = n;
    for (size_t i = 0; i < ndata; i++) {
        struct cp_period y = {v[i].p.year, 0}, b = cp_period_year_before(&v[i].p);

        if (v[i].p.half && per_add(&v, &n, &cap, &y, 2) < 0)
            goto nomem;
        if (per_add(&v, &n, &cap, &b, 4) < 0)
            goto nomem;
    }
    for (size_t i = ndata; i < n; i++) { /* years added above have their year before too */
        struct cp_period b = cp_period_year_before(&v[i].p);

        if ((v[i].role & 2) && per_add(&v, &n, &cap, &b, 4) < 0)
            goto nomem;
    }
    if (cp_db_prepare(run->db, "INSERT INTO cp_per VALUES(?1,?2,?3,?4,?5,?6,?7,?8)", &ins,
                      run->err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char first[CP_DATE_STRLEN], last[CP_DATE_STRLEN], due[CP_DATE_STRLEN],
            prev[CP_PERIOD_STRLEN];
        struct cp_period b = cp_period_year_before(&v[i].p);

        cp_period_bounds(&v[i].p, first, last);
        cp_period_deadline(&v[i].p, due);
        cp_period_str(&b, prev);
        sqlite3_bind_text(ins, 1, v[i].s, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 2, v[i].p.year);
        sqlite3_bind_int(ins, 3, v[i].p.half);
        sqlite3_bind_text(ins, 4, first, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, last, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 6, due, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 7, prev, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 8, v[i].role);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            cp_run_dbfail(run, "périodes");
            goto out;
        }
        sqlite3_reset(ins);
    }
    rc = 0;
    goto out;
nomem:
    cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ins);
    free(v);
    return rc;
}

static const char *const scope_sql[] = {
    /* The values in force, with their origin. */
    "CREATE TEMP TABLE cp_cur(signataire TEXT, periode TEXT, indicateur TEXT, valeur REAL,"
    " manquant TEXT, cible REAL, valeur_id INTEGER, fichier_id INTEGER, emplacement TEXT,"
    " PRIMARY KEY(signataire, periode, indicateur)) WITHOUT ROWID",
    "INSERT INTO cp_cur SELECT c.signataire, c.periode, c.indicateur, v.valeur, v.manquant,"
    " v.cible, v.id, v.fichier_id, v.emplacement"
    " FROM courant c JOIN valeur v ON v.id = c.valeur_id"
    " JOIN ref_indicateur i ON i.code = c.indicateur"
    " JOIN ref_signataire s ON s.code = c.signataire"
    " JOIN cp_per p ON p.periode = c.periode",
    "CREATE INDEX cp_cur_ind ON cp_cur(indicateur, periode)",
    /* Who is expected to send what: in force, type and years of the
     * catalog, yearly-only indicators only for years, axis not taken back
     * by the State. For periods with data and years derived from them.
     * The (period, indicator) pairs each signatory type may owe are
     * listed first (cp_pit), so that each signatory only walks its own
     * type's pairs instead of testing every period and indicator. rang:
     * the catalog order; releve: the period has data and the indicator
     * is of its kind (yearly-only for a year, the others for a half),
     * what COMPLETUDE checks. (The aggregates read the keys only,
     * agg.c.) */
    "CREATE TEMP TABLE cp_pit(type TEXT, periode TEXT, indicateur TEXT, annee INTEGER,"
    " debut TEXT, fin TEXT, axe TEXT, obligatoire INTEGER, rang INTEGER,"
    " releve INTEGER, PRIMARY KEY(type, periode, indicateur)) WITHOUT ROWID",
    "INSERT INTO cp_pit SELECT t.type, p.periode, i.code, p.annee, p.debut, p.fin, i.axe,"
    " i.obligatoire, i.rang,"
    " (p.role & 1) <> 0 AND (p.semestre = 0) = (i.annuel_seul = 1)"
    " FROM (SELECT DISTINCT type FROM ref_signataire) t CROSS JOIN cp_per p"
    " CROSS JOIN ref_indicateur i"
    " WHERE (p.role & 3) <> 0 AND p.annee BETWEEN i.annee_debut AND i.annee_fin"
    "  AND (i.annuel_seul = 0 OR p.semestre = 0)"
    "  AND instr(',' || i.types || ',', ',' || t.type || ',') > 0",
    "CREATE TEMP TABLE cp_attendu(signataire TEXT, periode TEXT, indicateur TEXT,"
    " obligatoire INTEGER, rang INTEGER, releve INTEGER,"
    " PRIMARY KEY(signataire, periode, indicateur)) WITHOUT ROWID",
    "INSERT INTO cp_attendu SELECT s.code, x.periode, x.indicateur, x.obligatoire, x.rang,"
    " x.releve"
    " FROM ref_signataire s CROSS JOIN cp_pit x"
    " WHERE x.type = s.type AND " IN_FORCE("s", "x")
    " AND NOT EXISTS (SELECT 1 FROM ref_recentralisation r WHERE r.signataire = s.code"
    "  AND r.axe = x.axe AND r.depuis <= x.annee)",
    /* Départements of each signatory, then predecessors: for a signatory
     * not in force during a period, the same-type signatories in force then
     * on its territory. */
    "CREATE TEMP TABLE cp_sigdep AS SELECT s.code AS signataire, trim(j.value) AS dep"
    " FROM ref_signataire s, json_each('[\"' || replace(s.departements, ',', '\",\"') || '\"]') j"
    " WHERE s.departements <> ''",
    "CREATE TEMP TABLE cp_pred AS SELECT DISTINCT s.code AS signataire, p.periode,"
    " t.code AS pred"
    " FROM ref_signataire s JOIN cp_per p"
    " JOIN cp_sigdep a ON a.signataire = s.code"
    " JOIN cp_sigdep b ON b.dep = a.dep AND b.signataire <> s.code"
    " JOIN ref_signataire t ON t.code = b.signataire AND t.type = s.type"
    " WHERE NOT (" IN_FORCE("s", "p") ") AND " IN_FORCE("t", "p"),
    "CREATE INDEX cp_pred_sp ON cp_pred(signataire, periode)",
    NULL,
};

/* The codes the relation rules read, each once. */
static int pivot_codes(const struct cp_run *run, const char ***out, size_t *n)
{
    const char **v = calloc(run->nind ? run->nind : 1, sizeof *v);

    *out = v;
    *n = 0;
    if (!v)
        return -1;
    for (size_t i = 0; i < run->nind; i++) {
        int used = 0;

        for (size_t r = 0; r < run->rules->n && !used; r++)
            for (size_t k = 0; k < run->rules->v[r].ncodes && !used; k++)
                used = run->rules->v[r].kind == CP_RULE_RELATION &&
                       strcmp(run->rules->v[r].codes[k], run->ind[i].code) == 0;
        if (used)
            v[(*n)++] = run->ind[i].code;
    }
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The pivot's row of one signatory and period (sig, per; NULL-terminated
 * copies) from the cells read, when the signatory and the period are
 * known, as the joins of the SQL it replaces required. */
static int pivot_row(struct cp_run *run, sqlite3_stmt *who, sqlite3_stmt *ins, const char *sig,
                     const char *per, size_t n, const unsigned char *has, const double *v)
{
    int s, rc = 0;

    sqlite3_bind_text(who, 1, sig, -1, SQLITE_STATIC);
    sqlite3_bind_text(who, 2, per, -1, SQLITE_STATIC);
    s = sqlite3_step(who);
    if (s == SQLITE_ROW) {
        sqlite3_bind_text(ins, 1, sig, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, per, -1, SQLITE_STATIC);
        for (int j = 0; j < 4; j++)
            sqlite3_bind_value(ins, 3 + j, sqlite3_column_value(who, j));
        for (size_t j = 0; j < n; j++) {
            if (has[j])
                sqlite3_bind_double(ins, 7 + (int)j, v[j]);
            else
                sqlite3_bind_null(ins, 7 + (int)j);
        }
        if (sqlite3_step(ins) != SQLITE_DONE)
            rc = cp_run_dbfail(run, "tableau des indicateurs");
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
    } else if (s != SQLITE_DONE) {
        rc = cp_run_dbfail(run, "tableau des indicateurs");
    }
    sqlite3_reset(who);
    sqlite3_clear_bindings(who);
    return rc;
}

/*
 * One row per signatory and period that has a value (or a missing one) of
 * a code a relation reads, one column per such code, NULL when absent;
 * rows in (signataire, periode) order, as the relations read them. Filled
 * from one read of cp_cur in key order, the cells gathered in C: a
 * max(CASE ...) per code on every row of a GROUP BY, or a lookup per
 * cell, cost two to three times as much. (codes: checked by the catalog
 * loader, letters, digits, '_'.)
 */
static int build_pivot(struct cp_run *run)
{
    struct cp_buf sql = CP_BUF_INIT(1 << 20);
    static const char *const reserved[] = {"signataire", "periode", "type", "region",
                                           "annee", "semestre", NULL};
    const char **codes = NULL, **sorted = NULL;
    sqlite3_stmt *rd = NULL, *who = NULL, *ins = NULL;
    unsigned char *has = NULL;
    double *v = NULL;
    char *sig = NULL, *per = NULL;
    size_t n = 0;
    int rc = -1, s, any = 0;

    if (pivot_codes(run, &codes, &n) < 0) {
        cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    cp_buf_adds(&sql, "CREATE TEMP TABLE cp_pivot(signataire TEXT, periode TEXT, type TEXT,"
                      " region TEXT, annee INT, semestre INT");
    for (size_t i = 0; i < n; i++) {
        const char *c = codes[i];

        for (const char *q = c; *q; q++) {
            if (!((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
                  (*q >= '0' && *q <= '9') || *q == '_')) {
                cp_err_set(run->err, CP_EX_CONFIG, "ref_invalid", NULL,
                           "code d'indicateur « %s » : seuls lettres, chiffres et « _ » sont "
                           "admis", c);
                goto out;
            }
        }
        for (size_t r = 0; reserved[r]; r++) {
            if (strcasecmp(reserved[r], c) == 0) {
                cp_err_set(run->err, CP_EX_CONFIG, "ref_invalid", NULL,
                           "code d'indicateur « %s » : nom réservé aux règles", c);
                goto out;
            }
        }
        cp_buf_addf(&sql, ", \"%s\"", c);
    }
    if (cp_buf_adds(&sql, ")") < 0) {
        cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "catalogue trop grand");
        goto out;
    }
    if (cp_run_exec(run, cp_buf_str(&sql)) < 0)
        goto out;
    if (n == 0) {
        rc = 0;
        goto out;
    }
    cp_buf_reset(&sql);
    cp_buf_adds(&sql, "INSERT INTO cp_pivot VALUES(?1, ?2, ?3, ?4, ?5, ?6");
    for (size_t i = 0; i < n; i++)
        cp_buf_addf(&sql, ", ?%zu", i + 7);
    sorted = malloc(n * sizeof *sorted);
    has = calloc(n, 1);
    v = calloc(n, sizeof *v);
    if (cp_buf_adds(&sql, ")") < 0 || !sorted || !has || !v) {
        cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    memcpy(sorted, codes, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, str_cmp);
    if (cp_db_prepare(run->db, cp_buf_str(&sql), &ins, run->err) < 0 ||
        cp_db_prepare(run->db,
                      "SELECT s.type, s.region, p.annee, p.semestre FROM ref_signataire s,"
                      " cp_per p WHERE s.code = ?1 AND p.periode = ?2",
                      &who, run->err) < 0 ||
        cp_db_prepare(run->db, "SELECT signataire, periode, indicateur, valeur FROM cp_cur",
                      &rd, run->err) < 0)
        goto out;
    for (;;) {
        const char *rs = NULL, *rp = NULL, *ri, *const *hit;
        int row = (s = sqlite3_step(rd)) == SQLITE_ROW;

        if (row) {
            rs = (const char *)sqlite3_column_text(rd, 0);
            rp = (const char *)sqlite3_column_text(rd, 1);
            if (!rs || !rp)
                continue; /* cannot match a known signatory and period */
        }
        if (sig && (!row || strcmp(rs, sig) != 0 || strcmp(rp, per) != 0)) {
            if (any && pivot_row(run, who, ins, sig, per, n, has, v) < 0)
                goto out;
            free(sig);
            free(per);
            sig = per = NULL;
        }
        if (!row)
            break;
        if (!sig) {
            if (!(sig = strdup(rs)) || !(per = strdup(rp))) {
                cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
                goto out;
            }
            memset(has, 0, n);
            any = 0;
        }
        ri = (const char *)sqlite3_column_text(rd, 2);
        if (ri && (hit = bsearch(&ri, sorted, n, sizeof *sorted, str_cmp))) {
            for (size_t j = 0; j < n; j++) {
                if (codes[j] == *hit) {
                    has[j] = sqlite3_column_type(rd, 3) != SQLITE_NULL;
                    v[j] = sqlite3_column_double(rd, 3);
                }
            }
            any = 1;
        }
    }
    if (s != SQLITE_DONE) {
        cp_run_dbfail(run, "tableau des indicateurs");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(rd);
    sqlite3_finalize(who);
    sqlite3_finalize(ins);
    free(sig);
    free(per);
    free(sorted);
    free(has);
    free(v);
    free(codes);
    cp_buf_release(&sql);
    return rc;
}

int cp_checks_scope(struct cp_run *run)
{
    if (build_periods(run) < 0)
        return -1;
    for (size_t i = 0; scope_sql[i]; i++)
        if (cp_run_exec(run, scope_sql[i]) < 0)
            return -1;
    return build_pivot(run);
}

/* ---- the guard ------------------------------------------------------------------------ */

struct guard {
    char why[300];
};

static struct guard guard_state;

static int guard_cb(void *ud, int action, const char *a, const char *b, const char *dbname,
                    const char *trigger)
{
    static const char *const functions[] = {
        "abs",  "coalesce", "ifnull", "iif",   "max",   "min",     "nullif", "round",
        "sqrt", "pow",      "power",  "floor", "ceil",  "ceiling", "trunc",  "ln",
        "log",  "log10",    "exp",    NULL,
    };
    struct guard *g = ud;

    (void)trigger;
    switch (action) {
    case SQLITE_SELECT:
        return SQLITE_OK;
    case SQLITE_READ:
        if (a && strcmp(a, "cp_pivot") == 0 && dbname && strcmp(dbname, "temp") == 0)
            return SQLITE_OK;
        if (!g->why[0])
            snprintf(g->why, sizeof g->why,
                     "lecture de « %s » refusée : une règle ne lit que les indicateurs",
                     a ? a : "?");
        return SQLITE_DENY;
    case SQLITE_FUNCTION:
        for (size_t i = 0; functions[i]; i++)
            if (b && strcasecmp(b, functions[i]) == 0)
                return SQLITE_OK;
        if (!g->why[0])
            snprintf(g->why, sizeof g->why,
                     "fonction « %s » refusée ; permises : abs, coalesce, ifnull, iif, max, "
                     "min, nullif, round, sqrt, pow, floor, ceil, trunc, ln, log, exp",
                     b ? b : "?");
        return SQLITE_DENY;
    default:
        if (!g->why[0])
            snprintf(g->why, sizeof g->why,
                     "opération refusée (code %d) : une règle ne peut que lire les indicateurs",
                     action);
        return SQLITE_DENY;
    }
}

void cp_checks_guard_end(sqlite3 *db)
{
    sqlite3_set_authorizer(db, NULL, NULL);
    sqlite3_exec(db, "PRAGMA query_only = 0", NULL, NULL, NULL);
}

int cp_checks_guarded_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *why,
                              size_t whysz)
{
    const char *tail = NULL;
    int rc;

    *st = NULL;
    memset(&guard_state, 0, sizeof guard_state);
    if (sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(why, whysz, "%s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_set_authorizer(db, guard_cb, &guard_state);
    rc = sqlite3_prepare_v2(db, sql, -1, st, &tail);
    if (rc != SQLITE_OK) {
        if (guard_state.why[0])
            snprintf(why, whysz, "%s", guard_state.why);
        else
            snprintf(why, whysz, "%s", sqlite3_errmsg(db));
        sqlite3_finalize(*st);
        *st = NULL;
        cp_checks_guard_end(db);
        return 1;
    }
    while (tail && (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == '\r'))
        tail++;
    if (!*st || (tail && *tail) || !sqlite3_stmt_readonly(*st)) {
        snprintf(why, whysz, "une règle doit être une seule expression en lecture seule");
        sqlite3_finalize(*st);
        *st = NULL;
        cp_checks_guard_end(db);
        return 1;
    }
    return 0; /* the guard stays on while the caller steps: cp_checks_guard_end */
}

/* ---- relations --------------------------------------------------------------------- */

struct relrows {
    char (*sig)[16];
    char (*per)[CP_PERIOD_STRLEN];
    double *lr;            /* 2 per row */
    unsigned char *hlr;
    double *v;             /* ncodes per row */
    unsigned char *hv;
    size_t n, cap, ncodes;
};

static void relrows_free(struct relrows *r)
{
    free(r->sig);
    free(r->per);
    free(r->lr);
    free(r->hlr);
    free(r->v);
    free(r->hv);
}

static int relrows_grow(struct relrows *r)
{
    size_t ncap = r->cap ? r->cap * 2 : 64, k = r->ncodes ? r->ncodes : 1;
    void *p;

#define GROW(field, count)                                          \
    do {                                                            \
        p = realloc(r->field, (count) * sizeof *r->field);          \
        if (!p)                                                     \
            return -1;                                              \
        r->field = p;                                               \
    } while (0)
    GROW(sig, ncap);
    GROW(per, ncap);
    GROW(lr, ncap * 2);
    GROW(hlr, ncap * 2);
    GROW(v, ncap * k);
    GROW(hv, ncap * k);
#undef GROW
    r->cap = ncap;
    return 0;
}

/* Unit of an expression: the unit of the first code in it, else fallback. */
static const char *expr_unit(const struct cp_run *run, const char *sql, const char *fallback)
{
    const char *q = sql ? strchr(sql, '"') : NULL;

    if (q) {
        const char *e = strchr(q + 1, '"');
        char code[CP_CODE_MAX];

        if (e && (size_t)(e - q - 1) < sizeof code) {
            const struct cp_cat_ind *d;

            memcpy(code, q + 1, (size_t)(e - q - 1));
            code[e - q - 1] = '\0';
            d = cp_run_ind(run, code);
            if (d)
                return d->unit;
        }
    }
    return fallback;
}

/* The SQL as people wrote it: codes without their quotes. */
static void display(const char *sql, char *out, size_t n)
{
    size_t o = 0;

    for (const char *p = sql ? sql : ""; *p && o + 1 < n; p++)
        if (*p != '"')
            out[o++] = *p;
    out[o] = '\0';
}

static const char *op_words(const char *op)
{
    if (strcmp(op, "<=") == 0)
        return "inférieur ou égal à";
    if (strcmp(op, "<") == 0)
        return "inférieur à";
    if (strcmp(op, ">=") == 0)
        return "supérieur ou égal à";
    if (strcmp(op, ">") == 0)
        return "supérieur à";
    if (strcmp(op, "=") == 0)
        return "égal à";
    return "différent de";
}

static int has_code(const char *sql)
{
    return sql && strchr(sql, '"') != NULL;
}

static void tol_text(const struct cp_rule *r, const char *unit, char *out, size_t n)
{
    char a[96], b[CP_FMT_MAX];

    if (!r->has_tol || (r->tol_abs == 0 && r->tol_rel == 0)) {
        snprintf(out, n, "aucune");
        return;
    }
    if (r->tol_rel > 0) {
        cp_fmt_num_trim(r->tol_rel * 100, 3, b, sizeof b);
        if (r->tol_abs > 0)
            snprintf(out, n, "%s + %s" NBSP "%%", cp_run_fmt(unit, r->tol_abs, a, sizeof a), b);
        else
            snprintf(out, n, "%s" NBSP "%%", b);
    } else {
        snprintf(out, n, "%s", cp_run_fmt(unit, r->tol_abs, a, sizeof a));
    }
}

static int eval_relation(struct cp_run *run, const struct cp_rule *r)
{
    struct cp_buf sql = CP_BUF_INIT(1 << 20);
    struct relrows rows = {0};
    sqlite3_stmt *st = NULL;
    char why[400];
    int rc = -1, s, simple = r->lhs_sql != NULL;
    struct cp_fval *fv = NULL;

    rows.ncodes = r->ncodes;
    cp_buf_addf(&sql, "SELECT signataire, periode, %s%s%s, %s%s%s", simple ? "(" : "",
                simple ? r->lhs_sql : "NULL", simple ? ")" : "", simple ? "(" : "",
                simple ? r->rhs_sql : "NULL", simple ? ")" : "");
    for (size_t i = 0; i < r->ncodes; i++)
        cp_buf_addf(&sql, ", \"%s\"", r->codes[i]);
    if (cp_buf_addf(&sql, " FROM temp.cp_pivot WHERE NOT (%s)",
                    r->test_sql) < 0) {
        cp_rules_problem(run->rules, r->line, "regle_expression_invalide",
                         "expression trop longue");
        rc = 0;
        goto out;
    }
    s = cp_checks_guarded_prepare(run->db, cp_buf_str(&sql), &st, why, sizeof why);
    if (s < 0) {
        cp_err_set(run->err, CP_EX_IOERR, "db", NULL, "base de données : %s", why);
        goto out;
    }
    if (s > 0) {
        int denied = strstr(why, "refusé") != NULL || strstr(why, "not authorized") != NULL ||
                     strstr(why, "seule expression") != NULL;
        const char *nocol = strstr(why, "no such column: ");

        if (nocol)
            cp_rules_problem(run->rules, r->line, "regle_expression_invalide",
                             "expression « %s » : « %s » n'est ni un code d'indicateur du "
                             "catalogue ni une colonne permise (signataire, periode, type, "
                             "region, annee, semestre)",
                             r->expression, nocol + 16);
        else
            cp_rules_problem(run->rules, r->line,
                             denied ? "regle_lecture_interdite" : "regle_expression_invalide",
                             "expression « %s » : %s", r->expression, why);
        rc = 0;
        goto out;
    }
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        size_t k = rows.n;

        if (rows.n == rows.cap && relrows_grow(&rows) < 0) {
            sqlite3_finalize(st);
            st = NULL;
            cp_checks_guard_end(run->db);
            cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
            goto out;
        }
        snprintf(rows.sig[k], sizeof rows.sig[k], "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(rows.per[k], sizeof rows.per[k], "%s", (const char *)sqlite3_column_text(st, 1));
        for (int j = 0; j < 2; j++) {
            rows.hlr[2 * k + (size_t)j] = sqlite3_column_type(st, 2 + j) != SQLITE_NULL;
            rows.lr[2 * k + (size_t)j] = sqlite3_column_double(st, 2 + j);
        }
        for (size_t j = 0; j < r->ncodes; j++) {
            rows.hv[k * r->ncodes + j] = sqlite3_column_type(st, 4 + (int)j) != SQLITE_NULL;
            rows.v[k * r->ncodes + j] = sqlite3_column_double(st, 4 + (int)j);
        }
        rows.n++;
    }
    sqlite3_finalize(st);
    st = NULL;
    cp_checks_guard_end(run->db);
    if (s != SQLITE_DONE) {
        cp_rules_problem(run->rules, r->line, "regle_expression_invalide",
                         "expression « %s » : évaluation impossible : %s", r->expression,
                         sqlite3_errmsg(run->db));
        rc = 0;
        goto out;
    }

    fv = calloc(r->ncodes ? r->ncodes : 1, sizeof *fv);
    if (!fv) {
        cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    for (size_t k = 0; k < rows.n; k++) {
        struct cp_buf codes = CP_BUF_INIT(4096), vals = CP_BUF_INIT(4096),
                      detail = CP_BUF_INIT(8192);
        char L[96] = "", R[96] = "", gap[96] = "", tol[128] = "", lhs[512], rhs[512],
             cond[512], raw[40];
        const char *unit = expr_unit(run, r->lhs_sql ? r->lhs_sql : r->test_sql, "nb");
        struct cp_kv kv[5];
        struct cp_finding f;
        int e;

        unit = expr_unit(run, r->lhs_sql, expr_unit(run, r->rhs_sql, unit));
        for (size_t j = 0; j < r->ncodes; j++) {
            int has = rows.hv[k * r->ncodes + j];
            double v = rows.v[k * r->ncodes + j];

            cp_buf_addf(&codes, "%s%s", j ? "," : "", r->codes[j]);
            cp_buf_addf(&vals, "%s%s", j ? "|" : "", cp_run_raw(has, v, raw, sizeof raw));
            fv[j] = (struct cp_fval){rows.sig[k], rows.per[k], r->codes[j], has, v, 1, 0, NULL};
        }
        if (simple) {
            double l = rows.lr[2 * k], rr = rows.lr[2 * k + 1];

            cp_run_fmt(unit, l, L, sizeof L);
            cp_run_fmt(unit, rr, R, sizeof R);
            cp_run_fmt(unit, l - rr, gap, sizeof gap);
            tol_text(r, unit, tol, sizeof tol);
            display(r->lhs_sql, lhs, sizeof lhs);
            display(r->rhs_sql, rhs, sizeof rhs);
            if (r->cond_sql) {
                display(r->cond_sql, cond, sizeof cond);
                cp_buf_addf(&detail, "comme %s, ", cond);
            }
            if (has_code(r->rhs_sql))
                cp_buf_addf(&detail, "%s (%s) devrait être %s %s (%s)", lhs, L,
                            op_words(r->op), rhs, R);
            else
                cp_buf_addf(&detail, "%s (%s) devrait être %s %s", lhs, L, op_words(r->op), R);
            if (r->has_tol && (r->tol_abs > 0 || r->tol_rel > 0))
                cp_buf_addf(&detail, " ; écart %s, tolérance %s", gap, tol);
        } else {
            struct cp_buf list = CP_BUF_INIT(4096);

            for (size_t j = 0; j < r->ncodes; j++) {
                const struct cp_cat_ind *d = cp_run_ind(run, r->codes[j]);
                char v[96];

                cp_buf_addf(&list, "%s%s = %s", j ? " ; " : "", r->codes[j],
                            rows.hv[k * r->ncodes + j]
                                ? cp_run_fmt(d ? d->unit : "nb", rows.v[k * r->ncodes + j], v,
                                             sizeof v)
                                : "non transmis");
            }
            cp_buf_addf(&detail, "la relation « %s » n'est pas respectée (%s)", r->expression,
                        cp_buf_str(&list));
            cp_buf_release(&list);
        }
        kv[0] = (struct cp_kv){"gauche", L};
        kv[1] = (struct cp_kv){"droite", R};
        kv[2] = (struct cp_kv){"ecart", gap};
        kv[3] = (struct cp_kv){"tolerance", tol};
        kv[4] = (struct cp_kv){"expression", r->expression};
        f = (struct cp_finding){r,  rows.sig[k], rows.per[k], cp_buf_str(&codes),
                                cp_buf_str(&vals), cp_buf_str(&detail), kv, 5, fv, r->ncodes};
        e = cp_run_emit(run, &f);
        cp_buf_release(&codes);
        cp_buf_release(&vals);
        cp_buf_release(&detail);
        if (e < 0)
            goto out;
    }
    rc = 0;
out:
    if (st) {
        sqlite3_finalize(st);
        cp_checks_guard_end(run->db);
    }
    free(fv);
    relrows_free(&rows);
    cp_buf_release(&sql);
    return rc;
}

/* ---- helpers for the built-in kinds ------------------------------------------------------ */

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

static int has_col(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) != SQLITE_NULL;
}

static int step_fail(struct cp_run *run, int s, const char *what)
{
    if (s != SQLITE_DONE)
        return cp_run_dbfail(run, what);
    return 0;
}

/* One finding about a single indicator value (BORNES, CIBLE...). */
static int emit_one(struct cp_run *run, const struct cp_rule *r, const char *sig, const char *per,
                    const char *code, int has, double v, const char *detail,
                    const struct cp_kv *kv, size_t nkv, const struct cp_fval *extra,
                    size_t nextra)
{
    struct cp_fval fv[4];
    char raw[40];
    struct cp_finding f;

    fv[0] = (struct cp_fval){sig, per, code, has, v, 1, 0, NULL};
    for (size_t i = 0; i < nextra && i < 3; i++)
        fv[i + 1] = extra[i];
    f = (struct cp_finding){r,  sig, per, code, cp_run_raw(has, v, raw, sizeof raw), detail,
                            kv, nkv, fv, 1 + (nextra < 3 ? nextra : 3)};
    return cp_run_emit(run, &f);
}

static char *pct_text(double fraction, char *out, size_t n)
{
    char b[CP_FMT_MAX];

    cp_fmt_num_trim(fraction * 100, 1, b, sizeof b);
    snprintf(out, n, "%s" NBSP "%%", b);
    return out;
}

/* ---- BORNES ----------------------------------------------------------------------------- */

static int eval_bornes(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st;
    int s, rc = 0;

    if (cp_db_prepare(run->db,
                      "SELECT k.signataire, k.periode, k.indicateur, k.valeur FROM cp_cur k"
                      " JOIN ref_indicateur i ON i.code = k.indicateur"
                      " WHERE k.valeur IS NOT NULL AND (k.valeur < i.min OR k.valeur > i.max"
                      "  OR (i.unite = 'nb' AND abs(k.valeur - round(k.valeur)) > 1e-9))",
                      &st, run->err) < 0)
        return -1;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = col_text(st, 2);
        const struct cp_cat_ind *d = cp_run_ind(run, code);
        double v = sqlite3_column_double(st, 3);
        char val[96], mn[96] = "", mx[96] = "", detail[1024];
        struct cp_kv kv[5];

        if (!d || !cp_rule_applies(r, code))
            continue;
        cp_run_fmt(d->unit, v, val, sizeof val);
        if (d->has_min)
            cp_run_fmt(d->unit, d->min, mn, sizeof mn);
        if (d->has_max)
            cp_run_fmt(d->unit, d->max, mx, sizeof mx);
        if ((d->has_min && v < d->min) || (d->has_max && v > d->max)) {
            if (d->has_min && d->has_max)
                snprintf(detail, sizeof detail,
                         "%s (%s) vaut %s, hors des bornes du catalogue (de %s à %s) : "
                         "corrigez la valeur", code, d->label, val, mn, mx);
            else if (d->has_min)
                snprintf(detail, sizeof detail,
                         "%s (%s) vaut %s alors qu'il ne peut être inférieur à %s : "
                         "corrigez la valeur", code, d->label, val, mn);
            else
                snprintf(detail, sizeof detail,
                         "%s (%s) vaut %s alors qu'il ne peut dépasser %s : corrigez la valeur",
                         code, d->label, val, mx);
        } else {
            snprintf(detail, sizeof detail,
                     "%s (%s) vaut %s alors qu'un effectif est un nombre entier : "
                     "corrigez la valeur", code, d->label, val);
        }
        kv[0] = (struct cp_kv){"indicateur", code};
        kv[1] = (struct cp_kv){"libelle", d->label};
        kv[2] = (struct cp_kv){"valeur", val};
        kv[3] = (struct cp_kv){"min", mn};
        kv[4] = (struct cp_kv){"max", mx};
        rc = emit_one(run, r, col_text(st, 0), col_text(st, 1), code, 1, v, detail, kv, 5, NULL,
                      0);
    }
    if (rc == 0)
        rc = step_fail(run, s, "contrôle BORNES");
    sqlite3_finalize(st);
    return rc;
}

/* ---- RATIO -------------------------------------------------------------------------------- */

static int eval_ratio(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st;
    int s, rc = 0;

    if (cp_db_prepare(run->db,
                      "SELECT t.signataire, t.periode, i.code, t.valeur, n.valeur, d.valeur,"
                      " i.numerateur, i.denominateur"
                      " FROM ref_indicateur i JOIN cp_cur t ON t.indicateur = i.code"
                      " JOIN cp_cur n ON n.signataire = t.signataire AND n.periode = t.periode"
                      "  AND n.indicateur = i.numerateur"
                      " JOIN cp_cur d ON d.signataire = t.signataire AND d.periode = t.periode"
                      "  AND d.indicateur = i.denominateur"
                      " WHERE i.nature = 'ratio' AND t.valeur IS NOT NULL"
                      "  AND n.valeur IS NOT NULL AND d.valeur IS NOT NULL AND d.valeur <> 0",
                      &st, run->err) < 0)
        return -1;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sig = col_text(st, 0), *per = col_text(st, 1), *code = col_text(st, 2);
        const char *ncode = col_text(st, 6), *dcode = col_text(st, 7);
        const struct cp_cat_ind *d = cp_run_ind(run, code);
        double t = sqlite3_column_double(st, 3), n = sqlite3_column_double(st, 4),
               den = sqlite3_column_double(st, 5);
        int pct = d && strcmp(d->unit, "pct") == 0;
        double c = (pct ? 100.0 : 1.0) * n / den, gap = t - c;
        char val[96], calc[96], nv[96], dv[96], gp[96], tol[128], detail[1400];
        struct cp_kv kv[8];
        struct cp_fval extra[2];

        if (!d || !cp_rule_applies(r, code))
            continue;
        if (fabs(gap) <= r->tol_abs + r->tol_rel * fabs(c) + 1e-9)
            continue;
        cp_fmt_num_trim(c, 1, calc, sizeof calc);
        if (pct)
            strcat(calc, NBSP "%");
        cp_run_fmt("nb", n, nv, sizeof nv);
        cp_run_fmt("nb", den, dv, sizeof dv);
        cp_fmt_num_trim(fabs(gap), 1, gp, sizeof gp);
        if (pct)
            strcat(gp, fabs(gap) < 2 ? " point" : " points");
        tol_text(r, "nb", tol, sizeof tol);
        if (pct && r->tol_rel == 0)
            strcat(tol, r->tol_abs < 2 ? " point" : " points");
        if (pct && t <= 1 && c > 1) {
            char asfrac[96];

            cp_fmt_num_trim(t, 4, val, sizeof val);
            pct_text(t, asfrac, sizeof asfrac);
            snprintf(detail, sizeof detail,
                     "%s vaut %s : le taux semble saisi comme une fraction (%s) alors qu'il "
                     "s'exprime en pourcentage ; %s / %s donne %s (%s / %s) : indiquez %s",
                     code, val, asfrac, ncode, dcode, calc, nv, dv, calc);
        } else {
            cp_run_fmt(d->unit, t, val, sizeof val);
            snprintf(detail, sizeof detail,
                     "%s vaut %s alors que %s / %s donne %s (%s / %s), soit un écart de %s "
                     "(tolérance %s) : vérifiez le taux, son numérateur et son dénominateur",
                     code, val, ncode, dcode, calc, nv, dv, gp, tol);
        }
        kv[0] = (struct cp_kv){"indicateur", code};
        kv[1] = (struct cp_kv){"libelle", d->label};
        kv[2] = (struct cp_kv){"valeur", val};
        kv[3] = (struct cp_kv){"calcule", calc};
        kv[4] = (struct cp_kv){"numerateur", nv};
        kv[5] = (struct cp_kv){"denominateur", dv};
        kv[6] = (struct cp_kv){"ecart", gp};
        kv[7] = (struct cp_kv){"tolerance", tol};
        extra[0] = (struct cp_fval){sig, per, ncode, 1, n, 1, 0, NULL};
        extra[1] = (struct cp_fval){sig, per, dcode, 1, den, 1, 0, NULL};
        rc = emit_one(run, r, sig, per, code, 1, t, detail, kv, 8, extra, 2);
    }
    if (rc == 0)
        rc = step_fail(run, s, "contrôle RATIO");
    sqlite3_finalize(st);
    return rc;
}

/* ---- ANNUEL ------------------------------------------------------------------------------ */

static int eval_annuel(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st;
    int s, rc = 0;

    /* From the catalog's flux and the years (the planner scanned every
     * value and probed its S1 first), in the order of cp_cur. Only the
     * years whose gap is beyond the tolerance reach C, computed with the
     * same double operations as below (bound, not parsed). */
    if (cp_db_prepare(run->db,
                      "SELECT y.signataire, y.periode, y.indicateur, y.valeur, a.valeur, b.valeur"
                      " FROM ref_indicateur i CROSS JOIN cp_per p CROSS JOIN cp_cur y"
                      " CROSS JOIN cp_cur a CROSS JOIN cp_cur b"
                      " WHERE i.nature = 'flux' AND i.annuel_seul = 0 AND p.semestre = 0"
                      " AND y.indicateur = i.code AND y.periode = p.periode"
                      " AND a.signataire = y.signataire AND a.indicateur = y.indicateur"
                      " AND a.periode = y.periode || '-S1'"
                      " AND b.signataire = y.signataire AND b.indicateur = y.indicateur"
                      " AND b.periode = y.periode || '-S2'"
                      " AND y.valeur IS NOT NULL AND a.valeur IS NOT NULL AND b.valeur IS NOT NULL"
                      " AND abs(y.valeur - (a.valeur + b.valeur))"
                      "  > ?1 + ?2 * abs(a.valeur + b.valeur) + ?3"
                      " ORDER BY y.signataire, y.periode, y.indicateur",
                      &st, run->err) < 0)
        return -1;
    sqlite3_bind_double(st, 1, r->tol_abs);
    sqlite3_bind_double(st, 2, r->tol_rel);
    sqlite3_bind_double(st, 3, 1e-9);
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sig = col_text(st, 0), *per = col_text(st, 1), *code = col_text(st, 2);
        const struct cp_cat_ind *d = cp_run_ind(run, code);
        double y = sqlite3_column_double(st, 3), a = sqlite3_column_double(st, 4),
               b = sqlite3_column_double(st, 5), sum = a + b, gap = y - sum;
        char yv[96], av[96], bv[96], sv[96], gp[96], rel[96], tol[128], detail[1400];
        char s1[CP_PERIOD_STRLEN + 4], s2[CP_PERIOD_STRLEN + 4];
        struct cp_kv kv[8];
        struct cp_fval extra[2];

        if (!d || !cp_rule_applies(r, code))
            continue;
        if (fabs(gap) <= r->tol_abs + r->tol_rel * fabs(sum) + 1e-9)
            continue;
        snprintf(s1, sizeof s1, "%s-S1", per);
        snprintf(s2, sizeof s2, "%s-S2", per);
        cp_run_fmt(d->unit, y, yv, sizeof yv);
        cp_run_fmt(d->unit, a, av, sizeof av);
        cp_run_fmt(d->unit, b, bv, sizeof bv);
        cp_run_fmt(d->unit, sum, sv, sizeof sv);
        cp_run_fmt(d->unit, gap, gp, sizeof gp);
        if (sum != 0)
            pct_text(fabs(gap) / fabs(sum), rel, sizeof rel);
        else
            snprintf(rel, sizeof rel, "—");
        tol_text(r, d->unit, tol, sizeof tol);
        snprintf(detail, sizeof detail,
                 "%s vaut %s pour l'année %s alors que S1 + S2 = %s + %s = %s (écart %s, soit %s ; "
                 "tolérance %s) : l'année doit être la somme des deux semestres ; corrigez "
                 "l'année ou l'un des semestres",
                 code, yv, per, av, bv, sv, gp, rel, tol);
        kv[0] = (struct cp_kv){"indicateur", code};
        kv[1] = (struct cp_kv){"libelle", d->label};
        kv[2] = (struct cp_kv){"valeur", yv};
        kv[3] = (struct cp_kv){"s1", av};
        kv[4] = (struct cp_kv){"s2", bv};
        kv[5] = (struct cp_kv){"somme", sv};
        kv[6] = (struct cp_kv){"ecart", gp};
        kv[7] = (struct cp_kv){"tolerance", tol};
        extra[0] = (struct cp_fval){sig, s1, code, 1, a, 1, 0, NULL};
        extra[1] = (struct cp_fval){sig, s2, code, 1, b, 1, 0, NULL};
        rc = emit_one(run, r, sig, per, code, 1, y, detail, kv, 8, extra, 2);
    }
    if (rc == 0)
        rc = step_fail(run, s, "contrôle ANNUEL");
    sqlite3_finalize(st);
    return rc;
}

/* ---- COMPLETUDE ------------------------------------------------------------------------- */

static int eval_nothing_sent(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st;
    int s, rc = 0;

    /* releve: a period with data, and an indicator of the kind it expects
     * (yearly-only ones for a year, the others for a half-year); whether
     * anything came is the same for a whole group. */
    if (cp_db_prepare(run->db,
                      "SELECT a.signataire, a.periode, sum(a.obligatoire) FROM cp_attendu a"
                      " WHERE a.releve = 1"
                      " GROUP BY a.signataire, a.periode"
                      " HAVING NOT EXISTS (SELECT 1 FROM cp_cur k WHERE k.signataire = a.signataire"
                      "  AND k.periode = a.periode)"
                      " ORDER BY a.signataire, a.periode",
                      &st, run->err) < 0)
        return -1;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        char detail[600], nb[32];
        struct cp_kv kv[2];
        struct cp_finding f;
        int n = sqlite3_column_int(st, 2);

        snprintf(nb, sizeof nb, "%d", n);
        snprintf(detail, sizeof detail,
                 "aucune donnée reçue pour cette période alors que le signataire est attendu "
                 "(%d indicateur%s obligatoire%s) : envoyez le fichier de la période",
                 n, n > 1 ? "s" : "", n > 1 ? "s" : "");
        kv[0] = (struct cp_kv){"manquants", "toutes les données de la période"};
        kv[1] = (struct cp_kv){"nb_manquants", nb};
        f = (struct cp_finding){r, col_text(st, 0), col_text(st, 1), "", "", detail, kv, 2,
                                NULL, 0};
        rc = cp_run_emit(run, &f);
    }
    if (rc == 0)
        rc = step_fail(run, s, "contrôle COMPLETUDE");
    sqlite3_finalize(st);
    return rc;
}

struct missing {
    char sig[16], per[CP_PERIOD_STRLEN];
    struct cp_buf codes, vals, list;
    struct cp_fval *fv;
    char (*keys)[CP_CODE_MAX];
    size_t n, cap;
};

static void missing_reset(struct missing *m)
{
    cp_buf_reset(&m->codes);
    cp_buf_reset(&m->vals);
    cp_buf_reset(&m->list);
    m->n = 0;
}

static int missing_flush(struct cp_run *run, const struct cp_rule *r, struct missing *m)
{
    char detail[CP_ERR_MSG_MAX * 2], nb[32];
    struct cp_kv kv[2];
    struct cp_finding f;

    if (!m->n)
        return 0;
    for (size_t i = 0; i < m->n; i++) {
        m->fv[i].sig = m->sig;
        m->fv[i].per = m->per;
        m->fv[i].ind = m->keys[i];
    }
    snprintf(nb, sizeof nb, "%zu", m->n);
    snprintf(detail, sizeof detail,
             "indicateur%s obligatoire%s manquant%s : %s ; complétez le fichier de la période",
             m->n > 1 ? "s" : "", m->n > 1 ? "s" : "", m->n > 1 ? "s" : "",
             cp_buf_str(&m->list));
    kv[0] = (struct cp_kv){"manquants", cp_buf_str(&m->list)};
    kv[1] = (struct cp_kv){"nb_manquants", nb};
    f = (struct cp_finding){r, m->sig, m->per, cp_buf_str(&m->codes), cp_buf_str(&m->vals),
                            detail, kv, 2, m->fv, m->n};
    return cp_run_emit(run, &f);
}

static int eval_completude(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st = NULL;
    struct missing m;
    int s, rc = -1;

    memset(&m, 0, sizeof m);
    cp_buf_init(&m.codes, 1 << 16);
    cp_buf_init(&m.vals, 1 << 16);
    cp_buf_init(&m.list, 1 << 16);
    if (!r->only && eval_nothing_sent(run, r) < 0)
        goto out;
    if (cp_db_prepare(run->db,
                      /* releve as above, rang the catalog order; whether the
                       * signatory sent anything for the period is asked only
                       * of the keys found missing (materialised first). */
                      "WITH m AS MATERIALIZED (SELECT a.signataire, a.periode, a.indicateur,"
                      "  a.rang, k.valeur_id IS NOT NULL AS sent, k.manquant FROM cp_attendu a"
                      "  LEFT JOIN cp_cur k ON k.signataire = a.signataire"
                      "   AND k.periode = a.periode AND k.indicateur = a.indicateur"
                      "  WHERE a.obligatoire = 1 AND a.releve = 1"
                      "  AND (k.valeur_id IS NULL OR (k.valeur IS NULL"
                      "   AND coalesce(k.manquant, '') <> 'SO' AND ?1)))"
                      " SELECT m.signataire, m.periode, m.indicateur, m.sent, m.manquant FROM m"
                      " WHERE EXISTS (SELECT 1 FROM cp_cur x WHERE x.signataire = m.signataire"
                      "  AND x.periode = m.periode)"
                      " ORDER BY m.signataire, m.periode, m.rang",
                      &st, run->err) < 0)
        goto out;
    sqlite3_bind_int(st, 1, !r->nc_present);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sig = col_text(st, 0), *per = col_text(st, 1), *code = col_text(st, 2);
        int sent = sqlite3_column_int(st, 3);

        if (!cp_rule_applies(r, code))
            continue;
        if (strcmp(sig, m.sig) != 0 || strcmp(per, m.per) != 0) {
            if (missing_flush(run, r, &m) < 0)
                goto out;
            missing_reset(&m);
            snprintf(m.sig, sizeof m.sig, "%s", sig);
            snprintf(m.per, sizeof m.per, "%s", per);
        }
        if (m.n == m.cap) {
            size_t ncap = m.cap ? m.cap * 2 : 16;
            void *a = realloc(m.fv, ncap * sizeof *m.fv), *b;

            if (!a)
                goto nomem;
            m.fv = a;
            b = realloc(m.keys, ncap * sizeof *m.keys);
            if (!b)
                goto nomem;
            m.keys = b;
            m.cap = ncap;
        }
        snprintf(m.keys[m.n], sizeof m.keys[m.n], "%s", code);
        m.fv[m.n] = (struct cp_fval){NULL, NULL, NULL, 0, 0, sent, 0, NULL};
        cp_buf_addf(&m.codes, "%s%s", m.n ? "," : "", code);
        cp_buf_addf(&m.vals, "%s%s", m.n ? "|" : "", sent ? "NC" : "");
        cp_buf_addf(&m.list, "%s%s (%s)", m.n ? ", " : "", code,
                    sent ? "déclaré non communiqué" : "non transmis");
        m.n++;
    }
    if (step_fail(run, s, "contrôle COMPLETUDE") < 0 || missing_flush(run, r, &m) < 0)
        goto out;
    rc = 0;
    goto out;
nomem:
    cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
out:
    sqlite3_finalize(st);
    cp_buf_release(&m.codes);
    cp_buf_release(&m.vals);
    cp_buf_release(&m.list);
    free(m.fv);
    free(m.keys);
    return rc;
}

/* ---- DOUBLON ------------------------------------------------------------------------------ */

static int eval_doublon(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st;
    int s, rc = 0;
    char key[256] = "", sig[16] = "", per[CP_PERIOD_STRLEN] = "", ind[CP_CODE_MAX] = "",
         file[512] = "";
    struct cp_fval fv[16];
    char where[16][64];
    struct cp_buf list = CP_BUF_INIT(8192);
    size_t n = 0;

    if (cp_db_prepare(run->db,
                      "SELECT r.signataire, r.periode, r.indicateur, f.id, f.nom, r.emplacement,"
                      " r.brut FROM rejet r JOIN fichier f ON f.id = r.fichier_id"
                      " WHERE r.code = 'doublon' AND r.signataire IS NOT NULL"
                      "  AND r.periode IS NOT NULL AND r.indicateur IS NOT NULL"
                      "  AND f.statut IN ('accepte', 'accepte_partiel')"
                      "  AND NOT EXISTS (SELECT 1 FROM courant c WHERE c.signataire = r.signataire"
                      "   AND c.periode = r.periode AND c.indicateur = r.indicateur"
                      "   AND c.rang > f.recu_le || '|' || f.nom)"
                      "  AND NOT EXISTS (SELECT 1 FROM rejet r2 JOIN fichier f2"
                      "   ON f2.id = r2.fichier_id WHERE r2.code = 'doublon'"
                      "   AND r2.signataire = r.signataire AND r2.periode = r.periode"
                      "   AND r2.indicateur = r.indicateur"
                      "   AND f2.statut IN ('accepte', 'accepte_partiel')"
                      "   AND f2.recu_le || '|' || f2.nom > f.recu_le || '|' || f.nom)"
                      " ORDER BY r.signataire, r.periode, r.indicateur, r.id",
                      &st, run->err) < 0)
        return -1;
    for (;;) {
        char k[256];
        int row = (s = sqlite3_step(st)) == SQLITE_ROW;

        if (row)
            snprintf(k, sizeof k, "%s|%s|%s", col_text(st, 0), col_text(st, 1), col_text(st, 2));
        if ((!row || strcmp(k, key) != 0) && n) {
            char detail[2048];
            struct cp_kv kv[4];
            const struct cp_cat_ind *d = cp_run_ind(run, ind);
            struct cp_finding f;

            snprintf(detail, sizeof detail,
                     "%s : deux valeurs différentes dans le même fichier « %s » (%s) : aucune "
                     "n'est retenue ; renvoyez le fichier avec une seule valeur",
                     ind, file, cp_buf_str(&list));
            kv[0] = (struct cp_kv){"indicateur", ind};
            kv[1] = (struct cp_kv){"libelle", d ? d->label : ind};
            kv[2] = (struct cp_kv){"fichier", file};
            kv[3] = (struct cp_kv){"emplacements", cp_buf_str(&list)};
            f = (struct cp_finding){r, sig, per, ind, "", detail, kv, 4, fv, n};
            if (cp_rule_applies(r, ind) && (rc = cp_run_emit(run, &f)) < 0)
                break;
            n = 0;
            cp_buf_reset(&list);
        }
        if (!row)
            break;
        if (n == 0) {
            snprintf(key, sizeof key, "%s", k);
            snprintf(sig, sizeof sig, "%s", col_text(st, 0));
            snprintf(per, sizeof per, "%s", col_text(st, 1));
            snprintf(ind, sizeof ind, "%s", col_text(st, 2));
            snprintf(file, sizeof file, "%s", col_text(st, 4));
        }
        if (n < sizeof fv / sizeof fv[0]) {
            snprintf(where[n], sizeof where[n], "%s", col_text(st, 5));
            fv[n] = (struct cp_fval){sig, per, ind, 0, 0, 0, sqlite3_column_int64(st, 3),
                                     where[n]};
            cp_buf_addf(&list, "%s%s : « %s »", n ? " ; " : "", col_text(st, 5), col_text(st, 6));
            n++;
        }
    }
    if (rc == 0)
        rc = step_fail(run, s, "contrôle DOUBLON");
    sqlite3_finalize(st);
    cp_buf_release(&list);
    return rc;
}

/* ---- EVOLUTION ---------------------------------------------------------------------------- */

static int unit_index(const char *unit)
{
    return strcmp(unit, "pct") == 0 ? 1 : strcmp(unit, "jours") == 0 ? 2
                                      : strcmp(unit, "eur") == 0  ? 3
                                                                  : 0;
}

static int evolution_hit(const struct cp_rule *r, const char *unit, double v, double prev)
{
    double gap = fabs(v - prev);

    if (gap <= r->plancher[unit_index(unit)] + 1e-9)
        return 0;
    return prev == 0 ? 1 : gap > r->seuil * fabs(prev) + 1e-9;
}

static int emit_evolution(struct cp_run *run, const struct cp_rule *r, const char *sig,
                          const char *per, const char *prevper, const char *code, double v,
                          double prev, const char *from, const struct cp_fval *extra,
                          size_t nextra)
{
    const struct cp_cat_ind *d = cp_run_ind(run, code);
    char val[96], pv[96], ev[96], seuil[96], detail[1400];
    struct cp_kv kv[7];

    cp_run_fmt(d->unit, v, val, sizeof val);
    cp_run_fmt(d->unit, prev, pv, sizeof pv);
    if (prev != 0) {
        char b[CP_FMT_MAX];

        cp_fmt_num_trim((v - prev) / fabs(prev) * 100, 0, b, sizeof b);
        snprintf(ev, sizeof ev, "%s%s" NBSP "%%", v > prev ? "+" : "", b);
    } else {
        snprintf(ev, sizeof ev, "hausse depuis zéro");
    }
    pct_text(r->seuil, seuil, sizeof seuil);
    snprintf(detail, sizeof detail,
             "%s passe de %s en %s%s à %s en %s (%s ; seuil ±%s) : confirmez la valeur ou "
             "corrigez-la",
             code, pv, prevper, from, val, per, ev, seuil);
    kv[0] = (struct cp_kv){"indicateur", code};
    kv[1] = (struct cp_kv){"libelle", d->label};
    kv[2] = (struct cp_kv){"valeur", val};
    kv[3] = (struct cp_kv){"precedent", pv};
    kv[4] = (struct cp_kv){"periode_precedente", prevper};
    kv[5] = (struct cp_kv){"evolution", ev};
    kv[6] = (struct cp_kv){"seuil", seuil};
    return emit_one(run, r, sig, per, code, 1, v, detail, kv, 7, extra, nextra);
}

/* A signatory that did not exist one year earlier (6AE in 2021): compare
 * with the signatories in force then on its territory (67D + 68D), summed
 * for flux and stock, recomputed for ratios and averages. */
static int evolution_successors(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st = NULL, *pr = NULL;
    int s, rc = -1;

    if (cp_db_prepare(run->db,
                      /* From the few signatories with predecessors, rather
                       * than every value probed against cp_pred; in the
                       * order of cp_cur (each period has its own year
                       * before, so no value comes twice). */
                      "SELECT c.signataire, c.periode, c.indicateur, c.valeur, p.prec"
                      " FROM (SELECT DISTINCT signataire, periode FROM cp_pred) x"
                      " CROSS JOIN cp_per p CROSS JOIN cp_cur c"
                      " JOIN ref_indicateur i ON i.code = c.indicateur"
                      " WHERE p.prec = x.periode AND c.signataire = x.signataire"
                      " AND c.periode = p.periode AND c.valeur IS NOT NULL"
                      " ORDER BY c.signataire, c.periode, c.indicateur",
                      &st, run->err) < 0 ||
        cp_db_prepare(run->db,
                      "SELECT x.pred, v.valeur, n.valeur, d.valeur, w.valeur FROM cp_pred x"
                      " LEFT JOIN cp_cur v ON v.signataire = x.pred AND v.periode = x.periode"
                      "  AND v.indicateur = ?3"
                      " LEFT JOIN cp_cur n ON n.signataire = x.pred AND n.periode = x.periode"
                      "  AND n.indicateur = ?4"
                      " LEFT JOIN cp_cur d ON d.signataire = x.pred AND d.periode = x.periode"
                      "  AND d.indicateur = ?5"
                      " LEFT JOIN cp_cur w ON w.signataire = x.pred AND w.periode = x.periode"
                      "  AND w.indicateur = ?6"
                      " WHERE x.signataire = ?1 AND x.periode = ?2 ORDER BY x.pred",
                      &pr, run->err) < 0)
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sig = col_text(st, 0), *per = col_text(st, 1), *code = col_text(st, 2),
                   *prevper = col_text(st, 4);
        const struct cp_cat_ind *d = cp_run_ind(run, code);
        double v = sqlite3_column_double(st, 3), sum = 0, sn = 0, sd = 0, sw = 0, svw = 0, prev;
        int ok = 1, npred = 0, ratio, moy;
        char preds[128] = "", from[160];
        struct cp_fval extra[3];
        char names[3][16];
        size_t nextra = 0;

        if (!d || !cp_rule_applies(r, code))
            continue;
        ratio = strcmp(d->nature, "ratio") == 0 && d->num[0] && d->den[0];
        moy = strcmp(d->nature, "moyenne") == 0 && d->poids[0];
        sqlite3_bind_text(pr, 1, sig, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(pr, 2, prevper, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(pr, 3, code, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(pr, 4, d->num, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(pr, 5, d->den, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(pr, 6, d->poids, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(pr) == SQLITE_ROW) {
            if (ratio)
                ok &= has_col(pr, 2) && has_col(pr, 3);
            else if (moy)
                ok &= has_col(pr, 1) && has_col(pr, 4);
            else
                ok &= has_col(pr, 1);
            sum += sqlite3_column_double(pr, 1);
            sn += sqlite3_column_double(pr, 2);
            sd += sqlite3_column_double(pr, 3);
            sw += sqlite3_column_double(pr, 4);
            svw += sqlite3_column_double(pr, 1) * sqlite3_column_double(pr, 4);
            snprintf(preds + strlen(preds), sizeof preds - strlen(preds), "%s%s",
                     npred ? " + " : "", col_text(pr, 0));
            if (nextra < 3 && has_col(pr, 1)) {
                snprintf(names[nextra], sizeof names[nextra], "%s", col_text(pr, 0));
                extra[nextra] = (struct cp_fval){names[nextra], prevper, code, 1,
                                                 sqlite3_column_double(pr, 1), 1, 0, NULL};
                nextra++;
            }
            npred++;
        }
        sqlite3_reset(pr);
        sqlite3_clear_bindings(pr);
        if (!ok || !npred)
            continue;
        if (ratio) {
            if (sd == 0)
                continue;
            prev = (strcmp(d->unit, "pct") == 0 ? 100.0 : 1.0) * sn / sd;
        } else if (moy) {
            if (sw == 0)
                continue;
            prev = svw / sw;
        } else {
            prev = sum;
        }
        if (!evolution_hit(r, d->unit, v, prev))
            continue;
        snprintf(from, sizeof from, " (%s)", preds);
        if (emit_evolution(run, r, sig, per, prevper, code, v, prev, from, extra, nextra) < 0)
            goto out;
    }
    if (step_fail(run, s, "contrôle EVOLUTION") < 0)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(pr);
    return rc;
}

static int eval_evolution(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st;
    int s, rc = 0;
    double lowest = r->plancher[0] + 1e-9;

    for (int u = 1; u < 4; u++)
        if (r->plancher[u] + 1e-9 < lowest)
            lowest = r->plancher[u] + 1e-9;
    /* Only the pairs evolution_hit could keep reach C: a gap above the
     * lowest floor, and above the threshold unless the year before is 0,
     * computed with the same double operations (bound, not parsed). Every
     * value in force has its catalog row (cp_cur is built from it). */
    if (cp_db_prepare(run->db,
                      "SELECT c.signataire, c.periode, c.indicateur, c.valeur, q.valeur, p.prec"
                      " FROM cp_cur c JOIN cp_per p ON p.periode = c.periode"
                      " JOIN cp_cur q ON q.signataire = c.signataire AND q.periode = p.prec"
                      "  AND q.indicateur = c.indicateur"
                      " WHERE c.valeur IS NOT NULL AND q.valeur IS NOT NULL"
                      " AND abs(c.valeur - q.valeur) > ?1 AND (q.valeur = 0"
                      "  OR abs(c.valeur - q.valeur) > ?2 * abs(q.valeur) + ?3)",
                      &st, run->err) < 0)
        return -1;
    sqlite3_bind_double(st, 1, lowest);
    sqlite3_bind_double(st, 2, r->seuil);
    sqlite3_bind_double(st, 3, 1e-9);
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sig = col_text(st, 0), *per = col_text(st, 1), *code = col_text(st, 2),
                   *prevper = col_text(st, 5);
        const struct cp_cat_ind *d = cp_run_ind(run, code);
        double v = sqlite3_column_double(st, 3), prev = sqlite3_column_double(st, 4);
        struct cp_fval extra[1];

        if (!d || !cp_rule_applies(r, code) || !evolution_hit(r, d->unit, v, prev))
            continue;
        extra[0] = (struct cp_fval){sig, prevper, code, 1, prev, 1, 0, NULL};
        rc = emit_evolution(run, r, sig, per, prevper, code, v, prev, "", extra, 1);
    }
    if (rc == 0)
        rc = step_fail(run, s, "contrôle EVOLUTION");
    sqlite3_finalize(st);
    return rc < 0 ? -1 : evolution_successors(run, r);
}

/* ---- ATYPIQUE ----------------------------------------------------------------------------- */

struct obs {
    char sig[16];
    char region[8];
    double v;
};

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median and MAD of the values; -1 when memory is short. */
static int robust(const double *x, size_t n, double *med, double *mad)
{
    double *t = malloc((n ? n : 1) * sizeof *t);

    if (!t)
        return -1;
    memcpy(t, x, n * sizeof *t);
    *med = median(t, n);
    for (size_t i = 0; i < n; i++)
        t[i] = fabs(x[i] - *med);
    *mad = median(t, n);
    free(t);
    return 0;
}

static int atypique_group(struct cp_run *run, const struct cp_rule *r, const char *code,
                          const char *per, char type, const struct obs *o, size_t n)
{
    const struct cp_cat_ind *d = cp_run_ind(run, code);
    double *x = malloc((n ? n : 1) * sizeof *x), nmed = 0, nmad = 0;
    int rc = -1, national_ok;
    const char *group = type == 'D' ? "départements" : type == 'M' ? "métropoles" : "régions";

    if (!x)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        x[i] = o[i].v;
    national_ok = n >= (size_t)r->pairs_min;
    if (national_ok && robust(x, n, &nmed, &nmad) < 0)
        goto nomem;
    for (size_t a = 0; a < n;) {
        size_t b = a, m;
        double med, mad;
        int regional;

        while (b < n && strcmp(o[b].region, o[a].region) == 0)
            b++;
        m = b - a;
        regional = m >= (size_t)r->pairs_min;
        if (regional) {
            if (robust(x + a, m, &med, &mad) < 0)
                goto nomem;
        } else if (national_ok) {
            med = nmed;
            mad = nmad;
        } else {
            a = b;
            continue;
        }
        for (size_t i = a; i < b && mad > 0; i++) {
            double z = 0.6745 * (o[i].v - med) / mad;
            char val[96], md[96], zs[CP_FMT_MAX], th[CP_FMT_MAX], cmpw[160], peers[32],
                detail[1400];
            struct cp_kv kv[8];

            if (fabs(z) <= r->seuil)
                continue;
            cp_run_fmt(d->unit, o[i].v, val, sizeof val);
            cp_run_fmt(d->unit, med, md, sizeof md);
            cp_fmt_num_trim(z, 1, zs, sizeof zs);
            cp_fmt_num_trim(r->seuil, 2, th, sizeof th);
            snprintf(cmpw, sizeof cmpw, "%s %s", group, regional ? "de la région" : "de France");
            snprintf(peers, sizeof peers, "%zu", regional ? m : n);
            snprintf(detail, sizeof detail,
                     "%s vaut %s, très loin des autres %s (médiane %s sur %s signataires ; "
                     "score robuste %s, seuil %s) : vérifiez la valeur et sa définition",
                     code, val, cmpw, md, peers, zs, th);
            kv[0] = (struct cp_kv){"indicateur", code};
            kv[1] = (struct cp_kv){"libelle", d->label};
            kv[2] = (struct cp_kv){"valeur", val};
            kv[3] = (struct cp_kv){"mediane", md};
            kv[4] = (struct cp_kv){"score", zs};
            kv[5] = (struct cp_kv){"seuil", th};
            kv[6] = (struct cp_kv){"comparaison", cmpw};
            kv[7] = (struct cp_kv){"pairs", peers};
            if (emit_one(run, r, o[i].sig, per, code, 1, o[i].v, detail, kv, 8, NULL, 0) < 0)
                goto out;
        }
        a = b;
    }
    rc = 0;
    goto out;
nomem:
    cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
out:
    free(x);
    return rc;
}

static int eval_atypique(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st;
    struct obs *o = NULL;
    size_t n = 0, cap = 0;
    char code[CP_CODE_MAX] = "", per[CP_PERIOD_STRLEN] = "", type = 0;
    int s, rc = -1;

    if (cp_db_prepare(run->db,
                      /* From the catalog: only the natures the rule compares are
                       * read (the planner would otherwise scan every value). */
                      "SELECT c.indicateur, c.periode, s.type, s.region, c.signataire, c.valeur"
                      " FROM ref_indicateur i CROSS JOIN cp_cur c"
                      " JOIN ref_signataire s ON s.code = c.signataire"
                      " WHERE c.indicateur = i.code AND c.valeur IS NOT NULL"
                      " AND ((i.nature = 'flux' AND ?1)"
                      "  OR (i.nature = 'stock' AND ?2) OR (i.nature = 'ratio' AND ?3)"
                      "  OR (i.nature = 'moyenne' AND ?4))"
                      " ORDER BY c.indicateur, c.periode, s.type, s.region, c.signataire",
                      &st, run->err) < 0)
        return -1;
    sqlite3_bind_int(st, 1, (r->natures & CP_NATMASK_FLUX) != 0);
    sqlite3_bind_int(st, 2, (r->natures & CP_NATMASK_STOCK) != 0);
    sqlite3_bind_int(st, 3, (r->natures & CP_NATMASK_RATIO) != 0);
    sqlite3_bind_int(st, 4, (r->natures & CP_NATMASK_MOYENNE) != 0);
    for (;;) {
        int row = (s = sqlite3_step(st)) == SQLITE_ROW;
        const char *c = row ? col_text(st, 0) : "", *p = row ? col_text(st, 1) : "";
        char t = row ? col_text(st, 2)[0] : 0;

        if ((!row || strcmp(c, code) != 0 || strcmp(p, per) != 0 || t != type) && n) {
            if (cp_rule_applies(r, code) && atypique_group(run, r, code, per, type, o, n) < 0)
                goto out;
            n = 0;
        }
        if (!row)
            break;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 128;
            struct obs *w = realloc(o, ncap * sizeof *w);

            if (!w) {
                cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
                goto out;
            }
            o = w;
            cap = ncap;
        }
        snprintf(code, sizeof code, "%s", c);
        snprintf(per, sizeof per, "%s", p);
        type = t;
        snprintf(o[n].region, sizeof o[n].region, "%s", col_text(st, 3));
        snprintf(o[n].sig, sizeof o[n].sig, "%s", col_text(st, 4));
        o[n].v = sqlite3_column_double(st, 5);
        n++;
    }
    if (step_fail(run, s, "contrôle ATYPIQUE") < 0)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(st);
    free(o);
    return rc;
}

/* ---- CIBLE ------------------------------------------------------------------------------- */

static int eval_cible(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st;
    int s, rc = 0;

    if (cp_db_prepare(run->db,
                      "SELECT c.signataire, c.periode, c.indicateur, c.valeur, c.cible"
                      " FROM cp_cur c JOIN ref_indicateur i ON i.code = c.indicateur"
                      " WHERE c.valeur IS NOT NULL AND c.cible IS NOT NULL AND c.cible > 0",
                      &st, run->err) < 0)
        return -1;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *code = col_text(st, 2);
        const struct cp_cat_ind *d = cp_run_ind(run, code);
        double v = sqlite3_column_double(st, 3), t = sqlite3_column_double(st, 4), a = v / t;
        int baisse;
        char val[96], cv[96], at[96], th[96], detail[1400];
        struct cp_kv kv[5];

        if (!d || !cp_rule_applies(r, code))
            continue;
        baisse = strcmp(d->sens, "baisse") == 0;
        if (baisse ? a <= r->haut + 1e-12 : a >= r->bas - 1e-12)
            continue;
        cp_run_fmt(d->unit, v, val, sizeof val);
        cp_run_fmt(d->unit, t, cv, sizeof cv);
        pct_text(a, at, sizeof at);
        pct_text(baisse ? r->haut : r->bas, th, sizeof th);
        if (baisse)
            snprintf(detail, sizeof detail,
                     "%s vaut %s pour une cible de %s à ne pas dépasser, soit %s de la cible "
                     "(au-delà de %s)", code, val, cv, at, th);
        else
            snprintf(detail, sizeof detail,
                     "%s vaut %s pour une cible de %s, soit %s de la cible (moins de %s)", code,
                     val, cv, at, th);
        kv[0] = (struct cp_kv){"indicateur", code};
        kv[1] = (struct cp_kv){"libelle", d->label};
        kv[2] = (struct cp_kv){"valeur", val};
        kv[3] = (struct cp_kv){"cible", cv};
        kv[4] = (struct cp_kv){"atteinte", at};
        rc = emit_one(run, r, col_text(st, 0), col_text(st, 1), code, 1, v, detail, kv, 5, NULL,
                      0);
    }
    if (rc == 0)
        rc = step_fail(run, s, "contrôle CIBLE");
    sqlite3_finalize(st);
    return rc;
}

/* ---- HORS_DELAI --------------------------------------------------------------------------- */

static int eval_hors_delai(struct cp_run *run, const struct cp_rule *r)
{
    sqlite3_stmt *st;
    int s, rc = 0;

    /* The first reception of figures for the period: a correction sent
     * after the deadline does not make a signatory late. Each accepted
     * file's rank (recu_le|nom) is built once (cp_fk), not once per value;
     * the plan is the same (values by valeur_cle, then their file), so a
     * tie picks the same file. */
    if (cp_run_exec(run, "DROP TABLE IF EXISTS temp.cp_fk;"
                         "CREATE TEMP TABLE cp_fk(id INTEGER PRIMARY KEY, recu_le, nom, rang);"
                         "INSERT INTO cp_fk SELECT id, recu_le, nom, recu_le || '|' || nom"
                         " FROM fichier WHERE statut IN ('accepte', 'accepte_partiel')") < 0 ||
        cp_db_prepare(run->db,
                      "SELECT x.signataire, x.periode, x.recu_le, x.nom, x.id, p.echeance FROM"
                      " (SELECT v.signataire, v.periode, f.recu_le, f.nom, f.id, min(f.rang)"
                      "  FROM valeur v JOIN cp_fk f ON f.id = v.fichier_id"
                      "  GROUP BY v.signataire, v.periode) x"
                      " JOIN cp_per p ON p.periode = x.periode"
                      " WHERE substr(x.recu_le, 1, 10) > p.echeance",
                      &st, run->err) < 0)
        return -1;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sig = col_text(st, 0), *per = col_text(st, 1);
        char recu[16], due[16], detail[1400];
        struct cp_kv kv[3];
        struct cp_fval fv[1];
        struct cp_finding f;

        if (!cp_run_sig(run, sig))
            continue;
        cp_fmt_date(col_text(st, 2), recu, sizeof recu);
        cp_fmt_date(col_text(st, 5), due, sizeof due);
        snprintf(detail, sizeof detail,
                 "premières données de la période reçues le %s (fichier « %s »), après "
                 "l'échéance du %s", recu, col_text(st, 3), due);
        kv[0] = (struct cp_kv){"recu_le", recu};
        kv[1] = (struct cp_kv){"echeance", due};
        kv[2] = (struct cp_kv){"fichier", col_text(st, 3)};
        fv[0] = (struct cp_fval){sig, per, NULL, 0, 0, 0, sqlite3_column_int64(st, 4), NULL};
        f = (struct cp_finding){r, sig, per, "", "", detail, kv, 3, fv, 1};
        rc = cp_run_emit(run, &f);
    }
    if (rc == 0)
        rc = step_fail(run, s, "contrôle HORS_DELAI");
    sqlite3_finalize(st);
    return rc;
}

/* ---- all rules ------------------------------------------------------------------------------ */

int cp_checks_run(struct cp_run *run, struct cp_consolidate_stats *stats)
{
    for (size_t i = 0; i < run->rules->n; i++) {
        const struct cp_rule *r = &run->rules->v[i];
        size_t before = run->rules->nprob;
        int rc;

        switch (r->kind) {
        case CP_RULE_RELATION: rc = eval_relation(run, r); break;
        case CP_RULE_BORNES: rc = eval_bornes(run, r); break;
        case CP_RULE_RATIO: rc = eval_ratio(run, r); break;
        case CP_RULE_ANNUEL: rc = eval_annuel(run, r); break;
        case CP_RULE_COMPLETUDE: rc = eval_completude(run, r); break;
        case CP_RULE_DOUBLON: rc = eval_doublon(run, r); break;
        case CP_RULE_EVOLUTION: rc = eval_evolution(run, r); break;
        case CP_RULE_ATYPIQUE: rc = eval_atypique(run, r); break;
        case CP_RULE_CIBLE: rc = eval_cible(run, r); break;
        case CP_RULE_HORS_DELAI: rc = eval_hors_delai(run, r); break;
        default: rc = 0; break;
        }
        if (rc < 0) {
            cp_err_prefix(run->err, "règle %s (ligne %u) : ", r->id, r->line);
            return -1;
        }
        if (stats && run->rules->nprob == before)
            stats->rules++;
    }
    return 0;
}
