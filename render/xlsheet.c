/* Output tables as worksheets through libxlsxwriter (see xlsheet.h). */
#include "render/xlsheet.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/buf.h"
#include "common/text.h"

/* What a cell holds: 32 767 characters; bytes are a safe bound. */
#define XL_CELL_MAX 32767
/* Column widths, in characters. */
#define XL_WIDTH_MIN 6.0
#define XL_WIDTH_MAX 60.0

/* Excel's format codes in invariant syntax, localised by Excel when shown
 * (a French Excel shows "#,##0.0" as "1 234,5"). Units are literal text
 * after a no-break space. Indexed by enum cp_rnumfmt. */
static const char *const numfmt_code[CP_RNF_COUNT] = {
    [CP_RNF_GENERAL] = NULL,
    [CP_RNF_INT] = "#,##0",
    [CP_RNF_DEC] = "#,##0.0##",
    [CP_RNF_PCT] = "0.0\"\xC2\xA0%\"",
    [CP_RNF_EUR] = "#,##0\"\xC2\xA0\xE2\x82\xAC\"",
    [CP_RNF_EUR_CENTS] = "#,##0.00\"\xC2\xA0\xE2\x82\xAC\"",
    [CP_RNF_DAYS] = "#,##0.0",
    [CP_RNF_DIFF_INT] = "+#,##0;-#,##0;0",
    [CP_RNF_DIFF_DEC] = "+#,##0.0##;-#,##0.0##;0",
    [CP_RNF_DIFF_PT] = "+0.0\"\xC2\xA0pt\";-0.0\"\xC2\xA0pt\";0.0\"\xC2\xA0pt\"",
    [CP_RNF_DIFF_PCT] = "+0.0\"\xC2\xA0%\";-0.0\"\xC2\xA0%\";0.0\"\xC2\xA0%\"",
    [CP_RNF_DIFF_EUR] = "+#,##0\"\xC2\xA0\xE2\x82\xAC\";-#,##0\"\xC2\xA0\xE2\x82\xAC\";0\"\xC2\xA0\xE2\x82\xAC\"",
    [CP_RNF_DATETIME] = "dd/mm/yyyy hh:mm",
};

/* Finding colours: fill and font, indexed by enum cp_rmark. */
static const lxw_color_t mark_fill[CP_RMARK_COUNT] = {0, 0xDDEBF7, 0xFFD8A8, 0xFFC7CE};
static const lxw_color_t mark_font[CP_RMARK_COUNT] = {0, 0x1F4E78, 0x7F3F00, 0x9C0006};

