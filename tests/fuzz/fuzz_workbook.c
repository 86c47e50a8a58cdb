/*
 * libFuzzer harness for the workbook readers (ingest/xlsx.c, ingest/ods.c).
 * An input starting with "PK" is a whole file, given to both readers.
 * Any other input is one XML part: its first byte chooses which (sheet,
 * shared strings, styles, workbook, ODS content), the harness wraps it in
 * an otherwise valid archive, so that mutations reach the XML handlers
 * instead of dying on a zip checksum.
 *
 * Built by tests/fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined
 * from the sources of common/ and ingest/ (without ingest/main.c), linked
 * with `pkg-config --libs sqlite3 libcrypto libzip expat` -lcsv. Seeds:
 * the sample workbooks and tests/data/workbook/; dictionary:
 * tests/fuzz/workbook.dict (-dict=).
 *
 * Built with -DFUZZ_WORKBOOK_EXPORT (and without -fsanitize=fuzzer), it is
 * instead a tool that writes the archive an input stands for: that is how
 * a crashing input becomes a tests/data/workbook/fuzz-* regression file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zip.h>

#include "ingest/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned long sink_sum;

static int fz_begin(void *ctx, const char *name, unsigned index)
{
    (void)ctx;
    sink_sum += strlen(name) + index;
    return CP_READ_CONTINUE;
}

static int fz_row(void *ctx, const struct cp_row *row)
{
    unsigned long s = row->line;

    (void)ctx;
    for (size_t i = 0; i < row->ncells; i++) {
        const struct cp_cell *c = &row->cells[i];
        /* Every byte of every text, and its terminating NUL. */
        for (size_t k = 0; k <= c->len; k++)
            s += (unsigned char)c->text[k];
        if (c->text[c->len] != '\0' || (i > 0 && c->col <= row->cells[i - 1].col))
            abort();
        s += c->col + (unsigned)c->kind + (unsigned long)(c->num != 0);
    }
    sink_sum += s + (row->sheet ? strlen(row->sheet) : 0);
    return CP_READ_CONTINUE;
}

static int fz_end(void *ctx)
{
    (void)ctx;
    sink_sum++;
    return CP_READ_CONTINUE;
}

