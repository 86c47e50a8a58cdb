/*
 * Charts (see charts.h): one gnuplot process per run, fed constant
 * commands and data files through a socket. gnuplot draws each chart twice,
 * as SVG and as PDF (pdfcairo, text as real text); poppler + cairo turn the
 * PDF into the PNG (raster) on a thread pool, which is far faster than
 * asking gnuplot for pngcairo, and the dossier draws the same PDF as
 * vectors.
 */
#include "render/charts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <isa-l/igzip_lib.h>
#include <png.h>

#include <cairo-pdf.h>
#include <poppler.h>

#include "common/afile.h"
#include "common/buf.h"
#include "common/fmt.h"
#include "render/ftlock.h"
#include "render/model.h"

#define NBSP "\xC2\xA0"

/* SVG size in pixels (gnuplot), its size in points (PDF), PNG scale. */
enum { SVG_W = 800, SVG_H = 450 };
#define PX_TO_PT 0.75
#define PNG_SCALE 2.0
/* Biggest PDF or SVG gnuplot may write for one chart. */
#define CHART_MAX ((size_t)64 << 20)
/* How long one chart may take before gnuplot is deemed stuck. */
#define ACK_TIMEOUT_MS 120000

struct cp_plot {
    pid_t pid;
    int fd;                 /* our end of the socket: gnuplot's stdin and stdout */
    char dir[256];          /* private folder: HOME, working folder, data, SVG */
    char errlog[300];       /* gnuplot's stderr */
    unsigned long seq;      /* chart counter: names the files in dir */
    char line[512];         /* what gnuplot printed, not yet a whole line */
    size_t linelen;
    int failed;             /* a chart failed during the run */
    int dead;               /* gnuplot is gone or stuck */
    /* Converts every job's charts (SVG to files) on every processor while
     * the caller goes on; NULL: conversions run in the caller's thread. */
    GThreadPool *pool;
};

static void convert_task(gpointer data, gpointer unused);

/*
 * poppler draws separate documents in separate threads (each thread opens
 * its own document) once the two things it does not guard are taken care
 * of, in ftlock.c: its FreeType faces, and the global state it builds
 * lazily on its first document (cp_poppler_warm_up, called before the
 * conversion threads start).
 */
struct cp_chart_batch;
static void drain(struct cp_chart_batch *b, size_t from);

/* One chart to draw. */
struct spec {
    enum cp_chart_kind kind;
    size_t ind;
};

/* Colours, as gnuplot's "rgb variable" integers. */
static long colour(const char *hex)
{
    return strtol(hex + 1, NULL, 16);
}

/* ---- text and numbers in data files -------------------------------- */

/* Length of the valid UTF-8 sequence at p, 0 when invalid. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        n = 2, cp = p[0] & 0x1Fu;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        n = 3, cp = p[0] & 0x0Fu;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        n = 4, cp = p[0] & 0x07u;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

/*
 * Writes n bytes of text as (part of) one field of a tab-separated gnuplot
 * data file. gnuplot cuts a field at a double quote and then reads
 * backslash escapes, so a backslash is doubled and a quote becomes the
 * 4-digit octal escape \0042 (a 4-digit escape never swallows a digit
 * that follows). Tabs, line ends and other control characters become
 * spaces; bytes that are not UTF-8 become '?', so that the SVG stays
 * well-formed XML.
 */
static void tsv_textn(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    while (p < end && *p) {
        size_t k = utf8_len(p);

        if (k == 0 || p + k > end) {
            fputc('?', f);
            p++;
        } else if (k > 1) {
            fwrite(p, 1, k, f);
            p += k;
        } else if (*p == '\\') {
            fputs("\\\\", f);
            p++;
        } else if (*p == '"') {
            fputs("\\0042", f);
            p++;
        } else {
            fputc(*p < 0x20 || *p == 0x7F ? ' ' : *p, f);
            p++;
        }
    }
}

static void tsv_text(FILE *f, const char *s)
{
    tsv_textn(f, s ? s : "", s ? strlen(s) : 0);
}

/* Bytes of the character at p (1 for a byte that is not UTF-8). */
static size_t char_len(const char *p)
{
    size_t k = utf8_len((const unsigned char *)p);
    return k ? k : 1;
}

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * Writes a label over at most maxlines lines of about width characters,
 * broken at spaces; what does not fit ends with "…". Line breaks are the
 * "\\n" escape, the only escape written here on purpose: text that is too
 * long otherwise pushes gnuplot's plot area off the canvas.
 */
static void tsv_label(FILE *f, const char *s, size_t width, int maxlines)
{
    const char *p = s ? s : "";

    for (int line = 0; *p && line < maxlines; line++) {
        const char *q = p, *cut = NULL;
        size_t nchars = 0;

        while (*q && nchars < width) {
            if (is_space(*q) && q > p)
                cut = q;
            q += char_len(q);
            nchars++;
        }
        if (!*q) {
            tsv_textn(f, p, (size_t)(q - p));
            return;
        }
        if (line == maxlines - 1) {
            /* Last line: keep width - 1 characters and the ellipsis. */
            const char *e = p;
            for (size_t k = 0; k + 1 < width && *e; k++)
                e += char_len(e);
            tsv_textn(f, p, (size_t)(e - p));
            fputs("…", f);
            return;
        }
        if (!cut)
            cut = q;
        tsv_textn(f, p, (size_t)(cut - p));
        p = cut;
        while (is_space(*p))
            p++;
        if (*p)
            fputs("\\n", f);
    }
}

/* Widths of labels: names under the bars, titles in the key. */
enum { NAME_CHARS = 40, TITLE_CHARS = 95, TITLE_LINES = 3 };

/* A number as gnuplot reads it, whatever LC_NUMERIC says. */
static const char *cnum(double v, char *out, size_t n)
{
    snprintf(out, n, "%.10g", v);
    for (char *c = out; *c; c++)
        if (*c == ',')
            *c = '.';
    return out;
}

/* ---- the gnuplot process ---------------------------------------------- */