int cp_xlsheet_datetime(const char *iso, lxw_datetime *dt)
{
    int y, mo, d, h = 0, mi = 0, s = 0, n = 0;
    size_t len = iso ? strlen(iso) : 0;

    if (len != 10 && len != 19)
        return -1;
    if (sscanf(iso, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    if (len == 19 && (sscanf(iso + 11, "%2d:%2d:%2d%n", &h, &mi, &s, &n) != 3 || n != 8))
        return -1;
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    dt->year = y;
    dt->month = mo;
    dt->day = d;
    dt->hour = h;
    dt->min = mi;
    dt->sec = s;
    return 0;
}

/*
 * libxlsxwriter writes every part of a workbook (styles, each sheet...)
 * to a temporary file got from lxw_tmpfile, reads it back into the zip and
 * closes it: a dozen files created and unlinked per workbook, most of the
 * cost of closing the small feedback workbooks. This version of the
 * library cannot keep them in memory, so its lxw_tmpfile (public, and
 * called through the PLT) is replaced here by a FILE over a growing
 * buffer: the same bytes go into the zip, and nothing touches the disk
 * until the workbook itself is written. Parts are written one at a time;
 * one larger than MEMFILE_MAX (a national "Données" sheet, about 1 MB)
 * goes on in a real temporary file, so that memory stays bounded.
 */
#define MEMFILE_MAX ((size_t)256 << 10)

struct memfile {
    char *buf;
    size_t len, cap, pos;
    FILE *disk;           /* past MEMFILE_MAX: everything is here */
};

/* Moves m's bytes to a temporary file, at the same position. */
static int memfile_spill(struct memfile *m)
{
    m->disk = tmpfile();
    if (!m->disk)
        return -1;
    if ((m->len && fwrite(m->buf, 1, m->len, m->disk) != m->len) ||
        fseeko(m->disk, (off_t)m->pos, SEEK_SET) != 0) {
        fclose(m->disk);
        m->disk = NULL;
        return -1;
    }
    free(m->buf);
    m->buf = NULL;
    m->len = m->cap = 0;
    return 0;
}

static ssize_t memfile_read(void *cookie, char *out, size_t n)
{
    struct memfile *m = cookie;
    size_t k = m->pos < m->len ? m->len - m->pos : 0;

    if (m->disk) {
        k = fread(out, 1, n, m->disk);
        return k == 0 && ferror(m->disk) ? -1 : (ssize_t)k;
    }
    if (k > n)
        k = n;
    memcpy(out, m->buf + m->pos, k);
    m->pos += k;
    return (ssize_t)k;
}

static ssize_t memfile_write(void *cookie, const char *in, size_t n)
{
    struct memfile *m = cookie;

    if (!m->disk && (n > MEMFILE_MAX || m->pos > MEMFILE_MAX - n) && memfile_spill(m) < 0)
        return -1;
    if (m->disk)
        return fwrite(in, 1, n, m->disk) == n ? (ssize_t)n : -1;
    if (m->pos + n > m->cap) {
        size_t cap = m->cap ? m->cap : 1u << 14;
        char *p;

        while (cap < m->pos + n)
            cap *= 2;
        p = realloc(m->buf, cap);
        if (!p) {
            errno = ENOMEM;
            return -1;
        }
        m->buf = p;
        m->cap = cap;
    }
    if (m->pos > m->len) /* a seek past the end reads back as zeros */
        memset(m->buf + m->len, 0, m->pos - m->len);
    memcpy(m->buf + m->pos, in, n);
    m->pos += n;
    if (m->pos > m->len)
        m->len = m->pos;
    return (ssize_t)n;
}

static int memfile_seek(void *cookie, off64_t *off, int whence)
{
    struct memfile *m = cookie;
    off64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (off64_t)m->pos : (off64_t)m->len;

    if (m->disk) {
        if (fseeko(m->disk, (off_t)*off, whence) != 0)
            return -1;
        *off = (off64_t)ftello(m->disk);
        return *off < 0 ? -1 : 0;
    }
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) {
        errno = EINVAL;
        return -1;
    }
    if (*off < -base || (*off > 0 && base > INT64_MAX - *off)) {
        errno = EINVAL;
        return -1;
    }
    m->pos = (size_t)(base + *off);
    *off = (off64_t)m->pos;
    return 0;
}

static int memfile_close(void *cookie)
{
    struct memfile *m = cookie;
    int rc = m->disk ? fclose(m->disk) : 0;

    free(m->buf);
    free(m);
    return rc == 0 ? 0 : -1;
}

FILE *lxw_tmpfile(char *tmpdir)
{
    static const cookie_io_functions_t io = {memfile_read, memfile_write, memfile_seek,
                                             memfile_close};
    struct memfile *m = calloc(1, sizeof *m);
    FILE *f = m ? fopencookie(m, "w+", io) : NULL;

    (void)tmpdir;
    if (!f)
        free(m);
    return f;
}

static time_t created_time(const char *iso)
{
    lxw_datetime dt;
    struct tm tm;

    memset(&tm, 0, sizeof tm);
    if (!iso || cp_xlsheet_datetime(iso, &dt) < 0) {
        tm.tm_year = 2019 - 1900;
        tm.tm_mday = 1;
    } else {
        tm.tm_year = dt.year - 1900;
        tm.tm_mon = dt.month - 1;
        tm.tm_mday = dt.day;
        tm.tm_hour = dt.hour;
        tm.tm_min = dt.min;
        tm.tm_sec = (int)dt.sec;
    }
    return timegm(&tm);
}

int cp_xlbook_open(struct cp_xlbook *b, const char *path, const char *created,
                   const char *title, struct cp_err *err)
{
    lxw_doc_properties props;

    memset(b, 0, sizeof *b);
    b->tmp = cp_afile_temp_path(path, err);
    if (!b->tmp)
        return -1;
    b->path = strdup(path);
    b->wb = b->path ? workbook_new(b->tmp) : NULL;
    if (!b->wb) {
        cp_xlbook_abort(b);
        return cp_err_set(err, CP_EX_CANTCREAT, "xlsx", path,
                          "impossible de préparer le classeur « %s »", path);
    }
    memset(&props, 0, sizeof props);
    props.title = (char *)(title ? title : "");
    props.author = (char *)"calpae";
    props.created = created_time(created);
    if (workbook_set_properties(b->wb, &props) != LXW_NO_ERROR) {
        cp_xlbook_abort(b);
        return cp_err_set(err, CP_EX_SOFTWARE, "xlsx", path,
                          "propriétés du classeur « %s » refusées", path);
    }
    b->head = workbook_add_format(b->wb);
    b->group = workbook_add_format(b->wb);
    b->title = workbook_add_format(b->wb);
    b->note = workbook_add_format(b->wb);
    if (!b->head || !b->group || !b->title || !b->note) {
        cp_xlbook_abort(b);
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    }
    format_set_bold(b->head);
    format_set_text_wrap(b->head);
    format_set_align(b->head, LXW_ALIGN_VERTICAL_TOP);
    format_set_bg_color(b->head, 0xD9E1F2);
    format_set_bottom(b->head, LXW_BORDER_THIN);
    format_set_bold(b->group);
    format_set_text_wrap(b->group);
    format_set_align(b->group, LXW_ALIGN_CENTER);
    format_set_align(b->group, LXW_ALIGN_VERTICAL_TOP);
    format_set_bg_color(b->group, 0xB4C6E7);
    format_set_border(b->group, LXW_BORDER_THIN);
    format_set_bold(b->title);
    format_set_font_size(b->title, 14);
    format_set_italic(b->note);
    format_set_font_color(b->note, 0x595959);
    return 0;
}

void cp_xlbook_abort(struct cp_xlbook *b)
{
    if (b->wb)
        lxw_workbook_free(b->wb);
    if (b->tmp)
        unlink(b->tmp);
    free(b->tmp);
    free(b->path);
    memset(b, 0, sizeof *b);
}

/* 1 when the file at a has the same bytes as the file at b. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    FILE *f;
    char *data;
    int same = 0;

    if (stat(a, &sa) < 0 || stat(b, &sb) < 0 || sa.st_size != sb.st_size || sa.st_size <= 0)
        return 0;
    f = fopen(a, "rb");
    if (!f)
        return 0;
    data = malloc((size_t)sa.st_size);
    if (data && fread(data, 1, (size_t)sa.st_size, f) == (size_t)sa.st_size)
        same = cp_file_same(b, data, (size_t)sa.st_size);
    free(data);
    fclose(f);
    return same;
}

int cp_xlbook_close(struct cp_xlbook *b, struct cp_err *err)
{
    lxw_error e;
    int rc = 0;

    if (!b->wb)
        return cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "classeur non ouvert");
    e = workbook_close(b->wb);
    b->wb = NULL;
    if (e != LXW_NO_ERROR) {
        rc = cp_err_set(err, e == LXW_ERROR_CREATING_XLSX_FILE || e == LXW_ERROR_CREATING_TMPFILE
                                 ? CP_EX_CANTCREAT
                                 : CP_EX_IOERR,
                        "xlsx", b->path, "écriture du classeur « %s » impossible : %s", b->path,
                        lxw_strerror(e));
        unlink(b->tmp);
    } else if (same_file(b->tmp, b->path)) {
        /* Unchanged: keep the file in place, with its date. */
        unlink(b->tmp);
    } else {
        rc = cp_afile_rename(b->tmp, b->path, err);
    }
    free(b->tmp);
    free(b->path);
    memset(b, 0, sizeof *b);
    return rc;
}

