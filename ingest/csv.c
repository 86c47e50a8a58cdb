/*
 * The CSV submission reader: detects the encoding and the separator of a
 * text file in a first streaming pass, then parses it with libcsv in a
 * second pass and pushes each record's non-empty fields, as UTF-8, to the
 * sink (see reader.h). Memory stays bounded whatever the file size.
 */
#include "ingest/csv.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bytes read per read(2) in both passes: small enough for the buffer to
 * stay in the L2 cache, which makes read(2) three times faster than into
 * a 1 MiB buffer (measured). read(2) rather than mmap(2): a file truncated
 * while it is read must give an error, not SIGBUS. */
#define RAW_BLOCK (128u << 10)
/* Most bytes handed to csv_parse in one call, so that the field being
 * built (libcsv's entry_pos) is checked against the cap often enough: an
 * unterminated quote never buffers more than max_field_bytes + PIECE. */
#define PIECE (64u << 10)
/* With CP_CSV_SMALL_BLOCKS, so that small test and fuzz inputs cross
 * block and piece boundaries (odd, to split UTF-16 code units too). */
#define SMALL_BLOCK 61u
#define SMALL_PIECE 7u
/* libcsv grows its field buffer by this many bytes at a time. */
#define CSV_BLOCK (16u << 10)
/* Cap on the UTF-8 text of one record's fields, so that a record of many
 * long fields cannot take unbounded memory (16 384 columns of 256 bytes). */
#define ROW_MAX_BYTES (4u << 20)
/* Separator detection looks at this many lines, or this many bytes. */
#define SNIFF_LINES 32
#define SNIFF_MAX_BYTES (1u << 20)
/* offs[] value of a cell whose text stays in the input buffer. */
#define IN_PLACE ((size_t)-1)

enum { CLS_SEP = 1, CLS_EOL, CLS_QUOTE };

/* The fast path keeps a line in the input buffer until its end is seen,
 * so its cells never reach the row cap, which only the libcsv path checks
 * as it goes: both report the same errors. */
_Static_assert((unsigned long long)RAW_BLOCK * 3 < ROW_MAX_BYTES,
               "a read block converted to UTF-8 must fit under the row cap");

/* libcsv's FIELD_BEGUN parser state (a private #define in libcsv.c,
 * unchanged since 2.0): at the end of the input, a quoted field still in
 * it was never closed, while in FIELD_MIGHT_HAVE_ENDED (3) its closing
 * quote was the last byte. */
enum { LIBCSV_FIELD_BEGUN = 2 };

enum enc { ENC_UTF8, ENC_UTF8_BOM, ENC_UTF16LE, ENC_UTF16BE, ENC_CP1252, ENC_ISO15 };

static const char *const enc_names[] = {
    "UTF-8", "UTF-8 (BOM)", "UTF-16LE", "UTF-16BE", "WINDOWS-1252", "ISO-8859-15"
};

/* Why the parse pass stopped early. */
enum halt { RUN = 0, HALT_DONE, HALT_ERROR, HALT_ABORT };

/* Windows-1252 0x80-0x9F; 0 marks the five undefined bytes. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178
};

static const char what_to_do[] =
    "enregistrez le fichier en UTF-8 ou en Windows-1252 (« CSV UTF-8 » dans Excel)";

struct sniff {
    unsigned long count[4]; /* ';' TAB ',' '|', in tie-break order */
    unsigned lines;
    unsigned long bytes;
    int in_quotes, prev_cr, done;
};

struct rd {
    const struct cp_limits *lim;
    const struct cp_reader_sink *sink;
    struct cp_err *err;
    int fd;
    unsigned long long done;   /* bytes read so far in this pass */
    unsigned long long size;   /* bytes pass 1 read */
    struct timespec mtime;     /* modification time when opened */
    struct timespec t0;
    enum enc enc;
    char sep;
    size_t block;              /* RAW_BLOCK or SMALL_BLOCK */
    size_t piece;              /* PIECE or SMALL_PIECE */
    unsigned char *raw;        /* block bytes */
    unsigned char map[256][4]; /* 8-bit byte → UTF-8 bytes, length in [3] */

    /* parse pass */
    struct csv_parser csv;
    int csv_ready;
    int fast;                  /* split quote-free lines without libcsv */
    unsigned char cls[256];    /* fast path: CLS_SEP, CLS_EOL, CLS_QUOTE or 0 */
    enum halt halt;
    unsigned long line;        /* line being fed, 1-based */
    unsigned long rec_line;    /* line where the current record began */
    unsigned long field_line;  /* line where the current field began */
    int at_line_start, pending_cr;
    unsigned long ncol;        /* fields seen in the current record */
    char *text;                /* the record's cell texts, NUL-separated */
    size_t text_len, text_cap;
    struct cp_cell *cells;
    size_t *offs;              /* cells[i].text = text + offs[i] at emission */
    size_t ncells, cells_cap;
};

/* ---- common helpers ------------------------------------------------------ */

static double elapsed(const struct rd *r)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - r->t0.tv_sec) + (double)(t.tv_nsec - r->t0.tv_nsec) / 1e9;
}

