/*
 * Table interpreter (see table.h): header detection, the three shapes of
 * formats.md, and the normalisation of every cell into a value or a
 * rejection with a French sentence a signatory can act on.
 */
#include "ingest/table.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ref.h"
#include "common/sig.h"
#include "common/text.h"

/* How far down a sheet a header may be. */
#define HEADER_SEARCH_ROWS 60
#define FOLD_MAX 256

enum role {
    R_NONE,   /* ignored column (libellé, unknown text) */
    R_SIG,    /* signatory */
    R_PER,    /* period */
    R_IND,    /* indicator code or label (long, report) */
    R_VAL,    /* value (long, report) */
    R_CIB,    /* target (long, report) */
    R_COM,    /* comment */
    R_INDCOL, /* wide: one indicator's values */
    R_CIBCOL  /* wide: one indicator's targets */
};

struct column {
    enum role role;
    int ind;
};

/* A label/value pair above a report form's table ("Signataire" | "31D"). */
struct label {
    int set;
    enum cp_cell_kind kind;
    char *text;
    double num;
    unsigned long line; /* where the value cell is */
    long col;
};

/* The last text resolved, with its result, for consecutive rows. */
struct cached {
    char *raw;                /* owned */
    size_t len;               /* of raw */
    struct cp_sig_match match;/* signatories */
    struct cp_period period;  /* periods; signatories: the period of sig */
    int ok;                   /* periods; signatories: sig is set */
    int sig;                  /* signatories: the one in force for period */
};

/*
 * Indicator texts already resolved in this file, exact bytes -> index or
 * -1: a long file names the same few indicators on every row, in turn.
 * Bounded: past IND_MEMO_MAX texts, new ones are resolved every time, and
 * so are texts longer than any code or label (IND_MEMO_TEXT), so that a
 * hostile file cannot make it hold more than 128 KiB of text.
 */
#define IND_MEMO_SLOTS 1024 /* a power of two */
#define IND_MEMO_MAX 512
#define IND_MEMO_TEXT 256

struct ind_memo {
    struct {
        char *raw;          /* owned; NULL = empty slot */
        size_t len;
        int ind;
    } slot[IND_MEMO_SLOTS];
    size_t used;
};

static size_t ind_memo_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29)) & (IND_MEMO_SLOTS - 1);
}

static void ind_memo_free(struct ind_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < IND_MEMO_SLOTS; i++)
        free(m->slot[i].raw);
    free(m);
}

/* 1 when c holds the text s (len bytes). */
static int cached_is(const struct cached *c, const char *s, size_t len)
{
    return c->raw && c->len == len && memcmp(c->raw, s, len) == 0;
}

/* Remembers s as c's text (the result is the caller's to set). */
static void cached_set(struct cached *c, const char *s, size_t len)
{
    free(c->raw);
    c->raw = malloc(len + 1);
    c->len = c->raw ? len : 0;
    if (c->raw) {
        memcpy(c->raw, s, len);
        c->raw[len] = '\0';
    }
    c->ok = 0;
}

struct cp_table {
    const struct cp_ref *ref;
    const char *file;
    struct cp_table_out out;

    int found;            /* a header was found */
    int done;             /* the table's sheet ended */
    enum cp_shape shape;
    char *sheet;          /* current sheet name (owned), NULL for CSV */
    char *used_sheet;     /* sheet of the table */
    unsigned rows_in_sheet;

    struct column *cols;
    size_t ncols;
    long role_col[R_CIBCOL + 1]; /* the column of each single role, or -1 */
    int period_is_year;   /* the period column is headed "année" */
    struct label lsig, lper;

    struct cached csig, cper; /* per-text caches for consecutive rows */
    struct ind_memo *inds;    /* indicator texts already resolved */
    struct cp_buf msg;        /* scratch for messages */
    struct cp_buf where;      /* scratch for locations */
    struct cp_buf comment;    /* scratch for a row's comment */
};

static const char *const sig_words[] = {"signataire", "collectivite", "departement",
                                        "code", "territoire", "codesignataire", NULL};
static const char *const per_words[] = {"periode", "annee", "semestre", NULL};
static const char *const ind_words[] = {"indicateur", "codeindicateur", "indicateurs",
                                        "codeindicateurs", NULL};
static const char *const val_words[] = {"valeur", "realise", "valeurrealisee", "realisation",
                                        NULL};
static const char *const cib_words[] = {"cible", "objectif", "valeurcible", NULL};
static const char *const com_words[] = {"commentaire", "commentaires", "observation",
                                        "observations", NULL};

static int in_list(const char *folded, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(folded, *list) == 0)
            return 1;
    return 0;
}

const char *cp_shape_name(enum cp_shape s)
{
    switch (s) {
    case CP_SHAPE_LONG: return "longue";
    case CP_SHAPE_WIDE: return "large";
    case CP_SHAPE_REPORT: return "modele de rapport";
    case CP_SHAPE_NONE: break;
    }
    return "";
}

