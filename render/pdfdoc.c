/* The A4 layout engine over cairo + pango (see pdfdoc.h). */
#include "render/pdfdoc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <pango/pangocairo.h>

#include "common/afile.h"

#define PAGE_W 595.276
#define PAGE_H 841.89
#define MARGIN_X 42.0
#define BODY_TOP 58.0
#define BODY_BOTTOM (PAGE_H - 52.0)
#define FONT "DejaVu Sans"
#define CELL_PAD 3.0
#define NANCHORS 32

struct cp_pdf {
    cairo_surface_t *surface;
    cairo_t *cr;
    const struct cp_pdf_meta *meta;
    int dry;              /* first pass */
    int page;             /* current page, 0 before the first */
    int total;            /* pages, known in the second pass */
    double y;
    int anchors[NANCHORS];     /* this pass */
    int anchors_prev[NANCHORS];/* from the first pass */
    int outline[3];            /* current bookmark ids per level */
    /* Layouts of the first pass, reused by the second: shaping and line
     * breaking are most of a document's cost, and both passes lay out the
     * same texts with the same fonts (both surfaces are PDF surfaces, so
     * font options and metrics are the same). Key: what layout() is given.
     * The thread's cache (see layout_cache), so the next document of the
     * thread reuses them too. */
    struct layout_cache *cache;
    /* The pass's Pango context (the surface's font options) and the house
     * font, shared by the layouts it makes (pango_cairo_create_layout
     * made a context per layout, and the font was parsed each time). */
    PangoContext *pango;
    PangoFontDescription *font;
};

/*
 * Layouts kept from a thread's documents for its next ones: the reports
 * of a job repeat their headings, column titles, advice and labels, and a
 * layout does not depend on the document (every surface is a PDF
 * surface). After a document, the cache keeps the layouts it used that an
 * earlier document used too (a text seen in the previous document is
 * known by its key), so what it holds between documents is that shared
 * text, not a whole document. Layouts are not thread-safe: one cache per
 * thread.
 */
struct layout_cache {
    GHashTable *map;        /* key (owned) → struct cached (owned) */
    GHashTable *seen;       /* the keys the previous document used (owned) */
    unsigned doc;           /* the document being laid out */
};

struct cached {
    PangoLayout *l;
    unsigned doc;           /* the latest document that used it */
    int shared;             /* used by an earlier document too */
};

static void cached_free(gpointer p)
{
    struct cached *c = p;

    g_object_unref(c->l);
    g_free(c);
}

static void layout_cache_free(gpointer p)
{
    struct layout_cache *c = p;

    g_hash_table_destroy(c->map);
    g_hash_table_destroy(c->seen);
    g_free(c);
}

static GPrivate layout_cache_key = G_PRIVATE_INIT(layout_cache_free);

static struct layout_cache *layout_cache_get(void)
{
    struct layout_cache *c = g_private_get(&layout_cache_key);

    if (!c) {
        c = g_new0(struct layout_cache, 1);
        c->map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cached_free);
        c->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_private_set(&layout_cache_key, c);
    }
    return c;
}

/* After document c->doc: its keys become the seen ones, and only its
 * shared layouts stay. */
static void layout_cache_end(struct layout_cache *c)
{
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_remove_all(c->seen);
    g_hash_table_iter_init(&it, c->map);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const struct cached *e = value;

        if (e->doc == c->doc)
            g_hash_table_add(c->seen, g_strdup(key));
        if (e->doc != c->doc || !e->shared)
            g_hash_table_iter_remove(&it);
    }
}

double cp_pdf_left(const struct cp_pdf *d) { (void)d; return MARGIN_X; }
double cp_pdf_width(const struct cp_pdf *d) { (void)d; return PAGE_W - 2 * MARGIN_X; }
double cp_pdf_y(const struct cp_pdf *d) { return d->y; }
double cp_pdf_room(const struct cp_pdf *d) { return BODY_BOTTOM - d->y; }
int cp_pdf_dry(const struct cp_pdf *d) { return d->dry; }
int cp_pdf_page(const struct cp_pdf *d) { return d->page; }
int cp_pdf_pages(const struct cp_pdf *d) { return d->total; }
cairo_t *cp_pdf_cairo(struct cp_pdf *d) { return d->cr; }

