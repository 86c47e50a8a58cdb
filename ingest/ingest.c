/*
 * The ingest stage's run (see ingest.h): inbox walk, reception times,
 * fingerprints, format sniffing, one transaction per file, quarantine of
 * unreadable files, and one line per file for the operator.
 */
#include "ingest/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/buf.h"
#include "common/crash.h"
#include "common/db.h"
#include "common/hash.h"
#include "common/ref.h"
#include "common/text.h"
#include "ingest/ahead.h"
#include "ingest/reader.h"
#include "ingest/record.h"
#include "ingest/rollup.h"
#include "ingest/store.h"
#include "ingest/table.h"

#define MAX_FILES 200000

struct entry {
    char *path;
    char *name;          /* base name, points into path */
    char received[20];
    const char *date_source;
};

struct entries {
    struct entry *v;
    size_t n, cap;
};

/* reception.csv of one folder: name → time. */
struct reception {
    char *dir;
    char **names;
    char **times;
    size_t n, cap;
};

struct receptions {
    struct reception *v;
    size_t n;
};

/* ---- reception.csv --------------------------------------------------------- */

/* Normalises "2021-07-20T05:51:38", "2021-07-20 05:51:38", "2021-07-20" into
 * out[20]. 0 or -1. */
static int iso_time(const char *s, size_t n, char *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    char tmp[40];
    int k = 0;

    if (n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (sscanf(tmp, "%4d-%2d-%2d%n", &y, &mo, &d, &k) != 3)
        return -1;
    if (tmp[k] == 'T' || tmp[k] == ' ') {
        int k2 = 0;
        if (sscanf(tmp + k + 1, "%2d:%2d%n", &h, &mi, &k2) != 2)
            return -1;
        k += 1 + k2;
        if (tmp[k] == ':') {
            int k3 = 0;
            if (sscanf(tmp + k + 1, "%2d%n", &se, &k3) != 1)
                return -1;
            k += 1 + k3;
        }
    }
    while (tmp[k] == ' ' || tmp[k] == 'Z')
        k++;
    if (tmp[k] || y < 1990 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || se > 60)
        return -1;
    {
        char full[64];

        snprintf(full, sizeof full, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, se);
        memcpy(out, full, 19);
        out[19] = '\0';
    }
    return 0;
}

static int reception_row(void *ctx, const struct cp_row *row)
{
    struct reception *r = ctx;
    const struct cp_cell *name = NULL, *when = NULL;
    char t[20];

    for (size_t i = 0; i < row->ncells; i++) {
        if (row->cells[i].col == 0)
            name = &row->cells[i];
        else if (row->cells[i].col == 1)
            when = &row->cells[i];
    }
    if (!name || !when || iso_time(when->text, when->len, t) < 0)
        return CP_READ_CONTINUE; /* header or a malformed line: modification time applies */
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 32;
        char **nn = realloc(r->names, ncap * sizeof *nn);
        char **nt;

        if (!nn)
            return -1;
        r->names = nn;
        nt = realloc(r->times, ncap * sizeof *nt);
        if (!nt)
            return -1;
        r->times = nt;
        r->cap = ncap;
    }
    r->names[r->n] = strndup(name->text, name->len);
    r->times[r->n] = strdup(t);
    r->n++;
    return CP_READ_CONTINUE;
}

