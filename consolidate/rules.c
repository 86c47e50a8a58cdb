/*
 * Reading data/regles.csv (see rules.h): a small CSV reader (';', quotes,
 * CRLF, BOM, Windows-1252 as Excel saves it), the built-in kinds and their
 * parameters, and the translation of a relation into a guarded SQL
 * boolean. Every problem names its line and carries a stable code.
 */
#include "consolidate/rules.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"

#define MAX_FIELDS 16
#define MAX_RULES_BYTES (4u << 20)
#define MAX_FIELD_BYTES 8192

static const char *const kind_names[CP_RULE_KIND_COUNT] = {
    [CP_RULE_RELATION] = "relation",     [CP_RULE_BORNES] = "bornes",
    [CP_RULE_RATIO] = "ratio",           [CP_RULE_ANNUEL] = "annuel",
    [CP_RULE_COMPLETUDE] = "completude", [CP_RULE_DOUBLON] = "doublon",
    [CP_RULE_EVOLUTION] = "evolution",   [CP_RULE_ATYPIQUE] = "atypique",
    [CP_RULE_CIBLE] = "cible",           [CP_RULE_HORS_DELAI] = "hors_delai",
};

static const char *const sev_names[CP_SEV_COUNT] = {"bloquant", "avertissement", "info"};

/* Placeholders every message may use. */
static const char *const common_ph[] = {"signataire", "nom",     "periode", "detail",
                                        "indicateurs", "valeurs", "regle",   "gravite",
                                        "region",     NULL};

/* Placeholders of each kind, besides the common ones and {CODE}. */
static const char *const kind_ph[CP_RULE_KIND_COUNT][12] = {
    [CP_RULE_RELATION] = {"gauche", "droite", "ecart", "tolerance", "expression", NULL},
    [CP_RULE_BORNES] = {"indicateur", "libelle", "valeur", "min", "max", NULL},
    [CP_RULE_RATIO] = {"indicateur", "libelle", "valeur", "calcule", "numerateur",
                       "denominateur", "ecart", "tolerance", NULL},
    [CP_RULE_ANNUEL] = {"indicateur", "libelle", "valeur", "s1", "s2", "somme", "ecart",
                        "tolerance", NULL},
    [CP_RULE_COMPLETUDE] = {"manquants", "nb_manquants", NULL},
    [CP_RULE_DOUBLON] = {"indicateur", "libelle", "fichier", "emplacements", NULL},
    [CP_RULE_EVOLUTION] = {"indicateur", "libelle", "valeur", "precedent",
                           "periode_precedente", "evolution", "seuil", NULL},
    [CP_RULE_ATYPIQUE] = {"indicateur", "libelle", "valeur", "mediane", "score", "seuil",
                          "comparaison", "pairs", NULL},
    [CP_RULE_CIBLE] = {"indicateur", "libelle", "valeur", "cible", "atteinte", NULL},
    [CP_RULE_HORS_DELAI] = {"recu_le", "echeance", "fichier", NULL},
};

/* Parameters each built-in kind accepts (besides indicateurs=). */
static const char *const kind_params[CP_RULE_KIND_COUNT][8] = {
    [CP_RULE_COMPLETUDE] = {"nc", NULL},
    [CP_RULE_EVOLUTION] = {"seuil", "plancher", "plancher_nb", "plancher_pct", "plancher_jours",
                           "plancher_eur", NULL},
    [CP_RULE_ATYPIQUE] = {"seuil", "pairs_min", "natures", NULL},
    [CP_RULE_CIBLE] = {"bas", "haut", NULL},
};

static const char default_message[] = "{nom} ({signataire}), {periode} : {detail}";

const char *cp_severity_name(enum cp_severity s)
{
    return (unsigned)s < CP_SEV_COUNT ? sev_names[s] : "?";
}

const char *cp_rule_kind_name(enum cp_rule_kind k)
{
    return (unsigned)k < CP_RULE_KIND_COUNT ? kind_names[k] : "?";
}

void cp_rules_problem(struct cp_rules *rs, unsigned line, const char *code, const char *fmt, ...)
{
    struct cp_rule_problem *p;
    va_list ap;
    size_t o;

    if (rs->nprob >= CP_RULES_MAX_PROBLEMS) {
        rs->nprob_dropped++;
        return;
    }
    if (rs->nprob % 16 == 0) {
        p = realloc(rs->prob, (rs->nprob + 16) * sizeof *p);
        if (!p) {
            rs->nprob_dropped++;
            return;
        }
        rs->prob = p;
    }
    p = &rs->prob[rs->nprob++];
    p->line = line;
    snprintf(p->code, sizeof p->code, "%s", code);
    if (line)
        snprintf(p->msg, sizeof p->msg, "%.200s, ligne %u : ", rs->name, line);
    else
        snprintf(p->msg, sizeof p->msg, "%.200s : ", rs->name);
    o = strlen(p->msg);
    va_start(ap, fmt);
    vsnprintf(p->msg + o, sizeof p->msg - o, fmt, ap);
    va_end(ap);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void rule_release(struct cp_rule *r)
{
    free(r->expression);
    free(r->message);
    free(r->cond_sql);
    free(r->lhs_sql);
    free(r->rhs_sql);
    free(r->test_sql);
    free_list(r->codes, r->ncodes);
    free_list(r->only, r->nonly);
    memset(r, 0, sizeof *r);
}

void cp_rules_release(struct cp_rules *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        rule_release(&rs->v[i]);
    free(rs->v);
    free(rs->prob);
    memset(rs, 0, sizeof *rs);
}

int cp_rule_applies(const struct cp_rule *r, const char *code)
{
    if (!r->only)
        return 1;
    for (size_t i = 0; i < r->nonly; i++)
        if (strcmp(r->only[i], code) == 0)
            return 1;
    return 0;
}

int cp_rule_format(const char *tpl, const char *(*lookup)(void *ctx, const char *name),
                   void *ctx, struct cp_buf *out)
{
    const char *p = tpl;

    while (*p) {
        const char *close;
        char name[64];
        const char *v;

        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (cp_buf_addc(out, p[0]) < 0)
                return -1;
            p += 2;
            continue;
        }
        if (*p != '{' || !(close = strchr(p, '}')) || (size_t)(close - p - 1) >= sizeof name) {
            if (cp_buf_addc(out, *p++) < 0)
                return -1;
            continue;
        }
        memcpy(name, p + 1, (size_t)(close - p - 1));
        name[close - p - 1] = '\0';
        v = lookup(ctx, name);
        if (v ? cp_buf_adds(out, v) < 0 : cp_buf_add(out, p, (size_t)(close - p + 1)) < 0)
            return -1;
        p = close + 1;
    }
    return 0;
}