/* 1 when s holds only characters that need no quoting anywhere. */
static int safe_path(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '/' || *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* gnuplot's full path, looked up in PATH (execve does not search). */
static int find_gnuplot(char *out, size_t n)
{
    const char *path = getenv("PATH");
    const char *p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";

    while (*p) {
        size_t len = strcspn(p, ":");
        if (len > 0 && (size_t)snprintf(out, n, "%.*s/gnuplot", (int)len, p) < n &&
            access(out, X_OK) == 0)
            return 0;
        p += len;
        if (*p == ':')
            p++;
    }
    return -1;
}

/* The end of gnuplot's stderr from offset from, on one line, for errors. */
static void gp_stderr(const struct cp_plot *p, off_t from, char *out, size_t n)
{
    char buf[700];
    struct stat sb;
    ssize_t r = 0;
    int fd = open(p->errlog, O_RDONLY | O_CLOEXEC);
    size_t o = 0;

    out[0] = '\0';
    if (fd < 0)
        return;
    if (fstat(fd, &sb) == 0) {
        off_t start = sb.st_size - (off_t)(sizeof buf - 1);
        if (start < from)
            start = from;
        if (start < 0)
            start = 0;
        if (lseek(fd, start, SEEK_SET) >= 0)
            r = read(fd, buf, sizeof buf - 1);
    }
    close(fd);
    if (r <= 0)
        return;
    buf[r] = '\0';
    for (ssize_t i = 0; i < r && o + 4 < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n') {
            if (o > 0 && out[o - 1] != ' ')
                out[o++] = ' ';
        } else if (c == '\t' || c == '\r') {
            out[o++] = ' ';
        } else if (c >= 0x20) {
            out[o++] = (char)c;
        }
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

static off_t errlog_size(const struct cp_plot *p)
{
    struct stat sb;
    return stat(p->errlog, &sb) == 0 ? sb.st_size : 0;
}

static int gp_fail(struct cp_plot *p, off_t from, struct cp_err *err, const char *what)
{
    char tail[600];

    gp_stderr(p, from, tail, sizeof tail);
    p->failed = 1;
    return cp_err_set(err, CP_EX_SOFTWARE, "gnuplot", NULL, "gnuplot : %s%s%s", what,
                      tail[0] ? " : " : "", tail);
}

static int gp_send(struct cp_plot *p, const char *s, size_t n, struct cp_err *err)
{
    while (n > 0) {
        /* MSG_NOSIGNAL: a dead gnuplot gives EPIPE, not a SIGPIPE. */
        ssize_t w = send(p->fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            p->dead = 1;
            return gp_fail(p, 0, err, "le processus ne lit plus ses commandes");
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * Reads gnuplot's output until the line "tag seq status" and returns the
 * status (GPVAL_ERRNO, 0 when the chart was drawn), or -1 with err when
 * gnuplot died or stayed silent past the timeout.
 */
static int gp_wait(struct cp_plot *p, const char *tag, unsigned long seq, struct cp_err *err)
{
    size_t taglen = strlen(tag);

    for (;;) {
        char *nl = memchr(p->line, '\n', p->linelen);
        struct pollfd pfd = {p->fd, POLLIN, 0};
        ssize_t r;
        int pr;

        while (nl) {
            size_t len = (size_t)(nl - p->line);
            unsigned long s;
            int status, found = 0;

            *nl = '\0';
            if (len > taglen && strncmp(p->line, tag, taglen) == 0 &&
                sscanf(p->line + taglen, " %lu %d", &s, &status) == 2 && s == seq)
                found = 1;
            memmove(p->line, nl + 1, p->linelen - len - 1);
            p->linelen -= len + 1;
            if (found)
                return status;
            nl = memchr(p->line, '\n', p->linelen);
        }
        if (p->linelen == sizeof p->line)
            p->linelen = 0; /* a line too long to be ours */
        pr = poll(&pfd, 1, ACK_TIMEOUT_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            p->dead = 1;
            return gp_fail(p, 0, err, "aucune réponse après 120 secondes");
        }
        r = read(p->fd, p->line + p->linelen, sizeof p->line - p->linelen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            p->dead = 1;
            return gp_fail(p, 0, err, "le processus s'est arrêté");
        }
        p->linelen += (size_t)r;
    }
}

/* Removes the files of the private folder, then the folder. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];

    if (d) {
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The folder for private gnuplot folders: $TMPDIR when plain, else /tmp. */
/* 1 when dir is a folder on a tmpfs this process may write in. */
static int writable_tmpfs(const char *dir)
{
    struct statfs fs;

    return statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC && access(dir, W_OK | X_OK) == 0;
}

/*
 * Where gnuplot's private folder goes: $TMPDIR when set; else a tmpfs
 * ($XDG_RUNTIME_DIR, then /dev/shm) when there is one, since a run creates
 * and removes about 1,700 small data and command files there (0.3 s of a
 * national run on ext4 /tmp); else /tmp.
 */
static const char *plot_tmpdir(void)
{
    const char *tmpdir = getenv("TMPDIR");
    const char *runtime = getenv("XDG_RUNTIME_DIR");

    /* The folder's name goes into gnuplot's working folder only, but keep
     * it plain anyway: fall back for an odd one. */
    if (tmpdir && safe_path(tmpdir) && strlen(tmpdir) <= 200)
        return tmpdir;
    if (runtime && safe_path(runtime) && strlen(runtime) <= 200 && writable_tmpfs(runtime))
        return runtime;
    if (writable_tmpfs("/dev/shm"))
        return "/dev/shm";
    return "/tmp";
}

/* Removes the private folders ("calpae-plot-PID-XXXXXX") that killed
 * processes left in tmpdir; a running process's folder is kept. */
static void remove_stale_dirs(const char *tmpdir)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[PATH_MAX];

    if (!d)
        return;
    while ((e = readdir(d))) {
        char *end;
        long pid;

        if (strncmp(e->d_name, "calpae-plot-", 12) != 0)
            continue;
        errno = 0;
        pid = strtol(e->d_name + 12, &end, 10);
        if (errno || pid <= 0 || *end != '-' || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name) < sizeof path)
            remove_dir(path);
    }
    closedir(d);
}

/* Settings for every chart; constant text only. */
static const char gp_setup[] = "set encoding utf8\n"
                               "set print '-'\n"
                               "print 'CP_READY 0 0'\n";

void cp_plot_clean_stale(void)
{
    remove_stale_dirs(plot_tmpdir());
}

int cp_plot_open(struct cp_plot **out, struct cp_err *err)
{
    struct cp_plot *p = calloc(1, sizeof *p);
    const char *tmpdir = plot_tmpdir();
    char gnuplot[PATH_MAX], home[PATH_MAX + 8], path[PATH_MAX + 8];
    char *const argv[] = {"gnuplot", "-d", NULL};
    char *envp[5];
    int sv[2] = {-1, -1}, errfd = -1, rc = -1;

    *out = NULL;
    if (!p)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    p->fd = -1;
    p->pid = -1;
    if (find_gnuplot(gnuplot, sizeof gnuplot) < 0) {
        cp_err_set(err, CP_EX_CONFIG, "gnuplot", NULL,
                   "gnuplot est introuvable dans le PATH (paquet gnuplot-nox)");
        goto out;
    }
    /* The process id in the name tells a killed run's folder (removed here)
     * from a running one's. */
    remove_stale_dirs(tmpdir);
    snprintf(p->dir, sizeof p->dir, "%s/calpae-plot-%ld-XXXXXX", tmpdir, (long)getpid());
    if (!mkdtemp(p->dir)) {
        cp_err_set(err, CP_EX_CANTCREAT, "io", p->dir,
                   "impossible de créer un dossier temporaire dans %s : %s", tmpdir,
                   strerror(errno));
        p->dir[0] = '\0';
        goto out;
    }
    snprintf(p->errlog, sizeof p->errlog, "%s/gnuplot.err", p->dir);
    errfd = open(p->errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (errfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        cp_err_set(err, CP_EX_SOFTWARE, "io", NULL, "lancement de gnuplot impossible : %s",
                   strerror(errno));
        goto out;
    }
    /* A minimal environment: no GNUPLOT_* variable, HOME without a
     * ~/.gnuplot, UTF-8 text. */
    snprintf(home, sizeof home, "HOME=%s", p->dir);
    snprintf(path, sizeof path, "PATH=%s", "/usr/bin:/bin");
    envp[0] = home;
    envp[1] = path;
    envp[2] = "LC_ALL=C.UTF-8";
    envp[3] = "TMPDIR=/tmp";
    envp[4] = NULL;
    p->pid = fork();
    if (p->pid < 0) {
        cp_err_set(err, CP_EX_SOFTWARE, "io", NULL, "lancement de gnuplot impossible : %s",
                   strerror(errno));
        goto out;
    }
    if (p->pid == 0) {
        /* Child: only async-signal-safe calls until execve. */
        if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0 || dup2(errfd, 2) < 0 ||
            chdir(p->dir) < 0)
            _exit(127);
        close_range(3, ~0u, 0);
        execve(gnuplot, argv, envp);
        _exit(127);
    }
    close(sv[1]);
    sv[1] = -1;
    p->fd = sv[0];
    sv[0] = -1;
    if (gp_send(p, gp_setup, sizeof gp_setup - 1, err) < 0 ||
        gp_wait(p, "CP_READY", 0, err) < 0) {
        cp_err_prefix(err, "démarrage : ");
        goto out;
    }
    /* One conversion thread per processor for the whole run (each keeps a
     * 5.8 MB raster: the count also bounds the memory). Exclusive: the
     * threads, and their rasters, end with the pool. */
    cp_poppler_warm_up();
    p->pool = g_thread_pool_new(convert_task, NULL, (gint)g_get_num_processors(), TRUE, NULL);
    *out = p;
    p = NULL;
    rc = 0;
out:
    if (errfd >= 0)
        close(errfd);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (p) {
        struct cp_err ignored;
        cp_plot_close(p, &ignored);
    }
    return rc;
}

int cp_plot_close(struct cp_plot *p, struct cp_err *err)
{
    int status = 0, rc = 0;
    pid_t w = 0;

    if (!p)
        return 0;
    if (p->pool)
        g_thread_pool_free(p->pool, FALSE, TRUE); /* waits for queued conversions */
    p->pool = NULL;
    if (p->fd >= 0) {
        /* End of input: gnuplot exits. */
        shutdown(p->fd, SHUT_WR);
        if (!p->dead) {
            struct pollfd pfd = {p->fd, POLLIN, 0};
            char sink[256];
            while (poll(&pfd, 1, 10000) > 0 && read(p->fd, sink, sizeof sink) > 0)
                ;
        }
        close(p->fd);
    }
    if (p->pid > 0) {
        for (int i = 0; i < 200 && (w = waitpid(p->pid, &status, WNOHANG)) == 0; i++) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (w == 0) {
            kill(p->pid, SIGKILL);
            w = waitpid(p->pid, &status, 0);
            rc = cp_err_set(err, CP_EX_SOFTWARE, "gnuplot", NULL,
                            "gnuplot ne s'est pas arrêté et a été interrompu");
        } else if (w < 0) {
            rc = cp_err_set(err, CP_EX_SOFTWARE, "gnuplot", NULL,
                            "gnuplot : attente du processus impossible : %s", strerror(errno));
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char tail[600], what[120];
            if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                snprintf(what, sizeof what, "n'a pas pu être lancé");
            else if (WIFEXITED(status))
                snprintf(what, sizeof what, "s'est terminé avec le statut %d%s",
                         WEXITSTATUS(status),
                         p->failed ? " (des graphiques ont échoué)" : "");
            else
                snprintf(what, sizeof what, "a été tué par le signal %d", WTERMSIG(status));
            gp_stderr(p, 0, tail, sizeof tail);
            rc = cp_err_set(err, CP_EX_SOFTWARE, "gnuplot", NULL, "gnuplot %s%s%s", what,
                            tail[0] ? " : " : "", tail);
        }
    }
    if (rc == 0 && p->failed)
        rc = cp_err_set(err, CP_EX_SOFTWARE, "gnuplot", NULL,
                        "gnuplot : des graphiques ont échoué pendant ce rendu");
    if (p->dir[0])
        remove_dir(p->dir);
    free(p);
    return rc;
}

/* ---- scales --------------------------------------------------------- */

struct axis {
    double lo, hi, step;
    int decimals;
};

/* A scale from lo to hi with about five round steps, room above for the
 * value labels. */
static void axis_fit(struct axis *a, double vmin, double vmax)
{
    double lo = fmin(0.0, vmin), hi = fmax(0.0, vmax), raw, mag, f;

    if (isnan(lo) || isnan(hi)) {
        lo = 0;
        hi = 1;
    }
    hi = hi + (hi - lo) * 0.12;
    if (hi - lo <= 0)
        hi = lo + 1;
    raw = (hi - lo) / 5.0;
    mag = pow(10.0, floor(log10(raw)));
    f = raw / mag;
    a->step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
    a->lo = floor(lo / a->step) * a->step;
    a->hi = ceil(hi / a->step) * a->step;
    a->decimals = 0;
    if (a->step < 1)
        a->decimals = (int)ceil(-log10(a->step) - 1e-9);
    if (fmod(a->step / pow(10.0, -a->decimals), 1.0) > 1e-9)
        a->decimals++;
}

/* A tick label in the indicator's unit: "20 %", "1 000", "30 j". */
static void tick_label(const struct cp_mind *d, int pct, double v, int decimals, char *out,
                       size_t n)
{
    char num[CP_FMT_MAX];

    cp_fmt_num_trim(v, decimals, num, sizeof num);
    if (pct || strcmp(d->unit, "pct") == 0)
        snprintf(out, n, "%s" NBSP "%%", num);
    else if (strcmp(d->unit, "eur") == 0)
        snprintf(out, n, "%s" NBSP "€", num);
    else if (strcmp(d->unit, "jours") == 0)
        snprintf(out, n, "%s" NBSP "j", num);
    else
        snprintf(out, n, "%s", num);
}

/* ---- one chart ---------------------------------------------------------- */

struct chartfiles {
    /* names in the private folder */
    char data[64], line[64], ticks[64], title[64], svg[64], pdf[64], cmds[64], both[64];
};

static FILE *open_data(const struct cp_plot *p, const char *name, struct cp_err *err)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", p->dir, name);
    f = fopen(path, "wxe");
    if (!f)
        cp_err_set(err, CP_EX_CANTCREAT, "io", path, "impossible de créer « %s » : %s", path,
                   strerror(errno));
    return f;
}

static int close_data(FILE *f, const char *name, struct cp_err *err)
{
    int bad = ferror(f);

    if (fclose(f) == EOF || bad)
        return cp_err_set(err, CP_EX_IOERR, "io", name,
                          "écriture du fichier de données « %s » impossible", name);
    return 0;
}

/* The ticks file: value, then its label. */
static int write_ticks(const struct cp_plot *p, const struct chartfiles *cf, const struct axis *a,
                       const struct cp_mind *d, int pct, struct cp_err *err)
{
    FILE *f = open_data(p, cf->ticks, err);
    char num[64], lab[CP_FMT_MAX + 8];

    if (!f)
        return -1;
    fputs("valeur\tlibelle\n", f);
    for (int k = 0; k <= 40; k++) {
        double v = a->lo + k * a->step;
        if (v > a->hi + a->step * 1e-6)
            break;
        tick_label(d, pct, v, a->decimals, lab, sizeof lab);
        fprintf(f, "%s\t", cnum(v, num, sizeof num));
        tsv_text(f, lab);
        fputc('\n', f);
    }
    return close_data(f, cf->ticks, err);
}

/* A reference line from (x0, y0) to (x1, y1), titled through its header. */
static int write_line(const struct cp_plot *p, const struct chartfiles *cf, double x0, double y0,
                      double x1, double y1, const char *title, struct cp_err *err)
{
    FILE *f = open_data(p, cf->line, err);
    char a[64], b[64], c[64], d[64];

    if (!f)
        return -1;
    fputs("x\t", f);
    tsv_label(f, title, TITLE_CHARS, 1);
    fprintf(f, "\n%s\t%s\n%s\t%s\n", cnum(x0, a, sizeof a), cnum(y0, b, sizeof b),
            cnum(x1, c, sizeof c), cnum(y1, d, sizeof d));
    return close_data(f, cf->line, err);
}

/* The title panel's text: the heading on up to two lines, then the
 * subtitle. */
static int write_title(const struct cp_plot *p, const struct chartfiles *cf, const char *head,
                       const char *sub, struct cp_err *err)
{
    FILE *f = open_data(p, cf->title, err);

    if (!f)
        return -1;
    fputs("titre\n", f);
    tsv_label(f, head, TITLE_CHARS, 2);
    fputs("\\n", f);
    tsv_label(f, sub, TITLE_CHARS, 1);
    fputc('\n', f);
    return close_data(f, cf->title, err);
}

/*
 * Commands that open a chart (after its terminal, see cmd_chart): the data
 * file format, then a multiplot whose top panel draws the title from its
 * data file (a title inside a command would be a place for text to run as
 * code). Constant text and numbers only.
 */
static void cmd_begin(struct cp_buf *c, const struct chartfiles *cf)
{
    cp_buf_addf(c,
                "reset\n"
                "set datafile separator tab\n"
                "set datafile commentschars ''\n"
                "set decimalsign ','\n"
                "set multiplot\n"
                "set origin 0,0.84\n"
                "set size 1,0.16\n"
                "set lmargin 0\n"
                "set rmargin 0\n"
                "set tmargin 0\n"
                "set bmargin 0\n"
                "unset border\n"
                "unset tics\n"
                "unset key\n"
                "set xrange [0:1]\n"
                "set yrange [0:1]\n"
                "plot '%s' skip 1 using (0.5):(0.5):1 with labels font ',12'\n"
                "set origin 0,0\n"
                "set size 1,0.84\n"
                "unset lmargin\n"
                "set rmargin 5\n"
                "unset tmargin\n"
                "unset bmargin\n"
                "set border 3 lc rgb '#555555'\n"
                "set key outside bottom center vertical Left reverse\n"
                "set style fill solid 0.85 noborder\n",
                cf->title);
}

/* Ranges of a horizontal bar chart: n bars from the top, the values on
 * x. */
static void cmd_hbars(struct cp_buf *c, const struct axis *a, int n)
{
    char lo[64], hi[64], top[64];

    cp_buf_addf(c,
                "set grid xtics lc rgb '#DDDDDD' lt 1\n"
                "set xtics () nomirror\n"
                "set ytics nomirror scale 0\n"
                "set xrange [%s:%s]\n"
                "set yrange [%s:-0.6]\n",
                cnum(a->lo, lo, sizeof lo), cnum(a->hi, hi, sizeof hi),
                cnum(n - 0.4, top, sizeof top));
}

/* The bars, their ticks, the reference line when there is one (line: its
 * style, a constant), and the value labels on top. */
static void cmd_hbars_plot(struct cp_buf *c, const struct chartfiles *cf, const char *line)
{
    cp_buf_addf(c,
                "plot '%s' skip 1 using (($2)/2):0:(abs($2)/2):(0.35):3:ytic(1)"
                " with boxxyerror lc rgb variable notitle,"
                " '%s' skip 1 using 1:(NaN):xtic(2) notitle,",
                cf->data, cf->ticks);
    if (line)
        cp_buf_addf(c, " '%s' using 1:2 with lines %s title columnheader(2),", cf->line, line);
    cp_buf_addf(c, " '%s' skip 1 using 2:0:4 with labels left offset 0.5,0 font ',9' notitle",
                cf->data);
}

/*
 * The whole chart: its commands (body, from cmd_begin on) go to a command
 * file that a second one loads twice, once with the SVG terminal and once
 * with pdfcairo (reset keeps the terminal and the output). Only the load of
 * that second file, the closing commands and the acknowledgement go through
 * gnuplot's standard input: it reads it one byte per system call, with two
 * signal-mask calls around each byte (three system calls a byte: the 440
 * bytes a chart once sent that way cost gnuplot about 1 ms). An error in
 * either drawing stops the loads, not what follows on the standard input:
 * the output is closed and the acknowledgement reports GPVAL_ERRNO.
 * pdfcairo sizes text at 96 dpi and draws a line of width 1 half a point
 * wide where the SVG's is one pixel (0.75 pt), hence its fontscale
 * (0.75 x 0.75) and linewidth 1.5: both files then show the same sizes.
 * Constant text and numbers only.
 */
static int cmd_chart(const struct cp_plot *p, struct cp_buf *out, const struct cp_buf *body,
                     const struct chartfiles *cf, unsigned long seq, struct cp_err *err)
{
    FILE *f = open_data(p, cf->cmds, err);

    if (!f)
        return -1;
    fwrite(body->data, 1, body->len, f);
    if (close_data(f, cf->cmds, err) < 0 || !(f = open_data(p, cf->both, err)))
        return -1;
    fprintf(f,
            "set terminal svg size %d,%d noenhanced font 'DejaVu Sans,11'"
            " background rgb 'white'\n"
            "set output '%s'\n"
            "load '%s'\n"
            "unset multiplot\n"
            "unset output\n"
            "set terminal pdfcairo size %.6fin,%.6fin noenhanced"
            " font 'DejaVu Sans,11' fontscale 0.5625 linewidth 1.5 butt"
            " background rgb 'white'\n"
            "set output '%s'\n"
            "load '%s'\n",
            SVG_W, SVG_H, cf->svg, cf->cmds, SVG_W * PX_TO_PT / 72, SVG_H * PX_TO_PT / 72,
            cf->pdf, cf->cmds);
    if (close_data(f, cf->both, err) < 0)
        return -1;
    if (cp_buf_addf(out,
                    "load '%s'\n"
                    "unset multiplot\n"
                    "unset output\n"
                    "print sprintf('CP_CHART %%d %%d', %lu, GPVAL_ERRNO)\n"
                    "reset errors\n",
                    cf->both, seq) < 0)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    return 0;
}

static int ind_is(const struct cp_mind *d, const char *nature)
{
    return strcmp(d->nature, nature) == 0;
}

/* Horizontal bars by row (signatory or région), the zone's value as a
 * line. */
static int chart_bars(const struct cp_plot *p, const struct cp_model *m, size_t i,
                      const struct chartfiles *cf, struct cp_buf *c, struct cp_err *err)
{
    const struct cp_mind *d = &m->ind[i];
    const struct cp_magg *g = &m->agg[i * CP_NGROUPS + (size_t)d->group];
    double vmin = 0, vmax = 0, line = NAN;
    char lab[160], per[40], num[64], head[1024];
    int nbars = 0, nexcl = 0;
    struct axis a;
    FILE *f;

    f = open_data(p, cf->data, err);
    if (!f)
        return -1;
    fputs("nom\tvaleur\tcouleur\tetiquette\n", f);
    for (size_t u = 0; u < m->nunit; u++) {
        const struct cp_mcell *cell = cp_model_cell(m, u, i);
        int gi = cp_group_of(m->unit[u].type);

        if (!cell->present || isnan(cell->value))
            continue;
        if (!m->national && (gi < 0 || !(d->groups & (1u << gi))))
            continue;
        tsv_label(f, m->unit[u].name, NAME_CHARS, 1);
        cp_fmt_value(d, cell->value, lab, sizeof lab);
        fprintf(f, "\t%s\t%ld\t", cnum(cell->value, num, sizeof num),
                cell->excluded ? colour("#B0B0B0") : colour("#2E6DA4"));
        tsv_text(f, lab);
        fputc('\n', f);
        vmin = fmin(vmin, cell->value);
        vmax = fmax(vmax, cell->value);
        nbars++;
        nexcl += cell->excluded;
    }
    if (close_data(f, cf->data, err) < 0)
        return -1;
    /* The reference line: the zone's value for a rate or an average; for
     * counts the zone's total is the sum of the bars, so the line shows
     * the mean per contributor instead. */
    lab[0] = '\0';
    if (g->present && !isnan(g->value)) {
        char v[CP_FMT_MAX + 8];
        const char *where = m->national ? "nationale" : "régionale";
        if (ind_is(d, "ratio") || ind_is(d, "moyenne")) {
            line = g->value;
            cp_fmt_value(d, line, v, sizeof v);
            snprintf(lab, sizeof lab, "Valeur %s (%s) : %s", where, cp_group_name(d->group), v);
        } else if (g->covered > 0) {
            line = g->value / g->covered;
            cp_fmt_value(d, round(line * 10) / 10, v, sizeof v);
            snprintf(lab, sizeof lab, "Moyenne %s par %s (%s) : %s", where,
                     m->national ? "région" : "signataire", cp_group_name(d->group), v);
        }
    }
    if (!isnan(line)) {
        vmin = fmin(vmin, line);
        vmax = fmax(vmax, line);
    }
    axis_fit(&a, vmin, vmax);
    cp_period_label(m->period, per, sizeof per);
    snprintf(head, sizeof head, "%s — %s", d->label, per);
    if (write_title(p, cf, head, m->national ? "Valeur par région" : "Valeur par signataire",
                    err) < 0 ||
        write_ticks(p, cf, &a, d, 0, err) < 0 ||
        (!isnan(line) && write_line(p, cf, line, -0.6, line, nbars - 0.4, lab, err) < 0))
        return -1;
    cmd_begin(c, cf);
    cmd_hbars(c, &a, nbars);
    cmd_hbars_plot(c, cf, isnan(line) ? NULL : "lw 2 lc rgb '#C0392B'");
    if (nexcl)
        cp_buf_adds(c, ", NaN with boxes lc rgb '#B0B0B0'"
                       " title 'Valeur exclue des agrégats (anomalie bloquante)'");
    return 0;
}

/* The zone's value over the periods of the same kind; partial points show
 * their coverage. */
static int chart_evolution(const struct cp_plot *p, const struct cp_model *m, size_t i,
                           const struct chartfiles *cf, struct cp_buf *c, struct cp_err *err)
{
    const struct cp_mind *d = &m->ind[i];
    double vmin = 0, vmax = 0;
    char lab[160], num[64], v[CP_FMT_MAX + 8], head[1024], lo[64], hi[64];
    struct axis a;
    int n = 0;
    FILE *f = open_data(p, cf->data, err);

    if (!f)
        return -1;
    fputs("periode\tvaleur\tetiquette\n", f);
    for (size_t k = 0; k < m->nperiods; k++) {
        const struct cp_magg *s = &m->series[k * m->nind + i];

        if (!s->present || isnan(s->value))
            continue;
        cp_fmt_value(d, s->value, v, sizeof v);
        if (s->partial)
            snprintf(lab, sizeof lab, "%s (%d/%d)", v, s->covered, s->expected);
        else
            snprintf(lab, sizeof lab, "%s", v);
        tsv_text(f, m->periods[k]);
        fprintf(f, "\t%s\t", cnum(s->value, num, sizeof num));
        tsv_text(f, lab);
        fputc('\n', f);
        vmin = fmin(vmin, s->value);
        vmax = fmax(vmax, s->value);
        n++;
    }
    if (close_data(f, cf->data, err) < 0)
        return -1;
    axis_fit(&a, vmin, vmax);
    snprintf(head, sizeof head, "%s — %s (%s)", d->label, m->zone_name,
             cp_group_name(d->group));
    if (write_title(p, cf, head,
                    m->national ? "Évolution de la valeur nationale"
                                : "Évolution de la valeur régionale",
                    err) < 0 ||
        write_ticks(p, cf, &a, d, 0, err) < 0)
        return -1;
    cmd_begin(c, cf);
    cp_buf_addf(c,
                "unset key\n"
                "set grid ytics lc rgb '#DDDDDD' lt 1\n"
                "set ytics () nomirror\n"
                "set xtics nomirror scale 0\n"
                "set xrange [-0.5:%s]\n"
                "set yrange [%s:%s]\n"
                "plot '%s' skip 1 using 0:2:xtic(1) with linespoints lw 2 pt 7 ps 1.2"
                " lc rgb '#2E6DA4' notitle,"
                " '' skip 1 using 0:2:3 with labels offset 0,1.1 font ',9' notitle,"
                " '%s' skip 1 using (NaN):1:ytic(2) notitle",
                cnum(n - 0.5, num, sizeof num), cnum(a.lo, lo, sizeof lo),
                cnum(a.hi, hi, sizeof hi), cf->data, cf->ticks);
    return 0;
}

/* Value as a share of the target per signatory; 100 % is the target. */
static int chart_targets(const struct cp_plot *p, const struct cp_model *m, size_t i,
                         const struct chartfiles *cf, struct cp_buf *c, struct cp_err *err)
{
    const struct cp_mind *d = &m->ind[i];
    int baisse = strcmp(d->sens, "baisse") == 0, neutre = strcmp(d->sens, "neutre") == 0;
    double vmax = 100;
    char lab[64], num[64], per[40], head[1024];
    struct axis a;
    int n = 0;
    FILE *f = open_data(p, cf->data, err);

    if (!f)
        return -1;
    fputs("nom\tvaleur\tcouleur\tetiquette\n", f);
    for (size_t u = 0; u < m->nunit; u++) {
        const struct cp_mcell *cell = cp_model_cell(m, u, i);
        double r;
        const char *col;

        if (!cell->present || isnan(cell->value) || isnan(cell->target) || cell->target <= 0)
            continue;
        r = cell->value / cell->target * 100.0;
        /* The CIBLE rule's thresholds: 80 % (120 % for a "baisse" indicator). */
        if (neutre)
            col = "#2E6DA4";
        else if (baisse ? r <= 100 : r >= 100)
            col = "#2E8B57";
        else if (baisse ? r <= 120 : r >= 80)
            col = "#E6A23C";
        else
            col = "#C0392B";
        tsv_label(f, m->unit[u].name, NAME_CHARS, 1);
        fprintf(f, "\t%s\t%ld\t", cnum(r, num, sizeof num), colour(col));
        tsv_text(f, cp_fmt_pct(r, lab, sizeof lab));
        fputc('\n', f);
        vmax = fmax(vmax, r);
        n++;
    }
    if (close_data(f, cf->data, err) < 0)
        return -1;
    axis_fit(&a, 0, vmax);
    cp_period_label(m->period, per, sizeof per);
    snprintf(head, sizeof head, "%s — %s", d->label, per);
    if (write_title(p, cf, head,
                    baisse ? "Réalisé en % de la cible, par signataire (plus bas est mieux)"
                           : "Réalisé en % de la cible, par signataire",
                    err) < 0 ||
        write_ticks(p, cf, &a, d, 1, err) < 0 ||
        write_line(p, cf, 100, -0.6, 100, n - 0.4, "Cible (100 %)", err) < 0)
        return -1;
    cmd_begin(c, cf);
    cmd_hbars(c, &a, n);
    cp_buf_adds(c, "set key horizontal maxcols 2\n");
    cmd_hbars_plot(c, cf, "lw 2 dt 2 lc rgb '#333333'");
    if (!neutre)
        cp_buf_adds(c, baisse ? ", NaN with boxes lc rgb '#2E8B57' title 'Cible tenue',"
                                " NaN with boxes lc rgb '#E6A23C' title 'Jusqu''à 120 %',"
                                " NaN with boxes lc rgb '#C0392B' title 'Au-delà de 120 %'"
                              : ", NaN with boxes lc rgb '#2E8B57' title 'Cible atteinte',"
                                " NaN with boxes lc rgb '#E6A23C' title 'De 80 à 100 %',"
                                " NaN with boxes lc rgb '#C0392B' title 'Moins de 80 %'");
    return 0;
}

/* ---- the job ---------------------------------------------------------------- */

static const char *kind_suffix(enum cp_chart_kind k)
{
    switch (k) {
    case CP_CHART_SIGNATAIRES: return "signataires";
    case CP_CHART_REGIONS: return "regions";
    case CP_CHART_EVOLUTION: return "evolution";
    case CP_CHART_CIBLES: return "cibles";
    }
    return "autre";
}

/* Indicator codes become file names: [A-Z0-9_] only, as the catalog has. */
static int valid_code(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return 0;
    return n > 0 && n < 48;
}

/* The charts of the job, in dossier order. */
static int plan(const struct cp_model *m, struct spec **out, size_t *n, struct cp_err *err)
{
    struct spec *v = calloc(m->nind * 3 + 1, sizeof *v);

    *n = 0;
    *out = v;
    if (!v)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    for (size_t i = 0; i < m->nind; i++) {
        const struct cp_mind *d = &m->ind[i];
        int bars = 0, targets = 0, points = 0;

        if (!d->main)
            continue;
        if (!valid_code(d->code))
            return cp_err_set(err, CP_EX_CONFIG, "bad_code", d->code,
                              "code d'indicateur « %s » inutilisable comme nom de fichier",
                              d->code);
        for (size_t u = 0; u < m->nunit; u++) {
            const struct cp_mcell *c = cp_model_cell(m, u, i);
            int gi = cp_group_of(m->unit[u].type);
            if (!c->present || isnan(c->value))
                continue;
            if (m->national || (gi >= 0 && (d->groups & (1u << gi))))
                bars++;
            if (!m->national && !isnan(c->target) && c->target > 0)
                targets++;
        }
        for (size_t k = 0; k < m->nperiods; k++)
            points += m->series[k * m->nind + i].present &&
                      !isnan(m->series[k * m->nind + i].value);
        if (bars)
            v[(*n)++] = (struct spec){m->national ? CP_CHART_REGIONS : CP_CHART_SIGNATAIRES, i};
        if (points)
            v[(*n)++] = (struct spec){CP_CHART_EVOLUTION, i};
        if (targets)
            v[(*n)++] = (struct spec){CP_CHART_CIBLES, i};
    }
    return 0;
}

/* Reads a whole small file (the SVG gnuplot wrote). */
static int slurp(const char *path, char **data, size_t *len, struct cp_err *err)
{
    FILE *f = fopen(path, "rbe");
    struct cp_buf b = CP_BUF_INIT(CHART_MAX);
    char block[65536];
    size_t r;

    if (!f)
        return cp_err_set(err, CP_EX_SOFTWARE, "gnuplot", path,
                          "gnuplot n'a pas écrit « %s » : %s", path, strerror(errno));
    while ((r = fread(block, 1, sizeof block, f)) > 0) {
        if (cp_buf_add(&b, block, r) < 0) {
            fclose(f);
            cp_buf_release(&b);
            return cp_err_set(err, CP_EX_SOFTWARE, "gnuplot", path,
                              "« %s » trop volumineux (plus de %zu Mo)", path, CHART_MAX >> 20);
        }
    }
    if (ferror(f)) {
        fclose(f);
        cp_buf_release(&b);
        return cp_err_set(err, CP_EX_IOERR, "io", path, "lecture de « %s » impossible", path);
    }
    fclose(f);
    *len = b.len;
    *data = cp_buf_detach(&b);
    if (!*data)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    return 0;
}

static int pdf_fail(GError *gerr, const char *path, struct cp_err *err)
{
    cp_err_set(err, CP_EX_SOFTWARE, "pdf", path, "PDF « %s » illisible : %s", path,
               gerr ? gerr->message : "erreur inconnue");
    if (gerr)
        g_error_free(gerr);
    return -1;
}

/*
 * The chart's page from gnuplot's PDF (in memory: data must outlive the
 * document). poppler documents are not shared between threads: each
 * caller opens its own.
 */
static PopplerPage *pdf_page(const char *data, size_t len, PopplerDocument **doc,
                             const char *path, struct cp_err *err)
{
    GError *gerr = NULL;
    GBytes *bytes = g_bytes_new_static(data, len);
    PopplerPage *page = NULL;

    *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    g_bytes_unref(bytes);
    if (!*doc) {
        pdf_fail(gerr, path, err);
        return NULL;
    }
    if (poppler_document_get_n_pages(*doc) != 1 || !(page = poppler_document_get_page(*doc, 0))) {
        g_object_unref(*doc);
        *doc = NULL;
        cp_err_set(err, CP_EX_SOFTWARE, "pdf", path, "PDF « %s » sans page unique", path);
    }
    return page;
}

static void png_error_cb(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Rows compressed at a time, and the room for their compressed bytes. */
enum { PNG_BATCH_ROWS = 32, PNG_OUT = 64 << 10 };

/* Hands the compressed bytes in out[0..n) to libpng as one IDAT chunk. */
static void idat(png_structp png, const unsigned char *out, size_t n)
{
    static const png_byte name[5] = "IDAT";

    if (n)
        png_write_chunk(png, name, out, n);
}

/*
 * One row of cairo's RGB24 (native-endian 0x00RRGGBB words) as packed
 * R, G, B bytes: out must have room for 3 * w bytes. Over a national run
 * this is 450 million pixels; byte by byte it cost about 1 ms a chart,
 * 0.3 s in all. Four pixels at a time with one byte shuffle, it costs a
 * seventh of that; the shuffle needs SSSE3 on x86 (checked at run time,
 * the plain loop otherwise) and is native elsewhere.
 */
typedef unsigned char cp_v16 __attribute__((vector_size(16)));

static void pack_rgb_plain(const uint32_t *px, unsigned char *o, int w)
{
    for (int x = 0; x < w; x++) {
        *o++ = (unsigned char)(px[x] >> 16);
        *o++ = (unsigned char)(px[x] >> 8);
        *o++ = (unsigned char)px[x];
    }
}

#if defined(__x86_64__) || defined(__i386__)
#define SHUFFLE_TARGET __attribute__((target("ssse3")))
#else
#define SHUFFLE_TARGET
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Each 16-byte group holds four B, G, R, 0 pixels; the first 12 bytes out
 * are their R, G, B, the last 4 are overwritten by the next group. A store
 * reaches 16 bytes from 3 * x: groups stop while 3 * x + 16 <= 3 * w, the
 * plain loop does the rest, so nothing is written past 3 * w. */
SHUFFLE_TARGET static void pack_rgb_shuffle(const uint32_t *px, unsigned char *o, int w)
{
    const cp_v16 order = {2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, 3, 7, 11, 15};
    int x = 0;

    for (; x + 6 <= w; x += 4, o += 12) {
        cp_v16 in, out;

        memcpy(&in, px + x, sizeof in);
        out = __builtin_shuffle(in, order);
        memcpy(o, &out, sizeof out);
    }
    pack_rgb_plain(px + x, o, w - x);
}

static void (*pick_pack_rgb(void))(const uint32_t *, unsigned char *, int)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("ssse3"))
        return pack_rgb_plain;
#endif
    return pack_rgb_shuffle;
}
#else
static void (*pick_pack_rgb(void))(const uint32_t *, unsigned char *, int)
{
    return pack_rgb_plain;
}
#endif

/*
 * Writes an RGB24 image surface as an 8-bit RGB PNG. libpng writes the
 * file (signature, header, chunks and their CRCs); the image data, one
 * zlib stream in IDAT chunks, is compressed by ISA-L's igzip at level 1
 * rather than by zlib inside libpng: zlib spends about 7 ms on a
 * 1600 x 900 chart even when it is all white (it compares long runs byte
 * by byte), igzip under 1 ms for a file a few per cent larger; over a
 * national run that was the largest single cost (README). Rows are not
 * filtered (filter byte 0): charts are flat colours.
 */
static int write_png(cairo_surface_t *s, const char *path)
{
    static const png_byte iend[5] = "IEND";
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    size_t rowlen = 1 + 3 * (size_t)w;
    const unsigned char *src;
    unsigned char *volatile in = NULL, *volatile out = NULL, *volatile level = NULL;
    FILE *volatile f = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    volatile int rc = -1;
    struct isal_zstream *volatile z = NULL; /* 80 kB: not on the stack */
    void (*pack)(const uint32_t *, unsigned char *, int) = pick_pack_rgb();

    cairo_surface_flush(s);
    src = cairo_image_surface_get_data(s);
    if (!src || w <= 0 || h <= 0)
        return -1;
    in = malloc(rowlen * PNG_BATCH_ROWS);
    out = malloc(PNG_OUT);
    level = malloc(ISAL_DEF_LVL1_DEFAULT);
    z = malloc(sizeof *z);
    f = fopen(path, "wbxe");
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_error_cb, png_warning_cb);
    if (png)
        info = png_create_info_struct(png);
    if (!in || !out || !level || !z || !f || !png || !info)
        goto out;
    if (setjmp(png_jmpbuf(png)))
        goto out;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    png_write_info(png, info);
    isal_deflate_init(z);
    z->level = 1;
    z->level_buf = level;
    z->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    z->gzip_flag = IGZIP_ZLIB;
    z->flush = NO_FLUSH;
    for (int y0 = 0; y0 < h; y0 += PNG_BATCH_ROWS) {
        int n = h - y0 < PNG_BATCH_ROWS ? h - y0 : PNG_BATCH_ROWS;
        unsigned char *o = in;

        for (int y = y0; y < y0 + n; y++) {
            const uint32_t *px =
                (const uint32_t *)(const void *)(src + (size_t)y * (size_t)stride);

            *o++ = 0; /* filter: none */
            pack(px, o, w);
            o += 3 * (size_t)w;
        }
        z->next_in = in;
        z->avail_in = (uint32_t)(o - in);
        z->end_of_stream = y0 + n >= h;
        do {
            z->next_out = out;
            z->avail_out = PNG_OUT;
            if (isal_deflate(z) != COMP_OK)
                goto out;
            idat(png, out, PNG_OUT - z->avail_out);
        } while (z->avail_in > 0 ||
                 (z->end_of_stream && z->internal_state.state != ZSTATE_END));
    }
    png_write_chunk(png, iend, NULL, 0);
    rc = ferror(f) ? -1 : 0;
out:
    if (png)
        png_destroy_write_struct(&png, info ? &info : NULL);
    if (f && fclose(f) == EOF)
        rc = -1;
    if (rc < 0 && f)
        unlink(path);
    free(in);
    free(out);
    free(level);
    free(z);
    return rc;
}