static struct reception *reception_for(struct receptions *all, const char *dir,
                                       const struct cp_limits *lim)
{
    struct reception *r, *nv;
    char path[PATH_MAX];
    struct cp_reader_sink sink;
    struct cp_err ignored;

    for (size_t i = 0; i < all->n; i++)
        if (strcmp(all->v[i].dir, dir) == 0)
            return &all->v[i];
    nv = realloc(all->v, (all->n + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    all->v = nv;
    r = &all->v[all->n++];
    memset(r, 0, sizeof *r);
    r->dir = strdup(dir);
    if (snprintf(path, sizeof path, "%s/reception.csv", dir) < (int)sizeof path &&
        access(path, R_OK) == 0) {
        sink = (struct cp_reader_sink){r, NULL, reception_row, NULL};
        cp_csv_read(path, lim, &sink, NULL, &ignored);
    }
    return r;
}

static void receptions_release(struct receptions *all)
{
    for (size_t i = 0; i < all->n; i++) {
        struct reception *r = &all->v[i];
        for (size_t j = 0; j < r->n; j++) {
            free(r->names[j]);
            free(r->times[j]);
        }
        free(r->names);
        free(r->times);
        free(r->dir);
    }
    free(all->v);
}

/* ---- the inbox walk ------------------------------------------------------------ */

static int skip_name(const char *name)
{
    size_t n = strlen(name);

    return name[0] == '.' || strcmp(name, "reception.csv") == 0 ||
           (n > 12 && strcmp(name + n - 12, ".rapport.txt") == 0) || name[n - 1] == '~';
}

/* sb: the file's stat, made by the caller. */
static int add_file(struct entries *e, const char *path, const struct stat *sb,
                    struct receptions *recs, const struct cp_limits *lim, struct cp_err *err)
{
    struct entry *x;
    char dir[PATH_MAX];
    const char *slash;
    struct reception *r;

    if (e->n >= MAX_FILES)
        return cp_err_set(err, CP_EX_USAGE, "too_many_files", path,
                          "plus de %d fichiers à lire : découpez la boîte de réception",
                          MAX_FILES);
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 64;
        struct entry *nv = realloc(e->v, ncap * sizeof *nv);

        if (!nv)
            return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        e->v = nv;
        e->cap = ncap;
    }
    x = &e->v[e->n];
    memset(x, 0, sizeof *x);
    x->path = strdup(path);
    if (!x->path)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    slash = strrchr(x->path, '/');
    x->name = slash ? (char *)slash + 1 : x->path;
    if (slash) {
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - x->path), x->path);
        if (!dir[0])
            strcpy(dir, "/");
    } else {
        strcpy(dir, ".");
    }
    r = reception_for(recs, dir, lim);
    x->date_source = "mtime";
    if (r) {
        for (size_t i = 0; i < r->n; i++)
            if (strcmp(r->names[i], x->name) == 0) {
                memcpy(x->received, r->times[i], 20);
                x->date_source = "reception.csv";
                break;
            }
    }
    if (strcmp(x->date_source, "mtime") == 0) {
        struct tm tm;
        localtime_r(&sb->st_mtime, &tm);
        strftime(x->received, sizeof x->received, "%Y-%m-%dT%H:%M:%S", &tm);
    }
    e->n++;
    return 0;
}

static int walk(struct entries *e, const char *path, int depth, struct receptions *recs,
                const struct cp_limits *lim, struct cp_err *err)
{
    struct stat sb;
    DIR *d;
    struct dirent *de;
    char child[PATH_MAX];
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (stat(path, &sb) < 0)
        return cp_err_set(err, CP_EX_NOINPUT, "io", path,
                          "« %s » introuvable : %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return S_ISREG(sb.st_mode) ? add_file(e, path, &sb, recs, lim, err) : 0;
    if (depth > 8)
        return 0;
    d = opendir(path);
    if (!d)
        return cp_err_set(err, CP_EX_NOINPUT, "io", path,
                          "dossier « %s » illisible : %s", path, strerror(errno));
    while ((de = readdir(d))) {
        if (skip_name(de->d_name) || strcmp(de->d_name, "quarantaine") == 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                rc = cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
                goto out;
            }
            names = nn;
            cap = ncap;
        }
        names[n++] = strdup(de->d_name);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (snprintf(child, sizeof child, "%s/%s", path, names[i]) >= (int)sizeof child)
            continue; /* a path longer than PATH_MAX cannot be opened anyway */
        rc = walk(e, child, depth + 1, recs, lim, err);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->received, y->received);

    if (c)
        return c;
    c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->path, y->path);
}

/* ---- formats ------------------------------------------------------------------- */

enum format { F_CSV, F_XLSX, F_ODS, F_XLS, F_EMPTY, F_BINARY, F_ROLLUP };

