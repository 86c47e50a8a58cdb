/*
 * Benchmark corpus generator for `make bench`: writes, deterministically and
 * without network, a national-scale inbox (about 1,300 CSV, XLSX and ODS
 * submissions, one per signatory and half-year, 2019-2023) and a ~1 GB long
 * CSV that repeats the national dataset with identical values.
 *
 *   gen DATA_DIR OUT_DIR [BIG_BYTES]     (BIG_BYTES 0: no big file)
 *
 * Values come from a hash of (signatory, year, half), never from the order
 * of generation, and are coherent: parts <= wholes, rates recomputed from
 * their numerator and denominator, a year = S1 + S2 for flows, S2 for
 * stocks, the weighted mean for averages, budget = State + cofunding.
 */
#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xlsxwriter.h>
#include <zip.h>

enum { MAXS = 256, MAXI = 64, Y0 = 2019, Y1 = 2023 };

struct sig {
    char code[8], name[128];
    char type;
    int from, to;   /* years in force */
    int recent;     /* first year the State took the RSA back, 0 none */
};

struct ind {
    char code[48], axe[128];
    int nature;     /* 'f' flux, 's' stock, 'r' ratio, 'm' moyenne */
    int num, den, w;
    int y0, y1, yearly;
    char types[8];
    int pct, dec;
};

static struct sig sigs[MAXS];
static int nsig;
static struct ind inds[MAXI];
static int nind;
static char recent_axe[128];

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(70);
}

/* ---- a growable string ---- */
struct sb { char *p; size_t n, cap; };

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->n + n + 1)
            c *= 2;
        if (!(b->p = realloc(b->p, c)))
            die("mémoire");
        b->cap = c;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_puts(struct sb *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        die("ligne trop longue");
    sb_add(b, tmp, (size_t)n);
}

/* ---- deterministic PRNG: splitmix64 over a key ---- */
static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
struct rng { uint64_t s; };
static double rnd(struct rng *r) { r->s = mix(r->s); return (double)(r->s >> 11) / 9007199254740992.0; }
static struct rng rng_for(int s, int y, int h, int salt)
{
    struct rng r = { mix(((uint64_t)s << 40) ^ ((uint64_t)y << 20) ^ ((uint64_t)h << 8) ^ (uint64_t)salt ^ 0x43414c50ULL) };
    return r;
}

/* ---- reference data ---- */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = 0;
    while (n < max) {
        f[n++] = p;
        char *q = strchr(p, ';');
        if (!q)
            break;
        *q = 0;
        p = q + 1;
    }
    return n;
}

static FILE *open_ref(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        die("%s : %s", path, strerror(errno));
    return f;
}

static int find_ind(const char *code)
{
    for (int i = 0; i < nind; i++)
        if (!strcmp(inds[i].code, code))
            return i;
    return -1;
}