static void set_rgb(cairo_t *cr, unsigned rgb)
{
    cairo_set_source_rgb(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0,
                         (rgb & 0xFF) / 255.0);
}

/* The cache key of a layout: the exact bits of the doubles (as computed
 * again in the second pass, or by the next document), then the text. */
static char *layout_key(const char *text, double size, unsigned flags, double width,
                        int max_lines)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v[4];
    size_t n = strlen(text), k = 0;
    char *key = g_malloc(4 * 16 + 1 + n + 1);

    memcpy(&v[0], &size, sizeof size);
    v[1] = flags;
    memcpy(&v[2], &width, sizeof width);
    v[3] = (uint64_t)(int64_t)max_lines;
    for (int i = 0; i < 4; i++)
        for (int b = 60; b >= 0; b -= 4)
            key[k++] = hex[(v[i] >> b) & 0xF];
    key[k++] = '|';
    memcpy(key + k, text, n + 1);
    return key;
}

/* A layout for plain text in the house font. width <= 0: no wrapping. */
static PangoLayout *layout(struct cp_pdf *d, const char *text, double size, unsigned flags,
                           double width, int max_lines)
{
    PangoLayout *l;
    PangoFontDescription *fd;
    char *key = NULL;

    if (d->cache) {
        struct cached *c;

        key = layout_key(text ? text : "", size, flags, width, max_lines);
        c = g_hash_table_lookup(d->cache->map, key);
        if (c) {
            g_free(key);
            c->shared |= c->doc != d->cache->doc;
            c->doc = d->cache->doc;
            return g_object_ref(c->l);
        }
    }
    l = pango_layout_new(d->pango);
    fd = pango_font_description_copy_static(d->font);

    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    if (flags & CP_PDF_BOLD)
        pango_font_description_set_weight(fd, PANGO_WEIGHT_BOLD);
    if (flags & CP_PDF_ITALIC)
        pango_font_description_set_style(fd, PANGO_STYLE_ITALIC);
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    if (width > 0) {
        pango_layout_set_width(l, (int)(width * PANGO_SCALE));
        pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    }
    if (flags & CP_PDF_NOWRAP) {
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
        pango_layout_set_height(l, -1);
    } else if (max_lines > 0) {
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
        pango_layout_set_height(l, -max_lines);
    }
    pango_layout_set_alignment(l, (flags & CP_PDF_RIGHT)    ? PANGO_ALIGN_RIGHT
                                  : (flags & CP_PDF_CENTER) ? PANGO_ALIGN_CENTER
                                                            : PANGO_ALIGN_LEFT);
    /* Plain text: markup in the data stays text. Bytes that are not UTF-8
     * (never expected from the database) are replaced, not trusted. */
    if (text && !g_utf8_validate(text, -1, NULL)) {
        gchar *valid = g_utf8_make_valid(text, -1);
        pango_layout_set_text(l, valid, -1);
        g_free(valid);
    } else {
        pango_layout_set_text(l, text ? text : "", -1);
    }
    if (key) {
        struct cached *c = g_new(struct cached, 1);

        c->l = g_object_ref(l);
        c->doc = d->cache->doc;
        c->shared = g_hash_table_contains(d->cache->seen, key);
        g_hash_table_insert(d->cache->map, key, c); /* the table owns key */
    }
    return l;
}

static double layout_height(PangoLayout *l)
{
    int w, h;
    pango_layout_get_size(l, &w, &h);
    return (double)h / PANGO_SCALE;
}

static void show(struct cp_pdf *d, PangoLayout *l, double x, double y, unsigned flags)
{
    if (d->dry)
        return;
    cairo_save(d->cr);
    set_rgb(d->cr, (flags & CP_PDF_GREY) ? 0x666666 : 0x1A1A1A);
    cairo_move_to(d->cr, x, y);
    pango_cairo_show_layout(d->cr, l);
    cairo_restore(d->cr);
}