static int err_at_byte(struct rd *r, const char *code, unsigned long long off,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int err_at_byte(struct rd *r, const char *code, unsigned long long off,
                       const char *fmt, ...)
{
    char where[32], msg[CP_ERR_MSG_MAX];
    va_list ap;

    snprintf(where, sizeof where, "byte %llu", off);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cp_err_set(r->err, CP_EX_DATAERR, code, where, "%s", msg);
}

static int err_at_line(struct rd *r, const char *code, unsigned long line,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int err_at_line(struct rd *r, const char *code, unsigned long line,
                       const char *fmt, ...)
{
    char where[32], msg[CP_ERR_MSG_MAX];
    va_list ap;

    snprintf(where, sizeof where, "L%lu", line);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cp_err_set(r->err, CP_EX_DATAERR, code, where, "%s", msg);
}

static int err_memory(struct rd *r)
{
    return cp_err_set(r->err, CP_EX_SOFTWARE, "no_memory", NULL,
                      "mémoire insuffisante pour lire le fichier ; "
                      "relancez le traitement quand la machine est moins chargée.");
}

/*
 * Fills buf with up to cap bytes (fewer only at end of file) and checks
 * the size and time caps. Returns the byte count, or -1 with err set.
 */
static long read_into(struct rd *r, unsigned char *buf, size_t cap)
{
    size_t got = 0;

    while (got < cap) {
        ssize_t n = read(r->fd, buf + got, cap - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cp_err_set(r->err, CP_EX_IOERR, "io", NULL,
                              "lecture du fichier impossible (%s) ; vérifiez le disque "
                              "et les droits, puis relancez le traitement.",
                              strerror(errno));
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    r->done += got;
    if (r->done > r->lim->max_file_bytes)
        return cp_err_set(r->err, CP_EX_DATAERR, "too_large", NULL,
                          "le fichier dépasse la taille maximale de %llu octets ; "
                          "découpez-le en plusieurs fichiers plus petits.",
                          r->lim->max_file_bytes);
    if (elapsed(r) > r->lim->max_seconds)
        return cp_err_set(r->err, CP_EX_DATAERR, "too_slow", NULL,
                          "la lecture du fichier a dépassé %g secondes ; "
                          "découpez-le en plusieurs fichiers plus petits.",
                          r->lim->max_seconds);
    return (long)got;
}

static long read_block(struct rd *r)
{
    return read_into(r, r->raw, r->block);
}

static int rewind_to(struct rd *r, off_t off)
{
    if (lseek(r->fd, off, SEEK_SET) < 0)
        return cp_err_set(r->err, CP_EX_IOERR, "io", NULL,
                          "le fichier ne peut pas être relu (%s) ; déposez un fichier "
                          "ordinaire, pas un tube ni un périphérique.",
                          strerror(errno));
    r->done = (unsigned long long)off;
    return 0;
}

/* ---- pass 1: encoding and separator --------------------------------------- */

static void sniff_unit(struct sniff *s, unsigned u)
{
    if (u == '"') {
        s->in_quotes = !s->in_quotes;
    } else if (!s->in_quotes) {
        switch (u) {
        case ';': s->count[0]++; break;
        case '\t': s->count[1]++; break;
        case ',': s->count[2]++; break;
        case '|': s->count[3]++; break;
        case '\r': s->lines++; break;
        case '\n':
            if (!s->prev_cr)
                s->lines++;
            break;
        default: break;
        }
    }
    s->prev_cr = u == '\r';
    if (s->lines >= SNIFF_LINES || ++s->bytes >= SNIFF_MAX_BYTES)
        s->done = 1;
}

static void sniff_bytes(struct sniff *s, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n && !s->done; i++)
        sniff_unit(s, p[i]);
}

/* Highest count wins; ties go to the earlier of ';' TAB ',' '|'. */
static char sniff_result(const struct sniff *s)
{
    static const char seps[4] = { ';', '\t', ',', '|' };
    int best = 0;

    for (int i = 1; i < 4; i++)
        if (s->count[i] > s->count[best])
            best = i;
    return seps[best];
}

/* UTF-8 validation state, carried across blocks. */
struct u8 {
    int ok;                   /* no invalid sequence so far */
    unsigned need;            /* continuation bytes still expected */
    unsigned char lo, hi;     /* allowed range of the next one */
    unsigned long long seq_off; /* offset of the current sequence's lead */
    unsigned char seq_lead;
    unsigned long long bad_off; /* first invalid sequence */
    unsigned char bad_byte;
};

/* What the bytes say about an 8-bit reading. */
struct hi8 {
    int has_c1;               /* a byte in 0x80-0x9F */
    int has_iso_hint;         /* 0xA4 or 0xBC-0xBE */
    int has_undef;            /* a byte undefined in Windows-1252 */
    unsigned long long undef_off;
    unsigned char undef_byte;
};

static void u8_fail(struct u8 *u, unsigned long long off, unsigned char b)
{
    u->ok = 0;
    u->need = 0;
    u->bad_off = off;
    u->bad_byte = b;
}

static void u8_lead(struct u8 *u, unsigned char c, unsigned long long off)
{
    u->seq_off = off;
    u->seq_lead = c;
    u->lo = 0x80;
    u->hi = 0xBF;
    if (c < 0xC2 || c > 0xF4) {
        u8_fail(u, off, c);
    } else if (c < 0xE0) {
        u->need = 1;
    } else if (c < 0xF0) {
        u->need = 2;
        if (c == 0xE0)
            u->lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            u->hi = 0x9F; /* no surrogates */
    } else {
        u->need = 3;
        if (c == 0xF0)
            u->lo = 0x90;
        else if (c == 0xF4)
            u->hi = 0x8F; /* nothing past U+10FFFF */
    }
}

static int has_zero_byte(uint64_t w)
{
    return ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) != 0;
}

/*
 * Scans one block of a file read as bytes: validates UTF-8, notes what an
 * 8-bit reading needs, and rejects NUL bytes. base is the block's offset.
 */
static int scan_bytes(struct rd *r, struct u8 *u, struct hi8 *h, int bom,
                      const unsigned char *p, size_t n, unsigned long long base)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c;

        if (u->need == 0) {
            /* Fast path: eight ASCII bytes, none of them NUL. */
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if ((w & 0x8080808080808080ULL) || has_zero_byte(w))
                    break;
                i += 8;
            }
            if (i >= n)
                break;
        }
        c = p[i];
        if (c < 0x80) {
            if (c == 0)
                return err_at_byte(r, "nul_byte", base + i,
                                   "octet nul (0x00) à l'offset %llu : ce n'est pas un "
                                   "fichier texte CSV (un fichier UTF-16 sans marque "
                                   "d'ordre des octets donne aussi cette erreur) ; %s.",
                                   base + i, what_to_do);
            if (u->need) {
                u8_fail(u, u->seq_off, u->seq_lead);
                if (bom || h->has_undef)
                    return 1;
            }
            i++;
            continue;
        }
        if (c <= 0x9F) {
            h->has_c1 = 1;
            if (!cp1252_c1[c - 0x80] && !h->has_undef) {
                h->has_undef = 1;
                h->undef_off = base + i;
                h->undef_byte = c;
            }
        } else if (c == 0xA4 || (c >= 0xBC && c <= 0xBE)) {
            h->has_iso_hint = 1;
        }
        if (u->ok) {
            if (u->need == 0) {
                u8_lead(u, c, base + i);
            } else if (c < u->lo || c > u->hi) {
                u8_fail(u, u->seq_off, u->seq_lead);
            } else {
                u->need--;
                u->lo = 0x80;
                u->hi = 0xBF;
            }
        }
        /* Neither UTF-8 nor Windows-1252 (or not the UTF-8 its BOM
         * announces): stop at once, wherever blocks end, so that the
         * error does not depend on how the file was read. */
        if (!u->ok && (bom || h->has_undef))
            return 1;
        i++;
    }
    return 0;
}

