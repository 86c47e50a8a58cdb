/*
 * libFuzzer harness for the CSV reader: every input is read with the
 * default and with tiny caps, each time four ways (fast path or libcsv
 * only, normal or tiny read blocks), which must all give the same rows and
 * the same result; every cell must be well-formed UTF-8 of the stated
 * length. Built and run by tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/limits.h"
#include "ingest/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], need, cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, cp = c & 0x07;
        else
            return 0;
        if (need > n - i - 1)
            return 0;
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

static int on_row(void *ctx, const struct cp_row *row)
{
    struct cp_buf *b = ctx;

    if (row->sheet || row->ncells == 0 || row->line == 0)
        abort();
    cp_buf_addf(b, "L%lu", row->line);
    for (size_t i = 0; i < row->ncells; i++) {
        const struct cp_cell *c = &row->cells[i];

        if (c->kind != CP_CELL_TEXT || c->len == 0 || strlen(c->text) != c->len ||
            !utf8_ok((const unsigned char *)c->text, c->len))
            abort();
        if (i > 0 && c->col <= row->cells[i - 1].col)
            abort();
        cp_buf_addf(b, "|%u=", c->col);
        cp_buf_add(b, c->text, c->len);
    }
    cp_buf_addc(b, '\n');
    return CP_READ_CONTINUE;
}

struct result {
    struct cp_buf rows;
    int rc;
    struct cp_err err;
    struct cp_read_info info;
};

static void run(const char *path, const struct cp_limits *lim, unsigned flags,
                struct result *out)
{
    struct cp_reader_sink sink = { &out->rows, NULL, on_row, NULL };

    cp_buf_init(&out->rows, 256u << 20);
    cp_err_clear(&out->err);
    out->rc = cp_csv_read_flags(path, lim, &sink, &out->info, &out->err, flags);
    if (out->rc != 0 && out->rc != -1)
        abort();
    if (out->rc == -1 && (!out->err.code[0] || !out->err.msg[0]))
        abort();
}

static void same(const struct result *a, const struct result *b)
{
    if (a->rc != b->rc || strcmp(cp_buf_str(&a->rows), cp_buf_str(&b->rows)) != 0 ||
        strcmp(a->err.code, b->err.code) != 0 || strcmp(a->err.where, b->err.where) != 0 ||
        strcmp(a->info.encoding, b->info.encoding) != 0 ||
        a->info.separator != b->info.separator) {
        fprintf(stderr, "first:\n%s-> %d %s %s\nother:\n%s-> %d %s %s\n",
                cp_buf_str(&a->rows), a->rc, a->err.code, a->err.where,
                cp_buf_str(&b->rows), b->rc, b->err.code, b->err.where);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cp_limits tiny = cp_limits_default;
    const struct cp_limits *lims[2] = { &cp_limits_default, &tiny };
    char path[64];
    int fd = memfd_create("fuzz-csv", MFD_CLOEXEC);

    if (fd < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    tiny.max_field_bytes = 16;
    tiny.max_columns = 8;
    for (int i = 0; i < 2; i++) {
        static const unsigned modes[] = { CP_CSV_LIBCSV_ONLY, CP_CSV_SMALL_BLOCKS,
                                          CP_CSV_SMALL_BLOCKS | CP_CSV_LIBCSV_ONLY };
        struct result first;

        run(path, lims[i], 0, &first);
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            struct result other;

            run(path, lims[i], modes[m], &other);
            same(&first, &other);
            cp_buf_release(&other.rows);
        }
        cp_buf_release(&first.rows);
    }
    close(fd);
    return 0;
}