lxw_format *cp_xlbook_format(struct cp_xlbook *b, unsigned numfmt, unsigned mark, unsigned style)
{
    lxw_format *f;

    if (numfmt >= CP_RNF_COUNT)
        numfmt = CP_RNF_GENERAL;
    if (mark >= CP_RMARK_COUNT)
        mark = CP_RMARK_NONE;
    style &= CP_RSTYLE_COUNT - 1;
    if (b->fmt[numfmt][mark][style])
        return b->fmt[numfmt][mark][style];
    f = workbook_add_format(b->wb);
    if (!f)
        return NULL;
    /* Top-aligned, so that a row made tall by wrapped text reads well. */
    format_set_align(f, LXW_ALIGN_VERTICAL_TOP);
    if (numfmt_code[numfmt])
        format_set_num_format(f, numfmt_code[numfmt]);
    if (mark != CP_RMARK_NONE) {
        format_set_bg_color(f, mark_fill[mark]);
        format_set_font_color(f, mark_font[mark]);
    }
    if (style & CP_RSTYLE_BOLD)
        format_set_bold(f);
    if (style & CP_RSTYLE_ITALIC)
        format_set_italic(f);
    if (style & CP_RSTYLE_WRAP)
        format_set_text_wrap(f);
    b->fmt[numfmt][mark][style] = f;
    return f;
}

