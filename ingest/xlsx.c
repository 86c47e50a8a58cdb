/*
 * XLSX reader (Office Open XML, transitional or strict, from Excel,
 * LibreOffice, libxlsxwriter, openpyxl...): sheets are streamed from the
 * zip one row at a time to the sink (reader.h). Only the shared strings,
 * the percent styles and the merge ranges of the current sheet are held.
 *
 * Callbacks: after sheet_begin, sheet_end is called unless a callback
 * returned CP_READ_STOP or < 0 (also after CP_READ_NEXT_SHEET).
 */
#include "ingest/reader.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "ingest/wbrows.h"
#include "ingest/zipxml.h"

enum { NS_NONE = 0, NS_MAIN = 1, NS_REL = 2, NS_PKG = 3 };

static const struct cp_xml_ns xlsx_ns[] = {
    { "http://schemas.openxmlformats.org/spreadsheetml/2006/main", NS_MAIN },
    { "http://purl.oclc.org/ooxml/spreadsheetml/main", NS_MAIN },
    { "http://schemas.openxmlformats.org/officeDocument/2006/relationships", NS_REL },
    { "http://purl.oclc.org/ooxml/officeDocument/relationships", NS_REL },
    { "http://schemas.openxmlformats.org/package/2006/relationships", NS_PKG },
    { NULL, 0 }
};

static const char kind_name[] = "classeur XLSX";
static const char fix_hint[] =
    "ouvrez-le puis enregistrez-le de nouveau avec Excel ou LibreOffice";

/* Styles beyond this many are read as plain numbers (Excel allows 64 000). */
#define MAX_XF (1u << 20)
#define MAX_PCT_FMT (1u << 16)
#define MAX_MERGES (1u << 20)
/* Internal results of a sheet parse, beside the sink's. */
#define SHEET_DONE 3

struct rel {
    char *id, *type, *target; /* owned; type: what follows the last '/' */
};

struct sheet {
    char *name; /* owned */
    char *rid;  /* owned */
};

/* The t attribute of a cell. */
enum ctype { T_NUMBER, T_SHARED, T_INLINE, T_STR, T_BOOL, T_ERROR, T_DATE };

struct merge {
    unsigned long long r1, c1, r2;
};

struct xlsx {
    struct cp_zip zip;
    const struct cp_limits *lim;
    struct cp_wbrows rows;

    /* relationships of the part being resolved */
    struct rel *rels;
    size_t nrels, relcap;
    char *office; /* target of the package's officeDocument relationship */

    struct sheet *sheets;
    size_t nsheets, sheetcap;

    /* styles: which cellXfs are percentages */
    unsigned char *xf_pct;
    size_t nxf, xfcap;
    unsigned *pct_fmts;
    size_t npct, pctcap;
    int pct_sorted;
    int in_cellxfs, in_numfmts;

    /* shared strings */
    struct cp_buf sst;
    size_t *sst_off; /* start of each string; sst_off[n] = end */
    size_t nsst, sstcap;
    int in_si, in_rph, in_t, si_open;
    size_t si_start;

    /* merges of the current sheet, by first row */
    struct merge *merges;
    size_t nmerges, mergecap, next_merge;

    /* the sheet being streamed */
    int in_sheetdata, in_row, in_c, in_v, in_f, in_is, in_ist;
    int row_known, has_v, has_f;
    enum ctype ctype;
    unsigned long cstyle;
    unsigned long long rownum, prev_row, col_next;
    struct cp_buf formula;
};

/* --- small helpers --------------------------------------------------------- */

static int no_memory(struct xlsx *w)
{
    return cp_err_set(w->zip.err, CP_EX_SOFTWARE, "io", w->zip.path,
                      "mémoire insuffisante pour lire le classeur ; réessayez "
                      "plus tard.");
}

static int grow(void **p, size_t *cap, size_t want, size_t sz)
{
    size_t ncap;
    void *np;

    if (want <= *cap)
        return 0;
    ncap = *cap ? *cap : 16;
    while (ncap < want)
        ncap *= 2;
    np = realloc(*p, ncap * sz);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

/* Halts the parse when rc says to stop; returns 1 when it did. */
static int halt_on(struct cp_xml *x, int rc)
{
    if (rc == 0)
        return 0;
    cp_xml_halt(x, rc);
    return 1;
}

/* Parses "A7" into 0-based column and 1-based row (0 when absent). Returns
 * 0 when s is not a cell reference. */
static int parse_ref(const char *s, unsigned long long *col, unsigned long long *row)
{
    unsigned long long c = 0, r = 0;
    int letters = 0, digits = 0;

    for (; *s >= 'A' && *s <= 'Z'; s++, letters++) {
        if (letters >= 7)
            return 0;
        c = c * 26 + (unsigned long long)(*s - 'A' + 1);
    }
    if (*s == '$')
        s++;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (digits >= 12)
            return 0;
        r = r * 10 + (unsigned long long)(*s - '0');
    }
    if (letters == 0 || *s != '\0')
        return 0;
    *col = c - 1;
    *row = r;
    return 1;
}