/* One chart to convert, in a worker thread: everything it touches is its
 * own (the temporary names are chosen beforehand, in the main thread). */
struct cp_conv {
    struct cp_chart_batch *batch;
    struct cp_chart *ch;
    unsigned long seq;    /* gnuplot's chart number, once sent */
    char *svg, *pdf;      /* what gnuplot wrote, owned */
    size_t svglen, pdflen;
    char *tmp[3];         /* temporary SVG, PDF, PNG beside the final files */
    int rc;
    struct cp_err err;
    /* Set under the batch's lock when the conversion ends: the document it
     * opened and drew the PNG from, for the dossier (NULL when it failed or
     * once the dossier took it). Opening a chart's PDF (its cross-reference
     * table, its fonts into FreeType and cairo) costs about as much as
     * drawing it into the dossier: once per chart, not twice. */
    int done;
    PopplerDocument *doc;
    PopplerPage *page;
};

/* One job's conversions, from cp_plot_job to cp_charts_commit. */
struct cp_chart_batch {
    GMutex lock;
    GCond idle;           /* signalled when running drops to 0 */
    GCond converted;      /* signalled when a conversion ends */
    size_t running;       /* conversions queued or running (lock) */
    struct cp_conv *conv;    /* one per chart of the job (cp_charts.n) */
    char *dir;            /* <job>/graphiques */
    struct cp_plot *plot; /* drawing them */
    size_t sent;          /* charts handed to gnuplot (conv[0..sent)) */
    off_t errfrom;        /* gnuplot's stderr size before the first */
    int collected;        /* every sent chart acknowledged */
};