static int lxw_fail(lxw_error e, const char *what, struct cp_err *err)
{
    return cp_err_set(err, CP_EX_SOFTWARE, "xlsx", NULL, "classeur : %s : %s", what,
                      lxw_strerror(e));
}

int cp_xlsheet_string(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *s,
                      lxw_format *f, struct cp_err *err)
{
    struct cp_buf b = CP_BUF_INIT(XL_CELL_MAX + 8);
    size_t len = strlen(s), bad, off = 0;
    const char *text = s;
    lxw_error e;

    if (len > XL_CELL_MAX || !cp_utf8_valid(s, len, &bad)) {
        /* Copy valid UTF-8 runs, a replacement character for each bad
         * byte, up to what a cell holds. */
        while (off < len && b.len < XL_CELL_MAX - 8) {
            size_t run = len - off;

            if (!cp_utf8_valid(s + off, run, &bad))
                run = bad;
            if (run > XL_CELL_MAX - 8 - b.len) {
                run = XL_CELL_MAX - 8 - b.len;
                while (run > 0 && ((unsigned char)s[off + run] & 0xC0) == 0x80)
                    run--;
                cp_buf_add(&b, s + off, run);
                cp_buf_adds(&b, "\xE2\x80\xA6");
                break;
            }
            cp_buf_add(&b, s + off, run);
            off += run;
            if (off < len) {
                cp_buf_adds(&b, "\xEF\xBF\xBD");
                off++;
            }
        }
        text = cp_buf_str(&b);
    }
    /* worksheet_write_string stores a shared string whatever the text
     * starts with: "=1+1" stays text, no formula is ever written. */
    e = worksheet_write_string(ws, row, col, text, f);
    cp_buf_release(&b);
    return e == LXW_NO_ERROR ? 0 : lxw_fail(e, "écriture d'un texte", err);
}

/* Display length of a cell, in characters, to size its column. */
static double cell_width(const struct cp_rcell *c)
{
    size_t chars = 0;

    switch (c->kind) {
    case CP_RCELL_TEXT:
        for (const char *p = c->text; *p && chars < 2000; p++)
            chars += ((unsigned char)*p & 0xC0) != 0x80;
        return (double)chars;
    case CP_RCELL_NUM:
        return 12.0;
    case CP_RCELL_DATETIME:
        return 16.0;
    default:
        return 0.0;
    }
}

static double header_width(const char *h)
{
    size_t chars = 0, longest = 0, word = 0;

    /* Headers wrap: the longest word counts, and a long header wraps on
     * two or three lines. */
    for (const char *p = h ? h : ""; *p; p++) {
        if (((unsigned char)*p & 0xC0) == 0x80)
            continue;
        chars++;
        word = *p == ' ' ? 0 : word + 1;
        if (word > longest)
            longest = word;
    }
    return (double)(longest > chars / 3 ? longest : chars / 3);
}

static int write_cell(struct cp_xlbook *b, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col,
                      const struct cp_rcell *c, struct cp_err *err)
{
    lxw_format *f = cp_xlbook_format(b, c->numfmt, c->mark, c->style);
    lxw_datetime dt;
    lxw_error e = LXW_NO_ERROR;

    switch (c->kind) {
    case CP_RCELL_TEXT:
        return cp_xlsheet_string(ws, row, col, c->text, f, err);
    case CP_RCELL_NUM:
        e = worksheet_write_number(ws, row, col, c->num, f);
        break;
    case CP_RCELL_DATETIME:
        if (cp_xlsheet_datetime(c->text, &dt) == 0)
            e = worksheet_write_datetime(ws, row, col, &dt, f);
        else
            return cp_xlsheet_string(ws, row, col, c->text, f, err);
        break;
    default:
        if (c->mark || c->style)
            e = worksheet_write_blank(ws, row, col, f);
        break;
    }
    return e == LXW_NO_ERROR ? 0 : lxw_fail(e, "écriture d'une cellule", err);
}