static const char *format_name(enum format f)
{
    switch (f) {
    case F_CSV: return "csv";
    case F_XLSX: return "xlsx";
    case F_ODS: return "ods";
    case F_XLS: return "xls";
    case F_ROLLUP: return "rollup";
    case F_EMPTY:
    case F_BINARY: break;
    }
    return "inconnu";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

#define SNIFF_BYTES 64

/* Looks at the first bytes (n of them, read while hashing): a zip is a
 * workbook (ODS when its first entry is "mimetype" or the name says .ods),
 * OLE2 is an old .xls, a regional roll-up opens with its magic header,
 * else text. */
static enum format sniff(const unsigned char *b, size_t n, const char *name,
                         unsigned long long size)
{
    if (size == 0)
        return F_EMPTY;
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4) {
        if (ends_with(name, ".ods") || (n >= 38 && memcmp(b + 30, "mimetype", 8) == 0))
            return F_ODS;
        return F_XLSX;
    }
    if (n >= 8 && memcmp(b, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0)
        return F_XLS;
    if (n >= 4 && memcmp(b, "%PDF", 4) == 0)
        return F_BINARY;
    if (n > 0 && cp_rollup_sniff(b, (size_t)n))
        return F_ROLLUP;
    return F_CSV;
}

/* ---- quarantine ---------------------------------------------------------------- */

/* Both write a hidden temporary (cp_afile_temp_path) renamed into place: a
 * crash leaves no partial file under the final name, and its leftover is
 * removed by the next run (cp_afile_clean_stale in cp_ingest_run). */
static int copy_file(const char *from, const char *to)
{
    struct cp_err ignored;
    char *tmp;
    char block[1 << 16];
    int in, out, rc = -1;
    ssize_t n;

    in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    tmp = cp_afile_temp_path(to, &ignored);
    if (!tmp) {
        close(in);
        return -1;
    }
    out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0)
        goto out_in;
    while ((n = read(in, block, sizeof block)) > 0)
        if (write(out, block, (size_t)n) != n)
            goto out_out;
    if (n < 0 || fsync(out) < 0)
        goto out_out;
    rc = 0;
out_out:
    if (close(out) < 0)
        rc = -1;
    if (rc == 0 && rename(tmp, to) < 0)
        rc = -1;
    if (rc < 0)
        unlink(tmp);
out_in:
    close(in);
    free(tmp);
    return rc;
}

static int write_text(const char *to, const char *text)
{
    struct cp_err ignored;
    char *tmp = cp_afile_temp_path(to, &ignored);
    FILE *f;
    int rc = 0;

    if (!tmp)
        return -1;
    f = fopen(tmp, "wx");
    if (!f) {
        free(tmp);
        return -1;
    }
    if (fputs(text, f) == EOF || fflush(f) == EOF || fsync(fileno(f)) < 0)
        rc = -1;
    if (fclose(f) == EOF)
        rc = -1;
    if (rc == 0 && rename(tmp, to) < 0)
        rc = -1;
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

static int mkdirs(const char *dir)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof p)
        return -1;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (p[i] == '/') {
            p[i] = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -1;
            p[i] = '/';
        }
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Copies the file, untouched, into the quarantine folder with a report. */
static int quarantine(const char *qdir, const struct entry *x, const char *sha,
                      const struct cp_err *why, struct cp_err *err)
{
    char dst[PATH_MAX], rep[PATH_MAX], now[20];
    struct cp_buf text = CP_BUF_INIT(8192);
    int rc;

    if (mkdirs(qdir) < 0)
        return cp_err_set(err, CP_EX_CANTCREAT, "io", qdir,
                          "impossible de créer le dossier de quarantaine « %s » : %s", qdir,
                          strerror(errno));
    if (snprintf(dst, sizeof dst, "%s/%s", qdir, x->name) >= (int)sizeof dst ||
        snprintf(rep, sizeof rep, "%s/%s.rapport.txt", qdir, x->name) >= (int)sizeof rep)
        return cp_err_set(err, CP_EX_CANTCREAT, "io", qdir, "chemin de quarantaine trop long");
    cp_db_now(now);
    cp_buf_addf(&text,
                "Fichier mis en quarantaine par calpae-ingest\n"
                "\n"
                "Fichier      : %s\n"
                "Chemin       : %s\n"
                "Reçu le      : %s\n"
                "Empreinte    : %s (SHA-256)\n"
                "Examiné le   : %s\n"
                "Code         : %s\n"
                "Emplacement  : %s\n"
                "\n"
                "Motif : %s\n"
                "\n"
                "Le fichier est conservé tel quel à côté de ce rapport. Aucune de ses\n"
                "valeurs n'a été retenue. Une fois corrigé, il peut être renvoyé sous un\n"
                "autre nom ; la version la plus récente l'emporte.\n",
                x->name, x->path, x->received, sha, now, why->code,
                why->where[0] ? why->where : "(fichier entier)", why->msg);
    rc = copy_file(x->path, dst);
    if (rc == 0)
        rc = write_text(rep, cp_buf_str(&text));
    cp_buf_release(&text);
    if (rc < 0)
        return cp_err_set(err, CP_EX_CANTCREAT, "io", qdir,
                          "impossible d'écrire dans la quarantaine « %s » : %s", qdir,
                          strerror(errno));
    return 0;
}

