/*
 * The run context shared by the consolidate modules (see internal.h):
 * catalog and signatories from the ref_* tables, French formatting of
 * values, and the staging of findings with their expanded messages.
 */
#include "consolidate/internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/fmt.h"

#define NBSP "\xC2\xA0"

int cp_run_dbfail(struct cp_run *run, const char *what)
{
    return cp_db_fail(run->db, run->err, what);
}

int cp_run_exec(struct cp_run *run, const char *sql)
{
    if (sqlite3_exec(run->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return cp_run_dbfail(run, "consolidation");
    return 0;
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return strdup(t ? t : "");
}

static void copy_col(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    snprintf(out, n, "%s", t ? t : "");
}

static int load_catalog(struct cp_run *run)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = -1, s;

    if (cp_db_prepare(run->db,
                      "SELECT code, libelle, unite, nature, numerateur, denominateur, poids,"
                      " min, max, sens, annuel_seul FROM ref_indicateur ORDER BY rang, code",
                      &st, run->err) < 0)
        return -1;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct cp_cat_ind *d;

        if (run->nind == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct cp_cat_ind *v = realloc(run->ind, ncap * sizeof *v);

            if (!v)
                goto nomem;
            run->ind = v;
            cap = ncap;
        }
        d = &run->ind[run->nind];
        memset(d, 0, sizeof *d);
        copy_col(st, 0, d->code, sizeof d->code);
        if (!(d->label = dup_col(st, 1)))
            goto nomem;
        run->nind++;
        copy_col(st, 2, d->unit, sizeof d->unit);
        copy_col(st, 3, d->nature, sizeof d->nature);
        copy_col(st, 4, d->num, sizeof d->num);
        copy_col(st, 5, d->den, sizeof d->den);
        copy_col(st, 6, d->poids, sizeof d->poids);
        d->has_min = sqlite3_column_type(st, 7) != SQLITE_NULL;
        d->min = sqlite3_column_double(st, 7);
        d->has_max = sqlite3_column_type(st, 8) != SQLITE_NULL;
        d->max = sqlite3_column_double(st, 8);
        copy_col(st, 9, d->sens, sizeof d->sens);
        d->yearly_only = sqlite3_column_int(st, 10);
    }
    if (s != SQLITE_DONE) {
        cp_run_dbfail(run, "lecture du catalogue");
        goto out;
    }
    run->codes = calloc(run->nind ? run->nind : 1, sizeof *run->codes);
    if (!run->codes)
        goto nomem;
    for (size_t i = 0; i < run->nind; i++)
        run->codes[i] = run->ind[i].code;
    rc = 0;
    goto out;
nomem:
    cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
out:
    sqlite3_finalize(st);
    return rc;
}

static int load_signatories(struct cp_run *run)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = -1, s;

    if (cp_db_prepare(run->db, "SELECT code, nom, type, region FROM ref_signataire ORDER BY code",
                      &st, run->err) < 0)
        return -1;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct cp_cat_sig *g;
        const char *type = (const char *)sqlite3_column_text(st, 2);

        if (run->nsig == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            struct cp_cat_sig *v = realloc(run->sig, ncap * sizeof *v);

            if (!v)
                goto nomem;
            run->sig = v;
            cap = ncap;
        }
        g = &run->sig[run->nsig];
        memset(g, 0, sizeof *g);
        copy_col(st, 0, g->code, sizeof g->code);
        if (!(g->name = dup_col(st, 1)))
            goto nomem;
        run->nsig++;
        g->type = type ? type[0] : '?';
        copy_col(st, 3, g->region, sizeof g->region);
    }
    if (s != SQLITE_DONE) {
        cp_run_dbfail(run, "lecture des signataires");
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
out:
    sqlite3_finalize(st);
    return rc;
}

/* cp_hash(v, ...): a 31-bit FNV-1a of the arguments (their type and
 * stored bytes, no conversion to text), to compare groups of rows through
 * sums of hashes (see agg.c). */
