/*
 * ODS reader (OpenDocument spreadsheet, LibreOffice and others): checks
 * the mimetype, then streams content.xml to the sink (reader.h) one row
 * at a time. Repeated empty rows and columns are skipped without being
 * expanded; repeated non-empty ones are reported each time.
 *
 * Callbacks: after sheet_begin, sheet_end is called unless a callback
 * returned CP_READ_STOP or < 0 (also after CP_READ_NEXT_SHEET). After
 * CP_READ_STOP the rest of content.xml is only scanned to count sheets.
 */
#include "ingest/reader.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "ingest/wbrows.h"
#include "ingest/zipxml.h"

enum { NS_NONE = 0, NS_OFFICE = 1, NS_TABLE = 2, NS_TEXT = 3, NS_CALCEXT = 4, NS_DRAW = 5 };

static const struct cp_xml_ns ods_ns[] = {
    { "urn:oasis:names:tc:opendocument:xmlns:office:1.0", NS_OFFICE },
    { "urn:oasis:names:tc:opendocument:xmlns:table:1.0", NS_TABLE },
    { "urn:oasis:names:tc:opendocument:xmlns:text:1.0", NS_TEXT },
    { "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0", NS_CALCEXT },
    { "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0", NS_DRAW },
    { NULL, 0 }
};

static const char kind_name[] = "classeur ODS";
static const char mime_ods[] = "application/vnd.oasis.opendocument.spreadsheet";
static const char fix_hint[] =
    "ouvrez-le puis enregistrez-le de nouveau avec LibreOffice ou Excel";

/* Repeat counts beyond this are clamped: no sheet is that long. */
#define MAX_REPEAT (1ULL << 40)

struct ods {
    struct cp_zip zip;
    const struct cp_limits *lim;
    struct cp_wbrows rows;
    unsigned nsheets;       /* tables seen */
    int stopped;            /* the sink said STOP: only count tables */
    int result;             /* what the parse stopped with */

    unsigned skip;          /* elements open in a subtree being skipped */
    unsigned table_depth;   /* depth of the current table element */
    int skipping_table;     /* that subtree is a table the sink skipped */

    int in_spreadsheet, in_table, in_row, in_cell;
    unsigned long long row, row_repeat, col;

    /* the cell being read */
    unsigned cell_depth;
    enum cp_cell_kind kind;
    double num;
    int use_p;              /* its text comes from its paragraphs */
    int novalue_if_empty;   /* a formula without value: NOVALUE */
    unsigned long long col_repeat, row_span;
    size_t nparas;
    int in_p, p_content, p_pending, p_prev_ws;
    struct cp_buf formula;
};

/* Row and column counters stop at half the range: never wrapped, far
 * beyond anything reportable. */
static unsigned long long sat_add(unsigned long long a, unsigned long long b)
{
    const unsigned long long top = ULLONG_MAX / 2;

    return a >= top || b >= top - a ? top : a + b;
}

static int parse_count(const char *s, unsigned long long *v)
{
    unsigned long long n = 0;
    int any = 0;

    if (!s)
        return 0;
    for (; *s >= '0' && *s <= '9'; s++, any = 1)
        if ((n = n * 10 + (unsigned long long)(*s - '0')) > MAX_REPEAT)
            n = MAX_REPEAT;
    if (!any || *s != '\0')
        return 0;
    *v = n;
    return 1;
}

static unsigned long long count_attr(struct cp_xml *x, const char **atts,
                                     const char *name)
{
    unsigned long long n = 1;

    if (!parse_count(cp_xml_attr(x, atts, NS_TABLE, name), &n) || n == 0)
        n = 1;
    return n;
}

/* Stops the parse when rc says to; 1 when it did. */
static int halt_on(struct cp_xml *x, int rc)
{
    if (rc == 0)
        return 0;
    cp_xml_halt(x, rc);
    return 1;
}

static void skip_subtree(struct ods *o)
{
    o->skip = 1;
}

/* --- paragraphs -------------------------------------------------------------- */

/* Writes the collapsed literal space held back, if any. */
static int flush_space(struct ods *o)
{
    if (!o->p_pending)
        return 0;
    o->p_pending = 0;
    return cp_wbrows_cell_add(&o->rows, " ", 1);
}

