/*
 * Row assembly shared by the workbook readers (XLSX, ODS): the cells of
 * the row being read, fill-down of vertically merged cells, the caps on
 * cells, columns and cell text, and the calls to the sink. A reader says
 * what it parses (row begins, cell text, cell ends, row ends) and this
 * module decides what the sink sees (reader.h).
 */
#ifndef CALPAE_WBROWS_H
#define CALPAE_WBROWS_H

#include <locale.h>
#include <stddef.h>

#include "common/buf.h"
#include "ingest/reader.h"
#include "ingest/zipxml.h"

/* Rows beyond this number are refused ("too_many_rows"): no spreadsheet
 * has that many, and row arithmetic stays far from overflow. */
#define CP_WBROWS_MAX_ROW (1ULL << 32)

struct cp_wbspan;

struct cp_wbrows {
    struct cp_zip *zip;                 /* borrowed: caps, clock, err */
    const struct cp_reader_sink *sink;  /* borrowed */
    char *sheet;                        /* owned copy of the sheet's name */
    unsigned long long row;             /* row being built (1-based) */
    unsigned long long next;            /* first row not yet reported */
    unsigned long long sheet_cells;     /* cells reported in this sheet */
    unsigned long long emitted;         /* rows reported, for the clock */

    struct cp_cell *cells;              /* the row's own cells, by column */
    size_t *offs;                       /* their text offset in text, or
                                           SIZE_MAX for borrowed text */
    size_t ncells, cellcap;
    struct cp_buf text;                 /* the row's cell texts */

    int open;                           /* a cell is being read */
    unsigned long long col;             /* its column */
    size_t open_off;                    /* its text offset */
    const char *ref;                    /* its borrowed text, or NULL */
    size_t reflen;

    struct cp_cell *out;                /* what the sink receives */
    size_t outcap;
    struct cp_wbspan *spans;            /* fill-down values, by column */
    size_t nspans;
    size_t span_bytes;                  /* text held by spans */
    struct cp_wbanchor {
        unsigned long long col, last;
    } *anchors;                         /* spans starting in this row */
    size_t nanchors, anchorcap;

    locale_t cloc;                      /* "C" numbers, whatever the
                                           process locale */
    char where[CP_ERR_WHERE_MAX];
};

/* Prepares r; nothing allocated yet. z and sink are borrowed. */
void cp_wbrows_init(struct cp_wbrows *r, struct cp_zip *z,
                    const struct cp_reader_sink *sink);
/* Frees everything r holds. */
void cp_wbrows_release(struct cp_wbrows *r);

/*
 * Each function below returns 0 to go on, or what the reader must stop
 * with: CP_READ_NEXT_SHEET or CP_READ_STOP (a sink asked), CP_READ_ABORTED
 * (a sink returned < 0), or -1 with the archive's err filled.
 */

/* A sheet begins: calls sink->sheet_begin. name is copied. */
int cp_wbrows_sheet_begin(struct cp_wbrows *r, const char *name, unsigned index);
/* The sheet ends: with flush, reports the rows still covered by merged
 * cells, then calls sink->sheet_end. */
int cp_wbrows_sheet_end(struct cp_wbrows *r, int flush);

/* Row number row (1-based) begins; rows must come in ascending order. */
int cp_wbrows_row_begin(struct cp_wbrows *r, unsigned long long row);
/* The row ends; it stands for repeat identical rows (ODS). Reports it
 * (each time) when it has cells or merged cells cover it. */
int cp_wbrows_row_end(struct cp_wbrows *r, unsigned long long repeat);
/* The cell at (current row, col) anchors a vertical merge down to row
 * last: its value will be repeated in that column on the rows below. */
int cp_wbrows_span(struct cp_wbrows *r, unsigned long long col,
                   unsigned long long last);

/* A cell at column col (0-based) begins; columns must ascend. */
void cp_wbrows_cell_begin(struct cp_wbrows *r, unsigned long long col);
/* Appends to the open cell's text, within max_field_bytes. */
int cp_wbrows_cell_add(struct cp_wbrows *r, const char *s, size_t n);
/* The open cell's text so far (NUL-terminated is not guaranteed), valid
 * until the next addition; *len its length. May be rewritten in place
 * and shortened with cp_wbrows_cell_truncate. */
char *cp_wbrows_cell_text(struct cp_wbrows *r, size_t *len);
void cp_wbrows_cell_truncate(struct cp_wbrows *r, size_t len);
/* Gives the open cell a borrowed text instead (valid until the row
 * ends), within max_field_bytes. */
int cp_wbrows_cell_ref(struct cp_wbrows *r, const char *s, size_t len);
/* The open cell ends with that kind and number. A cell with an empty
 * text is dropped (except NOVALUE). */
int cp_wbrows_cell_end(struct cp_wbrows *r, enum cp_cell_kind kind, double num);
/* The open cell is dropped. */
void cp_wbrows_cell_cancel(struct cp_wbrows *r);
/* The last cell added is repeated on the extra columns to its right. */
int cp_wbrows_cell_repeat(struct cp_wbrows *r, unsigned long long extra);

/*
 * Reads s (len bytes) as a number as spreadsheets store it ("84.4",
 * "-1E-3", surrounding blanks allowed): 1 and *out when it is one and
 * finite, else 0.
 */
int cp_wbrows_number(const struct cp_wbrows *r, const char *s, size_t len,
                     double *out);

/* "Sheet!B12" for messages, in r's own buffer. */
const char *cp_wbrows_where(struct cp_wbrows *r, unsigned long long col,
                            unsigned long long row);

#endif
