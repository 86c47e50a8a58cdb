/*
 * An output table held in memory: built once from the database
 * (render/rquery.c, render/feedback.c) and written both as a worksheet
 * (render/xlsheet.c) and as CSV (render/csvout.c), so that the workbook and
 * the CSV exports always show the same figures. Cells keep numbers as
 * numbers; the number format, a finding mark and a style travel with each
 * cell and only the workbook uses them.
 */
#ifndef CALPAE_RTABLE_H
#define CALPAE_RTABLE_H

#include <stddef.h>

enum cp_rcell_kind {
    CP_RCELL_EMPTY,
    CP_RCELL_TEXT,     /* text: a string cell, never a formula */
    CP_RCELL_NUM,      /* num */
    CP_RCELL_DATETIME  /* text holds "YYYY-MM-DDTHH:MM:SS" */
};

/*
 * Number formats. Percentages are kept in points, as in the catalog and the
 * database (53.3 means 53,3 %), and shown with a literal " %" rather than
 * Excel's scaling "%" format: the same number is then read in the workbook,
 * in the CSV files and in the database. Format codes are stored in Excel's
 * invariant syntax ("#,##0.0"), which a French Excel shows as "1 234,5".
 */
enum cp_rnumfmt {
    CP_RNF_GENERAL,
    CP_RNF_INT,        /* 1 234 */
    CP_RNF_DEC,        /* 1 234,5 (up to three decimals) */
    CP_RNF_PCT,        /* 53,3 % (value in points) */
    CP_RNF_EUR,        /* 12 345 € */
    CP_RNF_EUR_CENTS,  /* 12 345,50 € */
    CP_RNF_DAYS,       /* 23,5 */
    CP_RNF_DIFF_INT,   /* +12 / -12 */
    CP_RNF_DIFF_DEC,   /* +1,5 */
    CP_RNF_DIFF_PT,    /* +2,1 pt (difference of two rates, in points) */
    CP_RNF_DIFF_PCT,   /* +4,0 % (relative change) */
    CP_RNF_DIFF_EUR,   /* +1 200 € */
    CP_RNF_DATETIME,   /* 20/07/2021 05:51 */
    CP_RNF_COUNT
};

/* The most severe finding on a value, shown as the cell's colour. */
enum cp_rmark { CP_RMARK_NONE, CP_RMARK_INFO, CP_RMARK_WARN, CP_RMARK_BLOCK, CP_RMARK_COUNT };

#define CP_RSTYLE_BOLD 1u   /* a total or aggregate row */
#define CP_RSTYLE_ITALIC 2u /* a partial figure */
#define CP_RSTYLE_WRAP 4u   /* long text */
#define CP_RSTYLE_COUNT 8u

struct cp_rcell {
    char *text;           /* owned; TEXT and DATETIME */
    double num;           /* NUM */
    unsigned char kind;   /* enum cp_rcell_kind */
    unsigned char numfmt; /* enum cp_rnumfmt */
    unsigned char mark;   /* enum cp_rmark */
    unsigned char style;  /* CP_RSTYLE_* */
};

struct cp_rtable {
    char *name;        /* worksheet name, at most 31 characters; owned */
    char *slug;        /* CSV base name without ".csv"; owned, may be NULL */
    char *title;       /* a line above the table in the workbook, or NULL */
    char **notes;      /* lines under the title (workbook only) */
    size_t nnotes;
    size_t ncols;
    char **head;       /* column headers */
    char **csvhead;    /* CSV header when it differs from head, else NULL */
    char **group;      /* a header spanning consecutive equal entries, or NULL */
    double *width;     /* column width in characters, 0 = from the content */
    size_t freeze_cols;/* columns kept visible when scrolling right */
    size_t nrows, cap;
    struct cp_rcell *cells; /* nrows * ncols, row-major */
    int failed;        /* sticky: a memory allocation failed */
};

/* Sets up an empty table with ncols columns; name and slug are copied.
 * Returns 0 or -1 (memory). Release with cp_rtable_release, even after a
 * failure. */
int cp_rtable_init(struct cp_rtable *t, const char *name, const char *slug, size_t ncols);
/* Frees everything the table owns; the table can be initialised again. */
void cp_rtable_release(struct cp_rtable *t);

/* Header text of a column (copied). Memory failures set t->failed, as for
 * every setter below, so that a builder checks once at the end. */
void cp_rtable_head(struct cp_rtable *t, size_t col, const char *head, const char *csvhead);
void cp_rtable_group(struct cp_rtable *t, size_t col, const char *group);
void cp_rtable_title(struct cp_rtable *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cp_rtable_note(struct cp_rtable *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends an empty row and returns its index, or (size_t)-1 on memory
 * failure (t->failed is then set and cell setters ignore the row). */
size_t cp_rtable_add_row(struct cp_rtable *t);
/* The cell, or NULL when row or col is out of range. */
struct cp_rcell *cp_rtable_cell(const struct cp_rtable *t, size_t row, size_t col);
/* Text cell (copied); NULL or "" leaves the cell empty. */
void cp_rtable_text(struct cp_rtable *t, size_t row, size_t col, const char *s);
void cp_rtable_textf(struct cp_rtable *t, size_t row, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cp_rtable_num(struct cp_rtable *t, size_t row, size_t col, double v, enum cp_rnumfmt f);
/* Date and time "YYYY-MM-DDTHH:MM:SS" (or a date alone); anything else is
 * kept as text. */
void cp_rtable_datetime(struct cp_rtable *t, size_t row, size_t col, const char *iso);
/* Sets the mark (keeping the most severe) and adds style bits. */
void cp_rtable_mark(struct cp_rtable *t, size_t row, size_t col, enum cp_rmark m);
void cp_rtable_style(struct cp_rtable *t, size_t row, size_t col, unsigned style);
void cp_rtable_row_style(struct cp_rtable *t, size_t row, unsigned style);

/* The format of a value in a catalog unit ("nb", "pct", "jours", "eur");
 * whole counts and whole euros get formats without decimals. */
enum cp_rnumfmt cp_rnumfmt_unit(const char *unit, double v);
/* The format of a difference of two values in that unit. */
enum cp_rnumfmt cp_rnumfmt_diff(const char *unit, double v);

/* The mark of a severity name ("bloquant", "avertissement", "info"). */
enum cp_rmark cp_rmark_of(const char *gravite);
/* The severity name of a mark ("" for none). */
const char *cp_rmark_name(enum cp_rmark m);

#endif