/* ---- reading ahead ------------------------------------------------------------- */

/*
 * While the main thread stores a submission, a second thread hashes, sniffs
 * and parses the next ones (cp_ahead), so that parsing runs beside SQLite
 * on the second core. A file read ahead gives its values and rejections to
 * a record (cp_rec) that the main thread hands to the store in order: the
 * store sees exactly what it would have seen streaming. Parsing needs only
 * the reference data, never the database, but for one thing: a file whose
 * bytes the database already holds is not read at all (déjà lu, doublon),
 * so the thread asks its own read-only connection first; the main thread
 * still decides, on its connection, once the earlier files are committed.
 * Memory stays bounded: only files up to AHEAD_FILE_MAX are read ahead,
 * a record holds at most AHEAD_RECORD_MAX bytes and a workbook read ahead
 * at most AHEAD_TEXT_MAX bytes of shared or merged text; past these the
 * file is read again by the main thread, streaming, as without the thread.
 */
#define AHEAD_WINDOW 6               /* files prepared and not yet stored */
#define AHEAD_BATCH 3                /* free slots that wake the thread */
#define AHEAD_FILE_MAX (1u << 20)
#define AHEAD_RECORD_MAX (1u << 20)
#define AHEAD_TEXT_MAX ((size_t)1 << 20)

/* One file prepared: what the main thread would otherwise do first. */
struct prep {
    int hashed;               /* 0: hashing failed, err says why */
    struct cp_err err;
    char sha[CP_SHA256_HEX];
    unsigned long long size;
    enum format f;
    int parsed;               /* read ahead: t, rec, rc, why and info hold it */
    struct cp_table *t;
    struct cp_rec rec;
    int rc;                   /* the reader's, then cp_table_finish's */
    struct cp_err why;
    struct cp_read_info info;
};

/* ---- one file ------------------------------------------------------------------- */

struct run {
    const struct cp_ingest_opts *o;
    const struct cp_limits *lim;
    struct cp_limits ahead_lim; /* lim with AHEAD_TEXT_MAX */
    struct cp_ref ref;
    sqlite3 *db;
    struct cp_store *store;
    char qdir[PATH_MAX];
    FILE *out;
    struct cp_ingest_stats *st;
    const struct entries *files;
    int parse_ahead;          /* prepare() parses (on the read-ahead thread) */
    sqlite3 *peek;            /* the read-ahead thread's read-only connection */
    sqlite3_stmt *peek_st;
};

static void say(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->o->quiet)
        return;
    va_start(ap, fmt);
    vfprintf(r->out, fmt, ap);
    va_end(ap);
}

