/*
 * Row assembly for the workbook readers (see wbrows.h): one row of cells
 * at a time in reused arrays, merged-cell fill-down, caps, sink calls.
 */
#include "ingest/wbrows.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A vertically merged cell's value, repeated down to row last. */
struct cp_wbspan {
    unsigned long long col, last;
    enum cp_cell_kind kind;
    double num;
    char *text; /* owned */
    size_t len;
};

/* Rows reported between two looks at the clock. */
#define CLOCK_EVERY 64

void cp_wbrows_init(struct cp_wbrows *r, struct cp_zip *z,
                    const struct cp_reader_sink *sink)
{
    memset(r, 0, sizeof *r);
    r->zip = z;
    r->sink = sink;
    r->next = 1;
    /* Cell texts are capped one by one (max_field_bytes) and come from
     * the inflated entry, itself capped: the arena needs no cap of its own. */
    cp_buf_init(&r->text, SIZE_MAX / 2);
    r->cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static void spans_clear(struct cp_wbrows *r)
{
    for (size_t i = 0; i < r->nspans; i++)
        free(r->spans[i].text);
    r->nspans = 0;
    r->span_bytes = 0;
}

void cp_wbrows_release(struct cp_wbrows *r)
{
    spans_clear(r);
    free(r->spans);
    free(r->anchors);
    free(r->cells);
    free(r->offs);
    free(r->out);
    free(r->sheet);
    cp_buf_release(&r->text);
    if (r->cloc)
        freelocale(r->cloc);
    memset(r, 0, sizeof *r);
}

const char *cp_wbrows_where(struct cp_wbrows *r, unsigned long long col,
                            unsigned long long row)
{
    char name[8];

    cp_col_name(col > 0xFFFFFFu ? 0xFFFFFFu : (unsigned)col, name);
    snprintf(r->where, sizeof r->where, "%s!%s%llu", r->sheet ? r->sheet : "",
             name, row);
    return r->where;
}

static int no_memory(struct cp_wbrows *r)
{
    return cp_err_set(r->zip->err, CP_EX_SOFTWARE, "io", r->zip->path,
                      "mémoire insuffisante pour lire le classeur ; réessayez "
                      "plus tard.");
}

/* Grows an array of elements of size sz to hold want of them. */
static int grow(void **p, size_t *cap, size_t want, size_t sz)
{
    size_t ncap;
    void *np;

    if (want <= *cap)
        return 0;
    ncap = *cap ? *cap : 16;
    while (ncap < want)
        ncap *= 2;
    np = realloc(*p, ncap * sz);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

static int sink_rc(int rc)
{
    if (rc < 0)
        return CP_READ_ABORTED;
    if (rc == CP_READ_NEXT_SHEET || rc == CP_READ_STOP)
        return rc;
    return 0;
}

int cp_wbrows_sheet_begin(struct cp_wbrows *r, const char *name, unsigned index)
{
    spans_clear(r);
    free(r->sheet);
    r->sheet = strdup(name);
    if (!r->sheet)
        return no_memory(r);
    r->row = 0;
    r->next = 1;
    r->sheet_cells = 0;
    r->ncells = 0;
    r->nanchors = 0;
    r->open = 0;
    cp_buf_reset(&r->text);
    if (!r->sink->sheet_begin)
        return 0;
    return sink_rc(r->sink->sheet_begin(r->sink->ctx, r->sheet, index));
}

/* Drops the spans that end before row. */
static void spans_expire(struct cp_wbrows *r, unsigned long long row)
{
    size_t j = 0;

    for (size_t i = 0; i < r->nspans; i++) {
        if (r->spans[i].last < row) {
            r->span_bytes -= r->spans[i].len + 1;
            free(r->spans[i].text);
        } else {
            r->spans[j++] = r->spans[i];
        }
    }
    r->nspans = j;
}

static int anchor_cmp(const void *a, const void *b)
{
    const struct cp_wbanchor *x = a, *y = b;

    return x->col < y->col ? -1 : x->col > y->col;
}

/*
 * The spans anchored in the row just assembled (out, n cells) start: each
 * takes a copy of its anchor cell and replaces any span of its column.
 * Linear in spans + anchors + cells: a row full of merged cells costs no
 * more than reading it.
 */
static int capture(struct cp_wbrows *r, size_t n)
{
    struct cp_wbspan *news = NULL, *merged = NULL;
    size_t nnew = 0, k = 0, i = 0, j = 0, m = 0;
    int rc = -1;

    for (size_t a = 1; a < r->nanchors; a++) {
        if (r->anchors[a].col < r->anchors[a - 1].col) {
            qsort(r->anchors, r->nanchors, sizeof *r->anchors, anchor_cmp);
            break;
        }
    }
    news = malloc((r->nanchors ? r->nanchors : 1) * sizeof *news);
    if (!news)
        return no_memory(r);
    for (size_t a = 0; a < r->nanchors; a++) {
        const struct cp_cell *c;
        while (k < n && r->out[k].col < r->anchors[a].col)
            k++;
        if (k == n)
            break;
        c = &r->out[k];
        if (c->col != r->anchors[a].col)
            continue;
        if (r->span_bytes + c->len + 1 > r->zip->lim->max_shared_strings_bytes) {
            cp_err_set(r->zip->err, CP_EX_DATAERR, "too_many_merges",
                       cp_wbrows_where(r, c->col, r->row),
                       "les cellules fusionnées de la feuille « %s » retiennent "
                       "plus de %zu octets de texte à la fois ; défusionnez "
                       "les cellules puis renvoyez le fichier.", r->sheet,
                       r->zip->lim->max_shared_strings_bytes);
            goto out;
        }
        /* Two anchors in one column: the later one wins. */
        if (nnew > 0 && news[nnew - 1].col == c->col) {
            news[nnew - 1].last = r->anchors[a].last;
            continue;
        }
        news[nnew] = (struct cp_wbspan){ .col = c->col, .last = r->anchors[a].last,
                                         .kind = c->kind, .num = c->num,
                                         .text = malloc(c->len + 1), .len = c->len };
        if (!news[nnew].text) {
            no_memory(r);
            goto out;
        }
        memcpy(news[nnew].text, c->text, c->len + 1);
        r->span_bytes += c->len + 1;
        nnew++;
    }
    r->nanchors = 0;
    if (nnew == 0) {
        rc = 0;
        goto out;
    }
    merged = malloc((r->nspans + nnew) * sizeof *merged);
    if (!merged) {
        no_memory(r);
        goto out;
    }
    /* Both ascend by column; a new span replaces an old one. */
    while (i < r->nspans || j < nnew) {
        if (j < nnew && (i == r->nspans || news[j].col <= r->spans[i].col)) {
            if (i < r->nspans && r->spans[i].col == news[j].col) {
                r->span_bytes -= r->spans[i].len + 1;
                free(r->spans[i].text);
                i++;
            }
            merged[m++] = news[j++];
        } else {
            merged[m++] = r->spans[i++];
        }
    }
    nnew = 0; /* now owned by merged */
    free(r->spans);
    r->spans = merged;
    r->nspans = m;
    merged = NULL;
    rc = 0;
out:
    for (size_t a = 0; a < nnew; a++) {
        r->span_bytes -= news[a].len + 1;
        free(news[a].text);
    }
    free(news);
    free(merged);
    return rc;
}

/*
 * Reports row number row: its own cells (own) merged with the values of
 * the spans covering it; with do_capture, the spans anchored in it start.
 */
static int emit(struct cp_wbrows *r, unsigned long long row, int own, int do_capture)
{
    size_t na = own ? r->ncells : 0, i = 0, j = 0, n = 0;
    struct cp_row out;
    int rc;

    if (row > CP_WBROWS_MAX_ROW)
        return cp_err_set(r->zip->err, CP_EX_DATAERR, "too_many_rows",
                          cp_wbrows_where(r, 0, row),
                          "la feuille « %s » a des données au-delà de la ligne "
                          "%llu ; supprimez les lignes inutiles.", r->sheet,
                          CP_WBROWS_MAX_ROW);
    if (grow((void **)&r->out, &r->outcap, na + r->nspans, sizeof *r->out) != 0)
        return no_memory(r);
    /* Both lists ascend by column; a merged value wins over a covered cell. */
    while (i < na || j < r->nspans) {
        if (j < r->nspans && (i >= na || r->spans[j].col <= r->cells[i].col)) {
            const struct cp_wbspan *s = &r->spans[j];
            if (i < na && r->cells[i].col == s->col)
                i++;
            r->out[n++] = (struct cp_cell){ .col = (unsigned)s->col, .kind = s->kind,
                                            .text = s->text, .len = s->len,
                                            .num = s->num };
            j++;
        } else {
            r->out[n++] = r->cells[i++];
        }
    }
    if (n > r->zip->lim->max_cells - r->sheet_cells || r->sheet_cells > r->zip->lim->max_cells)
        return cp_err_set(r->zip->err, CP_EX_DATAERR, "too_many_cells",
                          cp_wbrows_where(r, r->out[0].col, row),
                          "la feuille « %s » contient plus de %llu cellules non "
                          "vides ; supprimez les données inutiles ou répartissez-"
                          "les en plusieurs fichiers.", r->sheet,
                          r->zip->lim->max_cells);
    r->sheet_cells += n;
    out = (struct cp_row){ .sheet = r->sheet, .line = (unsigned long)row,
                           .cells = r->out, .ncells = n };
    rc = sink_rc(r->sink->row(r->sink->ctx, &out));
    if (rc != 0)
        return rc;
    /* Only now: a new span may replace (and free) one whose text the row
     * just reported still pointed to. */
    if (do_capture && r->nanchors > 0 && (rc = capture(r, n)) != 0)
        return rc;
    if (++r->emitted % CLOCK_EVERY == 0 &&
        cp_zip_check_time(r->zip, cp_wbrows_where(r, 0, row)) != 0)
        return -1;
    return 0;
}

/* Reports the rows before upto that only merged cells cover. */
static int gap(struct cp_wbrows *r, unsigned long long upto)
{
    int rc;

    while (r->next < upto) {
        spans_expire(r, r->next);
        if (r->nspans == 0) {
            r->next = upto;
            break;
        }
        if ((rc = emit(r, r->next, 0, 0)) != 0)
            return rc;
        r->next++;
    }
    return 0;
}

int cp_wbrows_sheet_end(struct cp_wbrows *r, int flush)
{
    int rc = 0;

    if (flush) {
        rc = gap(r, CP_WBROWS_MAX_ROW + 1);
        if (rc != 0 && rc != CP_READ_NEXT_SHEET)
            return rc;
    }
    spans_clear(r);
    if (!r->sink->sheet_end)
        return 0;
    rc = sink_rc(r->sink->sheet_end(r->sink->ctx));
    return rc == CP_READ_NEXT_SHEET ? 0 : rc;
}

int cp_wbrows_row_begin(struct cp_wbrows *r, unsigned long long row)
{
    if (row < r->next || row == 0)
        return cp_err_set(r->zip->err, CP_EX_DATAERR, "bad_xml",
                          cp_wbrows_where(r, 0, row),
                          "la ligne %llu de la feuille « %s » apparaît après la "
                          "ligne %llu : le classeur est endommagé ; ouvrez-le puis "
                          "enregistrez-le de nouveau avec Excel ou LibreOffice.",
                          row, r->sheet, r->next - 1);
    if (row > CP_WBROWS_MAX_ROW)
        row = CP_WBROWS_MAX_ROW + 1; /* refused if anything is reported there */
    r->row = row;
    r->ncells = 0;
    r->nanchors = 0;
    r->open = 0;
    cp_buf_reset(&r->text);
    return 0;
}

int cp_wbrows_row_end(struct cp_wbrows *r, unsigned long long repeat)
{
    unsigned long long last, row;
    int rc;

    if (repeat == 0)
        repeat = 1;
    if ((rc = gap(r, r->row)) != 0)
        return rc;
    for (size_t i = 0; i < r->ncells; i++)
        if (r->offs[i] != SIZE_MAX)
            r->cells[i].text = r->text.data + r->offs[i];
    /* Saturated far beyond any reportable row, never wrapped. */
    last = repeat - 1 > ULLONG_MAX / 2 - r->row ? ULLONG_MAX / 2 : r->row + (repeat - 1);
    for (row = r->row; row <= last; row++) {
        spans_expire(r, row);
        if (r->ncells == 0 && r->nspans == 0)
            break;
        if ((rc = emit(r, row, 1, row == r->row)) != 0)
            return rc;
    }
    r->next = last + 1;
    r->ncells = 0;
    r->nanchors = 0;
    cp_buf_reset(&r->text);
    return 0;
}

int cp_wbrows_span(struct cp_wbrows *r, unsigned long long col,
                   unsigned long long last)
{
    if (last <= r->row)
        return 0;
    if (last > CP_WBROWS_MAX_ROW)
        last = CP_WBROWS_MAX_ROW;
    if (grow((void **)&r->anchors, &r->anchorcap, r->nanchors + 1,
             sizeof *r->anchors) != 0)
        return no_memory(r);
    r->anchors[r->nanchors].col = col;
    r->anchors[r->nanchors].last = last;
    r->nanchors++;
    return 0;
}

void cp_wbrows_cell_begin(struct cp_wbrows *r, unsigned long long col)
{
    r->open = 1;
    r->col = col;
    r->open_off = r->text.len;
    r->ref = NULL;
    r->reflen = 0;
}

static int too_long(struct cp_wbrows *r)
{
    return cp_err_set(r->zip->err, CP_EX_DATAERR, "field_too_long",
                      cp_wbrows_where(r, r->col, r->row),
                      "la cellule contient plus de %zu octets de texte ; "
                      "raccourcissez-la (un long commentaire a sa place dans un "
                      "document à part) puis renvoyez le fichier.",
                      r->zip->lim->max_field_bytes);
}

int cp_wbrows_cell_add(struct cp_wbrows *r, const char *s, size_t n)
{
    assert(r->open);
    if (n > r->zip->lim->max_field_bytes ||
        r->text.len - r->open_off > r->zip->lim->max_field_bytes - n)
        return too_long(r);
    if (cp_buf_add(&r->text, s, n) != 0)
        return no_memory(r);
    return 0;
}

char *cp_wbrows_cell_text(struct cp_wbrows *r, size_t *len)
{
    *len = r->text.len - r->open_off;
    return r->text.data ? r->text.data + r->open_off : NULL;
}

void cp_wbrows_cell_truncate(struct cp_wbrows *r, size_t len)
{
    if (r->open_off + len < r->text.len) {
        r->text.len = r->open_off + len;
        r->text.data[r->text.len] = '\0';
    }
}

int cp_wbrows_cell_ref(struct cp_wbrows *r, const char *s, size_t len)
{
    assert(r->open);
    if (len > r->zip->lim->max_field_bytes)
        return too_long(r);
    r->ref = s;
    r->reflen = len;
    return 0;
}

void cp_wbrows_cell_cancel(struct cp_wbrows *r)
{
    r->open = 0;
    cp_wbrows_cell_truncate(r, 0);
}

static int too_far_right(struct cp_wbrows *r, unsigned long long col)
{
    char name[8];

    cp_col_name(r->zip->lim->max_columns > 0 ? (unsigned)(r->zip->lim->max_columns - 1) : 0,
                name);
    return cp_err_set(r->zip->err, CP_EX_DATAERR, "too_many_columns",
                      cp_wbrows_where(r, col, r->row),
                      "une cellule est remplie au-delà de la colonne %s (limite "
                      "de %lu colonnes) ; supprimez les colonnes inutiles puis "
                      "renvoyez le fichier.", name, r->zip->lim->max_columns);
}

static int push(struct cp_wbrows *r, const struct cp_cell *c, size_t off)
{
    if (r->ncells == r->cellcap) {
        size_t cap = r->cellcap, ocap = r->cellcap;
        if (grow((void **)&r->cells, &cap, r->ncells + 1, sizeof *r->cells) != 0 ||
            grow((void **)&r->offs, &ocap, r->ncells + 1, sizeof *r->offs) != 0)
            return no_memory(r);
        r->cellcap = cap; /* both arrays now hold cap elements */
    }
    r->cells[r->ncells] = *c;
    r->offs[r->ncells] = off;
    r->ncells++;
    return 0;
}

int cp_wbrows_cell_end(struct cp_wbrows *r, enum cp_cell_kind kind, double num)
{
    struct cp_cell c = { 0 };
    size_t len;

    assert(r->open);
    r->open = 0;
    len = r->ref ? r->reflen : r->text.len - r->open_off;
    if (len == 0 && kind != CP_CELL_NOVALUE) {
        cp_wbrows_cell_truncate(r, 0);
        return 0;
    }
    if (r->col >= r->zip->lim->max_columns)
        return too_far_right(r, r->col);
    if (r->ncells > 0 && r->col <= r->cells[r->ncells - 1].col)
        return cp_err_set(r->zip->err, CP_EX_DATAERR, "bad_xml",
                          cp_wbrows_where(r, r->col, r->row),
                          "les cellules de la ligne %llu de la feuille « %s » ne "
                          "sont pas dans l'ordre des colonnes : le classeur est "
                          "endommagé ; ouvrez-le puis enregistrez-le de nouveau "
                          "avec Excel ou LibreOffice.", r->row, r->sheet);
    c.col = (unsigned)r->col;
    c.kind = kind;
    c.len = len;
    c.num = num;
    if (r->ref) {
        c.text = r->ref;
        return push(r, &c, SIZE_MAX);
    }
    /* Each text keeps its NUL in the arena, so the next one cannot erase it. */
    if (cp_buf_addc(&r->text, '\0') != 0)
        return no_memory(r);
    return push(r, &c, r->open_off);
}

int cp_wbrows_cell_repeat(struct cp_wbrows *r, unsigned long long extra)
{
    struct cp_cell c;
    size_t off;

    if (r->ncells == 0 || extra == 0)
        return 0;
    c = r->cells[r->ncells - 1];
    off = r->offs[r->ncells - 1];
    if (extra >= r->zip->lim->max_columns - c.col)
        return too_far_right(r, (unsigned long long)c.col + extra);
    for (unsigned long long k = 0; k < extra; k++) {
        c.col++;
        if (push(r, &c, off) != 0)
            return -1;
    }
    return 0;
}

int cp_wbrows_number(const struct cp_wbrows *r, const char *s, size_t len,
                     double *out)
{
    char tmp[64];
    size_t i = 0, digits = 0;
    double v;
    char *end;

    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
                       s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    s += i;
    len -= i;
    if (len == 0 || len >= sizeof tmp || !r->cloc)
        return 0;
    /* The grammar is checked first: strtod alone would take "nan", "0x1p3"
     * or "inf". */
    i = 0;
    if (s[i] == '-' || s[i] == '+')
        i++;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = 0;
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, e++;
        if (e == 0)
            return 0;
    }
    if (i != len)
        return 0;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    v = strtod_l(tmp, &end, r->cloc);
    if (*end != '\0' || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}
