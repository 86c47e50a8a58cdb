/* Loading and querying the reference data of data/ (see ref.h). Each file
 * is read whole, parsed with libcsv line by line (so that messages can
 * name lines), checked strictly: a reference error stops the pipeline. */
#include "common/ref.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/num.h"
#include "common/sig.h"
#include "common/text.h"

#ifndef CALPAE_DATADIR
#define CALPAE_DATADIR "/usr/local/share/calpae"
#endif

#define REF_MAX_COLS 16
#define REF_MAX_FILE_BYTES (16u << 20)
#define REF_FOLD_MAX 256

struct loader;
typedef int (*row_fn)(struct loader *ld, char **f, unsigned long line);

/* One reference file being parsed. */
struct loader {
    struct cp_ref *ref;
    struct cp_err *err;
    const char *path;          /* full path, for messages */
    const char *name;          /* file name, for err->where */
    const char *const *cols;   /* expected header columns, NULL-terminated */
    row_fn row;
    int failed;
    int header_done;
    int col[REF_MAX_COLS];     /* position of each expected column */
    size_t header_fields;
    unsigned long line;        /* line being fed to libcsv */
    unsigned long rec_line;    /* line where the current record began */
    char **fields;             /* owned copies of the current record */
    size_t nfields, cap;
    struct load_ctx *ctx;
};

/* Catalog references, resolved once every indicator is known. */
struct pending_ref {
    char *num, *den, *weight;
    unsigned long line;
};

/* State of one cp_ref_load: array capacities and pending references. */
struct load_ctx {
    size_t reg_cap, dep_cap, sig_cap, ind_cap, alias_cap, rec_cap;
    struct pending_ref *pend; /* one per indicator */
    char catalog_path[1024];
};

static int nomem(struct cp_err *err)
{
    return cp_err_set(err, CP_EX_SOFTWARE, "nomem", NULL, "mémoire insuffisante");
}

/* Fills err with a problem at the loader's current record. */
static int bad(struct loader *ld, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct loader *ld, unsigned long line, const char *fmt, ...)
{
    char msg[CP_ERR_MSG_MAX - 64];
    char where[CP_ERR_WHERE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(where, sizeof where, "%s:%lu", ld->name, line);
    ld->failed = 1;
    return cp_err_set(ld->err, CP_EX_CONFIG, "ref_invalid", where,
                      "données de référence %s, ligne %lu : %s", ld->path, line, msg);
}

/* Returns arr grown (elements of size el) to hold at least n + 1, or NULL
 * (arr is then left as it was). */
static void *grow(void *arr, size_t *cap, size_t n, size_t el)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return arr;
    ncap = *cap ? *cap * 2 : 16;
    p = realloc(arr, ncap * el);
    if (p)
        *cap = ncap;
    return p;
}

static void free_fields(struct loader *ld)
{
    for (size_t i = 0; i < ld->nfields; i++)
        free(ld->fields[i]);
    ld->nfields = 0;
}

static void on_field(void *data, size_t len, void *ctx)
{
    struct loader *ld = ctx;
    char **fields, *copy;

    if (ld->failed)
        return;
    if (ld->nfields == 0)
        ld->rec_line = ld->line;
    fields = grow(ld->fields, &ld->cap, ld->nfields, sizeof *ld->fields);
    if (fields)
        ld->fields = fields;
    if (!fields || !(copy = malloc(len + 1))) {
        ld->failed = 1;
        nomem(ld->err);
        return;
    }
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    ld->fields[ld->nfields++] = copy;
}

static void on_header(struct loader *ld)
{
    size_t k, j;

    for (k = 0; ld->cols[k]; k++) {
        ld->col[k] = -1;
        for (j = 0; j < ld->nfields; j++)
            if (strcmp(ld->fields[j], ld->cols[k]) == 0)
                ld->col[k] = (int)j;
        if (ld->col[k] < 0) {
            bad(ld, ld->rec_line, "colonne « %s » absente de l'en-tête", ld->cols[k]);
            return;
        }
    }
    ld->header_fields = ld->nfields;
    ld->header_done = 1;
}

