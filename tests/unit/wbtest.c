/* Test helpers for the workbook readers (see wbtest.h). */
#include "tests/unit/wbtest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

void wbt_init(struct wbt *t)
{
    memset(t, 0, sizeof *t);
    t->order_ok = 1;
    t->nested_ok = 1;
    t->skip_on = -1;
}

static int on_begin(void *ctx, const char *name, unsigned index)
{
    struct wbt *t = ctx;

    if (t->in_sheet || index != t->nsheets)
        t->nested_ok = 0;
    t->in_sheet = 1;
    if (t->nsheets < sizeof t->sheets / sizeof t->sheets[0])
        t->sheets[t->nsheets] = strdup(name);
    t->nsheets++;
    t->last_row = 0;
    if (t->skip_on >= 0 && index == t->skip_sheet)
        return t->skip_on;
    return CP_READ_CONTINUE;
}

static int on_end(void *ctx)
{
    struct wbt *t = ctx;

    if (!t->in_sheet)
        t->nested_ok = 0;
    t->in_sheet = 0;
    t->ends++;
    return CP_READ_CONTINUE;
}

static int on_row(void *ctx, const struct cp_row *r)
{
    struct wbt *t = ctx;

    if (!t->in_sheet || r->ncells == 0)
        t->nested_ok = 0;
    if (r->line <= t->last_row)
        t->order_ok = 0;
    t->last_row = r->line;
    t->rows++;
    for (size_t i = 0; i < r->ncells; i++) {
        const struct cp_cell *c = &r->cells[i];
        struct wbt_cell *o;
        if (i > 0 && c->col <= r->cells[i - 1].col)
            t->order_ok = 0;
        if (strlen(c->text) != c->len)
            t->order_ok = 0; /* texts are NUL-terminated at len */
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 256;
            t->cells = realloc(t->cells, t->cap * sizeof *t->cells);
            cr_assert_not_null(t->cells);
        }
        o = &t->cells[t->n++];
        o->sheet = strdup(r->sheet ? r->sheet : "");
        o->row = r->line;
        o->col = c->col;
        o->kind = c->kind;
        o->text = strdup(c->text);
        o->len = c->len;
        o->num = c->num;
    }
    if (t->act_row && r->line == t->act_row)
        return t->act_ret;
    return CP_READ_CONTINUE;
}

int wbt_read(struct wbt *t, int ods, const char *path, const struct cp_limits *lim)
{
    struct cp_reader_sink sink = { t, on_begin, on_row, on_end };

    cp_err_clear(&t->err);
    t->rc = ods ? cp_ods_read(path, lim, &sink, &t->info, &t->err)
                : cp_xlsx_read(path, lim, &sink, &t->info, &t->err);
    return t->rc;
}

void wbt_release(struct wbt *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->cells[i].sheet);
        free(t->cells[i].text);
    }
    free(t->cells);
    for (unsigned i = 0; i < t->nsheets && i < sizeof t->sheets / sizeof t->sheets[0]; i++)
        free(t->sheets[i]);
    memset(t, 0, sizeof *t);
}

const struct wbt_cell *wbt_cell(const struct wbt *t, const char *sheet, const char *ref)
{
    char name[16];

    for (size_t i = 0; i < t->n; i++) {
        char full[32];
        if (strcmp(t->cells[i].sheet, sheet) != 0)
            continue;
        cp_col_name(t->cells[i].col, name);
        snprintf(full, sizeof full, "%s%lu", name, t->cells[i].row);
        if (strcmp(full, ref) == 0)
            return &t->cells[i];
    }
    return NULL;
}

size_t wbt_row_cells(const struct wbt *t, const char *sheet, unsigned long row)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++)
        if (t->cells[i].row == row && strcmp(t->cells[i].sheet, sheet) == 0)
            n++;
    return n;
}

static char *under_src(const char *dir, const char *name)
{
    const char *src = getenv("CALPAE_SRCDIR");
    char *p;

    cr_assert_not_null(src, "CALPAE_SRCDIR must name the source tree");
    cr_assert_geq(asprintf(&p, "%s/%s/%s", src, dir, name), 0);
    return p;
}

char *wbt_sample(const char *name)
{
    return under_src("data/sample", name);
}

char *wbt_data(const char *name)
{
    return under_src("tests/data/workbook", name);
}

char *wbt_tmp(const char *suffix)
{
    char *p;
    int fd;

    cr_assert_geq(asprintf(&p, "/tmp/calpae-wb-XXXXXX%s", suffix), 0);
    fd = mkstemps(p, (int)strlen(suffix));
    cr_assert_geq(fd, 0);
    close(fd);
    return p;
}

