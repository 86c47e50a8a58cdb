/*
 * Writing output tables (rtable.h) into an XLSX workbook with
 * libxlsxwriter, shared by synthese.xlsx (workbook.c) and the feedback
 * reports (feedback.c): French number formats, finding colours, frozen
 * header, filters, print setup. Text is only ever written as strings, never
 * as formulas. The file is written beside its final name and renamed into
 * place; an existing file with the same bytes is left untouched.
 */
#ifndef CALPAE_XLSHEET_H
#define CALPAE_XLSHEET_H

#include <xlsxwriter.h>

#include "common/err.h"
#include "render/rtable.h"

struct cp_xlbook {
    lxw_workbook *wb;     /* owned until close or abort */
    char *path;           /* final name, owned */
    char *tmp;            /* temporary name, owned */
    lxw_format *fmt[CP_RNF_COUNT][CP_RMARK_COUNT][CP_RSTYLE_COUNT]; /* owned by wb */
    lxw_format *head, *group, *title, *note;
};

/* Where a table landed on its sheet. */
struct cp_xlpos {
    lxw_worksheet *ws;    /* owned by the workbook */
    lxw_row_t head_row;   /* the column headers */
    lxw_row_t first_row;  /* the first data row (head_row + 1) */
};

/*
 * Starts a workbook for path. created ("YYYY-MM-DDTHH:MM:SS", read as UTC)
 * is written as the document's creation and modification date so that the
 * same data gives the same file; NULL or unreadable gives 2019-01-01.
 * title is the document title. Finish with cp_xlbook_close or
 * cp_xlbook_abort.
 */
int cp_xlbook_open(struct cp_xlbook *b, const char *path, const char *created,
                   const char *title, struct cp_err *err);
/* Writes the workbook, checks workbook_close, and renames it into place
 * (or drops it when the file already there has the same bytes). Always
 * releases b. */
int cp_xlbook_close(struct cp_xlbook *b, struct cp_err *err);
/* Drops the workbook without writing anything. Safe on a released b. */
void cp_xlbook_abort(struct cp_xlbook *b);

/* The format of a cell (created once per combination, top-aligned). NULL
 * on memory failure (libxlsxwriter then writes the cell unformatted). */
lxw_format *cp_xlbook_format(struct cp_xlbook *b, unsigned numfmt, unsigned mark,
                             unsigned style);

/* Adds a worksheet named t->name holding t: title and notes, the header
 * (with the spanning group row when t->group is set), frozen panes, an
 * autofilter over the header, column widths. pos may be NULL. */
int cp_xlbook_table(struct cp_xlbook *b, const struct cp_rtable *t, struct cp_xlpos *pos,
                    struct cp_err *err);

/* Writes text as a string cell: never a formula, invalid UTF-8 replaced,
 * cut to what a cell holds (32 767 characters). */
int cp_xlsheet_string(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *s,
                      lxw_format *f, struct cp_err *err);

/* Turns "YYYY-MM-DDTHH:MM:SS" (or a date alone) into an lxw_datetime;
 * 0 or -1. */
int cp_xlsheet_datetime(const char *iso, lxw_datetime *dt);

#endif