static void build_map(struct rd *r)
{
    for (unsigned b = 0; b < 256; b++) {
        unsigned cp = b < 0x80 ? b : b < 0xA0 ? cp1252_c1[b - 0x80] : b;
        unsigned char *m = r->map[b];

        if (r->enc == ENC_ISO15) {
            switch (b) {
            case 0xA4: cp = 0x20AC; break;
            case 0xA6: cp = 0x0160; break;
            case 0xA8: cp = 0x0161; break;
            case 0xB4: cp = 0x017D; break;
            case 0xB8: cp = 0x017E; break;
            case 0xBC: cp = 0x0152; break;
            case 0xBD: cp = 0x0153; break;
            case 0xBE: cp = 0x0178; break;
            default: break;
            }
        }
        if (cp < 0x80) {
            m[0] = (unsigned char)cp;
            m[3] = 1;
        } else if (cp < 0x800) {
            m[0] = (unsigned char)(0xC0 | (cp >> 6));
            m[1] = (unsigned char)(0x80 | (cp & 0x3F));
            m[3] = 2;
        } else {
            m[0] = (unsigned char)(0xE0 | (cp >> 12));
            m[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            m[2] = (unsigned char)(0x80 | (cp & 0x3F));
            m[3] = 3;
        }
    }
}

/* Pass 1 for a byte-oriented file (UTF-8 with or without BOM, 8-bit). */
static int detect_bytes(struct rd *r, long n, int bom, struct sniff *sn)
{
    struct u8 u = { .ok = 1 };
    struct hi8 h = { 0 };
    size_t start = bom ? 3 : 0;
    unsigned long long base = 0;
    int rc;

    for (;;) {
        const unsigned char *p = r->raw + start;
        size_t len = (size_t)n - start;

        if (!sn->done)
            sniff_bytes(sn, p, len);
        rc = scan_bytes(r, &u, &h, bom, p, len, base + start);
        if (rc < 0)
            return -1;
        if (rc > 0)
            break;
        base += (unsigned long long)n;
        start = 0;
        if ((size_t)n < r->block)
            break;
        n = read_block(r);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
    }
    if (u.ok && u.need)
        u8_fail(&u, u.seq_off, u.seq_lead); /* truncated at end of file */

    if (u.ok) {
        r->enc = bom ? ENC_UTF8_BOM : ENC_UTF8;
        return 0;
    }
    if (bom)
        return err_at_byte(r, "bad_encoding", u.bad_off,
                           "octet 0x%02X invalide en UTF-8 (offset %llu) alors que le "
                           "fichier commence par la marque UTF-8 (BOM) ; %s.",
                           u.bad_byte, u.bad_off, what_to_do);
    if (h.has_undef) {
        if (h.undef_off == u.bad_off)
            return err_at_byte(r, "bad_encoding", h.undef_off,
                               "octet 0x%02X invalide en UTF-8 et non défini en "
                               "Windows-1252 (offset %llu) ; %s.",
                               h.undef_byte, h.undef_off, what_to_do);
        return err_at_byte(r, "bad_encoding", h.undef_off,
                           "octet 0x%02X non défini en Windows-1252 (offset %llu), et le "
                           "fichier n'est pas non plus en UTF-8 (octet 0x%02X invalide, "
                           "offset %llu) ; %s.",
                           h.undef_byte, h.undef_off, u.bad_byte, u.bad_off, what_to_do);
    }
    /*
     * Not UTF-8: an 8-bit encoding. Windows-1252 and ISO-8859-15 differ
     * only in 0x80-0x9F (printable in Windows-1252, control codes in
     * ISO-8859-15) and in eight bytes of 0xA0-0xBF. A file using none of
     * 0x80-0x9F but holding 0xA4 or 0xBC-0xBE is read as ISO-8859-15,
     * because in French text €, Œ, œ and Ÿ are far likelier than ¤, ¼, ½
     * and ¾. Otherwise Windows-1252 (what French Excel writes), which
     * also reads ISO-8859-1 text correctly.
     */
    r->enc = !h.has_c1 && h.has_iso_hint ? ENC_ISO15 : ENC_CP1252;
    return 0;
}

/* UTF-16 validation state, carried across blocks. */
struct u16 {
    int be;
    int pending;              /* a high surrogate waits for its low half */
    unsigned pend_u;
    unsigned long long pend_off;
};

static int lone_surrogate(struct rd *r, unsigned u, unsigned long long off)
{
    return err_at_byte(r, "bad_encoding", off,
                       "demi-caractère UTF-16 isolé 0x%04X à l'offset %llu (substitut "
                       "sans son complément) : le fichier est tronqué ou abîmé ; %s.",
                       u, off, what_to_do);
}

/* One UTF-16 code unit at offset off. */
static int u16_unit(struct rd *r, struct u16 *s, struct sniff *sn,
                    unsigned b0, unsigned b1, unsigned long long off)
{
    unsigned u = s->be ? (b0 << 8 | b1) : (b1 << 8 | b0);

    if (s->pending) {
        if (u < 0xDC00 || u > 0xDFFF)
            return lone_surrogate(r, s->pend_u, s->pend_off);
        s->pending = 0;
    } else if (u >= 0xD800 && u <= 0xDBFF) {
        s->pending = 1;
        s->pend_u = u;
        s->pend_off = off;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
        return lone_surrogate(r, u, off);
    } else if (u == 0) {
        return err_at_byte(r, "nul_byte", off,
                           "caractère nul (U+0000) à l'offset %llu : ce n'est pas un "
                           "fichier texte CSV ; %s.", off, what_to_do);
    }
    if (!sn->done)
        sniff_unit(sn, u);
    return 0;
}

/* Pass 1 for UTF-16 (after its BOM): surrogates, NUL, even length. */
static int detect_utf16(struct rd *r, long n, int be, struct sniff *sn)
{
    struct u16 s = { be, 0, 0, 0 };
    unsigned long long base = 0;
    size_t i = 2;
    int have_odd = 0;
    unsigned char odd = 0;

    for (;;) {
        const unsigned char *p = r->raw;

        if (have_odd && n > 0) {
            if (u16_unit(r, &s, sn, odd, p[0], base - 1) < 0)
                return -1;
            have_odd = 0;
            i = 1;
        }
        for (; i + 1 < (size_t)n; i += 2) {
            unsigned u = be ? (unsigned)p[i] << 8 | p[i + 1] : (unsigned)p[i + 1] << 8 | p[i];

            /* Fast path: an ordinary character once the sniffing is done. */
            if (sn->done && !s.pending && u != 0 && (u < 0xD800 || u > 0xDFFF))
                continue;
            if (u16_unit(r, &s, sn, p[i], p[i + 1], base + i) < 0)
                return -1;
        }
        if (i < (size_t)n) {
            have_odd = 1;
            odd = p[i];
        }
        base += (unsigned long long)n;
        if ((size_t)n < r->block)
            break;
        n = read_block(r);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        i = 0;
    }
    if (s.pending)
        return lone_surrogate(r, s.pend_u, s.pend_off);
    if (have_odd)
        return err_at_byte(r, "bad_encoding", base - 1,
                           "le fichier est en UTF-16 mais compte un nombre impair "
                           "d'octets : le dernier (offset %llu) est un demi-caractère ; "
                           "le fichier est tronqué ou abîmé ; %s.", base - 1, what_to_do);
    r->enc = be ? ENC_UTF16BE : ENC_UTF16LE;
    return 0;
}

/* Pass 1: fills r->enc and r->sep. */
static int detect(struct rd *r)
{
    struct sniff sn = { { 0 }, 0, 0, 0, 0, 0 };
    long n = read_block(r);
    const unsigned char *p = r->raw;
    int rc;

    if (n < 0)
        return -1;
    if (n >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF)))
        rc = detect_utf16(r, n, p[0] == 0xFE, &sn);
    else
        rc = detect_bytes(r, n, n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF, &sn);
    if (rc < 0)
        return -1;
    r->sep = sniff_result(&sn);
    return 0;
}