static int write_all(const char *path, const char *data, size_t len, struct cp_err *err)
{
    FILE *f = fopen(path, "wbxe");
    int bad;

    if (!f)
        return cp_err_set(err, CP_EX_CANTCREAT, "io", path, "impossible de créer « %s » : %s",
                          path, strerror(errno));
    bad = fwrite(data, 1, len, f) != len;
    if (fclose(f) == EOF || bad)
        return cp_err_set(err, CP_EX_IOERR, "io", path, "écriture de « %s » impossible", path);
    return 0;
}

/*
 * The raster a conversion thread draws its PNGs into, kept for the thread's
 * life (freed when it ends): a new 5.8 MB surface per chart cost a page
 * fault per 4 kB, about 5 % of a national run.
 */
static GPrivate raster_key = G_PRIVATE_INIT((GDestroyNotify)cairo_surface_destroy);

static cairo_surface_t *thread_raster(int w, int h)
{
    cairo_surface_t *s = g_private_get(&raster_key);

    if (!s || cairo_image_surface_get_width(s) != w || cairo_image_surface_get_height(s) != h) {
        s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
        g_private_replace(&raster_key, s);
    }
    return s;
}

/* The SVG and the PDF as gnuplot wrote them, and the PNG (raster,
 * PNG_SCALE) drawn from the PDF. */