static void load(const char *dir)
{
    char line[2048], *f[20];
    FILE *fp = open_ref(dir, "signataires.csv");
    int head = 1;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || (head && (head = 0, 1)))
            continue;
        if (split(line, f, 20) < 7 || nsig == MAXS)
            continue;
        struct sig *s = &sigs[nsig++];
        snprintf(s->code, sizeof s->code, "%s", f[0]);
        snprintf(s->name, sizeof s->name, "%s", f[1]);
        s->type = f[2][0];
        s->from = *f[5] ? atoi(f[5]) : 0;
        s->to = *f[6] ? atoi(f[6]) : 9999;
    }
    fclose(fp);

    fp = open_ref(dir, "catalog.csv");
    head = 1;
    char *raw[MAXI][3];
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || (head && (head = 0, 1)))
            continue;
        if (split(line, f, 20) < 15 || nind == MAXI)
            continue;
        struct ind *d = &inds[nind];
        snprintf(d->code, sizeof d->code, "%s", f[0]);
        snprintf(d->axe, sizeof d->axe, "%s", f[2]);
        d->nature = !strcmp(f[4], "flux") ? 'f' : !strcmp(f[4], "stock") ? 's'
                  : !strcmp(f[4], "ratio") ? 'r' : 'm';
        raw[nind][0] = strdup(f[5]);
        raw[nind][1] = strdup(f[6]);
        raw[nind][2] = strdup(f[7]);
        d->pct = !strcmp(f[3], "pct");
        d->dec = d->pct || d->nature == 'm' || !strcmp(f[3], "jours");
        if (sscanf(f[11], "%d-%d", &d->y0, &d->y1) != 2)
            d->y0 = d->y1 = atoi(f[11]);
        d->yearly = !strcmp(f[12], "annee");
        snprintf(d->types, sizeof d->types, "%s", f[13]);
        nind++;
    }
    fclose(fp);
    for (int i = 0; i < nind; i++) {
        inds[i].num = find_ind(raw[i][0]);
        inds[i].den = find_ind(raw[i][1]);
        inds[i].w = find_ind(raw[i][2]);
        for (int k = 0; k < 3; k++)
            free(raw[i][k]);
    }

    fp = open_ref(dir, "recentralisation.csv");
    head = 1;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || (head && (head = 0, 1)))
            continue;
        if (split(line, f, 20) < 3)
            continue;
        for (int s = 0; s < nsig; s++)
            if (!strcmp(sigs[s].code, f[0]))
                sigs[s].recent = atoi(f[2]);
        snprintf(recent_axe, sizeof recent_axe, "%s", f[1]);
    }
    fclose(fp);
}

/* Whether signatory s reports indicator i for year y, half h (0 = year). */
static int applicable(int s, int i, int y, int h)
{
    const struct sig *g = &sigs[s];
    const struct ind *d = &inds[i];
    if (!strchr(d->types, g->type) || y < d->y0 || y > d->y1 || (d->yearly && h))
        return 0;
    if (g->recent && y >= g->recent && !strcmp(d->axe, recent_axe))
        return 0;
    return 1;
}
static int in_force(int s, int y) { return y >= sigs[s].from && y <= sigs[s].to; }

/* ---- values ---- */
static void set(double *v, const char *code, double x)
{
    int i = find_ind(code);
    if (i >= 0)
        v[i] = x;
}

static double scale_of(int s)
{
    struct rng r = rng_for(s, 0, 0, 1);
    double u = rnd(&r);
    switch (sigs[s].type) {
    case 'M': return 0.4 + 1.2 * u;
    case 'R': return 4.0 + 6.0 * u;
    default: return 0.2 + 2.8 * u * u;
    }
}

/* A share between lo and hi, mostly the signatory's own (so that rates do
 * not jump from one period to the next), a little of the period's. */
static double share(int s, int salt, double lo, double hi, struct rng *r)
{
    struct rng k = rng_for(s, 0, 0, 100 + salt);
    return lo + (hi - lo) * (0.85 * rnd(&k) + 0.15 * rnd(r));
}

