/* UTF-8 text helpers used by every matcher: trim, fold, validate, edit
 * distance (see text.h). Nothing here allocates except cp_text_distance on
 * long strings. */
#include "common/text.h"

#include <stdlib.h>
#include <string.h>

/*
 * Base letters of U+00C0..U+017F (Latin-1 Supplement letters and Latin
 * Extended-A), one character per code point. '.' drops the character;
 * digits stand for two letters: 1 = ae, 2 = oe, 3 = ss, 4 = th, 5 = ij.
 */
static const char latin_map[] =
    /* 00C0 */ "aaaaaa1ceeeeiiii"
    /* 00D0 */ "dnooooo.ouuuuy43"
    /* 00E0 */ "aaaaaa1ceeeeiiii"
    /* 00F0 */ "dnooooo.ouuuuy4y"
    /* 0100 */ "aaaaaaccccccccdd"
    /* 0110 */ "ddeeeeeeeeeegggg"
    /* 0120 */ "gggghhhhiiiiiiii"
    /* 0130 */ "ii55jjkkklllllll"
    /* 0140 */ "lllnnnnnnnnnoooo"
    /* 0150 */ "oo22rrrrrrssssss"
    /* 0160 */ "ssttttttuuuuuuuu"
    /* 0170 */ "uuuuwwyyyzzzzzzs";

static const char *const latin_pairs[] = { "ae", "oe", "ss", "th", "ij" };

/*
 * Decodes one UTF-8 sequence at s (n bytes available). Returns its length
 * and sets *cp, or returns 0 when the bytes there are not valid UTF-8
 * (overlong, surrogate, above U+10FFFF, truncated, stray continuation).
 */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned long *cp)
{
    unsigned long c;
    size_t len, i;

    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        c = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        c = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        c = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10FFFF ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static int is_space_cp(unsigned long c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xA0 || c == 0x202F ||
           (c >= 0x2000 && c <= 0x200B) || c == 0x2060 || c == 0x3000 || c == 0xFEFF;
}

void cp_text_trim(const char **s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)*s;
    size_t n = *len, k;
    unsigned long c;

    /* Most texts start and end with a visible ASCII character: nothing to
     * trim (a byte below 0x80 is neither white space nor the end of a
     * longer sequence). */
    if (n > 0 && p[0] < 0x80 && p[n - 1] < 0x80 && p[0] != ' ' && p[n - 1] != ' ' &&
        !(p[0] >= '\t' && p[0] <= '\r') && !(p[n - 1] >= '\t' && p[n - 1] <= '\r'))
        return;
    while (n > 0 && (k = utf8_decode(p, n, &c)) > 0 && is_space_cp(c)) {
        p += k;
        n -= k;
    }
    /* Every white space character is one to three bytes long: try each
     * length that decodes exactly to the end of the text. */
    while (n > 0) {
        size_t take = 0;
        for (k = 1; k <= 3 && k <= n; k++) {
            if (utf8_decode(p + n - k, k, &c) == k && is_space_cp(c)) {
                take = k;
                break;
            }
        }
        if (!take)
            break;
        n -= take;
    }
    *s = (const char *)p;
    *len = n;
}

/* Code points that neither count as a letter nor separate words: combining
 * accents (decomposed text from macOS), soft hyphen, zero-width marks. */
static int is_invisible(unsigned long c)
{
    return (c >= 0x300 && c <= 0x36F) || c == 0xAD || (c >= 0x200B && c <= 0x200D) ||
           c == 0x2060 || c == 0xFEFF;
}

/* The folded form of c: a NUL-terminated string of [a-z0-9], "" to drop it.
 * buf holds two characters for single-letter results. */
static const char *fold_cp(unsigned long c, char buf[2])
{
    char m;

    buf[1] = '\0';
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        buf[0] = (char)c;
        return buf;
    }
    if (c >= 'A' && c <= 'Z') {
        buf[0] = (char)(c - 'A' + 'a');
        return buf;
    }
    if (c < 0xC0 || c > 0x17F)
        return "";
    m = latin_map[c - 0xC0];
    if (m == '.')
        return "";
    if (m >= '1' && m <= '5')
        return latin_pairs[m - '1'];
    buf[0] = m;
    return buf;
}

/* Shared body of cp_text_fold and cp_text_fold_words. */
static size_t fold(const char *s, size_t len, char *out, size_t outsz, int words)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0, k;
    int gap = 0;
    unsigned long c;
    char one[2];

    while (i < len) {
        const char *f;
        size_t flen;

        k = utf8_decode(p + i, len - i, &c);
        if (k == 0) {
            i++; /* an invalid byte is dropped, like punctuation */
            gap = 1;
            continue;
        }
        i += k;
        if (is_invisible(c))
            continue;
        f = fold_cp(c, one);
        flen = strlen(f);
        if (flen == 0) {
            gap = 1;
            continue;
        }
        if (words && gap && o > 0) {
            if (o + 1 >= outsz)
                break;
            out[o++] = ' ';
        }
        gap = 0;
        if (o + flen >= outsz)
            break;
        memcpy(out + o, f, flen);
        o += flen;
    }
    out[o] = '\0';
    return o;
}

size_t cp_text_fold(const char *s, size_t len, char *out, size_t outsz)
{
    return fold(s, len, out, outsz, 0);
}

size_t cp_text_fold_words(const char *s, size_t len, char *out, size_t outsz)
{
    return fold(s, len, out, outsz, 1);
}

int cp_utf8_valid(const char *s, size_t len, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;
    unsigned long c;

    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        k = utf8_decode(p + i, len - i, &c);
        if (k == 0) {
            if (bad)
                *bad = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

unsigned cp_text_distance(const char *a, const char *b, unsigned cap)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    unsigned small[128];
    unsigned *row = small;
    unsigned result;

    /* Keep the shorter string along the row. */
    if (lb > la) {
        const char *t = a;
        size_t tl = la;
        a = b;
        b = t;
        la = lb;
        lb = tl;
    }
    if (la - lb > cap)
        return cap + 1;
    if (lb + 1 > sizeof small / sizeof small[0]) {
        row = malloc((lb + 1) * sizeof *row);
        if (!row)
            return cap + 1;
    }
    for (j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    result = cap + 1;
    for (i = 1; i <= la; i++) {
        unsigned diag = row[0], rowmin;
        row[0] = (unsigned)i;
        rowmin = row[0];
        for (j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
            if (best < rowmin)
                rowmin = best;
        }
        if (rowmin > cap)
            goto out;
    }
    if (row[lb] <= cap)
        result = row[lb];
out:
    if (row != small)
        free(row);
    return result;
}
