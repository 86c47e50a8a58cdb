/* The signatory matcher (see sig.h): every way of naming a signatory is
 * folded into a key with a priority level; the keys are sorted once and
 * looked up by binary search, level by level. Only a failed match scans
 * every key, to name the closest signatories. */
#include "common/sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/num.h"
#include "common/ref.h"
#include "common/text.h"

#define SIG_FOLD_MAX 256
#define SIG_MAX_WORDS 32

/* Key levels, by priority: the first level holding the text decides. */
enum level {
    L_CODE = 1,   /* "31d", "6ae", "m31", and "1d" for 01D */
    L_ALIAS,      /* data/alias.csv */
    L_CODE_NO_D,  /* "31", "1", "971": a D code without its D */
    L_NUMBER,     /* a département number: "75", "2a", "972", "67" */
    L_NAME,       /* the name folded; names of départements and régions */
    L_WORDS,      /* the word set of a name, stop words left out */
    L_LAST = L_WORDS
};

struct key {
    char *text;                  /* folded key, owned */
    int level;
    int nsig;                    /* distinct signatories sharing the key */
    int sig[CP_SIG_NEAR_MAX];    /* the first of them, by index */
};

struct cp_sig_index {
    struct key *keys; /* sorted by level, then text */
    size_t nkeys;
};

/* A key while the index is being built. */
struct raw {
    char *text;
    int level;
    int sig;
};

struct builder {
    struct raw *raw;
    size_t n, cap;
    int failed;
};

static int nomem(struct cp_err *err)
{
    return cp_err_set(err, CP_EX_SOFTWARE, "nomem", NULL,
                      "mémoire insuffisante pour l'index des signataires");
}

static void add(struct builder *b, int level, const char *text, int sig)
{
    char *t;

    if (b->failed || !*text)
        return;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 512;
        struct raw *p = realloc(b->raw, ncap * sizeof *p);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->raw = p;
        b->cap = ncap;
    }
    if (!(t = strdup(text))) {
        b->failed = 1;
        return;
    }
    b->raw[b->n].text = t;
    b->raw[b->n].level = level;
    b->raw[b->n].sig = sig;
    b->n++;
}

/* Adds the folded text and, when its first run of digits starts with a
 * zero, the same without it ("01d" and "1d"; "09" and "9"). */
static void add_with_lost_zero(struct builder *b, int level, const char *folded, int sig)
{
    char alt[SIG_FOLD_MAX];
    size_t i = strcspn(folded, "0123456789");

    add(b, level, folded, sig);
    if (folded[i] == '0' && folded[i + 1] >= '0' && folded[i + 1] <= '9') {
        memcpy(alt, folded, i);
        snprintf(alt + i, sizeof alt - i, "%s", folded + i + 1);
        add(b, level, alt, sig);
    }
}

static void fold(const char *s, size_t len, char *out)
{
    cp_text_fold(s, len, out, SIG_FOLD_MAX);
}