static void on_record(int term, void *ctx)
{
    struct loader *ld = ctx;
    char *mapped[REF_MAX_COLS];
    size_t k, j;

    (void)term;
    if (ld->failed)
        goto out;
    if (!ld->header_done) {
        on_header(ld);
        goto out;
    }
    for (j = 0; j < ld->nfields && ld->fields[j][0] == '\0'; j++)
        ;
    if (j == ld->nfields)
        goto out; /* a line of empty fields */
    if (ld->nfields != ld->header_fields) {
        bad(ld, ld->rec_line, "%zu champs au lieu de %zu", ld->nfields, ld->header_fields);
        goto out;
    }
    for (k = 0; ld->cols[k]; k++)
        mapped[k] = ld->fields[ld->col[k]];
    if (ld->row(ld, mapped, ld->rec_line) < 0)
        ld->failed = 1;
out:
    free_fields(ld);
}

/* Reads a whole file into *out (NUL-terminated). */
static int slurp(const char *path, char **out, size_t *len, struct cp_err *err)
{
    FILE *f;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    int rc = -1;

    f = fopen(path, "rb");
    if (!f)
        return cp_err_set(err, CP_EX_CONFIG, "ref_missing", NULL,
                          "données de référence : impossible d'ouvrir « %s » : %s", path,
                          strerror(errno));
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *p;
            cap = cap ? cap * 2 : 8192;
            if (cap > REF_MAX_FILE_BYTES) {
                cp_err_set(err, CP_EX_CONFIG, "ref_invalid", NULL,
                           "données de référence : « %s » est trop gros (plus de %u octets)",
                           path, REF_MAX_FILE_BYTES);
                goto out;
            }
            p = realloc(buf, cap);
            if (!p) {
                nomem(err);
                goto out;
            }
            buf = p;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        cp_err_set(err, CP_EX_CONFIG, "ref_missing", NULL,
                   "données de référence : lecture de « %s » impossible", path);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fclose(f) != 0 && rc == 0) {
        free(*out);
        *out = NULL;
        rc = cp_err_set(err, CP_EX_CONFIG, "ref_missing", NULL,
                        "données de référence : fermeture de « %s » impossible", path);
    }
    return rc;
}

/*
 * Loads datadir/name: UTF-8, ';'-separated, a header line naming cols
 * (in any order, extra columns ignored), then one record per line. Lines
 * starting with '#' before the header are comments. hex receives the
 * SHA-256 of the bytes when not NULL.
 */
static int load_file(struct cp_ref *ref, struct load_ctx *ctx, const char *name,
                     const char *const *cols, row_fn row, char *hex, struct cp_err *err)
{
    struct loader ld;
    struct csv_parser p;
    char path[1024];
    char *data = NULL;
    size_t len = 0, pos, bad_at;
    int rc = -1, parser = 0;

    memset(&ld, 0, sizeof ld);
    ld.ref = ref;
    ld.err = err;
    ld.path = path;
    ld.name = name;
    ld.cols = cols;
    ld.row = row;
    ld.ctx = ctx;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", ref->datadir, name) >= sizeof path)
        return cp_err_set(err, CP_EX_CONFIG, "ref_missing", NULL,
                          "données de référence : chemin trop long pour %s", name);
    if (slurp(path, &data, &len, err) < 0)
        return -1;
    if (hex && cp_sha256_buf(data, len, hex) < 0) {
        cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
        goto out;
    }
    if (!cp_utf8_valid(data, len, &bad_at)) {
        unsigned long line = 1;
        for (size_t i = 0; i < bad_at; i++)
            line += data[i] == '\n';
        bad(&ld, line, "octet 0x%02X invalide en UTF-8 (octet %zu) ; enregistrez-le en UTF-8",
            (unsigned)(unsigned char)data[bad_at], bad_at);
        goto out;
    }
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        nomem(err);
        goto out;
    }
    parser = 1;
    csv_set_delim(&p, ';');

    pos = len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    while (pos < len && !ld.failed) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) + 1 : len - pos;

        ld.line++;
        if (!ld.header_done && ld.nfields == 0 && data[pos] == '#') {
            pos += n;
            continue;
        }
        if (csv_parse(&p, data + pos, n, on_field, on_record, &ld) != n && !ld.failed) {
            bad(&ld, ld.line, "CSV mal formé (%s)", csv_strerror(csv_error(&p)));
            break;
        }
        pos += n;
    }
    if (!ld.failed && csv_fini(&p, on_field, on_record, &ld) != 0 && !ld.failed)
        bad(&ld, ld.line, "CSV mal formé (%s)", csv_strerror(csv_error(&p)));
    if (!ld.failed && !ld.header_done)
        bad(&ld, 1, "fichier vide : la ligne d'en-tête manque");
    if (!ld.failed)
        rc = 0;
out:
    if (parser)
        csv_free(&p);
    free_fields(&ld);
    free(ld.fields);
    free(data);
    return rc;
}