/* Parses an unsigned decimal; 0 when s is not one (or overflows). */
static int parse_uint(const char *s, unsigned long long *v)
{
    unsigned long long n = 0;
    int any = 0;

    while (*s == ' ')
        s++;
    for (; *s >= '0' && *s <= '9'; s++, any = 1) {
        if (n > (ULLONG_MAX - 9) / 10)
            return 0;
        n = n * 10 + (unsigned long long)(*s - '0');
    }
    while (*s == ' ')
        s++;
    if (!any || *s != '\0')
        return 0;
    *v = n;
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decodes OOXML's _xHHHH_ escapes in place (Excel writes a carriage
 * return as _x000D_, a literal "_x" as _x005F_x) and returns the new
 * length. NUL and surrogates stay as written.
 */
static size_t unescape_x(char *s, size_t len)
{
    size_t i = 0, o = 0;

    while (i < len) {
        if (s[i] == '_' && i + 6 < len && s[i + 1] == 'x' && s[i + 6] == '_') {
            int h0 = hexval(s[i + 2]), h1 = hexval(s[i + 3]);
            int h2 = hexval(s[i + 4]), h3 = hexval(s[i + 5]);
            if (h0 >= 0 && h1 >= 0 && h2 >= 0 && h3 >= 0) {
                unsigned cp = (unsigned)(h0 << 12 | h1 << 8 | h2 << 4 | h3);
                if (cp != 0 && (cp < 0xD800 || cp > 0xDFFF)) {
                    if (cp < 0x80) {
                        s[o++] = (char)cp;
                    } else if (cp < 0x800) {
                        s[o++] = (char)(0xC0 | cp >> 6);
                        s[o++] = (char)(0x80 | (cp & 0x3F));
                    } else {
                        s[o++] = (char)(0xE0 | cp >> 12);
                        s[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
                        s[o++] = (char)(0x80 | (cp & 0x3F));
                    }
                    i += 7;
                    continue;
                }
            }
        }
        s[o++] = s[i++];
    }
    return o;
}

/* --- part names ---------------------------------------------------------- */

/*
 * Resolves a relationship target against the folder of its source part
 * ("xl/"): absolute targets start at the package root, "../" and "./"
 * are followed, %XX decoded. Returns a malloc'd entry name or NULL.
 */
static char *resolve_target(const char *dir, const char *target)
{
    size_t dl = strlen(dir), tl = strlen(target);
    char *joined = malloc(dl + tl + 2), *out;
    size_t n = 0, o = 0;

    if (!joined)
        return NULL;
    if (target[0] == '/') {
        dl = 0;
    } else {
        memcpy(joined, dir, dl);
        n = dl;
    }
    for (size_t i = 0; target[i]; i++) {
        int h, l;
        if (target[i] == '%' && (h = hexval(target[i + 1])) >= 0 &&
            (l = hexval(target[i + 2])) >= 0 && (h | l) != 0) {
            joined[n++] = (char)(h << 4 | l);
            i += 2;
        } else {
            joined[n++] = target[i] == '\\' ? '/' : target[i];
        }
    }
    joined[n] = '\0';
    out = malloc(n + 1);
    if (!out) {
        free(joined);
        return NULL;
    }
    /* Normalise segment by segment. */
    for (char *seg = joined, *end; seg && *seg; seg = end ? end + 1 : NULL) {
        size_t sl;
        end = strchr(seg, '/');
        sl = end ? (size_t)(end - seg) : strlen(seg);
        if (sl == 0 || (sl == 1 && seg[0] == '.'))
            continue;
        if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            continue;
        }
        if (o > 0)
            out[o++] = '/';
        memcpy(out + o, seg, sl);
        o += sl;
    }
    out[o] = '\0';
    free(joined);
    return out;
}

/* The folder of a part name, with its trailing '/' ("xl/"), malloc'd. */
static char *part_dir(const char *part)
{
    const char *slash = strrchr(part, '/');
    size_t n = slash ? (size_t)(slash - part) + 1 : 0;
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, part, n);
        d[n] = '\0';
    }
    return d;
}

/* --- relationships --------------------------------------------------------- */

static void rels_clear(struct xlsx *w)
{
    for (size_t i = 0; i < w->nrels; i++) {
        free(w->rels[i].id);
        free(w->rels[i].type);
        free(w->rels[i].target);
    }
    w->nrels = 0;
}

struct rels_ctx {
    struct xlsx *w;
    const char *dir; /* folder targets are relative to */
};

static void rels_start(struct cp_xml *x, int ns, const char *name, const char **atts)
{
    struct rels_ctx *rc = x->ctx;
    struct xlsx *w = rc->w;
    const char *id, *type, *target, *mode, *slash;
    struct rel *r;

    if (ns != NS_PKG || strcmp(name, "Relationship") != 0)
        return;
    id = cp_xml_attr(x, atts, NS_NONE, "Id");
    type = cp_xml_attr(x, atts, NS_NONE, "Type");
    target = cp_xml_attr(x, atts, NS_NONE, "Target");
    mode = cp_xml_attr(x, atts, NS_NONE, "TargetMode");
    if (!id || !type || !target || (mode && strcmp(mode, "External") == 0))
        return;
    if (w->nrels >= w->lim->max_entries) {
        cp_xml_fail(x, CP_EX_DATAERR, "too_many_entries", x->entry,
                    "« %s » déclare plus de %lu relations : ce n'est pas un "
                    "classeur ordinaire ; %s.", x->entry, w->lim->max_entries,
                    fix_hint);
        return;
    }
    if (grow((void **)&w->rels, &w->relcap, w->nrels + 1, sizeof *w->rels) != 0)
        goto nomem;
    slash = strrchr(type, '/');
    r = &w->rels[w->nrels];
    r->id = strdup(id);
    r->type = strdup(slash ? slash + 1 : type);
    r->target = resolve_target(rc->dir, target);
    w->nrels++;
    if (!r->id || !r->type || !r->target)
        goto nomem;
    return;
nomem:
    no_memory(w);
    cp_xml_halt(x, -1);
}