int cp_xlbook_table(struct cp_xlbook *b, const struct cp_rtable *t, struct cp_xlpos *pos,
                    struct cp_err *err)
{
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, t->name);
    lxw_row_t row = 0, head_row;
    double *widths;
    int grouped = 0;
    lxw_error e;

    if (!ws)
        return cp_err_set(err, CP_EX_SOFTWARE, "xlsx", t->name,
                          "feuille « %s » refusée par libxlsxwriter (nom invalide ou en double)",
                          t->name ? t->name : "");
    for (size_t c = 0; c < t->ncols; c++)
        grouped |= t->group[c] != NULL;
    if (t->title && cp_xlsheet_string(ws, row++, 0, t->title, b->title, err) < 0)
        return -1;
    for (size_t i = 0; i < t->nnotes; i++)
        if (cp_xlsheet_string(ws, row++, 0, t->notes[i], b->note, err) < 0)
            return -1;
    if (row > 0)
        row++; /* a blank line before the table */
    if (grouped) {
        /* Consecutive equal groups share one merged header cell. */
        for (size_t c = 0; c < t->ncols;) {
            size_t end = c;

            while (t->group[c] && end + 1 < t->ncols && t->group[end + 1] &&
                   strcmp(t->group[c], t->group[end + 1]) == 0)
                end++;
            if (t->group[c] && end > c)
                e = worksheet_merge_range(ws, row, (lxw_col_t)c, row, (lxw_col_t)end,
                                          t->group[c], b->group);
            else if (t->group[c])
                e = cp_xlsheet_string(ws, row, (lxw_col_t)c, t->group[c], b->group, err) < 0
                        ? LXW_ERROR_PARAMETER_VALIDATION
                        : LXW_NO_ERROR;
            else
                e = worksheet_write_blank(ws, row, (lxw_col_t)c, b->group);
            if (e != LXW_NO_ERROR)
                return lxw_fail(e, "en-tête de groupe", err);
            c = end + 1;
        }
        worksheet_set_row(ws, row, 45, NULL);
        row++;
    }
    head_row = row;
    worksheet_set_row(ws, head_row, 30, NULL); /* headers wrap on two lines */
    for (size_t c = 0; c < t->ncols; c++)
        if (cp_xlsheet_string(ws, head_row, (lxw_col_t)c, t->head[c] ? t->head[c] : "", b->head,
                              err) < 0)
            return -1;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++)
            if (write_cell(b, ws, head_row + 1 + (lxw_row_t)r, (lxw_col_t)c,
                           &t->cells[r * t->ncols + c], err) < 0)
                return -1;
    /* Widths from the content, bounded. */
    widths = calloc(t->ncols ? t->ncols : 1, sizeof *widths);
    if (!widths)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    for (size_t c = 0; c < t->ncols; c++) {
        double w = t->width[c];

        if (w <= 0) {
            w = header_width(t->head[c]);
            for (size_t r = 0; r < t->nrows; r++) {
                double cw = cell_width(&t->cells[r * t->ncols + c]);
                if (cw > w)
                    w = cw;
            }
            w += 2;
            w = w < XL_WIDTH_MIN ? XL_WIDTH_MIN : w > XL_WIDTH_MAX ? XL_WIDTH_MAX : w;
        }
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, w, NULL);
        widths[c] = w;
    }
    /* Rows with wrapped text get the height of their longest cell: not
     * every reader computes it on opening. */
    for (size_t r = 0; r < t->nrows; r++) {
        double lines = 1;

        for (size_t c = 0; c < t->ncols; c++) {
            const struct cp_rcell *cell = &t->cells[r * t->ncols + c];
            double n;

            if (!(cell->style & CP_RSTYLE_WRAP) || cell->kind != CP_RCELL_TEXT)
                continue;
            n = ceil(cell_width(cell) * 1.1 / (widths[c] > 2 ? widths[c] - 1 : 1));
            if (n > lines)
                lines = n;
        }
        if (lines > 1)
            worksheet_set_row(ws, head_row + 1 + (lxw_row_t)r, 15 * (lines > 12 ? 12 : lines),
                              NULL);
    }
    free(widths);
    worksheet_freeze_panes(ws, head_row + 1, (lxw_col_t)t->freeze_cols);
    if (t->ncols > 0) {
        e = worksheet_autofilter(ws, head_row, 0, head_row + (lxw_row_t)t->nrows,
                                 (lxw_col_t)(t->ncols - 1));
        if (e != LXW_NO_ERROR)
            return lxw_fail(e, "filtre automatique", err);
    }
    /* Printing: A4 landscape, one page wide, headers on every page. */
    worksheet_set_landscape(ws);
    worksheet_set_paper(ws, 9);
    worksheet_fit_to_pages(ws, 1, 0);
    worksheet_repeat_rows(ws, grouped ? head_row - 1 : head_row, head_row);
    if (pos) {
        pos->ws = ws;
        pos->head_row = head_row;
        pos->first_row = head_row + 1;
    }
    return 0;
}