static char *dup_or_fail(struct loader *ld, const char *s)
{
    char *d = strdup(s);

    if (!d) {
        ld->failed = 1;
        nomem(ld->err);
    }
    return d;
}

static char *dup_fold(const char *s)
{
    char buf[REF_FOLD_MAX];

    cp_text_fold(s, strlen(s), buf, sizeof buf);
    return strdup(buf);
}

/* "YYYY-MM-DD" with a plausible month and day. */
static int is_date(const char *s)
{
    int i;

    for (i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-')
                return 0;
        } else if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    if (s[10] != '\0')
        return 0;
    i = (s[5] - '0') * 10 + (s[6] - '0');
    if (i < 1 || i > 12)
        return 0;
    i = (s[8] - '0') * 10 + (s[9] - '0');
    return i >= 1 && i <= 31;
}

/* A four-digit year 2000..2099 at s (len 4); -1 otherwise. */
static int year_at(const char *s)
{
    int y = 0;

    for (int i = 0; i < 4; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        y = y * 10 + (s[i] - '0');
    }
    return y >= 2000 && y <= 2099 ? y : -1;
}

static int find_region(const struct cp_ref *ref, const char *code)
{
    for (size_t i = 0; i < ref->nreg; i++)
        if (strcmp(ref->reg[i].code, code) == 0)
            return (int)i;
    return -1;
}

static int find_departement(const struct cp_ref *ref, const char *code)
{
    for (size_t i = 0; i < ref->ndep; i++)
        if (strcmp(ref->dep[i].code, code) == 0)
            return (int)i;
    return -1;
}

static int find_signatory(const struct cp_ref *ref, const char *code)
{
    for (size_t i = 0; i < ref->nsig; i++)
        if (strcmp(ref->sig[i].code, code) == 0)
            return (int)i;
    return -1;
}

/* ---- regions.csv: region;nom ------------------------------------------ */

static int row_region(struct loader *ld, char **f, unsigned long line)
{
    struct cp_ref *ref = ld->ref;
    struct cp_region *r;

    if (!f[0][0] || !f[1][0])
        return bad(ld, line, "code et nom de la région sont obligatoires");
    if (find_region(ref, f[0]) >= 0)
        return bad(ld, line, "région « %s » en double", f[0]);
    if (!(r = grow(ref->reg, &ld->ctx->reg_cap, ref->nreg, sizeof *ref->reg)))
        return nomem(ld->err);
    ref->reg = r;
    r = &ref->reg[ref->nreg];
    r->code = dup_or_fail(ld, f[0]);
    r->name = dup_or_fail(ld, f[1]);
    ref->nreg++;
    return ld->failed ? -1 : 0;
}

/* ---- departements.csv: departement;nom;region ------------------------- */

static int row_departement(struct loader *ld, char **f, unsigned long line)
{
    struct cp_ref *ref = ld->ref;
    struct cp_departement *d;

    if (!f[0][0] || !f[1][0])
        return bad(ld, line, "code et nom du département sont obligatoires");
    if (find_departement(ref, f[0]) >= 0)
        return bad(ld, line, "département « %s » en double", f[0]);
    if (find_region(ref, f[2]) < 0)
        return bad(ld, line, "région « %s » absente de regions.csv", f[2]);
    if (!(d = grow(ref->dep, &ld->ctx->dep_cap, ref->ndep, sizeof *ref->dep)))
        return nomem(ld->err);
    ref->dep = d;
    d = &ref->dep[ref->ndep];
    d->code = dup_or_fail(ld, f[0]);
    d->name = dup_or_fail(ld, f[1]);
    d->region = dup_or_fail(ld, f[2]);
    ref->ndep++;
    return ld->failed ? -1 : 0;
}

/* ---- signataires.csv: code;nom;type;departements;region;debut;fin ------ */

static int is_code(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
            return 0;
    return 1;
}