static int convert(struct cp_conv *c)
{
    struct cp_chart *ch = c->ch;
    PopplerDocument *doc = NULL;
    PopplerPage *page;
    cairo_surface_t *raster;
    cairo_t *cr;
    double pw = 0, ph = 0;
    int rc = -1;

    if (write_all(c->tmp[0], c->svg, c->svglen, &c->err) < 0 ||
        write_all(c->tmp[1], c->pdf, c->pdflen, &c->err) < 0)
        return -1;
    /* ch is read by the main thread meanwhile: only c is written here. */
    raster = thread_raster((int)lround(SVG_W * PNG_SCALE), (int)lround(SVG_H * PNG_SCALE));
    page = pdf_page(c->pdf, c->pdflen, &doc, ch->pdf, &c->err);
    if (page) {
        poppler_page_get_size(page, &pw, &ph);
        if (pw > 0 && ph > 0) {
            cr = cairo_create(raster);
            cairo_set_source_rgb(cr, 1, 1, 1);
            cairo_paint(cr);
            cairo_scale(cr, cairo_image_surface_get_width(raster) / pw,
                        cairo_image_surface_get_height(raster) / ph);
            /* For printing: the same pixels, without the text layout
             * poppler otherwise builds and keeps with the page for text
             * selection (a tenth of the time, and memory while the
             * document waits for the dossier). */
            poppler_page_render_for_printing(page, cr);
            cairo_destroy(cr);
            rc = 0;
        } else {
            cp_err_set(&c->err, CP_EX_SOFTWARE, "pdf", ch->pdf, "PDF « %s » sans dimensions",
                       ch->pdf);
        }
    }
    if (rc == 0 && write_png(raster, c->tmp[2]) < 0) {
        rc = cp_err_set(&c->err, CP_EX_IOERR, "io", ch->png, "écriture de « %s » impossible",
                        ch->png);
    }
    if (rc == 0) {
        c->doc = doc; /* published by convert_task, under the batch's lock */
        c->page = page;
    } else if (page) {
        g_object_unref(page);
        g_object_unref(doc);
    }
    return rc;
}