/* The base (non-ratio) figures of one half-year. */
static void base_half(int s, int y, int h, double *v)
{
    struct rng r = rng_for(s, y, h, 2);
    double sc = scale_of(s) * (1.0 + 0.03 * (y - Y0)) * (0.97 + 0.06 * rnd(&r));
    for (int i = 0; i < nind; i++)
        v[i] = (inds[i].nature == 'r' || inds[i].yearly) ? NAN
             : inds[i].nature == 'm' ? round(10 * share(s, 1, 25, 25 + 50, &r)) / 10
             : round(100 * sc * share(s, 200 + i, 0.5, 2.0, &r));
    double n = round(2000 * sc * (0.95 + 0.1 * rnd(&r)));
    double o = round(n * share(s, 2, 0.8, 0.8 + 0.15, &r));
    set(v, "RSA_NOUV_ENTRANTS", n);
    set(v, "RSA_ORIENTES", o);
    set(v, "RSA_ORIENT_1M", round(o * share(s, 3, 0.4, 0.4 + 0.3, &r)));
    set(v, "RSA_RDV_15J", round(o * share(s, 4, 0.5, 0.5 + 0.4, &r)));
    set(v, "RSA_CER", round(o * share(s, 5, 0.5, 0.5 + 0.4, &r)));
    double m = round(150 * sc * (0.9 + 0.2 * rnd(&r)));
    set(v, "ASE_MAJEURS", m);
    set(v, "ASE_ACCOMP", round(m * share(s, 6, 0.6, 0.6 + 0.35, &r)));
    set(v, "ASE_LOGEMENT", round(m * share(s, 7, 0.3, 0.3 + 0.3, &r)));
    /* stocks move slowly: seeded per signatory and year only */
    struct rng rs = rng_for(s, y, 0, 3);
    double p = round(400000 * scale_of(s) * (1.0 + 0.01 * (y - Y0)) * (1 + 0.01 * h));
    set(v, "ASIP_POP_TOTALE", p);
    set(v, "ASIP_POP_COUV", round(p * share(s, 8, 0.75, 0.75 + 0.2, &rs)));
    set(v, "ASIP_LIEUX", round(30 * scale_of(s) + 2 * h));
    double jr = round(1500 * sc * (0.9 + 0.2 * rnd(&r)));
    set(v, "OF_JEUNES_REPERES", jr);
    set(v, "OF_JEUNES_SOLUTION", round(jr * share(s, 9, 0.4, 0.4 + 0.4, &r)));
}

static void ratios(double *v)
{
    for (int i = 0; i < nind; i++) {
        const struct ind *d = &inds[i];
        if (d->nature != 'r' || d->num < 0 || d->den < 0)
            continue;
        double a = v[d->num], b = v[d->den];
        v[i] = isnan(a) || isnan(b) || b == 0 ? NAN : round(1000 * a / b) / 10;
    }
}

/* All figures for (s, y): out[0] the year, out[1] S1, out[2] S2. */
static void figures(int s, int y, double out[3][MAXI])
{
    base_half(s, y, 1, out[1]);
    base_half(s, y, 2, out[2]);
    for (int i = 0; i < nind; i++) {
        const struct ind *d = &inds[i];
        double a = out[1][i], b = out[2][i];
        if (d->nature == 'f')
            out[0][i] = a + b;
        else if (d->nature == 's')
            out[0][i] = b;
        else if (d->nature == 'm' && d->w >= 0) {
            double wa = out[1][d->w], wb = out[2][d->w];
            out[0][i] = round(10 * (a * wa + b * wb) / (wa + wb)) / 10;
        } else
            out[0][i] = NAN;
    }
    struct rng r = rng_for(s, y, 0, 4);
    double e = round(800000 * scale_of(s) * (1.0 + 0.03 * (y - Y0)) * (0.95 + 0.1 * rnd(&r)));
    double c = round(e * share(s, 50, 1.0, 1.5, &r));
    set(out[0], "FIN_CREDITS_ETAT", e);
    set(out[0], "FIN_COFIN", c);
    set(out[0], "FIN_BUDGET", e + c);
    set(out[0], "FIN_DEPENSES", round((e + c) * share(s, 51, 0.7, 0.98, &r)));
    for (int k = 0; k < 3; k++)
        ratios(out[k]);
}

/* ---- formatting ---- */
enum { NUM_EN, NUM_FR, NUM_FR_SPACE };

static void fmt_num(char *out, size_t n, double x, int dec, int style, int pct)
{
    char t[48];
    snprintf(t, sizeof t, dec ? "%.1f" : "%.0f", x);
    if (style != NUM_EN) {
        char *dot = strchr(t, '.');
        if (dot)
            *dot = ',';
    }
    if (style == NUM_FR_SPACE) {
        char u[48];
        size_t len = strcspn(t, ","), j = 0;
        for (size_t k = 0; t[k]; k++) {
            if (k && k < len && (len - k) % 3 == 0 && t[0] != '-')
                u[j++] = ' ';
            u[j++] = t[k];
        }
        u[j] = 0;
        memcpy(t, u, j + 1);
    }
    snprintf(out, n, "%s%s", t, pct ? " %" : "");
}