struct cp_table *cp_table_new(const struct cp_ref *ref, const char *file_name,
                              const struct cp_table_out *out)
{
    struct cp_table *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->ref = ref;
    t->file = file_name;
    t->out = *out;
    cp_buf_init(&t->msg, 8192);
    cp_buf_init(&t->where, 1024);
    cp_buf_init(&t->comment, 70000);
    return t;
}

static void label_clear(struct label *l)
{
    free(l->text);
    memset(l, 0, sizeof *l);
}

static void cached_clear(struct cached *c)
{
    free(c->raw);
    memset(c, 0, sizeof *c);
}

void cp_table_free(struct cp_table *t)
{
    if (!t)
        return;
    free(t->sheet);
    free(t->used_sheet);
    free(t->cols);
    label_clear(&t->lsig);
    label_clear(&t->lper);
    cached_clear(&t->csig);
    cached_clear(&t->cper);
    ind_memo_free(t->inds);
    cp_buf_release(&t->msg);
    cp_buf_release(&t->where);
    cp_buf_release(&t->comment);
    free(t);
}

enum cp_shape cp_table_shape(const struct cp_table *t)
{
    return t->shape;
}

const char *cp_table_sheet(const struct cp_table *t)
{
    return t->used_sheet;
}

/* ---- locations and messages ------------------------------------------- */

/* Location of a cell ("Export!D14" or "L14C4"); col < 0 means the whole
 * row ("L14", or "Export!14"). Returned pointer valid until the next call. */
static const char *where_cell(struct cp_table *t, unsigned long line, long col)
{
    char cn[8];

    cp_buf_reset(&t->where);
    if (t->sheet) {
        if (col >= 0) {
            cp_col_name((unsigned)col, cn);
            cp_buf_addf(&t->where, "%s!%s%lu", t->sheet, cn, line);
        } else {
            cp_buf_addf(&t->where, "%s!%lu:%lu", t->sheet, line, line);
        }
    } else if (col >= 0) {
        cp_buf_addf(&t->where, "L%luC%ld", line, col + 1);
    } else {
        cp_buf_addf(&t->where, "L%lu", line);
    }
    return cp_buf_str(&t->where);
}

void cp_obs_where(const struct cp_obs *o, char out[CP_ERR_WHERE_MAX])
{
    snprintf(out, CP_ERR_WHERE_MAX, "%s",
             o->where ? o->where : where_cell(o->table, o->line, o->col));
}

/* The place in words, for messages: "feuille « Export », cellule D14" or
 * "ligne 14, colonne 3". */
static void place_words(struct cp_table *t, struct cp_buf *b, unsigned long line, long col)
{
    char cn[8];

    if (t->sheet) {
        if (col >= 0) {
            cp_col_name((unsigned)col, cn);
            cp_buf_addf(b, "feuille « %s », cellule %s%lu", t->sheet, cn, line);
        } else {
            cp_buf_addf(b, "feuille « %s », ligne %lu", t->sheet, line);
        }
    } else if (col >= 0) {
        cp_buf_addf(b, "ligne %lu, colonne %ld", line, col + 1);
    } else {
        cp_buf_addf(b, "ligne %lu", line);
    }
}

/* Raw text of a cell for messages (numbers as stored). */
static const char *cell_raw(const struct cp_cell *c)
{
    return c && c->text ? c->text : "";
}

/*
 * Emits a rejection. The sentence is "<file>, <place> : « raw » <fmt…>".
 */
static int reject(struct cp_table *t, unsigned long line, long col, const char *code,
                  const char *raw, int sig, int ind, const struct cp_period *per,
                  const char *fmt, ...) __attribute__((format(printf, 9, 10)));

static int reject(struct cp_table *t, unsigned long line, long col, const char *code,
                  const char *raw, int sig, int ind, const struct cp_period *per,
                  const char *fmt, ...)
{
    struct cp_rej r;
    va_list ap;
    char where[CP_ERR_WHERE_MAX];

    snprintf(where, sizeof where, "%s", where_cell(t, line, col));
    cp_buf_reset(&t->msg);
    cp_buf_addf(&t->msg, "%s, ", t->file);
    place_words(t, &t->msg, line, col);
    cp_buf_adds(&t->msg, " : ");
    if (raw && *raw)
        cp_buf_addf(&t->msg, "« %.200s » : ", raw);
    va_start(ap, fmt);
    cp_buf_vaddf(&t->msg, fmt, ap);
    va_end(ap);

    r.where = where;
    r.code = code;
    r.raw = raw;
    r.message = cp_buf_str(&t->msg);
    r.sig = sig;
    r.ind = ind;
    r.period = per;
    return t->out.reject(t->out.ctx, &r);
}

/* ---- header recognition ------------------------------------------------ */

static void fold_cell(const struct cp_cell *c, char *out)
{
    out[0] = '\0';
    if (c->kind == CP_CELL_TEXT)
        cp_text_fold(c->text, c->len, out, FOLD_MAX);
}