/* ---- pass 2: records -------------------------------------------------- */

/*
 * libcsv's space test, so that fields are not trimmed. Its price: after a
 * closing quote, libcsv now takes a space (`"x" ;`, not RFC 4180) as text
 * and the quoted field goes on, usually to an unterminated_quote error
 * whose message says a closing quote must touch the separator.
 */
static int never_space(unsigned char c)
{
    (void)c;
    return 0;
}

static void halt_with(struct rd *r, enum halt h)
{
    if (r->halt == RUN)
        r->halt = h;
}

static int field_too_long(struct rd *r)
{
    err_at_line(r, "field_too_long", r->field_line,
                "le champ commençant ligne %lu dépasse %zu octets ; un guillemet "
                "ouvert et jamais refermé en est souvent la cause : vérifiez les "
                "guillemets de cette ligne, ou raccourcissez le texte.",
                r->field_line, r->lim->max_field_bytes);
    halt_with(r, HALT_ERROR);
    return -1;
}

static int too_many_columns(struct rd *r)
{
    char sep[2] = { r->sep, '\0' };

    err_at_line(r, "too_many_columns", r->rec_line,
                "la ligne %lu compte plus de %lu colonnes ; vérifiez le séparateur "
                "(détecté : « %s ») et supprimez les colonnes superflues.",
                r->rec_line, r->lim->max_columns, r->sep == '\t' ? "tabulation" : sep);
    halt_with(r, HALT_ERROR);
    return -1;
}

