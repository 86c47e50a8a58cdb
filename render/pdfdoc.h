/*
 * A small page layout engine over cairo + pango for the A4 PDFs people
 * read (the dossier, the feedback reports): flowing paragraphs and
 * headings, tables that break across pages and repeat their header row,
 * cell text that wraps and never leaves its cell, a running header and
 * "page N / M" footers, PDF bookmarks, and SVG pictures drawn as vectors.
 *
 * A document is laid out twice by the same build function: the first
 * pass writes nothing and counts pages (and where sections start), the
 * second writes the file, now knowing M. The build function must
 * therefore be deterministic. Text is always set as plain text (never as
 * Pango markup), so nothing in the data can change the styling.
 */
#ifndef CALPAE_RENDER_PDFDOC_H
#define CALPAE_RENDER_PDFDOC_H

#include <cairo.h>

#include "common/err.h"

struct cp_pdf;

/* Text flags. */
enum {
    CP_PDF_BOLD = 1u << 0,
    CP_PDF_ITALIC = 1u << 1,
    CP_PDF_RIGHT = 1u << 2,
    CP_PDF_CENTER = 1u << 3,
    CP_PDF_GREY = 1u << 4,
    CP_PDF_NOWRAP = 1u << 5, /* one line, ellipsized */
};

struct cp_pdf_meta {
    const char *title;        /* PDF metadata title */
    const char *head_left;    /* running header, left (not on page 1) */
    const char *head_right;   /* running header, right */
    const char *foot_left;    /* footer, left of "page N / M" */
    const char *created;      /* ISO time for the metadata, or NULL */
};

/* Called twice; returns 0, or -1 with err to abandon the document. */
typedef int (*cp_pdf_build_fn)(struct cp_pdf *d, void *ctx, struct cp_err *err);

/*
 * Lays out the document twice and writes it atomically to path
 * (temporary file + rename). Returns 0 or -1 with err.
 */
int cp_pdf_write(const char *path, const struct cp_pdf_meta *meta, cp_pdf_build_fn build,
                 void *ctx, struct cp_err *err);

/* Geometry: the text block, in points. */
double cp_pdf_left(const struct cp_pdf *d);
double cp_pdf_width(const struct cp_pdf *d);
/* Current vertical position, and what is left on the page below it. */
double cp_pdf_y(const struct cp_pdf *d);
double cp_pdf_room(const struct cp_pdf *d);
/* 1 during the first (counting) pass. */
int cp_pdf_dry(const struct cp_pdf *d);
/* The page being laid out (from 1) and, in the second pass, the total. */
int cp_pdf_page(const struct cp_pdf *d);
int cp_pdf_pages(const struct cp_pdf *d);
/* The cairo context of the current page (to draw pictures). */
cairo_t *cp_pdf_cairo(struct cp_pdf *d);

/* Starts a new page. */
void cp_pdf_new_page(struct cp_pdf *d);
/* Starts a new page unless h points fit below the current position. */
void cp_pdf_need(struct cp_pdf *d, double h);
/* Moves down by h points (not past the bottom of the page). */
void cp_pdf_skip(struct cp_pdf *d, double h);

/* A paragraph across the text block (indented by indent points), broken
 * across pages line by line when needed. */
void cp_pdf_para(struct cp_pdf *d, const char *text, double size, unsigned flags,
                 double indent);
/* Height a paragraph would take. */
double cp_pdf_measure(struct cp_pdf *d, const char *text, double size, unsigned flags,
                      double width);
/* One line: left text, and right text flush right (tables of contents,
 * label/value lines). */
void cp_pdf_line2(struct cp_pdf *d, const char *left, const char *right, double size,
                  unsigned flags, double indent);
/* A heading (level 1: new section, 2: subsection, 3: minor), kept with
 * what follows, and a PDF bookmark for levels 1 and 2. */
void cp_pdf_heading(struct cp_pdf *d, int level, const char *text);

/* Records that section k starts here; cp_pdf_anchor_page gives, in the
 * second pass, the page recorded in the first (0 when unknown). k < 32. */
void cp_pdf_anchor(struct cp_pdf *d, int k);
int cp_pdf_anchor_page(const struct cp_pdf *d, int k);

/* A filled and labelled box (legends): colour 0xRRGGBB. */
void cp_pdf_swatch(struct cp_pdf *d, double x, double y, double w, double h, unsigned rgb);

/* ---- tables ---- */

#define CP_PDF_MAXCOLS 16

struct cp_pdf_col {
    const char *title;    /* header text (wrapped) */
    double width;         /* points */
    unsigned flags;       /* CP_PDF_RIGHT for numbers... */
};

struct cp_pdf_cell {
    const char *text;     /* main text, may be NULL */
    const char *sub;      /* a second, smaller grey text under it, or NULL */
    const char *mark;     /* a small mark in the top-left corner, or NULL */
    unsigned mark_rgb;    /* its colour */
    unsigned bg;          /* background 0xRRGGBB, 0 for none */
    unsigned flags;       /* added to the column's flags */
};

struct cp_pdf_table {
    const struct cp_pdf_col *cols;
    int ncols;
    double size;          /* font size of the cells */
    int max_lines;        /* a cell's text is cut (…) past this many lines */
    const char *caption;  /* repeated as "<caption> (suite)" on a new page */
    /* private */
    int rows;
};

/* Starts a table at the current position: header row (on a new page if
 * the header and one row do not fit). */
void cp_pdf_table_begin(struct cp_pdf *d, struct cp_pdf_table *t);
/* One row; on a new page when it does not fit, after the caption and the
 * header row again. */
void cp_pdf_table_row(struct cp_pdf *d, struct cp_pdf_table *t, const struct cp_pdf_cell *cells);
/* Space after the table. */
void cp_pdf_table_end(struct cp_pdf *d, struct cp_pdf_table *t);

#endif
