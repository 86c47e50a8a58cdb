/* Helpers shared by the end-to-end tests (see helpers.h). */
#include "tests/e2e/helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/stat.h>
#include <zip.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "ingest/ingest.h"

const char *t_srcdir(void)
{
    const char *s = getenv("CALPAE_SRCDIR");
    return s && *s ? s : ".";
}

const char *t_src(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", t_srcdir(), rel);
    return buf;
}

char *t_tmpdir(void)
{
    char *d = strdup("/tmp/calpae-test-XXXXXX");
    if (!d || !mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

void t_rmtree(const char *dir)
{
    char cmd[4200];
    if (!dir || strncmp(dir, "/tmp/calpae-", 12) != 0)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Splits one line on ';' with RFC 4180 quotes. */
static char **split(const char *line, size_t *n)
{
    char **v = NULL;
    size_t cap = 0;
    const char *p = line;

    *n = 0;
    for (;;) {
        char *f = malloc(strlen(line) + 1);
        size_t k = 0;
        if (*p == '"') {
            p++;
            while (*p) {
                if (*p == '"' && p[1] == '"') {
                    f[k++] = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    f[k++] = *p++;
                }
            }
        }
        while (*p && *p != ';' && *p != '\n' && *p != '\r')
            f[k++] = *p++;
        f[k] = '\0';
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            v = realloc(v, cap * sizeof *v);
        }
        v[(*n)++] = f;
        if (*p != ';')
            break;
        p++;
    }
    return v;
}

int t_csv_load(struct t_csv *c, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    size_t cap = 0;

    memset(c, 0, sizeof *c);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        size_t n;
        char **v;
        if (line[0] == '\n' || line[0] == '\r')
            continue;
        v = split(line, &n);
        if (!c->header) {
            c->header = v;
            c->nheader = n;
            continue;
        }
        if (c->nrows == cap) {
            cap = cap ? cap * 2 : 64;
            c->rows = realloc(c->rows, cap * sizeof *c->rows);
            c->nfields = realloc(c->nfields, cap * sizeof *c->nfields);
        }
        c->rows[c->nrows] = v;
        c->nfields[c->nrows] = n;
        c->nrows++;
    }
    fclose(f);
    return 0;
}

void t_csv_free(struct t_csv *c)
{
    for (size_t i = 0; i < c->nrows; i++) {
        for (size_t j = 0; j < c->nfields[i]; j++)
            free(c->rows[i][j]);
        free(c->rows[i]);
    }
    for (size_t j = 0; j < c->nheader; j++)
        free(c->header[j]);
    free(c->header);
    free(c->rows);
    free(c->nfields);
    memset(c, 0, sizeof *c);
}

int t_csv_col(const struct t_csv *c, const char *name)
{
    for (size_t j = 0; j < c->nheader; j++)
        if (strcmp(c->header[j], name) == 0)
            return (int)j;
    return -1;
}

int t_ingest_sample(const char *db_path, const char *qdir)
{
    return t_ingest(db_path, qdir, t_src("data/sample"));
}

int t_ingest(const char *db_path, const char *qdir, const char *path)
{
    char *paths[1];
    struct cp_ingest_opts o = {0};
    struct cp_err err;
    FILE *devnull = fopen("/dev/null", "w");
    int rc;

    paths[0] = strdup(path);
    o.db_path = db_path;
    o.data_dir = strdup(t_src("data"));
    o.quarantine_dir = qdir;
    o.paths = paths;
    o.npaths = 1;
    o.out = devnull;
    rc = cp_ingest_run(&o, NULL, &err);
    if (rc != 0 && rc != 65)
        fprintf(stderr, "ingest failed (%d): %s\n", rc, err.msg);
    fclose(devnull);
    free(paths[0]);
    free((char *)o.data_dir);
    return rc;
}

long long t_sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "SQL error: %s in %s\n", sqlite3_errmsg(db), sql);
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

char *t_sql_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "SQL error: %s in %s\n", sqlite3_errmsg(db), sql);
        return NULL;
    }
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