/* "RSA_TX_RDV_15J_cible", "cible RSA_TX_RDV_15J" → the indicator, or -1. */
static int target_column(const struct cp_ref *ref, const char *folded)
{
    size_t n = strlen(folded);
    char code[FOLD_MAX];

    if (n > 5 && strcmp(folded + n - 5, "cible") == 0) {
        memcpy(code, folded, n - 5);
        code[n - 5] = '\0';
    } else if (n > 5 && strncmp(folded, "cible", 5) == 0) {
        memcpy(code, folded + 5, n - 4);
    } else {
        return -1;
    }
    for (size_t i = 0; i < ref->nind; i++)
        if (strcmp(ref->ind[i].fold_code, code) == 0)
            return (int)i;
    return -1;
}

static int indicator_column(const struct cp_ref *ref, const struct cp_cell *c)
{
    if (c->kind != CP_CELL_TEXT)
        return -1;
    return cp_ref_indicator_match(ref, c->text, c->len);
}

/* The indicator a text cell names (cp_ref_indicator_match), memoised. */
static int indicator_of(struct cp_table *t, const struct cp_cell *c)
{
    size_t j;
    int ind;

    if (c->kind != CP_CELL_TEXT)
        return -1;
    if (c->len > IND_MEMO_TEXT)
        return cp_ref_indicator_match(t->ref, c->text, c->len);
    if (!t->inds)
        t->inds = calloc(1, sizeof *t->inds);
    if (!t->inds)
        return cp_ref_indicator_match(t->ref, c->text, c->len);
    for (j = ind_memo_hash(c->text, c->len); t->inds->slot[j].raw;
         j = (j + 1) & (IND_MEMO_SLOTS - 1))
        if (t->inds->slot[j].len == c->len && memcmp(t->inds->slot[j].raw, c->text, c->len) == 0)
            return t->inds->slot[j].ind;
    ind = cp_ref_indicator_match(t->ref, c->text, c->len);
    if (t->inds->used < IND_MEMO_MAX && (t->inds->slot[j].raw = malloc(c->len + 1)) != NULL) {
        memcpy(t->inds->slot[j].raw, c->text, c->len);
        t->inds->slot[j].raw[c->len] = '\0';
        t->inds->slot[j].len = c->len;
        t->inds->slot[j].ind = ind;
        t->inds->used++;
    }
    return ind;
}

/* Looks for "Signataire" | value and "Période" | value pairs, or a single
 * cell "Signataire : 31D". */
static void scan_labels(struct cp_table *t, const struct cp_row *row)
{
    char f[FOLD_MAX];

    for (size_t i = 0; i < row->ncells; i++) {
        const struct cp_cell *c = &row->cells[i];
        struct label *l = NULL;
        const char *colon;

        if (c->kind != CP_CELL_TEXT)
            continue;
        fold_cell(c, f);
        if (in_list(f, sig_words) && strcmp(f, "code") != 0)
            l = &t->lsig;
        else if (in_list(f, per_words))
            l = &t->lper;
        if (l && i + 1 < row->ncells) {
            const struct cp_cell *v = &row->cells[i + 1];

            label_clear(l);
            l->set = 1;
            l->kind = v->kind;
            l->text = strndup(v->text ? v->text : "", v->len);
            l->num = v->num;
            l->line = row->line;
            l->col = (long)v->col;
            i++;
            continue;
        }
        /* "Signataire : 31D" in one cell. */
        colon = memchr(c->text, ':', c->len);
        if (colon) {
            cp_text_fold(c->text, (size_t)(colon - c->text), f, sizeof f);
            l = in_list(f, sig_words) ? &t->lsig : in_list(f, per_words) ? &t->lper : NULL;
            if (l) {
                const char *v = colon + 1;
                size_t vl = c->len - (size_t)(v - c->text);

                cp_text_trim(&v, &vl);
                if (vl) {
                    label_clear(l);
                    l->set = 1;
                    l->kind = CP_CELL_TEXT;
                    l->text = strndup(v, vl);
                    l->line = row->line;
                    l->col = (long)c->col;
                }
            }
        }
    }
}

/*
 * Tries to read row as a header. On success fills t->cols, t->shape and
 * returns 1.
 */
