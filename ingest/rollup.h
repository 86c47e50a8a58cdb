/*
 * Reading a regional roll-up (rollup-<région>-<période>.csv, written by
 * calpae-render) at the national tier: the checksum, one région, our
 * catalog version, and totals that agree with their lines are checked
 * before anything is stored. Any failure rejects the whole file.
 */
#ifndef CALPAE_INGEST_ROLLUP_H
#define CALPAE_INGEST_ROLLUP_H

#include <sqlite3.h>

#include "common/err.h"

struct cp_ref;

/* The first bytes of a roll-up, after an optional UTF-8 BOM. */
#define CP_ROLLUP_MAGIC "#calpae-rollup;"

/* 1 when the n bytes at p (the start of a file) open a roll-up. */
int cp_rollup_sniff(const void *p, size_t n);

/*
 * Reads the roll-up at path (at most max_bytes), checks it and, when it
 * passes, writes its rows for fichier file_id inside the transaction the
 * caller holds. Returns 0 with *stored = the lines stored; 1 when the file
 * is refused, with why set (codes rollup_tronque, rollup_checksum,
 * rollup_format, rollup_version, rollup_regions, rollup_catalogue,
 * rollup_totaux, too_large, io; French message, location "L<n>" when a
 * line is at fault); -1 on a database or memory error, with err set.
 * ref is borrowed.
 */
int cp_rollup_ingest(sqlite3 *db, const struct cp_ref *ref, long long file_id,
                     const char *path, unsigned long long max_bytes, unsigned long *stored,
                     struct cp_err *why, struct cp_err *err);

#endif