static int row_signatory(struct loader *ld, char **f, unsigned long line)
{
    struct cp_ref *ref = ld->ref;
    struct cp_signatory *s;
    const char *p;

    if (!is_code(f[0]))
        return bad(ld, line, "code de signataire « %s » invalide (chiffres et majuscules)", f[0]);
    if (find_signatory(ref, f[0]) >= 0)
        return bad(ld, line, "signataire « %s » en double", f[0]);
    if (!f[1][0])
        return bad(ld, line, "nom du signataire %s absent", f[0]);
    if (strcmp(f[2], "D") != 0 && strcmp(f[2], "M") != 0 && strcmp(f[2], "R") != 0)
        return bad(ld, line, "type « %s » inconnu pour %s (attendu D, M ou R)", f[2], f[0]);
    if (!f[3][0] && f[2][0] != 'R')
        return bad(ld, line, "le signataire %s de type %s doit couvrir au moins un département",
                   f[0], f[2]);
    for (p = f[3]; *p;) {
        char dep[16];
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof dep)
            return bad(ld, line, "liste de départements « %s » mal formée", f[3]);
        memcpy(dep, p, n);
        dep[n] = '\0';
        if (find_departement(ref, dep) < 0)
            return bad(ld, line, "département « %s » absent de departements.csv", dep);
        p += n;
        if (*p == ',' && *++p == '\0')
            return bad(ld, line, "liste de départements « %s » mal formée", f[3]);
    }
    if (find_region(ref, f[4]) < 0)
        return bad(ld, line, "région « %s » absente de regions.csv", f[4]);
    if ((f[5][0] && !is_date(f[5])) || (f[6][0] && !is_date(f[6])))
        return bad(ld, line, "dates de validité « %s » / « %s » invalides (attendu AAAA-MM-JJ)",
                   f[5], f[6]);
    if (f[5][0] && f[6][0] && strcmp(f[5], f[6]) > 0)
        return bad(ld, line, "début (%s) postérieur à la fin (%s)", f[5], f[6]);
    if (!(s = grow(ref->sig, &ld->ctx->sig_cap, ref->nsig, sizeof *ref->sig)))
        return nomem(ld->err);
    ref->sig = s;
    s = &ref->sig[ref->nsig];
    memset(s, 0, sizeof *s);
    ref->nsig++;
    s->type = f[2][0];
    s->code = dup_or_fail(ld, f[0]);
    s->name = dup_or_fail(ld, f[1]);
    s->departements = dup_or_fail(ld, f[3]);
    s->region = dup_or_fail(ld, f[4]);
    if (f[5][0])
        s->start = dup_or_fail(ld, f[5]);
    if (f[6][0])
        s->end = dup_or_fail(ld, f[6]);
    return ld->failed ? -1 : 0;
}

/* ---- catalog.csv --------------------------------------------------------- */

static int word_index(const char *s, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (strcmp(s, words[i]) == 0)
            return i;
    return -1;
}

static const char *const unit_names[] = { "nb", "pct", "jours", "eur", NULL };
static const char *const nature_names[] = { "flux", "stock", "ratio", "moyenne", NULL };
static const char *const sens_names[] = { "neutre", "hausse", "baisse", NULL };

/* A bound: empty, or a number; 0 or -1. */
static int bound(const char *s, int *has, double *v)
{
    struct cp_num n;

    *has = 0;
    *v = 0;
    if (!*s)
        return 0;
    cp_num_parse(s, strlen(s), &n);
    if (n.status != CP_NUM_VALUE || n.percent)
        return -1;
    *has = 1;
    *v = n.value;
    return 0;
}