/* A line of small text at (x, y) of width w. */
static void small(struct cp_pdf *d, const char *text, double x, double y, double w,
                  unsigned flags)
{
    PangoLayout *l = layout(d, text, 7.5, flags | CP_PDF_GREY | CP_PDF_NOWRAP, w, 0);
    show(d, l, x, y, flags | CP_PDF_GREY);
    g_object_unref(l);
}

static void page_decor(struct cp_pdf *d)
{
    char foot[64];
    double w = cp_pdf_width(d);

    if (d->dry)
        return;
    if (d->page > 1) {
        small(d, d->meta->head_left, MARGIN_X, 30, w * 0.6, 0);
        small(d, d->meta->head_right, MARGIN_X + w * 0.4, 30, w * 0.6, CP_PDF_RIGHT);
        cairo_save(d->cr);
        set_rgb(d->cr, 0xBBBBBB);
        cairo_set_line_width(d->cr, 0.5);
        cairo_move_to(d->cr, MARGIN_X, 44);
        cairo_line_to(d->cr, PAGE_W - MARGIN_X, 44);
        cairo_stroke(d->cr);
        cairo_restore(d->cr);
    }
    if (d->total > 0)
        snprintf(foot, sizeof foot, "page %d / %d", d->page, d->total);
    else
        snprintf(foot, sizeof foot, "page %d", d->page);
    small(d, d->meta->foot_left, MARGIN_X, PAGE_H - 34, w * 0.7, 0);
    small(d, foot, MARGIN_X + w * 0.5, PAGE_H - 34, w * 0.5, CP_PDF_RIGHT);
}

void cp_pdf_new_page(struct cp_pdf *d)
{
    if (d->page > 0)
        cairo_show_page(d->cr);
    d->page++;
    d->y = BODY_TOP;
    page_decor(d);
}

void cp_pdf_need(struct cp_pdf *d, double h)
{
    if (d->page == 0 || (d->y + h > BODY_BOTTOM && d->y > BODY_TOP))
        cp_pdf_new_page(d);
}

void cp_pdf_skip(struct cp_pdf *d, double h)
{
    d->y = fmin(d->y + h, BODY_BOTTOM);
}

double cp_pdf_measure(struct cp_pdf *d, const char *text, double size, unsigned flags,
                      double width)
{
    PangoLayout *l = layout(d, text, size, flags, width, 0);
    double h = layout_height(l);
    g_object_unref(l);
    return h;
}