static void ignore_end(struct cp_xml *x, int ns, const char *name)
{
    (void)x;
    (void)ns;
    (void)name;
}

/* Reads the relationships of part (e.g. xl/_rels/workbook.xml.rels for
 * xl/workbook.xml). A missing relationships entry leaves none. */
static int read_rels(struct xlsx *w, const char *part, int required)
{
    static const struct cp_xml_handlers h = { xlsx_ns, rels_start, ignore_end, NULL };
    struct rels_ctx rc = { w, NULL };
    char *dir = part_dir(part), *relname = NULL;
    const char *base = strrchr(part, '/');
    int rc_ = -1;

    rels_clear(w);
    base = base ? base + 1 : part;
    if (!dir)
        return no_memory(w);
    relname = malloc(strlen(dir) + strlen(base) + sizeof "_rels/.rels");
    if (!relname) {
        no_memory(w);
        goto out;
    }
    sprintf(relname, "%s_rels/%s.rels", dir, base);
    if (!cp_zip_has(&w->zip, relname)) {
        if (required)
            cp_err_set(w->zip.err, CP_EX_DATAERR, "bad_archive", relname,
                       "l'élément « %s » manque : sans lui les feuilles du "
                       "classeur sont introuvables ; %s.", relname, fix_hint);
        else
            rc_ = 0;
        goto out;
    }
    rc.dir = dir;
    rc_ = cp_xml_parse(&w->zip, relname, &h, &rc);
out:
    free(relname);
    free(dir);
    return rc_;
}

static const struct rel *rel_by_id(const struct xlsx *w, const char *id)
{
    for (size_t i = 0; i < w->nrels; i++)
        if (strcmp(w->rels[i].id, id) == 0)
            return &w->rels[i];
    return NULL;
}

static const struct rel *rel_by_type(const struct xlsx *w, const char *type)
{
    for (size_t i = 0; i < w->nrels; i++)
        if (strcmp(w->rels[i].type, type) == 0)
            return &w->rels[i];
    return NULL;
}

/* --- workbook ------------------------------------------------------------ */

static void wb_start(struct cp_xml *x, int ns, const char *name, const char **atts)
{
    struct xlsx *w = x->ctx;
    const char *sname, *rid;
    struct sheet *s;

    if (ns != NS_MAIN || strcmp(name, "sheet") != 0)
        return;
    sname = cp_xml_attr(x, atts, NS_NONE, "name");
    rid = cp_xml_attr(x, atts, NS_REL, "id");
    if (!sname || !rid) {
        cp_xml_fail(x, CP_EX_DATAERR, "bad_xml", x->entry,
                    "une feuille déclarée dans « %s » (ligne %lu) n'a pas de nom "
                    "ou pas de relation : le classeur est endommagé ; %s.",
                    x->entry, cp_xml_line(x), fix_hint);
        return;
    }
    if (w->nsheets >= w->lim->max_entries) {
        cp_xml_fail(x, CP_EX_DATAERR, "too_many_entries", x->entry,
                    "le classeur déclare plus de %lu feuilles ; %s.",
                    w->lim->max_entries, fix_hint);
        return;
    }
    if (strlen(sname) > w->lim->max_field_bytes) {
        cp_xml_fail(x, CP_EX_DATAERR, "field_too_long", x->entry,
                    "un nom de feuille dépasse %zu octets ; renommez la feuille.",
                    w->lim->max_field_bytes);
        return;
    }
    if (grow((void **)&w->sheets, &w->sheetcap, w->nsheets + 1, sizeof *w->sheets) != 0)
        goto nomem;
    s = &w->sheets[w->nsheets++];
    s->name = strdup(sname);
    s->rid = strdup(rid);
    if (!s->name || !s->rid)
        goto nomem;
    return;
nomem:
    no_memory(w);
    cp_xml_halt(x, -1);
}

/* --- styles ----------------------------------------------------------------- */

/* 1 when a number format shows a percentage: a '%' outside quoted text,
 * [brackets] and escaped characters. */
static int format_is_pct(const char *f)
{
    for (; *f; f++) {
        switch (*f) {
        case '"':
            while (f[1] && f[1] != '"')
                f++;
            if (f[1])
                f++;
            break;
        case '[':
            while (f[1] && f[1] != ']')
                f++;
            if (f[1])
                f++;
            break;
        case '\\':
        case '_':
        case '*':
            if (f[1])
                f++;
            break;
        case '%':
            return 1;
        default:
            break;
        }
    }
    return 0;
}