/* Explicit characters (text:s, text:tab, text:line-break): n times c. */
static int add_explicit(struct ods *o, char c, unsigned long long n)
{
    char chunk[256];
    int rc;

    if ((rc = flush_space(o)) != 0)
        return rc;
    /* Past the field cap the addition fails anyway: no need to loop on. */
    if (n > o->lim->max_field_bytes + 1)
        n = o->lim->max_field_bytes + 1;
    memset(chunk, c, sizeof chunk);
    while (n > 0) {
        size_t k = n < sizeof chunk ? (size_t)n : sizeof chunk;
        if ((rc = cp_wbrows_cell_add(&o->rows, chunk, k)) != 0)
            return rc;
        n -= k;
    }
    o->p_content = 1;
    o->p_prev_ws = 1;
    return 0;
}

/*
 * Character data of a paragraph, white space collapsed as ODF says:
 * tab, CR, LF and space count as one space, runs collapse, and a
 * paragraph's leading and trailing white space is dropped.
 */
static int add_para_text(struct ods *o, const char *s, size_t len)
{
    size_t i = 0;
    int rc;

    while (i < len) {
        size_t j = i;
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
            while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
                j++;
            if (o->p_content && !o->p_prev_ws)
                o->p_pending = 1;
            o->p_prev_ws = 1;
        } else {
            while (j < len && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r')
                j++;
            if ((rc = flush_space(o)) != 0 ||
                (rc = cp_wbrows_cell_add(&o->rows, s + i, j - i)) != 0)
                return rc;
            o->p_content = 1;
            o->p_prev_ws = 0;
        }
        i = j;
    }
    return 0;
}

/* --- cells -------------------------------------------------------------------- */

static int add_attr_text(struct ods *o, const char *v)
{
    return cp_wbrows_cell_add(&o->rows, v, strlen(v));
}

/* A table:table-cell begins: its kind and, when an attribute holds it,
 * its text are known now. */
static int cell_start(struct cp_xml *x, struct ods *o, const char **atts)
{
    const char *vt = cp_xml_attr(x, atts, NS_OFFICE, "value-type");
    const char *calc = cp_xml_attr(x, atts, NS_CALCEXT, "value-type");
    const char *formula = cp_xml_attr(x, atts, NS_TABLE, "formula");
    const char *v = NULL;
    double num = 0;

    o->in_cell = 1;
    o->cell_depth = x->depth;
    o->col_repeat = count_attr(x, atts, "number-columns-repeated");
    o->row_span = count_attr(x, atts, "number-rows-spanned");
    o->kind = CP_CELL_TEXT;
    o->num = 0;
    o->use_p = 1;
    o->novalue_if_empty = 0;
    o->nparas = 0;
    o->in_p = 0;
    cp_wbrows_cell_begin(&o->rows, o->col);

    if (calc && strcmp(calc, "error") == 0) {
        o->kind = CP_CELL_ERROR;
        return 0;
    }
    if (!vt) {
        o->novalue_if_empty = formula != NULL;
    } else if (strcmp(vt, "float") == 0 || strcmp(vt, "currency") == 0 ||
               strcmp(vt, "percentage") == 0) {
        v = cp_xml_attr(x, atts, NS_OFFICE, "value");
        if (v && cp_wbrows_number(&o->rows, v, strlen(v), &num)) {
            o->kind = vt[0] == 'p' ? CP_CELL_PERCENT : CP_CELL_NUMBER;
            o->num = num;
            o->use_p = 0;
            return add_attr_text(o, v);
        }
        o->novalue_if_empty = formula != NULL;
    } else if (strcmp(vt, "date") == 0 || strcmp(vt, "time") == 0) {
        v = cp_xml_attr(x, atts, NS_OFFICE, vt[0] == 'd' ? "date-value" : "time-value");
        if (v) {
            o->kind = CP_CELL_DATE;
            o->use_p = 0;
            return add_attr_text(o, v);
        }
        o->novalue_if_empty = formula != NULL;
    } else if (strcmp(vt, "boolean") == 0) {
        v = cp_xml_attr(x, atts, NS_OFFICE, "boolean-value");
        if (v) {
            o->kind = CP_CELL_BOOL;
            o->num = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
            o->use_p = 0;
            return add_attr_text(o, v);
        }
        o->novalue_if_empty = formula != NULL;
    } else if (strcmp(vt, "string") == 0) {
        v = cp_xml_attr(x, atts, NS_OFFICE, "string-value");
        if (v) {
            o->use_p = 0;
            return add_attr_text(o, v);
        }
    }
    if (o->novalue_if_empty) {
        cp_buf_reset(&o->formula);
        if (cp_buf_adds(&o->formula, formula) != 0)
            return cp_err_set(o->zip.err, CP_EX_DATAERR, "field_too_long",
                              cp_wbrows_where(&o->rows, o->col, o->row),
                              "la formule de la cellule dépasse %zu octets ; "
                              "remplacez-la par sa valeur.", o->lim->max_field_bytes);
    }
    return 0;
}