/* The SVG stays in memory (the dossier draws it) until the batch ends. */
/*
 * Conversions yield to gnuplot and to the main thread, which the run waits
 * on (the next charts, the other outputs): a conversion thread runs 5 nice
 * levels below the process and takes the processor time they leave. Linux
 * applies a thread id's nice value to that thread only.
 */
static void lower_priority(void)
{
    static _Thread_local int done;
    int base;

    if (done)
        return;
    done = 1;
    errno = 0;
    base = getpriority(PRIO_PROCESS, 0);
    if (base == -1 && errno != 0)
        return;
    setpriority(PRIO_PROCESS, (id_t)gettid(), base + 5 > 19 ? 19 : base + 5);
}

static void convert_task(gpointer data, gpointer unused)
{
    struct cp_conv *c = data;
    struct cp_chart_batch *b = c->batch;

    int rc;

    (void)unused;
    lower_priority();
    rc = convert(c);
    g_mutex_lock(&b->lock);
    c->rc = rc;
    c->done = 1;
    g_cond_broadcast(&b->converted);
    if (--b->running == 0)
        g_cond_broadcast(&b->idle);
    g_mutex_unlock(&b->lock);
}

/*
 * The page the chart's conversion drew its PNG from, taken from it (the
 * caller unrefs page and doc), after waiting for the conversion: it runs
 * at a lower priority and, once queued, always ends. NULL when the chart
 * has no conversion or it failed.
 */