static int uint_cmp(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return x < y ? -1 : x > y;
}

static int fmt_is_pct(struct xlsx *w, unsigned long long id)
{
    unsigned key;

    if (id == 9 || id == 10)
        return 1;
    if (w->npct == 0 || id > UINT32_MAX)
        return 0;
    /* Sorted once, searched for each style: a hostile styles part with
     * many formats and many styles stays linear-logarithmic. */
    if (!w->pct_sorted) {
        qsort(w->pct_fmts, w->npct, sizeof *w->pct_fmts, uint_cmp);
        w->pct_sorted = 1;
    }
    key = (unsigned)id;
    return bsearch(&key, w->pct_fmts, w->npct, sizeof *w->pct_fmts, uint_cmp) != NULL;
}

static void styles_start(struct cp_xml *x, int ns, const char *name, const char **atts)
{
    struct xlsx *w = x->ctx;
    const char *v;
    unsigned long long id = 0;

    if (ns != NS_MAIN)
        return;
    if (strcmp(name, "numFmts") == 0) {
        w->in_numfmts = 1;
    } else if (strcmp(name, "cellXfs") == 0) {
        w->in_cellxfs = 1;
    } else if (w->in_numfmts && strcmp(name, "numFmt") == 0) {
        const char *code = cp_xml_attr(x, atts, NS_NONE, "formatCode");
        v = cp_xml_attr(x, atts, NS_NONE, "numFmtId");
        if (!v || !code || !parse_uint(v, &id) || id > UINT32_MAX ||
            !format_is_pct(code) || w->npct >= MAX_PCT_FMT)
            return;
        if (grow((void **)&w->pct_fmts, &w->pctcap, w->npct + 1, sizeof *w->pct_fmts) != 0) {
            no_memory(w);
            cp_xml_halt(x, -1);
            return;
        }
        w->pct_fmts[w->npct++] = (unsigned)id;
        w->pct_sorted = 0;
    } else if (w->in_cellxfs && strcmp(name, "xf") == 0) {
        if (w->nxf >= MAX_XF)
            return;
        v = cp_xml_attr(x, atts, NS_NONE, "numFmtId");
        if (grow((void **)&w->xf_pct, &w->xfcap, w->nxf + 1, 1) != 0) {
            no_memory(w);
            cp_xml_halt(x, -1);
            return;
        }
        w->xf_pct[w->nxf++] = (unsigned char)(v && parse_uint(v, &id) && fmt_is_pct(w, id));
    }
}

static void styles_end(struct cp_xml *x, int ns, const char *name)
{
    struct xlsx *w = x->ctx;

    if (ns != NS_MAIN)
        return;
    if (strcmp(name, "numFmts") == 0)
        w->in_numfmts = 0;
    else if (strcmp(name, "cellXfs") == 0)
        w->in_cellxfs = 0;
}

/* --- shared strings ------------------------------------------------------ */

static int sst_too_big(struct cp_xml *x, struct xlsx *w)
{
    return cp_xml_fail(x, CP_EX_DATAERR, "shared_strings_too_big", x->entry,
                       "la table des textes du classeur dépasse %zu octets ; "
                       "supprimez les feuilles et les textes inutiles, ou "
                       "envoyez un fichier CSV.", w->lim->max_shared_strings_bytes);
}

static void sst_start(struct cp_xml *x, int ns, const char *name, const char **atts)
{
    struct xlsx *w = x->ctx;

    (void)atts;
    if (ns != NS_MAIN)
        return;
    if (strcmp(name, "si") == 0) {
        w->in_si = 1;
        w->si_start = w->sst.len;
    } else if (w->in_si && strcmp(name, "rPh") == 0) {
        w->in_rph = 1;
    } else if (w->in_si && strcmp(name, "t") == 0) {
        w->in_t = 1;
    }
}

static void sst_end(struct cp_xml *x, int ns, const char *name)
{
    struct xlsx *w = x->ctx;

    if (ns != NS_MAIN)
        return;
    if (strcmp(name, "t") == 0) {
        w->in_t = 0;
    } else if (strcmp(name, "rPh") == 0) {
        w->in_rph = 0;
    } else if (w->in_si && strcmp(name, "si") == 0) {
        size_t len = w->sst.len - w->si_start;
        w->in_si = 0;
        if (len > 0) {
            len = unescape_x(w->sst.data + w->si_start, len);
            w->sst.len = w->si_start + len;
        }
        /* Offsets count against the cap too: a table of empty strings
         * must not escape it. */
        if (w->nsst + 2 > (w->lim->max_shared_strings_bytes - w->sst.len) / sizeof(size_t) ||
            cp_buf_addc(&w->sst, '\0') != 0) {
            sst_too_big(x, w);
            return;
        }
        if (grow((void **)&w->sst_off, &w->sstcap, w->nsst + 2, sizeof *w->sst_off) != 0) {
            no_memory(w);
            cp_xml_halt(x, -1);
            return;
        }
        w->sst_off[w->nsst++] = w->si_start;
        w->sst_off[w->nsst] = w->sst.len;
    }
}