static int grow_cells(struct rd *r)
{
    size_t cap = r->cells_cap ? r->cells_cap * 2 : 64;
    struct cp_cell *nc = realloc(r->cells, cap * sizeof *nc);
    size_t *no;

    if (!nc)
        return -1;
    r->cells = nc;
    no = realloc(r->offs, cap * sizeof *no);
    if (!no)
        return -1;
    r->offs = no;
    r->cells_cap = cap;
    return 0;
}

/* Makes room for one more cell and returns it (NULL: out of memory). */
static inline struct cp_cell *new_cell(struct rd *r, unsigned long col, size_t off)
{
    struct cp_cell *c;

    if (r->ncells == r->cells_cap && grow_cells(r) < 0)
        return NULL;
    c = &r->cells[r->ncells];
    c->col = (unsigned)col;
    c->kind = CP_CELL_TEXT;
    c->text = NULL;
    c->len = 0;
    c->num = 0;
    r->offs[r->ncells++] = off;
    return c;
}

/* Appends one non-empty field to the record, copied as UTF-8. */
static int add_cell(struct rd *r, unsigned long col, const unsigned char *s, size_t len)
{
    int eight = r->enc == ENC_CP1252 || r->enc == ENC_ISO15;
    size_t need = (eight ? len * 3 : len) + 1;
    struct cp_cell *c;
    char *t;

    if (need > ROW_MAX_BYTES - r->text_len) {
        err_at_line(r, "row_too_long", r->rec_line,
                    "l'enregistrement commençant ligne %lu dépasse %u octets de "
                    "texte ; vérifiez les guillemets et le séparateur de cette "
                    "ligne, ou raccourcissez les textes.",
                    r->rec_line, ROW_MAX_BYTES);
        goto fail;
    }
    if (r->text_len + need > r->text_cap) {
        size_t cap = r->text_cap ? r->text_cap : 4096;
        while (cap < r->text_len + need)
            cap *= 2;
        t = realloc(r->text, cap);
        if (!t)
            goto nomem;
        r->text = t;
        r->text_cap = cap;
    }
    c = new_cell(r, col, r->text_len);
    if (!c)
        goto nomem;
    t = r->text + r->text_len;
    if (eight) {
        char *o = t;
        for (size_t i = 0; i < len; i++) {
            const unsigned char *m = r->map[s[i]];
            o[0] = (char)m[0];
            o[1] = (char)m[1];
            o[2] = (char)m[2];
            o += m[3];
        }
        len = (size_t)(o - t);
    } else {
        memcpy(t, s, len);
    }
    t[len] = '\0';
    c->len = len;
    r->text_len += len + 1;
    return 0;
nomem:
    err_memory(r);
fail:
    halt_with(r, HALT_ERROR);
    return -1;
}

/* Hands the record to the sink and starts the next one. */
static void emit_row(struct rd *r)
{
    if (r->ncells > 0 && r->sink && r->sink->row) {
        struct cp_row row;
        int rc;

        for (size_t i = 0; i < r->ncells; i++)
            if (r->offs[i] != IN_PLACE)
                r->cells[i].text = r->text + r->offs[i];
        row.sheet = NULL;
        row.line = r->rec_line;
        row.cells = r->cells;
        row.ncells = r->ncells;
        rc = r->sink->row(r->sink->ctx, &row);
        if (rc < 0)
            halt_with(r, HALT_ABORT);
        else if (rc == CP_READ_NEXT_SHEET || rc == CP_READ_STOP)
            halt_with(r, HALT_DONE);
    }
    r->ncells = 0;
    r->ncol = 0;
    r->text_len = 0;
}