void cp_pdf_para(struct cp_pdf *d, const char *text, double size, unsigned flags, double indent)
{
    double x = MARGIN_X + indent, w = cp_pdf_width(d) - indent;
    PangoLayout *l = layout(d, text, size, flags, w, 0);
    PangoLayoutIter *it = pango_layout_get_iter(l);

    if (d->page == 0)
        cp_pdf_new_page(d);
    do {
        PangoRectangle logical;
        PangoLayoutLine *line = pango_layout_iter_get_line_readonly(it);
        int baseline = pango_layout_iter_get_baseline(it);
        double lh;

        pango_layout_iter_get_line_extents(it, NULL, &logical);
        lh = (double)logical.height / PANGO_SCALE;
        if (d->y + lh > BODY_BOTTOM)
            cp_pdf_new_page(d);
        if (!d->dry) {
            cairo_save(d->cr);
            set_rgb(d->cr, (flags & CP_PDF_GREY) ? 0x666666 : 0x1A1A1A);
            cairo_move_to(d->cr, x + (double)logical.x / PANGO_SCALE,
                          d->y + (double)(baseline - logical.y) / PANGO_SCALE);
            pango_cairo_show_layout_line(d->cr, line);
            cairo_restore(d->cr);
        }
        d->y += lh;
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
    g_object_unref(l);
}

void cp_pdf_heading(struct cp_pdf *d, int level, const char *text)
{
    static const double sizes[] = {17, 13, 11};
    double size = sizes[level < 1 ? 0 : level > 3 ? 2 : level - 1];
    double h = cp_pdf_measure(d, text, size, CP_PDF_BOLD, cp_pdf_width(d));

    if (level == 1)
        cp_pdf_new_page(d);
    else {
        cp_pdf_need(d, h + 90); /* never alone at the bottom of a page */
        if (d->y > BODY_TOP)
            cp_pdf_skip(d, level == 2 ? 10 : 6);
    }
    if (!d->dry && level <= 2) {
        char dest[32];
        int parent = level == 1 ? CAIRO_PDF_OUTLINE_ROOT : d->outline[0];

        snprintf(dest, sizeof dest, "page=%d pos=[0 %.0f]", d->page, d->y);
        d->outline[level - 1] =
            cairo_pdf_surface_add_outline(d->surface, parent, text ? text : "", dest,
                                          level == 1 ? CAIRO_PDF_OUTLINE_FLAG_OPEN : 0);
    }
    cp_pdf_para(d, text, size, CP_PDF_BOLD, 0);
    if (level == 1 && !d->dry) {
        cairo_save(d->cr);
        set_rgb(d->cr, 0x2E6DA4);
        cairo_set_line_width(d->cr, 1.2);
        cairo_move_to(d->cr, MARGIN_X, d->y + 3);
        cairo_line_to(d->cr, PAGE_W - MARGIN_X, d->y + 3);
        cairo_stroke(d->cr);
        cairo_restore(d->cr);
    }
    cp_pdf_skip(d, level == 1 ? 12 : 5);
}

void cp_pdf_line2(struct cp_pdf *d, const char *left, const char *right, double size,
                  unsigned flags, double indent)
{
    double w = cp_pdf_width(d) - indent;
    PangoLayout *r = layout(d, right, size, (flags & ~CP_PDF_CENTER) | CP_PDF_RIGHT | CP_PDF_NOWRAP,
                            w, 0);
    int rw, rh;
    PangoLayout *l;
    double h;

    pango_layout_get_pixel_size(r, &rw, &rh);
    l = layout(d, left, size, (flags & ~(CP_PDF_RIGHT | CP_PDF_CENTER)) | CP_PDF_NOWRAP,
               w - rw - 12, 0);
    h = fmax(layout_height(l), layout_height(r));
    cp_pdf_need(d, h);
    show(d, l, MARGIN_X + indent, d->y, flags);
    show(d, r, MARGIN_X + indent, d->y, flags);
    d->y += h;
    g_object_unref(l);
    g_object_unref(r);
}

void cp_pdf_anchor(struct cp_pdf *d, int k)
{
    if (k >= 0 && k < NANCHORS)
        d->anchors[k] = d->page;
}

int cp_pdf_anchor_page(const struct cp_pdf *d, int k)
{
    return k >= 0 && k < NANCHORS ? d->anchors_prev[k] : 0;
}

void cp_pdf_swatch(struct cp_pdf *d, double x, double y, double w, double h, unsigned rgb)
{
    if (d->dry)
        return;
    cairo_save(d->cr);
    set_rgb(d->cr, rgb);
    cairo_rectangle(d->cr, x, y, w, h);
    cairo_fill_preserve(d->cr);
    set_rgb(d->cr, 0x999999);
    cairo_set_line_width(d->cr, 0.4);
    cairo_stroke(d->cr);
    cairo_restore(d->cr);
}

/* ---- tables ---- */

/* Height of a cell's contents (text, then sub) in a column. */
static double cell_height(struct cp_pdf *d, const struct cp_pdf_table *t, int c,
                          const struct cp_pdf_cell *cell, unsigned extra, double size)
{
    double w = t->cols[c].width - 2 * CELL_PAD, h = 0;
    unsigned flags = t->cols[c].flags | cell->flags | extra;

    if (cell->text && *cell->text) {
        PangoLayout *l = layout(d, cell->text, size, flags, w, t->max_lines);
        h += layout_height(l);
        g_object_unref(l);
    }
    if (cell->sub && *cell->sub) {
        PangoLayout *l = layout(d, cell->sub, size - 1.5, flags | CP_PDF_GREY, w, t->max_lines);
        h += layout_height(l);
        g_object_unref(l);
    }
    return h + 2 * CELL_PAD;
}

static double row_height(struct cp_pdf *d, const struct cp_pdf_table *t,
                         const struct cp_pdf_cell *cells, unsigned extra, double size)
{
    double h = 0;
    for (int c = 0; c < t->ncols; c++)
        h = fmax(h, cell_height(d, t, c, &cells[c], extra, size));
    return h;
}

static void draw_row(struct cp_pdf *d, const struct cp_pdf_table *t,
                     const struct cp_pdf_cell *cells, unsigned extra, double size, double h,
                     unsigned zebra)
{
    double x = MARGIN_X;

    for (int c = 0; c < t->ncols; c++) {
        const struct cp_pdf_cell *cell = &cells[c];
        double w = t->cols[c].width, iw = w - 2 * CELL_PAD, y = d->y + CELL_PAD;
        unsigned flags = t->cols[c].flags | cell->flags | extra;
        unsigned bg = cell->bg ? cell->bg : zebra;

        if (!d->dry) {
            cairo_save(d->cr);
            if (bg) {
                set_rgb(d->cr, bg);
                cairo_rectangle(d->cr, x, d->y, w, h);
                cairo_fill(d->cr);
            }
            set_rgb(d->cr, 0xC8C8C8);
            cairo_set_line_width(d->cr, 0.4);
            cairo_rectangle(d->cr, x, d->y, w, h);
            cairo_stroke(d->cr);
            cairo_restore(d->cr);
        }
        if (cell->text && *cell->text) {
            PangoLayout *l = layout(d, cell->text, size, flags, iw, t->max_lines);
            show(d, l, x + CELL_PAD, y, flags);
            y += layout_height(l);
            g_object_unref(l);
        }
        if (cell->sub && *cell->sub) {
            PangoLayout *l = layout(d, cell->sub, size - 1.5, flags | CP_PDF_GREY, iw,
                                    t->max_lines);
            show(d, l, x + CELL_PAD, y, flags | CP_PDF_GREY);
            g_object_unref(l);
        }
        if (cell->mark && *cell->mark && !d->dry) {
            PangoLayout *l = layout(d, cell->mark, 6.0, CP_PDF_BOLD | CP_PDF_NOWRAP, iw, 0);
            cairo_save(d->cr);
            set_rgb(d->cr, cell->mark_rgb);
            cairo_move_to(d->cr, x + 1.2, d->y + 0.8);
            pango_cairo_show_layout(d->cr, l);
            cairo_restore(d->cr);
            g_object_unref(l);
        }
        x += w;
    }
    d->y += h;
}

static void header_row(struct cp_pdf *d, struct cp_pdf_table *t)
{
    struct cp_pdf_cell cells[CP_PDF_MAXCOLS];
    double h;

    memset(cells, 0, sizeof cells);
    for (int c = 0; c < t->ncols && c < CP_PDF_MAXCOLS; c++) {
        cells[c].text = t->cols[c].title;
        cells[c].bg = 0xDCE6F0;
    }
    h = row_height(d, t, cells, CP_PDF_BOLD, t->size - 0.5);
    draw_row(d, t, cells, CP_PDF_BOLD, t->size - 0.5, h, 0);
}

static double header_height(struct cp_pdf *d, struct cp_pdf_table *t)
{
    struct cp_pdf_cell cells[CP_PDF_MAXCOLS];

    memset(cells, 0, sizeof cells);
    for (int c = 0; c < t->ncols && c < CP_PDF_MAXCOLS; c++)
        cells[c].text = t->cols[c].title;
    return row_height(d, t, cells, CP_PDF_BOLD, t->size - 0.5);
}

void cp_pdf_table_begin(struct cp_pdf *d, struct cp_pdf_table *t)
{
    if (t->ncols > CP_PDF_MAXCOLS)
        t->ncols = CP_PDF_MAXCOLS;
    if (t->size <= 0)
        t->size = 8;
    if (t->max_lines <= 0)
        t->max_lines = 12;
    t->rows = 0;
    cp_pdf_need(d, header_height(d, t) + 3 * t->size + 2 * CELL_PAD);
    header_row(d, t);
}

void cp_pdf_table_row(struct cp_pdf *d, struct cp_pdf_table *t, const struct cp_pdf_cell *cells)
{
    double h = row_height(d, t, cells, 0, t->size);

    if (d->y + h > BODY_BOTTOM) {
        cp_pdf_new_page(d);
        if (t->caption && *t->caption) {
            char *cont = g_strdup_printf("%s (suite)", t->caption);
            cp_pdf_para(d, cont, 9, CP_PDF_BOLD | CP_PDF_GREY, 0);
            g_free(cont);
            cp_pdf_skip(d, 3);
        }
        header_row(d, t);
    }
    draw_row(d, t, cells, 0, t->size, h, t->rows % 2 ? 0xF5F7FA : 0);
    t->rows++;
}

void cp_pdf_table_end(struct cp_pdf *d, struct cp_pdf_table *t)
{
    (void)t;
    cp_pdf_skip(d, 8);
}

/* ---- the two passes ---- */

static cairo_status_t discard(void *closure, const unsigned char *data, unsigned int length)
{
    (void)closure;
    (void)data;
    (void)length;
    return CAIRO_STATUS_SUCCESS;
}

static int pass(struct cp_pdf *d, cairo_surface_t *s, cp_pdf_build_fn build, void *ctx,
                struct cp_err *err, const char *path)
{
    int rc;

    d->surface = s;
    d->cr = cairo_create(s);
    d->pango = pango_cairo_create_context(d->cr);
    d->page = 0;
    d->y = BODY_TOP;
    memset(d->anchors, 0, sizeof d->anchors);
    memset(d->outline, 0, sizeof d->outline);
    rc = build(d, ctx, err);
    if (rc == 0 && d->page == 0)
        cp_pdf_new_page(d);
    g_object_unref(d->pango);
    d->pango = NULL;
    cairo_destroy(d->cr);
    d->cr = NULL;
    cairo_surface_finish(s);
    if (rc == 0 && cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        rc = cp_err_set(err, CP_EX_IOERR, "io", path, "écriture de « %s » impossible : %s", path,
                        cairo_status_to_string(cairo_surface_status(s)));
    cairo_surface_destroy(s);
    d->surface = NULL;
    return rc;
}

static int write_passes(struct cp_pdf *d, const char *path, cp_pdf_build_fn build, void *ctx,
                        struct cp_err *err);

int cp_pdf_write(const char *path, const struct cp_pdf_meta *meta, cp_pdf_build_fn build,
                 void *ctx, struct cp_err *err)
{
    struct cp_pdf d;
    int rc;

    memset(&d, 0, sizeof d);
    d.meta = meta;
    d.cache = layout_cache_get();
    d.cache->doc++;
    d.font = pango_font_description_from_string(FONT);
    rc = write_passes(&d, path, build, ctx, err);
    layout_cache_end(d.cache);
    pango_font_description_free(d.font);
    return rc;
}

static int write_passes(struct cp_pdf *d, const char *path, cp_pdf_build_fn build, void *ctx,
                        struct cp_err *err)
{
    const struct cp_pdf_meta *meta = d->meta;
    cairo_surface_t *s;
    char *tmp;

    /* First pass: count pages, note where sections start. */
    d->dry = 1;
    s = cairo_pdf_surface_create_for_stream(discard, NULL, PAGE_W, PAGE_H);
    if (pass(d, s, build, ctx, err, path) < 0)
        return -1;
    d->total = d->page;
    memcpy(d->anchors_prev, d->anchors, sizeof d->anchors);

    /* Second pass: the file. */
    d->dry = 0;
    tmp = cp_afile_temp_path(path, err);
    if (!tmp)
        return -1;
    s = cairo_pdf_surface_create(tmp, PAGE_W, PAGE_H);
    if (meta->title)
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, meta->title);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "calpae");
    if (meta->created && strlen(meta->created) >= 19)
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, meta->created);
    if (pass(d, s, build, ctx, err, path) < 0) {
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (d->page != d->total) {
        unlink(tmp);
        free(tmp);
        return cp_err_set(err, CP_EX_SOFTWARE, "internal", path,
                          "mise en page instable (%d puis %d pages)", d->total, d->page);
    }
    if (cp_afile_rename(tmp, path, err) < 0) {
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