static void sst_text(struct cp_xml *x, const char *s, size_t len)
{
    struct xlsx *w = x->ctx;

    if (!w->in_si || !w->in_t || w->in_rph)
        return;
    if (cp_buf_add(&w->sst, s, len) != 0)
        sst_too_big(x, w);
}

/* --- merges (first pass over a sheet) ------------------------------------ */

struct scan {
    char tail[16]; /* the end of the previous block */
    size_t ntail;
    int first, found;
};

/* 1 when needle (n bytes, its first byte rare in XML markup) is in data:
 * memchr runs at memory speed on long runs of anything else. */
static int find(const char *data, size_t len, const char *needle, size_t n)
{
    const char *p = data, *end = data + len;

    while ((size_t)(end - p) >= n && (p = memchr(p, needle[0], (size_t)(end - p) - n + 1))) {
        if (memcmp(p, needle, n) == 0)
            return 1;
        p++;
    }
    return 0;
}

/* Looks for "mergeCell" in the raw bytes: most sheets have none, and then
 * the XML pass is saved. UTF-16 sheets are always parsed. */
static int scan_block(void *ctx, const char *data, size_t len)
{
    static const char needle[] = "mergeCell";
    struct scan *s = ctx;
    char joined[2 * sizeof needle];
    size_t nl = sizeof needle - 1, k;

    if (s->first) {
        s->first = 0;
        if (len >= 2 && (((unsigned char)data[0] == 0xFF && (unsigned char)data[1] == 0xFE) ||
                         ((unsigned char)data[0] == 0xFE && (unsigned char)data[1] == 0xFF) ||
                         data[0] == '\0' || data[1] == '\0')) {
            s->found = 1;
            return 1;
        }
    }
    /* Across the boundary: the previous tail and this block's head. */
    k = len < nl - 1 ? len : nl - 1;
    memcpy(joined, s->tail, s->ntail);
    memcpy(joined + s->ntail, data, k);
    if (find(joined, s->ntail + k, needle, nl) || find(data, len, needle, nl)) {
        s->found = 1;
        return 1;
    }
    if (len >= nl - 1) {
        memcpy(s->tail, data + len - (nl - 1), nl - 1);
        s->ntail = nl - 1;
    } else {
        size_t keep = s->ntail + len > nl - 1 ? nl - 1 - len : s->ntail;
        memmove(s->tail, s->tail + s->ntail - keep, keep);
        memcpy(s->tail + keep, data, len);
        s->ntail = keep + len;
    }
    return 0;
}

static void merge_start(struct cp_xml *x, int ns, const char *name, const char **atts)
{
    struct xlsx *w = x->ctx;
    const char *ref, *colon;
    char a[24], b[24];
    unsigned long long c1, r1, c2, r2;
    size_t la;

    if (ns != NS_MAIN || strcmp(name, "mergeCell") != 0)
        return;
    ref = cp_xml_attr(x, atts, NS_NONE, "ref");
    if (!ref || !(colon = strchr(ref, ':')))
        return;
    la = (size_t)(colon - ref);
    if (la >= sizeof a || strlen(colon + 1) >= sizeof b)
        return;
    memcpy(a, ref, la);
    a[la] = '\0';
    strcpy(b, colon + 1);
    if (!parse_ref(a, &c1, &r1) || !parse_ref(b, &c2, &r2) || r1 == 0 || r2 <= r1)
        return; /* only vertical merges matter */
    if (w->nmerges >= MAX_MERGES) {
        cp_xml_fail(x, CP_EX_DATAERR, "too_many_merges", x->entry,
                    "la feuille a plus de %u plages de cellules fusionnées ; "
                    "défusionnez les cellules puis renvoyez le fichier.", MAX_MERGES);
        return;
    }
    if (grow((void **)&w->merges, &w->mergecap, w->nmerges + 1, sizeof *w->merges) != 0) {
        no_memory(w);
        cp_xml_halt(x, -1);
        return;
    }
    w->merges[w->nmerges++] = (struct merge){ r1, c1 < c2 ? c1 : c2, r2 };
}

static void merge_end(struct cp_xml *x, int ns, const char *name)
{
    if (ns == NS_MAIN && strcmp(name, "mergeCells") == 0)
        cp_xml_halt(x, SHEET_DONE);
}

static int merge_cmp(const void *a, const void *b)
{
    const struct merge *x = a, *y = b;

    if (x->r1 != y->r1)
        return x->r1 < y->r1 ? -1 : 1;
    return x->c1 < y->c1 ? -1 : x->c1 > y->c1;
}

static int read_merges(struct xlsx *w, const char *entry)
{
    static const struct cp_xml_handlers h = { xlsx_ns, merge_start, merge_end, NULL };
    struct scan s = { .first = 1 };
    int rc;

    w->nmerges = 0;
    w->next_merge = 0;
    rc = cp_zip_stream(&w->zip, entry, scan_block, &s);
    if (rc < 0)
        return rc;
    if (!s.found)
        return 0;
    rc = cp_xml_parse(&w->zip, entry, &h, w);
    if (rc < 0)
        return rc;
    if (w->nmerges > 0) /* merges is NULL when none was kept */
        qsort(w->merges, w->nmerges, sizeof *w->merges, merge_cmp);
    return 0;
}