static int row_indicator(struct loader *ld, char **f, unsigned long line)
{
    struct cp_ref *ref = ld->ref;
    struct load_ctx *ctx = ld->ctx;
    struct pending_ref *pend;
    struct cp_indicator *d;
    size_t ind_cap;
    int unit, nature, sens, y1, y2;
    unsigned types = 0;
    const char *p;

    /* code;libelle;axe;unite;nature;numerateur;denominateur;poids;min;max;
       sens;annees;periodicite;signataires;obligatoire */
    if (!is_code(f[0]))
        return bad(ld, line, "code d'indicateur « %s » invalide (majuscules, chiffres et _)",
                   f[0]);
    if (cp_ref_indicator(ref, f[0]) >= 0)
        return bad(ld, line, "indicateur « %s » en double", f[0]);
    if (!f[1][0] || !f[2][0])
        return bad(ld, line, "libellé et axe de %s sont obligatoires", f[0]);
    if ((unit = word_index(f[3], unit_names)) < 0)
        return bad(ld, line, "unité « %s » inconnue pour %s (attendu nb, pct, jours ou eur)",
                   f[3], f[0]);
    if ((nature = word_index(f[4], nature_names)) < 0)
        return bad(ld, line,
                   "nature « %s » inconnue pour %s (attendu flux, stock, ratio ou moyenne)",
                   f[4], f[0]);
    if (nature == CP_NAT_RATIO && (!f[5][0] || !f[6][0]))
        return bad(ld, line, "le ratio %s doit nommer son numérateur et son dénominateur", f[0]);
    if (nature != CP_NAT_RATIO && (f[5][0] || f[6][0]))
        return bad(ld, line,
                   "%s n'est pas un ratio : numérateur et dénominateur doivent être vides", f[0]);
    if (nature == CP_NAT_MOYENNE && !f[7][0])
        return bad(ld, line, "la moyenne %s doit nommer son indicateur de pondération (poids)",
                   f[0]);
    if (nature != CP_NAT_MOYENNE && f[7][0])
        return bad(ld, line, "%s n'est pas une moyenne : la colonne poids doit être vide", f[0]);
    if ((sens = word_index(f[10], sens_names)) < 0)
        return bad(ld, line, "sens « %s » inconnu pour %s (attendu neutre, hausse ou baisse)",
                   f[10], f[0]);
    if (strlen(f[11]) == 4 && (y1 = year_at(f[11])) > 0) {
        y2 = y1;
    } else if (strlen(f[11]) == 9 && f[11][4] == '-' && (y1 = year_at(f[11])) > 0 &&
               (y2 = year_at(f[11] + 5)) >= y1) {
        /* "2019-2023" */
    } else {
        return bad(ld, line, "années « %s » invalides pour %s (attendu par exemple 2019-2023)",
                   f[11], f[0]);
    }
    if (strcmp(f[12], "annee") != 0 && strcmp(f[12], "semestre") != 0)
        return bad(ld, line, "périodicité « %s » inconnue pour %s (attendu annee ou semestre)",
                   f[12], f[0]);
    for (p = f[13]; *p; p++) {
        if (*p == 'D' || *p == 'M' || *p == 'R')
            types |= *p == 'D' ? CP_TYPE_D : *p == 'M' ? CP_TYPE_M : CP_TYPE_R;
        else if (*p != ',' && *p != ' ')
            break;
    }
    if (*p || !types)
        return bad(ld, line,
                   "types de signataires « %s » invalides pour %s (attendu par exemple D,M,R)",
                   f[13], f[0]);
    if (strcmp(f[14], "oui") != 0 && strcmp(f[14], "non") != 0)
        return bad(ld, line, "obligatoire « %s » invalide pour %s (attendu oui ou non)", f[14],
                   f[0]);
    /* ref->ind and ctx->pend grow together, with one capacity. */
    ind_cap = ctx->ind_cap;
    if (!(pend = grow(ctx->pend, &ind_cap, ref->nind, sizeof *ctx->pend)))
        return nomem(ld->err);
    ctx->pend = pend;
    if (!(d = grow(ref->ind, &ctx->ind_cap, ref->nind, sizeof *ref->ind)))
        return nomem(ld->err);
    ref->ind = d;
    d = &ref->ind[ref->nind];
    pend = &ctx->pend[ref->nind];
    memset(d, 0, sizeof *d);
    memset(pend, 0, sizeof *pend);
    pend->line = line;
    ref->nind++;
    d->num = d->den = d->weight = -1;
    d->unit = (enum cp_unit)unit;
    d->nature = (enum cp_nature)nature;
    d->sens = (enum cp_sens)sens;
    d->year_from = y1;
    d->year_to = y2;
    d->yearly_only = strcmp(f[12], "annee") == 0;
    d->types = types;
    d->mandatory = strcmp(f[14], "oui") == 0;
    d->code = dup_or_fail(ld, f[0]);
    d->label = dup_or_fail(ld, f[1]);
    d->axis = dup_or_fail(ld, f[2]);
    d->fold_code = d->code ? dup_fold(d->code) : NULL;
    d->fold_label = d->label ? dup_fold(d->label) : NULL;
    if (!d->fold_code || !d->fold_label)
        return nomem(ld->err);
    if (f[5][0])
        pend->num = dup_or_fail(ld, f[5]);
    if (f[6][0])
        pend->den = dup_or_fail(ld, f[6]);
    if (f[7][0])
        pend->weight = dup_or_fail(ld, f[7]);
    if (ld->failed)
        return -1;
    if (bound(f[8], &d->has_min, &d->min) < 0 || bound(f[9], &d->has_max, &d->max) < 0)
        return bad(ld, line, "bornes min « %s » / max « %s » invalides pour %s", f[8], f[9],
                   f[0]);
    if (d->has_min && d->has_max && d->min > d->max)
        return bad(ld, line, "min supérieur à max pour %s", f[0]);
    return 0;
}