static int try_header(struct cp_table *t, const struct cp_row *row)
{
    size_t maxcol = 0, nind_cols = 0;
    int has[R_CIBCOL + 1] = {0};
    int year = 0;
    struct column *cols;
    char f[FOLD_MAX];
    enum cp_shape shape;

    if (row->ncells < 2)
        return 0;
    maxcol = row->cells[row->ncells - 1].col + 1;
    cols = calloc(maxcol, sizeof *cols);
    if (!cols)
        return 0;
    for (size_t i = 0; i < row->ncells; i++) {
        const struct cp_cell *c = &row->cells[i];
        struct column *col = &cols[c->col];
        int ind;

        fold_cell(c, f);
        if (!f[0])
            continue;
        if (in_list(f, sig_words)) {
            col->role = R_SIG;
        } else if (in_list(f, per_words)) {
            col->role = R_PER;
            year = strcmp(f, "annee") == 0;
        } else if (in_list(f, ind_words)) {
            col->role = R_IND;
        } else if (in_list(f, val_words)) {
            col->role = R_VAL;
        } else if (in_list(f, cib_words)) {
            col->role = R_CIB;
        } else if (in_list(f, com_words)) {
            col->role = R_COM;
        } else if ((ind = indicator_column(t->ref, c)) >= 0) {
            col->role = R_INDCOL;
            col->ind = ind;
            nind_cols++;
        } else if ((ind = target_column(t->ref, f)) >= 0) {
            col->role = R_CIBCOL;
            col->ind = ind;
        }
        /* Keep only the first column of each single role. */
        if (col->role != R_NONE && col->role != R_INDCOL && col->role != R_CIBCOL) {
            if (has[col->role])
                col->role = R_NONE;
            else
                has[col->role] = 1;
        }
    }
    /* "Code | Libellé | Valeur" under label pairs: "code" is the indicator. */
    if (has[R_VAL] && !has[R_IND] && has[R_SIG] && t->lsig.set) {
        for (size_t i = 0; i < maxcol; i++)
            if (cols[i].role == R_SIG) {
                cols[i].role = R_IND;
                has[R_IND] = 1;
                has[R_SIG] = 0;
            }
    }

    if (has[R_IND] && has[R_VAL])
        shape = has[R_SIG] && has[R_PER] ? CP_SHAPE_LONG : CP_SHAPE_REPORT;
    else if (nind_cols > 0 && !has[R_IND])
        shape = CP_SHAPE_WIDE;
    else
        shape = CP_SHAPE_NONE;
    if (shape == CP_SHAPE_NONE || (!has[R_SIG] && !t->lsig.set) || (!has[R_PER] && !t->lper.set)) {
        free(cols);
        return 0;
    }
    free(t->cols);
    t->cols = cols;
    t->ncols = maxcol;
    /* Single roles have one column at most (see above). */
    for (int r = 0; r <= R_CIBCOL; r++)
        t->role_col[r] = -1;
    for (size_t i = 0; i < maxcol; i++)
        if (cols[i].role != R_INDCOL && cols[i].role != R_CIBCOL && t->role_col[cols[i].role] < 0)
            t->role_col[cols[i].role] = (long)i;
    t->shape = shape;
    t->period_is_year = year;
    return 1;
}

/* ---- values ------------------------------------------------------------- */

/* Text of a signatory or period cell: whole numbers as digits ("82"). */
static const char *key_text(enum cp_cell_kind kind, const char *text, size_t *len, double num,
                            char *numbuf, size_t numsz)
{
    if (kind == CP_CELL_NUMBER && num == floor(num) && num >= 0 && num < 1e6) {
        snprintf(numbuf, numsz, "%d", (int)num);
        *len = strlen(numbuf);
        return numbuf;
    }
    return text;
}

/* Caches sig as the signatory in force that the cached text names for per. */
static int remember_sig(struct cp_table *t, const struct cp_period *per, int sig)
{
    if (t->csig.raw) {
        t->csig.period = *per;
        t->csig.sig = sig;
        t->csig.ok = 1;
    }
    return sig;
}

/* Signatory of a row: the cell, else the label above the table. Returns the
 * index, -1 after emitting a rejection, or -2 on abort. */