/* --- the sheet, streamed ---------------------------------------------------- */

static enum ctype cell_type(const char *t)
{
    if (!t)
        return T_NUMBER;
    if (strcmp(t, "s") == 0)
        return T_SHARED;
    if (strcmp(t, "inlineStr") == 0)
        return T_INLINE;
    if (strcmp(t, "str") == 0)
        return T_STR;
    if (strcmp(t, "b") == 0)
        return T_BOOL;
    if (strcmp(t, "e") == 0)
        return T_ERROR;
    if (strcmp(t, "d") == 0)
        return T_DATE;
    return T_NUMBER; /* "n" or unknown */
}

/* Row number rownum begins: merges anchored in it are announced. */
static int begin_row(struct xlsx *w, unsigned long long rownum)
{
    int rc;

    w->rownum = rownum;
    w->row_known = 1;
    w->col_next = 0;
    if ((rc = cp_wbrows_row_begin(&w->rows, rownum)) != 0)
        return rc;
    while (w->next_merge < w->nmerges && w->merges[w->next_merge].r1 < rownum)
        w->next_merge++;
    for (; w->next_merge < w->nmerges && w->merges[w->next_merge].r1 == rownum;
         w->next_merge++) {
        const struct merge *m = &w->merges[w->next_merge];
        if ((rc = cp_wbrows_span(&w->rows, m->c1, m->r2)) != 0)
            return rc;
    }
    return 0;
}

static void sheet_start(struct cp_xml *x, int ns, const char *name, const char **atts)
{
    struct xlsx *w = x->ctx;
    unsigned long long col = 0, row = 0;
    const char *v;

    if (ns != NS_MAIN)
        return;
    if (w->in_c) {
        if (strcmp(name, "v") == 0)
            w->in_v = 1;
        else if (strcmp(name, "f") == 0)
            w->in_f = w->has_f = 1;
        else if (strcmp(name, "is") == 0)
            w->in_is = 1;
        else if (w->in_is && strcmp(name, "t") == 0)
            w->in_ist = 1;
        else if (w->in_is && strcmp(name, "rPh") == 0)
            w->in_is = 2; /* phonetic run: its text is not the cell's */
        return;
    }
    if (strcmp(name, "sheetData") == 0) {
        w->in_sheetdata = 1;
    } else if (w->in_sheetdata && strcmp(name, "row") == 0) {
        w->in_row = 1;
        w->row_known = 0;
        w->col_next = 0;
        v = cp_xml_attr(x, atts, NS_NONE, "r");
        if (v && parse_uint(v, &row) && row > 0)
            halt_on(x, begin_row(w, row));
    } else if (w->in_row && strcmp(name, "c") == 0) {
        const char *r = cp_xml_attr(x, atts, NS_NONE, "r");
        const char *t = cp_xml_attr(x, atts, NS_NONE, "t");
        const char *s = cp_xml_attr(x, atts, NS_NONE, "s");
        unsigned long long st = 0;

        if (!(r && parse_ref(r, &col, &row))) {
            col = w->col_next;
            row = 0;
        }
        if (!w->row_known && halt_on(x, begin_row(w, row ? row : w->prev_row + 1)))
            return;
        w->col_next = col + 1;
        w->ctype = cell_type(t);
        w->cstyle = s && parse_uint(s, &st) && st < MAX_XF ? (unsigned long)st : 0;
        w->in_c = 1;
        w->has_v = w->has_f = 0;
        cp_buf_reset(&w->formula);
        cp_wbrows_cell_begin(&w->rows, col);
    }
}