/* Resolves numerateur, denominateur and poids codes to indexes. */
static int resolve_refs(struct cp_ref *ref, struct load_ctx *ctx, struct cp_err *err)
{
    static const char *const what[] = { "numérateur", "dénominateur", "poids" };
    struct loader ld;

    memset(&ld, 0, sizeof ld);
    ld.err = err;
    ld.name = "catalog.csv";
    snprintf(ctx->catalog_path, sizeof ctx->catalog_path, "%s/catalog.csv", ref->datadir);
    ld.path = ctx->catalog_path;
    for (size_t i = 0; i < ref->nind; i++) {
        const struct pending_ref *pend = &ctx->pend[i];
        char *codes[3] = { pend->num, pend->den, pend->weight };
        int *slots[3] = { &ref->ind[i].num, &ref->ind[i].den, &ref->ind[i].weight };
        for (int k = 0; k < 3; k++) {
            int j;
            if (!codes[k])
                continue;
            j = cp_ref_indicator(ref, codes[k]);
            if (j < 0)
                return bad(&ld, pend->line, "%s « %s » de %s absent du catalogue", what[k],
                           codes[k], ref->ind[i].code);
            if ((size_t)j == i)
                return bad(&ld, pend->line, "%s de %s : l'indicateur se cite lui-même",
                           what[k], ref->ind[i].code);
            *slots[k] = j;
        }
    }
    return 0;
}

/* Frees the pending references of the n indicators read. */
static void pending_release(struct load_ctx *ctx, size_t n)
{
    if (!ctx->pend)
        return;
    for (size_t i = 0; i < n; i++) {
        free(ctx->pend[i].num);
        free(ctx->pend[i].den);
        free(ctx->pend[i].weight);
    }
    free(ctx->pend);
    ctx->pend = NULL;
}

/* ---- alias.csv: alias;signataire ---------------------------------------- */

static int row_alias(struct loader *ld, char **f, unsigned long line)
{
    struct cp_ref *ref = ld->ref;
    char fa[REF_FOLD_MAX], fb[REF_FOLD_MAX];
    struct cp_alias *a;
    int sig;

    if (cp_text_fold(f[0], strlen(f[0]), fa, sizeof fa) == 0)
        return bad(ld, line, "alias « %s » vide une fois la ponctuation ôtée", f[0]);
    if ((sig = find_signatory(ref, f[1])) < 0)
        return bad(ld, line, "signataire « %s » de l'alias « %s » absent de signataires.csv",
                   f[1], f[0]);
    for (size_t i = 0; i < ref->nalias; i++) {
        cp_text_fold(ref->alias[i].text, strlen(ref->alias[i].text), fb, sizeof fb);
        if (strcmp(fa, fb) == 0 && ref->alias[i].sig != sig)
            return bad(ld, line, "alias « %s » déjà attribué à %s", f[0],
                       ref->sig[ref->alias[i].sig].code);
    }
    if (!(a = grow(ref->alias, &ld->ctx->alias_cap, ref->nalias, sizeof *ref->alias)))
        return nomem(ld->err);
    ref->alias = a;
    ref->alias[ref->nalias].sig = sig;
    ref->alias[ref->nalias].text = dup_or_fail(ld, f[0]);
    ref->nalias++;
    return ld->failed ? -1 : 0;
}

/* ---- recentralisation.csv: signataire;axe;depuis ------------------------ */

static int row_recentral(struct loader *ld, char **f, unsigned long line)
{
    struct cp_ref *ref = ld->ref;
    struct cp_recentral *r;
    size_t i;
    int sig, year;

    if ((sig = find_signatory(ref, f[0])) < 0)
        return bad(ld, line, "signataire « %s » absent de signataires.csv", f[0]);
    for (i = 0; i < ref->nind && strcmp(ref->ind[i].axis, f[1]) != 0; i++)
        ;
    if (i == ref->nind)
        return bad(ld, line, "axe « %s » absent du catalogue", f[1]);
    if (strlen(f[2]) != 4 || (year = year_at(f[2])) < 0)
        return bad(ld, line, "année « %s » invalide (attendu par exemple 2019)", f[2]);
    if (!(r = grow(ref->recentral, &ld->ctx->rec_cap, ref->nrecentral, sizeof *ref->recentral)))
        return nomem(ld->err);
    ref->recentral = r;
    r = &ref->recentral[ref->nrecentral++];
    r->sig = sig;
    r->year_from = year;
    r->axis = dup_or_fail(ld, f[1]);
    return ld->failed ? -1 : 0;
}

/* ---- public API ------------------------------------------------------------ */