static int row_signatory(struct cp_table *t, const struct cp_row *row,
                         const struct cp_cell *c, const struct cp_period *per)
{
    unsigned long line = row->line;
    long col = c ? (long)c->col : -1;
    struct cp_sig_match m;
    const char *text;
    size_t len;
    char numbuf[32];
    int sig, rc;

    if (c) {
        len = c->len;
        text = key_text(c->kind, c->text, &len, c->num, numbuf, sizeof numbuf);
    } else if (t->lsig.set) {
        len = strlen(t->lsig.text);
        text = key_text(t->lsig.kind, t->lsig.text, &len, t->lsig.num, numbuf, sizeof numbuf);
        line = t->lsig.line;
        col = t->lsig.col;
    } else {
        return reject(t, line, -1, "missing_signatory", NULL, -1, -1, per,
                      "signataire absent ; indiquez le code du signataire (par exemple 31D) "
                      "dans la colonne « signataire »") < 0 ? -2 : -1;
    }

    /* Consecutive rows usually name the same signatory, for the same
     * period: the answer then is the last one. */
    if (cached_is(&t->csig, text, len)) {
        if (t->csig.ok && per && t->csig.period.year == per->year &&
            t->csig.period.half == per->half)
            return t->csig.sig;
        m = t->csig.match;
    } else {
        cp_sig_match(t->ref, text, len, &m);
        cached_set(&t->csig, text, len);
        t->csig.match = m;
    }

    if (m.status != CP_SIG_FOUND) {
        struct cp_buf near = CP_BUF_INIT(1024);

        for (int i = 0; i < m.nnear; i++) {
            const struct cp_signatory *s = &t->ref->sig[m.near[i]];
            cp_buf_addf(&near, "%s%s (%s)", i ? ", " : "", s->name, s->code);
        }
        if (m.status == CP_SIG_AMBIGUOUS)
            rc = reject(t, line, col, "ambiguous_signatory", text, -1, -1, per,
                        "plusieurs signataires correspondent (%s) ; indiquez le code du "
                        "signataire",
                        cp_buf_str(&near));
        else if (m.nnear > 0)
            rc = reject(t, line, col, "unknown_signatory", text, -1, -1, per,
                        "nom inconnu ; le plus proche : %s ; corrigez le nom ou indiquez le "
                        "code du signataire",
                        cp_buf_str(&near));
        else
            rc = reject(t, line, col, "unknown_signatory", text, -1, -1, per,
                        "signataire inconnu ; indiquez le code du signataire tel qu'il figure "
                        "dans la liste nationale (par exemple 31D, M31, R76)");
        cp_buf_release(&near);
        return rc < 0 ? -2 : -1;
    }

    sig = m.sig;
    if (per && !cp_ref_in_force(&t->ref->sig[sig], per)) {
        int succ = cp_ref_successor(t->ref, sig, per);
        char ps[CP_PERIOD_STRLEN];

        /* "67" in 2021 means the body in charge of the Bas-Rhin then: 6AE. */
        if (succ >= 0 && m.how == CP_SIG_BY_NUMBER)
            return remember_sig(t, per, succ);
        cp_period_str(per, ps);
        if (succ >= 0)
            rc = reject(t, line, col, "signatory_not_in_force", text, sig, -1, per,
                        "le signataire %s (%s) n'existe pas en %s ; pour cette période, "
                        "c'est %s (%s) qui déclare",
                        t->ref->sig[sig].code, t->ref->sig[sig].name, ps,
                        t->ref->sig[succ].code, t->ref->sig[succ].name);
        else
            rc = reject(t, line, col, "signatory_not_in_force", text, sig, -1, per,
                        "le signataire %s (%s) n'existe pas en %s ; vérifiez la période",
                        t->ref->sig[sig].code, t->ref->sig[sig].name, ps);
        return rc < 0 ? -2 : -1;
    }
    return per ? remember_sig(t, per, sig) : sig;
}

/* Period of a row: the cell, else the label. 0 on success, -1 rejected,
 * -2 abort. */
static int row_period(struct cp_table *t, const struct cp_row *row, const struct cp_cell *c,
                      struct cp_period *out)
{
    enum cp_cell_kind kind;
    const char *text;
    size_t len;
    double num;
    unsigned long line = row->line;
    long col = c ? (long)c->col : -1;
    int rc;

    if (c) {
        kind = c->kind;
        text = c->text;
        len = c->len;
        num = c->num;
    } else if (t->lper.set) {
        kind = t->lper.kind;
        text = t->lper.text;
        len = strlen(text);
        num = t->lper.num;
        line = t->lper.line;
        col = t->lper.col;
    } else {
        return reject(t, row->line, -1, "missing_period", NULL, -1, -1, NULL,
                      "période absente ; indiquez la période (2021, 2021-S1 ou 2021-S2)") < 0
                   ? -2
                   : -1;
    }
    if (kind == CP_CELL_TEXT && cached_is(&t->cper, text, len)) {
        if (t->cper.ok) {
            *out = t->cper.period;
            return 0;
        }
        rc = -1;
    } else if (kind == CP_CELL_NUMBER) {
        rc = cp_period_from_number(num, out);
    } else if (kind == CP_CELL_TEXT) {
        rc = cp_period_parse(text, len, out);
        cached_set(&t->cper, text, len);
        t->cper.ok = rc == 0;
        t->cper.period = *out;
    } else {
        rc = -1;
    }
    if (rc == 0 && t->period_is_year && c && out->half != 0)
        rc = -1;
    if (rc == 0)
        return 0;
    return reject(t, line, col, "bad_period", text, -1, -1, NULL,
                  "période non reconnue ; attendu une année (2021) ou un semestre "
                  "(2021-S1, 2021-S2, « 1er semestre 2021 »)") < 0
               ? -2
               : -1;
}

/* Checks that the indicator may be reported by this signatory for this
 * period. 0 when fine, -1 rejected, -2 abort. */