/* The cell ends: its kind comes from its type, value and style. */
static int end_cell(struct xlsx *w)
{
    struct cp_wbrows *r = &w->rows;
    enum ctype t = w->ctype;
    size_t len;
    char *text = cp_wbrows_cell_text(r, &len);
    double num = 0;
    int rc;

    /* No cached value: no <v>, or an empty one (openpyxl writes <v/>); an
     * empty string result (t="str") is an empty cell. */
    if (w->has_f && t != T_INLINE && (!w->has_v || (len == 0 && t != T_STR))) {
        cp_wbrows_cell_truncate(r, 0);
        if (w->formula.len > 0 &&
            (rc = cp_wbrows_cell_add(r, w->formula.data, w->formula.len)) != 0)
            return rc;
        return cp_wbrows_cell_end(r, CP_CELL_NOVALUE, 0);
    }
    switch (t) {
    case T_SHARED: {
        unsigned long long idx;
        char tmp[32];
        if (len == 0)
            return cp_wbrows_cell_end(r, CP_CELL_TEXT, 0);
        if (len >= sizeof tmp)
            len = sizeof tmp - 1; /* too long for an index: refused below */
        memcpy(tmp, text, len);
        tmp[len] = '\0';
        if (len == sizeof tmp - 1 || !parse_uint(tmp, &idx) || idx >= w->nsst) {
            cp_wbrows_cell_cancel(r);
            return cp_err_set(w->zip.err, CP_EX_DATAERR, "bad_xml",
                              cp_wbrows_where(r, r->col, r->row),
                              "la cellule renvoie au texte partagé n° %s, qui "
                              "n'existe pas (le classeur en a %zu) : le classeur "
                              "est endommagé ; %s.", tmp, w->nsst, fix_hint);
        }
        cp_wbrows_cell_truncate(r, 0);
        if ((rc = cp_wbrows_cell_ref(r, w->sst.data + w->sst_off[idx],
                                     w->sst_off[idx + 1] - w->sst_off[idx] - 1)) != 0)
            return rc;
        return cp_wbrows_cell_end(r, CP_CELL_TEXT, 0);
    }
    case T_INLINE:
    case T_STR:
        if (len > 0)
            cp_wbrows_cell_truncate(r, unescape_x(text, len));
        return cp_wbrows_cell_end(r, CP_CELL_TEXT, 0);
    case T_BOOL: {
        int one = len > 0 && cp_wbrows_number(r, text, len, &num) && num != 0;
        return cp_wbrows_cell_end(r, CP_CELL_BOOL, one ? 1.0 : 0.0);
    }
    case T_ERROR:
        return cp_wbrows_cell_end(r, CP_CELL_ERROR, 0);
    case T_DATE:
        return cp_wbrows_cell_end(r, CP_CELL_DATE, 0);
    case T_NUMBER:
        break;
    }
    /* "n", absent or unknown: a number, shown as a percentage or not. */
    if (len > 0 && cp_wbrows_number(r, text, len, &num)) {
        int pct = w->cstyle < w->nxf && w->xf_pct[w->cstyle];
        return cp_wbrows_cell_end(r, pct ? CP_CELL_PERCENT : CP_CELL_NUMBER, num);
    }
    return cp_wbrows_cell_end(r, CP_CELL_TEXT, 0);
}

static void sheet_end(struct cp_xml *x, int ns, const char *name)
{
    struct xlsx *w = x->ctx;

    if (ns != NS_MAIN)
        return;
    if (w->in_c) {
        if (strcmp(name, "v") == 0) {
            w->in_v = 0;
            w->has_v = 1;
        } else if (strcmp(name, "f") == 0) {
            w->in_f = 0;
        } else if (strcmp(name, "t") == 0) {
            w->in_ist = 0;
        } else if (strcmp(name, "rPh") == 0 && w->in_is == 2) {
            w->in_is = 1;
        } else if (strcmp(name, "is") == 0) {
            w->in_is = 0;
        } else if (strcmp(name, "c") == 0) {
            w->in_c = w->in_v = w->in_f = w->in_is = w->in_ist = 0;
            halt_on(x, end_cell(w));
        }
        return;
    }
    if (w->in_row && strcmp(name, "row") == 0) {
        w->in_row = 0;
        if (!w->row_known && halt_on(x, begin_row(w, w->prev_row + 1)))
            return;
        w->prev_row = w->rownum;
        halt_on(x, cp_wbrows_row_end(&w->rows, 1));
    } else if (w->in_sheetdata && strcmp(name, "sheetData") == 0) {
        /* Nothing after the cells matters: merges were read already. */
        w->in_sheetdata = 0;
        cp_xml_halt(x, SHEET_DONE);
    }
}

static void sheet_text(struct cp_xml *x, const char *s, size_t len)
{
    struct xlsx *w = x->ctx;

    if (!w->in_c)
        return;
    if (w->in_v || (w->in_is == 1 && w->in_ist)) {
        halt_on(x, cp_wbrows_cell_add(&w->rows, s, len));
    } else if (w->in_f) {
        if (cp_buf_add(&w->formula, s, len) != 0)
            cp_xml_fail(x, CP_EX_DATAERR, "field_too_long",
                        cp_wbrows_where(&w->rows, w->rows.col, w->rows.row),
                        "la formule de la cellule dépasse %zu octets ; "
                        "remplacez-la par sa valeur.", w->lim->max_field_bytes);
    }
}

static int read_sheet(struct xlsx *w, const char *entry)
{
    static const struct cp_xml_handlers h = { xlsx_ns, sheet_start, sheet_end, sheet_text };
    int rc;

    if ((rc = read_merges(w, entry)) != 0)
        return rc;
    w->in_sheetdata = w->in_row = w->in_c = w->in_v = w->in_f = 0;
    w->in_is = w->in_ist = 0;
    w->prev_row = 0;
    w->rownum = 0;
    rc = cp_xml_parse(&w->zip, entry, &h, w);
    return rc == SHEET_DONE ? 0 : rc;
}

/* --- the whole file ---------------------------------------------------------- */

