/*
 * The table interpreter: receives the rows a reader produces, finds the
 * header, recognises the shape (long, wide, report form), and turns each
 * cell into a normalised value (signatory code, period, indicator, value
 * in catalog units, target, comment) or a precise rejection. It knows
 * nothing of the database: values and rejections go to callbacks.
 */
#ifndef CALPAE_TABLE_H
#define CALPAE_TABLE_H

#include <stddef.h>

#include "common/num.h"
#include "common/period.h"
#include "ingest/reader.h"

struct cp_ref;

enum cp_shape { CP_SHAPE_NONE, CP_SHAPE_LONG, CP_SHAPE_WIDE, CP_SHAPE_REPORT };

/* One normalised value. Pointers are borrowed for the callback's duration. */
struct cp_obs {
    int sig;                  /* index into ref->sig */
    int ind;                  /* index into ref->ind */
    struct cp_period period;
    int has_value;            /* 0 when declared missing (missing is set) */
    double value;             /* catalog unit: percentages in points */
    enum cp_missing missing;
    int has_target;
    double target;
    const char *comment;      /* NULL or text */
    const char *raw;          /* the value cell's text as sent */
    /* Where the value cell is, for cp_obs_where only: the location made
     * already (a recorded observation, ingest/record.h), else made from
     * the table, line and column. */
    const char *where;
    struct cp_table *table;
    unsigned long line;
    long col;
};

/* One rejected row or cell. message is a complete French sentence naming
 * the file, the place, the raw text, what was expected and what to do. */
struct cp_rej {
    const char *where;        /* "Export!D17", "L12C1", "L12", "" */
    const char *code;         /* stable code: "not_a_number", "unknown_signatory"… */
    const char *raw;          /* the offending text, or NULL */
    const char *message;
    int sig, ind;             /* -1 when unknown */
    const struct cp_period *period; /* NULL when unknown */
};

struct cp_table_out {
    void *ctx;
    int (*value)(void *ctx, const struct cp_obs *obs);   /* 0, or < 0 to abort */
    int (*reject)(void *ctx, const struct cp_rej *rej);  /* 0, or < 0 to abort */
};

struct cp_table; /* opaque */

/* The value cell's location, "Export!D14" or "L14C4", written to out. Made
 * on demand: a figure repeated in a long file never needs it. */
void cp_obs_where(const struct cp_obs *o, char out[CP_ERR_WHERE_MAX]);

/* Creates an interpreter for one file; file_name (borrowed) is the base
 * name used in messages. Free with cp_table_free. */
struct cp_table *cp_table_new(const struct cp_ref *ref, const char *file_name,
                              const struct cp_table_out *out);
void cp_table_free(struct cp_table *t);

/* The sink to hand to a reader (cp_csv_read, cp_xlsx_read, cp_ods_read). */
struct cp_reader_sink cp_table_sink(struct cp_table *t);

/*
 * After the reader returned 0: checks that a table was found. Returns 0, or
 * -1 with err set ("no_header": no sheet holds a recognisable header; the
 * message lists what a header must contain).
 */
int cp_table_finish(struct cp_table *t, struct cp_err *err);

/* What was recognised: shape, and the sheet read (NULL for CSV). */
enum cp_shape cp_table_shape(const struct cp_table *t);
const char *cp_table_sheet(const struct cp_table *t);
const char *cp_shape_name(enum cp_shape s);

#endif