static int cmp_words(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The word-set key: folded words minus French stop words, sorted, without
 * repeats, joined by single spaces. "Métropole de Lyon" → "lyon metropole".
 * "et" is kept: "Tarn-et-Garonne" is not "Tarn" nor "Garonne". */
static void word_key(const char *s, size_t len, char *out)
{
    static const char *const stop[] = { "de", "du", "des", "la", "le", "les", "l", "d",
                                        "en", "au", "aux", NULL };
    char buf[SIG_FOLD_MAX];
    char *words[SIG_MAX_WORDS];
    size_t nw = 0, o = 0, i;
    char *p;

    out[0] = '\0';
    cp_text_fold_words(s, len, buf, sizeof buf);
    for (p = buf; *p;) {
        const char *const *w;
        char *word = p;
        p += strcspn(p, " ");
        if (*p)
            *p++ = '\0';
        for (w = stop; *w && strcmp(*w, word) != 0; w++)
            ;
        if (*w)
            continue;
        if (nw == SIG_MAX_WORDS)
            return; /* not a name */
        words[nw++] = word;
    }
    qsort(words, nw, sizeof *words, cmp_words);
    for (i = 0; i < nw; i++) {
        size_t wl = strlen(words[i]);
        if (i > 0 && strcmp(words[i], words[i - 1]) == 0)
            continue;
        if (o + wl + 2 > SIG_FOLD_MAX) {
            out[0] = '\0';
            return;
        }
        if (o > 0)
            out[o++] = ' ';
        memcpy(out + o, words[i], wl);
        o += wl;
        out[o] = '\0';
    }
}

static void add_name(struct builder *b, int level, const char *name, int sig)
{
    char f[SIG_FOLD_MAX];

    fold(name, strlen(name), f);
    add(b, level, f, sig);
    word_key(name, strlen(name), f);
    add(b, L_WORDS, f, sig);
}

/* 1 when the comma-separated list holds item exactly. */
static int list_has(const char *list, const char *item)
{
    size_t n = strlen(item);

    for (const char *p = list; *p;) {
        size_t m = strcspn(p, ",");
        if (m == n && memcmp(p, item, n) == 0)
            return 1;
        p += m + (p[m] == ',');
    }
    return 0;
}

/*
 * Keys for département d: the type-D signatories covering it. One whose
 * territory is d alone is preferred (67D over 6AE for "67": the successor
 * rule then remaps by period); several such, or several others, make the
 * key ambiguous (Rhône: 69D and 69M).
 */
static void add_departement(struct builder *b, const struct cp_ref *ref,
                            const struct cp_departement *d)
{
    int own = 0, any = 0;
    char f[SIG_FOLD_MAX];

    for (size_t i = 0; i < ref->nsig; i++) {
        const struct cp_signatory *s = &ref->sig[i];
        if (s->type != 'D' || !list_has(s->departements, d->code))
            continue;
        any++;
        own += strcmp(s->departements, d->code) == 0;
    }
    if (any == 0)
        return;
    for (size_t i = 0; i < ref->nsig; i++) {
        const struct cp_signatory *s = &ref->sig[i];
        if (s->type != 'D' || !list_has(s->departements, d->code))
            continue;
        if (own > 0 && strcmp(s->departements, d->code) != 0)
            continue;
        fold(d->code, strlen(d->code), f);
        add_with_lost_zero(b, L_NUMBER, f, (int)i);
        add_name(b, L_NAME, d->name, (int)i);
    }
}

static int cmp_raw(const void *pa, const void *pb)
{
    const struct raw *a = pa, *b = pb;
    int c;

    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    if ((c = strcmp(a->text, b->text)) != 0)
        return c;
    return (a->sig > b->sig) - (a->sig < b->sig);
}

int cp_sig_index_build(struct cp_sig_index **out, const struct cp_ref *ref, struct cp_err *err)
{
    struct builder b = { NULL, 0, 0, 0 };
    struct cp_sig_index *ix = NULL;
    char f[SIG_FOLD_MAX];
    size_t i, j;
    int rc = -1;

    *out = NULL;
    for (i = 0; i < ref->nsig; i++) {
        const struct cp_signatory *s = &ref->sig[i];
        size_t cl = strlen(s->code);

        fold(s->code, cl, f);
        add_with_lost_zero(&b, L_CODE, f, (int)i);
        if (cl > 1 && s->code[cl - 1] == 'D') {
            char rest[32];
            snprintf(rest, sizeof rest, "%.*s", (int)(cl - 1), s->code);
            if (list_has(s->departements, rest)) {
                fold(rest, strlen(rest), f);
                add_with_lost_zero(&b, L_CODE_NO_D, f, (int)i);
            }
        }
        add_name(&b, L_NAME, s->name, (int)i);
    }
    for (i = 0; i < ref->nalias; i++)
        add_name(&b, L_ALIAS, ref->alias[i].text, ref->alias[i].sig);
    for (i = 0; i < ref->ndep; i++)
        add_departement(&b, ref, &ref->dep[i]);
    /* A région's name is its région-level signatory's when there is one. */
    for (i = 0; i < ref->nreg; i++) {
        int found = -1, n = 0;
        for (j = 0; j < ref->nsig; j++)
            if (ref->sig[j].type == 'R' && strcmp(ref->sig[j].region, ref->reg[i].code) == 0) {
                found = (int)j;
                n++;
            }
        /* Exact name only: "Corse" must not clash with 20R's word set. */
        if (n == 1) {
            fold(ref->reg[i].name, strlen(ref->reg[i].name), f);
            add(&b, L_NAME, f, found);
        }
    }
    if (b.failed) {
        nomem(err);
        goto out;
    }

    qsort(b.raw, b.n, sizeof *b.raw, cmp_raw);
    if (!(ix = calloc(1, sizeof *ix)) || (b.n && !(ix->keys = calloc(b.n, sizeof *ix->keys)))) {
        nomem(err);
        goto out;
    }
    /* One key per (level, text); its signatories are sorted, distinct. */
    for (i = 0; i < b.n; i = j) {
        struct key *k = &ix->keys[ix->nkeys++];
        k->level = b.raw[i].level;
        k->text = b.raw[i].text;
        b.raw[i].text = NULL;
        k->sig[0] = b.raw[i].sig;
        k->nsig = 1;
        for (j = i + 1; j < b.n && b.raw[j].level == k->level &&
                        strcmp(b.raw[j].text, k->text) == 0;
             j++) {
            if (b.raw[j].sig != b.raw[j - 1].sig) {
                if (k->nsig < CP_SIG_NEAR_MAX)
                    k->sig[k->nsig] = b.raw[j].sig;
                k->nsig++;
            }
            free(b.raw[j].text);
            b.raw[j].text = NULL;
        }
    }
    *out = ix;
    ix = NULL;
    rc = 0;
out:
    for (i = 0; i < b.n; i++)
        free(b.raw[i].text);
    free(b.raw);
    cp_sig_index_free(ix);
    return rc;
}

void cp_sig_index_free(struct cp_sig_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->nkeys; i++)
        free(ix->keys[i].text);
    free(ix->keys);
    free(ix);
}