static int read_submission(const struct cp_limits *lim, enum format f, const struct entry *x,
                           struct cp_table *t, struct cp_read_info *info, struct cp_err *why)
{
    struct cp_reader_sink sink = cp_table_sink(t);

    switch (f) {
    case F_CSV:
        return cp_csv_read(x->path, lim, &sink, info, why);
    case F_XLSX:
        return cp_xlsx_read(x->path, lim, &sink, info, why);
    case F_ODS:
        return cp_ods_read(x->path, lim, &sink, info, why);
    case F_XLS:
        return cp_err_set(why, CP_EX_DATAERR, "unsupported_format", "",
                          "format Excel 97-2003 (.xls) non accepté ; enregistrez le fichier "
                          "au format XLSX, ODS ou CSV");
    case F_ROLLUP: /* read by cp_rollup_ingest */
    case F_EMPTY:
        return cp_err_set(why, CP_EX_DATAERR, "empty_file", "",
                          "fichier vide ; renvoyez le fichier complet");
    case F_BINARY:
        break;
    }
    return cp_err_set(why, CP_EX_DATAERR, "unsupported_format", "",
                      "format de fichier non reconnu ; envoyez un fichier CSV, XLSX ou ODS");
}

#define ROLLUP_FAILED (-1000)

/* A regional roll-up, inside the file's transaction: 0 stored, -1
 * refused (why set), ROLLUP_FAILED on a database error (err set). */
static int read_rollup(struct run *r, const struct entry *x, struct cp_read_info *info,
                       struct cp_err *why, struct cp_err *err)
{
    unsigned long stored = 0;
    int k = cp_rollup_ingest(r->db, &r->ref, cp_store_file_id(r->store), x->path,
                             r->lim->max_file_bytes, &stored, why, err);

    snprintf(info->encoding, sizeof info->encoding, "UTF-8");
    info->separator = ';';
    if (k < 0)
        return ROLLUP_FAILED;
    if (k > 0)
        return -1;
    cp_store_add_values(r->store, stored);
    return 0;
}

/* 1 when the quarantine holds this file (same name and bytes) with its report. */
static int in_quarantine(const struct run *r, const struct entry *x, const char *sha)
{
    char path[PATH_MAX], hex[CP_SHA256_HEX];
    unsigned long long size;
    struct cp_err ignored;

    if (snprintf(path, sizeof path, "%s/%s.rapport.txt", r->qdir, x->name) >= (int)sizeof path ||
        access(path, F_OK) < 0)
        return 0;
    if (snprintf(path, sizeof path, "%s/%s", r->qdir, x->name) >= (int)sizeof path)
        return 0;
    return cp_sha256_file(path, hex, &size, &ignored) == 0 && strcmp(hex, sha) == 0;
}

/* 1 when the database already holds a file with these bytes, as far as the
 * read-ahead thread's connection can tell (0 when it cannot). */
static int seen_before(struct run *r, const char *sha)
{
    int rc;

    if (!r->peek_st)
        return 0;
    sqlite3_bind_text(r->peek_st, 1, sha, -1, SQLITE_STATIC);
    rc = sqlite3_step(r->peek_st);
    sqlite3_reset(r->peek_st);
    sqlite3_clear_bindings(r->peek_st);
    return rc == SQLITE_ROW;
}

static void prep_clear(void *ctx, void *slot)
{
    struct prep *p = slot;

    (void)ctx;
    cp_table_free(p->t);
    cp_rec_release(&p->rec);
    memset(p, 0, sizeof *p);
}

/* Hashes and sniffs file i, and when r->parse_ahead, parses it into a
 * record (a cp_ahead job; also called by the main thread alone). */