static PopplerPage *take_page(const struct cp_chart *ch, PopplerDocument **doc)
{
    struct cp_conv *c = ch->conv;
    PopplerPage *page;

    *doc = NULL;
    if (!c)
        return NULL;
    g_mutex_lock(&c->batch->lock);
    while (!c->done)
        g_cond_wait(&c->batch->converted, &c->batch->lock);
    page = c->page;
    *doc = c->doc;
    c->page = NULL;
    c->doc = NULL;
    g_mutex_unlock(&c->batch->lock);
    return page;
}

int cp_chart_draw(cairo_t *cr, const struct cp_chart *ch, double x, double y, double w,
                  double h, struct cp_err *err)
{
    PopplerDocument *doc = NULL;
    PopplerPage *page;
    char *file = NULL;
    size_t len = 0;
    double pw = 0, ph = 0, scale;

    cp_poppler_warm_up();
    /* The conversion's document while the job's files are being converted
     * (else the PDF in memory, should the conversion have failed), else the
     * file. */
    if ((page = take_page(ch, &doc)))
        ;
    else if (ch->pdf_data)
        page = pdf_page(ch->pdf_data, ch->pdf_len, &doc, ch->pdf, err);
    else if (slurp(ch->pdf, &file, &len, err) < 0)
        return -1;
    else
        page = pdf_page(file, len, &doc, ch->pdf, err);
    if (!page) {
        free(file);
        return -1;
    }
    poppler_page_get_size(page, &pw, &ph);
    if (pw <= 0 || ph <= 0) {
        pw = w;
        ph = h;
    }
    scale = fmin(w / pw, h / ph);
    cairo_save(cr);
    cairo_translate(cr, x + (w - pw * scale) / 2, y + (h - ph * scale) / 2);
    cairo_scale(cr, scale, scale);
    cairo_rectangle(cr, 0, 0, pw, ph);
    cairo_clip(cr);
    poppler_page_render_for_printing(page, cr);
    cairo_restore(cr);
    g_object_unref(page);
    g_object_unref(doc);
    free(file);
    return 0;
}

static int batch_end(struct cp_chart_batch *b, const struct cp_charts *c, int ok,
                     struct cp_err *err);

