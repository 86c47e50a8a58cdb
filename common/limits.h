/*
 * Caps applied to untrusted input: every submission is read within them,
 * so that a hostile or broken file is refused fast with bounded memory.
 */
#ifndef CALPAE_LIMITS_H
#define CALPAE_LIMITS_H

#include <stddef.h>

struct cp_limits {
    unsigned long long max_file_bytes;    /* size of a submitted file */
    size_t max_field_bytes;               /* one CSV field or cell text */
    unsigned long long max_entry_bytes;   /* inflated bytes of one archive entry */
    unsigned long long max_archive_bytes; /* inflated bytes read from one archive */
    unsigned long max_entries;            /* entries in one archive */
    double max_ratio;                     /* inflated / compressed size of an entry */
    unsigned max_xml_depth;               /* nesting of XML elements */
    unsigned long long max_cells;         /* non-empty cells read from one sheet */
    unsigned long max_columns;            /* columns of a row */
    size_t max_shared_strings_bytes;      /* XLSX shared strings table, in memory */
    double max_seconds;                   /* wall-clock time for one file */
};

/* 4 GiB file, 64 KiB field, 256 MiB entry, 1 GiB archive, 10 000 entries,
 * ratio 500 (past 1 MiB), depth 64, 10 M cells, 16 384 columns, 32 MiB shared
 * strings, 300 s. */
extern const struct cp_limits cp_limits_default;

#endif
