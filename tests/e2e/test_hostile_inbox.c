/*
 * End to end: an inbox holding hostile and broken files next to a good
 * one. Every bad file is refused with its code, quarantined with a report,
 * fast and with bounded memory; the good file is still accepted.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "common/afile.h"
#include "common/db.h"
#include "tests/e2e/helpers.h"

/* A zip whose entries are given as (name, data, size) triples. */
static void write_zip(const char *path, const char *const *names, const void *const *data,
                      const size_t *sizes, int n)
{
    int ze;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    cr_assert_not_null(z);
    for (int i = 0; i < n; i++) {
        zip_source_t *s = zip_source_buffer(z, data[i], sizes[i], 0);
        cr_assert_not_null(s);
        cr_assert_geq(zip_file_add(z, names[i], s, ZIP_FL_OVERWRITE), 0);
    }
    cr_assert_eq(zip_close(z), 0);
}

/* A libzip source that yields a worksheet opening tag then white space up
 * to n bytes: valid XML that inflates enormously. */
static const char bomb_head[] =
    "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<sheetData>";

struct zeros {
    unsigned long long n, off;
};

static zip_int64_t zeros_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    struct zeros *z = ud;

    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        z->off = 0;
        return 0;
    case ZIP_SOURCE_READ: {
        zip_uint64_t left = z->n - z->off;
        if (len > left)
            len = left;
        memset(data, ' ', len);
        for (zip_uint64_t i = 0; z->off + i < sizeof bomb_head - 1 && i < len; i++)
            ((char *)data)[i] = bomb_head[z->off + i];
        z->off += len;
        return (zip_int64_t)len;
    }
    case ZIP_SOURCE_CLOSE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = z->n;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(NULL, data, len);
    case ZIP_SOURCE_FREE:
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ,
                                              ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                              ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
        return -1;
    }
}

static const char rels[] =
    "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/"
    "2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/"
    "officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "</Relationships>";
static const char workbook[] =
    "<?xml version=\"1.0\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/"
    "2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
    "<sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";

static void write_xlsx_with_sheet(const char *path, const char *sheet, size_t sheet_len)
{
    const char *names[] = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                           "xl/worksheets/sheet1.xml"};
    const void *data[] = {workbook, rels, sheet};
    size_t sizes[] = {strlen(workbook), strlen(rels), sheet_len};
    write_zip(path, names, data, sizes, 3);
}

static char *status_of(sqlite3 *db, const char *file)
{
    char q[512];
    snprintf(q, sizeof q,
             "SELECT s.statut || ':' || coalesce((SELECT group_concat(code) FROM rejets r"
             " WHERE r.fichier = s.fichier), '') FROM soumissions s WHERE s.fichier = '%s'",
             file);
    return t_sql_text(db, q);
}

