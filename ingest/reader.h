/*
 * What every submission reader (CSV, XLSX, ODS) produces: a stream of
 * rows of non-empty cells, sheet by sheet, pushed to a sink. The readers
 * know formats; the sink (ingest/table.c) knows table shapes and meaning.
 */
#ifndef CALPAE_READER_H
#define CALPAE_READER_H

#include <stddef.h>

#include "common/err.h"
#include "common/limits.h"

enum cp_cell_kind {
    CP_CELL_TEXT,    /* text: a CSV field, a string cell */
    CP_CELL_NUMBER,  /* a number cell: num is its value */
    CP_CELL_PERCENT, /* a number cell shown as a percentage: num is the
                        stored fraction (0.45 for "45 %") */
    CP_CELL_BOOL,    /* num is 0 or 1 */
    CP_CELL_DATE,    /* text is the ISO date as stored */
    CP_CELL_ERROR,   /* a spreadsheet error value: text is "#DIV/0!" … */
    CP_CELL_NOVALUE  /* a formula with no cached value: text is the formula */
};

struct cp_cell {
    unsigned col;           /* 0-based column (A = 0) */
    enum cp_cell_kind kind;
    const char *text;       /* borrowed, UTF-8, NUL-terminated, valid until the
                               row callback returns: the text as written
                               (numbers: the stored number as text) */
    size_t len;
    double num;             /* NUMBER, PERCENT, BOOL */
};

struct cp_row {
    const char *sheet;          /* sheet name as the workbook shows it; NULL for CSV */
    unsigned long line;         /* CSV: the text-editor line where the record
                                   starts (header = 1); workbook: the 1-based row */
    const struct cp_cell *cells;/* non-empty cells only, by ascending col */
    size_t ncells;
};

/* Return values of sink callbacks. A negative value aborts the read: the
 * reader then returns CP_READ_ABORTED and leaves err untouched. */
enum {
    CP_READ_CONTINUE = 0,
    CP_READ_NEXT_SHEET = 1, /* skip the rest of this sheet */
    CP_READ_STOP = 2        /* stop reading the file (not an error) */
};
#define CP_READ_ABORTED (-2)

struct cp_reader_sink {
    void *ctx;
    /* A sheet begins (CSV: one sheet, name NULL, index 0). May be NULL. */
    int (*sheet_begin)(void *ctx, const char *name, unsigned index);
    /* One row with at least one non-empty cell. Rows come in order; rows
     * with no cell are not reported (their numbers are skipped). */
    int (*row)(void *ctx, const struct cp_row *row);
    /* The sheet ended. May be NULL. */
    int (*sheet_end)(void *ctx);
};

struct cp_read_info {
    char encoding[24];  /* CSV: "UTF-8", "UTF-8 (BOM)", "UTF-16LE", "WINDOWS-1252", "ISO-8859-15" */
    char separator;     /* CSV: ';', ',', '\t' or '|' */
    unsigned sheets;    /* workbooks: number of sheets in the file */
};

/*
 * Each reader returns 0 when the whole file was read (or a sink asked to
 * stop), CP_READ_ABORTED when a sink callback returned < 0, and -1 when
 * the file cannot be read, with err filled: a stable code ("bad_encoding",
 * "unterminated_quote", "field_too_long", "bad_archive", "zip_bomb",
 * "too_many_entries", "dtd_forbidden", "xml_too_deep", "bad_xml",
 * "too_many_cells", "too_slow", "io"...), the location ("byte 146",
 * "L12", "xl/worksheets/sheet1.xml", "Export!D17") and a French sentence
 * saying what is wrong and what to do. info may be NULL.
 *
 * Merged cells: a vertically merged cell's value is reported on every row
 * it spans (in its first column only).
 */
int cp_csv_read(const char *path, const struct cp_limits *lim,
                const struct cp_reader_sink *sink, struct cp_read_info *info,
                struct cp_err *err);
int cp_xlsx_read(const char *path, const struct cp_limits *lim,
                 const struct cp_reader_sink *sink, struct cp_read_info *info,
                 struct cp_err *err);
int cp_ods_read(const char *path, const struct cp_limits *lim,
                const struct cp_reader_sink *sink, struct cp_read_info *info,
                struct cp_err *err);

/* Spreadsheet column name: 0 → "A", 27 → "AB". out holds 8 bytes. */
void cp_col_name(unsigned col, char *out);

#endif