const char *cp_ref_default_datadir(void)
{
    static char dir[512];
    const char *env = getenv("CALPAE_DATA");

    if (env && *env) {
        snprintf(dir, sizeof dir, "%s", env);
        return dir;
    }
    if (access("./data/catalog.csv", R_OK) == 0)
        return "./data";
    return CALPAE_DATADIR;
}

int cp_ref_load(struct cp_ref *ref, const char *datadir, struct cp_err *err)
{
    static const char *const reg_cols[] = { "region", "nom", NULL };
    static const char *const dep_cols[] = { "departement", "nom", "region", NULL };
    static const char *const sig_cols[] = { "code", "nom", "type", "departements",
                                            "region", "debut", "fin", NULL };
    static const char *const ind_cols[] = {
        "code", "libelle", "axe", "unite", "nature", "numerateur", "denominateur", "poids",
        "min", "max", "sens", "annees", "periodicite", "signataires", "obligatoire", NULL,
    };
    static const char *const alias_cols[] = { "alias", "signataire", NULL };
    static const char *const rec_cols[] = { "signataire", "axe", "depuis", NULL };
    struct load_ctx ctx;
    int rc = -1;

    memset(ref, 0, sizeof *ref);
    memset(&ctx, 0, sizeof ctx);
    if (!datadir || !*datadir || strlen(datadir) >= sizeof ref->datadir)
        return cp_err_set(err, CP_EX_CONFIG, "ref_missing", NULL,
                          "dossier des données de référence absent ou trop long");
    memcpy(ref->datadir, datadir, strlen(datadir) + 1);

    if (load_file(ref, &ctx, "regions.csv", reg_cols, row_region, NULL, err) < 0 ||
        load_file(ref, &ctx, "departements.csv", dep_cols, row_departement, NULL, err) < 0 ||
        load_file(ref, &ctx, "signataires.csv", sig_cols, row_signatory, NULL, err) < 0 ||
        load_file(ref, &ctx, "catalog.csv", ind_cols, row_indicator, ref->catalog_version,
                  err) < 0 ||
        resolve_refs(ref, &ctx, err) < 0 ||
        load_file(ref, &ctx, "alias.csv", alias_cols, row_alias, NULL, err) < 0 ||
        load_file(ref, &ctx, "recentralisation.csv", rec_cols, row_recentral, NULL, err) < 0)
        goto out;
    if (ref->nind == 0 || ref->nsig == 0) {
        cp_err_set(err, CP_EX_CONFIG, "ref_invalid", NULL,
                   "données de référence %s : catalogue ou liste des signataires vide",
                   ref->datadir);
        goto out;
    }
    if (cp_sig_index_build(&ref->sigix, ref, err) < 0)
        goto out;
    rc = 0;
out:
    pending_release(&ctx, ref->nind);
    if (rc < 0) {
        char keep[sizeof ref->datadir];
        memcpy(keep, ref->datadir, sizeof keep);
        cp_ref_release(ref);
        memcpy(ref->datadir, keep, sizeof keep);
    }
    return rc;
}

void cp_ref_release(struct cp_ref *ref)
{
    size_t i;

    if (!ref)
        return;
    for (i = 0; i < ref->nind; i++) {
        free(ref->ind[i].code);
        free(ref->ind[i].label);
        free(ref->ind[i].axis);
        free(ref->ind[i].fold_code);
        free(ref->ind[i].fold_label);
    }
    for (i = 0; i < ref->nsig; i++) {
        free(ref->sig[i].code);
        free(ref->sig[i].name);
        free(ref->sig[i].departements);
        free(ref->sig[i].region);
        free(ref->sig[i].start);
        free(ref->sig[i].end);
    }
    for (i = 0; i < ref->nreg; i++) {
        free(ref->reg[i].code);
        free(ref->reg[i].name);
    }
    for (i = 0; i < ref->ndep; i++) {
        free(ref->dep[i].code);
        free(ref->dep[i].name);
        free(ref->dep[i].region);
    }
    for (i = 0; i < ref->nalias; i++)
        free(ref->alias[i].text);
    for (i = 0; i < ref->nrecentral; i++)
        free(ref->recentral[i].axis);
    free(ref->ind);
    free(ref->sig);
    free(ref->reg);
    free(ref->dep);
    free(ref->alias);
    free(ref->recentral);
    cp_sig_index_free(ref->sigix);
    memset(ref, 0, sizeof *ref);
}