/* Finds the workbook part through the package relationships. */
static int find_workbook(struct xlsx *w)
{
    static const struct cp_xml_handlers h = { xlsx_ns, rels_start, ignore_end, NULL };
    struct rels_ctx rc = { w, "" };
    const struct rel *r;
    int ret;

    if (cp_zip_has(&w->zip, "_rels/.rels")) {
        rels_clear(w);
        if ((ret = cp_xml_parse(&w->zip, "_rels/.rels", &h, &rc)) != 0)
            return ret;
        r = rel_by_type(w, "officeDocument");
        if (r && cp_zip_has(&w->zip, r->target)) {
            w->office = strdup(r->target);
            return w->office ? 0 : no_memory(w);
        }
    }
    if (cp_zip_has(&w->zip, "xl/workbook.xml")) {
        w->office = strdup("xl/workbook.xml");
        return w->office ? 0 : no_memory(w);
    }
    if (cp_zip_has(&w->zip, "content.xml") && cp_zip_has(&w->zip, "mimetype"))
        return cp_err_set(w->zip.err, CP_EX_DATAERR, "bad_archive", w->zip.path,
                          "le fichier est un classeur ODS (LibreOffice) et non un "
                          "classeur XLSX ; renommez-le en .ods ou enregistrez-le "
                          "au format .xlsx.");
    return cp_err_set(w->zip.err, CP_EX_DATAERR, "bad_archive", "xl/workbook.xml",
                      "l'archive ne contient pas de classeur (xl/workbook.xml "
                      "manque) : ce n'est pas un classeur XLSX ; %s.", fix_hint);
}

/* Reads styles and shared strings named by the workbook's relationships. */
static int read_parts(struct xlsx *w)
{
    static const struct cp_xml_handlers hs = { xlsx_ns, styles_start, styles_end, NULL };
    static const struct cp_xml_handlers hss = { xlsx_ns, sst_start, sst_end, sst_text };
    const struct rel *r;
    int rc;

    r = rel_by_type(w, "styles");
    if (r && cp_zip_has(&w->zip, r->target) &&
        (rc = cp_xml_parse(&w->zip, r->target, &hs, w)) != 0)
        return rc;
    r = rel_by_type(w, "sharedStrings");
    if (r && cp_zip_has(&w->zip, r->target) &&
        (rc = cp_xml_parse(&w->zip, r->target, &hss, w)) != 0)
        return rc;
    return 0;
}

static int read_all(struct xlsx *w, struct cp_read_info *info)
{
    static const struct cp_xml_handlers hw = { xlsx_ns, wb_start, ignore_end, NULL };
    int rc;

    if ((rc = find_workbook(w)) != 0)
        return rc;
    if ((rc = read_rels(w, w->office, 1)) != 0)
        return rc;
    if ((rc = cp_xml_parse(&w->zip, w->office, &hw, w)) != 0)
        return rc;
    if ((rc = read_parts(w)) != 0)
        return rc;
    if (info)
        info->sheets = (unsigned)w->nsheets;

    for (size_t i = 0; i < w->nsheets; i++) {
        const struct sheet *s = &w->sheets[i];
        const struct rel *r = rel_by_id(w, s->rid);
        int worksheet;

        if (!r || (strcmp(r->type, "worksheet") == 0 && !cp_zip_has(&w->zip, r->target)))
            return cp_err_set(w->zip.err, CP_EX_DATAERR, "bad_archive",
                              r ? r->target : w->office,
                              "la feuille « %s » est introuvable dans l'archive : "
                              "le classeur est endommagé ; %s.", s->name, fix_hint);
        worksheet = strcmp(r->type, "worksheet") == 0;
        rc = cp_wbrows_sheet_begin(&w->rows, s->name, (unsigned)i);
        if (rc == 0 && worksheet)
            rc = read_sheet(w, r->target);
        if (rc != 0 && rc != CP_READ_NEXT_SHEET)
            return rc;
        /* Rows still covered by merges are reported unless the sink
         * skipped the sheet. */
        if ((rc = cp_wbrows_sheet_end(&w->rows, rc == 0)) != 0)
            return rc;
    }
    return 0;
}

int cp_xlsx_read(const char *path, const struct cp_limits *lim,
                 const struct cp_reader_sink *sink, struct cp_read_info *info,
                 struct cp_err *err)
{
    struct xlsx *w;
    int rc;

    if (!lim)
        lim = &cp_limits_default;
    if (info)
        memset(info, 0, sizeof *info);
    w = calloc(1, sizeof *w);
    if (!w)
        return cp_err_set(err, CP_EX_SOFTWARE, "io", path,
                          "mémoire insuffisante pour lire le classeur ; "
                          "réessayez plus tard.");
    w->lim = lim;
    cp_buf_init(&w->sst, lim->max_shared_strings_bytes);
    cp_buf_init(&w->formula, lim->max_field_bytes);
    rc = cp_zip_open(&w->zip, path, kind_name, lim, err);
    if (rc != 0)
        goto out;
    cp_wbrows_init(&w->rows, &w->zip, sink);
    rc = read_all(w, info);
    cp_wbrows_release(&w->rows);
out:
    cp_zip_close(&w->zip);
    rels_clear(w);
    free(w->rels);
    free(w->office);
    for (size_t i = 0; i < w->nsheets; i++) {
        free(w->sheets[i].name);
        free(w->sheets[i].rid);
    }
    free(w->sheets);
    free(w->xf_pct);
    free(w->pct_fmts);
    free(w->sst_off);
    free(w->merges);
    cp_buf_release(&w->sst);
    cp_buf_release(&w->formula);
    free(w);
    if (rc == CP_READ_STOP || rc == CP_READ_NEXT_SHEET)
        return 0;
    if (rc == CP_READ_ABORTED)
        return CP_READ_ABORTED;
    return rc < 0 ? -1 : 0;
}
