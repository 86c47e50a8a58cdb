/* In-memory output tables shared by the workbook and the CSV writers (see
 * rtable.h). */
#include "render/rtable.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* Longest header, note or cell text kept (a CSV field cap would be larger
 * than anything a cell of the workbook can hold anyway). */
#define RTABLE_TEXT_MAX (1u << 20)

static char *dup_or_fail(struct cp_rtable *t, const char *s)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        t->failed = 1;
    return d;
}

int cp_rtable_init(struct cp_rtable *t, const char *name, const char *slug, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->name = dup_or_fail(t, name);
    t->slug = dup_or_fail(t, slug);
    t->head = calloc(ncols ? ncols : 1, sizeof *t->head);
    t->csvhead = calloc(ncols ? ncols : 1, sizeof *t->csvhead);
    t->group = calloc(ncols ? ncols : 1, sizeof *t->group);
    t->width = calloc(ncols ? ncols : 1, sizeof *t->width);
    if (!t->head || !t->csvhead || !t->group || !t->width)
        t->failed = 1;
    return t->failed ? -1 : 0;
}

void cp_rtable_release(struct cp_rtable *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i].text);
    for (size_t c = 0; c < t->ncols; c++) {
        if (t->head)
            free(t->head[c]);
        if (t->csvhead)
            free(t->csvhead[c]);
        if (t->group)
            free(t->group[c]);
    }
    for (size_t i = 0; i < t->nnotes; i++)
        free(t->notes[i]);
    free(t->notes);
    free(t->cells);
    free(t->head);
    free(t->csvhead);
    free(t->group);
    free(t->width);
    free(t->name);
    free(t->slug);
    free(t->title);
    memset(t, 0, sizeof *t);
}

void cp_rtable_head(struct cp_rtable *t, size_t col, const char *head, const char *csvhead)
{
    if (col >= t->ncols || !t->head)
        return;
    free(t->head[col]);
    free(t->csvhead[col]);
    t->head[col] = dup_or_fail(t, head);
    t->csvhead[col] = dup_or_fail(t, csvhead);
}

void cp_rtable_group(struct cp_rtable *t, size_t col, const char *group)
{
    if (col >= t->ncols || !t->group)
        return;
    free(t->group[col]);
    t->group[col] = dup_or_fail(t, group);
}

static char *vformat(struct cp_rtable *t, const char *fmt, va_list ap)
{
    struct cp_buf b = CP_BUF_INIT(RTABLE_TEXT_MAX);
    char *s;

    if (cp_buf_vaddf(&b, fmt, ap) < 0) {
        cp_buf_release(&b);
        t->failed = 1;
        return NULL;
    }
    s = cp_buf_detach(&b);
    if (!s)
        t->failed = 1;
    return s;
}

void cp_rtable_title(struct cp_rtable *t, const char *fmt, ...)
{
    va_list ap;

    free(t->title);
    va_start(ap, fmt);
    t->title = vformat(t, fmt, ap);
    va_end(ap);
}

void cp_rtable_note(struct cp_rtable *t, const char *fmt, ...)
{
    char **n;
    va_list ap;

    n = realloc(t->notes, (t->nnotes + 1) * sizeof *n);
    if (!n) {
        t->failed = 1;
        return;
    }
    t->notes = n;
    va_start(ap, fmt);
    n[t->nnotes] = vformat(t, fmt, ap);
    va_end(ap);
    if (n[t->nnotes])
        t->nnotes++;
}

size_t cp_rtable_add_row(struct cp_rtable *t)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        struct cp_rcell *c;

        if (t->ncols && cap > (size_t)-1 / 2 / t->ncols / sizeof *c) {
            t->failed = 1;
            return (size_t)-1;
        }
        c = realloc(t->cells, cap * (t->ncols ? t->ncols : 1) * sizeof *c);
        if (!c) {
            t->failed = 1;
            return (size_t)-1;
        }
        t->cells = c;
        t->cap = cap;
    }
    memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof *t->cells);
    return t->nrows++;
}

struct cp_rcell *cp_rtable_cell(const struct cp_rtable *t, size_t row, size_t col)
{
    if (row >= t->nrows || col >= t->ncols)
        return NULL;
    return &t->cells[row * t->ncols + col];
}

static void set_text(struct cp_rtable *t, size_t row, size_t col, char *owned,
                     enum cp_rcell_kind kind)
{
    struct cp_rcell *c = cp_rtable_cell(t, row, col);

    if (!c || !owned) {
        free(owned);
        return;
    }
    free(c->text);
    c->text = owned;
    c->kind = (unsigned char)kind;
    c->numfmt = kind == CP_RCELL_DATETIME ? CP_RNF_DATETIME : CP_RNF_GENERAL;
}