int cp_ref_indicator(const struct cp_ref *ref, const char *code)
{
    for (size_t i = 0; i < ref->nind; i++)
        if (ref->ind[i].code && strcmp(ref->ind[i].code, code) == 0)
            return (int)i;
    return -1;
}

int cp_ref_indicator_match(const struct cp_ref *ref, const char *text, size_t len)
{
    char f[REF_FOLD_MAX];
    size_t i;

    if (cp_text_fold(text, len, f, sizeof f) == 0)
        return -1;
    for (i = 0; i < ref->nind; i++)
        if (strcmp(ref->ind[i].fold_code, f) == 0)
            return (int)i;
    for (i = 0; i < ref->nind; i++)
        if (strcmp(ref->ind[i].fold_label, f) == 0)
            return (int)i;
    return -1;
}

int cp_ref_signatory(const struct cp_ref *ref, const char *code)
{
    if (ref->sigix)
        return cp_sig_index_code(ref->sigix, ref, code);
    return find_signatory(ref, code);
}

int cp_ref_region(const struct cp_ref *ref, const char *code)
{
    return find_region(ref, code);
}

int cp_ref_in_force(const struct cp_signatory *s, const struct cp_period *p)
{
    char first[CP_DATE_STRLEN], last[CP_DATE_STRLEN];

    cp_period_bounds(p, first, last);
    if (s->start && strcmp(s->start, last) > 0)
        return 0;
    if (s->end && strcmp(s->end, first) < 0)
        return 0;
    return 1;
}

/* 1 when the comma-separated lists a and b share an element. */
static int lists_meet(const char *a, const char *b)
{
    for (const char *p = a; *p;) {
        size_t n = strcspn(p, ",");
        for (const char *q = b; *q;) {
            size_t m = strcspn(q, ",");
            if (m == n && memcmp(p, q, n) == 0 && n > 0)
                return 1;
            q += m + (q[m] == ',');
        }
        p += n + (p[n] == ',');
    }
    return 0;
}

int cp_ref_successor(const struct cp_ref *ref, int sig, const struct cp_period *p)
{
    const struct cp_signatory *s;
    int found = -1;

    if (sig < 0 || (size_t)sig >= ref->nsig)
        return -1;
    s = &ref->sig[sig];
    if (cp_ref_in_force(s, p))
        return -1;
    for (size_t i = 0; i < ref->nsig; i++) {
        const struct cp_signatory *t = &ref->sig[i];
        if ((int)i == sig || t->type != 'D' || !cp_ref_in_force(t, p) ||
            !lists_meet(s->departements, t->departements))
            continue;
        if (found >= 0)
            return -1; /* two bodies share the territory: no single successor */
        found = (int)i;
    }
    return found;
}

int cp_ref_period_allowed(const struct cp_indicator *ind, const struct cp_period *p)
{
    if (p->year < ind->year_from || p->year > ind->year_to)
        return 0;
    return !(ind->yearly_only && p->half != 0);
}

int cp_ref_type_allowed(const struct cp_indicator *ind, const struct cp_signatory *s)
{
    unsigned t = s->type == 'D' ? CP_TYPE_D : s->type == 'M' ? CP_TYPE_M
               : s->type == 'R' ? CP_TYPE_R : 0u;

    return (ind->types & t) != 0;
}

int cp_ref_recentralised(const struct cp_ref *ref, int sig, int ind, const struct cp_period *p)
{
    if (ind < 0 || (size_t)ind >= ref->nind)
        return 0;
    for (size_t i = 0; i < ref->nrecentral; i++) {
        const struct cp_recentral *r = &ref->recentral[i];
        if (r->sig == sig && p->year >= r->year_from && strcmp(r->axis, ref->ind[ind].axis) == 0)
            return 1;
    }
    return 0;
}

int cp_ref_expected(const struct cp_ref *ref, int sig, int ind, const struct cp_period *p)
{
    if (sig < 0 || (size_t)sig >= ref->nsig || ind < 0 || (size_t)ind >= ref->nind)
        return 0;
    return cp_ref_in_force(&ref->sig[sig], p) &&
           cp_ref_type_allowed(&ref->ind[ind], &ref->sig[sig]) &&
           cp_ref_period_allowed(&ref->ind[ind], p) && !cp_ref_recentralised(ref, sig, ind, p);
}

const char *cp_unit_name(enum cp_unit u)
{
    return (unsigned)u < 4 ? unit_names[u] : "";
}

const char *cp_nature_name(enum cp_nature n)
{
    return (unsigned)n < 4 ? nature_names[n] : "";
}