static void sql_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    uint32_t h = 2166136261u;

    for (int i = 0; i < argc; i++) {
        unsigned char b[8];
        const unsigned char *t = b;
        int n = 0, type = sqlite3_value_type(argv[i]);

        if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
            double d = sqlite3_value_double(argv[i]);

            memcpy(b, &d, sizeof b); /* 1 and 1.0 hash alike */
            n = 8;
        } else if (type != SQLITE_NULL) {
            t = sqlite3_value_text(argv[i]);
            n = sqlite3_value_bytes(argv[i]);
        }
        h = (h ^ (unsigned)type) * 16777619u;
        for (int k = 0; k < n; k++)
            h = (h ^ t[k]) * 16777619u;
    }
    h ^= h >> 15;
    h *= 0x2c1b3c6dU;
    h ^= h >> 12;
    sqlite3_result_int64(ctx, (sqlite3_int64)(h & 0x7FFFFFFFu));
}

int cp_run_init(struct cp_run *run, sqlite3 *db, struct cp_err *err)
{
    memset(run, 0, sizeof *run);
    run->db = db;
    run->err = err;
    cp_buf_init(&run->msg, 1 << 16);
    cp_buf_init(&run->tmp, 1 << 16);
    cp_db_now(run->now);
    if (sqlite3_create_function(db, "cp_hash", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                sql_hash, NULL, NULL) != SQLITE_OK)
        return cp_run_dbfail(run, "fonction cp_hash");
    if (load_catalog(run) < 0 || load_signatories(run) < 0)
        return -1;
    if (run->nind == 0 || run->nsig == 0)
        return cp_err_set(err, CP_EX_CONFIG, "ref_absent", NULL,
                          "la base ne contient pas les données de référence (catalogue, "
                          "signataires) : lancez d'abord calpae-ingest ou indiquez --data");
    return 0;
}

void cp_run_release(struct cp_run *run)
{
    for (size_t i = 0; i < run->nind; i++)
        free(run->ind[i].label);
    for (size_t i = 0; i < run->nsig; i++)
        free(run->sig[i].name);
    free(run->ind);
    free(run->sig);
    free(run->codes);
    sqlite3_finalize(run->ins_f);
    sqlite3_finalize(run->ins_fv);
    sqlite3_finalize(run->get_cur);
    cp_buf_release(&run->msg);
    cp_buf_release(&run->tmp);
    memset(run, 0, sizeof *run);
}

const struct cp_cat_ind *cp_run_ind(const struct cp_run *run, const char *code)
{
    for (size_t i = 0; i < run->nind; i++)
        if (strcmp(run->ind[i].code, code) == 0)
            return &run->ind[i];
    return NULL;
}

static int sig_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct cp_cat_sig *)elem)->code);
}

const struct cp_cat_sig *cp_run_sig(const struct cp_run *run, const char *code)
{
    if (!code || !run->nsig)
        return NULL;
    return bsearch(code, run->sig, run->nsig, sizeof *run->sig, sig_cmp);
}

/* ---- formatting ------------------------------------------------------------------ */

const char *cp_run_fmt(const char *unit, double v, char *out, size_t n)
{
    char num[CP_FMT_MAX];

    if (!unit)
        unit = "nb";
    if (strcmp(unit, "pct") == 0) {
        cp_fmt_num_trim(v, 3, num, sizeof num);
        snprintf(out, n, "%s" NBSP "%%", num);
    } else if (strcmp(unit, "eur") == 0) {
        cp_fmt_num_trim(v, 2, num, sizeof num);
        snprintf(out, n, "%s" NBSP "€", num);
    } else if (strcmp(unit, "jours") == 0) {
        cp_fmt_num_trim(v, 1, num, sizeof num);
        snprintf(out, n, "%s" NBSP "%s", num, fabs(v) < 2 ? "jour" : "jours");
    } else {
        cp_fmt_num_trim(v, 3, out, n);
    }
    return out;
}