static int check_applicable(struct cp_table *t, unsigned long line, long col, const char *raw,
                            int sig, int ind, const struct cp_period *per)
{
    const struct cp_indicator *d = &t->ref->ind[ind];
    const struct cp_signatory *s = &t->ref->sig[sig];
    char ps[CP_PERIOD_STRLEN];
    int rc = 0;

    if (cp_ref_type_allowed(d, s) && !(d->yearly_only && per->half != 0) &&
        per->year >= d->year_from && per->year <= d->year_to)
        return 0; /* the common case, without formatting anything */
    cp_period_str(per, ps);
    if (!cp_ref_type_allowed(d, s))
        rc = reject(t, line, col, "not_applicable", raw, sig, ind, per,
                    "l'indicateur %s ne concerne pas les signataires de type %c (%s %s) ; "
                    "retirez cette valeur",
                    d->code, s->type, s->code, s->name);
    else if (d->yearly_only && per->half != 0)
        rc = reject(t, line, col, "period_not_allowed", raw, sig, ind, per,
                    "l'indicateur %s est annuel : il ne peut pas être déclaré pour le "
                    "semestre %s ; déclarez-le pour l'année %d",
                    d->code, ps, per->year);
    else if (per->year < d->year_from || per->year > d->year_to)
        rc = reject(t, line, col, "period_not_allowed", raw, sig, ind, per,
                    "l'indicateur %s n'est suivi que de %d à %d, pas en %s ; retirez cette "
                    "valeur",
                    d->code, d->year_from, d->year_to, ps);
    else
        return 0;
    return rc < 0 ? -2 : -1;
}

static const char *unit_words(enum cp_unit u)
{
    switch (u) {
    case CP_UNIT_NB: return "un effectif (nombre entier)";
    case CP_UNIT_PCT: return "un pourcentage";
    case CP_UNIT_JOURS: return "un nombre de jours";
    case CP_UNIT_EUR: return "un montant en euros";
    }
    return "un nombre";
}

/*
 * Reads a value or target cell for an indicator. Returns 1 with *v or
 * *missing set, 0 when the cell says nothing (empty), -1 rejected, -2 abort.
 */
static int read_number(struct cp_table *t, unsigned long line, const struct cp_cell *c,
                       int sig, int ind, const struct cp_period *per, int is_target,
                       double *v, enum cp_missing *missing)
{
    const struct cp_indicator *d = &t->ref->ind[ind];
    const char *what = is_target ? "la cible de" : "la valeur de";
    struct cp_num n;
    int rc;

    *missing = CP_MISSING_NONE;
    switch (c->kind) {
    case CP_CELL_NUMBER:
        *v = cp_num_clean(c->num);
        return 1;
    case CP_CELL_PERCENT:
        if (d->unit == CP_UNIT_PCT) {
            *v = cp_num_clean(c->num * 100.0);
            return 1;
        }
        rc = reject(t, line, (long)c->col, "unexpected_percent", cell_raw(c), sig, ind, per,
                    "cellule au format pourcentage pour %s %s, qui est %s ; saisissez le "
                    "nombre sans format pourcentage",
                    what, d->code, unit_words(d->unit));
        return rc < 0 ? -2 : -1;
    case CP_CELL_ERROR:
        rc = reject(t, line, (long)c->col, "excel_error", cell_raw(c), sig, ind, per,
                    "erreur Excel au lieu de %s %s ; corrigez la formule ou saisissez la "
                    "valeur (NC si elle n'est pas disponible)",
                    what, d->code);
        return rc < 0 ? -2 : -1;
    case CP_CELL_NOVALUE:
        rc = reject(t, line, (long)c->col, "formula_no_value", cell_raw(c), sig, ind, per,
                    "formule sans valeur calculée pour %s %s ; ouvrez le fichier dans le "
                    "tableur, recalculez et enregistrez-le, ou saisissez la valeur",
                    what, d->code);
        return rc < 0 ? -2 : -1;
    case CP_CELL_BOOL:
    case CP_CELL_DATE:
        rc = reject(t, line, (long)c->col, "not_a_number", cell_raw(c), sig, ind, per,
                    "%s au lieu d'un nombre pour %s %s, qui est %s ; saisissez un nombre, "
                    "ou NC s'il n'est pas disponible",
                    c->kind == CP_CELL_DATE ? "une date" : "un booléen", what, d->code,
                    unit_words(d->unit));
        return rc < 0 ? -2 : -1;
    case CP_CELL_TEXT:
        break;
    }
    cp_num_parse(c->text, c->len, &n);
    switch (n.status) {
    case CP_NUM_EMPTY:
        return 0;
    case CP_NUM_MISSING:
        *missing = n.missing;
        return 1;
    case CP_NUM_EXCEL_ERROR:
        rc = reject(t, line, (long)c->col, "excel_error", cell_raw(c), sig, ind, per,
                    "erreur Excel au lieu de %s %s ; corrigez la formule ou saisissez la "
                    "valeur (NC si elle n'est pas disponible)",
                    what, d->code);
        return rc < 0 ? -2 : -1;
    case CP_NUM_INVALID:
        rc = reject(t, line, (long)c->col, "not_a_number", cell_raw(c), sig, ind, per,
                    "texte au lieu d'un nombre pour %s %s, qui est %s ; saisissez un "
                    "nombre, ou NC s'il n'est pas disponible (SO s'il est sans objet)",
                    what, d->code, unit_words(d->unit));
        return rc < 0 ? -2 : -1;
    case CP_NUM_VALUE:
        break;
    }
    if (n.percent && d->unit != CP_UNIT_PCT) {
        rc = reject(t, line, (long)c->col, "unexpected_percent", cell_raw(c), sig, ind, per,
                    "un pourcentage pour %s %s, qui est %s ; indiquez le nombre, sans %%",
                    what, d->code, unit_words(d->unit));
        return rc < 0 ? -2 : -1;
    }
    *v = cp_num_cleaned(&n);
    return 1;
}