static void prepare(void *ctx, size_t i, void *slot)
{
    struct run *r = ctx;
    struct prep *p = slot;
    const struct entry *x = &r->files->v[i];
    struct cp_table_out out;
    unsigned char head[SNIFF_BYTES];
    size_t headn;

    memset(p, 0, sizeof *p);
    if (cp_sha256_file_head(x->path, p->sha, &p->size, head, sizeof head, &headn, &p->err) < 0)
        return;
    p->hashed = 1;
    p->f = sniff(head, headn, x->name, p->size);
    if (!r->parse_ahead || p->size > AHEAD_FILE_MAX || p->size > r->lim->max_file_bytes ||
        (p->f != F_CSV && p->f != F_XLSX && p->f != F_ODS) || seen_before(r, p->sha))
        return;
    cp_rec_init(&p->rec, AHEAD_RECORD_MAX);
    out = cp_rec_out(&p->rec);
    p->t = cp_table_new(&r->ref, x->name, &out);
    if (!p->t)
        goto again;
    p->rc = read_submission(&r->ahead_lim, p->f, x, p->t, &p->info, &p->why);
    if (p->rc == 0)
        p->rc = cp_table_finish(p->t, &p->why);
    /* Past a cap of reading ahead: the main thread reads it again. */
    if (p->rc == CP_READ_ABORTED ||
        (p->rc < 0 && (strcmp(p->why.code, "shared_strings_too_big") == 0 ||
                       strcmp(p->why.code, "too_many_merges") == 0)))
        goto again;
    p->parsed = 1;
    return;
again:
    cp_table_free(p->t);
    p->t = NULL;
    cp_rec_release(&p->rec);
}

static int ingest_one(struct run *r, const struct entry *x, struct prep *p,
                      const char **outcome, struct cp_err *err)
{
    const char *sha = p->sha;
    unsigned long long size = p->size;
    struct cp_file_meta m;
    struct cp_read_info info;
    struct cp_file_result res = {0};
    struct cp_table *t = NULL;
    struct cp_table_out out;
    struct cp_err why;
    char *known = NULL;
    enum format f;
    int rc, k;

    r->st->files++;
    if (!p->hashed) {
        *err = p->err;
        return -1;
    }
    f = p->f;
    m = (struct cp_file_meta){x->name, x->path, sha, size, x->received, x->date_source,
                              format_name(f), f == F_ROLLUP ? "region" : "signataire"};

    k = cp_store_known(r->store, &m, &known, err);
    if (k < 0)
        return -1;
    if (k == 1) {
        /* In the quarantine already: the run that read it was stopped
         * before its caller could take it out of the inbox. */
        *outcome = in_quarantine(r, x, sha) ? "quarantaine" : "deja_lu";
        r->st->already++;
        say(r, "déjà lu     %s\n", x->name);
        free(known);
        return 0;
    }
    if (k == 2) {
        *outcome = "doublon";
        r->st->duplicates++;
        say(r, "doublon     %s : mêmes octets que « %s », non compté deux fois\n", x->name,
            known);
        free(known);
        return 0;
    }

    if (size > r->lim->max_file_bytes)
        f = F_BINARY;
    if (cp_store_begin(r->store, &m, err) < 0)
        return -1;
    out = cp_store_table_out(r->store);
    if (p->parsed) {
        t = p->t; /* ours now */
        p->t = NULL;
    } else {
        t = cp_table_new(&r->ref, x->name, &out);
    }
    if (!t) {
        cp_store_abort(r->store);
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    }
    memset(&info, 0, sizeof info);
    cp_err_clear(&why);
    if (size > r->lim->max_file_bytes)
        rc = cp_err_set(&why, CP_EX_DATAERR, "too_large", "",
                        "fichier trop volumineux (%llu octets, au plus %llu) ; découpez-le",
                        size, r->lim->max_file_bytes);
    else if (f == F_ROLLUP)
        rc = read_rollup(r, x, &info, &why, err);
    else if (p->parsed) {
        /* Read ahead: the store gets the same values and rejections. */
        rc = cp_rec_replay(&p->rec, &out) < 0 ? CP_READ_ABORTED : p->rc;
        info = p->info;
        why = p->why;
    } else
        rc = read_submission(r->lim, f, x, t, &info, &why);
    if (rc == ROLLUP_FAILED) {
        cp_store_abort(r->store);
        goto fail;
    }
    if (rc == CP_READ_ABORTED) {
        /* A database write failed inside a callback: operational. */
        *err = *cp_store_error(r->store);
        cp_store_abort(r->store);
        goto fail;
    }
    if (rc == 0 && f != F_ROLLUP && !p->parsed)
        rc = cp_table_finish(t, &why);
    if (cp_store_describe(r->store, info.encoding, info.separator,
                          rc == 0 && f != F_ROLLUP ? cp_shape_name(cp_table_shape(t)) : NULL,
                          cp_table_sheet(t), err) < 0) {
        cp_store_abort(r->store);
        goto fail;
    }
    if (rc < 0) {
        if (cp_store_reject_file(r->store, &why, err) < 0) {
            cp_store_abort(r->store);
            goto fail;
        }
        /* Into the quarantine before the commit: killed in between, the
         * next run finds the file unread and quarantines it again (the
         * same copy and report); the other way round, it would find it
         * already read and never quarantine it. */
        if (quarantine(r->qdir, x, sha, &why, err) < 0) {
            cp_store_abort(r->store);
            goto fail;
        }
    }
    if (cp_store_commit(r->store, &res, err) < 0)
        goto fail;
    cp_crash_point("ingest-commit");
    cp_table_free(t);

    r->st->values += res.values;
    r->st->rejects += res.rejects;
    *outcome = rc < 0 ? "quarantaine" : res.status;
    if (rc < 0) {
        r->st->rejected++;
        say(r, "rejeté      %s : %s%s%s (code %s) ; mis en quarantaine\n", x->name, why.msg,
            why.where[0] ? " ; emplacement " : "", why.where, why.code);
    } else if (strcmp(res.status, "accepte") == 0) {
        r->st->accepted++;
        if (f == F_ROLLUP)
            say(r, "accepté     %s : remontée régionale, %lu ligne%s\n", x->name,
                res.values, res.values > 1 ? "s" : "");
        else
            say(r, "accepté     %s : %lu valeur%s\n", x->name, res.values,
                res.values > 1 ? "s" : "");
    } else if (strcmp(res.status, "accepte_partiel") == 0) {
        r->st->partial++;
        say(r, "accepté     %s : %lu valeur%s, %lu rejet%s (voir la vue rejets)\n", x->name,
            res.values, res.values > 1 ? "s" : "", res.rejects, res.rejects > 1 ? "s" : "");
    } else {
        r->st->rejected++;
        say(r, "rejeté      %s : %s, %lu rejet%s (voir la vue rejets)\n", x->name,
            res.rejects ? "aucune valeur retenue" : "aucune valeur", res.rejects,
            res.rejects > 1 ? "s" : "");
    }
    return 0;
fail:
    cp_table_free(t);
    cp_err_prefix(err, "%s : ", x->name);
    return -1;
}