static void on_field(void *s, size_t len, void *data)
{
    struct rd *r = data;
    unsigned long col;

    if (r->halt)
        return;
    col = r->ncol++;
    /* Length first, as parse() may see a field too long before its end. */
    if (len > r->lim->max_field_bytes) {
        field_too_long(r);
        return;
    }
    if (col >= r->lim->max_columns) {
        too_many_columns(r);
        return;
    }
    if (len > 0 && add_cell(r, col, s, len) < 0)
        return;
    r->field_line = r->line;
}

static void on_record(int c, void *data)
{
    struct rd *r = data;

    (void)c;
    if (!r->halt)
        emit_row(r);
}

/* Hands bytes to libcsv, then checks the field being built against the cap. */
static int parse(struct rd *r, const unsigned char *p, size_t n)
{
    if (csv_parse(&r->csv, p, n, on_field, on_record, r) != n && !r->halt) {
        err_memory(r);
        halt_with(r, HALT_ERROR);
    }
    if (r->halt)
        return -1;
    /* A quoted field's closing quote sits in entry_buf until the next
     * byte shows it was not doubled: hence + 1. */
    if (r->csv.entry_pos > r->lim->max_field_bytes + 1)
        return field_too_long(r);
    return 0;
}

/* Converts the record's 8-bit cells, still pointing into the input, into
 * UTF-8 copies in r->text. */
static int convert_cells(struct rd *r)
{
    for (size_t i = 0; i < r->ncells; i++) {
        struct cp_cell *c = &r->cells[i];
        const unsigned char *s = (const unsigned char *)c->text;
        size_t len = c->len;
        char *t, *o;

        if (len * 3 + 1 > ROW_MAX_BYTES - r->text_len) {
            err_at_line(r, "row_too_long", r->rec_line,
                        "l'enregistrement commençant ligne %lu dépasse %u octets de "
                        "texte ; vérifiez les guillemets et le séparateur de cette "
                        "ligne, ou raccourcissez les textes.",
                        r->rec_line, ROW_MAX_BYTES);
            halt_with(r, HALT_ERROR);
            return -1;
        }
        if (r->text_len + len * 3 + 1 > r->text_cap) {
            size_t cap = r->text_cap ? r->text_cap : 4096;
            while (cap < r->text_len + len * 3 + 1)
                cap *= 2;
            t = realloc(r->text, cap);
            if (!t) {
                err_memory(r);
                halt_with(r, HALT_ERROR);
                return -1;
            }
            r->text = t;
            r->text_cap = cap;
        }
        t = o = r->text + r->text_len;
        for (size_t j = 0; j < len; j++) {
            const unsigned char *m;

            if (s[j] < 0x80) {
                *o++ = (char)s[j];
                continue;
            }
            m = r->map[s[j]];
            o[0] = (char)m[0];
            o[1] = (char)m[1];
            o[2] = (char)m[2];
            o += m[3];
        }
        *o = '\0';
        c->len = (size_t)(o - t);
        r->offs[i] = r->text_len;
        r->text_len += c->len + 1;
    }
    return 0;
}

/*
 * The fast path, for a line that begins a record: when the whole line is
 * in the buffer and holds no quote, libcsv would only split it at the
 * separator (spaces are kept), so it is split here in one scan. Nothing
 * is changed until the line end is found; then, for UTF-8 text, each
 * field is NUL-terminated in place over its separator or line end.
 * Returns 1 when the line was read (*next is the next line), 0 when it
 * must go through libcsv, -1 once halted.
 */
static int fast_line(struct rd *r, unsigned char *p, unsigned char *end,
                     unsigned char **next)
{
    const unsigned char *cls = r->cls;
    unsigned char *f = p, *q = p;
    unsigned long col = 0;
    unsigned char k;

    for (;;) {
        while (q < end && !cls[*q])
            q++;
        if (q == end || (k = cls[*q]) == CLS_QUOTE) {
            r->ncells = 0;
            return 0;
        }
        if (q > f) {
            struct cp_cell *c;

            if ((size_t)(q - f) > r->lim->max_field_bytes)
                return field_too_long(r);
            if (col >= r->lim->max_columns)
                return too_many_columns(r);
            c = new_cell(r, col, IN_PLACE);
            if (!c) {
                err_memory(r);
                halt_with(r, HALT_ERROR);
                return -1;
            }
            c->text = (const char *)f;
            c->len = (size_t)(q - f);
        } else if (col >= r->lim->max_columns) {
            return too_many_columns(r);
        }
        col++;
        if (k == CLS_EOL)
            break;
        f = ++q;
    }
    /* q is the line end: CR, LF, or the CR of a CRLF. */
    *next = q + 1;
    if (*q == '\r') {
        if (q + 1 == end)
            r->pending_cr = 1;
        else if (q[1] == '\n')
            *next = q + 2;
    }
    if (r->enc == ENC_CP1252 || r->enc == ENC_ISO15) {
        if (convert_cells(r) < 0)
            return -1;
    } else {
        for (size_t i = 0; i < r->ncells; i++)
            ((char *)r->cells[i].text)[r->cells[i].len] = '\0';
    }
    emit_row(r);
    return r->halt ? -1 : 1;
}