void cp_rtable_text(struct cp_rtable *t, size_t row, size_t col, const char *s)
{
    if (!s || !*s)
        return;
    set_text(t, row, col, dup_or_fail(t, s), CP_RCELL_TEXT);
}

void cp_rtable_textf(struct cp_rtable *t, size_t row, size_t col, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = vformat(t, fmt, ap);
    va_end(ap);
    if (s && !*s) {
        free(s);
        return;
    }
    set_text(t, row, col, s, CP_RCELL_TEXT);
}

void cp_rtable_num(struct cp_rtable *t, size_t row, size_t col, double v, enum cp_rnumfmt f)
{
    struct cp_rcell *c = cp_rtable_cell(t, row, col);

    if (!c || !isfinite(v))
        return;
    free(c->text);
    c->text = NULL;
    c->kind = CP_RCELL_NUM;
    c->num = v;
    c->numfmt = (unsigned char)f;
}

/* "YYYY-MM-DD" optionally followed by "THH:MM:SS" or " HH:MM:SS". */
static int is_iso(const char *s)
{
    static const char pat[] = "dddd-dd-dd?dd:dd:dd";
    size_t n = strlen(s);

    if (n != 10 && n != 19)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (pat[i] == 'd' && (s[i] < '0' || s[i] > '9'))
            return 0;
        if (pat[i] == '?' && s[i] != 'T' && s[i] != ' ')
            return 0;
        if (pat[i] != 'd' && pat[i] != '?' && s[i] != pat[i])
            return 0;
    }
    return 1;
}

void cp_rtable_datetime(struct cp_rtable *t, size_t row, size_t col, const char *iso)
{
    if (!iso || !*iso)
        return;
    set_text(t, row, col, dup_or_fail(t, iso), is_iso(iso) ? CP_RCELL_DATETIME : CP_RCELL_TEXT);
}

void cp_rtable_mark(struct cp_rtable *t, size_t row, size_t col, enum cp_rmark m)
{
    struct cp_rcell *c = cp_rtable_cell(t, row, col);

    if (c && (unsigned)m > c->mark)
        c->mark = (unsigned char)m;
}

void cp_rtable_style(struct cp_rtable *t, size_t row, size_t col, unsigned style)
{
    struct cp_rcell *c = cp_rtable_cell(t, row, col);

    if (c)
        c->style = (unsigned char)((c->style | style) & (CP_RSTYLE_COUNT - 1));
}

void cp_rtable_row_style(struct cp_rtable *t, size_t row, unsigned style)
{
    for (size_t col = 0; col < t->ncols; col++)
        cp_rtable_style(t, row, col, style);
}

static int is_whole(double v)
{
    return isfinite(v) && v == floor(v);
}

enum cp_rnumfmt cp_rnumfmt_unit(const char *unit, double v)
{
    if (!unit)
        return CP_RNF_GENERAL;
    if (strcmp(unit, "pct") == 0)
        return CP_RNF_PCT;
    if (strcmp(unit, "eur") == 0)
        return is_whole(v) ? CP_RNF_EUR : CP_RNF_EUR_CENTS;
    if (strcmp(unit, "jours") == 0)
        return CP_RNF_DAYS;
    if (strcmp(unit, "nb") == 0)
        return is_whole(v) ? CP_RNF_INT : CP_RNF_DEC;
    return CP_RNF_GENERAL;
}

enum cp_rnumfmt cp_rnumfmt_diff(const char *unit, double v)
{
    if (unit && strcmp(unit, "pct") == 0)
        return CP_RNF_DIFF_PT;
    if (unit && strcmp(unit, "eur") == 0)
        return CP_RNF_DIFF_EUR;
    return is_whole(v) ? CP_RNF_DIFF_INT : CP_RNF_DIFF_DEC;
}

enum cp_rmark cp_rmark_of(const char *g)
{
    if (!g)
        return CP_RMARK_NONE;
    if (strcmp(g, "bloquant") == 0)
        return CP_RMARK_BLOCK;
    if (strcmp(g, "avertissement") == 0)
        return CP_RMARK_WARN;
    if (strcmp(g, "info") == 0)
        return CP_RMARK_INFO;
    return CP_RMARK_NONE;
}

const char *cp_rmark_name(enum cp_rmark m)
{
    switch (m) {
    case CP_RMARK_BLOCK:
        return "bloquant";
    case CP_RMARK_WARN:
        return "avertissement";
    case CP_RMARK_INFO:
        return "info";
    default:
        return "";
    }
}
