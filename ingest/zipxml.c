/*
 * Zip entries inflated block by block into expat, under the caps of
 * struct cp_limits (see zipxml.h). Every inflated byte is counted as it
 * comes out of libzip: declared sizes are never trusted.
 */
#include "ingest/zipxml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The distribution's expat is built with XML_DTD (billion-laughs
 * protection lives behind it); expat.h only declares those functions when
 * the caller says so. */
#ifndef XML_DTD
#define XML_DTD 1
#endif
#include <expat.h>
#include <zip.h>

#define BLOCK (64u * 1024u)
/* Below this many inflated bytes an entry's ratio is not judged: a small
 * part can legitimately compress very well. */
#define RATIO_FLOOR (1ULL << 20)
/* Separates namespace URI and local name in expat's names; a control
 * character cannot appear in a URI of a well-formed document. */
#define NS_SEP '\x01'

static const char fix_hint[] =
    "ouvrez-le puis enregistrez-le de nouveau avec Excel ou LibreOffice";

/* --- archive ------------------------------------------------------------ */

static unsigned rd16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static unsigned long long rd64(const unsigned char *p)
{
    unsigned long long v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/*
 * Reads the entry count from the end-of-central-directory record before
 * libzip allocates one structure per entry: a hostile central directory
 * is refused without being loaded. Returns the count, or -1 when the
 * record is not found (libzip then says what is wrong).
 */
static long long declared_entries(FILE *f, unsigned long long size)
{
    unsigned char tail[65557 + 20];
    size_t want = size < sizeof tail ? (size_t)size : sizeof tail;
    long long count = -1;

    if (want < 22 || fseeko(f, (off_t)(size - want), SEEK_SET) != 0 ||
        fread(tail, 1, want, f) != want)
        return -1;
    for (size_t i = want - 22 + 1; i-- > 0;) {
        if (memcmp(tail + i, "PK\x05\x06", 4) != 0)
            continue;
        count = rd16(tail + i + 10);
        /* ZIP64: the locator just before points to the real record. */
        if (count == 0xFFFF && i >= 20 && memcmp(tail + i - 20, "PK\x06\x07", 4) == 0) {
            unsigned long long off = rd64(tail + i - 20 + 8);
            unsigned char rec[40];
            if (off < size && fseeko(f, (off_t)off, SEEK_SET) == 0 &&
                fread(rec, 1, sizeof rec, f) == sizeof rec &&
                memcmp(rec, "PK\x06\x06", 4) == 0) {
                unsigned long long n = rd64(rec + 32);
                count = n > (unsigned long long)0x7FFFFFFF ? 0x7FFFFFFF : (long long)n;
            }
        }
        break;
    }
    return count;
}

int cp_zip_open(struct cp_zip *z, const char *path, const char *kind,
                const struct cp_limits *lim, struct cp_err *err)
{
    struct stat st;
    unsigned char head[8] = { 0 };
    FILE *f = NULL;
    long long declared;
    int ze = 0, rc = -1;
    zip_int64_t n;

    memset(z, 0, sizeof *z);
    z->path = path;
    z->lim = lim;
    z->err = err;
    clock_gettime(CLOCK_MONOTONIC, &z->t0);

    f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        cp_err_set(err, CP_EX_NOINPUT, "io", path,
                   "impossible d'ouvrir le fichier (%s) ; vérifiez qu'il "
                   "existe et qu'il est lisible.", strerror(errno));
        goto out;
    }
    z->file_bytes = (unsigned long long)st.st_size;
    if (z->file_bytes > lim->max_file_bytes) {
        cp_err_set(err, CP_EX_DATAERR, "file_too_large", path,
                   "le fichier pèse %llu octets, au-delà de la limite de %llu "
                   "octets ; envoyez un fichier plus petit (un par signataire "
                   "et par période).", z->file_bytes, lim->max_file_bytes);
        goto out;
    }
    if (fread(head, 1, sizeof head, f) < 4 || memcmp(head, "PK", 2) != 0) {
        if (memcmp(head, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0)
            cp_err_set(err, CP_EX_DATAERR, "bad_archive", path,
                       "le fichier n'est pas un %s mais un classeur Excel "
                       "97-2003 (.xls) ou un classeur protégé par mot de passe ; "
                       "enregistrez-le au format .xlsx ou .ods, sans mot de "
                       "passe, puis renvoyez-le.", kind);
        else
            cp_err_set(err, CP_EX_DATAERR, "bad_archive", path,
                       "le fichier n'est pas un %s (ce n'est pas une archive "
                       "zip) ; %s, ou envoyez un fichier CSV.", kind, fix_hint);
        goto out;
    }
    declared = declared_entries(f, z->file_bytes);
    if (declared >= 0 && (unsigned long long)declared > lim->max_entries) {
        cp_err_set(err, CP_EX_DATAERR, "too_many_entries", path,
                   "l'archive annonce %lld éléments, au-delà de la limite de "
                   "%lu : ce n'est pas un %s ordinaire ; %s.",
                   declared, lim->max_entries, kind, fix_hint);
        goto out;
    }

    z->za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!z->za) {
        zip_error_t zerr;
        zip_error_init_with_code(&zerr, ze);
        if (ze == ZIP_ER_OPEN || ze == ZIP_ER_READ || ze == ZIP_ER_MEMORY)
            cp_err_set(err, ze == ZIP_ER_MEMORY ? CP_EX_SOFTWARE : CP_EX_IOERR,
                       "io", path, "lecture du fichier impossible (%s) ; "
                       "réessayez plus tard.", zip_error_strerror(&zerr));
        else
            cp_err_set(err, CP_EX_DATAERR, "bad_archive", path,
                       "le %s est endommagé ou tronqué (archive zip illisible : "
                       "%s) ; %s, puis renvoyez-le.", kind,
                       zip_error_strerror(&zerr), fix_hint);
        zip_error_fini(&zerr);
        goto out;
    }
    n = zip_get_num_entries(z->za, 0);
    if (n < 0 || (unsigned long long)n > lim->max_entries) {
        cp_err_set(err, CP_EX_DATAERR, "too_many_entries", path,
                   "l'archive contient %lld éléments, au-delà de la limite de "
                   "%lu : ce n'est pas un %s ordinaire ; %s.",
                   (long long)n, lim->max_entries, kind, fix_hint);
        goto out;
    }
    z->nentries = (unsigned long)n;
    rc = 0;
out:
    if (f)
        fclose(f); /* read-only: nothing to lose */
    if (rc != 0)
        cp_zip_close(z);
    return rc;
}

