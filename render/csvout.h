/*
 * CSV exports for French Excel: UTF-8 with a byte order mark, ';' between
 * fields, decimal comma, CRLF line ends, RFC 4180 quoting. Text that a
 * spreadsheet could take for a formula (starting with '=', '+', '-', '@',
 * TAB or CR) gets a leading apostrophe, which Excel shows and never
 * evaluates; numbers stay numbers ("-12" is written -12, unquoted).
 */
#ifndef CALPAE_CSVOUT_H
#define CALPAE_CSVOUT_H

#include "common/buf.h"
#include "common/err.h"
#include "render/rtable.h"

/* Appends one field (no separator) to b: neutralised, quoted when it holds
 * ';', '"', CR or LF. 0, or -1 when b is full. */
int cp_csv_text(struct cp_buf *b, const char *s);
/* Appends a number with a decimal comma, no grouping: 1234.5 → "1234,5". */
int cp_csv_number(struct cp_buf *b, double v);

/* Writes t (its header line, then its rows) to path atomically; a file
 * already holding the same bytes is left untouched. */
int cp_csv_write_table(const struct cp_rtable *t, const char *path, struct cp_err *err);

#endif
