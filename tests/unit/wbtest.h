/*
 * Helpers for the workbook reader tests (test_xlsx.c, test_ods.c): a sink
 * that records every cell and checks the row contract, paths of the
 * sample files, and zip fixtures built at test time with libzip.
 */
#ifndef CALPAE_TESTS_WBTEST_H
#define CALPAE_TESTS_WBTEST_H

#include <stddef.h>

#include "ingest/reader.h"

struct wbt_cell {
    char *sheet;         /* owned */
    unsigned long row;
    unsigned col;
    enum cp_cell_kind kind;
    char *text;          /* owned copy */
    size_t len;
    double num;
};

struct wbt {
    struct wbt_cell *cells;    /* owned */
    size_t n, cap;
    char *sheets[64];          /* owned: names seen by sheet_begin */
    unsigned nsheets, ends;
    unsigned long rows;        /* row callbacks */
    unsigned long last_row;    /* line of the last row reported */
    int order_ok;              /* rows ascending per sheet, columns per row */
    int nested_ok;             /* begin/end alternate, rows only inside */
    int in_sheet;
    /* what the sink answers: sheet_begin of sheet skip_sheet (when
     * skip_on >= 0) returns skip_on; the row number act_row of any sheet
     * returns act_ret */
    int skip_on;
    unsigned skip_sheet;
    unsigned long act_row;
    int act_ret;
    /* the read */
    int rc;
    struct cp_err err;
    struct cp_read_info info;
};

void wbt_init(struct wbt *t);
/* Reads path with the XLSX (ods = 0) or ODS reader; lim may be NULL. */
int wbt_read(struct wbt *t, int ods, const char *path, const struct cp_limits *lim);
void wbt_release(struct wbt *t);
/* The recorded cell at ref ("D17") of sheet, or NULL. */
const struct wbt_cell *wbt_cell(const struct wbt *t, const char *sheet, const char *ref);
/* Cells recorded on that row of sheet. */
size_t wbt_row_cells(const struct wbt *t, const char *sheet, unsigned long row);

/* Paths (caller frees): a sample under $CALPAE_SRCDIR/data/sample, a
 * fixture under tests/data/workbook, a fresh temporary file name. */
char *wbt_sample(const char *name);
char *wbt_data(const char *name);
char *wbt_tmp(const char *suffix);

/* A zip entry for wbt_zip: data of len bytes (len 0: strlen), or, with
 * fill > 0, fill bytes generated on the fly: data, then fill_char (a
 * bomb needs no memory to be built). */
struct wbt_entry {
    const char *name;
    const char *data;
    size_t len;
    unsigned long long fill;
    char fill_char;
    int store; /* not compressed */
};
void wbt_zip(const char *path, const struct wbt_entry *e, size_t n);

/* A minimal XLSX: one sheet "Feuil1" whose worksheet element holds
 * "<sheetData>" then sheet_body (which closes sheetData and may add
 * mergeCells), optional shared strings (<si> list) and styles (the whole
 * styleSheet element). */
void wbt_xlsx(const char *path, const char *sheet_body, const char *sst_items,
              const char *styles);
/* A minimal ODS whose office:spreadsheet holds tables. */
void wbt_ods(const char *path, const char *tables);

/* Peak resident memory of this process, in MiB. */
long wbt_peak_rss_mib(void);
/* Monotonic seconds. */
double wbt_now(void);

#endif