/*
 * Feeds UTF-8 text, one physical line at a time, so that each record's
 * first line is known: a line begins a record when libcsv is not inside a
 * quoted field there. CR, LF and CRLF each end one line, inside quotes
 * too, as a text editor counts them. Lines that begin a record and hold
 * no quote take the fast path (fast_line); the others go through libcsv.
 * The buffer may be modified. Returns -1 once halted.
 */
static int feed(struct rd *r, unsigned char *p, size_t n)
{
    unsigned char *end = p + n;

    if (r->pending_cr && n > 0) {
        /* The LF of a CRLF split across two blocks: same line break. */
        r->pending_cr = 0;
        if (*p == '\n') {
            if (parse(r, p, 1) < 0)
                return -1;
            p++;
        }
    }
    while (p < end) {
        unsigned char *lim, *q = p;

        if (r->at_line_start) {
            r->at_line_start = 0;
            if (!r->csv.quoted) {
                r->rec_line = r->field_line = r->line;
                if (r->fast) {
                    unsigned char *next = p;
                    int k = fast_line(r, p, end, &next);
                    if (k < 0)
                        return -1;
                    if (k > 0) {
                        r->line++;
                        r->at_line_start = 1;
                        p = next;
                        continue;
                    }
                }
            }
        }
        lim = (size_t)(end - p) > r->piece ? p + r->piece : end;
        while (q < lim && *q != '\n' && *q != '\r')
            q++;
        if (q < lim) {
            if (*q++ == '\r') {
                if (q == end)
                    r->pending_cr = 1;
                else if (*q == '\n')
                    q++;
            }
            if (parse(r, p, (size_t)(q - p)) < 0)
                return -1;
            r->line++;
            r->at_line_start = 1;
        } else if (parse(r, p, (size_t)(q - p)) < 0) {
            return -1;
        }
        p = q;
    }
    return 0;
}

/* At the end of pass 2: pass 1 vouched for these very bytes. */
static int check_unchanged(struct rd *r)
{
    struct stat st;

    if (r->done == r->size && fstat(r->fd, &st) == 0 && st.st_mtim.tv_sec == r->mtime.tv_sec &&
        st.st_mtim.tv_nsec == r->mtime.tv_nsec && (unsigned long long)st.st_size == r->size)
        return 0;
    return cp_err_set(r->err, CP_EX_TEMPFAIL, "io", NULL,
                      "le fichier a changé pendant sa lecture ; relancez le traitement "
                      "une fois le dépôt terminé.");
}

static int parse_bytes_file(struct rd *r)
{
    if (rewind_to(r, r->enc == ENC_UTF8_BOM ? 3 : 0) < 0)
        return -1;
    for (;;) {
        long n = read_block(r);

        if (n < 0)
            return -1;
        if (n > 0 && feed(r, r->raw, (size_t)n) < 0)
            return r->halt == HALT_ERROR ? -1 : 0;
        if ((size_t)n < r->block)
            return check_unchanged(r);
    }
}

static int parse_utf16_file(struct rd *r)
{
    size_t out_size = r->block + r->block / 2 + 16;
    unsigned char *out = NULL;
    iconv_t cd = (iconv_t)-1;
    size_t have = 0;
    int ret = -1;

    if (rewind_to(r, 2) < 0)
        goto out;
    out = malloc(out_size);
    cd = iconv_open("UTF-8", r->enc == ENC_UTF16BE ? "UTF-16BE" : "UTF-16LE");
    if (!out || cd == (iconv_t)-1) {
        err_memory(r);
        goto out;
    }
    for (;;) {
        long n = read_into(r, r->raw + have, r->block - have);
        int eof;
        char *in = (char *)r->raw;
        size_t inleft;

        if (n < 0)
            goto out;
        eof = (size_t)n < r->block - have;
        inleft = have + (size_t)n;
        have = 0;
        while (inleft > 0) {
            char *o = (char *)out;
            size_t oleft = out_size;
            size_t rc = iconv(cd, &in, &inleft, &o, &oleft);
            int e = errno;

            if (o > (char *)out && feed(r, out, (size_t)(o - (char *)out)) < 0) {
                ret = r->halt == HALT_ERROR ? -1 : 0;
                goto out;
            }
            if (rc != (size_t)-1 || e == E2BIG)
                continue;
            if (e == EINVAL && !eof) {
                /* A character split by the block end: carry it over. */
                memmove(r->raw, in, inleft);
                have = inleft;
                break;
            }
            /* Pass 1 validated the file: it changed in between. */
            err_at_byte(r, "bad_encoding", r->done - inleft,
                        "suite d'octets UTF-16 invalide à l'offset %llu ; %s.",
                        r->done - inleft, what_to_do);
            goto out;
        }
        if (eof)
            break;
    }
    ret = check_unchanged(r);
out:
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    free(out);
    return ret;
}

/*
 * Pass 2: records to the sink, between sheet_begin and sheet_end.
 * sheet_end is called whenever sheet_begin was, including after a
 * callback returned CP_READ_NEXT_SHEET or CP_READ_STOP, so that a sink
 * can close its table there; not after an abort or a read error.
 */