void cp_zip_close(struct cp_zip *z)
{
    if (z->za)
        zip_discard(z->za); /* read-only: nothing to write back */
    z->za = NULL;
}

int cp_zip_has(const struct cp_zip *z, const char *name)
{
    return z->za && zip_name_locate(z->za, name, ZIP_FL_NOCASE) >= 0;
}

int cp_zip_check_time(struct cp_zip *z, const char *where)
{
    struct timespec now;
    double dt;

    clock_gettime(CLOCK_MONOTONIC, &now);
    dt = (double)(now.tv_sec - z->t0.tv_sec) +
         (double)(now.tv_nsec - z->t0.tv_nsec) / 1e9;
    if (dt <= z->lim->max_seconds)
        return 0;
    return cp_err_set(z->err, CP_EX_DATAERR, "too_slow", where,
                      "la lecture du classeur a dépassé %.0f secondes ; il est "
                      "trop volumineux ou anormal : supprimez les feuilles et "
                      "les lignes inutiles, ou envoyez un fichier CSV.",
                      z->lim->max_seconds);
}

/* One entry being inflated. */
struct entry {
    struct cp_zip *z;
    const char *name;
    zip_file_t *zf;
    double comp;             /* compressed size, for the ratio */
    unsigned long long got;  /* inflated bytes of this entry */
};

static int entry_open(struct entry *e, struct cp_zip *z, const char *name)
{
    zip_int64_t idx;
    zip_stat_t st;

    memset(e, 0, sizeof *e);
    e->z = z;
    e->name = name;
    idx = zip_name_locate(z->za, name, ZIP_FL_NOCASE);
    if (idx < 0)
        return cp_err_set(z->err, CP_EX_DATAERR, "bad_archive", name,
                          "l'élément « %s » manque dans l'archive : le classeur "
                          "est incomplet ; %s.", name, fix_hint);
    zip_stat_init(&st);
    e->comp = 1.0;
    if (zip_stat_index(z->za, (zip_uint64_t)idx, 0, &st) == 0 &&
        (st.valid & ZIP_STAT_COMP_SIZE) && st.comp_size > 0)
        e->comp = (double)(st.comp_size < z->file_bytes ? st.comp_size : z->file_bytes);
    e->zf = zip_fopen_index(z->za, (zip_uint64_t)idx, 0);
    if (!e->zf) {
        int ze = zip_error_code_zip(zip_get_error(z->za));
        if (ze == ZIP_ER_NOPASSWD || ze == ZIP_ER_WRONGPASSWD || ze == ZIP_ER_ENCRNOTSUPP)
            return cp_err_set(z->err, CP_EX_DATAERR, "bad_archive", name,
                              "l'élément « %s » est chiffré ; enregistrez le "
                              "classeur sans mot de passe puis renvoyez-le.", name);
        return cp_err_set(z->err, CP_EX_DATAERR, "bad_archive", name,
                          "l'élément « %s » ne peut pas être décompressé (%s) ; %s.",
                          name, zip_strerror(z->za), fix_hint);
    }
    return 0;
}

