/*
 * Unit tests for ingest/csv.c: encodings, separators, quotes, line numbers,
 * caps and sink control, on the fixtures of tests/data/csv/ (made by its
 * gen.py), on the real samples of data/sample/ and on files made here.
 * Every read runs with and without the fast path, with normal and with
 * tiny read blocks, and all must give the same rows and the same result.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/limits.h"
#include "ingest/csv.h"

/* What a read gave: rows as "L<line>|<col>=<text>|...\n" lines. */
struct got {
    struct cp_buf dump;
    int rc;
    struct cp_read_info info;
    struct cp_err err;
    unsigned begins, ends;
    unsigned long rows;
    unsigned long stop_after; /* the row callback returns stop_ret there */
    int stop_ret;
    int begin_ret;
};

static int g_begin(void *ctx, const char *name, unsigned index)
{
    struct got *g = ctx;

    cr_assert_null(name);
    cr_assert_eq(index, 0);
    cr_assert_eq(g->begins, 0);
    g->begins++;
    return g->begin_ret;
}

static int g_end(void *ctx)
{
    struct got *g = ctx;

    cr_assert_eq(g->begins, 1);
    g->ends++;
    return 0;
}

static int g_row(void *ctx, const struct cp_row *row)
{
    struct got *g = ctx;

    cr_assert_null(row->sheet);
    cr_assert_gt(row->ncells, 0);
    cp_buf_addf(&g->dump, "L%lu", row->line);
    for (size_t i = 0; i < row->ncells; i++) {
        const struct cp_cell *c = &row->cells[i];
        cr_assert_eq(c->kind, CP_CELL_TEXT);
        cr_assert_eq(strlen(c->text), c->len);
        cr_assert_gt(c->len, 0);
        if (i > 0)
            cr_assert_gt(c->col, row->cells[i - 1].col);
        cp_buf_addf(&g->dump, "|%u=%s", c->col, c->text);
    }
    cp_buf_addc(&g->dump, '\n');
    g->rows++;
    if (g->stop_after && g->rows == g->stop_after)
        return g->stop_ret;
    return CP_READ_CONTINUE;
}

static void read_one(const char *path, const struct cp_limits *lim, struct got *g,
                     unsigned flags)
{
    struct cp_reader_sink sink = { g, g_begin, g_row, g_end };

    cp_buf_init(&g->dump, 64u << 20);
    cp_err_clear(&g->err);
    g->begins = g->ends = 0;
    g->rows = 0;
    g->rc = cp_csv_read_flags(path, lim, &sink, &g->info, &g->err, flags);
}

static void got_release(struct got *g)
{
    cp_buf_release(&g->dump);
}

/* Reads path in every way (fast path or libcsv only, normal or small
 * blocks); checks they agree; leaves the normal fast read in *g. */
static void read_path(const char *path, const struct cp_limits *lim, struct got *g)
{
    static const unsigned modes[] = { CP_CSV_LIBCSV_ONLY, CP_CSV_SMALL_BLOCKS,
                                      CP_CSV_SMALL_BLOCKS | CP_CSV_LIBCSV_ONLY };

    read_one(path, lim, g, 0);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct got o = *g;

        read_one(path, lim, &o, modes[i]);
        cr_assert_eq(g->rc, o.rc, "%s: rc %d / %d (mode %u)", path, g->rc, o.rc, modes[i]);
        cr_assert_str_eq(cp_buf_str(&g->dump), cp_buf_str(&o.dump), "%s: rows differ (mode %u)",
                         path, modes[i]);
        cr_assert_str_eq(g->err.code, o.err.code, "%s (mode %u)", path, modes[i]);
        cr_assert_str_eq(g->err.where, o.err.where, "%s (mode %u)", path, modes[i]);
        cr_assert_str_eq(g->err.msg, o.err.msg);
        cr_assert_str_eq(g->info.encoding, o.info.encoding);
        cr_assert_eq(g->info.separator, o.info.separator);
        cr_assert_eq(g->ends, o.ends);
        got_release(&o);
    }
}

static char *src_path(const char *rel)
{
    const char *root = getenv("CALPAE_SRCDIR");
    size_t n = strlen(root ? root : ".") + strlen(rel) + 2;
    char *p = malloc(n);

    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", root ? root : ".", rel);
    return p;
}