static void period_str(char *out, size_t n, int y, int h, int variant)
{
    if (!h)
        snprintf(out, n, "%d", y);
    else
        snprintf(out, n, variant ? "%d S%d" : "%d-S%d", y, h);
}

/* ---- one submission: a table of cells, written as CSV, XLSX or ODS ---- */
struct cell { char *s; double x; int num; };
struct grid { struct cell *c; int n, cap, cols; };
static void g_add(struct grid *g, const char *s, double x, int num)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 256;
        if (!(g->c = realloc(g->c, sizeof *g->c * (size_t)g->cap)))
            die("mémoire");
    }
    g->c[g->n].s = s ? strdup(s) : NULL;
    g->c[g->n].x = x;
    g->c[g->n].num = num;
    g->n++;
}
static void g_free(struct grid *g)
{
    for (int i = 0; i < g->n; i++)
        free(g->c[i].s);
    g->n = 0;
}

static long nvalues, nfiles;
static long long nbytes;

/* Builds the grid of one submission: long (4 columns) or wide. */
static void build(struct grid *g, int s, int y, int h2, double f[3][MAXI], int wide,
                  int sigvar, int pervar, int numstyle, int asnum)
{
    char sigtxt[160], per[32], num[64];
    if (sigvar == 1)
        snprintf(sigtxt, sizeof sigtxt, "%s", sigs[s].name);
    else
        snprintf(sigtxt, sizeof sigtxt, "%s", sigs[s].code);
    int hs[2] = { h2, 0 }, nh = h2 == 2 ? 2 : 1;
    g_free(g);
    if (!wide) {
        g->cols = 4;
        g_add(g, "signataire", 0, 0);
        g_add(g, "periode", 0, 0);
        g_add(g, "indicateur", 0, 0);
        g_add(g, "valeur", 0, 0);
        for (int k = 0; k < nh; k++) {
            int h = hs[k];
            period_str(per, sizeof per, y, h, pervar);
            for (int i = 0; i < nind; i++) {
                double x = f[h][i];
                if (!applicable(s, i, y, h) || isnan(x))
                    continue;
                g_add(g, sigtxt, 0, 0);
                g_add(g, per, 0, 0);
                g_add(g, inds[i].code, 0, 0);
                if (asnum)
                    g_add(g, NULL, x, 1);
                else {
                    fmt_num(num, sizeof num, x, inds[i].dec, numstyle, inds[i].pct && numstyle != NUM_EN);
                    g_add(g, num, 0, 0);
                }
                nvalues++;
            }
        }
        return;
    }
    int col[MAXI], nc = 0;
    for (int i = 0; i < nind; i++)
        for (int k = 0; k < nh; k++)
            if (applicable(s, i, y, hs[k]) && !isnan(f[hs[k]][i])) {
                col[nc++] = i;
                break;
            }
    g->cols = 2 + nc;
    g_add(g, "signataire", 0, 0);
    g_add(g, "periode", 0, 0);
    for (int c = 0; c < nc; c++)
        g_add(g, inds[col[c]].code, 0, 0);
    for (int k = 0; k < nh; k++) {
        int h = hs[k];
        period_str(per, sizeof per, y, h, pervar);
        g_add(g, sigtxt, 0, 0);
        g_add(g, per, 0, 0);
        for (int c = 0; c < nc; c++) {
            int i = col[c];
            double x = f[h][i];
            if (!applicable(s, i, y, h) || isnan(x)) {
                g_add(g, "", 0, 0);
                continue;
            }
            if (asnum)
                g_add(g, NULL, x, 1);
            else {
                fmt_num(num, sizeof num, x, inds[i].dec, numstyle, inds[i].pct && numstyle != NUM_EN);
                g_add(g, num, 0, 0);
            }
            nvalues++;
        }
    }
}

static void csv_field(struct sb *b, const char *s, char sep)
{
    if (strchr(s, sep) || strchr(s, '"')) {
        sb_puts(b, "\"");
        for (; *s; s++) {
            if (*s == '"')
                sb_puts(b, "\"");
            sb_add(b, s, 1);
        }
        sb_puts(b, "\"");
    } else
        sb_puts(b, s);
}

