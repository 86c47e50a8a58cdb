/*
 * CSV reader internals for tests and fuzzing. The stage itself calls
 * cp_csv_read, declared with the other readers in reader.h.
 */
#ifndef CALPAE_CSV_H
#define CALPAE_CSV_H

#include "ingest/reader.h"

/* Every line goes through libcsv, none through the fast path that splits
 * quote-free lines itself: the two must give the same rows. */
#define CP_CSV_LIBCSV_ONLY 1u

/* Reads in blocks of a few dozen bytes, so that small inputs cross block
 * boundaries: the rows must not change. */
#define CP_CSV_SMALL_BLOCKS 2u

/* cp_csv_read with flags (CP_CSV_* or 0); same contract. */
int cp_csv_read_flags(const char *path, const struct cp_limits *lim,
                      const struct cp_reader_sink *sink, struct cp_read_info *info,
                      struct cp_err *err, unsigned flags);

#endif