const char *cp_run_raw(int has, double v, char *out, size_t n)
{
    if (!has)
        snprintf(out, n, "%s", "");
    else
        snprintf(out, n, "%.15g", v);
    return out;
}

/* ---- staging ----------------------------------------------------------------------- */

int cp_run_staging(struct cp_run *run)
{
    if (cp_run_exec(run,
                    "DROP TABLE IF EXISTS temp.cp_f; DROP TABLE IF EXISTS temp.cp_fv;"
                    "CREATE TEMP TABLE cp_f(cle TEXT PRIMARY KEY, regle TEXT NOT NULL,"
                    " gravite TEXT NOT NULL, signataire TEXT, periode TEXT,"
                    " indicateurs TEXT NOT NULL, valeurs TEXT NOT NULL, message TEXT NOT NULL,"
                    " ligne INTEGER) WITHOUT ROWID;"
                    "CREATE TEMP TABLE cp_fv(cle TEXT NOT NULL, rang INTEGER NOT NULL,"
                    " signataire TEXT NOT NULL, periode TEXT NOT NULL, indicateur TEXT,"
                    " valeur REAL, valeur_id INTEGER, fichier_id INTEGER, emplacement TEXT,"
                    " PRIMARY KEY(cle, rang));") < 0)
        return -1;
    if (cp_db_prepare(run->db,
                      "INSERT OR IGNORE INTO cp_f(cle, regle, gravite, signataire, periode,"
                      " indicateurs, valeurs, message, ligne) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                      &run->ins_f, run->err) < 0 ||
        cp_db_prepare(run->db,
                      "INSERT INTO cp_fv(cle, rang, signataire, periode, indicateur, valeur,"
                      " valeur_id, fichier_id, emplacement)"
                      " SELECT ?1, ?2, ?3, ?4, ?5, ?6, k.valeur_id, coalesce(?7, k.fichier_id),"
                      " coalesce(?8, k.emplacement)"
                      " FROM (SELECT 1) LEFT JOIN cp_cur k ON ?9 AND k.signataire = ?3"
                      " AND k.periode = ?4 AND k.indicateur = ?5",
                      &run->ins_fv, run->err) < 0 ||
        cp_db_prepare(run->db,
                      "SELECT valeur, manquant FROM cp_cur WHERE signataire = ?1 AND periode = ?2"
                      " AND indicateur = ?3",
                      &run->get_cur, run->err) < 0)
        return -1;
    return 0;
}

struct look {
    struct cp_run *run;
    const struct cp_finding *f;
    char buf[2048];
    char vbuf[256]; /* value_text's own, so that lists can be built in buf */
};

/* The value in force of code for the finding's key, in French. */
static const char *value_text(struct look *l, const char *code)
{
    struct cp_run *run = l->run;
    const struct cp_cat_ind *d = cp_run_ind(run, code);
    sqlite3_stmt *st = run->get_cur;
    const char *out = "non transmis";

    sqlite3_bind_text(st, 1, l->f->sig ? l->f->sig : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, l->f->per ? l->f->per : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, code, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
            out = cp_run_fmt(d ? d->unit : "nb", sqlite3_column_double(st, 0), l->vbuf,
                             sizeof l->vbuf);
        } else {
            const char *m = (const char *)sqlite3_column_text(st, 1);
            out = m && strcmp(m, "SO") == 0 ? "sans objet" : "non communiqué";
        }
    }
    if (out != l->vbuf) {
        snprintf(l->vbuf, sizeof l->vbuf, "%s", out);
        out = l->vbuf;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return out;
}

static const char *lookup(void *ctx, const char *name)
{
    struct look *l = ctx;
    const struct cp_finding *f = l->f;
    const struct cp_cat_sig *g = cp_run_sig(l->run, f->sig);

    for (size_t i = 0; i < f->nkv; i++)
        if (strcmp(f->kv[i].k, name) == 0)
            return f->kv[i].v ? f->kv[i].v : "";
    if (strcmp(name, "signataire") == 0)
        return f->sig ? f->sig : "";
    if (strcmp(name, "nom") == 0)
        return g ? g->name : (f->sig ? f->sig : "");
    if (strcmp(name, "region") == 0)
        return g ? g->region : "";
    if (strcmp(name, "periode") == 0)
        return f->per ? f->per : "";
    if (strcmp(name, "detail") == 0)
        return f->detail ? f->detail : "";
    if (strcmp(name, "regle") == 0)
        return f->rule->id;
    if (strcmp(name, "gravite") == 0)
        return cp_severity_name(f->rule->severity);
    if (strcmp(name, "indicateurs") == 0 || strcmp(name, "valeurs") == 0) {
        int vals = name[0] == 'v';
        const char *p = f->codes ? f->codes : "";
        size_t o = 0;

        l->buf[0] = '\0';
        while (*p && o + 1 < sizeof l->buf) {
            const char *q = strchr(p, ',');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            char code[CP_CODE_MAX], v[256];

            snprintf(code, sizeof code, "%.*s", (int)n, p);
            if (vals) {
                snprintf(v, sizeof v, "%s", value_text(l, code));
                o += (size_t)snprintf(l->buf + o, sizeof l->buf - o, "%s%s = %s",
                                      o ? " ; " : "", code, v);
            } else {
                o += (size_t)snprintf(l->buf + o, sizeof l->buf - o, "%s%s", o ? ", " : "",
                                      code);
            }
            if (o >= sizeof l->buf)
                o = sizeof l->buf - 1;
            p += n + (q ? 1 : 0);
        }
        return l->buf;
    }
    if (cp_run_ind(l->run, name))
        return value_text(l, name);
    return NULL;
}

int cp_run_emit(struct cp_run *run, const struct cp_finding *f)
{
    sqlite3_stmt *st = run->ins_f;
    struct look l = {run, f, {0}, {0}};
    char cle[1024];

    snprintf(cle, sizeof cle, "%s|%s|%s|%s", f->rule->id, f->sig ? f->sig : "",
             f->per ? f->per : "", f->codes ? f->codes : "");
    cp_buf_reset(&run->msg);
    if (cp_rule_format(f->rule->message, lookup, &l, &run->msg) < 0)
        return cp_err_set(run->err, CP_EX_SOFTWARE, "memory", NULL,
                          "message de constat trop long (règle %s, ligne %u)", f->rule->id,
                          f->rule->line);
    sqlite3_bind_text(st, 1, cle, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, f->rule->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, cp_severity_name(f->rule->severity), -1, SQLITE_STATIC);
    if (f->sig)
        sqlite3_bind_text(st, 4, f->sig, -1, SQLITE_TRANSIENT);
    if (f->per)
        sqlite3_bind_text(st, 5, f->per, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, f->codes ? f->codes : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, f->values ? f->values : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, cp_buf_str(&run->msg), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 9, (int)f->rule->line);
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return cp_run_dbfail(run, "enregistrement d'un constat");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (sqlite3_changes(run->db) == 0)
        return 0; /* same key already raised by an earlier line */
    st = run->ins_fv;
    for (size_t i = 0; i < f->nfv; i++) {
        const struct cp_fval *v = &f->fv[i];

        sqlite3_bind_text(st, 1, cle, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, (int)i + 1);
        sqlite3_bind_text(st, 3, v->sig, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, v->per, -1, SQLITE_TRANSIENT);
        if (v->ind)
            sqlite3_bind_text(st, 5, v->ind, -1, SQLITE_TRANSIENT);
        if (v->has)
            sqlite3_bind_double(st, 6, v->v);
        if (v->file_id)
            sqlite3_bind_int64(st, 7, v->file_id);
        if (v->where)
            sqlite3_bind_text(st, 8, v->where, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 9, v->link && v->ind);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return cp_run_dbfail(run, "enregistrement d'une valeur de constat");
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    return 0;
}