static const struct key *lookup(const struct cp_sig_index *ix, int level, const char *text)
{
    size_t lo = 0, hi = ix->nkeys;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct key *k = &ix->keys[mid];
        int c = k->level != level ? (k->level < level ? -1 : 1) : strcmp(k->text, text);
        if (c == 0)
            return k;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int cp_sig_index_code(const struct cp_sig_index *ix, const struct cp_ref *ref, const char *code)
{
    char f[SIG_FOLD_MAX];
    const struct key *k;

    if (!ix)
        return -1;
    fold(code, strlen(code), f);
    k = lookup(ix, L_CODE, f);
    if (!k || k->nsig != 1 || strcmp(ref->sig[k->sig[0]].code, code) != 0)
        return -1;
    return k->sig[0];
}

static void set_unknown(struct cp_sig_match *m)
{
    m->status = CP_SIG_UNKNOWN;
    m->how = CP_SIG_BY_CODE;
    m->sig = -1;
    m->nnear = 0;
}

static enum cp_sig_how how_of(int level)
{
    switch (level) {
    case L_CODE:
        return CP_SIG_BY_CODE;
    case L_CODE_NO_D:
    case L_NUMBER:
        return CP_SIG_BY_NUMBER;
    default:
        return CP_SIG_BY_NAME;
    }
}

static void from_key(const struct key *k, struct cp_sig_match *m)
{
    m->how = how_of(k->level);
    if (k->nsig == 1) {
        m->status = CP_SIG_FOUND;
        m->sig = k->sig[0];
        m->nnear = 0;
        return;
    }
    m->status = CP_SIG_AMBIGUOUS;
    m->sig = -1;
    m->nnear = k->nsig < CP_SIG_NEAR_MAX ? k->nsig : CP_SIG_NEAR_MAX;
    memcpy(m->near, k->sig, (size_t)m->nnear * sizeof *m->near);
}

/*
 * The folded key of s into f. A number cell arrives as text ("1", "09",
 * "11.0"): a whole number is written plainly; any other number ("1.5") is
 * nobody, and -1 is returned.
 */
static int key_text(const char *s, size_t len, char *f)
{
    struct cp_num n;
    size_t flen = cp_text_fold(s, len, f, SIG_FOLD_MAX);

    if (flen == 0 || flen + 1 >= SIG_FOLD_MAX)
        return -1;
    cp_num_parse(s, len, &n);
    if (n.status == CP_NUM_VALUE) {
        if (n.percent || n.value < 0 || n.value > 999 || n.value != (double)(int)n.value)
            return -1;
        snprintf(f, SIG_FOLD_MAX, "%d", (int)n.value);
    }
    return 0;
}

/* Matches a text with no brackets, level by level. */
static void match_plain(const struct cp_sig_index *ix, const char *s, size_t len,
                        struct cp_sig_match *m)
{
    char f[SIG_FOLD_MAX];
    const struct key *k;

    set_unknown(m);
    cp_text_trim(&s, &len);
    if (key_text(s, len, f) < 0)
        return;
    for (int level = L_CODE; level < L_WORDS; level++)
        if ((k = lookup(ix, level, f)) != NULL) {
            from_key(k, m);
            return;
        }
    word_key(s, len, f);
    if (f[0] && (k = lookup(ix, L_WORDS, f)) != NULL)
        from_key(k, m);
}

/* Up to CP_SIG_NEAR_MAX signatories whose keys are closest to s. */
static void find_near(const struct cp_sig_index *ix, const char *s, size_t len,
                      struct cp_sig_match *m)
{
    char f[SIG_FOLD_MAX];
    unsigned best_d[CP_SIG_NEAR_MAX] = { 0 };
    size_t flen;
    unsigned cap;

    m->nnear = 0;
    if (key_text(s, len, f) < 0)
        return;
    flen = strlen(f);
    cap = (unsigned)(flen / 3 > 2 ? flen / 3 : 2);
    for (size_t i = 0; i < ix->nkeys; i++) {
        const struct key *k = &ix->keys[i];
        unsigned d;
        if (k->level == L_WORDS)
            continue;
        d = cp_text_distance(f, k->text, cap);
        if (d > cap)
            continue;
        for (int j = 0; j < k->nsig && j < CP_SIG_NEAR_MAX; j++) {
            int sig = k->sig[j], pos, at = -1;
            for (pos = 0; pos < m->nnear; pos++)
                if (m->near[pos] == sig)
                    at = pos;
            if (at >= 0) {
                if (best_d[at] <= d)
                    continue;
                /* Closer through another key: take it out, insert again. */
                size_t tail = (size_t)(m->nnear - at - 1);
                memmove(m->near + at, m->near + at + 1, tail * sizeof *m->near);
                memmove(best_d + at, best_d + at + 1, tail * sizeof *best_d);
                m->nnear--;
            }
            for (pos = m->nnear; pos > 0; pos--)
                if (best_d[pos - 1] < d || (best_d[pos - 1] == d && m->near[pos - 1] < sig))
                    break;
            if (pos >= CP_SIG_NEAR_MAX)
                continue;
            if (m->nnear == CP_SIG_NEAR_MAX)
                m->nnear--;
            memmove(m->near + pos + 1, m->near + pos, (size_t)(m->nnear - pos) * sizeof *m->near);
            memmove(best_d + pos + 1, best_d + pos, (size_t)(m->nnear - pos) * sizeof *best_d);
            m->near[pos] = sig;
            best_d[pos] = d;
            m->nnear++;
        }
    }
}

/* Removes trailing stars and white space: "Guadeloupe* ". */
static void strip(const char **s, size_t *len)
{
    size_t before;

    do {
        before = *len;
        cp_text_trim(s, len);
        while (*len > 0 && (*s)[*len - 1] == '*')
            (*len)--;
    } while (*len != before);
}

/*
 * A name with a code beside it: "Ariège (09)" (any code in brackets), or
 * "31 - Haute-Garonne" / "Haute-Garonne 31" (a département number as the
 * first or last word). Sets the two parts; returns 1 for brackets, 2 for
 * a bare number, 0 when the text has neither.
 */
static int split(const char *s, size_t len, const char **outer, size_t *olen,
                 const char **inner, size_t *ilen)
{
    size_t i, a, b;

    if (len >= 2 && s[len - 1] == ')') {
        for (i = len - 1; i > 0 && s[i - 1] != '('; i--)
            ;
        if (i > 0) {
            *outer = s;
            *olen = i - 1;
            *inner = s + i;
            *ilen = len - 1 - i;
            return 1;
        }
    }
    /* Leading number: digits (or 2A/2B), then a space or a dash. */
    for (a = 0; a < len && a < 3; a++) {
        int corsica = a == 1 && s[0] == '2' && (s[1] == 'a' || s[1] == 'A' || s[1] == 'b' ||
                                                s[1] == 'B');
        if (!corsica && (s[a] < '0' || s[a] > '9'))
            break;
    }
    if (a > 0 && a < len && (s[a] == ' ' || s[a] == '-')) {
        *inner = s;
        *ilen = a;
        *outer = s + a;
        *olen = len - a;
        return 2;
    }
    /* Trailing number, after a space or a dash. */
    for (b = len; b > 0 && len - b < 3 && s[b - 1] >= '0' && s[b - 1] <= '9'; b--)
        ;
    if (b < len && b > 0 && (s[b - 1] == ' ' || s[b - 1] == '-')) {
        *outer = s;
        *olen = b - 1;
        *inner = s + b;
        *ilen = len - b;
        return 2;
    }
    return 0;
}

void cp_sig_match(const struct cp_ref *ref, const char *text, size_t len,
                  struct cp_sig_match *m)
{
    const struct cp_sig_index *ix = ref->sigix;
    struct cp_sig_match mo, mi;
    const char *outer, *inner;
    size_t olen, ilen;
    int kind;

    set_unknown(m);
    if (!ix)
        return;
    strip(&text, &len);
    match_plain(ix, text, len, m);
    if (m->status != CP_SIG_UNKNOWN)
        return;

    kind = split(text, len, &outer, &olen, &inner, &ilen);
    if (kind) {
        /* "Haute-Garonne - " : the dash and spaces go too. */
        while (olen > 0 && (outer[olen - 1] == '-' || outer[olen - 1] == ' '))
            olen--;
        while (olen > 0 && (outer[0] == '-' || outer[0] == ' ')) {
            outer++;
            olen--;
        }
        strip(&outer, &olen);
        strip(&inner, &ilen);
        match_plain(ix, outer, olen, &mo);
        match_plain(ix, inner, ilen, &mi);
        if (mo.status == CP_SIG_FOUND && mi.status == CP_SIG_FOUND) {
            if (mo.sig == mi.sig) {
                *m = mi;
                m->how = CP_SIG_BY_NUMBER;
                return;
            }
            /* The name and the code disagree: say both. */
            m->status = CP_SIG_AMBIGUOUS;
            m->how = CP_SIG_BY_NAME;
            m->near[0] = mo.sig;
            m->near[1] = mi.sig;
            m->nnear = 2;
            return;
        }
        /* With brackets one matching part is enough; a bare number must
         * come with a name that matches. */
        if (mi.status == CP_SIG_FOUND && kind == 1) {
            *m = mi;
            m->how = CP_SIG_BY_NUMBER;
            return;
        }
        if (mo.status == CP_SIG_FOUND && (kind == 1 || mi.status == CP_SIG_UNKNOWN)) {
            *m = mo;
            return;
        }
        if (mo.status == CP_SIG_AMBIGUOUS) {
            *m = mo;
            return;
        }
        if (mi.status == CP_SIG_AMBIGUOUS && kind == 1) {
            *m = mi;
            return;
        }
        set_unknown(m);
    }
    find_near(ix, text, len, m);
}