/* ---- the run ----------------------------------------------------------------- */

/* 1 when the database holds at least one file. */
static int has_files(sqlite3 *db)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT 1 FROM fichier LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return 1;
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc != SQLITE_DONE;
}

/* The read-ahead thread, with its read-only connection; NULL when it cannot
 * be had (the main thread then prepares each file itself, streaming). */
static struct cp_ahead *ahead_start(struct run *r, const char *db_path)
{
    struct cp_ahead *a;

    if (!sqlite3_threadsafe()) /* two threads use SQLite */
        return NULL;
    r->ahead_lim = *r->lim;
    if (r->ahead_lim.max_shared_strings_bytes > AHEAD_TEXT_MAX)
        r->ahead_lim.max_shared_strings_bytes = AHEAD_TEXT_MAX;
    /* Without it every file is parsed ahead, even those already read. A
     * database without any file needs none: only a file of this run can be
     * known there, which the main thread finds as usual. */
    if (has_files(r->db) &&
        sqlite3_open_v2(db_path, &r->peek, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) ==
            SQLITE_OK) {
        sqlite3_busy_timeout(r->peek, 10000);
        if (sqlite3_prepare_v2(r->peek, "SELECT 1 FROM fichier WHERE empreinte = ?1 LIMIT 1", -1,
                               &r->peek_st, NULL) != SQLITE_OK)
            r->peek_st = NULL;
    }
    r->parse_ahead = 1;
    a = cp_ahead_start(r->files->n, AHEAD_WINDOW, AHEAD_BATCH, sizeof(struct prep), prepare, r);
    if (!a) {
        r->parse_ahead = 0;
        sqlite3_finalize(r->peek_st);
        sqlite3_close(r->peek);
        r->peek_st = NULL;
        r->peek = NULL;
    }
    return a;
}