static int run_parse(struct rd *r)
{
    const struct cp_reader_sink *s = r->sink;
    int rc;

    if (csv_init(&r->csv, 0) != 0)
        return err_memory(r);
    r->csv_ready = 1;
    csv_set_delim(&r->csv, (unsigned char)r->sep);
    csv_set_space_func(&r->csv, never_space);
    csv_set_blk_size(&r->csv, CSV_BLOCK);
    r->cls[(unsigned char)r->sep] = CLS_SEP;
    r->cls['\r'] = r->cls['\n'] = CLS_EOL;
    r->cls['"'] = CLS_QUOTE;
    r->line = r->rec_line = r->field_line = 1;
    r->at_line_start = 1;

    if (s && s->sheet_begin) {
        rc = s->sheet_begin(s->ctx, NULL, 0);
        if (rc < 0)
            return CP_READ_ABORTED;
        if (rc == CP_READ_NEXT_SHEET || rc == CP_READ_STOP)
            r->halt = HALT_DONE;
    }
    if (!r->halt) {
        rc = r->enc == ENC_UTF16LE || r->enc == ENC_UTF16BE ? parse_utf16_file(r)
                                                            : parse_bytes_file(r);
        if (rc < 0 || r->halt == HALT_ERROR)
            return -1;
    }
    if (!r->halt) {
        if (r->csv.quoted && r->csv.pstate == LIBCSV_FIELD_BEGUN)
            return err_at_line(r, "unterminated_quote", r->field_line,
                               "guillemet non refermé : le champ ouvert par « \" » ligne "
                               "%lu se poursuit jusqu'à la fin du fichier ; ajoutez le "
                               "« \" » fermant qui manque (un « \" » à l'intérieur d'un "
                               "texte entre guillemets s'écrit « \"\" », et un « \" » "
                               "fermant est suivi directement du séparateur ou de la fin "
                               "de ligne).",
                               r->field_line);
        if (csv_fini(&r->csv, on_field, on_record, r) != 0 && !r->halt)
            return err_memory(r);
        if (r->halt == HALT_ERROR)
            return -1;
    }
    if (r->halt == HALT_ABORT)
        return CP_READ_ABORTED;
    if (s && s->sheet_end && s->sheet_end(s->ctx) < 0)
        return CP_READ_ABORTED;
    return 0;
}

int cp_csv_read(const char *path, const struct cp_limits *lim,
                const struct cp_reader_sink *sink, struct cp_read_info *info,
                struct cp_err *err)
{
    return cp_csv_read_flags(path, lim, sink, info, err, 0);
}

int cp_csv_read_flags(const char *path, const struct cp_limits *lim,
                      const struct cp_reader_sink *sink, struct cp_read_info *info,
                      struct cp_err *err, unsigned flags)
{
    struct rd *r;
    struct stat st;
    int ret = -1;

    r = calloc(1, sizeof *r);
    if (!r)
        return cp_err_set(err, CP_EX_SOFTWARE, "no_memory", NULL,
                          "mémoire insuffisante pour lire le fichier ; relancez le "
                          "traitement quand la machine est moins chargée.");
    if (info)
        memset(info, 0, sizeof *info);
    r->lim = lim ? lim : &cp_limits_default;
    r->sink = sink;
    r->err = err;
    r->fast = !(flags & CP_CSV_LIBCSV_ONLY);
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        cp_err_set(err, errno == ENOENT ? CP_EX_NOINPUT : CP_EX_IOERR, "io", NULL,
                   "impossible d'ouvrir le fichier (%s) ; vérifiez qu'il existe et "
                   "qu'il est lisible.", strerror(errno));
        goto out;
    }
    if (fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        cp_err_set(err, CP_EX_IOERR, "io", NULL,
                   "ce n'est pas un fichier ordinaire lisible ; déposez un fichier "
                   "CSV, pas un dossier ni un lien spécial.");
        goto out;
    }
    if ((unsigned long long)st.st_size > r->lim->max_file_bytes) {
        cp_err_set(err, CP_EX_DATAERR, "too_large", NULL,
                   "le fichier fait %llu octets, au-delà de la taille maximale de %llu "
                   "octets ; découpez-le en plusieurs fichiers plus petits.",
                   (unsigned long long)st.st_size, r->lim->max_file_bytes);
        goto out;
    }
    r->block = flags & CP_CSV_SMALL_BLOCKS ? SMALL_BLOCK : RAW_BLOCK;
    r->piece = flags & CP_CSV_SMALL_BLOCKS ? SMALL_PIECE : PIECE;
    r->raw = malloc(r->block);
    if (!r->raw) {
        err_memory(r);
        goto out;
    }
    r->mtime = st.st_mtim;
    if (detect(r) < 0)
        goto out;
    r->size = r->done;
    if (info) {
        snprintf(info->encoding, sizeof info->encoding, "%s", enc_names[r->enc]);
        info->separator = r->sep;
        info->sheets = 1;
    }
    build_map(r);
    ret = run_parse(r);
out:
    if (r->csv_ready)
        csv_free(&r->csv);
    if (r->fd >= 0)
        close(r->fd);
    free(r->raw);
    free(r->text);
    free(r->cells);
    free(r->offs);
    free(r);
    return ret;
}