void cp_charts_release(struct cp_charts *c)
{
    if (!c)
        return;
    if (c->batch) {
        struct cp_err ignored;
        if (!c->batch->collected)
            drain(c->batch, 0);
        batch_end(c->batch, c, 0, &ignored);
        c->batch = NULL;
    }
    for (size_t k = 0; k < c->n; k++) {
        free(c->v[k].svg);
        free(c->v[k].pdf);
        free(c->v[k].png);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

/* Removes data files of chart seq from the private folder. */
static void drop_files(const struct cp_plot *p, const struct chartfiles *cf)
{
    const char *names[] = {cf->data, cf->line,  cf->ticks, cf->title,
                           cf->svg,  cf->pdf,   cf->cmds,  cf->both};
    char path[PATH_MAX];

    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if ((size_t)snprintf(path, sizeof path, "%s/%s", p->dir, names[k]) < sizeof path)
            unlink(path);
}

static void files_for(unsigned long seq, struct chartfiles *cf)
{
    snprintf(cf->data, sizeof cf->data, "c%lu.tsv", seq);
    snprintf(cf->line, sizeof cf->line, "c%lu-ligne.tsv", seq);
    snprintf(cf->ticks, sizeof cf->ticks, "c%lu-axe.tsv", seq);
    snprintf(cf->title, sizeof cf->title, "c%lu-titre.tsv", seq);
    snprintf(cf->svg, sizeof cf->svg, "c%lu.svg", seq);
    snprintf(cf->pdf, sizeof cf->pdf, "c%lu.pdf", seq);
    snprintf(cf->cmds, sizeof cf->cmds, "c%lu.gp", seq);
    snprintf(cf->both, sizeof cf->both, "c%lu-2.gp", seq);
}

/* Waits for chart seq and hands its SVG to a worker (or converts it here
 * when there is no pool). */
static int finish(struct cp_plot *p, unsigned long seq, off_t errfrom, struct cp_conv *c,
                  struct cp_err *err)
{
    struct chartfiles cf;
    char path[PATH_MAX];
    int status, rc = -1;

    files_for(seq, &cf);
    status = gp_wait(p, "CP_CHART", seq, err);
    if (status < 0)
        goto out;
    if (status != 0) {
        gp_fail(p, errfrom, err, "graphique refusé");
        cp_err_prefix(err, "%s : ", c->ch->name);
        goto out;
    }
    snprintf(path, sizeof path, "%s/%s", p->dir, cf.svg);
    if (slurp(path, &c->svg, &c->svglen, err) < 0)
        goto out;
    snprintf(path, sizeof path, "%s/%s", p->dir, cf.pdf);
    if (slurp(path, &c->pdf, &c->pdflen, err) < 0)
        goto out;
    if (c->svglen < 20 || !strstr(c->svg, "<svg") || c->pdflen < 20 ||
        memcmp(c->pdf, "%PDF-", 5) != 0) {
        cp_err_set(err, CP_EX_SOFTWARE, "gnuplot", c->ch->name,
                   "gnuplot a écrit un SVG ou un PDF vide pour %s", c->ch->name);
        goto out;
    }
    for (int k = 0; k < 3; k++) {
        const char *final = k == 0 ? c->ch->svg : k == 1 ? c->ch->pdf : c->ch->png;
        c->tmp[k] = cp_afile_temp_path(final, err);
        if (!c->tmp[k])
            goto out;
    }
    /* gnuplot draws every chart at SVG_W x SVG_H pixels (gp commands). */
    c->ch->width = SVG_W * PX_TO_PT;
    c->ch->height = SVG_H * PX_TO_PT;
    c->ch->pdf_data = c->pdf;
    c->ch->pdf_len = c->pdflen;
    c->ch->conv = c;
    c->rc = 1; /* queued */
    g_mutex_lock(&c->batch->lock);
    c->batch->running++;
    g_mutex_unlock(&c->batch->lock);
    if (!p->pool || !g_thread_pool_push(p->pool, c, NULL))
        convert_task(c, NULL);
    rc = 0;
out:
    drop_files(p, &cf);
    return rc;
}

/* Removes chart files of an earlier run that this run did not write. */
static void drop_stale(const char *dir, const struct cp_charts *c)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];

    if (!d)
        return;
    while ((e = readdir(d))) {
        const char *dot = strrchr(e->d_name, '.');
        int keep = 0;

        if (e->d_name[0] == '.' || !dot ||
            (strcmp(dot, ".svg") != 0 && strcmp(dot, ".pdf") != 0 && strcmp(dot, ".png") != 0))
            continue;
        for (size_t k = 0; k < c->n && !keep; k++)
            keep = strlen(c->v[k].name) == (size_t)(dot - e->d_name) &&
                   strncmp(c->v[k].name, e->d_name, (size_t)(dot - e->d_name)) == 0;
        if (!keep && (size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path)
            unlink(path);
    }
    closedir(d);
}

static char *path_of(const char *dir, const char *name, const char *ext)
{
    struct cp_buf b = CP_BUF_INIT(PATH_MAX);

    if (cp_buf_addf(&b, "%s/%s.%s", dir, name, ext) < 0) {
        cp_buf_release(&b);
        return NULL;
    }
    return cp_buf_detach(&b);
}

/*
 * Puts the job's files in place once every conversion is done: one
 * syncfs for the whole folder instead of an fsync per file, then the
 * renames (cp_afile_rename's guarantee: nothing partial under a final
 * name). On failure, or when ok is 0, the temporary files are removed.
 */
static int commit_all(struct cp_conv *c, size_t n, const char *dir, int ok, struct cp_err *err)
{
    int rc = ok ? 0 : -1;

    if (rc == 0) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || syncfs(fd) < 0)
            rc = cp_err_set(err, CP_EX_IOERR, "io", dir, "écriture dans « %s » impossible : %s",
                            dir, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    for (size_t k = 0; k < n; k++) {
        for (int f = 0; f < 3; f++) {
            const char *final = f == 0 ? c[k].ch->svg : f == 1 ? c[k].ch->pdf : c[k].ch->png;
            if (!c[k].tmp[f])
                continue;
            if (rc == 0 && rename(c[k].tmp[f], final) < 0)
                rc = cp_err_set(err, CP_EX_CANTCREAT, "io", final,
                                "impossible de mettre « %s » en place : %s", final,
                                strerror(errno));
            if (rc < 0)
                unlink(c[k].tmp[f]);
            free(c[k].tmp[f]);
            c[k].tmp[f] = NULL;
        }
    }
    return rc;
}

/*
 * Waits for gnuplot's acknowledgements of the sent charts from conv[from]
 * on, without using them (a failed job), and removes their files: the
 * process stays in step for the next job.
 */
static void drain(struct cp_chart_batch *b, size_t from)
{
    struct cp_plot *p = b->plot;

    for (size_t k = from; k < b->sent; k++) {
        struct cp_err ignored;
        struct chartfiles cf;

        files_for(b->conv[k].seq, &cf);
        if (!p->dead)
            gp_wait(p, "CP_CHART", b->conv[k].seq, &ignored);
        drop_files(p, &cf);
    }
    b->collected = 1;
}

int cp_plot_submit(struct cp_plot *p, const struct cp_render_job *job, struct cp_charts *out,
                   struct cp_err *err)
{
    struct cp_model own;
    const struct cp_model *m = job->model;
    struct spec *specs = NULL;
    struct cp_conv *conv = NULL;
    struct cp_buf cmd = CP_BUF_INIT((size_t)1 << 20);
    struct cp_buf all = CP_BUF_INIT(4096);
    struct cp_buf gdir = CP_BUF_INIT(PATH_MAX);
    struct cp_chart_batch *b = NULL;
    size_t nspec = 0;
    int rc = -1, loaded = 0;

    out->v = NULL;
    out->n = 0;
    out->batch = NULL;
    if (!p || p->dead)
        return cp_err_set(err, CP_EX_SOFTWARE, "gnuplot", NULL,
                          "gnuplot n'est plus disponible pour ce rendu");
    if (!m) {
        if (cp_model_load(&own, job, err) < 0)
            return -1;
        loaded = 1;
        m = &own;
    }
    if (plan(m, &specs, &nspec, err) < 0)
        goto out;
    if (cp_buf_addf(&gdir, "%s/graphiques", job->dir) < 0) {
        cp_err_set(err, CP_EX_CANTCREAT, "io", job->dir, "chemin trop long : %s", job->dir);
        goto out;
    }
    if (cp_mkdirs(cp_buf_str(&gdir), err) < 0)
        goto out;
    out->v = calloc(nspec + 1, sizeof *out->v);
    conv = calloc(nspec + 1, sizeof *conv);
    b = calloc(1, sizeof *b);
    if (!out->v || !conv || !b || !(b->dir = strdup(cp_buf_str(&gdir)))) {
        free(conv);
        conv = NULL;
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    g_mutex_init(&b->lock);
    g_cond_init(&b->idle);
    g_cond_init(&b->converted);
    b->conv = conv;
    b->plot = p;
    b->errfrom = errlog_size(p);
    out->batch = b;
    b = NULL;
    /* Every chart of the job is handed to gnuplot now: it draws them while
     * the caller writes the outputs that need no chart. */
    for (size_t k = 0; k < nspec; k++) {
        struct cp_chart *ch = &out->v[out->n];
        const struct cp_mind *d = &m->ind[specs[k].ind];
        struct chartfiles cf;
        unsigned long seq = ++p->seq;
        int r;

        ch->kind = specs[k].kind;
        snprintf(ch->indicator, sizeof ch->indicator, "%s", d->code);
        snprintf(ch->name, sizeof ch->name, "%s-%s", d->code, kind_suffix(ch->kind));
        ch->svg = path_of(cp_buf_str(&gdir), ch->name, "svg");
        ch->pdf = path_of(cp_buf_str(&gdir), ch->name, "pdf");
        ch->png = path_of(cp_buf_str(&gdir), ch->name, "png");
        conv[out->n].ch = ch;
        conv[out->n].batch = out->batch;
        conv[out->n].seq = seq;
        out->n++;
        if (!ch->svg || !ch->pdf || !ch->png) {
            cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
            goto out;
        }
        files_for(seq, &cf);
        cp_buf_reset(&cmd);
        switch (ch->kind) {
        case CP_CHART_SIGNATAIRES:
        case CP_CHART_REGIONS:
            r = chart_bars(p, m, specs[k].ind, &cf, &cmd, err);
            break;
        case CP_CHART_EVOLUTION:
            r = chart_evolution(p, m, specs[k].ind, &cf, &cmd, err);
            break;
        default:
            r = chart_targets(p, m, specs[k].ind, &cf, &cmd, err);
            break;
        }
        cp_buf_reset(&all);
        if (r < 0 || cmd_chart(p, &all, &cmd, &cf, seq, err) < 0) {
            drop_files(p, &cf);
            goto out;
        }
        if (gp_send(p, cp_buf_str(&all), all.len, err) < 0)
            goto out;
        out->batch->sent++;
    }
    rc = 0;
out:
    if (rc < 0 && out->batch) {
        /* Nothing of a failed job is put in place. */
        struct cp_err ignored;
        drain(out->batch, 0);
        batch_end(out->batch, out, 0, &ignored);
        out->batch = NULL;
    }
    if (b) {
        free(b->dir);
        free(b);
    }
    if (loaded)
        cp_model_release(&own);
    free(specs);
    cp_buf_release(&cmd);
    cp_buf_release(&all);
    cp_buf_release(&gdir);
    return rc;
}

int cp_plot_collect(struct cp_charts *c, struct cp_err *err)
{
    struct cp_chart_batch *b = c->batch;

    if (!b || b->collected)
        return 0;
    for (size_t k = 0; k < b->sent; k++) {
        /* gnuplot wrote chart k's messages after chart k-1's answer. */
        off_t from = k == 0 ? b->errfrom : errlog_size(b->plot);

        if (finish(b->plot, b->conv[k].seq, from, &b->conv[k], err) < 0) {
            struct cp_err ignored;
            drain(b, k + 1);
            batch_end(b, c, 0, &ignored);
            c->batch = NULL;
            return -1;
        }
    }
    b->collected = 1;
    return 0;
}

int cp_plot_job(struct cp_plot *p, const struct cp_render_job *job, struct cp_charts *out,
                struct cp_err *err)
{
    if (cp_plot_submit(p, job, out, err) < 0)
        return -1;
    return cp_plot_collect(out, err);
}

/*
 * Waits for every conversion of the batch, then puts the files in place
 * (ok and every conversion succeeded) or removes the temporary files.
 * Frees the batch.
 */
static int batch_end(struct cp_chart_batch *b, const struct cp_charts *c, int ok,
                     struct cp_err *err)
{
    int rc = ok ? 0 : -1;

    g_mutex_lock(&b->lock);
    while (b->running > 0)
        g_cond_wait(&b->idle, &b->lock);
    g_mutex_unlock(&b->lock);
    for (size_t k = 0; k < c->n; k++) {
        if (rc == 0 && b->conv[k].rc != 0) {
            *err = b->conv[k].err;
            rc = -1;
        }
    }
    if (commit_all(b->conv, c->n, b->dir, rc == 0, err) < 0)
        rc = -1;
    if (rc == 0)
        drop_stale(b->dir, c);
    for (size_t k = 0; k < c->n; k++) {
        if (b->conv[k].page) {
            g_object_unref(b->conv[k].page);
            g_object_unref(b->conv[k].doc);
        }
        free(b->conv[k].svg);
        free(b->conv[k].pdf);
        c->v[k].pdf_data = NULL;
        c->v[k].pdf_len = 0;
        c->v[k].conv = NULL;
    }
    g_mutex_clear(&b->lock);
    g_cond_clear(&b->idle);
    g_cond_clear(&b->converted);
    free(b->conv);
    free(b->dir);
    free(b);
    return rc;
}

int cp_charts_commit(struct cp_charts *c, struct cp_err *err)
{
    int rc;

    if (cp_plot_collect(c, err) < 0)
        return -1;
    if (!c->batch)
        return 0;
    rc = batch_end(c->batch, c, 1, err);
    c->batch = NULL;
    return rc;
}

int cp_render_charts(const struct cp_render_job *job, struct cp_charts *out, struct cp_err *err)
{
    struct cp_plot *p;
    struct cp_err closeerr;
    int rc;

    out->v = NULL;
    out->n = 0;
    if (cp_plot_open(&p, err) < 0)
        return -1;
    rc = cp_plot_job(p, job, out, err);
    if (rc == 0 && cp_charts_commit(out, err) < 0)
        rc = -1;
    if (cp_plot_close(p, rc < 0 ? &closeerr : err) < 0)
        rc = -1;
    return rc;
}