static void default_quarantine(const char *db_path, char *out, size_t n)
{
    const char *slash = strrchr(db_path, '/');

    if (slash)
        snprintf(out, n, "%.*s/quarantaine", (int)(slash - db_path), db_path);
    else
        snprintf(out, n, "quarantaine");
}

int cp_ingest_run(const struct cp_ingest_opts *o, struct cp_ingest_stats *stats,
                  struct cp_err *err)
{
    struct run r;
    struct entries files = {0};
    struct receptions recs = {0};
    struct cp_ingest_stats local;
    struct cp_ahead *ahead = NULL;
    int status = CP_EX_OK;

    memset(&r, 0, sizeof r);
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    r.o = o;
    r.st = stats;
    r.lim = o->limits ? o->limits : &cp_limits_default;
    r.out = o->out ? o->out : stdout;
    if (o->quarantine_dir)
        snprintf(r.qdir, sizeof r.qdir, "%s", o->quarantine_dir);
    else
        default_quarantine(o->db_path, r.qdir, sizeof r.qdir);

    for (int i = 0; i < o->npaths; i++) {
        if (walk(&files, o->paths[i], 0, &recs, r.lim, err) < 0) {
            status = err->exit_status ? err->exit_status : CP_EX_NOINPUT;
            goto out;
        }
    }
    if (files.n) /* qsort(NULL, 0, …) is undefined */
        qsort(files.v, files.n, sizeof *files.v, entry_cmp);
    cp_afile_clean_stale(r.qdir); /* what a killed run left half-copied */

    if (cp_ref_load(&r.ref, o->data_dir ? o->data_dir : cp_ref_default_datadir(), err) < 0) {
        status = CP_EX_CONFIG;
        goto out;
    }
    /* A row per value: the generation moves once per file (cp_db_begin). */
    if (cp_db_open(&r.db, o->db_path, CP_DB_BULK, err) < 0 ||
        cp_db_sync_ref(r.db, &r.ref, err) < 0 || cp_store_new(&r.store, r.db, &r.ref, err) < 0) {
        status = err->exit_status ? err->exit_status : CP_EX_IOERR;
        goto out;
    }
    r.files = &files;
    if (files.n > 1 && !o->no_read_ahead)
        ahead = ahead_start(&r, o->db_path);
    for (size_t i = 0; i < files.n; i++) {
        const char *outcome = NULL;
        struct prep alone, *p = &alone;
        int rc;

        if (ahead)
            p = cp_ahead_take(ahead, i);
        else
            prepare(&r, i, p);
        rc = ingest_one(&r, &files.v[i], p, &outcome, err);
        prep_clear(&r, p);
        if (ahead)
            cp_ahead_release(ahead, i);
        if (rc < 0) {
            status = err->exit_status ? err->exit_status : CP_EX_IOERR;
            goto out;
        }
        if (o->on_file)
            o->on_file(o->on_file_ctx, files.v[i].path, outcome, i + 1, files.n);
    }
    if (stats->rejected || stats->partial)
        status = CP_EX_DATAERR;
out:
    cp_ahead_stop(ahead, prep_clear);
    sqlite3_finalize(r.peek_st);
    sqlite3_close(r.peek);
    cp_store_free(r.store);
    if (r.db) {
        struct cp_err cerr;
        if (cp_db_close(r.db, &cerr) < 0 && status == CP_EX_OK) {
            *err = cerr;
            status = CP_EX_IOERR;
        }
    }
    cp_ref_release(&r.ref);
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i].path);
    free(files.v);
    receptions_release(&recs);
    return status;
}