/* ---- encoding ------------------------------------------------------------------ */

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], need;
        unsigned long cp;

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
        for (unsigned k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* Windows-1252 bytes 0x80..0x9F; 0 where undefined. */
static const unsigned short cp1252_hi[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
    0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/* Converts Windows-1252 to UTF-8 in b; -1 on an undefined byte (*bad set). */
static int from_cp1252(const unsigned char *s, size_t n, struct cp_buf *b, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        unsigned cp = s[i];
        char u[3];

        if (cp >= 0x80 && cp < 0xA0) {
            cp = cp1252_hi[cp - 0x80];
            if (!cp) {
                *bad = i;
                return -1;
            }
        }
        if (cp < 0x80) {
            if (cp_buf_addc(b, (char)cp) < 0)
                return -1;
        } else if (cp < 0x800) {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3F));
            if (cp_buf_add(b, u, 2) < 0)
                return -1;
        } else {
            u[0] = (char)(0xE0 | (cp >> 12));
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (char)(0x80 | (cp & 0x3F));
            if (cp_buf_add(b, u, 3) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- CSV records -------------------------------------------------------------- */

struct record {
    char *f[MAX_FIELDS];
    size_t nf;
    unsigned line;     /* line where the record starts */
    int too_many;      /* more than MAX_FIELDS fields */
    int too_long;      /* a field longer than MAX_FIELD_BYTES */
    int bad_quote;     /* unterminated quote */
};

static void record_release(struct record *r)
{
    for (size_t i = 0; i < r->nf; i++)
        free(r->f[i]);
    memset(r, 0, sizeof *r);
}

/* Reads one record from *pos; returns 0 at the end of the text, 1 when a
 * record was read, -1 when memory is short. *line counts lines. */
static int next_record(const char *s, size_t n, size_t *pos, unsigned *line, struct record *r)
{
    struct cp_buf field = CP_BUF_INIT(MAX_FIELD_BYTES);
    size_t i = *pos;
    int quoted = 0, at_field_start = 1, done = 0;

    memset(r, 0, sizeof *r);
    if (i >= n)
        return 0;
    r->line = *line;
    while (!done) {
        int end_field = 0;
        char c;

        if (i >= n) {
            if (quoted)
                r->bad_quote = 1;
            end_field = 1;
            done = 1;
        } else {
            c = s[i++];
            if (quoted) {
                if (c == '"' && i < n && s[i] == '"') {
                    i++;
                    if (cp_buf_addc(&field, '"') < 0)
                        r->too_long = 1;
                } else if (c == '"') {
                    quoted = 0;
                } else {
                    if (c == '\n')
                        (*line)++;
                    if (cp_buf_addc(&field, c) < 0)
                        r->too_long = 1;
                }
                continue;
            }
            if (c == '"' && at_field_start) {
                quoted = 1;
                at_field_start = 0;
                continue;
            }
            if (c == ';') {
                end_field = 1;
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && i < n && s[i] == '\n')
                    i++;
                (*line)++;
                end_field = 1;
                done = 1;
            } else {
                at_field_start = 0;
                if (cp_buf_addc(&field, c) < 0)
                    r->too_long = 1;
            }
        }
        if (end_field) {
            if (r->nf < MAX_FIELDS) {
                char *d = cp_buf_detach(&field);

                if (!d) {
                    record_release(r);
                    return -1;
                }
                r->f[r->nf++] = d;
            } else {
                r->too_many = 1;
                cp_buf_release(&field);
            }
            cp_buf_init(&field, MAX_FIELD_BYTES);
            at_field_start = 1;
        }
    }
    cp_buf_release(&field);
    *pos = i;
    return 1;
}

/* Trims ASCII white space and no-break spaces in place. */
static char *trim(char *s)
{
    size_t n;

    for (;;) {
        if (*s == ' ' || *s == '\t')
            s++;
        else if ((unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA0)
            s += 2;
        else
            break;
    }
    n = strlen(s);
    for (;;) {
        if (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        else if (n >= 2 && (unsigned char)s[n - 2] == 0xC2 && (unsigned char)s[n - 1] == 0xA0)
            n -= 2;
        else
            break;
    }
    s[n] = '\0';
    return s;
}

static int blank_record(const struct record *r)
{
    for (size_t i = 0; i < r->nf; i++) {
        const char *p = r->f[i];

        while (*p == ' ' || *p == '\t')
            p++;
        if (*p)
            return 0;
    }
    return 1;
}

/* ---- numbers ---------------------------------------------------------------------- */

/* "0,5", "0.5", "50 %", "1 000": 0 when s is a number; *pct set when it
 * ends with '%'. */
static int parse_number(const char *s, double *v, int *pct)
{
    char tmp[64];
    size_t o = 0;
    char *end;

    *pct = 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == ' ' || c == '\t')
            continue;
        if (c == 0xC2 && (unsigned char)p[1] == 0xA0) {
            p++;
            continue;
        }
        if (c == 0xE2 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0xAF) {
            p += 2;
            continue;
        }
        if (c == '%') {
            if (p[1] != '\0' || *pct)
                return -1;
            *pct = 1;
            continue;
        }
        if (o + 1 >= sizeof tmp)
            return -1;
        tmp[o++] = c == ',' ? '.' : (char)c;
    }
    tmp[o] = '\0';
    if (!o)
        return -1;
    errno = 0;
    *v = strtod(tmp, &end);
    if (*end || errno || !isfinite(*v))
        return -1;
    return 0;
}

/* ---- codes ---------------------------------------------------------------------- */

static const char *find_code(const struct cp_rule_catalog *cat, const char *s, size_t n)
{
    for (size_t i = 0; i < cat->ncodes; i++)
        if (strlen(cat->codes[i]) == n && strncasecmp(cat->codes[i], s, n) == 0)
            return cat->codes[i];
    return NULL;
}

static int add_code(struct cp_rule *r, const char *code)
{
    char **v;

    for (size_t i = 0; i < r->ncodes; i++)
        if (strcmp(r->codes[i], code) == 0)
            return 0;
    v = realloc(r->codes, (r->ncodes + 1) * sizeof *v);
    if (!v)
        return -1;
    r->codes = v;
    if (!(v[r->ncodes] = strdup(code)))
        return -1;
    r->ncodes++;
    return 0;
}

/* ---- relation expressions ----------------------------------------------------- */

enum tok_type { T_SPACE, T_STR, T_NUM, T_ID, T_CODE, T_LP, T_RP, T_CMP, T_OP };

struct tok {
    enum tok_type type;
    const char *s;      /* in the expression */
    size_t n;
    const char *repl;   /* text to emit instead, or NULL */
    int depth;          /* parenthesis depth before the token */
};

struct toks {
    struct tok *v;
    size_t n, cap;
};

static int push_tok(struct toks *t, enum tok_type type, const char *s, size_t n,
                    const char *repl, int depth)
{
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 32;
        struct tok *v = realloc(t->v, ncap * sizeof *v);

        if (!v)
            return -1;
        t->v = v;
        t->cap = ncap;
    }
    t->v[t->n++] = (struct tok){type, s, n, repl, depth};
    return 0;
}

static int id_is(const struct tok *t, const char *word)
{
    return t->type == T_ID && strlen(word) == t->n && strncasecmp(t->s, word, t->n) == 0;
}

/* Splits an expression into tokens; on a forbidden construct fills why
 * and returns 1 (-1: memory). */
static int tokenize(const char *e, const struct cp_rule_catalog *cat, struct toks *t,
                    char *why, size_t whysz)
{
    size_t i = 0, n = strlen(e);
    int depth = 0;

    while (i < n) {
        unsigned char c = (unsigned char)e[i];
        size_t st = i;
        int rc = 0;

        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            while (i < n && strchr(" \t\r\n", e[i]))
                i++;
            rc = push_tok(t, T_SPACE, " ", 1, NULL, depth);
        } else if (c == 0xC2 && (unsigned char)e[i + 1] == 0xA0) {
            i += 2;
            rc = push_tok(t, T_SPACE, " ", 1, NULL, depth);
        } else if (c == 0xE2 && (unsigned char)e[i + 1] == 0x89 &&
                   ((unsigned char)e[i + 2] == 0xA4 || (unsigned char)e[i + 2] == 0xA5 ||
                    (unsigned char)e[i + 2] == 0xA0)) {
            unsigned char k = (unsigned char)e[i + 2];

            i += 3;
            rc = push_tok(t, T_CMP, e + st, 3, k == 0xA4 ? "<=" : k == 0xA5 ? ">=" : "<>",
                          depth);
        } else if (c == 0xE2 && (unsigned char)e[i + 1] == 0x88 && (unsigned char)e[i + 2] == 0x92) {
            i += 3; /* U+2212 MINUS SIGN */
            rc = push_tok(t, T_OP, e + st, 3, "-", depth);
        } else if (c == '\'') {
            i++;
            for (;;) {
                if (i >= n) {
                    snprintf(why, whysz, "texte entre apostrophes non refermé");
                    return 1;
                }
                if (e[i] == '\'' && e[i + 1] == '\'') {
                    i += 2;
                    continue;
                }
                if (e[i++] == '\'')
                    break;
            }
            rc = push_tok(t, T_STR, e + st, i - st, NULL, depth);
        } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)e[i + 1]))) {
            while (i < n && (isdigit((unsigned char)e[i]) || e[i] == '.'))
                i++;
            if (i < n && (e[i] == 'e' || e[i] == 'E') &&
                (isdigit((unsigned char)e[i + 1]) ||
                 ((e[i + 1] == '+' || e[i + 1] == '-') && isdigit((unsigned char)e[i + 2])))) {
                i += 2;
                while (i < n && isdigit((unsigned char)e[i]))
                    i++;
            }
            if (i < n && (isalpha((unsigned char)e[i]) || e[i] == '_')) {
                snprintf(why, whysz, "nombre mal écrit « %.*s »", (int)(i - st + 1), e + st);
                return 1;
            }
            rc = push_tok(t, T_NUM, e + st, i - st, NULL, depth);
        } else if (isalpha(c) || c == '_') {
            const char *code;

            while (i < n && (isalnum((unsigned char)e[i]) || e[i] == '_'))
                i++;
            code = find_code(cat, e + st, i - st);
            if (code)
                rc = push_tok(t, T_CODE, e + st, i - st, code, depth);
            else
                rc = push_tok(t, T_ID, e + st, i - st, NULL, depth);
        } else if (c == '(') {
            i++;
            rc = push_tok(t, T_LP, e + st, 1, NULL, depth++);
        } else if (c == ')') {
            i++;
            if (--depth < 0) {
                snprintf(why, whysz, "parenthèse fermante sans parenthèse ouvrante");
                return 1;
            }
            rc = push_tok(t, T_RP, e + st, 1, NULL, depth);
        } else if (c == '<' || c == '>' || c == '=' || (c == '!' && e[i + 1] == '=')) {
            i++;
            if (i < n && (e[i] == '=' || (c == '<' && e[i] == '>')))
                i++;
            rc = push_tok(t, T_CMP, e + st, i - st, NULL, depth);
        } else if (c == ';') {
            snprintf(why, whysz, "le point-virgule est interdit : une règle est une seule "
                                 "expression");
            return 1;
        } else if ((c == '-' && e[i + 1] == '-') || (c == '/' && e[i + 1] == '*')) {
            snprintf(why, whysz, "les commentaires SQL sont interdits");
            return 1;
        } else if (strchr("+-*/%,|&~", (int)c)) {
            i++;
            if (c == '|' && e[i] == '|')
                i++;
            rc = push_tok(t, T_OP, e + st, i - st, NULL, depth);
        } else {
            if (c < 0x80)
                snprintf(why, whysz, "caractère « %c » non admis (seuls les codes "
                                     "d'indicateurs, nombres, opérateurs, parenthèses et "
                                     "textes entre apostrophes le sont)", c);
            else
                snprintf(why, whysz, "caractère non admis à la position %zu (seuls les "
                                     "codes d'indicateurs, nombres, opérateurs, parenthèses "
                                     "et textes entre apostrophes le sont)", i + 1);
            return 1;
        }
        if (rc < 0)
            return -1;
    }
    if (depth != 0) {
        snprintf(why, whysz, "parenthèse ouvrante non refermée");
        return 1;
    }
    return 0;
}

