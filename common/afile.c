/* Atomic output files (see afile.h). */
#include "common/afile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Temporary names are made by several threads (render writes charts and
 * feedback reports on its pools). */
static atomic_ulong counter;

int cp_mkdirs(const char *dir, struct cp_err *err)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0)
        return 0;
    if (n >= sizeof p)
        return cp_err_set(err, CP_EX_CANTCREAT, "io", dir, "chemin trop long : %s", dir);
    /* Usually the folder is already there (render comes here for every
     * output file): one stat instead of a mkdir per component. Anything
     * else goes through the walk as before. */
    {
        struct stat sb;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
            return 0;
    }
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return cp_err_set(err, CP_EX_CANTCREAT, "io", p,
                                  "impossible de créer le dossier « %s » : %s", p,
                                  strerror(errno));
            p[i] = c;
        }
    }
    return 0;
}

char *cp_afile_temp_path(const char *path, struct cp_err *err)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) : 0;
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(path) + 64;
    char *tmp = malloc(n);

    if (!tmp) {
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        return NULL;
    }
    if (slash) {
        char dir[PATH_MAX];
        if (dirlen >= sizeof dir) {
            free(tmp);
            cp_err_set(err, CP_EX_CANTCREAT, "io", path, "chemin trop long : %s", path);
            return NULL;
        }
        memcpy(dir, path, dirlen);
        dir[dirlen] = '\0';
        if (cp_mkdirs(dir, err) < 0) {
            free(tmp);
            return NULL;
        }
    }
    snprintf(tmp, n, "%.*s%s.%s.tmp.%ld.%lu", (int)dirlen, path, slash ? "/" : "", base,
             (long)getpid(), atomic_fetch_add(&counter, 1) + 1);
    return tmp;
}

/* The process id in ".name.tmp.PID.N", or 0 when name is not one of ours. */
static long temp_owner(const char *name)
{
    const char *p, *q = NULL;
    char *end;
    long pid;

    if (name[0] != '.')
        return 0;
    /* The last ".tmp." (the final name may itself hold ".tmp."). */
    for (p = name + 1; (p = strstr(p, ".tmp.")); p++)
        q = p;
    if (!q)
        return 0;
    errno = 0;
    pid = strtol(q + 5, &end, 10);
    if (errno || pid <= 0 || *end != '.' || end[1] < '0' || end[1] > '9')
        return 0;
    (void)strtoul(end + 1, &end, 10);
    return *end ? 0 : pid;
}

unsigned cp_afile_clean_stale(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];
    unsigned n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        long pid = temp_owner(e->d_name);

        if (!pid || (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path &&
            unlink(path) == 0)
            n++;
    }
    closedir(d);
    return n;
}

int cp_afile_open(struct cp_afile *a, const char *path, struct cp_err *err)
{
    memset(a, 0, sizeof *a);
    a->tmp = cp_afile_temp_path(path, err);
    if (!a->tmp)
        return -1;
    a->path = strdup(path);
    a->f = fopen(a->tmp, "wbx");
    if (!a->path || !a->f) {
        cp_err_set(err, CP_EX_CANTCREAT, "io", path, "impossible de créer « %s » : %s",
                   a->tmp, strerror(errno));
        cp_afile_abort(a);
        return -1;
    }
    return 0;
}

int cp_afile_rename(const char *tmp, const char *path, struct cp_err *err)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fsync(fd) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return cp_err_set(err, CP_EX_IOERR, "io", path, "écriture de « %s » impossible : %s",
                          path, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return cp_err_set(err, CP_EX_CANTCREAT, "io", path,
                          "impossible de mettre « %s » en place : %s", path, strerror(e));
    }
    return 0;
}

int cp_afile_commit(struct cp_afile *a, struct cp_err *err)
{
    int rc = 0;

    if (!a->f)
        return cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "fichier non ouvert");
    if (fflush(a->f) == EOF || ferror(a->f) || fsync(fileno(a->f)) < 0) {
        rc = cp_err_set(err, CP_EX_IOERR, "io", a->path, "écriture de « %s » impossible : %s",
                        a->path, strerror(errno));
    }
    if (fclose(a->f) == EOF && rc == 0)
        rc = cp_err_set(err, CP_EX_IOERR, "io", a->path, "écriture de « %s » impossible : %s",
                        a->path, strerror(errno));
    a->f = NULL;
    if (rc == 0 && rename(a->tmp, a->path) < 0)
        rc = cp_err_set(err, CP_EX_CANTCREAT, "io", a->path,
                        "impossible de mettre « %s » en place : %s", a->path, strerror(errno));
    if (rc < 0)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
    return rc;
}

void cp_afile_abort(struct cp_afile *a)
{
    if (a->f)
        fclose(a->f);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}

int cp_file_same(const char *path, const void *data, size_t n)
{
    struct stat sb;
    char block[1 << 16];
    const char *p = data;
    size_t off = 0;
    ssize_t r;
    int fd, same = 1;

    if (stat(path, &sb) < 0 || (size_t)sb.st_size != n)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    while (same && (r = read(fd, block, sizeof block)) > 0) {
        if (off + (size_t)r > n || memcmp(block, p + off, (size_t)r) != 0)
            same = 0;
        off += (size_t)r;
    }
    close(fd);
    return same && off == n;
}