/* Reads a file of the source tree, with the default caps. */
static void read_rel(const char *rel, struct got *g)
{
    char *p = src_path(rel);

    read_path(p, NULL, g);
    free(p);
}

static void read_fixture(const char *name, struct got *g)
{
    char rel[256];

    snprintf(rel, sizeof rel, "tests/data/csv/%s", name);
    read_rel(rel, g);
}

/* Writes n bytes to a new temporary file; the caller unlinks and frees. */
static char *temp_file(const void *data, size_t n)
{
    char *path = strdup("/tmp/calpae-csv-XXXXXX");
    int fd;

    cr_assert_not_null(path);
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    cr_assert_eq(close(fd), 0);
    return path;
}

static void read_bytes(const void *data, size_t n, const struct cp_limits *lim, struct got *g)
{
    char *path = temp_file(data, n);

    read_path(path, lim, g);
    unlink(path);
    free(path);
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void expect_rows(const char *name, const char *enc, char sep, const char *rows)
{
    struct got g = { 0 };

    read_fixture(name, &g);
    cr_assert_eq(g.rc, 0, "%s: %s %s %s", name, g.err.code, g.err.where, g.err.msg);
    cr_assert_str_eq(g.info.encoding, enc, "%s", name);
    cr_assert_eq(g.info.separator, sep, "%s", name);
    cr_assert_str_eq(cp_buf_str(&g.dump), rows, "%s", name);
    cr_assert_eq(g.begins, 1);
    cr_assert_eq(g.ends, 1);
    got_release(&g);
}

static void expect_error(const char *name, const char *code, const char *where)
{
    struct got g = { 0 };

    read_fixture(name, &g);
    cr_assert_eq(g.rc, -1, "%s", name);
    cr_assert_str_eq(g.err.code, code, "%s: %s", name, g.err.msg);
    cr_assert_str_eq(g.err.where, where, "%s: %s", name, g.err.msg);
    cr_assert_eq(g.err.exit_status, CP_EX_DATAERR);
    cr_assert_gt(strlen(g.err.msg), 40);
    cr_assert_eq(g.ends, 0);
    got_release(&g);
}

/* ---- encodings ---------------------------------------------------------- */

Test(csv, utf8_without_bom)
{
    expect_rows("utf8.csv", "UTF-8", ';',
                "L1|0=signataire|1=période|2=valeur\n"
                "L2|0=31D|1=2021-S1|2=1\u00a0234\n");
}

Test(csv, utf8_bom_is_stripped)
{
    expect_rows("utf8-bom.csv", "UTF-8 (BOM)", ',',
                "L1|0=code|1=libellé\n"
                "L2|0=09D|1=Ariège\n");
}

Test(csv, utf16be_with_surrogate_pair)
{
    expect_rows("utf16be.csv", "UTF-16BE", ';',
                "L1|0=a|1=clé\n"
                "L2|0=\U0001D11E|1=b\n");
}

Test(csv, utf16le_sample_with_cr_lines)
{
    struct got g = { 0 };

    read_rel("data/sample/20210726-203717_Indicateurs Ariège - 2021S1_v2.csv", &g);
    cr_assert_eq(g.rc, 0, "%s", g.err.msg);
    cr_assert_str_eq(g.info.encoding, "UTF-16LE");
    cr_assert_eq(g.info.separator, '\t');
    cr_assert(has_prefix(cp_buf_str(&g.dump),
                         "L1|0=code|1=période|2=code indicateur|3=valeur|4=cible\n"
                         "L2|0=Ariège (09)|1=1er semestre 2021|2=ASE_MAJEURS|3=121\n"
                         "L3|0=Ariège (09)|1=1er semestre 2021|2=ASE_ACCOMP|3=91\n"),
              "%s", cp_buf_str(&g.dump));
    cr_assert_not_null(strstr(cp_buf_str(&g.dump), "L5|0=Ariège (09)|1=1er semestre 2021|"
                                                   "2=ASE_TX_ACCOMP|3=75,2|4=69,7\n"));
    got_release(&g);
}

Test(csv, utf16le_sample_with_lf_lines)
{
    struct got g = { 0 };

    read_rel("data/sample/20210822-055530_region76_consolidation_2021S1.txt", &g);
    cr_assert_eq(g.rc, 0, "%s", g.err.msg);
    cr_assert_str_eq(g.info.encoding, "UTF-16LE");
    cr_assert_eq(g.info.separator, '\t');
    cr_assert_not_null(strstr(cp_buf_str(&g.dump), "L2|0=Aude|1=2021-S1|2=ASE_MAJEURS|3=637\n"));
    cr_assert_not_null(strstr(cp_buf_str(&g.dump), "L251|0=Région Occitanie|1=2021-S1|"));
    cr_assert_eq(g.rows, 251);
    got_release(&g);
}

Test(csv, windows1252_sample_with_nbsp_thousands)
{
    struct got g = { 0 };
    const char *d;

    read_rel("data/sample/20220901-153424_region76_renvoi_consolidation_2022S1.csv", &g);
    cr_assert_eq(g.rc, 0, "%s", g.err.msg);
    cr_assert_str_eq(g.info.encoding, "WINDOWS-1252");
    cr_assert_eq(g.info.separator, ';');
    d = cp_buf_str(&g.dump);
    cr_assert(has_prefix(d, "L1|0=territoire|1=Période|2=RSA_NOUV_ENTRANTS|"), "%s", d);
    cr_assert_not_null(strstr(d, "\nL2|0=Ariège|1=1er semestre 2022|"
                                 "2=1\u00a0334|3=1\u00a0091|4=526|"));
    /* The misspelt name the table stage rejects at L12C1 (1-based column). */
    cr_assert_not_null(strstr(d, "\nL12|0=Pyrénées-Oirentales|1=1er semestre 2022|"));
    got_release(&g);
}

Test(csv, windows1252_c1_bytes)
{
    expect_rows("cp1252.csv", "WINDOWS-1252", ';',
                "L1|0=libellé|1=montant\n"
                "L2|0=œuvre|1=5 €\n"
                "L3|0=«\u00a0x\u00a0»|1=‰\n");
}

Test(csv, iso8859_15_when_euro_sign_and_no_c1_byte)
{
    expect_rows("iso15.csv", "ISO-8859-15", ';',
                "L1|0=libellé|1=montant\n"
                "L2|0=œuvre|1=5 €\n");
}

Test(csv, latin1_reads_as_windows1252)
{
    expect_rows("latin1.csv", "WINDOWS-1252", ';',
                "L1|0=région|1=total\n"
                "L2|0=Occitanie|1=12\n");
}

Test(csv, byte_undefined_in_windows1252_is_rejected_with_offset)
{
    struct got g = { 0 };

    read_rel("data/sample/20210720-055138_CD09_2021S1.csv", &g);
    cr_assert_eq(g.rc, -1);
    cr_assert_str_eq(g.err.code, "bad_encoding");
    cr_assert_str_eq(g.err.where, "byte 146");
    cr_assert(has_prefix(g.err.msg, "octet 0x8F invalide en UTF-8 et non défini en "
                                    "Windows-1252 (offset 146) ; "), "%s", g.err.msg);
    cr_assert_not_null(strstr(g.err.msg, "enregistrez le fichier en UTF-8 ou en "
                                         "Windows-1252 (« CSV UTF-8 » dans Excel)"));
    cr_assert_eq(g.begins, 0);
    cr_assert_eq(g.rows, 0);
    got_release(&g);
}

Test(csv, undefined_byte_inside_valid_utf8_then_invalid_utf8)
{
    struct got g = { 0 };

    expect_error("mixed.csv", "bad_encoding", "byte 1");
    read_fixture("mixed.csv", &g);
    cr_assert_not_null(strstr(g.err.msg, "0x81"));
    cr_assert_not_null(strstr(g.err.msg, "0xE9"));
    cr_assert_not_null(strstr(g.err.msg, "offset 13"));
    got_release(&g);
}

Test(csv, invalid_utf8_after_bom)
{
    expect_error("bom-bad.csv", "bad_encoding", "byte 8");
}

Test(csv, utf16_lone_surrogate)
{
    struct got g = { 0 };

    expect_error("utf16le-lone.csv", "bad_encoding", "byte 4");
    read_fixture("utf16le-lone.csv", &g);
    cr_assert_not_null(strstr(g.err.msg, "0xD800"));
    got_release(&g);
}

Test(csv, utf16_odd_length)
{
    expect_error("utf16le-odd.csv", "bad_encoding", "byte 6");
}

Test(csv, utf16_lone_low_surrogate_and_nul)
{
    static const unsigned char low[] = { 0xFF, 0xFE, 'a', 0, 0x00, 0xDC, '\n', 0 };
    static const unsigned char nul[] = { 0xFE, 0xFF, 0, 'a', 0, 0, 0, '\n' };
    static const unsigned char end[] = { 0xFF, 0xFE, 'a', 0, 0x3D, 0xD8 };
    struct got g = { 0 };

    read_bytes(low, sizeof low, NULL, &g);
    cr_assert_str_eq(g.err.code, "bad_encoding");
    cr_assert_str_eq(g.err.where, "byte 4");
    got_release(&g);
    read_bytes(nul, sizeof nul, NULL, &g);
    cr_assert_str_eq(g.err.code, "nul_byte");
    cr_assert_str_eq(g.err.where, "byte 4");
    got_release(&g);
    read_bytes(end, sizeof end, NULL, &g);
    cr_assert_str_eq(g.err.code, "bad_encoding");
    cr_assert_str_eq(g.err.where, "byte 4");
    got_release(&g);
}

Test(csv, nul_byte_is_rejected)
{
    expect_error("nul.csv", "nul_byte", "byte 5");
}

Test(csv, truncated_utf8_at_end_reads_as_windows1252)
{
    static const char data[] = "a;caf\xc3";
    struct got g = { 0 };

    read_bytes(data, sizeof data - 1, NULL, &g);
    cr_assert_eq(g.rc, 0);
    cr_assert_str_eq(g.info.encoding, "WINDOWS-1252");
    cr_assert_str_eq(cp_buf_str(&g.dump), "L1|0=a|1=cafÃ\n");
    got_release(&g);
}

Test(csv, other_samples)
{
    struct got g = { 0 };

    read_rel("data/sample/20220829-153424_region76_consolidation_2022S1.csv", &g);
    cr_assert_eq(g.rc, 0);
    cr_assert_str_eq(g.info.encoding, "UTF-8 (BOM)");
    cr_assert(has_prefix(cp_buf_str(&g.dump), "L1|0=signataire|1=PERIODE|"));
    cr_assert_not_null(strstr(cp_buf_str(&g.dump), "\nL16|0=Région Occitanie|1=2022-S1|"
                                                   "27=2462|28=1612|29=65.5%\n"));
    got_release(&g);

    read_rel("data/sample/20220724-094558_Indicateurs Haute-Garonne - 2022S1.csv", &g);
    cr_assert_eq(g.rc, 0);
    cr_assert_str_eq(g.info.encoding, "WINDOWS-1252");
    cr_assert(has_prefix(cp_buf_str(&g.dump), "L1|0=Collectivité|1=periode|"));
    cr_assert_not_null(strstr(cp_buf_str(&g.dump), "|13=214 033|"));
    got_release(&g);

    read_rel("data/sample/20230122-233557_export_09D_2022S2-annuel.csv", &g);
    cr_assert_eq(g.rc, 0);
    cr_assert_str_eq(g.info.encoding, "UTF-8");
    cr_assert_not_null(strstr(cp_buf_str(&g.dump),
                              "\nL27|0=09D|1=2022|2=FIN_TX_EXEC|3=94,8\u00a0%\n"));
    got_release(&g);
}

/* ---- separators ----------------------------------------------------------- */

Test(csv, separator_tab)
{
    expect_rows("sep-tab.csv", "UTF-8", '\t', "L1|0=a|1=b|2=c\nL2|0=1|1=2,5|2=3\n");
}

Test(csv, separator_comma)
{
    expect_rows("sep-comma.csv", "UTF-8", ',', "L1|0=a|1=b|2=c\nL2|0=1|1=2;5|2=3\n");
}

Test(csv, separator_pipe)
{
    expect_rows("sep-pipe.csv", "UTF-8", '|', "L1|0=a|1=b|2=c\nL2|0=1|1=2|2=3\n");
}

Test(csv, separator_tie_goes_to_semicolon)
{
    expect_rows("sep-tie.csv", "UTF-8", ';', "L1|0=a|1=b,c\n");
}

Test(csv, separators_inside_quotes_are_not_counted)
{
    expect_rows("sep-quoted.csv", "UTF-8", ';', "L1|0=a,b,c,d|1=e\nL2|0=f,g,h|1=i\n");
}

Test(csv, separator_tie_tab_over_comma_and_default)
{
    struct got g = { 0 };

    read_bytes("a\tb,c\n", 6, NULL, &g);
    cr_assert_eq(g.info.separator, '\t');
    got_release(&g);
    read_bytes("a|b,c,d\n", 8, NULL, &g);
    cr_assert_eq(g.info.separator, ',');
    got_release(&g);
    read_bytes("seul\n", 5, NULL, &g);
    cr_assert_eq(g.info.separator, ';');
    cr_assert_str_eq(cp_buf_str(&g.dump), "L1|0=seul\n");
    got_release(&g);
}

/* ---- quotes, line ends, line numbers ------------------------------------------ */

Test(csv, quoted_fields_and_line_numbers_after_them)
{
    expect_rows("quotes.csv", "UTF-8", ';',
                "L1|0=id|1=texte|2=n\n"
                "L2|0=1|1=a;b|2=x\n"
                "L3|0=2|1=il dit \"oui\"|2=y\n"
                "L4|0=3|1=ligne1\r\nligne2\rligne3\nligne4|2=z\n"
                "L8|0=4|2=w\n"
                "L9|0=5|1=fin\n");
}

Test(csv, cr_line_ends)
{
    expect_rows("cr.csv", "UTF-8", ';', "L1|0=a|1=b\nL2|0=1|1=2\nL4|0=3|1=4\n");
}

Test(csv, lf_line_ends)
{
    expect_rows("lf.csv", "UTF-8", ';', "L1|0=a|1=b\nL2|0=1|1=2\nL4|0=3|1=4\n");
}

Test(csv, mixed_line_ends_each_count_once)
{
    expect_rows("mixed-eol.csv", "UTF-8", ';', "L1|0=a\nL2|0=b\nL3|0=c\nL4|0=d\nL6|0=e\n");
}

Test(csv, last_line_without_newline)
{
    expect_rows("no-final-newline.csv", "UTF-8", ';', "L1|0=a|1=b\nL2|0=1|1=2\n");
}

Test(csv, blank_lines_are_skipped_but_counted)
{
    expect_rows("blank.csv", "UTF-8", ';', "L3|0=a|1=b\nL7|0=  \nL8|0=c\n");
}

Test(csv, empty_fields_are_omitted)
{
    expect_rows("empty-fields.csv", "UTF-8", ';', "L1|0=a|2=c\nL2|3=d\n");
}

Test(csv, fields_are_not_trimmed)
{
    struct got g = { 0 };

    read_bytes(" a ; b ;\n\t\"x\";\t\n", 16, NULL, &g);
    cr_assert_eq(g.rc, 0, "%s", g.err.msg);
    cr_assert_str_eq(cp_buf_str(&g.dump), "L1|0= a |1= b \nL2|0=\t\"x\"|1=\t\n");
    got_release(&g);
}

Test(csv, quote_closing_at_end_of_file)
{
    expect_rows("closed-at-eof.csv", "UTF-8", ';', "L1|0=a|1=b\"\n");
}

Test(csv, unterminated_quote_names_the_line_it_opened)
{
    struct got g = { 0 };

    expect_error("unterminated.csv", "unterminated_quote", "L2");
    expect_error("unterminated-eof.csv", "unterminated_quote", "L1");
    read_fixture("unterminated.csv", &g);
    cr_assert_not_null(strstr(g.err.msg, "ligne 2"));
    cr_assert_not_null(strstr(g.err.msg, "« \" » fermant"));
    /* The rows before it were delivered. */
    cr_assert_str_eq(cp_buf_str(&g.dump), "L1|0=a|1=b\n");
    got_release(&g);
}

Test(csv, space_after_closing_quote_keeps_the_quote_open)
{
    expect_error("spaces.csv", "unterminated_quote", "L2");
}

/* ---- block boundaries --------------------------------------------------------- */

/* Checks that rows come with the lines expected of a file of one header
 * line and then records of `span` lines each. */
struct seq {
    unsigned long rows, bad;
    unsigned span;
    const char *text; /* expected text of column 1, or NULL */
};

static int seq_row(void *ctx, const struct cp_row *row)
{
    struct seq *s = ctx;
    unsigned long want = s->rows == 0 ? 1 : 2 + (s->rows - 1) * s->span;

    if (row->line != want)
        s->bad++;
    if (s->rows > 0 && s->text &&
        (row->ncells != 2 || strcmp(row->cells[1].text, s->text) != 0))
        s->bad++;
    s->rows++;
    return 0;
}

static void read_seq(const struct cp_buf *b, struct seq *s, unsigned flags)
{
    struct cp_reader_sink sink = { s, NULL, seq_row, NULL };
    struct cp_err err;
    char *path = temp_file(b->data, b->len);

    s->rows = s->bad = 0;
    cr_assert_eq(cp_csv_read_flags(path, NULL, &sink, NULL, &err, flags), 0, "%s", err.msg);
    unlink(path);
    free(path);
}

Test(csv, line_breaks_across_read_blocks)
{
    /* Every split of a 3- or 11-byte record by a block end is met as the
     * header grows by one byte. */
    for (unsigned pad = 0; pad < 11; pad++) {
        for (unsigned kind = 0; kind < 3; kind++) {
            static const char *const rec[] = { "1;a\r\n", "1;a\r", "1;\"x\r\ny\"\r\n" };
            static const char *const text[] = { "a", "a", "x\r\ny" };
            struct cp_buf b = CP_BUF_INIT(1u << 24);
            struct seq s = { 0, 0, kind == 2 ? 2 : 1, text[kind] };
            unsigned long n = 300000 / strlen(rec[kind]);

            if (kind < 2 && pad >= strlen(rec[kind]))
                continue;
            cp_buf_adds(&b, "h");
            for (unsigned i = 0; i < pad; i++)
                cp_buf_addc(&b, 'x');
            cp_buf_adds(&b, kind == 1 ? "\r" : "\r\n");
            for (unsigned long i = 0; i < n; i++)
                cp_buf_adds(&b, rec[kind]);
            for (unsigned flags = 0; flags < 2; flags++) {
                read_seq(&b, &s, flags);
                cr_assert_eq(s.rows, n + 1, "pad %u kind %u", pad, kind);
                cr_assert_eq(s.bad, 0, "pad %u kind %u flags %u", pad, kind, flags);
            }
            cp_buf_release(&b);
        }
    }
}

Test(csv, utf16_pairs_across_read_blocks)
{
    for (unsigned pad = 0; pad < 3; pad++) {
        struct cp_buf b = CP_BUF_INIT(1u << 24);
        struct seq s = { 0, 0, 1, "\U0001D11E" };
        static const unsigned char rec[] = { '1', 0, ';', 0, 0x34, 0xD8, 0x1E, 0xDD, '\n', 0 };
        unsigned long n = 300000 / sizeof rec;

        cp_buf_add(&b, "\xff\xfeh\0", 4);
        for (unsigned i = 0; i < pad; i++)
            cp_buf_add(&b, "x\0", 2);
        cp_buf_add(&b, "\n\0", 2);
        for (unsigned long i = 0; i < n; i++)
            cp_buf_add(&b, rec, sizeof rec);
        read_seq(&b, &s, 0);
        cr_assert_eq(s.rows, n + 1, "pad %u", pad);
        cr_assert_eq(s.bad, 0, "pad %u", pad);
        cp_buf_release(&b);
    }
}

/* ---- caps ---------------------------------------------------------------------- */

Test(csv, huge_field_is_refused_without_buffering_it)
{
    size_t n = 1u << 20;
    char *data = malloc(n + 16);
    struct got g = { 0 };

    cr_assert_not_null(data);
    /* Unquoted, on one line. */
    memcpy(data, "a;b\n1;", 6);
    memset(data + 6, 'x', n);
    memcpy(data + 6 + n, "\n", 1);
    read_bytes(data, n + 7, NULL, &g);
    cr_assert_str_eq(g.err.code, "field_too_long");
    cr_assert_str_eq(g.err.where, "L2");
    got_release(&g);
    /* An unterminated quote over many lines. */
    memcpy(data, "a;b\n1;\"", 7);
    for (size_t i = 7; i < n; i++)
        data[i] = i % 8 == 0 ? '\n' : 'x';
    read_bytes(data, n, NULL, &g);
    cr_assert_str_eq(g.err.code, "field_too_long");
    cr_assert_str_eq(g.err.where, "L2");
    cr_assert_not_null(strstr(g.err.msg, "65536 octets"));
    got_release(&g);
    free(data);
}

Test(csv, field_cap_is_exact)
{
    struct cp_limits lim = cp_limits_default;
    struct got g = { 0 };

    lim.max_field_bytes = 4;
    read_bytes("abcd;\"efgh\"\n", 12, &lim, &g);
    cr_assert_eq(g.rc, 0);
    got_release(&g);
    read_bytes("abcd;abcde\n", 11, &lim, &g);
    cr_assert_str_eq(g.err.code, "field_too_long");
    cr_assert_str_eq(g.err.where, "L1");
    got_release(&g);
    read_bytes("a\n\"b\nc\nd\"\n", 10, &lim, &g);
    cr_assert_str_eq(g.err.code, "field_too_long");
    cr_assert_str_eq(g.err.where, "L2");
    got_release(&g);
}

Test(csv, too_many_columns)
{
    struct cp_limits lim = cp_limits_default;
    struct got g = { 0 };
    struct cp_buf b = CP_BUF_INIT(1u << 20);

    lim.max_columns = 3;
    read_fixture("columns.csv", &g); /* default cap: fine */
    cr_assert_eq(g.rc, 0);
    got_release(&g);
    {
        char *p = src_path("tests/data/csv/columns.csv");
        read_path(p, &lim, &g);
        free(p);
    }
    cr_assert_str_eq(g.err.code, "too_many_columns");
    cr_assert_str_eq(g.err.where, "L2");
    cr_assert_str_eq(cp_buf_str(&g.dump), "L1|0=a|1=b|2=c\n");
    got_release(&g);
    /* Past the default cap of 16 384, empty columns count too. */
    cp_buf_adds(&b, "a\n");
    for (int i = 0; i < 16384; i++)
        cp_buf_addc(&b, ';');
    cp_buf_adds(&b, "\n");
    read_bytes(b.data, b.len, NULL, &g);
    cr_assert_str_eq(g.err.code, "too_many_columns");
    cr_assert_str_eq(g.err.where, "L2");
    cr_assert_not_null(strstr(g.err.msg, "16384"));
    got_release(&g);
    cp_buf_release(&b);
}

Test(csv, row_text_is_capped)
{
    struct cp_buf b = CP_BUF_INIT(16u << 20);
    struct got g = { 0 };

    for (int i = 0; i < 100; i++) {
        for (int j = 0; j < 60000; j++)
            cp_buf_addc(&b, 'x');
        cp_buf_addc(&b, ';');
    }
    read_bytes(b.data, b.len, NULL, &g);
    cr_assert_str_eq(g.err.code, "row_too_long");
    cr_assert_str_eq(g.err.where, "L1");
    got_release(&g);
    cp_buf_release(&b);
}

Test(csv, file_size_and_time_caps)
{
    struct cp_limits lim = cp_limits_default;
    struct got g = { 0 };
    char *p = src_path("tests/data/csv/utf8.csv");

    lim.max_file_bytes = 10;
    read_path(p, &lim, &g);
    cr_assert_str_eq(g.err.code, "too_large");
    got_release(&g);
    lim = cp_limits_default;
    lim.max_seconds = 0;
    read_path(p, &lim, &g);
    cr_assert_str_eq(g.err.code, "too_slow");
    got_release(&g);
    free(p);
}

Test(csv, missing_file)
{
    struct got g = { 0 };

    read_one("/nonexistent/calpae.csv", NULL, &g, 0);
    cr_assert_eq(g.rc, -1);
    cr_assert_str_eq(g.err.code, "io");
    cr_assert_eq(g.err.exit_status, CP_EX_NOINPUT);
    got_release(&g);
    read_one("/tmp", NULL, &g, 0);
    cr_assert_eq(g.rc, -1);
    cr_assert_str_eq(g.err.code, "io");
    got_release(&g);
}

Test(csv, empty_file)
{
    struct got g = { 0 };

    read_bytes("", 0, NULL, &g);
    cr_assert_eq(g.rc, 0);
    cr_assert_eq(g.rows, 0);
    cr_assert_eq(g.begins, 1);
    cr_assert_eq(g.ends, 1);
    cr_assert_str_eq(g.info.encoding, "UTF-8");
    cr_assert_eq(g.info.separator, ';');
    got_release(&g);
}

/* ---- sink control -------------------------------------------------------------- */

Test(csv, sink_stop_ends_the_read_successfully)
{
    int rets[] = { CP_READ_STOP, CP_READ_NEXT_SHEET };

    for (int i = 0; i < 2; i++) {
        struct got g = { 0 };
        g.stop_after = 2;
        g.stop_ret = rets[i];
        read_fixture("rows.csv", &g);
        cr_assert_eq(g.rc, 0);
        cr_assert_str_eq(cp_buf_str(&g.dump), "L1|0=n\nL2|0=1\n");
        cr_assert_eq(g.ends, 1);
        got_release(&g);
    }
}

Test(csv, sink_stop_in_a_quoted_line)
{
    struct got g = { 0 };

    g.stop_after = 3;
    g.stop_ret = CP_READ_STOP;
    read_fixture("quotes.csv", &g);
    cr_assert_eq(g.rc, 0);
    cr_assert_eq(g.rows, 3);
    got_release(&g);
}

Test(csv, sink_abort_leaves_err_untouched)
{
    struct got g = { 0 };
    struct cp_reader_sink sink = { &g, g_begin, g_row, g_end };

    for (unsigned flags = 0; flags < 2; flags++) {
        cp_buf_init(&g.dump, 1u << 20);
        g.begins = g.ends = 0;
        g.rows = 0;
        g.stop_after = 3;
        g.stop_ret = -1;
        cp_err_set(&g.err, 0, "sentinel", "here", "untouched");
        {
            char *p = src_path("tests/data/csv/rows.csv");
            g.rc = cp_csv_read_flags(p, NULL, &sink, NULL, &g.err, flags);
            free(p);
        }
        cr_assert_eq(g.rc, CP_READ_ABORTED);
        cr_assert_eq(g.rows, 3);
        cr_assert_eq(g.ends, 0);
        cr_assert_str_eq(g.err.code, "sentinel");
        cr_assert_str_eq(g.err.msg, "untouched");
        got_release(&g);
    }
}

Test(csv, sheet_begin_may_stop_or_abort)
{
    struct got g = { 0 };

    g.begin_ret = CP_READ_STOP;
    read_fixture("rows.csv", &g);
    cr_assert_eq(g.rc, 0);
    cr_assert_eq(g.rows, 0);
    cr_assert_eq(g.ends, 1);
    got_release(&g);
    g.begin_ret = -5;
    read_fixture("rows.csv", &g);
    cr_assert_eq(g.rc, CP_READ_ABORTED);
    cr_assert_eq(g.rows, 0);
    got_release(&g);
}

Test(csv, null_callbacks_and_info)
{
    struct cp_reader_sink sink = { NULL, NULL, NULL, NULL };
    struct cp_err err;
    char *p = src_path("tests/data/csv/quotes.csv");

    cr_assert_eq(cp_csv_read(p, NULL, &sink, NULL, &err), 0);
    free(p);
}

/* ---- fuzzer finds ------------------------------------------------------------ */

/* Inputs the fuzzer once crashed on or disagreed about, read as the
 * harness reads them (tests/fuzz/fuzz_csv.c): with the default caps and
 * with tiny ones, every way. */
Test(csv, fuzz_regressions)
{
    char *pattern = src_path("tests/data/csv/fuzz-*");
    struct cp_limits tiny = cp_limits_default;
    glob_t gl;
    size_t n = 0;

    tiny.max_field_bytes = 16;
    tiny.max_columns = 8;
    if (glob(pattern, 0, NULL, &gl) == 0) {
        for (size_t i = 0; i < gl.gl_pathc; i++) {
            for (int t = 0; t < 2; t++) {
                struct got g = { 0 };
                read_path(gl.gl_pathv[i], t ? &tiny : NULL, &g);
                cr_assert(g.rc == 0 || g.rc == -1);
                if (g.rc < 0)
                    cr_assert_gt(strlen(g.err.code), 0);
                got_release(&g);
            }
            n++;
        }
        globfree(&gl);
    }
    cr_assert_gt(n, 0);
    free(pattern);
}

/* ---- a file that changes while it is read ------------------------------------ */

static int grow_file(void *ctx, const struct cp_row *row)
{
    const char *path = ctx;
    FILE *f;

    (void)row;
    f = fopen(path, "a");
    cr_assert_not_null(f);
    fputs("x;y\n", f);
    cr_assert_eq(fclose(f), 0);
    return CP_READ_CONTINUE;
}

Test(csv, file_changed_between_the_passes)
{
    char *path = temp_file("a;b\n", 4);
    struct cp_reader_sink sink = { path, NULL, grow_file, NULL };
    struct cp_err err;

    cp_err_clear(&err);
    cr_assert_eq(cp_csv_read(path, NULL, &sink, NULL, &err), -1);
    cr_assert_str_eq(err.code, "io");
    cr_assert_not_null(strstr(err.msg, "a changé"));
    unlink(path);
    free(path);
}