static const char ct[] = "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";
static const char rels[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"/xl/sharedStrings.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>"
    "</Relationships>";
static const char wb[] =
    "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
    "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
    "<sheets><sheet name=\"F\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char sheet[] =
    "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>"
    "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" s=\"1\"><v>0.5</v></c></row>"
    "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>1</v></c></row></sheetData>"
    "<mergeCells><mergeCell ref=\"A1:A3\"/></mergeCells></worksheet>";
static const char sst[] =
    "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<si><t>a</t></si><si><r><t>b</t></r><rPh><t>c</t></rPh></si></sst>";
static const char styles[] =
    "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<numFmts><numFmt numFmtId=\"164\" formatCode=\"0.0%\"/></numFmts>"
    "<cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"164\"/></cellXfs></styleSheet>";

/* Writes a zip whose entry `part` holds the input, the others the defaults. */
static int wrap(int fd, int part, const uint8_t *xml, size_t len)
{
    const char *names[] = { "[Content_Types].xml", "xl/workbook.xml",
                            "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml",
                            "xl/sharedStrings.xml", "xl/styles.xml" };
    const char *texts[] = { ct, wb, rels, sheet, sst, styles };
    /* part: 0 sheet, 1 shared strings, 2 styles, 3 workbook, 4 ODS content */
    static const int target[] = { 3, 4, 5, 1 };
    zip_source_t *mem;
    zip_t *za;
    zip_error_t ze;
    zip_stat_t st;
    void *buf = NULL;
    int rc = -1;

    zip_error_init(&ze);
    mem = zip_source_buffer_create(NULL, 0, 0, &ze);
    if (!mem)
        goto out;
    za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
    if (!za) {
        zip_source_free(mem);
        goto out;
    }
    zip_source_keep(mem);
    if (part == 4) {
        zip_source_t *a = zip_source_buffer(za, "application/vnd.oasis.opendocument.spreadsheet", 46, 0);
        zip_source_t *b = zip_source_buffer(za, xml, len, 0);
        zip_file_add(za, "mimetype", a, 0);
        zip_file_add(za, "content.xml", b, 0);
    } else {
        for (int i = 0; i < 6; i++) {
            int mine = i == target[part];
            zip_source_t *s = zip_source_buffer(za, mine ? (const void *)xml : texts[i],
                                                mine ? len : strlen(texts[i]), 0);
            zip_int64_t idx = zip_file_add(za, names[i], s, 0);
            if (idx >= 0)
                zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
        }
    }
    if (zip_close(za) != 0) {
        zip_discard(za);
        zip_source_free(mem);
        goto out;
    }
    if (zip_source_stat(mem, &st) == 0 && zip_source_open(mem) == 0) {
        buf = malloc(st.size ? st.size : 1);
        if (buf && zip_source_read(mem, buf, st.size) == (zip_int64_t)st.size &&
            ftruncate(fd, 0) == 0 && pwrite(fd, buf, st.size, 0) == (ssize_t)st.size)
            rc = 0;
        zip_source_close(mem);
    }
    zip_source_free(mem);
out:
    free(buf);
    zip_error_fini(&ze);
    return rc;
}

static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    static struct cp_limits lim;
    struct cp_reader_sink sink = { NULL, fz_begin, fz_row, fz_end };
    struct cp_read_info info;
    struct cp_err err;
    int wrapped = 0;

    if (fd < 0) {
        fd = memfd_create("fuzz-workbook", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        /* Small caps keep each run short; the code paths are the same. */
        lim = cp_limits_default;
        lim.max_entry_bytes = 8u << 20;
        lim.max_archive_bytes = 32u << 20;
        lim.max_cells = 200000;
        lim.max_shared_strings_bytes = 1u << 20;
        lim.max_field_bytes = 4096;
        lim.max_columns = 1024;
        lim.max_seconds = 10;
    }
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
        if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
            abort();
    } else if (size >= 1) {
        wrapped = data[0] % 5;
        if (wrap(fd, wrapped, data + 1, size - 1) != 0)
            return 0;
        wrapped++;
    } else {
        return 0;
    }
    cp_err_clear(&err);
    if (wrapped != 5) {
        int rc = cp_xlsx_read(path, &lim, &sink, &info, &err);
        if (rc != 0 && (rc != -1 || err.code[0] == '\0' || err.msg[0] == '\0'))
            abort();
    }
    cp_err_clear(&err);
    if (wrapped == 0 || wrapped == 5) {
        int rc = cp_ods_read(path, &lim, &sink, &info, &err);
        if (rc != 0 && (rc != -1 || err.code[0] == '\0' || err.msg[0] == '\0'))
            abort();
    }
    return 0;
}

#ifdef FUZZ_WORKBOOK_EXPORT
/* fuzz_workbook_export INPUT OUTPUT: the file the readers saw for INPUT. */
int main(int argc, char **argv)
{
    static uint8_t in[1 << 22];
    char buf[65536];
    FILE *f, *out;
    size_t n;
    ssize_t k;
    off_t off = 0;

    if (argc != 3 || !(f = fopen(argv[1], "rb")))
        return 64;
    n = fread(in, 1, sizeof in, f);
    fclose(f);
    LLVMFuzzerTestOneInput(in, n);
    if (!(out = fopen(argv[2], "wb")))
        return 73;
    while ((k = pread(fd, buf, sizeof buf, off)) > 0) {
        fwrite(buf, 1, (size_t)k, out);
        off += k;
    }
    return fclose(out) == 0 ? 0 : 74;
}
#endif