static void write_bytes(const char *path, const char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die("%s : %s", path, strerror(errno));
    nbytes += (long long)n;
}

/* enc: 0 UTF-8, 1 UTF-8 BOM, 2 Windows-1252, 3 UTF-16LE BOM */
static void write_csv(const char *path, struct grid *g, char sep, const char *eol, int enc)
{
    struct sb b = { 0 };
    for (int i = 0; i < g->n; i++) {
        csv_field(&b, g->c[i].s, sep);
        sb_puts(&b, (i + 1) % g->cols ? (char[]){ sep, 0 } : eol);
    }
    if (enc == 0 || enc == 1) {
        struct sb o = { 0 };
        if (enc == 1)
            sb_puts(&o, "\xEF\xBB\xBF");
        sb_add(&o, b.p, b.n);
        write_bytes(path, o.p, o.n);
        free(o.p);
    } else {
        iconv_t cd = iconv_open(enc == 2 ? "WINDOWS-1252" : "UTF-16LE", "UTF-8");
        if (cd == (iconv_t)-1)
            die("iconv : %s", strerror(errno));
        size_t cap = b.n * 2 + 16, left = cap - 2;
        char *out = malloc(cap), *op = out, *ip = b.p;
        size_t il = b.n;
        if (!out)
            die("mémoire");
        if (enc == 3) {
            *op++ = (char)0xFF;
            *op++ = (char)0xFE;
        }
        if (iconv(cd, &ip, &il, &op, &left) == (size_t)-1)
            die("iconv %s : %s", path, strerror(errno));
        iconv_close(cd);
        write_bytes(path, out, (size_t)(op - out));
        free(out);
    }
    free(b.p);
}

static void write_xlsx(const char *path, struct grid *g)
{
    lxw_workbook *wb = workbook_new(path);
    if (!wb)
        die("%s : workbook_new", path);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Indicateurs");
    for (int i = 0; i < g->n; i++) {
        lxw_row_t r = (lxw_row_t)(i / g->cols);
        lxw_col_t c = (lxw_col_t)(i % g->cols);
        if (g->c[i].num)
            worksheet_write_number(ws, r, c, g->c[i].x, NULL);
        else if (*g->c[i].s)
            worksheet_write_string(ws, r, c, g->c[i].s, NULL);
    }
    if (workbook_close(wb) != LXW_NO_ERROR)
        die("%s : workbook_close", path);
    struct stat st;
    if (stat(path, &st) == 0)
        nbytes += st.st_size;
}

static void xml_text(struct sb *b, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        default: sb_add(b, s, 1);
        }
}

static void zip_put(zip_t *z, const char *name, struct sb *b, int store)
{
    zip_source_t *src = zip_source_buffer(z, b->p, b->n, 1);
    if (!src)
        die("zip_source_buffer : %s", zip_strerror(z));
    zip_int64_t idx = zip_file_add(z, name, src, ZIP_FL_OVERWRITE);
    if (idx < 0)
        die("zip_file_add : %s", zip_strerror(z));
    if (store && zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0) < 0)
        die("zip_set_file_compression : %s", zip_strerror(z));
    b->p = NULL;
    b->n = b->cap = 0;
}

