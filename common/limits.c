/* Default caps on untrusted input (see limits.h). */
#include "common/limits.h"

const struct cp_limits cp_limits_default = {
    .max_file_bytes = 4ULL << 30,
    .max_field_bytes = 64u << 10,
    .max_entry_bytes = 256ULL << 20,
    .max_archive_bytes = 1ULL << 30,
    .max_entries = 10000,
    .max_ratio = 500.0,
    .max_xml_depth = 64,
    .max_cells = 10000000ULL,
    .max_columns = 16384,
    .max_shared_strings_bytes = 32u << 20,
    .max_seconds = 300.0,
};