Test(hostile_inbox, every_bad_file_is_refused_fast_and_the_good_one_kept, .timeout = 120)
{
    char *dir = t_tmpdir();
    char inbox[512], q[512], db_path[512], p[700];
    struct timespec t0, t1;
    sqlite3 *db;
    struct cp_err err;

    snprintf(inbox, sizeof inbox, "%s/inbox", dir);
    snprintf(q, sizeof q, "%s/quarantaine", dir);
    snprintf(db_path, sizeof db_path, "%s/c.db", dir);
    cr_assert_eq(cp_mkdirs(inbox, &err), 0);

    /* The good file. */
    snprintf(p, sizeof p, "%s/bon.csv", inbox);
    const char good[] = "signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_CER;1234\n";
    t_write(p, good, strlen(good));

    /* Zip bomb: 300 MB of XML white space in one entry, ~300 KB compressed,
     * streamed into the archive so the test itself stays small. */
    {
        struct zeros zs = {300ULL << 20, 0};
        const char *names[] = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels"};
        const void *data[] = {workbook, rels};
        size_t sizes[] = {strlen(workbook), strlen(rels)};
        int ze;
        zip_t *z;
        zip_source_t *src;

        snprintf(p, sizeof p, "%s/bombe.xlsx", inbox);
        write_zip(p, names, data, sizes, 2);
        z = zip_open(p, 0, &ze);
        cr_assert_not_null(z);
        src = zip_source_function(z, zeros_cb, &zs);
        cr_assert_not_null(src);
        cr_assert_geq(zip_file_add(z, "xl/worksheets/sheet1.xml", src, 0), 0);
        cr_assert_eq(zip_close(z), 0);
    }
    /* Billion laughs. */
    {
        const char lol[] =
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
            "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
            "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
            "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">]>"
            "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
            "<sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&lol4;</t></is></c>"
            "</row></sheetData></worksheet>";
        snprintf(p, sizeof p, "%s/rires.xlsx", inbox);
        write_xlsx_with_sheet(p, lol, strlen(lol));
    }
    /* Truncated archive: the first half of a real workbook. */
    {
        FILE *f = fopen(t_src("data/sample/20210728-041226_export_66D_2021S1.xlsx"), "rb");
        char buf[8192];
        size_t n;
        cr_assert_not_null(f);
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        snprintf(p, sizeof p, "%s/tronque.xlsx", inbox);
        t_write(p, buf, n / 2);
    }
    /* NUL bytes in a CSV. */
    {
        const char nul[] = "signataire;periode;indicateur;valeur\n31D;2022-S1;RSA_CER;1\0\0\0\n";
        snprintf(p, sizeof p, "%s/nul.csv", inbox);
        t_write(p, nul, sizeof nul - 1);
    }
    /* Unterminated quote. */
    {
        const char quote[] = "signataire;periode;indicateur;valeur\n31D;2022-S1;\"RSA_CER;1\n"
                             "31D;2022-S1;RSA_CER;2\n";
        snprintf(p, sizeof p, "%s/guillemet.csv", inbox);
        t_write(p, quote, strlen(quote));
    }
    /* A 5 MB field. */
    {
        size_t n = 5u << 20;
        char *big = malloc(n + 64);
        cr_assert_not_null(big);
        memcpy(big, "signataire;periode\n\"", 20);
        memset(big + 20, 'x', n);
        memcpy(big + 20 + n, "\";2021\n", 7);
        snprintf(p, sizeof p, "%s/champ.csv", inbox);
        t_write(p, big, n + 27);
        free(big);
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(t_ingest(db_path, q, inbox), 65);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* A bound against runaway behaviour, far above the expected ~1 s. */
    cr_expect_lt(t1.tv_sec - t0.tv_sec, 60);

    cr_assert_eq(cp_db_open(&db, db_path, 0, &err), 0);
    struct {
        const char *file, *expect;
    } cases[] = {
        {"bon.csv", "accepte:"},
        {"bombe.xlsx", "rejete:zip_bomb"},
        {"rires.xlsx", "rejete:dtd_forbidden"},
        {"tronque.xlsx", "rejete:bad_archive"},
        {"nul.csv", "rejete:nul_byte"},
        {"guillemet.csv", "rejete:unterminated_quote"},
        {"champ.csv", "rejete:field_too_long"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = status_of(db, cases[i].file);
        cr_expect_str_eq(s ? s : "(absent)", cases[i].expect, "%s: %s", cases[i].file,
                         s ? s : "(absent)");
        free(s);
        if (strcmp(cases[i].file, "bon.csv") != 0) {
            snprintf(p, sizeof p, "%s/%s.rapport.txt", q, cases[i].file);
            cr_expect_eq(access(p, R_OK), 0, "no quarantine report for %s", cases[i].file);
        }
    }
    cr_expect_eq(t_sql_int(db, "SELECT valeur FROM valeurs_courantes WHERE indicateur = 'RSA_CER'"),
                 1234);
    sqlite3_close(db);

    /* Bounded memory: the 300 MB entry never sat in memory. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cr_expect_lt(ru.ru_maxrss, 200L * 1024, "peak RSS %ld KiB", ru.ru_maxrss);
    t_rmtree(dir);
    free(dir);
}