static void write_ods(const char *path, struct grid *g)
{
    int ze;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    if (!z)
        die("%s : zip_open %d", path, ze);
    struct sb mt = { 0 }, ct = { 0 }, mf = { 0 };
    sb_puts(&mt, "application/vnd.oasis.opendocument.spreadsheet");
    sb_puts(&ct, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<office:document-content"
                 " xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\""
                 " xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\""
                 " xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\""
                 " office:version=\"1.2\"><office:body><office:spreadsheet>"
                 "<table:table table:name=\"Indicateurs\">");
    for (int i = 0; i < g->n; i++) {
        if (i % g->cols == 0)
            sb_puts(&ct, "<table:table-row>");
        if (g->c[i].num) {
            char t[64];
            snprintf(t, sizeof t, "%.10g", g->c[i].x);
            sb_printf(&ct, "<table:table-cell office:value-type=\"float\" office:value=\"%s\">"
                           "<text:p>%s</text:p></table:table-cell>", t, t);
        } else if (!*g->c[i].s)
            sb_puts(&ct, "<table:table-cell/>");
        else {
            sb_puts(&ct, "<table:table-cell office:value-type=\"string\"><text:p>");
            xml_text(&ct, g->c[i].s);
            sb_puts(&ct, "</text:p></table:table-cell>");
        }
        if ((i + 1) % g->cols == 0)
            sb_puts(&ct, "</table:table-row>");
    }
    sb_puts(&ct, "</table:table></office:spreadsheet></office:body></office:document-content>\n");
    sb_puts(&mf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\""
                 " manifest:version=\"1.2\">"
                 "<manifest:file-entry manifest:full-path=\"/\" manifest:version=\"1.2\""
                 " manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/>"
                 "<manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>"
                 "</manifest:manifest>\n");
    zip_put(z, "mimetype", &mt, 1);
    zip_put(z, "content.xml", &ct, 0);
    zip_put(z, "META-INF/manifest.xml", &mf, 0);
    if (zip_close(z) < 0)
        die("%s : zip_close : %s", path, zip_strerror(z));
    struct stat st;
    if (stat(path, &st) == 0)
        nbytes += st.st_size;
}

/* Whether the submission of s for half h of y (and the year, with S2) holds
 * anything: a région has nothing to send for a half-year outside 2020-2022. */
static int has_values(int s, int y, int h2, double f[3][MAXI])
{
    for (int i = 0; i < nind; i++)
        if ((applicable(s, i, y, h2) && !isnan(f[h2][i]))
            || (h2 == 2 && applicable(s, i, y, 0) && !isnan(f[0][i])))
            return 1;
    return 0;
}

/* ---- the corpus ---- */
static void corpus(const char *out)
{
    char dir[4096], path[8192], name[160];
    snprintf(dir, sizeof dir, "%s/corpus", out);
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/reception.csv", dir);
    FILE *rec = fopen(path, "w");
    if (!rec)
        die("%s : %s", path, strerror(errno));
    fputs("fichier;recu_le\n", rec);
    static double f[3][MAXI];
    struct grid g = { 0 };
    for (int s = 0; s < nsig; s++)
        for (int y = Y0; y <= Y1; y++) {
            if (!in_force(s, y))
                continue;
            figures(s, y, f);
            for (int h = 1; h <= 2; h++) {
                if (!has_values(s, y, h, f))
                    continue;
                struct rng r = rng_for(s, y, h, 5);
                int kind = (int)(rnd(&r) * 10);
                int day = 1 + (int)(rnd(&r) * 27), hh = (int)(rnd(&r) * 24), mm = (int)(rnd(&r) * 60);
                int ry = h == 1 ? y : y + 1, rm = h == 1 ? 7 : 1;
                int sigvar = rnd(&r) < 0.3 && sigs[s].type != 'R';
                int pervar = rnd(&r) < 0.3;
                char stamp[48];
                snprintf(stamp, sizeof stamp, "%04d%02d%02d-%02d%02d%02d", ry % 10000, rm, day, hh, mm, s % 60);
                const char *ext = kind < 6 ? "csv" : kind < 8 ? "xlsx" : "ods";
                snprintf(name, sizeof name, "%s_%s_indicateurs_%dS%d.%s", stamp, sigs[s].code, y, h, ext);
                snprintf(path, sizeof path, "%s/%s", dir, name);
                switch (kind) {
                case 0: build(&g, s, y, h, f, 0, sigvar, pervar, NUM_FR, 0); write_csv(path, &g, ';', "\r\n", 0); break;
                case 1: build(&g, s, y, h, f, 0, sigvar, pervar, NUM_EN, 0); write_csv(path, &g, ',', "\n", 1); break;
                case 2: build(&g, s, y, h, f, 1, sigvar, pervar, NUM_FR_SPACE, 0); write_csv(path, &g, ';', "\r\n", 2); break;
                case 3: build(&g, s, y, h, f, 1, sigvar, pervar, NUM_FR, 0); write_csv(path, &g, '\t', "\r\n", 3); break;
                case 4: build(&g, s, y, h, f, 0, sigvar, pervar, NUM_FR_SPACE, 0); write_csv(path, &g, '|', "\n", 2); break;
                case 5: build(&g, s, y, h, f, 1, sigvar, pervar, NUM_EN, 0); write_csv(path, &g, ',', "\n", 0); break;
                case 6: build(&g, s, y, h, f, 1, sigvar, pervar, 0, 1); write_xlsx(path, &g); break;
                case 7: build(&g, s, y, h, f, 0, sigvar, pervar, 0, 1); write_xlsx(path, &g); break;
                case 8: build(&g, s, y, h, f, 0, sigvar, pervar, 0, 1); write_ods(path, &g); break;
                default: build(&g, s, y, h, f, 1, sigvar, pervar, 0, 1); write_ods(path, &g); break;
                }
                fprintf(rec, "%s;%04d-%02d-%02dT%02d:%02d:%02d\n", name, ry, rm, day, hh, mm, s % 60);
                nfiles++;
            }
        }
    g_free(&g);
    free(g.c);
    if (fclose(rec) != 0)
        die("reception.csv : %s", strerror(errno));
}