char *t_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    struct cp_buf b = CP_BUF_INIT(1 << 26);
    char chunk[4096];
    size_t k;

    cr_assert_not_null(f, "cannot open %s", path);
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        cr_assert_eq(cp_buf_add(&b, chunk, k), 0);
    fclose(f);
    if (n)
        *n = b.len;
    return cp_buf_detach(&b);
}

char *t_slurp_cmd(const char *cmd)
{
    struct cp_buf b = CP_BUF_INIT(1 << 24);
    char chunk[4096];
    size_t n;
    FILE *p = popen(cmd, "r");

    cr_assert_not_null(p, "cannot run %s", cmd);
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        cp_buf_add(&b, chunk, n);
    pclose(p);
    return cp_buf_detach(&b);
}

void t_mtimes(const char *dir, struct cp_buf *out)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char p[1200];
    struct stat sb;

    if (!dp)
        return;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &sb) < 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            t_mtimes(p, out);
        else
            cp_buf_addf(out, "%s %ld.%09ld\n", p, (long)sb.st_mtim.tv_sec,
                        (long)sb.st_mtim.tv_nsec);
    }
    closedir(dp);
}

char *t_zip_part(const char *path, const char *name)
{
    int ze;
    zip_t *z = zip_open(path, ZIP_RDONLY, &ze);
    zip_stat_t st;
    zip_file_t *f;
    char *data;

    cr_assert_not_null(z, "%s is not a zip", path);
    cr_assert_eq(zip_stat(z, name, 0, &st), 0, "%s has no %s", path, name);
    data = calloc(1, st.size + 1);
    cr_assert_not_null(data);
    f = zip_fopen(z, name, 0);
    cr_assert_not_null(f, "%s: cannot open %s", path, name);
    cr_assert_eq(zip_fread(f, data, st.size), (zip_int64_t)st.size);
    zip_fclose(f);
    zip_close(z);
    return data;
}

char *t_db_dump(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *tables, *rows;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    cr_assert_not_null(f);
    /* Read-write: a database a killed run left is recovered on opening. */
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK,
                 "open %s: %s", path, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 10000);
    fprintf(f, "user_version|%lld\n", t_sql_int(db, "PRAGMA user_version"));
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT name, (SELECT count(*) FROM pragma_table_info(name))"
                                    " FROM sqlite_master WHERE type = 'table'"
                                    " AND name NOT LIKE 'sqlite_%' ORDER BY name",
                                    -1, &tables, NULL),
                 SQLITE_OK);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        int ncol = sqlite3_column_int(tables, 1);
        char sql[2048];
        int n = snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY 1", name);

        for (int c = 2; c <= ncol; c++)
            n += snprintf(sql + n, sizeof sql - (size_t)n, ",%d", c);
        cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &rows, NULL), SQLITE_OK, "%s", sql);
        while (sqlite3_step(rows) == SQLITE_ROW) {
            fputs(name, f);
            for (int c = 0; c < ncol; c++) {
                switch (sqlite3_column_type(rows, c)) {
                case SQLITE_NULL: fputs("|NULL", f); break;
                case SQLITE_INTEGER: fprintf(f, "|%lld", sqlite3_column_int64(rows, c)); break;
                case SQLITE_FLOAT: fprintf(f, "|%.17g", sqlite3_column_double(rows, c)); break;
                default: fprintf(f, "|'%s'", (const char *)sqlite3_column_text(rows, c)); break;
                }
            }
            fputc('\n', f);
        }
        sqlite3_finalize(rows);
    }
    sqlite3_finalize(tables);
    sqlite3_close(db);
    fclose(f);
    return out;
}

void t_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");

    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n, "%s", path);
    cr_assert_eq(fclose(f), 0, "%s", path);
}

void t_write_in(const char *dir, const char *name, const char *text)
{
    char path[1024];

    cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s", dir, name), sizeof path);
    t_write(path, text, strlen(text));
}