/* Inflates up to n bytes into buf: their count, 0 at the end, -1 on error. */
static long long entry_read(struct entry *e, void *buf, size_t n)
{
    const struct cp_limits *lim = e->z->lim;
    zip_int64_t got = zip_fread(e->zf, buf, n);

    if (got < 0)
        return cp_err_set(e->z->err, CP_EX_DATAERR, "bad_archive", e->name,
                          "l'élément « %s » est endommagé (%s) ; %s.", e->name,
                          zip_file_strerror(e->zf), fix_hint);
    e->got += (unsigned long long)got;
    e->z->inflated += (unsigned long long)got;
    if (e->got > lim->max_entry_bytes)
        return cp_err_set(e->z->err, CP_EX_DATAERR, "zip_bomb", e->name,
                          "l'élément « %s » dépasse %llu octets une fois "
                          "décompressé : c'est anormal pour un classeur de "
                          "données ; supprimez les contenus inutiles (images, "
                          "lignes vides mises en forme) ou envoyez un fichier CSV.",
                          e->name, lim->max_entry_bytes);
    if (e->z->inflated > lim->max_archive_bytes)
        return cp_err_set(e->z->err, CP_EX_DATAERR, "zip_bomb", e->name,
                          "le classeur dépasse %llu octets une fois décompressé ; "
                          "c'est anormal pour un classeur de données : supprimez "
                          "les contenus inutiles ou envoyez un fichier CSV.",
                          lim->max_archive_bytes);
    if (e->got > RATIO_FLOOR && (double)e->got > lim->max_ratio * e->comp)
        return cp_err_set(e->z->err, CP_EX_DATAERR, "zip_bomb", e->name,
                          "l'élément « %s » se décompresse plus de %.0f fois "
                          "(%.0f octets compressés) : ce n'est pas un classeur "
                          "ordinaire ; %s.", e->name, lim->max_ratio, e->comp,
                          fix_hint);
    if (cp_zip_check_time(e->z, e->name) != 0)
        return -1;
    return (long long)got;
}

static void entry_close(struct entry *e)
{
    if (e->zf)
        zip_fclose(e->zf); /* read-only: an error here loses nothing */
    e->zf = NULL;
}

int cp_zip_stream(struct cp_zip *z, const char *name, cp_zip_block_fn fn,
                  void *ctx)
{
    struct entry e;
    char *buf;
    long long n;
    int rc;

    buf = malloc(BLOCK);
    if (!buf)
        return cp_err_set(z->err, CP_EX_SOFTWARE, "io", name,
                          "mémoire insuffisante pour lire « %s » ; réessayez "
                          "plus tard.", name);
    if (entry_open(&e, z, name) != 0) {
        free(buf);
        return -1;
    }
    for (;;) {
        n = entry_read(&e, buf, BLOCK);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        rc = fn(ctx, buf, (size_t)n);
        if (rc != 0)
            break;
    }
    entry_close(&e);
    free(buf);
    return rc;
}

/* --- XML ------------------------------------------------------------------ */

/* Splits an expat name into (namespace id, local name). */
static int split_name(const struct cp_xml *x, const char *qname, const char **local)
{
    const char *sep = strchr(qname, NS_SEP);
    size_t ulen;

    if (!sep) {
        *local = qname;
        return 0;
    }
    *local = sep + 1;
    ulen = (size_t)(sep - qname);
    for (unsigned i = 0; i < x->nns; i++)
        if (x->nslen[i] == ulen && memcmp(x->h->ns[i].uri, qname, ulen) == 0)
            return x->h->ns[i].id;
    return -1;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct cp_xml *x = ud;
    const char *local;
    int ns;

    if (x->halted)
        return;
    if (++x->depth > x->zip->lim->max_xml_depth) {
        cp_xml_fail(x, CP_EX_DATAERR, "xml_too_deep", x->entry,
                    "l'élément « %s » imbrique plus de %u niveaux de balises "
                    "XML (ligne %lu) : ce n'est pas un classeur ordinaire ; %s.",
                    x->entry, x->zip->lim->max_xml_depth, cp_xml_line(x), fix_hint);
        return;
    }
    ns = split_name(x, name, &local);
    x->h->start(x, ns, local, atts);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct cp_xml *x = ud;
    const char *local;
    int ns;

    if (x->halted)
        return;
    x->depth--;
    ns = split_name(x, name, &local);
    x->h->end(x, ns, local);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct cp_xml *x = ud;

    if (x->halted || !x->h->text || len <= 0)
        return;
    x->h->text(x, s, (size_t)len);
}