static int cell_end(struct ods *o)
{
    struct cp_wbrows *r = &o->rows;
    size_t before = r->ncells, len;
    int rc;

    o->in_cell = 0;
    cp_wbrows_cell_text(r, &len);
    if (len == 0 && o->novalue_if_empty) {
        if (o->formula.len > 0 &&
            (rc = cp_wbrows_cell_add(r, o->formula.data, o->formula.len)) != 0)
            return rc;
        o->kind = CP_CELL_NOVALUE;
    }
    if ((rc = cp_wbrows_cell_end(r, o->kind, o->num)) != 0)
        return rc;
    if (r->ncells > before) {
        if (o->col_repeat > 1 && (rc = cp_wbrows_cell_repeat(r, o->col_repeat - 1)) != 0)
            return rc;
        if (o->row_span > 1 && (rc = cp_wbrows_span(r, o->col, o->row + o->row_span - 1)) != 0)
            return rc;
    }
    o->col = sat_add(o->col, o->col_repeat);
    return 0;
}

/* --- handlers ------------------------------------------------------------------ */

/*
 * What the sink said about a row, from an end handler: NEXT_SHEET skips
 * the rest of the table, STOP the rest of the file but for the count of
 * sheets; anything else stops the parse.
 */
static void rows_said(struct cp_xml *x, struct ods *o, int rc)
{
    if (rc == CP_READ_NEXT_SHEET || rc == CP_READ_STOP) {
        /* The elements still open from the table down are skipped. */
        o->skip = x->depth - o->table_depth + 1;
        o->in_row = o->in_cell = 0;
        if (rc == CP_READ_NEXT_SHEET) {
            o->skipping_table = 1;
        } else {
            o->stopped = 1;
            o->in_table = 0;
        }
        return;
    }
    halt_on(x, rc);
}

static void table_begin(struct cp_xml *x, struct ods *o, const char **atts)
{
    const char *name = cp_xml_attr(x, atts, NS_TABLE, "name");
    int rc;

    o->nsheets++;
    if (o->stopped) {
        skip_subtree(o);
        return;
    }
    if (name && strlen(name) > o->lim->max_field_bytes) {
        cp_xml_fail(x, CP_EX_DATAERR, "field_too_long", x->entry,
                    "un nom de feuille dépasse %zu octets ; renommez la feuille.",
                    o->lim->max_field_bytes);
        return;
    }
    o->in_table = 1;
    o->table_depth = x->depth;
    o->row = 1;
    rc = cp_wbrows_sheet_begin(&o->rows, name ? name : "", o->nsheets - 1);
    if (rc == CP_READ_NEXT_SHEET) {
        skip_subtree(o);
        o->skipping_table = 1;
    } else if (rc == CP_READ_STOP) {
        o->stopped = 1;
        o->in_table = 0;
        skip_subtree(o);
    } else {
        halt_on(x, rc);
    }
}

/* The table ended (read, or skipped at the sink's request). */
static void table_end(struct cp_xml *x, struct ods *o, int flush)
{
    int rc;

    o->in_table = o->in_row = o->in_cell = 0;
    rc = cp_wbrows_sheet_end(&o->rows, flush);
    if (rc == CP_READ_STOP) {
        o->stopped = 1;
        return;
    }
    halt_on(x, rc);
}