/* Appends the SQL of tokens [a, b) to out. */
static int emit(const struct toks *t, size_t a, size_t b, struct cp_buf *out)
{
    static const struct { const char *fr, *sql; } words[] = {
        {"ET", "AND"}, {"OU", "OR"}, {"NON", "NOT"},
    };

    for (size_t k = a; k < b; k++) {
        const struct tok *x = &t->v[k];
        const char *w = NULL;
        int rc;

        if (x->type == T_CODE)
            rc = cp_buf_addf(out, "\"%s\"", x->repl);
        else if (x->repl)
            rc = cp_buf_adds(out, x->repl);
        else {
            if (x->type == T_ID)
                for (size_t j = 0; j < sizeof words / sizeof words[0]; j++)
                    if (id_is(x, words[j].fr))
                        w = words[j].sql;
            rc = w ? cp_buf_adds(out, w) : cp_buf_add(out, x->s, x->n);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Trims T_SPACE tokens at both ends of [*a, *b). */
static void strip_spaces(const struct toks *t, size_t *a, size_t *b)
{
    while (*a < *b && t->v[*a].type == T_SPACE)
        (*a)++;
    while (*b > *a && t->v[*b - 1].type == T_SPACE)
        (*b)--;
}

static int boolean_word(const struct tok *x)
{
    static const char *const w[] = {"AND",  "OR",    "NOT",    "IS",     "IN",      "BETWEEN",
                                    "LIKE", "GLOB",  "MATCH",  "REGEXP", "CASE",    "ESCAPE",
                                    "COLLATE", "ET", "OU",     "NON",    "EXISTS",  NULL};

    for (size_t i = 0; w[i]; i++)
        if (id_is(x, w[i]))
            return 1;
    return 0;
}

static char *fmt_double(char *out, size_t n, double v)
{
    snprintf(out, n, "%.17g", v);
    return out;
}

/* Translates r->expression into r->test_sql (and the comparison parts). */
static int translate(struct cp_rules *rs, struct cp_rule *r, const struct cp_rule_catalog *cat)
{
    struct toks t = {0};
    struct cp_buf cond = CP_BUF_INIT(1 << 16), lhs = CP_BUF_INIT(1 << 16),
                  rhs = CP_BUF_INIT(1 << 16), whole = CP_BUF_INIT(1 << 16),
                  test = CP_BUF_INIT(1 << 18);
    char why[300] = "";
    size_t a = 0, b, cs = 0, ce = 0, cmp = 0, ncmp = 0;
    int has_cond = 0, complex = 0, has_str = 0, rc = -1, trc;

    trc = tokenize(r->expression, cat, &t, why, sizeof why);
    if (trc < 0)
        goto out;
    if (trc > 0) {
        cp_rules_problem(rs, r->line, "regle_expression_interdite", "expression « %s » : %s",
                         r->expression, why);
        rc = 1;
        goto out;
    }
    b = t.n;
    strip_spaces(&t, &a, &b);
    if (a == b) {
        cp_rules_problem(rs, r->line, "regle_expression_vide",
                         "la règle %s n'a pas d'expression à vérifier", r->id);
        rc = 1;
        goto out;
    }
    /* SI condition ALORS relation */
    if (id_is(&t.v[a], "SI")) {
        size_t alors = 0, nalors = 0;

        for (size_t k = a + 1; k < b; k++)
            if (t.v[k].depth == 0 && id_is(&t.v[k], "ALORS")) {
                alors = k;
                nalors++;
            }
        if (nalors != 1) {
            cp_rules_problem(rs, r->line, "regle_expression_invalide",
                             "expression « %s » : SI doit être suivi d'une condition, puis "
                             "d'un seul ALORS et de la relation à vérifier",
                             r->expression);
            rc = 1;
            goto out;
        }
        cs = a + 1;
        ce = alors;
        strip_spaces(&t, &cs, &ce);
        a = alors + 1;
        strip_spaces(&t, &a, &b);
        if (cs == ce || a == b) {
            cp_rules_problem(rs, r->line, "regle_expression_invalide",
                             "expression « %s » : condition ou relation vide autour de ALORS",
                             r->expression);
            rc = 1;
            goto out;
        }
        has_cond = 1;
    }
    for (size_t k = 0; k < t.n; k++)
        if (t.v[k].type == T_CODE && add_code(r, t.v[k].repl) < 0)
            goto out;
    if (r->ncodes == 0) {
        cp_rules_problem(rs, r->line, "regle_sans_indicateur",
                         "expression « %s » : aucun code d'indicateur du catalogue n'y figure",
                         r->expression);
        rc = 1;
        goto out;
    }
    for (size_t k = a; k < b; k++) {
        const struct tok *x = &t.v[k];

        if (x->type == T_STR)
            has_str = 1;
        if (x->depth != 0)
            continue;
        if (x->type == T_CMP) {
            ncmp++;
            cmp = k;
        } else if (boolean_word(x)) {
            complex = 1;
        }
    }
    if (has_cond && emit(&t, cs, ce, &cond) < 0)
        goto out;
    if (emit(&t, a, b, &whole) < 0)
        goto out;
    if (ncmp == 1 && !complex && !has_str) {
        size_t la = a, lb = cmp, ra = cmp + 1, rb = b;
        const char *op = t.v[cmp].repl ? t.v[cmp].repl : NULL;
        char opbuf[3] = {0};
        char tabs[40], trel[40];

        strip_spaces(&t, &la, &lb);
        strip_spaces(&t, &ra, &rb);
        if (la == lb || ra == rb) {
            cp_rules_problem(rs, r->line, "regle_expression_invalide",
                             "expression « %s » : il manque un membre à la comparaison",
                             r->expression);
            rc = 1;
            goto out;
        }
        if (!op) {
            snprintf(opbuf, sizeof opbuf, "%.*s", (int)t.v[cmp].n, t.v[cmp].s);
            op = opbuf;
        }
        if (strcmp(op, "==") == 0)
            op = "=";
        if (strcmp(op, "!=") == 0)
            op = "<>";
        snprintf(r->op, sizeof r->op, "%s", op);
        if (emit(&t, la, lb, &lhs) < 0 || emit(&t, ra, rb, &rhs) < 0)
            goto out;
        fmt_double(tabs, sizeof tabs, r->has_tol ? r->tol_abs : 0.0);
        fmt_double(trel, sizeof trel, r->has_tol ? r->tol_rel : 0.0);
        /* gap d = L - R; allowed slack tl = abs + rel*|R| (+ rounding noise
         * for the non-strict comparisons). */
        {
            const char *L = cp_buf_str(&lhs), *R = cp_buf_str(&rhs);
            int strict = strcmp(op, "<") == 0 || strcmp(op, ">") == 0;
            struct cp_buf tl = CP_BUF_INIT(1 << 17);
            int e;

            e = cp_buf_addf(&tl, "(%s + %s * abs(%s)%s%s%s%s%s)", tabs, trel, R,
                            strict ? "" : " + 1e-9 * (abs(", strict ? "" : L,
                            strict ? "" : ") + abs(", strict ? "" : R, strict ? "" : "))");
            if (e == 0) {
                const char *T = cp_buf_str(&tl);

                if (strcmp(op, "<=") == 0 || strcmp(op, "<") == 0)
                    e = cp_buf_addf(&test, "((%s) - (%s) %s %s)", L, R, op, T);
                else if (strcmp(op, ">=") == 0 || strcmp(op, ">") == 0)
                    e = cp_buf_addf(&test, "((%s) - (%s) %s -%s)", L, R, op, T);
                else if (strcmp(op, "=") == 0)
                    e = cp_buf_addf(&test, "(abs((%s) - (%s)) <= %s)", L, R, T);
                else
                    e = cp_buf_addf(&test, "(abs((%s) - (%s)) > %s)", L, R, T);
            }
            cp_buf_release(&tl);
            if (e < 0)
                goto out;
        }
        if (!(r->lhs_sql = strdup(cp_buf_str(&lhs))) || !(r->rhs_sql = strdup(cp_buf_str(&rhs))))
            goto out;
    } else {
        if (r->has_tol) {
            cp_rules_problem(rs, r->line, "regle_tolerance_invalide",
                             "une tolérance ne s'applique qu'à une comparaison simple "
                             "(« A <= B », « A = B + C ») ; l'expression « %s » n'en est pas une",
                             r->expression);
            rc = 1;
            goto out;
        }
        if (cp_buf_addf(&test, "(%s)", cp_buf_str(&whole)) < 0)
            goto out;
    }
    if (has_cond) {
        struct cp_buf full = CP_BUF_INIT(1 << 18);

        if (cp_buf_addf(&full, "CASE WHEN (%s) THEN %s ELSE 1 END", cp_buf_str(&cond),
                        cp_buf_str(&test)) < 0 ||
            !(r->cond_sql = strdup(cp_buf_str(&cond)))) {
            cp_buf_release(&full);
            goto out;
        }
        r->test_sql = cp_buf_detach(&full);
    } else {
        r->test_sql = cp_buf_detach(&test);
    }
    rc = r->test_sql ? 0 : -1;
out:
    free(t.v);
    cp_buf_release(&cond);
    cp_buf_release(&lhs);
    cp_buf_release(&rhs);
    cp_buf_release(&whole);
    cp_buf_release(&test);
    return rc;
}

/* ---- built-in parameters ------------------------------------------------------- */

static void set_defaults(struct cp_rule *r)
{
    switch (r->kind) {
    case CP_RULE_RATIO:
        if (!r->has_tol) {
            r->has_tol = 1;
            r->tol_abs = 0.5;
        }
        break;
    case CP_RULE_ANNUEL:
        if (!r->has_tol) {
            r->has_tol = 1;
            r->tol_rel = 0.005;
        }
        break;
    case CP_RULE_EVOLUTION:
        r->seuil = 0.5;
        for (int i = 0; i < 4; i++)
            r->plancher[i] = 10;
        break;
    case CP_RULE_ATYPIQUE:
        r->seuil = 3.5;
        r->pairs_min = 5;
        r->natures = CP_NATMASK_RATIO;
        break;
    case CP_RULE_CIBLE:
        r->bas = 0.8;
        r->haut = 1.2;
        break;
    default:
        break;
    }
}

static int split_list(const char *s, char ***out, size_t *n)
{
    const char *p = s;

    *out = NULL;
    *n = 0;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        char **v = realloc(*out, (*n + 1) * sizeof *v);

        if (!v)
            return -1;
        *out = v;
        if (!(v[*n] = strndup(p, len)))
            return -1;
        (*n)++;
        p += len + (q ? 1 : 0);
    }
    return 0;
}

/* Parses "seuil=50% plancher=10 indicateurs=A,B"; 1 on a problem. */
static int parse_params(struct cp_rules *rs, struct cp_rule *r, const struct cp_rule_catalog *cat)
{
    char *copy = strdup(r->expression), *save = NULL, *tok;
    int rc = 0;

    if (!copy)
        return -1;
    for (tok = strtok_r(copy, " \t", &save); tok && rc == 0; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        const char *key, *val;
        int known = 0, pct;
        double v;

        if (!eq || eq == tok || !eq[1]) {
            cp_rules_problem(rs, r->line, "regle_parametre_invalide",
                             "paramètre « %s » : attendu nom=valeur (par exemple seuil=50%%)", tok);
            rc = 1;
            break;
        }
        *eq = '\0';
        key = tok;
        val = eq + 1;
        for (char *k = tok; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        if (strcmp(key, "indicateurs") == 0) {
            if (split_list(val, &r->only, &r->nonly) < 0) {
                rc = -1;
                break;
            }
            for (size_t i = 0; i < r->nonly; i++) {
                const char *c = find_code(cat, r->only[i], strlen(r->only[i]));

                if (!c) {
                    cp_rules_problem(rs, r->line, "regle_parametre_invalide",
                                     "indicateurs= : « %s » n'est pas un code du catalogue",
                                     r->only[i]);
                    rc = 1;
                    break;
                }
                strcpy(r->only[i], c);
            }
            continue;
        }
        for (size_t i = 0; kind_params[r->kind][i]; i++)
            known |= strcmp(kind_params[r->kind][i], key) == 0;
        if (!known) {
            cp_rules_problem(rs, r->line, "regle_parametre_inconnu",
                             "paramètre « %s » inconnu pour le contrôle %s", key,
                             kind_names[r->kind]);
            rc = 1;
            break;
        }
        if (strcmp(key, "nc") == 0) {
            if (strcasecmp(val, "present") == 0 || strcasecmp(val, "présent") == 0)
                r->nc_present = 1;
            else if (strcasecmp(val, "manquant") == 0)
                r->nc_present = 0;
            else {
                cp_rules_problem(rs, r->line, "regle_parametre_invalide",
                                 "nc=%s : attendu nc=manquant ou nc=present", val);
                rc = 1;
            }
            continue;
        }
        if (strcmp(key, "natures") == 0) {
            char **list = NULL;
            size_t nl = 0;

            r->natures = 0;
            if (split_list(val, &list, &nl) < 0) {
                free_list(list, nl);
                rc = -1;
                break;
            }
            for (size_t i = 0; i < nl && rc == 0; i++) {
                if (strcmp(list[i], "ratio") == 0)
                    r->natures |= CP_NATMASK_RATIO;
                else if (strcmp(list[i], "moyenne") == 0)
                    r->natures |= CP_NATMASK_MOYENNE;
                else if (strcmp(list[i], "flux") == 0)
                    r->natures |= CP_NATMASK_FLUX;
                else if (strcmp(list[i], "stock") == 0)
                    r->natures |= CP_NATMASK_STOCK;
                else {
                    cp_rules_problem(rs, r->line, "regle_parametre_invalide",
                                     "natures= : « %s » n'est pas une nature du catalogue "
                                     "(flux, stock, ratio, moyenne)", list[i]);
                    rc = 1;
                }
            }
            free_list(list, nl);
            continue;
        }
        if (parse_number(val, &v, &pct) < 0 || v < 0) {
            cp_rules_problem(rs, r->line, "regle_parametre_invalide",
                             "%s=%s : attendu un nombre positif", key, val);
            rc = 1;
            break;
        }
        if (strcmp(key, "pairs_min") == 0) {
            if (pct || v < 3 || v != floor(v) || v > 10000) {
                cp_rules_problem(rs, r->line, "regle_parametre_invalide",
                                 "pairs_min=%s : attendu un nombre entier d'au moins 3", val);
                rc = 1;
            }
            r->pairs_min = (int)v;
        } else if (strcmp(key, "seuil") == 0 && r->kind == CP_RULE_ATYPIQUE) {
            if (pct) {
                cp_rules_problem(rs, r->line, "regle_parametre_invalide",
                                 "seuil=%s : le seuil d'ATYPIQUE est un score (par exemple 3,5), "
                                 "pas un pourcentage", val);
                rc = 1;
            }
            r->seuil = v;
        } else if (strcmp(key, "seuil") == 0) {
            r->seuil = v / 100.0; /* always in percent */
        } else if (strcmp(key, "bas") == 0) {
            r->bas = v / 100.0;
        } else if (strcmp(key, "haut") == 0) {
            r->haut = v / 100.0;
        } else if (strcmp(key, "plancher") == 0) {
            for (int i = 0; i < 4; i++)
                r->plancher[i] = v;
        } else if (strcmp(key, "plancher_nb") == 0) {
            r->plancher[0] = v;
        } else if (strcmp(key, "plancher_pct") == 0) {
            r->plancher[1] = v;
        } else if (strcmp(key, "plancher_jours") == 0) {
            r->plancher[2] = v;
        } else if (strcmp(key, "plancher_eur") == 0) {
            r->plancher[3] = v;
        }
    }
    free(copy);
    return rc;
}

/* ---- message templates ---------------------------------------------------------- */

/* 1 with a problem recorded when the template uses an unknown name. */
static int check_template(struct cp_rules *rs, const struct cp_rule *r,
                          const struct cp_rule_catalog *cat)
{
    const char *p = r->message;

    while (*p) {
        const char *close;
        size_t n;
        int ok = 0;

        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p += 2;
            continue;
        }
        if (*p == '}') {
            cp_rules_problem(rs, r->line, "regle_message_invalide",
                             "message : « } » sans « { » (écrivez }} pour une accolade)");
            return 1;
        }
        if (*p != '{') {
            p++;
            continue;
        }
        close = strchr(p, '}');
        if (!close) {
            cp_rules_problem(rs, r->line, "regle_message_invalide",
                             "message : « { » sans « } » (écrivez {{ pour une accolade)");
            return 1;
        }
        n = (size_t)(close - p - 1);
        for (size_t i = 0; common_ph[i] && !ok; i++)
            ok = strlen(common_ph[i]) == n && strncmp(common_ph[i], p + 1, n) == 0;
        for (size_t i = 0; kind_ph[r->kind][i] && !ok; i++)
            ok = strlen(kind_ph[r->kind][i]) == n && strncmp(kind_ph[r->kind][i], p + 1, n) == 0;
        for (size_t i = 0; i < cat->ncodes && !ok; i++)
            ok = strlen(cat->codes[i]) == n && strncmp(cat->codes[i], p + 1, n) == 0;
        if (!ok) {
            struct cp_buf names = CP_BUF_INIT(4096);

            for (size_t i = 0; common_ph[i]; i++)
                cp_buf_addf(&names, "{%s} ", common_ph[i]);
            for (size_t i = 0; kind_ph[r->kind][i]; i++)
                cp_buf_addf(&names, "{%s} ", kind_ph[r->kind][i]);
            cp_rules_problem(rs, r->line, "regle_message_invalide",
                             "message : {%.*s} inconnu ; possibles : %sou un code "
                             "d'indicateur comme {%s}",
                             (int)n, p + 1, cp_buf_str(&names),
                             cat->ncodes ? cat->codes[0] : "CODE");
            cp_buf_release(&names);
            return 1;
        }
        p = close + 1;
    }
    return 0;
}

/* ---- lines ---------------------------------------------------------------------- */

enum { COL_ID, COL_GRAVITE, COL_CONTROLE, COL_EXPRESSION, COL_TOLERANCE, COL_MESSAGE,
       COL_ACTIF, COL_COUNT };

static const char *const col_names[COL_COUNT] = {
    "id", "gravite", "controle", "expression", "tolerance", "message", "actif",
};

static void fold_header(char *s)
{
    /* "Gravité" → "gravite", "Contrôle" → "controle", "Tolérance" → "tolerance". */
    char *o = s;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (p[0] == 0xC3 && p[1]) {
            unsigned char c = p[1];

            p++;
            if (c == 0xA9 || c == 0xA8 || c == 0xAA || c == 0x89 || c == 0x88)
                *o++ = 'e';
            else if (c == 0xB4 || c == 0x94)
                *o++ = 'o';
            else if (c == 0xA0 || c == 0xA2)
                *o++ = 'a';
            else if (c == 0xAE || c == 0xAF)
                *o++ = 'i';
            else if (c == 0xBB || c == 0xB9)
                *o++ = 'u';
            continue;
        }
        *o++ = (char)tolower(*p);
    }
    *o = '\0';
}

static int push_rule(struct cp_rules *rs, struct cp_rule *r)
{
    if (rs->n % 16 == 0) {
        struct cp_rule *v = realloc(rs->v, (rs->n + 16) * sizeof *v);

        if (!v)
            return -1;
        rs->v = v;
    }
    rs->v[rs->n++] = *r;
    return 0;
}

/* One data line; 0 kept, 1 skipped with a problem, -1 memory. */
static int parse_line(struct cp_rules *rs, struct record *rec, const int *col,
                      const struct cp_rule_catalog *cat)
{
    struct cp_rule r;
    const char *f[COL_COUNT];
    int rc;

    memset(&r, 0, sizeof r);
    r.line = rec->line;
    if (rec->too_many || rec->too_long || rec->bad_quote) {
        cp_rules_problem(rs, rec->line, "regle_colonnes", "%s",
                         rec->bad_quote  ? "guillemet non refermé"
                         : rec->too_many ? "trop de colonnes (un « ; » dans un texte doit "
                                           "être entre guillemets)"
                                         : "champ trop long");
        return 1;
    }
    for (int c = 0; c < COL_COUNT; c++)
        f[c] = col[c] >= 0 && (size_t)col[c] < rec->nf ? trim(rec->f[col[c]]) : "";
    if ((size_t)col[COL_EXPRESSION] >= rec->nf) {
        cp_rules_problem(rs, rec->line, "regle_colonnes",
                         "%zu colonne(s) seulement : il faut au moins id;gravite;controle;"
                         "expression", rec->nf);
        return 1;
    }
    if (*f[COL_ACTIF]) {
        if (strcasecmp(f[COL_ACTIF], "non") == 0 || strcmp(f[COL_ACTIF], "0") == 0)
            return 0;
        if (strcasecmp(f[COL_ACTIF], "oui") != 0 && strcmp(f[COL_ACTIF], "1") != 0) {
            cp_rules_problem(rs, rec->line, "regle_actif_invalide",
                             "actif « %s » : attendu oui ou non", f[COL_ACTIF]);
            return 1;
        }
    }
    {
        size_t n = strlen(f[COL_ID]);
        int ok = n > 0 && n < sizeof r.id;

        for (size_t i = 0; i < n && ok; i++)
            ok = isupper((unsigned char)f[COL_ID][i]) || isdigit((unsigned char)f[COL_ID][i]) ||
                 f[COL_ID][i] == '_';
        if (!ok) {
            cp_rules_problem(rs, rec->line, "regle_id_invalide",
                             "identifiant « %s » : attendu des majuscules, chiffres ou « _ » "
                             "(par exemple PARTIE_TOUT)", f[COL_ID]);
            return 1;
        }
        memcpy(r.id, f[COL_ID], n + 1);
    }
    {
        int s;

        for (s = 0; s < CP_SEV_COUNT && strcasecmp(f[COL_GRAVITE], sev_names[s]) != 0; s++)
            ;
        if (s == CP_SEV_COUNT) {
            cp_rules_problem(rs, rec->line, "regle_gravite_inconnue",
                             "gravité « %s » inconnue : attendu bloquant, avertissement ou info",
                             f[COL_GRAVITE]);
            return 1;
        }
        r.severity = (enum cp_severity)s;
    }
    {
        int k;
        char kind[32];

        snprintf(kind, sizeof kind, "%s", f[COL_CONTROLE]);
        fold_header(kind);
        for (k = 0; k < CP_RULE_KIND_COUNT && strcmp(kind, kind_names[k]) != 0; k++)
            ;
        if (k == CP_RULE_KIND_COUNT && strcmp(kind, "hors-delai") == 0)
            k = CP_RULE_HORS_DELAI;
        if (k == CP_RULE_KIND_COUNT) {
            cp_rules_problem(rs, rec->line, "regle_controle_inconnu",
                             "contrôle « %s » inconnu : attendu relation, bornes, ratio, annuel, "
                             "completude, doublon, evolution, atypique, cible ou hors_delai",
                             f[COL_CONTROLE]);
            return 1;
        }
        r.kind = (enum cp_rule_kind)k;
    }
    if (*f[COL_TOLERANCE]) {
        double v;
        int pct;

        if (parse_number(f[COL_TOLERANCE], &v, &pct) < 0 || v < 0) {
            cp_rules_problem(rs, rec->line, "regle_tolerance_invalide",
                             "tolérance « %s » : attendu un nombre positif (1 ; 0,5) ou un "
                             "pourcentage (0,5 %%)", f[COL_TOLERANCE]);
            return 1;
        }
        if (r.kind != CP_RULE_RELATION && r.kind != CP_RULE_RATIO && r.kind != CP_RULE_ANNUEL) {
            cp_rules_problem(rs, rec->line, "regle_tolerance_invalide",
                             "le contrôle %s n'a pas de tolérance (seuls relation, ratio et "
                             "annuel en ont) ; utilisez ses paramètres", kind_names[r.kind]);
            return 1;
        }
        r.has_tol = 1;
        if (pct)
            r.tol_rel = v / 100.0;
        else
            r.tol_abs = v;
    }
    set_defaults(&r);
    if (!(r.expression = strdup(f[COL_EXPRESSION])) ||
        !(r.message = strdup(*f[COL_MESSAGE] ? f[COL_MESSAGE] : default_message)))
        goto nomem;
    if (r.kind == CP_RULE_RELATION)
        rc = translate(rs, &r, cat);
    else
        rc = parse_params(rs, &r, cat);
    if (rc == 0)
        rc = check_template(rs, &r, cat);
    if (rc < 0)
        goto nomem;
    if (rc > 0) {
        rule_release(&r);
        return 1;
    }
    if (push_rule(rs, &r) < 0)
        goto nomem;
    return 0;
nomem:
    rule_release(&r);
    return -1;
}

int cp_rules_parse(struct cp_rules *rs, const char *name, const char *text, size_t len,
                   const struct cp_rule_catalog *cat, struct cp_err *err)
{
    struct cp_buf conv = CP_BUF_INIT(MAX_RULES_BYTES * 2);
    struct record rec;
    int col[COL_COUNT];
    size_t pos = 0;
    unsigned line = 1;
    int rc = -1, got;

    memset(rs, 0, sizeof *rs);
    snprintf(rs->name, sizeof rs->name, "%s", name);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (!utf8_valid((const unsigned char *)text, len)) {
        size_t bad = 0;

        if (from_cp1252((const unsigned char *)text, len, &conv, &bad) < 0) {
            cp_err_set(err, CP_EX_CONFIG, "regles_encodage", name,
                       "%s : octet 0x%02X invalide (octet %zu) ; enregistrez le fichier en "
                       "UTF-8", name, (unsigned)(unsigned char)text[bad], bad);
            goto out;
        }
        text = cp_buf_str(&conv);
        len = conv.len;
    }
    /* Header: the first record that is not blank nor a comment. */
    for (;;) {
        got = next_record(text, len, &pos, &line, &rec);
        if (got < 0)
            goto nomem;
        if (got == 0) {
            cp_err_set(err, CP_EX_CONFIG, "regles_entete", name,
                       "%s : fichier vide ; la première ligne doit être l'en-tête "
                       "id;gravite;controle;expression;tolerance;message", name);
            goto out;
        }
        if (!blank_record(&rec) && !(rec.nf && trim(rec.f[0])[0] == '#'))
            break;
        record_release(&rec);
    }
    for (int c = 0; c < COL_COUNT; c++)
        col[c] = -1;
    for (size_t i = 0; i < rec.nf; i++) {
        char *h = trim(rec.f[i]);

        fold_header(h);
        for (int c = 0; c < COL_COUNT; c++)
            if (strcmp(h, col_names[c]) == 0 && col[c] < 0)
                col[c] = (int)i;
    }
    record_release(&rec);
    for (int c = 0; c <= COL_EXPRESSION; c++) {
        if (col[c] < 0) {
            cp_err_set(err, CP_EX_CONFIG, "regles_entete", name,
                       "%s, ligne 1 : colonne « %s » absente de l'en-tête ; attendu "
                       "id;gravite;controle;expression;tolerance;message", name, col_names[c]);
            goto out;
        }
    }
    for (;;) {
        got = next_record(text, len, &pos, &line, &rec);
        if (got < 0)
            goto nomem;
        if (got == 0)
            break;
        if (blank_record(&rec) || (rec.nf && trim(rec.f[0])[0] == '#')) {
            record_release(&rec);
            continue;
        }
        got = parse_line(rs, &rec, col, cat);
        record_release(&rec);
        if (got < 0)
            goto nomem;
    }
    rc = 0;
    goto out;
nomem:
    cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
out:
    cp_buf_release(&conv);
    if (rc < 0) {
        cp_rules_release(rs);
        snprintf(rs->name, sizeof rs->name, "%s", name);
    }
    return rc;
}

int cp_rules_load(struct cp_rules *rs, const char *path, const struct cp_rule_catalog *cat,
                  struct cp_err *err)
{
    FILE *f;
    struct cp_buf b = CP_BUF_INIT(MAX_RULES_BYTES);
    char chunk[8192];
    size_t n;
    const char *base = strrchr(path, '/');
    int rc = -1;

    memset(rs, 0, sizeof *rs);
    f = fopen(path, "rb");
    if (!f)
        return cp_err_set(err, CP_EX_CONFIG, "regles_absentes", path,
                          "fichier de règles « %s » illisible : %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (cp_buf_add(&b, chunk, n) < 0) {
            cp_err_set(err, CP_EX_CONFIG, "regles_trop_gros", path,
                       "fichier de règles « %s » trop gros (plus de %u octets)", path,
                       MAX_RULES_BYTES);
            goto out;
        }
    }
    if (ferror(f)) {
        cp_err_set(err, CP_EX_IOERR, "io", path, "lecture de « %s » : %s", path,
                   strerror(errno));
        goto out;
    }
    rc = cp_rules_parse(rs, base ? base + 1 : path, cp_buf_str(&b), b.len, cat, err);
out:
    fclose(f);
    cp_buf_release(&b);
    return rc;
}
