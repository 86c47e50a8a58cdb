/*
 * The job's tables (rquery.c) as CSV files beside synthese.xlsx:
 * synthese.csv, donnees.csv, anomalies.csv and axe-<slug>.csv, in the format
 * described in csvout.h.
 */
#include "render/csvout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/afile.h"
#include "render/render.h"
#include "render/rquery.h"

/* Largest CSV file written (held in memory to compare with the old one). */
#define CSV_MAX_BYTES (1024u * 1024u * 1024u)

int cp_csv_text(struct cp_buf *b, const char *s)
{
    size_t mark = b->len;
    int quote = strpbrk(s, ";\"\r\n") != NULL;
    int rc = 0;

    if (quote)
        rc |= cp_buf_addc(b, '"');
    /* Formula-like text: Excel would evaluate "=...", "+...", "-...",
     * "@..." (and some versions after a TAB or CR). */
    if (strchr("=+-@\t\r", s[0]) && s[0] != '\0')
        rc |= cp_buf_addc(b, '\'');
    for (const char *p = s; *p && rc == 0; p++) {
        if (*p == '"')
            rc |= cp_buf_addc(b, '"');
        rc |= cp_buf_addc(b, *p);
    }
    if (quote)
        rc |= cp_buf_addc(b, '"');
    if (rc) {
        b->len = mark;
        if (b->data)
            b->data[mark] = '\0';
        return -1;
    }
    return 0;
}

int cp_csv_number(struct cp_buf *b, double v)
{
    char s[64];

    if (!isfinite(v))
        return 0;
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(s, sizeof s, "%.0f", v);
    } else {
        snprintf(s, sizeof s, "%.12g", v);
        if (strchr(s, 'e')) {
            /* Spreadsheets read plain decimals better than exponents. */
            size_t len;

            snprintf(s, sizeof s, "%.12f", v);
            len = strlen(s);
            while (len > 0 && s[len - 1] == '0')
                s[--len] = '\0';
            if (len > 0 && s[len - 1] == '.')
                s[--len] = '\0';
        }
    }
    if (strcmp(s, "-0") == 0)
        strcpy(s, "0");
    for (char *p = s; *p; p++)
        if (*p == '.')
            *p = ',';
    return cp_buf_adds(b, s);
}

static int csv_datetime(struct cp_buf *b, const char *iso)
{
    /* "2021-07-20T05:51:38" → "20/07/2021 05:51:38", which French Excel
     * reads as a date. */
    if (strlen(iso) == 19)
        return cp_buf_addf(b, "%.2s/%.2s/%.4s %.8s", iso + 8, iso + 5, iso, iso + 11);
    return cp_buf_addf(b, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
}

static int csv_cell(struct cp_buf *b, const struct cp_rcell *c)
{
    switch (c->kind) {
    case CP_RCELL_TEXT:
        return cp_csv_text(b, c->text);
    case CP_RCELL_NUM:
        return cp_csv_number(b, c->num);
    case CP_RCELL_DATETIME:
        return csv_datetime(b, c->text);
    default:
        return 0;
    }
}

int cp_csv_write_table(const struct cp_rtable *t, const char *path, struct cp_err *err)
{
    struct cp_buf b = CP_BUF_INIT(CSV_MAX_BYTES);
    struct cp_afile a;
    int rc = 0;

    rc |= cp_buf_adds(&b, "\xEF\xBB\xBF");
    for (size_t c = 0; c < t->ncols; c++) {
        const char *h = t->csvhead[c] ? t->csvhead[c] : t->head[c] ? t->head[c] : "";
        if (c > 0)
            rc |= cp_buf_addc(&b, ';');
        rc |= cp_csv_text(&b, h);
    }
    rc |= cp_buf_adds(&b, "\r\n");
    for (size_t r = 0; r < t->nrows && rc == 0; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c > 0)
                rc |= cp_buf_addc(&b, ';');
            rc |= csv_cell(&b, &t->cells[r * t->ncols + c]);
        }
        rc |= cp_buf_adds(&b, "\r\n");
    }
    if (rc) {
        cp_buf_release(&b);
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", path,
                          "« %s » : mémoire insuffisante ou fichier trop grand", path);
    }
    if (cp_file_same(path, b.data, b.len)) {
        /* Unchanged: keep the file and its date. */
        cp_buf_release(&b);
        return 0;
    }
    if (cp_afile_open(&a, path, err) < 0) {
        cp_buf_release(&b);
        return -1;
    }
    if (fwrite(b.data, 1, b.len, a.f) != b.len) {
        cp_afile_abort(&a);
        cp_buf_release(&b);
        return cp_err_set(err, CP_EX_IOERR, "io", path, "écriture de « %s » impossible", path);
    }
    cp_buf_release(&b);
    return cp_afile_commit(&a, err);
}

static int write_one(const struct cp_render_job *j, const struct cp_rtable *t,
                     struct cp_err *err)
{
    struct cp_buf path = CP_BUF_INIT(4096);
    int rc;

    if (cp_buf_addf(&path, "%s/%s.csv", j->dir, t->slug) < 0) {
        cp_buf_release(&path);
        return cp_err_set(err, CP_EX_CANTCREAT, "io", j->dir, "chemin trop long : %s", j->dir);
    }
    rc = cp_csv_write_table(t, cp_buf_str(&path), err);
    cp_buf_release(&path);
    return rc;
}

int cp_render_csv(const struct cp_render_job *j, struct cp_err *err)
{
    struct cp_rtables own;
    const struct cp_rtables *r = j->tables;
    int rc = -1;

    if (!r) {
        r = &own;
        if (cp_rtables_build(&own, j, err) < 0)
            goto out;
    }
    if (write_one(j, &r->synth, err) < 0 || write_one(j, &r->data, err) < 0 ||
        write_one(j, &r->findings, err) < 0)
        goto out;
    for (size_t i = 0; i < r->naxes; i++)
        if (write_one(j, &r->axes[i].t, err) < 0)
            goto out;
    rc = 0;
out:
    if (rc < 0)
        cp_err_prefix(err, "exports CSV : ");
    if (r == &own)
        cp_rtables_release(&own);
    return rc;
}