static void para_start(struct cp_xml *x, struct ods *o, int ns, const char *name,
                       const char **atts)
{
    int rc = 0;

    if (ns == NS_TEXT && strcmp(name, "s") == 0) {
        unsigned long long n = 1;
        if (!parse_count(cp_xml_attr(x, atts, NS_TEXT, "c"), &n) || n == 0)
            n = 1;
        rc = add_explicit(o, ' ', n);
    } else if (ns == NS_TEXT && strcmp(name, "tab") == 0) {
        rc = add_explicit(o, '\t', 1);
    } else if (ns == NS_TEXT && strcmp(name, "line-break") == 0) {
        rc = add_explicit(o, '\n', 1);
    } else if ((ns == NS_TEXT && (strcmp(name, "note") == 0 ||
                                  strcmp(name, "ruby-text") == 0)) ||
               (ns == NS_OFFICE && strcmp(name, "annotation") == 0) ||
               ns == NS_DRAW) {
        /* Not part of the paragraph's text (ODF 1.2, 6.1.1). */
        skip_subtree(o);
        return;
    }
    /* text:span, text:a... : their text is the paragraph's. */
    halt_on(x, rc);
}

static void ods_start(struct cp_xml *x, int ns, const char *name, const char **atts)
{
    struct ods *o = x->ctx;

    if (o->skip) {
        o->skip++;
        return;
    }
    if (o->in_cell) {
        if (o->in_p) {
            para_start(x, o, ns, name, atts);
        } else if (o->use_p && ns == NS_TEXT && strcmp(name, "p") == 0 &&
                   x->depth == o->cell_depth + 1) {
            if (o->nparas++ > 0 && halt_on(x, add_explicit(o, '\n', 1)))
                return;
            o->in_p = 1;
            o->p_content = o->p_pending = o->p_prev_ws = 0;
        } else {
            skip_subtree(o); /* annotations, frames, values held as attributes */
        }
        return;
    }
    if (o->in_row) {
        if (ns == NS_TABLE && strcmp(name, "table-cell") == 0) {
            halt_on(x, cell_start(x, o, atts));
        } else if (ns == NS_TABLE && strcmp(name, "covered-table-cell") == 0) {
            /* A merged cell's hidden part: a column, whatever it holds. */
            unsigned long long n = count_attr(x, atts, "number-columns-repeated");
            o->col = sat_add(o->col, n);
            skip_subtree(o);
        } else {
            skip_subtree(o);
        }
        return;
    }
    if (o->in_table) {
        if (ns == NS_TABLE && strcmp(name, "table-row") == 0) {
            o->in_row = 1;
            o->col = 0;
            o->row_repeat = count_attr(x, atts, "number-rows-repeated");
            halt_on(x, cp_wbrows_row_begin(&o->rows, o->row));
        } else if (ns == NS_TABLE && strcmp(name, "table") == 0) {
            skip_subtree(o); /* a table within a table is not a sheet */
        } else if (ns == NS_TABLE && (strcmp(name, "table-column") == 0 ||
                                      strcmp(name, "table-columns") == 0 ||
                                      strcmp(name, "shapes") == 0)) {
            skip_subtree(o);
        }
        return;
    }
    if (ns == NS_OFFICE && strcmp(name, "spreadsheet") == 0)
        o->in_spreadsheet = 1;
    else if (o->in_spreadsheet && ns == NS_TABLE && strcmp(name, "table") == 0)
        table_begin(x, o, atts);
}

static void ods_end(struct cp_xml *x, int ns, const char *name)
{
    struct ods *o = x->ctx;

    if (o->skip) {
        if (--o->skip == 0 && o->skipping_table) {
            o->skipping_table = 0;
            table_end(x, o, 0);
        }
        return;
    }
    if (o->in_cell) {
        if (o->in_p && x->depth == o->cell_depth) {
            /* The paragraph ends: trailing white space is dropped. */
            o->in_p = 0;
            o->p_pending = 0;
        } else if (x->depth == o->cell_depth - 1) {
            halt_on(x, cell_end(o));
        }
        return;
    }
    if (o->in_row) {
        if (ns == NS_TABLE && strcmp(name, "table-row") == 0) {
            unsigned long long n = o->row_repeat;
            o->in_row = 0;
            o->row = sat_add(o->row, n);
            rows_said(x, o, cp_wbrows_row_end(&o->rows, n));
        }
        return;
    }
    if (o->in_table) {
        if (ns == NS_TABLE && strcmp(name, "table") == 0)
            table_end(x, o, 1);
        return;
    }
    if (ns == NS_OFFICE && strcmp(name, "spreadsheet") == 0)
        o->in_spreadsheet = 0;
}

static void ods_text(struct cp_xml *x, const char *s, size_t len)
{
    struct ods *o = x->ctx;

    if (o->skip || !o->in_cell || !o->in_p)
        return;
    halt_on(x, add_para_text(o, s, len));
}