/* ---- the big long CSV: the national dataset repeated, identical values ---- */
static void big(const char *out, long long target)
{
    struct sb one = { 0 };
    static double f[3][MAXI];
    long rows1 = 0;
    for (int s = 0; s < nsig; s++)
        for (int y = Y0; y <= Y1; y++) {
            if (!in_force(s, y))
                continue;
            figures(s, y, f);
            for (int h = 0; h <= 2; h++)
                for (int i = 0; i < nind; i++) {
                    if (!applicable(s, i, y, h) || isnan(f[h][i]))
                        continue;
                    char per[32], num[64];
                    period_str(per, sizeof per, y, h, 0);
                    fmt_num(num, sizeof num, f[h][i], inds[i].dec, NUM_EN, 0);
                    sb_printf(&one, "%s;%s;%s;%s\n", sigs[s].code, per, inds[i].code, num);
                    rows1++;
                }
        }
    char path[4096];
    snprintf(path, sizeof path, "%s/national-long.csv", out);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        die("%s : %s", path, strerror(errno));
    const char *hdr = "signataire;periode;indicateur;valeur\n";
    fputs(hdr, fp);
    long long n = (long long)strlen(hdr), rows = 0, reps = 0;
    while (n < target) {
        if (fwrite(one.p, 1, one.n, fp) != one.n)
            die("%s : %s", path, strerror(errno));
        n += (long long)one.n;
        rows += rows1;
        reps++;
    }
    if (fclose(fp) != 0)
        die("%s : %s", path, strerror(errno));
    free(one.p);
    snprintf(path, sizeof path, "%s/national-long.stats", out);
    fp = fopen(path, "w");
    if (!fp)
        die("%s : %s", path, strerror(errno));
    fprintf(fp, "bytes=%lld\nrows=%lld\nkeys=%ld\nrepeats=%lld\n", n, rows, rows1, reps);
    if (fclose(fp) != 0)
        die("%s : %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage : gen DATA_DIR OUT_DIR [BIG_BYTES]\n", stderr);
        return 64;
    }
    load(argv[1]);
    mkdir(argv[2], 0777);
    long long target = argc > 3 ? atoll(argv[3]) : 0;
    if (target > 0) {
        big(argv[2], target);
        return 0;
    }
    corpus(argv[2]);
    char path[4096];
    snprintf(path, sizeof path, "%s/corpus.stats", argv[2]);
    FILE *fp = fopen(path, "w");
    if (!fp)
        die("%s : %s", path, strerror(errno));
    fprintf(fp, "files=%ld\nvalues=%ld\nbytes=%lld\n", nfiles, nvalues, nbytes);
    if (fclose(fp) != 0)
        die("%s : %s", path, strerror(errno));
    return 0;
}