/* Any DTD is refused before its declarations are read: no entity, hence
 * no billion laughs and no external fetch. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    struct cp_xml *x = ud;

    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal;
    if (x->halted)
        return;
    cp_xml_fail(x, CP_EX_DATAERR, "dtd_forbidden", x->entry,
                "l'élément « %s » contient une déclaration DOCTYPE (ligne %lu), "
                "ce qu'aucun tableur n'écrit et qui peut servir à une attaque ; "
                "le fichier est refusé : %s.", x->entry, cp_xml_line(x), fix_hint);
}

int cp_xml_parse(struct cp_zip *z, const char *entry,
                 const struct cp_xml_handlers *h, void *ctx)
{
    struct cp_xml x;
    struct entry e;
    XML_Parser p = NULL;
    int rc = -1;

    memset(&x, 0, sizeof x);
    x.zip = z;
    x.entry = entry;
    x.h = h;
    x.ctx = ctx;
    for (const struct cp_xml_ns *n = h->ns; n && n->uri && x.nns < CP_XML_MAX_NS; n++)
        x.nslen[x.nns++] = strlen(n->uri);
    if (entry_open(&e, z, entry) != 0)
        return -1;
    p = XML_ParserCreateNS(NULL, NS_SEP);
    if (!p) {
        cp_err_set(z->err, CP_EX_SOFTWARE, "io", entry,
                   "mémoire insuffisante pour lire « %s » ; réessayez plus tard.",
                   entry);
        goto out;
    }
    x.parser = p;
    XML_SetUserData(p, &x);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    /* Belt and braces: the DOCTYPE handler already stops any DTD. */
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(p, 20.0f);
    XML_SetBillionLaughsAttackProtectionActivationThreshold(p, 1u << 20);

    for (;;) {
        void *buf = XML_GetBuffer(p, BLOCK);
        long long n;

        if (!buf) {
            cp_err_set(z->err, CP_EX_SOFTWARE, "io", entry,
                       "mémoire insuffisante pour lire « %s » ; réessayez plus tard.",
                       entry);
            goto out;
        }
        n = entry_read(&e, buf, BLOCK);
        if (n < 0)
            goto out;
        if (XML_ParseBuffer(p, (int)n, n == 0) != XML_STATUS_OK || x.halted) {
            if (x.halted) {
                rc = x.rc;
                goto out;
            }
            cp_err_set(z->err, CP_EX_DATAERR, "bad_xml", entry,
                       "l'élément « %s » du classeur n'est pas un XML valide "
                       "(ligne %lu, colonne %lu : %s) ; le classeur est sans "
                       "doute endommagé : %s.", entry,
                       (unsigned long)XML_GetCurrentLineNumber(p),
                       (unsigned long)XML_GetCurrentColumnNumber(p) + 1,
                       XML_ErrorString(XML_GetErrorCode(p)), fix_hint);
            goto out;
        }
        if (n == 0)
            break;
    }
    rc = 0;
out:
    if (p)
        XML_ParserFree(p);
    entry_close(&e);
    return rc;
}

void cp_xml_halt(struct cp_xml *x, int rc)
{
    if (x->halted)
        return;
    x->halted = 1;
    x->rc = rc;
    XML_StopParser((XML_Parser)x->parser, XML_FALSE);
}

int cp_xml_fail(struct cp_xml *x, int exit_status, const char *code,
                const char *where, const char *fmt, ...)
{
    va_list ap;
    struct cp_err *e = x->zip->err;

    if (x->halted)
        return -1;
    if (e) {
        e->exit_status = exit_status;
        snprintf(e->code, sizeof e->code, "%s", code);
        snprintf(e->where, sizeof e->where, "%s", where ? where : "");
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    cp_xml_halt(x, -1);
    return -1;
}

const char *cp_xml_attr(const struct cp_xml *x, const char **atts, int ns,
                        const char *name)
{
    for (; atts && atts[0]; atts += 2) {
        const char *local;
        if (split_name(x, atts[0], &local) == ns && strcmp(local, name) == 0)
            return atts[1];
    }
    return NULL;
}

unsigned long cp_xml_line(const struct cp_xml *x)
{
    return x->parser ? (unsigned long)XML_GetCurrentLineNumber((XML_Parser)x->parser) : 0;
}