/* Emits one value (value cell vc, optional target cell tc). Returns 0 or
 * -2 on abort; rejections are not failures. */
static int emit(struct cp_table *t, const struct cp_row *row, int sig, int ind,
                const struct cp_period *per, const struct cp_cell *vc,
                const struct cp_cell *tc, const char *comment)
{
    struct cp_obs o;
    enum cp_missing miss;
    double v = 0, target = 0;
    int rc, has_target = 0;

    rc = check_applicable(t, row->line, (long)vc->col, cell_raw(vc), sig, ind, per);
    if (rc < 0)
        return rc == -2 ? -2 : 0;
    rc = read_number(t, row->line, vc, sig, ind, per, 0, &v, &miss);
    if (rc <= 0)
        return rc == -2 ? -2 : 0;
    if (tc) {
        enum cp_missing tmiss;
        int trc = read_number(t, row->line, tc, sig, ind, per, 1, &target, &tmiss);

        if (trc == -2)
            return -2;
        has_target = trc == 1 && tmiss == CP_MISSING_NONE;
    }
    o.sig = sig;
    o.ind = ind;
    o.period = *per;
    o.has_value = miss == CP_MISSING_NONE;
    o.value = o.has_value ? v : 0;
    o.missing = miss;
    o.has_target = has_target;
    o.target = target;
    o.comment = comment;
    o.raw = cell_raw(vc);
    o.where = NULL;
    o.table = t;
    o.line = row->line;
    o.col = (long)vc->col;
    return t->out.value(t->out.ctx, &o) < 0 ? -2 : 0;
}

static const struct cp_cell *cell_at(const struct cp_row *row, size_t col)
{
    /* Cells are sorted by column; rows are short, a linear scan is fine. */
    for (size_t i = 0; i < row->ncells; i++) {
        if (row->cells[i].col == col)
            return &row->cells[i];
        if (row->cells[i].col > col)
            break;
    }
    return NULL;
}

/* The row's cell in the column of a single role (signatory, period,
 * indicator, value, target, comment), or NULL. */
static const struct cp_cell *role_cell(const struct cp_table *t, const struct cp_row *row,
                                       enum role r)
{
    long col = t->role_col[r];

    if (col < 0)
        return NULL;
    /* A CSV row has every cell: the cell of column k is the k-th. */
    if ((size_t)col < row->ncells && row->cells[col].col == (size_t)col)
        return &row->cells[col];
    for (size_t i = 0; i < row->ncells; i++)
        if (row->cells[i].col == (size_t)col)
            return &row->cells[i];
    return NULL;
}

static int cell_blank(const struct cp_cell *c)
{
    const char *s;
    size_t n;

    if (!c)
        return 1;
    if (c->kind != CP_CELL_TEXT)
        return 0;
    s = c->text;
    n = c->len;
    cp_text_trim(&s, &n);
    return n == 0;
}

static const char *row_comment(struct cp_table *t, const struct cp_row *row)
{
    const struct cp_cell *c = role_cell(t, row, R_COM);
    const char *s;
    size_t n;

    if (!c || c->kind != CP_CELL_TEXT)
        return NULL;
    s = c->text;
    n = c->len;
    cp_text_trim(&s, &n);
    if (!n)
        return NULL;
    cp_buf_reset(&t->comment);
    if (cp_buf_add(&t->comment, s, n < 4000 ? n : 4000) < 0)
        return NULL;
    return cp_buf_str(&t->comment);
}