/* --- the whole file ------------------------------------------------------------ */

struct mime {
    char buf[128];
    size_t len;
    int too_long;
};

static int mime_block(void *ctx, const char *data, size_t len)
{
    struct mime *m = ctx;

    if (len > sizeof m->buf - 1 - m->len) {
        m->too_long = 1;
        return 1;
    }
    memcpy(m->buf + m->len, data, len);
    m->len += len;
    return 0;
}

static int check_mimetype(struct ods *o)
{
    struct mime m = { .len = 0 };
    int rc;

    if (!cp_zip_has(&o->zip, "mimetype")) {
        if (cp_zip_has(&o->zip, "xl/workbook.xml") || cp_zip_has(&o->zip, "[Content_Types].xml"))
            return cp_err_set(o->zip.err, CP_EX_DATAERR, "bad_archive", o->zip.path,
                              "le fichier est un classeur XLSX (Excel) et non un "
                              "classeur ODS ; renommez-le en .xlsx ou "
                              "enregistrez-le au format .ods.");
        return cp_err_set(o->zip.err, CP_EX_DATAERR, "bad_archive", "mimetype",
                          "l'archive n'a pas d'élément « mimetype » : ce n'est "
                          "pas un classeur ODS ; %s.", fix_hint);
    }
    if ((rc = cp_zip_stream(&o->zip, "mimetype", mime_block, &m)) < 0)
        return rc;
    while (m.len > 0 && (m.buf[m.len - 1] == '\n' || m.buf[m.len - 1] == '\r' ||
                         m.buf[m.len - 1] == ' '))
        m.len--;
    m.buf[m.len] = '\0';
    if (m.too_long || (strcmp(m.buf, mime_ods) != 0 &&
                       strcmp(m.buf, "application/vnd.oasis.opendocument.spreadsheet-template") != 0))
        return cp_err_set(o->zip.err, CP_EX_DATAERR, "bad_archive", "mimetype",
                          "le fichier est un document OpenDocument de type « %.100s », "
                          "pas un classeur (%s attendu) ; enregistrez le tableau "
                          "depuis LibreOffice Calc au format .ods.",
                          m.too_long ? "?" : m.buf, mime_ods);
    if (!cp_zip_has(&o->zip, "content.xml"))
        return cp_err_set(o->zip.err, CP_EX_DATAERR, "bad_archive", "content.xml",
                          "l'élément « content.xml » manque : le classeur est "
                          "incomplet ; %s.", fix_hint);
    return 0;
}

int cp_ods_read(const char *path, const struct cp_limits *lim,
                const struct cp_reader_sink *sink, struct cp_read_info *info,
                struct cp_err *err)
{
    static const struct cp_xml_handlers h = { ods_ns, ods_start, ods_end, ods_text };
    struct ods *o;
    struct cp_err saved;
    int rc;

    memset(&saved, 0, sizeof saved);
    if (!lim)
        lim = &cp_limits_default;
    if (info)
        memset(info, 0, sizeof *info);
    o = calloc(1, sizeof *o);
    if (!o)
        return cp_err_set(err, CP_EX_SOFTWARE, "io", path,
                          "mémoire insuffisante pour lire le classeur ; "
                          "réessayez plus tard.");
    o->lim = lim;
    cp_buf_init(&o->formula, lim->max_field_bytes);
    if (err)
        saved = *err;
    rc = cp_zip_open(&o->zip, path, kind_name, lim, err);
    if (rc != 0)
        goto out;
    cp_wbrows_init(&o->rows, &o->zip, sink);
    rc = check_mimetype(o);
    if (rc == 0)
        rc = cp_xml_parse(&o->zip, "content.xml", &h, o);
    cp_wbrows_release(&o->rows);
    if (o->stopped && rc != CP_READ_ABORTED) {
        /* The sink had what it wanted: a problem met while counting the
         * remaining sheets is not the file's failure. */
        if (rc < 0 && err)
            *err = saved;
        rc = 0;
    }
    if (info)
        info->sheets = o->nsheets;
out:
    cp_zip_close(&o->zip);
    cp_buf_release(&o->formula);
    free(o);
    if (rc == CP_READ_ABORTED)
        return CP_READ_ABORTED;
    return rc < 0 ? -1 : 0;
}