/* Filler produced on demand, so that a bomb needs no memory to be built. */
struct zeros {
    unsigned long long total, done;
    const char *prefix;
    size_t plen;
    char c;
    zip_error_t error;
};

static zip_int64_t zeros_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    struct zeros *z = ud;

    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        z->done = 0;
        return 0;
    case ZIP_SOURCE_READ: {
        zip_uint64_t n = z->total - z->done < len ? z->total - z->done : len;
        memset(data, z->c, n);
        for (zip_uint64_t i = 0; i < n && z->done + i < z->plen; i++)
            ((char *)data)[i] = z->prefix[z->done + i];
        z->done += n;
        return (zip_int64_t)n;
    }
    case ZIP_SOURCE_CLOSE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = z->total;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&z->error, data, len);
    case ZIP_SOURCE_FREE:
        free(z);
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ,
                                              ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                              ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
        zip_error_set(&z->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

void wbt_zip(const char *path, const struct wbt_entry *e, size_t n)
{
    int ze = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);

    cr_assert_not_null(za, "zip_open %s: %d", path, ze);
    for (size_t i = 0; i < n; i++) {
        zip_source_t *src;
        zip_int64_t idx;
        if (e[i].fill > 0) {
            struct zeros *z = calloc(1, sizeof *z);
            cr_assert_not_null(z);
            z->total = e[i].fill;
            z->prefix = e[i].data ? e[i].data : "";
            z->plen = strlen(z->prefix);
            z->c = e[i].fill_char;
            zip_error_init(&z->error);
            src = zip_source_function(za, zeros_cb, z);
        } else {
            size_t len = e[i].len ? e[i].len : strlen(e[i].data);
            src = zip_source_buffer(za, e[i].data, len, 0);
        }
        cr_assert_not_null(src);
        idx = zip_file_add(za, e[i].name, src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
        cr_assert_geq(idx, 0, "zip_file_add %s: %s", e[i].name, zip_strerror(za));
        if (e[i].store)
            zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);

    }
    cr_assert_eq(zip_close(za), 0, "zip_close: %s", zip_strerror(za));
}

static const char content_types[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
    "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
    "<Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>";
static const char root_rels[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
    "</Relationships>";
static const char workbook[] =
    "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
    "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
    "<sheets><sheet name=\"Feuil1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char wb_rels[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>"
    "</Relationships>";

void wbt_xlsx(const char *path, const char *sheet_body, const char *sst_items,
              const char *styles)
{
    char *sheet = NULL, *sst = NULL;
    struct wbt_entry e[7];
    size_t n = 0;

    cr_assert_geq(asprintf(&sheet,
                           "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                           "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
                           "<sheetData>%s</worksheet>", sheet_body), 0);
    e[n++] = (struct wbt_entry){ .name = "[Content_Types].xml", .data = content_types };
    e[n++] = (struct wbt_entry){ .name = "_rels/.rels", .data = root_rels };
    e[n++] = (struct wbt_entry){ .name = "xl/workbook.xml", .data = workbook };
    e[n++] = (struct wbt_entry){ .name = "xl/_rels/workbook.xml.rels", .data = wb_rels };
    e[n++] = (struct wbt_entry){ .name = "xl/worksheets/sheet1.xml", .data = sheet };
    if (sst_items) {
        cr_assert_geq(asprintf(&sst,
                               "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
                               "%s</sst>", sst_items), 0);
        e[n++] = (struct wbt_entry){ .name = "xl/sharedStrings.xml", .data = sst };
    }
    if (styles)
        e[n++] = (struct wbt_entry){ .name = "xl/styles.xml", .data = styles };
    wbt_zip(path, e, n);
    free(sheet);
    free(sst);
}

void wbt_ods(const char *path, const char *tables)
{
    char *content = NULL;
    struct wbt_entry e[2];

    cr_assert_geq(asprintf(&content,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<office:document-content "
        "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
        "xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" "
        "xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" "
        "xmlns:calcext=\"urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0\" "
        "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
        "xmlns:draw=\"urn:oasis:names:tc:opendocument:xmlns:drawing:1.0\" "
        "office:version=\"1.2\"><office:body><office:spreadsheet>%s"
        "</office:spreadsheet></office:body></office:document-content>", tables), 0);
    e[0] = (struct wbt_entry){ .name = "mimetype",
                               .data = "application/vnd.oasis.opendocument.spreadsheet",
                               .store = 1 };
    e[1] = (struct wbt_entry){ .name = "content.xml", .data = content };
    wbt_zip(path, e, 2);
    free(content);
}

long wbt_peak_rss_mib(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

double wbt_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