/* A long or report row: one indicator, one value. */
static int body_long(struct cp_table *t, const struct cp_row *row)
{
    const struct cp_cell *ic = role_cell(t, row, R_IND);
    const struct cp_cell *vc = role_cell(t, row, R_VAL);
    const struct cp_cell *tc = role_cell(t, row, R_CIB);
    const struct cp_cell *sc = role_cell(t, row, R_SIG);
    const struct cp_cell *pc = role_cell(t, row, R_PER);
    struct cp_period per;
    int ind, sig, rc;

    /* Title rows, notes under the table, axis headings: no value, no data. */
    if (cell_blank(vc) && cell_blank(tc))
        return 0;
    if (cell_blank(vc)) {
        /* A target alone says nothing about the value: not reported. */
        return 0;
    }
    rc = row_period(t, row, pc, &per);
    if (rc < 0)
        return rc == -2 ? -2 : 0;
    sig = row_signatory(t, row, sc, &per);
    if (sig < 0)
        return sig == -2 ? -2 : 0;
    if (cell_blank(ic))
        return reject(t, row->line, (long)vc->col, "missing_indicator", cell_raw(vc), sig, -1,
                      &per,
                      "valeur sans code d'indicateur ; indiquez le code de l'indicateur "
                      "(par exemple RSA_NOUV_ENTRANTS) dans sa colonne") < 0
                   ? -2
                   : 0;
    ind = indicator_of(t, ic);
    if (ind < 0)
        return reject(t, row->line, (long)ic->col, "unknown_indicator", cell_raw(ic), sig, -1,
                      &per,
                      "indicateur inconnu du catalogue ; utilisez le code ou le libellé "
                      "exact du catalogue national") < 0
                   ? -2
                   : 0;
    return emit(t, row, sig, ind, &per, vc, cell_blank(tc) ? NULL : tc, row_comment(t, row));
}

/* A wide row: one signatory and period, one value per indicator column. */
static int body_wide(struct cp_table *t, const struct cp_row *row)
{
    const struct cp_cell *sc = role_cell(t, row, R_SIG);
    const struct cp_cell *pc = role_cell(t, row, R_PER);
    const char *comment;
    struct cp_period per;
    int sig, rc, any = 0;

    for (size_t i = 0; i < row->ncells; i++) {
        const struct cp_cell *c = &row->cells[i];
        if (c->col < t->ncols && (t->cols[c->col].role == R_INDCOL ||
                                  t->cols[c->col].role == R_CIBCOL) && !cell_blank(c)) {
            any = 1;
            break;
        }
    }
    if (!any)
        return 0; /* notes, totals without figures, blank lines */
    rc = row_period(t, row, pc, &per);
    if (rc < 0)
        return rc == -2 ? -2 : 0;
    sig = row_signatory(t, row, sc, &per);
    if (sig < 0)
        return sig == -2 ? -2 : 0;
    comment = row_comment(t, row);
    for (size_t i = 0; i < row->ncells; i++) {
        const struct cp_cell *c = &row->cells[i];
        const struct cp_cell *tc = NULL;
        int ind;

        if (c->col >= t->ncols || t->cols[c->col].role != R_INDCOL || cell_blank(c))
            continue;
        ind = t->cols[c->col].ind;
        for (size_t j = 0; j < t->ncols; j++)
            if (t->cols[j].role == R_CIBCOL && t->cols[j].ind == ind) {
                tc = cell_at(row, j);
                break;
            }
        if (emit(t, row, sig, ind, &per, c, cell_blank(tc) ? NULL : tc, comment) < 0)
            return -2;
    }
    return 0;
}

/* ---- sink callbacks ------------------------------------------------------ */

static int on_sheet_begin(void *ctx, const char *name, unsigned index)
{
    struct cp_table *t = ctx;

    (void)index;
    if (t->done)
        return CP_READ_STOP;
    free(t->sheet);
    t->sheet = name ? strdup(name) : NULL;
    t->rows_in_sheet = 0;
    label_clear(&t->lsig);
    label_clear(&t->lper);
    return CP_READ_CONTINUE;
}

static int on_row(void *ctx, const struct cp_row *row)
{
    struct cp_table *t = ctx;

    if (!t->found) {
        if (try_header(t, row)) {
            t->found = 1;
            free(t->used_sheet);
            t->used_sheet = t->sheet ? strdup(t->sheet) : NULL;
            return CP_READ_CONTINUE;
        }
        scan_labels(t, row);
        if (++t->rows_in_sheet >= HEADER_SEARCH_ROWS)
            return CP_READ_NEXT_SHEET;
        return CP_READ_CONTINUE;
    }
    if ((t->shape == CP_SHAPE_WIDE ? body_wide(t, row) : body_long(t, row)) < 0)
        return -1;
    return CP_READ_CONTINUE;
}

static int on_sheet_end(void *ctx)
{
    struct cp_table *t = ctx;

    if (t->found) {
        t->done = 1;
        return CP_READ_STOP;
    }
    return CP_READ_CONTINUE;
}

struct cp_reader_sink cp_table_sink(struct cp_table *t)
{
    struct cp_reader_sink s = {t, on_sheet_begin, on_row, on_sheet_end};
    return s;
}

int cp_table_finish(struct cp_table *t, struct cp_err *err)
{
    if (t->found)
        return 0;
    return cp_err_set(err, CP_EX_DATAERR, "no_header", "",
                      "aucun tableau reconnu : il faut une ligne d'en-tête avec soit les "
                      "colonnes signataire, période, indicateur et valeur (format long), "
                      "soit signataire, période et une colonne par code d'indicateur "
                      "(format large), soit, sous « Signataire » et « Période », les "
                      "colonnes « Code indicateur » et « Valeur » (modèle de rapport) ; "
                      "voir le contrat de transmission");
}
